/*
** sqlite3.c: the SQLite driver, the qs_driver table over the sqlite3 C API.
**
** Options (all strings, from the URL and create_engine):
**   database       file name, ":memory:" or empty for a private memory db
**   uri            "1": database is a file: URI
**   busy_timeout   milliseconds to wait on a locked database (default 5000;
**                  SQLite's own default of 0 fails pooled connections at once)
**   foreign_keys   "0" to leave PRAGMA foreign_keys off (default on)
**   readonly       "1" opens read-only
** Error classification: constraint violations are INTEGRITY; busy, locked,
** I/O, full, cantopen and friends are OPERATIONAL; SQL errors PROGRAMMING;
** mismatches and too-big values DATA.
*/
#include "quicksilver.h"
#include "sqlite_regexp.h"

#include <sqlite3.h>
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

struct qs_dconn {
  sqlite3 *db;
  int timeout_ms;            /* per call into the engine, 0 none */
  double deadline;           /* of the current call */
  int timed_out;             /* the progress handler stopped the call */
};

/* busy_timeout when none is given (SQLite's own 0 fails pooled connections
** at once). */
#define DEFAULT_BUSY_TIMEOUT_MS 5000

/* Instructions of SQLite's VM between clock checks: about 10-100 µs of
** work, so a timeout overshoots little and costs little. */
#define TIMEOUT_CHECK_EVERY 1000

struct qs_dstmt {
  sqlite3_stmt *st;
  qs_dconn *conn;
};

static int classify(int rc) {
  switch (rc & 0xff) {
    case SQLITE_CONSTRAINT:
      return QS_INTEGRITY;
    case SQLITE_BUSY: case SQLITE_LOCKED: case SQLITE_IOERR: case SQLITE_FULL:
    case SQLITE_CANTOPEN: case SQLITE_PROTOCOL: case SQLITE_READONLY:
    case SQLITE_INTERRUPT: case SQLITE_NOLFS: case SQLITE_AUTH:
    case SQLITE_PERM: case SQLITE_ABORT: case SQLITE_NOTADB:
      return QS_OPERATIONAL;
    case SQLITE_CORRUPT: case SQLITE_INTERNAL:
      return QS_INTERNAL;
    case SQLITE_NOMEM:
      return QS_NOMEM;
    case SQLITE_TOOBIG: case SQLITE_MISMATCH: case SQLITE_RANGE:
      return QS_DATA;
    case SQLITE_MISUSE:
      return QS_INTERFACE;
    case SQLITE_ERROR: case SQLITE_SCHEMA:
    default:
      return QS_PROGRAMMING;
  }
}

/* "UNIQUE constraint failed: t.a, t.b" names columns, not the constraint;
** SQLite reports a constraint's name only for CHECK ("CHECK constraint
** failed: name"). Keep what is there. */
static void set_constraint(qs_error *err, int rc, const char *msg) {
  const char *p;
  size_t n;
  if ((rc & 0xff) != SQLITE_CONSTRAINT || msg == NULL) return;
  p = strstr(msg, "constraint failed: ");
  if (p == NULL) return;
  p += strlen("constraint failed: ");
  n = strlen(p);
  err->constraint = malloc(n + 1);
  if (err->constraint) memcpy(err->constraint, p, n + 1);
}

static int fail(qs_error *err, sqlite3 *db, int rc) {
  const char *msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  int xrc = db ? sqlite3_extended_errcode(db) : rc;
  free(err->constraint);
  err->constraint = NULL;
  err->driver_code = xrc;
  err->sqlstate[0] = '\0';
  set_constraint(err, xrc, msg);
  return qs_error_set(err, classify(xrc), "%s", msg ? msg : "unknown SQLite error");
}

/* The progress handler: nonzero stops the running statement with
** SQLITE_INTERRUPT. */
static int over_deadline(void *arg) {
  qs_dconn *c = arg;
  if (qs_clock() < c->deadline) return 0;
  c->timed_out = 1;
  return 1;
}

static void start_call(qs_dconn *c) {
  if (c->timeout_ms > 0) {
    c->deadline = qs_clock() + c->timeout_ms / 1000.0;
    c->timed_out = 0;
  }
}

/* A call the timeout stopped says so; SQLite only says "interrupted". */
static int fail_call(qs_dconn *c, qs_error *err, int rc) {
  rc = fail(err, c->db, rc);
  if (c->timed_out) {
    c->timed_out = 0;
    rc = qs_error_set(err, QS_OPERATIONAL, "statement timeout (%d ms) exceeded: interrupted",
                      c->timeout_ms);
  }
  return rc;
}

/* A failed open names the file it tried and why (SQLite says only "unable
** to open database file"): the OS's reason and, for a missing file, whether
** its directory is there. */
static int open_fail(qs_error *err, sqlite3 *db, int rc, const char *path) {
  int sys = db ? sqlite3_system_errno(db) : 0;
  const char *msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);   /* owned by db: valid until close */
  char dir[1024], hint[1100];
  const char *slash = strrchr(path, '/');
  struct stat st;
  int denied = sys == EACCES || sys == EPERM || sys == EROFS;
  hint[0] = '\0';
  if (slash != NULL && (size_t)(slash - path) < sizeof dir) {
    size_t n = slash == path ? 1 : (size_t)(slash - path);
    memcpy(dir, path, n);
    dir[n] = '\0';
    if (stat(dir, &st) != 0)
      snprintf(hint, sizeof hint, " (the directory '%s' does not exist: create it first)", dir);
    else if (!S_ISDIR(st.st_mode))
      snprintf(hint, sizeof hint, " ('%s' is not a directory)", dir);
    else if (denied)
      snprintf(hint, sizeof hint, " (check the permissions of the file and of '%s')", dir);
  } else if (denied) {
    snprintf(hint, sizeof hint, " (check the permissions of the file and of the current directory)");
  }
  rc = fail(err, db, rc);
  return qs_error_set(err, rc, "%s '%s'%s%s%s", msg ? msg : "unable to open database file", path,
                      sys ? ": " : "", sys ? strerror(sys) : "", hint);
}

static const char *opt(int nopt, const char *const *keys, const char *const *vals,
                       const char *name) {
  int i;
  for (i = 0; i < nopt; i++)
    if (strcmp(keys[i], name) == 0) return vals[i];
  return NULL;
}

static int xOpen(int nopt, const char *const *keys, const char *const *vals,
                 qs_dconn **out, qs_error *err) {
  const char *path = opt(nopt, keys, vals, "database");
  const char *uri = opt(nopt, keys, vals, "uri");
  const char *busy = opt(nopt, keys, vals, "busy_timeout");
  const char *fk = opt(nopt, keys, vals, "foreign_keys");
  const char *ro = opt(nopt, keys, vals, "readonly");
  int flags = SQLITE_OPEN_NOMUTEX;
  qs_dconn *c;
  int rc;
  *out = NULL;
  flags |= (ro && strcmp(ro, "1") == 0) ? SQLITE_OPEN_READONLY
                                          : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  if (uri && strcmp(uri, "1") == 0) flags |= SQLITE_OPEN_URI;
  if (path == NULL || *path == '\0') path = ":memory:";
  c = calloc(1, sizeof *c);
  if (c == NULL) return qs_error_set(err, QS_NOMEM, "out of memory");
  rc = sqlite3_open_v2(path, &c->db, flags, NULL);
  if (rc != SQLITE_OK) {
    rc = open_fail(err, c->db, rc, path);
    sqlite3_close_v2(c->db);
    free(c);
    return rc;
  }
  sqlite3_extended_result_codes(c->db, 1);
  rc = sqlite3_busy_timeout(c->db, busy ? atoi(busy) : DEFAULT_BUSY_TIMEOUT_MS);
  if (rc != SQLITE_OK) goto fail;
  rc = qs__sqlite_register_regexp(c->db);   /* regexp_match / regexp_replace */
  if (rc != SQLITE_OK) goto fail;
  if (fk == NULL || strcmp(fk, "0") != 0) {
    rc = sqlite3_exec(c->db, "PRAGMA foreign_keys=ON", NULL, NULL, NULL);
    if (rc != SQLITE_OK) goto fail;
  }
  *out = c;
  return QS_OK;
fail:
  rc = fail(err, c->db, rc);
  sqlite3_close_v2(c->db);   /* a failed open still allocates a handle */
  free(c);
  return rc;
}

static void xClose(qs_dconn *c) {
  sqlite3_close_v2(c->db);
  free(c);
}

static int xPrepare(qs_dconn *c, const char *sql, size_t n, qs_dstmt **out,
                    qs_error *err) {
  qs_dstmt *s;
  const char *tail = NULL;
  int rc;
  *out = NULL;
  s = calloc(1, sizeof *s);
  if (s == NULL) return qs_error_set(err, QS_NOMEM, "out of memory");
  rc = sqlite3_prepare_v3(c->db, sql, (int)n, SQLITE_PREPARE_PERSISTENT, &s->st, &tail);
  if (rc != SQLITE_OK) {
    free(s);
    return fail(err, c->db, rc);
  }
  if (s->st == NULL) {
    free(s);
    return qs_error_set(err, QS_PROGRAMMING, "the statement is empty");
  }
  /* One statement per call: trailing text other than blanks and ';' would
  ** silently not run. */
  while (tail && tail < sql + n && (*tail == ' ' || *tail == '\n' || *tail == '\t' ||
                                    *tail == '\r' || *tail == ';'))
    tail++;
  if (tail && tail < sql + n) {
    sqlite3_finalize(s->st);
    free(s);
    return qs_error_set(err, QS_PROGRAMMING,
                        "only one statement may be executed at a time");
  }
  s->conn = c;
  *out = s;
  return QS_OK;
}

static int xParamCount(qs_dstmt *s) { return sqlite3_bind_parameter_count(s->st); }

/* Binds vals[0..n-1]; text and blobs with the given destructor (TRANSIENT:
** SQLite copies them; STATIC: they must outlive every step). */
static int bind_values(qs_dstmt *s, int n, const qs_value *vals, sqlite3_destructor_type keep,
                       qs_error *err) {
  int i, rc = SQLITE_OK;
  for (i = 0; i < n && rc == SQLITE_OK; i++) {
    const qs_value *v = &vals[i];
    switch (v->type) {
      case QS_TNULL: rc = sqlite3_bind_null(s->st, i + 1); break;
      case QS_TINT: case QS_TBOOL: rc = sqlite3_bind_int64(s->st, i + 1, v->u.i); break;
      case QS_TFLOAT: rc = sqlite3_bind_double(s->st, i + 1, v->u.f); break;
      case QS_TTEXT:
        rc = sqlite3_bind_text64(s->st, i + 1, v->u.s.p, v->u.s.n, keep, SQLITE_UTF8);
        break;
      case QS_TBLOB:
        rc = sqlite3_bind_blob64(s->st, i + 1, v->u.s.p, v->u.s.n, keep);
        break;
    }
  }
  return rc == SQLITE_OK ? QS_OK : fail(err, s->conn->db, rc);
}

/* A cursor steps after the call that bound its values returned: copies. */
static int xBind(qs_dstmt *s, int n, const qs_value *vals, qs_error *err) {
  return bind_values(s, n, vals, SQLITE_TRANSIENT, err);
}

static int xStep(qs_dstmt *s, qs_error *err) {
  int rc;
  start_call(s->conn);
  rc = sqlite3_step(s->st);
  if (rc == SQLITE_ROW) return QS_ROW;
  if (rc == SQLITE_DONE) return QS_DONE;
  rc = fail_call(s->conn, err, rc);
  sqlite3_reset(s->st);   /* release locks now, not at the next use */
  return rc;
}

static int xColumnCount(qs_dstmt *s) { return sqlite3_column_count(s->st); }

/* executemany: the values outlive this call (the caller holds them), so
** text and blobs are bound without a copy each; whatever happens, the
** bindings are cleared before returning, so the statement keeps no pointer
** into them. RETURNING rows are drained. */
static int xExecMany(qs_dstmt *s, int nsets, int nparams, const qs_value *vals,
                     int64_t *changes, qs_error *err) {
  int i, rc = QS_OK;
  for (i = 0; i < nsets && rc == QS_OK; i++) {
    rc = bind_values(s, nparams, vals + (size_t)i * (size_t)nparams, SQLITE_STATIC, err);
    if (rc == QS_OK) {
      int r = xStep(s, err);
      while (r == QS_ROW) r = xStep(s, err);
      if (r == QS_DONE) {
        *changes += sqlite3_changes64(s->conn->db);
        sqlite3_reset(s->st);
      } else {
        rc = r;
      }
    }
  }
  sqlite3_reset(s->st);
  sqlite3_clear_bindings(s->st);
  return rc;
}

static const char *xColumnName(qs_dstmt *s, int i) {
  return sqlite3_column_name(s->st, i);
}

static void xColumn(qs_dstmt *s, int i, qs_value *out) {
  switch (sqlite3_column_type(s->st, i)) {
    case SQLITE_INTEGER:
      out->type = QS_TINT;
      out->u.i = sqlite3_column_int64(s->st, i);
      break;
    case SQLITE_FLOAT:
      out->type = QS_TFLOAT;
      out->u.f = sqlite3_column_double(s->st, i);
      break;
    case SQLITE_TEXT:
      out->type = QS_TTEXT;
      out->u.s.p = (const char *)sqlite3_column_text(s->st, i);
      out->u.s.n = (size_t)sqlite3_column_bytes(s->st, i);
      break;
    case SQLITE_BLOB:
      out->type = QS_TBLOB;
      out->u.s.p = sqlite3_column_blob(s->st, i);
      out->u.s.n = (size_t)sqlite3_column_bytes(s->st, i);
      if (out->u.s.p == NULL) out->u.s.p = "";   /* zero-length blob */
      break;
    default:
      out->type = QS_TNULL;
  }
}

static int xReadonly(qs_dstmt *s) { return sqlite3_stmt_readonly(s->st); }

static void xReset(qs_dstmt *s) {
  sqlite3_reset(s->st);
  sqlite3_clear_bindings(s->st);
}

static void xFinalize(qs_dstmt *s) {
  sqlite3_finalize(s->st);
  free(s);
}

static int64_t xChanges(qs_dconn *c) { return sqlite3_changes64(c->db); }
static int64_t xLastInsertId(qs_dconn *c) { return sqlite3_last_insert_rowid(c->db); }

static int xExec(qs_dconn *c, const char *sql, qs_error *err) {
  int rc;
  start_call(c);
  rc = sqlite3_exec(c->db, sql, NULL, NULL, NULL);
  return rc == SQLITE_OK ? QS_OK : fail_call(c, err, rc);
}

static int xInTransaction(qs_dconn *c) { return !sqlite3_get_autocommit(c->db); }

static int xSetTimeout(qs_dconn *c, int ms, qs_error *err) {
  (void)err;
  c->timeout_ms = ms;
  if (ms > 0) sqlite3_progress_handler(c->db, TIMEOUT_CHECK_EVERY, over_deadline, c);
  else sqlite3_progress_handler(c->db, 0, NULL, NULL);
  return QS_OK;
}

/* A local file: connected once opened, and nothing ever waits on a socket
** (quicksilver.h: SQLite's driver never returns QS_WAIT). */
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

/* sqlite3_interrupt is SQLite's one call meant for another thread; it never
** blocks, detached or not. */
static int xCancel(qs_dconn *c, int detached, qs_error *err) {
  (void)detached;
  (void)err;
  sqlite3_interrupt(c->db);
  return QS_OK;
}

const qs_driver qs_sqlite3_driver = {
  QS_DRIVER_VERSION, "sqlite", 1, 0,
  xOpen, xConnect, xClose, xWait, NULL, xPrepare, xParamCount, xBind, xStep, xColumnCount,
  xColumnName, xColumn, xReadonly, xReset, xFinalize, xChanges,
  xLastInsertId, xExec, xInTransaction,
  xExecMany, NULL, NULL, xSetTimeout, xCancel, NULL, NULL, NULL, NULL,
};
