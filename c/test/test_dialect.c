/*
** test_dialect.c: every render hook and value of every dialect, without Lua.
** Each case loops over qs_dialect_list and compares with the column of that
** dialect in its table (sqlite, postgresql, mysql, mariadb), so a new
** dialect fails here until its expected spellings are written down, and a
** hook left NULL without a documented default fails dialect_hooks_present.
** Sub-expressions a hook asks for are written as {part place}; an expected
** "!message" is an error with that message.
*/
#include <stdlib.h>
#include <string.h>

#include "quicksilver.h"
#include "test.h"

enum { NDIALECTS = 4 };
static const char *const names[NDIALECTS] = {"sqlite", "postgresql", "mysql", "mariadb"};

/* The column of d in the expectation tables, or -1. */
static int column_of(const qs_dialect *d) {
  int i;
  for (i = 0; i < NDIALECTS; i++) if (strcmp(names[i], d->name) == 0) return i;
  fprintf(stderr, "  dialect %s has no expectations in test_dialect.c\n", d->name);
  return -1;
}

static void render_part(void *ud, qs_part part, qs_place place) {
  static const char *const parts[] = {"left", "right", "element", "type", "limit", "offset", "of",
                                      "path", "key", "sqlite path", "replacement", "flags"};
  static const char *const places[] = {"", " op", " tight"};
  qs_buf_printf((qs_buf *)ud, "{%s%s}", parts[part], places[place]);
}

/* Compares what a hook wrote (rc, out, err) with want; prints both when
** they differ. */
static int check(const char *what, const qs_dialect *d, int rc, qs_buf *out, qs_error *err,
                 const char *want) {
  const char *got = rc == QS_OK ? (out->p ? out->p : "") : err->message ? err->message : "(no message)";
  int ok = want[0] == '!' ? rc != QS_OK && strcmp(got, want + 1) == 0 : rc == QS_OK && strcmp(got, want) == 0;
  if (!ok) fprintf(stderr, "  %s on %s: got [%s%s] want [%s]\n", what, d->name, rc == QS_OK ? "" : "!", got, want);
  qs_buf_reset(out);
  qs_error_clear(err);
  return ok;
}

/* Runs body once per dialect with d, col (its column), out, err and parts set. */
#define EACH_DIALECT(...)                                                       \
  do {                                                                          \
    int n_, i_, failed_ = 0;                                                    \
    const qs_dialect *const *all_ = qs_dialect_list(&n_);                       \
    qs_buf out;                                                                 \
    qs_error err;                                                               \
    qs_parts parts;                                                             \
    qs_buf_init(&out);                                                          \
    memset(&err, 0, sizeof err);                                                \
    parts.render = render_part, parts.ud = &out;                                \
    for (i_ = 0; i_ < n_; i_++) {                                               \
      const qs_dialect *d = all_[i_];                                           \
      int col = column_of(d);                                                   \
      if (col < 0) { failed_ = 1; continue; }                                   \
      __VA_ARGS__                                                               \
    }                                                                           \
    qs_buf_free(&out);                                                          \
    (void)parts;                                                                \
    ASSERT(!failed_);                                                           \
  } while (0)
#define EXPECT(what, rc, want) failed_ |= !check(what, d, rc, &out, &err, want)

TEST_IMPL(dialect_hooks_present) {
  EACH_DIALECT({
    int ok = d->xTypeName && d->xCast && d->xLiteral && d->xOperator && d->xJsonGet && d->xLimit &&
             d->empty_insert && d->empty_in_set && d->quote_open && d->quote_close &&
             /* documented: no xForUpdate only without the capability */
             (d->xForUpdate != NULL) == qs_dialect_can(d, QS_CAP(FOR_UPDATE)) &&
             /* a partial index needs the option that carries its WHERE */
             (d->partial_index_option != NULL) == qs_dialect_can(d, QS_CAP(PARTIAL_INDEX));
    if (!ok) fprintf(stderr, "  %s leaves a hook without a default NULL\n", d->name);
    failed_ |= !ok;
    (void)col;
  });
  return 0;
}

TEST_IMPL(dialect_list_is_the_dialects) {
  int n, i;
  const qs_dialect *const *all = qs_dialect_list(&n);
  ASSERT_EQ(n, NDIALECTS);
  for (i = 0; i < n; i++) ASSERT(qs_dialect_find(names[i]) == all[i]);
  return 0;
}

TEST_IMPL(dialect_capabilities) {
  static const uint64_t caps[NDIALECTS] = {
    QS_CAP(INSERT_RETURNING) | QS_CAP(UPDATE_RETURNING) | QS_CAP(DELETE_RETURNING) |
      QS_CAP(INSERT_MANY_RETURNING) | QS_CAP(FULL_JOIN) | QS_CAP(DML_CTE) | QS_CAP(TRANSACTIONAL_DDL) |
      QS_CAP(PARTIAL_INDEX) | QS_CAP(INTERSECT_EXCEPT) | QS_CAP(MULTIROW_INSERT_ORDERED) |
      QS_CAP(TABLE_VALUED) |
      QS_CAP(AGGREGATE_FILTER) |
      QS_CAP(EXPRESSION_INDEX) |
      QS_CAP(COMPUTED_VIRTUAL),
    QS_CAP(INSERT_RETURNING) | QS_CAP(UPDATE_RETURNING) | QS_CAP(DELETE_RETURNING) |
      QS_CAP(INSERT_MANY_RETURNING) | QS_CAP(FULL_JOIN) | QS_CAP(DML_CTE) | QS_CAP(DISTINCT_ON) |
      QS_CAP(FOR_UPDATE) | QS_CAP(NATIVE_BOOLEAN) | QS_CAP(TRANSACTIONAL_DDL) | QS_CAP(ALTER_TABLE) |
      QS_CAP(COMMENT_ON) | QS_CAP(PARTIAL_INDEX) | QS_CAP(INTERSECT_EXCEPT) | QS_CAP(ON_CONFLICT_CONSTRAINT) |
      QS_CAP(FETCH_FIRST) | QS_CAP(LATERAL) | QS_CAP(TABLESAMPLE) | QS_CAP(TABLE_VALUED) |
      QS_CAP(ARRAY) | QS_CAP(QUANTIFIED_SUBQUERY) |
      QS_CAP(AGGREGATE_FILTER) | QS_CAP(WITHIN_GROUP) | QS_CAP(EXPRESSION_INDEX) |
      QS_CAP(SEQUENCES) | QS_CAP(IDENTITY_COLUMNS) | QS_CAP(ENUM_TYPES),
    QS_CAP(DML_CTE) | QS_CAP(FOR_UPDATE) | QS_CAP(NATIVE_BOOLEAN) | QS_CAP(ALTER_TABLE) |
      QS_CAP(INLINE_COMMENTS) | QS_CAP(FK_IMPLICIT_INDEX) | QS_CAP(NATIVE_ENUM) | QS_CAP(ALTER_COLUMN_RESTATES) |
      QS_CAP(MULTIROW_INSERT_ORDERED) | QS_CAP(LATERAL) | QS_CAP(QUANTIFIED_SUBQUERY) |
      QS_CAP(EXPRESSION_INDEX) |
      QS_CAP(COMPUTED_VIRTUAL),
    QS_CAP(INSERT_RETURNING) | QS_CAP(DELETE_RETURNING) | QS_CAP(INSERT_MANY_RETURNING) |
      QS_CAP(FOR_UPDATE) | QS_CAP(NATIVE_BOOLEAN) | QS_CAP(ALTER_TABLE) | QS_CAP(INLINE_COMMENTS) |
      QS_CAP(FK_IMPLICIT_INDEX) | QS_CAP(NATIVE_ENUM) | QS_CAP(INTERSECT_EXCEPT) | QS_CAP(ALTER_COLUMN_RESTATES) |
      QS_CAP(MULTIROW_INSERT_ORDERED) | QS_CAP(FETCH_FIRST) | QS_CAP(QUANTIFIED_SUBQUERY) |
      QS_CAP(WITHIN_GROUP_WINDOW) |
      QS_CAP(COMPUTED_VIRTUAL) | QS_CAP(SEQUENCES),
  };
  static const qs_paramstyle styles[NDIALECTS] = {QS_PARAM_QMARK, QS_PARAM_DOLLAR, QS_PARAM_QMARK, QS_PARAM_QMARK};
  static const qs_upsert_form upserts[NDIALECTS] = {QS_UPSERT_ON_CONFLICT, QS_UPSERT_ON_CONFLICT,
                                                    QS_UPSERT_ON_DUPLICATE_KEY, QS_UPSERT_ON_DUPLICATE_KEY};
  static const int max_params[NDIALECTS] = {32766, 65535, 65535, 65535};
  static const int insertmany[NDIALECTS] = {0, 1000, 1000, 1000};
  static const char quotes[NDIALECTS] = {'"', '"', '`', '`'};
  static const unsigned forms[NDIALECTS] = {
    QS_FORM_DEFAULT_EXPR_PARENS | QS_FORM_COMPOUND_SUBQUERY | QS_FORM_VALUES_NUMBERED | QS_FORM_TUPLE_IN_VALUES |
      QS_FORM_REFERENCES_UNQUALIFIED,
    QS_FORM_DOLLAR_QUOTES | QS_FORM_ESCAPE_STRINGS | QS_FORM_VALUES_COLUMN_LIST |
      QS_FORM_INDEX_EXPR_PARENS,
    QS_FORM_DROP_CONSTRAINT_BY_KIND | QS_FORM_DROP_INDEX_ON_TABLE | QS_FORM_INDEX_PREFIX_LENGTHS |
      QS_FORM_BACKSLASH_ESCAPES | QS_FORM_HASH_COMMENTS |
      QS_FORM_INDEX_EXPR_PARENS | QS_FORM_INDEX_FUNC_PARENS |
      QS_FORM_NEXT_VALUE_FOR,
    QS_FORM_DROP_CONSTRAINT_BY_KIND | QS_FORM_DROP_INDEX_ON_TABLE | QS_FORM_INDEX_PREFIX_LENGTHS |
      QS_FORM_BACKSLASH_ESCAPES | QS_FORM_HASH_COMMENTS |
      QS_FORM_INDEX_EXPR_PARENS | QS_FORM_INDEX_FUNC_PARENS |
      QS_FORM_NEXT_VALUE_FOR,
  };
  static const qs_dml_froms update_froms[NDIALECTS] = {QS_DML_FROMS_CLAUSE, QS_DML_FROMS_CLAUSE,
                                                       QS_DML_FROMS_MULTI_TABLE, QS_DML_FROMS_MULTI_TABLE};
  static const qs_dml_froms delete_froms[NDIALECTS] = {QS_DML_FROMS_NONE, QS_DML_FROMS_CLAUSE,
                                                       QS_DML_FROMS_MULTI_TABLE, QS_DML_FROMS_MULTI_TABLE};
  /* partial index option, now(), auto-increment clause, index USING option, empty insert */
  static const char *const strings[][NDIALECTS] = {
    {"sqlite_where", "postgresql_where", NULL, NULL},
    {"CURRENT_TIMESTAMP", NULL, NULL, NULL},
    {NULL, NULL, " AUTO_INCREMENT", " AUTO_INCREMENT"},
    {NULL, "postgresql_using", NULL, NULL},
    {" DEFAULT VALUES", " DEFAULT VALUES", " () VALUES ()", " () VALUES ()"},
    {"(SELECT 1 FROM (SELECT 1) WHERE 1!=1)", "(SELECT CAST(NULL AS %s) WHERE 1!=1)",
     "(SELECT 1 FROM (SELECT 1) AS _empty_set WHERE 1!=1)", "(SELECT 1 FROM (SELECT 1) AS _empty_set WHERE 1!=1)"},
  };
  EACH_DIALECT({
    const char *got[6];
    int k;
    got[0] = d->partial_index_option, got[1] = d->now_function, got[2] = d->autoinc_clause;
    got[3] = d->index_using_option, got[4] = d->empty_insert, got[5] = d->empty_in_set;
    if (d->caps != caps[col] || d->paramstyle != styles[col] || d->upsert != upserts[col] ||
        d->max_params != max_params[col] || d->insertmany_rows != insertmany[col] ||
        d->quote_open != quotes[col] || d->quote_close != quotes[col] || d->forms != forms[col] ||
        d->update_froms != update_froms[col] || d->delete_froms != delete_froms[col]) {
      fprintf(stderr, "  %s: a capability or value differs (caps %#llx)\n", d->name,
              (unsigned long long)d->caps);
      failed_ = 1;
    }
    for (k = 0; k < 6; k++) {
      const char *want = strings[k][col];
      if (want == NULL ? got[k] != NULL : got[k] == NULL || strcmp(got[k], want) != 0) {
        fprintf(stderr, "  %s: value %d is [%s], want [%s]\n", d->name, k, got[k] ? got[k] : "NULL",
                want ? want : "NULL");
        failed_ = 1;
      }
    }
    /* MySQL's table options, in the order they are written */
    if ((col >= 2) != (d->table_options != NULL) ||
        (d->table_options && (strcmp(d->table_options[0].option, "mysql_engine") != 0 ||
                              strcmp(d->table_options[1].sql, " DEFAULT CHARSET=") != 0 ||
                              strcmp(d->table_options[2].option, "mysql_collate") != 0 ||
                              d->table_options[3].option != NULL))) {
      fprintf(stderr, "  %s: table options differ\n", d->name);
      failed_ = 1;
    }
  });
  return 0;
}

TEST_IMPL(dialect_type_names) {
  static const struct { qs_type_desc t; int autoinc; const char *want[NDIALECTS]; } cases[] = {
    {{"INTEGER", -1, -1, -1, 0}, 0, {"INTEGER", "INTEGER", "INTEGER", "INTEGER"}},
    {{"INTEGER", -1, -1, -1, 0}, 1, {"INTEGER", "SERIAL", "INTEGER", "INTEGER"}},
    {{"BIGINT", -1, -1, -1, 0}, 1, {"INTEGER", "BIGSERIAL", "BIGINT", "BIGINT"}},
    {{"SMALLINT", -1, -1, -1, 0}, 1, {"INTEGER", "SMALLSERIAL", "SMALLINT", "SMALLINT"}},
    {{"SMALLINT", -1, -1, -1, 0}, 0, {"SMALLINT", "SMALLINT", "SMALLINT", "SMALLINT"}},
    {{"VARCHAR", 20, -1, -1, 0}, 0, {"VARCHAR(20)", "VARCHAR(20)", "VARCHAR(20)", "VARCHAR(20)"}},
    {{"VARCHAR", -1, -1, -1, 0}, 0, {"VARCHAR", "VARCHAR",
      "!VARCHAR requires a length on dialect mysql: declare String(n)",
      "!VARCHAR requires a length on dialect mariadb: declare String(n)"}},
    {{"ENUM", 5, -1, -1, 0}, 0, {"VARCHAR(5)", "VARCHAR(5)", "VARCHAR(5)", "VARCHAR(5)"}},
    {{"TEXT", -1, -1, -1, 0}, 0, {"TEXT", "TEXT", "TEXT", "TEXT"}},
    {{"BOOLEAN", -1, -1, -1, 0}, 0, {"BOOLEAN", "BOOLEAN", "BOOL", "BOOL"}},
    {{"FLOAT", -1, 10, -1, 0}, 0, {"FLOAT(10)", "FLOAT(10)", "FLOAT(10)", "FLOAT(10)"}},
    {{"NUMERIC", -1, 10, 2, 0}, 0, {"NUMERIC(10, 2)", "NUMERIC(10, 2)", "NUMERIC(10, 2)", "NUMERIC(10, 2)"}},
    {{"NUMERIC", -1, 10, -1, 0}, 0, {"NUMERIC(10)", "NUMERIC(10)", "NUMERIC(10)", "NUMERIC(10)"}},
    {{"DATE", -1, -1, -1, 0}, 0, {"DATE", "DATE", "DATE", "DATE"}},
    {{"DATETIME", -1, -1, -1, 1}, 0, {"DATETIME", "TIMESTAMP WITH TIME ZONE", "DATETIME", "DATETIME"}},
    {{"DATETIME", -1, -1, -1, 0}, 0, {"DATETIME", "TIMESTAMP WITHOUT TIME ZONE", "DATETIME", "DATETIME"}},
    {{"TIME", -1, -1, -1, 0}, 0, {"TIME", "TIME WITHOUT TIME ZONE", "TIME", "TIME"}},
    {{"INTERVAL", -1, -1, -1, 0}, 0, {"FLOAT", "INTERVAL", "DOUBLE", "DOUBLE"}},
    {{"JSON", -1, -1, -1, 0}, 0, {"JSON", "JSON", "JSON", "JSON"}},
    {{"BLOB", -1, -1, -1, 0}, 0, {"BLOB", "BYTEA", "LONGBLOB", "LONGBLOB"}},
    {{"BLOB", 255, -1, -1, 0}, 0, {"BLOB", "BYTEA", "TINYBLOB", "TINYBLOB"}},
    {{"BLOB", 256, -1, -1, 0}, 0, {"BLOB", "BYTEA", "BLOB", "BLOB"}},
    {{"BLOB", 65535, -1, -1, 0}, 0, {"BLOB", "BYTEA", "BLOB", "BLOB"}},
    {{"BLOB", 65536, -1, -1, 0}, 0, {"BLOB", "BYTEA", "MEDIUMBLOB", "MEDIUMBLOB"}},
    {{"BLOB", 16777215, -1, -1, 0}, 0, {"BLOB", "BYTEA", "MEDIUMBLOB", "MEDIUMBLOB"}},
    {{"BLOB", 16777216, -1, -1, 0}, 0, {"BLOB", "BYTEA", "LONGBLOB", "LONGBLOB"}},
    {{"UUID", -1, -1, -1, 0}, 0, {"CHAR(36)", "UUID", "CHAR(36)", "CHAR(36)"}},
    {{"GEOMETRY", -1, -1, -1, 0}, 0, {"!no DDL type for GEOMETRY on dialect sqlite",
      "!no DDL type for GEOMETRY on dialect postgresql", "!no DDL type for GEOMETRY on dialect mysql",
      "!no DDL type for GEOMETRY on dialect mariadb"}},
  };
  size_t k;
  for (k = 0; k < sizeof cases / sizeof cases[0]; k++)
    EACH_DIALECT({ EXPECT(cases[k].t.kind, d->xTypeName(d, &out, &cases[k].t, cases[k].autoinc, &err),
                          cases[k].want[col]); });
  return 0;
}

TEST_IMPL(dialect_casts) {
  static const struct { qs_type_desc t; const char *from; const char *want[NDIALECTS]; } cases[] = {
    {{"INTEGER", -1, -1, -1, 0}, "TEXT", {"CAST({element} AS {type})", "CAST({element} AS {type})",
      "CAST({element} AS SIGNED INTEGER)", "CAST({element} AS SIGNED INTEGER)"}},
    {{"VARCHAR", 5, -1, -1, 0}, NULL, {"CAST({element} AS {type})", "CAST({element} AS {type})",
      "CAST({element} AS CHAR(5))", "CAST({element} AS CHAR(5))"}},
    {{"TEXT", -1, -1, -1, 0}, NULL, {"CAST({element} AS {type})", "CAST({element} AS {type})",
      "CAST({element} AS CHAR)", "CAST({element} AS CHAR)"}},
    {{"NUMERIC", -1, 8, 3, 0}, NULL, {"CAST({element} AS {type})", "CAST({element} AS {type})",
      "CAST({element} AS DECIMAL(8, 3))", "CAST({element} AS DECIMAL(8, 3))"}},
    {{"NUMERIC", -1, 8, -1, 0}, NULL, {"CAST({element} AS {type})", "CAST({element} AS {type})",
      "CAST({element} AS DECIMAL(8))", "CAST({element} AS DECIMAL(8))"}},
    {{"NUMERIC", -1, -1, -1, 0}, NULL, {"CAST({element} AS {type})", "CAST({element} AS {type})",
      "CAST({element} AS DECIMAL)", "CAST({element} AS DECIMAL)"}},
    {{"FLOAT", -1, -1, -1, 0}, NULL, {"CAST({element} AS {type})", "CAST({element} AS {type})",
      "CAST({element} AS FLOAT)", "CAST({element} AS FLOAT)"}},
    {{"DATE", -1, -1, -1, 0}, "TEXT", {"date({element})", "CAST({element} AS {type})",
      "CAST({element} AS DATE)", "CAST({element} AS DATE)"}},
    {{"DATETIME", -1, -1, -1, 0}, NULL, {"datetime({element})", "CAST({element} AS {type})",
      "CAST({element} AS DATETIME)", "CAST({element} AS DATETIME)"}},
    {{"TIME", -1, -1, -1, 0}, NULL, {"time({element})", "CAST({element} AS {type})",
      "CAST({element} AS TIME)", "CAST({element} AS TIME)"}},
    {{"JSON", -1, -1, -1, 0}, NULL, {"CAST({element} AS TEXT)", "CAST({element} AS {type})",
      "CAST({element} AS JSON)", "{element tight}"}},
    {{"BOOLEAN", -1, -1, -1, 0}, NULL, {"CAST({element} AS {type})", "CAST({element} AS {type})",
      "{element tight}", "{element tight}"}},
    {{"ENUM", -1, -1, -1, 0}, NULL, {"CAST({element} AS {type})", "CAST({element} AS {type})",
      "{element tight}", "{element tight}"}},
    {{"BLOB", -1, -1, -1, 0}, NULL, {"CAST({element} AS {type})", "CAST({element} AS {type})",
      "CAST({element} AS BINARY)", "CAST({element} AS BINARY)"}},
    {{"UUID", -1, -1, -1, 0}, NULL, {"CAST({element} AS {type})", "CAST({element} AS {type})",
      "CAST({element} AS CHAR(36))", "CAST({element} AS CHAR(36))"}},
    {{"INTERVAL", -1, -1, -1, 0}, "INTEGER", {"CAST({element} AS {type})", "make_interval(secs => {element})",
      "CAST({element} AS DOUBLE)", "CAST({element} AS DOUBLE)"}},
    {{"FLOAT", -1, -1, -1, 0}, "INTERVAL", {"CAST({element} AS {type})",
      "CAST(EXTRACT(EPOCH FROM {element}) AS {type})", "CAST({element} AS FLOAT)", "CAST({element} AS FLOAT)"}},
    {{"GEOMETRY", -1, -1, -1, 0}, NULL, {"CAST({element} AS {type})", "CAST({element} AS {type})",
      "CAST({element} AS {type})", "CAST({element} AS {type})"}},
  };
  size_t k;
  for (k = 0; k < sizeof cases / sizeof cases[0]; k++)
    EACH_DIALECT({ EXPECT(cases[k].t.kind, d->xCast(d, &out, &cases[k].t, cases[k].from, &parts),
                          cases[k].want[col]); });
  return 0;
}

TEST_IMPL(dialect_literals) {
  static const char *const want[][NDIALECTS] = {
    {"'a\\''b'", "'a\\''b'", "'a\\\\''b'", "'a\\\\''b'"},
    {"X'00ff'", "'\\x00ff'::bytea", "X'00ff'", "X'00ff'"},
    {"1", "true", "true", "true"},
    {"-7", "-7", "-7", "-7"},
    {"NULL", "NULL", "NULL", "NULL"},
    {"0.5", "0.5", "0.5", "0.5"},
    {"!cannot render text with a NUL byte as a literal", "!cannot render text with a NUL byte as a literal",
     "!cannot render text with a NUL byte as a literal", "!cannot render text with a NUL byte as a literal"},
  };
  qs_value v[7];
  size_t k;
  memset(v, 0, sizeof v);
  v[0].type = QS_TTEXT, v[0].u.s.p = "a\\'b", v[0].u.s.n = 4;
  v[1].type = QS_TBLOB, v[1].u.s.p = "\0\xff", v[1].u.s.n = 2;
  v[2].type = QS_TBOOL, v[2].u.i = 1;
  v[3].type = QS_TINT, v[3].u.i = -7;
  v[4].type = QS_TNULL;
  v[5].type = QS_TFLOAT, v[5].u.f = 0.5;
  v[6].type = QS_TTEXT, v[6].u.s.p = "a\0b", v[6].u.s.n = 3;
  for (k = 0; k < 7; k++)
    EACH_DIALECT({ EXPECT("literal", d->xLiteral(d, &out, &v[k], &err), want[k][col]); });
  return 0;
}

TEST_IMPL(dialect_booleans) {
  static const char *const want[][NDIALECTS] = {{"1", "true", "true", "true"}, {"0", "false", "false", "false"}};
  int k;
  for (k = 0; k < 2; k++)
    EACH_DIALECT({ EXPECT("bool", qs_render_bool(d, &out, k == 0), want[k][col]); });
  return 0;
}

TEST_IMPL(dialect_operators) {
  static const char *const want[][NDIALECTS] = {
    {"lower({left}) LIKE lower({right})", "{left op} ILIKE {right op}", "lower({left}) LIKE lower({right})",
     "lower({left}) LIKE lower({right})"},
    {"lower({left}) NOT LIKE lower({right})", "{left op} NOT ILIKE {right op}",
     "lower({left}) NOT LIKE lower({right})", "lower({left}) NOT LIKE lower({right})"},
    {"{left op} || {right op}", "{left op} || {right op}", "concat({left}, {right})", "concat({left}, {right})"},
    {"{left tight} / CAST({right} AS REAL)", "{left tight} / CAST({right} AS NUMERIC)", "{left op} / {right op}",
     "{left op} / {right op}"},
    {"{left op} / {right op}", "{left op} / {right op}", "{left op} DIV {right op}", "{left op} DIV {right op}"},
  };
  static const qs_dialect_op ops[] = {QS_DOP_ILIKE, QS_DOP_NOT_ILIKE, QS_DOP_CONCAT, QS_DOP_TRUEDIV_INT,
                                      QS_DOP_FLOORDIV_INT};
  size_t k;
  for (k = 0; k < sizeof ops / sizeof ops[0]; k++)
    EACH_DIALECT({ EXPECT("operator", d->xOperator(d, &out, ops[k], &parts), want[k][col]); });
  return 0;
}

/* IS [NOT] DISTINCT FROM (issue 24): the standard form, SQLite's IS, MySQL's <=>. */
TEST_IMPL(dialect_distinct_from) {
  static const char *const want[][NDIALECTS] = {
    {"{left op} IS NOT {right op}", "{left op} IS DISTINCT FROM {right op}", "NOT ({left op} <=> {right op})",
     "NOT ({left op} <=> {right op})"},
    {"{left op} IS {right op}", "{left op} IS NOT DISTINCT FROM {right op}", "{left op} <=> {right op}",
     "{left op} <=> {right op}"},
  };
  static const qs_dialect_op ops[] = {QS_DOP_IS_DISTINCT_FROM, QS_DOP_IS_NOT_DISTINCT_FROM};
  size_t k;
  for (k = 0; k < sizeof ops / sizeof ops[0]; k++)
    EACH_DIALECT({ EXPECT("distinct from", d->xOperator(d, &out, ops[k], &parts), want[k][col]); });
  return 0;
}

/* regexp_match / regexp_replace per dialect (xRegexp, issue 24). */
TEST_IMPL(dialect_regexp) {
  static const struct { qs_regexp_desc r; const char *want[NDIALECTS]; } cases[] = {
    {{0, 0, NULL}, {"{left op} REGEXP {right op}", "{left op} ~ {right op}", "{left op} REGEXP {right op}",
      "{left op} REGEXP {right op}"}},
    {{1, 0, NULL}, {"{left op} NOT REGEXP {right op}", "{left op} !~ {right op}", "{left op} NOT REGEXP {right op}",
      "{left op} NOT REGEXP {right op}"}},
    {{0, 0, "i"}, {"regexp({right}, {left}, {flags})", "{left op} ~* {right op}", "REGEXP_LIKE({left}, {right}, {flags})",
      "{left op} REGEXP CONCAT('(?', {flags}, ')', {right})"}},
    {{1, 0, "i"}, {"NOT regexp({right}, {left}, {flags})", "{left op} !~* {right op}",
      "NOT REGEXP_LIKE({left}, {right}, {flags})", "{left op} NOT REGEXP CONCAT('(?', {flags}, ')', {right})"}},
    {{0, 0, "x"}, {"regexp({right}, {left}, {flags})", "{left op} ~ CONCAT('(?', {flags}, ')', {right})",
      "REGEXP_LIKE({left}, {right}, {flags})", "{left op} REGEXP CONCAT('(?', {flags}, ')', {right})"}},
    {{0, 1, NULL}, {"regexp_replace({left}, {right}, {replacement})", "REGEXP_REPLACE({left}, {right}, {replacement})",
      "REGEXP_REPLACE({left}, {right}, {replacement})", "REGEXP_REPLACE({left}, {right}, {replacement})"}},
    {{0, 1, "g"}, {"regexp_replace({left}, {right}, {replacement}, {flags})",
      "REGEXP_REPLACE({left}, {right}, {replacement}, {flags})",
      "REGEXP_REPLACE({left}, {right}, {replacement}, 1, 0, {flags})",
      "REGEXP_REPLACE({left}, CONCAT('(?', {flags}, ')', {right}), {replacement})"}},
  };
  size_t k;
  EACH_DIALECT({
    if (d->xRegexp == NULL) {
      fprintf(stderr, "  %s has no xRegexp\n", d->name);
      failed_ = 1;
    }
    (void)col;
  });
  for (k = 0; k < sizeof cases / sizeof cases[0]; k++)
    EACH_DIALECT({ EXPECT("regexp", d->xRegexp(d, &out, &cases[k].r, &parts, &err), cases[k].want[col]); });
  return 0;
}

TEST_IMPL(dialect_json_get) {
  static const struct { qs_json_desc j; const char *want[NDIALECTS]; } cases[] = {
    {{NULL, 0, 0}, {"JSON_QUOTE(JSON_EXTRACT({left}, {sqlite path}))", "{left tight} -> {key tight}::TEXT",
      "JSON_EXTRACT({left}, {path})", "JSON_EXTRACT({left}, {path})"}},
    {{NULL, 0, 1}, {"JSON_QUOTE(JSON_EXTRACT({left}, {sqlite path}))", "{left tight} -> {key tight}::INTEGER",
      "JSON_EXTRACT({left}, {path})", "JSON_EXTRACT({left}, {path})"}},
    {{NULL, 1, 0}, {"JSON_QUOTE(JSON_EXTRACT({left}, {sqlite path}))", "{left tight} #> {key tight}::TEXT[]",
      "JSON_EXTRACT({left}, {path})", "JSON_EXTRACT({left}, {path})"}},
    {{"string", 0, 0}, {"JSON_EXTRACT({left}, {sqlite path})", "{left tight} ->> {key tight}::TEXT",
      "JSON_UNQUOTE(JSON_EXTRACT({left}, {path}))", "JSON_UNQUOTE(JSON_EXTRACT({left}, {path}))"}},
    {{"integer", 1, 0}, {"CAST(JSON_EXTRACT({left}, {sqlite path}) AS INTEGER)",
      "CAST({left tight} #>> {key tight}::TEXT[] AS INTEGER)", "CAST(JSON_EXTRACT({left}, {path}) AS SIGNED)",
      "CAST(JSON_EXTRACT({left}, {path}) AS SIGNED)"}},
    {{"float", 0, 0}, {"CAST(JSON_EXTRACT({left}, {sqlite path}) AS REAL)", "CAST({left tight} ->> {key tight}::TEXT AS FLOAT)",
      "CAST(JSON_EXTRACT({left}, {path}) AS DOUBLE)", "CAST(JSON_EXTRACT({left}, {path}) AS DOUBLE)"}},
    {{"boolean", 0, 0}, {"JSON_EXTRACT({left}, {sqlite path})", "CAST({left tight} ->> {key tight}::TEXT AS BOOLEAN)",
      "JSON_EXTRACT({left}, {path})", "JSON_EXTRACT({left}, {path})"}},
  };
  size_t k;
  for (k = 0; k < sizeof cases / sizeof cases[0]; k++)
    EACH_DIALECT({ EXPECT("json", d->xJsonGet(d, &out, &cases[k].j, &parts), cases[k].want[col]); });
  return 0;
}

TEST_IMPL(dialect_limit_offset) {
  static const char *const want[][NDIALECTS] = {
    {" LIMIT {limit}", " LIMIT {limit}", " LIMIT {limit}", " LIMIT {limit}"},
    {" LIMIT -1 OFFSET {offset}", " OFFSET {offset}", " LIMIT {offset}, 18446744073709551615",
     " LIMIT {offset}, 18446744073709551615"},
    {" LIMIT {limit} OFFSET {offset}", " LIMIT {limit} OFFSET {offset}", " LIMIT {offset}, {limit}",
     " LIMIT {offset}, {limit}"},
  };
  static const int given[][2] = {{1, 0}, {0, 1}, {1, 1}};
  int k;
  for (k = 0; k < 3; k++)
    EACH_DIALECT({ EXPECT("limit", d->xLimit(d, &out, given[k][0], given[k][1], &parts), want[k][col]); });
  return 0;
}

TEST_IMPL(dialect_for_update) {
  static const struct { qs_lock_desc lock; const char *want[NDIALECTS]; } cases[] = {
    /* read, nowait, skip_locked, key_share, of */
    {{0, 0, 0, 0, 0}, {"", " FOR UPDATE", " FOR UPDATE", " FOR UPDATE"}},
    {{1, 0, 0, 0, 0}, {"", " FOR SHARE", " LOCK IN SHARE MODE", " LOCK IN SHARE MODE"}},
    {{0, 1, 1, 0, 1}, {"", " FOR UPDATE OF {of} NOWAIT SKIP LOCKED", " FOR UPDATE OF {of} NOWAIT SKIP LOCKED",
      "!with_for_update: MariaDB has no FOR UPDATE OF (of)"}},
    {{1, 0, 0, 0, 1}, {"", " FOR SHARE OF {of}", "!with_for_update: LOCK IN SHARE MODE takes no OF (of)",
      "!with_for_update: MariaDB has no FOR UPDATE OF (of)"}},
    {{0, 0, 0, 1, 0}, {"", " FOR NO KEY UPDATE",
      "!with_for_update: key_share is PostgreSQL's (FOR NO KEY UPDATE / FOR KEY SHARE)",
      "!with_for_update: key_share is PostgreSQL's (FOR NO KEY UPDATE / FOR KEY SHARE)"}},
    {{1, 0, 0, 1, 1}, {"", " FOR KEY SHARE OF {of}",
      "!with_for_update: key_share is PostgreSQL's (FOR NO KEY UPDATE / FOR KEY SHARE)",
      "!with_for_update: key_share is PostgreSQL's (FOR NO KEY UPDATE / FOR KEY SHARE)"}},
  };
  size_t k;
  for (k = 0; k < sizeof cases / sizeof cases[0]; k++)
    EACH_DIALECT({
      /* no hook: the database locks otherwise and nothing is written */
      int rc = d->xForUpdate ? d->xForUpdate(d, &out, &cases[k].lock, &parts, &err) : QS_OK;
      EXPECT("for update", rc, cases[k].want[col]);
    });
  return 0;
}

TEST_IMPL(dialect_bind_casts) {
  static const struct { qs_type_desc t; int all; const char *pg; } cases[] = {
    {{"INTEGER", -1, -1, -1, 0}, 0, "::INTEGER"},
    {{"NUMERIC", -1, 5, 2, 0}, 0, "::NUMERIC"},
    {{"DATETIME", -1, -1, -1, 1}, 0, "::TIMESTAMP WITH TIME ZONE"},
    {{"DATETIME", -1, -1, -1, 0}, 0, "::TIMESTAMP WITHOUT TIME ZONE"},
    {{"TIME", -1, -1, -1, 0}, 0, "::TIME WITHOUT TIME ZONE"},
    {{"BLOB", -1, -1, -1, 0}, 0, "::BYTEA"},
    {{"VARCHAR", 5, -1, -1, 0}, 0, ""},
    {{"VARCHAR", 5, -1, -1, 0}, 1, "::VARCHAR"},
    {{"ENUM", 5, -1, -1, 0}, 1, "::VARCHAR"},
    {{"TEXT", -1, -1, -1, 0}, 1, "::TEXT"},
    {{"JSON", -1, -1, -1, 0}, 0, ""},
    {{"JSON", -1, -1, -1, 0}, 1, "::JSON"},
  };
  size_t k;
  for (k = 0; k < sizeof cases / sizeof cases[0]; k++)
    EACH_DIALECT({
      /* documented: no xBindCast means the server infers every parameter */
      const char *want = d->paramstyle == QS_PARAM_DOLLAR ? cases[k].pg : "";
      int rc = d->xBindCast ? d->xBindCast(d, &out, &cases[k].t, cases[k].all) : QS_OK;
      if ((d->xBindCast != NULL) != (col == 1)) failed_ = 1;
      EXPECT("bind cast", rc, want);
    });
  return 0;
}

TEST_IMPL(dialect_deferrable) {
  static const char *const want[][NDIALECTS] = {
    {"", "", "!MySQL/MariaDB constraints cannot be deferred (deferrable, initially)",
     "!MySQL/MariaDB constraints cannot be deferred (deferrable, initially)"},
    {"!SQLite defers only foreign keys (deferrable, initially)", "",
     "!MySQL/MariaDB constraints cannot be deferred (deferrable, initially)",
     "!MySQL/MariaDB constraints cannot be deferred (deferrable, initially)"},
  };
  int k;
  for (k = 0; k < 2; k++)
    EACH_DIALECT({
      /* documented: no xDeferrable means every constraint can be deferred */
      int rc = d->xDeferrable ? d->xDeferrable(d, k == 0, &err) : QS_OK;
      EXPECT("deferrable", rc, want[k][col]);
    });
  return 0;
}

TEST_IMPL(dialect_placeholders_and_quotes) {
  static const char *const want[NDIALECTS] = {"? \"a\"\"b\"", "$3 \"a\"\"b\"", "? `a\"b`", "? `a\"b`"};
  EACH_DIALECT({
    qs_dialect_placeholder(d, &out, 3);
    qs_buf_putc(&out, ' ');
    qs_dialect_quote(d, &out, "a\"b", 3);
    EXPECT("placeholder and quote", QS_OK, want[col]);
    if (qs_dialect_numbered(d) != (col == 1)) failed_ = 1;
  });
  return 0;
}
