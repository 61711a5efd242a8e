-- Issue 24's statement and FROM forms run on every backend (QS_BACKEND):
-- fetch(n) / WITH TIES, LATERAL, values() as a FROM and in a CTE,
-- TABLESAMPLE, table-valued functions, text():columns():subquery(),
-- select_from(text), duplicate column names in a result, prefix_with,
-- ordered_values, and ORM insert/update/delete(Model):returning(Model). A
-- form the database lacks is a CompileError naming it.
local qs = require("quicksilver")
local orm = require("quicksilver.orm")
local helpers = require("spec.helpers")

local B = helpers.backend
local FETCH_TIES = B == "postgresql" or B == "mysql"   -- MariaDB 10.6+ has FETCH FIRST
local LATERAL = B == "postgresql"                      -- the mysql backend is MariaDB: none
local TABLESAMPLE = B == "postgresql"
local TABLE_VALUED = B == "postgresql" or B == "sqlite"

local function refused(pattern, fn)
  local err = helpers.assert_raises_kind(qs.exc.CompileError, fn)
  assert.truthy(tostring(err):find(pattern, 1, true), tostring(err))
end

describe("statement and FROM forms on " .. B, function()
  local engine, users, addresses, docs

  before_each(function()
    engine = helpers.backend_engine()
    local md = qs.MetaData()
    users = qs.Table("sf_users", md, qs.Column("id", qs.Integer, {primary_key = true, autoincrement = false}),
      qs.Column("name", qs.String(30)), qs.Column("age", qs.Integer), qs.Column("score", qs.Integer))
    addresses = qs.Table("sf_addresses", md, qs.Column("id", qs.Integer, {primary_key = true, autoincrement = false}),
      qs.Column("user_id", qs.Integer, qs.ForeignKey("sf_users.id")), qs.Column("email", qs.String(50)))
    docs = qs.Table("sf_docs", md, qs.Column("id", qs.Integer, {primary_key = true, autoincrement = false}),
      qs.Column("doc", qs.JSON))
    md:create_all(engine)
    engine:begin(function(c)
      c:execute(qs.insert(users), {{id = 1, name = "a", age = 10, score = 1}, {id = 2, name = "b", age = 20, score = 2},
        {id = 3, name = "c", age = 20, score = 3}, {id = 4, name = "d", age = 30, score = 4},
        {id = 5, name = "e", age = 40, score = 5}})
      c:execute(qs.insert(addresses), {{id = 11, user_id = 1, email = "a1"}, {id = 12, user_id = 1, email = "a2"},
        {id = 13, user_id = 1, email = "a3"}, {id = 14, user_id = 2, email = "b1"}})
      c:execute(qs.insert(docs), {id = 1, doc = {x = 1, y = 2}})
    end)
  end)

  after_each(function()
    engine:dispose()
    helpers.cleanup()
  end)

  local function all(stmt, params)
    return engine:connect(function(c) return c:execute(stmt, params):all() end)
  end
  local function col(rows, k)
    local out = {}
    for i, r in ipairs(rows) do out[i] = r[k] end
    return out
  end

  it("fetch(n), with an offset, and WITH TIES where the database has it", function()
    local u = users.c
    assert.same({1, 2}, col(all(qs.select(u.id):order_by(u.age, u.id):fetch(2)), "id"))
    assert.same({3, 4}, col(all(qs.select(u.id):order_by(u.age, u.id):fetch(2):offset(2)), "id"))
    local ties = qs.select(u.id):order_by(u.age):fetch(2, {with_ties = true})
    if FETCH_TIES then
      local ids = col(all(ties), "id")
      table.sort(ids)
      assert.same({1, 2, 3}, ids)   -- age 20 twice: both
    else
      refused("FETCH FIRST ... WITH TIES is not supported by dialect", function() all(ties) end)
    end
    refused("PERCENT is not supported by dialect", function() all(qs.select(u.id):fetch(50, {percent = true})) end)
  end)

  it("LATERAL: the two first addresses per user", function()
    local u, a = users.c, addresses.c
    local lat = qs.select(a.email):where(a.user_id:eq(u.id)):order_by(a.email):limit(2):lateral("x")
    local stmt = qs.select(u.name, lat.c.email):join_from(users, lat, qs.true_()):order_by(u.name, lat.c.email)
    if LATERAL then
      local rows = all(stmt)
      assert.same({"a1", "a2", "b1"}, col(rows, "email"))
      assert.same({"a", "a", "b"}, col(rows, "name"))
    else
      refused("LATERAL is not supported by dialect", function() all(stmt) end)
    end
  end)

  it("values() as a FROM: joined, selected, in a CTE; values bound", function()
    local u = users.c
    local v = qs.values(qs.column("id", qs.Integer), qs.column("label", qs.String(10)), {name = "v"})
      :data({{2, "two"}, {4, "four"}, {9, "nine"}})
    local rows = all(qs.select(u.name, v.c.label):join_from(users, v, u.id:eq(v.c.id)):order_by(u.id))
    assert.same({"b", "d"}, col(rows, "name"))
    assert.same({"two", "four"}, col(rows, "label"))
    local plain = all(qs.select(v.c.id, v.c.label):order_by(v.c.id))
    assert.same({2, 4, 9}, col(plain, "id"))
    local c = v:cte("vc")
    assert.same({"d"}, col(all(qs.select(u.name):join_from(users, c, u.id:eq(c.c.id)):where(c.c.label:eq("four"))), "name"))
    -- a quote in a value is a parameter, not SQL
    local q = qs.values(qs.column("s", qs.String(20)), {name = "q"}):data({{"it's'; --"}})
    assert.same({"it's'; --"}, col(all(qs.select(q.c.s)), "s"))
    -- literal_binds writes them through the literal renderer
    local lit = qs.values(qs.column("s", qs.String(20)), qs.column("n", qs.Integer), {name = "l", literal_binds = true})
      :data({{"o'k", 1}})
    local r = all(qs.select(lit.c.s, lit.c.n))[1]
    assert.same({"o'k", 1}, {r.s, r.n})
    -- the same shape with other literal values is another statement (the
    -- compiled-statement cache keys literal values by value)
    for _, x in ipairs({3, 4}) do
      local l2 = qs.values(qs.column("n", qs.Integer), {name = "l2", literal_binds = true}):data({{x}})
      assert.equal(x, all(qs.select(l2.c.n))[1].n)
    end
  end)

  it("TABLESAMPLE where the database has it", function()
    local s = users:tablesample(qs.func.bernoulli(100), {name = "s", seed = 42})
    local stmt = qs.select(s.c.id):order_by(s.c.id)
    if TABLESAMPLE then
      assert.same({1, 2, 3, 4, 5}, col(all(stmt), "id"))
    else
      refused("TABLESAMPLE is not supported by dialect", function() all(stmt) end)
    end
  end)

  it("a table-valued function as a FROM: json_each(doc)", function()
    local d = docs.c
    local f = qs.func.json_each(d.doc):table_valued("key", "value")
    local stmt = qs.select(d.id, f.c.key):select_from(docs, f):order_by(f.c.key)
    if TABLE_VALUED then
      local rows = all(stmt)
      assert.same({"x", "y"}, col(rows, "key"))
      assert.same({1, 1}, col(rows, "id"))
    else
      refused("is not supported by dialect", function() all(stmt) end)
    end
  end)

  it("text():columns():subquery() and select_from(text)", function()
    local s = qs.text("SELECT id, name FROM sf_users"):columns(qs.column("id", qs.Integer), qs.column("name", qs.String))
      :subquery("s")
    local rows = all(qs.select(s.c.id, s.c.name):where(s.c.id:gt(3)):order_by(s.c.id))
    assert.same({4, 5}, col(rows, "id"))
    assert.same({"d", "e"}, col(rows, "name"))
    local n = engine:connect(function(c)
      return c:execute(qs.select(qs.func.count()):select_from(qs.text("sf_users"))):scalar()
    end)
    assert.equal(5, n)
  end)

  it("duplicate column names: keys id and id_1, a subquery's .c the same, row[i] always", function()
    local u, a = users.c, addresses.c
    local stmt = qs.select(u.id, a.id, a.email):where(u.id:eq(a.user_id)):order_by(a.id)
    local res = engine:connect(function(c)
      local r = c:execute(stmt)
      return {keys = r:keys(), rows = r:all()}
    end)
    assert.same({"id", "id_1", "email"}, res.keys)
    assert.same({1, 11}, {res.rows[1].id, res.rows[1].id_1})
    assert.same({1, 11, "a1"}, {res.rows[1][1], res.rows[1][2], res.rows[1][3]})
    local sub = stmt:subquery("s")
    assert.same({"id", "id_1", "email"}, {sub.columns[1].key, sub.columns[2].key, sub.columns[3].key})
    local rows = all(qs.select(sub.c.id, sub.c.id_1):where(sub.c.id_1:eq(14)))
    assert.same({2, 14}, {rows[1].id, rows[1].id_1})
  end)

  it("prefix_with: INSERT OR IGNORE (SQLite) / INSERT IGNORE (MySQL) skip a duplicate key", function()
    local stmt = qs.insert(users):prefix_with("OR IGNORE", {dialect = "sqlite"}):prefix_with("IGNORE", {dialect = "mysql"})
    if B == "postgresql" then
      helpers.assert_raises_kind(qs.exc.IntegrityError, function()
        engine:begin(function(c) c:execute(stmt, {id = 1, name = "dup"}) end)
      end)
    else
      engine:begin(function(c) c:execute(stmt, {id = 1, name = "dup"}) end)
    end
    assert.equal("a", engine:connect(function(c)
      return c:execute(qs.select(users.c.name):where(users.c.id:eq(1))):scalar() end))
    engine:begin(function(c)
      c:execute(qs.delete(users):prefix_with("QUICK", {dialect = "mysql"}):where(users.c.id:eq(5)))
      c:execute(qs.update(users):prefix_with("LOW_PRIORITY", {dialect = "mysql"}):values({name = "z"}):where(users.c.id:eq(4)))
    end)
    local names = col(all(qs.select(users.c.name):prefix_with("SQL_NO_CACHE", {dialect = "mysql"}):order_by(users.c.id)), "name")
    assert.same({"a", "b", "c", "z"}, names)
  end)

  it("ordered_values: SET in the order given (MySQL applies it left to right)", function()
    local u = users.c
    engine:begin(function(c)
      c:execute(qs.update(users):ordered_values({u.age, u.age + 1}, {u.score, u.age}):where(u.id:eq(1)))
    end)
    local r = all(qs.select(u.age, u.score):where(u.id:eq(1)))[1]
    assert.equal(11, r.age)
    -- MySQL/MariaDB read the age just set; the others the row's old one
    assert.equal(B == "mysql" and 11 or 10, r.score)
  end)
end)

describe("ORM insert/update/delete(Model):returning(Model) on " .. B, function()
  local engine, Base, User, s

  before_each(function()
    engine = helpers.backend_engine()
    Base = orm.declarative_base()
    User = Base:model("User", {
      __tablename = "sf_orm_user",
      id = orm.mapped_column(qs.Integer, {primary_key = true}),
      name = orm.mapped_column(qs.String(20)),
    })
    Base.metadata:create_all(engine)
    s = orm.Session({bind = engine})
  end)

  after_each(function()
    if s then s:close() end
    if engine then engine:dispose() end
    helpers.cleanup()
  end)

  it("INSERT ... RETURNING the model: objects of the session, not strings", function()
    local got = s:scalars(qs.insert(User):returning(User), {{name = "a"}, {name = "b"}}):all()
    assert.equal(2, #got)
    assert.equal("table", type(got[1]))
    assert.same({"a", "b"}, {got[1].name, got[2].name})
    assert.is_true(rawequal(got[1], s:get(User, got[1].id)))
    local one = s:scalars(qs.insert(User):returning(User), {name = "c"}):one()
    assert.equal("c", one.name)
    assert.is_true(orm.inspect(one).persistent)
    s:commit()
  end)

  it("UPDATE ... RETURNING the model refreshes the session's object (refused where UPDATE has no RETURNING)", function()
    local u = User({name = "a"})
    s:add(u)
    s:commit()
    local stmt = qs.update(User):where(User.name:eq("a")):values({name = "a2"}):returning(User)
    if B == "mysql" then
      refused("RETURNING is not supported by dialect mariadb for UPDATE", function() s:scalars(stmt):all() end)
      return
    end
    local got = s:scalars(stmt):all()
    assert.equal(1, #got)
    assert.is_true(rawequal(u, got[1]))
    assert.equal("a2", u.name)
  end)

  it("DELETE ... RETURNING the model: the session's objects, deleted; a new row of the key is a new object", function()
    local u = User({name = "a"})
    s:add(u)
    s:commit()
    local id = u.id
    local got = s:scalars(qs.delete(User):where(User.id:eq(id)):returning(User)):all()
    assert.equal(1, #got)
    assert.is_true(rawequal(u, got[1]))
    assert.equal("a", got[1].name)
    assert.is_true(orm.inspect(u).deleted or orm.inspect(u).detached)
    local again = s:scalars(qs.insert(User):returning(User), {id = id, name = "new"}):one()
    assert.is_false(rawequal(u, again))
    assert.equal("new", again.name)
    -- a model next to a column
    local row = s:execute(qs.delete(User):where(User.id:eq(id)):returning(User, User.name)):one()
    assert.equal("new", row.name)
    assert.is_true(rawequal(again, row.User))
    assert.is_nil(s:get(User, id))
    s:commit()
  end)
end)

describe("ORM update(Model):returning(Model) without synchronization on " .. B, function()
  it("refreshes the session's object from the returned row", function()
    if B == "mysql" then return end   -- MariaDB: no UPDATE ... RETURNING (refused above)
    local engine = helpers.backend_engine()
    local Base = orm.declarative_base()
    local User = Base:model("User", {
      __tablename = "sf_orm_user2",
      id = orm.mapped_column(qs.Integer, {primary_key = true}),
      name = orm.mapped_column(qs.String(20)),
    })
    Base.metadata:create_all(engine)
    local s = orm.Session({bind = engine})
    local u = User({name = "a"})
    s:add(u)
    s:commit()
    assert.equal("a", u.name)
    local stmt = qs.update(User):where(User.id:eq(u.id)):values({name = "b"}):returning(User)
      :execution_options({synchronize_session = false})
    local got = s:scalars(stmt):all()
    assert.is_true(rawequal(u, got[1]))
    assert.equal("b", u.name)
    s:close()
    engine:dispose()
    helpers.cleanup()
  end)
end)
