-- The ORM's modules require one another at the top of the file only, and
-- in one direction: no require inside a function (the old way to hide a
-- cycle: attributes <-> loading, session <-> unitofwork), and no cycle
-- among the top-level requires either.
local function orm_files()
  local list = {}
  local p = io.popen("find lua/quicksilver/orm lua/quicksilver/ext -name '*.lua' ! -name '*.d.lua' | sort")
  for f in p:lines() do list[#list + 1] = f end
  p:close()
  return list
end

local function modname(path)
  return (path:gsub("^lua/", ""):gsub("/init%.lua$", ""):gsub("%.lua$", ""):gsub("/", "."))
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

  it("has no cycle among the ORM's modules", function()
    local deps = {}
    for _, path in ipairs(orm_files()) do
      local me = modname(path)
      deps[me] = {}
      for _, r in ipairs(requires_of(path)) do
        if r.name:find("^quicksilver%.orm") or r.name:find("^quicksilver%.ext") then
          deps[me][#deps[me] + 1] = r.name
        end
      end
    end
    -- depth-first: a module met again while on the path closes a cycle
    local state, cycles = {}, {}
    local path = {}
    local function visit(m)
      if state[m] == "done" then return end
      if state[m] == "open" then
        local from
        for i = 1, #path do if path[i] == m then from = i end end
        cycles[#cycles + 1] = table.concat(path, " -> ", from) .. " -> " .. m
        return
      end
      state[m] = "open"
      path[#path + 1] = m
      for _, d in ipairs(deps[m] or {}) do visit(d) end
      path[#path] = nil
      state[m] = "done"
    end
    local names = {}
    for m in pairs(deps) do names[#names + 1] = m end
    table.sort(names)
    for _, m in ipairs(names) do visit(m) end
    assert.same({}, cycles)
  end)
end)
