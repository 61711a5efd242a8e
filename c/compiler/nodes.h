/*
** nodes.h: the contract between the Lua expression elements and the C
** compiler that walks them. Every node is a Lua table whose field _k holds a
** kind from QS_NODE_KINDS; operators, value checks and result conversions
** are codes too. The binding exports these lists to Lua (core.kinds,
** core.ops, core.type_checks, core.result_codes), so the two sides never
** keep separate copies. The field names the compiler reads from the nodes
** are listed in fields.h (core.node_fields); spec/contract_spec.lua checks
** both sides against it.
*/
#ifndef QS_NODES_H
#define QS_NODES_H

#include "fields.h"
#include "lbinding.h"

#define QS_NODE_KINDS(X)                                                       \
  X(COLUMN) X(TABLE) X(ALIAS) X(BIND) X(NULL) X(TRUE) X(FALSE) X(TEXT)         \
  X(BINARY) X(UNARY) X(LIST) X(GROUPING) X(FUNCTION) X(LABEL) X(CAST) X(CASE)  \
  X(IN) X(BETWEEN) X(SELECT) X(JOIN) X(SCALAR_SELECT) X(EXISTS) X(INSERT)       \
  X(UPDATE) X(DELETE) X(CREATE_TABLE) X(DROP_TABLE) X(CREATE_INDEX)           \
  X(DROP_INDEX) X(LITERAL_COLUMN) X(STAR) X(TYPE) X(JSON_GET) X(OVER) X(COMPOUND)   \
  X(CTE) X(VALUES_REF) X(ADD_CONSTRAINT) X(DROP_CONSTRAINT) X(ADD_COLUMN) X(DROP_COLUMN)   \
  X(RENAME_TABLE) X(ALTER_COLUMN) X(RENAME_COLUMN)                            \
  X(COMMENT_ON) X(VALUES)                                                     \
  X(ARRAY_INDEX) X(ANY_ALL) X(ARRAY_LITERAL)                                  \
  X(TUPLE) X(TYPE_COERCE) \
  X(NEXT_VALUE) X(CREATE_SEQUENCE) X(DROP_SEQUENCE) X(CREATE_ENUM) X(DROP_ENUM)

enum {
  QSK_NONE = 0,
#define QS_KIND_(name) QSK_##name,
  QS_NODE_KINDS(QS_KIND_)
#undef QS_KIND_
  QSK_LAST_
};

/* Binary and unary operators; precedence decides parentheses. */
#define QS_OPERATORS(X)                                                        \
  X(OR, 2) X(AND, 3) X(NOT, 4)                                                 \
  X(EQ, 5) X(NE, 5) X(LT, 5) X(LE, 5) X(GT, 5) X(GE, 5)                        \
  X(LIKE, 5) X(NOT_LIKE, 5) X(ILIKE, 5) X(NOT_ILIKE, 5) X(IS, 5) X(IS_NOT, 5)   \
  X(CONCAT, 6) X(ADD, 7) X(SUB, 7) X(MUL, 8) X(DIV, 8) X(TRUEDIV_INT, 8)       \
  X(FLOORDIV, 8) X(FLOORDIV_INT, 8) X(MOD, 8) X(NEG, 9)                        \
  X(DESC, 1) X(ASC, 1) X(NULLS_FIRST, 1) X(NULLS_LAST, 1) X(DISTINCT, 1)       \
  /* operators.c: IS [NOT] DISTINCT FROM, regexps, op()'s own (precedence on  \
  ** the node), COLLATE, FILTER and WITHIN GROUP (postfix, never grouped) */   \
  X(IS_DISTINCT_FROM, 5) X(IS_NOT_DISTINCT_FROM, 5) X(REGEXP, 5)              \
  X(NOT_REGEXP, 5) X(REGEXP_REPLACE, 10) X(CUSTOM, 0) X(COLLATE, 4)           \
  X(FILTER, 10) X(WITHIN_GROUP, 10)                                            \
  X(COMMA, 0)                                                                  \
  X(CONTAINS, 5) X(CONTAINED_BY, 5) X(OVERLAP, 5) X(HAS_KEY, 5) X(HAS_ANY, 5)  \
  X(HAS_ALL, 5) X(PATH_EXISTS, 5) X(PATH_MATCH, 5)

enum {
  QSO_NONE = 0,
#define QS_OP_(name, prec) QSO_##name,
  QS_OPERATORS(QS_OP_)
#undef QS_OP_
  QSO_LAST_
};

int qsC_kind(lua_State *L, int idx);
/* Sets core.node_fields (fields.h) on the table at the top. */
void qsC_export_fields(lua_State *L);

#endif
