/* test_pgwire.c: the PostgreSQL wire codec (c/protocol/pgwire.c) on
** hand-written bytes: every frontend message encoded, backend sessions
** decoded whole and a byte at a time, and malformed messages refused. Each
** malformed body is parsed from an exact-size heap copy, so an over-read is
** an ASan failure rather than a silent pass. */
#include <stdlib.h>
#include <string.h>

#include "quicksilver.h"
#include "pgwire.h"
#include "test.h"

/* The buffer holds exactly the literal's bytes (its NULs included). */
#define ASSERT_BYTES(buf, lit) \
  ASSERT((buf).len == sizeof(lit) - 1 && memcmp((buf).p, (lit), sizeof(lit) - 1) == 0)

#define SPAN_IS(s, lit) ((s).n == strlen(lit) && memcmp((s).p, (lit), (s).n) == 0)

/* A message whose body is a fresh heap block of exactly n bytes (the last
** one is freed by the next call, or by release_exact). */
static char *exact_block;
static qs_pg_msg exact(char type, const char *body, size_t n) {
  qs_pg_msg m;
  free(exact_block);
  exact_block = malloc(n ? n : 1);
  if (n) memcpy(exact_block, body, n);
  m.type = type;
  m.body = exact_block;
  m.len = n;
  return m;
}
static void release_exact(void) {
  free(exact_block);
  exact_block = NULL;
}
#define EXACT(type, lit) exact((type), (lit), sizeof(lit) - 1)

TEST_IMPL(pgwire_encode_startup) {
  qs_buf b;
  qs_error err = {0};
  const char *extra[] = {"application_name", "qs", NULL};
  qs_buf_init(&b);
  ASSERT_EQ(qs_pg_startup(&b, "u", "d", extra, &err), QS_OK);
  ASSERT_BYTES(b, "\x00\x00\x00\x2f" "\x00\x03\x00\x00" "user\0u\0database\0d\0application_name\0qs\0\0");
  qs_buf_reset(&b);
  ASSERT_EQ(qs_pg_startup(&b, "u", NULL, NULL, &err), QS_OK);
  ASSERT_BYTES(b, "\x00\x00\x00\x10" "\x00\x03\x00\x00" "user\0u\0\0");
  {
    const char *odd[] = {"application_name", NULL, NULL};
    odd[1] = NULL;
    qs_buf_reset(&b);
    ASSERT_EQ(qs_pg_startup(&b, "u", NULL, odd, &err), QS_ARGUMENT);
    ASSERT_EQ(b.len, 0u);
  }
  qs_buf_free(&b);
  qs_error_clear(&err);
  return 0;
}

TEST_IMPL(pgwire_encode_simple_messages) {
  qs_buf b;
  qs_error err = {0};
  qs_buf_init(&b);
  ASSERT_EQ(qs_pg_query(&b, "SELECT 1", &err), QS_OK);
  ASSERT_BYTES(b, "Q\x00\x00\x00\x0d" "SELECT 1\0");
  qs_buf_reset(&b);
  ASSERT_EQ(qs_pg_sync(&b, &err), QS_OK);
  ASSERT_EQ(qs_pg_flush(&b, &err), QS_OK);
  ASSERT_EQ(qs_pg_terminate(&b, &err), QS_OK);
  ASSERT_BYTES(b, "S\0\0\0\x04" "H\0\0\0\x04" "X\0\0\0\x04");
  qs_buf_reset(&b);
  ASSERT_EQ(qs_pg_password(&b, "secret", &err), QS_OK);
  ASSERT_BYTES(b, "p\0\0\0\x0b" "secret\0");
  qs_buf_reset(&b);
  ASSERT_EQ(qs_pg_execute(&b, "", &err), QS_OK);
  ASSERT_BYTES(b, "E\0\0\0\x09" "\0" "\0\0\0\0");
  qs_buf_reset(&b);
  ASSERT_EQ(qs_pg_describe(&b, 'S', "s1", &err), QS_OK);
  ASSERT_EQ(qs_pg_describe(&b, 'P', "", &err), QS_OK);
  ASSERT_BYTES(b, "D\0\0\0\x08" "Ss1\0" "D\0\0\0\x06" "P\0");
  ASSERT_EQ(qs_pg_describe(&b, 'X', "", &err), QS_ARGUMENT);
  qs_buf_reset(&b);
  ASSERT_EQ(qs_pg_close_statement(&b, "s1", &err), QS_OK);
  ASSERT_BYTES(b, "C\0\0\0\x08" "Ss1\0");
  qs_buf_reset(&b);
  ASSERT_EQ(qs_pg_cancel_request(&b, 1234, 0x01020304, &err), QS_OK);
  ASSERT_BYTES(b, "\0\0\0\x10" "\x04\xd2\x16\x2e" "\0\0\x04\xd2" "\x01\x02\x03\x04");
  qs_buf_free(&b);
  qs_error_clear(&err);
  return 0;
}

TEST_IMPL(pgwire_encode_parse_bind) {
  qs_buf b;
  qs_error err = {0};
  uint32_t oids[] = {23};
  qs_value v[6];
  qs_buf_init(&b);
  ASSERT_EQ(qs_pg_parse(&b, "s1", "SELECT $1", 1, oids, &err), QS_OK);
  ASSERT_BYTES(b, "P\0\0\0\x17" "s1\0" "SELECT $1\0" "\0\x01" "\0\0\0\x17");
  qs_buf_reset(&b);
  ASSERT_EQ(qs_pg_parse(&b, "", "SELECT 1", 0, NULL, &err), QS_OK);
  ASSERT_BYTES(b, "P\0\0\0\x10" "\0" "SELECT 1\0" "\0\0");
  qs_buf_reset(&b);
  memset(v, 0, sizeof v);
  v[0].type = QS_TINT;   v[0].u.i = 42;
  v[1].type = QS_TFLOAT; v[1].u.f = 1.5;
  v[2].type = QS_TBOOL;  v[2].u.i = 1;
  v[3].type = QS_TTEXT;  v[3].u.s.p = "hi"; v[3].u.s.n = 2;
  v[4].type = QS_TBLOB;  v[4].u.s.p = "\x01\x00"; v[4].u.s.n = 2;
  v[5].type = QS_TNULL;
  ASSERT_EQ(qs_pg_bind(&b, "", "s1", 6, v, &err), QS_OK);
  ASSERT_BYTES(b, "B\0\0\0\x3c" "\0" "s1\0"
                  "\0\x06" "\0\0" "\0\0" "\0\0" "\0\0" "\0\x01" "\0\0"
                  "\0\x06"
                  "\0\0\0\x02" "42"
                  "\0\0\0\x03" "1.5"
                  "\0\0\0\x01" "t"
                  "\0\0\0\x02" "hi"
                  "\0\0\0\x02" "\x01\x00"
                  "\xff\xff\xff\xff"
                  "\0\0");
  qs_buf_reset(&b);
  /* floats keep every digit: 0.1 is not 0.1 */
  v[0].type = QS_TFLOAT; v[0].u.f = 0.1;
  v[1].type = QS_TBOOL;  v[1].u.i = 0;
  v[2].type = QS_TINT;   v[2].u.i = -9223372036854775807LL - 1;
  ASSERT_EQ(qs_pg_bind(&b, "p", "", 3, v, &err), QS_OK);
  ASSERT_BYTES(b, "B\0\0\0\x47" "p\0" "\0"
                  "\0\x03" "\0\0" "\0\0" "\0\0"
                  "\0\x03"
                  "\0\0\0\x13" "0.10000000000000001"
                  "\0\0\0\x01" "f"
                  "\0\0\0\x14" "-9223372036854775808"
                  "\0\0");
  ASSERT_EQ(qs_pg_parse(&b, "", "", -1, NULL, &err), QS_ARGUMENT);
  ASSERT_EQ(qs_pg_bind(&b, "", "", 70000, v, &err), QS_ARGUMENT);
  /* a value refused halfway leaves the buffer as it was: no half message */
  qs_buf_reset(&b);
  ASSERT_EQ(qs_pg_sync(&b, &err), QS_OK);
  v[1].type = (qs_type)99;
  ASSERT_EQ(qs_pg_bind(&b, "", "", 2, v, &err), QS_ARGUMENT);
  ASSERT(strstr(err.message, "parameter 2") != NULL);
  ASSERT_BYTES(b, "S\0\0\0\x04");
  v[1].type = QS_TTEXT;
  v[1].u.s.p = "x";
  v[1].u.s.n = (size_t)QS_PG_MAX_MESSAGE + 1;   /* refused before a byte of it is read */
  ASSERT_EQ(qs_pg_bind(&b, "", "", 2, v, &err), QS_ARGUMENT);
  ASSERT_BYTES(b, "S\0\0\0\x04");
  qs_buf_free(&b);
  qs_error_clear(&err);
  return 0;
}

/* authentication ok, a parameter, the backend key, ready */
static const char session[] =
    "R\0\0\0\x08" "\0\0\0\0"
    "S\0\0\0\x19" "client_encoding\0UTF8\0"
    "K\0\0\0\x0c" "\0\0\x04\xd2" "\0\0\x16\x2e"
    "Z\0\0\0\x05" "I";

static int check_session(const char *p, size_t n) {
  qs_error err = {0};
  qs_pg_msg m;
  qs_pg_auth auth;
  qs_pg_span name, value;
  int32_t pid, key;
  char status;
  size_t used, need, at = 0;
  ASSERT_EQ(qs_pg_next(p + at, n - at, &m, &used, &need, &err), QS_OK);
  ASSERT_EQ(used, 9u);
  ASSERT_EQ(qs_pg_parse_auth(&m, &auth, &err), QS_OK);
  ASSERT_EQ(auth.code, QS_PG_AUTH_OK);
  at += used;
  ASSERT_EQ(qs_pg_next(p + at, n - at, &m, &used, &need, &err), QS_OK);
  ASSERT_EQ(qs_pg_parse_parameter_status(&m, &name, &value, &err), QS_OK);
  ASSERT(SPAN_IS(name, "client_encoding"));
  ASSERT(SPAN_IS(value, "UTF8"));
  at += used;
  ASSERT_EQ(qs_pg_next(p + at, n - at, &m, &used, &need, &err), QS_OK);
  ASSERT_EQ(qs_pg_parse_backend_key(&m, &pid, &key, &err), QS_OK);
  ASSERT_EQ(pid, 1234);
  ASSERT_EQ(key, 5678);
  at += used;
  ASSERT_EQ(qs_pg_next(p + at, n - at, &m, &used, &need, &err), QS_OK);
  ASSERT_EQ(qs_pg_parse_ready(&m, &status, &err), QS_OK);
  ASSERT_EQ(status, 'I');
  at += used;
  ASSERT_EQ(at, n);
  ASSERT_EQ(qs_pg_next(p + at, n - at, &m, &used, &need, &err), QS_WAIT);
  ASSERT_EQ(need, 5u);
  qs_error_clear(&err);
  return 0;
}

TEST_IMPL(pgwire_decode_session) {
  return check_session(session, sizeof session - 1);
}

/* SELECT id, name: two columns, two rows (one NULL), SELECT 2, ready */
static const char query_reply[] =
    "T\0\0\0\x32" "\0\x02"
      "id\0" "\0\0\x40\x01" "\0\x01" "\0\0\0\x17" "\0\x04" "\xff\xff\xff\xff" "\0\0"
      "name\0" "\0\0\x40\x01" "\0\x02" "\0\0\0\x19" "\xff\xff" "\xff\xff\xff\xff" "\0\0"
    "D\0\0\0\x0f" "\0\x02" "\0\0\0\x01" "1" "\xff\xff\xff\xff"
    "D\0\0\0\x12" "\0\x02" "\0\0\0\x01" "2" "\0\0\0\x03" "bob"
    "C\0\0\0\x0d" "SELECT 2\0"
    "Z\0\0\0\x05" "T";

TEST_IMPL(pgwire_decode_query) {
  const char *p = query_reply;
  size_t n = sizeof query_reply - 1, used, need;
  qs_error err = {0};
  qs_pg_msg m;
  qs_pg_field f[2];
  qs_pg_col c[2];
  qs_pg_span tag;
  int64_t rows;
  int count, has_rows;
  char status;
  ASSERT_EQ(qs_pg_next(p, n, &m, &used, &need, &err), QS_OK);
  ASSERT_EQ(qs_pg_parse_row_description(&m, NULL, 0, &count, &err), QS_OK);
  ASSERT_EQ(count, 2);
  ASSERT_EQ(qs_pg_parse_row_description(&m, f, 2, &count, &err), QS_OK);
  ASSERT(SPAN_IS(f[0].name, "id"));
  ASSERT_EQ(f[0].type_oid, 23u);
  ASSERT_EQ(f[0].table_oid, 16385u);
  ASSERT_EQ(f[0].column, 1);
  ASSERT_EQ(f[0].type_size, 4);
  ASSERT_EQ(f[0].type_mod, -1);
  ASSERT_EQ(f[0].format, 0);
  ASSERT(SPAN_IS(f[1].name, "name"));
  ASSERT_EQ(f[1].type_oid, 25u);
  ASSERT_EQ(f[1].type_size, -1);
  p += used; n -= used;
  ASSERT_EQ(qs_pg_next(p, n, &m, &used, &need, &err), QS_OK);
  ASSERT_EQ(qs_pg_parse_data_row(&m, 2, c, 2, &count, &err), QS_OK);
  ASSERT_EQ(c[0].len, 1);
  ASSERT_EQ(c[0].p[0], '1');
  ASSERT_EQ(c[1].len, -1);
  ASSERT(c[1].p == NULL);
  p += used; n -= used;
  ASSERT_EQ(qs_pg_next(p, n, &m, &used, &need, &err), QS_OK);
  ASSERT_EQ(qs_pg_parse_data_row(&m, 2, c, 2, &count, &err), QS_OK);
  ASSERT_EQ(c[1].len, 3);
  ASSERT_EQ(memcmp(c[1].p, "bob", 3), 0);
  /* a row of another width than its description */
  ASSERT_EQ(qs_pg_parse_data_row(&m, 3, c, 2, &count, &err), QS_INTERFACE);
  ASSERT(strstr(err.message, "DataRow") != NULL);
  p += used; n -= used;
  ASSERT_EQ(qs_pg_next(p, n, &m, &used, &need, &err), QS_OK);
  ASSERT_EQ(qs_pg_parse_command_complete(&m, &tag, &rows, &has_rows, &err), QS_OK);
  ASSERT(SPAN_IS(tag, "SELECT 2"));
  ASSERT_EQ(rows, 2);
  ASSERT_EQ(has_rows, 1);
  p += used; n -= used;
  ASSERT_EQ(qs_pg_next(p, n, &m, &used, &need, &err), QS_OK);
  ASSERT_EQ(qs_pg_parse_ready(&m, &status, &err), QS_OK);
  ASSERT_EQ(status, 'T');
  ASSERT_EQ(used, n);
  qs_error_clear(&err);
  return 0;
}

/* Fed one byte more at a time (from an exact-size copy), the reader says
** "need more" until the message is whole, and how much more once it knows. */
TEST_IMPL(pgwire_byte_at_a_time) {
  size_t total = sizeof query_reply - 1, have, start = 0, used, need, messages = 0;
  qs_error err = {0};
  qs_pg_msg m;
  for (have = 0; start < total; have++) {
    size_t avail = have - start;
    char *copy = malloc(avail ? avail : 1);
    int rc;
    memcpy(copy, query_reply + start, avail);
    rc = qs_pg_next(copy, avail, &m, &used, &need, &err);
    if (rc == QS_OK) {
      ASSERT_EQ(used, avail);   /* whole exactly when the last byte arrives */
      messages++;
      start = have;
    } else {
      ASSERT_EQ(rc, QS_WAIT);
      if (avail < 5) {
        ASSERT_EQ(need, 5 - avail);
      } else {
        uint32_t len = (uint32_t)(unsigned char)copy[1] << 24 | (uint32_t)(unsigned char)copy[2] << 16 |
                       (uint32_t)(unsigned char)copy[3] << 8 | (unsigned char)copy[4];
        ASSERT_EQ(need, len + 1 - avail);
      }
    }
    free(copy);
    ASSERT(have <= total);
  }
  ASSERT_EQ(messages, 5u);
  /* the session too, checked whole from an exact copy */
  {
    char *copy = malloc(sizeof session - 1);
    int rc;
    memcpy(copy, session, sizeof session - 1);
    rc = check_session(copy, sizeof session - 1);
    free(copy);
    ASSERT_EQ(rc, 0);
  }
  qs_error_clear(&err);
  return 0;
}

TEST_IMPL(pgwire_reader_refuses_lengths) {
  qs_error err = {0};
  qs_pg_msg m;
  size_t used, need;
  ASSERT_EQ(qs_pg_next("Z\0\0\0\x03", 5, &m, &used, &need, &err), QS_INTERFACE);
  ASSERT(strstr(err.message, "ReadyForQuery") != NULL);
  ASSERT(strstr(err.message, "length 3") != NULL);
  /* 1 GiB + 1: refused at once, not waited for */
  ASSERT_EQ(qs_pg_next("D\x40\0\0\x01", 5, &m, &used, &need, &err), QS_INTERFACE);
  ASSERT(strstr(err.message, "limit") != NULL);
  ASSERT_EQ(qs_pg_next("D\xff\xff\xff\xff", 5, &m, &used, &need, &err), QS_INTERFACE);
  /* exactly the limit is only incomplete */
  ASSERT_EQ(qs_pg_next("D\x40\0\0\0", 5, &m, &used, &need, &err), QS_WAIT);
  ASSERT_EQ(need, (size_t)(1u << 30) - 4);
  qs_error_clear(&err);
  return 0;
}

TEST_IMPL(pgwire_malformed_messages) {
  qs_error err = {0};
  qs_pg_msg m;
  qs_pg_span a, b;
  qs_pg_field f[1];
  qs_pg_col c[2];
  qs_pg_notice nt;
  qs_pg_auth auth;
  int32_t pid, key;
  int64_t rows;
  int count, has_rows;
  char status;
  uint32_t oids[2];

  m = EXACT('S', "client_encoding\0UTF8");   /* value without its NUL */
  ASSERT_EQ(qs_pg_parse_parameter_status(&m, &a, &b, &err), QS_INTERFACE);
  ASSERT(strstr(err.message, "ParameterStatus") != NULL);
  ASSERT(strstr(err.message, "NUL") != NULL);
  m = EXACT('S', "a\0b\0c");                  /* trailing bytes */
  ASSERT_EQ(qs_pg_parse_parameter_status(&m, &a, &b, &err), QS_INTERFACE);
  m = EXACT('K', "\0\0\x04\xd2\0\0");         /* truncated key */
  ASSERT_EQ(qs_pg_parse_backend_key(&m, &pid, &key, &err), QS_INTERFACE);
  ASSERT(strstr(err.message, "BackendKeyData") != NULL);
  m = EXACT('Z', "X");
  ASSERT_EQ(qs_pg_parse_ready(&m, &status, &err), QS_INTERFACE);
  m = EXACT('Z', "");
  ASSERT_EQ(qs_pg_parse_ready(&m, &status, &err), QS_INTERFACE);
  m = EXACT('T', "\xff\xff");                 /* negative count */
  ASSERT_EQ(qs_pg_parse_row_description(&m, f, 1, &count, &err), QS_INTERFACE);
  ASSERT(strstr(err.message, "negative") != NULL);
  m = EXACT('T', "\0\x01" "id");              /* name without NUL */
  ASSERT_EQ(qs_pg_parse_row_description(&m, f, 1, &count, &err), QS_INTERFACE);
  m = EXACT('T', "\0\x01" "id\0" "\0\0\x40\x01" "\0\x01" "\0\0\0\x17" "\0\x04" "\xff\xff\xff\xff" "\0");
  ASSERT_EQ(qs_pg_parse_row_description(&m, f, 1, &count, &err), QS_INTERFACE);
  ASSERT(strstr(err.message, "format") != NULL);
  m = EXACT('T', "\0\x02" "id\0" "\0\0\x40\x01" "\0\x01" "\0\0\0\x17" "\0\x04" "\xff\xff\xff\xff" "\0\0");
  ASSERT_EQ(qs_pg_parse_row_description(&m, f, 1, &count, &err), QS_INTERFACE);   /* says 2, has 1 */
  m = EXACT('D', "\x80\x00");                 /* negative count */
  ASSERT_EQ(qs_pg_parse_data_row(&m, -1, c, 2, &count, &err), QS_INTERFACE);
  m = EXACT('D', "\0\x01" "\0\0\0\x05" "abc");  /* value past the end */
  ASSERT_EQ(qs_pg_parse_data_row(&m, -1, c, 2, &count, &err), QS_INTERFACE);
  ASSERT(strstr(err.message, "runs past") != NULL);
  m = EXACT('D', "\0\x01" "\xff\xff\xff\xfe");  /* length -2 */
  ASSERT_EQ(qs_pg_parse_data_row(&m, -1, c, 2, &count, &err), QS_INTERFACE);
  m = EXACT('D', "\0\x02" "\0\0\0\x01" "1" "\0\0"); /* second length cut short */
  ASSERT_EQ(qs_pg_parse_data_row(&m, 2, c, 2, &count, &err), QS_INTERFACE);
  m = EXACT('D', "\0");                       /* count cut short */
  ASSERT_EQ(qs_pg_parse_data_row(&m, -1, c, 2, &count, &err), QS_INTERFACE);
  m = EXACT('C', "SELECT 2");                 /* tag without NUL */
  ASSERT_EQ(qs_pg_parse_command_complete(&m, &a, &rows, &has_rows, &err), QS_INTERFACE);
  ASSERT(strstr(err.message, "CommandComplete") != NULL);
  m = EXACT('E', "SERROR\0C23505\0Mdup\0");   /* no terminating zero byte */
  ASSERT_EQ(qs_pg_parse_notice(&m, &nt, &err), QS_INTERFACE);
  ASSERT(strstr(err.message, "ErrorResponse") != NULL);
  m = EXACT('N', "SWARNING\0Mtrunc");         /* value without NUL */
  ASSERT_EQ(qs_pg_parse_notice(&m, &nt, &err), QS_INTERFACE);
  ASSERT(strstr(err.message, "NoticeResponse") != NULL);
  m = EXACT('t', "\xff\xfe");
  ASSERT_EQ(qs_pg_parse_parameter_description(&m, oids, 2, &count, &err), QS_INTERFACE);
  m = EXACT('t', "\0\x02" "\0\0\0\x17");
  ASSERT_EQ(qs_pg_parse_parameter_description(&m, oids, 2, &count, &err), QS_INTERFACE);
  m = EXACT('R', "\0\0\0\x05" "ab");          /* MD5 salt short */
  ASSERT_EQ(qs_pg_parse_auth(&m, &auth, &err), QS_INTERFACE);
  ASSERT(strstr(err.message, "Authentication") != NULL);
  m = EXACT('R', "\0\0\0\x0a" "SCRAM-SHA-256\0");  /* list without its empty name */
  ASSERT_EQ(qs_pg_parse_auth(&m, &auth, &err), QS_INTERFACE);
  m = EXACT('R', "\0\0");
  ASSERT_EQ(qs_pg_parse_auth(&m, &auth, &err), QS_INTERFACE);
  m = EXACT('R', "\0\0\0\0" "x");             /* ok with a body */
  ASSERT_EQ(qs_pg_parse_auth(&m, &auth, &err), QS_INTERFACE);
  m = EXACT('1', "x");
  ASSERT_EQ(qs_pg_parse_empty(&m, &err), QS_INTERFACE);
  m = EXACT('D', "");
  ASSERT_EQ(qs_pg_parse_empty(&m, &err), QS_INTERFACE);
  /* a parser given another message type */
  m = EXACT('D', "\0\0");
  ASSERT_EQ(qs_pg_parse_ready(&m, &status, &err), QS_INTERFACE);
  ASSERT(strstr(err.message, "expected a PostgreSQL ReadyForQuery") != NULL);
  release_exact();
  qs_error_clear(&err);
  return 0;
}

TEST_IMPL(pgwire_command_tags) {
  static const struct { const char *tag; int64_t rows; int has; } cases[] = {
    {"INSERT 0 5", 5, 1}, {"UPDATE 3", 3, 1}, {"DELETE 0", 0, 1}, {"SELECT 2", 2, 1},
    {"MERGE 7", 7, 1},   {"COPY 12", 12, 1}, {"FETCH 1", 1, 1},  {"MOVE 4", 4, 1},
    {"CREATE TABLE", 0, 0}, {"BEGIN", 0, 0}, {"", 0, 0}, {"5", 0, 0},
    {"SELECT 9223372036854775807", INT64_MAX, 1},
  };
  qs_error err = {0};
  size_t i;
  for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    qs_pg_msg m = exact('C', cases[i].tag, strlen(cases[i].tag) + 1);
    qs_pg_span tag;
    int64_t rows;
    int has;
    ASSERT_EQ(qs_pg_parse_command_complete(&m, &tag, &rows, &has, &err), QS_OK);
    ASSERT(SPAN_IS(tag, cases[i].tag));
    ASSERT_EQ(rows, cases[i].rows);
    ASSERT_EQ(has, cases[i].has);
  }
  {
    const char *big = "SELECT 9223372036854775808";
    qs_pg_msg m = exact('C', big, strlen(big) + 1);
    qs_pg_span tag;
    int64_t rows;
    int has;
    ASSERT_EQ(qs_pg_parse_command_complete(&m, &tag, &rows, &has, &err), QS_INTERFACE);
  }
  release_exact();
  qs_error_clear(&err);
  return 0;
}

TEST_IMPL(pgwire_error_fields) {
  qs_error err = {0};
  qs_pg_msg m;
  qs_pg_notice nt;
  m = EXACT('E', "SERROR\0VERROR\0C23505\0Mduplicate key value\0DKey (id)=(1) already exists.\0"
                 "Hadd another\0spublic\0tusers\0nusers_pkey\0Fnbtinsert.c\0L664\0R_bt_check_unique\0"
                 "Zignored\0\0");
  ASSERT_EQ(qs_pg_parse_notice(&m, &nt, &err), QS_OK);
  ASSERT(SPAN_IS(nt.severity, "ERROR"));
  ASSERT(SPAN_IS(nt.severity_en, "ERROR"));
  ASSERT(SPAN_IS(nt.sqlstate, "23505"));
  ASSERT(SPAN_IS(nt.message, "duplicate key value"));
  ASSERT(SPAN_IS(nt.detail, "Key (id)=(1) already exists."));
  ASSERT(SPAN_IS(nt.hint, "add another"));
  ASSERT(SPAN_IS(nt.schema, "public"));
  ASSERT(SPAN_IS(nt.table, "users"));
  ASSERT(SPAN_IS(nt.constraint, "users_pkey"));
  ASSERT(SPAN_IS(nt.file, "nbtinsert.c"));
  ASSERT(SPAN_IS(nt.line, "664"));
  ASSERT(SPAN_IS(nt.routine, "_bt_check_unique"));
  ASSERT(nt.where.p == NULL && nt.column.n == 0);
  ASSERT_EQ(nt.family, QS_INTEGRITY);
  m = EXACT('N', "SNOTICE\0C00000\0Mhello\0\0");
  ASSERT_EQ(qs_pg_parse_notice(&m, &nt, &err), QS_OK);
  ASSERT(SPAN_IS(nt.message, "hello"));
  ASSERT_EQ(nt.family, QS_OPERATIONAL);
  m = EXACT('E', "\0");                       /* no fields at all */
  ASSERT_EQ(qs_pg_parse_notice(&m, &nt, &err), QS_OK);
  ASSERT_EQ(nt.family, QS_OPERATIONAL);
  /* the classes, as c/core/error.c maps them for the driver and the codec */
  ASSERT_EQ(qs_sqlstate_family("23503", 5), QS_INTEGRITY);
  ASSERT_EQ(qs_sqlstate_family("22012", 5), QS_DATA);
  ASSERT_EQ(qs_sqlstate_family("42P01", 5), QS_PROGRAMMING);
  ASSERT_EQ(qs_sqlstate_family("26000", 5), QS_PROGRAMMING);
  ASSERT_EQ(qs_sqlstate_family("34000", 5), QS_PROGRAMMING);
  ASSERT_EQ(qs_sqlstate_family("3D000", 5), QS_PROGRAMMING);
  ASSERT_EQ(qs_sqlstate_family("3F000", 5), QS_PROGRAMMING);
  ASSERT_EQ(qs_sqlstate_family("0A000", 5), QS_NOTSUPPORTED);
  ASSERT_EQ(qs_sqlstate_family("XX000", 5), QS_INTERNAL);
  ASSERT_EQ(qs_sqlstate_family("25P02", 5), QS_INTERNAL);
  ASSERT_EQ(qs_sqlstate_family("08006", 5), QS_OPERATIONAL);
  ASSERT_EQ(qs_sqlstate_family("40001", 5), QS_OPERATIONAL);
  ASSERT_EQ(qs_sqlstate_family("57014", 5), QS_OPERATIONAL);
  ASSERT_EQ(qs_sqlstate_family("2", 1), QS_OPERATIONAL);
  ASSERT_EQ(qs_sqlstate_family(NULL, 0), QS_OPERATIONAL);
  release_exact();
  qs_error_clear(&err);
  return 0;
}

TEST_IMPL(pgwire_auth_requests) {
  qs_error err = {0};
  qs_pg_msg m;
  qs_pg_auth a;
  m = EXACT('R', "\0\0\0\x03");
  ASSERT_EQ(qs_pg_parse_auth(&m, &a, &err), QS_OK);
  ASSERT_EQ(a.code, QS_PG_AUTH_CLEARTEXT);
  m = EXACT('R', "\0\0\0\x05" "\x01\x02\x03\xff");
  ASSERT_EQ(qs_pg_parse_auth(&m, &a, &err), QS_OK);
  ASSERT_EQ(a.code, QS_PG_AUTH_MD5);
  ASSERT_EQ(memcmp(a.salt, "\x01\x02\x03\xff", 4), 0);
  m = EXACT('R', "\0\0\0\x0a" "SCRAM-SHA-256-PLUS\0SCRAM-SHA-256\0\0");
  ASSERT_EQ(qs_pg_parse_auth(&m, &a, &err), QS_OK);
  ASSERT_EQ(a.code, QS_PG_AUTH_SASL);
  ASSERT_EQ(a.nmechanisms, 2);
  ASSERT(qs_pg_auth_offers(&a, "SCRAM-SHA-256"));
  ASSERT(qs_pg_auth_offers(&a, "SCRAM-SHA-256-PLUS"));
  ASSERT(!qs_pg_auth_offers(&a, "SCRAM"));
  m = EXACT('R', "\0\0\0\x0b" "r=abc,s=salt,i=4096");
  ASSERT_EQ(qs_pg_parse_auth(&m, &a, &err), QS_OK);
  ASSERT_EQ(a.code, QS_PG_AUTH_SASL_CONTINUE);
  ASSERT(SPAN_IS(a.data, "r=abc,s=salt,i=4096"));
  m = EXACT('R', "\0\0\0\x0c" "v=sig");
  ASSERT_EQ(qs_pg_parse_auth(&m, &a, &err), QS_OK);
  ASSERT_EQ(a.code, QS_PG_AUTH_SASL_FINAL);
  ASSERT(SPAN_IS(a.data, "v=sig"));
  m = EXACT('R', "\0\0\0\x07");               /* GSS: the caller's to refuse */
  ASSERT_EQ(qs_pg_parse_auth(&m, &a, &err), QS_OK);
  ASSERT_EQ(a.code, 7);
  release_exact();
  qs_error_clear(&err);
  return 0;
}

TEST_IMPL(pgwire_extended_replies) {
  static const char reply[] =
      "1\0\0\0\x04" "t\0\0\0\x0e" "\0\x02" "\0\0\0\x17" "\0\0\0\x19" "n\0\0\0\x04"
      "2\0\0\0\x04" "I\0\0\0\x04" "s\0\0\0\x04" "3\0\0\0\x04";
  const char *p = reply;
  size_t n = sizeof reply - 1, used, need;
  qs_error err = {0};
  qs_pg_msg m;
  uint32_t oids[2];
  int count, empties = 0;
  while (n > 0) {
    ASSERT_EQ(qs_pg_next(p, n, &m, &used, &need, &err), QS_OK);
    if (m.type == 't') {
      ASSERT_EQ(qs_pg_parse_parameter_description(&m, oids, 2, &count, &err), QS_OK);
      ASSERT_EQ(count, 2);
      ASSERT_EQ(oids[0], 23u);
      ASSERT_EQ(oids[1], 25u);
    } else {
      ASSERT_EQ(qs_pg_parse_empty(&m, &err), QS_OK);
      empties++;
    }
    p += used;
    n -= used;
  }
  ASSERT_EQ(empties, 6);
  qs_error_clear(&err);
  return 0;
}

/* A statement holds up to 65,535 parameters: the ParameterDescription count
** is written unsigned (0xFFFF is 65,535, not -1; issue 21 item 5). */
TEST_IMPL(pgwire_parameter_description_65535) {
  size_t n = 2 + 4 * (size_t)65535, i;
  char *body = malloc(n);
  uint32_t *oids = calloc(65535, sizeof *oids);
  qs_error err = {0};
  qs_pg_msg m;
  int count = 0;
  ASSERT(body != NULL && oids != NULL);
  body[0] = (char)0xff;
  body[1] = (char)0xff;
  for (i = 0; i < 65535; i++) {
    body[2 + 4 * i] = 0;
    body[3 + 4 * i] = 0;
    body[4 + 4 * i] = 0;
    body[5 + 4 * i] = (char)(i % 2 ? 25 : 23);
  }
  m = exact('t', body, n);
  ASSERT_EQ(qs_pg_parse_parameter_description(&m, oids, 65535, &count, &err), QS_OK);
  ASSERT_EQ(count, 65535);
  ASSERT_EQ(oids[0], 23);
  ASSERT_EQ(oids[65534], 23);
  ASSERT_EQ(oids[65533], 25);
  m = exact('t', body, n - 1);             /* the last OID cut short */
  ASSERT_EQ(qs_pg_parse_parameter_description(&m, oids, 65535, &count, &err), QS_INTERFACE);
  release_exact();
  free(body);
  free(oids);
  qs_error_clear(&err);
  return 0;
}
