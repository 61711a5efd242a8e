/*
** wire_pg_connect.c: the PostgreSQL wire driver's connection (wire_pg.c has
** its statements): options read as libpq's, the hosts of a list tried in
** order each with its own connect_timeout, SSLRequest (an external
** transport's TLS wait), startup, the password exchanges (cleartext, md5,
** SCRAM-SHA-256: c/protocol/auth), target_session_attrs checked against what
** the server reports or answers, closing with Terminate.
**
** Several hosts (libpq's lists: host=h1,h2 port=p1,p2, one port for all or
** one per host) are tried in order, each with its own connect_timeout; with
** target_session_attrs other than any, a server whose session does not
** match (PostgreSQL 14+ reports in_hot_standby and
** default_transaction_read_only at connect; an older one is asked SHOW
** transaction_read_only or pg_is_in_recovery()) is left for the next host,
** as libpq does (prefer-standby: a second round takes any). The error when
** none serves names every host tried and why.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire_pg_conn.h"

/* target_session_attrs: libpq's values, in the TSA_ order. */
static const char *const tsa_names[] = {
  "any", "read-write", "read-only", "primary", "standby", "prefer-standby", NULL
};

/* ---- connecting ----------------------------------------------------------- */

/* The connect failed for good: every host tried, each with why (one host:
** "connection to server at <peer> failed: <why>", as before lists). */
static int connect_failed(qs_dconn *c, qs_error *err) {
  qs_error_set(err, QS_OPERATIONAL, "could not connect to PostgreSQL: %s",
               c->tried.p && !c->tried.failed ? c->tried.p : "unknown error");
  err->invalidated = 1;
  c->dead = 1;
  qs_wire_io_close(&c->io);
  return qs__pgw_leave(c, QS_OPERATIONAL);
}

/* Notes why the host tried failed: peer NULL when err names it already
** (its socket could not even be opened). */
static void note_tried(qs_dconn *c, const char *peer, const qs_error *err) {
  const char *why = err->message ? err->message : "unknown error";
  if (c->tried.len > 0) qs_buf_putc(&c->tried, '\n');
  if (peer) qs_buf_printf(&c->tried, "connection to server at %s failed: %s", peer, why);
  else qs_buf_printf(&c->tried, "%s", why);
}

/* Item i of a comma list (an empty item: def), into out. */
static void list_item(const char *list, int i, const char *def, char **out, int *nomem) {
  const char *p = list, *end;
  size_t n;
  while (i-- > 0) p = strchr(p, ',') + 1;   /* the caller counted the items */
  end = strchr(p, ',');
  n = end ? (size_t)(end - p) : strlen(p);
  free(*out);
  *out = n == 0 ? qs__pgw_sdup(def) : qs__pgw_sdupn(p, n);
  if (*out == NULL) *nomem = 1;
}

static int count_items(const char *list) {
  int n = 1;
  for (; *list; list++) n += *list == ',';
  return n;
}

/* Opens the socket to host c->cur, its session state as new. QS_OK when the
** connect started; else err says why (c->io.peer names the host). */
static int open_host(qs_dconn *c, qs_error *err) {
  int nomem = 0;
  list_item(c->hostlist, c->cur, "/var/run/postgresql", &c->host, &nomem);
  list_item(c->portlist, c->nports == 1 ? 0 : c->cur, "5432", &c->port, &nomem);
  if (nomem) return qs_error_set(err, QS_NOMEM, "out of memory");
  qs_wire_io_close(&c->io);
  qs_wire_io_init(&c->io);
  qs_scram_free(&c->scram);
  qs_error_clear(&c->kept);
  c->datestyle[0] = c->intervalstyle[0] = '\0';
  c->have_key = 0;
  c->txn = 'I';
  c->nz = c->skip = 0;
  c->hot_standby = c->read_only = c->check_val = -1;
  c->phase = C_TCP;
  c->sub = 0;
  c->dead = 0;
  c->connect_deadline = c->connect_timeout > 0 ? qs_clock() + c->connect_timeout : 0;
  return qs_wire_io_open(&c->io, c->host, c->port, "pg", err);
}

/* The host tried failed (err says why; peer NULL when err names it): the
** next one is opened. QS_OK when one is (the connect goes on from C_TCP);
** else the connect fails naming every host tried. */
static int host_failed(qs_dconn *c, qs_error *err, const char *peer) {
  note_tried(c, peer, err);
  for (;;) {
    if (c->cur + 1 < c->nhosts) {
      c->cur++;
    } else if (c->tsa == TSA_PREFER_STANDBY && c->tsa_round == 0) {
      c->tsa_round = 1;   /* no standby: any server will do */
      c->cur = 0;
    } else {
      return connect_failed(c, err);
    }
    qs_error_clear(err);
    if (open_host(c, err) == QS_OK) return QS_OK;
    if (err->code == QS_NOMEM) return connect_failed(c, err);
    note_tried(c, NULL, err);
  }
}

/* A server whose session target_session_attrs refuses: libpq's words, or
** NULL when it serves. Unknown attributes count as "no" (asked first). */
static const char *session_mismatch(const qs_dconn *c) {
  int standby = c->hot_standby == 1, ro = standby || c->read_only == 1;
  switch (c->tsa) {
    case TSA_READ_WRITE: return ro ? "session is read-only" : NULL;
    case TSA_READ_ONLY: return ro ? NULL : "session is not read-only";
    case TSA_PRIMARY: return standby ? "server is in hot standby mode" : NULL;
    case TSA_STANDBY: return standby ? NULL : "server is not in hot standby mode";
    case TSA_PREFER_STANDBY:
      return c->tsa_round == 0 && !standby ? "server is not in hot standby mode" : NULL;
    default: return NULL;
  }
}

/* The query that answers what session_mismatch needs and the server did not
** report (before PostgreSQL 14), or NULL. */
static const char *session_query(const qs_dconn *c) {
  switch (c->tsa) {
    case TSA_READ_WRITE: case TSA_READ_ONLY:
      return c->hot_standby < 0 || c->read_only < 0 ? "SHOW transaction_read_only" : NULL;
    case TSA_PRIMARY: case TSA_STANDBY: case TSA_PREFER_STANDBY:
      return c->hot_standby < 0 ? "SELECT pg_catalog.pg_is_in_recovery()" : NULL;
    default: return NULL;
  }
}

/* Says goodbye to a server left for the next host (never waits). */
static void terminate_now(qs_dconn *c) {
  qs_error ignored;
  memset(&ignored, 0, sizeof ignored);
  if (c->io.external || c->io.fd < 0) return;
  qs_buf_reset(&c->io.out);
  c->io.out_off = 0;
  if (qs_pg_terminate(&c->io.out, &ignored) == QS_OK) (void)qs_wire_io_flush(&c->io, &ignored);
  qs_error_clear(&ignored);
}

/* SASLInitialResponse / SASLResponse ('p'): mechanism (or NULL), then data. */
static int sasl_message(qs_buf *out, const char *mechanism, const char *data, size_t n,
                        qs_error *err) {
  unsigned char len[4];
  size_t total = 4 + n + (mechanism ? strlen(mechanism) + 1 + 4 : 0);
  len[0] = (unsigned char)(total >> 24);
  len[1] = (unsigned char)(total >> 16);
  len[2] = (unsigned char)(total >> 8);
  len[3] = (unsigned char)total;
  qs_buf_putc(out, 'p');
  qs_buf_append(out, (const char *)len, 4);
  if (mechanism) {
    unsigned char dl[4];
    dl[0] = (unsigned char)(n >> 24);
    dl[1] = (unsigned char)(n >> 16);
    dl[2] = (unsigned char)(n >> 8);
    dl[3] = (unsigned char)n;
    qs_buf_append(out, mechanism, strlen(mechanism) + 1);
    qs_buf_append(out, (const char *)dl, 4);
  }
  qs_buf_append(out, data, n);
  if (out->failed) return qs_error_set(err, QS_NOMEM, "out of memory");
  return QS_OK;
}

static const char *auth_name(int32_t code) {
  switch (code) {
    case 2: return "Kerberos V5";
    case 6: return "SCM credentials";
    case 7: case 8: return "GSSAPI";
    case 9: return "SSPI";
    default: return "unknown";
  }
}

int qs__pgw_auth_message(qs_dconn *c, const qs_pg_msg *m, qs_error *err) {
  qs_pg_auth a;
  if (qs_pg_parse_auth(m, &a, err) != QS_OK) return err->code;
  if (a.code != QS_PG_AUTH_OK && a.code != QS_PG_AUTH_SASL_FINAL && c->password == NULL)
    return qs_error_set(err, QS_OPERATIONAL, "the server asks for a password "
                        "(authentication), and none was given");
  switch (a.code) {
    case QS_PG_AUTH_OK:
      return QS_OK;
    case QS_PG_AUTH_CLEARTEXT:
      return qs_pg_password(&c->io.out, c->password, err);
    case QS_PG_AUTH_MD5: {
      char resp[QS_PG_MD5_RESPONSE_SIZE];
      int rc;
      qs_auth_pg_md5(c->user, c->password, a.salt, resp);
      rc = qs_pg_password(&c->io.out, resp, err);
      memset(resp, 0, sizeof resp);
      return rc;
    }
    case QS_PG_AUTH_SASL: {
      qs_buf first;
      int rc;
      if (!qs_pg_auth_offers(&a, "SCRAM-SHA-256"))
        return qs_error_set(err, QS_NOTSUPPORTED, "the server offers no SASL authentication "
                            "mechanism this driver supports (it supports SCRAM-SHA-256; "
                            "channel binding, SCRAM-SHA-256-PLUS, is not supported)");
      qs_buf_init(&first);
      rc = qs_scram_client_first(&c->scram, &first, err);
      if (rc == QS_OK) rc = sasl_message(&c->io.out, "SCRAM-SHA-256", first.p, first.len, err);
      qs_buf_free(&first);
      return rc;
    }
    case QS_PG_AUTH_SASL_CONTINUE: {
      qs_buf final;
      int rc;
      qs_buf_init(&final);
      rc = qs_scram_client_final(&c->scram, c->password, a.data.p, a.data.n, &final, err);
      if (rc == QS_OK) rc = sasl_message(&c->io.out, NULL, final.p, final.len, err);
      qs_buf_free(&final);
      return rc;
    }
    case QS_PG_AUTH_SASL_FINAL:
      return qs_scram_verify(&c->scram, a.data.p, a.data.n, err);
    default:
      return qs_error_set(err, QS_NOTSUPPORTED, "the server asks for %s authentication "
                          "(request code %d); the wire driver supports trust, password, md5 "
                          "and SCRAM-SHA-256", auth_name(a.code), (int)a.code);
  }
}

static void free_conn(qs_dconn *c) {
  qs_wire_io_close(&c->io);
  free(c->host);
  free(c->port);
  free(c->user);
  if (c->password) {
    memset(c->password, 0, strlen(c->password));
    free(c->password);
  }
  free(c->database);
  free(c->app);
  free(c->options);
  qs__pg_notices_clear(&c->notices);
  qs_scram_free(&c->scram);
  qs_buf_free(&c->closeq);
  qs_buf_free(&c->tried);
  free(c->hostlist);
  free(c->portlist);
  qs_error_clear(&c->kept);
  free(c);
}

static int set_opt(char **slot, const char *v, qs_error *err) {
  free(*slot);
  *slot = qs__pgw_sdup(v);
  if (*slot == NULL) return qs_error_set(err, QS_NOMEM, "out of memory");
  return QS_OK;
}

int qs__pgw_xOpen(int nopt, const char *const *keys, const char *const *vals, qs_dconn **out,
                 qs_error *err) {
  qs_dconn *c;
  int i, rc = QS_OK, external = 0;
  *out = NULL;
  c = calloc(1, sizeof *c);
  if (c == NULL) return qs_error_set(err, QS_NOMEM, "out of memory");
  qs_wire_io_init(&c->io);
  qs_buf_init(&c->closeq);
  qs_buf_init(&c->tried);
  c->sslmode = SSL_PREFER;
  c->txn = 'I';
  c->hot_standby = c->read_only = c->check_val = -1;
  c->tag = qs__pg_name_tag(c);
  for (i = 0; i < nopt && rc == QS_OK; i++) {
    const char *k = keys[i], *v = vals[i] ? vals[i] : "";
    if (strcmp(k, "host") == 0 || strcmp(k, "hostaddr") == 0) rc = set_opt(&c->hostlist, v, err);
    else if (strcmp(k, "port") == 0) rc = set_opt(&c->portlist, v, err);
    else if (strcmp(k, "user") == 0 || strcmp(k, "username") == 0) rc = set_opt(&c->user, v, err);
    else if (strcmp(k, "password") == 0) rc = set_opt(&c->password, v, err);
    else if (strcmp(k, "database") == 0 || strcmp(k, "dbname") == 0) rc = set_opt(&c->database, v, err);
    else if (strcmp(k, "application_name") == 0) rc = set_opt(&c->app, v, err);
    else if (strcmp(k, "options") == 0) rc = set_opt(&c->options, v, err);
    else if (strcmp(k, QS_PG_OPT_PREPARED) == 0) {
      int prepared = 1;
      rc = qs__pg_prepared_option(v, &prepared, err);
      c->unnamed = !prepared;
    } else if (strcmp(k, "connect_timeout") == 0) {
      char *end;
      long t = strtol(v, &end, 10);
      if (end == v || *end != '\0')
        rc = qs_error_set(err, QS_ARGUMENT, "invalid connect_timeout '%s': whole seconds expected", v);
      else
        c->connect_timeout = t <= 0 ? 0 : t < 2 ? 2 : t > 86400 ? 86400 : (int)t;
    } else if (strcmp(k, "sslmode") == 0) {
      if (strcmp(v, "disable") == 0) c->sslmode = SSL_DISABLE;
      else if (strcmp(v, "allow") == 0) c->sslmode = SSL_ALLOW;
      else if (strcmp(v, "prefer") == 0) c->sslmode = SSL_PREFER;
      else if (strcmp(v, "require") == 0) c->sslmode = SSL_REQUIRE;
      else if (strcmp(v, "verify-ca") == 0 || strcmp(v, "verify-full") == 0)
        rc = qs_error_set(err, QS_NOTSUPPORTED, "sslmode=%s: the wire driver checks no "
                          "certificates (use the libpq driver, postgresql://, for it)", v);
      else
        rc = qs_error_set(err, QS_ARGUMENT, "invalid sslmode '%s' (disable, allow, prefer, "
                          "require)", v);
    } else if (strcmp(k, "target_session_attrs") == 0) {
      int t;
      for (t = 0; tsa_names[t] && strcmp(v, tsa_names[t]) != 0; t++) {}
      if (tsa_names[t]) c->tsa = t;
      else rc = qs_error_set(err, QS_ARGUMENT, "invalid target_session_attrs '%s' (any, read-write, "
                             "read-only, primary, standby, prefer-standby)", v);
    } else if (strncmp(k, "keepalives", 10) == 0 &&
               (k[10] == '\0' || strcmp(k + 10, "_idle") == 0 ||
                strcmp(k + 10, "_interval") == 0 || strcmp(k + 10, "_count") == 0)) {
      /* accepted as libpq takes them; the transport's keepalive is the
      ** system's (own socket) or the caller's (external) */
    } else if (strcmp(k, "gssencmode") == 0) {
      /* no GSSAPI here: disable and prefer go on without it, as libpq
      ** built without GSSAPI does */
      if (strcmp(v, "require") == 0)
        rc = qs_error_set(err, QS_NOTSUPPORTED, "gssencmode=require: the wire driver has no "
                          "GSSAPI encryption");
      else if (strcmp(v, "disable") != 0 && strcmp(v, "prefer") != 0)
        rc = qs_error_set(err, QS_ARGUMENT, "invalid gssencmode '%s' (disable, prefer, require)", v);
    } else if (strcmp(k, "transport") == 0) {
      if (strcmp(v, "external") == 0) external = 1;
      else if (strcmp(v, "socket") != 0)
        rc = qs_error_set(err, QS_ARGUMENT, "invalid transport '%s' (socket or external)", v);
    } else {
      rc = qs_error_set(err, QS_ARGUMENT, "unknown connection option '%s' for the PostgreSQL "
                        "wire driver (pgwire)", k);
    }
  }
  if (rc == QS_OK && c->user == NULL) {
    const char *u = getenv("PGUSER");
    if (u == NULL) u = getenv("USER");
    rc = set_opt(&c->user, u ? u : "postgres", err);
  }
  if (rc == QS_OK && c->portlist == NULL) rc = set_opt(&c->portlist, "5432", err);
  if (rc == QS_OK && c->hostlist == NULL) rc = set_opt(&c->hostlist, "/var/run/postgresql", err);
  if (rc == QS_OK) {
    c->nhosts = count_items(c->hostlist);
    c->nports = count_items(c->portlist);
    if (c->nports != 1 && c->nports != c->nhosts)
      rc = qs_error_set(err, QS_ARGUMENT, "could not match %d port numbers to %d hosts", c->nports,
                        c->nhosts);
    else if (external && c->nhosts > 1)
      rc = qs_error_set(err, QS_NOTSUPPORTED, "a host list (%d hosts) over an external transport: "
                        "its caller connects to one server", c->nhosts);
  }
  if (rc == QS_OK && external) {
    int nomem = 0;
    list_item(c->hostlist, 0, "/var/run/postgresql", &c->host, &nomem);
    list_item(c->portlist, 0, "5432", &c->port, &nomem);
    if (nomem) rc = qs_error_set(err, QS_NOMEM, "out of memory");
  }
  if (rc != QS_OK) {
    free_conn(c);
    return rc;
  }
  if (external) {
    char peer[128];
    snprintf(peer, sizeof peer, c->host[0] == '/' ? "%s/.s.PGSQL.%s" : "%s:%s", c->host, c->port);
    qs_wire_io_external(&c->io, peer);
    if (c->connect_timeout > 0) c->connect_deadline = qs_clock() + c->connect_timeout;
  } else if (open_host(c, err) != QS_OK) {
    /* the first host's socket could not be opened: the next ones' turn */
    if (err->code == QS_NOMEM || host_failed(c, err, NULL) != QS_OK) {
      c->op = OP_NONE;
      *out = c;   /* the caller closes it */
      return err->code;
    }
  }
  c->op = OP_CONNECT;
  c->phase = C_TCP;
  *out = c;
  return QS_OK;
}

/* In xConnect's loop: the host tried failed (err says why): on to the next
** one (from C_TCP: the loop goes on), or the connect fails naming every host
** tried. */
#define NEXT_HOST()                                                  \
  {                                                                  \
    if ((rc = host_failed(c, err, c->io.peer)) != QS_OK) return rc;  \
    continue;                                                        \
  }

int qs__pgw_xConnect(qs_dconn *c, qs_error *err) {
  int rc;
  if (c->op != OP_CONNECT) {
    if (c->op == OP_NONE && c->connected) return QS_OK;
    return qs_error_set(err, QS_MISUSE, "cannot begin a connect while %s is in progress on this "
                        "PostgreSQL connection (one operation at a time)", op_names[c->op]);
  }
  if ((c->seen & QS_WAIT_TIMEOUT) ||
      (c->connect_deadline > 0 && qs_clock() >= c->connect_deadline)) {
    qs_error_set(err, QS_OPERATIONAL, "timeout expired (connect_timeout %d s)", c->connect_timeout);
    if ((rc = host_failed(c, err, c->io.peer)) != QS_OK) return rc;   /* else: the next host */
  }
  c->seen = 0;
  for (;;) {
    switch (c->phase) {
      case C_TCP:
        rc = qs_wire_io_connected(&c->io, err);
        if (rc == QS_WAIT) return qs__pgw_waiting(c, rc);
        if (rc != QS_OK) NEXT_HOST();
        c->phase = C_SSLREQ;
        break;
      case C_SSLREQ:
        if (c->sslmode == SSL_REQUIRE && !c->io.external) {
          rc = qs_wire_io_starttls(&c->io, err);   /* the own socket has no TLS: its error */
          err->invalidated = 1;
          c->dead = 1;
          return qs__pgw_leave(c, rc);
        }
        if (c->io.external && (c->sslmode == SSL_PREFER || c->sslmode == SSL_REQUIRE)) {
          static const char req[8] = {0, 0, 0, 8, 4, (char)210, 22, 47};   /* 80877103 */
          qs_buf_append(&c->io.out, req, sizeof req);
          c->phase = C_SSLREPLY;
        } else {
          c->phase = C_STARTUP;
        }
        break;
      case C_SSLREPLY: {
        size_t n;
        const char *p;
        rc = qs__pgw_send_out(c, err);
        if (rc == QS_WAIT) return rc;
        if (rc != QS_OK) NEXT_HOST();
        p = qs_wire_io_data(&c->io, &n);
        if (n == 0) {
          rc = qs_wire_io_fill(&c->io, err);
          if (rc == QS_WAIT) return qs__pgw_waiting(c, rc);
          if (rc != QS_OK) NEXT_HOST();
          break;
        }
        if (p[0] == 'S') {
          qs_wire_io_consume(&c->io, 1);
          c->phase = C_TLS;
        } else if (p[0] == 'N') {
          qs_wire_io_consume(&c->io, 1);
          if (c->sslmode == SSL_REQUIRE) {
            qs_error_set(err, QS_OPERATIONAL, "server does not support SSL, but SSL was required");
            NEXT_HOST();
          }
          c->phase = C_STARTUP;
        } else {
          qs_error_set(err, QS_INTERFACE, "unexpected reply to the SSL request (byte 0x%02x)",
                       (unsigned char)p[0]);
          NEXT_HOST();
        }
        break;
      }
      case C_TLS:
        rc = qs_wire_io_starttls(&c->io, err);
        if (rc == QS_WAIT) return qs__pgw_waiting(c, rc);
        if (rc != QS_OK) NEXT_HOST();
        c->phase = C_STARTUP;
        break;
      case C_STARTUP: {
        const char *extra[9];
        int k = 0;
        extra[k++] = "client_encoding";
        extra[k++] = "UTF8";
        extra[k++] = "application_name";
        extra[k++] = c->app ? c->app : "quicksilver";
        if (c->options) {
          extra[k++] = "options";
          extra[k++] = c->options;
        }
        extra[k] = NULL;
        if (qs_pg_startup(&c->io.out, c->user, c->database, extra, err) != QS_OK)
          NEXT_HOST();
        c->nz = 1;
        c->skip = 0;
        c->phase = C_AUTH;
        break;
      }
      case C_AUTH:
        rc = qs__pgw_pump(c, 0, err);
        if (rc == QS_WAIT) return rc;
        if (rc != QS_OK) {   /* pump gave the connection up: the server's words, or why */
          c->op = OP_CONNECT;
          NEXT_HOST();
        }
        if (c->kept.code != QS_OK) {
          (void)qs__pgw_fail_kept(c, err);
          NEXT_HOST();
        }
        c->phase = C_CHECK;
        c->sub = 0;
        break;
      case C_CHECK: {
        /* target_session_attrs: what the server reported, or asked now */
        const char *why;
        if (c->sub == 0) {
          const char *q = session_query(c);
          c->sub = 1;
          if (q) {
            if (qs_pg_query(&c->io.out, q, err) != QS_OK) NEXT_HOST();
            c->nz = 1;
            c->check_val = -1;
            c->sub = 2;
          }
        }
        if (c->sub == 2) {
          rc = qs__pgw_pump(c, 0, err);
          if (rc == QS_WAIT) return rc;
          if (rc != QS_OK) {
            c->op = OP_CONNECT;
            NEXT_HOST();
          }
          if (c->kept.code != QS_OK || c->check_val < 0) {
            if (c->kept.code != QS_OK) (void)qs__pgw_fail_kept(c, err);
            else qs_error_set(err, QS_OPERATIONAL, "the session check gave no answer");
            terminate_now(c);
            NEXT_HOST();
          }
          if (c->tsa == TSA_READ_WRITE || c->tsa == TSA_READ_ONLY) {
            c->read_only = c->check_val;
            if (c->hot_standby < 0) c->hot_standby = 0;   /* a standby's sessions are read-only too */
          } else {
            c->hot_standby = c->check_val;
          }
          c->sub = 1;
        }
        why = session_mismatch(c);
        if (why) {
          terminate_now(c);
          qs_error_set(err, QS_OPERATIONAL, "%s", why);
          NEXT_HOST();
        }
        c->sub = 0;
        /* the ISO date style and "postgres" interval style, as libpq.c sets them */
        if ((c->datestyle[0] && strncmp(c->datestyle, "ISO", 3) != 0) ||
            (c->intervalstyle[0] && strcmp(c->intervalstyle, "postgres") != 0)) {
          if (qs_pg_query(&c->io.out, "SET datestyle TO ISO; SET intervalstyle TO postgres", err) != QS_OK)
            NEXT_HOST();
          c->nz = 1;
          c->phase = C_SET;
          break;
        }
        c->phase = -1;
        break;
      }
      case C_SET:
        rc = qs__pgw_pump(c, 0, err);
        if (rc == QS_WAIT) return rc;
        if (rc != QS_OK) {
          c->op = OP_CONNECT;
          NEXT_HOST();
        }
        if (c->kept.code != QS_OK) {
          rc = qs__pgw_fail_kept(c, err);
          err->invalidated = 1;
          c->dead = 1;
          return qs__pgw_leave(c, rc);
        }
        c->phase = -1;
        break;
      default:
        qs_scram_free(&c->scram);
        c->connect_deadline = 0;
        c->connected = 1;
        return qs__pgw_leave(c, QS_OK);
    }
  }
}

#undef NEXT_HOST


void qs__pgw_xClose(qs_dconn *c) {
  if (c->op == OP_PREPARE && c->stmt) qs__pgw_free_stmt(c->stmt);   /* never handed out */
  qs__pgw_leave(c, QS_OK);
  if (!c->io.external && c->io.fd >= 0 && c->connected && !c->dead) {
    /* Terminate, if the socket takes it at once: never waits */
    qs_error ignored;
    memset(&ignored, 0, sizeof ignored);
    qs_buf_reset(&c->io.out);
    c->io.out_off = 0;
    if (qs_pg_terminate(&c->io.out, &ignored) == QS_OK) (void)qs_wire_io_flush(&c->io, &ignored);
    qs_error_clear(&ignored);
  }
  free_conn(c);
}

int qs__pgw_xWait(qs_dconn *c, int *fd, int *timeout_ms) {
  (void)qs_wire_io_wait(&c->io, fd);
  *timeout_ms = -1;
  if (c->op == OP_NONE) return 0;
  if (c->op == OP_CONNECT && c->connect_deadline > 0) {
    double left = c->connect_deadline - qs_clock();
    *timeout_ms = left <= 0 ? 0 : (int)(left * 1000.0) + 1;
  }
  return c->want;
}

void qs__pgw_xReady(qs_dconn *c, int events) { c->seen = events; }
