/*
** test_wire_io.c: the wire drivers' byte pipe (c/driver/wire_io.c) on both
** transports: its own socket against a loopback listener (and a refused
** port), and an external transport fed by hand as the cosocket glue does.
*/
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "test.h"
#include "wire_io.h"

/* A listening loopback socket on a free port: its fd, the port in *port. */
static int listener(char port[16]) {
  struct sockaddr_in sa;
  socklen_t len = sizeof sa;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 4) < 0 ||
      getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
    close(fd);
    return -1;
  }
  snprintf(port, 16, "%d", ntohs(sa.sin_port));
  return fd;
}

/* Waits (poll) for what io waits for; 0 when it came within a second. */
static int await(qs_wire_io *io) {
  int fd, ev = qs_wire_io_wait(io, &fd);
  struct pollfd p;
  p.fd = fd;
  p.events = (short)(((ev & QS_WAIT_READ) ? POLLIN : 0) | ((ev & QS_WAIT_WRITE) ? POLLOUT : 0));
  p.revents = 0;
  return poll(&p, 1, 1000) == 1 ? 0 : -1;
}

TEST_IMPL(wire_io_own_socket) {
  qs_wire_io io;
  qs_error err;
  char port[16], got[16];
  const char *d;
  size_t n;
  int lfd = listener(port), sfd, rc, i;
  memset(&err, 0, sizeof err);
  ASSERT(lfd >= 0);
  qs_wire_io_init(&io);
  ASSERT_EQ(qs_wire_io_open(&io, "127.0.0.1", port, NULL, &err), QS_OK);
  ASSERT(io.fd >= 0);
  for (i = 0; (rc = qs_wire_io_connected(&io, &err)) == QS_WAIT && i < 10; i++)
    ASSERT_EQ(await(&io), 0);
  ASSERT_EQ(rc, QS_OK);
  sfd = accept(lfd, NULL, NULL);
  ASSERT(sfd >= 0);
  /* nothing received yet: fill waits for reading */
  ASSERT_EQ(qs_wire_io_fill(&io, &err), QS_WAIT);
  ASSERT_EQ(qs_wire_io_wait(&io, &i), QS_WAIT_READ);
  ASSERT_EQ(i, io.fd);
  ASSERT_EQ(qs_buf_append(&io.out, "hello", 5), QS_OK);
  ASSERT_EQ(qs_wire_io_flush(&io, &err), QS_OK);
  ASSERT_EQ(io.out.len, 0u);
  ASSERT_EQ(recv(sfd, got, 5, MSG_WAITALL), 5);
  ASSERT(memcmp(got, "hello", 5) == 0);
  /* the external side's calls do nothing on an own socket */
  ASSERT_EQ(qs_wire_io_pending(&io, &d), 0u);
  ASSERT_EQ(qs_wire_io_feed(&io, "x", 1), QS_MISUSE);
  ASSERT_EQ(send(sfd, "abc", 3, 0), 3);
  for (i = 0; (rc = qs_wire_io_fill(&io, &err)) == QS_WAIT && i < 10; i++)
    ASSERT_EQ(await(&io), 0);
  ASSERT_EQ(rc, QS_OK);
  d = qs_wire_io_data(&io, &n);
  ASSERT_EQ(n, 3u);
  ASSERT(memcmp(d, "abc", 3) == 0);
  /* bytes in hand but none new: fill waits again */
  ASSERT_EQ(qs_wire_io_fill(&io, &err), QS_WAIT);
  qs_wire_io_consume(&io, 2);
  d = qs_wire_io_data(&io, &n);
  ASSERT_EQ(n, 1u);
  ASSERT_EQ(d[0], 'c');
  /* no TLS on an own socket: refused by name */
  ASSERT_EQ(qs_wire_io_starttls(&io, &err), QS_NOTSUPPORTED);
  ASSERT(strstr(err.message, "TLS") != NULL);
  qs_error_clear(&err);
  /* the peer closes: fill fails, the connection marked unusable */
  close(sfd);
  for (i = 0; (rc = qs_wire_io_fill(&io, &err)) == QS_WAIT && i < 10; i++)
    ASSERT_EQ(await(&io), 0);
  ASSERT_EQ(rc, QS_OPERATIONAL);
  ASSERT(err.invalidated);
  ASSERT(strstr(err.message, "closed the connection") != NULL);
  qs_error_clear(&err);
  ASSERT_EQ(qs_wire_io_flush(&io, &err), QS_OPERATIONAL);
  qs_error_clear(&err);
  qs_wire_io_close(&io);
  qs_wire_io_close(&io);   /* idempotent */
  close(lfd);
  return 0;
}

TEST_IMPL(wire_io_refused_and_unresolvable) {
  qs_wire_io io;
  qs_error err;
  char port[16];
  int lfd = listener(port), rc, i;
  memset(&err, 0, sizeof err);
  ASSERT(lfd >= 0);
  close(lfd);   /* nobody listens on port now */
  qs_wire_io_init(&io);
  rc = qs_wire_io_open(&io, "127.0.0.1", port, NULL, &err);
  for (i = 0; rc == QS_OK && (rc = qs_wire_io_connected(&io, &err)) == QS_WAIT && i < 10; i++)
    ASSERT_EQ(await(&io), 0);
  ASSERT_EQ(rc, QS_OPERATIONAL);
  ASSERT(strstr(err.message, "could not connect to 127.0.0.1:") != NULL);
  qs_error_clear(&err);
  qs_wire_io_close(&io);
  qs_wire_io_init(&io);
  ASSERT_EQ(qs_wire_io_open(&io, "no-such-host.invalid", "5432", NULL, &err), QS_OPERATIONAL);
  ASSERT(strstr(err.message, "no-such-host.invalid") != NULL);
  qs_error_clear(&err);
  qs_wire_io_close(&io);
  qs_wire_io_init(&io);
  ASSERT_EQ(qs_wire_io_open(&io, "/nonexistent-dir-qs", "5432", "pg", &err), QS_OPERATIONAL);
  ASSERT(strstr(err.message, "/nonexistent-dir-qs/.s.PGSQL.5432") != NULL);
  qs_error_clear(&err);
  qs_wire_io_close(&io);
  return 0;
}

TEST_IMPL(wire_io_external) {
  qs_wire_io io;
  qs_error err;
  const char *p;
  size_t n;
  int fd;
  memset(&err, 0, sizeof err);
  qs_wire_io_init(&io);
  qs_wire_io_external(&io, "cosocket");
  ASSERT_EQ(qs_wire_io_connected(&io, &err), QS_OK);
  /* queued bytes wait for the caller, who takes them in two parts */
  ASSERT_EQ(qs_buf_append(&io.out, "PING!", 5), QS_OK);
  ASSERT_EQ(qs_wire_io_flush(&io, &err), QS_WAIT);
  ASSERT_EQ(qs_wire_io_wait(&io, &fd), QS_WAIT_WRITE);
  ASSERT_EQ(fd, -1);
  ASSERT_EQ(qs_wire_io_pending(&io, &p), 5u);
  ASSERT(memcmp(p, "PING!", 5) == 0);
  qs_wire_io_sent(&io, 2);
  ASSERT_EQ(qs_wire_io_flush(&io, &err), QS_WAIT);
  ASSERT_EQ(qs_wire_io_pending(&io, &p), 3u);
  ASSERT(memcmp(p, "NG!", 3) == 0);
  qs_wire_io_sent(&io, 99);   /* more than pending: clamped */
  ASSERT_EQ(qs_wire_io_flush(&io, &err), QS_OK);
  ASSERT_EQ(qs_wire_io_pending(&io, &p), 0u);
  /* reading: wait until fed, then what was fed, byte by byte */
  ASSERT_EQ(qs_wire_io_fill(&io, &err), QS_WAIT);
  ASSERT_EQ(qs_wire_io_wait(&io, &fd), QS_WAIT_READ);
  ASSERT_EQ(qs_wire_io_feed(&io, "P", 1), QS_OK);
  ASSERT_EQ(qs_wire_io_fill(&io, &err), QS_OK);
  ASSERT_EQ(qs_wire_io_fill(&io, &err), QS_WAIT);
  ASSERT_EQ(qs_wire_io_feed(&io, "ONG", 3), QS_OK);
  ASSERT_EQ(qs_wire_io_fill(&io, &err), QS_OK);
  p = qs_wire_io_data(&io, &n);
  ASSERT_EQ(n, 4u);
  ASSERT(memcmp(p, "PONG", 4) == 0);
  qs_wire_io_consume(&io, 4);
  (void)qs_wire_io_data(&io, &n);
  ASSERT_EQ(n, 0u);
  /* a TLS upgrade is one wait */
  ASSERT_EQ(qs_wire_io_starttls(&io, &err), QS_WAIT);
  ASSERT_EQ(qs_wire_io_wait(&io, &fd), QS_WAIT_TLS);
  ASSERT_EQ(qs_wire_io_starttls(&io, &err), QS_OK);
  /* the peer closed (feed of nothing): fill fails */
  ASSERT_EQ(qs_wire_io_feed(&io, NULL, 0), QS_OK);
  ASSERT_EQ(qs_wire_io_fill(&io, &err), QS_OPERATIONAL);
  ASSERT(err.invalidated);
  qs_error_clear(&err);
  qs_wire_io_close(&io);
  return 0;
}

/* A long stream through a small window: consumed input is compacted, so the
** buffer stays bounded while everything arrives intact and in order. */
TEST_IMPL(wire_io_external_streaming) {
  qs_wire_io io;
  qs_error err;
  char chunk[1000];
  size_t n, total = 0;
  int i, k;
  memset(&err, 0, sizeof err);
  qs_wire_io_init(&io);
  qs_wire_io_external(&io, NULL);
  for (i = 0; i < 1000; i++) {
    const char *d;
    for (k = 0; k < 1000; k++) chunk[k] = (char)((i + k) & 0x7f);
    ASSERT_EQ(qs_wire_io_feed(&io, chunk, sizeof chunk), QS_OK);
    ASSERT_EQ(qs_wire_io_fill(&io, &err), QS_OK);
    d = qs_wire_io_data(&io, &n);
    ASSERT_EQ(n, 1000u);
    for (k = 0; k < 1000; k++) ASSERT_EQ(d[k], (char)((i + k) & 0x7f));
    qs_wire_io_consume(&io, n);
    total += n;
    ASSERT(io.in.cap <= 4 * 65536);
  }
  ASSERT_EQ(total, 1000000u);
  qs_wire_io_close(&io);
  return 0;
}
