/*
** lcontract.h: a contract list exported to Lua (internal). The compiler's
** node fields (c/compiler/fields.h) and the ORM layout (c/orm/layout.h) are
** X-macro lists of {name, carriers, form, meaning}; each becomes a table of
** core (core.node_fields, core.orm_fields) through qsB_export_contract.
*/
#ifndef QS_LCONTRACT_H
#define QS_LCONTRACT_H

#include "lbinding.h"

typedef struct qsB_contract_field {
  const char *name;      /* the field */
  const char *carriers;  /* where it sits, space-separated */
  const char *form;      /* what it holds */
  const char *meaning;   /* what it is */
} qsB_contract_field;

/* An X-macro entry of a contract list as a qsB_contract_field initializer. */
#define QSB_CONTRACT_ENTRY(name, carriers, form, meaning) {#name, carriers, form, meaning},

/* Sets t[field] = {[name] = {carriers = ..., form = ..., meaning = ...}, ...}
** on the table t at the top of the stack. */
void qsB_export_contract(lua_State *L, const char *field, const qsB_contract_field *list, size_t n);

#endif
