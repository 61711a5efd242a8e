/*
** plan.h: the flush's plan as plain C over integer ids (Lua-free, tested
** in c/test/test_plan.c without Lua). The ORM's flush (orm/flush_plan.lua,
** orm/flush_write.lua) numbers its tables, rows and column signatures and
** asks here:
**   - in which order the tables are written (foreign keys, minus those a
**     post_update relationship writes by its own UPDATE);
**   - in which levels the rows of one table are inserted when they refer
**     to each other (parents first);
**   - in which order the rows of a self-referential table are deleted
**     (referring rows first);
**   - how INSERT and UPDATE rows are cut into statements: runs of rows with
**     the same column signature, each sent one way (QS_PLAN_MODES) and cut
**     by the dialect's limits (QS_PLAN_CAPS).
** Rows and tables are 0-based here; the binding (lplan.c) adds 1.
**
** The contract with Lua, in one place: QS_PLAN_CAPS are the fields of the
** caps table Lua hands to core.plan_batches (lplan.c reads exactly these
** names, from this list), QS_PLAN_MODES the modes it gets back
** (core.plan_modes[name] = number). spec/contract_spec.lua checks both
** against the binding and orm/flush_write.lua.
**
** X(name, carriers, form, meaning) as in layout.h; carriers "plan_caps".
*/
#ifndef QS_ORM_PLAN_H
#define QS_ORM_PLAN_H

#define QS_PLAN_CAPS(X)                                                                            \
  X(insert_returning, "plan_caps", "boolean", "the dialect has INSERT ... RETURNING (one row)")  \
  X(insert_many_returning, "plan_caps", "boolean", "the dialect has multi-row INSERT ... RETURNING") \
  X(page_size, "plan_caps", "number", "rows per multi-row INSERT of an executemany (0: the driver takes any count, a statement per row)") \
  X(returning_page_size, "plan_caps", "number", "rows per multi-row INSERT ... RETURNING (0: no limit)") \
  X(max_params, "plan_caps", "number", "bind parameters one statement may hold (0: no limit)")

/* X(NAME, name, meaning); numbered from 1 in this order. */
#define QS_PLAN_MODES(X)                                                                           \
  X(EXECUTEMANY, executemany, "every key given: the rows in one executemany (multi-row VALUES where the dialect batches)") \
  X(RETURNING_MANY, returning_many, "new keys back through INSERT ... RETURNING, the rows in one (multi-row) statement") \
  X(RETURNING_EACH, returning_each, "nothing but defaults: INSERT ... RETURNING row by row") \
  X(ROW_BY_ROW, row_by_row, "no RETURNING: a statement per row, the new key from the driver")

enum {
  QS_PLAN_MODE_NONE = 0,
#define QS_PLAN_MODE_ENUM(NAME, name, meaning) QS_PLAN_##NAME,
  QS_PLAN_MODES(QS_PLAN_MODE_ENUM)
#undef QS_PLAN_MODE_ENUM
  QS_PLAN_MODE_COUNT
};

/* A foreign key from table child to table parent; skip: written by a
** post_update UPDATE, so it orders nothing. */
typedef struct qs_plan_fk {
  int parent, child, skip;
} qs_plan_fk;

/* The dialect's limits (QS_PLAN_CAPS). */
typedef struct qs_plan_caps {
  int insert_returning, insert_many_returning;
  int page_size, returning_page_size, max_params;
} qs_plan_caps;

/* A column signature: how many columns its rows give, and whether the
** statement must bring new keys back (some primary-key column not given). */
typedef struct qs_plan_sig {
  int ncols, need_key;
} qs_plan_sig;

/* One statement's rows: rows[first .. first+count-1], sent as mode. */
typedef struct qs_plan_batch {
  int first, count, mode;
} qs_plan_batch;

/* Tables 0..n-1 in dependency order: a parent before its children, else
** in index order (qs_toposort's stable order). order holds n ints;
** *nordered < n is a cycle, and order[*nordered..n-1] are the tables in or
** behind it, in index order. Returns QS_OK (a cycle too), QS_ARGUMENT for a
** bad count or table number, QS_NOMEM. */
int qs_plan_table_order(int n, int nfk, const qs_plan_fk *fks, int *order, int *nordered);

/* Rows 0..n-1 of one table, parent[i] before child[i]: the rows level by
** level (a row without parents first), within a level in qs_toposort's
** order. order holds n ints, bounds n+1: batch b is order[bounds[b] ..
** bounds[b+1]-1], *nbatches of them. *nordered < n is a cycle, the rows in
** or behind it at order[*nordered..n-1] (then *nbatches is 0). Same returns
** as qs_plan_table_order. */
int qs_plan_row_levels(int n, int nedges, const int *parent, const int *child, int *order,
                       int *bounds, int *nbatches, int *nordered);

/* Rows 0..n-1 of a self-referential table to delete, nrefs references of
** the table to itself. For reference r, key[r*n + i] is the id of the
** value row i is known by (the referenced column) and ref[r*n + i] the id
** of the value it refers to; an id below 0 is none (NULL). A row that
** refers to another row goes before it (when two rows have the same key
** the later one is the one referred to). Output as qs_plan_row_levels. */
int qs_plan_delete_order(int n, int nrefs, const long long *key, const long long *ref, int *order,
                         int *bounds, int *nbatches, int *nordered);

/* The statements for rows 0..n-1 of one table, in row order: runs of
** consecutive rows with the same signature (sig[i] indexes sigs, 0..nsigs-1),
** each sent by the mode the signature and caps call for, and an
** executemany or multi-row RETURNING cut so that no statement holds more
** than the page size's rows or max_params parameters. out holds n batches
** (each has a row at least); *nout receives their count. Returns QS_OK, or
** QS_ARGUMENT for a bad count or signature. */
int qs_plan_batches(int n, const int *sig, int nsigs, const qs_plan_sig *sigs,
                    const qs_plan_caps *caps, qs_plan_batch *out, int *nout);

/* Rows per statement for rows of ncols parameters: page_size rows (0: no
** page limit), and no more than max_params parameters (0: no limit); 1
** at least. The INT_MAX it returns without limits means "all of them". */
int qs_plan_rows_per_statement(int ncols, int page_size, int max_params);

#endif
