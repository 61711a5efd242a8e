/*
** postgresql.c: the PostgreSQL dialect. Numbered placeholders ($1), RETURNING
** on every statement kind, DISTINCT ON, ILIKE, FOR UPDATE with its variants,
** transactional DDL, COMMENT ON, partial indexes, SERIAL columns, typed
** parameters. A multi-row INSERT need not hand out its keys in VALUES order
** (no MULTIROW_INSERT_ORDERED). 65,535 bind parameters per statement (the
** protocol's 16-bit count).
*/
#include "dialects.h"

#include <string.h>

static int is_number_kind(const char *t) {
  return t && (!strcmp(t, "INTEGER") || !strcmp(t, "BIGINT") || !strcmp(t, "SMALLINT") ||
               !strcmp(t, "FLOAT") || !strcmp(t, "NUMERIC"));
}

/* PostgreSQL's own types, whose DDL name is their kind: network addresses (strings in
** Lua) and ranges (qs.postgresql.Range); no other database has them. */
static int pg_network_kind(const char *k) {
  static const char *const kinds[] = {"INET", "CIDR", "MACADDR", "INT4RANGE", "INT8RANGE", "NUMRANGE",
    "DATERANGE", "TSRANGE", "TSTZRANGE", NULL};
  int i;
  for (i = 0; kinds[i]; i++) if (!strcmp(k, kinds[i])) return 1;
  return 0;
}

static int pg_type_name(const qs_dialect *d, qs_buf *out, const qs_type_desc *t, int autoinc,
                        qs_error *err) {
  const char *k = t->kind, *name = NULL;
  if (autoinc && strcmp(k, "INTEGER") == 0) name = "SERIAL";
  else if (autoinc && strcmp(k, "BIGINT") == 0) name = "BIGSERIAL";
  else if (autoinc && strcmp(k, "SMALLINT") == 0) name = "SMALLSERIAL";
  else if (strcmp(k, "DATETIME") == 0)
    name = t->timezone ? "TIMESTAMP WITH TIME ZONE" : "TIMESTAMP WITHOUT TIME ZONE";
  else if (strcmp(k, "TIME") == 0) name = "TIME WITHOUT TIME ZONE";
  else if (strcmp(k, "INTERVAL") == 0) name = "INTERVAL";
  else if (strcmp(k, "BLOB") == 0) name = "BYTEA";
  else if (strcmp(k, "UUID") == 0) name = "UUID";
  else if (strcmp(k, "JSONB") == 0) name = "JSONB";
  else if (pg_network_kind(k)) name = k;   /* qs.postgresql.INET, CIDR, MACADDR */
  if (name == NULL) return qs__type_name_common(d, out, t, err);
  if (qs_buf_puts(out, name) != QS_OK) return qs_error_set(err, QS_NOMEM, "out of memory");
  return QS_OK;
}

/* An interval is seconds in Lua and on the backends without INTERVAL, so a
** number cast to Interval is that many seconds and an interval cast to a
** number its seconds (CAST would refuse both). */
static int pg_cast(const qs_dialect *d, qs_buf *out, const qs_type_desc *t, const char *from,
                   const qs_parts *parts) {
  if (strcmp(t->kind, "INTERVAL") == 0 && is_number_kind(from)) {
    qs_buf_puts(out, "make_interval(secs => ");
    parts->render(parts->ud, QS_PART_ELEMENT, QS_PLACE_ALONE);
    return qs_buf_putc(out, ')');
  }
  if (is_number_kind(t->kind) && from && strcmp(from, "INTERVAL") == 0) {
    qs_buf_puts(out, "CAST(EXTRACT(EPOCH FROM ");
    parts->render(parts->ud, QS_PART_ELEMENT, QS_PLACE_ALONE);
    qs_buf_puts(out, ") AS ");
    parts->render(parts->ud, QS_PART_TYPE, QS_PLACE_ALONE);
    return qs_buf_putc(out, ')');
  }
  return qs__cast_common(d, out, t, from, parts);
}

/* bytea's hex form. */
static int pg_literal(const qs_dialect *d, qs_buf *out, const qs_value *v, qs_error *err) {
  if (v->type != QS_TBLOB) return qs__literal_common(d, out, v, err);
  if (qs__literal_hex(out, "'\\x", v->u.s.p, v->u.s.n, "'::bytea") != QS_OK)
    return qs_error_set(err, QS_NOMEM, "out of memory");
  return QS_OK;
}

static int pg_operator(const qs_dialect *d, qs_buf *out, qs_dialect_op op, const qs_parts *parts) {
  if (op == QS_DOP_ILIKE) return qs__infix(out, " ILIKE ", parts);
  if (op == QS_DOP_NOT_ILIKE) return qs__infix(out, " NOT ILIKE ", parts);
  if (op == QS_DOP_CONTAINS) return qs__infix(out, " @> ", parts);
  if (op == QS_DOP_CONTAINED_BY) return qs__infix(out, " <@ ", parts);
  if (op == QS_DOP_OVERLAP) return qs__infix(out, " && ", parts);
  if (op == QS_DOP_HAS_KEY) return qs__infix(out, " ? ", parts);
  if (op == QS_DOP_HAS_ANY) return qs__infix(out, " ?| ", parts);
  if (op == QS_DOP_HAS_ALL) return qs__infix(out, " ?& ", parts);
  if (op == QS_DOP_PATH_EXISTS) return qs__infix(out, " @? ", parts);
  if (op == QS_DOP_PATH_MATCH) return qs__infix(out, " @@ ", parts);
  return qs__operator_common(d, out, op, parts);
}

/* ~ / !~ (~* / !~* for the flag i alone; other flags inline in the
** pattern: (?flags) opens an ARE); REGEXP_REPLACE(s, p, r[, flags]). */
static int pg_regexp(const qs_dialect *d, qs_buf *out, const qs_regexp_desc *r, const qs_parts *parts,
                     qs_error *err) {
  (void)d, (void)err;
  if (r->replace) return qs__regexp_call(out, "REGEXP_REPLACE", r, parts, NULL);
  if (r->flags && strcmp(r->flags, "i") == 0)
    return qs__regexp_infix(out, r->negate ? " !~* " : " ~* ", parts, 0);
  return qs__regexp_infix(out, r->negate ? " !~ " : " ~ ", parts, r->flags != NULL);
}

/* The -> / ->> (one key) and #> / #>> (a text[] path) operators; the ->>
** forms give text, cast for the as_*() that want a number or boolean. The
** key parameter says its type: -> takes a text key or an integer index. */
static int pg_json_get(const qs_dialect *d, qs_buf *out, const qs_json_desc *j, const qs_parts *parts) {
  const char *open = "", *close = "";
  int text = j->as != NULL;
  (void)d;
  if (j->as && strcmp(j->as, "integer") == 0) open = "CAST(", close = " AS INTEGER)";
  else if (j->as && strcmp(j->as, "float") == 0) open = "CAST(", close = " AS FLOAT)";
  else if (j->as && strcmp(j->as, "boolean") == 0) open = "CAST(", close = " AS BOOLEAN)";
  qs_buf_puts(out, open);
  parts->render(parts->ud, QS_PART_LEFT, QS_PLACE_TIGHT);
  qs_buf_puts(out, j->path ? (text ? " #>> " : " #> ") : (text ? " ->> " : " -> "));
  parts->render(parts->ud, QS_PART_JSON_KEY, QS_PLACE_TIGHT);
  qs_buf_puts(out, j->path ? "::TEXT[]" : j->integer_key ? "::INTEGER" : "::TEXT");
  return qs_buf_puts(out, close);
}

/* FOR NO KEY UPDATE / FOR KEY SHARE besides the standard forms. */
static int pg_for_update(const qs_dialect *d, qs_buf *out, const qs_lock_desc *lock,
                         const qs_parts *parts, qs_error *err) {
  const char *words;
  (void)d;
  if (lock->key_share) words = lock->read ? " FOR KEY SHARE" : " FOR NO KEY UPDATE";
  else words = lock->read ? " FOR SHARE" : " FOR UPDATE";
  if (qs__lock_clause(out, words, lock, parts) != QS_OK) return qs_error_set(err, QS_NOMEM, "out of memory");
  return QS_OK;
}

/*
** PostgreSQL infers a parameter's type from where it stands; alone or next
** to other parameters ($1 + $2, SELECT $1, a function's argument) it cannot
** ("operator is not unique", or a guess such as text), so a parameter of a
** known type says it: $1::INTEGER, as SQLAlchemy's render_bind_cast does for
** asyncpg and psycopg 3. Strings, enums and JSON stay untyped unless they
** stand alone as a column (all): an untyped parameter is resolved as text
** where text fits and takes the type of what it meets (a timestamp, a jsonb
** column) where VARCHAR would fail. Sizes are left out: a cast to
** VARCHAR(5) or NUMERIC(5, 2) would cut or round the value first.
*/
static int pg_bind_cast(const qs_dialect *d, qs_buf *out, const qs_type_desc *t, int all) {
  const char *k = t->kind, *cast = NULL;
  (void)d;
  if (strcmp(k, "INTEGER") == 0 || strcmp(k, "BIGINT") == 0 || strcmp(k, "SMALLINT") == 0 ||
      strcmp(k, "NUMERIC") == 0 || strcmp(k, "FLOAT") == 0 || strcmp(k, "BOOLEAN") == 0 ||
      strcmp(k, "DATE") == 0 || strcmp(k, "INTERVAL") == 0 || strcmp(k, "UUID") == 0 ||
      pg_network_kind(k)) {
    cast = k;
  } else if (strcmp(k, "DATETIME") == 0) {
    cast = t->timezone ? "TIMESTAMP WITH TIME ZONE" : "TIMESTAMP WITHOUT TIME ZONE";
  } else if (strcmp(k, "TIME") == 0) {
    cast = "TIME WITHOUT TIME ZONE";
  } else if (strcmp(k, "BLOB") == 0) {
    cast = "BYTEA";
  } else if (strcmp(k, "JSONPATH") == 0) {   /* a jsonpath, text in Lua (sql/pg_ops.lua) */
    cast = "JSONPATH";
  } else if (all) {
    if (strcmp(k, "VARCHAR") == 0 || strcmp(k, "ENUM") == 0) cast = "VARCHAR";
    else if (strcmp(k, "TEXT") == 0) cast = "TEXT";
    else if (strcmp(k, "JSON") == 0) cast = "JSON";
    else if (strcmp(k, "JSONB") == 0) cast = "JSONB";
  }
  if (cast == NULL) return QS_OK;
  qs_buf_puts(out, "::");
  return qs_buf_puts(out, cast);
}

/* The empty set of n-member rows, each member cast to its type (INTEGER
** when untyped), as for one value: (SELECT CAST(NULL AS INTEGER), ... WHERE 1!=1). */
static int pg_empty_tuple_set(const qs_dialect *d, qs_buf *out, int n, const qs_type_desc *types,
                              qs_error *err) {
  int i, rc;
  qs_buf_puts(out, "(SELECT ");
  for (i = 0; i < n; i++) {
    const qs_type_desc *t = &types[i];
    qs_buf_puts(out, i ? ", CAST(NULL AS " : "CAST(NULL AS ");
    if (t->kind) rc = qs_render_type(d, out, t->kind, t->length, t->precision, t->scale, t->timezone, 0, err);
    else rc = qs_buf_puts(out, "INTEGER");
    if (rc != QS_OK) return rc;
    qs_buf_putc(out, ')');
  }
  qs_buf_puts(out, " WHERE 1!=1)");
  return out->failed ? qs_error_set(err, QS_NOMEM, "out of memory") : QS_OK;
}

const qs_dialect qs__dialect_postgresql = {
  .name = "postgresql",
  .paramstyle = QS_PARAM_DOLLAR,
  .quote_open = '"',
  .quote_close = '"',
  .caps = QS_CAP(INSERT_RETURNING) | QS_CAP(UPDATE_RETURNING) | QS_CAP(DELETE_RETURNING) |
          QS_CAP(INSERT_MANY_RETURNING) | QS_CAP(FULL_JOIN) | QS_CAP(DML_CTE) | QS_CAP(DISTINCT_ON) |
          QS_CAP(FOR_UPDATE) | QS_CAP(NATIVE_BOOLEAN) | QS_CAP(TRANSACTIONAL_DDL) |
          QS_CAP(ALTER_TABLE) | QS_CAP(COMMENT_ON) | QS_CAP(PARTIAL_INDEX) |
          QS_CAP(INTERSECT_EXCEPT) | QS_CAP(ON_CONFLICT_CONSTRAINT) | QS_CAP(ARRAY) |
          QS_CAP(QUANTIFIED_SUBQUERY) |
          QS_CAP(FETCH_FIRST) | QS_CAP(LATERAL) | QS_CAP(TABLESAMPLE) | QS_CAP(TABLE_VALUED) |
      QS_CAP(AGGREGATE_FILTER) | QS_CAP(WITHIN_GROUP) |
          QS_CAP(EXPRESSION_INDEX) |
          QS_CAP(SEQUENCES) | QS_CAP(IDENTITY_COLUMNS) | QS_CAP(ENUM_TYPES),
  .upsert = QS_UPSERT_ON_CONFLICT,
  .max_params = 65535,
  .insertmany_rows = 1000,
  .partial_index_option = "postgresql_where",

  .forms = QS_FORM_DOLLAR_QUOTES | QS_FORM_ESCAPE_STRINGS | QS_FORM_VALUES_COLUMN_LIST |
           QS_FORM_INDEX_EXPR_PARENS,
  .update_froms = QS_DML_FROMS_CLAUSE,
  .delete_froms = QS_DML_FROMS_CLAUSE,
  .empty_insert = " DEFAULT VALUES",
  /* typed as the IN's left side (SQLAlchemy's empty set expression): an
  ** untyped NULL is text, and INTEGER = VARCHAR has no operator */
  .empty_in_set = "(SELECT CAST(NULL AS %s) WHERE 1!=1)",
  .now_function = NULL,
  .autoinc_clause = NULL,
  .index_using_option = "postgresql_using",
  .table_options = NULL,

  .xTypeName = pg_type_name,
  .xCast = pg_cast,
  .xLiteral = pg_literal,
  .xOperator = pg_operator,
  .xJsonGet = pg_json_get,
  .xLimit = qs__limit_common,
  .xForUpdate = pg_for_update,
  .xBindCast = pg_bind_cast,
  .xDeferrable = NULL,
  .xRegexp = pg_regexp,
  .xEmptyTupleSet = pg_empty_tuple_set,
};
