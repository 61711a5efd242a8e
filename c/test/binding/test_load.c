/*
** test_load.c: core.load_objects (c/orm/load.c) on rows made by core.row,
** with a load spec and states laid out as orm/loading.lua and
** orm/attributes.lua make them (c/orm/layout.h): new objects, identity-map
** hits, expired objects and other rows left to Lua, NULL keys (an outer
** join's missing side), string and float keys (the map is keyed by the
** primary-key value: orm/identity.lua), and a spec or row it refuses.
*/
#include "harness.h"

static const char setup[] =
  "STATE = {}\n"
  "STATE_MT, MAPPER = {}, {name = 'User'}\n"
  "INSTANCE_MT = {__index = function(dict, k) return 'miss:' .. k end,\n"
  "  __newindex = function(o, k, v) rawset(o, k, v) end, __tostring = function() return 'User' end}\n"
  "KEYMAP = {id = 1, name = 2}\n"
  "function rows(list) local out = {} for i, r in ipairs(list) do out[i] = core.row(KEYMAP, r, 2) end return out end\n"
  "SPEC = {pk = 1, keys = {'id', 'name'}, positions = {1, 2}, mapper = MAPPER,\n"
  "        state_mt = STATE_MT, instance_mt = INSTANCE_MT, state_key = STATE}\n"
  "SESSION = {}\n";

TEST_IMPL(load_new_objects) {
  lua_State *L = bt_state_with(setup);
  ASSERT(L != NULL);
  ASSERT(luaL_dostring(L,
                       "imap, out = {}, {}\n"
                       "nxt = core.load_objects(rows({{1, 'a'}, {2, nil}}), 1, 0, SPEC, imap, SESSION, out)\n"
                       "o1, o2 = out[1], out[2]\n"
                       "st = rawget(o1, STATE)\n") == LUA_OK);
  EXPECT_EVAL(L, "return nxt", "3");
  /* the identity key is the key value itself */
  EXPECT_EVAL(L, "return tostring(imap[1] == o1) .. ' ' .. tostring(imap[2] == o2)", "true true");
  /* the state: as attributes.new_state and bind lay it out, persistent in
  ** the session; no committed values (kept only once an attribute changes) */
  EXPECT_EVAL(L,
              "return table.concat({tostring(getmetatable(st) == STATE_MT), tostring(getmetatable(o1) == st.dict),"
              " tostring(st.mapper == MAPPER), tostring(st.obj == o1), st.key, tostring(st.session == SESSION),"
              " rawget(st.dict, 'id'), rawget(st.dict, 'name'), tostring(rawget(st, 'committed'))}, ' ')",
              "true true true true 1 true 1 a nil");
  /* the value table: the object's metatable with __index itself and the
  ** instance metamethods copied; its own metatable the state, whose
  ** __index is instance_mt's miss function */
  EXPECT_EVAL(L,
              "return table.concat({tostring(rawget(st.dict, '__index') == st.dict),"
              " tostring(rawget(st.dict, '__newindex') == INSTANCE_MT.__newindex),"
              " tostring(rawget(st.dict, '__tostring') == INSTANCE_MT.__tostring),"
              " tostring(getmetatable(st.dict) == st), tostring(rawget(st, '__index') == INSTANCE_MT.__index),"
              " o1.name, tostring(o1.missing)}, ' ')",
              "true true true true true a miss:missing");
  /* a NULL column is left out of the value table */
  EXPECT_EVAL(L, "local s = rawget(o2, STATE) return tostring(rawget(s.dict, 'name')) .. ' ' .. o2.name",
              "nil miss:name");
  /* from and last: a slice of the rows */
  EXPECT_EVAL(L,
              "local out = {} local n = core.load_objects(rows({{5, 'e'}, {6, 'f'}, {7, 'g'}}), 2, 0, SPEC, {}, SESSION, out, 2)"
              " return n .. ' ' .. tostring(out[1]) .. ' ' .. rawget(out[2], STATE).key .. ' ' .. tostring(out[3])",
              "3 nil 6 nil");
  /* a string key, an integral float key (one key with the integer), a
  ** string of digits (another key than the number) */
  EXPECT_EVAL(L,
              "local imap = {}"
              " core.load_objects(rows({{'k', 'a'}, {3.0, 'b'}, {'3', 'c'}}), 1, 0, SPEC, imap, SESSION, {})"
              " return tostring(imap.k ~= nil) .. ' ' .. tostring(imap[3] ~= nil) .. ' '"
              " .. tostring(imap['3'] ~= imap[3])",
              "true true true");
  lua_close(L);
  return 0;
}

TEST_IMPL(load_identity_map) {
  lua_State *L = bt_state_with(setup);
  ASSERT(L != NULL);
  ASSERT(luaL_dostring(L,
                       "old = setmetatable({}, INSTANCE_MT)\n"
                       "oldst = {dict = {id = 1, name = 'mine'}}\n"
                       "rawset(old, STATE, oldst)\n"
                       "imap = {[1] = old}\n") == LUA_OK);
  /* a hit: the object in the map, as it is (its changes are not overwritten) */
  EXPECT_EVAL(L,
              "local out = {} local n = core.load_objects(rows({{1, 'db'}}), 1, 0, SPEC, imap, SESSION, out)"
              " return n .. ' ' .. tostring(out[1] == old) .. ' ' .. oldst.dict.name",
              "2 true mine");
  /* a hit on an object with expired attributes: left to Lua from that row */
  EXPECT_EVAL(L,
              "oldst.expired = {name = true} local out = {}"
              " local n = core.load_objects(rows({{2, 'b'}, {1, 'db'}, {3, 'c'}}), 1, 0, SPEC, imap, SESSION, out)"
              " return n .. ' ' .. tostring(out[1] ~= nil) .. ' ' .. tostring(out[2]) .. ' ' .. tostring(out[3])",
              "2 true nil nil");
  /* a map entry without a state: left to Lua */
  EXPECT_EVAL(L,
              "local imap2 = {[1] = {}}"
              " return core.load_objects(rows({{1, 'x'}}), 1, 0, SPEC, imap2, SESSION, {})",
              "1");
  lua_close(L);
  return 0;
}

TEST_IMPL(load_fallback_rows) {
  lua_State *L = bt_state_with(setup);
  ASSERT(L != NULL);
  /* a NULL key: no object for the row (an outer join's missing side), and on */
  EXPECT_EVAL(L,
              "local out = {} local n = core.load_objects(rows({{nil, 'x'}, {4, 'd'}}), 1, 0, SPEC, {}, SESSION, out)"
              " return n .. ' ' .. tostring(out[1]) .. ' ' .. rawget(out[2], STATE).key",
              "3 nil 4");
  /* a key C does not make (a boolean, NaN: no table key): left to Lua */
  EXPECT_EVAL(L, "return core.load_objects(rows({{true, 'x'}}), 1, 0, SPEC, {}, SESSION, {})", "1");
  EXPECT_EVAL(L, "return core.load_objects(rows({{1, 'a'}, {0/0, 'x'}}), 1, 0, SPEC, {}, SESSION, {})", "2");
  /* a fraction, a float beyond the 64-bit range, an integral float past
  ** 2^53: each the number itself */
  EXPECT_EVAL(L,
              "local imap, rs = {}, rows({{1.5, 'x'}, {2^64, 'y'}, {2^53, 'z'}})"
              " local n = core.load_objects(rs, 1, 0, SPEC, imap, SESSION, {})"
              " local function name(o) return rawget(o, STATE).dict.name end"
              " return n .. ' ' .. name(imap[1.5]) .. name(imap[2^64]) .. name(imap[9007199254740992])",
              "4 xyz");
  /* something that is not a Row: left to Lua */
  EXPECT_EVAL(L, "return core.load_objects({{1, 'x'}}, 1, 0, SPEC, {}, SESSION, {})", "1");
  /* the entity's columns further right in the row (base) */
  EXPECT_EVAL(L,
              "local r = {core.row({}, {'pad', 8, 'h'}, 3)} local out = {}"
              " core.load_objects(r, 1, 1, SPEC, {}, SESSION, out) return rawget(out[1], STATE).dict.name",
              "h");
  /* a pk position outside the row: left to Lua */
  EXPECT_EVAL(L, "return core.load_objects(rows({{1, 'a'}}), 1, 5, SPEC, {}, SESSION, {})", "1");
  lua_close(L);
  return 0;
}

TEST_IMPL(load_refuses_bad_specs) {
  lua_State *L = bt_state_with(setup);
  ASSERT(L != NULL);
  EXPECT_EVAL(L,
              "local bad = {} for k, v in pairs(SPEC) do bad[k] = v end bad.keys = nil"
              " return select(2, pcall(core.load_objects, rows({{1, 'a'}}), 1, 0, bad, {}, SESSION, {})).message",
              "load_objects: incomplete spec");
  EXPECT_EVAL(L,
              "local bad = {} for k, v in pairs(SPEC) do bad[k] = v end bad.positions = {1, 9}"
              " return select(2, pcall(core.load_objects, rows({{1, 'a'}}), 1, 0, bad, {}, SESSION, {})).message",
              "load_objects: column 9 is outside the row's 2");
  EXPECT_EVAL(L, "return (pcall(core.load_objects, rows({}), 1, 0, SPEC, nil, SESSION, {}))", "false");
  lua_close(L);
  return 0;
}
