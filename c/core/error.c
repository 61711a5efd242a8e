/*
** error.c: result-code names and the qs_error object.
*/
#include "quicksilver.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
** qs_code_name: the symbolic name of a result code ("INTEGRITY"), or
** "UNKNOWN" for a code outside QS_ERRNO_MAP.
*/
const char *qs_code_name(int code) {
  switch (code) {
#define QS_NAME_(name, value, cls) case value: return #name;
    QS_ERRNO_MAP(QS_NAME_)
#undef QS_NAME_
  }
  return "UNKNOWN";
}

/*
** qs_code_class: the qs.exc class that a result code raises, NULL for the
** success codes. Unknown codes map to InternalError: a bug, but never a crash.
*/
const char *qs_code_class(int code) {
  switch (code) {
#define QS_CLASS_(name, value, cls) case value: return cls;
    QS_ERRNO_MAP(QS_CLASS_)
#undef QS_CLASS_
  }
  return "InternalError";
}

/* qs_error_clear: frees the strings and resets every field. */
void qs_error_clear(qs_error *err) {
  free(err->message);
  free(err->constraint);
  memset(err, 0, sizeof *err);
}

/*
** qs_error_set: records code and a formatted message, replacing any earlier
** message. Driver fields (driver_code, sqlstate, constraint) are left as the
** caller set them. Returns code, so callers can write
** "return qs_error_set(err, QS_ARGUMENT, ...)". When the message cannot be
** allocated the code still stands and message points at a static text.
*/
int qs_error_set(qs_error *err, int code, const char *fmt, ...) {
  va_list ap;
  char small[256];
  int n;
  free(err->message);
  err->message = NULL;
  err->code = code;
  va_start(ap, fmt);
  n = vsnprintf(small, sizeof small, fmt, ap);
  va_end(ap);
  if (n < 0) n = 0;
  err->message = malloc((size_t)n + 1);
  if (err->message == NULL) return code;
  if ((size_t)n < sizeof small) {
    memcpy(err->message, small, (size_t)n + 1);
  } else {
    va_start(ap, fmt);
    vsnprintf(err->message, (size_t)n + 1, fmt, ap);
    va_end(ap);
  }
  return code;
}

/* qs_error_move: dst takes src's contents; src is left cleared. */
void qs_error_move(qs_error *dst, qs_error *src) {
  qs_error_clear(dst);
  *dst = *src;
  memset(src, 0, sizeof *src);
}

/*
** qs_sqlstate_family: the family of a SQLSTATE by its class (the first two
** characters; PostgreSQL's errcodes appendix), for the PostgreSQL driver and
** the wire codec alike. Anything unlisted (08 connection, 40 rollback, 53-58
** resources, 57 cancel, a short or missing state) is OPERATIONAL.
*/
int qs_sqlstate_family(const char *state, size_t n) {
  static const struct { char cls[3]; int family; } classes[] = {
    {"23", QS_INTEGRITY},   {"22", QS_DATA},
    {"42", QS_PROGRAMMING}, {"26", QS_PROGRAMMING}, {"34", QS_PROGRAMMING},
    {"3D", QS_PROGRAMMING}, {"3F", QS_PROGRAMMING},
    {"0A", QS_NOTSUPPORTED}, {"XX", QS_INTERNAL},
    {"25", QS_INTERNAL},    /* invalid transaction state */
  };
  size_t i;
  if (state == NULL || n < 2) return QS_OPERATIONAL;
  for (i = 0; i < sizeof classes / sizeof classes[0]; i++)
    if (state[0] == classes[i].cls[0] && state[1] == classes[i].cls[1]) return classes[i].family;
  return QS_OPERATIONAL;   /* 08 connection, 40 rollback, 53-58 resources, 57 cancel... */
}
