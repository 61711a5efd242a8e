/*
** stmt.c: SELECT (columns, FROM with joins and correlation, WHERE,
** GROUP BY, HAVING, ORDER BY, LIMIT/OFFSET, FOR UPDATE), compounds and WITH.
** INSERT, UPDATE and DELETE are in dml.c.
*/
#include "compile.h"

#include <string.h>

void qsC_list(qsC *c, int idx, const char *name, const char *sep, int prec);

/* "__none" stands for a table without a schema, as a key of the map and as a value
** (SQLAlchemy's None); the map's keys and values are strings (checked by the Lua front). */
const char *qsC_schema(qsC *c, const char *schema, size_t *n) {
  lua_State *L = c->L;
  const char *s;
  if (!c->schema_map) return schema;
  if (schema) lua_pushlstring(L, schema, *n);
  else lua_pushliteral(L, "__none");
  lua_rawget(L, c->schema_map);
  if (lua_type(L, -1) != LUA_TSTRING) {
    lua_pop(L, 1);
    return schema;
  }
  s = lua_tolstring(L, -1, n);
  lua_pop(L, 1);   /* the map keeps the string alive */
  return strcmp(s, "__none") == 0 ? NULL : s;
}

void qsC_table_name(qsC *c, int idx) {
  size_t n;
  const char *schema = qsC_string(c, idx, "schema", &n);
  const char *name;
  schema = qsC_schema(c, schema, &n);
  if (schema) {
    qsC_ident(c, schema, n);
    qs_buf_putc(c->b, '.');
  }
  name = qsC_string(c, idx, "name", &n);
  if (name == NULL) qsC_error(c, QS_COMPILE, "table without a name");
  qsC_ident(c, name, n);
}

static void from_element(qsC *c, int idx);
static void alias_from(qsC *c, int idx);

void qsC_join(qsC *c, int idx) {
  lua_State *L = c->L;
  int isouter = qsC_bool(c, idx, "isouter"), full = qsC_bool(c, idx, "full");
  qsC_field(c, idx, "left");
  qsC_from(c, lua_gettop(L));
  lua_pop(L, 1);
  if (full) {
    if (!qs_dialect_can(c->d, QS_CAP(FULL_JOIN)))
      qsC_error(c, QS_COMPILE, "FULL OUTER JOIN is not supported by dialect %s", c->d->name);
    qsC_puts(c, " FULL OUTER JOIN ");
  } else {
    qsC_puts(c, isouter ? " LEFT OUTER JOIN " : " JOIN ");
  }
  qsC_field(c, idx, "right");
  qsC_from(c, lua_gettop(L));
  lua_pop(L, 1);
  if (qsC_field(c, idx, "onclause") != LUA_TNIL) {
    qsC_puts(c, " ON ");
    qsC_expr(c, lua_gettop(L));
  }
  lua_pop(L, 1);
}

/* Whether a subquery's FROM element at idx reads the table at
** c->derive_target (itself or an alias of it). */
static int reads_target(qsC *c, int idx) {
  lua_State *L = c->L;
  int k = qsC_kind(L, idx), hit;
  if (c->derive_target == 0 || c->depth < 2) return 0;   /* a USING self-join is fine */
  if (k == QSK_TABLE) return lua_rawequal(L, idx, c->derive_target);
  if (k != QSK_ALIAS) return 0;
  lua_getfield(L, idx, "element");
  hit = lua_rawequal(L, -1, c->derive_target);
  lua_pop(L, 1);
  return hit;
}

void qsC_from(qsC *c, int idx) {
  lua_State *L = c->L;
  idx = lua_absindex(L, idx);
  qsC_enter(c);
  from_element(c, idx);
  qsC_leave(c);
}

static void from_element(qsC *c, int idx) {
  lua_State *L = c->L;
  size_t n;
  const char *name;
  if (reads_target(c, idx)) {
    /* MySQL refuses a subquery reading the target of a multi-table DELETE
    ** (error 1093) unless it reads a derived table: (SELECT * FROM t) AS t */
    qsC_puts(c, "(SELECT * FROM ");
    qsC_table_name(c, c->derive_target);
    qsC_puts(c, ") AS ");
    if (qsC_kind(L, idx) == QSK_ALIAS) name = qsC_alias_name(c, idx, &n);
    else name = qsC_name(c, idx, "name", &n);
    qsC_ident(c, name, n);
    return;
  }
  switch (qsC_kind(L, idx)) {
    case QSK_TABLE: qsC_table_name(c, idx); break;
    case QSK_JOIN: qsC_join(c, idx); break;
    case QSK_ALIAS: alias_from(c, idx); break;
    case QSK_TEXT: qsC_text(c, idx); break;
    case QSK_CTE:
      name = qsC_name(c, idx, "name", &n);
      qsC_ident(c, name, n);
      break;
    default: qsC_error(c, QS_ARGUMENT, "a %s is not a FROM element", qsC_kind(L, idx) ? qsC_kind_name(L, idx)
                                                                      : luaL_typename(L, idx));
  }
}

/* The name of the i-th column of the ALIAS at idx (its `columns`). */
static const char *alias_column(qsC *c, int idx, int i, size_t *n) {
  lua_State *L = c->L;
  const char *name;
  qsC_field(c, idx, "columns");
  qsC_need_table(c, -1, idx, "columns");
  lua_rawgeti(L, -1, i);
  name = qsC_name(c, lua_gettop(L), "name", n);
  lua_pop(L, 2);
  return name;
}

/* "(a, b)": the alias's column names (a VALUES list's or render_derived's). */
static void derived_columns(qsC *c, int idx, int ncols) {
  int i;
  qs_buf_putc(c->b, '(');
  for (i = 1; i <= ncols; i++) {
    size_t n;
    const char *name = alias_column(c, idx, i, &n);
    if (i > 1) qsC_puts(c, ", ");
    qsC_ident(c, name, n);
  }
  qs_buf_putc(c->b, ')');
}

/* The number of columns of the ALIAS at idx. */
static int alias_ncols(qsC *c, int idx) {
  int n = qsC_list_field(c, idx, "columns");
  lua_pop(c->L, 1);
  return n;
}

/*
** values(...):data({...}) as a FROM (the VALUES node at vidx, aliased by the
** ALIAS at idx), as the dialect spells it: (VALUES (..), (..)) with the
** column names after the alias (PostgreSQL), SELECT column1 AS a, .. FROM
** (VALUES ..) (SQLite, whose VALUES names its columns column1..), else a
** SELECT per row joined by UNION ALL (MySQL, MariaDB: no column list on a
** derived table). Values are parameters typed where the server cannot
** infer them (PostgreSQL); literal_binds writes them inline.
*/
static void values_body(qsC *c, int vidx, int idx) {
  lua_State *L = c->L;
  int r, i, nrows, ncols = alias_ncols(c, idx), rows, literal = qsC_bool(c, vidx, "literal_binds");
  int list = qs_dialect_form(c->d, QS_FORM_VALUES_COLUMN_LIST), numbered = qs_dialect_form(c->d, QS_FORM_VALUES_NUMBERED);
  nrows = qsC_list_field(c, vidx, "_rows");
  rows = lua_gettop(L);
  if (nrows == 0) qsC_error(c, QS_ARGUMENT, "values(): no rows (give them with :data({...}))");
  if (ncols == 0) qsC_error(c, QS_ARGUMENT, "values(): no columns");
  c->literal_binds += literal;
  c->bind_cast_all++;
  qs_buf_putc(c->b, '(');
  if (numbered) {
    qsC_puts(c, "SELECT ");
    for (i = 1; i <= ncols; i++) {
      size_t n;
      const char *name = alias_column(c, idx, i, &n);
      if (i > 1) qsC_puts(c, ", ");
      qs_buf_printf(c->b, "column%d AS ", i);
      qsC_ident(c, name, n);
    }
    qsC_puts(c, " FROM (");
  }
  if (list || numbered) qsC_puts(c, "VALUES ");
  for (r = 1; r <= nrows; r++) {
    lua_rawgeti(L, rows, r);
    qsC_need_table(c, -1, vidx, "_rows");
    if ((int)lua_rawlen(L, -1) != ncols)
      qsC_error(c, QS_ARGUMENT, "values(): row %d has %d values for %d columns", r, (int)lua_rawlen(L, -1), ncols);
    if (list || numbered) qsC_puts(c, r > 1 ? ", (" : "(");
    else qsC_puts(c, r > 1 ? " UNION ALL SELECT " : "SELECT ");
    for (i = 1; i <= ncols; i++) {
      if (i > 1) qsC_puts(c, ", ");
      lua_rawgeti(L, -1, i);
      qsC_expr(c, lua_gettop(L));
      lua_pop(L, 1);
      if (!list && !numbered && r == 1) {
        size_t n;
        const char *name = alias_column(c, idx, i, &n);
        qsC_puts(c, " AS ");
        qsC_ident(c, name, n);
      }
    }
    if (list || numbered) qs_buf_putc(c->b, ')');
    lua_pop(L, 1);
  }
  if (numbered) qs_buf_putc(c->b, ')');
  qs_buf_putc(c->b, ')');
  c->bind_cast_all--;
  c->literal_binds -= literal;
  lua_pop(L, 1);
}

/* A subquery in FROM: it correlates with nothing outside, unless LATERAL,
** which sees the FROMs to its left (those of the SELECT it stands in). */
static void subquery_from(qsC *c, int sel, int lateral) {
  lua_State *L = c->L;
  int saved = c->depth;
  qs_buf_putc(c->b, '(');
  if (!lateral) {
    lua_newtable(L);
    lua_rawseti(L, c->enclosing, (int)lua_rawlen(L, c->enclosing) + 1);
  }
  qsC_any_select(c, sel);
  c->depth = saved;
  if (!lateral) {
    lua_pushnil(L);
    lua_rawseti(L, c->enclosing, (int)lua_rawlen(L, c->enclosing));
  }
  qs_buf_putc(c->b, ')');
}

/* An ALIAS as a FROM element: of a table (maybe TABLESAMPLE), a SELECT or
** compound (maybe LATERAL), a VALUES list, a table-valued function or a
** text():columns() statement; then AS its name. */
static void alias_from(qsC *c, int idx) {
  lua_State *L = c->L;
  size_t n;
  const char *name;
  int el, k, lateral = qsC_bool(c, idx, "_lateral"), derived = qsC_bool(c, idx, "_render_derived");
  qsC_field(c, idx, "element");
  el = lua_gettop(L);
  k = qsC_kind(L, el);
  if (lateral) {
    if (!qs_dialect_can(c->d, QS_CAP(LATERAL)))
      qsC_error(c, QS_COMPILE, "LATERAL is not supported by dialect %s", c->d->name);
    if (k != QSK_SELECT && k != QSK_COMPOUND) qsC_error(c, QS_ARGUMENT, "LATERAL takes a SELECT");
    qsC_puts(c, "LATERAL ");
  }
  switch (k) {
    case QSK_TABLE: qsC_table_name(c, el); break;
    case QSK_VALUES: values_body(c, el, idx); break;
    case QSK_TEXT:
      qs_buf_putc(c->b, '(');
      qsC_text(c, el);
      qs_buf_putc(c->b, ')');
      break;
    case QSK_FUNCTION:
      if (!qs_dialect_can(c->d, QS_CAP(TABLE_VALUED)))
        qsC_error(c, QS_COMPILE, "a table-valued function in FROM (%s(...)) is not supported by dialect %s "
                                 "(its JSON_TABLE has another form)",
                  qsC_name(c, el, "name", &n), c->d->name);
      qsC_expr(c, el);
      break;
    default: subquery_from(c, el, lateral); break;
  }
  lua_pop(L, 1);
  name = qsC_alias_name(c, idx, &n);
  qsC_puts(c, " AS ");
  qsC_ident(c, name, n);
  if (k == QSK_VALUES && qs_dialect_form(c->d, QS_FORM_VALUES_COLUMN_LIST)) {
    qs_buf_putc(c->b, ' ');
    derived_columns(c, idx, alias_ncols(c, idx));
  } else if (k == QSK_FUNCTION && derived) {
    derived_columns(c, idx, alias_ncols(c, idx));
  }
  if (qsC_field(c, idx, "_sample_method") != LUA_TNIL) {
    if (!qs_dialect_can(c->d, QS_CAP(TABLESAMPLE)))
      qsC_error(c, QS_COMPILE, "TABLESAMPLE is not supported by dialect %s", c->d->name);
    qsC_puts(c, " TABLESAMPLE ");
    qsC_expr(c, lua_gettop(L));
    if (qsC_field(c, idx, "_sample_seed") != LUA_TNIL) {
      qsC_puts(c, " REPEATABLE (");
      qsC_expr(c, lua_gettop(L));
      qs_buf_putc(c->b, ')');
    }
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
}

/* Adds the FROM element at idx (and the tables inside a join) to the set at
** setidx. */
void qsC_add_froms(qsC *c, int setidx, int idx) {
  lua_State *L = c->L;
  idx = lua_absindex(L, idx);
  if (lua_isnil(L, idx)) return;   /* a DML statement without a table: target() says so */
  if (lua_isnumber(L, idx) && lua_tonumber(L, idx) != lua_tonumber(L, idx))
    qsC_error(c, QS_ARGUMENT, "malformed statement: NaN where a FROM element was expected");
  qsC_enter(c);   /* a join nested in itself recurses here */
  lua_pushvalue(L, idx);
  lua_pushboolean(L, 1);
  lua_rawset(L, setidx);
  if (qsC_kind(L, idx) == QSK_JOIN) {
    qsC_field(c, idx, "left");
    qsC_add_froms(c, setidx, -1);
    lua_pop(L, 1);
    qsC_field(c, idx, "right");
    qsC_add_froms(c, setidx, -1);
    lua_pop(L, 1);
  }
  qsC_leave(c);
}

/* Whether the FROM at idx belongs to an enclosing SELECT (auto-correlation). */
static int enclosed(qsC *c, int idx) {
  lua_State *L = c->L;
  int i, n = (int)lua_rawlen(L, c->enclosing), found = 0;
  for (i = n; i >= 1 && !found; i--) {
    lua_rawgeti(L, c->enclosing, i);
    lua_pushvalue(L, idx);
    found = qsL_rawget(L, -2) != LUA_TNIL;
    lua_pop(L, 2);
    /* an empty set marks a FROM subquery: nothing beyond it correlates */
    lua_rawgeti(L, c->enclosing, i);
    lua_pushnil(L);
    if (!lua_next(L, -2)) {
      lua_pop(L, 1);
      break;
    }
    lua_pop(L, 3);
  }
  return found;
}

/* Whether the FROM at idx was named in select:correlate(...). */
static int in_list(lua_State *L, int listidx, int idx) {
  int i, n = (int)lua_rawlen(L, listidx);
  for (i = 1; i <= n; i++) {
    int eq;
    lua_rawgeti(L, listidx, i);
    eq = lua_rawequal(L, -1, idx);
    lua_pop(L, 1);
    if (eq) return 1;
  }
  return 0;
}

/*
** The words prefix_with(...) or suffix_with(...) put after the statement's
** keyword (or at its end): the list at list, each followed (prefix) or
** preceded (suffix) by a space; those given for one dialect (the table at
** dl: index -> its name) only there. Programmer's SQL, checked to be words only (letters,
** digits, _ and spaces) here as in Lua: never user data.
*/
static void words(qsC *c, int list, int dl, int suffix) {
  lua_State *L = c->L;
  int i, n;
  if (lua_isnil(L, list)) return;
  if (!lua_istable(L, list)) qsC_error(c, QS_ARGUMENT, "malformed statement: its prefixes or suffixes are no list");
  n = (int)lua_rawlen(L, list);
  for (i = 1; i <= n; i++) {
    size_t len, j;
    const char *w;
    int skip = 0;
    if (lua_istable(L, dl)) {
      lua_rawgeti(L, dl, i);
      if (lua_type(L, -1) == LUA_TSTRING) skip = !qs_dialect_named(c->d, lua_tostring(L, -1));
      lua_pop(L, 1);
    }
    lua_rawgeti(L, list, i);
    if (lua_type(L, -1) != LUA_TSTRING)
      qsC_error(c, QS_ARGUMENT, "malformed statement: a prefix or suffix is a %s, not a string", luaL_typename(L, -1));
    w = lua_tolstring(L, -1, &len);
    for (j = 0; j < len; j++) {
      char ch = w[j];
      if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == ' '))
        qsC_error(c, QS_ARGUMENT, "%s: '%s' is not words (letters, digits, _ and spaces)",
                  suffix ? "suffix_with" : "prefix_with", w);
    }
    if (!skip && len > 0) {
      if (suffix) qs_buf_putc(c->b, ' ');
      qs_buf_append(c->b, w, len);
      if (!suffix) qs_buf_putc(c->b, ' ');
    }
    lua_pop(L, 1);
  }
}

void qsC_prefix_words(qsC *c, int idx) {
  qsC_field(c, idx, "_prefixes");
  qsC_field(c, idx, "_prefix_dialects");
  words(c, lua_gettop(c->L) - 1, lua_gettop(c->L), 0);
  lua_pop(c->L, 2);
}

static void suffix_words(qsC *c, int idx) {
  qsC_field(c, idx, "_suffixes");
  qsC_field(c, idx, "_suffix_dialects");
  words(c, lua_gettop(c->L) - 1, lua_gettop(c->L), 1);
  lua_pop(c->L, 2);
}

/* Records a result column of the outermost SELECT. */
void qsC_result_column(qsC *c, const char *name, size_t n, int expridx) {
  lua_State *L = c->L;
  if (c->depth != 1 || c->no_result) return;
  c->nresult++;
  lua_pushlstring(L, name, n);
  lua_rawseti(L, c->rnames, c->nresult);
  if (qsC_field(c, expridx, "type") == LUA_TTABLE) lua_rawseti(L, c->rtypes, c->nresult);
  else lua_pop(L, 1);
}

/* A bare parameter as a column: PostgreSQL cannot infer its type, so it is
** cast to its type, strings included ($1::VARCHAR). */
static void typed_bind(qsC *c, int idx) {
  c->bind_cast_all++;
  qsC_expr(c, idx);
  c->bind_cast_all--;
}

/*
** Marks name taken among a SELECT's column names (the set at used); 1 when
** it already was. In a subquery (depth > 1: FROM, CTE, LATERAL, ...) a
** column whose name is taken is labelled name_1, name_2, .. (the first free
** one), as SQLAlchemy 2.0 disambiguates select(users.c.id, addresses.c.id),
** so the subquery's .c (Select:_result_columns) names real columns. The
** outermost SELECT's SQL stays as written: its result keys are
** disambiguated the same way from the result names (compiler.lua).
*/
static int take_name(lua_State *L, int used, const char *name, size_t len) {
  int taken;
  lua_pushlstring(L, name, len);
  lua_pushvalue(L, -1);
  taken = qsL_rawget(L, used) != LUA_TNIL;
  lua_pop(L, 1);
  lua_pushboolean(L, 1);
  lua_rawset(L, used);
  return taken;
}

/* The first free name_N for a taken name, marked taken (anchored by the set). */
static const char *free_name(lua_State *L, int used, const char *name, size_t *len) {
  int k;
  for (k = 1;; k++) {
    const char *s = lua_pushfstring(L, "%s_%d", name, k);
    lua_pushvalue(L, -1);
    if (qsL_rawget(L, used) == LUA_TNIL) {
      lua_pop(L, 1);
      lua_pushboolean(L, 1);
      lua_rawset(L, used);   /* the set keeps s alive */
      *len = strlen(s);
      return s;
    }
    lua_pop(L, 2);
  }
}

static void columns_clause(qsC *c, int idx) {
  lua_State *L = c->L;
  int i, n, used;
  n = qsC_list_field(c, idx, "columns");
  if (n == 0) qsC_error(c, QS_COMPILE, "SELECT without columns");
  if (c->depth > 1) lua_newtable(L);   /* the names taken: only a subquery relabels */
  else lua_pushnil(L);
  used = lua_gettop(L);
  lua_insert(L, used - 1);   /* below the list, which the loop reads at -1 */
  used--;
  for (i = 1; i <= n; i++) {
    int col, k;
    size_t len;
    const char *name;
    if (i > 1) qsC_puts(c, ", ");
    lua_rawgeti(L, -1, i);
    col = lua_gettop(L);
    k = qsC_kind(L, col);
    if (k == QSK_LABEL) {
      name = qsC_string(c, col, "name", &len);
      if (name == NULL) name = qsC_anon_name(c, col, "anon"), len = strlen(name);
      qsC_field(c, col, "element");
      if (qsC_kind(L, -1) == QSK_BIND && c->d->xBindCast && !c->literal_binds)
        typed_bind(c, lua_gettop(L));
      else
        qsC_expr(c, lua_gettop(L));
      lua_pop(L, 1);
      qsC_puts(c, " AS ");
      qsC_ident(c, name, len);
      if (c->depth > 1) take_name(L, used, name, len);
      qsC_result_column(c, name, len, col);
    } else if (k == QSK_COLUMN) {
      qsC_expr(c, col);
      name = qsC_string(c, col, "name", &len);
      if (name && c->depth > 1 && take_name(L, used, name, len)) {
        name = free_name(L, used, name, &len);
        qsC_puts(c, " AS ");
        qsC_ident(c, name, len);
      }
      qsC_result_column(c, name, len, col);
    } else if (k == QSK_BIND && c->d->xBindCast && !c->literal_binds) {
      /* a bare parameter as a column: the server cannot infer its type */
      typed_bind(c, col);
      lua_newtable(L);
      name = qsC_anon_name(c, lua_gettop(L), "anon");
      lua_pop(L, 1);
      len = strlen(name);
      qsC_puts(c, " AS ");
      qsC_ident(c, name, len);
      qsC_result_column(c, name, len, col);
    } else if (k == QSK_STAR || k == QSK_TEXT || k == QSK_LITERAL_COLUMN) {
      qsC_expr(c, col);
      if (c->depth == 1) c->result_unknown = 1;   /* names come from the cursor */
    } else {
      /* anonymous expressions get a label, as SQLAlchemy's count_1 */
      const char *base = "anon";
      if (k == QSK_FUNCTION) {
        base = qsC_string(c, col, "name", &len);
        if (base == NULL || strchr(base, '.')) base = "anon";
      }
      qsC_expr(c, col);
      /* a fresh anchor: the node itself may already name a bind (param_1) */
      lua_newtable(L);
      name = qsC_anon_name(c, lua_gettop(L), base);
      lua_pop(L, 1);
      len = strlen(name);
      qsC_puts(c, " AS ");
      qsC_ident(c, name, len);
      qsC_result_column(c, name, len, col);
    }
    lua_pop(L, 1);
  }
  lua_pop(L, 2);   /* the list and the names taken */
}

/* " KEYWORD a, b" for a non-empty list field (GROUP BY, ORDER BY), where a
** label stands for its name; unqualified for ORDER BY over a compound. */
static void keyword_list(qsC *c, int idx, const char *field, const char *keyword, int unqualified) {
  lua_State *L = c->L;
  if (qsC_list_field(c, idx, field) > 0) {
    c->label_refs++;
    c->unqualified += unqualified;
    qsC_puts(c, keyword);
    qsC_list(c, idx, field, ", ", 0);
    c->unqualified -= unqualified;
    c->label_refs--;
  }
  lua_pop(L, 1);
}

/* The LIMIT and OFFSET expressions a dialect's xLimit asks for (typed by
** where they stand). */
typedef struct limit_parts {
  qsC *c;
  int lim, off;
} limit_parts;

static void render_limit_part(void *ud, qs_part part, qs_place place) {
  limit_parts *p = ud;
  (void)place;
  if (part == QS_PART_LIMIT) qsC_expr_inferred(p->c, p->lim);
  else if (part == QS_PART_OFFSET) qsC_expr_inferred(p->c, p->off);
  else qsC_error(p->c, QS_COMPILE, "no such part of LIMIT");
}

/*
** fetch(n): OFFSET n ROWS FETCH FIRST n ROWS ONLY / WITH TIES where the
** dialect has it; elsewhere plain fetch(n) is the LIMIT it means, and WITH
** TIES is refused by name. PERCENT no database here has (PostgreSQL's
** grammar has none): refused. lim: the count; off: the offset or nil.
*/
static void fetch_first(qsC *c, int idx, int lim, int off) {
  int ties = qsC_bool(c, idx, "_fetch_ties");
  if (qsC_bool(c, idx, "_fetch_percent"))
    qsC_error(c, QS_COMPILE, "FETCH FIRST ... PERCENT is not supported by dialect %s", c->d->name);
  if (qs_dialect_can(c->d, QS_CAP(FETCH_FIRST))) {
    if (!lua_isnil(c->L, off)) {
      qsC_puts(c, " OFFSET ");
      qsC_expr_inferred(c, off);
      qsC_puts(c, " ROWS");
    }
    qsC_puts(c, " FETCH FIRST ");
    qsC_expr_inferred(c, lim);
    qsC_puts(c, ties ? " ROWS WITH TIES" : " ROWS ONLY");
    return;
  }
  if (ties) qsC_error(c, QS_COMPILE, "FETCH FIRST ... WITH TIES is not supported by dialect %s", c->d->name);
  {
    limit_parts lp;
    qs_parts parts;
    lp.c = c, lp.lim = lim, lp.off = off;
    parts.render = render_limit_part, parts.ud = &lp;
    c->d->xLimit(c->d, c->b, 1, !lua_isnil(c->L, off), &parts);
  }
}

static void limit_offset(qsC *c, int idx) {
  lua_State *L = c->L;
  int lim, off;
  if (qsC_field(c, idx, "_fetch") != LUA_TNIL) {
    lim = lua_gettop(L);
    lua_getfield(L, idx, "_offset");
    fetch_first(c, idx, lim, lua_gettop(L));
    lua_pop(L, 2);
    return;
  }
  lua_pop(L, 1);
  lua_getfield(L, idx, "_limit");
  lim = lua_gettop(L);
  lua_getfield(L, idx, "_offset");
  off = lua_gettop(L);
  if (!lua_isnil(L, lim) || !lua_isnil(L, off)) {
    limit_parts lp;
    qs_parts parts;
    lp.c = c, lp.lim = lim, lp.off = off;
    parts.render = render_limit_part, parts.ud = &lp;
    c->d->xLimit(c->d, c->b, !lua_isnil(L, lim), !lua_isnil(L, off), &parts);
  }
  lua_pop(L, 2);
}

/* FOR UPDATE OF's names: each FROM element the "of" list at the top of the
** stack holds (a table without its schema, an alias by its name). */
static void render_lock_part(void *ud, qs_part part, qs_place place) {
  qsC *c = ud;
  lua_State *L = c->L;
  int i, n, of = lua_gettop(L);
  (void)place;
  if (part != QS_PART_OF) qsC_error(c, QS_COMPILE, "no such part of FOR UPDATE");
  n = lua_istable(L, of) ? (int)lua_rawlen(L, of) : 0;
  for (i = 1; i <= n; i++) {
    size_t len = 0;
    const char *name;
    if (i > 1) qsC_puts(c, ", ");
    lua_rawgeti(L, of, i);
    if (qsC_kind(L, -1) == QSK_ALIAS) name = qsC_alias_name(c, lua_gettop(L), &len);
    else if (qsC_kind(L, -1) == QSK_TABLE) name = qsC_string(c, lua_gettop(L), "name", &len);
    else name = NULL;
    if (name == NULL) qsC_error(c, QS_COMPILE, "with_for_update: of must name tables or aliases");
    qsC_ident(c, name, len);
    lua_pop(L, 1);
  }
}

/*
** FOR UPDATE and its options as SQLAlchemy renders them per dialect (its
** xForUpdate), which refuses by name what the database has not rather
** than leaving it out. A dialect without the FOR_UPDATE capability locks
** otherwise (SQLite: the whole file): nothing is rendered.
*/
static void for_update(qsC *c, int idx) {
  lua_State *L = c->L;
  int t, rc;
  qs_lock_desc lock;
  qs_parts parts;
  qs_error err;
  if (!qs_dialect_can(c->d, QS_CAP(FOR_UPDATE))) return;
  if (qsC_field(c, idx, "_for_update") != LUA_TTABLE) {
    lua_pop(L, 1);
    return;
  }
  t = lua_gettop(L);
  lock.read = qsC_bool(c, t, "read");
  lock.nowait = qsC_bool(c, t, "nowait");
  lock.skip_locked = qsC_bool(c, t, "skip_locked");
  lock.key_share = qsC_bool(c, t, "key_share");
  qsC_field(c, t, "of");
  lock.of = lua_istable(L, -1) && lua_rawlen(L, -1) > 0;
  parts.render = render_lock_part, parts.ud = c;
  memset(&err, 0, sizeof err);
  rc = c->d->xForUpdate(c->d, c->b, &lock, &parts, &err);
  if (rc != QS_OK) qsC_fail(c, rc, &err);
  lua_pop(L, 2);
}

/* Pushes the FROM list of the SELECT at idx, derived lazily in Lua by its
** _final_froms. Called protected: a Lua error while deriving it (a
** malformed tree: a field of the wrong type, nesting beyond what the Lua
** walk takes) becomes an ArgumentError naming the SELECT; an error object
** (a qs.exc error, or a user's table) passes through as it is. The call
** runs Lua code that may change the tree; C holds no pointer into it here,
** and reads every field again after it. */
static void final_froms(qsC *c, int idx) {
  lua_State *L = c->L;
  int t = qsC_field(c, idx, "_final_froms");
  if (t != LUA_TFUNCTION) qsC_malformed(c, idx, "_final_froms", "a function", t);
  lua_pushvalue(L, idx);
  if (lua_pcall(L, 1, 1, 0) != 0) {
    if (lua_type(L, -1) != LUA_TSTRING) lua_error(L);
    if (strstr(lua_tostring(L, -1), "stack overflow"))   /* the Lua walk of a tree nested too deeply */
      qsC_error(c, QS_COMPILE, "statement nested deeper than %d levels (the compiler's limit, core.max_depth)",
                QS_MAX_DEPTH);
    qsC_error(c, QS_ARGUMENT, "malformed SELECT: its FROM list could not be derived: %s", lua_tostring(L, -1));
  }
  if (!lua_isnil(L, -1) && !lua_istable(L, -1))
    qsC_error(c, QS_ARGUMENT, "malformed SELECT: _final_froms returned a %s, not a list", luaL_typename(L, -1));
}

void qsC_select(qsC *c, int idx) {
  lua_State *L = c->L;
  int froms, set, i, n, written = 0, corr, except, depth_here;
  idx = lua_absindex(L, idx);
  if (qsC_kind(L, idx) != QSK_SELECT)
    qsC_error(c, QS_ARGUMENT, "expected a SELECT, not a %s", qsC_kind(L, idx) ? qsC_kind_name(L, idx)
                                                                               : luaL_typename(L, idx));
  qsC_enter(c);
  c->depth++;
  depth_here = c->depth;
  qsC_puts(c, "SELECT ");
  qsC_prefix_words(c, idx);
  if (qsC_bool(c, idx, "_distinct")) qsC_puts(c, "DISTINCT ");
  if (qsC_field(c, idx, "_distinct_on") == LUA_TTABLE) {
    if (!qs_dialect_can(c->d, QS_CAP(DISTINCT_ON)))
      qsC_error(c, QS_COMPILE, "DISTINCT ON is PostgreSQL's; dialect %s has no such form", c->d->name);
    qsC_puts(c, "DISTINCT ON (");
    qsC_list(c, idx, "_distinct_on", ", ", 0);
    qsC_puts(c, ") ");
  }
  lua_pop(L, 1);

  /* The FROM list decides correlation before the columns are written (a
  ** scalar subquery among the columns correlates to this SELECT). */
  final_froms(c, idx);
  froms = lua_gettop(L);
  lua_getfield(L, idx, "_correlate");
  corr = lua_gettop(L);
  lua_getfield(L, idx, "_correlate_except");
  except = lua_gettop(L);
  lua_newtable(L);
  set = lua_gettop(L);
  n = lua_istable(L, froms) ? (int)lua_rawlen(L, froms) : 0;
  lua_newtable(L);   /* the FROMs that will be written */
  for (i = 1; i <= n; i++) {
    int keep = 1;
    lua_rawgeti(L, froms, i);
    if (depth_here > 1) {
      if (lua_istable(L, corr)) keep = !in_list(L, corr, lua_gettop(L));
      else if (lua_istable(L, except))
        keep = !enclosed(c, lua_gettop(L)) || in_list(L, except, lua_gettop(L));
      else keep = !enclosed(c, lua_gettop(L));
    }
    if (keep) lua_rawseti(L, -2, (int)lua_rawlen(L, -2) + 1);
    else lua_pop(L, 1);
  }
  if (lua_rawlen(L, -1) == 0 && n > 0 && !lua_istable(L, except)) {
    /* correlating every FROM away would leave none: keep them all */
    lua_pop(L, 1);
    lua_pushvalue(L, froms);
  }
  lua_replace(L, froms);
  n = (int)lua_rawlen(L, froms);
  for (i = 1; i <= n; i++) {
    lua_rawgeti(L, froms, i);
    qsC_add_froms(c, set, -1);
    lua_pop(L, 1);
  }
  lua_pushvalue(L, set);
  lua_rawseti(L, c->enclosing, (int)lua_rawlen(L, c->enclosing) + 1);

  columns_clause(c, idx);
  for (i = 1; i <= n; i++) {
    qsC_puts(c, written++ ? ", " : " FROM ");
    lua_rawgeti(L, froms, i);
    qsC_from(c, lua_gettop(L));
    lua_pop(L, 1);
  }
  if (qsC_field(c, idx, "_where") != LUA_TNIL) {
    qsC_puts(c, " WHERE ");
    qsC_expr(c, lua_gettop(L));
  }
  lua_pop(L, 1);
  keyword_list(c, idx, "_group_by", " GROUP BY ", 0);
  if (qsC_field(c, idx, "_having") != LUA_TNIL) {
    qsC_puts(c, " HAVING ");
    qsC_expr(c, lua_gettop(L));
  }
  lua_pop(L, 1);
  keyword_list(c, idx, "_order_by", " ORDER BY ", 0);
  limit_offset(c, idx);
  for_update(c, idx);
  suffix_words(c, idx);
  lua_pushnil(L);
  lua_rawseti(L, c->enclosing, (int)lua_rawlen(L, c->enclosing));
  lua_settop(L, froms - 1);
  c->depth--;
  qsC_leave(c);
}

/* One member of a compound: a SELECT with its own ORDER BY or LIMIT needs
** parentheses, which SQLite does not parse there: it gets a subquery. */
static void compound_member(qsC *c, int idx) {
  lua_State *L = c->L;
  int own = 0;
  if (qsC_kind(L, idx) == QSK_SELECT) {
    lua_getfield(L, idx, "_order_by");
    own = lua_istable(L, -1) && lua_rawlen(L, -1) > 0;
    lua_getfield(L, idx, "_limit");
    own = own || !lua_isnil(L, -1);
    lua_getfield(L, idx, "_offset");
    own = own || !lua_isnil(L, -1);
    lua_pop(L, 3);
  } else {
    own = 1;   /* a nested compound */
  }
  if (!own) {
    qsC_any_select(c, idx);
  } else if (qs_dialect_form(c->d, QS_FORM_COMPOUND_SUBQUERY)) {
    qsC_puts(c, "SELECT * FROM (");
    qsC_any_select(c, idx);
    qs_buf_putc(c->b, ')');
  } else {
    qs_buf_putc(c->b, '(');
    qsC_any_select(c, idx);
    qs_buf_putc(c->b, ')');
  }
}

void qsC_compound(qsC *c, int idx) {
  static const char *const ops[] = {"UNION", "UNION ALL", "INTERSECT", "INTERSECT ALL", "EXCEPT",
                                    "EXCEPT ALL", NULL};
  lua_State *L = c->L;
  size_t n;
  const char *op;
  int i, count, j, ok = 0, saved = c->no_result;
  qsC_enter(c);
  op = qsC_string_opt(c, idx, "op", &n);
  for (j = 0; op && ops[j]; j++) ok = ok || strcmp(op, ops[j]) == 0;
  if (!ok) qsC_error(c, QS_COMPILE, "invalid set operation");
  if (strncmp(op, "UNION", 5) != 0 && !qs_dialect_can(c->d, QS_CAP(INTERSECT_EXCEPT)))
    qsC_error(c, QS_COMPILE, "%s is not supported by dialect %s", op, c->d->name);
  count = qsC_list_field(c, idx, "selects");
  for (i = 1; i <= count; i++) {
    if (i > 1) {
      qs_buf_putc(c->b, ' ');
      qsC_puts(c, op);
      qs_buf_putc(c->b, ' ');
      c->no_result = 1;   /* the first member names the columns */
    }
    lua_rawgeti(L, -1, i);
    compound_member(c, lua_gettop(L));
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  c->no_result = saved;
  keyword_list(c, idx, "_order_by", " ORDER BY ", 1);   /* over a compound: column names */
  limit_offset(c, idx);
  qsC_leave(c);
}

void qsC_any_select(qsC *c, int idx) {
  if (qsC_kind(c->L, idx) == QSK_COMPOUND) qsC_compound(c, idx);
  else qsC_select(c, idx);
}

void qsC_with(qsC *c, int ctes) {
  lua_State *L = c->L;
  int i, n = (int)lua_rawlen(L, ctes), recursive = 0, saved_depth = c->depth;
  if (n == 0) return;
  for (i = 1; i <= n; i++) {
    lua_rawgeti(L, ctes, i);
    if (qsC_kind(L, -1) != QSK_CTE) qsC_error(c, QS_ARGUMENT, "compile: ctes must list CTE nodes");
    recursive = qsC_bool(c, -1, "recursive") || recursive;
    lua_pop(L, 1);
  }
  qsC_puts(c, recursive ? "WITH RECURSIVE " : "WITH ");
  c->depth = 1;   /* CTE bodies name no result columns of the statement */
  c->no_result++;
  for (i = 1; i <= n; i++) {
    size_t len;
    const char *name;
    int cte;
    if (i > 1) qsC_puts(c, ", ");
    lua_rawgeti(L, ctes, i);
    cte = lua_gettop(L);
    name = qsC_name(c, cte, "name", &len);
    qsC_ident(c, name, len);
    qsC_puts(c, " AS (");
    qsC_field(c, cte, "element");
    qsC_any_select(c, lua_gettop(L));
    lua_pop(L, 2);
    qs_buf_putc(c->b, ')');
  }
  c->no_result--;
  c->depth = saved_depth;
  qs_buf_putc(c->b, ' ');
}
