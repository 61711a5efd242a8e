/*
** test_uow.c: the unit of work's C loops (c/orm/uow.c) on tables made
** here: core.toposort's order, levels and cycles; changed_keys' raw
** comparison; changed_collections over states as orm/attributes.lua lays
** them out (c/orm/layout.h); pick and copy_list; and each one's errors.
*/
#include "harness.h"

/* The prelude for these tests: a list printer. */
static const char show[] =
  "function show(t) local o = {} for i = 1, #t do o[i] = tostring(t[i]) end return table.concat(o, ',') end\n";

TEST_IMPL(uow_toposort) {
  lua_State *L = bt_state_with(show);
  ASSERT(L != NULL);
  /* a chain given backwards: order and levels */
  EXPECT_EVAL(L, "local o, l = core.toposort(4, {3, 4, 2, 3, 1, 2}) return show(o) .. ' ' .. show(l)",
              "1,2,3,4 1,2,3,4");
  /* a diamond: levels are the longest path from a root */
  EXPECT_EVAL(L, "local o, l = core.toposort(4, {1, 2, 1, 3, 2, 4, 3, 4}) return show(o) .. ' ' .. show(l)",
              "1,2,3,4 1,2,2,3");
  /* stable: the smallest ready node first; self-edges ignored */
  EXPECT_EVAL(L, "return show((core.toposort(3, {3, 1, 2, 2})))", "2,3,1");
  EXPECT_EVAL(L, "local o, l = core.toposort(0, {}) return #o .. ' ' .. #l", "0 0");
  /* a cycle: nil and the nodes in or behind it */
  EXPECT_EVAL(L, "local o, c = core.toposort(4, {1, 2, 2, 3, 3, 2, 3, 4}) return tostring(o) .. ' ' .. show(c)",
              "nil 2,3,4");
  /* errors name the problem */
  EXPECT_EVAL(L, "return select(2, pcall(core.toposort, -1, {})).message",
              "toposort: the node count must be a non-negative integer, got -1");
  EXPECT_EVAL(L, "return select(2, pcall(core.toposort, 2, {1})).message",
              "toposort: edges must be pairs, but the list has 1 values");
  EXPECT_EVAL(L, "return select(2, pcall(core.toposort, 2, {1, 3})).message",
              "toposort: edge 1 names node 3, but there are 2 nodes");
  EXPECT_EVAL(L, "return select(2, pcall(core.toposort, 2, {1, 'x'})).message",
              "toposort: edge 1 names a string, not a node number");
  EXPECT_EVAL(L, "return select(2, pcall(core.toposort, 2, 'x')).message",
              "toposort: edges must be a table, got string");
  lua_close(L);
  return 0;
}

TEST_IMPL(uow_changed_keys) {
  lua_State *L = bt_state_with(show);
  ASSERT(L != NULL);
  /* in list order; 1 == 1.0; tables by identity; nil differs from a value */
  EXPECT_EVAL(L,
              "local t = {} "
              "return show(core.changed_keys({a = 1, b = 2, c = t, d = 'x', e = 1.0}, "
              "{a = 1, b = 3, c = {}, e = 1}, {'e', 'd', 'c', 'b', 'a', 'z'}))",
              "d,c,b");
  EXPECT_EVAL(L, "return #core.changed_keys({}, {}, {})", "0");
  /* raw reads: a metatable's __index is not asked */
  EXPECT_EVAL(L,
              "local d = setmetatable({}, {__index = function() return 1 end}) "
              "return show(core.changed_keys(d, {a = 1}, {'a'}))",
              "a");
  /* with was_null: committed holds only changed attributes' old values (a
  ** key it lacks is unchanged), was_null standing for an old NULL */
  EXPECT_EVAL(L,
              "local W = {} "
              "return show(core.changed_keys({a = 1, b = 2, c = 3, d = 4}, {b = 5, c = W, d = 4, x = 1}, "
              "{'a', 'b', 'c', 'd'}, W)) .. '|' .. show(core.changed_keys({}, {a = W}, {'a'}, W)) .. '|' .. "
              "#core.changed_keys({a = 1}, {}, {'a'}, W)",
              "b,c||0");
  EXPECT_EVAL(L, "return select(2, pcall(core.changed_keys, {}, nil, {})).message",
              "changed_keys: committed must be a table, got nil");
  EXPECT_EVAL(L, "return select(2, pcall(core.changed_keys, {}, {}, {'a', 2})).message",
              "changed_keys: keys[2] must be a string, got number");
  lua_close(L);
  return 0;
}

/* States as orm/attributes.lua lays them out: dict, loaded, snap, session,
** mapper (with or without _coll_rels); a collection's list (kids) in the
** state's own colls, not in dict (written here as dict's kids and moved). */
static const char states[] =
  "S = {}\n"
  "M1 = {_coll_rels = {{'kids', true}, {'boss', false}}}\n"
  "M2 = {}\n"
  "function state(m, dict, loaded, snap, session)\n"
  "  local colls = dict.kids and {kids = dict.kids}\n"
  "  dict.kids = nil\n"
  "  return {mapper = m, dict = dict, colls = colls, loaded = loaded, snap = snap, session = session or S}\n"
  "end\n"
  "k1, k2 = {}, {}\n"
  "same = state(M1, {kids = {k1, k2}}, {kids = true}, {kids = {k1, k2}})\n"
  "grown = state(M1, {kids = {k1, k2, {}}}, {kids = true}, {kids = {k1, k2}})\n"
  "reordered = state(M1, {kids = {k2, k1}}, {kids = true}, {kids = {k1, k2}})\n"
  "emptied = state(M1, {}, {kids = true}, {kids = {k1}})\n"
  "unloaded = state(M1, {kids = {k1}}, {}, {})\n"
  "moved = state(M1, {boss = k2}, {boss = true}, {boss = {k1}})\n"
  "kept = state(M1, {boss = k1}, {boss = true}, {boss = {k1}})\n"
  "nosnap = state(M1, {kids = {}}, {kids = true}, {})\n"
  "gone = state(M1, {}, {}, {}, {})\n"
  "other = state(M2, {kids = {k1}}, {kids = true}, {kids = {}})\n"
  "names = {}\n"
  "for _, n in ipairs({'same', 'grown', 'reordered', 'emptied', 'unloaded', 'moved', 'kept', 'nosnap', 'gone', 'other'}) do\n"
  "  names[_G[n]] = n\n"
  "end\n"
  "function changed(tracked)\n"
  "  local asked = 0\n"
  "  local out = core.changed_collections(tracked, S, function(m) asked = asked + 1 return {{'kids', true}} end)\n"
  "  local o = {}\n"
  "  for i, st in ipairs(out) do o[i] = names[st] or '?' end\n"
  "  table.sort(o)\n"
  "  return table.concat(o, ',') .. ' asked ' .. asked\n"
  "end\n";

TEST_IMPL(uow_changed_collections) {
  lua_State *L = bt_state_with(states);
  ASSERT(L != NULL);
  /* a list compares by position, a one-to-one place by identity; a loaded
  ** collection without a snapshot counts as changed; rels_of only for a
  ** mapper without _coll_rels */
  EXPECT_EVAL(L,
              "local t = {} for st in pairs(names) do t[st] = true end return changed(t)",
              "emptied,grown,moved,nosnap,other,reordered asked 1");
  /* a list is read from colls: one left in the value table is not a loaded list */
  EXPECT_EVAL(L,
              "local st = {mapper = M1, dict = {kids = {k1}}, loaded = {kids = true}, snap = {kids = {}}, session = S} "
              "names[st] = 'indict' return changed({[st] = true})",
              " asked 0");
  EXPECT_EVAL(L,
              "local st = {mapper = M1, dict = {kids = {}}, loaded = {kids = true}, snap = {kids = {k1}}, session = S} "
              "names[st] = 'indict' return changed({[st] = true})",
              "indict asked 0");
  /* a state no longer in the session leaves the set */
  EXPECT_EVAL(L, "local t = {[gone] = true, [same] = true} changed(t) return tostring(t[gone]) .. ' ' .. tostring(t[same])",
              "nil true");
  /* not a state as the flush knows it: reported, for the full flush to look */
  EXPECT_EVAL(L, "return changed({[{session = S, mapper = M1}] = true})", "? asked 0");
  /* non-tables in the set are skipped */
  EXPECT_EVAL(L, "return changed({[1] = true, x = true})", " asked 0");
  EXPECT_EVAL(L, "return select(2, pcall(core.changed_collections, nil, S, print)).message",
              "changed_collections: tracked must be a table, got nil");
  EXPECT_EVAL(L,
              "return select(2, pcall(core.changed_collections, {[other] = true}, S, function() return 1 end)).message",
              "changed_collections: rels_of must return a table");
  lua_close(L);
  return 0;
}

/* Real states name their session by number (`_sid`, raw; `session` is a
** metamethod): compared raw when the session has a `_sid` too, the
** metamethod never called; a state of another session leaves the set. */
static const char sid_states[] =
  "S = {_sid = 7}\n"
  "M1 = {_coll_rels = {{'kids', true}}}\n"
  "calls = 0\n"
  "local mt = {__index = function(st, k) if k == 'session' then calls = calls + 1 end return nil end}\n"
  "function state(sid, dict, snap)\n"
  "  return setmetatable({mapper = M1, _sid = sid, dict = {}, colls = dict, loaded = {kids = true}, snap = snap}, mt)\n"
  "end\n"
  "k1, k2 = {}, {}\n"
  "same = state(7, {kids = {k1}}, {kids = {k1}})\n"
  "changed = state(7, {kids = {k2}}, {kids = {k1}})\n"
  "other = state(8, {kids = {k2}}, {kids = {k1}})\n"
  "tracked = {[same] = true, [changed] = true, [other] = true}\n";

TEST_IMPL(uow_changed_collections_sid) {
  lua_State *L = bt_state_with(sid_states);
  ASSERT(L != NULL);
  EXPECT_EVAL(L,
              "local out = core.changed_collections(tracked, S, print) "
              "return #out .. ' ' .. tostring(out[1] == changed) .. ' ' .. tostring(tracked[other]) .. ' ' .. "
              "tostring(tracked[same]) .. ' calls ' .. calls",
              "1 true nil true calls 0");
  lua_close(L);
  return 0;
}

TEST_IMPL(uow_pick_copy_list) {
  lua_State *L = bt_state_with(show);
  ASSERT(L != NULL);
  /* nil values are left out; the keys' order does not matter */
  EXPECT_EVAL(L,
              "local p = core.pick({a = 1, b = false, c = 'x'}, {'c', 'a', 'b', 'z'}) "
              "local n = 0 for _ in pairs(p) do n = n + 1 end "
              "return n .. ' ' .. p.a .. ' ' .. tostring(p.b) .. ' ' .. p.c .. ' ' .. tostring(p.z)",
              "3 1 false x nil");
  EXPECT_EVAL(L, "local t = {1, 2} local c = core.copy_list(t) return tostring(c ~= t) .. ' ' .. show(c)",
              "true 1,2");
  /* the sequence part only, up to its border */
  EXPECT_EVAL(L, "return show(core.copy_list({1, 2, 3, x = 4}))", "1,2,3");
  EXPECT_EVAL(L, "return #core.copy_list({})", "0");
  EXPECT_EVAL(L, "return select(2, pcall(core.pick, {}, 'a')).message", "pick: keys must be a table, got string");
  EXPECT_EVAL(L, "return select(2, pcall(core.copy_list)).message", "copy_list: list must be a table, got nil");
  lua_close(L);
  return 0;
}
