/*
** toposort.c: a stable topological sort (Kahn's algorithm) for the ORM's
** flush planning: mappers and rows ordered so that a row is inserted after
** the rows it refers to.
**
** Stable means the result depends only on the graph, never on the order the
** edges were given in: of the nodes that are ready, the smallest index goes
** first. The ORM numbers nodes in a deterministic order (mapper registration,
** object insertion), so the statements a flush emits are reproducible.
** The ready set is a binary min-heap, so the sort is O((n + e) log n).
*/
#include "quicksilver.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void heap_push(int *heap, int *len, int v) {
  int i = (*len)++;
  while (i > 0) {
    int parent = (i - 1) / 2;
    if (heap[parent] <= v) break;
    heap[i] = heap[parent];
    i = parent;
  }
  heap[i] = v;
}

static int heap_pop(int *heap, int *len) {
  int top = heap[0], last = heap[--(*len)], i = 0;
  for (;;) {
    int child = 2 * i + 1;
    if (child >= *len) break;
    if (child + 1 < *len && heap[child + 1] < heap[child]) child++;
    if (last <= heap[child]) break;
    heap[i] = heap[child];
    i = child;
  }
  if (*len > 0) heap[i] = last;
  return top;
}

int qs_toposort(int n, int nedges, const int *from, const int *to, int *order, int *level,
                int *nsorted) {
  int *indeg, *start, *adj, *heap, *mem;
  int i, m = 0, len = 0, placed = 0;
  size_t cells;

  if (nsorted) *nsorted = 0;
  if (n < 0 || nedges < 0 || !nsorted || (nedges > 0 && (!from || !to)) ||
      (n > 0 && (!order || !level)))
    return QS_ARGUMENT;
  /* every index checked before anything is allocated */
  for (i = 0; i < nedges; i++) {
    if (from[i] < 0 || from[i] >= n || to[i] < 0 || to[i] >= n) return QS_ARGUMENT;
    if (from[i] != to[i]) m++;
  }
  if (n == 0) return QS_OK;

  /* One block: in-degrees (n), adjacency starts (n + 1), successors (m),
  ** the heap (n). The bound keeps the size computation from wrapping. */
  if ((size_t)n > (SIZE_MAX / sizeof(int) - 1 - (size_t)m) / 3) return QS_NOMEM;
  cells = 3 * (size_t)n + 1 + (size_t)m;
  mem = (int *)malloc(cells * sizeof(int));
  if (!mem) return QS_NOMEM;
  indeg = mem;
  start = indeg + n;
  adj = start + n + 1;
  heap = adj + m;
  memset(mem, 0, (2 * (size_t)n + 1) * sizeof(int));

  /* Successor lists (compressed rows): count each node's out-degree, turn
  ** the counts into running ends, then fill each list backwards, which
  ** leaves start[u] at the beginning of u's list and start[u + 1] at its end. */
  for (i = 0; i < nedges; i++) {
    if (from[i] == to[i]) continue;
    start[from[i]]++;
    indeg[to[i]]++;
  }
  for (i = 1; i < n; i++) start[i] += start[i - 1];
  start[n] = m;
  for (i = 0; i < nedges; i++)
    if (from[i] != to[i]) adj[--start[from[i]]] = to[i];

  /* Nodes without predecessors, pushed in ascending order: already a heap. */
  for (i = 0; i < n; i++) {
    level[i] = 0;
    if (indeg[i] == 0) heap[len++] = i;
  }
  while (len > 0) {
    int u = heap_pop(heap, &len), k;
    order[placed++] = u;
    /* u's level is final: every predecessor was placed before it */
    for (k = start[u]; k < start[u + 1]; k++) {
      int v = adj[k];
      if (level[v] < level[u] + 1) level[v] = level[u] + 1;
      if (--indeg[v] == 0) heap_push(heap, &len, v);
    }
  }
  *nsorted = placed;

  /* What a cycle left behind: in index order after the placed nodes, with
  ** no level (a node behind a cycle has none). */
  for (i = 0; i < n && placed < n; i++) {
    if (indeg[i] > 0) {
      order[placed++] = i;
      level[i] = -1;
    }
  }
  free(mem);
  return QS_OK;
}
