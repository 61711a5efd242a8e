/*
** lbinding.h: what the binding's files share (internal; not installed).
*/
#ifndef QS_LBINDING_H
#define QS_LBINDING_H

#include "compat.h"
#include "quicksilver.h"

/* Metatable names of the binding's userdata. */
#define QSB_CONN_MT "quicksilver.Connection"
#define QSB_CURSOR_MT "quicksilver.Cursor"
#define QSB_ROW_MT "quicksilver.Row"
#define QSB_BUF_MT "quicksilver.Buffer"
#define QSB_POOL_MT "quicksilver.Pool"
#define QSB_ERRBOX_MT "quicksilver.ErrorBox"

/* A Row userdata: the values are its user values 1..n, the keymap n + 1. */
typedef struct lrow {
  int n;               /* column count */
} lrow;

/* Registry keys. The driver table is versioned: a driver module built
** against another layout registers under another key and is never found. */
#define QSB_REG_NULL "quicksilver.core.null"
#define QSB_REG_ERRFACTORY "quicksilver.core.error_factory"
#define QSB_REG_DRIVERS QS_DRIVER_REGISTRY

/* Pushes nil and the error object: the "nil, err" return of a failure. */
int qsB_fail(lua_State *L, const qs_error *err);
/* A zeroed qs_error owned by a new userdata on the stack (its __gc clears
** it): fill it by a C call, then qsB_fail_box; a Lua error in between, or
** while the error object is made, leaks nothing. */
qs_error *qsB_errbox(lua_State *L);
/* Pushes nil and the error object for a boxed err, then clears it. */
int qsB_fail_box(lua_State *L, qs_error *err);
/* Raises an error object of class code with message msg. */
int qsB_raise(lua_State *L, int code, const char *msg);
/* Pushes one column value. */
void qsB_pushvalue(lua_State *L, const qs_value *v);
/* A qs_buf owned by a new userdata on the stack, so a Lua error never
** leaks it. */
qs_buf *qsB_newbuf(lua_State *L);

void qsB_open_conn(lua_State *L);
void qsB_open_pool(lua_State *L);
/* Connection options one connect or pool takes at most (the size of the
** keys and vals arrays given to qsB_options). */
#define QSB_MAX_OPTIONS 32
int qsB_options(lua_State *L, int idx, const char **keys, const char **vals, int max);
const qs_driver *qsB_driver(lua_State *L, const char *name);
/* A closed Connection userdata pushed (may raise: nothing is held yet);
** qsB_set_borrowed then gives it a connection checked out of p as r,
** without any Lua call. */
void *qsB_new_borrowed(lua_State *L);
void qsB_set_borrowed(void *conn, qs_pool *p, qs_pool_rec *r);
void qsB_open_cursor(lua_State *L);
/* The Cursor userdata (lcursor.c), as the Connection's execute uses it:
** a closed cursor pushed on the Connection at connidx; the cursor at curidx
** taking s, binding the n values and running it to its first row (pushes
** the cursor, or nil and the error); owning s while an
** executemany runs (adopt) and letting it go (drop). */
int qsB_cursor_new(lua_State *L, int connidx);
/* How one execution reads its parameters (stack indexes; 0 = absent). */
typedef struct qsB_bindspec {
  int keys;      /* list of keys in placeholder order; 0: params[1..n] */
  int values;    /* key -> value the statement holds (used when params lack it) */
  int checks;    /* list of QSV_* codes per position */
  int procs;     /* list of Lua converters per position */
  int nullidx;   /* the NULL sentinel */
  int nkeys;
  int anchor;    /* whether reading makes new values (converters, JSON text) */
  int ncheckv;   /* checks[1..ncheckv] read once into checkv (an executemany reads every row) */
  int checkv[64];
  int keep;      /* a table that gets key -> the value as converted, before the check
                 ** (core.convert_sets); 0: none */
} qsB_bindspec;
/* lparams.c: reads the bindspec arguments at stack index first (nullidx: the
** NULL sentinel); reads one parameter set into vals (the count, or -1 with
** err naming the parameter; the anchor list, or nil, is left on the stack);
** the count of the positional entries of the table at pidx (its n field,
** else #t): an n that is not a whole number in 0..max raises ArgumentError
** naming what (QSB_MAX_PARAMS for one statement's values: every server's
** protocol limit). */
#define QSB_MAX_PARAMS 65535
void qsB_get_bindspec(lua_State *L, int first, int nullidx, qsB_bindspec *bs);
int qsB_read_params(lua_State *L, qs_value *vals, int pidx, const qsB_bindspec *bs, int group,
                    qs_error *err);
int qsB_positional_size(lua_State *L, int pidx, int max, const char *what);
/* core.convert_sets (lparams.c) */
int qsB_convert_sets(lua_State *L);
int qsB_cursor_bind(lua_State *L, int curidx, qs_stmt *s, const qs_value *vals, int n);
int qsB_cursor_run(lua_State *L, int curidx);
qs_stmt *qsB_cursor_stmt(lua_State *L, int curidx);
int qsB_cursor_fetch_into(lua_State *L, int curidx, lua_Integer max, int listidx);
void qsB_cursor_adopt(lua_State *L, int curidx, qs_stmt *s);
void qsB_cursor_drop(lua_State *L, int curidx);
void qsB_open_row(lua_State *L);
int qsB_connect(lua_State *L);
int qsB_connect_start(lua_State *L);
int qsB_set_default_waiter(lua_State *L);
int qsB_default_waiter(lua_State *L);
void qsB_push_wait(lua_State *L);
int qsB_compile_text(lua_State *L);
/* core.row(keymap, values, n) and core.row_dicts(row, base, keys,
** positions) (lrow.c). */
int qsB_row_new(lua_State *L);
int qsB_row_dicts(lua_State *L);
int qsB_row_dict(lua_State *L);
#define QSR_FUNCTION (-1)
#define QSR_LOOKUP (-2)
/* Pushes a row built from the current row of s: ncols values plus the
** keymap at index keymap; the row metatable must be at index mt; procs (0
** for none) the per-column conversions. codes: per column, 0 (as is), a
** QSR_* code, QSR_FUNCTION (procs[i] is a Lua function); NULL: look each
** up in the procs list (when procs != 0). Lua converters may run: the
** caller keeps s from being released meanwhile (lcursor.c: the cursor is
** busy while it fetches). */
void qsB_pushrow(lua_State *L, qs_stmt *s, int ncols, int keymap, int mt, int procs,
                 const int *codes);

/* How C checks a Lua value bound for a column type (no Lua call). */
#define QS_TYPE_CHECKS(X) \
  X(none) X(integer) X(number) X(string) X(boolean) X(bytes) X(decimal) X(json)

enum {
#define QS_CHECK_(name) QSV_##name,
  QS_TYPE_CHECKS(QS_CHECK_)
#undef QS_CHECK_
  QSV_LAST_
};

/* How C converts a column value on the way out (no Lua call). decimal: an
** exact decimal value (ldecimal.c); decimal_text: its text as a string (what
** Numeric({asdecimal = true}) gave before decimals, kept for programs). */
#define QS_RESULT_CODES(X) X(none) X(boolean) X(float) X(number) X(decimal) X(text) X(json) X(integer) \
  X(decimal_text)

enum {
#define QS_RESULT_(name) QSR_##name,
  QS_RESULT_CODES(QS_RESULT_)
#undef QS_RESULT_
  QSR_LAST_
};

/* JSON (ljson.c): encode the value at idx, leaving the string pushed, or
** return the reason; decode text, leaving the value pushed, or return why. */
const char *qsB_json_encode(lua_State *L, int idx);
const char *qsB_json_decode(lua_State *L, const char *s, size_t n);
void qsB_open_json(lua_State *L);
/* The exact decimal (ldecimal.c, lua/quicksilver/sql/decimal.lua): push a
** decimal of text p (the text itself before decimal.lua registered its
** metatable), whether idx holds one, its text (NULL: not a decimal; the
** pointer is into the userdata: use it before any Lua call), whether two
** hold equal values (by value: "10.40" equals "10.4"), whether a string is
** a decimal number. */
void qsB_push_decimal(lua_State *L, const char *p, size_t n);
int qsB_is_decimal(lua_State *L, int idx);
const char *qsB_decimal_text(lua_State *L, int idx, size_t *n);
int qsB_decimal_equal(lua_State *L, int a, int b);
int qsB_decimal_text_equal(const char *a, size_t na, const char *b, size_t nb);
int qsB_decimal_text_ok(const char *s, size_t n);
void qsB_open_decimal(lua_State *L);
/* core.poll: poll(2) for the built-in scheduler (lpoll.c). */
void qsB_open_poll(lua_State *L);
/* core.dialect_caps, core.dialect_names (ldialect.c). */
void qsB_open_dialect(lua_State *L);

/* The module's parts outside c/binding: lcore.c calls each to add its
** functions to the module table at the top (c/compiler: the cache key and
** the code tables; c/orm: the unit of work's and the loader's loops). */
void qsB_open_cachekey(lua_State *L);
void qsB_open_uow(lua_State *L);
void qsB_open_load(lua_State *L);
void qsB_open_finish(lua_State *L);   /* c/orm/finish.c */
void qsB_open_plan(lua_State *L);   /* c/orm/lplan.c */
struct qs_plan_caps;
void qsB_read_plan_caps(lua_State *L, int idx, struct qs_plan_caps *c);   /* c/orm/lplan.c */
void qsB_open_insert_rows(lua_State *L);   /* c/orm/insert_rows.c */
void qsB_open_construct(lua_State *L);   /* c/orm/construct.c */
/* Pushes the four code tables as fields of the table at the top. */
void qsB_export_codes(lua_State *L);

#endif
