/*
** buf.c: a growable byte buffer for SQL text.
**
** An allocation failure sets a sticky flag instead of returning at every
** append, so the compiler can build a whole statement and check once.
*/
#include "quicksilver.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void qs_buf_init(qs_buf *b) { memset(b, 0, sizeof *b); }

void qs_buf_free(qs_buf *b) {
  free(b->p);
  memset(b, 0, sizeof *b);
}

/* qs_buf_reset: empties the buffer, keeping its memory for reuse. */
void qs_buf_reset(qs_buf *b) {
  b->len = 0;
  b->failed = 0;
  if (b->p) b->p[0] = '\0';
}

static int grow(qs_buf *b, size_t extra) {
  size_t need, cap;
  char *p;
  if (b->failed) return QS_NOMEM;
  need = b->len + extra + 1;
  if (need <= b->cap) return QS_OK;
  cap = b->cap ? b->cap : 64;
  while (cap < need) cap *= 2;
  p = realloc(b->p, cap);
  if (p == NULL) {
    b->failed = 1;
    return QS_NOMEM;
  }
  b->p = p;
  b->cap = cap;
  return QS_OK;
}

/* qs_buf_reserve: room for extra more bytes (and the terminator) without
** another allocation: a reader writes into p + len, then raises len. */
int qs_buf_reserve(qs_buf *b, size_t extra) { return grow(b, extra); }

/* qs_buf_append: appends n bytes; QS_NOMEM (and sticky failure) otherwise. */
int qs_buf_append(qs_buf *b, const char *s, size_t n) {
  if (grow(b, n) != QS_OK) return QS_NOMEM;
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
  return QS_OK;
}

int qs_buf_puts(qs_buf *b, const char *s) { return qs_buf_append(b, s, strlen(s)); }

int qs_buf_putc(qs_buf *b, char c) { return qs_buf_append(b, &c, 1); }

int qs_buf_printf(qs_buf *b, const char *fmt, ...) {
  va_list ap;
  int n;
  va_start(ap, fmt);
  n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0) return QS_INTERNAL;
  if (grow(b, (size_t)n) != QS_OK) return QS_NOMEM;
  va_start(ap, fmt);
  vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
  return QS_OK;
}
