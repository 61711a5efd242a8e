/*
** mysql.c: the MySQL dialect and its MariaDB variant. Backtick quoting, ON
** DUPLICATE KEY UPDATE, inline COMMENT clauses, an index made for every
** foreign key, DDL that commits the transaction. MySQL has no RETURNING;
** MariaDB has it on INSERT (also multi-row) and DELETE (10.5), not on
** UPDATE, and no WITH before DML. 65,535 placeholders per statement.
*/
#include "dialects.h"

#define MYSQL_COMMON_CAPS                                                             \
  (QS_CAP(FOR_UPDATE) | QS_CAP(NATIVE_BOOLEAN) | QS_CAP(ALTER_TABLE) |                \
   QS_CAP(INLINE_COMMENTS) | QS_CAP(FK_IMPLICIT_INDEX))

const qs_dialect qs__dialect_mysql = {
  "mysql", QS_PARAM_QMARK, '`', '`',
  MYSQL_COMMON_CAPS | QS_CAP(DML_CTE),
  QS_UPSERT_ON_DUPLICATE_KEY,
  65535,
  1000,
  NULL,
};

const qs_dialect qs__dialect_mariadb = {
  "mariadb", QS_PARAM_QMARK, '`', '`',
  MYSQL_COMMON_CAPS | QS_CAP(INSERT_RETURNING) | QS_CAP(DELETE_RETURNING) |
    QS_CAP(INSERT_MANY_RETURNING),
  QS_UPSERT_ON_DUPLICATE_KEY,
  65535,
  1000,
  NULL,
};
