/*
** fuzz_pgdriver.c: the PostgreSQL wire driver (c/driver/wire_pg.c) as a
** whole, its state machine fed server bytes from the input over the
** external transport (wire_driver.h): startup and authentication (trust,
** cleartext, MD5, SCRAM with the password "pencil"), prepare/describe,
** bind, rows, errors and notices at any point, the peer closing anywhere.
*/
#include "wire_driver.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const char *const keys[] = {"host", "port", "user", "database", "transport", "sslmode",
                                     "password"};
  static const char *const vals[] = {"db.example", "5432", "user", "d", "external", "disable",
                                     "pencil"};
  session(&qs_pgwire_driver, 7, keys, vals, "SELECT $1::int, $2", data, size);
  return 0;
}
