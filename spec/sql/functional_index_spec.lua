-- Functional (expression) indexes: qs.Index("ix", qs.func.lower(t.c.name), ...)
-- compiled per dialect as SQLAlchemy 2.0 renders them; MariaDB, which has no
-- expression key parts, refuses them naming the database.
local qs = require("quicksilver")
local helpers = require("spec.helpers")

local function tbl()
  local md = qs.MetaData()
  return qs.Table("t", md, qs.Column("id", qs.Integer, {primary_key = true}), qs.Column("name", qs.String(50)),
    qs.Column("x", qs.Integer))
end

local function sql(ix, d) return qs.schema.CreateIndex(ix):compile({dialect = d}).sql end

describe("functional indexes", function()
  it("attach to the table of the column inside the expression", function()
    local t = tbl()
    local ix = qs.Index("ix_lower", qs.func.lower(t.c.name))
    assert.equal(t, ix.table)
    assert.equal(ix, t.indexes[1])
    local ix2 = qs.Index("ix_desc", t.c.x:desc())
    assert.equal(t, ix2.table)
  end)

  it("render a function key part as SQLAlchemy does per dialect", function()
    local t = tbl()
    local ix = qs.Index("ix_lower", qs.func.lower(t.c.name))
    assert.equal("CREATE INDEX ix_lower ON t (lower(name))", sql(ix, "sqlite"))
    assert.equal("CREATE INDEX ix_lower ON t (lower(name))", sql(ix, "postgresql"))
    assert.equal("CREATE INDEX ix_lower ON t ((lower(name)))", sql(ix, "mysql"))
  end)

  it("mix expressions, columns and DESC", function()
    local t = tbl()
    local ix = qs.Index("ix_mix", qs.func.lower(t.c.name), t.c.x:desc(), t.c.x + 1, {unique = true})
    assert.equal("CREATE UNIQUE INDEX ix_mix ON t (lower(name), x DESC, x + 1)", sql(ix, "sqlite"))
    assert.equal("CREATE UNIQUE INDEX ix_mix ON t (lower(name), x DESC, (x + 1))", sql(ix, "postgresql"))
    assert.equal("CREATE UNIQUE INDEX ix_mix ON t ((lower(name)), x DESC, (x + 1))", sql(ix, "mysql"))
  end)

  it("put DESC after the parenthesized expression", function()
    local t = tbl()
    local ix = qs.Index("ix_e", (t.c.x + 2):desc(), qs.func.lower(t.c.name):asc())
    assert.equal("CREATE INDEX ix_e ON t ((x + 2) DESC, lower(name) ASC)", sql(ix, "postgresql"))
    assert.equal("CREATE INDEX ix_e ON t ((x + 2) DESC, (lower(name)) ASC)", sql(ix, "mysql"))
    assert.equal("CREATE INDEX ix_e ON t (x + 2 DESC, lower(name) ASC)", sql(ix, "sqlite"))
  end)

  it("keep literal values as literals (no binds in DDL)", function()
    local t = tbl()
    local ix = qs.Index("ix_sub", qs.func.substr(t.c.name, 1, 3))
    assert.equal("CREATE INDEX ix_sub ON t (substr(name, 1, 3))", sql(ix, "postgresql"))
  end)

  it("are refused on MariaDB with a CompileError naming it", function()
    local t = tbl()
    local ix = qs.Index("ix_lower", qs.func.lower(t.c.name))
    local err = helpers.assert_raises_kind(qs.exc.CompileError, function() return sql(ix, "mariadb") end)
    assert.truthy(tostring(err):find("mariadb", 1, true), tostring(err))
    assert.truthy(tostring(err):find("expression index", 1, true), tostring(err))
    -- plain columns and DESC still compile there
    assert.equal("CREATE INDEX ix_c ON t (name, x DESC)", sql(qs.Index("ix_c", t.c.name, t.c.x:desc()), "mariadb"))
  end)

  it("dialect caps say which databases take them", function()
    assert.is_true(require("quicksilver.core").dialect_caps("postgresql").expression_index)
    assert.is_false(require("quicksilver.core").dialect_caps("mariadb").expression_index)
  end)
end)
