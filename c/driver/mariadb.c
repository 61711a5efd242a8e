/*
** mariadb.c: the MySQL/MariaDB driver, the qs_driver table over libmariadb
** (the libmysqlclient API) used through its non-blocking API.
**
** Every operation that talks to the server is a sequence of libmariadb's
** mysql_*_start / mysql_*_cont calls (MYSQL_OPT_NONBLOCK): a call that would
** block returns what it waits for, the operation returns QS_WAIT, and the
** caller, once the socket is ready, calls the same member again, which
** continues that call (c->call) at the operation's phase (c->phase). The
** core drives the same steps with poll() in blocking mode, so there is one
** code path for both modes. libmariadb keeps a suspended call on a stack of
** its own (its my_context), which is why the library state is never touched
** by another member while a call is suspended (c->call != CALL_NONE): those
** members only note what to do at the next operation.
**
** Statements are server-side prepared (mysql_stmt_*) with typed binds and
** typed results; results are buffered (mysql_stmt_store_result) because an
** unbuffered result blocks the connection until read to the end (NOTES.md),
** and buffers are sized from each column's max_length. A streamed execution
** (xStream: yield_per) is the exception: its rows are fetched unbuffered, a
** row per step (mysql_stmt_fetch_start/_cont), string buffers grown for a
** longer value; the core refuses other operations meanwhile, and one left
** mid-way has its handle closed with the next operation (mysql_stmt_close
** reads the rest, as steps) and is prepared again at its next use. A reset frees the
** buffered result only (no COM_STMT_RESET round trip: the next execute
** starts afresh), and a finalized statement's COM_STMT_CLOSE, which has no
** reply, is queued (c->dead) and sent at the start of the next operation.
** The connection uses utf8mb4 and CLIENT_FOUND_ROWS, so rowcount counts
** matched rows (optimistic locking relies on it). The client's "server
** gone/lost" and connection errors, a killed connection and MySQL's idle
** timeout mean the connection is gone; that and the errno classes are
** c/core/error.c's qs_mysql_error_set, shared with the wire driver. A
** statement timeout is the server's own (max_statement_time on MariaDB, max_execution_time for
** SELECTs on MySQL), so the core sets no deadline of its own; a cancel is
** KILL QUERY sent over a second, short-lived connection, from a detached
** thread when the caller must not wait.
**
** Options: host, port, user, password, database, ssl_ca, ssl_cert, ssl_key,
** connect_timeout, read_timeout, write_timeout.
*/
#include "quicksilver.h"
#include "my_common.h"
#include "opts.h"

#include <mysql.h>
#include <errmsg.h>
#include <mysqld_error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* A streamed result's string buffers start at most this large (bytes). */
#define STREAM_BUF_CAP 4096

/* The character set number of binary strings (collation "binary"): such a
** column holds bytes, not text. */
#define CHARSET_BINARY 63

/* How a result column is fetched: the kind of buffer bound for it. */
typedef enum result_kind {
  RESULT_STRING = 0,         /* text or bytes, in rbuf (rlen long) */
  RESULT_INTEGER = 1,        /* a 64-bit integer, in rint */
  RESULT_DOUBLE = 2          /* a double, in rdbl */
} result_kind;

/* The operation in progress on a connection (one at a time). */
typedef enum op_kind {
  OP_NONE = 0,
  OP_CONNECT, OP_PREPARE, OP_STEP, OP_EXEC, OP_EXECMANY, OP_TIMEOUT,
  OP_ABANDONED               /* its statement was finalized mid-way: the
                             ** protocol's state is unknown, nothing more runs */
} op_kind;

static const char *const op_names[] = {
  "nothing", "a connect", "a prepare", "a statement's execution", "an exec",
  "an executemany", "a timeout change", "an abandoned operation"
};

/* Where an operation is: what it does when called next. */
typedef enum phase {
  PH_FLUSH = 0,              /* send the queued COM_STMT_CLOSEs (every operation starts here) */
  PH_PREPARE,                /* prepare s->st (new, renewed or after a failed result) */
  PH_EXECUTE,
  PH_STORE,                  /* buffer the statement's result */
  PH_QUERY,                  /* xExec: the text query */
  PH_RESULT,                 /* xExec: buffer (and drop) one of its results */
  PH_NEXT,                   /* xExec: on to the next result */
  PH_FETCH                   /* a streamed result: its next row read from the socket */
} phase;

/* The libmariadb call suspended (waiting), continued with its _cont. */
typedef enum call_kind {
  CALL_NONE = 0,
  CALL_CONNECT, CALL_QUERY, CALL_RESULT, CALL_NEXT,
  CALL_PREPARE, CALL_EXECUTE, CALL_STORE, CALL_CLOSE, CALL_FETCH
} call_kind;

struct qs_dconn {
  MYSQL *my;
  int64_t changes;
  int64_t last_id;
  unsigned long thread_id;   /* the server's id of this connection (KILL); 0 until connected */
  qs_opts opts;   /* kept: the cancel connection reuses them, from another thread */
  /* the operation in progress */
  op_kind op;
  phase phase;
  qs_dstmt *op_stmt;         /* the statement it works on (xPrepare: the one it makes) */
  char *op_sql;              /* xExec's text, copied: a suspended call still reads it */
  int renewed;               /* the statement was prepared anew once already */
  int op_i, op_nsets, op_nparams;  /* xExecMany: the set being run, of how many */
  const qs_value *op_vals;
  int64_t op_changes;
  /* the libmariadb call in progress */
  call_kind call;
  int status;                /* what it waits for: MYSQL_WAIT_* bits */
  int ready;                 /* what the wait saw, for the next _cont: MYSQL_WAIT_* bits */
  int ret_int;
  my_bool ret_bool;
  MYSQL *ret_my;
  MYSQL_RES *ret_res;
  /* statements whose COM_STMT_CLOSE waits for the next operation; room is
  ** kept for every statement handle that exists (nst), so queueing one
  ** never fails */
  MYSQL_STMT **dead;
  int ndead, cap_dead, nst;
  MYSQL_STMT *closing;       /* the one whose mysql_stmt_close is in progress */
};

struct qs_dstmt {
  qs_dconn *c;
  MYSQL_STMT *st;            /* NULL: to be prepared again before it runs */
  int nparams, ncols;
  char **colnames;
  int *colbinary;            /* binary collation: bytes, not text */
  MYSQL_BIND *pbind;
  long long *pint;           /* storage for integer parameters */
  double *pdbl;
  char *ptiny;
  unsigned long *plen;
  MYSQL_BIND *rbind;
  char **rbuf;
  unsigned long *rlen;
  my_bool *rnull;
  my_bool *rerr;
  long long *rint;
  double *rdbl;
  result_kind *rkind;        /* per column */
  int executed;
  int stored;
  int stream;                /* the next execution streams (xStream) */
  int live;                  /* its unbuffered result is open: rows come from the socket */
  char *sql;                 /* kept to prepare again (the server's metadata changed) */
  size_t sqln;
};

static int fail(qs_error *err, unsigned e, const char *state, const char *msg) {
  return qs_mysql_error_set(err, e, state, msg);
}

static int fail_conn(qs_dconn *c, qs_error *err) {
  return fail(err, mysql_errno(c->my), mysql_sqlstate(c->my), mysql_error(c->my));
}

static int fail_stmt(qs_dstmt *s, qs_error *err) {
  return fail(err, mysql_stmt_errno(s->st), mysql_stmt_sqlstate(s->st), mysql_stmt_error(s->st));
}

static int nomem(qs_error *err) { return qs_error_set(err, QS_NOMEM, "out of memory"); }

/* Sets the connection options on my (the main connection and the one a
** cancel uses). */
static void set_options(MYSQL *my, const qs_opts *o) {
  const char *t;
  mysql_options(my, MYSQL_SET_CHARSET_NAME, "utf8mb4");
  if ((t = qs__opts_get(o, "connect_timeout")) != NULL) {
    unsigned v = (unsigned)atoi(t);
    mysql_options(my, MYSQL_OPT_CONNECT_TIMEOUT, &v);
  }
  if ((t = qs__opts_get(o, "read_timeout")) != NULL) {
    unsigned v = (unsigned)atoi(t);
    mysql_options(my, MYSQL_OPT_READ_TIMEOUT, &v);
  }
  if ((t = qs__opts_get(o, "write_timeout")) != NULL) {
    unsigned v = (unsigned)atoi(t);
    mysql_options(my, MYSQL_OPT_WRITE_TIMEOUT, &v);
  }
  if ((t = qs__opts_get(o, "ssl_ca")) != NULL) mysql_options(my, MYSQL_OPT_SSL_CA, t);
  if ((t = qs__opts_get(o, "ssl_cert")) != NULL) mysql_options(my, MYSQL_OPT_SSL_CERT, t);
  if ((t = qs__opts_get(o, "ssl_key")) != NULL) mysql_options(my, MYSQL_OPT_SSL_KEY, t);
}

static unsigned port_of(const qs_opts *o) {
  const char *port = qs__opts_get(o, "port");
  return port ? (unsigned)atoi(port) : 0;
}

/* ------------------------------------------------------------------------
** Calls as steps. call() starts libmariadb's call kind, or continues it when
** it is the one suspended, with what the wait saw: 1 when it has finished
** (its result in c->ret_*), 0 when it waits again (c->status).
*/
static int call(qs_dconn *c, call_kind kind, MYSQL_STMT *st, const char *sql, size_t n) {
  int status = 0;
  if (c->call == kind) {
    int ready = c->ready;
    c->ready = 0;
    switch (kind) {
      case CALL_CONNECT: status = mysql_real_connect_cont(&c->ret_my, c->my, ready); break;
      case CALL_QUERY: status = mysql_real_query_cont(&c->ret_int, c->my, ready); break;
      case CALL_RESULT: status = mysql_store_result_cont(&c->ret_res, c->my, ready); break;
      case CALL_NEXT: status = mysql_next_result_cont(&c->ret_int, c->my, ready); break;
      case CALL_PREPARE: status = mysql_stmt_prepare_cont(&c->ret_int, st, ready); break;
      case CALL_EXECUTE: status = mysql_stmt_execute_cont(&c->ret_int, st, ready); break;
      case CALL_STORE: status = mysql_stmt_store_result_cont(&c->ret_int, st, ready); break;
      case CALL_CLOSE: status = mysql_stmt_close_cont(&c->ret_bool, st, ready); break;
      case CALL_FETCH: status = mysql_stmt_fetch_cont(&c->ret_int, st, ready); break;
      case CALL_NONE: break;
    }
  } else {
    c->ready = 0;
    switch (kind) {
      case CALL_CONNECT: {
        const qs_opts *o = &c->opts;
        status = mysql_real_connect_start(&c->ret_my, c->my, qs__opts_get(o, "host"),
                                          qs__opts_get(o, "user"), qs__opts_get(o, "password"),
                                          qs__opts_get(o, "database"), port_of(o), NULL,
                                          CLIENT_FOUND_ROWS);
        break;
      }
      case CALL_QUERY: status = mysql_real_query_start(&c->ret_int, c->my, sql, (unsigned long)n); break;
      case CALL_RESULT: status = mysql_store_result_start(&c->ret_res, c->my); break;
      case CALL_NEXT: status = mysql_next_result_start(&c->ret_int, c->my); break;
      case CALL_PREPARE: status = mysql_stmt_prepare_start(&c->ret_int, st, sql, (unsigned long)n); break;
      case CALL_EXECUTE: status = mysql_stmt_execute_start(&c->ret_int, st); break;
      case CALL_STORE: status = mysql_stmt_store_result_start(&c->ret_int, st); break;
      case CALL_CLOSE: status = mysql_stmt_close_start(&c->ret_bool, st); break;
      case CALL_FETCH: status = mysql_stmt_fetch_start(&c->ret_int, st); break;
      case CALL_NONE: break;
    }
  }
  c->status = status;
  c->call = status ? kind : CALL_NONE;
  return status == 0;
}

/* Begins operation kind (on statement s), or fails when another one is in
** progress: the caller must finish that one first. */
static int enter(qs_dconn *c, op_kind kind, qs_dstmt *s, qs_error *err) {
  if (c->op == OP_ABANDONED) {
    qs_error_set(err, QS_OPERATIONAL,
                 "mysql: the connection was left in the middle of an operation and cannot be used");
    err->invalidated = 1;
    return QS_OPERATIONAL;
  }
  if (c->op != OP_NONE)
    return qs_error_set(err, QS_MISUSE,
                        "mysql: %s cannot start while %s is in progress on this connection "
                        "(a connection runs one operation at a time)",
                        op_names[kind], op_names[c->op]);
  c->op = kind;
  c->op_stmt = s;
  c->phase = PH_FLUSH;
  c->renewed = 0;
  return QS_OK;
}

/* Ends the operation in progress; returns rc. */
static int leave(qs_dconn *c, int rc) {
  c->op = OP_NONE;
  c->op_stmt = NULL;
  free(c->op_sql);
  c->op_sql = NULL;
  return rc;
}

/* Room in the queue of dead statements for n of them. */
static int reserve_dead(qs_dconn *c, int n) {
  MYSQL_STMT **d;
  int cap;
  if (n <= c->cap_dead) return 1;
  cap = c->cap_dead ? c->cap_dead * 2 : 8;
  while (cap < n) cap *= 2;
  d = realloc(c->dead, (size_t)cap * sizeof *d);
  if (d == NULL) return 0;
  c->dead = d;
  c->cap_dead = cap;
  return 1;
}

/* A statement handle whose COM_STMT_CLOSE goes out with the next operation
** (room was reserved when it was made). */
static void bury(qs_dconn *c, MYSQL_STMT *st) {
  c->dead[c->ndead++] = st;
}

/* Sends the queued COM_STMT_CLOSEs (each frees its handle; it has no reply,
** but a statement left with rows unread reads them first): 1 when done, 0
** when waiting. The one being closed leaves the queue first (c->closing):
** statements finalized meanwhile join the queue behind it. Errors are the
** next statement's to report. */
static int flush_dead(qs_dconn *c) {
  for (;;) {
    if (c->closing == NULL) {
      if (c->ndead == 0) return 1;
      c->closing = c->dead[--c->ndead];
    }
    if (!call(c, CALL_CLOSE, c->closing, NULL, 0)) return 0;
    c->closing = NULL;
    c->nst--;
  }
}

/* ------------------------------------------------------------------------
** Connections.
*/
static int xOpen(int nopt, const char *const *keys, const char *const *vals, qs_dconn **out,
                 qs_error *err) {
  qs_dconn *c;
  *out = NULL;
  c = calloc(1, sizeof *c);
  if (c == NULL) return nomem(err);
  if (!qs__opts_copy(&c->opts, nopt, keys, vals) || (c->my = mysql_init(NULL)) == NULL) {
    qs__opts_free(&c->opts);
    free(c);
    return nomem(err);
  }
  set_options(c->my, &c->opts);
  /* a NULL stack size: libmariadb's default for the suspended calls */
  if (mysql_options(c->my, MYSQL_OPT_NONBLOCK, NULL) != 0) {
    mysql_close(c->my);
    qs__opts_free(&c->opts);
    free(c);
    return nomem(err);
  }
  *out = c;
  return QS_OK;
}

static int xConnect(qs_dconn *c, qs_error *err) {
  int rc;
  if (c->op != OP_CONNECT) {
    if (c->thread_id != 0) return QS_OK;   /* connected already */
    rc = enter(c, OP_CONNECT, NULL, err);
    if (rc != QS_OK) return rc;
  }
  if (!call(c, CALL_CONNECT, NULL, NULL, 0)) return QS_WAIT;
  leave(c, QS_OK);
  if (c->ret_my == NULL) {
    rc = fail_conn(c, err);
    err->invalidated = 1;
    return rc;
  }
  c->thread_id = mysql_thread_id(c->my);
  return QS_OK;
}

static int xWait(qs_dconn *c, int *fd, int *timeout_ms) {
  int events = 0;
  *fd = -1;
  *timeout_ms = -1;
  if (c->call == CALL_NONE) return 0;
  *fd = (int)mysql_get_socket(c->my);
  if (c->status & MYSQL_WAIT_READ) events |= QS_WAIT_READ;
  /* a connect waits for "writable or an exception": poll() reports a failed
  ** connect as writable (and as POLLERR, whatever was asked) */
  if (c->status & (MYSQL_WAIT_WRITE | MYSQL_WAIT_EXCEPT)) events |= QS_WAIT_WRITE;
  if (c->status & MYSQL_WAIT_TIMEOUT) *timeout_ms = (int)mysql_get_timeout_value_ms(c->my);
  return events;
}

static void xReady(qs_dconn *c, int events) {
  c->ready = ((events & QS_WAIT_READ) ? MYSQL_WAIT_READ : 0) |
             ((events & QS_WAIT_WRITE) ? MYSQL_WAIT_WRITE : 0) |
             ((events & QS_WAIT_TIMEOUT) ? MYSQL_WAIT_TIMEOUT : 0);
}

static void free_results(qs_dstmt *s) {
  int i;
  if (s->rbuf)
    for (i = 0; i < s->ncols; i++) free(s->rbuf[i]);
  free(s->rbuf); free(s->rbind); free(s->rlen); free(s->rnull); free(s->rerr);
  free(s->rint); free(s->rdbl); free(s->rkind);
  s->rbuf = NULL; s->rbind = NULL; s->rlen = NULL; s->rnull = NULL; s->rerr = NULL;
  s->rint = NULL; s->rdbl = NULL; s->rkind = NULL;
}

/* Frees the driver's side of s; its handle, if any, was buried first. */
static void free_stmt(qs_dstmt *s) {
  int i;
  free_results(s);
  if (s->colnames)
    for (i = 0; i < s->ncols; i++) free(s->colnames[i]);
  free(s->colnames); free(s->colbinary);
  free(s->pbind); free(s->pint); free(s->pdbl); free(s->ptiny); free(s->plen);
  free(s->sql);
  free(s);
}

/* Closes without waiting for anything. Abandoned mid-call, the socket is
** shut first, so that mysql_close's COM_QUIT fails at once instead of
** queueing behind a half-sent packet; the handles still queued are closed
** after mysql_close, which has detached them (memory only, no I/O). */
static void xClose(qs_dconn *c) {
  if (c->call != CALL_NONE) {
    int fd = (int)mysql_get_socket(c->my);
    if (fd >= 0) shutdown(fd, SHUT_RDWR);
    if (c->call == CALL_CLOSE) {
      /* mysql_stmt_close suspended: still reading rows left unread, the
      ** handle is still the connection's (mysql_close detaches it, closed
      ** below); or sending COM_STMT_CLOSE, having freed the handle's
      ** memory and unlinked it, with these two frees left to do */
      MYSQL_STMT *st = c->closing;
      LIST *l;
      for (l = c->my->stmts; l != NULL && l->data != st; l = l->next) {}
      if (l == NULL) {
        c->closing = NULL;
        free(st->extension);
        free(st);
      }
    }
  }
  mysql_close(c->my);
  if (c->closing) mysql_stmt_close(c->closing);
  while (c->ndead > 0) mysql_stmt_close(c->dead[--c->ndead]);
  if (c->op == OP_PREPARE && c->op_stmt) {   /* a statement half made */
    if (c->op_stmt->st) mysql_stmt_close(c->op_stmt->st);
    free_stmt(c->op_stmt);
  }
  free(c->op_sql);
  free(c->dead);
  qs__opts_free(&c->opts);
  free(c);
}

/* ------------------------------------------------------------------------
** Statements.
*/

/* Column names and kinds of the statement's result (again after an ALTER
** TABLE changed them: the server re-prepares by itself, the client must
** follow). */
static int load_columns(qs_dstmt *s) {
  MYSQL_RES *meta;
  int i;
  if (s->colnames)
    for (i = 0; i < s->ncols; i++) free(s->colnames[i]);
  free(s->colnames);
  free(s->colbinary);
  s->colnames = NULL;
  s->colbinary = NULL;
  s->ncols = 0;
  meta = mysql_stmt_result_metadata(s->st);
  if (meta) {
    MYSQL_FIELD *f = mysql_fetch_fields(meta);
    s->ncols = (int)mysql_num_fields(meta);
    s->colnames = calloc((size_t)s->ncols + 1, sizeof(char *));
    s->colbinary = calloc((size_t)s->ncols + 1, sizeof(int));
    for (i = 0; s->colnames && s->colbinary && i < s->ncols; i++) {
      size_t len = strlen(f[i].name);
      s->colnames[i] = malloc(len + 1);
      if (s->colnames[i]) memcpy(s->colnames[i], f[i].name, len + 1);
      s->colbinary[i] = f[i].charsetnr == CHARSET_BINARY && (f[i].type == MYSQL_TYPE_BLOB ||
        f[i].type == MYSQL_TYPE_TINY_BLOB || f[i].type == MYSQL_TYPE_MEDIUM_BLOB ||
        f[i].type == MYSQL_TYPE_LONG_BLOB || f[i].type == MYSQL_TYPE_STRING ||
        f[i].type == MYSQL_TYPE_VAR_STRING);
    }
    mysql_free_result(meta);
    if (!s->colnames || !s->colbinary) return QS_NOMEM;
  }
  return QS_OK;
}

/* Buries s's handle: the statement is prepared anew before it runs again. */
static void discard_handle(qs_dstmt *s) {
  if (s->st == NULL) return;
  bury(s->c, s->st);
  s->st = NULL;
  s->stored = 0;
  s->executed = 0;
}

/* Prepares s->sql into a new handle, as steps: QS_OK, QS_WAIT or an error
** (the handle then buried). */
static int prepare_handle(qs_dstmt *s, qs_error *err) {
  qs_dconn *c = s->c;
  my_bool on = 1;
  int rc;
  if (s->st == NULL) {
    if (!reserve_dead(c, c->nst + 1)) return nomem(err);
    s->st = mysql_stmt_init(c->my);
    if (s->st == NULL) return fail_conn(c, err);
    c->nst++;
  }
  if (!call(c, CALL_PREPARE, s->st, s->sql, s->sqln)) return QS_WAIT;
  if (c->ret_int != 0) {
    rc = fail_stmt(s, err);
    discard_handle(s);
    return rc;
  }
  mysql_stmt_attr_set(s->st, STMT_ATTR_UPDATE_MAX_LENGTH, &on);
  if (load_columns(s) != QS_OK) return nomem(err);
  return QS_OK;
}

static int xPrepare(qs_dconn *c, const char *sql, size_t n, qs_dstmt **out, qs_error *err) {
  qs_dstmt *s;
  int rc;
  *out = NULL;
  if (c->op != OP_PREPARE) {
    rc = enter(c, OP_PREPARE, NULL, err);
    if (rc != QS_OK) return rc;
  }
  if (c->phase == PH_FLUSH) {
    if (!flush_dead(c)) return QS_WAIT;
    /* the statement text is read here, at the first call, and kept */
    s = calloc(1, sizeof *s);
    if (s == NULL || (s->sql = malloc(n + 1)) == NULL) {
      free(s);
      return leave(c, nomem(err));
    }
    memcpy(s->sql, sql, n);
    s->sql[n] = '\0';
    s->sqln = n;
    s->c = c;
    c->op_stmt = s;
    c->phase = PH_PREPARE;
  }
  s = c->op_stmt;
  rc = prepare_handle(s, err);
  if (rc == QS_WAIT) return rc;
  c->op_stmt = NULL;
  if (rc != QS_OK) {
    free_stmt(s);
    return leave(c, rc);
  }
  s->nparams = (int)mysql_stmt_param_count(s->st);
  s->pbind = calloc((size_t)s->nparams + 1, sizeof(MYSQL_BIND));
  s->pint = calloc((size_t)s->nparams + 1, sizeof(long long));
  s->pdbl = calloc((size_t)s->nparams + 1, sizeof(double));
  s->ptiny = calloc((size_t)s->nparams + 1, 1);
  s->plen = calloc((size_t)s->nparams + 1, sizeof(unsigned long));
  if (!s->pbind || !s->pint || !s->pdbl || !s->ptiny || !s->plen) {
    discard_handle(s);
    free_stmt(s);
    return leave(c, nomem(err));
  }
  *out = s;
  return leave(c, QS_OK);
}

static int xParamCount(qs_dstmt *s) { return s->nparams; }

static int xBind(qs_dstmt *s, int n, const qs_value *vals, qs_error *err) {
  int i;
  if (n == 0) return QS_OK;
  memset(s->pbind, 0, sizeof(MYSQL_BIND) * (size_t)s->nparams);
  for (i = 0; i < n && i < s->nparams; i++) {
    MYSQL_BIND *b = &s->pbind[i];
    const qs_value *v = &vals[i];
    switch (v->type) {
      case QS_TNULL: b->buffer_type = MYSQL_TYPE_NULL; break;
      case QS_TINT:
        s->pint[i] = v->u.i;
        b->buffer_type = MYSQL_TYPE_LONGLONG;
        b->buffer = &s->pint[i];
        break;
      case QS_TBOOL:
        s->ptiny[i] = (char)(v->u.i != 0);
        b->buffer_type = MYSQL_TYPE_TINY;
        b->buffer = &s->ptiny[i];
        break;
      case QS_TFLOAT:
        s->pdbl[i] = v->u.f;
        b->buffer_type = MYSQL_TYPE_DOUBLE;
        b->buffer = &s->pdbl[i];
        break;
      case QS_TTEXT:
      case QS_TBLOB:
        s->plen[i] = (unsigned long)v->u.s.n;
        b->buffer_type = v->type == QS_TTEXT ? MYSQL_TYPE_STRING : MYSQL_TYPE_BLOB;
        b->buffer = (void *)v->u.s.p;   /* the caller keeps the bytes until the operation ends */
        b->buffer_length = s->plen[i];
        b->length = &s->plen[i];
        break;
    }
  }
  /* no handle (to be prepared again): bound once it is there */
  if (s->st && mysql_stmt_bind_param(s->st, s->pbind) != 0) return fail_stmt(s, err);
  return QS_OK;
}

/* Binds result buffers sized from the stored result's max_length. */
static int bind_results(qs_dstmt *s, qs_error *err) {
  MYSQL_RES *meta = mysql_stmt_result_metadata(s->st);
  MYSQL_FIELD *f;
  int i;
  if (meta == NULL) return QS_OK;
  f = mysql_fetch_fields(meta);
  free_results(s);
  s->rbind = calloc((size_t)s->ncols, sizeof(MYSQL_BIND));
  s->rbuf = calloc((size_t)s->ncols, sizeof(char *));
  s->rlen = calloc((size_t)s->ncols, sizeof(unsigned long));
  s->rnull = calloc((size_t)s->ncols, sizeof(my_bool));
  s->rerr = calloc((size_t)s->ncols, sizeof(my_bool));
  s->rint = calloc((size_t)s->ncols, sizeof(long long));
  s->rdbl = calloc((size_t)s->ncols, sizeof(double));
  s->rkind = calloc((size_t)s->ncols, sizeof(result_kind));
  if (!s->rbind || !s->rbuf || !s->rlen || !s->rnull || !s->rerr || !s->rint || !s->rdbl || !s->rkind) {
    mysql_free_result(meta);
    return nomem(err);
  }
  for (i = 0; i < s->ncols; i++) {
    MYSQL_BIND *b = &s->rbind[i];
    switch (f[i].type) {
      case MYSQL_TYPE_TINY: case MYSQL_TYPE_SHORT: case MYSQL_TYPE_LONG: case MYSQL_TYPE_INT24:
      case MYSQL_TYPE_LONGLONG: case MYSQL_TYPE_YEAR:
        s->rkind[i] = RESULT_INTEGER;
        b->buffer_type = MYSQL_TYPE_LONGLONG;
        b->buffer = &s->rint[i];
        b->is_unsigned = (f[i].flags & UNSIGNED_FLAG) != 0;
        break;
      case MYSQL_TYPE_FLOAT: case MYSQL_TYPE_DOUBLE:
        s->rkind[i] = RESULT_DOUBLE;
        b->buffer_type = MYSQL_TYPE_DOUBLE;
        b->buffer = &s->rdbl[i];
        break;
      default: {
        /* buffered: the longest value's size; streamed (no max_length yet):
        ** the declared size up to STREAM_BUF_CAP, grown for a longer value */
        unsigned long cap = s->stored ? f[i].max_length + 1
                          : (f[i].length < STREAM_BUF_CAP ? f[i].length : STREAM_BUF_CAP) + 1;
        s->rkind[i] = RESULT_STRING;
        s->rbuf[i] = malloc(cap);
        if (s->rbuf[i] == NULL) {
          mysql_free_result(meta);
          return nomem(err);
        }
        b->buffer_type = MYSQL_TYPE_STRING;
        b->buffer = s->rbuf[i];
        b->buffer_length = cap;
      }
    }
    b->length = &s->rlen[i];
    b->is_null = &s->rnull[i];
    b->error = &s->rerr[i];
  }
  mysql_free_result(meta);
  if (mysql_stmt_bind_result(s->st, s->rbind) != 0) return fail_stmt(s, err);
  return QS_OK;
}

/*
** The statement's execution as steps, from c->phase: the queued closes, a
** prepare when the handle is gone, the execute, the result buffered. A
** result whose shape changed (ALTER TABLE: CR_NEW_STMT_METADATA, the rows
** already on their way) makes a handle bound to the old shape refuse to
** run: it is buried (closing it reads those rows) and the statement is
** prepared anew and executed once more. A result that fails midway (an
** error after some rows) leaves a handle libmariadb would later try to
** read the rest of the rows for: it is buried too. QS_OK: executed (and
** stored when it has columns); QS_WAIT; or an error.
*/
static int run_stmt(qs_dstmt *s, qs_error *err) {
  qs_dconn *c = s->c;
  int rc;
  for (;;) {
    switch (c->phase) {
      case PH_FLUSH:
        if (!flush_dead(c)) return QS_WAIT;
        c->phase = s->st ? PH_EXECUTE : PH_PREPARE;
        break;
      case PH_PREPARE:
        rc = prepare_handle(s, err);
        if (rc != QS_OK) return rc;
        if (s->nparams && mysql_stmt_bind_param(s->st, s->pbind) != 0) return fail_stmt(s, err);
        c->phase = PH_EXECUTE;
        break;
      case PH_EXECUTE:
        if (!call(c, CALL_EXECUTE, s->st, NULL, 0)) return QS_WAIT;
        if (c->ret_int != 0) {
          if (mysql_stmt_errno(s->st) == CR_NEW_STMT_METADATA && !c->renewed) {
            c->renewed = 1;
            discard_handle(s);
            free_results(s);
            c->phase = PH_FLUSH;
            break;
          }
          return fail_stmt(s, err);
        }
        c->changes = (int64_t)mysql_stmt_affected_rows(s->st);
        c->last_id = (int64_t)mysql_stmt_insert_id(s->st);
        if ((int)mysql_stmt_field_count(s->st) != s->ncols && load_columns(s) != QS_OK)
          return nomem(err);
        if (s->ncols == 0) {
          s->executed = 1;
          return QS_OK;
        }
        if (s->stream) {   /* unbuffered: the rows stay on the socket until fetched */
          rc = bind_results(s, err);
          if (rc != QS_OK) {
            discard_handle(s);   /* closing it reads the rows it left */
            return rc;
          }
          s->executed = 1;
          s->live = 1;
          return QS_OK;
        }
        c->phase = PH_STORE;
        break;
      case PH_STORE:
        if (!call(c, CALL_STORE, s->st, NULL, 0)) return QS_WAIT;
        if (c->ret_int != 0) {
          rc = fail_stmt(s, err);
          if (!err->invalidated) {
            /* no I/O: the failed read left the connection ready */
            mysql_stmt_free_result(s->st);
            discard_handle(s);
          }
          return rc;
        }
        s->stored = 1;
        rc = bind_results(s, err);
        if (rc != QS_OK) return rc;
        s->executed = 1;
        return QS_OK;
      default:
        return qs_error_set(err, QS_INTERNAL, "mysql: statement in an unknown phase %d", (int)c->phase);
    }
  }
}

static int fetch(qs_dstmt *s, qs_error *err) {
  int rc;
  if (s->ncols == 0 || !s->stored) return QS_DONE;
  rc = mysql_stmt_fetch(s->st);
  if (rc == 0 || rc == MYSQL_DATA_TRUNCATED) return QS_ROW;
  if (rc == MYSQL_NO_DATA) return QS_DONE;
  return fail_stmt(s, err);
}

/* A streamed row's string values longer than their buffers: each buffer
** grown and the value read again from the row libmariadb holds (no I/O). */
static int fetch_truncated(qs_dstmt *s, qs_error *err) {
  int i, rebind = 0;
  for (i = 0; i < s->ncols; i++) {
    MYSQL_BIND *b = &s->rbind[i];
    if (s->rkind[i] != RESULT_STRING || s->rnull[i] || s->rlen[i] < b->buffer_length) continue;
    if (s->rlen[i] >= b->buffer_length) {
      char *p = realloc(s->rbuf[i], s->rlen[i] + 1);
      if (p == NULL) return nomem(err);
      s->rbuf[i] = p;
      b->buffer = p;
      b->buffer_length = s->rlen[i] + 1;
      rebind = 1;
      if (mysql_stmt_fetch_column(s->st, b, (unsigned)i, 0) != 0) return fail_stmt(s, err);
    }
  }
  if (rebind && mysql_stmt_bind_result(s->st, s->rbind) != 0) return fail_stmt(s, err);
  return QS_OK;
}

/* The next row of a streamed result, read from the socket as a step: QS_ROW,
** QS_DONE at its end, an error the server sent mid-way, or QS_WAIT. */
static int stream_fetch(qs_dstmt *s, qs_error *err) {
  qs_dconn *c = s->c;
  int rc;
  if (!call(c, CALL_FETCH, s->st, NULL, 0)) return QS_WAIT;
  leave(c, QS_OK);
  rc = c->ret_int;
  if (rc == 0) return QS_ROW;
  if (rc == MYSQL_DATA_TRUNCATED) return (rc = fetch_truncated(s, err)) == QS_OK ? QS_ROW : rc;
  s->live = 0;
  if (rc == MYSQL_NO_DATA) return QS_DONE;
  /* an unbuffered read's failure is the connection's (libmariadb leaves the
  ** statement's error empty) */
  rc = mysql_stmt_errno(s->st) ? fail_stmt(s, err) : fail_conn(c, err);
  if (!err->invalidated) discard_handle(s);   /* closing it reads what the failure left */
  return rc;
}

static int xStream(qs_dstmt *s, int on) {
  s->stream = on != 0;
  return 1;
}

static int xStep(qs_dstmt *s, qs_error *err) {
  qs_dconn *c = s->c;
  int rc;
  if (s->live) {
    if (c->op != OP_STEP || c->op_stmt != s) {
      rc = enter(c, OP_STEP, s, err);
      if (rc != QS_OK) return rc;
      c->phase = PH_FETCH;
    }
    return stream_fetch(s, err);
  }
  if (c->op != OP_STEP || c->op_stmt != s) {
    if (s->executed) return fetch(s, err);   /* later steps: rows held here */
    rc = enter(c, OP_STEP, s, err);
    if (rc != QS_OK) return rc;
  }
  rc = run_stmt(s, err);
  if (rc == QS_WAIT) return rc;
  leave(c, rc);
  if (rc == QS_OK && s->live) {   /* streamed: the first row is read as a step of its own */
    rc = enter(c, OP_STEP, s, err);
    if (rc != QS_OK) return rc;
    c->phase = PH_FETCH;
    return stream_fetch(s, err);
  }
  return rc == QS_OK ? fetch(s, err) : rc;
}

static int xColumnCount(qs_dstmt *s) { return s->ncols; }
static const char *xColumnName(qs_dstmt *s, int i) {
  return i >= 0 && i < s->ncols ? s->colnames[i] : NULL;
}

static void xColumn(qs_dstmt *s, int i, qs_value *out) {
  out->type = QS_TNULL;
  if (i < 0 || i >= s->ncols || s->rnull == NULL || s->rnull[i]) return;
  switch (s->rkind[i]) {
    case RESULT_INTEGER:
      out->type = QS_TINT;
      out->u.i = s->rint[i];
      return;
    case RESULT_DOUBLE:
      out->type = QS_TFLOAT;
      out->u.f = s->rdbl[i];
      return;
    case RESULT_STRING:
      out->type = s->colbinary[i] ? QS_TBLOB : QS_TTEXT;
      out->u.s.p = s->rbuf[i];
      out->u.s.n = s->rlen[i];
  }
}

static int xReadonly(qs_dstmt *s) { (void)s; return 0; }

/* No COM_STMT_RESET (a round trip per execution): a buffered result is all
** the server-side state an execution leaves, and the next execute starts
** afresh. The result's memory is freed now, unless a call of another
** statement is suspended (libmariadb's connection state is then that
** call's): the next execute frees it then. */
static void xReset(qs_dstmt *s) {
  if (s->c->op_stmt == s) return;   /* its operation is in progress: nothing to undo yet */
  s->stream = 0;
  if (s->live) {
    /* a streamed result left mid-way: the handle is closed with the next
    ** operation (mysql_stmt_close reads the rows left, as steps) and the
    ** statement prepared again at its next use */
    s->live = 0;
    discard_handle(s);
    return;
  }
  if (s->stored && s->st && s->c->call == CALL_NONE) mysql_stmt_free_result(s->st);
  s->stored = 0;
  s->executed = 0;
}

/* Never waits: the handle's COM_STMT_CLOSE is queued for the next
** operation. Finalized in the middle of its own operation (the caller gave
** up on it), the connection is left unusable. */
static void xFinalize(qs_dstmt *s) {
  qs_dconn *c = s->c;
  if (c->op_stmt == s) {
    c->op = OP_ABANDONED;
    c->op_stmt = NULL;
  } else if (s->stored && s->st && c->call == CALL_NONE) {
    mysql_stmt_free_result(s->st);   /* the memory now, the server's side later */
  }
  s->live = 0;   /* streamed and left mid-way: closing the handle reads the rest */
  discard_handle(s);
  free_stmt(s);
}

static int64_t xChanges(qs_dconn *c) { return c->changes; }
static int64_t xLastInsertId(qs_dconn *c) { return c->last_id; }

/* c->op_sql as steps, from c->phase: the queued closes, the query, then each
** of its results buffered and dropped. */
static int exec_steps(qs_dconn *c, qs_error *err) {
  for (;;) {
    switch (c->phase) {
      case PH_FLUSH:
        if (!flush_dead(c)) return QS_WAIT;
        c->phase = PH_QUERY;
        break;
      case PH_QUERY:
        if (!call(c, CALL_QUERY, NULL, c->op_sql, strlen(c->op_sql))) return QS_WAIT;
        if (c->ret_int != 0) return fail_conn(c, err);
        c->phase = PH_RESULT;
        break;
      case PH_RESULT:
        if (!call(c, CALL_RESULT, NULL, NULL, 0)) return QS_WAIT;
        if (c->ret_res) {
          mysql_free_result(c->ret_res);   /* buffered: no I/O */
          c->ret_res = NULL;
        } else if (mysql_field_count(c->my) != 0) {
          return fail_conn(c, err);        /* rows announced, and reading them failed */
        }
        c->phase = PH_NEXT;
        break;
      case PH_NEXT:
        if (!call(c, CALL_NEXT, NULL, NULL, 0)) return QS_WAIT;
        if (c->ret_int > 0) return fail_conn(c, err);
        if (c->ret_int < 0) return QS_OK;  /* no more results */
        c->phase = PH_RESULT;
        break;
      default:
        return qs_error_set(err, QS_INTERNAL, "mysql: exec in an unknown phase %d", (int)c->phase);
    }
  }
}

/* Begins an exec-like operation on a copy of sql (a suspended call reads
** it after the caller's copy may be gone). */
static int enter_exec(qs_dconn *c, op_kind kind, const char *sql, qs_error *err) {
  size_t n = strlen(sql) + 1;
  int rc = enter(c, kind, NULL, err);
  if (rc != QS_OK) return rc;
  c->op_sql = malloc(n);
  if (c->op_sql == NULL) return leave(c, nomem(err));
  memcpy(c->op_sql, sql, n);
  return QS_OK;
}

static int xExec(qs_dconn *c, const char *sql, qs_error *err) {
  int rc;
  if (c->op != OP_EXEC) {
    rc = enter_exec(c, OP_EXEC, sql, err);
    if (rc != QS_OK) return rc;
  }
  rc = exec_steps(c, err);
  return rc == QS_WAIT ? rc : leave(c, rc);
}

static int xInTransaction(qs_dconn *c) {
  return (c->my->server_status & SERVER_STATUS_IN_TRANS) != 0;
}

/* Each parameter set in turn: bound, executed (as xStep's first step), its
** rows (RETURNING) dropped, its changes counted. */
static int xExecMany(qs_dstmt *s, int nsets, int nparams, const qs_value *vals,
                     int64_t *changes, qs_error *err) {
  qs_dconn *c = s->c;
  int rc;
  if (c->op != OP_EXECMANY || c->op_stmt != s) {
    *changes = 0;
    if (nsets <= 0) return QS_OK;
    rc = enter(c, OP_EXECMANY, s, err);
    if (rc != QS_OK) return rc;
    c->op_i = 0;
    c->op_nsets = nsets;
    c->op_nparams = nparams;
    c->op_vals = vals;
    c->op_changes = 0;
    rc = xBind(s, nparams, vals, err);
    if (rc != QS_OK) return leave(c, rc);
  }
  for (;;) {
    rc = run_stmt(s, err);
    if (rc == QS_WAIT) return rc;
    if (rc != QS_OK) return leave(c, rc);
    c->op_changes += c->changes;
    if (s->stored) mysql_stmt_free_result(s->st);
    s->stored = 0;
    s->executed = 0;
    if (++c->op_i == c->op_nsets) break;
    rc = xBind(s, c->op_nparams, c->op_vals + (size_t)c->op_i * (size_t)c->op_nparams, err);
    if (rc != QS_OK) return leave(c, rc);
    c->phase = PH_FLUSH;
  }
  *changes = c->changes = c->op_changes;
  return leave(c, QS_OK);
}

/* The server enforces the limit (my_common.h). */
static int xSetTimeout(qs_dconn *c, int ms, qs_error *err) {
  int rc;
  if (c->op != OP_TIMEOUT) {
    char sql[96];
    int mariadb = strstr(mysql_get_server_info(c->my), "MariaDB") != NULL;
    qs__my_timeout_sql(mariadb, ms, sql, sizeof sql);
    rc = enter_exec(c, OP_TIMEOUT, sql, err);
    if (rc != QS_OK) return rc;
  }
  rc = exec_steps(c, err);
  return rc == QS_WAIT ? rc : leave(c, rc);
}

/* ------------------------------------------------------------------------
** Cancel. libmariadb has no cancel message: a second connection asks the
** server to stop this one's statement (KILL QUERY). It reads only the kept
** options and the thread id, which never change once connected, so it may
** run on any thread while another one uses c.
*/
static int kill_query(const qs_opts *o, unsigned long id, qs_error *err) {
  char sql[64];
  int rc = QS_OK;
  MYSQL *my = mysql_init(NULL);
  if (my == NULL) return nomem(err);
  set_options(my, o);
  if (!mysql_real_connect(my, qs__opts_get(o, "host"), qs__opts_get(o, "user"),
                          qs__opts_get(o, "password"), qs__opts_get(o, "database"), port_of(o),
                          NULL, 0)) {
    rc = fail(err, mysql_errno(my), mysql_sqlstate(my), mysql_error(my));
  } else {
    snprintf(sql, sizeof sql, "KILL QUERY %lu", id);
    if (mysql_real_query(my, sql, (unsigned long)strlen(sql)) != 0)
      rc = fail(err, mysql_errno(my), mysql_sqlstate(my), mysql_error(my));
  }
  mysql_close(my);
  return rc;
}

/* A detached cancel's thread: libmariadb wants its per-thread state set up
** and released around the calls. */
static int kill_query_thread(const qs_opts *o, unsigned long id, qs_error *err) {
  int rc;
  mysql_thread_init();
  rc = kill_query(o, id, err);
  mysql_thread_end();
  return rc;
}

static int xCancel(qs_dconn *c, int detached, qs_error *err) {
  if (c->thread_id == 0) return QS_OK;   /* not connected yet: nothing runs */
  if (!detached) return kill_query(&c->opts, c->thread_id, err);
  return qs__my_kill_detached(&c->opts, c->thread_id, kill_query_thread, "mysql", err);
}

const qs_driver qs_mariadb_driver = {
  QS_DRIVER_VERSION, "mysql", 0, 0,
  xOpen, xConnect, xClose, xWait, xReady, xPrepare, xParamCount, xBind, xStep,
  xColumnCount, xColumnName, xColumn, xReadonly, xReset, xFinalize, xChanges,
  xLastInsertId, xExec, xInTransaction, xExecMany, NULL, NULL, xSetTimeout, xCancel, NULL, NULL, NULL, xStream,
};
