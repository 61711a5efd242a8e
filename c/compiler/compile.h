/*
** compile.h: the compiler's shared state. The compiler walks a statement's
** Lua tables (nodes.h) and writes SQL into a buffer owned by a userdata, so
** it may raise (CompileError, through the qs.exc factory) at any point
** without leaking. What it learns besides the SQL lands in Lua tables on
** the stack: the bind keys in placeholder order with the values the
** statement itself holds, the per-position value checks and Lua converters,
** and the result columns of a SELECT.
*/
#ifndef QS_LCOMPILE_H
#define QS_LCOMPILE_H

#include "nodes.h"

typedef struct qsC {
  lua_State *L;
  const qs_dialect *d;
  qs_buf *b;
  int keys;          /* list: bind key per placeholder position */
  int values;        /* key -> value held by the statement */
  int checks;        /* list: QSV_* per position */
  int procs;         /* list: Lua converter per position (or nil) */
  int positions;     /* key -> position, for numbered placeholders */
  int counters;      /* base name -> last number, for anonymous names */
  int names;         /* node -> generated name (anonymous binds, aliases) */
  int rnames;        /* list: result column names */
  int rtypes;        /* list: result column types */
  int enclosing;     /* list of sets of FROM nodes of the enclosing SELECTs */
  int nullv;         /* the NULL sentinel */
  int anchors;       /* set of strings read from nodes that no node holds (qsC_string) */
  int npos;          /* placeholders written */
  int nresult;       /* result columns recorded */
  int result_unknown; /* a * or text column: the cursor names the columns */
  int depth;         /* statement nesting; result columns come from depth 1 */
  int literal_binds; /* render values inline through the literal renderer */
  int unqualified;   /* columns without their table (SET lists, DDL) */
  int label_refs;    /* ORDER BY / GROUP BY: a label renders as its name */
  int no_result;     /* later members of a compound: columns not recorded */
  int derive_target; /* stack index of a DML target that subqueries read
                        through a derived table (MySQL's error 1093), or 0 */
  int bind_cast_off; /* xBindCast dialects: parameters where the server infers the type */
  int bind_cast_all; /* xBindCast dialects: a bare parameter as a column (strings typed too) */
  int expr_depth;    /* nesting of the walk (qsC_enter), at most QS_MAX_DEPTH */
  size_t values_open;  /* 1-based byte offset of the last INSERT's VALUES "(" (0: none) */
  size_t values_close; /* 1-based byte offset of its first row group's ")" */
  int agg_filter;    /* stack index of a FILTER's condition the next function call
                        moves into its arguments (no AGGREGATE_FILTER), or 0 */
  /* expanding binds (expand.c): where placeholders stand in the SQL, so that
  ** an execution writes an IN list's placeholders without compiling again */
  qs_buf *marks;     /* qsC_mark records (every placeholder on a numbered dialect) */
  int nexpand;       /* marks of expanding binds (0: the SQL needs no expansion) */
  int mark_kind;     /* the kind the next placeholder is marked with (QSC_MARK_*) */
  int expinfo;       /* list: what each expanding mark needs (a table per mark), or 0 */
  int schema_map;    /* stack index of the schema_translate_map option (a table only the
                        compiler module holds, never changed), or 0 */
} qsC;

/* Statements nest at most this deep (SQLite's own parser limit), counted
** over expressions, FROM elements, SELECTs and compounds alike: the walk
** recurses in C, and a deeper tree (or a node that contains itself) would
** overflow the C stack. The same limit bounds the cache key's walk
** (cachekey.c) and the Lua walks before it (core.max_depth). */
#define QS_MAX_DEPTH 1000

/* Raises a CompileError (or another class) with a formatted message. */
int qsC_error(qsC *c, int code, const char *fmt, ...);
/* Raises the error a dialect hook reported in err (cleared first). */
void qsC_fail(qsC *c, int code, qs_error *err);
/* The _k of the node at idx (0 when it is not a node). */
int qsC_kind(lua_State *L, int idx);
/* Pushes t[name]; returns its Lua type. A value at idx that is not a table
** raises ArgumentError (malformed statement). */
int qsC_field(qsC *c, int idx, const char *name);
/* The string field name of idx, or NULL when it is nil; any other type
** raises ArgumentError naming the node kind and the field. The string stays
** valid until the compile ends (anchored by the node or in c->anchors). */
const char *qsC_string(qsC *c, int idx, const char *name, size_t *n);
/* The same, for a field that may hold other things (NULL unless a string). */
const char *qsC_string_opt(qsC *c, int idx, const char *name, size_t *n);
/* A string field that must be there (ArgumentError otherwise). */
const char *qsC_name(qsC *c, int idx, const char *name, size_t *n);
/* The boolean field name of idx (nil: false); any other type raises
** ArgumentError naming the node kind and the field. */
int qsC_bool(qsC *c, int idx, const char *name);
/* Pushes the list field name of idx; returns its length (0 when nil);
** anything but a table raises ArgumentError. */
int qsC_list_field(qsC *c, int idx, const char *name);
/* Raises ArgumentError unless the value at idx (a member of field of the
** node at parent) is a table. */
void qsC_need_table(qsC *c, int idx, int parent, const char *field);
/* Raises ArgumentError: field of the node at idx must be want, not a got
** (a Lua type; LUA_TNONE when the node itself is no table). */
int qsC_malformed(qsC *c, int idx, const char *field, const char *want, int got);
/* The kind name of the node at idx (SELECT, BINARY, ...; "table" for none). */
const char *qsC_kind_name(lua_State *L, int idx);
/* One level deeper into the tree: Lua stack room and the depth limit. */
void qsC_enter(qsC *c);
void qsC_leave(qsC *c);
/* Appends s. */
void qsC_puts(qsC *c, const char *s);
/* Appends an identifier, quoted when needed. */
void qsC_ident(qsC *c, const char *s, size_t n);

void qsC_expr(qsC *c, int idx);          /* any expression node */
void qsC_expr_prec(qsC *c, int idx, int prec);   /* parenthesized below precedence prec */
/* The node at v as an operand next to the node at other (a parameter typed
** by it where the dialect casts parameters). */
void qsC_operand(qsC *c, int v, int other, int prec);
void qsC_list(qsC *c, int idx, const char *name, const char *sep, int prec);
/* operators.c: the BINARY operators CUSTOM and REGEXP*, the UNARY COLLATE,
** FILTER and WITHIN_GROUP; the arguments of a function under an emulated
** FILTER (crit: the condition's stack index; count: the function is count). */
void qsC_op_binary(qsC *c, int idx, int op, int outer);
void qsC_op_unary(qsC *c, int idx, int op, int outer);
void qsC_filter_args(qsC *c, int idx, int crit, int count);
void qsC_bind(qsC *c, int idx);          /* a BIND node */
/* An expression whose type the server takes from where it stands (a column
** assigned in VALUES/SET, LIMIT): a bare parameter there is left untyped. */
void qsC_expr_inferred(qsC *c, int idx);
void qsC_from(qsC *c, int idx);          /* a FROM element (table, alias, join) */
void qsC_select(qsC *c, int idx);
void qsC_compound(qsC *c, int idx);
void qsC_any_select(qsC *c, int idx);    /* SELECT or compound */
void qsC_with(qsC *c, int ctes);        /* WITH ... for the CTE list at ctes */
/* stmt.c, for dml.c: a join; the FROM set at setidx gains the element at idx
** (and a join's tables); the statement's prefix words; a result column. */
void qsC_join(qsC *c, int idx);
void qsC_add_froms(qsC *c, int setidx, int idx);
void qsC_prefix_words(qsC *c, int idx);
void qsC_result_column(qsC *c, const char *name, size_t n, int expridx);
void qsC_insert(qsC *c, int idx);        /* dml.c: INSERT, UPDATE, DELETE */
void qsC_update(qsC *c, int idx);
void qsC_delete(qsC *c, int idx);
void qsC_ddl(qsC *c, int idx, int kind);
void qsC_type(qsC *c, int typeidx, int autoinc);
void qsC_array_type(qsC *c, int typeidx);   /* ARRAY(T): T[] (ddl.c) */
int qsC_array_dims(qsC *c, int typeidx);
/* ddl_gen.c: sequences, enum types, identity and computed columns */
void qsC_next_value(qsC *c, int idx);           /* a NEXT_VALUE node */
void qsC_ddl_gen(qsC *c, int idx, int kind);     /* CREATE/DROP SEQUENCE, CREATE/DROP ENUM */
int qsC_identity_here(qsC *c, int idx);          /* a column_def written AS IDENTITY here */
int qsC_sequence_here(qsC *c, int idx);          /* a column_def whose sequence applies here */
void qsC_identity(qsC *c, int idx);              /* " GENERATED ... AS IDENTITY (...)" */
void qsC_computed(qsC *c, int idx);              /* " GENERATED ALWAYS AS (...) STORED" or nothing */
/* Reads the type table at typeidx into t (t->kind NULL when it has no _t;
** the strings stay valid while the table lives). */
void qsC_type_desc(qsC *c, int typeidx, qs_type_desc *t);
void qsC_text(qsC *c, int idx);            /* a TEXT node inside a statement */
/* expand.c: expanding binds, IN lists, tuples and type coercion */
#define QSC_MARK_PLAIN 0   /* a placeholder (recorded on numbered dialects only) */
#define QSC_MARK_IN 1      /* an expanding bind on the right of IN */
#define QSC_MARK_TEXT_IN 2 /* a text() bind after IN: expands when bound to a list */
/* Records the placeholder at [start, phend) with its cast up to stop. */
void qsC_mark(qsC *c, size_t start, size_t phend, size_t stop, int pos);
/* A text bind after IN with the type at typeidx (0: none): the placeholder is marked. */
void qsC_text_in_mark(qsC *c, int typeidx);
/* Marks at or after byte at moved by one (a byte inserted there). */
void qsC_marks_shift(qsC *c, size_t at);
/* "x IN <expanding bind>" (the IN node at idx, its bind at bind). */
void qsC_in_expanding(qsC *c, int idx, int bind);
/* A BIND node with expanding set where no IN holds it: refused. */
void qsC_expanding_alone(qsC *c, int idx);
void qsC_tuple(qsC *c, int idx);           /* (a, b, ...) */
/* Sets compiled.expand on the table at the top when the SQL has expanding binds. */
void qsC_push_marks(qsC *c);
void qsC_table_name(qsC *c, int idx);    /* schema-qualified table name */
/* The schema a table is written in: schema itself, or what schema_translate_map gives
** for it (NULL: none; *n updated). */
const char *qsC_schema(qsC *c, const char *schema, size_t *n);
/* The generated name for an anonymous node (alias, label), made once. */
const char *qsC_anon_name(qsC *c, int idx, const char *base);
/* The name of an ALIAS node (generated from the table name when anonymous). */
const char *qsC_alias_name(qsC *c, int idx, size_t *n);

#endif
