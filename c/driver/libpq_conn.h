/*
** libpq_conn.h: shared by libpq.c and libpq_prepare.c (internal to the driver): the types both
** use and the qs__lpq_ functions one calls in the other.
*/
#ifndef QS_LIBPQ_CONN_H
#define QS_LIBPQ_CONN_H

#include "quicksilver.h"
#include <postgresql/libpq-fe.h>
#include "detached.h"
#include "pg_common.h"
#include "pg_text.h"

/* given is uint32_t (pg_common.h), handed to libpq as Oid. */
_Static_assert(sizeof(Oid) == sizeof(uint32_t), "Oid is 32 bits");

#define NUM_TEXT_SIZE QS_PG_NUM_TEXT_SIZE
/* Connection options passed through, besides the two the driver adds. */
#define MAX_CONN_OPTIONS 36
/* executemany: queries queued between two attempts to send and read, so
** that neither direction's buffer fills while the other waits. */
#define PIPE_CHUNK 64
/* DEALLOCATE names queued beyond which the queue's memory is not kept
** growing: xFinalize then forgets the name (the session ends it). */
#define MAX_DEALLOC_BYTES (1 << 20)
/* libpq refuses a ParameterDescription longer than 30,000 bytes ("lost
** synchronization with server": it is not one of the message types libpq
** believes long), i.e. a statement described with more than 7,498
** parameters. A statement that may have more ("wide": its highest $n is
** above this) is not described: its parameter types come from
** pg_prepared_statements and its columns from each execution's result. */
#define DESCRIBE_MAX_PARAMS ((30000 - 4 - 2) / 4)

/* The operation in progress on a connection. */
enum {
  OP_NONE, OP_CONNECT, OP_PREPARE, OP_EXEC, OP_STEP, OP_EXECMANY
};

/* Where a prepare (xPrepare, or preparing again before an execution) is. */
enum { PREP_SEND, PREP_READ, PREP_DESCRIBE, PREP_DESCRIBED };

struct qs_dconn {
  PGconn *pg;
  unsigned counter;          /* statement names: qs_<tag>_1, qs_<tag>_2, ... */
  uint32_t tag;              /* ... (pg_common.h: distinct between connections) */
  int unnamed;               /* prepared_statements=false: the unnamed statement only */
  int gone;                  /* the server session changed under named statements
                             ** (a transaction pooler): every later call refused */
  int p_index;               /* unnamed prepare: the pipelined query being read */
  PGresult *p_shape;         /* ... and the description it gave */
  int64_t changes;           /* rows changed by the last statement */
  unsigned ddl_epoch;        /* bumped by every DDL statement on this connection */
  unsigned session_epoch;    /* bumped by DISCARD ALL / DEALLOCATE ALL: every statement gone */
  qs_pg_notices notices;
  PGcancel *cancel;          /* made at connect: PQcancel is thread-safe with it */
  int connected;
  int timeout_ms;            /* per statement, 0 none (the core enforces it) */
  /* connecting */
  double connect_deadline;   /* qs_clock() seconds; 0 none */
  int connect_timeout;       /* seconds, for the message */
  int wants_writable;        /* target_session_attrs read-write or primary */
  /* the operation in progress */
  int op;                    /* OP_* */
  int phase;                 /* the operation's own steps; 0: the DEALLOCATE queue */
  int sub;                   /* PREP_* while preparing */
  int want;                  /* QS_WAIT_READ|QS_WAIT_WRITE it waits for */
  int seen;                  /* what the last wait saw (xReady) */
  int just_sent;             /* a command went out: nothing to read before a wait */
  int reprepare;             /* the statement is prepared again before it runs */
  int attempt;               /* executions of the statement in this operation */
  qs_dstmt *stmt;            /* the statement it works on (xPrepare: the new one) */
  PGresult *keep;            /* results being read: the first error, else the last */
  /* executemany */
  const qs_value *m_vals;
  int m_nsets, m_nparams, m_next, m_pending;
  int m_synced;              /* the sync's result came: the batch is over */
  int64_t m_changes;
  PGresult *m_error;         /* the first failure */
  int drain;                 /* a streamed result was left mid-way: the next
                             ** operation reads and discards the rest first */
  /* DEALLOCATE queue: "DEALLOCATE qs_1;DEALLOCATE qs_2;..." */
  char *dq;
  size_t dq_len, dq_cap;
};

struct qs_dstmt {
  qs_dconn *c;
  char name[QS_PG_NAME_SIZE];
  char *sql;
  int on_server;             /* prepared under name on the server */
  unsigned session_epoch;    /* the connection's session_epoch when prepared */
  int nparams;
  int ncols;
  char **colnames;           /* from describing the prepared statement */
  Oid *coltypes;
  Oid *paramtypes;           /* the types the server gave the parameters */
  uint32_t *given;           /* types given at prepare (text for untyped ones), or NULL */
  int ngiven;
  Oid *ptypes;               /* unnamed: given as nparams types (0: the server infers),
                             ** sent with every Parse */
  /* the current execution */
  const char **values;
  int *lengths;
  int *formats;
  char *numbuf;              /* text of numeric parameters, NUM_TEXT_SIZE bytes each */
  PGresult *res;
  int row, nrows, executed;
  int stream;                /* the next execution streams (xStream) */
  int live;                  /* streaming: rows come one result at a time (single-row mode) */
  unsigned epoch;            /* the connection's ddl_epoch when prepared */
  int wide;                  /* more parameters than libpq lets a description carry */
  qs_pg_bytes bytes;         /* decoded bytea of the current column */
};

/* libpq.c */
void qs__lpq_dq_add(qs_dconn *c, const char *name);
int qs__lpq_enter(qs_dconn *c, int op, qs_dstmt *s, qs_error *err);
int qs__lpq_fail_conn(qs_dconn *c, qs_error *err, const PGresult *res);
int qs__lpq_is_error(const PGresult *r);
int qs__lpq_leave(qs_dconn *c, int rc);
int qs__lpq_lost(qs_dconn *c, qs_error *err);
int qs__lpq_read_results(qs_dconn *c, qs_error *err);
int qs__lpq_result_ready(qs_dconn *c, int check_sent);
int qs__lpq_run_deallocs(qs_dconn *c, qs_error *err);
int qs__lpq_send_execution(qs_dstmt *s, int single_row, qs_error *err);
void qs__lpq_sent(qs_dconn *c);
PGresult *qs__lpq_take(qs_dconn *c);
void qs__lpq_xFinalize(qs_dstmt *s);
int qs__lpq_ready_stmt(qs_dstmt *s, qs_error *err);
int qs__lpq_xBind(qs_dstmt *s, int n, const qs_value *vals, qs_error *err);

/* libpq_pipeline.c */
int qs__lpq_xExecMany(qs_dstmt *s, int nsets, int nparams, const qs_value *vals, int64_t *changes,
                      qs_error *err);

/* libpq_prepare.c */
void qs__lpq_forget(qs_dstmt *s);
void qs__lpq_free_stmt(qs_dstmt *s);
int qs__lpq_prepare_steps(qs_dstmt *s, qs_error *err);
int qs__lpq_xPrepare(qs_dconn *c, const char *sql, size_t n, qs_dstmt **out, qs_error *err);

#endif
