-- The programs in examples/ run to the end (make demo runs them too): each
-- in its own process, on a temporary SQLite file.
local helpers = require("spec.helpers")

local function interpreter()
  local i = -1
  while arg and arg[i - 1] do i = i - 1 end
  return arg and arg[i] or "lua5.4"
end

describe("examples", function()
  for _, name in ipairs({"quickstart.lua", "orm_quickstart.lua"}) do
    it(name .. " runs to the end", function()
      local db = helpers.tmpdb()
      local cmd = string.format("QS_DEMO_DB=%q LUA_PATH=%q LUA_CPATH=%q %q examples/%s 2>&1", db,
        package.path, package.cpath, interpreter(), name)
      local p = io.popen(cmd)
      local out = p:read("*a")
      local ok = p:close()
      helpers.cleanup()
      assert.is_true(ok == true or ok == 0, out)
      assert.is_true(#out > 0)
    end)
  end
end)
