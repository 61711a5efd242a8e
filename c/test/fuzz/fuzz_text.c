/*
** fuzz_text.c: textual SQL (qs.text()) through qs_compile_text in every
** dialect. Properties: it succeeds (any bytes are valid text), every bind
** name it reports lies inside the input and is non-empty, and the output
** is no longer than the input plus the placeholders written.
*/
#include <string.h>

#include "fuzz.h"
#include "quicksilver.h"

typedef struct seen {
  const char *start, *end;
  int binds;
} seen;

static int on_bind(void *ud, const char *name, size_t n) {
  seen *s = ud;
  FUZZ_CHECK(n > 0, "an empty bind name");
  FUZZ_CHECK(name >= s->start && name + n <= s->end, "a bind name outside the text");
  return ++s->binds;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  int nd, i;
  const qs_dialect *const *ds = qs_dialect_list(&nd);
  for (i = 0; i < nd; i++) {
    qs_buf out;
    qs_error err;
    seen s;
    int rc;
    memset(&err, 0, sizeof err);
    qs_buf_init(&out);
    s.start = (const char *)data;
    s.end = (const char *)data + size;
    s.binds = 0;
    rc = qs_compile_text(ds[i], (const char *)data, size, &out, on_bind, &s, &err);
    FUZZ_CHECK(rc == QS_OK, "qs_compile_text refused text");
    FUZZ_CHECK(s.binds <= (int)(size / 2), "more binds than the text can hold");
    /* a placeholder is at most "$" and ten digits; a bind is at least ":x" */
    FUZZ_CHECK(out.len <= size + (size_t)s.binds * 11, "the output grew beyond its placeholders");
    qs_buf_free(&out);
    qs_error_clear(&err);
  }
  return 0;
}
