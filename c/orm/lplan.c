/*
** lplan.c: the flush's plan (plan.c) for Lua. Lists in, flat lists out,
** rows and tables numbered from 1; the scratch arrays live in a userdata
** (a raise while the input is read frees them), and plan.c's own memory
** never meets a Lua error.
**
** core.plan_table_order(n, fks) -> order | nil, cycle
**   fks = {parent1, child1, skip1, parent2, ...}: child's foreign key to
**   parent; skip true (or 1) for a key a post_update UPDATE writes.
** core.plan_row_levels(n, edges) -> order, bounds | nil, cycle
**   edges = {parent1, child1, ...}; batch b is order[bounds[b] ..
**   bounds[b+1]-1] (#bounds = batches + 1).
** core.plan_delete_order(n, nrefs, keys, refs) -> order, bounds | nil, cycle
**   keys[(r-1)*n + i]: the value row i is known by for reference r,
**   refs[...]: the value it refers to (nil or false: none); values compare
**   as table keys do.
** core.plan_batches(sigs, info, caps) -> {first1, count1, mode1, ...}
**   sigs[i]: row i's signature (1..#info/2); info = {ncols1, need_key1, ...};
**   caps: the fields of QS_PLAN_CAPS (plan.h), each given, no other.
** core.plan_modes: {executemany = 1, ...} (QS_PLAN_MODES)
** core.plan_fields: the caps fields with their meaning (contract export)
*/
#include "lbinding.h"
#include "lcontract.h"
#include "plan.h"

#include <limits.h>
#include <stddef.h>
#include <string.h>



static int raise_top(lua_State *L) {
  return qsB_raise(L, QS_ARGUMENT, lua_tostring(L, -1));
}

/* The integral number at idx in lo..hi, else -1 (never a string). */
static int int_at(lua_State *L, int idx, int lo, int hi) {
  lua_Number x;
  if (lua_type(L, idx) != LUA_TNUMBER) return -1;
  x = lua_tonumber(L, idx);
  if (!(x >= lo && x <= hi) || x != (lua_Number)(int)x) return -1;
  return (int)x;
}

static int count_arg(lua_State *L, const char *fn, int idx) {
  int n = int_at(L, idx, 0, INT_MAX / 4);
  if (n < 0) {
    lua_pushfstring(L, "%s: the count must be a non-negative integer, got %s", fn,
                    lua_isnoneornil(L, idx) ? "nil" : luaL_typename(L, idx));
    raise_top(L);
  }
  return n;
}

static int list_arg(lua_State *L, const char *fn, const char *what, int idx, int per) {
  size_t len;
  if (lua_type(L, idx) != LUA_TTABLE) {
    lua_pushfstring(L, "%s: %s must be a table, got %s", fn, what,
                    lua_isnoneornil(L, idx) ? "nil" : luaL_typename(L, idx));
    raise_top(L);
  }
  len = lua_rawlen(L, idx);
  if (len > (size_t)INT_MAX / 4) qsB_raise(L, QS_ARGUMENT, "plan: list too long");
  if (per > 1 && len % (size_t)per) {
    lua_pushfstring(L, "%s: %s must hold groups of %d values, but has %d", fn, what, per, (int)len);
    raise_top(L);
  }
  return (int)len;
}

/* list[i] as an id in 1..n, 0-based; raises naming the entry. */
static int id_at(lua_State *L, const char *fn, const char *what, int list, int i, int n) {
  int v;
  lua_rawgeti(L, list, i);
  v = int_at(L, -1, 1, n);
  if (v < 0) {
    lua_pushfstring(L, "%s: %s[%d] must be a number in 1..%d, got %s", fn, what, i, n,
                    lua_type(L, -1) == LUA_TNUMBER ? lua_tostring(L, -1) : luaL_typename(L, -1));
    raise_top(L);
  }
  lua_pop(L, 1);
  return v - 1;
}

static void push_ints(lua_State *L, const int *v, int from, int to, int add) {
  int i;
  lua_createtable(L, to - from > 0 ? to - from : 0, 0);
  for (i = from; i < to; i++) {
    lua_pushinteger(L, v[i] + add);
    lua_rawseti(L, -2, i - from + 1);
  }
}

static int nomem(lua_State *L) {
  return qsB_raise(L, QS_NOMEM, "out of memory");
}

/* The result of a levelled order: order, bounds or nil, cycle. */
static int push_levels(lua_State *L, int n, const int *order, const int *bounds, int nb, int nordered) {
  if (nordered < n) {
    lua_pushnil(L);
    push_ints(L, order, nordered, n, 1);
    return 2;
  }
  push_ints(L, order, 0, n, 1);
  push_ints(L, bounds, 0, nb + 1, 1);
  return 2;
}

static int l_table_order(lua_State *L) {
  const char *fn = "plan_table_order";
  int n = count_arg(L, fn, 1), len = list_arg(L, fn, "fks", 2, 3), nfk = len / 3, i, nordered, rc;
  qs_plan_fk *fks = (qs_plan_fk *)qsL_newuserdatauv(L, ((size_t)nfk + 1) * sizeof *fks, 0);
  int *order = (int *)qsL_newuserdatauv(L, ((size_t)n + 1) * sizeof *order, 0);
  for (i = 0; i < nfk; i++) {
    fks[i].parent = id_at(L, fn, "fks", 2, 3 * i + 1, n);
    fks[i].child = id_at(L, fn, "fks", 2, 3 * i + 2, n);
    lua_rawgeti(L, 2, 3 * i + 3);
    fks[i].skip = lua_type(L, -1) == LUA_TNUMBER ? lua_tonumber(L, -1) != 0 : lua_toboolean(L, -1);
    lua_pop(L, 1);
  }
  rc = qs_plan_table_order(n, nfk, fks, order, &nordered);
  if (rc == QS_NOMEM) return nomem(L);
  if (rc != QS_OK) return qsB_raise(L, rc, "plan_table_order: bad graph");   /* checked above */
  if (nordered < n) {
    lua_pushnil(L);
    push_ints(L, order, nordered, n, 1);
    return 2;
  }
  push_ints(L, order, 0, n, 1);
  return 1;
}

static int l_row_levels(lua_State *L) {
  const char *fn = "plan_row_levels";
  int n = count_arg(L, fn, 1), len = list_arg(L, fn, "edges", 2, 2), ne = len / 2, i, nb, nordered, rc;
  int *cells = (int *)qsL_newuserdatauv(L, (2 * (size_t)ne + 2 * (size_t)n + 2) * sizeof(int), 0);
  int *parent = cells, *child = parent + ne, *order = child + ne, *bounds = order + n;
  for (i = 0; i < ne; i++) {
    parent[i] = id_at(L, fn, "edges", 2, 2 * i + 1, n);
    child[i] = id_at(L, fn, "edges", 2, 2 * i + 2, n);
  }
  rc = qs_plan_row_levels(n, ne, parent, child, order, bounds, &nb, &nordered);
  if (rc == QS_NOMEM) return nomem(L);
  if (rc != QS_OK) return qsB_raise(L, rc, "plan_row_levels: bad graph");
  return push_levels(L, n, order, bounds, nb, nordered);
}

/* The value at list[i] as an id (equal values, equal ids; the table at
** ids numbers them), or -1 for nil and false. */
static long long value_id(lua_State *L, int list, int i, int ids, long long *next) {
  long long id = -1;
  lua_rawgeti(L, list, i);
  if (lua_isnil(L, -1) || (lua_type(L, -1) == LUA_TBOOLEAN && !lua_toboolean(L, -1)) ||
      (lua_type(L, -1) == LUA_TNUMBER && lua_tonumber(L, -1) != lua_tonumber(L, -1))) {
    lua_pop(L, 1);   /* NaN is no table key, and equals nothing */
    return -1;
  }
  lua_pushvalue(L, -1);
  lua_rawget(L, ids);
  if (lua_type(L, -1) == LUA_TNUMBER) {
    id = (long long)lua_tonumber(L, -1);
    lua_pop(L, 2);
    return id;
  }
  lua_pop(L, 1);
  id = (*next)++;
  lua_pushnumber(L, (lua_Number)id);
  lua_rawset(L, ids);
  return id;
}

static int l_delete_order(lua_State *L) {
  const char *fn = "plan_delete_order";
  int n = count_arg(L, fn, 1), nrefs = count_arg(L, fn, 2), i, nb, nordered, rc, ids;
  size_t cells;
  long long *key, *ref, next = 0;
  int *order, *bounds;
  list_arg(L, fn, "keys", 3, 1);
  list_arg(L, fn, "refs", 4, 1);
  if (nrefs > 0 && n > INT_MAX / 4 / nrefs) return qsB_raise(L, QS_ARGUMENT, "plan_delete_order: too many rows");
  lua_settop(L, 4);
  cells = (size_t)n * (size_t)nrefs;
  key = (long long *)qsL_newuserdatauv(L, (2 * cells + 1) * sizeof *key, 0);   /* 5 */
  ref = key + cells;
  order = (int *)qsL_newuserdatauv(L, (2 * (size_t)n + 2) * sizeof *order, 0);   /* 6 */
  bounds = order + n;
  lua_createtable(L, 0, n);   /* 7: value -> id */
  ids = lua_gettop(L);
  for (i = 0; i < (int)cells; i++) {
    key[i] = value_id(L, 3, i + 1, ids, &next);
    ref[i] = value_id(L, 4, i + 1, ids, &next);
  }
  rc = qs_plan_delete_order(n, nrefs, key, ref, order, bounds, &nb, &nordered);
  if (rc == QS_NOMEM) return nomem(L);
  if (rc != QS_OK) return qsB_raise(L, rc, "plan_delete_order: bad arguments");
  return push_levels(L, n, order, bounds, nb, nordered);
}

/* The caps fields, from plan.h's list: their names exist there only, and
** each must be a field of qs_plan_caps (offsetof fails to compile else). */
typedef struct cap_field {
  const char *name;
  size_t offset;
  int boolean;   /* form "boolean": a truth value; else a count */
} cap_field;
#define QS_PLAN_CAP_FIELD(name, carriers, form, meaning) \
  {#name, offsetof(qs_plan_caps, name), sizeof(form) == sizeof("boolean")},
static const cap_field cap_fields[] = {QS_PLAN_CAPS(QS_PLAN_CAP_FIELD)};
#undef QS_PLAN_CAP_FIELD
#define NCAPS ((int)(sizeof cap_fields / sizeof cap_fields[0]))

/* caps (at idx) into c: every field of the list given, no other (also
** c/orm/insert_rows.c's). */
void qsB_read_plan_caps(lua_State *L, int idx, qs_plan_caps *c) {
  int seen[NCAPS], i;
  memset(seen, 0, sizeof seen);
  memset(c, 0, sizeof *c);
  if (lua_type(L, idx) != LUA_TTABLE) {
    lua_pushfstring(L, "plan_batches: caps must be a table, got %s",
                    lua_isnoneornil(L, idx) ? "nil" : luaL_typename(L, idx));
    raise_top(L);
  }
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
    int f = -1, *slot;
    for (i = 0; k && i < NCAPS; i++) {
      if (strcmp(k, cap_fields[i].name) == 0) f = i;
    }
    if (f < 0) {
      lua_pushfstring(L, "plan_batches: caps has a field %s that c/orm/plan.h does not list",
                      k ? k : luaL_typename(L, -2));
      raise_top(L);
    }
    slot = (int *)(void *)((char *)c + cap_fields[f].offset);
    if (cap_fields[f].boolean) {
      *slot = lua_toboolean(L, -1);
    } else {
      *slot = int_at(L, -1, 0, INT_MAX);
      if (*slot < 0) {
        lua_pushfstring(L, "plan_batches: caps.%s must be a non-negative integer", k);
        raise_top(L);
      }
    }
    seen[f] = 1;
    lua_pop(L, 1);
  }
  for (i = 0; i < NCAPS; i++) {
    if (!seen[i]) {
      lua_pushfstring(L, "plan_batches: caps.%s is missing", cap_fields[i].name);
      raise_top(L);
    }
  }
}

static int l_batches(lua_State *L) {
  const char *fn = "plan_batches";
  int n = list_arg(L, fn, "sigs", 1, 1), len = list_arg(L, fn, "info", 2, 2), nsigs = len / 2;
  int i, nout, rc, *sig;
  qs_plan_caps caps;
  qs_plan_sig *sigs;
  qs_plan_batch *out;
  qsB_read_plan_caps(L, 3, &caps);
  lua_settop(L, 3);
  sig = (int *)qsL_newuserdatauv(L, ((size_t)n + 1) * sizeof *sig, 0);
  sigs = (qs_plan_sig *)qsL_newuserdatauv(L, ((size_t)nsigs + 1) * sizeof *sigs, 0);
  out = (qs_plan_batch *)qsL_newuserdatauv(L, ((size_t)n + 1) * sizeof *out, 0);
  for (i = 0; i < nsigs; i++) {
    lua_rawgeti(L, 2, 2 * i + 1);
    sigs[i].ncols = int_at(L, -1, 0, INT_MAX);
    if (sigs[i].ncols < 0) {
      lua_pushfstring(L, "%s: info[%d] (a column count) must be a non-negative integer", fn, 2 * i + 1);
      return raise_top(L);
    }
    lua_rawgeti(L, 2, 2 * i + 2);
    sigs[i].need_key = lua_type(L, -1) == LUA_TNUMBER ? lua_tonumber(L, -1) != 0 : lua_toboolean(L, -1);
    lua_pop(L, 2);
  }
  for (i = 0; i < n; i++) sig[i] = id_at(L, fn, "sigs", 1, i + 1, nsigs);
  rc = qs_plan_batches(n, sig, nsigs, sigs, &caps, out, &nout);
  if (rc != QS_OK) return qsB_raise(L, rc, "plan_batches: bad arguments");   /* checked above */
  lua_createtable(L, 3 * nout, 0);
  for (i = 0; i < nout; i++) {
    lua_pushinteger(L, out[i].first + 1);
    lua_rawseti(L, -2, 3 * i + 1);
    lua_pushinteger(L, out[i].count);
    lua_rawseti(L, -2, 3 * i + 2);
    lua_pushinteger(L, out[i].mode);
    lua_rawseti(L, -2, 3 * i + 3);
  }
  return 1;
}

#define QS_PLAN_CAP_ENTRY(name, carriers, form, meaning) {#name, carriers, form, meaning},
static const qsB_contract_field plan_fields[] = {QS_PLAN_CAPS(QS_PLAN_CAP_ENTRY)};
#undef QS_PLAN_CAP_ENTRY

void qsB_open_plan(lua_State *L) {
  lua_pushcfunction(L, l_table_order);
  lua_setfield(L, -2, "plan_table_order");
  lua_pushcfunction(L, l_row_levels);
  lua_setfield(L, -2, "plan_row_levels");
  lua_pushcfunction(L, l_delete_order);
  lua_setfield(L, -2, "plan_delete_order");
  lua_pushcfunction(L, l_batches);
  lua_setfield(L, -2, "plan_batches");
  lua_newtable(L);
#define QS_PLAN_MODE_SET(NAME, name, meaning) \
  lua_pushinteger(L, QS_PLAN_##NAME);         \
  lua_setfield(L, -2, #name);
  QS_PLAN_MODES(QS_PLAN_MODE_SET)
#undef QS_PLAN_MODE_SET
  lua_setfield(L, -2, "plan_modes");
  qsB_export_contract(L, "plan_fields", plan_fields, sizeof plan_fields / sizeof plan_fields[0]);
}
