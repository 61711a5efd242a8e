/*
** expr.c: expressions: columns, binds, operators, functions, CASE,
** CAST, IN, BETWEEN, labels and subqueries used as values.
*/
#include "compile.h"

#include <string.h>

static void expr_prec(qsC *c, int idx, int prec);

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

/* Renders field name of idx as an expression at precedence prec. */
static void sub(qsC *c, int idx, const char *name, int prec) {
  if (qsC_field(c, idx, name) == LUA_TNIL) qsC_malformed(c, idx, name, "a node", LUA_TNIL);
  expr_prec(c, lua_gettop(c->L), prec);
  lua_pop(c->L, 1);
}

/* Whether the node at a is a parameter the server types from the node at b
** (on a dialect that casts its parameters, xBindCast):
** an operand of the same type that is not a parameter itself ("col = $1"
** gives $1 the column's type, so a cast would only repeat it). */
static int typed_by(qsC *c, int a, int b) {
  lua_State *L = c->L;
  int same = 0;
  if (c->d->xBindCast == NULL || qsC_kind(L, a) != QSK_BIND || qsC_kind(L, b) == QSK_BIND ||
      qsC_kind(L, b) == 0)
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
  expr_prec(c, v, prec);
  c->bind_cast_off -= off;
}

/* Renders field name of idx, an operand next to field other of idx. */
static void sub_next_to(qsC *c, int idx, const char *name, const char *other, int prec) {
  lua_State *L = c->L;
  if (qsC_field(c, idx, name) == LUA_TNIL) qsC_malformed(c, idx, name, "a node", LUA_TNIL);
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
    name = qsC_name(c, idx, "name", &n);
    qsC_ident(c, name, n);
  } else if (k == QSK_ALIAS) {
    name = qsC_alias_name(c, idx, &n);
    qsC_ident(c, name, n);
  } else {
    qsC_error(c, QS_ARGUMENT, "a column's table is not a table or alias");
  }
}

static void column(qsC *c, int idx) {
  lua_State *L = c->L;
  size_t n;
  const char *name = qsC_name(c, idx, "name", &n);
  int t = qsC_field(c, idx, "table");
  if (t != LUA_TNIL && t != LUA_TTABLE) qsC_malformed(c, idx, "table", "a table node", t);
  if (t == LUA_TTABLE && !c->unqualified) {
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

/* The node a dialect hook renders (its qs_parts' ud): where the node
** stands, and the precedences its pieces take next to an operator. */
typedef struct node_parts {
  qsC *c;
  int idx;           /* the node */
  int prec, rprec;   /* left and right operands' precedence; a CAST's own */
  int typeidx;       /* a CAST's target type */
} node_parts;

/* Field name of the node o renders (other: the operand beside it) where
** place says: alone, next to the operator (parenthesized by precedence, a
** parameter typed by the other operand), or only parenthesized by
** precedence. */
static void operand_at(node_parts *o, qs_place place, const char *name, const char *other, int prec) {
  if (place == QS_PLACE_ALONE) sub(o->c, o->idx, name, 0);
  else if (place == QS_PLACE_OPERAND) sub_next_to(o->c, o->idx, name, other, prec);
  else sub(o->c, o->idx, name, prec);
}

/* An operator's operands, as its dialect's xOperator asks for them. */
static void render_operand(void *ud, qs_part part, qs_place place) {
  node_parts *o = ud;
  if (part == QS_PART_LEFT) operand_at(o, place, "left", "right", o->prec);
  else if (part == QS_PART_RIGHT) operand_at(o, place, "right", "left", o->rprec);
  else qsC_error(o->c, QS_COMPILE, "no such operand");
}

/* The ARRAY / JSONB operators (sql/pg_ops.lua): spelt by the dialect, which
** refuses them (QS_MISUSE) where the database has none. */
static const char *pg_operator_name(int op) {
  switch (op) {
    case QSO_CONTAINS: return "contains (@>)";
    case QSO_CONTAINED_BY: return "contained_by (<@)";
    case QSO_OVERLAP: return "overlap (&&)";
    case QSO_HAS_KEY: return "has_key (?)";
    case QSO_HAS_ANY: return "has_any (?|)";
    case QSO_PATH_EXISTS: return "path_exists (@?)";
    case QSO_PATH_MATCH: return "path_match (@@)";
    default: return "has_all (?&)";
  }
}

static int pg_operator_dop(qsC *c, int op) {
  (void)c;
  switch (op) {
    case QSO_CONTAINS: return QS_DOP_CONTAINS;
    case QSO_CONTAINED_BY: return QS_DOP_CONTAINED_BY;
    case QSO_OVERLAP: return QS_DOP_OVERLAP;
    case QSO_HAS_KEY: return QS_DOP_HAS_KEY;
    case QSO_HAS_ANY: return QS_DOP_HAS_ANY;
    case QSO_PATH_EXISTS: return QS_DOP_PATH_EXISTS;
    case QSO_PATH_MATCH: return QS_DOP_PATH_MATCH;
    default: return QS_DOP_HAS_ALL;
  }
}

static void binary(qsC *c, int idx, int outer) {
  int op = op_of(c, idx), prec = precedence[op];
  if (op == QSO_CUSTOM || op == QSO_REGEXP || op == QSO_NOT_REGEXP || op == QSO_REGEXP_REPLACE) {
    qsC_op_binary(c, idx, op, outer);   /* operators.c */
    return;
  }
  int paren = prec < outer;
  /* comparisons and non-associative operators parenthesize an equal right side */
  int rprec = (op == QSO_ADD || op == QSO_MUL || op == QSO_AND || op == QSO_OR) ? prec : prec + 1;
  int dop = -1;
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
    case QSO_ILIKE: dop = QS_DOP_ILIKE; break;
    case QSO_NOT_ILIKE: dop = QS_DOP_NOT_ILIKE; break;
    case QSO_CONCAT: dop = QS_DOP_CONCAT; break;
    case QSO_TRUEDIV_INT: dop = QS_DOP_TRUEDIV_INT; break;   /* true division of integers (SQLAlchemy 2.0) */
    case QSO_FLOORDIV_INT: dop = QS_DOP_FLOORDIV_INT; break;
    case QSO_CONTAINS: case QSO_CONTAINED_BY: case QSO_OVERLAP:
    case QSO_HAS_KEY: case QSO_HAS_ANY: case QSO_HAS_ALL: case QSO_PATH_EXISTS: case QSO_PATH_MATCH:
      dop = pg_operator_dop(c, op);
      break;
    case QSO_IS_DISTINCT_FROM: dop = QS_DOP_IS_DISTINCT_FROM; break;
    case QSO_IS_NOT_DISTINCT_FROM: dop = QS_DOP_IS_NOT_DISTINCT_FROM; break;
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
  } else if (dop >= 0) {   /* spelt by the dialect */
    node_parts o;
    qs_parts parts;
    o.c = c, o.idx = idx, o.prec = prec, o.rprec = rprec, o.typeidx = 0;
    parts.render = render_operand, parts.ud = &o;
    if (c->d->xOperator(c->d, c->b, (qs_dialect_op)dop, &parts) == QS_MISUSE)
      qsC_error(c, QS_COMPILE, "the %s operator is not supported on dialect %s",
                pg_operator_name(op), c->d->name);
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
        qsC_marks_shift(c, at);   /* placeholders after it moved */
      }
      break;
    }
    case QSO_DESC: sub(c, idx, "element", 0); qsC_puts(c, " DESC"); break;
    case QSO_ASC: sub(c, idx, "element", 0); qsC_puts(c, " ASC"); break;
    case QSO_NULLS_FIRST: sub(c, idx, "element", 0); qsC_puts(c, " NULLS FIRST"); break;
    case QSO_NULLS_LAST: sub(c, idx, "element", 0); qsC_puts(c, " NULLS LAST"); break;
    case QSO_DISTINCT: qsC_puts(c, "DISTINCT "); sub(c, idx, "element", 0); break;
    case QSO_COLLATE: case QSO_FILTER: case QSO_WITHIN_GROUP: qsC_op_unary(c, idx, op, outer); break;
    default: qsC_error(c, QS_COMPILE, "operator %d is not unary", op);
  }
}

/* Renders the list field name of idx joined by sep. */
void qsC_list(qsC *c, int idx, const char *name, const char *sep, int prec);
void qsC_list(qsC *c, int idx, const char *name, const char *sep, int prec) {
  lua_State *L = c->L;
  int i, n = qsC_list_field(c, idx, name);
  for (i = 1; i <= n; i++) {
    if (i > 1) qsC_puts(c, sep);
    lua_rawgeti(L, -1, i);
    expr_prec(c, lua_gettop(L), prec);
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
}

static void clause_list(qsC *c, int idx, int outer) {
  lua_State *L = c->L;
  int op = op_of(c, idx), n, prec = precedence[op];
  const char *sep = op == QSO_AND ? " AND " : op == QSO_OR ? " OR " : ", ";
  n = qsC_list_field(c, idx, "clauses");
  lua_pop(L, 1);
  if (n == 0 && (op == QSO_AND || op == QSO_OR)) {
    /* an empty and_() is true, an empty or_() false */
    if (!qs_dialect_can(c->d, QS_CAP(NATIVE_BOOLEAN))) qsC_puts(c, op == QSO_AND ? "1 = 1" : "1 != 1");
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
  int nargs, filter = c->agg_filter;   /* an emulated FILTER's condition (operators.c) */
  c->agg_filter = 0;
  if (name == NULL || n == 0) qsC_error(c, QS_COMPILE, "function without a name");
  for (i = 0; i < n; i++) {
    char ch = name[i];
    if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_' || ch == '.' ||
          (i > 0 && ch >= '0' && ch <= '9')))
      qsC_error(c, QS_COMPILE, "invalid SQL function name '%s'", name);
  }
  nargs = qsC_list_field(c, idx, "args");
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
    if (strcasecmp_ascii(name, "now") == 0 && c->d->now_function) {
      qsC_puts(c, c->d->now_function);
      return;
    }
  }
  qs_buf_append(c->b, name, n);
  qs_buf_putc(c->b, '(');
  if (filter) qsC_filter_args(c, idx, filter, strcasecmp_ascii(name, "count") == 0);
  else {
    if (nargs == 0 && strcasecmp_ascii(name, "count") == 0) qs_buf_putc(c->b, '*');
    qsC_list(c, idx, "args", ", ", 0);
  }
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
  n = qsC_list_field(c, idx, "whens");
  if (n == 0) qsC_malformed(c, idx, "whens", "a non-empty list of {condition, result} pairs", LUA_TNIL);
  for (i = 1; i <= n; i++) {
    lua_rawgeti(L, -1, i);
    qsC_need_table(c, -1, idx, "whens");
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

/* The dialect's empty set for "x IN ()": where it holds "%s" (a typed NULL),
** x's type goes there (SQLAlchemy's visit_empty_set_expr), INTEGER when x
** has none (a NULL type, a literal): the comparison needs equal types. */
static void empty_in_set(qsC *c, int idx) {
  lua_State *L = c->L;
  const char *set = c->d->empty_in_set, *at = strstr(set, "%s");
  size_t n;
  const char *kind = NULL;
  int typeidx, top = lua_gettop(L);
  if (at == NULL) {
    qsC_puts(c, set);
    return;
  }
  qs_buf_append(c->b, set, (size_t)(at - set));
  qsC_field(c, idx, "left");
  if (qsC_kind(L, -1) != 0 && qsC_field(c, lua_gettop(L), "type") == LUA_TTABLE) {
    typeidx = lua_gettop(L);
    kind = qsC_string_opt(c, typeidx, "_t", &n);
    if (kind && strcmp(kind, "NULL") != 0) qsC_type(c, typeidx, 0);
    else kind = NULL;
  }
  if (kind == NULL) qsC_puts(c, "INTEGER");
  lua_settop(L, top);
  qsC_puts(c, at + 2);
}

static void in_(qsC *c, int idx, int outer) {
  lua_State *L = c->L;
  int negate, n, paren = precedence[QSO_EQ] < outer;
  negate = qsC_bool(c, idx, "negate");
  if (paren) qs_buf_putc(c->b, '(');
  sub(c, idx, "left", precedence[QSO_EQ] + 1);
  qsC_puts(c, negate ? " NOT IN " : " IN ");
  if (qsC_field(c, idx, "expanding") == LUA_TTABLE) {   /* a list per execution: expand.c */
    qsC_in_expanding(c, idx, lua_gettop(L));
    lua_pop(L, 1);
    if (paren) qs_buf_putc(c->b, ')');
    return;
  }
  lua_pop(L, 1);
  if (qsC_field(c, idx, "select") != LUA_TNIL) {
    qs_buf_putc(c->b, '(');
    qsC_any_select(c, lua_gettop(L));
    qs_buf_putc(c->b, ')');
    lua_pop(L, 1);
  } else {
    lua_pop(L, 1);
    n = qsC_list_field(c, idx, "values");
    lua_pop(L, 1);
    if (n == 0) {
      /* SQLAlchemy's empty-set forms: a subquery that returns no row */
      empty_in_set(c, idx);
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
  negate = qsC_bool(c, idx, "negate");
  if (paren) qs_buf_putc(c->b, '(');
  sub(c, idx, "element", precedence[QSO_EQ] + 1);
  qsC_puts(c, negate ? " NOT BETWEEN " : " BETWEEN ");
  sub_next_to(c, idx, "lower", "element", precedence[QSO_EQ] + 1);
  qsC_puts(c, " AND ");
  sub_next_to(c, idx, "upper", "element", precedence[QSO_EQ] + 1);
  if (paren) qs_buf_putc(c->b, ')');
}

/* The pieces of a JSON access a dialect's xJsonGet asks for. */
static void render_json_part(void *ud, qs_part part, qs_place place) {
  node_parts *o = ud;
  qsC *c = o->c;
  int prec = place == QS_PLACE_ALONE ? 0 : precedence[QSO_CONCAT] + 1;
  if (part == QS_PART_LEFT) {
    sub(c, o->idx, "left", prec);
  } else if (part == QS_PART_JSON_PATH || part == QS_PART_JSON_PATH_SQLITE) {
    /* the SQLite linked may read a key holding '"' only unquoted: a node
    ** with such a key carries that form of the path too (sql/elements.lua) */
    int own = 0;
    if (part == QS_PART_JSON_PATH_SQLITE) {
      lua_pushliteral(c->L, "sqlite_key");   /* raw: the node's class has no such field */
      own = qsL_rawget(c->L, o->idx < 0 ? o->idx - 1 : o->idx) == LUA_TTABLE;
      lua_pop(c->L, 1);
    }
    sub(c, o->idx, own ? "sqlite_key" : "key", prec);
  } else if (part == QS_PART_JSON_KEY) {
    c->bind_cast_off++;   /* the dialect says the key's own type */
    sub(c, o->idx, "pg_key", prec);
    c->bind_cast_off--;
  } else {
    qsC_error(c, QS_COMPILE, "no such part of a JSON access");
  }
}

/* JSON element access: col:get(key) / col:path({...}) and their as_*()
** forms. The path travels as a bind parameter: "key" holds the SQL/JSON
** path ($."a"[2]), "pg_key" the key, index or text[] literal for operator
** forms such as PostgreSQL's -> / #>. */
static void json_get(qsC *c, int idx) {
  size_t n;
  const char *mode = qsC_string(c, idx, "mode", &n);
  qs_json_desc j;
  node_parts o;
  qs_parts parts;
  j.as = qsC_string(c, idx, "as", &n);
  j.path = mode && strcmp(mode, "path") == 0;
  j.integer_key = 0;
  if (qsC_field(c, idx, "pg_key") == LUA_TTABLE) {
    if (qsC_field(c, lua_gettop(c->L), "value") == LUA_TNUMBER) j.integer_key = 1;
    lua_pop(c->L, 1);
  }
  lua_pop(c->L, 1);
  o.c = c, o.idx = idx, o.prec = o.rprec = o.typeidx = 0;
  parts.render = render_json_part, parts.ud = &o;
  c->d->xJsonGet(c->d, c->b, &j, &parts);
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
  if (qsC_list_field(c, idx, "partition_by") > 0) {
    qsC_puts(c, "PARTITION BY ");
    qsC_list(c, idx, "partition_by", ", ", 0);
    any = 1;
  }
  lua_pop(L, 1);
  if (qsC_list_field(c, idx, "order_by") > 0) {
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

/* The pieces of a CAST a dialect's xCast asks for: the element (alone, or
** where the CAST would stand when the dialect leaves the CAST out) and the
** target's DDL type name. */
static void render_cast_part(void *ud, qs_part part, qs_place place) {
  node_parts *p = ud;
  if (part == QS_PART_ELEMENT) sub(p->c, p->idx, "element", place == QS_PLACE_ALONE ? 0 : p->prec);
  else if (part == QS_PART_TYPE) qsC_type(p->c, p->typeidx, 0);
  else qsC_error(p->c, QS_COMPILE, "no such part of a CAST");
}

/* CAST(x AS type) as the dialect's CAST understands it (its xCast). */
static void cast(qsC *c, int idx, int prec) {
  lua_State *L = c->L;
  size_t n;
  const char *et = NULL;
  qs_type_desc t;
  node_parts cp;
  qs_parts parts;
  if (qsC_field(c, idx, "type") != LUA_TTABLE) qsC_malformed(c, idx, "type", "a type", lua_type(L, -1));
  cp.typeidx = lua_gettop(L);
  qsC_type_desc(c, cp.typeidx, &t);
  if (t.kind == NULL) qsC_error(c, QS_COMPILE, "CAST without a type");
  qsC_field(c, idx, "element");
  if (qsC_kind(L, -1) == 0) qsC_malformed(c, idx, "element", "a node", lua_type(L, -1));
  if (qsC_field(c, lua_gettop(L), "type") == LUA_TTABLE) et = qsC_string(c, lua_gettop(L), "_t", &n);
  lua_pop(L, 2);   /* the type tables are the statement's: et stays valid */
  cp.c = c, cp.idx = idx, cp.prec = cp.rprec = prec;
  parts.render = render_cast_part, parts.ud = &cp;
  c->d->xCast(c->d, c->b, &t, et, &parts);
  lua_pop(L, 1);
}

/* ARRAY (sql/pg_ops.lua): what only a database with ARRAY types renders. */
static void need_array(qsC *c, const char *what) {
  if (!qs_dialect_can(c->d, QS_CAP(ARRAY)))
    qsC_error(c, QS_COMPILE, "%s is PostgreSQL's ARRAY; not supported on dialect %s", what, c->d->name);
}

/* arr[i] / arr[i:j] (1-based, as the database counts). The array is
** parenthesized unless it is a column (a subscript binds tighter than
** anything); the subscripts are integers, typed by the server. */
static void array_index(qsC *c, int idx) {
  lua_State *L = c->L;
  int k, bare;
  need_array(c, "an ARRAY subscript (col:item(i) / col:slice(i, j))");
  if (qsC_field(c, idx, "array") == LUA_TNIL) qsC_malformed(c, idx, "array", "a node", LUA_TNIL);
  k = qsC_kind(L, -1);
  bare = k == QSK_COLUMN || k == QSK_ARRAY_INDEX;
  if (!bare) qs_buf_putc(c->b, '(');
  qsC_expr(c, lua_gettop(L));
  if (!bare) qs_buf_putc(c->b, ')');
  lua_pop(L, 1);
  qs_buf_putc(c->b, '[');
  sub(c, idx, "index", 0);
  if (qsC_field(c, idx, "stop") != LUA_TNIL) {
    qs_buf_putc(c->b, ':');
    qsC_expr(c, lua_gettop(L));
  }
  lua_pop(L, 1);
  qs_buf_putc(c->b, ']');
}

/* ANY (x) / ALL (x): x an array (PostgreSQL) or a subquery (standard SQL,
** a capability of its own). */
static void any_all(qsC *c, int idx) {
  lua_State *L = c->L;
  int all = qsC_bool(c, idx, "all"), k;
  const char *what = all ? "all_()" : "any_()";
  if (qsC_field(c, idx, "array") == LUA_TNIL) qsC_malformed(c, idx, "array", "a node", LUA_TNIL);
  k = qsC_kind(L, -1);
  if (k == QSK_SELECT || k == QSK_COMPOUND || k == QSK_SCALAR_SELECT) {
    if (!qs_dialect_can(c->d, QS_CAP(QUANTIFIED_SUBQUERY)))
      qsC_error(c, QS_COMPILE, "%s over a subquery (x = ANY (SELECT ...)) is not supported on dialect %s",
                what, c->d->name);
  } else {
    need_array(c, all ? "all_() over an array" : "any_() over an array");
  }
  qsC_puts(c, all ? "ALL (" : "ANY (");
  if (k == QSK_SELECT) {
    qsC_select(c, lua_gettop(L));
  } else if (k == QSK_COMPOUND) {
    qsC_compound(c, lua_gettop(L));
  } else if (k == QSK_SCALAR_SELECT) {
    qsC_field(c, lua_gettop(L), "element");
    qsC_any_select(c, lua_gettop(L));
    lua_pop(L, 1);
  } else {
    qsC_expr(c, lua_gettop(L));
  }
  lua_pop(L, 1);
  qs_buf_putc(c->b, ')');
}

/* ARRAY[a, b, ...]. */
static void array_literal(qsC *c, int idx) {
  need_array(c, "qs.array() (ARRAY[...])");
  qsC_puts(c, "ARRAY[");
  qsC_list(c, idx, "items", ", ", 0);
  qs_buf_putc(c->b, ']');
}

void qsC_expr(qsC *c, int idx) { expr_prec(c, idx, 0); }
void qsC_expr_prec(qsC *c, int idx, int prec) { expr_prec(c, idx, prec); }
void qsC_operand(qsC *c, int v, int other, int prec) { operand(c, v, other, prec); }

static void expr_prec(qsC *c, int idx, int prec) {
  lua_State *L = c->L;
  int k;
  size_t n;
  const char *s;
  idx = lua_absindex(L, idx);
  qsC_enter(c);
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
    case QSK_NEXT_VALUE: qsC_next_value(c, idx); break;
    case QSK_OVER: over(c, idx); break;
    case QSK_ARRAY_INDEX: array_index(c, idx); break;
    case QSK_ANY_ALL: any_all(c, idx); break;
    case QSK_ARRAY_LITERAL: array_literal(c, idx); break;
    case QSK_VALUES_REF:   /* stmt.inserted.col in ON DUPLICATE KEY UPDATE */
      if (c->d->upsert != QS_UPSERT_ON_DUPLICATE_KEY)
        qsC_error(c, QS_COMPILE, "inserted.<column> is MySQL's; use excluded on %s", c->d->name);
      s = qsC_name(c, idx, "name", &n);
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
    case QSK_TUPLE: qsC_tuple(c, idx); break;             /* expand.c */
    case QSK_TYPE_COERCE: sub(c, idx, "element", prec); break;   /* the type is Lua's */
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
  qsC_leave(c);
}
