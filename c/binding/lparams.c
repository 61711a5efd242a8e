/*
** lparams.c: parameter sets read from Lua into qs_values for a statement
** (conn:execute, conn:executemany): keys in placeholder order or positions,
** the statement's own values, Lua converters, the C value checks of
** QS_TYPE_CHECKS with messages that name the parameter, and the anchors that
** keep converted strings alive until the driver has them.
*/
#include "lbinding.h"

#include <stdio.h>

#include <string.h>

/* What each QSV_* check expects, for error messages (QS_TYPE_CHECKS order). */
static const char *const check_descriptions[] = {
  "a bindable value", "an integer", "a number", "a string or number", "a boolean",
  "a string of bytes", "a number or decimal string", "a value JSON can encode",
};

/* What read_value made of a value. */
typedef enum read_result {
  READ_OK = 0,         /* v holds it */
  READ_MISSING = 1,    /* nil: no value given */
  READ_UNBINDABLE = 2, /* its Lua type cannot be bound (a function, a table, ...) */
  READ_MISFIT = 3      /* it does not fit the column's type (the check) */
} read_result;

/*
** Reads the value at the top of the stack into v, leaving it on the stack
** (the string stays anchored by the caller's table or by the stack).
*/
static read_result read_value(lua_State *L, int nullidx, int check, qs_value *v) {
  int t = lua_type(L, -1);
  if (t == LUA_TNIL) return READ_MISSING;
  if (t != LUA_TNUMBER && t != LUA_TSTRING && t != LUA_TBOOLEAN) {
    if (lua_rawequal(L, -1, nullidx)) {
      v->type = QS_TNULL;
      return READ_OK;
    }
    if (t == LUA_TUSERDATA && check != QSV_json && qsB_is_decimal(L, -1)) {
      /* a decimal travels as its exact text (numbers and strings only) */
      size_t n;
      const char *p;
      if (check != QSV_none && check != QSV_number && check != QSV_decimal && check != QSV_string)
        return READ_MISFIT;
      p = qsB_decimal_text(L, -1, &n);
      lua_pushlstring(L, p, n);
      lua_replace(L, -2);   /* a string copy takes the value's place: anchored */
      v->type = QS_TTEXT;
      v->u.s.p = lua_tolstring(L, -1, &v->u.s.n);
      return READ_OK;
    }
    if (!(check == QSV_json && (t == LUA_TTABLE || qsB_is_decimal(L, -1)))) return READ_UNBINDABLE;
  }
  switch (check) {
    case QSV_integer:
      if (t == LUA_TBOOLEAN) return READ_MISFIT;
      if (t == LUA_TSTRING || !qsL_isinteger(L, -1)) return READ_MISFIT;
      break;
    case QSV_number:
    case QSV_decimal:
      if (t == LUA_TBOOLEAN) return READ_MISFIT;
      if (t == LUA_TSTRING) {   /* a decimal string: digits, one point, an exponent */
        const char *p;
        size_t n;
        if (check == QSV_number) return READ_MISFIT;
        p = lua_tolstring(L, -1, &n);
        if (!qsB_decimal_text_ok(p, n)) return READ_MISFIT;
      }
      break;
    case QSV_string:
      if (t == LUA_TBOOLEAN) return READ_MISFIT;
      if (t == LUA_TNUMBER) {
        /* a number for a string column travels as text: MySQL compares a
        ** string column with a number numerically ('abc' = 0, '05' = 5) */
        v->type = QS_TTEXT;
        v->u.s.p = lua_tolstring(L, -1, &v->u.s.n);   /* in place: anchored by the stack */
        return READ_OK;
      }
      break;
    case QSV_boolean:
      if (t == LUA_TSTRING) return READ_MISFIT;
      if (t == LUA_TNUMBER) {   /* 0 and 1 stand for false and true */
        if (!(qsL_isinteger(L, -1) && (lua_tonumber(L, -1) == 0 || lua_tonumber(L, -1) == 1)))
          return READ_MISFIT;
        v->type = QS_TBOOL;
        v->u.i = lua_tonumber(L, -1) != 0;
        return READ_OK;
      }
      break;
    case QSV_json:
      if (qsB_json_encode(L, -1) != NULL) return READ_MISFIT;
      lua_replace(L, -2);   /* the encoded text takes the value's place */
      v->type = QS_TTEXT;
      v->u.s.p = lua_tolstring(L, -1, &v->u.s.n);
      return READ_OK;
    case QSV_bytes:
      if (t != LUA_TSTRING) return READ_MISFIT;
      v->type = QS_TBLOB;
      v->u.s.p = lua_tolstring(L, -1, &v->u.s.n);
      return READ_OK;
    default:
      break;
  }
  switch (t) {
    case LUA_TBOOLEAN:
      v->type = QS_TBOOL;
      v->u.i = lua_toboolean(L, -1);
      break;
    case LUA_TNUMBER:
      if (qsL_isinteger(L, -1)) {
        v->type = QS_TINT;
        v->u.i = qsL_toint64(L, -1);
      } else {
        v->type = QS_TFLOAT;
        v->u.f = lua_tonumber(L, -1);
      }
      break;
    default:
      v->type = QS_TTEXT;
      v->u.s.p = lua_tolstring(L, -1, &v->u.s.n);
  }
  return READ_OK;
}

/* The positional entries of table pidx: its n field when set, else #t.
** -1 when n is not a whole number in 0..max (a huge or negative n must not
** size an allocation). */
static int positional_count(lua_State *L, int pidx, int max, int *out) {
  int bad = 0;
  lua_Integer n;
  lua_pushliteral(L, "n");   /* raw: no __index of the caller's runs mid-read */
  lua_rawget(L, pidx);
  if (lua_isnil(L, -1)) {
    n = (lua_Integer)lua_rawlen(L, pidx);
  } else if (lua_type(L, -1) == LUA_TNUMBER) {
    lua_Number d = lua_tonumber(L, -1);   /* 3 and 3.0 alike; 2.5, nan, 1e300: refused */
    n = d >= 0 && d <= (lua_Number)max && d == (lua_Number)(lua_Integer)d ? (lua_Integer)d : -1;
  } else {
    n = -1;
  }
  lua_pop(L, 1);
  if (n < 0 || n > max) bad = 1;
  *out = bad ? 0 : (int)n;
  return bad ? -1 : 0;
}

/*
** Reads one parameter set into the scratch array: with keys, params[key]
** (else values[key]); without, params[1..n] (n = params.n or #params).
** Converters run first (they may raise: callers hold no statement, or hold
** it in a cursor userdata). Values stay on the stack in a list at the
** returned anchor so converted strings live until the bind. Returns the
** count read, or -1 with err set naming the parameter (and, in an
** executemany, the parameter set).
*/
int qsB_read_params(lua_State *L, qs_value *vals, int pidx, const qsB_bindspec *bs, int group,
                       qs_error *err) {
  int i, n, anchor, anchored;
  read_result rc = READ_OK;
  if (!lua_istable(L, pidx)) {
    qs_error_set(err, QS_ARGUMENT, "parameter set %d is a %s, not a table", group,
                 luaL_typename(L, pidx));
    return -1;
  }
  if (bs->keys) {
    n = bs->nkeys;
  } else if (positional_count(L, pidx, QSB_MAX_PARAMS, &n) != 0) {
    qs_error_set(err, QS_ARGUMENT, "parameter set %d: its n must be a whole number from 0 to "
                 "%d (the most values one statement can carry)", group, QSB_MAX_PARAMS);
    return -1;
  }
  /* Values read as they are stay alive in the set (which the caller keeps
  ** on the stack); converters and JSON encoding make new ones, so then
  ** every value is anchored (a converter might even change the set).
  ** Otherwise nil stands in for the anchor list: no table per row. */
  anchored = bs->anchor;
  if (anchored) lua_createtable(L, n, 0);
  else lua_pushnil(L);
  anchor = lua_gettop(L);
  for (i = 0; i < n && rc == READ_OK; i++) {
    int check = QSV_none;
    if (bs->keys) {
      lua_rawgeti(L, bs->keys, i + 1);
      lua_rawget(L, pidx);
      if (lua_isnil(L, -1) && bs->values) {
        lua_pop(L, 1);
        lua_rawgeti(L, bs->keys, i + 1);
        lua_rawget(L, bs->values);
      }
    } else {
      lua_rawgeti(L, pidx, i + 1);
    }
    if (bs->procs && !lua_isnil(L, -1) && !lua_rawequal(L, -1, bs->nullidx)) {
      lua_rawgeti(L, bs->procs, i + 1);
      if (lua_isfunction(L, -1)) {
        lua_insert(L, -2);
        lua_call(L, 1, 1);
        if (lua_isnil(L, -1)) {   /* a converter's nil means NULL */
          lua_pop(L, 1);
          lua_pushvalue(L, bs->nullidx);
        }
      } else {
        lua_pop(L, 1);
      }
    }
    if (bs->keep && !lua_isnil(L, -1)) {   /* the converted value, before the check */
      lua_rawgeti(L, bs->keys, i + 1);
      lua_pushvalue(L, -2);
      lua_rawset(L, bs->keep);
    }
    if (i < bs->ncheckv) {
      check = bs->checkv[i];
    } else if (bs->checks) {
      lua_rawgeti(L, bs->checks, i + 1);
      check = (int)lua_tointeger(L, -1);
      lua_pop(L, 1);
    }
    if (!anchored && check == QSV_string && lua_type(L, -1) == LUA_TNUMBER) {
      /* read_value makes a new string of it: from here on values are anchored */
      lua_createtable(L, n, 0);
      lua_replace(L, anchor);
      anchored = 1;
    }
    rc = read_value(L, bs->nullidx, check, &vals[i]);
    if (rc == READ_MISSING && !bs->keys) {
      vals[i].type = QS_TNULL;   /* positional holes are NULLs (params.n) */
      rc = READ_OK;
    }
    if (rc == READ_OK) {
      if (anchored) lua_rawseti(L, anchor, i + 1);
      else lua_pop(L, 1);
    }
  }
  if (rc != READ_OK) {
    /* the offending value is at the top; name its key and say what is wrong */
    int check = QSV_none, val = lua_gettop(L);
    const char *shown = lua_type(L, val) == LUA_TSTRING ? "a string" : luaL_typename(L, val);
    if (lua_type(L, val) == LUA_TNUMBER || lua_type(L, val) == LUA_TBOOLEAN) {
      luaL_tolstring(L, val, NULL);
      shown = lua_tostring(L, -1);
    }
    i--;
    if (bs->checks) {
      lua_rawgeti(L, bs->checks, i + 1);
      check = (int)lua_tointeger(L, -1);
      lua_pop(L, 1);
    }
    if (bs->keys) lua_rawgeti(L, bs->keys, i + 1);
    else lua_pushfstring(L, "%d", i + 1);
    if (rc == READ_MISSING)
      lua_pushfstring(L, "A value is required for bind parameter '%s'", lua_tostring(L, -1));
    else if (rc == READ_UNBINDABLE)
      lua_pushfstring(L, "Unsupported value for bind parameter '%s': %s", lua_tostring(L, -1), shown);
    else
      lua_pushfstring(L, "Wrong value for column '%s': %s is not %s", lua_tostring(L, -1), shown,
                      check_descriptions[check]);
    if (group > 0) qs_error_set(err, QS_ARGUMENT, "%s, in parameter group %d", lua_tostring(L, -1), group);
    else qs_error_set(err, QS_ARGUMENT, "%s", lua_tostring(L, -1));
    lua_settop(L, anchor - 1);
    return -1;
  }
  return n;
}

/* Reads the bindspec arguments starting at stack index first. */
void qsB_get_bindspec(lua_State *L, int first, int nullidx, qsB_bindspec *bs) {
  int i;
  int *slots[4];
  slots[0] = &bs->keys;
  slots[1] = &bs->values;
  slots[2] = &bs->checks;
  slots[3] = &bs->procs;
  for (i = 0; i < 4; i++) {
    int idx = first + i;
    *slots[i] = lua_isnoneornil(L, idx) ? 0 : idx;
    if (*slots[i]) luaL_checktype(L, idx, LUA_TTABLE);
  }
  bs->nullidx = nullidx;
  bs->keep = 0;
  bs->nkeys = bs->keys ? (int)lua_rawlen(L, bs->keys) : 0;
  if (bs->procs) {   /* an empty list of converters is none: no look-up per value */
    lua_pushnil(L);
    if (lua_next(L, bs->procs)) lua_pop(L, 2);
    else bs->procs = 0;
  }
  bs->anchor = bs->procs != 0;
  bs->ncheckv = 0;
  if (bs->checks) {
    int n = (int)lua_rawlen(L, bs->checks);
    int cache = n <= (int)(sizeof bs->checkv / sizeof bs->checkv[0]);
    for (i = 1; i <= n; i++) {
      int code;
      lua_rawgeti(L, bs->checks, i);
      code = (int)lua_tointeger(L, -1);
      lua_pop(L, 1);
      if (code == QSV_json) bs->anchor = 1;
      if (cache) bs->checkv[i - 1] = code;
    }
    if (cache) bs->ncheckv = n;
  }
}

int qsB_positional_size(lua_State *L, int pidx, int max, const char *what) {
  int n;
  pidx = lua_absindex(L, pidx);
  if (!lua_istable(L, pidx)) return 0;
  if (positional_count(L, pidx, max, &n) != 0) {
    char msg[160];
    snprintf(msg, sizeof msg, "%s: n must be a whole number from 0 to %d", what, max);
    return qsB_raise(L, QS_ARGUMENT, msg);
  }
  return n;
}

/*
** core.convert_sets(sets, n, keys, values, checks, procs, base?) -> converted | true | nil, err
** Every parameter set of an executemany that goes as several statements
** (multi-row INSERT batches, runs of sets with other keys) converted and
** checked before the first statement is sent, so a bad value in set 50,000
** fails with nothing of the call written. converted[i] is set i as
** {key = value}: the statement's own values filled in, the Lua converters
** applied (their nil is NULL), in the form the checks take (run them again:
** they convert nothing twice); send it without the converters. The error
** names the set (base + i: its place in the caller's list) and the column.
** Without converters nothing changes: the sets are only checked (true).
*/
int qsB_convert_sets(lua_State *L) {
  qsB_bindspec bs;
  qs_error *err;
  qs_value *vals;
  int nsets, i, out, check_only, base = (int)luaL_optinteger(L, 7, 0);
  luaL_checktype(L, 1, LUA_TTABLE);
  nsets = (int)luaL_checkinteger(L, 2);
  luaL_checktype(L, 3, LUA_TTABLE);
  luaL_argcheck(L, nsets >= 0 && nsets <= (1 << 28), 2, "a count of parameter sets from 0 to 2^28");
  luaL_argcheck(L, base >= 0 && base <= (1 << 28), 7, "a set number from 0 to 2^28");
  lua_settop(L, 6);
  lua_getfield(L, LUA_REGISTRYINDEX, QSB_REG_NULL);   /* 7 */
  qsB_get_bindspec(L, 3, 7, &bs);
  check_only = bs.procs == 0;
  /* converting: every value read stays on the stack until it is kept;
  ** checking only: each goes once read (a new table per set costs a
  ** PostgreSQL insert of 100,000 rows half its time) */
  bs.anchor = !check_only;
  vals = (qs_value *)qsL_newuserdatauv(L, sizeof(qs_value) * (size_t)(bs.nkeys > 0 ? bs.nkeys : 1), 0);
  err = qsB_errbox(L);
  lua_createtable(L, nsets, 0);
  out = lua_gettop(L);
  for (i = 1; i <= nsets; i++) {
    lua_rawgeti(L, 1, i);          /* the set */
    if (check_only) {
      if (qsB_read_params(L, vals, lua_gettop(L), &bs, base + i, err) < 0) return qsB_fail_box(L, err);
      lua_pop(L, 2);               /* the anchor (nil or a list), the set */
      continue;
    }
    lua_createtable(L, 0, bs.nkeys);   /* what is kept of it */
    bs.keep = lua_gettop(L);
    if (qsB_read_params(L, vals, bs.keep - 1, &bs, base + i, err) < 0) return qsB_fail_box(L, err);
    lua_pop(L, 1);                 /* the anchor list */
    lua_rawseti(L, out, i);
    lua_pop(L, 1);                 /* the set */
  }
  if (check_only) lua_pushboolean(L, 1);
  return 1;
}
