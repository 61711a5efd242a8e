-- The ORM's modules require one another at the top of the file only: no
-- require inside a function (the old way to hide a cycle: attributes <->
-- loading, session <-> unitofwork). Cycles themselves, here and in every
-- layer, are spec/layering_spec.lua's.
local sources = require("spec.support.sources")

local function orm_files()
  return sources.find("find lua/quicksilver/orm lua/quicksilver/ext -name '*.lua' ! -name '*.d.lua'")
end

-- each require of the file (comments left out): {line = n, name = ..., indented = bool}
local function requires_of(path)
  local out, n = {}, 0
  for line in io.lines(path) do
    n = n + 1
    local code = line:gsub("%-%-.*$", "")
    for dep in code:gmatch("require%(?%s*[\"']([%w%._]+)[\"']") do
      out[#out + 1] = {line = n, name = dep, indented = code:find("^%s") ~= nil}
    end
  end
  return out
end

describe("orm module graph", function()
  it("has no require inside a function (every require is a top-level line)", function()
    local bad = {}
    for _, path in ipairs(orm_files()) do
      for _, r in ipairs(requires_of(path)) do
        if r.indented then bad[#bad + 1] = path .. ":" .. r.line .. " requires " .. r.name end
      end
    end
    assert.same({}, bad)
  end)

  it("sees an indented require (the check can fail)", function()
    local path = os.tmpname()
    local f = assert(io.open(path, "w"))
    f:write('local a = require("x")\nlocal function g()\n  return require("quicksilver.orm.y") -- why\nend\n')
    f:close()
    local got = requires_of(path)
    os.remove(path)
    assert.same({{line = 1, name = "x", indented = false},
      {line = 3, name = "quicksilver.orm.y", indented = true}}, got)
  end)
end)
