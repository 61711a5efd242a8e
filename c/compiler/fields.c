/*
** fields.c: exports the compiler's field contract (fields.h) to Lua as
** core.node_fields, so specs check the Lua node constructors against the
** same list the compiler is checked against.
*/
#include "fields.h"

#include "compile.h"
#include "lcontract.h"

static const qsB_contract_field node_fields[] = {QS_NODE_FIELDS(QSB_CONTRACT_ENTRY)};

void qsC_export_fields(lua_State *L) {
  qsB_export_contract(L, "node_fields", node_fields, sizeof node_fields / sizeof node_fields[0]);
}
