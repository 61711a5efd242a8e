/*
** sqlite.c: the SQLite dialect. RETURNING since 3.35, FULL JOIN since 3.39,
** partial indexes; no FOR UPDATE (the whole file is locked), no ALTER COLUMN
** or constraint changes (migrations rebuild the table), no comments. Booleans
** are 1 and 0. Bind parameters per statement: SQLITE_MAX_VARIABLE_NUMBER's
** default since 3.32.
*/
#include "dialects.h"

const qs_dialect qs__dialect_sqlite = {
  "sqlite", QS_PARAM_QMARK, '"', '"',
  QS_CAP(INSERT_RETURNING) | QS_CAP(UPDATE_RETURNING) | QS_CAP(DELETE_RETURNING) |
    QS_CAP(INSERT_MANY_RETURNING) | QS_CAP(FULL_JOIN) | QS_CAP(DML_CTE) |
    QS_CAP(TRANSACTIONAL_DDL) | QS_CAP(PARTIAL_INDEX),
  QS_UPSERT_ON_CONFLICT,
  32766,
  0,
  "sqlite_where",
};
