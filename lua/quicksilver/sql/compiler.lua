--- sql/compiler.lua: the Lua front of the C compiler. It picks the entry point
--- for a statement kind, caches the result on the (immutable) statement per
--- dialect, and shapes what comes back for the engine.
local core = require("quicksilver.core")
local exc = require("quicksilver.exc")
local util = require("quicksilver.util")

local M = {}

local rawget, rawset, type = rawget, rawset, type

---@class quicksilver.Compiled
---@field sql string SQL with the dialect's placeholders
---@field keys string[] bind names in placeholder order
---@field keyset table<string, boolean> the distinct bind names
---@field params table<string, any> values bound in the statement itself
---@field dialect string

local Compiled = util.class("Compiled")
Compiled.__tostring = function(self) return self.sql end
M.Compiled = Compiled

local function compile_text(stmt, dialect)
  local sql, keys = core.compile_text(dialect, stmt.text)
  local keyset = {}
  for i = 1, #keys do keyset[keys[i]] = true end
  return setmetatable({sql = sql, keys = keys, keyset = keyset,
    params = util.copy(stmt._defaults), dialect = dialect}, Compiled)
end

local compilers = {text = compile_text}

--- The compiled form of stmt for the dialect, made once per statement object.
---@param stmt table
---@param dialect string
---@return quicksilver.Compiled
function M.compile(stmt, dialect)
  local cache = rawget(stmt, "_compiled")
  if cache then
    local c = cache[dialect]
    if c then return c end
  else
    cache = {}
    rawset(stmt, "_compiled", cache)
  end
  local fn = compilers[stmt._kind]
  if not fn then
    exc.raise(exc.ObjectNotExecutableError, "Not an executable object: " .. tostring(stmt))
  end
  local c = fn(stmt, dialect)
  cache[dialect] = c
  return c
end

return M
