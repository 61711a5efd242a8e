/*
** wire_pg_conn.h: internal to the PostgreSQL wire driver (wire_pg.c: statements,
** execution, the driver table; wire_pg_connect.c: connecting, the hosts tried,
** authentication, closing): the connection and statement they share and the
** functions one calls in the other (qs__pgw_: internal across the driver's files).
*/
#ifndef QS_WIRE_PG_CONN_H
#define QS_WIRE_PG_CONN_H

#include "quicksilver.h"

#include "auth.h"
#include "pg_common.h"
#include "pg_text.h"
#include "pgwire.h"
#include "wire_io.h"

enum { OP_NONE, OP_CONNECT, OP_PREPARE, OP_EXEC, OP_STEP, OP_EXECMANY };
static const char *const op_names[] = {
  "nothing", "a connect", "a prepare", "an exec", "an execute", "an executemany"
};

enum { SSL_DISABLE, SSL_ALLOW, SSL_PREFER, SSL_REQUIRE };

/* Connect steps. */
enum { C_TCP, C_SSLREQ, C_SSLREPLY, C_TLS, C_STARTUP, C_AUTH, C_CHECK, C_SET };

/* target_session_attrs: libpq's values. */
enum { TSA_ANY, TSA_READ_WRITE, TSA_READ_ONLY, TSA_PRIMARY, TSA_STANDBY, TSA_PREFER_STANDBY };

struct qs_dconn {
  qs_wire_io io;
  char *host, *port, *user, *password, *database, *app, *options;
  char *hostlist, *portlist; /* the options as given: comma lists (host, port: the one tried) */
  int nhosts, nports, cur;   /* hosts to try, the one tried now */
  int tsa, tsa_round;        /* target_session_attrs; prefer-standby's round (1: any) */
  int hot_standby, read_only; /* in_hot_standby, default_transaction_read_only: -1 unknown */
  int check_val;             /* the answer of C_CHECK's query: -1 none yet */
  qs_buf tried;              /* the hosts given up, each with why */
  int sslmode;
  int connect_timeout;       /* seconds, for the message */
  double connect_deadline;   /* qs_clock() seconds; 0 none */
  int32_t be_pid, be_key;
  int have_key;
  char txn;                  /* ReadyForQuery's status: 'I', 'T', 'E' */
  char datestyle[32], intervalstyle[32];
  unsigned counter;          /* statement names: qs_<tag>_1, qs_<tag>_2, ... */
  uint32_t tag;              /* ... (pg_common.h: distinct between connections) */
  int unnamed;               /* prepared_statements=false: the unnamed statement only */
  int64_t changes;
  unsigned ddl_epoch, session_epoch;
  qs_pg_notices notices;
  int connected, dead;
  int timeout_ms;
  qs_scram scram;
  qs_buf closeq;             /* Close messages of finalized statements */
  /* the operation in progress */
  int op, phase, sub, want, seen, attempt, reprepare;
  qs_dstmt *stmt;
  int nz;                    /* ReadyForQuery messages still expected */
  int pause;                 /* a streamed batch is full: pump returns before nz is 0 */
  int drain;                 /* ReadyForQuery messages of a stream left mid-way: the
                             ** next operation reads (and ignores) its replies first */
  int skip;                  /* of which the first ones end the Close group */
  qs_error kept;             /* the first ErrorResponse of the operation's group */
  /* executemany */
  const qs_value *m_vals;
  int m_nsets, m_nparams, m_next;
  int64_t m_changes;
};

struct qs_dstmt {
  qs_dconn *c;
  char name[QS_PG_NAME_SIZE];
  char *sql;
  int on_server;
  unsigned session_epoch, epoch;
  int nparams, ncols;
  char **colnames;
  uint32_t *coltypes;
  uint32_t *paramtypes;
  uint32_t *given;           /* types given at Parse (text for untyped ones), or NULL */
  int ngiven;
  qs_value *vals;            /* bound values (borrowed strings), nparams of them */
  qs_value *send;            /* what Bind sends (interval floats as text) */
  char *numbuf;
  /* the buffered result */
  qs_buf data;               /* the cells' bytes, each NUL-terminated */
  size_t *cells;             /* per cell: offset into data + 1, 0 for NULL */
  size_t *lens;
  size_t ncells, cells_cap;
  qs_pg_col *rowtmp;
  int row, nrows, executed;
  int stream;                /* the next execution streams (xStream) */
  int live;                  /* streaming: its operation goes on while rows come */
  int finished;              /* ... and every reply came (c->kept: its outcome) */
  qs_pg_bytes bytes;
};

/* wire_pg.c */
char *qs__pgw_sdup(const char *s);
char *qs__pgw_sdupn(const char *s, size_t n);
/* the operation ends with rc (an ErrorResponse kept meanwhile is its outcome) */
int qs__pgw_leave(qs_dconn *c, int rc);
int qs__pgw_fail_kept(qs_dconn *c, qs_error *err);
/* QS_WAIT for the socket event the operation needs, else rc */
int qs__pgw_waiting(qs_dconn *c, int rc);
int qs__pgw_send_out(qs_dconn *c, qs_error *err);
/* reads and handles replies until the ReadyForQuery messages expected came */
int qs__pgw_pump(qs_dconn *c, int nowait, qs_error *err);
void qs__pgw_free_stmt(qs_dstmt *s);

/* wire_pg_connect.c */
int qs__pgw_auth_message(qs_dconn *c, const qs_pg_msg *m, qs_error *err);
int qs__pgw_xOpen(int nopt, const char *const *keys, const char *const *vals, qs_dconn **out,
                  qs_error *err);
int qs__pgw_xConnect(qs_dconn *c, qs_error *err);
void qs__pgw_xClose(qs_dconn *c);
int qs__pgw_xWait(qs_dconn *c, int *fd, int *timeout_ms);
void qs__pgw_xReady(qs_dconn *c, int events);

#endif
