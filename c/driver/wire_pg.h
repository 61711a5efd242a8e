/*
** wire_pg.h: what the core module's entry needs of the PostgreSQL wire
** driver (c/driver/wire_pg.c) besides its table (quicksilver.h): its
** detached cancels run code of the core module, so the module's unload
** waits for them first.
*/
#ifndef QS_WIRE_PG_H
#define QS_WIRE_PG_H

/* Waits up to seconds for the detached cancels still running. */
void qs__wire_pg_cancels_wait(double seconds);

#endif
