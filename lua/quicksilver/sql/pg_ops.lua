--- sql/pg_ops.lua: the ARRAY and JSONB operators and constructs
--- (SQLAlchemy's ARRAY.Comparator, JSONB.Comparator, any_/all_, array()).
---
--- Methods on every column expression, refused with an ArgumentError on an
--- expression of another type: `col:contains(v)` (@>, through the type's
--- `_contains` hook that ColumnElement:contains asks first),
--- `contained_by` (<@), `overlap` (&&, arrays), `has_key` (?), `has_any`
--- (?|), `has_all` (?&) (JSONB), `item(i)` and `slice(i, j)` (subscripts,
--- 1-based as PostgreSQL counts; `col[i]` is `col:item(i)` on the columns
--- elements.subscriptable made so: table, alias and CTE columns,
--- qs.column, and item() of a multi-dimensional array). The functions `any_`, `all_` and
--- `array`. The SQL is written by the compiler and the dialect
--- (c/compiler/expr.c, c/dialect/postgresql.c); a database without them
--- refuses with a CompileError naming the construct.
local core = require("quicksilver.core")
local elements = require("quicksilver.sql.elements")
local exc = require("quicksilver.exc")
local pg_types = require("quicksilver.sql.pg_types")
local types = require("quicksilver.sql.types")
local util = require("quicksilver.util")

local M = {}

local K, OP = core.kinds, core.ops
local setmetatable, type, format = setmetatable, type, string.format
local mtype = math.type
local coerce, binary, from_objects = elements.coerce, elements.binary, elements.from_objects
local ColumnElement = elements.ColumnElement
local ARRAY, JSONB = pg_types.ARRAY, pg_types.JSONB

local function is_array(e) return type(e) == "table" and e.type ~= nil and e.type._t == "ARRAY" end
local function is_jsonb(e) return type(e) == "table" and e.type ~= nil and e.type._jsonb == true end

local function need(self, what, array_ok, jsonb_ok)
  if (array_ok and is_array(self)) or (jsonb_ok and is_jsonb(self)) then return end
  local kinds = array_ok and jsonb_ok and "ARRAY and JSONB" or array_ok and "ARRAY" or "JSONB"
  exc.raise(exc.ArgumentError, format("%s: only %s expressions have it (got %s)", what, kinds,
    self.type and tostring(self.type) or "an untyped expression"), nil, 4)
end

-- The right operand: an element as it is, a Lua value bound as the left's
-- type (a sequence for an ARRAY, a document for JSONB).
local function operand(self, v, what)
  if v == nil or v == elements.null then
    exc.raise(exc.ArgumentError, what .. ": expected a value, got nil", nil, 4)
  end
  return coerce(v, self)
end

--- col:contains(v): ARRAY or JSONB col @> v.
local function contains(self, v, opts)
  if opts ~= nil then util.check_options("contains", opts, {}, 3) end
  return binary(self, OP.CONTAINS, operand(self, v, "contains"), types.Boolean)
end
ARRAY._contains = contains
JSONB._contains = contains

--- col:contained_by(v): col <@ v (ARRAY or JSONB).
function ColumnElement:contained_by(v)
  need(self, "contained_by", true, true)
  return binary(self, OP.CONTAINED_BY, operand(self, v, "contained_by"), types.Boolean)
end

--- col:overlap(v): the arrays share an element (&&).
function ColumnElement:overlap(v)
  need(self, "overlap", true, false)
  return binary(self, OP.OVERLAP, operand(self, v, "overlap"), types.Boolean)
end

local TEXT_ARRAY = pg_types.array_of(types.Text)

local function key_list(v, what)
  if type(v) == "table" and v._is_clause then return v end
  if type(v) ~= "table" or #v == 0 then
    exc.raise(exc.ArgumentError, what .. ": expected a non-empty list of key strings", nil, 4)
  end
  for i = 1, #v do
    if type(v[i]) ~= "string" then
      exc.raise(exc.ArgumentError, format("%s: key %d must be a string, got %s", what, i, util.repr(v[i], 30)),
        nil, 4)
    end
  end
  return elements.BindParameter.anon("param", v, TEXT_ARRAY)
end

--- col:has_key(k): the JSONB document has the top-level key k (?).
function ColumnElement:has_key(k)
  need(self, "has_key", false, true)
  if type(k) ~= "string" and not (type(k) == "table" and k._is_clause) then
    exc.raise(exc.ArgumentError, "has_key: the key must be a string, got " .. util.repr(k, 30), nil, 2)
  end
  return binary(self, OP.HAS_KEY, coerce(k, {type = types.Text, key = "param"}), types.Boolean)
end

--- col:has_any({k, ...}): the document has any of the keys (?|).
function ColumnElement:has_any(keys)
  need(self, "has_any", false, true)
  return binary(self, OP.HAS_ANY, key_list(keys, "has_any"), types.Boolean)
end

--- col:has_all({k, ...}): the document has all of the keys (?&).
function ColumnElement:has_all(keys)
  need(self, "has_all", false, true)
  return binary(self, OP.HAS_ALL, key_list(keys, "has_all"), types.Boolean)
end

-- A jsonpath (PostgreSQL 12+): text bound as such (`$1::JSONPATH`), as
-- SQLAlchemy's JSONPATH type casts it.
local JSONPATH = setmetatable({}, {__index = types.Text})
JSONPATH.__index = JSONPATH
local jsonpath = setmetatable({_t = "JSONPATH", name = "JSONPATH"}, JSONPATH)

local function path_op(self, op, path, what)
  need(self, what, false, true)
  if type(path) ~= "string" and not (type(path) == "table" and path._is_clause) then
    exc.raise(exc.ArgumentError, what .. ": the path must be a jsonpath string such as '$.a[*] ? (@ > 1)', got " ..
      util.repr(path, 30), nil, 3)
  end
  return binary(self, op, coerce(path, {type = jsonpath, key = "param"}), types.Boolean)
end

--- col:path_exists("$.a.b"): the JSONB document has an item at the jsonpath (@?).
function ColumnElement:path_exists(path) return path_op(self, OP.PATH_EXISTS, path, "path_exists") end
--- col:path_match("$.a > 1"): the jsonpath predicate holds for the document (@@).
function ColumnElement:path_match(path) return path_op(self, OP.PATH_MATCH, path, "path_match") end

-- subscripts ---------------------------------------------------------------------------------

local ArrayIndex = elements.column_class("ArrayIndex")
ArrayIndex._k = K.ARRAY_INDEX
function ArrayIndex:_from_objects() return from_objects(self.array) end
M.ArrayIndex = ArrayIndex

local function subscript(self, i, what)
  if type(i) == "table" and i._is_clause then return i end
  if type(i) ~= "number" or (mtype and mtype(i) ~= "integer") or i ~= math.floor(i) then
    exc.raise(exc.ArgumentError, format("%s: an ARRAY subscript is an integer (1-based), got %s", what,
      util.repr(i, 30)), nil, 4)
  end
  return elements.BindParameter.anon(self.key or self.name or "param", i, types.Integer)
end

--- col:item(i): the element at i (1-based; PostgreSQL's col[i]), typed as
--- the array's element type (one dimension less for a multi-dimensional one).
function ColumnElement:item(i)
  need(self, "item", true, false)
  return elements.subscriptable(setmetatable({array = self, index = subscript(self, i, "item"),
    type = pg_types.element_type(self.type)}, ArrayIndex))
end

--- col:slice(i, j): the elements i..j (col[i:j]), an array of the same type.
function ColumnElement:slice(i, j)
  need(self, "slice", true, false)
  return elements.subscriptable(setmetatable({array = self, index = subscript(self, i, "slice"),
    stop = subscript(self, j, "slice"), type = self.type}, ArrayIndex))
end

-- ANY / ALL ----------------------------------------------------------------------------------

local AnyAll = elements.column_class("AnyAll")
AnyAll._k = K.ANY_ALL
function AnyAll:_from_objects() return from_objects(self.array) end
M.AnyAll = AnyAll

-- any_(arr):op(v) is v op' ANY (arr): the quantified side must be on the
-- right in SQL, so the comparison is turned around (SQLAlchemy does too).
local SWAPPED = {eq = "eq", ne = "ne", lt = "gt", le = "ge", gt = "lt", ge = "le"}
for name, swapped in pairs(SWAPPED) do
  AnyAll[name] = function(self, v)
    local left = coerce(v, self)
    return left[swapped](left, self)
  end
end

local function quantified(x, all)
  local what = all and "all_" or "any_"
  local arr, t
  if type(x) == "table" and not x._is_clause and x.__clause_element__ then x = x:__clause_element__() end
  if type(x) == "table" and (x._k == K.SELECT or x._k == K.COMPOUND) then
    local first = x.columns and x.columns[1]
    arr, t = x, first and first.type or types.NullType
  elseif type(x) == "table" and x._k == K.SCALAR_SELECT then
    arr, t = x, x.type or types.NullType
  elseif type(x) == "table" and x._is_clause then
    if not is_array(x) then
      exc.raise(exc.ArgumentError, format("%s: expected an ARRAY expression, a list or a select(), got %s", what,
        x.type and tostring(x.type) or "an untyped expression"), nil, 3)
    end
    arr, t = x, x.type.item_type
  elseif type(x) == "table" then
    -- a Lua list: bound as an array of its first member's type
    local first = x[1]
    if first == nil then
      exc.raise(exc.ArgumentError, what .. ": an empty list has no element type; give " ..
        "qs.literal(list, qs.ARRAY(T))", nil, 3)
    end
    local it = types.for_value(first)
    arr = elements.BindParameter.anon("param", x, pg_types.array_of(it))
    t = it
  else
    exc.raise(exc.ArgumentError, format("%s: expected an ARRAY expression, a list or a select(), got %s", what,
      util.repr(x, 30)), nil, 3)
  end
  return setmetatable({array = arr, all = all, type = t}, AnyAll)
end

--- qs.any_(arr): ANY (arr), for a comparison: `x:eq(qs.any_(t.c.tags))`.
--- arr is an ARRAY expression, a Lua list (bound as an array) or a
--- select() (ANY (SELECT ...), standard SQL).
function M.any_(x) return quantified(x, false) end
--- qs.all_(arr): ALL (arr), as any_.
function M.all_(x) return quantified(x, true) end

-- ARRAY[...] ---------------------------------------------------------------------------------

local ArrayLiteral = elements.column_class("ArrayLiteral")
ArrayLiteral._k = K.ARRAY_LITERAL
function ArrayLiteral:_from_objects()
  local out, seen = {}, {}
  for _, e in ipairs(self.items) do from_objects(e, out, seen) end
  return out
end
M.ArrayLiteral = ArrayLiteral

local ARRAY_LITERAL_OPTIONS = util.set({"type_"})

--- qs.array({a, b, ...}, {type_ = T}): ARRAY[a, b, ...], typed ARRAY(T)
--- (T: the first member's type when not given).
function M.array(list, opts)
  if type(list) ~= "table" or list._is_clause or #list == 0 then
    exc.raise(exc.ArgumentError, "array: expected a non-empty list of values or expressions", nil, 2)
  end
  util.check_options("array", opts, ARRAY_LITERAL_OPTIONS, 2)
  local it = opts and opts.type_ and types.to_instance(opts.type_)
  local like = it and {type = it, key = "param"} or nil
  local items = {}
  for i = 1, #list do
    items[i] = coerce(list[i], like)
    if not it and items[i].type and items[i].type ~= types.NullType then it = items[i].type end
  end
  it = it or types.NullType
  if it._t == "ARRAY" then
    return setmetatable({items = items, type = pg_types.array_of(it.item_type, it.dimensions + 1)}, ArrayLiteral)
  end
  return setmetatable({items = items, type = pg_types.array_of(it)}, ArrayLiteral)
end

-- array_agg(x) is an ARRAY of x's type (func.array_agg).
elements.RETURNS.array_agg = function(args)
  local t = args[1] and args[1].type
  if t == nil or t == types.NullType then return pg_types.array_of(types.NullType) end
  if t._t == "ARRAY" then return pg_types.array_of(t.item_type, t.dimensions + 1) end
  return pg_types.array_of(t)
end

return M
