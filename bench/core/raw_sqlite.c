/*
** raw_sqlite.c: the floor. The Core workloads written straight against the
** sqlite3 C API with prepared statements, as fast as SQLite goes.
** Usage: raw_sqlite FILE ROWS GETS; prints "workload seconds" lines.
*/
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void check(int rc, sqlite3 *db) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
    fprintf(stderr, "sqlite: %s\n", sqlite3_errmsg(db));
    exit(1);
  }
}

int main(int argc, char **argv) {
  sqlite3 *db;
  sqlite3_stmt *st;
  int rows = atoi(argv[2]), gets = atoi(argv[3]), i;
  double t0;
  long long sum = 0;
  char name[32];
  check(sqlite3_open(argv[1], &db), db);
  check(sqlite3_exec(db, "CREATE TABLE item (id INTEGER PRIMARY KEY, name VARCHAR(40) NOT NULL, "
                         "qty INTEGER, price FLOAT, note VARCHAR(100))", NULL, NULL, NULL), db);
  t0 = now();
  check(sqlite3_exec(db, "BEGIN", NULL, NULL, NULL), db);
  check(sqlite3_prepare_v2(db, "INSERT INTO item (name, qty, price, note) VALUES (?, ?, ?, ?)", -1, &st, NULL), db);
  for (i = 1; i <= rows; i++) {
    snprintf(name, sizeof name, "item %d", i);
    sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, i);
    sqlite3_bind_double(st, 3, i * 0.5);
    sqlite3_bind_text(st, 4, "a note", -1, SQLITE_STATIC);
    check(sqlite3_step(st), db);
    sqlite3_reset(st);
  }
  sqlite3_finalize(st);
  check(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), db);
  printf("insert %.6f\n", now() - t0);
  t0 = now();
  check(sqlite3_prepare_v2(db, "SELECT id, name, qty, price, note FROM item", -1, &st, NULL), db);
  while (sqlite3_step(st) == SQLITE_ROW) {
    sum += sqlite3_column_int64(st, 0) + sqlite3_column_int64(st, 2);
    (void)sqlite3_column_text(st, 1);
    (void)sqlite3_column_double(st, 3);
    (void)sqlite3_column_text(st, 4);
  }
  sqlite3_finalize(st);
  printf("load %.6f\n", now() - t0);
  t0 = now();
  check(sqlite3_prepare_v2(db, "SELECT id, name, qty, price, note FROM item WHERE id = ?", -1, &st, NULL), db);
  for (i = 1; i <= gets; i++) {
    sqlite3_bind_int64(st, 1, (i * 7919) % rows + 1);
    if (sqlite3_step(st) == SQLITE_ROW) sum += sqlite3_column_int64(st, 2);
    sqlite3_reset(st);
  }
  sqlite3_finalize(st);
  printf("get %.6f\n", now() - t0);
  sqlite3_close(db);
  return sum == 0;
}
