/*
** sqlite.c: the SQLite dialect. RETURNING since 3.35, FULL JOIN since 3.39,
** partial indexes; no FOR UPDATE (the whole file is locked), no ALTER COLUMN
** or constraint changes (migrations rebuild the table), no comments, no
** DELETE ... USING. Booleans are 1 and 0. Bind parameters per statement:
** SQLITE_MAX_VARIABLE_NUMBER's default since 3.32.
*/
#include "dialects.h"

#include <string.h>

/* The rowid is aliased only by "INTEGER PRIMARY KEY": every auto-increment
** integer is an INTEGER. */
static int sqlite_type_name(const qs_dialect *d, qs_buf *out, const qs_type_desc *t, int autoinc,
                            qs_error *err) {
  if (autoinc && (strcmp(t->kind, "BIGINT") == 0 || strcmp(t->kind, "SMALLINT") == 0)) {
    qs_type_desc integer = *t;
    integer.kind = "INTEGER";
    return qs__type_name_common(d, out, &integer, err);
  }
  return qs__type_name_common(d, out, t, err);
}

/* SQLite casts by affinity: DATE, DATETIME, TIME and JSON would be NUMERIC
** ('2024-05-01' becomes 2024); its date functions give the ISO-8601 text,
** and JSON is text already. */
static int sqlite_cast(const qs_dialect *d, qs_buf *out, const qs_type_desc *t, const char *from,
                       const qs_parts *parts) {
  const char *fn = strcmp(t->kind, "DATE") == 0 ? "date(" : strcmp(t->kind, "DATETIME") == 0 ? "datetime("
                 : strcmp(t->kind, "TIME") == 0 ? "time(" : NULL;
  if (fn) {
    qs_buf_puts(out, fn);
    parts->render(parts->ud, QS_PART_ELEMENT, QS_PLACE_ALONE);
    return qs_buf_putc(out, ')');
  }
  if (strcmp(t->kind, "JSON") == 0) {
    qs_buf_puts(out, "CAST(");
    parts->render(parts->ud, QS_PART_ELEMENT, QS_PLACE_ALONE);
    return qs_buf_puts(out, " AS TEXT)");
  }
  return qs__cast_common(d, out, t, from, parts);
}

/* An integer divided by an integer is cast to REAL (SQLite's floating type). */
static int sqlite_operator(const qs_dialect *d, qs_buf *out, qs_dialect_op op, const qs_parts *parts) {
  if (op == QS_DOP_TRUEDIV_INT) return qs__truediv_cast(out, "REAL", parts);
  if (op == QS_DOP_IS_DISTINCT_FROM) return qs__infix(out, " IS NOT ", parts);   /* IS compares NULLs */
  if (op == QS_DOP_IS_NOT_DISTINCT_FROM) return qs__infix(out, " IS ", parts);
  return qs__operator_common(d, out, op, parts);
}

/* open JSON_EXTRACT(left, path) close, the path in the form the SQLite in
** this process reads: before 3.45 it ends a quoted key at the first '"' and
** compares keys undecoded, so a key holding '"' goes unquoted (the compiler
** takes that path from the node: sql/elements.lua). */
static int sqlite_json_extract(qs_buf *out, const char *open, const char *close, const qs_parts *parts) {
  return qs__json_extract(out, open, close, parts, QS_PART_JSON_PATH_SQLITE);
}

/* JSON_EXTRACT gives SQL values: JSON_QUOTE keeps the JSON form. */
static int sqlite_json_get(const qs_dialect *d, qs_buf *out, const qs_json_desc *j, const qs_parts *parts) {
  (void)d;
  if (j->as == NULL) return sqlite_json_extract(out, "JSON_QUOTE(", ")", parts);
  if (strcmp(j->as, "integer") == 0) return sqlite_json_extract(out, "CAST(", " AS INTEGER)", parts);
  if (strcmp(j->as, "float") == 0) return sqlite_json_extract(out, "CAST(", " AS REAL)", parts);
  return sqlite_json_extract(out, "", "", parts);
}

/* An OFFSET needs a LIMIT before it: -1 is none. */
static int sqlite_limit(const qs_dialect *d, qs_buf *out, int has_limit, int has_offset,
                        const qs_parts *parts) {
  if (!has_limit && has_offset) qs_buf_puts(out, " LIMIT -1");
  return qs__limit_common(d, out, has_limit, has_offset, parts);
}

/* SQLite parses REGEXP but has no function behind it: the driver registers
** regexp(pattern, string[, flags]) and regexp_replace(string, pattern,
** replacement[, flags]) on every connection (c/driver/sqlite3.c, POSIX
** extended expressions). "x REGEXP p" calls regexp(p, x); with flags the
** function is called by name, since the operator takes two operands. */
static int sqlite_regexp(const qs_dialect *d, qs_buf *out, const qs_regexp_desc *r, const qs_parts *parts,
                         qs_error *err) {
  (void)d, (void)err;
  if (r->replace) return qs__regexp_call(out, "regexp_replace", r, parts, NULL);
  if (r->flags == NULL) return qs__regexp_infix(out, r->negate ? " NOT REGEXP " : " REGEXP ", parts, 0);
  qs_buf_puts(out, r->negate ? "NOT regexp(" : "regexp(");
  parts->render(parts->ud, QS_PART_RIGHT, QS_PLACE_ALONE);
  qs_buf_puts(out, ", ");
  parts->render(parts->ud, QS_PART_LEFT, QS_PLACE_ALONE);
  qs_buf_puts(out, ", ");
  parts->render(parts->ud, QS_PART_FLAGS, QS_PLACE_ALONE);
  return qs_buf_putc(out, ')');
}

static int sqlite_deferrable(const qs_dialect *d, int foreign_key, qs_error *err) {
  (void)d;
  if (foreign_key) return QS_OK;
  return qs_error_set(err, QS_COMPILE, "SQLite defers only foreign keys (deferrable, initially)");
}

const qs_dialect qs__dialect_sqlite = {
  .name = "sqlite",
  .paramstyle = QS_PARAM_QMARK,
  .quote_open = '"',
  .quote_close = '"',
  .caps = QS_CAP(INSERT_RETURNING) | QS_CAP(UPDATE_RETURNING) | QS_CAP(DELETE_RETURNING) |
          QS_CAP(INSERT_MANY_RETURNING) | QS_CAP(FULL_JOIN) | QS_CAP(DML_CTE) |
          QS_CAP(TRANSACTIONAL_DDL) | QS_CAP(PARTIAL_INDEX) | QS_CAP(INTERSECT_EXCEPT) |
          QS_CAP(MULTIROW_INSERT_ORDERED) | QS_CAP(TABLE_VALUED) |
      QS_CAP(AGGREGATE_FILTER) |
          QS_CAP(EXPRESSION_INDEX) |
          QS_CAP(COMPUTED_VIRTUAL),
  .upsert = QS_UPSERT_ON_CONFLICT,
  .max_params = 32766,
  .insertmany_rows = 0,
  .partial_index_option = "sqlite_where",

  .forms = QS_FORM_DEFAULT_EXPR_PARENS | QS_FORM_COMPOUND_SUBQUERY | QS_FORM_VALUES_NUMBERED |
           QS_FORM_TUPLE_IN_VALUES |
           QS_FORM_REFERENCES_UNQUALIFIED,
  .update_froms = QS_DML_FROMS_CLAUSE,
  .delete_froms = QS_DML_FROMS_NONE,
  .empty_insert = " DEFAULT VALUES",
  .empty_in_set = "(SELECT 1 FROM (SELECT 1) WHERE 1!=1)",
  .now_function = "CURRENT_TIMESTAMP",
  .autoinc_clause = NULL,
  .index_using_option = NULL,
  .table_options = NULL,

  .xTypeName = sqlite_type_name,
  .xCast = sqlite_cast,
  .xLiteral = qs__literal_common,
  .xOperator = sqlite_operator,
  .xJsonGet = sqlite_json_get,
  .xLimit = sqlite_limit,
  .xForUpdate = NULL,
  .xBindCast = NULL,
  .xDeferrable = sqlite_deferrable,
  .xRegexp = sqlite_regexp,
  .xEmptyTupleSet = qs__empty_tuple_set_common,
};
