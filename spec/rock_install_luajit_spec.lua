-- The LuaJIT / OpenResty install of docs/OPENRESTY.md ("Installing with
-- LuaRocks for LuaJIT"): its `luarocks --lua-version 5.1 make` line, run as
-- written but into a temporary tree, gives a module LuaJIT loads with only the
-- tree's paths. Run in the LuaJIT pass of make test only (the build takes a
-- while; the Lua 5.4 install has spec/rock_install_spec.lua).
local ex = require("spec.support.examples")

local DOC = "docs/OPENRESTY.md"

describe("luarocks --lua-version 5.1 make (LuaJIT, OpenResty)", function()
  if type(jit) ~= "table" then
    it("runs in the LuaJIT pass", function() pending("the LuaJIT pass runs it") end)
    return
  end

  local tree, line

  setup(function()
    for _, block in ipairs(ex.blocks(DOC, "sh")) do
      for _, l in ipairs(block.lines) do
        if l:find("^luarocks %-%-lua%-version 5%.1 make ") then line = l end
      end
    end
    assert(line, "no `luarocks --lua-version 5.1 make` line in " .. DOC)
    tree = os.tmpname()
    os.remove(tree)
    local cmd = line:gsub("%-%-tree %S+", function() return "--tree " .. tree end)
    local rc, out = ex.sh(cmd, true)
    assert(rc == 0, cmd .. " failed:\n" .. out)
  end)

  teardown(function()
    if tree and tree:match("^/tmp/") then ex.sh("rm -rf '" .. tree .. "'", true) end
  end)

  it("installs into the tree named by --tree (the doc's line, the tree changed)", function()
    assert.matches("%-%-tree lua_modules", line)
    local f = io.open(tree .. "/lib/lua/5.1/quicksilver/core.so")
    assert.is_truthy(f, "no core.so in the tree's lib/lua/5.1")
    f:close()
  end)

  it("loads in luajit with only the tree's paths and runs a query", function()
    local env = string.format("cd / && LUA_PATH='%s/share/lua/5.1/?.lua;%s/share/lua/5.1/?/init.lua' " ..
      "LUA_CPATH='%s/lib/lua/5.1/?.so' ", tree, tree, tree)
    local rc, out = ex.sh(env .. [[luajit -e 'local qs = require("quicksilver")
      assert(package.searchpath == nil or not package.searchpath("quicksilver", "/work/nonexistent/?.lua"))
      local src = debug.getinfo(qs.create_engine, "S").source
      assert(src:find("/share/lua/5.1/", 1, true), src)
      local e = qs.create_engine("sqlite://")
      io.write(jit.version, " ", e:connect(function(c) return c:execute(qs.text("SELECT 40 + :n"), {n = 2}):scalar() end))']], true)
    assert.equal(0, rc, out)
    assert.matches("LuaJIT .* 42$", out)
  end)
end)
