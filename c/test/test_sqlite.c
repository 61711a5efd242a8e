/* test_sqlite.c: the generic connection over the SQLite driver. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quicksilver.h"
#include "test.h"

static int64_t count_rows(qs_conn *c) {
  qs_stmt *s;
  qs_value v;
  if (qs_conn_prepare(c, "SELECT count(*) FROM t", 22, &s) != QS_OK) return -1;
  if (qs_stmt_step(s) != QS_ROW) { qs_stmt_release(s); return -1; }
  qs_stmt_column(s, 0, &v);
  qs_stmt_release(s);
  return v.u.i;
}

TEST_IMPL(sqlite_roundtrip) {
  qs_conn *c = test_open_memory();
  qs_stmt *s;
  qs_value in[3], out;
  ASSERT(c != NULL);
  ASSERT_EQ(test_run_sql(c, "CREATE TABLE t (a INTEGER, b REAL, c TEXT)"), QS_DONE);
  in[0].type = QS_TINT; in[0].u.i = INT64_C(9007199254740993);
  in[1].type = QS_TFLOAT; in[1].u.f = 2.5;
  in[2].type = QS_TTEXT; in[2].u.s.p = "h\0i"; in[2].u.s.n = 3;
  ASSERT_EQ(qs_conn_prepare(c, "INSERT INTO t VALUES (?, ?, ?)", 30, &s), QS_OK);
  ASSERT_EQ(qs_stmt_bind(s, 3, in), QS_OK);
  ASSERT_EQ(qs_stmt_step(s), QS_DONE);
  ASSERT_EQ(qs_conn_changes(c), 1);
  qs_stmt_release(s);
  ASSERT_EQ(qs_conn_prepare(c, "SELECT a, b, c, NULL FROM t", 27, &s), QS_OK);
  ASSERT_EQ(qs_stmt_step(s), QS_ROW);
  ASSERT_EQ(qs_stmt_column_count(s), 4);
  ASSERT_STR_EQ(qs_stmt_column_name(s, 2), "c");
  qs_stmt_column(s, 0, &out);
  ASSERT(out.type == QS_TINT && out.u.i == INT64_C(9007199254740993));
  qs_stmt_column(s, 1, &out);
  ASSERT(out.type == QS_TFLOAT && out.u.f == 2.5);
  qs_stmt_column(s, 2, &out);
  ASSERT(out.type == QS_TTEXT && out.u.s.n == 3 && memcmp(out.u.s.p, "h\0i", 3) == 0);
  qs_stmt_column(s, 3, &out);
  ASSERT(out.type == QS_TNULL);
  ASSERT_EQ(qs_stmt_step(s), QS_DONE);
  qs_stmt_release(s);
  qs_conn_free(c);
  return 0;
}

TEST_IMPL(sqlite_cache_hits) {
  qs_conn *c = test_open_memory();
  int64_t hits, misses;
  int size, i;
  ASSERT(c != NULL);
  for (i = 0; i < 5; i++) ASSERT_EQ(test_run_sql(c, "SELECT 1"), QS_ROW);
  qs_conn_cache_stats(c, &hits, &misses, &size);
  ASSERT_EQ(hits, 4);
  ASSERT_EQ(misses, 1);
  ASSERT_EQ(size, 1);
  qs_conn_free(c);
  return 0;
}

TEST_IMPL(sqlite_cache_in_use) {
  qs_conn *c = test_open_memory();
  qs_stmt *a, *b;
  int size;
  ASSERT(c != NULL);
  ASSERT_EQ(qs_conn_prepare(c, "SELECT 1", 8, &a), QS_OK);
  ASSERT_EQ(qs_conn_prepare(c, "SELECT 1", 8, &b), QS_OK);   /* a is busy */
  ASSERT(a != b);
  ASSERT_EQ(qs_stmt_step(a), QS_ROW);
  ASSERT_EQ(qs_stmt_step(b), QS_ROW);
  qs_stmt_release(b);   /* uncached: finalized */
  qs_stmt_release(a);
  qs_conn_cache_stats(c, NULL, NULL, &size);
  ASSERT_EQ(size, 1);
  qs_conn_free(c);
  return 0;
}

TEST_IMPL(sqlite_cache_evicts) {
  qs_conn *c = test_open_memory();
  char sql[32];
  int i, size;
  ASSERT(c != NULL);
  qs_conn_set_cache_size(c, 3);
  for (i = 0; i < 10; i++) {
    snprintf(sql, sizeof sql, "SELECT %d", i);
    ASSERT_EQ(test_run_sql(c, sql), QS_ROW);
  }
  qs_conn_cache_stats(c, NULL, NULL, &size);
  ASSERT_EQ(size, 3);
  qs_conn_set_cache_size(c, 0);
  qs_conn_cache_stats(c, NULL, NULL, &size);
  ASSERT_EQ(size, 0);
  qs_conn_free(c);
  return 0;
}

TEST_IMPL(sqlite_lazy_begin) {
  qs_conn *c = test_open_memory();
  ASSERT(c != NULL);
  ASSERT_EQ(test_run_sql(c, "CREATE TABLE t (a)"), QS_DONE);
  ASSERT_EQ(qs_conn_begin(c), QS_OK);
  ASSERT_EQ(qs_conn_txn_state(c), QS_TXN_BEGUN);
  ASSERT_EQ(count_rows(c), 0);          /* a read sends no BEGIN */
  ASSERT_EQ(qs_conn_txn_state(c), QS_TXN_BEGUN);
  ASSERT_EQ(test_run_sql(c, "INSERT INTO t VALUES (1)"), QS_DONE);
  ASSERT_EQ(qs_conn_txn_state(c), QS_TXN_SENT);
  ASSERT_EQ(qs_conn_rollback(c), QS_OK);
  ASSERT_EQ(qs_conn_txn_state(c), QS_TXN_NONE);
  ASSERT_EQ(count_rows(c), 0);
  ASSERT_EQ(qs_conn_begin(c), QS_OK);
  ASSERT(qs_conn_begin(c) == QS_MISUSE);
  ASSERT_EQ(qs_conn_commit(c), QS_OK);   /* nothing sent, nothing to end */
  qs_conn_free(c);
  return 0;
}

TEST_IMPL(sqlite_savepoint) {
  qs_conn *c = test_open_memory();
  ASSERT(c != NULL);
  ASSERT_EQ(test_run_sql(c, "CREATE TABLE t (a)"), QS_DONE);
  ASSERT_EQ(qs_conn_begin(c), QS_OK);
  ASSERT_EQ(test_run_sql(c, "INSERT INTO t VALUES (1)"), QS_DONE);
  ASSERT_EQ(qs_conn_savepoint(c, "sp_1"), QS_OK);
  ASSERT_EQ(test_run_sql(c, "INSERT INTO t VALUES (2)"), QS_DONE);
  ASSERT_EQ(qs_conn_rollback_to(c, "sp_1"), QS_OK);
  ASSERT_EQ(qs_conn_release(c, "sp_1"), QS_OK);
  ASSERT_EQ(qs_conn_commit(c), QS_OK);
  ASSERT_EQ(count_rows(c), 1);
  ASSERT_EQ(qs_conn_savepoint(c, "bad name; DROP TABLE t"), QS_ARGUMENT);
  ASSERT_EQ(qs_conn_savepoint(c, "1x"), QS_ARGUMENT);
  qs_conn_free(c);
  return 0;
}

TEST_IMPL(sqlite_errors) {
  qs_conn *c = test_open_memory();
  const qs_error *err;
  ASSERT(c != NULL);
  ASSERT_EQ(test_run_sql(c, "CREATE TABLE t (a UNIQUE, CONSTRAINT pos CHECK (a > 0))"), QS_DONE);
  ASSERT_EQ(test_run_sql(c, "INSERT INTO t VALUES (1)"), QS_DONE);
  ASSERT_EQ(test_run_sql(c, "INSERT INTO t VALUES (1)"), QS_INTEGRITY);
  err = qs_conn_error(c);
  ASSERT(strstr(err->message, "UNIQUE") != NULL);
  ASSERT_EQ(test_run_sql(c, "INSERT INTO t VALUES (-1)"), QS_INTEGRITY);
  ASSERT(qs_conn_error(c)->constraint != NULL);
  ASSERT_STR_EQ(qs_conn_error(c)->constraint, "pos");
  ASSERT_EQ(test_run_sql(c, "SELEC 1"), QS_PROGRAMMING);
  ASSERT_EQ(test_run_sql(c, "SELECT 1; SELECT 2"), QS_PROGRAMMING);
  ASSERT_EQ(test_run_sql(c, "   "), QS_PROGRAMMING);
  qs_conn_free(c);
  return 0;
}

/* executemany binds text without copying it (the values outlive the call)
** and clears the bindings however it ends: a failing row stops the batch,
** and the statement is reused from the cache afterwards. */
TEST_IMPL(sqlite_execmany) {
  qs_conn *c = test_open_memory();
  qs_stmt *s;
  qs_value v[6], out;
  int64_t changes = 0;
  char buf[3][24];
  int i;
  ASSERT(c != NULL);
  ASSERT_EQ(test_run_sql(c, "CREATE TABLE t (a INTEGER UNIQUE, b TEXT)"), QS_DONE);
  for (i = 0; i < 3; i++) {
    snprintf(buf[i], sizeof buf[i], "row %d", i);
    v[2 * i].type = QS_TINT;
    v[2 * i].u.i = i;
    v[2 * i + 1].type = QS_TTEXT;
    v[2 * i + 1].u.s.p = buf[i];
    v[2 * i + 1].u.s.n = strlen(buf[i]);
  }
  ASSERT_EQ(qs_conn_prepare(c, "INSERT INTO t VALUES (?, ?)", 27, &s), QS_OK);
  ASSERT_EQ(qs_stmt_execmany(s, 3, 2, v, &changes), QS_OK);
  ASSERT_EQ(changes, 3);
  qs_stmt_release(s);
  memset(buf, 'x', sizeof buf);   /* the text was read during the call */
  ASSERT_EQ(qs_conn_prepare(c, "SELECT b FROM t WHERE a = 2", 27, &s), QS_OK);
  ASSERT_EQ(qs_stmt_step(s), QS_ROW);
  qs_stmt_column(s, 0, &out);
  ASSERT(out.type == QS_TTEXT && out.u.s.n == 5 && memcmp(out.u.s.p, "row 2", 5) == 0);
  qs_stmt_release(s);
  /* the second set repeats a = 1: the batch stops there */
  v[0].u.i = 10;
  v[2].u.i = 1;
  changes = 0;
  ASSERT_EQ(qs_conn_prepare(c, "INSERT INTO t VALUES (?, ?)", 27, &s), QS_OK);
  ASSERT_EQ(qs_stmt_execmany(s, 3, 2, v, &changes), QS_INTEGRITY);
  ASSERT_EQ(changes, 1);
  qs_stmt_release(s);
  /* the cached statement works again with new values */
  v[2].u.i = 11;
  v[4].u.i = 12;
  changes = 0;
  ASSERT_EQ(qs_conn_prepare(c, "INSERT INTO t VALUES (?, ?)", 27, &s), QS_OK);
  ASSERT_EQ(qs_stmt_execmany(s, 2, 2, v + 2, &changes), QS_OK);
  ASSERT_EQ(changes, 2);
  qs_stmt_release(s);
  ASSERT_EQ(count_rows(c), 6);
  qs_conn_free(c);
  return 0;
}

TEST_IMPL(sqlite_bind_count) {
  qs_conn *c = test_open_memory();
  qs_stmt *s;
  qs_value v;
  ASSERT(c != NULL);
  v.type = QS_TINT; v.u.i = 1;
  ASSERT_EQ(qs_conn_prepare(c, "SELECT ?, ?", 11, &s), QS_OK);
  ASSERT_EQ(qs_stmt_param_count(s), 2);
  ASSERT_EQ(qs_stmt_bind(s, 1, &v), QS_ARGUMENT);
  ASSERT(strstr(qs_conn_error(c)->message, "takes 2") != NULL);
  qs_stmt_release(s);
  qs_conn_free(c);
  return 0;
}

TEST_IMPL(sqlite_close_detaches) {
  qs_conn *c = test_open_memory();
  qs_stmt *s, *u;
  ASSERT(c != NULL);
  ASSERT_EQ(qs_conn_prepare(c, "SELECT 1", 8, &s), QS_OK);
  ASSERT_EQ(qs_conn_prepare(c, "SELECT 1", 8, &u), QS_OK);
  qs_conn_close(c);
  qs_conn_close(c);   /* idempotent */
  ASSERT_EQ(qs_stmt_step(s), QS_CLOSED);
  ASSERT(qs_stmt_conn(s) == NULL);
  ASSERT_EQ(qs_conn_begin(c), QS_CLOSED);
  qs_stmt_release(s);
  qs_stmt_release(u);
  qs_conn_free(c);
  return 0;
}

/* qs_stmt_reset: the statement is ready to be bound and run again from its
** first row; detached from a closed connection it fails with QS_CLOSED. */
TEST_IMPL(sqlite_stmt_reset) {
  static const char *const sql = "SELECT ? UNION ALL SELECT 2";
  qs_conn *c = test_open_memory();
  qs_stmt *s;
  qs_value in, out;
  ASSERT(c != NULL);
  ASSERT_EQ(qs_conn_prepare(c, sql, strlen(sql), &s), QS_OK);
  in.type = QS_TINT;
  in.u.i = 7;
  ASSERT_EQ(qs_stmt_bind(s, 1, &in), QS_OK);
  ASSERT_EQ(qs_stmt_step(s), QS_ROW);
  ASSERT_EQ(qs_stmt_step(s), QS_ROW);
  qs_stmt_column(s, 0, &out);
  ASSERT(out.type == QS_TINT && out.u.i == 2);
  ASSERT_EQ(qs_stmt_reset(s), QS_OK);
  in.u.i = 8;
  ASSERT_EQ(qs_stmt_bind(s, 1, &in), QS_OK);
  ASSERT_EQ(qs_stmt_step(s), QS_ROW);   /* the first row again, with the new value */
  qs_stmt_column(s, 0, &out);
  ASSERT(out.type == QS_TINT && out.u.i == 8);
  qs_conn_close(c);
  ASSERT_EQ(qs_stmt_reset(s), QS_CLOSED);
  qs_stmt_release(s);
  qs_conn_free(c);
  return 0;
}

TEST_IMPL(sqlite_bad_open) {
  const char *keys[] = {"database"};
  const char *vals[] = {"/nonexistent-dir/x/y.db"};
  qs_conn *c = NULL;
  qs_error err;
  memset(&err, 0, sizeof err);
  ASSERT_EQ(qs_conn_open(&qs_sqlite3_driver, 1, keys, vals, &c, &err), QS_OPERATIONAL);
  ASSERT(c == NULL);
  ASSERT(err.message != NULL);
  qs_error_clear(&err);
  return 0;
}
