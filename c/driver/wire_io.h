/*
** wire_io.h: the byte pipe a wire driver (c/driver/wire_pg.c, wire_my.c)
** talks through, with two transports behind one interface:
**
**   own socket   a non-blocking TCP or unix-domain socket the pipe opens
**                itself: the driver's xWait reports its fd, so the core's
**                blocking mode (poll) and the coroutine waiters both work.
**   external     the caller owns the transport (an OpenResty cosocket): the
**                pipe has no fd; bytes to send are taken with
**                qs_wire_io_pending/qs_wire_io_sent and bytes received are
**                given with qs_wire_io_feed, between the QS_WAITs.
**
** The driver never sees the difference: it queues bytes in out, calls
** qs_wire_io_flush until QS_OK, and calls qs_wire_io_fill when the bytes in
** hand do not hold a whole message yet. Both return QS_WAIT, with want set,
** when the transport must move bytes first; the driver returns QS_WAIT in
** turn and is called again later (drivers as steps, quicksilver.h).
*/
#ifndef QS_WIRE_IO_H
#define QS_WIRE_IO_H

#include <stddef.h>

#include "quicksilver.h"

typedef struct qs_wire_io {
  int fd;                /* own socket, or -1 (external, or not yet opened) */
  int external;          /* the caller moves the bytes */
  int connecting;        /* own socket: a non-blocking connect() in progress */
  int closed;            /* the peer closed (fill fails from then on) */
  int want;              /* QS_WAIT_READ/WRITE/TLS: what the last QS_WAIT waits for */
  qs_buf out;            /* bytes queued to send; out_off of them already sent */
  size_t out_off;
  qs_buf in;             /* bytes received; in_off of them already consumed */
  size_t in_off;
  size_t in_seen;        /* unconsumed bytes at the last fill: fill succeeds
                         ** when more than these are in hand */
  char peer[128];        /* "host:port" or the socket path, for messages */
} qs_wire_io;

/* Ready to open; nothing allocated (qs_wire_io_close is safe after it). */
void qs_wire_io_init(qs_wire_io *io);
/* External transport: nothing to open; peer names it in messages. */
void qs_wire_io_external(qs_wire_io *io, const char *peer);
/* Own socket: resolves host (getaddrinfo: a name other than a numeric
** address may block on DNS), creates a non-blocking socket and starts
** connecting to the first address that accepts (a host starting with '/' is
** a unix-domain socket directory or path, as libpq's: path/.s.PGSQL.<port>
** when unix_name is "pg", the path itself otherwise). Never waits:
** qs_wire_io_connected completes it. */
int qs_wire_io_open(qs_wire_io *io, const char *host, const char *port, const char *unix_name,
                    qs_error *err);
/* QS_OK once the socket is connected, QS_WAIT (want WRITE) meanwhile, or
** QS_OPERATIONAL when the connection was refused. External: QS_OK. */
int qs_wire_io_connected(qs_wire_io *io, qs_error *err);
/* Sends what out holds: QS_OK when all of it went (out is then emptied),
** QS_WAIT (want WRITE) when the transport must take more first. */
int qs_wire_io_flush(qs_wire_io *io, qs_error *err);
/* QS_OK when more unconsumed bytes are in hand than at the previous call
** (own socket: after reading what the socket has), QS_WAIT (want READ) when
** none came yet, QS_OPERATIONAL when the peer closed the connection. */
int qs_wire_io_fill(qs_wire_io *io, qs_error *err);
/* The unconsumed input, and consuming n of it (n <= *len). */
const char *qs_wire_io_data(const qs_wire_io *io, size_t *len);
void qs_wire_io_consume(qs_wire_io *io, size_t n);
/* Asks for a TLS upgrade of an external transport (QS_WAIT, want
** QS_WAIT_TLS): the caller upgrades it, then the driver goes on; call again
** after the wait: QS_OK. Own socket: QS_NOTSUPPORTED (the core links no TLS
** library). Call with nothing queued to send or received unconsumed. */
int qs_wire_io_starttls(qs_wire_io *io, qs_error *err);
/* The driver's xWait: what the last QS_WAIT waits for and the fd (-1 external). */
int qs_wire_io_wait(const qs_wire_io *io, int *fd);
/* Closes the socket (if own) and frees the buffers; idempotent. */
void qs_wire_io_close(qs_wire_io *io);

/* The external transport's side (the driver's xOutput/xOutputDone/xInput). */
size_t qs_wire_io_pending(const qs_wire_io *io, const char **p);
void qs_wire_io_sent(qs_wire_io *io, size_t n);
/* n == 0: the peer closed. QS_NOMEM when the bytes cannot be kept. */
int qs_wire_io_feed(qs_wire_io *io, const char *p, size_t n);

#endif
