/*
** test_compiler_expr.c: the compiler's expressions, one node kind and
** operator at a time, per dialect where the SQL differs: columns, tables,
** aliases, binds and their keys, literals, operators and their
** parentheses, functions, CASE, CAST, IN, BETWEEN, subqueries, joins, JSON
** access, windows, and the errors of bad nodes (unknown kind, a field of
** the wrong type, nesting deeper than QS_MAX_DEPTH).
*/
#include "harness.h"

TEST_IMPL(compiler_columns_tables_aliases) {
  lua_State *L = bt_state();
  ASSERT(L != NULL);
  EXPECT_SQL(L, ALL, "return SEL({uid, uname}, {users})",
    "SELECT users.id, users.name FROM users");
  /* a schema-qualified table */
  EXPECT_SQL(L, ALL, "return SEL({C(T('ev', 'app'), 'id')}, {T('ev', 'app')})",
    "SELECT app.ev.id FROM app.ev");
  /* a named alias */
  EXPECT_SQL(L, ALL, "local a = ALIAS(users, 'u') return SEL({C(a, 'id')}, {a})",
    "SELECT u.id FROM users AS u");
  /* an anonymous alias is named after its table */
  EXPECT_SQL(L, ALL, "local a = ALIAS(users) return SEL({C(a, 'id')}, {a})",
    "SELECT users_1.id FROM users AS users_1");
  /* reserved words are quoted per dialect */
  EXPECT_SQL(L, "sqlite postgresql", "return SEL({C(users, 'select')}, {users})",
    "SELECT users.\"select\" FROM users");
  EXPECT_SQL(L, "mysql mariadb", "return SEL({C(users, 'select')}, {users})",
    "SELECT users.`select` FROM users");
  EXPECT_SQL(L, "sqlite postgresql", "return SEL({C(users, 'Mixed')}, {users})",
    "SELECT users.\"Mixed\" FROM users");
  EXPECT_SQL(L, "mysql mariadb", "return SEL({C(users, 'Mixed')}, {users})",
    "SELECT users.`Mixed` FROM users");
  EXPECT_SQL(L, ALL, "return SEL({{_k = K.STAR, table = users}}, {users})",
    "SELECT users.* FROM users");
  EXPECT_SQL(L, ALL, "return SEL({{_k = K.STAR}}, {users})",
    "SELECT * FROM users");
  ASSERT(strncmp(bt_compile(L, "sqlite", "return SEL({{_k = K.STAR}}, {users})"), "ERROR", 5) != 0);
  EXPECT_EVAL(L, "return R.result_unknown", "true");
  EXPECT_SQL(L, ALL, "return SEL({{_k = K.LITERAL_COLUMN, text = 'users.id + 1'}}, {users})",
    "SELECT users.id + 1 FROM users");
  lua_close(L);
  return 0;
}

TEST_IMPL(compiler_binds_and_keys) {
  lua_State *L = bt_state();
  ASSERT(L != NULL);
  EXPECT_SQL(L, "sqlite mysql mariadb", "return SEL({uid}, {users}, {_where = BIN('EQ', uid, B('x', 7))})",
    "SELECT users.id FROM users WHERE users.id = ?");
  EXPECT_SQL(L, "postgresql", "return SEL({uid}, {users}, {_where = BIN('EQ', uid, B('x', 7))})",
    "SELECT users.id FROM users WHERE users.id = $1");
  ASSERT(strncmp(bt_compile(L, "sqlite", "return SEL({uid}, {users}, {_where = BIN('EQ', uid, B('x', 7))})"), "ERROR", 5) != 0);
  EXPECT_EVAL(L, "return table.concat(R.keys, ',')", "x");
  EXPECT_EVAL(L, "return R.values.x", "7");
  EXPECT_EVAL(L, "return R.checks[1] == CHECK.integer", "true");
  EXPECT_EVAL(L, "return R.npos", "1");
  /* a key used twice: one $n on PostgreSQL, two ? elsewhere */
  EXPECT_SQL(L, "sqlite mysql mariadb", "return SEL({uid}, {users}, {_where = LIST('AND', BIN('EQ', uid, B('x', 1)), BIN('NE', uteam, B('x', 1)))})",
    "SELECT users.id FROM users WHERE users.id = ? AND users.team_id != ?");
  EXPECT_SQL(L, "postgresql", "return SEL({uid}, {users}, {_where = LIST('AND', BIN('EQ', uid, B('x', 1)), BIN('NE', uteam, B('x', 1)))})",
    "SELECT users.id FROM users WHERE users.id = $1 AND users.team_id != $1");
  ASSERT(strncmp(bt_compile(L, "sqlite", "return SEL({uid}, {users}, {_where = LIST('AND', BIN('EQ', uid, B('x', 1)), BIN('NE', uteam, B('x', 1)))})"), "ERROR", 5) != 0);
  EXPECT_EVAL(L, "return table.concat(R.keys, ',')", "x,x");
  /* anonymous binds are numbered */
  EXPECT_SQL(L, "sqlite mysql mariadb", "return SEL({uid}, {users}, {_where = LIST('AND', BIN('EQ', uid, A(1)), BIN('EQ', uteam, A(2)))})",
    "SELECT users.id FROM users WHERE users.id = ? AND users.team_id = ?");
  EXPECT_SQL(L, "postgresql", "return SEL({uid}, {users}, {_where = LIST('AND', BIN('EQ', uid, A(1)), BIN('EQ', uteam, A(2)))})",
    "SELECT users.id FROM users WHERE users.id = $1 AND users.team_id = $2");
  ASSERT(strncmp(bt_compile(L, "sqlite", "return SEL({uid}, {users}, {_where = LIST('AND', BIN('EQ', uid, A(1)), BIN('EQ', uteam, A(2)))})"), "ERROR", 5) != 0);
  EXPECT_EVAL(L, "return table.concat(R.keys, ',')", "param_1,param_2");
  EXPECT_EVAL(L, "return R.values.param_2", "2");
  /* literal binds are quoted inline */
  EXPECT_SQL(L, ALL, "return SEL({uid}, {users}, {_where = BIN('EQ', uname, B('n', \"it's\", STR))}), {literal_binds = true}",
    "SELECT users.id FROM users WHERE users.name = 'it''s'");
  EXPECT_SQL(L, ALL, "return SEL({uid}, {users}, {_where = BIN('EQ', uid, B('n', 2.5))}), {literal_binds = true}",
    "SELECT users.id FROM users WHERE users.id = 2.5");
  /* a bare parameter as a column is typed on PostgreSQL */
  EXPECT_SQL(L, "sqlite mysql mariadb", "return SEL({LABEL('b', B('v', 1))}, {})",
    "SELECT ? AS b");
  EXPECT_SQL(L, "postgresql", "return SEL({LABEL('b', B('v', 1))}, {})",
    "SELECT $1::INTEGER AS b");
  /* parameters next to parameters get a cast on PostgreSQL */
  EXPECT_SQL(L, "sqlite mysql mariadb", "return SEL({uid}, {users}, {_where = BIN('EQ', uid, BIN('ADD', B('a', 1), B('b', 2)))})",
    "SELECT users.id FROM users WHERE users.id = ? + ?");
  EXPECT_SQL(L, "postgresql", "return SEL({uid}, {users}, {_where = BIN('EQ', uid, BIN('ADD', B('a', 1), B('b', 2)))})",
    "SELECT users.id FROM users WHERE users.id = $1::INTEGER + $2::INTEGER");
  /* a text clause's :names are binds */
  EXPECT_SQL(L, "sqlite mysql mariadb", "local tb = {_k = K.TEXT, text = 'users.id > :lo AND users.id < :hi', _defaults = {lo = 1}, _types = {hi = INT}} return SEL({uid}, {users}, {_where = tb})",
    "SELECT users.id FROM users WHERE users.id > ? AND users.id < ?");
  EXPECT_SQL(L, "postgresql", "local tb = {_k = K.TEXT, text = 'users.id > :lo AND users.id < :hi', _defaults = {lo = 1}, _types = {hi = INT}} return SEL({uid}, {users}, {_where = tb})",
    "SELECT users.id FROM users WHERE users.id > $1 AND users.id < $2::INTEGER");
  ASSERT(strncmp(bt_compile(L, "sqlite", "local tb = {_k = K.TEXT, text = 'users.id > :lo AND users.id < :hi', _defaults = {lo = 1}, _types = {hi = INT}} return SEL({uid}, {users}, {_where = tb})"), "ERROR", 5) != 0);
  EXPECT_EVAL(L, "return table.concat(R.keys, ',')", "lo,hi");
  EXPECT_EVAL(L, "return R.values.lo", "1");
  /* a text statement on its own; quoted text is left alone */
  EXPECT_SQL(L, "sqlite mysql mariadb", "return {_k = K.TEXT, text = 'SELECT :a, :a, \\':b\\''}",
    "SELECT ?, ?, ':b'");
  EXPECT_SQL(L, "postgresql", "return {_k = K.TEXT, text = 'SELECT :a, :a, \\':b\\''}",
    "SELECT $1, $1, ':b'");
  lua_close(L);
  return 0;
}

TEST_IMPL(compiler_literals_null_true_false) {
  lua_State *L = bt_state();
  ASSERT(L != NULL);
  EXPECT_SQL(L, "sqlite", "return SEL({LABEL('n', NULL_), LABEL('t', TRUE_), LABEL('f', FALSE_)}, {})",
    "SELECT NULL AS n, 1 AS t, 0 AS f");
  EXPECT_SQL(L, "postgresql mysql mariadb", "return SEL({LABEL('n', NULL_), LABEL('t', TRUE_), LABEL('f', FALSE_)}, {})",
    "SELECT NULL AS n, true AS t, false AS f");
  EXPECT_SQL(L, ALL, "return SEL({uid}, {users}, {_where = BIN('IS', uid, NULL_)})",
    "SELECT users.id FROM users WHERE users.id IS NULL");
  EXPECT_SQL(L, "sqlite", "return SEL({uid}, {users}, {_where = BIN('IS_NOT', uid, TRUE_)})",
    "SELECT users.id FROM users WHERE users.id IS NOT 1");
  EXPECT_SQL(L, "postgresql mysql mariadb", "return SEL({uid}, {users}, {_where = BIN('IS_NOT', uid, TRUE_)})",
    "SELECT users.id FROM users WHERE users.id IS NOT true");
  /* an empty AND is true, an empty OR false */
  EXPECT_SQL(L, "sqlite", "return SEL({uid}, {users}, {_where = LIST('AND')})",
    "SELECT users.id FROM users WHERE 1 = 1");
  EXPECT_SQL(L, "postgresql mysql mariadb", "return SEL({uid}, {users}, {_where = LIST('AND')})",
    "SELECT users.id FROM users WHERE true");
  EXPECT_SQL(L, "sqlite", "return SEL({uid}, {users}, {_where = LIST('OR')})",
    "SELECT users.id FROM users WHERE 1 != 1");
  EXPECT_SQL(L, "postgresql mysql mariadb", "return SEL({uid}, {users}, {_where = LIST('OR')})",
    "SELECT users.id FROM users WHERE false");
  lua_close(L);
  return 0;
}

TEST_IMPL(compiler_operators) {
  lua_State *L = bt_state();
  ASSERT(L != NULL);
  EXPECT_SQL(L, "sqlite mysql mariadb", "return SEL({uid}, {users}, {_where = LIST('AND', BIN('LT', uid, B('a', 1)), BIN('LE', uid, B('b', 2)), BIN('GT', uid, B('c', 3)), BIN('GE', uid, B('d', 4)))})",
    "SELECT users.id FROM users WHERE users.id < ? AND users.id <= ? AND users.id > ? AND users.id >= ?");
  EXPECT_SQL(L, "postgresql", "return SEL({uid}, {users}, {_where = LIST('AND', BIN('LT', uid, B('a', 1)), BIN('LE', uid, B('b', 2)), BIN('GT', uid, B('c', 3)), BIN('GE', uid, B('d', 4)))})",
    "SELECT users.id FROM users WHERE users.id < $1 AND users.id <= $2 AND users.id > $3 AND users.id >= $4");
  EXPECT_SQL(L, "sqlite mysql mariadb", "return SEL({LABEL('x', BIN('MOD', BIN('MUL', uid, B('a', 2)), B('b', 3)))}, {users})",
    "SELECT users.id * ? % ? AS x FROM users");
  EXPECT_SQL(L, "postgresql", "return SEL({LABEL('x', BIN('MOD', BIN('MUL', uid, B('a', 2)), B('b', 3)))}, {users})",
    "SELECT users.id * $1 % $2 AS x FROM users");
  EXPECT_SQL(L, "sqlite mysql mariadb", "return SEL({uid}, {users}, {_where = BIN('LIKE', uname, B('p', 'a%', STR))})",
    "SELECT users.id FROM users WHERE users.name LIKE ?");
  EXPECT_SQL(L, "postgresql", "return SEL({uid}, {users}, {_where = BIN('LIKE', uname, B('p', 'a%', STR))})",
    "SELECT users.id FROM users WHERE users.name LIKE $1");
  EXPECT_SQL(L, "sqlite mysql mariadb", "local e = BIN('NOT_LIKE', uname, B('p', 'a!%', STR)) e.escape = '!' return SEL({uid}, {users}, {_where = e})",
    "SELECT users.id FROM users WHERE users.name NOT LIKE ? ESCAPE '!'");
  EXPECT_SQL(L, "postgresql", "local e = BIN('NOT_LIKE', uname, B('p', 'a!%', STR)) e.escape = '!' return SEL({uid}, {users}, {_where = e})",
    "SELECT users.id FROM users WHERE users.name NOT LIKE $1 ESCAPE '!'");
  /* ILIKE: native on PostgreSQL, lower() elsewhere */
  EXPECT_SQL(L, "sqlite mysql mariadb", "return SEL({uid}, {users}, {_where = BIN('ILIKE', uname, B('p', 'a%', STR))})",
    "SELECT users.id FROM users WHERE lower(users.name) LIKE lower(?)");
  EXPECT_SQL(L, "postgresql", "return SEL({uid}, {users}, {_where = BIN('ILIKE', uname, B('p', 'a%', STR))})",
    "SELECT users.id FROM users WHERE users.name ILIKE $1");
  EXPECT_SQL(L, "sqlite mysql mariadb", "return SEL({uid}, {users}, {_where = BIN('NOT_ILIKE', uname, B('p', 'a%', STR))})",
    "SELECT users.id FROM users WHERE lower(users.name) NOT LIKE lower(?)");
  EXPECT_SQL(L, "postgresql", "return SEL({uid}, {users}, {_where = BIN('NOT_ILIKE', uname, B('p', 'a%', STR))})",
    "SELECT users.id FROM users WHERE users.name NOT ILIKE $1");
  /* || or concat() */
  EXPECT_SQL(L, "sqlite", "return SEL({LABEL('c', BIN('CONCAT', uname, B('s', 'x', STR)))}, {users})",
    "SELECT users.name || ? AS c FROM users");
  EXPECT_SQL(L, "postgresql", "return SEL({LABEL('c', BIN('CONCAT', uname, B('s', 'x', STR)))}, {users})",
    "SELECT users.name || $1 AS c FROM users");
  EXPECT_SQL(L, "mysql mariadb", "return SEL({LABEL('c', BIN('CONCAT', uname, B('s', 'x', STR)))}, {users})",
    "SELECT concat(users.name, ?) AS c FROM users");
  EXPECT_SQL(L, "sqlite mysql mariadb", "return SEL({LABEL('d', BIN('DIV', uid, B('n', 2)))}, {users})",
    "SELECT users.id / ? AS d FROM users");
  EXPECT_SQL(L, "postgresql", "return SEL({LABEL('d', BIN('DIV', uid, B('n', 2)))}, {users})",
    "SELECT users.id / $1 AS d FROM users");
  /* true division of integers */
  EXPECT_SQL(L, "sqlite", "return SEL({LABEL('d', BIN('TRUEDIV_INT', uid, uteam))}, {users})",
    "SELECT users.id / CAST(users.team_id AS REAL) AS d FROM users");
  EXPECT_SQL(L, "postgresql", "return SEL({LABEL('d', BIN('TRUEDIV_INT', uid, uteam))}, {users})",
    "SELECT users.id / CAST(users.team_id AS NUMERIC) AS d FROM users");
  EXPECT_SQL(L, "mysql mariadb", "return SEL({LABEL('d', BIN('TRUEDIV_INT', uid, uteam))}, {users})",
    "SELECT users.id / users.team_id AS d FROM users");
  EXPECT_SQL(L, "sqlite postgresql", "return SEL({LABEL('d', BIN('FLOORDIV_INT', uid, uteam))}, {users})",
    "SELECT users.id / users.team_id AS d FROM users");
  EXPECT_SQL(L, "mysql mariadb", "return SEL({LABEL('d', BIN('FLOORDIV_INT', uid, uteam))}, {users})",
    "SELECT users.id DIV users.team_id AS d FROM users");
  EXPECT_SQL(L, ALL, "return SEL({LABEL('d', BIN('FLOORDIV', uid, uteam))}, {users})",
    "SELECT FLOOR(users.id / users.team_id) AS d FROM users");
  EXPECT_SQL(L, ALL, "return SEL({LABEL('n', UN('NEG', uid))}, {users})",
    "SELECT -users.id AS n FROM users");
  /* not --, which starts a comment */
  EXPECT_SQL(L, ALL, "return SEL({LABEL('n', UN('NEG', UN('NEG', uid)))}, {users})",
    "SELECT - -users.id AS n FROM users");
  EXPECT_SQL(L, ALL, "return SEL({LABEL('n', UN('NEG', A(-5)))}, {}), {literal_binds = true}",
    "SELECT - -5 AS n");
  EXPECT_SQL(L, ALL, "return SEL({uid}, {users}, {_order_by = {LIST('COMMA', uid, uteam)}})",
    "SELECT users.id FROM users ORDER BY users.id, users.team_id");
  EXPECT_SQL(L, ALL, "return SEL({F('count', UN('DISTINCT', uname))}, {users})",
    "SELECT count(DISTINCT users.name) AS count_1 FROM users");
  EXPECT_SQL(L, ALL, "return SEL({uid}, {users}, {_order_by = {UN('NULLS_FIRST', UN('DESC', uname)), UN('NULLS_LAST', UN('ASC', uid))}})",
    "SELECT users.id FROM users ORDER BY users.name DESC NULLS FIRST, users.id ASC NULLS LAST");
  /* IS takes only NULL, TRUE or FALSE */
  EXPECT_ERROR(L, ALL, "return SEL({uid}, {users}, {_where = BIN('IS', uid, B('x', 1))})",
    "only NULL, TRUE or FALSE can follow IS");
  EXPECT_ERROR(L, ALL, "return SEL({uid}, {users}, {_where = {_k = K.BINARY, op = 999, left = uid, right = uid}})",
    "unknown operator code 999");
  EXPECT_ERROR(L, ALL, "return SEL({uid}, {users}, {_where = {_k = K.BINARY, op = O.NOT, left = uid, right = uid}})",
    "operator 3 is not binary");
  EXPECT_ERROR(L, ALL, "return SEL({uid}, {users}, {_where = {_k = K.UNARY, op = O.EQ, element = uid}})",
    "operator 4 is not unary");
  lua_close(L);
  return 0;
}

TEST_IMPL(compiler_precedence) {
  lua_State *L = bt_state();
  ASSERT(L != NULL);
  /* OR inside AND is parenthesized */
  EXPECT_SQL(L, "sqlite mysql mariadb", "return SEL({uid}, {users}, {_where = LIST('AND', LIST('OR', BIN('EQ', uid, A(1)), BIN('EQ', uid, A(2))), BIN('EQ', uteam, A(3)))})",
    "SELECT users.id FROM users WHERE (users.id = ? OR users.id = ?) AND users.team_id = ?");
  EXPECT_SQL(L, "postgresql", "return SEL({uid}, {users}, {_where = LIST('AND', LIST('OR', BIN('EQ', uid, A(1)), BIN('EQ', uid, A(2))), BIN('EQ', uteam, A(3)))})",
    "SELECT users.id FROM users WHERE (users.id = $1 OR users.id = $2) AND users.team_id = $3");
  /* AND inside OR is not */
  EXPECT_SQL(L, "sqlite mysql mariadb", "return SEL({uid}, {users}, {_where = LIST('OR', LIST('AND', BIN('EQ', uid, A(1)), BIN('EQ', uid, A(2))), BIN('EQ', uteam, A(3)))})",
    "SELECT users.id FROM users WHERE users.id = ? AND users.id = ? OR users.team_id = ?");
  EXPECT_SQL(L, "postgresql", "return SEL({uid}, {users}, {_where = LIST('OR', LIST('AND', BIN('EQ', uid, A(1)), BIN('EQ', uid, A(2))), BIN('EQ', uteam, A(3)))})",
    "SELECT users.id FROM users WHERE users.id = $1 AND users.id = $2 OR users.team_id = $3");
  /* a - (b - c) keeps its parentheses */
  EXPECT_SQL(L, "sqlite mysql mariadb", "return SEL({LABEL('x', BIN('SUB', uid, BIN('SUB', uteam, A(1))))}, {users})",
    "SELECT users.id - (users.team_id - ?) AS x FROM users");
  EXPECT_SQL(L, "postgresql", "return SEL({LABEL('x', BIN('SUB', uid, BIN('SUB', uteam, A(1))))}, {users})",
    "SELECT users.id - (users.team_id - $1) AS x FROM users");
  /* (a - b) - c needs none */
  EXPECT_SQL(L, "sqlite mysql mariadb", "return SEL({LABEL('x', BIN('SUB', BIN('SUB', uid, uteam), A(1)))}, {users})",
    "SELECT users.id - users.team_id - ? AS x FROM users");
  EXPECT_SQL(L, "postgresql", "return SEL({LABEL('x', BIN('SUB', BIN('SUB', uid, uteam), A(1)))}, {users})",
    "SELECT users.id - users.team_id - $1 AS x FROM users");
  /* + is associative: none */
  EXPECT_SQL(L, "sqlite mysql mariadb", "return SEL({LABEL('x', BIN('ADD', uid, BIN('ADD', uteam, A(1))))}, {users})",
    "SELECT users.id + users.team_id + ? AS x FROM users");
  EXPECT_SQL(L, "postgresql", "return SEL({LABEL('x', BIN('ADD', uid, BIN('ADD', uteam, A(1))))}, {users})",
    "SELECT users.id + users.team_id + $1 AS x FROM users");
  /* a * (b + c) */
  EXPECT_SQL(L, "sqlite mysql mariadb", "return SEL({LABEL('x', BIN('MUL', uid, BIN('ADD', uteam, A(1))))}, {users})",
    "SELECT users.id * (users.team_id + ?) AS x FROM users");
  EXPECT_SQL(L, "postgresql", "return SEL({LABEL('x', BIN('MUL', uid, BIN('ADD', uteam, A(1))))}, {users})",
    "SELECT users.id * (users.team_id + $1) AS x FROM users");
  /* a + b * c */
  EXPECT_SQL(L, "sqlite mysql mariadb", "return SEL({LABEL('x', BIN('ADD', uid, BIN('MUL', uteam, A(1))))}, {users})",
    "SELECT users.id + users.team_id * ? AS x FROM users");
  EXPECT_SQL(L, "postgresql", "return SEL({LABEL('x', BIN('ADD', uid, BIN('MUL', uteam, A(1))))}, {users})",
    "SELECT users.id + users.team_id * $1 AS x FROM users");
  /* NOT (a AND b) */
  EXPECT_SQL(L, "sqlite mysql mariadb", "return SEL({uid}, {users}, {_where = UN('NOT', LIST('AND', BIN('EQ', uid, A(1)), BIN('EQ', uteam, A(2))))})",
    "SELECT users.id FROM users WHERE NOT (users.id = ? AND users.team_id = ?)");
  EXPECT_SQL(L, "postgresql", "return SEL({uid}, {users}, {_where = UN('NOT', LIST('AND', BIN('EQ', uid, A(1)), BIN('EQ', uteam, A(2))))})",
    "SELECT users.id FROM users WHERE NOT (users.id = $1 AND users.team_id = $2)");
  /* comparisons of comparisons */
  EXPECT_SQL(L, "sqlite mysql mariadb", "return SEL({uid}, {users}, {_where = BIN('EQ', BIN('EQ', uid, A(1)), BIN('EQ', uteam, A(2)))})",
    "SELECT users.id FROM users WHERE users.id = ? = (users.team_id = ?)");
  EXPECT_SQL(L, "postgresql", "return SEL({uid}, {users}, {_where = BIN('EQ', BIN('EQ', uid, A(1)), BIN('EQ', uteam, A(2)))})",
    "SELECT users.id FROM users WHERE users.id = $1 = (users.team_id = $2)");
  /* a grouping */
  EXPECT_SQL(L, "sqlite mysql mariadb", "return SEL({uid}, {users}, {_where = {_k = K.GROUPING, element = BIN('ADD', uid, A(1))}})",
    "SELECT users.id FROM users WHERE (users.id + ?)");
  EXPECT_SQL(L, "postgresql", "return SEL({uid}, {users}, {_where = {_k = K.GROUPING, element = BIN('ADD', uid, A(1))}})",
    "SELECT users.id FROM users WHERE (users.id + $1)");
  lua_close(L);
  return 0;
}

TEST_IMPL(compiler_functions_case_cast) {
  lua_State *L = bt_state();
  ASSERT(L != NULL);
  /* count() is count(*), named count_1 */
  EXPECT_SQL(L, ALL, "return SEL({F('count')}, {users})",
    "SELECT count(*) AS count_1 FROM users");
  ASSERT(strncmp(bt_compile(L, "sqlite", "return SEL({F('count')}, {users})"), "ERROR", 5) != 0);
  EXPECT_EVAL(L, "return R.result_names[1]", "count_1");
  EXPECT_SQL(L, "sqlite mysql mariadb", "return SEL({F('lower', uname), F('coalesce', uname, B('d', 'x', STR))}, {users})",
    "SELECT lower(users.name) AS lower_1, coalesce(users.name, ?) AS coalesce_1 FROM users");
  EXPECT_SQL(L, "postgresql", "return SEL({F('lower', uname), F('coalesce', uname, B('d', 'x', STR))}, {users})",
    "SELECT lower(users.name) AS lower_1, coalesce(users.name, $1) AS coalesce_1 FROM users");
  /* now() per dialect; ANSI functions bare */
  EXPECT_SQL(L, "sqlite", "return SEL({F('now'), F('current_timestamp')}, {})",
    "SELECT CURRENT_TIMESTAMP AS now_1, CURRENT_TIMESTAMP AS current_timestamp_1");
  EXPECT_SQL(L, "postgresql mysql mariadb", "return SEL({F('now'), F('current_timestamp')}, {})",
    "SELECT now() AS now_1, CURRENT_TIMESTAMP AS current_timestamp_1");
  EXPECT_ERROR(L, ALL, "return SEL({F('bad name')}, {})",
    "invalid SQL function name 'bad name'");
  EXPECT_ERROR(L, ALL, "return SEL({{_k = K.FUNCTION, name = ''}}, {})",
    "function without a name");
  EXPECT_SQL(L, "sqlite mysql mariadb", "return SEL({LABEL('c', {_k = K.CASE, whens = {{BIN('EQ', uid, A(1)), B('one', 'one', STR)}}, else_ = B('other', 'other', STR)})}, {users})",
    "SELECT CASE WHEN users.id = ? THEN ? ELSE ? END AS c FROM users");
  EXPECT_SQL(L, "postgresql", "return SEL({LABEL('c', {_k = K.CASE, whens = {{BIN('EQ', uid, A(1)), B('one', 'one', STR)}}, else_ = B('other', 'other', STR)})}, {users})",
    "SELECT CASE WHEN users.id = $1 THEN $2 ELSE $3 END AS c FROM users");
  /* a simple CASE */
  EXPECT_SQL(L, "sqlite mysql mariadb", "return SEL({LABEL('c', {_k = K.CASE, value = uid, whens = {{A(1), A(10)}}})}, {users})",
    "SELECT CASE users.id WHEN ? THEN ? END AS c FROM users");
  EXPECT_SQL(L, "postgresql", "return SEL({LABEL('c', {_k = K.CASE, value = uid, whens = {{A(1), A(10)}}})}, {users})",
    "SELECT CASE users.id WHEN $1 THEN $2::INTEGER END AS c FROM users");
  EXPECT_SQL(L, "sqlite postgresql", "return SEL({LABEL('c', {_k = K.CAST, element = uname, type = INT})}, {users})",
    "SELECT CAST(users.name AS INTEGER) AS c FROM users");
  EXPECT_SQL(L, "mysql mariadb", "return SEL({LABEL('c', {_k = K.CAST, element = uname, type = INT})}, {users})",
    "SELECT CAST(users.name AS SIGNED INTEGER) AS c FROM users");
  EXPECT_SQL(L, "sqlite postgresql", "return SEL({LABEL('c', {_k = K.CAST, element = uid, type = STR})}, {users})",
    "SELECT CAST(users.id AS VARCHAR(50)) AS c FROM users");
  EXPECT_SQL(L, "mysql mariadb", "return SEL({LABEL('c', {_k = K.CAST, element = uid, type = STR})}, {users})",
    "SELECT CAST(users.id AS CHAR(50)) AS c FROM users");
  EXPECT_SQL(L, "sqlite", "return SEL({LABEL('c', {_k = K.CAST, element = uname, type = {_t = 'DATE'}})}, {users})",
    "SELECT date(users.name) AS c FROM users");
  EXPECT_SQL(L, "postgresql mysql mariadb", "return SEL({LABEL('c', {_k = K.CAST, element = uname, type = {_t = 'DATE'}})}, {users})",
    "SELECT CAST(users.name AS DATE) AS c FROM users");
  EXPECT_SQL(L, "sqlite postgresql", "return SEL({LABEL('c', {_k = K.CAST, element = uid, type = NUM})}, {users})",
    "SELECT CAST(users.id AS NUMERIC(10, 2)) AS c FROM users");
  EXPECT_SQL(L, "mysql mariadb", "return SEL({LABEL('c', {_k = K.CAST, element = uid, type = NUM})}, {users})",
    "SELECT CAST(users.id AS DECIMAL(10, 2)) AS c FROM users");
  EXPECT_SQL(L, "sqlite", "return SEL({LABEL('c', {_k = K.CAST, element = uid, type = {_t = 'INTERVAL'}})}, {users})",
    "SELECT CAST(users.id AS FLOAT) AS c FROM users");
  EXPECT_SQL(L, "postgresql", "return SEL({LABEL('c', {_k = K.CAST, element = uid, type = {_t = 'INTERVAL'}})}, {users})",
    "SELECT make_interval(secs => users.id) AS c FROM users");
  EXPECT_SQL(L, "mysql mariadb", "return SEL({LABEL('c', {_k = K.CAST, element = uid, type = {_t = 'INTERVAL'}})}, {users})",
    "SELECT CAST(users.id AS DOUBLE) AS c FROM users");
  EXPECT_SQL(L, "sqlite", "return SEL({LABEL('c', {_k = K.CAST, element = uid, type = JSONT})}, {users})",
    "SELECT CAST(users.id AS TEXT) AS c FROM users");
  EXPECT_SQL(L, "postgresql mysql", "return SEL({LABEL('c', {_k = K.CAST, element = uid, type = JSONT})}, {users})",
    "SELECT CAST(users.id AS JSON) AS c FROM users");
  EXPECT_SQL(L, "mariadb", "return SEL({LABEL('c', {_k = K.CAST, element = uid, type = JSONT})}, {users})",
    "SELECT users.id AS c FROM users");
  /* CAST without a type */
  EXPECT_ERROR(L, ALL, "return SEL({LABEL('c', {_k = K.CAST, element = uid, type = {}})}, {users})",
    "CAST without a type");
  lua_close(L);
  return 0;
}

TEST_IMPL(compiler_in_between_subqueries) {
  lua_State *L = bt_state();
  ASSERT(L != NULL);
  EXPECT_SQL(L, "sqlite mysql mariadb", "return SEL({uid}, {users}, {_where = {_k = K.IN, left = uid, values = {A(1), A(2)}}})",
    "SELECT users.id FROM users WHERE users.id IN (?, ?)");
  EXPECT_SQL(L, "postgresql", "return SEL({uid}, {users}, {_where = {_k = K.IN, left = uid, values = {A(1), A(2)}}})",
    "SELECT users.id FROM users WHERE users.id IN ($1, $2)");
  EXPECT_SQL(L, "sqlite mysql mariadb", "return SEL({uid}, {users}, {_where = {_k = K.IN, left = uid, values = {A(1)}, negate = true}})",
    "SELECT users.id FROM users WHERE users.id NOT IN (?)");
  EXPECT_SQL(L, "postgresql", "return SEL({uid}, {users}, {_where = {_k = K.IN, left = uid, values = {A(1)}, negate = true}})",
    "SELECT users.id FROM users WHERE users.id NOT IN ($1)");
  /* an empty IN per dialect */
  EXPECT_SQL(L, "sqlite", "return SEL({uid}, {users}, {_where = {_k = K.IN, left = uid, values = {}}})",
    "SELECT users.id FROM users WHERE users.id IN (SELECT 1 FROM (SELECT 1) WHERE 1!=1)");
  EXPECT_SQL(L, "postgresql", "return SEL({uid}, {users}, {_where = {_k = K.IN, left = uid, values = {}}})",
    "SELECT users.id FROM users WHERE users.id IN (SELECT CAST(NULL AS INTEGER) WHERE 1!=1)");
  EXPECT_SQL(L, "mysql mariadb", "return SEL({uid}, {users}, {_where = {_k = K.IN, left = uid, values = {}}})",
    "SELECT users.id FROM users WHERE users.id IN (SELECT 1 FROM (SELECT 1) AS _empty_set WHERE 1!=1)");
  EXPECT_SQL(L, ALL, "return SEL({uid}, {users}, {_where = {_k = K.IN, left = uteam, select = SEL({tid}, {teams})}})",
    "SELECT users.id FROM users WHERE users.team_id IN (SELECT teams.id FROM teams)");
  EXPECT_SQL(L, "sqlite mysql mariadb", "return SEL({uid}, {users}, {_where = {_k = K.BETWEEN, element = uid, lower = A(1), upper = A(9)}})",
    "SELECT users.id FROM users WHERE users.id BETWEEN ? AND ?");
  EXPECT_SQL(L, "postgresql", "return SEL({uid}, {users}, {_where = {_k = K.BETWEEN, element = uid, lower = A(1), upper = A(9)}})",
    "SELECT users.id FROM users WHERE users.id BETWEEN $1 AND $2");
  EXPECT_SQL(L, "sqlite mysql mariadb", "return SEL({uid}, {users}, {_where = {_k = K.BETWEEN, element = uid, lower = A(1), upper = A(9), negate = true}})",
    "SELECT users.id FROM users WHERE users.id NOT BETWEEN ? AND ?");
  EXPECT_SQL(L, "postgresql", "return SEL({uid}, {users}, {_where = {_k = K.BETWEEN, element = uid, lower = A(1), upper = A(9), negate = true}})",
    "SELECT users.id FROM users WHERE users.id NOT BETWEEN $1 AND $2");
  /* a scalar subquery correlates to the enclosing FROM */
  EXPECT_SQL(L, ALL, "return SEL({uid, LABEL('n', {_k = K.SCALAR_SELECT, element = SEL({F('count', tid)}, {teams, users}, {_where = BIN('EQ', tid, uteam)})})}, {users})",
    "SELECT users.id, (SELECT count(teams.id) AS count_1 FROM teams WHERE teams.id = users.team_id) AS n FROM users");
  EXPECT_SQL(L, ALL, "return SEL({uid}, {users}, {_where = {_k = K.EXISTS, element = SEL({tid}, {teams}, {_where = BIN('EQ', tid, uteam)})}})",
    "SELECT users.id FROM users WHERE EXISTS (SELECT teams.id FROM teams WHERE teams.id = users.team_id)");
  /* a subquery in FROM */
  EXPECT_SQL(L, ALL, "local s = ALIAS(SEL({uid}, {users}), 's') return SEL({C(s, 'id')}, {s})",
    "SELECT s.id FROM (SELECT users.id FROM users) AS s");
  lua_close(L);
  return 0;
}

TEST_IMPL(compiler_joins) {
  lua_State *L = bt_state();
  ASSERT(L != NULL);
  EXPECT_SQL(L, ALL, "return SEL({uid, tname}, {{_k = K.JOIN, left = users, right = teams, onclause = BIN('EQ', uteam, tid)}})",
    "SELECT users.id, teams.name FROM users JOIN teams ON users.team_id = teams.id");
  EXPECT_SQL(L, ALL, "return SEL({uid}, {{_k = K.JOIN, left = users, right = teams, onclause = BIN('EQ', uteam, tid), isouter = true}})",
    "SELECT users.id FROM users LEFT OUTER JOIN teams ON users.team_id = teams.id");
  /* FULL OUTER JOIN: not on MySQL */
  EXPECT_SQL(L, "sqlite postgresql", "return SEL({uid}, {{_k = K.JOIN, left = users, right = teams, onclause = BIN('EQ', uteam, tid), full = true}})",
    "SELECT users.id FROM users FULL OUTER JOIN teams ON users.team_id = teams.id");
  EXPECT_ERROR(L, "mysql", "return SEL({uid}, {{_k = K.JOIN, left = users, right = teams, onclause = BIN('EQ', uteam, tid), full = true}})",
    "FULL OUTER JOIN is not supported by dialect mysql");
  EXPECT_ERROR(L, "mariadb", "return SEL({uid}, {{_k = K.JOIN, left = users, right = teams, onclause = BIN('EQ', uteam, tid), full = true}})",
    "FULL OUTER JOIN is not supported by dialect mariadb");
  EXPECT_SQL(L, ALL, "local b = ALIAS(users, 'boss') return SEL({uid}, {{_k = K.JOIN, left = users, right = b, onclause = BIN('EQ', uteam, C(b, 'id'))}})",
    "SELECT users.id FROM users JOIN users AS boss ON users.team_id = boss.id");
  /* not a FROM element */
  EXPECT_ERROR(L, ALL, "return SEL({uid}, {{_k = K.JOIN, left = users, right = {_k = K.NULL}}})",
    "not a FROM element");
  lua_close(L);
  return 0;
}

TEST_IMPL(compiler_json_and_windows) {
  lua_State *L = bt_state();
  ASSERT(L != NULL);
  EXPECT_SQL(L, "sqlite", "local data = C(users, 'data', JSONT) return SEL({LABEL('v', {_k = K.JSON_GET, left = data, key = B('k', '$.\"a\"', STR), pg_key = B('pk', 'a', STR), mode = 'get'})}, {users})",
    "SELECT JSON_QUOTE(JSON_EXTRACT(users.data, ?)) AS v FROM users");
  EXPECT_SQL(L, "postgresql", "local data = C(users, 'data', JSONT) return SEL({LABEL('v', {_k = K.JSON_GET, left = data, key = B('k', '$.\"a\"', STR), pg_key = B('pk', 'a', STR), mode = 'get'})}, {users})",
    "SELECT users.data -> $1::TEXT AS v FROM users");
  EXPECT_SQL(L, "mysql mariadb", "local data = C(users, 'data', JSONT) return SEL({LABEL('v', {_k = K.JSON_GET, left = data, key = B('k', '$.\"a\"', STR), pg_key = B('pk', 'a', STR), mode = 'get'})}, {users})",
    "SELECT JSON_EXTRACT(users.data, ?) AS v FROM users");
  EXPECT_SQL(L, "sqlite", "local data = C(users, 'data', JSONT) return SEL({LABEL('v', {_k = K.JSON_GET, left = data, key = B('k', '$[2]', STR), pg_key = B('pk', 2), mode = 'get', as = 'integer'})}, {users})",
    "SELECT CAST(JSON_EXTRACT(users.data, ?) AS INTEGER) AS v FROM users");
  EXPECT_SQL(L, "postgresql", "local data = C(users, 'data', JSONT) return SEL({LABEL('v', {_k = K.JSON_GET, left = data, key = B('k', '$[2]', STR), pg_key = B('pk', 2), mode = 'get', as = 'integer'})}, {users})",
    "SELECT CAST(users.data ->> $1::INTEGER AS INTEGER) AS v FROM users");
  EXPECT_SQL(L, "mysql mariadb", "local data = C(users, 'data', JSONT) return SEL({LABEL('v', {_k = K.JSON_GET, left = data, key = B('k', '$[2]', STR), pg_key = B('pk', 2), mode = 'get', as = 'integer'})}, {users})",
    "SELECT CAST(JSON_EXTRACT(users.data, ?) AS SIGNED) AS v FROM users");
  EXPECT_SQL(L, "sqlite", "local data = C(users, 'data', JSONT) return SEL({LABEL('v', {_k = K.JSON_GET, left = data, key = B('k', '$.\"a\"[1]', STR), pg_key = B('pk', '{a,1}', STR), mode = 'path', as = 'string'})}, {users})",
    "SELECT JSON_EXTRACT(users.data, ?) AS v FROM users");
  EXPECT_SQL(L, "postgresql", "local data = C(users, 'data', JSONT) return SEL({LABEL('v', {_k = K.JSON_GET, left = data, key = B('k', '$.\"a\"[1]', STR), pg_key = B('pk', '{a,1}', STR), mode = 'path', as = 'string'})}, {users})",
    "SELECT users.data #>> $1::TEXT[] AS v FROM users");
  EXPECT_SQL(L, "mysql mariadb", "local data = C(users, 'data', JSONT) return SEL({LABEL('v', {_k = K.JSON_GET, left = data, key = B('k', '$.\"a\"[1]', STR), pg_key = B('pk', '{a,1}', STR), mode = 'path', as = 'string'})}, {users})",
    "SELECT JSON_UNQUOTE(JSON_EXTRACT(users.data, ?)) AS v FROM users");
  EXPECT_SQL(L, ALL, "return SEL({LABEL('r', {_k = K.OVER, element = F('rank'), partition_by = {uteam}, order_by = {UN('DESC', uid)}})}, {users})",
    "SELECT rank() OVER (PARTITION BY users.team_id ORDER BY users.id DESC) AS r FROM users");
  EXPECT_SQL(L, ALL, "return SEL({LABEL('s', {_k = K.OVER, element = F('sum', uid), order_by = {uid}, frame = 'ROWS', lower = 'UNBOUNDED PRECEDING', upper = 'CURRENT ROW'})}, {users})",
    "SELECT sum(users.id) OVER (ORDER BY users.id ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS s FROM users");
  EXPECT_SQL(L, ALL, "return SEL({LABEL('s', {_k = K.OVER, element = F('sum', uid), frame = 'RANGE', lower = '2 PRECEDING', upper = '3 FOLLOWING'})}, {users})",
    "SELECT sum(users.id) OVER (RANGE BETWEEN 2 PRECEDING AND 3 FOLLOWING) AS s FROM users");
  /* frame bounds are checked */
  EXPECT_ERROR(L, ALL, "return SEL({LABEL('s', {_k = K.OVER, element = F('sum', uid), frame = 'ROWS', lower = '1; DROP', upper = 'CURRENT ROW'})}, {users})",
    "invalid window frame bound");
  EXPECT_ERROR(L, ALL, "return SEL({LABEL('s', {_k = K.OVER, element = F('sum', uid), frame = 'GROUPS', lower = 'CURRENT ROW', upper = 'CURRENT ROW'})}, {users})",
    "invalid window frame");
  lua_close(L);
  return 0;
}

TEST_IMPL(compiler_errors) {
  lua_State *L = bt_state();
  ASSERT(L != NULL);
  /* no kind: not a statement */
  EXPECT_ERROR(L, ALL, "return {_k = 0}",
    "not a statement");
  EXPECT_ERROR(L, ALL, "return {}",
    "not a statement");
  /* an unknown kind */
  EXPECT_ERROR(L, ALL, "return SEL({uid}, {users}, {_where = {_k = 999}})",
    "cannot compile table as SQL (use col:eq() for comparisons, qs.true_()/");
  /* a number where a node belongs */
  EXPECT_ERROR(L, ALL, "return SEL({uid}, {users}, {_where = 42})",
    "cannot compile number as SQL (use col:eq() for comparisons, qs.true_()");
  /* a field of the wrong type */
  EXPECT_ERROR(L, ALL, "return SEL({{_k = K.COLUMN, name = 42}}, {users})",
    "malformed COLUMN node: field 'name' must be a string, not number");
  /* a column's table that is not a table */
  EXPECT_ERROR(L, ALL, "return SEL({C({_k = K.NULL}, 'id')}, {users})",
    "a column's table is not a table or alias");
  EXPECT_ERROR(L, ALL, "return SEL({}, {users})",
    "SELECT without columns");
  /* a table without a name */
  EXPECT_ERROR(L, ALL, "return {_k = K.SELECT, columns = {uid}, _final_froms = function() return {{_k = K.TABLE}} end}",
    "table without a name");
  /* nesting deeper than 1000 */
  EXPECT_ERROR(L, ALL, "local e = uid for i = 1, 1001 do e = UN('NEG', e) end return SEL({LABEL('x', e)}, {users})",
    "statement nested deeper than 1000 levels");
  /* 990 is fine */
  ASSERT(strncmp(bt_compile(L, "sqlite", "local e = uid for i = 1, 990 do e = UN('NOT', e) end return SEL({LABEL('x', e)}, {users})"), "ERROR", 5) != 0);
  EXPECT_EVAL(L, "return #R.sql", "5969");
  /* inserted.<column> is MySQL's */
  EXPECT_ERROR(L, "sqlite", "return SEL({uid}, {users}, {_where = {_k = K.VALUES_REF, name = 'id'}})",
    "inserted.<column> is MySQL's; use excluded on sqlite");
  EXPECT_ERROR(L, "postgresql", "return SEL({uid}, {users}, {_where = {_k = K.VALUES_REF, name = 'id'}})",
    "inserted.<column> is MySQL's; use excluded on postgresql");
  EXPECT_SQL(L, "mysql mariadb", "return SEL({uid}, {users}, {_where = {_k = K.VALUES_REF, name = 'id'}})",
    "SELECT users.id FROM users WHERE VALUES(id)");
  lua_close(L);
  return 0;
}
