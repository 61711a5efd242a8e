/*
** mysql.c: the MySQL dialect and its MariaDB variant. Backtick quoting, ON
** DUPLICATE KEY UPDATE, inline COMMENT clauses, native ENUM, an index made
** for every foreign key, DDL that commits the transaction, LIMIT o, n, LOCK
** IN SHARE MODE, multi-table UPDATE and DELETE, backslash escapes in strings.
** MySQL has no RETURNING, no INTERSECT or EXCEPT; MariaDB has RETURNING on
** INSERT (also multi-row) and DELETE (10.5), not on UPDATE, no WITH before
** DML, no FOR UPDATE OF, and keeps JSON as text. 65,535 placeholders per
** statement. MariaDB is its own object sharing MySQL's hooks.
*/
#include "dialects.h"

#include <string.h>

/* VARCHAR needs a length; BOOLEAN is BOOL; an interval is seconds; a
** LargeBinary is the BLOB type its length needs (LONGBLOB without one). */
static int mysql_type_name(const qs_dialect *d, qs_buf *out, const qs_type_desc *t, int autoinc,
                           qs_error *err) {
  const char *k = t->kind;
  (void)autoinc;   /* AUTO_INCREMENT follows the column (autoinc_clause) */
  if ((strcmp(k, "VARCHAR") == 0 || strcmp(k, "ENUM") == 0) && t->length <= 0)
    /* ArgumentError, as the column was declared wrong (not compiled wrong) */
    return qs_error_set(err, QS_ARGUMENT, "VARCHAR requires a length on dialect %s: declare String(n)",
                        d->name);
  if (strcmp(k, "BOOLEAN") == 0 || strcmp(k, "INTERVAL") == 0) {
    if (qs_buf_puts(out, k[0] == 'B' ? "BOOL" : "DOUBLE") != QS_OK)
      return qs_error_set(err, QS_NOMEM, "out of memory");
    return QS_OK;
  }
  if (strcmp(k, "BLOB") == 0) {
    /* LargeBinary: a plain BLOB holds 64 KB, so without a length the largest
    ** (LONGBLOB, 4 GB); LargeBinary(n) the smallest that holds n bytes, as
    ** MySQL itself picks for BLOB(n). A value must also fit the server's
    ** max_allowed_packet (docs/DIALECTS.md). */
    const char *name = t->length <= 0 ? "LONGBLOB" : t->length < 256 ? "TINYBLOB"
                     : t->length < 65536 ? "BLOB" : t->length < 16777216 ? "MEDIUMBLOB" : "LONGBLOB";
    if (qs_buf_puts(out, name) != QS_OK) return qs_error_set(err, QS_NOMEM, "out of memory");
    return QS_OK;
  }
  return qs__type_name_common(d, out, t, err);
}

/* MySQL's CAST takes only a few targets (SQLAlchemy's MySQL visit_typeclause):
** 1 when t has one, 0 when the cast is left out (the value keeps its form and
** the result type still converts it), -1 when the DDL name serves. */
static int mysql_cast_form(const char *k) {
  static const char *const targets[] = {"INTEGER", "BIGINT", "SMALLINT", "VARCHAR", "TEXT", "NUMERIC",
    "FLOAT", "INTERVAL", "DATETIME", "DATE", "TIME", "JSON", "BLOB", "UUID", NULL};
  int i;
  if (!strcmp(k, "BOOLEAN") || !strcmp(k, "ENUM")) return 0;
  for (i = 0; targets[i]; i++) if (!strcmp(k, targets[i])) return 1;
  return -1;
}

/* Writes the CAST target of t (mysql_cast_form gave 1). */
static void mysql_cast_target(qs_buf *out, const qs_type_desc *t) {
  const char *k = t->kind;
  if (!strcmp(k, "INTEGER") || !strcmp(k, "BIGINT") || !strcmp(k, "SMALLINT")) {
    qs_buf_puts(out, "SIGNED INTEGER");
  } else if (!strcmp(k, "VARCHAR") || !strcmp(k, "TEXT")) {
    if (t->length > 0) qs_buf_printf(out, "CHAR(%ld)", t->length);
    else qs_buf_puts(out, "CHAR");
  } else if (!strcmp(k, "NUMERIC")) {
    if (t->precision > 0 && t->scale >= 0) qs_buf_printf(out, "DECIMAL(%ld, %ld)", t->precision, t->scale);
    else if (t->precision > 0) qs_buf_printf(out, "DECIMAL(%ld)", t->precision);
    else qs_buf_puts(out, "DECIMAL");
  } else if (!strcmp(k, "INTERVAL")) {
    qs_buf_puts(out, "DOUBLE");      /* seconds, as the column stores them */
  } else if (!strcmp(k, "BLOB")) {
    qs_buf_puts(out, "BINARY");
  } else if (!strcmp(k, "UUID")) {
    qs_buf_puts(out, "CHAR(36)");
  } else {
    qs_buf_puts(out, k);             /* FLOAT (MariaDB 10.4.5+, MySQL 8.0.17+), dates, JSON */
  }
}

static int mysql_cast(const qs_dialect *d, qs_buf *out, const qs_type_desc *t, const char *from,
                      const qs_parts *parts) {
  int form = mysql_cast_form(t->kind);
  if (form < 0) return qs__cast_common(d, out, t, from, parts);
  if (form == 0) {   /* no such CAST: the element as it is */
    parts->render(parts->ud, QS_PART_ELEMENT, QS_PLACE_TIGHT);
    return out->failed ? QS_NOMEM : QS_OK;
  }
  qs_buf_puts(out, "CAST(");
  parts->render(parts->ud, QS_PART_ELEMENT, QS_PLACE_ALONE);
  qs_buf_puts(out, " AS ");
  mysql_cast_target(out, t);
  return qs_buf_putc(out, ')');
}

/* MariaDB's JSON is text: a cast to JSON is left out. */
static int mariadb_cast(const qs_dialect *d, qs_buf *out, const qs_type_desc *t, const char *from,
                        const qs_parts *parts) {
  if (strcmp(t->kind, "JSON") == 0) {
    parts->render(parts->ud, QS_PART_ELEMENT, QS_PLACE_TIGHT);
    return out->failed ? QS_NOMEM : QS_OK;
  }
  return mysql_cast(d, out, t, from, parts);
}

/* A backslash is an escape inside MySQL's strings: doubled. */
static int mysql_literal(const qs_dialect *d, qs_buf *out, const qs_value *v, qs_error *err) {
  if (v->type == QS_TTEXT) return qs__literal_text(out, v->u.s.p, v->u.s.n, 1, err);
  return qs__literal_common(d, out, v, err);
}

/* concat() concatenates (|| is OR); "/" is true division and DIV the
** integer one. */
static int mysql_operator(const qs_dialect *d, qs_buf *out, qs_dialect_op op, const qs_parts *parts) {
  if (op == QS_DOP_CONCAT) return qs__call2(out, "concat", parts);
  if (op == QS_DOP_TRUEDIV_INT) return qs__infix(out, " / ", parts);
  if (op == QS_DOP_FLOORDIV_INT) return qs__infix(out, " DIV ", parts);
  if (op == QS_DOP_IS_NOT_DISTINCT_FROM) return qs__infix(out, " <=> ", parts);   /* NULL-safe equal */
  if (op == QS_DOP_IS_DISTINCT_FROM) {
    qs_buf_puts(out, "NOT (");
    parts->render(parts->ud, QS_PART_LEFT, QS_PLACE_OPERAND);
    qs_buf_puts(out, " <=> ");
    parts->render(parts->ud, QS_PART_RIGHT, QS_PLACE_OPERAND);
    return qs_buf_putc(out, ')');
  }
  return qs__operator_common(d, out, op, parts);
}

/* x REGEXP p; flags: REGEXP_LIKE(x, p, flags) and REGEXP_REPLACE's
** match_type, after the position and occurrence it comes behind (1: from
** the start, 0: every match). */
static int mysql_regexp(const qs_dialect *d, qs_buf *out, const qs_regexp_desc *r, const qs_parts *parts,
                        qs_error *err) {
  (void)d, (void)err;
  if (r->replace) return qs__regexp_call(out, "REGEXP_REPLACE", r, parts, ", 1, 0, ");
  if (r->flags == NULL) return qs__regexp_infix(out, r->negate ? " NOT REGEXP " : " REGEXP ", parts, 0);
  if (r->negate) qs_buf_puts(out, "NOT ");
  return qs__regexp_call(out, "REGEXP_LIKE", r, parts, NULL);
}

/* MariaDB (PCRE) has no flags argument: they go inline, (?flags)pattern. */
static int mariadb_regexp(const qs_dialect *d, qs_buf *out, const qs_regexp_desc *r, const qs_parts *parts,
                          qs_error *err) {
  (void)d, (void)err;
  if (!r->replace) return qs__regexp_infix(out, r->negate ? " NOT REGEXP " : " REGEXP ", parts, r->flags != NULL);
  qs_buf_puts(out, "REGEXP_REPLACE(");
  parts->render(parts->ud, QS_PART_LEFT, QS_PLACE_ALONE);
  qs_buf_puts(out, ", ");
  if (r->flags) qs__regexp_inline_flags(out, parts);
  else parts->render(parts->ud, QS_PART_RIGHT, QS_PLACE_ALONE);
  qs_buf_puts(out, ", ");
  parts->render(parts->ud, QS_PART_REPLACEMENT, QS_PLACE_ALONE);
  return qs_buf_putc(out, ')');
}

/* JSON_EXTRACT gives JSON: JSON_UNQUOTE makes a string of it. */
static int mysql_json_get(const qs_dialect *d, qs_buf *out, const qs_json_desc *j, const qs_parts *parts) {
  const qs_part path = QS_PART_JSON_PATH;
  (void)d;
  if (j->as && strcmp(j->as, "string") == 0) return qs__json_extract(out, "JSON_UNQUOTE(", ")", parts, path);
  if (j->as && strcmp(j->as, "integer") == 0) return qs__json_extract(out, "CAST(", " AS SIGNED)", parts, path);
  if (j->as && strcmp(j->as, "float") == 0) return qs__json_extract(out, "CAST(", " AS DOUBLE)", parts, path);
  return qs__json_extract(out, "", "", parts, path);
}

/* LIMIT offset, count; an OFFSET alone takes the largest count. */
static int mysql_limit(const qs_dialect *d, qs_buf *out, int has_limit, int has_offset,
                       const qs_parts *parts) {
  (void)d;
  qs_buf_puts(out, " LIMIT ");
  if (has_offset) {
    parts->render(parts->ud, QS_PART_OFFSET, QS_PLACE_ALONE);
    qs_buf_puts(out, ", ");
  }
  if (has_limit) parts->render(parts->ud, QS_PART_LIMIT, QS_PLACE_ALONE);
  else qs_buf_puts(out, "18446744073709551615");
  return out->failed ? QS_NOMEM : QS_OK;
}

/* A shared lock is LOCK IN SHARE MODE, which takes no OF. */
static int mysql_for_update(const qs_dialect *d, qs_buf *out, const qs_lock_desc *lock,
                            const qs_parts *parts, qs_error *err) {
  if (lock->key_share || !lock->read) return qs__for_update_common(d, out, lock, parts, err);
  if (lock->of) return qs_error_set(err, QS_COMPILE, "with_for_update: LOCK IN SHARE MODE takes no OF (of)");
  if (qs__lock_clause(out, " LOCK IN SHARE MODE", lock, parts) != QS_OK)
    return qs_error_set(err, QS_NOMEM, "out of memory");
  return QS_OK;
}

static int mariadb_for_update(const qs_dialect *d, qs_buf *out, const qs_lock_desc *lock,
                              const qs_parts *parts, qs_error *err) {
  if (lock->of && !lock->key_share)
    return qs_error_set(err, QS_COMPILE, "with_for_update: MariaDB has no FOR UPDATE OF (of)");
  return mysql_for_update(d, out, lock, parts, err);
}

static int mysql_deferrable(const qs_dialect *d, int foreign_key, qs_error *err) {
  (void)d, (void)foreign_key;
  return qs_error_set(err, QS_COMPILE, "MySQL/MariaDB constraints cannot be deferred (deferrable, initially)");
}

/* Table options as bare words (checked where they were given and again
** when written). */
static const qs_table_option mysql_table_options[] = {
  {"mysql_engine", " ENGINE="}, {"mysql_charset", " DEFAULT CHARSET="}, {"mysql_collate", " COLLATE="},
  {NULL, NULL},
};

#define MYSQL_COMMON_CAPS                                                             \
  (QS_CAP(FOR_UPDATE) | QS_CAP(NATIVE_BOOLEAN) | QS_CAP(ALTER_TABLE) |                \
   QS_CAP(INLINE_COMMENTS) | QS_CAP(FK_IMPLICIT_INDEX) | QS_CAP(NATIVE_ENUM) |         \
   QS_CAP(ALTER_COLUMN_RESTATES) | QS_CAP(MULTIROW_INSERT_ORDERED) | QS_CAP(QUANTIFIED_SUBQUERY) |                  \
   QS_CAP(COMPUTED_VIRTUAL))

/* The empty set of n-member rows: a derived table's columns named, since
** MySQL refuses a derived table with two columns called "1" (SQLAlchemy's
** _in_0, _in_1 ...). */
static int mysql_empty_tuple_set(const qs_dialect *d, qs_buf *out, int n, const qs_type_desc *types,
                                 qs_error *err) {
  int i;
  (void)d, (void)types;
  qs_buf_puts(out, "(SELECT ");
  for (i = 0; i < n; i++) qs_buf_printf(out, i ? ", _in_%d" : "_in_%d", i);
  qs_buf_puts(out, " FROM (SELECT ");
  for (i = 0; i < n; i++) qs_buf_printf(out, i ? ", 1 AS _in_%d" : "1 AS _in_%d", i);
  qs_buf_puts(out, ") AS _empty_set WHERE 1!=1)");
  return out->failed ? qs_error_set(err, QS_NOMEM, "out of memory") : QS_OK;
}

#define MYSQL_COMMON_FIELDS                                                           \
  .paramstyle = QS_PARAM_QMARK,                                                       \
  .quote_open = '`',                                                                  \
  .quote_close = '`',                                                                 \
  .upsert = QS_UPSERT_ON_DUPLICATE_KEY,                                               \
  .max_params = 65535,                                                                \
  .insertmany_rows = 1000,                                                            \
  .partial_index_option = NULL,                                                       \
  .forms = QS_FORM_DROP_CONSTRAINT_BY_KIND | QS_FORM_DROP_INDEX_ON_TABLE |             \
           QS_FORM_INDEX_PREFIX_LENGTHS | QS_FORM_BACKSLASH_ESCAPES |                 \
           QS_FORM_HASH_COMMENTS | QS_FORM_INDEX_EXPR_PARENS | QS_FORM_INDEX_FUNC_PARENS |  \
           QS_FORM_NEXT_VALUE_FOR,                                                     \
  .update_froms = QS_DML_FROMS_MULTI_TABLE,                                           \
  .delete_froms = QS_DML_FROMS_MULTI_TABLE,                                           \
  .empty_insert = " () VALUES ()",                                                    \
  .empty_in_set = "(SELECT 1 FROM (SELECT 1) AS _empty_set WHERE 1!=1)",              \
  .now_function = NULL,                                                               \
  .autoinc_clause = " AUTO_INCREMENT",                                                \
  .index_using_option = NULL,                                                         \
  .table_options = mysql_table_options,                                               \
  .xTypeName = mysql_type_name,                                                       \
  .xLiteral = mysql_literal,                                                          \
  .xOperator = mysql_operator,                                                        \
  .xJsonGet = mysql_json_get,                                                         \
  .xLimit = mysql_limit,                                                              \
  .xBindCast = NULL,                                                                  \
  .xDeferrable = mysql_deferrable,                                                    \
  .xEmptyTupleSet = mysql_empty_tuple_set

const qs_dialect qs__dialect_mysql = {
  .name = "mysql",
  /* expression key parts: MySQL 8.0.13 on; MariaDB has none (a generated column instead) */
  .caps = MYSQL_COMMON_CAPS | QS_CAP(DML_CTE) | QS_CAP(LATERAL) |
          QS_CAP(EXPRESSION_INDEX),
  .xCast = mysql_cast,
  .xForUpdate = mysql_for_update,
  .xRegexp = mysql_regexp,
  MYSQL_COMMON_FIELDS,
};

const qs_dialect qs__dialect_mariadb = {
  .name = "mariadb",
  .caps = MYSQL_COMMON_CAPS | QS_CAP(INSERT_RETURNING) | QS_CAP(DELETE_RETURNING) |
          QS_CAP(INSERT_MANY_RETURNING) | QS_CAP(INTERSECT_EXCEPT) | QS_CAP(FETCH_FIRST) |
      QS_CAP(WITHIN_GROUP_WINDOW) |
          QS_CAP(SEQUENCES),
  .xCast = mariadb_cast,
  .xForUpdate = mariadb_for_update,
  .xRegexp = mariadb_regexp,
  MYSQL_COMMON_FIELDS,
};
