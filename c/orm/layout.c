/*
** layout.c: exports the ORM table layout the accelerators use (layout.h)
** to Lua as core.orm_fields, for spec/contract_spec.lua.
*/
#include "layout.h"

#include "lbinding.h"

void qsB_export_orm_fields(lua_State *L);

void qsB_export_orm_fields(lua_State *L) {
  lua_newtable(L);
#define QS_EXPORT_ORM_FIELD_(name, carriers, form, meaning) \
  lua_createtable(L, 0, 3);                                \
  lua_pushliteral(L, carriers);                            \
  lua_setfield(L, -2, "carriers");                         \
  lua_pushliteral(L, form);                                \
  lua_setfield(L, -2, "form");                             \
  lua_pushliteral(L, meaning);                             \
  lua_setfield(L, -2, "meaning");                          \
  lua_setfield(L, -2, #name);
  QS_ORM_FIELDS(QS_EXPORT_ORM_FIELD_)
#undef QS_EXPORT_ORM_FIELD_
  lua_setfield(L, -2, "orm_fields");
}
