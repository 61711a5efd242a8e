/*
** fuzz_json.c: the JSON decoder and encoder of the binding (c/binding/
** ljson.c) through core.json_decode / core.json_encode in a Lua 5.4 state
** that has quicksilver.core loaded (made once, reused: a state per input
** would cost more than the decoding). Properties: decoding either gives a
** value or raises an error (never a crash, whatever the nesting); a value
** that decoded and encodes again decodes again; the Lua stack is as it was.
*/
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <string.h>

#include "fuzz.h"

int luaopen_quicksilver_core(lua_State *L);

static lua_State *L;

static const char *const CHECK =
    "local s = ...\n"
    "local ok, v = pcall(core.json_decode, s)\n"
    "if not ok then return 'refused' end\n"
    "local ok2, s2 = pcall(core.json_encode, v)\n"
    "if not ok2 then return 'not encodable' end\n"
    "assert(type(s2) == 'string', 'json_encode gave no string')\n"
    "local ok3, err = pcall(core.json_decode, s2)\n"
    "if not ok3 then error('its own encoding does not decode: ' .. tostring(err) .. ' in ' .. s2) end\n"
    "if type(v) ~= 'table' then\n"
    "  -- a scalar reads back as itself (numbers by value: -0.0 may come back 0)\n"
    "  if err ~= v then error('a scalar that changes on a round trip: ' .. s2) end\n"
    "end\n"
    "return 'ok'\n";

static void setup(void) {
  L = luaL_newstate();
  FUZZ_CHECK(L != NULL, "no Lua state");
  luaL_openlibs(L);
  luaL_requiref(L, "quicksilver.core", luaopen_quicksilver_core, 0);
  lua_setglobal(L, "core");
  /* the sentinels quicksilver.types sets: a null and the array metatable */
  FUZZ_CHECK(luaL_dostring(L, "core.set_json(setmetatable({}, {__name = 'json.null'}), {})") == LUA_OK,
             "set_json failed");
  FUZZ_CHECK(luaL_loadstring(L, CHECK) == LUA_OK, "the check does not compile");
  lua_setfield(L, LUA_REGISTRYINDEX, "fuzz_json.check");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  int top;
  if (L == NULL) setup();
  top = lua_gettop(L);
  lua_getfield(L, LUA_REGISTRYINDEX, "fuzz_json.check");
  lua_pushlstring(L, (const char *)data, size);
  if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
    fprintf(stderr, "%s\n", lua_tostring(L, -1));
    FUZZ_CHECK(0, "a JSON property broke");
  }
  lua_settop(L, top);
  FUZZ_CHECK(lua_gettop(L) == top, "the stack moved");
  /* collect now and then, so a long run's memory stays flat */
  if ((size & 63) == 0) lua_gc(L, LUA_GCSTEP, 0);
  return 0;
}
