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
