--- sql/ordering.lua: qs.desc(col), qs.asc(col), qs.nulls_first(expr) and
--- qs.nulls_last(expr), SQLAlchemy's standalone forms of col:desc(),
--- col:asc(), col:nulls_first() and col:nulls_last() (sql/elements.lua),
--- for ORDER BY: `select(t):order_by(qs.desc(t.c.name))`,
--- `qs.nulls_last(qs.desc(User.age))`. Each takes a column, any SQL
--- expression, an ORM attribute (Model.name) or a name (a string: the
--- column or label of that name in the statement).
local elements = require("quicksilver.sql.elements")
local exc = require("quicksilver.exc")

local M = {}

local type, tostring = type, tostring

-- The expression what stands for; level: as error()'s, from the public
-- function's caller.
local function expression(fname, what)
  local tw = type(what)
  if tw == "string" then return elements.literal_column(what) end
  if tw == "table" and (what._is_clause or what.__clause_element__) and not what._is_from then
    local e = elements.coerce(what)
    if type(e) == "table" and e.desc then return e end
  end
  exc.raise(exc.ArgumentError, string.format("qs.%s: expects a column, a SQL expression or a column " ..
    "name, got %s (%s)", fname, tw, tostring(what)), nil, 4)
end

--- `expr DESC` (as expr:desc()).
---@param what any a column, expression, ORM attribute or column name
---@return quicksilver.ColumnElement
function M.desc(what) return expression("desc", what):desc() end

--- `expr ASC` (as expr:asc()).
---@param what any
---@return quicksilver.ColumnElement
function M.asc(what) return expression("asc", what):asc() end

--- `expr NULLS FIRST` (as expr:nulls_first()); expr may be qs.desc(col).
---@param what any
---@return quicksilver.ColumnElement
function M.nulls_first(what) return expression("nulls_first", what):nulls_first() end

--- `expr NULLS LAST` (as expr:nulls_last()).
---@param what any
---@return quicksilver.ColumnElement
function M.nulls_last(what) return expression("nulls_last", what):nulls_last() end

return M
