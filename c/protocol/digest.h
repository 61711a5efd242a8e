/*
** digest.h: the hashes the wire protocols' authentication needs (MD5 for
** PostgreSQL's md5 method, SHA-1 for mysql_native_password, SHA-256 with
** HMAC and PBKDF2 for SCRAM-SHA-256 and caching_sha2_password), base64 and
** random bytes. Written from the standards (RFC 1321, FIPS 180-4, RFC 2104,
** RFC 8018, RFC 4648) so that the core links no crypto library; nothing here
** is used for anything but computing what a server expects.
*/
#ifndef QS_DIGEST_H
#define QS_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#define QS_MD5_SIZE 16
#define QS_SHA1_SIZE 20
#define QS_SHA256_SIZE 32

/* One-shot digests of n bytes at p into out (the sizes above). */
void qs_md5(const void *p, size_t n, unsigned char out[QS_MD5_SIZE]);
void qs_sha1(const void *p, size_t n, unsigned char out[QS_SHA1_SIZE]);
void qs_sha256(const void *p, size_t n, unsigned char out[QS_SHA256_SIZE]);
/* The digest of a's na bytes followed by b's nb bytes (the protocols hash
** a secret joined to a salt; no allocation, so nothing can fail). */
void qs_md5_pair(const void *a, size_t na, const void *b, size_t nb,
                 unsigned char out[QS_MD5_SIZE]);
void qs_sha1_pair(const void *a, size_t na, const void *b, size_t nb,
                  unsigned char out[QS_SHA1_SIZE]);
void qs_sha256_pair(const void *a, size_t na, const void *b, size_t nb,
                    unsigned char out[QS_SHA256_SIZE]);

/* Incremental SHA-256 (SCRAM's messages are hashed in parts). */
typedef struct qs_sha256_ctx {
  uint32_t h[8];
  uint64_t len;            /* bytes hashed so far */
  unsigned char block[64];
  size_t used;             /* bytes waiting in block */
} qs_sha256_ctx;
void qs_sha256_init(qs_sha256_ctx *c);
void qs_sha256_update(qs_sha256_ctx *c, const void *p, size_t n);
void qs_sha256_final(qs_sha256_ctx *c, unsigned char out[QS_SHA256_SIZE]);

/* HMAC-SHA-256 of msg under key (any length). */
void qs_hmac_sha256(const void *key, size_t keylen, const void *msg, size_t n,
                    unsigned char out[QS_SHA256_SIZE]);
/* PBKDF2-HMAC-SHA-256 with one output block (SCRAM's Hi()); iterations >= 1. */
void qs_pbkdf2_sha256(const void *password, size_t plen, const void *salt, size_t slen,
                      uint32_t iterations, unsigned char out[QS_SHA256_SIZE]);

/* Lower-case hex of n bytes into out (2n + 1 bytes, NUL-terminated). */
void qs_hex(const unsigned char *p, size_t n, char *out);

/* Standard base64 with padding. qs_base64_encode writes 4*ceil(n/3) chars
** and a NUL (out must hold qs_base64_encoded_size(n)). qs_base64_decode
** returns the bytes written, or -1 for input that is not canonical base64
** (bad character, bad padding, wrong length) or does not fit in cap. */
size_t qs_base64_encoded_size(size_t n);
void qs_base64_encode(const unsigned char *p, size_t n, char *out);
long qs_base64_decode(const char *s, size_t n, unsigned char *out, size_t cap);

/* n unpredictable bytes (getrandom, else /dev/urandom): SCRAM's client
** nonce. 0 on success, -1 when the system gives none. */
int qs_random_bytes(unsigned char *out, size_t n);

/* Zeroes n bytes at p through a volatile pointer, a store the compiler may
** not drop: for passwords and the keys derived from them. */
void qs_wipe(void *p, size_t n);

#endif
