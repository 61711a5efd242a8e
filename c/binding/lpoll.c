/*
** lpoll.c: core.poll(fds, events, timeout), poll(2) for the built-in
** coroutine scheduler (lua/quicksilver/async/loop.lua) and for waiters that
** must wait in place (called outside any scheduler).
**
** Everything is read from Lua before poll() runs and the pollfd array lives
** in a userdata (or on the C stack), so a Lua error at any point leaks
** nothing and no Lua call happens while anything is held.
*/
#include "lbinding.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <string.h>

/* Small waits (the usual case: one fd, or a tick's few) need no allocation. */
#define STACK_FDS 16

/* "r", "w" or "rw" (as the waiter contract spells them) -> poll events. */
static short parse_events(lua_State *L, int i) {
  const char *s = lua_tostring(L, -1);
  if (s != NULL) {
    if (strcmp(s, "r") == 0) return POLLIN;
    if (strcmp(s, "w") == 0) return POLLOUT;
    if (strcmp(s, "rw") == 0 || strcmp(s, "wr") == 0) return POLLIN | POLLOUT;
  }
  return (short)luaL_error(L, "core.poll: events[%d] must be \"r\", \"w\" or \"rw\", not %s", i,
                           s ? s : luaL_typename(L, -1));
}

/* Seconds (nil or negative: no limit) -> poll()'s milliseconds, rounded
** up so that a wait never ends before its deadline (a loop would spin). */
static int timeout_ms(lua_State *L, int idx) {
  double s, ms;
  if (lua_isnoneornil(L, idx)) return -1;
  s = luaL_checknumber(L, idx);
  if (s != s) return luaL_argerror(L, idx, "timeout is NaN");
  if (s < 0) return -1;
  ms = ceil(s * 1000.0);
  return ms > (double)INT_MAX ? INT_MAX : (int)ms;
}

/* core.poll(fds, events, timeout) -> count, ready
** fds: a sequence of file descriptors; events: the same length, each "r",
** "w" or "rw"; timeout: seconds (nil or < 0: until one is ready). ready[i]
** is what fds[i] saw ("r", "w" or "rw"; absent when nothing); an error or
** hang-up on an fd counts as ready for what it was polled for, so that the
** waiting driver runs and reports it. EINTR: polled again for the time left.
** With no fds it sleeps for timeout. count: how many fds are in ready (0 on
** timeout). */
static int l_poll(lua_State *L) {
  struct pollfd stackfds[STACK_FDS];
  struct pollfd *pfds = stackfds;
  int n, i, ms, rc, ready;
  double deadline = 0;
  luaL_checktype(L, 1, LUA_TTABLE);
  luaL_checktype(L, 2, LUA_TTABLE);
  n = (int)lua_rawlen(L, 1);
  if ((int)lua_rawlen(L, 2) != n)
    return luaL_error(L, "core.poll: %d fds but %d events", n, (int)lua_rawlen(L, 2));
  ms = timeout_ms(L, 3);
  if (n > STACK_FDS) pfds = (struct pollfd *)lua_newuserdata(L, (size_t)n * sizeof *pfds);
  for (i = 0; i < n; i++) {
    double fd;
    lua_rawgeti(L, 1, i + 1);
    fd = lua_type(L, -1) == LUA_TNUMBER ? (double)lua_tonumber(L, -1) : -1.0;
    if (fd < 0 || fd > (double)INT_MAX || fd != floor(fd))
      return luaL_error(L, "core.poll: fds[%d] must be a file descriptor (an integer >= 0)", i + 1);
    lua_pop(L, 1);
    lua_rawgeti(L, 2, i + 1);
    pfds[i].fd = (int)fd;
    pfds[i].events = parse_events(L, i + 1);
    pfds[i].revents = 0;
    lua_pop(L, 1);
  }
  if (ms > 0) deadline = qs_clock() + ms / 1000.0;
  for (;;) {
    rc = poll(n ? pfds : NULL, (nfds_t)n, ms);
    if (rc >= 0 || errno != EINTR) break;
    if (ms > 0) {   /* a signal: wait again for what is left */
      double left = deadline - qs_clock();
      ms = left <= 0 ? 0 : (int)ceil(left * 1000.0);
    }
  }
  if (rc < 0) return luaL_error(L, "core.poll: poll() failed: %s", strerror(errno));
  lua_createtable(L, 0, rc > 0 ? rc : 0);
  ready = 0;
  for (i = 0; i < n && rc > 0; i++) {
    short re = pfds[i].revents;
    int r, w;
    if (re == 0) continue;
    if (re & (POLLERR | POLLHUP | POLLNVAL)) re |= pfds[i].events;
    r = (re & pfds[i].events & POLLIN) != 0;
    w = (re & pfds[i].events & POLLOUT) != 0;
    if (!r && !w) continue;   /* POLLPRI alone: not what was asked */
    lua_pushstring(L, r && w ? "rw" : r ? "r" : "w");
    lua_rawseti(L, -2, i + 1);
    ready++;
  }
  lua_pushinteger(L, ready);
  lua_insert(L, -2);
  return 2;
}

void qsB_open_poll(lua_State *L) {
  static const luaL_Reg f[] = {{"poll", l_poll}, {NULL, NULL}};
  luaL_setfuncs(L, f, 0);
}
