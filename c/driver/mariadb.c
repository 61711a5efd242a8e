/*
** mariadb.c: the MySQL/MariaDB driver, the qs_driver table over libmariadb
** (the libmysqlclient API).
**
** Statements are server-side prepared (mysql_stmt_*) with typed binds and
** typed results; results are buffered (mysql_stmt_store_result) because an
** unbuffered result blocks the connection until read to the end (NOTES.md),
** and buffers are sized from each column's max_length. The connection uses
** utf8mb4 and CLIENT_FOUND_ROWS, so rowcount counts matched rows (optimistic
** locking relies on it). The client's "server gone/lost" and connection
** errors, a killed connection and MySQL's idle timeout mean the connection
** is gone (is_disconnect). A statement timeout is the server's own
** (max_statement_time on MariaDB, max_execution_time for SELECTs on MySQL);
** a cancel is KILL QUERY sent over a second, short-lived connection.
**
** Options: host, port, user, password, database, ssl_ca, ssl_cert, ssl_key,
** connect_timeout, read_timeout, write_timeout.
*/
#include "quicksilver.h"

#include <mysql.h>
#include <errmsg.h>
#include <mysqld_error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The character set number of binary strings (collation "binary"): such a
** column holds bytes, not text. */
#define CHARSET_BINARY 63

/* MySQL 8.0.24+: the server closed a connection idle past wait_timeout
** (MariaDB's header gives 4031 another meaning, hence no name from it). */
#define MYSQL_ER_CLIENT_INTERACTION_TIMEOUT 4031

/* How a result column is fetched: the kind of buffer bound for it. */
typedef enum result_kind {
  RESULT_STRING = 0,         /* text or bytes, in rbuf (rlen long) */
  RESULT_INTEGER = 1,        /* a 64-bit integer, in rint */
  RESULT_DOUBLE = 2          /* a double, in rdbl */
} result_kind;

struct qs_dconn {
  MYSQL *my;
  int64_t changes;
  int64_t last_id;
  int nopt;                  /* the options, kept for the cancel connection */
  char **keys, **vals;
};

struct qs_dstmt {
  qs_dconn *c;
  MYSQL_STMT *st;
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
  char *sql;                 /* kept to prepare again when the server's metadata changed */
  size_t sqln;
};

static int is_disconnect(unsigned e) {
  return e == CR_SERVER_GONE_ERROR || e == CR_SERVER_LOST || e == CR_SERVER_LOST_EXTENDED ||
         e == ER_CONNECTION_KILLED || e == MYSQL_ER_CLIENT_INTERACTION_TIMEOUT ||
         e == CR_CONNECTION_ERROR || e == CR_CONN_HOST_ERROR;
}

/* MySQL error numbers -> qs families. */
static int classify(unsigned e, const char *state) {
  switch (e) {
    case 1062: case 1451: case 1452: case 1048: case 1216: case 1217: case 3819: case 4025:
    case 1169: case 1557: case 1761: case 1762:
      return QS_INTEGRITY;
    case 1064: case 1146: case 1054: case 1049: case 1050: case 1051: case 1060: case 1061:
    case 1091: case 1149: case 1110: case 1109: case 1052: case 1305:
      return QS_PROGRAMMING;
    case 1264: case 1265: case 1292: case 1366: case 1406: case 1365: case 1367: case 3140:
      return QS_DATA;
    case 1235: case 1289:
      return QS_NOTSUPPORTED;
    default:
      break;
  }
  if (state && strncmp(state, "23", 2) == 0) return QS_INTEGRITY;
  if (state && strncmp(state, "42", 2) == 0) return QS_PROGRAMMING;
  if (state && strncmp(state, "22", 2) == 0) return QS_DATA;
  return QS_OPERATIONAL;   /* lock waits (1205), deadlocks (1213), connection errors */
}

static int fail(qs_error *err, unsigned e, const char *state, const char *msg) {
  err->driver_code = (int)e;
  if (state) {
    strncpy(err->sqlstate, state, sizeof err->sqlstate - 1);
    err->sqlstate[sizeof err->sqlstate - 1] = '\0';
  } else {
    err->sqlstate[0] = '\0';
  }
  err->invalidated = is_disconnect(e);
  free(err->constraint);
  err->constraint = NULL;
  if (e == ER_DUP_ENTRY && msg) {   /* Duplicate entry '...' for key 'name' */
    static const char before_key[] = "for key '";
    const char *k = strstr(msg, before_key);
    if (k) {
      const char *end;
      k += sizeof before_key - 1;
      end = strchr(k, '\'');
      if (end) {
        size_t n = (size_t)(end - k);
        err->constraint = malloc(n + 1);
        if (err->constraint) {
          memcpy(err->constraint, k, n);
          err->constraint[n] = '\0';
        }
      }
    }
  }
  return qs_error_set(err, err->invalidated ? QS_OPERATIONAL : classify(e, state), "(%u) %s", e,
                      msg ? msg : "unknown MySQL error");
}

static int fail_conn(qs_dconn *c, qs_error *err) {
  return fail(err, mysql_errno(c->my), mysql_sqlstate(c->my), mysql_error(c->my));
}

static int fail_stmt(qs_dstmt *s, qs_error *err) {
  return fail(err, mysql_stmt_errno(s->st), mysql_stmt_sqlstate(s->st), mysql_stmt_error(s->st));
}

static const char *opt(int nopt, const char *const *keys, const char *const *vals, const char *name) {
  int i;
  for (i = 0; i < nopt; i++)
    if (strcmp(keys[i], name) == 0) return vals[i];
  return NULL;
}

/* Opens my with the connection options (the main connection and the one a
** cancel uses). */
static MYSQL *connect_with(MYSQL *my, int nopt, const char *const *keys,
                           const char *const *vals) {
  const char *t;
  const char *port = opt(nopt, keys, vals, "port");
  mysql_options(my, MYSQL_SET_CHARSET_NAME, "utf8mb4");
  if ((t = opt(nopt, keys, vals, "connect_timeout")) != NULL) {
    unsigned v = (unsigned)atoi(t);
    mysql_options(my, MYSQL_OPT_CONNECT_TIMEOUT, &v);
  }
  if ((t = opt(nopt, keys, vals, "read_timeout")) != NULL) {
    unsigned v = (unsigned)atoi(t);
    mysql_options(my, MYSQL_OPT_READ_TIMEOUT, &v);
  }
  if ((t = opt(nopt, keys, vals, "write_timeout")) != NULL) {
    unsigned v = (unsigned)atoi(t);
    mysql_options(my, MYSQL_OPT_WRITE_TIMEOUT, &v);
  }
  if ((t = opt(nopt, keys, vals, "ssl_ca")) != NULL) mysql_options(my, MYSQL_OPT_SSL_CA, t);
  if ((t = opt(nopt, keys, vals, "ssl_cert")) != NULL) mysql_options(my, MYSQL_OPT_SSL_CERT, t);
  if ((t = opt(nopt, keys, vals, "ssl_key")) != NULL) mysql_options(my, MYSQL_OPT_SSL_KEY, t);
  return mysql_real_connect(my, opt(nopt, keys, vals, "host"), opt(nopt, keys, vals, "user"),
                            opt(nopt, keys, vals, "password"), opt(nopt, keys, vals, "database"),
                            port ? (unsigned)atoi(port) : 0, NULL, CLIENT_FOUND_ROWS);
}

static void free_options(qs_dconn *c) {
  int i;
  for (i = 0; i < c->nopt; i++) {
    free(c->keys[i]);
    free(c->vals[i]);
  }
  free(c->keys);
  free(c->vals);
}

static int keep_options(qs_dconn *c, int nopt, const char *const *keys,
                        const char *const *vals) {
  int i;
  c->keys = calloc((size_t)nopt + 1, sizeof *c->keys);
  c->vals = calloc((size_t)nopt + 1, sizeof *c->vals);
  if (c->keys == NULL || c->vals == NULL) return 0;
  for (i = 0; i < nopt; i++) {
    size_t kn = strlen(keys[i]) + 1, vn = strlen(vals[i]) + 1;
    c->keys[i] = malloc(kn);
    c->vals[i] = malloc(vn);
    c->nopt = i + 1;
    if (c->keys[i] == NULL || c->vals[i] == NULL) return 0;
    memcpy(c->keys[i], keys[i], kn);
    memcpy(c->vals[i], vals[i], vn);
  }
  return 1;
}

static int xOpen(int nopt, const char *const *keys, const char *const *vals, qs_dconn **out,
                 qs_error *err) {
  qs_dconn *c;
  *out = NULL;
  c = calloc(1, sizeof *c);
  if (c == NULL) return qs_error_set(err, QS_NOMEM, "out of memory");
  if (!keep_options(c, nopt, keys, vals) || (c->my = mysql_init(NULL)) == NULL) {
    free_options(c);
    free(c);
    return qs_error_set(err, QS_NOMEM, "out of memory");
  }
  if (!connect_with(c->my, nopt, keys, vals)) {
    int rc = fail_conn(c, err);
    err->invalidated = 1;
    mysql_close(c->my);
    free_options(c);
    free(c);
    return rc;
  }
  *out = c;
  return QS_OK;
}

static void xClose(qs_dconn *c) {
  mysql_close(c->my);
  free_options(c);
  free(c);
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

static void free_stmt(qs_dstmt *s) {
  int i;
  free_results(s);
  if (s->colnames)
    for (i = 0; i < s->ncols; i++) free(s->colnames[i]);
  free(s->colnames); free(s->colbinary);
  free(s->pbind); free(s->pint); free(s->pdbl); free(s->ptiny); free(s->plen);
  if (s->st) mysql_stmt_close(s->st);
  free(s->sql);
  free(s);
}

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

static int xPrepare(qs_dconn *c, const char *sql, size_t n, qs_dstmt **out, qs_error *err) {
  qs_dstmt *s;
  my_bool on = 1;
  *out = NULL;
  s = calloc(1, sizeof *s);
  if (s == NULL) return qs_error_set(err, QS_NOMEM, "out of memory");
  s->c = c;
  s->st = mysql_stmt_init(c->my);
  if (s->st == NULL) {
    free(s);
    return fail_conn(c, err);
  }
  if (mysql_stmt_prepare(s->st, sql, (unsigned long)n) != 0) {
    int rc = fail_stmt(s, err);
    free_stmt(s);
    return rc;
  }
  mysql_stmt_attr_set(s->st, STMT_ATTR_UPDATE_MAX_LENGTH, &on);
  s->sql = malloc(n + 1);
  if (s->sql) {
    memcpy(s->sql, sql, n);
    s->sql[n] = '\0';
    s->sqln = n;
  }
  s->nparams = (int)mysql_stmt_param_count(s->st);
  s->pbind = calloc((size_t)s->nparams + 1, sizeof(MYSQL_BIND));
  s->pint = calloc((size_t)s->nparams + 1, sizeof(long long));
  s->pdbl = calloc((size_t)s->nparams + 1, sizeof(double));
  s->ptiny = calloc((size_t)s->nparams + 1, 1);
  s->plen = calloc((size_t)s->nparams + 1, sizeof(unsigned long));
  if (!s->pbind || !s->pint || !s->pdbl || !s->ptiny || !s->plen || load_columns(s) != QS_OK) {
    free_stmt(s);
    return qs_error_set(err, QS_NOMEM, "out of memory");
  }
  *out = s;
  return QS_OK;
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
        b->buffer = (void *)v->u.s.p;   /* the caller keeps the bytes alive until the step */
        b->buffer_length = s->plen[i];
        b->length = &s->plen[i];
        break;
    }
  }
  if (mysql_stmt_bind_param(s->st, s->pbind) != 0) return fail_stmt(s, err);
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
    return qs_error_set(err, QS_NOMEM, "out of memory");
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
        unsigned long cap = f[i].max_length + 1;
        s->rkind[i] = RESULT_STRING;
        s->rbuf[i] = malloc(cap);
        if (s->rbuf[i] == NULL) {
          mysql_free_result(meta);
          return qs_error_set(err, QS_NOMEM, "out of memory");
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

/* The result's shape changed (ALTER TABLE): a statement handle bound to the
** old shape refuses to run (CR_NEW_STMT_METADATA), so it is prepared anew,
** same parameters. */
static int renew(qs_dstmt *s, qs_error *err) {
  my_bool on = 1;
  free_results(s);
  if (s->stored) mysql_stmt_free_result(s->st);
  s->stored = 0;
  mysql_stmt_close(s->st);
  s->st = mysql_stmt_init(s->c->my);
  if (s->st == NULL) return fail_conn(s->c, err);
  if (mysql_stmt_prepare(s->st, s->sql, (unsigned long)s->sqln) != 0) return fail_stmt(s, err);
  mysql_stmt_attr_set(s->st, STMT_ATTR_UPDATE_MAX_LENGTH, &on);
  if (load_columns(s) != QS_OK) return qs_error_set(err, QS_NOMEM, "out of memory");
  if (s->nparams && mysql_stmt_bind_param(s->st, s->pbind) != 0) return fail_stmt(s, err);
  return QS_OK;
}

static int xStep(qs_dstmt *s, qs_error *err) {
  int rc;
  if (!s->executed) {
    rc = mysql_stmt_execute(s->st);
    if (rc != 0 && mysql_stmt_errno(s->st) == CR_NEW_STMT_METADATA && s->sql) {
      rc = renew(s, err);
      if (rc != QS_OK) return rc;
      rc = mysql_stmt_execute(s->st);
    }
    if (rc != 0) return fail_stmt(s, err);
    s->executed = 1;
    s->c->changes = (int64_t)mysql_stmt_affected_rows(s->st);
    s->c->last_id = (int64_t)mysql_stmt_insert_id(s->st);
    if ((int)mysql_stmt_field_count(s->st) != s->ncols && load_columns(s) != QS_OK)
      return qs_error_set(err, QS_NOMEM, "out of memory");
    if (s->ncols == 0) return QS_DONE;
    if (mysql_stmt_store_result(s->st) != 0) return fail_stmt(s, err);
    s->stored = 1;
    rc = bind_results(s, err);
    if (rc != QS_OK) return rc;
  }
  if (s->ncols == 0) return QS_DONE;
  rc = mysql_stmt_fetch(s->st);
  if (rc == 0 || rc == MYSQL_DATA_TRUNCATED) return QS_ROW;
  if (rc == MYSQL_NO_DATA) return QS_DONE;
  return fail_stmt(s, err);
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

static void xReset(qs_dstmt *s) {
  if (s->stored) mysql_stmt_free_result(s->st);
  mysql_stmt_reset(s->st);
  s->stored = 0;
  s->executed = 0;
}

static void xFinalize(qs_dstmt *s) {
  if (s->stored) mysql_stmt_free_result(s->st);
  free_stmt(s);
}

static int64_t xChanges(qs_dconn *c) { return c->changes; }
static int64_t xLastInsertId(qs_dconn *c) { return c->last_id; }

static int xExec(qs_dconn *c, const char *sql, qs_error *err) {
  if (mysql_real_query(c->my, sql, (unsigned long)strlen(sql)) != 0) return fail_conn(c, err);
  do {   /* consume whatever the statement returned */
    MYSQL_RES *r = mysql_store_result(c->my);
    if (r) mysql_free_result(r);
  } while (mysql_next_result(c->my) == 0);
  return QS_OK;
}

static int xInTransaction(qs_dconn *c) {
  return (c->my->server_status & SERVER_STATUS_IN_TRANS) != 0;
}

/* The server enforces the limit: MariaDB for every statement, MySQL for
** SELECTs only (its max_execution_time). */
static int xSetTimeout(qs_dconn *c, int ms, qs_error *err) {
  char sql[96];
  if (strstr(mysql_get_server_info(c->my), "MariaDB") != NULL)
    snprintf(sql, sizeof sql, "SET SESSION max_statement_time = %d.%03d", ms / 1000, ms % 1000);
  else
    snprintf(sql, sizeof sql, "SET SESSION max_execution_time = %d", ms);
  return xExec(c, sql, err);
}

/* libmariadb has no cancel message: a second connection asks the server to
** stop this one's statement. Thread-safe: it touches only the kept options
** and the thread id, which never change after connect. */
static int xCancel(qs_dconn *c, int detached, qs_error *err) {
  (void)detached;
  char sql[64];
  int rc = QS_OK;
  MYSQL *my = mysql_init(NULL);
  if (my == NULL) return qs_error_set(err, QS_NOMEM, "out of memory");
  if (!connect_with(my, c->nopt, (const char *const *)c->keys, (const char *const *)c->vals)) {
    rc = fail(err, mysql_errno(my), mysql_sqlstate(my), mysql_error(my));
  } else {
    snprintf(sql, sizeof sql, "KILL QUERY %lu", mysql_thread_id(c->my));
    if (mysql_real_query(my, sql, (unsigned long)strlen(sql)) != 0)
      rc = fail(err, mysql_errno(my), mysql_sqlstate(my), mysql_error(my));
  }
  mysql_close(my);
  return rc;
}

/* Connected by xOpen, every operation blocking inside libpq/libmariadb for
** now: nothing ever returns QS_WAIT. (Being rewritten as steps.) */
static int xConnect(qs_dconn *c, qs_error *err) {
  (void)c;
  (void)err;
  return QS_OK;
}

static int xWait(qs_dconn *c, int *fd, int *timeout_ms) {
  (void)c;
  *fd = -1;
  *timeout_ms = -1;
  return 0;
}

const qs_driver qs_mariadb_driver = {
  QS_DRIVER_VERSION, "mysql", 0, 0,
  xOpen, xConnect, xClose, xWait, NULL, xPrepare, xParamCount, xBind, xStep, xColumnCount,
  xColumnName, xColumn, xReadonly, xReset, xFinalize, xChanges,
  xLastInsertId, xExec, xInTransaction,
  NULL, NULL, NULL, xSetTimeout, xCancel,
};
