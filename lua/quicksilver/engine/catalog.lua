--- engine/catalog.lua: the catalog querier of a Connection, the engine's
--- side of the catalog contract (dialects/support.lua): the dialect's
--- catalog questions run their SQL through these five functions, so they
--- depend on no part of the engine's Connection or Result.
local M = {}

--- The querier that runs catalog SQL on conn (Connection:exec_driver_sql:
--- the connection's transaction, events and error handling apply).
---@param conn quicksilver.Connection
---@return table
function M.querier(conn)
  local function run(sql, params) return conn:exec_driver_sql(sql, params) end
  return {
    all = function(sql, params) return run(sql, params):all() end,
    first = function(sql, params) return run(sql, params):first() end,
    scalar = function(sql, params) return run(sql, params):scalar() end,
    scalars = function(sql, params) return run(sql, params):scalars():all() end,
    exec = function(sql, params) run(sql, params) end,
  }
end

return M
