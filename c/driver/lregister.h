/*
** lregister.h: what a server driver module does when it loads: hand its
** qs_driver table to the core through the registry, under the key of the
** table layout it was built with.
*/
#ifndef QS_LREGISTER_H
#define QS_LREGISTER_H

#include <lauxlib.h>
#include <lua.h>

#include "quicksilver.h"

/* mariadb.c: waits up to seconds for its detached cancels to end (the mysql
** module's library_end calls it before mysql_library_end). */
void qs__mariadb_cancels_wait(double seconds);

static inline void qsB_register_driver(lua_State *L, const qs_driver *drv) {
  lua_getfield(L, LUA_REGISTRYINDEX, QS_DRIVER_REGISTRY);
  if (!lua_istable(L, -1)) {
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, QS_DRIVER_REGISTRY);
  }
  lua_pushlightuserdata(L, (void *)drv);
  lua_setfield(L, -2, drv->zName);
  lua_pop(L, 1);
  lua_newtable(L);   /* the module's table: its name and versions */
  lua_pushstring(L, drv->zName);
  lua_setfield(L, -2, "name");
}

#endif
