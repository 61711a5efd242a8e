-- Edges of the C compiler found by its C tests (c/test/binding/). It
-- recurses over the expression tree: a tree nested deeper than
-- QS_MAX_DEPTH (core.max_depth, 1000, SQLite's own parser limit) is a CompileError, not
-- a C stack overflow (40,000 nested additions crashed the process before
-- the limit). A negation of a negation was written "--x", a SQL comment
-- that swallowed the rest of the statement.
local qs = require("quicksilver")
local helpers = require("spec.helpers")

local function nested(n)
  local t = qs.table("t", qs.column("x"))
  local e = t.c.x
  for _ = 1, n do e = e + 1 end
  return qs.select(e)
end

describe("the compiler's nesting limit", function()
  it("compiles an expression nested 999 deep", function()
    local sql = nested(999):compile({dialect = "sqlite"}).sql
    assert.truthy(sql:find("^SELECT t%.x %+ %? %+ %?"))
  end)

  it("refuses one nested deeper than 1000 with a CompileError", function()
    local stmt = nested(1001)
    helpers.assert_raises_kind(qs.exc.CompileError, function() return stmt:compile({dialect = "postgresql"}) end)
    local _, err = pcall(function() return stmt:compile({dialect = "sqlite"}) end)
    assert.truthy(tostring(err):find("nested deeper than 1000 levels", 1, true))
  end)

  it("fails 40,000 levels with an error, never a crash", function()
    -- Lua 5.4 reaches the compiler's limit; LuaJIT's own stack ends first
    local ok = pcall(function() return nested(40000):compile({dialect = "sqlite"}) end)
    assert.is_false(ok)
  end)
end)

describe("a negated negation", function()
  it("is never written as a SQL comment", function()
    local t = qs.table("t", qs.column("x", qs.Integer))
    assert.equal("SELECT - -t.x AS anon_1 FROM t WHERE t.x = ?",
      qs.select(-(-t.c.x)):where(t.c.x:eq(1)):compile({dialect = "sqlite"}).sql)
    assert.equal("SELECT - -5 AS anon_1", qs.select(-qs.literal(-5)):compile({dialect = "postgresql", literal_binds = true}).sql)
    assert.equal("SELECT -t.x AS anon_1 FROM t", qs.select(-t.c.x):compile({dialect = "mysql"}).sql)
  end)

  it("runs", function()
    local engine = qs.create_engine("sqlite://")
    local conn = engine:connect()
    assert.equal(3, conn:execute(qs.select(-(-qs.literal(3)))):scalar())
    conn:close()
    engine:dispose()
  end)
end)
