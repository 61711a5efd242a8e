/*
** auth.c: the password exchanges of the wire protocols (see auth.h):
** PostgreSQL md5, the SCRAM-SHA-256 client (RFC 5802, RFC 7677),
** mysql_native_password and caching_sha2_password's fast path. Everything
** a server sends is parsed from (pointer, length) and never read past;
** everything derived from the password is wiped before it is given back.
*/
#include <stdlib.h>
#include <string.h>

#include "quicksilver.h"
#include "auth.h"

/* The iteration count a server may ask for: PostgreSQL's default is 4096;
** beyond ten million a hostile server would only be burning our CPU. */
#define SCRAM_MAX_ITERATIONS 10000000u
/* How much of a server's text an error message quotes. */
#define QUOTE_MAX 200

/* ---- PostgreSQL md5 --------------------------------------------------------- */

void qs_auth_pg_md5(const char *user, const char *password, const unsigned char salt[4],
                    char out[QS_PG_MD5_RESPONSE_SIZE]) {
  unsigned char d[QS_MD5_SIZE];
  char inner[2 * QS_MD5_SIZE + 1];
  if (!user) user = "";
  if (!password) password = "";
  qs_md5_pair(password, strlen(password), user, strlen(user), d);
  qs_hex(d, sizeof d, inner);
  qs_md5_pair(inner, 2 * QS_MD5_SIZE, salt, 4, d);
  memcpy(out, "md5", 3);
  qs_hex(d, sizeof d, out + 3);
  qs_wipe(d, sizeof d);
  qs_wipe(inner, sizeof inner);
}

/* ---- MySQL ------------------------------------------------------------------ */

typedef void (*pair_digest)(const void *a, size_t na, const void *b, size_t nb, unsigned char *out);

/* Both MySQL scrambles: s1 = H(password), s2 = H(s1), and s1 XOR H of s2
** joined to the scramble (scramble first for native, last for sha2). */
static void mysql_scramble(pair_digest h, size_t size, int scramble_first, const char *password,
                           const unsigned char *scramble, size_t slen, unsigned char *out,
                           size_t *outlen) {
  unsigned char stage1[QS_SHA256_SIZE], stage2[QS_SHA256_SIZE], mask[QS_SHA256_SIZE];
  size_t i;
  if (!password || !*password) {
    *outlen = 0;
    return;
  }
  h(password, strlen(password), NULL, 0, stage1);
  h(stage1, size, NULL, 0, stage2);
  if (scramble_first) h(scramble, slen, stage2, size, mask);
  else h(stage2, size, scramble, slen, mask);
  for (i = 0; i < size; i++) out[i] = (unsigned char)(stage1[i] ^ mask[i]);
  *outlen = size;
  qs_wipe(stage1, sizeof stage1);
  qs_wipe(stage2, sizeof stage2);
  qs_wipe(mask, sizeof mask);
}

void qs_auth_mysql_native(const char *password, const unsigned char *scramble, size_t slen,
                          unsigned char out[QS_SHA1_SIZE], size_t *outlen) {
  mysql_scramble(qs_sha1_pair, QS_SHA1_SIZE, 1, password, scramble, slen, out, outlen);
}

void qs_auth_caching_sha2(const char *password, const unsigned char *scramble, size_t slen,
                          unsigned char out[QS_SHA256_SIZE], size_t *outlen) {
  mysql_scramble(qs_sha256_pair, QS_SHA256_SIZE, 0, password, scramble, slen, out, outlen);
}

/* ---- SCRAM-SHA-256 ---------------------------------------------------------- */

/* Equal in time that depends on n only, so that a forged signature learns
** nothing from how long the comparison took. */
static int equal_constant_time(const unsigned char *a, const unsigned char *b, size_t n) {
  volatile unsigned char diff = 0;
  size_t i;
  for (i = 0; i < n; i++) diff = (unsigned char)(diff | (a[i] ^ b[i]));
  return diff == 0;
}

/* RFC 5802's printable: what a nonce is made of (%x21-2B / %x2D-7E). */
static int is_printable(unsigned char ch) {
  return ch >= 0x21 && ch <= 0x7e && ch != ',';
}

static char *dup_span(const char *p, size_t n) {
  char *s = malloc(n + 1);
  if (s) {
    memcpy(s, p, n);
    s[n] = '\0';
  }
  return s;
}

/* Puts the buffer back to its length `at` and returns rc: a failed call
** leaves out as it found it. */
static int give_back(qs_buf *out, size_t at, int rc) {
  if (out->len > at) {
    out->len = at;
    out->p[at] = '\0';
  }
  return rc;
}

int qs_scram_client_first(qs_scram *s, qs_buf *out, qs_error *err) {
  unsigned char raw[18];
  char nonce[sizeof s->nonce];
  int rc;
  if (qs_random_bytes(raw, sizeof raw) != 0)
    return qs_error_set(err, QS_INTERNAL, "SCRAM-SHA-256: the system gave no random bytes for the "
                                          "client nonce");
  qs_base64_encode(raw, sizeof raw, nonce);
  rc = qs_scram_client_first_with(s, NULL, nonce, out, err);
  qs_wipe(raw, sizeof raw);
  return rc;
}

int qs_scram_client_first_with(qs_scram *s, const char *user, const char *nonce, qs_buf *out,
                               qs_error *err) {
  size_t i, n = nonce ? strlen(nonce) : 0, at = out->len;
  qs_buf bare;
  if (s->state != 0)
    return qs_error_set(err, QS_MISUSE, "SCRAM-SHA-256: the exchange has already begun (state %d)",
                        s->state);
  if (n == 0 || n >= sizeof s->nonce)
    return qs_error_set(err, QS_ARGUMENT, "SCRAM-SHA-256: a client nonce of %zu characters "
                                          "(1 to %zu)", n, sizeof s->nonce - 1);
  for (i = 0; i < n; i++)
    if (!is_printable((unsigned char)nonce[i]))
      return qs_error_set(err, QS_ARGUMENT, "SCRAM-SHA-256: the client nonce has a character "
                                            "(0x%02x) that is not printable or is a comma",
                          (unsigned char)nonce[i]);
  /* client-first-message-bare: the user name with ',' and '=' escaped */
  qs_buf_init(&bare);
  qs_buf_puts(&bare, "n=");
  for (; user && *user; user++) {
    if (*user == ',') qs_buf_puts(&bare, "=2C");
    else if (*user == '=') qs_buf_puts(&bare, "=3D");
    else qs_buf_putc(&bare, *user);
  }
  qs_buf_puts(&bare, ",r=");
  qs_buf_append(&bare, nonce, n);
  qs_buf_puts(out, "n,,");  /* gs2 header: no channel binding, no authzid */
  if (bare.len) qs_buf_append(out, bare.p, bare.len);
  if (bare.failed || out->failed) {
    qs_buf_free(&bare);
    return give_back(out, at, qs_error_set(err, QS_NOMEM, "out of memory starting SCRAM-SHA-256"));
  }
  memcpy(s->nonce, nonce, n + 1);
  s->client_first_bare = bare.p;  /* the buffer's bytes are the caller's now */
  s->state = 1;
  return QS_OK;
}

/* A cursor over the server's message. */
typedef struct cursor {
  const char *p, *end;
} cursor;

/* The value of attribute `name` at the cursor ("<name>=<value>" up to the
** next ',' or the end), the cursor moved past it and its comma. */
static int take_attr(cursor *c, char name, const char **v, size_t *vn) {
  const char *q;
  if (c->end - c->p < 2 || c->p[0] != name || c->p[1] != '=') return 0;
  q = c->p + 2;
  *v = q;
  while (q < c->end && *q != ',') q++;
  *vn = (size_t)(q - *v);
  c->p = q < c->end ? q + 1 : q;
  return 1;
}

/* The server's "e=<text>" (n >= 2 bytes at p) as an error (RFC 5802's
** server-error). */
static int server_error(qs_error *err, const char *what, const char *p, size_t n) {
  const char *v = p + 2, *comma = memchr(v, ',', n - 2);
  size_t vn = comma ? (size_t)(comma - v) : n - 2;
  return qs_error_set(err, QS_OPERATIONAL, "SCRAM-SHA-256: the server refused the %s: %.*s", what,
                      (int)(vn > QUOTE_MAX ? QUOTE_MAX : vn), v);
}

/* The extensions RFC 5802 lets follow the attributes: ",<letter>=<value>"
** with a value of at least one character, ignored when well formed. The cursor has passed the comma before one. */
static int extensions_ok(const char *p, const char *end, int had_comma) {
  cursor c;
  const char *v;
  size_t vn;
  if (!had_comma) return p == end;
  if (p == end) return 0;  /* a comma with nothing after it */
  c.p = p;
  c.end = end;
  while (c.p < c.end) {
    unsigned char ch = (unsigned char)c.p[0];
    if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')) || !take_attr(&c, (char)ch, &v, &vn) ||
        vn == 0)
      return 0;
    if (c.p == c.end && c.p[-1] == ',') return 0;  /* a trailing comma */
  }
  return 1;
}

/* Whether the n bytes at p hold a NUL (a C-string field would end early). */
static int has_nul(const char *p, size_t n) {
  return memchr(p, '\0', n) != NULL;
}

/* What reading a server message begins with: the exchange at the step
** that expects it (state), and a message with no NUL in it. */
static int step_ready(const qs_scram *s, int state, const char *what, const char *msg, size_t n,
                      qs_error *err) {
  if (s->state != state)
    return qs_error_set(err, QS_MISUSE, "SCRAM-SHA-256: a %s message out of turn (the exchange is "
                                        "at step %d, not %d)", what, s->state, state);
  if (!msg || has_nul(msg, n))
    return qs_error_set(err, QS_INTERFACE, "SCRAM-SHA-256: the %s message %s", what,
                        msg ? "holds a NUL byte" : "is missing");
  return QS_OK;
}

/* The parsed server-first-message. */
typedef struct server_first {
  const char *nonce;
  size_t nonce_len;
  unsigned char *salt;  /* malloc'd */
  size_t salt_len;
  uint32_t iterations;
} server_first;

static int parse_iterations(const char *v, size_t vn, uint32_t *out, qs_error *err) {
  uint64_t it = 0;
  size_t i;
  if (vn == 0)
    return qs_error_set(err, QS_INTERFACE, "SCRAM-SHA-256: the server-first message has an empty "
                                           "iteration count");
  for (i = 0; i < vn; i++) {
    if (v[i] < '0' || v[i] > '9')
      return qs_error_set(err, QS_INTERFACE, "SCRAM-SHA-256: the iteration count \"%.*s\" is not a "
                                             "number", (int)(vn > QUOTE_MAX ? QUOTE_MAX : vn), v);
    it = it * 10 + (uint64_t)(v[i] - '0');
    if (it > SCRAM_MAX_ITERATIONS)
      return qs_error_set(err, QS_INTERFACE, "SCRAM-SHA-256: the server asks for %.*s%s iterations, "
                                             "over the limit of %u", (int)(vn > 40 ? 40 : vn), v,
                          vn > 40 ? "..." : "", SCRAM_MAX_ITERATIONS);
  }
  if (it == 0)
    return qs_error_set(err, QS_INTERFACE, "SCRAM-SHA-256: the server asks for 0 iterations "
                                           "(at least 1)");
  *out = (uint32_t)it;
  return QS_OK;
}

static int parse_server_first(const qs_scram *s, const char *msg, size_t n, server_first *sf,
                              qs_error *err) {
  cursor c;
  const char *v;
  size_t vn, i, ours = strlen(s->nonce);
  long got;
  int rc;
  c.p = msg;
  c.end = msg + n;
  if (n >= 2 && msg[0] == 'e' && msg[1] == '=') return server_error(err, "authentication", msg, n);
  if (n >= 2 && msg[0] == 'm' && msg[1] == '=')
    return qs_error_set(err, QS_INTERFACE, "SCRAM-SHA-256: the server requires a mandatory "
                                           "extension (m=) this client does not support");
  if (!take_attr(&c, 'r', &v, &vn) || c.p == c.end || c.p[-1] != ',')
    return qs_error_set(err, QS_INTERFACE, "SCRAM-SHA-256: the server-first message does not begin "
                                           "with a nonce (r=) and go on");
  for (i = 0; i < vn; i++)
    if (!is_printable((unsigned char)v[i]))
      return qs_error_set(err, QS_INTERFACE, "SCRAM-SHA-256: the server nonce has a character (0x%02x) "
                                             "that is not printable", (unsigned char)v[i]);
  if (vn <= ours || memcmp(v, s->nonce, ours) != 0)
    return qs_error_set(err, QS_INTERFACE, "SCRAM-SHA-256: the server nonce does not extend the "
                                           "client's");
  sf->nonce = v;
  sf->nonce_len = vn;
  if (!take_attr(&c, 's', &v, &vn) || c.p == c.end || c.p[-1] != ',')
    return qs_error_set(err, QS_INTERFACE, "SCRAM-SHA-256: the server-first message has no salt (s=) "
                                           "after the nonce");
  sf->salt = malloc(vn / 4 * 3 + 1);
  if (!sf->salt) return qs_error_set(err, QS_NOMEM, "out of memory reading a SCRAM-SHA-256 salt");
  got = qs_base64_decode(v, vn, sf->salt, vn / 4 * 3);
  if (got <= 0)
    return qs_error_set(err, QS_INTERFACE, "SCRAM-SHA-256: the salt is %s", got == 0 ? "empty" :
                        "not valid base64");
  sf->salt_len = (size_t)got;
  if (!take_attr(&c, 'i', &v, &vn))
    return qs_error_set(err, QS_INTERFACE, "SCRAM-SHA-256: the server-first message has no iteration "
                                           "count (i=) after the salt");
  rc = parse_iterations(v, vn, &sf->iterations, err);
  if (rc != QS_OK) return rc;
  if (!extensions_ok(c.p, c.end, c.p > v + vn))
    return qs_error_set(err, QS_INTERFACE, "SCRAM-SHA-256: the server-first message has malformed "
                                           "attributes after the iteration count");
  return QS_OK;
}

/* The keys and signatures of the exchange (all wiped together). */
typedef struct scram_keys {
  unsigned char salted[QS_SHA256_SIZE], client_key[QS_SHA256_SIZE], stored_key[QS_SHA256_SIZE];
  unsigned char signature[QS_SHA256_SIZE], proof[QS_SHA256_SIZE], server_key[QS_SHA256_SIZE];
} scram_keys;

int qs_scram_client_final(qs_scram *s, const char *password, const char *server_first_msg,
                          size_t n, qs_buf *out, qs_error *err) {
  server_first sf;
  scram_keys k;
  qs_buf final_part, auth;
  char proof64[QS_SHA256_SIZE / 3 * 4 + 8];
  size_t i, at = out->len;
  int rc;
  rc = step_ready(s, 1, "server-first", server_first_msg, n, err);
  if (rc != QS_OK) return rc;
  memset(&sf, 0, sizeof sf);
  rc = parse_server_first(s, server_first_msg, n, &sf, err);
  if (rc != QS_OK) {
    free(sf.salt);
    return rc;
  }
  if (!password) password = "";
  /* SaltedPassword := Hi(password, salt, i); the rest by RFC 5802 section 3 */
  qs_pbkdf2_sha256(password, strlen(password), sf.salt, sf.salt_len, sf.iterations, k.salted);
  free(sf.salt);
  qs_hmac_sha256(k.salted, sizeof k.salted, "Client Key", 10, k.client_key);
  qs_sha256(k.client_key, sizeof k.client_key, k.stored_key);
  qs_hmac_sha256(k.salted, sizeof k.salted, "Server Key", 10, k.server_key);

  qs_buf_init(&final_part);
  qs_buf_puts(&final_part, "c=biws,r=");  /* biws: base64 of the gs2 header "n,," */
  qs_buf_append(&final_part, sf.nonce, sf.nonce_len);
  qs_buf_init(&auth);
  qs_buf_puts(&auth, s->client_first_bare);
  qs_buf_putc(&auth, ',');
  qs_buf_append(&auth, server_first_msg, n);
  qs_buf_putc(&auth, ',');
  if (final_part.len) qs_buf_append(&auth, final_part.p, final_part.len);
  rc = QS_OK;
  if (final_part.failed || auth.failed) {
    rc = qs_error_set(err, QS_NOMEM, "out of memory computing the SCRAM-SHA-256 proof");
  } else {
    qs_hmac_sha256(k.stored_key, sizeof k.stored_key, auth.p, auth.len, k.signature);
    for (i = 0; i < QS_SHA256_SIZE; i++) k.proof[i] = (unsigned char)(k.client_key[i] ^ k.signature[i]);
    qs_hmac_sha256(k.server_key, sizeof k.server_key, auth.p, auth.len, s->auth_message_hmac);
    qs_base64_encode(k.proof, sizeof k.proof, proof64);
    qs_buf_append(out, final_part.p, final_part.len);
    qs_buf_puts(out, ",p=");
    qs_buf_puts(out, proof64);
    s->server_first = dup_span(server_first_msg, n);
    if (out->failed || !s->server_first) {
      free(s->server_first);
      s->server_first = NULL;
      qs_wipe(s->auth_message_hmac, sizeof s->auth_message_hmac);
      rc = give_back(out, at, qs_error_set(err, QS_NOMEM, "out of memory writing the SCRAM-SHA-256 "
                                                          "client-final message"));
    }
  }
  qs_buf_free(&auth);
  qs_wipe(&k, sizeof k);
  qs_wipe(proof64, sizeof proof64);
  if (rc != QS_OK) {
    qs_buf_free(&final_part);
    return rc;
  }
  s->client_final_no_proof = final_part.p;
  /* the salted password is not kept (it was wiped with k): the server
  ** signature expected is all that verifying takes */
  qs_wipe(s->salted_password, sizeof s->salted_password);
  s->state = 2;
  return QS_OK;
}

int qs_scram_verify(qs_scram *s, const char *server_final, size_t n, qs_error *err) {
  cursor c;
  const char *v;
  size_t vn;
  unsigned char sig[QS_SHA256_SIZE];
  long got;
  int ok;
  int rc = step_ready(s, 2, "server-final", server_final, n, err);
  if (rc != QS_OK) return rc;
  if (n >= 2 && server_final[0] == 'e' && server_final[1] == '=')
    return server_error(err, "client proof", server_final, n);
  c.p = server_final;
  c.end = server_final + n;
  if (!take_attr(&c, 'v', &v, &vn))
    return qs_error_set(err, QS_INTERFACE, "SCRAM-SHA-256: the server-final message has no verifier "
                                           "(v=)");
  if (!extensions_ok(c.p, c.end, c.p > v + vn))
    return qs_error_set(err, QS_INTERFACE, "SCRAM-SHA-256: the server-final message has malformed "
                                           "attributes after the verifier");
  got = qs_base64_decode(v, vn, sig, sizeof sig);
  if (got != (long)sizeof sig)
    return qs_error_set(err, QS_INTERFACE, "SCRAM-SHA-256: the server signature is not base64 of %zu "
                                           "bytes", sizeof sig);
  ok = equal_constant_time(sig, s->auth_message_hmac, sizeof sig);
  if (!ok)
    return qs_error_set(err, QS_OPERATIONAL, "SCRAM-SHA-256: the server signature does not verify "
                                             "(the server does not know the password)");
  qs_wipe(s->auth_message_hmac, sizeof s->auth_message_hmac);
  s->state = 3;
  return QS_OK;
}

void qs_scram_free(qs_scram *s) {
  free(s->client_first_bare);
  free(s->server_first);
  free(s->client_final_no_proof);
  qs_wipe(s, sizeof *s);
}
