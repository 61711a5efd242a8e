/*
** lcursor.c: the quicksilver.Cursor userdata, one executed statement.
**
** A cursor owns its qs_stmt from the moment the statement is prepared, so
** a Lua error at any later point leaves the statement to __gc rather than
** checked out forever. When the last row has been read the statement goes
** back to the connection's cache at once (holding it would hold SQLite's
** read lock). User values: 1 the Connection (kept alive while the cursor
** is), 2 the keymap shared by the rows: {name = index, [index] = name},
** 3 the per-column result conversions (QSR_* codes or Lua functions).
*/
#include "lbinding.h"

#include <stdio.h>
#include <string.h>

enum { CUR_CLOSED = 0, CUR_ROW = 1, CUR_DONE = 2 };

typedef struct lcursor {
  qs_stmt *st;         /* NULL once done or closed */
  int state;
  int ncols;
  int readonly;
  int64_t rowcount;    /* rows changed; -1 for a statement that writes nothing */
  int64_t lastrowid;
  int stepping;        /* a streamed step returned QS_WAIT: it goes on before the next row */
  int busy;            /* fetching: Lua may run (converters, finalizers), and
                       ** fetch and close are refused until it is done */
} lcursor;

static lcursor *check_cursor(lua_State *L, int idx) {
  return (lcursor *)luaL_checkudata(L, idx, QSB_CURSOR_MT);
}

/* Refuses to go on with a cursor that is fetching: a result converter (or
** a finalizer the collector runs) would change or free the row being read
** under the fetch. */
static void refuse_busy(lua_State *L, lcursor *cur, const char *what) {
  if (cur->busy) {
    char msg[200];
    snprintf(msg, sizeof msg, "this Cursor is in the middle of converting a row: a result "
             "converter may not %s it", what);
    qsB_raise(L, QS_MISUSE, msg);
  }
}

static void cursor_release(lcursor *cur) {
  if (cur->st) {
    qs_stmt_release(cur->st);
    cur->st = NULL;
  }
}

/* Records what a finished statement reports, then gives the statement back. */
static void cursor_finish(lcursor *cur) {
  qs_conn *c = qs_stmt_conn(cur->st);
  cur->rowcount = cur->readonly || c == NULL ? -1 : qs_conn_changes(c);
  cur->lastrowid = c ? qs_conn_last_insert_id(c) : 0;
  cursor_release(cur);
  cur->state = CUR_DONE;
}

/* Fails with the statement's error, releasing the statement first. */
static int cursor_fail(lua_State *L, lcursor *cur, int rc) {
  qs_conn *c = qs_stmt_conn(cur->st);
  qs_error closed;
  cursor_release(cur);
  cur->state = CUR_CLOSED;
  if (c == NULL || rc == QS_CLOSED) {
    memset(&closed, 0, sizeof closed);
    closed.code = QS_CLOSED;
    closed.message = (char *)"the connection of this cursor was closed";
    return qsB_fail(L, &closed);
  }
  return qsB_fail(L, qs_conn_error(c));
}

/* qsB_cursor_new: pushes a closed cursor on the Connection at connidx. */
int qsB_cursor_new(lua_State *L, int connidx) {
  lcursor *cur = (lcursor *)qsL_newuserdatauv(L, sizeof(lcursor), 3);
  memset(cur, 0, sizeof *cur);
  cur->rowcount = -1;
  luaL_setmetatable(L, QSB_CURSOR_MT);
  lua_pushvalue(L, connidx);
  qsL_setiuservalue(L, -2, 1);
  return 1;
}

/* qsB_cursor_adopt/drop: the cursor at curidx owns s while an executemany
** runs Lua converters between steps. */
void qsB_cursor_adopt(lua_State *L, int curidx, qs_stmt *s) {
  lcursor *cur = (lcursor *)lua_touserdata(L, curidx);
  cur->st = s;
  cur->state = CUR_DONE;
}

void qsB_cursor_drop(lua_State *L, int curidx) {
  lcursor *cur = (lcursor *)lua_touserdata(L, curidx);
  cursor_release(cur);
  cur->state = CUR_CLOSED;
}

static void build_keymap(lua_State *L, int curidx, lcursor *cur) {
  int i;
  lua_createtable(L, cur->ncols, cur->ncols);
  for (i = 0; i < cur->ncols; i++) {
    const char *name = qs_stmt_column_name(cur->st, i);
    if (name == NULL) name = "?";
    lua_pushstring(L, name);
    lua_pushvalue(L, -1);
    lua_rawseti(L, -3, i + 1);
    lua_pushvalue(L, -1);
    if (qsL_rawget(L, -3) == LUA_TNIL) {   /* the first of equal names wins */
      lua_pop(L, 1);
      lua_pushinteger(L, i + 1);
      lua_rawset(L, -3);
    } else {
      lua_pop(L, 2);
    }
  }
  qsL_setiuservalue(L, curidx, 2);
}

/*
** qsB_cursor_bind: the cursor at curidx takes s and binds the n values.
** Returns 1, or 0 with nil and the error pushed (s released).
*/
int qsB_cursor_bind(lua_State *L, int curidx, qs_stmt *s, const qs_value *vals, int n) {
  lcursor *cur = (lcursor *)lua_touserdata(L, curidx);
  int rc;
  cur->st = s;
  cur->state = CUR_ROW;
  rc = qs_stmt_bind(s, n, vals);
  if (rc < 0) {
    cursor_fail(L, cur, rc);
    return 0;
  }
  return 1;
}

/*
** qsB_cursor_run: runs the bound statement of the cursor at curidx to its
** first row. Pushes the cursor, or nil and the error, and returns the count
** pushed; returns 0 with nothing pushed when the step waits (non-blocking
** mode: call again once the connection is ready).
*/
int qsB_cursor_run(lua_State *L, int curidx) {
  lcursor *cur = (lcursor *)lua_touserdata(L, curidx);
  qs_stmt *s = cur->st;
  int rc = qs_stmt_step(s);
  if (rc == QS_WAIT) return 0;
  if (rc < 0) return cursor_fail(L, cur, rc);
  cur->readonly = qs_stmt_readonly(s);
  cur->ncols = qs_stmt_column_count(s);
  if (cur->ncols > 0) build_keymap(L, curidx, cur);
  if (rc == QS_DONE) cursor_finish(cur);
  lua_pushvalue(L, curidx);
  return 1;
}

/* qsB_cursor_stmt: the statement the cursor at curidx holds (or NULL). */
qs_stmt *qsB_cursor_stmt(lua_State *L, int curidx) {
  return ((lcursor *)lua_touserdata(L, curidx))->st;
}

/* What qsB_cursor_fetch_into hands the protected batch. */
typedef struct fetch_ctx {
  lcursor *cur;
  lua_Integer max;   /* rows wanted in the list, -1: all */
  const int *codes;
  int count;         /* rows in the list */
  int rc;            /* a failed step's code, QS_WAIT, else 0 */
} fetch_ctx;

/* fetch_batch(ctx, list, keymap, row_mt, procs|nil): rows appended to list
** (run by lua_pcall from qsB_cursor_fetch_into, the cursor busy). */
static int fetch_batch(lua_State *L) {
  fetch_ctx *fx = (fetch_ctx *)lua_touserdata(L, 1);
  lcursor *cur = fx->cur;
  int procs = lua_isnil(L, 5) ? 0 : 5;
  while (cur->state == CUR_ROW && (fx->max < 0 || fx->count < fx->max)) {
    int rc;
    qsB_pushrow(L, cur->st, cur->ncols, 3, 4, procs, fx->codes);
    lua_rawseti(L, 2, ++fx->count);
    rc = qs_stmt_step(cur->st);
    if (rc == QS_WAIT || rc < 0) {
      fx->rc = rc;
      break;
    }
    if (rc == QS_DONE) cursor_finish(cur);
  }
  return 0;
}

/*
** qsB_cursor_fetch_into: appends rows of the cursor at curidx to the list at
** listidx until it holds max (max < 0: every row left). Returns 1 when done
** (nothing pushed), 0 when a step waits (a streamed result in non-blocking
** mode: call again with the same list once the connection is ready), or the
** count pushed (nil, err) when a step failed; raises on a closed cursor.
*/
int qsB_cursor_fetch_into(lua_State *L, int curidx, lua_Integer max, int listidx) {
  lcursor *cur = (lcursor *)lua_touserdata(L, curidx);
  int count = (int)lua_rawlen(L, listidx), km, mt, procs, top = lua_gettop(L), rc;
  int codebuf[64];
  const int *codes = NULL;
  fetch_ctx fx;
  refuse_busy(L, cur, "fetch from");
  if (cur->state == CUR_ROW && qs_stmt_conn(cur->st) == NULL) {
    /* its connection was closed, or given back to its pool (which ended
    ** the statement): the rows it would read now are somebody else's */
    cursor_release(cur);
    cur->state = CUR_CLOSED;
    cur->stepping = 0;
    return qsB_raise(L, QS_CLOSED, "this cursor's connection was closed or returned to its "
                     "pool; the rows it had not fetched are gone");
  }
  if (cur->state == CUR_CLOSED)
    return qsB_raise(L, QS_CLOSED, "attempt to use a closed quicksilver.Cursor");
  if (cur->state != CUR_ROW) return 1;
  if (cur->stepping) {   /* the step that waited goes on first */
    rc = qs_stmt_step(cur->st);
    if (rc == QS_WAIT) return 0;
    cur->stepping = 0;
    if (rc == QS_DONE) cursor_finish(cur);
    else if (rc < 0) return cursor_fail(L, cur, rc);
    if (cur->state != CUR_ROW) return 1;
  }
  qsL_getiuservalue(L, curidx, 2);
  km = lua_gettop(L);
  luaL_getmetatable(L, QSB_ROW_MT);
  mt = lua_gettop(L);
  if (qsL_getiuservalue(L, curidx, 3) != LUA_TTABLE) lua_pop(L, 1), lua_pushnil(L);
  procs = lua_istable(L, -1) ? lua_gettop(L) : 0;
  /* the converters read once per fetch, not once per value */
  if (procs && cur->ncols <= (int)(sizeof codebuf / sizeof codebuf[0])) {
    int i;
    for (i = 0; i < cur->ncols; i++) {
      int t = qsL_rawgeti(L, procs, i + 1);
      codebuf[i] = t == LUA_TNUMBER ? (int)lua_tointeger(L, -1) : t == LUA_TFUNCTION ? QSR_FUNCTION : 0;
      lua_pop(L, 1);
    }
    codes = codebuf;
  }
  /* the batch runs protected with the cursor busy: whatever Lua runs in
  ** it (converters, finalizers) cannot fetch from the cursor or release its
  ** statement, and an error clears the mark on its way up */
  fx.cur = cur;
  fx.max = max;
  fx.codes = codes;
  fx.count = count;
  fx.rc = 0;
  lua_pushcfunction(L, fetch_batch);
  lua_pushlightuserdata(L, &fx);
  lua_pushvalue(L, listidx);
  lua_pushvalue(L, km);
  lua_pushvalue(L, mt);
  if (procs) lua_pushvalue(L, procs);
  else lua_pushnil(L);
  cur->busy = 1;
  rc = lua_pcall(L, 5, 0, 0);
  cur->busy = 0;
  if (rc != 0) return lua_error(L);
  if (fx.rc == QS_WAIT) {
    cur->stepping = 1;
    lua_settop(L, top);
    return 0;
  }
  if (fx.rc < 0) return cursor_fail(L, cur, fx.rc);
  lua_settop(L, top);
  return 1;
}

/*
** cur:fetch(n?) -> list of rows | nil, err
** Up to n rows (all when n is absent); fewer than n means the end. Fetching
** from a finished cursor returns an empty list; from a closed one raises.
** A streamed cursor whose step would wait (non-blocking mode) is fetched
** through conn:fetch(cur, n) instead, which waits.
*/
static int cursor_fetch(lua_State *L) {
  lcursor *cur = check_cursor(L, 1);
  lua_Integer max = luaL_optinteger(L, 2, -1);
  int k, list;
  lua_settop(L, 2);
  /* sized for a batch at once (capped: max may be a large yield_per) */
  lua_createtable(L, (cur->state == CUR_ROW && max > 0) ? (int)(max < 4096 ? max : 4096) : 0, 0);
  list = lua_gettop(L);
  k = qsB_cursor_fetch_into(L, 1, max, list);
  if (k == 0)
    return qsB_raise(L, QS_MISUSE, "this streamed cursor waits for its connection (non-blocking "
                     "mode): fetch it through conn:fetch(cursor, n), which waits");
  if (k > 1) return k;
  lua_settop(L, list);
  return 1;
}

/* cur:set_procs(procs): per-column conversions applied by fetch: a QSR_*
** code or a Lua function(value) -> value, indexed by column. */
static int cursor_set_procs(lua_State *L) {
  check_cursor(L, 1);
  if (!lua_isnil(L, 2)) luaL_checktype(L, 2, LUA_TTABLE);
  lua_settop(L, 2);
  qsL_setiuservalue(L, 1, 3);
  return 0;
}

/* cur:columns() -> list of column names (empty for statements without). */
static int cursor_columns(lua_State *L) {
  lcursor *cur = check_cursor(L, 1);
  int i;
  lua_createtable(L, cur->ncols, 0);
  if (cur->ncols == 0) return 1;
  qsL_getiuservalue(L, 1, 2);
  for (i = 1; i <= cur->ncols; i++) {
    lua_rawgeti(L, -1, i);
    lua_rawseti(L, -3, i);
  }
  lua_pop(L, 1);
  return 1;
}

/* cur:keymap() -> the {name = index, [index] = name} table rows share. */
static int cursor_keymap(lua_State *L) {
  check_cursor(L, 1);
  qsL_getiuservalue(L, 1, 2);
  return 1;
}

static int cursor_rowcount(lua_State *L) {
  lcursor *cur = check_cursor(L, 1);
  qsL_pushint64(L, cur->rowcount);
  return 1;
}

static int cursor_lastrowid(lua_State *L) {
  lcursor *cur = check_cursor(L, 1);
  qsL_pushint64(L, cur->lastrowid);
  return 1;
}

/* cur:done() -> true when no row is left to fetch. */
static int cursor_done(lua_State *L) {
  lcursor *cur = check_cursor(L, 1);
  lua_pushboolean(L, cur->state != CUR_ROW);
  return 1;
}

static int cursor_gc(lua_State *L) {
  lcursor *cur = check_cursor(L, 1);
  cur->stepping = 0;
  cursor_release(cur);
  cur->state = CUR_CLOSED;
  return 0;
}

/* cur:close() (and __close): as __gc, refused while the cursor fetches. */
static int cursor_close(lua_State *L) {
  refuse_busy(L, check_cursor(L, 1), "close");
  return cursor_gc(L);
}

static int cursor_tostring(lua_State *L) {
  lcursor *cur = check_cursor(L, 1);
  static const char *const names[] = {"closed", "open", "done"};
  lua_pushfstring(L, "quicksilver.Cursor (%s) %p", names[cur->state], (void *)cur);
  return 1;
}

static const luaL_Reg cursor_methods[] = {
  {"fetch", cursor_fetch},
  {"columns", cursor_columns},
  {"set_procs", cursor_set_procs},
  {"keymap", cursor_keymap},
  {"rowcount", cursor_rowcount},
  {"lastrowid", cursor_lastrowid},
  {"done", cursor_done},
  {"close", cursor_close},
  {NULL, NULL},
};

static const luaL_Reg cursor_meta[] = {
  {"__gc", cursor_gc},
  {"__close", cursor_close},
  {"__tostring", cursor_tostring},
  {NULL, NULL},
};

void qsB_open_cursor(lua_State *L) {
  luaL_newmetatable(L, QSB_CURSOR_MT);
  luaL_setfuncs(L, cursor_meta, 0);
  luaL_newlib(L, cursor_methods);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
}
