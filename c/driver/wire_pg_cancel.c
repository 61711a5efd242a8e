/*
** wire_pg_cancel.c: the PostgreSQL wire driver's CancelRequest over a
** connection of its own (wire_pg_cancel.h).
*/
#include "wire_pg_cancel.h"
#include "detached.h"
#include "pgwire.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

/* The cancel connection's own limit on connecting and on the server's close. */
#define CANCEL_TIMEOUT_S 5

typedef struct cancel_req {
  char host[256], port[16];
  int32_t pid, key;
} cancel_req;

/* A plain connection to the request's server with send and receive limits:
** the socket, or -1 with why said. */
static int dial(const cancel_req *r, char *why, size_t whylen) {
  struct timeval tv;
  int fd = -1, ok = -1;
  tv.tv_sec = CANCEL_TIMEOUT_S;
  tv.tv_usec = 0;
  if (r->host[0] == '/') {
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    snprintf(sa.sun_path, sizeof sa.sun_path, "%.80s/.s.PGSQL.%.8s", r->host, r->port);
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd >= 0) {
      (void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
      (void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) ok = 0;
    }
  } else {
    struct addrinfo hints, *res = NULL, *ai;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(r->host, r->port, &hints, &res) != 0) {
      snprintf(why, whylen, "could not resolve host \"%.100s\"", r->host);
      return -1;
    }
    for (ai = res; ai != NULL && ok != 0; ai = ai->ai_next) {
      if (fd >= 0) close(fd);
      fd = socket(ai->ai_family, SOCK_STREAM, 0);
      if (fd < 0) continue;
      (void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
      (void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) ok = 0;
    }
    freeaddrinfo(res);
  }
  if (ok != 0) {
    snprintf(why, whylen, "could not connect for the cancel: %s", strerror(errno));
    if (fd >= 0) close(fd);
    return -1;
  }
  return fd;
}

/* Connects, sends the CancelRequest, waits for the server to close. 0, or
** -1 with the failure said in why. */
static int send_cancel(const cancel_req *r, char *why, size_t whylen) {
  qs_buf pkt;
  qs_error err;
  int fd, rc = 0;
  qs_buf_init(&pkt);
  memset(&err, 0, sizeof err);
  if (qs_pg_cancel_request(&pkt, r->pid, r->key, &err) != QS_OK) {
    snprintf(why, whylen, "could not send the cancel request: %s",
             err.message ? err.message : "out of memory");
    qs_error_clear(&err);
    qs_buf_free(&pkt);
    return -1;
  }
  fd = dial(r, why, whylen);
  if (fd < 0) {
    qs_buf_free(&pkt);
    return -1;
  }
  if (send(fd, pkt.p, pkt.len, MSG_NOSIGNAL) != (ssize_t)pkt.len) {
    snprintf(why, whylen, "could not send the cancel request: %s", strerror(errno));
    rc = -1;
  } else {
    char b[64];   /* the server closes once it has read the request */
    while (recv(fd, b, sizeof b, 0) > 0) {
    }
  }
  close(fd);
  qs_buf_free(&pkt);
  return rc;
}

/* A detached cancel: nobody is left to tell of a failure. */
static void cancel_job(void *arg) {
  cancel_req *r = arg;
  char why[160];
  (void)send_cancel(r, why, sizeof why);
  free(r);
}

int qs__pg_wire_cancel(const char *host, const char *port, int32_t pid, int32_t key, int detached,
                       qs_error *err) {
  cancel_req *r = calloc(1, sizeof *r);
  char why[160];
  int rc;
  if (r == NULL)
    return qs_error_set(err, QS_NOMEM, "could not send the cancel request: out of memory");
  snprintf(r->host, sizeof r->host, "%s", host);
  snprintf(r->port, sizeof r->port, "%s", port);
  r->pid = pid;
  r->key = key;
  if (detached) {
    rc = qs__detached_start(cancel_job, r);
    if (rc == 0) return QS_OK;   /* r is the thread's now */
    free(r);
    if (rc == ENOMEM)
      return qs_error_set(err, QS_NOMEM, "could not send the cancel request: out of memory");
    return qs_error_set(err, QS_OPERATIONAL, "could not send the cancel request: no thread (%s)",
                        strerror(rc));
  }
  rc = send_cancel(r, why, sizeof why);
  free(r);
  if (rc != 0) return qs_error_set(err, QS_OPERATIONAL, "%s", why);
  return QS_OK;
}
