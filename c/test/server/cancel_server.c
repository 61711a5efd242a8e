/*
** cancel_server.c: statement timeouts and cancels against a real
** PostgreSQL or MariaDB/MySQL server (SQLite's are in c/test/test_cancel.c).
** A long statement is stopped by the connection's timeout, and by
** qs_conn_cancel from another thread; each time the statement fails with
** QS_OPERATIONAL well before it would have ended, and the same connection
** then runs the next statement. On PostgreSQL a timeout inside a transaction
** leaves it aborted until the rollback, which brings the connection back.
** Usage: cancel_server postgresql|mysql|mywire HOST PORT USER PASSWORD DBNAME
** (mywire: the MySQL wire driver, c/driver/wire_my.c);
** prints "N passed, N failed".
*/
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "quicksilver.h"
#include "../test.h"

static test_tally tally;

#define CHECK(name, expr) TEST_CHECK(&tally, name, expr)

static const char *message(qs_conn *c) {
  const char *m = qs_conn_error(c)->message;
  return m ? m : "";
}

/* The canceller asks until the statement has ended: a cancel that reaches
** the server before the statement runs does nothing, so one request at a
** guessed moment could miss it. Requests are spaced widely, and the main
** thread joins this one before its next statement, so no request reaches
** anything else. */
typedef struct canceller {
  qs_conn *c;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int done;
  int rc;
  int calls;
  char why[200];
} canceller;

static void *cancel_until_done(void *arg) {
  canceller *k = arg;
  pthread_mutex_lock(&k->mu);
  while (!k->done) {
    struct timespec until;
    qs_error err;
    memset(&err, 0, sizeof err);
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += 300 * 1000 * 1000;
    if (until.tv_nsec >= 1000000000L) {
      until.tv_sec++;
      until.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&k->cv, &k->mu, &until);
    if (k->done) break;
    pthread_mutex_unlock(&k->mu);
    k->rc = qs_conn_cancel(k->c, &err);
    snprintf(k->why, sizeof k->why, "%s", err.message ? err.message : "");
    qs_error_clear(&err);
    pthread_mutex_lock(&k->mu);
    k->calls++;
  }
  pthread_mutex_unlock(&k->mu);
  return NULL;
}

int main(int argc, char **argv) {
  const char *const names[] = {"host", "port", "user", "password", "database"};
  const char *keys[5], *vals[5];
  const qs_driver *drv;
  const char *slow;
  qs_conn *c = NULL;
  qs_error err;
  canceller k;
  pthread_t th;
  double t0, took;
  int rc, pg, i, n = 0;
  if (argc != 7) {
    fprintf(stderr, "usage: %s postgresql|mysql|mywire HOST PORT USER PASSWORD DBNAME\n", argv[0]);
    return 2;
  }
  pg = strcmp(argv[1], "postgresql") == 0;
  drv = pg ? &qs_libpq_driver : strcmp(argv[1], "mywire") == 0 ? &qs_wire_my_driver : &qs_mariadb_driver;
  /* Seconds of work unless stopped. (MySQL's SLEEP() and BENCHMARK() return
  ** a value when killed instead of failing; a large join fails properly.) */
  slow = pg ? "SELECT pg_sleep(10)"
             : "SELECT count(*) FROM information_schema.columns a, information_schema.columns b, "
               "information_schema.columns c";
  for (i = 0; i < 5; i++) {
    if (argv[i + 2][0] == '\0') continue;   /* no password: trust auth */
    keys[n] = names[i];
    vals[n++] = argv[i + 2];
  }
  memset(&err, 0, sizeof err);
  if (pg) {
    /* more options than libpq.c passes through: refused by name, none dropped */
    const char *many[40];
    qs_conn *none = NULL;
    for (i = 0; i < 40; i++) many[i] = "application_name";
    CHECK("too many options refused", qs_conn_open(drv, 40, many, many, &none, &err) == QS_ARGUMENT &&
                                          none == NULL && strstr(err.message, "at most 36") != NULL);
    qs_error_clear(&err);
  }
  if (qs_conn_open(drv, n, keys, vals, &c, &err) != QS_OK) {
    fprintf(stderr, "cannot connect: %s\n", err.message ? err.message : "?");
    qs_error_clear(&err);
    tally.failed++;
    return test_summary(&tally);
  }

  /* the timeout stops the statement */
  CHECK("timeout set", qs_conn_set_timeout(c, 300) == QS_OK);
  t0 = qs_clock();
  rc = test_run_sql(c, slow);
  took = qs_clock() - t0;
  CHECK("timed-out statement fails as OPERATIONAL", rc == QS_OPERATIONAL);
  CHECK("timed-out statement ran to its limit", took >= 0.25);
  printf("     (%.2f s: %s)\n", took, message(c));
  CHECK("the message says why", strstr(message(c), "timeout") != NULL ||
                                    strstr(message(c), "max_statement_time") != NULL ||
                                    strstr(message(c), "interrupted") != NULL);
  CHECK("not a dead connection", !qs_conn_error(c)->invalidated);
  CHECK("the connection goes on", test_run_sql(c, "SELECT 1") == QS_ROW);

  if (pg) {
    /* inside a transaction: aborted until rolled back, then usable */
    CHECK("begin", qs_conn_begin(c) == QS_OK);
    CHECK("statement in the transaction", test_run_sql(c, "SELECT 1") == QS_ROW);
    CHECK("timed out in the transaction", test_run_sql(c, slow) == QS_OPERATIONAL);
    CHECK("the transaction is aborted", test_run_sql(c, "SELECT 1") != QS_ROW);
    CHECK("rollback", qs_conn_rollback(c) == QS_OK);
    CHECK("usable after the rollback", test_run_sql(c, "SELECT 1") == QS_ROW);
  } else {
    /* MariaDB rolls back the statement only: the transaction goes on */
    CHECK("begin", qs_conn_begin(c) == QS_OK);
    CHECK("statement in the transaction", test_run_sql(c, "SELECT 1") == QS_ROW);
    CHECK("timed out in the transaction", test_run_sql(c, slow) == QS_OPERATIONAL);
    CHECK("the transaction goes on", test_run_sql(c, "SELECT 1") == QS_ROW);
    CHECK("commit", qs_conn_commit(c) == QS_OK);
  }

  /* a cancel from another thread stops it, with no timeout set */
  CHECK("timeout off", qs_conn_set_timeout(c, 0) == QS_OK);
  memset(&k, 0, sizeof k);
  k.c = c;
  k.rc = -100;
  pthread_mutex_init(&k.mu, NULL);
  pthread_cond_init(&k.cv, NULL);
  /* a backstop only: were the cancel lost, the statement ends here with a
  ** timeout, and the checks below say so instead of hanging */
  CHECK("backstop set", qs_conn_set_timeout(c, 120000) == QS_OK);
  t0 = qs_clock();
  if (pthread_create(&th, NULL, cancel_until_done, &k) != 0) {
    CHECK("thread started", 0);
  } else {
    rc = test_run_sql(c, slow);
    took = qs_clock() - t0;
    pthread_mutex_lock(&k.mu);
    k.done = 1;
    pthread_cond_signal(&k.cv);
    pthread_mutex_unlock(&k.mu);
    pthread_join(th, NULL);
    CHECK("the cancel request was sent", k.calls >= 1 && k.rc == QS_OK);
    if (k.rc != QS_OK) printf("     (%s)\n", k.why);
    CHECK("cancelled statement fails as OPERATIONAL", rc == QS_OPERATIONAL);
    CHECK("stopped by the cancel, not the backstop", strstr(message(c), "timeout") == NULL &&
                                                      strstr(message(c), "max_statement_time") == NULL);
    printf("     (%.2f s, %d request(s): %s)\n", took, k.calls, message(c));
    CHECK("timeout off", qs_conn_set_timeout(c, 0) == QS_OK);
    CHECK("usable after the cancel", test_run_sql(c, "SELECT 1") == QS_ROW);
  }
  pthread_mutex_destroy(&k.mu);
  pthread_cond_destroy(&k.cv);
  qs_conn_free(c);
  return test_summary(&tally);
}
