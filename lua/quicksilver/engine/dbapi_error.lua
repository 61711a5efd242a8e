--- engine/dbapi_error.lua: what happens to an error the driver returns for a
--- statement: the statement and the parameters it was sent with are attached
--- (the statement's own values filled in by bind name, a positional parameter
--- named by its key), the handle_error listeners see it and may replace it or
--- mark it a disconnect, a dead connection is invalidated, and it is raised.
--- base.lua's Connection:_raise_dbapi calls raise_dbapi.
local event = require("quicksilver.event")

local M = {}

local type, next, error = type, next, error
local has, listeners = event.has, event.listeners

-- The parameters a statement was sent with: the caller's, with the values
-- the statement holds itself (Core values({...}), the ORM's flush
-- statements) filled in by bind name, so an error shows what was sent
-- rather than an empty table.
local function sent_params(compiled, params, many)
  local keys = compiled and compiled.keys
  local values = compiled and compiled.values
  if keys == nil or values == nil or next(values) == nil then return params end
  local function one(p)
    local out = {}
    for i = 1, #keys do
      local k = keys[i]
      local v = p and p[k]
      if v == nil then v = values[k] end
      out[k] = v
    end
    return out
  end
  if not many then return one(params) end
  local n = params.n or #params
  local out = {n = n}
  for i = 1, n do out[i] = one(params[i]) end
  return out
end

-- A driver names a refused value by its position ("parameter $3": the
-- PostgreSQL drivers' NUL check); the caller knows it by its bind key. A
-- multi-row VALUES repeats the one-row statement's keys, hence the modulo.
local function name_parameter(err, compiled)
  local keys = compiled and (compiled.keys or compiled.param_names)
  if type(keys) ~= "table" or #keys == 0 or type(err.message) ~= "string" then return end
  local k = tonumber(err.message:match("parameter %$(%d+)"))
  local key = k and keys[(k - 1) % #keys + 1]
  if type(key) ~= "string" then return end
  err.message = err.message:gsub("parameter %$(%d+)", function(d)
    return "parameter $" .. d .. " ('" .. key .. "')"
  end, 1)
end

-- Attaches the statement, lets handle_error listeners see (or replace) the
-- error, invalidates a dead connection, and raises.
function M.raise_dbapi(self, err, sql, params, many, compiled)
  if type(err) == "table" then
    name_parameter(err, compiled)
    params = sent_params(compiled, params, many)
    err.statement = sql
    err.params = params
    err.executemany = many or nil
  end
  local is_disconnect = type(err) == "table" and err.connection_invalidated or false
  if has(self, "handle_error") then
    local ctx = {original_exception = err, sqlalchemy_exception = err, statement = sql,
      parameters = params, executemany = many, connection = self, engine = self.engine,
      is_disconnect = is_disconnect}
    local ls = listeners(self, "handle_error")
    for i = 1, #ls do
      local r = ls[i].fn(ctx)
      if r ~= nil then err = r; ctx.sqlalchemy_exception = r end
    end
    is_disconnect = ctx.is_disconnect
  end
  if is_disconnect then self:invalidate(err) end
  error(err, 0)
end

return M
