-- Code outside the dialect modules asks a dialect what it can do
-- (dialect.caps, core.dialect_caps(name) offline), never which database it
-- is: no comparison with a dialect's name anywhere in lua/ but
-- lua/quicksilver/dialects/ (where a name selects the module for a URL).
local NAMES = {"sqlite", "postgresql", "mysql", "mariadb"}

local sources = require("spec.support.sources")

local function lua_files()
  return sources.find("find lua/quicksilver -name '*.lua' ! -path 'lua/quicksilver/dialects/*'")
end

-- "file:line: text" for each comparison of a dialect name in src.
local function name_checks(path, src)
  local out, n = {}, 0
  for line in (src .. "\n"):gmatch("([^\n]*)\n") do
    n = n + 1
    local code = line:gsub("%-%-.*$", "")
    local hit = code:find("dialect%.name%s*[=~]=") or code:find("[=~]=%s*dialect%.name")
      or code:find("get_backend_name%(%)%s*[=~]=")
    for _, name in ipairs(NAMES) do
      hit = hit or code:find("[=~]=%s*[\"']" .. name .. "[\"']") or code:find("[\"']" .. name .. "[\"']%s*[=~]=")
    end
    if hit then out[#out + 1] = string.format("%s:%d: %s", path, n, (line:gsub("^%s+", ""))) end
  end
  return out
end

describe("dialect questions, not dialect names", function()
  it("finds the comparisons it is looking for, and not option names or selectors", function()
    local src = table.concat({
      'if conn.dialect.name == "sqlite" then end',
      'if "postgresql" ~= d then end',
      'if u:get_backend_name() ~= "x" then end',
      'local ok = dname == \'mariadb\'',
      'local opts = {postgresql_where = true}',
      'compiler.compile(stmt, self.dialect.name)',
      '-- dialect.name == "mysql" in a comment',
    }, "\n")
    local hits = name_checks("x.lua", src)
    assert.same({1, 2, 3, 4}, {tonumber(hits[1]:match(":(%d+):")), tonumber(hits[2]:match(":(%d+):")),
      tonumber(hits[3]:match(":(%d+):")), tonumber(hits[4]:match(":(%d+):"))})
    assert.equal(4, #hits)
  end)

  it("no module outside dialects/ compares a dialect's name", function()
    local bad = {}
    for _, path in ipairs(lua_files()) do
      for _, hit in ipairs(name_checks(path, sources.read(path))) do bad[#bad + 1] = hit end
    end
    assert.same({}, bad)
  end)
end)
