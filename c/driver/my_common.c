/*
** my_common.c: what the MySQL drivers share (my_common.h): the statement
** time limit's SQL and the detached KILL QUERY job.
*/
#include "my_common.h"
#include "detached.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What a detached cancel owns: copies, as the connection may be gone
** before it runs. */
typedef struct kill_job {
  qs_opts opts;
  unsigned long id;
  qs_my_kill_fn kill;
} kill_job;

static void free_job(kill_job *job) {
  qs__opts_free(&job->opts);
  free(job);
}

static void run_job(void *arg) {
  kill_job *job = arg;
  qs_error err;
  memset(&err, 0, sizeof err);
  job->kill(&job->opts, job->id, &err);   /* nobody is left to tell of a failure */
  qs_error_clear(&err);
  free_job(job);
}

int qs__my_kill_detached(const qs_opts *o, unsigned long id, qs_my_kill_fn kill, const char *who,
                         qs_error *err) {
  kill_job *job = calloc(1, sizeof *job);
  if (job == NULL) return qs_error_set(err, QS_NOMEM, "out of memory");
  job->id = id;
  job->kill = kill;
  if (!qs__opts_copy(&job->opts, o->n, (const char *const *)o->keys,
                     (const char *const *)o->vals)) {
    free_job(job);
    return qs_error_set(err, QS_NOMEM, "out of memory");
  }
  if (qs__detached_start(run_job, job) != 0) {
    free_job(job);
    return qs_error_set(err, QS_OPERATIONAL, "%s: cannot start the thread that sends a cancel",
                        who);
  }
  return QS_OK;
}

void qs__my_timeout_sql(int mariadb, int ms, char *buf, size_t cap) {
  if (mariadb)
    snprintf(buf, cap, "SET SESSION max_statement_time = %d.%03d", ms / 1000, ms % 1000);
  else
    snprintf(buf, cap, "SET SESSION max_execution_time = %d", ms);
}
