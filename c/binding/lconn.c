/*
** lconn.c: the quicksilver.Connection userdata, a qs_conn for Lua.
**
** Lifecycle (liolib's newprefile): the userdata is created closed and marked
** open only once the qs_conn exists; __gc and __close are one idempotent
** function. Bind values are read from Lua into a scratch array owned by the
** userdata before a statement is taken from the cache, so no Lua error can
** leave a statement checked out.
*/
#include "lbinding.h"

#include <stdlib.h>
#include <string.h>

typedef struct lconn {
  qs_conn *c;          /* NULL while closed */
  qs_value *scratch;   /* bind values of the statement being executed */
  int scratch_cap;
  qs_pool *pool;       /* when borrowed from a pool: close gives it back */
  qs_pool_rec *rec;
} lconn;

static lconn *check_conn(lua_State *L, int idx) {
  return (lconn *)luaL_checkudata(L, idx, QSB_CONN_MT);
}

/* An open connection at idx, or a ResourceClosedError raised. */
static lconn *open_conn(lua_State *L, int idx) {
  lconn *lc = check_conn(L, idx);
  if (lc->c == NULL || !qs_conn_is_open(lc->c))
    qsB_raise(L, QS_CLOSED, "attempt to use a closed quicksilver.Connection");
  return lc;
}

static int conn_gc(lua_State *L) {
  lconn *lc = check_conn(L, 1);
  if (lc->pool) {   /* borrowed: back to the pool (reset there), not closed */
    qs_pool *p = lc->pool;
    qs_pool_rec *r = lc->rec;
    lc->pool = NULL;
    lc->rec = NULL;
    lc->c = NULL;
    qs_pool_checkin(p, r);
    qs_pool_release(p);
  } else if (lc->c) {
    qs_conn_free(lc->c);
    lc->c = NULL;
  }
  free(lc->scratch);
  lc->scratch = NULL;
  lc->scratch_cap = 0;
  return 0;
}

/*
** qsB_options: the option table at idx as strings (booleans "1"/"0",
** numbers converted), kept alive by an anchor table pushed on the stack.
** Raises ArgumentError for other value types. Returns the count.
*/
int qsB_options(lua_State *L, int idx, const char **keys, const char **vals, int max) {
  int n = 0, anchors;
  idx = lua_absindex(L, idx);
  lua_newtable(L);
  anchors = lua_gettop(L);
  if (!lua_istable(L, idx)) return 0;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    if (n == max) return qsB_raise(L, QS_ARGUMENT, "too many connection options");
    if (lua_type(L, -2) != LUA_TSTRING)
      return qsB_raise(L, QS_ARGUMENT, "connection option names must be strings");
    if (lua_type(L, -1) == LUA_TBOOLEAN) {
      lua_pushstring(L, lua_toboolean(L, -1) ? "1" : "0");
    } else if (lua_type(L, -1) == LUA_TNUMBER || lua_type(L, -1) == LUA_TSTRING) {
      lua_pushvalue(L, -1);
      lua_tostring(L, -1);   /* numbers become strings on the copy */
    } else {
      lua_pushfstring(L, "connection option '%s' must be a string, number or boolean",
                      lua_tostring(L, -2));
      return qsB_raise(L, QS_ARGUMENT, lua_tostring(L, -1));
    }
    vals[n] = lua_tostring(L, -1);
    lua_rawseti(L, anchors, 2 * n + 2);
    lua_pushvalue(L, -2);
    keys[n] = lua_tostring(L, -1);
    lua_rawseti(L, anchors, 2 * n + 1);
    n++;
    lua_pop(L, 1);
  }
  return n;
}

/* qsB_driver: the registered driver called name, or raises ArgumentError. */
const qs_driver *qsB_driver(lua_State *L, const char *name) {
  const qs_driver *drv;
  lua_getfield(L, LUA_REGISTRYINDEX, QSB_REG_DRIVERS);
  lua_getfield(L, -1, name);
  drv = (const qs_driver *)lua_touserdata(L, -1);
  lua_pop(L, 2);
  if (drv == NULL) {
    lua_pushfstring(L, "no quicksilver driver named '%s' is loaded", name);
    qsB_raise(L, QS_ARGUMENT, lua_tostring(L, -1));
  }
  return drv;
}

/* qsB_new_borrowed: a closed Connection userdata, to be given a connection
** of a pool by qsB_set_borrowed (which allocates nothing and cannot raise);
** it then holds a reference on the pool until closed. */
void *qsB_new_borrowed(lua_State *L) {
  lconn *lc = (lconn *)qsL_newuserdatauv(L, sizeof(lconn), 0);
  memset(lc, 0, sizeof *lc);
  luaL_setmetatable(L, QSB_CONN_MT);
  return lc;
}

void qsB_set_borrowed(void *conn, qs_pool *p, qs_pool_rec *r) {
  lconn *lc = (lconn *)conn;
  qs_pool_retain(p);
  lc->pool = p;
  lc->rec = r;
  lc->c = qs_pool_rec_conn(r);
}

/* conn:invalidate(): a borrowed connection is marked dead in its pool (it
** and every older one are replaced) and given back; a plain one closes. */
static int conn_invalidate(lua_State *L) {
  lconn *lc = check_conn(L, 1);
  if (lc->pool) qs_pool_invalidate(lc->pool, lc->rec);
  return conn_gc(L);
}

/* conn:age() -> seconds since a borrowed connection was opened (nil otherwise). */
static int conn_age(lua_State *L) {
  lconn *lc = check_conn(L, 1);
  if (!lc->rec) return 0;
  lua_pushnumber(L, qs_pool_rec_age(lc->rec));
  return 1;
}

/*
** core.connect(driver_name, options) -> Connection | nil, err
** options: a table of string keys to string/number/boolean values, handed to
** the driver as strings.
*/
int qsB_connect(lua_State *L) {
  const char *name = luaL_checkstring(L, 1);
  const char *keys[QSB_MAX_OPTIONS], *vals[QSB_MAX_OPTIONS];
  const qs_driver *drv;
  qs_error *err;
  lconn *lc;
  int n = 0, rc, ud;
  if (!lua_isnoneornil(L, 2)) luaL_checktype(L, 2, LUA_TTABLE);
  lua_settop(L, 2);
  drv = qsB_driver(L, name);
  n = qsB_options(L, 2, keys, vals, QSB_MAX_OPTIONS);
  lc = (lconn *)qsL_newuserdatauv(L, sizeof(lconn), 0);
  memset(lc, 0, sizeof *lc);
  luaL_setmetatable(L, QSB_CONN_MT);
  ud = lua_gettop(L);
  /* the driver's error message is owned by a userdata from the start:
  ** making the error object may raise (memory) and must not leak it */
  err = qsB_errbox(L);
  rc = qs_conn_open(drv, n, keys, vals, &lc->c, err);
  if (rc != QS_OK) return qsB_fail_box(L, err);
  lua_pushvalue(L, ud);
  return 1;
}

static int fail_conn(lua_State *L, lconn *lc) {
  return qsB_fail(L, qs_conn_error(lc->c));
}

static int result_rc(lua_State *L, lconn *lc, int rc) {
  if (rc != QS_OK) return fail_conn(L, lc);
  lua_pushboolean(L, 1);
  return 1;
}

/* Grows the scratch array to n values; raises on memory (nothing held). */
static qs_value *scratch(lua_State *L, lconn *lc, int n) {
  if (n > lc->scratch_cap) {
    int cap = lc->scratch_cap ? lc->scratch_cap : 16;
    qs_value *p;
    while (cap < n) cap *= 2;
    p = (qs_value *)realloc(lc->scratch, (size_t)cap * sizeof(qs_value));
    if (p == NULL) qsB_raise(L, QS_NOMEM, "out of memory");
    lc->scratch = p;
    lc->scratch_cap = cap;
  }
  return lc->scratch;
}

/* How one execution reads its parameters (stack indexes; 0 = absent). */
typedef struct bindspec {
  int keys;      /* list of keys in placeholder order; 0: params[1..n] */
  int values;    /* key -> value the statement holds (used when params lack it) */
  int checks;    /* list of QSV_* codes per position */
  int procs;     /* list of Lua converters per position */
  int nullidx;   /* the NULL sentinel */
  int nkeys;
  int anchor;    /* whether reading makes new values (converters, JSON text) */
  int ncheckv;   /* checks[1..ncheckv] read once into checkv (an executemany reads every row) */
  int checkv[64];
} bindspec;

/* What each QSV_* check expects, for error messages (QS_TYPE_CHECKS order). */
static const char *const check_descriptions[] = {
  "a bindable value", "an integer", "a number", "a string or number", "a boolean",
  "a string of bytes", "a number or decimal string", "a value JSON can encode",
};

/* What read_value made of a value. */
typedef enum read_result {
  READ_OK = 0,         /* v holds it */
  READ_MISSING = 1,    /* nil: no value given */
  READ_UNBINDABLE = 2, /* its Lua type cannot be bound (a function, a table, ...) */
  READ_MISFIT = 3      /* it does not fit the column's type (the check) */
} read_result;

/*
** Reads the value at the top of the stack into v, leaving it on the stack
** (the string stays anchored by the caller's table or by the stack).
*/
static read_result read_value(lua_State *L, int nullidx, int check, qs_value *v) {
  int t = lua_type(L, -1);
  if (t == LUA_TNIL) return READ_MISSING;
  if (t != LUA_TNUMBER && t != LUA_TSTRING && t != LUA_TBOOLEAN) {
    if (lua_rawequal(L, -1, nullidx)) {
      v->type = QS_TNULL;
      return READ_OK;
    }
    if (!(check == QSV_json && t == LUA_TTABLE)) return READ_UNBINDABLE;
  }
  switch (check) {
    case QSV_integer:
      if (t == LUA_TBOOLEAN) return READ_MISFIT;
      if (t == LUA_TSTRING || !qsL_isinteger(L, -1)) return READ_MISFIT;
      break;
    case QSV_number:
    case QSV_decimal:
      if (t == LUA_TBOOLEAN) return READ_MISFIT;
      if (t == LUA_TSTRING && (check == QSV_number || !lua_isnumber(L, -1))) return READ_MISFIT;
      break;
    case QSV_string:
      if (t == LUA_TBOOLEAN) return READ_MISFIT;
      if (t == LUA_TNUMBER) {
        /* a number for a string column travels as text: MySQL compares a
        ** string column with a number numerically ('abc' = 0, '05' = 5) */
        v->type = QS_TTEXT;
        v->u.s.p = lua_tolstring(L, -1, &v->u.s.n);   /* in place: anchored by the stack */
        return READ_OK;
      }
      break;
    case QSV_boolean:
      if (t == LUA_TSTRING) return READ_MISFIT;
      if (t == LUA_TNUMBER) {   /* 0 and 1 stand for false and true */
        if (!(qsL_isinteger(L, -1) && (lua_tonumber(L, -1) == 0 || lua_tonumber(L, -1) == 1)))
          return READ_MISFIT;
        v->type = QS_TBOOL;
        v->u.i = lua_tonumber(L, -1) != 0;
        return READ_OK;
      }
      break;
    case QSV_json:
      if (qsB_json_encode(L, -1) != NULL) return READ_MISFIT;
      lua_replace(L, -2);   /* the encoded text takes the value's place */
      v->type = QS_TTEXT;
      v->u.s.p = lua_tolstring(L, -1, &v->u.s.n);
      return READ_OK;
    case QSV_bytes:
      if (t != LUA_TSTRING) return READ_MISFIT;
      v->type = QS_TBLOB;
      v->u.s.p = lua_tolstring(L, -1, &v->u.s.n);
      return READ_OK;
    default:
      break;
  }
  switch (t) {
    case LUA_TBOOLEAN:
      v->type = QS_TBOOL;
      v->u.i = lua_toboolean(L, -1);
      break;
    case LUA_TNUMBER:
      if (qsL_isinteger(L, -1)) {
        v->type = QS_TINT;
        v->u.i = qsL_toint64(L, -1);
      } else {
        v->type = QS_TFLOAT;
        v->u.f = lua_tonumber(L, -1);
      }
      break;
    default:
      v->type = QS_TTEXT;
      v->u.s.p = lua_tolstring(L, -1, &v->u.s.n);
  }
  return READ_OK;
}

/*
** Reads one parameter set into the scratch array: with keys, params[key]
** (else values[key]); without, params[1..n] (n = params.n or #params).
** Converters run first (they may raise: callers hold no statement, or hold
** it in a cursor userdata). Values stay on the stack in a list at the
** returned anchor so converted strings live until the bind. Returns the
** count read, or -1 with err set naming the parameter (and, in an
** executemany, the parameter set).
*/
static int read_params(lua_State *L, qs_value *vals, int pidx, const bindspec *bs, int group,
                       qs_error *err) {
  int i, n, anchor, anchored;
  read_result rc = READ_OK;
  if (!lua_istable(L, pidx)) {
    qs_error_set(err, QS_ARGUMENT, "parameter set %d is a %s, not a table", group,
                 luaL_typename(L, pidx));
    return -1;
  }
  if (bs->keys) {
    n = bs->nkeys;
  } else {
    lua_getfield(L, pidx, "n");
    n = lua_isnumber(L, -1) ? (int)lua_tointeger(L, -1) : (int)lua_rawlen(L, pidx);
    lua_pop(L, 1);
  }
  /* Values read as they are stay alive in the set (which the caller keeps
  ** on the stack); converters and JSON encoding make new ones, so then
  ** every value is anchored (a converter might even change the set).
  ** Otherwise nil stands in for the anchor list: no table per row. */
  anchored = bs->anchor;
  if (anchored) lua_createtable(L, n, 0);
  else lua_pushnil(L);
  anchor = lua_gettop(L);
  for (i = 0; i < n && rc == READ_OK; i++) {
    int check = QSV_none;
    if (bs->keys) {
      lua_rawgeti(L, bs->keys, i + 1);
      lua_rawget(L, pidx);
      if (lua_isnil(L, -1) && bs->values) {
        lua_pop(L, 1);
        lua_rawgeti(L, bs->keys, i + 1);
        lua_rawget(L, bs->values);
      }
    } else {
      lua_rawgeti(L, pidx, i + 1);
    }
    if (bs->procs && !lua_isnil(L, -1) && !lua_rawequal(L, -1, bs->nullidx)) {
      lua_rawgeti(L, bs->procs, i + 1);
      if (lua_isfunction(L, -1)) {
        lua_insert(L, -2);
        lua_call(L, 1, 1);
        if (lua_isnil(L, -1)) {   /* a converter's nil means NULL */
          lua_pop(L, 1);
          lua_pushvalue(L, bs->nullidx);
        }
      } else {
        lua_pop(L, 1);
      }
    }
    if (i < bs->ncheckv) {
      check = bs->checkv[i];
    } else if (bs->checks) {
      lua_rawgeti(L, bs->checks, i + 1);
      check = (int)lua_tointeger(L, -1);
      lua_pop(L, 1);
    }
    if (!anchored && check == QSV_string && lua_type(L, -1) == LUA_TNUMBER) {
      /* read_value makes a new string of it: from here on values are anchored */
      lua_createtable(L, n, 0);
      lua_replace(L, anchor);
      anchored = 1;
    }
    rc = read_value(L, bs->nullidx, check, &vals[i]);
    if (rc == READ_MISSING && !bs->keys) {
      vals[i].type = QS_TNULL;   /* positional holes are NULLs (params.n) */
      rc = READ_OK;
    }
    if (rc == READ_OK) {
      if (anchored) lua_rawseti(L, anchor, i + 1);
      else lua_pop(L, 1);
    }
  }
  if (rc != READ_OK) {
    /* the offending value is at the top; name its key and say what is wrong */
    int check = QSV_none, val = lua_gettop(L);
    const char *shown = lua_type(L, val) == LUA_TSTRING ? "a string" : luaL_typename(L, val);
    if (lua_type(L, val) == LUA_TNUMBER || lua_type(L, val) == LUA_TBOOLEAN) {
      luaL_tolstring(L, val, NULL);
      shown = lua_tostring(L, -1);
    }
    i--;
    if (bs->checks) {
      lua_rawgeti(L, bs->checks, i + 1);
      check = (int)lua_tointeger(L, -1);
      lua_pop(L, 1);
    }
    if (bs->keys) lua_rawgeti(L, bs->keys, i + 1);
    else lua_pushfstring(L, "%d", i + 1);
    if (rc == READ_MISSING)
      lua_pushfstring(L, "A value is required for bind parameter '%s'", lua_tostring(L, -1));
    else if (rc == READ_UNBINDABLE)
      lua_pushfstring(L, "Unsupported value for bind parameter '%s': %s", lua_tostring(L, -1), shown);
    else
      lua_pushfstring(L, "Wrong value for column '%s': %s is not %s", lua_tostring(L, -1), shown,
                      check_descriptions[check]);
    if (group > 0) qs_error_set(err, QS_ARGUMENT, "%s, in parameter group %d", lua_tostring(L, -1), group);
    else qs_error_set(err, QS_ARGUMENT, "%s", lua_tostring(L, -1));
    lua_settop(L, anchor - 1);
    return -1;
  }
  return n;
}

/* Reads the bindspec arguments starting at stack index first. */
static void get_bindspec(lua_State *L, int first, int nullidx, bindspec *bs) {
  int i;
  int *slots[4];
  slots[0] = &bs->keys;
  slots[1] = &bs->values;
  slots[2] = &bs->checks;
  slots[3] = &bs->procs;
  for (i = 0; i < 4; i++) {
    int idx = first + i;
    *slots[i] = lua_isnoneornil(L, idx) ? 0 : idx;
    if (*slots[i]) luaL_checktype(L, idx, LUA_TTABLE);
  }
  bs->nullidx = nullidx;
  bs->nkeys = bs->keys ? (int)lua_rawlen(L, bs->keys) : 0;
  if (bs->procs) {   /* an empty list of converters is none: no look-up per value */
    lua_pushnil(L);
    if (lua_next(L, bs->procs)) lua_pop(L, 2);
    else bs->procs = 0;
  }
  bs->anchor = bs->procs != 0;
  bs->ncheckv = 0;
  if (bs->checks) {
    int n = (int)lua_rawlen(L, bs->checks);
    int cache = n <= (int)(sizeof bs->checkv / sizeof bs->checkv[0]);
    for (i = 1; i <= n; i++) {
      int code;
      lua_rawgeti(L, bs->checks, i);
      code = (int)lua_tointeger(L, -1);
      lua_pop(L, 1);
      if (code == QSV_json) bs->anchor = 1;
      if (cache) bs->checkv[i - 1] = code;
    }
    if (cache) bs->ncheckv = n;
  }
}

/* Capacity for the positional parameters of table pidx. */
static int positional_size(lua_State *L, int pidx) {
  int n;
  pidx = lua_absindex(L, pidx);
  if (!lua_istable(L, pidx)) return 0;
  lua_getfield(L, pidx, "n");
  n = lua_isnumber(L, -1) ? (int)lua_tointeger(L, -1) : (int)lua_rawlen(L, pidx);
  lua_pop(L, 1);
  return n;
}

/* err is always a boxed error (qsB_errbox): a Lua error raised while its
** object is made leaves the message to the box's __gc. */
static int fail_err(lua_State *L, qs_error *err) {
  return qsB_fail_box(L, err);
}

/*
** conn:execute(sql, params?, keys?, values?, checks?, procs?) -> Cursor | nil, err
** params: a table; keys: the keys to read from it in placeholder order (for
** compiled statements), or nil for params[1..n]; values: key -> value used
** when params lacks the key; checks/procs: per-position value checks (C)
** and converters (Lua).
*/
static int conn_execute(lua_State *L) {
  lconn *lc = open_conn(L, 1);
  size_t sqln;
  const char *sql = luaL_checklstring(L, 2, &sqln);
  int pidx = lua_isnoneornil(L, 3) ? 0 : 3;
  int n = 0, rc, cur;
  bindspec bs;
  qs_error *err;
  qs_stmt *s;
  if (pidx) luaL_checktype(L, 3, LUA_TTABLE);
  lua_settop(L, 7);
  lua_getfield(L, LUA_REGISTRYINDEX, QSB_REG_NULL);   /* 8 */
  get_bindspec(L, 4, 8, &bs);
  qsB_cursor_new(L, 1);
  cur = lua_gettop(L);
  err = qsB_errbox(L);
  if (!pidx && bs.keys) {   /* values only from the statement */
    lua_newtable(L);
    pidx = lua_gettop(L);
  }
  if (pidx) {
    scratch(L, lc, bs.keys ? bs.nkeys : positional_size(L, pidx));
    n = read_params(L, lc->scratch, pidx, &bs, 0, err);
    if (n < 0) return fail_err(L, err);
  }
  rc = qs_conn_prepare(lc->c, sql, sqln, &s);
  if (rc != QS_OK) return fail_conn(L, lc);
  /* The cursor owns s from here on, whatever happens next. */
  return qsB_cursor_start(L, cur, s, lc->scratch, n);
}

/*
** conn:executemany(sql, list, keys?, values?, checks?, procs?) -> rowcount | nil, err
** One statement run once per parameter set, the affected rows summed. Every
** set is read (and checked, and converted) before the statement is
** prepared, so a bad value in any set fails with nothing sent; then the
** driver runs them as one batch where it can (PostgreSQL's pipeline mode).
** The values live in a userdata and the converted ones in an anchor list,
** so no Lua error can leak them.
*/
static int conn_executemany(lua_State *L) {
  lconn *lc = open_conn(L, 1);
  size_t sqln;
  const char *sql = luaL_checklstring(L, 2, &sqln);
  int nsets, i, rc, cap, cur, anchors;
  int64_t total = 0;
  bindspec bs;
  qs_error *err;
  qs_stmt *s = NULL;
  qs_value *vals;
  luaL_checktype(L, 3, LUA_TTABLE);
  lua_settop(L, 7);
  lua_getfield(L, LUA_REGISTRYINDEX, QSB_REG_NULL);   /* 8 */
  get_bindspec(L, 4, 8, &bs);
  nsets = positional_size(L, 3);
  err = qsB_errbox(L);
  if (nsets == 0) {
    lua_pushinteger(L, 0);
    return 1;
  }
  if (bs.keys) {
    cap = bs.nkeys;
  } else {
    lua_rawgeti(L, 3, 1);
    cap = positional_size(L, lua_gettop(L));
    lua_pop(L, 1);
  }
  if ((size_t)nsets * (size_t)(cap > 0 ? cap : 1) > (size_t)1 << 28)
    return qsB_raise(L, QS_ARGUMENT, "executemany: too many values in one call");
  vals = (qs_value *)qsL_newuserdatauv(L, sizeof(qs_value) * (size_t)nsets * (size_t)(cap > 0 ? cap : 1), 0);
  lua_createtable(L, nsets, 0);
  anchors = lua_gettop(L);
  for (i = 1; i <= nsets; i++) {
    int n;
    lua_rawgeti(L, 3, i);
    n = read_params(L, vals + (size_t)(i - 1) * (size_t)cap, lua_gettop(L), &bs, i, err);
    if (n < 0) return fail_err(L, err);
    if (n != cap) {
      qs_error_set(err, QS_ARGUMENT, "parameter group %d has %d values, the first has %d", i, n, cap);
      return fail_err(L, err);
    }
    lua_rawseti(L, anchors, i);   /* the set's converted values stay alive */
    lua_pop(L, 1);
  }
  qsB_cursor_new(L, 1);
  cur = lua_gettop(L);
  rc = qs_conn_prepare(lc->c, sql, sqln, &s);
  if (rc != QS_OK) return fail_conn(L, lc);
  qsB_cursor_adopt(L, cur, s);
  rc = qs_stmt_execmany(s, nsets, cap, vals, &total);
  qsB_cursor_drop(L, cur);
  if (rc < 0) return fail_conn(L, lc);
  qsL_pushint64(L, total);
  return 1;
}

/* conn:notices() -> list of the notices the server sent since the last call. */
static int conn_notices(lua_State *L) {
  lconn *lc = open_conn(L, 1);
  int i;
  const char *n;
  lua_newtable(L);
  for (i = 0; (n = qs_conn_notice(lc->c, i)) != NULL; i++) {
    lua_pushstring(L, n);
    lua_rawseti(L, -2, i + 1);
  }
  qs_conn_clear_notices(lc->c);
  return 1;
}

/* conn:exec(sql) -> true | nil, err: a statement without parameters. */
static int conn_exec(lua_State *L) {
  lconn *lc = open_conn(L, 1);
  return result_rc(L, lc, qs_conn_exec(lc->c, luaL_checkstring(L, 2)));
}

static int conn_begin(lua_State *L) {
  lconn *lc = open_conn(L, 1);
  return result_rc(L, lc, qs_conn_begin(lc->c));
}

static int conn_commit(lua_State *L) {
  lconn *lc = open_conn(L, 1);
  return result_rc(L, lc, qs_conn_commit(lc->c));
}

static int conn_rollback(lua_State *L) {
  lconn *lc = open_conn(L, 1);
  return result_rc(L, lc, qs_conn_rollback(lc->c));
}

static int conn_savepoint(lua_State *L) {
  lconn *lc = open_conn(L, 1);
  return result_rc(L, lc, qs_conn_savepoint(lc->c, luaL_checkstring(L, 2)));
}

static int conn_release(lua_State *L) {
  lconn *lc = open_conn(L, 1);
  return result_rc(L, lc, qs_conn_release(lc->c, luaL_checkstring(L, 2)));
}

static int conn_rollback_to(lua_State *L) {
  lconn *lc = open_conn(L, 1);
  return result_rc(L, lc, qs_conn_rollback_to(lc->c, luaL_checkstring(L, 2)));
}

/* conn:txn_state() -> a qs_txn_state number: core.txn_states names them. */
static int conn_txn_state(lua_State *L) {
  lconn *lc = open_conn(L, 1);
  lua_pushinteger(L, qs_conn_txn_state(lc->c));
  return 1;
}

/* conn:set_begin(sql, mode): mode "eager" | "lazy" | "write". */
static int conn_set_begin(lua_State *L) {
  static const char *const modes[] = {"eager", "lazy", "write", NULL};
  lconn *lc = open_conn(L, 1);
  const char *sql = luaL_optstring(L, 2, NULL);
  int mode = luaL_checkoption(L, 3, "write", modes);
  return result_rc(L, lc, qs_conn_set_begin(lc->c, sql, (qs_begin_mode)mode));
}

static int conn_changes(lua_State *L) {
  lconn *lc = open_conn(L, 1);
  qsL_pushint64(L, qs_conn_changes(lc->c));
  return 1;
}

static int conn_last_insert_id(lua_State *L) {
  lconn *lc = open_conn(L, 1);
  qsL_pushint64(L, qs_conn_last_insert_id(lc->c));
  return 1;
}

/* conn:cache_stats() -> hits, misses, size */
static int conn_cache_stats(lua_State *L) {
  lconn *lc = open_conn(L, 1);
  int64_t hits, misses;
  int size;
  qs_conn_cache_stats(lc->c, &hits, &misses, &size);
  qsL_pushint64(L, hits);
  qsL_pushint64(L, misses);
  lua_pushinteger(L, size);
  return 3;
}

/* conn:set_timeout(seconds) -> true | nil, err: a limit for each statement
** from now on (0 or nil: none); a statement over it fails with an
** OperationalError and the connection stays usable. */
static int conn_set_timeout(lua_State *L) {
  lconn *lc = open_conn(L, 1);
  lua_Number secs = luaL_optnumber(L, 2, 0);
  int ms;
  if (!(secs >= 0) || secs > 2147483.0)
    return luaL_argerror(L, 2, "a number of seconds between 0 and 2147483");
  ms = (int)(secs * 1000.0 + 0.5);
  if (secs > 0 && ms == 0) ms = 1;   /* a positive limit never means none */
  return result_rc(L, lc, qs_conn_set_timeout(lc->c, ms));
}

/* conn:timeout() -> seconds (0: none) */
static int conn_timeout(lua_State *L) {
  lconn *lc = open_conn(L, 1);
  lua_pushnumber(L, qs_conn_timeout(lc->c) / 1000.0);
  return 1;
}

/* conn:cancel() -> true | nil, err: asks the server to stop the statement
** running on this connection (from a hook or another thread's state; in a
** single Lua thread nothing is running, and the request is harmless). */
static int conn_cancel(lua_State *L) {
  lconn *lc = open_conn(L, 1);
  qs_error *err = qsB_errbox(L);
  if (qs_conn_cancel(lc->c, err) != QS_OK) return fail_err(L, err);
  lua_pushboolean(L, 1);
  return 1;
}

/* conn:end_statements(): ends every statement still open on this
** connection; their cursors raise ResourceClosedError from now on (the
** pools call it when a connection is given back). */
static int conn_end_statements(lua_State *L) {
  lconn *lc = check_conn(L, 1);
  if (lc->c) qs_conn_end_statements(lc->c);
  return 0;
}

static int conn_set_cache_size(lua_State *L) {
  lconn *lc = open_conn(L, 1);
  qs_conn_set_cache_size(lc->c, (int)luaL_checkinteger(L, 2));
  return 0;
}

static int conn_driver(lua_State *L) {
  lconn *lc = open_conn(L, 1);
  lua_pushstring(L, qs_conn_driver(lc->c)->zName);
  return 1;
}

static int conn_closed(lua_State *L) {
  lconn *lc = check_conn(L, 1);
  lua_pushboolean(L, lc->c == NULL);
  return 1;
}

static int conn_tostring(lua_State *L) {
  lconn *lc = check_conn(L, 1);
  if (lc->c) lua_pushfstring(L, "quicksilver.Connection (%s) %p",
                             qs_conn_driver(lc->c)->zName, (void *)lc);
  else lua_pushfstring(L, "quicksilver.Connection (closed) %p", (void *)lc);
  return 1;
}

static const luaL_Reg conn_methods[] = {
  {"execute", conn_execute},
  {"executemany", conn_executemany},
  {"notices", conn_notices},
  {"exec", conn_exec},
  {"begin", conn_begin},
  {"commit", conn_commit},
  {"rollback", conn_rollback},
  {"savepoint", conn_savepoint},
  {"release", conn_release},
  {"rollback_to", conn_rollback_to},
  {"txn_state", conn_txn_state},
  {"set_begin", conn_set_begin},
  {"changes", conn_changes},
  {"last_insert_id", conn_last_insert_id},
  {"cache_stats", conn_cache_stats},
  {"set_cache_size", conn_set_cache_size},
  {"set_timeout", conn_set_timeout},
  {"timeout", conn_timeout},
  {"cancel", conn_cancel},
  {"driver", conn_driver},
  {"closed", conn_closed},
  {"close", conn_gc},
  {"invalidate", conn_invalidate},
  {"end_statements", conn_end_statements},
  {"age", conn_age},
  {NULL, NULL},
};

static const luaL_Reg conn_meta[] = {
  {"__gc", conn_gc},
  {"__close", conn_gc},
  {"__tostring", conn_tostring},
  {NULL, NULL},
};

void qsB_open_conn(lua_State *L) {
  luaL_newmetatable(L, QSB_CONN_MT);
  luaL_setfuncs(L, conn_meta, 0);
  luaL_newlib(L, conn_methods);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
}
