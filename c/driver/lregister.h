/*
** lregister.h: what a module holding drivers does when it loads: hand its
** qs_driver table to the core through the registry, under the key of the
** table layout it was built with, and arrange for its unload.
*/
#ifndef QS_LREGISTER_H
#define QS_LREGISTER_H

#include <lauxlib.h>
#include <lua.h>

#include "quicksilver.h"

/* detached.c (compiled into each driver module): waits up to seconds for
** the module's detached cancels to end; the module's unload calls it. (A
** module entry includes no driver header: the declaration stands here.) */
void qs__detached_wait(double seconds);

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

/* Makes sure fn runs when the Lua state closes, after every connection made
** from now on is gone: a sentinel userdata under the registry's key, made
** before them and so finalized after them all (its __gc is fn). 1 when it
** was made now, 0 when the state had it already. */
static inline int qsB_on_unload(lua_State *L, const char *key, lua_CFunction fn) {
  int made = 0;
  lua_getfield(L, LUA_REGISTRYINDEX, key);
  if (lua_isnil(L, -1)) {
    lua_newuserdata(L, 1);
    lua_newtable(L);
    lua_pushcfunction(L, fn);
    lua_setfield(L, -2, "__gc");
    lua_setmetatable(L, -2);
    lua_setfield(L, LUA_REGISTRYINDEX, key);
    made = 1;
  }
  lua_pop(L, 1);
  return made;
}

#endif
