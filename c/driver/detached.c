/*
** detached.c: detached threads counted per module (detached.h). A job is
** started through a small trampoline that drops the count once the job's
** function has returned, so no driver repeats the counting.
*/
#include "detached.h"
#include "quicksilver.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

static pthread_mutex_t running_mu = PTHREAD_MUTEX_INITIALIZER;
static int running;

static void running_add(int n) {
  pthread_mutex_lock(&running_mu);
  running += n;
  pthread_mutex_unlock(&running_mu);
}

typedef struct trampoline {
  void (*run)(void *);
  void *arg;
} trampoline;

static void *thread_main(void *p) {
  trampoline t = *(trampoline *)p;
  free(p);
  t.run(t.arg);
  running_add(-1);   /* last: the module may be unloaded once this is 0 */
  return NULL;
}

int qs__detached_start(void (*run)(void *arg), void *arg) {
  pthread_attr_t attr;
  pthread_t th;
  trampoline *t = malloc(sizeof *t);
  int rc;
  if (t == NULL) return ENOMEM;
  t->run = run;
  t->arg = arg;
  rc = pthread_attr_init(&attr);
  if (rc == 0) {
    rc = pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (rc == 0) {
      running_add(1);   /* before it starts: a wait never misses it */
      rc = pthread_create(&th, &attr, thread_main, t);
      if (rc != 0) running_add(-1);
    }
    pthread_attr_destroy(&attr);
  }
  if (rc != 0) free(t);
  return rc;
}

void qs__detached_wait(double seconds) {
  double until = qs_clock() + seconds;
  for (;;) {
    int n;
    struct timespec ts = {0, 10000000L};   /* 10 ms */
    pthread_mutex_lock(&running_mu);
    n = running;
    pthread_mutex_unlock(&running_mu);
    if (n == 0 || qs_clock() >= until) return;
    nanosleep(&ts, NULL);
  }
}
