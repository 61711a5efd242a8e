/*
** common.c: the render hooks the dialects share. Each is the spelling of
** standard SQL (or of the databases that agree); a dialect's own hook
** handles what differs and hands the rest to these.
*/
#include "dialects.h"

#include <math.h>
#include <string.h>

static int done(qs_buf *out, qs_error *err) {
  if (!out->failed) return QS_OK;
  return err ? qs_error_set(err, QS_NOMEM, "out of memory") : QS_NOMEM;
}

/* The standard DDL names; INTERVAL is seconds (a FLOAT) where the database
** has no interval type. */
int qs__type_name_common(const qs_dialect *d, qs_buf *out, const qs_type_desc *t, qs_error *err) {
  const char *k = t->kind;
  if (strcmp(k, "INTEGER") == 0 || strcmp(k, "BIGINT") == 0 || strcmp(k, "SMALLINT") == 0 ||
      strcmp(k, "TEXT") == 0 || strcmp(k, "BOOLEAN") == 0 || strcmp(k, "DATE") == 0 ||
      strcmp(k, "DATETIME") == 0 || strcmp(k, "TIME") == 0 || strcmp(k, "JSON") == 0 ||
      strcmp(k, "BLOB") == 0) {
    qs_buf_puts(out, k);
  } else if (strcmp(k, "VARCHAR") == 0 || strcmp(k, "ENUM") == 0) {
    if (t->length > 0) qs_buf_printf(out, "VARCHAR(%ld)", t->length);
    else qs_buf_puts(out, "VARCHAR");
  } else if (strcmp(k, "FLOAT") == 0) {
    if (t->precision > 0) qs_buf_printf(out, "FLOAT(%ld)", t->precision);
    else qs_buf_puts(out, "FLOAT");
  } else if (strcmp(k, "NUMERIC") == 0) {
    if (t->precision > 0 && t->scale >= 0) qs_buf_printf(out, "NUMERIC(%ld, %ld)", t->precision, t->scale);
    else if (t->precision > 0) qs_buf_printf(out, "NUMERIC(%ld)", t->precision);
    else qs_buf_puts(out, "NUMERIC");
  } else if (strcmp(k, "INTERVAL") == 0) {
    qs_buf_puts(out, "FLOAT");
  } else if (strcmp(k, "UUID") == 0) {
    qs_buf_puts(out, "CHAR(36)");
  } else {
    return qs_error_set(err, QS_COMPILE, "no DDL type for %s on dialect %s", k, d->name);
  }
  return done(out, err);
}

/* CAST(element AS <the DDL type name>). */
int qs__cast_common(const qs_dialect *d, qs_buf *out, const qs_type_desc *t, const char *from,
                    const qs_parts *parts) {
  (void)d, (void)t, (void)from;
  qs_buf_puts(out, "CAST(");
  parts->render(parts->ud, QS_PART_ELEMENT, QS_PLACE_ALONE);
  qs_buf_puts(out, " AS ");
  parts->render(parts->ud, QS_PART_TYPE, QS_PLACE_ALONE);
  return qs_buf_putc(out, ')');
}

/* A string literal: single quotes doubled, and backslashes too where the
** database reads them as escapes. A NUL byte cannot sit in one: refused. */
int qs__literal_text(qs_buf *out, const char *p, size_t n, int backslash_escapes, qs_error *err) {
  size_t i;
  if (memchr(p, '\0', n))
    return qs_error_set(err, QS_COMPILE, "cannot render text with a NUL byte as a literal");
  qs_buf_putc(out, '\'');
  for (i = 0; i < n; i++) {
    if (p[i] == '\'' || (p[i] == '\\' && backslash_escapes)) qs_buf_putc(out, p[i]);
    qs_buf_putc(out, p[i]);
  }
  qs_buf_putc(out, '\'');
  return done(out, err);
}

/* Bytes as hexadecimal between open and close. */
int qs__literal_hex(qs_buf *out, const char *open, const char *p, size_t n, const char *close) {
  size_t i;
  qs_buf_puts(out, open);
  for (i = 0; i < n; i++) qs_buf_printf(out, "%02x", (unsigned char)p[i]);
  return qs_buf_puts(out, close);
}

/* The standard literals; a blob is X'...'. */
int qs__literal_common(const qs_dialect *d, qs_buf *out, const qs_value *v, qs_error *err) {
  switch (v->type) {
    case QS_TNULL: qs_buf_puts(out, "NULL"); break;
    case QS_TINT: qs_buf_printf(out, "%lld", (long long)v->u.i); break;
    case QS_TBOOL: qs_render_bool(d, out, v->u.i != 0); break;
    case QS_TFLOAT:
      if (!isfinite(v->u.f))
        return qs_error_set(err, QS_COMPILE, "cannot render a non-finite number as a literal");
      qs_buf_printf(out, "%.17g", v->u.f);
      break;
    case QS_TTEXT: return qs__literal_text(out, v->u.s.p, v->u.s.n, 0, err);
    case QS_TBLOB: qs__literal_hex(out, "X'", v->u.s.p, v->u.s.n, "'"); break;
  }
  return done(out, err);
}

/* left <sym> right, each operand typed by the other. */
int qs__infix(qs_buf *out, const char *sym, const qs_parts *parts) {
  parts->render(parts->ud, QS_PART_LEFT, QS_PLACE_OPERAND);
  qs_buf_puts(out, sym);
  parts->render(parts->ud, QS_PART_RIGHT, QS_PLACE_OPERAND);
  return out->failed ? QS_NOMEM : QS_OK;
}

/* name(left, right). */
int qs__call2(qs_buf *out, const char *name, const qs_parts *parts) {
  qs_buf_puts(out, name);
  qs_buf_putc(out, '(');
  parts->render(parts->ud, QS_PART_LEFT, QS_PLACE_ALONE);
  qs_buf_puts(out, ", ");
  parts->render(parts->ud, QS_PART_RIGHT, QS_PLACE_ALONE);
  return qs_buf_putc(out, ')');
}

/* left / CAST(right AS type): true division of integers. */
int qs__truediv_cast(qs_buf *out, const char *type, const qs_parts *parts) {
  parts->render(parts->ud, QS_PART_LEFT, QS_PLACE_TIGHT);
  qs_buf_puts(out, " / CAST(");
  parts->render(parts->ud, QS_PART_RIGHT, QS_PLACE_ALONE);
  qs_buf_puts(out, " AS ");
  qs_buf_puts(out, type);
  return qs_buf_putc(out, ')');
}

/* ILIKE emulated by lower() on both sides; || concatenates; an integer
** divided by an integer is cast to NUMERIC first, and "//" of integers is
** the integer division "/" already does. */
int qs__operator_common(const qs_dialect *d, qs_buf *out, qs_dialect_op op, const qs_parts *parts) {
  (void)d;
  switch (op) {
    case QS_DOP_ILIKE: case QS_DOP_NOT_ILIKE:
      qs_buf_puts(out, "lower(");
      parts->render(parts->ud, QS_PART_LEFT, QS_PLACE_ALONE);
      qs_buf_puts(out, op == QS_DOP_ILIKE ? ") LIKE lower(" : ") NOT LIKE lower(");
      parts->render(parts->ud, QS_PART_RIGHT, QS_PLACE_ALONE);
      return qs_buf_putc(out, ')');
    case QS_DOP_CONCAT: return qs__infix(out, " || ", parts);
    case QS_DOP_TRUEDIV_INT: return qs__truediv_cast(out, "NUMERIC", parts);
    case QS_DOP_FLOORDIV_INT: return qs__infix(out, " / ", parts);
    case QS_DOP_CONTAINS: case QS_DOP_CONTAINED_BY: case QS_DOP_OVERLAP:
    case QS_DOP_HAS_KEY: case QS_DOP_HAS_ANY: case QS_DOP_HAS_ALL:
    case QS_DOP_PATH_EXISTS: case QS_DOP_PATH_MATCH:
      break;   /* PostgreSQL's ARRAY / JSONB operators: no standard spelling */
    case QS_DOP_IS_DISTINCT_FROM: return qs__infix(out, " IS DISTINCT FROM ", parts);
    case QS_DOP_IS_NOT_DISTINCT_FROM: return qs__infix(out, " IS NOT DISTINCT FROM ", parts);
  }
  return QS_MISUSE;
}

/* The regexp forms the dialects build theirs from (SQLAlchemy's spellings):
** "left op right", name(left, right[, replacement][, flags]), and the
** pattern with its flags inline, CONCAT('(?', flags, ')', pattern), for
** the regexp engines that read (?i) (PCRE: MariaDB; PostgreSQL's ARE). */
int qs__regexp_infix(qs_buf *out, const char *op, const qs_parts *parts, int inline_flags) {
  parts->render(parts->ud, QS_PART_LEFT, QS_PLACE_OPERAND);
  qs_buf_puts(out, op);
  if (!inline_flags) {
    parts->render(parts->ud, QS_PART_RIGHT, QS_PLACE_OPERAND);
    return out->failed ? QS_NOMEM : QS_OK;
  }
  return qs__regexp_inline_flags(out, parts);
}

int qs__regexp_inline_flags(qs_buf *out, const qs_parts *parts) {
  qs_buf_puts(out, "CONCAT('(?', ");
  parts->render(parts->ud, QS_PART_FLAGS, QS_PLACE_ALONE);
  qs_buf_puts(out, ", ')', ");
  parts->render(parts->ud, QS_PART_RIGHT, QS_PLACE_ALONE);
  return qs_buf_putc(out, ')');
}

int qs__regexp_call(qs_buf *out, const char *name, const qs_regexp_desc *r, const qs_parts *parts,
                    const char *before_flags) {
  qs_buf_puts(out, name);
  qs_buf_putc(out, '(');
  parts->render(parts->ud, QS_PART_LEFT, QS_PLACE_ALONE);
  qs_buf_puts(out, ", ");
  parts->render(parts->ud, QS_PART_RIGHT, QS_PLACE_ALONE);
  if (r->replace) {
    qs_buf_puts(out, ", ");
    parts->render(parts->ud, QS_PART_REPLACEMENT, QS_PLACE_ALONE);
  }
  if (r->flags) {
    qs_buf_puts(out, before_flags ? before_flags : ", ");
    parts->render(parts->ud, QS_PART_FLAGS, QS_PLACE_ALONE);
  }
  return qs_buf_putc(out, ')');
}

/* open JSON_EXTRACT(left, path) close: the path is the part path_part
** (QS_PART_JSON_PATH: the SQL/JSON path form; SQLite may ask for its own). */
int qs__json_extract(qs_buf *out, const char *open, const char *close, const qs_parts *parts,
                     qs_part path_part) {
  qs_buf_puts(out, open);
  qs_buf_puts(out, "JSON_EXTRACT(");
  parts->render(parts->ud, QS_PART_LEFT, QS_PLACE_ALONE);
  qs_buf_puts(out, ", ");
  parts->render(parts->ud, path_part, QS_PLACE_ALONE);
  qs_buf_putc(out, ')');
  return qs_buf_puts(out, close);
}

/* LIMIT n OFFSET m, each only when given. */
int qs__limit_common(const qs_dialect *d, qs_buf *out, int has_limit, int has_offset,
                     const qs_parts *parts) {
  (void)d;
  if (has_limit) {
    qs_buf_puts(out, " LIMIT ");
    parts->render(parts->ud, QS_PART_LIMIT, QS_PLACE_ALONE);
  }
  if (has_offset) {
    qs_buf_puts(out, " OFFSET ");
    parts->render(parts->ud, QS_PART_OFFSET, QS_PLACE_ALONE);
  }
  return out->failed ? QS_NOMEM : QS_OK;
}

/* words [OF names] [NOWAIT] [SKIP LOCKED]. */
int qs__lock_clause(qs_buf *out, const char *words, const qs_lock_desc *lock, const qs_parts *parts) {
  qs_buf_puts(out, words);
  if (lock->of) {
    qs_buf_puts(out, " OF ");
    parts->render(parts->ud, QS_PART_OF, QS_PLACE_ALONE);
  }
  if (lock->nowait) qs_buf_puts(out, " NOWAIT");
  if (lock->skip_locked) qs_buf_puts(out, " SKIP LOCKED");
  return out->failed ? QS_NOMEM : QS_OK;
}

/* FOR UPDATE / FOR SHARE; key_share is PostgreSQL's own. */
int qs__for_update_common(const qs_dialect *d, qs_buf *out, const qs_lock_desc *lock,
                          const qs_parts *parts, qs_error *err) {
  (void)d;
  if (lock->key_share)
    return qs_error_set(err, QS_COMPILE,
                        "with_for_update: key_share is PostgreSQL's (FOR NO KEY UPDATE / FOR KEY SHARE)");
  if (qs__lock_clause(out, lock->read ? " FOR SHARE" : " FOR UPDATE", lock, parts) != QS_OK)
    return qs_error_set(err, QS_NOMEM, "out of memory");
  return QS_OK;
}

/* The empty set of n-member rows for "(a, b) IN ()" (SQLAlchemy's
** visit_empty_set_expr for SQLite): untyped ones, a subquery of no row. */
int qs__empty_tuple_set_common(const qs_dialect *d, qs_buf *out, int n, const qs_type_desc *types,
                               qs_error *err) {
  int i, pass;
  (void)d, (void)types;
  qs_buf_puts(out, "(SELECT ");
  for (pass = 0; pass < 2; pass++) {
    for (i = 0; i < n; i++) qs_buf_puts(out, i ? ", 1" : "1");
    if (pass == 0) qs_buf_puts(out, " FROM (SELECT ");
  }
  qs_buf_puts(out, ") WHERE 1!=1)");
  return done(out, err);
}
