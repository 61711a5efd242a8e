-- The programs in examples/ run to the end (make demo runs them too): each
-- in its own process, on a temporary SQLite file.
local helpers = require("spec.helpers")

describe("examples", function()
  for _, name in ipairs({"quickstart.lua", "orm_quickstart.lua", "game_loop.lua"}) do
    it(name .. " runs to the end", function()
      local db = helpers.tmpdb()
      -- the exit status in the output: Lua 5.1's popen:close() does not give it
      local cmd = string.format("QS_DEMO_DB=%q LUA_PATH=%q LUA_CPATH=%q %q examples/%s 2>&1; echo \"rc=$?\"", db,
        package.path, package.cpath, helpers.interpreter(), name)
      local p = io.popen(cmd)
      local out = p:read("*a")
      p:close()
      helpers.cleanup()
      assert.matches("rc=0%s*$", out)
      assert.is_true(#out > 0)
    end)
  end
end)
