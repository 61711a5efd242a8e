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
** Options: host, port, user, password, database, unix_socket,
** connect_timeout, read_timeout, write_timeout (seconds), charset (utf8mb4
** only), transport (socket or external), ssl (true/false) and ssl_ca,
** ssl_cert, ssl_key (any of them asks for TLS: external transport only; the
** transport checks certificates). Any other key is refused by name.
*/
#include "quicksilver.h"
#include "auth.h"
#include "my_common.h"
#include "mywire.h"
#include "opts.h"
#include "wire_io.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* Server and client error numbers this driver reports itself (the ones
** libmariadb gives for the same conditions). */
#define CR_CONNECTION_ERROR 2002
#define CR_CONN_HOST_ERROR 2003
#define CR_SERVER_GONE_ERROR 2006
#define CR_SERVER_LOST 2013
#define CR_MALFORMED_PACKET 2027
#define ER_NEED_REPREPARE 1615

/* libmariadb's default socket when the host is localhost (or none). */
#define DEFAULT_SOCKET "/run/mysqld/mysqld.sock"

static const char *const known_options[] = {
  "host", "port", "user", "password", "database", "unix_socket", "connect_timeout",
  "read_timeout", "write_timeout", "charset", "transport", "ssl", "ssl_ca", "ssl_cert",
  "ssl_key", NULL
};

typedef enum op_kind {
  OP_NONE = 0, OP_CONNECT, OP_PREPARE, OP_STEP, OP_EXEC, OP_EXECMANY, OP_TIMEOUT,
  OP_BROKEN                  /* left mid-operation: the protocol's state is unknown */
} op_kind;

static const char *const op_names[] = {
  "nothing", "a connect", "a prepare", "a statement's execution", "an exec",
  "an executemany", "a timeout change", "a broken operation"
};

/* A streamed result is handed up in batches of at most this many rows or
** bytes of row packets (the batch's memory is all a stream holds). */
#define STREAM_ROWS 256
#define STREAM_BYTES (64 * 1024)

/* Connect phases. */
enum { CP_TCP = 0, CP_GREETING, CP_SSL_SENT, CP_TLS, CP_LOGIN_SENT, CP_AUTH };
/* Command phases: sending, then reading the reply. */
enum { XP_START = 0, XP_SEND, XP_PREPARE, XP_EXECUTE, XP_DRAIN, XP_QUERY };
/* Where a prepare's reply is. */
enum { PP_OK = 0, PP_PARAMS, PP_PARAMS_EOF, PP_COLS, PP_COLS_EOF, PP_DONE };
/* Where a result's reply is. */
enum { RP_HEAD = 0, RP_COLS, RP_COLS_EOF, RP_ROWS };

typedef struct result_reader {
  int phase;
  unsigned ncols, got;
  int skip_rows;             /* rows of a result being dropped unread (a binary one without s) */
} result_reader;

struct qs_dconn {
  qs_wire_io io;
  qs_opts opts;
  /* from the options */
  const char *host, *port, *user, *password, *database, *unix_socket;
  int external, tls_wanted, tls_on;
  int connect_timeout, read_timeout, write_timeout;   /* seconds; 0: none */
  /* the session */
  int connected;
  uint32_t conn_id;
  uint32_t caps;             /* what was agreed */
  int mariadb;
  unsigned status;
  unsigned char scramble[32];
  size_t scramble_len;
  char plugin[32];           /* the auth plugin in use */
  int64_t changes, last_id;
  /* the framing */
  uint8_t seq;
  qs_buf join;
  size_t held;               /* bytes of the last packet read, consumed at the next read */
  /* the operation in progress */
  op_kind op;
  int phase, sub;
  result_reader rr;
  qs_dstmt *op_stmt;
  char *op_sql;
  int renewed;
  int op_i, op_nsets, op_nparams;
  const qs_value *op_vals;
  int64_t op_changes;
  double deadline;           /* connect: qs_clock() time it fails at; 0: none */
  int timed_out;             /* the last wait ran out of time */
  /* statement ids whose COM_STMT_CLOSE goes out with the next operation */
  uint32_t *dead;
  int ndead, cap_dead;
  int drain;                 /* a stream left mid-way: the next operation reads
                             ** the rest of its result (rows dropped) first */
  /* a text row's cells while results are read and dropped */
  qs_my_cell *cells;
  unsigned cap_cells;
};

struct qs_dstmt {
  qs_dconn *c;
  char *sql;
  size_t sqln;
  uint32_t id;
  int has_id;                /* 0: to be prepared (again) before it runs */
  int nparams;
  qs_value *params;          /* bound values (their bytes are the caller's) */
  int ncols;
  char **names;
  qs_my_column *cols;        /* type, flags, charset, decimals (no spans) */
  /* the buffered result */
  qs_buf rows;               /* the row packets' payloads, end to end */
  size_t *roff;              /* offset and length of each: 2 per row */
  size_t nrows, caprows, cur;
  int executed;
  int stream;                /* the next execution streams (xStream) */
  int live;                  /* streaming: its operation goes on while batches come */
  qs_error pend;             /* a streamed result's failure, after the rows before it */
  qs_my_cell *cells;         /* the current row */
  char *scratch;             /* QS_MY_SCRATCH per column (dates as text) */
};

static int nomem(qs_error *err) { return qs_error_set(err, QS_NOMEM, "out of memory"); }

/* ---- options ------------------------------------------------------------ */

static char *dup(const char *s) {
  size_t n = strlen(s) + 1;
  char *p = malloc(n);
  if (p) memcpy(p, s, n);
  return p;
}

static int truthy(const char *v) {
  return strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0 || strcasecmp(v, "yes") == 0 ||
         strcasecmp(v, "on") == 0;
}

static int seconds_option(const qs_opts *o, const char *name, int *out, qs_error *err) {
  const char *v = qs__opts_get(o, name);
  char *end;
  long n;
  *out = 0;
  if (v == NULL) return QS_OK;
  n = strtol(v, &end, 10);
  if (end == v || *end != '\0' || n < 0 || n > 86400 * 365)
    return qs_error_set(err, QS_ARGUMENT, "mywire: option %s must be a number of seconds, not '%s'",
                        name, v);
  *out = (int)n;
  return QS_OK;
}

/* Reads the options into c; refuses an unknown key or a value it cannot honour. */
static int read_options(qs_dconn *c, qs_error *err) {
  const qs_opts *o = &c->opts;
  const char *v;
  int i, rc;
  for (i = 0; i < o->n; i++) {
    int k, known = 0;
    for (k = 0; known_options[k]; k++)
      if (strcmp(o->keys[i], known_options[k]) == 0) known = 1;
    if (!known)
      return qs_error_set(err, QS_ARGUMENT, "mywire: unknown connection option '%s'", o->keys[i]);
  }
  c->host = qs__opts_get(o, "host");
  c->port = qs__opts_get(o, "port");
  c->user = qs__opts_get(o, "user");
  c->password = qs__opts_get(o, "password");
  c->database = qs__opts_get(o, "database");
  c->unix_socket = qs__opts_get(o, "unix_socket");
  if (c->database && c->database[0] == '\0') c->database = NULL;
  if ((v = qs__opts_get(o, "transport")) != NULL) {
    if (strcmp(v, "external") == 0) c->external = 1;
    else if (strcmp(v, "socket") != 0)
      return qs_error_set(err, QS_ARGUMENT, "mywire: option transport must be 'socket' or 'external', "
                          "not '%s'", v);
  }
  if ((v = qs__opts_get(o, "charset")) != NULL && strcasecmp(v, "utf8mb4") != 0)
    return qs_error_set(err, QS_NOTSUPPORTED, "mywire: charset '%s' is not supported (the wire driver "
                        "speaks utf8mb4)", v);
  if ((v = qs__opts_get(o, "ssl")) != NULL) c->tls_wanted = truthy(v);
  if (qs__opts_get(o, "ssl_ca") || qs__opts_get(o, "ssl_cert") || qs__opts_get(o, "ssl_key")) c->tls_wanted = 1;
  if (c->tls_wanted && !c->external)
    return qs_error_set(err, QS_NOTSUPPORTED, "mywire: TLS needs transport=external (an OpenResty "
                        "cosocket does the TLS); the wire driver's own socket has no TLS library: "
                        "use the mariadb driver for TLS outside nginx");
  if ((rc = seconds_option(o, "connect_timeout", &c->connect_timeout, err)) != QS_OK) return rc;
  if ((rc = seconds_option(o, "read_timeout", &c->read_timeout, err)) != QS_OK) return rc;
  if ((rc = seconds_option(o, "write_timeout", &c->write_timeout, err)) != QS_OK) return rc;
  return QS_OK;
}

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
static int protocol_fail(qs_dconn *c, int rc, qs_error *err) {
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

static int flush(qs_dconn *c, qs_error *err) {
  int rc = qs_wire_io_flush(&c->io, err);
  if (rc == QS_OK || rc == QS_WAIT) return rc;
  return io_fail(c, rc, CR_SERVER_GONE_ERROR, err);
}

/* The next packet of the reply: QS_OK with *pl (valid until the next call),
** QS_WAIT, or an error. */
static int next_packet(qs_dconn *c, qs_my_span *pl, qs_error *err) {
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
    if (rc != QS_WAIT) return protocol_fail(c, rc, err);
    rc = qs_wire_io_fill(&c->io, err);
    if (rc == QS_WAIT) return rc;
    if (rc != QS_OK) return io_fail(c, rc, CR_SERVER_LOST, err);
  }
}

/* A server ERR packet as the driver's error (the command is over; the
** connection stays usable unless the error says it is gone). */
static int server_error(qs_dconn *c, const qs_my_span *pl, qs_error *err) {
  qs_my_err e;
  int rc = qs_my_parse_err(pl, &e, err);
  if (rc != QS_OK) return protocol_fail(c, rc, err);
  rc = qs_my_err_to_error(pl, err);
  if (err->invalidated) c->op = OP_BROKEN;   /* the server ends the session (KILL, shutdown) */
  return rc;
}

/* ---- operations ------------------------------------------------------------ */

static int enter(qs_dconn *c, op_kind kind, qs_dstmt *s, qs_error *err) {
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

static int leave(qs_dconn *c, int rc) {
  if (c->op != OP_BROKEN) c->op = OP_NONE;
  c->op_stmt = NULL;
  free(c->op_sql);
  c->op_sql = NULL;
  return rc;
}

/* The wait ran out of time: the operation cannot go on (its reply may come
** later and be taken for another's), so the connection is given up. */
static int timed_out(qs_dconn *c, qs_error *err) {
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

/* ---- connecting ----------------------------------------------------------------- */

static int xOpen(int nopt, const char *const *keys, const char *const *vals, qs_dconn **out,
                 qs_error *err) {
  qs_dconn *c;
  int rc;
  *out = NULL;
  c = calloc(1, sizeof *c);
  if (c == NULL) return nomem(err);
  qs_wire_io_init(&c->io);
  qs_buf_init(&c->join);
  *out = c;   /* from here on the caller closes it, on failure too */
  if (!qs__opts_copy(&c->opts, nopt, keys, vals)) return nomem(err);
  rc = read_options(c, err);
  if (rc != QS_OK) return rc;
  if (c->external) {
    char peer[128];
    snprintf(peer, sizeof peer, "%s:%s", c->host ? c->host : "localhost", c->port ? c->port : "3306");
    qs_wire_io_external(&c->io, peer);
    return QS_OK;
  }
  if (c->unix_socket || c->host == NULL || strcmp(c->host, "localhost") == 0)
    /* as libmariadb: localhost means the server's unix socket */
    rc = qs_wire_io_open(&c->io, c->unix_socket ? c->unix_socket : DEFAULT_SOCKET, NULL, NULL, err);
  else
    rc = qs_wire_io_open(&c->io, c->host, c->port ? c->port : "3306", NULL, err);
  if (rc != QS_OK) {
    char msg[384];
    snprintf(msg, sizeof msg, "%s", err->message ? err->message : "cannot connect");
    qs_mysql_error_set(err, c->io.peer[0] == '/' ? CR_CONNECTION_ERROR : CR_CONN_HOST_ERROR,
                       "HY000", msg);
    err->invalidated = 1;
    return QS_OPERATIONAL;
  }
  return QS_OK;
}

static int contains(const char *p, size_t n, const char *word) {
  size_t k = strlen(word), i;
  for (i = 0; i + k <= n; i++)
    if (memcmp(p + i, word, k) == 0) return 1;
  return 0;
}

static void login_of(qs_dconn *c, qs_my_login *l, const unsigned char *auth, size_t n) {
  memset(l, 0, sizeof *l);
  l->capabilities = c->caps;
  l->charset = QS_MY_UTF8MB4;
  l->user = c->user ? c->user : "";
  l->auth = auth;
  l->auth_len = n;
  l->database = c->database;
  l->plugin = c->plugin;
}

/* The answer of plugin to scramble; QS_NOTSUPPORTED for a plugin we lack. */
static int auth_answer(qs_dconn *c, const char *plugin, const unsigned char *scramble, size_t slen,
                       unsigned char *out, size_t *n, qs_error *err) {
  const char *pw = c->password ? c->password : "";
  if (strcmp(plugin, "mysql_native_password") == 0) {
    qs_auth_mysql_native(pw, scramble, slen, out, n);
  } else if (strcmp(plugin, "caching_sha2_password") == 0) {
    qs_auth_caching_sha2(pw, scramble, slen, out, n);
  } else if (strcmp(plugin, "mysql_clear_password") == 0) {
    size_t len = strlen(pw);
    if (!c->tls_on)
      return qs_error_set(err, QS_NOTSUPPORTED, "mywire: the server asks for the password in clear "
                          "text (mysql_clear_password) over a connection without TLS: refused");
    if (len > 255) return qs_error_set(err, QS_ARGUMENT, "mywire: password too long");
    memcpy(out, pw, len + 1);
    *n = len + 1;
  } else {
    return qs_error_set(err, QS_NOTSUPPORTED, "mywire: the server asks for the authentication plugin "
                        "'%s', which the wire driver does not speak (mysql_native_password, "
                        "caching_sha2_password)", plugin);
  }
  return QS_OK;
}

static int send_login(qs_dconn *c, qs_error *err) {
  unsigned char auth[260];
  size_t n = 0;
  qs_my_login l;
  int rc;
  if (strcmp(c->plugin, "mysql_native_password") != 0 && strcmp(c->plugin, "caching_sha2_password") != 0)
    snprintf(c->plugin, sizeof c->plugin, "mysql_native_password");   /* the server switches if need be */
  rc = auth_answer(c, c->plugin, c->scramble, c->scramble_len, auth, &n, err);
  if (rc != QS_OK) return rc;
  login_of(c, &l, auth, n);
  rc = qs_my_handshake_response(&c->io.out, &c->seq, &l, err);
  memset(auth, 0, sizeof auth);
  return rc;
}

/* One packet of the authentication exchange: QS_OK when the server said OK. */
static int auth_step(qs_dconn *c, const qs_my_span *pl, int *done, qs_error *err) {
  *done = 0;
  if (qs_my_is_ok(pl)) {
    qs_my_ok ok;
    int rc = qs_my_parse_ok(pl, &ok, err);
    if (rc != QS_OK) return protocol_fail(c, rc, err);
    c->status = ok.status;
    *done = 1;
    return QS_OK;
  }
  if (qs_my_is_err(pl)) return server_error(c, pl, err);
  if (pl->n > 0 && (unsigned char)pl->p[0] == 0xfe) {   /* AuthSwitchRequest */
    qs_my_span plugin, data;
    unsigned char auth[260];
    size_t n = 0;
    int rc = qs_my_parse_auth_switch(pl, &plugin, &data, err);
    if (rc != QS_OK) return protocol_fail(c, rc, err);
    if (plugin.n >= sizeof c->plugin || data.n > sizeof c->scramble)
      return protocol_fail(c, qs_error_set(err, QS_INTERFACE, "malformed MySQL AuthSwitchRequest: "
                                           "plugin name or data too long"), err);
    memcpy(c->plugin, plugin.p, plugin.n);
    c->plugin[plugin.n] = '\0';
    memcpy(c->scramble, data.p, data.n);
    c->scramble_len = data.n;
    rc = auth_answer(c, c->plugin, c->scramble, c->scramble_len, auth, &n, err);
    if (rc != QS_OK) return rc;
    rc = qs_my_auth_data(&c->io.out, &c->seq, auth, n, err);
    memset(auth, 0, sizeof auth);
    return rc;
  }
  if (pl->n > 0 && (unsigned char)pl->p[0] == 0x01) {   /* AuthMoreData */
    qs_my_span data;
    int rc = qs_my_parse_auth_more(pl, &data, err);
    if (rc != QS_OK) return protocol_fail(c, rc, err);
    if (strcmp(c->plugin, "caching_sha2_password") == 0 && data.n == 1 && data.p[0] == 3)
      return QS_OK;   /* fast authentication succeeded: the OK follows */
    if (strcmp(c->plugin, "caching_sha2_password") == 0 && data.n == 1 && data.p[0] == 4) {
      const char *pw = c->password ? c->password : "";
      if (!c->tls_on)
        return qs_error_set(err, QS_NOTSUPPORTED, "mywire: caching_sha2_password needs the full "
                            "authentication (the server has no cached entry for this user), which "
                            "sends the password: over TLS only (ssl=true with the external transport); "
                            "RSA key exchange is not supported. Log in once with another client to "
                            "fill the server's cache, or use TLS");
      return qs_my_auth_data(&c->io.out, &c->seq, (const unsigned char *)pw, strlen(pw) + 1, err);
    }
    return protocol_fail(c, qs_error_set(err, QS_INTERFACE, "mywire: unexpected AuthMoreData for "
                                         "plugin %s", c->plugin), err);
  }
  return protocol_fail(c, qs_error_set(err, QS_INTERFACE, "mywire: unexpected %s packet during "
                                       "authentication", qs_my_packet_name(pl)), err);
}

static int connect_steps(qs_dconn *c, qs_error *err) {
  qs_my_span pl;
  int rc;
  for (;;) {
    if (c->timed_out) return timed_out(c, err);
    switch (c->phase) {
      case CP_TCP:
        rc = qs_wire_io_connected(&c->io, err);
        if (rc == QS_WAIT) return rc;
        if (rc != QS_OK) {
          char msg[384];
          snprintf(msg, sizeof msg, "%s", err->message ? err->message : "cannot connect");
          return qs_mysql_error_set(err, c->io.peer[0] == '/' ? CR_CONNECTION_ERROR : CR_CONN_HOST_ERROR,
                                    "HY000", msg);
        }
        c->seq = 0;
        c->phase = CP_GREETING;
        break;
      case CP_GREETING: {
        qs_my_handshake h;
        rc = next_packet(c, &pl, err);
        if (rc != QS_OK) return rc;
        if (qs_my_is_err(&pl)) return server_error(c, &pl, err);
        rc = qs_my_parse_handshake(&pl, &h, err);
        if (rc != QS_OK) return protocol_fail(c, rc, err);
        if (!(h.capabilities & QS_MY_CLIENT_PROTOCOL_41) || !(h.capabilities & QS_MY_CLIENT_SECURE_CONNECTION))
          return qs_error_set(err, QS_NOTSUPPORTED, "mywire: the server does not speak protocol 4.1 "
                              "with secure authentication");
        c->conn_id = h.connection_id;
        c->status = h.status;
        memcpy(c->scramble, h.scramble, h.scramble_len);
        c->scramble_len = h.scramble_len;
        c->mariadb = contains(h.server_version.p, h.server_version.n, "MariaDB");
        if (h.plugin.n > 0 && h.plugin.n < sizeof c->plugin) {
          memcpy(c->plugin, h.plugin.p, h.plugin.n);
          c->plugin[h.plugin.n] = '\0';
        } else {
          snprintf(c->plugin, sizeof c->plugin, "mysql_native_password");
        }
        c->caps = QS_MY_CLIENT_WANTED & h.capabilities;
        if (c->database) {
          if (!(h.capabilities & QS_MY_CLIENT_CONNECT_WITH_DB))
            return qs_error_set(err, QS_NOTSUPPORTED, "mywire: the server cannot take a database at connect");
          c->caps |= QS_MY_CLIENT_CONNECT_WITH_DB;
        }
        if (c->tls_wanted) {
          qs_my_login l;
          if (!(h.capabilities & QS_MY_CLIENT_SSL)) {
            qs_error_set(err, QS_OPERATIONAL, "mywire: TLS was asked for (ssl) and the server at %s "
                         "does not offer it", c->io.peer);
            err->invalidated = 1;
            return QS_OPERATIONAL;
          }
          c->caps |= QS_MY_CLIENT_SSL;
          login_of(c, &l, NULL, 0);
          rc = qs_my_ssl_request(&c->io.out, &c->seq, &l, err);
          if (rc != QS_OK) return rc;
          c->phase = CP_SSL_SENT;
        } else {
          rc = send_login(c, err);
          if (rc != QS_OK) return rc;
          c->phase = CP_LOGIN_SENT;
        }
        break;
      }
      case CP_SSL_SENT:
        rc = flush(c, err);
        if (rc != QS_OK) return rc;
        c->phase = CP_TLS;
        break;
      case CP_TLS:
        rc = qs_wire_io_starttls(&c->io, err);
        if (rc != QS_OK) return rc;
        c->tls_on = 1;
        rc = send_login(c, err);
        if (rc != QS_OK) return rc;
        c->phase = CP_LOGIN_SENT;
        break;
      case CP_LOGIN_SENT:
        rc = flush(c, err);
        if (rc != QS_OK) return rc;
        c->phase = CP_AUTH;
        break;
      case CP_AUTH: {
        int done;
        rc = next_packet(c, &pl, err);
        if (rc != QS_OK) return rc;
        rc = auth_step(c, &pl, &done, err);
        if (rc != QS_OK) return rc;
        if (done) return QS_OK;
        c->phase = CP_LOGIN_SENT;   /* send what the step queued (if anything), read on */
        break;
      }
      default:
        return qs_error_set(err, QS_INTERNAL, "mywire: connect in an unknown phase %d", c->phase);
    }
  }
}

static int xConnect(qs_dconn *c, qs_error *err) {
  int rc;
  if (c->op != OP_CONNECT) {
    if (c->connected) return QS_OK;
    rc = enter(c, OP_CONNECT, NULL, err);
    if (rc != QS_OK) return rc;
    c->phase = CP_TCP;
    c->deadline = c->connect_timeout > 0 ? qs_clock() + c->connect_timeout : 0;
  }
  rc = connect_steps(c, err);
  if (rc == QS_WAIT) return rc;
  c->deadline = 0;
  if (rc != QS_OK) {
    err->invalidated = 1;
    c->op = OP_BROKEN;
    return leave(c, rc);
  }
  c->connected = 1;
  return leave(c, QS_OK);
}

static int xWait(qs_dconn *c, int *fd, int *timeout_ms) {
  int events;
  *fd = -1;
  *timeout_ms = -1;
  if (c->op == OP_NONE || c->op == OP_BROKEN) return 0;
  events = qs_wire_io_wait(&c->io, fd);
  if (c->deadline > 0) {
    double left = c->deadline - qs_clock();
    *timeout_ms = left > 0 ? (int)(left * 1000.0) + 1 : 0;
  } else if ((events & QS_WAIT_READ) && c->read_timeout > 0) {
    *timeout_ms = c->read_timeout * 1000;
  } else if ((events & QS_WAIT_WRITE) && c->write_timeout > 0) {
    *timeout_ms = c->write_timeout * 1000;
  }
  return events;
}

static void xReady(qs_dconn *c, int events) {
  if (events & QS_WAIT_TIMEOUT) c->timed_out = 1;
}

static size_t xOutput(qs_dconn *c, const char **p) { return qs_wire_io_pending(&c->io, p); }
static void xOutputDone(qs_dconn *c, size_t n) { qs_wire_io_sent(&c->io, n); }
static int xInput(qs_dconn *c, const char *p, size_t n, qs_error *err) {
  int rc = qs_wire_io_feed(&c->io, p, n);
  if (rc == QS_NOMEM) return nomem(err);
  if (rc == QS_MISUSE)
    return qs_error_set(err, QS_MISUSE, "mywire: this connection has its own socket, not an "
                        "external transport: it takes no bytes from the caller");
  return rc;
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
    rc = next_packet(c, &pl, err);
    if (rc != QS_OK) return rc;
    switch (c->sub) {
      case PP_OK: {
        qs_my_prepare_ok ok;
        if (qs_my_is_err(&pl)) return server_error(c, &pl, err);
        rc = qs_my_parse_prepare_ok(&pl, &ok, err);
        if (rc != QS_OK) return protocol_fail(c, rc, err);
        s->id = ok.stmt_id;
        s->has_id = 1;
        if (ok.ncols > 4096 || ok.nparams > 65535)
          return protocol_fail(c, qs_error_set(err, QS_INTERFACE, "mywire: prepare reply with %u "
                                               "columns", ok.ncols), err);
        if (s->params == NULL || s->nparams != (int)ok.nparams) {
          free(s->params);
          s->params = calloc((size_t)ok.nparams + 1, sizeof *s->params);
          if (s->params == NULL) return nomem(err);
        }
        s->nparams = (int)ok.nparams;
        if (!alloc_columns(s, ok.ncols)) return nomem(err);
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
          if (rc != QS_OK) return protocol_fail(c, rc, err);
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
        if (rc != QS_OK) return protocol_fail(c, rc, err);
        c->sub = c->sub == PP_PARAMS_EOF && s->ncols ? PP_COLS : PP_DONE;
        break;
      }
      case PP_COLS: {
        qs_my_column col;
        rc = qs_my_parse_column(&pl, &col, err);
        if (rc != QS_OK) return protocol_fail(c, rc, err);
        if (!set_column(s, c->rr.got, &col)) return nomem(err);
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
    rc = next_packet(c, &pl, err);
    if (rc != QS_OK) return rc;
    switch (c->rr.phase) {
      case RP_HEAD: {
        unsigned n;
        if (qs_my_is_err(&pl)) return server_error(c, &pl, err);
        if (qs_my_is_ok(&pl)) {
          qs_my_ok ok;
          rc = qs_my_parse_ok(&pl, &ok, err);
          if (rc != QS_OK) return protocol_fail(c, rc, err);
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
        if (rc != QS_OK) return protocol_fail(c, rc, err);
        /* as libmariadb: a statement with rows reports no count of its own */
        c->changes = -1;
        c->last_id = 0;
        if (s && !alloc_columns(s, n)) return nomem(err);
        if (s == NULL && n > c->cap_cells) {
          qs_my_cell *cells = realloc(c->cells, n * sizeof *cells);
          if (cells == NULL) return nomem(err);
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
        if (rc != QS_OK) return protocol_fail(c, rc, err);
        if (s && !set_column(s, c->rr.got, &col)) return nomem(err);
        if (++c->rr.got == c->rr.ncols) c->rr.phase = eof_expected(c) ? RP_COLS_EOF : RP_ROWS;
        break;
      }
      case RP_COLS_EOF: {
        qs_my_ok end;
        rc = qs_my_parse_end(&pl, &end, err);
        if (rc != QS_OK) return protocol_fail(c, rc, err);
        c->rr.phase = RP_ROWS;
        break;
      }
      case RP_ROWS:
        if (qs_my_is_err(&pl)) return server_error(c, &pl, err);
        if (qs_my_is_eof(&pl)) {
          qs_my_ok end;
          rc = qs_my_parse_end(&pl, &end, err);
          if (rc != QS_OK) return protocol_fail(c, rc, err);
          c->status = end.status;
          *more = (end.status & QS_MY_STATUS_MORE_RESULTS) != 0;
          return QS_OK;
        }
        if (c->rr.skip_rows) {
          /* dropped: a binary row cannot be checked without its columns' types */
        } else if (s) {
          rc = qs_my_parse_binary_row(&pl, s->ncols, s->cols, s->cells, err);
          if (rc != QS_OK) return protocol_fail(c, rc, err);
          if (!keep_row(s, &pl)) return nomem(err);
          if (s->live && (s->nrows >= STREAM_ROWS || s->rows.len >= STREAM_BYTES))
            return QS_ROW;   /* a streamed batch: handed up, the result goes on */
        } else {
          rc = qs_my_parse_text_row(&pl, (int)c->rr.ncols, c->cells, err);
          if (rc != QS_OK) return protocol_fail(c, rc, err);
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
    if (c->timed_out) return timed_out(c, err);
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
        rc = flush(c, err);
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
            if (!discard_handle(s)) return nomem(err);
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
    rc = enter(c, OP_PREPARE, NULL, err);
    if (rc != QS_OK) return rc;
    /* the text is read here, at the first call, and kept */
    s = calloc(1, sizeof *s);
    if (s == NULL || (s->sql = malloc(n + 1)) == NULL) {
      free(s);
      return leave(c, nomem(err));
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
      return leave(c, rc);
    }
    c->phase = XP_SEND;
  }
  for (;;) {
    if (c->timed_out) {
      rc = timed_out(c, err);
      break;
    }
    if (c->phase == XP_SEND) {
      rc = flush(c, err);
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
    return leave(c, rc);
  }
  *out = s;
  return leave(c, QS_OK);
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
    leave(c, rc);
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
    leave(c, QS_OK);
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
    rc = enter(c, OP_STEP, s, err);
    if (rc != QS_OK) return rc;
  }
  rc = run_stmt(s, err);
  if (rc == QS_WAIT) return rc;
  if (rc == QS_ROW) {   /* a streamed result's first batch: the operation goes on */
    s->executed = 1;
    return stream_step(s, err);
  }
  s->live = 0;
  leave(c, rc);
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
    if (c->timed_out) return timed_out(c, err);
    switch (c->phase) {
      case XP_START:
        if (c->drain && (rc = drain_rest(c, err)) != QS_OK) return rc;
        rc = queue_closes(c, err);
        if (rc == QS_OK) rc = qs_my_com_query(&c->io.out, &c->seq, c->op_sql, strlen(c->op_sql), err);
        if (rc != QS_OK) return rc;
        c->phase = XP_SEND;
        break;
      case XP_SEND:
        rc = flush(c, err);
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
  int rc = enter(c, kind, NULL, err);
  if (rc != QS_OK) return rc;
  c->op_sql = dup(sql);
  if (c->op_sql == NULL) return leave(c, nomem(err));
  return QS_OK;
}

static int xExec(qs_dconn *c, const char *sql, qs_error *err) {
  int rc;
  if (c->op != OP_EXEC) {
    rc = enter_exec(c, OP_EXEC, sql, err);
    if (rc != QS_OK) return rc;
  }
  rc = exec_steps(c, err);
  return rc == QS_WAIT ? rc : leave(c, rc);
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
    rc = enter(c, OP_EXECMANY, s, err);
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
      return leave(c, rc);
    }
    c->op_changes += c->changes;
    free_result(s);
    if (++c->op_i == c->op_nsets) break;
    xBind(s, c->op_nparams, c->op_vals + (size_t)c->op_i * (size_t)c->op_nparams, err);
    c->phase = XP_START;
    c->renewed = 0;
  }
  *changes = c->changes = c->op_changes;
  return leave(c, QS_OK);
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
  return rc == QS_WAIT ? rc : leave(c, rc);
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
    events = xWait(k, &fd, &tms);
    if (fd < 0 || events == 0) return qs_error_set(err, QS_INTERNAL, "mywire: cancel waits for nothing");
    pfd.fd = fd;
    pfd.events = (short)(((events & QS_WAIT_READ) ? POLLIN : 0) | ((events & QS_WAIT_WRITE) ? POLLOUT : 0));
    pfd.revents = 0;
    rc = poll(&pfd, 1, tms);
    if (rc == 0) xReady(k, QS_WAIT_TIMEOUT);
    else xReady(k, events);
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
    return nomem(err);
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
  rc = xOpen(n, keys, vals, &k, err);
  free(keys);
  free(vals);
  if (rc == QS_OK) rc = drive(k, xConnect, err);
  if (rc == QS_OK) {
    snprintf(sql, sizeof sql, "KILL QUERY %lu", id);
    rc = enter_exec(k, OP_EXEC, sql, err);
    if (rc == QS_OK) rc = drive(k, exec_steps, err);
    leave(k, rc);
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
  xOpen, xConnect, xClose, xWait, xReady, xPrepare, xParamCount, xBind, xStep,
  xColumnCount, xColumnName, xColumn, xReadonly, xReset, xFinalize, xChanges,
  xLastInsertId, xExec, xInTransaction, xExecMany, NULL, NULL, xSetTimeout, xCancel,
  xOutput, xOutputDone, xInput, xStream,
};
