/* lcore.c: the quicksilver.core module entry point (placeholder until the core lands). */
#include <lua.h>
#include <lauxlib.h>
int luaopen_quicksilver_core(lua_State *L);
int luaopen_quicksilver_core(lua_State *L) {
  lua_newtable(L);
  lua_pushliteral(L, "0.1.0");
  lua_setfield(L, -2, "version");
  return 1;
}
