/*
** text.c: compiles textual SQL with named binds (qs.text) for a dialect.
**
** ":name" becomes the dialect's placeholder; everything else is copied as
** written. The scanner knows just enough SQL lexing to leave names inside
** string literals, quoted identifiers and comments alone, and to let "::"
** (a PostgreSQL cast) and "\:" (an escaped colon) through. Quoted text is
** lexed as the dialect lexes it (its QS_FORM_* quoting forms): besides the
** quotes every dialect's text skips ('...', "...", `...` with doubled quotes),
** MySQL's backslash escapes inside '...' and "..." (its default sql_mode;
** with NO_BACKSLASH_ESCAPES a backslash before a quote ends the string
** there, and a ":name" after it would be left alone: write such text
** without the backslash), PostgreSQL's $$...$$ / $tag$...$tag$ dollar quotes
** and E'...' escape strings.
*/
#include "quicksilver.h"

#include <string.h>

/* The string and identifier quotes of every dialect: text is lexed the same
** whatever the dialect, so a name inside any quoted run is left alone. */
static const char quotes[] = {'\'', '"', '`'};

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

/* The same with backslash escapes (MySQL's strings, PostgreSQL's E'...'):
** a backslash takes the next character whatever it is. */
static size_t skip_quoted_bs(const char *s, size_t n, size_t i, char q) {
  for (i++; i < n; i++) {
    if (s[i] == '\\') { i++; continue; }
    if (s[i] == q) {
      if (i + 1 < n && s[i + 1] == q) { i++; continue; }
      return i + 1;
    }
  }
  return n;
}

/* At s[i] == '$': the length of a dollar-quote delimiter ($$ or $tag$, the
** tag an identifier without '$'), or 0 when there is none ($1 is a
** parameter, a lone $ nothing). */
static size_t dollar_delim(const char *s, size_t n, size_t i) {
  size_t j = i + 1;
  if (j < n && is_name_start((unsigned char)s[j])) {
    while (j < n && is_name_char((unsigned char)s[j])) j++;
  }
  return j < n && s[j] == '$' ? j - i + 1 : 0;
}

/* Index just past the dollar-quoted run at i with a delimiter of len bytes
** (the same delimiter closes it); unterminated runs end at n. */
static size_t skip_dollar(const char *s, size_t n, size_t i, size_t len) {
  size_t j;
  for (j = i + len; j + len <= n; j++) {
    if (s[j] == '$' && memcmp(s + j, s + i, len) == 0) return j + len;
  }
  return n;
}

/* Whether the word at s[i..j) is the keyword IN (any case). */
static int is_in_keyword(const char *s, size_t i, size_t j) {
  return j - i == 2 && (s[i] == 'I' || s[i] == 'i') && (s[i + 1] == 'N' || s[i + 1] == 'n');
}

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'; }

/*
** qs_compile_text_in: see quicksilver.h. Returns QS_OK, QS_NOMEM, or the error
** on_bind reports (a negative code; err then already holds the message).
** after_in: the last token before a bind (comments and white space aside)
** was the keyword IN, so a list bound there is an IN list (`IN :ids`).
*/
int qs_compile_text_in(const qs_dialect *d, const char *sql, size_t n, qs_buf *out,
                       qs_text_bind_in_fn on_bind, void *ud, qs_error *err) {
  size_t i = 0, start = 0, len;
  int after_in = 0;
  int bs = d && qs_dialect_form(d, QS_FORM_BACKSLASH_ESCAPES);
  int dollar = d && qs_dialect_form(d, QS_FORM_DOLLAR_QUOTES);
  int estr = d && qs_dialect_form(d, QS_FORM_ESCAPE_STRINGS);
  while (i < n) {
    char c = sql[i];
    int after_name = i > 0 && (is_name_char((unsigned char)sql[i - 1]) || sql[i - 1] == '$');
    if (estr && (c == 'E' || c == 'e') && i + 1 < n && sql[i + 1] == '\'' && !after_name) {
      after_in = 0;
      i = skip_quoted_bs(sql, n, i + 1, '\'');
    } else if (dollar && c == '$' && !after_name && (len = dollar_delim(sql, n, i)) > 0) {
      after_in = 0;
      i = skip_dollar(sql, n, i, len);
    } else if (memchr(quotes, c, sizeof quotes)) {
      after_in = 0;
      /* string quotes take backslash escapes; identifier backquotes never do */
      i = bs && (c == '\'' || c == '"') ? skip_quoted_bs(sql, n, i, c) : skip_quoted(sql, n, i, c);
    } else if (c == '-' && i + 1 < n && sql[i + 1] == '-') {
      while (i < n && sql[i] != '\n') i++;
    } else if (c == '/' && i + 1 < n && sql[i + 1] == '*') {
      i += 2;
      while (i + 1 < n && !(sql[i] == '*' && sql[i + 1] == '/')) i++;
      i = i + 2 < n ? i + 2 : n;
    } else if (c == '\\' && i + 1 < n && sql[i + 1] == ':') {
      qs_buf_append(out, sql + start, i - start);   /* drop the backslash */
      after_in = 0;
      start = i + 1;
      i += 2;
    } else if (c == ':' && i + 1 < n && sql[i + 1] == ':') {
      after_in = 0;
      i += 2;
    } else if (c == ':' && i + 1 < n && is_name_start((unsigned char)sql[i + 1]) &&
               !(i > 0 && sql[i - 1] == ':')) {
      size_t j = i + 1;
      int pos;
      while (j < n && is_name_char((unsigned char)sql[j])) j++;
      qs_buf_append(out, sql + start, i - start);
      pos = on_bind(ud, sql + i + 1, j - i - 1, after_in);
      if (pos < 0) return pos;
      if (pos > 0) qs_dialect_placeholder(d, out, pos);   /* 0: on_bind wrote it */
      after_in = 0;
      start = i = j;
    } else if (is_name_start((unsigned char)c) && !after_name) {
      size_t j = i + 1;   /* a word: IN, or another that ends an IN's reach */
      while (j < n && is_name_char((unsigned char)sql[j])) j++;
      after_in = is_in_keyword(sql, i, j);
      i = j;
    } else {
      if (!is_space(c)) after_in = 0;
      i++;
    }
  }
  qs_buf_append(out, sql + start, n - start);
  if (out->failed) return qs_error_set(err, QS_NOMEM, "out of memory");
  return QS_OK;
}

/* The plain form: on_bind is not told where a bind stands. */
typedef struct plain_cb {
  qs_text_bind_fn fn;
  void *ud;
} plain_cb;

static int plain_on_bind(void *ud, const char *name, size_t n, int after_in) {
  plain_cb *p = (plain_cb *)ud;
  (void)after_in;
  return p->fn(p->ud, name, n);
}

int qs_compile_text(const qs_dialect *d, const char *sql, size_t n, qs_buf *out,
                    qs_text_bind_fn on_bind, void *ud, qs_error *err) {
  plain_cb p;
  p.fn = on_bind;
  p.ud = ud;
  return qs_compile_text_in(d, sql, n, out, plain_on_bind, &p, err);
}
