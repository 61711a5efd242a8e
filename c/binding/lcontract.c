/*
** lcontract.c: exports a contract list to Lua (lcontract.h).
*/
#include "lcontract.h"

void qsB_export_contract(lua_State *L, const char *field, const qsB_contract_field *list, size_t n) {
  size_t i;
  lua_createtable(L, 0, (int)n);
  for (i = 0; i < n; i++) {
    lua_createtable(L, 0, 3);
    lua_pushstring(L, list[i].carriers);
    lua_setfield(L, -2, "carriers");
    lua_pushstring(L, list[i].form);
    lua_setfield(L, -2, "form");
    lua_pushstring(L, list[i].meaning);
    lua_setfield(L, -2, "meaning");
    lua_setfield(L, -2, list[i].name);
  }
  lua_setfield(L, -2, field);
}
