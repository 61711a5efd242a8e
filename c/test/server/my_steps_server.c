/*
** my_steps_server.c: the MariaDB/MySQL driver as steps, against a real
** server, through the public qs_conn API in non-blocking mode: this program
** is its own scheduler (a poll() loop over qs_conn_wait / qs_conn_ready), as
** a coroutine scheduler would be. Two statements on two connections overlap
** on one thread; a connect goes in steps (and a refused one fails cleanly);
** the server's statement timeout ends a statement and the connection goes
** on; executemany; a cached statement runs many times without a
** COM_STMT_RESET (the server's own counters say so) and finalized ones are
** closed on the server all the same; a result whose shape changed, or that
** fails midway, leaves the statement and the connection usable (a large
** result left unread read over many waits); one
** operation at a time (QS_MISUSE); a connection killed mid-query fails that
** operation with invalidated set; the read_timeout option ends a wait; a
** cancel from the same thread; a connection closed mid-query or mid-prepare
** closes at once.
** Usage: my_steps_server HOST PORT USER PASSWORD DBNAME; prints "N passed,
** N failed".
*/
#include <poll.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quicksilver.h"
#include "../test.h"

static test_tally tally;

#define CHECK(name, expr) TEST_CHECK(&tally, name, expr)

/* A join that takes seconds unless stopped (MariaDB's SLEEP() returns 1
** when interrupted instead of failing). */
static const char slow_sql[] =
  "SELECT count(*) FROM information_schema.columns a, information_schema.columns b, "
  "information_schema.columns c";

static const char *keys[5], *vals[5];
static int nopt;

static const char *message(qs_conn *c) {
  const char *m = qs_conn_error(c)->message;
  return m ? m : "";
}

/* One wait of the scheduler: poll() on what c waits for, then report. */
static int wait_once(qs_conn *c) {
  struct pollfd p;
  double timeout;
  int fd, events, n, seen = 0;
  events = qs_conn_wait(c, &fd, &timeout);
  p.fd = fd;
  p.events = (short)(((events & QS_WAIT_READ) ? POLLIN : 0) | ((events & QS_WAIT_WRITE) ? POLLOUT : 0));
  p.revents = 0;
  n = poll(&p, 1, timeout < 0 ? -1 : (int)(timeout * 1000) + 1);
  if (n == 0) {
    seen = QS_WAIT_TIMEOUT;
  } else if (n > 0) {
    if (p.revents & POLLIN) seen |= QS_WAIT_READ;
    if (p.revents & POLLOUT) seen |= QS_WAIT_WRITE;
    if (p.revents & (POLLERR | POLLHUP | POLLNVAL)) seen |= events;
  }
  return qs_conn_ready(c, seen);
}

/* Calls expr until it stops returning QS_WAIT, waiting in between; rc gets
** its result (or qs_conn_ready's error). */
#define DRIVE(rc, c, expr) \
  do { (rc) = (expr); } while ((rc) == QS_WAIT && ((rc) = wait_once(c)) == QS_OK)

/* A connection made in steps; port replaces the server's when given, and
** one more option (key, val) is added when given. */
static qs_conn *connect_with(const char *port, const char *key, const char *val, int *waits) {
  qs_conn *c = NULL;
  qs_error err;
  int rc, n = nopt;
  const char *k[6], *v[6];
  memcpy(k, keys, sizeof keys);
  memcpy(v, vals, sizeof vals);
  if (port) v[1] = port;
  if (key) {
    k[n] = key;
    v[n++] = val;
  }
  memset(&err, 0, sizeof err);
  *waits = 0;
  if (qs_conn_start(&qs_mariadb_driver, n, k, v, &c, &err) != QS_OK) {
    printf("     (start: %s)\n", err.message ? err.message : "?");
    qs_error_clear(&err);
    return NULL;
  }
  qs_conn_set_nonblocking(c, 1);
  while ((rc = qs_conn_connect(c)) == QS_WAIT) {
    (*waits)++;
    if ((rc = wait_once(c)) != QS_OK) break;
  }
  if (rc != QS_OK) printf("     (connect: %s)\n", message(c));
  return c;
}

static qs_conn *connect_nb(const char *port, int *waits) {
  return connect_with(port, NULL, NULL, waits);
}

/* Runs sql (no parameters) and returns the first column of its first row
** as an integer (-1 when there is none, -2 on error). */
static long long scalar(qs_conn *c, const char *sql) {
  qs_stmt *s;
  qs_value v;
  long long r = -1;
  int rc;
  DRIVE(rc, c, qs_conn_prepare(c, sql, strlen(sql), &s));
  if (rc != QS_OK) return -2;
  DRIVE(rc, c, qs_stmt_step(s));
  if (rc == QS_ROW) {
    qs_stmt_column(s, 0, &v);
    if (v.type == QS_TINT) r = v.u.i;
    else if (v.type == QS_TTEXT) r = atoll(v.u.s.p);
  } else if (rc < 0) {
    r = -2;
  }
  qs_stmt_release(s);
  return r;
}

static int exec_nb(qs_conn *c, const char *sql) {
  int rc;
  DRIVE(rc, c, qs_conn_exec(c, sql));
  return rc;
}

/* The server's count of one command on this session (Com_stmt_reset, ...). */
static long long com_count(qs_conn *c, const char *name) {
  char sql[160];
  snprintf(sql, sizeof sql,
           "SELECT VARIABLE_VALUE FROM information_schema.SESSION_STATUS WHERE VARIABLE_NAME = '%s'",
           name);
  return scalar(c, sql);
}

static void test_connect(void) {
  int waits;
  qs_conn *c = connect_nb(NULL, &waits);
  CHECK("connect in steps", c != NULL && qs_conn_is_open(c) && qs_conn_error(c)->code == QS_OK);
  CHECK("the connect waited for the server", waits >= 1);
  CHECK("connected: a statement runs", c != NULL && scalar(c, "SELECT 41 + 1") == 42);
  if (c) qs_conn_free(c);

  c = connect_nb("1", &waits);   /* nothing listens on port 1 */
  CHECK("a refused connect fails", c == NULL || qs_conn_error(c)->code == QS_OPERATIONAL);
  CHECK("as a dead connection", c == NULL || qs_conn_error(c)->invalidated);
  CHECK("saying why", c == NULL || strstr(message(c), "connect") != NULL);
  if (c) {
    printf("     (%s)\n", message(c));
    qs_conn_free(c);
  }
}

/* Two SELECT SLEEP(0.3) on two connections, driven together by one poll(). */
static void test_overlap(void) {
  qs_conn *c[2];
  qs_stmt *s[2] = {NULL, NULL};
  int rc[2], done = 0, i, waits;
  double t0, took;
  c[0] = connect_nb(NULL, &waits);
  c[1] = connect_nb(NULL, &waits);
  if (!c[0] || !c[1]) {
    CHECK("two connections", 0);
    if (c[0]) qs_conn_free(c[0]);
    if (c[1]) qs_conn_free(c[1]);
    return;
  }
  for (i = 0; i < 2; i++) DRIVE(rc[i], c[i], qs_conn_prepare(c[i], "SELECT SLEEP(0.3)", 17, &s[i]));
  CHECK("both prepared", rc[0] == QS_OK && rc[1] == QS_OK);
  if (rc[0] != QS_OK || rc[1] != QS_OK) goto out;
  t0 = qs_clock();
  for (i = 0; i < 2; i++) {
    rc[i] = qs_stmt_step(s[i]);
    if (rc[i] != QS_WAIT) done++;
  }
  CHECK("both statements wait at once", rc[0] == QS_WAIT && rc[1] == QS_WAIT);
  CHECK("the connections say so", qs_conn_busy(c[0]) && qs_conn_busy(c[1]));
  while (done < 2) {
    struct pollfd p[2];
    int map[2], n = 0;
    for (i = 0; i < 2; i++) {
      double timeout;
      int fd, ev;
      if (rc[i] != QS_WAIT) continue;
      ev = qs_conn_wait(c[i], &fd, &timeout);
      p[n].fd = fd;
      p[n].events = (short)(((ev & QS_WAIT_READ) ? POLLIN : 0) | ((ev & QS_WAIT_WRITE) ? POLLOUT : 0));
      p[n].revents = 0;
      map[n++] = i;
    }
    if (poll(p, (nfds_t)n, 5000) <= 0) break;
    for (i = 0; i < n; i++) {
      int k = map[i], seen = 0;
      if (p[i].revents == 0) continue;
      if (p[i].revents & POLLIN) seen |= QS_WAIT_READ;
      if (p[i].revents & POLLOUT) seen |= QS_WAIT_WRITE;
      if (p[i].revents & (POLLERR | POLLHUP)) seen |= QS_WAIT_READ | QS_WAIT_WRITE;
      if ((rc[k] = qs_conn_ready(c[k], seen)) == QS_OK) rc[k] = qs_stmt_step(s[k]);
      if (rc[k] != QS_WAIT) done++;
    }
  }
  took = qs_clock() - t0;
  printf("     (two SLEEP(0.3) together: %.3f s)\n", took);
  CHECK("both return their row", rc[0] == QS_ROW && rc[1] == QS_ROW);
  CHECK("together, not one after the other (< 0.55 s)", took < 0.55);
  CHECK("no longer busy", !qs_conn_busy(c[0]) && !qs_conn_busy(c[1]));
out:
  for (i = 0; i < 2; i++) {
    if (s[i]) qs_stmt_release(s[i]);
    qs_conn_free(c[i]);
  }
}

static void test_timeout(qs_conn *c) {
  double t0, took;
  int rc;
  DRIVE(rc, c, qs_conn_set_timeout(c, 300));
  CHECK("timeout set in steps", rc == QS_OK);
  t0 = qs_clock();
  rc = exec_nb(c, slow_sql);
  took = qs_clock() - t0;
  printf("     (%.2f s: %s)\n", took, message(c));
  CHECK("the server's timeout ends the statement", rc == QS_OPERATIONAL && took >= 0.25 && took < 5);
  CHECK("saying so", strstr(message(c), "max_statement_time") != NULL ||
                         strstr(message(c), "maximum statement execution time") != NULL);
  CHECK("the connection is not lost", !qs_conn_error(c)->invalidated);
  CHECK("the next statement runs", scalar(c, "SELECT 7") == 7);
  DRIVE(rc, c, qs_conn_set_timeout(c, 0));
  CHECK("timeout off", rc == QS_OK);
}

static void test_execmany(qs_conn *c) {
  qs_stmt *s;
  qs_value v[100];
  int64_t changes = -1;
  int i, rc;
  CHECK("table made", exec_nb(c, "DROP TABLE IF EXISTS qs_steps") == QS_OK &&
                          exec_nb(c, "CREATE TABLE qs_steps (id INT PRIMARY KEY, name VARCHAR(20))") == QS_OK);
  for (i = 0; i < 50; i++) {
    v[2 * i].type = QS_TINT;
    v[2 * i].u.i = i + 1;
    v[2 * i + 1].type = QS_TTEXT;
    v[2 * i + 1].u.s.p = "row";
    v[2 * i + 1].u.s.n = 3;
  }
  DRIVE(rc, c, qs_conn_prepare(c, "INSERT INTO qs_steps VALUES (?, ?)", 34, &s));
  CHECK("insert prepared", rc == QS_OK);
  if (rc != QS_OK) return;
  DRIVE(rc, c, qs_stmt_execmany(s, 50, 2, v, &changes));
  CHECK("executemany of 50 sets", rc == QS_OK && changes == 50);
  CHECK("50 rows there", scalar(c, "SELECT COUNT(*) FROM qs_steps") == 50);
  v[98] = v[0];   /* one more set, a duplicate of the first */
  v[99] = v[1];
  DRIVE(rc, c, qs_stmt_execmany(s, 1, 2, v + 98, &changes));
  CHECK("a duplicate key fails as IntegrityError", rc == QS_INTEGRITY && !qs_conn_error(c)->invalidated);
  qs_stmt_release(s);
  CHECK("the connection goes on", scalar(c, "SELECT COUNT(*) FROM qs_steps") == 50);
}

/* A cached statement, executed again and again (its result read to the end
** or not): no COM_STMT_RESET ever; finalized statements are closed on the
** server, with the next operation. */
static void test_reuse(qs_conn *c) {
  long long resets0, resets1, closes0, closes1;
  const char sql[] = "SELECT id, name FROM qs_steps WHERE id >= ? ORDER BY id";
  qs_value v;
  int i, rc = QS_OK, wrong = 0;
  resets0 = com_count(c, "COM_STMT_RESET");
  for (i = 0; i < 300 && rc >= 0; i++) {
    qs_stmt *s;
    qs_value got;
    DRIVE(rc, c, qs_conn_prepare(c, sql, sizeof sql - 1, &s));
    if (rc != QS_OK) break;
    v.type = QS_TINT;
    v.u.i = i % 50 + 1;
    qs_stmt_bind(s, 1, &v);
    DRIVE(rc, c, qs_stmt_step(s));
    if (rc == QS_ROW) {
      qs_stmt_column(s, 0, &got);
      if (got.type != QS_TINT || got.u.i != i % 50 + 1) wrong++;
      /* every third one read to its end, the others left midway */
      if (i % 3 == 0)
        while ((rc = qs_stmt_step(s)) == QS_ROW) {}
    }
    qs_stmt_release(s);
  }
  resets1 = com_count(c, "COM_STMT_RESET");
  CHECK("300 executions of one cached statement", i == 300 && rc >= 0 && wrong == 0);
  CHECK("without a COM_STMT_RESET", resets0 >= 0 && resets1 == resets0);

  closes0 = com_count(c, "COM_STMT_CLOSE");
  qs_conn_set_cache_size(c, 0);   /* each statement finalized when released */
  for (i = 0; i < 20; i++) {
    char one[40];
    snprintf(one, sizeof one, "SELECT %d", i);
    if (scalar(c, one) != i) break;
  }
  closes1 = com_count(c, "COM_STMT_CLOSE");
  qs_conn_set_cache_size(c, 64);
  printf("     (COM_STMT_CLOSE %lld -> %lld)\n", closes0, closes1);
  CHECK("uncached statements run", i == 20);
  CHECK("and are closed on the server", closes0 >= 0 && closes1 - closes0 >= 20);
}

/* The statement prepared anew when the result's shape changed; a result
** failing after some rows leaves statement and connection usable. */
static void test_result_faults(qs_conn *c) {
  const char star[] = "SELECT * FROM qs_steps WHERE id <= ? ORDER BY id";
  const char subq[] = "SELECT a.id, (SELECT b.id FROM qs_steps b WHERE b.id >= a.id) "
                      "FROM qs_steps a ORDER BY a.id DESC";
  qs_stmt *s;
  qs_value v, got;
  int rc, rows;
  v.type = QS_TINT;
  v.u.i = 2;
  DRIVE(rc, c, qs_conn_prepare(c, star, sizeof star - 1, &s));
  if (rc == QS_OK) {
    qs_stmt_bind(s, 1, &v);
    DRIVE(rc, c, qs_stmt_step(s));
    CHECK("two columns first", rc == QS_ROW && qs_stmt_column_count(s) == 2);
    qs_stmt_release(s);
  }
  CHECK("a column added", exec_nb(c, "ALTER TABLE qs_steps ADD COLUMN extra INT DEFAULT 9") == QS_OK);
  DRIVE(rc, c, qs_conn_prepare(c, star, sizeof star - 1, &s));   /* the cached one */
  CHECK("the cached statement again", rc == QS_OK);
  if (rc == QS_OK) {
    qs_stmt_bind(s, 1, &v);
    DRIVE(rc, c, qs_stmt_step(s));
    qs_stmt_column(s, 2, &got);
    CHECK("prepared anew: three columns", rc == QS_ROW && qs_stmt_column_count(s) == 3 &&
                                              got.type == QS_TINT && got.u.i == 9);
    for (rows = 1; (rc = qs_stmt_step(s)) == QS_ROW; rows++) {}
    CHECK("all its rows", rc == QS_DONE && rows == 2);
    qs_stmt_release(s);
  }
  DRIVE(rc, c, qs_conn_prepare(c, subq, sizeof subq - 1, &s));
  CHECK("a result that fails midway: prepared", rc == QS_OK);
  if (rc == QS_OK) {
    DRIVE(rc, c, qs_stmt_step(s));
    CHECK("fails", rc < 0 && strstr(message(c), "more than 1 row") != NULL);
    CHECK("not as a dead connection", !qs_conn_error(c)->invalidated);
    qs_stmt_release(s);
  }
  CHECK("the connection goes on", scalar(c, "SELECT COUNT(*) FROM qs_steps") == 50);
  DRIVE(rc, c, qs_conn_prepare(c, star, sizeof star - 1, &s));
  if (rc == QS_OK) {
    qs_stmt_bind(s, 1, &v);
    DRIVE(rc, c, qs_stmt_step(s));
    CHECK("and its other statements", rc == QS_ROW);
    qs_stmt_release(s);
  }
}

/* A statement prepared anew while its old handle still has a large result
** on its way: closing that handle reads the result, over many waits (when
** the server is the slower side); a statement finalized meanwhile is queued
** behind it, and all goes on. */
static void test_renew_large(qs_conn *c) {
  const char sql[] = "SELECT * FROM qs_steps_big";
  qs_stmt *s, *o1 = NULL, *o2 = NULL;
  int rc, i, waits = 0, rows = 0, released = 0;
  rc = exec_nb(c, "DROP TABLE IF EXISTS qs_steps_big");
  if (rc == QS_OK) rc = exec_nb(c, "CREATE TABLE qs_steps_big (id INT PRIMARY KEY, t VARCHAR(200))");
  if (rc == QS_OK) rc = exec_nb(c, "INSERT INTO qs_steps_big VALUES (1, REPEAT('x', 200))");
  for (i = 0; i < 15 && rc == QS_OK; i++) {   /* doubled 15 times: 32768 rows */
    char more[120];
    snprintf(more, sizeof more, "INSERT INTO qs_steps_big SELECT id + %d, t FROM qs_steps_big", 1 << i);
    rc = exec_nb(c, more);
  }
  CHECK("a table of 32768 rows", rc == QS_OK && scalar(c, "SELECT COUNT(*) FROM qs_steps_big") == 32768);
  DRIVE(rc, c, qs_conn_prepare(c, sql, sizeof sql - 1, &s));
  if (rc != QS_OK) return;
  DRIVE(rc, c, qs_stmt_step(s));
  CHECK("read once, two columns", rc == QS_ROW && qs_stmt_column_count(s) == 2);
  qs_stmt_release(s);
  CHECK("a column added", exec_nb(c, "ALTER TABLE qs_steps_big ADD COLUMN z INT DEFAULT 5") == QS_OK);
  /* o2 is uncached (o1 holds the cached one): released, it is finalized */
  DRIVE(rc, c, qs_conn_prepare(c, "SELECT 2", 8, &o1));
  if (rc == QS_OK) DRIVE(rc, c, qs_conn_prepare(c, "SELECT 2", 8, &o2));
  DRIVE(rc, c, qs_conn_prepare(c, sql, sizeof sql - 1, &s));
  if (rc != QS_OK || o1 == NULL || o2 == NULL) {
    CHECK("statements prepared", 0);
    return;
  }
  while ((rc = qs_stmt_step(s)) == QS_WAIT) {
    if (++waits == 10) {
      qs_stmt_release(o2);
      released = 1;
    }
    if ((rc = wait_once(c)) != QS_OK) break;
  }
  /* how many waits there are depends on how fast the server sends: a slow
  ** client (valgrind) finds every row there already */
  if (!released) qs_stmt_release(o2);
  printf("     (%d waits)\n", waits);
  CHECK("prepared anew", rc == QS_ROW && qs_stmt_column_count(s) == 3);
  for (rows = 1; (rc = qs_stmt_step(s)) == QS_ROW; rows++) {}
  CHECK("all its rows", rc == QS_DONE && rows == 32768);
  qs_stmt_release(s);
  DRIVE(rc, c, qs_stmt_step(o1));
  CHECK("the statement kept meanwhile runs", rc == QS_ROW);
  qs_stmt_release(o1);
  CHECK("the connection goes on", exec_nb(c, "DROP TABLE qs_steps_big") == QS_OK);
}

/* One operation at a time: another one while a statement waits is refused,
** the waiting one then finishes. */
static void test_misuse(qs_conn *c) {
  qs_stmt *s;
  int rc;
  DRIVE(rc, c, qs_conn_prepare(c, "SELECT SLEEP(0.2)", 17, &s));
  if (rc != QS_OK) {
    CHECK("prepared", 0);
    return;
  }
  rc = qs_stmt_step(s);
  CHECK("the statement waits", rc == QS_WAIT && qs_conn_busy(c));
  rc = qs_conn_exec(c, "SELECT 1");
  CHECK("another operation meanwhile: QS_MISUSE", rc == QS_MISUSE);
  printf("     (%s)\n", message(c));
  DRIVE(rc, c, qs_stmt_step(s));
  CHECK("the waiting one ends well", rc == QS_ROW);
  qs_stmt_release(s);
  CHECK("then the connection goes on", scalar(c, "SELECT 8") == 8);
}

/* The read_timeout option: a wait with no reply for that long ends the
** operation, and the connection, as libmariadb's blocking calls do. */
static void test_read_timeout(void) {
  qs_conn *c;
  double t0, took, timeout;
  int rc, waits, fd;
  c = connect_with(NULL, "read_timeout", "1", &waits);
  if (c == NULL || qs_conn_error(c)->code != QS_OK) {
    CHECK("connected with read_timeout", 0);
    if (c) qs_conn_free(c);
    return;
  }
  t0 = qs_clock();
  rc = qs_conn_exec(c, "SELECT SLEEP(3)");
  CHECK("the statement waits, for a second at most", rc == QS_WAIT &&
                                                         qs_conn_wait(c, &fd, &timeout) != 0 &&
                                                         timeout > 0.5 && timeout <= 1.0);
  while (rc == QS_WAIT && (rc = wait_once(c)) == QS_OK) rc = qs_conn_exec(c, "SELECT SLEEP(3)");
  took = qs_clock() - t0;
  printf("     (%.2f s: %s)\n", took, message(c));
  CHECK("then fails as a lost connection", rc == QS_OPERATIONAL && qs_conn_error(c)->invalidated);
  CHECK("after the read timeout, not the statement", took >= 0.9 && took < 2.5);
  qs_conn_free(c);
}

/* KILL from a second connection while a statement waits. */
static void test_killed(void) {
  qs_conn *c, *k;
  qs_stmt *s;
  char sql[64];
  long long id;
  int rc, waits;
  double t0;
  c = connect_nb(NULL, &waits);
  k = connect_nb(NULL, &waits);
  if (!c || !k) {
    CHECK("two connections", 0);
    if (c) qs_conn_free(c);
    if (k) qs_conn_free(k);
    return;
  }
  id = scalar(c, "SELECT CONNECTION_ID()");
  DRIVE(rc, c, qs_conn_prepare(c, "SELECT SLEEP(5)", 15, &s));
  if (rc == QS_OK) {
    t0 = qs_clock();
    rc = qs_stmt_step(s);
    CHECK("the statement waits", rc == QS_WAIT);
    snprintf(sql, sizeof sql, "KILL %lld", id);
    CHECK("killed from the other connection", exec_nb(k, sql) == QS_OK);
    DRIVE(rc, c, qs_stmt_step(s));
    printf("     (%.2f s: %s)\n", qs_clock() - t0, message(c));
    CHECK("the operation fails as OperationalError", rc == QS_OPERATIONAL);
    CHECK("with invalidated set", qs_conn_error(c)->invalidated);
    CHECK("at once, not after the sleep", qs_clock() - t0 < 2);
    qs_stmt_release(s);
  }
  CHECK("the other connection goes on", scalar(k, "SELECT 9") == 9);
  qs_conn_free(c);
  qs_conn_free(k);
}

/* qs_conn_cancel from the scheduler's own thread while the statement
** waits: it returns at once (the KILL QUERY goes from another thread), the
** statement fails, the connection goes on. */
static void test_cancel(qs_conn *c) {
  qs_stmt *s;
  qs_error err;
  double t0, took;
  int rc;
  memset(&err, 0, sizeof err);
  DRIVE(rc, c, qs_conn_prepare(c, slow_sql, sizeof slow_sql - 1, &s));
  if (rc != QS_OK) {
    CHECK("prepared", 0);
    return;
  }
  t0 = qs_clock();
  rc = qs_stmt_step(s);
  CHECK("the statement waits", rc == QS_WAIT);
  rc = qs_conn_cancel(c, &err);
  took = qs_clock() - t0;
  CHECK("cancel sent without waiting for it", rc == QS_OK && took < 0.1);
  qs_error_clear(&err);
  DRIVE(rc, c, qs_stmt_step(s));
  printf("     (%.2f s: %s)\n", qs_clock() - t0, message(c));
  CHECK("the statement fails as OperationalError", rc == QS_OPERATIONAL);
  CHECK("the connection is not lost", !qs_conn_error(c)->invalidated);
  qs_stmt_release(s);
  CHECK("the next statement runs", scalar(c, "SELECT 10") == 10);
}

/* Closed while a statement waits, and while a prepare waits to send its
** text: at once, with no reply awaited. */
#define BIG_SQL (1 << 20)
static void test_close_busy(void) {
  qs_conn *c, *k;
  qs_stmt *s;
  char *big;
  int rc, waits;
  double t0;
  c = connect_nb(NULL, &waits);
  k = connect_nb(NULL, &waits);
  if (!c || !k) {
    CHECK("two connections", 0);
    if (c) qs_conn_free(c);
    if (k) qs_conn_free(k);
    return;
  }
  DRIVE(rc, c, qs_conn_prepare(c, "SELECT SLEEP(2)", 15, &s));
  if (rc == QS_OK) {
    rc = qs_stmt_step(s);
    CHECK("the statement waits", rc == QS_WAIT);
    t0 = qs_clock();
    qs_conn_close(c);
    CHECK("closed at once", qs_clock() - t0 < 0.2);
    CHECK("its statement is gone", qs_stmt_step(s) == QS_CLOSED);
    qs_stmt_release(s);
  }
  qs_conn_free(c);

  /* a prepare whose text the socket cannot take at once: its send buffer
  ** made small, the statement a megabyte long */
  c = connect_nb(NULL, &waits);
  big = c ? malloc(BIG_SQL + 1) : NULL;
  if (big) {
    int fd = -1, small = 4096;
    double timeout;
    memset(big, ' ', BIG_SQL);
    memcpy(big, "SELECT 1", 8);
    big[BIG_SQL] = '\0';
    DRIVE(rc, c, qs_conn_prepare(c, "SELECT SLEEP(0.01)", 18, &s));
    if (rc == QS_OK) {
      rc = qs_stmt_step(s);
      if (rc == QS_WAIT) qs_conn_wait(c, &fd, &timeout);
      if (fd >= 0) setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
      DRIVE(rc, c, qs_stmt_step(s));
      qs_stmt_release(s);
    }
    CHECK("its socket made small", fd >= 0 && rc == QS_ROW);
    rc = qs_conn_prepare(c, big, BIG_SQL, &s);
    CHECK("a long prepare waits to send", rc == QS_WAIT && qs_conn_busy(c) &&
                                              (qs_conn_wait(c, &fd, &timeout) & QS_WAIT_WRITE));
    t0 = qs_clock();
    qs_conn_close(c);
    CHECK("closed at once, half sent", qs_clock() - t0 < 0.2);
    if (rc == QS_OK) qs_stmt_release(s);
  }
  CHECK("the other connection goes on", scalar(k, "SELECT 11") == 11);
  free(big);
  if (c) qs_conn_free(c);
  qs_conn_free(k);
}

int main(int argc, char **argv) {
  const char *const names[] = {"host", "port", "user", "password", "database"};
  qs_conn *c;
  int i, waits;
  if (argc != 6) {
    fprintf(stderr, "usage: %s HOST PORT USER PASSWORD DBNAME\n", argv[0]);
    return 2;
  }
  /* the port stays second: connect_nb swaps it */
  for (i = 0; i < 5; i++) {
    if (argv[i + 1][0] == '\0') continue;   /* no password */
    keys[nopt] = names[i];
    vals[nopt++] = argv[i + 1];
  }
  test_connect();
  test_overlap();
  c = connect_nb(NULL, &waits);
  if (c == NULL) {
    CHECK("connected", 0);
    return test_summary(&tally);
  }
  test_timeout(c);
  test_execmany(c);
  test_reuse(c);
  test_result_faults(c);
  test_renew_large(c);
  test_misuse(c);
  test_cancel(c);
  CHECK("table dropped", exec_nb(c, "DROP TABLE qs_steps") == QS_OK);
  qs_conn_free(c);
  test_killed();
  test_read_timeout();
  test_close_busy();
  return test_summary(&tally);
}
