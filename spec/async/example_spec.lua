-- examples/game_loop.lua on the backend of the run, in its own process: on a
-- server the queries (a 0.3 s server sleep among them) run while the 20 Hz
-- tick goes on, no tick falling behind (blocking, about 5 would); on SQLite
-- everything blocks, and the results are the same.
local helpers = require("spec.helpers")

describe("examples/game_loop.lua on " .. helpers.backend, function()
  it("ticks 30 times and prints every query's result" ..
      (helpers.on("sqlite") and "" or ", the ticks on time while the server works"), function()
    local url = helpers.backend_url()
    local cmd = string.format("LUA_PATH=%q LUA_CPATH=%q %q examples/game_loop.lua %q 2>&1; echo \"rc=$?\"",
      package.path, package.cpath, helpers.interpreter(), url)
    local p = io.popen(cmd)
    local out = p:read("*a")
    p:close()
    helpers.cleanup()
    assert.matches("rc=0%s*$", out)
    assert.matches("report total points 100", out)
    for _, line in ipairs({"ada +10", "bjarne +20", "grace +30", "linus +40"}) do
      assert.matches(line, out)
    end
    local backend, ticks, late, left = out:match("\n(%w+): (%d+) ticks in [%d%.]+ s %((%d+) late%); queries still running: (%d+)")
    assert.equal(helpers.backend, backend)
    assert.equal("30", ticks)
    assert.equal("0", left)
    -- blocking, the 0.3 s report alone would make about 5 ticks late; a
    -- loaded machine may make one or two late all the same
    if not helpers.on("sqlite") then assert.is_true(tonumber(late) <= 2, late .. " ticks late") end
  end)
end)
