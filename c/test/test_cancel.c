/* test_cancel.c: statement timeouts and cancel from another thread, on
** SQLite (the server drivers have theirs in c/test/server/cancel_server.c). */
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "quicksilver.h"
#include "test.h"

/* Counts forever; only a timeout or a cancel ends it. */
static const char *const ENDLESS =
    "WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r) SELECT count(*) FROM r";

static qs_conn *open_memory(void) {
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

static int run(qs_conn *c, const char *sql) {
  qs_stmt *s;
  int rc = qs_conn_prepare(c, sql, strlen(sql), &s);
  if (rc != QS_OK) return rc;
  rc = qs_stmt_step(s);
  qs_stmt_release(s);
  return rc;
}

TEST_IMPL(sqlite_statement_timeout) {
  qs_conn *c = open_memory();
  double t0, took;
  ASSERT(c != NULL);
  ASSERT_EQ(qs_conn_set_timeout(c, -1), QS_ARGUMENT);
  ASSERT_EQ(qs_conn_set_timeout(c, 100), QS_OK);
  ASSERT_EQ(qs_conn_timeout(c), 100);
  t0 = qs_clock();
  ASSERT_EQ(run(c, ENDLESS), QS_OPERATIONAL);
  took = qs_clock() - t0;
  ASSERT(took >= 0.09 && took < 2.0);
  ASSERT(strstr(qs_conn_error(c)->message, "statement timeout (100 ms)") != NULL);
  /* the connection goes on, and statements within the limit run */
  ASSERT_EQ(run(c, "SELECT 1"), QS_ROW);
  ASSERT_EQ(qs_conn_set_timeout(c, 0), QS_OK);
  ASSERT_EQ(run(c, "WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r "
                   "WHERE i < 100000) SELECT count(*) FROM r"), QS_ROW);
  qs_conn_free(c);
  return 0;
}

typedef struct canceller {
  qs_conn *c;
  int rc;
} canceller;

static void *cancel_soon(void *arg) {
  canceller *k = arg;
  qs_error err;
  struct timespec pause = {0, 150 * 1000 * 1000};
  memset(&err, 0, sizeof err);
  nanosleep(&pause, NULL);
  k->rc = qs_conn_cancel(k->c, &err);
  qs_error_clear(&err);
  return NULL;
}

TEST_IMPL(sqlite_cancel_from_thread) {
  qs_conn *c = open_memory();
  canceller k;
  pthread_t th;
  double t0, took;
  ASSERT(c != NULL);
  k.c = c;
  k.rc = -100;
  t0 = qs_clock();
  ASSERT_EQ(pthread_create(&th, NULL, cancel_soon, &k), 0);
  ASSERT_EQ(run(c, ENDLESS), QS_OPERATIONAL);
  took = qs_clock() - t0;
  pthread_join(th, NULL);
  ASSERT_EQ(k.rc, QS_OK);
  ASSERT(took < 5.0);
  ASSERT(strstr(qs_conn_error(c)->message, "interrupt") != NULL);
  ASSERT_EQ(run(c, "SELECT 1"), QS_ROW);
  qs_conn_free(c);
  return 0;
}
