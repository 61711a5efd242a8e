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
**
** Statements (prepare, bind, execute, fetch) are in mariadb_stmt.c; what the
** two files share in mariadb_conn.h.
*/
#include "mariadb_conn.h"

#include <mysql.h>
#include <errmsg.h>
#include <mysqld_error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static const char *const op_names[] = {
  "nothing", "a connect", "a prepare", "a statement's execution", "an exec",
  "an executemany", "a timeout change", "an abandoned operation"
};

static int fail(qs_error *err, unsigned e, const char *state, const char *msg) {
  return qs_mysql_error_set(err, e, state, msg);
}

int qs__my_fail_conn(qs_dconn *c, qs_error *err) {
  return fail(err, mysql_errno(c->my), mysql_sqlstate(c->my), mysql_error(c->my));
}

int qs__my_fail_stmt(qs_dstmt *s, qs_error *err) {
  return fail(err, mysql_stmt_errno(s->st), mysql_stmt_sqlstate(s->st), mysql_stmt_error(s->st));
}

int qs__my_nomem(qs_error *err) { return qs_error_set(err, QS_NOMEM, "out of memory"); }

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
** Calls as steps. qs__my_call() starts libmariadb's call kind, or continues it when
** it is the one suspended, with what the wait saw: 1 when it has finished
** (its result in c->ret_*), 0 when it waits again (c->status).
*/
int qs__my_call(qs_dconn *c, call_kind kind, MYSQL_STMT *st, const char *sql, size_t n) {
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
int qs__my_enter(qs_dconn *c, op_kind kind, qs_dstmt *s, qs_error *err) {
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
int qs__my_leave(qs_dconn *c, int rc) {
  c->op = OP_NONE;
  c->op_stmt = NULL;
  free(c->op_sql);
  c->op_sql = NULL;
  return rc;
}

/* Room in the queue of dead statements for n of them. */
int qs__my_reserve_dead(qs_dconn *c, int n) {
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
void qs__my_bury(qs_dconn *c, MYSQL_STMT *st) {
  c->dead[c->ndead++] = st;
}

/* Sends the queued COM_STMT_CLOSEs (each frees its handle; it has no reply,
** but a statement left with rows unread reads them first): 1 when done, 0
** when waiting. The one being closed leaves the queue first (c->closing):
** statements finalized meanwhile join the queue behind it. Errors are the
** next statement's to report. */
int qs__my_flush_dead(qs_dconn *c) {
  for (;;) {
    if (c->closing == NULL) {
      if (c->ndead == 0) return 1;
      c->closing = c->dead[--c->ndead];
    }
    if (!qs__my_call(c, CALL_CLOSE, c->closing, NULL, 0)) return 0;
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
  if (c == NULL) return qs__my_nomem(err);
  if (!qs__opts_copy(&c->opts, nopt, keys, vals) || (c->my = mysql_init(NULL)) == NULL) {
    qs__opts_free(&c->opts);
    free(c);
    return qs__my_nomem(err);
  }
  set_options(c->my, &c->opts);
  /* a NULL stack size: libmariadb's default for the suspended calls */
  if (mysql_options(c->my, MYSQL_OPT_NONBLOCK, NULL) != 0) {
    mysql_close(c->my);
    qs__opts_free(&c->opts);
    free(c);
    return qs__my_nomem(err);
  }
  *out = c;
  return QS_OK;
}

static int xConnect(qs_dconn *c, qs_error *err) {
  int rc;
  if (c->op != OP_CONNECT) {
    if (c->thread_id != 0) return QS_OK;   /* connected already */
    rc = qs__my_enter(c, OP_CONNECT, NULL, err);
    if (rc != QS_OK) return rc;
  }
  if (!qs__my_call(c, CALL_CONNECT, NULL, NULL, 0)) return QS_WAIT;
  qs__my_leave(c, QS_OK);
  if (c->ret_my == NULL) {
    rc = qs__my_fail_conn(c, err);
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

void qs__my_free_results(qs_dstmt *s) {
  int i;
  if (s->rbuf)
    for (i = 0; i < s->ncols; i++) free(s->rbuf[i]);
  free(s->rbuf); free(s->rbind); free(s->rlen); free(s->rnull); free(s->rerr);
  free(s->rint); free(s->rdbl); free(s->rkind);
  s->rbuf = NULL; s->rbind = NULL; s->rlen = NULL; s->rnull = NULL; s->rerr = NULL;
  s->rint = NULL; s->rdbl = NULL; s->rkind = NULL;
}

/* Frees the driver's side of s; its handle, if any, was buried first. */
void qs__my_free_stmt(qs_dstmt *s) {
  int i;
  qs__my_free_results(s);
  if (s->colnames)
    for (i = 0; i < s->ncols; i++) free(s->colnames[i]);
  free(s->colnames); free(s->colbinary);
  free(s->pbind); free(s->pint); free(s->pdbl); free(s->ptiny); free(s->plen);
  free(s->sql);
  free(s);
}

/* Closes without waiting for anything. Abandoned mid-qs__my_call, the socket is
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
    qs__my_free_stmt(c->op_stmt);
  }
  free(c->op_sql);
  free(c->dead);
  qs__opts_free(&c->opts);
  free(c);
}

static int64_t xChanges(qs_dconn *c) { return c->changes; }
static int64_t xLastInsertId(qs_dconn *c) { return c->last_id; }

/* c->op_sql as steps, from c->phase: the queued closes, the query, then each
** of its results buffered and dropped. */
static int exec_steps(qs_dconn *c, qs_error *err) {
  for (;;) {
    switch (c->phase) {
      case PH_FLUSH:
        if (!qs__my_flush_dead(c)) return QS_WAIT;
        c->phase = PH_QUERY;
        break;
      case PH_QUERY:
        if (!qs__my_call(c, CALL_QUERY, NULL, c->op_sql, strlen(c->op_sql))) return QS_WAIT;
        if (c->ret_int != 0) return qs__my_fail_conn(c, err);
        c->phase = PH_RESULT;
        break;
      case PH_RESULT:
        if (!qs__my_call(c, CALL_RESULT, NULL, NULL, 0)) return QS_WAIT;
        if (c->ret_res) {
          mysql_free_result(c->ret_res);   /* buffered: no I/O */
          c->ret_res = NULL;
        } else if (mysql_field_count(c->my) != 0) {
          return qs__my_fail_conn(c, err);        /* rows announced, and reading them failed */
        }
        c->phase = PH_NEXT;
        break;
      case PH_NEXT:
        if (!qs__my_call(c, CALL_NEXT, NULL, NULL, 0)) return QS_WAIT;
        if (c->ret_int > 0) return qs__my_fail_conn(c, err);
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
  int rc = qs__my_enter(c, kind, NULL, err);
  if (rc != QS_OK) return rc;
  c->op_sql = malloc(n);
  if (c->op_sql == NULL) return qs__my_leave(c, qs__my_nomem(err));
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
  return rc == QS_WAIT ? rc : qs__my_leave(c, rc);
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
    rc = qs__my_enter(c, OP_EXECMANY, s, err);
    if (rc != QS_OK) return rc;
    c->op_i = 0;
    c->op_nsets = nsets;
    c->op_nparams = nparams;
    c->op_vals = vals;
    c->op_changes = 0;
    rc = qs__my_xBind(s, nparams, vals, err);
    if (rc != QS_OK) return qs__my_leave(c, rc);
  }
  for (;;) {
    rc = qs__my_run_stmt(s, err);
    if (rc == QS_WAIT) return rc;
    if (rc != QS_OK) return qs__my_leave(c, rc);
    c->op_changes += c->changes;
    if (s->stored) mysql_stmt_free_result(s->st);
    s->stored = 0;
    s->executed = 0;
    if (++c->op_i == c->op_nsets) break;
    rc = qs__my_xBind(s, c->op_nparams, c->op_vals + (size_t)c->op_i * (size_t)c->op_nparams, err);
    if (rc != QS_OK) return qs__my_leave(c, rc);
    c->phase = PH_FLUSH;
  }
  *changes = c->changes = c->op_changes;
  return qs__my_leave(c, QS_OK);
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
  return rc == QS_WAIT ? rc : qs__my_leave(c, rc);
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
  if (my == NULL) return qs__my_nomem(err);
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
  xOpen, xConnect, xClose, xWait, xReady, qs__my_xPrepare, qs__my_xParamCount, qs__my_xBind, qs__my_xStep,
  qs__my_xColumnCount, qs__my_xColumnName, qs__my_xColumn, qs__my_xReadonly, qs__my_xReset, qs__my_xFinalize, xChanges,
  xLastInsertId, xExec, xInTransaction, xExecMany, NULL, NULL, xSetTimeout, xCancel, NULL, NULL, NULL, qs__my_xStream,
};
