-- Every type's Lua value, both ways, through a SQLite file: NULL, empty
-- strings, zero, negatives, integer limits, unicode, bytes with NUL.
local qs = require("quicksilver")
local helpers = require("spec.helpers")
local raises = helpers.assert_raises_kind

describe("types round-trip on SQLite", function()
  local engine

  setup(function() engine = helpers.sqlite_engine() end)
  teardown(function() engine:dispose(); helpers.cleanup() end)

  local n = 0
  -- Creates a one-column table of type t, stores each value, reads them back.
  local function roundtrip(t, values)
    n = n + 1
    local md = qs.MetaData()
    local tbl = qs.Table("rt" .. n, md, qs.Column("id", qs.Integer, {primary_key = true}),
      qs.Column("v", t))
    md:create_all(engine)
    engine:begin(function(conn)
      for i = 1, values.n or #values do
        local v = values[i]
        if v == nil then v = qs.null end
        conn:execute(qs.insert(tbl):values({id = i, v = v}))
      end
    end)
    return engine:connect(function(conn)
      return conn:execute(qs.select(tbl.c.v):order_by(tbl.c.id)):scalars():all()
    end)
  end

  local function same(expected, got)
    assert.equal(expected.n or #expected, got.n)
    for i = 1, got.n do
      assert.equal(expected[i], got[i], "value " .. i)
      if math.type and expected[i] ~= nil and type(expected[i]) == "number" then
        assert.equal(math.type(expected[i]), math.type(got[i]), "number subtype of value " .. i)
      end
    end
  end

  it("Integer and BigInteger keep Lua integers, limits included", function()
    local maxi = math.maxinteger or 2 ^ 53
    local mini = math.mininteger or -2 ^ 53
    same({0, -1, 42, maxi, mini, nil, n = 6}, roundtrip(qs.Integer, {0, -1, 42, maxi, mini, nil, n = 6}))
    same({maxi, n = 1}, roundtrip(qs.BigInteger, {maxi}))
    same({-32768, n = 1}, roundtrip(qs.SmallInteger, {-32768}))
  end)

  it("String and Text keep bytes, unicode and emptiness", function()
    local vals = {"", "it's", 'say "hi"', "héllo ☃ 日本語 🎉", "back\\slash", "semi;colon -- x", nil, n = 7}
    same(vals, roundtrip(qs.String(50), vals))
    local long = string.rep("abc", 10000)
    same({long, n = 1}, roundtrip(qs.Text, {long}))
  end)

  it("Boolean reads back as booleans", function()
    same({true, false, nil, n = 3}, roundtrip(qs.Boolean, {true, false, nil, n = 3}))
  end)

  it("Float reads back as floats", function()
    local got = roundtrip(qs.Float, {0.5, -1.25, 1e300, 3, n = 4})
    assert.equal(0.5, got[1])
    assert.equal(-1.25, got[2])
    assert.equal(1e300, got[3])
    assert.equal(3, got[4])
    if math.type then assert.equal("float", math.type(got[4])) end
  end)

  it("Numeric reads numbers, or exact strings with asdecimal", function()
    local got = roundtrip(qs.Numeric(10, 2), {12.34, 0, -5, n = 3})
    assert.equal(12.34, helpers.decimal_number(got[1]))
    assert.equal(0, helpers.decimal_number(got[2]))
    local dec = roundtrip(qs.Numeric(10, 2, {asdecimal = true}), {"12.34", 7, nil, n = 3})
    assert.equal("12.34", dec[1])
    assert.equal("7", dec[2])
    assert.is_nil(dec[3])
  end)

  it("Date, DateTime and Time are ISO strings; binds take os.date tables", function()
    same({"2024-02-29", "1999-12-31", n = 2},
      roundtrip(qs.Date, {"2024-02-29", {year = 1999, month = 12, day = 31}}))
    same({"2024-02-29 13:45:10", n = 1}, roundtrip(qs.DateTime, {"2024-02-29 13:45:10", n = 1}))
    local dt = roundtrip(qs.DateTime, {{year = 2020, month = 1, day = 2, hour = 3, min = 4, sec = 5}})
    assert.equal("2020-01-02 03:04:05", dt[1])
    same({"23:59:58", n = 1}, roundtrip(qs.Time, {"23:59:58"}))
  end)

  it("Interval is seconds", function()
    local got = roundtrip(qs.Interval, {3600, 1.5, n = 2})
    assert.equal(3600, got[1])
    assert.equal(1.5, got[2])
  end)

  it("LargeBinary keeps NUL and high bytes", function()
    local bytes = "\0\1\2\255\0abc\0"
    same({bytes, "", n = 2}, roundtrip(qs.LargeBinary, {bytes, ""}))
    local kind = engine:connect(function(c) return c:exec_driver_sql("SELECT typeof(v) FROM rt" .. n):scalar() end)
    assert.equal("blob", kind)
  end)

  it("Enum takes only its values", function()
    local e = qs.Enum("small", "large")
    same({"small", "large", n = 2}, roundtrip(e, {"small", "large"}))
    local err = raises(qs.exc.ArgumentError, function() roundtrip(e, {"medium"}) end)
    assert.matches("medium", err.message)
  end)

  it("Uuid is the 36-character string", function()
    local id = "123e4567-e89b-12d3-a456-426614174000"
    same({id, n = 1}, roundtrip(qs.Uuid, {id:upper()}))
    raises(qs.exc.ArgumentError, function() roundtrip(qs.Uuid, {"not-a-uuid"}) end)
  end)

  it("TypeDecorator converts both ways in Lua", function()
    local Csv = qs.TypeDecorator(qs.String(100), {
      process_bind_param = function(v) return table.concat(v, ",") end,
      process_result_value = function(v) local out = {} for x in v:gmatch("[^,]+") do out[#out + 1] = x end return out end,
    })
    local got = roundtrip(Csv, {{"a", "b", "c"}})
    assert.same({"a", "b", "c"}, got[1])
    local Flag = qs.TypeDecorator(qs.Boolean, {process_result_value = function(v) return v and "yes" or "no" end})
    local f = roundtrip(Flag, {true, false})
    assert.same({"yes", "no"}, {f[1], f[2]})
  end)
end)
