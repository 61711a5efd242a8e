/*
** render.c: the dialect-dependent pieces of SQL the compiler writes, free of
** Lua so they are unit-tested in C: identifier quoting with reserved words,
** DDL type names, LIMIT/OFFSET forms, and the one audited literal renderer.
*/
#include "quicksilver.h"

#include <ctype.h>
#include <math.h>
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

static int is_pg(const qs_dialect *d) { return d->paramstyle == QS_PARAM_DOLLAR; }
static int is_mysql(const qs_dialect *d) { return d->quote_open == '`'; }

/*
** qs_render_type: the DDL name of a type for d. kind is the type's DDL kind
** ("INTEGER", "VARCHAR", ...); length/precision/scale are -1 when not given;
** autoinc asks for the dialect's auto-increment form (PostgreSQL SERIAL).
** Returns QS_COMPILE (with a message in err) when d cannot store the type.
*/
int qs_render_type(const qs_dialect *d, qs_buf *out, const char *kind, long length,
                   long precision, long scale, int timezone, int autoinc, qs_error *err) {
  int pg = is_pg(d), my = is_mysql(d);
  if (strcmp(kind, "INTEGER") == 0) {
    qs_buf_puts(out, pg && autoinc ? "SERIAL" : "INTEGER");
  } else if (strcmp(kind, "BIGINT") == 0) {
    /* SQLite aliases the rowid only for "INTEGER PRIMARY KEY" */
    qs_buf_puts(out, pg && autoinc ? "BIGSERIAL" : (!pg && !my && autoinc) ? "INTEGER" : "BIGINT");
  } else if (strcmp(kind, "SMALLINT") == 0) {
    qs_buf_puts(out, pg && autoinc ? "SMALLSERIAL" : (!pg && !my && autoinc) ? "INTEGER" : "SMALLINT");
  } else if (strcmp(kind, "VARCHAR") == 0 || strcmp(kind, "ENUM") == 0) {
    if (length > 0) qs_buf_printf(out, "VARCHAR(%ld)", length);
    else if (my)
      /* ArgumentError, as the column was declared wrong (not compiled wrong) */
      return qs_error_set(err, QS_ARGUMENT, "VARCHAR requires a length on dialect %s: declare String(n)",
                          d->name);
    else qs_buf_puts(out, "VARCHAR");
  } else if (strcmp(kind, "TEXT") == 0) {
    qs_buf_puts(out, "TEXT");
  } else if (strcmp(kind, "BOOLEAN") == 0) {
    qs_buf_puts(out, my ? "BOOL" : "BOOLEAN");
  } else if (strcmp(kind, "FLOAT") == 0) {
    if (precision > 0) qs_buf_printf(out, "FLOAT(%ld)", precision);
    else qs_buf_puts(out, "FLOAT");
  } else if (strcmp(kind, "NUMERIC") == 0) {
    if (precision > 0 && scale >= 0) qs_buf_printf(out, "NUMERIC(%ld, %ld)", precision, scale);
    else if (precision > 0) qs_buf_printf(out, "NUMERIC(%ld)", precision);
    else qs_buf_puts(out, "NUMERIC");
  } else if (strcmp(kind, "DATE") == 0) {
    qs_buf_puts(out, "DATE");
  } else if (strcmp(kind, "DATETIME") == 0) {
    qs_buf_puts(out, pg ? (timezone ? "TIMESTAMP WITH TIME ZONE" : "TIMESTAMP WITHOUT TIME ZONE")
                        : "DATETIME");
  } else if (strcmp(kind, "TIME") == 0) {
    qs_buf_puts(out, pg ? "TIME WITHOUT TIME ZONE" : "TIME");
  } else if (strcmp(kind, "INTERVAL") == 0) {
    qs_buf_puts(out, pg ? "INTERVAL" : my ? "DOUBLE" : "FLOAT");   /* seconds elsewhere */
  } else if (strcmp(kind, "JSON") == 0) {
    qs_buf_puts(out, "JSON");
  } else if (strcmp(kind, "BLOB") == 0) {
    qs_buf_puts(out, pg ? "BYTEA" : "BLOB");
  } else if (strcmp(kind, "UUID") == 0) {
    qs_buf_puts(out, pg ? "UUID" : "CHAR(36)");
  } else {
    return qs_error_set(err, QS_COMPILE, "no DDL type for %s on dialect %s", kind, d->name);
  }
  return out->failed ? qs_error_set(err, QS_NOMEM, "out of memory") : QS_OK;
}

/*
** qs_render_literal: the audited literal renderer, the one place a value is
** written into SQL text (DDL defaults, offline migration SQL). Strings are
** single-quoted with quotes doubled; MySQL also treats backslash as an
** escape, so backslashes are doubled there. NUL bytes cannot sit in a
** quoted string: such text is refused, and blobs are written as hex.
*/
int qs_render_literal(const qs_dialect *d, qs_buf *out, const qs_value *v, qs_error *err) {
  size_t i;
  switch (v->type) {
    case QS_TNULL:
      qs_buf_puts(out, "NULL");
      break;
    case QS_TINT:
      qs_buf_printf(out, "%lld", (long long)v->u.i);
      break;
    case QS_TBOOL:
      qs_render_bool(d, out, v->u.i != 0);
      break;
    case QS_TFLOAT:
      if (!isfinite(v->u.f))
        return qs_error_set(err, QS_COMPILE, "cannot render a non-finite number as a literal");
      qs_buf_printf(out, "%.17g", v->u.f);
      break;
    case QS_TTEXT:
      if (memchr(v->u.s.p, '\0', v->u.s.n))
        return qs_error_set(err, QS_COMPILE, "cannot render text with a NUL byte as a literal");
      qs_buf_putc(out, '\'');
      for (i = 0; i < v->u.s.n; i++) {
        char ch = v->u.s.p[i];
        if (ch == '\'') qs_buf_putc(out, '\'');
        else if (ch == '\\' && is_mysql(d)) qs_buf_putc(out, '\\');
        qs_buf_putc(out, ch);
      }
      qs_buf_putc(out, '\'');
      break;
    case QS_TBLOB:
      qs_buf_puts(out, is_pg(d) ? "'\\x" : "X'");
      for (i = 0; i < v->u.s.n; i++) qs_buf_printf(out, "%02x", (unsigned char)v->u.s.p[i]);
      qs_buf_puts(out, is_pg(d) ? "'::bytea" : "'");
      break;
  }
  return out->failed ? qs_error_set(err, QS_NOMEM, "out of memory") : QS_OK;
}

/* qs_render_bool: TRUE/FALSE where the dialect has them, 1/0 on SQLite. */
int qs_render_bool(const qs_dialect *d, qs_buf *out, int value) {
  if (strcmp(d->name, "sqlite") == 0) return qs_buf_putc(out, value ? '1' : '0');
  return qs_buf_puts(out, value ? "true" : "false");
}
