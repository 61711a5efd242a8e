/*
** pool.c: the connection pool (SQLAlchemy's QueuePool), thread-safe.
**
** A pool opens connections through its driver with options it keeps, hands
** them out and takes them back. One mutex guards the lists and counters;
** nothing slow (connecting, pinging, rolling back, closing) happens while it
** is held. A checkout that finds nothing idle and no room to open waits in
** line up to the timeout (0: does not wait).
**
** The line (FIFO tickets): every checkout that must wait, a thread's
** (qs_pool_checkout, parked on the condition variable) or a coroutine's
** (qs_pool_checkout_nb, which returns a ticket with an eventfd for the
** scheduler to wait on), queues a ticket. What comes free (a connection
** given back, or a slot freed by a connection closed, discarded or never
** opened) is handed to the head ticket, never left for whoever asks next:
** while anyone waits, newcomers queue behind them (no barging), so waiters
** are served in arrival order, threads and coroutines alike. A ticket that
** gives up passes what it was handed to the next in line. Invariant: while
** the line is not empty nothing is idle and every slot is taken.
**
** Health: connections older than recycle seconds, or older than the last
** invalidation (their peers saw the server go away), are replaced at
** checkout; with pre_ping an idle connection answers "SELECT 1" before it is
** handed out. Fork safety: a record remembers the process that opened it;
** in another process (a forked child) it is dropped without being used or
** closed, so no protocol message goes out on a socket the parent owns.
**
** Shared pools: qs_pool_shared() finds or creates a process-wide pool by
** name, reference-counted, for engines in several threads' Lua states.
*/
#include "quicksilver.h"
#include "clock.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#define MAX_WAIT 86400.0        /* seconds of one condvar wait at most */

struct qs_pool_rec {
  qs_pool_rec *next;            /* idle list */
  qs_conn *conn;
  double created;               /* monotonic seconds */
  pid_t pid;                    /* the process that opened it */
  int invalid;                  /* never to be handed out again */
};

/* A place in the line. What was handed to it: handed set, rec the
** connection, or NULL for a slot to open one in (counted in nopen). */
struct qs_pool_ticket {
  qs_pool_ticket *next;         /* the line */
  int fd;                       /* eventfd signalled when handed; -1: a thread's */
  int queued;                   /* still in the line */
  int handed;
  qs_pool_rec *rec;
};

struct qs_pool {
  pthread_mutex_t mu;
  pthread_cond_t cv;            /* threads whose tickets were handed something */
  const qs_driver *drv;
  int nopt;
  char **keys, **vals;
  qs_pool_conf conf;
  qs_pool_rec *idle;            /* most recently returned first */
  int nidle;
  int nopen;                    /* open connections, idle or checked out, and
                                ** slots handed to tickets */
  qs_pool_ticket *qhead, *qtail; /* the line, oldest first */
  int nqueued;
  double invalidated_at;        /* connections created before are recycled */
  qs_pool_stats stats;
  char *setup;                  /* conf.setup, owned */
  /* shared pools */
  char *name;
  int refs;
  qs_pool *next_shared;
};

static char *dup_str(const char *s) {
  size_t n = strlen(s);
  char *p = malloc(n + 1);
  if (p) memcpy(p, s, n + 1);
  return p;
}

static void free_options(qs_pool *p) {
  int i;
  for (i = 0; i < p->nopt; i++) {
    if (p->keys) free(p->keys[i]);
    if (p->vals) free(p->vals[i]);
  }
  free(p->keys);
  free(p->vals);
  free(p->setup);
}

/*
** qs_pool_conf_defaults: SQLAlchemy's QueuePool defaults, the one place they
** are written (the binding starts from them, core.pool_defaults() shows
** them to Lua).
*/
void qs_pool_conf_defaults(qs_pool_conf *conf) {
  memset(conf, 0, sizeof *conf);
  conf->size = 5;
  conf->overflow = 10;
  conf->timeout = 30;
  conf->recycle = -1;
  conf->lifo = 0;
  conf->pre_ping = 0;
  conf->reset_on_return = 1;
  conf->setup = NULL;
}

/* The condition variable waits on the clock qs_clock() reads, so a
** checkout's timeout is not shortened or stretched by a wall-clock jump. */
static int init_cond(pthread_cond_t *cv) {
  pthread_condattr_t attr;
  int rc = pthread_condattr_init(&attr);
  if (rc != 0) return rc;
  rc = pthread_condattr_setclock(&attr, QS__CLOCK_ID);
  if (rc == 0) rc = pthread_cond_init(cv, &attr);
  pthread_condattr_destroy(&attr);
  return rc;
}

/*
** qs_pool_new: a pool over drv with the driver options (copied). On failure
** returns NULL with err set.
*/
qs_pool *qs_pool_new(const qs_driver *drv, int nopt, const char *const *keys,
                     const char *const *vals, const qs_pool_conf *conf, qs_error *err) {
  qs_pool *p;
  int i;
  if (drv == NULL || drv->iVersion != QS_DRIVER_VERSION) {
    qs_error_set(err, QS_INTERFACE, "driver table of another version");
    return NULL;
  }
  p = calloc(1, sizeof *p);
  if (p == NULL) {
    qs_error_set(err, QS_NOMEM, "out of memory");
    return NULL;
  }
  p->drv = drv;
  p->conf = *conf;
  if (p->conf.size < 0) p->conf.size = 0;
  if (p->conf.overflow < 0) p->conf.overflow = 0;
  p->keys = calloc((size_t)nopt + 1, sizeof(char *));
  p->vals = calloc((size_t)nopt + 1, sizeof(char *));
  p->nopt = nopt;
  for (i = 0; p->keys && p->vals && i < nopt; i++) {
    p->keys[i] = dup_str(keys[i]);
    p->vals[i] = dup_str(vals[i]);
    if (!p->keys[i] || !p->vals[i]) break;
  }
  if (conf->setup) p->setup = dup_str(conf->setup);
  p->conf.setup = p->setup;
  if (!p->keys || !p->vals || i < nopt || (conf->setup && !p->setup)) {
    free_options(p);
    free(p);
    qs_error_set(err, QS_NOMEM, "out of memory");
    return NULL;
  }
  if (init_cond(&p->cv) != 0) {
    free_options(p);
    free(p);
    qs_error_set(err, QS_INTERNAL, "cannot make the pool's condition variable");
    return NULL;
  }
  p->invalidated_at = -1;
  p->refs = 1;
  pthread_mutex_init(&p->mu, NULL);
  return p;
}

/* Records inherited across fork(): their sockets belong to the parent, so
** they are neither used nor closed (closing sends a goodbye on the parent's
** socket); they stay reachable here until the child exits. */
static pthread_mutex_t forgotten_mu = PTHREAD_MUTEX_INITIALIZER;
static qs_pool_rec *forgotten;

static void close_rec(qs_pool_rec *r) {
  if (r->pid != getpid()) {
    pthread_mutex_lock(&forgotten_mu);
    r->next = forgotten;
    forgotten = r;
    pthread_mutex_unlock(&forgotten_mu);
    return;
  }
  qs_conn_free(r->conn);
  free(r);
}

/* The one idle record to try next (LIFO: most recent; FIFO: oldest). */
static qs_pool_rec *take_idle(qs_pool *p) {
  qs_pool_rec *r = p->idle, *prev = NULL;
  if (r == NULL) return NULL;
  if (!p->conf.lifo) {
    while (r->next) { prev = r; r = r->next; }
    if (prev) prev->next = NULL; else p->idle = NULL;
  } else {
    p->idle = r->next;
  }
  r->next = NULL;
  p->nidle--;
  return r;
}

/* Whether r may be handed out: same process, young enough, not older than
** the last invalidation. (pre_ping is asked separately, without the lock.) */
static int healthy(qs_pool *p, qs_pool_rec *r, double t, int *recycled) {
  if (r->pid != getpid() || r->invalid) return 0;
  if ((p->conf.recycle >= 0 && t - r->created > p->conf.recycle) || r->created <= p->invalidated_at) {
    *recycled = 1;
    return 0;
  }
  return qs_conn_is_open(r->conn);
}

/* ---- the line -------------------------------------------------------- */

static void enqueue(qs_pool *p, qs_pool_ticket *t) {
  t->next = NULL;
  t->queued = 1;
  t->handed = 0;
  t->rec = NULL;
  if (p->qtail) p->qtail->next = t;
  else p->qhead = t;
  p->qtail = t;
  p->nqueued++;
}

static void dequeue(qs_pool *p, qs_pool_ticket *t) {
  qs_pool_ticket **pp, *prev = NULL;
  for (pp = &p->qhead; *pp; prev = *pp, pp = &(*pp)->next) {
    if (*pp == t) {
      *pp = t->next;
      if (p->qtail == t) p->qtail = prev;
      p->nqueued--;
      break;
    }
  }
  t->next = NULL;
  t->queued = 0;
}

/*
** pass_on, under the lock: r (a connection fit to keep), or a slot (r NULL:
** a connection closed or never opened), comes free. The head ticket gets
** it and is woken (its eventfd, or the condition variable for a thread);
** with nobody waiting r goes idle while fewer than size are, else its slot
** is freed. Returns what the caller closes once unlocked (r not kept).
*/
static qs_pool_rec *pass_on(qs_pool *p, qs_pool_rec *r) {
  qs_pool_ticket *t = p->qhead;
  if (t) {
    dequeue(p, t);
    t->handed = 1;
    t->rec = r;
    if (t->fd >= 0) {
      uint64_t one = 1;
      /* cannot fail: one write per ticket never fills the counter */
      ssize_t n = write(t->fd, &one, sizeof one);
      (void)n;
    } else {
      pthread_cond_broadcast(&p->cv);   /* threads look at their own ticket */
    }
    return NULL;
  }
  if (r && p->nidle < p->conf.size) {
    r->next = p->idle;
    p->idle = r;
    p->nidle++;
    return NULL;
  }
  p->nopen--;
  return r;
}

/* grab, under the lock: what a checkout may take now without waiting: an
** idle connection in *r, or room to open one (*r NULL, the slot counted).
** 0: nothing (exhausted). Callers ask only when nobody is in line. */
static int grab(qs_pool *p, qs_pool_rec **r) {
  *r = take_idle(p);
  if (*r) return 1;
  if (p->nopen < p->conf.size + p->conf.overflow) {
    p->nopen++;
    return 1;
  }
  return 0;
}

/* claim, under the lock: r (idle, or handed to a ticket) when it may be
** handed out, its checkout counted; else NULL with r in *drop, for the
** caller to close unlocked (its slot stays the caller's, to open a new one
** in). */
static qs_pool_rec *claim(qs_pool *p, qs_pool_rec *r, qs_pool_rec **drop) {
  int recycled = 0;
  *drop = NULL;
  if (r == NULL) return NULL;
  if (!healthy(p, r, qs_clock(), &recycled)) {
    if (recycled) p->stats.recycled++;
    *drop = r;
    return NULL;
  }
  p->stats.checkouts++;
  return r;
}

/* Gives a slot the caller holds back (its connection failed to open). */
static void give_back_slot(qs_pool *p) {
  pthread_mutex_lock(&p->mu);
  pass_on(p, NULL);   /* returns NULL for a slot */
  pthread_mutex_unlock(&p->mu);
}

static void count_checkout(qs_pool *p, int connected) {
  pthread_mutex_lock(&p->mu);
  if (connected) p->stats.connects++;
  p->stats.checkouts++;
  pthread_mutex_unlock(&p->mu);
}

/* QS_TIMEOUT with SQLAlchemy's message; called locked, returns unlocked. */
static int timed_out(qs_pool *p, double timeout, qs_error *err) {
  int size = p->conf.size, overflow = p->conf.overflow;
  p->stats.timeouts++;
  pthread_mutex_unlock(&p->mu);
  return qs_error_set(err, QS_TIMEOUT,
                      "QueuePool limit of size %d overflow %d reached, connection timed out, timeout %.2f s",
                      size, overflow, timeout);
}

/* ---- blocking checkout ----------------------------------------------- */

/* Waits in line (a ticket on this stack) until handed something or the
** deadline; locked on entry and on a return of 1 (*r as grab's). */
static int wait_in_line(qs_pool *p, double deadline, qs_pool_rec **r) {
  qs_pool_ticket t;
  memset(&t, 0, sizeof t);
  t.fd = -1;
  enqueue(p, &t);
  while (!t.handed) {
    double left = deadline - qs_clock(), until;
    struct timespec ts;
    if (left <= 0) break;
    /* on qs_clock()'s clock, the condvar's (init_cond); a wait of more than
    ** a day (a huge timeout) is cut into days, so the seconds fit a time_t */
    until = left > MAX_WAIT ? qs_clock() + MAX_WAIT : deadline;
    ts.tv_sec = (time_t)until;
    ts.tv_nsec = (long)((until - (double)ts.tv_sec) * 1e9);
    if (ts.tv_nsec >= 1000000000L) ts.tv_nsec = 999999999L;
    (void)pthread_cond_timedwait(&p->cv, &p->mu, &ts);   /* timed out or woken: look */
  }
  if (!t.handed) {
    dequeue(p, &t);
    return 0;
  }
  *r = t.rec;
  return 1;
}

/*
** qs_pool_checkout: a connection, *fresh nonzero when it was just opened
** (the caller runs its per-connection setup). Waits in line up to timeout
** seconds (negative: the pool's timeout; 0: not at all) when the pool is
** exhausted or others wait already, then fails with QS_TIMEOUT. Connection
** failures come back in err. The connection is in blocking mode.
*/
int qs_pool_checkout(qs_pool *p, double timeout, qs_pool_rec **out, int *fresh, qs_error *err) {
  double deadline;
  qs_pool_rec *r = NULL, *nr, *drop;
  int rc;
  *out = NULL;
  *fresh = 0;
  if (timeout < 0) timeout = p->conf.timeout;
  deadline = qs_clock() + timeout;
  pthread_mutex_lock(&p->mu);
  if (p->qhead != NULL || !grab(p, &r)) {
    if (timeout <= 0 || !wait_in_line(p, deadline, &r)) return timed_out(p, timeout, err);
  }
  /* r, or a slot to open one in, is ours */
  r = claim(p, r, &drop);
  pthread_mutex_unlock(&p->mu);
  if (drop) close_rec(drop);
  if (r) {
    qs_conn_set_nonblocking(r->conn, 0);   /* a coroutine's before may have set it */
    if (!p->conf.pre_ping || qs_conn_exec(r->conn, "SELECT 1") == QS_OK) {
      *out = r;
      return QS_OK;
    }
    /* a dead one: its slot opens a new one, and, as SQLAlchemy's pre-ping
    ** does on a disconnect, every connection opened before now is replaced
    ** too (their server went away with this one's; qs_pool_discard, the
    ** non-blocking path, does the same through conn:invalidate()) */
    pthread_mutex_lock(&p->mu);
    p->stats.invalidated++;
    p->stats.checkouts--;   /* counted by claim; the new one counts instead */
    p->invalidated_at = qs_clock();
    pthread_mutex_unlock(&p->mu);
    close_rec(r);
  }
  nr = calloc(1, sizeof *nr);
  if (nr == NULL) rc = qs_error_set(err, QS_NOMEM, "out of memory");
  else rc = qs_conn_open(p->drv, p->nopt, (const char *const *)p->keys,
                         (const char *const *)p->vals, &nr->conn, err);
  if (rc != QS_OK) {
    give_back_slot(p);
    free(nr);
    return rc;
  }
  nr->created = qs_clock();
  nr->pid = getpid();
  count_checkout(p, 1);
  *out = nr;
  *fresh = 1;
  return QS_OK;
}

/* ---- checkout without blocking ----------------------------------------- */

static qs_pool_ticket *new_ticket(qs_error *err) {
  qs_pool_ticket *t = calloc(1, sizeof *t);
  if (t == NULL) {
    qs_error_set(err, QS_NOMEM, "out of memory");
    return NULL;
  }
  t->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (t->fd < 0) {
    int e = errno;
    free(t);
    qs_error_set(err, QS_INTERNAL, "cannot make the pool ticket's eventfd: %s", strerror(e));
    return NULL;
  }
  return t;
}

static void free_ticket(qs_pool_ticket *t) {
  if (t->fd >= 0) close(t->fd);
  free(t);
}

/* Hands r (claimed), or a new connection made in the caller's slot (r
** NULL), out to a non-blocking caller, *todo saying what it must do first;
** drop (claim's) is closed first. Called unlocked. */
static int hand_out_nb(qs_pool *p, qs_pool_rec *r, qs_pool_rec *drop, qs_pool_rec **out, int *todo,
                       qs_error *err) {
  qs_pool_rec *nr;
  int rc;
  if (drop) close_rec(drop);
  if (r) {
    qs_conn_set_nonblocking(r->conn, 1);
    *out = r;
    *todo = p->conf.pre_ping ? QS_POOL_PING : 0;
    return QS_OK;
  }
  nr = calloc(1, sizeof *nr);
  if (nr == NULL) rc = qs_error_set(err, QS_NOMEM, "out of memory");
  else rc = qs_conn_start(p->drv, p->nopt, (const char *const *)p->keys,
                          (const char *const *)p->vals, &nr->conn, err);
  if (rc != QS_OK) {
    give_back_slot(p);   /* the next in line tries in its turn */
    free(nr);
    return rc;
  }
  qs_conn_set_nonblocking(nr->conn, 1);
  nr->created = qs_clock();
  nr->pid = getpid();
  count_checkout(p, 1);
  *out = nr;
  *todo = QS_POOL_CONNECT;
  return QS_OK;
}

/*
** qs_pool_checkout_nb: a connection now (QS_OK, *todo what to do first) or
** a place in the line (QS_WAIT, *ticket); never waits, never talks to the
** server. See quicksilver.h.
*/
int qs_pool_checkout_nb(qs_pool *p, qs_pool_rec **out, int *todo, qs_pool_ticket **ticket,
                        qs_error *err) {
  qs_pool_ticket *t = NULL;
  qs_pool_rec *r = NULL, *drop;
  *out = NULL;
  *todo = 0;
  *ticket = NULL;
  pthread_mutex_lock(&p->mu);
  while (p->qhead != NULL || !grab(p, &r)) {
    if (t) {
      enqueue(p, t);
      pthread_mutex_unlock(&p->mu);
      *ticket = t;
      return QS_WAIT;
    }
    /* the ticket (a calloc and an eventfd) is made unlocked, then the
    ** pool looked at again: it may have changed meanwhile */
    pthread_mutex_unlock(&p->mu);
    t = new_ticket(err);
    if (t == NULL) return err->code;
    pthread_mutex_lock(&p->mu);
  }
  r = claim(p, r, &drop);
  pthread_mutex_unlock(&p->mu);
  if (t) free_ticket(t);
  return hand_out_nb(p, r, drop, out, todo, err);
}

int qs_pool_ticket_fd(const qs_pool_ticket *t) { return t->fd; }

/*
** qs_pool_ticket_take: QS_WAIT while nothing was handed to t; else t is
** freed and what it was handed handed out as by qs_pool_checkout_nb (an
** error, a new connection that could not be started, frees t as well).
*/
int qs_pool_ticket_take(qs_pool *p, qs_pool_ticket *t, qs_pool_rec **out, int *todo,
                        qs_error *err) {
  qs_pool_rec *r, *drop;
  *out = NULL;
  *todo = 0;
  pthread_mutex_lock(&p->mu);
  if (!t->handed) {
    pthread_mutex_unlock(&p->mu);
    return QS_WAIT;
  }
  r = claim(p, t->rec, &drop);
  pthread_mutex_unlock(&p->mu);
  free_ticket(t);
  return hand_out_nb(p, r, drop, out, todo, err);
}

/* qs_pool_ticket_cancel: t leaves the line; what it was handed goes to the
** next in line (or idle, or its slot freed). Frees t. A ticket that leaves
** still waiting is a checkout that gave up for want of a connection: it
** counts in stats.timeouts, as a blocking checkout's timeout does. */
void qs_pool_ticket_cancel(qs_pool *p, qs_pool_ticket *t) {
  qs_pool_rec *drop = NULL;
  if (t == NULL) return;
  pthread_mutex_lock(&p->mu);
  if (t->queued) {
    dequeue(p, t);
    p->stats.timeouts++;
  } else if (t->handed) {
    drop = pass_on(p, t->rec);
  }
  pthread_mutex_unlock(&p->mu);
  if (drop) close_rec(drop);
  free_ticket(t);
}

/* qs_pool_discard: r's connect or ping failed; it is closed and its slot
** handed on. */
void qs_pool_discard(qs_pool *p, qs_pool_rec *r) {
  pthread_mutex_lock(&p->mu);
  pass_on(p, NULL);
  pthread_mutex_unlock(&p->mu);
  close_rec(r);
}

/*
** qs_pool_checkin: takes r back. The statements the borrower left open are
** ended (their cursors fail from now on) and whatever transaction it left
** open is rolled back first (no lock or transaction leaks into the next
** checkout); a connection that cannot be reset, an invalidated one, one of
** another process, one still busy (a coroutine abandoned it mid-operation:
** a half-read reply may be on its socket) and one beyond pool size with
** nobody waiting is closed instead. A non-blocking connection's rollback
** does not wait (it returns QS_WAIT): such a connection with a transaction
** open is closed, never rolled back here (the Lua pool rolls back through
** the waiter before giving it back).
*/
void qs_pool_checkin(qs_pool *p, qs_pool_rec *r) {
  int keep = !r->invalid && r->pid == getpid() && qs_conn_is_open(r->conn) && !qs_conn_busy(r->conn);
  qs_pool_rec *drop;
  /* statements the borrower left open end here: a cursor kept past close
  ** must fail, never read the next borrower's rows */
  if (keep) qs_conn_end_statements(r->conn);
  if (keep && p->conf.reset_on_return && qs_conn_txn_state(r->conn) != QS_TXN_NONE)
    keep = qs_conn_rollback(r->conn) == QS_OK;
  pthread_mutex_lock(&p->mu);
  if (keep && r->created <= p->invalidated_at) keep = 0;
  drop = pass_on(p, keep ? r : NULL);
  pthread_mutex_unlock(&p->mu);
  if (!keep) drop = r;
  if (drop) close_rec(drop);
}

/* qs_pool_invalidate: r is dead; it and every connection opened before now
** are replaced (lazily, as they come by). */
void qs_pool_invalidate(qs_pool *p, qs_pool_rec *r) {
  pthread_mutex_lock(&p->mu);
  if (r) r->invalid = 1;
  p->invalidated_at = qs_clock();
  p->stats.invalidated++;
  pthread_mutex_unlock(&p->mu);
}

qs_conn *qs_pool_rec_conn(qs_pool_rec *r) { return r->conn; }
double qs_pool_rec_age(qs_pool_rec *r) { return qs_clock() - r->created; }

/* qs_pool_dispose: closes the idle connections; checked-out ones close
** when they come back (they are older than this moment). */
void qs_pool_dispose(qs_pool *p) {
  qs_pool_rec *r, *list;
  pthread_mutex_lock(&p->mu);
  list = p->idle;
  p->idle = NULL;
  p->nopen -= p->nidle;
  p->nidle = 0;
  p->invalidated_at = qs_clock();
  pthread_mutex_unlock(&p->mu);
  while ((r = list) != NULL) {
    list = r->next;
    close_rec(r);
  }
}

void qs_pool_status(qs_pool *p, qs_pool_status_t *st) {
  pthread_mutex_lock(&p->mu);
  st->size = p->conf.size;
  st->overflow = p->conf.overflow;
  st->open = p->nopen;
  st->idle = p->nidle;
  st->checked_out = p->nopen - p->nidle;
  st->waiting = p->nqueued;
  st->stats = p->stats;
  pthread_mutex_unlock(&p->mu);
}

static void destroy(qs_pool *p) {
  qs_pool_dispose(p);
  pthread_mutex_destroy(&p->mu);
  pthread_cond_destroy(&p->cv);
  free_options(p);
  free(p->name);
  free(p);
}

/* ---- shared pools ---------------------------------------------------- */

static pthread_mutex_t shared_mu = PTHREAD_MUTEX_INITIALIZER;
static qs_pool *shared_list;

/* The value of option key in p, or NULL. */
static const char *option_of(const qs_pool *p, const char *key) {
  int i;
  for (i = 0; i < p->nopt; i++)
    if (strcmp(p->keys[i], key) == 0) return p->vals[i];
  return NULL;
}

static int same_str(const char *a, const char *b) {
  return a == b || (a && b && strcmp(a, b) == 0);
}

/* Whether an attaching caller's settings are the pool's; if not, err names
** what differs. Option values are never shown (one may be a password). */
static int shared_matches(const qs_pool *p, const char *name, const qs_driver *drv, int nopt,
                          const char *const *keys, const char *const *vals,
                          const qs_pool_conf *conf, qs_error *err) {
  const qs_pool_conf *have = &p->conf;
  int i;
#define DIFF_(fmt, ...)                                                                  \
  do {                                                                                   \
    qs_error_set(err, QS_ARGUMENT, "shared pool '%s' exists with other settings: " fmt   \
                 " (every engine of a shared pool must be created with the same URL, "   \
                 "driver and pool options)", name, __VA_ARGS__);                         \
    return 0;                                                                            \
  } while (0)
  if (drv != p->drv) DIFF_("driver %s, not %s", p->drv->zName, drv->zName);
  for (i = 0; i < nopt; i++) {
    const char *v = option_of(p, keys[i]);
    if (v == NULL) DIFF_("connection option '%s' %s", keys[i], "is not among the pool's");
    if (strcmp(v, vals[i]) != 0) DIFF_("connection option '%s' %s", keys[i], "differs (from the URL or connect_args)");
  }
  for (i = 0; i < p->nopt; i++) {
    int j, found = 0;
    for (j = 0; j < nopt && !found; j++) found = strcmp(keys[j], p->keys[i]) == 0;
    if (!found) DIFF_("connection option '%s' %s", p->keys[i], "is missing");
  }
  if (conf->size != have->size) DIFF_("pool_size %d, not %d", have->size, conf->size);
  if (conf->overflow != have->overflow) DIFF_("max_overflow %d, not %d", have->overflow, conf->overflow);
  if (conf->timeout != have->timeout) DIFF_("pool_timeout %g, not %g", have->timeout, conf->timeout);
  if (conf->recycle != have->recycle) DIFF_("pool_recycle %g, not %g", have->recycle, conf->recycle);
  if (!conf->lifo != !have->lifo) DIFF_("pool_use_lifo %d, not %d", !!have->lifo, !!conf->lifo);
  if (!conf->pre_ping != !have->pre_ping) DIFF_("pool_pre_ping %d, not %d", !!have->pre_ping, !!conf->pre_ping);
  if (!conf->reset_on_return != !have->reset_on_return)
    DIFF_("pool_reset_on_return %d, not %d", !!have->reset_on_return, !!conf->reset_on_return);
  if (!same_str(conf->setup, have->setup))
    DIFF_("connection setup '%s', not '%s'", have->setup ? have->setup : "", conf->setup ? conf->setup : "");
#undef DIFF_
  return 1;
}

/*
** qs_pool_shared: the process-wide pool called name, created from the given
** settings by the first caller; later callers attach when their settings
** are the same (else QS_ARGUMENT naming the difference) and must
** qs_pool_release it. The pool lives while anyone holds a reference.
*/
qs_pool *qs_pool_shared(const char *name, const qs_driver *drv, int nopt, const char *const *keys,
                        const char *const *vals, const qs_pool_conf *conf, qs_error *err) {
  qs_pool *p;
  pthread_mutex_lock(&shared_mu);
  for (p = shared_list; p; p = p->next_shared) {
    if (strcmp(p->name, name) == 0) {
      if (!shared_matches(p, name, drv, nopt, keys, vals, conf, err)) p = NULL;
      else p->refs++;
      pthread_mutex_unlock(&shared_mu);
      return p;
    }
  }
  p = qs_pool_new(drv, nopt, keys, vals, conf, err);
  if (p) {
    p->name = dup_str(name);
    if (p->name == NULL) {
      destroy(p);
      p = NULL;
      qs_error_set(err, QS_NOMEM, "out of memory");
    } else {
      p->next_shared = shared_list;
      shared_list = p;
    }
  }
  pthread_mutex_unlock(&shared_mu);
  return p;
}

/* qs_pool_retain: one more holder (a checked-out connection keeps its pool). */
void qs_pool_retain(qs_pool *p) {
  pthread_mutex_lock(&shared_mu);
  p->refs++;
  pthread_mutex_unlock(&shared_mu);
}

/* qs_pool_release: drops a reference; the last one frees the pool. */
void qs_pool_release(qs_pool *p) {
  int last;
  if (p == NULL) return;
  pthread_mutex_lock(&shared_mu);
  last = --p->refs == 0;
  if (last && p->name) {
    qs_pool **pp;
    for (pp = &shared_list; *pp; pp = &(*pp)->next_shared)
      if (*pp == p) { *pp = p->next_shared; break; }
  }
  pthread_mutex_unlock(&shared_mu);
  if (last) destroy(p);
}
