/*
** test_compiler_stmt.c: the compiler's statements per dialect: SELECT's
** clauses, FOR UPDATE, compounds and CTEs, INSERT (multi-row, DEFAULT
** VALUES, from a SELECT, RETURNING, both upsert forms), UPDATE and DELETE
** (with other tables, RETURNING), and what each dialect refuses.
*/
#include "harness.h"

TEST_IMPL(compiler_select_clauses) {
  lua_State *L = bt_state();
  ASSERT(L != NULL);
  EXPECT_SQL(L, "sqlite mysql mariadb", "return SEL({uname, F('count', uid)}, {users}, {_distinct = true, _group_by = {uname}, _having = BIN('GT', F('count', uid), A(1)), _order_by = {uname}})",
    "SELECT DISTINCT users.name, count(users.id) AS count_1 FROM users GROUP BY users.name HAVING count(users.id) > ? ORDER BY users.name");
  EXPECT_SQL(L, "postgresql", "return SEL({uname, F('count', uid)}, {users}, {_distinct = true, _group_by = {uname}, _having = BIN('GT', F('count', uid), A(1)), _order_by = {uname}})",
    "SELECT DISTINCT users.name, count(users.id) AS count_1 FROM users GROUP BY users.name HAVING count(users.id) > $1::INTEGER ORDER BY users.name");
  /* DISTINCT ON: PostgreSQL's */
  EXPECT_ERROR(L, "sqlite", "return SEL({uid}, {users}, {_distinct_on = {uteam}, _order_by = {uteam}})",
    "DISTINCT ON is PostgreSQL's; dialect sqlite has no such form");
  EXPECT_SQL(L, "postgresql", "return SEL({uid}, {users}, {_distinct_on = {uteam}, _order_by = {uteam}})",
    "SELECT DISTINCT ON (users.team_id) users.id FROM users ORDER BY users.team_id");
  EXPECT_ERROR(L, "mysql", "return SEL({uid}, {users}, {_distinct_on = {uteam}, _order_by = {uteam}})",
    "DISTINCT ON is PostgreSQL's; dialect mysql has no such form");
  EXPECT_ERROR(L, "mariadb", "return SEL({uid}, {users}, {_distinct_on = {uteam}, _order_by = {uteam}})",
    "DISTINCT ON is PostgreSQL's; dialect mariadb has no such form");
  /* a label in ORDER BY is its name */
  EXPECT_SQL(L, ALL, "return SEL({LABEL('n', uname)}, {users}, {_order_by = {LABEL('n', uname)}})",
    "SELECT users.name AS n FROM users ORDER BY n");
  EXPECT_SQL(L, "sqlite mysql mariadb", "return SEL({uid}, {users}, {_limit = A(10)})",
    "SELECT users.id FROM users LIMIT ?");
  EXPECT_SQL(L, "postgresql", "return SEL({uid}, {users}, {_limit = A(10)})",
    "SELECT users.id FROM users LIMIT $1");
  /* OFFSET without LIMIT per dialect */
  EXPECT_SQL(L, "sqlite", "return SEL({uid}, {users}, {_offset = A(5)})",
    "SELECT users.id FROM users LIMIT -1 OFFSET ?");
  EXPECT_SQL(L, "postgresql", "return SEL({uid}, {users}, {_offset = A(5)})",
    "SELECT users.id FROM users OFFSET $1");
  EXPECT_SQL(L, "mysql mariadb", "return SEL({uid}, {users}, {_offset = A(5)})",
    "SELECT users.id FROM users LIMIT ?, 18446744073709551615");
  EXPECT_SQL(L, "sqlite", "return SEL({uid}, {users}, {_limit = A(10), _offset = A(5)})",
    "SELECT users.id FROM users LIMIT ? OFFSET ?");
  EXPECT_SQL(L, "postgresql", "return SEL({uid}, {users}, {_limit = A(10), _offset = A(5)})",
    "SELECT users.id FROM users LIMIT $1 OFFSET $2");
  EXPECT_SQL(L, "mysql mariadb", "return SEL({uid}, {users}, {_limit = A(10), _offset = A(5)})",
    "SELECT users.id FROM users LIMIT ?, ?");
  /* two FROMs */
  EXPECT_SQL(L, ALL, "return SEL({uid}, {users, teams})",
    "SELECT users.id FROM users, teams");
  /* correlate(): nothing from outside is kept out */
  EXPECT_SQL(L, ALL, "return SEL({uid}, {users}, {_where = {_k = K.IN, left = uteam, select = SEL({tid}, {teams, users}, {_where = BIN('EQ', tid, uteam), _correlate = {}})}})",
    "SELECT users.id FROM users WHERE users.team_id IN (SELECT teams.id FROM teams, users WHERE teams.id = users.team_id)");
  lua_close(L);
  return 0;
}

TEST_IMPL(compiler_for_update) {
  lua_State *L = bt_state();
  ASSERT(L != NULL);
  EXPECT_SQL(L, "sqlite", "return SEL({uid}, {users}, {_for_update = {}})",
    "SELECT users.id FROM users");
  EXPECT_SQL(L, "postgresql mysql mariadb", "return SEL({uid}, {users}, {_for_update = {}})",
    "SELECT users.id FROM users FOR UPDATE");
  EXPECT_SQL(L, "sqlite", "return SEL({uid}, {users}, {_for_update = {read = true}})",
    "SELECT users.id FROM users");
  EXPECT_SQL(L, "postgresql", "return SEL({uid}, {users}, {_for_update = {read = true}})",
    "SELECT users.id FROM users FOR SHARE");
  EXPECT_SQL(L, "mysql mariadb", "return SEL({uid}, {users}, {_for_update = {read = true}})",
    "SELECT users.id FROM users LOCK IN SHARE MODE");
  EXPECT_SQL(L, "sqlite", "return SEL({uid}, {users}, {_for_update = {nowait = true}})",
    "SELECT users.id FROM users");
  EXPECT_SQL(L, "postgresql mysql mariadb", "return SEL({uid}, {users}, {_for_update = {nowait = true}})",
    "SELECT users.id FROM users FOR UPDATE NOWAIT");
  EXPECT_SQL(L, "sqlite", "return SEL({uid}, {users}, {_for_update = {skip_locked = true, of = {users}}})",
    "SELECT users.id FROM users");
  EXPECT_SQL(L, "postgresql mysql", "return SEL({uid}, {users}, {_for_update = {skip_locked = true, of = {users}}})",
    "SELECT users.id FROM users FOR UPDATE OF users SKIP LOCKED");
  EXPECT_ERROR(L, "mariadb", "return SEL({uid}, {users}, {_for_update = {skip_locked = true, of = {users}}})",
    "with_for_update: MariaDB has no FOR UPDATE OF (of)");
  EXPECT_SQL(L, "sqlite", "return SEL({uid}, {users}, {_for_update = {key_share = true}})",
    "SELECT users.id FROM users");
  EXPECT_SQL(L, "postgresql", "return SEL({uid}, {users}, {_for_update = {key_share = true}})",
    "SELECT users.id FROM users FOR NO KEY UPDATE");
  EXPECT_ERROR(L, "mysql mariadb", "return SEL({uid}, {users}, {_for_update = {key_share = true}})",
    "with_for_update: key_share is PostgreSQL's (FOR NO KEY UPDATE / FOR KE");
  EXPECT_SQL(L, "sqlite", "return SEL({uid}, {users}, {_for_update = {read = true, of = {users}}})",
    "SELECT users.id FROM users");
  EXPECT_SQL(L, "postgresql", "return SEL({uid}, {users}, {_for_update = {read = true, of = {users}}})",
    "SELECT users.id FROM users FOR SHARE OF users");
  EXPECT_ERROR(L, "mysql", "return SEL({uid}, {users}, {_for_update = {read = true, of = {users}}})",
    "with_for_update: LOCK IN SHARE MODE takes no OF (of)");
  EXPECT_ERROR(L, "mariadb", "return SEL({uid}, {users}, {_for_update = {read = true, of = {users}}})",
    "with_for_update: MariaDB has no FOR UPDATE OF (of)");
  EXPECT_SQL(L, "sqlite", "return SEL({uid}, {users}, {_for_update = {of = {uid}}})",
    "SELECT users.id FROM users");
  EXPECT_ERROR(L, "postgresql mysql", "return SEL({uid}, {users}, {_for_update = {of = {uid}}})",
    "with_for_update: of must name tables or aliases");
  EXPECT_ERROR(L, "mariadb", "return SEL({uid}, {users}, {_for_update = {of = {uid}}})",
    "with_for_update: MariaDB has no FOR UPDATE OF (of)");
  lua_close(L);
  return 0;
}

TEST_IMPL(compiler_compounds_and_ctes) {
  lua_State *L = bt_state();
  ASSERT(L != NULL);
  EXPECT_SQL(L, ALL, "return {_k = K.COMPOUND, op = 'UNION', selects = {SEL({uid}, {users}), SEL({tid}, {teams})}}",
    "SELECT users.id FROM users UNION SELECT teams.id FROM teams");
  ASSERT(strncmp(bt_compile(L, "sqlite", "return {_k = K.COMPOUND, op = 'UNION', selects = {SEL({uid}, {users}), SEL({tid}, {teams})}}"), "ERROR", 5) != 0);
  EXPECT_EVAL(L, "return table.concat(R.result_names, ',')", "id");
  EXPECT_SQL(L, "sqlite postgresql mariadb", "return {_k = K.COMPOUND, op = 'EXCEPT ALL', selects = {SEL({uid}, {users}), SEL({tid}, {teams})}}",
    "SELECT users.id FROM users EXCEPT ALL SELECT teams.id FROM teams");
  EXPECT_ERROR(L, "mysql", "return {_k = K.COMPOUND, op = 'EXCEPT ALL', selects = {SEL({uid}, {users}), SEL({tid}, {teams})}}",
    "EXCEPT ALL is not supported by dialect mysql");
  /* a member with its own LIMIT; ORDER BY over a compound is unqualified */
  EXPECT_SQL(L, "sqlite", "return {_k = K.COMPOUND, op = 'UNION ALL', selects = {SEL({uid}, {users}, {_limit = A(1)}), SEL({tid}, {teams})}, _order_by = {uid}, _limit = A(2)}",
    "SELECT * FROM (SELECT users.id FROM users LIMIT ?) UNION ALL SELECT teams.id FROM teams ORDER BY id LIMIT ?");
  EXPECT_SQL(L, "postgresql", "return {_k = K.COMPOUND, op = 'UNION ALL', selects = {SEL({uid}, {users}, {_limit = A(1)}), SEL({tid}, {teams})}, _order_by = {uid}, _limit = A(2)}",
    "(SELECT users.id FROM users LIMIT $1) UNION ALL SELECT teams.id FROM teams ORDER BY id LIMIT $2");
  EXPECT_SQL(L, "mysql mariadb", "return {_k = K.COMPOUND, op = 'UNION ALL', selects = {SEL({uid}, {users}, {_limit = A(1)}), SEL({tid}, {teams})}, _order_by = {uid}, _limit = A(2)}",
    "(SELECT users.id FROM users LIMIT ?) UNION ALL SELECT teams.id FROM teams ORDER BY id LIMIT ?");
  EXPECT_ERROR(L, ALL, "return {_k = K.COMPOUND, op = 'JOIN', selects = {SEL({uid}, {users})}}",
    "invalid set operation");
  EXPECT_SQL(L, "sqlite mysql mariadb", "local cte = {_k = K.CTE, name = 'rich', element = SEL({uid}, {users}, {_where = BIN('GT', uid, A(1))})} return SEL({C(cte, 'id')}, {cte}), {ctes = {cte}}",
    "WITH rich AS (SELECT users.id FROM users WHERE users.id > ?) SELECT rich.id FROM rich");
  EXPECT_SQL(L, "postgresql", "local cte = {_k = K.CTE, name = 'rich', element = SEL({uid}, {users}, {_where = BIN('GT', uid, A(1))})} return SEL({C(cte, 'id')}, {cte}), {ctes = {cte}}",
    "WITH rich AS (SELECT users.id FROM users WHERE users.id > $1) SELECT rich.id FROM rich");
  EXPECT_SQL(L, ALL, "local cte = {_k = K.CTE, name = 'r', recursive = true, element = SEL({uid}, {users})} return SEL({C(cte, 'id')}, {cte}), {ctes = {cte}}",
    "WITH RECURSIVE r AS (SELECT users.id FROM users) SELECT r.id FROM r");
  lua_close(L);
  return 0;
}

TEST_IMPL(compiler_insert) {
  lua_State *L = bt_state();
  ASSERT(L != NULL);
  EXPECT_SQL(L, "sqlite mysql mariadb", "return {_k = K.INSERT, table = users, _pairs = {{uid, B('id', 1)}, {uname, B('name', 'a', STR)}}}",
    "INSERT INTO users (id, name) VALUES (?, ?)");
  EXPECT_SQL(L, "postgresql", "return {_k = K.INSERT, table = users, _pairs = {{uid, B('id', 1)}, {uname, B('name', 'a', STR)}}}",
    "INSERT INTO users (id, name) VALUES ($1, $2)");
  ASSERT(strncmp(bt_compile(L, "sqlite", "return {_k = K.INSERT, table = users, _pairs = {{uid, B('id', 1)}, {uname, B('name', 'a', STR)}}}"), "ERROR", 5) != 0);
  EXPECT_EVAL(L, "return table.concat(R.keys, ',')", "id,name");
  EXPECT_EVAL(L, "return R.values.name", "a");
  /* multi-row VALUES */
  EXPECT_SQL(L, "sqlite mysql mariadb", "return {_k = K.INSERT, table = users, _pairs = {{uid, B('id', 1)}}, _rows = {{A(2)}, {A(3)}}}",
    "INSERT INTO users (id) VALUES (?), (?), (?)");
  EXPECT_SQL(L, "postgresql", "return {_k = K.INSERT, table = users, _pairs = {{uid, B('id', 1)}}, _rows = {{A(2)}, {A(3)}}}",
    "INSERT INTO users (id) VALUES ($1), ($2), ($3)");
  /* DEFAULT VALUES per dialect */
  EXPECT_SQL(L, "sqlite postgresql", "return {_k = K.INSERT, table = users}",
    "INSERT INTO users DEFAULT VALUES");
  EXPECT_SQL(L, "mysql mariadb", "return {_k = K.INSERT, table = users}",
    "INSERT INTO users () VALUES ()");
  EXPECT_SQL(L, ALL, "return {_k = K.INSERT, table = users, _select = SEL({tid, tname}, {teams}), _select_columns = {uid, uname}}",
    "INSERT INTO users (id, name) SELECT teams.id, teams.name FROM teams");
  /* RETURNING: not on MySQL */
  EXPECT_SQL(L, "sqlite mariadb", "return {_k = K.INSERT, table = users, _pairs = {{uname, B('name', 'a', STR)}}, _returning = {uid, LABEL('n', BIN('ADD', uid, A(1)))}}",
    "INSERT INTO users (name) VALUES (?) RETURNING users.id, users.id + ? AS n");
  EXPECT_SQL(L, "postgresql", "return {_k = K.INSERT, table = users, _pairs = {{uname, B('name', 'a', STR)}}, _returning = {uid, LABEL('n', BIN('ADD', uid, A(1)))}}",
    "INSERT INTO users (name) VALUES ($1) RETURNING users.id, users.id + $2 AS n");
  EXPECT_ERROR(L, "mysql", "return {_k = K.INSERT, table = users, _pairs = {{uname, B('name', 'a', STR)}}, _returning = {uid, LABEL('n', BIN('ADD', uid, A(1)))}}",
    "RETURNING is not supported by dialect mysql for INSERT");
  EXPECT_ERROR(L, ALL, "return {_k = K.INSERT, _pairs = {}}",
    "INSERT without a table");
  /* ON CONFLICT: PostgreSQL and SQLite */
  EXPECT_SQL(L, "sqlite", "return {_k = K.INSERT, table = users, _pairs = {{uid, B('id', 1)}}, _on_conflict = {kind = 'nothing'}}",
    "INSERT INTO users (id) VALUES (?) ON CONFLICT DO NOTHING");
  EXPECT_SQL(L, "postgresql", "return {_k = K.INSERT, table = users, _pairs = {{uid, B('id', 1)}}, _on_conflict = {kind = 'nothing'}}",
    "INSERT INTO users (id) VALUES ($1) ON CONFLICT DO NOTHING");
  EXPECT_ERROR(L, "mysql", "return {_k = K.INSERT, table = users, _pairs = {{uid, B('id', 1)}}, _on_conflict = {kind = 'nothing'}}",
    "ON CONFLICT is not supported by dialect mysql (use on_duplicate_key_up");
  EXPECT_ERROR(L, "mariadb", "return {_k = K.INSERT, table = users, _pairs = {{uid, B('id', 1)}}, _on_conflict = {kind = 'nothing'}}",
    "ON CONFLICT is not supported by dialect mariadb (use on_duplicate_key_");
  EXPECT_SQL(L, "sqlite", "return {_k = K.INSERT, table = users, _pairs = {{uid, B('id', 1)}, {uname, B('name', 'a', STR)}}, _on_conflict = {kind = 'update', index_elements = {uid}, set_ = {{uname, {_k = K.COLUMN, name = 'name', table = {_k = K.ALIAS, name = 'excluded', element = users}}}}, where = BIN('GT', uid, A(0))}}",
    "INSERT INTO users (id, name) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET name = excluded.name WHERE users.id > ?");
  EXPECT_SQL(L, "postgresql", "return {_k = K.INSERT, table = users, _pairs = {{uid, B('id', 1)}, {uname, B('name', 'a', STR)}}, _on_conflict = {kind = 'update', index_elements = {uid}, set_ = {{uname, {_k = K.COLUMN, name = 'name', table = {_k = K.ALIAS, name = 'excluded', element = users}}}}, where = BIN('GT', uid, A(0))}}",
    "INSERT INTO users (id, name) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET name = excluded.name WHERE users.id > $3");
  EXPECT_ERROR(L, "mysql", "return {_k = K.INSERT, table = users, _pairs = {{uid, B('id', 1)}, {uname, B('name', 'a', STR)}}, _on_conflict = {kind = 'update', index_elements = {uid}, set_ = {{uname, {_k = K.COLUMN, name = 'name', table = {_k = K.ALIAS, name = 'excluded', element = users}}}}, where = BIN('GT', uid, A(0))}}",
    "ON CONFLICT is not supported by dialect mysql (use on_duplicate_key_up");
  EXPECT_ERROR(L, "mariadb", "return {_k = K.INSERT, table = users, _pairs = {{uid, B('id', 1)}, {uname, B('name', 'a', STR)}}, _on_conflict = {kind = 'update', index_elements = {uid}, set_ = {{uname, {_k = K.COLUMN, name = 'name', table = {_k = K.ALIAS, name = 'excluded', element = users}}}}, where = BIN('GT', uid, A(0))}}",
    "ON CONFLICT is not supported by dialect mariadb (use on_duplicate_key_");
  /* ON CONSTRAINT: PostgreSQL's */
  EXPECT_ERROR(L, "sqlite", "return {_k = K.INSERT, table = users, _pairs = {{uid, B('id', 1)}}, _on_conflict = {kind = 'update', constraint = 'users_pkey', set_ = {{uname, A('z', STR)}}}}",
    "ON CONFLICT ON CONSTRAINT is not supported by dialect sqlite");
  EXPECT_SQL(L, "postgresql", "return {_k = K.INSERT, table = users, _pairs = {{uid, B('id', 1)}}, _on_conflict = {kind = 'update', constraint = 'users_pkey', set_ = {{uname, A('z', STR)}}}}",
    "INSERT INTO users (id) VALUES ($1) ON CONFLICT ON CONSTRAINT users_pkey DO UPDATE SET name = $2");
  EXPECT_ERROR(L, "mysql", "return {_k = K.INSERT, table = users, _pairs = {{uid, B('id', 1)}}, _on_conflict = {kind = 'update', constraint = 'users_pkey', set_ = {{uname, A('z', STR)}}}}",
    "ON CONFLICT is not supported by dialect mysql (use on_duplicate_key_up");
  EXPECT_ERROR(L, "mariadb", "return {_k = K.INSERT, table = users, _pairs = {{uid, B('id', 1)}}, _on_conflict = {kind = 'update', constraint = 'users_pkey', set_ = {{uname, A('z', STR)}}}}",
    "ON CONFLICT is not supported by dialect mariadb (use on_duplicate_key_");
  EXPECT_ERROR(L, "sqlite postgresql", "return {_k = K.INSERT, table = users, _pairs = {{uid, B('id', 1)}}, _on_conflict = {kind = 'update', set_ = {{uname, A('z', STR)}}}}",
    "on_conflict_do_update needs index_elements or constraint");
  EXPECT_ERROR(L, "mysql", "return {_k = K.INSERT, table = users, _pairs = {{uid, B('id', 1)}}, _on_conflict = {kind = 'update', set_ = {{uname, A('z', STR)}}}}",
    "ON CONFLICT is not supported by dialect mysql (use on_duplicate_key_up");
  EXPECT_ERROR(L, "mariadb", "return {_k = K.INSERT, table = users, _pairs = {{uid, B('id', 1)}}, _on_conflict = {kind = 'update', set_ = {{uname, A('z', STR)}}}}",
    "ON CONFLICT is not supported by dialect mariadb (use on_duplicate_key_");
  EXPECT_ERROR(L, "sqlite postgresql", "return {_k = K.INSERT, table = users, _pairs = {{uid, B('id', 1)}}, _on_conflict = {kind = 'update', index_elements = {uid}, set_ = {}}}",
    "an upsert needs values to set");
  EXPECT_ERROR(L, "mysql", "return {_k = K.INSERT, table = users, _pairs = {{uid, B('id', 1)}}, _on_conflict = {kind = 'update', index_elements = {uid}, set_ = {}}}",
    "ON CONFLICT is not supported by dialect mysql (use on_duplicate_key_up");
  EXPECT_ERROR(L, "mariadb", "return {_k = K.INSERT, table = users, _pairs = {{uid, B('id', 1)}}, _on_conflict = {kind = 'update', index_elements = {uid}, set_ = {}}}",
    "ON CONFLICT is not supported by dialect mariadb (use on_duplicate_key_");
  /* ON DUPLICATE KEY UPDATE: MySQL's */
  EXPECT_ERROR(L, "sqlite", "return {_k = K.INSERT, table = users, _pairs = {{uid, B('id', 1)}, {uname, B('name', 'a', STR)}}, _on_duplicate = {{uname, {_k = K.VALUES_REF, name = 'name'}}}}",
    "ON DUPLICATE KEY UPDATE is not supported by dialect sqlite (use on_con");
  EXPECT_ERROR(L, "postgresql", "return {_k = K.INSERT, table = users, _pairs = {{uid, B('id', 1)}, {uname, B('name', 'a', STR)}}, _on_duplicate = {{uname, {_k = K.VALUES_REF, name = 'name'}}}}",
    "ON DUPLICATE KEY UPDATE is not supported by dialect postgresql (use on");
  EXPECT_SQL(L, "mysql mariadb", "return {_k = K.INSERT, table = users, _pairs = {{uid, B('id', 1)}, {uname, B('name', 'a', STR)}}, _on_duplicate = {{uname, {_k = K.VALUES_REF, name = 'name'}}}}",
    "INSERT INTO users (id, name) VALUES (?, ?) ON DUPLICATE KEY UPDATE name = VALUES(name)");
  lua_close(L);
  return 0;
}

TEST_IMPL(compiler_update_delete) {
  lua_State *L = bt_state();
  ASSERT(L != NULL);
  EXPECT_SQL(L, "sqlite mysql mariadb", "return {_k = K.UPDATE, table = users, _pairs = {{uname, B('name', 'b', STR)}}, _where = BIN('EQ', uid, B('id', 1))}",
    "UPDATE users SET name=? WHERE users.id = ?");
  EXPECT_SQL(L, "postgresql", "return {_k = K.UPDATE, table = users, _pairs = {{uname, B('name', 'b', STR)}}, _where = BIN('EQ', uid, B('id', 1))}",
    "UPDATE users SET name=$1 WHERE users.id = $2");
  EXPECT_ERROR(L, ALL, "return {_k = K.UPDATE, table = users, _pairs = {}}",
    "UPDATE without values: call :values({...}) or pass parameters");
  /* UPDATE ... FROM; MySQL's multi-table form */
  EXPECT_SQL(L, "sqlite postgresql", "return {_k = K.UPDATE, table = users, _pairs = {{uname, tname}}, _where = BIN('EQ', uteam, tid), _extra_froms = {teams}}",
    "UPDATE users SET name=teams.name FROM teams WHERE users.team_id = teams.id");
  EXPECT_SQL(L, "mysql mariadb", "return {_k = K.UPDATE, table = users, _pairs = {{uname, tname}}, _where = BIN('EQ', uteam, tid), _extra_froms = {teams}}",
    "UPDATE users, teams SET users.name=teams.name WHERE users.team_id = teams.id");
  /* RETURNING: not on MySQL, nor UPDATE on MariaDB */
  EXPECT_SQL(L, "sqlite", "return {_k = K.UPDATE, table = users, _pairs = {{uname, A('x', STR)}}, _returning = {uid}}",
    "UPDATE users SET name=? RETURNING users.id");
  EXPECT_SQL(L, "postgresql", "return {_k = K.UPDATE, table = users, _pairs = {{uname, A('x', STR)}}, _returning = {uid}}",
    "UPDATE users SET name=$1 RETURNING users.id");
  EXPECT_ERROR(L, "mysql", "return {_k = K.UPDATE, table = users, _pairs = {{uname, A('x', STR)}}, _returning = {uid}}",
    "RETURNING is not supported by dialect mysql for UPDATE");
  EXPECT_ERROR(L, "mariadb", "return {_k = K.UPDATE, table = users, _pairs = {{uname, A('x', STR)}}, _returning = {uid}}",
    "RETURNING is not supported by dialect mariadb for UPDATE");
  EXPECT_SQL(L, "sqlite mysql mariadb", "return {_k = K.DELETE, table = users, _where = BIN('EQ', uid, A(1))}",
    "DELETE FROM users WHERE users.id = ?");
  EXPECT_SQL(L, "postgresql", "return {_k = K.DELETE, table = users, _where = BIN('EQ', uid, A(1))}",
    "DELETE FROM users WHERE users.id = $1");
  /* DELETE ... USING; not on SQLite */
  EXPECT_ERROR(L, "sqlite", "return {_k = K.DELETE, table = users, _where = BIN('EQ', uteam, tid), _extra_froms = {teams}}",
    "DELETE with other tables in WHERE (DELETE ... USING) is not supported ");
  EXPECT_SQL(L, "postgresql", "return {_k = K.DELETE, table = users, _where = BIN('EQ', uteam, tid), _extra_froms = {teams}}",
    "DELETE FROM users USING teams WHERE users.team_id = teams.id");
  EXPECT_SQL(L, "mysql mariadb", "return {_k = K.DELETE, table = users, _where = BIN('EQ', uteam, tid), _extra_froms = {teams}}",
    "DELETE FROM users USING users, teams WHERE users.team_id = teams.id");
  EXPECT_SQL(L, "sqlite postgresql mariadb", "return {_k = K.DELETE, table = users, _returning = {uid}}",
    "DELETE FROM users RETURNING users.id");
  EXPECT_ERROR(L, "mysql", "return {_k = K.DELETE, table = users, _returning = {uid}}",
    "RETURNING is not supported by dialect mysql for DELETE");
  EXPECT_ERROR(L, ALL, "return {_k = K.DELETE}",
    "DELETE without a table");
  EXPECT_ERROR(L, ALL, "return {_k = K.UPDATE, _pairs = {{uname, A('x', STR)}}}",
    "UPDATE without a table");
  /* MySQL reads the target through a derived table */
  EXPECT_SQL(L, "mysql", "local sub = SEL({F('max', uid)}, {users}) return {_k = K.DELETE, table = users, _where = BIN('EQ', uid, {_k = K.SCALAR_SELECT, element = sub}), _extra_froms = {teams}}",
    "DELETE FROM users USING users, teams WHERE users.id = (SELECT max(users.id) AS max_1 FROM (SELECT * FROM users) AS users)");
  lua_close(L);
  return 0;
}
