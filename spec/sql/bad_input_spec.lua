-- Bad input to the expression language gets a clear qs.exc error naming the
-- problem, before anything reaches the database; identifiers of any shape
-- are data, never SQL.
local qs = require("quicksilver")
local helpers = require("spec.helpers")
local fixtures = require("spec.sql.fixtures")
local raises = helpers.assert_raises_kind

describe("bad input", function()
  local engine, T, u

  setup(function()
    engine = helpers.sqlite_engine()
    T = fixtures.tables()
    u = T.users.c
    T.md:create_all(engine)
  end)
  teardown(function() engine:dispose(); helpers.cleanup() end)

  local function count()
    return engine:connect(function(c) return c:execute(qs.select(qs.func.count()):select_from(T.users)):scalar() end)
  end

  it("filter_by with an unknown column names it", function()
    local err = raises(qs.exc.ArgumentError, function() qs.select(T.users):filter_by({nmae = "x"}) end)
    assert.matches("nmae", err.message)
  end)

  it("filter_by({}) raises", function()
    raises(qs.exc.ArgumentError, function() qs.select(T.users):filter_by({}) end)
  end)

  it("a key like '$gt' is a column name, never an operator", function()
    local err = raises(qs.exc.ArgumentError, function() qs.select(T.users):filter_by({["$gt"] = 5}) end)
    assert.matches("%$gt", err.message)
    local md = qs.MetaData()
    local odd = qs.Table("odd", md, qs.Column("id", qs.Integer, {primary_key = true}), qs.Column("$gt", qs.Integer))
    assert.equal('SELECT odd.id FROM odd WHERE odd."$gt" = ?',
      qs.select(odd.c.id):filter_by({["$gt"] = 5}):compile().sql)
  end)

  it("a table for an Integer column raises ArgumentError naming the column, nothing inserted", function()
    local err = raises(qs.exc.ArgumentError, function()
      engine:begin(function(c) c:execute(qs.insert(T.users):values({name = "x", age = {1}})) end)
    end)
    assert.matches("age", err.message)
    assert.equal(0, count())
  end)

  it("3.5 for an Integer column raises ArgumentError naming the column", function()
    local err = raises(qs.exc.ArgumentError, function()
      engine:begin(function(c) c:execute(qs.insert(T.users), {{name = "x", age = 1}, {name = "y", age = 3.5}}) end)
    end)
    assert.matches("age", err.message)
    assert.matches("3.5", err.message)
    assert.matches("group 2", err.message)
    assert.equal(0, count())
  end)

  it("a string for an Integer in WHERE raises", function()
    local err = raises(qs.exc.ArgumentError, function()
      engine:connect(function(c) c:execute(qs.select(u.id):where(u.age:eq("old"))) end)
    end)
    assert.matches("age", err.message)
  end)

  it("a boolean for a String raises; a number is accepted", function()
    raises(qs.exc.ArgumentError, function()
      engine:begin(function(c) c:execute(qs.insert(T.users):values({name = true})) end)
    end)
    engine:begin(function(c)
      c:execute(qs.insert(T.users):values({name = 42}))
      c:rollback()
    end)
  end)

  it("Lua booleans or nil where a condition belongs raise", function()
    for _, v in ipairs({true, false}) do
      local err = raises(qs.exc.ArgumentError, function() qs.select(u.id):where(v) end)
      assert.matches("col:eq%(%)", err.message)
    end
    raises(qs.exc.ArgumentError, function() qs.and_(u.id:eq(1), false) end)
    raises(qs.exc.ArgumentError, function() qs.or_(nil) end)
    raises(qs.exc.ArgumentError, function() qs.not_(true) end)
    raises(qs.exc.ArgumentError, function() qs.select(u.id):having(true) end)
    raises(qs.exc.ArgumentError, function() qs.case({{true, 1}}) end)
    raises(qs.exc.ArgumentError, function() qs.select(u.id):join(T.teams, false) end)
  end)

  it("order_by/group_by strings must name a column or label", function()
    local err = raises(qs.exc.CompileError, function() qs.select(u.id):order_by("id; DROP TABLE users") end)
    assert.matches("qs.text", err.message)
    raises(qs.exc.CompileError, function() qs.select(u.id):group_by("nope") end)
  end)

  it("negative or non-integer limit/offset raise", function()
    for _, v in ipairs({-1, 2.5, "10"}) do
      raises(qs.exc.ArgumentError, function() qs.select(u.id):limit(v) end)
      raises(qs.exc.ArgumentError, function() qs.select(u.id):offset(v) end)
    end
  end)

  it("function names are checked", function()
    raises(qs.exc.CompileError, function() qs.select(qs.func["x(); DROP TABLE users; --"]()):compile() end)
  end)

  it("referential actions are checked", function()
    raises(qs.exc.ArgumentError, function() qs.ForeignKey("t.id", {ondelete = "CASCADE; DROP TABLE x"}) end)
  end)

  it("unknown Column and Table options raise", function()
    raises(qs.exc.ArgumentError, function() qs.Column("x", qs.Integer, {primry_key = true}) end)
    raises(qs.exc.ArgumentError, function() qs.Table("t", qs.MetaData(), qs.Column("x", qs.Integer), {shema = "s"}) end)
    raises(qs.exc.ArgumentError, function() return T.users.c.nope end)
  end)

  it("select of a plain Lua table raises", function()
    raises(qs.exc.ArgumentError, function() qs.select({a = 1}) end)
  end)

  it("a join without a foreign key or ON clause raises NoForeignKeysError", function()
    local md = qs.MetaData()
    local a = qs.Table("a", md, qs.Column("id", qs.Integer, {primary_key = true}))
    local b = qs.Table("b", md, qs.Column("id", qs.Integer, {primary_key = true}))
    raises(qs.exc.NoForeignKeysError, function() qs.select(a.c.id):join(b) end)
  end)

  it("an identifier corpus is created, written and read as data", function()
    local names = {'quo"te', "back`tick", "semi;colon", "dash--dash", "sp ace", "select", "Mixed",
      "ünï", "日本", "order", "x'); DROP TABLE users; --", "$gt", "1digit"}
    local md = qs.MetaData()
    local cols = {qs.Column("id", qs.Integer, {primary_key = true})}
    for _, n in ipairs(names) do cols[#cols + 1] = qs.Column(n, qs.String(40)) end
    local tbl = qs.Table('weird "table"; --', md, (table.unpack or unpack)(cols))   -- luacheck: ignore
    md:create_all(engine)
    local row = {}
    for _, n in ipairs(names) do row[n] = "v:" .. n end
    engine:begin(function(c) c:execute(qs.insert(tbl), {row}) end)
    local got = engine:connect(function(c)
      return c:execute(qs.select(tbl):where(tbl.c["select"]:eq("v:select"))):one()
    end)
    for _, n in ipairs(names) do assert.equal("v:" .. n, got[n]) end
    assert.is_true(qs.inspect(engine):has_table("users"))
    assert.is_true(qs.inspect(engine):has_table('weird "table"; --'))
  end)
end)
