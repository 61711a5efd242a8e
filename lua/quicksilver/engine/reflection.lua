--- engine/reflection.lua: the Inspector (SQLAlchemy's engine/reflection.py).
--- qs.inspect(engine) answers questions about the database's schema through
--- the dialect's catalog queries. (The reflection issue completes it:
--- columns, keys, indexes, constraints.)
local exc = require("quicksilver.exc")
local util = require("quicksilver.util")

local M = {}

---@class quicksilver.Inspector
---@field bind table the Engine or Connection inspected
local Inspector = util.class("Inspector")
M.Inspector = Inspector

--- An Inspector on an Engine or Connection.
function M.inspector(bind)
  return setmetatable({bind = bind, dialect = bind.dialect}, Inspector)
end

local function run(self, name, ...)
  local fn = self.dialect[name]
  if not fn then
    exc.raise(exc.NotSupportedError, "Inspector:" .. name .. " is not available for dialect " ..
      self.dialect.name, nil, 3)
  end
  local bind = self.bind
  local args = util.pack(...)
  if bind._cconn ~= nil or bind.engine ~= nil then return fn(bind, util.unpack(args, 1, args.n)) end
  return bind:connect(function(conn) return fn(conn, util.unpack(args, 1, args.n)) end)
end

--- Names of the tables in schema (default schema when nil), sorted.
---@return string[]
function Inspector:get_table_names(schema) return run(self, "get_table_names", schema) end

--- Names of the views, sorted.
function Inspector:get_view_names(schema) return run(self, "get_view_names", schema) end

--- Whether the table exists.
---@return boolean
function Inspector:has_table(name, schema)
  if type(name) ~= "string" then
    exc.raise(exc.ArgumentError, "Inspector:has_table: name must be a string", nil, 2)
  end
  return run(self, "has_table", name, schema)
end

return M
