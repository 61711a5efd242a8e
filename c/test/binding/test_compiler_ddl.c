/*
** test_compiler_ddl.c: the compiler's DDL per dialect: CREATE/DROP TABLE
** with column definitions and constraints, indexes (partial, USING,
** prefix lengths), the migration statements (ADD/DROP/RENAME/ALTER
** COLUMN, constraints, COMMENT ON), and the checks on what is written as
** text (referential actions, table options, access methods).
*/
#include "harness.h"

TEST_IMPL(compiler_create_drop_table) {
  lua_State *L = bt_state();
  ASSERT(L != NULL);
  EXPECT_SQL(L, "sqlite", "local cols = {{name = 'id', type = INT, nullable = false, _autoinc = true}, {name = 'name', type = STR, nullable = true, server_default = B('d', 'x', STR), comment = 'the name'}, {name = 'at', type = TS, nullable = true, server_default = F('now')}} local t = {_k = K.TABLE, name = 'ev', columns = cols, comment = 'events', mysql_engine = 'InnoDB'} return {_k = K.CREATE_TABLE, element = t, constraints = {{kind = 'primary_key', columns = {'id'}}}}",
    "CREATE TABLE ev (\n\tid INTEGER NOT NULL, \n\tname VARCHAR(50) DEFAULT 'x', \n\t\"at\" DATETIME DEFAULT (CURRENT_TIMESTAMP), \n\tPRIMARY KEY (id)\n)");
  EXPECT_SQL(L, "postgresql", "local cols = {{name = 'id', type = INT, nullable = false, _autoinc = true}, {name = 'name', type = STR, nullable = true, server_default = B('d', 'x', STR), comment = 'the name'}, {name = 'at', type = TS, nullable = true, server_default = F('now')}} local t = {_k = K.TABLE, name = 'ev', columns = cols, comment = 'events', mysql_engine = 'InnoDB'} return {_k = K.CREATE_TABLE, element = t, constraints = {{kind = 'primary_key', columns = {'id'}}}}",
    "CREATE TABLE ev (\n\tid SERIAL NOT NULL, \n\tname VARCHAR(50) DEFAULT 'x', \n\t\"at\" TIMESTAMP WITH TIME ZONE DEFAULT now(), \n\tPRIMARY KEY (id)\n)");
  EXPECT_SQL(L, "mysql mariadb", "local cols = {{name = 'id', type = INT, nullable = false, _autoinc = true}, {name = 'name', type = STR, nullable = true, server_default = B('d', 'x', STR), comment = 'the name'}, {name = 'at', type = TS, nullable = true, server_default = F('now')}} local t = {_k = K.TABLE, name = 'ev', columns = cols, comment = 'events', mysql_engine = 'InnoDB'} return {_k = K.CREATE_TABLE, element = t, constraints = {{kind = 'primary_key', columns = {'id'}}}}",
    "CREATE TABLE ev (\n\tid INTEGER NOT NULL AUTO_INCREMENT, \n\tname VARCHAR(50) DEFAULT 'x' COMMENT 'the name', \n\t`at` DATETIME DEFAULT now(), \n\tPRIMARY KEY (id)\n) ENGINE=InnoDB COMMENT='events'");
  EXPECT_SQL(L, "sqlite", "local cols = {{name = 'id', type = INT, nullable = false, _autoinc = true}, {name = 'name', type = STR, nullable = true, server_default = B('d', 'x', STR), comment = 'the name'}, {name = 'at', type = TS, nullable = true, server_default = F('now')}} local t = {_k = K.TABLE, name = 'ev', columns = cols, comment = 'events', mysql_engine = 'InnoDB'} return {_k = K.CREATE_TABLE, element = t, if_not_exists = true, constraints = {{kind = 'unique', name = 'uq', columns = {'name'}}, {kind = 'check', name = 'ck', sqltext = BIN('GT', C(t, 'id'), A(0))}}}",
    "CREATE TABLE IF NOT EXISTS ev (\n\tid INTEGER NOT NULL, \n\tname VARCHAR(50) DEFAULT 'x', \n\t\"at\" DATETIME DEFAULT (CURRENT_TIMESTAMP), \n\tCONSTRAINT uq UNIQUE (name), \n\tCONSTRAINT ck CHECK (id > 0)\n)");
  EXPECT_SQL(L, "postgresql", "local cols = {{name = 'id', type = INT, nullable = false, _autoinc = true}, {name = 'name', type = STR, nullable = true, server_default = B('d', 'x', STR), comment = 'the name'}, {name = 'at', type = TS, nullable = true, server_default = F('now')}} local t = {_k = K.TABLE, name = 'ev', columns = cols, comment = 'events', mysql_engine = 'InnoDB'} return {_k = K.CREATE_TABLE, element = t, if_not_exists = true, constraints = {{kind = 'unique', name = 'uq', columns = {'name'}}, {kind = 'check', name = 'ck', sqltext = BIN('GT', C(t, 'id'), A(0))}}}",
    "CREATE TABLE IF NOT EXISTS ev (\n\tid SERIAL NOT NULL, \n\tname VARCHAR(50) DEFAULT 'x', \n\t\"at\" TIMESTAMP WITH TIME ZONE DEFAULT now(), \n\tCONSTRAINT uq UNIQUE (name), \n\tCONSTRAINT ck CHECK (id > 0)\n)");
  EXPECT_SQL(L, "mysql mariadb", "local cols = {{name = 'id', type = INT, nullable = false, _autoinc = true}, {name = 'name', type = STR, nullable = true, server_default = B('d', 'x', STR), comment = 'the name'}, {name = 'at', type = TS, nullable = true, server_default = F('now')}} local t = {_k = K.TABLE, name = 'ev', columns = cols, comment = 'events', mysql_engine = 'InnoDB'} return {_k = K.CREATE_TABLE, element = t, if_not_exists = true, constraints = {{kind = 'unique', name = 'uq', columns = {'name'}}, {kind = 'check', name = 'ck', sqltext = BIN('GT', C(t, 'id'), A(0))}}}",
    "CREATE TABLE IF NOT EXISTS ev (\n\tid INTEGER NOT NULL AUTO_INCREMENT, \n\tname VARCHAR(50) DEFAULT 'x' COMMENT 'the name', \n\t`at` DATETIME DEFAULT now(), \n\tCONSTRAINT uq UNIQUE (name), \n\tCONSTRAINT ck CHECK (id > 0)\n) ENGINE=InnoDB COMMENT='events'");
  EXPECT_SQL(L, "sqlite", "local cols = {{name = 'id', type = INT, nullable = false, _autoinc = true}, {name = 'name', type = STR, nullable = true, server_default = B('d', 'x', STR), comment = 'the name'}, {name = 'at', type = TS, nullable = true, server_default = F('now')}} local t = {_k = K.TABLE, name = 'ev', columns = cols, comment = 'events', mysql_engine = 'InnoDB'} return {_k = K.CREATE_TABLE, element = t, constraints = {{kind = 'foreign_key', columns = {'id'}, ref_table = 'users', ref_schema = 'app', ref_columns = {'id'}, ondelete = 'cascade', onupdate = 'SET NULL'}}}",
    "CREATE TABLE ev (\n\tid INTEGER NOT NULL, \n\tname VARCHAR(50) DEFAULT 'x', \n\t\"at\" DATETIME DEFAULT (CURRENT_TIMESTAMP), \n\tFOREIGN KEY(id) REFERENCES app.users (id) ON DELETE CASCADE ON UPDATE SET NULL\n)");
  EXPECT_SQL(L, "postgresql", "local cols = {{name = 'id', type = INT, nullable = false, _autoinc = true}, {name = 'name', type = STR, nullable = true, server_default = B('d', 'x', STR), comment = 'the name'}, {name = 'at', type = TS, nullable = true, server_default = F('now')}} local t = {_k = K.TABLE, name = 'ev', columns = cols, comment = 'events', mysql_engine = 'InnoDB'} return {_k = K.CREATE_TABLE, element = t, constraints = {{kind = 'foreign_key', columns = {'id'}, ref_table = 'users', ref_schema = 'app', ref_columns = {'id'}, ondelete = 'cascade', onupdate = 'SET NULL'}}}",
    "CREATE TABLE ev (\n\tid SERIAL NOT NULL, \n\tname VARCHAR(50) DEFAULT 'x', \n\t\"at\" TIMESTAMP WITH TIME ZONE DEFAULT now(), \n\tFOREIGN KEY(id) REFERENCES app.users (id) ON DELETE CASCADE ON UPDATE SET NULL\n)");
  EXPECT_SQL(L, "mysql mariadb", "local cols = {{name = 'id', type = INT, nullable = false, _autoinc = true}, {name = 'name', type = STR, nullable = true, server_default = B('d', 'x', STR), comment = 'the name'}, {name = 'at', type = TS, nullable = true, server_default = F('now')}} local t = {_k = K.TABLE, name = 'ev', columns = cols, comment = 'events', mysql_engine = 'InnoDB'} return {_k = K.CREATE_TABLE, element = t, constraints = {{kind = 'foreign_key', columns = {'id'}, ref_table = 'users', ref_schema = 'app', ref_columns = {'id'}, ondelete = 'cascade', onupdate = 'SET NULL'}}}",
    "CREATE TABLE ev (\n\tid INTEGER NOT NULL AUTO_INCREMENT, \n\tname VARCHAR(50) DEFAULT 'x' COMMENT 'the name', \n\t`at` DATETIME DEFAULT now(), \n\tFOREIGN KEY(id) REFERENCES app.users (id) ON DELETE CASCADE ON UPDATE SET NULL\n) ENGINE=InnoDB COMMENT='events'");
  /* deferrable: not on MySQL */
  EXPECT_SQL(L, "sqlite", "local cols = {{name = 'id', type = INT, nullable = false, _autoinc = true}, {name = 'name', type = STR, nullable = true, server_default = B('d', 'x', STR), comment = 'the name'}, {name = 'at', type = TS, nullable = true, server_default = F('now')}} local t = {_k = K.TABLE, name = 'ev', columns = cols, comment = 'events', mysql_engine = 'InnoDB'} return {_k = K.CREATE_TABLE, element = t, constraints = {{kind = 'foreign_key', columns = {'id'}, ref_table = 'users', ref_columns = {'id'}, deferrable = true, initially = 'DEFERRED'}}}",
    "CREATE TABLE ev (\n\tid INTEGER NOT NULL, \n\tname VARCHAR(50) DEFAULT 'x', \n\t\"at\" DATETIME DEFAULT (CURRENT_TIMESTAMP), \n\tFOREIGN KEY(id) REFERENCES users (id) DEFERRABLE INITIALLY DEFERRED\n)");
  EXPECT_SQL(L, "postgresql", "local cols = {{name = 'id', type = INT, nullable = false, _autoinc = true}, {name = 'name', type = STR, nullable = true, server_default = B('d', 'x', STR), comment = 'the name'}, {name = 'at', type = TS, nullable = true, server_default = F('now')}} local t = {_k = K.TABLE, name = 'ev', columns = cols, comment = 'events', mysql_engine = 'InnoDB'} return {_k = K.CREATE_TABLE, element = t, constraints = {{kind = 'foreign_key', columns = {'id'}, ref_table = 'users', ref_columns = {'id'}, deferrable = true, initially = 'DEFERRED'}}}",
    "CREATE TABLE ev (\n\tid SERIAL NOT NULL, \n\tname VARCHAR(50) DEFAULT 'x', \n\t\"at\" TIMESTAMP WITH TIME ZONE DEFAULT now(), \n\tFOREIGN KEY(id) REFERENCES users (id) DEFERRABLE INITIALLY DEFERRED\n)");
  EXPECT_ERROR(L, "mysql mariadb", "local cols = {{name = 'id', type = INT, nullable = false, _autoinc = true}, {name = 'name', type = STR, nullable = true, server_default = B('d', 'x', STR), comment = 'the name'}, {name = 'at', type = TS, nullable = true, server_default = F('now')}} local t = {_k = K.TABLE, name = 'ev', columns = cols, comment = 'events', mysql_engine = 'InnoDB'} return {_k = K.CREATE_TABLE, element = t, constraints = {{kind = 'foreign_key', columns = {'id'}, ref_table = 'users', ref_columns = {'id'}, deferrable = true, initially = 'DEFERRED'}}}",
    "MySQL/MariaDB constraints cannot be deferred (deferrable, initially)");
  /* SQLite defers only foreign keys */
  EXPECT_ERROR(L, "sqlite", "local cols = {{name = 'id', type = INT, nullable = false, _autoinc = true}, {name = 'name', type = STR, nullable = true, server_default = B('d', 'x', STR), comment = 'the name'}, {name = 'at', type = TS, nullable = true, server_default = F('now')}} local t = {_k = K.TABLE, name = 'ev', columns = cols, comment = 'events', mysql_engine = 'InnoDB'} return {_k = K.CREATE_TABLE, element = t, constraints = {{kind = 'unique', columns = {'id'}, deferrable = false}}}",
    "SQLite defers only foreign keys (deferrable, initially)");
  EXPECT_SQL(L, "postgresql", "local cols = {{name = 'id', type = INT, nullable = false, _autoinc = true}, {name = 'name', type = STR, nullable = true, server_default = B('d', 'x', STR), comment = 'the name'}, {name = 'at', type = TS, nullable = true, server_default = F('now')}} local t = {_k = K.TABLE, name = 'ev', columns = cols, comment = 'events', mysql_engine = 'InnoDB'} return {_k = K.CREATE_TABLE, element = t, constraints = {{kind = 'unique', columns = {'id'}, deferrable = false}}}",
    "CREATE TABLE ev (\n\tid SERIAL NOT NULL, \n\tname VARCHAR(50) DEFAULT 'x', \n\t\"at\" TIMESTAMP WITH TIME ZONE DEFAULT now(), \n\tUNIQUE (id) NOT DEFERRABLE\n)");
  EXPECT_ERROR(L, "mysql mariadb", "local cols = {{name = 'id', type = INT, nullable = false, _autoinc = true}, {name = 'name', type = STR, nullable = true, server_default = B('d', 'x', STR), comment = 'the name'}, {name = 'at', type = TS, nullable = true, server_default = F('now')}} local t = {_k = K.TABLE, name = 'ev', columns = cols, comment = 'events', mysql_engine = 'InnoDB'} return {_k = K.CREATE_TABLE, element = t, constraints = {{kind = 'unique', columns = {'id'}, deferrable = false}}}",
    "MySQL/MariaDB constraints cannot be deferred (deferrable, initially)");
  /* referential actions come from a fixed list */
  EXPECT_ERROR(L, ALL, "local cols = {{name = 'id', type = INT, nullable = false, _autoinc = true}, {name = 'name', type = STR, nullable = true, server_default = B('d', 'x', STR), comment = 'the name'}, {name = 'at', type = TS, nullable = true, server_default = F('now')}} local t = {_k = K.TABLE, name = 'ev', columns = cols, comment = 'events', mysql_engine = 'InnoDB'} return {_k = K.CREATE_TABLE, element = t, constraints = {{kind = 'foreign_key', columns = {'id'}, ref_table = 'users', ref_columns = {'id'}, ondelete = 'EXPLODE'}}}",
    "invalid ondelete action 'EXPLODE' (expected CASCADE, SET NULL, SET DEF");
  EXPECT_ERROR(L, ALL, "local cols = {{name = 'id', type = INT, nullable = false, _autoinc = true}, {name = 'name', type = STR, nullable = true, server_default = B('d', 'x', STR), comment = 'the name'}, {name = 'at', type = TS, nullable = true, server_default = F('now')}} local t = {_k = K.TABLE, name = 'ev', columns = cols, comment = 'events', mysql_engine = 'InnoDB'} return {_k = K.CREATE_TABLE, element = t, constraints = {{kind = 'exclude'}}}",
    "unknown constraint kind 'exclude'");
  EXPECT_ERROR(L, ALL, "local cols = {{name = 'id', type = INT, nullable = false, _autoinc = true}, {name = 'name', type = STR, nullable = true, server_default = B('d', 'x', STR), comment = 'the name'}, {name = 'at', type = TS, nullable = true, server_default = F('now')}} local t = {_k = K.TABLE, name = 'ev', columns = cols, comment = 'events', mysql_engine = 'InnoDB'} return {_k = K.CREATE_TABLE, element = t, constraints = {{columns = {'id'}}}}",
    "constraint without a kind");
  EXPECT_ERROR(L, ALL, "local cols = {{name = 'id', type = INT, nullable = false, _autoinc = true}, {name = 'name', type = STR, nullable = true, server_default = B('d', 'x', STR), comment = 'the name'}, {name = 'at', type = TS, nullable = true, server_default = F('now')}} local t = {_k = K.TABLE, name = 'ev', columns = cols, comment = 'events', mysql_engine = 'InnoDB'} return {_k = K.CREATE_TABLE, element = t, constraints = {{kind = 'unique', columns = {true}}}}",
    "constraint column names must be strings");
  /* a table needs a column */
  EXPECT_ERROR(L, ALL, "return {_k = K.CREATE_TABLE, element = {_k = K.TABLE, name = 'e', columns = {}}}",
    "a table needs at least one column");
  /* table options are bare names */
  EXPECT_ERROR(L, "mysql", "return {_k = K.CREATE_TABLE, element = {_k = K.TABLE, name = 'e', mysql_engine = 'x; DROP', columns = {{name = 'id', type = INT}}}}",
    "mysql_engine must be a bare name, not 'x; DROP'");
  EXPECT_ERROR(L, ALL, "return {_k = K.CREATE_TABLE, element = {_k = K.TABLE, name = 'e', columns = {{name = 'k', type = {_t = 'ENUM', enums = {'a', \"b'c\"}}}, {name = 'n', type = {_t = 'NULL'}}}}}",
    "a column of unknown type (NullType) has no DDL");
  EXPECT_SQL(L, "sqlite postgresql", "return {_k = K.CREATE_TABLE, element = {_k = K.TABLE, name = 'e', columns = {{name = 'v', type = {_t = 'VARCHAR', length = 10, collation = 'C'}, nullable = true}}}}",
    "CREATE TABLE e (\n\tv VARCHAR(10) COLLATE \"C\"\n)");
  EXPECT_SQL(L, "mysql mariadb", "return {_k = K.CREATE_TABLE, element = {_k = K.TABLE, name = 'e', columns = {{name = 'v', type = {_t = 'VARCHAR', length = 10, collation = 'C'}, nullable = true}}}}",
    "CREATE TABLE e (\n\tv VARCHAR(10) COLLATE `C`\n)");
  EXPECT_SQL(L, ALL, "return {_k = K.DROP_TABLE, element = users, if_exists = true}",
    "DROP TABLE IF EXISTS users");
  EXPECT_SQL(L, ALL, "return {_k = K.DROP_TABLE, element = T('ev', 'app')}",
    "DROP TABLE app.ev");
  lua_close(L);
  return 0;
}

TEST_IMPL(compiler_indexes) {
  lua_State *L = bt_state();
  ASSERT(L != NULL);
  EXPECT_SQL(L, ALL, "return {_k = K.CREATE_INDEX, name = 'ix_name', table = users, expressions = {uname}}",
    "CREATE INDEX ix_name ON users (name)");
  EXPECT_SQL(L, "sqlite", "return {_k = K.CREATE_INDEX, name = 'ix_u', unique = true, if_not_exists = true, table = T('ev', 'app'), expressions = {uname, uid}, _mysql_lengths = {10}, postgresql_using = 'gin'}",
    "CREATE UNIQUE INDEX IF NOT EXISTS ix_u ON app.ev (name, id)");
  EXPECT_SQL(L, "postgresql", "return {_k = K.CREATE_INDEX, name = 'ix_u', unique = true, if_not_exists = true, table = T('ev', 'app'), expressions = {uname, uid}, _mysql_lengths = {10}, postgresql_using = 'gin'}",
    "CREATE UNIQUE INDEX IF NOT EXISTS ix_u ON app.ev USING gin (name, id)");
  EXPECT_SQL(L, "mysql mariadb", "return {_k = K.CREATE_INDEX, name = 'ix_u', unique = true, if_not_exists = true, table = T('ev', 'app'), expressions = {uname, uid}, _mysql_lengths = {10}, postgresql_using = 'gin'}",
    "CREATE UNIQUE INDEX IF NOT EXISTS ix_u ON app.ev (name(10), id)");
  /* a partial index: each dialect's own option, values inline */
  EXPECT_SQL(L, "sqlite", "return {_k = K.CREATE_INDEX, name = 'ix_p', table = users, expressions = {uname}, postgresql_where = BIN('GT', uid, A(5)), sqlite_where = BIN('GT', uid, A(6))}",
    "CREATE INDEX ix_p ON users (name) WHERE id > 6");
  EXPECT_SQL(L, "postgresql", "return {_k = K.CREATE_INDEX, name = 'ix_p', table = users, expressions = {uname}, postgresql_where = BIN('GT', uid, A(5)), sqlite_where = BIN('GT', uid, A(6))}",
    "CREATE INDEX ix_p ON users (name) WHERE id > 5");
  EXPECT_SQL(L, "mysql mariadb", "return {_k = K.CREATE_INDEX, name = 'ix_p', table = users, expressions = {uname}, postgresql_where = BIN('GT', uid, A(5)), sqlite_where = BIN('GT', uid, A(6))}",
    "CREATE INDEX ix_p ON users (name)");
  EXPECT_ERROR(L, "postgresql", "return {_k = K.CREATE_INDEX, name = 'ix', table = users, expressions = {uname}, postgresql_using = 'btree; DROP'}",
    "postgresql_using must be an access method name, not 'btree; DROP'");
  EXPECT_ERROR(L, ALL, "return {_k = K.CREATE_INDEX, table = users, expressions = {uname}}",
    "an index needs a name");
  EXPECT_SQL(L, "sqlite postgresql", "return {_k = K.DROP_INDEX, name = 'ix_name', table = T('ev', 'app'), if_exists = true}",
    "DROP INDEX IF EXISTS app.ix_name");
  EXPECT_SQL(L, "mysql mariadb", "return {_k = K.DROP_INDEX, name = 'ix_name', table = T('ev', 'app'), if_exists = true}",
    "DROP INDEX IF EXISTS ix_name ON app.ev");
  lua_close(L);
  return 0;
}

TEST_IMPL(compiler_alter_ddl) {
  lua_State *L = bt_state();
  ASSERT(L != NULL);
  EXPECT_SQL(L, ALL, "return {_k = K.ADD_COLUMN, element = users, column = {name = 'age', type = INT, nullable = true, server_default = A(0)}}",
    "ALTER TABLE users ADD COLUMN age INTEGER DEFAULT 0");
  EXPECT_SQL(L, ALL, "return {_k = K.DROP_COLUMN, element = users, name = 'age'}",
    "ALTER TABLE users DROP COLUMN age");
  EXPECT_ERROR(L, ALL, "return {_k = K.DROP_COLUMN, element = users}",
    "dropping a column needs its name");
  EXPECT_SQL(L, ALL, "return {_k = K.RENAME_TABLE, element = users, new_name = 'people'}",
    "ALTER TABLE users RENAME TO people");
  EXPECT_ERROR(L, ALL, "return {_k = K.RENAME_TABLE, element = users}",
    "renaming a table needs the new name");
  EXPECT_SQL(L, ALL, "return {_k = K.RENAME_COLUMN, element = users, name = 'name', new_name = 'title'}",
    "ALTER TABLE users RENAME COLUMN name TO title");
  EXPECT_ERROR(L, ALL, "return {_k = K.RENAME_COLUMN, element = users, name = 'name'}",
    "renaming a column needs the new name");
  EXPECT_ERROR(L, "sqlite", "return {_k = K.ALTER_COLUMN, element = users, name = 'name', type = STR, nullable = false, server_default = B('d', 'x', STR), comment = 'c'}",
    "SQLite cannot alter a column's type, nullability or default in place; ");
  EXPECT_SQL(L, "postgresql", "return {_k = K.ALTER_COLUMN, element = users, name = 'name', type = STR, nullable = false, server_default = B('d', 'x', STR), comment = 'c'}",
    "ALTER TABLE users ALTER COLUMN name TYPE VARCHAR(50), ALTER COLUMN name SET NOT NULL, ALTER COLUMN name SET DEFAULT 'x'");
  EXPECT_SQL(L, "mysql mariadb", "return {_k = K.ALTER_COLUMN, element = users, name = 'name', type = STR, nullable = false, server_default = B('d', 'x', STR), comment = 'c'}",
    "ALTER TABLE users MODIFY COLUMN name VARCHAR(50) NOT NULL DEFAULT 'x' COMMENT 'c'");
  /* server_default = false drops it */
  EXPECT_ERROR(L, "sqlite", "return {_k = K.ALTER_COLUMN, element = users, name = 'name', server_default = false, nullable = true, type = STR}",
    "SQLite cannot alter a column's type, nullability or default in place; ");
  EXPECT_SQL(L, "postgresql", "return {_k = K.ALTER_COLUMN, element = users, name = 'name', server_default = false, nullable = true, type = STR}",
    "ALTER TABLE users ALTER COLUMN name TYPE VARCHAR(50), ALTER COLUMN name DROP NOT NULL, ALTER COLUMN name DROP DEFAULT");
  EXPECT_SQL(L, "mysql mariadb", "return {_k = K.ALTER_COLUMN, element = users, name = 'name', server_default = false, nullable = true, type = STR}",
    "ALTER TABLE users MODIFY COLUMN name VARCHAR(50)");
  EXPECT_ERROR(L, "postgresql", "return {_k = K.ALTER_COLUMN, element = users, name = 'name'}",
    "alter_column: nothing to change");
  EXPECT_ERROR(L, "mysql", "return {_k = K.ALTER_COLUMN, element = users, name = 'name', nullable = true}",
    "MODIFY COLUMN needs the column's type");
  EXPECT_SQL(L, ALL, "return {_k = K.ADD_CONSTRAINT, element = users, constraint = {kind = 'foreign_key', name = 'fk', columns = {'team_id'}, ref_table = 'teams', ref_columns = {'id'}}}",
    "ALTER TABLE users ADD CONSTRAINT fk FOREIGN KEY(team_id) REFERENCES teams (id)");
  EXPECT_SQL(L, "sqlite postgresql", "return {_k = K.DROP_CONSTRAINT, element = users, name = 'fk', foreign_key = true}",
    "ALTER TABLE users DROP CONSTRAINT fk");
  EXPECT_SQL(L, "mysql mariadb", "return {_k = K.DROP_CONSTRAINT, element = users, name = 'fk', foreign_key = true}",
    "ALTER TABLE users DROP FOREIGN KEY fk");
  EXPECT_SQL(L, "sqlite postgresql", "return {_k = K.DROP_CONSTRAINT, element = users, name = 'uq', unique = true}",
    "ALTER TABLE users DROP CONSTRAINT uq");
  EXPECT_SQL(L, "mysql mariadb", "return {_k = K.DROP_CONSTRAINT, element = users, name = 'uq', unique = true}",
    "ALTER TABLE users DROP INDEX uq");
  EXPECT_ERROR(L, ALL, "return {_k = K.DROP_CONSTRAINT, element = users}",
    "dropping a constraint needs its name");
  /* COMMENT ON: PostgreSQL's */
  EXPECT_ERROR(L, "sqlite mysql mariadb", "return {_k = K.COMMENT_ON, element = users, comment = \"it's\"}",
    "COMMENT ON is PostgreSQL's (MySQL keeps comments in the CREATE TABLE)");
  EXPECT_SQL(L, "postgresql", "return {_k = K.COMMENT_ON, element = users, comment = \"it's\"}",
    "COMMENT ON TABLE users IS 'it''s'");
  EXPECT_SQL(L, "postgresql", "return {_k = K.COMMENT_ON, element = users, column = 'name'}",
    "COMMENT ON COLUMN users.name IS NULL");
  lua_close(L);
  return 0;
}
