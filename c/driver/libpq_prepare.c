/*
** libpq_prepare.c: the libpq driver's statements as they are made (libpq.c
** runs them): a statement prepared under its name and described (parameter
** and column types) in one pipelined round trip, or as the unnamed one when
** prepared_statements=false; more parameters than libpq lets a description
** carry (the types read from the server's catalog instead); a parameter the
** server cannot type made text and the statement prepared again; statements
** freed and their names queued for DEALLOCATE (libpq.c's queue).
*/
#include <errno.h>
#include <postgresql/libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libpq_conn.h"

/* ---- statements ------------------------------------------------------------ */

static void free_params(qs_dstmt *s) {
  free((void *)s->values);
  free(s->lengths);
  free(s->formats);
  free(s->numbuf);
  s->values = NULL;
  s->lengths = NULL;
  s->formats = NULL;
  s->numbuf = NULL;
}

static void free_columns(qs_dstmt *s) {
  int i;
  if (s->colnames) {
    for (i = 0; i < s->ncols; i++) free(s->colnames[i]);
    free(s->colnames);
  }
  free(s->coltypes);
  free(s->paramtypes);
  s->colnames = NULL;
  s->coltypes = NULL;
  s->paramtypes = NULL;
  s->ncols = 0;
}

void qs__lpq_free_stmt(qs_dstmt *s) {
  PQclear(s->res);
  free_columns(s);
  free_params(s);
  free(s->given);
  free(s->ptypes);
  free(s->bytes.p);
  free(s->sql);
  free(s);
}

/* The highest $n in sql (quoted text included: an upper bound of the
** statement's parameter count, enough to choose how to describe it). */
static long highest_dollar(const char *sql) {
  long top = 0;
  const char *p;
  for (p = strchr(sql, '$'); p != NULL; p = strchr(p + 1, '$')) {
    long n = 0;
    const char *d = p + 1;
    while (*d >= '0' && *d <= '9' && n < 1000000) n = n * 10 + (*d++ - '0');
    if (n > top) top = n;
  }
  return top;
}

/* A wide statement's parameter types: the row of
** "SELECT parameter_types::oid[]::text FROM pg_prepared_statements", e.g.
** "{23,25}". *types is malloc'd (the caller frees it). */
static int wide_params(const PGresult *r, const Oid **types, int *n, qs_error *err) {
  const char *p;
  Oid *t;
  int cap = 1, k = 0;
  if (PQntuples(r) != 1 || PQnfields(r) != 1 || PQgetisnull(r, 0, 0))
    return qs_error_set(err, QS_INTERFACE, "PostgreSQL: the prepared statement's parameter types "
                        "are missing from pg_prepared_statements (the server session changed "
                        "under the connection? behind a transaction pooler such as pgbouncer, "
                        "create the engine with prepared_statements = false)");
  for (p = PQgetvalue(r, 0, 0); *p; p++) cap += *p == ',';
  t = calloc((size_t)cap + 1, sizeof *t);
  if (t == NULL) return qs_error_set(err, QS_NOMEM, "out of memory");
  p = PQgetvalue(r, 0, 0);
  if (*p == '{') p++;
  while (*p && *p != '}' && k < cap) {
    char *end;
    unsigned long v = strtoul(p, &end, 10);
    if (end == p) break;
    t[k++] = (Oid)v;
    p = *end == ',' ? end + 1 : end;
  }
  if (*p != '}' || k > 65535) {
    free(t);
    return qs_error_set(err, QS_INTERFACE, "PostgreSQL: unreadable parameter types from "
                        "pg_prepared_statements (%d read, at \"%.20s\")", k, p);
  }
  *types = t;
  *n = k;
  return QS_OK;
}

/* Learns the parameters and result columns from a description. Preparing
** again (the same SQL) keeps the parameter arrays: bound values live there. */
static int take_shape(qs_dstmt *s, const PGresult *r, qs_error *err) {
  int i, nparams = PQnparams(r), ncols = PQnfields(r);
  const Oid *wide_types = NULL;
  if (s->wide) {   /* r: pg_prepared_statements' row; columns come with each result */
    if (wide_params(r, &wide_types, &nparams, err) != QS_OK) return err->code;
    ncols = 0;
  }
  char **colnames = calloc((size_t)ncols + 1, sizeof(char *));
  Oid *coltypes = calloc((size_t)ncols + 1, sizeof(Oid));
  Oid *paramtypes = calloc((size_t)nparams + 1, sizeof(Oid));
  int fresh = s->values == NULL || nparams != s->nparams;
  if (colnames && coltypes && paramtypes && fresh) {
    free_params(s);
    s->values = calloc((size_t)nparams + 1, sizeof(char *));
    s->lengths = calloc((size_t)nparams + 1, sizeof(int));
    s->formats = calloc((size_t)nparams + 1, sizeof(int));
    s->numbuf = calloc((size_t)nparams + 1, NUM_TEXT_SIZE);
  }
  for (i = 0; colnames && i < ncols; i++) {
    const char *name = PQfname(r, i);
    size_t n = strlen(name);
    colnames[i] = malloc(n + 1);
    if (colnames[i] == NULL) break;
    memcpy(colnames[i], name, n + 1);
  }
  if (!colnames || !coltypes || !paramtypes || i < ncols || !s->values || !s->lengths ||
      !s->formats || !s->numbuf) {
    if (colnames)
      for (i = 0; i < ncols; i++) free(colnames[i]);
    free(colnames);
    free(coltypes);
    free(paramtypes);
    if (fresh) free_params(s);
    free((void *)wide_types);
    return qs_error_set(err, QS_NOMEM, "out of memory");
  }
  free_columns(s);
  s->colnames = colnames;
  s->coltypes = coltypes;
  s->paramtypes = paramtypes;
  s->ncols = ncols;
  s->nparams = nparams;
  for (i = 0; i < ncols; i++) s->coltypes[i] = PQftype(r, i);
  for (i = 0; i < nparams; i++) s->paramtypes[i] = wide_types ? wide_types[i] : PQparamtype(r, i);
  free((void *)wide_types);
  if (s->c->unnamed) {
    /* every execution parses again: with the types given, the rest inferred
    ** afresh (as a new prepare would) */
    free(s->ptypes);
    s->ptypes = calloc((size_t)nparams + 1, sizeof(Oid));
    if (s->ptypes == NULL) return qs_error_set(err, QS_NOMEM, "out of memory");
    for (i = 0; i < nparams && i < s->ngiven; i++) s->ptypes[i] = (Oid)s->given[i];
  }
  s->epoch = s->c->ddl_epoch;
  return QS_OK;
}

/* "could not determine data type of parameter $n" in r: that parameter is
** made text (pg_common.h). 1 when one more was made text. */
static int type_untyped(qs_dstmt *s, const PGresult *r) {
  return qs__pg_type_untyped(PQresultErrorField(r, PG_DIAG_SQLSTATE), PQresultErrorMessage(r),
                             &s->given, &s->ngiven);
}

/* Reads the results of a pipeline sent by prepare_unnamed up to its sync,
** then leaves pipeline mode: c->keep the first error, c->p_shape the
** result of its second query (the description). */
static int read_pipeline(qs_dconn *c, qs_error *err) {
  PGconn *pg = c->pg;
  for (;;) {
    PGresult *r;
    int ready = qs__lpq_result_ready(c, 1);
    if (ready < 0) return qs__lpq_lost(c, err);
    if (ready == QS_WAIT) return QS_WAIT;
    r = PQgetResult(pg);
    if (r == NULL) {   /* one query's results end */
      if (PQstatus(pg) == CONNECTION_BAD) return qs__lpq_lost(c, err);
      c->p_index++;
      continue;
    }
    switch (PQresultStatus(r)) {
      case PGRES_PIPELINE_SYNC:
        PQclear(r);
        c->want = 0;
        if (!PQexitPipelineMode(pg)) return qs__lpq_lost(c, err);
        return QS_OK;
      case PGRES_PIPELINE_ABORTED:
        PQclear(r);
        break;
      case PGRES_COMMAND_OK: case PGRES_TUPLES_OK:
        if (c->p_index == 1) {
          PQclear(c->p_shape);
          c->p_shape = r;
        } else {
          PQclear(r);
        }
        break;
      default:
        if (c->keep == NULL) c->keep = r;
        else PQclear(r);
    }
  }
}

/* prepared_statements=false: s is parsed as the unnamed statement and
** described in ONE round trip (a pipeline ending in one Sync: a pooler keeps
** it on one server connection), never to be used again: each execution
** parses it anew (qs__lpq_send_execution). A wide statement (not describable by
** libpq) is parsed under its name, its types read from
** pg_prepared_statements and the name deallocated, in the same pipeline.
** QS_OK when done; on an error the operation has not ended. */
static int prepare_unnamed(qs_dstmt *s, qs_error *err) {
  qs_dconn *c = s->c;
  PGconn *pg = c->pg;
  int rc;
  for (;;) {
    if (c->sub == PREP_SEND) {
      if (!PQenterPipelineMode(pg) ||
          !PQsendPrepare(pg, s->wide ? s->name : "", s->sql, s->ngiven, (const Oid *)s->given))
        return qs__lpq_lost(c, err);
      if (s->wide) {   /* the name is ours ("qs_<tag>_<n>"): no quoting needed */
        char q[160];
        snprintf(q, sizeof q, "SELECT parameter_types::oid[]::text FROM pg_prepared_statements "
                 "WHERE name = '%s'", s->name);
        if (!PQsendQueryParams(pg, q, 0, NULL, NULL, NULL, NULL, 0)) return qs__lpq_lost(c, err);
        snprintf(q, sizeof q, "DEALLOCATE %s", s->name);
        if (!PQsendQueryParams(pg, q, 0, NULL, NULL, NULL, NULL, 0)) return qs__lpq_lost(c, err);
      } else if (!PQsendDescribePrepared(pg, "")) {
        return qs__lpq_lost(c, err);
      }
      if (!PQpipelineSync(pg)) return qs__lpq_lost(c, err);
      qs__lpq_sent(c);
      c->p_index = 0;
      c->sub = PREP_READ;
    }
    if ((rc = read_pipeline(c, err)) != QS_OK) return rc;
    if (c->keep != NULL && qs__lpq_is_error(c->keep)) {
      PQclear(c->p_shape);
      c->p_shape = NULL;
      if (type_untyped(s, c->keep)) {
        c->sub = PREP_SEND;
        continue;
      }
      return qs__lpq_leave(c, qs__lpq_fail_conn(c, err, c->keep));
    }
    if (c->p_shape == NULL)
      return qs__lpq_leave(c, qs_error_set(err, QS_INTERFACE, "PostgreSQL: no description of the statement"));
    rc = take_shape(s, c->p_shape, err);
    PQclear(c->p_shape);
    c->p_shape = NULL;
    c->sub = PREP_SEND;
    return rc == QS_OK ? QS_OK : qs__lpq_leave(c, rc);
  }
}

/* Prepares s->sql under s->name (with the types given, text for untyped
** parameters) and describes it, in steps (c->sub). QS_OK when done; on an
** error the operation has not ended (the caller ends it). */
int qs__lpq_prepare_steps(qs_dstmt *s, qs_error *err) {
  qs_dconn *c = s->c;
  int rc;
  if (c->unnamed) return prepare_unnamed(s, err);
  for (;;) {
    switch (c->sub) {
      case PREP_SEND:
        if (!PQsendPrepare(c->pg, s->name, s->sql, s->ngiven, (const Oid *)s->given))
          return qs__lpq_lost(c, err);
        qs__lpq_sent(c);
        c->sub = PREP_READ;
        break;
      case PREP_READ:
        if ((rc = qs__lpq_read_results(c, err)) != QS_OK) return rc;
        if (c->keep == NULL || qs__lpq_is_error(c->keep)) {
          if (c->keep && type_untyped(s, c->keep)) {
            c->sub = PREP_SEND;
            break;
          }
          rc = qs__lpq_fail_conn(c, err, c->keep);
          return qs__lpq_leave(c, rc);
        }
        s->on_server = 1;
        s->session_epoch = c->session_epoch;
        c->sub = PREP_DESCRIBE;
        break;
      case PREP_DESCRIBE:
        if (s->wide) {   /* the name is ours ("qs_<n>"): no quoting needed */
          char q[128];
          snprintf(q, sizeof q, "SELECT parameter_types::oid[]::text FROM pg_prepared_statements "
                   "WHERE name = '%s'", s->name);
          if (!PQsendQuery(c->pg, q)) return qs__lpq_lost(c, err);
        } else if (!PQsendDescribePrepared(c->pg, s->name)) {
          return qs__lpq_lost(c, err);
        }
        qs__lpq_sent(c);
        c->sub = PREP_DESCRIBED;
        break;
      default:   /* PREP_DESCRIBED */
        if ((rc = qs__lpq_read_results(c, err)) != QS_OK) return rc;
        if (c->keep == NULL || qs__lpq_is_error(c->keep)) return qs__lpq_leave(c, qs__lpq_fail_conn(c, err, c->keep));
        rc = take_shape(s, c->keep, err);
        PQclear(qs__lpq_take(c));
        c->sub = PREP_SEND;
        return rc == QS_OK ? QS_OK : qs__lpq_leave(c, rc);
    }
  }
}

/* Queues s's server-side statement for deallocation (qs__lpq_xFinalize, preparing
** again). */
void qs__lpq_forget(qs_dstmt *s) {
  if (s->on_server && s->session_epoch == s->c->session_epoch &&
      PQstatus(s->c->pg) == CONNECTION_OK)
    qs__lpq_dq_add(s->c, s->name);
  s->on_server = 0;
}

int qs__lpq_xPrepare(qs_dconn *c, const char *sql, size_t n, qs_dstmt **out, qs_error *err) {
  qs_dstmt *s;
  int rc;
  *out = NULL;
  if (c->op == OP_NONE) {
    s = calloc(1, sizeof *s);
    if (s == NULL) return qs_error_set(err, QS_NOMEM, "out of memory");
    s->c = c;
    s->sql = malloc(n + 1);
    if (s->sql == NULL) {
      free(s);
      return qs_error_set(err, QS_NOMEM, "out of memory");
    }
    memcpy(s->sql, sql, n);
    s->sql[n] = '\0';
    s->row = -1;
    qs__pg_name(s->name, c->tag, ++c->counter);
    s->wide = highest_dollar(s->sql) > DESCRIBE_MAX_PARAMS;
    (void)qs__lpq_enter(c, OP_PREPARE, s, err);
  } else if ((rc = qs__lpq_enter(c, OP_PREPARE, NULL, err)) != QS_OK) {
    return rc;
  }
  s = c->stmt;
  if (c->phase <= 0 && (rc = qs__lpq_run_deallocs(c, err)) != QS_OK) {
    if (rc != QS_WAIT) {   /* the operation ended: s was never handed out */
      qs__lpq_forget(s);
      qs__lpq_free_stmt(s);
    }
    return rc;
  }
  rc = qs__lpq_prepare_steps(s, err);
  if (rc == QS_WAIT) return rc;
  if (rc != QS_OK) {   /* the operation ended (prepare_steps left it) */
    qs__lpq_forget(s);       /* prepared but not described: not kept */
    qs__lpq_free_stmt(s);
    return rc;
  }
  qs__lpq_leave(c, QS_OK);
  *out = s;
  return QS_OK;
}
