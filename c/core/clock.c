/*
** clock.c: the monotonic clock timeouts and pool ages are measured on
** (wall-clock jumps must not expire or extend them).
*/
#include "quicksilver.h"

#include <time.h>

double qs_clock(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
