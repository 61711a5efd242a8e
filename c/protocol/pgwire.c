/*
** pgwire.c: the PostgreSQL v3 protocol's messages, encoded and decoded
** without I/O (see pgwire.h). Integers on the wire are big-endian; they are
** assembled byte by byte so alignment and host order never matter.
*/
#include <stdio.h>
#include <string.h>

#include "quicksilver.h"
#include "pgwire.h"

/* ---- encoding ----------------------------------------------------------- */

static void put_i32(unsigned char *d, uint32_t v) {
  d[0] = (unsigned char)(v >> 24);
  d[1] = (unsigned char)(v >> 16);
  d[2] = (unsigned char)(v >> 8);
  d[3] = (unsigned char)v;
}

static void append_i32(qs_buf *b, int32_t v) {
  unsigned char d[4];
  put_i32(d, (uint32_t)v);
  qs_buf_append(b, (const char *)d, 4);
}

static void append_i16(qs_buf *b, int v) {
  char d[2];
  d[0] = (char)((unsigned)v >> 8);
  d[1] = (char)v;
  qs_buf_append(b, d, 2);
}

/* A C string with its terminator (the protocol's String). */
static void append_cstr(qs_buf *b, const char *s) {
  qs_buf_append(b, s ? s : "", strlen(s ? s : "") + 1);
}

/* Where a message being encoded starts (its type byte, if any) and where
** its length goes. */
typedef struct mark {
  size_t start, at;
} mark;

/* Starts a message: its type byte (0: none, the startup packets) and a
** length patched by finish(). */
static mark begin(qs_buf *b, char type) {
  mark m;
  m.start = b->len;
  if (type) qs_buf_putc(b, type);
  m.at = b->len;
  append_i32(b, 0);
  return m;
}

/* Takes back a message begun at m, returning rc: a failed encoder leaves
** the buffer as it found it, so a caller never sends half a message. */
static int abandon(qs_buf *b, mark m, int rc) {
  if (!b->failed && b->len > m.start) {
    b->len = m.start;
    b->p[m.start] = '\0';
  }
  return rc;
}

/* Patches the length (it counts itself, not the type byte). A buffer that
** failed to grow is reported here, once per message. */
static int finish(qs_buf *b, mark m, const char *what, qs_error *err) {
  size_t n;
  if (b->failed) return qs_error_set(err, QS_NOMEM, "out of memory encoding a PostgreSQL %s message", what);
  n = b->len - m.at;
  if (n > QS_PG_MAX_MESSAGE)
    return abandon(b, m, qs_error_set(err, QS_ARGUMENT, "PostgreSQL %s message of %zu bytes is over the "
                                      "%u-byte limit", what, n, QS_PG_MAX_MESSAGE));
  put_i32((unsigned char *)b->p + m.at, (uint32_t)n);
  return QS_OK;
}

int qs_pg_startup(qs_buf *out, const char *user, const char *database,
                  const char *const *extra, qs_error *err) {
  mark at = begin(out, 0);
  append_i32(out, 196608);   /* protocol 3.0: major 3 in the high 16 bits */
  append_cstr(out, "user");
  append_cstr(out, user);
  if (database) {
    append_cstr(out, "database");
    append_cstr(out, database);
  }
  if (extra) {
    size_t i;
    for (i = 0; extra[i] != NULL; i += 2) {
      if (extra[i + 1] == NULL)
        return abandon(out, at, qs_error_set(err, QS_ARGUMENT, "PostgreSQL StartupMessage: parameter %s has no "
                                             "value", extra[i]));
      append_cstr(out, extra[i]);
      append_cstr(out, extra[i + 1]);
    }
  }
  qs_buf_putc(out, '\0');   /* the list ends in an empty name */
  return finish(out, at, "StartupMessage", err);
}

int qs_pg_query(qs_buf *out, const char *sql, qs_error *err) {
  mark at = begin(out, 'Q');
  append_cstr(out, sql);
  return finish(out, at, "Query", err);
}

int qs_pg_parse(qs_buf *out, const char *name, const char *sql, int nparams,
                const uint32_t *oids, qs_error *err) {
  mark at;
  int i;
  if (nparams < 0 || nparams > 65535)
    return qs_error_set(err, QS_ARGUMENT, "PostgreSQL Parse: %d parameters (0 to 65535)", nparams);
  at = begin(out, 'P');
  append_cstr(out, name);
  append_cstr(out, sql);
  append_i16(out, nparams);
  for (i = 0; i < nparams; i++) append_i32(out, (int32_t)(oids ? oids[i] : 0));
  return finish(out, at, "Parse", err);
}

int qs_pg_bind(qs_buf *out, const char *portal, const char *statement, int n,
               const qs_value *vals, qs_error *err) {
  mark at;
  int i;
  if (n < 0 || n > 65535)
    return qs_error_set(err, QS_ARGUMENT, "PostgreSQL Bind: %d parameters (0 to 65535)", n);
  at = begin(out, 'B');
  append_cstr(out, portal);
  append_cstr(out, statement);
  /* one format per parameter: binary for blobs only */
  append_i16(out, n);
  for (i = 0; i < n; i++) append_i16(out, vals[i].type == QS_TBLOB ? 1 : 0);
  append_i16(out, n);
  for (i = 0; i < n; i++) {
    const qs_value *v = &vals[i];
    char num[32];
    int len;
    switch (v->type) {
      case QS_TNULL: append_i32(out, -1); break;
      case QS_TINT:
        len = snprintf(num, sizeof num, "%lld", (long long)v->u.i);
        append_i32(out, len);
        qs_buf_append(out, num, (size_t)len);
        break;
      case QS_TBOOL:
        append_i32(out, 1);
        qs_buf_putc(out, v->u.i ? 't' : 'f');
        break;
      case QS_TFLOAT:
        len = snprintf(num, sizeof num, "%.17g", v->u.f);
        append_i32(out, len);
        qs_buf_append(out, num, (size_t)len);
        break;
      case QS_TTEXT:
      case QS_TBLOB:
        if (v->u.s.n > QS_PG_MAX_MESSAGE)
          return abandon(out, at, qs_error_set(err, QS_ARGUMENT, "PostgreSQL Bind: parameter %d of %zu "
                                               "bytes is over the %u-byte limit", i + 1, v->u.s.n,
                                               QS_PG_MAX_MESSAGE));
        append_i32(out, (int32_t)v->u.s.n);
        qs_buf_append(out, v->u.s.p, v->u.s.n);
        break;
      default:
        return abandon(out, at, qs_error_set(err, QS_ARGUMENT, "PostgreSQL Bind: parameter %d has "
                                             "unknown type %d", i + 1, (int)v->type));
    }
  }
  append_i16(out, 0);   /* no result formats: all text */
  return finish(out, at, "Bind", err);
}

int qs_pg_describe(qs_buf *out, char kind, const char *name, qs_error *err) {
  mark at;
  if (kind != 'S' && kind != 'P')
    return qs_error_set(err, QS_ARGUMENT, "PostgreSQL Describe: kind must be 'S' or 'P'");
  at = begin(out, 'D');
  qs_buf_putc(out, kind);
  append_cstr(out, name);
  return finish(out, at, "Describe", err);
}

int qs_pg_execute(qs_buf *out, const char *portal, qs_error *err) {
  mark at = begin(out, 'E');
  append_cstr(out, portal);
  append_i32(out, 0);
  return finish(out, at, "Execute", err);
}

int qs_pg_sync(qs_buf *out, qs_error *err) {
  return finish(out, begin(out, 'S'), "Sync", err);
}

int qs_pg_flush(qs_buf *out, qs_error *err) {
  return finish(out, begin(out, 'H'), "Flush", err);
}

int qs_pg_close_statement(qs_buf *out, const char *name, qs_error *err) {
  mark at = begin(out, 'C');
  qs_buf_putc(out, 'S');
  append_cstr(out, name);
  return finish(out, at, "Close", err);
}

int qs_pg_terminate(qs_buf *out, qs_error *err) {
  return finish(out, begin(out, 'X'), "Terminate", err);
}

int qs_pg_password(qs_buf *out, const char *password, qs_error *err) {
  mark at = begin(out, 'p');
  append_cstr(out, password);
  return finish(out, at, "PasswordMessage", err);
}

int qs_pg_cancel_request(qs_buf *out, int32_t pid, int32_t key, qs_error *err) {
  mark at = begin(out, 0);
  append_i32(out, 80877102);   /* 1234 << 16 | 5678: the cancel request code */
  append_i32(out, pid);
  append_i32(out, key);
  return finish(out, at, "CancelRequest", err);
}

/* ---- the reader ---------------------------------------------------------- */

static uint32_t get_u32(const char *p) {
  const unsigned char *d = (const unsigned char *)p;
  return (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 | (uint32_t)d[2] << 8 | (uint32_t)d[3];
}

static uint16_t get_u16(const char *p) {
  const unsigned char *d = (const unsigned char *)p;
  return (uint16_t)(d[0] << 8 | d[1]);
}

const char *qs_pg_message_name(char type) {
  switch (type) {
    case 'R': return "Authentication";
    case 'S': return "ParameterStatus";
    case 'K': return "BackendKeyData";
    case 'Z': return "ReadyForQuery";
    case 'T': return "RowDescription";
    case 'D': return "DataRow";
    case 'C': return "CommandComplete";
    case 'E': return "ErrorResponse";
    case 'N': return "NoticeResponse";
    case '1': return "ParseComplete";
    case '2': return "BindComplete";
    case '3': return "CloseComplete";
    case 'n': return "NoData";
    case 't': return "ParameterDescription";
    case 'I': return "EmptyQueryResponse";
    case 's': return "PortalSuspended";
    case 'A': return "NotificationResponse";
    case 'G': return "CopyInResponse";
    case 'H': return "CopyOutResponse";
    case 'd': return "CopyData";
    case 'c': return "CopyDone";
    case 'v': return "NegotiateProtocolVersion";
    default: return "unknown";
  }
}

int qs_pg_next(const char *p, size_t n, qs_pg_msg *msg, size_t *used, size_t *need,
               qs_error *err) {
  uint32_t len;
  *used = 0;
  *need = 0;
  if (n < 5) {
    *need = 5 - n;
    return QS_WAIT;
  }
  len = get_u32(p + 1);
  if (len < 4)
    return qs_error_set(err, QS_INTERFACE, "PostgreSQL %s message (type 0x%02x) declares length %u (at least 4)",
                        qs_pg_message_name(p[0]), (unsigned char)p[0], len);
  if (len > QS_PG_MAX_MESSAGE)
    return qs_error_set(err, QS_INTERFACE, "PostgreSQL %s message (type 0x%02x) declares length %u, over the "
                        "%u-byte limit", qs_pg_message_name(p[0]), (unsigned char)p[0], len, QS_PG_MAX_MESSAGE);
  if (n - 1 < len) {
    *need = (size_t)len + 1 - n;
    return QS_WAIT;
  }
  msg->type = p[0];
  msg->body = p + 5;
  msg->len = len - 4;
  *used = (size_t)len + 1;
  return QS_OK;
}

/* ---- parsing: a cursor over one message body ---------------------------- */

typedef struct cursor {
  const qs_pg_msg *m;
  size_t at;
  qs_error *err;
} cursor;

static int bad(cursor *c, const char *what) {
  return qs_error_set(c->err, QS_INTERFACE, "malformed PostgreSQL %s message: %s (at byte %zu of %zu)",
                      qs_pg_message_name(c->m->type), what, c->at, c->m->len);
}

static int expect_type(const qs_pg_msg *m, char type, qs_error *err) {
  if (m->type == type) return QS_OK;
  return qs_error_set(err, QS_INTERFACE, "expected a PostgreSQL %s message, got %s (type 0x%02x)",
                      qs_pg_message_name(type), qs_pg_message_name(m->type), (unsigned char)m->type);
}

static int take_i32(cursor *c, int32_t *v, const char *what) {
  if (c->m->len - c->at < 4) return bad(c, what);
  *v = (int32_t)get_u32(c->m->body + c->at);
  c->at += 4;
  return QS_OK;
}

static int take_i16(cursor *c, int16_t *v, const char *what) {
  if (c->m->len - c->at < 2) return bad(c, what);
  *v = (int16_t)get_u16(c->m->body + c->at);
  c->at += 2;
  return QS_OK;
}

/* A NUL-terminated string; the span leaves the NUL out. */
static int take_cstr(cursor *c, qs_pg_span *s, const char *what) {
  const char *start = c->m->body + c->at;
  const char *nul = memchr(start, '\0', c->m->len - c->at);
  if (nul == NULL) return bad(c, what);
  s->p = start;
  s->n = (size_t)(nul - start);
  c->at += s->n + 1;
  return QS_OK;
}

static int at_end(cursor *c) {
  if (c->at != c->m->len) return bad(c, "bytes left over after its last field");
  return QS_OK;
}

#define TRY(x) do { int rc_ = (x); if (rc_ != QS_OK) return rc_; } while (0)

int qs_pg_parse_auth(const qs_pg_msg *m, qs_pg_auth *out, qs_error *err) {
  cursor c = {m, 0, err};
  memset(out, 0, sizeof *out);
  TRY(expect_type(m, 'R', err));
  TRY(take_i32(&c, &out->code, "no authentication code"));
  switch (out->code) {
    case QS_PG_AUTH_OK:
    case QS_PG_AUTH_CLEARTEXT:
      break;   /* nothing follows the code */
    case QS_PG_AUTH_MD5:
      if (m->len - c.at != 4) return bad(&c, "MD5 salt is not 4 bytes");
      memcpy(out->salt, m->body + c.at, 4);
      c.at += 4;
      break;
    case QS_PG_AUTH_SASL: {
      qs_pg_span name;
      out->data.p = m->body + c.at;
      for (;;) {
        TRY(take_cstr(&c, &name, "SASL mechanism name without its NUL terminator"));
        if (name.n == 0) break;
        out->nmechanisms++;
      }
      out->data.n = (size_t)(m->body + c.at - out->data.p);
      break;
    }
    case QS_PG_AUTH_SASL_CONTINUE:
    case QS_PG_AUTH_SASL_FINAL:
      out->data.p = m->body + c.at;
      out->data.n = m->len - c.at;
      c.at = m->len;
      break;
    default:
      /* the other requests (Kerberos, GSS, SSPI...) are the caller's to
      ** refuse; their bodies are not read */
      c.at = m->len;
      break;
  }
  return at_end(&c);
}

int qs_pg_auth_offers(const qs_pg_auth *a, const char *mechanism) {
  const char *p = a->data.p, *end = a->data.p + a->data.n;
  if (a->code != QS_PG_AUTH_SASL || p == NULL) return 0;
  while (p < end && *p) {
    size_t n = strlen(p);   /* validated: every name ends in NUL inside data */
    if (strcmp(p, mechanism) == 0) return 1;
    p += n + 1;
  }
  return 0;
}

int qs_pg_parse_parameter_status(const qs_pg_msg *m, qs_pg_span *name, qs_pg_span *value,
                                 qs_error *err) {
  cursor c = {m, 0, err};
  TRY(expect_type(m, 'S', err));
  TRY(take_cstr(&c, name, "parameter name without its NUL terminator"));
  TRY(take_cstr(&c, value, "parameter value without its NUL terminator"));
  return at_end(&c);
}

int qs_pg_parse_backend_key(const qs_pg_msg *m, int32_t *pid, int32_t *key, qs_error *err) {
  cursor c = {m, 0, err};
  TRY(expect_type(m, 'K', err));
  TRY(take_i32(&c, pid, "process id runs past the message"));
  TRY(take_i32(&c, key, "secret key runs past the message"));
  return at_end(&c);
}

int qs_pg_parse_ready(const qs_pg_msg *m, char *status, qs_error *err) {
  cursor c = {m, 0, err};
  TRY(expect_type(m, 'Z', err));
  if (m->len != 1) return bad(&c, "body is not one status byte");
  if (m->body[0] != 'I' && m->body[0] != 'T' && m->body[0] != 'E')
    return bad(&c, "transaction status is not I, T or E");
  *status = m->body[0];
  return QS_OK;
}

int qs_pg_parse_row_description(const qs_pg_msg *m, qs_pg_field *fields, int cap, int *count,
                                qs_error *err) {
  cursor c = {m, 0, err};
  int16_t n = 0;
  int i;
  TRY(expect_type(m, 'T', err));
  TRY(take_i16(&c, &n, "column count runs past the message"));
  if (n < 0) return bad(&c, "negative column count");
  for (i = 0; i < n; i++) {
    qs_pg_field f;
    int32_t toid, typoid;
    TRY(take_cstr(&c, &f.name, "column name without its NUL terminator"));
    TRY(take_i32(&c, &toid, "column's table OID runs past the message"));
    TRY(take_i16(&c, &f.column, "column's attribute number runs past the message"));
    TRY(take_i32(&c, &typoid, "column's type OID runs past the message"));
    TRY(take_i16(&c, &f.type_size, "column's type size runs past the message"));
    TRY(take_i32(&c, &f.type_mod, "column's type modifier runs past the message"));
    TRY(take_i16(&c, &f.format, "column's format runs past the message"));
    f.table_oid = (uint32_t)toid;
    f.type_oid = (uint32_t)typoid;
    if (fields && i < cap) fields[i] = f;
  }
  *count = n;
  return at_end(&c);
}

int qs_pg_parse_data_row(const qs_pg_msg *m, int expected, qs_pg_col *cols, int cap,
                         int *count, qs_error *err) {
  cursor c = {m, 0, err};
  int16_t n = 0;
  int i;
  TRY(expect_type(m, 'D', err));
  TRY(take_i16(&c, &n, "column count runs past the message"));
  if (n < 0) return bad(&c, "negative column count");
  if (expected >= 0 && n != expected)
    return qs_error_set(err, QS_INTERFACE, "malformed PostgreSQL DataRow message: %d columns where the "
                        "RowDescription has %d", (int)n, expected);
  for (i = 0; i < n; i++) {
    qs_pg_col col;
    TRY(take_i32(&c, &col.len, "column length runs past the message"));
    if (col.len < -1) return bad(&c, "column length below -1");
    if (col.len == -1) {
      col.p = NULL;
    } else {
      if ((size_t)col.len > m->len - c.at) return bad(&c, "column value runs past the message");
      col.p = m->body + c.at;
      c.at += (size_t)col.len;
    }
    if (cols && i < cap) cols[i] = col;
  }
  *count = n;
  return at_end(&c);
}

int qs_pg_parse_command_complete(const qs_pg_msg *m, qs_pg_span *tag, int64_t *rows,
                                 int *has_rows, qs_error *err) {
  cursor c = {m, 0, err};
  size_t i, start;
  TRY(expect_type(m, 'C', err));
  TRY(take_cstr(&c, tag, "command tag without its NUL terminator"));
  TRY(at_end(&c));
  *rows = 0;
  *has_rows = 0;
  /* the count is the last word when the tag has more than one and that word
  ** is all digits ("INSERT 0 5": the 0 is the obsolete OID) */
  start = tag->n;
  while (start > 0 && tag->p[start - 1] >= '0' && tag->p[start - 1] <= '9') start--;
  if (start == tag->n || start == 0 || tag->p[start - 1] != ' ') return QS_OK;
  for (i = start; i < tag->n; i++) {
    int d = tag->p[i] - '0';
    if (*rows > (INT64_MAX - d) / 10) return bad(&c, "row count overflows 64 bits");
    *rows = *rows * 10 + d;
  }
  *has_rows = 1;
  return QS_OK;
}

int qs_pg_parse_notice(const qs_pg_msg *m, qs_pg_notice *out, qs_error *err) {
  cursor c = {m, 0, err};
  memset(out, 0, sizeof *out);
  if (m->type != 'E' && m->type != 'N')
    return qs_error_set(err, QS_INTERFACE, "expected a PostgreSQL ErrorResponse or NoticeResponse message, "
                        "got %s (type 0x%02x)", qs_pg_message_name(m->type), (unsigned char)m->type);
  for (;;) {
    qs_pg_span v, *slot = NULL;
    char code;
    if (c.at >= m->len) return bad(&c, "field list without its terminating zero byte");
    code = m->body[c.at++];
    if (code == '\0') break;
    TRY(take_cstr(&c, &v, "field value without its NUL terminator"));
    switch (code) {
      case 'S': slot = &out->severity; break;
      case 'V': slot = &out->severity_en; break;
      case 'C': slot = &out->sqlstate; break;
      case 'M': slot = &out->message; break;
      case 'D': slot = &out->detail; break;
      case 'H': slot = &out->hint; break;
      case 'P': slot = &out->position; break;
      case 'p': slot = &out->internal_position; break;
      case 'q': slot = &out->internal_query; break;
      case 'W': slot = &out->where; break;
      case 's': slot = &out->schema; break;
      case 't': slot = &out->table; break;
      case 'c': slot = &out->column; break;
      case 'd': slot = &out->datatype; break;
      case 'n': slot = &out->constraint; break;
      case 'F': slot = &out->file; break;
      case 'L': slot = &out->line; break;
      case 'R': slot = &out->routine; break;
      default: break;   /* the protocol says to ignore fields we do not know */
    }
    if (slot) *slot = v;
  }
  TRY(at_end(&c));
  out->family = qs_sqlstate_family(out->sqlstate.p, out->sqlstate.n);
  return QS_OK;
}

int qs_pg_parse_parameter_description(const qs_pg_msg *m, uint32_t *oids, int cap, int *count,
                                      qs_error *err) {
  cursor c = {m, 0, err};
  int16_t raw = 0;
  int i, n;
  TRY(expect_type(m, 't', err));
  TRY(take_i16(&c, &raw, "parameter count runs past the message"));
  /* The count is an Int16 on the wire, but a statement holds up to 65,535
  ** parameters (Bind's count too): the server writes it unsigned. */
  n = (uint16_t)raw;
  for (i = 0; i < n; i++) {
    int32_t oid = 0;
    TRY(take_i32(&c, &oid, "parameter type OID runs past the message"));
    if (oids && i < cap) oids[i] = (uint32_t)oid;
  }
  *count = n;
  return at_end(&c);
}

int qs_pg_parse_empty(const qs_pg_msg *m, qs_error *err) {
  cursor c = {m, 0, err};
  if (strchr("123nIs", m->type) == NULL || m->type == '\0')
    return qs_error_set(err, QS_INTERFACE, "PostgreSQL %s message (type 0x%02x) is not one without a body",
                        qs_pg_message_name(m->type), (unsigned char)m->type);
  if (m->len != 0) return bad(&c, "a body where none belongs");
  return QS_OK;
}
