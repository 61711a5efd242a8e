/*
** ddl_gen.c: values the database generates. A sequence's next value
** (nextval('s') / NEXT VALUE FOR s), CREATE/DROP SEQUENCE, PostgreSQL's
** named enum types (CREATE TYPE ... AS ENUM / DROP TYPE), and the parts of
** a column definition that make the server fill the column: IDENTITY and
** GENERATED ALWAYS AS (...) computed columns. What a database lacks is
** refused here by the construct's name rather than by a syntax error there.
*/
#include "compile.h"

#include <stdio.h>
#include <string.h>

/* A whole number option (START WITH, INCREMENT BY, ...) of idx: 1 with
** *out set when it is there, 0 when nil. */
static int num_field(qsC *c, int idx, const char *name, long long *out) {
  lua_State *L = c->L;
  int t = qsC_field(c, idx, name), has = 0;
  if (t == LUA_TNUMBER) {
    lua_Number x = lua_tonumber(L, -1);
    if (!(x >= -9007199254740992.0 && x <= 9007199254740992.0) || x != (lua_Number)(long long)x)
      qsC_malformed(c, idx, name, "a whole number", t);
    *out = (long long)x;
    has = 1;
  } else if (t != LUA_TNIL) {
    qsC_malformed(c, idx, name, "a number", t);
  }
  lua_pop(L, 1);
  return has;
}

/* Writes sql and the number when the option is there. */
static void put_num(qsC *c, int has, long long v, const char *sql) {
  char num[32];
  if (!has) return;
  snprintf(num, sizeof num, "%lld", v);
  qsC_puts(c, sql);
  qsC_puts(c, num);
}

static void need_sequences(qsC *c, int idx, const char *what) {
  size_t n;
  const char *name;
  if (qs_dialect_can(c->d, QS_CAP(SEQUENCES))) return;
  name = qsC_string(c, idx, "name", &n);
  qsC_error(c, QS_COMPILE, "Sequence '%s': %s has no sequences (%s)", name ? name : "?", c->d->name, what);
}

/* The next value of a sequence: nextval('s') takes the (quoted,
** schema-qualified) name as a string literal; MariaDB writes NEXT VALUE FOR s. */
void qsC_next_value(qsC *c, int idx) {
  lua_State *L = c->L;
  size_t off;
  qs_value v;
  qs_error err;
  need_sequences(c, idx, "next_value");
  if (qs_dialect_form(c->d, QS_FORM_NEXT_VALUE_FOR)) {
    qsC_puts(c, "NEXT VALUE FOR ");
    qsC_table_name(c, idx);
    return;
  }
  /* the quoted name rendered in place, moved to a Lua string (anchored on
     the stack: nothing owned across an error), then written as a literal */
  off = c->b->len;
  qsC_table_name(c, idx);
  lua_pushlstring(L, c->b->p + off, c->b->len - off);
  c->b->len = off;
  memset(&err, 0, sizeof err);
  v.type = QS_TTEXT;
  v.u.s.p = lua_tolstring(L, -1, &v.u.s.n);
  qsC_puts(c, "nextval(");
  if (qs_render_literal(c->d, c->b, &v, &err) != QS_OK) {
    qs_error_clear(&err);
    qsC_error(c, QS_COMPILE, "bad sequence name");
  }
  lua_pop(L, 1);
  qs_buf_putc(c->b, ')');
}

/* CREATE TYPE name AS ENUM ('a', ...) / DROP TYPE name (PostgreSQL). */
static void enum_type(qsC *c, int idx, int create) {
  lua_State *L = c->L;
  size_t n;
  int i, cnt;
  const char *name = qsC_string(c, idx, "name", &n);
  if (!qs_dialect_can(c->d, QS_CAP(ENUM_TYPES)))
    qsC_error(c, QS_COMPILE, "Enum '%s': %s has no named enum types (CREATE TYPE)", name ? name : "?",
              c->d->name);
  if (name == NULL) qsC_error(c, QS_COMPILE, "an enum type needs a name");
  qsC_puts(c, create ? "CREATE TYPE " : "DROP TYPE ");
  if (!create && qsC_bool(c, idx, "if_exists")) qsC_puts(c, "IF EXISTS ");
  qsC_table_name(c, idx);
  if (!create) return;
  qsC_puts(c, " AS ENUM (");
  cnt = qsC_list_field(c, idx, "enums");
  for (i = 1; i <= cnt; i++) {
    qs_value v;
    qs_error err;
    memset(&err, 0, sizeof err);
    if (i > 1) qsC_puts(c, ", ");
    lua_rawgeti(L, -1, i);
    v.type = QS_TTEXT;
    v.u.s.p = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &v.u.s.n) : NULL;
    if (v.u.s.p == NULL || qs_render_literal(c->d, c->b, &v, &err) != QS_OK) {
      qs_error_clear(&err);
      qsC_error(c, QS_COMPILE, "Enum '%s': its values must be strings", name);
    }
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  qs_buf_putc(c->b, ')');
}

/* CREATE SEQUENCE s [INCREMENT BY n] [START WITH n] ... / DROP SEQUENCE s. */
static void sequence(qsC *c, int idx, int create) {
  long long v = 0;
  int has;
  need_sequences(c, idx, create ? "CREATE SEQUENCE" : "DROP SEQUENCE");
  qsC_puts(c, create ? "CREATE SEQUENCE " : "DROP SEQUENCE ");
  if (create && qsC_bool(c, idx, "if_not_exists")) qsC_puts(c, "IF NOT EXISTS ");
  if (!create && qsC_bool(c, idx, "if_exists")) qsC_puts(c, "IF EXISTS ");
  qsC_table_name(c, idx);
  if (!create) return;
  has = num_field(c, idx, "increment", &v);
  put_num(c, has, v, " INCREMENT BY ");
  has = num_field(c, idx, "start", &v);
  put_num(c, has, v, " START WITH ");
  has = num_field(c, idx, "minvalue", &v);
  put_num(c, has, v, " MINVALUE ");
  has = num_field(c, idx, "maxvalue", &v);
  put_num(c, has, v, " MAXVALUE ");
  if (qsC_bool(c, idx, "cycle")) qsC_puts(c, " CYCLE");
}

void qsC_ddl_gen(qsC *c, int idx, int kind) {
  switch (kind) {
    case QSK_CREATE_SEQUENCE: sequence(c, idx, 1); break;
    case QSK_DROP_SEQUENCE: sequence(c, idx, 0); break;
    case QSK_CREATE_ENUM: enum_type(c, idx, 1); break;
    case QSK_DROP_ENUM: enum_type(c, idx, 0); break;
  }
}

/* Whether the column definition at idx is written GENERATED ... AS
** IDENTITY here (the database has identity columns and the column asks).
** Elsewhere the column stays what it was: MySQL's auto-increment column
** keeps AUTO_INCREMENT, SQLite's INTEGER PRIMARY KEY its rowid (as
** SQLAlchemy 2.0 does). */
int qsC_identity_here(qsC *c, int idx) {
  return qsC_bool(c, idx, "identity") && qs_dialect_can(c->d, QS_CAP(IDENTITY_COLUMNS));
}

/* Whether the column's sequence gives its values here (a database with
** sequences), so it is no auto-increment column (no SERIAL/AUTO_INCREMENT). */
int qsC_sequence_here(qsC *c, int idx) {
  return qsC_bool(c, idx, "_sequence") && qs_dialect_can(c->d, QS_CAP(SEQUENCES));
}

/* " GENERATED BY DEFAULT|ALWAYS AS IDENTITY [(INCREMENT BY m START WITH n)]"
** (the option order SQLAlchemy writes). */
void qsC_identity(qsC *c, int idx) {
  long long inc = 0, start = 0;
  int has_inc = num_field(c, idx, "increment", &inc), has_start = num_field(c, idx, "start", &start);
  qsC_puts(c, qsC_bool(c, idx, "always") ? " GENERATED ALWAYS AS IDENTITY"
                                          : " GENERATED BY DEFAULT AS IDENTITY");
  if (!has_inc && !has_start) return;
  qsC_puts(c, " (");
  put_num(c, has_inc, inc, "INCREMENT BY ");
  put_num(c, has_start, start, has_inc ? " START WITH " : "START WITH ");
  qs_buf_putc(c->b, ')');
}

/* " GENERATED ALWAYS AS (expr) [STORED|VIRTUAL]" for a computed column: the
** expression is the schema author's DDL text (or an expression over the
** table's columns), written as DDL writes a CHECK. persisted true: STORED;
** false: VIRTUAL, which PostgreSQL has not; nil: the database's default
** (PostgreSQL only has STORED, so it says so). */
void qsC_computed(qsC *c, int idx) {
  lua_State *L = c->L;
  int t;
  if (qsC_field(c, idx, "computed") == LUA_TNIL) {
    lua_pop(L, 1);
    return;
  }
  qsC_puts(c, " GENERATED ALWAYS AS (");
  c->literal_binds++;
  c->unqualified++;
  qsC_expr(c, lua_gettop(L));
  c->unqualified--;
  c->literal_binds--;
  lua_pop(L, 1);
  qs_buf_putc(c->b, ')');
  t = qsC_field(c, idx, "persisted");
  if (t == LUA_TBOOLEAN && !lua_toboolean(L, -1)) {
    size_t n;
    const char *name;
    lua_pop(L, 1);
    if (!qs_dialect_can(c->d, QS_CAP(COMPUTED_VIRTUAL))) {
      name = qsC_string(c, idx, "name", &n);
      qsC_error(c, QS_COMPILE, "Computed column '%s': %s has no VIRTUAL generated columns "
                "(persisted = false); use persisted = true or leave it out", name ? name : "?", c->d->name);
    }
    qsC_puts(c, " VIRTUAL");
    return;
  }
  if (t != LUA_TNIL && t != LUA_TBOOLEAN) qsC_malformed(c, idx, "persisted", "a boolean", t);
  if (t == LUA_TBOOLEAN || !qs_dialect_can(c->d, QS_CAP(COMPUTED_VIRTUAL))) qsC_puts(c, " STORED");
  lua_pop(L, 1);
}
