/*
** pg_common.h: what both PostgreSQL drivers (c/driver/libpq.c over libpq,
** c/driver/wire_pg.c over the wire codec) do the same way besides value
** text (pg_text.h): the notices a connection keeps, and the retry that
** makes a parameter the server cannot type text. Compiled into the core
** (for the wire driver) and into the libpq module.
*/
#ifndef QS_PG_COMMON_H
#define QS_PG_COMMON_H

#include <stdint.h>

#include "quicksilver.h"

/* The notices a connection keeps: the latest ones, oldest first. */
#define QS_PG_MAX_NOTICES 16
typedef struct qs_pg_notices {
  char *text[QS_PG_MAX_NOTICES];
  int n;
} qs_pg_notices;

/* Keeps text (malloc'd; the notices own it now), dropping the oldest one
** when full. */
void qs__pg_notices_add(qs_pg_notices *k, char *text);

/* The i-th notice kept (0: the oldest), or NULL. */
const char *qs__pg_notices_get(const qs_pg_notices *k, int i);

/* Frees every notice kept. */
void qs__pg_notices_clear(qs_pg_notices *k);

/* Parameters made text one by one at most. */
#define QS_PG_MAX_UNTYPED_PARAMS 256

/* After an error (its SQLSTATE and message, either may be NULL): when it
** is "could not determine data type of parameter $n", marks that parameter
** text in *given (QS_PG_MAX_UNTYPED_PARAMS types, allocated at the first
** one) and raises *ngiven to cover it. 1 when one more was made text (the
** statement is then prepared again), 0 otherwise (out of memory included). */
int qs__pg_type_untyped(const char *sqlstate, const char *message, uint32_t **given, int *ngiven);

/* Whether a server error leaves the session useless (its error gets
** invalidated, so the pool replaces it and every connection opened before
** it): the server going away (57P01 admin_shutdown, 57P02 crash_shutdown,
** 57P03 cannot_connect_now, class 08 connection exceptions) and, for a
** connection that wants a writable server (target_session_attrs read-write
** or primary), 25006 read_only_sql_transaction: the server it reached was
** demoted or fenced read-only, and a new connection finds the primary. */
int qs__pg_error_disconnects(const char *sqlstate, int wants_writable);

/* PostgreSQL text cannot hold a NUL byte: libpq and the server would cut
** the value there (WHERE name = 'admin\0x' matching 'admin'). The first
** text value of vals[0..n) holding one is refused with QS_DATA naming its
** position as "$k" (and its parameter set, 1-based, when set > 0: the
** engine maps $k to the bind name); bytes (QS_TBLOB, bytea) carry NULs.
** Checked before anything of the statement is sent. */
int qs__pg_refuse_nul(const qs_value *vals, int n, int set, qs_error *err);

/* ---- server-side prepared statements and transaction poolers ----------
** Statements are named "qs_<tag>_<n>": tag is made once per connection
** (qs__pg_name_tag), so that a name never means another connection's
** statement on a server a pooler (pgbouncer in transaction mode) shares:
** a statement missing there fails with "does not exist" (detected below)
** instead of running another client's SQL. The buffer holds
** QS_PG_NAME_SIZE bytes. */
#define QS_PG_NAME_SIZE 24
uint32_t qs__pg_name_tag(const void *conn);
void qs__pg_name(char *buf, uint32_t tag, unsigned n);

/* The option turning them off (prepared_statements=false: every execution
** parses the unnamed statement in its own round trip, nothing outlives a
** transaction). *out: 1 prepared statements (the default), 0 unnamed.
** QS_ARGUMENT naming the option for any value but true/false/1/0/on/off/
** yes/no. */
#define QS_PG_OPT_PREPARED "prepared_statements"
int qs__pg_prepared_option(const char *value, int *out, qs_error *err);

/* After a server error (its SQLSTATE and message, either may be NULL) on a
** connection using named statements: 1 when it says one of OUR statements
** does not exist (26000) or already exists (42P05), i.e. the server
** session changed under the connection (a transaction pooler). err is then
** set to an OPERATIONAL error naming the cause and the option, with the
** server's message after it and the SQLSTATE kept; invalidated set (the
** connection's statements cannot be trusted any more). 0 otherwise (err
** untouched). */
int qs__pg_pooler_error(const char *sqlstate, const char *message, qs_error *err);

#endif
