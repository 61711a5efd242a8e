/*
** layout.c: exports the ORM table layout the accelerators use (layout.h)
** to Lua as core.orm_fields, for spec/contract_spec.lua.
*/
#include "layout.h"

#include "lcontract.h"

void qsB_export_orm_fields(lua_State *L);

static const qsB_contract_field orm_fields[] = {QS_ORM_FIELDS(QSB_CONTRACT_ENTRY)};

void qsB_export_orm_fields(lua_State *L) {
  qsB_export_contract(L, "orm_fields", orm_fields, sizeof orm_fields / sizeof orm_fields[0]);
}
