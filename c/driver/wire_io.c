/*
** wire_io.c: the byte pipe of the wire drivers (wire_io.h): its own
** non-blocking socket, or a transport the caller owns (an OpenResty
** cosocket) fed through pending/sent/feed.
*/
#include "wire_io.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* Reads in chunks of this much: a result of many rows arrives in few calls. */
#define READ_CHUNK 65536
/* Consumed input is dropped from the buffer once it is this large, so a
** long result streams through a bounded buffer. */
#define COMPACT_AT 65536

void qs_wire_io_init(qs_wire_io *io) {
  memset(io, 0, sizeof *io);
  io->fd = -1;
  qs_buf_init(&io->out);
  qs_buf_init(&io->in);
}

void qs_wire_io_external(qs_wire_io *io, const char *peer) {
  io->external = 1;
  snprintf(io->peer, sizeof io->peer, "%s", peer ? peer : "the external transport");
}

static int set_nonblocking(int fd) {
  int fl = fcntl(fd, F_GETFL, 0);
  if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) return -1;
  (void)fcntl(fd, F_SETFD, FD_CLOEXEC);   /* never inherited by exec'd programs */
  return 0;
}

/* Starts a non-blocking connect to addr: 0 when under way or done, else errno. */
static int start_connect(qs_wire_io *io, int family, const struct sockaddr *addr,
                         socklen_t len) {
  int fd = socket(family, SOCK_STREAM, 0);
  if (fd < 0) return errno;
  if (set_nonblocking(fd) < 0) {
    int e = errno;
    close(fd);
    return e;
  }
  if (family != AF_UNIX) {
    int one = 1;   /* small request messages go at once (as libpq's sockets) */
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  if (connect(fd, addr, len) < 0 && errno != EINPROGRESS) {
    int e = errno;
    close(fd);
    return e;
  }
  io->fd = fd;
  io->connecting = 1;
  return 0;
}

static int open_unix(qs_wire_io *io, const char *host, const char *port, const char *unix_name,
                     qs_error *err) {
  struct sockaddr_un sa;
  int n, e;
  memset(&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  if (unix_name && strcmp(unix_name, "pg") == 0)
    n = snprintf(sa.sun_path, sizeof sa.sun_path, "%s/.s.PGSQL.%s", host, port ? port : "5432");
  else
    n = snprintf(sa.sun_path, sizeof sa.sun_path, "%s", host);
  if (n < 0 || (size_t)n >= sizeof sa.sun_path)
    return qs_error_set(err, QS_ARGUMENT, "unix socket path too long: %s", host);
  snprintf(io->peer, sizeof io->peer, "%s", sa.sun_path);
  e = start_connect(io, AF_UNIX, (const struct sockaddr *)&sa, sizeof sa);
  if (e != 0)
    return qs_error_set(err, QS_OPERATIONAL, "could not connect to %s: %s", io->peer,
                        strerror(e));
  return QS_OK;
}

int qs_wire_io_open(qs_wire_io *io, const char *host, const char *port, const char *unix_name,
                    qs_error *err) {
  struct addrinfo hints, *res = NULL, *ai;
  int rc, e = 0;
  if (host == NULL || host[0] == '\0') host = "localhost";
  if (host[0] == '/') return open_unix(io, host, port, unix_name, err);
  snprintf(io->peer, sizeof io->peer, "%s:%s", host, port ? port : "?");
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_ADDRCONFIG;
  rc = getaddrinfo(host, port, &hints, &res);
  if (rc != 0)
    return qs_error_set(err, QS_OPERATIONAL, "could not resolve host \"%s\": %s", host,
                        gai_strerror(rc));
  /* the first address whose connect starts; a refusal of a started
  ** connect shows in qs_wire_io_connected */
  for (ai = res; ai != NULL; ai = ai->ai_next) {
    e = start_connect(io, ai->ai_family, ai->ai_addr, ai->ai_addrlen);
    if (e == 0) break;
  }
  freeaddrinfo(res);
  if (io->fd < 0)
    return qs_error_set(err, QS_OPERATIONAL, "could not connect to %s: %s", io->peer,
                        strerror(e ? e : ECONNREFUSED));
  return QS_OK;
}

static int wait_for(qs_wire_io *io, int what) {
  io->want = what;
  return QS_WAIT;
}

int qs_wire_io_connected(qs_wire_io *io, qs_error *err) {
  int soerr = 0;
  socklen_t len = sizeof soerr;
  if (io->external || !io->connecting) return QS_OK;
  if (io->fd < 0) return qs_error_set(err, QS_MISUSE, "the connection was never opened");
  if (getsockopt(io->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0) soerr = errno;
  if (soerr == EINPROGRESS || soerr == EALREADY) return wait_for(io, QS_WAIT_WRITE);
  if (soerr == 0) {
    /* SO_ERROR is 0 both when connected and while still connecting before
    ** any wait: a connected socket has a peer */
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getpeername(io->fd, (struct sockaddr *)&ss, &sl) < 0) {
      if (errno == ENOTCONN) return wait_for(io, QS_WAIT_WRITE);
      soerr = errno;
    }
  }
  if (soerr != 0)
    return qs_error_set(err, QS_OPERATIONAL, "could not connect to %s: %s", io->peer,
                        strerror(soerr));
  io->connecting = 0;
  io->want = 0;
  return QS_OK;
}

static void compact_out(qs_wire_io *io) {
  if (io->out_off >= io->out.len) {
    qs_buf_reset(&io->out);
    io->out_off = 0;
  }
}

int qs_wire_io_flush(qs_wire_io *io, qs_error *err) {
  if (io->closed)
    return qs_error_set(err, QS_OPERATIONAL, "the server at %s closed the connection",
                        io->peer);
  while (io->out_off < io->out.len) {
    ssize_t n;
    if (io->external) return wait_for(io, QS_WAIT_WRITE);
    n = send(io->fd, io->out.p + io->out_off, io->out.len - io->out_off, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return wait_for(io, QS_WAIT_WRITE);
      io->closed = 1;
      return qs_error_set(err, QS_OPERATIONAL, "could not send to %s: %s", io->peer,
                          strerror(errno));
    }
    io->out_off += (size_t)n;
  }
  compact_out(io);
  io->want = 0;
  return QS_OK;
}

/* Drops consumed input once enough of it piled up. */
static void compact_in(qs_wire_io *io) {
  if (io->in_off == io->in.len) {
    qs_buf_reset(&io->in);
    io->in_off = 0;
  } else if (io->in_off >= COMPACT_AT) {
    size_t left = io->in.len - io->in_off;
    memmove(io->in.p, io->in.p + io->in_off, left);
    io->in.len = left;
    io->in.p[left] = '\0';
    io->in_off = 0;
  }
}

static int closed_error(qs_wire_io *io, qs_error *err) {
  qs_error_set(err, QS_OPERATIONAL, "the server at %s closed the connection unexpectedly",
               io->peer);
  err->invalidated = 1;
  return QS_OPERATIONAL;
}

int qs_wire_io_fill(qs_wire_io *io, qs_error *err) {
  size_t have = io->in.len - io->in_off;
  if (have > io->in_seen) {
    io->in_seen = have;
    io->want = 0;
    return QS_OK;
  }
  if (io->closed) return closed_error(io, err);
  if (io->external) return wait_for(io, QS_WAIT_READ);
  for (;;) {
    ssize_t n;
    compact_in(io);
    if (qs_buf_reserve(&io->in, READ_CHUNK) != QS_OK)
      return qs_error_set(err, QS_NOMEM, "out of memory reading from %s", io->peer);
    n = recv(io->fd, io->in.p + io->in.len, READ_CHUNK, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return wait_for(io, QS_WAIT_READ);
      io->closed = 1;
      qs_error_set(err, QS_OPERATIONAL, "could not receive from %s: %s", io->peer,
                   strerror(errno));
      err->invalidated = 1;
      return QS_OPERATIONAL;
    }
    if (n == 0) {
      io->closed = 1;
      return closed_error(io, err);
    }
    io->in.len += (size_t)n;
    io->in.p[io->in.len] = '\0';
    io->in_seen = io->in.len - io->in_off;
    io->want = 0;
    return QS_OK;
  }
}

const char *qs_wire_io_data(const qs_wire_io *io, size_t *len) {
  *len = io->in.len - io->in_off;
  return io->in.p ? io->in.p + io->in_off : "";
}

void qs_wire_io_consume(qs_wire_io *io, size_t n) {
  size_t have = io->in.len - io->in_off;
  if (n > have) n = have;
  io->in_off += n;
  io->in_seen = io->in_seen > n ? io->in_seen - n : 0;
  if (io->in_off == io->in.len) compact_in(io);
}

int qs_wire_io_starttls(qs_wire_io *io, qs_error *err) {
  if (!io->external)
    return qs_error_set(err, QS_NOTSUPPORTED, "TLS needs an external transport (OpenResty's "
                        "cosockets): the wire drivers' own sockets have no TLS library; use the "
                        "libpq or libmariadb driver for TLS outside nginx");
  if (io->want == QS_WAIT_TLS) {   /* called again after the wait: upgraded */
    io->want = 0;
    return QS_OK;
  }
  return wait_for(io, QS_WAIT_TLS);
}

int qs_wire_io_wait(const qs_wire_io *io, int *fd) {
  *fd = io->external ? -1 : io->fd;
  return io->want;
}

void qs_wire_io_close(qs_wire_io *io) {
  if (io->fd >= 0) close(io->fd);
  io->fd = -1;
  io->closed = 1;
  qs_buf_free(&io->out);
  qs_buf_free(&io->in);
  io->out_off = io->in_off = io->in_seen = 0;
}

size_t qs_wire_io_pending(const qs_wire_io *io, const char **p) {
  if (!io->external || io->out_off >= io->out.len) {
    *p = NULL;
    return 0;
  }
  *p = io->out.p + io->out_off;
  return io->out.len - io->out_off;
}

void qs_wire_io_sent(qs_wire_io *io, size_t n) {
  size_t left = io->out.len - io->out_off;
  if (!io->external) return;
  io->out_off += n > left ? left : n;
  compact_out(io);
}

int qs_wire_io_feed(qs_wire_io *io, const char *p, size_t n) {
  if (!io->external) return QS_MISUSE;
  if (n == 0) {
    io->closed = 1;
    return QS_OK;
  }
  compact_in(io);
  if (qs_buf_append(&io->in, p, n) != QS_OK) return QS_NOMEM;
  return QS_OK;
}
