/*
** replay_main.c: a standalone main for the fuzz targets, so `make test` can
** replay the seed corpora and the crash reproducers without clang or
** libFuzzer. Linked (with gcc, -fsanitize=address,undefined) to one
** target; every argument is a file or a directory whose regular files are
** fed to LLVMFuzzerTestOneInput once each, in name order. A sanitizer
** report or a broken property aborts the process; otherwise it prints
** "<target>: N inputs replayed" and then "1 passed, 0 failed" (one test
** per target: run_tests.sh counts it like the other C programs).
*/
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

static long replayed;

static int replay_file(const char *path) {
  FILE *f = fopen(path, "rb");
  unsigned char *buf;
  long n;
  if (f == NULL) {
    perror(path);
    return 1;
  }
  if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
    fclose(f);
    fprintf(stderr, "%s: cannot size\n", path);
    return 1;
  }
  /* a copy of exactly n bytes (n + 1 for malloc(0)): ASan sees overreads */
  buf = malloc((size_t)n + 1);
  if (buf == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n) {
    free(buf);
    fclose(f);
    fprintf(stderr, "%s: cannot read\n", path);
    return 1;
  }
  fclose(f);
  /* the name first: a finding aborts before anything else is said */
  fprintf(stderr, "replaying %s\n", path);
  LLVMFuzzerTestOneInput(buf, (size_t)n);
  free(buf);
  replayed++;
  return 0;
}

static int by_name(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static int replay_path(const char *path) {
  struct stat st;
  DIR *dir;
  struct dirent *e;
  char **names = NULL;
  size_t count = 0, cap = 0, i;
  int rc = 0;
  if (stat(path, &st) != 0) return 0;   /* no reproducers yet: nothing to replay */
  if (!S_ISDIR(st.st_mode)) return replay_file(path);
  dir = opendir(path);
  if (dir == NULL) {
    perror(path);
    return 1;
  }
  while ((e = readdir(dir)) != NULL) {
    char *full;
    if (e->d_name[0] == '.') continue;   /* ., .., .gitkeep */
    full = malloc(strlen(path) + strlen(e->d_name) + 2);
    if (full == NULL) break;
    sprintf(full, "%s/%s", path, e->d_name);
    if (stat(full, &st) != 0 || !S_ISREG(st.st_mode)) {
      free(full);
      continue;
    }
    if (count == cap) {
      char **grown = realloc(names, (cap = cap ? cap * 2 : 64) * sizeof *names);
      if (grown == NULL) {
        free(full);
        break;
      }
      names = grown;
    }
    names[count++] = full;
  }
  closedir(dir);
  if (count) qsort(names, count, sizeof *names, by_name);
  for (i = 0; i < count; i++) {
    if (rc == 0) rc = replay_file(names[i]);
    free(names[i]);
  }
  free(names);
  return rc;
}

int main(int argc, char **argv) {
  int i, rc = 0;
  const char *name = argc > 0 ? strrchr(argv[0], '/') : NULL;
  name = name ? name + 1 : (argc > 0 ? argv[0] : "replay");
  for (i = 1; i < argc && rc == 0; i++) rc = replay_path(argv[i]);
  printf("%s: %ld inputs replayed\n", name, replayed);
  if (rc == 0 && replayed == 0) {
    printf("%s: no input at all (an empty corpus)\n", name);
    rc = 1;
  }
  printf("%d passed, %d failed\n", rc == 0, rc != 0);
  return rc;
}
