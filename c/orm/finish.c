/*
** finish.c: the end of a flush and a commit's expiry in C. After a flush
** every inserted object gets its identity key and its place in the
** session's identity map, and every written object forgets the old values
** it kept; after a commit (expire_on_commit) every object of the identity
** maps is expired. Each is a loop over every object of the flush or the
** session: one C pass per list, with Lua called only for what is rare (a
** key that is neither a number nor a string, a composite key, a mapper
** without its map yet, column expressions to expire, loaded collections to
** snapshot). The state tables are laid out as orm/attributes.lua makes
** them (c/orm/layout.h); what a mapper contributes comes from one Lua list
** per mapper (orm/state_spec.lua), read by position.
**
** core.finish_inserted(states, imaps, nan, tx_new, spec_of, key_of, map_of,
**                      expire_exprs) -> 0 | i
**   states: the inserted states (flush_finish.lua); imaps: the session's
**   maps by base mapper (orm/identity.lua); nan: identity.NAN; tx_new: the
**   transaction's list of objects made persistent (appended to); spec_of(m)
**   -> the mapper's spec; key_of(st) -> the key identity.key makes (or
**   nil); map_of(st) -> the map of st's hierarchy, made; expire_exprs(st):
**   marks st's column expressions expired. Returns the position of the
**   first state whose key is NULL (those before it are done; the caller
**   raises), or 0.
** core.finish_snapshots(states, session, delete_set, modified, changed,
**                       spec_of, snap_colls)
**   For each state still in session and not in delete_set: its kept old
**   values forgotten (all when changed is false; else those of the list
**   changed[st], none when it has no entry), snap_colls(st) when it has
**   loaded relationships and its mapper snapshots collections, modified =
**   false, m2o_set = nil, modified[st] = nil.
** core.expire_all(imaps, state_key, spec_of) -> n
**   orm/expiry.lua's expire_all_of for every object of the maps (the
**   session's _modified and _collections are the caller's to clear).
*/
#include "lbinding.h"

#include <math.h>

/* A mapper's spec (orm/state_spec.lua), by position. */
enum {
  SP_PK_KEYS = 1, SP_BASE, SP_HAS_EXPR, SP_HAS_SNAP, SP_EXPIRE_KEYS, SP_REL_KEYS,
  SP_ALL_EXPIRED, SP_CLEAR_FIELDS
};

static void check_table(lua_State *L, int idx, const char *fn, const char *what) {
  if (!lua_istable(L, idx)) {
    lua_pushfstring(L, "%s: %s must be a table, got %s", fn, what,
                    lua_isnoneornil(L, idx) ? "nil" : luaL_typename(L, idx));
    qsB_raise(L, QS_ARGUMENT, lua_tostring(L, -1));
  }
}

/* The state at list[i] (raises naming the entry when it is no table). */
static void push_state(lua_State *L, const char *fn, int list, int i) {
  lua_rawgeti(L, list, i);
  if (!lua_istable(L, -1)) {
    lua_pushfstring(L, "%s: states[%d] must be a state table, got %s", fn, i,
                    luaL_typename(L, -2));
    qsB_raise(L, QS_ARGUMENT, lua_tostring(L, -1));
  }
}

/* The spec of the mapper at slot m into slot spec: the cached one when m
** is the mapper at slot last (the states of a list mostly share one), else
** from the call's cache table, else from spec_of(m) (checked, cached). */
static void spec_for(lua_State *L, const char *fn, int m, int last, int spec, int cache,
                     int spec_of) {
  if (lua_rawequal(L, m, last)) return;
  lua_pushvalue(L, m);
  lua_rawget(L, cache);
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    if (!lua_istable(L, m)) {
      lua_pushfstring(L, "%s: a state's mapper must be a table, got %s", fn, luaL_typename(L, m));
      qsB_raise(L, QS_ARGUMENT, lua_tostring(L, -1));
    }
    lua_pushvalue(L, spec_of);
    lua_pushvalue(L, m);
    lua_call(L, 1, 1);
    if (!lua_istable(L, -1)) qsB_raise(L, QS_ARGUMENT, "finish: spec_of(mapper) must return a table");
    lua_rawgeti(L, -1, SP_PK_KEYS);
    lua_rawgeti(L, -2, SP_EXPIRE_KEYS);
    lua_rawgeti(L, -3, SP_REL_KEYS);
    lua_rawgeti(L, -4, SP_CLEAR_FIELDS);
    if (!lua_istable(L, -1) || !lua_istable(L, -2) || !lua_istable(L, -3) || !lua_istable(L, -4))
      qsB_raise(L, QS_ARGUMENT, "finish: a mapper's spec lacks one of its lists");
    lua_pop(L, 4);
    lua_pushvalue(L, m);
    lua_pushvalue(L, -2);
    lua_rawset(L, cache);
  }
  lua_replace(L, spec);
  lua_pushvalue(L, m);
  lua_replace(L, last);
}

static int spec_flag(lua_State *L, int spec, int pos) {
  int b;
  lua_rawgeti(L, spec, pos);
  b = lua_toboolean(L, -1);
  lua_pop(L, 1);
  return b;
}

/* Pushes the identity key of st (slot) as identity.lua makes it; pushes
** nil for a NULL key. Numbers (NaN: the sentinel) and strings of a
** single-column key here, as load.c; every other key from key_of(st). */
static void push_identity_key(lua_State *L, int st, int dict, int spec, int nan, int key_of) {
  int t;
  lua_rawgeti(L, spec, SP_PK_KEYS);
  if (lua_rawlen(L, -1) == 1) {
    lua_rawgeti(L, -1, 1);
    lua_rawget(L, dict);                    /* the key value, raw */
    lua_remove(L, -2);
    t = lua_type(L, -1);
    if (t == LUA_TSTRING || t == LUA_TNIL) return;
    if (t == LUA_TNUMBER) {
      if (isnan(lua_tonumber(L, -1))) {
        lua_pop(L, 1);
        lua_pushvalue(L, nan);
      }
      return;
    }
  }
  lua_pop(L, 1);
  lua_pushvalue(L, key_of);
  lua_pushvalue(L, st);
  lua_call(L, 1, 1);
}

/* Sets t[k] = nil for every k of the list at list (t raw). */
static void clear_keys(lua_State *L, int t, int list) {
  int j, nk = (int)lua_rawlen(L, list);
  for (j = 1; j <= nk; j++) {
    lua_rawgeti(L, list, j);
    lua_pushnil(L);
    lua_rawset(L, t);
  }
}

/* Whether the state at st is in the session at slot session (sid: the
** session's id, or 0 when it has none: then st.session is asked). */
static int in_session(lua_State *L, int st, int session, lua_Number sid) {
  int in;
  if (sid != 0) {
    lua_pushliteral(L, "_sid");
    lua_rawget(L, st);
    in = lua_type(L, -1) == LUA_TNUMBER && lua_tonumber(L, -1) == sid;
  } else {
    lua_getfield(L, st, "session");
    in = lua_rawequal(L, -1, session);
  }
  lua_pop(L, 1);
  return in;
}

/* What flush_finish.snapshot does to the state at st (its mapper at
** st + 1, whose spec is at spec): the kept old values forgotten (all when
** changed is 0, else those listed in changed[st]), snap_colls(st) for
** loaded collections, modified = false, m2o_set = nil, and st out of the
** session's modified set (at modified). Leaves the stack as it found it. */
static void snapshot_state(lua_State *L, int st, int spec, int changed, int modified,
                           int snap_colls) {
  int top = lua_gettop(L);
  /* the old values kept for changed attributes: all forgotten (a new
  ** row), or those of the attributes just written (an updated row) */
  if (!changed) {
    lua_pushliteral(L, "committed");
    lua_pushnil(L);
    lua_rawset(L, st);
  } else {
    lua_pushliteral(L, "committed");
    lua_rawget(L, st);                    /* top + 1 */
    if (lua_istable(L, top + 1)) {
      lua_pushvalue(L, st);
      lua_rawget(L, changed);             /* top + 2: the keys written */
      if (lua_istable(L, top + 2)) {
        clear_keys(L, top + 1, top + 2);
        lua_pushnil(L);
        if (lua_next(L, top + 1)) {
          lua_pop(L, 2);
        } else {
          lua_pushliteral(L, "committed");
          lua_pushnil(L);
          lua_rawset(L, st);
        }
      }
    }
    lua_settop(L, top);
  }
  /* loaded collections: their snapshots are Lua's to take */
  if (spec_flag(L, spec, SP_HAS_SNAP)) {
    int has_loaded;
    lua_pushliteral(L, "loaded");
    lua_rawget(L, st);
    has_loaded = lua_istable(L, -1);
    lua_pop(L, 1);
    if (has_loaded) {
      lua_pushvalue(L, snap_colls);
      lua_pushvalue(L, st);
      lua_call(L, 1, 0);
    }
  }
  lua_pushliteral(L, "modified");
  lua_rawget(L, st);
  if (!lua_isboolean(L, -1) || lua_toboolean(L, -1)) {
    lua_pushliteral(L, "modified");
    lua_pushboolean(L, 0);
    lua_rawset(L, st);
  }
  lua_pop(L, 1);
  lua_pushliteral(L, "m2o_set");
  lua_rawget(L, st);
  if (!lua_isnil(L, -1)) {
    lua_pushliteral(L, "m2o_set");
    lua_pushnil(L);
    lua_rawset(L, st);
  }
  lua_pop(L, 1);
  lua_pushvalue(L, st);
  lua_pushnil(L);
  lua_rawset(L, modified);                /* modified[st] = nil */
  lua_settop(L, top);
}

static int l_finish_inserted(lua_State *L) {
  static const char fn[] = "finish_inserted";
  lua_Integer i, n, ntx;
  lua_Number sid = 0;
  int cache, last, spec, base, map;
  check_table(L, 1, fn, "states");
  check_table(L, 2, fn, "imaps");
  check_table(L, 4, fn, "tx_new");
  for (i = 5; i <= 8; i++) luaL_checktype(L, (int)i, LUA_TFUNCTION);
  check_table(L, 9, fn, "session");
  check_table(L, 10, fn, "delete_set");
  check_table(L, 11, fn, "modified");
  luaL_checktype(L, 12, LUA_TFUNCTION);
  lua_settop(L, 12);
  n = (lua_Integer)lua_rawlen(L, 1);
  ntx = (lua_Integer)lua_rawlen(L, 4);
  lua_pushliteral(L, "_sid");
  lua_rawget(L, 9);
  if (lua_type(L, -1) == LUA_TNUMBER) sid = lua_tonumber(L, -1);
  lua_pop(L, 1);
  lua_newtable(L);
  cache = lua_gettop(L);                    /* 13: mapper -> spec */
  lua_pushnil(L);
  last = lua_gettop(L);                     /* 14: the last mapper */
  lua_pushnil(L);
  spec = lua_gettop(L);                     /* 15: its spec */
  lua_pushnil(L);
  base = lua_gettop(L);                     /* 16: the last base mapper */
  lua_pushnil(L);
  map = lua_gettop(L);                      /* 17: its map */
  luaL_checkstack(L, 12, fn);
  for (i = 1; i <= n; i++) {
    int st, m, dict, key;
    push_state(L, fn, 1, (int)i);
    st = lua_gettop(L);                     /* 18 */
    lua_pushliteral(L, "mapper");
    lua_rawget(L, st);
    m = st + 1;
    spec_for(L, fn, m, last, spec, cache, 5);
    lua_pushliteral(L, "dict");
    lua_rawget(L, st);
    dict = st + 2;
    if (!lua_istable(L, dict)) qsB_raise(L, QS_ARGUMENT, "finish_inserted: a state without its value table");
    push_identity_key(L, st, dict, spec, 3, 6);
    key = st + 3;
    if (lua_isnil(L, key)) {
      lua_pushinteger(L, i);
      return 1;
    }
    /* its snapshot first, when it stays the session's: the fields that
    ** drop out make room for its key (a state table whose slots are all
    ** taken grows to twice its size for one more) */
    lua_pushvalue(L, st);
    lua_rawget(L, 10);
    if (lua_isnil(L, -1) && in_session(L, st, 9, sid)) {
      lua_pop(L, 1);
      snapshot_state(L, st, spec, 0, 11, 12);
    } else {
      lua_pop(L, 1);
    }
    lua_pushliteral(L, "key");
    lua_pushvalue(L, key);
    lua_rawset(L, st);                      /* st.key */
    /* the map of its hierarchy: the last one's when the base is the same */
    lua_rawgeti(L, spec, SP_BASE);
    if (!lua_rawequal(L, -1, base)) {
      lua_replace(L, base);
      lua_pushvalue(L, base);
      lua_rawget(L, 2);
      if (!lua_istable(L, -1)) {
        lua_pop(L, 1);
        lua_pushvalue(L, 7);
        lua_pushvalue(L, st);
        lua_call(L, 1, 1);
        if (!lua_istable(L, -1)) qsB_raise(L, QS_ARGUMENT, "finish_inserted: map_of(st) must return a table");
      }
      lua_replace(L, map);
    } else {
      lua_pop(L, 1);
    }
    lua_pushvalue(L, key);
    lua_pushliteral(L, "obj");
    lua_rawget(L, st);
    lua_rawset(L, map);                     /* map[key] = obj */
    lua_pushvalue(L, st);
    lua_rawseti(L, 4, ++ntx);               /* tx_new */
    if (spec_flag(L, spec, SP_HAS_EXPR)) {
      lua_pushvalue(L, 8);
      lua_pushvalue(L, st);
      lua_call(L, 1, 0);
    }
    lua_settop(L, st - 1);
  }
  lua_pushinteger(L, 0);
  return 1;
}

static int l_finish_snapshots(lua_State *L) {
  static const char fn[] = "finish_snapshots";
  lua_Integer i, n;
  lua_Number sid = 0;
  int cache, last, spec, all, keyless;
  check_table(L, 1, fn, "states");
  check_table(L, 2, fn, "session");
  check_table(L, 3, fn, "delete_set");
  check_table(L, 4, fn, "modified");
  all = !lua_toboolean(L, 5);
  if (!all) check_table(L, 5, fn, "changed");
  luaL_checktype(L, 6, LUA_TFUNCTION);
  luaL_checktype(L, 7, LUA_TFUNCTION);
  keyless = lua_toboolean(L, 8);
  lua_settop(L, 7);
  n = (lua_Integer)lua_rawlen(L, 1);
  lua_pushliteral(L, "_sid");
  lua_rawget(L, 2);
  if (lua_type(L, -1) == LUA_TNUMBER) sid = lua_tonumber(L, -1);
  lua_pop(L, 1);
  lua_newtable(L);
  cache = lua_gettop(L);                    /* 8 */
  lua_pushnil(L);
  last = lua_gettop(L);                     /* 9 */
  lua_pushnil(L);
  spec = lua_gettop(L);                     /* 10 */
  luaL_checkstack(L, 12, fn);
  for (i = 1; i <= n; i++) {
    int st, m;
    push_state(L, fn, 1, (int)i);
    st = lua_gettop(L);                     /* 11 */
    if (keyless) {                          /* finish_inserted took those with keys */
      lua_pushliteral(L, "key");
      lua_rawget(L, st);
      if (!lua_isnil(L, -1)) {
        lua_settop(L, st - 1);
        continue;
      }
      lua_pop(L, 1);
    }
    lua_pushvalue(L, st);
    lua_rawget(L, 3);
    if (!lua_isnil(L, -1) || !in_session(L, st, 2, sid)) {
      lua_settop(L, st - 1);
      continue;
    }
    lua_pop(L, 1);
    lua_pushliteral(L, "mapper");
    lua_rawget(L, st);
    m = st + 1;
    spec_for(L, fn, m, last, spec, cache, 6);
    snapshot_state(L, st, spec, all ? 0 : 5, 4, 7);
    lua_settop(L, st - 1);
  }
  return 0;
}

/* expire_all_of for the state at st, whose mapper's spec is at spec. */
static void expire_state(lua_State *L, int st, int spec) {
  int top = lua_gettop(L), dict, keys;
  lua_pushliteral(L, "dict");
  lua_rawget(L, st);
  dict = top + 1;
  if (!lua_istable(L, dict)) qsB_raise(L, QS_ARGUMENT, "expire_all: a state without its value table");
  lua_rawgeti(L, spec, SP_EXPIRE_KEYS);
  keys = top + 2;
  clear_keys(L, dict, keys);
  /* their old values go too; a changed primary key's stay */
  lua_pushliteral(L, "committed");
  lua_rawget(L, st);
  if (lua_istable(L, top + 3)) {
    clear_keys(L, top + 3, keys);
    lua_pushnil(L);
    if (lua_next(L, top + 3)) {
      lua_pop(L, 2);
    } else {
      lua_pushliteral(L, "committed");
      lua_pushnil(L);
      lua_rawset(L, st);
    }
  }
  lua_settop(L, keys);
  lua_rawgeti(L, spec, SP_REL_KEYS);
  clear_keys(L, dict, top + 3);
  /* the relationship bookkeeping, made again at first use (dropped
  ** first: the room it leaves may take the expired set) */
  lua_rawgeti(L, spec, SP_CLEAR_FIELDS);
  clear_keys(L, st, top + 4);
  /* every expirable attribute: the mapper's shared set */
  lua_pushliteral(L, "expired");
  lua_rawgeti(L, spec, SP_ALL_EXPIRED);
  if (!lua_toboolean(L, -1)) {
    lua_pop(L, 1);
    lua_pushnil(L);
  }
  lua_rawset(L, st);
  lua_pushliteral(L, "modified");
  lua_pushboolean(L, 0);
  lua_rawset(L, st);
  lua_settop(L, top);
}

static int l_expire_all(lua_State *L) {
  static const char fn[] = "expire_all";
  lua_Integer count = 0;
  int cache, last, spec;
  check_table(L, 1, fn, "imaps");
  luaL_checkany(L, 2);
  luaL_checktype(L, 3, LUA_TFUNCTION);
  lua_settop(L, 3);
  lua_newtable(L);
  cache = lua_gettop(L);                    /* 4 */
  lua_pushnil(L);
  last = lua_gettop(L);                     /* 5 */
  lua_pushnil(L);
  spec = lua_gettop(L);                     /* 6 */
  luaL_checkstack(L, 16, fn);
  lua_pushnil(L);
  while (lua_next(L, 1)) {                  /* 7: base mapper, 8: its map */
    if (lua_istable(L, 8)) {
      lua_pushnil(L);
      while (lua_next(L, 8)) {              /* 9: key, 10: object */
        if (lua_istable(L, 10)) {
          lua_pushvalue(L, 2);
          lua_rawget(L, 10);                /* 11: its state */
          if (lua_istable(L, 11)) {
            lua_pushliteral(L, "mapper");
            lua_rawget(L, 11);     /* 12 */
            spec_for(L, fn, 12, last, spec, cache, 3);
            expire_state(L, 11, spec);
            count++;
          }
        }
        lua_settop(L, 9);
      }
    }
    lua_settop(L, 7);
  }
  lua_pushinteger(L, count);
  return 1;
}

void qsB_open_finish(lua_State *L) {
  lua_pushcfunction(L, l_finish_inserted);
  lua_setfield(L, -2, "finish_inserted");
  lua_pushcfunction(L, l_finish_snapshots);
  lua_setfield(L, -2, "finish_snapshots");
  lua_pushcfunction(L, l_expire_all);
  lua_setfield(L, -2, "expire_all");
}
