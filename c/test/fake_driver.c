/*
** fake_driver.c: the scripted socketpair driver (fake_driver.h).
*/
#include "fake_driver.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct qs_dconn {
  int fd, peer;           /* our end (non-blocking) and the "server's" */
  int sending;            /* an operation is in progress: its line was sent */
  int connected;
  int in_txn;
  int cancels, detached_cancels;
  int timeout_ms;
  char last[128];         /* the last line sent */
};

struct qs_dstmt {
  qs_dconn *c;
  char sql[96];
  int done;
};

static qs_dconn *g_last;   /* the connection the test plays the server for */

static int fake_open(int nopt, const char *const *keys, const char *const *vals,
                     qs_dconn **out, qs_error *err) {
  int sv[2];
  qs_dconn *c;
  (void)nopt; (void)keys; (void)vals;
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
    return qs_error_set(err, QS_OPERATIONAL, "socketpair failed");
  c = calloc(1, sizeof *c);
  c->fd = sv[0];
  c->peer = sv[1];
  fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
  g_last = c;
  *out = c;
  return QS_OK;
}

static int fake_connect(qs_dconn *c, qs_error *err) {
  char b;
  ssize_t n = read(c->fd, &b, 1);
  if (n < 0 && errno == EAGAIN) return QS_WAIT;
  if (n != 1 || b != 'C') return qs_error_set(err, QS_OPERATIONAL, "connection refused");
  c->connected = 1;
  return QS_OK;
}

static void fake_close(qs_dconn *c) {
  close(c->fd);
  close(c->peer);
  if (g_last == c) g_last = NULL;
  free(c);
}

static int fake_wait(qs_dconn *c, int *fd, int *timeout_ms) {
  *fd = c->fd;
  *timeout_ms = -1;
  (void)c;
  return QS_WAIT_READ;   /* requests are short lines: writing never waits */
}

/* Sends sql once, then reads the reply line: QS_WAIT until it is there. */
static int roundtrip(qs_dconn *c, const char *sql, qs_error *err) {
  char line[128];
  ssize_t n;
  if (!c->sending) {
    size_t len = strlen(sql);
    if (len >= sizeof c->last) len = sizeof c->last - 1;
    memcpy(c->last, sql, len);
    c->last[len] = '\0';
    if (write(c->fd, sql, len) < 0 || write(c->fd, "\n", 1) < 0)
      return qs_error_set(err, QS_OPERATIONAL, "write failed");
    c->sending = 1;
  }
  n = recv(c->fd, line, sizeof line - 1, MSG_PEEK);
  if (n < 0 && errno == EAGAIN) return QS_WAIT;
  if (n <= 0) return qs_error_set(err, QS_OPERATIONAL, "server closed the connection");
  line[n] = '\0';
  if (strchr(line, '\n') == NULL) return QS_WAIT;
  n = read(c->fd, line, (size_t)(strchr(line, '\n') - line + 1));
  line[n - 1] = '\0';
  c->sending = 0;
  if (strncmp(line, "OK", 2) == 0) {
    if (strncmp(sql, "BEGIN", 5) == 0) c->in_txn = 1;
    if (strcmp(sql, "COMMIT") == 0 || strcmp(sql, "ROLLBACK") == 0) c->in_txn = 0;
    return QS_OK;
  }
  return qs_error_set(err, QS_PROGRAMMING, "%s", line + 4);
}

static int fake_exec(qs_dconn *c, const char *sql, qs_error *err) { return roundtrip(c, sql, err); }

static int fake_prepare(qs_dconn *c, const char *sql, size_t n, qs_dstmt **out, qs_error *err) {
  qs_dstmt *s = calloc(1, sizeof *s);
  (void)err;
  s->c = c;
  if (n >= sizeof s->sql) n = sizeof s->sql - 1;
  memcpy(s->sql, sql, n);
  s->sql[n] = '\0';
  *out = s;
  return QS_OK;
}

static int fake_param_count(qs_dstmt *s) { (void)s; return 0; }
static int fake_bind(qs_dstmt *s, int n, const qs_value *v, qs_error *err) {
  (void)s; (void)n; (void)v; (void)err;
  return QS_OK;
}
static int fake_step(qs_dstmt *s, qs_error *err) {
  int rc;
  if (s->done) return QS_DONE;
  rc = roundtrip(s->c, s->sql, err);
  if (rc == QS_OK) {
    s->done = 1;
    return QS_DONE;
  }
  return rc;
}
static int fake_column_count(qs_dstmt *s) { (void)s; return 0; }
static const char *fake_column_name(qs_dstmt *s, int i) { (void)s; (void)i; return NULL; }
static void fake_column(qs_dstmt *s, int i, qs_value *out) { (void)s; (void)i; out->type = QS_TNULL; }
static int fake_readonly(qs_dstmt *s) { return strncmp(s->sql, "SELECT", 6) == 0; }
static void fake_reset(qs_dstmt *s) { s->done = 0; }
static void fake_finalize(qs_dstmt *s) { free(s); }
static int64_t fake_changes(qs_dconn *c) { (void)c; return 1; }
static int64_t fake_last_id(qs_dconn *c) { (void)c; return 0; }
static int fake_in_txn(qs_dconn *c) { return c->in_txn; }
static int fake_set_timeout(qs_dconn *c, int ms, qs_error *err) {
  (void)err;
  c->timeout_ms = ms;
  return QS_OK;
}
/* The server answers a cancel by failing the statement. */
static int fake_cancel(qs_dconn *c, int detached, qs_error *err) {
  static const char reply[] = "ERR canceling statement due to user request\n";
  (void)err;
  c->cancels++;
  if (detached) c->detached_cancels++;
  if (write(c->peer, reply, sizeof reply - 1) < 0) return QS_OPERATIONAL;
  return QS_OK;
}

const qs_driver fake_driver = {
  QS_DRIVER_VERSION, "fake", 0, 1,
  fake_open, fake_connect, fake_close, fake_wait, NULL, fake_prepare, fake_param_count,
  fake_bind, fake_step, fake_column_count, fake_column_name, fake_column, fake_readonly,
  fake_reset, fake_finalize, fake_changes, fake_last_id, fake_exec, fake_in_txn,
  NULL, NULL, NULL, fake_set_timeout, fake_cancel, NULL, NULL, NULL, NULL,
};

/* The server's side: the next request line, and a reply. */
int fake_serve(const char *expect, const char *reply) {
  char line[128];
  ssize_t n;
  if (g_last == NULL) return 0;
  n = read(g_last->peer, line, sizeof line - 1);
  if (n <= 0) return 0;
  line[n] = '\0';
  if (expect && strncmp(line, expect, strlen(expect)) != 0) {
    fprintf(stderr, "  server got '%s', expected '%s'\n", line, expect);
    return 0;
  }
  return write(g_last->peer, reply, strlen(reply)) == (ssize_t)strlen(reply);
}


int fake_peer_write(const char *bytes) {
  size_t n = strlen(bytes);
  return g_last != NULL && write(g_last->peer, bytes, n) == (ssize_t)n;
}

int fake_cancels(int detached) {
  if (g_last == NULL) return -1;
  return detached ? g_last->detached_cancels : g_last->cancels;
}

int fake_fd(void) { return g_last ? g_last->fd : -1; }
