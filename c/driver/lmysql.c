/*
** lmysql.c: the quicksilver.driver.mysql module. It hands the libmariadb
** driver table to the core through the registry, under the versioned key
** (the same driver serves mysql:// and mariadb:// URLs).
*/
#include <lauxlib.h>
#include <lua.h>
#include <mysql.h>
#include <pthread.h>

#include "lregister.h"

/* The client library's one-time state is process-wide, and several Lua states
** may load this module (a host with a state per thread, sharing a pool): it is
** initialised by the first state that loads the module and released when the
** last of them closes, never while another state's connections use it (the
** client's auth plugins go with it: a connect would fail "Plugin
** mysql_native_password could not be loaded"). Each state's share ends with a
** sentinel userdata in its registry, created before any connection of that
** state and finalized after them all. */
static pthread_mutex_t library_lock = PTHREAD_MUTEX_INITIALIZER;
static int library_states; /* open Lua states that loaded the module */

static int library_end(lua_State *L) {
  (void)L;
  pthread_mutex_lock(&library_lock);
  if (--library_states == 0) {
    qs__detached_wait(2.0); /* a detached cancel may still be connecting */
    mysql_library_end();
  }
  pthread_mutex_unlock(&library_lock);
  return 0;
}

int luaopen_quicksilver_driver_mysql(lua_State *L);
int luaopen_quicksilver_driver_mysql(lua_State *L) {
  if (qsB_on_unload(L, "quicksilver.driver.mysql.library", library_end)) {
    /* (library_end runs only at the state's close) */
    pthread_mutex_lock(&library_lock);
    if (library_states++ == 0) mysql_library_init(0, NULL, NULL);
    pthread_mutex_unlock(&library_lock);
  }
  qsB_register_driver(L, &qs_mariadb_driver);
  lua_pushstring(L, mysql_get_client_info());
  lua_setfield(L, -2, "client_version");
  return 1;
}
