-- schema_translate_map at compile time: table schemas written translated
-- ("__none" standing for no schema), the compiled-statement cache keyed on
-- the map, bad maps refused by name.
local qs = require("quicksilver")
local compiler = require("quicksilver.sql.compiler")
local helpers = require("spec.helpers")

local function tables()
  local md = qs.MetaData()
  local a = qs.Table("a", md, qs.Column("id", qs.Integer, {primary_key = true}))
  local b = qs.Table("b", md, qs.Column("id", qs.Integer, {primary_key = true}),
    qs.Column("a_id", qs.Integer), {schema = "old"})
  return a, b
end

describe("schema_translate_map", function()
  it("translates a schema and the absence of one (SQLAlchemy's rendering)", function()
    local a, b = tables()
    local s = qs.select(a.c.id, b.c.a_id):join_from(a, b, a.c.id:eq(b.c.a_id))
    local m = {__none = "s1", old = "new"}
    assert.equal("SELECT s1.a.id, new.b.a_id FROM s1.a JOIN new.b ON s1.a.id = new.b.a_id",
      s:compile({dialect = "postgresql", schema_translate_map = m}).sql)
    assert.equal("SELECT a.id, old.b.a_id FROM a JOIN old.b ON a.id = old.b.a_id",
      s:compile({dialect = "postgresql"}).sql)
    assert.equal("SELECT s1.a.id, new.b.a_id FROM s1.a JOIN new.b ON s1.a.id = new.b.a_id",
      s:compile({dialect = "mysql", schema_translate_map = m}).sql)
    -- names are quoted by the dialect as any schema name is
    assert.equal('SELECT "My S".a.id FROM "My S".a',
      qs.select(a.c.id):compile({dialect = "postgresql", schema_translate_map = {__none = "My S"}}).sql)
  end)

  it("maps a schema to none with \"__none\" or false", function()
    local _, b = tables()
    assert.equal("SELECT b.id FROM b", qs.select(b.c.id):compile({dialect = "sqlite",
      schema_translate_map = {old = "__none"}}).sql)
    assert.equal("SELECT b.id FROM b", qs.select(b.c.id):compile({dialect = "sqlite",
      schema_translate_map = {old = false}}).sql)
  end)

  it("applies to INSERT, UPDATE, DELETE and DDL", function()
    local a, b = tables()
    local m = {__none = "s1", old = "new"}
    local function c(st) return st:compile({dialect = "postgresql", schema_translate_map = m}).sql end
    assert.equal("INSERT INTO new.b (id) VALUES ($1)", c(qs.insert(b):values({id = 1})))
    assert.equal("UPDATE s1.a SET id=$1 WHERE s1.a.id = $2", c(qs.update(a):values({id = 2}):where(a.c.id:eq(1))))
    assert.equal("DELETE FROM new.b WHERE new.b.id = $1", c(qs.delete(b):where(b.c.id:eq(1))))
    assert.truthy(c(qs.schema.CreateTable(b)):find("^CREATE TABLE new%.b"))
    assert.equal("DROP TABLE s1.a", c(qs.schema.DropTable(a)))
    local ix = qs.Index("ix_b", b.c.a_id)
    assert.equal("CREATE INDEX ix_b ON new.b (a_id)", c(qs.schema.CreateIndex(ix)))
    assert.equal("DROP INDEX new.ix_b", c(qs.schema.DropIndex(ix)))
  end)

  it("translates the schema of a referred table in a foreign key", function()
    local md = qs.MetaData()
    qs.Table("p", md, qs.Column("id", qs.Integer, {primary_key = true}), {schema = "old"})
    local ch = qs.Table("ch", md, qs.Column("id", qs.Integer, {primary_key = true}),
      qs.Column("p_id", qs.Integer, qs.ForeignKey("old.p.id")))
    local sql = qs.schema.CreateTable(ch):compile({dialect = "postgresql", schema_translate_map = {old = "new"}}).sql
    assert.truthy(sql:find("REFERENCES new.p (id)", 1, true), sql)
  end)

  it("leaves the schema out of SQLite's REFERENCES when it is the table's own", function()
    local md = qs.MetaData()
    qs.Table("p", md, qs.Column("id", qs.Integer, {primary_key = true}))
    local ch = qs.Table("ch", md, qs.Column("id", qs.Integer, {primary_key = true}),
      qs.Column("p_id", qs.Integer, qs.ForeignKey("p.id")))
    local sql = qs.schema.CreateTable(ch):compile({dialect = "sqlite", schema_translate_map = {__none = "s1"}}).sql
    assert.truthy(sql:find("^CREATE TABLE s1%.ch"), sql)
    assert.truthy(sql:find("REFERENCES p (id)", 1, true), sql)
    sql = qs.schema.CreateTable(ch):compile({dialect = "postgresql", schema_translate_map = {__none = "s1"}}).sql
    assert.truthy(sql:find("REFERENCES s1.p (id)", 1, true), sql)
  end)

  it("keys the compiled-statement cache on the map", function()
    local _, b = tables()
    compiler.clear_cache()
    local function run(m)
      local key = compiler.dialect_key("postgresql", m)
      return compiler.compile(qs.select(b.c.id):where(b.c.id:eq(5)), key).sql
    end
    assert.equal("SELECT s1.b.id FROM s1.b WHERE s1.b.id = $1", run({old = "s1"}))
    assert.equal("SELECT s2.b.id FROM s2.b WHERE s2.b.id = $1", run({old = "s2"}))
    assert.equal("SELECT old.b.id FROM old.b WHERE old.b.id = $1", run(nil))
    assert.equal("SELECT s1.b.id FROM s1.b WHERE s1.b.id = $1", run({old = "s1"}))
    local st = compiler.cache_stats()
    assert.equal(3, st.misses)
    assert.equal(1, st.hits)
    -- an equal map (another table) is the same key
    assert.equal(compiler.dialect_key("postgresql", {old = "s1"}), compiler.dialect_key("postgresql", {old = "s1"}))
    -- one statement object compiled under two maps keeps both forms apart
    local st2 = qs.select(b.c.id)
    assert.equal("SELECT s1.b.id FROM s1.b", compiler.compile(st2, compiler.dialect_key("sqlite", {old = "s1"})).sql)
    assert.equal("SELECT old.b.id FROM old.b", compiler.compile(st2, "sqlite").sql)
    assert.equal("SELECT s1.b.id FROM s1.b", compiler.compile(st2, compiler.dialect_key("sqlite", {old = "s1"})).sql)
    assert.equal("sqlite", compiler.compile(st2, compiler.dialect_key("sqlite", {old = "s1"})).dialect)
  end)

  it("refuses a map that is not schema names, naming the option", function()
    local _, b = tables()
    for _, m in ipairs({"s1", {[1] = "x"}, {old = 5}, {old = ""}}) do
      local err = helpers.assert_raises_kind(qs.exc.ArgumentError, function()
        qs.select(b.c.id):compile({dialect = "sqlite", schema_translate_map = m})
      end)
      assert.truthy(tostring(err):find("schema_translate_map", 1, true), tostring(err))
    end
    local engine = helpers.sqlite_engine()
    helpers.assert_raises_kind(qs.exc.ArgumentError, function()
      engine:execution_options({schema_translate_map = {old = 1}})
    end)
    engine:connect(function(c)
      helpers.assert_raises_kind(qs.exc.ArgumentError, function()
        c:execution_options({schema_translate_map = {[true] = "x"}})
      end)
    end)
    engine:dispose()
    helpers.cleanup()
  end)
end)
