/*
** dialect.c: the SQL flavours the compiler writes, by name.
**
** A dialect says how SQL is spelled (placeholders, identifier quoting);
** how it travels to the server is the driver's business (c/driver/).
** The per-dialect differences the compiler needs grow here as it grows.
*/
#include "quicksilver.h"

#include <string.h>

static const qs_dialect dialects[] = {
  {"sqlite", QS_PARAM_QMARK, '"', '"'},
  {"postgresql", QS_PARAM_DOLLAR, '"', '"'},
  {"mysql", QS_PARAM_QMARK, '`', '`'},
  {"mariadb", QS_PARAM_QMARK, '`', '`'},
};

/* qs_dialect_find: the dialect called name, or NULL. */
const qs_dialect *qs_dialect_find(const char *name) {
  size_t i;
  for (i = 0; i < sizeof dialects / sizeof dialects[0]; i++)
    if (strcmp(dialects[i].name, name) == 0) return &dialects[i];
  return NULL;
}

/*
** qs_dialect_quote: appends ident as a quoted identifier. The closing quote
** character is doubled inside, which is how all three dialects escape it, so
** any byte string is a safe identifier.
*/
int qs_dialect_quote(const qs_dialect *d, qs_buf *out, const char *ident, size_t n) {
  size_t i, start = 0;
  qs_buf_putc(out, d->quote_open);
  for (i = 0; i < n; i++) {
    if (ident[i] == d->quote_close) {
      qs_buf_append(out, ident + start, i - start + 1);
      qs_buf_putc(out, d->quote_close);
      start = i + 1;
    }
  }
  qs_buf_append(out, ident + start, n - start);
  qs_buf_putc(out, d->quote_close);
  return out->failed ? QS_NOMEM : QS_OK;
}

/* qs_dialect_placeholder: "?" or "$pos". */
int qs_dialect_placeholder(const qs_dialect *d, qs_buf *out, int pos) {
  if (d->paramstyle == QS_PARAM_DOLLAR) return qs_buf_printf(out, "$%d", pos);
  return qs_buf_putc(out, '?');
}
