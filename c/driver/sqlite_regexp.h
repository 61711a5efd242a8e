/*
** sqlite_regexp.h: the regular expression functions the SQLite driver
** registers on every connection, so that regexp_match / regexp_replace work
** without an extension (SQLite parses "x REGEXP p" but has no function
** behind it; SQLAlchemy registers Python's re.search the same way).
*/
#ifndef QS_SQLITE_REGEXP_H
#define QS_SQLITE_REGEXP_H

#include <sqlite3.h>

/* regexp(pattern, string[, flags]) and regexp_replace(string, pattern,
** replacement[, flags]); an SQLite result code. */
int qs__sqlite_register_regexp(sqlite3 *db);

#endif
