/*
** fuzz_pgwire.c: the PostgreSQL wire codec as c/driver/wire_pg.c uses it
** on server bytes. The input is a stream of backend messages: qs_pg_next
** frames them, each goes to the parser of its type (authentication,
** ParameterStatus, BackendKeyData, ReadyForQuery, RowDescription,
** ParameterDescription, DataRow, CommandComplete, ErrorResponse/Notice,
** the empty ones) as the driver dispatches them, and every DataRow column
** is decoded by the text-value parser (c/driver/pg_text.c) for the type
** its RowDescription gave, as the driver's xColumn does. Properties: a
** parse either succeeds or fails with a message; spans and columns point
** inside the message; the framing never takes more than it was given.
*/
#include <string.h>

#include "fuzz.h"
#include "pg_text.h"
#include "pgwire.h"
#include "quicksilver.h"

#define MAXCOLS 64

/* The types a row is decoded as when no RowDescription came first. */
static const uint32_t OIDS[] = {QS_PG_OID_BOOL, QS_PG_OID_BYTEA, QS_PG_OID_INT8, QS_PG_OID_INT2,
                                QS_PG_OID_INT4, QS_PG_OID_TEXT, QS_PG_OID_OID, QS_PG_OID_FLOAT4,
                                QS_PG_OID_FLOAT8, QS_PG_OID_INTERVAL};
#define NOIDS (sizeof OIDS / sizeof OIDS[0])

static void inside(const qs_pg_msg *m, const char *p, size_t n, const char *what) {
  if (p == NULL) return;
  FUZZ_CHECK(p >= m->body && p + n <= m->body + m->len, what);
}

static void check_error(int rc, qs_error *err) {
  FUZZ_CHECK(rc == QS_OK || (err->code != QS_OK && err->message != NULL),
             "a refusal without a message");
  qs_error_clear(err);
}

/* A column's text decoded as the driver does: a NUL-terminated copy. */
static void decode_value(uint32_t oid, const char *p, size_t n, qs_pg_bytes *bytes) {
  char *copy = malloc(n + 1);
  qs_value v;
  if (copy == NULL) return;
  memcpy(copy, p, n);
  copy[n] = '\0';
  qs__pg_text_value(oid, copy, n, bytes, &v);
  if (v.type == QS_TTEXT || v.type == QS_TBLOB) {
    /* text points into the copy, bytea into the scratch bytes */
    FUZZ_CHECK(v.u.s.n == 0 || (v.u.s.p >= copy && v.u.s.p + v.u.s.n <= copy + n) ||
                   (bytes->p && (const unsigned char *)v.u.s.p >= bytes->p &&
                    (const unsigned char *)v.u.s.p + v.u.s.n <= bytes->p + bytes->cap),
               "a decoded value outside its text and scratch");
    if (v.u.s.n) (void)(volatile char)v.u.s.p[v.u.s.n - 1];
  }
  free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *p = (const char *)data;
  size_t left = size;
  qs_pg_field fields[MAXCOLS];
  int nfields = -1, i;
  qs_pg_bytes bytes = {NULL, 0};
  qs_error err;
  memset(&err, 0, sizeof err);
  while (left > 0) {
    qs_pg_msg m;
    size_t used = 0, need = 0;
    int rc = qs_pg_next(p, left, &m, &used, &need, &err);
    if (rc == QS_WAIT) {
      FUZZ_CHECK(need > 0, "incomplete yet nothing needed");
      break;
    }
    if (rc != QS_OK) {
      check_error(rc, &err);
      break;
    }
    FUZZ_CHECK(used >= 5 && used <= left && m.body == p + 5 && m.len == used - 5,
               "a frame outside the bytes given");
    (void)qs_pg_message_name(m.type);
    switch (m.type) {
      case 'R': {
        qs_pg_auth a;
        rc = qs_pg_parse_auth(&m, &a, &err);
        if (rc == QS_OK) {
          inside(&m, a.data.p, a.data.n, "auth data outside the message");
          if (a.code == QS_PG_AUTH_SASL) {
            (void)qs_pg_auth_offers(&a, "SCRAM-SHA-256");
            (void)qs_pg_auth_offers(&a, "");
          }
        }
        check_error(rc, &err);
        break;
      }
      case 'S': {
        qs_pg_span name, value;
        rc = qs_pg_parse_parameter_status(&m, &name, &value, &err);
        if (rc == QS_OK) {
          inside(&m, name.p, name.n, "a parameter name outside the message");
          inside(&m, value.p, value.n, "a parameter value outside the message");
        }
        check_error(rc, &err);
        break;
      }
      case 'K': {
        int32_t pid, key;
        check_error(qs_pg_parse_backend_key(&m, &pid, &key, &err), &err);
        break;
      }
      case 'Z': {
        char status;
        rc = qs_pg_parse_ready(&m, &status, &err);
        if (rc == QS_OK) FUZZ_CHECK(status == 'I' || status == 'T' || status == 'E', "a bad status");
        check_error(rc, &err);
        break;
      }
      case 'T': {
        int count = 0;
        rc = qs_pg_parse_row_description(&m, NULL, 0, &count, &err);
        check_error(rc, &err);
        if (rc != QS_OK) break;
        rc = qs_pg_parse_row_description(&m, fields, MAXCOLS, &count, &err);
        FUZZ_CHECK(rc == QS_OK, "a RowDescription valid once and not twice");
        nfields = count < MAXCOLS ? count : MAXCOLS;
        for (i = 0; i < nfields; i++)
          inside(&m, fields[i].name.p, fields[i].name.n, "a field name outside the message");
        if (count > MAXCOLS) nfields = -1;   /* rows then read unchecked */
        break;
      }
      case 't': {
        uint32_t oids[MAXCOLS];
        int count = 0;
        check_error(qs_pg_parse_parameter_description(&m, oids, MAXCOLS, &count, &err), &err);
        break;
      }
      case 'D': {
        qs_pg_col cols[MAXCOLS];
        int count = 0;
        rc = qs_pg_parse_data_row(&m, nfields, cols, MAXCOLS, &count, &err);
        if (rc == QS_OK) {
          if (nfields >= 0) FUZZ_CHECK(count == nfields, "a row of another width accepted");
          for (i = 0; i < count && i < MAXCOLS; i++) {
            if (cols[i].p == NULL) {
              FUZZ_CHECK(cols[i].len == -1, "a NULL with a length");
              continue;
            }
            FUZZ_CHECK(cols[i].len >= 0, "a negative length taken as a value");
            inside(&m, cols[i].p, (size_t)cols[i].len, "a column outside the message");
            decode_value(nfields > i ? fields[i].type_oid : OIDS[i % NOIDS], cols[i].p,
                         (size_t)cols[i].len, &bytes);
          }
        }
        check_error(rc, &err);
        break;
      }
      case 'C': {
        qs_pg_span tag;
        int64_t rows;
        int has_rows;
        rc = qs_pg_parse_command_complete(&m, &tag, &rows, &has_rows, &err);
        if (rc == QS_OK) inside(&m, tag.p, tag.n, "a tag outside the message");
        check_error(rc, &err);
        break;
      }
      case 'E': case 'N': {
        qs_pg_notice n;
        rc = qs_pg_parse_notice(&m, &n, &err);
        if (rc == QS_OK) {
          inside(&m, n.message.p, n.message.n, "a message field outside the message");
          inside(&m, n.sqlstate.p, n.sqlstate.n, "a SQLSTATE outside the message");
          inside(&m, n.constraint.p, n.constraint.n, "a constraint outside the message");
        }
        check_error(rc, &err);
        break;
      }
      default:
        check_error(qs_pg_parse_empty(&m, &err), &err);
        break;
    }
    p += used;
    left -= used;
  }
  free(bytes.p);
  return 0;
}
