/*
** ldialect.c: the dialect objects seen from Lua. core.dialect_caps(name)
** returns what the dialect can do (its capability flags as booleans, and its
** values), so Lua code asks "can it?" and never "which database is this?".
** Reading a key that is not a capability raises, so a misspelt question
** fails instead of reading as false.
*/
#include "lbinding.h"

#include <string.h>

static const char *const cap_names[] = {
#define QS_CAPNAME_(flag, name, what) #name,
  QS_DIALECT_CAPS(QS_CAPNAME_)
#undef QS_CAPNAME_
  NULL
};

/* The values that are not flags; a key here may hold nil. */
static const char *const value_names[] = {
  "name", "paramstyle", "quote", "upsert", "max_params", "insertmanyvalues_page_size",
  "partial_index_option", NULL
};

static int known_key(const char *k) {
  int i;
  for (i = 0; cap_names[i]; i++) if (strcmp(cap_names[i], k) == 0) return 1;
  for (i = 0; value_names[i]; i++) if (strcmp(value_names[i], k) == 0) return 1;
  return 0;
}

/* __index of a caps proxy: the value from the table in upvalue 1; a key
** that is no capability raises. */
static int caps_index(lua_State *L) {
  const char *k = lua_type(L, 2) == LUA_TSTRING ? lua_tostring(L, 2) : NULL;
  lua_pushvalue(L, 2);
  lua_rawget(L, lua_upvalueindex(1));
  if (!lua_isnil(L, -1) || (k && known_key(k))) return 1;   /* nil: a value this dialect lacks */
  return luaL_error(L, "unknown dialect capability '%s'", k ? k : luaL_typename(L, 2));
}

static int caps_newindex(lua_State *L) {
  return luaL_error(L, "dialect capabilities are read-only");
}

/* Pushes the capabilities of d: an empty read-only proxy whose __index
** reads a table of the values. */
static void push_caps(lua_State *L, const qs_dialect *d) {
  int i;
  char quote[2];
  lua_createtable(L, 0, QS_CAPBIT_LAST_ + 8);
  for (i = 0; i < QS_CAPBIT_LAST_; i++) {
    lua_pushboolean(L, (int)((d->caps >> i) & 1u));
    lua_setfield(L, -2, cap_names[i]);
  }
  lua_pushstring(L, d->name);
  lua_setfield(L, -2, "name");
  lua_pushstring(L, d->paramstyle == QS_PARAM_DOLLAR ? "numeric_dollar" : "qmark");
  lua_setfield(L, -2, "paramstyle");
  quote[0] = d->quote_open;
  quote[1] = '\0';
  lua_pushstring(L, quote);
  lua_setfield(L, -2, "quote");
  lua_pushstring(L, d->upsert == QS_UPSERT_ON_DUPLICATE_KEY ? "on_duplicate_key" : "on_conflict");
  lua_setfield(L, -2, "upsert");
  lua_pushinteger(L, d->max_params);
  lua_setfield(L, -2, "max_params");
  if (d->insertmany_rows > 0) {
    lua_pushinteger(L, d->insertmany_rows);
    lua_setfield(L, -2, "insertmanyvalues_page_size");
  }
  if (d->partial_index_option) {
    lua_pushstring(L, d->partial_index_option);
    lua_setfield(L, -2, "partial_index_option");
  }
  lua_newtable(L);                 /* the proxy */
  lua_createtable(L, 0, 3);        /* its metatable */
  lua_pushvalue(L, -3);
  lua_pushcclosure(L, caps_index, 1);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, caps_newindex);
  lua_setfield(L, -2, "__newindex");
  lua_pushliteral(L, "read-only");
  lua_setfield(L, -2, "__metatable");
  lua_setmetatable(L, -2);
  lua_remove(L, -2);               /* the values table: the closure keeps it */
}

/* core.dialect_caps(name): the capabilities table of the dialect called
** name (a new table each call); raises for an unknown name. */
static int l_dialect_caps(lua_State *L) {
  const char *name = luaL_checkstring(L, 1);
  const qs_dialect *d = qs_dialect_find(name);
  if (!d) return luaL_error(L, "unknown dialect '%s'", name);
  push_caps(L, d);
  return 1;
}

/* core.dialect_names(): the dialects C knows, in a fixed order. */
static int l_dialect_names(lua_State *L) {
  int i, n;
  const qs_dialect *const *all = qs_dialect_list(&n);
  lua_createtable(L, n, 0);
  for (i = 0; i < n; i++) {
    lua_pushstring(L, all[i]->name);
    lua_rawseti(L, -2, i + 1);
  }
  return 1;
}

void qsB_open_dialect(lua_State *L) {
  lua_pushcfunction(L, l_dialect_caps);
  lua_setfield(L, -2, "dialect_caps");
  lua_pushcfunction(L, l_dialect_names);
  lua_setfield(L, -2, "dialect_names");
}
