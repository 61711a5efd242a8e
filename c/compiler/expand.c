/*
** expand.c: expanding binds (SQLAlchemy's "post-compile" parameters), tuples
** and type coercion.
**
** An expanding bind stands for a list of values on the right of IN: the
** compiled SQL holds one placeholder for it, and each execution writes as
** many as its list has (sql/expanding.lua), so one compiled form serves every
** length of the list. The compiler records where placeholders stand (marks:
** byte offsets into the SQL, never a scan of it: quoted names and literals
** may hold anything); on a numbered dialect ($1) every placeholder is marked,
** since an expansion renumbers those after it. What each expanding mark needs
** at execution (its empty-set form, its tuple members' casts and types) is
** kept in a table per mark.
*/
#include "compile.h"

#include <string.h>

typedef struct mark {
  size_t start, phend, stop;   /* 0-based: [start, phend) the placeholder, [phend, stop) its cast */
  int pos;                     /* the bind position it writes */
  int kind;                    /* QSC_MARK_* */
  int info;                    /* index into c->expinfo (0: none) */
} mark;

void qsC_list(qsC *c, int idx, const char *name, const char *sep, int prec);   /* expr.c */

void qsC_mark(qsC *c, size_t start, size_t phend, size_t stop, int pos) {
  lua_State *L = c->L;
  mark m;
  m.start = start, m.phend = phend, m.stop = stop, m.pos = pos, m.kind = c->mark_kind, m.info = 0;
  if (m.kind != QSC_MARK_PLAIN) {
    m.info = ++c->nexpand;
    lua_createtable(L, 0, 6);
    lua_rawseti(L, c->expinfo, m.info);
  }
  qs_buf_append(c->marks, (const char *)&m, sizeof m);
}

void qsC_marks_shift(qsC *c, size_t at) {
  size_t i, n = c->marks->len / sizeof(mark);
  for (i = 0; i < n; i++) {
    mark m;
    memcpy(&m, c->marks->p + i * sizeof m, sizeof m);
    if (m.start >= at) m.start++, m.phend++, m.stop++;
    memcpy(c->marks->p + i * sizeof m, &m, sizeof m);
  }
}

/* Pushes the info table of the last mark. */
static int last_info(qsC *c) {
  lua_rawgeti(c->L, c->expinfo, c->nexpand);
  return lua_gettop(c->L);
}

/* The text written since at, cut from the SQL and pushed (a piece rendered
** only to be kept for the execution). */
static void cut_since(qsC *c, size_t at) {
  if (c->b->failed) qsC_error(c, QS_NOMEM, "out of memory");
  lua_pushlstring(c->L, c->b->p + at, c->b->len - at);
  c->b->len = at;
}

/* The dialect's empty set for one value of the type at typeidx (0 or a
** NULL type: INTEGER), SQLAlchemy's visit_empty_set_expr. */
static void empty_single(qsC *c, int typeidx) {
  const char *set = c->d->empty_in_set, *at = strstr(set, "%s");
  size_t n;
  const char *kind = typeidx ? qsC_string_opt(c, typeidx, "_t", &n) : NULL;
  if (at == NULL) {
    qsC_puts(c, set);
    return;
  }
  qs_buf_append(c->b, set, (size_t)(at - set));
  if (kind && strcmp(kind, "NULL") != 0) qsC_type(c, typeidx, 0);
  else qsC_puts(c, "INTEGER");
  qsC_puts(c, at + 2);
}

/* The empty set of n-member rows, their types in the list at types. */
static void empty_tuple(qsC *c, int types, int n) {
  lua_State *L = c->L;
  qs_type_desc t[32];
  qs_error err;
  int i, rc;
  if (c->d->xEmptyTupleSet == NULL)
    qsC_error(c, QS_COMPILE, "an empty tuple IN list is not supported by dialect %s", c->d->name);
  if (n > 32) qsC_error(c, QS_COMPILE, "a tuple of %d members in IN (at most 32)", n);
  for (i = 0; i < n; i++) {
    lua_rawgeti(L, types, i + 1);
    memset(&t[i], 0, sizeof t[i]);
    t[i].length = t[i].precision = t[i].scale = -1;
    if (lua_istable(L, -1)) qsC_type_desc(c, lua_gettop(L), &t[i]);   /* strings live in the types */
    if (t[i].kind && strcmp(t[i].kind, "NULL") == 0) t[i].kind = NULL;
    lua_pop(L, 1);
  }
  memset(&err, 0, sizeof err);
  rc = c->d->xEmptyTupleSet(c->d, c->b, n, t, &err);
  if (rc != QS_OK) qsC_fail(c, rc, &err);
}

/* Whether a value of the type at typeidx next to the node at other gets no
** cast on an xBindCast dialect: other is no parameter and has the same type
** kind (what expr.c's typed_by asks of a bind). */
static int typed_next_to(qsC *c, int typeidx, int other) {
  lua_State *L = c->L;
  int same = 0, k = qsC_kind(L, other);
  size_t n;
  const char *a, *b;
  if (!typeidx || k == 0 || k == QSK_BIND) return 0;
  if (qsC_field(c, other, "type") == LUA_TTABLE) {
    a = qsC_string_opt(c, typeidx, "_t", &n);
    b = qsC_string_opt(c, lua_gettop(L), "_t", &n);
    same = a && b && strcmp(a, "NULL") != 0 && strcmp(a, b) == 0 &&
           qsC_bool(c, typeidx, "timezone") == qsC_bool(c, lua_gettop(L), "timezone");
  }
  lua_pop(L, 1);
  return same;
}

void qsC_text_in_mark(qsC *c, int typeidx) {
  lua_State *L = c->L;
  int info = last_info(c);
  size_t at = c->b->len;
  empty_single(c, typeidx);
  cut_since(c, at);
  lua_setfield(L, info, "empty");
  lua_pop(L, 1);
}

/* Values written inline (literal mode): "(v, ...)", tuples "((a, b), ...)",
** an empty list the empty set. */
static void literal_list(qsC *c, int bind, int types, int width) {
  lua_State *L = c->L;
  int vals, i, j, n, typeidx;
  if (qsC_field(c, bind, "type") == LUA_TTABLE) typeidx = lua_gettop(L);
  else typeidx = 0;
  lua_getfield(L, bind, "value");
  vals = lua_gettop(L);
  if (!lua_istable(L, vals)) qsC_error(c, QS_ARGUMENT, "an expanding bind parameter in literal mode needs a list value");
  lua_pushliteral(L, "n");   /* a list's own length (qs lists may carry n): no node field */
  lua_rawget(L, vals);
  n = lua_isnumber(L, -1) ? (int)lua_tointeger(L, -1) : (int)lua_rawlen(L, vals);
  lua_pop(L, 1);
  if (n == 0) {
    if (width) empty_tuple(c, types, width);
    else empty_single(c, typeidx);
    lua_pop(L, 2);
    return;
  }
  qsC_puts(c, width && qs_dialect_form(c->d, QS_FORM_TUPLE_IN_VALUES) ? "(VALUES " : "(");
  for (i = 1; i <= n; i++) {
    if (i > 1) qsC_puts(c, ", ");
    lua_rawgeti(L, vals, i);
    if (width) {
      int row = lua_gettop(L);
      if (!lua_istable(L, row)) qsC_error(c, QS_ARGUMENT, "tuple IN: element %d is not a list", i);
      qs_buf_putc(c->b, '(');
      for (j = 1; j <= width; j++) {
        if (j > 1) qsC_puts(c, ", ");
        lua_createtable(L, 0, 2);
        lua_rawgeti(L, row, j);
        lua_setfield(L, -2, "value");
        lua_rawgeti(L, types, j);
        if (lua_istable(L, -1)) lua_setfield(L, -2, "type");
        else lua_pop(L, 1);   /* an untyped member: written by its value */
        qsC_bind(c, lua_gettop(L));
        lua_pop(L, 1);
      }
      qs_buf_putc(c->b, ')');
    } else {
      lua_createtable(L, 0, 2);
      lua_pushvalue(L, -2);
      lua_setfield(L, -2, "value");
      if (typeidx) {
        lua_pushvalue(L, typeidx);
        lua_setfield(L, -2, "type");
      }
      qsC_bind(c, lua_gettop(L));
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
  }
  qs_buf_putc(c->b, ')');
  lua_pop(L, 2);
}

void qsC_in_expanding(qsC *c, int idx, int bind) {
  lua_State *L = c->L;
  int top = lua_gettop(L), left, types = 0, width = 0, info, j;
  if (qsC_kind(L, bind) != QSK_BIND) qsC_malformed(c, idx, "expanding", "a BIND node", lua_type(L, bind));
  qsC_field(c, idx, "left");
  left = lua_gettop(L);
  if (qsC_kind(L, left) == QSK_TUPLE) {
    /* the members' types, from the tuple on the left */
    width = qsC_list_field(c, left, "clauses");
    lua_createtable(L, width, 0);
    types = lua_gettop(L);
    for (j = 1; j <= width; j++) {
      lua_rawgeti(L, -2, j);
      if (qsC_field(c, lua_gettop(L), "type") != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_pushboolean(L, 0);
      }
      lua_rawseti(L, types, j);
      lua_pop(L, 1);
    }
  }
  if (c->literal_binds) {
    literal_list(c, bind, types, width);
    lua_settop(L, top);
    return;
  }
  {
    int off = 0, typeidx = 0;
    if (!width) {
      if (qsC_field(c, bind, "type") == LUA_TTABLE) typeidx = lua_gettop(L);
      off = typed_next_to(c, typeidx, left);
    }
    c->bind_cast_off += off;
    c->mark_kind = QSC_MARK_IN;
    qsC_bind(c, bind);
    c->mark_kind = QSC_MARK_PLAIN;
    c->bind_cast_off -= off;
    info = last_info(c);
    {
      size_t at = c->b->len;
      if (width) empty_tuple(c, types, width);
      else empty_single(c, typeidx);
      cut_since(c, at);
      lua_setfield(L, info, "empty");
    }
  }
  if (width) {
    /* per member: its type (checks and converters) and its cast */
    lua_pushinteger(L, width);
    lua_setfield(L, info, "width");
    lua_pushvalue(L, types);
    lua_setfield(L, info, "types");
    {
      int casts, clauses;
      lua_createtable(L, width, 0);
      casts = lua_gettop(L);
      qsC_list_field(c, left, "clauses");
      clauses = lua_gettop(L);
      for (j = 1; j <= width; j++) {
        size_t at = c->b->len;
        int tj, mj;
        lua_rawgeti(L, types, j);
        tj = lua_gettop(L);
        lua_rawgeti(L, clauses, j);
        mj = lua_gettop(L);
        /* a member that is itself a parameter gives the server no type */
        if (c->d->xBindCast && lua_istable(L, tj) && !typed_next_to(c, tj, mj)) {
          qs_type_desc t;
          qsC_type_desc(c, tj, &t);
          if (t.kind && strcmp(t.kind, "NULL") != 0) c->d->xBindCast(c->d, c->b, &t, 0);
        }
        lua_pop(L, 2);
        cut_since(c, at);
        lua_rawseti(L, casts, j);
      }
      lua_pop(L, 1);
    }
    lua_setfield(L, info, "casts");
    if (qs_dialect_form(c->d, QS_FORM_TUPLE_IN_VALUES)) {
      lua_pushliteral(L, "VALUES ");
      lua_setfield(L, info, "prefix");
    }
  }
  lua_settop(L, top);
}

void qsC_expanding_alone(qsC *c, int idx) {
  size_t n;
  const char *key = qsC_string_opt(c, idx, "key", &n);
  qsC_error(c, QS_COMPILE,
            "bind parameter '%s' is expanding (a list for IN): it can stand only on the right of in_()",
            key ? key : "?");
}

void qsC_tuple(qsC *c, int idx) {
  if (qsC_list_field(c, idx, "clauses") == 0) qsC_error(c, QS_COMPILE, "an empty tuple_()");
  lua_pop(c->L, 1);
  qs_buf_putc(c->b, '(');
  qsC_list(c, idx, "clauses", ", ", 0);
  qs_buf_putc(c->b, ')');
}

void qsC_push_marks(qsC *c) {
  lua_State *L = c->L;
  size_t i, n;
  if (c->marks->failed) qsC_error(c, QS_NOMEM, "out of memory");
  if (c->nexpand == 0) return;
  n = c->marks->len / sizeof(mark);
  lua_createtable(L, (int)n, 1);
  for (i = 0; i < n; i++) {
    mark m;
    memcpy(&m, c->marks->p + i * sizeof m, sizeof m);
    if (m.info) lua_rawgeti(L, c->expinfo, m.info);
    else lua_createtable(L, 0, 5);
    /* 1-based byte positions: s the first byte, p the placeholder's last, e the cast's last */
    lua_pushinteger(L, (lua_Integer)m.start + 1);
    lua_setfield(L, -2, "s");
    lua_pushinteger(L, (lua_Integer)m.phend);
    lua_setfield(L, -2, "p");
    lua_pushinteger(L, (lua_Integer)m.stop);
    lua_setfield(L, -2, "e");
    lua_pushinteger(L, m.pos);
    lua_setfield(L, -2, "pos");
    lua_pushinteger(L, m.kind);
    lua_setfield(L, -2, "kind");
    lua_rawseti(L, -2, (int)i + 1);
  }
  lua_pushboolean(L, qs_dialect_numbered(c->d));
  lua_setfield(L, -2, "numbered");
  lua_setfield(L, -2, "expand");
}
