/* test_wire_my.c: the MySQL wire driver (c/driver/wire_my.c) over an
** external transport with the test playing the server: what the driver
** sends is taken with xOutput, hand-made server packets are given with
** xInput. Covers what a MariaDB server does not show: the auth switch to
** caching_sha2_password and its fast and full paths, a plugin the driver
** lacks, a refused login, a reply that breaks the protocol, a server that
** asks for the statement to be prepared again (1615), a lost transport. */
#include <stdlib.h>
#include <string.h>

#include "quicksilver.h"
#include "auth.h"
#include "mywire.h"
#include "test.h"

static const qs_driver *const D = &qs_wire_my_driver;

static int contains(const char *p, size_t n, const char *what, size_t k) {
  size_t i;
  for (i = 0; i + k <= n; i++)
    if (memcmp(p + i, what, k) == 0) return 1;
  return 0;
}

static qs_dconn *open_ext(qs_error *err) {
  const char *keys[] = {"host", "port", "user", "password", "database", "transport"};
  const char *vals[] = {"db.example", "3306", "qs", "secret", "qs_test", "external"};
  qs_dconn *d = NULL;
  if (D->xOpen(6, keys, vals, &d, err) != QS_OK) {
    if (d) D->xClose(d);
    return NULL;
  }
  return d;
}

/* Takes everything the driver wants sent into sent. */
static void take_output(qs_dconn *d, qs_buf *sent) {
  const char *p;
  size_t n;
  while ((n = D->xOutput(d, &p)) > 0) {
    qs_buf_append(sent, p, n);
    D->xOutputDone(d, n);
  }
}

/* Feeds one server packet (payload framed with seq). */
static int feed(qs_dconn *d, uint8_t seq, const char *payload, size_t n) {
  qs_buf b;
  qs_error err = {0};
  int rc;
  qs_buf_init(&b);
  qs_my_frame(&b, &seq, payload, n, &err);
  rc = D->xInput(d, b.p, b.len, &err);
  qs_buf_free(&b);
  qs_error_clear(&err);
  return rc;
}
#define FEED(d, seq, lit) feed((d), (seq), (lit), sizeof(lit) - 1)

/* Calls op until it waits for the server's bytes (QS_WAIT, its output
** taken into sent) or ends. */
#define PUMP(rc, call, d, sent)                                    \
  for (;;) {                                                       \
    int fd_, ms_, ev_;                                             \
    rc = (call);                                                   \
    if (rc != QS_WAIT) break;                                      \
    ev_ = D->xWait((d), &fd_, &ms_);                               \
    ASSERT_EQ(fd_, -1);                                            \
    take_output((d), (sent));                                      \
    if (ev_ & QS_WAIT_WRITE) { D->xReady((d), QS_WAIT_WRITE); continue; } \
    ASSERT(ev_ & (QS_WAIT_READ | QS_WAIT_TLS));                     \
    break;                                                         \
  }

/* A greeting: MariaDB-like, scramble "abcdefghijklmnopqrst", plugin p. */
static void greeting(qs_buf *g, const char *plugin) {
  qs_buf_reset(g);
  qs_buf_append(g, "\x0a" "10.11.6-MariaDB\0" "\x07\x00\x00\x00" "abcdefgh" "\0" "\xfe\xf7" "\x2d"
                   "\x02\x00" "\xff\x81" "\x15" "\0\0\0\0\0\0\0\0\0\0" "ijklmnopqrst\0", 61);
  qs_buf_append(g, plugin, strlen(plugin) + 1);
}

/* The auth data at the end of a HandshakeResponse41 (lenenc, after the
** 32-byte head and "qs\0"): into out, its length returned. */
static size_t response_auth(const qs_buf *sent, unsigned char *out) {
  size_t n = (unsigned char)sent->p[4 + 32 + 3];
  memcpy(out, sent->p + 4 + 32 + 4, n);
  return n;
}

static const char scramble[] = "abcdefghijklmnopqrst";

TEST_IMPL(wire_my_native_login) {
  qs_error err = {0};
  qs_buf sent, g;
  unsigned char want[QS_SHA1_SIZE], got[64];
  size_t wn;
  int rc;
  qs_dconn *d = open_ext(&err);
  ASSERT(d != NULL);
  qs_buf_init(&sent);
  qs_buf_init(&g);
  PUMP(rc, D->xConnect(d, &err), d, &sent);
  ASSERT_EQ(rc, QS_WAIT);
  ASSERT_EQ(sent.len, 0u);            /* the server speaks first */
  greeting(&g, "mysql_native_password");
  ASSERT_EQ(feed(d, 0, g.p, g.len), QS_OK);
  PUMP(rc, D->xConnect(d, &err), d, &sent);
  ASSERT_EQ(rc, QS_WAIT);
  /* the response: sequence 1, utf8mb4, FOUND_ROWS, the database, the scramble's answer */
  ASSERT_EQ((unsigned char)sent.p[3], 1);
  ASSERT_EQ((unsigned char)sent.p[4 + 8], QS_MY_UTF8MB4);
  ASSERT(sent.p[4] & QS_MY_CLIENT_FOUND_ROWS);
  ASSERT(sent.p[4] & QS_MY_CLIENT_CONNECT_WITH_DB);
  qs_auth_mysql_native("secret", (const unsigned char *)scramble, 20, want, &wn);
  ASSERT_EQ(response_auth(&sent, got), wn);
  ASSERT(memcmp(got, want, wn) == 0);
  ASSERT(contains(sent.p, sent.len, "qs_test\0mysql_native_password\0", 30));
  ASSERT_EQ(FEED(d, 2, "\x00\x00\x00\x02\x00\x00\x00"), QS_OK);
  PUMP(rc, D->xConnect(d, &err), d, &sent);
  ASSERT_EQ(rc, QS_OK);
  ASSERT_EQ(D->xInTransaction(d), 0);

  /* a query: COM_QUERY out; a text result set in; dropped */
  qs_buf_reset(&sent);
  PUMP(rc, D->xExec(d, "SELECT 1", &err), d, &sent);
  ASSERT_EQ(rc, QS_WAIT);
  ASSERT(sent.len == 13 && memcmp(sent.p, "\x09\0\0\0\x03" "SELECT 1", 13) == 0);
  ASSERT_EQ(FEED(d, 1, "\x01"), QS_OK);
  ASSERT_EQ(FEED(d, 2, "\x03" "def" "\0\0\0" "\x01" "1" "\0" "\x0c\x3f\x00\x01\x00\x00\x00\x08\x81\x00\x00\x00\x00"), QS_OK);
  ASSERT_EQ(FEED(d, 3, "\x01" "1"), QS_OK);
  PUMP(rc, D->xExec(d, "SELECT 1", &err), d, &sent);
  ASSERT_EQ(rc, QS_WAIT);            /* the result has not ended yet */
  ASSERT_EQ(FEED(d, 4, "\xfe\x00\x00\x03\x00\x00\x00"), QS_OK);   /* OK-as-EOF, in a transaction */
  PUMP(rc, D->xExec(d, "SELECT 1", &err), d, &sent);
  ASSERT_EQ(rc, QS_OK);
  ASSERT_EQ(D->xInTransaction(d), 1);
  /* an error reply: the server's code and state; the connection goes on */
  qs_buf_reset(&sent);
  PUMP(rc, D->xExec(d, "DROP TABLE t", &err), d, &sent);
  ASSERT_EQ(FEED(d, 1, "\xff\x1b\x04" "#42S02" "Unknown table 'qs_test.t'"), QS_OK);
  PUMP(rc, D->xExec(d, "DROP TABLE t", &err), d, &sent);
  ASSERT_EQ(rc, QS_PROGRAMMING);
  ASSERT_EQ(err.driver_code, 1051);
  ASSERT_STR_EQ(err.sqlstate, "42S02");
  ASSERT_EQ(err.invalidated, 0);
  /* the transport closes mid-reply: a lost connection */
  PUMP(rc, D->xExec(d, "SELECT 2", &err), d, &sent);
  ASSERT_EQ(rc, QS_WAIT);
  ASSERT_EQ(D->xInput(d, NULL, 0, &err), QS_OK);
  PUMP(rc, D->xExec(d, "SELECT 2", &err), d, &sent);
  ASSERT_EQ(rc, QS_OPERATIONAL);
  ASSERT_EQ(err.driver_code, 2013);
  ASSERT_EQ(err.invalidated, 1);
  D->xClose(d);
  qs_buf_free(&sent);
  qs_buf_free(&g);
  qs_error_clear(&err);
  return 0;
}

/* Connects up to the response; the greeting offered plugin. */
static qs_dconn *to_response(const char *plugin, qs_buf *sent, qs_error *err) {
  qs_buf g;
  int rc = QS_OK;
  qs_dconn *d = open_ext(err);
  if (d == NULL) return NULL;
  qs_buf_init(&g);
  greeting(&g, plugin);
  for (;;) {
    int fd, ms, ev;
    rc = D->xConnect(d, err);
    if (rc != QS_WAIT) break;
    ev = D->xWait(d, &fd, &ms);
    take_output(d, sent);
    if (ev & QS_WAIT_WRITE) { D->xReady(d, QS_WAIT_WRITE); continue; }
    if (g.len == 0) break;
    feed(d, 0, g.p, g.len);
    qs_buf_reset(&g);
    g.len = 0;
  }
  qs_buf_free(&g);
  if (rc != QS_WAIT) {
    D->xClose(d);
    return NULL;
  }
  return d;
}

TEST_IMPL(wire_my_caching_sha2_login) {
  qs_error err = {0};
  qs_buf sent;
  unsigned char want[QS_SHA256_SIZE], got[64];
  size_t wn;
  int rc;
  qs_dconn *d;
  qs_buf_init(&sent);
  /* MySQL 8's default plugin, fast path: 0x03 then OK */
  d = to_response("caching_sha2_password", &sent, &err);
  ASSERT(d != NULL);
  qs_auth_caching_sha2("secret", (const unsigned char *)scramble, 20, want, &wn);
  ASSERT_EQ(response_auth(&sent, got), wn);
  ASSERT(memcmp(got, want, wn) == 0);
  ASSERT_EQ(FEED(d, 2, "\x01\x03"), QS_OK);
  ASSERT_EQ(FEED(d, 3, "\x00\x00\x00\x02\x00\x00\x00"), QS_OK);
  PUMP(rc, D->xConnect(d, &err), d, &sent);
  ASSERT_EQ(rc, QS_OK);
  D->xClose(d);

  /* an auth switch from native to caching_sha2 with a new scramble */
  qs_buf_reset(&sent);
  d = to_response("mysql_native_password", &sent, &err);
  ASSERT(d != NULL);
  qs_buf_reset(&sent);
  ASSERT_EQ(FEED(d, 2, "\xfe" "caching_sha2_password\0" "ABCDEFGHIJKLMNOPQRST\0"), QS_OK);
  PUMP(rc, D->xConnect(d, &err), d, &sent);
  ASSERT_EQ(rc, QS_WAIT);
  qs_auth_caching_sha2("secret", (const unsigned char *)"ABCDEFGHIJKLMNOPQRST", 20, want, &wn);
  ASSERT_EQ(sent.len, 4 + wn);
  ASSERT_EQ((unsigned char)sent.p[3], 3);   /* the sequence goes on */
  ASSERT(memcmp(sent.p + 4, want, wn) == 0);
  /* full authentication asked: refused without TLS, by name */
  ASSERT_EQ(FEED(d, 4, "\x01\x04"), QS_OK);
  PUMP(rc, D->xConnect(d, &err), d, &sent);
  ASSERT_EQ(rc, QS_NOTSUPPORTED);
  ASSERT(strstr(err.message, "caching_sha2_password") != NULL);
  ASSERT(strstr(err.message, "TLS") != NULL);
  ASSERT_EQ(err.invalidated, 1);
  D->xClose(d);

  /* a plugin the driver does not speak */
  qs_buf_reset(&sent);
  d = to_response("mysql_native_password", &sent, &err);
  ASSERT(d != NULL);
  ASSERT_EQ(FEED(d, 2, "\xfe" "client_ed25519\0" "0123456789abcdef0123456789abcdef"), QS_OK);
  PUMP(rc, D->xConnect(d, &err), d, &sent);
  ASSERT_EQ(rc, QS_NOTSUPPORTED);
  ASSERT(strstr(err.message, "'client_ed25519'") != NULL);
  D->xClose(d);

  /* a refused login */
  qs_buf_reset(&sent);
  d = to_response("mysql_native_password", &sent, &err);
  ASSERT(d != NULL);
  ASSERT_EQ(FEED(d, 2, "\xff\x15\x04" "#28000" "Access denied for user 'qs'"), QS_OK);
  PUMP(rc, D->xConnect(d, &err), d, &sent);
  ASSERT_EQ(rc, QS_OPERATIONAL);
  ASSERT_EQ(err.driver_code, 1045);
  ASSERT(strstr(err.message, "Access denied") != NULL);
  D->xClose(d);

  /* a greeting that breaks the protocol: a clear error, never a crash */
  {
    qs_buf g;
    d = open_ext(&err);
    ASSERT(d != NULL);
    PUMP(rc, D->xConnect(d, &err), d, &sent);
    qs_buf_init(&g);
    greeting(&g, "mysql_native_password");
    ASSERT_EQ(feed(d, 0, g.p, 20), QS_OK);   /* cut inside the scramble */
    qs_buf_free(&g);
    PUMP(rc, D->xConnect(d, &err), d, &sent);
    ASSERT_EQ(rc, QS_INTERFACE);
    ASSERT(strstr(err.message, "Initial Handshake") != NULL);
    ASSERT_EQ(err.invalidated, 1);
    D->xClose(d);
  }
  /* a packet out of sequence */
  d = open_ext(&err);
  ASSERT(d != NULL);
  PUMP(rc, D->xConnect(d, &err), d, &sent);
  ASSERT_EQ(FEED(d, 5, "\x0a"), QS_OK);
  PUMP(rc, D->xConnect(d, &err), d, &sent);
  ASSERT_EQ(rc, QS_INTERFACE);
  ASSERT(strstr(err.message, "out of order") != NULL);
  D->xClose(d);
  qs_buf_free(&sent);
  qs_error_clear(&err);
  return 0;
}

/* A connected driver (native login done). */
static qs_dconn *connected(qs_buf *sent, qs_error *err) {
  int rc;
  qs_dconn *d = to_response("mysql_native_password", sent, err);
  if (d == NULL) return NULL;
  feed(d, 2, "\x00\x00\x00\x02\x00\x00\x00", 7);
  rc = D->xConnect(d, err);
  if (rc != QS_OK) {
    D->xClose(d);
    return NULL;
  }
  qs_buf_reset(sent);
  return d;
}

/* A column definition of one BIGINT column named n. */
static const char coldef[] =
    "\x03" "def" "\0\0\0" "\x01" "n" "\0" "\x0c\x3f\x00\x14\x00\x00\x00\x08\x01\x10\x00\x00\x00";

TEST_IMPL(wire_my_statements) {
  qs_error err = {0};
  qs_buf sent;
  qs_dstmt *s = NULL;
  qs_value v;
  int rc;
  qs_dconn *d;
  qs_buf_init(&sent);
  d = connected(&sent, &err);
  ASSERT(d != NULL);
  /* prepare: COM_STMT_PREPARE out; OK (id 7, 1 column, 1 parameter) and definitions in */
  PUMP(rc, D->xPrepare(d, "SELECT ?", 8, &s, &err), d, &sent);
  ASSERT_EQ(rc, QS_WAIT);
  ASSERT(sent.len == 13 && memcmp(sent.p, "\x09\0\0\0\x16" "SELECT ?", 13) == 0);
  ASSERT_EQ(FEED(d, 1, "\x00\x07\x00\x00\x00\x01\x00\x01\x00\x00\x00\x00"), QS_OK);
  ASSERT_EQ(feed(d, 2, coldef, sizeof coldef - 1), QS_OK);
  ASSERT_EQ(feed(d, 3, coldef, sizeof coldef - 1), QS_OK);
  PUMP(rc, D->xPrepare(d, "SELECT ?", 8, &s, &err), d, &sent);
  ASSERT_EQ(rc, QS_OK);
  ASSERT(s != NULL);
  ASSERT_EQ(D->xParamCount(s), 1);
  ASSERT_EQ(D->xColumnCount(s), 1);
  ASSERT_STR_EQ(D->xColumnName(s, 0), "n");
  /* execute: the server says the statement must be prepared again (1615):
  ** the old handle closed, prepared anew, executed once more */
  v.type = QS_TINT;
  v.u.i = 5;
  ASSERT_EQ(D->xBind(s, 1, &v, &err), QS_OK);
  qs_buf_reset(&sent);
  PUMP(rc, D->xStep(s, &err), d, &sent);
  ASSERT_EQ(rc, QS_WAIT);
  ASSERT_EQ((unsigned char)sent.p[4], QS_MY_COM_STMT_EXECUTE);
  ASSERT_EQ((unsigned char)sent.p[5], 7);
  ASSERT_EQ(FEED(d, 1, "\xff\x4f\x06" "#HY000" "Prepared statement needs to be re-prepared"), QS_OK);
  qs_buf_reset(&sent);
  PUMP(rc, D->xStep(s, &err), d, &sent);
  ASSERT_EQ(rc, QS_WAIT);
  ASSERT(sent.len == 9 + 13);
  ASSERT(memcmp(sent.p, "\x05\0\0\0\x19\x07\0\0\0", 9) == 0);   /* COM_STMT_CLOSE 7 */
  ASSERT(memcmp(sent.p + 9, "\x09\0\0\0\x16" "SELECT ?", 13) == 0);
  ASSERT_EQ(FEED(d, 1, "\x00\x08\x00\x00\x00\x01\x00\x01\x00\x00\x00\x00"), QS_OK);
  ASSERT_EQ(feed(d, 2, coldef, sizeof coldef - 1), QS_OK);
  ASSERT_EQ(feed(d, 3, coldef, sizeof coldef - 1), QS_OK);
  qs_buf_reset(&sent);
  PUMP(rc, D->xStep(s, &err), d, &sent);
  ASSERT_EQ(rc, QS_WAIT);
  ASSERT_EQ((unsigned char)sent.p[4], QS_MY_COM_STMT_EXECUTE);
  ASSERT_EQ((unsigned char)sent.p[5], 8);                         /* the new id */
  ASSERT(memcmp(sent.p + sent.len - 8, "\x05\0\0\0\0\0\0\0", 8) == 0);   /* the value kept */
  ASSERT_EQ(FEED(d, 1, "\x01"), QS_OK);
  ASSERT_EQ(feed(d, 2, coldef, sizeof coldef - 1), QS_OK);
  ASSERT_EQ(FEED(d, 3, "\x00\x00" "\x05\x00\x00\x00\x00\x00\x00\x00"), QS_OK);
  ASSERT_EQ(FEED(d, 4, "\x00\x00" "\x09\x00\x00\x00\x00\x00\x00\x00"), QS_OK);
  ASSERT_EQ(FEED(d, 5, "\xfe\x00\x00\x02\x00\x00\x00"), QS_OK);
  PUMP(rc, D->xStep(s, &err), d, &sent);
  ASSERT_EQ(rc, QS_ROW);
  D->xColumn(s, 0, &v);
  ASSERT(v.type == QS_TINT && v.u.i == 5);
  ASSERT_EQ(D->xStep(s, &err), QS_ROW);   /* held rows: no waiting */
  D->xColumn(s, 0, &v);
  ASSERT(v.type == QS_TINT && v.u.i == 9);
  ASSERT_EQ(D->xStep(s, &err), QS_DONE);
  /* a row that breaks the protocol (value cut short): a clear error */
  D->xReset(s);
  qs_buf_reset(&sent);
  PUMP(rc, D->xStep(s, &err), d, &sent);
  ASSERT_EQ(FEED(d, 1, "\x01"), QS_OK);
  ASSERT_EQ(feed(d, 2, coldef, sizeof coldef - 1), QS_OK);
  ASSERT_EQ(FEED(d, 3, "\x00\x00" "\x05\x00\x00"), QS_OK);
  PUMP(rc, D->xStep(s, &err), d, &sent);
  ASSERT_EQ(rc, QS_INTERFACE);
  ASSERT(strstr(err.message, "binary row") != NULL);
  ASSERT_EQ(err.invalidated, 1);
  /* finalized: its close waits for an operation that will not come */
  D->xFinalize(s);
  ASSERT_EQ(D->xExec(d, "SELECT 1", &err), QS_OPERATIONAL);   /* the connection was given up */
  D->xClose(d);
  qs_buf_free(&sent);
  qs_error_clear(&err);
  return 0;
}
