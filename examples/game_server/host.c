/*
** host.c: a game server's C host. It starts N OS threads (pthreads), each with
** its own lua_State running worker.lua's work(); every state's engine names the
** same shared pool, so the process keeps one pool of connections for all the
** threads. The main thread has a state of its own: worker.lua's setup() before
** the threads start, report() after they have all ended.
**
** Build (README.md beside this file; the spec uses the same line):
**   cc -std=c11 -Wall -Wextra -Werror -O2 $(pkg-config --cflags lua5.4) -o host host.c $(pkg-config --libs lua5.4) -lpthread
** Run (quicksilver on LUA_PATH / LUA_CPATH, as the rock installs it):
**   ./host worker.lua sqlite:////dev/shm/game.db 4 100
**
** Lua states are not thread-safe; one per thread, never shared, is the rule.
** What the threads share is inside quicksilver's C core: the pool, found by
** its name ("game"), with its own lock.
*/
#define _POSIX_C_SOURCE 200809L
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_THREADS 64

/* One worker thread: what it is given, and what it reports back. */
typedef struct {
  const char *script;
  const char *url;
  int index; /* 1-based, as Lua counts */
  int jobs;
  int done;        /* saves the worker reported */
  char error[512]; /* empty, or the Lua error's text (copied before the state closes) */
} worker_t;

/* The message handler of every pcall: the error with a traceback. */
static int traceback(lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  if (msg == NULL) msg = luaL_tolstring(L, 1, NULL); /* a table error (qs.exc): its __tostring */
  luaL_traceback(L, L, msg, 1);
  return 1;
}

/* A new state with the standard libraries and worker.lua's module table on top
** of the stack (above the message handler, at index 1). NULL with `err` filled on failure. */
static lua_State *open_state(const char *script, char *err, size_t errlen) {
  lua_State *L = luaL_newstate();
  if (L == NULL) {
    snprintf(err, errlen, "cannot create a Lua state (out of memory)");
    return NULL;
  }
  luaL_openlibs(L); /* package.path/cpath from LUA_PATH / LUA_CPATH, as the lua command does */
  lua_pushcfunction(L, traceback);
  if (luaL_loadfile(L, script) != LUA_OK || lua_pcall(L, 0, 1, 1) != LUA_OK) {
    snprintf(err, errlen, "%s", lua_tostring(L, -1));
    lua_close(L);
    return NULL;
  }
  if (!lua_istable(L, -1)) {
    snprintf(err, errlen, "%s does not return a table", script);
    lua_close(L);
    return NULL;
  }
  return L;
}

/* Calls module.name(url, a, b) (the module at index 2); its first result is
** left on the stack. Returns 0, or -1 with `err` filled. */
static int call(lua_State *L, const char *name, const char *url, int a, int b, char *err, size_t errlen) {
  lua_getfield(L, 2, name);
  lua_pushstring(L, url);
  lua_pushinteger(L, a);
  lua_pushinteger(L, b);
  if (lua_pcall(L, 3, 1, 1) != LUA_OK) {
    snprintf(err, errlen, "%s: %s", name, lua_tostring(L, -1));
    lua_pop(L, 1);
    return -1;
  }
  return 0;
}

static void *worker_main(void *arg) {
  worker_t *w = arg;
  lua_State *L = open_state(w->script, w->error, sizeof w->error);
  if (L == NULL) return NULL;
  if (call(L, "work", w->url, w->index, w->jobs, w->error, sizeof w->error) == 0) {
    w->done = (int)lua_tointeger(L, -1);
  }
  lua_close(L); /* collects the state's engine: it leaves the shared pool */
  return NULL;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s WORKER.lua URL [THREADS] [JOBS]\n", argv[0]);
    return 2;
  }
  const char *script = argv[1], *url = argv[2];
  int threads = argc > 3 ? atoi(argv[3]) : 4;
  int jobs = argc > 4 ? atoi(argv[4]) : 100;
  if (threads < 1 || threads > MAX_THREADS || jobs < 1) {
    fprintf(stderr, "%s: THREADS must be 1 to %d and JOBS at least 1\n", argv[0], MAX_THREADS);
    return 2;
  }

  char err[512];
  lua_State *L = open_state(script, err, sizeof err);
  if (L == NULL) {
    fprintf(stderr, "%s\n", err);
    return 1;
  }
  if (call(L, "setup", url, threads, jobs, err, sizeof err) != 0) {
    fprintf(stderr, "%s\n", err);
    lua_close(L);
    return 1;
  }
  lua_pop(L, 1);

  static worker_t workers[MAX_THREADS];
  pthread_t ids[MAX_THREADS];
  int started = 0, failed = 0;
  for (int i = 0; i < threads; i++) {
    workers[i] = (worker_t){.script = script, .url = url, .index = i + 1, .jobs = jobs};
    if (pthread_create(&ids[i], NULL, worker_main, &workers[i]) != 0) {
      fprintf(stderr, "thread %d: pthread_create failed\n", i + 1);
      failed = 1;
      break;
    }
    started++;
  }
  for (int i = 0; i < started; i++) {
    pthread_join(ids[i], NULL);
    if (workers[i].error[0] != '\0') {
      fprintf(stderr, "thread %d: %s\n", i + 1, workers[i].error);
      failed = 1;
    }
  }
  printf("%d threads ended\n", started);

  int ok = 0;
  if (call(L, "report", url, threads, jobs, err, sizeof err) != 0) {
    fprintf(stderr, "%s\n", err);
  } else {
    ok = lua_toboolean(L, -1);
  }
  lua_close(L);
  if (failed || !ok) {
    printf("FAILED\n");
    return 1;
  }
  printf("ok\n");
  return 0;
}
