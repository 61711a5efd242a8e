/*
** detached.h: detached threads a module counts, so that its unload can wait
** for them (a detached cancel runs the module's code: the module must not
** be unmapped under it). Compiled into every module whose drivers start
** one (the core, quicksilver.driver.mysql, quicksilver.driver.postgresql):
** the counter is a static of this file, so each module has its own.
*/
#ifndef QS_DETACHED_H
#define QS_DETACHED_H

/* Runs run(arg) on a detached thread, counted until run returns. 0 when it
** started (run then owns arg), else an errno value (the caller keeps arg). */
int qs__detached_start(void (*run)(void *arg), void *arg);

/* Waits up to seconds for the counted threads still running (the module's
** unload calls it). */
void qs__detached_wait(double seconds);

#endif
