/*
** fuzz_literal.c: the audited literal renderer (qs_render_literal, every
** dialect, every value type) and the type-name renderer (qs_render_type).
** Input: byte 0 picks the value type, the rest is the value (8 bytes of an
** integer or a double, or the text/blob bytes). Property: a rendered
** literal read back with the dialect's own rules (quotes doubled, MySQL's
** backslashes, hex blobs, numbers) gives exactly the value: nothing in a
** value can end its literal early. Refusals (NUL in text, NaN) are errors
** with a message, never partial output taken as success.
*/
#include <math.h>
#include <string.h>

#include "fuzz.h"
#include "quicksilver.h"

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

/* The bytes of a string literal 'p..' (n bytes) decoded into out. */
static void read_string(const char *p, size_t n, int backslash, qs_buf *out) {
  size_t i;
  FUZZ_CHECK(n >= 2 && p[0] == '\'' && p[n - 1] == '\'', "a string literal not in quotes");
  for (i = 1; i + 1 < n; i++) {
    if (p[i] == '\'') {
      FUZZ_CHECK(i + 2 < n && p[i + 1] == '\'', "an undoubled quote ends the literal early");
      i++;
    } else if (backslash && p[i] == '\\') {
      FUZZ_CHECK(i + 2 < n && p[i + 1] == '\\', "a backslash escaping something in MySQL");
      i++;
    }
    qs_buf_putc(out, p[i]);
  }
}

static void read_hex(const char *p, size_t n, const char *open, const char *close, qs_buf *out) {
  size_t lo = strlen(open), lc = strlen(close), i;
  FUZZ_CHECK(n >= lo + lc && memcmp(p, open, lo) == 0 && memcmp(p + n - lc, close, lc) == 0,
             "a blob literal not in its delimiters");
  FUZZ_CHECK((n - lo - lc) % 2 == 0, "an odd number of hex digits");
  for (i = lo; i < n - lc; i += 2) {
    int h = hexval(p[i]), l = hexval(p[i + 1]);
    FUZZ_CHECK(h >= 0 && l >= 0, "a non-hex digit in a blob literal");
    qs_buf_putc(out, (char)(h * 16 + l));
  }
}

static void check_literal(const qs_dialect *d, const qs_value *v, const char *p, size_t n) {
  qs_buf back;
  int mysql = d->quote_open == '`', pg = qs_dialect_numbered(d);
  qs_buf_init(&back);
  switch (v->type) {
    case QS_TNULL: FUZZ_CHECK(n == 4 && memcmp(p, "NULL", 4) == 0, "NULL rendered otherwise"); break;
    case QS_TINT: {
      char tmp[32];
      snprintf(tmp, sizeof tmp, "%lld", (long long)v->u.i);
      FUZZ_CHECK(strlen(tmp) == n && memcmp(tmp, p, n) == 0, "an integer rendered otherwise");
      break;
    }
    case QS_TFLOAT: {
      double back_f = strtod(p, NULL);
      FUZZ_CHECK(memcmp(&back_f, &v->u.f, sizeof back_f) == 0, "a float that does not read back");
      break;
    }
    case QS_TBOOL:
      FUZZ_CHECK(n == 1 || n == 4 || n == 5, "a boolean rendered as something else");
      break;
    case QS_TTEXT:
      read_string(p, n, mysql, &back);
      FUZZ_CHECK(back.len == v->u.s.n && memcmp(back.p ? back.p : "", v->u.s.p, back.len) == 0,
                 "a text literal that reads back otherwise");
      break;
    case QS_TBLOB:
      if (pg) read_hex(p, n, "'\\x", "'::bytea", &back);
      else read_hex(p, n, "X'", "'", &back);
      FUZZ_CHECK(back.len == v->u.s.n && memcmp(back.p ? back.p : "", v->u.s.p, back.len) == 0,
                 "a blob literal that reads back otherwise");
      break;
  }
  qs_buf_free(&back);
}

static const char *const KINDS[] = {
    "BIGINT", "BINARY", "BLOB", "BOOLEAN", "CHAR", "DATE", "DATETIME", "DECIMAL", "DOUBLE",
    "ENUM", "FLOAT", "INTEGER", "INTERVAL", "JSON", "NUMERIC", "SMALLINT", "TEXT", "TIME",
    "UUID", "VARCHAR", "VARBINARY", "NO_SUCH_KIND", ""};

static long small(const uint8_t *p) { return (long)(int8_t)p[0]; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  int nd, i;
  const qs_dialect *const *ds = qs_dialect_list(&nd);
  qs_value v;
  if (size < 1) return 0;
  memset(&v, 0, sizeof v);
  v.type = (qs_type)(data[0] % 6);
  switch (v.type) {
    case QS_TINT: case QS_TBOOL:
      if (size >= 9) memcpy(&v.u.i, data + 1, 8);
      if (v.type == QS_TBOOL) v.u.i = v.u.i & 1;
      break;
    case QS_TFLOAT:
      if (size >= 9) memcpy(&v.u.f, data + 1, 8);
      break;
    case QS_TTEXT: case QS_TBLOB:
      v.u.s.p = (const char *)data + 1;
      v.u.s.n = size - 1;
      break;
    default: break;
  }
  for (i = 0; i < nd; i++) {
    qs_buf out;
    qs_error err;
    int rc;
    memset(&err, 0, sizeof err);
    qs_buf_init(&out);
    rc = qs_render_literal(ds[i], &out, &v, &err);
    if (rc == QS_OK) {
      FUZZ_CHECK(!out.failed && out.len > 0, "an empty literal");
      check_literal(ds[i], &v, out.p, out.len);
    } else {
      FUZZ_CHECK(err.message != NULL, "a refusal without a message");
      FUZZ_CHECK((v.type == QS_TTEXT && memchr(v.u.s.p, 0, v.u.s.n)) ||
                     (v.type == QS_TFLOAT && !isfinite(v.u.f)),
                 "a value refused although it has a literal");
    }
    qs_error_clear(&err);
    /* the type-name renderer: a kind from the list, sizes from the input */
    if (size >= 5) {
      qs_buf_reset(&out);
      rc = qs_render_type(ds[i], &out, KINDS[data[1] % (sizeof KINDS / sizeof KINDS[0])],
                          small(data + 2), small(data + 3), small(data + 4), data[1] & 0x40,
                          data[1] & 0x80, &err);
      FUZZ_CHECK(rc == QS_OK || err.message != NULL, "a type refused without a message");
      qs_error_clear(&err);
    }
    qs_buf_free(&out);
  }
  return 0;
}
