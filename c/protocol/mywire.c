/*
** mywire.c: the MySQL/MariaDB client protocol's packets, encoded and
** decoded without I/O (see mywire.h).
*/
#include <stdio.h>
#include <string.h>

#include "quicksilver.h"
#include "mywire.h"

#define TRY(x) do { int rc_ = (x); if (rc_ != QS_OK) return rc_; } while (0)

static uint32_t get_u24(const char *p) {
  const unsigned char *d = (const unsigned char *)p;
  return (uint32_t)d[0] | (uint32_t)d[1] << 8 | (uint32_t)d[2] << 16;
}

static uint64_t get_le(const char *p, int n) {
  const unsigned char *d = (const unsigned char *)p;
  uint64_t v = 0;
  int i;
  for (i = n - 1; i >= 0; i--) v = v << 8 | d[i];
  return v;
}

static void put_le(qs_buf *b, uint64_t v, int n) {
  char d[8];
  int i;
  for (i = 0; i < n; i++) d[i] = (char)(unsigned char)(v >> (8 * i));
  qs_buf_append(b, d, (size_t)n);
}

/* ---- framing -------------------------------------------------------------- */

int qs_my_next(const char *p, size_t n, uint8_t *seq, qs_buf *join, qs_my_span *payload,
               size_t *used, size_t *need, qs_error *err) {
  size_t at = 0, total = 0;
  int packets = 0;
  uint8_t s = *seq;
  *used = 0;
  *need = 0;
  /* first walk the headers: every fragment present and in sequence */
  for (;;) {
    uint32_t len;
    if (n - at < 4) {
      *need = 4 - (n - at);
      return QS_WAIT;
    }
    len = get_u24(p + at);
    if ((uint8_t)p[at + 3] != s)
      return qs_error_set(err, QS_INTERFACE, "MySQL packet out of order: sequence id %u where %u was "
                          "expected", (unsigned)(unsigned char)p[at + 3], (unsigned)s);
    s++;
    total += len;
    if (total > QS_MY_MAX_PAYLOAD)
      return qs_error_set(err, QS_INTERFACE, "MySQL packet payload of over %zu bytes, above the "
                          "%u-byte limit", total, QS_MY_MAX_PAYLOAD);
    if (n - at - 4 < len) {
      *need = len - (n - at - 4);
      return QS_WAIT;
    }
    at += 4 + (size_t)len;
    packets++;
    if (len < QS_MY_MAX_PACKET) break;
  }
  if (packets == 1) {
    payload->p = p + 4;
    payload->n = total;
  } else {
    size_t from = 0;
    qs_buf_reset(join);
    while (from < at) {
      uint32_t len = get_u24(p + from);
      qs_buf_append(join, p + from + 4, len);
      from += 4 + (size_t)len;
    }
    if (join->failed) return qs_error_set(err, QS_NOMEM, "out of memory joining a MySQL packet");
    payload->p = join->p ? join->p : "";
    payload->n = total;
  }
  *seq = s;
  *used = at;
  return QS_OK;
}

int qs_my_frame(qs_buf *out, uint8_t *seq, const char *payload, size_t n, qs_error *err) {
  size_t at = 0;
  if (n > QS_MY_MAX_PAYLOAD)
    return qs_error_set(err, QS_ARGUMENT, "MySQL packet of %zu bytes is over the %u-byte limit", n,
                        QS_MY_MAX_PAYLOAD);
  for (;;) {
    size_t chunk = n - at < QS_MY_MAX_PACKET ? n - at : QS_MY_MAX_PACKET;
    put_le(out, chunk, 3);
    qs_buf_putc(out, (char)*seq);
    qs_buf_append(out, payload + at, chunk);
    (*seq)++;
    at += chunk;
    if (chunk < QS_MY_MAX_PACKET) break;   /* a full packet is followed by another, maybe empty */
  }
  if (out->failed) {
    return qs_error_set(err, QS_NOMEM, "out of memory encoding a MySQL packet");
  }
  return QS_OK;
}

/* The encoders build a payload in scratch, then frame it: a failed encoder
** leaves out as it found it. */
static int emit(qs_buf *out, uint8_t *seq, qs_buf *pl, const char *what, qs_error *err) {
  size_t mark = out->len;
  uint8_t s = *seq;
  int rc;
  if (pl->failed) {
    qs_buf_free(pl);
    return qs_error_set(err, QS_NOMEM, "out of memory encoding a MySQL %s packet", what);
  }
  rc = qs_my_frame(out, &s, pl->p ? pl->p : "", pl->len, err);
  qs_buf_free(pl);
  if (rc != QS_OK) {
    if (!out->failed && out->len > mark) {
      out->len = mark;
      if (out->p) out->p[mark] = '\0';
    }
    return rc;
  }
  *seq = s;
  return QS_OK;
}

/* ---- length-encoded values -------------------------------------------- */

int qs_my_lenenc(const char *p, size_t n, uint64_t *v, int *is_null, size_t *size,
                 const char *what, qs_error *err) {
  unsigned char b;
  int extra;
  if (is_null) *is_null = 0;
  if (n < 1) return qs_error_set(err, QS_INTERFACE, "malformed MySQL packet: %s is missing", what);
  b = (unsigned char)p[0];
  if (b < 0xfb) {
    *v = b;
    *size = 1;
    return QS_OK;
  }
  if (b == 0xfb && is_null) {
    *is_null = 1;
    *v = 0;
    *size = 1;
    return QS_OK;
  }
  switch (b) {
    case 0xfc: extra = 2; break;
    case 0xfd: extra = 3; break;
    case 0xfe: extra = 8; break;
    default:
      return qs_error_set(err, QS_INTERFACE, "malformed MySQL packet: %s starts with 0x%02x, not a "
                          "length-encoded integer", what, b);
  }
  if (n - 1 < (size_t)extra)
    return qs_error_set(err, QS_INTERFACE, "malformed MySQL packet: %s (a %d-byte length-encoded "
                        "integer) runs past the packet", what, extra + 1);
  *v = get_le(p + 1, extra);
  *size = 1 + (size_t)extra;
  return QS_OK;
}

void qs_my_put_lenenc(qs_buf *out, uint64_t v) {
  if (v < 0xfb) {
    qs_buf_putc(out, (char)v);
  } else if (v <= 0xffff) {
    qs_buf_putc(out, (char)0xfc);
    put_le(out, v, 2);
  } else if (v <= 0xffffff) {
    qs_buf_putc(out, (char)0xfd);
    put_le(out, v, 3);
  } else {
    qs_buf_putc(out, (char)0xfe);
    put_le(out, v, 8);
  }
}

/* ---- parsing: a cursor over one payload --------------------------------- */

typedef struct cursor {
  const char *p;
  size_t n, at;
  const char *packet;     /* its name, for messages */
  qs_error *err;
} cursor;

static cursor cursor_of(const qs_my_span *pl, const char *packet, qs_error *err) {
  cursor c;
  c.p = pl->p;
  c.n = pl->n;
  c.at = 0;
  c.packet = packet;
  c.err = err;
  return c;
}

static int bad(cursor *c, const char *what) {
  return qs_error_set(c->err, QS_INTERFACE, "malformed MySQL %s packet: %s (at byte %zu of %zu)",
                      c->packet, what, c->at, c->n);
}

static size_t left(const cursor *c) { return c->n - c->at; }

static int take_int(cursor *c, int bytes, uint64_t *v, const char *what) {
  if (left(c) < (size_t)bytes) return bad(c, what);
  *v = get_le(c->p + c->at, bytes);
  c->at += (size_t)bytes;
  return QS_OK;
}

static int take_u(cursor *c, int bytes, unsigned *v, const char *what) {
  uint64_t x = 0;
  TRY(take_int(c, bytes, &x, what));
  *v = (unsigned)x;
  return QS_OK;
}

static int take_fixed(cursor *c, size_t k, qs_my_span *s, const char *what) {
  if (left(c) < k) return bad(c, what);
  s->p = c->p + c->at;
  s->n = k;
  c->at += k;
  return QS_OK;
}

static int take_cstr(cursor *c, qs_my_span *s, const char *what) {
  const char *start = c->p + c->at;
  const char *nul = left(c) ? memchr(start, '\0', left(c)) : NULL;
  if (nul == NULL) return bad(c, what);
  s->p = start;
  s->n = (size_t)(nul - start);
  c->at += s->n + 1;
  return QS_OK;
}

static int take_lenenc(cursor *c, uint64_t *v, int *is_null, const char *what) {
  size_t size;
  int rc;
  if (left(c) == 0) return bad(c, what);
  rc = qs_my_lenenc(c->p + c->at, left(c), v, is_null, &size, what, c->err);
  if (rc != QS_OK)   /* the same fault, said with the packet's name */
    return qs_error_set(c->err, QS_INTERFACE, "malformed MySQL %s packet: %s is not a complete "
                        "length-encoded integer (at byte %zu of %zu)", c->packet, what, c->at, c->n);
  c->at += size;
  return QS_OK;
}

/* A length-encoded string; is_null (when not NULL) admits 0xfb. */
static int take_lenstr(cursor *c, qs_my_span *s, int *is_null, const char *what) {
  uint64_t len;
  TRY(take_lenenc(c, &len, is_null, what));
  if (is_null && *is_null) {
    s->p = NULL;
    s->n = 0;
    return QS_OK;
  }
  if (len > left(c)) return bad(c, what);
  s->p = c->p + c->at;
  s->n = (size_t)len;
  c->at += (size_t)len;
  return QS_OK;
}

static int at_end(cursor *c) {
  if (c->at != c->n) return bad(c, "bytes left over after its last field");
  return QS_OK;
}

static unsigned char head(const qs_my_span *pl) { return pl->n ? (unsigned char)pl->p[0] : 0; }

int qs_my_is_err(const qs_my_span *pl) { return pl->n > 0 && head(pl) == 0xff; }
int qs_my_is_ok(const qs_my_span *pl) { return pl->n > 0 && head(pl) == 0x00; }
int qs_my_is_eof(const qs_my_span *pl) {
  return pl->n > 0 && head(pl) == 0xfe && pl->n < QS_MY_MAX_PACKET;
}

const char *qs_my_packet_name(const qs_my_span *pl) {
  if (pl->n == 0) return "empty";
  switch (head(pl)) {
    case 0x00: return "OK";
    case 0xff: return "ERR";
    case 0xfe: return "EOF";
    case 0xfb: return "LOCAL INFILE request";
    default: return "data";
  }
}

/* ---- connection phase ------------------------------------------------------ */

int qs_my_parse_handshake(const qs_my_span *pl, qs_my_handshake *out, qs_error *err) {
  cursor c = cursor_of(pl, "Initial Handshake", err);
  qs_my_span part1 = {NULL, 0}, part2 = {NULL, 0}, skip;
  unsigned caplo = 0, caphi = 0, authlen = 0;
  memset(out, 0, sizeof *out);
  TRY(take_u(&c, 1, &out->protocol, "no protocol version"));
  if (out->protocol != 10) {
    c.at = 0;
    if (out->protocol == 0xff) return bad(&c, "an ERR packet (check qs_my_is_err first)");
    return qs_error_set(err, QS_INTERFACE, "MySQL server speaks protocol version %u (only 10 is "
                        "supported)", out->protocol);
  }
  TRY(take_cstr(&c, &out->server_version, "server version without its NUL terminator"));
  {
    uint64_t id = 0;
    TRY(take_int(&c, 4, &id, "connection id runs past the packet"));
    out->connection_id = (uint32_t)id;
  }
  TRY(take_fixed(&c, 8, &part1, "scramble runs past the packet"));
  TRY(take_fixed(&c, 1, &skip, "filler byte missing"));
  TRY(take_u(&c, 2, &caplo, "capability flags run past the packet"));
  memcpy(out->scramble, part1.p, 8);
  out->scramble_len = 8;
  out->capabilities = caplo;
  if (left(&c) == 0) return QS_OK;   /* a pre-4.1 server stops here */
  TRY(take_u(&c, 1, &out->charset, "character set runs past the packet"));
  TRY(take_u(&c, 2, &out->status, "status flags run past the packet"));
  TRY(take_u(&c, 2, &caphi, "upper capability flags run past the packet"));
  out->capabilities |= (uint32_t)caphi << 16;
  TRY(take_u(&c, 1, &authlen, "auth data length runs past the packet"));
  TRY(take_fixed(&c, 10, &skip, "reserved bytes run past the packet"));
  if (out->capabilities & QS_MY_CLIENT_SECURE_CONNECTION) {
    /* part 2 is max(13, authlen - 8) bytes, the last one a NUL */
    size_t k = authlen > 8 ? authlen - 8 : 0;
    if (k < 13) k = 13;
    TRY(take_fixed(&c, k, &part2, "scramble part 2 runs past the packet"));
    if (part2.n && part2.p[part2.n - 1] == '\0') part2.n--;
    if (part2.n > sizeof out->scramble - 8) return bad(&c, "scramble longer than 32 bytes");
    memcpy(out->scramble + 8, part2.p, part2.n);
    out->scramble_len = 8 + part2.n;
  }
  if (out->capabilities & QS_MY_CLIENT_PLUGIN_AUTH) {
    /* some servers leave the name's NUL out: then it is the packet's rest */
    const char *nul = left(&c) ? memchr(c.p + c.at, '\0', left(&c)) : NULL;
    out->plugin.p = c.p + c.at;
    out->plugin.n = nul ? (size_t)(nul - (c.p + c.at)) : left(&c);
    c.at = c.n;
  }
  return QS_OK;
}

/* The response's first 32 bytes: flags, max packet, charset, filler. */
static void login_head(qs_buf *pl, const qs_my_login *l) {
  static const char zeros[23] = {0};
  put_le(pl, l->capabilities, 4);
  put_le(pl, QS_MY_MAX_PAYLOAD, 4);
  qs_buf_putc(pl, (char)l->charset);
  qs_buf_append(pl, zeros, sizeof zeros);
}

int qs_my_ssl_request(qs_buf *out, uint8_t *seq, const qs_my_login *l, qs_error *err) {
  qs_buf pl;
  if (!(l->capabilities & QS_MY_CLIENT_SSL))
    return qs_error_set(err, QS_ARGUMENT, "MySQL SSL request without the CLIENT_SSL capability");
  qs_buf_init(&pl);
  login_head(&pl, l);
  return emit(out, seq, &pl, "SSL request", err);
}

int qs_my_handshake_response(qs_buf *out, uint8_t *seq, const qs_my_login *l, qs_error *err) {
  qs_buf pl;
  if ((l->capabilities & QS_MY_CLIENT_CONNECT_WITH_DB) && l->database == NULL)
    return qs_error_set(err, QS_ARGUMENT, "MySQL handshake response: CONNECT_WITH_DB without a database");
  if (!(l->capabilities & QS_MY_CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA) && l->auth_len > 255)
    return qs_error_set(err, QS_ARGUMENT, "MySQL handshake response: %zu bytes of auth data (at most 255 "
                        "without PLUGIN_AUTH_LENENC_CLIENT_DATA)", l->auth_len);
  qs_buf_init(&pl);
  login_head(&pl, l);
  qs_buf_append(&pl, l->user ? l->user : "", strlen(l->user ? l->user : "") + 1);
  if (l->capabilities & QS_MY_CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA)
    qs_my_put_lenenc(&pl, l->auth_len);
  else
    qs_buf_putc(&pl, (char)l->auth_len);
  if (l->auth_len) qs_buf_append(&pl, (const char *)l->auth, l->auth_len);
  if (l->capabilities & QS_MY_CLIENT_CONNECT_WITH_DB)
    qs_buf_append(&pl, l->database, strlen(l->database) + 1);
  if (l->capabilities & QS_MY_CLIENT_PLUGIN_AUTH)
    qs_buf_append(&pl, l->plugin ? l->plugin : "", strlen(l->plugin ? l->plugin : "") + 1);
  return emit(out, seq, &pl, "HandshakeResponse41", err);
}

int qs_my_auth_data(qs_buf *out, uint8_t *seq, const unsigned char *data, size_t n,
                    qs_error *err) {
  return qs_my_frame(out, seq, n ? (const char *)data : "", n, err);
}

int qs_my_parse_auth_switch(const qs_my_span *pl, qs_my_span *plugin, qs_my_span *data,
                            qs_error *err) {
  cursor c = cursor_of(pl, "AuthSwitchRequest", err);
  if (head(pl) != 0xfe || pl->n == 0) return bad(&c, "does not start with 0xfe");
  c.at = 1;
  if (left(&c) == 0) {
    /* the old "use the 3.23 scramble" request: no name at all */
    return bad(&c, "no plugin name (the pre-4.1 password switch is not supported)");
  }
  TRY(take_cstr(&c, plugin, "plugin name without its NUL terminator"));
  data->p = c.p + c.at;
  data->n = left(&c);
  if (data->n && data->p[data->n - 1] == '\0') data->n--;
  return QS_OK;
}

int qs_my_parse_auth_more(const qs_my_span *pl, qs_my_span *data, qs_error *err) {
  cursor c = cursor_of(pl, "AuthMoreData", err);
  if (pl->n == 0 || head(pl) != 0x01) return bad(&c, "does not start with 0x01");
  data->p = pl->p + 1;
  data->n = pl->n - 1;
  return QS_OK;
}

/* ---- generic responses -------------------------------------------------------- */

int qs_my_parse_ok(const qs_my_span *pl, qs_my_ok *out, qs_error *err) {
  cursor c = cursor_of(pl, "OK", err);
  memset(out, 0, sizeof *out);
  if (pl->n == 0 || (head(pl) != 0x00 && head(pl) != 0xfe)) return bad(&c, "does not start with 0x00 or 0xfe");
  c.at = 1;
  TRY(take_lenenc(&c, &out->affected_rows, NULL, "affected rows"));
  TRY(take_lenenc(&c, &out->last_insert_id, NULL, "last insert id"));
  TRY(take_u(&c, 2, &out->status, "status flags run past the packet"));
  TRY(take_u(&c, 2, &out->warnings, "warning count runs past the packet"));
  /* without session tracking the rest is the human-readable info */
  out->info.p = c.p + c.at;
  out->info.n = left(&c);
  return QS_OK;
}

int qs_my_parse_err(const qs_my_span *pl, qs_my_err *out, qs_error *err) {
  cursor c = cursor_of(pl, "ERR", err);
  memset(out, 0, sizeof *out);
  if (!qs_my_is_err(pl)) return bad(&c, "does not start with 0xff");
  c.at = 1;
  TRY(take_u(&c, 2, &out->code, "error code runs past the packet"));
  if (left(&c) > 0 && c.p[c.at] == '#') {
    qs_my_span st = {NULL, 0};
    c.at++;
    TRY(take_fixed(&c, 5, &st, "SQL state runs past the packet"));
    memcpy(out->sqlstate, st.p, 5);
    out->sqlstate[5] = '\0';
  }
  out->message.p = c.p + c.at;
  out->message.n = left(&c);
  return QS_OK;
}

int qs_my_err_to_error(const qs_my_span *pl, qs_error *err) {
  qs_my_err e;
  char msg[512];
  size_t n;
  TRY(qs_my_parse_err(pl, &e, err));
  n = e.message.n < sizeof msg - 1 ? e.message.n : sizeof msg - 1;
  memcpy(msg, e.message.p, n);
  msg[n] = '\0';
  return qs_mysql_error_set(err, e.code, e.sqlstate[0] ? e.sqlstate : NULL, msg);
}

int qs_my_parse_eof(const qs_my_span *pl, unsigned *warnings, unsigned *status, qs_error *err) {
  cursor c = cursor_of(pl, "EOF", err);
  if (head(pl) != 0xfe || pl->n == 0 || pl->n >= 9) return bad(&c, "not an 0xfe packet under 9 bytes");
  c.at = 1;
  TRY(take_u(&c, 2, warnings, "warning count runs past the packet"));
  TRY(take_u(&c, 2, status, "status flags run past the packet"));
  return at_end(&c);
}

int qs_my_parse_end(const qs_my_span *pl, qs_my_ok *out, qs_error *err) {
  if (pl->n == 5 && head(pl) == 0xfe) {
    memset(out, 0, sizeof *out);
    return qs_my_parse_eof(pl, &out->warnings, &out->status, err);
  }
  if (!qs_my_is_eof(pl)) {
    cursor c = cursor_of(pl, "EOF", err);
    return bad(&c, "not an 0xfe packet ending a result");
  }
  return qs_my_parse_ok(pl, out, err);
}

/* ---- commands ----------------------------------------------------------------- */

/* A command packet: the byte, then body (n bytes). */
static int command(qs_buf *out, uint8_t *seq, int cmd, const char *body, size_t n,
                   const char *what, qs_error *err) {
  qs_buf pl;
  if (n > QS_MY_MAX_PAYLOAD - 1)
    return qs_error_set(err, QS_ARGUMENT, "MySQL %s of %zu bytes is over the %u-byte limit", what, n,
                        QS_MY_MAX_PAYLOAD);
  qs_buf_init(&pl);
  qs_buf_putc(&pl, (char)cmd);
  if (n) qs_buf_append(&pl, body, n);
  *seq = 0;
  return emit(out, seq, &pl, what, err);
}

static int command_id(qs_buf *out, uint8_t *seq, int cmd, uint32_t id, const char *what,
                      qs_error *err) {
  char d[4];
  int i;
  for (i = 0; i < 4; i++) d[i] = (char)(unsigned char)(id >> (8 * i));
  return command(out, seq, cmd, d, 4, what, err);
}

int qs_my_com_query(qs_buf *out, uint8_t *seq, const char *sql, size_t n, qs_error *err) {
  return command(out, seq, QS_MY_COM_QUERY, sql, n, "COM_QUERY", err);
}
int qs_my_com_ping(qs_buf *out, uint8_t *seq, qs_error *err) {
  return command(out, seq, QS_MY_COM_PING, NULL, 0, "COM_PING", err);
}
int qs_my_com_quit(qs_buf *out, uint8_t *seq, qs_error *err) {
  return command(out, seq, QS_MY_COM_QUIT, NULL, 0, "COM_QUIT", err);
}
int qs_my_com_init_db(qs_buf *out, uint8_t *seq, const char *db, qs_error *err) {
  return command(out, seq, QS_MY_COM_INIT_DB, db, strlen(db), "COM_INIT_DB", err);
}
int qs_my_com_stmt_prepare(qs_buf *out, uint8_t *seq, const char *sql, size_t n, qs_error *err) {
  return command(out, seq, QS_MY_COM_STMT_PREPARE, sql, n, "COM_STMT_PREPARE", err);
}
int qs_my_com_stmt_close(qs_buf *out, uint8_t *seq, uint32_t id, qs_error *err) {
  return command_id(out, seq, QS_MY_COM_STMT_CLOSE, id, "COM_STMT_CLOSE", err);
}
int qs_my_com_stmt_reset(qs_buf *out, uint8_t *seq, uint32_t id, qs_error *err) {
  return command_id(out, seq, QS_MY_COM_STMT_RESET, id, "COM_STMT_RESET", err);
}

int qs_my_com_stmt_execute(qs_buf *out, uint8_t *seq, uint32_t id, int n, const qs_value *vals,
                           qs_error *err) {
  qs_buf pl;
  int i;
  size_t bitmap;
  if (n < 0 || n > 65535)
    return qs_error_set(err, QS_ARGUMENT, "MySQL COM_STMT_EXECUTE: %d parameters (0 to 65535)", n);
  for (i = 0; i < n; i++) {
    qs_type t = vals[i].type;
    if (t != QS_TNULL && t != QS_TINT && t != QS_TBOOL && t != QS_TFLOAT && t != QS_TTEXT &&
        t != QS_TBLOB)
      return qs_error_set(err, QS_ARGUMENT, "MySQL COM_STMT_EXECUTE: parameter %d has unknown type %d",
                          i + 1, (int)t);
    if ((t == QS_TTEXT || t == QS_TBLOB) && vals[i].u.s.n > QS_MY_MAX_PAYLOAD)
      return qs_error_set(err, QS_ARGUMENT, "MySQL COM_STMT_EXECUTE: parameter %d of %zu bytes is over "
                          "the %u-byte limit", i + 1, vals[i].u.s.n, QS_MY_MAX_PAYLOAD);
  }
  qs_buf_init(&pl);
  qs_buf_putc(&pl, QS_MY_COM_STMT_EXECUTE);
  put_le(&pl, id, 4);
  qs_buf_putc(&pl, 0);          /* CURSOR_TYPE_NO_CURSOR */
  put_le(&pl, 1, 4);            /* iteration count */
  if (n > 0) {
    size_t at = pl.len;
    bitmap = ((size_t)n + 7) / 8;
    for (i = 0; (size_t)i < bitmap; i++) qs_buf_putc(&pl, 0);
    for (i = 0; i < n; i++)
      if (vals[i].type == QS_TNULL && !pl.failed) pl.p[at + (size_t)i / 8] |= (char)(1 << (i % 8));
    qs_buf_putc(&pl, 1);        /* new-params-bound: the types follow */
    for (i = 0; i < n; i++) {
      int t;
      switch (vals[i].type) {
        case QS_TINT: t = QS_MY_TYPE_LONGLONG; break;
        case QS_TBOOL: t = QS_MY_TYPE_TINY; break;
        case QS_TFLOAT: t = QS_MY_TYPE_DOUBLE; break;
        case QS_TTEXT: t = QS_MY_TYPE_STRING; break;
        case QS_TBLOB: t = QS_MY_TYPE_BLOB; break;
        default: t = QS_MY_TYPE_NULL; break;
      }
      qs_buf_putc(&pl, (char)t);
      qs_buf_putc(&pl, 0);      /* signed */
    }
    for (i = 0; i < n; i++) {
      const qs_value *v = &vals[i];
      switch (v->type) {
        case QS_TINT: put_le(&pl, (uint64_t)v->u.i, 8); break;
        case QS_TBOOL: qs_buf_putc(&pl, (char)(v->u.i != 0)); break;
        case QS_TFLOAT: {
          uint64_t bits;
          memcpy(&bits, &v->u.f, 8);
          put_le(&pl, bits, 8);
          break;
        }
        case QS_TTEXT:
        case QS_TBLOB:
          qs_my_put_lenenc(&pl, v->u.s.n);
          if (v->u.s.n) qs_buf_append(&pl, v->u.s.p, v->u.s.n);
          break;
        default: break;
      }
    }
  }
  if (pl.len > QS_MY_MAX_PAYLOAD) {
    size_t len = pl.len;
    qs_buf_free(&pl);
    return qs_error_set(err, QS_ARGUMENT, "MySQL COM_STMT_EXECUTE of %zu bytes is over the %u-byte "
                        "limit", len, QS_MY_MAX_PAYLOAD);
  }
  *seq = 0;
  return emit(out, seq, &pl, "COM_STMT_EXECUTE", err);
}

/* ---- results -------------------------------------------------------------------- */

int qs_my_parse_prepare_ok(const qs_my_span *pl, qs_my_prepare_ok *out, qs_error *err) {
  cursor c = cursor_of(pl, "COM_STMT_PREPARE OK", err);
  uint64_t id = 0;
  memset(out, 0, sizeof *out);
  if (!qs_my_is_ok(pl)) return bad(&c, "does not start with 0x00");
  c.at = 1;
  TRY(take_int(&c, 4, &id, "statement id runs past the packet"));
  out->stmt_id = (uint32_t)id;
  TRY(take_u(&c, 2, &out->ncols, "column count runs past the packet"));
  TRY(take_u(&c, 2, &out->nparams, "parameter count runs past the packet"));
  if (left(&c) > 0) {
    unsigned filler;
    TRY(take_u(&c, 1, &filler, "filler missing"));
    if (left(&c) > 0) TRY(take_u(&c, 2, &out->warnings, "warning count runs past the packet"));
  }
  /* MariaDB may add a metadata-follows byte (MARIADB_CLIENT_CACHE_METADATA,
  ** not asked): nothing else may follow */
  return at_end(&c);
}

int qs_my_parse_column_count(const qs_my_span *pl, unsigned *count, qs_error *err) {
  cursor c = cursor_of(pl, "result set header", err);
  uint64_t v;
  if (pl->n > 0 && head(pl) == 0xfb)
    return qs_error_set(err, QS_NOTSUPPORTED, "MySQL server asks for a LOCAL INFILE file: not supported");
  TRY(take_lenenc(&c, &v, NULL, "column count"));
  if (v == 0 || v > 4096) return bad(&c, "column count out of range (1 to 4096)");
  *count = (unsigned)v;
  return at_end(&c);
}

int qs_my_parse_column(const qs_my_span *pl, qs_my_column *out, qs_error *err) {
  cursor c = cursor_of(pl, "column definition", err);
  qs_my_span catalog;
  uint64_t fixed = 0;
  unsigned filler;
  uint64_t len = 0;
  memset(out, 0, sizeof *out);
  TRY(take_lenstr(&c, &catalog, NULL, "catalog"));
  TRY(take_lenstr(&c, &out->schema, NULL, "schema"));
  TRY(take_lenstr(&c, &out->table, NULL, "table"));
  TRY(take_lenstr(&c, &out->org_table, NULL, "original table"));
  TRY(take_lenstr(&c, &out->name, NULL, "name"));
  TRY(take_lenstr(&c, &out->org_name, NULL, "original name"));
  TRY(take_lenenc(&c, &fixed, NULL, "length of the fixed fields"));
  if (fixed != 0x0c) return bad(&c, "fixed fields are not 12 bytes");
  TRY(take_u(&c, 2, &out->charset, "character set runs past the packet"));
  TRY(take_int(&c, 4, &len, "column length runs past the packet"));
  out->length = (uint32_t)len;
  TRY(take_u(&c, 1, &out->type, "type runs past the packet"));
  TRY(take_u(&c, 2, &out->flags, "flags run past the packet"));
  TRY(take_u(&c, 1, &out->decimals, "decimals run past the packet"));
  TRY(take_u(&c, 2, &filler, "filler runs past the packet"));
  /* a field list's default value (COM_FIELD_LIST, never sent) could follow */
  return at_end(&c);
}

int qs_my_parse_text_row(const qs_my_span *pl, int ncols, qs_my_cell *cells, qs_error *err) {
  cursor c = cursor_of(pl, "text row", err);
  int i;
  for (i = 0; i < ncols; i++) {
    qs_my_span s = {NULL, 0};
    int is_null;
    if (left(&c) == 0)
      return qs_error_set(err, QS_INTERFACE, "malformed MySQL text row packet: %d columns where the "
                          "result has %d", i, ncols);
    TRY(take_lenstr(&c, &s, &is_null, "column value runs past the packet"));
    cells[i].p = is_null ? NULL : s.p;
    cells[i].n = s.n;
  }
  if (left(&c) != 0)
    return qs_error_set(err, QS_INTERFACE, "malformed MySQL text row packet: more columns than the "
                        "result's %d", ncols);
  return QS_OK;
}

/* The fixed size of a binary value of type t, 0 for a length-prefixed one. */
static int fixed_size(unsigned t) {
  switch (t) {
    case QS_MY_TYPE_TINY: return 1;
    case QS_MY_TYPE_SHORT: case QS_MY_TYPE_YEAR: return 2;
    case QS_MY_TYPE_LONG: case QS_MY_TYPE_INT24: case QS_MY_TYPE_FLOAT: return 4;
    case QS_MY_TYPE_LONGLONG: case QS_MY_TYPE_DOUBLE: return 8;
    default: return 0;
  }
}

static int is_temporal(unsigned t) {
  return t == QS_MY_TYPE_DATE || t == QS_MY_TYPE_DATETIME || t == QS_MY_TYPE_TIMESTAMP ||
         t == QS_MY_TYPE_TIME;
}

int qs_my_parse_binary_row(const qs_my_span *pl, int ncols, const qs_my_column *cols,
                           qs_my_cell *cells, qs_error *err) {
  cursor c = cursor_of(pl, "binary row", err);
  size_t bitmap = ((size_t)ncols + 7 + 2) / 8;
  qs_my_span bits = {NULL, 0};
  int i;
  if (!qs_my_is_ok(pl)) return bad(&c, "does not start with 0x00");
  c.at = 1;
  TRY(take_fixed(&c, bitmap, &bits, "null bitmap runs past the packet"));
  for (i = 0; i < ncols; i++) {
    size_t bit = (size_t)i + 2;
    int size;
    if ((unsigned char)bits.p[bit / 8] & (1u << (bit % 8))) {
      cells[i].p = NULL;
      cells[i].n = 0;
      continue;
    }
    size = fixed_size(cols[i].type);
    if (size) {
      qs_my_span v = {NULL, 0};
      TRY(take_fixed(&c, (size_t)size, &v, "value runs past the packet"));
      cells[i].p = v.p;
      cells[i].n = v.n;
    } else {
      qs_my_span v = {NULL, 0};
      TRY(take_lenstr(&c, &v, NULL, "value runs past the packet"));
      if (is_temporal(cols[i].type)) {
        int ok = cols[i].type == QS_MY_TYPE_TIME
                     ? (v.n == 0 || v.n == 8 || v.n == 12)
                     : (v.n == 0 || v.n == 4 || v.n == 7 || v.n == 11);
        if (!ok) return bad(&c, "a date or time value of an impossible length");
      }
      cells[i].p = v.p;
      cells[i].n = v.n;
    }
  }
  return at_end(&c);
}

/* ---- binary values -> qs_value ------------------------------------------------- */

static int is_binary_string(const qs_my_column *col) {
  switch (col->type) {
    case QS_MY_TYPE_BLOB: case QS_MY_TYPE_TINY_BLOB: case QS_MY_TYPE_MEDIUM_BLOB:
    case QS_MY_TYPE_LONG_BLOB: case QS_MY_TYPE_STRING: case QS_MY_TYPE_VAR_STRING:
      return col->charset == QS_MY_BINARY_CHARSET;
    default:
      return 0;
  }
}

/* The fraction libmariadb appends: decimals (1..6) digits of the
** microseconds; none for 0 or the "not fixed" 31/39. */
static int add_fraction(char *s, int len, unsigned decimals, unsigned long usec) {
  char ms[16];
  if (decimals == 0 || decimals > 6) return len;
  snprintf(ms, sizeof ms, ".%06lu", usec % 1000000ul);
  ms[decimals + 1] = '\0';
  memcpy(s + len, ms, decimals + 2);
  return len + (int)decimals + 1;
}

static int format_temporal(const qs_my_column *col, const unsigned char *d, size_t n, char *s) {
  unsigned year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  unsigned long usec = 0;
  int len;
  if (col->type == QS_MY_TYPE_TIME) {
    int neg = 0;
    unsigned long days = 0, hours;
    if (n >= 8) {
      neg = d[0] != 0;
      days = (unsigned long)get_le((const char *)d + 1, 4);
      hour = d[5];
      minute = d[6];
      second = d[7];
    }
    if (n >= 12) usec = (unsigned long)get_le((const char *)d + 8, 4);
    hours = days * 24ul + hour;
    len = snprintf(s, QS_MY_SCRATCH - 16, "%s%02lu:%02u:%02u", neg ? "-" : "", hours % 100000000ul,
                   minute, second);
    return add_fraction(s, len, col->decimals, usec);
  }
  if (n >= 4) {
    year = (unsigned)get_le((const char *)d, 2);
    month = d[2];
    day = d[3];
  }
  if (col->type == QS_MY_TYPE_DATE)
    return snprintf(s, QS_MY_SCRATCH, "%04u-%02u-%02u", year, month, day);
  if (n >= 7) {
    hour = d[4];
    minute = d[5];
    second = d[6];
  }
  if (n >= 11) usec = (unsigned long)get_le((const char *)d + 7, 4);
  len = snprintf(s, QS_MY_SCRATCH - 16, "%04u-%02u-%02u %02u:%02u:%02u", year, month, day, hour,
                 minute, second);
  return add_fraction(s, len, col->decimals, usec);
}

void qs_my_binary_value(const qs_my_column *col, const qs_my_cell *cell, qs_value *out,
                        char scratch[QS_MY_SCRATCH]) {
  const char *p = cell->p;
  int uns = (col->flags & QS_MY_FLAG_UNSIGNED) != 0;
  out->type = QS_TNULL;
  if (p == NULL) return;
  switch (col->type) {
    case QS_MY_TYPE_TINY:
      out->type = QS_TINT;
      out->u.i = uns ? (int64_t)(unsigned char)p[0] : (int64_t)(signed char)p[0];
      return;
    case QS_MY_TYPE_SHORT:
    case QS_MY_TYPE_YEAR: {
      uint16_t v = (uint16_t)get_le(p, 2);
      out->type = QS_TINT;
      out->u.i = uns || col->type == QS_MY_TYPE_YEAR ? (int64_t)v : (int64_t)(int16_t)v;
      return;
    }
    case QS_MY_TYPE_LONG:
    case QS_MY_TYPE_INT24: {
      uint32_t v = (uint32_t)get_le(p, 4);
      out->type = QS_TINT;
      out->u.i = uns ? (int64_t)v : (int64_t)(int32_t)v;
      return;
    }
    case QS_MY_TYPE_LONGLONG:
      out->type = QS_TINT;
      out->u.i = (int64_t)get_le(p, 8);   /* unsigned above 2^63: the bit pattern, as libmariadb */
      return;
    case QS_MY_TYPE_FLOAT: {
      uint32_t bits = (uint32_t)get_le(p, 4);
      float f;
      memcpy(&f, &bits, 4);
      out->type = QS_TFLOAT;
      out->u.f = (double)f;
      return;
    }
    case QS_MY_TYPE_DOUBLE: {
      uint64_t bits = get_le(p, 8);
      memcpy(&out->u.f, &bits, 8);
      out->type = QS_TFLOAT;
      return;
    }
    case QS_MY_TYPE_DATE: case QS_MY_TYPE_DATETIME: case QS_MY_TYPE_TIMESTAMP:
    case QS_MY_TYPE_TIME: {
      int len = format_temporal(col, (const unsigned char *)p, cell->n, scratch);
      out->type = QS_TTEXT;
      out->u.s.p = scratch;
      out->u.s.n = len > 0 ? (size_t)len : 0;
      return;
    }
    default:
      out->type = is_binary_string(col) ? QS_TBLOB : QS_TTEXT;
      out->u.s.p = p;
      out->u.s.n = cell->n;
      return;
  }
}
