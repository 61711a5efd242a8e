/*
** plan.c: the flush's plan over integer ids (plan.h). No Lua: the binding
** (lplan.c) turns Lua's lists into these arrays and back. Every function
** allocates its own scratch memory and frees it before returning.
*/
#include "plan.h"

#include <limits.h>
#include <stdlib.h>

#include "quicksilver.h"

int qs_plan_table_order(int n, int nfk, const qs_plan_fk *fks, int *order, int *nordered) {
  int *from, *to, *level, i, ne = 0, rc;
  if (n < 0 || nfk < 0 || (nfk > 0 && !fks) || !order || !nordered) return QS_ARGUMENT;
  for (i = 0; i < nfk; i++) {
    if (fks[i].parent < 0 || fks[i].parent >= n || fks[i].child < 0 || fks[i].child >= n) {
      return QS_ARGUMENT;
    }
  }
  from = malloc(((size_t)nfk + 1) * sizeof *from);
  to = malloc(((size_t)nfk + 1) * sizeof *to);
  level = malloc(((size_t)n + 1) * sizeof *level);
  if (!from || !to || !level) {
    rc = QS_NOMEM;
    goto out;
  }
  for (i = 0; i < nfk; i++) {
    if (fks[i].skip || fks[i].parent == fks[i].child) continue;
    from[ne] = fks[i].parent;
    to[ne] = fks[i].child;
    ne++;
  }
  rc = qs_toposort(n, ne, from, to, order, level, nordered);
out:
  free(from);
  free(to);
  free(level);
  return rc;
}

/* The sorted order cut into levels: order rearranged level by level
** (stable within a level), bounds[b] the start of level b. */
static int by_level(int n, int *order, const int *level, int *bounds, int *nbatches) {
  int *count, *copy, i, nlev = 0;
  for (i = 0; i < n; i++) {
    if (level[order[i]] + 1 > nlev) nlev = level[order[i]] + 1;
  }
  count = calloc((size_t)nlev + 1, sizeof *count);
  copy = malloc(((size_t)n + 1) * sizeof *copy);
  if (!count || !copy) {
    free(count);
    free(copy);
    return QS_NOMEM;
  }
  for (i = 0; i < n; i++) count[level[order[i]] + 1]++;
  for (i = 1; i <= nlev; i++) count[i] += count[i - 1];
  for (i = 0; i <= nlev; i++) bounds[i] = count[i];
  for (i = 0; i < n; i++) copy[count[level[order[i]]]++] = order[i];
  for (i = 0; i < n; i++) order[i] = copy[i];
  *nbatches = nlev;
  free(count);
  free(copy);
  return QS_OK;
}

/* Toposort, then levels; shared by row and delete ordering. */
static int levels_of(int n, int ne, const int *from, const int *to, int *order, int *bounds,
                     int *nbatches, int *nordered) {
  int *level, rc;
  level = malloc(((size_t)n + 1) * sizeof *level);
  if (!level) return QS_NOMEM;
  rc = qs_toposort(n, ne, from, to, order, level, nordered);
  if (rc == QS_OK && *nordered == n) rc = by_level(n, order, level, bounds, nbatches);
  free(level);
  return rc;
}

int qs_plan_row_levels(int n, int nedges, const int *parent, const int *child, int *order,
                       int *bounds, int *nbatches, int *nordered) {
  int i;
  if (n < 0 || nedges < 0 || (nedges > 0 && (!parent || !child)) || !order || !bounds ||
      !nbatches || !nordered) {
    return QS_ARGUMENT;
  }
  for (i = 0; i < nedges; i++) {
    if (parent[i] < 0 || parent[i] >= n || child[i] < 0 || child[i] >= n) return QS_ARGUMENT;
  }
  *nbatches = 0;
  bounds[0] = 0;
  return levels_of(n, nedges, parent, child, order, bounds, nbatches, nordered);
}

typedef struct keyed {
  long long key;
  int row;
} keyed;

static int cmp_keyed(const void *a, const void *b) {
  const keyed *x = a, *y = b;
  if (x->key != y->key) return x->key < y->key ? -1 : 1;
  return (x->row > y->row) - (x->row < y->row);
}

/* The row known by key k (the last such), or -1: a binary search. */
static int row_of(const keyed *ks, int nk, long long k) {
  int lo = 0, hi = nk - 1, found = -1;
  while (lo <= hi) {
    int mid = lo + (hi - lo) / 2;
    if (ks[mid].key < k) {
      lo = mid + 1;
    } else if (ks[mid].key > k) {
      hi = mid - 1;
    } else {
      found = ks[mid].row;   /* keep looking right for a later row */
      lo = mid + 1;
    }
  }
  return found;
}

int qs_plan_delete_order(int n, int nrefs, const long long *key, const long long *ref, int *order,
                         int *bounds, int *nbatches, int *nordered) {
  keyed *ks = NULL;
  int *from = NULL, *to = NULL, r, i, nk, ne = 0, rc;
  if (n < 0 || nrefs < 0 || (n > 0 && nrefs > 0 && (!key || !ref)) || !order || !bounds ||
      !nbatches || !nordered) {
    return QS_ARGUMENT;
  }
  if (nrefs > 0 && (size_t)n > ((size_t)INT_MAX) / (size_t)nrefs) return QS_ARGUMENT;
  *nbatches = 0;
  bounds[0] = 0;
  ks = malloc(((size_t)n + 1) * sizeof *ks);
  from = malloc(((size_t)n * (size_t)nrefs + 1) * sizeof *from);
  to = malloc(((size_t)n * (size_t)nrefs + 1) * sizeof *to);
  if (!ks || !from || !to) {
    rc = QS_NOMEM;
    goto out;
  }
  for (r = 0; r < nrefs; r++) {
    const long long *k = key + (size_t)r * (size_t)n, *f = ref + (size_t)r * (size_t)n;
    nk = 0;
    for (i = 0; i < n; i++) {
      if (k[i] >= 0) {
        ks[nk].key = k[i];
        ks[nk].row = i;
        nk++;
      }
    }
    qsort(ks, (size_t)nk, sizeof *ks, cmp_keyed);
    for (i = 0; i < n; i++) {
      int p = f[i] >= 0 ? row_of(ks, nk, f[i]) : -1;
      if (p >= 0 && p != i) {
        from[ne] = i;   /* the referring row before the one it names */
        to[ne] = p;
        ne++;
      }
    }
  }
  rc = levels_of(n, ne, from, to, order, bounds, nbatches, nordered);
out:
  free(ks);
  free(from);
  free(to);
  return rc;
}

int qs_plan_rows_per_statement(int ncols, int page_size, int max_params) {
  int per = page_size > 0 ? page_size : INT_MAX;
  if (max_params > 0) {
    int by_params = max_params / (ncols > 1 ? ncols : 1);
    if (by_params < per) per = by_params;
  }
  return per > 0 ? per : 1;
}

/* How a run of count rows of signature s is sent (flush_write's choice):
** every key given, an executemany; else the keys come back by RETURNING
** where the dialect has it for that many rows, or from the driver row by
** row. */
static int mode_of(const qs_plan_sig *s, int count, const qs_plan_caps *caps) {
  if (!s->need_key) return QS_PLAN_EXECUTEMANY;
  if (count == 1 || s->ncols == 0) {
    if (!caps->insert_returning) return QS_PLAN_ROW_BY_ROW;
    return s->ncols == 0 ? QS_PLAN_RETURNING_EACH : QS_PLAN_RETURNING_MANY;
  }
  return caps->insert_many_returning ? QS_PLAN_RETURNING_MANY : QS_PLAN_ROW_BY_ROW;
}

int qs_plan_batches(int n, const int *sig, int nsigs, const qs_plan_sig *sigs,
                    const qs_plan_caps *caps, qs_plan_batch *out, int *nout) {
  int i, start, nb = 0;
  if (n < 0 || nsigs < 0 || (n > 0 && (!sig || !sigs)) || !caps || !out || !nout) {
    return QS_ARGUMENT;
  }
  for (i = 0; i < n; i++) {
    if (sig[i] < 0 || sig[i] >= nsigs) return QS_ARGUMENT;
  }
  for (i = 0; i < nsigs; i++) {
    if (sigs[i].ncols < 0) return QS_ARGUMENT;
  }
  for (start = 0; start < n; ) {
    const qs_plan_sig *s = &sigs[sig[start]];
    int end = start + 1, mode, per, first;
    while (end < n && sig[end] == sig[start]) end++;
    mode = mode_of(s, end - start, caps);
    if (mode == QS_PLAN_EXECUTEMANY) {
      per = qs_plan_rows_per_statement(s->ncols, caps->page_size, caps->max_params);
      /* without a page size each row is its own execution: no cut */
      if (caps->page_size <= 0) per = INT_MAX;
    } else if (mode == QS_PLAN_RETURNING_MANY) {
      per = qs_plan_rows_per_statement(s->ncols, caps->returning_page_size, caps->max_params);
    } else {
      per = INT_MAX;   /* row by row: one batch, its rows sent one at a time */
    }
    for (first = start; first < end; ) {
      int count = end - first < per ? end - first : per;
      out[nb].first = first;
      out[nb].count = count;
      out[nb].mode = mode;
      nb++;
      first += count;
    }
    start = end;
  }
  *nout = nb;
  return QS_OK;
}
