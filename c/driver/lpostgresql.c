/*
** lpostgresql.c: the quicksilver.driver.postgresql module. It hands the
** libpq driver table to the core through the registry (a require()d module
** cannot see another module's symbols), under the versioned key; its unload
** waits for the detached cancels still running this module's code.
*/
#include <lauxlib.h>
#include <lua.h>
#include <postgresql/libpq-fe.h>

#include "lregister.h"

static int module_unload(lua_State *L) {
  (void)L;
  qs__detached_wait(2.0);   /* a detached cancel may still be connecting */
  return 0;
}

int luaopen_quicksilver_driver_postgresql(lua_State *L);
int luaopen_quicksilver_driver_postgresql(lua_State *L) {
  (void)qsB_on_unload(L, "quicksilver.driver.postgresql.unload", module_unload);
  qsB_register_driver(L, &qs_libpq_driver);
  lua_pushinteger(L, PQlibVersion());
  lua_setfield(L, -2, "libpq_version");
  return 1;
}
