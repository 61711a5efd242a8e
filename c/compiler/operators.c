/*
** operators.c: the operators SQLAlchemy spells per database or takes from
** the program: op()/bool_op() (an operator string checked here again, since
** it is written into the SQL), regexp_match / regexp_replace (the dialect's
** xRegexp), COLLATE, an aggregate's FILTER (WHERE ...) (emulated with CASE
** where the dialect lacks it) and WITHIN GROUP (ORDER BY ...).
** expr.c hands these operator codes here (nodes.h); IS [NOT] DISTINCT FROM
** goes through the dialect's xOperator there.
*/
#include "compile.h"

#include <string.h>

/* The precedence of a node's own operator where nodes.h's table holds none
** that fits: a postfix form binds tighter than any operator. */
#define POSTFIX_PREC 10

static const int precedence[] = {
  0,
#define QS_PREC_(name, prec) prec,
  QS_OPERATORS(QS_PREC_)
#undef QS_PREC_
};

/* The characters an operator may be made of (PostgreSQL's, less those
** that would end or escape the SQL around it). */
static int op_char(char ch) {
  return ch != '\0' && strchr("+-*/<>=~!@#%^&|?", ch) != NULL;
}

static int letter(char ch) { return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z'); }

/* An operator string: operator characters (no "--" or a comment opening
** "/" "*"), or words of letters separated by one space ("SIMILAR TO").
** Refused too: '?' where it is the placeholder, '#' where it opens a
** comment. */
static void check_opstring(qsC *c, const char *s, size_t n) {
  size_t i;
  int ok = s != NULL && n > 0;
  if (ok && op_char(s[0])) {
    for (i = 0; i < n && ok; i++) {
      ok = op_char(s[i]);
      if (ok && i + 1 < n && ((s[i] == '-' && s[i + 1] == '-') || (s[i] == '/' && s[i + 1] == '*')))
        ok = 0;
    }
  } else if (ok) {
    for (i = 0; i < n && ok; i++)
      ok = letter(s[i]) || (s[i] == ' ' && i > 0 && i + 1 < n && s[i + 1] != ' ');
  }
  if (!ok) qsC_error(c, QS_COMPILE, "op(): invalid operator '%s' (operator characters or words only)", s ? s : "");
  if (c->d->paramstyle == QS_PARAM_QMARK && memchr(s, '?', n))
    qsC_error(c, QS_COMPILE, "op(): operator '%s' holds '?', %s's parameter placeholder", s, c->d->name);
  if (qs_dialect_form(c->d, QS_FORM_HASH_COMMENTS) && memchr(s, '#', n))
    qsC_error(c, QS_COMPILE, "op(): operator '%s' holds '#', which starts a comment on %s", s, c->d->name);
}

/* Field name of idx as an operand next to field other of idx. */
static void sub_next_to(qsC *c, int idx, const char *name, const char *other, int prec) {
  lua_State *L = c->L;
  if (qsC_field(c, idx, name) == LUA_TNIL) qsC_malformed(c, idx, name, "a node", LUA_TNIL);
  qsC_field(c, idx, other);
  qsC_operand(c, lua_gettop(L) - 1, lua_gettop(L), prec);
  lua_pop(L, 2);
}

/* Field name of idx at precedence prec (0: alone). */
static void sub(qsC *c, int idx, const char *name, int prec) {
  if (qsC_field(c, idx, name) == LUA_TNIL) qsC_malformed(c, idx, name, "a node", LUA_TNIL);
  qsC_expr_prec(c, lua_gettop(c->L), prec);
  lua_pop(c->L, 1);
}

/* left <op> right, with the node's own precedence (SQLAlchemy's scale,
** default 0). It is parenthesized wherever an operator stands around it
** that binds as tightly or more (the program's operator is no part of
** the operator table, so an equal precedence is not taken as associative),
** and so are operands of equal or lower precedence. */
static void custom_op(qsC *c, int idx, int outer) {
  size_t n;
  const char *s = qsC_string(c, idx, "opstring", &n);
  int prec = 0, paren;
  check_opstring(c, s, n);
  if (qsC_field(c, idx, "precedence") == LUA_TNUMBER) {
    lua_Number p = lua_tonumber(c->L, -1);
    if (!(p >= 0 && p <= 100)) qsC_error(c, QS_COMPILE, "op(): precedence must be from 0 to 100");
    prec = (int)p;
  }
  lua_pop(c->L, 1);
  paren = outer > 0 && prec <= outer;
  if (paren) qs_buf_putc(c->b, '(');
  sub_next_to(c, idx, "left", "right", prec + 1);
  qs_buf_putc(c->b, ' ');
  qs_buf_append(c->b, s, n);
  qs_buf_putc(c->b, ' ');
  sub_next_to(c, idx, "right", "left", prec + 1);
  if (paren) qs_buf_putc(c->b, ')');
}

/* The pieces of a regexp the dialect's xRegexp asks for. */
typedef struct regexp_parts {
  qsC *c;
  int idx;
  const char *flags;
  size_t nflags;
} regexp_parts;

static void render_regexp_part(void *ud, qs_part part, qs_place place) {
  regexp_parts *p = ud;
  qsC *c = p->c;
  int prec = place == QS_PLACE_ALONE ? 0 : precedence[QSO_REGEXP] + 1;
  if (part == QS_PART_LEFT) {
    if (place == QS_PLACE_OPERAND) sub_next_to(c, p->idx, "left", "right", prec);
    else sub(c, p->idx, "left", prec);
  } else if (part == QS_PART_RIGHT) {
    if (place == QS_PLACE_OPERAND) sub_next_to(c, p->idx, "right", "left", prec);
    else sub(c, p->idx, "right", prec);
  } else if (part == QS_PART_REPLACEMENT) {
    sub(c, p->idx, "replacement", 0);
  } else if (part == QS_PART_FLAGS && p->flags) {
    /* letters only (checked): written through the literal renderer, as
    ** SQLAlchemy writes them */
    qs_value v;
    qs_error err;
    memset(&err, 0, sizeof err);
    v.type = QS_TTEXT;
    v.u.s.p = p->flags;
    v.u.s.n = p->nflags;
    if (qs_render_literal(c->d, c->b, &v, &err) != QS_OK) qsC_fail(c, QS_COMPILE, &err);
  } else {
    qsC_error(c, QS_COMPILE, "no such part of a regular expression");
  }
}

static void regexp(qsC *c, int idx, int op, int outer) {
  regexp_parts p;
  qs_parts parts;
  qs_regexp_desc r;
  qs_error err;
  size_t i;
  int rc, paren;
  p.c = c, p.idx = idx;
  p.flags = qsC_string(c, idx, "flags", &p.nflags);
  for (i = 0; p.flags && i < p.nflags; i++)
    if (!letter(p.flags[i])) qsC_error(c, QS_COMPILE, "regexp flags are letters, got '%s'", p.flags);
  if (p.flags && p.nflags == 0) p.flags = NULL;
  r.negate = op == QSO_NOT_REGEXP;
  r.replace = op == QSO_REGEXP_REPLACE;
  r.flags = p.flags;
  parts.render = render_regexp_part, parts.ud = &p;
  /* parenthesized next to a comparison too, as SQLAlchemy writes it */
  paren = !r.replace && precedence[QSO_REGEXP] <= outer;
  if (paren) qs_buf_putc(c->b, '(');
  memset(&err, 0, sizeof err);
  if (c->d->xRegexp == NULL) qsC_error(c, QS_COMPILE, "regular expressions are not supported on %s", c->d->name);
  rc = c->d->xRegexp(c->d, c->b, &r, &parts, &err);
  if (rc != QS_OK) qsC_fail(c, rc, &err);
  if (paren) qs_buf_putc(c->b, ')');
}

void qsC_op_binary(qsC *c, int idx, int op, int outer) {
  if (op == QSO_CUSTOM) custom_op(c, idx, outer);
  else regexp(c, idx, op, outer);
}

/* element COLLATE name: the collation quoted as an identifier where it
** needs it ("C", "en-US"; utf8mb4_bin bare), as SQLAlchemy quotes it; the
** element parenthesized unless it is a leaf or a call. */
static void collate(qsC *c, int idx, int outer) {
  size_t n;
  const char *name = qsC_string(c, idx, "collation_name", &n);
  int paren = precedence[QSO_COLLATE] < outer;
  if (name == NULL || n == 0) qsC_error(c, QS_COMPILE, "COLLATE without a collation name");
  if (paren) qs_buf_putc(c->b, '(');
  sub(c, idx, "element", POSTFIX_PREC);
  qsC_puts(c, " COLLATE ");
  qsC_ident(c, name, n);
  if (paren) qs_buf_putc(c->b, ')');
}

/* The element of a FILTER or WITHIN GROUP, pushed: a function call (an
** ordered-set aggregate may sit under a FILTER too). */
static int aggregate(qsC *c, int idx, const char *what, int within_ok) {
  lua_State *L = c->L;
  int k;
  qsC_field(c, idx, "element");
  k = qsC_kind(L, -1);
  if (k == QSK_FUNCTION) return lua_gettop(L);
  if (within_ok && k == QSK_UNARY) {
    int op = 0;
    if (qsC_field(c, lua_gettop(L), "op") == LUA_TNUMBER) op = (int)lua_tointeger(L, -1);
    lua_pop(L, 1);
    if (op == QSO_WITHIN_GROUP) return lua_gettop(L);
  }
  return qsC_error(c, QS_COMPILE, "%s applies to an aggregate function call", what);
}

/* f(...) FILTER (WHERE cond); without the capability the condition moves
** into the arguments: f(CASE WHEN cond THEN x END), count(*) counting
** CASE WHEN cond THEN 1 END (function() in expr.c calls qsC_filter_args). */
static void filter(qsC *c, int idx) {
  lua_State *L = c->L;
  int top = lua_gettop(L), el;
  if (qs_dialect_can(c->d, QS_CAP(AGGREGATE_FILTER))) {
    el = aggregate(c, idx, "FILTER (WHERE ...)", 1);
    qsC_expr(c, el);
    qsC_puts(c, " FILTER (WHERE ");
    sub(c, idx, "criterion", 0);
    qs_buf_putc(c->b, ')');
  } else {
    el = aggregate(c, idx, "FILTER (WHERE ...)", 0);
    if (qsC_field(c, idx, "criterion") == LUA_TNIL) qsC_malformed(c, idx, "criterion", "a node", LUA_TNIL);
    c->agg_filter = lua_gettop(L);
    qsC_expr(c, el);
    c->agg_filter = 0;
  }
  lua_settop(L, top);
}

/* The arguments of f in f(...) FILTER (WHERE cond) emulated: each one
** CASE WHEN cond THEN arg END (rows that fail the condition give NULL,
** which aggregates skip), DISTINCT kept in front; count() counts
** CASE WHEN cond THEN 1 END. */
void qsC_filter_args(qsC *c, int idx, int crit, int count) {
  lua_State *L = c->L;
  int i, n = qsC_list_field(c, idx, "args"), list = lua_gettop(L);
  if (n == 0) {
    if (!count) qsC_error(c, QS_COMPILE, "FILTER (WHERE ...) emulated on %s needs an argument to filter", c->d->name);
    qsC_puts(c, "CASE WHEN ");
    qsC_expr(c, crit);
    qsC_puts(c, " THEN 1 END");
  }
  for (i = 1; i <= n; i++) {
    int arg, distinct = 0;
    if (i > 1) qsC_puts(c, ", ");
    lua_rawgeti(L, list, i);
    arg = lua_gettop(L);
    if (qsC_kind(L, arg) == QSK_UNARY) {
      if (qsC_field(c, arg, "op") == LUA_TNUMBER && lua_tointeger(L, -1) == QSO_DISTINCT) distinct = 1;
      lua_pop(L, 1);
    }
    if (distinct) {
      qsC_puts(c, "DISTINCT ");
      qsC_field(c, arg, "element");
      arg = lua_gettop(L);
    }
    qsC_puts(c, "CASE WHEN ");
    qsC_expr(c, crit);
    qsC_puts(c, " THEN ");
    qsC_expr(c, arg);
    qsC_puts(c, " END");
    lua_settop(L, list);
  }
  lua_pop(L, 1);
}

/* f(...) WITHIN GROUP (ORDER BY ...): PostgreSQL's ordered-set aggregates;
** MariaDB has them only as window functions (under OVER). */
static void within_group(qsC *c, int idx) {
  lua_State *L = c->L;
  int el, windowed = qsC_bool(c, idx, "windowed");
  if (!qs_dialect_can(c->d, QS_CAP(WITHIN_GROUP)) &&
      !(windowed && qs_dialect_can(c->d, QS_CAP(WITHIN_GROUP_WINDOW)))) {
    if (qs_dialect_can(c->d, QS_CAP(WITHIN_GROUP_WINDOW)))
      qsC_error(c, QS_COMPILE, "WITHIN GROUP is a window function on %s: add :over()", c->d->name);
    qsC_error(c, QS_COMPILE, "WITHIN GROUP (ordered-set aggregates) is not supported on %s", c->d->name);
  }
  el = aggregate(c, idx, "WITHIN GROUP (ORDER BY ...)", 0);
  qsC_expr(c, el);
  lua_pop(L, 1);
  if (qsC_list_field(c, idx, "group_order_by") == 0)
    qsC_malformed(c, idx, "group_order_by", "a non-empty list of expressions", LUA_TNIL);
  lua_pop(L, 1);
  qsC_puts(c, " WITHIN GROUP (ORDER BY ");
  qsC_list(c, idx, "group_order_by", ", ", 0);
  qs_buf_putc(c->b, ')');
}

void qsC_op_unary(qsC *c, int idx, int op, int outer) {
  if (op == QSO_COLLATE) collate(c, idx, outer);
  else if (op == QSO_FILTER) filter(c, idx);
  else within_group(c, idx);
}
