/*
** expr.c: expressions: columns, binds, operators, functions, CASE,
** CAST, IN, BETWEEN, labels and subqueries used as values.
*/
#include "compile.h"

#include <string.h>

static const int precedence[] = {
  0,
#define QS_PREC_(name, prec) prec,
  QS_OPERATORS(QS_PREC_)
#undef QS_PREC_
};

static int strcasecmp_ascii(const char *a, const char *b) {
  for (; *a && *b; a++, b++) {
    int x = (*a >= 'A' && *a <= 'Z') ? *a + 32 : *a;
    int y = (*b >= 'A' && *b <= 'Z') ? *b + 32 : *b;
    if (x != y) return x - y;
  }
  return (unsigned char)*a - (unsigned char)*b;
}

static int op_of(qsC *c, int idx) {
  int op = 0;
  if (qsC_field(c, idx, "op") == LUA_TNUMBER) op = (int)lua_tointeger(c->L, -1);
  lua_pop(c->L, 1);
  if (op <= QSO_NONE || op >= QSO_LAST_) qsC_error(c, QS_COMPILE, "unknown operator code %d", op);
  return op;
}

static int is_dialect(qsC *c, const char *name) { return strcmp(c->d->name, name) == 0; }
static int is_mysql(qsC *c) { return c->d->quote_open == '`'; }

/* Renders field name of idx as an expression at precedence prec. */
static void sub(qsC *c, int idx, const char *name, int prec) {
  if (qsC_field(c, idx, name) == LUA_TNIL) qsC_error(c, QS_COMPILE, "expression without %s", name);
  qsC_expr_prec(c, lua_gettop(c->L), prec);
  lua_pop(c->L, 1);
}

/* Whether the node at a is a parameter PostgreSQL types from the node at b:
** an operand of the same type that is not a parameter itself ("col = $1"
** gives $1 the column's type, so a cast would only repeat it). */
static int typed_by(qsC *c, int a, int b) {
  lua_State *L = c->L;
  int same = 0;
  if (c->d->paramstyle != QS_PARAM_DOLLAR || qsC_kind(L, a) != QSK_BIND || qsC_kind(L, b) == QSK_BIND)
    return 0;
  lua_getfield(L, a, "type");
  lua_getfield(L, b, "type");
  if (lua_istable(L, -2) && lua_istable(L, -1)) {
    int ta = lua_gettop(L) - 1, tb = lua_gettop(L);
    lua_getfield(L, ta, "_t");
    lua_getfield(L, tb, "_t");
    same = lua_isstring(L, -2) && lua_isstring(L, -1) && strcmp(lua_tostring(L, -2), "NULL") != 0 &&
           lua_rawequal(L, -2, -1);
    lua_pop(L, 2);
    if (same) {   /* a timestamp with or without time zone */
      lua_getfield(L, ta, "timezone");
      lua_getfield(L, tb, "timezone");
      same = lua_toboolean(L, -2) == lua_toboolean(L, -1);
      lua_pop(L, 2);
    }
  }
  lua_pop(L, 2);
  return same;
}

/* Renders the node at v, an operand next to the node at other. */
static void operand(qsC *c, int v, int other, int prec) {
  int off = typed_by(c, v, other);
  c->bind_cast_off += off;
  qsC_expr_prec(c, v, prec);
  c->bind_cast_off -= off;
}

/* Renders field name of idx, an operand next to field other of idx. */
static void sub_next_to(qsC *c, int idx, const char *name, const char *other, int prec) {
  lua_State *L = c->L;
  if (qsC_field(c, idx, name) == LUA_TNIL) qsC_error(c, QS_COMPILE, "expression without %s", name);
  qsC_field(c, idx, other);
  operand(c, lua_gettop(L) - 1, lua_gettop(L), prec);
  lua_pop(L, 2);
}

/* The name a FROM element is referred to by (table name or alias name). */
static void from_name(qsC *c, int idx) {
  int k = qsC_kind(c->L, idx);
  size_t n;
  const char *name;
  if (k == QSK_TABLE) {
    qsC_table_name(c, idx);
  } else if (k == QSK_CTE) {
    name = qsC_string(c, idx, "name", &n);
    qsC_ident(c, name, n);
  } else if (k == QSK_ALIAS) {
    name = qsC_alias_name(c, idx, &n);
    qsC_ident(c, name, n);
  } else {
    qsC_error(c, QS_COMPILE, "a column's table is not a table or alias");
  }
}

static void column(qsC *c, int idx) {
  lua_State *L = c->L;
  size_t n;
  const char *name = qsC_string(c, idx, "name", &n);
  if (name == NULL) qsC_error(c, QS_COMPILE, "column without a name");
  if (qsC_field(c, idx, "table") == LUA_TTABLE && !c->unqualified) {
    from_name(c, lua_gettop(L));
    qs_buf_putc(c->b, '.');
  }
  lua_pop(L, 1);
  qsC_ident(c, name, n);
}

/* " ESCAPE 'c'" for a LIKE that has an escape character (a literal: the
** character is checked to be one character in Lua and quoted here). */
static void escape_clause(qsC *c, int idx) {
  size_t n;
  const char *esc = qsC_string(c, idx, "escape", &n);
  qs_value v;
  qs_error err;
  if (esc == NULL) return;
  memset(&err, 0, sizeof err);
  v.type = QS_TTEXT;
  v.u.s.p = esc;
  v.u.s.n = n;
  qsC_puts(c, " ESCAPE ");
  if (qs_render_literal(c->d, c->b, &v, &err) != QS_OK) {
    qs_error_clear(&err);
    qsC_error(c, QS_COMPILE, "bad escape character");
  }
}

static void binary(qsC *c, int idx, int outer) {
  int op = op_of(c, idx), prec = precedence[op];
  int paren = prec < outer;
  /* comparisons and non-associative operators parenthesize an equal right side */
  int rprec = (op == QSO_ADD || op == QSO_MUL || op == QSO_AND || op == QSO_OR) ? prec : prec + 1;
  const char *sym = NULL;
  if (op == QSO_IS || op == QSO_IS_NOT) {
    /* SQL allows only NULL, TRUE and FALSE after IS (a bound parameter is
    ** a syntax error on PostgreSQL and MySQL); TRUE/FALSE render per dialect */
    int rk;
    qsC_field(c, idx, "right");
    rk = qsC_kind(c->L, -1);
    lua_pop(c->L, 1);
    if (rk != QSK_NULL && rk != QSK_TRUE && rk != QSK_FALSE)
      qsC_error(c, QS_COMPILE, "only NULL, TRUE or FALSE can follow IS");
  }
  if (paren) qs_buf_putc(c->b, '(');
  switch (op) {
    case QSO_EQ: sym = " = "; break;
    case QSO_NE: sym = " != "; break;
    case QSO_LT: sym = " < "; break;
    case QSO_LE: sym = " <= "; break;
    case QSO_GT: sym = " > "; break;
    case QSO_GE: sym = " >= "; break;
    case QSO_IS: sym = " IS "; break;
    case QSO_IS_NOT: sym = " IS NOT "; break;
    case QSO_LIKE: sym = " LIKE "; break;
    case QSO_NOT_LIKE: sym = " NOT LIKE "; break;
    case QSO_ADD: sym = " + "; break;
    case QSO_SUB: sym = " - "; break;
    case QSO_MUL: sym = " * "; break;
    case QSO_DIV: sym = " / "; break;
    case QSO_MOD: sym = " % "; break;
    case QSO_AND: sym = " AND "; break;
    case QSO_OR: sym = " OR "; break;
    case QSO_ILIKE: case QSO_NOT_ILIKE:
      if (is_dialect(c, "postgresql")) {
        sym = op == QSO_ILIKE ? " ILIKE " : " NOT ILIKE ";
      } else {   /* emulated: lower() on both sides */
        qsC_puts(c, "lower(");
        sub(c, idx, "left", 0);
        qsC_puts(c, op == QSO_ILIKE ? ") LIKE lower(" : ") NOT LIKE lower(");
        sub(c, idx, "right", 0);
        qs_buf_putc(c->b, ')');
      }
      break;
    case QSO_CONCAT:
      if (is_mysql(c)) {
        qsC_puts(c, "concat(");
        sub(c, idx, "left", 0);
        qsC_puts(c, ", ");
        sub(c, idx, "right", 0);
        qs_buf_putc(c->b, ')');
      } else {
        sym = " || ";
      }
      break;
    case QSO_TRUEDIV_INT:   /* true division of integers (SQLAlchemy 2.0) */
      if (is_mysql(c)) {
        sym = " / ";
      } else {
        sub(c, idx, "left", prec);
        qsC_puts(c, is_dialect(c, "postgresql") ? " / CAST(" : " / CAST(");
        sub(c, idx, "right", 0);
        qsC_puts(c, is_dialect(c, "postgresql") ? " AS NUMERIC)" : " AS REAL)");
      }
      break;
    case QSO_FLOORDIV_INT:
      sym = is_mysql(c) ? " DIV " : " / ";
      break;
    case QSO_FLOORDIV:
      qsC_puts(c, "FLOOR(");
      sub(c, idx, "left", precedence[QSO_DIV]);
      qsC_puts(c, " / ");
      sub(c, idx, "right", precedence[QSO_DIV] + 1);
      qs_buf_putc(c->b, ')');
      break;
    default:
      qsC_error(c, QS_COMPILE, "operator %d is not binary", op);
  }
  if (sym) {
    sub_next_to(c, idx, "left", "right", prec);
    qsC_puts(c, sym);
    sub_next_to(c, idx, "right", "left", rprec);
  }
  if (op == QSO_LIKE || op == QSO_NOT_LIKE || op == QSO_ILIKE || op == QSO_NOT_ILIKE)
    escape_clause(c, idx);
  if (paren) qs_buf_putc(c->b, ')');
}

static void unary(qsC *c, int idx, int outer) {
  int op = op_of(c, idx);
  switch (op) {
    case QSO_NOT:
      if (precedence[QSO_NOT] < outer) qs_buf_putc(c->b, '(');
      qsC_puts(c, "NOT ");
      sub(c, idx, "element", precedence[QSO_NOT] + 1);
      if (precedence[QSO_NOT] < outer) qs_buf_putc(c->b, ')');
      break;
    case QSO_NEG: {
      size_t at;
      qs_buf_putc(c->b, '-');
      at = c->b->len;
      sub(c, idx, "element", precedence[QSO_NEG]);
      /* "--" starts a SQL comment: -(-x) and -(-5) are written "- -x" */
      if (!c->b->failed && c->b->len > at && c->b->p[at] == '-' && qs_buf_putc(c->b, ' ') == QS_OK) {
        memmove(c->b->p + at + 1, c->b->p + at, c->b->len - at - 1);
        c->b->p[at] = ' ';
      }
      break;
    }
    case QSO_DESC: sub(c, idx, "element", 0); qsC_puts(c, " DESC"); break;
    case QSO_ASC: sub(c, idx, "element", 0); qsC_puts(c, " ASC"); break;
    case QSO_NULLS_FIRST: sub(c, idx, "element", 0); qsC_puts(c, " NULLS FIRST"); break;
    case QSO_NULLS_LAST: sub(c, idx, "element", 0); qsC_puts(c, " NULLS LAST"); break;
    case QSO_DISTINCT: qsC_puts(c, "DISTINCT "); sub(c, idx, "element", 0); break;
    default: qsC_error(c, QS_COMPILE, "operator %d is not unary", op);
  }
}

/* Renders the list field name of idx joined by sep. */
void qsC_list(qsC *c, int idx, const char *name, const char *sep, int prec);
void qsC_list(qsC *c, int idx, const char *name, const char *sep, int prec) {
  lua_State *L = c->L;
  int i, n;
  if (qsC_field(c, idx, name) != LUA_TTABLE) {
    lua_pop(L, 1);
    return;
  }
  n = (int)lua_rawlen(L, -1);
  for (i = 1; i <= n; i++) {
    if (i > 1) qsC_puts(c, sep);
    lua_rawgeti(L, -1, i);
    qsC_expr_prec(c, lua_gettop(L), prec);
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
}

static void clause_list(qsC *c, int idx, int outer) {
  lua_State *L = c->L;
  int op = op_of(c, idx), n, prec = precedence[op];
  const char *sep = op == QSO_AND ? " AND " : op == QSO_OR ? " OR " : ", ";
  qsC_field(c, idx, "clauses");
  n = lua_istable(L, -1) ? (int)lua_rawlen(L, -1) : 0;
  lua_pop(L, 1);
  if (n == 0 && (op == QSO_AND || op == QSO_OR)) {
    /* an empty and_() is true, an empty or_() false */
    if (is_dialect(c, "sqlite")) qsC_puts(c, op == QSO_AND ? "1 = 1" : "1 != 1");
    else qs_render_bool(c->d, c->b, op == QSO_AND);
    return;
  }
  if (n > 1 && prec < outer) qs_buf_putc(c->b, '(');
  qsC_list(c, idx, "clauses", sep, n > 1 ? prec + (op == QSO_COMMA ? 0 : 1) : outer);
  if (n > 1 && prec < outer) qs_buf_putc(c->b, ')');
}

/* Function names come from qs.func.<name>: user-reachable, so checked. */
static void function(qsC *c, int idx) {
  size_t n, i;
  const char *name = qsC_string(c, idx, "name", &n);
  int nargs;
  if (name == NULL || n == 0) qsC_error(c, QS_COMPILE, "function without a name");
  for (i = 0; i < n; i++) {
    char ch = name[i];
    if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_' || ch == '.' ||
          (i > 0 && ch >= '0' && ch <= '9')))
      qsC_error(c, QS_COMPILE, "invalid SQL function name '%s'", name);
  }
  qsC_field(c, idx, "args");
  nargs = lua_istable(c->L, -1) ? (int)lua_rawlen(c->L, -1) : 0;
  lua_pop(c->L, 1);
  /* ANSI functions written without parentheses, and now() per dialect */
  if (nargs == 0) {
    static const char *const bare[] = {"current_timestamp", "current_date", "current_time",
      "localtime", "localtimestamp", "current_user", "session_user", "user", NULL};
    int j;
    for (j = 0; bare[j]; j++) {
      if (strcasecmp_ascii(name, bare[j]) == 0) {
        for (i = 0; i < n; i++) qs_buf_putc(c->b, (char)(name[i] >= 'a' && name[i] <= 'z' ? name[i] - 32 : name[i]));
        return;
      }
    }
    if (strcasecmp_ascii(name, "now") == 0 && is_dialect(c, "sqlite")) {
      qsC_puts(c, "CURRENT_TIMESTAMP");
      return;
    }
  }
  qs_buf_append(c->b, name, n);
  qs_buf_putc(c->b, '(');
  if (nargs == 0 && strcasecmp_ascii(name, "count") == 0) qs_buf_putc(c->b, '*');
  qsC_list(c, idx, "args", ", ", 0);
  qs_buf_putc(c->b, ')');
}

static void case_(qsC *c, int idx) {
  lua_State *L = c->L;
  int i, n, value;
  qsC_puts(c, "CASE");
  if (qsC_field(c, idx, "value") != LUA_TNIL) {
    qs_buf_putc(c->b, ' ');
    qsC_expr(c, lua_gettop(L));
  }
  value = lua_gettop(L);   /* kept: each WHEN is compared with it */
  qsC_field(c, idx, "whens");
  n = lua_istable(L, -1) ? (int)lua_rawlen(L, -1) : 0;
  for (i = 1; i <= n; i++) {
    lua_rawgeti(L, -1, i);
    qsC_puts(c, " WHEN ");
    lua_rawgeti(L, -1, 1);
    if (lua_isnil(L, value)) qsC_expr(c, lua_gettop(L));
    else operand(c, lua_gettop(L), value, 0);
    lua_pop(L, 1);
    qsC_puts(c, " THEN ");
    lua_rawgeti(L, -1, 2);
    qsC_expr(c, lua_gettop(L));
    lua_pop(L, 2);
  }
  lua_pop(L, 2);
  if (qsC_field(c, idx, "else_") != LUA_TNIL) {
    qsC_puts(c, " ELSE ");
    qsC_expr(c, lua_gettop(L));
  }
  lua_pop(L, 1);
  qsC_puts(c, " END");
}

static void in_(qsC *c, int idx, int outer) {
  lua_State *L = c->L;
  int negate, n, paren = precedence[QSO_EQ] < outer;
  lua_getfield(L, idx, "negate");
  negate = lua_toboolean(L, -1);
  lua_pop(L, 1);
  if (paren) qs_buf_putc(c->b, '(');
  sub(c, idx, "left", precedence[QSO_EQ] + 1);
  qsC_puts(c, negate ? " NOT IN " : " IN ");
  if (qsC_field(c, idx, "select") != LUA_TNIL) {
    qs_buf_putc(c->b, '(');
    qsC_any_select(c, lua_gettop(L));
    qs_buf_putc(c->b, ')');
    lua_pop(L, 1);
  } else {
    lua_pop(L, 1);
    qsC_field(c, idx, "values");
    n = lua_istable(L, -1) ? (int)lua_rawlen(L, -1) : 0;
    lua_pop(L, 1);
    if (n == 0) {
      /* SQLAlchemy's empty-set forms: a subquery that returns no row */
      if (is_dialect(c, "postgresql")) qsC_puts(c, "(SELECT CAST(NULL AS INTEGER) WHERE 1!=1)");
      else if (is_mysql(c)) qsC_puts(c, "(SELECT 1 FROM (SELECT 1) AS _empty_set WHERE 1!=1)");
      else qsC_puts(c, "(SELECT 1 FROM (SELECT 1) WHERE 1!=1)");
    } else {
      int i, vals, left;
      qsC_field(c, idx, "left");
      left = lua_gettop(L);
      qsC_field(c, idx, "values");
      vals = lua_gettop(L);
      qs_buf_putc(c->b, '(');
      for (i = 1; i <= n; i++) {
        if (i > 1) qsC_puts(c, ", ");
        lua_rawgeti(L, vals, i);
        operand(c, lua_gettop(L), left, 0);
        lua_pop(L, 1);
      }
      qs_buf_putc(c->b, ')');
      lua_pop(L, 2);
    }
  }
  if (paren) qs_buf_putc(c->b, ')');
}

static void between(qsC *c, int idx, int outer) {
  int negate, paren = precedence[QSO_EQ] < outer;
  lua_getfield(c->L, idx, "negate");
  negate = lua_toboolean(c->L, -1);
  lua_pop(c->L, 1);
  if (paren) qs_buf_putc(c->b, '(');
  sub(c, idx, "element", precedence[QSO_EQ] + 1);
  qsC_puts(c, negate ? " NOT BETWEEN " : " BETWEEN ");
  sub_next_to(c, idx, "lower", "element", precedence[QSO_EQ] + 1);
  qsC_puts(c, " AND ");
  sub_next_to(c, idx, "upper", "element", precedence[QSO_EQ] + 1);
  if (paren) qs_buf_putc(c->b, ')');
}

/* JSON element access: col:get(key) / col:path({...}) and their as_*()
** forms. The path travels as a bind parameter: "key" holds the SQL/JSON
** path ($."a"[2]) for SQLite and MySQL, "pg_key" the key, index or text[]
** literal for PostgreSQL's -> / #> operators. */
static void json_get(qsC *c, int idx) {
  size_t n;
  const char *as = qsC_string(c, idx, "as", &n);
  const char *mode = qsC_string(c, idx, "mode", &n);
  int path = mode && strcmp(mode, "path") == 0;
  const char *open = "", *close = "";
  if (is_dialect(c, "postgresql")) {
    int text = as != NULL;
    if (as && strcmp(as, "integer") == 0) open = "CAST(", close = " AS INTEGER)";
    else if (as && strcmp(as, "float") == 0) open = "CAST(", close = " AS FLOAT)";
    else if (as && strcmp(as, "boolean") == 0) open = "CAST(", close = " AS BOOLEAN)";
    qsC_puts(c, open);
    sub(c, idx, "left", precedence[QSO_CONCAT] + 1);
    qsC_puts(c, path ? (text ? " #>> " : " #> ") : (text ? " ->> " : " -> "));
    c->bind_cast_off++;   /* cast below, to the key's own type */
    sub(c, idx, "pg_key", precedence[QSO_CONCAT] + 1);
    c->bind_cast_off--;
    /* -> and ->> exist for text keys and integer indexes: say which */
    if (path) {
      qsC_puts(c, "::TEXT[]");
    } else {
      int integer = 0;
      qsC_field(c, idx, "pg_key");
      if (qsC_field(c, lua_gettop(c->L), "value") == LUA_TNUMBER) integer = 1;
      lua_pop(c->L, 2);
      qsC_puts(c, integer ? "::INTEGER" : "::TEXT");
    }
    qsC_puts(c, close);
    return;
  }
  if (is_mysql(c)) {
    if (as && strcmp(as, "string") == 0) open = "JSON_UNQUOTE(", close = ")";
    else if (as && strcmp(as, "integer") == 0) open = "CAST(", close = " AS SIGNED)";
    else if (as && strcmp(as, "float") == 0) open = "CAST(", close = " AS DOUBLE)";
  } else {
    if (as == NULL) open = "JSON_QUOTE(", close = ")";
    else if (strcmp(as, "integer") == 0) open = "CAST(", close = " AS INTEGER)";
    else if (strcmp(as, "float") == 0) open = "CAST(", close = " AS REAL)";
  }
  qsC_puts(c, open);
  qsC_puts(c, "JSON_EXTRACT(");
  sub(c, idx, "left", 0);
  qsC_puts(c, ", ");
  sub(c, idx, "key", 0);
  qs_buf_putc(c->b, ')');
  qsC_puts(c, close);
}

/* A window frame bound, made by Lua from checked integers; checked again
** here because it is written into the SQL as text. */
static void frame_bound(qsC *c, int idx, const char *name) {
  size_t n, i;
  const char *s = qsC_string(c, idx, name, &n);
  int ok = s != NULL;
  if (ok && strcmp(s, "UNBOUNDED PRECEDING") && strcmp(s, "UNBOUNDED FOLLOWING") &&
      strcmp(s, "CURRENT ROW")) {
    for (i = 0; i < n && s[i] >= '0' && s[i] <= '9'; i++) {}
    ok = i > 0 && (strcmp(s + i, " PRECEDING") == 0 || strcmp(s + i, " FOLLOWING") == 0);
  }
  if (!ok) qsC_error(c, QS_COMPILE, "invalid window frame bound");
  qsC_puts(c, s);
}

static void over(qsC *c, int idx) {
  lua_State *L = c->L;
  int any = 0;
  size_t n;
  const char *frame;
  sub(c, idx, "element", 0);
  qsC_puts(c, " OVER (");
  if (qsC_field(c, idx, "partition_by") == LUA_TTABLE && lua_rawlen(L, -1) > 0) {
    qsC_puts(c, "PARTITION BY ");
    qsC_list(c, idx, "partition_by", ", ", 0);
    any = 1;
  }
  lua_pop(L, 1);
  if (qsC_field(c, idx, "order_by") == LUA_TTABLE && lua_rawlen(L, -1) > 0) {
    qsC_puts(c, any ? " ORDER BY " : "ORDER BY ");
    qsC_list(c, idx, "order_by", ", ", 0);
    any = 1;
  }
  lua_pop(L, 1);
  frame = qsC_string(c, idx, "frame", &n);
  if (frame) {
    if (strcmp(frame, "ROWS") != 0 && strcmp(frame, "RANGE") != 0)
      qsC_error(c, QS_COMPILE, "invalid window frame");
    qsC_puts(c, any ? " " : "");
    qsC_puts(c, frame);
    qsC_puts(c, " BETWEEN ");
    frame_bound(c, idx, "lower");
    qsC_puts(c, " AND ");
    frame_bound(c, idx, "upper");
  }
  qs_buf_putc(c->b, ')');
}

/* MySQL's CAST takes only a few targets (SQLAlchemy's MySQL visit_typeclause):
** the name for kind t, "" when the cast is left out (the value keeps its
** form and the result type still converts it), or NULL for the DDL name. */
static const char *mysql_cast_target(qsC *c, const char *t, int typeidx, qs_buf *tmp) {
  long len = -1, p = -1, sc = -1;
  if (qsC_field(c, typeidx, "length") == LUA_TNUMBER) len = (long)lua_tointeger(c->L, -1);
  lua_pop(c->L, 1);
  if (qsC_field(c, typeidx, "precision") == LUA_TNUMBER) p = (long)lua_tointeger(c->L, -1);
  lua_pop(c->L, 1);
  if (qsC_field(c, typeidx, "scale") == LUA_TNUMBER) sc = (long)lua_tointeger(c->L, -1);
  lua_pop(c->L, 1);
  if (!strcmp(t, "INTEGER") || !strcmp(t, "BIGINT") || !strcmp(t, "SMALLINT")) return "SIGNED INTEGER";
  if (!strcmp(t, "VARCHAR") || !strcmp(t, "TEXT")) {
    if (len > 0) {
      qs_buf_printf(tmp, "CHAR(%ld)", len);
      return tmp->failed ? "CHAR" : tmp->p;
    }
    return "CHAR";
  }
  if (!strcmp(t, "NUMERIC")) {
    if (p > 0 && sc >= 0) qs_buf_printf(tmp, "DECIMAL(%ld, %ld)", p, sc);
    else if (p > 0) qs_buf_printf(tmp, "DECIMAL(%ld)", p);
    else return "DECIMAL";
    return tmp->failed ? "DECIMAL" : tmp->p;
  }
  if (!strcmp(t, "FLOAT")) return "FLOAT";         /* MariaDB 10.4.5+, MySQL 8.0.17+ */
  if (!strcmp(t, "INTERVAL")) return "DOUBLE";     /* seconds, as the column stores them */
  if (!strcmp(t, "DATETIME")) return "DATETIME";
  if (!strcmp(t, "DATE")) return "DATE";
  if (!strcmp(t, "TIME")) return "TIME";
  if (!strcmp(t, "BLOB")) return "BINARY";
  if (!strcmp(t, "UUID")) return "CHAR(36)";
  if (!strcmp(t, "JSON")) return is_dialect(c, "mariadb") ? "" : "JSON";   /* MariaDB's JSON is text */
  if (!strcmp(t, "BOOLEAN") || !strcmp(t, "ENUM")) return "";
  return NULL;
}

static int is_number_kind(const char *t) {
  return t && (!strcmp(t, "INTEGER") || !strcmp(t, "BIGINT") || !strcmp(t, "SMALLINT") ||
               !strcmp(t, "FLOAT") || !strcmp(t, "NUMERIC"));
}

/* CAST(x AS type) with the target the dialect's CAST understands. An
** interval is seconds in Lua and on the backends without INTERVAL, so on
** PostgreSQL a number cast to Interval is that many seconds and an interval
** cast to a number its seconds (CAST would refuse both). */
static void cast(qsC *c, int idx, int prec) {
  lua_State *L = c->L;
  size_t n;
  const char *t, *et = NULL, *target = NULL, *fn = NULL, *inner = NULL;
  qs_buf *tmp = qsB_newbuf(L);   /* owned by the stack: freed on raise */
  int typeidx;
  qsC_field(c, idx, "type");
  typeidx = lua_gettop(L);
  t = qsC_string(c, typeidx, "_t", &n);
  if (t == NULL) qsC_error(c, QS_COMPILE, "CAST without a type");
  qsC_field(c, idx, "element");
  if (qsC_field(c, lua_gettop(L), "type") == LUA_TTABLE) et = qsC_string(c, lua_gettop(L), "_t", &n);
  lua_pop(L, 2);   /* the type tables are the statement's: et stays valid */
  if (is_mysql(c)) {
    target = mysql_cast_target(c, t, typeidx, tmp);
  } else if (is_dialect(c, "sqlite")) {
    /* SQLite casts by affinity: DATE, DATETIME, TIME and JSON would be
    ** NUMERIC ('2024-05-01' becomes 2024); its date functions give the
    ** ISO-8601 text, and JSON is text already */
    if (!strcmp(t, "DATE")) fn = "date(";
    else if (!strcmp(t, "DATETIME")) fn = "datetime(";
    else if (!strcmp(t, "TIME")) fn = "time(";
    else if (!strcmp(t, "JSON")) target = "TEXT";
  } else if (is_dialect(c, "postgresql")) {
    if (!strcmp(t, "INTERVAL") && is_number_kind(et)) fn = "make_interval(secs => ";
    else if (is_number_kind(t) && et && !strcmp(et, "INTERVAL")) inner = "EXTRACT(EPOCH FROM ";
  }
  if (target && *target == '\0') {   /* no such CAST on this dialect */
    sub(c, idx, "element", prec);
  } else if (fn) {
    qsC_puts(c, fn);
    sub(c, idx, "element", 0);
    qs_buf_putc(c->b, ')');
  } else {
    qsC_puts(c, "CAST(");
    if (inner) qsC_puts(c, inner);
    sub(c, idx, "element", 0);
    if (inner) qs_buf_putc(c->b, ')');
    qsC_puts(c, " AS ");
    if (target) qsC_puts(c, target);
    else qsC_type(c, typeidx, 0);
    qs_buf_putc(c->b, ')');
  }
  lua_pop(L, 2);
}

void qsC_expr(qsC *c, int idx) { qsC_expr_prec(c, idx, 0); }

void qsC_expr_prec(qsC *c, int idx, int prec) {
  lua_State *L = c->L;
  int k;
  size_t n;
  const char *s;
  idx = lua_absindex(L, idx);
  luaL_checkstack(L, 20, "expression too deeply nested");
  if (++c->expr_depth > QS_MAX_EXPR_DEPTH)
    qsC_error(c, QS_COMPILE, "expression nested deeper than %d levels", QS_MAX_EXPR_DEPTH);
  k = qsC_kind(L, idx);
  switch (k) {
    case QSK_COLUMN: column(c, idx); break;
    case QSK_LITERAL_COLUMN:
      s = qsC_string(c, idx, "text", &n);
      if (s == NULL) qsC_error(c, QS_COMPILE, "literal column without text");
      qs_buf_append(c->b, s, n);
      break;
    case QSK_STAR:
      if (qsC_field(c, idx, "table") == LUA_TTABLE) {
        from_name(c, lua_gettop(L));
        qs_buf_putc(c->b, '.');
      }
      lua_pop(L, 1);
      qs_buf_putc(c->b, '*');
      break;
    case QSK_BIND: qsC_bind(c, idx); break;
    case QSK_NULL: qsC_puts(c, "NULL"); break;
    case QSK_TRUE: qs_render_bool(c->d, c->b, 1); break;
    case QSK_FALSE: qs_render_bool(c->d, c->b, 0); break;
    case QSK_TEXT: qsC_text(c, idx); break;
    case QSK_BINARY: binary(c, idx, prec); break;
    case QSK_UNARY: unary(c, idx, prec); break;
    case QSK_LIST: clause_list(c, idx, prec); break;
    case QSK_GROUPING:
      qs_buf_putc(c->b, '(');
      sub(c, idx, "element", 0);
      qs_buf_putc(c->b, ')');
      break;
    case QSK_FUNCTION: function(c, idx); break;
    case QSK_LABEL:   /* "expr AS name" in a columns clause: stmt.c */
      s = qsC_string(c, idx, "name", &n);
      if (c->label_refs && s) qsC_ident(c, s, n);
      else sub(c, idx, "element", prec);
      break;
    case QSK_CAST: cast(c, idx, prec); break;
    case QSK_CASE: case_(c, idx); break;
    case QSK_JSON_GET: json_get(c, idx); break;
    case QSK_OVER: over(c, idx); break;
    case QSK_VALUES_REF:   /* stmt.inserted.col in ON DUPLICATE KEY UPDATE */
      if (!is_mysql(c)) qsC_error(c, QS_COMPILE, "inserted.<column> is MySQL's; use excluded on %s", c->d->name);
      s = qsC_string(c, idx, "name", &n);
      qsC_puts(c, "VALUES(");
      qsC_ident(c, s, n);
      qs_buf_putc(c->b, ')');
      break;
    case QSK_COMPOUND:
      qs_buf_putc(c->b, '(');
      qsC_compound(c, idx);
      qs_buf_putc(c->b, ')');
      break;
    case QSK_IN: in_(c, idx, prec); break;
    case QSK_BETWEEN: between(c, idx, prec); break;
    case QSK_SCALAR_SELECT:
      qs_buf_putc(c->b, '(');
      qsC_field(c, idx, "element");
      qsC_any_select(c, lua_gettop(L));
      lua_pop(L, 1);
      qs_buf_putc(c->b, ')');
      break;
    case QSK_EXISTS:
      qsC_puts(c, "EXISTS (");
      qsC_field(c, idx, "element");
      qsC_any_select(c, lua_gettop(L));
      lua_pop(L, 1);
      qs_buf_putc(c->b, ')');
      break;
    case QSK_SELECT:
      qs_buf_putc(c->b, '(');
      qsC_select(c, idx);
      qs_buf_putc(c->b, ')');
      break;
    case QSK_TABLE: case QSK_ALIAS: case QSK_JOIN: case QSK_CTE:
      qsC_from(c, idx);
      break;
    default:
      lua_pushfstring(L, "cannot compile %s as SQL", luaL_typename(L, idx));
      qsC_error(c, QS_ARGUMENT, "%s (use col:eq() for comparisons, qs.true_()/qs.false_() for truth)",
                lua_tostring(L, -1));
  }
  c->expr_depth--;
}
