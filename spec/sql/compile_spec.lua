-- The C compiler, per dialect: expected SQL text and parameter order for each
-- construct (no database needed).
local qs = require("quicksilver")
local fixtures = require("spec.sql.fixtures")

local T = fixtures.tables()
local users, teams, orders = T.users, T.teams, T.orders
local u, t, o = users.c, teams.c, orders.c

-- cases: {name, build(), {dialect = sql, ...}, params (positional, optional)}
local cases = {
  {"select columns", function() return qs.select(u.id, u.name) end,
    {sqlite = "SELECT users.id, users.name FROM users"}},
  {"select a table expands its columns", function() return qs.select(teams) end,
    {sqlite = "SELECT teams.id, teams.name FROM teams"}},
  {"where with a bound value", function() return qs.select(u.id):where(u.name:eq("ed")) end,
    {sqlite = "SELECT users.id FROM users WHERE users.name = ?",
     postgresql = "SELECT users.id FROM users WHERE users.name = $1",
     mysql = "SELECT users.id FROM users WHERE users.name = ?"}, {"ed"}},
  {"where ANDs its arguments", function() return qs.select(u.id):where(u.name:eq("a"), u.age:gt(3)) end,
    {postgresql = "SELECT users.id FROM users WHERE users.name = $1 AND users.age > $2"}, {"a", 3}},
  {"chained where ANDs", function() return qs.select(u.id):where(u.age:ge(1)):where(u.age:le(9)) end,
    {sqlite = "SELECT users.id FROM users WHERE users.age >= ? AND users.age <= ?"}, {1, 9}},
  {"ne and lt", function() return qs.select(u.id):where(u.age:ne(5), u.age:lt(9)) end,
    {sqlite = "SELECT users.id FROM users WHERE users.age != ? AND users.age < ?"}},
  {"eq(nil) is IS NULL", function() return qs.select(u.id):where(u.email:eq(nil)) end,
    {sqlite = "SELECT users.id FROM users WHERE users.email IS NULL"}, {}},
  {"ne(nil) is IS NOT NULL", function() return qs.select(u.id):where(u.email:ne(nil)) end,
    {postgresql = "SELECT users.id FROM users WHERE users.email IS NOT NULL"}, {}},
  {"eq(qs.null) is IS NULL", function() return qs.select(u.id):where(u.email:eq(qs.null)) end,
    {mysql = "SELECT users.id FROM users WHERE users.email IS NULL"}},
  {"is_ and is_not", function() return qs.select(u.id):where(u.email:is_(qs.null), u.age:is_not(qs.null)) end,
    {sqlite = "SELECT users.id FROM users WHERE users.email IS NULL AND users.age IS NOT NULL"}},
  {"or_ inside and", function()
    return qs.select(u.id):where(qs.or_(u.age:eq(1), u.age:eq(2)), u.name:eq("x")) end,
    {sqlite = "SELECT users.id FROM users WHERE (users.age = ? OR users.age = ?) AND users.name = ?"},
    {1, 2, "x"}},
  {"and_ inside or", function()
    return qs.select(u.id):where(qs.or_(qs.and_(u.age:eq(1), u.name:eq("a")), u.age:eq(2))) end,
    {sqlite = "SELECT users.id FROM users WHERE users.age = ? AND users.name = ? OR users.age = ?"}},
  {"nested and_ flattens", function()
    return qs.select(u.id):where(qs.and_(qs.and_(u.age:eq(1), u.age:eq(2)), u.age:eq(3))) end,
    {sqlite = "SELECT users.id FROM users WHERE users.age = ? AND users.age = ? AND users.age = ?"}},
  {"not_ inverts a comparison", function() return qs.select(u.id):where(qs.not_(u.name:eq("a"))) end,
    {sqlite = "SELECT users.id FROM users WHERE users.name != ?"}},
  {"not_ of or_", function()
    return qs.select(u.id):where(qs.not_(qs.or_(u.age:eq(1), u.age:eq(2)))) end,
    {sqlite = "SELECT users.id FROM users WHERE NOT (users.age = ? OR users.age = ?)"}},
  {"not_ of in_", function() return qs.select(u.id):where(qs.not_(u.age:in_({1, 2}))) end,
    {sqlite = "SELECT users.id FROM users WHERE users.age NOT IN (?, ?)"}},
  {"true_ and false_", function() return qs.select(u.id):where(qs.true_(), qs.false_()) end,
    {sqlite = "SELECT users.id FROM users WHERE 1 AND 0",
     postgresql = "SELECT users.id FROM users WHERE true AND false"}},
  {"like", function() return qs.select(u.id):where(u.name:like("a%")) end,
    {sqlite = "SELECT users.id FROM users WHERE users.name LIKE ?"}, {"a%"}},
  {"like with escape", function() return qs.select(u.id):where(u.name:like("a!%%", {escape = "!"})) end,
    {postgresql = "SELECT users.id FROM users WHERE users.name LIKE $1 ESCAPE '!'"}},
  {"not_like", function() return qs.select(u.id):where(u.name:not_like("a%")) end,
    {mysql = "SELECT users.id FROM users WHERE users.name NOT LIKE ?"}},
  {"ilike native and emulated", function() return qs.select(u.id):where(u.name:ilike("a%")) end,
    {postgresql = "SELECT users.id FROM users WHERE users.name ILIKE $1",
     sqlite = "SELECT users.id FROM users WHERE lower(users.name) LIKE lower(?)",
     mysql = "SELECT users.id FROM users WHERE lower(users.name) LIKE lower(?)"}},
  {"contains escapes wildcards", function() return qs.select(u.id):where(u.name:contains("5%_/x")) end,
    {sqlite = "SELECT users.id FROM users WHERE users.name LIKE ? ESCAPE '/'"}, {"%5/%/_//x%"}},
  {"startswith", function() return qs.select(u.id):where(u.name:startswith("ab")) end,
    {postgresql = "SELECT users.id FROM users WHERE users.name LIKE $1 ESCAPE '/'"}, {"ab%"}},
  {"endswith", function() return qs.select(u.id):where(u.name:endswith("_z")) end,
    {mysql = "SELECT users.id FROM users WHERE users.name LIKE ? ESCAPE '/'"}, {"%/_z"}},
  {"in_ list", function() return qs.select(u.id):where(u.id:in_({1, 2, 3})) end,
    {sqlite = "SELECT users.id FROM users WHERE users.id IN (?, ?, ?)",
     postgresql = "SELECT users.id FROM users WHERE users.id IN ($1, $2, $3)"}, {1, 2, 3}},
  {"in_ empty list", function() return qs.select(u.id):where(u.id:in_({})) end,
    {sqlite = "SELECT users.id FROM users WHERE users.id IN (SELECT 1 FROM (SELECT 1) WHERE 1!=1)",
     postgresql = "SELECT users.id FROM users WHERE users.id IN (SELECT CAST(NULL AS INTEGER) WHERE 1!=1)",
     mysql = "SELECT users.id FROM users WHERE users.id IN (SELECT 1 FROM (SELECT 1) AS _empty_set WHERE 1!=1)"}},
  {"not_in empty list", function() return qs.select(u.id):where(u.id:not_in({})) end,
    {sqlite = "SELECT users.id FROM users WHERE users.id NOT IN (SELECT 1 FROM (SELECT 1) WHERE 1!=1)"}},
  {"in_ with NULL in the list", function() return qs.select(u.id):where(u.age:in_({1, qs.null})) end,
    {sqlite = "SELECT users.id FROM users WHERE users.age IN (?, NULL)"}, {1}},
  {"in_ subquery", function()
    return qs.select(u.id):where(u.team_id:in_(qs.select(t.id):where(t.name:eq("a")))) end,
    {sqlite = "SELECT users.id FROM users WHERE users.team_id IN (SELECT teams.id FROM teams WHERE teams.name = ?)"}},
  {"not_in subquery", function()
    return qs.select(u.id):where(u.team_id:not_in(qs.select(t.id))) end,
    {postgresql = "SELECT users.id FROM users WHERE users.team_id NOT IN (SELECT teams.id FROM teams)"}},
  {"between", function() return qs.select(u.id):where(u.age:between(18, 65)) end,
    {sqlite = "SELECT users.id FROM users WHERE users.age BETWEEN ? AND ?"}, {18, 65}},
  {"arithmetic", function() return qs.select((u.age + 1) * 2) end,
    {sqlite = "SELECT (users.age + ?) * ? AS anon_1 FROM users"}, {1, 2}},
  {"subtraction keeps right grouping", function() return qs.select(u.age - (u.id - 1)) end,
    {sqlite = "SELECT users.age - (users.id - ?) AS anon_1 FROM users"}},
  {"unary minus", function() return qs.select(-u.age) end,
    {postgresql = "SELECT -users.age AS anon_1 FROM users"}},
  {"modulo", function() return qs.select(u.age % 7) end,
    {mysql = "SELECT users.age % ? AS anon_1 FROM users"}},
  {"true division of integers", function() return qs.select(u.age / u.id) end,
    {sqlite = "SELECT users.age / CAST(users.id AS REAL) AS anon_1 FROM users",
     postgresql = "SELECT users.age / CAST(users.id AS NUMERIC) AS anon_1 FROM users",
     mysql = "SELECT users.age / users.id AS anon_1 FROM users"}},
  {"division of numerics", function() return qs.select(o.amount / 2) end,
    {sqlite = "SELECT orders.amount / ? AS anon_1 FROM orders"}},
  {"string concatenation", function() return qs.select(u.name .. "!") end,
    {sqlite = "SELECT users.name || ? AS anon_1 FROM users",
     mysql = "SELECT concat(users.name, ?) AS anon_1 FROM users"}, {"!"}},
  {"concatenation with a string on the left", function() return qs.select("<" .. u.name) end,
    {postgresql = "SELECT $1 || users.name AS anon_1 FROM users"}, {"<"}},
  {"label", function() return qs.select(u.name:label("n")) end,
    {sqlite = "SELECT users.name AS n FROM users"}},
  {"reserved-word label is quoted", function() return qs.select(u.name:label("order")) end,
    {sqlite = 'SELECT users.name AS "order" FROM users', mysql = "SELECT users.name AS `order` FROM users"}},
  {"function count(*)", function() return qs.select(qs.func.count()):select_from(users) end,
    {sqlite = "SELECT count(*) AS count_1 FROM users"}},
  {"function with argument and label", function() return qs.select(qs.func.max(u.age):label("oldest")) end,
    {postgresql = "SELECT max(users.age) AS oldest FROM users"}},
  {"two anonymous functions", function() return qs.select(qs.func.min(u.age), qs.func.min(u.id)) end,
    {sqlite = "SELECT min(users.age) AS min_1, min(users.id) AS min_2 FROM users"}},
  {"now() per dialect", function() return qs.select(qs.func.now()) end,
    {sqlite = "SELECT CURRENT_TIMESTAMP AS now_1", postgresql = "SELECT now() AS now_1"}},
  {"current_timestamp without parentheses", function() return qs.select(qs.func.current_timestamp()) end,
    {mysql = "SELECT CURRENT_TIMESTAMP AS current_timestamp_1"}},
  {"packaged function", function() return qs.select(qs.func.json.extract(u.name, "$.a")) end,
    {sqlite = "SELECT json.extract(users.name, ?) AS anon_1 FROM users"}},
  {"coalesce", function() return qs.select(qs.func.coalesce(u.age, 0)) end,
    {sqlite = "SELECT coalesce(users.age, ?) AS coalesce_1 FROM users"}, {0}},
  {"case", function()
    return qs.select(qs.case({{u.age:lt(18), "minor"}, {u.age:lt(65), "adult"}}, {else_ = "senior"})) end,
    {sqlite = "SELECT CASE WHEN users.age < ? THEN ? WHEN users.age < ? THEN ? ELSE ? END AS anon_1 FROM users"},
    {18, "minor", 65, "adult", "senior"}},
  {"simple case", function()
    return qs.select(qs.case({{1, "one"}, {2, "two"}}, {value = u.age})) end,
    {postgresql = "SELECT CASE users.age WHEN $1 THEN $2 WHEN $3 THEN $4 END AS anon_1 FROM users"}},
  {"cast", function() return qs.select(qs.cast(u.age, qs.String(10))) end,
    {sqlite = "SELECT CAST(users.age AS VARCHAR(10)) AS anon_1 FROM users"}},
  {"cast to numeric", function() return qs.select(u.age:cast(qs.Numeric(8, 2))) end,
    {postgresql = "SELECT CAST(users.age AS NUMERIC(8, 2)) AS anon_1 FROM users"}},
  {"literal", function() return qs.select(qs.literal(5)) end,
    {sqlite = "SELECT ? AS anon_1"}, {5}},
  {"literal_column", function() return qs.select(qs.literal_column("1")):select_from(users) end,
    {sqlite = "SELECT 1 FROM users"}},
  {"bindparam by name, reused", function()
    return qs.select(u.id):where(qs.or_(u.name:eq(qs.bindparam("n")), u.email:eq(qs.bindparam("n")))) end,
    {sqlite = "SELECT users.id FROM users WHERE users.name = ? OR users.email = ?",
     postgresql = "SELECT users.id FROM users WHERE users.name = $1 OR users.email = $1"}},
  {"order_by, desc, asc", function() return qs.select(u.id):order_by(u.name:desc(), u.id:asc()) end,
    {sqlite = "SELECT users.id FROM users ORDER BY users.name DESC, users.id ASC"}},
  {"nulls last", function() return qs.select(u.id):order_by(u.age:desc():nulls_last()) end,
    {postgresql = "SELECT users.id FROM users ORDER BY users.age DESC NULLS LAST"}},
  {"order_by a label name", function()
    return qs.select(u.name, qs.func.count(u.id):label("n")):group_by(u.name):order_by("n") end,
    {sqlite = "SELECT users.name, count(users.id) AS n FROM users GROUP BY users.name ORDER BY n"}},
  {"group_by a label object", function()
    local l = getmetatable(u.age).__idiv(u.age, 10):label("decade")   -- u.age // 10 (5.3+ syntax)
    return qs.select(l, qs.func.count()):group_by(l) end,
    {sqlite = "SELECT users.age / ? AS decade, count(*) AS count_1 FROM users GROUP BY decade"}},
  {"having", function()
    return qs.select(u.team_id):group_by(u.team_id):having(qs.func.count(u.id):gt(2)) end,
    {postgresql = "SELECT users.team_id FROM users GROUP BY users.team_id HAVING count(users.id) > $1"}},
  {"distinct", function() return qs.select(u.name):distinct() end,
    {sqlite = "SELECT DISTINCT users.name FROM users"}},
  {"count distinct", function() return qs.select(qs.func.count(u.name:distinct())) end,
    {sqlite = "SELECT count(DISTINCT users.name) AS count_1 FROM users"}},
  {"limit and offset", function() return qs.select(u.id):limit(10):offset(20) end,
    {sqlite = "SELECT users.id FROM users LIMIT ? OFFSET ?",
     postgresql = "SELECT users.id FROM users LIMIT $1 OFFSET $2",
     mysql = "SELECT users.id FROM users LIMIT ?, ?"}},
  {"limit only", function() return qs.select(u.id):limit(3) end,
    {mysql = "SELECT users.id FROM users LIMIT ?"}, {3}},
  {"offset only", function() return qs.select(u.id):offset(5) end,
    {sqlite = "SELECT users.id FROM users LIMIT -1 OFFSET ?",
     postgresql = "SELECT users.id FROM users OFFSET $1",
     mysql = "SELECT users.id FROM users LIMIT ?, 18446744073709551615"}, {5}},
  {"for update", function() return qs.select(u.id):with_for_update() end,
    {postgresql = "SELECT users.id FROM users FOR UPDATE", mysql = "SELECT users.id FROM users FOR UPDATE",
     sqlite = "SELECT users.id FROM users"}},
  {"for update nowait, skip locked, of", function()
    return qs.select(u.id):with_for_update({skip_locked = true, of = {users}}) end,
    {postgresql = "SELECT users.id FROM users FOR UPDATE OF users SKIP LOCKED"}},
  {"for share", function() return qs.select(u.id):with_for_update({read = true}) end,
    {postgresql = "SELECT users.id FROM users FOR SHARE", mysql = "SELECT users.id FROM users LOCK IN SHARE MODE"}},
  {"join inferred from the foreign key", function() return qs.select(u.name, t.name):select_from(users:join(teams)) end,
    {sqlite = "SELECT users.name, teams.name FROM users JOIN teams ON teams.id = users.team_id"}},
  {"select:join", function() return qs.select(u.name):join(teams) end,
    {sqlite = "SELECT users.name FROM users JOIN teams ON teams.id = users.team_id"}},
  {"outer join", function() return qs.select(u.name):outerjoin(teams) end,
    {postgresql = "SELECT users.name FROM users LEFT OUTER JOIN teams ON teams.id = users.team_id"}},
  {"full outer join", function() return qs.select(u.name):join(teams, nil, {full = true}) end,
    {sqlite = "SELECT users.name FROM users FULL OUTER JOIN teams ON teams.id = users.team_id",
     postgresql = "SELECT users.name FROM users FULL OUTER JOIN teams ON teams.id = users.team_id"}},
  {"join with explicit ON", function()
    return qs.select(u.name):join(orders, u.id:eq(o.user_id)) end,
    {sqlite = "SELECT users.name FROM users JOIN orders ON users.id = orders.user_id"}},
  {"chained joins", function() return qs.select(o.id):join_from(users, teams):join(orders) end,
    {sqlite = "SELECT orders.id FROM users JOIN teams ON teams.id = users.team_id JOIN orders ON users.id = orders.user_id"}},
  {"join_from", function() return qs.select(t.name):join_from(users, teams) end,
    {mysql = "SELECT teams.name FROM users JOIN teams ON teams.id = users.team_id"}},
  {"implicit FROM from WHERE", function() return qs.select(u.name):where(u.team_id:eq(t.id)) end,
    {sqlite = "SELECT users.name FROM users, teams WHERE users.team_id = teams.id"}},
  {"table alias", function()
    local a = users:alias("boss")
    return qs.select(u.name, a.c.name):where(u.team_id:eq(a.c.id)) end,
    {sqlite = "SELECT users.name, boss.name FROM users, users AS boss WHERE users.team_id = boss.id"}},
  {"anonymous table alias", function()
    local a = users:alias()
    return qs.select(a.c.name) end,
    {postgresql = "SELECT users_1.name FROM users AS users_1"}},
  {"subquery in FROM", function()
    local sq = qs.select(u.team_id, qs.func.count(u.id):label("n")):group_by(u.team_id):subquery("counts")
    return qs.select(t.name, sq.c.n):join_from(teams, sq, t.id:eq(sq.c.team_id)) end,
    {sqlite = "SELECT teams.name, counts.n FROM teams JOIN (SELECT users.team_id, count(users.id) AS n FROM users GROUP BY users.team_id) AS counts ON teams.id = counts.team_id"}},
  {"scalar subquery, correlated", function()
    local cnt = qs.select(qs.func.count(o.id)):where(o.user_id:eq(u.id)):scalar_subquery()
    return qs.select(u.name, cnt:label("orders")) end,
    {sqlite = "SELECT users.name, (SELECT count(orders.id) AS count_1 FROM orders WHERE orders.user_id = users.id) AS orders FROM users"}},
  {"exists, correlated", function()
    return qs.select(u.name):where(qs.exists(qs.select(o.id):where(o.user_id:eq(u.id)))) end,
    {postgresql = "SELECT users.name FROM users WHERE EXISTS (SELECT orders.id FROM orders WHERE orders.user_id = users.id)"}},
  {"not exists", function()
    return qs.select(u.name):where(qs.not_(qs.select(o.id):where(o.user_id:eq(u.id)):exists())) end,
    {sqlite = "SELECT users.name FROM users WHERE NOT EXISTS (SELECT orders.id FROM orders WHERE orders.user_id = users.id)"}},
  {"explicit correlate", function()
    local sub = qs.select(o.id):where(o.user_id:eq(u.id)):correlate(users):scalar_subquery()
    return qs.select(u.name):where(sub:gt(0)) end,
    {sqlite = "SELECT users.name FROM users WHERE (SELECT orders.id FROM orders WHERE orders.user_id = users.id) > ?"}},
  {"filter_by in column order", function() return qs.select(u.id):filter_by({name = "a", age = 3, id = 1}) end,
    {sqlite = "SELECT users.id FROM users WHERE users.id = ? AND users.name = ? AND users.age = ?"}, {1, "a", 3}},
  {"filter_by after join targets the joined table", function()
    return qs.select(u.name):join(teams):filter_by({name = "red"}) end,
    {sqlite = "SELECT users.name FROM users JOIN teams ON teams.id = users.team_id WHERE teams.name = ?"}},
  {"add_columns", function() return qs.select(u.id):add_columns(u.name) end,
    {sqlite = "SELECT users.id, users.name FROM users"}},
  {"with_only_columns", function() return qs.select(u.id, u.name):with_only_columns(u.age) end,
    {sqlite = "SELECT users.age FROM users"}},
  {"text in where", function() return qs.select(u.id):where(qs.text("users.age > :a"):bindparams({a = 3})) end,
    {sqlite = "SELECT users.id FROM users WHERE users.age > ?", postgresql = "SELECT users.id FROM users WHERE users.age > $1"},
    {3}},
  {"lightweight table and column", function()
    local tt = qs.table("t", qs.column("a", qs.Integer), qs.column("b"))
    return qs.select(tt.c.a):where(tt.c.b:eq("x")) end,
    {sqlite = "SELECT t.a FROM t WHERE t.b = ?"}},
  {"schema-qualified table", function()
    local md = qs.MetaData()
    local st = qs.Table("acct", md, qs.Column("id", qs.Integer, {primary_key = true}), {schema = "bank"})
    return qs.select(st.c.id) end,
    {postgresql = "SELECT bank.acct.id FROM bank.acct"}},
  {"quoted identifiers", function()
    local md = qs.MetaData()
    local q = qs.Table("User Data", md, qs.Column("Order", qs.Integer, {primary_key = true}),
      qs.Column("select", qs.String(5)), qs.Column('we"ird', qs.String(5)))
    return qs.select(q.c.Order, q.c["select"], q.c['we"ird']) end,
    {sqlite = 'SELECT "User Data"."Order", "User Data"."select", "User Data"."we""ird" FROM "User Data"',
     mysql = 'SELECT `User Data`.`Order`, `User Data`.`select`, `User Data`.`we"ird` FROM `User Data`'}},
  {"insert values", function() return qs.insert(users):values({name = "a", age = 3}) end,
    {sqlite = "INSERT INTO users (name, age) VALUES (?, ?)",
     postgresql = "INSERT INTO users (name, age) VALUES ($1, $2)"}, {"a", 3}},
  {"insert values in column order", function() return qs.insert(users):values({team_id = 1, name = "b"}) end,
    {mysql = "INSERT INTO users (name, team_id) VALUES (?, ?)"}, {"b", 1}},
  {"insert with an expression value", function() return qs.insert(users):values({name = qs.func.lower("A")}) end,
    {sqlite = "INSERT INTO users (name) VALUES (lower(?))"}},
  {"insert default values", function() return qs.insert(teams) end,
    {sqlite = "INSERT INTO teams DEFAULT VALUES", mysql = "INSERT INTO teams () VALUES ()"}},
  {"insert from select", function()
    return qs.insert(teams):from_select({"name"}, qs.select(u.name):where(u.age:gt(1))) end,
    {sqlite = "INSERT INTO teams (name) SELECT users.name FROM users WHERE users.age > ?"}},
  {"insert returning", function() return qs.insert(users):values({name = "a"}):returning(u.id) end,
    {sqlite = "INSERT INTO users (name) VALUES (?) RETURNING users.id",
     postgresql = "INSERT INTO users (name) VALUES ($1) RETURNING users.id"}},
  {"multi-row insert", function() return qs.insert(teams):values({{name = "a"}, {name = "b"}}) end,
    {sqlite = "INSERT INTO teams (name) VALUES (?), (?)"}, {"a", "b"}},
  {"update values where", function()
    return qs.update(users):where(u.id:eq(5)):values({name = "z"}) end,
    {sqlite = "UPDATE users SET name=? WHERE users.id = ?", postgresql = "UPDATE users SET name=$1 WHERE users.id = $2"},
    {"z", 5}},
  {"update with an expression", function() return qs.update(users):values({age = u.age + 1}) end,
    {mysql = "UPDATE users SET age=users.age + ?"}, {1}},
  {"update to NULL", function() return qs.update(users):values({email = qs.null}):where(u.id:eq(1)) end,
    {sqlite = "UPDATE users SET email=NULL WHERE users.id = ?"}},
  {"update returning", function()
    return qs.update(users):values({age = 1}):returning(u.id, u.age) end,
    {postgresql = "UPDATE users SET age=$1 RETURNING users.id, users.age"}},
  {"delete where", function() return qs.delete(users):where(u.age:lt(18)) end,
    {sqlite = "DELETE FROM users WHERE users.age < ?", mysql = "DELETE FROM users WHERE users.age < ?"}, {18}},
  {"delete all", function() return qs.delete(orders) end,
    {postgresql = "DELETE FROM orders"}},
  {"delete returning", function() return qs.delete(users):returning(u.id) end,
    {sqlite = "DELETE FROM users RETURNING users.id", mariadb = "DELETE FROM users RETURNING users.id"}},
  {"delete filter_by", function() return qs.delete(users):filter_by({name = "x"}) end,
    {sqlite = "DELETE FROM users WHERE users.name = ?"}},
}

describe("compiling", function()
  local count = 0
  for _, case in ipairs(cases) do
    local name, build, expected, params = case[1], case[2], case[3], case[4]
    for dialect, sql in pairs(expected) do
      count = count + 1
      it(name .. " [" .. dialect .. "]", function()
        local c = build():compile({dialect = dialect})
        assert.equal(sql, c.sql)
        if params then
          assert.equal(#params, c.params.n)
          for i = 1, #params do assert.equal(params[i], c.params[i]) end
        end
      end)
    end
  end
  it("has at least 100 dialect cases", function()
    assert.is_true(count >= 100, "only " .. count .. " cases")
  end)

  it("renders tostring for the default dialect", function()
    assert.equal("SELECT users.id FROM users WHERE users.id = ?", tostring(qs.select(u.id):where(u.id:eq(1))))
  end)

  it("caches the compiled form on the statement object", function()
    local s = qs.select(u.id):where(u.id:eq(1))
    assert.equal(s:compile({dialect = "sqlite"}), s:compile({dialect = "sqlite"}))
    assert.are_not.equal(s:compile({dialect = "sqlite"}), s:compile({dialect = "postgresql"}))
  end)

  it("keeps statements immutable", function()
    local s = qs.select(u.id)
    local s2 = s:where(u.id:eq(1))
    assert.equal("SELECT users.id FROM users", s:compile().sql)
    assert.are_not.equal(s, s2)
  end)
end)
