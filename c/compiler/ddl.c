/*
** ddl.c: CREATE/DROP TABLE and INDEX. DDL has no parameters, so
** defaults and CHECK expressions go through the literal renderer (binds are
** written inline), and referential actions are checked against a fixed list.
*/
#include "compile.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

void qsC_list(qsC *c, int idx, const char *name, const char *sep, int prec);

/* A size of a type (length, precision, scale): a whole number from 0 up, or
** nil (-1: none). */
static long num_field(qsC *c, int idx, const char *name) {
  long v = -1;
  int t = qsC_field(c, idx, name);
  if (t == LUA_TNUMBER) {
    lua_Number x = lua_tonumber(c->L, -1);
    if (!(x >= 0 && x <= 2147483647.0) || x != (lua_Number)(long)x)
      qsC_malformed(c, idx, name, "a whole number from 0 to 2^31-1", t);
    v = (long)x;
  } else if (t != LUA_TNIL) {
    qsC_malformed(c, idx, name, "a number", t);
  }
  lua_pop(c->L, 1);
  return v;
}

static int bool_field(qsC *c, int idx, const char *name) { return qsC_bool(c, idx, name); }

void qsC_type_desc(qsC *c, int typeidx, qs_type_desc *t) {
  size_t n;
  typeidx = lua_absindex(c->L, typeidx);
  t->kind = qsC_string(c, typeidx, "_t", &n);
  t->length = num_field(c, typeidx, "length");
  t->precision = num_field(c, typeidx, "precision");
  t->scale = num_field(c, typeidx, "scale");
  t->timezone = bool_field(c, typeidx, "timezone");
}

/* An ARRAY's dimensions (1 when not given), checked: they are written as
** that many "[]". */
int qsC_array_dims(qsC *c, int typeidx) {
  long dims = num_field(c, typeidx, "dimensions");
  if (dims < 0) dims = 1;
  if (dims < 1 || dims > 6) qsC_malformed(c, typeidx, "dimensions", "a whole number from 1 to 6", LUA_TNUMBER);
  return (int)dims;
}

/* ARRAY(T): the element type's name and one "[]" per dimension (the
** database keeps no dimension count, SQLAlchemy writes them all the same),
** where the database has ARRAY types. */
void qsC_array_type(qsC *c, int typeidx) {
  lua_State *L = c->L;
  int i, dims;
  if (!qs_dialect_can(c->d, QS_CAP(ARRAY)))
    qsC_error(c, QS_COMPILE, "the ARRAY type is PostgreSQL's; not supported on dialect %s", c->d->name);
  dims = qsC_array_dims(c, typeidx);
  if (qsC_field(c, typeidx, "item_type") == LUA_TNIL)   /* qs.ARRAY itself, not qs.ARRAY(T) */
    qsC_error(c, QS_ARGUMENT, "an ARRAY column needs its element type: qs.ARRAY(qs.Integer), not qs.ARRAY");
  if (!lua_istable(L, -1)) qsC_malformed(c, typeidx, "item_type", "a type", lua_type(L, -1));
  qsC_type(c, lua_gettop(L), 0);
  lua_pop(L, 1);
  for (i = 0; i < dims; i++) qsC_puts(c, "[]");
}

void qsC_type(qsC *c, int typeidx, int autoinc) {
  lua_State *L = c->L;
  size_t n;
  const char *kind;
  qs_error err;
  qs_type_desc t;
  int rc;
  typeidx = lua_absindex(L, typeidx);
  kind = qsC_string(c, typeidx, "_t", &n);
  if (kind == NULL) qsC_error(c, QS_COMPILE, "not a type");
  if (strcmp(kind, "ENUM") == 0 && qs_dialect_can(c->d, QS_CAP(NATIVE_ENUM))) {
    /* a native ENUM: the values are literals */
    int i, cnt;
    qsC_puts(c, "ENUM(");
    qsC_field(c, typeidx, "enums");
    cnt = lua_istable(L, -1) ? (int)lua_rawlen(L, -1) : 0;
    for (i = 1; i <= cnt; i++) {
      qs_value v;
      memset(&err, 0, sizeof err);
      if (i > 1) qsC_puts(c, ", ");
      lua_rawgeti(L, -1, i);
      v.type = QS_TTEXT;
      v.u.s.p = lua_tolstring(L, -1, &v.u.s.n);
      if (v.u.s.p == NULL || qs_render_literal(c->d, c->b, &v, &err) != QS_OK) {
        qs_error_clear(&err);
        qsC_error(c, QS_COMPILE, "bad ENUM value");
      }
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
    qs_buf_putc(c->b, ')');
    return;
  }
  if (strcmp(kind, "ARRAY") == 0) {
    qsC_array_type(c, typeidx);
    return;
  }
  if (strcmp(kind, "ENUM") == 0 && qs_dialect_can(c->d, QS_CAP(ENUM_TYPES))) {
    /* a named enum type (CREATE TYPE ... AS ENUM, made before the table) */
    if (qsC_field(c, typeidx, "enum_type") == LUA_TTABLE) {
      qsC_table_name(c, lua_gettop(L));
      lua_pop(L, 1);
      return;
    }
    lua_pop(L, 1);
  }
  if (strcmp(kind, "NULL") == 0)
    qsC_error(c, QS_COMPILE, "a column of unknown type (NullType) has no DDL");
  memset(&err, 0, sizeof err);
  qsC_type_desc(c, typeidx, &t);
  rc = c->d->xTypeName(c->d, c->b, &t, autoinc, &err);
  if (rc != QS_OK) qsC_fail(c, rc, &err);
  {
    const char *coll = qsC_string(c, typeidx, "collation", &n);
    if (coll) {   /* String(n, {collation = ...}): a name, quoted when it needs it */
      qsC_puts(c, " COLLATE ");
      qsC_ident(c, coll, n);
    }
  }
}

/* A list of column names (strings) from field name of idx. */
static void name_list(qsC *c, int idx, const char *name) {
  lua_State *L = c->L;
  int i, n;
  qsC_field(c, idx, name);
  n = lua_istable(L, -1) ? (int)lua_rawlen(L, -1) : 0;
  for (i = 1; i <= n; i++) {
    size_t len;
    const char *s;
    if (i > 1) qsC_puts(c, ", ");
    lua_rawgeti(L, -1, i);
    s = lua_tolstring(L, -1, &len);
    if (s == NULL) qsC_error(c, QS_COMPILE, "constraint column names must be strings");
    qsC_ident(c, s, len);
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
}

static void referential_action(qsC *c, int idx, const char *field, const char *sql) {
  static const char *const allowed[] = {"CASCADE", "SET NULL", "SET DEFAULT", "RESTRICT",
                                        "NO ACTION", NULL};
  size_t n;
  const char *v = qsC_string(c, idx, field, &n);
  int i;
  char up[16];
  if (v == NULL) return;
  if (n >= sizeof up) qsC_error(c, QS_COMPILE, "invalid %s action", field);
  for (i = 0; i < (int)n; i++) up[i] = (char)(v[i] >= 'a' && v[i] <= 'z' ? v[i] - 32 : v[i]);
  up[n] = '\0';
  for (i = 0; allowed[i]; i++) {
    if (strcmp(up, allowed[i]) == 0) {
      qsC_puts(c, sql);
      qsC_puts(c, allowed[i]);
      return;
    }
  }
  qsC_error(c, QS_COMPILE, "invalid %s action '%s' (expected CASCADE, SET NULL, SET DEFAULT, "
            "RESTRICT or NO ACTION)", field, v);
}

/* Field name of idx (a string) as a quoted SQL literal: comments. */
static void text_literal(qsC *c, int idx, const char *name) {
  qs_value v;
  qs_error err;
  memset(&err, 0, sizeof err);
  v.type = QS_TTEXT;
  v.u.s.p = qsC_string_opt(c, idx, name, &v.u.s.n);   /* its own message, below */
  if (v.u.s.p == NULL) qsC_error(c, QS_COMPILE, "%s must be a string", name);
  if (qs_render_literal(c->d, c->b, &v, &err) != QS_OK) {
    qs_error_clear(&err);
    qsC_error(c, QS_COMPILE, "bad %s text", name);
  }
}

/*
** DEFERRABLE / NOT DEFERRABLE and INITIALLY DEFERRED / IMMEDIATE of a
** constraint (INITIALLY's value from a fixed list). Where the database has
** no such clause (MySQL/MariaDB at all, SQLite but on foreign keys) it is
** refused here by the option's name rather than by a syntax error there.
*/
static void deferrability(qsC *c, int idx, int fk) {
  lua_State *L = c->L;
  size_t n;
  const char *v;
  int has = qsC_field(c, idx, "deferrable") != LUA_TNIL, deferrable = lua_toboolean(L, -1);
  lua_pop(L, 1);
  v = qsC_string(c, idx, "initially", &n);
  if (!has && v == NULL) return;
  if (c->d->xDeferrable) {
    qs_error err;
    int rc;
    memset(&err, 0, sizeof err);
    rc = c->d->xDeferrable(c->d, fk, &err);
    if (rc != QS_OK) qsC_fail(c, rc, &err);
  }
  if (has) qsC_puts(c, deferrable ? " DEFERRABLE" : " NOT DEFERRABLE");
  if (v == NULL) return;
  if (n == 8 && strncasecmp(v, "DEFERRED", 8) == 0) qsC_puts(c, " INITIALLY DEFERRED");
  else if (n == 9 && strncasecmp(v, "IMMEDIATE", 9) == 0) qsC_puts(c, " INITIALLY IMMEDIATE");
  else qsC_error(c, QS_COMPILE, "initially must be DEFERRED or IMMEDIATE, not '%s'", v);
}

/* A constraint of the table at stack index owner (0: not known). */
static void constraint(qsC *c, int idx, int owner) {
  size_t n;
  const char *kind = qsC_string(c, idx, "kind", &n);
  const char *name = qsC_string(c, idx, "name", &n);
  if (kind == NULL) qsC_error(c, QS_COMPILE, "constraint without a kind");
  if (name) {
    qsC_puts(c, "CONSTRAINT ");
    qsC_ident(c, name, n);
    qs_buf_putc(c->b, ' ');
  }
  if (strcmp(kind, "primary_key") == 0) {
    qsC_puts(c, "PRIMARY KEY (");
    name_list(c, idx, "columns");
    qs_buf_putc(c->b, ')');
    deferrability(c, idx, 0);
  } else if (strcmp(kind, "unique") == 0) {
    qsC_puts(c, "UNIQUE (");
    name_list(c, idx, "columns");
    qs_buf_putc(c->b, ')');
    deferrability(c, idx, 0);
  } else if (strcmp(kind, "foreign_key") == 0) {
    const char *schema = qsC_string(c, idx, "ref_schema", &n);
    const char *table;
    schema = qsC_schema(c, schema, &n);
    if (schema && owner && qs_dialect_form(c->d, QS_FORM_REFERENCES_UNQUALIFIED)) {
      /* the referring table's own schema is left out: SQLite takes no schema there */
      size_t on;
      const char *own = qsC_schema(c, qsC_string(c, owner, "schema", &on), &on);
      if (own && on == n && memcmp(own, schema, n) == 0) schema = NULL;
    }
    qsC_puts(c, "FOREIGN KEY(");
    name_list(c, idx, "columns");
    qsC_puts(c, ") REFERENCES ");
    if (schema) {
      qsC_ident(c, schema, n);
      qs_buf_putc(c->b, '.');
    }
    table = qsC_string(c, idx, "ref_table", &n);
    if (table == NULL) qsC_error(c, QS_COMPILE, "foreign key without a referred table");
    qsC_ident(c, table, n);
    qsC_puts(c, " (");
    name_list(c, idx, "ref_columns");
    qs_buf_putc(c->b, ')');
    referential_action(c, idx, "ondelete", " ON DELETE ");
    referential_action(c, idx, "onupdate", " ON UPDATE ");
    deferrability(c, idx, 1);
  } else if (strcmp(kind, "check") == 0) {
    qsC_puts(c, "CHECK (");
    qsC_field(c, idx, "sqltext");
    c->literal_binds++;
    c->unqualified++;
    qsC_expr(c, lua_gettop(c->L));
    c->unqualified--;
    c->literal_binds--;
    lua_pop(c->L, 1);
    qs_buf_putc(c->b, ')');
  } else {
    qsC_error(c, QS_COMPILE, "unknown constraint kind '%s'", kind);
  }
}

static void column_def(qsC *c, int idx) {
  lua_State *L = c->L;
  size_t n;
  const char *name = qsC_string(c, idx, "name", &n);
  int autoinc = bool_field(c, idx, "_autoinc");
  int inline_comment = qs_dialect_can(c->d, QS_CAP(INLINE_COMMENTS));
  int identity = qsC_identity_here(c, idx);
  if (identity || qsC_sequence_here(c, idx)) autoinc = 0;   /* no SERIAL / AUTO_INCREMENT */
  if (name == NULL) qsC_error(c, QS_COMPILE, "column without a name");
  qsC_ident(c, name, n);
  qs_buf_putc(c->b, ' ');
  qsC_field(c, idx, "type");
  qsC_type(c, lua_gettop(L), autoinc);
  lua_pop(L, 1);
  if (qsC_field(c, idx, "server_default") != LUA_TNIL) {
    int k = qsC_kind(L, -1);
    qsC_puts(c, " DEFAULT ");
    c->literal_binds++;
    c->unqualified++;
    if (k == QSK_TEXT || k == QSK_BIND || k == QSK_NULL || k == QSK_TRUE || k == QSK_FALSE ||
        k == QSK_LITERAL_COLUMN) {
      qsC_expr(c, lua_gettop(L));
    } else if (k == QSK_FUNCTION && qs_dialect_form(c->d, QS_FORM_DEFAULT_EXPR_PARENS)) {
      qs_buf_putc(c->b, '(');   /* an expression default in parentheses (SQLite) */
      qsC_expr(c, lua_gettop(L));
      qs_buf_putc(c->b, ')');
    } else {
      qsC_expr(c, lua_gettop(L));
    }
    c->unqualified--;
    c->literal_binds--;
  }
  lua_pop(L, 1);
  qsC_computed(c, idx);
  if (identity) qsC_identity(c, idx);   /* NOT NULL implied */
  else if (!bool_field(c, idx, "nullable")) qsC_puts(c, " NOT NULL");
  if (autoinc && c->d->autoinc_clause) qsC_puts(c, c->d->autoinc_clause);
  /* MySQL keeps a column's comment in its definition (INLINE_COMMENTS);
     PostgreSQL takes COMMENT ON after the table (COMMENT_ON); SQLite has
     no comments */
  if (inline_comment && qsC_field(c, idx, "comment") != LUA_TNIL) {
    qsC_puts(c, " COMMENT ");
    text_literal(c, idx, "comment");
  }
  if (inline_comment) lua_pop(L, 1);
}

/* "ALTER TABLE <the element's table>" of the migration DDL nodes. */
static void alter_table(qsC *c, int idx) {
  qsC_puts(c, "ALTER TABLE ");
  qsC_field(c, idx, "element");
  qsC_table_name(c, lua_gettop(c->L));
  lua_pop(c->L, 1);
}

/* A server default as column DDL writes it (literal values inline). */
static void default_expr(qsC *c, int idx) {
  c->literal_binds++;
  c->unqualified++;
  qsC_expr(c, idx);
  c->unqualified--;
  c->literal_binds--;
}

/*
** ALTER TABLE t ... a column's type, nullability and server default
** (migrations). PostgreSQL takes each change as its own ALTER COLUMN action;
** MySQL restates the whole column with MODIFY COLUMN (the caller gives the
** type and nullability it keeps); SQLite cannot change a column in place.
*/
static void alter_column(qsC *c, int idx) {
  lua_State *L = c->L;
  size_t n;
  const char *name = qsC_string(c, idx, "name", &n);
  int first = 1;
  if (name == NULL) qsC_error(c, QS_COMPILE, "altering a column needs its name");
  if (!qs_dialect_can(c->d, QS_CAP(ALTER_TABLE)))
    qsC_error(c, QS_COMPILE, "SQLite cannot alter a column's type, nullability or default in place; "
                             "use batch_alter_table");
  alter_table(c, idx);
  if (qs_dialect_can(c->d, QS_CAP(ALTER_COLUMN_RESTATES))) {
    qsC_puts(c, " MODIFY COLUMN ");
    name = qsC_name(c, idx, "name", &n);
    qsC_ident(c, name, n);
    qs_buf_putc(c->b, ' ');
    if (qsC_field(c, idx, "type") == LUA_TNIL) qsC_error(c, QS_COMPILE, "MODIFY COLUMN needs the column's type");
    qsC_type(c, lua_gettop(L), 0);
    lua_pop(L, 1);
    if (!bool_field(c, idx, "nullable")) qsC_puts(c, " NOT NULL");
    if (qsC_field(c, idx, "server_default") != LUA_TNIL && !lua_isboolean(L, -1)) {
      qsC_puts(c, " DEFAULT ");
      default_expr(c, lua_gettop(L));
    }
    lua_pop(L, 1);
    if (qsC_field(c, idx, "comment") != LUA_TNIL) {   /* restated, or MODIFY drops it */
      qsC_puts(c, " COMMENT ");
      text_literal(c, idx, "comment");
    }
    lua_pop(L, 1);
    return;
  }
  if (qsC_field(c, idx, "type") != LUA_TNIL) {
    qsC_puts(c, " ALTER COLUMN ");
    name = qsC_name(c, idx, "name", &n);
    qsC_ident(c, name, n);
    qsC_puts(c, " TYPE ");
    qsC_type(c, lua_gettop(L), 0);
    first = 0;
  }
  lua_pop(L, 1);
  if (qsC_field(c, idx, "nullable") != LUA_TNIL) {
    int nullable = lua_toboolean(L, -1);
    qsC_puts(c, first ? " ALTER COLUMN " : ", ALTER COLUMN ");
    name = qsC_name(c, idx, "name", &n);
    qsC_ident(c, name, n);
    qsC_puts(c, nullable ? " DROP NOT NULL" : " SET NOT NULL");
    first = 0;
  }
  lua_pop(L, 1);
  if (qsC_field(c, idx, "server_default") != LUA_TNIL) {
    qsC_puts(c, first ? " ALTER COLUMN " : ", ALTER COLUMN ");
    name = qsC_name(c, idx, "name", &n);
    qsC_ident(c, name, n);
    if (lua_isboolean(L, -1)) {
      qsC_puts(c, " DROP DEFAULT");   /* server_default = false */
    } else {
      qsC_puts(c, " SET DEFAULT ");
      default_expr(c, lua_gettop(L));
    }
    first = 0;
  }
  lua_pop(L, 1);
  if (first) qsC_error(c, QS_COMPILE, "alter_column: nothing to change");
}

static void create_table(qsC *c, int idx) {
  lua_State *L = c->L;
  int t, i, n, first = 1;
  qsC_field(c, idx, "element");
  t = lua_gettop(L);
  qsC_puts(c, "CREATE TABLE ");
  if (bool_field(c, idx, "if_not_exists")) qsC_puts(c, "IF NOT EXISTS ");
  qsC_table_name(c, t);
  qsC_puts(c, " (");
  qsC_field(c, t, "columns");
  n = lua_istable(L, -1) ? (int)lua_rawlen(L, -1) : 0;
  if (n == 0) qsC_error(c, QS_COMPILE, "a table needs at least one column");
  for (i = 1; i <= n; i++) {
    qsC_puts(c, first ? "\n\t" : ", \n\t");
    first = 0;
    lua_rawgeti(L, -1, i);
    column_def(c, lua_gettop(L));
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  qsC_field(c, idx, "constraints");
  n = lua_istable(L, -1) ? (int)lua_rawlen(L, -1) : 0;
  for (i = 1; i <= n; i++) {
    qsC_puts(c, ", \n\t");
    lua_rawgeti(L, -1, i);
    constraint(c, lua_gettop(L), t);
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  qsC_puts(c, "\n)");
  if (c->d->table_options) {
    /* the dialect's table options: bare words checked where they were given (schema.lua) */
    const qs_table_option *opt;
    size_t len;
    for (opt = c->d->table_options; opt->option; opt++) {
      const char *v = qsC_string(c, t, opt->option, &len);
      size_t j;
      if (v == NULL) continue;
      for (j = 0; j < len; j++)
        if (!((v[j] >= 'a' && v[j] <= 'z') || (v[j] >= 'A' && v[j] <= 'Z') || (v[j] >= '0' && v[j] <= '9') ||
              v[j] == '_'))
          qsC_error(c, QS_COMPILE, "%s must be a bare name, not '%s'", opt->option, v);
      qsC_puts(c, opt->sql);
      qsC_puts(c, v);
    }
  }
  if (qs_dialect_can(c->d, QS_CAP(INLINE_COMMENTS))) {
    if (qsC_field(c, t, "comment") != LUA_TNIL) {
      qsC_puts(c, " COMMENT=");
      text_literal(c, t, "comment");
    }
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
}

/* One key part of CREATE INDEX: a column (or text) as it is; an expression (a functional
** index) where the dialect has them, in parentheses as it wants them; DESC / ASC / NULLS
** after the part they order. */
static void index_key(qsC *c, int e) {
  lua_State *L = c->L;
  int kind = qsC_kind(L, e), op = 0;
  if (kind == QSK_UNARY) {
    if (qsC_field(c, e, "op") == LUA_TNUMBER) op = (int)lua_tointeger(L, -1);
    lua_pop(L, 1);
    if (op == QSO_DESC || op == QSO_ASC || op == QSO_NULLS_FIRST || op == QSO_NULLS_LAST) {
      if (qsC_field(c, e, "element") != LUA_TTABLE) qsC_malformed(c, e, "element", "a node", lua_type(L, -1));
      index_key(c, lua_gettop(L));
      lua_pop(L, 1);
      qsC_puts(c, op == QSO_DESC ? " DESC" : op == QSO_ASC ? " ASC" :
                  op == QSO_NULLS_FIRST ? " NULLS FIRST" : " NULLS LAST");
      return;
    }
  }
  if (kind == QSK_COLUMN || kind == QSK_TEXT || kind == QSK_LITERAL_COLUMN) {
    qsC_expr(c, e);
    return;
  }
  if (!qs_dialect_can(c->d, QS_CAP(EXPRESSION_INDEX)))
    qsC_error(c, QS_COMPILE, "%s has no expression index key parts (a %s in an index): index a "
              "generated column instead", c->d->name, qsC_kind_name(L, e));
  if (kind == QSK_FUNCTION ? qs_dialect_form(c->d, QS_FORM_INDEX_FUNC_PARENS)
                           : qs_dialect_form(c->d, QS_FORM_INDEX_EXPR_PARENS) && kind != QSK_GROUPING) {
    qs_buf_putc(c->b, '(');
    qsC_expr(c, e);
    qs_buf_putc(c->b, ')');
  } else {
    qsC_expr(c, e);
  }
}

static void create_index(qsC *c, int idx) {
  lua_State *L = c->L;
  size_t n;
  const char *name = qsC_string(c, idx, "name", &n);
  if (name == NULL) qsC_error(c, QS_COMPILE, "an index needs a name");
  qsC_puts(c, bool_field(c, idx, "unique") ? "CREATE UNIQUE INDEX " : "CREATE INDEX ");
  if (bool_field(c, idx, "if_not_exists")) qsC_puts(c, "IF NOT EXISTS ");
  qsC_ident(c, name, n);
  qsC_puts(c, " ON ");
  qsC_field(c, idx, "table");
  qsC_table_name(c, lua_gettop(L));
  lua_pop(L, 1);
  if (c->d->index_using_option) {
    const char *using = qsC_string(c, idx, c->d->index_using_option, &n);
    size_t i;
    if (using) {   /* an access method: a bare word (checked, never quoted user text) */
      for (i = 0; i < n; i++)
        if (!((using[i] >= 'a' && using[i] <= 'z') || (using[i] >= 'A' && using[i] <= 'Z') || using[i] == '_'))
          qsC_error(c, QS_COMPILE, "%s must be an access method name, not '%s'", c->d->index_using_option, using);
      qsC_puts(c, " USING ");
      qsC_puts(c, using);
    }
  }
  qsC_puts(c, " (");
  c->unqualified++;
  c->literal_binds++;
  {
    /* mysql_length: a prefix length after each column that has one */
    int lens = 0, i, cnt;
    if (qs_dialect_form(c->d, QS_FORM_INDEX_PREFIX_LENGTHS) &&
        qsC_field(c, idx, "_mysql_lengths") == LUA_TTABLE) lens = lua_gettop(L);
    else if (qs_dialect_form(c->d, QS_FORM_INDEX_PREFIX_LENGTHS)) lua_pop(L, 1);
    cnt = qsC_list_field(c, idx, "expressions");
    for (i = 1; i <= cnt; i++) {
      if (i > 1) qsC_puts(c, ", ");
      lua_rawgeti(L, -1, i);
      index_key(c, lua_gettop(L));
      lua_pop(L, 1);
      if (lens) {
        lua_rawgeti(L, lens, i);
        if (lua_isnumber(L, -1)) {
          char num[32];
          snprintf(num, sizeof num, "(%ld)", (long)lua_tointeger(L, -1));
          qsC_puts(c, num);
        }
        lua_pop(L, 1);
      }
    }
    lua_pop(L, lens ? 2 : 1);
  }
  qs_buf_putc(c->b, ')');
  /* a partial index: each database's own option (SQLAlchemy's dialect kwargs) */
  if (c->d->partial_index_option) {
    if (qsC_field(c, idx, c->d->partial_index_option) != LUA_TNIL) {
      qsC_puts(c, " WHERE ");
      qsC_expr(c, lua_gettop(L));
    }
    lua_pop(L, 1);
  }
  c->literal_binds--;
  c->unqualified--;
}

/* COMMENT ON TABLE t / COLUMN t.c IS '...' (PostgreSQL; nil: IS NULL). */
static void comment_on(qsC *c, int idx) {
  lua_State *L = c->L;
  size_t n;
  const char *col = qsC_string(c, idx, "column", &n);
  if (!qs_dialect_can(c->d, QS_CAP(COMMENT_ON)))
    qsC_error(c, QS_COMPILE, "COMMENT ON is PostgreSQL's (MySQL keeps comments in the CREATE TABLE)");
  qsC_puts(c, col ? "COMMENT ON COLUMN " : "COMMENT ON TABLE ");
  qsC_field(c, idx, "element");
  qsC_table_name(c, lua_gettop(L));
  lua_pop(L, 1);
  if (col) {
    qs_buf_putc(c->b, '.');
    col = qsC_name(c, idx, "column", &n);
    qsC_ident(c, col, n);
  }
  qsC_puts(c, " IS ");
  if (qsC_field(c, idx, "comment") == LUA_TNIL) qsC_puts(c, "NULL");
  else text_literal(c, idx, "comment");
  lua_pop(L, 1);
}

void qsC_ddl(qsC *c, int idx, int kind) {
  lua_State *L = c->L;
  size_t n;
  const char *name;
  int by_kind, on_table = qs_dialect_form(c->d, QS_FORM_DROP_INDEX_ON_TABLE);
  switch (kind) {
    case QSK_CREATE_TABLE: create_table(c, idx); break;
    case QSK_DROP_TABLE:
      qsC_puts(c, "DROP TABLE ");
      if (bool_field(c, idx, "if_exists")) qsC_puts(c, "IF EXISTS ");
      qsC_field(c, idx, "element");
      qsC_table_name(c, lua_gettop(L));
      lua_pop(L, 1);
      break;
    case QSK_CREATE_INDEX: create_index(c, idx); break;
    case QSK_ADD_CONSTRAINT:
      /* a constraint created after its table (foreign keys in a cycle) */
      alter_table(c, idx);
      qsC_puts(c, " ADD ");
      qsC_field(c, idx, "constraint");
      constraint(c, lua_gettop(L), 0);
      lua_pop(L, 1);
      break;
    case QSK_ADD_COLUMN:
      /* ALTER TABLE t ADD COLUMN <column definition> (migrations) */
      alter_table(c, idx);
      qsC_puts(c, " ADD COLUMN ");
      qsC_field(c, idx, "column");
      column_def(c, lua_gettop(L));
      lua_pop(L, 1);
      break;
    case QSK_DROP_COLUMN:
      name = qsC_string(c, idx, "name", &n);
      if (name == NULL) qsC_error(c, QS_COMPILE, "dropping a column needs its name");
      alter_table(c, idx);
      qsC_puts(c, " DROP COLUMN ");
      name = qsC_name(c, idx, "name", &n);
      qsC_ident(c, name, n);
      break;
    case QSK_RENAME_TABLE:
      name = qsC_string(c, idx, "new_name", &n);
      if (name == NULL) qsC_error(c, QS_COMPILE, "renaming a table needs the new name");
      alter_table(c, idx);
      qsC_puts(c, " RENAME TO ");
      name = qsC_name(c, idx, "new_name", &n);
      qsC_ident(c, name, n);
      break;
    case QSK_ALTER_COLUMN: alter_column(c, idx); break;
    case QSK_COMMENT_ON: comment_on(c, idx); break;
    case QSK_RENAME_COLUMN:
      name = qsC_string(c, idx, "name", &n);
      if (name == NULL) qsC_error(c, QS_COMPILE, "renaming a column needs its name");
      alter_table(c, idx);
      qsC_puts(c, " RENAME COLUMN ");
      name = qsC_name(c, idx, "name", &n);
      qsC_ident(c, name, n);
      qsC_puts(c, " TO ");
      name = qsC_string(c, idx, "new_name", &n);
      if (name == NULL) qsC_error(c, QS_COMPILE, "renaming a column needs the new name");
      qsC_ident(c, name, n);
      break;
    case QSK_DROP_CONSTRAINT:
      name = qsC_string(c, idx, "name", &n);
      if (name == NULL) qsC_error(c, QS_COMPILE, "dropping a constraint needs its name");
      alter_table(c, idx);
      /* MySQL names the kind of constraint it drops */
      by_kind = qs_dialect_form(c->d, QS_FORM_DROP_CONSTRAINT_BY_KIND);
      if (by_kind && bool_field(c, idx, "foreign_key")) qsC_puts(c, " DROP FOREIGN KEY ");
      else if (by_kind && bool_field(c, idx, "unique")) qsC_puts(c, " DROP INDEX ");
      else qsC_puts(c, " DROP CONSTRAINT ");
      name = qsC_name(c, idx, "name", &n);
      qsC_ident(c, name, n);
      break;
    case QSK_DROP_INDEX:
      name = qsC_string(c, idx, "name", &n);
      if (name == NULL) qsC_error(c, QS_COMPILE, "an index needs a name");
      qsC_puts(c, "DROP INDEX ");
      if (bool_field(c, idx, "if_exists")) qsC_puts(c, "IF EXISTS ");
      qsC_field(c, idx, "table");
      if (!on_table && lua_istable(L, -1)) {
        const char *schema = qsC_string(c, lua_gettop(L), "schema", &n);
        schema = qsC_schema(c, schema, &n);
        if (schema) {   /* an index lives in its table's schema */
          qsC_ident(c, schema, n);
          qs_buf_putc(c->b, '.');
        }
      }
      name = qsC_name(c, idx, "name", &n);
      qsC_ident(c, name, n);
      if (on_table) {
        qsC_puts(c, " ON ");
        qsC_table_name(c, lua_gettop(L));
      }
      lua_pop(L, 1);
      break;
  }
}
