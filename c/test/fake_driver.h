/*
** fake_driver.h: a scripted driver over a socketpair for the tests of the
** waiting machinery (c/test/test_steps.c, c/test/binding/test_waiting.c):
** it sends each statement as a line and waits for a reply line ("OK" or
** "ERR message"); its connect waits for one byte ("C"); its cancel is the
** server answering "ERR canceling statement ...". The test plays the server
** by writing to the other end (fake_serve, fake_peer_write).
*/
#ifndef QS_FAKE_DRIVER_H
#define QS_FAKE_DRIVER_H

#include "quicksilver.h"

extern const qs_driver fake_driver;

/* What the last connection opened counts (cancels, detached ones), or -1. */
int fake_cancels(int detached);
/* Its socket, for the tests that look at what qs_conn_wait names. */
int fake_fd(void);
/* The server's side of the last connection opened: the next request must
** start with expect (NULL: anything); reply is written back. 1 on success. */
int fake_serve(const char *expect, const char *reply);
/* Writes bytes to the last connection as its server (the connect's "C"). */
int fake_peer_write(const char *bytes);

#endif
