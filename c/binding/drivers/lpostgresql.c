/*
** lpostgresql.c: the quicksilver.driver.postgresql module. It only hands the
** libpq driver table to the core through the registry (a require()d module
** cannot see another module's symbols), under the versioned key.
*/
#include <lauxlib.h>
#include <lua.h>
#include <postgresql/libpq-fe.h>

#include "quicksilver.h"

#define QS_REG_DRIVERS QS_DRIVER_REGISTRY

extern const qs_driver qs_libpq_driver;

int luaopen_quicksilver_driver_postgresql(lua_State *L);
int luaopen_quicksilver_driver_postgresql(lua_State *L) {
  lua_getfield(L, LUA_REGISTRYINDEX, QS_REG_DRIVERS);
  if (!lua_istable(L, -1)) {
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, QS_REG_DRIVERS);
  }
  lua_pushlightuserdata(L, (void *)&qs_libpq_driver);
  lua_setfield(L, -2, qs_libpq_driver.zName);
  lua_pop(L, 1);
  lua_newtable(L);
  lua_pushstring(L, qs_libpq_driver.zName);
  lua_setfield(L, -2, "name");
  lua_pushinteger(L, PQlibVersion());
  lua_setfield(L, -2, "libpq_version");
  return 1;
}
