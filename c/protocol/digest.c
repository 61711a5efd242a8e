/*
** digest.c: MD5 (RFC 1321), SHA-1 and SHA-256 (FIPS 180-4), HMAC-SHA-256
** (RFC 2104), PBKDF2-HMAC-SHA-256 (RFC 8018), hex, base64 (RFC 4648) and
** random bytes; see digest.h. Words are assembled from bytes one at a time,
** so neither host byte order nor alignment matters, and every shift is on a
** uint32_t by 1..31 bits (nothing UBSan could call undefined).
*/
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/random.h>
#endif

#include "digest.h"

#define ROTL(x, n) (((x) << (n)) | ((x) >> (32 - (n))))
#define ROTR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

void qs_wipe(void *p, size_t n) {
  /* through a volatile pointer: a store the compiler may not drop because
  ** the memory is about to die */
  volatile unsigned char *v = p;
  while (n--) *v++ = 0;
}

static uint32_t get_be32(const unsigned char *p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

static uint32_t get_le32(const unsigned char *p) {
  return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

/* The n words of h into out, big- or little-endian. */
static void put_words(const uint32_t *h, int n, int big_endian, unsigned char *out) {
  int i;
  for (i = 0; i < n; i++) {
    uint32_t w = h[i];
    unsigned char *d = out + 4 * i;
    if (big_endian) {
      d[0] = (unsigned char)(w >> 24); d[1] = (unsigned char)(w >> 16);
      d[2] = (unsigned char)(w >> 8);  d[3] = (unsigned char)w;
    } else {
      d[0] = (unsigned char)w;         d[1] = (unsigned char)(w >> 8);
      d[2] = (unsigned char)(w >> 16); d[3] = (unsigned char)(w >> 24);
    }
  }
}

/* The end of every compression: the working words v added into the state
** h, then wiped. */
static void md_add(uint32_t *h, uint32_t *v, int n) {
  int i;
  for (i = 0; i < n; i++) h[i] += v[i];
  qs_wipe(v, (size_t)n * sizeof v[0]);
}

/* ---- the Merkle-Damgard frame the three hashes share ----------------------
** 64-byte blocks, a 0x80 byte, zeros, and the message length in bits as 8
** bytes (little-endian for MD5, big-endian for the SHAs). */

typedef void (*compress_fn)(uint32_t *h, const unsigned char *block);

typedef struct md_state {
  uint32_t *h;
  unsigned char *block;
  size_t *used;
  uint64_t *len;
  compress_fn compress;
} md_state;

static void md_update(const md_state *m, const void *p, size_t n) {
  const unsigned char *s = p;
  *m->len += n;
  if (*m->used) {
    size_t take = 64 - *m->used;
    if (take > n) take = n;
    memcpy(m->block + *m->used, s, take);
    *m->used += take;
    s += take;
    n -= take;
    if (*m->used < 64) return;
    m->compress(m->h, m->block);
    *m->used = 0;
  }
  for (; n >= 64; s += 64, n -= 64) m->compress(m->h, s);
  if (n) {
    memcpy(m->block, s, n);
    *m->used = n;
  }
}

static void md_final(const md_state *m, int big_endian) {
  uint64_t bits = *m->len * 8u;
  int i;
  m->block[(*m->used)++] = 0x80;
  if (*m->used > 56) {
    memset(m->block + *m->used, 0, 64 - *m->used);
    m->compress(m->h, m->block);
    *m->used = 0;
  }
  memset(m->block + *m->used, 0, 56 - *m->used);
  for (i = 0; i < 8; i++) {
    int shift = big_endian ? 56 - 8 * i : 8 * i;
    m->block[56 + i] = (unsigned char)(bits >> shift);
  }
  m->compress(m->h, m->block);
  *m->used = 0;
}

/* What tells the three hashes apart: the compression function, the words
** of state (all of them make the digest), the byte order, the initial value. */
typedef struct md_algo {
  compress_fn compress;
  int words;
  int big_endian;
  uint32_t iv[8];
} md_algo;

/* The digest of the parts a and b (either may be empty) into out. */
static void md_digest(const md_algo *alg, const void *a, size_t na, const void *b, size_t nb,
                      unsigned char *out) {
  uint32_t h[8];
  unsigned char block[64];
  size_t used = 0;
  uint64_t len = 0;
  md_state m;
  memcpy(h, alg->iv, sizeof h);
  m.h = h;
  m.block = block;
  m.used = &used;
  m.len = &len;
  m.compress = alg->compress;
  if (na) md_update(&m, a, na);
  if (nb) md_update(&m, b, nb);
  md_final(&m, alg->big_endian);
  put_words(h, alg->words, alg->big_endian, out);
  qs_wipe(block, sizeof block);
  qs_wipe(h, sizeof h);
}

/* qs_<name> and qs_<name>_pair (digest.h) of each hash: the same two calls. */
#define MD_FUNCTIONS(name, algo, size)                                                 \
  void qs_##name(const void *p, size_t n, unsigned char out[size]) {                 \
    md_digest(&algo, p, n, NULL, 0, out);                                            \
  }                                                                                  \
  void qs_##name##_pair(const void *a, size_t na, const void *b, size_t nb,          \
                        unsigned char out[size]) {                                   \
    md_digest(&algo, a, na, b, nb, out);                                             \
  }

/* ---- MD5 ----------------------------------------------------------------- */

/* T[i] = floor(2^32 * abs(sin(i + 1))) */
static const uint32_t md5_t[64] = {
  0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
  0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
  0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
  0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
  0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
  0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
  0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
  0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
};

/* the shift of each step, four per round */
static const unsigned char md5_s[4][4] = {
  {7, 12, 17, 22}, {5, 9, 14, 20}, {4, 11, 16, 23}, {6, 10, 15, 21},
};

static void md5_compress(uint32_t *h, const unsigned char *block) {
  uint32_t x[16], v[4];
  int i;
  for (i = 0; i < 16; i++) x[i] = get_le32(block + 4 * i);
  memcpy(v, h, sizeof v);
  for (i = 0; i < 64; i++) {
    uint32_t b = v[1], c = v[2], d = v[3], f, t;
    int k, r = i / 16;
    switch (r) {
      case 0: f = (b & c) | (~b & d); k = i; break;
      case 1: f = (b & d) | (c & ~d); k = (5 * i + 1) % 16; break;
      case 2: f = b ^ c ^ d; k = (3 * i + 5) % 16; break;
      default: f = c ^ (b | ~d); k = (7 * i) % 16; break;
    }
    t = v[0] + f + md5_t[i] + x[k];
    v[0] = d;
    v[3] = c;
    v[2] = b;
    v[1] = b + ROTL(t, md5_s[r][i % 4]);
  }
  md_add(h, v, 4);
  qs_wipe(x, sizeof x);
}

static const md_algo md5_algo = {
  md5_compress, 4, 0, {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0, 0, 0, 0}};

MD_FUNCTIONS(md5, md5_algo, QS_MD5_SIZE)

/* ---- SHA-1 --------------------------------------------------------------- */

static void sha1_compress(uint32_t *h, const unsigned char *block) {
  uint32_t w[80], v[5];
  int i;
  for (i = 0; i < 16; i++) w[i] = get_be32(block + 4 * i);
  for (i = 16; i < 80; i++) {
    uint32_t x = w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16];
    w[i] = ROTL(x, 1);
  }
  memcpy(v, h, sizeof v);
  for (i = 0; i < 80; i++) {
    uint32_t a = v[0], b = v[1], c = v[2], d = v[3], e = v[4], f, k;
    if (i < 20) { f = (b & c) | (~b & d); k = 0x5a827999; }
    else if (i < 40) { f = b ^ c ^ d; k = 0x6ed9eba1; }
    else if (i < 60) { f = (b & c) | (b & d) | (c & d); k = 0x8f1bbcdc; }
    else { f = b ^ c ^ d; k = 0xca62c1d6; }
    v[4] = d;
    v[3] = c;
    v[2] = ROTL(b, 30);
    v[1] = a;
    v[0] = ROTL(a, 5) + f + e + k + w[i];
  }
  md_add(h, v, 5);
  qs_wipe(w, sizeof w);
}

static const md_algo sha1_algo = {
  sha1_compress, 5, 1, {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0, 0, 0, 0}};

MD_FUNCTIONS(sha1, sha1_algo, QS_SHA1_SIZE)

/* ---- SHA-256 ------------------------------------------------------------- */

/* the first 32 bits of the fractional parts of the cube roots of the first 64 primes */
static const uint32_t sha256_k[64] = {
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static void sha256_compress(uint32_t *h, const unsigned char *block) {
  uint32_t w[64], s[8];
  int i;
  for (i = 0; i < 16; i++) w[i] = get_be32(block + 4 * i);
  for (i = 16; i < 64; i++) {
    uint32_t x = w[i - 15], y = w[i - 2];
    uint32_t s0 = ROTR(x, 7) ^ ROTR(x, 18) ^ (x >> 3);
    uint32_t s1 = ROTR(y, 17) ^ ROTR(y, 19) ^ (y >> 10);
    w[i] = w[i - 16] + s0 + w[i - 7] + s1;
  }
  memcpy(s, h, sizeof s);
  for (i = 0; i < 64; i++) {
    uint32_t e = s[4], a = s[0];
    uint32_t t1 = s[7] + (ROTR(e, 6) ^ ROTR(e, 11) ^ ROTR(e, 25)) + ((e & s[5]) ^ (~e & s[6])) +
                  sha256_k[i] + w[i];
    uint32_t t2 = (ROTR(a, 2) ^ ROTR(a, 13) ^ ROTR(a, 22)) + ((a & s[1]) ^ (a & s[2]) ^ (s[1] & s[2]));
    memmove(s + 1, s, 7 * sizeof s[0]);
    s[4] += t1;
    s[0] = t1 + t2;
  }
  md_add(h, s, 8);
  qs_wipe(w, sizeof w);
}

static const md_algo sha256_algo = {
  sha256_compress, 8, 1, {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                          0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19}};

MD_FUNCTIONS(sha256, sha256_algo, QS_SHA256_SIZE)

/* The incremental form keeps its state in the caller's qs_sha256_ctx. */
static md_state sha256_state(qs_sha256_ctx *c) {
  md_state m;
  m.h = c->h;
  m.block = c->block;
  m.used = &c->used;
  m.len = &c->len;
  m.compress = sha256_compress;
  return m;
}

void qs_sha256_init(qs_sha256_ctx *c) {
  memcpy(c->h, sha256_algo.iv, sizeof c->h);
  c->len = 0;
  c->used = 0;
}

void qs_sha256_update(qs_sha256_ctx *c, const void *p, size_t n) {
  md_state m = sha256_state(c);
  md_update(&m, p, n);
}

void qs_sha256_final(qs_sha256_ctx *c, unsigned char out[QS_SHA256_SIZE]) {
  md_state m = sha256_state(c);
  md_final(&m, 1);
  put_words(c->h, 8, 1, out);
  qs_wipe(c, sizeof *c);
}

/* ---- HMAC-SHA-256 and PBKDF2 ------------------------------------------- */

/* The inner and outer hashes keyed (each has absorbed key XOR pad), so that
** PBKDF2 pays for the key once rather than at every iteration. */
typedef struct hmac_keyed {
  qs_sha256_ctx inner, outer;
} hmac_keyed;

static void hmac_key(hmac_keyed *k, const void *key, size_t keylen) {
  unsigned char kb[64], pad[64];
  size_t i;
  memset(kb, 0, sizeof kb);
  if (keylen > sizeof kb) qs_sha256(key, keylen, kb);
  else if (keylen) memcpy(kb, key, keylen);
  for (i = 0; i < 64; i++) pad[i] = (unsigned char)(kb[i] ^ 0x36);
  qs_sha256_init(&k->inner);
  qs_sha256_update(&k->inner, pad, 64);
  for (i = 0; i < 64; i++) pad[i] = (unsigned char)(kb[i] ^ 0x5c);
  qs_sha256_init(&k->outer);
  qs_sha256_update(&k->outer, pad, 64);
  qs_wipe(kb, sizeof kb);
  qs_wipe(pad, sizeof pad);
}

/* HMAC of the message parts a (n bytes) and b (m bytes) under k. */
static void hmac_run(const hmac_keyed *k, const void *a, size_t n, const void *b, size_t m,
                     unsigned char out[QS_SHA256_SIZE]) {
  qs_sha256_ctx c = k->inner;
  unsigned char ih[QS_SHA256_SIZE];
  qs_sha256_update(&c, a, n);
  if (m) qs_sha256_update(&c, b, m);
  qs_sha256_final(&c, ih);
  c = k->outer;
  qs_sha256_update(&c, ih, sizeof ih);
  qs_sha256_final(&c, out);
  qs_wipe(ih, sizeof ih);
}

void qs_hmac_sha256(const void *key, size_t keylen, const void *msg, size_t n,
                    unsigned char out[QS_SHA256_SIZE]) {
  hmac_keyed k;
  hmac_key(&k, key, keylen);
  hmac_run(&k, msg, n, NULL, 0, out);
  qs_wipe(&k, sizeof k);
}

void qs_pbkdf2_sha256(const void *password, size_t plen, const void *salt, size_t slen,
                      uint32_t iterations, unsigned char out[QS_SHA256_SIZE]) {
  static const unsigned char block_index[4] = {0, 0, 0, 1};  /* INT(1): the first block */
  hmac_keyed k;
  unsigned char u[QS_SHA256_SIZE];
  uint32_t i;
  size_t j;
  hmac_key(&k, password, plen);
  hmac_run(&k, salt, slen, block_index, sizeof block_index, u);
  memcpy(out, u, sizeof u);
  for (i = 1; i < iterations; i++) {
    hmac_run(&k, u, sizeof u, NULL, 0, u);
    for (j = 0; j < sizeof u; j++) out[j] ^= u[j];
  }
  qs_wipe(u, sizeof u);
  qs_wipe(&k, sizeof k);
}

/* ---- hex and base64 ------------------------------------------------------- */

void qs_hex(const unsigned char *p, size_t n, char *out) {
  static const char digits[] = "0123456789abcdef";
  size_t i;
  for (i = 0; i < n; i++) {
    out[2 * i] = digits[p[i] >> 4];
    out[2 * i + 1] = digits[p[i] & 15];
  }
  out[2 * n] = '\0';
}

static const char b64_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t qs_base64_encoded_size(size_t n) {
  return (n + 2) / 3 * 4 + 1;
}

void qs_base64_encode(const unsigned char *p, size_t n, char *out) {
  size_t i;
  for (i = 0; i + 2 < n; i += 3) {
    uint32_t v = ((uint32_t)p[i] << 16) | ((uint32_t)p[i + 1] << 8) | p[i + 2];
    *out++ = b64_alphabet[v >> 18];
    *out++ = b64_alphabet[(v >> 12) & 63];
    *out++ = b64_alphabet[(v >> 6) & 63];
    *out++ = b64_alphabet[v & 63];
  }
  if (n - i == 1) {
    uint32_t v = (uint32_t)p[i] << 16;
    *out++ = b64_alphabet[v >> 18];
    *out++ = b64_alphabet[(v >> 12) & 63];
    *out++ = '=';
    *out++ = '=';
  } else if (n - i == 2) {
    uint32_t v = ((uint32_t)p[i] << 16) | ((uint32_t)p[i + 1] << 8);
    *out++ = b64_alphabet[v >> 18];
    *out++ = b64_alphabet[(v >> 12) & 63];
    *out++ = b64_alphabet[(v >> 6) & 63];
    *out++ = '=';
  }
  *out = '\0';
}

/* The value of a base64 character, -1 for anything else ('=' included). */
static int b64_value(unsigned char ch) {
  if (ch >= 'A' && ch <= 'Z') return ch - 'A';
  if (ch >= 'a' && ch <= 'z') return ch - 'a' + 26;
  if (ch >= '0' && ch <= '9') return ch - '0' + 52;
  if (ch == '+') return 62;
  if (ch == '/') return 63;
  return -1;
}

long qs_base64_decode(const char *s, size_t n, unsigned char *out, size_t cap) {
  const unsigned char *u = (const unsigned char *)s;
  size_t i, pad = 0, len;
  if (n % 4 != 0) return -1;
  if (n > 0 && u[n - 1] == '=') pad = (n > 1 && u[n - 2] == '=') ? 2 : 1;
  len = n / 4 * 3 - pad;
  if (len > cap || len > (size_t)0x7fffffff) return -1;
  for (i = 0; i < n; i += 4) {
    int last = i + 4 == n;
    int v0 = b64_value(u[i]), v1 = b64_value(u[i + 1]);
    int v2 = (last && pad == 2) ? 0 : b64_value(u[i + 2]);
    int v3 = (last && pad >= 1) ? 0 : b64_value(u[i + 3]);
    uint32_t v;
    size_t at = i / 4 * 3;
    if (v0 < 0 || v1 < 0 || v2 < 0 || v3 < 0) return -1;
    v = ((uint32_t)v0 << 18) | ((uint32_t)v1 << 12) | ((uint32_t)v2 << 6) | (uint32_t)v3;
    /* canonical: the bits the padding leaves over must be zero */
    if (last && pad == 2 && (v & 0xffff) != 0) return -1;
    if (last && pad == 1 && (v & 0xff) != 0) return -1;
    out[at] = (unsigned char)(v >> 16);
    if (!(last && pad == 2)) out[at + 1] = (unsigned char)(v >> 8);
    if (!(last && pad >= 1)) out[at + 2] = (unsigned char)v;
  }
  return (long)len;
}

/* ---- random bytes ---------------------------------------------------------- */

static int urandom_bytes(unsigned char *out, size_t n) {
  int fd;
  do fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  while (fd < 0 && errno == EINTR);
  if (fd < 0) return -1;
  while (n > 0) {
    ssize_t got = read(fd, out, n);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      close(fd);
      return -1;
    }
    out += got;
    n -= (size_t)got;
  }
  close(fd);
  return 0;
}

int qs_random_bytes(unsigned char *out, size_t n) {
#ifdef __linux__
  size_t done = 0;
  while (done < n) {
    ssize_t got = getrandom(out + done, n - done, 0);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return urandom_bytes(out + done, n - done);  /* ENOSYS: an old kernel */
    done += (size_t)got;
  }
  return 0;
#else
  return urandom_bytes(out, n);
#endif
}
