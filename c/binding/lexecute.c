/*
** lexecute.c: the Connection userdata's statement methods (lconn.c has the
** rest): execute (parameters read into the scratch array before a statement
** is taken from the cache; the rows mode that binds straight from value
** tables), fetch of a streamed result, executemany, each as steps that may
** return core.WAIT and go on in conn:resume (lconn.c's waiting protocol).
*/
#include <stdlib.h>
#include <string.h>

#include "lconn.h"

qs_value *qsB_lc_scratch(lua_State *L, lconn *lc, int n) {
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

/* After the Lua converters of a statement's parameters ran: they may have
** closed this connection (or given it back to its pool), or left an
** operation of their own waiting on it; then the statement cannot go on,
** and says why rather than running on a connection that is gone. */
static void check_after_converters(lua_State *L, lconn *lc) {
  if (lc->c == NULL || !qs_conn_is_open(lc->c))
    qsB_raise(L, QS_CLOSED, "this Connection was closed by a parameter converter (or a "
              "finalizer) while the statement's parameters were being converted");
  if (lc->pending != P_NONE)
    qsB_raise(L, QS_MISUSE, "a parameter converter left an operation waiting on this Connection "
              "while the statement's parameters were being converted");
}

/* err is always a boxed error (qsB_errbox): a Lua error raised while its
** object is made leaves the message to the box's __gc. */
int qsB_lc_fail_err(lua_State *L, qs_error *err) {
  return qsB_fail_box(L, err);
}

/*
** The part of an execute that may wait: prepare (stage 0), then bind and
** run to the first row (stage 1). sqlidx, cur, paramsidx and anchoridx are
** stack indexes of the SQL, the cursor, the parameters and read_params'
** anchor list (0: none); the values are in lc->scratch. pidx is the pending
** table when going on (resume), 0 on the first call: a first wait makes it
** then, so a call that never waits allocates nothing for waiting.
*/
static int execute_steps(lua_State *L, lconn *lc, int pidx, int sqlidx, int cur, int paramsidx,
                         int anchoridx) {
  int k;
  if (lc->stage == 0) {
    size_t sqln;
    const char *sql = lua_tolstring(L, sqlidx, &sqln);
    qs_stmt *s;
    int rc = qs_conn_prepare(lc->c, sql, sqln, &s);
    if (rc == QS_WAIT) goto wait;
    if (rc != QS_OK) return qsB_lc_fail_conn(L, lc);
    /* The cursor owns s from here on, whatever happens next. */
    if (!qsB_cursor_bind(L, cur, s, lc->scratch, lc->nvals)) return 2;
    lc->stage = 1;
  }
  k = qsB_cursor_run(L, cur);
  if (k > 0) return k;
wait:
  if (pidx == 0) {
    lua_createtable(L, 0, 4);
    pidx = lua_gettop(L);
    lua_pushvalue(L, sqlidx);
    lua_setfield(L, pidx, "sql");
    lua_pushvalue(L, cur);
    lua_setfield(L, pidx, "cursor");
    if (paramsidx) {
      lua_pushvalue(L, paramsidx);
      lua_setfield(L, pidx, "params");
    }
    if (anchoridx) {
      lua_pushvalue(L, anchoridx);
      lua_setfield(L, pidx, "anchors");
    }
  }
  return qsB_lc_wait_return(L, lc, P_EXECUTE, pidx);
}

/* execute_steps going on with the pending table at pidx. */
int qsB_lc_execute_resume(lua_State *L, lconn *lc, int pidx) {
  int sqlidx, cur;
  lua_getfield(L, pidx, "sql");
  sqlidx = lua_gettop(L);
  lua_getfield(L, pidx, "cursor");
  cur = lua_gettop(L);
  return execute_steps(L, lc, pidx, sqlidx, cur, 0, 0);
}

/*
** The rows mode of conn:execute: params is a list of nrows sets, each read
** by the one-row keys (with its values, checks and converters) into the
** values r*nkeys .. (r+1)*nkeys-1: a multi-row VALUES statement bound
** straight from the sets (the ORM flush's value tables), an error naming
** the column and the set. The sets stay alive in the list (on the stack);
** the anchor lists of the rows that have one go into one list, pushed.
** Returns the count of values, or -1 with err set.
*/
static int read_rows(lua_State *L, lconn *lc, int pidx, const qsB_bindspec *bs, int nrows,
                     qs_error *err) {
  int nk = bs->nkeys, total, r, anchors;
  qs_value *dst, *own = NULL;
  if (nk <= 0 || nrows > QSB_MAX_PARAMS / nk) {
    qs_error_set(err, QS_ARGUMENT, "rows of %d values each: %d rows are more values than one "
                 "statement can carry", nk, nrows);
    lua_pushnil(L);
    return -1;
  }
  total = nrows * nk;
  lua_createtable(L, 0, 0);
  anchors = lua_gettop(L);
  if (bs->procs) {   /* converters may use this connection: values into an array of our own */
    own = (qs_value *)qsL_newuserdatauv(L, sizeof(qs_value) * (size_t)total, 0);
    lua_rawseti(L, anchors, nrows + 1);   /* kept with the anchors */
    dst = own;
  } else {
    dst = qsB_lc_scratch(L, lc, total);
    lc->reading = 1;
  }
  for (r = 0; r < nrows; r++) {
    int k;
    lua_rawgeti(L, pidx, r + 1);
    k = qsB_read_params(L, dst + (size_t)r * (size_t)nk, lua_gettop(L), bs, r + 1, err);
    if (k < 0) {
      lc->reading = 0;
      return -1;
    }
    if (lua_isnil(L, -1)) lua_pop(L, 1);
    else lua_rawseti(L, anchors, r + 1);
    lua_pop(L, 1);   /* the set: the list keeps it */
  }
  lc->reading = 0;
  check_after_converters(L, lc);
  if (own) memcpy(qsB_lc_scratch(L, lc, total), own, sizeof(qs_value) * (size_t)total);
  return total;
}

/*
** conn:execute(sql, params?, keys?, values?, checks?, procs?, nrows?) -> Cursor | nil, err
** params: a table; keys: the keys to read from it in placeholder order (for
** compiled statements), or nil for params[1..n]; values: key -> value used
** when params lacks the key; checks/procs: per-position value checks (C)
** and converters (Lua). nrows: params is a list of that many sets, each
** read by keys in turn (read_rows). In non-blocking mode: core.WAIT, ...
** (resume).
*/
int qsB_lc_conn_execute(lua_State *L) {
  int pushed;
  lconn *lc = qsB_lc_io_conn(L, &pushed);
  int pidx = lua_isnoneornil(L, 3) ? 0 : 3;
  int n = 0, cur, anchor = 0, nrows = 0;
  qsB_bindspec bs;
  qs_error *err;
  if (pushed) return pushed;
  luaL_checkstring(L, 2);
  if (pidx) luaL_checktype(L, 3, LUA_TTABLE);
  lua_settop(L, 8);
  if (!lua_isnil(L, 8)) {
    lua_Integer r = luaL_checkinteger(L, 8);
    if (r < 1 || r > QSB_MAX_PARAMS || !pidx || lua_isnil(L, 4))
      return qsB_raise(L, QS_ARGUMENT, "conn:execute: nrows needs a list of sets, the keys, and a "
                       "count from 1 to the most values a statement carries");
    nrows = (int)r;
  }
  lua_getfield(L, LUA_REGISTRYINDEX, QSB_REG_NULL);   /* 9 */
  qsB_get_bindspec(L, 4, 9, &bs);
  /* an operation that waits keeps pointers to the values: all anchored */
  if (qs_conn_nonblocking(lc->c)) bs.anchor = 1;
  qsB_cursor_new(L, 1);
  cur = lua_gettop(L);
  err = qsB_errbox(L);
  if (!pidx && bs.keys) {   /* values only from the statement */
    lua_newtable(L);
    pidx = lua_gettop(L);
  }
  if (pidx && nrows) {
    if (lc->reading)
      return qsB_raise(L, QS_MISUSE, "this Connection is in the middle of reading a statement's "
                       "parameters; a finalizer may not run SQL on it");
    n = read_rows(L, lc, pidx, &bs, nrows, err);
    if (n < 0) return qsB_lc_fail_err(L, err);
    anchor = lua_gettop(L);   /* the rows' anchor lists */
  } else if (pidx) {
    int size = bs.keys ? bs.nkeys : qsB_positional_size(L, pidx, QSB_MAX_PARAMS,
                                                         "the positional parameters");
    if (lc->reading)   /* only a finalizer run by the collector mid-read gets here */
      return qsB_raise(L, QS_MISUSE, "this Connection is in the middle of reading a statement's "
                       "parameters; a finalizer may not run SQL on it");
    if (bs.procs) {
      /* Lua converters may run SQL on this connection (which reuses the
      ** scratch array) or close it (which frees it): the values are read
      ** into an array of this call's own, and copied once no Lua runs */
      qs_value *own = (qs_value *)qsL_newuserdatauv(L, sizeof(qs_value) * (size_t)(size > 0 ? size : 1), 0);
      n = qsB_read_params(L, own, pidx, &bs, 0, err);
      if (n < 0) return qsB_lc_fail_err(L, err);
      anchor = lua_gettop(L);   /* the anchor list; own stays below it */
      check_after_converters(L, lc);
      memcpy(qsB_lc_scratch(L, lc, n), own, sizeof(qs_value) * (size_t)n);
    } else {
      /* no converter; but reading may allocate (anchors, JSON text), and a
      ** finalizer the collector runs then may use this connection */
      qsB_lc_scratch(L, lc, size);
      lc->reading = 1;
      n = qsB_read_params(L, lc->scratch, pidx, &bs, 0, err);
      lc->reading = 0;
      if (n < 0) return qsB_lc_fail_err(L, err);
      anchor = lua_gettop(L);   /* qsB_read_params' anchor list (or nil) */
      check_after_converters(L, lc);
    }
  }
  lc->nvals = n;
  lc->stage = 0;
  return execute_steps(L, lc, 0, 2, cur, pidx, anchor);
}

/* The rows of a streamed cursor (qsB_lc_fetch_steps), going on with the pending
** table at pidx ({cursor, list, n}) or starting one (pidx 0: cursor at 2,
** n at 3). */
int qsB_lc_fetch_steps(lua_State *L, lconn *lc, int pidx) {
  int cur, list, k;
  lua_Integer n;
  if (pidx == 0) {
    lua_createtable(L, 0, 3);
    pidx = lua_gettop(L);
    lua_pushvalue(L, 2);
    lua_setfield(L, pidx, "cursor");
    lua_pushvalue(L, 3);
    lua_setfield(L, pidx, "n");
    lua_newtable(L);
    lua_setfield(L, pidx, "list");
  }
  lua_getfield(L, pidx, "cursor");
  cur = lua_gettop(L);
  lua_getfield(L, pidx, "n");
  n = lua_isnil(L, -1) ? -1 : lua_tointeger(L, -1);
  lua_getfield(L, pidx, "list");
  list = lua_gettop(L);
  k = qsB_cursor_fetch_into(L, cur, n, list);
  if (k == 0) return qsB_lc_wait_return(L, lc, P_FETCH, pidx);
  if (k > 1) return k;
  lua_pushvalue(L, list);
  return 1;
}

/*
** conn:fetch(cursor, n?) -> list of rows | nil, err | core.WAIT, ... (resume)
** cursor:fetch(n) for a cursor of this connection whose steps may wait (a
** streamed result read from a coroutine).
*/
int qsB_lc_conn_fetch(lua_State *L) {
  int pushed;
  lconn *lc = qsB_lc_io_conn(L, &pushed);
  if (pushed) return pushed;
  luaL_checkudata(L, 2, QSB_CURSOR_MT);
  if (!lua_isnoneornil(L, 3)) luaL_checkinteger(L, 3);
  lua_settop(L, 3);
  return qsB_lc_fetch_steps(L, lc, 0);
}

/* conn:set_stream(on): the next statement executed streams its rows
** (stream_results / yield_per) where the driver can; on false clears it. */
int qsB_lc_conn_set_stream(lua_State *L) {
  lconn *lc = qsB_lc_open_conn(L, 1);
  qs_conn_set_stream(lc->c, lua_toboolean(L, 2));
  return 0;
}

/* conn:streaming() -> true while a streamed result of it has rows left. */
int qsB_lc_conn_streaming(lua_State *L) {
  lconn *lc = qsB_lc_check_conn(L, 1);
  lua_pushboolean(L, lc->c != NULL && qs_conn_streaming(lc->c));
  return 1;
}

/* The part of an executemany that may wait: prepare (stage 0), then run
** every set (stage 1). */
int qsB_lc_executemany_steps(lua_State *L, lconn *lc, int pidx) {
  int cur, rc;
  qs_stmt *s;
  int64_t total = 0;
  lua_getfield(L, pidx, "cursor");
  cur = lua_gettop(L);
  if (lc->stage == 0) {
    size_t sqln;
    const char *sql;
    lua_getfield(L, pidx, "sql");
    sql = lua_tolstring(L, -1, &sqln);
    rc = qs_conn_prepare(lc->c, sql, sqln, &s);
    lua_pop(L, 1);
    if (rc == QS_WAIT) return qsB_lc_wait_return(L, lc, P_EXECMANY, pidx);
    if (rc != QS_OK) return qsB_lc_fail_conn(L, lc);
    qsB_cursor_adopt(L, cur, s);
    lc->stage = 1;
  }
  s = qsB_cursor_stmt(L, cur);
  rc = qs_stmt_execmany(s, lc->many_sets, lc->many_cap, lc->many_vals, &total);
  if (rc == QS_WAIT) return qsB_lc_wait_return(L, lc, P_EXECMANY, pidx);
  qsB_cursor_drop(L, cur);
  if (rc < 0) return qsB_lc_fail_conn(L, lc);
  qsL_pushint64(L, total);
  return 1;
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
int qsB_lc_conn_executemany(lua_State *L) {
  int pushed;
  lconn *lc = qsB_lc_io_conn(L, &pushed);
  int nsets, i, cap, anchors, pending, nb;
  qsB_bindspec bs;
  qs_error *err;
  qs_value *vals;
  if (pushed) return pushed;
  luaL_checkstring(L, 2);
  luaL_checktype(L, 3, LUA_TTABLE);
  lua_settop(L, 7);
  lua_getfield(L, LUA_REGISTRYINDEX, QSB_REG_NULL);   /* 8 */
  qsB_get_bindspec(L, 4, 8, &bs);
  nb = qs_conn_nonblocking(lc->c);
  if (nb) bs.anchor = 1;
  nsets = qsB_positional_size(L, 3, 1 << 28, "executemany: the parameter sets");
  err = qsB_errbox(L);
  if (nsets == 0) {
    lua_pushinteger(L, 0);
    return 1;
  }
  if (bs.keys) {
    cap = bs.nkeys;
  } else {
    lua_rawgeti(L, 3, 1);
    cap = qsB_positional_size(L, lua_gettop(L), QSB_MAX_PARAMS, "executemany: parameter set 1");
    lua_pop(L, 1);
  }
  if ((size_t)nsets * (size_t)(cap > 0 ? cap : 1) > (size_t)1 << 28)
    return qsB_raise(L, QS_ARGUMENT, "executemany: too many values in one call");
  lua_createtable(L, 0, 4);   /* what a wait keeps */
  pending = lua_gettop(L);
  vals = (qs_value *)qsL_newuserdatauv(L, sizeof(qs_value) * (size_t)nsets * (size_t)(cap > 0 ? cap : 1), 0);
  lua_setfield(L, pending, "values");
  lua_createtable(L, nsets, 0);
  anchors = lua_gettop(L);
  for (i = 1; i <= nsets; i++) {
    int n;
    lua_rawgeti(L, 3, i);
    n = qsB_read_params(L, vals + (size_t)(i - 1) * (size_t)cap, lua_gettop(L), &bs, i, err);
    if (n < 0) return qsB_lc_fail_err(L, err);
    if (n != cap) {
      qs_error_set(err, QS_ARGUMENT, "parameter group %d has %d values, the first has %d", i, n, cap);
      return qsB_lc_fail_err(L, err);
    }
    lua_rawseti(L, anchors, i);   /* the set's converted values stay alive */
    lua_pop(L, 1);
  }
  check_after_converters(L, lc);
  lua_setfield(L, pending, "anchors");
  lua_pushvalue(L, 3);
  lua_setfield(L, pending, "sets");
  lua_pushvalue(L, 2);
  lua_setfield(L, pending, "sql");
  qsB_cursor_new(L, 1);
  lua_setfield(L, pending, "cursor");
  lc->many_sets = nsets;
  lc->many_cap = cap;
  lc->many_vals = vals;
  lc->stage = 0;
  return qsB_lc_executemany_steps(L, lc, pending);
}

/* conn:notices() -> list of the notices the server sent since the last call. */
