/*
** mariadb_stmt.c: the MySQL/MariaDB driver's statements (mariadb.c owns the
** connection and the step machinery, c->call and c->phase): prepared with
** mysql_stmt_* as steps, typed binds, result buffers sized from each column's
** max_length (grown on demand for a streamed result), results buffered or,
** for a streamed execution, fetched a row per step; a statement whose result
** shape changed is prepared again; a finalized one's COM_STMT_CLOSE queued on
** the connection (bury) for its next operation.
*/
#include <mysql.h>
#include <errmsg.h>
#include <mysqld_error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "mariadb_conn.h"

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
  qs__my_bury(s->c, s->st);
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
    if (!qs__my_reserve_dead(c, c->nst + 1)) return qs__my_nomem(err);
    s->st = mysql_stmt_init(c->my);
    if (s->st == NULL) return qs__my_fail_conn(c, err);
    c->nst++;
  }
  if (!qs__my_call(c, CALL_PREPARE, s->st, s->sql, s->sqln)) return QS_WAIT;
  if (c->ret_int != 0) {
    rc = qs__my_fail_stmt(s, err);
    discard_handle(s);
    return rc;
  }
  mysql_stmt_attr_set(s->st, STMT_ATTR_UPDATE_MAX_LENGTH, &on);
  if (load_columns(s) != QS_OK) return qs__my_nomem(err);
  return QS_OK;
}

int qs__my_xPrepare(qs_dconn *c, const char *sql, size_t n, qs_dstmt **out, qs_error *err) {
  qs_dstmt *s;
  int rc;
  *out = NULL;
  if (c->op != OP_PREPARE) {
    rc = qs__my_enter(c, OP_PREPARE, NULL, err);
    if (rc != QS_OK) return rc;
  }
  if (c->phase == PH_FLUSH) {
    if (!qs__my_flush_dead(c)) return QS_WAIT;
    /* the statement text is read here, at the first qs__my_call, and kept */
    s = calloc(1, sizeof *s);
    if (s == NULL || (s->sql = malloc(n + 1)) == NULL) {
      free(s);
      return qs__my_leave(c, qs__my_nomem(err));
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
    qs__my_free_stmt(s);
    return qs__my_leave(c, rc);
  }
  s->nparams = (int)mysql_stmt_param_count(s->st);
  s->pbind = calloc((size_t)s->nparams + 1, sizeof(MYSQL_BIND));
  s->pint = calloc((size_t)s->nparams + 1, sizeof(long long));
  s->pdbl = calloc((size_t)s->nparams + 1, sizeof(double));
  s->ptiny = calloc((size_t)s->nparams + 1, 1);
  s->plen = calloc((size_t)s->nparams + 1, sizeof(unsigned long));
  if (!s->pbind || !s->pint || !s->pdbl || !s->ptiny || !s->plen) {
    discard_handle(s);
    qs__my_free_stmt(s);
    return qs__my_leave(c, qs__my_nomem(err));
  }
  *out = s;
  return qs__my_leave(c, QS_OK);
}

int qs__my_xParamCount(qs_dstmt *s) { return s->nparams; }

int qs__my_xBind(qs_dstmt *s, int n, const qs_value *vals, qs_error *err) {
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
  if (s->st && mysql_stmt_bind_param(s->st, s->pbind) != 0) return qs__my_fail_stmt(s, err);
  return QS_OK;
}

/* Binds result buffers sized from the stored result's max_length. */
static int bind_results(qs_dstmt *s, qs_error *err) {
  MYSQL_RES *meta = mysql_stmt_result_metadata(s->st);
  MYSQL_FIELD *f;
  int i;
  if (meta == NULL) return QS_OK;
  f = mysql_fetch_fields(meta);
  qs__my_free_results(s);
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
    return qs__my_nomem(err);
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
          return qs__my_nomem(err);
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
  if (mysql_stmt_bind_result(s->st, s->rbind) != 0) return qs__my_fail_stmt(s, err);
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
int qs__my_run_stmt(qs_dstmt *s, qs_error *err) {
  qs_dconn *c = s->c;
  int rc;
  for (;;) {
    switch (c->phase) {
      case PH_FLUSH:
        if (!qs__my_flush_dead(c)) return QS_WAIT;
        c->phase = s->st ? PH_EXECUTE : PH_PREPARE;
        break;
      case PH_PREPARE:
        rc = prepare_handle(s, err);
        if (rc != QS_OK) return rc;
        if (s->nparams && mysql_stmt_bind_param(s->st, s->pbind) != 0) return qs__my_fail_stmt(s, err);
        c->phase = PH_EXECUTE;
        break;
      case PH_EXECUTE:
        if (!qs__my_call(c, CALL_EXECUTE, s->st, NULL, 0)) return QS_WAIT;
        if (c->ret_int != 0) {
          if (mysql_stmt_errno(s->st) == CR_NEW_STMT_METADATA && !c->renewed) {
            c->renewed = 1;
            discard_handle(s);
            qs__my_free_results(s);
            c->phase = PH_FLUSH;
            break;
          }
          return qs__my_fail_stmt(s, err);
        }
        c->changes = (int64_t)mysql_stmt_affected_rows(s->st);
        c->last_id = (int64_t)mysql_stmt_insert_id(s->st);
        if ((int)mysql_stmt_field_count(s->st) != s->ncols && load_columns(s) != QS_OK)
          return qs__my_nomem(err);
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
        if (!qs__my_call(c, CALL_STORE, s->st, NULL, 0)) return QS_WAIT;
        if (c->ret_int != 0) {
          rc = qs__my_fail_stmt(s, err);
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
  return qs__my_fail_stmt(s, err);
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
      if (p == NULL) return qs__my_nomem(err);
      s->rbuf[i] = p;
      b->buffer = p;
      b->buffer_length = s->rlen[i] + 1;
      rebind = 1;
      if (mysql_stmt_fetch_column(s->st, b, (unsigned)i, 0) != 0) return qs__my_fail_stmt(s, err);
    }
  }
  if (rebind && mysql_stmt_bind_result(s->st, s->rbind) != 0) return qs__my_fail_stmt(s, err);
  return QS_OK;
}

/* The next row of a streamed result, read from the socket as a step: QS_ROW,
** QS_DONE at its end, an error the server sent mid-way, or QS_WAIT. */
static int stream_fetch(qs_dstmt *s, qs_error *err) {
  qs_dconn *c = s->c;
  int rc;
  if (!qs__my_call(c, CALL_FETCH, s->st, NULL, 0)) return QS_WAIT;
  qs__my_leave(c, QS_OK);
  rc = c->ret_int;
  if (rc == 0) return QS_ROW;
  if (rc == MYSQL_DATA_TRUNCATED) return (rc = fetch_truncated(s, err)) == QS_OK ? QS_ROW : rc;
  s->live = 0;
  if (rc == MYSQL_NO_DATA) return QS_DONE;
  /* an unbuffered read's failure is the connection's (libmariadb leaves the
  ** statement's error empty) */
  rc = mysql_stmt_errno(s->st) ? qs__my_fail_stmt(s, err) : qs__my_fail_conn(c, err);
  if (!err->invalidated) discard_handle(s);   /* closing it reads what the failure left */
  return rc;
}

int qs__my_xStream(qs_dstmt *s, int on) {
  s->stream = on != 0;
  return 1;
}

int qs__my_xStep(qs_dstmt *s, qs_error *err) {
  qs_dconn *c = s->c;
  int rc;
  if (s->live) {
    if (c->op != OP_STEP || c->op_stmt != s) {
      rc = qs__my_enter(c, OP_STEP, s, err);
      if (rc != QS_OK) return rc;
      c->phase = PH_FETCH;
    }
    return stream_fetch(s, err);
  }
  if (c->op != OP_STEP || c->op_stmt != s) {
    if (s->executed) return fetch(s, err);   /* later steps: rows held here */
    rc = qs__my_enter(c, OP_STEP, s, err);
    if (rc != QS_OK) return rc;
  }
  rc = qs__my_run_stmt(s, err);
  if (rc == QS_WAIT) return rc;
  qs__my_leave(c, rc);
  if (rc == QS_OK && s->live) {   /* streamed: the first row is read as a step of its own */
    rc = qs__my_enter(c, OP_STEP, s, err);
    if (rc != QS_OK) return rc;
    c->phase = PH_FETCH;
    return stream_fetch(s, err);
  }
  return rc == QS_OK ? fetch(s, err) : rc;
}

int qs__my_xColumnCount(qs_dstmt *s) { return s->ncols; }
const char *qs__my_xColumnName(qs_dstmt *s, int i) {
  return i >= 0 && i < s->ncols ? s->colnames[i] : NULL;
}

void qs__my_xColumn(qs_dstmt *s, int i, qs_value *out) {
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

int qs__my_xReadonly(qs_dstmt *s) { (void)s; return 0; }

/* No COM_STMT_RESET (a round trip per execution): a buffered result is all
** the server-side state an execution leaves, and the next execute starts
** afresh. The result's memory is freed now, unless a call of another
** statement is suspended (libmariadb's connection state is then that
** call's): the next execute frees it then. */
void qs__my_xReset(qs_dstmt *s) {
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
void qs__my_xFinalize(qs_dstmt *s) {
  qs_dconn *c = s->c;
  if (c->op_stmt == s) {
    c->op = OP_ABANDONED;
    c->op_stmt = NULL;
  } else if (s->stored && s->st && c->call == CALL_NONE) {
    mysql_stmt_free_result(s->st);   /* the memory now, the server's side later */
  }
  s->live = 0;   /* streamed and left mid-way: closing the handle reads the rest */
  discard_handle(s);
  qs__my_free_stmt(s);
}
