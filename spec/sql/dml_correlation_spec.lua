-- Correlation inside INSERT, UPDATE and DELETE, per dialect: a subquery in
-- the WHERE, the SET values or RETURNING correlates to the statement's target
-- (and to the UPDATE ... FROM / DELETE ... USING tables, MySQL's multi-table
-- forms included), as SQLAlchemy's compiler does; an upsert's SET/WHERE
-- correlates to the row it updates; INSERT's VALUES and SELECT to nothing.
local qs = require("quicksilver")
local fixtures = require("spec.sql.fixtures")

local T = fixtures.tables()
local users, teams, orders = T.users, T.teams, T.orders
local u, t, o = users.c, teams.c, orders.c

local function has_orders()
  return qs.exists(qs.select(o.id):where(o.user_id:eq(u.id)))
end
local function order_count()
  return qs.select(qs.func.count(o.id)):where(o.user_id:eq(u.id)):scalar_subquery()
end

local EXISTS = "EXISTS (SELECT orders.id FROM orders WHERE orders.user_id = users.id)"
local COUNT = "(SELECT count(orders.id) AS count_1 FROM orders WHERE orders.user_id = users.id)"

local cases = {
  {"DELETE WHERE EXISTS", function() return qs.delete(users):where(has_orders()) end,
    {sqlite = "DELETE FROM users WHERE " .. EXISTS,
     postgresql = "DELETE FROM users WHERE " .. EXISTS,
     mysql = "DELETE FROM users WHERE " .. EXISTS,
     mariadb = "DELETE FROM users WHERE " .. EXISTS}},
  {"DELETE WHERE NOT EXISTS", function() return qs.delete(users):where(qs.not_(has_orders())) end,
    {sqlite = "DELETE FROM users WHERE NOT " .. EXISTS}},
  {"DELETE WHERE a correlated scalar subquery", function() return qs.delete(users):where(order_count():eq(0)) end,
    {postgresql = "DELETE FROM users WHERE " .. COUNT .. " = $1"}},
  {"UPDATE SET a correlated scalar subquery", function()
    return qs.update(users):values({age = order_count()}) end,
    {sqlite = "UPDATE users SET age=" .. COUNT,
     postgresql = "UPDATE users SET age=" .. COUNT,
     mysql = "UPDATE users SET age=" .. COUNT,
     mariadb = "UPDATE users SET age=" .. COUNT}},
  {"UPDATE WHERE EXISTS", function() return qs.update(users):where(has_orders()):values({age = 1}) end,
    {sqlite = "UPDATE users SET age=? WHERE " .. EXISTS,
     postgresql = "UPDATE users SET age=$1 WHERE " .. EXISTS,
     mysql = "UPDATE users SET age=? WHERE " .. EXISTS}},
  {"UPDATE RETURNING a correlated scalar subquery", function()
    return qs.update(users):values({age = 1}):returning(u.id, order_count():label("n")) end,
    {sqlite = "UPDATE users SET age=? RETURNING users.id, " .. COUNT .. " AS n",
     postgresql = "UPDATE users SET age=$1 RETURNING users.id, " .. COUNT .. " AS n"}},
  {"DELETE RETURNING a correlated scalar subquery", function()
    return qs.delete(users):returning(u.id, order_count():label("n")) end,
    {postgresql = "DELETE FROM users RETURNING users.id, " .. COUNT .. " AS n",
     mariadb = "DELETE FROM users RETURNING users.id, " .. COUNT .. " AS n"}},
  -- UPDATE ... FROM: the subquery correlates to the FROM table (teams) too
  {"UPDATE FROM, subquery correlated to the FROM table", function()
    return qs.update(users):where(u.team_id:eq(t.id))
      :where(qs.exists(qs.select(o.id):where(o.user_id:eq(u.id), o.amount:gt(t.id))))
      :values({age = 1}) end,
    {postgresql = "UPDATE users SET age=$1 FROM teams WHERE users.team_id = teams.id AND EXISTS " ..
       "(SELECT orders.id FROM orders WHERE orders.user_id = users.id AND orders.amount > teams.id)",
     sqlite = "UPDATE users SET age=? FROM teams WHERE users.team_id = teams.id AND EXISTS " ..
       "(SELECT orders.id FROM orders WHERE orders.user_id = users.id AND orders.amount > teams.id)",
     mysql = "UPDATE users, teams SET users.age=? WHERE users.team_id = teams.id AND EXISTS " ..
       "(SELECT orders.id FROM orders WHERE orders.user_id = users.id AND orders.amount > teams.id)",
     mariadb = "UPDATE users, teams SET users.age=? WHERE users.team_id = teams.id AND EXISTS " ..
       "(SELECT orders.id FROM orders WHERE orders.user_id = users.id AND orders.amount > teams.id)"}},
  {"DELETE USING, subquery correlated to the target and the USING table", function()
    return qs.delete(users):where(u.team_id:eq(t.id))
      :where(qs.exists(qs.select(o.id):where(o.user_id:eq(u.id), o.amount:gt(t.id)))) end,
    {postgresql = "DELETE FROM users USING teams WHERE users.team_id = teams.id AND EXISTS " ..
       "(SELECT orders.id FROM orders WHERE orders.user_id = users.id AND orders.amount > teams.id)",
     mysql = "DELETE FROM users USING users, teams WHERE users.team_id = teams.id AND EXISTS " ..
       "(SELECT orders.id FROM orders WHERE orders.user_id = users.id AND orders.amount > teams.id)",
     mariadb = "DELETE FROM users USING users, teams WHERE users.team_id = teams.id AND EXISTS " ..
       "(SELECT orders.id FROM orders WHERE orders.user_id = users.id AND orders.amount > teams.id)"}},
  -- MySQL refuses a subquery reading the target of a multi-table DELETE
  -- (error 1093): it reads a derived table of it instead
  {"DELETE USING, subquery reading an alias of the target", function()
    local other = users:alias("other")
    return qs.delete(users):where(u.team_id:eq(t.id))
      :where(qs.exists(qs.select(other.c.id):where(other.c.email:eq(u.email), other.c.id:ne(u.id)))) end,
    {postgresql = "DELETE FROM users USING teams WHERE users.team_id = teams.id AND EXISTS " ..
       "(SELECT other.id FROM users AS other WHERE other.email = users.email AND other.id != users.id)",
     mysql = "DELETE FROM users USING users, teams WHERE users.team_id = teams.id AND EXISTS " ..
       "(SELECT other.id FROM (SELECT * FROM users) AS other WHERE other.email = users.email AND other.id != users.id)",
     mariadb = "DELETE FROM users USING users, teams WHERE users.team_id = teams.id AND EXISTS " ..
       "(SELECT other.id FROM (SELECT * FROM users) AS other WHERE other.email = users.email AND other.id != users.id)"}},
  {"DELETE USING, IN a subquery of the target itself", function()
    return qs.delete(users):where(u.team_id:eq(t.id)):where(u.id:in_(qs.select(u.id):where(u.age:gt(3)))) end,
    {postgresql = "DELETE FROM users USING teams WHERE users.team_id = teams.id AND users.id IN " ..
       "(SELECT users.id FROM users WHERE users.age > $1)",
     mariadb = "DELETE FROM users USING users, teams WHERE users.team_id = teams.id AND users.id IN " ..
       "(SELECT users.id FROM (SELECT * FROM users) AS users WHERE users.age > ?)"}},
  {"single-table DELETE reading its target in a subquery: no derived table", function()
    return qs.delete(users):where(u.id:in_(qs.select(u.id):where(u.age:gt(3)))) end,
    {mariadb = "DELETE FROM users WHERE users.id IN (SELECT users.id FROM users WHERE users.age > ?)"}},
  -- a subquery whose only FROM is the target keeps it (nothing else to read)
  {"UPDATE SET an uncorrelated subquery of the target", function()
    return qs.update(users):values({age = qs.select(qs.func.max(u.age)):scalar_subquery()}) end,
    {sqlite = "UPDATE users SET age=(SELECT max(users.age) AS max_1 FROM users)"}},
  -- explicit correlation
  {"correlate() turns correlation off inside DML", function()
    return qs.delete(users):where(qs.exists(qs.select(o.id):where(o.user_id:eq(u.id)):correlate())) end,
    {sqlite = "DELETE FROM users WHERE EXISTS (SELECT orders.id FROM orders, users WHERE orders.user_id = users.id)"}},
  {"correlate(target) inside DML", function()
    return qs.delete(users):where(qs.exists(qs.select(o.id):where(o.user_id:eq(u.id)):correlate(users))) end,
    {sqlite = "DELETE FROM users WHERE " .. EXISTS}},
  {"correlate_except(other) inside DML correlates the target", function()
    return qs.delete(users):where(qs.exists(qs.select(o.id):where(o.user_id:eq(u.id)):correlate_except(orders))) end,
    {sqlite = "DELETE FROM users WHERE " .. EXISTS}},
  {"correlate_except(target) inside DML reads the target again", function()
    return qs.delete(users):where(qs.exists(qs.select(o.id):where(o.user_id:eq(u.id)):correlate_except(users))) end,
    {sqlite = "DELETE FROM users WHERE EXISTS (SELECT orders.id FROM orders, users WHERE orders.user_id = users.id)"}},
  {"correlate_except() correlates even a subquery's only FROM", function()
    return qs.select(u.id):where(qs.exists(qs.select(u.id):where(u.age:gt(1)):correlate_except())) end,
    {sqlite = "SELECT users.id FROM users WHERE EXISTS (SELECT users.id WHERE users.age > ?)"}},
  {"correlate_except in a SELECT", function()
    return qs.select(u.id):where(qs.exists(qs.select(o.id):where(o.user_id:eq(u.id)):correlate_except(orders))) end,
    {postgresql = "SELECT users.id FROM users WHERE " .. EXISTS}},
  -- upserts: SET/WHERE correlate to the existing row (and excluded)
  {"ON CONFLICT DO UPDATE SET a correlated subquery", function()
    return qs.insert(users):values({id = 1, name = "a"})
      :on_conflict_do_update({index_elements = {"id"}, set_ = {age = order_count()}}) end,
    {sqlite = "INSERT INTO users (id, name) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET age = " .. COUNT,
     postgresql = "INSERT INTO users (id, name) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET age = " .. COUNT}},
  {"ON CONFLICT DO UPDATE WHERE a correlated EXISTS, and excluded in a subquery", function()
    local ins = qs.insert(users):values({id = 1, name = "a"})
    return ins:on_conflict_do_update({index_elements = {"id"},
      set_ = {age = qs.select(qs.func.count(o.id)):where(o.user_id:eq(ins.excluded.id)):scalar_subquery()},
      where = has_orders()}) end,
    {postgresql = "INSERT INTO users (id, name) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET age = " ..
       "(SELECT count(orders.id) AS count_1 FROM orders WHERE orders.user_id = excluded.id) WHERE " .. EXISTS}},
  {"ON DUPLICATE KEY UPDATE a correlated subquery", function()
    return qs.insert(users):values({id = 1, name = "a"}):on_duplicate_key_update({age = order_count()}) end,
    {mysql = "INSERT INTO users (id, name) VALUES (?, ?) ON DUPLICATE KEY UPDATE age = " .. COUNT,
     mariadb = "INSERT INTO users (id, name) VALUES (?, ?) ON DUPLICATE KEY UPDATE age = " .. COUNT}},
  {"INSERT VALUES a subquery of the target: not correlated", function()
    return qs.insert(users):values({id = 1, name = "a", age = qs.select(qs.func.max(u.age)):where(u.id:gt(o.id))
      :select_from(users, orders):scalar_subquery()}) end,
    {sqlite = "INSERT INTO users (id, name, age) VALUES (?, ?, (SELECT max(users.age) AS max_1 FROM users, orders " ..
       "WHERE users.id > orders.id))"}},
  {"INSERT ... SELECT: not correlated to the target", function()
    return qs.insert(users):from_select({"id", "name"}, qs.select(o.id, qs.literal_column("'x'"))
      :where(qs.not_(qs.exists(qs.select(u.id):where(u.id:eq(o.user_id), u.age:gt(o.id)))))) end,
    {postgresql = "INSERT INTO users (id, name) SELECT orders.id, 'x' FROM orders WHERE NOT EXISTS " ..
       "(SELECT users.id FROM users WHERE users.id = orders.user_id AND users.age > orders.id)"}},
  -- a CTE attached to DML is its own statement: it correlates to nothing
  {"DELETE with a CTE reading the target", function()
    local old = qs.select(u.id):where(u.age:gt(90)):cte("old")
    return qs.delete(users):where(u.id:in_(qs.select(old.c.id))) end,
    {postgresql = "WITH old AS (SELECT users.id FROM users WHERE users.age > $1) DELETE FROM users WHERE users.id IN " ..
       "(SELECT old.id FROM old)"}},
}

describe("correlation in DML", function()
  for _, case in ipairs(cases) do
    local name, build, expected = case[1], case[2], case[3]
    for dialect, sql in pairs(expected) do
      it(name .. " [" .. dialect .. "]", function()
        assert.equal(sql, build():compile({dialect = dialect}).sql)
      end)
    end
  end

  it("a SELECT nested in DML still correlates to its own enclosing SELECT", function()
    local inner = qs.select(o.id):where(o.user_id:eq(u.id), o.amount:gt(t.id))
    local mid = qs.select(t.id):where(qs.exists(inner))
    local sql = qs.delete(users):where(u.team_id:in_(mid)):compile({dialect = "sqlite"}).sql
    assert.equal("DELETE FROM users WHERE users.team_id IN (SELECT teams.id FROM teams WHERE EXISTS " ..
      "(SELECT orders.id FROM orders WHERE orders.user_id = users.id AND orders.amount > teams.id))", sql)
  end)

  it("a FROM subquery inside DML correlates to nothing outside it", function()
    local sub = qs.select(o.user_id):where(o.user_id:eq(u.id)):select_from(orders, users):subquery("s")
    local sql = qs.delete(users):where(u.id:in_(qs.select(sub.c.user_id))):compile({dialect = "sqlite"}).sql
    assert.equal("DELETE FROM users WHERE users.id IN (SELECT s.user_id FROM (SELECT orders.user_id FROM orders, users " ..
      "WHERE orders.user_id = users.id) AS s)", sql)
  end)
end)
