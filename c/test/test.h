/*
** test.h: what every C test program shares, written once: a minimal harness
** in libuv's TEST_IMPL/ASSERT style (each test is a function returning 0;
** ASSERT prints the failing expression and returns 1), the runner that
** prints one "ok  c/name" or "FAIL c/name" line per test, TEST_CHECK for
** programs that check many things in one main (the server tests), the
** "N passed, N failed" line spec/support/run_tests.sh reads, and the
** connection helpers the tests use (c/test/test_*.c, alloc/, server/).
*/
#ifndef QS_TEST_H
#define QS_TEST_H

#include <stdio.h>
#include <string.h>

#include "quicksilver.h"

#define TEST_IMPL(name) int test_##name(void); int test_##name(void)

#define ASSERT(expr)                                                         \
  do {                                                                       \
    if (!(expr)) {                                                           \
      fprintf(stderr, "  assertion failed: %s (%s:%d)\n", #expr, __FILE__,   \
              __LINE__);                                                     \
      return 1;                                                              \
    }                                                                        \
  } while (0)

#define ASSERT_EQ(a, b) ASSERT((a) == (b))
#define ASSERT_STR_EQ(a, b) ASSERT(strcmp((a), (b)) == 0)

/* Passed and failed checks or tests, for the summary line. */
typedef struct test_tally {
  int passed, failed;
} test_tally;

/* Counts one check in *tally and prints its line; never returns early, so
** a program goes on to its next check (and frees what it holds). */
#define TEST_CHECK(tally, name, expr)                                        \
  do {                                                                       \
    if (expr) {                                                              \
      (tally)->passed++;                                                     \
      printf("ok   %s\n", name);                                             \
    } else {                                                                 \
      (tally)->failed++;                                                     \
      printf("FAIL %s (%s:%d): %s\n", name, __FILE__, __LINE__, #expr);     \
    }                                                                        \
  } while (0)

/* One test of a list: its name and its function (0: passed). */
typedef struct test_entry {
  const char *name;
  int (*fn)(void);
} test_entry;

/* Runs the n tests whose names contain filter (NULL: all), one line each,
** counted in *tally. */
static inline void test_run_list(const test_entry *tests, size_t n, const char *filter,
                                 test_tally *tally) {
  size_t i;
  for (i = 0; i < n; i++) {
    int rc;
    if (filter && strstr(tests[i].name, filter) == NULL) continue;
    rc = tests[i].fn();
    printf("%s c/%s\n", rc == 0 ? "ok  " : "FAIL", tests[i].name);
    if (rc == 0) tally->passed++; else tally->failed++;
  }
}

/* Prints "N passed, N failed" and returns the program's exit status. */
static inline int test_summary(const test_tally *tally) {
  printf("%d passed, %d failed\n", tally->passed, tally->failed);
  return tally->failed == 0 ? 0 : 1;
}

/* A connection to a new SQLite memory database, or NULL. */
static inline qs_conn *test_open_memory(void) {
  const char *keys[] = {"database"};
  const char *vals[] = {":memory:"};
  qs_conn *c = NULL;
  qs_error err;
  memset(&err, 0, sizeof err);
  if (qs_conn_open(&qs_sqlite3_driver, 1, keys, vals, &c, &err) != QS_OK) {
    qs_error_clear(&err);
    return NULL;
  }
  return c;
}

/* Prepares sql on c and steps it once: QS_ROW, QS_DONE or the error. */
static inline int test_run_sql(qs_conn *c, const char *sql) {
  qs_stmt *s;
  int rc = qs_conn_prepare(c, sql, strlen(sql), &s);
  if (rc != QS_OK) return rc;
  rc = qs_stmt_step(s);
  qs_stmt_release(s);
  return rc;
}

#endif
