/*
** test.h: a minimal harness in libuv's TEST_IMPL/ASSERT style. Each test is
** a function returning 0; ASSERT prints the failing expression and returns 1.
*/
#ifndef QS_TEST_H
#define QS_TEST_H

#include <stdio.h>

#define TEST_IMPL(name) int test_##name(void); int test_##name(void)

#define ASSERT(expr)                                                         \
  do {                                                                       \
    if (!(expr)) {                                                           \
      fprintf(stderr, "  assertion failed: %s (%s:%d)\n", #expr, __FILE__,   \
              __LINE__);                                                     \
      return 1;                                                              \
    }                                                                        \
  } while (0)

#define ASSERT_EQ(a, b) ASSERT((a) == (b))
#define ASSERT_STR_EQ(a, b) ASSERT(strcmp((a), (b)) == 0)

#endif
