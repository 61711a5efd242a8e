--- engine/echo.lua: what `echo = "debug"` adds to `echo = true`'s log of
--- statements and parameters, as SQLAlchemy's: the column names of a result
--- ("Col ('id', 'name')") and every row as it is fetched from the driver
--- ("Row (1, 'x')"), on every path that fetches rows (a Result, buffered or
--- streamed, and the ORM's reads that build objects without one).
local M = {}

local tostring, concat, format = tostring, table.concat, string.format

--- Whether engine logs rows (its echo is "debug").
---@param engine table
---@return boolean
function M.debug(engine)
  return engine.echo == "debug"
end

--- Logs the column names of a result through engine's logger.
---@param engine table
---@param colkeys string[]
function M.columns(engine, colkeys)
  local parts = {}
  for i = 1, #colkeys do parts[i] = format("%q", tostring(colkeys[i])) end
  engine:_log("Col (" .. concat(parts, ", ") .. ")")
end

--- Logs each of rows (Rows, as the driver cursor hands them) through
--- engine's logger.
---@param engine table
---@param rows table
function M.rows(engine, rows)
  for i = 1, #rows do engine:_log("Row " .. tostring(rows[i])) end
end

return M
