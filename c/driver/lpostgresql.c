/*
** lpostgresql.c: the quicksilver.driver.postgresql module. It only hands the
** libpq driver table to the core through the registry (a require()d module
** cannot see another module's symbols), under the versioned key.
*/
#include <lauxlib.h>
#include <lua.h>
#include <postgresql/libpq-fe.h>

#include "lregister.h"

int luaopen_quicksilver_driver_postgresql(lua_State *L);
int luaopen_quicksilver_driver_postgresql(lua_State *L) {
  qsB_register_driver(L, &qs_libpq_driver);
  lua_pushinteger(L, PQlibVersion());
  lua_setfield(L, -2, "libpq_version");
  return 1;
}
