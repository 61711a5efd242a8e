/*
** test_expand.c: what expanding IN needs from the Lua-free core: the text
** scanner telling a bind after IN apart (qs_compile_text_in), and each
** dialect's empty set of rows (xEmptyTupleSet).
*/
#include "test.h"

#include <string.h>

typedef struct after_in_seen {
  char flags[16];
  int n;
} after_in_seen;

static int note(void *ud, const char *name, size_t n, int after_in) {
  after_in_seen *s = (after_in_seen *)ud;
  (void)name, (void)n;
  s->flags[s->n] = after_in ? 'I' : '-';
  return ++s->n;
}

TEST_IMPL(text_after_in) {
  static const struct { const char *sql; const char *want; } cases[] = {
    {"SELECT 1 WHERE a IN :x AND b = :y", "I-"},
    {"where a in\n  /* c */ -- d\n :x", "I"},
    {"a NOT IN :x OR b IN(:y) OR c IN (:z)", "I--"},
    {"JOIN :a MIN :b IN:c INTO :d", "--I-"},
    {"x = 'IN :a' AND \"IN\" :b AND y IN :c", "-I"},
    {"IN :a::int IN :b", "II"},
  };
  size_t k;
  for (k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    after_in_seen s;
    qs_buf b;
    qs_error err;
    memset(&s, 0, sizeof s);
    memset(&err, 0, sizeof err);
    qs_buf_init(&b);
    ASSERT_EQ(qs_compile_text_in(qs_dialect_find("postgresql"), cases[k].sql, strlen(cases[k].sql), &b, note, &s,
                                 &err), QS_OK);
    ASSERT_STR_EQ(s.flags, cases[k].want);
    qs_buf_free(&b);
  }
  return 0;
}

TEST_IMPL(dialect_empty_tuple_set) {
  static const char *const names[] = {"sqlite", "postgresql", "mysql", "mariadb"};
  static const char *const want[] = {
    "(SELECT 1, 1 FROM (SELECT 1, 1) WHERE 1!=1)",
    "(SELECT CAST(NULL AS INTEGER), CAST(NULL AS VARCHAR(20)) WHERE 1!=1)",
    "(SELECT _in_0, _in_1 FROM (SELECT 1 AS _in_0, 1 AS _in_1) AS _empty_set WHERE 1!=1)",
    "(SELECT _in_0, _in_1 FROM (SELECT 1 AS _in_0, 1 AS _in_1) AS _empty_set WHERE 1!=1)",
  };
  qs_type_desc types[2] = {{NULL, -1, -1, -1, 0}, {"VARCHAR", 20, -1, -1, 0}};
  int i;
  for (i = 0; i < 4; i++) {
    const qs_dialect *d = qs_dialect_find(names[i]);
    qs_buf b;
    qs_error err;
    memset(&err, 0, sizeof err);
    qs_buf_init(&b);
    ASSERT(d->xEmptyTupleSet != NULL);
    ASSERT_EQ(d->xEmptyTupleSet(d, &b, 2, types, &err), QS_OK);
    ASSERT_STR_EQ(b.p, want[i]);
    qs_buf_free(&b);
  }
  return 0;
}
