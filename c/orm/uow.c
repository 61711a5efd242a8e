/*
** uow.c: the unit of work's per-flush loops in C. The ORM's flush orders
** mappers and rows by their dependencies (qs_toposort) and, for each dirty
** object, finds the attributes that changed since it was loaded; both run
** over every object of a flush, so they cost no Lua loop.
**
** core.toposort(n, edges) -> order, levels | nil, cycle
** core.changed_keys(dict, committed, keys[, was_null]) -> changed
** core.changed_collections(tracked, session, rels_of) -> states
** core.pick(t, keys) -> copy
** core.copy_list(list) -> copy
*/
#include "lbinding.h"

#include <limits.h>

void qsB_export_orm_fields(lua_State *L);   /* layout.c */

/* Raises an ArgumentError whose message is the string at the top. */
static int raise_top(lua_State *L) {
  return qsB_raise(L, QS_ARGUMENT, lua_tostring(L, -1));
}

/* A type name for messages: a missing argument reads as nil. */
static const char *type_name(lua_State *L, int idx) {
  return lua_isnoneornil(L, idx) ? "nil" : luaL_typename(L, idx);
}

static int raise_type(lua_State *L, const char *fn, const char *what, int idx) {
  lua_pushfstring(L, "%s: %s must be a table, got %s", fn, what, type_name(L, idx));
  return raise_top(L);
}

/* The integral number at idx (3 or 3.0, never "3") when it lies in
** lo..hi; else -1. lua_tonumber keeps this one test on every Lua. */
static int int_in(lua_State *L, int idx, int lo, int hi) {
  lua_Number x;
  if (lua_type(L, idx) != LUA_TNUMBER) return -1;
  x = lua_tonumber(L, idx);
  if (!(x >= lo && x <= hi) || x != (lua_Number)(int)x) return -1;
  return (int)x;
}

/* Whether the number at idx is integral (then a node number out of range,
** else not a node number at all); casts only what fits an int64_t. */
static int integral(lua_State *L, int idx) {
  lua_Number x = lua_tonumber(L, idx);
  if (x != x || x - x != 0) return 0;   /* NaN, infinities */
  if (x >= 9007199254740992.0 || x <= -9007199254740992.0) return 1;   /* 2^53 */
  return x == (lua_Number)(int64_t)x;
}

/* How a bad value reads in a message: a number as itself, nil as nil,
** anything else as "a <type>" (the string is left on the stack). */
static const char *describe(lua_State *L, int idx) {
  if (lua_type(L, idx) == LUA_TNUMBER) return luaL_tolstring(L, idx, NULL);
  if (lua_isnoneornil(L, idx)) return "nil";
  return lua_pushfstring(L, "a %s", luaL_typename(L, idx));
}

/* core.toposort(n, edges): nodes 1..n, edges {a1, b1, a2, b2, ...} with a
** before b. Returns the order and levels[node] (1 for a node without
** predecessors), or nil and the sorted list of the nodes in or behind a
** cycle. The scratch arrays live in a userdata, so a raise while the edges
** are read frees them; qs_toposort's own memory never meets a Lua error. */
static int l_toposort(lua_State *L) {
  int n, ne, nsorted, i, rc;
  size_t len, cells;
  int *from, *to, *order, *level;

  n = int_in(L, 1, 0, INT_MAX);
  if (n < 0) {
    lua_pushfstring(L, "toposort: the node count must be a non-negative integer, got %s",
                    describe(L, 1));
    return raise_top(L);
  }
  if (lua_type(L, 2) != LUA_TTABLE) return raise_type(L, "toposort", "edges", 2);
  lua_settop(L, 2);
  len = lua_rawlen(L, 2);
  /* the loop below counts values in an int */
  if (len > (size_t)INT_MAX) return qsB_raise(L, QS_ARGUMENT, "toposort: too many edges");
  if (len % 2) {
    lua_pushfstring(L, "toposort: edges must be pairs, but the list has %d values", (int)len);
    return raise_top(L);
  }
  ne = (int)(len / 2);
  cells = 2 * (size_t)ne + 2 * (size_t)n;
  if (cells > ((size_t)-1) / sizeof(int)) return qsB_raise(L, QS_NOMEM, "out of memory");
  from = (int *)qsL_newuserdatauv(L, cells * sizeof(int), 0);   /* 3 */
  to = from + ne;
  order = to + ne;
  level = order + n;

  for (i = 0; i < 2 * ne; i++) {
    int v;
    lua_rawgeti(L, 2, i + 1);
    v = int_in(L, -1, 1, n);
    if (v < 0) {
      int whole = lua_type(L, -1) == LUA_TNUMBER && integral(L, -1);
      const char *s = describe(L, -1);
      if (whole)
        lua_pushfstring(L, "toposort: edge %d names node %s, but there are %d nodes", i / 2 + 1, s, n);
      else
        lua_pushfstring(L, "toposort: edge %d names %s, not a node number", i / 2 + 1, s);
      return raise_top(L);
    }
    lua_pop(L, 1);
    if (i % 2) to[i / 2] = v - 1;
    else from[i / 2] = v - 1;
  }

  rc = qs_toposort(n, ne, from, to, order, level, &nsorted);
  if (rc == QS_NOMEM) return qsB_raise(L, QS_NOMEM, "out of memory");
  if (rc != QS_OK) return qsB_raise(L, rc, "toposort: bad graph");   /* checked above */
  if (nsorted < n) {
    lua_pushnil(L);
    lua_createtable(L, n - nsorted, 0);
    for (i = nsorted; i < n; i++) {
      lua_pushinteger(L, order[i] + 1);
      lua_rawseti(L, -2, i - nsorted + 1);
    }
    return 2;
  }
  lua_createtable(L, n, 0);
  for (i = 0; i < n; i++) {
    lua_pushinteger(L, order[i] + 1);
    lua_rawseti(L, -2, i + 1);
  }
  lua_createtable(L, n, 0);
  for (i = 0; i < n; i++) {
    lua_pushinteger(L, level[i] + 1);
    lua_rawseti(L, -2, i + 1);
  }
  return 2;
}

/* core.changed_keys(dict, committed, keys[, was_null]): the keys, in list
** order, whose values differ between the object's state and what was
** loaded (raw gets, raw equality: 1 == 1.0, tables by identity except
** decimals, equal by value as "10.40" and "10.4"; nil differs from a
** value). With was_null, committed holds only the old values of the
** attributes changed since the load or flush (orm/attributes.lua): a key
** it lacks is unchanged, and was_null stands for an old NULL.
** Runs once per dirty object per flush: the result is the one allocation. */
static int l_changed_keys(lua_State *L) {
  int i, n, nout = 0, sparse;
  if (lua_type(L, 1) != LUA_TTABLE) return raise_type(L, "changed_keys", "dict", 1);
  if (lua_type(L, 2) != LUA_TTABLE) return raise_type(L, "changed_keys", "committed", 2);
  if (lua_type(L, 3) != LUA_TTABLE) return raise_type(L, "changed_keys", "keys", 3);
  sparse = !lua_isnoneornil(L, 4);
  lua_settop(L, 4);
  lua_newtable(L);   /* 5: the result */
  if (sparse && lua_rawlen(L, 3) > 0) {
    lua_pushnil(L);
    if (!lua_next(L, 2)) return 1;   /* nothing changed: no look-up per key */
    lua_pop(L, 2);
  }
  n = (int)lua_rawlen(L, 3);
  for (i = 1; i <= n; i++) {
    lua_rawgeti(L, 3, i);   /* 6: the key */
    if (lua_type(L, 6) != LUA_TSTRING) {
      lua_pushfstring(L, "changed_keys: keys[%d] must be a string, got %s", i, type_name(L, 6));
      return raise_top(L);
    }
    lua_pushvalue(L, 6);
    lua_rawget(L, 1);       /* 7 */
    lua_pushvalue(L, 6);
    lua_rawget(L, 2);       /* 8 */
    if (sparse && lua_isnil(L, 8)) {
      lua_pop(L, 3);        /* not changed since the load or flush */
      continue;
    }
    if (sparse && lua_rawequal(L, 8, 4)) {
      lua_pop(L, 1);
      lua_pushnil(L);       /* it was NULL */
    }
    if (lua_rawequal(L, 7, 8) || qsB_decimal_equal(L, 7, 8)) {   /* decimals: by value */
      lua_pop(L, 3);
    } else {
      lua_pop(L, 2);
      lua_rawseti(L, 5, ++nout);
    }
  }
  return 1;
}

/* Whether the sequences at a and b (absolute indexes; a may be nil: an
** empty collection) hold the same values in the same places. */
static int same_seq_at(lua_State *L, int a, int b) {
  lua_Integer i, n = lua_istable(L, a) ? (lua_Integer)lua_rawlen(L, a) : 0;
  int same = 1;
  if (n != (lua_Integer)lua_rawlen(L, b)) return 0;
  for (i = 1; i <= n && same; i++) {
    lua_rawgeti(L, a, i);
    lua_rawgeti(L, b, i);
    same = lua_rawequal(L, -1, -2);
    lua_pop(L, 2);
  }
  return same;
}

/* Whether the state at st (absolute) has a loaded collection that differs
** from its snapshot; rels at rels is its mapper's list of {key, uselist}.
** A list (uselist) is read raw from the state's colls (absent: none
** loaded), a one-to-one's place from its value table. */
static int state_changed(lua_State *L, int st, int rels) {
  int top = lua_gettop(L), changed = 0, has_colls;
  int loaded = top + 1, dict = top + 2, snap = top + 3, colls = top + 4, base = top + 4;
  lua_Integer i, n = (lua_Integer)lua_rawlen(L, rels);
  lua_getfield(L, st, "loaded");
  lua_getfield(L, st, "dict");
  lua_getfield(L, st, "snap");
  lua_pushliteral(L, "colls");
  lua_rawget(L, st);               /* nil: no list loaded */
  if (!lua_istable(L, loaded) || !lua_istable(L, dict) || !lua_istable(L, snap)) {
    lua_settop(L, top);
    return 1;   /* not a state as the flush knows it: let the full flush look */
  }
  has_colls = lua_istable(L, colls);
  for (i = 1; i <= n && !changed; i++) {
    int uselist;
    lua_rawgeti(L, rels, i);        /* base+1: {key, uselist} */
    lua_rawgeti(L, base + 1, 1);    /* base+2: key */
    lua_rawgeti(L, base + 1, 2);    /* base+3: uselist */
    uselist = lua_toboolean(L, base + 3);
    lua_pushvalue(L, base + 2);
    lua_rawget(L, loaded);          /* base+4: loaded[key] */
    if (lua_toboolean(L, base + 4)) {
      lua_pushvalue(L, base + 2);
      lua_rawget(L, snap);          /* base+5: snap[key] */
      if (uselist && !has_colls) {
        lua_pushnil(L);             /* base+6: the list (none) */
      } else {
        lua_pushvalue(L, base + 2);
        lua_rawget(L, uselist ? colls : dict);   /* base+6: the list or the one-to-one's place */
      }
      if (!lua_istable(L, base + 5)) {
        changed = 1;
      } else if (uselist) {
        changed = !same_seq_at(L, base + 6, base + 5);
      } else {
        lua_rawgeti(L, base + 5, 1);
        changed = !lua_rawequal(L, base + 6, -1);
      }
    }
    lua_settop(L, base);
  }
  lua_settop(L, top);
  return changed;
}

/* Whether the state at st belongs to the session at session (sid: the
** session's raw `_sid` at sid, or 0). A state refers to its session by
** number (`_sid`, raw): compared raw when both have one, which costs no
** call; otherwise through the state's `session` (a metamethod on a real
** state, a plain field on a test's). */
static int in_session(lua_State *L, int st, int session, int sid) {
  int same;
  if (sid && lua_type(L, sid) == LUA_TNUMBER) {
    lua_pushliteral(L, "_sid");
    lua_rawget(L, st);
    if (lua_type(L, -1) == LUA_TNUMBER) {
      same = lua_rawequal(L, -1, sid);
      lua_pop(L, 1);
      return same;
    }
    lua_pop(L, 1);
  }
  lua_getfield(L, st, "session");
  same = lua_rawequal(L, -1, session);
  lua_pop(L, 1);
  return same;
}

/* The {key, uselist} list of the mapper of the state at st, pushed: the
** mapper's _coll_rels, else rels_of(mapper) (rels_of at rels_of). */
static void push_rels(lua_State *L, int st, int rels_of) {
  lua_getfield(L, st, "mapper");
  lua_getfield(L, -1, "_coll_rels");
  if (!lua_istable(L, -1)) {
    lua_pop(L, 1);
    lua_pushvalue(L, rels_of);
    lua_pushvalue(L, -2);
    lua_call(L, 1, 1);
    if (!lua_istable(L, -1)) {
      qsB_raise(L, QS_ARGUMENT, "changed_collections: rels_of must return a table");
      return;
    }
  }
  lua_remove(L, -2);
}

/* The states of the set at tracked whose loaded collections differ from
** their snapshots, appended to the list at out; a state that left the
** session leaves tracked. The flush asks this over every loaded
** collection (the autoflush's yes/no test is orm/autoflush.lua's). */
static int scan_tracked(lua_State *L, int tracked, int session, int sid, int rels_of, int out) {
  int nout = 0, st = lua_gettop(L) + 1;
  lua_pushnil(L);
  while (lua_next(L, tracked)) {   /* st: state, st+1: value */
    int keep;
    lua_pop(L, 1);
    if (!lua_istable(L, st)) continue;
    keep = in_session(L, st, session, sid);
    if (!keep) {
      /* clearing a field during the walk is allowed (lua_next) */
      lua_pushvalue(L, st);
      lua_pushnil(L);
      lua_rawset(L, tracked);
      continue;
    }
    push_rels(L, st, rels_of);   /* st+1 */
    if (state_changed(L, st, st + 1)) {
      lua_pushvalue(L, st);
      lua_rawseti(L, out, ++nout);
    }
    lua_settop(L, st);
  }
  return nout;
}

/* core.changed_collections(tracked, session, rels_of): the states of the
** set tracked (state -> true) whose loaded collections differ from their
** snapshots; states no longer in session leave the set. rels_of(mapper)
** gives a mapper's {key, uselist} list when it has no _coll_rels yet. */
static int l_changed_collections(lua_State *L) {
  if (lua_type(L, 1) != LUA_TTABLE) return raise_type(L, "changed_collections", "tracked", 1);
  luaL_checktype(L, 3, LUA_TFUNCTION);
  lua_settop(L, 3);
  lua_pushliteral(L, "_sid");
  if (lua_istable(L, 2)) lua_rawget(L, 2); else { lua_pop(L, 1); lua_pushnil(L); }   /* 4 */
  lua_newtable(L);   /* 5: the changed states */
  scan_tracked(L, 1, 2, 4, 3, 5);
  return 1;
}

/* core.pick(t, keys): a new table with t[k] for each k of the list keys
** (nil values left out), sized for them at once. The flush's snapshot of
** every object it wrote: a table that grows key by key would be
** reallocated three or four times on the way. */
static int l_pick(lua_State *L) {
  int i, n;
  if (lua_type(L, 1) != LUA_TTABLE) return raise_type(L, "pick", "t", 1);
  if (lua_type(L, 2) != LUA_TTABLE) return raise_type(L, "pick", "keys", 2);
  n = (int)lua_rawlen(L, 2);
  lua_settop(L, 2);
  lua_createtable(L, 0, n);   /* 3 */
  for (i = 1; i <= n; i++) {
    lua_rawgeti(L, 2, i);     /* 4: the key */
    lua_pushvalue(L, 4);
    lua_rawget(L, 1);         /* 5: the value */
    if (lua_isnil(L, 5)) lua_pop(L, 2);
    else lua_rawset(L, 3);
  }
  return 1;
}

/* core.copy_list(list): list[1..#list] in a new table sized at once (a
** collection's snapshot). */
static int l_copy_list(lua_State *L) {
  int i, n;
  if (lua_type(L, 1) != LUA_TTABLE) return raise_type(L, "copy_list", "list", 1);
  n = (int)lua_rawlen(L, 1);
  lua_createtable(L, n, 0);
  for (i = 1; i <= n; i++) {
    lua_rawgeti(L, 1, i);
    lua_rawseti(L, -2, i);
  }
  return 1;
}

void qsB_open_uow(lua_State *L) {
  lua_pushcfunction(L, l_toposort);
  lua_setfield(L, -2, "toposort");
  lua_pushcfunction(L, l_changed_keys);
  lua_setfield(L, -2, "changed_keys");
  lua_pushcfunction(L, l_changed_collections);
  lua_setfield(L, -2, "changed_collections");
  lua_pushcfunction(L, l_pick);
  lua_setfield(L, -2, "pick");
  lua_pushcfunction(L, l_copy_list);
  lua_setfield(L, -2, "copy_list");
  qsB_export_orm_fields(L);
}
