/*
** libpq.c: the PostgreSQL driver, the qs_driver table over libpq's
** asynchronous API.
**
** Every operation that talks to the server is a state machine kept in the
** connection (psycopg 3's generators in C): it sends what it can, reads what
** has arrived, and returns QS_WAIT with what it waits for (xWait) when the
** socket is not ready; called again, it continues. The socket is always in
** libpq's non-blocking mode, so one code path serves both of the core's
** modes: blocking (c/core/conn.c polls the socket) and non-blocking (a
** coroutine scheduler waits). The core also keeps the statement timeout
** (bClientTimeout): past the deadline it calls xCancel and the server's
** "canceling statement" error comes back as any other.
**
** Statements are server-side prepared (one name per cached statement; the
** generic connection's cache keeps them), so the server parses each SQL text
** once per connection. xFinalize never talks to the server: the name is
** queued, and the next operation first sends one DEALLOCATE query for all
** queued names. A statement prepared before an ALTER TABLE can fail with
** "cached plan must not change result type": it is prepared again and run
** once more. Parameters travel as text (bytea as binary) with the types the
** server infers; where it cannot ("could not determine data type of
** parameter"), the statement is prepared again with text parameters.
** Results come back buffered in text form and are converted by type OID.
** Notices are kept in a small C buffer: the notice receiver never calls Lua.
**
** prepared_statements=false (for a transaction pooler such as pgbouncer,
** where a statement prepared on one server connection is gone on the next):
** a new statement is parsed as the unnamed one and described in one
** pipelined round trip, and every execution parses it again with
** PQsendQueryParams (Parse/Bind/Describe/Execute/Sync); executemany parses
** it once in its pipeline. Nothing outlives the round trip: no name, no
** DEALLOCATE. Without it, a statement of ours missing ("does not exist")
** or found ("already exists") on the server is that pooler: the clear
** error (pg_common.h), and the connection given up.
**
** Options: host, port, user, password, database, prepared_statements, and any libpq keyword
** (sslmode, sslrootcert, connect_timeout, application_name, options);
** connect_timeout is enforced here (libpq leaves it to the application when
** connecting with PQconnectPoll), reported through xWait.
**
** Preparing is in libpq_prepare.c, executemany's pipeline in
** libpq_pipeline.c; what the files share in libpq_conn.h.
*/
#include "libpq_conn.h"

#include <errno.h>
#include <postgresql/libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const op_names[] = {
  "nothing", "a connect", "a prepare", "an exec", "an execute", "an executemany"
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
  qs__pg_notices_add(&c->notices, copy);
}


/* The failure res reports (NULL: the connection's own message). A dead
** connection is always OPERATIONAL with invalidated set. */
int qs__lpq_fail_conn(qs_dconn *c, qs_error *err, const PGresult *res) {
  const char *msg = res ? PQresultErrorMessage(res) : NULL;
  const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
  const char *cons = res ? PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME) : NULL;
  size_t n;
  int code;
  if (msg == NULL || *msg == '\0') msg = PQerrorMessage(c->pg);
  if (msg == NULL || *msg == '\0') msg = "unknown PostgreSQL error";
  n = strlen(msg);
  while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' ')) n--;
  if (!c->unnamed && qs__pg_pooler_error(state, msg, err)) {
    c->gone = 1;   /* its statements cannot be trusted: given up */
    return err->code;
  }
  code = qs_sqlstate_family(state, state ? strlen(state) : 0);
  err->invalidated = PQstatus(c->pg) == CONNECTION_BAD;
  if (err->invalidated) code = QS_OPERATIONAL;
  else err->invalidated = qs__pg_error_disconnects(state, c->wants_writable);   /* its class stays */
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
  return qs_error_set(err, code, "%.*s", (int)n, msg);
}

int qs__lpq_is_error(const PGresult *r) {
  ExecStatusType st = PQresultStatus(r);
  return st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK;
}

/* ---- the operation in progress ------------------------------------------ */

/* Begins op (first call) or goes on with it (the same member called again).
** Another operation in progress is the caller's bug: refused, its state
** untouched. */
int qs__lpq_enter(qs_dconn *c, int op, qs_dstmt *s, qs_error *err) {
  if (c->op == OP_NONE) {
    if (c->gone) {
      qs_error_set(err, QS_OPERATIONAL, "this PostgreSQL connection was given up: the server "
                   "session changed under its prepared statements (a transaction pooler?)");
      err->invalidated = 1;
      return QS_OPERATIONAL;
    }
    c->op = op;
    c->phase = 0;
    c->sub = PREP_SEND;
    c->want = 0;
    c->seen = 0;
    c->just_sent = 0;
    c->reprepare = 0;
    c->attempt = 0;
    c->stmt = s;
    return QS_OK;
  }
  if (c->op == op && (s == NULL || c->stmt == s)) return QS_OK;
  return qs_error_set(err, QS_MISUSE,
                      "cannot begin %s while %s is in progress on this PostgreSQL "
                      "connection (one operation at a time)",
                      op_names[op], op_names[c->op]);
}

/* Ends the operation (done or failed): nothing of it is kept. */
int qs__lpq_leave(qs_dconn *c, int rc) {
  c->op = OP_NONE;
  c->phase = 0;
  c->want = 0;
  c->stmt = NULL;
  c->m_vals = NULL;
  PQclear(c->keep);
  c->keep = NULL;
  PQclear(c->m_error);
  c->m_error = NULL;
  PQclear(c->p_shape);
  c->p_shape = NULL;
  return rc;
}

/* The connection failed while sending or reading: the error a result
** already gave (a backend terminated says why before it goes) or libpq's. */
int qs__lpq_lost(qs_dconn *c, qs_error *err) {
  int rc, i;
  /* libpq keeps what it read before the connection failed: a backend's
  ** last words ("terminating connection due to administrator command") are
  ** parsed into results here (the socket is gone, so nothing waits) */
  for (i = 0; i < 16 && PQstatus(c->pg) == CONNECTION_BAD; i++) {
    PGresult *r = PQgetResult(c->pg);
    if (r == NULL) break;
    if (c->keep == NULL || (!qs__lpq_is_error(c->keep) && qs__lpq_is_error(r))) {
      PQclear(c->keep);
      c->keep = r;
    } else {
      PQclear(r);
    }
  }
  rc = qs__lpq_fail_conn(c, err, c->keep && qs__lpq_is_error(c->keep) ? c->keep : NULL);
  if (PQstatus(c->pg) != CONNECTION_BAD) {
    /* libpq refused a command (out of memory, a protocol state it does not
    ** expect): the session can no longer be trusted either */
    err->invalidated = 1;
    rc = err->code = QS_OPERATIONAL;
  }
  return qs__lpq_leave(c, rc);
}

/* A command went out (PQsend*): its bytes are flushed and its results read
** by read_results. */
void qs__lpq_sent(qs_dconn *c) {
  c->just_sent = 1;
  PQclear(c->keep);
  c->keep = NULL;
}

static void note_ddl(qs_dconn *c, const PGresult *r);

/* Whether a result can be taken without blocking: sends what libpq holds
** (reading meanwhile: a server whose output is not read stops reading its
** input) and reads what has arrived. 1: PQgetResult will not block; QS_WAIT
** with c->want set; -1: the connection failed. check_sent: a command sent
** this very step has no reply yet, so wait before reading (c->just_sent). */
int qs__lpq_result_ready(qs_dconn *c, int check_sent) {
  PGconn *pg = c->pg;
  int f = PQflush(pg);
  if (f < 0) return -1;
  if (f == 1) {
    if (!PQconsumeInput(pg)) return -1;
    c->want = QS_WAIT_READ | QS_WAIT_WRITE;
    return QS_WAIT;
  }
  if (check_sent && c->just_sent) {
    c->just_sent = 0;
    c->want = QS_WAIT_READ;
    return QS_WAIT;
  }
  if (PQisBusy(pg)) {
    if (!PQconsumeInput(pg)) return -1;
    if (PQisBusy(pg)) {
      c->want = QS_WAIT_READ;
      return QS_WAIT;
    }
  }
  return 1;
}

/* One more result of the command being read: noted if it changed the schema,
** then kept in c->keep unless an error is already kept (the first error is
** the one the caller reports). Takes r. */
static void keep_result(qs_dconn *c, PGresult *r) {
  if (!qs__lpq_is_error(r)) note_ddl(c, r);
  if (c->keep != NULL && qs__lpq_is_error(c->keep)) {
    PQclear(r);
  } else {
    PQclear(c->keep);
    c->keep = r;
  }
}

/* Sends what libpq holds and reads the results of the command sent last
** until libpq has them all: c->keep holds the first error, else the last
** result (NULL: none). QS_OK when done, QS_WAIT (c->want set), or an error
** when the connection failed (the operation then ended). */
int qs__lpq_read_results(qs_dconn *c, qs_error *err) {
  PGconn *pg = c->pg;
  for (;;) {
    PGresult *r;
    int ready = qs__lpq_result_ready(c, 1);
    if (ready < 0) return qs__lpq_lost(c, err);
    if (ready == QS_WAIT) return QS_WAIT;
    r = PQgetResult(pg);
    if (r == NULL) {
      c->want = 0;
      if (PQstatus(pg) == CONNECTION_BAD) return qs__lpq_lost(c, err);
      return QS_OK;
    }
    keep_result(c, r);
  }
}

/* Takes the result read_results kept (the caller owns it). */
PGresult *qs__lpq_take(qs_dconn *c) {
  PGresult *r = c->keep;
  c->keep = NULL;
  return r;
}

/* ---- the DEALLOCATE queue ----------------------------------------------- */

void qs__lpq_dq_add(qs_dconn *c, const char *name) {
  size_t need = c->dq_len + strlen(name) + sizeof "DEALLOCATE ;";
  if (need > MAX_DEALLOC_BYTES) return;
  if (need > c->dq_cap) {
    size_t cap = c->dq_cap ? c->dq_cap * 2 : 256;
    char *p;
    while (cap < need) cap *= 2;
    p = realloc(c->dq, cap);
    if (p == NULL) return;   /* out of memory: the session ends the statement */
    c->dq = p;
    c->dq_cap = cap;
  }
  c->dq_len += (size_t)snprintf(c->dq + c->dq_len, c->dq_cap - c->dq_len, "DEALLOCATE %s;", name);
}

/* Phase 0 of every operation but connect: the statements finalized since the
** last one are deallocated, in one query. Skipped while the transaction is
** aborted (the server would refuse it): they go with a later operation. A
** failure that aborts the caller's transaction is the operation's error. */
static int drain_rest(qs_dconn *c, qs_error *err);

int qs__lpq_run_deallocs(qs_dconn *c, qs_error *err) {
  int rc;
  if (c->phase == 0 && c->drain && (rc = drain_rest(c, err)) != QS_OK) return rc;
  if (c->phase == 0) {
    if (c->dq_len == 0 || PQtransactionStatus(c->pg) == PQTRANS_INERROR) {
      c->phase = 1;
      return QS_OK;
    }
    if (!PQsendQuery(c->pg, c->dq)) return qs__lpq_lost(c, err);
    c->dq_len = 0;
    c->phase = -1;
    qs__lpq_sent(c);
  }
  rc = qs__lpq_read_results(c, err);
  if (rc != QS_OK) return rc;
  c->phase = 1;
  if (c->keep && qs__lpq_is_error(c->keep) && PQtransactionStatus(c->pg) == PQTRANS_INERROR)
    return qs__lpq_leave(c, qs__lpq_fail_conn(c, err, c->keep));
  PQclear(qs__lpq_take(c));
  return QS_OK;
}

/* ---- connecting ----------------------------------------------------------- */

static int connect_error(qs_dconn *c, qs_error *err, const char *why) {
  const char *msg = why ? why : PQerrorMessage(c->pg);
  size_t len = msg ? strlen(msg) : 0;
  int rc;
  while (len > 0 && (msg[len - 1] == '\n' || msg[len - 1] == ' ')) len--;
  rc = qs_error_set(err, QS_OPERATIONAL, "could not connect to PostgreSQL: %.*s", (int)len,
                    msg ? msg : "");
  err->invalidated = 1;
  return rc;
}

static int xOpen(int nopt, const char *const *keys, const char *const *vals, qs_dconn **out,
                 qs_error *err) {
  const char *k[MAX_CONN_OPTIONS + 3], *v[MAX_CONN_OPTIONS + 3];   /* + 2 added + NULL */
  int i, n = 0, timeout = 0, nhosts = 1, writable = 0, prepared = 1;
  qs_dconn *c;
  *out = NULL;
  if (nopt > MAX_CONN_OPTIONS)   /* refused, never dropped */
    return qs_error_set(err, QS_ARGUMENT, "%d connection options given; the postgresql driver takes at most %d",
                        nopt, MAX_CONN_OPTIONS);
  for (i = 0; i < nopt; i++) {
    const char *key = keys[i];
    if (strcmp(key, QS_PG_OPT_PREPARED) == 0) {   /* ours, not libpq's */
      if (qs__pg_prepared_option(vals[i], &prepared, err) != QS_OK) return err->code;
      continue;
    }
    if (strcmp(key, "host") == 0) {
      const char *h;
      for (h = vals[i]; *h; h++) nhosts += *h == ',';
    } else if (strcmp(key, "target_session_attrs") == 0) {
      writable = strcmp(vals[i], "read-write") == 0 || strcmp(vals[i], "primary") == 0;
    }
    if (strcmp(key, "database") == 0) key = "dbname";
    else if (strcmp(key, "username") == 0) key = "user";
    else if (strcmp(key, "connect_timeout") == 0) {
      /* libpq's reading of it: whole seconds, 0 or less none, at least 2 */
      char *end;
      long t = strtol(vals[i], &end, 10);
      if (end == vals[i] || *end != '\0')
        return qs_error_set(err, QS_ARGUMENT, "invalid connect_timeout '%s': whole seconds expected",
                            vals[i]);
      timeout = t <= 0 ? 0 : t < 2 ? 2 : t > 86400 ? 86400 : (int)t;
    }
    k[n] = key;
    v[n] = vals[i];
    n++;
  }
  k[n] = "client_encoding"; v[n] = "UTF8"; n++;
  k[n] = "fallback_application_name"; v[n] = "quicksilver"; n++;
  k[n] = NULL; v[n] = NULL;
  c = calloc(1, sizeof *c);
  if (c == NULL) return qs_error_set(err, QS_NOMEM, "out of memory");
  c->pg = PQconnectStartParams(k, v, 0);
  if (c->pg == NULL) {
    free(c);
    return qs_error_set(err, QS_NOMEM, "out of memory");
  }
  if (PQstatus(c->pg) == CONNECTION_BAD) {   /* bad options, or refused at once */
    int rc = connect_error(c, err, NULL);
    PQfinish(c->pg);
    free(c);
    return rc;
  }
  PQsetNoticeReceiver(c->pg, notice_receiver, c);
  c->unnamed = !prepared;
  c->tag = qs__pg_name_tag(c);
  c->connect_timeout = timeout;
  c->wants_writable = writable;
  /* libpq gives each host of a list connect_timeout; connecting through
  ** PQconnectPoll the deadline is the driver's, one for all of them */
  if (timeout > 0) c->connect_deadline = qs_clock() + (double)timeout * nhosts;
  c->op = OP_CONNECT;      /* xConnect goes on with it */
  *out = c;
  return QS_OK;
}

/* Connect steps: 0 PQconnectPoll until connected (libpq's loop: wait for
** writing first, then for what each poll says); 1 the date style query qs__lpq_sent,
** its result read. */
static int xConnect(qs_dconn *c, qs_error *err) {
  if (c->op != OP_CONNECT) {
    if (c->op == OP_NONE && c->connected) return QS_OK;
    return qs_error_set(err, QS_MISUSE, "cannot begin a connect while %s is in progress on this "
                                        "PostgreSQL connection (one operation at a time)",
                        op_names[c->op]);
  }
  if ((c->seen & QS_WAIT_TIMEOUT) ||
      (c->connect_deadline > 0 && qs_clock() >= c->connect_deadline)) {
    char why[96];
    snprintf(why, sizeof why, "timeout expired (connect_timeout %d s)", c->connect_timeout);
    return qs__lpq_leave(c, connect_error(c, err, why));
  }
  c->seen = 0;
  if (c->phase == 0) {
    if (!c->attempt) {   /* the first call: as if the last poll said "writing" */
      c->attempt = 1;
      c->want = QS_WAIT_WRITE;
      return QS_WAIT;
    }
    switch (PQconnectPoll(c->pg)) {
      case PGRES_POLLING_READING:
        c->want = QS_WAIT_READ;
        return QS_WAIT;
      case PGRES_POLLING_WRITING:
        c->want = QS_WAIT_WRITE;
        return QS_WAIT;
      case PGRES_POLLING_FAILED:
        return qs__lpq_leave(c, connect_error(c, err, NULL));
      default:
        break;
    }
    if (PQsetnonblocking(c->pg, 1) != 0) return qs__lpq_leave(c, connect_error(c, err, NULL));
    {
      /* Values are read in the ISO date style and the "postgres" interval
      ** style (the defaults); a server or role configured otherwise is set
      ** back for this session (the server reports both at connect, so the
      ** default case costs nothing). */
      const char *ds = PQparameterStatus(c->pg, "DateStyle");
      const char *is = PQparameterStatus(c->pg, "IntervalStyle");
      if ((ds && strncmp(ds, "ISO", 3) != 0) || (is && strcmp(is, "postgres") != 0)) {
        if (!PQsendQuery(c->pg, "SET datestyle TO ISO; SET intervalstyle TO postgres"))
          return qs__lpq_leave(c, connect_error(c, err, NULL));
        qs__lpq_sent(c);
        c->phase = 1;
      } else {
        c->phase = 2;
      }
    }
  }
  if (c->phase == 1) {
    int rc = qs__lpq_read_results(c, err);
    if (rc == QS_WAIT) return rc;
    if (rc != QS_OK) {
      err->invalidated = 1;
      return rc;
    }
    if (c->keep && qs__lpq_is_error(c->keep)) {
      rc = qs__lpq_fail_conn(c, err, c->keep);
      err->invalidated = 1;
      return qs__lpq_leave(c, rc);
    }
  }
  c->cancel = PQgetCancel(c->pg);
  c->connect_deadline = 0;
  c->connected = 1;
  return qs__lpq_leave(c, QS_OK);
}

void qs__lpq_free_stmt(qs_dstmt *s);

static void xClose(qs_dconn *c) {
  if (c->op == OP_PREPARE && c->stmt) qs__lpq_free_stmt(c->stmt);   /* never handed out */
  qs__lpq_leave(c, QS_OK);   /* (clears p_shape too) */
  if (c->cancel) PQfreeCancel(c->cancel);
  PQfinish(c->pg);
  qs__pg_notices_clear(&c->notices);
  free(c->dq);
  free(c);
}

static int xWait(qs_dconn *c, int *fd, int *timeout_ms) {
  *fd = PQsocket(c->pg);
  *timeout_ms = -1;
  if (c->op == OP_NONE) return 0;
  if (c->op == OP_CONNECT && c->connect_deadline > 0) {
    double left = c->connect_deadline - qs_clock();
    *timeout_ms = left <= 0 ? 0 : (int)(left * 1000.0) + 1;
  }
  return c->want;
}

/* The next call reads and writes whatever it can, so what the wait saw
** matters only to a connect (its timeout). */
static void xReady(qs_dconn *c, int events) { c->seen = events; }

static int xParamCount(qs_dstmt *s) { return s->nparams; }

int qs__lpq_xBind(qs_dstmt *s, int n, const qs_value *vals, qs_error *err) {
  int i;
  if (qs__pg_refuse_nul(vals, n < s->nparams ? n : s->nparams, 0, err) != QS_OK) return err->code;
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
        (void)qs__pg_float_text(s->paramtypes ? (uint32_t)s->paramtypes[i] : 0, v->u.f, num);
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
** transaction would abort it). DISCARD ALL and DEALLOCATE ALL (run by hand)
** drop them all: they are prepared again, and none is deallocated again (a
** DEALLOCATE of a name the server no longer has would fail, and abort the
** caller's transaction). */
static void note_ddl(qs_dconn *c, const PGresult *r) {
  const char *st = PQcmdStatus((PGresult *)r);
  if (st == NULL) return;
  if (strncmp(st, "ALTER", 5) == 0 || strncmp(st, "DROP", 4) == 0 ||
      strncmp(st, "CREATE", 6) == 0 || strncmp(st, "COMMENT", 7) == 0) {
    c->ddl_epoch++;
  } else if (strcmp(st, "DISCARD ALL") == 0 || strcmp(st, "DEALLOCATE ALL") == 0) {
    c->session_epoch++;
    c->ddl_epoch++;
    c->dq_len = 0;
  }
}

static int is_stale_plan(const PGresult *r) {
  const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
  const char *msg = PQresultErrorMessage(r);
  return state && strcmp(state, "0A000") == 0 && msg && strstr(msg, "cached plan") != NULL;
}

/* The start of an operation on s (execute, executemany): the DEALLOCATE
** queue, with s's own name first in it when DDL since its prepare makes it
** stale (c->reprepare), then preparing it again. QS_OK once s is ready. */
int qs__lpq_ready_stmt(qs_dstmt *s, qs_error *err) {
  qs_dconn *c = s->c;
  int rc;
  /* (unnamed statements are parsed by every execution: never prepared again) */
  if (c->phase == 0 && !c->reprepare && !c->unnamed &&
      (s->epoch != c->ddl_epoch || !s->on_server || s->session_epoch != c->session_epoch)) {
    qs__lpq_forget(s);
    c->reprepare = 1;
  }
  if (c->phase <= 0 && (rc = qs__lpq_run_deallocs(c, err)) != QS_OK) return rc;
  if (c->reprepare) {
    if ((rc = qs__lpq_prepare_steps(s, err)) != QS_OK) return rc;
    c->reprepare = 0;
  }
  return QS_OK;
}

/* Phases 0-1 of an execution: the statement ready (qs__lpq_ready_stmt), then sent
** with its values; single_row: in single-row mode (a streamed execution).
** QS_OK with phase 2 reached, QS_WAIT, or the error. */
int qs__lpq_send_execution(qs_dstmt *s, int single_row, qs_error *err) {
  qs_dconn *c = s->c;
  int rc = qs__lpq_ready_stmt(s, err);
  if (rc != QS_OK) return rc;
  PQclear(s->res);
  s->res = NULL;
  if (c->unnamed) {   /* Parse/Bind/Describe/Execute/Sync: one round trip, nothing kept */
    if (!PQsendQueryParams(c->pg, s->sql, s->nparams, s->ptypes, s->values, s->lengths,
                           s->formats, 0))
      return qs__lpq_lost(c, err);
  } else if (!PQsendQueryPrepared(c->pg, s->name, s->nparams, s->values, s->lengths,
                                  s->formats, 0)) {
    return qs__lpq_lost(c, err);
  }
  /* single-row mode fails only when nothing was sent: then there are no rows */
  if (single_row) (void)PQsetSingleRowMode(c->pg);
  qs__lpq_sent(c);
  c->phase = 2;
  return QS_OK;
}

/* Execute steps: 1 ready (qs__lpq_ready_stmt), 2 qs__lpq_sent, its results read; a plan
** made stale by another connection's DDL goes back to 0 once. */
static int execute(qs_dstmt *s, qs_error *err) {
  qs_dconn *c = s->c;
  int rc;
  for (;;) {
    ExecStatusType st;
    if (c->phase <= 1 && (rc = qs__lpq_send_execution(s, 0, err)) != QS_OK) return rc;
    if ((rc = qs__lpq_read_results(c, err)) != QS_OK) return rc;
    s->res = qs__lpq_take(c);
    st = PQresultStatus(s->res);
    if (s->res != NULL && (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)) {
      const char *tuples = PQcmdTuples(s->res);
      c->changes = tuples && *tuples ? atoll(tuples) : 0;
      s->nrows = PQntuples(s->res);
      s->row = -1;
      s->executed = 1;
      return qs__lpq_leave(c, QS_OK);
    }
    if (s->res != NULL && c->attempt == 0 && is_stale_plan(s->res) &&
        PQtransactionStatus(c->pg) == PQTRANS_IDLE) {
      /* DDL from another connection changed what the statement returns:
      ** outside a transaction it is safe to prepare again and retry. (Inside
      ** one the failure aborted it; the statement is prepared again on its
      ** next use, after the rollback.) */
      c->attempt = 1;
      qs__lpq_forget(s);
      c->reprepare = 1;
      c->sub = PREP_SEND;
      c->phase = 0;
      continue;
    }
    if (s->res != NULL && is_stale_plan(s->res)) s->epoch = c->ddl_epoch - 1;   /* next use re-prepares */
    rc = qs__lpq_fail_conn(c, err, s->res);
    PQclear(s->res);
    s->res = NULL;
    return qs__lpq_leave(c, rc);
  }
}

/* ---- streaming (single-row mode) ------------------------------------------
** A streamed execution (xStream) is sent as any other, then put in libpq's
** single-row mode: each row comes as a result of its own, parsed from what
** the socket gave, so memory holds libpq's input buffer and one row, never
** the result. The operation stays in progress between rows (the core
** refuses others meanwhile). Chosen over a server-side cursor (DECLARE /
** FETCH, psycopg's named cursors) because it needs no transaction, no SQL
** rewriting and no round trip per batch, and gives the same types and
** errors as a buffered execution. */

/* Reads the next row of the streamed execution of s: QS_ROW (s->res holds
** it), QS_DONE once every result was read (the command tag gives the
** count), an error the server sent mid-stream (on the step that meets it,
** after the rows before it), or QS_WAIT. */
static int stream_row(qs_dstmt *s, qs_error *err) {
  qs_dconn *c = s->c;
  PGconn *pg = c->pg;
  PQclear(s->res);
  s->res = NULL;
  s->nrows = 0;
  for (;;) {
    PGresult *r;
    int ready = qs__lpq_result_ready(c, 1);
    if (ready < 0) goto failed;
    if (ready == QS_WAIT) return QS_WAIT;
    r = PQgetResult(pg);
    if (r == NULL) {   /* the execution's results are all read */
      int rc = QS_DONE;
      s->live = 0;
      c->want = 0;
      if (PQstatus(pg) == CONNECTION_BAD) goto failed;
      if (c->keep != NULL && qs__lpq_is_error(c->keep)) {
        if (is_stale_plan(c->keep)) s->epoch = c->ddl_epoch - 1;   /* next use re-prepares */
        rc = qs__lpq_fail_conn(c, err, c->keep);
      } else if (c->keep != NULL) {
        const char *tuples = PQcmdTuples(c->keep);
        c->changes = tuples && *tuples ? atoll(tuples) : 0;
      }
      s->row = -1;
      return qs__lpq_leave(c, rc);
    }
    if (PQresultStatus(r) == PGRES_SINGLE_TUPLE && (c->keep == NULL || !qs__lpq_is_error(c->keep))) {
      s->res = r;
      s->row = 0;
      s->nrows = 1;
      c->want = 0;
      return QS_ROW;
    }
    keep_result(c, r);
  }
failed:
  s->live = 0;
  return qs__lpq_lost(c, err);
}

/* The first step of a streamed execution: ready (as execute's), qs__lpq_sent, into
** single-row mode, then its first row. */
static int stream_start(qs_dstmt *s, qs_error *err) {
  qs_dconn *c = s->c;
  int rc;
  if (c->phase <= 1) {
    if ((rc = qs__lpq_send_execution(s, 1, err)) != QS_OK) return rc;
    s->executed = 1;
    s->live = 1;
  }
  return stream_row(s, err);
}

/* A streamed execution left mid-way (xReset, qs__lpq_xFinalize): its operation
** ends here, the rest of its results are read and discarded by the next
** operation (drain_rest), never a cancel: that would abort the transaction
** the rows were read in. */
static void stream_abandon(qs_dstmt *s) {
  qs_dconn *c = s->c;
  if (!s->live) return;
  s->live = 0;
  if (c->stmt == s) qs__lpq_leave(c, QS_OK);
  if (PQstatus(c->pg) == CONNECTION_OK) c->drain = 1;
}

/* Phase 0's first part when a stream was left: every result read and
** dropped (nothing of it is kept, however many rows were left). */
static int drain_rest(qs_dconn *c, qs_error *err) {
  PGconn *pg = c->pg;
  for (;;) {
    PGresult *r;
    int ready = qs__lpq_result_ready(c, 0);
    if (ready < 0) break;
    if (ready == QS_WAIT) return QS_WAIT;
    r = PQgetResult(pg);
    if (r == NULL) {
      c->drain = 0;
      c->want = 0;
      if (PQstatus(pg) == CONNECTION_BAD) break;
      return QS_OK;
    }
    PQclear(r);
  }
  c->drain = 0;
  return qs__lpq_lost(c, err);
}

static int xStream(qs_dstmt *s, int on) {
  s->stream = on != 0;
  return 1;
}

static int xStep(qs_dstmt *s, qs_error *err) {
  if (s->live) {
    int rc = qs__lpq_enter(s->c, OP_STEP, s, err);
    if (rc != QS_OK) return rc;
    return stream_row(s, err);
  }
  if (!s->executed && s->stream) {
    int rc = qs__lpq_enter(s->c, OP_STEP, s, err);
    if (rc != QS_OK) return rc;
    return stream_start(s, err);
  }
  if (!s->executed) {
    int rc = qs__lpq_enter(s->c, OP_STEP, s, err);
    if (rc != QS_OK) return rc;
    rc = execute(s, err);
    if (rc != QS_OK) return rc;
  }
  s->row++;
  return s->row < s->nrows ? QS_ROW : QS_DONE;
}

/* Wide and unnamed statements: the columns of the result in hand (an
** unnamed one was described when made, but DDL since may have changed it). */
static int xColumnCount(qs_dstmt *s) {
  if (s->res && (s->wide || s->c->unnamed)) return PQnfields(s->res);
  return s->wide ? 0 : s->ncols;
}
static const char *xColumnName(qs_dstmt *s, int i) {
  if (s->res && (s->wide || s->c->unnamed))
    return i >= 0 && i < PQnfields(s->res) ? PQfname(s->res, i) : NULL;
  if (s->wide) return NULL;
  return i >= 0 && i < s->ncols ? s->colnames[i] : NULL;
}

static void xColumn(qs_dstmt *s, int i, qs_value *out) {
  out->type = QS_TNULL;
  if (s->res == NULL || s->row < 0 || s->row >= s->nrows || i < 0 || i >= xColumnCount(s)) return;
  if (PQgetisnull(s->res, s->row, i)) return;
  qs__pg_text_value((uint32_t)PQftype(s->res, i), PQgetvalue(s->res, s->row, i),
                    (size_t)PQgetlength(s->res, s->row, i), &s->bytes, out);
}

static int xReadonly(qs_dstmt *s) { (void)s; return 0; }

static void xReset(qs_dstmt *s) {
  stream_abandon(s);
  s->stream = 0;
  PQclear(s->res);
  s->res = NULL;
  s->executed = 0;
  s->row = -1;
  s->nrows = 0;
}

/* Never talks to the server: the name goes to the DEALLOCATE queue. */
void qs__lpq_xFinalize(qs_dstmt *s) {
  /* Finalized in the middle of its own operation (the caller abandoned it):
  ** the operation stays in progress with no statement, so every later call
  ** is refused (QS_MISUSE) and the connection can only be closed. */
  stream_abandon(s);
  if (s->c->stmt == s) s->c->stmt = NULL;
  qs__lpq_forget(s);
  qs__lpq_free_stmt(s);
}

static int64_t xChanges(qs_dconn *c) { return c->changes; }
static int64_t xLastInsertId(qs_dconn *c) { (void)c; return 0; }

/* Exec steps: 0 the DEALLOCATE queue; 1 qs__lpq_sent, every result read (the first
** error is the operation's). */
static int xExec(qs_dconn *c, const char *sql, qs_error *err) {
  int rc = qs__lpq_enter(c, OP_EXEC, NULL, err);
  if (rc != QS_OK) return rc;
  if (c->phase <= 0 && (rc = qs__lpq_run_deallocs(c, err)) != QS_OK) return rc;
  if (c->phase == 1) {
    if (!PQsendQuery(c->pg, sql)) return qs__lpq_lost(c, err);
    qs__lpq_sent(c);
    c->phase = 2;
  }
  if ((rc = qs__lpq_read_results(c, err)) != QS_OK) return rc;
  if (c->keep != NULL && qs__lpq_is_error(c->keep)) rc = qs__lpq_fail_conn(c, err, c->keep);
  return qs__lpq_leave(c, rc);
}

static int xInTransaction(qs_dconn *c) {
  PGTransactionStatusType t = PQtransactionStatus(c->pg);
  return t == PQTRANS_INTRANS || t == PQTRANS_INERROR || t == PQTRANS_ACTIVE;
}

static const char *xNotice(qs_dconn *c, int i) { return qs__pg_notices_get(&c->notices, i); }
static void xClearNotices(qs_dconn *c) { qs__pg_notices_clear(&c->notices); }

/* ---- statement timeout and cancel -------------------------------------- */

/* The core keeps the deadline (bClientTimeout) and calls xCancel. */
static int xSetTimeout(qs_dconn *c, int ms, qs_error *err) {
  (void)err;
  c->timeout_ms = ms;
  return QS_OK;
}

static void cancel_job(void *arg) {
  PGcancel *k = arg;
  char buf[256];
  (void)PQcancel(k, buf, (int)sizeof buf);   /* nobody is left to tell of a failure */
  PQfreeCancel(k);
}

/* Not detached: PQcancel with the handle made at connect (thread-safe),
** blocking for the cancel connection's round trip. Detached: a thread of
** its own with a handle of its own sends it, so that the caller (a
** scheduler's thread) never waits for it; the module's unload waits for
** such threads (detached.h). */
static int xCancel(qs_dconn *c, int detached, qs_error *err) {
  char buf[256];
  buf[0] = '\0';
  if (detached) {
    PGcancel *k = c->pg ? PQgetCancel(c->pg) : NULL;
    int rc;
    if (k == NULL)
      return qs_error_set(err, QS_OPERATIONAL, "could not send the cancel request: no cancel handle");
    rc = qs__detached_start(cancel_job, k);
    if (rc != 0) {
      PQfreeCancel(k);
      if (rc == ENOMEM)
        return qs_error_set(err, QS_NOMEM, "could not send the cancel request: out of memory");
      return qs_error_set(err, QS_OPERATIONAL, "could not send the cancel request: no thread (%s)",
                          strerror(rc));
    }
    return QS_OK;
  }
  if (c->cancel == NULL || !PQcancel(c->cancel, buf, (int)sizeof buf))
    return qs_error_set(err, QS_OPERATIONAL, "could not send the cancel request: %s",
                        buf[0] ? buf : "no cancel handle");
  return QS_OK;
}

const qs_driver qs_libpq_driver = {
  QS_DRIVER_VERSION, "postgresql", 0, 1,
  xOpen, xConnect, xClose, xWait, xReady, qs__lpq_xPrepare, xParamCount, qs__lpq_xBind, xStep,
  xColumnCount, xColumnName, xColumn, xReadonly, xReset, qs__lpq_xFinalize, xChanges,
  xLastInsertId, xExec, xInTransaction, qs__lpq_xExecMany, xNotice, xClearNotices,
  xSetTimeout, xCancel, NULL, NULL, NULL, xStream,
};
