/*
** my_kill.h: what the two MySQL drivers (mariadb.c over libmariadb,
** wire_my.c over the wire codec) share of a detached cancel: a job owning
** copies of the options and the connection id, run on a counted detached
** thread (detached.h) by the driver's own KILL QUERY function.
*/
#ifndef QS_MY_KILL_H
#define QS_MY_KILL_H

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

#endif
