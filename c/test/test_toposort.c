/* test_toposort.c: the stable topological sort behind the ORM's flush order. */
#include <stdlib.h>
#include <string.h>

#include "quicksilver.h"
#include "test.h"

#define NE(a) ((int)(sizeof(a) / sizeof((a)[0])))

TEST_IMPL(toposort_chain) {
  /* given backwards: the result follows the edges, not their order */
  const int from[] = {2, 1, 0};
  const int to[] = {3, 2, 1};
  int order[4], level[4], nsorted = -1, i;
  ASSERT_EQ(qs_toposort(4, NE(from), from, to, order, level, &nsorted), QS_OK);
  ASSERT_EQ(nsorted, 4);
  for (i = 0; i < 4; i++) {
    ASSERT_EQ(order[i], i);
    ASSERT_EQ(level[i], i);
  }
  return 0;
}

TEST_IMPL(toposort_diamond_levels) {
  /* 0 -> {1, 2} -> 3, and a longer way round 0 -> 4 -> 5 -> 3: a level is
  ** the longest path from a root, not the shortest */
  const int from[] = {0, 0, 1, 2, 0, 4, 5};
  const int to[] = {1, 2, 3, 3, 4, 5, 3};
  const int want_order[] = {0, 1, 2, 4, 5, 3};
  const int want_level[] = {0, 1, 1, 3, 1, 2};
  int order[6], level[6], nsorted, i;
  ASSERT_EQ(qs_toposort(6, NE(from), from, to, order, level, &nsorted), QS_OK);
  ASSERT_EQ(nsorted, 6);
  for (i = 0; i < 6; i++) {
    ASSERT_EQ(order[i], want_order[i]);
    ASSERT_EQ(level[i], want_level[i]);
  }
  return 0;
}

TEST_IMPL(toposort_stable) {
  const int from[] = {5, 3, 5};
  const int to[] = {0, 1, 0};   /* a duplicate edge is harmless */
  const int want[] = {2, 3, 1, 4, 5, 0};
  int order[6], level[6], nsorted, i;
  /* no edges: index order */
  ASSERT_EQ(qs_toposort(6, 0, NULL, NULL, order, level, &nsorted), QS_OK);
  ASSERT_EQ(nsorted, 6);
  for (i = 0; i < 6; i++) ASSERT_EQ(order[i], i);
  /* a node becoming ready goes before larger ready ones (1 before 4) */
  ASSERT_EQ(qs_toposort(6, NE(from), from, to, order, level, &nsorted), QS_OK);
  ASSERT_EQ(nsorted, 6);
  for (i = 0; i < 6; i++) ASSERT_EQ(order[i], want[i]);
  ASSERT_EQ(level[0], 1);
  ASSERT_EQ(level[1], 1);
  ASSERT_EQ(level[5], 0);
  return 0;
}

TEST_IMPL(toposort_self_edges) {
  const int from[] = {0, 1, 1, 2};
  const int to[] = {0, 1, 0, 2};
  int order[3], level[3], nsorted;
  ASSERT_EQ(qs_toposort(3, NE(from), from, to, order, level, &nsorted), QS_OK);
  ASSERT_EQ(nsorted, 3);
  ASSERT_EQ(order[0], 1);
  ASSERT_EQ(order[1], 0);
  ASSERT_EQ(order[2], 2);
  ASSERT_EQ(level[0], 1);
  ASSERT_EQ(level[1], 0);
  ASSERT_EQ(level[2], 0);
  return 0;
}

TEST_IMPL(toposort_cycle) {
  /* 5 -> 0 -> 1 <-> 2 -> 3, 4 alone: 1 and 2 are in the cycle, 3 behind it */
  const int from[] = {0, 1, 2, 2, 5};
  const int to[] = {1, 2, 1, 3, 0};
  int order[6], level[6], nsorted;
  ASSERT_EQ(qs_toposort(6, NE(from), from, to, order, level, &nsorted), QS_OK);
  ASSERT_EQ(nsorted, 3);
  ASSERT_EQ(order[0], 4);
  ASSERT_EQ(order[1], 5);
  ASSERT_EQ(order[2], 0);
  ASSERT_EQ(order[3], 1);
  ASSERT_EQ(order[4], 2);
  ASSERT_EQ(order[5], 3);
  ASSERT_EQ(level[0], 1);
  ASSERT_EQ(level[1], -1);
  ASSERT_EQ(level[3], -1);
  return 0;
}

TEST_IMPL(toposort_bad_arguments) {
  const int from[] = {0, 1};
  const int to[] = {1, 3};
  const int neg[] = {-1};
  const int zero[] = {0};
  int order[3], level[3], nsorted = 99;
  ASSERT_EQ(qs_toposort(3, 2, from, to, order, level, &nsorted), QS_ARGUMENT);
  ASSERT_EQ(nsorted, 0);
  ASSERT_EQ(qs_toposort(3, 1, neg, zero, order, level, &nsorted), QS_ARGUMENT);
  ASSERT_EQ(qs_toposort(-1, 0, NULL, NULL, order, level, &nsorted), QS_ARGUMENT);
  ASSERT_EQ(qs_toposort(3, -1, from, to, order, level, &nsorted), QS_ARGUMENT);
  ASSERT_EQ(qs_toposort(0, 1, zero, zero, order, level, &nsorted), QS_ARGUMENT);
  return 0;
}

TEST_IMPL(toposort_empty) {
  int nsorted = 99;
  ASSERT_EQ(qs_toposort(0, 0, NULL, NULL, NULL, NULL, &nsorted), QS_OK);
  ASSERT_EQ(nsorted, 0);
  return 0;
}

/* Whether order is a topological order and each level is exactly 1 + the
** largest level of the node's predecessors (0 without any). */
static int valid(int n, int ne, const int *from, const int *to, const int *order,
                 const int *level, int *scratch) {
  int i;
  for (i = 0; i < n; i++) scratch[order[i]] = i;   /* position */
  for (i = 0; i < ne; i++)
    if (from[i] != to[i] && (scratch[from[i]] >= scratch[to[i]] || level[to[i]] <= level[from[i]]))
      return 0;
  for (i = 0; i < n; i++) scratch[i] = level[i] == 0;   /* the level is reached */
  for (i = 0; i < ne; i++)
    if (from[i] != to[i] && level[to[i]] == level[from[i]] + 1) scratch[to[i]] = 1;
  for (i = 0; i < n; i++)
    if (!scratch[i]) return 0;
  return 1;
}

/* Sorts n nodes: a chain 0 -> 1 -> ... when chain is set, plus nrand random
** forward edges (some of them self-edges); 1 when the result is right. */
static int sort_large(int n, int chain, int nrand) {
  int nchain = chain ? n - 1 : 0, ne = nchain + nrand, i, nsorted = 0, ok = 0;
  int *from = malloc((size_t)ne * sizeof(int)), *to = malloc((size_t)ne * sizeof(int));
  int *order = malloc((size_t)n * sizeof(int)), *level = malloc((size_t)n * sizeof(int));
  int *scratch = malloc((size_t)n * sizeof(int));
  uint32_t seed = 12345;
  if (from && to && order && level && scratch) {
    for (i = 0; i < nchain; i++) {
      from[i] = i;
      to[i] = i + 1;
    }
    for (i = nchain; i < ne; i++) {
      int a, b;
      seed = seed * 1664525u + 1013904223u;
      a = (int)((seed >> 8) % (uint32_t)n);
      seed = seed * 1664525u + 1013904223u;
      b = (int)((seed >> 8) % (uint32_t)n);
      from[i] = a < b ? a : b;
      to[i] = a < b ? b : a;
    }
    ok = qs_toposort(n, ne, from, to, order, level, &nsorted) == QS_OK && nsorted == n &&
         valid(n, ne, from, to, order, level, scratch);
    for (i = 0; ok && chain && i < n; i++)
      if (order[i] != i || level[i] != i) ok = 0;
  }
  free(from);
  free(to);
  free(order);
  free(level);
  free(scratch);
  return ok;
}

TEST_IMPL(toposort_large) {
  /* a chain of 100,000 nodes plus 300,000 random forward edges */
  ASSERT(sort_large(100000, 1, 300000));
  /* 200,000 nodes and 400,000 random edges: a wide graph, a busy heap */
  ASSERT(sort_large(200000, 0, 400000));
  return 0;
}
