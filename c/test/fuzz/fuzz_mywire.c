/*
** fuzz_mywire.c: the MySQL/MariaDB wire codec as c/driver/wire_my.c uses
** it on server bytes. The input is a stream of packets: qs_my_next frames
** them (joining continuation packets, checking sequence ids: the first
** packet's own id is taken as expected), and every payload goes to each
** parser that could meet it (a reply's meaning depends on the driver's
** state, so all of them: handshake, OK, ERR, EOF, prepare-OK, column
** count, column definition, text and binary rows against the columns
** defined so far with every binary cell converted, auth switch/more).
** Properties: a parse succeeds or fails with a message, and everything it
** returns lies inside the payload (or the join buffer, or the scratch).
*/
#include <string.h>

#include "fuzz.h"
#include "mywire.h"
#include "quicksilver.h"

#define MAXCOLS 32

static void inside(const qs_my_span *pl, const char *p, size_t n, const char *what) {
  if (p == NULL) return;
  FUZZ_CHECK(p >= pl->p && p + n <= pl->p + pl->n, what);
}

static void check_error(int rc, qs_error *err) {
  FUZZ_CHECK(rc == QS_OK || (err->code != QS_OK && err->message != NULL),
             "a refusal without a message");
  qs_error_clear(err);
}

static void every_parser(const qs_my_span *pl, qs_my_column *cols, int *ncols, qs_error *err) {
  qs_my_ok ok;
  qs_my_err e;
  qs_my_handshake hs;
  qs_my_prepare_ok pok;
  qs_my_span a, b;
  qs_my_cell cells[MAXCOLS];
  unsigned warnings, status, count;
  uint64_t v;
  int is_null, rc, i;
  size_t size;

  (void)qs_my_packet_name(pl);
  (void)qs_my_is_ok(pl);
  (void)qs_my_is_eof(pl);
  if (qs_my_is_err(pl)) {
    rc = qs_my_parse_err(pl, &e, err);
    if (rc == QS_OK) inside(pl, e.message.p, e.message.n, "an error message outside the packet");
    check_error(rc, err);
    rc = qs_my_err_to_error(pl, err);
    FUZZ_CHECK(rc != QS_OK && err->message != NULL, "an ERR packet that is no error");
    qs_error_clear(err);
  }
  rc = qs_my_parse_ok(pl, &ok, err);
  if (rc == QS_OK) inside(pl, ok.info.p, ok.info.n, "OK info outside the packet");
  check_error(rc, err);
  check_error(qs_my_parse_eof(pl, &warnings, &status, err), err);
  check_error(qs_my_parse_end(pl, &ok, err), err);
  rc = qs_my_parse_handshake(pl, &hs, err);
  if (rc == QS_OK) {
    inside(pl, hs.server_version.p, hs.server_version.n, "a server version outside the packet");
    inside(pl, hs.plugin.p, hs.plugin.n, "a plugin name outside the packet");
    FUZZ_CHECK(hs.scramble_len <= sizeof hs.scramble, "a scramble longer than its room");
  }
  check_error(rc, err);
  check_error(qs_my_parse_prepare_ok(pl, &pok, err), err);
  rc = qs_my_parse_column_count(pl, &count, err);
  if (rc == QS_OK) FUZZ_CHECK(count >= 1 && count <= 4096, "a column count out of range");
  check_error(rc, err);
  rc = qs_my_parse_auth_switch(pl, &a, &b, err);
  if (rc == QS_OK) {
    inside(pl, a.p, a.n, "a plugin outside the packet");
    inside(pl, b.p, b.n, "auth data outside the packet");
  }
  check_error(rc, err);
  rc = qs_my_parse_auth_more(pl, &a, err);
  if (rc == QS_OK) inside(pl, a.p, a.n, "auth data outside the packet");
  check_error(rc, err);
  check_error(qs_my_lenenc(pl->p, pl->n, &v, &is_null, &size, "a number", err), err);

  /* a column definition joins the columns the rows are read against */
  if (*ncols < MAXCOLS) {
    qs_my_column c;
    rc = qs_my_parse_column(pl, &c, err);
    if (rc == QS_OK) {
      inside(pl, c.name.p, c.name.n, "a column name outside the packet");
      inside(pl, c.org_table.p, c.org_table.n, "a table name outside the packet");
      /* its spans point into this payload, which the next packet replaces:
      ** keep only the type information */
      memset(&c.schema, 0, sizeof c.schema);
      c.table = c.org_table = c.name = c.org_name = c.schema;
      cols[(*ncols)++] = c;
    }
    check_error(rc, err);
  }
  if (*ncols > 0) {
    rc = qs_my_parse_text_row(pl, *ncols, cells, err);
    if (rc == QS_OK)
      for (i = 0; i < *ncols; i++) inside(pl, cells[i].p, cells[i].n, "a text cell outside the packet");
    check_error(rc, err);
    rc = qs_my_parse_binary_row(pl, *ncols, cols, cells, err);
    if (rc == QS_OK) {
      for (i = 0; i < *ncols; i++) {
        char scratch[QS_MY_SCRATCH];
        qs_value out;
        inside(pl, cells[i].p, cells[i].n, "a binary cell outside the packet");
        qs_my_binary_value(&cols[i], &cells[i], &out, scratch);
        if ((out.type == QS_TTEXT || out.type == QS_TBLOB) && out.u.s.p != NULL) {
          FUZZ_CHECK((out.u.s.p >= pl->p && out.u.s.p + out.u.s.n <= pl->p + pl->n) ||
                         (out.u.s.p >= scratch && out.u.s.p + out.u.s.n <= scratch + QS_MY_SCRATCH),
                     "a binary value outside its cell and scratch");
        }
      }
    }
    check_error(rc, err);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *p = (const char *)data;
  size_t left = size;
  uint8_t seq = size >= 4 ? data[3] : 0;
  qs_my_column cols[MAXCOLS];
  int ncols = 0;
  qs_buf join;
  qs_error err;
  memset(&err, 0, sizeof err);
  qs_buf_init(&join);
  while (left > 0) {
    qs_my_span pl;
    size_t used = 0, need = 0;
    int rc = qs_my_next(p, left, &seq, &join, &pl, &used, &need, &err);
    if (rc == QS_WAIT) {
      FUZZ_CHECK(need > 0, "incomplete yet nothing needed");
      break;
    }
    if (rc != QS_OK) {
      check_error(rc, &err);
      break;
    }
    FUZZ_CHECK(used >= 4 && used <= left, "a frame outside the bytes given");
    FUZZ_CHECK((pl.p >= p && pl.p + pl.n <= p + used) ||
                   (pl.p >= join.p && pl.p + pl.n <= join.p + join.len),
               "a payload outside the frame and the join buffer");
    every_parser(&pl, cols, &ncols, &err);
    p += used;
    left -= used;
  }
  qs_buf_free(&join);
  return 0;
}
