/*
** auth.h: the password exchanges of the wire protocols, sans-I/O: given
** what the server sent, compute what the client answers. The drivers
** (c/driver/wire_pg.c, c/driver/wire_my.c) carry the bytes.
**
** Every function returns QS_OK or a QS_* family with err set (a server
** message that does not parse, a signature that does not verify: never a
** crash on hostile input). Passwords are cleared from scratch memory.
*/
#ifndef QS_AUTH_H
#define QS_AUTH_H

#include <stddef.h>

#include "digest.h"
#include "quicksilver.h"

/* PostgreSQL md5: "md5" + hex(md5(hex(md5(password + user)) + salt)), NUL
** terminated (36 bytes). */
#define QS_PG_MD5_RESPONSE_SIZE 36
void qs_auth_pg_md5(const char *user, const char *password, const unsigned char salt[4],
                    char out[QS_PG_MD5_RESPONSE_SIZE]);

/* SCRAM-SHA-256 (RFC 5802, RFC 7677) as PostgreSQL runs it: no channel
** binding ("n,,"), an empty user name in the client-first message (the
** server takes the startup message's), the password used as given (no
** SASLprep: PostgreSQL itself falls back to the raw bytes when SASLprep
** fails, and ASCII passwords are unchanged by it). */
typedef struct qs_scram {
  char nonce[32];                  /* client nonce, base64 of 18 random bytes */
  char *client_first_bare;         /* "n=,r=<nonce>" */
  char *server_first;              /* as received */
  char *client_final_no_proof;     /* "c=biws,r=<nonce>" */
  unsigned char salted_password[QS_SHA256_SIZE];
  unsigned char auth_message_hmac[QS_SHA256_SIZE]; /* ServerSignature expected */
  int state;                       /* 0 new, 1 first sent, 2 final sent, 3 verified */
} qs_scram;

/* The client-first message ("n,,n=,r=<nonce>") into out (appended). s
** starts zeroed (`qs_scram s = {0}`, or after qs_scram_free); a failed call
** leaves out as it was. */
int qs_scram_client_first(qs_scram *s, qs_buf *out, qs_error *err);
/* The same with a user name (NULL or "": PostgreSQL's empty n=; ',' and
** '=' are escaped) and a client nonce of 1 to 31 printable characters other
** than ',' given rather than drawn: RFC 7677's example, and tests. */
int qs_scram_client_first_with(qs_scram *s, const char *user, const char *nonce, qs_buf *out,
                               qs_error *err);
/* Reads the server-first message (r=, s=, i=; the nonce must extend ours,
** iterations >= 1 and bounded) and appends the client-final message with
** its proof to out. */
int qs_scram_client_final(qs_scram *s, const char *password, const char *server_first,
                          size_t n, qs_buf *out, qs_error *err);
/* Checks the server-final message ("v=<signature>", or "e=<error>"). */
int qs_scram_verify(qs_scram *s, const char *server_final, size_t n, qs_error *err);
/* Frees what s holds and wipes its secrets; idempotent. */
void qs_scram_free(qs_scram *s);

/* mysql_native_password: SHA1(password) XOR SHA1(scramble + SHA1(SHA1(password)));
** an empty password answers with no bytes (*outlen 0). scramble: the
** server's 20 bytes. */
void qs_auth_mysql_native(const char *password, const unsigned char *scramble, size_t slen,
                          unsigned char out[QS_SHA1_SIZE], size_t *outlen);
/* caching_sha2_password's fast path: SHA256(password) XOR
** SHA256(SHA256(SHA256(password)) + scramble); empty password: no bytes. */
void qs_auth_caching_sha2(const char *password, const unsigned char *scramble, size_t slen,
                          unsigned char out[QS_SHA256_SIZE], size_t *outlen);

#endif
