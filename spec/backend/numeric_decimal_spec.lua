-- Numeric values come back exact (issue 24): a decimal value whose tostring is
-- the database's text ("10.40" on PostgreSQL and MariaDB; SQLite stores a
-- double and gives its 15-digit text, "10.4"), on every backend and driver.
-- Binds take decimals, numbers and checked decimal strings; asdecimal = false
-- reads floats, asdecimal = true the text as a string (as before decimals);
-- the ORM does not see an equal decimal as a change.
local qs = require("quicksilver")
local orm = require("quicksilver.orm")
local helpers = require("spec.helpers")
local raises = helpers.assert_raises_kind

local sqlite = helpers.backend == "sqlite"

describe("Numeric exact decimals on " .. helpers.backend, function()
  local engine, t

  before_each(function()
    engine = helpers.backend_engine()
    local md = qs.MetaData()
    t = qs.Table("decimals", md, qs.Column("id", qs.Integer, {primary_key = true, autoincrement = false}),
      qs.Column("n", qs.Numeric(10, 2)), qs.Column("big", qs.Numeric(38, 10)),
      qs.Column("fl", qs.Numeric(10, 2, {asdecimal = false})), qs.Column("f", qs.Float))
    md:create_all(engine)
  end)

  after_each(function()
    orm.close_all_sessions()
    engine:dispose()
    helpers.cleanup()
  end)

  local function column(c)
    return engine:connect(function(conn)
      return conn:execute(qs.select(c):order_by(t.c.id)):scalars():all()
    end)
  end

  it("reads NUMERIC(10, 2) as decimals whose text is the database's", function()
    engine:begin(function(c)
      c:execute(qs.insert(t), {{id = 1, n = qs.Decimal("10.40")}, {id = 2, n = "10.4"}, {id = 3, n = 12.5},
        {id = 4, n = -3}, {id = 5, n = qs.Decimal("0")}, {id = 6}})
    end)
    local got = column(t.c.n)
    for i = 1, 5 do assert.is_true(qs.is_decimal(got[i]), "value " .. i) end
    assert.is_nil(got[6])
    local want = sqlite and {"10.4", "10.4", "12.5", "-3", "0"} or {"10.40", "10.40", "12.50", "-3.00", "0.00"}
    for i = 1, 5 do assert.equal(want[i], tostring(got[i]), "value " .. i) end
    assert.equal(qs.Decimal("10.4"), got[1])
    assert.is_true(got[3]:eq(12.5))
    assert.equal(10.4, got[1]:tonumber())
    assert.equal(sqlite and "20.8" or "20.80", tostring(got[1] * 2))
  end)

  it("keeps NUMERIC(38, 10) exact on the servers (SQLite keeps about 15 digits)", function()
    local text = "1234567890123456789012345678.0123456789"
    engine:begin(function(c) c:execute(qs.insert(t):values({id = 1, big = qs.Decimal(text)})) end)
    local got = column(t.c.big)[1]
    assert.is_true(qs.is_decimal(got))
    if sqlite then
      assert.equal(string.format("%.15g", tonumber(text)), tostring(got))
    else
      assert.equal(text, tostring(got))
      assert.equal(qs.Decimal(text) + qs.Decimal("0.0000000001"), got + qs.Decimal("0.0000000001"))
    end
    -- a decimal string binds as its exact text too
    engine:begin(function(c) c:execute(qs.insert(t):values({id = 2, big = "-0.0000000001"})) end)
    assert.equal(qs.Decimal("-0.0000000001"), column(t.c.big)[2])
  end)

  it("finds rows by a decimal, a number or a decimal string", function()
    engine:begin(function(c)
      c:execute(qs.insert(t), {{id = 1, n = "10.40"}, {id = 2, n = "2.50"}})
    end)
    engine:connect(function(c)
      local function ids(cond)
        return c:execute(qs.select(t.c.id):where(cond):order_by(t.c.id)):scalars():all()
      end
      assert.same({1, n = 1}, ids(t.c.n:eq(qs.Decimal("10.4"))))
      assert.same({2, n = 1}, ids(t.c.n:lt(5)))
      assert.same({1, n = 1}, ids(t.c.n:gt("3.1")))
      local total = c:execute(qs.select(qs.func.sum(t.c.n))):scalar()
      assert.is_true(qs.is_decimal(total))
      assert.is_true(total:eq("12.9"))
    end)
  end)

  it("gives floats with asdecimal = false, and Float stays a float", function()
    engine:begin(function(c) c:execute(qs.insert(t):values({id = 1, fl = qs.Decimal("10.40"), f = 1.5})) end)
    local fl, f = column(t.c.fl)[1], column(t.c.f)[1]
    assert.equal("number", type(fl))
    assert.equal(10.4, fl)
    assert.equal(1.5, f)
    if math.type then assert.equal("float", math.type(fl)) end
  end)

  it("asdecimal = true still reads the exact text as a Lua string (programs call tonumber on it)", function()
    local md = qs.MetaData()
    local tt = qs.Table("dec_text", md, qs.Column("id", qs.Integer, {primary_key = true, autoincrement = false}),
      qs.Column("v", qs.Numeric(10, 2, {asdecimal = true})))
    md:create_all(engine)
    engine:begin(function(c)
      c:execute(qs.insert(tt), {{id = 1, v = qs.Decimal("10.40")}, {id = 2, v = "7"}, {id = 3, v = 2.5}})
    end)
    local got = engine:connect(function(c) return c:execute(qs.select(tt.c.v):order_by(tt.c.id)):scalars():all() end)
    local want = sqlite and {"10.4", "7", "2.5"} or {"10.40", "7.00", "2.50"}
    for i = 1, 3 do
      assert.equal("string", type(got[i]))
      assert.equal(want[i], got[i])
    end
    assert.equal(10.4, tonumber(got[1]))
  end)

  it("casts to Numeric read back as decimals", function()
    local got = engine:connect(function(c)
      return c:execute(qs.select(qs.cast(qs.literal("2.5"), qs.Numeric(5, 2)))):scalar()
    end)
    assert.is_true(qs.is_decimal(got))
    assert.equal(sqlite and "2.5" or "2.50", tostring(got))
  end)

  it("refuses a string that is not a decimal number, naming the parameter", function()
    for _, bad in ipairs({"1e3x", "abc", " 1", "0x10", "1..2", ""}) do
      local err = raises(qs.exc.ArgumentError, function()
        engine:begin(function(c) c:execute(qs.insert(t):values({id = 1, n = bad})) end)
      end)
      assert.matches("'n'", err.message, 1, true)
    end
    raises(qs.exc.ArgumentError, function()
      engine:begin(function(c) c:execute(qs.insert(t):values({id = 1, n = true})) end)
    end)
  end)

  it("the ORM sees an equal decimal as no change", function()
    local Base = orm.declarative_base()
    local Item = Base:model("Item", {
      __tablename = "dec_items",
      id = orm.mapped_column(qs.Integer, {primary_key = true, autoincrement = false}),
      price = orm.mapped_column(qs.Numeric(10, 2)),
    })
    Base.metadata:create_all(engine)
    local s = orm.Session(engine)
    s:add(Item({id = 1, price = qs.Decimal("10.40")}))
    s:commit()
    local updates = 0
    qs.event.listen(engine, "before_cursor_execute", function(_, sql)
      if sql:find("^UPDATE") then updates = updates + 1 end
    end)
    local it = s:get(Item, 1)
    assert.is_true(qs.is_decimal(it.price))
    it.price = qs.Decimal("10.4")       -- the same value written another way
    s:flush()
    assert.equal(0, updates)
    it.price = qs.Decimal("10.41")
    s:flush()
    assert.equal(1, updates)
    s:commit()
    s:expire_all()
    assert.equal(qs.Decimal("10.41"), s:get(Item, 1).price)
    s:close()
  end)
end)
