/*
** harness.c: the binding tests' lua_State, prelude and compile helpers
** (harness.h).
*/
#include "harness.h"

#include <stdio.h>

int luaopen_quicksilver_core(lua_State *L);

/* Names for the kinds, operators and checks, constructors for the common
** nodes, and a users/teams schema; plain tables as the Lua front builds
** them (fields as c/compiler/fields.h lists them). */
static const char prelude[] =
  "K, O, CHECK = core.kinds, core.ops, core.type_checks\n"
  "INT = {_t = 'INTEGER', _check = CHECK.integer}\n"
  "STR = {_t = 'VARCHAR', length = 50, _check = CHECK.string}\n"
  "NUM = {_t = 'NUMERIC', precision = 10, scale = 2}\n"
  "TS = {_t = 'DATETIME', timezone = true}\n"
  "JSONT = {_t = 'JSON'}\n"
  "function T(name, schema) return {_k = K.TABLE, name = name, schema = schema} end\n"
  "function C(t, name, ty) return {_k = K.COLUMN, table = t, name = name, type = ty or INT} end\n"
  "function B(key, value, ty) return {_k = K.BIND, key = key, value = value, type = ty or INT} end\n"
  "function A(value, ty) return {_k = K.BIND, key = 'param', anon = true, value = value, type = ty or INT} end\n"
  "function BIN(op, l, r) return {_k = K.BINARY, op = O[op], left = l, right = r, type = l.type} end\n"
  "function UN(op, e) return {_k = K.UNARY, op = O[op], element = e, type = e.type} end\n"
  "function LIST(op, ...) return {_k = K.LIST, op = O[op], clauses = {...}} end\n"
  "function F(name, ...) return {_k = K.FUNCTION, name = name, args = {...}} end\n"
  "function LABEL(name, e) return {_k = K.LABEL, name = name, element = e, type = e.type} end\n"
  "function ALIAS(e, name) return {_k = K.ALIAS, element = e, name = name} end\n"
  "function SEL(cols, froms, extra)\n"
  "  local s = extra or {}\n"
  "  s._k, s.columns = K.SELECT, cols\n"
  "  s._final_froms = function() return froms end\n"
  "  return s\n"
  "end\n"
  "NULL_, TRUE_, FALSE_ = {_k = K.NULL}, {_k = K.TRUE}, {_k = K.FALSE}\n"
  "users, teams = T('users'), T('teams')\n"
  "uid, uname, uteam = C(users, 'id'), C(users, 'name', STR), C(users, 'team_id')\n"
  "tid, tname = C(teams, 'id'), C(teams, 'name', STR)\n";

lua_State *bt_state(void) {
  lua_State *L = luaL_newstate();
  if (L == NULL) return NULL;
  luaL_openlibs(L);
  luaL_requiref(L, "quicksilver.core", luaopen_quicksilver_core, 0);
  lua_setglobal(L, "core");
  if (luaL_dostring(L, prelude) != LUA_OK) {
    fprintf(stderr, "  prelude failed: %s\n", lua_tostring(L, -1));
    lua_close(L);
    return NULL;
  }
  return L;
}

lua_State *bt_state_with(const char *setup) {
  lua_State *L = bt_state();
  if (L != NULL && luaL_dostring(L, setup) != LUA_OK) {
    fprintf(stderr, "  setup failed: %s\n", lua_tostring(L, -1));
    lua_close(L);
    return NULL;
  }
  return L;
}

static char result[16384];

/* Copies the error at the top (a core error table: name, message) into
** result as "ERROR <name>: <message>" and pops it. */
static const char *error_text(lua_State *L) {
  if (lua_istable(L, -1)) {
    lua_getfield(L, -1, "name");
    lua_getfield(L, -2, "message");
    snprintf(result, sizeof result, "ERROR %s: %s", lua_tostring(L, -2) ? lua_tostring(L, -2) : "?",
             lua_tostring(L, -1) ? lua_tostring(L, -1) : "?");
    lua_pop(L, 2);
  } else {
    snprintf(result, sizeof result, "ERROR lua: %s", lua_tostring(L, -1) ? lua_tostring(L, -1) : "?");
  }
  lua_pop(L, 1);
  return result;
}

const char *bt_compile(lua_State *L, const char *dialect, const char *chunk) {
  int top = lua_gettop(L);
  if (luaL_loadstring(L, chunk) != LUA_OK || lua_pcall(L, 0, 2, 0) != LUA_OK) {
    error_text(L);
    lua_settop(L, top);
    return result;
  }
  lua_getglobal(L, "core");
  lua_getfield(L, -1, "compile");
  lua_remove(L, -2);
  lua_pushvalue(L, top + 1);
  lua_pushstring(L, dialect);
  lua_pushvalue(L, top + 2);
  if (lua_pcall(L, 3, 1, 0) != LUA_OK) {
    error_text(L);
  } else {
    lua_getfield(L, -1, "sql");
    snprintf(result, sizeof result, "%s", lua_tostring(L, -1));
    lua_pop(L, 1);
    lua_setglobal(L, "R");
  }
  lua_settop(L, top);
  return result;
}

const char *bt_eval(lua_State *L, const char *chunk) {
  int top = lua_gettop(L);
  if (luaL_loadstring(L, chunk) != LUA_OK || lua_pcall(L, 0, 1, 0) != LUA_OK) {
    error_text(L);
  } else {
    snprintf(result, sizeof result, "%s", luaL_tolstring(L, -1, NULL));
  }
  lua_settop(L, top);
  return result;
}

/* Calls check(L, d, chunk, want) for each dialect d of the space-separated
** list dialects; the number of failures. */
static int each_dialect(lua_State *L, const char *dialects, const char *chunk, const char *want,
                        int (*check)(lua_State *, const char *, const char *, const char *)) {
  char d[32];
  int failed = 0;
  while (*dialects) {
    size_t n = strcspn(dialects, " ");
    if (n > 0 && n < sizeof d) {
      memcpy(d, dialects, n);
      d[n] = '\0';
      failed += check(L, d, chunk, want);
    }
    dialects += n;
    while (*dialects == ' ') dialects++;
  }
  return failed;
}

static int expect_one(lua_State *L, const char *dialect, const char *chunk, const char *want) {
  const char *got = bt_compile(L, dialect, chunk);
  if (strcmp(got, want) == 0) return 0;
  fprintf(stderr, "  %s: %s\n    want: %s\n    got:  %s\n", dialect, chunk, want, got);
  return 1;
}

static int expect_error_one(lua_State *L, const char *dialect, const char *chunk, const char *part) {
  const char *got = bt_compile(L, dialect, chunk);
  if (strncmp(got, "ERROR ", 6) == 0 && strstr(got, part) != NULL) return 0;
  fprintf(stderr, "  %s: %s\n    want an error with: %s\n    got:  %s\n", dialect, chunk, part, got);
  return 1;
}

int bt_expect(lua_State *L, const char *dialects, const char *chunk, const char *want) {
  return each_dialect(L, dialects, chunk, want, expect_one);
}

int bt_expect_error(lua_State *L, const char *dialects, const char *chunk, const char *part) {
  return each_dialect(L, dialects, chunk, part, expect_error_one);
}

int bt_expect_eval(lua_State *L, const char *chunk, const char *want) {
  const char *got = bt_eval(L, chunk);
  if (strcmp(got, want) == 0) return 0;
  fprintf(stderr, "  %s\n    want: %s\n    got:  %s\n", chunk, want, got);
  return 1;
}
