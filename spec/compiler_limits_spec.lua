-- The C compiler recurses over the expression tree: a tree nested deeper
-- than QS_MAX_EXPR_DEPTH (1000, SQLite's own parser limit) is a
-- CompileError, not a C stack overflow (40,000 nested additions crashed
-- the process before the limit).
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
