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
static long budget;        /* allocations left before failing */
static long failures;      /* allocations refused so far */

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
  return realloc(ptr, nsize);
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

static int make_held(void) {
  const char *keys[] = {"database"};
  const char *vals[] = {dbpath};
  qs_pool_conf conf;
  qs_error err;
  memset(&err, 0, sizeof err);
  /* what lpool.c's read_conf makes of {size = 2, overflow = 0, timeout = 0} */
  qs_pool_conf_defaults(&conf);
  conf.size = 2;
  conf.overflow = 0;
  conf.timeout = 0;
  held = qs_pool_shared("alloc-fail", &qs_sqlite3_driver, 1, keys, vals, &conf, &err);
  qs_error_clear(&err);
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

int main(void) {
  static const test_entry tests[] = {
      {"alloc_fail_checkout", test_checkout},
      {"alloc_fail_checkout_error", test_checkout_error},
      {"alloc_fail_checkout_nb", test_checkout_nb},
      {"alloc_fail_pool_refused", test_pool_refused},
      {"alloc_fail_connect", test_connect},
      {"alloc_fail_connect_error", test_connect_error},
      {"alloc_fail_execute_error", test_execute_error},
  };
  test_tally tally = {0, 0};
  snprintf(dbpath, sizeof dbpath, "/tmp/qs_alloc_fail_%d.db", (int)getpid());
  if (make_held() != 0) {
    printf("FAIL c/alloc_fail (no pool)\n");
    tally.failed++;
    return test_summary(&tally);
  }
  test_run_list(tests, sizeof tests / sizeof tests[0], NULL, &tally);
  qs_pool_release(held);
  remove(dbpath);
  return test_summary(&tally);
}
