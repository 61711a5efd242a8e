/*
** sqlite_regexp.c: regexp() and regexp_replace() for SQLite connections,
** over POSIX extended regular expressions (regcomp/regexec, the C locale:
** bytes, case folded in ASCII).
**
**   regexp(p, s[, flags])              1 when s matches p anywhere, else 0
**   regexp_replace(s, p, r[, flags])   s with the first match of p replaced
**                                      by r (every match with the flag g)
**
** As PostgreSQL reads them: flags i (case-insensitive), c (case-sensitive,
** the default), n or m (newline-sensitive: . and [^...] stop at a newline,
** ^ and $ match at one), g (regexp_replace: every match); any other letter
** is an error. In r, \1 .. \9 stand for the groups, \& for the whole match,
** \\ for a backslash. A NULL argument gives NULL. The compiled pattern is
** kept by SQLite between rows while the pattern is a constant of the
** statement (sqlite3_set_auxdata).
*/
#include "sqlite_regexp.h"

#include "quicksilver.h"

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NGROUPS 10

typedef struct compiled {
  regex_t re;
  int cflags;
} compiled;

static void compiled_free(void *p) {
  compiled *c = p;
  regfree(&c->re);
  free(c);
}

/* The regcomp flags for flags (NULL: none); global receives g. Returns 0,
** or the letter that is no flag. */
static int read_flags(const unsigned char *flags, int replace, int *cflags, int *global) {
  *cflags = REG_EXTENDED;
  *global = 0;
  for (; flags && *flags; flags++) {
    switch (*flags) {
      case 'i': *cflags |= REG_ICASE; break;
      case 'c': *cflags &= ~REG_ICASE; break;
      case 'n': case 'm': *cflags |= REG_NEWLINE; break;
      case 'g': if (replace) { *global = 1; break; } return 'g';
      default: return *flags;
    }
  }
  return 0;
}

/* The pattern compiled: the one SQLite keeps for argument arg, or a new
** one (*fresh set: the caller hands it to set_auxdata after its last use).
** NULL after the error has been set on ctx. */
static compiled *pattern(sqlite3_context *ctx, int arg, const char *p, int cflags, int *fresh) {
  compiled *c = sqlite3_get_auxdata(ctx, arg);
  int rc;
  *fresh = 0;
  if (c && c->cflags == cflags) return c;
  c = malloc(sizeof *c);
  if (c == NULL) {
    sqlite3_result_error_nomem(ctx);
    return NULL;
  }
  rc = regcomp(&c->re, p, cflags);
  if (rc != 0) {
    char msg[256], full[320];
    regerror(rc, &c->re, msg, sizeof msg);
    free(c);
    snprintf(full, sizeof full, "regexp: invalid pattern: %s", msg);
    sqlite3_result_error(ctx, full, -1);
    return NULL;
  }
  c->cflags = cflags;
  *fresh = 1;
  return c;
}

/* Keeps a freshly compiled pattern with the statement (SQLite may free it
** at once: nothing uses it after this). */
static void keep(sqlite3_context *ctx, int arg, compiled *c, int fresh) {
  if (fresh) sqlite3_set_auxdata(ctx, arg, c, compiled_free);
}

static int any_null(int argc, sqlite3_value **argv) {
  int i;
  for (i = 0; i < argc; i++)
    if (sqlite3_value_type(argv[i]) == SQLITE_NULL) return 1;
  return 0;
}

static void bad_flag(sqlite3_context *ctx, int letter) {
  char msg[80];
  snprintf(msg, sizeof msg, "regexp: unsupported flag '%c'", letter);
  sqlite3_result_error(ctx, msg, -1);
}

static void regexp_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  const char *p, *s;
  int cflags, global, bad, fresh;
  compiled *c;
  if (any_null(argc, argv)) return;   /* NULL */
  bad = read_flags(argc > 2 ? sqlite3_value_text(argv[2]) : NULL, 0, &cflags, &global);
  if (bad) {
    bad_flag(ctx, bad);
    return;
  }
  p = (const char *)sqlite3_value_text(argv[0]);
  s = (const char *)sqlite3_value_text(argv[1]);
  if (p == NULL || s == NULL) {
    sqlite3_result_error_nomem(ctx);
    return;
  }
  c = pattern(ctx, 0, p, cflags | REG_NOSUB, &fresh);
  if (c == NULL) return;
  sqlite3_result_int(ctx, regexec(&c->re, s, 0, NULL, 0) == 0);
  keep(ctx, 0, c, fresh);
}

/* Appends r with its group references filled from the match m of s. */
static void substitute(qs_buf *out, const char *r, const char *s, const regmatch_t *m) {
  for (; *r; r++) {
    int g = -1;
    if (*r != '\\' || r[1] == '\0') {
      qs_buf_putc(out, *r);
      continue;
    }
    r++;
    if (*r >= '1' && *r <= '9') g = *r - '0';
    else if (*r == '&') g = 0;
    else if (*r == '\\') {
      qs_buf_putc(out, '\\');
      continue;
    } else {
      qs_buf_putc(out, '\\');
      qs_buf_putc(out, *r);
      continue;
    }
    if (g < NGROUPS && m[g].rm_so >= 0) qs_buf_append(out, s + m[g].rm_so, (size_t)(m[g].rm_eo - m[g].rm_so));
  }
}

static void regexp_replace_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  const char *s, *p, *r;
  int cflags, global, bad, fresh, eflags = 0;
  size_t n, off = 0;
  compiled *c;
  qs_buf out;
  regmatch_t m[NGROUPS];
  if (any_null(argc, argv)) return;
  bad = read_flags(argc > 3 ? sqlite3_value_text(argv[3]) : NULL, 1, &cflags, &global);
  if (bad) {
    bad_flag(ctx, bad);
    return;
  }
  s = (const char *)sqlite3_value_text(argv[0]);
  p = (const char *)sqlite3_value_text(argv[1]);
  r = (const char *)sqlite3_value_text(argv[2]);
  if (s == NULL || p == NULL || r == NULL) {
    sqlite3_result_error_nomem(ctx);
    return;
  }
  n = strlen(s);
  c = pattern(ctx, 1, p, cflags, &fresh);
  if (c == NULL) return;
  qs_buf_init(&out);
  while (off <= n && regexec(&c->re, s + off, NGROUPS, m, eflags) == 0) {
    int i;
    for (i = 0; i < NGROUPS; i++) {   /* offsets from the start of s */
      if (m[i].rm_so >= 0) m[i].rm_so += (regoff_t)off, m[i].rm_eo += (regoff_t)off;
    }
    qs_buf_append(&out, s + off, (size_t)m[0].rm_so - off);
    substitute(&out, r, s, m);
    if (m[0].rm_eo == m[0].rm_so) {   /* an empty match: step over one byte */
      if ((size_t)m[0].rm_eo < n) qs_buf_putc(&out, s[m[0].rm_eo]);
      off = (size_t)m[0].rm_eo + 1;
    } else {
      off = (size_t)m[0].rm_eo;
    }
    eflags = REG_NOTBOL;
    if (!global) break;
  }
  if (off < n) qs_buf_append(&out, s + off, n - off);
  if (out.failed) sqlite3_result_error_nomem(ctx);
  else sqlite3_result_text(ctx, out.p ? out.p : "", (int)out.len, SQLITE_TRANSIENT);
  qs_buf_free(&out);
  keep(ctx, 1, c, fresh);
}

int qs__sqlite_register_regexp(sqlite3 *db) {
  int flags = SQLITE_UTF8;
  int rc;
#ifdef SQLITE_DETERMINISTIC
  flags |= SQLITE_DETERMINISTIC;
#endif
#ifdef SQLITE_INNOCUOUS
  flags |= SQLITE_INNOCUOUS;
#endif
  rc = sqlite3_create_function_v2(db, "regexp", 2, flags, NULL, regexp_fn, NULL, NULL, NULL);
  if (rc == SQLITE_OK) rc = sqlite3_create_function_v2(db, "regexp", 3, flags, NULL, regexp_fn, NULL, NULL, NULL);
  if (rc == SQLITE_OK)
    rc = sqlite3_create_function_v2(db, "regexp_replace", 3, flags, NULL, regexp_replace_fn, NULL, NULL, NULL);
  if (rc == SQLITE_OK)
    rc = sqlite3_create_function_v2(db, "regexp_replace", 4, flags, NULL, regexp_replace_fn, NULL, NULL, NULL);
  return rc;
}
