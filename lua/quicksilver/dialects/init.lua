--- dialects/init.lua: finds a dialect by the name a URL starts with.
--- A dialect module says how to talk SQL to one database from Lua: the driver
--- options a URL turns into, per-connection setup, isolation levels, and
--- (its *_reflect.lua module) the catalog questions, which run through the
--- catalog contract of dialects/support.lua. What the database can do is
--- `dialect.caps`, and the SQL spelling itself, in C (c/dialect/).
local exc = require("quicksilver.exc")

local M = {}

--- URL backend names and the module that serves each.
M.known = {
  sqlite = "quicksilver.dialects.sqlite",
  postgresql = "quicksilver.dialects.postgresql",
  mysql = "quicksilver.dialects.mysql",
  mariadb = "quicksilver.dialects.mysql",
}

--- The dialect module for a backend name; ArgumentError naming it otherwise.
---@param name string
---@return table
function M.load(name)
  local modname = M.known[name]
  if not modname then
    local names = {}
    for k in pairs(M.known) do names[#names + 1] = k end
    table.sort(names)
    exc.raise(exc.ArgumentError, string.format(
      "unknown dialect '%s' in URL (known: %s)", tostring(name), table.concat(names, ", ")))
  end
  local ok, mod = pcall(require, modname)
  if not ok then
    if type(mod) == "string" and mod:find("module '" .. modname .. "' not found", 1, true) then
      exc.raise(exc.ArgumentError, string.format(
        "dialect '%s' is not installed (module %s not found)", name, modname))
    end
    error(mod, 0)
  end
  return mod
end

--- The dialect module whose engine_options hold the create_engine option
--- `key` (an option only that database takes), or nil when none claims it.
---@param key string
---@return table|nil
function M.option_owner(key)
  local names = {}
  for name in pairs(M.known) do names[#names + 1] = name end
  table.sort(names)
  for _, name in ipairs(names) do
    local ok, mod = pcall(require, M.known[name])
    if ok and mod.engine_options and mod.engine_options[key] then return mod end
  end
  return nil
end

return M
