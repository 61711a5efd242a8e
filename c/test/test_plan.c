/* test_plan.c: the flush's plan (c/orm/plan.c) without Lua: table order,
** row levels, self-referential delete order, statement batches. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "../orm/plan.h"
#include "quicksilver.h"
#include "test.h"

#define NE(a) ((int)(sizeof(a) / sizeof((a)[0])))

static const qs_plan_caps SQLITE = {1, 1, 0, 1000, 32766};
static const qs_plan_caps POSTGRES = {1, 1, 1000, 1000, 65535};
static const qs_plan_caps MYSQL = {0, 0, 1000, 1000, 65535};

TEST_IMPL(plan_table_order) {
  /* orders(2) -> customers(0), items(3) -> orders, items -> products(1):
  ** given children first, written parents first */
  const qs_plan_fk fks[] = {{1, 3, 0}, {2, 3, 0}, {0, 2, 0}};
  const int want[] = {0, 1, 2, 3};
  int order[4], n = -1, i;
  ASSERT_EQ(qs_plan_table_order(4, NE(fks), fks, order, &n), QS_OK);
  ASSERT_EQ(n, 4);
  for (i = 0; i < 4; i++) ASSERT_EQ(order[i], want[i]);
  /* a self-referential foreign key orders nothing between tables */
  {
    const qs_plan_fk self[] = {{1, 1, 0}, {1, 0, 0}};
    ASSERT_EQ(qs_plan_table_order(2, NE(self), self, order, &n), QS_OK);
    ASSERT_EQ(n, 2);
    ASSERT_EQ(order[0], 1);
    ASSERT_EQ(order[1], 0);
  }
  return 0;
}

TEST_IMPL(plan_table_cycle_and_post_update) {
  /* a(0) <-> b(1) refer to each other, c(2) hangs behind b: a cycle with
  ** the tables in or behind it; post_update on one side breaks it */
  qs_plan_fk fks[] = {{0, 1, 0}, {1, 0, 0}, {1, 2, 0}, {3, 0, 0}};
  int order[4], n = -1;
  ASSERT_EQ(qs_plan_table_order(4, NE(fks), fks, order, &n), QS_OK);
  ASSERT_EQ(n, 1);
  ASSERT_EQ(order[0], 3);
  ASSERT_EQ(order[1], 0);
  ASSERT_EQ(order[2], 1);
  ASSERT_EQ(order[3], 2);
  fks[1].skip = 1;   /* b -> a written by a post_update UPDATE */
  ASSERT_EQ(qs_plan_table_order(4, NE(fks), fks, order, &n), QS_OK);
  ASSERT_EQ(n, 4);
  ASSERT_EQ(order[0], 3);
  ASSERT_EQ(order[1], 0);
  ASSERT_EQ(order[2], 1);
  ASSERT_EQ(order[3], 2);
  return 0;
}

TEST_IMPL(plan_table_order_bad_and_empty) {
  const qs_plan_fk bad[] = {{0, 2, 0}};
  const qs_plan_fk neg[] = {{-1, 0, 0}};
  int order[2], n = -1;
  ASSERT_EQ(qs_plan_table_order(0, 0, NULL, order, &n), QS_OK);
  ASSERT_EQ(n, 0);
  ASSERT_EQ(qs_plan_table_order(2, 0, NULL, order, &n), QS_OK);
  ASSERT_EQ(n, 2);
  ASSERT_EQ(order[0], 0);
  ASSERT_EQ(order[1], 1);
  ASSERT_EQ(qs_plan_table_order(2, NE(bad), bad, order, &n), QS_ARGUMENT);
  ASSERT_EQ(qs_plan_table_order(2, NE(neg), neg, order, &n), QS_ARGUMENT);
  ASSERT_EQ(qs_plan_table_order(-1, 0, NULL, order, &n), QS_ARGUMENT);
  ASSERT_EQ(qs_plan_table_order(2, 1, NULL, order, &n), QS_ARGUMENT);
  return 0;
}

TEST_IMPL(plan_row_levels) {
  /* a tree: 3 is the root, 0 and 4 its children, 1 a child of 0; 2 alone */
  const int parent[] = {0, 3, 3};
  const int child[] = {1, 0, 4};
  const int want_order[] = {2, 3, 0, 4, 1};
  const int want_bounds[] = {0, 2, 4, 5};
  int order[5], bounds[6], nb = -1, n = -1, i;
  ASSERT_EQ(qs_plan_row_levels(5, NE(parent), parent, child, order, bounds, &nb, &n), QS_OK);
  ASSERT_EQ(n, 5);
  ASSERT_EQ(nb, 3);
  for (i = 0; i < 5; i++) ASSERT_EQ(order[i], want_order[i]);
  for (i = 0; i <= 3; i++) ASSERT_EQ(bounds[i], want_bounds[i]);
  /* no edges: one batch in row order; no rows: no batch */
  ASSERT_EQ(qs_plan_row_levels(3, 0, NULL, NULL, order, bounds, &nb, &n), QS_OK);
  ASSERT_EQ(nb, 1);
  ASSERT_EQ(bounds[0], 0);
  ASSERT_EQ(bounds[1], 3);
  for (i = 0; i < 3; i++) ASSERT_EQ(order[i], i);
  ASSERT_EQ(qs_plan_row_levels(0, 0, NULL, NULL, order, bounds, &nb, &n), QS_OK);
  ASSERT_EQ(nb, 0);
  ASSERT_EQ(n, 0);
  ASSERT_EQ(qs_plan_row_levels(2, NE(parent), parent, child, order, bounds, &nb, &n), QS_ARGUMENT);
  return 0;
}

TEST_IMPL(plan_row_levels_cycle) {
  /* 1 -> 2 -> 3 -> 1, and 0 -> 4 fine: the rows of the cycle are named */
  const int parent[] = {1, 2, 3, 0};
  const int child[] = {2, 3, 1, 4};
  int order[5], bounds[6], nb = -1, n = -1;
  ASSERT_EQ(qs_plan_row_levels(5, NE(parent), parent, child, order, bounds, &nb, &n), QS_OK);
  ASSERT_EQ(n, 2);
  ASSERT_EQ(nb, 0);
  ASSERT_EQ(order[0], 0);
  ASSERT_EQ(order[1], 4);
  ASSERT_EQ(order[2], 1);
  ASSERT_EQ(order[3], 2);
  ASSERT_EQ(order[4], 3);
  return 0;
}

TEST_IMPL(plan_delete_order) {
  /* rows by id: row0 id 10 (root), row1 id 11 -> 10, row2 id 12 -> 11,
  ** row3 id 13 -> 99 (not deleted here), row4 id 14 with no parent */
  const long long key[] = {10, 11, 12, 13, 14};
  const long long ref[] = {-1, 10, 11, 99, -1};
  const int want_order[] = {2, 3, 4, 1, 0};
  const int want_bounds[] = {0, 3, 4, 5};
  int order[5], bounds[6], nb = -1, n = -1, i;
  ASSERT_EQ(qs_plan_delete_order(5, 1, key, ref, order, bounds, &nb, &n), QS_OK);
  ASSERT_EQ(n, 5);
  ASSERT_EQ(nb, 3);
  for (i = 0; i < 5; i++) ASSERT_EQ(order[i], want_order[i]);
  for (i = 0; i <= 3; i++) ASSERT_EQ(bounds[i], want_bounds[i]);
  /* no reference: one batch; a row naming itself is no edge */
  {
    const long long k1[] = {1, 2};
    const long long r1[] = {1, -1};
    ASSERT_EQ(qs_plan_delete_order(2, 1, k1, r1, order, bounds, &nb, &n), QS_OK);
    ASSERT_EQ(nb, 1);
    ASSERT_EQ(order[0], 0);
    ASSERT_EQ(order[1], 1);
    ASSERT_EQ(qs_plan_delete_order(2, 0, NULL, NULL, order, bounds, &nb, &n), QS_OK);
    ASSERT_EQ(nb, 1);
    ASSERT_EQ(qs_plan_delete_order(0, 1, NULL, NULL, order, bounds, &nb, &n), QS_OK);
    ASSERT_EQ(nb, 0);
  }
  return 0;
}

TEST_IMPL(plan_delete_order_two_refs_and_cycle) {
  /* two references (parent_id -> id, and buddy -> code): row0 names row1
  ** as its parent, row1 names row2 as its buddy: 0, then 1, then 2 */
  const long long key[] = {1, 2, 3, /* codes */ 100, 200, 300};
  const long long ref[] = {2, -1, -1, /* buddies */ -1, 300, -1};
  const long long cyc_key[] = {1, 2};
  const long long cyc_ref[] = {2, 1};
  int order[3], bounds[4], nb = -1, n = -1;
  ASSERT_EQ(qs_plan_delete_order(3, 2, key, ref, order, bounds, &nb, &n), QS_OK);
  ASSERT_EQ(n, 3);
  ASSERT_EQ(nb, 3);
  ASSERT_EQ(order[0], 0);
  ASSERT_EQ(order[1], 1);
  ASSERT_EQ(order[2], 2);
  /* two rows naming each other: a cycle, both named */
  ASSERT_EQ(qs_plan_delete_order(2, 1, cyc_key, cyc_ref, order, bounds, &nb, &n), QS_OK);
  ASSERT_EQ(n, 0);
  ASSERT_EQ(nb, 0);
  ASSERT_EQ(order[0], 0);
  ASSERT_EQ(order[1], 1);
  ASSERT_EQ(qs_plan_delete_order(-1, 1, key, ref, order, bounds, &nb, &n), QS_ARGUMENT);
  return 0;
}

TEST_IMPL(plan_rows_per_statement) {
  ASSERT_EQ(qs_plan_rows_per_statement(3, 1000, 65535), 1000);
  ASSERT_EQ(qs_plan_rows_per_statement(100, 1000, 65535), 655);
  /* at the edge: exactly max_params, and one over */
  ASSERT_EQ(qs_plan_rows_per_statement(10, 0, 100), 10);
  ASSERT_EQ(qs_plan_rows_per_statement(11, 0, 100), 9);
  /* more columns than max_params: still a row per statement */
  ASSERT_EQ(qs_plan_rows_per_statement(200, 1000, 100), 1);
  ASSERT_EQ(qs_plan_rows_per_statement(0, 5, 100), 5);
  ASSERT_EQ(qs_plan_rows_per_statement(3, 0, 0), INT_MAX);
  return 0;
}

TEST_IMPL(plan_batches_runs_and_modes) {
  /* sig 0: keys given (3 cols); sig 1: key from the database (2 cols);
  ** sig 2: nothing but defaults */
  const qs_plan_sig sigs[] = {{3, 0}, {2, 1}, {0, 1}};
  const int sig[] = {0, 0, 1, 1, 1, 0, 2, 2, 1};
  qs_plan_batch out[9];
  int nout = -1;
  ASSERT_EQ(qs_plan_batches(NE(sig), sig, NE(sigs), sigs, &SQLITE, out, &nout), QS_OK);
  ASSERT_EQ(nout, 5);
  ASSERT_EQ(out[0].first, 0); ASSERT_EQ(out[0].count, 2); ASSERT_EQ(out[0].mode, QS_PLAN_EXECUTEMANY);
  ASSERT_EQ(out[1].first, 2); ASSERT_EQ(out[1].count, 3); ASSERT_EQ(out[1].mode, QS_PLAN_RETURNING_MANY);
  ASSERT_EQ(out[2].first, 5); ASSERT_EQ(out[2].count, 1); ASSERT_EQ(out[2].mode, QS_PLAN_EXECUTEMANY);
  ASSERT_EQ(out[3].first, 6); ASSERT_EQ(out[3].count, 2); ASSERT_EQ(out[3].mode, QS_PLAN_RETURNING_EACH);
  ASSERT_EQ(out[4].first, 8); ASSERT_EQ(out[4].count, 1); ASSERT_EQ(out[4].mode, QS_PLAN_RETURNING_MANY);
  /* MySQL: no RETURNING, keys from the driver row by row */
  ASSERT_EQ(qs_plan_batches(NE(sig), sig, NE(sigs), sigs, &MYSQL, out, &nout), QS_OK);
  ASSERT_EQ(nout, 5);
  ASSERT_EQ(out[0].mode, QS_PLAN_EXECUTEMANY);
  ASSERT_EQ(out[1].mode, QS_PLAN_ROW_BY_ROW);
  ASSERT_EQ(out[1].count, 3);
  ASSERT_EQ(out[3].mode, QS_PLAN_ROW_BY_ROW);
  ASSERT_EQ(out[4].mode, QS_PLAN_ROW_BY_ROW);
  /* RETURNING for one row only (the older MariaDB): a run of one row
  ** uses it, a run of more goes row by row */
  {
    const qs_plan_caps one = {1, 0, 0, 1000, 65535};
    ASSERT_EQ(qs_plan_batches(NE(sig), sig, NE(sigs), sigs, &one, out, &nout), QS_OK);
    ASSERT_EQ(out[1].mode, QS_PLAN_ROW_BY_ROW);
    ASSERT_EQ(out[3].mode, QS_PLAN_RETURNING_EACH);
    ASSERT_EQ(out[4].mode, QS_PLAN_RETURNING_MANY);
  }
  /* no rows: no batch */
  ASSERT_EQ(qs_plan_batches(0, NULL, 0, NULL, &SQLITE, out, &nout), QS_OK);
  ASSERT_EQ(nout, 0);
  return 0;
}

TEST_IMPL(plan_batches_bad_arguments) {
  const qs_plan_sig sigs[] = {{1, 0}};
  const qs_plan_sig neg[] = {{-1, 0}};
  const int sig[] = {0, 1};
  const int ok[] = {0};
  qs_plan_batch out[2];
  int nout;
  ASSERT_EQ(qs_plan_batches(2, sig, 1, sigs, &SQLITE, out, &nout), QS_ARGUMENT);
  ASSERT_EQ(qs_plan_batches(1, ok, 1, neg, &SQLITE, out, &nout), QS_ARGUMENT);
  ASSERT_EQ(qs_plan_batches(1, ok, 1, sigs, NULL, out, &nout), QS_ARGUMENT);
  ASSERT_EQ(qs_plan_batches(-1, ok, 1, sigs, &SQLITE, out, &nout), QS_ARGUMENT);
  return 0;
}

/* 100,000 rows: cut at the page size and at max_params, at the edges. */
TEST_IMPL(plan_batches_large_and_limits) {
  enum { N = 100000 };
  const qs_plan_sig keys[] = {{3, 0}};
  const qs_plan_sig returning[] = {{100, 1}};
  int *sig = calloc(N, sizeof *sig), nout = -1, i, total = 0;
  qs_plan_batch *out = malloc(N * sizeof *out);
  ASSERT(sig && out);
  /* keys given on PostgreSQL: 100 statements of 1,000 rows */
  ASSERT_EQ(qs_plan_batches(N, sig, 1, keys, &POSTGRES, out, &nout), QS_OK);
  ASSERT_EQ(nout, 100);
  for (i = 0; i < nout; i++) {
    ASSERT_EQ(out[i].first, total);
    ASSERT_EQ(out[i].count, 1000);
    ASSERT_EQ(out[i].mode, QS_PLAN_EXECUTEMANY);
    total += out[i].count;
  }
  ASSERT_EQ(total, N);
  /* on SQLite (no page size) an executemany runs the prepared statement
  ** per row: one batch */
  ASSERT_EQ(qs_plan_batches(N, sig, 1, keys, &SQLITE, out, &nout), QS_OK);
  ASSERT_EQ(nout, 1);
  ASSERT_EQ(out[0].count, N);
  /* 100 columns with RETURNING under SQLite's 32,766 parameters: 327 rows
  ** a statement (32,700 parameters; 328 would be 32,800) */
  ASSERT_EQ(qs_plan_batches(N, sig, 1, returning, &SQLITE, out, &nout), QS_OK);
  ASSERT_EQ(nout, (N + 326) / 327);
  total = 0;
  for (i = 0; i < nout; i++) {
    ASSERT_EQ(out[i].mode, QS_PLAN_RETURNING_MANY);
    ASSERT(out[i].count * 100 <= 32766);
    ASSERT_EQ(out[i].count, i < nout - 1 ? 327 : N - 327 * (nout - 1));
    total += out[i].count;
  }
  ASSERT_EQ(total, N);
  /* alternating signatures: a batch per row, in row order */
  {
    const qs_plan_sig two[] = {{3, 0}, {2, 0}};
    for (i = 0; i < N; i++) sig[i] = i % 2;
    ASSERT_EQ(qs_plan_batches(N, sig, 2, two, &POSTGRES, out, &nout), QS_OK);
    ASSERT_EQ(nout, N);
    for (i = 0; i < N; i++) {
      ASSERT_EQ(out[i].first, i);
      ASSERT_EQ(out[i].count, 1);
    }
  }
  free(sig);
  free(out);
  return 0;
}

/* 100,000 rows in a chain and in a wide tree: levels and delete order. */
TEST_IMPL(plan_levels_large) {
  enum { N = 100000 };
  int *parent = malloc(N * sizeof *parent), *child = malloc(N * sizeof *child);
  int *order = malloc(N * sizeof *order), *bounds = malloc((N + 1) * sizeof *bounds);
  long long *key = malloc(N * sizeof *key), *ref = malloc(N * sizeof *ref);
  int nb = -1, n = -1, i;
  ASSERT(parent && child && order && bounds && key && ref);
  /* a tree: row i's parent is (i-1)/2; levels are the depth (17 of them) */
  for (i = 1; i < N; i++) {
    parent[i - 1] = (i - 1) / 2;
    child[i - 1] = i;
  }
  ASSERT_EQ(qs_plan_row_levels(N, N - 1, parent, child, order, bounds, &nb, &n), QS_OK);
  ASSERT_EQ(n, N);
  ASSERT_EQ(nb, 17);
  for (i = 0; i < N; i++) ASSERT_EQ(order[i], i);   /* breadth first is index order here */
  ASSERT_EQ(bounds[nb], N);
  /* deleting a chain: row i refers to row i-1, so the last row goes first */
  for (i = 0; i < N; i++) {
    key[i] = 1000000 + i;
    ref[i] = i == 0 ? -1 : 1000000 + i - 1;
  }
  ASSERT_EQ(qs_plan_delete_order(N, 1, key, ref, order, bounds, &nb, &n), QS_OK);
  ASSERT_EQ(n, N);
  ASSERT_EQ(nb, N);
  for (i = 0; i < N; i++) ASSERT_EQ(order[i], N - 1 - i);
  free(parent);
  free(child);
  free(order);
  free(bounds);
  free(key);
  free(ref);
  return 0;
}
