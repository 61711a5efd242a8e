/*
** walk.c: a measurement, not part of the product. It compares the two ways
** a statement could cross from Lua into the C compiler (docs/ARCHITECTURE.md,
** "How statements cross into C"):
**   A. the statement is a tree of plain Lua tables; C walks it with
**      lua_getfield/lua_rawgeti and renders SQL;
**   B. every node is a userdata made by a C constructor call, holding C
**      pointers to its children; C renders by following pointers.
** Both render the same SQL so the work compared is the crossing itself.
*/
#include <lauxlib.h>
#include <lua.h>
#include <stdlib.h>
#include <string.h>

#include "quicksilver.h"

/* ---- A: Lua tables walked by C --------------------------------------- */

static void walk_table(lua_State *L, int idx, qs_buf *b, int *nbind) {
  const char *kind;
  lua_getfield(L, idx, "_kind");
  kind = lua_tostring(L, -1);
  lua_pop(L, 1);
  if (strcmp(kind, "column") == 0) {
    size_t n;
    const char *name;
    lua_getfield(L, idx, "name");
    name = lua_tolstring(L, -1, &n);
    qs_dialect_quote(qs_dialect_find("sqlite"), b, name, n);
    lua_pop(L, 1);
  } else if (strcmp(kind, "bind") == 0) {
    (*nbind)++;
    qs_buf_putc(b, '?');
  } else if (strcmp(kind, "binary") == 0) {
    lua_getfield(L, idx, "left");
    walk_table(L, lua_gettop(L), b, nbind);
    lua_pop(L, 1);
    lua_getfield(L, idx, "op");
    qs_buf_putc(b, ' ');
    qs_buf_puts(b, lua_tostring(L, -1));
    qs_buf_putc(b, ' ');
    lua_pop(L, 1);
    lua_getfield(L, idx, "right");
    walk_table(L, lua_gettop(L), b, nbind);
    lua_pop(L, 1);
  } else if (strcmp(kind, "select") == 0) {
    int i, n;
    qs_buf_puts(b, "SELECT ");
    lua_getfield(L, idx, "columns");
    n = (int)lua_rawlen(L, -1);
    for (i = 1; i <= n; i++) {
      if (i > 1) qs_buf_puts(b, ", ");
      lua_rawgeti(L, -1, i);
      walk_table(L, lua_gettop(L), b, nbind);
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
    qs_buf_puts(b, " FROM t WHERE ");
    lua_getfield(L, idx, "where");
    n = (int)lua_rawlen(L, -1);
    for (i = 1; i <= n; i++) {
      if (i > 1) qs_buf_puts(b, " AND ");
      lua_rawgeti(L, -1, i);
      walk_table(L, lua_gettop(L), b, nbind);
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
  }
}

static int l_walk_table(lua_State *L) {
  qs_buf b;
  int nbind = 0;
  qs_buf_init(&b);
  walk_table(L, 1, &b, &nbind);
  lua_pushlstring(L, b.p, b.len);
  qs_buf_free(&b);
  lua_pushinteger(L, nbind);
  return 2;
}

/* ---- B: userdata nodes made by C constructors ------------------------ */

typedef struct node {
  int kind;                 /* 0 column, 1 bind, 2 binary, 3 select */
  const char *text;         /* column name or operator (anchored by a uservalue) */
  struct node *kids[16];
  int nkids;
  int nwhere;
} node;

#define NODE_MT "crossing.node"

static node *new_node(lua_State *L, int kind, int nuv) {
  node *n = (node *)lua_newuserdatauv(L, sizeof(node), nuv);
  memset(n, 0, sizeof *n);
  n->kind = kind;
  luaL_setmetatable(L, NODE_MT);
  return n;
}

static int l_column(lua_State *L) {
  node *n = new_node(L, 0, 1);
  n->text = luaL_checkstring(L, 1);
  lua_pushvalue(L, 1);
  lua_setiuservalue(L, -2, 1);
  return 1;
}

static int l_bind(lua_State *L) {
  new_node(L, 1, 1);
  lua_pushvalue(L, 1);
  lua_setiuservalue(L, -2, 1);   /* the value rides along */
  return 1;
}

static int l_binary(lua_State *L) {
  node *n = new_node(L, 2, 3);
  n->kids[0] = (node *)luaL_checkudata(L, 1, NODE_MT);
  n->text = luaL_checkstring(L, 2);
  n->kids[1] = (node *)luaL_checkudata(L, 3, NODE_MT);
  n->nkids = 2;
  lua_pushvalue(L, 1); lua_setiuservalue(L, -2, 1);
  lua_pushvalue(L, 2); lua_setiuservalue(L, -2, 2);
  lua_pushvalue(L, 3); lua_setiuservalue(L, -2, 3);
  return 1;
}

/* select(columns_list, where_list) */
static int l_select(lua_State *L) {
  int i, nc = (int)lua_rawlen(L, 1), nw = (int)lua_rawlen(L, 2);
  node *n = new_node(L, 3, 2);
  for (i = 1; i <= nc; i++) {
    lua_rawgeti(L, 1, i);
    n->kids[n->nkids++] = (node *)lua_touserdata(L, -1);
    lua_pop(L, 1);
  }
  for (i = 1; i <= nw; i++) {
    lua_rawgeti(L, 2, i);
    n->kids[n->nkids++] = (node *)lua_touserdata(L, -1);
    lua_pop(L, 1);
  }
  n->nwhere = nw;
  lua_pushvalue(L, 1); lua_setiuservalue(L, -2, 1);
  lua_pushvalue(L, 2); lua_setiuservalue(L, -2, 2);
  return 1;
}

static void walk_node(const node *n, qs_buf *b, int *nbind) {
  int i;
  switch (n->kind) {
    case 0: qs_dialect_quote(qs_dialect_find("sqlite"), b, n->text, strlen(n->text)); break;
    case 1: (*nbind)++; qs_buf_putc(b, '?'); break;
    case 2:
      walk_node(n->kids[0], b, nbind);
      qs_buf_putc(b, ' '); qs_buf_puts(b, n->text); qs_buf_putc(b, ' ');
      walk_node(n->kids[1], b, nbind);
      break;
    case 3:
      qs_buf_puts(b, "SELECT ");
      for (i = 0; i < n->nkids - n->nwhere; i++) {
        if (i) qs_buf_puts(b, ", ");
        walk_node(n->kids[i], b, nbind);
      }
      qs_buf_puts(b, " FROM t WHERE ");
      for (i = n->nkids - n->nwhere; i < n->nkids; i++) {
        if (i > n->nkids - n->nwhere) qs_buf_puts(b, " AND ");
        walk_node(n->kids[i], b, nbind);
      }
  }
}

static int l_walk_node(lua_State *L) {
  qs_buf b;
  int nbind = 0;
  qs_buf_init(&b);
  walk_node((node *)luaL_checkudata(L, 1, NODE_MT), &b, &nbind);
  lua_pushlstring(L, b.p, b.len);
  qs_buf_free(&b);
  lua_pushinteger(L, nbind);
  return 2;
}

int luaopen_crossing(lua_State *L);
int luaopen_crossing(lua_State *L) {
  static const luaL_Reg f[] = {
    {"walk_table", l_walk_table}, {"column", l_column}, {"bind", l_bind},
    {"binary", l_binary}, {"select", l_select}, {"walk_node", l_walk_node},
    {NULL, NULL}};
  luaL_newmetatable(L, NODE_MT);
  lua_pop(L, 1);
  luaL_newlib(L, f);
  return 1;
}
