/*
** wire_my.c: the MySQL/MariaDB wire driver ("mywire"), built into the core:
** the qs_driver table over the protocol codec (c/protocol/mywire.h) and the
** byte pipe (wire_io.h), with no client library. It behaves as
** c/driver/mariadb.c does as seen from above (the same values per column
** type, the same errors through qs_mysql_error_set, utf8mb4 and
** CLIENT_FOUND_ROWS, no COM_STMT_RESET, closes queued to the next
** operation, the server's statement time limit, KILL QUERY over a second
** connection), and it runs over its own non-blocking socket or over a
** transport the caller owns (transport=external: an OpenResty cosocket).
**
** Every operation is a state machine: c->op says which, c->phase where it
** is. It queues what it sends in the pipe's output, flushes it, then reads
** packets until its reply is whole; whenever the pipe must move bytes first
** it returns QS_WAIT and is called again (quicksilver.h: drivers as steps).
** A statement's rows are all read in its first step (later steps never
** wait), kept as the packets' bytes and decoded when asked for; a streamed
** execution (xStream: yield_per) keeps a batch of STREAM_ROWS / STREAM_BYTES
** at a time, its operation going on between batches, and one left mid-way
** has the rest of its result read and dropped by the next operation.
**
** Options and connecting are in wire_my_connect.c; what both files share
** in wire_my_conn.h.
*/
#include "wire_my_conn.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static const char *const op_names[] = {
  "nothing", "a connect", "a prepare", "a statement's execution", "an exec",
  "an executemany", "a timeout change", "a broken operation"
};

int qs__myw_nomem(qs_error *err) { return qs_error_set(err, QS_NOMEM, "out of memory"); }

/* ---- errors ------------------------------------------------------------------ */

/* An error of the pipe (the peer closed, a send failed) as the client error
** libmariadb reports for it: the connection is gone. */
static int io_fail(qs_dconn *c, int rc, unsigned code, qs_error *err) {
  char msg[384];
  if (rc != QS_OPERATIONAL) return rc;
  snprintf(msg, sizeof msg, "%s", err->message ? err->message : "connection lost");
  c->op = OP_BROKEN;
  return qs_mysql_error_set(err, code, "HY000", msg);
}

/* A reply that does not follow the protocol: nothing more can be trusted. */
int qs__myw_protocol_fail(qs_dconn *c, int rc, qs_error *err) {
  c->op = OP_BROKEN;
  err->invalidated = 1;
  if (rc == QS_NOMEM) return rc;
  err->driver_code = CR_MALFORMED_PACKET;
  memcpy(err->sqlstate, "HY000", 6);
  if (err->code != QS_INTERFACE) {
    char msg[384];
    snprintf(msg, sizeof msg, "%s", err->message ? err->message : "malformed packet");
    return qs_error_set(err, QS_INTERFACE, "%s", msg);
  }
  return QS_INTERFACE;
}

/* ---- the pipe ---------------------------------------------------------------- */

int qs__myw_flush(qs_dconn *c, qs_error *err) {
  int rc = qs_wire_io_flush(&c->io, err);
  if (rc == QS_OK || rc == QS_WAIT) return rc;
  return io_fail(c, rc, CR_SERVER_GONE_ERROR, err);
}

/* The next packet of the reply: QS_OK with *pl (valid until the next call),
** QS_WAIT, or an error. */
int qs__myw_next_packet(qs_dconn *c, qs_my_span *pl, qs_error *err) {
  if (c->held) {
    qs_wire_io_consume(&c->io, c->held);
    c->held = 0;
  }
  for (;;) {
    size_t n, used, need;
    const char *p = qs_wire_io_data(&c->io, &n);
    int rc = qs_my_next(p, n, &c->seq, &c->join, pl, &used, &need, err);
    if (rc == QS_OK) {
      c->held = used;
      return QS_OK;
    }
    if (rc != QS_WAIT) return qs__myw_protocol_fail(c, rc, err);
    rc = qs_wire_io_fill(&c->io, err);
    if (rc == QS_WAIT) return rc;
    if (rc != QS_OK) return io_fail(c, rc, CR_SERVER_LOST, err);
  }
}

/* A server ERR packet as the driver's error (the command is over; the
** connection stays usable unless the error says it is gone). */
int qs__myw_server_error(qs_dconn *c, const qs_my_span *pl, qs_error *err) {
  qs_my_err e;
  int rc = qs_my_parse_err(pl, &e, err);
  if (rc != QS_OK) return qs__myw_protocol_fail(c, rc, err);
  rc = qs_my_err_to_error(pl, err);
  if (err->invalidated) c->op = OP_BROKEN;   /* the server ends the session (KILL, shutdown) */
  return rc;
}

/* ---- operations ------------------------------------------------------------ */

int qs__myw_enter(qs_dconn *c, op_kind kind, qs_dstmt *s, qs_error *err) {
  if (c->op == OP_BROKEN) {
    qs_error_set(err, QS_OPERATIONAL,
                 "mywire: the connection was left in the middle of an operation and cannot be used");
    err->invalidated = 1;
    return QS_OPERATIONAL;
  }
  if (c->op != OP_NONE)
    return qs_error_set(err, QS_MISUSE,
                        "mywire: %s cannot start while %s is in progress on this connection "
                        "(a connection runs one operation at a time)",
                        op_names[kind], op_names[c->op]);
  if (kind != OP_CONNECT && !c->connected)
    return qs_error_set(err, QS_MISUSE, "mywire: the connection is not connected");
  c->op = kind;
  c->op_stmt = s;
  c->phase = XP_START;
  c->sub = 0;
  c->renewed = 0;
  c->timed_out = 0;
  return QS_OK;
}

int qs__myw_leave(qs_dconn *c, int rc) {
  if (c->op != OP_BROKEN) c->op = OP_NONE;
  c->op_stmt = NULL;
  free(c->op_sql);
  c->op_sql = NULL;
  return rc;
}

/* The wait ran out of time: the operation cannot go on (its reply may come
** later and be taken for another's), so the connection is given up. */
int qs__myw_timed_out(qs_dconn *c, qs_error *err) {
  char msg[256];
  c->op = OP_BROKEN;
  if (c->connected) {
    snprintf(msg, sizeof msg, "Lost connection to server during query (read/write timeout "
             "at %s)", c->io.peer);
    return qs_mysql_error_set(err, CR_SERVER_LOST, "HY000", msg);
  }
  snprintf(msg, sizeof msg, "Can't connect to server on '%s' (connect_timeout: %d s)",
           c->io.peer, c->connect_timeout);
  return qs_mysql_error_set(err, CR_CONN_HOST_ERROR, "HY000", msg);
}

/* The COM_STMT_CLOSEs of finalized statements, queued before the next
** command (they have no reply). */
static int queue_closes(qs_dconn *c, qs_error *err) {
  while (c->ndead > 0) {
    uint8_t seq;
    int rc = qs_my_com_stmt_close(&c->io.out, &seq, c->dead[c->ndead - 1], err);
    if (rc != QS_OK) return rc;
    c->ndead--;
  }
  return QS_OK;
}

static int bury(qs_dconn *c, uint32_t id) {
  if (c->ndead == c->cap_dead) {
    int cap = c->cap_dead ? c->cap_dead * 2 : 8;
    uint32_t *d = realloc(c->dead, (size_t)cap * sizeof *d);
    if (d == NULL) return 0;
    c->dead = d;
    c->cap_dead = cap;
  }
  c->dead[c->ndead++] = id;
  return 1;
}

/* ---- statements ------------------------------------------------------------------ */

static void free_result(qs_dstmt *s) {
  qs_buf_reset(&s->rows);
  s->nrows = 0;
  s->cur = 0;
  s->executed = 0;
}

static void free_columns(qs_dstmt *s) {
  int i;
  if (s->names)
    for (i = 0; i < s->ncols; i++) free(s->names[i]);
  free(s->names);
  free(s->cols);
  free(s->cells);
  free(s->scratch);
  s->names = NULL;
  s->cols = NULL;
  s->cells = NULL;
  s->scratch = NULL;
  s->ncols = 0;
}

static void free_stmt(qs_dstmt *s) {
  qs_error_clear(&s->pend);
  free_columns(s);
  qs_buf_free(&s->rows);
  free(s->roff);
  free(s->params);
  free(s->sql);
  free(s);
}

/* Room for n result columns (their definitions follow). */
static int alloc_columns(qs_dstmt *s, unsigned n) {
  free_columns(s);
  s->names = calloc((size_t)n + 1, sizeof *s->names);
  s->cols = calloc((size_t)n + 1, sizeof *s->cols);
  s->cells = calloc((size_t)n + 1, sizeof *s->cells);
  s->scratch = malloc(((size_t)n + 1) * QS_MY_SCRATCH);
  if (!s->names || !s->cols || !s->cells || !s->scratch) return 0;
  s->ncols = (int)n;
  return 1;
}

static int set_column(qs_dstmt *s, unsigned i, const qs_my_column *col) {
  char *name = malloc(col->name.n + 1);
  if (name == NULL) return 0;
  memcpy(name, col->name.p, col->name.n);
  name[col->name.n] = '\0';
  free(s->names[i]);
  s->names[i] = name;
  s->cols[i] = *col;
  memset(&s->cols[i].schema, 0, sizeof s->cols[i].schema);
  memset(&s->cols[i].table, 0, sizeof s->cols[i].table);
  memset(&s->cols[i].org_table, 0, sizeof s->cols[i].org_table);
  memset(&s->cols[i].name, 0, sizeof s->cols[i].name);
  memset(&s->cols[i].org_name, 0, sizeof s->cols[i].org_name);
  return 1;
}

static int keep_row(qs_dstmt *s, const qs_my_span *pl) {
  if (s->nrows == s->caprows) {
    size_t cap = s->caprows ? s->caprows * 2 : 16;
    size_t *r = realloc(s->roff, cap * 2 * sizeof *r);
    if (r == NULL) return 0;
    s->roff = r;
    s->caprows = cap;
  }
  s->roff[2 * s->nrows] = s->rows.len;
  s->roff[2 * s->nrows + 1] = pl->n;
  if (qs_buf_append(&s->rows, pl->p, pl->n) != QS_OK) return 0;
  s->nrows++;
  return 1;
}

/* The end of a column list: a classic EOF unless DEPRECATE_EOF was agreed. */
static int eof_expected(qs_dconn *c) { return !(c->caps & QS_MY_CLIENT_DEPRECATE_EOF); }

/* A COM_STMT_PREPARE reply, packet by packet (c->sub is where it is). */
static int prepare_reply(qs_dconn *c, qs_dstmt *s, qs_error *err) {
  qs_my_span pl;
  int rc;
  for (;;) {
    if (c->sub == PP_DONE) return QS_OK;
    rc = qs__myw_next_packet(c, &pl, err);
    if (rc != QS_OK) return rc;
    switch (c->sub) {
      case PP_OK: {
        qs_my_prepare_ok ok;
        if (qs_my_is_err(&pl)) return qs__myw_server_error(c, &pl, err);
        rc = qs_my_parse_prepare_ok(&pl, &ok, err);
        if (rc != QS_OK) return qs__myw_protocol_fail(c, rc, err);
        s->id = ok.stmt_id;
        s->has_id = 1;
        if (ok.ncols > 4096 || ok.nparams > 65535)
          return qs__myw_protocol_fail(c, qs_error_set(err, QS_INTERFACE, "mywire: prepare reply with %u "
                                               "columns", ok.ncols), err);
        if (s->params == NULL || s->nparams != (int)ok.nparams) {
          free(s->params);
          s->params = calloc((size_t)ok.nparams + 1, sizeof *s->params);
          if (s->params == NULL) return qs__myw_nomem(err);
        }
        s->nparams = (int)ok.nparams;
        if (!alloc_columns(s, ok.ncols)) return qs__myw_nomem(err);
        c->rr.got = 0;
        c->rr.ncols = ok.ncols;
        c->sub = ok.nparams ? PP_PARAMS : ok.ncols ? PP_COLS : PP_DONE;
        break;
      }
      case PP_PARAMS:
        /* parameter definitions carry nothing the driver needs: checked, dropped */
        {
          qs_my_column col;
          rc = qs_my_parse_column(&pl, &col, err);
          if (rc != QS_OK) return qs__myw_protocol_fail(c, rc, err);
        }
        if (++c->rr.got == (unsigned)s->nparams) {
          c->rr.got = 0;
          c->sub = eof_expected(c) ? PP_PARAMS_EOF : s->ncols ? PP_COLS : PP_DONE;
        }
        break;
      case PP_PARAMS_EOF:
      case PP_COLS_EOF: {
        qs_my_ok end;
        rc = qs_my_parse_end(&pl, &end, err);
        if (rc != QS_OK) return qs__myw_protocol_fail(c, rc, err);
        c->sub = c->sub == PP_PARAMS_EOF && s->ncols ? PP_COLS : PP_DONE;
        break;
      }
      case PP_COLS: {
        qs_my_column col;
        rc = qs_my_parse_column(&pl, &col, err);
        if (rc != QS_OK) return qs__myw_protocol_fail(c, rc, err);
        if (!set_column(s, c->rr.got, &col)) return qs__myw_nomem(err);
        if (++c->rr.got == (unsigned)s->ncols) c->sub = eof_expected(c) ? PP_COLS_EOF : PP_DONE;
        break;
      }
      default:
        return qs_error_set(err, QS_INTERNAL, "mywire: prepare reply in an unknown phase %d", c->sub);
    }
  }
}

/* One result of the command in progress (c->rr): an OK or a result set,
** its rows kept in s (binary protocol) or dropped (s NULL: text protocol).
** QS_OK when it ended; *more then says whether another result follows. */
static int read_result(qs_dconn *c, qs_dstmt *s, int *more, qs_error *err) {
  qs_my_span pl;
  int rc;
  *more = 0;
  for (;;) {
    rc = qs__myw_next_packet(c, &pl, err);
    if (rc != QS_OK) return rc;
    switch (c->rr.phase) {
      case RP_HEAD: {
        unsigned n;
        if (qs_my_is_err(&pl)) return qs__myw_server_error(c, &pl, err);
        if (qs_my_is_ok(&pl)) {
          qs_my_ok ok;
          rc = qs_my_parse_ok(&pl, &ok, err);
          if (rc != QS_OK) return qs__myw_protocol_fail(c, rc, err);
          c->status = ok.status;
          c->changes = (int64_t)ok.affected_rows;
          c->last_id = (int64_t)ok.last_insert_id;
          *more = (ok.status & QS_MY_STATUS_MORE_RESULTS) != 0;
          return QS_OK;
        }
        rc = qs_my_parse_column_count(&pl, &n, err);
        if (rc == QS_NOTSUPPORTED) {
          c->op = OP_BROKEN;   /* the server waits for a file: nothing else can follow */
          err->invalidated = 1;
          return rc;
        }
        if (rc != QS_OK) return qs__myw_protocol_fail(c, rc, err);
        /* as libmariadb: a statement with rows reports no count of its own */
        c->changes = -1;
        c->last_id = 0;
        if (s && !alloc_columns(s, n)) return qs__myw_nomem(err);
        if (s == NULL && n > c->cap_cells) {
          qs_my_cell *cells = realloc(c->cells, n * sizeof *cells);
          if (cells == NULL) return qs__myw_nomem(err);
          c->cells = cells;
          c->cap_cells = n;
        }
        c->rr.ncols = n;
        c->rr.got = 0;
        c->rr.phase = RP_COLS;
        break;
      }
      case RP_COLS: {
        qs_my_column col;
        rc = qs_my_parse_column(&pl, &col, err);
        if (rc != QS_OK) return qs__myw_protocol_fail(c, rc, err);
        if (s && !set_column(s, c->rr.got, &col)) return qs__myw_nomem(err);
        if (++c->rr.got == c->rr.ncols) c->rr.phase = eof_expected(c) ? RP_COLS_EOF : RP_ROWS;
        break;
      }
      case RP_COLS_EOF: {
        qs_my_ok end;
        rc = qs_my_parse_end(&pl, &end, err);
        if (rc != QS_OK) return qs__myw_protocol_fail(c, rc, err);
        c->rr.phase = RP_ROWS;
        break;
      }
      case RP_ROWS:
        if (qs_my_is_err(&pl)) return qs__myw_server_error(c, &pl, err);
        if (qs_my_is_eof(&pl)) {
          qs_my_ok end;
          rc = qs_my_parse_end(&pl, &end, err);
          if (rc != QS_OK) return qs__myw_protocol_fail(c, rc, err);
          c->status = end.status;
          *more = (end.status & QS_MY_STATUS_MORE_RESULTS) != 0;
          return QS_OK;
        }
        if (c->rr.skip_rows) {
          /* dropped: a binary row cannot be checked without its columns' types */
        } else if (s) {
          rc = qs_my_parse_binary_row(&pl, s->ncols, s->cols, s->cells, err);
          if (rc != QS_OK) return qs__myw_protocol_fail(c, rc, err);
          if (!keep_row(s, &pl)) return qs__myw_nomem(err);
          if (s->live && (s->nrows >= STREAM_ROWS || s->rows.len >= STREAM_BYTES))
            return QS_ROW;   /* a streamed batch: handed up, the result goes on */
        } else {
          rc = qs_my_parse_text_row(&pl, (int)c->rr.ncols, c->cells, err);
          if (rc != QS_OK) return qs__myw_protocol_fail(c, rc, err);
        }
        break;
      default:
        return qs_error_set(err, QS_INTERNAL, "mywire: result in an unknown phase %d", c->rr.phase);
    }
  }
}

/* Queues s's COM_STMT_PREPARE (after the closes). */
static int send_prepare(qs_dconn *c, qs_dstmt *s, qs_error *err) {
  int rc = queue_closes(c, err);
  if (rc != QS_OK) return rc;
  rc = qs_my_com_stmt_prepare(&c->io.out, &c->seq, s->sql, s->sqln, err);
  c->sub = PP_OK;
  return rc;
}

/* Drops s's server handle: closed with the next command, prepared anew
** before s runs again. */
static int discard_handle(qs_dstmt *s) {
  if (!s->has_id) return 1;
  s->has_id = 0;
  return bury(s->c, s->id);
}

/* The rest of a streamed result left mid-way, read and dropped before the
** next command goes out (its packets' sequence is the old command's): QS_OK,
** QS_WAIT, or the connection's failure. A server error ending that result is
** nobody's. */
static int drain_rest(qs_dconn *c, qs_error *err) {
  int rc, more;
  while (c->drain) {
    c->rr.skip_rows = 1;
    rc = read_result(c, NULL, &more, err);
    if (rc == QS_WAIT) return rc;
    if (rc != QS_OK) {
      c->drain = 0;
      if (c->op == OP_BROKEN || err->invalidated) return rc;
      qs_error_clear(err);
      return QS_OK;
    }
    if (!more) c->drain = 0;
    else c->rr.phase = RP_HEAD;
  }
  return QS_OK;
}

/*
** A statement's execution as steps: the queued closes, a prepare when the
** server has no handle for it, the execute, its result read and kept. A
** server that says the statement must be prepared again (1615: a table
** changed under it) gets it prepared anew and executed once more; extra
** results (a procedure's) are read and dropped.
*/
static int run_stmt(qs_dstmt *s, qs_error *err) {
  qs_dconn *c = s->c;
  int rc, more;
  for (;;) {
    if (c->timed_out) return qs__myw_timed_out(c, err);
    switch (c->phase) {
      case XP_START:
        if (c->drain && (rc = drain_rest(c, err)) != QS_OK) return rc;
        free_result(s);
        if (!s->has_id) {
          rc = send_prepare(c, s, err);
          if (rc != QS_OK) return rc;
          c->phase = XP_SEND;
          c->sub = PP_OK;
          c->rr.phase = -1;   /* a prepare first */
        } else {
          rc = queue_closes(c, err);
          if (rc == QS_OK) rc = qs_my_com_stmt_execute(&c->io.out, &c->seq, s->id, s->nparams, s->params, err);
          if (rc != QS_OK) return rc;
          c->phase = XP_SEND;
          c->rr.phase = RP_HEAD;
          c->rr.skip_rows = 0;
          s->live = s->stream;
        }
        break;
      case XP_SEND:
        rc = qs__myw_flush(c, err);
        if (rc != QS_OK) return rc;
        c->phase = c->rr.phase == -1 ? XP_PREPARE : XP_EXECUTE;
        break;
      case XP_PREPARE:
        rc = prepare_reply(c, s, err);
        if (rc != QS_OK) return rc;
        c->phase = XP_START;   /* has an id now: on to the execute */
        break;
      case XP_EXECUTE:
        rc = read_result(c, s, &more, err);
        if (rc == QS_WAIT || rc == QS_ROW) return rc;
        if (rc != QS_OK) {
          if (err->driver_code == ER_NEED_REPREPARE && !c->renewed && c->op != OP_BROKEN) {
            c->renewed = 1;
            if (!discard_handle(s)) return qs__myw_nomem(err);
            c->phase = XP_START;
            break;
          }
          return rc;
        }
        s->executed = 1;
        if (!more) return QS_OK;
        c->rr.phase = RP_HEAD;
        c->rr.skip_rows = 1;
        c->phase = XP_DRAIN;
        break;
      case XP_DRAIN: {
        int64_t changes = c->changes, last = c->last_id;
        rc = read_result(c, NULL, &more, err);
        if (rc != QS_OK) return rc;
        c->rr.skip_rows = 1;
        c->changes = changes;   /* the statement's own counts, not the trailing status's */
        c->last_id = last;
        if (!more) return QS_OK;
        c->rr.phase = RP_HEAD;
        break;
      }
      default:
        return qs_error_set(err, QS_INTERNAL, "mywire: statement in an unknown phase %d", c->phase);
    }
  }
}

static int xPrepare(qs_dconn *c, const char *sql, size_t n, qs_dstmt **out, qs_error *err) {
  qs_dstmt *s;
  int rc;
  *out = NULL;
  if (c->op != OP_PREPARE) {
    rc = qs__myw_enter(c, OP_PREPARE, NULL, err);
    if (rc != QS_OK) return rc;
    /* the text is read here, at the first call, and kept */
    s = calloc(1, sizeof *s);
    if (s == NULL || (s->sql = malloc(n + 1)) == NULL) {
      free(s);
      return qs__myw_leave(c, qs__myw_nomem(err));
    }
    memcpy(s->sql, sql, n);
    s->sql[n] = '\0';
    s->sqln = n;
    s->c = c;
    qs_buf_init(&s->rows);
    c->op_stmt = s;
  }
  s = c->op_stmt;
  if (c->phase == XP_START) {
    rc = c->drain ? drain_rest(c, err) : QS_OK;
    if (rc == QS_WAIT) return rc;
    if (rc == QS_OK) rc = send_prepare(c, s, err);
    if (rc != QS_OK) {
      free_stmt(s);
      return qs__myw_leave(c, rc);
    }
    c->phase = XP_SEND;
  }
  for (;;) {
    if (c->timed_out) {
      rc = qs__myw_timed_out(c, err);
      break;
    }
    if (c->phase == XP_SEND) {
      rc = qs__myw_flush(c, err);
      if (rc == QS_WAIT) return rc;
      if (rc != QS_OK) break;
      c->phase = XP_PREPARE;
    }
    rc = prepare_reply(c, s, err);
    if (rc == QS_WAIT) return rc;
    break;
  }
  c->op_stmt = NULL;
  if (rc != QS_OK) {
    if (s->has_id && c->op != OP_BROKEN) (void)bury(c, s->id);
    free_stmt(s);
    return qs__myw_leave(c, rc);
  }
  *out = s;
  return qs__myw_leave(c, QS_OK);
}

static int xParamCount(qs_dstmt *s) { return s->nparams; }

/* The values stay the caller's until the statement's operation ends. */
static int xBind(qs_dstmt *s, int n, const qs_value *vals, qs_error *err) {
  int i;
  (void)err;
  for (i = 0; i < s->nparams; i++) {
    if (i < n) s->params[i] = vals[i];
    else s->params[i].type = QS_TNULL;
  }
  return QS_OK;
}

static int fetch(qs_dstmt *s, qs_error *err) {
  qs_my_span pl;
  int rc;
  if (s->ncols == 0 || s->cur >= s->nrows) return QS_DONE;
  pl.p = s->rows.p + s->roff[2 * s->cur];
  pl.n = s->roff[2 * s->cur + 1];
  s->cur++;
  rc = qs_my_parse_binary_row(&pl, s->ncols, s->cols, s->cells, err);   /* checked when read */
  return rc == QS_OK ? QS_ROW : rc;
}

/* A streamed batch's rows are handed out; the next batch is read over them. */
static void batch_reset(qs_dstmt *s) {
  qs_buf_reset(&s->rows);
  s->nrows = 0;
  s->cur = 0;
}

/* The next row of a streamed execution: from the batch in hand, else the
** next batch read (QS_WAIT while it comes), else QS_DONE or the failure the
** server sent after the rows before it. The operation goes on meanwhile. */
static int stream_step(qs_dstmt *s, qs_error *err) {
  qs_dconn *c = s->c;
  int rc;
  for (;;) {
    if (s->cur < s->nrows) return fetch(s, err);
    if (!s->live) {
      if (s->pend.code != QS_OK) {
        rc = s->pend.code;
        qs_error_move(err, &s->pend);
        return rc;
      }
      return QS_DONE;
    }
    batch_reset(s);
    rc = run_stmt(s, err);
    if (rc == QS_WAIT) {
      if (s->nrows > 0) continue;   /* rows that came before the wait go up first */
      return rc;
    }
    if (rc == QS_ROW) continue;
    s->live = 0;
    qs__myw_leave(c, rc);
    if (rc != QS_OK) {
      if (s->nrows == 0) {
        free_result(s);
        return rc;
      }
      qs_error_move(&s->pend, err);   /* after this batch's rows */
    }
  }
}

/* A streamed execution left mid-way (xReset, xFinalize): its operation
** ends; the next one reads the rest of the result first (drain_rest). */
static void stream_abandon(qs_dstmt *s) {
  qs_dconn *c = s->c;
  qs_error_clear(&s->pend);
  if (!s->live) return;
  s->live = 0;
  if (c->op == OP_STEP && c->op_stmt == s) {
    c->drain = 1;
    qs__myw_leave(c, QS_OK);
  }
}

static int xStream(qs_dstmt *s, int on) {
  s->stream = on != 0;
  return 1;
}

static int xStep(qs_dstmt *s, qs_error *err) {
  qs_dconn *c = s->c;
  int rc;
  if (s->executed && (s->live || s->pend.code != QS_OK)) return stream_step(s, err);
  if (c->op != OP_STEP || c->op_stmt != s) {
    if (s->executed) return fetch(s, err);   /* later steps: rows held here */
    rc = qs__myw_enter(c, OP_STEP, s, err);
    if (rc != QS_OK) return rc;
  }
  rc = run_stmt(s, err);
  if (rc == QS_WAIT) return rc;
  if (rc == QS_ROW) {   /* a streamed result's first batch: the operation goes on */
    s->executed = 1;
    return stream_step(s, err);
  }
  s->live = 0;
  qs__myw_leave(c, rc);
  if (rc != QS_OK) {
    free_result(s);
    return rc;
  }
  return fetch(s, err);
}

static int xColumnCount(qs_dstmt *s) { return s->ncols; }
static const char *xColumnName(qs_dstmt *s, int i) {
  return i >= 0 && i < s->ncols ? s->names[i] : NULL;
}

static void xColumn(qs_dstmt *s, int i, qs_value *out) {
  out->type = QS_TNULL;
  if (i < 0 || i >= s->ncols || !s->executed || s->cur == 0) return;
  qs_my_binary_value(&s->cols[i], &s->cells[i], out, s->scratch + (size_t)i * QS_MY_SCRATCH);
}

static int xReadonly(qs_dstmt *s) { (void)s; return 0; }

/* No COM_STMT_RESET (a round trip): the buffered result is all an
** execution leaves, and the next execute starts afresh. */
static void xReset(qs_dstmt *s) {
  stream_abandon(s);
  s->stream = 0;
  if (s->c->op_stmt == s) return;   /* its operation is in progress: nothing to undo yet */
  free_result(s);
}

/* Never waits: the server's handle is closed with the next operation.
** Finalized in the middle of its own operation, the connection is left
** unusable. */
static void xFinalize(qs_dstmt *s) {
  qs_dconn *c = s->c;
  stream_abandon(s);
  if (c->op_stmt == s) {
    c->op = OP_BROKEN;
    c->op_stmt = NULL;
  }
  if (s->has_id) (void)bury(c, s->id);   /* out of memory: the server frees it at disconnect */
  free_stmt(s);
}

static int64_t xChanges(qs_dconn *c) { return c->changes; }
static int64_t xLastInsertId(qs_dconn *c) { return c->last_id; }

/* c->op_sql by COM_QUERY, each of its results read and dropped. */
static int exec_steps(qs_dconn *c, qs_error *err) {
  int rc, more;
  for (;;) {
    if (c->timed_out) return qs__myw_timed_out(c, err);
    switch (c->phase) {
      case XP_START:
        if (c->drain && (rc = drain_rest(c, err)) != QS_OK) return rc;
        rc = queue_closes(c, err);
        if (rc == QS_OK) rc = qs_my_com_query(&c->io.out, &c->seq, c->op_sql, strlen(c->op_sql), err);
        if (rc != QS_OK) return rc;
        c->phase = XP_SEND;
        break;
      case XP_SEND:
        rc = qs__myw_flush(c, err);
        if (rc != QS_OK) return rc;
        c->rr.phase = RP_HEAD;
        c->rr.skip_rows = 0;
        c->phase = XP_QUERY;
        break;
      case XP_QUERY:
        rc = read_result(c, NULL, &more, err);
        if (rc != QS_OK) return rc;
        if (!more) return QS_OK;
        c->rr.phase = RP_HEAD;
        break;
      default:
        return qs_error_set(err, QS_INTERNAL, "mywire: exec in an unknown phase %d", c->phase);
    }
  }
}

static int enter_exec(qs_dconn *c, op_kind kind, const char *sql, qs_error *err) {
  int rc = qs__myw_enter(c, kind, NULL, err);
  if (rc != QS_OK) return rc;
  c->op_sql = qs__myw_dup(sql);
  if (c->op_sql == NULL) return qs__myw_leave(c, qs__myw_nomem(err));
  return QS_OK;
}

static int xExec(qs_dconn *c, const char *sql, qs_error *err) {
  int rc;
  if (c->op != OP_EXEC) {
    rc = enter_exec(c, OP_EXEC, sql, err);
    if (rc != QS_OK) return rc;
  }
  rc = exec_steps(c, err);
  return rc == QS_WAIT ? rc : qs__myw_leave(c, rc);
}

static int xInTransaction(qs_dconn *c) { return (c->status & QS_MY_STATUS_IN_TRANS) != 0; }

/* Each parameter set in turn, as one operation: bound, executed, its rows
** (RETURNING) dropped, its changes counted; the first failure ends it. */
static int xExecMany(qs_dstmt *s, int nsets, int nparams, const qs_value *vals,
                     int64_t *changes, qs_error *err) {
  qs_dconn *c = s->c;
  int rc;
  if (c->op != OP_EXECMANY || c->op_stmt != s) {
    *changes = 0;
    if (nsets <= 0) return QS_OK;
    rc = qs__myw_enter(c, OP_EXECMANY, s, err);
    if (rc != QS_OK) return rc;
    c->op_i = 0;
    c->op_nsets = nsets;
    c->op_nparams = nparams;
    c->op_vals = vals;
    c->op_changes = 0;
    xBind(s, nparams, vals, err);
  }
  for (;;) {
    rc = run_stmt(s, err);
    if (rc == QS_WAIT) return rc;
    if (rc != QS_OK) {
      free_result(s);
      return qs__myw_leave(c, rc);
    }
    c->op_changes += c->changes;
    free_result(s);
    if (++c->op_i == c->op_nsets) break;
    xBind(s, c->op_nparams, c->op_vals + (size_t)c->op_i * (size_t)c->op_nparams, err);
    c->phase = XP_START;
    c->renewed = 0;
  }
  *changes = c->changes = c->op_changes;
  return qs__myw_leave(c, QS_OK);
}

/* The server enforces the limit (my_common.h). */
static int xSetTimeout(qs_dconn *c, int ms, qs_error *err) {
  int rc;
  if (c->op != OP_TIMEOUT) {
    char sql[96];
    qs__my_timeout_sql(c->mariadb, ms, sql, sizeof sql);
    rc = enter_exec(c, OP_TIMEOUT, sql, err);
    if (rc != QS_OK) return rc;
  }
  rc = exec_steps(c, err);
  return rc == QS_WAIT ? rc : qs__myw_leave(c, rc);
}

/* Closes without waiting: a COM_QUIT is offered to the socket once when
** the connection is idle (the server then ends the session at once rather
** than noticing the closed socket); an external transport is the caller's
** to close. */
static void xClose(qs_dconn *c) {
  if (c->connected && c->op == OP_NONE && !c->external && c->io.fd >= 0) {
    qs_error ignored;
    uint8_t seq;
    memset(&ignored, 0, sizeof ignored);
    if (qs_my_com_quit(&c->io.out, &seq, &ignored) == QS_OK) (void)qs_wire_io_flush(&c->io, &ignored);
    qs_error_clear(&ignored);
  }
  if (c->op == OP_PREPARE && c->op_stmt) free_stmt(c->op_stmt);   /* a statement half made */
  qs_wire_io_close(&c->io);
  qs_buf_free(&c->join);
  free(c->op_sql);
  free(c->dead);
  free(c->cells);
  qs__opts_free(&c->opts);
  free(c);
}

/* ------------------------------------------------------------------------
** Cancel: KILL QUERY <id> over a second connection of this driver (its own
** socket, whatever this one's transport), driven here with poll(). It reads
** only the kept options and the connection id, which never change once
** connected, so it may run on any thread while another one uses c.
*/
static int drive(qs_dconn *k, int (*step)(qs_dconn *, qs_error *), qs_error *err) {
  for (;;) {
    int rc = step(k, err), fd, tms, events;
    struct pollfd pfd;
    if (rc != QS_WAIT) return rc;
    events = qs__myw_xWait(k, &fd, &tms);
    if (fd < 0 || events == 0) return qs_error_set(err, QS_INTERNAL, "mywire: cancel waits for nothing");
    pfd.fd = fd;
    pfd.events = (short)(((events & QS_WAIT_READ) ? POLLIN : 0) | ((events & QS_WAIT_WRITE) ? POLLOUT : 0));
    pfd.revents = 0;
    rc = poll(&pfd, 1, tms);
    if (rc == 0) qs__myw_xReady(k, QS_WAIT_TIMEOUT);
    else qs__myw_xReady(k, events);
  }
}

static int kill_query(const qs_opts *o, unsigned long id, qs_error *err) {
  const char **keys, **vals;
  qs_dconn *k = NULL;
  char sql[64];
  int i, n = 0, rc;
  keys = calloc((size_t)o->n + 2, sizeof *keys);
  vals = calloc((size_t)o->n + 2, sizeof *vals);
  if (keys == NULL || vals == NULL) {
    free(keys);
    free(vals);
    return qs__myw_nomem(err);
  }
  for (i = 0; i < o->n; i++) {
    if (strcmp(o->keys[i], "transport") == 0 || strncmp(o->keys[i], "ssl", 3) == 0) continue;
    keys[n] = o->keys[i];
    vals[n] = o->vals[i];
    n++;
  }
  if (qs__opts_get(o, "connect_timeout") == NULL) {   /* a cancel must not hang on a dead server */
    keys[n] = "connect_timeout";
    vals[n] = "10";
    n++;
  }
  rc = qs__myw_xOpen(n, keys, vals, &k, err);
  free(keys);
  free(vals);
  if (rc == QS_OK) rc = drive(k, qs__myw_xConnect, err);
  if (rc == QS_OK) {
    snprintf(sql, sizeof sql, "KILL QUERY %lu", id);
    rc = enter_exec(k, OP_EXEC, sql, err);
    if (rc == QS_OK) rc = drive(k, exec_steps, err);
    qs__myw_leave(k, rc);
  }
  if (k) xClose(k);
  return rc;
}

static int xCancel(qs_dconn *c, int detached, qs_error *err) {
  if (!c->connected || c->conn_id == 0) return QS_OK;   /* nothing runs yet */
  if (!detached) return kill_query(&c->opts, c->conn_id, err);
  return qs__my_kill_detached(&c->opts, c->conn_id, kill_query, "mywire", err);
}

const qs_driver qs_wire_my_driver = {
  QS_DRIVER_VERSION, "mywire", 0, 0,
  qs__myw_xOpen, qs__myw_xConnect, xClose, qs__myw_xWait, qs__myw_xReady, xPrepare, xParamCount, xBind, xStep,
  xColumnCount, xColumnName, xColumn, xReadonly, xReset, xFinalize, xChanges,
  xLastInsertId, xExec, xInTransaction, xExecMany, NULL, NULL, xSetTimeout, xCancel,
  qs__myw_xOutput, qs__myw_xOutputDone, qs__myw_xInput, xStream,
};
