/*
** lcore.c: the quicksilver.core module: its entry point (which calls every
** part's qsB_open_*), error objects, the NULL sentinel, the driver registry
** and the executemany's key-set runs.
**
** Failures of the database come back as "nil, err" (err built by the
** qs.exc factory that the Lua layer registers), so the Lua layer decides
** what to attach and when to raise; misuse of the binding itself raises.
*/
#include "detached.h"
#include "lbinding.h"

#include <sqlite3.h>
#include <string.h>

static int core_unload(lua_State *L) {
  (void)L;
  qs__detached_wait(2.0);   /* the wire drivers' detached cancels */
  return 0;
}

/* Pushes the qs.exc error object for err (through the factory Lua
** registered, or a plain table before it has). */
static void push_error(lua_State *L, const qs_error *err) {
  const char *cls = qs_error_class(err);
  const char *msg = err->message ? err->message : qs_code_name(err->code);
  int has_factory;
  lua_getfield(L, LUA_REGISTRYINDEX, QSB_REG_ERRFACTORY);
  has_factory = lua_isfunction(L, -1);
  if (has_factory) lua_pushstring(L, cls);
  else lua_pop(L, 1);
  if (has_factory) lua_pushstring(L, msg);
  lua_createtable(L, 0, 4);
  if (err->driver_code != 0 || err->sqlstate[0] || err->constraint) {
    lua_createtable(L, 0, 4);
    lua_pushinteger(L, err->driver_code);
    lua_setfield(L, -2, "code");
    if (err->sqlstate[0]) {
      lua_pushstring(L, err->sqlstate);
      lua_setfield(L, -2, "sqlstate");
    }
    lua_pushstring(L, msg);
    lua_setfield(L, -2, "message");
    if (err->constraint) {
      lua_pushstring(L, err->constraint);
      lua_setfield(L, -2, "constraint");
    }
    lua_setfield(L, -2, "orig");
  }
  lua_pushboolean(L, err->invalidated);
  lua_setfield(L, -2, "connection_invalidated");
  if (has_factory) {
    lua_call(L, 3, 1);
  } else {
    lua_pushstring(L, cls);
    lua_setfield(L, -2, "name");
    lua_pushstring(L, msg);
    lua_setfield(L, -2, "message");
  }
}

int qsB_fail(lua_State *L, const qs_error *err) {
  lua_pushnil(L);
  push_error(L, err);
  return 2;
}

int qsB_raise(lua_State *L, int code, const char *msg) {
  qs_error err;
  memset(&err, 0, sizeof err);
  err.code = code;
  err.message = (char *)msg;   /* borrowed: pusherror only reads it */
  push_error(L, &err);
  return lua_error(L);
}

void qsB_pushvalue(lua_State *L, const qs_value *v) {
  switch (v->type) {
    case QS_TINT: qsL_pushint64(L, v->u.i); break;
    case QS_TBOOL: lua_pushboolean(L, v->u.i != 0); break;
    case QS_TFLOAT: lua_pushnumber(L, v->u.f); break;
    case QS_TTEXT:
    case QS_TBLOB: lua_pushlstring(L, v->u.s.p, v->u.s.n); break;
    default: lua_pushnil(L);
  }
}

static int buf_gc(lua_State *L) {
  qs_buf *b = (qs_buf *)luaL_checkudata(L, 1, QSB_BUF_MT);
  qs_buf_free(b);
  return 0;
}

/* An error box: a qs_error owned by a userdata, so that a Lua error raised
** while the error is turned into an object (the factory, a string push)
** never leaks its malloc'd message. */
static int errbox_gc(lua_State *L) {
  qs_error *err = (qs_error *)luaL_checkudata(L, 1, QSB_ERRBOX_MT);
  qs_error_clear(err);
  return 0;
}

qs_error *qsB_errbox(lua_State *L) {
  qs_error *err = (qs_error *)qsL_newuserdatauv(L, sizeof(qs_error), 0);
  memset(err, 0, sizeof *err);
  luaL_setmetatable(L, QSB_ERRBOX_MT);
  return err;
}

int qsB_fail_box(lua_State *L, qs_error *err) {
  lua_pushnil(L);
  push_error(L, err);
  qs_error_clear(err);
  return 2;
}

qs_buf *qsB_newbuf(lua_State *L) {
  qs_buf *b = (qs_buf *)qsL_newuserdatauv(L, sizeof(qs_buf), 0);
  qs_buf_init(b);
  luaL_setmetatable(L, QSB_BUF_MT);
  return b;
}

/* core.set_null(sentinel): the value that binds as SQL NULL (qs.null). */
static int l_set_null(lua_State *L) {
  luaL_checkany(L, 1);
  lua_pushvalue(L, 1);
  lua_setfield(L, LUA_REGISTRYINDEX, QSB_REG_NULL);
  return 0;
}

/* core.set_error_factory(fn): fn(class_name, message, fields) -> error. */
static int l_set_error_factory(lua_State *L) {
  luaL_checktype(L, 1, LUA_TFUNCTION);
  lua_pushvalue(L, 1);
  lua_setfield(L, LUA_REGISTRYINDEX, QSB_REG_ERRFACTORY);
  return 0;
}

/* core.drivers(): the names of the registered drivers, sorted by nothing. */
static int l_drivers(lua_State *L) {
  int i = 0;
  lua_newtable(L);
  lua_getfield(L, LUA_REGISTRYINDEX, QSB_REG_DRIVERS);
  lua_pushnil(L);
  while (lua_next(L, -2)) {
    lua_pop(L, 1);
    lua_pushvalue(L, -1);
    lua_rawseti(L, -4, ++i);
  }
  lua_pop(L, 1);
  return 1;
}

/* core.code_classes() -> {[code name] = qs.exc class name} for every error
** code (INTEGRITY = "IntegrityError", ...), and RETRY = the class of an
** OPERATIONAL failure qs_error_retryable picks out: spec/exc_spec.lua checks
** that each class exists in qs.exc. */
static int l_code_classes(lua_State *L) {
  lua_newtable(L);
#define QS_PAIR_(name, value, cls) \
  if (cls) { lua_pushstring(L, cls); lua_setfield(L, -2, #name); }
  QS_ERRNO_MAP(QS_PAIR_)
#undef QS_PAIR_
  lua_pushstring(L, QS_RETRY_CLASS);
  lua_setfield(L, -2, "RETRY");
  return 1;
}

/* The number of keys of the table at idx (raw; nil values are absent). */
static int count_keys(lua_State *L, int idx) {
  int n = 0;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);
    n++;
  }
  return n;
}

/* Whether the table at a has exactly the keys of the table at b, which
** has nb of them: every key of a is in b, and a has as many. */
static int same_keyset(lua_State *L, int a, int b, int nb) {
  int na = 0;
  lua_pushnil(L);
  while (lua_next(L, a)) {
    lua_pop(L, 1);
    lua_pushvalue(L, -1);
    lua_rawget(L, b);
    if (lua_isnil(L, -1) || ++na > nb) {
      lua_pop(L, 2);
      return 0;
    }
    lua_pop(L, 1);
  }
  return na == nb;
}

/* core.keyset_runs(list, n) -> starts | nil, i: where the runs of
** consecutive parameter sets with the same keys begin (an executemany
** compiles one statement per run, so rows keep their order). Returns nil
** and the index of the first entry that is not a table. In C: it looks at
** every key of every row of an executemany, once. */
static int l_keyset_runs(lua_State *L) {
  lua_Integer i, n;
  int nruns = 0, nkeys = 0;
  luaL_checktype(L, 1, LUA_TTABLE);
  n = luaL_checkinteger(L, 2);
  lua_settop(L, 2);
  lua_newtable(L);   /* 3: the starts */
  lua_pushnil(L);    /* 4: the first set of the current run */
  for (i = 1; i <= n; i++) {
    lua_rawgeti(L, 1, i);   /* 5 */
    if (!lua_istable(L, 5)) {
      lua_pushnil(L);
      lua_pushinteger(L, i);
      return 2;
    }
    if (i == 1 || !same_keyset(L, 5, 4, nkeys)) {
      lua_pushinteger(L, i);
      lua_rawseti(L, 3, ++nruns);
      nkeys = count_keys(L, 5);
      lua_replace(L, 4);
    }
    lua_settop(L, 4);
  }
  lua_settop(L, 3);
  return 1;
}

/* core.txn_states: the names of conn:txn_state()'s numbers (qs_txn_state). */
static void push_txn_states(lua_State *L) {
  lua_createtable(L, 0, 3);
  lua_pushinteger(L, QS_TXN_NONE);
  lua_setfield(L, -2, "none");
  lua_pushinteger(L, QS_TXN_BEGUN);
  lua_setfield(L, -2, "begun");
  lua_pushinteger(L, QS_TXN_SENT);
  lua_setfield(L, -2, "sent");
}

static const luaL_Reg buf_meta[] = {
  {"__gc", buf_gc},
  {NULL, NULL},
};

static const luaL_Reg funcs[] = {
  {"connect", qsB_connect},
  {"connect_start", qsB_connect_start},
  {"set_default_waiter", qsB_set_default_waiter},
  {"default_waiter", qsB_default_waiter},
  {"compile_text", qsB_compile_text},
  {"set_null", l_set_null},
  {"set_error_factory", l_set_error_factory},
  {"drivers", l_drivers},
  {"code_classes", l_code_classes},
  {"row", qsB_row_new},
  {"row_dicts", qsB_row_dicts},
  {"row_dict", qsB_row_dict},
  {"keyset_runs", l_keyset_runs},
  {"convert_sets", qsB_convert_sets},
  {NULL, NULL},
};

int luaopen_quicksilver_core(lua_State *L);

int luaopen_quicksilver_core(lua_State *L) {
  luaL_newmetatable(L, QSB_BUF_MT);
  luaL_setfuncs(L, buf_meta, 0);
  lua_pop(L, 1);
  luaL_newmetatable(L, QSB_ERRBOX_MT);
  lua_pushcfunction(L, errbox_gc);
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 1);
  qsB_open_conn(L);
  qsB_open_cursor(L);
  qsB_open_row(L);

  /* The driver registry: SQLite is built in; server drivers are separate
  ** modules that add a light userdata pointing at their qs_driver. */
  lua_getfield(L, LUA_REGISTRYINDEX, QSB_REG_DRIVERS);
  if (!lua_istable(L, -1)) {
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, QSB_REG_DRIVERS);
  }
  lua_pushlightuserdata(L, (void *)&qs_sqlite3_driver);
  lua_setfield(L, -2, qs_sqlite3_driver.zName);
  lua_pushlightuserdata(L, (void *)&qs_pgwire_driver);
  lua_setfield(L, -2, qs_pgwire_driver.zName);
  lua_pushlightuserdata(L, (void *)&qs_wire_my_driver);
  lua_setfield(L, -2, qs_wire_my_driver.zName);
  lua_pop(L, 1);
  /* the wire drivers' detached cancels run this module's code: its unload
  ** (the state's close) waits for them, through a sentinel made before any
  ** connection and so finalized after them all */
  lua_getfield(L, LUA_REGISTRYINDEX, "quicksilver.core.unload");
  if (lua_isnil(L, -1)) {
    lua_newuserdata(L, 1);
    lua_newtable(L);
    lua_pushcfunction(L, core_unload);
    lua_setfield(L, -2, "__gc");
    lua_setmetatable(L, -2);
    lua_setfield(L, LUA_REGISTRYINDEX, "quicksilver.core.unload");
  }
  lua_pop(L, 1);

  luaL_newlib(L, funcs);
  qsB_export_codes(L);
  qsB_open_json(L);
  qsB_open_decimal(L);
  qsB_open_poll(L);
  qsB_open_dialect(L);
  qsB_open_cachekey(L);
  qsB_open_uow(L);
  qsB_open_load(L);
  qsB_open_finish(L);
  qsB_open_plan(L);
  qsB_open_insert_rows(L);
  qsB_open_construct(L);
  qsB_open_pool(L);
  push_txn_states(L);
  lua_setfield(L, -2, "txn_states");
  lua_pushliteral(L, QS_VERSION);
  lua_setfield(L, -2, "version");
  lua_pushinteger(L, QS_DRIVER_VERSION);
  lua_setfield(L, -2, "driver_version");
  /* the SQLite library in this process: its JSON paths read keys holding '"'
  ** differently before 3.45 (sql/elements.lua) */
  lua_pushinteger(L, sqlite3_libversion_number());
  lua_setfield(L, -2, "sqlite_version_number");
  qsB_push_wait(L);   /* what a method returns while its operation waits */
  lua_setfield(L, -2, "WAIT");
  lua_pushstring(L, QSB_REG_DRIVERS);
  lua_setfield(L, -2, "driver_registry_key");
  return 1;
}
