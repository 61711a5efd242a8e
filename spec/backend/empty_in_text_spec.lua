-- Two refusals the compiler made of valid statements (issue 21, item 9), run
-- on every backend (the behaviour suite): an empty IN on a string column
-- (PostgreSQL's empty set was typed INTEGER: "operator does not exist:
-- character varying = integer"), and text() whose quoted runs hold a
-- ":name" in the dialect's own quoting (MySQL's backslash escapes,
-- PostgreSQL's dollar quotes and E'' strings), which became a bind.
local qs = require("quicksilver")
local core = require("quicksilver.core")
local helpers = require("spec.helpers")

describe("empty IN and text() quoting on " .. helpers.backend, function()
  local engine, md, items

  setup(function()
    engine = helpers.backend_engine()
    md = qs.MetaData()
    items = qs.Table("ein_items", md,
      qs.Column("id", qs.Integer, {primary_key = true}),
      qs.Column("name", qs.String(30)),
      qs.Column("amount", qs.Numeric(10, 2)),
      qs.Column("at", qs.DateTime),
      qs.Column("ok", qs.Boolean))
    md:create_all(engine)
    engine:begin(function(conn)
      conn:execute(qs.insert(items), {{id = 1, name = "a", amount = 1.5, ok = true},
        {id = 2, name = "b", amount = 2, ok = false}})
    end)
  end)

  teardown(function()
    md:drop_all(engine)
    engine:dispose()
    helpers.cleanup()
  end)

  local function ids(stmt)
    local list = engine:connect(function(conn) return conn:execute(stmt):scalars():all() end)
    local out = {}
    for i = 1, #list do out[i] = tonumber(list[i]) or list[i] end
    return out
  end

  it("in_({}) and not_in({}) on columns of every type", function()
    for _, col in ipairs({items.c.id, items.c.name, items.c.amount, items.c.at, items.c.ok}) do
      local q = qs.select(items.c.id):where(col:in_({})):order_by(items.c.id)
      assert.same({}, ids(q))
      q = qs.select(items.c.id):where(col:not_in({})):order_by(items.c.id)
      assert.same({1, 2}, ids(q))
    end
  end)

  it("in_({}) of a literal and inside a CASE", function()
    assert.same({}, ids(qs.select(items.c.id):where(qs.literal("x"):in_({}))))
    local q = qs.select(qs.case({{items.c.name:in_({}), "yes"}}, {else_ = "no"})):order_by(items.c.id)
    assert.same({"no", "no"}, ids(q))
  end)

  it("text() leaves a :name inside the dialect's quoted runs alone", function()
    local function one(sql, params)
      return engine:connect(function(conn) return conn:execute(qs.text(sql), params):all()[1] end)
    end
    local row
    if helpers.on("mysql") then
      row = one([[SELECT 'it\'s :x' AS a, :y AS b]], {y = 7})
      assert.equal("it's :x", row.a)
      row = one([[SELECT "a\" :x" AS a, :y AS b]], {y = 7})
      assert.equal('a" :x', row.a)
    elseif helpers.on("postgresql") then
      row = one([[SELECT $$ :x $$ AS a, CAST(:y AS INTEGER) AS b]], {y = 7})
      assert.equal(" :x ", row.a)
      row = one([[SELECT $q$ it's :x $q$ AS a, CAST(:y AS INTEGER) AS b]], {y = 7})
      assert.equal(" it's :x ", row.a)
      row = one([[SELECT E'it\'s :x' AS a, CAST(:y AS INTEGER) AS b]], {y = 7})
      assert.equal("it's :x", row.a)
    else
      row = one([[SELECT 'it''s :x' AS a, :y AS b]], {y = 7})
      assert.equal("it's :x", row.a)
    end
    assert.equal(7, tonumber(row.b))
  end)
end)

describe("text() bind scanning per dialect (compiled)", function()
  local cases = {
    -- dialect, text, placeholders' keys
    {"mysql", [[SELECT 'a\'' , :x]], {"x"}},
    {"mariadb", [[SELECT "a\" :y", :x]], {"x"}},
    {"mysql", [[SELECT `a\` , :x]], {"x"}},          -- no escapes in backticks
    {"postgresql", [[SELECT $$ :y $$, :x]], {"x"}},
    {"postgresql", [[SELECT $tag$ :y $x$ :z $tag$, :x]], {"x"}},
    {"postgresql", [[SELECT E'\' :y', :x]], {"x"}},
    {"postgresql", [[SELECT e'it''s \\ :y', :x]], {"x"}},
    {"postgresql", [[SELECT 'a\'' , :x]], {}},        -- standard strings: the quote ends at \'
    {"postgresql", [[SELECT a$b, $1, :x]], {"x"}},     -- $ in a name, a parameter: no quote
    {"sqlite", [[SELECT 'a''b :y', :x]], {"x"}},
    {"sqlite", [[SELECT $$ :y $$]], {"y"}},            -- not SQLite quoting
  }
  for _, case in ipairs(cases) do
    it(case[1] .. ": " .. case[2], function()
      local _, keys = core.compile_text(case[1], case[2])
      assert.same(case[3], keys)
    end)
  end
end)
