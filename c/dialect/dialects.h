/*
** dialects.h: the dialect objects, one per file of c/dialect/, and the
** shared hooks of common.c they are built from (internal to c/dialect/).
*/
#ifndef QS_DIALECTS_H
#define QS_DIALECTS_H

#include "quicksilver.h"

extern const qs_dialect qs__dialect_sqlite;      /* sqlite.c */
extern const qs_dialect qs__dialect_postgresql;  /* postgresql.c */
extern const qs_dialect qs__dialect_mysql;       /* mysql.c */
extern const qs_dialect qs__dialect_mariadb;     /* mysql.c: MySQL's variant */

/* Default hooks (common.c): standard SQL. */
int qs__type_name_common(const qs_dialect *d, qs_buf *out, const qs_type_desc *t, qs_error *err);
int qs__cast_common(const qs_dialect *d, qs_buf *out, const qs_type_desc *t, const char *from,
                    const qs_parts *parts);
int qs__literal_common(const qs_dialect *d, qs_buf *out, const qs_value *v, qs_error *err);
int qs__operator_common(const qs_dialect *d, qs_buf *out, qs_dialect_op op, const qs_parts *parts);
int qs__limit_common(const qs_dialect *d, qs_buf *out, int has_limit, int has_offset,
                     const qs_parts *parts);
int qs__for_update_common(const qs_dialect *d, qs_buf *out, const qs_lock_desc *lock,
                          const qs_parts *parts, qs_error *err);

/* The empty set of n-member rows: (SELECT 1, 1 FROM (SELECT 1, 1) WHERE 1!=1). */
int qs__empty_tuple_set_common(const qs_dialect *d, qs_buf *out, int n, const qs_type_desc *types,
                               qs_error *err);
/* Pieces the dialects' own hooks are written with (common.c). */
int qs__literal_text(qs_buf *out, const char *p, size_t n, int backslash_escapes, qs_error *err);
int qs__literal_hex(qs_buf *out, const char *open, const char *p, size_t n, const char *close);
int qs__infix(qs_buf *out, const char *sym, const qs_parts *parts);
int qs__call2(qs_buf *out, const char *name, const qs_parts *parts);
int qs__truediv_cast(qs_buf *out, const char *type, const qs_parts *parts);
int qs__json_extract(qs_buf *out, const char *open, const char *close, const qs_parts *parts,
                     qs_part path_part);
int qs__lock_clause(qs_buf *out, const char *words, const qs_lock_desc *lock, const qs_parts *parts);
/* Regexp pieces: "left op right" (the pattern with its flags inline when
** inline_flags), CONCAT('(?', flags, ')', pattern), and name(left, right
** [, replacement][<before_flags> flags]) (before_flags NULL: ", "). */
int qs__regexp_infix(qs_buf *out, const char *op, const qs_parts *parts, int inline_flags);
int qs__regexp_inline_flags(qs_buf *out, const qs_parts *parts);
int qs__regexp_call(qs_buf *out, const char *name, const qs_regexp_desc *r, const qs_parts *parts,
                    const char *before_flags);

#endif
