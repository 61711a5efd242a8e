/*
** fuzz_ident.c: identifier quoting (qs_dialect_ident, qs_dialect_quote) in
** every dialect, and qs_is_reserved. Properties: a quoted identifier starts
** and ends with the dialect's quote, and inside it every quote character is
** doubled, so the name can never end the quoting early (the injection
** defence); an identifier left bare holds no quote character and no byte
** outside [A-Za-z0-9_$].
*/
#include <string.h>

#include "fuzz.h"
#include "quicksilver.h"

static void check_quoted(const qs_dialect *d, const char *p, size_t n) {
  size_t i;
  FUZZ_CHECK(n >= 2 && p[0] == d->quote_open && p[n - 1] == d->quote_close,
             "a quoted identifier not between the dialect's quotes");
  for (i = 1; i + 1 < n; i++) {
    if (p[i] == d->quote_close) {
      FUZZ_CHECK(i + 2 < n && p[i + 1] == d->quote_close, "an undoubled closing quote inside");
      i++;
    }
  }
}

static void check_ident(const qs_dialect *d, const char *p, size_t n) {
  size_t i;
  if (n > 0 && p[0] == d->quote_open) {
    check_quoted(d, p, n);
    return;
  }
  for (i = 0; i < n; i++) {
    unsigned char c = (unsigned char)p[i];
    FUZZ_CHECK((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   c == '_' || c == '$',
               "a bare identifier with a special byte");
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  int nd, i;
  const qs_dialect *const *ds = qs_dialect_list(&nd);
  const char *s = (const char *)data;
  (void)qs_is_reserved(s, size);
  for (i = 0; i < nd; i++) {
    qs_buf out;
    qs_buf_init(&out);
    if (qs_dialect_ident(ds[i], &out, s, size) == QS_OK && !out.failed)
      check_ident(ds[i], out.p, out.len);
    qs_buf_reset(&out);
    if (qs_dialect_quote(ds[i], &out, s, size) == QS_OK && !out.failed)
      check_quoted(ds[i], out.p, out.len);
    qs_buf_free(&out);
  }
  return 0;
}
