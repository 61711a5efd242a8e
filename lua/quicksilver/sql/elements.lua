--- sql/elements.lua: the SQL expression elements (SQLAlchemy's sql/elements.py).
---
--- Elements are immutable Lua tables tagged with `_k` (a kind code from C,
--- core.kinds); the C compiler walks them (docs/ARCHITECTURE.md, "How
--- statements cross into C"). Comparisons are methods (`col:eq(v)`), because
--- Lua's __eq/__lt/__le must return booleans; `+ - * / % // ..` and unary `-`
--- are metamethods that build SQL.
local compiler = require("quicksilver.sql.compiler")
local core = require("quicksilver.core")
local exc = require("quicksilver.exc")
local types = require("quicksilver.sql.types")
local util = require("quicksilver.util")

local M = {}

local K, OP = core.kinds, core.ops
local setmetatable, getmetatable, type, tostring, select, error =
  setmetatable, getmetatable, type, tostring, select, error
local mtype = math.type

---@class quicksilver.ClauseElement
local ClauseElement = util.class("ClauseElement")
ClauseElement._is_clause = true
M.ClauseElement = ClauseElement

-- tostring(element) renders it for the default dialect (SQLite).
local function render(self)
  local ok, c = pcall(compiler.compile, self, "sqlite")
  if ok then return c.sql end
  return "<" .. (self.__name or "ClauseElement") .. ": " .. tostring(type(c) == "table" and c.message or c) .. ">"
end
ClauseElement.__tostring = render

local COMPILE_OPTIONS = util.set({"dialect", "literal_binds", "schema_translate_map"})

--- Compiles for a dialect: `.sql` and `.params` (values by bind name).
--- schema_translate_map: table schemas written translated, as an execution
--- with that option does.
---@param opts? {dialect?: string, literal_binds?: boolean, schema_translate_map?: table}
---@return quicksilver.Compiled
function ClauseElement:compile(opts)
  if opts ~= nil then util.check_options("compile", opts, COMPILE_OPTIONS, 2) end
  local dialect = opts and opts.dialect or "sqlite"
  if opts and opts.schema_translate_map ~= nil then
    -- schema names as an execution with that option writes them
    dialect = compiler.dialect_key(dialect, opts.schema_translate_map)
    opts = util.merge(opts, {schema_translate_map = false})
  end
  return compiler.compile(self, dialect, opts)
end

---------------------------------------------------------------------------------------------
-- coercion
---------------------------------------------------------------------------------------------

local Null = util.class("Null", ClauseElement)
Null._k = K.NULL
Null.__tostring = function() return "NULL" end
M.Null = Null
--- SQL NULL. In Lua tables write `qs.null`, since nil cannot sit in a table.
M.null = setmetatable({type = types.NullType}, Null)

local function is_element(v)
  return type(v) == "table" and v._is_clause == true
end
M.is_element = is_element

local BindParameter   -- forward

--- The element for a Lua value: elements pass through, nil and qs.null are
--- NULL, anything else a bound parameter typed like `like` (a column whose
--- type converts the value) or by the value itself.
---@param v any
---@param like? table an element whose type and name the bind takes
function M.coerce(v, like)
  if type(v) == "table" then
    if v._is_clause then
      local ce = v.__clause_element__
      if ce then return ce(v) end
      return v
    end
    if v._is_type then
      exc.raise(exc.ArgumentError, "a type is not a SQL expression: " .. tostring(v), nil, 3)
    end
    local ce = v.__clause_element__
    if ce then return ce(v) end
  end
  if v == nil or v == M.null then return M.null end
  local t = like and like.type
  if t == nil or t == types.NullType then t = types.for_value(v) end
  return BindParameter.anon(like and (like.key or like.name) or "param", v, t)
end
local coerce = M.coerce

--- An element that stands where a condition belongs. Lua booleans and nil
--- are refused: `where(x == 5)` compares Lua values, not SQL.
function M.condition(v, where)
  if v == nil or type(v) == "boolean" then
    exc.raise(exc.ArgumentError, string.format(
      "%s: got a Lua %s where a SQL condition belongs (use col:eq() for comparisons, " ..
      "qs.true_()/qs.false_() for literal truth)", where or "condition", tostring(v)), nil, 4)
  end
  if not is_element(v) then
    if type(v) == "table" and v.__clause_element__ then return v:__clause_element__() end
    exc.raise(exc.ArgumentError, string.format("%s: expected a SQL expression, got %s",
      where or "condition", util.repr(v, 60)), nil, 4)
  end
  return v
end
local condition = M.condition

--- The FROM objects (tables, aliases, joins) an element refers to, in order
--- of appearance; subqueries contribute none (they correlate at compile).
function M.from_objects(e, out, seen)
  out = out or {}
  seen = seen or {}
  if type(e) ~= "table" then return out end
  local f = e._from_objects
  if f then
    local list = f(e)
    for i = 1, #list do
      local x = list[i]
      if not seen[x] then seen[x] = true; out[#out + 1] = x end
    end
  end
  return out
end
local from_objects = M.from_objects

local function children_froms(...)
  local out, seen = {}, {}
  for i = 1, select("#", ...) do
    local c = select(i, ...)
    if c then from_objects(c, out, seen) end
  end
  return out
end

local function list_froms(list)
  local out, seen = {}, {}
  if list then for i = 1, #list do from_objects(list[i], out, seen) end end
  return out
end

---------------------------------------------------------------------------------------------
-- ColumnElement: every value-producing element; comparisons and operators
---------------------------------------------------------------------------------------------

---@class quicksilver.ColumnElement: quicksilver.ClauseElement
---@field type table
local ColumnElement = util.class("ColumnElement", ClauseElement)
M.ColumnElement = ColumnElement

local column_classes = {}

--- A class of value-producing elements: its instances get the operator
--- metamethods (metamethods are not inherited through __index).
function M.column_class(name, parent)
  local cls = util.class(name, parent or ColumnElement)
  column_classes[#column_classes + 1] = cls
  if M._install_operators then M._install_operators(cls) end
  return cls
end

local BinaryExpression = M.column_class("BinaryExpression")
BinaryExpression._k = K.BINARY
function BinaryExpression:_from_objects() return children_froms(self.left, self.right) end
M.BinaryExpression = BinaryExpression

local COMPARISON = {[OP.EQ] = true, [OP.NE] = true, [OP.LT] = true, [OP.LE] = true,
  [OP.GT] = true, [OP.GE] = true, [OP.LIKE] = true, [OP.NOT_LIKE] = true, [OP.ILIKE] = true,
  [OP.NOT_ILIKE] = true, [OP.IS] = true, [OP.IS_NOT] = true}

local function binary(left, op, right, rtype, extra)
  local t = rtype
  if not t then
    t = COMPARISON[op] and types.Boolean or left.type or types.NullType
  end
  local b = setmetatable({left = left, right = right, op = op, type = t}, BinaryExpression)
  if extra then for k, v in pairs(extra) do b[k] = v end end
  return b
end
M.binary = binary

local Boolean, NullType, for_value = types.Boolean, types.NullType, types.for_value

local function compare(self, op, other)
  if other == nil or other == M.null then
    if op == OP.EQ then return binary(self, OP.IS, M.null) end
    if op == OP.NE then return binary(self, OP.IS_NOT, M.null) end
  end
  if type(other) ~= "table" then
    -- a Lua value (the common `col:eq(k)`): coerce's bind typed like self,
    -- and binary's comparison, made here without the two calls
    local t = self.type
    if t == nil or t == NullType then t = for_value(other) end
    return setmetatable({left = self, op = op, type = Boolean, right = setmetatable({
      key = self.key or self.name or "param", value = other, type = t, anon = true}, BindParameter)},
      BinaryExpression)
  end
  return binary(self, op, coerce(other, self))
end

function ColumnElement:eq(o) return compare(self, OP.EQ, o) end
function ColumnElement:ne(o) return compare(self, OP.NE, o) end
function ColumnElement:lt(o) return compare(self, OP.LT, o) end
function ColumnElement:le(o) return compare(self, OP.LE, o) end
function ColumnElement:gt(o) return compare(self, OP.GT, o) end
function ColumnElement:ge(o) return compare(self, OP.GE, o) end
-- Only NULL, TRUE and FALSE may follow IS / IS NOT in SQL (PostgreSQL and
-- MySQL reject anything else, a bound parameter included), so these are
-- rendered as keywords per dialect and every other operand is refused.
local is_operand   -- defined with the truth elements below
function ColumnElement:is_(o) return binary(self, OP.IS, is_operand(o, "is_")) end
function ColumnElement:is_not(o) return binary(self, OP.IS_NOT, is_operand(o, "is_not")) end

local LIKE_OPTIONS = util.set({"escape"})
local PATTERN_OPTIONS = util.set({"ilike"})

local function like_op(self, op, pattern, opts)
  util.check_options("like", opts, LIKE_OPTIONS, 3)
  local extra
  if opts and opts.escape then
    if type(opts.escape) ~= "string" or #opts.escape ~= 1 then
      exc.raise(exc.ArgumentError, "like: escape must be a single character", nil, 3)
    end
    extra = {escape = opts.escape}
  end
  return binary(self, op, coerce(pattern, self), nil, extra)
end
function ColumnElement:like(p, opts) return like_op(self, OP.LIKE, p, opts) end
function ColumnElement:not_like(p, opts) return like_op(self, OP.NOT_LIKE, p, opts) end
function ColumnElement:ilike(p, opts) return like_op(self, OP.ILIKE, p, opts) end
function ColumnElement:not_ilike(p, opts) return like_op(self, OP.NOT_ILIKE, p, opts) end

-- contains/startswith/endswith escape the wildcards of their argument with
-- "/" (SQLAlchemy's autoescape), so a user's "%" matches a literal "%".
local function autoescape(s)
  return (tostring(s):gsub("[/%%_]", "/%0"))
end
local function pattern_op(self, s, before, after, opts)
  util.check_options("contains/startswith/endswith", opts, PATTERN_OPTIONS, 3)
  local op = (opts and opts.ilike) and OP.ILIKE or OP.LIKE
  if is_element(s) then
    -- an expression: '%' || s || '%' as SQLAlchemy writes it (it was `a LIKE s`,
    -- an equality in disguise); its own % and _ stay wildcards
    local pat = s
    if before ~= "" then pat = binary(BindParameter.anon("param", before, types.String), OP.CONCAT, pat, types.String) end
    if after ~= "" then pat = binary(pat, OP.CONCAT, BindParameter.anon("param", after, types.String), types.String) end
    return binary(self, op, pat, nil, nil)
  end
  if type(s) ~= "string" then
    exc.raise(exc.ArgumentError, "contains/startswith/endswith take a string", nil, 3)
  end
  return binary(self, op, BindParameter.anon(self.key or self.name or "param",
    before .. autoescape(s) .. after, types.String), nil, {escape = "/"})
end
function ColumnElement:contains(s, opts)
  -- a type with a containment operator of its own (ARRAY, JSONB: @>)
  local own = self.type and self.type._contains
  if own then return own(self, s, opts) end
  return pattern_op(self, s, "%", "%", opts)
end
function ColumnElement:startswith(s, opts) return pattern_op(self, s, "", "%", opts) end
function ColumnElement:endswith(s, opts) return pattern_op(self, s, "%", "", opts) end

local InClause = M.column_class("InClause")
InClause._k = K.IN
InClause.type = types.Boolean
InClause.expanding = false   -- or the expanding bind of "x IN (list)"
function InClause:_from_objects() return children_froms(self.left) end
M.InClause = InClause

local expanding_in   -- defined with the bind parameters below

local function in_op(self, values, negate)
  local e = expanding_in(self, values, negate)
  if e then return e end
  if type(values) == "table" and (values._k == K.SELECT or values._k == K.COMPOUND) then
    return setmetatable({left = self, select = values, negate = negate}, InClause)
  end
  if type(values) == "table" and values._is_clause and values.element and values.element._k == K.SELECT then
    return setmetatable({left = self, select = values.element, negate = negate}, InClause)
  end
  if type(values) ~= "table" or values._is_clause then
    exc.raise(exc.ArgumentError, "in_: expected a list of values or a select()", nil, 3)
  end
  local list = {}
  for i = 1, (values.n or #values) do list[i] = coerce(values[i], self) end
  return setmetatable({left = self, values = list, negate = negate}, InClause)
end
function ColumnElement:in_(values) return in_op(self, values, false) end
function ColumnElement:not_in(values) return in_op(self, values, true) end

local Between = M.column_class("Between")
Between._k = K.BETWEEN
Between.type = types.Boolean
function Between:_from_objects() return children_froms(self.element, self.lower, self.upper) end
local BETWEEN_OPTIONS = util.set({"negate"})
function ColumnElement:between(a, b, opts)
  util.check_options("between", opts, BETWEEN_OPTIONS, 2)
  return setmetatable({element = self, lower = coerce(a, self), upper = coerce(b, self),
    negate = opts and opts.negate or false}, Between)
end

local UnaryExpression = M.column_class("UnaryExpression")
UnaryExpression._k = K.UNARY
function UnaryExpression:_from_objects() return children_froms(self.element) end
M.UnaryExpression = UnaryExpression

local function unary(element, op, t)
  return setmetatable({element = element, op = op, type = t or element.type}, UnaryExpression)
end
M.unary = unary

function ColumnElement:desc() return unary(self, OP.DESC) end
function ColumnElement:asc() return unary(self, OP.ASC) end
function ColumnElement:nulls_first() return unary(self, OP.NULLS_FIRST) end
function ColumnElement:nulls_last() return unary(self, OP.NULLS_LAST) end
function ColumnElement:distinct() return unary(self, OP.DISTINCT) end

local Label = M.column_class("Label")
Label._k = K.LABEL
function Label:_from_objects() return from_objects(self.element) end
M.Label = Label

--- `expr AS name` in a columns clause; the result column is called name.
function ColumnElement:label(name)
  if name ~= nil and type(name) ~= "string" then
    exc.raise(exc.ArgumentError, "label: name must be a string", nil, 2)
  end
  return setmetatable({name = name, key = name, element = self, type = self.type}, Label)
end

local Cast = M.column_class("Cast")
Cast._k = K.CAST
function Cast:_from_objects() return from_objects(self.element) end

local TypeCoerce = M.column_class("TypeCoerce")
TypeCoerce._k = K.TYPE_COERCE
function TypeCoerce:_from_objects() return from_objects(self.element) end
M.TypeCoerce = TypeCoerce

--- The expression as it is in SQL (no CAST), typed as t in Lua: results
--- convert as t, and a bound value (a literal, a Lua value) is bound as t.
---@param expr any
---@param t table a type
function M.type_coerce(expr, t)
  if t == nil then exc.raise(exc.ArgumentError, "type_coerce: a type is required", nil, 2) end
  t = types.to_instance(t)
  local e = coerce(expr)
  if e._k == K.BIND then
    -- the bound value is processed as t (SQLAlchemy's typed_expression)
    local b = util.copy(e)
    b.type = t
    return setmetatable(b, BindParameter)
  end
  return setmetatable({element = e, type = t, name = e.name, key = e.key}, TypeCoerce)
end

-- As a SELECT column it is named as its element is (t.name AS name).
function TypeCoerce:_select_column()
  if self.name ~= nil and self.element._k ~= K.BIND then
    return setmetatable({name = self.name, key = self.name, element = self, type = self.type}, Label)
  end
  return self
end

--- CAST(expr AS type).
function M.cast(expr, t)
  t = types.to_instance(t)
  return setmetatable({element = coerce(expr), type = t}, Cast)
end
function ColumnElement:cast(t) return M.cast(self, t) end

-- JSON element access (col:get, col:path, as_*): its own file
require("quicksilver.sql.json_access").install(M, ColumnElement)

-- A Lua value concatenated to an expression binds as a string: typed like the
-- other side only when that side is a string (an Integer column's type would
-- refuse the "/" of `col .. "/"`, and `"n=" .. col` too).
local function concat_operand(v, other)
  local t = other.type
  if t and t._affinity == "string" then return coerce(v, other) end
  if type(v) ~= "table" and v ~= nil then
    return BindParameter.anon(other.key or other.name or "param", v, types.String)
  end
  return coerce(v, other)
end

function ColumnElement:concat(o) return binary(self, OP.CONCAT, concat_operand(o, self), types.String) end

-- arithmetic metamethods -----------------------------------------------------------------------

-- A fractional Lua number in arithmetic with an integer expression binds as
-- its own type (a Float), as SQLAlchemy's coerce_compared_value does: typed
-- like the Integer side, `age * 1.5` was refused at execution. Called only
-- for a fractional number (the common operands pay one type() and one %).
local function fraction_operand(v, other)
  local t = other.type
  if t and t._affinity == "integer" then
    return BindParameter.anon(other.key or other.name or "param", v, types.for_value(v))
  end
  return coerce(v, other)
end

local function arith(op, name)
  local concat = name == "concat"
  return function(a, b)
    local left, right
    if is_element(a) then
      left = a
      if concat then
        local t = a.type   -- a string side: the value typed like it (no call more)
        right = (t and t._affinity == "string") and coerce(b, a) or concat_operand(b, a)
      elseif type(b) == "number" and b % 1 ~= 0 then right = fraction_operand(b, a)
      else right = coerce(b, a) end
    else
      right = b
      if concat then
        local t = b.type
        left = (t and t._affinity == "string") and coerce(a, b) or concat_operand(a, b)
      elseif type(a) == "number" and a % 1 ~= 0 then left = fraction_operand(a, b)
      else left = coerce(a, b) end
    end
    local lt, rt = left.type, right.type
    local la, ra = lt and lt._affinity, rt and rt._affinity
    local o, t = op, nil
    if name == "truediv" then
      if la == "integer" and ra == "integer" then o = OP.TRUEDIV_INT; t = types.Numeric
      else t = (la == "integer" or la == "numeric") and types.Numeric or lt end
    elseif name == "floordiv" then
      if la == "integer" and ra == "integer" then o = OP.FLOORDIV_INT; t = types.Integer
      else o = OP.FLOORDIV; t = types.Integer end
    elseif name == "concat" then
      t = types.String
    elseif la == "integer" and ra == "integer" then
      t = types.Integer
    elseif (la == "integer" or la == "numeric") and (ra == "integer" or ra == "numeric") then
      t = (lt == types.Float or rt == types.Float) and types.Float or types.Numeric
    else
      t = lt ~= types.NullType and lt or rt
    end
    return binary(left, o, right, t)
  end
end

local METAMETHODS = {
  __add = arith(OP.ADD, "add"), __sub = arith(OP.SUB, "sub"), __mul = arith(OP.MUL, "mul"),
  __div = arith(OP.DIV, "truediv"), __mod = arith(OP.MOD, "mod"),
  __idiv = arith(OP.FLOORDIV, "floordiv"), __concat = arith(OP.CONCAT, "concat"),
  __unm = function(a) return unary(a, OP.NEG) end,
  __tostring = render,
}

function M._install_operators(cls)
  for k, v in pairs(METAMETHODS) do rawset(cls, k, v) end
end
for _, cls in ipairs(column_classes) do M._install_operators(cls) end
M._install_operators(ColumnElement)

---------------------------------------------------------------------------------------------
-- the leaves: columns, binds, literals, truth
---------------------------------------------------------------------------------------------

---@class quicksilver.ColumnClause: quicksilver.ColumnElement
---@field name string
---@field key string
---@field table table|nil
local ColumnClause = M.column_class("ColumnClause")
ColumnClause._k = K.COLUMN
M.ColumnClause = ColumnClause

function ColumnClause:_from_objects()
  local t = self.table
  if t then return {t} end
  return {}
end

-- col[i]: a column of a type with subscripts (ARRAY: `_subscript`) takes
-- an integer index as `col:item(i)` (sql/pg_ops.lua). Only such columns get
-- a metatable whose __index is a function (a variant of their class: the
-- same metamethods, `_variant_of` naming the class); every other element
-- keeps its class table as __index, looked up without a call.
local variants = {}
local function subscript_variant(cls)
  local v = variants[cls]
  if v then return v end
  v = {}
  for k, x in pairs(cls) do
    if type(k) == "string" and k:sub(1, 2) == "__" then v[k] = x end
  end
  v._variant_of = cls
  v.__index = function(self, k)
    local x = cls[k]
    if x == nil and type(k) == "number" then
      local item = cls.item
      if item then return item(self, k) end
    end
    return x
  end
  setmetatable(v, {__index = cls})
  variants[cls] = v
  return v
end

--- The element itself, made subscriptable (`col[i]`) when its type has
--- subscripts; other elements are returned unchanged.
function M.subscriptable(e)
  local t = e.type
  if t and t._subscript then
    local mt = getmetatable(e)
    if mt and rawget(mt, "_variant_of") == nil then setmetatable(e, subscript_variant(mt)) end
  end
  return e
end

--- The class of an element, seen through a subscript variant.
function M.class_of(e)
  local mt = getmetatable(e)
  return mt and rawget(mt, "_variant_of") or mt
end

--- A lightweight column (qs.column): a name and a type, no schema.
---@param name string
---@param t? table type
function M.column(name, t)
  if type(name) ~= "string" then
    exc.raise(exc.ArgumentError, "column: name must be a string", nil, 2)
  end
  return M.subscriptable(setmetatable({name = name, key = name, type = types.to_instance(t)}, ColumnClause))
end

BindParameter = M.column_class("BindParameter")
BindParameter._k = K.BIND
function BindParameter:_from_objects() return {} end
BindParameter.expanding = false   -- true: a list on the right of in_()
M.BindParameter = BindParameter

function BindParameter.anon(base, value, t)
  return setmetatable({key = base, value = value, type = t or types.for_value(value), anon = true},
    BindParameter)
end

--- A named bind parameter; execute parameters give (or override) its value.
--- `{expanding = true}`: it stands for a list on the right of `in_()`, given
--- at execution (`{ids = {1, 2, 3}}`); one compiled form serves every length.
local BINDPARAM_OPTIONS = util.set({"type", "expanding"})

---@param key string
---@param value? any
---@param opts? {type?: table, expanding?: boolean}
function M.bindparam(key, value, opts)
  if type(key) ~= "string" or key == "" then
    exc.raise(exc.ArgumentError, "bindparam: key must be a non-empty string", nil, 2)
  end
  if type(value) == "table" and not value._is_clause and opts == nil and value._is_type == nil
      and (value.type or value.expanding ~= nil) then
    opts, value = value, nil
  end
  util.check_options("bindparam", opts, BINDPARAM_OPTIONS, 2)
  if opts and opts.expanding then return M._expanding_bindparam(key, value, opts) end
  local t = opts and opts.type and types.to_instance(opts.type)
    or (value ~= nil and types.for_value(value)) or types.NullType
  return setmetatable({key = key, value = value, type = t, anon = false}, BindParameter)
end

-- bindparam(key, list, {expanding = true}): the list's elements typed by
-- `type` (or like the IN's left side, when in_() takes it).
function M._expanding_bindparam(key, value, opts)
  if opts.expanding ~= true then
    exc.raise(exc.ArgumentError, "bindparam: expanding must be true or nil", nil, 3)
  end
  if value ~= nil and not (type(value) == "table" and getmetatable(value) == nil) then
    exc.raise(exc.ArgumentError, string.format("bindparam '%s': an expanding parameter's value is a list, got %s",
      key, type(value)), nil, 3)
  end
  local t = opts.type and types.to_instance(opts.type) or nil
  return setmetatable({key = key, value = value, type = t or types.NullType, anon = false, expanding = true,
    _typed = t ~= nil}, BindParameter)
end

-- x IN (list): a list of plain values becomes one expanding bind (as
-- SQLAlchemy 2.0 renders every literal IN list), so one compiled form serves
-- every length; a list holding SQL expressions keeps one element each.
-- Returns nil for what in_op handles itself (selects, expression lists).
expanding_in = function(self, values, negate)
  if type(values) ~= "table" then return nil end
  if values._k == K.BIND then
    if not values.expanding then
      exc.raise(exc.ArgumentError, string.format("in_: bind parameter '%s' is not expanding (use " ..
        "qs.bindparam(%q, {expanding = true}))", tostring(values.key), tostring(values.key)), nil, 4)
    end
    if not values._typed and self.type and self.type ~= types.NullType then
      -- typed like the left side, as a literal list is
      local b = util.copy(values)
      b.type = self.type
      values = setmetatable(b, BindParameter)
    end
    return setmetatable({left = self, expanding = values, negate = negate}, InClause)
  end
  if values._is_clause or getmetatable(values) ~= nil then return nil end
  local n = values.n or #values
  local list = {n = values.n}
  for i = 1, n do
    local v = values[i]
    if type(v) == "table" and (v._is_clause or v.__clause_element__) then return nil end
    list[i] = v
  end
  local t = self.type
  if t == nil or t == types.NullType then
    -- an untyped left side: the values' own type, when they share one (else one bind each)
    t = n > 0 and types.for_value(list[1]) or types.NullType
    for i = 2, n do
      if list[i] ~= nil and types.for_value(list[i]) ~= t then return nil end
    end
  end
  return setmetatable({left = self, negate = negate, expanding = setmetatable({key = self.key or self.name or "param",
    value = list, type = t, anon = true, expanding = true}, BindParameter)}, InClause)
end

--- A literal value as a bound parameter.
function M.literal(value, t)
  return BindParameter.anon("param", value, t and types.to_instance(t) or types.for_value(value))
end

local LiteralColumn = M.column_class("LiteralColumn")
LiteralColumn._k = K.LITERAL_COLUMN
function LiteralColumn:_from_objects() return {} end

--- Raw SQL as a column (program text only, never user data).
function M.literal_column(text, t)
  if type(text) ~= "string" then
    exc.raise(exc.ArgumentError, "literal_column: text must be a string", nil, 2)
  end
  return setmetatable({text = text, name = text, type = types.to_instance(t)}, LiteralColumn)
end

local True_ = M.column_class("True_")
True_._k = K.TRUE
True_.type = types.Boolean
local False_ = M.column_class("False_")
False_._k = K.FALSE
False_.type = types.Boolean
M.true_obj = setmetatable({}, True_)
M.false_obj = setmetatable({}, False_)
function M.true_() return M.true_obj end
function M.false_() return M.false_obj end

is_operand = function(o, what)
  if o == nil or o == M.null then return M.null end
  if o == true or o == M.true_obj then return M.true_obj end
  if o == false or o == M.false_obj then return M.false_obj end
  if is_element(o) and (o._k == K.NULL or o._k == K.TRUE or o._k == K.FALSE) then return o end
  if o == M.true_ or o == M.false_ then
    exc.raise(exc.ArgumentError, string.format("%s: got the function qs.%s; call it: qs.%s()",
      what, o == M.true_ and "true_" or "false_", o == M.true_ and "true_" or "false_"), nil, 4)
  end
  exc.raise(exc.ArgumentError, string.format("%s: only NULL (nil or qs.null), true and false can " ..
    "follow IS, got %s (use col:eq() to compare with a value)", what, util.repr(o, 60)), nil, 4)
end

local Star = M.column_class("Star")
Star._k = K.STAR
function Star:_from_objects() return self.table and {self.table} or {} end
function M.star(table_) return setmetatable({table = table_, name = "*"}, Star) end

---------------------------------------------------------------------------------------------
-- logic
---------------------------------------------------------------------------------------------

local ClauseList = M.column_class("ClauseList")
ClauseList._k = K.LIST
ClauseList.type = types.Boolean
function ClauseList:_from_objects() return list_froms(self.clauses) end
M.ClauseList = ClauseList

local function conjunction(op, where, ...)
  if select("#", ...) == 1 then
    -- one condition that is no list of the same operator: itself
    local c = condition((...), where)
    if c._k ~= K.LIST or c.op ~= op then return c end
  end
  local clauses = {}
  for i = 1, select("#", ...) do
    local c = condition(select(i, ...), where)
    if c._k == K.LIST and c.op == op then
      for j = 1, #c.clauses do clauses[#clauses + 1] = c.clauses[j] end
    else
      clauses[#clauses + 1] = c
    end
  end
  if #clauses == 1 then return clauses[1] end
  return setmetatable({op = op, clauses = clauses}, ClauseList)
end

--- a AND b AND ...
function M.and_(...) return conjunction(OP.AND, "and_", ...) end
--- a OR b OR ...
function M.or_(...) return conjunction(OP.OR, "or_", ...) end
M.conjunction = conjunction

local NEGATED = {[OP.EQ] = OP.NE, [OP.NE] = OP.EQ, [OP.LT] = OP.GE, [OP.GE] = OP.LT,
  [OP.GT] = OP.LE, [OP.LE] = OP.GT, [OP.LIKE] = OP.NOT_LIKE, [OP.NOT_LIKE] = OP.LIKE,
  [OP.ILIKE] = OP.NOT_ILIKE, [OP.NOT_ILIKE] = OP.ILIKE, [OP.IS] = OP.IS_NOT, [OP.IS_NOT] = OP.IS}
M.NEGATED = NEGATED   -- sql/operators.lua adds its own pairs

--- NOT x (comparisons are inverted instead, as SQLAlchemy does).
function M.not_(x)
  x = condition(x, "not_")
  if x._k == K.BINARY and NEGATED[x.op] then
    local b = util.copy(x)
    b.op = NEGATED[x.op]
    return setmetatable(b, BinaryExpression)
  end
  if x._k == K.IN or x._k == K.BETWEEN then
    local c = util.copy(x)
    c.negate = not x.negate
    return setmetatable(c, getmetatable(x))
  end
  return unary(x, OP.NOT, types.Boolean)
end

local Grouping = M.column_class("Grouping")
Grouping._k = K.GROUPING
function Grouping:_from_objects() return from_objects(self.element) end
function M.grouping(e) return setmetatable({element = e, type = e.type}, Grouping) end

---------------------------------------------------------------------------------------------
-- CASE, functions
---------------------------------------------------------------------------------------------

local Case = M.column_class("Case")
Case._k = K.CASE
function Case:_from_objects()
  local out, seen = {}, {}
  if self.value then from_objects(self.value, out, seen) end
  for _, w in ipairs(self.whens) do from_objects(w[1], out, seen); from_objects(w[2], out, seen) end
  if self.else_ then from_objects(self.else_, out, seen) end
  return out
end

--- qs.case({{cond, value}, ...}, {else_ = v, value = expr}); with `value`,
--- each cond is compared to it (simple CASE).
local CASE_OPTIONS = util.set({"value", "else_"})

function M.case(whens, opts, more)
  if type(whens) == "table" and (whens._is_clause or (whens.__clause_element__ and whens[1] == nil)) then
    return M.simple_case(whens, opts, more)   -- qs.case(expr, {[value] = result}): sql/operators.lua
  end
  if type(whens) ~= "table" or #whens == 0 then
    exc.raise(exc.ArgumentError, "case: expected a list of {condition, value} pairs", nil, 2)
  end
  opts = util.check_options("case", opts, CASE_OPTIONS, 2)
  local value = opts.value ~= nil and coerce(opts.value) or nil
  local out, t = {}, nil
  for i, w in ipairs(whens) do
    if type(w) ~= "table" or w[1] == nil and w[2] == nil then
      exc.raise(exc.ArgumentError, "case: entry " .. i .. " is not a {condition, value} pair", nil, 2)
    end
    local cond = value and coerce(w[1], value) or condition(w[1], "case")
    local res = coerce(w[2])
    if t == nil and res.type and res.type ~= types.NullType then t = res.type end
    out[i] = {cond, res}
  end
  local else_ = opts.else_ ~= nil and coerce(opts.else_) or nil
  return setmetatable({whens = out, else_ = else_, value = value, type = t or types.NullType}, Case)
end

M.Case = Case

local FunctionElement = M.column_class("FunctionElement")
FunctionElement._k = K.FUNCTION
function FunctionElement:_from_objects() return list_froms(self.args) end
M.FunctionElement = FunctionElement

-- Return types of well-known functions ("same" = the first argument's).
local RETURNS = {row_number = types.Integer, rank = types.Integer, dense_rank = types.Integer,
  ntile = types.Integer, lag = "same", lead = "same", first_value = "same", last_value = "same",
  count = types.Integer, length = types.Integer, char_length = types.Integer,
  max = "same", min = "same", sum = "same", abs = "same", coalesce = "same", round = "same",
  avg = types.Numeric, lower = types.String, upper = types.String, trim = types.String,
  substr = types.String, replace = types.String, concat = types.String,
  now = types.DateTime, current_timestamp = types.DateTime, current_date = types.Date,
  current_time = types.Time, localtimestamp = types.DateTime, random = types.Float,
  json_extract = types.NullType}
-- Others add theirs (a function of the arguments: sql/pg_ops.lua's array_agg).
M.RETURNS = RETURNS

local function_options   -- defined below

local function make_function(name, ...)
  local args = {}
  local n = select("#", ...)
  local opts = n > 0 and function_options(name, (select(n, ...)))
  if opts then n = n - 1 end
  for i = 1, n do args[i] = coerce((select(i, ...))) end
  local base = name:match("([^.]+)$"):lower()
  local rt = RETURNS[base]
  if rt == "same" then rt = args[1] and args[1].type or types.NullType end
  if type(rt) == "function" then rt = rt(args) end
  if opts and opts.type_ ~= nil then rt = types.to_instance(opts.type_) end
  return setmetatable({name = name, args = args, type = rt or types.NullType}, FunctionElement)
end

-- qs.func.x(a, b, {type_ = T}): a last argument that is a plain table with
-- type_ is the options (SQLAlchemy's type_=): the result converts as T.
local FUNC_OPTIONS = util.set({"type_"})
function_options = function(name, last)
  if type(last) ~= "table" or getmetatable(last) ~= nil or last[1] ~= nil then return nil end
  if last.type_ == nil then
    if type(last.type) == "table" and last.type._is_type then
      exc.raise(exc.ArgumentError, "func." .. name .. ": the return type option is type_ (not type)", nil, 4)
    end
    return nil
  end
  util.check_options("func." .. name, last, FUNC_OPTIONS, 4)
  return last
end

-- window functions ---------------------------------------------------------------------------

local Over = M.column_class("Over")
Over._k = K.OVER
function Over:_from_objects()
  local out, seen = {}, {}
  from_objects(self.element, out, seen)
  for _, e in ipairs(self.partition_by or {}) do from_objects(e, out, seen) end
  for _, e in ipairs(self.order_by or {}) do from_objects(e, out, seen) end
  return out
end

--- qs.unbounded: an open end of a window frame.
M.unbounded = setmetatable({}, {__tostring = function() return "unbounded" end})

local function frame_bound(v, lower)
  if v == M.unbounded or v == nil then return lower and "UNBOUNDED PRECEDING" or "UNBOUNDED FOLLOWING" end
  if type(v) ~= "number" or (mtype and mtype(v) ~= "integer") or v ~= math.floor(v) then
    exc.raise(exc.ArgumentError, "over: frame bounds are integers or qs.unbounded", nil, 4)
  end
  if v == 0 then return "CURRENT ROW" end
  if v < 0 then return string.format("%d PRECEDING", -v) end
  return string.format("%d FOLLOWING", v)
end

local function expr_list(v, what)
  if v == nil then return nil end
  if type(v) ~= "table" or v._is_clause then v = {v} end
  local out = {}
  for i, e in ipairs(v) do
    if not is_element(e) then
      exc.raise(exc.ArgumentError, "over: " .. what .. " takes columns or expressions", nil, 4)
    end
    out[i] = e
  end
  return out
end

--- fn OVER (PARTITION BY ... ORDER BY ... ROWS/RANGE BETWEEN ...): opts
--- partition_by, order_by (an expression or a list), rows or range = {lower,
--- upper} where a negative n is n PRECEDING, 0 CURRENT ROW, a positive n n
--- FOLLOWING and qs.unbounded an open end.
local OVER_OPTIONS = util.set({"partition_by", "order_by", "rows", "range"})

function ColumnElement:over(opts)
  opts = util.check_options("over", opts, OVER_OPTIONS, 2)
  local o = setmetatable({element = self, type = self.type,
    partition_by = expr_list(opts.partition_by, "partition_by"),
    order_by = expr_list(opts.order_by, "order_by")}, Over)
  local frame = opts.rows and "ROWS" or opts.range and "RANGE"
  if opts.rows and opts.range then
    exc.raise(exc.ArgumentError, "over: give rows or range, not both", nil, 2)
  end
  if frame then
    local f = opts.rows or opts.range
    if type(f) ~= "table" then exc.raise(exc.ArgumentError, "over: a frame is {lower, upper}", nil, 2) end
    o.frame, o.lower, o.upper = frame, frame_bound(f[1], true), frame_bound(f[2], false)
  end
  return o
end

-- qs.func.name(...) / qs.func.pkg.name(...): generators made on access.
local function generator(name)
  return setmetatable({}, {
    __call = function(_, ...) return make_function(name, ...) end,
    __index = function(_, sub) return generator(name .. "." .. sub) end,
  })
end
M.func = setmetatable({}, {__index = function(_, name)
  if type(name) ~= "string" then return nil end
  return generator(name)
end})

---------------------------------------------------------------------------------------------
-- textual SQL
---------------------------------------------------------------------------------------------

---@class quicksilver.TextClause: quicksilver.ClauseElement
---@field text string the SQL as written, with :name binds
local TextClause = M.column_class("TextClause")
TextClause._k = K.TEXT
TextClause._executable = true
TextClause.__tostring = function(self) return self.text end
function TextClause:_from_objects() return {} end
M.TextClause = TextClause

--- Textual SQL with named binds (`:name`); `\:` is a literal colon.
---@param sql string
---@return quicksilver.TextClause
function M.text(sql)
  if type(sql) ~= "string" then
    exc.raise(exc.ArgumentError, "text: SQL must be a string, got " .. type(sql), nil, 2)
  end
  return setmetatable({text = sql, type = types.NullType}, TextClause)
end

--- A new TextClause with values bound to some of its names (used when the
--- execute parameters do not give them), and types: `bindparams({k = v})`,
--- or bind parameters `bindparams(qs.bindparam("k", v, {type = qs.Integer}), ...)`
--- (also as values of the table). A typed name converts and checks its
--- value as a column of that type does, and tells PostgreSQL its type.
---@param values table<string, any>|quicksilver.BindParameter
---@return quicksilver.TextClause
function TextClause:bindparams(values, ...)
  if type(values) ~= "table" then
    exc.raise(exc.ArgumentError, "TextClause:bindparams: expected a table of name = value or bindparam()s", nil, 2)
  end
  local defaults, typed = util.merge(self._defaults, nil), util.merge(self._types, nil)
  local function add(name, v)
    if type(v) == "table" and v._k == K.BIND then
      if type(name) ~= "string" then name = v.key end
      if v.value ~= nil then defaults[name] = v.value end
      if v.type and v.type ~= types.NullType then typed[name] = v.type end
    elseif type(name) == "string" then
      defaults[name] = v
    else
      exc.raise(exc.ArgumentError, "TextClause:bindparams: expected name = value or bindparam(), got " ..
        util.repr(v, 40), nil, 4)
    end
  end
  for i = 1, select("#", values, ...) do
    local arg = select(i, values, ...)
    if type(arg) == "table" and arg._k == K.BIND then
      add(nil, arg)
    elseif type(arg) == "table" and not arg._is_clause then
      for name, v in pairs(arg) do add(name, v) end
    else
      exc.raise(exc.ArgumentError, "TextClause:bindparams: expected a table of name = value or bindparam()s, got " ..
        util.repr(arg, 40), nil, 2)
    end
  end
  return setmetatable({text = self.text, type = self.type, _columns = self._columns,
    _column_list = self._column_list,
    _defaults = next(defaults) and defaults or nil, _types = next(typed) and typed or nil}, TextClause)
end

--- Types the result columns: `text(sql):columns(qs.column("id", qs.Integer), ...)`
--- or `:columns({id = qs.Integer})`; rows then come back converted.
function TextClause:columns(...)
  local cols, list = {}, {}   -- list: in order, for text():subquery()'s .c
  local first = ...
  if type(first) == "table" and not first._is_clause and select("#", ...) == 1 then
    for name, t in pairs(first) do cols[name] = types.to_instance(t) end
  else
    for i = 1, select("#", ...) do
      local c = select(i, ...)
      if type(c) == "string" then cols[c] = types.NullType
      elseif is_element(c) and c.name then cols[c.name] = c.type
      else exc.raise(exc.ArgumentError, "TextClause:columns: expected columns or names", nil, 2) end
      local name = type(c) == "string" and c or c.name
      list[#list + 1] = {name = name, key = name, type = cols[name]}
    end
  end
  return setmetatable({text = self.text, type = self.type, _defaults = self._defaults,
    _types = self._types, _columns = cols, _column_list = list[1] and list or nil}, TextClause)
end

M.ColumnElement.__tostring = render
-- op(), regexps, collate, IS DISTINCT FROM, the simple CASE, FILTER, WITHIN GROUP
require("quicksilver.sql.operators").install(M)
return M
