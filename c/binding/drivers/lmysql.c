/*
** lmysql.c: the quicksilver.driver.mysql module. It hands the libmariadb
** driver table to the core through the registry, under the versioned key
** (the same driver serves mysql:// and mariadb:// URLs).
*/
#include <lauxlib.h>
#include <lua.h>
#include <mysql.h>

#include "quicksilver.h"

#define QS_REG_DRIVERS "quicksilver.drivers.v1"

extern const qs_driver qs_mariadb_driver;

int luaopen_quicksilver_driver_mysql(lua_State *L);
int luaopen_quicksilver_driver_mysql(lua_State *L) {
  lua_getfield(L, LUA_REGISTRYINDEX, QS_REG_DRIVERS);
  if (!lua_istable(L, -1)) {
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, QS_REG_DRIVERS);
  }
  lua_pushlightuserdata(L, (void *)&qs_mariadb_driver);
  lua_setfield(L, -2, qs_mariadb_driver.zName);
  lua_pop(L, 1);
  lua_newtable(L);
  lua_pushstring(L, qs_mariadb_driver.zName);
  lua_setfield(L, -2, "name");
  lua_pushstring(L, mysql_get_client_info());
  lua_setfield(L, -2, "client_version");
  return 1;
}
