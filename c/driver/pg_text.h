/*
** pg_text.h: PostgreSQL values in text format, as both PostgreSQL drivers
** read and write them (c/driver/libpq.c over libpq, c/driver/wire_pg.c over
** the wire codec), so the two give the same Lua values by construction.
** Compiled into the core (for the wire driver) and into the libpq module.
*/
#ifndef QS_PG_TEXT_H
#define QS_PG_TEXT_H

#include <stddef.h>
#include <stdint.h>

#include "quicksilver.h"

/* Type OIDs from pg_type.h (stable across releases). */
#define QS_PG_OID_BOOL 16
#define QS_PG_OID_BYTEA 17
#define QS_PG_OID_INT8 20
#define QS_PG_OID_INT2 21
#define QS_PG_OID_INT4 23
#define QS_PG_OID_TEXT 25
#define QS_PG_OID_OID 26
#define QS_PG_OID_FLOAT4 700
#define QS_PG_OID_FLOAT8 701
#define QS_PG_OID_INTERVAL 1186

/* Bytes of one numeric parameter's text (a long long or "%.17g"). */
#define QS_PG_NUM_TEXT_SIZE 32

/* A scratch buffer for decoded bytea, owned by a statement. */
typedef struct qs_pg_bytes {
  unsigned char *p;
  size_t cap;
} qs_pg_bytes;

/* One column value of type oid, in text format (txt NUL-terminated, len
** bytes), as the value the drivers hand out: booleans, integers, floats,
** intervals as seconds (the "postgres" style), bytea decoded into bytes
** (valid until its next use), anything else the text as it came. */
void qs__pg_text_value(uint32_t oid, const char *txt, size_t len, qs_pg_bytes *bytes,
                       qs_value *out);

/* The text a float parameter travels as when the server typed it oid:
** seconds with six decimals for an interval (its input takes no exponent),
** "%.17g" otherwise. buf holds QS_PG_NUM_TEXT_SIZE bytes; returns its length. */
int qs__pg_float_text(uint32_t oid, double f, char *buf);

/* An interval in the "postgres" output style as seconds; 0 when the text is
** not in that form. */
int qs__pg_interval_seconds(const char *p, double *out);

#endif
