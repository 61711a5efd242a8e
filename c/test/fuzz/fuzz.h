/*
** fuzz.h: what the fuzz targets share. Each c/test/fuzz/fuzz_<name>.c
** defines LLVMFuzzerTestOneInput; clang links it with libFuzzer for
** `make fuzz`, gcc with replay_main.c (every corpus file and reproducer fed
** to it once) for `make test`. A target reports a broken property with
** FUZZ_CHECK, which aborts: the sanitizers and libFuzzer both take an abort
** as a finding.
*/
#ifndef QS_FUZZ_H
#define QS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond, what)                                                  \
  do {                                                                          \
    if (!(cond)) {                                                              \
      fprintf(stderr, "fuzz property broken at %s:%d: %s\n", __FILE__, __LINE__, \
              what);                                                            \
      abort();                                                                  \
    }                                                                           \
  } while (0)

#endif
