/*
** dialect.c: the list of dialects, and the quoting and placeholders every
** dialect writes the same way from its values.
**
** A dialect says how SQL is spelled and what the database can do; each is
** one object in its own file (sqlite.c, postgresql.c, mysql.c), built from
** the shared hooks of common.c. How SQL travels to the server is the
** driver's business (c/driver/).
*/
#include "quicksilver.h"
#include "dialects.h"

#include <string.h>

static const qs_dialect *const dialects[] = {
  &qs__dialect_sqlite, &qs__dialect_postgresql, &qs__dialect_mysql, &qs__dialect_mariadb,
};

/* qs_dialect_list: every dialect, for code that walks them all (tests, Lua). */
const qs_dialect *const *qs_dialect_list(int *n) {
  *n = (int)(sizeof dialects / sizeof dialects[0]);
  return dialects;
}

/* qs_dialect_find: the dialect called name, or NULL. */
const qs_dialect *qs_dialect_find(const char *name) {
  size_t i;
  for (i = 0; i < sizeof dialects / sizeof dialects[0]; i++)
    if (strcmp(dialects[i]->name, name) == 0) return dialects[i];
  return NULL;
}

/* qs_dialect_named: d's own name, or "mysql" for MariaDB (SQLAlchemy's
** dialect name for both), as prefix_with(..., {dialect = name}) names it. */
int qs_dialect_named(const qs_dialect *d, const char *name) {
  if (strcmp(d->name, name) == 0) return 1;
  return d == &qs__dialect_mariadb && strcmp(name, "mysql") == 0;
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
  if (qs_dialect_numbered(d)) return qs_buf_printf(out, "$%d", pos);
  return qs_buf_putc(out, '?');
}
