/*
** my_common.h: what the two MySQL drivers (mariadb.c over libmariadb,
** wire_my.c over the wire codec) do the same way: the SQL that sets the
** server's statement time limit, and a detached cancel (a job owning copies
** of the options and the connection id, run on a counted detached thread,
** detached.h, by the driver's own KILL QUERY function). Compiled into the
** core (for the wire driver) and into the mysql module.
*/
#ifndef QS_MY_COMMON_H
#define QS_MY_COMMON_H

#include <stddef.h>

#include "opts.h"
#include "quicksilver.h"

/* Sends KILL QUERY id over a second connection made with the options o. */
typedef int (*qs_my_kill_fn)(const qs_opts *o, unsigned long id, qs_error *err);

/* Runs kill(copy of o, id) on a detached thread; its outcome is dropped
** (the statement it aims at ends with the server's error, or had finished
** already). QS_OK once started; QS_NOMEM, or QS_OPERATIONAL naming who
** when no thread starts. */
int qs__my_kill_detached(const qs_opts *o, unsigned long id, qs_my_kill_fn kill, const char *who,
                         qs_error *err);

/* The statement that sets this session's statement time limit to ms: the
** server enforces it, MariaDB for every statement (max_statement_time, in
** seconds), MySQL for SELECTs only (max_execution_time). Into buf (cap
** bytes; 64 are enough). */
void qs__my_timeout_sql(int mariadb, int ms, char *buf, size_t cap);

#endif
