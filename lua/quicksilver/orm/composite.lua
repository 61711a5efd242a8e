--- orm/composite.lua: composite attributes (SQLAlchemy's orm.composite): a
--- value object made from several mapped columns of a model.
---
--- `orm.composite(fn, "x1", "y1" [, {values = fn2}])`: reading the attribute
--- calls fn(x1, y1) (a function or a callable table such as a class);
--- assigning a value object writes its values back to the columns, taken
--- from `values(obj)` when given, else from the object's
--- `__composite_values` method; both return the column values in order, as
--- several results or as one list. In SQL, `Model.attr:eq(obj)` is `x1 = ?
--- AND y1 = ?` (ne, and `Model.attr.columns` for the rest).
---
--- As SQLAlchemy: the object read stays the same object while its columns
--- do not change; a change is tracked when a new object is assigned (or a
--- column is), never when the object is changed in place.
local exc = require("quicksilver.exc")
local util = require("quicksilver.util")
local hybrid = require("quicksilver.orm.hybrid")
local elements = require("quicksilver.sql.elements")
local attributes = require("quicksilver.orm.attributes")

local M = {}

local type, select, setmetatable, getmetatable, rawget, format, tostring =
  type, select, setmetatable, getmetatable, rawget, string.format, tostring
local unpack = table.unpack or unpack

local OPTIONS = util.set({"values"})

-- A composite is a hybrid property (the class registers it so) with its
-- own mark for the mixin merge and the spec checks.
local HybridProperty = getmetatable(hybrid.hybrid_property(function() end))
local Composite = setmetatable({_is_composite = true}, {__index = HybridProperty})
Composite.__index = Composite

---@class quicksilver.orm.CompositeComparator
local Comparator = {}
Comparator.__index = Comparator
Comparator.__name = "CompositeComparator"

local function callable(f)
  if type(f) == "function" then return true end
  local mt = type(f) == "table" and getmetatable(f)
  return mt and mt.__call ~= nil or false
end

-- The column values of a value object (nil: every column NULL).
local function values_of(c, v)
  local n = #c.keys
  if v == nil then return {} end
  local vals
  if c.values_fn then
    vals = {n = n, c.values_fn(v)}
  else
    local f = type(v) == "table" and v.__composite_values
    if type(f) ~= "function" then
      exc.raise(exc.ArgumentError, format("composite '%s': the value %s has no __composite_values method " ..
        "(and the composite no values function)", tostring(c.key), tostring(v)), nil, 5)
    end
    vals = {f(v)}
  end
  if n > 1 and #vals == 1 and type(vals[1]) == "table" and rawget(vals[1], 1) ~= nil then vals = vals[1] end
  return vals
end

-- The mapper's column props of the keys, checked once per mapper.
local function check_columns(c, m)
  if c.checked[m] then return end
  for _, k in ipairs(c.keys) do
    local p = m.props[k]
    if not (p and p.is_column) then
      exc.raise(exc.ArgumentError, format("composite %s.%s: '%s' is not a mapped column of %s", m.class_name,
        tostring(c.key), k, m.class_name), nil, 5)
    end
  end
  c.checked[m] = true
end

local function mapper_of(obj_or_cls)
  local st = rawget(obj_or_cls, attributes.STATE)
  if st then return st.mapper end
  local m = rawget(obj_or_cls, "__mapper__") or rawget(obj_or_cls, "_mapper")
  return m
end

--- orm.composite(fn, "col_a", "col_b", ... [, {values = fn(obj)}])
---@param fn function|table builds the value object from the column values
---@return table
function M.composite(fn, ...)
  if not callable(fn) then
    exc.raise(exc.ArgumentError, "composite: the first argument must build the value object (a function " ..
      "or callable table)", nil, 2)
  end
  local keys, opts = {}, nil
  local n = select("#", ...)
  for i = 1, n do
    local a = select(i, ...)
    if type(a) == "string" then
      keys[#keys + 1] = a
    elseif i == n and type(a) == "table" and getmetatable(a) == nil then
      opts = a
    else
      exc.raise(exc.ArgumentError, format("composite: argument %d must be the name of a mapped column " ..
        "attribute (a string), got %s", i + 1, tostring(a)), nil, 2)
    end
  end
  if #keys == 0 then exc.raise(exc.ArgumentError, "composite: name at least one column attribute", nil, 2) end
  opts = util.check_options("composite", opts, OPTIONS, 2)
  if opts.values ~= nil and type(opts.values) ~= "function" then
    exc.raise(exc.ArgumentError, "composite: values must be a function(obj) returning the column values", nil, 2)
  end
  local c
  -- the value object last built per instance, with the column values it
  -- was built from (weak: it goes with the instance)
  local cache = setmetatable({}, {__mode = "k"})
  local function get(obj)
    local m = mapper_of(obj)
    if m then check_columns(c, m) end
    local vals, all_nil = {}, true
    for i, k in ipairs(keys) do
      local v = obj[k]
      vals[i] = v
      if v ~= nil then all_nil = false end
    end
    local hit = cache[obj]
    if hit then
      local same = true
      for i = 1, #keys do
        if hit[i] ~= vals[i] then same = false; break end
      end
      if same then return hit.value end
    end
    if all_nil then cache[obj] = nil; return nil end
    local value = fn(unpack(vals, 1, #keys))
    vals.value = value
    cache[obj] = vals
    return value
  end
  local function set(obj, value)
    local m = mapper_of(obj)
    if m then check_columns(c, m) end
    local vals = values_of(c, value)
    for i, k in ipairs(keys) do obj[k] = vals[i] end
    cache[obj] = nil
  end
  local function expression(cls)
    local m = mapper_of(cls)
    if m then check_columns(c, m) end
    local cols = {}
    for i, k in ipairs(keys) do cols[i] = cls[k] end
    return setmetatable({composite = c, columns = cols}, Comparator)
  end
  c = hybrid.hybrid_property(get, {setter = set, expression = expression})
  setmetatable(c, Composite)
  c.keys, c.values_fn, c.checked, c.fn = keys, opts.values, setmetatable({}, {__mode = "k"}), fn
  return c
end

--- The values of a value object in column order (for other code: the
--- bulk paths, tests).
function M.values(c, v) return values_of(c, v) end

-- Each column compared to its value, joined by AND (SQLAlchemy's
-- composite comparator does so for every operator, ne included).
local function compare(self, op, v)
  local vals = values_of(self.composite, v)
  local parts = {}
  for i, col in ipairs(self.columns) do parts[i] = col[op](col, vals[i]) end
  if #parts == 1 then return parts[1] end
  return elements.and_(unpack(parts))
end

--- attr:eq(obj): each column equal to the object's value (all IS NULL for nil).
function Comparator:eq(v) return compare(self, "eq", v) end

--- attr:ne(obj): every column differs (AND, as SQLAlchemy).
function Comparator:ne(v) return compare(self, "ne", v) end
--- attr:lt/le/gt/ge(obj): column by column, joined by AND (as SQLAlchemy).
function Comparator:lt(v) return compare(self, "lt", v) end
function Comparator:le(v) return compare(self, "le", v) end
function Comparator:gt(v) return compare(self, "gt", v) end
function Comparator:ge(v) return compare(self, "ge", v) end

--- The columns in order (for order_by, group_by).
function Comparator:clauses() return self.columns end

return M
