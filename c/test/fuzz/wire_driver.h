/*
** wire_driver.h: what fuzz_pgdriver.c and fuzz_mydriver.c share: a wire
** driver (c/driver/wire_pg.c, wire_my.c) over its external transport, the
** fuzz input playing the server. Every operation is driven as an
** application would: while it waits, the driver's output is taken, the
** next chunk of the input handed to xInput (chunk sizes from the input's
** first byte, so message boundaries land anywhere), and once the input is
** spent the peer closes. Operations in turn: connect, prepare + bind + step
** every row reading every column, reset, finalize, exec, an executemany,
** close. Properties: no operation waits again once the peer has closed
** (a hang), every failure carries a message, a column value lies where the
** driver said (ASan checks the reads).
*/
#ifndef QS_FUZZ_WIRE_DRIVER_H
#define QS_FUZZ_WIRE_DRIVER_H

#include <string.h>

#include "fuzz.h"
#include "quicksilver.h"

typedef struct feeder {
  const qs_driver *D;
  qs_dconn *c;
  const char *p;
  size_t n;
  size_t chunk;
  int closed;
} feeder;

enum { OP_CONNECT, OP_PREPARE, OP_STEP, OP_EXEC, OP_EXECMANY };

/* One operation run to its end; its result code. */
static int drive(feeder *f, int op, const char *sql, qs_dstmt **s, qs_error *err) {
  int rounds = 0, after_close = 0;
  for (;;) {
    int rc, fd, ms, ev;
    switch (op) {
      case OP_CONNECT: rc = f->D->xConnect(f->c, err); break;
      case OP_PREPARE: rc = f->D->xPrepare(f->c, sql, strlen(sql), s, err); break;
      case OP_STEP: rc = f->D->xStep(*s, err); break;
      case OP_EXEC: rc = f->D->xExec(f->c, sql, err); break;
      default: {
        static const qs_value vals[4] = {{QS_TINT, {.i = 1}}, {QS_TTEXT, {.s = {"a", 1}}},
                                         {QS_TINT, {.i = 2}}, {QS_TNULL, {.i = 0}}};
        int64_t changes = 0;
        rc = f->D->xExecMany(*s, 2, 2, vals, &changes, err);
        break;
      }
    }
    if (rc != QS_WAIT) {
      static int verbose = -1;   /* FUZZ_VERBOSE=1: each operation's outcome, to check seeds */
      if (verbose < 0) verbose = getenv("FUZZ_VERBOSE") != NULL;
      if (verbose)
        fprintf(stderr, "  op %d: %d %s\n", op, rc, rc < 0 && err->message ? err->message : "");
      FUZZ_CHECK(rc == QS_OK || rc == QS_ROW || rc == QS_DONE || err->message != NULL,
                 "a failure without a message");
      return rc;
    }
    FUZZ_CHECK(++rounds < 100000, "an operation that never ends");
    ev = f->D->xWait(f->c, &fd, &ms);
    FUZZ_CHECK(fd == -1, "an external transport with a socket");
    if (ev & QS_WAIT_TLS) return QS_WAIT;   /* this harness has no TLS to upgrade to */
    {
      const char *out;
      size_t n = f->D->xOutput(f->c, &out);
      if (n) f->D->xOutputDone(f->c, n);
    }
    if (f->closed) {
      /* the peer is gone: the operation must end rather than wait on */
      FUZZ_CHECK(++after_close < 4, "an operation waiting after the peer closed");
      f->D->xReady(f->c, QS_WAIT_READ);
      continue;
    }
    if (ev & QS_WAIT_READ) {
      qs_error ierr;
      int irc;
      memset(&ierr, 0, sizeof ierr);
      if (f->n == 0) {
        irc = f->D->xInput(f->c, NULL, 0, &ierr);
        f->closed = 1;
      } else {
        size_t k = f->n < f->chunk ? f->n : f->chunk;
        irc = f->D->xInput(f->c, f->p, k, &ierr);
        f->p += k;
        f->n -= k;
      }
      FUZZ_CHECK(irc == QS_OK || ierr.message != NULL, "an input refused without a message");
      qs_error_clear(&ierr);
    }
    f->D->xReady(f->c, ev & (QS_WAIT_READ | QS_WAIT_WRITE));
  }
}

static void read_row(feeder *f, qs_dstmt *s) {
  int i, n = f->D->xColumnCount(s);
  FUZZ_CHECK(n >= 0 && n <= 65536, "a column count out of range");
  for (i = 0; i < n; i++) {
    qs_value v;
    (void)f->D->xColumnName(s, i);
    f->D->xColumn(s, i, &v);
    if ((v.type == QS_TTEXT || v.type == QS_TBLOB) && v.u.s.n > 0) {
      volatile char first = v.u.s.p[0], last = v.u.s.p[v.u.s.n - 1];
      (void)first;
      (void)last;
    }
  }
}

/* The whole session over the driver D opened with the given options. */
static void session(const qs_driver *D, int nopt, const char *const *keys, const char *const *vals,
                    const char *select_sql, const uint8_t *data, size_t size) {
  feeder f;
  qs_error err;
  qs_dstmt *s = NULL;
  int rc, rows = 0;
  static const qs_value params[2] = {{QS_TINT, {.i = 42}}, {QS_TTEXT, {.s = {"x'y", 3}}}};
  if (size < 1) return;
  memset(&err, 0, sizeof err);
  memset(&f, 0, sizeof f);
  f.D = D;
  f.chunk = (size_t)(data[0] % 64) + 1;
  if (data[0] >= 192) f.chunk = 4096;
  f.p = (const char *)data + 1;
  f.n = size - 1;
  rc = D->xOpen(nopt, keys, vals, &f.c, &err);
  if (rc != QS_OK) {
    FUZZ_CHECK(err.message != NULL, "an open refused without a message");
    goto done;
  }
  rc = drive(&f, OP_CONNECT, NULL, NULL, &err);
  qs_error_clear(&err);
  if (rc != QS_OK) goto done;
  rc = drive(&f, OP_PREPARE, select_sql, &s, &err);
  qs_error_clear(&err);
  if (rc == QS_OK && s != NULL) {
    int np = D->xParamCount(s);
    if (np >= 0 && np <= 2 && D->xBind(s, np, params, &err) == QS_OK) {
      while ((rc = drive(&f, OP_STEP, NULL, &s, &err)) == QS_ROW && rows++ < 10000) read_row(&f, s);
    }
    qs_error_clear(&err);
    D->xReset(s);
    if (D->xExecMany && np == 2) {
      (void)drive(&f, OP_EXECMANY, NULL, &s, &err);
      qs_error_clear(&err);
      D->xReset(s);
    }
    D->xFinalize(s);
    s = NULL;
  }
  (void)drive(&f, OP_EXEC, "SELECT 1", NULL, &err);
  qs_error_clear(&err);
  (void)D->xChanges(f.c);
  (void)D->xInTransaction(f.c);
done:
  if (f.c) D->xClose(f.c);
  qs_error_clear(&err);
}

#endif
