/*
** lconn.c: the quicksilver.Connection userdata, a qs_conn for Lua.
**
** Lifecycle (liolib's newprefile): the userdata is created closed and marked
** open only once the qs_conn exists; __gc and __close are one idempotent
** function. Bind values are read from Lua (lparams.c) into a scratch array owned by the
** userdata before a statement is taken from the cache, so no Lua error can
** leave a statement checked out.
**
** Waiting (docs/ASYNC.md). A method that talks to the server runs in
** non-blocking mode when a waiter applies (the connection's own, user value
** 2, else the state's default) and it is called from a coroutine that is
** not the main thread: then, when the server is not ready, it returns
** core.WAIT, fd, events, timeout instead of blocking. The Lua caller waits
** (the waiter suspends its coroutine; C never calls it: no yield crosses a
** C boundary, which LuaJIT could not do) and calls conn:resume(ready), which
** goes on with the same operation. What the operation needs meanwhile (its
** SQL, cursor, parameters and every value bound, anchored) is kept in user
** value 1, and the coroutine that started it, weakly, in user value 3: a
** second coroutine using the connection meanwhile is refused, and a
** connection whose coroutine ended (closed, collected) mid-operation is
** given up, never reused.
**
** The statement methods (execute, fetch, executemany) are in lexecute.c;
** what both files share in lconn.h.
*/
#include "lconn.h"

#include <stdlib.h>
#include <string.h>

/* core.WAIT: a light userdata no other value equals. */
static const char wait_sentinel = 0;

lconn *qsB_lc_check_conn(lua_State *L, int idx) {
  return (lconn *)luaL_checkudata(L, idx, QSB_CONN_MT);
}

/* An open connection at idx, or a ResourceClosedError raised. */
lconn *qsB_lc_open_conn(lua_State *L, int idx) {
  lconn *lc = qsB_lc_check_conn(L, idx);
  if (lc->c == NULL || !qs_conn_is_open(lc->c))
    qsB_raise(L, QS_CLOSED, "attempt to use a closed quicksilver.Connection");
  return lc;
}

/* Closes the connection; the scratch array goes too unless values are
** being read into it (a finalizer closing the connection mid-read: __gc
** itself frees it, as a connection being read from is not garbage). */
static void conn_close_impl(lconn *lc, int final) {
  lc->pending = P_NONE;   /* a busy connection is closed by checkin or free */
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
  if (final || !lc->reading) {
    free(lc->scratch);
    lc->scratch = NULL;
    lc->scratch_cap = 0;
  }
}

static int conn_gc(lua_State *L) {
  conn_close_impl(qsB_lc_check_conn(L, 1), 1);
  return 0;
}

/* conn:close() and __close */
static int conn_close(lua_State *L) {
  conn_close_impl(qsB_lc_check_conn(L, 1), 0);
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
  lconn *lc = (lconn *)qsL_newuserdatauv(L, sizeof(lconn), UV_COUNT);
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
  lconn *lc = qsB_lc_check_conn(L, 1);
  if (lc->pool) qs_pool_invalidate(lc->pool, lc->rec);
  return conn_close(L);
}

/* conn:age() -> seconds since a borrowed connection was opened (nil otherwise). */
static int conn_age(lua_State *L) {
  lconn *lc = qsB_lc_check_conn(L, 1);
  if (!lc->rec) return 0;
  lua_pushnumber(L, qs_pool_rec_age(lc->rec));
  return 1;
}

/*
** core.connect(driver_name, options) -> Connection | nil, err
** options: a table of string keys to string/number/boolean values, handed to
** the driver as strings.
*/
static int connect_with(lua_State *L, int start_only) {
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
  lc = (lconn *)qsL_newuserdatauv(L, sizeof(lconn), UV_COUNT);
  memset(lc, 0, sizeof *lc);
  luaL_setmetatable(L, QSB_CONN_MT);
  ud = lua_gettop(L);
  /* the driver's error message is owned by a userdata from the start:
  ** making the error object may raise (memory) and must not leak it */
  err = qsB_errbox(L);
  if (start_only) rc = qs_conn_start(drv, n, keys, vals, &lc->c, err);
  else rc = qs_conn_open(drv, n, keys, vals, &lc->c, err);
  if (rc != QS_OK) return qsB_fail_box(L, err);
  lua_pushvalue(L, ud);
  return 1;
}

int qsB_connect(lua_State *L) { return connect_with(L, 0); }

/*
** core.connect_start(driver_name, options) -> Connection | nil, err
** A connection that has begun connecting without waiting; conn:connect()
** completes it (returning core.WAIT while it waits, in a coroutine with a
** waiter).
*/
int qsB_connect_start(lua_State *L) { return connect_with(L, 1); }

/* core.set_default_waiter(W | nil): the waiter of connections without their own. */
int qsB_set_default_waiter(lua_State *L) {
  if (!lua_isnoneornil(L, 1)) luaL_checktype(L, 1, LUA_TFUNCTION);
  lua_settop(L, 1);
  lua_setfield(L, LUA_REGISTRYINDEX, REG_DEFAULT_WAITER);
  return 0;
}

/* core.default_waiter() -> the state's default waiter or nil. */
int qsB_default_waiter(lua_State *L) {
  lua_getfield(L, LUA_REGISTRYINDEX, REG_DEFAULT_WAITER);
  return 1;
}

/* Pushes core.WAIT. */
void qsB_push_wait(lua_State *L) { lua_pushlightuserdata(L, (void *)&wait_sentinel); }

int qsB_lc_fail_conn(lua_State *L, lconn *lc) {
  return qsB_fail(L, qs_conn_error(lc->c));
}

static int result_rc(lua_State *L, lconn *lc, int rc) {
  if (rc != QS_OK) return qsB_lc_fail_conn(L, lc);
  lua_pushboolean(L, 1);
  return 1;
}

/* ---- waiting ------------------------------------------------------------ */

/* Sets the connection's mode for this call: non-blocking when a waiter
** applies and the caller is a coroutine, not the main thread (which has
** nothing to yield to). Returns the mode. */
static int call_mode(lua_State *L, lconn *lc) {
  int nb = lc->has_waiter;
  if (!nb) {
    lua_getfield(L, LUA_REGISTRYINDEX, REG_DEFAULT_WAITER);
    nb = !lua_isnil(L, -1);
    lua_pop(L, 1);
  }
  if (nb) {
    nb = !lua_pushthread(L);
    lua_pop(L, 1);
  }
  qs_conn_set_nonblocking(lc->c, nb);
  return nb;
}

/* Whether the coroutine co can still go on: suspended, or running (it
** resumed the caller). A finished, failed or closed one cannot. */
static int thread_alive(lua_State *co) {
  lua_Debug ar;
  int st = lua_status(co);
  if (st == LUA_YIELD) return 1;
  if (st != LUA_OK) return 0;
  return lua_getstack(co, 0, &ar) > 0;
}

/* Pushes the coroutine that started the waiting operation, or nil when it
** was collected. */
static void push_owner(lua_State *L, int connidx) {
  if (qsL_getiuservalue(L, connidx, UV_OWNER) != LUA_TTABLE) return;
  lua_rawgeti(L, -1, 1);
  lua_remove(L, -2);
}

/* Forgets the waiting operation: its anchors go, its cursor is released
** (an execute's statement the driver held mid-operation takes the
** connection with it: conn.c closes it). */
static void clear_pending(lua_State *L, int connidx, lconn *lc) {
  lc->pending = P_NONE;
  lua_pushnil(L);
  qsL_setiuservalue(L, connidx, UV_PENDING);
  if (qsL_getiuservalue(L, connidx, UV_OWNER) == LUA_TTABLE) {
    lua_pushnil(L);
    lua_rawseti(L, -2, 1);
  }
  lua_pop(L, 1);
}

/* Gives the connection up mid-operation: the driver connection is closed
** (its pool drops it when it comes back), the cursor released. */
static void abandon(lua_State *L, int connidx, lconn *lc) {
  if (qsL_getiuservalue(L, connidx, UV_PENDING) == LUA_TTABLE) {
    lua_getfield(L, -1, "cursor");
    if (!lua_isnil(L, -1)) qsB_cursor_drop(L, lua_gettop(L));
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  clear_pending(L, connidx, lc);
  if (lc->c) qs_conn_close(lc->c);
}

/*
** Before a method that talks to the server. A connection with an operation
** waiting refuses another coroutine (their protocol messages would
** interleave) and its own coroutine (it must resume first); when the
** coroutine that started it has ended, the connection is given up and the
** call fails with an invalidated error. Returns 0 when the call may go on,
** else the count of values pushed (nil, err).
*/
static int check_pending(lua_State *L, lconn *lc) {
  lua_State *owner;
  qs_error gone;
  if (lc->pending == P_NONE) return 0;
  push_owner(L, 1);
  owner = lua_tothread(L, -1);
  lua_pop(L, 1);
  if (owner == L)
    return qsB_raise(L, QS_MISUSE, "an operation on this connection is waiting: resume it "
                     "(conn:resume) before anything else");
  if (owner != NULL && thread_alive(owner))
    return qsB_raise(L, QS_MISUSE, "this connection is in use by another coroutine, which waits "
                     "for the server: a connection is not shared between concurrent coroutines");
  abandon(L, 1, lc);
  memset(&gone, 0, sizeof gone);
  gone.code = QS_OPERATIONAL;
  gone.invalidated = 1;
  gone.message = (char *)"this connection was given up: the coroutine running an operation on "
                         "it ended before the operation did";
  return qsB_fail(L, &gone);
}

/* An open connection at 1 that may start an operation now (or raises);
** *pushed is nonzero when it failed with nil, err already pushed. */
lconn *qsB_lc_io_conn(lua_State *L, int *pushed) {
  lconn *lc = qsB_lc_open_conn(L, 1);
  *pushed = check_pending(L, lc);
  if (!*pushed) call_mode(L, lc);
  return lc;
}

/* Pushes core.WAIT, fd, events, timeout for the operation in progress. */
static int push_wait(lua_State *L, lconn *lc) {
  int fd;
  double timeout;
  int ev = qs_conn_wait(lc->c, &fd, &timeout);
  lc->waited = ev;
  qsB_push_wait(L);
  lua_pushinteger(L, fd);
  lua_pushstring(L, (ev & QS_WAIT_TLS) ? "tls" :
                    (ev & QS_WAIT_READ) && (ev & QS_WAIT_WRITE) ? "rw" :
                    (ev & QS_WAIT_WRITE) ? "w" : "r");
  if (timeout < 0) lua_pushnil(L);
  else lua_pushnumber(L, timeout);
  return 4;
}

/* The operation op waits: the table at pidx (what resume needs) becomes user
** value 1, the running coroutine its owner; returns push_wait's values. */
int qsB_lc_wait_return(lua_State *L, lconn *lc, pending_op op, int pidx) {
  lua_pushvalue(L, pidx);
  qsL_setiuservalue(L, 1, UV_PENDING);
  if (qsL_getiuservalue(L, 1, UV_OWNER) != LUA_TTABLE) {
    lua_pop(L, 1);
    lua_newtable(L);
    if (luaL_newmetatable(L, REG_WEAK_MT)) {
      lua_pushliteral(L, "v");
      lua_setfield(L, -2, "__mode");
    }
    lua_setmetatable(L, -2);
    lua_pushvalue(L, -1);
    qsL_setiuservalue(L, 1, UV_OWNER);
  }
  lua_pushthread(L);
  lua_rawseti(L, -2, 1);
  lua_pop(L, 1);
  lc->pending = op;
  return push_wait(L, lc);
}

/* The operations that take at most one string or number argument. */
static int run_simple(lconn *lc, pending_op op, const char *arg, int ms) {
  switch (op) {
    case P_CONNECT: return qs_conn_connect(lc->c);
    case P_EXEC: return qs_conn_exec(lc->c, arg);
    case P_BEGIN: return qs_conn_begin(lc->c);
    case P_COMMIT: return qs_conn_commit(lc->c);
    case P_ROLLBACK: return qs_conn_rollback(lc->c);
    case P_SAVEPOINT: return qs_conn_savepoint(lc->c, arg);
    case P_RELEASE: return qs_conn_release(lc->c, arg);
    case P_ROLLBACK_TO: return qs_conn_rollback_to(lc->c, arg);
    case P_TIMEOUT: return qs_conn_set_timeout(lc->c, ms);
    default: return QS_INTERNAL;
  }
}

/* Runs a simple operation (fresh when pidx is 0, else going on with the
** pending table at pidx): true | nil, err | core.WAIT, ... */
static int simple_op(lua_State *L, lconn *lc, pending_op op, const char *arg, int ms) {
  int rc = run_simple(lc, op, arg, ms);
  if (rc == QS_WAIT) {
    lua_createtable(L, 2, 0);
    if (arg) lua_pushstring(L, arg);
    else lua_pushinteger(L, ms);
    lua_rawseti(L, -2, 1);
    return qsB_lc_wait_return(L, lc, op, lua_gettop(L));
  }
  return result_rc(L, lc, rc);
}

/* A method of one (optional) string argument that talks to the server. */
static int simple_method(lua_State *L, pending_op op, int has_arg) {
  size_t n = 0;
  const char *arg = has_arg ? luaL_checklstring(L, 2, &n) : NULL;
  int pushed;
  lconn *lc = qsB_lc_io_conn(L, &pushed);
  if (pushed) return pushed;
  /* the C calls take NUL-terminated text: a NUL inside would cut it short */
  if (arg != NULL && strlen(arg) != n)
    return qsB_raise(L, QS_ARGUMENT, "the SQL text or name holds a NUL byte: it cannot carry one");
  return simple_op(L, lc, op, arg, 0);
}

/* Grows the scratch array to n values; raises on memory (nothing held). */
static int conn_notices(lua_State *L) {
  lconn *lc = qsB_lc_open_conn(L, 1);
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

/* conn:exec(sql) -> true | nil, err: a statement without parameters. The
** transaction methods and connect below answer the same way (or core.WAIT). */
static int conn_exec(lua_State *L) { return simple_method(L, P_EXEC, 1); }
static int conn_connect(lua_State *L) { return simple_method(L, P_CONNECT, 0); }
static int conn_begin(lua_State *L) { return simple_method(L, P_BEGIN, 0); }
static int conn_commit(lua_State *L) { return simple_method(L, P_COMMIT, 0); }
static int conn_rollback(lua_State *L) { return simple_method(L, P_ROLLBACK, 0); }
static int conn_savepoint(lua_State *L) { return simple_method(L, P_SAVEPOINT, 1); }
static int conn_release(lua_State *L) { return simple_method(L, P_RELEASE, 1); }
static int conn_rollback_to(lua_State *L) { return simple_method(L, P_ROLLBACK_TO, 1); }

/*
** conn:resume(ready) -> what the waiting method returns (or core.WAIT again)
** ready: what the waiter returned (true: the socket is ready; false: its
** time ran out, which past a statement's deadline cancels it).
*/
static int conn_resume(lua_State *L) {
  lconn *lc = qsB_lc_check_conn(L, 1);
  int ready = lua_toboolean(L, 2), rc, pidx;
  pending_op op;
  lua_State *owner;
  if (lc->pending == P_NONE)
    return qsB_raise(L, QS_MISUSE, "nothing waits on this connection: resume has nothing to go on with");
  lua_settop(L, 1);
  push_owner(L, 1);
  owner = lua_tothread(L, -1);
  lua_pop(L, 1);
  if (owner != L && owner != NULL && thread_alive(owner))
    return qsB_raise(L, QS_MISUSE, "this connection's operation belongs to another coroutine");
  if (lc->c == NULL || !qs_conn_is_open(lc->c)) {
    qs_error closed;
    abandon(L, 1, lc);
    memset(&closed, 0, sizeof closed);
    closed.code = QS_CLOSED;
    closed.invalidated = 1;
    closed.message = (char *)"the connection was closed while an operation waited on it";
    return qsB_fail(L, &closed);
  }
  qs_conn_set_nonblocking(lc->c, 1);
  qsL_getiuservalue(L, 1, UV_PENDING);
  pidx = lua_gettop(L);
  rc = qs_conn_ready(lc->c, ready ? lc->waited : QS_WAIT_TIMEOUT);
  if (rc != QS_OK) {   /* given up (closed): its error stays on it */
    abandon(L, 1, lc);
    return qsB_lc_fail_conn(L, lc);
  }
  /* the table at pidx keeps everything alive while the operation goes on;
  ** one that waits again makes it pending again */
  op = lc->pending;
  clear_pending(L, 1, lc);
  switch (op) {
    case P_EXECUTE: return qsB_lc_execute_resume(L, lc, pidx);
    case P_EXECMANY: return qsB_lc_executemany_steps(L, lc, pidx);
    case P_FETCH: return qsB_lc_fetch_steps(L, lc, pidx);
    default: {
      const char *arg = NULL;
      int ms = 0;
      lua_rawgeti(L, pidx, 1);
      if (op == P_TIMEOUT) ms = (int)lua_tointeger(L, -1);
      else arg = lua_tostring(L, -1);
      rc = run_simple(lc, op, arg, ms);
      if (rc == QS_WAIT) return qsB_lc_wait_return(L, lc, op, pidx);
      return result_rc(L, lc, rc);
    }
  }
}

/* conn:abandon(): gives up an operation that waits (its waiter failed):
** the connection is closed, and its pool drops it when it comes back. */
static int conn_abandon(lua_State *L) {
  lconn *lc = qsB_lc_check_conn(L, 1);
  if (lc->pending != P_NONE || (lc->c && qs_conn_busy(lc->c))) abandon(L, 1, lc);
  return 0;
}

/* conn:set_waiter(W | nil): this connection's own waiter. */
static int conn_set_waiter(lua_State *L) {
  lconn *lc = qsB_lc_check_conn(L, 1);
  if (!lua_isnoneornil(L, 2)) luaL_checktype(L, 2, LUA_TFUNCTION);
  lua_settop(L, 2);
  lc->has_waiter = !lua_isnil(L, 2);
  qsL_setiuservalue(L, 1, UV_WAITER);
  return 0;
}

/* conn:waiter() -> the waiter that applies to this connection (its own,
** else the default), or nil. */
static int conn_waiter(lua_State *L) {
  lconn *lc = qsB_lc_check_conn(L, 1);
  if (lc->has_waiter) qsL_getiuservalue(L, 1, UV_WAITER);
  else lua_getfield(L, LUA_REGISTRYINDEX, REG_DEFAULT_WAITER);
  return 1;
}

/* conn:pending() -> whether an operation waits on this connection. */
static int conn_pending(lua_State *L) {
  lconn *lc = qsB_lc_check_conn(L, 1);
  lua_pushboolean(L, lc->pending != P_NONE);
  return 1;
}

/*
** An external transport (a wire driver opened with transport=external: an
** OpenResty cosocket). While an operation waits (fd -1), its transport
** sends conn:io_output(), says conn:io_done(n), feeds what it received with
** conn:io_input(s) (nil: the peer closed), then resumes. The string is a
** copy: C keeps no pointer into it.
*/
/* conn:io_output() -> the bytes to send now, or nil. */
static int conn_io_output(lua_State *L) {
  lconn *lc = qsB_lc_check_conn(L, 1);
  const char *p = NULL;
  size_t n = lc->c ? qs_conn_output(lc->c, &p) : 0;
  if (n == 0) lua_pushnil(L);
  else lua_pushlstring(L, p, n);
  return 1;
}

/* conn:io_done(n): n bytes of io_output() went. */
static int conn_io_done(lua_State *L) {
  lconn *lc = qsB_lc_check_conn(L, 1);
  lua_Integer n = luaL_checkinteger(L, 2);
  luaL_argcheck(L, n >= 0, 2, "a byte count cannot be negative");
  if (lc->c) qs_conn_output_done(lc->c, (size_t)n);
  return 0;
}

/* conn:io_input(s | nil) -> true | nil, err: bytes received (nil: the peer
** closed the connection). */
static int conn_io_input(lua_State *L) {
  lconn *lc = qsB_lc_open_conn(L, 1);
  size_t n = 0;
  const char *p = lua_isnoneornil(L, 2) ? NULL : luaL_checklstring(L, 2, &n);
  int rc;
  if (p != NULL && n == 0) {   /* nothing came: not a close */
    lua_pushboolean(L, 1);
    return 1;
  }
  rc = qs_conn_input(lc->c, p, n);
  if (rc != QS_OK) return qsB_lc_fail_conn(L, lc);
  lua_pushboolean(L, 1);
  return 1;
}

/* conn:txn_state() -> a qs_txn_state number: core.txn_states names them. */
static int conn_txn_state(lua_State *L) {
  lconn *lc = qsB_lc_open_conn(L, 1);
  lua_pushinteger(L, qs_conn_txn_state(lc->c));
  return 1;
}

/* conn:set_begin(sql, mode): mode "eager" | "lazy" | "write". */
static int conn_set_begin(lua_State *L) {
  static const char *const modes[] = {"eager", "lazy", "write", NULL};
  lconn *lc = qsB_lc_open_conn(L, 1);
  const char *sql = luaL_optstring(L, 2, NULL);
  int mode = luaL_checkoption(L, 3, "write", modes);
  return result_rc(L, lc, qs_conn_set_begin(lc->c, sql, (qs_begin_mode)mode));
}

static int conn_changes(lua_State *L) {
  lconn *lc = qsB_lc_open_conn(L, 1);
  qsL_pushint64(L, qs_conn_changes(lc->c));
  return 1;
}

static int conn_last_insert_id(lua_State *L) {
  lconn *lc = qsB_lc_open_conn(L, 1);
  qsL_pushint64(L, qs_conn_last_insert_id(lc->c));
  return 1;
}

/* conn:cache_stats() -> hits, misses, size */
static int conn_cache_stats(lua_State *L) {
  lconn *lc = qsB_lc_open_conn(L, 1);
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
  lua_Number secs = luaL_optnumber(L, 2, 0);
  int ms, pushed;
  lconn *lc;
  if (!(secs >= 0) || secs > 2147483.0)
    return luaL_argerror(L, 2, "a number of seconds between 0 and 2147483");
  ms = (int)(secs * 1000.0 + 0.5);
  if (secs > 0 && ms == 0) ms = 1;   /* a positive limit never means none */
  lc = qsB_lc_io_conn(L, &pushed);
  if (pushed) return pushed;
  return simple_op(L, lc, P_TIMEOUT, NULL, ms);
}

/* conn:timeout() -> seconds (0: none) */
static int conn_timeout(lua_State *L) {
  lconn *lc = qsB_lc_open_conn(L, 1);
  lua_pushnumber(L, qs_conn_timeout(lc->c) / 1000.0);
  return 1;
}

/* conn:cancel() -> true | nil, err: asks the server to stop the statement
** running on this connection (from a hook or another thread's state; in a
** single Lua thread nothing is running, and the request is harmless). */
static int conn_cancel(lua_State *L) {
  lconn *lc = qsB_lc_open_conn(L, 1);
  qs_error *err = qsB_errbox(L);
  if (qs_conn_cancel(lc->c, err) != QS_OK) return qsB_lc_fail_err(L, err);
  lua_pushboolean(L, 1);
  return 1;
}

/* conn:end_statements(): ends every statement still open on this
** connection; their cursors raise ResourceClosedError from now on (the
** pools call it when a connection is given back). */
static int conn_end_statements(lua_State *L) {
  lconn *lc = qsB_lc_check_conn(L, 1);
  if (lc->c) qs_conn_end_statements(lc->c);
  return 0;
}

static int conn_set_cache_size(lua_State *L) {
  lconn *lc = qsB_lc_open_conn(L, 1);
  qs_conn_set_cache_size(lc->c, (int)luaL_checkinteger(L, 2));
  return 0;
}

static int conn_driver(lua_State *L) {
  lconn *lc = qsB_lc_open_conn(L, 1);
  lua_pushstring(L, qs_conn_driver(lc->c)->zName);
  return 1;
}

static int conn_closed(lua_State *L) {
  lconn *lc = qsB_lc_check_conn(L, 1);
  lua_pushboolean(L, lc->c == NULL);
  return 1;
}

static int conn_tostring(lua_State *L) {
  lconn *lc = qsB_lc_check_conn(L, 1);
  if (lc->c) lua_pushfstring(L, "quicksilver.Connection (%s) %p",
                             qs_conn_driver(lc->c)->zName, (void *)lc);
  else lua_pushfstring(L, "quicksilver.Connection (closed) %p", (void *)lc);
  return 1;
}

static const luaL_Reg conn_methods[] = {
  {"execute", qsB_lc_conn_execute},
  {"executemany", qsB_lc_conn_executemany},
  {"connect", conn_connect},
  {"resume", conn_resume},
  {"abandon", conn_abandon},
  {"set_waiter", conn_set_waiter},
  {"waiter", conn_waiter},
  {"pending", conn_pending},
  {"io_output", conn_io_output},
  {"io_done", conn_io_done},
  {"io_input", conn_io_input},
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
  {"fetch", qsB_lc_conn_fetch},
  {"set_stream", qsB_lc_conn_set_stream},
  {"streaming", qsB_lc_conn_streaming},
  {"driver", conn_driver},
  {"closed", conn_closed},
  {"close", conn_close},
  {"invalidate", conn_invalidate},
  {"end_statements", conn_end_statements},
  {"age", conn_age},
  {NULL, NULL},
};

static const luaL_Reg conn_meta[] = {
  {"__gc", conn_gc},
  {"__close", conn_close},
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
