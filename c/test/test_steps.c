/*
** test_steps.c: the generic connection driving a driver's steps (conn.c's
** "Waiting"), against the scripted socketpair driver of fake_driver.h, so
** every path is exact and needs no server: the test plays the server.
*/

#include "test.h"
#include "fake_driver.h"

#include <time.h>
#include <unistd.h>

static qs_conn *open_connected(int nonblocking) {
  qs_conn *c;
  qs_error err = {0};
  if (qs_conn_start(&fake_driver, 0, NULL, NULL, &c, &err) != QS_OK) return NULL;
  if (!fake_peer_write("C")) return NULL;
  if (qs_conn_connect(c) != QS_OK) return NULL;
  qs_conn_set_nonblocking(c, nonblocking);
  return c;
}

TEST_IMPL(steps_connect) {
  qs_conn *c;
  qs_error err = {0};
  int fd;
  double t;
  ASSERT_EQ(qs_conn_start(&fake_driver, 0, NULL, NULL, &c, &err), QS_OK);
  qs_conn_set_nonblocking(c, 1);
  ASSERT_EQ(qs_conn_exec(c, "SELECT 1"), QS_MISUSE);   /* not connected yet */
  ASSERT_EQ(qs_conn_connect(c), QS_WAIT);
  ASSERT(qs_conn_busy(c));
  ASSERT_EQ(qs_conn_wait(c, &fd, &t), QS_WAIT_READ);
  ASSERT_EQ(fd, fake_fd());
  ASSERT(t < 0);
  ASSERT(fake_peer_write("C"));
  ASSERT_EQ(qs_conn_ready(c, QS_WAIT_READ), QS_OK);
  ASSERT_EQ(qs_conn_connect(c), QS_OK);
  ASSERT(!qs_conn_busy(c));
  ASSERT_EQ(qs_conn_connect(c), QS_OK);   /* connected: nothing more to do */
  qs_conn_free(c);
  return 0;
}

TEST_IMPL(steps_exec_nonblocking) {
  qs_conn *c = open_connected(1);
  ASSERT(c != NULL);
  ASSERT_EQ(qs_conn_exec(c, "UPDATE t"), QS_WAIT);
  ASSERT(qs_conn_busy(c));
  /* meanwhile nothing else may run on it (another coroutine) */
  ASSERT_EQ(qs_conn_commit(c), QS_MISUSE);
  ASSERT(strstr(qs_conn_error(c)->message, "not shared between concurrent coroutines") != NULL);
  ASSERT(fake_serve("UPDATE t", "OK\n"));
  ASSERT_EQ(qs_conn_ready(c, QS_WAIT_READ), QS_OK);
  ASSERT_EQ(qs_conn_exec(c, "UPDATE t"), QS_OK);
  ASSERT(!qs_conn_busy(c));
  ASSERT_EQ(qs_conn_exec(c, "bad"), QS_WAIT);
  ASSERT(fake_serve("bad", "ERR syntax error\n"));
  ASSERT_EQ(qs_conn_ready(c, QS_WAIT_READ), QS_OK);
  ASSERT_EQ(qs_conn_exec(c, "bad"), QS_PROGRAMMING);
  ASSERT_STR_EQ(qs_conn_error(c)->message, "syntax error");
  qs_conn_free(c);
  return 0;
}

/* A statement that waits for its deferred BEGIN keeps its place: the second
** call goes on with the same statement, then its step waits in turn. */
TEST_IMPL(steps_prepare_waits_for_begin) {
  qs_conn *c = open_connected(1);
  qs_stmt *s = NULL;
  int64_t hits, misses;
  int size;
  ASSERT(c != NULL);
  ASSERT_EQ(qs_conn_begin(c), QS_OK);   /* lazy: nothing sent */
  ASSERT_EQ(qs_conn_prepare(c, "INSERT x", 8, &s), QS_WAIT);
  ASSERT(s == NULL);
  ASSERT(fake_serve("BEGIN", "OK\n"));
  ASSERT_EQ(qs_conn_ready(c, QS_WAIT_READ), QS_OK);
  ASSERT_EQ(qs_conn_prepare(c, "INSERT x", 8, &s), QS_OK);
  ASSERT(s != NULL);
  ASSERT_EQ(qs_conn_txn_state(c), QS_TXN_SENT);
  qs_conn_cache_stats(c, &hits, &misses, &size);
  ASSERT_EQ(misses, 1);   /* prepared once, not once per call */
  ASSERT_EQ(qs_stmt_step(s), QS_WAIT);
  ASSERT(fake_serve("INSERT x", "OK\n"));
  ASSERT_EQ(qs_conn_ready(c, QS_WAIT_READ), QS_OK);
  ASSERT_EQ(qs_stmt_step(s), QS_DONE);
  qs_stmt_release(s);
  ASSERT_EQ(qs_conn_commit(c), QS_WAIT);
  ASSERT(fake_serve("COMMIT", "OK\n"));
  ASSERT_EQ(qs_conn_ready(c, QS_WAIT_READ), QS_OK);
  ASSERT_EQ(qs_conn_commit(c), QS_OK);
  ASSERT_EQ(qs_conn_txn_state(c), QS_TXN_NONE);
  qs_conn_free(c);
  return 0;
}

TEST_IMPL(steps_execmany_keeps_position) {
  qs_conn *c = open_connected(1);
  qs_stmt *s = NULL;
  int64_t changes = -1;
  int i;
  ASSERT(c != NULL);
  ASSERT_EQ(qs_conn_prepare(c, "INSERT y", 8, &s), QS_OK);
  for (i = 0; i < 3; i++) {
    ASSERT_EQ(qs_stmt_execmany(s, 3, 0, NULL, &changes), QS_WAIT);
    ASSERT(fake_serve("INSERT y", "OK\n"));
    ASSERT_EQ(qs_conn_ready(c, QS_WAIT_READ), QS_OK);
  }
  ASSERT_EQ(qs_stmt_execmany(s, 3, 0, NULL, &changes), QS_OK);
  ASSERT_EQ(changes, 3);   /* three sets, each sent once */
  qs_stmt_release(s);
  qs_conn_free(c);
  return 0;
}

/* Past the deadline the cancel goes out (detached, in non-blocking mode)
** and the failure that follows says it was the timeout. */
TEST_IMPL(steps_timeout_cancels) {
  qs_conn *c = open_connected(1);
  int fd;
  double t;
  ASSERT(c != NULL);
  ASSERT_EQ(qs_conn_set_timeout(c, 30), QS_OK);
  ASSERT_EQ(qs_conn_exec(c, "SELECT pg_sleep(10)"), QS_WAIT);
  ASSERT_EQ(qs_conn_wait(c, &fd, &t), QS_WAIT_READ);
  ASSERT(t >= 0 && t <= 0.031);
  { struct timespec ts = {0, 40000000L}; nanosleep(&ts, NULL); }
  ASSERT_EQ(qs_conn_ready(c, QS_WAIT_TIMEOUT), QS_OK);
  ASSERT_EQ(fake_cancels(0), 1);
  ASSERT_EQ(fake_cancels(1), 1);
  ASSERT_EQ(qs_conn_wait(c, &fd, &t), QS_WAIT_READ);
  ASSERT(t > 4.0);   /* the grace period */
  ASSERT_EQ(qs_conn_ready(c, QS_WAIT_READ), QS_OK);
  ASSERT_EQ(qs_conn_exec(c, "SELECT pg_sleep(10)"), QS_OPERATIONAL);
  ASSERT(strstr(qs_conn_error(c)->message, "statement timeout (30 ms) exceeded: canceling") ==
         qs_conn_error(c)->message);
  ASSERT(qs_conn_is_open(c));   /* still usable */
  ASSERT(!qs_conn_busy(c));
  qs_conn_free(c);
  return 0;
}

/* The same in blocking mode: conn.c's poll loop keeps the deadline. */
TEST_IMPL(steps_timeout_blocking) {
  qs_conn *c = open_connected(0);
  double t0 = qs_clock();
  ASSERT(c != NULL);
  ASSERT_EQ(qs_conn_set_timeout(c, 30), QS_OK);
  ASSERT_EQ(qs_conn_exec(c, "SELECT pg_sleep(10)"), QS_OPERATIONAL);
  ASSERT(qs_clock() - t0 < 2.0);
  ASSERT_EQ(fake_cancels(0), 1);
  ASSERT_EQ(fake_cancels(1), 0);
  ASSERT(strstr(qs_conn_error(c)->message, "statement timeout (30 ms) exceeded") != NULL);
  qs_conn_free(c);
  return 0;
}

/* A statement released while its step waits (its coroutine was abandoned)
** takes the connection with it: the driver held it mid-operation. */
TEST_IMPL(steps_release_mid_operation_closes) {
  qs_conn *c = open_connected(1);
  qs_stmt *s = NULL;
  ASSERT(c != NULL);
  ASSERT_EQ(qs_conn_prepare(c, "SELECT z", 8, &s), QS_OK);
  ASSERT_EQ(qs_stmt_step(s), QS_WAIT);
  qs_stmt_release(s);
  ASSERT(!qs_conn_is_open(c));
  ASSERT(!qs_conn_busy(c));
  qs_conn_free(c);
  return 0;
}

/* A busy connection's statements cannot be ended and kept: the pool's
** checkin closes it instead. */
TEST_IMPL(steps_end_statements_busy_closes) {
  qs_conn *c = open_connected(1);
  ASSERT(c != NULL);
  ASSERT_EQ(qs_conn_exec(c, "SELECT 1"), QS_WAIT);
  qs_conn_end_statements(c);
  ASSERT(!qs_conn_is_open(c));
  qs_conn_free(c);
  return 0;
}
