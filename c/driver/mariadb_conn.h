/*
** mariadb_conn.h: shared by mariadb.c and mariadb_stmt.c (internal to the
** driver): the connection and statement structs and the qs__my_ functions one
** calls in the other.
*/
#ifndef QS_MARIADB_CONN_H
#define QS_MARIADB_CONN_H

#include "quicksilver.h"
#include "my_common.h"
#include "opts.h"
#include <mysql.h>
#include <mysqld_error.h>

/* A streamed result's string buffers start at most this large (bytes). */
#define STREAM_BUF_CAP 4096

/* The character set number of binary strings (collation "binary"): such a
** column holds bytes, not text. */
#define CHARSET_BINARY 63

/* How a result column is fetched: the kind of buffer bound for it. */
typedef enum result_kind {
  RESULT_STRING = 0,         /* text or bytes, in rbuf (rlen long) */
  RESULT_INTEGER = 1,        /* a 64-bit integer, in rint */
  RESULT_DOUBLE = 2          /* a double, in rdbl */
} result_kind;

/* The operation in progress on a connection (one at a time). */
typedef enum op_kind {
  OP_NONE = 0,
  OP_CONNECT, OP_PREPARE, OP_STEP, OP_EXEC, OP_EXECMANY, OP_TIMEOUT,
  OP_ABANDONED               /* its statement was finalized mid-way: the
                             ** protocol's state is unknown, nothing more runs */
} op_kind;


/* Where an operation is: what it does when called next. */
typedef enum phase {
  PH_FLUSH = 0,              /* send the queued COM_STMT_CLOSEs (every operation starts here) */
  PH_PREPARE,                /* prepare s->st (new, renewed or after a failed result) */
  PH_EXECUTE,
  PH_STORE,                  /* buffer the statement's result */
  PH_QUERY,                  /* xExec: the text query */
  PH_RESULT,                 /* xExec: buffer (and drop) one of its results */
  PH_NEXT,                   /* xExec: on to the next result */
  PH_FETCH                   /* a streamed result: its next row read from the socket */
} phase;

/* The libmariadb call suspended (waiting), continued with its _cont. */
typedef enum call_kind {
  CALL_NONE = 0,
  CALL_CONNECT, CALL_QUERY, CALL_RESULT, CALL_NEXT,
  CALL_PREPARE, CALL_EXECUTE, CALL_STORE, CALL_CLOSE, CALL_FETCH
} call_kind;

struct qs_dconn {
  MYSQL *my;
  int64_t changes;
  int64_t last_id;
  unsigned long thread_id;   /* the server's id of this connection (KILL); 0 until connected */
  qs_opts opts;   /* kept: the cancel connection reuses them, from another thread */
  /* the operation in progress */
  op_kind op;
  phase phase;
  qs_dstmt *op_stmt;         /* the statement it works on (xPrepare: the one it makes) */
  char *op_sql;              /* xExec's text, copied: a suspended call still reads it */
  int renewed;               /* the statement was prepared anew once already */
  int op_i, op_nsets, op_nparams;  /* xExecMany: the set being run, of how many */
  const qs_value *op_vals;
  int64_t op_changes;
  /* the libmariadb call in progress */
  call_kind call;
  int status;                /* what it waits for: MYSQL_WAIT_* bits */
  int ready;                 /* what the wait saw, for the next _cont: MYSQL_WAIT_* bits */
  int ret_int;
  my_bool ret_bool;
  MYSQL *ret_my;
  MYSQL_RES *ret_res;
  /* statements whose COM_STMT_CLOSE waits for the next operation; room is
  ** kept for every statement handle that exists (nst), so queueing one
  ** never fails */
  MYSQL_STMT **dead;
  int ndead, cap_dead, nst;
  MYSQL_STMT *closing;       /* the one whose mysql_stmt_close is in progress */
};

struct qs_dstmt {
  qs_dconn *c;
  MYSQL_STMT *st;            /* NULL: to be prepared again before it runs */
  int nparams, ncols;
  char **colnames;
  int *colbinary;            /* binary collation: bytes, not text */
  MYSQL_BIND *pbind;
  long long *pint;           /* storage for integer parameters */
  double *pdbl;
  char *ptiny;
  unsigned long *plen;
  MYSQL_BIND *rbind;
  char **rbuf;
  unsigned long *rlen;
  my_bool *rnull;
  my_bool *rerr;
  long long *rint;
  double *rdbl;
  result_kind *rkind;        /* per column */
  int executed;
  int stored;
  int stream;                /* the next execution streams (xStream) */
  int live;                  /* its unbuffered result is open: rows come from the socket */
  char *sql;                 /* kept to prepare again (the server's metadata changed) */
  size_t sqln;
};

/* mariadb.c */
void qs__my_bury(qs_dconn *c, MYSQL_STMT *st);
int qs__my_call(qs_dconn *c, call_kind kind, MYSQL_STMT *st, const char *sql, size_t n);
int qs__my_enter(qs_dconn *c, op_kind kind, qs_dstmt *s, qs_error *err);
int qs__my_fail_conn(qs_dconn *c, qs_error *err);
int qs__my_fail_stmt(qs_dstmt *s, qs_error *err);
int qs__my_flush_dead(qs_dconn *c);
void qs__my_free_results(qs_dstmt *s);
void qs__my_free_stmt(qs_dstmt *s);
int qs__my_leave(qs_dconn *c, int rc);
int qs__my_nomem(qs_error *err);
int qs__my_reserve_dead(qs_dconn *c, int n);

/* mariadb_stmt.c */
int qs__my_run_stmt(qs_dstmt *s, qs_error *err);
int qs__my_xBind(qs_dstmt *s, int n, const qs_value *vals, qs_error *err);
void qs__my_xColumn(qs_dstmt *s, int i, qs_value *out);
int qs__my_xColumnCount(qs_dstmt *s);
const char *qs__my_xColumnName(qs_dstmt *s, int i);
void qs__my_xFinalize(qs_dstmt *s);
int qs__my_xParamCount(qs_dstmt *s);
int qs__my_xPrepare(qs_dconn *c, const char *sql, size_t n, qs_dstmt **out, qs_error *err);
int qs__my_xReadonly(qs_dstmt *s);
void qs__my_xReset(qs_dstmt *s);
int qs__my_xStep(qs_dstmt *s, qs_error *err);
int qs__my_xStream(qs_dstmt *s, int on);

#endif
