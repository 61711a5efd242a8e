/*
** dml.c: INSERT, UPDATE and DELETE: the target table, VALUES and SET, the
** upsert clauses (ON CONFLICT, ON DUPLICATE KEY UPDATE), the other FROMs an
** UPDATE or DELETE refers to, and RETURNING. The SELECT side (FROM elements,
** correlation, prefixes) is stmt.c's.
*/
#include "compile.h"

#include <string.h>

/* RETURNING of an INSERT, UPDATE or DELETE (what), where the dialect has
** it for that statement (cap: its QS_CAP(..._RETURNING)). */
static void returning(qsC *c, int idx, const char *what, uint64_t cap) {
  lua_State *L = c->L;
  if (qsC_list_field(c, idx, "_returning") > 0) {
    int saved = c->depth;
    if (!qs_dialect_can(c->d, cap))
      qsC_error(c, QS_COMPILE, "RETURNING is not supported by dialect %s for %s", c->d->name, what);
    qsC_puts(c, " RETURNING ");
    /* RETURNING columns are the result columns of a DML statement */
    c->depth = 0;
    c->depth++;
    {
      int i, n = (int)lua_rawlen(L, -1);
      for (i = 1; i <= n; i++) {
        size_t len;
        const char *name;
        int k;
        if (i > 1) qsC_puts(c, ", ");
        lua_rawgeti(L, -1, i);
        k = qsC_kind(L, -1);
        if (k == QSK_LABEL) {
          name = qsC_string(c, lua_gettop(L), "name", &len);
          qsC_field(c, lua_gettop(L), "element");
          qsC_expr(c, lua_gettop(L));
          lua_pop(L, 1);
          qsC_puts(c, " AS ");
          qsC_ident(c, name, len);
        } else {
          qsC_expr(c, lua_gettop(L));
          name = k == QSK_COLUMN ? qsC_string(c, lua_gettop(L), "name", &len) : NULL;
          if (name == NULL) {
            lua_newtable(L);
            name = qsC_anon_name(c, lua_gettop(L), "anon");
            lua_pop(L, 1);
            len = strlen(name);
            qsC_puts(c, " AS ");
            qsC_ident(c, name, len);
          }
        }
        qsC_result_column(c, name, len, lua_gettop(L));
        lua_pop(L, 1);
      }
    }
    c->depth = saved;
  }
  lua_pop(L, 1);
}

/* The target table of a DML statement. */
static int target(qsC *c, int idx, const char *what) {
  if (qsC_field(c, idx, "table") != LUA_TTABLE)
    qsC_error(c, QS_COMPILE, "%s without a table", what);
  return lua_gettop(c->L);
}

/* "col = value" pairs or column names/values lists of INSERT/UPDATE. */
static int count_pairs(qsC *c, int idx) {
  int n = 0;
  n = qsC_list_field(c, idx, "_pairs");
  lua_pop(c->L, 1);
  return n;
}

static void pair_part(qsC *c, int idx, int i, int which) {
  lua_State *L = c->L;
  qsC_field(c, idx, "_pairs");
  lua_rawgeti(L, -1, i);
  qsC_need_table(c, -1, idx, "_pairs");
  lua_rawgeti(L, -1, which);
  if (which == 1) {
    size_t n;
    const char *name = qsC_name(c, lua_gettop(L), "name", &n);
    qsC_ident(c, name, n);
  } else {
    qsC_expr_inferred(c, lua_gettop(L));   /* the column gives the type */
  }
  lua_pop(L, 3);
}

/* SET a = value, ... from a list of {column, value} pairs at the top. */
static void set_pairs(qsC *c, const char *field, int idx) {
  lua_State *L = c->L;
  int i, n;
  n = qsC_list_field(c, idx, field);
  if (n == 0) qsC_error(c, QS_ARGUMENT, "an upsert needs values to set");
  for (i = 1; i <= n; i++) {
    size_t len;
    const char *name;
    if (i > 1) qsC_puts(c, ", ");
    lua_rawgeti(L, -1, i);
    qsC_need_table(c, -1, idx, field);
    lua_rawgeti(L, -1, 1);
    name = qsC_name(c, lua_gettop(L), "name", &len);
    qsC_ident(c, name, len);
    qsC_puts(c, " = ");
    lua_rawgeti(L, -2, 2);
    qsC_expr_inferred(c, lua_gettop(L));
    lua_pop(L, 3);
  }
  lua_pop(L, 1);
}

/* ON CONFLICT (PostgreSQL, SQLite) and ON DUPLICATE KEY UPDATE (MySQL). */
static void upsert(qsC *c, int idx) {
  lua_State *L = c->L;
  if (qsC_field(c, idx, "_on_conflict") == LUA_TTABLE) {
    int oc = lua_gettop(L);
    size_t n;
    const char *kind = qsC_string(c, oc, "kind", &n);
    const char *constraint = qsC_string(c, oc, "constraint", &n);
    if (c->d->upsert != QS_UPSERT_ON_CONFLICT)
      qsC_error(c, QS_COMPILE, "ON CONFLICT is not supported by dialect %s (use on_duplicate_key_update)", c->d->name);
    qsC_puts(c, " ON CONFLICT");
    if (constraint) {
      if (!qs_dialect_can(c->d, QS_CAP(ON_CONFLICT_CONSTRAINT)))
        qsC_error(c, QS_COMPILE, "ON CONFLICT ON CONSTRAINT is not supported by dialect %s", c->d->name);
      qsC_puts(c, " ON CONSTRAINT ");
      qsC_ident(c, constraint, n);
    } else if (qsC_field(c, oc, "index_elements") == LUA_TTABLE && lua_rawlen(L, -1) > 0) {
      qsC_puts(c, " (");
      c->unqualified++;
      qsC_list(c, oc, "index_elements", ", ", 0);
      c->unqualified--;
      qs_buf_putc(c->b, ')');
      lua_pop(L, 1);
    } else {
      lua_pop(L, 1);
      if (kind && strcmp(kind, "update") == 0)
        qsC_error(c, QS_ARGUMENT, "on_conflict_do_update needs index_elements or constraint");
    }
    if (kind && strcmp(kind, "update") == 0) {
      qsC_puts(c, " DO UPDATE SET ");
      set_pairs(c, "set_", oc);
      if (qsC_field(c, oc, "where") != LUA_TNIL) {
        qsC_puts(c, " WHERE ");
        qsC_expr(c, lua_gettop(L));
      }
      lua_pop(L, 1);
    } else {
      qsC_puts(c, " DO NOTHING");
    }
  }
  lua_pop(L, 1);
  if (qsC_field(c, idx, "_on_duplicate") == LUA_TTABLE) {
    if (c->d->upsert != QS_UPSERT_ON_DUPLICATE_KEY)
      qsC_error(c, QS_COMPILE, "ON DUPLICATE KEY UPDATE is not supported by dialect %s (use on_conflict_do_update)",
                c->d->name);
    qsC_puts(c, " ON DUPLICATE KEY UPDATE ");
    set_pairs(c, "_on_duplicate", idx);
  }
  lua_pop(L, 1);
}

/* FROM/USING for the other tables an UPDATE or DELETE refers to. */
static int extra_froms(qsC *c, int idx) {
  lua_State *L = c->L;
  int n;
  n = qsC_list_field(c, idx, "_extra_froms");
  lua_pop(L, 1);
  return n;
}

static void from_list(qsC *c, int idx) {
  lua_State *L = c->L;
  int i, n;
  qsC_field(c, idx, "_extra_froms");
  n = (int)lua_rawlen(L, -1);
  for (i = 1; i <= n; i++) {
    if (i > 1) qsC_puts(c, ", ");
    lua_rawgeti(L, -1, i);
    qsC_from(c, lua_gettop(L));
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
}

/* A DML statement's FROMs join the correlation stack, as an enclosing
** SELECT's do: a subquery in its WHERE, SET values or RETURNING correlates to
** the target table and the UPDATE ... FROM / DELETE ... USING tables
** (SQLAlchemy's correlate_froms for UPDATE and DELETE). Pops with
** pop_froms. field: the list of other FROMs (NULL: the target alone). */
static void push_dml_froms(qsC *c, int idx, const char *field) {
  lua_State *L = c->L;
  int set, i, n;
  lua_newtable(L);
  set = lua_gettop(L);
  qsC_field(c, idx, "table");
  qsC_add_froms(c, set, -1);
  lua_pop(L, 1);
  if (field) {
    if (qsC_field(c, idx, field) == LUA_TTABLE) {
      n = (int)lua_rawlen(L, -1);
      for (i = 1; i <= n; i++) {
        lua_rawgeti(L, -1, i);
        qsC_add_froms(c, set, -1);
        lua_pop(L, 1);
      }
    }
    lua_pop(L, 1);
  }
  lua_rawseti(L, c->enclosing, (int)lua_rawlen(L, c->enclosing) + 1);
}

static void pop_froms(qsC *c) {
  lua_pushnil(c->L);
  lua_rawseti(c->L, c->enclosing, (int)lua_rawlen(c->L, c->enclosing));
}

void qsC_insert(qsC *c, int idx) {
  lua_State *L = c->L;
  int n = count_pairs(c, idx), i, rows;
  c->depth++;
  qsC_puts(c, "INSERT ");
  qsC_prefix_words(c, idx);
  qsC_puts(c, "INTO ");
  target(c, idx, "INSERT");
  qsC_table_name(c, lua_gettop(L));
  lua_pop(L, 1);
  if (qsC_field(c, idx, "_select") == LUA_TTABLE) {
    int sel = lua_gettop(L);
    qsC_puts(c, " (");
    c->unqualified++;
    qsC_list(c, idx, "_select_columns", ", ", 0);
    c->unqualified--;
    qsC_puts(c, ") ");
    qsC_select(c, sel);
    lua_pop(L, 1);
  } else {
    lua_pop(L, 1);
    rows = qsC_list_field(c, idx, "_rows");   /* multi-row VALUES: lists of value nodes */
    lua_pop(L, 1);
    if (n == 0) {
      qsC_puts(c, c->d->empty_insert);
    } else {
      qsC_puts(c, " (");
      for (i = 1; i <= n; i++) {
        if (i > 1) qsC_puts(c, ", ");
        pair_part(c, idx, i, 1);
      }
      qsC_puts(c, ") VALUES ");
      /* where the first row's group sits, for insertmanyvalues to repeat
      ** it: found by position, never by scanning SQL that holds quoted
      ** names and literals (a table named 't VALUES (x' is just a name).
      ** The last INSERT written wins: a top-level INSERT comes after any
      ** INSERT in its WITH clause. */
      c->values_open = c->b->len + 1;
      qs_buf_putc(c->b, '(');
      for (i = 1; i <= n; i++) {
        if (i > 1) qsC_puts(c, ", ");
        pair_part(c, idx, i, 2);
      }
      qs_buf_putc(c->b, ')');
      c->values_close = c->b->len;
      if (rows > 0) {
        int r;
        qsC_field(c, idx, "_rows");
        for (r = 1; r <= rows; r++) {
          qsC_puts(c, ", (");
          lua_rawgeti(L, -1, r);
          qsC_need_table(c, -1, idx, "_rows");
          for (i = 1; i <= n; i++) {
            if (i > 1) qsC_puts(c, ", ");
            lua_rawgeti(L, -1, i);
            qsC_expr_inferred(c, lua_gettop(L));
            lua_pop(L, 1);
          }
          lua_pop(L, 1);
          qs_buf_putc(c->b, ')');
        }
        lua_pop(L, 1);
      }
    }
  }
  /* ON CONFLICT DO UPDATE / ON DUPLICATE KEY UPDATE update the target's
  ** existing row: their SET and WHERE correlate to it (and to excluded).
  ** The VALUES and the SELECT of an INSERT correlate to nothing. */
  push_dml_froms(c, idx, "_upsert_froms");
  upsert(c, idx);
  pop_froms(c);
  c->depth--;
  returning(c, idx, "INSERT", QS_CAP(INSERT_RETURNING));
}

/* The tail UPDATE and DELETE share: WHERE, then RETURNING (what names the
** statement kind; cap the capability its RETURNING needs). Ends the
** statement's depth before RETURNING, whose columns are the statement's. */
static void where_and_returning(qsC *c, int idx, const char *what, uint64_t cap) {
  if (qsC_field(c, idx, "_where") != LUA_TNIL) {
    qsC_puts(c, " WHERE ");
    qsC_expr(c, lua_gettop(c->L));
  }
  lua_pop(c->L, 1);
  c->depth--;
  returning(c, idx, what, cap);
}

void qsC_update(qsC *c, int idx) {
  lua_State *L = c->L;
  int n = count_pairs(c, idx), i, multi;
  c->depth++;
  int extra = extra_froms(c, idx);
  push_dml_froms(c, idx, "_extra_froms");
  qsC_puts(c, "UPDATE ");
  qsC_prefix_words(c, idx);
  target(c, idx, "UPDATE");
  qsC_table_name(c, lua_gettop(L));
  lua_pop(L, 1);
  if (n == 0) qsC_error(c, QS_ARGUMENT, "UPDATE without values: call :values({...}) or pass parameters");
  multi = extra && c->d->update_froms == QS_DML_FROMS_MULTI_TABLE;
  if (multi) {   /* MySQL's multi-table UPDATE */
    qsC_puts(c, ", ");
    from_list(c, idx);
  }
  qsC_puts(c, " SET ");
  for (i = 1; i <= n; i++) {
    if (i > 1) qsC_puts(c, ", ");
    if (multi) {   /* qualified: several tables are in play */
      target(c, idx, "UPDATE");
      qsC_table_name(c, lua_gettop(L));
      lua_pop(L, 1);
      qs_buf_putc(c->b, '.');
    }
    pair_part(c, idx, i, 1);
    qsC_puts(c, "=");
    pair_part(c, idx, i, 2);
  }
  if (extra && !multi) {
    qsC_puts(c, " FROM ");
    from_list(c, idx);
  }
  where_and_returning(c, idx, "UPDATE", QS_CAP(UPDATE_RETURNING));
  pop_froms(c);
}

void qsC_delete(qsC *c, int idx) {
  lua_State *L = c->L;
  int extra, tbl, saved_derive = c->derive_target;
  c->depth++;
  extra = extra_froms(c, idx);
  push_dml_froms(c, idx, "_extra_froms");
  qsC_puts(c, "DELETE ");
  qsC_prefix_words(c, idx);
  qsC_puts(c, "FROM ");
  tbl = target(c, idx, "DELETE");
  qsC_table_name(c, tbl);
  if (extra) {
    if (c->d->delete_froms == QS_DML_FROMS_NONE)
      qsC_error(c, QS_COMPILE, "DELETE with other tables in WHERE (DELETE ... USING) is not supported by dialect %s; "
                               "use a subquery", c->d->name);
    qsC_puts(c, " USING ");
    if (c->d->delete_froms == QS_DML_FROMS_MULTI_TABLE) {
      qsC_table_name(c, tbl);
      qsC_puts(c, ", ");
      c->derive_target = tbl;   /* from here on: subqueries of the WHERE */
    }
    from_list(c, idx);
  }
  where_and_returning(c, idx, "DELETE", QS_CAP(DELETE_RETURNING));
  c->derive_target = saved_derive;
  lua_pop(L, 1);   /* the target */
  pop_froms(c);
}
