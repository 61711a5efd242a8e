/*
** pg_text.c: PostgreSQL's text-format values, shared by the libpq driver and
** the wire driver (pg_text.h).
*/
#include "pg_text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int hexval(char ch) {
  if (ch >= '0' && ch <= '9') return ch - '0';
  if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
  return -1;
}

/* "1 year 2 mons -3 days +04:05:06.5", "25:01:01.25", "-00:00:01". A month
** counts 30 days and a year 365, as psycopg and asyncpg count them for
** Python's timedelta. */
int qs__pg_interval_seconds(const char *p, double *out) {
  double total = 0;
  int any = 0;
  while (*p) {
    char *end;
    double x;
    while (*p == ' ') p++;
    if (*p == '\0') break;
    x = strtod(p, &end);
    if (end == p) return 0;
    if (*end == ':') {   /* [+-]hh:mm:ss[.ffffff] */
      int neg = *p == '-';
      double h = x < 0 ? -x : x, m, sec = 0;
      p = end + 1;
      m = strtod(p, &end);
      if (end == p) return 0;
      p = end;
      if (*p == ':') {
        p++;
        sec = strtod(p, &end);
        if (end == p) return 0;
        p = end;
      }
      x = h * 3600 + m * 60 + sec;
      total += neg ? -x : x;
    } else {
      const char *unit = end;
      double mult;
      while (*unit == ' ') unit++;
      if (strncmp(unit, "year", 4) == 0) mult = 365 * 86400.0;
      else if (strncmp(unit, "mon", 3) == 0) mult = 30 * 86400.0;
      else if (strncmp(unit, "day", 3) == 0) mult = 86400.0;
      else return 0;
      total += x * mult;
      p = unit;
      while (*p && *p != ' ') p++;
    }
    any = 1;
  }
  *out = total;
  return any;
}

void qs__pg_text_value(uint32_t oid, const char *txt, size_t len, qs_pg_bytes *bytes,
                       qs_value *out) {
  switch (oid) {
    case QS_PG_OID_BOOL:
      out->type = QS_TBOOL;
      out->u.i = txt[0] == 't';
      return;
    case QS_PG_OID_INT2: case QS_PG_OID_INT4: case QS_PG_OID_INT8: case QS_PG_OID_OID:
      out->type = QS_TINT;
      out->u.i = strtoll(txt, NULL, 10);
      return;
    case QS_PG_OID_FLOAT4: case QS_PG_OID_FLOAT8:
      out->type = QS_TFLOAT;
      out->u.f = strtod(txt, NULL);
      return;
    case QS_PG_OID_INTERVAL:
      if (qs__pg_interval_seconds(txt, &out->u.f)) {
        out->type = QS_TFLOAT;
        return;
      }
      break;   /* another IntervalStyle set by hand: the text as it came */
    case QS_PG_OID_BYTEA:
      if (len >= 2 && txt[0] == '\\' && txt[1] == 'x') {   /* hex format (PostgreSQL 9.0+) */
        size_t n = (len - 2) / 2, k;
        if (n > bytes->cap) {
          unsigned char *p = realloc(bytes->p, n);
          if (p == NULL) {   /* out of memory: reads as NULL */
            out->type = QS_TNULL;
            return;
          }
          bytes->p = p;
          bytes->cap = n;
        }
        for (k = 0; k < n; k++)
          bytes->p[k] = (unsigned char)(hexval(txt[2 + 2 * k]) * 16 + hexval(txt[3 + 2 * k]));
        out->type = QS_TBLOB;
        out->u.s.p = n == 0 ? "" : (const char *)bytes->p;
        out->u.s.n = n;
        return;
      }
      break;
    default:
      break;
  }
  out->type = QS_TTEXT;
  out->u.s.p = txt;
  out->u.s.n = len;
}

int qs__pg_float_text(uint32_t oid, double f, char *buf) {
  if (oid == QS_PG_OID_INTERVAL && f < 1e15 && f > -1e15)
    return snprintf(buf, QS_PG_NUM_TEXT_SIZE, "%.6f", f);
  return snprintf(buf, QS_PG_NUM_TEXT_SIZE, "%.17g", f);
}
