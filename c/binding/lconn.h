/*
** lconn.h: shared by lconn.c and lexecute.c (internal to the binding): the types both
** use and the qsB_lc_ functions one calls in the other.
*/
#ifndef QS_LCONN_H
#define QS_LCONN_H

#include "lbinding.h"

/* The state's default waiter (qs.set_waiter), in the registry. */
#define REG_DEFAULT_WAITER "quicksilver.core.default_waiter"
/* The metatable of the weak tables that hold an operation's coroutine. */
#define REG_WEAK_MT "quicksilver.core.weak_values"

/* User values of a Connection. */
enum { UV_PENDING = 1, UV_WAITER = 2, UV_OWNER = 3, UV_COUNT = 3 };

/* The method whose operation waits, for resume to go on with. */
typedef enum pending_op {
  P_NONE = 0, P_CONNECT, P_EXECUTE, P_EXECMANY, P_FETCH, P_EXEC, P_BEGIN, P_COMMIT, P_ROLLBACK,
  P_SAVEPOINT, P_RELEASE, P_ROLLBACK_TO, P_TIMEOUT
} pending_op;

typedef struct lconn {
  qs_conn *c;          /* NULL while closed */
  qs_value *scratch;   /* bind values of the statement being executed */
  int scratch_cap;
  qs_pool *pool;       /* when borrowed from a pool: close gives it back */
  qs_pool_rec *rec;
  int has_waiter;      /* user value 2 holds a waiter of its own */
  pending_op pending;  /* P_NONE unless an operation waits */
  int stage;           /* execute/executemany: 0 preparing, 1 running */
  int waited;          /* the events the operation waits for */
  int nvals;           /* execute: values in scratch */
  int many_sets, many_cap;
  qs_value *many_vals; /* executemany: in the anchored userdata */
  int reading;         /* scratch holds values being read: a close keeps it, a
                       ** nested execute (from a finalizer) reads into its own */
} lconn;

/* lconn.c */
lconn *qsB_lc_check_conn(lua_State *L, int idx);
int qsB_lc_fail_conn(lua_State *L, lconn *lc);
lconn *qsB_lc_io_conn(lua_State *L, int *pushed);
lconn *qsB_lc_open_conn(lua_State *L, int idx);
int qsB_lc_wait_return(lua_State *L, lconn *lc, pending_op op, int pidx);

/* lexecute.c */
int qsB_lc_conn_execute(lua_State *L);
int qsB_lc_conn_executemany(lua_State *L);
int qsB_lc_conn_fetch(lua_State *L);
int qsB_lc_conn_set_stream(lua_State *L);
int qsB_lc_conn_streaming(lua_State *L);
int qsB_lc_execute_resume(lua_State *L, lconn *lc, int pidx);
int qsB_lc_executemany_steps(lua_State *L, lconn *lc, int pidx);
int qsB_lc_fail_err(lua_State *L, qs_error *err);
int qsB_lc_fetch_steps(lua_State *L, lconn *lc, int pidx);
qs_value *qsB_lc_scratch(lua_State *L, lconn *lc, int n);

#endif
