-- Issue 24's statement and FROM forms compiled per dialect, against what
-- SQLAlchemy renders (differences: parameters unparenthesized in FETCH
-- FIRST; the outermost SELECT keeps a repeated column name as written and
-- only its result keys are disambiguated; values() written as each database
-- parses it): fetch(n), LATERAL, values() as a FROM, TABLESAMPLE,
-- table-valued functions, text():columns():subquery(), select_from(text),
-- correlate_except, duplicate column names, prefix_with / suffix_with,
-- ordered_values; and what each database refuses, by name.
local qs = require("quicksilver")
local fixtures = require("spec.sql.fixtures")

local T = fixtures.tables()
local users, teams, orders = T.users, T.teams, T.orders
local u, t, o = users.c, teams.c, orders.c

local DIALECTS = {"sqlite", "postgresql", "mysql", "mariadb"}

local function sql(stmt, dialect)
  return tostring(stmt:compile({dialect = dialect}))
end

local function refused(stmt, dialect, pattern)
  local ok, err = pcall(sql, stmt, dialect)
  assert.is_false(ok, dialect .. ": compiled, expected a refusal")
  assert.equal("CompileError", err.class_name or tostring(err):match("^(%w+)"), tostring(err))
  assert.truthy(tostring(err):find(pattern, 1, true), tostring(err))
end

-- {title, builder, {dialect = expected SQL | {refused = "text"}}}
local cases = {
  {"fetch(n)", function() return qs.select(u.id):order_by(u.id):fetch(3) end,
    {sqlite = "SELECT users.id FROM users ORDER BY users.id LIMIT ?",
     postgresql = "SELECT users.id FROM users ORDER BY users.id FETCH FIRST $1 ROWS ONLY",
     mysql = "SELECT users.id FROM users ORDER BY users.id LIMIT ?",
     mariadb = "SELECT users.id FROM users ORDER BY users.id FETCH FIRST ? ROWS ONLY"}},
  {"fetch(n) with offset", function() return qs.select(u.id):order_by(u.id):fetch(3):offset(2) end,
    {sqlite = "SELECT users.id FROM users ORDER BY users.id LIMIT ? OFFSET ?",
     postgresql = "SELECT users.id FROM users ORDER BY users.id OFFSET $1 ROWS FETCH FIRST $2 ROWS ONLY",
     mysql = "SELECT users.id FROM users ORDER BY users.id LIMIT ?, ?",
     mariadb = "SELECT users.id FROM users ORDER BY users.id OFFSET ? ROWS FETCH FIRST ? ROWS ONLY"}},
  {"fetch WITH TIES", function() return qs.select(u.id):order_by(u.age):fetch(2, {with_ties = true}) end,
    {sqlite = {refused = "FETCH FIRST ... WITH TIES is not supported by dialect sqlite"},
     postgresql = "SELECT users.id FROM users ORDER BY users.age FETCH FIRST $1 ROWS WITH TIES",
     mysql = {refused = "FETCH FIRST ... WITH TIES is not supported by dialect mysql"},
     mariadb = "SELECT users.id FROM users ORDER BY users.age FETCH FIRST ? ROWS WITH TIES"}},
  {"fetch PERCENT", function() return qs.select(u.id):fetch(50, {percent = true}) end,
    {sqlite = {refused = "PERCENT is not supported by dialect sqlite"},
     postgresql = {refused = "FETCH FIRST ... PERCENT is not supported by dialect postgresql"},
     mysql = {refused = "PERCENT is not supported by dialect mysql"},
     mariadb = {refused = "PERCENT is not supported by dialect mariadb"}}},
  {"fetch over a compound", function() return qs.union(qs.select(u.id), qs.select(t.id)):fetch(1) end,
    {postgresql = "SELECT users.id FROM users UNION SELECT teams.id FROM teams FETCH FIRST $1 ROWS ONLY",
     sqlite = "SELECT users.id FROM users UNION SELECT teams.id FROM teams LIMIT ?"}},
  {"LATERAL joined ON true, correlated to the left FROM", function()
    local lat = qs.select(o.amount):where(o.user_id:eq(u.id)):order_by(o.amount):limit(2):lateral("x")
    return qs.select(u.name, lat.c.amount):join_from(users, lat, qs.true_()) end,
    {postgresql = "SELECT users.name, x.amount FROM users JOIN LATERAL (SELECT orders.amount FROM orders " ..
       "WHERE orders.user_id = users.id ORDER BY orders.amount LIMIT $1) AS x ON true",
     mysql = "SELECT users.name, x.amount FROM users JOIN LATERAL (SELECT orders.amount FROM orders " ..
       "WHERE orders.user_id = users.id ORDER BY orders.amount LIMIT ?) AS x ON true",
     sqlite = {refused = "LATERAL is not supported by dialect sqlite"},
     mariadb = {refused = "LATERAL is not supported by dialect mariadb"}}},
  {"qs.lateral(select, name) in a comma FROM", function()
    local lat = qs.lateral(qs.select(o.id):where(o.user_id:eq(u.id)), "y")
    return qs.select(u.id, lat.c.id):select_from(users, lat) end,
    {postgresql = "SELECT users.id, y.id FROM users, LATERAL (SELECT orders.id FROM orders " ..
       "WHERE orders.user_id = users.id) AS y"}},
  {"values() joined", function()
    local v = qs.values(qs.column("id", qs.Integer), qs.column("name", qs.String), {name = "v"})
      :data({{1, "a"}, {2, "b"}})
    return qs.select(u.name, v.c.name):join_from(users, v, u.id:eq(v.c.id)) end,
    {postgresql = "SELECT users.name, v.name FROM users JOIN (VALUES ($1::INTEGER, $2::VARCHAR), " ..
       "($3::INTEGER, $4::VARCHAR)) AS v (id, name) ON users.id = v.id",
     sqlite = "SELECT users.name, v.name FROM users JOIN (SELECT column1 AS id, column2 AS name FROM " ..
       "(VALUES (?, ?), (?, ?))) AS v ON users.id = v.id",
     mysql = "SELECT users.name, v.name FROM users JOIN (SELECT ? AS id, ? AS name UNION ALL SELECT ?, ?) " ..
       "AS v ON users.id = v.id",
     mariadb = "SELECT users.name, v.name FROM users JOIN (SELECT ? AS id, ? AS name UNION ALL SELECT ?, ?) " ..
       "AS v ON users.id = v.id"}},
  {"values() literal_binds, in a CTE", function()
    local v = qs.values(qs.column("k", qs.Integer), {name = "v", literal_binds = true}):data({{7}, {8}})
    local c = v:cte("vc")
    return qs.select(c.c.k) end,
    {postgresql = "WITH vc AS (SELECT v.k FROM (VALUES (7), (8)) AS v (k)) SELECT vc.k FROM vc",
     sqlite = "WITH vc AS (SELECT v.k FROM (SELECT column1 AS k FROM (VALUES (7), (8))) AS v) SELECT vc.k FROM vc"}},
  {"TABLESAMPLE", function()
    local s = users:tablesample(qs.func.bernoulli(1), {name = "s", seed = 42})
    return qs.select(s.c.id) end,
    {postgresql = "SELECT s.id FROM users AS s TABLESAMPLE bernoulli($1::INTEGER) REPEATABLE ($2::INTEGER)",
     sqlite = {refused = "TABLESAMPLE is not supported by dialect sqlite"},
     mysql = {refused = "TABLESAMPLE is not supported by dialect mysql"},
     mariadb = {refused = "TABLESAMPLE is not supported by dialect mariadb"}}},
  {"qs.tablesample with a number (SYSTEM)", function()
    return qs.select(qs.tablesample(users, 10, {name = "s"}).c.id) end,
    {postgresql = "SELECT s.id FROM users AS s TABLESAMPLE system($1::INTEGER)"}},
  {"table_valued json_each", function()
    local f = qs.func.json_each(u.name):table_valued("key", "value")
    return qs.select(u.id, f.c.key, f.c.value) end,
    {postgresql = 'SELECT users.id, anon_1."key", anon_1.value FROM users, json_each(users.name) AS anon_1',
     sqlite = 'SELECT users.id, anon_1."key", anon_1.value FROM users, json_each(users.name) AS anon_1',
     mysql = {refused = "table-valued function in FROM (json_each(...)) is not supported by dialect mysql"},
     mariadb = {refused = "JSON_TABLE"}}},
  {"table_valued render_derived", function()
    local f = qs.func.generate_series(1, 3):table_valued("value"):render_derived("g")
    return qs.select(f.c.value) end,
    {postgresql = "SELECT g.value FROM generate_series($1::INTEGER, $2::INTEGER) AS g(value)"}},
  {"column_valued", function()
    return qs.select(qs.func.unnest(qs.literal_column("ARRAY[1, 2]")):column_valued("x")) end,
    {postgresql = "SELECT x.x FROM unnest(ARRAY[1, 2]) AS x(x)"}},
  {"text():columns():subquery()", function()
    local s = qs.text("SELECT id, name FROM users"):columns(qs.column("id", qs.Integer), qs.column("name"))
      :subquery("s")
    return qs.select(s.c.id):where(s.c.name:eq("x")) end,
    {postgresql = "SELECT s.id FROM (SELECT id, name FROM users) AS s WHERE s.name = $1",
     sqlite = "SELECT s.id FROM (SELECT id, name FROM users) AS s WHERE s.name = ?",
     mariadb = "SELECT s.id FROM (SELECT id, name FROM users) AS s WHERE s.name = ?"}},
  {"select_from(text)", function()
    return qs.select(qs.literal_column("x")):select_from(qs.text("users")) end,
    {postgresql = "SELECT x FROM users", sqlite = "SELECT x FROM users"}},
  {"correlate_except: the named FROM stays in the subquery", function()
    return qs.select(u.id):where(u.team_id:in_(qs.select(t.id):where(t.id:eq(u.team_id)):correlate_except(teams))) end,
    {postgresql = "SELECT users.id FROM users WHERE users.team_id IN (SELECT teams.id FROM teams " ..
       "WHERE teams.id = users.team_id)"}},
  {"correlate_except(users) keeps users inside", function()
    return qs.select(u.id):where(qs.exists(qs.select(o.id):where(o.user_id:eq(u.id)):correlate_except(users))) end,
    {sqlite = "SELECT users.id FROM users WHERE EXISTS (SELECT orders.id FROM orders, users " ..
       "WHERE orders.user_id = users.id)"}},
  {"correlate_except on an EXISTS and a scalar subquery", function()
    local ex = qs.exists(qs.select(o.id):where(o.user_id:eq(u.id))):correlate_except(users)
    local sc = qs.select(qs.func.count(o.id)):where(o.user_id:eq(u.id)):scalar_subquery():correlate_except(orders)
    return qs.select(u.id, sc:label("n")):where(ex) end,
    {sqlite = "SELECT users.id, (SELECT count(orders.id) AS count_1 FROM orders WHERE orders.user_id = users.id) AS n " ..
       "FROM users WHERE EXISTS (SELECT orders.id FROM orders, users WHERE orders.user_id = users.id)"}},
  {"duplicate names: a subquery labels id_1 and its .c names it", function()
    local s = qs.select(u.id, o.id, o.amount):where(u.id:eq(o.user_id)):subquery("s")
    return qs.select(s.c.id, s.c.id_1) end,
    {postgresql = "SELECT s.id, s.id_1 FROM (SELECT users.id, orders.id AS id_1, orders.amount FROM users, " ..
       "orders WHERE users.id = orders.user_id) AS s"}},
  {"duplicate names: the outermost SELECT as written", function()
    return qs.select(u.id, o.id):where(u.id:eq(o.user_id)) end,
    {postgresql = "SELECT users.id, orders.id FROM users, orders WHERE users.id = orders.user_id"}},
  {"prefix_with on SELECT, per dialect, and suffix_with", function()
    return qs.select(u.id):prefix_with("SQL_NO_CACHE", {dialect = "mysql"}):prefix_with("DISTINCT")
      :suffix_with("LOCK IN SHARE MODE", {dialect = "mysql"}) end,
    {sqlite = "SELECT DISTINCT users.id FROM users",
     mysql = "SELECT SQL_NO_CACHE DISTINCT users.id FROM users LOCK IN SHARE MODE",
     mariadb = "SELECT SQL_NO_CACHE DISTINCT users.id FROM users LOCK IN SHARE MODE"}},
  {"prefix_with on INSERT, UPDATE, DELETE", function()
    return qs.insert(teams):prefix_with("OR REPLACE", {dialect = "sqlite"}):prefix_with("IGNORE", {dialect = "mysql"})
      :values({id = 1, name = "a"}) end,
    {sqlite = "INSERT OR REPLACE INTO teams (id, name) VALUES (?, ?)",
     postgresql = "INSERT INTO teams (id, name) VALUES ($1, $2)",
     mariadb = "INSERT IGNORE INTO teams (id, name) VALUES (?, ?)"}},
  {"UPDATE LOW_PRIORITY", function() return qs.update(teams):prefix_with("LOW_PRIORITY"):values({name = "x"}) end,
    {mysql = "UPDATE LOW_PRIORITY teams SET name=?"}},
  {"DELETE QUICK", function() return qs.delete(teams):prefix_with("QUICK"):where(t.id:eq(1)) end,
    {mysql = "DELETE QUICK FROM teams WHERE teams.id = ?"}},
  {"ordered_values: SET in the order given", function()
    return qs.update(users):ordered_values({u.age, u.age + 1}, {"name", "x"}):where(u.id:eq(1)) end,
    {mysql = "UPDATE users SET age=users.age + ?, name=? WHERE users.id = ?",
     postgresql = "UPDATE users SET age=users.age + $1, name=$2 WHERE users.id = $3"}},
}

describe("statement and FROM forms (issue 24)", function()
  for _, case in ipairs(cases) do
    local title, build, want = case[1], case[2], case[3]
    for _, d in ipairs(DIALECTS) do
      local w = want[d]
      if w ~= nil then
        it(title .. " on " .. d, function()
          if type(w) == "table" then refused(build(), d, w.refused)
          else assert.equal(w, sql(build(), d)) end
        end)
      end
    end
  end
end)

describe("statement forms refuse bad input", function()
  local function arg_error(pattern, fn)
    local ok, err = pcall(fn)
    assert.is_false(ok)
    assert.truthy(tostring(err):find("ArgumentError", 1, true), tostring(err))
    assert.truthy(tostring(err):find(pattern, 1, true), tostring(err))
  end

  it("fetch: a count, known options", function()
    arg_error("fetch: expected a non-negative integer", function() qs.select(u.id):fetch(-1) end)
    arg_error("fetch: unknown option 'ties'", function() qs.select(u.id):fetch(1, {ties = true}) end)
  end)

  it("fetch and limit replace each other", function()
    assert.equal("SELECT users.id FROM users LIMIT ?", sql(qs.select(u.id):fetch(3):limit(2), "postgresql"):gsub("%$1", "?"))
    assert.equal("SELECT users.id FROM users FETCH FIRST $1 ROWS ONLY", sql(qs.select(u.id):limit(3):fetch(2), "postgresql"))
    assert.equal("SELECT users.id FROM users", sql(qs.select(u.id):fetch(3):fetch(nil), "postgresql"))
  end)

  it("prefix_with takes words only, and a dialect name", function()
    arg_error("prefix_with: \"IGNORE; DROP TABLE x\" is not words", function() qs.insert(teams):prefix_with("IGNORE; DROP TABLE x") end)
    arg_error("prefix_with: \"/* x */\" is not words", function() qs.select(u.id):prefix_with("/* x */") end)
    arg_error("suffix_with: 42 is not words", function() qs.select(u.id):suffix_with(42) end)
    arg_error("prefix_with: unknown option 'dialects'", function() qs.delete(teams):prefix_with("QUICK", {dialects = "mysql"}) end)
    arg_error("prefix_with: dialect must be a dialect name", function() qs.delete(teams):prefix_with("QUICK", {dialect = 1}) end)
  end)

  it("the compiler checks prefix words too (a tree built by hand)", function()
    local s = qs.select(u.id):prefix_with("X")
    s._prefixes = {"X'"}
    local ok, err = pcall(sql, s, "sqlite")
    assert.is_false(ok)
    assert.truthy(tostring(err):find("prefix_with: 'X'' is not words", 1, true), tostring(err))
  end)

  it("ordered_values: pairs of this table's columns, not with values()", function()
    arg_error("ordered_values: this update already has values()", function()
      qs.update(users):values({name = "a"}):ordered_values({u.age, 1}) end)
    arg_error("Update:values: this update has ordered_values()", function()
      qs.update(users):ordered_values({u.age, 1}):values({name = "a"}) end)
    arg_error("ordered_values: argument 1 names no column of 'users'", function()
      qs.update(users):ordered_values({t.name, 1}) end)
    arg_error("ordered_values: table 'users' has no column 'nope'", function()
      qs.update(users):ordered_values({"nope", 1}) end)
    arg_error("ordered_values: column 'age' is given twice", function()
      qs.update(users):ordered_values({u.age, 1}, {"age", 2}) end)
    arg_error("ordered_values: expected {column, value} pairs", function() qs.update(users):ordered_values(u.age) end)
  end)

  it("values: qs.column()s, rows of the right length", function()
    arg_error("values: expected qs.column(name, type) arguments, argument 1", function() qs.values("id") end)
    arg_error("values: no columns", function() qs.values({name = "v"}) end)
    arg_error("values: unknown option 'nam'", function() qs.values(qs.column("a", qs.Integer), {nam = "v"}) end)
    local v = qs.values(qs.column("a", qs.Integer), qs.column("b", qs.String), {name = "v"})
    arg_error("values:data: row 2 has 1 values for 2 columns", function() v:data({{1, "x"}, {2}}) end)
    arg_error("values:data: expected a list of rows", function() v:data({}) end)
    local ok, err = pcall(sql, qs.select(v.c.a), "sqlite")
    assert.is_false(ok)
    assert.truthy(tostring(err):find("values(): no rows", 1, true), tostring(err))
  end)

  it("values: a row of a bad value type is refused naming the column", function()
    local v = qs.values(qs.column("a", qs.Integer), {name = "v"}):data({{"not a number"}})
    local ok, err = pcall(function() return qs.create_engine("sqlite://"):connect(function(c)
      return c:execute(qs.select(v.c.a)):all() end) end)
    assert.is_false(ok)
    assert.truthy(tostring(err):find("a", 1, true), tostring(err))
  end)

  it("tablesample, table_valued, text subquery, lateral take what they should", function()
    arg_error("tablesample: expected a table", function() qs.tablesample(qs.select(u.id), 1) end)
    arg_error("tablesample: sampling must be a function", function() users:tablesample("bernoulli") end)
    arg_error("tablesample: unknown option 'repeatable'", function() users:tablesample(1, {repeatable = 1}) end)
    arg_error("table_valued: expected column names or qs.column()s", function() qs.func.json_each(u.name):table_valued(1) end)
    arg_error("text():subquery: give the columns first", function() qs.text("SELECT 1"):subquery("s") end)
    arg_error("lateral: expected a select()", function() qs.lateral(users, "x") end)
    arg_error("render_derived: only a table-valued function has it", function() users:alias("x"):render_derived() end)
  end)

  it("text():columns() keeps its column order through bindparams", function()
    local s = qs.text("SELECT :a AS b, 2 AS a"):columns(qs.column("b", qs.Integer), qs.column("a", qs.Integer))
      :bindparams({a = 1}):subquery("s")
    assert.same({"b", "a"}, {s.columns[1].name, s.columns[2].name})
  end)
end)
