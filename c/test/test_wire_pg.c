/*
** test_wire_pg.c: the PostgreSQL wire driver (c/driver/wire_pg.c) over an
** external transport fed by hand with server bytes written here: the SSL
** request and its TLS wait, the startup and the password exchanges, a
** query and an error, unsupported methods, malformed bytes and a peer that
** closes. (Against a real server: spec/backend/pgwire_spec.lua.)
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "test.h"

/* A backend message: type, length, body. */
static size_t msg(char *out, char type, const char *body, size_t n) {
  size_t len = n + 4;
  out[0] = type;
  out[1] = (char)(len >> 24);
  out[2] = (char)(len >> 16);
  out[3] = (char)(len >> 8);
  out[4] = (char)len;
  memcpy(out + 5, body, n);
  return n + 5;
}

static size_t auth(char *out, int code, const char *extra, size_t n) {
  char body[64];
  body[0] = 0;
  body[1] = 0;
  body[2] = 0;
  body[3] = (char)code;
  memcpy(body + 4, extra, n);
  return msg(out, 'R', body, 4 + n);
}

/* The messages that end a successful startup. */
static size_t startup_done(char *out) {
  size_t n = auth(out, 0, "", 0);
  n += msg(out + n, 'K', "\0\0\0\x2a\0\0\0\x07", 8);
  n += msg(out + n, 'S', "DateStyle\0ISO, MDY\0", 19);
  n += msg(out + n, 'S', "IntervalStyle\0postgres\0", 23);
  n += msg(out + n, 'Z', "I", 1);
  return n;
}

static int open_ext(const char *sslmode, const char *password, qs_dconn **c, qs_error *err) {
  const char *keys[] = {"host", "port", "user", "database", "transport", "sslmode", "password"};
  const char *vals[] = {"db.example", "5432", "u", "d", "external", sslmode, password};
  return qs_pgwire_driver.xOpen(password ? 7 : 6, keys, vals, c, err);
}

/* What the driver wants sent now (taken all), and its length. */
static size_t take_output(qs_dconn *c, char *buf, size_t cap) {
  const char *p;
  size_t n = qs_pgwire_driver.xOutput(c, &p);
  if (n > cap) n = cap;
  if (n) memcpy(buf, p, n);
  qs_pgwire_driver.xOutputDone(c, n);
  return n;
}

/* Whether the n bytes at p hold the m bytes at q (memmem is not POSIX). */
static int holds(const char *p, size_t n, const char *q, size_t m) {
  size_t i;
  for (i = 0; i + m <= n; i++)
    if (memcmp(p + i, q, m) == 0) return 1;
  return 0;
}

static int waits_for(qs_dconn *c) {
  int fd = 0, ms;
  int ev = qs_pgwire_driver.xWait(c, &fd, &ms);
  return fd == -1 ? ev : -1;
}

/* Opens an external connection and steps its connect until its first
** message (the SSLRequest, or the StartupMessage) is taken into out and it
** waits for the reply: that message's length, 0 when a step went otherwise. */
static size_t started(const char *sslmode, const char *password, qs_dconn **c, qs_error *err,
                      char *out, size_t cap) {
  size_t n;
  if (open_ext(sslmode, password, c, err) != QS_OK) return 0;
  if (qs_pgwire_driver.xConnect(*c, err) != QS_WAIT) return 0;
  n = take_output(*c, out, cap);
  return qs_pgwire_driver.xConnect(*c, err) == QS_WAIT ? n : 0;
}

/* Feeds the n bytes at in to the connection (in NULL: the peer closes). */
static int feed(qs_dconn *c, const char *in, size_t n, qs_error *err) {
  return qs_pgwire_driver.xInput(c, in, n, err);
}

/* A connection through startup with trust authentication. */
static int connected(qs_dconn **c, qs_error *err) {
  char buf[512];
  size_t n;
  if (started("disable", NULL, c, err, buf, sizeof buf) == 0) return 1;
  n = startup_done(buf);
  if (feed(*c, buf, n, err) != QS_OK) return 2;
  return qs_pgwire_driver.xConnect(*c, err) == QS_OK ? 0 : 3;
}

/* Starts sql with xExec and takes what it sends into out; the exec then
** waits for the reply: the length sent, 0 when a step went otherwise. */
static size_t exec_sent(qs_dconn *c, const char *sql, qs_error *err, char *out, size_t cap) {
  size_t n;
  if (qs_pgwire_driver.xExec(c, sql, err) != QS_WAIT) return 0;
  n = take_output(c, out, cap);
  return qs_pgwire_driver.xExec(c, sql, err) == QS_WAIT ? n : 0;
}

/* A fresh connection runs SELECT 1, is given the n bytes at in as its reply
** (then, with closes, the peer's close): the exec's outcome. */
static int select_replied(const char *in, size_t n, int closes, qs_dconn **c, qs_error *err) {
  char out[512];
  if (connected(c, err) != 0) return -1;
  if (exec_sent(*c, "SELECT 1", err, out, sizeof out) == 0) return -2;
  if (feed(*c, in, n, err) != QS_OK) return -3;
  if (closes && feed(*c, NULL, 0, err) != QS_OK) return -4;
  return qs_pgwire_driver.xExec(*c, "SELECT 1", err);
}

/* An SSLRequest under sslmode answered with the byte reply: the connect's
** next outcome, with the StartupMessage that follows (if any) in out. */
static int ssl_answered(const char *sslmode, const char *reply, qs_dconn **c, qs_error *err,
                        char *out, size_t cap, size_t *sent) {
  int rc;
  *sent = 0;
  if (started(sslmode, NULL, c, err, out, cap) != 8) return -1;   /* the SSLRequest alone */
  if (feed(*c, reply, 1, err) != QS_OK) return -2;
  rc = qs_pgwire_driver.xConnect(*c, err);
  if (rc == QS_WAIT) *sent = take_output(*c, out, cap);
  return rc;
}

TEST_IMPL(wire_pg_tls_request) {
  qs_dconn *c = NULL;
  qs_error err;
  char out[512], in[512];
  size_t n;
  memset(&err, 0, sizeof err);
  ASSERT_EQ(open_ext("require", NULL, &c, &err), QS_OK);
  ASSERT_EQ(qs_pgwire_driver.xConnect(c, &err), QS_WAIT);
  ASSERT_EQ(waits_for(c), QS_WAIT_WRITE);
  ASSERT_EQ(take_output(c, out, sizeof out), 8);
  ASSERT(memcmp(out, "\0\0\0\x08\x04\xd2\x16\x2f", 8) == 0);   /* SSLRequest, 80877103 */
  ASSERT_EQ(qs_pgwire_driver.xConnect(c, &err), QS_WAIT);
  ASSERT_EQ(waits_for(c), QS_WAIT_READ);
  ASSERT_EQ(qs_pgwire_driver.xInput(c, "S", 1, &err), QS_OK);
  ASSERT_EQ(qs_pgwire_driver.xConnect(c, &err), QS_WAIT);
  ASSERT_EQ(waits_for(c), QS_WAIT_TLS);   /* the caller upgrades its transport now */
  ASSERT_EQ(qs_pgwire_driver.xConnect(c, &err), QS_WAIT);
  ASSERT_EQ(waits_for(c), QS_WAIT_WRITE);
  n = take_output(c, out, sizeof out);
  ASSERT(n > 8);
  ASSERT(memcmp(out + 4, "\0\x03\0\0", 4) == 0);   /* protocol 3.0 */
  ASSERT(holds(out, n, "user\0u\0database\0d\0client_encoding\0UTF8\0", 39));
  ASSERT(holds(out, n, "application_name\0quicksilver\0", 29));
  ASSERT_EQ(qs_pgwire_driver.xConnect(c, &err), QS_WAIT);
  n = startup_done(in);
  ASSERT_EQ(qs_pgwire_driver.xInput(c, in, n, &err), QS_OK);
  ASSERT_EQ(qs_pgwire_driver.xConnect(c, &err), QS_OK);
  ASSERT_EQ(qs_pgwire_driver.xInTransaction(c), 0);
  qs_pgwire_driver.xClose(c);
  qs_error_clear(&err);
  return 0;
}

TEST_IMPL(wire_pg_tls_refused) {
  qs_dconn *c = NULL;
  qs_error err;
  char out[512];
  size_t n;
  memset(&err, 0, sizeof err);
  /* require: the server's 'N' fails the connect */
  ASSERT_EQ(ssl_answered("require", "N", &c, &err, out, sizeof out, &n), QS_OPERATIONAL);
  ASSERT(strstr(err.message, "SSL was required") != NULL);
  ASSERT(err.invalidated);
  qs_pgwire_driver.xClose(c);
  /* prefer: on in plain text, the startup next */
  ASSERT_EQ(ssl_answered("prefer", "N", &c, &err, out, sizeof out, &n), QS_WAIT);
  ASSERT(n > 8);
  ASSERT(memcmp(out + 4, "\0\x03\0\0", 4) == 0);
  qs_pgwire_driver.xClose(c);
  /* a reply that is neither */
  ASSERT_EQ(ssl_answered("prefer", "E", &c, &err, out, sizeof out, &n), QS_OPERATIONAL);
  ASSERT(strstr(err.message, "SSL request") != NULL);
  qs_pgwire_driver.xClose(c);
  qs_error_clear(&err);
  return 0;
}

TEST_IMPL(wire_pg_md5_exchange) {
  qs_dconn *c = NULL;
  qs_error err;
  char out[512], in[512], want[QS_PG_MD5_RESPONSE_SIZE];
  const unsigned char salt[4] = {1, 2, 3, 4};
  size_t n;
  memset(&err, 0, sizeof err);
  ASSERT(started("disable", "pw", &c, &err, out, sizeof out) > 8);
  n = auth(in, 5, (const char *)salt, 4);
  ASSERT_EQ(qs_pgwire_driver.xInput(c, in, n, &err), QS_OK);
  ASSERT_EQ(qs_pgwire_driver.xConnect(c, &err), QS_WAIT);
  ASSERT_EQ(waits_for(c), QS_WAIT_WRITE);
  n = take_output(c, out, sizeof out);
  qs_auth_pg_md5("u", "pw", salt, want);
  ASSERT_EQ(n, 5 + strlen(want) + 1);
  ASSERT_EQ(out[0], 'p');
  ASSERT_STR_EQ(out + 5, want);
  /* the server refuses it: its message, as a connect failure */
  ASSERT_EQ(qs_pgwire_driver.xConnect(c, &err), QS_WAIT);
  n = msg(in, 'E', "SFATAL\0C28P01\0Mpassword authentication failed for user \"u\"\0",
          sizeof "SFATAL\0C28P01\0Mpassword authentication failed for user \"u\"\0");
  ASSERT_EQ(qs_pgwire_driver.xInput(c, in, n, &err), QS_OK);
  ASSERT_EQ(qs_pgwire_driver.xInput(c, NULL, 0, &err), QS_OK);   /* and closes */
  ASSERT_EQ(qs_pgwire_driver.xConnect(c, &err), QS_OPERATIONAL);
  ASSERT(strstr(err.message, "could not connect to PostgreSQL") != NULL);
  ASSERT(strstr(err.message, "FATAL:  password authentication failed for user \"u\"") != NULL);
  ASSERT(err.invalidated);
  qs_pgwire_driver.xClose(c);
  qs_error_clear(&err);
  return 0;
}

/* ASSERT inside a loop over cases: a failure names its case too (expr is
** evaluated once). */
#define ASSERT_IN_CASE(why, expr)                                            \
  do {                                                                       \
    int ok_ = (expr) ? 1 : 0;                                                \
    if (!ok_) fprintf(stderr, "  in the case: %s\n", why);                  \
    ASSERT(ok_ && #expr);                                                    \
  } while (0)

/* Authentication requests the driver refuses: what the error names. */
static const struct {
  const char *why;
  int code;                  /* AuthenticationRequest's */
  const char *extra;
  size_t n;
  const char *password;
  const char *says;
} refusals[] = {
  {"GSSAPI: named", 7, "", 0, "pw", "GSSAPI"},
  {"SASL without SCRAM-SHA-256", 10, "SCRAM-SHA-256-PLUS\0\0", 20, "pw", "SCRAM-SHA-256"},
  {"a password asked for and none given", 3, "", 0, NULL, "none was given"},
};

TEST_IMPL(wire_pg_auth_refused_methods) {
  qs_dconn *c = NULL;
  qs_error err;
  char out[512], in[512];
  size_t i, n;
  memset(&err, 0, sizeof err);
  for (i = 0; i < sizeof refusals / sizeof refusals[0]; i++) {
    const char *why = refusals[i].why;
    ASSERT_IN_CASE(why, started("disable", refusals[i].password, &c, &err, out, sizeof out) > 8);
    n = auth(in, refusals[i].code, refusals[i].extra, refusals[i].n);
    ASSERT_IN_CASE(why, feed(c, in, n, &err) == QS_OK);
    ASSERT_IN_CASE(why, qs_pgwire_driver.xConnect(c, &err) == QS_OPERATIONAL);
    ASSERT_IN_CASE(why, strstr(err.message, refusals[i].says) != NULL);
    qs_pgwire_driver.xClose(c);
  }
  qs_error_clear(&err);
  return 0;
}

TEST_IMPL(wire_pg_query_and_error) {
  qs_dconn *c = NULL;
  qs_error err;
  char out[512], in[512];
  size_t n;
  memset(&err, 0, sizeof err);
  ASSERT_EQ(connected(&c, &err), 0);
  n = exec_sent(c, "BEGIN", &err, out, sizeof out);
  ASSERT_EQ(n, 11);
  ASSERT(memcmp(out, "Q\0\0\0\x0a" "BEGIN\0", 11) == 0);
  n = msg(in, 'C', "BEGIN\0", 6);
  n += msg(in + n, 'Z', "T", 1);
  /* a byte at a time: the driver waits for whole messages */
  {
    size_t i;
    for (i = 0; i < n; i++) {
      ASSERT_EQ(qs_pgwire_driver.xInput(c, in + i, 1, &err), QS_OK);
      ASSERT_EQ(qs_pgwire_driver.xExec(c, "BEGIN", &err), i + 1 < n ? QS_WAIT : QS_OK);
    }
  }
  ASSERT_EQ(qs_pgwire_driver.xInTransaction(c), 1);
  /* an error: its family by SQLSTATE, libpq's message form, the connection goes on */
  ASSERT(exec_sent(c, "INSERT", &err, out, sizeof out) > 0);
  n = msg(in, 'E', "SERROR\0C23505\0Mduplicate key\0Dkey (id)=(1)\0nt_pkey\0",
          sizeof "SERROR\0C23505\0Mduplicate key\0Dkey (id)=(1)\0nt_pkey\0");
  n += msg(in + n, 'Z', "E", 1);
  ASSERT_EQ(qs_pgwire_driver.xInput(c, in, n, &err), QS_OK);
  ASSERT_EQ(qs_pgwire_driver.xExec(c, "INSERT", &err), QS_INTEGRITY);
  ASSERT_STR_EQ(err.message, "ERROR:  duplicate key\nDETAIL:  key (id)=(1)");
  ASSERT_STR_EQ(err.sqlstate, "23505");
  ASSERT(err.constraint != NULL && strcmp(err.constraint, "t_pkey") == 0);
  ASSERT(!err.invalidated);
  ASSERT_EQ(qs_pgwire_driver.xInTransaction(c), 1);
  qs_pgwire_driver.xClose(c);
  qs_error_clear(&err);
  return 0;
}

TEST_IMPL(wire_pg_malformed_and_closed) {
  qs_dconn *c = NULL;
  qs_error err;
  char in[512];
  size_t n;
  memset(&err, 0, sizeof err);
  /* a message type the protocol has not at this point */
  n = msg(in, 'Y', "", 0);
  ASSERT_EQ(select_replied(in, n, 0, &c, &err), QS_INTERFACE);
  ASSERT(err.invalidated);
  ASSERT(strstr(err.message, "unexpected") != NULL);
  /* and the connection is unusable from then on */
  ASSERT_EQ(qs_pgwire_driver.xExec(c, "SELECT 1", &err), QS_OPERATIONAL);
  ASSERT(err.invalidated);
  qs_pgwire_driver.xClose(c);
  /* a length the reader refuses */
  ASSERT_EQ(select_replied("C\0\0\0\x02", 5, 0, &c, &err), QS_INTERFACE);
  ASSERT(err.invalidated);
  qs_pgwire_driver.xClose(c);
  /* an ErrorResponse whose fields do not end */
  n = msg(in, 'C', "SELECT 1\0", 9);
  n += msg(in + n, 'E', "SERROR\0C2201", 12);   /* fields not terminated */
  ASSERT_EQ(select_replied(in, n, 0, &c, &err), QS_INTERFACE);
  qs_pgwire_driver.xClose(c);
  /* the peer closes in the middle of a reply */
  ASSERT_EQ(select_replied("C\0\0\0\x0dSEL", 8, 1, &c, &err), QS_OPERATIONAL);
  ASSERT(err.invalidated);
  ASSERT(strstr(err.message, "closed") != NULL);
  qs_pgwire_driver.xClose(c);
  qs_error_clear(&err);
  return 0;
}

TEST_IMPL(wire_pg_options) {
  qs_dconn *c = NULL;
  qs_error err;
  const char *k1[] = {"host", "sslrootcert"}, *v1[] = {"h", "/x.pem"};
  const char *k2[] = {"sslmode"}, *v2[] = {"verify-full"};
  const char *k3[] = {"transport"}, *v3[] = {"carrier-pigeon"};
  const char *k4[] = {"connect_timeout"}, *v4[] = {"soon"};
  const char *k5[] = {"target_session_attrs", "keepalives", "gssencmode", "transport"};
  const char *v5[] = {"any", "1", "disable", "external"};
  memset(&err, 0, sizeof err);
  ASSERT_EQ(qs_pgwire_driver.xOpen(2, k1, v1, &c, &err), QS_ARGUMENT);
  ASSERT(strstr(err.message, "'sslrootcert'") != NULL);
  ASSERT(c == NULL);
  ASSERT_EQ(qs_pgwire_driver.xOpen(1, k2, v2, &c, &err), QS_NOTSUPPORTED);
  ASSERT(strstr(err.message, "verify-full") != NULL);
  ASSERT_EQ(qs_pgwire_driver.xOpen(1, k3, v3, &c, &err), QS_ARGUMENT);
  ASSERT(strstr(err.message, "carrier-pigeon") != NULL);
  ASSERT_EQ(qs_pgwire_driver.xOpen(1, k4, v4, &c, &err), QS_ARGUMENT);
  ASSERT(strstr(err.message, "connect_timeout") != NULL);
  ASSERT_EQ(qs_pgwire_driver.xOpen(4, k5, v5, &c, &err), QS_OK);
  ASSERT(c != NULL);
  qs_pgwire_driver.xClose(c);
  qs_error_clear(&err);
  return 0;
}
