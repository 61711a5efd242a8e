--- sql/values.lua: qs.values(...) as a FROM element (SQLAlchemy's
--- sql.expression.values): rows of bound values with named, typed columns,
--- usable in select(), in a join and in a CTE.
---
---   local v = qs.values(qs.column("id", qs.Integer), qs.column("name", qs.String), {name = "v"})
---     :data({{1, "a"}, {2, "b"}})
---   qs.select(users.c.name, v.c.name):join_from(users, v, users.c.id:eq(v.c.id))
---
--- It is an alias (kind ALIAS) over a VALUES node holding the rows: columns
--- qualify with its name as any alias's do, and the compiler writes the
--- rows the way each database takes them (stmt.c's values_body).
local core = require("quicksilver.core")
local elements = require("quicksilver.sql.elements")
local exc = require("quicksilver.exc")
local selectable = require("quicksilver.sql.selectable")
local types = require("quicksilver.sql.types")
local util = require("quicksilver.util")

local M = {}

local K = core.kinds
local setmetatable, type, select, ipairs = setmetatable, type, select, ipairs

-- The VALUES node: _rows (lists of value nodes), literal_binds.
local ValuesNode = util.class("Values", elements.ClauseElement)
ValuesNode._k = K.VALUES
ValuesNode.__tostring = elements.ClauseElement.__tostring
M.ValuesNode = ValuesNode

---@class quicksilver.Values: quicksilver.FromClause
local Values = util.class("Values", selectable.Alias)
Values._k = K.ALIAS
Values.__tostring = elements.ClauseElement.__tostring
M.Values = Values

local VALUES_OPTIONS = util.set({"name", "literal_binds"})

-- A Values over node named name with the column descriptions cols.
local function make(node, name, cols)
  return selectable.Alias.new(node, name, cols, Values)
end

--- qs.values(col, col, ..., opts): a VALUES list of these qs.column()s
--- (name and type each); opts {name = "v", literal_binds = true} as the last
--- argument. Rows come from :data({{...}, ...}).
---@return quicksilver.Values
function M.values(...)
  local n = select("#", ...)
  local opts
  local last = n > 0 and select(n, ...) or nil
  if type(last) == "table" and not last._is_clause then
    opts = util.check_options("values", last, VALUES_OPTIONS, 2)
    n = n - 1
  else
    opts = {}
  end
  if opts.name ~= nil and type(opts.name) ~= "string" then
    exc.raise(exc.ArgumentError, "values: name must be a string", nil, 2)
  end
  local cols = {}
  for i = 1, n do
    local c = select(i, ...)
    if type(c) ~= "table" or c._k ~= K.COLUMN or type(c.name) ~= "string" then
      exc.raise(exc.ArgumentError, "values: expected qs.column(name, type) arguments, argument " .. i ..
        " is " .. util.repr(c, 40), nil, 2)
    end
    cols[#cols + 1] = {name = c.name, key = c.key or c.name, type = c.type or types.NullType}
  end
  if #cols == 0 then exc.raise(exc.ArgumentError, "values: no columns", nil, 2) end
  local node = setmetatable({_rows = {}, literal_binds = opts.literal_binds and true or nil}, ValuesNode)
  local v = make(node, opts.name, cols)
  v._cols = cols
  return v
end

--- A new Values with these rows added (lists of values in column order;
--- qs.null for NULL, expressions allowed). Each value is a parameter of its
--- column's type.
---@param rows any[][]
---@return quicksilver.Values
function Values:data(rows)
  if type(rows) ~= "table" or rows._is_clause or rows[1] == nil then
    exc.raise(exc.ArgumentError, "values:data: expected a list of rows (lists of values)", nil, 2)
  end
  local cols = self._cols
  local out = {}
  for i, r in ipairs(self.element._rows) do out[i] = r end
  for i, r in ipairs(rows) do
    if type(r) ~= "table" or r._is_clause then
      exc.raise(exc.ArgumentError, "values:data: row " .. i .. " is not a list of values", nil, 2)
    end
    if #r ~= #cols then
      exc.raise(exc.ArgumentError, string.format("values:data: row %d has %d values for %d columns (%s); " ..
        "qs.null stands for NULL", i, #r, #cols, cols[1].name .. (cols[2] and ", ..." or "")), nil, 2)
    end
    local row = {}
    for j, col in ipairs(cols) do
      local x = r[j]
      if elements.is_element(x) then row[j] = x
      elseif x == elements.null or x == nil then row[j] = elements.null
      else row[j] = elements.BindParameter.anon(col.key, x, col.type) end
    end
    out[#out + 1] = row
  end
  local node = setmetatable({_rows = out, literal_binds = self.element.literal_binds}, ValuesNode)
  if node.literal_binds then
    -- the values are in the SQL: the cache key must hold them (a bind
    -- contributes only its shape), so a copy of them rides along, keyed by
    -- value (the compiler does not read it)
    local lit = {}
    for i, r in ipairs(self.element._literal_values or {}) do lit[i] = r end
    for _, r in ipairs(rows) do
      local copy = {}
      for j = 1, #cols do
        local x = r[j]
        copy[j] = (x == nil or elements.is_element(x)) and false or x
      end
      lit[#lit + 1] = copy
    end
    node._literal_values = lit
  end
  local v = make(node, self.name, cols)
  v._cols = cols
  return v
end

--- The same rows under another name.
---@param name string
---@return quicksilver.Values
function Values:alias(name)
  local v = make(self.element, name, self._cols)
  v._cols = self._cols
  return v
end

--- WITH name AS (SELECT * of these rows): select(v):cte(name).
---@param name string
function Values:cte(name, opts)
  return selectable.select(self):cte(name, opts)
end

return M
