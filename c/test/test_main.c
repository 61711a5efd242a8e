/*
** test_main.c: runs the C unit tests (c/test/test_list.h) and prints one
** line per test, then "N passed, N failed". The first argument, when
** given, runs only the tests whose names contain it.
*/
#include "test.h"

/* The list to run: test_list.h, or the one given at compile time (the
** binding tests: -DTEST_LIST_FILE='"binding/test_list.h"'). */
#ifndef TEST_LIST_FILE
#define TEST_LIST_FILE "test_list.h"
#endif
#include TEST_LIST_FILE

#define DECLARE_(name) int test_##name(void);
TEST_LIST(DECLARE_)
#undef DECLARE_

static const test_entry tests[] = {
#define ENTRY_(name) {#name, test_##name},
  TEST_LIST(ENTRY_)
#undef ENTRY_
};

int main(int argc, char **argv) {
  test_tally tally = {0, 0};
  test_run_list(tests, sizeof tests / sizeof tests[0], argc > 1 ? argv[1] : NULL, &tally);
  return test_summary(&tally);
}
