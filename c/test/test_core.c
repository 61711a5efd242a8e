/* test_core.c: buffers, result codes, dialects and the text compiler. */
#include <stdlib.h>
#include <string.h>

#include "quicksilver.h"
#include "test.h"

TEST_IMPL(buf_grows) {
  qs_buf b;
  int i;
  qs_buf_init(&b);
  for (i = 0; i < 1000; i++) ASSERT_EQ(qs_buf_puts(&b, "abc"), QS_OK);
  ASSERT_EQ(b.len, 3000u);
  ASSERT_EQ(b.p[b.len], '\0');
  qs_buf_reset(&b);
  ASSERT_EQ(b.len, 0u);
  qs_buf_free(&b);
  return 0;
}

TEST_IMPL(buf_printf) {
  qs_buf b;
  qs_buf_init(&b);
  ASSERT_EQ(qs_buf_printf(&b, "$%d-%s", 12, "x"), QS_OK);
  ASSERT_STR_EQ(b.p, "$12-x");
  qs_buf_free(&b);
  return 0;
}

TEST_IMPL(error_codes) {
  qs_error err;
  memset(&err, 0, sizeof err);
  ASSERT_STR_EQ(qs_code_name(QS_INTEGRITY), "INTEGRITY");
  ASSERT_STR_EQ(qs_code_class(QS_INTEGRITY), "IntegrityError");
  ASSERT_STR_EQ(qs_code_class(QS_CLOSED), "ResourceClosedError");
  ASSERT(qs_code_class(QS_OK) == NULL);
  ASSERT_STR_EQ(qs_code_class(-999), "InternalError");
  ASSERT_EQ(qs_error_set(&err, QS_DATA, "bad %s", "value"), QS_DATA);
  ASSERT_STR_EQ(err.message, "bad value");
  qs_error_clear(&err);
  ASSERT(err.message == NULL);
  return 0;
}

/* The failures the server ended by rolling the transaction back over a
** conflict, by SQLSTATE whichever driver reported them: their own class,
** their family still OPERATIONAL; a lost connection or a lock wait timeout
** is not one of them. */
TEST_IMPL(error_retryable) {
  qs_error err;
  memset(&err, 0, sizeof err);
  ASSERT_EQ(qs_mysql_error_set(&err, 1213, "40001", "Deadlock found"), QS_OPERATIONAL);
  ASSERT(qs_error_retryable(&err));
  ASSERT_STR_EQ(qs_error_class(&err), QS_RETRY_CLASS);
  ASSERT_EQ(qs_mysql_error_set(&err, 1205, "HY000", "Lock wait timeout exceeded"), QS_OPERATIONAL);
  ASSERT(!qs_error_retryable(&err));
  ASSERT_STR_EQ(qs_error_class(&err), "OperationalError");
  ASSERT_EQ(qs_mysql_error_set(&err, 2013, "40001", "Lost connection"), QS_OPERATIONAL);
  ASSERT(err.invalidated && !qs_error_retryable(&err));
  qs_error_clear(&err);
  memcpy(err.sqlstate, "40P01", 6);
  err.code = qs_sqlstate_family(err.sqlstate, 5);
  ASSERT(qs_error_retryable(&err));
  memcpy(err.sqlstate, "40003", 6);   /* statement_completion_unknown: never rerun */
  ASSERT(!qs_error_retryable(&err));
  memcpy(err.sqlstate, "23505", 6);
  err.code = qs_sqlstate_family(err.sqlstate, 5);
  ASSERT_STR_EQ(qs_error_class(&err), "IntegrityError");
  qs_error_clear(&err);
  return 0;
}

TEST_IMPL(dialect_quote) {
  qs_buf b;
  qs_buf_init(&b);
  qs_dialect_quote(qs_dialect_find("sqlite"), &b, "we\"ird", 6);
  ASSERT_STR_EQ(b.p, "\"we\"\"ird\"");
  qs_buf_reset(&b);
  qs_dialect_quote(qs_dialect_find("mysql"), &b, "a`b", 3);
  ASSERT_STR_EQ(b.p, "`a``b`");
  qs_buf_free(&b);
  return 0;
}

TEST_IMPL(dialect_find) {
  ASSERT(qs_dialect_find("postgresql")->paramstyle == QS_PARAM_DOLLAR);
  ASSERT(qs_dialect_find("oracle") == NULL);
  return 0;
}

typedef struct names { char seen[8][16]; int n; int reuse; } names;

static int record(void *ud, const char *name, size_t n) {
  names *ns = (names *)ud;
  int i;
  if (ns->reuse)
    for (i = 0; i < ns->n; i++)
      if (strlen(ns->seen[i]) == n && memcmp(ns->seen[i], name, n) == 0) return i + 1;
  memcpy(ns->seen[ns->n], name, n);
  ns->seen[ns->n][n] = '\0';
  return ++ns->n;
}

static int compile(const char *dialect, const char *sql, names *ns, qs_buf *out) {
  qs_error err;
  memset(&err, 0, sizeof err);
  return qs_compile_text(qs_dialect_find(dialect), sql, strlen(sql), out, record, ns, &err);
}

TEST_IMPL(text_qmark) {
  names ns = {{{0}}, 0, 0};
  qs_buf b;
  qs_buf_init(&b);
  ASSERT_EQ(compile("sqlite", "SELECT * FROM t WHERE a = :a AND b = :b_2 OR c = :a", &ns, &b), QS_OK);
  ASSERT_STR_EQ(b.p, "SELECT * FROM t WHERE a = ? AND b = ? OR c = ?");
  ASSERT_EQ(ns.n, 3);
  ASSERT_STR_EQ(ns.seen[1], "b_2");
  qs_buf_free(&b);
  return 0;
}

TEST_IMPL(text_dollar_reuse) {
  names ns = {{{0}}, 0, 1};
  qs_buf b;
  qs_buf_init(&b);
  ASSERT_EQ(compile("postgresql", "SELECT :x::int, :y, :x", &ns, &b), QS_OK);
  ASSERT_STR_EQ(b.p, "SELECT $1::int, $2, $1");
  ASSERT_EQ(ns.n, 2);
  qs_buf_free(&b);
  return 0;
}

TEST_IMPL(text_skips_quoted) {
  names ns = {{{0}}, 0, 0};
  qs_buf b;
  qs_buf_init(&b);
  ASSERT_EQ(compile("sqlite", "SELECT ':a', \":b\", 'it''s :c' /* :d */ -- :e\n, \\:f, :g", &ns, &b), QS_OK);
  ASSERT_STR_EQ(b.p, "SELECT ':a', \":b\", 'it''s :c' /* :d */ -- :e\n, :f, ?");
  ASSERT_EQ(ns.n, 1);
  ASSERT_STR_EQ(ns.seen[0], "g");
  qs_buf_free(&b);
  return 0;
}

/* The audited literal renderer, per type and dialect, against quote and
** backslash tricks. */
static int lit(const char *dialect, const qs_value *v, const char *expect) {
  qs_buf b;
  qs_error err;
  int ok;
  qs_buf_init(&b);
  memset(&err, 0, sizeof err);
  ok = qs_render_literal(qs_dialect_find(dialect), &b, v, &err) == QS_OK && strcmp(b.p, expect) == 0;
  if (!ok) fprintf(stderr, "  %s: got [%s] want [%s]\n", dialect, b.p ? b.p : "(null)", expect);
  qs_buf_free(&b);
  qs_error_clear(&err);
  return ok;
}

static qs_value text(const char *s) {
  qs_value v;
  v.type = QS_TTEXT;
  v.u.s.p = s;
  v.u.s.n = strlen(s);
  return v;
}

TEST_IMPL(literal_strings) {
  qs_value v = text("it's");
  ASSERT(lit("sqlite", &v, "'it''s'"));
  ASSERT(lit("postgresql", &v, "'it''s'"));
  v = text("a\\'; DROP TABLE t; --");
  ASSERT(lit("sqlite", &v, "'a\\''; DROP TABLE t; --'"));
  ASSERT(lit("postgresql", &v, "'a\\''; DROP TABLE t; --'"));
  ASSERT(lit("mysql", &v, "'a\\\\''; DROP TABLE t; --'"));
  v = text("");
  ASSERT(lit("mysql", &v, "''"));
  v = text("\xe2\x98\x83");
  ASSERT(lit("sqlite", &v, "'\xe2\x98\x83'"));
  return 0;
}

TEST_IMPL(literal_refuses_nul_and_nonfinite) {
  qs_value v;
  qs_buf b;
  qs_error err;
  qs_buf_init(&b);
  memset(&err, 0, sizeof err);
  v.type = QS_TTEXT;
  v.u.s.p = "a\0b";
  v.u.s.n = 3;
  ASSERT_EQ(qs_render_literal(qs_dialect_find("sqlite"), &b, &v, &err), QS_COMPILE);
  qs_error_clear(&err);
  v.type = QS_TFLOAT;
  v.u.f = 1.0 / 0.0;
  ASSERT_EQ(qs_render_literal(qs_dialect_find("sqlite"), &b, &v, &err), QS_COMPILE);
  qs_error_clear(&err);
  qs_buf_free(&b);
  return 0;
}

TEST_IMPL(literal_numbers_blobs_null) {
  qs_value v;
  v.type = QS_TINT;
  v.u.i = INT64_MIN;
  ASSERT(lit("sqlite", &v, "-9223372036854775808"));
  v.type = QS_TFLOAT;
  v.u.f = 0.1;
  ASSERT(lit("postgresql", &v, "0.10000000000000001"));
  v.type = QS_TNULL;
  ASSERT(lit("mysql", &v, "NULL"));
  v.type = QS_TBLOB;
  v.u.s.p = "\0\xff'";
  v.u.s.n = 3;
  ASSERT(lit("sqlite", &v, "X'00ff27'"));
  ASSERT(lit("mysql", &v, "X'00ff27'"));
  ASSERT(lit("postgresql", &v, "'\\x00ff27'::bytea"));
  return 0;
}

TEST_IMPL(ident_quoting) {
  qs_buf b;
  const qs_dialect *d = qs_dialect_find("sqlite");
  qs_buf_init(&b);
  qs_dialect_ident(d, &b, "users", 5);
  ASSERT_STR_EQ(b.p, "users");
  qs_buf_reset(&b);
  qs_dialect_ident(d, &b, "order", 5);
  ASSERT_STR_EQ(b.p, "\"order\"");
  qs_buf_reset(&b);
  qs_dialect_ident(d, &b, "Users", 5);
  ASSERT_STR_EQ(b.p, "\"Users\"");
  qs_buf_reset(&b);
  qs_dialect_ident(d, &b, "a\"; DROP", 8);
  ASSERT_STR_EQ(b.p, "\"a\"\"; DROP\"");
  qs_buf_reset(&b);
  qs_dialect_ident(qs_dialect_find("mysql"), &b, "x`y", 3);
  ASSERT_STR_EQ(b.p, "`x``y`");
  ASSERT(qs_is_reserved("SELECT", 6));
  ASSERT(!qs_is_reserved("name", 4));
  qs_buf_free(&b);
  return 0;
}

TEST_IMPL(type_names) {
  qs_buf b;
  qs_error err;
  qs_buf_init(&b);
  memset(&err, 0, sizeof err);
  ASSERT_EQ(qs_render_type(qs_dialect_find("postgresql"), &b, "INTEGER", -1, -1, -1, 0, 1, &err), QS_OK);
  ASSERT_STR_EQ(b.p, "SERIAL");
  qs_buf_reset(&b);
  ASSERT_EQ(qs_render_type(qs_dialect_find("mysql"), &b, "VARCHAR", -1, -1, -1, 0, 0, &err), QS_ARGUMENT);
  qs_error_clear(&err);
  qs_buf_reset(&b);
  ASSERT_EQ(qs_render_type(qs_dialect_find("sqlite"), &b, "NOPE", -1, -1, -1, 0, 0, &err), QS_COMPILE);
  qs_error_clear(&err);
  qs_buf_free(&b);
  return 0;
}
