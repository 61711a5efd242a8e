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
} lconn;

#define MAX_OPTS 32

static lconn *check_conn(lua_State *L, int idx) {
  return (lconn *)luaL_checkudata(L, idx, QS_CONN_MT);
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
  if (lc->c) {
    qs_conn_free(lc->c);
    lc->c = NULL;
  }
  free(lc->scratch);
  lc->scratch = NULL;
  lc->scratch_cap = 0;
  return 0;
}

/*
** core.connect(driver_name, options) -> Connection | nil, err
** options: a table of string keys to string/number/boolean values, handed to
** the driver as strings.
*/
int qsB_connect(lua_State *L) {
  const char *name = luaL_checkstring(L, 1);
  const char *keys[MAX_OPTS], *vals[MAX_OPTS];
  const qs_driver *drv;
  qs_error err;
  lconn *lc;
  int n = 0, rc;
  if (!lua_isnoneornil(L, 2)) luaL_checktype(L, 2, LUA_TTABLE);
  lua_settop(L, 2);
  lua_getfield(L, LUA_REGISTRYINDEX, QS_REG_DRIVERS);
  lua_getfield(L, -1, name);
  drv = (const qs_driver *)lua_touserdata(L, -1);
  lua_pop(L, 2);
  if (drv == NULL) {
    lua_pushfstring(L, "no quicksilver driver named '%s' is loaded", name);
    return qsB_raise(L, QS_ARGUMENT, lua_tostring(L, -1));
  }
  /* Collect options as strings kept alive on the stack (in a table). */
  lua_newtable(L);   /* 3: anchors for converted strings */
  if (lua_istable(L, 2)) {
    lua_pushnil(L);
    while (lua_next(L, 2)) {
      if (n == MAX_OPTS) return qsB_raise(L, QS_ARGUMENT, "too many connection options");
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
      lua_rawseti(L, 3, 2 * n + 2);
      lua_pushvalue(L, -2);
      keys[n] = lua_tostring(L, -1);
      lua_rawseti(L, 3, 2 * n + 1);
      n++;
      lua_pop(L, 1);
    }
  }
  lc = (lconn *)qsL_newuserdatauv(L, sizeof(lconn), 0);
  memset(lc, 0, sizeof *lc);
  luaL_setmetatable(L, QS_CONN_MT);
  memset(&err, 0, sizeof err);
  rc = qs_conn_open(drv, n, keys, vals, &lc->c, &err);
  if (rc != QS_OK) {
    lua_pushnil(L);
    qsB_pusherror(L, &err);   /* may raise on memory: err leaks, nothing else */
    qs_error_clear(&err);
    return 2;
  }
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

/*
** Reads the value at the top of the stack into v and pops it. Strings are
** borrowed from the Lua value, which the parameter table keeps alive.
** Returns 0, 1 when the value is missing, 2 when its type cannot be bound.
** Never raises: it runs while a statement may be checked out.
*/
static int read_value(lua_State *L, int nullidx, qs_value *v) {
  int t = lua_type(L, -1), rc = 0;
  switch (t) {
    case LUA_TNIL: rc = 1; break;
    case LUA_TBOOLEAN:
      v->type = QS_TINT;
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
    case LUA_TSTRING:
      v->type = QS_TTEXT;
      v->u.s.p = lua_tolstring(L, -1, &v->u.s.n);
      break;
    default:
      if (lua_rawequal(L, -1, nullidx)) v->type = QS_TNULL;
      else rc = 2;
  }
  lua_pop(L, 1);
  return rc;
}

/*
** Reads one parameter set: with keys (index kidx, nkeys entries) the values
** params[keys[i]]; without, params[1..n] where n is params.n or #params.
** Returns the count read, or -1 with err set (naming the parameter and, in
** an executemany, the parameter set).
*/
static int read_params(lua_State *L, lconn *lc, int pidx, int kidx, int nkeys,
                       int nullidx, int group, qs_error *err) {
  int i, n;
  qs_value *vals;
  if (!lua_istable(L, pidx)) {
    qs_error_set(err, QS_ARGUMENT, "parameter set %d is a %s, not a table", group,
                 luaL_typename(L, pidx));
    return -1;
  }
  if (kidx) {
    n = nkeys;
  } else {
    lua_getfield(L, pidx, "n");
    n = lua_isnumber(L, -1) ? (int)lua_tointeger(L, -1) : (int)lua_rawlen(L, pidx);
    lua_pop(L, 1);
  }
  vals = lc->scratch;   /* sized by the caller */
  for (i = 0; i < n; i++) {
    int rc;
    if (kidx) {
      lua_rawgeti(L, kidx, i + 1);
      lua_rawget(L, pidx);
    } else {
      lua_rawgeti(L, pidx, i + 1);
    }
    rc = read_value(L, nullidx, &vals[i]);
    if (rc == 1 && !kidx) {
      vals[i].type = QS_TNULL;   /* positional holes are NULLs (params.n) */
    } else if (rc != 0) {
      const char *what = rc == 1 ? "A value is required for bind parameter"
                                 : "Unsupported value for bind parameter";
      if (kidx) {
        lua_rawgeti(L, kidx, i + 1);
        lua_pushfstring(L, "%s '%s'", what, lua_tostring(L, -1));
      } else {
        lua_pushfstring(L, "%s %d", what, i + 1);
      }
      if (group > 0) qs_error_set(err, QS_ARGUMENT, "%s, in parameter group %d",
                                  lua_tostring(L, -1), group);
      else qs_error_set(err, QS_ARGUMENT, "%s", lua_tostring(L, -1));
      lua_pop(L, kidx ? 2 : 1);
      return -1;
    }
  }
  return n;
}

static int count_keys(lua_State *L, int kidx) {
  return kidx ? (int)lua_rawlen(L, kidx) : 0;
}

/* Capacity for the positional parameters of table pidx. */
static int positional_size(lua_State *L, int pidx) {
  int n;
  if (!lua_istable(L, pidx)) return 0;
  lua_getfield(L, pidx, "n");
  n = lua_isnumber(L, -1) ? (int)lua_tointeger(L, -1) : (int)lua_rawlen(L, pidx);
  lua_pop(L, 1);
  return n;
}

int qsB_cursor_new(lua_State *L, int connidx);
int qsB_cursor_start(lua_State *L, int curidx, qs_stmt *s, const qs_value *vals,
                     int n);

/*
** conn:execute(sql, params?, keys?) -> Cursor | nil, err
** params: a table; keys: a list of the keys to read from it in placeholder
** order (names for compiled statements), or nil for params[1..n].
*/
static int conn_execute(lua_State *L) {
  lconn *lc = open_conn(L, 1);
  size_t sqln;
  const char *sql = luaL_checklstring(L, 2, &sqln);
  int pidx = lua_isnoneornil(L, 3) ? 0 : 3;
  int kidx = lua_isnoneornil(L, 4) ? 0 : 4;
  int nkeys, n = 0, rc;
  qs_error err;
  qs_stmt *s;
  if (pidx) luaL_checktype(L, 3, LUA_TTABLE);
  if (kidx) luaL_checktype(L, 4, LUA_TTABLE);
  lua_settop(L, 4);
  lua_getfield(L, LUA_REGISTRYINDEX, QS_REG_NULL);   /* 5 */
  nkeys = count_keys(L, kidx);
  qsB_cursor_new(L, 1);                               /* 6 */
  memset(&err, 0, sizeof err);
  if (pidx) {
    scratch(L, lc, kidx ? nkeys : positional_size(L, pidx));
    n = read_params(L, lc, pidx, kidx, nkeys, 5, 0, &err);
    if (n < 0) {
      rc = qsB_fail(L, &err);
      qs_error_clear(&err);
      return rc;
    }
  }
  rc = qs_conn_prepare(lc->c, sql, sqln, &s);
  if (rc != QS_OK) return fail_conn(L, lc);
  /* The cursor owns s from here on, whatever happens next. */
  return qsB_cursor_start(L, 6, s, lc->scratch, n);
}

/*
** conn:executemany(sql, list, keys?) -> rowcount | nil, err
** One statement, bound and stepped once per parameter set; the affected
** rows are summed. Stops at the first failure (the caller's transaction
** decides what survives).
*/
static int conn_executemany(lua_State *L) {
  lconn *lc = open_conn(L, 1);
  size_t sqln;
  const char *sql = luaL_checklstring(L, 2, &sqln);
  int kidx = lua_isnoneornil(L, 4) ? 0 : 4;
  int nsets, nkeys, i, rc = QS_OK, cap;
  int64_t total = 0;
  qs_error err;
  qs_stmt *s = NULL;
  luaL_checktype(L, 3, LUA_TTABLE);
  if (kidx) luaL_checktype(L, 4, LUA_TTABLE);
  lua_settop(L, 4);
  lua_getfield(L, LUA_REGISTRYINDEX, QS_REG_NULL);   /* 5 */
  nsets = positional_size(L, 3);
  nkeys = count_keys(L, kidx);
  /* Size the scratch array up front: nothing may raise while s is held. */
  cap = nkeys;
  if (!kidx) {
    for (i = 1; i <= nsets; i++) {
      int m;
      lua_rawgeti(L, 3, i);
      m = positional_size(L, -1);
      if (m > cap) cap = m;
      lua_pop(L, 1);
    }
  }
  scratch(L, lc, cap > 0 ? cap : 1);
  memset(&err, 0, sizeof err);
  if (nsets == 0) {
    lua_pushinteger(L, 0);
    return 1;
  }
  /* Check the first set before anything is sent, so a wrong key fails
  ** without touching the database (later sets are checked as they come). */
  lua_rawgeti(L, 3, 1);
  if (read_params(L, lc, lua_gettop(L), kidx, nkeys, 5, 1, &err) < 0) {
    rc = qsB_fail(L, &err);
    qs_error_clear(&err);
    return rc;
  }
  lua_pop(L, 1);
  rc = qs_conn_prepare(lc->c, sql, sqln, &s);
  if (rc != QS_OK) return fail_conn(L, lc);
  for (i = 1; i <= nsets && rc >= 0; i++) {
    int n;
    lua_rawgeti(L, 3, i);
    n = read_params(L, lc, lua_gettop(L), kidx, nkeys, 5, i, &err);
    lua_pop(L, 1);
    if (n < 0) {
      rc = err.code;
      break;
    }
    rc = qs_stmt_bind(s, n, lc->scratch);
    if (rc == QS_OK) rc = qs_stmt_step(s);
    while (rc == QS_ROW) rc = qs_stmt_step(s);   /* RETURNING rows: drained */
    if (rc == QS_DONE) {
      total += qs_conn_changes(lc->c);
      qs_stmt_reset(s);
    }
  }
  qs_stmt_release(s);
  if (rc < 0) {
    if (err.code != QS_OK) {
      rc = qsB_fail(L, &err);
      qs_error_clear(&err);
      return rc;
    }
    return fail_conn(L, lc);
  }
  qsL_pushint64(L, total);
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

/* conn:txn_state() -> 0 none, 1 begun (BEGIN not sent yet), 2 sent. */
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

/* The open qs_conn of the Connection at idx, for the cursor. */
qs_conn *qsB_conn_of(lua_State *L, int idx);
qs_conn *qsB_conn_of(lua_State *L, int idx) {
  lconn *lc = (lconn *)lua_touserdata(L, idx);
  return lc ? lc->c : NULL;
}

static const luaL_Reg conn_methods[] = {
  {"execute", conn_execute},
  {"executemany", conn_executemany},
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
  {"driver", conn_driver},
  {"closed", conn_closed},
  {"close", conn_gc},
  {NULL, NULL},
};

static const luaL_Reg conn_meta[] = {
  {"__gc", conn_gc},
  {"__close", conn_gc},
  {"__tostring", conn_tostring},
  {NULL, NULL},
};

void qsB_open_conn(lua_State *L) {
  luaL_newmetatable(L, QS_CONN_MT);
  luaL_setfuncs(L, conn_meta, 0);
  luaL_newlib(L, conn_methods);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
}
