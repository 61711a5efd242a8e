/*
** lmysql.c: the quicksilver.driver.mysql module. It hands the libmariadb
** driver table to the core through the registry, under the versioned key
** (the same driver serves mysql:// and mariadb:// URLs).
*/
#include <lauxlib.h>
#include <lua.h>
#include <mysql.h>

#include "lregister.h"

/* The client library's one-time state is released when the Lua state that
** loaded the module closes: a sentinel userdata in the registry, created
** before any connection, is finalized after them all. */
static int library_end(lua_State *L) {
  (void)L;
  qs__detached_wait(2.0);   /* a detached cancel may still be connecting */
  mysql_library_end();
  return 0;
}

int luaopen_quicksilver_driver_mysql(lua_State *L);
int luaopen_quicksilver_driver_mysql(lua_State *L) {
  if (qsB_on_unload(L, "quicksilver.driver.mysql.library", library_end))
    mysql_library_init(0, NULL, NULL);   /* (library_end runs only at the state's close) */
  qsB_register_driver(L, &qs_mariadb_driver);
  lua_pushstring(L, mysql_get_client_info());
  lua_setfield(L, -2, "client_version");
  return 1;
}
