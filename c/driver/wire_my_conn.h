/*
** wire_my_conn.h: internal to the MySQL/MariaDB wire driver (wire_my.c:
** errors, the pipe, operations, statements, cancel, the driver table;
** wire_my_connect.c: options, connecting, authentication, the pipe's side of
** the external transport): the connection and statement they share and the
** functions one calls in the other (qs__myw_: internal across the driver's files).
*/
#ifndef QS_WIRE_MY_CONN_H
#define QS_WIRE_MY_CONN_H

#include "quicksilver.h"
#include "auth.h"
#include "my_common.h"
#include "mywire.h"
#include "opts.h"
#include "wire_io.h"

/* Server and client error numbers this driver reports itself (the ones
** libmariadb gives for the same conditions). */
#define CR_CONNECTION_ERROR 2002
#define CR_CONN_HOST_ERROR 2003
#define CR_SERVER_GONE_ERROR 2006
#define CR_SERVER_LOST 2013
#define CR_MALFORMED_PACKET 2027
#define ER_NEED_REPREPARE 1615

/* libmariadb's default socket when the host is localhost (or none). */
#define DEFAULT_SOCKET "/run/mysqld/mysqld.sock"


typedef enum op_kind {
  OP_NONE = 0, OP_CONNECT, OP_PREPARE, OP_STEP, OP_EXEC, OP_EXECMANY, OP_TIMEOUT,
  OP_BROKEN                  /* left mid-operation: the protocol's state is unknown */
} op_kind;


/* A streamed result is handed up in batches of at most this many rows or
** bytes of row packets (the batch's memory is all a stream holds). */
#define STREAM_ROWS 256
#define STREAM_BYTES (64 * 1024)

/* Connect phases. */
enum { CP_TCP = 0, CP_GREETING, CP_SSL_SENT, CP_TLS, CP_LOGIN_SENT, CP_AUTH };
/* Command phases: sending, then reading the reply. */
enum { XP_START = 0, XP_SEND, XP_PREPARE, XP_EXECUTE, XP_DRAIN, XP_QUERY };
/* Where a prepare's reply is. */
enum { PP_OK = 0, PP_PARAMS, PP_PARAMS_EOF, PP_COLS, PP_COLS_EOF, PP_DONE };
/* Where a result's reply is. */
enum { RP_HEAD = 0, RP_COLS, RP_COLS_EOF, RP_ROWS };

typedef struct result_reader {
  int phase;
  unsigned ncols, got;
  int skip_rows;             /* rows of a result being dropped unread (a binary one without s) */
} result_reader;

struct qs_dconn {
  qs_wire_io io;
  qs_opts opts;
  /* from the options */
  const char *host, *port, *user, *password, *database, *unix_socket;
  int external, tls_wanted, tls_on;
  int connect_timeout, read_timeout, write_timeout;   /* seconds; 0: none */
  /* the session */
  int connected;
  uint32_t conn_id;
  uint32_t caps;             /* what was agreed */
  int mariadb;
  unsigned status;
  unsigned char scramble[32];
  size_t scramble_len;
  char plugin[32];           /* the auth plugin in use */
  int64_t changes, last_id;
  /* the framing */
  uint8_t seq;
  qs_buf join;
  size_t held;               /* bytes of the last packet read, consumed at the next read */
  /* the operation in progress */
  op_kind op;
  int phase, sub;
  result_reader rr;
  qs_dstmt *op_stmt;
  char *op_sql;
  int renewed;
  int op_i, op_nsets, op_nparams;
  const qs_value *op_vals;
  int64_t op_changes;
  double deadline;           /* connect: qs_clock() time it fails at; 0: none */
  int timed_out;             /* the last wait ran out of time */
  /* statement ids whose COM_STMT_CLOSE goes out with the next operation */
  uint32_t *dead;
  int ndead, cap_dead;
  int drain;                 /* a stream left mid-way: the next operation reads
                             ** the rest of its result (rows dropped) first */
  /* a text row's cells while results are read and dropped */
  qs_my_cell *cells;
  unsigned cap_cells;
};

struct qs_dstmt {
  qs_dconn *c;
  char *sql;
  size_t sqln;
  uint32_t id;
  int has_id;                /* 0: to be prepared (again) before it runs */
  int nparams;
  qs_value *params;          /* bound values (their bytes are the caller's) */
  int ncols;
  char **names;
  qs_my_column *cols;        /* type, flags, charset, decimals (no spans) */
  /* the buffered result */
  qs_buf rows;               /* the row packets' payloads, end to end */
  size_t *roff;              /* offset and length of each: 2 per row */
  size_t nrows, caprows, cur;
  int executed;
  int stream;                /* the next execution streams (xStream) */
  int live;                  /* streaming: its operation goes on while batches come */
  qs_error pend;             /* a streamed result's failure, after the rows before it */
  qs_my_cell *cells;         /* the current row */
  char *scratch;             /* QS_MY_SCRATCH per column (dates as text) */
};

/* wire_my.c */
int qs__myw_enter(qs_dconn *c, op_kind kind, qs_dstmt *s, qs_error *err);
int qs__myw_flush(qs_dconn *c, qs_error *err);
int qs__myw_leave(qs_dconn *c, int rc);
int qs__myw_next_packet(qs_dconn *c, qs_my_span *pl, qs_error *err);
int qs__myw_nomem(qs_error *err);
int qs__myw_protocol_fail(qs_dconn *c, int rc, qs_error *err);
int qs__myw_server_error(qs_dconn *c, const qs_my_span *pl, qs_error *err);
int qs__myw_timed_out(qs_dconn *c, qs_error *err);

/* wire_my_connect.c */
char *qs__myw_dup(const char *s);
int qs__myw_xConnect(qs_dconn *c, qs_error *err);
int qs__myw_xInput(qs_dconn *c, const char *p, size_t n, qs_error *err);
int qs__myw_xOpen(int nopt, const char *const *keys, const char *const *vals, qs_dconn **out,
                 qs_error *err);
size_t qs__myw_xOutput(qs_dconn *c, const char **p);
void qs__myw_xOutputDone(qs_dconn *c, size_t n);
void qs__myw_xReady(qs_dconn *c, int events);
int qs__myw_xWait(qs_dconn *c, int *fd, int *timeout_ms);

#endif
