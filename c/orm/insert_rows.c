/*
** insert_rows.c: the INSERT write of the flush in one C pass over the rows
** of one table (orm/flush_insert.lua drives it; orm/flush_write.lua keeps
** the Lua path for what this one does not take).
**
** core.insert_rows(rows, spec_of, rel_keys, syncs, nulls, touched, expire,
**                  inserted, was_nil, caps) -> plan, shapes, dicts | false
**   rows      the new states to insert into the table, in flush order
**   spec_of   spec_of(mapper) -> the mapper's insert spec for the table
**             (layout.h QS_INSERT_SPEC), or false. Called once per mapper
**             before any row is touched: false for one of them, or a row
**             with an identity key, and nothing is done (returns false).
**   rel_keys  rel_keys(rel, nulls) -> a flat list of attribute keys, once
**             per relationship and call: nulls false {fk1, followed1, ...}
**             (the foreign key of the row and the key of the object it
**             follows it from), nulls true {fk1, ...} (keys to nil)
**   syncs     uow.syncs: state -> {parent state, rel, ...}
**   nulls     uow.nulls: state -> {rel, ...}
**   touched   uow.touched, the undo list: (state, key, old value or
**             was_nil) triples appended; its length is the new ntouched
**             (also when this raises)
**   expire    done.expire: state -> keys the database fills in (appended)
**   inserted  done.inserted: states whose last table this is (appended)
**   caps      the plan caps (plan.h QS_PLAN_CAPS)
** Per row what orm/flush_write.lua's insert_params does for a new object,
** in its order: NULLs for cut relationships, foreign keys from the
** objects the row follows, the polymorphic identity, the version
** counter's first value, undo entries for the keys the database fills in,
** scalar column defaults written into the value table; each value
** overwritten recorded for undo. The columns each row gives (bits over the
** spec's columns) make its shape; shapes feed plan.c's qs_plan_batches
** directly. Returns the plan {first, count, mode, shape, ...}, the shapes
** {{spec, keys = {colkey = true, ...}}, ...} and the value tables in row
** order (what the engine binds from).
**
** core.insert_keys(dicts, first, count, rows, keys, sort) -> n
**   The RETURNING rows' values 1..#keys written into dicts[first ..
**   first+count-1] under keys; sort true: the rows are taken in the order
**   of their first value (new auto-increment keys rise in VALUES order),
**   which costs one check when they come that way. Writes nothing and
**   returns #rows when that is not count (the caller raises).
**
** core.insert_spec_fields: QS_INSERT_SPEC's name -> position.
*/
#include "lbinding.h"
#include "layout.h"
#include "plan.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_COLS 50
#define MAX_SPECS 32

enum {
#define QS_INSERT_SPEC_ENUM(name, position, form, meaning) SPEC_##name = position,
  QS_INSERT_SPEC(QS_INSERT_SPEC_ENUM)
#undef QS_INSERT_SPEC_ENUM
  SPEC_END
};

typedef struct ins_spec {
  int tbl;              /* stack: the spec list */
  int cols, defaults;   /* stack: its cols and defaults */
  int ncols, last;
  uint64_t pkbits, expirebits, defbits;
} ins_spec;

typedef struct ins_shape {
  int spec;
  uint64_t bits;
} ins_shape;

/* What one call works with: stack slots and the undo list's length. */
typedef struct ins_ctx {
  int rel_keys, relcache, nullcache, touched, was_nil;
  int nt;
} ins_ctx;

/* The column numbers at spec[pos] as bits. */
static uint64_t bits_of(lua_State *L, int spec, int pos, int ncols) {
  uint64_t b = 0;
  int i, n;
  lua_rawgeti(L, spec, pos);
  if (lua_type(L, -1) == LUA_TTABLE) {
    n = (int)lua_rawlen(L, -1);
    for (i = 1; i <= n; i++) {
      lua_Integer j;
      lua_rawgeti(L, -1, i);
      j = lua_tointeger(L, -1);
      lua_pop(L, 1);
      if (j >= 1 && j <= ncols) b |= (uint64_t)1 << (j - 1);
    }
  }
  lua_pop(L, 1);
  return b;
}

/* Appends st, the key at the top, and the value dict has for it (or
** was_nil) to the undo list; pops the key. */
static void touch(lua_State *L, ins_ctx *c, int st, int dict) {
  int k = lua_gettop(L);
  lua_pushvalue(L, st);
  lua_rawseti(L, c->touched, c->nt + 1);
  lua_pushvalue(L, k);
  lua_rawseti(L, c->touched, c->nt + 2);
  lua_pushvalue(L, k);
  lua_rawget(L, dict);
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    lua_pushvalue(L, c->was_nil);
  }
  lua_rawseti(L, c->touched, c->nt + 3);
  c->nt += 3;
  lua_pop(L, 1);
}

/* Pushes rel_keys(rel at idx, nulls), asked once per relationship. */
static void rel_keys(lua_State *L, ins_ctx *c, int rel, int nulls) {
  int cache = nulls ? c->nullcache : c->relcache;
  lua_pushvalue(L, rel);
  lua_rawget(L, cache);
  if (lua_type(L, -1) == LUA_TTABLE) return;
  lua_pop(L, 1);
  lua_pushvalue(L, c->rel_keys);
  lua_pushvalue(L, rel);
  lua_pushboolean(L, nulls);
  lua_call(L, 2, 1);
  if (lua_type(L, -1) != LUA_TTABLE) {
    lua_pop(L, 1);
    lua_newtable(L);
  }
  lua_pushvalue(L, rel);
  lua_pushvalue(L, -2);
  lua_rawset(L, cache);
}

/* nulls[st]: each relationship's foreign key to nil (flush_write.lua
** apply_syncs, first half; the row is new: no committed value to keep). */
static void apply_nulls(lua_State *L, ins_ctx *c, int list, int st, int dict) {
  int n = (int)lua_rawlen(L, list), i, j, nk, keys;
  for (i = 1; i <= n; i++) {
    lua_rawgeti(L, list, i);
    rel_keys(L, c, lua_gettop(L), 1);
    keys = lua_gettop(L);
    nk = (int)lua_rawlen(L, keys);
    for (j = 1; j <= nk; j++) {
      lua_rawgeti(L, keys, j);
      lua_pushvalue(L, -1);
      lua_rawget(L, dict);
      if (!lua_isnil(L, -1)) {
        lua_pop(L, 1);
        lua_pushvalue(L, -1);
        touch(L, c, st, dict);
        lua_pushnil(L);
        lua_rawset(L, dict);
      } else {
        lua_pop(L, 2);
      }
    }
    lua_pop(L, 2);   /* keys, rel */
  }
}

/* syncs[st] = {parent state, rel, ...}: the row's foreign keys from the
** objects it follows (apply_syncs, second half). */
static void apply_syncs(lua_State *L, ins_ctx *c, int list, int st, int dict) {
  int n = (int)lua_rawlen(L, list), i, j, nk, keys, pdict;
  for (i = 1; i + 1 <= n; i += 2) {
    lua_rawgeti(L, list, i);
    lua_pushliteral(L, "dict");
    lua_rawget(L, -2);
    pdict = lua_gettop(L);
    lua_rawgeti(L, list, i + 1);
    rel_keys(L, c, lua_gettop(L), 0);
    keys = lua_gettop(L);
    nk = (int)lua_rawlen(L, keys);
    for (j = 1; j + 1 <= nk; j += 2) {
      lua_rawgeti(L, keys, j);   /* the foreign key */
      lua_pushvalue(L, -1);
      touch(L, c, st, dict);
      lua_rawgeti(L, keys, j + 1);
      if (lua_type(L, pdict) == LUA_TTABLE) {
        lua_rawget(L, pdict);
      } else {
        lua_pop(L, 1);
        lua_pushnil(L);
      }
      lua_rawset(L, dict);
    }
    lua_pop(L, 4);   /* keys, rel, pdict, parent state */
  }
}

/* When dict lacks the key at spec[kpos]: touch it, then set it to
** spec[vpos] (vpos 0: the integer 1). */
static void initial_value(lua_State *L, ins_ctx *c, int spec, int kpos, int vpos, int st, int dict) {
  lua_rawgeti(L, spec, kpos);
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    return;
  }
  lua_pushvalue(L, -1);
  lua_rawget(L, dict);
  if (!lua_isnil(L, -1)) {
    lua_pop(L, 2);
    return;
  }
  lua_pop(L, 1);
  lua_pushvalue(L, -1);
  touch(L, c, st, dict);
  if (vpos) lua_rawgeti(L, spec, vpos);
  else lua_pushinteger(L, 1);
  lua_rawset(L, dict);
}

static int popcount64(uint64_t b) {
  int n = 0;
  while (b) {
    b &= b - 1;
    n++;
  }
  return n;
}

/* Reads the spec at the top into s; it stays there with its cols and
** defaults above it. Returns 0 for a spec this pass cannot take. */
static int read_spec(lua_State *L, ins_spec *s) {
  int spec = lua_gettop(L);
  s->tbl = spec;
  lua_rawgeti(L, spec, SPEC_cols);
  s->cols = spec + 1;
  lua_rawgeti(L, spec, SPEC_defaults);
  s->defaults = spec + 2;
  if (lua_type(L, s->cols) != LUA_TTABLE || lua_type(L, s->defaults) != LUA_TTABLE) return 0;
  s->ncols = (int)lua_rawlen(L, s->cols);
  if (s->ncols > MAX_COLS) return 0;
  s->pkbits = bits_of(L, spec, SPEC_pk, s->ncols);
  s->expirebits = bits_of(L, spec, SPEC_expire, s->ncols);
  s->defbits = bits_of(L, spec, SPEC_defaulted, s->ncols);
  lua_rawgeti(L, spec, SPEC_last);
  s->last = lua_toboolean(L, -1);
  lua_pop(L, 1);
  return 1;
}

enum { A_ROWS = 1, A_SPEC_OF, A_REL_KEYS, A_SYNCS, A_NULLS, A_TOUCHED, A_EXPIRE, A_INSERTED, A_WAS_NIL, A_CAPS };

static int l_insert_rows(lua_State *L) {
  ins_spec specs[MAX_SPECS];
  ins_ctx c;
  int nspecs = 0, n, i, nshapes = 0, nout, rc, last_shape = -1, cache, dicts;
  int *sig;
  qs_plan_sig *sigs;
  ins_shape *shapes;
  qs_plan_batch *out;
  qs_plan_caps caps;
  luaL_checktype(L, A_ROWS, LUA_TTABLE);
  luaL_checktype(L, A_SPEC_OF, LUA_TFUNCTION);
  luaL_checktype(L, A_REL_KEYS, LUA_TFUNCTION);
  luaL_checktype(L, A_SYNCS, LUA_TTABLE);
  luaL_checktype(L, A_NULLS, LUA_TTABLE);
  luaL_checktype(L, A_TOUCHED, LUA_TTABLE);
  luaL_checktype(L, A_EXPIRE, LUA_TTABLE);
  luaL_checktype(L, A_INSERTED, LUA_TTABLE);
  qsB_read_plan_caps(L, A_CAPS, &caps);
  lua_settop(L, A_CAPS);
  n = (int)lua_rawlen(L, A_ROWS);
  if (n > INT32_MAX / 8) return qsB_raise(L, QS_ARGUMENT, "insert_rows: too many rows");
  luaL_checkstack(L, 3 * MAX_SPECS + 40, "insert_rows");
  lua_newtable(L);   /* mapper -> spec number */
  cache = lua_gettop(L);
  /* every mapper's spec first, and only new rows: else nothing is touched */
  for (i = 1; i <= n; i++) {
    lua_rawgeti(L, A_ROWS, i);
    if (lua_type(L, -1) != LUA_TTABLE) return qsB_raise(L, QS_ARGUMENT, "insert_rows: a row is not a state");
    lua_pushliteral(L, "key");
    lua_rawget(L, -2);
    if (!lua_isnil(L, -1)) {
      lua_pushboolean(L, 0);
      return 1;
    }
    lua_pop(L, 1);
    lua_pushliteral(L, "mapper");
    lua_rawget(L, -2);
    lua_remove(L, -2);
    lua_pushvalue(L, -1);
    lua_rawget(L, cache);
    if (!lua_isnil(L, -1)) {
      lua_pop(L, 2);
      continue;
    }
    lua_pop(L, 1);
    if (nspecs == MAX_SPECS) {
      lua_pushboolean(L, 0);
      return 1;
    }
    lua_pushvalue(L, A_SPEC_OF);
    lua_pushvalue(L, -2);
    lua_call(L, 1, 1);   /* mapper, spec */
    if (lua_type(L, -1) != LUA_TTABLE) {
      lua_pushboolean(L, 0);
      return 1;
    }
    lua_pushvalue(L, -2);
    lua_pushinteger(L, nspecs);
    lua_rawset(L, cache);
    lua_remove(L, -2);
    if (!read_spec(L, &specs[nspecs])) {
      lua_pushboolean(L, 0);
      return 1;
    }
    nspecs++;
  }
  lua_newtable(L);
  c.relcache = lua_gettop(L);
  lua_newtable(L);
  c.nullcache = lua_gettop(L);
  c.rel_keys = A_REL_KEYS;
  c.touched = A_TOUCHED;
  c.was_nil = A_WAS_NIL;
  c.nt = (int)lua_rawlen(L, A_TOUCHED);
  sig = (int *)qsL_newuserdatauv(L, ((size_t)n + 1) * sizeof *sig, 0);
  sigs = (qs_plan_sig *)qsL_newuserdatauv(L, ((size_t)n + 1) * sizeof *sigs, 0);
  shapes = (ins_shape *)qsL_newuserdatauv(L, ((size_t)n + 1) * sizeof *shapes, 0);
  out = (qs_plan_batch *)qsL_newuserdatauv(L, ((size_t)n + 1) * sizeof *out, 0);
  lua_createtable(L, n, 0);
  dicts = lua_gettop(L);
  for (i = 1; i <= n; i++) {
    int st, dict, j, shape, listed = 0, base = lua_gettop(L);
    lua_Integer si;
    uint64_t bits = 0;
    ins_spec *s;
    lua_rawgeti(L, A_ROWS, i);
    st = lua_gettop(L);
    lua_pushliteral(L, "dict");
    lua_rawget(L, st);
    dict = lua_gettop(L);
    if (lua_type(L, dict) != LUA_TTABLE) return qsB_raise(L, QS_ARGUMENT, "insert_rows: a state without a value table");
    lua_pushvalue(L, dict);
    lua_rawseti(L, dicts, i);
    lua_pushliteral(L, "mapper");
    lua_rawget(L, st);
    lua_rawget(L, cache);
    si = lua_tointeger(L, -1);
    lua_pop(L, 1);
    s = &specs[si];
    lua_pushvalue(L, st);
    lua_rawget(L, A_NULLS);
    if (lua_type(L, -1) == LUA_TTABLE) apply_nulls(L, &c, lua_gettop(L), st, dict);
    lua_pop(L, 1);
    lua_pushvalue(L, st);
    lua_rawget(L, A_SYNCS);
    if (lua_type(L, -1) == LUA_TTABLE) apply_syncs(L, &c, lua_gettop(L), st, dict);
    lua_pop(L, 1);
    initial_value(L, &c, s->tbl, SPEC_poly_key, SPEC_poly_value, st, dict);
    initial_value(L, &c, s->tbl, SPEC_version_key, 0, st, dict);
    /* the keys RETURNING or the driver fills in */
    for (j = 0; j < s->ncols; j++) {
      if (!(s->pkbits >> j & 1)) continue;
      lua_rawgeti(L, s->cols, j + 1);
      lua_pushvalue(L, -1);
      lua_rawget(L, dict);
      if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        touch(L, &c, st, dict);
      } else {
        lua_pop(L, 2);
      }
    }
    for (j = 0; j < s->ncols; j++) {
      lua_rawgeti(L, s->cols, j + 1);
      lua_pushvalue(L, -1);
      lua_rawget(L, dict);
      if (!lua_isnil(L, -1)) {
        bits |= (uint64_t)1 << j;
        lua_pop(L, 2);
        continue;
      }
      lua_pop(L, 1);   /* nil: the key stays on top */
      if (s->defbits >> j & 1) {
        lua_pushvalue(L, -1);
        touch(L, &c, st, dict);
        lua_rawgeti(L, s->defaults, j + 1);
        lua_rawset(L, dict);
        bits |= (uint64_t)1 << j;
      } else if (s->expirebits >> j & 1) {
        if (!listed) {   /* done.expire[st], made at its first key */
          lua_pushvalue(L, st);
          lua_rawget(L, A_EXPIRE);
          if (lua_isnil(L, -1)) {
            lua_pop(L, 1);
            lua_newtable(L);
            lua_pushvalue(L, st);
            lua_pushvalue(L, -2);
            lua_rawset(L, A_EXPIRE);
          }
          lua_insert(L, -2);   /* the list under the key, for the rest of the row */
          listed = 1;
        }
        lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
      } else {
        lua_pop(L, 1);
      }
    }
    if (s->last) {
      lua_pushvalue(L, st);
      lua_rawseti(L, A_INSERTED, (lua_Integer)lua_rawlen(L, A_INSERTED) + 1);
    }
    /* the shape: same spec, same columns given */
    if (last_shape >= 0 && shapes[last_shape].spec == (int)si && shapes[last_shape].bits == bits) {
      shape = last_shape;
    } else {
      for (shape = 0; shape < nshapes; shape++) {
        if (shapes[shape].spec == (int)si && shapes[shape].bits == bits) break;
      }
      if (shape == nshapes) {
        shapes[shape].spec = (int)si;
        shapes[shape].bits = bits;
        sigs[shape].ncols = popcount64(bits);
        sigs[shape].need_key = (s->pkbits & ~bits) != 0;
        nshapes++;
      }
      last_shape = shape;
    }
    sig[i - 1] = shape;
    lua_settop(L, base);
  }
  rc = qs_plan_batches(n, sig, nshapes, sigs, &caps, out, &nout);
  if (rc != QS_OK) return qsB_raise(L, rc, "insert_rows: the plan failed");
  lua_createtable(L, 4 * nout, 0);
  for (i = 0; i < nout; i++) {
    lua_pushinteger(L, out[i].first + 1);
    lua_rawseti(L, -2, 4 * i + 1);
    lua_pushinteger(L, out[i].count);
    lua_rawseti(L, -2, 4 * i + 2);
    lua_pushinteger(L, out[i].mode);
    lua_rawseti(L, -2, 4 * i + 3);
    lua_pushinteger(L, sig[out[i].first] + 1);
    lua_rawseti(L, -2, 4 * i + 4);
  }
  lua_createtable(L, nshapes, 0);
  for (i = 0; i < nshapes; i++) {
    ins_spec *s = &specs[shapes[i].spec];
    int j, keys;
    lua_createtable(L, 2, 0);
    lua_pushvalue(L, s->tbl);
    lua_rawseti(L, -2, 1);
    lua_createtable(L, 0, sigs[i].ncols);
    keys = lua_gettop(L);
    for (j = 0; j < s->ncols; j++) {
      if (!(shapes[i].bits >> j & 1)) continue;
      lua_rawgeti(L, s->cols, j + 1);
      lua_pushboolean(L, 1);
      lua_rawset(L, keys);
    }
    lua_rawseti(L, -2, 2);
    lua_rawseti(L, -2, i + 1);
  }
  lua_pushvalue(L, dicts);
  return 3;
}

typedef struct key_pos {
  lua_Number key;
  int at;
} key_pos;

static int cmp_key_pos(const void *a, const void *b) {
  const key_pos *x = (const key_pos *)a, *y = (const key_pos *)b;
  if (x->key < y->key) return -1;
  if (x->key > y->key) return 1;
  return x->at - y->at;
}

/* Pushes the value at position k of the Row (or list) at idx. */
static void row_value(lua_State *L, int idx, int k) {
  lrow *r = (lrow *)luaL_testudata(L, idx, QSB_ROW_MT);
  if (r) {
    if (k >= 1 && k <= r->n) qsL_getiuservalue(L, idx, k);
    else lua_pushnil(L);
  } else if (lua_type(L, idx) == LUA_TTABLE) {
    lua_rawgeti(L, idx, k);
  } else {
    lua_pushnil(L);
  }
}

static int l_insert_keys(lua_State *L) {
  lua_Integer first, count;
  int got, nkeys, i, k, sorted = 1, dosort;
  key_pos *pos = NULL;
  luaL_checktype(L, 1, LUA_TTABLE);
  first = luaL_checkinteger(L, 2);
  count = luaL_checkinteger(L, 3);
  luaL_checktype(L, 4, LUA_TTABLE);
  luaL_checktype(L, 5, LUA_TTABLE);
  dosort = lua_toboolean(L, 6);
  lua_settop(L, 6);
  got = (int)lua_rawlen(L, 4);
  nkeys = (int)lua_rawlen(L, 5);
  if ((lua_Integer)got != count || count <= 0) {
    lua_pushinteger(L, got);
    return 1;
  }
  if (dosort && count > 1) {
    lua_Number prev = 0;
    pos = (key_pos *)qsL_newuserdatauv(L, (size_t)count * sizeof *pos, 0);   /* 7 */
    for (i = 0; i < got; i++) {
      lua_rawgeti(L, 4, i + 1);
      row_value(L, lua_gettop(L), 1);
      if (lua_type(L, -1) != LUA_TNUMBER)
        return qsB_raise(L, QS_ARGUMENT, "insert_keys: a new key that is not a number");
      pos[i].key = lua_tonumber(L, -1);
      pos[i].at = i;
      if (i > 0 && !(pos[i].key > prev)) sorted = 0;
      prev = pos[i].key;
      lua_pop(L, 2);
    }
    if (!sorted) qsort(pos, (size_t)got, sizeof *pos, cmp_key_pos);
  }
  for (i = 0; i < got; i++) {
    int row;
    lua_rawgeti(L, 1, (lua_Integer)first + i);
    lua_rawgeti(L, 4, (pos ? pos[i].at : i) + 1);
    row = lua_gettop(L);
    if (lua_type(L, row - 1) != LUA_TTABLE) return qsB_raise(L, QS_ARGUMENT, "insert_keys: a row without its value table");
    for (k = 1; k <= nkeys; k++) {
      lua_rawgeti(L, 5, k);
      row_value(L, row, k);
      lua_rawset(L, row - 1);
    }
    lua_pop(L, 2);
  }
  lua_pushinteger(L, got);
  return 1;
}

void qsB_open_insert_rows(lua_State *L) {
  lua_pushcfunction(L, l_insert_rows);
  lua_setfield(L, -2, "insert_rows");
  lua_pushcfunction(L, l_insert_keys);
  lua_setfield(L, -2, "insert_keys");
  lua_newtable(L);
#define QS_INSERT_SPEC_SET(name, position, form, meaning) \
  lua_pushinteger(L, position);                          \
  lua_setfield(L, -2, #name);
  QS_INSERT_SPEC(QS_INSERT_SPEC_SET)
#undef QS_INSERT_SPEC_SET
  lua_setfield(L, -2, "insert_spec_fields");
}
