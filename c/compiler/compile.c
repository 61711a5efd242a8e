/*
** compile.c: the compiler's entry points and shared machinery.
**
** core.compile(stmt, dialect, opts) -> compiled
**   compiled = {sql, keys, values, checks, procs, result_names, result_types}
**   keys[i] is the bind key of placeholder i; values[key] the value the
**   statement holds for it (execute parameters override); checks[i]/procs[i]
**   how the value is checked (C) or converted (Lua) before binding.
** core.compile_text(dialect, sql) -> sql, keys   (qs.text on its own)
*/
#include "compile.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int qsC_error(qsC *c, int code, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return qsB_raise(c->L, code, msg);
}

void qsC_fail(qsC *c, int code, qs_error *err) {
  char msg[256];
  snprintf(msg, sizeof msg, "%s", err->message ? err->message : "rendering failed");
  qs_error_clear(err);
  qsC_error(c, code, "%s", msg);
}

int qsC_kind(lua_State *L, int idx) {
  int k = 0;
  if (lua_type(L, idx) != LUA_TTABLE) return 0;
  lua_getfield(L, idx, "_k");
  if (lua_type(L, -1) == LUA_TNUMBER) k = (int)lua_tointeger(L, -1);
  lua_pop(L, 1);
  if (k <= QSK_NONE || k >= QSK_LAST_) k = 0;   /* an unknown code is no node */
  return k;
}

static const char *const kind_names[] = {
  "table",
#define QS_KIND_NAME_(name) #name,
  QS_NODE_KINDS(QS_KIND_NAME_)
#undef QS_KIND_NAME_
};

const char *qsC_kind_name(lua_State *L, int idx) {
  return kind_names[qsC_kind(L, idx)];
}

int qsC_malformed(qsC *c, int idx, const char *field, const char *want, int got) {
  lua_State *L = c->L;
  const char *gotname = got == LUA_TNONE ? "nothing" : lua_typename(L, got);
  if (lua_type(L, idx) != LUA_TTABLE)
    return qsC_error(c, QS_ARGUMENT, "malformed statement: a %s where a node (a table) was expected, reading '%s'",
                     lua_typename(L, lua_type(L, idx)), field);
  return qsC_error(c, QS_ARGUMENT, "malformed %s node: field '%s' must be %s, not %s",
                   qsC_kind_name(L, idx), field, want, got == LUA_TNIL ? "missing" : gotname);
}

void qsC_enter(qsC *c) {
  /* every level of a walk keeps a few values on the Lua stack and a few
  ** frames on the C stack: both are bounded here, with one limit for the
  ** compiler, DDL, literal mode and the cache key (cachekey.c) */
  luaL_checkstack(c->L, 40, "statement nested too deeply");
  if (++c->expr_depth > QS_MAX_DEPTH)
    qsC_error(c, QS_COMPILE,
              "statement nested deeper than %d levels (the compiler's limit, core.max_depth), or a node "
              "that contains itself", QS_MAX_DEPTH);
}

void qsC_leave(qsC *c) { c->expr_depth--; }

int qsC_field(qsC *c, int idx, const char *name) {
  if (lua_type(c->L, idx) != LUA_TTABLE) qsC_malformed(c, idx, name, "a table", LUA_TNONE);
  return qsL_getfield(c->L, idx, name);
}

/* A string read from a node (at the top, popped) stays alive until the
** compile ends: it is anchored in c->anchors. Not the node: an __index
** function may make a fresh string on each read, and Lua code the compiler
** calls (a SELECT's _final_froms, a type's converter in literal mode) may
** change the node while C still uses what it read. */
static const char *anchored(qsC *c, size_t *n) {
  lua_State *L = c->L;
  const char *s = lua_tolstring(L, -1, n);
  lua_pushboolean(L, 1);
  lua_rawset(L, c->anchors);
  return s;
}

const char *qsC_string(qsC *c, int idx, const char *name, size_t *n) {
  int t;
  idx = lua_absindex(c->L, idx);
  t = qsC_field(c, idx, name);
  if (t == LUA_TNIL) {
    lua_pop(c->L, 1);
    return NULL;
  }
  if (t != LUA_TSTRING) qsC_malformed(c, idx, name, "a string", t);
  return anchored(c, n);
}

const char *qsC_string_opt(qsC *c, int idx, const char *name, size_t *n) {
  idx = lua_absindex(c->L, idx);
  if (qsC_field(c, idx, name) != LUA_TSTRING) {
    lua_pop(c->L, 1);
    return NULL;
  }
  return anchored(c, n);
}

const char *qsC_name(qsC *c, int idx, const char *name, size_t *n) {
  const char *s = qsC_string(c, idx, name, n);
  if (s == NULL) qsC_malformed(c, idx, name, "a string", LUA_TNIL);
  return s;
}

int qsC_bool(qsC *c, int idx, const char *name) {
  int t, v;
  idx = lua_absindex(c->L, idx);
  t = qsC_field(c, idx, name);
  if (t != LUA_TNIL && t != LUA_TBOOLEAN) qsC_malformed(c, idx, name, "a boolean", t);
  v = lua_toboolean(c->L, -1);
  lua_pop(c->L, 1);
  return v;
}

int qsC_list_field(qsC *c, int idx, const char *name) {
  int t;
  idx = lua_absindex(c->L, idx);
  t = qsC_field(c, idx, name);
  if (t == LUA_TNIL) return 0;
  if (t != LUA_TTABLE) qsC_malformed(c, idx, name, "a list", t);
  return (int)lua_rawlen(c->L, -1);
}

void qsC_need_table(qsC *c, int idx, int parent, const char *field) {
  int t = lua_type(c->L, idx);
  if (t != LUA_TTABLE) qsC_malformed(c, parent, field, "a list of tables", t);
}

void qsC_puts(qsC *c, const char *s) { qs_buf_puts(c->b, s); }

void qsC_ident(qsC *c, const char *s, size_t n) {
  if (s == NULL) qsC_error(c, QS_ARGUMENT, "malformed statement: a name is missing");
  qs_dialect_ident(c->d, c->b, s, n);
}

const char *qsC_anon_name(qsC *c, int idx, const char *base) {
  lua_State *L = c->L;
  lua_Integer n;
  const char *name;
  lua_pushvalue(L, idx);
  if (qsL_rawget(L, c->names) == LUA_TSTRING) {
    name = lua_tostring(L, -1);
    lua_pop(L, 1);
    return name;   /* anchored in c->names */
  }
  lua_pop(L, 1);
  lua_getfield(L, c->counters, base);
  n = lua_isnumber(L, -1) ? lua_tointeger(L, -1) + 1 : 1;
  lua_pop(L, 1);
  lua_pushinteger(L, n);
  lua_setfield(L, c->counters, base);
  lua_pushvalue(L, idx);
  lua_pushfstring(L, "%s_%d", base, (int)n);
  name = lua_tostring(L, -1);
  lua_rawset(L, c->names);
  lua_pushvalue(L, idx);
  lua_rawget(L, c->names);
  name = lua_tostring(L, -1);
  lua_pop(L, 1);
  return name;
}

/* The name an ALIAS node is referred to by: its own, or a generated one
** based on the aliased table's name (users_1), as SQLAlchemy's anon aliases. */
const char *qsC_alias_name(qsC *c, int idx, size_t *n) {
  lua_State *L = c->L;
  const char *name = qsC_string(c, idx, "name", n);
  if (name) return name;
  lua_getfield(L, idx, "element");
  if (qsC_kind(L, -1) == QSK_TABLE) {
    const char *base = qsC_string(c, lua_gettop(L), "name", n);
    name = qsC_anon_name(c, idx, base ? base : "anon");
  } else {
    name = qsC_anon_name(c, idx, "anon");
  }
  lua_pop(L, 1);
  *n = strlen(name);
  return name;
}

/* Converts the Lua value at idx for the literal renderer. */
static void literal(qsC *c, int idx) {
  lua_State *L = c->L;
  qs_value v;
  qs_error err;
  int rc;
  idx = lua_absindex(L, idx);
  memset(&err, 0, sizeof err);
  switch (lua_type(L, idx)) {
    case LUA_TNIL: v.type = QS_TNULL; break;
    case LUA_TBOOLEAN: qs_render_bool(c->d, c->b, lua_toboolean(L, idx)); return;
    case LUA_TNUMBER:
      if (qsL_isinteger(L, idx)) { v.type = QS_TINT; v.u.i = qsL_toint64(L, idx); }
      else { v.type = QS_TFLOAT; v.u.f = lua_tonumber(L, idx); }
      break;
    case LUA_TSTRING:
      v.type = QS_TTEXT;
      v.u.s.p = lua_tolstring(L, idx, &v.u.s.n);
      break;
    default:
      if (lua_rawequal(L, idx, c->nullv)) { v.type = QS_TNULL; break; }
      qsC_error(c, QS_COMPILE, "cannot render a %s as a SQL literal", luaL_typename(L, idx));
      return;
  }
  rc = qs_render_literal(c->d, c->b, &v, &err);
  if (rc != QS_OK) qsC_fail(c, rc, &err);
}

/* The cast that types a parameter where the server cannot infer it
** (the dialect's xBindCast: PostgreSQL's $1::INTEGER). */
static void bind_cast(qsC *c, int typeidx);

/* An ARRAY parameter: the element type's cast and "[]" per dimension
** ($1::INTEGER[]), whether or not strings are cast elsewhere: alone an
** array's text is no array. Element types with no cast of their own are
** text[]. */
static void array_bind_cast(qsC *c, int typeidx) {
  lua_State *L = c->L;
  int i, dims = qsC_array_dims(c, typeidx), all = c->bind_cast_all;
  size_t at = c->b->len;
  if (qsC_field(c, typeidx, "item_type") == LUA_TTABLE) {
    c->bind_cast_all = 1;
    bind_cast(c, lua_gettop(L));
    c->bind_cast_all = all;
  }
  lua_pop(L, 1);
  if (c->b->len == at) qsC_puts(c, "::TEXT");
  for (i = 0; i < dims; i++) qsC_puts(c, "[]");
}

static void bind_cast(qsC *c, int typeidx) {
  qs_type_desc t;
  size_t n;
  t.kind = qsC_string(c, typeidx, "_t", &n);
  if (t.kind == NULL) return;
  if (strcmp(t.kind, "ARRAY") == 0) {
    array_bind_cast(c, typeidx);
    return;
  }
  t.length = t.precision = t.scale = -1;
  t.timezone = 0;
  if (strcmp(t.kind, "DATETIME") == 0) t.timezone = qsC_bool(c, typeidx, "timezone");
  c->d->xBindCast(c->d, c->b, &t, c->bind_cast_all);
}

void qsC_expr_inferred(qsC *c, int idx) {
  int bare = qsC_kind(c->L, idx) == QSK_BIND;
  c->bind_cast_off += bare;
  qsC_expr(c, idx);
  c->bind_cast_off -= bare;
}

/* Writes a placeholder for key (a string at the top of the stack, popped)
** with the type at typeidx (0: none) and the value at validx (0: none). */
static void placeholder(qsC *c, int typeidx, int validx) {
  lua_State *L = c->L;
  int pos = 0, keyidx = lua_gettop(L);
  if (qs_dialect_numbered(c->d)) {   /* one placeholder per key */
    lua_pushvalue(L, keyidx);
    if (qsL_rawget(L, c->positions) == LUA_TNUMBER) pos = (int)lua_tointeger(L, -1);
    lua_pop(L, 1);
  }
  if (pos == 0) {
    pos = ++c->npos;
    lua_pushvalue(L, keyidx);
    lua_rawseti(L, c->keys, pos);
    lua_pushvalue(L, keyidx);
    lua_pushinteger(L, pos);
    lua_rawset(L, c->positions);
    lua_pushinteger(L, QSV_none);
    if (typeidx) {
      lua_getfield(L, typeidx, "_check");
      if (lua_isnumber(L, -1)) lua_replace(L, -2); else lua_pop(L, 1);
    }
    lua_rawseti(L, c->checks, pos);
    if (typeidx) {
      lua_getfield(L, typeidx, "_bind");
      if (lua_isfunction(L, -1)) lua_rawseti(L, c->procs, pos); else lua_pop(L, 1);
    }
  }
  if (validx && !lua_isnil(L, validx)) {
    lua_pushvalue(L, keyidx);
    lua_pushvalue(L, validx);
    lua_rawset(L, c->values);
  }
  lua_pop(L, 1);
  {
    size_t start = c->b->len, phend;
    qs_dialect_placeholder(c->d, c->b, pos);
    phend = c->b->len;
    if (typeidx && c->d->xBindCast && !c->bind_cast_off) bind_cast(c, typeidx);
    if (c->mark_kind != QSC_MARK_PLAIN || qs_dialect_numbered(c->d)) qsC_mark(c, start, phend, c->b->len, pos);
  }
}

/* In literal mode a value is written inline, converted by its type first. */
static void literal_value(qsC *c, int typeidx, int validx) {
  lua_State *L = c->L;
  if (typeidx) {
    if (qsL_getfield(L, typeidx, "_bind") == LUA_TFUNCTION &&
        !lua_isnil(L, validx) && !lua_rawequal(L, validx, c->nullv)) {
      lua_pushvalue(L, validx);
      lua_call(L, 1, 1);
      literal(c, -1);
      lua_pop(L, 1);
      return;
    }
    lua_pop(L, 1);   /* the field read above; with no type nothing was pushed */
  }
  literal(c, validx);
}

void qsC_bind(qsC *c, int idx) {
  lua_State *L = c->L;
  int top = lua_gettop(L), anon = qsC_bool(c, idx, "anon"), typeidx, validx;
  if (c->mark_kind != QSC_MARK_IN && qsC_bool(c, idx, "expanding")) qsC_expanding_alone(c, idx);
  if (qsC_field(c, idx, "type") != LUA_TNIL && !lua_istable(L, -1))
    qsC_malformed(c, idx, "type", "a type", lua_type(L, -1));
  typeidx = lua_istable(L, -1) ? lua_gettop(L) : 0;
  lua_getfield(L, idx, "value");
  validx = lua_gettop(L);
  if (c->literal_binds) {
    literal_value(c, typeidx, validx);
  } else {
    lua_getfield(L, idx, "key");
    if (anon || !lua_isstring(L, -1)) {
      const char *base = lua_isstring(L, -1) ? lua_tostring(L, -1) : "param";
      lua_pushstring(L, qsC_anon_name(c, idx, base));
      lua_remove(L, -2);
    }
    placeholder(c, typeidx, validx);
  }
  lua_settop(L, top);
}

/* ---- qs.text inside a statement, and on its own ---------------------- */

typedef struct text_ctx {
  qsC *c;
  int node;
} text_ctx;

static int text_bind(void *ud, const char *name, size_t n, int after_in) {
  text_ctx *t = (text_ctx *)ud;
  qsC *c = t->c;
  lua_State *L = c->L;
  int validx, typeidx;
  /* The value, when the text was given one with :bindparams(). */
  lua_getfield(L, t->node, "_defaults");
  if (lua_istable(L, -1)) {
    lua_pushlstring(L, name, n);
    lua_rawget(L, -2);
  } else {
    lua_pushnil(L);
  }
  validx = lua_gettop(L);
  /* The type, when :bindparams() gave one (qs.bindparam(name, v, {type})). */
  lua_getfield(L, t->node, "_types");
  if (lua_istable(L, -1)) {
    lua_pushlstring(L, name, n);
    lua_rawget(L, -2);
  } else {
    lua_pushnil(L);
  }
  typeidx = lua_istable(L, -1) ? lua_gettop(L) : 0;
  if (c->literal_binds) {
    literal_value(c, typeidx, validx);
  } else if (after_in) {   /* "IN :name": a list bound to it expands (expand.c) */
    lua_pushlstring(L, name, n);
    c->mark_kind = QSC_MARK_TEXT_IN;
    placeholder(c, typeidx, validx);
    c->mark_kind = QSC_MARK_PLAIN;
    qsC_text_in_mark(c, typeidx);
  } else {
    lua_pushlstring(L, name, n);
    placeholder(c, typeidx, validx);   /* writes the placeholder itself */
  }
  lua_pop(L, 4);
  return 0;
}

/* A TEXT node within a statement: its :names become binds of the statement. */
void qsC_text(qsC *c, int idx);
void qsC_text(qsC *c, int idx) {
  size_t n;
  const char *sql = qsC_string(c, idx, "text", &n);
  text_ctx t;
  qs_error err;
  if (sql == NULL) qsC_error(c, QS_COMPILE, "text clause without text");
  t.c = c;
  t.node = idx;
  memset(&err, 0, sizeof err);
  if (qs_compile_text_in(c->d, sql, n, c->b, text_bind, &t, &err) != QS_OK) {
    qs_error_clear(&err);
    qsC_error(c, QS_NOMEM, "out of memory");
  }
}

/* ---- entry points ------------------------------------------------------ */

static int new_table(lua_State *L) {
  lua_newtable(L);
  return lua_gettop(L);
}

/* core.compile(stmt, dialect, opts?) */
static int l_compile(lua_State *L) {
  const char *dname = luaL_checkstring(L, 2);
  const qs_dialect *d = qs_dialect_find(dname);
  qsC c;
  int kind;
  luaL_checktype(L, 1, LUA_TTABLE);
  if (d == NULL) {
    lua_pushfstring(L, "unknown dialect '%s'", dname);
    return qsB_raise(L, QS_ARGUMENT, lua_tostring(L, -1));
  }
  lua_settop(L, 3);
  memset(&c, 0, sizeof c);
  c.L = L;
  c.d = d;
  c.b = qsB_newbuf(L);
  c.keys = new_table(L);
  c.values = new_table(L);
  c.checks = new_table(L);
  c.procs = new_table(L);
  c.positions = new_table(L);
  c.counters = new_table(L);
  c.names = new_table(L);
  c.rnames = new_table(L);
  c.rtypes = new_table(L);
  c.enclosing = new_table(L);
  c.anchors = new_table(L);
  c.marks = qsB_newbuf(L);
  c.expinfo = new_table(L);
  c.expr_depth = -1;   /* the statement itself is level 0: QS_MAX_DEPTH levels below it */
  lua_getfield(L, LUA_REGISTRYINDEX, QSB_REG_NULL);
  c.nullv = lua_gettop(L);
  if (lua_istable(L, 3)) {
    lua_getfield(L, 3, "literal_binds");
    c.literal_binds = lua_toboolean(L, -1);
    lua_pop(L, 1);
    /* schema_translate_map: left on the stack for the whole compile */
    if (qsL_getfield(L, 3, "schema_translate_map") == LUA_TTABLE) c.schema_map = lua_gettop(L);
    else lua_pop(L, 1);
  }
  kind = qsC_kind(L, 1);
  if (lua_istable(L, 3)) {   /* CTEs the Lua front collected: WITH comes first */
    lua_getfield(L, 3, "ctes");
    if (lua_istable(L, -1)) {
      if (!qs_dialect_can(d, QS_CAP(DML_CTE)) && (kind == QSK_INSERT || kind == QSK_UPDATE || kind == QSK_DELETE))
        return qsC_error(&c, QS_COMPILE, "WITH (a CTE) before INSERT, UPDATE or DELETE is not supported by dialect %s",
                         d->name);
      qsC_with(&c, lua_gettop(L));
    }
    lua_pop(L, 1);
  }
  switch (kind) {
    case QSK_SELECT: qsC_select(&c, 1); break;
    case QSK_COMPOUND: qsC_compound(&c, 1); break;
    case QSK_INSERT: qsC_insert(&c, 1); break;
    case QSK_UPDATE: qsC_update(&c, 1); break;
    case QSK_DELETE: qsC_delete(&c, 1); break;
    case QSK_CREATE_TABLE: case QSK_DROP_TABLE: case QSK_CREATE_INDEX: case QSK_DROP_INDEX:
    case QSK_ADD_CONSTRAINT: case QSK_DROP_CONSTRAINT: case QSK_ADD_COLUMN: case QSK_DROP_COLUMN:
    case QSK_RENAME_TABLE: case QSK_ALTER_COLUMN: case QSK_RENAME_COLUMN: case QSK_COMMENT_ON:
      qsC_ddl(&c, 1, kind);
      break;
    case QSK_CREATE_SEQUENCE: case QSK_DROP_SEQUENCE: case QSK_CREATE_ENUM: case QSK_DROP_ENUM:
      qsC_ddl_gen(&c, 1, kind);
      break;
    case QSK_TEXT: qsC_text(&c, 1); break;
    case 0: return qsC_error(&c, QS_ARGUMENT, "not a statement");
    default: qsC_expr(&c, 1); break;   /* an expression on its own (tostring) */
  }
  if (c.b->failed) return qsB_raise(L, QS_NOMEM, "out of memory");
  lua_createtable(L, 0, 8);
  lua_pushlstring(L, c.b->p ? c.b->p : "", c.b->len);
  lua_setfield(L, -2, "sql");
  lua_pushvalue(L, c.keys);
  lua_setfield(L, -2, "keys");
  lua_pushvalue(L, c.values);
  lua_setfield(L, -2, "values");
  lua_pushvalue(L, c.checks);
  lua_setfield(L, -2, "checks");
  lua_pushvalue(L, c.procs);
  lua_setfield(L, -2, "procs");
  lua_pushinteger(L, c.npos);
  lua_setfield(L, -2, "npos");
  lua_pushvalue(L, c.rnames);
  lua_setfield(L, -2, "result_names");
  lua_pushvalue(L, c.rtypes);
  lua_setfield(L, -2, "result_types");
  lua_pushboolean(L, c.result_unknown);
  lua_setfield(L, -2, "result_unknown");
  lua_pushvalue(L, c.names);
  lua_setfield(L, -2, "names");
  qsC_push_marks(&c);
  if (c.values_close > c.values_open && c.values_open > 0) {
    lua_pushinteger(L, (lua_Integer)c.values_open);
    lua_setfield(L, -2, "values_open");
    lua_pushinteger(L, (lua_Integer)c.values_close);
    lua_setfield(L, -2, "values_close");
  }
  return 1;
}

typedef struct plain_text {
  lua_State *L;
  int keys;
  int positions;
  int count;
  int reuse;
} plain_text;

static int plain_bind(void *ud, const char *name, size_t n) {
  plain_text *ts = (plain_text *)ud;
  lua_State *L = ts->L;
  if (ts->reuse) {
    lua_pushlstring(L, name, n);
    if (qsL_rawget(L, ts->positions) == LUA_TNUMBER) {
      int pos = (int)lua_tointeger(L, -1);
      lua_pop(L, 1);
      return pos;
    }
    lua_pop(L, 1);
  }
  ts->count++;
  lua_pushlstring(L, name, n);
  lua_pushvalue(L, -1);
  lua_rawseti(L, ts->keys, ts->count);
  lua_pushinteger(L, ts->count);
  lua_rawset(L, ts->positions);
  return ts->count;
}

int qsB_compile_text(lua_State *L) {
  const char *dname = luaL_checkstring(L, 1);
  size_t n;
  const char *sql = luaL_checklstring(L, 2, &n);
  const qs_dialect *d = qs_dialect_find(dname);
  plain_text ts;
  qs_error err;
  qs_buf *b;
  if (d == NULL) {
    lua_pushfstring(L, "unknown dialect '%s'", dname);
    return qsB_raise(L, QS_ARGUMENT, lua_tostring(L, -1));
  }
  lua_settop(L, 2);
  b = qsB_newbuf(L);
  ts.L = L;
  ts.keys = new_table(L);
  ts.positions = new_table(L);
  ts.count = 0;
  ts.reuse = qs_dialect_numbered(d);
  memset(&err, 0, sizeof err);
  if (qs_compile_text(d, sql, n, b, plain_bind, &ts, &err) != QS_OK) {
    qs_error_clear(&err);
    return qsB_raise(L, QS_NOMEM, "out of memory");
  }
  lua_pushlstring(L, b->p ? b->p : "", b->len);
  lua_pushvalue(L, ts.keys);
  return 2;
}

/* core.quote(dialect, name): an identifier as the compiler writes it. */
static int l_ident(lua_State *L) {
  const char *dname = luaL_checkstring(L, 1);
  size_t n;
  const char *ident = luaL_checklstring(L, 2, &n);
  const qs_dialect *d = qs_dialect_find(dname);
  qs_buf *b;
  if (d == NULL) return luaL_error(L, "unknown dialect '%s'", dname);
  b = qsB_newbuf(L);
  qs_dialect_ident(d, b, ident, n);
  lua_pushlstring(L, b->p, b->len);
  return 1;
}

void qsB_export_codes(lua_State *L) {
  static const luaL_Reg f[] = {{"compile", l_compile}, {"ident", l_ident}, {NULL, NULL}};
  int i;
  luaL_setfuncs(L, f, 0);
  lua_newtable(L);
  i = 0;
#define QS_EXPORT_(name) lua_pushinteger(L, ++i); lua_setfield(L, -2, #name);
  QS_NODE_KINDS(QS_EXPORT_)
#undef QS_EXPORT_
  lua_setfield(L, -2, "kinds");
  lua_newtable(L);
  i = 0;
#define QS_EXPORT_OP_(name, prec) lua_pushinteger(L, ++i); lua_setfield(L, -2, #name);
  QS_OPERATORS(QS_EXPORT_OP_)
#undef QS_EXPORT_OP_
  lua_setfield(L, -2, "ops");
  lua_newtable(L);
  i = -1;
#define QS_EXPORT_(name) lua_pushinteger(L, ++i); lua_setfield(L, -2, #name);
  QS_TYPE_CHECKS(QS_EXPORT_)
  lua_setfield(L, -2, "type_checks");
  lua_newtable(L);
  i = -1;
  QS_RESULT_CODES(QS_EXPORT_)
#undef QS_EXPORT_
  lua_setfield(L, -2, "result_codes");
  lua_pushinteger(L, QS_MAX_DEPTH);
  lua_setfield(L, -2, "max_depth");   /* the one nesting limit (compile.h) */
  qsC_export_fields(L);
}
