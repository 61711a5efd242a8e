/*
** libpq.c: the PostgreSQL driver, the qs_driver table over libpq.
**
** Statements are server-side prepared (one name per cached statement; the
** generic connection's cache keeps them), so the server parses each SQL text
** once per connection. A statement prepared before an ALTER TABLE can fail
** with "cached plan must not change result type": it is prepared again and
** run once more. Parameters travel as text (bytea as binary) with the types
** the server infers; where it cannot ("could not determine data type of
** parameter"), the statement is prepared again with text parameters.
** Results come back buffered in text form and are converted by type OID.
** Notices are kept in a small C buffer: the notice receiver never calls Lua.
** With a statement timeout, statements are sent asynchronously and awaited
** with poll(); past the deadline a cancel request (PQcancel) stops them, and
** a server that ignores it too marks the connection broken.
**
** Options: host, port, user, password, database, and any libpq keyword
** (sslmode, sslrootcert, connect_timeout, application_name, options).
*/
#include "quicksilver.h"

#include <errno.h>
#include <poll.h>
#include <postgresql/libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Type OIDs from pg_type.h (stable across releases). */
#define OID_BOOL 16
#define OID_BYTEA 17
#define OID_INT8 20
#define OID_INT2 21
#define OID_INT4 23
#define OID_TEXT 25
#define OID_OID 26
#define OID_FLOAT4 700
#define OID_FLOAT8 701
#define OID_INTERVAL 1186

/* SQLSTATEs the driver acts on. */
#define SQLSTATE_QUERY_CANCELED "57014"            /* our timeout's cancel, among others */
#define SQLSTATE_INDETERMINATE_DATATYPE "42P18"    /* a parameter nothing types */

/* Parameters made text one by one when the server cannot type them; the
** positions past it are left to fail. */
#define MAX_UNTYPED_PARAMS 256
/* Bytes of one numeric parameter's text (a long long or "%.17g"). */
#define NUM_TEXT_SIZE 32
/* Connection options passed through, besides the two the driver adds. */
#define MAX_CONN_OPTIONS 36
/* Milliseconds one poll waits while a pipeline's output does not drain. */
#define FLUSH_POLL_MS 10000

#define MAX_NOTICES 16
/* Seconds to wait for a cancelled statement to end before giving the
** connection up (a server that has not stopped by then will not). */
#define CANCEL_GRACE 5.0

struct qs_dconn {
  PGconn *pg;
  unsigned counter;          /* statement names: qs_1, qs_2, ... */
  int64_t changes;           /* rows changed by the last statement */
  unsigned ddl_epoch;        /* bumped by every DDL statement on this connection */
  char *notices[MAX_NOTICES];
  int nnotices;
  PGcancel *cancel;          /* made at connect: PQcancel is thread-safe with it */
  int timeout_ms;            /* per statement, 0 none */
  int timed_out;             /* the last statement was cancelled by the timeout */
  int broken;                /* a timed-out statement never ended: give the connection up */
};

struct qs_dstmt {
  qs_dconn *c;
  char name[24];
  char *sql;
  int nparams;
  int ncols;
  char **colnames;           /* from describing the prepared statement */
  Oid *coltypes;
  Oid *paramtypes;           /* the types the server gave the parameters */
  Oid *given;                /* types given at prepare (text for untyped ones), or NULL */
  int ngiven;
  /* the current execution */
  const char **values;
  int *lengths;
  int *formats;
  char *numbuf;              /* text of numeric parameters, NUM_TEXT_SIZE bytes each */
  PGresult *res;
  int row, nrows, executed;
  unsigned epoch;            /* the connection's ddl_epoch when prepared */
  unsigned char *bytes;      /* decoded bytea of the current column */
  size_t bytes_cap;
};

static void notice_receiver(void *arg, const PGresult *res) {
  qs_dconn *c = (qs_dconn *)arg;
  const char *msg = PQresultErrorMessage(res);
  size_t n;
  char *copy;
  if (msg == NULL) return;
  n = strlen(msg);
  copy = malloc(n + 1);
  if (copy == NULL) return;
  memcpy(copy, msg, n + 1);
  if (c->nnotices == MAX_NOTICES) {   /* keep the latest ones */
    free(c->notices[0]);
    memmove(c->notices, c->notices + 1, sizeof c->notices[0] * (MAX_NOTICES - 1));
    c->nnotices--;
  }
  c->notices[c->nnotices++] = copy;
}

/* SQLSTATE class -> qs family (PostgreSQL's errcodes appendix). */
static int classify(const char *state) {
  if (state == NULL || strlen(state) < 2) return QS_OPERATIONAL;
  if (strncmp(state, "23", 2) == 0) return QS_INTEGRITY;
  if (strncmp(state, "22", 2) == 0) return QS_DATA;
  if (strncmp(state, "42", 2) == 0 || strncmp(state, "26", 2) == 0 ||
      strncmp(state, "34", 2) == 0 || strncmp(state, "3D", 2) == 0 || strncmp(state, "3F", 2) == 0)
    return QS_PROGRAMMING;
  if (strncmp(state, "0A", 2) == 0) return QS_NOTSUPPORTED;
  if (strncmp(state, "XX", 2) == 0) return QS_INTERNAL;
  if (strncmp(state, "25", 2) == 0) return QS_INTERNAL;   /* invalid transaction state */
  return QS_OPERATIONAL;   /* 08 connection, 40 rollback, 53-58 resources, 57 cancel... */
}

static int fail_conn(qs_dconn *c, qs_error *err, const PGresult *res) {
  const char *msg = res ? PQresultErrorMessage(res) : NULL;
  const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
  const char *cons = res ? PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME) : NULL;
  size_t n;
  int code;
  if (msg == NULL || *msg == '\0') msg = PQerrorMessage(c->pg);
  if (msg == NULL || *msg == '\0') msg = "unknown PostgreSQL error";
  if (c->broken) msg = "statement timeout: the server did not end the cancelled statement; "
                       "connection given up";
  n = strlen(msg);
  while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' ')) n--;
  code = classify(state);
  err->invalidated = PQstatus(c->pg) == CONNECTION_BAD || c->broken;
  if (err->invalidated) code = QS_OPERATIONAL;
  err->driver_code = 0;
  if (state) {
    strncpy(err->sqlstate, state, sizeof err->sqlstate - 1);
    err->sqlstate[sizeof err->sqlstate - 1] = '\0';
  } else {
    err->sqlstate[0] = '\0';
  }
  free(err->constraint);
  err->constraint = NULL;
  if (cons) {
    size_t cn = strlen(cons);
    err->constraint = malloc(cn + 1);
    if (err->constraint) memcpy(err->constraint, cons, cn + 1);
  }
  if (c->timed_out && state && strcmp(state, SQLSTATE_QUERY_CANCELED) == 0)
    return qs_error_set(err, code, "statement timeout (%d ms) exceeded: %.*s", c->timeout_ms,
                        (int)n, msg);
  return qs_error_set(err, code, "%.*s", (int)n, msg);
}

static int xOpen(int nopt, const char *const *keys, const char *const *vals, qs_dconn **out,
                 qs_error *err) {
  const char *k[MAX_CONN_OPTIONS + 3], *v[MAX_CONN_OPTIONS + 3];   /* + 2 added + NULL */
  int i, n = 0;
  qs_dconn *c;
  *out = NULL;
  if (nopt > MAX_CONN_OPTIONS)   /* refused, never dropped */
    return qs_error_set(err, QS_ARGUMENT, "%d connection options given; the postgresql driver takes at most %d",
                        nopt, MAX_CONN_OPTIONS);
  for (i = 0; i < nopt; i++) {
    const char *key = keys[i];
    if (strcmp(key, "database") == 0) key = "dbname";
    else if (strcmp(key, "username") == 0) key = "user";
    k[n] = key;
    v[n] = vals[i];
    n++;
  }
  k[n] = "client_encoding"; v[n] = "UTF8"; n++;
  k[n] = "fallback_application_name"; v[n] = "quicksilver"; n++;
  k[n] = NULL; v[n] = NULL;
  c = calloc(1, sizeof *c);
  if (c == NULL) return qs_error_set(err, QS_NOMEM, "out of memory");
  c->pg = PQconnectdbParams(k, v, 0);
  if (c->pg == NULL) {
    free(c);
    return qs_error_set(err, QS_NOMEM, "out of memory");
  }
  if (PQstatus(c->pg) != CONNECTION_OK) {
    int rc;
    const char *msg = PQerrorMessage(c->pg);
    size_t len = msg ? strlen(msg) : 0;
    while (len > 0 && (msg[len - 1] == '\n' || msg[len - 1] == ' ')) len--;
    rc = qs_error_set(err, QS_OPERATIONAL, "could not connect to PostgreSQL: %.*s", (int)len,
                      msg ? msg : "");
    err->invalidated = 1;
    PQfinish(c->pg);
    free(c);
    return rc;
  }
  PQsetNoticeReceiver(c->pg, notice_receiver, c);
  {
    /* Values are read in the ISO date style and the "postgres" interval
    ** style (the defaults); a server or role configured otherwise is set
    ** back for this session (the server reports both at connect, so the
    ** default case costs nothing). */
    const char *ds = PQparameterStatus(c->pg, "DateStyle");
    const char *is = PQparameterStatus(c->pg, "IntervalStyle");
    if ((ds && strncmp(ds, "ISO", 3) != 0) || (is && strcmp(is, "postgres") != 0)) {
      PGresult *r = PQexec(c->pg, "SET datestyle TO ISO; SET intervalstyle TO postgres");
      int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
      if (!ok) {
        int rc = fail_conn(c, err, r);
        PQclear(r);
        PQfinish(c->pg);
        free(c);
        return rc;
      }
      PQclear(r);
    }
  }
  c->cancel = PQgetCancel(c->pg);
  *out = c;
  return QS_OK;
}

static void xClose(qs_dconn *c) {
  int i;
  if (c->cancel) PQfreeCancel(c->cancel);
  PQfinish(c->pg);
  for (i = 0; i < c->nnotices; i++) free(c->notices[i]);
  free(c);
}

static void free_shape(qs_dstmt *s) {
  int i;
  if (s->colnames) {
    for (i = 0; i < s->ncols; i++) free(s->colnames[i]);
    free(s->colnames);
  }
  free(s->coltypes);
  free(s->paramtypes);
  free((void *)s->values);
  free(s->lengths);
  free(s->formats);
  free(s->numbuf);
  s->colnames = NULL;
  s->coltypes = NULL;
  s->paramtypes = NULL;
  s->values = NULL;
  s->lengths = NULL;
  s->formats = NULL;
  s->numbuf = NULL;
}

/* Prepares s->sql under s->name (types: NULL for inferred) and learns its
** parameters and result columns. */
static int prepare(qs_dstmt *s, const Oid *types, int ntypes, qs_error *err) {
  PGresult *r;
  int i;
  r = PQprepare(s->c->pg, s->name, s->sql, ntypes, types);
  if (PQresultStatus(r) != PGRES_COMMAND_OK) {
    int rc = fail_conn(s->c, err, r);
    PQclear(r);
    return rc;
  }
  PQclear(r);
  r = PQdescribePrepared(s->c->pg, s->name);
  if (PQresultStatus(r) != PGRES_COMMAND_OK) {
    int rc = fail_conn(s->c, err, r);
    PQclear(r);
    return rc;
  }
  free_shape(s);
  s->epoch = s->c->ddl_epoch;
  s->nparams = PQnparams(r);
  s->ncols = PQnfields(r);
  s->colnames = calloc((size_t)s->ncols + 1, sizeof(char *));
  s->coltypes = calloc((size_t)s->ncols + 1, sizeof(Oid));
  s->paramtypes = calloc((size_t)s->nparams + 1, sizeof(Oid));
  s->values = calloc((size_t)s->nparams + 1, sizeof(char *));
  s->lengths = calloc((size_t)s->nparams + 1, sizeof(int));
  s->formats = calloc((size_t)s->nparams + 1, sizeof(int));
  s->numbuf = calloc((size_t)s->nparams + 1, NUM_TEXT_SIZE);
  if (!s->colnames || !s->coltypes || !s->paramtypes || !s->values || !s->lengths || !s->formats || !s->numbuf) {
    PQclear(r);
    return qs_error_set(err, QS_NOMEM, "out of memory");
  }
  for (i = 0; i < s->ncols; i++) {
    const char *name = PQfname(r, i);
    size_t n = strlen(name);
    s->colnames[i] = malloc(n + 1);
    if (s->colnames[i]) memcpy(s->colnames[i], name, n + 1);
    s->coltypes[i] = PQftype(r, i);
  }
  for (i = 0; i < s->nparams; i++) s->paramtypes[i] = PQparamtype(r, i);
  PQclear(r);
  return QS_OK;
}

static void deallocate(qs_dstmt *s) {
  char sql[48];
  if (PQstatus(s->c->pg) != CONNECTION_OK) return;
  snprintf(sql, sizeof sql, "DEALLOCATE %s", s->name);
  PQclear(PQexec(s->c->pg, sql));
}

static int xPrepare(qs_dconn *c, const char *sql, size_t n, qs_dstmt **out, qs_error *err) {
  qs_dstmt *s = calloc(1, sizeof *s);
  int rc;
  *out = NULL;
  if (s == NULL) return qs_error_set(err, QS_NOMEM, "out of memory");
  s->c = c;
  s->sql = malloc(n + 1);
  if (s->sql == NULL) {
    free(s);
    return qs_error_set(err, QS_NOMEM, "out of memory");
  }
  memcpy(s->sql, sql, n);
  s->sql[n] = '\0';
  snprintf(s->name, sizeof s->name, "qs_%u", ++c->counter);
  rc = prepare(s, NULL, 0, err);
  if (rc != QS_OK && strcmp(err->sqlstate, SQLSTATE_INDETERMINATE_DATATYPE) == 0) {
    /* "could not determine data type of parameter $n": a parameter with
    ** nothing around it to type it (SELECT $1, an untyped string): that one
    ** is made text, and the statement prepared again, until all are typed.
    ** (Parameters of a known type carry a cast: c/compiler/compile.c.) */
    Oid types[MAX_UNTYPED_PARAMS];
    int count = 0, tries;
    memset(types, 0, sizeof types);
    for (tries = 0; rc != QS_OK && strcmp(err->sqlstate, SQLSTATE_INDETERMINATE_DATATYPE) == 0 &&
                    tries < MAX_UNTYPED_PARAMS;
         tries++) {
      const char *dollar = err->message ? strrchr(err->message, '$') : NULL;
      int k = dollar ? atoi(dollar + 1) : 0;
      if (k < 1 || k > MAX_UNTYPED_PARAMS || types[k - 1] == OID_TEXT) break;
      types[k - 1] = OID_TEXT;
      if (k > count) count = k;
      qs_error_clear(err);
      rc = prepare(s, types, count, err);
    }
    if (rc == QS_OK) {   /* kept for preparing again after DDL */
      s->given = malloc(sizeof(Oid) * (size_t)count);
      if (s->given == NULL) {
        deallocate(s);   /* prepared on the server: not kept */
        rc = qs_error_set(err, QS_NOMEM, "out of memory");
      } else {
        memcpy(s->given, types, sizeof(Oid) * (size_t)count);
        s->ngiven = count;
      }
    }
  }
  if (rc != QS_OK) {
    free_shape(s);
    free(s->sql);
    free(s);
    return rc;
  }
  *out = s;
  return QS_OK;
}

static int xParamCount(qs_dstmt *s) { return s->nparams; }

static int xBind(qs_dstmt *s, int n, const qs_value *vals, qs_error *err) {
  int i;
  (void)err;
  for (i = 0; i < n && i < s->nparams; i++) {
    const qs_value *v = &vals[i];
    char *num = s->numbuf + NUM_TEXT_SIZE * i;
    s->formats[i] = 0;
    s->lengths[i] = 0;
    switch (v->type) {
      case QS_TNULL: s->values[i] = NULL; break;
      case QS_TINT:
        snprintf(num, NUM_TEXT_SIZE, "%lld", (long long)v->u.i);
        s->values[i] = num;
        break;
      case QS_TBOOL: s->values[i] = v->u.i ? "t" : "f"; break;
      case QS_TFLOAT:
        /* seconds for an interval: its input takes no exponent (1e-07) */
        if (s->paramtypes && s->paramtypes[i] == OID_INTERVAL &&
            v->u.f < 1e15 && v->u.f > -1e15)
          snprintf(num, NUM_TEXT_SIZE, "%.6f", v->u.f);
        else
          snprintf(num, NUM_TEXT_SIZE, "%.17g", v->u.f);
        s->values[i] = num;
        break;
      case QS_TTEXT:   /* Lua strings end in NUL, so the pointer is a C string */
        s->values[i] = v->u.s.p;
        break;
      case QS_TBLOB:
        s->values[i] = v->u.s.p;
        s->lengths[i] = (int)v->u.s.n;
        s->formats[i] = 1;
        break;
    }
  }
  return QS_OK;
}

/* DDL makes prepared statements of this connection stale; noticing it here
** lets them be prepared again before they fail (a failure inside a
** transaction would abort it). */
static void note_ddl(qs_dconn *c, const PGresult *r) {
  const char *st = PQcmdStatus((PGresult *)r);
  if (st && (strncmp(st, "ALTER", 5) == 0 || strncmp(st, "DROP", 4) == 0 ||
             strncmp(st, "CREATE", 6) == 0 || strncmp(st, "COMMENT", 7) == 0))
    c->ddl_epoch++;
}

/* Prepares s again, keeping the bound values (they live in the caller's
** memory; only the arrays pointing at them are the statement's). */
static int reprepare(qs_dstmt *s, qs_error *err) {
  const char **values = s->values;
  int *lengths = s->lengths, *formats = s->formats;
  char *numbuf = s->numbuf;
  int rc;
  s->values = NULL; s->lengths = NULL; s->formats = NULL; s->numbuf = NULL;
  deallocate(s);
  rc = prepare(s, s->given, s->ngiven, err);
  if (rc != QS_OK) {
    free((void *)values); free(lengths); free(formats); free(numbuf);
    return rc;
  }
  free((void *)s->values); free(s->lengths); free(s->formats); free(s->numbuf);
  s->values = values; s->lengths = lengths; s->formats = formats; s->numbuf = numbuf;
  return QS_OK;
}

/* ---- statement timeout and cancel -------------------------------------- */

static int send_cancel(qs_dconn *c, qs_error *err) {
  char buf[256];
  buf[0] = '\0';
  if (c->cancel == NULL || !PQcancel(c->cancel, buf, (int)sizeof buf))
    return qs_error_set(err, QS_OPERATIONAL, "could not send the cancel request: %s",
                        buf[0] ? buf : "no cancel handle");
  return QS_OK;
}

/* Waits for what was sent, cancelling it once the timeout passes, and
** returns the result PQexec would have: the last one, or the first error.
** NULL when the connection failed (or was given up: c->broken). */
static PGresult *await_result(qs_dconn *c) {
  PGconn *pg = c->pg;
  double deadline = qs_clock() + c->timeout_ms / 1000.0, give_up = 0;
  PGresult *keep = NULL, *r;
  c->timed_out = 0;
  for (;;) {
    while (PQisBusy(pg)) {
      struct pollfd pfd;
      double left = (give_up > 0 ? give_up : deadline) - qs_clock();
      int n;
      if (left <= 0) {
        qs_error ignored = {0};
        if (give_up > 0) {
          c->broken = 1;
          PQclear(keep);
          return NULL;
        }
        c->timed_out = 1;
        give_up = qs_clock() + CANCEL_GRACE;
        (void)send_cancel(c, &ignored);   /* unsent: the grace period ends it */
        qs_error_clear(&ignored);
        continue;
      }
      pfd.fd = PQsocket(pg);
      pfd.events = POLLIN;
      pfd.revents = 0;
      n = poll(&pfd, 1, (int)(left * 1000.0) + 1);
      if ((n < 0 && errno != EINTR) || (n > 0 && !PQconsumeInput(pg))) {
        PQclear(keep);
        return NULL;
      }
    }
    r = PQgetResult(pg);
    if (r == NULL) break;
    if (keep != NULL && PQresultStatus(keep) == PGRES_FATAL_ERROR) {
      PQclear(r);
    } else {
      PQclear(keep);
      keep = r;
    }
  }
  return keep;
}

static int xSetTimeout(qs_dconn *c, int ms, qs_error *err) {
  (void)err;
  c->timeout_ms = ms;
  return QS_OK;
}

static int xCancel(qs_dconn *c, int detached, qs_error *err) {
  (void)detached; return send_cancel(c, err); }

static int is_stale_plan(const PGresult *r) {
  const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
  const char *msg = PQresultErrorMessage(r);
  return state && strcmp(state, "0A000") == 0 && msg && strstr(msg, "cached plan") != NULL;
}

static int execute(qs_dstmt *s, qs_error *err) {
  int attempt;
  if (s->epoch != s->c->ddl_epoch) {
    int rc = reprepare(s, err);
    if (rc != QS_OK) return rc;
  }
  for (attempt = 0; attempt < 2; attempt++) {
    ExecStatusType st;
    PQclear(s->res);
    if (s->c->timeout_ms > 0) {
      s->res = NULL;
      if (!PQsendQueryPrepared(s->c->pg, s->name, s->nparams, s->values, s->lengths,
                               s->formats, 0))
        return fail_conn(s->c, err, NULL);
      s->res = await_result(s->c);
    } else {
      s->c->timed_out = 0;
      s->res = PQexecPrepared(s->c->pg, s->name, s->nparams, s->values, s->lengths,
                              s->formats, 0);
    }
    st = PQresultStatus(s->res);
    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
      const char *tuples = PQcmdTuples(s->res);
      s->c->changes = tuples && *tuples ? atoll(tuples) : 0;
      s->nrows = PQntuples(s->res);
      s->row = -1;
      s->executed = 1;
      note_ddl(s->c, s->res);
      return QS_OK;
    }
    if (attempt == 0 && is_stale_plan(s->res) &&
        PQtransactionStatus(s->c->pg) == PQTRANS_IDLE) {
      /* DDL from another connection changed what the statement returns:
      ** outside a transaction it is safe to prepare again and retry. (Inside
      ** one the failure aborted it; the statement is prepared again on its
      ** next use, after the rollback.) */
      int rc = reprepare(s, err);
      if (rc != QS_OK) return rc;
      continue;
    }
    if (is_stale_plan(s->res)) s->epoch = s->c->ddl_epoch - 1;   /* next use re-prepares */
    break;
  }
  return fail_conn(s->c, err, s->res);
}

static int xStep(qs_dstmt *s, qs_error *err) {
  if (!s->executed) {
    int rc = execute(s, err);
    if (rc != QS_OK) return rc;
  }
  s->row++;
  return s->row < s->nrows ? QS_ROW : QS_DONE;
}

static int xColumnCount(qs_dstmt *s) { return s->ncols; }
static const char *xColumnName(qs_dstmt *s, int i) {
  return i >= 0 && i < s->ncols ? s->colnames[i] : NULL;
}

static int hexval(char ch) {
  if (ch >= '0' && ch <= '9') return ch - '0';
  if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
  return -1;
}

/* An interval in the "postgres" output style (the connection sets it) as
** seconds: "1 year 2 mons -3 days +04:05:06.5", "25:01:01.25", "-00:00:01".
** A month counts 30 days and a year 365, as psycopg and asyncpg count them
** for Python's timedelta. Returns 0 when the text is not in that form. */
static int interval_seconds(const char *p, double *out) {
  double total = 0;
  int any = 0;
  while (*p) {
    char *end;
    double x;
    while (*p == ' ') p++;
    if (*p == '\0') break;
    x = strtod(p, &end);
    if (end == p) return 0;
    if (*end == ':') {   /* [+-]hh:mm:ss[.ffffff] */
      int neg = *p == '-';
      double h = x < 0 ? -x : x, m, sec = 0;
      p = end + 1;
      m = strtod(p, &end);
      if (end == p) return 0;
      p = end;
      if (*p == ':') {
        p++;
        sec = strtod(p, &end);
        if (end == p) return 0;
        p = end;
      }
      x = h * 3600 + m * 60 + sec;
      total += neg ? -x : x;
    } else {
      const char *unit = end;
      double mult;
      while (*unit == ' ') unit++;
      if (strncmp(unit, "year", 4) == 0) mult = 365 * 86400.0;
      else if (strncmp(unit, "mon", 3) == 0) mult = 30 * 86400.0;
      else if (strncmp(unit, "day", 3) == 0) mult = 86400.0;
      else return 0;
      total += x * mult;
      p = unit;
      while (*p && *p != ' ') p++;
    }
    any = 1;
  }
  *out = total;
  return any;
}

static void xColumn(qs_dstmt *s, int i, qs_value *out) {
  const char *txt;
  int len;
  Oid type;
  out->type = QS_TNULL;
  if (s->res == NULL || s->row < 0 || s->row >= s->nrows || i < 0 || i >= s->ncols) return;
  if (PQgetisnull(s->res, s->row, i)) return;
  txt = PQgetvalue(s->res, s->row, i);
  len = PQgetlength(s->res, s->row, i);
  type = PQftype(s->res, i);
  switch (type) {
    case OID_BOOL:
      out->type = QS_TBOOL;
      out->u.i = txt[0] == 't';
      return;
    case OID_INT2: case OID_INT4: case OID_INT8: case OID_OID:
      out->type = QS_TINT;
      out->u.i = strtoll(txt, NULL, 10);
      return;
    case OID_FLOAT4: case OID_FLOAT8:
      out->type = QS_TFLOAT;
      out->u.f = strtod(txt, NULL);
      return;
    case OID_INTERVAL:
      if (interval_seconds(txt, &out->u.f)) {
        out->type = QS_TFLOAT;
        return;
      }
      break;   /* another IntervalStyle set by hand: the text as it came */
    case OID_BYTEA:
      if (len >= 2 && txt[0] == '\\' && txt[1] == 'x') {   /* hex format (PostgreSQL 9.0+) */
        size_t n = (size_t)(len - 2) / 2, k;
        if (n > s->bytes_cap) {
          unsigned char *p = realloc(s->bytes, n);
          if (p == NULL) return;   /* out of memory: reads as NULL */
          s->bytes = p;
          s->bytes_cap = n;
        }
        for (k = 0; k < n; k++)
          s->bytes[k] = (unsigned char)(hexval(txt[2 + 2 * k]) * 16 + hexval(txt[3 + 2 * k]));
        out->type = QS_TBLOB;
        out->u.s.p = (const char *)s->bytes;
        out->u.s.n = n;
        if (n == 0) out->u.s.p = "";
        return;
      }
      break;
    default:
      break;
  }
  out->type = QS_TTEXT;
  out->u.s.p = txt;
  out->u.s.n = (size_t)len;
}

static int xReadonly(qs_dstmt *s) { (void)s; return 0; }

static void xReset(qs_dstmt *s) {
  PQclear(s->res);
  s->res = NULL;
  s->executed = 0;
  s->row = -1;
  s->nrows = 0;
}

static void xFinalize(qs_dstmt *s) {
  PQclear(s->res);
  deallocate(s);
  free_shape(s);
  free(s->given);
  free(s->bytes);
  free(s->sql);
  free(s);
}

static int64_t xChanges(qs_dconn *c) { return c->changes; }
static int64_t xLastInsertId(qs_dconn *c) { (void)c; return 0; }

static int xExec(qs_dconn *c, const char *sql, qs_error *err) {
  PGresult *r;
  ExecStatusType st;
  int rc = QS_OK;
  if (c->timeout_ms > 0) {
    if (!PQsendQuery(c->pg, sql)) return fail_conn(c, err, NULL);
    r = await_result(c);
  } else {
    c->timed_out = 0;
    r = PQexec(c->pg, sql);
  }
  st = PQresultStatus(r);
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) rc = fail_conn(c, err, r);
  else note_ddl(c, r);
  PQclear(r);
  return rc;
}

static int xInTransaction(qs_dconn *c) {
  PGTransactionStatusType t = PQtransactionStatus(c->pg);
  return t == PQTRANS_INTRANS || t == PQTRANS_INERROR || t == PQTRANS_ACTIVE;
}

/* ---- executemany in pipeline mode ------------------------------------- */

typedef struct pipe_state {
  qs_dstmt *s;
  int64_t changes;
  int failed;                /* the first failure is in err */
  int pending;               /* queries sent whose results are not read */
  qs_error *err;
} pipe_state;

/* Reads every result that has arrived, without blocking. A query's results
** end with a NULL; the first error is kept, and the queries after it come
** back PGRES_PIPELINE_ABORTED. */
static int drain(pipe_state *p, int block) {
  PGconn *pg = p->s->c->pg;
  for (;;) {
    PGresult *r;
    if (!block) {
      if (!PQconsumeInput(pg)) return fail_conn(p->s->c, p->err, NULL);
      if (PQisBusy(pg)) return QS_OK;
    }
    r = PQgetResult(pg);
    if (r == NULL) {
      if (p->pending == 0) return QS_OK;
      p->pending--;   /* end of one query's results */
      if (block && p->pending == 0) return QS_OK;
      continue;
    }
    switch (PQresultStatus(r)) {
      case PGRES_COMMAND_OK: case PGRES_TUPLES_OK: {
        const char *t = PQcmdTuples(r);
        p->changes += t && *t ? atoll(t) : 0;
        break;
      }
      case PGRES_PIPELINE_SYNC:
        PQclear(r);
        return QS_OK;
      case PGRES_PIPELINE_ABORTED:
        break;
      default:
        if (!p->failed) {
          p->failed = 1;
          fail_conn(p->s->c, p->err, r);
        }
    }
    PQclear(r);
  }
}

/* Sends what libpq has buffered, reading results while the server's
** output would otherwise fill up (the deadlock NOTES.md warns of). */
static int flush(pipe_state *p) {
  PGconn *pg = p->s->c->pg;
  int f;
  while ((f = PQflush(pg)) == 1) {
    struct pollfd pfd;
    pfd.fd = PQsocket(pg);
    pfd.events = POLLIN | POLLOUT;
    pfd.revents = 0;
    if (poll(&pfd, 1, FLUSH_POLL_MS) < 0) return qs_error_set(p->err, QS_OPERATIONAL, "poll failed");
    if (pfd.revents & POLLIN) {
      int rc = drain(p, 0);
      if (rc != QS_OK) return rc;
    }
  }
  if (f < 0) return fail_conn(p->s->c, p->err, NULL);
  return QS_OK;
}

static int xExecMany(qs_dstmt *s, int nsets, int nparams, const qs_value *vals, int64_t *changes,
                     qs_error *err) {
  PGconn *pg = s->c->pg;
  pipe_state p;
  int i, rc = QS_OK;
  *changes = 0;
  if (s->epoch != s->c->ddl_epoch && (rc = reprepare(s, err)) != QS_OK) return rc;
  memset(&p, 0, sizeof p);
  p.s = s;
  p.err = err;
  if (!PQenterPipelineMode(pg)) return fail_conn(s->c, err, NULL);
  PQsetnonblocking(pg, 1);
  for (i = 0; i < nsets && rc == QS_OK && !p.failed; i++) {
    xBind(s, nparams, vals + (size_t)i * (size_t)nparams, err);
    if (!PQsendQueryPrepared(pg, s->name, s->nparams, s->values, s->lengths, s->formats, 0)) {
      rc = fail_conn(s->c, err, NULL);
      break;
    }
    p.pending++;
    if (i % 64 == 63) {   /* keep both directions moving */
      rc = flush(&p);
      if (rc == QS_OK) rc = drain(&p, 0);
    }
  }
  if (rc == QS_OK || p.pending > 0) {
    int rc2;
    PQpipelineSync(pg);
    rc2 = flush(&p);
    PQsetnonblocking(pg, 0);
    while (rc2 == QS_OK && p.pending > 0) rc2 = drain(&p, 1);
    if (rc2 == QS_OK) rc2 = drain(&p, 1);   /* the sync */
    if (rc == QS_OK) rc = rc2;
  }
  PQsetnonblocking(pg, 0);
  PQexitPipelineMode(pg);
  if (rc == QS_OK && p.failed) rc = err->code;
  *changes = p.changes;
  s->c->changes = p.changes;
  return rc;
}

static const char *xNotice(qs_dconn *c, int i) {
  return i >= 0 && i < c->nnotices ? c->notices[i] : NULL;
}

static void xClearNotices(qs_dconn *c) {
  int i;
  for (i = 0; i < c->nnotices; i++) free(c->notices[i]);
  c->nnotices = 0;
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

const qs_driver qs_libpq_driver = {
  QS_DRIVER_VERSION, "postgresql", 0, 0,
  xOpen, xConnect, xClose, xWait, NULL, xPrepare, xParamCount, xBind, xStep, xColumnCount,
  xColumnName, xColumn, xReadonly, xReset, xFinalize, xChanges,
  xLastInsertId, xExec, xInTransaction, xExecMany, xNotice, xClearNotices,
  xSetTimeout, xCancel,
};
