/*
** dialects.h: the dialect objects, one per file of c/dialect/ (internal).
*/
#ifndef QS_DIALECTS_H
#define QS_DIALECTS_H

#include "quicksilver.h"

extern const qs_dialect qs__dialect_sqlite;      /* sqlite.c */
extern const qs_dialect qs__dialect_postgresql;  /* postgresql.c */
extern const qs_dialect qs__dialect_mysql;       /* mysql.c */
extern const qs_dialect qs__dialect_mariadb;     /* mysql.c: MySQL's variant */

#endif
