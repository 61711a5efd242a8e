/*
** clock.h: the clock the core measures time on (internal; not installed).
** qs_clock() reads it and the pool's condition variable waits on it, so a
** checkout's deadline and the wait for it are on one clock, which wall-clock
** jumps do not move.
*/
#ifndef QS_CLOCK_H
#define QS_CLOCK_H

#include <time.h>

#define QS__CLOCK_ID CLOCK_MONOTONIC

#endif
