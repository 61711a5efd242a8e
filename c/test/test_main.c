/*
** test_main.c: runs the C unit tests (c/test/test_list.h) and prints one
** line per test, then "N passed, N failed". The first argument, when
** given, runs only the tests whose names contain it.
*/
#include <stdio.h>
#include <string.h>

/* The list to run: test_list.h, or the one given at compile time (the
** binding tests: -DTEST_LIST_FILE='"binding/test_list.h"'). */
#ifndef TEST_LIST_FILE
#define TEST_LIST_FILE "test_list.h"
#endif
#include TEST_LIST_FILE

#define DECLARE_(name) int test_##name(void);
TEST_LIST(DECLARE_)
#undef DECLARE_

typedef struct { const char *name; int (*fn)(void); } test_entry;

static const test_entry tests[] = {
#define ENTRY_(name) {#name, test_##name},
  TEST_LIST(ENTRY_)
#undef ENTRY_
};

int main(int argc, char **argv) {
  size_t i;
  int passed = 0, failed = 0;
  for (i = 0; i < sizeof tests / sizeof tests[0]; i++) {
    int rc;
    if (argc > 1 && strstr(tests[i].name, argv[1]) == NULL) continue;
    rc = tests[i].fn();
    printf("%s c/%s\n", rc == 0 ? "ok  " : "FAIL", tests[i].name);
    if (rc == 0) passed++; else failed++;
  }
  printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
