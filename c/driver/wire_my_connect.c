/*
** wire_my_connect.c: the MySQL/MariaDB wire driver's connection (wire_my.c
** has its statements): the options (refused by name when unknown), the
** socket (localhost = the server's unix socket, as libmariadb) or an
** external transport, the greeting, TLS through a "tls" wait, login with
** mysql_native_password or caching_sha2_password and the auth switch, the
** waits' fd and deadline, and the external transport's byte hand-over.
**
** Options: host, port, user, password, database, unix_socket,
** connect_timeout, read_timeout, write_timeout (seconds), charset (utf8mb4
** only), transport (socket or external), ssl (true/false) and ssl_ca,
** ssl_cert, ssl_key (any of them asks for TLS: external transport only; the
** transport checks certificates). Any other key is refused by name.
*/
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "wire_my_conn.h"

static const char *const known_options[] = {
  "host", "port", "user", "password", "database", "unix_socket", "connect_timeout",
  "read_timeout", "write_timeout", "charset", "transport", "ssl", "ssl_ca", "ssl_cert",
  "ssl_key", NULL
};

/* ---- options ------------------------------------------------------------ */

char *qs__myw_dup(const char *s) {
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

/* ---- connecting ----------------------------------------------------------------- */

int qs__myw_xOpen(int nopt, const char *const *keys, const char *const *vals, qs_dconn **out,
                 qs_error *err) {
  qs_dconn *c;
  int rc;
  *out = NULL;
  c = calloc(1, sizeof *c);
  if (c == NULL) return qs__myw_nomem(err);
  qs_wire_io_init(&c->io);
  qs_buf_init(&c->join);
  *out = c;   /* from here on the caller closes it, on failure too */
  if (!qs__opts_copy(&c->opts, nopt, keys, vals)) return qs__myw_nomem(err);
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
    if (rc != QS_OK) return qs__myw_protocol_fail(c, rc, err);
    c->status = ok.status;
    *done = 1;
    return QS_OK;
  }
  if (qs_my_is_err(pl)) return qs__myw_server_error(c, pl, err);
  if (pl->n > 0 && (unsigned char)pl->p[0] == 0xfe) {   /* AuthSwitchRequest */
    qs_my_span plugin, data;
    unsigned char auth[260];
    size_t n = 0;
    int rc = qs_my_parse_auth_switch(pl, &plugin, &data, err);
    if (rc != QS_OK) return qs__myw_protocol_fail(c, rc, err);
    if (plugin.n >= sizeof c->plugin || data.n > sizeof c->scramble)
      return qs__myw_protocol_fail(c, qs_error_set(err, QS_INTERFACE, "malformed MySQL AuthSwitchRequest: "
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
    if (rc != QS_OK) return qs__myw_protocol_fail(c, rc, err);
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
    return qs__myw_protocol_fail(c, qs_error_set(err, QS_INTERFACE, "mywire: unexpected AuthMoreData for "
                                         "plugin %s", c->plugin), err);
  }
  return qs__myw_protocol_fail(c, qs_error_set(err, QS_INTERFACE, "mywire: unexpected %s packet during "
                                       "authentication", qs_my_packet_name(pl)), err);
}

static int connect_steps(qs_dconn *c, qs_error *err) {
  qs_my_span pl;
  int rc;
  for (;;) {
    if (c->timed_out) return qs__myw_timed_out(c, err);
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
        rc = qs__myw_next_packet(c, &pl, err);
        if (rc != QS_OK) return rc;
        if (qs_my_is_err(&pl)) return qs__myw_server_error(c, &pl, err);
        rc = qs_my_parse_handshake(&pl, &h, err);
        if (rc != QS_OK) return qs__myw_protocol_fail(c, rc, err);
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
        rc = qs__myw_flush(c, err);
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
        rc = qs__myw_flush(c, err);
        if (rc != QS_OK) return rc;
        c->phase = CP_AUTH;
        break;
      case CP_AUTH: {
        int done;
        rc = qs__myw_next_packet(c, &pl, err);
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

int qs__myw_xConnect(qs_dconn *c, qs_error *err) {
  int rc;
  if (c->op != OP_CONNECT) {
    if (c->connected) return QS_OK;
    rc = qs__myw_enter(c, OP_CONNECT, NULL, err);
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
    return qs__myw_leave(c, rc);
  }
  c->connected = 1;
  return qs__myw_leave(c, QS_OK);
}

int qs__myw_xWait(qs_dconn *c, int *fd, int *timeout_ms) {
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

void qs__myw_xReady(qs_dconn *c, int events) {
  if (events & QS_WAIT_TIMEOUT) c->timed_out = 1;
}

size_t qs__myw_xOutput(qs_dconn *c, const char **p) { return qs_wire_io_pending(&c->io, p); }
void qs__myw_xOutputDone(qs_dconn *c, size_t n) { qs_wire_io_sent(&c->io, n); }
int qs__myw_xInput(qs_dconn *c, const char *p, size_t n, qs_error *err) {
  int rc = qs_wire_io_feed(&c->io, p, n);
  if (rc == QS_NOMEM) return qs__myw_nomem(err);
  if (rc == QS_MISUSE)
    return qs_error_set(err, QS_MISUSE, "mywire: this connection has its own socket, not an "
                        "external transport: it takes no bytes from the caller");
  return rc;
}

