/*
** compat.h: the Lua C API differences between 5.1/LuaJIT and 5.4, in one
** place, so the binding is written once against the 5.4 shape.
**
** - qsL_newuserdatauv / qsL_getiuservalue / qsL_setiuservalue: 5.4 gives a
**   userdata n user values; before 5.4 they live in one table (the
**   environment in 5.1, the user value in 5.2/5.3).
** - Integers: 5.3+ has them; before, integral doubles stand in (ids above
**   2^53 lose precision there, which docs/ARCHITECTURE.md records).
** - lua_getfield/lua_rawget/lua_rawgeti return the type only since 5.3.
*/
#ifndef QS_COMPAT_H
#define QS_COMPAT_H

#include <lua.h>
#include <lauxlib.h>
#include <stdint.h>

#if LUA_VERSION_NUM == 501
#ifndef lua_absindex
#define lua_absindex(L, i) \
  (((i) > 0 || (i) <= LUA_REGISTRYINDEX) ? (i) : lua_gettop(L) + (i) + 1)
#endif
#define lua_rawlen(L, i) lua_objlen((L), (i))
/* LuaJIT 2.1 has these 5.2 functions (and defines luaL_newlib); plain 5.1 does not. */
#ifndef luaL_newlib
#define luaL_setfuncs(L, l, nup) luaL_register((L), NULL, (l))
#define luaL_newlibtable(L, l) lua_createtable((L), 0, sizeof(l) / sizeof((l)[0]) - 1)
#define luaL_newlib(L, l) (luaL_newlibtable(L, l), luaL_setfuncs(L, l, 0))
static inline void *luaL_testudata(lua_State *L, int idx, const char *tname) {
  void *p = lua_touserdata(L, idx);
  if (p == NULL || !lua_getmetatable(L, idx)) return NULL;
  luaL_getmetatable(L, tname);
  if (!lua_rawequal(L, -1, -2)) p = NULL;
  lua_pop(L, 2);
  return p;
}
static inline void luaL_setmetatable(lua_State *L, const char *tname) {
  luaL_getmetatable(L, tname);
  lua_setmetatable(L, -2);
}
#endif
/* luaL_tolstring: tostring() semantics, result pushed. */
static inline const char *luaL_tolstring(lua_State *L, int idx, size_t *len) {
  idx = lua_absindex(L, idx);
  lua_getglobal(L, "tostring");
  lua_pushvalue(L, idx);
  lua_call(L, 1, 1);
  return lua_tolstring(L, -1, len);
}
#endif

#if LUA_VERSION_NUM >= 504

#define qsL_newuserdatauv(L, sz, n) lua_newuserdatauv((L), (sz), (n))
#define qsL_getiuservalue(L, idx, n) lua_getiuservalue((L), (idx), (n))
#define qsL_setiuservalue(L, idx, n) lua_setiuservalue((L), (idx), (n))

#else

#if LUA_VERSION_NUM == 501
#define qsL_getuv_(L, idx) lua_getfenv((L), (idx))
#define qsL_setuv_(L, idx) lua_setfenv((L), (idx))
#else
#define qsL_getuv_(L, idx) lua_getuservalue((L), (idx))
#define qsL_setuv_(L, idx) lua_setuservalue((L), (idx))
#endif

static inline void *qsL_newuserdatauv(lua_State *L, size_t sz, int n) {
  void *p = lua_newuserdata(L, sz);
  lua_createtable(L, n, 0);
  qsL_setuv_(L, -2);
  return p;
}

static inline int qsL_getiuservalue(lua_State *L, int idx, int n) {
  idx = lua_absindex(L, idx);
  qsL_getuv_(L, idx);
  if (!lua_istable(L, -1)) {
    lua_pop(L, 1);
    lua_pushnil(L);
    return LUA_TNONE;
  }
  lua_rawgeti(L, -1, n);
  lua_remove(L, -2);
  return lua_type(L, -1);
}

static inline int qsL_setiuservalue(lua_State *L, int idx, int n) {
  idx = lua_absindex(L, idx);
  qsL_getuv_(L, idx);
  lua_insert(L, -2);
  lua_rawseti(L, -2, n);
  lua_pop(L, 1);
  return 1;
}

#endif


#if LUA_VERSION_NUM >= 503
#define qsL_pushint64(L, v) lua_pushinteger((L), (lua_Integer)(v))
#define qsL_isinteger(L, idx) lua_isinteger((L), (idx))
#define qsL_toint64(L, idx) ((int64_t)lua_tointeger((L), (idx)))
#define qsL_getfield(L, idx, k) lua_getfield((L), (idx), (k))
#define qsL_rawget(L, idx) lua_rawget((L), (idx))
#define qsL_rawgeti(L, idx, n) lua_rawgeti((L), (idx), (n))
#else
#define qsL_pushint64(L, v) lua_pushnumber((L), (lua_Number)(v))
static inline int qsL_isinteger(lua_State *L, int idx) {
  lua_Number x;
  if (lua_type(L, idx) != LUA_TNUMBER) return 0;
  x = lua_tonumber(L, idx);
  /* the range first: casting a number outside int64's range is undefined */
  return x >= -9223372036854775808.0 && x < 9223372036854775808.0 &&
         x == (lua_Number)(int64_t)x;
}
#define qsL_toint64(L, idx) ((int64_t)lua_tonumber((L), (idx)))
static inline int qsL_getfield(lua_State *L, int idx, const char *k) {
  lua_getfield(L, idx, k);
  return lua_type(L, -1);
}
static inline int qsL_rawget(lua_State *L, int idx) {
  lua_rawget(L, idx);
  return lua_type(L, -1);
}
static inline int qsL_rawgeti(lua_State *L, int idx, int n) {
  lua_rawgeti(L, idx, n);
  return lua_type(L, -1);
}
#endif

#endif /* QS_COMPAT_H */
