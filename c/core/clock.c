/*
** clock.c: the monotonic clock timeouts and pool ages are measured on
** (wall-clock jumps must not expire or extend them). pool.c's condition
** variable waits on the same clock (clock.h).
*/
#include "quicksilver.h"
#include "clock.h"

double qs_clock(void) {
  struct timespec ts;
  clock_gettime(QS__CLOCK_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
