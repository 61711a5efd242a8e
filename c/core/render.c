/*
** render.c: the pieces of SQL text every dialect writes alike, free of Lua
** so they are unit-tested in C: when an identifier must be quoted (reserved
** words, case), and the entry points of the render hooks code outside
** c/dialect/ calls (type names, literals, booleans). How each database
** spells them is its dialect's business (c/dialect/).
*/
#include "quicksilver.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* Words that must be quoted as identifiers (lower case, sorted): the union of
** SQL-92 reserved words and those SQLite, PostgreSQL and MySQL add. Quoting
** one too many words is harmless; one too few is a syntax error. */
static const char *const reserved[] = {
  "abort", "absolute", "access", "action", "add", "all", "allocate", "alter", "analyse",
  "analyze", "and", "any", "are", "array", "as", "asc", "asensitive", "assertion",
  "asymmetric", "at", "attach", "authorization", "autoincrement", "before", "begin",
  "between", "bigint", "binary", "bit", "blob", "both", "by", "call", "cascade",
  "cascaded", "case", "cast", "change", "char", "character", "check", "collate", "column",
  "commit", "concurrently", "condition", "conflict", "connect", "constraint",
  "constraints", "continue", "convert", "create", "cross", "current", "current_date",
  "current_role", "current_time", "current_timestamp", "current_user", "cursor",
  "database", "databases", "date", "day", "deallocate", "dec", "decimal", "declare",
  "default", "deferrable", "deferred", "delete", "desc", "describe", "detach", "distinct",
  "distinctrow", "div", "do", "double", "drop", "each", "else", "elseif", "enclosed",
  "end", "escape", "escaped", "except", "exclusive", "exec", "execute", "exists", "exit",
  "explain", "external", "fail", "false", "fetch", "filter", "first", "float", "following",
  "for", "force", "foreign", "freeze", "from", "full", "fulltext", "function", "generated",
  "glob", "global", "go", "goto", "grant", "group", "groups", "having", "high_priority",
  "hour", "identity", "if", "ignore", "ilike", "immediate", "in", "index", "indexed",
  "initially", "inner", "inout", "insensitive", "insert", "instead", "int", "integer",
  "intersect", "interval", "into", "is", "isnull", "join", "key", "keys", "kill", "last",
  "lateral", "leading", "leave", "left", "level", "like", "limit", "linear", "lines",
  "load", "local", "localtime", "localtimestamp", "lock", "long", "loop", "match",
  "materialized", "minute", "mod", "modifies", "month", "natural", "no", "not", "nothing",
  "notnull", "null", "nulls", "numeric", "of", "offset", "on", "only", "open", "optimize",
  "option", "optionally", "or", "order", "others", "out", "outer", "outfile", "over",
  "overlaps", "partition", "placing", "plan", "pragma", "preceding", "precision",
  "primary", "procedure", "purge", "query", "raise", "range", "read", "reads", "real",
  "recursive", "references", "regexp", "reindex", "release", "rename", "repeat", "replace",
  "require", "restrict", "return", "returning", "revoke", "right", "rlike", "rollback",
  "row", "rows", "savepoint", "schema", "schemas", "second", "select", "sensitive",
  "separator", "session_user", "set", "show", "similar", "smallint", "some", "spatial",
  "specific", "sql", "start", "straight_join", "symmetric", "system_user", "table", "temp",
  "temporary", "terminated", "then", "ties", "time", "timestamp", "to", "trailing",
  "transaction", "trigger", "true", "truncate", "unbounded", "undo", "union", "unique",
  "unlock", "unsigned", "update", "usage", "use", "user", "using", "vacuum", "values",
  "varchar", "variadic", "verbose", "view", "virtual", "when", "where", "while", "window",
  "with", "within", "without", "write", "xor", "year", "zerofill",
};

static int cmp_word(const void *key, const void *elem) {
  return strcmp((const char *)key, *(const char *const *)elem);
}

/* qs_is_reserved: nonzero when the lower-cased word is reserved. */
int qs_is_reserved(const char *word, size_t n) {
  char low[32];
  size_t i;
  if (n == 0 || n >= sizeof low) return 0;
  for (i = 0; i < n; i++) low[i] = (char)tolower((unsigned char)word[i]);
  low[n] = '\0';
  return bsearch(low, reserved, sizeof reserved / sizeof reserved[0], sizeof reserved[0],
                 cmp_word) != NULL;
}

/*
** qs_dialect_ident: appends ident, quoted only when it must be: when it is not
** a plain lower-case name ([a-z_][a-z0-9_$]*) or is a reserved word. Mixed
** case is quoted so that it keeps its case (as SQLAlchemy does).
*/
int qs_dialect_ident(const qs_dialect *d, qs_buf *out, const char *ident, size_t n) {
  size_t i;
  int plain = n > 0 && (islower((unsigned char)ident[0]) || ident[0] == '_');
  for (i = 1; plain && i < n; i++) {
    unsigned char ch = (unsigned char)ident[i];
    plain = islower(ch) || isdigit(ch) || ch == '_' || ch == '$';
  }
  if (plain && !qs_is_reserved(ident, n)) return qs_buf_append(out, ident, n);
  return qs_dialect_quote(d, out, ident, n);
}

/*
** qs_render_type: the DDL name of a type for d (its xTypeName hook). kind is
** the type's DDL kind ("INTEGER", "VARCHAR", ...); length/precision/scale
** are -1 when not given; autoinc asks for the dialect's auto-increment form
** (PostgreSQL SERIAL). Returns QS_COMPILE or QS_ARGUMENT (with a message in
** err) when d cannot store the type.
*/
int qs_render_type(const qs_dialect *d, qs_buf *out, const char *kind, long length,
                   long precision, long scale, int timezone, int autoinc, qs_error *err) {
  qs_type_desc t;
  t.kind = kind;
  t.length = length;
  t.precision = precision;
  t.scale = scale;
  t.timezone = timezone;
  return d->xTypeName(d, out, &t, autoinc, err);
}

/*
** qs_render_literal: the audited literal renderer, the one place a value is
** written into SQL text (DDL defaults, offline migration SQL): d's xLiteral
** hook. Strings are single-quoted with quotes doubled (and backslashes where
** the database reads escapes); NUL bytes cannot sit in a quoted string: such
** text is refused, and blobs are written as hex.
*/
int qs_render_literal(const qs_dialect *d, qs_buf *out, const qs_value *v, qs_error *err) {
  return d->xLiteral(d, out, v, err);
}

/* qs_render_bool: true/false where the dialect has booleans, 1/0 elsewhere. */
int qs_render_bool(const qs_dialect *d, qs_buf *out, int value) {
  if (!qs_dialect_can(d, QS_CAP(NATIVE_BOOLEAN))) return qs_buf_putc(out, value ? '1' : '0');
  return qs_buf_puts(out, value ? "true" : "false");
}
