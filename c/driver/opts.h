/*
** opts.h: a driver's connection options kept as copies (key and value
** strings it owns), for the drivers that read them again later: the MySQL
** drivers' cancel opens a second connection with them. Compiled into each
** module that holds such a driver.
*/
#ifndef QS_OPTS_H
#define QS_OPTS_H

typedef struct qs_opts {
  int n;
  char **keys, **vals;       /* n of each, then a NULL */
} qs_opts;

/* Copies n keys and values into *o; 0 when out of memory (*o then holds
** what was copied, for qs__opts_free). */
int qs__opts_copy(qs_opts *o, int n, const char *const *keys, const char *const *vals);

/* Frees the copies; *o is empty again. */
void qs__opts_free(qs_opts *o);

/* The value of key name, or NULL. */
const char *qs__opts_get(const qs_opts *o, const char *name);

#endif
