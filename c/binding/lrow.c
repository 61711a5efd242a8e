/*
** lrow.c: the quicksilver.Row userdata, one result row.
**
** A row is a userdata because #row must count NULL columns on every
** runtime (Lua 5.1 and LuaJIT ignore __len on tables). On 5.4 the values
** sit in the userdata's own user values (1..n) and the keymap shared by the
** result's rows in user value n+1: one allocation per row. Rows answer
** row[i], row.name and #row; their own methods start with "_" and are
** looked up after the column names, so every column name stays reachable.
*/
#include <ctype.h>
#include "lbinding.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* The text "%.15g" gives for x (SQLite keeps decimals as doubles), into
** num (64 bytes); returns its length. printf of a double costs thousands of
** instructions, so a value with at most 15 significant digits and no
** exponent in its text (what a NUMERIC column holds) is written from the
** integer x * 10^k for the smallest k that reads back as x: DBL_DIG (15)
** makes that the text "%.15g" writes. Anything else goes to snprintf. */
static size_t double_text(char *num, double x) {
  static const double pow10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
                                 1e11, 1e12, 1e13, 1e14, 1e15};
  double a = x < 0 ? -x : x;
  int k;
  if (a >= 1e-4 && a < 1e15) {
    for (k = 0; k <= 15; k++) {
      double y = a * pow10[k];
      long long r;
      if (y >= 1e15) break;
      r = (long long)(y + 0.5);
      if ((double)r / pow10[k] == a) {
        char digits[24];
        int n = 0, i, len = 0;
        do {
          digits[n++] = (char)('0' + r % 10);
          r /= 10;
        } while (r > 0);
        while (n <= k) digits[n++] = '0';   /* 0.05: a zero before the point */
        if (x < 0) num[len++] = '-';
        for (i = n - 1; i >= 0; i--) {
          if (i == k - 1) num[len++] = '.';
          num[len++] = digits[i];
        }
        num[len] = '\0';
        return (size_t)len;
      }
    }
  }
  return (size_t)snprintf(num, 64, "%.15g", x);
}

/* Pushes value v converted by the QSR_* code. */
static void push_converted(lua_State *L, const qs_value *v, int code) {
  char num[64];
  switch (code) {
    case QSR_boolean:
      if (v->type == QS_TINT || v->type == QS_TBOOL) { lua_pushboolean(L, v->u.i != 0); return; }
      if (v->type == QS_TFLOAT) { lua_pushboolean(L, v->u.f != 0); return; }
      if (v->type == QS_TTEXT && v->u.s.n > 0) {   /* 't'/'f', '1'/'0' from text protocols */
        char ch = v->u.s.p[0];
        lua_pushboolean(L, ch == 't' || ch == 'T' || ch == '1' || ch == 'y' || ch == 'Y');
        return;
      }
      break;
    case QSR_float:
    case QSR_number:
      if (code == QSR_float && v->type == QS_TINT) {
        lua_pushnumber(L, (lua_Number)v->u.i);
        return;
      }
      if (v->type == QS_TTEXT) {   /* text from a server becomes a number */
        lua_pushlstring(L, v->u.s.p, v->u.s.n);
        if (lua_isnumber(L, -1)) {
          lua_Number x = lua_tonumber(L, -1);
          lua_pop(L, 1);
          lua_pushnumber(L, x);
        }
        return;
      }
      break;
    case QSR_integer:   /* a server's DECIMAL for an integer expression (SUM) */
      if (v->type == QS_TTEXT) {
        char *end;
        long long x;
        char tmp[32];
        if (v->u.s.n < sizeof tmp) {
          memcpy(tmp, v->u.s.p, v->u.s.n);
          tmp[v->u.s.n] = '\0';
          x = strtoll(tmp, &end, 10);
          if (*end == '\0' && end != tmp) {
            qsL_pushint64(L, x);
            return;
          }
        }
      }
      break;
    case QSR_json:
      if (v->type == QS_TTEXT || v->type == QS_TBLOB) {
        const char *err = qsB_json_decode(L, v->u.s.p, v->u.s.n);
        if (err) {   /* the cursor owns the statement: raising is safe */
          lua_pushfstring(L, "invalid JSON in a JSON column: %s", err);
          qsB_raise(L, QS_DATA, lua_tostring(L, -1));
        }
        return;
      }
      break;
    case QSR_decimal:   /* an exact decimal of the database's text */
      if (v->type == QS_TTEXT) {
        qsB_push_decimal(L, v->u.s.p, v->u.s.n);
        return;
      }
      if (v->type == QS_TINT) {
        snprintf(num, sizeof num, "%lld", (long long)v->u.i);
        qsB_push_decimal(L, num, strlen(num));
        return;
      }
      if (v->type == QS_TFLOAT) {   /* SQLite keeps decimals as doubles */
        qsB_push_decimal(L, num, double_text(num, v->u.f));
        return;
      }
      break;
    case QSR_decimal_text:   /* the text as a string */
      if (v->type == QS_TINT) {
        snprintf(num, sizeof num, "%lld", (long long)v->u.i);
        lua_pushstring(L, num);
        return;
      }
      if (v->type == QS_TFLOAT) {
        lua_pushlstring(L, num, double_text(num, v->u.f));
        return;
      }
      break;
    default:
      break;
  }
  qsB_pushvalue(L, v);
}

/* A Lua converter of the row. Its cursor is marked busy meanwhile (by
** cursor_fetch, which runs the whole batch protected), so it may not fetch
** from it or close it; it may close the connection or give it back,
** after which the statement is detached and the row cannot go on. */
static void call_converter(lua_State *L, qs_stmt *s) {
  lua_call(L, 1, 1);   /* the cursor owns the statement: raising is safe */
  if (qs_stmt_conn(s) == NULL)
    qsB_raise(L, QS_CLOSED, "this cursor's connection was closed or returned to its pool by a "
              "result converter while a row was being converted");
}

void qsB_pushrow(lua_State *L, qs_stmt *s, int ncols, int keymap, int mt, int procs,
                 const int *codes) {
  lrow *r = (lrow *)qsL_newuserdatauv(L, sizeof(lrow), ncols + 1);
  int i;
  qs_value v;
  r->n = ncols;
  lua_pushvalue(L, mt);
  lua_setmetatable(L, -2);
  for (i = 0; i < ncols; i++) {
    int code;
    qs_stmt_column(s, i, &v);
    if (v.type == QS_TNULL) continue;   /* user values start out nil */
    code = codes ? codes[i] : (procs ? QSR_LOOKUP : 0);
    if (code == QSR_LOOKUP) {   /* the converter list says, per value */
      int t = qsL_rawgeti(L, procs, i + 1);
      if (t == LUA_TNUMBER) {
        code = (int)lua_tointeger(L, -1);
        lua_pop(L, 1);
      } else if (t == LUA_TFUNCTION) {
        code = QSR_FUNCTION;
      } else {
        lua_pop(L, 1);
        code = 0;
      }
    } else if (code == QSR_FUNCTION) {
      qsL_rawgeti(L, procs, i + 1);
    }
    if (code == QSR_FUNCTION) {
      qsB_pushvalue(L, &v);   /* a copy: nothing of the statement is held across the call */
      call_converter(L, s);
    } else if (code > 0) {
      push_converted(L, &v, code);
    } else {
      qsB_pushvalue(L, &v);
    }
    qsL_setiuservalue(L, -2, i + 1);
  }
  lua_pushvalue(L, keymap);
  qsL_setiuservalue(L, -2, ncols + 1);
}

/*
** core.row(keymap, values, n) -> Row
** A row built from Lua values (derived rows such as Result:columns, ORM
** rows), the same userdata as fetched rows so #row holds on every runtime.
** keymap is {name = index, [index] = name}; values[1..n] may hold nils.
*/
int qsB_row_new(lua_State *L) {
  int n, i;
  lrow *r;
  luaL_checktype(L, 1, LUA_TTABLE);
  luaL_checktype(L, 2, LUA_TTABLE);
  n = (int)luaL_checkinteger(L, 3);
  luaL_argcheck(L, n >= 0 && n < 100000, 3, "column count out of range");
  r = (lrow *)qsL_newuserdatauv(L, sizeof(lrow), n + 1);
  r->n = n;
  luaL_setmetatable(L, QSB_ROW_MT);
  for (i = 1; i <= n; i++) {
    lua_rawgeti(L, 2, i);
    qsL_setiuservalue(L, -2, i);
  }
  lua_pushvalue(L, 1);
  qsL_setiuservalue(L, -2, n + 1);
  return 1;
}

static lrow *check_row(lua_State *L, int idx) {
  return (lrow *)luaL_checkudata(L, idx, QSB_ROW_MT);
}

/* Pushes value i (1-based) of the row at idx. */
static void push_col(lua_State *L, int idx, int i) {
  qsL_getiuservalue(L, idx, i);
}

static void push_keymap(lua_State *L, int idx, lrow *r) {
  qsL_getiuservalue(L, idx, r->n + 1);
}

/* Edit distance between a and b (case-insensitive; a swap of neighbours
** counts one), for names up to HINT_MAX bytes; larger than both when over. */
#define HINT_MAX 64
static int name_distance(const char *a, size_t la, const char *b, size_t lb) {
  int d[HINT_MAX + 1][HINT_MAX + 1];
  size_t i, j;
  if (la > HINT_MAX || lb > HINT_MAX) return HINT_MAX * 2;
  for (i = 0; i <= la; i++) d[i][0] = (int)i;
  for (j = 0; j <= lb; j++) d[0][j] = (int)j;
  for (i = 1; i <= la; i++) {
    for (j = 1; j <= lb; j++) {
      int ca = tolower((unsigned char)a[i - 1]), cb = tolower((unsigned char)b[j - 1]);
      int v = d[i - 1][j - 1] + (ca != cb);
      if (d[i - 1][j] + 1 < v) v = d[i - 1][j] + 1;
      if (d[i][j - 1] + 1 < v) v = d[i][j - 1] + 1;
      if (i > 1 && j > 1 && ca == tolower((unsigned char)b[j - 2]) &&
          tolower((unsigned char)a[i - 2]) == cb && d[i - 2][j - 2] + 1 < v)
        v = d[i - 2][j - 2] + 1;
      d[i][j] = v;
    }
  }
  return d[la][lb];
}

/* Pushes " (did you mean 'x'?)" for the column name of the keymap at km
** closest to word (edit distance at most 3 and less than word's length, as
** util.closest), or "". */
static void push_hint(lua_State *L, int km, int n, const char *word, size_t wl) {
  int i, best = wl > 3 ? 3 : (int)wl - 1, found = 0;
  km = lua_absindex(L, km);
  lua_pushliteral(L, "");
  for (i = 1; i <= n && best >= 1; i++) {
    size_t nl;
    const char *name;
    int dist;
    if (qsL_rawgeti(L, km, i) != LUA_TSTRING) {
      lua_pop(L, 1);
      continue;
    }
    name = lua_tolstring(L, -1, &nl);
    dist = name_distance(word, wl, name, nl);
    if (dist <= best && (dist < best || !found)) {
      best = dist;
      found = 1;
      lua_pushfstring(L, " (did you mean '%s'?)", name);
      lua_replace(L, -3);
    }
    lua_pop(L, 1);
  }
}

/* __index(row, key); upvalue 1 is the method table. */
static int row_index(lua_State *L) {
  lrow *r = (lrow *)lua_touserdata(L, 1);
  int t = lua_type(L, 2);
  if (t == LUA_TNUMBER) {
    lua_Integer i = lua_tointeger(L, 2);
    if (i >= 1 && i <= r->n && (lua_Number)i == lua_tonumber(L, 2)) push_col(L, 1, (int)i);
    else lua_pushnil(L);
    return 1;
  }
  if (t == LUA_TSTRING) {
    push_keymap(L, 1, r);
    lua_pushvalue(L, 2);
    if (qsL_rawget(L, -2) == LUA_TNUMBER) {
      push_col(L, 1, (int)lua_tointeger(L, -1));
      return 1;
    }
    lua_pushvalue(L, 2);
    if (qsL_rawget(L, lua_upvalueindex(1)) != LUA_TNIL) return 1;
  }
  if (t == LUA_TSTRING) {
    size_t wl;
    const char *word = lua_tolstring(L, 2, &wl);
    push_keymap(L, 1, r);
    push_hint(L, -1, r->n, word, wl);
    lua_pushfstring(L, "Row has no column '%s'%s", word, lua_tostring(L, -1));
  } else {
    lua_pushfstring(L, "Row has no column '%s'", luaL_tolstring(L, 2, NULL));
  }
  return qsB_raise(L, QS_MISUSE, lua_tostring(L, -1));
}

static int row_len(lua_State *L) {
  lua_pushinteger(L, check_row(L, 1)->n);
  return 1;
}

/* row:_tomap() -> {name = value}; of equal names the first wins. */
static int row_tomap(lua_State *L) {
  lrow *r = check_row(L, 1);
  int i;
  lua_createtable(L, 0, r->n);
  push_keymap(L, 1, r);
  for (i = r->n; i >= 1; i--) {   /* backwards, so the first name wins */
    lua_rawgeti(L, -1, i);
    push_col(L, 1, i);
    lua_rawset(L, -4);
  }
  lua_pop(L, 1);
  return 1;
}

/* row:_keys() -> list of column names. */
static int row_keys(lua_State *L) {
  lrow *r = check_row(L, 1);
  int i;
  lua_createtable(L, r->n, 0);
  push_keymap(L, 1, r);
  for (i = 1; i <= r->n; i++) {
    lua_rawgeti(L, -1, i);
    lua_rawseti(L, -3, i);
  }
  lua_pop(L, 1);
  return 1;
}

/* row:_tuple() -> {v1, ..., vn, n = n} (holes where values are NULL). */
static int row_tuple(lua_State *L) {
  lrow *r = check_row(L, 1);
  int i;
  lua_createtable(L, r->n, 1);
  for (i = 1; i <= r->n; i++) {
    push_col(L, 1, i);
    lua_rawseti(L, -2, i);
  }
  lua_pushinteger(L, r->n);
  lua_setfield(L, -2, "n");
  return 1;
}

/* Iterator for pairs(row): names in column order, skipping repeated names. */
static int row_next(lua_State *L) {
  lrow *r = check_row(L, 1);
  int i = 1;
  lua_settop(L, 2);
  push_keymap(L, 1, r);   /* 3 */
  if (!lua_isnil(L, 2)) {
    lua_pushvalue(L, 2);
    lua_rawget(L, 3);
    i = (int)lua_tointeger(L, -1) + 1;
    lua_pop(L, 1);
  }
  for (; i <= r->n; i++) {
    lua_rawgeti(L, 3, i);
    lua_pushvalue(L, -1);
    lua_rawget(L, 3);
    if (lua_tointeger(L, -1) == i) {
      lua_pop(L, 1);
      push_col(L, 1, i);
      return 2;
    }
    lua_pop(L, 2);
  }
  lua_pushnil(L);
  return 1;
}

static int row_pairs(lua_State *L) {
  check_row(L, 1);
  lua_pushcfunction(L, row_next);
  lua_pushvalue(L, 1);
  lua_pushnil(L);
  return 3;
}

/* "(1, 'x', NULL)" as SQLAlchemy's repr, with %q-style string quoting. */
static int row_tostring(lua_State *L) {
  lrow *r = check_row(L, 1);
  luaL_Buffer b;
  int i;
  luaL_buffinit(L, &b);
  luaL_addchar(&b, '(');
  for (i = 1; i <= r->n; i++) {
    if (i > 1) luaL_addstring(&b, ", ");
    push_col(L, 1, i);
    switch (lua_type(L, -1)) {
      case LUA_TNIL: lua_pop(L, 1); luaL_addstring(&b, "NULL"); break;
      case LUA_TSTRING: {
        lua_getglobal(L, "string");
        lua_getfield(L, -1, "format");
        lua_pushliteral(L, "%q");
        lua_pushvalue(L, -4);
        lua_call(L, 2, 1);
        lua_replace(L, -3);
        lua_pop(L, 1);
        luaL_addvalue(&b);
        break;
      }
      default:
        luaL_tolstring(L, -1, NULL);
        lua_remove(L, -2);
        luaL_addvalue(&b);
    }
  }
  luaL_addchar(&b, ')');
  luaL_pushresult(&b);
  return 1;
}

static const luaL_Reg row_methods[] = {
  {"_tomap", row_tomap},
  {"_asdict", row_tomap},
  {"_keys", row_keys},
  {"_tuple", row_tuple},
  {NULL, NULL},
};

/*
** core.row_dicts(row, base, keys, positions) -> dict, committed
** The ORM's two tables for an object loaded from row: keys[j] = value of
** column base + positions[j] in both (a NULL leaves the key out). Made
** here, sized for the keys at once (no rehash as they fill) and read
** without a metamethod call per column: this is per object per load.
*/
static int row_tables(lua_State *L, const char *fn, int two, int extra) {
  lrow *r = check_row(L, 1);
  lua_Integer base = luaL_checkinteger(L, 2);
  int j, n;
  luaL_checktype(L, 3, LUA_TTABLE);
  luaL_checktype(L, 4, LUA_TTABLE);
  n = (int)lua_rawlen(L, 3);
  lua_settop(L, 4);
  lua_createtable(L, 0, n + extra);   /* 5: dict */
  if (two) lua_createtable(L, 0, n);   /* 6: committed */
  else lua_pushnil(L);
  for (j = 1; j <= n; j++) {
    lua_Integer col;
    lua_rawgeti(L, 4, j);
    col = base + lua_tointeger(L, -1);
    lua_pop(L, 1);
    if (col < 1 || col > r->n) {
      lua_pushfstring(L, "%s: column %d is outside the row's %d", fn, (int)col, r->n);
      return qsB_raise(L, QS_ARGUMENT, lua_tostring(L, -1));
    }
    push_col(L, 1, (int)col);   /* 7: the value */
    if (lua_isnil(L, 7)) {
      lua_pop(L, 1);
      continue;
    }
    lua_rawgeti(L, 3, j);       /* 8: the key */
    lua_pushvalue(L, 8);
    lua_pushvalue(L, 7);
    lua_rawset(L, 5);
    lua_insert(L, 7);           /* key, value */
    if (two) lua_rawset(L, 6);
    else lua_pop(L, 2);
  }
  if (two) return 2;
  lua_settop(L, 5);
  return 1;
}

int qsB_row_dicts(lua_State *L) {
  return row_tables(L, "row_dicts", 1, 0);
}

/*
** core.row_dict(row, base, keys, positions) -> dict
** An ORM object's value table alone (its committed values are kept only
** once an attribute changes, orm/attributes.lua), sized for the values and
** the three instance metamethods the table also holds.
*/
int qsB_row_dict(lua_State *L) {
  return row_tables(L, "row_dict", 0, 3);
}

void qsB_open_row(lua_State *L) {
  luaL_newmetatable(L, QSB_ROW_MT);
  luaL_newlib(L, row_methods);
  lua_pushcclosure(L, row_index, 1);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, row_len);
  lua_setfield(L, -2, "__len");
  lua_pushcfunction(L, row_pairs);
  lua_setfield(L, -2, "__pairs");
  lua_pushcfunction(L, row_tostring);
  lua_setfield(L, -2, "__tostring");
  lua_pushliteral(L, "quicksilver.Row");
  lua_setfield(L, -2, "__name");
  lua_pop(L, 1);
}
