/*
** conn.c: the generic connection over a driver.
**
** What every driver shares lives here, so a driver is only the translation
** to its client library: the bounded LRU cache of prepared statements keyed
** by SQL text, the statement handles given out to callers (detached when the
** connection closes, so a late release is always safe), and the transaction
** state with its deferred BEGIN (SQLite's lock model rewards sending BEGIN
** only before the first write; see docs/ARCHITECTURE.md).
**
** Waiting. Drivers run every server operation as steps that return QS_WAIT
** instead of blocking (quicksilver.h). Here the steps are driven: in
** blocking mode (the default) with poll() on the driver's socket, keeping
** the statement deadline (drivers with bClientTimeout: past it the cancel
** goes out, and past a grace period after that the connection is given
** up); in non-blocking mode QS_WAIT goes up to the caller, which waits its
** own way (a coroutine scheduler) and calls the same function again. Every
** function that talks to the server is therefore written to be called again
** with the same arguments: its state changes only when a driver call has
** ended, and what one call must carry over to the next (a statement
** prepared before its BEGIN, an executemany's position) lives on the
** connection while it is busy.
*/
#include "quicksilver.h"

#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_CACHE_SIZE 64
/* Seconds a cancelled statement has to end before its connection is given
** up (a server that has not stopped by then will not). */
#define CANCEL_GRACE 5.0

/* The functions that may return QS_WAIT, as the busy connection records
** which one must be called again. */
typedef enum conn_op {
  OP_NONE = 0, OP_CONNECT, OP_PREPARE, OP_STEP, OP_EXECMANY, OP_EXEC, OP_BEGIN,
  OP_COMMIT, OP_ROLLBACK, OP_SAVEPOINT, OP_RELEASE, OP_ROLLBACK_TO, OP_TIMEOUT
} conn_op;

/* One cached prepared statement. */
typedef struct cache_entry {
  struct cache_entry *prev, *next;  /* LRU list, most recent first */
  char *sql;                        /* the key, malloc'd */
  size_t n;                         /* key length */
  uint32_t hash;                    /* key hash, compared before the bytes */
  qs_dstmt *d;                      /* the driver statement */
  int in_use;                       /* held by a qs_stmt right now */
} cache_entry;

struct qs_stmt {
  qs_stmt *prev, *next;             /* the connection's list of live handles */
  qs_conn *conn;                    /* NULL once detached */
  qs_dstmt *d;                      /* NULL once detached */
  cache_entry *entry;               /* cache slot, or NULL when uncached */
  int streamed;                     /* its driver streams this execution (xStream) */
};

struct qs_conn {
  const qs_driver *drv;
  qs_dconn *d;                      /* NULL once closed */
  qs_error err;                     /* the last failure */
  cache_entry *lru;                 /* head of the cache list */
  int cache_count;
  int cache_cap;
  int64_t hits, misses;
  qs_stmt *live;                    /* handles given out and not released */
  char *begin_sql;                  /* "BEGIN" unless set */
  qs_begin_mode begin_mode;
  qs_txn_state txn;
  int timeout_ms;                   /* per statement, 0 none */
  /* waiting (see the file's header) */
  int nonblocking;                  /* QS_WAIT goes up to the caller */
  int connecting;                   /* started, qs_conn_connect not yet done */
  int busy;                         /* an operation returned QS_WAIT and goes on */
  conn_op op;                       /* which one */
  qs_stmt *op_stmt;                 /* its statement (step, executemany) */
  qs_stmt *begin_stmt;              /* prepare: the statement waiting for its BEGIN */
  double deadline;                  /* of the driver call in progress; 0: none */
  int cancelled;                    /* the deadline passed: cancel sent, grace running */
  int many_next;                    /* executemany by steps: the next set */
  int many_bound;                   /* ... and whether it is bound already */
  int64_t many_changes;
  /* streaming (qs_conn_set_stream) */
  int stream_next;                  /* the next statement handed out streams */
  qs_stmt *streaming;               /* a streamed statement with rows left */
  char *where;                      /* "host:port" a server connection tried (connect errors) */
};

static uint32_t hash_sql(const char *s, size_t n) {
  uint32_t h = 2166136261u;         /* FNV-1a: short keys, no attacker */
  size_t i;
  for (i = 0; i < n; i++) {
    h ^= (unsigned char)s[i];
    h *= 16777619u;
  }
  return h;
}

static void lru_unlink(qs_conn *c, cache_entry *e) {
  if (e->prev) e->prev->next = e->next; else c->lru = e->next;
  if (e->next) e->next->prev = e->prev;
  e->prev = e->next = NULL;
}

static void lru_push_front(qs_conn *c, cache_entry *e) {
  e->prev = NULL;
  e->next = c->lru;
  if (c->lru) c->lru->prev = e;
  c->lru = e;
}

static void entry_free(qs_conn *c, cache_entry *e) {
  if (e->d) c->drv->xFinalize(e->d);
  free(e->sql);
  free(e);
}

/* Evicts least recently used idle entries until the cache has room for n. */
static void cache_trim(qs_conn *c, int room) {
  cache_entry *e = c->lru, *last = NULL;
  while (e) { last = e; e = e->next; }
  e = last;
  while (e && c->cache_count + room > c->cache_cap) {
    cache_entry *prev = e->prev;
    if (!e->in_use) {
      lru_unlink(c, e);
      entry_free(c, e);
      c->cache_count--;
    }
    e = prev;
  }
}

static int closed_error(qs_conn *c) {
  return qs_error_set(&c->err, QS_CLOSED,
                      "attempt to use a closed quicksilver.Connection");
}

/* The entry check of a function that talks to the server: open, connected,
** and not busy with another operation (a second coroutine on the same
** connection would interleave protocol messages). */
static int enter(qs_conn *c, conn_op op, const qs_stmt *s) {
  if (c->d == NULL) return closed_error(c);
  if (c->streaming != NULL && (op != OP_STEP || c->streaming != s))
    return qs_error_set(&c->err, QS_MISUSE,
                        "a streamed result (stream_results / yield_per) is open on this "
                        "connection: fetch it to its end or close it before running anything "
                        "else on the connection");
  if (c->busy && (c->op != op || c->op_stmt != s))
    return qs_error_set(&c->err, QS_MISUSE,
                        "another operation is in progress on this connection (a connection "
                        "is not shared between concurrent coroutines)");
  if (c->connecting && op != OP_CONNECT)
    return qs_error_set(&c->err, QS_MISUSE, "this connection is not connected yet");
  return QS_OK;
}

/* A driver call begins, unless it is one going on: its deadline is set. */
static void call_begin(qs_conn *c) {
  if (c->busy) return;
  c->cancelled = 0;
  c->deadline = 0;
  if (c->timeout_ms > 0 && c->drv->bClientTimeout)
    c->deadline = qs_clock() + c->timeout_ms / 1000.0;
}

/* A driver call ended with rc. A failure that follows the timeout's cancel
** says so. */
static int call_end(qs_conn *c, int rc) {
  c->busy = 0;
  c->op = OP_NONE;
  c->op_stmt = NULL;
  if (rc < 0 && c->cancelled && c->d != NULL) {
    char *was = c->err.message;
    c->err.message = NULL;
    qs_error_set(&c->err, QS_OPERATIONAL, "statement timeout (%d ms) exceeded: %s",
                 c->timeout_ms, was ? was : "cancelled");
    free(was);
    rc = QS_OPERATIONAL;
  }
  c->cancelled = 0;
  c->deadline = 0;
  return rc;
}

/* Blocking mode's wait: poll() on what the driver waits for, then tell it. */
static int await_io(qs_conn *c) {
  for (;;) {
    int fd = -1, events, n, ready = 0, ms;
    double timeout;
    struct pollfd pfd;
    events = qs_conn_wait(c, &fd, &timeout);
    if (events != 0 && fd < 0 && c->drv->xOutput) {
      /* the caller's transport (a cosocket) must move the bytes: nothing to
      ** poll here, and the operation cannot go on; no half-done operation
      ** survives on the connection */
      qs_conn_close(c);
      qs_error_set(&c->err, QS_MISUSE, "this %s connection runs over an external transport "
                   "(an OpenResty cosocket): it works in non-blocking mode only, its "
                   "transport moving the bytes; connection closed", c->drv->zName);
      c->err.invalidated = 1;
      return QS_MISUSE;
    }
    if (events == 0 || fd < 0)
      return qs_error_set(&c->err, QS_INTERNAL, "the %s driver waits for nothing it can name",
                          c->drv->zName);
    pfd.fd = fd;
    pfd.events = (short)(((events & QS_WAIT_READ) ? POLLIN : 0) |
                         ((events & QS_WAIT_WRITE) ? POLLOUT : 0));
    pfd.revents = 0;
    ms = timeout < 0 ? -1 : timeout > 86400.0 ? 86400000 : (int)(timeout * 1000.0) + 1;
    n = poll(&pfd, 1, ms);
    if (n < 0) {
      if (errno == EINTR) continue;
      return qs_error_set(&c->err, QS_OPERATIONAL, "poll() failed: %s", strerror(errno));
    }
    if (n == 0) {
      ready = QS_WAIT_TIMEOUT;
    } else {
      if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) ready |= QS_WAIT_READ;
      if (pfd.revents & (POLLOUT | POLLHUP | POLLERR)) ready |= QS_WAIT_WRITE;
    }
    return qs_conn_ready(c, ready);
  }
}

/*
** DRIVE: rc gets what the driver call gives once it has ended, waiting in
** between in blocking mode; in non-blocking mode rc may be QS_WAIT, the
** connection busy, for the caller to hand up (after noting which function
** must be called again: wait_up).
*/
#define DRIVE(c, rc, call)                                              \
  do {                                                                  \
    call_begin(c);                                                      \
    for (;;) {                                                          \
      (rc) = (call);                                                    \
      if ((rc) != QS_WAIT) { (rc) = call_end((c), (rc)); break; }       \
      (c)->busy = 1;                                                    \
      if ((c)->nonblocking) break;                                      \
      if (((rc) = await_io(c)) != QS_OK) { (rc) = call_end((c), (rc)); break; } \
    }                                                                   \
  } while (0)

static int wait_up(qs_conn *c, conn_op op, qs_stmt *s) {
  c->op = op;
  c->op_stmt = s;
  return QS_WAIT;
}

void qs_conn_set_nonblocking(qs_conn *c, int on) { c->nonblocking = on != 0; }
int qs_conn_nonblocking(const qs_conn *c) { return c->nonblocking; }
int qs_conn_busy(const qs_conn *c) { return c->d != NULL && c->busy; }

int qs_conn_wait(const qs_conn *c, int *fd, double *timeout) {
  int events, tms = -1;
  double left = -1;
  *fd = -1;
  *timeout = -1;
  if (c->d == NULL || !c->busy) return 0;
  events = c->drv->xWait(c->d, fd, &tms);
  if (tms >= 0) left = tms / 1000.0;
  if (c->deadline > 0) {
    double d = c->deadline - qs_clock();
    if (d < 0) d = 0;
    if (left < 0 || d < left) left = d;
  }
  *timeout = left;
  return events;
}

size_t qs_conn_output(qs_conn *c, const char **p) {
  *p = NULL;
  if (c->d == NULL || c->drv->xOutput == NULL) return 0;
  return c->drv->xOutput(c->d, p);
}

void qs_conn_output_done(qs_conn *c, size_t n) {
  if (c->d != NULL && c->drv->xOutputDone != NULL) c->drv->xOutputDone(c->d, n);
}

int qs_conn_input(qs_conn *c, const char *p, size_t n) {
  if (c->d == NULL) return closed_error(c);
  if (c->drv->xInput == NULL)
    return qs_error_set(&c->err, QS_MISUSE, "the %s driver has no external transport to "
                        "give bytes to", c->drv->zName);
  return c->drv->xInput(c->d, p, n, &c->err);
}

/*
** qs_conn_ready: past the statement's deadline the cancel is sent and the
** statement gets CANCEL_GRACE seconds to end; past that the connection is
** closed and the operation fails (invalidated). Otherwise the driver hears
** what the wait saw.
*/
int qs_conn_ready(qs_conn *c, int events) {
  if (c->d == NULL) return closed_error(c);
  if ((events & QS_WAIT_TIMEOUT) && c->deadline > 0 && qs_clock() >= c->deadline) {
    if (!c->cancelled) {
      qs_error ignored;
      memset(&ignored, 0, sizeof ignored);
      c->cancelled = 1;
      c->deadline = qs_clock() + CANCEL_GRACE;
      if (c->drv->xCancel) (void)c->drv->xCancel(c->d, c->nonblocking, &ignored);
      qs_error_clear(&ignored);   /* unsent: the grace period ends it */
      events &= ~QS_WAIT_TIMEOUT;
    } else {
      int ms = c->timeout_ms;
      qs_conn_close(c);
      qs_error_set(&c->err, QS_OPERATIONAL,
                   "statement timeout (%d ms) exceeded and the server did not end the "
                   "cancelled statement within %.0f s: connection given up", ms, CANCEL_GRACE);
      c->err.invalidated = 1;
      return QS_OPERATIONAL;
    }
  }
  if (c->drv->xReady) c->drv->xReady(c->d, events);
  return QS_OK;
}

/* The option value of key, or NULL. */
static const char *conn_opt(int nopt, const char *const *keys, const char *const *vals,
                            const char *key) {
  int i;
  for (i = 0; i < nopt; i++)
    if (keys[i] && strcmp(keys[i], key) == 0) return vals[i];
  return NULL;
}

/* Where a server driver connects, as its connect errors name it: the socket,
** or host:port with the server's default port; NULL for SQLite (its open
** error names the file) and when out of memory. One allocation: the text,
** then the host (or socket) and the port the driver's own message may
** already name, each NUL-terminated. */
static char *connect_where(const qs_driver *drv, int nopt, const char *const *keys,
                           const char *const *vals) {
  const char *host = conn_opt(nopt, keys, vals, "host");
  const char *port = conn_opt(nopt, keys, vals, "port");
  const char *sock = conn_opt(nopt, keys, vals, "unix_socket");
  /* "postgresql" and "pgwire", "mysql" and "mywire" */
  int pg = drv->zName && (strstr(drv->zName, "postgres") || strstr(drv->zName, "pg"));
  int my = drv->zName && strstr(drv->zName, "my");
  size_t n, len;
  char *w;
  if (!pg && !my) return NULL;
  if (port == NULL || *port == '\0') port = pg ? "5432" : "3306";
  if (sock && *sock) host = sock;
  if (host && *host == '\0') host = NULL;
  n = 2 * (host ? strlen(host) : 0) + 2 * strlen(port) + 64;
  w = malloc(n);
  if (w == NULL) return NULL;
  if (sock && *sock) snprintf(w, n, "socket %s", sock);
  else if (host && *host == '/') snprintf(w, n, "socket directory %s, port %s", host, port);
  else if (host) snprintf(w, n, "%s:%s", host, port);
  else snprintf(w, n, "the local socket, port %s (the URL names no host)", port);
  len = strlen(w) + 1;
  snprintf(w + len, n - len, "%s", host ? host : "");
  len += strlen(w + len) + 1;
  snprintf(w + len, n - len, "%s", port);
  return w;
}

/* Whether msg holds word with no letter, digit or dot right before or after
** it (port "1" is not in "(111)" nor in "127.0.0.1"). */
static int has_word(const char *msg, const char *word) {
  size_t n = strlen(word);
  const char *p = msg;
  if (n == 0) return 1;
  while ((p = strstr(p, word)) != NULL) {
    int before = p > msg && (isalnum((unsigned char)p[-1]) || p[-1] == '.');
    int after = isalnum((unsigned char)p[n]) || p[n] == '.';
    if (!before && !after) return 1;
    p++;
  }
  return 0;
}

/* A failed connect names where it tried, unless the driver's message does
** already (libpq's names host and port, MariaDB's only the host). */
static void name_where(const char *where, qs_error *err) {
  const char *msg = err->message;
  const char *host, *port;
  char *copy;
  size_t n;
  if (where == NULL || msg == NULL || err->code == QS_NOMEM) return;
  host = where + strlen(where) + 1;
  port = host + strlen(host) + 1;
  if (strstr(msg, where) != NULL || (has_word(msg, host) && has_word(msg, port))) return;
  n = strlen(msg);
  copy = malloc(n + 1);
  if (copy == NULL) return;
  memcpy(copy, msg, n + 1);
  while (n > 0 && (copy[n - 1] == '\n' || copy[n - 1] == ' ')) copy[--n] = '\0';
  qs_error_set(err, err->code, "%s (connecting to %s)", copy, where);
  free(copy);
}

/*
** qs_conn_start: makes a connection and starts connecting through drv with
** the driver's options, without waiting. On failure *out is NULL and err
** holds the reason (the caller owns err).
*/
int qs_conn_start(const qs_driver *drv, int nopt, const char *const *keys,
                  const char *const *vals, qs_conn **out, qs_error *err) {
  qs_conn *c;
  int rc;
  *out = NULL;
  if (drv == NULL || drv->iVersion != QS_DRIVER_VERSION)
    return qs_error_set(err, QS_INTERFACE, "driver table has version %d, core expects %d",
                        drv ? drv->iVersion : -1, QS_DRIVER_VERSION);
  c = calloc(1, sizeof *c);
  if (c == NULL) return qs_error_set(err, QS_NOMEM, "out of memory");
  c->drv = drv;
  c->cache_cap = DEFAULT_CACHE_SIZE;
  c->begin_mode = drv->bLazyBegin ? QS_BEGIN_WRITE : QS_BEGIN_LAZY;
  c->where = connect_where(drv, nopt, keys, vals);
  rc = drv->xOpen(nopt, keys, vals, &c->d, err);
  if (rc != QS_OK) {
    name_where(c->where, err);
    if (c->d) drv->xClose(c->d);
    free(c->where);
    free(c);
    return rc;
  }
  c->connecting = 1;
  *out = c;
  return QS_OK;
}

/* qs_conn_connect: completes what qs_conn_start began. A failure closes the
** driver connection (the qs_conn stays, closed, for its error). */
int qs_conn_connect(qs_conn *c) {
  int rc = enter(c, OP_CONNECT, NULL);
  if (rc != QS_OK || !c->connecting) return rc;
  if (!c->busy) qs_error_clear(&c->err);
  DRIVE(c, rc, c->drv->xConnect(c->d, &c->err));
  if (rc == QS_WAIT) return wait_up(c, OP_CONNECT, NULL);
  if (rc != QS_OK) {
    qs_error err = c->err;   /* closing must not lose the reason */
    memset(&c->err, 0, sizeof c->err);
    qs_conn_close(c);
    qs_error_move(&c->err, &err);
    name_where(c->where, &c->err);
    c->err.invalidated = 1;
    return rc;
  }
  c->connecting = 0;
  return QS_OK;
}

/*
** qs_conn_open: opens a connection through drv with the driver's options,
** waiting as long as connecting takes. On failure *out is NULL and err holds
** the reason (the caller owns err).
*/
int qs_conn_open(const qs_driver *drv, int nopt, const char *const *keys,
                 const char *const *vals, qs_conn **out, qs_error *err) {
  qs_conn *c;
  int rc = qs_conn_start(drv, nopt, keys, vals, &c, err);
  *out = NULL;
  if (rc != QS_OK) return rc;
  rc = qs_conn_connect(c);
  if (rc != QS_OK) {
    qs_error_move(err, &c->err);
    qs_conn_free(c);
    return rc;
  }
  *out = c;
  return QS_OK;
}

void qs_conn_close(qs_conn *c) {
  qs_stmt *s;
  cache_entry *e;
  if (c == NULL || c->d == NULL) return;
  /* Detach live handles first: their driver statements die with the
  ** connection, but the handles stay valid until their owners release. */
  for (s = c->live; s; s = s->next) {
    if (s->entry == NULL && s->d) c->drv->xFinalize(s->d);
    s->conn = NULL;
    s->d = NULL;
    s->entry = NULL;
  }
  c->live = NULL;
  while ((e = c->lru) != NULL) {
    lru_unlink(c, e);
    entry_free(c, e);
  }
  c->cache_count = 0;
  c->drv->xClose(c->d);
  c->d = NULL;
  c->txn = QS_TXN_NONE;
  c->busy = 0;
  c->op = OP_NONE;
  c->op_stmt = NULL;
  c->begin_stmt = NULL;
  c->connecting = 0;
  c->streaming = NULL;
}

/*
** qs_conn_end_statements: ends every statement still open on c (a cursor
** not read to its end): cached ones are reset and go back to the cache,
** uncached ones are finalized, and each handle is detached, so its owner's
** next step fails with QS_CLOSED instead of reading whatever runs on c
** next. The pool calls it at checkin: a connection goes back with nothing
** of its last borrower still attached.
*/
void qs_conn_end_statements(qs_conn *c) {
  qs_stmt *s, *next;
  if (c == NULL || c->d == NULL) return;
  if (c->busy) {   /* mid-operation: nothing of it can be kept */
    qs_conn_close(c);
    return;
  }
  for (s = c->live; s; s = next) {
    next = s->next;
    if (s->entry) {
      c->drv->xReset(s->d);
      s->entry->in_use = 0;
    } else if (s->d) {
      c->drv->xFinalize(s->d);
    }
    s->prev = s->next = NULL;
    s->conn = NULL;
    s->d = NULL;
    s->entry = NULL;
  }
  c->live = NULL;
  c->streaming = NULL;   /* the drivers discard the rest with the next operation */
  if (c->cache_count > c->cache_cap) cache_trim(c, 0);
}

void qs_conn_free(qs_conn *c) {
  if (c == NULL) return;
  qs_conn_close(c);
  qs_error_clear(&c->err);
  free(c->begin_sql);
  free(c->where);
  free(c);
}

int qs_conn_is_open(const qs_conn *c) { return c != NULL && c->d != NULL; }
const qs_error *qs_conn_error(const qs_conn *c) { return &c->err; }
const qs_driver *qs_conn_driver(const qs_conn *c) { return c->drv; }

/* qs_conn_set_cache_size: n <= 0 disables caching; idle extras are evicted. */
void qs_conn_set_cache_size(qs_conn *c, int n) {
  c->cache_cap = n < 0 ? 0 : n;
  cache_trim(c, 0);
}

void qs_conn_cache_stats(const qs_conn *c, int64_t *hits, int64_t *misses,
                         int *size) {
  if (hits) *hits = c->hits;
  if (misses) *misses = c->misses;
  if (size) *size = c->cache_count;
}

int qs_conn_set_begin(qs_conn *c, const char *begin_sql, qs_begin_mode mode) {
  char *copy = NULL;
  if (begin_sql) {
    size_t n = strlen(begin_sql);
    copy = malloc(n + 1);
    if (copy == NULL) return qs_error_set(&c->err, QS_NOMEM, "out of memory");
    memcpy(copy, begin_sql, n + 1);
  }
  free(c->begin_sql);
  c->begin_sql = copy;
  c->begin_mode = mode;
  return QS_OK;
}

/* A driver xExec to its end (or QS_WAIT, busy, in non-blocking mode). */
static int exec_raw(qs_conn *c, const char *sql) {
  int rc;
  if (!c->busy) qs_error_clear(&c->err);
  DRIVE(c, rc, c->drv->xExec(c->d, sql, &c->err));
  return rc;
}

/* Sends the deferred BEGIN if the transaction has begun but not reached the
** database yet. */
static int ensure_begun(qs_conn *c) {
  int rc;
  if (c->txn != QS_TXN_BEGUN) return QS_OK;
  rc = exec_raw(c, c->begin_sql ? c->begin_sql : "BEGIN");
  if (rc == QS_OK) c->txn = QS_TXN_SENT;
  return rc;
}

qs_txn_state qs_conn_txn_state(const qs_conn *c) { return c->txn; }

/*
** qs_conn_begin: begins a transaction. With QS_BEGIN_EAGER the BEGIN is sent
** now; otherwise it is sent before the first statement (or first write).
*/
int qs_conn_begin(qs_conn *c) {
  int rc = enter(c, OP_BEGIN, NULL);
  if (rc != QS_OK) return rc;
  if (!c->busy) {
    if (c->txn != QS_TXN_NONE)
      return qs_error_set(&c->err, QS_MISUSE, "a transaction is already begun on this connection");
    c->txn = QS_TXN_BEGUN;
  }
  if (c->begin_mode == QS_BEGIN_EAGER) {
    rc = ensure_begun(c);
    if (rc == QS_WAIT) return wait_up(c, OP_BEGIN, NULL);
  }
  return rc;
}

/* Ends the transaction with sql (COMMIT/ROLLBACK); a BEGIN never sent needs
** nothing sent. Some failures (SQLite's FULL or IOERR) end the transaction
** in the database already, so ending it again is skipped; a COMMIT that
** fails while the database still holds the transaction (SQLite's BUSY)
** leaves it begun, for the caller to retry or roll back. */
static int end_txn(qs_conn *c, const char *sql, conn_op op) {
  int rc = enter(c, op, NULL);
  if (rc != QS_OK) return rc;
  if (c->busy || (c->txn == QS_TXN_SENT && c->drv->xInTransaction(c->d))) rc = exec_raw(c, sql);
  if (rc == QS_WAIT) return wait_up(c, op, NULL);
  if (c->d == NULL) return rc;   /* given up while it waited */
  c->txn = (rc != QS_OK && c->drv->xInTransaction(c->d)) ? QS_TXN_SENT : QS_TXN_NONE;
  return rc;
}

int qs_conn_commit(qs_conn *c) { return end_txn(c, "COMMIT", OP_COMMIT); }
int qs_conn_rollback(qs_conn *c) { return end_txn(c, "ROLLBACK", OP_ROLLBACK); }

/* Savepoint names come from the layer above (sp_1, ...); checking them keeps
** this the one place SQL is built from a string argument. */
static int savepoint_sql(qs_conn *c, const char *prefix, const char *name,
                         qs_buf *b) {
  const char *p;
  if (name == NULL || *name == '\0')
    return qs_error_set(&c->err, QS_ARGUMENT, "savepoint name is empty");
  for (p = name; *p; p++) {
    char ch = *p;
    if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_' ||
          (ch >= '0' && ch <= '9' && p != name)))
      return qs_error_set(&c->err, QS_ARGUMENT, "invalid savepoint name '%s'", name);
  }
  qs_buf_puts(b, prefix);
  qs_buf_puts(b, name);
  return b->failed ? qs_error_set(&c->err, QS_NOMEM, "out of memory") : QS_OK;
}

static int savepoint_cmd(qs_conn *c, const char *prefix, const char *name,
                         int need_txn, conn_op op) {
  qs_buf b;
  int rc = enter(c, op, NULL);
  if (rc != QS_OK) return rc;
  if (need_txn && c->txn == QS_TXN_NONE)
    return qs_error_set(&c->err, QS_MISUSE, "no transaction is begun");
  qs_buf_init(&b);
  rc = savepoint_sql(c, prefix, name, &b);
  if (rc == QS_OK) {
    /* A savepoint must sit inside the real transaction: SQLite would
    ** otherwise start one of its own that RELEASE then commits. */
    if (c->txn == QS_TXN_NONE) c->txn = QS_TXN_BEGUN;
    rc = ensure_begun(c);
  }
  if (rc == QS_OK) rc = exec_raw(c, b.p);
  qs_buf_free(&b);
  if (rc == QS_WAIT) return wait_up(c, op, NULL);
  return rc;
}

int qs_conn_savepoint(qs_conn *c, const char *name) {
  return savepoint_cmd(c, "SAVEPOINT ", name, 0, OP_SAVEPOINT);
}
int qs_conn_release(qs_conn *c, const char *name) {
  return savepoint_cmd(c, "RELEASE SAVEPOINT ", name, 1, OP_RELEASE);
}
int qs_conn_rollback_to(qs_conn *c, const char *name) {
  return savepoint_cmd(c, "ROLLBACK TO SAVEPOINT ", name, 1, OP_ROLLBACK_TO);
}

/* qs_conn_exec: runs a statement without parameters, outside the cache. */
int qs_conn_exec(qs_conn *c, const char *sql) {
  int rc = enter(c, OP_EXEC, NULL);
  if (rc != QS_OK) return rc;
  if (c->txn == QS_TXN_BEGUN) rc = ensure_begun(c);
  if (rc == QS_OK) rc = exec_raw(c, sql);
  if (rc == QS_WAIT) return wait_up(c, OP_EXEC, NULL);
  return rc;
}

int64_t qs_conn_changes(qs_conn *c) { return c->d ? c->drv->xChanges(c->d) : 0; }
int64_t qs_conn_last_insert_id(qs_conn *c) {
  return c->d ? c->drv->xLastInsertId(c->d) : 0;
}

int qs_conn_set_timeout(qs_conn *c, int ms) {
  int rc = enter(c, OP_TIMEOUT, NULL);
  if (rc != QS_OK) return rc;
  if (ms < 0) return qs_error_set(&c->err, QS_ARGUMENT, "statement timeout must not be negative");
  if (ms == c->timeout_ms) return QS_OK;
  if (c->drv->xSetTimeout == NULL)
    return qs_error_set(&c->err, QS_NOTSUPPORTED, "the %s driver cannot limit statement time",
                        c->drv->zName);
  if (!c->busy) qs_error_clear(&c->err);
  DRIVE(c, rc, c->drv->xSetTimeout(c->d, ms, &c->err));
  if (rc == QS_WAIT) return wait_up(c, OP_TIMEOUT, NULL);
  if (rc == QS_OK) c->timeout_ms = ms;
  return rc;
}

int qs_conn_timeout(const qs_conn *c) { return c->timeout_ms; }

/* Touches nothing of c but the driver connection: the thread that owns c
** may be inside any other function meanwhile. The error is the caller's. A
** non-blocking connection's cancel is sent detached: the caller (a
** scheduler's thread) does not wait for it. */
int qs_conn_cancel(qs_conn *c, qs_error *err) {
  qs_dconn *d = c->d;
  if (d == NULL) return qs_error_set(err, QS_CLOSED, "attempt to cancel on a closed connection");
  if (c->drv->xCancel == NULL)
    return qs_error_set(err, QS_NOTSUPPORTED, "the %s driver cannot cancel a statement",
                        c->drv->zName);
  return c->drv->xCancel(d, c->nonblocking, err);
}

static cache_entry *cache_find(qs_conn *c, const char *sql, size_t n, uint32_t h) {
  cache_entry *e;
  for (e = c->lru; e; e = e->next)
    if (e->hash == h && e->n == n && memcmp(e->sql, sql, n) == 0) return e;
  return NULL;
}

/* Puts s on the connection's list of handles given out. */
static void link_live(qs_conn *c, qs_stmt *s) {
  s->conn = c;
  s->next = c->live;
  if (c->live) c->live->prev = s;
  c->live = s;
}

/* The statement for sql: the cached one when idle; else a new one (cached
** when the cache has room for it). QS_WAIT while the driver prepares. */
static int take_statement(qs_conn *c, const char *sql, size_t n, qs_stmt **out) {
  uint32_t h = hash_sql(sql, n);
  cache_entry *e = cache_find(c, sql, n, h);
  qs_stmt *s;
  qs_dstmt *d = NULL;
  int rc;
  *out = NULL;
  if (e && !e->in_use && !c->busy) {
    s = calloc(1, sizeof *s);
    if (s == NULL) return qs_error_set(&c->err, QS_NOMEM, "out of memory");
    c->hits++;
    lru_unlink(c, e);
    lru_push_front(c, e);
    e->in_use = 1;
    s->entry = e;
    s->d = e->d;
    link_live(c, s);
    *out = s;
    return QS_OK;
  }
  if (!c->busy) {
    /* Every driver reads SQL text up to a NUL (libpq and the wire protocols
    ** end strings there, SQLite stops at it): what follows would be dropped
    ** without a word. Values with NULs go as parameters. */
    const char *nul = memchr(sql, 0, n);
    if (nul != NULL)
      return qs_error_set(&c->err, QS_ARGUMENT,
                          "the SQL text holds a NUL byte (at byte %zu of %zu); SQL text cannot "
                          "carry one: pass such a value as a bound parameter",
                          (size_t)(nul - sql) + 1, n);
  }
  DRIVE(c, rc, c->drv->xPrepare(c->d, sql, n, &d, &c->err));
  if (rc != QS_OK) return rc;   /* QS_WAIT included: called again, it goes on */
  c->misses++;
  s = calloc(1, sizeof *s);
  if (s == NULL) {
    c->drv->xFinalize(d);
    return qs_error_set(&c->err, QS_NOMEM, "out of memory");
  }
  s->d = d;
  if (e == NULL && c->cache_cap > 0) {
    cache_entry *ne = calloc(1, sizeof *ne);
    char *key = ne ? malloc(n + 1) : NULL;
    if (key) {
      memcpy(key, sql, n);
      key[n] = '\0';
      ne->sql = key;
      ne->n = n;
      ne->hash = h;
      ne->d = d;
      ne->in_use = 1;
      cache_trim(c, 1);
      lru_push_front(c, ne);
      c->cache_count++;
      s->entry = ne;
    } else {
      free(ne);   /* no memory to cache it: it simply stays uncached */
    }
  }
  link_live(c, s);
  *out = s;
  return QS_OK;
}

/*
** qs_conn_prepare: a statement for sql, from the cache when an idle one is
** there. When the cached one is in use (a cursor still open on it), a second,
** uncached statement is prepared. Sends a deferred BEGIN when due; a
** statement prepared while its BEGIN waits stays on the connection
** (begin_stmt) for the call that goes on.
*/
int qs_conn_prepare(qs_conn *c, const char *sql, size_t n, qs_stmt **out) {
  qs_stmt *s = NULL;
  int rc = enter(c, OP_PREPARE, NULL);
  *out = NULL;
  if (rc != QS_OK) return rc;
  if (c->begin_stmt != NULL) {
    s = c->begin_stmt;
  } else {
    if (!c->busy) qs_error_clear(&c->err);
    rc = take_statement(c, sql, n, &s);
    if (rc == QS_WAIT) return wait_up(c, OP_PREPARE, NULL);
    if (rc != QS_OK) return rc;
  }
  c->begin_stmt = NULL;
  if (c->stream_next) {
    c->stream_next = 0;
    s->streamed = c->drv->xStream != NULL && c->drv->xStream(s->d, 1);
  }
  if (c->txn == QS_TXN_BEGUN &&
      (c->begin_mode != QS_BEGIN_WRITE || !c->drv->xReadonly(s->d))) {
    rc = ensure_begun(c);
    if (rc == QS_WAIT) {
      c->begin_stmt = s;
      return wait_up(c, OP_PREPARE, NULL);
    }
    if (rc != QS_OK) {
      qs_error err = c->err;   /* keep BEGIN's error across the release */
      memset(&c->err, 0, sizeof c->err);
      qs_stmt_release(s);
      qs_error_move(&c->err, &err);
      return rc;
    }
  }
  *out = s;
  return QS_OK;
}

static int stmt_closed(qs_stmt *s) { return s->conn == NULL || s->d == NULL; }

int qs_stmt_param_count(qs_stmt *s) {
  return stmt_closed(s) ? 0 : s->conn->drv->xParamCount(s->d);
}

int qs_stmt_bind(qs_stmt *s, int n, const qs_value *vals) {
  qs_conn *c = s->conn;
  int expected;
  if (stmt_closed(s)) return QS_CLOSED;
  expected = c->drv->xParamCount(s->d);
  if (n != expected)
    return qs_error_set(&c->err, QS_ARGUMENT,
                        "the statement takes %d bind parameter%s, %d given",
                        expected, expected == 1 ? "" : "s", n);
  return c->drv->xBind(s->d, n, vals, &c->err);
}

int qs_stmt_step(qs_stmt *s) {
  qs_conn *c = s->conn;
  int rc;
  if (stmt_closed(s)) return QS_CLOSED;
  if ((c->busy || c->streaming) && (rc = enter(c, OP_STEP, s)) != QS_OK) return rc;
  DRIVE(c, rc, c->drv->xStep(s->d, &c->err));
  if (rc == QS_WAIT) return wait_up(c, OP_STEP, s);
  if (s->streamed) c->streaming = rc == QS_ROW && c->d != NULL ? s : NULL;
  return rc;
}

int qs_stmt_column_count(qs_stmt *s) {
  return stmt_closed(s) ? 0 : s->conn->drv->xColumnCount(s->d);
}

const char *qs_stmt_column_name(qs_stmt *s, int i) {
  return stmt_closed(s) ? NULL : s->conn->drv->xColumnName(s->d, i);
}

void qs_stmt_column(qs_stmt *s, int i, qs_value *out) {
  if (stmt_closed(s)) {
    out->type = QS_TNULL;
    return;
  }
  s->conn->drv->xColumn(s->d, i, out);
}

int qs_stmt_reset(qs_stmt *s) {
  if (stmt_closed(s)) return QS_CLOSED;
  if (s->conn->streaming == s) s->conn->streaming = NULL;
  s->streamed = 0;
  s->conn->drv->xReset(s->d);
  return QS_OK;
}

int qs_stmt_readonly(qs_stmt *s) {
  return stmt_closed(s) ? 1 : s->conn->drv->xReadonly(s->d);
}

qs_conn *qs_stmt_conn(qs_stmt *s) { return s->conn; }

void qs_conn_set_stream(qs_conn *c, int on) { c->stream_next = on != 0; }
int qs_conn_streaming(const qs_conn *c) { return c->d != NULL && c->streaming != NULL; }

/* executemany without the driver's batch: bound and stepped per set, the
** position kept on the connection while a step waits. */
static int execmany_by_steps(qs_conn *c, qs_stmt *s, int nsets, int nparams,
                             const qs_value *vals) {
  int rc = QS_OK;
  for (; c->many_next < nsets; c->many_next++) {
    if (!c->many_bound) {
      rc = c->drv->xBind(s->d, nparams, vals + (size_t)c->many_next * (size_t)nparams, &c->err);
      if (rc != QS_OK) return rc;
      c->many_bound = 1;
    }
    DRIVE(c, rc, c->drv->xStep(s->d, &c->err));
    if (rc == QS_WAIT) return rc;
    while (rc == QS_ROW) rc = c->drv->xStep(s->d, &c->err);   /* RETURNING rows: drained */
    c->many_bound = 0;
    if (rc != QS_DONE) return rc;
    c->many_changes += c->drv->xChanges(c->d);
    c->drv->xReset(s->d);
  }
  return QS_OK;
}

int qs_stmt_execmany(qs_stmt *s, int nsets, int nparams, const qs_value *vals, int64_t *changes) {
  qs_conn *c = s->conn;
  int rc;
  *changes = 0;
  if (stmt_closed(s)) return QS_CLOSED;
  if ((rc = enter(c, OP_EXECMANY, s)) != QS_OK) return rc;
  if (!c->busy) {
    if (nparams != c->drv->xParamCount(s->d))
      return qs_error_set(&c->err, QS_ARGUMENT, "the statement takes %d bind parameters, %d given",
                          c->drv->xParamCount(s->d), nparams);
    c->many_next = 0;
    c->many_bound = 0;
    c->many_changes = 0;
  }
  if (c->drv->xExecMany) {
    DRIVE(c, rc, c->drv->xExecMany(s->d, nsets, nparams, vals, &c->many_changes, &c->err));
  } else {
    rc = execmany_by_steps(c, s, nsets, nparams, vals);
  }
  if (rc == QS_WAIT) return wait_up(c, OP_EXECMANY, s);
  *changes = c->many_changes;
  return rc < 0 ? rc : QS_OK;
}

const char *qs_conn_notice(qs_conn *c, int i) {
  if (c->d == NULL || c->drv->xNotice == NULL) return NULL;
  return c->drv->xNotice(c->d, i);
}

void qs_conn_clear_notices(qs_conn *c) {
  if (c->d != NULL && c->drv->xClearNotices != NULL) c->drv->xClearNotices(c->d);
}

/*
** qs_stmt_release: returns the statement to its connection's cache (reset,
** so it holds no locks) or finalizes it when uncached, then frees the handle.
*/
void qs_stmt_release(qs_stmt *s) {
  qs_conn *c;
  if (s == NULL) return;
  c = s->conn;
  if (c != NULL && c->busy && (c->op_stmt == s || c->begin_stmt == s)) {
    /* released mid-operation (its coroutine abandoned it): the driver still
    ** holds it, so the connection goes; this detaches s */
    qs_conn_close(c);
    c = NULL;
  }
  if (c != NULL) {
    if (c->streaming == s) c->streaming = NULL;   /* the driver discards the rest */
    if (s->prev) s->prev->next = s->next; else c->live = s->next;
    if (s->next) s->next->prev = s->prev;
    if (s->entry) {
      c->drv->xReset(s->d);
      s->entry->in_use = 0;
      if (c->cache_count > c->cache_cap) cache_trim(c, 0);
    } else if (s->d) {
      c->drv->xFinalize(s->d);
    }
  }
  free(s);
}
