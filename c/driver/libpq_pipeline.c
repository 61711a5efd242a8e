/*
** libpq_pipeline.c: the libpq driver's executemany, one pipeline per call:
** every parameter set is sent as its own execution of the prepared statement
** (or of the unnamed one under prepared_statements=false) without waiting,
** results are drained as they arrive so neither side's buffers fill, and one
** sync ends the batch. The first error is kept and reported; the executions
** after it come back aborted by the server and change nothing. Like every
** operation of the driver it is a state machine (libpq.c) returning QS_WAIT.
*/
#include <postgresql/libpq-fe.h>
#include <stdlib.h>
#include <string.h>

#include "libpq_conn.h"

/* ---- executemany in pipeline mode ------------------------------------- */

/* Reads every result that has arrived, without waiting. A query's results
** end with a NULL; the first error is kept, the queries after it come back
** PGRES_PIPELINE_ABORTED, and the sync's result ends the batch. 1 when the
** sync's result came, 0 when nothing more has arrived, -1 when the
** connection failed. */
static int pipe_drain(qs_dconn *c) {
  PGconn *pg = c->pg;
  for (;;) {
    PGresult *r;
    if (PQisBusy(pg)) {
      if (!PQconsumeInput(pg)) return -1;
      if (PQisBusy(pg)) return 0;
    }
    r = PQgetResult(pg);
    if (r == NULL) {
      if (PQstatus(pg) == CONNECTION_BAD) return -1;
      if (c->m_pending == 0) return 0;   /* nothing sent is unread (the sync is not due yet) */
      c->m_pending--;                    /* the end of one query's results */
      continue;
    }
    switch (PQresultStatus(r)) {
      case PGRES_COMMAND_OK: case PGRES_TUPLES_OK: {
        const char *t = PQcmdTuples(r);
        c->m_changes += t && *t ? atoll(t) : 0;
        break;
      }
      case PGRES_PIPELINE_SYNC:
        PQclear(r);
        c->m_synced = 1;
        return 1;
      case PGRES_PIPELINE_ABORTED:
        break;
      default:
        if (c->m_error == NULL) {
          c->m_error = r;
          continue;
        }
    }
    PQclear(r);
  }
}

/* Sends what libpq holds, reading results meanwhile: a server whose output
** is not read stops reading its input (the deadlock NOTES.md warns of).
** QS_OK when all is qs__lpq_sent, QS_WAIT (for both directions), or -1 (failed). */
static int pipe_flush(qs_dconn *c) {
  int f = PQflush(c->pg);
  if (f < 0 || pipe_drain(c) < 0) return -1;
  if (f == 1) {
    c->want = QS_WAIT_READ | QS_WAIT_WRITE;
    return QS_WAIT;
  }
  return QS_OK;
}

/* The batch's end: out of pipeline mode, the first failure or the count. */
static int pipe_end(qs_dconn *c, int64_t *changes, qs_error *err) {
  int rc = QS_OK;
  (void)PQexitPipelineMode(c->pg);
  *changes = c->m_changes;
  c->changes = c->m_changes;
  if (c->m_error) rc = qs__lpq_fail_conn(c, err, c->m_error);
  return qs__lpq_leave(c, rc);
}

/* Executemany steps: 0-1 the DEALLOCATE queue and preparing again as for an
** execution; 2 into pipeline mode; 3 sending the sets PIPE_CHUNK at a time,
** flushing and draining between chunks; 4 the sync qs__lpq_sent, flushed, the rest
** read until its result. */
int qs__lpq_xExecMany(qs_dstmt *s, int nsets, int nparams, const qs_value *vals, int64_t *changes,
                     qs_error *err) {
  qs_dconn *c = s->c;
  PGconn *pg = c->pg;
  int rc = qs__lpq_enter(c, OP_EXECMANY, s, err);
  *changes = 0;
  if (rc != QS_OK) return rc;
  if (c->m_vals == NULL && c->phase == 0) {   /* the first call */
    int i;
    for (i = 0; i < nsets; i++)   /* every set checked before the first is sent */
      if (qs__pg_refuse_nul(vals + (size_t)i * (size_t)nparams, nparams, i + 1, err) != QS_OK)
        return qs__lpq_leave(c, err->code);
    c->m_vals = vals;
    c->m_nsets = nsets;
    c->m_nparams = nparams;
    c->m_next = 0;
    c->m_pending = 0;
    c->m_synced = 0;
    c->m_changes = 0;
  }
  if (c->phase <= 1) {
    if ((rc = qs__lpq_ready_stmt(s, err)) != QS_OK) return rc;
    c->phase = 2;
  }
  if (c->phase == 2) {
    if (!PQenterPipelineMode(pg)) return qs__lpq_lost(c, err);
    /* unnamed: parsed once in the batch, bound per set (the batch's one
    ** Sync keeps it on one server connection behind a pooler) */
    if (c->unnamed) {
      if (!PQsendPrepare(pg, "", s->sql, s->nparams, s->ptypes)) goto failed;
      c->m_pending++;
    }
    c->phase = 3;
  }
  if (c->phase == 3) {
    if ((rc = pipe_flush(c)) != QS_OK) {
      if (rc == QS_WAIT) return rc;
      goto failed;
    }
    while (c->m_next < c->m_nsets && c->m_error == NULL) {
      int i = c->m_next;
      qs__lpq_xBind(s, c->m_nparams, c->m_vals + (size_t)i * (size_t)c->m_nparams, err);
      if (!PQsendQueryPrepared(pg, c->unnamed ? "" : s->name, s->nparams, s->values, s->lengths,
                               s->formats, 0))
        goto failed;
      c->m_pending++;
      c->m_next++;
      if (c->m_next % PIPE_CHUNK == 0 && (rc = pipe_flush(c)) != QS_OK) {   /* both directions move */
        if (rc == QS_WAIT) return rc;
        goto failed;
      }
    }
    if (!PQpipelineSync(pg)) goto failed;
    c->phase = 4;
  }
  /* phase 4 */
  if ((rc = pipe_flush(c)) != QS_OK) {
    if (rc == QS_WAIT) return rc;
    goto failed;
  }
  if (!c->m_synced) {   /* (pipe_flush may have read it) */
    rc = pipe_drain(c);
    if (rc < 0) goto failed;
    if (rc == 0) {
      c->want = QS_WAIT_READ;
      return QS_WAIT;
    }
  }
  return pipe_end(c, changes, err);
failed:
  PQclear(c->keep);
  c->keep = c->m_error;   /* qs__lpq_lost() reports it if the server said why */
  c->m_error = NULL;
  *changes = c->m_changes;
  return qs__lpq_lost(c, err);
}
