-- The completed expression language, compiled per dialect: windows, set
-- operations, CTEs, upsert, RETURNING, UPDATE FROM / DELETE USING, DISTINCT
-- ON, multi-row VALUES. Each case gives the SQLite text; PostgreSQL's is
-- the same with $n placeholders unless given; MySQL and MariaDB the same as
-- SQLite unless given. ERR means CompileError naming the dialect.
local qs = require("quicksilver")

local md = qs.MetaData()
local emp = qs.Table("emp", md,
  qs.Column("id", qs.Integer, {primary_key = true}),
  qs.Column("name", qs.String(20), {nullable = false}),
  qs.Column("dept", qs.String(20)),
  qs.Column("salary", qs.Integer),
  qs.Column("boss_id", qs.Integer, qs.ForeignKey("emp.id")))
local e = emp.c
local ERR = {}

local function pg(sql)
  local n = 0
  return (sql:gsub("%?", function() n = n + 1; return "$" .. n end))
end

local top = qs.select(e.id, e.name):where(e.boss_id:eq(nil)):cte("chain", {recursive = true})
local chain = top:union_all(qs.select(e.id, e.name):join(top, e.boss_id:eq(top.c.id)))
local rich = qs.select(e.id):where(e.salary:gt(100)):cte("rich")
local boss = emp:alias("boss")
local ins = qs.insert(emp):values({id = 1, name = "x"})

local cases = {
  {"rank over partition and order", qs.select(e.name, qs.func.rank():over({partition_by = e.dept, order_by = e.salary:desc()}):label("r")),
    "SELECT emp.name, rank() OVER (PARTITION BY emp.dept ORDER BY emp.salary DESC) AS r FROM emp"},
  {"row_number over order", qs.select(qs.func.row_number():over({order_by = e.id})),
    "SELECT row_number() OVER (ORDER BY emp.id) AS anon_1 FROM emp"},
  {"empty over", qs.select(qs.func.count():over()):select_from(emp), "SELECT count(*) OVER () AS anon_1 FROM emp"},
  {"rows frame", qs.select(qs.func.sum(e.salary):over({order_by = e.id, rows = {qs.unbounded, 0}})),
    "SELECT sum(emp.salary) OVER (ORDER BY emp.id ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS anon_1 FROM emp"},
  {"range frame", qs.select(qs.func.avg(e.salary):over({partition_by = {e.dept, e.boss_id}, range = {-2, 3}})),
    "SELECT avg(emp.salary) OVER (PARTITION BY emp.dept, emp.boss_id RANGE BETWEEN 2 PRECEDING AND 3 FOLLOWING) AS anon_1 FROM emp"},
  {"frame to unbounded following", qs.select(qs.func.max(e.salary):over({order_by = e.id, rows = {0, qs.unbounded}})),
    "SELECT max(emp.salary) OVER (ORDER BY emp.id ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING) AS anon_1 FROM emp"},
  {"lag with arguments", qs.select(qs.func.lag(e.salary, 1):over({order_by = e.id})),
    "SELECT lag(emp.salary, ?) OVER (ORDER BY emp.id) AS anon_1 FROM emp",
    -- a function's argument says its type on PostgreSQL (nothing else types it)
    "SELECT lag(emp.salary, $1::INTEGER) OVER (ORDER BY emp.id) AS anon_1 FROM emp"},
  {"union", qs.union(qs.select(e.id):where(e.dept:eq("a")), qs.select(e.id):where(e.dept:eq("b"))),
    "SELECT emp.id FROM emp WHERE emp.dept = ? UNION SELECT emp.id FROM emp WHERE emp.dept = ?"},
  {"union_all with order_by name and limit", qs.select(e.name):where(e.dept:eq("a")):union_all(qs.select(e.name)):order_by("name"):limit(3),
    "SELECT emp.name FROM emp WHERE emp.dept = ? UNION ALL SELECT emp.name FROM emp ORDER BY name LIMIT ?"},
  {"order_by a column over a compound", qs.union(qs.select(e.name), qs.select(e.dept)):order_by(e.name:desc()),
    "SELECT emp.name FROM emp UNION SELECT emp.dept FROM emp ORDER BY name DESC"},
  {"three-way union", qs.union(qs.select(e.id), qs.select(e.boss_id), qs.select(e.salary)),
    "SELECT emp.id FROM emp UNION SELECT emp.boss_id FROM emp UNION SELECT emp.salary FROM emp"},
  {"intersect", qs.intersect(qs.select(e.id), qs.select(e.boss_id)),
    "SELECT emp.id FROM emp INTERSECT SELECT emp.boss_id FROM emp", nil, {mysql = ERR}},
  {"except_", qs.except_(qs.select(e.id), qs.select(e.boss_id)),
    "SELECT emp.id FROM emp EXCEPT SELECT emp.boss_id FROM emp", nil, {mysql = ERR}},
  {"members with their own limit", qs.select(e.id):limit(1):union(qs.select(e.id):limit(2)),
    "SELECT * FROM (SELECT emp.id FROM emp LIMIT ?) UNION SELECT * FROM (SELECT emp.id FROM emp LIMIT ?)",
    "(SELECT emp.id FROM emp LIMIT $1) UNION (SELECT emp.id FROM emp LIMIT $2)",
    {mysql = "(SELECT emp.id FROM emp LIMIT ?) UNION (SELECT emp.id FROM emp LIMIT ?)",
     mariadb = "(SELECT emp.id FROM emp LIMIT ?) UNION (SELECT emp.id FROM emp LIMIT ?)"}},
  {"compound as a subquery", (function()
      local u = qs.union(qs.select(e.id), qs.select(e.boss_id)):subquery("u")
      return qs.select(qs.func.count(u.c.id)) end)(),
    "SELECT count(u.id) AS count_1 FROM (SELECT emp.id FROM emp UNION SELECT emp.boss_id FROM emp) AS u"},
  {"compound in IN", qs.select(e.name):where(e.id:in_(qs.union(qs.select(e.id), qs.select(e.boss_id)))),
    "SELECT emp.name FROM emp WHERE emp.id IN (SELECT emp.id FROM emp UNION SELECT emp.boss_id FROM emp)"},
  {"cte", qs.select(e.name):where(e.id:in_(qs.select(rich.c.id))),
    "WITH rich AS (SELECT emp.id FROM emp WHERE emp.salary > ?) SELECT emp.name FROM emp WHERE emp.id IN (SELECT rich.id FROM rich)"},
  {"cte joined", qs.select(e.name):join(rich, e.id:eq(rich.c.id)),
    "WITH rich AS (SELECT emp.id FROM emp WHERE emp.salary > ?) SELECT emp.name FROM emp JOIN rich ON emp.id = rich.id"},
  {"recursive cte", qs.select(chain.c.name):order_by(chain.c.name),
    "WITH RECURSIVE chain AS (SELECT emp.id, emp.name FROM emp WHERE emp.boss_id IS NULL UNION ALL SELECT emp.id, emp.name FROM emp JOIN chain ON emp.boss_id = chain.id) SELECT chain.name FROM chain ORDER BY chain.name"},
  {"two ctes, one using the other", (function()
      local a = qs.select(e.id):where(e.salary:gt(1)):cte("a")
      local b = qs.select(a.c.id):where(a.c.id:lt(9)):cte("b")
      return qs.select(b.c.id) end)(),
    "WITH a AS (SELECT emp.id FROM emp WHERE emp.salary > ?), b AS (SELECT a.id FROM a WHERE a.id < ?) SELECT b.id FROM b"},
  {"cte in UPDATE", qs.update(emp):where(e.id:in_(qs.select(rich.c.id))):values({salary = e.salary + 1}),
    "WITH rich AS (SELECT emp.id FROM emp WHERE emp.salary > ?) UPDATE emp SET salary=emp.salary + ? WHERE emp.id IN (SELECT rich.id FROM rich)",
    nil, {mariadb = ERR}},
  {"cte in DELETE", qs.delete(emp):where(e.id:in_(qs.select(rich.c.id))),
    "WITH rich AS (SELECT emp.id FROM emp WHERE emp.salary > ?) DELETE FROM emp WHERE emp.id IN (SELECT rich.id FROM rich)",
    nil, {mariadb = ERR}},
  {"upsert do update", ins:on_conflict_do_update({index_elements = {"id"}, set_ = {name = ins.excluded.name}}),
    "INSERT INTO emp (id, name) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET name = excluded.name", nil,
    {mysql = ERR, mariadb = ERR}},
  {"upsert do update with where", ins:on_conflict_do_update({index_elements = {e.id}, set_ = {name = ins.excluded.name, salary = 3}, where = e.salary:lt(5)}),
    "INSERT INTO emp (id, name) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET name = excluded.name, salary = ? WHERE emp.salary < ?", nil,
    {mysql = ERR, mariadb = ERR}},
  {"upsert do nothing", ins:on_conflict_do_nothing(),
    "INSERT INTO emp (id, name) VALUES (?, ?) ON CONFLICT DO NOTHING", nil, {mysql = ERR, mariadb = ERR}},
  {"upsert do nothing on elements", ins:on_conflict_do_nothing({index_elements = {"id"}}),
    "INSERT INTO emp (id, name) VALUES (?, ?) ON CONFLICT (id) DO NOTHING", nil, {mysql = ERR, mariadb = ERR}},
  {"upsert on a named constraint", ins:on_conflict_do_update({constraint = "emp_pkey", set_ = {name = "z"}}),
    ERR, "INSERT INTO emp (id, name) VALUES ($1, $2) ON CONFLICT ON CONSTRAINT emp_pkey DO UPDATE SET name = $3",
    {mysql = ERR, mariadb = ERR}},
  {"upsert from a select gets a WHERE", qs.insert(emp):from_select({"id", "name"}, qs.select(e.id + 100, e.name)):on_conflict_do_nothing(),
    "INSERT INTO emp (id, name) SELECT emp.id + ? AS anon_1, emp.name FROM emp WHERE 1 ON CONFLICT DO NOTHING",
    "INSERT INTO emp (id, name) SELECT emp.id + $1 AS anon_1, emp.name FROM emp WHERE true ON CONFLICT DO NOTHING",
    {mysql = ERR, mariadb = ERR}},
  {"on duplicate key update", ins:on_duplicate_key_update({name = ins.inserted.name, salary = 5}),
    ERR, ERR, {mysql = "INSERT INTO emp (id, name) VALUES (?, ?) ON DUPLICATE KEY UPDATE name = VALUES(name), salary = ?",
      mariadb = "INSERT INTO emp (id, name) VALUES (?, ?) ON DUPLICATE KEY UPDATE name = VALUES(name), salary = ?"}},
  {"insert returning", qs.insert(emp):values({name = "a"}):returning(e.id, e.name),
    "INSERT INTO emp (name) VALUES (?) RETURNING emp.id, emp.name", nil, {mysql = ERR}},
  {"update returning", qs.update(emp):values({name = "a"}):returning(e.id),
    "UPDATE emp SET name=? RETURNING emp.id", nil, {mysql = ERR, mariadb = ERR}},
  {"delete returning", qs.delete(emp):where(e.id:eq(1)):returning(e.name),
    "DELETE FROM emp WHERE emp.id = ? RETURNING emp.name", nil, {mysql = ERR}},
  {"returning an expression", qs.insert(emp):values({name = "a"}):returning((e.salary + 1):label("next")),
    "INSERT INTO emp (name) VALUES (?) RETURNING emp.salary + ? AS next", nil, {mysql = ERR}},
  {"update from another table", qs.update(emp):where(e.boss_id:eq(boss.c.id), boss.c.name:eq("x")):values({salary = boss.c.salary}),
    "UPDATE emp SET salary=boss.salary FROM emp AS boss WHERE emp.boss_id = boss.id AND boss.name = ?", nil,
    {mysql = "UPDATE emp, emp AS boss SET emp.salary=boss.salary WHERE emp.boss_id = boss.id AND boss.name = ?",
     mariadb = "UPDATE emp, emp AS boss SET emp.salary=boss.salary WHERE emp.boss_id = boss.id AND boss.name = ?"}},
  {"delete using another table", qs.delete(emp):where(e.boss_id:eq(boss.c.id), boss.c.name:eq("x")),
    ERR, "DELETE FROM emp USING emp AS boss WHERE emp.boss_id = boss.id AND boss.name = $1",
    {mysql = "DELETE FROM emp USING emp, emp AS boss WHERE emp.boss_id = boss.id AND boss.name = ?",
     mariadb = "DELETE FROM emp USING emp, emp AS boss WHERE emp.boss_id = boss.id AND boss.name = ?"}},
  {"distinct on", qs.select(e.dept, e.name):distinct(e.dept):order_by(e.dept, e.salary:desc()),
    ERR, "SELECT DISTINCT ON (emp.dept) emp.dept, emp.name FROM emp ORDER BY emp.dept, emp.salary DESC",
    {mysql = ERR, mariadb = ERR}},
  {"multi-row values", qs.insert(emp):values({{name = "a", salary = 1}, {name = "b", salary = 2}, {name = "c"}}),
    "INSERT INTO emp (name, salary) VALUES (?, ?), (?, ?), (?, NULL)"},
  {"multi-row values with an expression", qs.insert(emp):values({{name = "a"}, {name = qs.func.upper("b")}}),
    "INSERT INTO emp (name) VALUES (?), (upper(?))"},
  {"window in a subquery, filtered outside", (function()
      local ranked = qs.select(e.name, qs.func.rank():over({order_by = e.salary:desc()}):label("r")):subquery("ranked")
      return qs.select(ranked.c.name):where(ranked.c.r:le(3)) end)(),
    "SELECT ranked.name FROM (SELECT emp.name, rank() OVER (ORDER BY emp.salary DESC) AS r FROM emp) AS ranked WHERE ranked.r <= ?"},
}

describe("compiling the completed language", function()
  local count = 0
  for _, case in ipairs(cases) do
    local name, stmt, lite, pgsql, others = case[1], case[2], case[3], case[4], case[5] or {}
    local expected = {sqlite = lite, postgresql = pgsql or (lite ~= ERR and pg(lite) or ERR),
      mysql = others.mysql or lite, mariadb = others.mariadb or others.mysql or lite}
    if others.mariadb == nil and others.mysql == ERR then expected.mariadb = lite end
    if others.mariadb ~= nil then expected.mariadb = others.mariadb end
    for _, dialect in ipairs({"sqlite", "postgresql", "mysql", "mariadb"}) do
      local want = expected[dialect]
      count = count + 1
      it(name .. " [" .. dialect .. "]", function()
        if want == ERR then
          local ok, err = pcall(stmt.compile, stmt, {dialect = dialect})
          assert.is_false(ok, "expected a CompileError")
          assert.is_true(err:is_a(qs.exc.CompileError), tostring(err))
          assert.matches(dialect, err.message)
        else
          assert.equal(want, stmt:compile({dialect = dialect}).sql)
        end
      end)
    end
  end
  it("has at least 100 more dialect cases", function()
    assert.is_true(count >= 100, "only " .. count)
  end)

  it("refuses bad window frames and set operations of different widths", function()
    assert.has_error(function() qs.func.sum(e.id):over({rows = {1.5, 0}}) end)
    assert.has_error(function() qs.func.sum(e.id):over({rows = {0, 0}, range = {0, 0}}) end)
    local ok, err = pcall(qs.union, qs.select(e.id), qs.select(e.id, e.name))
    assert.is_false(ok)
    assert.is_true(err:is_a(qs.exc.ArgumentError))
  end)
end)
