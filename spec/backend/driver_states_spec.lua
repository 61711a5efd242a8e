-- A driver used from several Lua states of one process (a C host with a state
-- per OS thread, examples/game_server/host.c): the states' threads connect
-- while other states close. The MySQL driver's client library is process-wide:
-- a closing state used to end it under the others' connects ("Plugin
-- mysql_native_password could not be loaded: not initialized"); it now ends
-- with the last state (c/driver/lmysql.c). Run on every backend.
local helpers = require("spec.helpers")
local ex = require("spec.support.examples")

describe("a driver in several Lua states at once on " .. helpers.backend, function()
  local url_var = ({postgresql = "QS_PG_URL", mysql = "QS_MYSQL_URL"})[helpers.backend]
  if url_var and (os.getenv(url_var) or "") == "" then
    it("is not run: " .. url_var .. " is not set", function() pending(url_var .. " is not set") end)
    return
  end
  if package.cpath:find("/asan/", 1, true) then
    it("is not run under SANITIZE=1", function()
      pending("host.c links the system Lua, which cannot load the sanitized core")
    end)
    return
  end

  local dir

  setup(function() dir = ex.scratch_copy("examples/game_server") end)
  teardown(function()
    ex.remove(dir)
    helpers.cleanup()
  end)

  it("connects from 8 threads' states while states close, and from the main state after them", function()
    local build
    for _, block in ipairs(ex.blocks("examples/game_server/README.md", "sh")) do
      for _, line in ipairs(block.lines) do
        if line:find("^cc ") then build = line end
      end
    end
    local rc, out = ex.sh(string.format("cd %q && %s", dir, build), true)
    assert.equal(0, rc, out)
    local url = url_var and os.getenv(url_var) or ("sqlite:///" .. helpers.tmpdb())
    rc, out = ex.sh(string.format("cd %q && LUA_PATH=%q LUA_CPATH=%q ./host %q %q 8 2", dir,
      ex.ROOT .. "/lua/?.lua;" .. ex.ROOT .. "/lua/?/init.lua", ex.ROOT .. "/build/?.so",
      ex.ROOT .. "/spec/support/states_worker.lua", url), true)
    assert.equal(0, rc, out)
    assert.matches("8 threads ended", out, 1, true)
    assert.matches("main state connected after the workers: 1", out, 1, true)
    assert.matches("\nok\n$", out)
  end)
end)
