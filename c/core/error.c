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

/*
** qs_error_retryable: by SQLSTATE, which both PostgreSQL drivers and both
** MySQL drivers carry from the server (the MySQL ERR packet has it too), so
** no driver needs a rule of its own. Not on a lost connection (the outcome
** of what was sent is unknown there), nor for MySQL's 1205 lock wait
** timeout (HY000): InnoDB rolls back only the statement and keeps the
** transaction open, and the wait that timed out is rather a long
** transaction holding locks than a conflict a rerun resolves
** (docs/scaling/galera.md).
*/
int qs_error_retryable(const qs_error *err) {
  if (err->code != QS_OPERATIONAL || err->invalidated) return 0;
  return strcmp(err->sqlstate, "40001") == 0 || strcmp(err->sqlstate, "40P01") == 0;
}

const char *qs_error_class(const qs_error *err) {
  return qs_error_retryable(err) ? QS_RETRY_CLASS : qs_code_class(err->code);
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

/*
** MySQL/MariaDB error numbers: the family, whether the connection is gone,
** and the qs_error both MySQL drivers (c/driver/mariadb.c over libmariadb,
** c/driver/wire_my.c over the wire codec) report, so the two give the same
** error for the same failure. Client-side numbers (2000s) are libmariadb's;
** the wire driver uses the same ones for the same conditions.
*/
int qs_mysql_error_disconnect(unsigned e) {
  switch (e) {
    case 2006:   /* CR_SERVER_GONE_ERROR */
    case 2013:   /* CR_SERVER_LOST */
    case 2055:   /* CR_SERVER_LOST_EXTENDED */
    case 1927:   /* ER_CONNECTION_KILLED */
    case 4031:   /* MySQL 8.0.24+: idle past wait_timeout (MariaDB gives 4031 no such meaning) */
    case 2002:   /* CR_CONNECTION_ERROR */
    case 2003:   /* CR_CONN_HOST_ERROR */
      return 1;
    default:
      return 0;
  }
}

int qs_mysql_error_family(unsigned e, const char *state) {
  switch (e) {
    case 1062: case 1451: case 1452: case 1048: case 1216: case 1217: case 3819: case 4025:
    case 1169: case 1557: case 1761: case 1762:
      return QS_INTEGRITY;
    case 1064: case 1146: case 1054: case 1049: case 1050: case 1051: case 1060: case 1061:
    case 1091: case 1149: case 1110: case 1109: case 1052: case 1305:
      return QS_PROGRAMMING;
    case 1264: case 1265: case 1292: case 1366: case 1406: case 1365: case 1367: case 3140:
      return QS_DATA;
    case 1235: case 1289:
      return QS_NOTSUPPORTED;
    default:
      break;
  }
  if (state && strncmp(state, "23", 2) == 0) return QS_INTEGRITY;
  if (state && strncmp(state, "42", 2) == 0) return QS_PROGRAMMING;
  if (state && strncmp(state, "22", 2) == 0) return QS_DATA;
  return QS_OPERATIONAL;   /* lock waits (1205), deadlocks (1213), connection errors */
}

int qs_mysql_error_set(qs_error *err, unsigned e, const char *state, const char *msg) {
  err->driver_code = (int)e;
  if (state) {
    strncpy(err->sqlstate, state, sizeof err->sqlstate - 1);
    err->sqlstate[sizeof err->sqlstate - 1] = '\0';
  } else {
    err->sqlstate[0] = '\0';
  }
  err->invalidated = qs_mysql_error_disconnect(e);
  free(err->constraint);
  err->constraint = NULL;
  if (e == 1062 && msg) {   /* ER_DUP_ENTRY: Duplicate entry '...' for key 'name' */
    static const char before_key[] = "for key '";
    const char *k = strstr(msg, before_key);
    if (k) {
      const char *end;
      k += sizeof before_key - 1;
      end = strchr(k, '\'');
      if (end) {
        size_t n = (size_t)(end - k);
        err->constraint = malloc(n + 1);
        if (err->constraint) {
          memcpy(err->constraint, k, n);
          err->constraint[n] = '\0';
        }
      }
    }
  }
  return qs_error_set(err, err->invalidated ? QS_OPERATIONAL : qs_mysql_error_family(e, state),
                      "(%u) %s", e, msg ? msg : "unknown MySQL error");
}
