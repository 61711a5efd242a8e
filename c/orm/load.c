/*
** load.c: the ORM's object loading loop in C. select(Model) turns every
** row into an object through the identity map; for the plain case (one
** primary-key column, no polymorphic discriminator, every attribute in
** the row, no load listeners) that is a fixed sequence of table reads and
** writes per row, done here without a Lua call per row, a metamethod
** call per column or a string per row (the map is keyed by the key
** value); objects laid out as orm/attributes.lua's bind lays them out
** (the value table their metatable, the state its). Rows it cannot take
** (another key type, a NaN key, an object in
** the map with expired attributes) are left to orm/loading.lua.
**
** core.load_objects(raw, from, base, spec, imap, session, out[, last]) -> next
**   raw: Rows; from, last: the indexes to take (last: #raw); base: the entity's column
**   offset; spec: {pk, keys, positions, mapper, state_mt, instance_mt
**   (the mapper's instance metamethods), state_key}; imap: the session's
**   identity map of the mapper's hierarchy (orm/identity.lua: keyed by the
**   primary-key value); out: the
**   objects by row index. Returns the index of the first row not taken
**   (#raw + 1 when all were).
*/
#include "lbinding.h"

#include <math.h>

/* The spec's fields, at fixed stack slots while the loop runs. */
enum { S_PK = 1, S_KEYS, S_POSITIONS, S_MAPPER, S_STATE_MT, S_INSTANCE_MT, S_STATE_KEY, S_N };

/* The names of the state's fields (c/orm/layout.h) and of the other
** instance metamethods, pushed once per call into stack slots: a field set
** by name (lua_setfield) interns its name again at every row. */
enum { K_MAPPER, K_OBJ, K_DICT, K_INDEX, K_KEY, K_SID, K_NFIELDS };
enum { K_NEWINDEX = K_NFIELDS, K_TOSTRING, K_N };

static const char *const key_names[K_NFIELDS] = {
  "mapper", "obj", "dict", "__index", "key", "_sid",
};
static const char *const meta_names[K_N - K_NFIELDS] = {"__newindex", "__tostring"};

static const char *const spec_fields[S_N] = {
  NULL, "pk", "keys", "positions", "mapper", "state_mt", "instance_mt", "state_key",
};

/* Pushes the identity-map key for the primary-key value at idx, as
** orm/identity.lua's value_key makes it: a number (not NaN) or a string is
** its own key (the table keys 1 and 1.0 as one, on Lua 5.4 and LuaJIT
** alike); returns 0 (nothing pushed) for a value the Lua side must key. */
static int push_key(lua_State *L, int idx) {
  int t = lua_type(L, idx);
  if (t == LUA_TSTRING || (t == LUA_TNUMBER && !isnan(lua_tonumber(L, idx)))) {
    lua_pushvalue(L, idx);
    return 1;
  }
  return 0;
}

static int l_load_objects(lua_State *L) {
  lua_Integer r, n, from, base;
  int spec[S_N], kslot[K_N], mslot[3];
  int i, nkeys, top, sid, plain_mt;
  luaL_checktype(L, 1, LUA_TTABLE);
  from = luaL_checkinteger(L, 2);
  base = luaL_checkinteger(L, 3);
  luaL_checktype(L, 4, LUA_TTABLE);
  luaL_checktype(L, 5, LUA_TTABLE);
  luaL_checktype(L, 7, LUA_TTABLE);
  n = (lua_Integer)lua_rawlen(L, 1);
  if (!lua_isnoneornil(L, 8)) {
    lua_Integer last = luaL_checkinteger(L, 8);
    if (last < n) n = last;
  }
  lua_settop(L, 7);
  for (i = 1; i < S_N; i++) {
    lua_getfield(L, 4, spec_fields[i]);
    spec[i] = lua_gettop(L);
  }
  if (!lua_istable(L, spec[S_KEYS]) ||
      !lua_istable(L, spec[S_POSITIONS]) || !lua_istable(L, spec[S_STATE_MT]) ||
      !lua_istable(L, spec[S_INSTANCE_MT]) || lua_isnil(L, spec[S_STATE_KEY]))
    return qsB_raise(L, QS_ARGUMENT, "load_objects: incomplete spec");
  nkeys = (int)lua_rawlen(L, spec[S_KEYS]);
  for (i = 0; i < K_NFIELDS; i++) {
    lua_pushstring(L, key_names[i]);
    kslot[i] = lua_gettop(L);
  }
  for (i = K_NFIELDS; i < K_N; i++) {
    lua_pushstring(L, meta_names[i - K_NFIELDS]);
    kslot[i] = lua_gettop(L);
  }
  /* the instance metamethods every value table gets (orm/attributes.lua
  ** instance_metatable: exactly these three), read once */
  {
    static const int mkeys[3] = {K_INDEX, K_NEWINDEX, K_TOSTRING};
    for (i = 0; i < 3; i++) {
      lua_pushvalue(L, kslot[mkeys[i]]);
      lua_rawget(L, spec[S_INSTANCE_MT]);
      mslot[i] = lua_gettop(L);
    }
  }
  /* any other metamethod there: copied key by key at each row instead */
  lua_pushnil(L);
  for (i = 0; lua_next(L, spec[S_INSTANCE_MT]); i++) lua_pop(L, 1);
  plain_mt = i == 3 && !lua_isnil(L, mslot[0]) && !lua_isnil(L, mslot[1]) && !lua_isnil(L, mslot[2]);
  lua_pushvalue(L, kslot[K_SID]);
  lua_rawget(L, 6);   /* the session's id (orm/attributes.lua session_id), if it has one */
  sid = lua_type(L, -1) == LUA_TNUMBER ? lua_gettop(L) : 0;
  luaL_checkstack(L, 12, "load_objects");   /* the loop's slots above top */
  top = lua_gettop(L);
  for (r = from; r <= n; r++) {
    int row, pkcol, j;
    lrow *rw;
    lua_rawgeti(L, 1, (int)r);
    row = lua_gettop(L);                                   /* top+1 */
    rw = (lrow *)luaL_testudata(L, row, QSB_ROW_MT);
    if (!rw) break;
    pkcol = (int)(base + lua_tointeger(L, spec[S_PK]));
    if (pkcol < 1 || pkcol > rw->n) break;
    qsL_getiuservalue(L, row, pkcol);                      /* top+2: the key value */
    if (lua_isnil(L, -1)) {                                /* no object (an outer join's side) */
      lua_settop(L, top);
      continue;
    }
    if (!push_key(L, top + 2)) break;                      /* top+3: the identity key */
    lua_pushvalue(L, top + 3);
    lua_rawget(L, 5);                                      /* top+4: imap[key] */
    if (!lua_isnil(L, top + 4)) {
      /* in the session already: as it is, unless attributes wait to load */
      lua_pushvalue(L, spec[S_STATE_KEY]);
      lua_rawget(L, top + 4);                              /* top+5: its state */
      if (!lua_istable(L, top + 5)) break;
      lua_pushliteral(L, "expired");   /* rare: a row of an object already loaded */
      lua_rawget(L, top + 5);
      if (!lua_isnil(L, -1)) break;
      lua_pushvalue(L, top + 4);
      lua_rawseti(L, 7, (int)r);
      lua_settop(L, top);
      continue;
    }
    lua_pop(L, 1);
    /* a new object: its value table from the row (sized for the values and
    ** the three metamethods, orm/attributes.lua bind), its state, itself.
    ** No committed values: they are kept only once an attribute changes */
    lua_createtable(L, 0, nkeys + 3);                      /* top+4: dict */
    lua_pushnil(L);                                        /* top+5: a free slot */
    for (j = 1; j <= nkeys; j++) {
      int col;
      lua_rawgeti(L, spec[S_POSITIONS], j);
      col = (int)(base + lua_tointeger(L, -1));
      lua_pop(L, 1);
      if (col < 1 || col > rw->n) {
        lua_pushfstring(L, "load_objects: column %d is outside the row's %d", col, rw->n);
        return qsB_raise(L, QS_ARGUMENT, lua_tostring(L, -1));
      }
      qsL_getiuservalue(L, row, col);                      /* top+6: the value */
      if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        continue;
      }
      lua_rawgeti(L, spec[S_KEYS], j);                     /* top+7: the attribute */
      lua_insert(L, top + 6);
      lua_rawset(L, top + 4);
    }
    /* the value table is the object's metatable: the instance metamethods
    ** (instance_mt's, copied), and __index itself, so a read of a value
    ** calls no function */
    if (plain_mt) {
      lua_pushvalue(L, kslot[K_NEWINDEX]);
      lua_pushvalue(L, mslot[1]);
      lua_rawset(L, top + 4);
      lua_pushvalue(L, kslot[K_TOSTRING]);
      lua_pushvalue(L, mslot[2]);
      lua_rawset(L, top + 4);
    } else {
      lua_pushnil(L);
      while (lua_next(L, spec[S_INSTANCE_MT])) {
        lua_pushvalue(L, -2);
        lua_insert(L, -2);
        lua_rawset(L, top + 4);
      }
    }
    lua_pushvalue(L, kslot[K_INDEX]);
    lua_pushvalue(L, top + 4);
    lua_rawset(L, top + 4);
    lua_createtable(L, 0, 1);                              /* top+6: the object */
    lua_createtable(L, 0, 8);                              /* top+7: its state */
    lua_pushvalue(L, kslot[K_MAPPER]);
    lua_pushvalue(L, spec[S_MAPPER]);
    lua_rawset(L, top + 7);
    lua_pushvalue(L, kslot[K_OBJ]);
    lua_pushvalue(L, top + 6);
    lua_rawset(L, top + 7);
    lua_pushvalue(L, kslot[K_DICT]);
    lua_pushvalue(L, top + 4);
    lua_rawset(L, top + 7);
    /* the state is the value table's metatable: its __index, the mapper's
    ** miss function, does what a key the value table lacks means */
    lua_pushvalue(L, kslot[K_INDEX]);
    lua_pushvalue(L, mslot[0]);
    lua_rawset(L, top + 7);
    lua_pushvalue(L, kslot[K_KEY]);
    lua_pushvalue(L, top + 3);
    lua_rawset(L, top + 7);
    /* the session, weakly: by the id attributes.lua's registry knows it by
    ** (a session without one is stored as it is, or as its metatable says) */
    if (sid) {
      lua_pushvalue(L, kslot[K_SID]);
      lua_pushvalue(L, sid);
      lua_rawset(L, top + 7);
    }
    lua_pushvalue(L, spec[S_STATE_MT]);
    lua_setmetatable(L, top + 7);
    if (!sid) {
      lua_pushvalue(L, 6);
      lua_setfield(L, top + 7, "session");
    }
    lua_pushvalue(L, spec[S_STATE_KEY]);
    lua_pushvalue(L, top + 7);
    lua_rawset(L, top + 6);                                /* obj[STATE] = state */
    lua_pushvalue(L, top + 7);
    lua_setmetatable(L, top + 4);                          /* dict's: the state */
    lua_pushvalue(L, top + 4);
    lua_setmetatable(L, top + 6);                          /* obj's: dict */
    lua_pushvalue(L, top + 3);
    lua_pushvalue(L, top + 6);
    lua_rawset(L, 5);                                      /* imap[key] = obj */
    lua_pushvalue(L, top + 6);
    lua_rawseti(L, 7, (int)r);
    lua_settop(L, top);
  }
  lua_pushinteger(L, r);
  return 1;
}

void qsB_open_load(lua_State *L) {
  lua_pushcfunction(L, l_load_objects);
  lua_setfield(L, -2, "load_objects");
}
