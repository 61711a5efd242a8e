/*
** pg_steps_server.c: the PostgreSQL driver's operations as steps, through
** the public qs_conn API in non-blocking mode against a real server: this
** program is its own scheduler (one poll() over qs_conn_wait's sockets, then
** qs_conn_ready, then the same call again). Two sleeping queries on two
** connections overlap; a connect goes in steps, a refused port and a server
** that never answers (connect_timeout) fail cleanly; a statement timeout
** cancels on the server and the connection goes on; executemany of 20,000
** sets runs as steps; statements evicted from the cache are deallocated by
** the next operation; a backend terminated mid-query fails that operation
** with invalidated set.
** Usage: pg_steps_server HOST PORT USER PASSWORD DBNAME; prints
** "N passed, N failed".
*/
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "quicksilver.h"
#include "../test.h"

static test_tally tally;

#define CHECK(name, expr) TEST_CHECK(&tally, name, expr)

#define MANY_SETS 20000

static const char *message(const qs_conn *c) {
  const char *m = qs_conn_error(c)->message;
  return m ? m : "";
}

/* ---- a tiny scheduler ------------------------------------------------------ */

enum { K_CONNECT, K_EXEC, K_QUERY, K_MANY, K_TIMEOUT };

/* One operation on one connection, called again until it ends. */
typedef struct op {
  qs_conn *c;
  int kind;
  const char *sql;           /* K_EXEC, K_QUERY, K_MANY */
  int ms;                    /* K_TIMEOUT */
  int nsets;                 /* K_MANY: sets of 2 values */
  const qs_value *vals;
  qs_stmt *st;
  int64_t changes;
  long long first;           /* K_QUERY: the first row's first column (an integer) */
  char text[256];            /* ... or its text */
  int rows;
  int waits;                 /* QS_WAIT returned */
  int started;               /* called once */
  int rc;                    /* how it ended */
  int done;
} op;

static void op_init(op *o, qs_conn *c, int kind, const char *sql) {
  memset(o, 0, sizeof *o);
  o->c = c;
  o->kind = kind;
  o->sql = sql;
}

static void op_end(op *o, int rc) {
  o->rc = rc;
  o->done = 1;
  if (o->st) qs_stmt_release(o->st);
  o->st = NULL;
}

/* Calls the operation's function once: QS_WAIT, or it ended (o->done). */
static int op_call(op *o) {
  int rc;
  o->started = 1;
  switch (o->kind) {
    case K_CONNECT: rc = qs_conn_connect(o->c); break;
    case K_EXEC: rc = qs_conn_exec(o->c, o->sql); break;
    case K_TIMEOUT: rc = qs_conn_set_timeout(o->c, o->ms); break;
    default:
      if (o->st == NULL) {
        rc = qs_conn_prepare(o->c, o->sql, strlen(o->sql), &o->st);
        if (rc != QS_OK) break;
      }
      if (o->kind == K_MANY) {
        rc = qs_stmt_execmany(o->st, o->nsets, 2, o->vals, &o->changes);
        break;
      }
      rc = qs_stmt_step(o->st);
      while (rc == QS_ROW) {
        if (o->rows++ == 0) {
          qs_value v;
          qs_stmt_column(o->st, 0, &v);
          if (v.type == QS_TINT || v.type == QS_TBOOL) o->first = (long long)v.u.i;
          if (v.type == QS_TTEXT)
            snprintf(o->text, sizeof o->text, "%.*s", (int)v.u.s.n, v.u.s.p);
        }
        rc = qs_stmt_step(o->st);
      }
      if (rc == QS_DONE) rc = QS_OK;
      break;
  }
  if (rc == QS_WAIT) {
    o->waits++;
    return rc;
  }
  op_end(o, rc);
  return rc;
}

static short poll_events(int ev) {
  return (short)((ev & QS_WAIT_READ ? POLLIN : 0) | (ev & QS_WAIT_WRITE ? POLLOUT : 0));
}

/* Runs the n operations together to their ends: each one's first call (when
** not made yet), then one poll() over the sockets of those waiting (up to the
** nearest deadline), qs_conn_ready for each, and the next call of those that
** may go on. */
static void run_ops(op **ops, int n) {
  int i, left = 0;
  for (i = 0; i < n; i++)
    if (!ops[i]->done && (ops[i]->started || op_call(ops[i]) == QS_WAIT)) left++;
  while (left > 0) {
    struct pollfd pfd[8];
    int which[8], k = 0, timeout = -1, got;
    for (i = 0; i < n; i++) {
      int fd, ev;
      double t;
      if (ops[i]->done) continue;
      ev = qs_conn_wait(ops[i]->c, &fd, &t);
      pfd[k].fd = fd;
      pfd[k].events = poll_events(ev);
      pfd[k].revents = 0;
      which[k++] = i;
      if (t >= 0 && (timeout < 0 || (int)(t * 1000.0) + 1 < timeout)) timeout = (int)(t * 1000.0) + 1;
    }
    got = poll(pfd, (nfds_t)k, timeout);
    for (i = 0; i < k; i++) {
      op *o = ops[which[i]];
      int seen = 0, rc;
      short re = pfd[i].revents;
      if (got < 0) continue;   /* EINTR: wait again */
      if (re & (POLLIN | POLLHUP | POLLERR)) seen |= QS_WAIT_READ;
      if (re & (POLLOUT | POLLERR)) seen |= QS_WAIT_WRITE;
      if (seen == 0) {
        int fd;
        double t;
        qs_conn_wait(o->c, &fd, &t);
        if (t < 0 || t > 0.001) continue;   /* its own time has not come */
        seen = QS_WAIT_TIMEOUT;
      }
      rc = qs_conn_ready(o->c, seen);
      if (rc != QS_OK) {   /* the core gave the connection up */
        op_end(o, rc);
        left--;
        continue;
      }
      if (op_call(o) != QS_WAIT) left--;
    }
  }
}

static int run1(op *o) {
  run_ops(&o, 1);
  return o->rc;
}

static void set_opt(const char **keys, const char **vals, int *n, const char *k, const char *v) {
  if (v == NULL || v[0] == '\0') return;   /* no password: trust auth */
  keys[*n] = k;
  vals[(*n)++] = v;
}

/* libpq "options" for the next connect_nb, or NULL. */
static const char *server_options;

/* A connection made in steps, non-blocking; NULL when it failed (err says why). */
static qs_conn *connect_nb(char **argv, const char *port, const char *timeout, int *waits,
                           qs_error *err) {
  const char *keys[7], *vals[7];
  int n = 0;
  qs_conn *c = NULL;
  op o;
  set_opt(keys, vals, &n, "host", argv[1]);
  set_opt(keys, vals, &n, "port", port);
  set_opt(keys, vals, &n, "user", argv[3]);
  set_opt(keys, vals, &n, "password", argv[4]);
  set_opt(keys, vals, &n, "database", argv[5]);
  set_opt(keys, vals, &n, "connect_timeout", timeout);
  set_opt(keys, vals, &n, "options", server_options);
  if (qs_conn_start(&qs_libpq_driver, n, keys, vals, &c, err) != QS_OK) return NULL;
  qs_conn_set_nonblocking(c, 1);
  op_init(&o, c, K_CONNECT, NULL);
  if (run1(&o) != QS_OK) {
    const qs_error *e = qs_conn_error(c);
    qs_error_set(err, e->code ? e->code : o.rc, "%s", e->message ? e->message : "?");
    err->invalidated = e->invalidated;
    qs_conn_free(c);
    return NULL;
  }
  if (waits) *waits = o.waits;
  return c;
}

/* The first column of sql's first row, on a blocking connection. */
static long long query_int(qs_conn *c, const char *sql) {
  op o;
  op_init(&o, c, K_QUERY, sql);
  o.first = -1;
  if (run1(&o) != QS_OK) printf("     (%s: %s)\n", sql, message(c));
  return o.first;
}

/* A TCP port nothing listens on (bound, then closed), or one that listens
** and never answers (*lfd stays open). */
static int local_port(int keep, int *lfd) {
  struct sockaddr_in a;
  socklen_t len = sizeof a;
  int fd = socket(AF_INET, SOCK_STREAM, 0), port;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
      getsockname(fd, (struct sockaddr *)&a, &len) != 0 || (keep && listen(fd, 8) != 0)) {
    if (fd >= 0) close(fd);
    return 0;
  }
  port = ntohs(a.sin_port);
  if (keep) *lfd = fd; else close(fd);
  return port;
}

/* ---- the checks -------------------------------------------------------- */

static void check_connect(char **argv) {
  qs_error err;
  qs_conn *c;
  int waits = 0, lfd = -1, port;
  char portbuf[16];
  double t0, took;
  memset(&err, 0, sizeof err);
  c = connect_nb(argv, argv[2], NULL, &waits, &err);
  CHECK("connect in steps", c != NULL && waits >= 1);
  if (c) {
    CHECK("connected non-blocking: the connection works", query_int(c, "SELECT 41 + 1") == 42);
    qs_conn_free(c);
  } else {
    printf("     (%s)\n", err.message ? err.message : "?");
  }
  qs_error_clear(&err);

  port = local_port(0, NULL);
  snprintf(portbuf, sizeof portbuf, "%d", port);
  c = connect_nb(argv, portbuf, NULL, NULL, &err);
  CHECK("a refused port fails", port > 0 && c == NULL && err.code == QS_OPERATIONAL);
  CHECK("... saying it could not connect", err.message && strstr(err.message, "could not connect to PostgreSQL") != NULL);
  CHECK("... the connection invalidated", err.invalidated);
  printf("     (%s)\n", err.message ? err.message : "?");
  if (c) qs_conn_free(c);
  qs_error_clear(&err);

  c = connect_nb(argv, argv[2], "soon", NULL, &err);
  CHECK("a connect_timeout that is not whole seconds is refused (ArgumentError)",
        c == NULL && err.code == QS_ARGUMENT && err.message && strstr(err.message, "connect_timeout") != NULL);
  if (c) qs_conn_free(c);
  qs_error_clear(&err);

  port = local_port(1, &lfd);
  snprintf(portbuf, sizeof portbuf, "%d", port);
  t0 = qs_clock();
  c = connect_nb(argv, portbuf, "2", NULL, &err);
  took = qs_clock() - t0;
  CHECK("a server that never answers: connect_timeout fails it", port > 0 && c == NULL &&
                                                                  err.code == QS_OPERATIONAL);
  CHECK("... within its time", took >= 1.5 && took < 3.5);
  CHECK("... saying so", err.message && strstr(err.message, "timeout expired") != NULL);
  printf("     (%.2f s: %s)\n", took, err.message ? err.message : "?");
  if (c) qs_conn_free(c);
  if (lfd >= 0) close(lfd);
  qs_error_clear(&err);
}

/* A role or server with another date or interval style is set back to the
** ones the driver reads, by a query that is part of the connect's steps. */
static void check_datestyle(char **argv) {
  qs_error err;
  qs_conn *c;
  op o;
  memset(&err, 0, sizeof err);
  server_options = "-c DateStyle=SQL,DMY -c IntervalStyle=iso_8601";
  c = connect_nb(argv, argv[2], NULL, NULL, &err);
  server_options = NULL;
  CHECK("connect with another DateStyle", c != NULL);
  if (c == NULL) {
    printf("     (%s)\n", err.message ? err.message : "?");
    qs_error_clear(&err);
    return;
  }
  op_init(&o, c, K_QUERY, "SHOW DateStyle");
  CHECK("... set back to ISO by the connect", run1(&o) == QS_OK && strncmp(o.text, "ISO", 3) == 0);
  op_init(&o, c, K_QUERY, "SHOW IntervalStyle");
  CHECK("... and the interval style to postgres", run1(&o) == QS_OK && strcmp(o.text, "postgres") == 0);
  qs_conn_free(c);
}

static void check_overlap(qs_conn *a, qs_conn *b) {
  op x, y, *both[2];
  double t0, took;
  op_init(&x, a, K_QUERY, "SELECT pg_sleep(0.3)::text");
  op_init(&y, b, K_QUERY, "SELECT pg_sleep(0.3)::text");
  both[0] = &x;
  both[1] = &y;
  t0 = qs_clock();
  run_ops(both, 2);
  took = qs_clock() - t0;
  CHECK("two sleeping queries both succeed", x.rc == QS_OK && y.rc == QS_OK && x.rows == 1 && y.rows == 1);
  CHECK("... waiting, not blocking", x.waits >= 1 && y.waits >= 1);
  CHECK("... overlapped: 2 x 0.3 s in < 0.55 s", took >= 0.29 && took < 0.55);
  printf("     (%.3f s)\n", took);
}

static void check_timeout(qs_conn *c, qs_conn *watch) {
  op o;
  double t0, took;
  long long active;
  op_init(&o, c, K_TIMEOUT, NULL);
  o.ms = 200;
  CHECK("timeout set", run1(&o) == QS_OK);
  op_init(&o, c, K_QUERY, "SELECT pg_sleep(5)::text AS steps_timeout");
  t0 = qs_clock();
  run1(&o);
  took = qs_clock() - t0;
  CHECK("timed out: OPERATIONAL", o.rc == QS_OPERATIONAL);
  CHECK("... at its limit, not the statement's end", took >= 0.19 && took < 2.0);
  CHECK("... the core's message", strstr(message(c), "statement timeout (200 ms) exceeded") != NULL);
  CHECK("... the server's cancel under it", strcmp(qs_conn_error(c)->sqlstate, "57014") == 0);
  CHECK("... not invalidated", !qs_conn_error(c)->invalidated);
  printf("     (%.2f s: %s)\n", took, message(c));
  active = query_int(watch, "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' "
                            "AND query LIKE '%steps_timeout%' AND pid <> pg_backend_pid()");
  CHECK("cancelled on the server (pg_stat_activity)", active == 0);
  op_init(&o, c, K_TIMEOUT, NULL);
  CHECK("timeout off", run1(&o) == QS_OK);
  CHECK("the connection goes on", query_int(c, "SELECT 7") == 7);
}

static void check_many(qs_conn *c) {
  qs_value *vals = calloc(2 * MANY_SETS, sizeof *vals);
  op o;
  int i;
  double t0;
  if (vals == NULL) {
    CHECK("memory for the sets", 0);
    return;
  }
  op_init(&o, c, K_EXEC, "CREATE TEMP TABLE steps_many (id int PRIMARY KEY, note text)");
  CHECK("table made", run1(&o) == QS_OK);
  for (i = 0; i < MANY_SETS; i++) {
    vals[2 * i].type = QS_TINT;
    vals[2 * i].u.i = i + 1;
    vals[2 * i + 1].type = QS_TTEXT;
    vals[2 * i + 1].u.s.p = "a note long enough to fill the socket buffers in both directions";
    vals[2 * i + 1].u.s.n = strlen(vals[2 * i + 1].u.s.p);
  }
  op_init(&o, c, K_MANY, "INSERT INTO steps_many (id, note) VALUES ($1::int, $2::text)");
  o.nsets = MANY_SETS;
  o.vals = vals;
  t0 = qs_clock();
  run1(&o);
  CHECK("executemany of 20,000 sets in steps", o.rc == QS_OK && o.changes == MANY_SETS);
  CHECK("... it waited (as steps)", o.waits >= 1);
  printf("     (%.2f s, %d waits%s%s)\n", qs_clock() - t0, o.waits, o.rc ? ": " : "",
         o.rc ? message(c) : "");
  CHECK("... every row there", query_int(c, "SELECT count(*) FROM steps_many") == MANY_SETS);
  /* a failing set: its error; the batch, one implicit transaction up to its
  ** sync, leaves nothing; the connection goes on */
  vals[2 * 2].u.i = 5;   /* the third set repeats the fifth id of the first run */
  vals[0].u.i = MANY_SETS + 1;
  vals[2].u.i = MANY_SETS + 2;
  op_init(&o, c, K_MANY, "INSERT INTO steps_many (id, note) VALUES ($1::int, $2::text)");
  o.nsets = 100;
  o.vals = vals;
  run1(&o);
  CHECK("a failing set fails the batch (IntegrityError)", o.rc == QS_INTEGRITY);
  CHECK("... nothing of it kept, the connection goes on",
        query_int(c, "SELECT count(*) FROM steps_many") == MANY_SETS);
  /* a batch is timed as a whole, as any statement: cancelled past its limit */
  for (i = 0; i < 20; i++) {
    vals[2 * i].type = QS_TFLOAT;
    vals[2 * i].u.f = 0.1;
  }
  op_init(&o, c, K_TIMEOUT, NULL);
  o.ms = 300;
  run1(&o);
  op_init(&o, c, K_MANY, "SELECT pg_sleep($1::float8), $2::text");
  o.nsets = 20;
  o.vals = vals;
  t0 = qs_clock();
  run1(&o);
  CHECK("a batch past the statement timeout is cancelled", o.rc == QS_OPERATIONAL &&
        strstr(message(c), "statement timeout (300 ms) exceeded") != NULL);
  CHECK("... at its limit, not after 20 x 0.1 s", qs_clock() - t0 < 1.5);
  printf("     (%.2f s: %s)\n", qs_clock() - t0, message(c));
  op_init(&o, c, K_TIMEOUT, NULL);
  run1(&o);
  CHECK("... the connection goes on", query_int(c, "SELECT 8") == 8);
  free(vals);
}

static void check_deallocate(qs_conn *c) {
  op o;
  const char *count = "SELECT count(*) FROM pg_prepared_statements WHERE statement = 'SELECT 11'";
  qs_conn_set_cache_size(c, 2);
  CHECK("a cached statement", query_int(c, "SELECT 11") == 11);
  CHECK("... prepared on the server", query_int(c, count) == 1);
  /* a third statement evicts "SELECT 11" (the least recently used) */
  CHECK("another statement", query_int(c, "SELECT 12") == 12);
  CHECK("the evicted one is deallocated by the next operation", query_int(c, count) == 0);
  CHECK("... the cached ones stay", query_int(c, "SELECT count(*) FROM pg_prepared_statements") == 2);
  /* DEALLOCATE ALL by hand: the cached statements are prepared again, and
  ** none is deallocated again (inside a transaction that would abort it) */
  qs_conn_set_cache_size(c, 1);
  CHECK("a cached statement again", query_int(c, "SELECT 11") == 11);
  op_init(&o, c, K_EXEC, "DEALLOCATE ALL");
  CHECK("DEALLOCATE ALL by hand", run1(&o) == QS_OK);
  CHECK("... the statement is prepared again", query_int(c, "SELECT 11") == 11);
  op_init(&o, c, K_EXEC, "DEALLOCATE ALL");
  run1(&o);
  op_init(&o, c, K_EXEC, "BEGIN");
  CHECK("begin", run1(&o) == QS_OK);
  CHECK("a statement evicting one the server dropped, in the transaction", query_int(c, "SELECT 12") == 12);
  CHECK("... the transaction is not aborted", query_int(c, "SELECT 13") == 13);
  op_init(&o, c, K_EXEC, "COMMIT");
  CHECK("commit", run1(&o) == QS_OK);
  qs_conn_set_cache_size(c, 64);
}

static void check_terminated(qs_conn *c, qs_conn *killer) {
  long long pid = query_int(c, "SELECT pg_backend_pid()");
  char sql[96];
  op o, k;
  double t0;
  int rc;
  op_init(&o, c, K_QUERY, "SELECT pg_sleep(10)::text");
  t0 = qs_clock();
  CHECK("a long query under way", op_call(&o) == QS_WAIT && qs_conn_busy(c));
  rc = qs_conn_exec(c, "SELECT 1");
  CHECK("a second operation on a busy connection is refused (MISUSE)", rc == QS_MISUSE);
  snprintf(sql, sizeof sql, "SELECT pg_terminate_backend(%lld)", pid);
  op_init(&k, killer, K_QUERY, sql);
  CHECK("its backend terminated from another connection", run1(&k) == QS_OK && k.first == 1);
  run1(&o);   /* goes on waiting */
  CHECK("the query fails: OPERATIONAL", o.rc == QS_OPERATIONAL);
  CHECK("... with invalidated set", qs_conn_error(c)->invalidated);
  CHECK("... at once, not after the sleep", qs_clock() - t0 < 5.0);
  printf("     (%s)\n", message(c));
}

int main(int argc, char **argv) {
  qs_error err;
  qs_conn *a, *b;
  if (argc != 6) {
    fprintf(stderr, "usage: %s HOST PORT USER PASSWORD DBNAME\n", argv[0]);
    return 2;
  }
  memset(&err, 0, sizeof err);
  check_connect(argv);
  check_datestyle(argv);
  a = connect_nb(argv, argv[2], NULL, NULL, &err);
  b = a ? connect_nb(argv, argv[2], NULL, NULL, &err) : NULL;
  if (a == NULL || b == NULL) {
    fprintf(stderr, "cannot connect: %s\n", err.message ? err.message : "?");
    qs_error_clear(&err);
    qs_conn_free(a);
    tally.failed++;
    return test_summary(&tally);
  }
  check_overlap(a, b);
  check_timeout(a, b);
  check_many(a);
  check_deallocate(a);
  check_terminated(a, b);
  qs_conn_free(a);
  qs_conn_free(b);
  return test_summary(&tally);
}
