/*
** lcompile.c: the compiler's entry points for Lua.
**
** core.compile_text(dialect, sql) -> sql, keys
** Renders a qs.text() string for the dialect: ":name" binds become
** placeholders and keys lists the bind names in placeholder order (with
** numbered placeholders a repeated name is sent once and reused).
*/
#include "lbinding.h"

#include <string.h>

typedef struct text_state {
  lua_State *L;
  int keys;            /* stack index of the keys list */
  int positions;       /* stack index of name -> position */
  int count;
  int reuse;           /* numbered placeholders: one position per name */
} text_state;

/* Runs inside qs_compile_text; the output buffer is owned by a userdata,
** so a memory error raised by these Lua calls leaks nothing. */
static int on_bind(void *ud, const char *name, size_t n) {
  text_state *ts = (text_state *)ud;
  lua_State *L = ts->L;
  if (ts->reuse) {
    lua_pushlstring(L, name, n);
    if (qsL_rawget(L, ts->positions) == LUA_TNUMBER) {
      int pos = (int)lua_tointeger(L, -1);
      lua_pop(L, 1);
      return pos;
    }
    lua_pop(L, 1);
  }
  ts->count++;
  lua_pushlstring(L, name, n);
  lua_pushvalue(L, -1);
  lua_rawseti(L, ts->keys, ts->count);
  lua_pushinteger(L, ts->count);
  lua_rawset(L, ts->positions);
  return ts->count;
}

int qsB_compile_text(lua_State *L) {
  const char *dname = luaL_checkstring(L, 1);
  size_t n;
  const char *sql = luaL_checklstring(L, 2, &n);
  const qs_dialect *d = qs_dialect_find(dname);
  text_state ts;
  qs_error err;
  qs_buf *b;
  int rc;
  if (d == NULL) {
    lua_pushfstring(L, "unknown dialect '%s'", dname);
    return qsB_raise(L, QS_ARGUMENT, lua_tostring(L, -1));
  }
  lua_settop(L, 2);
  b = qsB_newbuf(L);   /* 3 */
  lua_newtable(L);     /* 4: keys */
  lua_newtable(L);     /* 5: positions */
  ts.L = L;
  ts.keys = 4;
  ts.positions = 5;
  ts.count = 0;
  ts.reuse = d->paramstyle == QS_PARAM_DOLLAR;
  memset(&err, 0, sizeof err);
  rc = qs_compile_text(d, sql, n, b, on_bind, &ts, &err);
  if (rc != QS_OK) {
    qs_error_clear(&err);
    return qsB_raise(L, QS_NOMEM, "out of memory");
  }
  lua_pushlstring(L, b->p ? b->p : "", b->len);
  lua_pushvalue(L, 4);
  return 2;
}
