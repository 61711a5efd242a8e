/*
** lua_asan.c: a minimal stand-alone Lua 5.4 interpreter that `make test
** SANITIZE=1` links with -fsanitize=address,undefined and runs busted in.
**
** Why not `LD_PRELOAD=libasan.so lua5.4`: the preload is inherited by every
** process a spec starts (sh, luarocks, gcc, pg_ctl, postgres...), and some of
** them hang under it (`postgres -V` never returns) or fail on their own leaks.
** A sanitized interpreter carries the ASan runtime itself, so the children of
** the specs run as they would without sanitizers.
**
** Usage, a subset of lua.c's:  lua_asan [-e stat]... [script [args]]
** The global `arg` is built as lua.c builds it (arg[0] = script, arg[-1] =
** this program), LUA_PATH/LUA_CPATH are honoured by luaL_openlibs, the
** collector runs in generational mode as in lua.c, and an error ends the
** program with a traceback on stderr and exit status 1.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lua.h"
#include "lauxlib.h"
#include "lualib.h"

/* Message handler: a traceback, with __tostring used for non-string errors
** (quicksilver's error objects are tables with __tostring). */
static int msghandler(lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  if (msg == NULL) {
    if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
      return 1;
    msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  }
  luaL_traceback(L, L, msg, 1);
  return 1;
}

/* Runs the function on top of the stack with nargs arguments below it. */
static int docall(lua_State *L, int nargs) {
  int base = lua_gettop(L) - nargs;
  int status;
  lua_pushcfunction(L, msghandler);
  lua_insert(L, base);
  status = lua_pcall(L, nargs, 0, base);
  lua_remove(L, base);
  return status;
}

static int report(lua_State *L, int status, const char *progname) {
  if (status != LUA_OK) {
    const char *msg = lua_tostring(L, -1);
    fprintf(stderr, "%s: %s\n", progname, msg ? msg : "(error object is not a string)");
    fflush(stderr);
    lua_pop(L, 1);
  }
  return status;
}

/* The protected main: everything that may raise runs in here. */
static int pmain(lua_State *L) {
  int argc = (int)lua_tointeger(L, 1);
  char **argv = (char **)lua_touserdata(L, 2);
  const char *progname = argv[0] ? argv[0] : "lua_asan";
  int script = 0, i, n;
  luaL_checkversion(L);
  luaL_openlibs(L);
#if LUA_VERSION_NUM >= 504
  lua_gc(L, LUA_GCRESTART);
  lua_gc(L, LUA_GCGEN, 0, 0);
#endif
  for (i = 1; i < argc; i++) {                 /* find the script */
    if (strcmp(argv[i], "-e") == 0 && i + 1 < argc) { i++; continue; }
    script = i;
    break;
  }
  /* arg: arg[0] = the script, arg[1..] its arguments, negative indices the
  ** interpreter and its options; with no script, arg[0] = the interpreter. */
  n = script;
  lua_createtable(L, argc - n, n);
  for (i = 0; i < argc; i++) {
    lua_pushstring(L, argv[i]);
    lua_rawseti(L, -2, i - n);
  }
  lua_setglobal(L, "arg");
  for (i = 1; i < (script ? script : argc); i++) {   /* the -e chunks, in order */
    if (strcmp(argv[i], "-e") != 0 || i + 1 >= argc) {
      lua_pushfstring(L, "unrecognized option '%s'", argv[i]);
      return lua_error(L);
    }
    i++;
    if (report(L, luaL_loadbuffer(L, argv[i], strlen(argv[i]), "=(command line)") ||
                      docall(L, 0), progname) != LUA_OK) {
      lua_pushboolean(L, 0);
      return 1;
    }
  }
  if (script) {
    int status = luaL_loadfile(L, strcmp(argv[script], "-") == 0 ? NULL : argv[script]);
    if (status == LUA_OK) {
      int nargs = argc - script - 1;
      luaL_checkstack(L, nargs, "too many arguments to script");
      for (i = script + 1; i < argc; i++) lua_pushstring(L, argv[i]);
      status = docall(L, nargs);
    }
    if (report(L, status, progname) != LUA_OK) {
      lua_pushboolean(L, 0);
      return 1;
    }
  } else if (argc < 2) {
    lua_pushfstring(L, "usage: %s [-e stat]... [script [args]]", progname);
    return lua_error(L);
  }
  lua_pushboolean(L, 1);
  return 1;
}

int main(int argc, char **argv) {
  int status, ok;
  lua_State *L = luaL_newstate();
  if (L == NULL) {
    fprintf(stderr, "%s: cannot create state: not enough memory\n", argv[0]);
    return EXIT_FAILURE;
  }
  lua_pushcfunction(L, pmain);
  lua_pushinteger(L, argc);
  lua_pushlightuserdata(L, argv);
  status = lua_pcall(L, 2, 1, 0);
  ok = lua_toboolean(L, -1);
  report(L, status, argv[0]);
  lua_close(L);
  return (status == LUA_OK && ok) ? EXIT_SUCCESS : EXIT_FAILURE;
}
