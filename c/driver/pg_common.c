/*
** pg_common.c: the PostgreSQL drivers' kept notices and untyped-parameter
** retry (pg_common.h).
*/
#include "pg_common.h"
#include "pg_text.h"

#include <stdlib.h>
#include <string.h>

#define SQLSTATE_INDETERMINATE_DATATYPE "42P18"

void qs__pg_notices_add(qs_pg_notices *k, char *text) {
  if (k->n == QS_PG_MAX_NOTICES) {   /* keep the latest ones */
    free(k->text[0]);
    memmove(k->text, k->text + 1, sizeof k->text[0] * (QS_PG_MAX_NOTICES - 1));
    k->n--;
  }
  k->text[k->n++] = text;
}

const char *qs__pg_notices_get(const qs_pg_notices *k, int i) {
  return i >= 0 && i < k->n ? k->text[i] : NULL;
}

void qs__pg_notices_clear(qs_pg_notices *k) {
  int i;
  for (i = 0; i < k->n; i++) free(k->text[i]);
  k->n = 0;
}

/* A parameter with nothing around it to type it (SELECT $1, an untyped
** string) is made text, and the statement prepared again, until all are
** typed. (Parameters of a known type carry a cast: c/compiler/compile.c.) */
int qs__pg_type_untyped(const char *sqlstate, const char *message, uint32_t **given, int *ngiven) {
  const char *dollar = message ? strrchr(message, '$') : NULL;
  int k = dollar ? atoi(dollar + 1) : 0;
  if (sqlstate == NULL || strcmp(sqlstate, SQLSTATE_INDETERMINATE_DATATYPE) != 0) return 0;
  if (k < 1 || k > QS_PG_MAX_UNTYPED_PARAMS) return 0;
  if (*given == NULL) {
    *given = calloc(QS_PG_MAX_UNTYPED_PARAMS, sizeof **given);
    if (*given == NULL) return 0;
  } else if ((*given)[k - 1] == QS_PG_OID_TEXT) {
    return 0;
  }
  (*given)[k - 1] = QS_PG_OID_TEXT;
  if (k > *ngiven) *ngiven = k;
  return 1;
}

int qs__pg_refuse_nul(const qs_value *vals, int n, int set, qs_error *err) {
  int i;
  for (i = 0; i < n; i++) {
    const char *nul;
    if (vals[i].type != QS_TTEXT || vals[i].u.s.n == 0) continue;
    nul = memchr(vals[i].u.s.p, '\0', vals[i].u.s.n);
    if (nul == NULL) continue;
    if (set > 0)
      return qs_error_set(err, QS_DATA, "PostgreSQL text cannot contain NUL (0x00) bytes: "
                          "parameter $%d of parameter set %d has one at byte %zu (binary data "
                          "goes in a LargeBinary/bytea column)", i + 1, set,
                          (size_t)(nul - vals[i].u.s.p) + 1);
    return qs_error_set(err, QS_DATA, "PostgreSQL text cannot contain NUL (0x00) bytes: "
                        "parameter $%d has one at byte %zu (binary data goes in a "
                        "LargeBinary/bytea column)", i + 1, (size_t)(nul - vals[i].u.s.p) + 1);
  }
  return QS_OK;
}

int qs__pg_error_disconnects(const char *sqlstate, int wants_writable) {
  if (sqlstate == NULL || strlen(sqlstate) != 5) return 0;
  if (strcmp(sqlstate, "57P01") == 0 || strcmp(sqlstate, "57P02") == 0 ||
      strcmp(sqlstate, "57P03") == 0 || (sqlstate[0] == '0' && sqlstate[1] == '8'))
    return 1;
  return wants_writable && strcmp(sqlstate, "25006") == 0;
}
