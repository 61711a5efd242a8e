/*
** mywire.h: the MySQL/MariaDB client/server protocol (as MariaDB 10.11
** speaks it), sans-I/O. Client packets are encoded into a qs_buf, framed
** with their sequence ids; server packets are cut out of a byte span and
** parsed into structs of spans that point into that span (or into the
** caller's join buffer, for a payload split over continuation packets).
** Nothing here touches a socket (issue 20: OpenResty cosockets).
**
** Every function returns QS_OK or a QS_* error family with err set; the
** reader also returns QS_WAIT for "need more bytes". A malformed server
** packet is a QS_INTERFACE error naming the packet and the fault; no parser
** reads past the payload it was given. Integers on the wire are
** little-endian, assembled byte by byte.
*/
#ifndef QS_MYWIRE_H
#define QS_MYWIRE_H

#include <stddef.h>
#include <stdint.h>

#include "quicksilver.h"

/* One packet's payload is at most this long; a longer payload is split into
** packets of this size ending in a shorter one (maybe empty). */
#define QS_MY_MAX_PACKET 0xffffffu
/* A joined payload above this is refused rather than buffered: the
** server's max_allowed_packet tops out at 1 GiB. */
#define QS_MY_MAX_PAYLOAD (1u << 30)

/* Capability flags (the handshake's). */
#define QS_MY_CLIENT_LONG_PASSWORD     0x00000001u
#define QS_MY_CLIENT_FOUND_ROWS        0x00000002u
#define QS_MY_CLIENT_LONG_FLAG         0x00000004u
#define QS_MY_CLIENT_CONNECT_WITH_DB   0x00000008u
#define QS_MY_CLIENT_PROTOCOL_41       0x00000200u
#define QS_MY_CLIENT_SSL               0x00000800u
#define QS_MY_CLIENT_TRANSACTIONS      0x00002000u
#define QS_MY_CLIENT_SECURE_CONNECTION 0x00008000u
#define QS_MY_CLIENT_MULTI_STATEMENTS  0x00010000u
#define QS_MY_CLIENT_MULTI_RESULTS     0x00020000u
#define QS_MY_CLIENT_PS_MULTI_RESULTS  0x00040000u
#define QS_MY_CLIENT_PLUGIN_AUTH       0x00080000u
#define QS_MY_CLIENT_CONNECT_ATTRS     0x00100000u
#define QS_MY_CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA 0x00200000u
#define QS_MY_CLIENT_SESSION_TRACK     0x00800000u
#define QS_MY_CLIENT_DEPRECATE_EOF     0x01000000u

/* What the wire drivers ask for (before CONNECT_WITH_DB and SSL, added as
** needed): libmariadb's defaults as c/driver/mariadb.c connects (FOUND_ROWS:
** rowcount counts matched rows), plus DEPRECATE_EOF (one packet less per
** result). Neither session tracking nor connect attributes are asked. */
#define QS_MY_CLIENT_WANTED                                                          \
  (QS_MY_CLIENT_LONG_PASSWORD | QS_MY_CLIENT_FOUND_ROWS | QS_MY_CLIENT_LONG_FLAG |  \
   QS_MY_CLIENT_PROTOCOL_41 | QS_MY_CLIENT_TRANSACTIONS |                           \
   QS_MY_CLIENT_SECURE_CONNECTION | QS_MY_CLIENT_MULTI_RESULTS |                    \
   QS_MY_CLIENT_PS_MULTI_RESULTS | QS_MY_CLIENT_PLUGIN_AUTH |                       \
   QS_MY_CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA | QS_MY_CLIENT_DEPRECATE_EOF)

/* Server status flags (OK and EOF packets). */
#define QS_MY_STATUS_IN_TRANS          0x0001u
#define QS_MY_STATUS_AUTOCOMMIT        0x0002u
#define QS_MY_STATUS_MORE_RESULTS      0x0008u

/* utf8mb4_general_ci: the collation libmariadb's "utf8mb4" means. */
#define QS_MY_UTF8MB4 45
/* The character set number of binary strings. */
#define QS_MY_BINARY_CHARSET 63

/* Column types (the protocol's MYSQL_TYPE_*). */
enum {
  QS_MY_TYPE_DECIMAL = 0, QS_MY_TYPE_TINY = 1, QS_MY_TYPE_SHORT = 2, QS_MY_TYPE_LONG = 3,
  QS_MY_TYPE_FLOAT = 4, QS_MY_TYPE_DOUBLE = 5, QS_MY_TYPE_NULL = 6, QS_MY_TYPE_TIMESTAMP = 7,
  QS_MY_TYPE_LONGLONG = 8, QS_MY_TYPE_INT24 = 9, QS_MY_TYPE_DATE = 10, QS_MY_TYPE_TIME = 11,
  QS_MY_TYPE_DATETIME = 12, QS_MY_TYPE_YEAR = 13, QS_MY_TYPE_NEWDATE = 14,
  QS_MY_TYPE_VARCHAR = 15, QS_MY_TYPE_BIT = 16, QS_MY_TYPE_JSON = 245,
  QS_MY_TYPE_NEWDECIMAL = 246, QS_MY_TYPE_ENUM = 247, QS_MY_TYPE_SET = 248,
  QS_MY_TYPE_TINY_BLOB = 249, QS_MY_TYPE_MEDIUM_BLOB = 250, QS_MY_TYPE_LONG_BLOB = 251,
  QS_MY_TYPE_BLOB = 252, QS_MY_TYPE_VAR_STRING = 253, QS_MY_TYPE_STRING = 254,
  QS_MY_TYPE_GEOMETRY = 255
};

/* Column flags. */
#define QS_MY_FLAG_NOT_NULL  0x0001u
#define QS_MY_FLAG_UNSIGNED  0x0020u
#define QS_MY_FLAG_BINARY    0x0080u

/* Bytes borrowed from the span given to the reader; not NUL-terminated. */
typedef struct qs_my_span {
  const char *p;
  size_t n;
} qs_my_span;

/* ---- framing -------------------------------------------------------------- */

/* One logical packet from the n bytes at p: its payload, joined when it is
** split over continuation packets (then copied into *join, which the span
** points into; otherwise the span points into p and *join is untouched).
** *seq is the sequence id the first packet must carry; on QS_OK it is the
** id the next packet (either side's) carries. QS_OK: *used is the bytes
** taken. QS_WAIT: incomplete, *need the bytes still missing (a lower bound).
** A wrong sequence id or a joined payload over QS_MY_MAX_PAYLOAD:
** QS_INTERFACE. */
int qs_my_next(const char *p, size_t n, uint8_t *seq, qs_buf *join, qs_my_span *payload,
               size_t *used, size_t *need, qs_error *err);

/* Appends payload (n bytes) framed as packets from sequence id *seq on
** (*seq advanced past them): the one framing routine the encoders use. */
int qs_my_frame(qs_buf *out, uint8_t *seq, const char *payload, size_t n, qs_error *err);

/* ---- length-encoded integers and strings ---------------------------------- */

/* A length-encoded integer at p (n bytes available): QS_OK with *v and
** *size (its bytes); 0xfb (NULL in a text row) gives *is_null 1 when is_null
** is not NULL, else it is refused like 0xff; a form cut short: QS_INTERFACE
** naming what. */
int qs_my_lenenc(const char *p, size_t n, uint64_t *v, int *is_null, size_t *size,
                 const char *what, qs_error *err);
/* Appends v length-encoded. */
void qs_my_put_lenenc(qs_buf *out, uint64_t v);

/* ---- connection phase ------------------------------------------------------ */

typedef struct qs_my_handshake {
  unsigned protocol;           /* 10 */
  qs_my_span server_version;   /* "10.11.6-MariaDB-0+deb12u1" */
  uint32_t connection_id;      /* what KILL QUERY names */
  unsigned char scramble[32];  /* parts 1 and 2 (the NUL ending part 2 left out) */
  size_t scramble_len;         /* 20 in practice */
  uint32_t capabilities;       /* the server's */
  unsigned charset;
  unsigned status;
  qs_my_span plugin;           /* "mysql_native_password", empty when absent */
} qs_my_handshake;

/* Initial Handshake v10. A server that refuses the connection sends an ERR
** packet instead: check qs_my_is_err first. */
int qs_my_parse_handshake(const qs_my_span *pl, qs_my_handshake *out, qs_error *err);

/* What the client answers with. */
typedef struct qs_my_login {
  uint32_t capabilities;       /* the flags to send (already masked by the server's) */
  unsigned charset;            /* QS_MY_UTF8MB4 */
  const char *user;
  const unsigned char *auth;   /* the auth response */
  size_t auth_len;
  const char *database;        /* NULL: none (CONNECT_WITH_DB must then be off) */
  const char *plugin;          /* the plugin auth answers for */
} qs_my_login;

/* SSL Request: the first 32 bytes of the response, before the TLS upgrade
** (capabilities must hold CLIENT_SSL). */
int qs_my_ssl_request(qs_buf *out, uint8_t *seq, const qs_my_login *l, qs_error *err);
/* HandshakeResponse41. */
int qs_my_handshake_response(qs_buf *out, uint8_t *seq, const qs_my_login *l, qs_error *err);
/* The raw auth data answering an AuthSwitchRequest or AuthMoreData. */
int qs_my_auth_data(qs_buf *out, uint8_t *seq, const unsigned char *data, size_t n,
                    qs_error *err);

/* AuthSwitchRequest (0xfe, plugin name, its data): data has the trailing NUL
** many servers add removed. */
int qs_my_parse_auth_switch(const qs_my_span *pl, qs_my_span *plugin, qs_my_span *data,
                            qs_error *err);
/* AuthMoreData (0x01, data). */
int qs_my_parse_auth_more(const qs_my_span *pl, qs_my_span *data, qs_error *err);

/* ---- generic response packets --------------------------------------------- */

/* What a payload's header byte says it is (the caller's context decides
** between a row and an OK/EOF: qs_my_is_eof). */
int qs_my_is_err(const qs_my_span *pl);
int qs_my_is_ok(const qs_my_span *pl);          /* 0x00 header */
/* An EOF packet, or the OK packet that ends a result under DEPRECATE_EOF:
** 0xfe header in a payload shorter than a row starting with 0xfe can be. */
int qs_my_is_eof(const qs_my_span *pl);

typedef struct qs_my_ok {
  uint64_t affected_rows;
  uint64_t last_insert_id;
  unsigned status;
  unsigned warnings;
  qs_my_span info;
} qs_my_ok;

/* OK (0x00) or, under DEPRECATE_EOF, the OK with an 0xfe header. */
int qs_my_parse_ok(const qs_my_span *pl, qs_my_ok *out, qs_error *err);

typedef struct qs_my_err {
  unsigned code;
  char sqlstate[6];            /* "" when the packet has none (early handshake errors) */
  qs_my_span message;
} qs_my_err;

int qs_my_parse_err(const qs_my_span *pl, qs_my_err *out, qs_error *err);
/* An ERR packet as the qs_error the drivers report: qs_mysql_error_set. */
int qs_my_err_to_error(const qs_my_span *pl, qs_error *err);

/* The classic EOF packet (0xfe, warnings, status), payload under 9 bytes. */
int qs_my_parse_eof(const qs_my_span *pl, unsigned *warnings, unsigned *status, qs_error *err);
/* The status flags of whatever ends a result: EOF or OK-as-EOF. */
int qs_my_parse_end(const qs_my_span *pl, qs_my_ok *out, qs_error *err);

/* ---- commands --------------------------------------------------------------- */

#define QS_MY_COM_QUIT         0x01
#define QS_MY_COM_INIT_DB      0x02
#define QS_MY_COM_QUERY        0x03
#define QS_MY_COM_PING         0x0e
#define QS_MY_COM_STMT_PREPARE 0x16
#define QS_MY_COM_STMT_EXECUTE 0x17
#define QS_MY_COM_STMT_CLOSE   0x19
#define QS_MY_COM_STMT_RESET   0x1a

/* Each command starts a new sequence (id 0); *seq is left at the id the
** reply carries. */
int qs_my_com_query(qs_buf *out, uint8_t *seq, const char *sql, size_t n, qs_error *err);
int qs_my_com_ping(qs_buf *out, uint8_t *seq, qs_error *err);
int qs_my_com_quit(qs_buf *out, uint8_t *seq, qs_error *err);
int qs_my_com_init_db(qs_buf *out, uint8_t *seq, const char *db, qs_error *err);
int qs_my_com_stmt_prepare(qs_buf *out, uint8_t *seq, const char *sql, size_t n, qs_error *err);
int qs_my_com_stmt_close(qs_buf *out, uint8_t *seq, uint32_t id, qs_error *err);
int qs_my_com_stmt_reset(qs_buf *out, uint8_t *seq, uint32_t id, qs_error *err);
/* COM_STMT_EXECUTE with no cursor and one iteration; the n values (n must
** be the statement's parameter count) typed as c/driver/mariadb.c binds
** them: integers LONGLONG, booleans TINY, floats DOUBLE, text STRING, blobs
** BLOB, NULL in the null bitmap. The types are always sent (new-params-bound
** 1): a statement's types may change between executions. */
int qs_my_com_stmt_execute(qs_buf *out, uint8_t *seq, uint32_t id, int n, const qs_value *vals,
                           qs_error *err);

/* ---- results ------------------------------------------------------------------ */

/* COM_STMT_PREPARE's first reply packet (0x00 header). */
typedef struct qs_my_prepare_ok {
  uint32_t stmt_id;
  unsigned ncols, nparams, warnings;
} qs_my_prepare_ok;

int qs_my_parse_prepare_ok(const qs_my_span *pl, qs_my_prepare_ok *out, qs_error *err);

/* A result set's first packet: its column count (lenenc, 1..4096). A 0xfb
** header (LOCAL INFILE request) is refused. */
int qs_my_parse_column_count(const qs_my_span *pl, unsigned *count, qs_error *err);

/* ColumnDefinition41. */
typedef struct qs_my_column {
  qs_my_span schema, table, org_table, name, org_name;
  unsigned charset;
  uint32_t length;
  unsigned type;               /* QS_MY_TYPE_* */
  unsigned flags;              /* QS_MY_FLAG_* */
  unsigned decimals;
} qs_my_column;

int qs_my_parse_column(const qs_my_span *pl, qs_my_column *out, qs_error *err);

/* One column's value in a row: p NULL for SQL NULL. In a binary row p/n
** are the value's bytes (a string's or a date's without its length prefix,
** a number's fixed-size bytes). */
typedef struct qs_my_cell {
  const char *p;
  size_t n;
} qs_my_cell;

/* A text row of exactly ncols lenenc strings (0xfb: NULL). */
int qs_my_parse_text_row(const qs_my_span *pl, int ncols, qs_my_cell *cells, qs_error *err);
/* A binary row (0x00 header, null bitmap at bit offset 2, then the non-NULL
** values as the column types say). */
int qs_my_parse_binary_row(const qs_my_span *pl, int ncols, const qs_my_column *cols,
                           qs_my_cell *cells, qs_error *err);

/* A binary cell as the qs_value c/driver/mariadb.c gives for it: integers
** (year included; unsigned ones as their 64-bit pattern) QS_TINT, float and
** double QS_TFLOAT, dates and times as libmariadb formats them (into
** scratch, which out then points at), binary-collation strings and blobs
** QS_TBLOB, everything else (decimals, bit, json, text) QS_TTEXT. */
#define QS_MY_SCRATCH 64
void qs_my_binary_value(const qs_my_column *col, const qs_my_cell *cell, qs_value *out,
                        char scratch[QS_MY_SCRATCH]);

/* A packet's name for messages ("ERR"), by what it starts with in a reply. */
const char *qs_my_packet_name(const qs_my_span *pl);

#endif
