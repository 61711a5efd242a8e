--- migrate/server_defaults.lua: autogenerate's server default comparison,
--- behind compare_server_default (off by default, as Alembic's). The
--- model's default is rendered as the database's dialect writes it, the
--- reflected one is read back, and both are normalised the way databases
--- rewrite them (outer parentheses, PostgreSQL's ::type casts, quotes,
--- case, MariaDB's current_timestamp()) before they are compared.
--- compare_server_default may be a function deciding instead (Alembic's
--- signature): fn(ctx, inspected_column, metadata_column, inspected_default,
--- metadata_default, rendered_metadata_default) -> true (they differ),
--- false (the same) or nil (use the comparison above).
local elements = require("quicksilver.sql.elements")

local M = {}

-- The model's server default as SQL text on the dialect, or nil.
function M.rendered(col, dialect_name)
  local d = col.server_default
  if d == nil then return nil end
  if type(d) == "table" and d.text and not d._is_clause then return d.text end
  local expr = d
  if type(d) ~= "table" then expr = elements.BindParameter.anon("default", d, col.type) end
  local ok, res = pcall(function() return expr:compile({dialect = dialect_name, literal_binds = true}).sql end)
  if ok then return res end
  return tostring(d)
end

--- The text of a default with what databases add taken away.
---@param s string|nil
---@return string|nil
function M.normalise(s)
  if s == nil then return nil end
  s = tostring(s):gsub("^%s+", ""):gsub("%s+$", "")
  local prev
  repeat
    prev = s
    while s:match("^%b()$") do s = s:sub(2, -2) end
    -- PostgreSQL's casts: 'x'::character varying, 0::numeric(10, 2)
    s = s:gsub("::[%a_][%w_ ]*%b()", ""):gsub("::[%a_][%w_ ]*", "")
    s = s:gsub("^%s+", ""):gsub("%s+$", "")
  until s == prev
  local quoted = s:match("^'(.*)'$")
  if quoted and not quoted:find("'", 1, true) then s = quoted end
  s = s:lower():gsub("%(%)$", "")
  if s == "now" then s = "current_timestamp" end
  return s
end

--- Whether the model column's server default differs from the database's
--- (d: the inspector's column entry). Identity, computed and autoincrement
--- key columns are left out: their defaults are the database's own.
function M.differs(cx, c, d)
  local setting = cx.opts.compare_server_default
  if not setting then return false end
  if c.identity or c.computed or d.computed or d.identity then return false end
  local mine = M.rendered(c, cx.conn.dialect.name)
  local theirs = d.default
  if type(setting) == "function" then
    local verdict = setting(cx.ctx, d, c, theirs, c.server_default, mine)
    if verdict ~= nil then return verdict and true or false end
  end
  if mine == nil and theirs == nil then return false end
  if mine == nil and c.primary_key and (c.autoincrement ~= false) then return false end
  return M.normalise(mine) ~= M.normalise(theirs)
end

return M
