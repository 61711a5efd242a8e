/*
** pgwire.h: the PostgreSQL v3 protocol's message layer, sans-I/O. Frontend
** messages are encoded into a qs_buf; backend messages are cut out of a byte
** span and parsed into structs of spans that point into that span. Nothing
** here touches a socket, so the same code serves any transport (issue 20:
** OpenResty cosockets) and is tested on hand-made bytes.
**
** Every function returns QS_OK or a QS_* error family with err set; the
** reader also returns QS_WAIT for "need more bytes". Malformed backend
** messages are QS_INTERFACE errors naming the message and the fault; no
** parser reads past the message it was given.
*/
#ifndef QS_PGWIRE_H
#define QS_PGWIRE_H

#include <stddef.h>
#include <stdint.h>

#include "quicksilver.h"

/* A declared message length above this is refused rather than waited for:
** PostgreSQL's own limit on a field is 1 GiB, and a peer announcing more is
** broken or hostile (we would buffer it all). */
#define QS_PG_MAX_MESSAGE (1u << 30)

/* Bytes borrowed from the span given to the reader; not NUL-terminated. */
typedef struct qs_pg_span {
  const char *p;
  size_t n;
} qs_pg_span;

/* ---- frontend messages -------------------------------------------------- */

/* StartupMessage for protocol 3.0. extra: name, value, name, value, ...,
** NULL (or NULL for none); database NULL leaves it to the server (user). */
int qs_pg_startup(qs_buf *out, const char *user, const char *database,
                  const char *const *extra, qs_error *err);
int qs_pg_query(qs_buf *out, const char *sql, qs_error *err);
/* Parse: oids may be NULL when nparams is 0; an OID of 0 lets the server infer. */
int qs_pg_parse(qs_buf *out, const char *name, const char *sql, int nparams,
                const uint32_t *oids, qs_error *err);
/* Bind, values rendered as c/driver/libpq.c's xBind renders them: integers
** as text, floats "%.17g", booleans t/f, text as text, blobs in binary format
** 1, NULL as length -1; every result column in text format. */
int qs_pg_bind(qs_buf *out, const char *portal, const char *statement, int n,
               const qs_value *vals, qs_error *err);
/* kind 'S' (statement) or 'P' (portal). */
int qs_pg_describe(qs_buf *out, char kind, const char *name, qs_error *err);
/* Execute with no row limit (max rows 0). */
int qs_pg_execute(qs_buf *out, const char *portal, qs_error *err);
int qs_pg_sync(qs_buf *out, qs_error *err);
int qs_pg_flush(qs_buf *out, qs_error *err);
int qs_pg_close_statement(qs_buf *out, const char *name, qs_error *err);
int qs_pg_terminate(qs_buf *out, qs_error *err);
/* PasswordMessage carrying a cleartext password. */
int qs_pg_password(qs_buf *out, const char *password, qs_error *err);
/* CancelRequest: its own 16-byte packet, sent on a new connection. */
int qs_pg_cancel_request(qs_buf *out, int32_t pid, int32_t key, qs_error *err);

/* ---- the reader ---------------------------------------------------------- */

typedef struct qs_pg_msg {
  char type;             /* 'R', 'S', 'K', 'Z', 'T', 'D', 'C', 'E', 'N', ... */
  const char *body;      /* after the type byte and the length */
  size_t len;            /* body bytes */
} qs_pg_msg;

/* One backend message from the n bytes at p. QS_OK: *msg is set and *used
** is the bytes it occupies (type, length and body). QS_WAIT: incomplete;
** *need is the bytes still missing (a lower bound, 5 - n, while even the
** header is incomplete). A declared length below 4 or above
** QS_PG_MAX_MESSAGE: QS_INTERFACE. */
int qs_pg_next(const char *p, size_t n, qs_pg_msg *msg, size_t *used, size_t *need,
               qs_error *err);

/* ---- backend message parsers ------------------------------------------- */

#define QS_PG_AUTH_OK            0
#define QS_PG_AUTH_CLEARTEXT     3
#define QS_PG_AUTH_MD5           5
#define QS_PG_AUTH_SASL         10
#define QS_PG_AUTH_SASL_CONTINUE 11
#define QS_PG_AUTH_SASL_FINAL   12

typedef struct qs_pg_auth {
  int32_t code;            /* QS_PG_AUTH_*, or another code the caller refuses */
  unsigned char salt[4];   /* MD5 */
  /* SASL: the mechanism names, each NUL-terminated, the list ending in an
  ** empty name (validated); SASLContinue/Final: the server's data. */
  qs_pg_span data;
  int nmechanisms;         /* SASL */
} qs_pg_auth;

int qs_pg_parse_auth(const qs_pg_msg *m, qs_pg_auth *out, qs_error *err);
/* Nonzero when a SASL request offers the mechanism name. */
int qs_pg_auth_offers(const qs_pg_auth *a, const char *mechanism);

int qs_pg_parse_parameter_status(const qs_pg_msg *m, qs_pg_span *name, qs_pg_span *value,
                                 qs_error *err);
int qs_pg_parse_backend_key(const qs_pg_msg *m, int32_t *pid, int32_t *key, qs_error *err);
/* *status: 'I' idle, 'T' in a transaction, 'E' in a failed transaction. */
int qs_pg_parse_ready(const qs_pg_msg *m, char *status, qs_error *err);

typedef struct qs_pg_field {
  qs_pg_span name;
  uint32_t table_oid;
  int16_t column;
  uint32_t type_oid;
  int16_t type_size;
  int32_t type_mod;
  int16_t format;          /* 0 text, 1 binary */
} qs_pg_field;

/* RowDescription: the whole message is validated; *count is its columns and
** the first min(count, cap) are stored in fields (NULL, 0: count only). */
int qs_pg_parse_row_description(const qs_pg_msg *m, qs_pg_field *fields, int cap, int *count,
                                qs_error *err);

typedef struct qs_pg_col {
  const char *p;           /* NULL for SQL NULL */
  int32_t len;             /* -1 for SQL NULL */
} qs_pg_col;

/* DataRow: expected is the RowDescription's count (a row with another count
** is an error; -1: unchecked). Columns as for qs_pg_parse_row_description. */
int qs_pg_parse_data_row(const qs_pg_msg *m, int expected, qs_pg_col *cols, int cap,
                         int *count, qs_error *err);

/* CommandComplete: the tag ("INSERT 0 5") and the row count its last word
** carries (*has_rows 0 for tags without one: "CREATE TABLE"). */
int qs_pg_parse_command_complete(const qs_pg_msg *m, qs_pg_span *tag, int64_t *rows,
                                 int *has_rows, qs_error *err);

/* ErrorResponse / NoticeResponse fields (absent: p NULL, n 0). */
typedef struct qs_pg_notice {
  qs_pg_span severity;       /* S (localized) */
  qs_pg_span severity_en;    /* V (never localized, 9.6+) */
  qs_pg_span sqlstate;       /* C */
  qs_pg_span message;        /* M */
  qs_pg_span detail;         /* D */
  qs_pg_span hint;           /* H */
  qs_pg_span position;       /* P */
  qs_pg_span internal_position; /* p */
  qs_pg_span internal_query; /* q */
  qs_pg_span where;          /* W */
  qs_pg_span schema;         /* s */
  qs_pg_span table;          /* t */
  qs_pg_span column;         /* c */
  qs_pg_span datatype;       /* d */
  qs_pg_span constraint;     /* n */
  qs_pg_span file;           /* F */
  qs_pg_span line;           /* L */
  qs_pg_span routine;        /* R */
  int family;                /* QS_* family of sqlstate (qs_sqlstate_family) */
} qs_pg_notice;

int qs_pg_parse_notice(const qs_pg_msg *m, qs_pg_notice *out, qs_error *err);

/* ParameterDescription: as qs_pg_parse_row_description, for type OIDs. */
int qs_pg_parse_parameter_description(const qs_pg_msg *m, uint32_t *oids, int cap, int *count,
                                      qs_error *err);

/* The messages without a body: ParseComplete '1', BindComplete '2',
** CloseComplete '3', NoData 'n', EmptyQueryResponse 'I', PortalSuspended
** 's'. Checks the type is one of them and the body is empty. */
int qs_pg_parse_empty(const qs_pg_msg *m, qs_error *err);

/* A message type's name for messages ("DataRow"), "unknown" when unknown. */
const char *qs_pg_message_name(char type);

#endif
