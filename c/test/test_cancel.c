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

/* A backstop against a hang: if the statement under test has not ended
** after BACKSTOP_S seconds, the watchdog cancels it and says so (the test
** then fails on that, instead of hanging). Not a timing assertion: a
** working build never comes near it. */
#define BACKSTOP_S 60

typedef struct watchdog {
  qs_conn *c;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int stop;
  int fired;
  pthread_t th;
} watchdog;

static void *watch(void *arg) {
  watchdog *w = arg;
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += BACKSTOP_S;
  pthread_mutex_lock(&w->mu);
  while (!w->stop) {
    if (pthread_cond_timedwait(&w->cv, &w->mu, &until) != 0 && !w->stop) {
      qs_error err;
      memset(&err, 0, sizeof err);
      w->fired = 1;
      qs_conn_cancel(w->c, &err);
      qs_error_clear(&err);
      break;
    }
  }
  pthread_mutex_unlock(&w->mu);
  return NULL;
}

static int watchdog_start(watchdog *w, qs_conn *c) {
  memset(w, 0, sizeof *w);
  w->c = c;
  pthread_mutex_init(&w->mu, NULL);
  pthread_cond_init(&w->cv, NULL);
  return pthread_create(&w->th, NULL, watch, w);
}

/* Stops the watchdog; returns whether it had to fire. */
static int watchdog_stop(watchdog *w) {
  int fired;
  pthread_mutex_lock(&w->mu);
  w->stop = 1;
  pthread_cond_signal(&w->cv);
  pthread_mutex_unlock(&w->mu);
  pthread_join(w->th, NULL);
  fired = w->fired;
  pthread_mutex_destroy(&w->mu);
  pthread_cond_destroy(&w->cv);
  return fired;
}

TEST_IMPL(sqlite_statement_timeout) {
  qs_conn *c = test_open_memory();
  watchdog w;
  double t0, took;
  int rc;
  ASSERT(c != NULL);
  ASSERT_EQ(qs_conn_set_timeout(c, -1), QS_ARGUMENT);
  ASSERT_EQ(qs_conn_set_timeout(c, 100), QS_OK);
  ASSERT_EQ(qs_conn_timeout(c), 100);
  ASSERT_EQ(watchdog_start(&w, c), 0);
  t0 = qs_clock();
  rc = test_run_sql(c, ENDLESS);
  took = qs_clock() - t0;
  ASSERT(!watchdog_stop(&w));   /* the timeout ended it, not the backstop */
  ASSERT_EQ(rc, QS_OPERATIONAL);
  ASSERT(took >= 0.09);         /* not before its limit (the clock is monotonic) */
  ASSERT(strstr(qs_conn_error(c)->message, "statement timeout (100 ms)") != NULL);
  /* the connection goes on, and statements within the limit run */
  ASSERT_EQ(test_run_sql(c, "SELECT 1"), QS_ROW);
  ASSERT_EQ(qs_conn_set_timeout(c, 0), QS_OK);
  ASSERT_EQ(test_run_sql(c, "WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r "
                   "WHERE i < 100000) SELECT count(*) FROM r"), QS_ROW);
  qs_conn_free(c);
  return 0;
}

/* The canceller asks again and again until the statement has ended: a
** cancel that lands before the statement starts is lost (SQLite clears the
** interrupt when a statement starts on an idle connection), so one call at
** a guessed moment could leave the statement running forever. */
typedef struct canceller {
  qs_conn *c;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int done;        /* the statement has returned */
  int rc;          /* the last cancel's result */
  int calls;
} canceller;

static void *cancel_until_done(void *arg) {
  canceller *k = arg;
  pthread_mutex_lock(&k->mu);
  while (!k->done) {
    struct timespec until;
    qs_error err;
    memset(&err, 0, sizeof err);
    pthread_mutex_unlock(&k->mu);
    k->rc = qs_conn_cancel(k->c, &err);
    qs_error_clear(&err);
    pthread_mutex_lock(&k->mu);
    k->calls++;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += 20 * 1000 * 1000;
    if (until.tv_nsec >= 1000000000L) {
      until.tv_sec++;
      until.tv_nsec -= 1000000000L;
    }
    if (!k->done) pthread_cond_timedwait(&k->cv, &k->mu, &until);
  }
  pthread_mutex_unlock(&k->mu);
  return NULL;
}

TEST_IMPL(sqlite_cancel_from_thread) {
  qs_conn *c = test_open_memory();
  canceller k;
  watchdog w;
  pthread_t th;
  int rc, calls;
  ASSERT(c != NULL);
  memset(&k, 0, sizeof k);
  k.c = c;
  k.rc = -100;
  pthread_mutex_init(&k.mu, NULL);
  pthread_cond_init(&k.cv, NULL);
  ASSERT_EQ(watchdog_start(&w, c), 0);
  ASSERT_EQ(pthread_create(&th, NULL, cancel_until_done, &k), 0);
  rc = test_run_sql(c, ENDLESS);
  pthread_mutex_lock(&k.mu);
  k.done = 1;
  pthread_cond_signal(&k.cv);
  pthread_mutex_unlock(&k.mu);
  pthread_join(th, NULL);   /* no cancel can reach the statements below */
  calls = k.calls;
  ASSERT(!watchdog_stop(&w));   /* the cancel ended it, not the backstop */
  pthread_mutex_destroy(&k.mu);
  pthread_cond_destroy(&k.cv);
  ASSERT_EQ(rc, QS_OPERATIONAL);
  ASSERT_EQ(k.rc, QS_OK);
  ASSERT(calls >= 1);
  ASSERT(strstr(qs_conn_error(c)->message, "interrupt") != NULL);
  ASSERT(strstr(qs_conn_error(c)->message, "statement timeout") == NULL);
  ASSERT_EQ(test_run_sql(c, "SELECT 1"), QS_ROW);
  qs_conn_free(c);
  return 0;
}
