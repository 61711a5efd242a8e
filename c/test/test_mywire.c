/* test_mywire.c: the MySQL/MariaDB wire codec (c/protocol/mywire.c) on
** hand-written bytes laid out from the protocol documentation: every
** client packet encoded, server packets decoded whole, a byte at a time and
** split over continuation packets, and truncated, oversized and malformed
** packets refused. Each malformed payload is parsed from an exact-size heap
** copy, so an over-read is an ASan failure rather than a silent pass. */
#include <stdlib.h>
#include <string.h>

#include "quicksilver.h"
#include "mywire.h"
#include "test.h"

#define ASSERT_BYTES(buf, lit) \
  ASSERT((buf).len == sizeof(lit) - 1 && memcmp((buf).p, (lit), sizeof(lit) - 1) == 0)
#define SPAN_IS(s, lit) ((s).n == strlen(lit) && memcmp((s).p, (lit), (s).n) == 0)

/* A payload that is a fresh heap block of exactly n bytes (freed by the
** next call or by release_exact). */
static char *exact_block;
static qs_my_span exact(const char *p, size_t n) {
  qs_my_span s;
  free(exact_block);
  exact_block = malloc(n ? n : 1);
  if (n) memcpy(exact_block, p, n);
  s.p = exact_block;
  s.n = n;
  return s;
}
static void release_exact(void) {
  free(exact_block);
  exact_block = NULL;
}
#define EXACT(lit) exact((lit), sizeof(lit) - 1)

TEST_IMPL(mywire_framing) {
  qs_buf out, join;
  qs_error err = {0};
  qs_my_span pl;
  uint8_t seq = 0;
  size_t used, need, i;
  char *big;
  qs_buf_init(&out);
  qs_buf_init(&join);
  ASSERT_EQ(qs_my_frame(&out, &seq, "abc", 3, &err), QS_OK);
  ASSERT_EQ(seq, 1);
  ASSERT_EQ(qs_my_frame(&out, &seq, "", 0, &err), QS_OK);
  ASSERT_BYTES(out, "\x03\x00\x00\x00" "abc" "\x00\x00\x00\x01");
  /* read back, then a byte at a time */
  seq = 0;
  ASSERT_EQ(qs_my_next(out.p, out.len, &seq, &join, &pl, &used, &need, &err), QS_OK);
  ASSERT(SPAN_IS(pl, "abc"));
  ASSERT_EQ(used, 7u);
  ASSERT_EQ(seq, 1);
  for (i = 0; i < 7; i++) {
    uint8_t s = 0;
    qs_my_span cut = exact(out.p, i);
    ASSERT_EQ(qs_my_next(cut.p, cut.n, &s, &join, &pl, &used, &need, &err), QS_WAIT);
    ASSERT_EQ(need, i < 4 ? 4 - i : 7 - i);
    ASSERT_EQ(used, 0u);
    ASSERT_EQ(s, 0);
  }
  /* a declared length beyond the bytes: waited for, never read */
  {
    uint8_t s = 0;
    qs_my_span cut = EXACT("\x10\x00\x00\x00" "abc");
    ASSERT_EQ(qs_my_next(cut.p, cut.n, &s, &join, &pl, &used, &need, &err), QS_WAIT);
    ASSERT_EQ(need, 13u);
  }
  /* out of sequence */
  seq = 5;
  ASSERT_EQ(qs_my_next(out.p, out.len, &seq, &join, &pl, &used, &need, &err), QS_INTERFACE);
  ASSERT(strstr(err.message, "sequence id 0 where 5") != NULL);
  ASSERT_EQ(seq, 5);
  /* a sequence id wraps at 256 */
  qs_buf_reset(&out);
  seq = 255;
  ASSERT_EQ(qs_my_frame(&out, &seq, "x", 1, &err), QS_OK);
  ASSERT_EQ(qs_my_frame(&out, &seq, "y", 1, &err), QS_OK);
  ASSERT_EQ(seq, 1);
  ASSERT_BYTES(out, "\x01\x00\x00\xff" "x" "\x01\x00\x00\x00" "y");

  /* a payload of 16 MiB - 1 + 3 bytes: two packets, joined on the way in;
  ** exactly 16 MiB - 1: a full packet and an empty one */
  big = malloc(QS_MY_MAX_PACKET + 3);
  ASSERT(big != NULL);
  for (i = 0; i < QS_MY_MAX_PACKET + 3; i++) big[i] = (char)(i * 7);
  qs_buf_reset(&out);
  seq = 3;
  ASSERT_EQ(qs_my_frame(&out, &seq, big, QS_MY_MAX_PACKET + 3, &err), QS_OK);
  ASSERT_EQ(seq, 5);
  ASSERT_EQ(out.len, QS_MY_MAX_PACKET + 3 + 8);
  ASSERT(memcmp(out.p, "\xff\xff\xff\x03", 4) == 0);
  ASSERT(memcmp(out.p + 4 + QS_MY_MAX_PACKET, "\x03\x00\x00\x04", 4) == 0);
  seq = 3;
  ASSERT_EQ(qs_my_next(out.p, out.len - 1, &seq, &join, &pl, &used, &need, &err), QS_WAIT);
  ASSERT_EQ(need, 1u);
  ASSERT_EQ(qs_my_next(out.p, out.len, &seq, &join, &pl, &used, &need, &err), QS_OK);
  ASSERT_EQ(pl.n, QS_MY_MAX_PACKET + 3);
  ASSERT(pl.p == join.p);
  ASSERT(memcmp(pl.p, big, pl.n) == 0);
  ASSERT_EQ(used, out.len);
  ASSERT_EQ(seq, 5);
  /* the second fragment out of sequence */
  out.p[4 + QS_MY_MAX_PACKET + 3] = 9;
  seq = 3;
  ASSERT_EQ(qs_my_next(out.p, out.len, &seq, &join, &pl, &used, &need, &err), QS_INTERFACE);
  qs_buf_reset(&out);
  seq = 0;
  ASSERT_EQ(qs_my_frame(&out, &seq, big, QS_MY_MAX_PACKET, &err), QS_OK);
  ASSERT_EQ(out.len, QS_MY_MAX_PACKET + 8);
  ASSERT(memcmp(out.p + out.len - 4, "\x00\x00\x00\x01", 4) == 0);
  seq = 0;
  ASSERT_EQ(qs_my_next(out.p, out.len - 4, &seq, &join, &pl, &used, &need, &err), QS_WAIT);
  ASSERT_EQ(qs_my_next(out.p, out.len, &seq, &join, &pl, &used, &need, &err), QS_OK);
  ASSERT_EQ(pl.n, QS_MY_MAX_PACKET);
  ASSERT_EQ(seq, 2);
  free(big);
  qs_buf_free(&out);
  qs_buf_free(&join);
  release_exact();
  qs_error_clear(&err);
  return 0;
}

TEST_IMPL(mywire_lenenc) {
  static const uint64_t values[] = {0, 1, 250, 251, 252, 0xffff, 0x10000, 0xffffff, 0x1000000,
                                    0xffffffffffffffffull};
  static const size_t sizes[] = {1, 1, 1, 3, 3, 3, 4, 4, 9, 9};
  qs_buf b;
  qs_error err = {0};
  size_t i, k;
  qs_buf_init(&b);
  for (i = 0; i < sizeof values / sizeof values[0]; i++) {
    uint64_t v = 7;
    size_t size = 0;
    int is_null = 5;
    qs_buf_reset(&b);
    qs_my_put_lenenc(&b, values[i]);
    ASSERT_EQ(b.len, sizes[i]);
    ASSERT_EQ(qs_my_lenenc(b.p, b.len, &v, &is_null, &size, "x", &err), QS_OK);
    ASSERT_EQ(v, values[i]);
    ASSERT_EQ(size, sizes[i]);
    ASSERT_EQ(is_null, 0);
    /* every form cut short is refused, from exact copies */
    for (k = 0; k < sizes[i]; k++) {
      qs_my_span cut = exact(b.p, k);
      ASSERT_EQ(qs_my_lenenc(cut.p, cut.n, &v, NULL, &size, "the count", &err), QS_INTERFACE);
      ASSERT(strstr(err.message, "the count") != NULL);
    }
  }
  {
    uint64_t v;
    size_t size;
    int is_null = 0;
    ASSERT_EQ(qs_my_lenenc("\xfb", 1, &v, &is_null, &size, "x", &err), QS_OK);
    ASSERT_EQ(is_null, 1);
    ASSERT_EQ(size, 1u);
    ASSERT_EQ(qs_my_lenenc("\xfb", 1, &v, NULL, &size, "x", &err), QS_INTERFACE);
    ASSERT_EQ(qs_my_lenenc("\xff\x01\x02", 3, &v, &is_null, &size, "x", &err), QS_INTERFACE);
    ASSERT(strstr(err.message, "0xff") != NULL);
  }
  qs_buf_free(&b);
  release_exact();
  qs_error_clear(&err);
  return 0;
}

/* A MariaDB 10.11 handshake: version, id 0x2a, scramble "abcdefgh" +
** "ijklmnopqrst", capabilities 0xa0fff7fe (lower f7fe, upper a0ff... as
** below), utf8mb4, autocommit, plugin mysql_native_password. */
static const char handshake[] =
    "\x0a" "5.5.5-10.11.6-MariaDB\0"
    "\x2a\x00\x00\x00"
    "abcdefgh" "\0"
    "\xfe\xf7"            /* lower capabilities */
    "\x2d"                /* charset 45 */
    "\x02\x00"            /* status: autocommit */
    "\xff\x81"            /* upper capabilities: PLUGIN_AUTH, LENENC data, DEPRECATE_EOF... */
    "\x15"                /* auth data length 21 */
    "\0\0\0\0\0\0" "\x1d\x00\x00\x00"   /* reserved, MariaDB's extended capabilities */
    "ijklmnopqrst\0"
    "mysql_native_password\0";

TEST_IMPL(mywire_handshake) {
  qs_error err = {0};
  qs_my_handshake h;
  qs_my_span pl = EXACT(handshake);
  size_t k;
  ASSERT_EQ(qs_my_parse_handshake(&pl, &h, &err), QS_OK);
  ASSERT_EQ(h.protocol, 10u);
  ASSERT(SPAN_IS(h.server_version, "5.5.5-10.11.6-MariaDB"));
  ASSERT_EQ(h.connection_id, 42u);
  ASSERT_EQ(h.scramble_len, 20u);
  ASSERT(memcmp(h.scramble, "abcdefghijklmnopqrst", 20) == 0);
  ASSERT_EQ(h.capabilities, 0x81fff7feu);
  ASSERT(h.capabilities & QS_MY_CLIENT_DEPRECATE_EOF);
  ASSERT_EQ(h.charset, 45u);
  ASSERT_EQ(h.status, 2u);
  ASSERT(SPAN_IS(h.plugin, "mysql_native_password"));
  /* the plugin name without its NUL (an old server bug) is the rest */
  pl = exact(handshake, sizeof handshake - 2);
  ASSERT_EQ(qs_my_parse_handshake(&pl, &h, &err), QS_OK);
  ASSERT(SPAN_IS(h.plugin, "mysql_native_password"));
  /* every cut before the plugin name is refused, never over-read; a cut
  ** exactly after the lower capabilities is a pre-4.1 server's whole packet */
  for (k = 0; k < sizeof handshake - 1 - 22; k++) {
    int rc;
    pl = exact(handshake, k);
    rc = qs_my_parse_handshake(&pl, &h, &err);
    if (k == 1 + 22 + 4 + 8 + 1 + 2) {
      ASSERT_EQ(rc, QS_OK);
      ASSERT_EQ(h.scramble_len, 8u);
    } else {
      ASSERT_EQ(rc, QS_INTERFACE);
    }
  }
  pl = EXACT("\x09" "4.0\0");
  ASSERT_EQ(qs_my_parse_handshake(&pl, &h, &err), QS_INTERFACE);
  ASSERT(strstr(err.message, "protocol version 9") != NULL);
  /* a refusal comes as an ERR packet */
  pl = EXACT("\xff\x69\x04" "Host 'x' is not allowed to connect");
  ASSERT(qs_my_is_err(&pl));
  ASSERT_EQ(qs_my_parse_handshake(&pl, &h, &err), QS_INTERFACE);
  ASSERT_EQ(qs_my_err_to_error(&pl, &err), QS_OPERATIONAL);
  ASSERT_EQ(err.driver_code, 1129);
  ASSERT_STR_EQ(err.sqlstate, "");
  ASSERT_STR_EQ(err.message, "(1129) Host 'x' is not allowed to connect");
  release_exact();
  qs_error_clear(&err);
  return 0;
}

TEST_IMPL(mywire_login_packets) {
  qs_buf b;
  qs_error err = {0};
  qs_my_login l;
  uint8_t seq = 1;
  const unsigned char auth[3] = {1, 2, 3};
  qs_buf_init(&b);
  memset(&l, 0, sizeof l);
  l.capabilities = QS_MY_CLIENT_WANTED | QS_MY_CLIENT_CONNECT_WITH_DB;
  l.charset = QS_MY_UTF8MB4;
  l.user = "qs";
  l.auth = auth;
  l.auth_len = 3;
  l.database = "db";
  l.plugin = "mysql_native_password";
  ASSERT_EQ(qs_my_handshake_response(&b, &seq, &l, &err), QS_OK);
  ASSERT_EQ(seq, 2);
  ASSERT_BYTES(b, "\x40\x00\x00\x01"
                  "\x0f\xa2\x2e\x01"          /* capabilities */
                  "\x00\x00\x00\x40"          /* max packet: 1 GiB */
                  "\x2d"
                  "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"
                  "qs\0"
                  "\x03\x01\x02\x03"
                  "db\0"
                  "mysql_native_password\0");
  /* the SSL request is the same 32 first bytes, CLIENT_SSL set */
  qs_buf_reset(&b);
  seq = 1;
  ASSERT_EQ(qs_my_ssl_request(&b, &seq, &l, &err), QS_ARGUMENT);
  l.capabilities |= QS_MY_CLIENT_SSL;
  ASSERT_EQ(qs_my_ssl_request(&b, &seq, &l, &err), QS_OK);
  ASSERT_EQ(seq, 2);
  ASSERT_BYTES(b, "\x20\x00\x00\x01" "\x0f\xaa\x2e\x01" "\x00\x00\x00\x40" "\x2d"
                  "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0");
  /* no database, no auth data */
  qs_buf_reset(&b);
  seq = 1;
  l.capabilities = QS_MY_CLIENT_WANTED;
  l.auth_len = 0;
  l.database = NULL;
  ASSERT_EQ(qs_my_handshake_response(&b, &seq, &l, &err), QS_OK);
  ASSERT_EQ(b.len, 4u + 32 + 3 + 1 + 22);
  ASSERT(memcmp(b.p + 36, "qs\0\0mysql_native_password\0", 26) == 0);
  /* refused, leaving the buffer alone */
  qs_buf_reset(&b);
  l.capabilities |= QS_MY_CLIENT_CONNECT_WITH_DB;
  ASSERT_EQ(qs_my_handshake_response(&b, &seq, &l, &err), QS_ARGUMENT);
  ASSERT_EQ(b.len, 0u);
  /* auth data after a switch: a bare packet */
  seq = 3;
  ASSERT_EQ(qs_my_auth_data(&b, &seq, auth, 3, &err), QS_OK);
  ASSERT_BYTES(b, "\x03\x00\x00\x03" "\x01\x02\x03");
  qs_buf_free(&b);
  qs_error_clear(&err);
  return 0;
}

TEST_IMPL(mywire_auth_packets) {
  qs_error err = {0};
  qs_my_span pl, plugin, data;
  pl = EXACT("\xfe" "mysql_native_password\0" "01234567890123456789\0");
  ASSERT_EQ(qs_my_parse_auth_switch(&pl, &plugin, &data, &err), QS_OK);
  ASSERT(SPAN_IS(plugin, "mysql_native_password"));
  ASSERT(SPAN_IS(data, "01234567890123456789"));
  pl = EXACT("\xfe" "caching_sha2_password");   /* name without NUL */
  ASSERT_EQ(qs_my_parse_auth_switch(&pl, &plugin, &data, &err), QS_INTERFACE);
  pl = EXACT("\xfe");
  ASSERT_EQ(qs_my_parse_auth_switch(&pl, &plugin, &data, &err), QS_INTERFACE);
  pl = EXACT("\x00\x00");
  ASSERT_EQ(qs_my_parse_auth_switch(&pl, &plugin, &data, &err), QS_INTERFACE);
  pl = EXACT("\x01\x03");
  ASSERT_EQ(qs_my_parse_auth_more(&pl, &data, &err), QS_OK);
  ASSERT_EQ(data.n, 1u);
  ASSERT_EQ(data.p[0], 3);
  pl = EXACT("\x02\x03");
  ASSERT_EQ(qs_my_parse_auth_more(&pl, &data, &err), QS_INTERFACE);
  pl = exact("", 0);
  ASSERT_EQ(qs_my_parse_auth_more(&pl, &data, &err), QS_INTERFACE);
  release_exact();
  qs_error_clear(&err);
  return 0;
}

TEST_IMPL(mywire_ok_err_eof) {
  qs_error err = {0};
  qs_my_span pl;
  qs_my_ok ok;
  qs_my_err e;
  unsigned w, st;
  size_t k;
  static const char okp[] = "\x00\xfc\x00\x01\xfd\x01\x02\x03\x03\x00\x01\x00" "Rows matched: 1";
  pl = EXACT(okp);
  ASSERT(qs_my_is_ok(&pl));
  ASSERT_EQ(qs_my_parse_ok(&pl, &ok, &err), QS_OK);
  ASSERT_EQ(ok.affected_rows, 256u);
  ASSERT_EQ(ok.last_insert_id, 0x030201u);
  ASSERT_EQ(ok.status, 3u);
  ASSERT_EQ(ok.warnings, 1u);
  ASSERT(SPAN_IS(ok.info, "Rows matched: 1"));
  for (k = 0; k < 12; k++) {
    pl = exact(okp, k);
    ASSERT_EQ(qs_my_parse_ok(&pl, &ok, &err), QS_INTERFACE);
  }
  /* the OK that ends a result under DEPRECATE_EOF */
  pl = EXACT("\xfe\x00\x00\x22\x00\x00\x00");
  ASSERT(qs_my_is_eof(&pl));
  ASSERT_EQ(qs_my_parse_end(&pl, &ok, &err), QS_OK);
  ASSERT_EQ(ok.status, 0x22u);
  /* a classic EOF */
  pl = EXACT("\xfe\x01\x00\x08\x00");
  ASSERT_EQ(qs_my_parse_eof(&pl, &w, &st, &err), QS_OK);
  ASSERT_EQ(w, 1u);
  ASSERT_EQ(st, 8u);
  ASSERT_EQ(qs_my_parse_end(&pl, &ok, &err), QS_OK);
  ASSERT_EQ(ok.status, 8u);
  pl = EXACT("\xfe\x01\x00\x08");
  ASSERT_EQ(qs_my_parse_eof(&pl, &w, &st, &err), QS_INTERFACE);
  pl = EXACT("\x05" "hello");
  ASSERT(!qs_my_is_eof(&pl));
  ASSERT_EQ(qs_my_parse_end(&pl, &ok, &err), QS_INTERFACE);
  /* ERR with a SQL state; a duplicate key names its constraint */
  pl = EXACT("\xff\x26\x04" "#23000" "Duplicate entry '1' for key 'PRIMARY'");
  ASSERT_EQ(qs_my_parse_err(&pl, &e, &err), QS_OK);
  ASSERT_EQ(e.code, 1062u);
  ASSERT_STR_EQ(e.sqlstate, "23000");
  ASSERT(SPAN_IS(e.message, "Duplicate entry '1' for key 'PRIMARY'"));
  ASSERT_EQ(qs_my_err_to_error(&pl, &err), QS_INTEGRITY);
  ASSERT_EQ(err.driver_code, 1062);
  ASSERT_STR_EQ(err.sqlstate, "23000");
  ASSERT_STR_EQ(err.constraint, "PRIMARY");
  ASSERT_STR_EQ(err.message, "(1062) Duplicate entry '1' for key 'PRIMARY'");
  ASSERT_EQ(err.invalidated, 0);
  pl = EXACT("\xff\x28\x04" "#42S02" "Table 'x' doesn't exist");
  ASSERT_EQ(qs_my_err_to_error(&pl, &err), QS_PROGRAMMING);
  ASSERT(err.constraint == NULL);
  pl = EXACT("\xff\x87\x07" "#70100" "Connection was killed");
  ASSERT_EQ(qs_my_err_to_error(&pl, &err), QS_OPERATIONAL);
  ASSERT_EQ(err.invalidated, 1);
  pl = EXACT("\xff\x26");
  ASSERT_EQ(qs_my_parse_err(&pl, &e, &err), QS_INTERFACE);
  pl = EXACT("\xff\x26\x04" "#230");
  ASSERT_EQ(qs_my_parse_err(&pl, &e, &err), QS_INTERFACE);
  pl = EXACT("\x00\x26\x04");
  ASSERT_EQ(qs_my_parse_err(&pl, &e, &err), QS_INTERFACE);
  ASSERT(strstr(err.message, "ERR") != NULL);
  release_exact();
  qs_error_clear(&err);
  return 0;
}

TEST_IMPL(mywire_commands) {
  qs_buf b;
  qs_error err = {0};
  uint8_t seq = 9;
  qs_value v[7];
  qs_buf_init(&b);
  ASSERT_EQ(qs_my_com_query(&b, &seq, "SELECT 1", 8, &err), QS_OK);
  ASSERT_EQ(seq, 1);
  ASSERT_EQ(qs_my_com_ping(&b, &seq, &err), QS_OK);
  ASSERT_EQ(qs_my_com_quit(&b, &seq, &err), QS_OK);
  ASSERT_EQ(qs_my_com_init_db(&b, &seq, "db", &err), QS_OK);
  ASSERT_BYTES(b, "\x09\0\0\0" "\x03" "SELECT 1" "\x01\0\0\0" "\x0e" "\x01\0\0\0" "\x01"
                  "\x03\0\0\0" "\x02" "db");
  qs_buf_reset(&b);
  ASSERT_EQ(qs_my_com_stmt_prepare(&b, &seq, "SELECT ?", 8, &err), QS_OK);
  ASSERT_EQ(qs_my_com_stmt_close(&b, &seq, 0x01020304, &err), QS_OK);
  ASSERT_EQ(qs_my_com_stmt_reset(&b, &seq, 7, &err), QS_OK);
  ASSERT_BYTES(b, "\x09\0\0\0" "\x16" "SELECT ?" "\x05\0\0\0" "\x19\x04\x03\x02\x01"
                  "\x05\0\0\0" "\x1a\x07\0\0\0");
  qs_buf_reset(&b);
  ASSERT_EQ(qs_my_com_stmt_execute(&b, &seq, 1, 0, NULL, &err), QS_OK);
  ASSERT_BYTES(b, "\x0a\0\0\0" "\x17" "\x01\0\0\0" "\0" "\x01\0\0\0");
  qs_buf_reset(&b);
  memset(v, 0, sizeof v);
  v[0].type = QS_TINT;   v[0].u.i = -2;
  v[1].type = QS_TNULL;
  v[2].type = QS_TBOOL;  v[2].u.i = 5;
  v[3].type = QS_TFLOAT; v[3].u.f = 1.5;
  v[4].type = QS_TTEXT;  v[4].u.s.p = "hi"; v[4].u.s.n = 2;
  v[5].type = QS_TBLOB;  v[5].u.s.p = "\x00\x01"; v[5].u.s.n = 2;
  v[6].type = QS_TNULL;
  ASSERT_EQ(qs_my_com_stmt_execute(&b, &seq, 2, 7, v, &err), QS_OK);
  ASSERT_BYTES(b, "\x31\0\0\0"
                  "\x17" "\x02\0\0\0" "\0" "\x01\0\0\0"
                  "\x42"                            /* NULLs: parameters 2 and 7 */
                  "\x01"
                  "\x08\0" "\x06\0" "\x01\0" "\x05\0" "\xfe\0" "\xfc\0" "\x06\0"
                  "\xfe\xff\xff\xff\xff\xff\xff\xff"
                  "\x01"
                  "\0\0\0\0\0\0\xf8\x3f"
                  "\x02" "hi"
                  "\x02" "\x00\x01");
  ASSERT_EQ(seq, 1);
  /* a bad value leaves the buffer as it was */
  qs_buf_reset(&b);
  v[3].type = (qs_type)77;
  ASSERT_EQ(qs_my_com_stmt_execute(&b, &seq, 2, 7, v, &err), QS_ARGUMENT);
  ASSERT(strstr(err.message, "parameter 4") != NULL);
  ASSERT_EQ(b.len, 0u);
  ASSERT_EQ(qs_my_com_stmt_execute(&b, &seq, 2, 70000, v, &err), QS_ARGUMENT);
  v[3].type = QS_TTEXT;
  v[3].u.s.p = "x";
  v[3].u.s.n = (size_t)QS_MY_MAX_PAYLOAD + 1;   /* refused before a byte of it is read */
  ASSERT_EQ(qs_my_com_stmt_execute(&b, &seq, 2, 7, v, &err), QS_ARGUMENT);
  ASSERT_EQ(b.len, 0u);
  qs_buf_free(&b);
  qs_error_clear(&err);
  return 0;
}

/* A column definition: def, schema db, table t, t, name "n", "n", 12,
** charset, length, type, flags, decimals, filler. */
static const char coldef_int[] =
    "\x03" "def" "\x02" "db" "\x01" "t" "\x01" "t" "\x01" "n" "\x01" "n"
    "\x0c" "\x3f\x00" "\x14\x00\x00\x00" "\x08" "\x21\x00" "\x00" "\x00\x00";

TEST_IMPL(mywire_prepare_and_columns) {
  qs_error err = {0};
  qs_my_span pl;
  qs_my_prepare_ok p;
  qs_my_column c;
  unsigned n;
  size_t k;
  static const char pok[] = "\x00" "\x05\x00\x00\x00" "\x02\x00" "\x03\x00" "\x00" "\x01\x00";
  pl = EXACT(pok);
  ASSERT_EQ(qs_my_parse_prepare_ok(&pl, &p, &err), QS_OK);
  ASSERT_EQ(p.stmt_id, 5u);
  ASSERT_EQ(p.ncols, 2u);
  ASSERT_EQ(p.nparams, 3u);
  ASSERT_EQ(p.warnings, 1u);
  for (k = 0; k < 9; k++) {
    pl = exact(pok, k);
    ASSERT_EQ(qs_my_parse_prepare_ok(&pl, &p, &err), QS_INTERFACE);
  }
  pl = EXACT("\x00" "\x05\x00\x00\x00" "\x02\x00" "\x03\x00" "\x00" "\x01\x00" "zz");
  ASSERT_EQ(qs_my_parse_prepare_ok(&pl, &p, &err), QS_INTERFACE);
  pl = EXACT(coldef_int);
  ASSERT_EQ(qs_my_parse_column(&pl, &c, &err), QS_OK);
  ASSERT(SPAN_IS(c.schema, "db"));
  ASSERT(SPAN_IS(c.table, "t"));
  ASSERT(SPAN_IS(c.name, "n"));
  ASSERT_EQ(c.charset, 63u);
  ASSERT_EQ(c.length, 20u);
  ASSERT_EQ(c.type, (unsigned)QS_MY_TYPE_LONGLONG);
  ASSERT_EQ(c.flags, 0x21u);
  ASSERT_EQ(c.decimals, 0u);
  for (k = 0; k < sizeof coldef_int - 1; k++) {
    pl = exact(coldef_int, k);
    ASSERT_EQ(qs_my_parse_column(&pl, &c, &err), QS_INTERFACE);
  }
  /* a name whose declared length runs past the packet */
  pl = EXACT("\x03" "def" "\x02" "db" "\x01" "t" "\x01" "t" "\x40" "n");
  ASSERT_EQ(qs_my_parse_column(&pl, &c, &err), QS_INTERFACE);
  ASSERT(strstr(err.message, "column definition") != NULL);
  /* the result set header */
  pl = EXACT("\x03");
  ASSERT_EQ(qs_my_parse_column_count(&pl, &n, &err), QS_OK);
  ASSERT_EQ(n, 3u);
  pl = EXACT("\xfc\x00\x10");
  ASSERT_EQ(qs_my_parse_column_count(&pl, &n, &err), QS_OK);
  ASSERT_EQ(n, 4096u);
  pl = EXACT("\xfc\x01\x10");
  ASSERT_EQ(qs_my_parse_column_count(&pl, &n, &err), QS_INTERFACE);
  pl = EXACT("\xfc\x01");
  ASSERT_EQ(qs_my_parse_column_count(&pl, &n, &err), QS_INTERFACE);
  pl = EXACT("\x02\x00");
  ASSERT_EQ(qs_my_parse_column_count(&pl, &n, &err), QS_INTERFACE);
  pl = EXACT("\xfb" "file.csv");
  ASSERT_EQ(qs_my_parse_column_count(&pl, &n, &err), QS_NOTSUPPORTED);
  release_exact();
  qs_error_clear(&err);
  return 0;
}

TEST_IMPL(mywire_text_rows) {
  qs_error err = {0};
  qs_my_span pl;
  qs_my_cell cells[3];
  pl = EXACT("\x01" "1" "\xfb" "\x00");
  ASSERT_EQ(qs_my_parse_text_row(&pl, 3, cells, &err), QS_OK);
  ASSERT(cells[0].n == 1 && cells[0].p[0] == '1');
  ASSERT(cells[1].p == NULL);
  ASSERT(cells[2].p != NULL && cells[2].n == 0);
  ASSERT_EQ(qs_my_parse_text_row(&pl, 2, cells, &err), QS_INTERFACE);   /* more than the result has */
  ASSERT(strstr(err.message, "more columns") != NULL);
  pl = EXACT("\x01" "1");
  ASSERT_EQ(qs_my_parse_text_row(&pl, 3, cells, &err), QS_INTERFACE);   /* fewer */
  ASSERT(strstr(err.message, "1 columns where the result has 3") != NULL);
  pl = EXACT("\x05" "ab");
  ASSERT_EQ(qs_my_parse_text_row(&pl, 1, cells, &err), QS_INTERFACE);   /* runs past */
  pl = EXACT("\xfc\x05");
  ASSERT_EQ(qs_my_parse_text_row(&pl, 1, cells, &err), QS_INTERFACE);   /* cut lenenc */
  release_exact();
  qs_error_clear(&err);
  return 0;
}

static qs_my_column col(unsigned type, unsigned flags, unsigned charset, unsigned decimals) {
  qs_my_column c;
  memset(&c, 0, sizeof c);
  c.type = type;
  c.flags = flags;
  c.charset = charset;
  c.decimals = decimals;
  return c;
}

#define TEXT_IS(v, lit) ((v).type == QS_TTEXT && (v).u.s.n == strlen(lit) && \
                         memcmp((v).u.s.p, (lit), (v).u.s.n) == 0)

TEST_IMPL(mywire_binary_rows) {
  qs_error err = {0};
  qs_my_span pl;
  qs_my_column cols[16];
  qs_my_cell cells[16];
  qs_value v;
  char scratch[QS_MY_SCRATCH];
  size_t k;
  /* tiny -1, unsigned tiny 255, short -2, year 2024, long -3, unsigned long
  ** 4294967295, longlong -4, float 1.5, double -0.25, newdecimal "1.50",
  ** blob (binary) 00 01, varstring (text) "hé", NULL, bit 0x05, json, int24 */
  static const char row[] =
      "\x00"
      "\x00\x40\x00"                                  /* null bitmap: column 12 (bit 14) */
      "\xff" "\xff" "\xfe\xff" "\xe8\x07" "\xfd\xff\xff\xff" "\xff\xff\xff\xff"
      "\xfc\xff\xff\xff\xff\xff\xff\xff"
      "\x00\x00\xc0\x3f"
      "\x00\x00\x00\x00\x00\x00\xd0\xbf"
      "\x04" "1.50"
      "\x02" "\x00\x01"
      "\x03" "h\xc3\xa9"
      "\x01" "\x05"
      "\x07" "{\"a\":1}"
      "\x07\x00\x00\x00";
  cols[0] = col(QS_MY_TYPE_TINY, 0, 63, 0);
  cols[1] = col(QS_MY_TYPE_TINY, QS_MY_FLAG_UNSIGNED, 63, 0);
  cols[2] = col(QS_MY_TYPE_SHORT, 0, 63, 0);
  cols[3] = col(QS_MY_TYPE_YEAR, QS_MY_FLAG_UNSIGNED, 63, 0);
  cols[4] = col(QS_MY_TYPE_LONG, 0, 63, 0);
  cols[5] = col(QS_MY_TYPE_LONG, QS_MY_FLAG_UNSIGNED, 63, 0);
  cols[6] = col(QS_MY_TYPE_LONGLONG, 0, 63, 0);
  cols[7] = col(QS_MY_TYPE_FLOAT, 0, 63, 31);
  cols[8] = col(QS_MY_TYPE_DOUBLE, 0, 63, 31);
  cols[9] = col(QS_MY_TYPE_NEWDECIMAL, 0, 63, 2);
  cols[10] = col(QS_MY_TYPE_BLOB, QS_MY_FLAG_BINARY, 63, 0);
  cols[11] = col(QS_MY_TYPE_VAR_STRING, 0, 45, 0);
  cols[12] = col(QS_MY_TYPE_LONGLONG, 0, 63, 0);
  cols[13] = col(QS_MY_TYPE_BIT, QS_MY_FLAG_UNSIGNED, 63, 0);
  cols[14] = col(QS_MY_TYPE_BLOB, 0, 45, 0);   /* MariaDB's JSON: LONGTEXT */
  cols[15] = col(QS_MY_TYPE_INT24, 0, 63, 0);
  pl = EXACT(row);
  ASSERT_EQ(qs_my_parse_binary_row(&pl, 16, cols, cells, &err), QS_OK);
  qs_my_binary_value(&cols[0], &cells[0], &v, scratch);
  ASSERT(v.type == QS_TINT && v.u.i == -1);
  qs_my_binary_value(&cols[1], &cells[1], &v, scratch);
  ASSERT(v.type == QS_TINT && v.u.i == 255);
  qs_my_binary_value(&cols[2], &cells[2], &v, scratch);
  ASSERT(v.type == QS_TINT && v.u.i == -2);
  qs_my_binary_value(&cols[3], &cells[3], &v, scratch);
  ASSERT(v.type == QS_TINT && v.u.i == 2024);
  qs_my_binary_value(&cols[4], &cells[4], &v, scratch);
  ASSERT(v.type == QS_TINT && v.u.i == -3);
  qs_my_binary_value(&cols[5], &cells[5], &v, scratch);
  ASSERT(v.type == QS_TINT && v.u.i == 4294967295LL);
  qs_my_binary_value(&cols[6], &cells[6], &v, scratch);
  ASSERT(v.type == QS_TINT && v.u.i == -4);
  qs_my_binary_value(&cols[7], &cells[7], &v, scratch);
  ASSERT(v.type == QS_TFLOAT && v.u.f == 1.5);
  qs_my_binary_value(&cols[8], &cells[8], &v, scratch);
  ASSERT(v.type == QS_TFLOAT && v.u.f == -0.25);
  qs_my_binary_value(&cols[9], &cells[9], &v, scratch);
  ASSERT(TEXT_IS(v, "1.50"));
  qs_my_binary_value(&cols[10], &cells[10], &v, scratch);
  ASSERT(v.type == QS_TBLOB && v.u.s.n == 2 && memcmp(v.u.s.p, "\x00\x01", 2) == 0);
  qs_my_binary_value(&cols[11], &cells[11], &v, scratch);
  ASSERT(TEXT_IS(v, "h\xc3\xa9"));
  qs_my_binary_value(&cols[12], &cells[12], &v, scratch);
  ASSERT(v.type == QS_TNULL);
  qs_my_binary_value(&cols[13], &cells[13], &v, scratch);
  ASSERT(v.type == QS_TTEXT && v.u.s.n == 1 && v.u.s.p[0] == 5);   /* as libmariadb: BIT is not "binary" */
  qs_my_binary_value(&cols[14], &cells[14], &v, scratch);
  ASSERT(TEXT_IS(v, "{\"a\":1}"));
  qs_my_binary_value(&cols[15], &cells[15], &v, scratch);
  ASSERT(v.type == QS_TINT && v.u.i == 7);
  /* every cut is refused, never over-read */
  for (k = 0; k < sizeof row - 1; k++) {
    pl = exact(row, k);
    ASSERT_EQ(qs_my_parse_binary_row(&pl, 16, cols, cells, &err), QS_INTERFACE);
  }
  /* a column count the row does not match: bytes left over, or short */
  pl = EXACT(row);
  ASSERT_EQ(qs_my_parse_binary_row(&pl, 15, cols, cells, &err), QS_INTERFACE);
  ASSERT(strstr(err.message, "left over") != NULL);
  /* a null bitmap running past the packet */
  pl = EXACT("\x00\x00");
  ASSERT_EQ(qs_my_parse_binary_row(&pl, 16, cols, cells, &err), QS_INTERFACE);
  ASSERT(strstr(err.message, "null bitmap") != NULL);
  /* a string declaring more than the packet holds */
  cols[0] = col(QS_MY_TYPE_VAR_STRING, 0, 45, 0);
  pl = EXACT("\x00\x00" "\xfc\xff\x00" "abc");
  ASSERT_EQ(qs_my_parse_binary_row(&pl, 1, cols, cells, &err), QS_INTERFACE);
  pl = EXACT("\x01\x00" "\x01" "a");
  ASSERT_EQ(qs_my_parse_binary_row(&pl, 1, cols, cells, &err), QS_INTERFACE);   /* not 0x00 */
  release_exact();
  qs_error_clear(&err);
  return 0;
}

TEST_IMPL(mywire_temporal_values) {
  qs_error err = {0};
  qs_my_span pl;
  qs_my_column cols[1];
  qs_my_cell cell;
  qs_value v;
  char scratch[QS_MY_SCRATCH];
  struct {
    unsigned type, decimals;
    const char *bytes;
    size_t n;
    const char *want;
  } cases[] = {
    {QS_MY_TYPE_DATE, 0, "\x04\xe8\x07\x02\x1d", 5, "2024-02-29"},
    {QS_MY_TYPE_DATE, 0, "\x00", 1, "0000-00-00"},
    {QS_MY_TYPE_DATETIME, 0, "\x07\xe8\x07\x02\x1d\x17\x3b\x3a", 8, "2024-02-29 23:59:58"},
    {QS_MY_TYPE_DATETIME, 0, "\x04\xe8\x07\x02\x1d", 5, "2024-02-29 00:00:00"},
    {QS_MY_TYPE_DATETIME, 6, "\x0b\xe8\x07\x02\x1d\x01\x02\x03\x40\xe2\x01\x00", 12,
     "2024-02-29 01:02:03.123456"},
    {QS_MY_TYPE_TIMESTAMP, 3, "\x0b\xe8\x07\x02\x1d\x01\x02\x03\x40\xe2\x01\x00", 12,
     "2024-02-29 01:02:03.123"},
    {QS_MY_TYPE_TIMESTAMP, 2, "\x07\xe8\x07\x02\x1d\x01\x02\x03", 8, "2024-02-29 01:02:03.00"},
    {QS_MY_TYPE_TIMESTAMP, 0, "\x00", 1, "0000-00-00 00:00:00"},
    {QS_MY_TYPE_TIME, 0, "\x08\x00\x00\x00\x00\x00\x0c\x22\x38", 9, "12:34:56"},
    {QS_MY_TYPE_TIME, 0, "\x08\x01\x01\x00\x00\x00\x02\x00\x00", 9, "-26:00:00"},
    {QS_MY_TYPE_TIME, 0, "\x08\x00\x22\x00\x00\x00\x16\x3b\x3b", 9, "838:59:59"},
    {QS_MY_TYPE_TIME, 4, "\x0c\x00\x00\x00\x00\x00\x00\x00\x01\x40\xe2\x01\x00", 13,
     "00:00:01.1234"},
    {QS_MY_TYPE_TIME, 0, "\x00", 1, "00:00:00"},
  };
  size_t i;
  for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char row[32];
    memset(cols, 0, sizeof cols);
    cols[0].type = cases[i].type;
    cols[0].decimals = cases[i].decimals;
    cols[0].charset = 63;
    row[0] = 0;
    row[1] = 0;
    memcpy(row + 2, cases[i].bytes, cases[i].n);
    pl = exact(row, cases[i].n + 2);
    ASSERT_EQ(qs_my_parse_binary_row(&pl, 1, cols, &cell, &err), QS_OK);
    qs_my_binary_value(&cols[0], &cell, &v, scratch);
    if (!TEXT_IS(v, cases[i].want)) {
      fprintf(stderr, "  case %zu: got %.*s\n", i, (int)v.u.s.n, v.u.s.p);
      ASSERT(0);
    }
  }
  /* a date of an impossible length */
  cols[0].type = QS_MY_TYPE_DATETIME;
  pl = EXACT("\x00\x00" "\x05\xe8\x07\x02\x1d\x01");
  ASSERT_EQ(qs_my_parse_binary_row(&pl, 1, cols, &cell, &err), QS_INTERFACE);
  ASSERT(strstr(err.message, "impossible length") != NULL);
  cols[0].type = QS_MY_TYPE_TIME;
  pl = EXACT("\x00\x00" "\x07\x00\x00\x00\x00\x00\x0c\x22");
  ASSERT_EQ(qs_my_parse_binary_row(&pl, 1, cols, &cell, &err), QS_INTERFACE);
  release_exact();
  qs_error_clear(&err);
  return 0;
}

/* What MariaDB 10.11.19 sent (recorded through a proxy) for: connect as
** qs (mysql_native_password), COM_STMT_PREPARE of "SELECT ? AS i, CAST(-1.5
** AS DOUBLE) AS d, CAST('2024-02-29 01:02:03.25' AS DATETIME(2)) AS dt,
** CAST('-01:02:03' AS TIME) AS t, 'h\xc3\xa9' AS s, X'00ff' AS b, NULL AS n,
** CAST(12.5 AS DECIMAL(5,2)) AS m, CAST(18446744073709551615 AS UNSIGNED) AS
** u", its COM_STMT_EXECUTE with 7: greeting, OK; prepare OK, 1 parameter
** and 9 column definitions (DEPRECATE_EOF: no EOF packets); column count, 9
** definitions, one binary row, the OK that ends the result. */
static const char recorded[] =
    "\x64\x00\x00\x00\x0a\x35\x2e\x35\x2e\x35\x2d\x31\x30\x2e\x31\x31"
    "\x2e\x31\x39\x2d\x4d\x61\x72\x69\x61\x44\x42\x2d\x30\x2b\x64\x65"
    "\x62\x31\x32\x75\x31\x00\x25\x07\x00\x00\x67\x4a\x7d\x58\x7c\x2a"
    "\x58\x5b\x00\xfe\xf7\xe0\x02\x00\xff\x81\x15\x00\x00\x00\x00\x00"
    "\x00\x1d\x00\x00\x00\x44\x22\x77\x58\x30\x26\x6b\x6a\x55\x47\x47"
    "\x6b\x00\x6d\x79\x73\x71\x6c\x5f\x6e\x61\x74\x69\x76\x65\x5f\x70"
    "\x61\x73\x73\x77\x6f\x72\x64\x00\x07\x00\x00\x02\x00\x00\x00\x02"
    "\x00\x00\x00\x0c\x00\x00\x01\x00\x38\x04\x00\x00\x09\x00\x01\x00"
    "\x00\x00\x00\x17\x00\x00\x02\x03\x64\x65\x66\x00\x00\x00\x01\x69"
    "\x00\x0c\x3f\x00\x00\x00\x00\x00\x06\x80\x00\x00\x00\x00\x17\x00"
    "\x00\x03\x03\x64\x65\x66\x00\x00\x00\x01\x69\x00\x0c\x3f\x00\x00"
    "\x00\x00\x00\x06\x80\x00\x00\x00\x00\x17\x00\x00\x04\x03\x64\x65"
    "\x66\x00\x00\x00\x01\x64\x00\x0c\x3f\x00\x16\x00\x00\x00\x05\x80"
    "\x00\x1f\x00\x00\x18\x00\x00\x05\x03\x64\x65\x66\x00\x00\x00\x02"
    "\x64\x74\x00\x0c\x3f\x00\x16\x00\x00\x00\x0c\x80\x00\x02\x00\x00"
    "\x17\x00\x00\x06\x03\x64\x65\x66\x00\x00\x00\x01\x74\x00\x0c\x3f"
    "\x00\x0a\x00\x00\x00\x0b\x80\x00\x00\x00\x00\x17\x00\x00\x07\x03"
    "\x64\x65\x66\x00\x00\x00\x01\x73\x00\x0c\x2d\x00\x08\x00\x00\x00"
    "\xfd\x01\x00\x27\x00\x00\x17\x00\x00\x08\x03\x64\x65\x66\x00\x00"
    "\x00\x01\x62\x00\x0c\x3f\x00\x02\x00\x00\x00\xfd\xa1\x00\x00\x00"
    "\x00\x17\x00\x00\x09\x03\x64\x65\x66\x00\x00\x00\x01\x6e\x00\x0c"
    "\x3f\x00\x00\x00\x00\x00\x06\x80\x00\x00\x00\x00\x17\x00\x00\x0a"
    "\x03\x64\x65\x66\x00\x00\x00\x01\x6d\x00\x0c\x3f\x00\x07\x00\x00"
    "\x00\xf6\x81\x00\x02\x00\x00\x17\x00\x00\x0b\x03\x64\x65\x66\x00"
    "\x00\x00\x01\x75\x00\x0c\x3f\x00\x14\x00\x00\x00\x08\xa1\x00\x00"
    "\x00\x00\x01\x00\x00\x01\x09\x17\x00\x00\x02\x03\x64\x65\x66\x00"
    "\x00\x00\x01\x69\x00\x0c\x3f\x00\x15\x00\x00\x00\x08\x81\x00\x00"
    "\x00\x00\x17\x00\x00\x03\x03\x64\x65\x66\x00\x00\x00\x01\x64\x00"
    "\x0c\x3f\x00\x16\x00\x00\x00\x05\x80\x00\x1f\x00\x00\x18\x00\x00"
    "\x04\x03\x64\x65\x66\x00\x00\x00\x02\x64\x74\x00\x0c\x3f\x00\x16"
    "\x00\x00\x00\x0c\x80\x00\x02\x00\x00\x17\x00\x00\x05\x03\x64\x65"
    "\x66\x00\x00\x00\x01\x74\x00\x0c\x3f\x00\x0a\x00\x00\x00\x0b\x80"
    "\x00\x00\x00\x00\x17\x00\x00\x06\x03\x64\x65\x66\x00\x00\x00\x01"
    "\x73\x00\x0c\x2d\x00\x08\x00\x00\x00\xfd\x01\x00\x27\x00\x00\x17"
    "\x00\x00\x07\x03\x64\x65\x66\x00\x00\x00\x01\x62\x00\x0c\x3f\x00"
    "\x02\x00\x00\x00\xfd\xa1\x00\x00\x00\x00\x17\x00\x00\x08\x03\x64"
    "\x65\x66\x00\x00\x00\x01\x6e\x00\x0c\x3f\x00\x00\x00\x00\x00\x06"
    "\x80\x00\x00\x00\x00\x17\x00\x00\x09\x03\x64\x65\x66\x00\x00\x00"
    "\x01\x6d\x00\x0c\x3f\x00\x07\x00\x00\x00\xf6\x81\x00\x02\x00\x00"
    "\x17\x00\x00\x0a\x03\x64\x65\x66\x00\x00\x00\x01\x75\x00\x0c\x3f"
    "\x00\x14\x00\x00\x00\x08\xa1\x00\x00\x00\x00\x3d\x00\x00\x0b\x00"
    "\x00\x01\x07\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
    "\xf8\xbf\x0b\xe8\x07\x02\x1d\x01\x02\x03\x90\xd0\x03\x00\x08\x01"
    "\x00\x00\x00\x00\x01\x02\x03\x03\x68\xc3\xa9\x02\x00\xff\x05\x31"
    "\x32\x2e\x35\x30\xff\xff\xff\xff\xff\xff\xff\xff\x07\x00\x00\x0c"
    "\xfe\x00\x00\x02\x00\x00\x00";

/* Walks the recorded stream packet by packet, fed in pieces of step bytes
** (1: a byte at a time), checking what each packet says. */
static int walk_recorded(size_t step) {
  qs_error err = {0};
  qs_buf join;
  const size_t total = sizeof recorded - 1;
  size_t have = 0, at = 0;
  int packet = 0;
  uint8_t seq = 0;
  qs_my_column cols[9];
  qs_my_cell cells[9];
  qs_buf_init(&join);
  while (at < total) {
    qs_my_span pl, in;
    size_t used, need;
    int rc;
    /* the bytes "received" so far, from an exact-size copy */
    in = exact(recorded + at, have - at);
    rc = qs_my_next(in.p, in.n, &seq, &join, &pl, &used, &need, &err);
    if (rc == QS_WAIT) {
      ASSERT(need > 0);
      ASSERT(have < total);
      have = have + step < total ? have + step : total;
      continue;
    }
    ASSERT_EQ(rc, QS_OK);
    at += used;
    switch (packet) {
      case 0: {   /* the greeting */
        qs_my_handshake h;
        ASSERT_EQ(qs_my_parse_handshake(&pl, &h, &err), QS_OK);
        ASSERT(SPAN_IS(h.server_version, "5.5.5-10.11.19-MariaDB-0+deb12u1"));
        ASSERT_EQ(h.scramble_len, 20u);
        ASSERT(SPAN_IS(h.plugin, "mysql_native_password"));
        ASSERT(h.capabilities & QS_MY_CLIENT_DEPRECATE_EOF);
        seq = 2;   /* our response went out as 1 */
        break;
      }
      case 1: {   /* authentication OK */
        qs_my_ok ok;
        ASSERT_EQ(qs_my_parse_ok(&pl, &ok, &err), QS_OK);
        ASSERT(ok.status & QS_MY_STATUS_AUTOCOMMIT);
        seq = 1;   /* the prepare went out as 0 */
        break;
      }
      case 2: {
        qs_my_prepare_ok p;
        ASSERT_EQ(qs_my_parse_prepare_ok(&pl, &p, &err), QS_OK);
        ASSERT_EQ(p.ncols, 9u);
        ASSERT_EQ(p.nparams, 1u);
        break;
      }
      case 13: {
        unsigned n;
        ASSERT_EQ(qs_my_parse_column_count(&pl, &n, &err), QS_OK);
        ASSERT_EQ(n, 9u);
        break;
      }
      case 23: {   /* the row */
        qs_value v;
        char scratch[9][QS_MY_SCRATCH];
        ASSERT_EQ(qs_my_parse_binary_row(&pl, 9, cols, cells, &err), QS_OK);
        qs_my_binary_value(&cols[0], &cells[0], &v, scratch[0]);
        ASSERT(v.type == QS_TINT && v.u.i == 7);
        qs_my_binary_value(&cols[1], &cells[1], &v, scratch[1]);
        ASSERT(v.type == QS_TFLOAT && v.u.f == -1.5);
        qs_my_binary_value(&cols[2], &cells[2], &v, scratch[2]);
        ASSERT(TEXT_IS(v, "2024-02-29 01:02:03.25"));
        qs_my_binary_value(&cols[3], &cells[3], &v, scratch[3]);
        ASSERT(TEXT_IS(v, "-01:02:03"));
        qs_my_binary_value(&cols[4], &cells[4], &v, scratch[4]);
        ASSERT(TEXT_IS(v, "h\xc3\xa9"));
        qs_my_binary_value(&cols[5], &cells[5], &v, scratch[5]);
        ASSERT(v.type == QS_TBLOB && v.u.s.n == 2 && memcmp(v.u.s.p, "\x00\xff", 2) == 0);
        qs_my_binary_value(&cols[6], &cells[6], &v, scratch[6]);
        ASSERT(v.type == QS_TNULL);
        qs_my_binary_value(&cols[7], &cells[7], &v, scratch[7]);
        ASSERT(TEXT_IS(v, "12.50"));
        qs_my_binary_value(&cols[8], &cells[8], &v, scratch[8]);
        ASSERT(v.type == QS_TINT && v.u.i == -1);   /* 2^64 - 1: its bit pattern, as libmariadb */
        break;
      }
      case 24: {   /* the end of the result: an OK under DEPRECATE_EOF */
        qs_my_ok end;
        ASSERT(qs_my_is_eof(&pl));
        ASSERT_EQ(qs_my_parse_end(&pl, &end, &err), QS_OK);
        ASSERT(!(end.status & QS_MY_STATUS_MORE_RESULTS));
        break;
      }
      default: {
        qs_my_column c;
        if (packet == 3) {   /* the parameter's definition */
          ASSERT_EQ(qs_my_parse_column(&pl, &c, &err), QS_OK);
          ASSERT_EQ(c.type, (unsigned)QS_MY_TYPE_NULL);   /* MariaDB types no parameter at prepare */
        } else if (packet >= 4 && packet <= 12) {   /* the prepare's columns */
          ASSERT_EQ(qs_my_parse_column(&pl, &c, &err), QS_OK);
        } else {   /* 14..22: the execute's columns */
          ASSERT(packet >= 14 && packet <= 22);
          ASSERT_EQ(qs_my_parse_column(&pl, &cols[packet - 14], &err), QS_OK);
        }
        break;
      }
    }
    if (packet == 12) seq = 1;   /* the execute went out as 0 */
    packet++;
  }
  ASSERT_EQ(packet, 25);
  ASSERT_EQ(cols[2].type, (unsigned)QS_MY_TYPE_DATETIME);
  ASSERT_EQ(cols[2].decimals, 2u);
  ASSERT_EQ(cols[5].charset, 63u);
  qs_buf_free(&join);
  release_exact();
  qs_error_clear(&err);
  return 0;
}

TEST_IMPL(mywire_recorded_session) {
  ASSERT_EQ(walk_recorded(100000), 0);
  ASSERT_EQ(walk_recorded(7), 0);
  ASSERT_EQ(walk_recorded(1), 0);
  return 0;
}
