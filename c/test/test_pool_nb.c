/* test_pool_nb.c: the pool's line of tickets (qs_pool_checkout_nb), for
** coroutine schedulers: first come, first served, what comes free handed
** to the head of the line, tickets that give up passing it on, and busy
** connections never kept. Run under ThreadSanitizer by `make tsan` too
** (the names start with "pool"). */
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "quicksilver.h"
#include "test.h"

static char nbpath[64];

static qs_pool *make_nb_pool(int size, int overflow, int pre_ping) {
  const char *keys[] = {"database", "busy_timeout"};
  const char *vals[2];
  qs_pool_conf conf;
  qs_error err;
  qs_pool *p;
  memset(&err, 0, sizeof err);
  qs_pool_conf_defaults(&conf);
  conf.size = size;
  conf.overflow = overflow;
  conf.timeout = 5;
  conf.pre_ping = pre_ping;
  if (nbpath[0] == '\0') snprintf(nbpath, sizeof nbpath, "/tmp/qs_pool_nb_test_%d.db", (int)getpid());
  vals[0] = nbpath;
  vals[1] = "5000";
  p = qs_pool_new(&qs_sqlite3_driver, 2, keys, vals, &conf, &err);
  qs_error_clear(&err);
  return p;
}

/* Whether fd is readable now (a ticket handed something). */
static int readable(int fd) {
  struct pollfd pfd;
  pfd.fd = fd;
  pfd.events = POLLIN;
  pfd.revents = 0;
  return poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLIN);
}

/* A connection checked out at once, connected if it is new. */
static qs_pool_rec *nb_now(qs_pool *p) {
  qs_pool_rec *r = NULL;
  qs_pool_ticket *t = NULL;
  qs_error err;
  int todo = -1;
  memset(&err, 0, sizeof err);
  if (qs_pool_checkout_nb(p, &r, &todo, &t, &err) != QS_OK) return NULL;
  if (todo == QS_POOL_CONNECT && qs_conn_connect(qs_pool_rec_conn(r)) != QS_OK) return NULL;
  return r;
}

/* A place in the line (the pool must be exhausted). */
static qs_pool_ticket *nb_queue(qs_pool *p) {
  qs_pool_rec *r = NULL;
  qs_pool_ticket *t = NULL;
  qs_error err;
  int todo;
  memset(&err, 0, sizeof err);
  if (qs_pool_checkout_nb(p, &r, &todo, &t, &err) != QS_WAIT || r != NULL) return NULL;
  return t;
}

/* A new connection comes with todo CONNECT, in non-blocking mode; an idle
** one with nothing to do (or PING under pre_ping); no ticket either way. */
TEST_IMPL(pool_nb_checkout_todo) {
  qs_pool *p = make_nb_pool(1, 0, 0), *pp = make_nb_pool(1, 0, 1);
  qs_pool_rec *r;
  qs_pool_ticket *t = NULL;
  qs_error err;
  int todo;
  memset(&err, 0, sizeof err);
  ASSERT(p != NULL && pp != NULL);
  ASSERT_EQ(qs_pool_checkout_nb(p, &r, &todo, &t, &err), QS_OK);
  ASSERT(r != NULL && t == NULL);
  ASSERT_EQ(todo, QS_POOL_CONNECT);
  ASSERT(qs_conn_nonblocking(qs_pool_rec_conn(r)));
  ASSERT_EQ(qs_conn_connect(qs_pool_rec_conn(r)), QS_OK);
  ASSERT_EQ(qs_conn_exec(qs_pool_rec_conn(r), "SELECT 1"), QS_OK);
  qs_pool_checkin(p, r);
  ASSERT_EQ(qs_pool_checkout_nb(p, &r, &todo, &t, &err), QS_OK);
  ASSERT_EQ(todo, 0);
  qs_pool_checkin(p, r);
  r = nb_now(pp);
  ASSERT(r != NULL);
  qs_pool_checkin(pp, r);
  ASSERT_EQ(qs_pool_checkout_nb(pp, &r, &todo, &t, &err), QS_OK);
  ASSERT_EQ(todo, QS_POOL_PING);
  ASSERT_EQ(qs_conn_exec(qs_pool_rec_conn(r), "SELECT 1"), QS_OK);
  qs_pool_checkin(pp, r);
  qs_pool_release(p);
  qs_pool_release(pp);
  return 0;
}

/* Three tickets are served in the order they queued, each woken through
** its own fd only when its turn comes; status counts them as waiting. */
TEST_IMPL(pool_nb_tickets_fifo) {
  qs_pool *p = make_nb_pool(1, 0, 0);
  qs_pool_rec *a, *r;
  qs_pool_ticket *t[3];
  qs_pool_status_t st;
  qs_error err;
  int i, todo;
  memset(&err, 0, sizeof err);
  ASSERT(p != NULL);
  a = nb_now(p);
  ASSERT(a != NULL);
  for (i = 0; i < 3; i++) {
    t[i] = nb_queue(p);
    ASSERT(t[i] != NULL);
    ASSERT(qs_pool_ticket_fd(t[i]) >= 0);
  }
  qs_pool_status(p, &st);
  ASSERT_EQ(st.waiting, 3);
  ASSERT_EQ(st.checked_out, 1);
  for (i = 0; i < 3; i++) {
    ASSERT(!readable(qs_pool_ticket_fd(t[i])));
    ASSERT_EQ(qs_pool_ticket_take(p, t[i], &r, &todo, &err), QS_WAIT);
  }
  for (i = 0; i < 3; i++) {
    int j;
    qs_pool_checkin(p, a);   /* handed straight to t[i], never idle */
    qs_pool_status(p, &st);
    ASSERT_EQ(st.idle, 0);
    ASSERT_EQ(st.waiting, 2 - i);
    ASSERT(readable(qs_pool_ticket_fd(t[i])));
    for (j = i + 1; j < 3; j++) ASSERT(!readable(qs_pool_ticket_fd(t[j])));
    ASSERT_EQ(qs_pool_ticket_take(p, t[i], &r, &todo, &err), QS_OK);
    ASSERT(r == a);
    ASSERT_EQ(todo, 0);
  }
  qs_pool_status(p, &st);
  ASSERT_EQ(st.stats.checkouts, 4);
  ASSERT_EQ(st.stats.connects, 1);
  qs_pool_checkin(p, a);
  qs_pool_release(p);
  return 0;
}

/* While tickets wait, newcomers queue behind them (no barging): another
** checkout_nb, and a blocking checkout that does not wait, get nothing even
** when a connection was just given back. */
TEST_IMPL(pool_nb_no_barging) {
  qs_pool *p = make_nb_pool(2, 0, 0);
  qs_pool_rec *a, *b, *r;
  qs_pool_ticket *t1, *t2;
  qs_pool_status_t st;
  qs_error err;
  int todo, fresh;
  memset(&err, 0, sizeof err);
  ASSERT(p != NULL);
  a = nb_now(p);
  b = nb_now(p);
  ASSERT(a != NULL && b != NULL);
  t1 = nb_queue(p);
  t2 = nb_queue(p);
  ASSERT(t1 != NULL && t2 != NULL);
  qs_pool_checkin(p, a);   /* to t1 */
  ASSERT_EQ(qs_pool_checkout(p, 0, &r, &fresh, &err), QS_TIMEOUT);
  qs_error_clear(&err);
  qs_pool_checkin(p, b);   /* to t2 */
  qs_pool_status(p, &st);
  ASSERT_EQ(st.idle, 0);
  ASSERT_EQ(st.waiting, 0);
  ASSERT_EQ(qs_pool_ticket_take(p, t2, &r, &todo, &err), QS_OK);
  ASSERT(r == b);
  qs_pool_checkin(p, r);   /* nobody waits: idle */
  ASSERT_EQ(qs_pool_ticket_take(p, t1, &r, &todo, &err), QS_OK);
  ASSERT(r == a);
  qs_pool_checkin(p, r);
  qs_pool_status(p, &st);
  ASSERT_EQ(st.idle, 2);
  ASSERT_EQ(st.open, 2);
  qs_pool_release(p);
  return 0;
}

/* A connection that comes back closed (invalidated) frees its slot: the
** head ticket gets the slot and opens a new connection (todo CONNECT). */
TEST_IMPL(pool_nb_slot_handoff) {
  qs_pool *p = make_nb_pool(1, 0, 0);
  qs_pool_rec *a, *r;
  qs_pool_ticket *t;
  qs_pool_status_t st;
  qs_error err;
  int todo;
  memset(&err, 0, sizeof err);
  ASSERT(p != NULL);
  a = nb_now(p);
  ASSERT(a != NULL);
  t = nb_queue(p);
  ASSERT(t != NULL);
  qs_pool_invalidate(p, a);
  qs_pool_checkin(p, a);   /* closed; its slot to t */
  ASSERT(readable(qs_pool_ticket_fd(t)));
  qs_pool_status(p, &st);
  ASSERT_EQ(st.open, 1);   /* the slot, held for t */
  ASSERT_EQ(qs_pool_ticket_take(p, t, &r, &todo, &err), QS_OK);
  ASSERT_EQ(todo, QS_POOL_CONNECT);
  ASSERT_EQ(qs_conn_connect(qs_pool_rec_conn(r)), QS_OK);
  qs_pool_status(p, &st);
  ASSERT_EQ(st.stats.connects, 2);
  ASSERT_EQ(st.open, 1);
  qs_pool_checkin(p, r);
  qs_pool_release(p);
  return 0;
}

/* A ticket that gives up after being handed a connection passes it to the
** next in line; one that gives up before leaves the line (its place never
** handed anything), which is how a waiter's timeout ends. */
TEST_IMPL(pool_nb_cancel_passes_on) {
  qs_pool *p = make_nb_pool(1, 0, 0);
  qs_pool_rec *a, *r;
  qs_pool_ticket *t1, *t2, *t3;
  qs_pool_status_t st;
  qs_error err;
  int todo;
  memset(&err, 0, sizeof err);
  ASSERT(p != NULL);
  a = nb_now(p);
  t1 = nb_queue(p);
  t2 = nb_queue(p);
  t3 = nb_queue(p);
  ASSERT(a && t1 && t2 && t3);
  qs_pool_ticket_cancel(p, t2);   /* gives up while waiting: leaves the line */
  qs_pool_status(p, &st);
  ASSERT_EQ(st.waiting, 2);
  ASSERT_EQ(st.stats.timeouts, 1);   /* a checkout that gave up waiting */
  qs_pool_checkin(p, a);   /* to t1 */
  ASSERT(!readable(qs_pool_ticket_fd(t3)));
  qs_pool_ticket_cancel(p, t1);   /* handed a, gives up: a goes to t3 */
  ASSERT(readable(qs_pool_ticket_fd(t3)));
  qs_pool_status(p, &st);
  ASSERT_EQ(st.stats.timeouts, 1);   /* it had been served: no timeout */
  ASSERT_EQ(qs_pool_ticket_take(p, t3, &r, &todo, &err), QS_OK);
  ASSERT(r == a);
  /* the timeout: a lone waiter cancels; what comes back later goes idle */
  t1 = nb_queue(p);
  ASSERT(t1 != NULL);
  qs_pool_ticket_cancel(p, t1);
  qs_pool_checkin(p, r);
  qs_pool_status(p, &st);
  ASSERT_EQ(st.waiting, 0);
  ASSERT_EQ(st.idle, 1);
  ASSERT_EQ(st.checked_out, 0);
  /* with nobody after it, a cancelled ticket's connection goes idle */
  r = nb_now(p);
  t1 = nb_queue(p);
  ASSERT(r != NULL && t1 != NULL);
  qs_pool_checkin(p, r);
  qs_pool_ticket_cancel(p, t1);
  qs_pool_status(p, &st);
  ASSERT_EQ(st.idle, 1);
  ASSERT_EQ(st.open, 1);
  qs_pool_release(p);
  return 0;
}

/* A connection whose connect (or ping) failed is discarded: closed, and its
** slot handed to the head ticket, which opens another. */
TEST_IMPL(pool_nb_discard) {
  qs_pool *p = make_nb_pool(1, 0, 0);
  qs_pool_rec *a, *r;
  qs_pool_ticket *t;
  qs_pool_status_t st;
  qs_error err;
  int todo;
  memset(&err, 0, sizeof err);
  ASSERT(p != NULL);
  ASSERT_EQ(qs_pool_checkout_nb(p, &a, &todo, &t, &err), QS_OK);
  ASSERT_EQ(todo, QS_POOL_CONNECT);
  t = nb_queue(p);
  ASSERT(t != NULL);
  qs_pool_discard(p, a);   /* as if its connect had failed */
  ASSERT(readable(qs_pool_ticket_fd(t)));
  ASSERT_EQ(qs_pool_ticket_take(p, t, &r, &todo, &err), QS_OK);
  ASSERT_EQ(todo, QS_POOL_CONNECT);
  ASSERT_EQ(qs_conn_connect(qs_pool_rec_conn(r)), QS_OK);
  qs_pool_status(p, &st);
  ASSERT_EQ(st.open, 1);
  qs_pool_discard(p, r);   /* nobody waits: the slot is freed */
  qs_pool_status(p, &st);
  ASSERT_EQ(st.open, 0);
  ASSERT_EQ(st.idle, 0);
  qs_pool_release(p);
  return 0;
}

/* A new connection that cannot be started fails the caller with the
** driver's error and hands the slot on (nothing is lost). */
TEST_IMPL(pool_nb_start_failure) {
  const char *keys[] = {"database"};
  const char *vals[] = {"/nonexistent-dir-qs/x.db"};
  qs_pool_conf conf;
  qs_pool *p;
  qs_pool_rec *r;
  qs_pool_ticket *t;
  qs_pool_status_t st;
  qs_error err;
  int todo, rc;
  memset(&err, 0, sizeof err);
  qs_pool_conf_defaults(&conf);
  conf.size = 1;
  conf.overflow = 0;
  p = qs_pool_new(&qs_sqlite3_driver, 1, keys, vals, &conf, &err);
  ASSERT(p != NULL);
  rc = qs_pool_checkout_nb(p, &r, &todo, &t, &err);
  if (rc == QS_OK) {   /* a driver that fails only at connect */
    ASSERT_EQ(todo, QS_POOL_CONNECT);
    ASSERT(qs_conn_connect(qs_pool_rec_conn(r)) != QS_OK);
    qs_pool_discard(p, r);
  } else {
    ASSERT(rc != QS_WAIT);
    ASSERT(err.message != NULL);
    qs_error_clear(&err);
  }
  qs_pool_status(p, &st);
  ASSERT_EQ(st.open, 0);
  qs_pool_release(p);
  return 0;
}

/* The connection a new borrower gets is new or idle, never one given back
** while busy: a coroutine abandoned it mid-statement (its reply half read)
** and the pool closes it. The busy connection comes from a driver whose
** xExec waits until told its socket is ready. */
typedef struct mock_conn {
  int fd;          /* an eventfd, never signalled: the socket that is not ready */
  int ready;
} mock_conn;

static int mock_open(int nopt, const char *const *keys, const char *const *vals,
                     qs_dconn **out, qs_error *err) {
  mock_conn *m = calloc(1, sizeof *m);
  (void)nopt; (void)keys; (void)vals;
  if (m == NULL) return qs_error_set(err, QS_NOMEM, "out of memory");
  m->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  *out = (qs_dconn *)m;
  return QS_OK;
}
static int mock_connect(qs_dconn *c, qs_error *err) { (void)c; (void)err; return QS_OK; }
static void mock_close(qs_dconn *c) {
  mock_conn *m = (mock_conn *)c;
  if (m->fd >= 0) close(m->fd);
  free(m);
}
static int mock_wait(qs_dconn *c, int *fd, int *timeout_ms) {
  *fd = ((mock_conn *)c)->fd;
  *timeout_ms = -1;
  return QS_WAIT_READ;
}
static void mock_ready(qs_dconn *c, int events) {
  ((mock_conn *)c)->ready = (events & QS_WAIT_READ) != 0;
}
static int mock_prepare(qs_dconn *c, const char *sql, size_t n, qs_dstmt **out, qs_error *err) {
  (void)c; (void)sql; (void)n; (void)out;
  return qs_error_set(err, QS_NOTSUPPORTED, "mock driver: no statements");
}
static int mock_exec(qs_dconn *c, const char *sql, qs_error *err) {
  mock_conn *m = (mock_conn *)c;
  (void)sql; (void)err;
  if (!m->ready) return QS_WAIT;
  m->ready = 0;
  return QS_OK;
}
static int mock_in_txn(qs_dconn *c) { (void)c; return 0; }
static int64_t mock_zero(qs_dconn *c) { (void)c; return 0; }

static const qs_driver mock_driver = {
  .iVersion = QS_DRIVER_VERSION, .zName = "mock",
  .xOpen = mock_open, .xConnect = mock_connect, .xClose = mock_close, .xWait = mock_wait,
  .xReady = mock_ready, .xPrepare = mock_prepare, .xChanges = mock_zero,
  .xLastInsertId = mock_zero, .xExec = mock_exec, .xInTransaction = mock_in_txn,
};

TEST_IMPL(pool_nb_busy_closed_at_checkin) {
  qs_pool_conf conf;
  qs_pool *p;
  qs_pool_rec *a, *b, *c;
  qs_pool_ticket *t = NULL;
  qs_pool_status_t st;
  qs_error err;
  int todo, fd;
  double timeout;
  memset(&err, 0, sizeof err);
  qs_pool_conf_defaults(&conf);
  conf.size = 1;
  conf.overflow = 0;
  p = qs_pool_new(&mock_driver, 0, NULL, NULL, &conf, &err);
  ASSERT(p != NULL);
  ASSERT_EQ(qs_pool_checkout_nb(p, &a, &todo, &t, &err), QS_OK);
  ASSERT_EQ(qs_conn_connect(qs_pool_rec_conn(a)), QS_OK);
  /* a statement that waits, then its caller gone: the connection is busy */
  ASSERT_EQ(qs_conn_exec(qs_pool_rec_conn(a), "SELECT 1"), QS_WAIT);
  ASSERT(qs_conn_busy(qs_pool_rec_conn(a)));
  ASSERT_EQ(qs_conn_wait(qs_pool_rec_conn(a), &fd, &timeout), QS_WAIT_READ);
  t = nb_queue(p);
  ASSERT(t != NULL);
  qs_pool_checkin(p, a);   /* closed; t gets the slot, not a */
  ASSERT_EQ(qs_pool_ticket_take(p, t, &b, &todo, &err), QS_OK);
  ASSERT_EQ(todo, QS_POOL_CONNECT);
  ASSERT(!qs_conn_busy(qs_pool_rec_conn(b)));
  ASSERT_EQ(qs_conn_connect(qs_pool_rec_conn(b)), QS_OK);
  qs_pool_status(p, &st);
  ASSERT_EQ(st.stats.connects, 2);
  /* a finished statement leaves it reusable */
  ASSERT_EQ(qs_conn_exec(qs_pool_rec_conn(b), "SELECT 1"), QS_WAIT);
  ASSERT_EQ(qs_conn_ready(qs_pool_rec_conn(b), QS_WAIT_READ), QS_OK);
  ASSERT_EQ(qs_conn_exec(qs_pool_rec_conn(b), "SELECT 1"), QS_OK);
  ASSERT(!qs_conn_busy(qs_pool_rec_conn(b)));
  qs_pool_checkin(p, b);
  ASSERT_EQ(qs_pool_checkout_nb(p, &c, &todo, &t, &err), QS_OK);
  ASSERT(c == b);
  ASSERT_EQ(todo, 0);
  qs_pool_checkin(p, c);
  qs_pool_release(p);
  return 0;
}

/* Threads and tickets share one line: a thread blocked in qs_pool_checkout
** that queued first is served first, the ticket behind it next. */
typedef struct blocked {
  qs_pool *p;
  qs_pool_rec *r;
  int rc;
} blocked;

static void *blocking_checkout(void *arg) {
  blocked *b = (blocked *)arg;
  qs_error err;
  int fresh;
  memset(&err, 0, sizeof err);
  b->rc = qs_pool_checkout(b->p, 10, &b->r, &fresh, &err);
  qs_error_clear(&err);
  return NULL;
}

TEST_IMPL(pool_nb_threads_and_tickets_share_the_line) {
  qs_pool *p = make_nb_pool(1, 0, 0);
  qs_pool_rec *a, *r;
  qs_pool_ticket *t;
  qs_pool_status_t st;
  qs_error err;
  blocked b;
  pthread_t th;
  int todo;
  memset(&err, 0, sizeof err);
  memset(&b, 0, sizeof b);
  ASSERT(p != NULL);
  a = nb_now(p);
  ASSERT(a != NULL);
  b.p = p;
  ASSERT_EQ(pthread_create(&th, NULL, blocking_checkout, &b), 0);
  do {   /* until the thread waits in line */
    struct timespec pause = {0, 1000000};
    nanosleep(&pause, NULL);
    qs_pool_status(p, &st);
  } while (st.waiting == 0);
  t = nb_queue(p);
  ASSERT(t != NULL);
  qs_pool_checkin(p, a);   /* to the thread, first in line */
  pthread_join(th, NULL);
  ASSERT_EQ(b.rc, QS_OK);
  ASSERT(b.r == a);
  ASSERT(!qs_conn_nonblocking(qs_pool_rec_conn(b.r)));   /* a thread's is blocking */
  ASSERT(!readable(qs_pool_ticket_fd(t)));
  qs_pool_checkin(p, b.r);   /* then the ticket's turn */
  ASSERT_EQ(qs_pool_ticket_take(p, t, &r, &todo, &err), QS_OK);
  ASSERT(r == a);
  ASSERT(qs_conn_nonblocking(qs_pool_rec_conn(r)));
  qs_pool_checkin(p, r);
  qs_pool_release(p);
  return 0;
}

/* Eight threads, each a scheduler: checkout_nb, wait on the ticket's fd
** with poll(), take, use, give back; some give up and cancel. Nothing is
** lost (TSan: no race). */
#define NB_THREADS 8
#define NB_ROUNDS 200

static void *nb_worker(void *arg) {
  qs_pool *p = (qs_pool *)arg;
  int i, *bad = calloc(2, sizeof(int));   /* failures, waits in line */
  for (i = 0; i < NB_ROUNDS && bad; i++) {
    qs_pool_rec *r = NULL;
    qs_pool_ticket *t = NULL;
    qs_error err;
    int todo, rc;
    memset(&err, 0, sizeof err);
    rc = qs_pool_checkout_nb(p, &r, &todo, &t, &err);
    if (rc == QS_WAIT) bad[1]++;
    while (rc == QS_WAIT) {
      struct pollfd pfd;
      pfd.fd = qs_pool_ticket_fd(t);
      pfd.events = POLLIN;
      if (poll(&pfd, 1, i % 7 == 3 ? 0 : 5000) == 0) {   /* gives up now and then */
        qs_pool_ticket_cancel(p, t);
        break;
      }
      rc = qs_pool_ticket_take(p, t, &r, &todo, &err);
    }
    if (rc == QS_WAIT) continue;
    if (rc != QS_OK) {
      (*bad)++;
      qs_error_clear(&err);
      continue;
    }
    if (todo == QS_POOL_CONNECT && qs_conn_connect(qs_pool_rec_conn(r)) != QS_OK) (*bad)++;
    if (qs_conn_exec(qs_pool_rec_conn(r), "SELECT 1") != QS_OK) (*bad)++;
    {   /* held a moment, so that the others find the pool exhausted */
      struct timespec hold = {0, 200000};
      nanosleep(&hold, NULL);
    }
    qs_pool_checkin(p, r);
  }
  return bad;
}

TEST_IMPL(pool_nb_eight_threads) {
  qs_pool *p = make_nb_pool(2, 1, 0);
  pthread_t th[NB_THREADS];
  qs_pool_status_t st;
  int i, bad = 0, waits = 0;
  ASSERT(p != NULL);
  for (i = 0; i < NB_THREADS; i++) ASSERT_EQ(pthread_create(&th[i], NULL, nb_worker, p), 0);
  for (i = 0; i < NB_THREADS; i++) {
    void *res;
    pthread_join(th[i], &res);
    if (res) { bad += ((int *)res)[0]; waits += ((int *)res)[1]; free(res); }
    else bad++;
  }
  ASSERT_EQ(bad, 0);
  ASSERT(waits > 0);   /* the line was used, not only the fast path */
  qs_pool_status(p, &st);
  ASSERT_EQ(st.checked_out, 0);
  ASSERT_EQ(st.waiting, 0);
  ASSERT(st.open <= 3);
  qs_pool_release(p);
  remove(nbpath);
  return 0;
}
