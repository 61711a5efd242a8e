--- sql/tuple.lua: qs.tuple_(a, b, ...), a row value: `(a, b)`.
---
--- Compared with another tuple or a Lua list of as many values
--- (`qs.tuple_(a, b):eq({1, 2})` is `(a, b) = (?, ?)`), and with IN over a
--- list of such lists (`:in_({{1, 2}, {3, 4}})`, one expanding bind: each
--- execution writes `((?, ?), (?, ?))`, SQLite `(VALUES (?, ?), (?, ?))` as
--- SQLAlchemy renders it there), an expanding bind parameter, or a SELECT of
--- as many columns.
local core = require("quicksilver.core")
local elements = require("quicksilver.sql.elements")
local exc = require("quicksilver.exc")
local types = require("quicksilver.sql.types")

local M = {}

local K, OP = core.kinds, core.ops
local setmetatable, getmetatable, type, select, format = setmetatable, getmetatable, type, select, string.format
local coerce = elements.coerce

---@class quicksilver.Tuple: quicksilver.ColumnElement
local Tuple = elements.column_class("Tuple")
Tuple._k = K.TUPLE
Tuple.type = types.NullType
function Tuple:_from_objects()
  local out, seen = {}, {}
  for i = 1, #self.clauses do elements.from_objects(self.clauses[i], out, seen) end
  return out
end
M.Tuple = Tuple

--- (a, b, ...): Lua values become bound parameters.
---@return quicksilver.Tuple
function M.tuple_(...)
  local n = select("#", ...)
  if n == 0 then exc.raise(exc.ArgumentError, "tuple_: at least one member", nil, 2) end
  local clauses = {}
  for i = 1, n do clauses[i] = coerce((select(i, ...))) end
  return setmetatable({clauses = clauses}, Tuple)
end

local function is_list(v) return type(v) == "table" and getmetatable(v) == nil and not v._is_clause end

-- The other side of a comparison: a tuple of as many members, or a Lua
-- list of as many values (bound typed like the members they face).
local function other_side(self, other, what)
  local w = #self.clauses
  if type(other) == "table" and other._k == K.TUPLE then
    if #other.clauses ~= w then
      exc.raise(exc.ArgumentError, format("tuple_ %s: %d members compared with a tuple of %d", what, w,
        #other.clauses), nil, 4)
    end
    return other
  end
  if not is_list(other) then
    exc.raise(exc.ArgumentError, format("tuple_ %s: expected a tuple_() or a list of %d values, got %s", what, w,
      type(other)), nil, 4)
  end
  local n = other.n or #other
  if n ~= w then
    exc.raise(exc.ArgumentError, format("tuple_ %s: %d members compared with a list of %d values", what, w, n),
      nil, 4)
  end
  local clauses = {}
  for i = 1, w do clauses[i] = coerce(other[i], self.clauses[i]) end
  return setmetatable({clauses = clauses}, Tuple)
end

local function comparison(op, what)
  return function(self, other)
    return elements.binary(self, op, other_side(self, other, what))
  end
end
Tuple.eq, Tuple.ne = comparison(OP.EQ, "eq"), comparison(OP.NE, "ne")
Tuple.lt, Tuple.le = comparison(OP.LT, "lt"), comparison(OP.LE, "le")
Tuple.gt, Tuple.ge = comparison(OP.GT, "gt"), comparison(OP.GE, "ge")

local function in_op(self, values, negate, what)
  local w = #self.clauses
  if type(values) == "table" and (values._k == K.BIND or values._k == K.SELECT or values._k == K.COMPOUND
      or values._is_clause) then
    if negate then return elements.ColumnElement.not_in(self, values) end
    return elements.ColumnElement.in_(self, values)
  end
  if not is_list(values) then
    exc.raise(exc.ArgumentError, format("tuple_ %s: expected a list of lists of %d values, a select() or an " ..
      "expanding bindparam, got %s", what, w, type(values)), nil, 3)
  end
  local n = values.n or #values
  local list = {n = values.n}
  for i = 1, n do
    local row = values[i]
    if not is_list(row) then
      exc.raise(exc.ArgumentError, format("tuple_ %s: element %d is %s, not a list of %d values", what, i,
        type(row), w), nil, 3)
    end
    local rn = row.n or #row
    if rn ~= w then
      exc.raise(exc.ArgumentError, format("tuple_ %s: element %d has %d values, the tuple has %d members", what,
        i, rn, w), nil, 3)
    end
    list[i] = row
  end
  return setmetatable({left = self, negate = negate, expanding = setmetatable({key = "param", value = list,
    type = types.NullType, anon = true, expanding = true}, elements.BindParameter)}, elements.InClause)
end

--- (a, b) IN ((?, ?), ...) for a list of lists; also a select() of as many
--- columns or an expanding bind parameter.
function Tuple:in_(values) return in_op(self, values, false, "in_") end
function Tuple:not_in(values) return in_op(self, values, true, "not_in") end

return M
