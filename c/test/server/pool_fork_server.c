/*
** pool_fork_server.c: fault spec 7 against a real PostgreSQL server. A pool
** opened in the parent (with an idle connection in it) is used by 4 forked
** children and by the parent afterwards: each child must open its own
** connection (the inherited one is neither used nor closed: no protocol
** message on the parent's socket) and the parent's connection must still
** work. Usage: pool_fork_server HOST PORT USER DBNAME; prints
** "N passed, N failed".
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "quicksilver.h"
#include "../test.h"

static int backend_pid(qs_conn *c) {
  qs_stmt *s;
  qs_value v;
  int pid = -1;
  if (qs_conn_prepare(c, "SELECT pg_backend_pid()", 23, &s) != QS_OK) return -1;
  if (qs_stmt_step(s) == QS_ROW) {
    qs_stmt_column(s, 0, &v);
    if (v.type == QS_TINT) pid = (int)v.u.i;
  }
  qs_stmt_release(s);
  return pid;
}

int main(int argc, char **argv) {
  const char *keys[] = {"host", "port", "user", "database"};
  qs_pool_conf conf;
  qs_error err;
  qs_pool *p;
  qs_pool_rec *r;
  test_tally tally = {0, 0};
  int fresh, i, status, parent_pid;
  pid_t kids[4];
  if (argc != 5) {
    fprintf(stderr, "usage: %s HOST PORT USER DBNAME\n", argv[0]);
    return 2;
  }
  memset(&err, 0, sizeof err);
  qs_pool_conf_defaults(&conf);
  conf.size = 2;
  conf.overflow = 0;
  conf.timeout = 5;
  p = qs_pool_new(&qs_libpq_driver, 4, keys, (const char *const *)argv + 1, &conf, &err);
  if (p == NULL || qs_pool_checkout(p, -1, &r, &fresh, &err) != QS_OK) {
    fprintf(stderr, "cannot open the pool: %s\n", err.message ? err.message : "?");
    tally.failed++;
    return test_summary(&tally);
  }
  parent_pid = backend_pid(qs_pool_rec_conn(r));
  qs_pool_checkin(p, r);   /* idle in the parent when the children fork */
  fflush(stdout);
  for (i = 0; i < 4; i++) {
    kids[i] = fork();
    if (kids[i] == 0) {
      qs_pool_rec *c;
      int ok = qs_pool_checkout(p, -1, &c, &fresh, &err) == QS_OK && fresh;
      int pid = ok ? backend_pid(qs_pool_rec_conn(c)) : -1;
      ok = ok && pid > 0 && pid != parent_pid;   /* its own session */
      if (ok) qs_pool_checkin(p, c);
      qs_error_clear(&err);
      qs_pool_release(p);
      _exit(ok ? 0 : 1);
    }
  }
  for (i = 0; i < 4; i++) {
    char name[48];
    snprintf(name, sizeof name, "pool_fork_server child %d", i + 1);
    TEST_CHECK(&tally, name, kids[i] > 0 && waitpid(kids[i], &status, 0) == kids[i] &&
                                 WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  /* the parent's connection: same session, no protocol error */
  {
    int ok = qs_pool_checkout(p, -1, &r, &fresh, &err) == QS_OK;
    TEST_CHECK(&tally, "pool_fork_server parent keeps its connection",
               ok && !fresh && backend_pid(qs_pool_rec_conn(r)) == parent_pid);
    if (ok) qs_pool_checkin(p, r);
  }
  qs_error_clear(&err);
  qs_pool_release(p);
  return test_summary(&tally);
}
