/*
** fields.c: exports the compiler's field contract (fields.h) to Lua as
** core.node_fields, so specs check the Lua node constructors against the
** same list the compiler is checked against.
*/
#include "fields.h"

#include "compile.h"

void qsC_export_fields(lua_State *L) {
  lua_newtable(L);
#define QS_EXPORT_FIELD_(name, carriers, form, meaning) \
  lua_createtable(L, 0, 3);                            \
  lua_pushliteral(L, carriers);                        \
  lua_setfield(L, -2, "carriers");                     \
  lua_pushliteral(L, form);                            \
  lua_setfield(L, -2, "form");                         \
  lua_pushliteral(L, meaning);                         \
  lua_setfield(L, -2, "meaning");                      \
  lua_setfield(L, -2, #name);
  QS_NODE_FIELDS(QS_EXPORT_FIELD_)
#undef QS_EXPORT_FIELD_
  lua_setfield(L, -2, "node_fields");
}
