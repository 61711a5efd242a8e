/* test_pool.c: the connection pool, from one thread and from eight. Run
** under ThreadSanitizer by `make tsan` (its own build: TSan and ASan do not
** combine). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "quicksilver.h"
#include "test.h"

static char dbpath[64];

static qs_pool *make_pool(int size, int overflow, double timeout) {
  const char *keys[] = {"database", "busy_timeout"};
  const char *vals[2];
  qs_pool_conf conf;
  qs_error err;
  qs_pool *p;
  memset(&err, 0, sizeof err);
  qs_pool_conf_defaults(&conf);
  conf.size = size;
  conf.overflow = overflow;
  conf.timeout = timeout;
  conf.lifo = 1;
  if (dbpath[0] == '\0') snprintf(dbpath, sizeof dbpath, "/tmp/qs_pool_test_%d.db", (int)getpid());
  vals[0] = dbpath;
  vals[1] = "5000";
  p = qs_pool_new(&qs_sqlite3_driver, 2, keys, vals, &conf, &err);
  qs_error_clear(&err);
  return p;
}

TEST_IMPL(pool_reuses_connections) {
  qs_pool *p = make_pool(2, 0, 1);
  qs_pool_rec *a, *b;
  qs_pool_status_t st;
  qs_error err;
  int fresh;
  memset(&err, 0, sizeof err);
  ASSERT(p != NULL);
  ASSERT_EQ(qs_pool_checkout(p, -1, &a, &fresh, &err), QS_OK);
  ASSERT(fresh);
  qs_pool_checkin(p, a);
  ASSERT_EQ(qs_pool_checkout(p, -1, &b, &fresh, &err), QS_OK);
  ASSERT(!fresh);
  ASSERT(a == b);
  qs_pool_status(p, &st);
  ASSERT_EQ(st.checked_out, 1);
  ASSERT_EQ(st.stats.connects, 1);
  qs_pool_checkin(p, b);
  qs_pool_release(p);
  return 0;
}

/* A statement left open by a borrower ends at checkin: its next step fails
** with QS_CLOSED and never reads what the next borrower runs. */
TEST_IMPL(pool_checkin_ends_open_statements) {
  static const char *const sql = "WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 "
                                 "FROM r WHERE i < 10) SELECT i FROM r";
  qs_pool *p = make_pool(1, 0, 1);
  qs_pool_rec *a, *b;
  qs_stmt *s, *s2;
  qs_value v;
  qs_error err;
  int fresh;
  memset(&err, 0, sizeof err);
  ASSERT(p != NULL);
  ASSERT_EQ(qs_pool_checkout(p, -1, &a, &fresh, &err), QS_OK);
  ASSERT_EQ(qs_conn_prepare(qs_pool_rec_conn(a), sql, strlen(sql), &s), QS_OK);
  ASSERT_EQ(qs_stmt_step(s), QS_ROW);
  qs_pool_checkin(p, a);
  ASSERT(qs_stmt_conn(s) == NULL);   /* detached */
  ASSERT_EQ(qs_pool_checkout(p, -1, &b, &fresh, &err), QS_OK);
  ASSERT(b == a && !fresh);
  /* the same SQL again: the cached statement is free for the new borrower */
  ASSERT_EQ(qs_conn_prepare(qs_pool_rec_conn(b), sql, strlen(sql), &s2), QS_OK);
  ASSERT_EQ(qs_stmt_step(s2), QS_ROW);
  qs_stmt_column(s2, 0, &v);
  ASSERT(v.type == QS_TINT && v.u.i == 1);
  ASSERT_EQ(qs_stmt_step(s), QS_CLOSED);
  ASSERT_EQ(qs_stmt_step(s2), QS_ROW);
  qs_stmt_column(s2, 0, &v);
  ASSERT(v.type == QS_TINT && v.u.i == 2);   /* the old handle stole no row */
  qs_stmt_release(s);
  qs_stmt_release(s2);
  qs_pool_checkin(p, b);
  qs_pool_release(p);
  return 0;
}

TEST_IMPL(pool_times_out_when_exhausted) {
  qs_pool *p = make_pool(1, 1, 0.2);
  qs_pool_rec *a, *b, *c;
  qs_error err;
  int fresh;
  struct timespec t0, t1;
  double waited;
  memset(&err, 0, sizeof err);
  ASSERT(p != NULL);
  ASSERT_EQ(qs_pool_checkout(p, -1, &a, &fresh, &err), QS_OK);
  ASSERT_EQ(qs_pool_checkout(p, -1, &b, &fresh, &err), QS_OK);
  clock_gettime(CLOCK_MONOTONIC, &t0);
  ASSERT_EQ(qs_pool_checkout(p, -1, &c, &fresh, &err), QS_TIMEOUT);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  waited = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
  ASSERT(waited >= 0.19);
  ASSERT(strstr(err.message, "size 1 overflow 1") != NULL);
  qs_error_clear(&err);
  ASSERT_EQ(qs_pool_checkout(p, 0, &c, &fresh, &err), QS_TIMEOUT);   /* no wait at all */
  qs_error_clear(&err);
  qs_pool_checkin(p, b);   /* overflow: closed */
  ASSERT_EQ(qs_pool_checkout(p, 0, &c, &fresh, &err), QS_OK);
  qs_pool_checkin(p, c);
  qs_pool_checkin(p, a);
  qs_pool_release(p);
  return 0;
}

/* The defaults, written once in pool.c (Lua reads them through
** core.pool_defaults()). */
TEST_IMPL(pool_conf_defaults) {
  qs_pool_conf conf;
  memset(&conf, 0x5a, sizeof conf);   /* every field is set, none left over */
  qs_pool_conf_defaults(&conf);
  ASSERT_EQ(conf.size, 5);
  ASSERT_EQ(conf.overflow, 10);
  ASSERT(conf.timeout == 30);
  ASSERT(conf.recycle < 0);
  ASSERT_EQ(conf.lifo, 0);
  ASSERT_EQ(conf.pre_ping, 0);
  ASSERT_EQ(conf.reset_on_return, 1);
  ASSERT(conf.setup == NULL);
  return 0;
}

/* A checkout that waits for an exhausted pool gives up after about the
** timeout it was given, measured on the monotonic clock (qs_clock) the
** pool's condition variable waits on: not before it, and not long after
** (a generous bound: the machine may be busy). */
TEST_IMPL(pool_wait_times_out_on_monotonic_clock) {
  qs_pool *p = make_pool(1, 0, 30);
  qs_pool_rec *a, *b;
  qs_error err;
  int fresh;
  double t0, waited;
  memset(&err, 0, sizeof err);
  ASSERT(p != NULL);
  ASSERT_EQ(qs_pool_checkout(p, -1, &a, &fresh, &err), QS_OK);
  t0 = qs_clock();
  ASSERT_EQ(qs_pool_checkout(p, 0.3, &b, &fresh, &err), QS_TIMEOUT);   /* not the pool's 30 s */
  waited = qs_clock() - t0;
  ASSERT(waited >= 0.3 - 0.01);
  ASSERT(waited < 10);
  ASSERT(strstr(err.message, "timeout 0.30 s") != NULL);
  qs_error_clear(&err);
  qs_pool_checkin(p, a);
  qs_pool_release(p);
  return 0;
}

typedef struct giver {
  qs_pool *p;
  qs_pool_rec *r;
} giver;

/* Gives r back once the main thread waits in its checkout. */
static void *give_back(void *arg) {
  giver *g = (giver *)arg;
  qs_pool_status_t st;
  do {
    struct timespec pause = {0, 1000000};
    nanosleep(&pause, NULL);
    qs_pool_status(g->p, &st);
  } while (st.waiting == 0);
  qs_pool_checkin(g->p, g->r);
  return NULL;
}

/* A waiting checkout is woken by a checkin (the monotonic condvar still
** wakes on a signal) and gets the connection given back. */
TEST_IMPL(pool_wait_woken_by_checkin) {
  qs_pool *p = make_pool(1, 0, 30);
  qs_pool_rec *a, *b;
  qs_error err;
  giver g;
  pthread_t th;
  int fresh;
  memset(&err, 0, sizeof err);
  memset(&g, 0, sizeof g);
  ASSERT(p != NULL);
  ASSERT_EQ(qs_pool_checkout(p, -1, &a, &fresh, &err), QS_OK);
  g.p = p;
  g.r = a;
  ASSERT_EQ(pthread_create(&th, NULL, give_back, &g), 0);
  ASSERT_EQ(qs_pool_checkout(p, -1, &b, &fresh, &err), QS_OK);   /* waits, then gets a */
  pthread_join(th, NULL);
  ASSERT(b == a && !fresh);
  qs_pool_checkin(p, b);
  qs_pool_release(p);
  return 0;
}

TEST_IMPL(pool_resets_on_return) {
  qs_pool *p = make_pool(1, 0, 1);
  qs_pool_rec *a;
  qs_error err;
  int fresh;
  memset(&err, 0, sizeof err);
  ASSERT(p != NULL);
  ASSERT_EQ(qs_pool_checkout(p, -1, &a, &fresh, &err), QS_OK);
  ASSERT_EQ(qs_conn_exec(qs_pool_rec_conn(a), "CREATE TABLE IF NOT EXISTS t (x)"), QS_OK);
  ASSERT_EQ(qs_conn_begin(qs_pool_rec_conn(a)), QS_OK);
  ASSERT_EQ(qs_conn_exec(qs_pool_rec_conn(a), "INSERT INTO t VALUES (1)"), QS_OK);
  qs_pool_checkin(p, a);
  ASSERT_EQ(qs_pool_checkout(p, -1, &a, &fresh, &err), QS_OK);
  ASSERT_EQ(qs_conn_txn_state(qs_pool_rec_conn(a)), QS_TXN_NONE);
  qs_pool_checkin(p, a);
  qs_pool_release(p);
  return 0;
}

TEST_IMPL(pool_invalidation_recycles_older) {
  qs_pool *p = make_pool(2, 0, 1);
  qs_pool_rec *a, *b, *c;
  qs_pool_status_t st;
  qs_error err;
  int fresh;
  memset(&err, 0, sizeof err);
  ASSERT(p != NULL);
  ASSERT_EQ(qs_pool_checkout(p, -1, &a, &fresh, &err), QS_OK);
  ASSERT_EQ(qs_pool_checkout(p, -1, &b, &fresh, &err), QS_OK);
  qs_pool_checkin(p, b);
  qs_pool_invalidate(p, a);   /* a died: b, older than now, goes too */
  qs_pool_checkin(p, a);
  ASSERT_EQ(qs_pool_checkout(p, -1, &c, &fresh, &err), QS_OK);
  ASSERT(fresh);
  qs_pool_status(p, &st);
  ASSERT_EQ(st.open, 1);
  qs_pool_checkin(p, c);
  qs_pool_release(p);
  return 0;
}

#define THREADS 8
#define ROUNDS 300

static void *worker(void *arg) {
  qs_pool *p = (qs_pool *)arg;
  int i, *bad = calloc(1, sizeof(int));
  for (i = 0; i < ROUNDS && bad; i++) {
    qs_pool_rec *r;
    qs_error err;
    int fresh;
    memset(&err, 0, sizeof err);
    if (qs_pool_checkout(p, -1, &r, &fresh, &err) != QS_OK) {
      (*bad)++;
      qs_error_clear(&err);
      continue;
    }
    if (qs_conn_exec(qs_pool_rec_conn(r), "SELECT 1") != QS_OK) (*bad)++;
    qs_pool_checkin(p, r);
  }
  return bad;
}

TEST_IMPL(pool_eight_threads) {
  qs_pool *p = make_pool(3, 2, 10);
  pthread_t th[THREADS];
  qs_pool_status_t st;
  int i, bad = 0;
  ASSERT(p != NULL);
  for (i = 0; i < THREADS; i++) ASSERT_EQ(pthread_create(&th[i], NULL, worker, p), 0);
  for (i = 0; i < THREADS; i++) {
    void *res;
    pthread_join(th[i], &res);
    if (res) { bad += *(int *)res; free(res); }
  }
  ASSERT_EQ(bad, 0);
  qs_pool_status(p, &st);
  ASSERT_EQ(st.checked_out, 0);
  ASSERT(st.open <= 5);
  ASSERT_EQ(st.stats.checkouts, THREADS * ROUNDS);
  qs_pool_release(p);
  remove(dbpath);
  return 0;
}

TEST_IMPL(pool_shared_by_name) {
  const char *keys[] = {"database"};
  const char *vals[] = {":memory:"};
  qs_pool_conf conf;
  qs_error err;
  qs_pool *a, *b;
  memset(&conf, 0, sizeof conf);
  memset(&err, 0, sizeof err);
  conf.size = 1;
  conf.timeout = 1;
  conf.recycle = -1;
  a = qs_pool_shared("test-pool", &qs_sqlite3_driver, 1, keys, vals, &conf, &err);
  b = qs_pool_shared("test-pool", &qs_sqlite3_driver, 1, keys, vals, &conf, &err);
  ASSERT(a != NULL && a == b);
  qs_pool_release(a);
  qs_pool_release(b);
  a = qs_pool_shared("test-pool", &qs_sqlite3_driver, 1, keys, vals, &conf, &err);
  ASSERT(a != NULL);
  qs_pool_release(a);
  return 0;
}

/* An attaching caller whose settings differ is refused, the difference
** named (option values never shown); the pool is untouched by it. */
TEST_IMPL(pool_shared_refuses_mismatch) {
  const char *keys[] = {"database", "busy_timeout"};
  const char *vals[] = {":memory:", "5000"};
  const char *keys2[] = {"busy_timeout", "database"};   /* the same set, another order */
  const char *vals2[] = {"5000", ":memory:"};
  const char *other[] = {":memory:", "1000"};
  qs_pool_conf conf, c2;
  qs_error err;
  qs_pool *a, *b;
  qs_pool_status_t st;
  memset(&conf, 0, sizeof conf);
  memset(&err, 0, sizeof err);
  conf.size = 1;
  conf.timeout = 1;
  conf.recycle = -1;
  conf.setup = "mode=lazy";
  a = qs_pool_shared("mismatch-pool", &qs_sqlite3_driver, 2, keys, vals, &conf, &err);
  ASSERT(a != NULL);
  b = qs_pool_shared("mismatch-pool", &qs_sqlite3_driver, 2, keys2, vals2, &conf, &err);
  ASSERT(b == a);   /* the same settings attach */
  qs_pool_release(b);
  /* another option value: refused, the option named, its value not shown */
  ASSERT(qs_pool_shared("mismatch-pool", &qs_sqlite3_driver, 2, keys, other, &conf, &err) == NULL);
  ASSERT_EQ(err.code, QS_ARGUMENT);
  ASSERT(strstr(err.message, "mismatch-pool") != NULL);
  ASSERT(strstr(err.message, "'busy_timeout'") != NULL);
  ASSERT(strstr(err.message, "1000") == NULL);
  qs_error_clear(&err);
  /* an option fewer */
  ASSERT(qs_pool_shared("mismatch-pool", &qs_sqlite3_driver, 1, keys, vals, &conf, &err) == NULL);
  ASSERT(strstr(err.message, "'busy_timeout' is missing") != NULL);
  qs_error_clear(&err);
  /* pool settings */
  c2 = conf;
  c2.size = 3;
  ASSERT(qs_pool_shared("mismatch-pool", &qs_sqlite3_driver, 2, keys, vals, &c2, &err) == NULL);
  ASSERT(strstr(err.message, "pool_size 1, not 3") != NULL);
  qs_error_clear(&err);
  c2 = conf;
  c2.pre_ping = 1;
  ASSERT(qs_pool_shared("mismatch-pool", &qs_sqlite3_driver, 2, keys, vals, &c2, &err) == NULL);
  ASSERT(strstr(err.message, "pool_pre_ping") != NULL);
  qs_error_clear(&err);
  c2 = conf;
  c2.setup = "mode=immediate";
  ASSERT(qs_pool_shared("mismatch-pool", &qs_sqlite3_driver, 2, keys, vals, &c2, &err) == NULL);
  ASSERT(strstr(err.message, "connection setup") != NULL);
  qs_error_clear(&err);
  qs_pool_status(a, &st);
  ASSERT_EQ(st.size, 1);
  qs_pool_release(a);
  /* once the last holder let go, the name is free for other settings */
  a = qs_pool_shared("mismatch-pool", &qs_sqlite3_driver, 2, keys, other, &c2, &err);
  ASSERT(a != NULL);
  qs_pool_release(a);
  return 0;
}

#include <sys/wait.h>

/* Connections inherited across fork() are dropped in the child, never used
** or closed there; the child opens its own, the parent's stay good. */
TEST_IMPL(pool_fork_safe) {
  qs_pool *p = make_pool(2, 0, 2);
  qs_pool_rec *r;
  qs_error err;
  int fresh, i, status;
  pid_t kids[4];
  memset(&err, 0, sizeof err);
  ASSERT(p != NULL);
  ASSERT_EQ(qs_pool_checkout(p, -1, &r, &fresh, &err), QS_OK);
  ASSERT_EQ(qs_conn_exec(qs_pool_rec_conn(r), "CREATE TABLE IF NOT EXISTS f (x)"), QS_OK);
  qs_pool_checkin(p, r);   /* idle in the parent */
  for (i = 0; i < 4; i++) {
    kids[i] = fork();
    if (kids[i] == 0) {
      qs_pool_rec *c;
      qs_pool_status_t st;
      int ok = qs_pool_checkout(p, -1, &c, &fresh, &err) == QS_OK && fresh &&
               qs_conn_exec(qs_pool_rec_conn(c), "SELECT count(*) FROM f") == QS_OK;
      if (ok) qs_pool_checkin(p, c);
      qs_pool_status(p, &st);
      ok = ok && st.stats.connects == 2;   /* the inherited one was dropped */
      qs_error_clear(&err);
      qs_pool_release(p);   /* the child frees what it holds (valgrind checks children too) */
      _exit(ok ? 0 : 1);
    }
    ASSERT(kids[i] > 0);
  }
  for (i = 0; i < 4; i++) {
    ASSERT_EQ(waitpid(kids[i], &status, 0), kids[i]);
    ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  ASSERT_EQ(qs_pool_checkout(p, -1, &r, &fresh, &err), QS_OK);
  ASSERT(!fresh);   /* the parent's own connection, still good */
  ASSERT_EQ(qs_conn_exec(qs_pool_rec_conn(r), "INSERT INTO f VALUES (1)"), QS_OK);
  qs_pool_checkin(p, r);
  qs_pool_release(p);
  return 0;
}
