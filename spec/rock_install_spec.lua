-- Installing the rock into an empty tree gives a working library and command,
-- with nothing from this checkout on the path.
-- Subprocesses run without the sanitizer preload of `make test SANITIZE=1`:
-- luarocks, sed and friends are not ours to check.
local function sh(cmd)
  local p = io.popen("unset LD_PRELOAD ASAN_OPTIONS LSAN_OPTIONS; " .. cmd .. " 2>&1; echo \"rc=$?\"")
  local out = p:read("*a")
  p:close()
  local rc = tonumber(out:match("rc=(%d+)%s*$"))
  return rc, out
end

describe("luarocks make into a temporary tree", function()
  local tree

  setup(function()
    tree = os.tmpname()
    os.remove(tree)
    local rc, out = sh("luarocks --lua-version 5.4 make rocks/quicksilver-scm-1.rockspec --tree " .. tree)
    assert(rc == 0, "luarocks make failed:\n" .. out)
    rc, out = sh("luarocks --lua-version 5.4 make rocks/quicksilver-postgresql-scm-1.rockspec --tree " .. tree)
    assert(rc == 0, "luarocks make (postgresql) failed:\n" .. out)
    rc, out = sh("luarocks --lua-version 5.4 make rocks/quicksilver-mysql-scm-1.rockspec --tree " .. tree)
    assert(rc == 0, "luarocks make (mysql) failed:\n" .. out)
  end)

  teardown(function()
    if tree then os.execute("rm -rf '" .. tree .. "'") end
  end)

  it("loads quicksilver with only the tree's paths and runs a query", function()
    local env = string.format("cd / && LUA_PATH='%s/share/lua/5.4/?.lua;%s/share/lua/5.4/?/init.lua' " ..
      "LUA_CPATH='%s/lib/lua/5.4/?.so' ", tree, tree, tree)
    local rc, out = sh(env .. [[lua5.4 -e 'local qs = require("quicksilver")
      assert(not package.searchpath("quicksilver", "/work/nonexistent/?.lua"))
      local e = qs.create_engine("sqlite://")
      io.write(e:connect(function(c) return c:execute(qs.text("SELECT 40 + :n"), {n = 2}):scalar() end))']])
    assert.equal(0, rc, out)
    assert.matches("42", out)
  end)

  it("installs the PostgreSQL and MySQL driver rocks into the same tree", function()
    local env = string.format("cd / && LUA_PATH='%s/share/lua/5.4/?.lua;%s/share/lua/5.4/?/init.lua' " ..
      "LUA_CPATH='%s/lib/lua/5.4/?.so' ", tree, tree, tree)
    local rc, out = sh(env .. [[lua5.4 -e 'require("quicksilver"); local d = require("quicksilver.driver.postgresql"); io.write(d.name, " ", require("quicksilver.driver.mysql").name)']])
    assert.equal(0, rc, out)
    assert.matches("postgresql mysql", out)
  end)

  it("does not load from the checkout", function()
    local env = string.format("cd / && LUA_PATH='%s/share/lua/5.4/?.lua;%s/share/lua/5.4/?/init.lua' " ..
      "LUA_CPATH='%s/lib/lua/5.4/?.so' ", tree, tree, tree)
    local rc, out = sh(env .. [[lua5.4 -e 'require("quicksilver"); io.write(package.searchpath("quicksilver.engine.base", package.path))']])
    assert.equal(0, rc, out)
    assert.matches("^" .. tree:gsub("%p", "%%%0"), out)
  end)

  it("installs the quicksilver command", function()
    local rc, out = sh(tree .. "/bin/quicksilver version")
    assert.equal(0, rc, out)
    assert.matches("^quicksilver %d", out)
    rc = sh(tree .. "/bin/quicksilver no-such-command")
    assert.equal(2, rc)
  end)
end)
