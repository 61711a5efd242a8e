/*
** fuzz_scram.c: SCRAM-SHA-256 (c/protocol/auth.c) as the client sees the
** server's messages. The input is the server-first message, then after a
** NUL byte (when there is one) the server-final message. The client-first
** message is made with RFC 7677's nonce, so an input starting
** "r=rOprNGfwEbeRWgbNEkqO" reaches the proof and the signature check.
** Properties: each step succeeds or fails with a message; a failed step
** leaves the output as it was; the state frees cleanly whatever happened.
*/
#include <string.h>

#include "auth.h"
#include "fuzz.h"
#include "quicksilver.h"

/* Nonzero when an "i=" in the n bytes at p asks for more iterations than a
** fuzz run can afford (the parser allows ten million: seconds of PBKDF2,
** which libFuzzer would report as a slow input, not a bug). */
static int too_many_iterations(const char *p, size_t n) {
  size_t i;
  for (i = 0; i + 1 < n; i++) {
    if (p[i] == 'i' && p[i + 1] == '=') {
      size_t j = i + 2;
      unsigned long v = 0;
      while (j < n && p[j] >= '0' && p[j] <= '9' && v <= 100000) v = v * 10 + (unsigned long)(p[j++] - '0');
      if (v > 20000) return 1;
    }
  }
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  qs_scram s;
  qs_buf out;
  qs_error err;
  const char *first = (const char *)data, *final = NULL;
  size_t nfirst = size, nfinal = 0;
  const char *nul = memchr(data, '\0', size);
  int rc;
  if (nul) {
    nfirst = (size_t)(nul - first);
    final = nul + 1;
    nfinal = size - nfirst - 1;
  }
  if (too_many_iterations(first, nfirst)) return 0;
  memset(&s, 0, sizeof s);
  memset(&err, 0, sizeof err);
  qs_buf_init(&out);
  rc = qs_scram_client_first_with(&s, "user", "rOprNGfwEbeRWgbNEkqO", &out, &err);
  FUZZ_CHECK(rc == QS_OK, "the client-first message failed");
  {
    size_t before = out.len;
    /* the driver hands the server-first message NUL-terminated: a copy */
    char *copy = malloc(nfirst + 1);
    if (copy == NULL) goto done;
    memcpy(copy, first, nfirst);
    copy[nfirst] = '\0';
    rc = qs_scram_client_final(&s, "pencil", copy, nfirst, &out, &err);
    free(copy);
    if (rc != QS_OK) {
      FUZZ_CHECK(err.message != NULL, "a refusal without a message");
      FUZZ_CHECK(out.len == before, "a failed step changed the output");
      goto done;
    }
  }
  qs_error_clear(&err);
  if (final) {
    rc = qs_scram_verify(&s, final, nfinal, &err);
    FUZZ_CHECK(rc == QS_OK || err.message != NULL, "a refusal without a message");
  }
done:
  qs_error_clear(&err);
  qs_scram_free(&s);
  qs_scram_free(&s);   /* idempotent */
  qs_buf_free(&out);
  return 0;
}
