/*
** wire_pg.c: the PostgreSQL wire driver ("pgwire"): the qs_driver table
** over the sans-I/O codec (c/protocol/pgwire) and the byte pipe
** (wire_io.h), with no client library. Built into the core, so it serves
** where libpq cannot: an OpenResty cosocket moving the bytes
** (transport=external), and anywhere else through its own non-blocking
** socket (postgresql+wire:// URLs).
**
** It follows c/driver/libpq.c step for step, so that both give the same
** results: statements are server-side prepared under qs_<n> (Parse +
** Describe + Sync, one round trip), executed with Bind + Execute + Sync, rows
** buffered in text form (a streamed execution, xStream: in batches of
** STREAM_ROWS / STREAM_BYTES handed up as they come, the operation going on
** between them) and converted by c/driver/pg_text.c; a parameter
** the server cannot type is made text and the statement parsed again; a plan
** made stale by DDL is prepared again. xFinalize never talks to the server:
** a Close message is queued and goes, with its own Sync, in front of the
** connection's next operation (libpq.c's DEALLOCATE queue). executemany is
** pipelined: Bind/Execute per set, a Flush every few sets so the server's
** replies are read while sending, one Sync at the end. With
** prepared_statements=false (a transaction pooler: libpq.c) the statement
** is the unnamed one: Parse + Describe + Sync when made, then Parse + Bind
** + Describe (portal) + Execute + Sync per execution, Parse once per
** executemany; nothing is closed, nothing outlives a round trip.
**
** Every operation is a state machine kept in the connection (drivers as
** steps, quicksilver.h): the messages of one write are queued, flushed, and
** the replies read until the ReadyForQuery messages expected (c->nz) came.
**
** Connecting (options, hosts, startup, authentication) is in
** wire_pg_connect.c; what both files share in wire_pg_conn.h.
*/
#include "wire_pg_conn.h"
#include "wire_pg_cancel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* executemany: sets queued between two flushes (each ends in a Flush
** message so the server sends its replies, which are read meanwhile). */
#define PIPE_CHUNK 64
/* Close messages queued beyond which xFinalize forgets the name (the
** session ends the statement). */
#define MAX_CLOSE_BYTES (1 << 20)
/* A streamed result is handed up in batches of at most this many rows or
** bytes of values (the batch's memory is all a stream holds). */
#define STREAM_ROWS 256
#define STREAM_BYTES (64 * 1024)

char *qs__pgw_sdup(const char *s) {
  size_t n;
  char *p;
  if (s == NULL) return NULL;
  n = strlen(s);
  p = malloc(n + 1);
  if (p) memcpy(p, s, n + 1);
  return p;
}

char *qs__pgw_sdupn(const char *s, size_t n) {
  char *p = malloc(n + 1);
  if (p) {
    memcpy(p, s, n);
    p[n] = '\0';
  }
  return p;
}

/* ---- errors ---------------------------------------------------------------- */

/* libpq's default form of a server message: "ERROR:  text", then DETAIL,
** HINT and CONTEXT lines (the Lua-visible message of both drivers). */
static void format_notice(qs_buf *b, const qs_pg_notice *n) {
  qs_buf_printf(b, "%.*s:  %.*s", (int)n->severity.n, n->severity.p ? n->severity.p : "",
                (int)n->message.n, n->message.p ? n->message.p : "");
  if (n->detail.p) qs_buf_printf(b, "\nDETAIL:  %.*s", (int)n->detail.n, n->detail.p);
  if (n->hint.p) qs_buf_printf(b, "\nHINT:  %.*s", (int)n->hint.n, n->hint.p);
  if (n->where.p) qs_buf_printf(b, "\nCONTEXT:  %.*s", (int)n->where.n, n->where.p);
}

static void keep_error(qs_dconn *c, const qs_pg_notice *n) {
  qs_buf b;
  qs_buf_init(&b);
  format_notice(&b, n);
  qs_error_set(&c->kept, n->family, "%s", b.p ? b.p : "unknown PostgreSQL error");
  qs_buf_free(&b);
  c->kept.sqlstate[0] = '\0';
  if (n->sqlstate.n == 5) {
    memcpy(c->kept.sqlstate, n->sqlstate.p, 5);
    c->kept.sqlstate[5] = '\0';
  }
  free(c->kept.constraint);
  c->kept.constraint = n->constraint.p ? qs__pgw_sdupn(n->constraint.p, n->constraint.n) : NULL;
}

/* The kept server error becomes the operation's. One saying that one of
** our named statements is missing (or another's is there) means a pooler
** changed the server session under the connection: the clear error
** instead, and the connection given up (its statements cannot be trusted). */
int qs__pgw_fail_kept(qs_dconn *c, qs_error *err) {
  int code = c->kept.code;
  if (!c->unnamed && qs__pg_pooler_error(c->kept.sqlstate, c->kept.message, err)) {
    qs_error_clear(&c->kept);
    c->dead = 1;
    qs_wire_io_close(&c->io);
    return err->code;
  }
  qs_error_move(err, &c->kept);
  err->invalidated = c->dead ||
    qs__pg_error_disconnects(err->sqlstate, c->tsa == TSA_READ_WRITE || c->tsa == TSA_PRIMARY);
  if (c->dead) err->code = code = QS_OPERATIONAL;
  return code;
}

static void add_notice(qs_dconn *c, const qs_pg_notice *n) {
  qs_buf b;
  qs_buf_init(&b);
  format_notice(&b, n);
  qs_buf_putc(&b, '\n');   /* as libpq's notice text */
  if (b.failed || b.p == NULL) {
    qs_buf_free(&b);
    return;
  }
  qs__pg_notices_add(&c->notices, b.p);   /* the buffer's bytes are theirs now */
}

/* ---- the operation in progress ------------------------------------------ */

static int enter(qs_dconn *c, int op, qs_dstmt *s, qs_error *err) {
  if (c->op == OP_NONE) {
    if (c->dead) {
      qs_error_set(err, QS_OPERATIONAL, "the connection to the PostgreSQL server at %s was lost",
                   c->io.peer);
      err->invalidated = 1;
      return QS_OPERATIONAL;
    }
    c->op = op;
    c->phase = 0;
    c->sub = 0;
    c->want = 0;
    c->seen = 0;
    c->attempt = 0;
    c->reprepare = 0;
    c->nz = 0;
    c->skip = 0;
    c->pause = 0;
    c->stmt = s;
    qs_error_clear(&c->kept);
    return QS_OK;
  }
  if (c->op == op && (s == NULL || c->stmt == s)) return QS_OK;
  return qs_error_set(err, QS_MISUSE,
                      "cannot begin %s while %s is in progress on this PostgreSQL "
                      "connection (one operation at a time)",
                      op_names[op], op_names[c->op]);
}

int qs__pgw_leave(qs_dconn *c, int rc) {
  c->op = OP_NONE;
  c->phase = 0;
  c->want = 0;
  c->stmt = NULL;
  c->m_vals = NULL;
  qs_error_clear(&c->kept);
  return rc;
}

/* The connection failed (closed by the server, a socket error, bytes that
** are not the protocol): the server's last words if it said why, else the
** transport's error in err. Unusable from now on. */
static int lost(qs_dconn *c, qs_error *err) {
  int rc;
  c->dead = 1;
  if (c->kept.code != QS_OK) {
    rc = qs__pgw_fail_kept(c, err);
  } else {
    rc = err->code == QS_OK ? qs_error_set(err, QS_OPERATIONAL, "the connection to %s failed",
                                           c->io.peer) : err->code;
    if (rc != QS_INTERFACE) rc = err->code = QS_OPERATIONAL;
  }
  err->invalidated = 1;
  qs_wire_io_close(&c->io);
  return qs__pgw_leave(c, rc);
}

int qs__pgw_waiting(qs_dconn *c, int rc) {
  if (rc == QS_WAIT) c->want = c->io.want;
  return rc;
}

/* Sends what is queued: QS_OK, QS_WAIT or the connection lost. */
int qs__pgw_send_out(qs_dconn *c, qs_error *err) {
  int rc = qs_wire_io_flush(&c->io, err);
  if (rc == QS_OK || rc == QS_WAIT) return qs__pgw_waiting(c, rc);
  return lost(c, err);
}

/* ---- the Close queue ------------------------------------------------------ */

static void forget(qs_dstmt *s) {
  qs_dconn *c = s->c;
  if (s->on_server && s->session_epoch == c->session_epoch && !c->dead &&
      c->closeq.len < MAX_CLOSE_BYTES) {
    qs_error ignored;
    memset(&ignored, 0, sizeof ignored);
    (void)qs_pg_close_statement(&c->closeq, s->name, &ignored);   /* out of memory: the session ends it */
    qs_error_clear(&ignored);
  }
  s->on_server = 0;
}

/* Starts a write: the queued Close messages first, with a Sync of their own
** (their errors are nobody's), unless the transaction is aborted (they go
** with a later write then). */
static int begin_write(qs_dconn *c, qs_error *err) {
  /* the replies still due to a stream left mid-way are read first, as
  ** nobody's (its rows dropped) */
  c->nz = c->drain;
  c->skip = c->drain;
  c->drain = 0;
  if (c->closeq.len > 0 && c->txn != 'E') {
    if (qs_buf_append(&c->io.out, c->closeq.p, c->closeq.len) != QS_OK ||
        qs_pg_sync(&c->io.out, err) != QS_OK)
      return qs_error_set(err, QS_NOMEM, "out of memory");
    qs_buf_reset(&c->closeq);
    c->nz++;
    c->skip++;
  }
  return QS_OK;
}

/* ---- reading replies -------------------------------------------------------- */

static void note_ddl(qs_dconn *c, const char *st, size_t n) {
  if ((n >= 5 && strncmp(st, "ALTER", 5) == 0) || (n >= 4 && strncmp(st, "DROP", 4) == 0) ||
      (n >= 6 && strncmp(st, "CREATE", 6) == 0) || (n >= 7 && strncmp(st, "COMMENT", 7) == 0)) {
    c->ddl_epoch++;
  } else if ((n == 11 && memcmp(st, "DISCARD ALL", 11) == 0) ||
             (n == 14 && memcmp(st, "DEALLOCATE ALL", 14) == 0)) {
    c->session_epoch++;
    c->ddl_epoch++;
    qs_buf_reset(&c->closeq);
  }
}

static void free_columns(qs_dstmt *s) {
  int i;
  if (s->colnames) {
    for (i = 0; i < s->ncols; i++) free(s->colnames[i]);
    free(s->colnames);
  }
  free(s->coltypes);
  free(s->rowtmp);
  s->colnames = NULL;
  s->coltypes = NULL;
  s->rowtmp = NULL;
  s->ncols = 0;
}

static int take_columns(qs_dstmt *s, const qs_pg_msg *m, qs_error *err) {
  int n, i;
  qs_pg_field *f;
  if (qs_pg_parse_row_description(m, NULL, 0, &n, err) != QS_OK) return err->code;
  free_columns(s);
  f = calloc((size_t)n + 1, sizeof *f);
  s->colnames = calloc((size_t)n + 1, sizeof(char *));
  s->coltypes = calloc((size_t)n + 1, sizeof(uint32_t));
  s->rowtmp = calloc((size_t)n + 1, sizeof(qs_pg_col));
  if (!f || !s->colnames || !s->coltypes || !s->rowtmp) goto nomem;
  if (qs_pg_parse_row_description(m, f, n, &n, err) != QS_OK) {
    free(f);
    return err->code;
  }
  for (i = 0; i < n; i++) {
    s->colnames[i] = qs__pgw_sdupn(f[i].name.p, f[i].name.n);
    if (s->colnames[i] == NULL) {
      s->ncols = i;
      goto nomem;
    }
    s->coltypes[i] = f[i].type_oid;
  }
  s->ncols = n;
  free(f);
  return QS_OK;
nomem:
  free(f);
  free_columns(s);
  return qs_error_set(err, QS_NOMEM, "out of memory");
}

static int take_params(qs_dstmt *s, const qs_pg_msg *m, qs_error *err) {
  int n;
  uint32_t *types;
  if (qs_pg_parse_parameter_description(m, NULL, 0, &n, err) != QS_OK) return err->code;
  types = calloc((size_t)n + 1, sizeof *types);
  if (types == NULL) return qs_error_set(err, QS_NOMEM, "out of memory");
  (void)qs_pg_parse_parameter_description(m, types, n, &n, err);
  if (n != s->nparams || s->vals == NULL) {   /* preparing again keeps bound values */
    free(s->vals);
    free(s->send);
    free(s->numbuf);
    s->vals = calloc((size_t)n + 1, sizeof(qs_value));
    s->send = calloc((size_t)n + 1, sizeof(qs_value));
    s->numbuf = calloc((size_t)n + 1, QS_PG_NUM_TEXT_SIZE);
    if (!s->vals || !s->send || !s->numbuf) {
      free(types);
      s->nparams = 0;
      return qs_error_set(err, QS_NOMEM, "out of memory");
    }
  }
  free(s->paramtypes);
  s->paramtypes = types;
  s->nparams = n;
  return QS_OK;
}

static void clear_rows(qs_dstmt *s) {
  qs_buf_reset(&s->data);
  s->ncells = 0;
  s->nrows = 0;
  s->row = -1;
}

static int add_row(qs_dstmt *s, const qs_pg_msg *m, qs_error *err) {
  int n, i;
  size_t need;
  if (qs_pg_parse_data_row(m, s->ncols, s->rowtmp, s->ncols, &n, err) != QS_OK) return err->code;
  need = s->ncells + (size_t)n;
  if (need > s->cells_cap) {
    size_t cap = s->cells_cap ? s->cells_cap * 2 : 64;
    size_t *a, *b;
    while (cap < need) cap *= 2;
    a = realloc(s->cells, cap * sizeof *a);
    if (a == NULL) return qs_error_set(err, QS_NOMEM, "out of memory buffering rows");
    s->cells = a;
    b = realloc(s->lens, cap * sizeof *b);
    if (b == NULL) return qs_error_set(err, QS_NOMEM, "out of memory buffering rows");
    s->lens = b;
    s->cells_cap = cap;
  }
  for (i = 0; i < n; i++) {
    const qs_pg_col *col = &s->rowtmp[i];
    if (col->p == NULL) {
      s->cells[s->ncells] = 0;
      s->lens[s->ncells] = 0;
    } else {
      s->cells[s->ncells] = s->data.len + 1;
      s->lens[s->ncells] = (size_t)col->len;
      qs_buf_append(&s->data, col->p, (size_t)col->len);
      qs_buf_putc(&s->data, '\0');
    }
    s->ncells++;
  }
  if (s->data.failed) return qs_error_set(err, QS_NOMEM, "out of memory buffering rows");
  s->nrows++;
  return QS_OK;
}


/* One backend message. An error return means the connection cannot go on
** (it is then given up). */
static int handle(qs_dconn *c, const qs_pg_msg *m, qs_error *err) {
  qs_dstmt *s = c->stmt;
  int mine = c->skip == 0;   /* a reply to the operation's own messages */
  switch (m->type) {
    case 'Z':
      if (qs_pg_parse_ready(m, &c->txn, err) != QS_OK) return err->code;
      if (c->skip > 0) c->skip--;
      if (c->nz > 0) c->nz--;
      return QS_OK;
    case 'E': {
      qs_pg_notice n;
      if (qs_pg_parse_notice(m, &n, err) != QS_OK) return err->code;
      if ((mine || c->op == OP_CONNECT) && c->kept.code == QS_OK) keep_error(c, &n);
      return QS_OK;
    }
    case 'N': {
      qs_pg_notice n;
      if (qs_pg_parse_notice(m, &n, err) != QS_OK) return err->code;
      add_notice(c, &n);
      return QS_OK;
    }
    case 'S': {
      qs_pg_span name, value;
      if (qs_pg_parse_parameter_status(m, &name, &value, err) != QS_OK) return err->code;
      if (name.n == 9 && memcmp(name.p, "DateStyle", 9) == 0)
        snprintf(c->datestyle, sizeof c->datestyle, "%.*s", (int)value.n, value.p);
      else if (name.n == 13 && memcmp(name.p, "IntervalStyle", 13) == 0)
        snprintf(c->intervalstyle, sizeof c->intervalstyle, "%.*s", (int)value.n, value.p);
      else if (name.n == 14 && memcmp(name.p, "in_hot_standby", 14) == 0)
        c->hot_standby = value.n == 2 && memcmp(value.p, "on", 2) == 0;
      else if (name.n == 29 && memcmp(name.p, "default_transaction_read_only", 29) == 0)
        c->read_only = value.n == 2 && memcmp(value.p, "on", 2) == 0;
      return QS_OK;
    }
    case 'K':
      if (qs_pg_parse_backend_key(m, &c->be_pid, &c->be_key, err) != QS_OK) return err->code;
      c->have_key = 1;
      return QS_OK;
    case 'R':
      if (c->op != OP_CONNECT) break;
      return qs__pgw_auth_message(c, m, err);
    case 'A':   /* NotificationResponse: LISTEN is not this driver's business */
      return QS_OK;
    case '1': case '2': case '3': case 'n': case 'I': case 's':
      if (qs_pg_parse_empty(m, err) != QS_OK) return err->code;
      if (m->type == 'n' && s && mine) free_columns(s);   /* (only a Describe answers NoData) */
      return QS_OK;
    case 't':
      if (s && mine) return take_params(s, m, err);
      return QS_OK;
    case 'T':
      if (c->op == OP_CONNECT) return QS_OK;   /* the session check's column */
      if (s && mine && c->op != OP_EXEC) return take_columns(s, m, err);
      return QS_OK;
    case 'D':
      if (c->op == OP_CONNECT) {   /* the session check's answer: "on"/"t" or not */
        qs_pg_col col;
        int n;
        if (qs_pg_parse_data_row(m, 1, &col, 1, &n, err) != QS_OK) return err->code;
        c->check_val = col.p != NULL && col.len >= 1 && (col.p[0] == 't' || (col.len == 2 && col.p[0] == 'o' && col.p[1] == 'n'));
        return QS_OK;
      }
      if (s && mine && c->op == OP_STEP && c->kept.code == QS_OK) {
        int rc = add_row(s, m, err);
        if (rc == QS_OK && s->live && (s->nrows >= STREAM_ROWS || s->data.len >= STREAM_BYTES))
          c->pause = 1;
        return rc;
      }
      return QS_OK;
    case 'C': {
      qs_pg_span tag;
      int64_t rows;
      int has;
      if (qs_pg_parse_command_complete(m, &tag, &rows, &has, err) != QS_OK) return err->code;
      note_ddl(c, tag.p, tag.n);
      if (mine && c->op == OP_STEP) c->changes = has ? rows : 0;
      if (mine && c->op == OP_EXECMANY) c->m_changes += has ? rows : 0;
      return QS_OK;
    }
    default:
      break;
  }
  return qs_error_set(err, QS_INTERFACE, "unexpected PostgreSQL %s message (type '%c') during %s",
                      qs_pg_message_name(m->type), m->type, op_names[c->op]);
}

/* Sends what is queued and reads replies until the ReadyForQuery messages
** expected came (QS_OK). nowait: returns QS_OK as soon as nothing more has
** arrived (executemany reads while it sends). */
int qs__pgw_pump(qs_dconn *c, int nowait, qs_error *err) {
  for (;;) {
    const char *p;
    size_t n, used, need;
    qs_pg_msg m;
    int rc;
    if (c->io.out.len > c->io.out_off) {
      rc = qs__pgw_send_out(c, err);
      if (rc != QS_OK) return rc;
    }
    if (c->nz == 0) return QS_OK;
    p = qs_wire_io_data(&c->io, &n);
    rc = qs_pg_next(p, n, &m, &used, &need, err);
    if (rc == QS_WAIT) {
      rc = qs_wire_io_fill(&c->io, err);
      if (rc == QS_OK) continue;
      if (rc == QS_WAIT) return nowait ? QS_OK : qs__pgw_waiting(c, rc);
      return lost(c, err);
    }
    if (rc != QS_OK) return lost(c, err);
    rc = handle(c, &m, err);
    qs_wire_io_consume(&c->io, used);
    if (rc != QS_OK) {
      qs_error_clear(&c->kept);   /* err says what broke */
      return lost(c, err);
    }
    if (c->pause) {   /* a streamed batch to hand up first */
      c->pause = 0;
      return QS_OK;
    }
  }
}

/* ---- statements ------------------------------------------------------------ */

void qs__pgw_free_stmt(qs_dstmt *s) {
  free_columns(s);
  free(s->paramtypes);
  free(s->vals);
  free(s->send);
  free(s->numbuf);
  free(s->given);
  qs_buf_free(&s->data);
  free(s->cells);
  free(s->lens);
  free(s->bytes.p);
  free(s->sql);
  free(s);
}

/* Parse + Describe + Sync for s (c->sub: 0 to send, 1 reading). QS_OK when
** prepared and described; on an error the operation has ended. */
static int prepare_steps(qs_dstmt *s, qs_error *err) {
  qs_dconn *c = s->c;
  int rc;
  for (;;) {
    if (c->sub == 0) {
      if (begin_write(c, err) != QS_OK) return qs__pgw_leave(c, err->code);
      /* unnamed: parsed and described in this round trip only (each
      ** execution parses it again) */
      const char *name = c->unnamed ? "" : s->name;
      if (qs_pg_parse(&c->io.out, name, s->sql, s->ngiven, s->given, err) != QS_OK ||
          qs_pg_describe(&c->io.out, 'S', name, err) != QS_OK ||
          qs_pg_sync(&c->io.out, err) != QS_OK) {
        qs_buf_reset(&c->io.out);   /* nothing half-queued goes */
        c->io.out_off = 0;
        return qs__pgw_leave(c, err->code);
      }
      c->nz++;
      c->sub = 1;
    }
    rc = qs__pgw_pump(c, 0, err);
    if (rc != QS_OK) return rc;
    if (c->kept.code != QS_OK) {
      if (qs__pg_type_untyped(c->kept.sqlstate, c->kept.message, &s->given, &s->ngiven)) {
        qs_error_clear(&c->kept);
        c->sub = 0;
        continue;
      }
      return qs__pgw_leave(c, qs__pgw_fail_kept(c, err));
    }
    s->on_server = !c->unnamed;
    s->session_epoch = c->session_epoch;
    s->epoch = c->ddl_epoch;
    c->sub = 0;
    return QS_OK;
  }
}

static int xPrepare(qs_dconn *c, const char *sql, size_t n, qs_dstmt **out, qs_error *err) {
  qs_dstmt *s;
  int rc;
  *out = NULL;
  if (c->op == OP_NONE) {
    if (c->dead) return enter(c, OP_PREPARE, NULL, err);
    s = calloc(1, sizeof *s);
    if (s == NULL) return qs_error_set(err, QS_NOMEM, "out of memory");
    s->c = c;
    s->sql = qs__pgw_sdupn(sql, n);
    if (s->sql == NULL) {
      free(s);
      return qs_error_set(err, QS_NOMEM, "out of memory");
    }
    qs_buf_init(&s->data);
    s->row = -1;
    qs__pg_name(s->name, c->tag, ++c->counter);
    (void)enter(c, OP_PREPARE, s, err);
  } else if ((rc = enter(c, OP_PREPARE, NULL, err)) != QS_OK) {
    return rc;
  }
  s = c->stmt;
  rc = prepare_steps(s, err);
  if (rc == QS_WAIT) return rc;
  if (rc != QS_OK) {
    forget(s);
    qs__pgw_free_stmt(s);
    return rc;
  }
  qs__pgw_leave(c, QS_OK);
  *out = s;
  return QS_OK;
}

static int xParamCount(qs_dstmt *s) { return s->nparams; }

static int xBind(qs_dstmt *s, int n, const qs_value *vals, qs_error *err) {
  int i;
  if (qs__pg_refuse_nul(vals, n < s->nparams ? n : s->nparams, 0, err) != QS_OK) return err->code;
  for (i = 0; i < n && i < s->nparams; i++) s->vals[i] = vals[i];
  return QS_OK;
}

/* The values Bind sends: interval floats as libpq.c renders them. */
static const qs_value *bind_values(qs_dstmt *s, const qs_value *vals) {
  int i;
  for (i = 0; i < s->nparams; i++) {
    s->send[i] = vals[i];
    if (vals[i].type == QS_TFLOAT && s->paramtypes[i] == QS_PG_OID_INTERVAL) {
      char *num = s->numbuf + QS_PG_NUM_TEXT_SIZE * i;
      int len = qs__pg_float_text(QS_PG_OID_INTERVAL, vals[i].u.f, num);
      s->send[i].type = QS_TTEXT;
      s->send[i].u.s.p = num;
      s->send[i].u.s.n = (size_t)len;
    }
  }
  return s->send;
}

static int is_stale_plan(const qs_error *e) {
  return strcmp(e->sqlstate, "0A000") == 0 && e->message && strstr(e->message, "cached plan") != NULL;
}

/* The start of an operation on s: prepared again first when DDL since its
** prepare made it stale (its old name closed in front). */
static int ready_stmt(qs_dstmt *s, qs_error *err) {
  qs_dconn *c = s->c;
  int rc;
  if (c->phase == 0) {
    /* (unnamed statements are parsed by every execution: never prepared again) */
    if (!c->reprepare && !c->unnamed &&
        (s->epoch != c->ddl_epoch || !s->on_server || s->session_epoch != c->session_epoch)) {
      forget(s);
      c->reprepare = 1;
      c->sub = 0;
    }
    c->phase = 1;
  }
  if (c->reprepare) {
    if ((rc = prepare_steps(s, err)) != QS_OK) return rc;
    c->reprepare = 0;
  }
  return QS_OK;
}

/* Execute steps: 0-1 ready (ready_stmt), 2 Bind/Execute/Sync queued, 3 the
** replies read; a plan made stale by another connection's DDL goes back to
** 0 once, outside a transaction (libpq.c's execute). */
static int execute(qs_dstmt *s, qs_error *err) {
  qs_dconn *c = s->c;
  int rc;
  for (;;) {
    if (c->phase <= 1) {
      if ((rc = ready_stmt(s, err)) != QS_OK) return rc;
      c->phase = 2;
    }
    if (c->phase == 2) {
      clear_rows(s);
      if (begin_write(c, err) != QS_OK) return qs__pgw_leave(c, err->code);
      /* unnamed: Parse/Bind/Describe/Execute/Sync in one round trip (the
      ** result's columns from its own description: DDL may have changed them) */
      if ((c->unnamed && (qs_pg_parse(&c->io.out, "", s->sql, s->ngiven, s->given, err) != QS_OK ||
                          qs_pg_bind(&c->io.out, "", "", s->nparams, bind_values(s, s->vals),
                                     err) != QS_OK ||
                          qs_pg_describe(&c->io.out, 'P', "", err) != QS_OK)) ||
          (!c->unnamed && qs_pg_bind(&c->io.out, "", s->name, s->nparams,
                                     bind_values(s, s->vals), err) != QS_OK) ||
          qs_pg_execute(&c->io.out, "", err) != QS_OK || qs_pg_sync(&c->io.out, err) != QS_OK) {
        qs_buf_reset(&c->io.out);
        c->io.out_off = 0;
        return qs__pgw_leave(c, err->code);
      }
      c->nz++;
      c->changes = 0;
      c->phase = 3;
      s->live = s->stream;
      s->finished = 0;
    }
    if ((rc = qs__pgw_pump(c, 0, err)) != QS_OK) {
      if (rc != QS_WAIT) s->live = 0;
      return rc;
    }
    if (s->live) {
      /* streamed: a batch came (the operation goes on), or the end; rows
      ** before an error are handed up before it */
      if (c->nz == 0) s->finished = 1;
      if (c->nz > 0 || s->nrows > 0 || c->kept.code == QS_OK) {
        s->row = -1;
        s->executed = 1;
        return QS_OK;
      }
      s->live = 0;
    }
    if (c->kept.code == QS_OK) {
      s->row = -1;
      s->executed = 1;
      return qs__pgw_leave(c, QS_OK);
    }
    clear_rows(s);
    if (c->attempt == 0 && is_stale_plan(&c->kept) && c->txn == 'I') {
      c->attempt = 1;
      qs_error_clear(&c->kept);
      forget(s);
      c->reprepare = 1;
      c->sub = 0;
      c->phase = 1;
      continue;
    }
    if (is_stale_plan(&c->kept)) s->epoch = c->ddl_epoch - 1;   /* next use re-prepares */
    return qs__pgw_leave(c, qs__pgw_fail_kept(c, err));
  }
}

/* The next row of a streamed execution: from the batch in hand, else the
** next batch read (QS_WAIT while it comes), else the end: QS_DONE, or the
** error the server sent after the rows before it. */
static int stream_step(qs_dstmt *s, qs_error *err) {
  qs_dconn *c = s->c;
  int rc;
  for (;;) {
    if (s->row + 1 < s->nrows) {
      s->row++;
      return QS_ROW;
    }
    if (s->finished) {
      s->live = 0;
      s->finished = 0;
      clear_rows(s);
      if (c->kept.code != QS_OK) return qs__pgw_leave(c, qs__pgw_fail_kept(c, err));
      return qs__pgw_leave(c, QS_DONE);
    }
    clear_rows(s);
    rc = qs__pgw_pump(c, 0, err);
    if (rc == QS_WAIT) {
      if (s->nrows > 0) continue;   /* rows that came before the wait go up first */
      return rc;
    }
    if (rc != QS_OK) {   /* the connection was lost (the operation ended) */
      s->live = 0;
      clear_rows(s);
      return rc;
    }
    if (c->nz == 0) s->finished = 1;
  }
}

/* A streamed execution left mid-way (xReset, xFinalize): its operation
** ends; the replies still due are read by the next operation as nobody's
** (begin_write), never a cancel, which would abort the transaction. */
static void stream_abandon(qs_dstmt *s) {
  qs_dconn *c = s->c;
  if (!s->live) return;
  s->live = 0;
  s->finished = 0;
  if (c->stmt == s && c->op == OP_STEP) {
    int due = c->nz;
    qs__pgw_leave(c, QS_OK);
    if (!c->dead) c->drain = due;
  }
}

static int xStream(qs_dstmt *s, int on) {
  s->stream = on != 0;
  return 1;
}

static int xStep(qs_dstmt *s, qs_error *err) {
  if (s->live && s->executed) {
    int rc = enter(s->c, OP_STEP, s, err);
    if (rc != QS_OK) return rc;
    return stream_step(s, err);
  }
  if (!s->executed) {
    int rc = enter(s->c, OP_STEP, s, err);
    if (rc != QS_OK) return rc;
    rc = execute(s, err);
    if (rc != QS_OK) return rc;
    if (s->live) return stream_step(s, err);
  }
  s->row++;
  return s->row < s->nrows ? QS_ROW : QS_DONE;
}

static int xColumnCount(qs_dstmt *s) { return s->ncols; }
static const char *xColumnName(qs_dstmt *s, int i) {
  return i >= 0 && i < s->ncols ? s->colnames[i] : NULL;
}

static void xColumn(qs_dstmt *s, int i, qs_value *out) {
  size_t cell, off;
  out->type = QS_TNULL;
  if (s->row < 0 || s->row >= s->nrows || i < 0 || i >= s->ncols) return;
  cell = (size_t)s->row * (size_t)s->ncols + (size_t)i;
  if (cell >= s->ncells || s->cells[cell] == 0) return;
  off = s->cells[cell] - 1;
  qs__pg_text_value(s->coltypes[i], s->data.p + off, s->lens[cell], &s->bytes, out);
}

static int xReadonly(qs_dstmt *s) { (void)s; return 0; }

static void xReset(qs_dstmt *s) {
  stream_abandon(s);
  s->stream = 0;
  clear_rows(s);
  s->executed = 0;
}

static void xFinalize(qs_dstmt *s) {
  stream_abandon(s);
  if (s->c->stmt == s) s->c->stmt = NULL;
  forget(s);
  qs__pgw_free_stmt(s);
}

static int64_t xChanges(qs_dconn *c) { return c->changes; }
static int64_t xLastInsertId(qs_dconn *c) { (void)c; return 0; }

/* Exec: a simple Query; the first error is the operation's. */
static int xExec(qs_dconn *c, const char *sql, qs_error *err) {
  int rc = enter(c, OP_EXEC, NULL, err);
  if (rc != QS_OK) return rc;
  if (c->phase == 0) {
    if (begin_write(c, err) != QS_OK || qs_pg_query(&c->io.out, sql, err) != QS_OK) {
      qs_buf_reset(&c->io.out);
      c->io.out_off = 0;
      return qs__pgw_leave(c, err->code);
    }
    c->nz++;
    c->phase = 1;
  }
  if ((rc = qs__pgw_pump(c, 0, err)) != QS_OK) return rc;
  if (c->kept.code != QS_OK) return qs__pgw_leave(c, qs__pgw_fail_kept(c, err));
  return qs__pgw_leave(c, QS_OK);
}

static int xInTransaction(qs_dconn *c) { return c->txn == 'T' || c->txn == 'E'; }

/* Executemany steps: 0-1 ready; 2 the sets queued PIPE_CHUNK at a time, each
** chunk ending in a Flush, sent while the replies that came are read; 3 the
** Sync queued and every reply read. The first error ends the batch (the
** server skips the rest until the Sync). */
static int xExecMany(qs_dstmt *s, int nsets, int nparams, const qs_value *vals, int64_t *changes,
                     qs_error *err) {
  qs_dconn *c = s->c;
  int rc = enter(c, OP_EXECMANY, s, err);
  *changes = 0;
  if (rc != QS_OK) return rc;
  if (c->m_vals == NULL && c->phase == 0) {
    int i;
    for (i = 0; i < nsets; i++)   /* every set checked before the first is sent */
      if (qs__pg_refuse_nul(vals + (size_t)i * (size_t)nparams, nparams, i + 1, err) != QS_OK)
        return qs__pgw_leave(c, err->code);
    c->m_vals = vals;
    c->m_nsets = nsets;
    c->m_nparams = nparams;
    c->m_next = 0;
    c->m_changes = 0;
  }
  if (c->phase <= 1) {
    if ((rc = ready_stmt(s, err)) != QS_OK) return rc;
    if (begin_write(c, err) != QS_OK) return qs__pgw_leave(c, err->code);
    /* unnamed: parsed once in the batch, bound per set (its one Sync keeps
    ** it on one server connection behind a pooler) */
    if (c->unnamed && qs_pg_parse(&c->io.out, "", s->sql, s->ngiven, s->given, err) != QS_OK)
      return lost(c, err);
    c->nz++;   /* the batch's own Sync, queued at the end */
    c->phase = 2;
  }
  if (c->phase == 2) {
    for (;;) {
      /* what has come is read first: the server stops reading while its
      ** replies wait */
      rc = qs__pgw_pump(c, 1, err);
      if (rc == QS_WAIT) {
        c->want |= QS_WAIT_READ;
        return rc;
      }
      if (rc != QS_OK) {
        *changes = c->m_changes;
        return rc;
      }
      if (c->m_next >= c->m_nsets || c->kept.code != QS_OK) break;
      {
        int end = c->m_next + PIPE_CHUNK, i;
        if (end > c->m_nsets) end = c->m_nsets;
        for (i = c->m_next; i < end; i++) {
          const qs_value *row = c->m_vals + (size_t)i * (size_t)c->m_nparams;
          int k;
          for (k = 0; k < s->nparams; k++) {
            if (k < c->m_nparams) s->vals[k] = row[k];
            else s->vals[k].type = QS_TNULL;
          }
          if (qs_pg_bind(&c->io.out, "", c->unnamed ? "" : s->name, s->nparams,
                         bind_values(s, s->vals), err) != QS_OK ||
              qs_pg_execute(&c->io.out, "", err) != QS_OK) {
            /* a value refused: what went stays consistent, the batch ends with its Sync */
            c->m_next = c->m_nsets;
            if (c->kept.code == QS_OK) qs_error_move(&c->kept, err);
            break;
          }
        }
        if (c->m_next < c->m_nsets) c->m_next = end;
        (void)qs_pg_flush(&c->io.out, err);
      }
    }
    if (qs_pg_sync(&c->io.out, err) != QS_OK) return lost(c, err);
    c->phase = 3;
  }
  rc = qs__pgw_pump(c, 0, err);
  if (rc == QS_WAIT) return rc;
  *changes = c->m_changes;
  if (rc != QS_OK) return rc;
  c->changes = c->m_changes;
  if (c->kept.code != QS_OK) return qs__pgw_leave(c, qs__pgw_fail_kept(c, err));
  return qs__pgw_leave(c, QS_OK);
}

static const char *xNotice(qs_dconn *c, int i) { return qs__pg_notices_get(&c->notices, i); }
static void xClearNotices(qs_dconn *c) { qs__pg_notices_clear(&c->notices); }

/* ---- statement timeout and cancel -------------------------------------- */

static int xSetTimeout(qs_dconn *c, int ms, qs_error *err) {
  (void)err;
  c->timeout_ms = ms;
  return QS_OK;
}

/* The CancelRequest goes over a plain socket of its own to the same host and
** port, in external mode too (the statement's connection is the caller's):
** wire_pg_cancel.h. */
static int xCancel(qs_dconn *c, int detached, qs_error *err) {
  if (!c->have_key)
    return qs_error_set(err, QS_OPERATIONAL, "could not send the cancel request: no cancel key");
  return qs__pg_wire_cancel(c->host, c->port, c->be_pid, c->be_key, detached, err);
}

/* ---- the external transport ------------------------------------------------ */

static size_t xOutput(qs_dconn *c, const char **p) { return qs_wire_io_pending(&c->io, p); }
static void xOutputDone(qs_dconn *c, size_t n) { qs_wire_io_sent(&c->io, n); }
static int xInput(qs_dconn *c, const char *p, size_t n, qs_error *err) {
  int rc = qs_wire_io_feed(&c->io, p, n);
  if (rc == QS_MISUSE)
    return qs_error_set(err, QS_MISUSE, "this PostgreSQL connection has its own socket: no bytes "
                        "are given to it");
  if (rc != QS_OK) return qs_error_set(err, QS_NOMEM, "out of memory keeping received bytes");
  return QS_OK;
}

const qs_driver qs_pgwire_driver = {
  QS_DRIVER_VERSION, "pgwire", 0, 1,
  qs__pgw_xOpen, qs__pgw_xConnect, qs__pgw_xClose, qs__pgw_xWait, qs__pgw_xReady, xPrepare, xParamCount, xBind, xStep,
  xColumnCount, xColumnName, xColumn, xReadonly, xReset, xFinalize, xChanges,
  xLastInsertId, xExec, xInTransaction, xExecMany, xNotice, xClearNotices,
  xSetTimeout, xCancel, xOutput, xOutputDone, xInput, xStream,
};
