/*
** text.c: compiles textual SQL with named binds (qs.text) for a dialect.
**
** ":name" becomes the dialect's placeholder; everything else is copied as
** written. The scanner knows just enough SQL lexing to leave names inside
** string literals, quoted identifiers and comments alone, and to let "::"
** (a PostgreSQL cast) and "\:" (an escaped colon) through.
*/
#include "quicksilver.h"

static int is_name_start(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}

static int is_name_char(unsigned char c) {
  return is_name_start(c) || (c >= '0' && c <= '9');
}

/* Index just past the quoted run starting at i (which holds the quote q);
** a doubled quote is an escaped one. Unterminated runs end at n. */
static size_t skip_quoted(const char *s, size_t n, size_t i, char q) {
  for (i++; i < n; i++) {
    if (s[i] == q) {
      if (i + 1 < n && s[i + 1] == q) { i++; continue; }
      return i + 1;
    }
  }
  return n;
}

/*
** qs_compile_text: see quicksilver.h. Returns QS_OK, QS_NOMEM, or the error
** on_bind reports (a negative code; err then already holds the message).
*/
int qs_compile_text(const qs_dialect *d, const char *sql, size_t n, qs_buf *out,
                    qs_text_bind_fn on_bind, void *ud, qs_error *err) {
  size_t i = 0, start = 0;
  while (i < n) {
    char c = sql[i];
    if (c == '\'' || c == '"' || c == '`') {
      i = skip_quoted(sql, n, i, c);
    } else if (c == '-' && i + 1 < n && sql[i + 1] == '-') {
      while (i < n && sql[i] != '\n') i++;
    } else if (c == '/' && i + 1 < n && sql[i + 1] == '*') {
      i += 2;
      while (i + 1 < n && !(sql[i] == '*' && sql[i + 1] == '/')) i++;
      i = i + 2 < n ? i + 2 : n;
    } else if (c == '\\' && i + 1 < n && sql[i + 1] == ':') {
      qs_buf_append(out, sql + start, i - start);   /* drop the backslash */
      start = i + 1;
      i += 2;
    } else if (c == ':' && i + 1 < n && sql[i + 1] == ':') {
      i += 2;
    } else if (c == ':' && i + 1 < n && is_name_start((unsigned char)sql[i + 1]) &&
               !(i > 0 && sql[i - 1] == ':')) {
      size_t j = i + 1;
      int pos;
      while (j < n && is_name_char((unsigned char)sql[j])) j++;
      qs_buf_append(out, sql + start, i - start);
      pos = on_bind(ud, sql + i + 1, j - i - 1);
      if (pos < 0) return pos;
      if (pos > 0) qs_dialect_placeholder(d, out, pos);   /* 0: on_bind wrote it */
      start = i = j;
    } else {
      i++;
    }
  }
  qs_buf_append(out, sql + start, n - start);
  if (out->failed) return qs_error_set(err, QS_NOMEM, "out of memory");
  return QS_OK;
}
