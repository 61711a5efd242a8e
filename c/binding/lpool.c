/*
** lpool.c: the quicksilver.Pool userdata, a C connection pool for Lua.
**
** core.pool_new(driver, options, conf) / core.pool_shared(name, driver,
** options, conf) -> Pool. pool:checkout(timeout) -> Connection, fresh | nil,
** err; the Connection goes back to the pool when closed (or collected).
** A pool (shared ones by name) may serve several threads' Lua states; each
** borrowed Connection holds a reference, so the pool outlives them.
**
** For coroutine schedulers: pool:checkout_nb() -> Connection, todo (nil,
** "connect" or "ping") | nil, Ticket | nil, err. A Ticket is a place in the
** pool's line: ticket:fd() becomes readable when it was handed something,
** ticket:take() -> Connection, todo | nil (nothing yet) | nil, err,
** ticket:cancel() leaves the line (idempotent; __gc and __close cancel);
** each Ticket holds a reference on its pool too. pool:discard(conn) gives
** up a Connection whose connect or ping failed.
*/
#include "lbinding.h"

#include <string.h>

typedef struct lpool {
  qs_pool *p;          /* NULL once collected */
} lpool;

#define QSB_TICKET_MT "quicksilver.PoolTicket"

typedef struct lticket {
  qs_pool *p;          /* a reference; NULL once taken or cancelled */
  qs_pool_ticket *t;
} lticket;

static lpool *check_pool(lua_State *L, int idx) {
  lpool *lp = (lpool *)luaL_checkudata(L, idx, QSB_POOL_MT);
  if (lp->p == NULL) qsB_raise(L, QS_CLOSED, "attempt to use a released quicksilver.Pool");
  return lp;
}

/* The conf table at idx over the defaults (qs_pool_conf_defaults): a field
** left out, or not of its type, keeps its default. Pushes one value (the
** setup string, or nil), which must stay on the stack while conf is used. */
static void read_conf(lua_State *L, int idx, qs_pool_conf *conf) {
  qs_pool_conf_defaults(conf);
  if (!lua_istable(L, idx)) {
    lua_pushnil(L);
    return;
  }
  /* raw reads: an __index of the caller's table runs no Lua here */
#define GET_(name) lua_pushliteral(L, name); lua_rawget(L, idx);
#define NUM_(field, name) \
  GET_(name) \
  if (lua_isnumber(L, -1)) conf->field = lua_tonumber(L, -1); \
  lua_pop(L, 1);
#define INT_(field, name) \
  GET_(name) \
  if (lua_isnumber(L, -1)) conf->field = (int)lua_tointeger(L, -1); \
  lua_pop(L, 1);
#define BOOL_(field, name) \
  GET_(name) \
  if (!lua_isnil(L, -1)) conf->field = lua_toboolean(L, -1); \
  lua_pop(L, 1);
  INT_(size, "size")
  INT_(overflow, "overflow")
  NUM_(timeout, "timeout")
  NUM_(recycle, "recycle")
  BOOL_(lifo, "lifo")
  BOOL_(pre_ping, "pre_ping")
  BOOL_(reset_on_return, "reset_on_return")
  GET_("setup")   /* left on the stack: conf->setup points into it */
  if (lua_type(L, -1) == LUA_TSTRING) conf->setup = lua_tostring(L, -1);
#undef GET_
#undef NUM_
#undef INT_
#undef BOOL_
}

static int make_pool(lua_State *L, const char *name, int drvidx) {
  const char *keys[QSB_MAX_OPTIONS], *vals[QSB_MAX_OPTIONS];
  const qs_driver *drv = qsB_driver(L, luaL_checkstring(L, drvidx));
  qs_pool_conf conf;
  qs_error *err;
  lpool *lp;
  int n, ud;
  n = qsB_options(L, drvidx + 1, keys, vals, QSB_MAX_OPTIONS);
  read_conf(L, drvidx + 2, &conf);
  /* the userdata and the error box first: nothing below may raise while
  ** the pool is held only by a C local */
  lp = (lpool *)qsL_newuserdatauv(L, sizeof(lpool), 0);
  lp->p = NULL;
  luaL_setmetatable(L, QSB_POOL_MT);
  ud = lua_gettop(L);
  err = qsB_errbox(L);
  lp->p = name ? qs_pool_shared(name, drv, n, keys, vals, &conf, err)
               : qs_pool_new(drv, n, keys, vals, &conf, err);
  if (lp->p == NULL) return qsB_fail_box(L, err);
  lua_pushvalue(L, ud);
  return 1;
}

/* core.pool_new(driver, options, conf) */
static int l_pool_new(lua_State *L) {
  lua_settop(L, 3);
  return make_pool(L, NULL, 1);
}

/* core.pool_shared(name, driver, options, conf): the process-wide pool. */
static int l_pool_shared(lua_State *L) {
  const char *name = luaL_checkstring(L, 1);
  lua_settop(L, 4);
  return make_pool(L, name, 2);
}

/* pool:checkout(timeout?) -> Connection, fresh | nil, err (timeout: seconds,
** default the pool's; 0 does not wait). Waiting blocks this OS thread; a
** coroutine scheduler asks with 0 and yields between tries. */
static int pool_checkout(lua_State *L) {
  lpool *lp = check_pool(L, 1);
  double timeout = luaL_optnumber(L, 2, -1);
  qs_pool_rec *r;
  qs_error *err;
  void *conn;
  int fresh, rc, connidx;
  lua_settop(L, 2);
  luaL_checkstack(L, 6, "checkout");
  /* The Connection userdata and the error box exist before the checkout:
  ** once a connection is out of the pool nothing here allocates, so no
  ** Lua error can lose it (and its pool slot) with it. */
  conn = qsB_new_borrowed(L);
  connidx = lua_gettop(L);
  err = qsB_errbox(L);
  rc = qs_pool_checkout(lp->p, timeout, &r, &fresh, err);
  if (rc != QS_OK) return qsB_fail_box(L, err);
  qsB_set_borrowed(conn, lp->p, r);
  lua_pushvalue(L, connidx);
  lua_pushboolean(L, fresh);
  return 2;
}

/* What the caller must do with a connection checked out without blocking. */
static void push_todo(lua_State *L, int todo) {
  if (todo == QS_POOL_CONNECT) lua_pushliteral(L, "connect");
  else if (todo == QS_POOL_PING) lua_pushliteral(L, "ping");
  else lua_pushnil(L);
}

/* A closed Ticket userdata pushed (may raise: nothing is held yet). */
static lticket *new_ticket_ud(lua_State *L) {
  lticket *tk = (lticket *)qsL_newuserdatauv(L, sizeof(lticket), 0);
  tk->p = NULL;
  tk->t = NULL;
  luaL_setmetatable(L, QSB_TICKET_MT);
  return tk;
}

/* pool:checkout_nb() -> Connection, todo | nil, Ticket | nil, err. Never
** waits and never talks to the server (see quicksilver.h). */
static int pool_checkout_nb(lua_State *L) {
  lpool *lp = check_pool(L, 1);
  qs_pool_rec *r;
  qs_pool_ticket *t;
  qs_error *err;
  lticket *tk;
  void *conn;
  int todo, rc, connidx, tkidx;
  lua_settop(L, 1);
  luaL_checkstack(L, 6, "checkout_nb");
  /* everything that may raise exists before the checkout (see checkout) */
  conn = qsB_new_borrowed(L);
  connidx = lua_gettop(L);
  tk = new_ticket_ud(L);
  tkidx = lua_gettop(L);
  err = qsB_errbox(L);
  rc = qs_pool_checkout_nb(lp->p, &r, &todo, &t, err);
  if (rc == QS_WAIT) {
    qs_pool_retain(lp->p);
    tk->p = lp->p;
    tk->t = t;
    lua_pushnil(L);
    lua_pushvalue(L, tkidx);
    return 2;
  }
  if (rc != QS_OK) return qsB_fail_box(L, err);
  qsB_set_borrowed(conn, lp->p, r);
  lua_pushvalue(L, connidx);
  push_todo(L, todo);
  return 2;
}

/* pool:discard(conn): a Connection of this pool whose ping failed (todo
** "ping"): given up as conn:invalidate() does (the server dropped it, so
** the connections opened before it are replaced too), its place handed on.
** (One whose connect failed is closed already: closing the Connection gives
** its place back.) */
static int pool_discard(lua_State *L) {
  check_pool(L, 1);
  luaL_checkudata(L, 2, QSB_CONN_MT);
  lua_getfield(L, 2, "invalidate");
  lua_pushvalue(L, 2);
  lua_call(L, 1, 0);
  return 0;
}

static lticket *check_ticket(lua_State *L, int idx) {
  return (lticket *)luaL_checkudata(L, idx, QSB_TICKET_MT);
}

static lticket *live_ticket(lua_State *L, int idx) {
  lticket *tk = check_ticket(L, idx);
  if (tk->t == NULL) qsB_raise(L, QS_CLOSED, "attempt to use a taken or cancelled pool ticket");
  return tk;
}

/* ticket:fd() -> the eventfd to wait on for reading. */
static int ticket_fd(lua_State *L) {
  lua_pushinteger(L, qs_pool_ticket_fd(live_ticket(L, 1)->t));
  return 1;
}

/* ticket:take() -> Connection, todo | nil (nothing handed yet) | nil, err.
** Past a result other than nil the ticket is spent. */
static int ticket_take(lua_State *L) {
  lticket *tk = live_ticket(L, 1);
  qs_pool_rec *r;
  qs_pool *p;
  qs_error *err;
  void *conn;
  int todo, rc, connidx;
  lua_settop(L, 1);
  luaL_checkstack(L, 6, "take");
  conn = qsB_new_borrowed(L);
  connidx = lua_gettop(L);
  err = qsB_errbox(L);
  p = tk->p;
  rc = qs_pool_ticket_take(p, tk->t, &r, &todo, err);
  if (rc == QS_WAIT) {
    lua_pushnil(L);
    return 1;
  }
  tk->t = NULL;   /* freed by the take, whatever it gave */
  tk->p = NULL;
  if (rc == QS_OK) qsB_set_borrowed(conn, p, r);   /* its own reference */
  qs_pool_release(p);
  if (rc != QS_OK) return qsB_fail_box(L, err);
  lua_pushvalue(L, connidx);
  push_todo(L, todo);
  return 2;
}

/* ticket:cancel(): leaves the line, passing on what it was handed;
** idempotent (also __gc and __close). */
static int ticket_cancel(lua_State *L) {
  lticket *tk = check_ticket(L, 1);
  if (tk->t) {
    qs_pool_ticket_cancel(tk->p, tk->t);
    tk->t = NULL;
  }
  if (tk->p) {
    qs_pool_release(tk->p);
    tk->p = NULL;
  }
  return 0;
}

static int pool_dispose(lua_State *L) {
  qs_pool_dispose(check_pool(L, 1)->p);
  return 0;
}

/* pool:status() -> {size, overflow, open, idle, checked_out, waiting, connects, ...} */
static int pool_status(lua_State *L) {
  qs_pool_status_t st;
  qs_pool_status(check_pool(L, 1)->p, &st);
  lua_createtable(L, 0, 11);
#define F_(name, v) lua_pushinteger(L, (lua_Integer)(v)); lua_setfield(L, -2, name);
  F_("size", st.size) F_("overflow", st.overflow) F_("open", st.open) F_("idle", st.idle)
  F_("checked_out", st.checked_out) F_("waiting", st.waiting) F_("connects", st.stats.connects)
  F_("checkouts", st.stats.checkouts) F_("timeouts", st.stats.timeouts)
  F_("invalidated", st.stats.invalidated) F_("recycled", st.stats.recycled)
#undef F_
  return 1;
}

static int pool_gc(lua_State *L) {
  lpool *lp = (lpool *)luaL_checkudata(L, 1, QSB_POOL_MT);
  if (lp->p) {
    qs_pool_release(lp->p);
    lp->p = NULL;
  }
  return 0;
}

/* core.pool_defaults() -> {size, overflow, timeout, recycle, lifo, pre_ping,
** reset_on_return}: what a pool is made with for a field its conf leaves
** out (a new table each call; the Lua pool reads them from here). */
static int l_pool_defaults(lua_State *L) {
  qs_pool_conf conf;
  qs_pool_conf_defaults(&conf);
  lua_createtable(L, 0, 7);
  lua_pushinteger(L, conf.size);
  lua_setfield(L, -2, "size");
  lua_pushinteger(L, conf.overflow);
  lua_setfield(L, -2, "overflow");
  lua_pushnumber(L, (lua_Number)conf.timeout);
  lua_setfield(L, -2, "timeout");
  lua_pushnumber(L, (lua_Number)conf.recycle);
  lua_setfield(L, -2, "recycle");
  lua_pushboolean(L, conf.lifo);
  lua_setfield(L, -2, "lifo");
  lua_pushboolean(L, conf.pre_ping);
  lua_setfield(L, -2, "pre_ping");
  lua_pushboolean(L, conf.reset_on_return);
  lua_setfield(L, -2, "reset_on_return");
  return 1;
}

/* core.now() -> monotonic seconds (for waits measured in Lua). */
static int l_now(lua_State *L) {
  lua_pushnumber(L, (lua_Number)qs_clock());
  return 1;
}

void qsB_open_pool(lua_State *L) {
  static const luaL_Reg methods[] = {{"checkout", pool_checkout}, {"checkout_nb", pool_checkout_nb},
                                     {"discard", pool_discard}, {"dispose", pool_dispose},
                                     {"status", pool_status}, {"release", pool_gc}, {NULL, NULL}};
  static const luaL_Reg ticket_methods[] = {{"fd", ticket_fd}, {"take", ticket_take},
                                            {"cancel", ticket_cancel}, {NULL, NULL}};
  static const luaL_Reg ticket_meta[] = {{"__gc", ticket_cancel}, {"__close", ticket_cancel},
                                         {NULL, NULL}};
  static const luaL_Reg meta[] = {{"__gc", pool_gc}, {NULL, NULL}};
  static const luaL_Reg funcs[] = {{"pool_new", l_pool_new}, {"pool_shared", l_pool_shared},
                                   {"pool_defaults", l_pool_defaults}, {"now", l_now},
                                   {NULL, NULL}};
  luaL_newmetatable(L, QSB_POOL_MT);
  luaL_setfuncs(L, meta, 0);
  luaL_newlib(L, methods);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
  luaL_newmetatable(L, QSB_TICKET_MT);
  luaL_setfuncs(L, ticket_meta, 0);
  luaL_newlib(L, ticket_methods);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
  luaL_setfuncs(L, funcs, 0);   /* into the module table at the top */
}
