-- qs.postgresql.Range and the range types without a server: the text both
-- ways (bounds, unbounded ends, empty, quoted timestamp bounds), DDL names,
-- CompileError on other databases, bad ranges refused by name.
local qs = require("quicksilver")
local helpers = require("spec.helpers")
local range = require("quicksilver.dialects.postgresql_range")

describe("PostgreSQL ranges", function()
  local pg = qs.postgresql

  it("write their text", function()
    assert.equal("[1,10)", tostring(pg.Range(1, 10)))
    assert.equal("(1.5,]", tostring(pg.Range(1.5, nil, {bounds = "(]"})))
    assert.equal("(,5)", tostring(pg.Range(nil, 5, {bounds = "()"})))
    assert.equal("empty", tostring(pg.Range(nil, nil, {empty = true})))
    assert.equal('["2024-01-01 10:00:00","2024-01-02 00:00:00")',
      tostring(pg.Range("2024-01-01 10:00:00", "2024-01-02 00:00:00")))
    assert.equal("[2024-01-01,2024-02-01]", tostring(pg.Range("2024-01-01", "2024-02-01", {bounds = "[]"})))
    assert.equal('["a\\"b",)', tostring(pg.Range('a"b', nil)))
  end)

  it("read the server's text back into Range values", function()
    local int = range.reader(function(s) return tonumber(s) end)
    local r = int("[3,5)")
    assert.equal(3, r.lower)
    assert.equal(5, r.upper)
    assert.equal("[)", r.bounds)
    assert.is_true(r == pg.Range(3, 5))
    assert.is_true(int("empty").empty)
    r = int("(,7]")
    assert.is_nil(r.lower)
    assert.equal(7, r.upper)
    assert.equal("(]", r.bounds)
    local ts = range.reader(nil)('["2024-01-01 10:00:00","2024-01-02 00:00:00")')
    assert.equal("2024-01-01 10:00:00", ts.lower)
    assert.equal("2024-01-02 00:00:00", ts.upper)
    assert.equal('a"b', range.reader(nil)('["a\\"b",)').lower)
  end)

  it("have DDL names and casts on PostgreSQL and none elsewhere", function()
    local md = qs.MetaData()
    local t = qs.Table("rt", md, qs.Column("id", qs.Integer, {primary_key = true, autoincrement = false}),
      qs.Column("i", pg.INT4RANGE), qs.Column("b", pg.INT8RANGE), qs.Column("n", pg.NUMRANGE),
      qs.Column("d", pg.DATERANGE), qs.Column("ts", pg.TSRANGE), qs.Column("tz", pg.TSTZRANGE))
    local sql = qs.schema.CreateTable(t):compile({dialect = "postgresql"}).sql
    for _, name in ipairs({"i INT4RANGE", "b INT8RANGE", "n NUMRANGE", "d DATERANGE", "ts TSRANGE", "tz TSTZRANGE"}) do
      assert.truthy(sql:find(name, 1, true), name)
    end
    assert.equal("SELECT $1::INT4RANGE AS anon_1",
      qs.select(qs.literal(pg.Range(1, 2), pg.INT4RANGE)):compile({dialect = "postgresql"}).sql)
    for _, d in ipairs({"sqlite", "mysql", "mariadb"}) do
      local err = helpers.assert_raises_kind(qs.exc.CompileError, function()
        return qs.schema.CreateTable(t):compile({dialect = d})
      end)
      assert.truthy(tostring(err):find("RANGE", 1, true), tostring(err))
    end
  end)

  it("refuse bad bounds, options and values by name", function()
    local e = helpers.assert_raises_kind(qs.exc.ArgumentError, function() pg.Range(1, 2, {bounds = "[["}) end)
    assert.truthy(tostring(e):find("bounds", 1, true), tostring(e))
    e = helpers.assert_raises_kind(qs.exc.ArgumentError, function() pg.Range(1, 2, {bound = "[)"}) end)
    assert.truthy(tostring(e):find("bound", 1, true), tostring(e))
    helpers.assert_raises_kind(qs.exc.ArgumentError, function() tostring(pg.Range({}, 2)) end)
    helpers.assert_raises_kind(qs.exc.ArgumentError, function() tostring(pg.Range(0 / 0, 2)) end)
    helpers.assert_raises_kind(qs.exc.ArgumentError, function() range.bind(5) end)
  end)
end)
