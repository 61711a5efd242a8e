/*
** postgresql.c: the PostgreSQL dialect. Numbered placeholders ($1), RETURNING
** on every statement kind, DISTINCT ON, FOR UPDATE with its variants,
** transactional DDL, COMMENT ON, partial indexes. 65,535 bind parameters per
** statement (the protocol's 16-bit count).
*/
#include "dialects.h"

const qs_dialect qs__dialect_postgresql = {
  "postgresql", QS_PARAM_DOLLAR, '"', '"',
  QS_CAP(INSERT_RETURNING) | QS_CAP(UPDATE_RETURNING) | QS_CAP(DELETE_RETURNING) |
    QS_CAP(INSERT_MANY_RETURNING) | QS_CAP(FULL_JOIN) | QS_CAP(DML_CTE) | QS_CAP(DISTINCT_ON) |
    QS_CAP(FOR_UPDATE) | QS_CAP(NATIVE_BOOLEAN) | QS_CAP(TRANSACTIONAL_DDL) |
    QS_CAP(ALTER_TABLE) | QS_CAP(COMMENT_ON) | QS_CAP(PARTIAL_INDEX),
  QS_UPSERT_ON_CONFLICT,
  65535,
  1000,
  "postgresql_where",
};
