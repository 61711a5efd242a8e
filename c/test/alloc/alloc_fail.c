/*
** alloc_fail.c: the binding under a failing allocator. Each case runs a
** Lua chunk in a fresh lua_State (lua_newstate with an allocator that
** fails after N allocations) for N = 0, 1, 2, ... until the chunk runs
** through. Whatever allocation fails, nothing the binding took may be lost:
** no pool slot (checked here through a pool this program holds itself), no
** connection, no error message (LeakSanitizer checks those under
** `make test SANITIZE=1`; valgrind under VALGRIND=1). Links the core and
** the binding with Lua 5.4; run by spec/support/run_tests.sh.
*/
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "quicksilver.h"
#include "../test.h"

int luaopen_quicksilver_core(lua_State *L);

static int limited;        /* whether the budget applies */
static int core_too;       /* whether the core's and binding's own malloc calls count too */
static long budget;        /* allocations left before failing */
static long failures;      /* allocations refused so far */

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);

static void *failing_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  (void)ud;
  if (nsize == 0) {
    free(ptr);
    return NULL;
  }
  /* a new block, or a block that grows: both may fail */
  if (limited && (ptr == NULL || nsize > osize)) {
    if (budget <= 0) {
      failures++;
      return NULL;
    }
    budget--;
  }
  return __real_realloc(ptr, nsize);
}

/*
** The C core's and the binding's own allocations: this program is linked
** with -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc (the Makefile), so
** their calls (objects linked into it; not libc's, SQLite's or Lua's own)
** come here and share the budget when core_too is set. No source of the
** core changes for it.
*/
static int core_fails(void) {
  if (!limited || !core_too) return 0;
  if (budget <= 0) {
    failures++;
    return 1;
  }
  budget--;
  return 0;
}

void *__wrap_malloc(size_t n) { return core_fails() ? NULL : __real_malloc(n); }
void *__wrap_calloc(size_t n, size_t size) { return core_fails() ? NULL : __real_calloc(n, size); }
void *__wrap_realloc(void *p, size_t n) {
  if (n == 0) return __real_realloc(p, n);
  return core_fails() ? NULL : __real_realloc(p, n);
}

static char dbpath[64];

/* A state with the standard libraries, `core` and `path` as globals; then
** the setup chunk, all with an unlimited allocator. */
static lua_State *new_state(const char *setup) {
  lua_State *L;
  limited = 0;
  L = lua_newstate(failing_alloc, NULL);
  if (L == NULL) return NULL;
  luaL_openlibs(L);
  luaL_requiref(L, "quicksilver.core", luaopen_quicksilver_core, 0);
  lua_setglobal(L, "core");
  lua_pushstring(L, dbpath);
  lua_setglobal(L, "path");
  if (luaL_dostring(L, setup) != LUA_OK) {
    fprintf(stderr, "  setup failed: %s\n", lua_tostring(L, -1));
    lua_close(L);
    return NULL;
  }
  return L;
}

/*
** Runs chunk under budgets 0, 1, 2, ... until a run completes with the
** budget not exhausted. After each run (and lua_close, which collects all)
** check() must hold. Returns 0 on success.
*/
static int run_case(const char *name, const char *setup, const char *chunk,
                    int (*check)(void)) {
  long n;
  int ok = 0, memerrs = 0;
  for (n = 0; n < 100000; n++) {
    lua_State *L = new_state(setup);
    long before;
    int rc;
    if (L == NULL) return 1;
    if (luaL_loadstring(L, chunk) != LUA_OK) {
      fprintf(stderr, "  %s: %s\n", name, lua_tostring(L, -1));
      lua_close(L);
      return 1;
    }
    before = failures;
    budget = n;
    limited = 1;
    rc = lua_pcall(L, 0, 0, 0);
    limited = 0;
    if (rc == LUA_ERRMEM) memerrs++;
    else if (rc != LUA_OK && failures == before) {
      fprintf(stderr, "  %s: budget %ld: %s\n", name, n, lua_tostring(L, -1));
      lua_close(L);
      return 1;
    }
    lua_close(L);
    if (check && check() != 0) {
      fprintf(stderr, "  %s: the check failed after a run with budget %ld\n", name, n);
      return 1;
    }
    if (rc == LUA_OK && failures == before) {
      ok = 1;
      break;
    }
  }
  if (getenv("QS_ALLOC_VERBOSE")) fprintf(stderr, "  %s: ran through at budget %ld, %d memory errors\n", name, n, memerrs);
  if (!ok || memerrs == 0) {
    fprintf(stderr, "  %s: %s\n", name, ok ? "no allocation ever failed" : "never ran through");
    return 1;
  }
  return 0;
}

/* The pool the Lua states attach to by name; this program keeps a reference
** so its count of checked-out connections survives every lua_close. */
static qs_pool *held;

/* The shared SQLite pool named name on dbpath, as lpool.c's read_conf makes
** it of {size = 2, overflow = overflow, timeout = 0}; NULL when it fails. */
static qs_pool *hold_pool(const char *name, int overflow) {
  const char *keys[] = {"database"};
  const char *vals[] = {dbpath};
  qs_pool_conf conf;
  qs_error err;
  qs_pool *p;
  memset(&err, 0, sizeof err);
  qs_pool_conf_defaults(&conf);
  conf.size = 2;
  conf.overflow = overflow;
  conf.timeout = 0;
  p = qs_pool_shared(name, &qs_sqlite3_driver, 1, keys, vals, &conf, &err);
  qs_error_clear(&err);
  return p;
}

static int make_held(void) {
  held = hold_pool("alloc-fail", 0);
  return held == NULL;
}

static int nothing_checked_out(void) {
  qs_pool_status_t st;
  qs_pool_status(held, &st);
  if (st.checked_out != 0) {
    fprintf(stderr, "  %d connection(s) lost checked out\n", st.checked_out);
    return 1;
  }
  return 0;
}

static const char *const POOL_SETUP =
    "pool = assert(core.pool_shared('alloc-fail', 'sqlite', {database = path},"
    " {size = 2, overflow = 0, timeout = 0}))";

static int test_checkout(void) {
  return run_case("pool:checkout", POOL_SETUP,
                  "local c = assert(pool:checkout())\n"
                  "assert(c:execute('SELECT 1')):fetch()\n"
                  "c:close()\n",
                  nothing_checked_out);
}

/* A checkout that fails (the pool is exhausted): its error object. */
static int test_checkout_error(void) {
  return run_case("pool:checkout timing out", POOL_SETUP,
                  "local a = assert(pool:checkout())\n"
                  "local b = assert(pool:checkout())\n"
                  "local c, err = pool:checkout(0)\n"
                  "assert(c == nil and err)\n"
                  "a:close() b:close()\n",
                  nothing_checked_out);
}

/* Nothing out and nobody in line: every ticket left it (cancelled, taken,
** or collected with its state). */
static int nothing_out_nor_waiting(void) {
  qs_pool_status_t st;
  if (nothing_checked_out() != 0) return 1;
  qs_pool_status(held, &st);
  if (st.waiting != 0) {
    fprintf(stderr, "  %d ticket(s) left in line\n", st.waiting);
    return 1;
  }
  return 0;
}

/* The checkout without blocking: a connection, then a ticket of the line
** taken, another cancelled and a third left to the collector. */
static int test_checkout_nb(void) {
  return run_case("pool:checkout_nb and tickets", POOL_SETUP,
                  "local a, todo = pool:checkout_nb()\n"
                  "assert(a, todo)\n"
                  "if todo == 'connect' then assert(a:connect()) end\n"
                  "local b = assert(pool:checkout_nb())\n"
                  "local none, t1 = pool:checkout_nb()\n"
                  "assert(none == nil and type(t1) == 'userdata')\n"
                  "local _, t2 = pool:checkout_nb()\n"
                  "local _, t3 = pool:checkout_nb()\n"
                  "assert(type(t2) == 'userdata' and type(t3) == 'userdata')\n"
                  "assert(t1:fd() >= 0)\n"
                  "a:close()\n"
                  "local c = assert(t1:take())\n"
                  "t2:cancel()\n"
                  "c:close() b:close()\n",
                  nothing_out_nor_waiting);
}

/* A shared pool refused for other settings: the error of make_pool. */
static int test_pool_refused(void) {
  return run_case("core.pool_shared refused", "",
                  "local p, err = core.pool_shared('alloc-fail', 'sqlite', {database = path},"
                  " {size = 3})\n"
                  "assert(p == nil and err)\n",
                  nothing_checked_out);
}

/* A connection that cannot open: the driver's error message. */
static int test_connect_error(void) {
  return run_case("core.connect failing", "",
                  "local c, err = core.connect('sqlite', {database = '/nonexistent-dir/x/y.db'})\n"
                  "assert(c == nil and err)\n",
                  NULL);
}

static int test_connect(void) {
  return run_case("core.connect", "",
                  "local c = assert(core.connect('sqlite', {database = ':memory:'}))\n"
                  "c:close()\n",
                  NULL);
}

/* A bad parameter: the binding's own error message. */
static int test_execute_error(void) {
  return run_case("conn:execute with a bad value",
                  "conn = assert(core.connect('sqlite', {database = ':memory:'}))",
                  "local cur, err = conn:execute('SELECT ?', {{}})\n"
                  "assert(cur == nil and err)\n"
                  "local n, err2 = conn:executemany('SELECT ?', {{1}, {{}}})\n"
                  "assert(n == nil and err2)\n",
                  NULL);
}

/*
** The same loop over a state made once: the setup (which loads the Lua
** modules of quicksilver, too costly to repeat for every N) runs unlimited,
** then the chunk runs with allocation N failing for N = 0, 1, 2, ... in that
** state until a run goes through. A Lua state survives a memory error, so
** what one failed run leaves behind must not break the next: that is part
** of what is tested. After every run (and a full collection) the Lua check
** must return true (the engine's pool has every connection back); after
** lua_close, check() must hold. A failure must be clean: LUA_ERRMEM, a
** message saying memory ran out, or a qs.exc error object; any other error
** (an "attempt to index a nil value" in half-built state) fails the case.
** Prints the number of injection points (allocations of a full run).
*/
static const char *const MODULES_SETUP =
    "package.path = 'lua/?.lua;lua/?/init.lua;' .. package.path\n"
    "package.loaded['quicksilver.core'] = core\n"
    "qs = require('quicksilver')\n"
    "compiler = require('quicksilver.sql.compiler')\n"
    "md = qs.MetaData()\n"
    "teams = qs.Table('teams', md, qs.Column('id', qs.Integer, {primary_key = true}),"
    " qs.Column('name', qs.String(30), {nullable = false}))\n"
    "users = qs.Table('users', md, qs.Column('id', qs.Integer, {primary_key = true}),"
    " qs.Column('name', qs.String(50), {nullable = false}), qs.Column('age', qs.Integer),"
    " qs.Column('team_id', qs.Integer, qs.ForeignKey('teams.id')))\n"
    "things = qs.Table('things', md, qs.Column('id', qs.Integer, {primary_key = true}),"
    " qs.Column('i', qs.Integer), qs.Column('f', qs.Float), qs.Column('s', qs.String(40)),"
    " qs.Column('b', qs.LargeBinary), qs.Column('ok', qs.Boolean), qs.Column('n', qs.Numeric(10, 2)),"
    " qs.Column('at', qs.DateTime), qs.Column('j', qs.JSON))\n";

static int clean_error(lua_State *L, int rc) {
  if (rc == LUA_ERRMEM) return 1;
  if (lua_type(L, -1) == LUA_TSTRING) return strstr(lua_tostring(L, -1), "memory") != NULL;
  /* a qs.exc error object: a table (or userdata) with a message */
  return lua_type(L, -1) == LUA_TTABLE || lua_type(L, -1) == LUA_TUSERDATA;
}

static int run_shared(const char *name, const char *setup, const char *chunk, const char *lcheck,
                      int (*check)(void)) {
  long n;
  int ok = 0, memerrs = 0, fail = 0;
  lua_State *L = new_state(setup);
  if (L == NULL) return 1;
  if (luaL_loadstring(L, chunk) != LUA_OK) {
    fprintf(stderr, "  %s: %s\n", name, lua_tostring(L, -1));
    lua_close(L);
    return 1;
  }
  lua_setfield(L, LUA_REGISTRYINDEX, "alloc_fail.chunk");
  for (n = 0; n < 1000000 && !fail; n++) {
    long before = failures;
    int rc;
    lua_getfield(L, LUA_REGISTRYINDEX, "alloc_fail.chunk");
    budget = n;
    limited = 1;
    rc = lua_pcall(L, 0, 0, 0);
    limited = 0;
    if (rc != LUA_OK) {
      if (failures == before) {
        fprintf(stderr, "  %s: budget %ld: %s\n", name, n, luaL_tolstring(L, -1, NULL));
        fail = 1;
      } else if (!clean_error(L, rc)) {
        fprintf(stderr, "  %s: budget %ld: not a clean error: %s\n", name, n, luaL_tolstring(L, -1, NULL));
        fail = 1;
      } else {
        memerrs++;
      }
    }
    lua_settop(L, 0);
    lua_gc(L, LUA_GCCOLLECT, 0);
    lua_gc(L, LUA_GCCOLLECT, 0);   /* finalizers of the first pass */
    if (!fail && lcheck) {
      if (luaL_dostring(L, lcheck) != LUA_OK || !lua_toboolean(L, -1)) {
        fprintf(stderr, "  %s: after budget %ld: %s\n", name, n,
                lua_isstring(L, -1) ? lua_tostring(L, -1) : "the check failed");
        fail = 1;
      }
      lua_settop(L, 0);
    }
    if (!fail && rc == LUA_OK && failures == before) {
      ok = 1;
      break;
    }
  }
  lua_close(L);
  if (!fail && check && check() != 0) {
    fprintf(stderr, "  %s: the check failed after lua_close\n", name);
    fail = 1;
  }
  if (fail) return 1;
  printf("  %s%s: %ld injection points, %d memory errors\n", name, core_too ? " (with the core's malloc)" : "", n, memerrs);
  if (!ok || memerrs == 0) {
    fprintf(stderr, "  %s: %s\n", name, ok ? "no allocation ever failed" : "never ran through");
    return 1;
  }
  return 0;
}

/* Compile: a select over a join with filters, order and limit, and an insert,
** in every dialect; statements built anew each run (a statement keeps its
** compiled form). */
#define COMPILE_CHUNK_BODY \
    "local q = qs.select(users.c.id, users.c.name, teams.c.name)" \
    ":select_from(users:join(teams, users.c.team_id:eq(teams.c.id)))" \
    ":where(users.c.age:gt(18), teams.c.name:in_({'a', 'b'}))" \
    ":order_by(users.c.name):limit(10):offset(5)\n" \
    "local ins = qs.insert(users):values({name = 'x', age = 3})\n" \
    "for _, d in ipairs({'sqlite', 'postgresql', 'mysql'}) do\n" \
    "  assert(q:compile({dialect = d}).sql)\n" \
    "  assert(ins:compile({dialect = d}).sql)\n" \
    "end\n"

static int test_compile_uncached(void) {
  return run_shared("compile (structural cache off)", MODULES_SETUP,
                    "compiler.set_cache_size(0)\n" COMPILE_CHUNK_BODY, NULL, NULL);
}

static int test_compile_cached(void) {
  /* the same shapes built twice: misses, then hits binding their own values */
  return run_shared("compile (structural cache, miss then hit)", MODULES_SETUP,
                    "compiler.set_cache_size(500) compiler.clear_cache()\n"
                    "for round = 1, 2 do\n" COMPILE_CHUNK_BODY "end\n"
                    "assert(compiler.cache_stats().hits >= 1, 'no cache hit')\n",
                    NULL, NULL);
}

/* Execute and fetch on SQLite through an engine: an executemany of rows with
** every value type, a select of them all, a scalar; the engine's pool must
** have every connection back after each run. */
static const char *const ENGINE_SETUP_TAIL =
    "engine = qs.create_engine('sqlite:///' .. path .. '.engine', {pool_size = 2, max_overflow = 1})\n"
    "md:create_all(engine)\n";

static const char *const EXECUTE_CHUNK =
    "engine:begin(function(c)\n"
    "  c:execute(qs.delete(things))\n"
    "  c:execute(qs.insert(things), {\n"
    "    {i = 1, f = 1.5, s = 'one', b = '\\0\\1\\2', ok = true, n = 1.25, at = '2024-02-29 23:59:58', j = {a = {1, 2}}},\n"
    "    {i = -7, f = -0.25, s = 'two', b = '', ok = false, n = 0, at = '1999-12-31 00:00:00', j = {'x', false}},\n"
    "    {i = qs.null, f = qs.null, s = qs.null, b = qs.null, ok = qs.null, n = qs.null, at = qs.null, j = qs.null},\n"
    "  })\n"
    "end)\n"
    "engine:connect(function(c)\n"
    "  local rows = c:execute(qs.select(things):order_by(things.c.id)):all()\n"
    "  assert(#rows == 3, 'three rows')\n"
    "  assert(rows[1].s == 'one' and rows[2].i == -7)\n"
    "  assert(c:execute(qs.select(qs.func.count()):select_from(things)):scalar() == 3)\n"
    "end)\n";

static const char *const ENGINE_CHECK =
    "local s = engine.pool:status_table()\n"
    "if s.checked_out ~= 0 then return false, s.checked_out .. ' connection(s) left checked out' end\n"
    "return true\n";

static int test_execute_fetch(void) {
  char setup[4096];
  snprintf(setup, sizeof setup, "%s%s", MODULES_SETUP, ENGINE_SETUP_TAIL);
  return run_shared("engine execute, executemany and fetch (SQLite)", setup, EXECUTE_CHUNK,
                    ENGINE_CHECK, NULL);
}

/* The C pool: checkout to overflow, checkin, invalidate (discard), through the
** binding's pool object with a pool this program holds too. */
static qs_pool *held_overflow;

static int make_held_overflow(void) {
  held_overflow = hold_pool("alloc-fail-overflow", 1);
  return held_overflow == NULL;
}

static int overflow_pool_whole(void) {
  qs_pool_status_t st;
  qs_pool_status(held_overflow, &st);
  if (st.checked_out != 0 || st.waiting != 0 || st.open > 3) {
    fprintf(stderr, "  %d checked out, %d waiting, %d open (size 2 + overflow 1)\n", st.checked_out,
            st.waiting, st.open);
    return 1;
  }
  return 0;
}

static int test_pool_overflow(void) {
  return run_shared("pool checkout/checkin/invalidate/overflow",
                    "pool = assert(core.pool_shared('alloc-fail-overflow', 'sqlite', {database = path},"
                    " {size = 2, overflow = 1, timeout = 0}))",
                    "local a = assert(pool:checkout())\n"
                    "local b = assert(pool:checkout())\n"
                    "local c = assert(pool:checkout())\n"            /* the overflow one */
                    "local none, err = pool:checkout(0)\n"
                    "assert(none == nil and err)\n"
                    "assert(c:execute('SELECT 1')):fetch()\n"
                    "pool:discard(c)\n"                                /* invalidated */
                    "b:invalidate()\n"
                    "b:close() c:close() a:close()\n"
                    "local d = assert(pool:checkout())\n"
                    "assert(d:execute('SELECT 2')):fetch()\n"
                    "d:close()\n"
                    "local st = pool:status()\n"
                    "assert(st.checked_out == 0, 'checked out after the run')\n",
                    "return pool:status().checked_out == 0",
                    overflow_pool_whole);
}

/* The same paths with the core's and the binding's malloc calls failing too. */
static int with_core(int (*test)(void)) {
  int rc;
  core_too = 1;
  rc = test();
  core_too = 0;
  return rc;
}
static int test_compile_uncached_core(void) { return with_core(test_compile_uncached); }
static int test_compile_cached_core(void) { return with_core(test_compile_cached); }
static int test_execute_fetch_core(void) { return with_core(test_execute_fetch); }
static int test_pool_overflow_core(void) { return with_core(test_pool_overflow); }

int main(void) {
  static const test_entry tests[] = {
      {"alloc_fail_checkout", test_checkout},
      {"alloc_fail_checkout_error", test_checkout_error},
      {"alloc_fail_checkout_nb", test_checkout_nb},
      {"alloc_fail_pool_refused", test_pool_refused},
      {"alloc_fail_connect", test_connect},
      {"alloc_fail_connect_error", test_connect_error},
      {"alloc_fail_execute_error", test_execute_error},
      {"alloc_fail_compile_uncached", test_compile_uncached},
      {"alloc_fail_compile_cached", test_compile_cached},
      {"alloc_fail_execute_fetch", test_execute_fetch},
      {"alloc_fail_pool_overflow", test_pool_overflow},
      {"alloc_fail_core_compile_uncached", test_compile_uncached_core},
      {"alloc_fail_core_compile_cached", test_compile_cached_core},
      {"alloc_fail_core_execute_fetch", test_execute_fetch_core},
      {"alloc_fail_core_pool_overflow", test_pool_overflow_core},
  };
  test_tally tally = {0, 0};
  snprintf(dbpath, sizeof dbpath, "/tmp/qs_alloc_fail_%d.db", (int)getpid());
  if (make_held() != 0 || make_held_overflow() != 0) {
    printf("FAIL c/alloc_fail (no pool)\n");
    tally.failed++;
    return test_summary(&tally);
  }
  test_run_list(tests, sizeof tests / sizeof tests[0], NULL, &tally);
  qs_pool_release(held);
  qs_pool_release(held_overflow);
  remove(dbpath);
  {
    char engine_db[80];
    snprintf(engine_db, sizeof engine_db, "%s.engine", dbpath);
    remove(engine_db);
  }
  return test_summary(&tally);
}
