-- qs.DDL(sql): table tokens filled in per dialect as SQLAlchemy 2.0 renders
-- them (its "%%" on PostgreSQL/MySQL is the psycopg2/mysqlclient escaping
-- of a format paramstyle: quicksilver's drivers take "%" as it is), bad
-- text and options refused by name, callable as an event listener.
local qs = require("quicksilver")
local helpers = require("spec.helpers")
local raises = helpers.assert_raises_kind

describe("qs.DDL", function()
  local md, t, u
  before_each(function()
    md = qs.MetaData()
    t = qs.Table("My T", md, qs.Column("id", qs.Integer), {schema = "sch"})
    u = qs.Table("users", md, qs.Column("id", qs.Integer))
  end)

  it("fills %(fullname)s, %(table)s and %(schema)s quoted by the dialect; %% is %", function()
    local d = qs.DDL("ALTER TABLE %(fullname)s ADD x INT -- %(table)s in %(schema)s 100%%")
    assert.equal('ALTER TABLE sch."My T" ADD x INT -- "My T" in sch 100%', d:against(t):compile({dialect = "postgresql"}).sql)
    assert.equal("ALTER TABLE users ADD x INT -- users in  100%", d:against(u):compile({dialect = "postgresql"}).sql)
    assert.equal("ALTER TABLE sch.`My T` ADD x INT -- `My T` in sch 100%", d:against(t):compile({dialect = "mysql"}).sql)
    assert.equal('ALTER TABLE sch."My T" ADD x INT -- "My T" in sch 100%', d:against(t):compile({dialect = "sqlite"}).sql)
    assert.equal('ALTER TABLE sch."My T" ADD x INT -- "My T" in sch 100%', tostring(d:against(t)))
  end)

  it("is qs.ddl.DDL too, and sends its text unscanned (colons are no binds)", function()
    assert.equal(qs.DDL, qs.ddl.DDL)
    local d = qs.DDL("CREATE FUNCTION f() RETURNS int AS 'SELECT 1::int' LANGUAGE sql -- :x")
    assert.equal("CREATE FUNCTION f() RETURNS int AS 'SELECT 1::int' LANGUAGE sql -- :x",
      d:compile({dialect = "postgresql"}).sql)
  end)

  it("translates the schema under schema_translate_map", function()
    local d = qs.DDL("COMMENT ON TABLE %(fullname)s IS 'x'"):against(t)
    assert.equal([[COMMENT ON TABLE other."My T" IS 'x']],
      d:compile({dialect = "postgresql", schema_translate_map = {sch = "other"}}).sql)
    assert.equal("COMMENT ON TABLE s1.users IS 'x'", qs.DDL("COMMENT ON TABLE %(fullname)s IS 'x'"):against(u)
      :compile({dialect = "postgresql", schema_translate_map = {__none = "s1"}}).sql)
  end)

  it("takes names from context (before the table's, as SQLAlchemy)", function()
    local d = qs.DDL("GRANT SELECT ON %(fullname)s TO %(who)s", {context = {who = "reader"}})
    assert.equal("GRANT SELECT ON users TO reader", d:against(u):compile({dialect = "postgresql"}).sql)
  end)

  it("refuses a lone %, an unknown token, a non-string and unknown options by name", function()
    local e = raises(qs.exc.ArgumentError, function() qs.DDL("LIKE 'a%'") end)
    assert.truthy(tostring(e):find("%%%%"), tostring(e))
    e = raises(qs.exc.ArgumentError, function() qs.DDL("X %(tabel)s") end)
    assert.truthy(tostring(e):find("tabel", 1, true), tostring(e))
    raises(qs.exc.ArgumentError, function() qs.DDL(5) end)
    e = raises(qs.exc.ArgumentError, function() qs.DDL("X", {bogus = 1}) end)
    assert.truthy(tostring(e):find("bogus", 1, true), tostring(e))
    e = raises(qs.exc.ArgumentError, function() qs.DDL("X"):execute_if({dialects = "sqlite"}) end)
    assert.truthy(tostring(e):find("dialects", 1, true), tostring(e))
    raises(qs.exc.ArgumentError, function() qs.DDL("X"):execute_if({dialect = 5}) end)
    raises(qs.exc.ArgumentError, function() qs.DDL("X"):execute_if({callable_ = "f"}) end)
  end)

  it("refuses a table token with no table to render against (CompileError)", function()
    local e = raises(qs.exc.CompileError, function() return qs.DDL("DROP TABLE %(table)s"):compile() end)
    assert.truthy(tostring(e):find("%(table)s", 1, true), tostring(e))
  end)

  it("listens to table events as a callable object; execute_if copies", function()
    local d = qs.DDL("SELECT 1")
    qs.event.listen(u, "after_create", d)
    assert.is_true(qs.event.contains(u, "after_create", d))
    qs.event.remove(u, "after_create", d)
    local only = d:execute_if({dialect = {"postgresql", "mysql"}})
    assert.is_nil(d._dialects)
    assert.is_true(only._dialects.postgresql)
  end)
end)
