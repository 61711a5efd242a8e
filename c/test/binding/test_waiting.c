/*
** test_waiting.c: the Connection's waiting protocol through the Lua C API
** (lconn.c's "Waiting"), over the scripted socketpair driver (fake_driver.h):
** core.WAIT and what comes with it, conn:resume, the mode (blocking on the
** main thread, non-blocking in a coroutine with a waiter), a second
** coroutine refused, an abandoned coroutine's connection given up.
*/
#include "harness.h"
#include "../fake_driver.h"

static int l_serve(lua_State *L) {
  lua_pushboolean(L, fake_serve(luaL_optstring(L, 1, NULL), luaL_checkstring(L, 2)));
  return 1;
}

static int l_peer_write(lua_State *L) {
  lua_pushboolean(L, fake_peer_write(luaL_checkstring(L, 1)));
  return 1;
}

/* A state whose driver registry has "fake", and serve/peer_write globals. */
static lua_State *waiting_state(void) {
  lua_State *L = bt_state();
  if (L == NULL) return NULL;
  lua_getfield(L, LUA_REGISTRYINDEX, QS_DRIVER_REGISTRY);
  lua_pushlightuserdata(L, (void *)&fake_driver);
  lua_setfield(L, -2, "fake");
  lua_pop(L, 1);
  lua_register(L, "serve", l_serve);
  lua_register(L, "peer_write", l_peer_write);
  if (luaL_dostring(L, "function msg(e) return type(e) == 'table' and e.message or tostring(e) end")
      != LUA_OK) {
    lua_close(L);
    return NULL;
  }
  return L;
}

TEST_IMPL(waiting_protocol) {
  lua_State *L = waiting_state();
  ASSERT(L != NULL);
  /* the main thread never waits through a waiter: blocking, as before */
  ASSERT(bt_expect_eval(L,
    "core.set_default_waiter(function() error('no waiter on the main thread') end)\n"
    "conn = assert(core.connect_start('fake', {}))\n"
    "assert(peer_write('C'))\n"
    "return conn:connect()", "true") == 0);
  /* in a coroutine: core.WAIT, fd, events, timeout; resume goes on */
  ASSERT(bt_expect_eval(L,
    "local co = coroutine.create(function()\n"
    "  local a, fd, ev, t = conn:exec('UPDATE t')\n"
    "  assert(a == core.WAIT, tostring(a))\n"
    "  assert(math.type(fd) == 'integer' and ev == 'r' and t == nil)\n"
    "  assert(conn:pending())\n"
    "  coroutine.yield('waiting')\n"
    "  return conn:resume(true)\n"
    "end)\n"
    "local ok, st = coroutine.resume(co)\n"
    "assert(ok and st == 'waiting', tostring(st))\n"
    "-- another coroutine meanwhile: refused, nothing sent\n"
    "local other = coroutine.create(function() return pcall(conn.exec, conn, 'SELECT 2') end)\n"
    "local _, ok2, err2 = coroutine.resume(other)\n"
    "assert(not ok2 and msg(err2):find('in use by another coroutine'), msg(err2))\n"
    "assert(serve('UPDATE t', 'OK\\n'))\n"
    "local ok3, r = coroutine.resume(co)\n"
    "assert(ok3 and r == true, msg(r))\n"
    "return conn:pending()", "false") == 0);
  /* execute: the cursor comes back from resume */
  ASSERT(bt_expect_eval(L,
    "local co = coroutine.wrap(function()\n"
    "  local a = conn:execute('INSERT x')\n"
    "  assert(a == core.WAIT)\n"
    "  coroutine.yield()\n"
    "  local cur = assert(conn:resume(true))\n"
    "  return cur:rowcount()\n"
    "end)\n"
    "co()\n"
    "assert(serve('INSERT x', 'OK\\n'))\n"
    "return co()", "1") == 0);
  /* executemany: one wait per set, the count at the end */
  ASSERT(bt_expect_eval(L,
    "local co = coroutine.wrap(function()\n"
    "  local a, b = conn:executemany('INSERT y', {{}, {}})\n"
    "  assert(a == core.WAIT, msg(b))\n"
    "  while a == core.WAIT do coroutine.yield(); a = conn:resume(true) end\n"
    "  return a\n"
    "end)\n"
    "co(); assert(serve('INSERT y', 'OK\\n'))\n"
    "co(); assert(serve('INSERT y', 'OK\\n'))\n"
    "return co()", "2") == 0);
  /* an error comes back as nil, err from resume, the connection usable */
  ASSERT(bt_expect_eval(L,
    "local co = coroutine.wrap(function()\n"
    "  assert(conn:exec('bad') == core.WAIT)\n"
    "  coroutine.yield()\n"
    "  local r, err = conn:resume(true)\n"
    "  return tostring(r) .. ' ' .. msg(err)\n"
    "end)\n"
    "co(); assert(serve('bad', 'ERR syntax error\\n'))\n"
    "return co()", "nil syntax error") == 0);
  /* a coroutine closed mid-operation: the next user finds the connection given up */
  ASSERT(bt_expect_eval(L,
    "local co = coroutine.create(function()\n"
    "  assert(conn:exec('SELECT 3') == core.WAIT)\n"
    "  coroutine.yield()\n"
    "end)\n"
    "coroutine.resume(co)\n"
    "coroutine.close(co)\n"
    "local r, err = conn:exec('SELECT 4')\n"
    "assert(r == nil and msg(err):find('given up'), msg(err))\n"
    "return tostring(conn:pending())", "false") == 0);
  lua_close(L);
  return 0;
}

/* A waiter of the connection's own applies before the default; nil removes it. */
TEST_IMPL(waiting_waiter_lookup) {
  lua_State *L = waiting_state();
  ASSERT(L != NULL);
  ASSERT(bt_expect_eval(L,
    "local c = assert(core.connect_start('fake', {}))\n"
    "local function d() end\n"
    "local function own() end\n"
    "assert(c:waiter() == nil)\n"
    "core.set_default_waiter(d)\n"
    "assert(c:waiter() == d and core.default_waiter() == d)\n"
    "c:set_waiter(own)\n"
    "assert(c:waiter() == own)\n"
    "c:set_waiter(nil)\n"
    "assert(c:waiter() == d)\n"
    "assert(not pcall(c.set_waiter, c, 42))\n"
    "assert(not pcall(core.set_default_waiter, 'x'))\n"
    "core.set_default_waiter(nil)\n"
    "c:close()\n"
    "return 'ok'", "ok") == 0);
  lua_close(L);
  return 0;
}
