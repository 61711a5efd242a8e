/*
** quicksilver.h: the one public C header of the quicksilver core.
**
** The core is usable without Lua: the driver interface (one table of
** functions per database client library), the generic connection with its
** prepared-statement cache and transaction state, the connection pool, the
** SQL dialects with their literal and type rendering, textual SQL with named
** binds, and the flush's topological sort. The SQL compiler that walks the
** Lua node tables (c/compiler/) needs Lua and is not part of it. The Lua
** binding (c/binding/) is one client of this header; a C program is another
** (see c/test/).
**
** Names (after SQLite and libuv):
**   qs_<object>_<verb>  public, declared here (QS_ for macros and constants);
**   qs__<name>          internal to the Lua-free core, shared across its files
**                       (c/core, c/dialect, c/driver), declared in a header
**                       that is not installed (QS__ for macros);
**   qsB_<name>          the Lua binding's functions shared across files, every
**                       part's qsB_open_<part> included (c/binding/lbinding.h);
**   qsC_<name>          the SQL compiler's, shared across c/compiler/ (compile.h);
**   qsL_<name>          Lua 5.1/5.4 API shims (c/binding/compat.h);
**   x<Name>             function members of a vtable (qs_driver), as
**                       sqlite3_io_methods; its data members i/z/b<Name>
**                       (iVersion, zName, bLazyBegin, bClientTimeout), as SQLite's;
**   unprefixed          statics, local to one file (functions, types, macros).
** Macros and enum constants shared across files take the upper-case form of
** their layer's prefix (QS_, QS__, QSB_, QSC_); the binding's code tables are
** QSV_ (bind checks) and QSR_ (result conversions). A function shared
** across files is declared once, in its layer's header, never re-declared
** where it is used.
** Fallible functions return an int from QS_ERRNO_MAP; the message, SQLSTATE
** and driver code of a failure live on the object that failed
** (qs_conn_error()), as sqlite3_errmsg() does.
*/
#ifndef QUICKSILVER_H
#define QUICKSILVER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define QS_VERSION "0.1.0"

/*
** Result codes. Non-negative codes are successes; negative codes are error
** families, each mirroring one class of the Lua qs.exc hierarchy (the third
** column), so the binding never needs a second table to translate them.
*/
#define QS_ERRNO_MAP(X)                                        \
  X(OK,            0, NULL)                                    \
  X(ROW,           1, NULL)                                    \
  X(DONE,          2, NULL)                                    \
  X(WAIT,           3, NULL)                                    \
  X(ARGUMENT,     -1, "ArgumentError")                         \
  X(MISUSE,       -2, "InvalidRequestError")                   \
  X(NOMEM,        -3, "InternalError")                         \
  X(CLOSED,       -4, "ResourceClosedError")                   \
  X(COMPILE,      -5, "CompileError")                          \
  X(TIMEOUT,      -6, "TimeoutError")                          \
  X(INTEGRITY,    -7, "IntegrityError")                        \
  X(OPERATIONAL,  -8, "OperationalError")                      \
  X(PROGRAMMING,  -9, "ProgrammingError")                      \
  X(DATA,        -10, "DataError")                             \
  X(INTERFACE,   -11, "InterfaceError")                        \
  X(INTERNAL,    -12, "InternalError")                         \
  X(NOTSUPPORTED,-13, "NotSupportedError")

enum {
#define QS_ENUM_(name, value, cls) QS_##name = value,
  QS_ERRNO_MAP(QS_ENUM_)
#undef QS_ENUM_
  QS__ERRNO_LAST_ = 0
};

/* The family of a SQLSTATE (n characters of state, NULL for none) by its class. */
int qs_sqlstate_family(const char *state, size_t n);
/* The symbolic name of a code ("INTEGRITY") and its qs.exc class name. */
const char *qs_code_name(int code);
const char *qs_code_class(int code);

/*
** Error information. Owned by the object that failed; valid until that
** object's next call. message is never NULL after a failure.
*/
typedef struct qs_error {
  int code;              /* QS_* family of the failure, QS_OK when none */
  int driver_code;       /* native code (SQLite extended result code, errno) */
  char sqlstate[6];      /* five-character SQLSTATE, or "" */
  char *message;         /* malloc'd, NUL-terminated */
  char *constraint;      /* malloc'd constraint name when known, else NULL */
  int invalidated;       /* nonzero: the connection is unusable from now on */
} qs_error;

/*
** A failure after which the server has rolled the whole transaction back
** over a conflict with a concurrent one, so that running the transaction
** again may succeed: SQLSTATE 40001 (PostgreSQL's serialization_failure;
** MySQL/MariaDB's 1213 deadlock, which a Galera certification failure also
** reports) and 40P01 (PostgreSQL's deadlock_detected), on a connection that
** is still usable. Its family stays QS_OPERATIONAL; its qs.exc class is
** QS_RETRY_CLASS, a subclass of OperationalError. qs_error_class: the qs.exc
** class an error raises (that one, else its family's).
*/
#define QS_RETRY_CLASS "TransactionRollbackError"
int qs_error_retryable(const qs_error *err);
const char *qs_error_class(const qs_error *err);

void qs_error_clear(qs_error *err);
/* Sets code and a printf-formatted message; keeps driver fields as given. */
int qs_error_set(qs_error *err, int code, const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 3, 4)))
#endif
    ;
void qs_error_move(qs_error *dst, qs_error *src);

/* MySQL/MariaDB error numbers (server and libmariadb client ones): the
** family, whether the connection is gone, and the error both MySQL drivers
** report (message "(<e>) <msg>", driver_code, sqlstate, invalidated, the
** constraint of a duplicate key). Returns the family. */
int qs_mysql_error_family(unsigned e, const char *state);
int qs_mysql_error_disconnect(unsigned e);
int qs_mysql_error_set(qs_error *err, unsigned e, const char *state, const char *msg);

/* A growable byte buffer (SQL text, rendered literals). */
typedef struct qs_buf {
  char *p;               /* bytes, always NUL-terminated when len > 0 */
  size_t len;            /* bytes used, excluding the terminator */
  size_t cap;            /* bytes allocated */
  int failed;            /* an allocation failed: every later append is a no-op */
} qs_buf;

void qs_buf_init(qs_buf *b);
void qs_buf_free(qs_buf *b);
void qs_buf_reset(qs_buf *b);
int qs_buf_append(qs_buf *b, const char *s, size_t n);
/* Room for extra more bytes at p + len (a reader fills them, then raises len). */
int qs_buf_reserve(qs_buf *b, size_t extra);
int qs_buf_puts(qs_buf *b, const char *s);
int qs_buf_putc(qs_buf *b, char c);
int qs_buf_printf(qs_buf *b, const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Values crossing the driver interface. Text and blobs are borrowed. */
typedef enum qs_type {
  QS_TNULL = 0, QS_TINT, QS_TFLOAT, QS_TTEXT, QS_TBLOB,
  QS_TBOOL            /* u.i is 0 or 1; drivers without booleans store an integer */
} qs_type;

typedef struct qs_value {
  qs_type type;
  union {
    int64_t i;
    double f;
    struct { const char *p; size_t n; } s;   /* QS_TTEXT, QS_TBLOB */
  } u;
} qs_value;

/*
** The driver interface: one static table per client library. Members start
** with x, as SQLite's sqlite3_io_methods. A driver reports failures through
** the qs_error it is given, with code set to the family and driver_code to
** its native code. Drivers built as separate Lua modules hand a pointer to
** their table to the core through the Lua registry, so iVersion guards
** against a table of another layout.
**
** Operations as steps (psycopg 3's generators, OpenSSL's WANT_READ): every
** member marked "may wait" talks to the server without blocking. When it
** cannot go on until the socket is ready it returns QS_WAIT, keeping its
** progress in the driver connection; xWait tells what it waits for. The
** caller waits (poll(), or a coroutine scheduler), tells the driver what
** happened with xReady, and calls the same member again with the same
** arguments: it continues where it stopped (arguments after the first are
** read at the first call only; values given to xBind stay where they are
** until the statement's operation ends). One operation is in progress per
** connection at a time: until it ends, the caller calls no other member
** that may wait, nor xBind/xReset/xFinalize of its statement; xClose (which
** abandons it) and xCancel may be called meanwhile. No member blocks on the
** network, save xCancel when not detached: the core's blocking mode is the
** same steps driven by poll() (c/core/conn.c). xFinalize and xClose never
** wait for a reply (a statement's server-side cleanup is queued and sent
** with the connection's next operation). SQLite's driver never waits.
*/
typedef struct qs_dconn qs_dconn;   /* a driver's connection, opaque */
typedef struct qs_dstmt qs_dstmt;   /* a driver's prepared statement, opaque */

#define QS_DRIVER_VERSION 6
/* The registry key driver modules register under; it changes with the
** table's layout, so a driver built for another layout is never found. */
#define QS_DRIVER_REGISTRY "quicksilver.drivers.v6"

/* What an operation waits for (xWait, qs_conn_wait) and what a wait saw
** (xReady, qs_conn_ready): bits. */
#define QS_WAIT_READ    1
#define QS_WAIT_WRITE   2
#define QS_WAIT_TIMEOUT 4   /* the wait's time ran out (xReady, qs_conn_ready only) */
#define QS_WAIT_TLS     8   /* an external transport must become TLS now (below) */

typedef struct qs_driver {
  int iVersion;                       /* QS_DRIVER_VERSION */
  const char *zName;                  /* "sqlite", "postgresql", "mysql" */
  int bLazyBegin;                     /* may defer BEGIN until the first write */
  int bClientTimeout;                 /* the core enforces xSetTimeout's limit itself (a
                                      ** deadline, then xCancel); 0: the server or the
                                      ** driver stops a statement over it */
  /* Makes *out and starts connecting; never waits. On failure *out may be
  ** set all the same (xClose it). */
  int (*xOpen)(int nopt, const char *const *keys, const char *const *vals,
               qs_dconn **out, qs_error *err);
  int (*xConnect)(qs_dconn *c, qs_error *err);     /* may wait; QS_OK once connected */
  void (*xClose)(qs_dconn *c);
  /* The operation in progress: its socket, what it waits for (QS_WAIT_READ
  ** | QS_WAIT_WRITE) as the return value, and a time limit of the driver's
  ** own in milliseconds (a connect timeout; -1: none). */
  int (*xWait)(qs_dconn *c, int *fd, int *timeout_ms);
  void (*xReady)(qs_dconn *c, int events);         /* what the wait saw (QS_WAIT_* bits) */
  int (*xPrepare)(qs_dconn *c, const char *sql, size_t n, qs_dstmt **out,
                  qs_error *err);                  /* may wait */
  int (*xParamCount)(qs_dstmt *s);
  int (*xBind)(qs_dstmt *s, int n, const qs_value *vals, qs_error *err);
  /* QS_ROW, QS_DONE or error; the first step runs the statement and may
  ** wait, later ones read rows the driver holds and never do (save for a
  ** streamed execution: see xStream) */
  int (*xStep)(qs_dstmt *s, qs_error *err);
  int (*xColumnCount)(qs_dstmt *s);
  const char *(*xColumnName)(qs_dstmt *s, int i);  /* 0-based */
  void (*xColumn)(qs_dstmt *s, int i, qs_value *out); /* valid until next step */
  int (*xReadonly)(qs_dstmt *s);      /* nonzero: the statement writes nothing */
  void (*xReset)(qs_dstmt *s);        /* ready to bind and step again; never waits */
  void (*xFinalize)(qs_dstmt *s);     /* never waits */
  int64_t (*xChanges)(qs_dconn *c);   /* rows changed by the last statement */
  int64_t (*xLastInsertId)(qs_dconn *c);
  int (*xExec)(qs_dconn *c, const char *sql, qs_error *err); /* no parameters; may wait */
  int (*xInTransaction)(qs_dconn *c); /* nonzero: the server has one open */
  /* Optional (NULL when absent): */
  /* Runs s once per parameter set (nsets x nparams values, row-major) as one
  ** batch (PostgreSQL's pipeline mode); *changes gets the rows changed. May
  ** wait; the values stay where they are until it ends. */
  int (*xExecMany)(qs_dstmt *s, int nsets, int nparams, const qs_value *vals,
                   int64_t *changes, qs_error *err);
  const char *(*xNotice)(qs_dconn *c, int i);  /* server notices kept, 0-based */
  void (*xClearNotices)(qs_dconn *c);
  /* Statements that run longer than ms milliseconds (0: no limit) are
  ** stopped and fail with QS_OPERATIONAL; the connection stays usable.
  ** May wait (a driver that tells the server). */
  int (*xSetTimeout)(qs_dconn *c, int ms, qs_error *err);
  /* Asks the server to stop the statement running on c. Callable from any
  ** thread while another one executes on c; QS_OK when the request was sent
  ** (the statement may still finish first). detached: return at once and
  ** send it from elsewhere (a thread holding copies of what it needs), so
  ** that a coroutine scheduler's thread never waits for it. */
  int (*xCancel)(qs_dconn *c, int detached, qs_error *err);
  /* An external transport (the wire drivers' option transport=external:
  ** an OpenResty cosocket): the driver owns no socket and xWait reports fd
  ** -1. While an operation waits, the caller sends the bytes xOutput shows
  ** (and says how many went with xOutputDone), hands what it received to
  ** xInput (n 0: the peer closed), upgrades the transport to TLS when the
  ** wait says QS_WAIT_TLS, then calls xReady and the operation again as
  ** usual. NULL for drivers without one. */
  size_t (*xOutput)(qs_dconn *c, const char **p);
  void (*xOutputDone)(qs_dconn *c, size_t n);
  int (*xInput)(qs_dconn *c, const char *p, size_t n, qs_error *err);
  /* The next execution of s streams its rows (stream_results / yield_per):
  ** the driver holds a bounded batch instead of the whole result, so every
  ** xStep may wait. While rows are left the connection is the statement's:
  ** the caller calls no other member that may wait (the core refuses).
  ** xReset or xFinalize mid-stream never wait: the rest of the result is
  ** read and discarded by the connection's next operation, before anything
  ** of its own (no cancel: it would abort the transaction the rows were
  ** read in). xReset ends the streaming. Returns nonzero when the driver
  ** streams (NULL, or 0: the result is buffered as usual). */
  int (*xStream)(qs_dstmt *s, int on);
} qs_driver;

/* The SQLite driver, always built into the core. */
extern const qs_driver qs_sqlite3_driver;
/* The PostgreSQL wire driver ("pgwire", c/driver/wire_pg.c): no client
** library, built into the core; its own socket or an external transport. */
extern const qs_driver qs_pgwire_driver;
/* The server drivers, linked only into their own modules (and programs
** built with them): c/driver/libpq.c and c/driver/mariadb.c. */
extern const qs_driver qs_libpq_driver;
extern const qs_driver qs_mariadb_driver;
/* The MySQL/MariaDB wire driver ("mywire"), built into the core: the
** protocol spoken by the core itself (c/driver/wire_my.c), over its own
** socket or a transport the caller owns (an OpenResty cosocket). */
extern const qs_driver qs_wire_my_driver;

/*
** Connections. A qs_conn wraps a driver connection with a bounded cache of
** prepared statements (keyed by SQL text) and the transaction state.
*/
typedef struct qs_conn qs_conn;
typedef struct qs_stmt qs_stmt;

/* How a logical BEGIN reaches the database. */
typedef enum qs_begin_mode {
  QS_BEGIN_EAGER = 0,    /* BEGIN is sent when the transaction begins */
  QS_BEGIN_LAZY = 1,     /* sent before the first statement */
  QS_BEGIN_WRITE = 2     /* sent before the first statement that writes */
} qs_begin_mode;

int qs_conn_open(const qs_driver *drv, int nopt, const char *const *keys,
                 const char *const *vals, qs_conn **out, qs_error *err);
/* The same in two parts, for a caller that must not block: qs_conn_start
** makes the connection and starts connecting (never waits; on failure *out
** is NULL), qs_conn_connect completes it (see "Waiting" below). */
int qs_conn_start(const qs_driver *drv, int nopt, const char *const *keys,
                  const char *const *vals, qs_conn **out, qs_error *err);
int qs_conn_connect(qs_conn *c);
/* Finalizes every statement, closes the driver connection. Idempotent. */
void qs_conn_close(qs_conn *c);
/* Closes if needed and frees. Statements still held are detached first. */
void qs_conn_free(qs_conn *c);
/* Ends every statement still open on c; their handles are detached (their
** next step fails with QS_CLOSED). Done by the pool at checkin. */
void qs_conn_end_statements(qs_conn *c);
int qs_conn_is_open(const qs_conn *c);
const qs_error *qs_conn_error(const qs_conn *c);
const qs_driver *qs_conn_driver(const qs_conn *c);
void qs_conn_set_cache_size(qs_conn *c, int n);
void qs_conn_cache_stats(const qs_conn *c, int64_t *hits, int64_t *misses,
                         int *size);
/* BEGIN text (e.g. "BEGIN IMMEDIATE") and when it is sent. */
int qs_conn_set_begin(qs_conn *c, const char *begin_sql, qs_begin_mode mode);

/* Transactions. Savepoint names are identifiers chosen by the caller's
** layer (sp_1, sp_2, ...), never user data; they are checked anyway. */
int qs_conn_begin(qs_conn *c);
int qs_conn_commit(qs_conn *c);
int qs_conn_rollback(qs_conn *c);
int qs_conn_savepoint(qs_conn *c, const char *name);
int qs_conn_release(qs_conn *c, const char *name);
int qs_conn_rollback_to(qs_conn *c, const char *name);
/* Where a connection's transaction is (the Lua Connection's txn_state()
** returns the same numbers). */
typedef enum qs_txn_state {
  QS_TXN_NONE = 0,       /* no transaction */
  QS_TXN_BEGUN = 1,      /* begun, BEGIN deferred (not yet sent) */
  QS_TXN_SENT = 2        /* BEGIN sent: the database holds a transaction */
} qs_txn_state;
qs_txn_state qs_conn_txn_state(const qs_conn *c);
int qs_conn_exec(qs_conn *c, const char *sql);
int64_t qs_conn_changes(qs_conn *c);
/* The i-th notice the server sent (0-based), or NULL; and forgetting them. */
const char *qs_conn_notice(qs_conn *c, int i);
void qs_conn_clear_notices(qs_conn *c);
int64_t qs_conn_last_insert_id(qs_conn *c);
/* A time limit for each statement from now on, in milliseconds (0: none);
** a statement over it fails with QS_OPERATIONAL and the connection stays
** usable (the transaction, as after any failed statement, may need a
** rollback). QS_NOTSUPPORTED when the driver cannot limit time. */
int qs_conn_set_timeout(qs_conn *c, int ms);
int qs_conn_timeout(const qs_conn *c);
/* Stops the statement running on c, from another thread (or a signal
** handler's deferred work). The only qs_conn function that may be called
** while another thread is inside one; c must stay open meanwhile. */
int qs_conn_cancel(qs_conn *c, qs_error *err);

/*
** Waiting. A connection is blocking by default: every function returns when
** its work is done, the core waiting on the socket with poll() (and
** enforcing the statement timeout meanwhile). In non-blocking mode the
** functions that talk to the server (qs_conn_connect, qs_conn_prepare,
** qs_stmt_step's first step, qs_stmt_execmany, qs_conn_exec, begin, commit,
** rollback, the savepoint functions and qs_conn_set_timeout) return QS_WAIT
** instead of waiting: the caller waits for qs_conn_wait's events on its
** socket (a coroutine scheduler), reports with qs_conn_ready, then calls the
** same function with the same arguments again, until it returns something
** else. Meanwhile the connection is busy: any other such function fails
** with QS_MISUSE, and a connection given back to its pool busy is closed,
** never reused. SQLite connections never return QS_WAIT.
*/
void qs_conn_set_nonblocking(qs_conn *c, int on);
int qs_conn_nonblocking(const qs_conn *c);
/* Nonzero while an operation has returned QS_WAIT and not yet ended. */
int qs_conn_busy(const qs_conn *c);
/* What the busy operation waits for: QS_WAIT_READ/QS_WAIT_WRITE bits (0 when
** nothing), its socket in *fd and in *timeout the seconds left before its
** deadline (statement timeout or the driver's own; < 0: none). */
int qs_conn_wait(const qs_conn *c, int *fd, double *timeout);
/* A connection over an external transport (its driver's xOutput; opened
** with transport=external): it works in non-blocking mode only, its wait
** reports fd -1, and the caller moves the bytes with these between the
** QS_WAITs (see xOutput in the driver table). qs_conn_output: the bytes to
** send now (0: none); qs_conn_output_done: n of them went; qs_conn_input:
** bytes received (n 0: the peer closed). A connection that is not
** external: 0 and QS_MISUSE. */
size_t qs_conn_output(qs_conn *c, const char **p);
void qs_conn_output_done(qs_conn *c, size_t n);
int qs_conn_input(qs_conn *c, const char *p, size_t n);
/* What the wait saw (QS_WAIT_* bits; QS_WAIT_TIMEOUT when its time ran
** out). Past a statement's deadline the cancel is sent (detached in
** non-blocking mode) and a grace period begins; past that, the connection
** is given up: an error with invalidated set, and the connection closed.
** QS_OK: call the function again. */
int qs_conn_ready(qs_conn *c, int events);

/* Monotonic seconds (timeouts, pool ages). */
double qs_clock(void);

/*
** Statements. qs_conn_prepare takes a statement from the cache or prepares
** one; qs_stmt_release gives it back (reset, bindings cleared). A statement
** whose connection was closed is detached: every call fails with QS_CLOSED
** and qs_stmt_release only frees the handle.
*/
int qs_conn_prepare(qs_conn *c, const char *sql, size_t n, qs_stmt **out);
int qs_stmt_param_count(qs_stmt *s);
int qs_stmt_bind(qs_stmt *s, int n, const qs_value *vals);
int qs_stmt_step(qs_stmt *s);
int qs_stmt_column_count(qs_stmt *s);
const char *qs_stmt_column_name(qs_stmt *s, int i);
void qs_stmt_column(qs_stmt *s, int i, qs_value *out);
/* Ready to be bound and stepped again from the first row. */
int qs_stmt_reset(qs_stmt *s);
/* Nonzero when the statement writes nothing (a plain SELECT). */
int qs_stmt_readonly(qs_stmt *s);
qs_conn *qs_stmt_conn(qs_stmt *s);
/* The next statement qs_conn_prepare hands out streams its rows (the
** driver's xStream): taken by that statement, or cleared with on 0. While a
** streamed statement has rows left, every other operation on the
** connection is refused with QS_MISUSE; releasing (or resetting) the
** statement ends that, the driver discarding the rest with the next
** operation. */
void qs_conn_set_stream(qs_conn *c, int on);
/* Nonzero while a streamed statement of c has rows left to read. */
int qs_conn_streaming(const qs_conn *c);
/* Runs s once per parameter set (nsets x nparams values, row-major): in one
** batch where the driver can, else bound and stepped per set (rows a
** statement returns are discarded). *changes gets the rows changed. */
int qs_stmt_execmany(qs_stmt *s, int nsets, int nparams, const qs_value *vals, int64_t *changes);
void qs_stmt_release(qs_stmt *s);

/*
** Connection pools (pool.c), thread-safe: see the file's header.
*/
typedef struct qs_pool qs_pool;
typedef struct qs_pool_rec qs_pool_rec;

typedef struct qs_pool_conf {
  int size;              /* connections kept idle for reuse */
  int overflow;          /* more that may be open at once, closed at checkin */
  double timeout;        /* seconds a checkout waits when all are out */
  double recycle;        /* replace connections older than this; < 0: never */
  int lifo;              /* hand out the most recently returned first */
  int pre_ping;          /* "SELECT 1" before handing out an idle one */
  int reset_on_return;   /* roll back what a borrower left open */
  const char *setup;     /* what the caller's per-connection setup depends on
                         ** (copied; NULL: nothing): shared pools compare it */
} qs_pool_conf;

/* Fills conf with the defaults (SQLAlchemy's QueuePool: size 5, overflow 10,
** timeout 30, recycle never, FIFO, no pre-ping, reset on return); the one
** place they are written. */
void qs_pool_conf_defaults(qs_pool_conf *conf);

typedef struct qs_pool_stats {
  int64_t connects, checkouts, timeouts, invalidated, recycled;
} qs_pool_stats;

typedef struct qs_pool_status_t {
  int size, overflow, open, idle, checked_out, waiting;
  qs_pool_stats stats;
} qs_pool_status_t;

qs_pool *qs_pool_new(const qs_driver *drv, int nopt, const char *const *keys,
                     const char *const *vals, const qs_pool_conf *conf, qs_error *err);
/* The process-wide pool called name: created by the first caller, attached
** to (one more reference) by later callers whose driver, options (as a set)
** and conf are the same; any difference fails with QS_ARGUMENT naming it. */
qs_pool *qs_pool_shared(const char *name, const qs_driver *drv, int nopt, const char *const *keys,
                        const char *const *vals, const qs_pool_conf *conf, qs_error *err);
void qs_pool_retain(qs_pool *p);
void qs_pool_release(qs_pool *p);
int qs_pool_checkout(qs_pool *p, double timeout, qs_pool_rec **out, int *fresh, qs_error *err);
void qs_pool_checkin(qs_pool *p, qs_pool_rec *r);
void qs_pool_invalidate(qs_pool *p, qs_pool_rec *r);
void qs_pool_dispose(qs_pool *p);
void qs_pool_status(qs_pool *p, qs_pool_status_t *st);
/*
** Checkout without blocking, for coroutine schedulers: never waits for a
** connection and never talks to the server. QS_OK: *out is the caller's,
** *todo says what it must do before using it: 0 nothing; QS_POOL_CONNECT a
** new connection (in non-blocking mode) to complete with qs_conn_connect;
** QS_POOL_PING an idle one to ping first (pre_ping: qs_conn_exec "SELECT
** 1"). When that fails, qs_pool_discard(p, *out) and check out again.
** QS_WAIT: the pool is exhausted, or others wait already (first come, first
** served): *ticket is the caller's place in the queue. Wait for
** qs_pool_ticket_fd to be readable, then qs_pool_ticket_take; give up with
** qs_pool_ticket_cancel. Errors come back in err.
*/
typedef struct qs_pool_ticket qs_pool_ticket;
#define QS_POOL_CONNECT 1
#define QS_POOL_PING    2
int qs_pool_checkout_nb(qs_pool *p, qs_pool_rec **out, int *todo, qs_pool_ticket **ticket,
                        qs_error *err);
int qs_pool_ticket_fd(const qs_pool_ticket *t);
/* QS_OK with *out and *todo as above when a connection, or room to open
** one, was handed to t; QS_WAIT when nothing was yet. On anything but
** QS_WAIT (errors included) t is freed. */
int qs_pool_ticket_take(qs_pool *p, qs_pool_ticket *t, qs_pool_rec **out, int *todo,
                        qs_error *err);
/* Leaves the queue; what was handed to t goes to the next in line. Frees t. */
void qs_pool_ticket_cancel(qs_pool *p, qs_pool_ticket *t);
/* A record whose connect or ping failed: closed, its place freed. */
void qs_pool_discard(qs_pool *p, qs_pool_rec *r);
qs_conn *qs_pool_rec_conn(qs_pool_rec *r);
double qs_pool_rec_age(qs_pool_rec *r);

/*
** Dialects: the SQL flavour of one database, as an object (SQLAlchemy's
** DefaultDialect): what the database can do, as capability flags and values
** that code above asks instead of the dialect's name, and how it is spelled,
** as spelling values and render hooks (the x... members) that the compiler
** calls where the databases differ. One file per database in c/dialect/;
** shared default hooks in c/dialect/common.c; adding a dialect = adding a
** file and its line in dialect.c's list. Nothing here knows Lua: every hook
** is tested in C (c/test/test_dialect.c).
*/
typedef enum qs_paramstyle {
  QS_PARAM_QMARK = 0,    /* ?   (SQLite, MySQL) */
  QS_PARAM_DOLLAR = 1    /* $1  (PostgreSQL): numbered, one may stand twice */
} qs_paramstyle;

/* Capability flags: X(FLAG, lua_name, what it says). Exported to Lua as
** booleans named lua_name (core.dialect_caps). */
#define QS_DIALECT_CAPS(X)                                                            \
  X(INSERT_RETURNING, insert_returning, "INSERT ... RETURNING")                       \
  X(UPDATE_RETURNING, update_returning, "UPDATE ... RETURNING")                       \
  X(DELETE_RETURNING, delete_returning, "DELETE ... RETURNING")                       \
  X(INSERT_MANY_RETURNING, insert_many_returning, "multi-row INSERT ... RETURNING")   \
  X(FULL_JOIN, full_join, "FULL OUTER JOIN")                                          \
  X(DML_CTE, dml_cte, "WITH before INSERT, UPDATE or DELETE")                         \
  X(DISTINCT_ON, distinct_on, "SELECT DISTINCT ON (...)")                             \
  X(FOR_UPDATE, for_update, "SELECT ... FOR UPDATE (left out where absent)")           \
  X(NATIVE_BOOLEAN, native_boolean, "TRUE and FALSE rather than 1 and 0")             \
  X(TRANSACTIONAL_DDL, transactional_ddl, "DDL inside a transaction rolls back")      \
  X(ALTER_TABLE, alter_table, "ALTER COLUMN and ADD/DROP CONSTRAINT")                 \
  X(COMMENT_ON, comment_on, "COMMENT ON TABLE/COLUMN statements")                     \
  X(INLINE_COMMENTS, inline_comments, "COMMENT clauses inside CREATE TABLE")          \
  X(FK_IMPLICIT_INDEX, fk_implicit_index, "the server indexes every foreign key")     \
  X(PARTIAL_INDEX, partial_index, "CREATE INDEX ... WHERE")                           \
  X(NATIVE_ENUM, native_enum, "an ENUM('a', 'b') column type")                        \
  X(INTERSECT_EXCEPT, intersect_except, "INTERSECT and EXCEPT besides UNION")         \
  X(ON_CONFLICT_CONSTRAINT, on_conflict_constraint, "ON CONFLICT ON CONSTRAINT name")   \
  X(AGGREGATE_FILTER, aggregate_filter,                                                \
    "an aggregate's FILTER (WHERE ...) (else emulated: f(CASE WHEN cond THEN x END))") \
  X(WITHIN_GROUP, within_group, "ordered-set aggregates: f(...) WITHIN GROUP (ORDER BY ...)") \
  X(WITHIN_GROUP_WINDOW, within_group_window,                                          \
    "WITHIN GROUP only in a window function (with OVER)")                             \
  X(ALTER_COLUMN_RESTATES, alter_column_restates,                                      \
    "a column change restates the whole column (MODIFY COLUMN), dropping what it omits") \
  X(MULTIROW_INSERT_ORDERED, multirow_insert_ordered,                                  \
    "a multi-row INSERT hands out new auto-increment keys in VALUES order")              \
  X(FETCH_FIRST, fetch_first, "FETCH FIRST n ROWS ONLY / WITH TIES (and OFFSET n ROWS)") \
  X(LATERAL, lateral, "JOIN LATERAL (subquery)")                                       \
  X(TABLESAMPLE, tablesample, "FROM t TABLESAMPLE method(n) REPEATABLE (seed)")        \
  X(TABLE_VALUED, table_valued, "a function's rows as a FROM element (json_each(x) AS a)") \
  X(ARRAY, array, "ARRAY column types (T[]), subscripts, ARRAY[...] and ANY/ALL over an array") \
  X(QUANTIFIED_SUBQUERY, quantified_subquery, "x = ANY (SELECT ...) / x > ALL (SELECT ...)") \
  X(EXPRESSION_INDEX, expression_index, "CREATE INDEX on expressions (functional indexes)") \
  X(SEQUENCES, sequences, "CREATE SEQUENCE and a sequence's next value")               \
  X(IDENTITY_COLUMNS, identity_columns, "GENERATED ... AS IDENTITY columns")            \
  X(COMPUTED_VIRTUAL, computed_virtual, "VIRTUAL generated columns besides STORED ones") \
  X(ENUM_TYPES, enum_types, "named enum types made by CREATE TYPE ... AS ENUM")

enum {
#define QS_CAPBIT_(flag, name, what) QS_CAPBIT_##flag,
  QS_DIALECT_CAPS(QS_CAPBIT_)
#undef QS_CAPBIT_
  QS_CAPBIT_LAST_
};
/* 64 flags at most (the field is 64 bits wide) */
_Static_assert(QS_CAPBIT_LAST_ <= 64, "more dialect capabilities than qs_dialect.caps holds");
#define QS_CAP(flag) ((uint64_t)1 << QS_CAPBIT_##flag)

/* How an INSERT that meets an existing key is spelled. */
typedef enum qs_upsert_form {
  QS_UPSERT_ON_CONFLICT = 0,       /* ON CONFLICT (...) DO UPDATE / NOTHING */
  QS_UPSERT_ON_DUPLICATE_KEY = 1   /* ON DUPLICATE KEY UPDATE; VALUES(col) reads the row */
} qs_upsert_form;

/* How an UPDATE or DELETE names the other tables its WHERE refers to. */
typedef enum qs_dml_froms {
  QS_DML_FROMS_NONE = 0,           /* refused: use a subquery */
  QS_DML_FROMS_CLAUSE = 1,         /* UPDATE t SET ... FROM o / DELETE FROM t USING o */
  QS_DML_FROMS_MULTI_TABLE = 2     /* UPDATE t, o SET t.c = ... / DELETE FROM t USING t, o */
} qs_dml_froms;

/* Spelling flags: forms that differ without being a capability. */
#define QS_FORM_DEFAULT_EXPR_PARENS   (1u << 0)   /* DEFAULT (expr) for a function default */
#define QS_FORM_COMPOUND_SUBQUERY     (1u << 1)   /* a compound member with its own ORDER BY /
                                                     LIMIT becomes SELECT * FROM (...), not (...) */
#define QS_FORM_DROP_CONSTRAINT_BY_KIND (1u << 2) /* DROP FOREIGN KEY / DROP INDEX, not DROP CONSTRAINT */
#define QS_FORM_DROP_INDEX_ON_TABLE   (1u << 3)   /* DROP INDEX i ON t (no schema before i) */
#define QS_FORM_INDEX_PREFIX_LENGTHS  (1u << 4)   /* CREATE INDEX ... (col(10)) */
/* How quoted text is lexed, for qs_compile_text's bind scanning: */
#define QS_FORM_BACKSLASH_ESCAPES     (1u << 5)   /* a backslash escapes the next character in
                                                     '...' and "..." (MySQL's default, unless
                                                     sql_mode has NO_BACKSLASH_ESCAPES) */
#define QS_FORM_DOLLAR_QUOTES         (1u << 6)   /* $$ ... $$ and $tag$ ... $tag$ (PostgreSQL) */
#define QS_FORM_ESCAPE_STRINGS        (1u << 7)   /* E'...' with backslash escapes (PostgreSQL) */
/* How values(...) as a FROM is written (neither: SELECT ... UNION ALL SELECT ...): */
#define QS_FORM_VALUES_COLUMN_LIST    (1u << 8)   /* (VALUES (..), (..)) AS v (a, b) */
#define QS_FORM_VALUES_NUMBERED       (1u << 9)   /* VALUES names its columns column1, column2, ..
                                                     (SQLite): SELECT column1 AS a, .. FROM (VALUES ..) */
#define QS_FORM_HASH_COMMENTS         (1u << 10)   /* # starts a comment to the end of the line
                                                     (MySQL): op() refuses an operator holding # */
#define QS_FORM_TUPLE_IN_VALUES       (1u << 11)   /* (a, b) IN (VALUES (?, ?), ...): row values
                                                     in IN written as a VALUES list (SQLite) */
/* How CREATE INDEX writes a key part that is an expression rather than a column: */
#define QS_FORM_INDEX_EXPR_PARENS     (1u << 12)   /* an operator expression in parentheses */
#define QS_FORM_INDEX_FUNC_PARENS     (1u << 13)   /* a function call in parentheses too (MySQL) */
#define QS_FORM_REFERENCES_UNQUALIFIED (1u << 14) /* REFERENCES t, not s.t, when s is the referring
                                                     table's own schema (SQLite takes none there) */
#define QS_FORM_NEXT_VALUE_FOR        (1u << 15)   /* NEXT VALUE FOR s, not nextval('s') */

/* Where a piece a hook asks the compiler for stands (qs_parts). */
typedef enum qs_place {
  QS_PLACE_ALONE = 0,      /* inside parentheses or after a keyword: never parenthesized */
  QS_PLACE_OPERAND = 1,    /* next to the operator the hook wrote: parenthesized by
                              precedence, and a parameter typed by the other operand */
  QS_PLACE_TIGHT = 2       /* next to an operator, parenthesized by precedence only */
} qs_place;

/* The pieces a hook can ask for. */
typedef enum qs_part {
  QS_PART_LEFT = 0, QS_PART_RIGHT,       /* an operator's operands */
  QS_PART_ELEMENT,                       /* what a CAST converts */
  QS_PART_TYPE,                          /* the CAST's target as a DDL type name */
  QS_PART_LIMIT, QS_PART_OFFSET,         /* LIMIT / OFFSET expressions */
  QS_PART_OF,                            /* FOR UPDATE OF's names, comma-separated */
  QS_PART_JSON_PATH,                     /* a JSON path parameter ($."a"[2]) */
  QS_PART_JSON_KEY,                      /* a JSON key, index or text[] path parameter */
  QS_PART_JSON_PATH_SQLITE,              /* the path as the SQLite linked reads it (a key
                                            holding '"' unquoted before 3.45) */
  QS_PART_REPLACEMENT,                   /* regexp_replace's replacement */
  QS_PART_FLAGS                          /* regexp flags as a string literal */
} qs_part;

/* The compiler's side of a hook that must have a sub-expression rendered in
** its middle: render(ud, part, place) appends that piece to the buffer the
** hook writes into. A hook must not hold a pointer into that buffer across
** the call (it may grow), nor any resource: the compiler's errors unwind
** through the hook (a Lua error), so a hook owns nothing while it calls. */
typedef struct qs_parts {
  void (*render)(void *ud, qs_part part, qs_place place);
  void *ud;
} qs_parts;

/* A type as the hooks see it. */
typedef struct qs_type_desc {
  const char *kind;          /* "INTEGER", "VARCHAR", ... (SQLAlchemy's type kinds) */
  long length, precision, scale;   /* -1 when not given */
  int timezone;              /* DATETIME WITH TIME ZONE */
} qs_type_desc;

/* The operators whose spelling differs between the dialects (xOperator). */
typedef enum qs_dialect_op {
  QS_DOP_ILIKE = 0, QS_DOP_NOT_ILIKE,
  QS_DOP_CONCAT,             /* string concatenation */
  QS_DOP_TRUEDIV_INT,        /* true division of two integers (SQLAlchemy 2.0 "/") */
  QS_DOP_FLOORDIV_INT,       /* floor division of two integers ("//") */
  /* PostgreSQL's ARRAY / JSONB operators; a dialect without them returns
  ** QS_MISUSE and the compiler names the operator in a CompileError */
  QS_DOP_CONTAINS,           /* left contains right (@>) */
  QS_DOP_CONTAINED_BY,       /* left is contained by right (<@) */
  QS_DOP_OVERLAP,            /* the arrays share an element (&&) */
  QS_DOP_HAS_KEY,            /* a JSONB document has the key (?) */
  QS_DOP_HAS_ANY,            /* ... any of the keys of a text[] (?|) */
  QS_DOP_HAS_ALL,            /* ... all of them (?&) */
  QS_DOP_PATH_EXISTS,        /* a JSONB document has an item at a jsonpath (@?) */
  QS_DOP_PATH_MATCH,         /* a jsonpath predicate holds for a JSONB document (@@) */
  QS_DOP_IS_DISTINCT_FROM,   /* a IS DISTINCT FROM b: NULLs compare as values */
  QS_DOP_IS_NOT_DISTINCT_FROM
} qs_dialect_op;

/* A regular expression match or replacement (regexp_match, regexp_replace):
** QS_PART_LEFT the string, QS_PART_RIGHT the pattern, QS_PART_REPLACEMENT
** the replacement, QS_PART_FLAGS the flags (only when flags is not NULL). */
typedef struct qs_regexp_desc {
  int negate;                /* NOT REGEXP / !~ */
  int replace;               /* regexp_replace rather than a match */
  const char *flags;         /* NULL, or letters ("i", "g", ...) */
} qs_regexp_desc;

/* A row lock's options (with_for_update). */
typedef struct qs_lock_desc {
  int read, nowait, skip_locked, key_share;
  int of;                    /* nonzero when OF names tables (QS_PART_OF renders them) */
} qs_lock_desc;

/* A JSON element access (col:get / col:path, and their as_*() forms). */
typedef struct qs_json_desc {
  const char *as;            /* NULL (JSON), "string", "integer", "float", "boolean" */
  int path;                  /* a path of several steps rather than one key */
  int integer_key;           /* the one key is an array index */
} qs_json_desc;

/* A table option the dialect takes from Table(..., {option = "bare_word"}). */
typedef struct qs_table_option {
  const char *option;        /* the Lua option's name */
  const char *sql;           /* what precedes its value */
} qs_table_option;

typedef struct qs_dialect qs_dialect;
struct qs_dialect {
  const char *name;          /* "sqlite", "postgresql", "mysql", "mariadb" */
  qs_paramstyle paramstyle;
  char quote_open;           /* identifier quote: '"' or '`' */
  char quote_close;
  uint64_t caps;             /* QS_CAP(...) flags */
  qs_upsert_form upsert;
  int max_params;            /* bind parameters one statement may hold */
  int insertmany_rows;       /* rows per multi-row INSERT of an executemany; 0: one
                                statement per row (SQLite, where a row costs no round trip) */
  const char *partial_index_option;   /* "postgresql_where", "sqlite_where" or NULL */

  /* Spelling values. */
  unsigned forms;            /* QS_FORM_* */
  qs_dml_froms update_froms, delete_froms;
  const char *empty_insert;  /* an INSERT of no columns: " DEFAULT VALUES" */
  const char *empty_in_set;  /* "x IN <this>" for an empty list: a subquery of no row; a "%s"
                                in it stands for x's type (its DDL name; INTEGER when untyped) */
  const char *now_function;  /* what now() is written as; NULL: now() */
  const char *autoinc_clause;         /* after an auto-increment column, or NULL */
  const char *index_using_option;     /* CREATE INDEX ... USING <option's value>, or NULL */
  const qs_table_option *table_options;   /* {NULL, NULL}-terminated, or NULL */

  /* Render hooks. Each appends to out; those given err return QS_OK or an
  ** error code with err set. NULL only where a default is documented. */
  /* The DDL name of type t; autoinc asks for the auto-increment form. */
  int (*xTypeName)(const qs_dialect *d, qs_buf *out, const qs_type_desc *t, int autoinc,
                   qs_error *err);
  /* CAST of QS_PART_ELEMENT (of type kind from, or NULL) to t. */
  int (*xCast)(const qs_dialect *d, qs_buf *out, const qs_type_desc *t, const char *from,
               const qs_parts *parts);
  /* A value written as SQL text (the audited literal renderer). */
  int (*xLiteral)(const qs_dialect *d, qs_buf *out, const qs_value *v, qs_error *err);
  /* One of the qs_dialect_op operators over QS_PART_LEFT and QS_PART_RIGHT. */
  int (*xOperator)(const qs_dialect *d, qs_buf *out, qs_dialect_op op, const qs_parts *parts);
  /* JSON element access of QS_PART_LEFT by QS_PART_JSON_PATH or QS_PART_JSON_KEY. */
  int (*xJsonGet)(const qs_dialect *d, qs_buf *out, const qs_json_desc *j, const qs_parts *parts);
  /* LIMIT/OFFSET (either may be absent) of QS_PART_LIMIT and QS_PART_OFFSET. */
  int (*xLimit)(const qs_dialect *d, qs_buf *out, int has_limit, int has_offset,
                const qs_parts *parts);
  /* The row lock clause; refuses what the database has not. NULL: allowed
  ** only without the FOR_UPDATE capability (nothing is rendered). */
  int (*xForUpdate)(const qs_dialect *d, qs_buf *out, const qs_lock_desc *lock,
                    const qs_parts *parts, qs_error *err);
  /* The cast that types a parameter of type t ("::INTEGER"), all: strings
  ** too. NULL: the server infers every parameter's type (nothing written). */
  int (*xBindCast)(const qs_dialect *d, qs_buf *out, const qs_type_desc *t, int all);
  /* Refuses DEFERRABLE / INITIALLY on a constraint (foreign_key: whether it
  ** is one) where the database cannot defer it. NULL: every one can. */
  int (*xDeferrable)(const qs_dialect *d, int foreign_key, qs_error *err);
  /* A regular expression match or replacement (qs_regexp_desc); refuses
  ** with err what the database cannot do. */
  int (*xRegexp)(const qs_dialect *d, qs_buf *out, const qs_regexp_desc *r, const qs_parts *parts,
                 qs_error *err);
  /* "(a, b) IN <this>" for an empty list of n-member rows, the members'
  ** types in types (kind NULL: untyped): a subquery of no row. NULL: refused. */
  int (*xEmptyTupleSet)(const qs_dialect *d, qs_buf *out, int n, const qs_type_desc *types,
                        qs_error *err);
};

/* Nonzero when d has capability flag cap (a QS_CAP(...) value). */
#define qs_dialect_can(d, cap) (((d)->caps & (cap)) != 0)
/* Nonzero when d spells something form f (a QS_FORM_... value). */
#define qs_dialect_form(d, f) (((d)->forms & (f)) != 0)
/* Nonzero when one placeholder may stand for a value several times ($1). */
#define qs_dialect_numbered(d) ((d)->paramstyle == QS_PARAM_DOLLAR)
/* Nonzero when d answers to name: its own, or the family it belongs to
** ("mysql" for MariaDB), as a prefix_with(..., {dialect = name}) names it. */
int qs_dialect_named(const qs_dialect *d, const char *name);
/* The dialects, in a fixed order; *n receives their number. */
const qs_dialect *const *qs_dialect_list(int *n);
const qs_dialect *qs_dialect_find(const char *name);
/* Appends ident quoted for d, doubling embedded quote characters. */
int qs_dialect_quote(const qs_dialect *d, qs_buf *out, const char *ident,
                     size_t n);
/* Appends the placeholder for the 1-based parameter position pos. */
int qs_dialect_placeholder(const qs_dialect *d, qs_buf *out, int pos);

/* Nonzero when word (any case) is reserved in one of the dialects. */
int qs_is_reserved(const char *word, size_t n);
/* Appends ident, quoted only when needed (reserved, mixed case, specials). */
int qs_dialect_ident(const qs_dialect *d, qs_buf *out, const char *ident, size_t n);
/* The DDL name of a type kind ("INTEGER", "VARCHAR", ...) for d (xTypeName);
** -1 for sizes not given; autoinc asks for the auto-increment form (SERIAL). */
int qs_render_type(const qs_dialect *d, qs_buf *out, const char *kind, long length,
                   long precision, long scale, int timezone, int autoinc, qs_error *err);
/* The audited literal renderer (xLiteral): the one place a value becomes SQL text. */
int qs_render_literal(const qs_dialect *d, qs_buf *out, const qs_value *v, qs_error *err);
/* TRUE/FALSE, or 1/0 without the NATIVE_BOOLEAN capability. */
int qs_render_bool(const qs_dialect *d, qs_buf *out, int value);

/*
** Textual SQL with named binds (":name"), as qs.text() takes it. Renders the
** text with d's placeholders into out and reports each bind occurrence to
** on_bind in positional order (on_bind returns the 1-based position to
** render, so a dialect with numbered placeholders can reuse one for a
** repeated name; 0 when it wrote the bind into out itself). Quoted strings, quoted identifiers, comments, "::" casts
** and "\:" escapes are left alone.
*/
typedef int (*qs_text_bind_fn)(void *ud, const char *name, size_t n);
int qs_compile_text(const qs_dialect *d, const char *sql, size_t n,
                    qs_buf *out, qs_text_bind_fn on_bind, void *ud,
                    qs_error *err);
/* The same, on_bind told whether the bind follows the keyword IN (after_in
** nonzero: "x IN :ids", comments and white space between), where a list
** value is an IN list that the execution expands. */
typedef int (*qs_text_bind_in_fn)(void *ud, const char *name, size_t n, int after_in);
int qs_compile_text_in(const qs_dialect *d, const char *sql, size_t n,
                       qs_buf *out, qs_text_bind_in_fn on_bind, void *ud,
                       qs_error *err);

/*
** Flush planning: a stable topological sort. Nodes are 0..n-1; edge i puts
** from[i] before to[i] (self-edges are ignored, duplicates are harmless).
** Among the nodes that are ready the smallest index goes first, so the
** result depends on the graph alone. order[0..*nsorted-1] receives the
** sorted nodes and level[v] 0 for a node without predecessors, else 1 +
** the largest level of its predecessors. *nsorted < n means a cycle: then
** order[*nsorted..n-1] holds, in index order, the nodes in or behind a
** cycle, whose level is -1. Returns QS_OK (also for a cycle), QS_ARGUMENT
** for n < 0 or an index out of range, QS_NOMEM.
*/
int qs_toposort(int n, int nedges, const int *from, const int *to, int *order, int *level,
                int *nsorted);

#ifdef __cplusplus
}
#endif
#endif /* QUICKSILVER_H */
