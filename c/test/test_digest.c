/* test_digest.c: the hashes of c/protocol/digest.c on the standards' own
** vectors (RFC 1321, FIPS 180-4 / NIST examples, RFC 4231), PBKDF2 and the
** password exchanges of c/protocol/auth.c against values python3's hashlib
** and hmac computed (given in the comments), RFC 7677's SCRAM example, and
** every refusal of a hostile server message. Server messages are parsed from
** exact-size heap copies, so an over-read is an ASan failure. */
#include <stdlib.h>
#include <string.h>

#include "quicksilver.h"
#include "auth.h"
#include "digest.h"
#include "test.h"

/* The lower-case hex of the n bytes at d equals the literal. */
static int hex_is(const unsigned char *d, size_t n, const char *want) {
  char h[2 * 64 + 1];
  qs_hex(d, n, h);
  return strcmp(h, want) == 0;
}

static int md5_is(const void *p, size_t n, const char *want) {
  unsigned char d[QS_MD5_SIZE];
  qs_md5(p, n, d);
  return hex_is(d, sizeof d, want);
}

static int sha1_is(const void *p, size_t n, const char *want) {
  unsigned char d[QS_SHA1_SIZE];
  qs_sha1(p, n, d);
  return hex_is(d, sizeof d, want);
}

static int sha256_is(const void *p, size_t n, const char *want) {
  unsigned char d[QS_SHA256_SIZE];
  qs_sha256(p, n, d);
  return hex_is(d, sizeof d, want);
}

#define STR(s) (s), strlen(s)

/* NIST's two-block example message (448 bits) */
static const char msg448[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";

TEST_IMPL(digest_md5_rfc1321) {
  ASSERT(md5_is(STR(""), "d41d8cd98f00b204e9800998ecf8427e"));
  ASSERT(md5_is(STR("a"), "0cc175b9c0f1b6a831c399e269772661"));
  ASSERT(md5_is(STR("abc"), "900150983cd24fb0d6963f7d28e17f72"));
  ASSERT(md5_is(STR("message digest"), "f96b697d7cb7938d525a2f31aaf161d0"));
  ASSERT(md5_is(STR("abcdefghijklmnopqrstuvwxyz"), "c3fcd3d76192e4007dfb496cca67e13b"));
  ASSERT(md5_is(STR("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"),
                "d174ab98d277d9f5a5611c2c9f419d9f"));
  ASSERT(md5_is(STR("12345678901234567890123456789012345678901234567890123456789012345678901234567890"),
                "57edf4a22be3c955ac49da2e2107b67a"));
  {
    /* the pair form is the digest of the concatenation, split anywhere */
    unsigned char d[QS_MD5_SIZE];
    qs_md5_pair("message ", 8, "digest", 6, d);
    ASSERT(hex_is(d, sizeof d, "f96b697d7cb7938d525a2f31aaf161d0"));
    qs_md5_pair("", 0, "abc", 3, d);
    ASSERT(hex_is(d, sizeof d, "900150983cd24fb0d6963f7d28e17f72"));
  }
  return 0;
}

/* FIPS 180-4's examples (NIST): each message with its SHA-1 and SHA-256 */
static const struct {
  const char *msg;
  const char *sha1, *sha256;
} sha_vectors[] = {
  {"", "da39a3ee5e6b4b0d3255bfef95601890afd80709",
   "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
  {"abc", "a9993e364706816aba3e25717850c26c9cd0d89d",
   "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
  {msg448, "84983e441c3bd26ebaae4aa1f95129e5e54670f1",
   "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
};

TEST_IMPL(digest_sha_vectors) {
  char *a = malloc(1000000);
  size_t i;
  ASSERT(a != NULL);
  for (i = 0; i < sizeof sha_vectors / sizeof sha_vectors[0]; i++) {
    ASSERT(sha1_is(STR(sha_vectors[i].msg), sha_vectors[i].sha1));
    ASSERT(sha256_is(STR(sha_vectors[i].msg), sha_vectors[i].sha256));
  }
  /* a million 'a' */
  memset(a, 'a', 1000000);
  ASSERT(sha1_is(a, 1000000, "34aa973cd4c4daa4f61eeb2bdbad27316534016f"));
  ASSERT(sha256_is(a, 1000000, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"));
  free(a);
  /* the pair forms hash the concatenation */
  {
    unsigned char d[QS_SHA256_SIZE];
    qs_sha1_pair(msg448, 30, msg448 + 30, sizeof msg448 - 1 - 30, d);
    ASSERT(hex_is(d, QS_SHA1_SIZE, "84983e441c3bd26ebaae4aa1f95129e5e54670f1"));
    qs_sha256_pair(msg448, 55, msg448 + 55, sizeof msg448 - 1 - 55, d);
    ASSERT(hex_is(d, QS_SHA256_SIZE, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"));
  }
  return 0;
}

/* A 200-byte message fed in two parts split at every offset (and a byte at
** a time) gives the one-shot digest: the block buffering is right at every
** boundary, the padding's two-block case included. */
TEST_IMPL(digest_sha256_incremental) {
  unsigned char msg[200], whole[QS_SHA256_SIZE], part[QS_SHA256_SIZE];
  qs_sha256_ctx c;
  size_t i, cut;
  for (i = 0; i < sizeof msg; i++) msg[i] = (unsigned char)(i * 7 + 3);
  for (cut = 0; cut <= sizeof msg; cut++) {
    qs_sha256(msg, cut, whole);
    qs_sha256_init(&c);
    qs_sha256_update(&c, msg, cut / 3);
    qs_sha256_update(&c, msg + cut / 3, cut - cut / 3);
    qs_sha256_final(&c, part);
    ASSERT(memcmp(whole, part, sizeof whole) == 0);
  }
  qs_sha256(msg, sizeof msg, whole);
  for (cut = 0; cut <= sizeof msg; cut++) {
    qs_sha256_init(&c);
    qs_sha256_update(&c, msg, cut);
    qs_sha256_update(&c, msg + cut, sizeof msg - cut);
    qs_sha256_final(&c, part);
    ASSERT(memcmp(whole, part, sizeof whole) == 0);
  }
  qs_sha256_init(&c);
  for (i = 0; i < sizeof msg; i++) qs_sha256_update(&c, msg + i, 1);
  qs_sha256_final(&c, part);
  ASSERT(memcmp(whole, part, sizeof whole) == 0);
  /* and the known value (hashlib.sha256), so that the parts are not merely
  ** consistent with a wrong whole */
  ASSERT(hex_is(whole, sizeof whole, "2c7e18c942ef065b526a2d4e5546283749cd3ddfb51d8fc71f42717363685f46"));
  return 0;
}

static int hmac_is(const void *key, size_t klen, const void *msg, size_t n, const char *want) {
  unsigned char d[QS_SHA256_SIZE];
  qs_hmac_sha256(key, klen, msg, n, d);
  return hex_is(d, sizeof d, want);
}

TEST_IMPL(digest_hmac_rfc4231) {
  unsigned char k[131], m[50];
  size_t i;
  memset(k, 0x0b, 20);
  ASSERT(hmac_is(k, 20, STR("Hi There"),
                 "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"));
  ASSERT(hmac_is(STR("Jefe"), STR("what do ya want for nothing?"),
                 "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"));
  memset(k, 0xaa, 20);
  memset(m, 0xdd, 50);
  ASSERT(hmac_is(k, 20, m, 50, "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"));
  for (i = 0; i < 25; i++) k[i] = (unsigned char)(i + 1);
  memset(m, 0xcd, 50);
  ASSERT(hmac_is(k, 25, m, 50, "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"));
  /* case 6: a key longer than the block is hashed first */
  memset(k, 0xaa, 131);
  ASSERT(hmac_is(k, 131, STR("Test Using Larger Than Block-Size Key - Hash Key First"),
                 "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"));
  return 0;
}

static int pbkdf2_is(const char *pw, const char *salt, uint32_t it, const char *want) {
  unsigned char d[QS_SHA256_SIZE];
  qs_pbkdf2_sha256(pw, strlen(pw), salt, strlen(salt), it, d);
  return hex_is(d, sizeof d, want);
}

/* expected: hashlib.pbkdf2_hmac('sha256', password, salt, iterations).hex() */
TEST_IMPL(digest_pbkdf2_sha256) {
  ASSERT(pbkdf2_is("password", "salt", 1,
                   "120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b"));
  ASSERT(pbkdf2_is("password", "salt", 2,
                   "ae4d0c95af6b46d32d0adff928f06dd02a303f8ef3c251dfd6e2d85a95474c43"));
  ASSERT(pbkdf2_is("password", "salt", 4096,
                   "c5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134a"));
  /* a password longer than HMAC's block */
  ASSERT(pbkdf2_is("passwordPASSWORDpasswordpasswordPASSWORDpasswordpasswordPASSWORDpassword",
                   "saltSALTsaltSALTsaltSALTsaltSALTsalt", 4096,
                   "54f1e83aac97884547137ccb9fd85c512913cc2ab466a16572d9b23ca6c99f5b"));
  return 0;
}

static int b64_is(const char *raw, size_t n, const char *want) {
  char enc[64];
  unsigned char dec[64];
  long got;
  if (qs_base64_encoded_size(n) != strlen(want) + 1) return 0;
  qs_base64_encode((const unsigned char *)raw, n, enc);
  if (strcmp(enc, want) != 0) return 0;
  got = qs_base64_decode(want, strlen(want), dec, n);  /* exactly the room it needs */
  return got == (long)n && memcmp(dec, raw, n) == 0;
}

/* Decoding s (its own exact-size heap copy) is refused. */
static int b64_refused(const char *s) {
  size_t n = strlen(s);
  char *copy = malloc(n ? n : 1);
  unsigned char dec[64];
  long got;
  if (!copy) return 0;
  memcpy(copy, s, n);
  got = qs_base64_decode(copy, n, dec, sizeof dec);
  free(copy);
  return got == -1;
}

TEST_IMPL(digest_hex_base64) {
  char h[9];
  unsigned char dec[4];
  const unsigned char b[] = {0x00, 0x9f, 0xa0, 0xff};
  qs_hex(b, 4, h);
  ASSERT_STR_EQ(h, "009fa0ff");
  qs_hex(b, 0, h);
  ASSERT_STR_EQ(h, "");
  /* RFC 4648's test vectors */
  ASSERT(b64_is("", 0, ""));
  ASSERT(b64_is("f", 1, "Zg=="));
  ASSERT(b64_is("fo", 2, "Zm8="));
  ASSERT(b64_is("foo", 3, "Zm9v"));
  ASSERT(b64_is("foob", 4, "Zm9vYg=="));
  ASSERT(b64_is("fooba", 5, "Zm9vYmE="));
  ASSERT(b64_is("foobar", 6, "Zm9vYmFy"));
  ASSERT(b64_is("\xfb\xff\xbf", 3, "+/+/"));
  ASSERT(b64_is("\x00\x00\x00\x00", 4, "AAAAAA=="));
  /* every byte value survives a round trip */
  {
    unsigned char all[256], back[256];
    char enc[400];
    size_t i;
    for (i = 0; i < 256; i++) all[i] = (unsigned char)i;
    qs_base64_encode(all, 256, enc);
    ASSERT_EQ(strlen(enc), qs_base64_encoded_size(256) - 1);
    ASSERT_EQ(qs_base64_decode(enc, strlen(enc), back, sizeof back), 256);
    ASSERT(memcmp(all, back, 256) == 0);
  }
  /* no room: refused rather than written past cap */
  ASSERT_EQ(qs_base64_decode("Zm9vYg==", 8, dec, 3), -1);
  ASSERT_EQ(qs_base64_decode("Zm9vYg==", 8, dec, 4), 4);
  return 0;
}

TEST_IMPL(digest_base64_rejects) {
  ASSERT(b64_refused("Zg="));       /* not a multiple of 4 */
  ASSERT(b64_refused("Zg"));
  ASSERT(b64_refused("Z"));
  ASSERT(b64_refused("Zm9v\n"));    /* white space */
  ASSERT(b64_refused("Zm 9v"));
  ASSERT(b64_refused("Zm9-"));      /* the URL alphabet */
  ASSERT(b64_refused("Zm9_"));
  ASSERT(b64_refused("Z==="));      /* too much padding */
  ASSERT(b64_refused("===="));
  ASSERT(b64_refused("Zg==Zm9v"));  /* padding before the end */
  ASSERT(b64_refused("Z=g="));
  ASSERT(b64_refused("Zh=="));      /* not canonical: bits left in the padding */
  ASSERT(b64_refused("Zm9="));
  ASSERT(b64_refused("Zm\x80v"));   /* a byte above ASCII */
  {
    char nul[4] = {'Z', 'm', '\0', 'v'};
    unsigned char dec[4];
    ASSERT_EQ(qs_base64_decode(nul, 4, dec, sizeof dec), -1);
  }
  return 0;
}

TEST_IMPL(digest_random_bytes) {
  unsigned char a[32], b[32], zero[32];
  memset(a, 0, sizeof a);
  memset(b, 0, sizeof b);
  memset(zero, 0, sizeof zero);
  ASSERT_EQ(qs_random_bytes(a, sizeof a), 0);
  ASSERT_EQ(qs_random_bytes(b, sizeof b), 0);
  /* 2^-256 odds of a false failure */
  ASSERT(memcmp(a, b, sizeof a) != 0);
  ASSERT(memcmp(a, zero, sizeof a) != 0);
  ASSERT_EQ(qs_random_bytes(a, 0), 0);
  return 0;
}

TEST_IMPL(digest_wipe) {
  unsigned char s[16];
  size_t i;
  memset(s, 0x5a, sizeof s);
  qs_wipe(s, sizeof s);
  for (i = 0; i < sizeof s; i++) ASSERT_EQ(s[i], 0);
  qs_wipe(s, 0);
  return 0;
}

/* ---- auth.c -------------------------------------------------------------- */

/* expected: "md5" + md5(md5(password + user).hexdigest() + salt).hexdigest() */
TEST_IMPL(auth_pg_md5) {
  const unsigned char salt[4] = {0x01, 0x02, 0xfe, 0xff};
  char out[QS_PG_MD5_RESPONSE_SIZE];
  qs_auth_pg_md5("alice", "s3cret", salt, out);
  ASSERT_STR_EQ(out, "md5fbc8134dad4ad2bf7e3c0b08c38c31e8");
  qs_auth_pg_md5("alice", "", salt, out);
  ASSERT_STR_EQ(out, "md511b5afa8f311169f7e5665e55528311d");
  qs_auth_pg_md5("alice", NULL, salt, out);
  ASSERT_STR_EQ(out, "md511b5afa8f311169f7e5665e55528311d");
  return 0;
}

/* expected (python3): s1 = H(pw); s2 = H(s1); m = H(scramble + s2) for
** native (SHA-1) and H(s2 + scramble) for caching_sha2 (SHA-256); s1 XOR m;
** scramble = bytes(range(1, 21)) */
TEST_IMPL(auth_mysql_scrambles) {
  unsigned char scramble[20], out[QS_SHA256_SIZE];
  size_t i, n = 99;
  for (i = 0; i < sizeof scramble; i++) scramble[i] = (unsigned char)(i + 1);
  qs_auth_mysql_native("secret", scramble, sizeof scramble, out, &n);
  ASSERT_EQ(n, (size_t)QS_SHA1_SIZE);
  ASSERT(hex_is(out, n, "b32bb3a583e1340c0a1108d58b1be49781ad8c2f"));
  qs_auth_caching_sha2("secret", scramble, sizeof scramble, out, &n);
  ASSERT_EQ(n, (size_t)QS_SHA256_SIZE);
  ASSERT(hex_is(out, n, "746ebe205d56a0707acb3e796e834e0dd7b1d61743b26bd5202c7a623230c7c9"));
  /* empty passwords answer with no bytes */
  n = 99;
  qs_auth_mysql_native("", scramble, sizeof scramble, out, &n);
  ASSERT_EQ(n, 0u);
  n = 99;
  qs_auth_mysql_native(NULL, scramble, sizeof scramble, out, &n);
  ASSERT_EQ(n, 0u);
  n = 99;
  qs_auth_caching_sha2("", scramble, sizeof scramble, out, &n);
  ASSERT_EQ(n, 0u);
  return 0;
}

/* A fresh heap block holding exactly the literal's bytes (no terminator),
** freed by the next call or by release_exact. */
static char *exact_block;
static const char *exact(const char *s, size_t n) {
  free(exact_block);
  exact_block = malloc(n ? n : 1);
  if (exact_block && n) memcpy(exact_block, s, n);
  return exact_block;
}
static void release_exact(void) {
  free(exact_block);
  exact_block = NULL;
}

/* RFC 7677, section 3 */
static const char rfc_first[] = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
                                "s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
static const char rfc_final[] = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";

/* s through client-first (user "user", the RFC's nonce) and client-final. */
static int rfc_exchange(qs_scram *s, qs_buf *out, qs_error *err) {
  memset(s, 0, sizeof *s);
  qs_buf_reset(out);
  if (qs_scram_client_first_with(s, "user", "rOprNGfwEbeRWgbNEkqO", out, err) != QS_OK) return 1;
  qs_buf_reset(out);
  return qs_scram_client_final(s, "pencil", exact(rfc_first, sizeof rfc_first - 1),
                               sizeof rfc_first - 1, out, err) != QS_OK;
}

TEST_IMPL(auth_scram_rfc7677) {
  qs_scram s;
  qs_buf out;
  qs_error err = {0};
  memset(&s, 0, sizeof s);
  qs_buf_init(&out);
  ASSERT_EQ(qs_scram_client_first_with(&s, "user", "rOprNGfwEbeRWgbNEkqO", &out, &err), QS_OK);
  ASSERT_STR_EQ(out.p, "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
  ASSERT_STR_EQ(s.client_first_bare, "n=user,r=rOprNGfwEbeRWgbNEkqO");
  ASSERT_EQ(s.state, 1);
  qs_buf_reset(&out);
  ASSERT_EQ(qs_scram_client_final(&s, "pencil", exact(rfc_first, sizeof rfc_first - 1),
                                  sizeof rfc_first - 1, &out, &err), QS_OK);
  ASSERT_STR_EQ(out.p, "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
                       "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=");
  ASSERT_EQ(s.state, 2);
  ASSERT_STR_EQ(s.server_first, rfc_first);
  ASSERT_STR_EQ(s.client_final_no_proof, "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0");
  ASSERT_EQ(qs_scram_verify(&s, exact(rfc_final, sizeof rfc_final - 1), sizeof rfc_final - 1, &err),
            QS_OK);
  ASSERT_EQ(s.state, 3);
  /* the exchange is over: nothing more to call */
  ASSERT_EQ(qs_scram_verify(&s, rfc_final, sizeof rfc_final - 1, &err), QS_MISUSE);
  qs_scram_free(&s);
  ASSERT(s.client_first_bare == NULL && s.server_first == NULL && s.client_final_no_proof == NULL);
  ASSERT_EQ(s.state, 0);
  qs_scram_free(&s);  /* idempotent */
  /* a user name with the two characters SCRAM escapes */
  qs_buf_reset(&out);
  ASSERT_EQ(qs_scram_client_first_with(&s, "a,b=c", "xyz", &out, &err), QS_OK);
  ASSERT_STR_EQ(out.p, "n,,n=a=2Cb=3Dc,r=xyz");
  qs_scram_free(&s);
  release_exact();
  qs_buf_free(&out);
  qs_error_clear(&err);
  return 0;
}

/* PostgreSQL's form: an empty n=, a 24-character nonce. Expected proof and
** signature from python3 (hashlib.pbkdf2_hmac, hmac) on the same messages
** with password "pg-Pass word". */
static const char pg_nonce[] = "abcdefghijklmnopqrstuvwx";
static const char pg_first[] = "r=abcdefghijklmnopqrstuvwxPGserverPart+/xyz,s=c2FsdHNhbHRzYWx0c2FsdA==,i=4096";

TEST_IMPL(auth_scram_postgresql) {
  qs_scram s;
  qs_buf out;
  qs_error err = {0};
  memset(&s, 0, sizeof s);
  qs_buf_init(&out);
  ASSERT_EQ(qs_scram_client_first_with(&s, NULL, pg_nonce, &out, &err), QS_OK);
  ASSERT_STR_EQ(out.p, "n,,n=,r=abcdefghijklmnopqrstuvwx");
  qs_buf_reset(&out);
  ASSERT_EQ(qs_scram_client_final(&s, "pg-Pass word", exact(pg_first, sizeof pg_first - 1),
                                  sizeof pg_first - 1, &out, &err), QS_OK);
  ASSERT_STR_EQ(out.p, "c=biws,r=abcdefghijklmnopqrstuvwxPGserverPart+/xyz,"
                       "p=+RXL3U8q7eiZEPSZuvBlEouoOnaX/cckb7jdLdCfJaQ=");
  ASSERT_EQ(qs_scram_verify(&s, STR("v=ngYRfHIJkQ8YeuEj+4e6ZNTIBeLXQnMgsiaSWkWeY64="), &err), QS_OK);
  qs_scram_free(&s);

  /* the drawn nonce: 24 base64 characters, different each time, and the
  ** message appended after what out already held */
  {
    char first[32];
    qs_buf_reset(&out);
    qs_buf_puts(&out, "head");
    ASSERT_EQ(qs_scram_client_first(&s, &out, &err), QS_OK);
    ASSERT_EQ(strlen(s.nonce), 24u);
    ASSERT_EQ(out.len, 4 + 8 + 24u);
    ASSERT(memcmp(out.p, "headn,,n=,r=", 12) == 0);
    ASSERT_STR_EQ(out.p + 12, s.nonce);
    strcpy(first, s.nonce);
    qs_scram_free(&s);
    qs_buf_reset(&out);
    ASSERT_EQ(qs_scram_client_first(&s, &out, &err), QS_OK);
    ASSERT(strcmp(first, s.nonce) != 0);
    qs_scram_free(&s);
  }
  release_exact();
  qs_buf_free(&out);
  qs_error_clear(&err);
  return 0;
}

/* client-final on the server-first message `msg` fails with code, and
** leaves out and the exchange as they were (so the next case reuses them). */
static int first_refused(qs_scram *s, qs_buf *out, const char *msg, size_t n, int code,
                         const char *in_message) {
  qs_error err = {0};
  size_t len = out->len;
  int rc = qs_scram_client_final(s, "pencil", exact(msg, n), n, out, &err);
  int ok = rc == code && err.code == code && out->len == len && s->state == 1 &&
           s->server_first == NULL && err.message != NULL &&
           (!in_message || strstr(err.message, in_message) != NULL);
  if (!ok) fprintf(stderr, "  server-first \"%.*s\": rc %d, %s\n", (int)n, msg, rc,
                   err.message ? err.message : "(no message)");
  qs_error_clear(&err);
  return ok;
}

/* Server-first messages a client must refuse, with the error family and
** a fragment of its message (the RFC 7677 client nonce "rOprNGfwEbeRWgbNEkqO"). */
#define M(lit) lit, sizeof(lit) - 1
/* a valid nonce and salt, for the cases past them */
#define RS "r=rOprNGfwEbeRWgbNEkqO%hv,s=W22ZaJ0SNY7soEsUEjb6gQ==,"
static const struct {
  const char *msg;
  size_t n;
  int code;
  const char *says;
} bad_firsts[] = {
  /* the nonce must extend ours, strictly, in printable characters */
  {M("r=rOprNGfwEbeRWgbNEkqO,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"), QS_INTERFACE, "does not extend"},
  {M("r=XOprNGfwEbeRWgbNEkqO%hv,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"), QS_INTERFACE, "does not extend"},
  {M("r=rOprNGfwEbeRWgbNEk,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"), QS_INTERFACE, "does not extend"},
  {M("r=rOprNGfwEbeRWgbNEkqO\x01x,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"), QS_INTERFACE, "not printable"},
  /* iterations: at least 1, at most ten million, digits only */
  {M(RS "i=0"), QS_INTERFACE, "0 iterations"},
  {M(RS "i=2147483648"), QS_INTERFACE, "over the limit"},
  {M(RS "i=10000001"), QS_INTERFACE, "over the limit"},
  {M(RS "i=99999999999999999999999999999999999999999999"), QS_INTERFACE, "over the limit"},
  {M(RS "i=-1"), QS_INTERFACE, "not a number"},
  {M(RS "i= 4096"), QS_INTERFACE, "not a number"},
  {M(RS "i="), QS_INTERFACE, "empty iteration"},
  /* the salt */
  {M("r=rOprNGfwEbeRWgbNEkqO%hv,s=W22ZaJ0SNY7soEsUEjb6gQ=,i=4096"), QS_INTERFACE, "not valid base64"},
  {M("r=rOprNGfwEbeRWgbNEkqO%hv,s=,i=4096"), QS_INTERFACE, "salt is empty"},
  /* the attributes in their order, no other shape */
  {M("s=W22ZaJ0SNY7soEsUEjb6gQ==,r=rOprNGfwEbeRWgbNEkqO%hv,i=4096"), QS_INTERFACE, "nonce (r=)"},
  {M("r=rOprNGfwEbeRWgbNEkqO%hv,i=4096,s=W22ZaJ0SNY7soEsUEjb6gQ=="), QS_INTERFACE, "no salt"},
  {M(RS "x=1,i=4096"), QS_INTERFACE, "no iteration count"},
  {M(RS "i=4096,"), QS_INTERFACE, "malformed attributes"},
  {M(RS "i=4096,5=x"), QS_INTERFACE, "malformed attributes"},
  {M(RS "i=4096,x="), QS_INTERFACE, "malformed attributes"},
  {M("m=ext," RS "i=4096"), QS_INTERFACE, "mandatory extension"},
  {M(RS "i=40\0" "96"), QS_INTERFACE, "NUL"},
  {M(""), QS_INTERFACE, "nonce (r=)"},
  /* a server error instead of a challenge, quoted */
  {M("e=other-error"), QS_OPERATIONAL, "other-error"},
};
#undef M
#undef RS

TEST_IMPL(auth_scram_hostile_server_first) {
  qs_scram s;
  qs_buf out;
  qs_error err = {0};
  size_t cut, i_at, i;
  memset(&s, 0, sizeof s);
  qs_buf_init(&out);
  ASSERT_EQ(qs_scram_client_first_with(&s, "user", "rOprNGfwEbeRWgbNEkqO", &out, &err), QS_OK);
  qs_buf_reset(&out);
  qs_buf_puts(&out, "kept");
  for (i = 0; i < sizeof bad_firsts / sizeof bad_firsts[0]; i++)
    ASSERT(first_refused(&s, &out, bad_firsts[i].msg, bad_firsts[i].n, bad_firsts[i].code,
                         bad_firsts[i].says));
  /* every truncation short of a first iteration digit */
  i_at = strstr(rfc_first, ",i=") - rfc_first;
  for (cut = 0; cut <= i_at + 3; cut++)
    ASSERT(first_refused(&s, &out, rfc_first, cut, QS_INTERFACE, NULL));
  ASSERT_STR_EQ(out.p, "kept");
  /* misuse: final before first */
  {
    qs_scram fresh;
    memset(&fresh, 0, sizeof fresh);
    ASSERT_EQ(qs_scram_client_final(&fresh, "pencil", rfc_first, sizeof rfc_first - 1, &out, &err),
              QS_MISUSE);
    ASSERT_EQ(qs_scram_client_first_with(&s, NULL, "abc", &out, &err), QS_MISUSE);  /* begun */
  }
  /* well-formed extensions after the count are accepted (and hashed into
  ** the auth message with the rest) */
  {
    static const char ext[] = "r=rOprNGfwEbeRWgbNEkqO%hv,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=1,x=y,z=w";
    qs_buf_reset(&out);
    ASSERT_EQ(qs_scram_client_final(&s, "pencil", exact(ext, sizeof ext - 1), sizeof ext - 1, &out,
                                    &err), QS_OK);
    ASSERT(strncmp(out.p, "c=biws,r=rOprNGfwEbeRWgbNEkqO%hv,p=", 35) == 0);
  }
  qs_scram_free(&s);
  release_exact();
  qs_buf_free(&out);
  qs_error_clear(&err);
  return 0;
}

static int final_refused(const char *msg, size_t n, int code, const char *in_message) {
  qs_scram s;
  qs_buf out;
  qs_error err = {0};
  int ok;
  qs_buf_init(&out);
  if (rfc_exchange(&s, &out, &err) != 0) {
    qs_buf_free(&out);
    qs_error_clear(&err);
    return 0;
  }
  ok = qs_scram_verify(&s, exact(msg, n), n, &err) == code && err.code == code && s.state == 2 &&
       (!in_message || strstr(err.message, in_message) != NULL);
  if (!ok) fprintf(stderr, "  server-final \"%.*s\": %s\n", (int)n, msg,
                   err.message ? err.message : "(no message)");
  qs_scram_free(&s);
  qs_buf_free(&out);
  qs_error_clear(&err);
  return ok;
}
#define FINAL_REFUSED(lit, code, text) ASSERT(final_refused((lit), sizeof(lit) - 1, (code), (text)))

TEST_IMPL(auth_scram_hostile_server_final) {
  size_t cut;
  /* one character off: the signature is the server's proof it knew the password */
  FINAL_REFUSED("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G5=", QS_INTERFACE, "not base64");
  FINAL_REFUSED("v=7rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=", QS_OPERATIONAL, "does not verify");
  FINAL_REFUSED("v=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", QS_OPERATIONAL, "does not verify");
  FINAL_REFUSED("e=invalid-proof", QS_OPERATIONAL, "invalid-proof");
  FINAL_REFUSED("e=invalid-proof,x=1", QS_OPERATIONAL, "refused the client proof: invalid-proof");
  FINAL_REFUSED("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=AAAA", QS_INTERFACE, "not base64");
  FINAL_REFUSED("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=,", QS_INTERFACE, "malformed");
  FINAL_REFUSED("x=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=", QS_INTERFACE, "no verifier");
  FINAL_REFUSED("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5n\0TJRsjl95G4=", QS_INTERFACE, "NUL");
  for (cut = 0; cut < sizeof rfc_final - 1; cut++)
    ASSERT(final_refused(rfc_final, cut, QS_INTERFACE, NULL));
  /* well-formed extensions after the verifier are ignored */
  {
    qs_scram s;
    qs_buf out;
    qs_error err = {0};
    static const char ext[] = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=,x=y";
    qs_buf_init(&out);
    ASSERT_EQ(rfc_exchange(&s, &out, &err), 0);
    ASSERT_EQ(qs_scram_verify(&s, exact(ext, sizeof ext - 1), sizeof ext - 1, &err), QS_OK);
    qs_scram_free(&s);
    qs_buf_free(&out);
    qs_error_clear(&err);
  }
  release_exact();
  return 0;
}

TEST_IMPL(auth_scram_bad_client_nonce) {
  qs_scram s;
  qs_buf out;
  qs_error err = {0};
  memset(&s, 0, sizeof s);
  qs_buf_init(&out);
  ASSERT_EQ(qs_scram_client_first_with(&s, NULL, "", &out, &err), QS_ARGUMENT);
  ASSERT_EQ(qs_scram_client_first_with(&s, NULL, NULL, &out, &err), QS_ARGUMENT);
  ASSERT_EQ(qs_scram_client_first_with(&s, NULL, "a,b", &out, &err), QS_ARGUMENT);
  ASSERT_EQ(qs_scram_client_first_with(&s, NULL, "a b", &out, &err), QS_ARGUMENT);
  ASSERT_EQ(qs_scram_client_first_with(&s, NULL, "0123456789012345678901234567890123", &out, &err),
            QS_ARGUMENT);
  ASSERT(strstr(err.message, "nonce") != NULL);
  ASSERT_EQ(out.len, 0u);
  ASSERT_EQ(s.state, 0);
  ASSERT(s.client_first_bare == NULL);
  /* an empty password is used as given */
  ASSERT_EQ(qs_scram_client_first_with(&s, NULL, "abc", &out, &err), QS_OK);
  qs_buf_reset(&out);
  ASSERT_EQ(qs_scram_client_final(&s, NULL, STR("r=abcd,s=c2FsdA==,i=1"), &out, &err), QS_OK);
  qs_scram_free(&s);
  qs_buf_free(&out);
  qs_error_clear(&err);
  return 0;
}
