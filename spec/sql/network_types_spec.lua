-- Interval, Uuid and PostgreSQL's INET / CIDR / MACADDR at compile time: DDL
-- names per dialect (SQLAlchemy 2.0's where it has them), the PostgreSQL
-- parameter casts, CompileError naming the type where a database has none,
-- bad values refused by the Lua checks.
local qs = require("quicksilver")
local helpers = require("spec.helpers")

local function ddl(t, d) return qs.schema.CreateTable(t):compile({dialect = d}).sql end

describe("Interval, Uuid and network address types", function()
  it("have their DDL names per dialect", function()
    local md = qs.MetaData()
    local t = qs.Table("nt", md, qs.Column("id", qs.Integer, {primary_key = true, autoincrement = false}),
      qs.Column("d", qs.Interval), qs.Column("u", qs.Uuid))
    assert.truthy(ddl(t, "postgresql"):find("d INTERVAL,", 1, true))
    assert.truthy(ddl(t, "postgresql"):find("u UUID", 1, true))
    -- seconds as a floating-point number where the database has no INTERVAL
    assert.truthy(ddl(t, "mysql"):find("d DOUBLE,", 1, true))
    assert.truthy(ddl(t, "sqlite"):find("d FLOAT,", 1, true))
    assert.truthy(ddl(t, "mysql"):find("u CHAR(36)", 1, true))
    assert.truthy(ddl(t, "sqlite"):find("u CHAR(36)", 1, true))
  end)

  it("qs.postgresql.INET, CIDR and MACADDR render on PostgreSQL and are refused elsewhere", function()
    local pg = qs.postgresql
    local md = qs.MetaData()
    local t = qs.Table("net", md, qs.Column("id", qs.Integer, {primary_key = true, autoincrement = false}),
      qs.Column("a", pg.INET), qs.Column("n", pg.CIDR()), qs.Column("m", pg.MACADDR))
    assert.equal("CREATE TABLE net (\n\tid INTEGER NOT NULL, \n\ta INET, \n\tn CIDR, \n\tm MACADDR, \n\tPRIMARY KEY (id)\n)",
      ddl(t, "postgresql"))
    for _, d in ipairs({"sqlite", "mysql", "mariadb"}) do
      local err = helpers.assert_raises_kind(qs.exc.CompileError, function() return ddl(t, d) end)
      assert.truthy(tostring(err):find("INET", 1, true), tostring(err))
    end
    assert.equal("INET", tostring(pg.INET))
  end)

  it("cast their parameters on PostgreSQL where the server cannot infer them", function()
    local pg = qs.postgresql
    local sql = qs.select(qs.literal("10.0.0.1", pg.INET), qs.literal(1.5, qs.Interval),
      qs.literal("8a3f6b8e-58a4-4d0b-9a59-53e2b5b0c7a1", qs.Uuid)):compile({dialect = "postgresql"}).sql
    assert.equal("SELECT $1::INET AS anon_1, $2::INTERVAL AS anon_2, $3::UUID AS anon_3", sql)
  end)

  it("refuse a wrong value naming the parameter", function()
    local engine = helpers.sqlite_engine()
    local md = qs.MetaData()
    local t = qs.Table("badv", md, qs.Column("id", qs.Integer, {primary_key = true}), qs.Column("d", qs.Interval),
      qs.Column("u", qs.Uuid))
    md:create_all(engine)
    local err = helpers.assert_raises_kind(qs.exc.ArgumentError, function()
      engine:begin(function(c) c:execute(qs.insert(t), {id = 1, d = "1 day"}) end)
    end)
    assert.truthy(tostring(err):find("'d'", 1, true), tostring(err))
    err = helpers.assert_raises_kind(qs.exc.ArgumentError, function()
      engine:begin(function(c) c:execute(qs.insert(t), {id = 1, u = "not-a-uuid"}) end)
    end)
    assert.truthy(tostring(err):find("Uuid", 1, true), tostring(err))
    engine:dispose()
    helpers.cleanup()
  end)
end)
