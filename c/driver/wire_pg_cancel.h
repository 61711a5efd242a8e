/*
** wire_pg_cancel.h: the PostgreSQL wire driver's cancel (wire_pg.c's
** xCancel): a CancelRequest (c/protocol/pgwire.h) over a plain blocking
** connection of its own, whatever the statement's connection is (its own
** socket or an external transport). It needs only the server's address
** and the connection's cancel key, so it may run on any thread.
*/
#ifndef QS_WIRE_PG_CANCEL_H
#define QS_WIRE_PG_CANCEL_H

#include <stdint.h>

#include "quicksilver.h"

/* Sends the CancelRequest for (pid, key) to host:port (host starting with
** '/': the unix socket directory), connecting and waiting for the server's
** close 5 s at most. Detached: on a counted detached thread (detached.h),
** its outcome dropped; QS_OK once started. */
int qs__pg_wire_cancel(const char *host, const char *port, int32_t pid, int32_t key, int detached,
                       qs_error *err);

#endif
