-- examples/game_server run the way its README says, in a copy of the
-- directory: tick.lua (one transaction per tick, Core then ORM) and host.c
-- (N OS threads, one Lua state each, one pool shared by name) built with the
-- README's own `cc` line (-Wall -Wextra -Werror) and run with its own command,
-- only the URL put in: SQLite on /dev/shm in the plain runs, PostgreSQL and
-- MariaDB in the backend runs (QS_BACKEND, QS_PG_URL / QS_MYSQL_URL).
local helpers = require("spec.helpers")
local ex = require("spec.support.examples")

local README = "examples/game_server/README.md"

-- The README's command line that starts with `prefix`.
local function readme_line(prefix)
  for _, block in ipairs(ex.blocks(README, "sh")) do
    for _, line in ipairs(block.lines) do
      if line:sub(1, #prefix) == prefix then return line end
    end
  end
  error("no `" .. prefix .. "` line in " .. README)
end

describe("examples/game_server on " .. helpers.backend, function()
  local url_var = ({postgresql = "QS_PG_URL", mysql = "QS_MYSQL_URL"})[helpers.backend]
  if url_var and (os.getenv(url_var) or "") == "" then
    it("is not run: " .. url_var .. " is not set (start the servers with spec/support/servers.sh)", function()
      pending(url_var .. " is not set")
    end)
    return
  end

  local dir, url, shm

  setup(function()
    dir = ex.scratch_copy("examples/game_server")
    if url_var then
      url = os.getenv(url_var)
      helpers.backend_engine():dispose()   -- the test database, emptied of other specs' tables
    else
      shm = "/dev/shm/qs-example-" .. dir:match("[^/]+$") .. ".db"
      url = "sqlite:///" .. shm
    end
  end)

  teardown(function()
    ex.remove(dir)
    if shm then
      for _, suffix in ipairs({"", "-journal", "-wal", "-shm"}) do os.remove(shm .. suffix) end
    end
  end)

  it("tick.lua writes each tick as one transaction of two statements, Core and ORM, and ends matching", function()
    local line = readme_line(url_var and "QS_DATABASE_URL=" or "lua5.4 tick.lua")
    line = line:gsub("^QS_DATABASE_URL=%S+ ", "")
    local rc, out = ex.sh(string.format("cd %q && export %s QS_DATABASE_URL=%q && %s", dir, ex.lua_env(),
      url_var and url or "sqlite:///game.db", ex.command(line)))
    assert.equal(0, rc, out)
    local core, orm = 0, 0
    for how, stmts, txns in out:gmatch("(%a+) tick %d+: %d+ changes, (%d+) statements, (%d+) transaction") do
      assert.equal("2 1", stmts .. " " .. txns, out)
      if how == "core" then core = core + 1 else orm = orm + 1 end
    end
    assert.equal("5 5", core .. " " .. orm, out)
    assert.matches("200 players, 10 ticks: the database matches the simulation", out, 1, true)
  end)

  it("host.c builds clean with the README's line and its threads share one pool", function()
    if package.cpath:find("/asan/", 1, true) then
      return pending("not under SANITIZE=1: host.c links the system Lua, which cannot load the sanitized core")
    end
    local build = readme_line("cc ")
    assert.matches("-Wall -Wextra -Werror", build, 1, true)
    local rc, out = ex.sh(string.format("cd %q && %s", dir, build), true)
    assert.equal(0, rc, out)
    assert.equal("", out)   -- not a warning
    -- the README's run line, with this backend's URL; the threads' states
    -- load the Lua 5.4 build of the core whatever Lua runs the specs
    local quoted = string.format("%q", url):gsub("%%", "%%%%")   -- a server URL may hold ? and &
    local run = readme_line("./host "):gsub(" sqlite:///%S+ ", " " .. quoted .. " ")
    rc, out = ex.sh(string.format("cd %q && LUA_PATH=%q LUA_CPATH=%q %s", dir,
      ex.ROOT .. "/lua/?.lua;" .. ex.ROOT .. "/lua/?/init.lua", ex.ROOT .. "/build/?.so", run), true)
    assert.equal(0, rc, out)
    for t = 1, 4 do assert.matches("thread " .. t .. ": 100 saves landed", out, 1, true) end
    assert.matches("pool 'game': size 2, open [12], checked out 0, %d+ checkouts, %d+ connects", out)
    assert.matches("\nok\n$", out)
  end)
end)
