/*
** opts.c: connection options kept as copies (opts.h).
*/
#include "opts.h"

#include <stdlib.h>
#include <string.h>

static char *dup(const char *s) {
  size_t n = strlen(s) + 1;
  char *p = malloc(n);
  if (p) memcpy(p, s, n);
  return p;
}

int qs__opts_copy(qs_opts *o, int n, const char *const *keys, const char *const *vals) {
  int i;
  o->n = 0;
  o->keys = calloc((size_t)n + 1, sizeof *o->keys);
  o->vals = calloc((size_t)n + 1, sizeof *o->vals);
  if (o->keys == NULL || o->vals == NULL) return 0;
  for (i = 0; i < n; i++) {
    o->keys[i] = dup(keys[i]);
    o->vals[i] = dup(vals[i]);
    o->n = i + 1;
    if (o->keys[i] == NULL || o->vals[i] == NULL) return 0;
  }
  return 1;
}

void qs__opts_free(qs_opts *o) {
  int i;
  for (i = 0; i < o->n; i++) {
    free(o->keys[i]);
    free(o->vals[i]);
  }
  free(o->keys);
  free(o->vals);
  o->n = 0;
  o->keys = o->vals = NULL;
}

const char *qs__opts_get(const qs_opts *o, const char *name) {
  int i;
  for (i = 0; i < o->n; i++)
    if (strcmp(o->keys[i], name) == 0) return o->vals[i];
  return NULL;
}
