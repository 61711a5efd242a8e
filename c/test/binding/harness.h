/*
** harness.h: what the binding tests share (c/test/binding/). Each test
** opens a lua_State with quicksilver.core (luaopen, no Lua module of the
** project), builds node tables with a small Lua chunk of table
** constructors (the prelude in harness.c names the kinds, operators and a
** few tables), and checks what core.compile and the ORM accelerators make
** of them: SQL, binds and errors.
*/
#ifndef QS_BT_HARNESS_H
#define QS_BT_HARNESS_H

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <string.h>

#include "../test.h"

/* A fresh state: the standard libraries, `core`, and the prelude's globals. */
lua_State *bt_state(void);
/* bt_state() that has run setup too (NULL when it failed: printed). */
lua_State *bt_state_with(const char *setup);
/* Runs chunk (it returns a node and optional compile options), compiles
** the node for dialect; the compiled table is left in the global R. Returns
** the SQL, or "ERROR <class>: <message>" (a copy valid until the next call). */
const char *bt_compile(lua_State *L, const char *dialect, const char *chunk);
/* Runs chunk and returns tostring() of its first result, or
** "ERROR <class>: <message>" (a copy valid until the next call). */
const char *bt_eval(lua_State *L, const char *chunk);
/* 0 when bt_compile gives want for each dialect of the space-separated
** list dialects; else prints each difference and returns their count. */
int bt_expect(lua_State *L, const char *dialects, const char *chunk, const char *want);
/* The same for an error whose message contains part. */
int bt_expect_error(lua_State *L, const char *dialects, const char *chunk, const char *part);
/* 0 when bt_eval gives want; else prints both and returns 1. */
int bt_expect_eval(lua_State *L, const char *chunk, const char *want);

#define ALL "sqlite postgresql mysql mariadb"
#define EXPECT_SQL(L, dialects, chunk, want) ASSERT(bt_expect(L, dialects, chunk, want) == 0)
#define EXPECT_ERROR(L, dialects, chunk, part) ASSERT(bt_expect_error(L, dialects, chunk, part) == 0)
#define EXPECT_EVAL(L, chunk, want) ASSERT(bt_expect_eval(L, chunk, want) == 0)

#endif
