-- The exact decimal value (sql/decimal.lua, issue 24): its text, arithmetic,
-- division's precision, comparison rules per Lua runtime, the unit of work's
-- equality by value, JSON, and the refusals. Expected digits were checked
-- with Python's decimal module (ROUND_HALF_UP where a result is rounded).
local qs = require("quicksilver")
local core = require("quicksilver.core")
local types = require("quicksilver.sql.types")
local decimal = require("quicksilver.sql.decimal")
local helpers = require("spec.helpers")
local raises = helpers.assert_raises_kind

local D = qs.Decimal
local lua51 = _VERSION == "Lua 5.1"   -- LuaJIT too

describe("qs.Decimal", function()
  it("keeps the text it was made from; computed values have a canonical text", function()
    assert.equal("10.40", tostring(D("10.40")))
    assert.equal("10.40", D("10.40"):tostring())
    assert.equal("1e3", tostring(D("1e3")))
    assert.equal("-0.00", tostring(D("-0.00")))
    assert.equal("1000", tostring(D("1e3") + 0))
    assert.equal("0.0000123", tostring(D("1.23e-5") + 0))
    assert.equal("0", tostring(-D("0")))
    assert.equal("42", tostring(D(42)))
    assert.equal("0.1", tostring(D(0.1)))         -- the shortest text of the float
    assert.equal("10.40", tostring(decimal.from_text("10.40")))
    assert.equal("x10.40y", "x" .. D("10.40") .. "y")
    assert.equal(2, D("10.40"):scale())
  end)

  it("qs.decimal is qs.Decimal; qs.is_decimal tells a decimal from anything else", function()
    assert.equal(D("1.5"), qs.decimal("1.5"))
    assert.is_true(qs.is_decimal(D("1")))
    assert.is_false(qs.is_decimal(1))
    assert.is_false(qs.is_decimal("1"))
    assert.is_false(qs.is_decimal({"1"}))
    assert.equal(D("2"), D(D("2")))
  end)

  it("adds, subtracts, multiplies and negates exactly, scales as SQL does", function()
    assert.equal("11.40", tostring(D("10.40") + 1))
    assert.equal("11.40", tostring(1 + D("10.40")))
    assert.equal("-2.25", tostring(D("5") - D("7.25")))
    assert.equal("20.80", tostring(D("10.40") * 2))
    assert.equal("0.3", tostring(D("0.1") + 0.2))          -- 0.30000000000000004 in floats
    assert.equal("-1.5", tostring(-D("1.5")))
    assert.equal("1.5", tostring(D("-1.5"):abs()))
    assert.equal("12.90", tostring(D("10.40") + "2.5"))
    assert.equal("1219326311370217952249656998492318125791510427.91536503561234567890",
      tostring(D("12345678901234567890123456.1234567890") * D("98765432109876543210.0000000001")))
  end)

  it("keeps NUMERIC(38, 10) values exact", function()
    local max = D("9999999999999999999999999999.9999999999")
    assert.equal("10000000000000000000000000000.0000000000", tostring(max + D("0.0000000001")))
    assert.equal("0.0000000000", tostring(max - max))
    assert.equal("-9999999999999999999999999999.9999999998", tostring(-max + D("0.0000000001")))
    assert.is_true(max > D("9999999999999999999999999999.9999999998"))
    assert.is_false(max == D("9999999999999999999999999999.9999999998"))
  end)

  it("divides to 20 digits after the point (trimmed), or to a stated scale", function()
    assert.equal("0.33333333333333333333", tostring(D(1) / 3))
    assert.equal("0.66666666666666666667", tostring(D(2) / 3))
    assert.equal("2.5", tostring(D(10) / 4))
    assert.equal("5.20", tostring(D("10.40") / 2))
    assert.equal("-12.5", tostring(D(100) / D(-8)))
    assert.equal("0.33333", tostring(D(1):div(3, 5)))
    assert.equal("1", tostring(D(2):div(3, 0)))
    assert.equal("2.50", tostring(D(10):div(4, 2)))
    assert.equal(20, decimal.DIVISION_SCALE)
    local err = raises(qs.exc.ArgumentError, function() return D(1) / 0 end)
    assert.matches("division by zero", err.message)
    raises(qs.exc.ArgumentError, function() return D(1):div(2, -1) end)
  end)

  it("rounds half away from zero, as SQL's ROUND", function()
    assert.equal("2.35", tostring(D("2.345"):round(2)))
    assert.equal("-3", tostring(D("-2.5"):round(0)))
    assert.equal("1.500", tostring(D("1.5"):round(3)))
    assert.equal("0", tostring(D("0.4"):round(0)))
    assert.equal("1", tostring(D("0.5"):round(0)))
  end)

  it("compares by value: == between decimals, eq/lt/le with numbers and strings", function()
    assert.is_true(D("10.40") == D("10.4"))
    assert.is_true(D("1e1") == D("10.0"))
    assert.is_false(D("10.40") == D("10.41"))
    assert.is_true(D("1") < D("2"))
    assert.is_true(D("-2") <= D("-2.00"))
    assert.is_true(D("1.5"):eq(1.5))
    assert.is_true(D("1.5"):eq("1.50"))
    assert.is_false(D("1.5") == 1.5)    -- Lua never calls __eq for a table and a number
    assert.is_true(D("1.5"):lt(2))
    assert.is_true(D("2"):le(2))
    assert.equal(-1, D("1"):compare(math.huge))
    assert.equal(1, D("1"):compare(-math.huge))
    assert.is_nil(D("1"):compare(0 / 0))
  end)

  it("compares with a number through < and <= on Lua 5.2+; Lua 5.1 and LuaJIT refuse", function()
    if lua51 then
      assert.is_false(pcall(function() return D("2") < 3 end))
    else
      assert.is_true(D("2") < 3)
      assert.is_true(2 <= D("2"))
      assert.is_false(D("2") < 1.5)
    end
  end)

  it("tonumber gives the nearest float", function()
    assert.equal(10.4, D("10.40"):tonumber())
    if math.type then assert.equal("float", math.type(D("3"):tonumber())) end
    local nan = decimal.from_text("NaN"):tonumber()
    assert.is_true(nan ~= nan)
  end)

  it("refuses what is not a decimal number", function()
    for _, bad in ipairs({"1e3x", "abc", " 1", "1 ", "0x10", "1..2", "", ".", "-", "1e", "1e99999", "NaN"}) do
      local err = raises(qs.exc.ArgumentError, function() return D(bad) end)
      assert.truthy(err.message:find("not a decimal number", 1, true), bad)
    end
    raises(qs.exc.ArgumentError, function() return D(math.huge) end)
    raises(qs.exc.ArgumentError, function() return D(0 / 0) end)
    raises(qs.exc.ArgumentError, function() return D(true) end)
    raises(qs.exc.ArgumentError, function() return D("1") + "x" end)
    -- a server's NaN is kept; arithmetic on it is refused, == holds for the same text
    local nan = decimal.from_text("NaN")
    assert.equal("NaN", tostring(nan))
    raises(qs.exc.ArgumentError, function() return nan + 1 end)
    assert.is_true(nan == decimal.from_text("NaN"))
    assert.is_false(nan == D("0"))
  end)

  it("core.changed_keys compares decimals by value (no UPDATE for an equal value)", function()
    local dict = {a = D("10.4"), b = D("10.41"), c = D("1e1"), d = decimal.from_text("NaN")}
    local committed = {a = D("10.40"), b = D("10.40"), c = D("10"), d = decimal.from_text("NaN")}
    assert.same({"b"}, core.changed_keys(dict, committed, {"a", "b", "c", "d"}))
    -- a decimal and a number or string of the same value still differ (raw equality)
    assert.same({"x", "y"}, core.changed_keys({x = D("1"), y = "1"}, {x = 1, y = D("1")}, {"x", "y"}))
  end)

  it("encodes as a JSON number of its text", function()
    assert.equal('[10.40,-1e3]', core.json_encode(qs.json_array({D("10.40"), D("-1e3")})))
    local ok, err = pcall(core.json_encode, {D("1.")})
    assert.is_false(ok)
    assert.matches("JSON number", tostring(err))
  end)

  it("is typed Numeric as a literal; a TypeDecorator over Numeric reads decimals", function()
    assert.equal(types.Numeric, types.for_value(D("1")))
    local conv = types.result_function(qs.Numeric(10, 2))
    assert.equal("10.4", tostring(conv(10.4)))
    assert.equal("7", tostring(conv(7)))
    assert.is_true(qs.is_decimal(conv("10.40")))
    assert.is_nil(conv(nil))
    local as_text = types.result_function(qs.Numeric(10, 2, {asdecimal = true}))
    assert.equal("7", as_text(7))
    assert.equal(10.4, types.result_function(qs.Numeric(10, 2, {asdecimal = false}))("10.4"))
  end)
end)

describe("Numeric values on SQLite", function()
  local engine
  setup(function() engine = helpers.sqlite_engine() end)
  teardown(function() engine:dispose(); helpers.cleanup() end)

  it("come back as decimals of the stored value's text; a TypeDecorator sees the decimal", function()
    local md = qs.MetaData()
    local seen
    local Money = qs.TypeDecorator(qs.Numeric(10, 2), {process_result_value = function(v)
      seen = v
      return v
    end})
    local t = qs.Table("sq_dec", md, qs.Column("id", qs.Integer, {primary_key = true}),
      qs.Column("n", qs.Numeric(10, 2)), qs.Column("m", Money))
    md:create_all(engine)
    engine:begin(function(c) c:execute(qs.insert(t), {{id = 1, n = D("10.40"), m = D("1.25")}, {id = 2, n = 7}}) end)
    local rows = engine:connect(function(c) return c:execute(qs.select(t):order_by(t.c.id)):all() end)
    assert.equal("10.4", tostring(rows[1].n))
    assert.equal("7", tostring(rows[2].n))
    assert.is_true(qs.is_decimal(rows[2].n))
    assert.is_true(qs.is_decimal(seen))
    assert.equal(D("1.25"), rows[1].m)
    local kind = engine:connect(function(c) return c:exec_driver_sql("SELECT typeof(n) FROM sq_dec WHERE id = 1"):scalar() end)
    assert.equal("real", kind)
  end)

  it("a stored double's text is the one '%.15g' writes (written without printf where it can)", function()
    local md = qs.MetaData()
    local t = qs.Table("sq_dbl", md, qs.Column("id", qs.Integer, {primary_key = true}), qs.Column("n", qs.Numeric),
      qs.Column("s", qs.Numeric({asdecimal = true})))
    md:create_all(engine)
    local vals = {0.1, 10.4, -3.25, 1e-5, 0.0001, 1e20, 123456789012345.6, 0.1 + 0.2, 1 / 3, 100, 1e15 - 1,
      99999999999999.9, -0.05, 2.5e-4, 5e-324, 1.7976931348623157e308, 12345.678901}
    local rows = {}
    for i, v in ipairs(vals) do rows[i] = {id = i, n = v, s = v} end
    engine:begin(function(c) c:execute(qs.insert(t), rows) end)
    local got = engine:connect(function(c) return c:execute(qs.select(t.c.n, t.c.s):order_by(t.c.id)):all() end)
    for i, v in ipairs(vals) do
      local want = string.format("%.15g", v)
      assert.equal(want, tostring(got[i].n), "value " .. i)
      assert.equal(want, got[i].s, "value " .. i)
    end
  end)
end)
