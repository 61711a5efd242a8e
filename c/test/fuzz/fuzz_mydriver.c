/*
** fuzz_mydriver.c: the MySQL/MariaDB wire driver (c/driver/wire_my.c) as a
** whole, fed server bytes from the input over the external transport
** (wire_driver.h): the handshake and the auth plugins (native password,
** caching_sha2 fast and full paths, auth switch), COM_STMT_PREPARE and its
** column definitions, binary rows, OK/ERR/EOF anywhere, the peer closing.
*/
#include "wire_driver.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const char *const keys[] = {"host", "port", "user", "password", "database", "transport"};
  static const char *const vals[] = {"db.example", "3306", "qs", "secret", "qs_test", "external"};
  session(&qs_wire_my_driver, 6, keys, vals, "SELECT ?, ?", data, size);
  return 0;
}
