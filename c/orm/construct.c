/*
** construct.c: a new (transient) instance in one call, what `Model{...}`
** costs before the program's own fields: the object, its state and its
** value table, each made at its final size (no rehash as the metamethods,
** the state's fields and the values go in), laid out as
** orm/attributes.lua's bind lays them out (the value table the object's
** metatable, the state the value table's), the polymorphic identity set,
** and the fields the constructor can write straight into the value table
** (orm/mapper.lua's direct keys) written. orm/mapper.lua calls it from
** ClassMeta.__call; anything else the fields hold (relationships,
** validated columns, hybrids, bad keys) is left to mapper.lua's
** default_init, which takes the whole table again.
**
** core.new_instance(spec, fields) -> obj, state, rest
**   spec    the mapper's constructor spec (layout.h QS_CONSTRUCT_SPEC)
**   fields  the constructor's argument (nil: none)
**   rest    true when fields holds a key that is not a direct one, is not
**           a plain table (a metatable: its __pairs is the Lua side's
**           business) or is an instance: the caller runs default_init
**
** core.check_members, core.link_members: a new object's first collection
** (orm/attributes.lua set_collection), below.
**
** core.construct_spec_fields: QS_CONSTRUCT_SPEC's name -> position.
**
** orm/construct_jit.lua is the same in Lua, for LuaJIT.
*/
#include "lbinding.h"
#include "layout.h"

enum {
#define QS_CONSTRUCT_SPEC_ENUM(name, position, form, meaning) CS_##name = position,
  QS_CONSTRUCT_SPEC(QS_CONSTRUCT_SPEC_ENUM)
#undef QS_CONSTRUCT_SPEC_ENUM
  CS_END
};

/* The state's field names (c/orm/layout.h) and the value table's other
** metamethods, held as the functions' upvalues: interned once, not at
** every object (lua_pushstring hashes its argument at each call). */
enum { K_MAPPER, K_OBJ, K_DICT, K_INDEX, K_LOADED, K_M2O_SET, K_SID, K_MODIFIED, K_NFIELDS };
enum { K_NEWINDEX = K_NFIELDS, K_TOSTRING, K_N };

static const char *const key_names[K_NFIELDS] = {
  "mapper", "obj", "dict", "__index", "loaded", "m2o_set", "_sid", "modified",
};
static const char *const meta_names[K_N - K_NFIELDS] = {"__newindex", "__tostring"};

#define NAME(k) lua_upvalueindex((k) + 1)

/* Slots of the spec's fields read once per call. */
enum { A_SPEC = 1, A_FIELDS, A_MAPPER, A_STATE_MT, A_STATE_KEY, A_INDEX, A_NEWINDEX, A_TOSTRING,
       A_DICT, A_OBJ, A_STATE, A_TOP = A_STATE };

static int l_new_instance(lua_State *L) {
  int dict_size, state_size, rest = 0;
  luaL_checktype(L, A_SPEC, LUA_TTABLE);
  lua_settop(L, A_FIELDS);
  lua_rawgeti(L, A_SPEC, CS_mapper);
  lua_rawgeti(L, A_SPEC, CS_state_mt);
  lua_rawgeti(L, A_SPEC, CS_state_key);
  lua_rawgeti(L, A_SPEC, CS_index);
  lua_rawgeti(L, A_SPEC, CS_newindex);
  lua_rawgeti(L, A_SPEC, CS_tostring);
  if (!lua_istable(L, A_MAPPER) || !lua_istable(L, A_STATE_MT) || lua_isnil(L, A_STATE_KEY) ||
      lua_isnil(L, A_INDEX) || lua_isnil(L, A_NEWINDEX) || lua_isnil(L, A_TOSTRING))
    return qsB_raise(L, QS_ARGUMENT, "new_instance: incomplete spec");
  lua_rawgeti(L, A_SPEC, CS_dict_size);
  dict_size = (int)lua_tointeger(L, -1);
  lua_rawgeti(L, A_SPEC, CS_state_size);
  state_size = (int)lua_tointeger(L, -1);
  lua_pop(L, 2);
  if (dict_size < 3) dict_size = 3;
  if (state_size < 4) state_size = 4;

  lua_createtable(L, 0, dict_size);                       /* A_DICT */
  lua_createtable(L, 0, 1);                               /* A_OBJ */
  lua_createtable(L, 0, state_size);                      /* A_STATE */
  luaL_checkstack(L, 6, "new_instance");

  /* the value table: its metamethods, __index itself (a read of a value
  ** calls no function), its metatable the state */
  lua_pushvalue(L, NAME(K_INDEX));
  lua_pushvalue(L, A_DICT);
  lua_rawset(L, A_DICT);
  lua_pushvalue(L, NAME(K_NEWINDEX));
  lua_pushvalue(L, A_NEWINDEX);
  lua_rawset(L, A_DICT);
  lua_pushvalue(L, NAME(K_TOSTRING));
  lua_pushvalue(L, A_TOSTRING);
  lua_rawset(L, A_DICT);

  /* the state: mapper, obj, dict, and the miss function as its raw
  ** __index (a key the value table lacks) */
  lua_pushvalue(L, NAME(K_MAPPER));
  lua_pushvalue(L, A_MAPPER);
  lua_rawset(L, A_STATE);
  lua_pushvalue(L, NAME(K_OBJ));
  lua_pushvalue(L, A_OBJ);
  lua_rawset(L, A_STATE);
  lua_pushvalue(L, NAME(K_DICT));
  lua_pushvalue(L, A_DICT);
  lua_rawset(L, A_STATE);
  lua_pushvalue(L, NAME(K_INDEX));
  lua_pushvalue(L, A_INDEX);
  lua_rawset(L, A_STATE);
  lua_pushvalue(L, A_STATE_MT);
  lua_setmetatable(L, A_STATE);

  lua_pushvalue(L, A_STATE_KEY);
  lua_pushvalue(L, A_STATE);
  lua_rawset(L, A_OBJ);                                   /* obj[STATE] = state */
  lua_pushvalue(L, A_STATE);
  lua_setmetatable(L, A_DICT);
  lua_pushvalue(L, A_DICT);
  lua_setmetatable(L, A_OBJ);

  lua_rawgeti(L, A_SPEC, CS_poly_key);
  if (!lua_isnil(L, -1)) {
    lua_rawgeti(L, A_SPEC, CS_poly_value);
    lua_rawset(L, A_DICT);
  } else {
    lua_pop(L, 1);
  }

  /* the fields: the direct keys' values into the value table (a NULL
  ** leaves the key out); at the first other key the caller takes over */
  if (!lua_isnil(L, A_FIELDS)) {
    if (!lua_istable(L, A_FIELDS) || lua_getmetatable(L, A_FIELDS)) {
      rest = 1;   /* (a metatable pushed is dropped by the settop below) */
    } else {
      lua_pushvalue(L, A_STATE_KEY);
      lua_rawget(L, A_FIELDS);
      if (!lua_isnil(L, -1)) rest = 1;
      lua_pop(L, 1);
    }
    if (!rest) {
      lua_rawgeti(L, A_SPEC, CS_direct);                  /* A_TOP+1 */
      lua_rawgeti(L, A_SPEC, CS_null);                    /* A_TOP+2 */
      if (!lua_istable(L, A_TOP + 1)) return qsB_raise(L, QS_ARGUMENT, "new_instance: incomplete spec");
      lua_pushnil(L);
      while (lua_next(L, A_FIELDS)) {                     /* A_TOP+3: key, A_TOP+4: value */
        lua_pushvalue(L, A_TOP + 3);
        lua_rawget(L, A_TOP + 1);
        if (lua_isnil(L, -1)) {
          rest = 1;
          break;
        }
        lua_pop(L, 1);
        if (lua_rawequal(L, A_TOP + 4, A_TOP + 2)) {
          lua_pop(L, 1);
          continue;
        }
        lua_pushvalue(L, A_TOP + 3);
        lua_insert(L, A_TOP + 4);
        lua_rawset(L, A_DICT);
      }
    }
  }
  lua_settop(L, A_TOP);
  lua_pushboolean(L, rest);                               /* obj, state, rest */
  return 3;
}

/* core.check_members(list, state_key, mapper) -> i | nil: the index of
** the first element of list that is not an instance of exactly mapper
** (the caller's check_target says whether a subclass's, or raises). */
static int l_check_members(lua_State *L) {
  lua_Integer i, n;
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 3);
  n = (lua_Integer)lua_rawlen(L, 1);
  for (i = 1; i <= n; i++) {
    int ok = 0;
    lua_rawgeti(L, 1, (int)i);                             /* 4: the member */
    if (lua_istable(L, 4)) {
      lua_pushvalue(L, 2);
      lua_rawget(L, 4);                                    /* 5: its state */
      if (lua_istable(L, 5)) {
        lua_pushvalue(L, NAME(K_MAPPER));
        lua_rawget(L, 5);
        ok = lua_rawequal(L, -1, 3);
      }
    }
    lua_settop(L, 3);
    if (!ok) {
      lua_pushinteger(L, i);
      return 1;
    }
  }
  return 0;
}

/* core.link_members(list, from, owner, key, state_key, m2o_set) -> fresh, stop
** A new collection's members from index from on point back at owner
** under the many-to-one key, as orm/attributes.lua's set_collection does
** for a member in no session that no relationship was set or read on:
** dict[key] = owner, loaded = {[key] = true}, m2o_set the shared set
** given, modified = true. A member pointing at owner already is passed;
** stops at the first other one (stop: its index, #list + 1 when none),
** which the caller takes. fresh: the members linked. */
static int l_link_members(lua_State *L) {
  lua_Integer i, n, fresh = 0;
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 6);
  n = (lua_Integer)lua_rawlen(L, 1);
  luaL_checkstack(L, 8, "link_members");
  for (i = luaL_checkinteger(L, 2); i <= n; i++) {
    lua_rawgeti(L, 1, (int)i);                             /* 7: the member */
    lua_pushvalue(L, 5);
    lua_rawget(L, 7);                                      /* 8: its state */
    if (!lua_istable(L, 8)) break;
    lua_pushvalue(L, NAME(K_DICT));
    lua_rawget(L, 8);                                      /* 9: its value table */
    if (!lua_istable(L, 9)) break;
    lua_pushvalue(L, 4);
    lua_rawget(L, 9);
    if (lua_rawequal(L, -1, 3)) {                          /* pointing here already */
      lua_settop(L, 6);
      continue;
    }
    lua_pop(L, 1);
    lua_pushvalue(L, NAME(K_LOADED));
    lua_rawget(L, 8);
    lua_pushvalue(L, NAME(K_M2O_SET));
    lua_rawget(L, 8);
    lua_pushvalue(L, NAME(K_SID));
    lua_rawget(L, 8);
    if (!lua_isnil(L, -1) || !lua_isnil(L, -2) || !lua_isnil(L, -3)) break;
    lua_settop(L, 9);
    lua_pushvalue(L, 4);
    lua_pushvalue(L, 3);
    lua_rawset(L, 9);                                      /* dict[key] = owner */
    lua_pushvalue(L, NAME(K_LOADED));
    lua_createtable(L, 0, 1);
    lua_pushvalue(L, 4);
    lua_pushboolean(L, 1);
    lua_rawset(L, -3);
    lua_rawset(L, 8);                                      /* loaded = {[key] = true} */
    lua_pushvalue(L, NAME(K_M2O_SET));
    lua_pushvalue(L, 6);
    lua_rawset(L, 8);
    lua_pushvalue(L, NAME(K_MODIFIED));
    lua_rawget(L, 8);
    if (!lua_toboolean(L, -1)) {
      lua_pushvalue(L, NAME(K_MODIFIED));
      lua_pushboolean(L, 1);
      lua_rawset(L, 8);
    }
    lua_settop(L, 6);
    fresh++;
  }
  lua_pushinteger(L, fresh);
  lua_pushinteger(L, i);
  return 2;
}

/* The names the functions hold as upvalues: interned once. */
static void push_names(lua_State *L) {
  int i;
  for (i = 0; i < K_NFIELDS; i++) lua_pushstring(L, key_names[i]);
  for (i = K_NFIELDS; i < K_N; i++) lua_pushstring(L, meta_names[i - K_NFIELDS]);
}

void qsB_open_construct(lua_State *L) {
  push_names(L);
  lua_pushcclosure(L, l_new_instance, K_N);
  lua_setfield(L, -2, "new_instance");
  push_names(L);
  lua_pushcclosure(L, l_check_members, K_N);
  lua_setfield(L, -2, "check_members");
  push_names(L);
  lua_pushcclosure(L, l_link_members, K_N);
  lua_setfield(L, -2, "link_members");
  lua_newtable(L);
#define QS_CONSTRUCT_SPEC_SET(name, position, form, meaning) \
  lua_pushinteger(L, position);                             \
  lua_setfield(L, -2, #name);
  QS_CONSTRUCT_SPEC(QS_CONSTRUCT_SPEC_SET)
#undef QS_CONSTRUCT_SPEC_SET
  lua_setfield(L, -2, "construct_spec_fields");
}
