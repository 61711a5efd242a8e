--- sql/types.lua: column types and their Lua values (SQLAlchemy's sql/sqltypes.py).
---
--- A type says three things: its DDL name per dialect (rendered in C from `_t`
--- and the size fields), how a Lua value is checked or converted on the way in
--- (`_check`, a code C applies without calling Lua, or `_bind`, a Lua function)
--- and how a database value comes back (`_result`: a C code or a Lua
--- function). The codes are C's (core.type_checks / core.result_codes).
local core = require("quicksilver.core")
local exc = require("quicksilver.exc")
local util = require("quicksilver.util")
local decimal = require("quicksilver.sql.decimal")

local M = {}

local type, tostring, setmetatable, format = type, tostring, setmetatable, string.format
local CHECK = core.type_checks
local RESULT = core.result_codes
local mtype = math.type

---@class quicksilver.TypeEngine
---@field _t string DDL kind for the C compiler
---@field name string
local TypeEngine = util.class("TypeEngine")
TypeEngine._is_type = true
TypeEngine._check = CHECK.none
TypeEngine.__tostring = function(self) return self:__repr() end
M.TypeEngine = TypeEngine

function TypeEngine:__repr()
  return self.name
end

--- The Lua value of a database value for this type (used where C does not).
function TypeEngine:result_value(v) return v end

--- Types are used as `qs.Integer` or `qs.Integer()`; calling a type builds an
--- instance with arguments.
local function define(name, t, parent, fields)
  local cls = util.class(name, parent or TypeEngine)
  cls.name = name
  cls._t = t
  cls.__tostring = TypeEngine.__tostring
  if fields then for k, v in pairs(fields) do cls[k] = v end end
  -- the class doubles as its default instance
  setmetatable(cls, {__index = parent or TypeEngine, __call = function(c, ...)
    local inst = setmetatable({}, c)
    if inst._init then inst:_init(...) end
    return inst
  end, __tostring = function(c) return c.name end})
  cls.__index = cls
  M[name] = cls
  return cls
end

-- Integers ----------------------------------------------------------------------------------
define("Integer", "INTEGER", nil, {_check = CHECK.integer, _affinity = "integer",
  _result = RESULT.integer})
define("BigInteger", "BIGINT", M.Integer)
define("SmallInteger", "SMALLINT", M.Integer)

-- Numbers ------------------------------------------------------------------------------------
define("Float", "FLOAT", nil, {_check = CHECK.number, _result = RESULT.float, _affinity = "numeric"})
function M.Float:_init(precision) self.precision = precision end

local NUMERIC_OPTIONS = util.set({"asdecimal"})
local DATETIME_OPTIONS = util.set({"timezone"})
local ENUM_OPTIONS = util.set({"name", "schema", "native_enum"})
local DECORATOR_OPTIONS = util.set({"process_bind_param", "process_result_value", "name"})
local STRING_OPTIONS = util.set({"collation"})

-- Numeric: exact decimals both ways (sql/decimal.lua); binds take decimals,
-- numbers and decimal strings. {asdecimal = false} reads floats instead;
-- {asdecimal = true} reads the exact text as a Lua string, as it did before
-- decimal values existed (programs call tonumber or string functions on it).
local Numeric = define("Numeric", "NUMERIC", nil, {_check = CHECK.decimal, _affinity = "numeric",
  _result = RESULT.decimal, asdecimal = true})
function Numeric:_init(precision, scale, opts)
  if type(precision) == "table" then opts, precision = precision, nil end
  if type(scale) == "table" then opts, scale = scale, nil end
  util.check_options("Numeric", opts, NUMERIC_OPTIONS, 3)
  self.precision, self.scale = precision, scale
  if opts and opts.asdecimal == false then
    self.asdecimal = false
    self._result = RESULT.number         -- a float
  elseif opts and opts.asdecimal then
    self._result = RESULT.decimal_text   -- the text, a string
  end
end
function Numeric:__repr()
  if self.precision then return format("Numeric(%s, %s)", self.precision, tostring(self.scale)) end
  return "Numeric"
end

-- Strings ------------------------------------------------------------------------------------
local String = define("String", "VARCHAR", nil, {_check = CHECK.string, _affinity = "string"})
function String:_init(length, opts)
  if type(length) == "table" then opts, length = length, nil end
  if length ~= nil and (mtype and mtype(length) ~= "integer" or length < 1) then
    exc.raise(exc.ArgumentError, "String(length): length must be a positive integer", nil, 3)
  end
  util.check_options("String", opts, STRING_OPTIONS, 3)
  self.length = length
  -- COLLATE in DDL and CAST (a name, quoted as an identifier when it needs it)
  if opts and opts.collation ~= nil and (type(opts.collation) ~= "string" or opts.collation == "") then
    exc.raise(exc.ArgumentError, "String: collation must be a collation name", nil, 3)
  end
  self.collation = opts and opts.collation
end
function String:__repr() return self.length and format("String(%d)", self.length) or "String" end
define("Text", "TEXT", String)
define("Unicode", "VARCHAR", String)
define("UnicodeText", "TEXT", String)

-- Boolean ------------------------------------------------------------------------------------
define("Boolean", "BOOLEAN", nil, {_check = CHECK.boolean, _result = RESULT.boolean,
  _affinity = "boolean"})

-- Dates and times: ISO-8601 strings both ways; binds also take os.date("*t")
-- tables (sql/datetime_values.lua checks and formats them).
local datetime_values = require("quicksilver.sql.datetime_values")
define("Date", "DATE", nil, {_bind = datetime_values.binder("Date"), _affinity = "date",
  _result = RESULT.text})
define("DateTime", "DATETIME", nil, {_bind = datetime_values.binder("DateTime"),
  _affinity = "datetime", _result = RESULT.text})
local DATETIME_TZ_BIND = datetime_values.binder("DateTime", true)
function M.DateTime:_init(opts)
  util.check_options("DateTime", opts, DATETIME_OPTIONS, 3)
  self.timezone = opts and opts.timezone or false
  if self.timezone then self._bind = DATETIME_TZ_BIND end   -- a UTC offset is kept
end
define("Time", "TIME", nil, {_bind = datetime_values.binder("Time"), _affinity = "time",
  _result = RESULT.text})

-- Interval: seconds (a number) in Lua.
define("Interval", "INTERVAL", nil, {_check = CHECK.number, _affinity = "interval",
  _result = RESULT.float})

-- Binary -------------------------------------------------------------------------------------
define("LargeBinary", "BLOB", nil, {_check = CHECK.bytes, _affinity = "binary"})
function M.LargeBinary:_init(length) self.length = length end

-- Enum: strings from a fixed list.
local Enum = define("Enum", "ENUM", nil, {_affinity = "string"})
function Enum:_init(...)
  local values, opts = {}, nil
  for i = 1, select("#", ...) do
    local v = select(i, ...)
    if type(v) == "table" then
      if v[1] ~= nil then for _, x in ipairs(v) do values[#values + 1] = x end else opts = v end
    else
      values[#values + 1] = v
    end
  end
  for _, v in ipairs(values) do
    if type(v) ~= "string" then
      exc.raise(exc.ArgumentError, "Enum: values must be strings", nil, 3)
    end
  end
  util.check_options("Enum", opts, ENUM_OPTIONS, 3)
  self.enums = values
  self.enum_name = opts and opts.name
  if opts and opts.native_enum ~= nil and type(opts.native_enum) ~= "boolean" then
    exc.raise(exc.ArgumentError, "Enum: native_enum must be a boolean", nil, 3)
  end
  if opts and opts.native_enum == false then
    -- SQLAlchemy's native_enum=False: a VARCHAR as long as the longest value
    -- everywhere (no CREATE TYPE, no MySQL ENUM); values still checked on bind
    self.native_enum = false
    self._t = "VARCHAR"
  elseif self.enum_name ~= nil then
    -- PostgreSQL's named type (CREATE TYPE ... AS ENUM, made with the table)
    self.enum_type = {_k = core.kinds.TABLE, name = self.enum_name, schema = opts.schema}
  end
  self.length = 0
  local allowed = {}
  for _, v in ipairs(values) do
    allowed[v] = true
    if #v > self.length then self.length = #v end
  end
  self._bind = function(v)
    if not allowed[v] then
      error(exc.ArgumentError(format("'%s' is not among the defined enum values (%s)", tostring(v),
        table.concat(values, ", "))), 0)
    end
    return v
  end
end
function Enum:__repr() return "Enum(" .. table.concat(self.enums or {}, ", ") .. ")" end

-- Uuid: the 36-character string.
define("Uuid", "UUID", nil, {_affinity = "uuid", _bind = function(v)
  if type(v) ~= "string" or not v:match("^%x%x%x%x%x%x%x%x%-%x%x%x%x%-%x%x%x%x%-%x%x%x%x%-%x%x%x%x%x%x%x%x%x%x%x%x$") then
    error(exc.ArgumentError("Uuid value must be a 36-character UUID string, got " .. tostring(v)), 0)
  end
  return v:lower()
end, _result = RESULT.text})

-- JSON: Lua tables, strings, numbers, booleans; encoded and decoded in C.
-- qs.json_null is JSON null inside a document; arrays come back marked
-- (qs.json_array) so that an empty array stays an array.
define("JSON", "JSON", nil, {_check = CHECK.json, _result = RESULT.json, _affinity = "json"})
M.json_null = setmetatable({}, {__tostring = function() return "json_null" end, __name = "json_null"})
M.json_array_mt = {__name = "json_array"}
--- Marks t as a JSON array (an empty table would otherwise be an object).
function M.json_array(t)
  return setmetatable(t or {}, M.json_array_mt)
end
core.set_json(M.json_null, M.json_array_mt)

-- NullType: unknown; values pass through.
define("NullType", "NULL", nil, {_affinity = "null"})

--- The type of a Lua value when nothing else says (literal binds).
---@return quicksilver.TypeEngine
function M.for_value(v)
  local t = type(v)
  if t == "number" then
    if mtype and mtype(v) == "integer" then return M.Integer end
    if not mtype and v == math.floor(v) then return M.Integer end
    return M.Float
  elseif t == "string" then return M.String
  elseif t == "boolean" then return M.Boolean
  elseif decimal.is_decimal(v) then return M.Numeric
  end
  return M.NullType
end

--- The type an arithmetic result has.
function M.arith_result(left, right, op)
  if op == "concat" then return M.String end
  local la, ra = left and left._affinity, right and right._affinity
  if la == "integer" and ra == "integer" and op ~= "truediv" then return M.Integer end
  if la == "integer" or la == "numeric" then
    if ra == "integer" or ra == "numeric" then return op == "truediv" and M.Numeric or M.Numeric end
  end
  return left or M.NullType
end

--- Resolves `qs.Integer` (a class) or `qs.String(5)` (an instance) or nil.
function M.to_instance(t)
  if t == nil then return M.NullType end
  if type(t) ~= "table" or not t._is_type then
    exc.raise(exc.ArgumentError, "expected a type such as qs.Integer, got " .. tostring(t), nil, 3)
  end
  return t
end

---------------------------------------------------------------------------------------------
-- TypeDecorator: a custom type over an implementation type, converting in Lua.
---------------------------------------------------------------------------------------------

---@class quicksilver.TypeDecorator: quicksilver.TypeEngine
local TypeDecorator = util.class("TypeDecorator", TypeEngine)
TypeDecorator.__tostring = TypeEngine.__tostring
M.TypeDecorator = TypeDecorator

--- qs.TypeDecorator(impl, {process_bind_param = fn(value), process_result_value = fn(value),
--- name = "MyType"}) -> a type whose values pass through the functions.
function M.type_decorator(impl, opts)
  impl = M.to_instance(impl)
  opts = util.check_options("TypeDecorator", opts, DECORATOR_OPTIONS, 2)
  local t = setmetatable({impl = impl, name = opts.name or ("TypeDecorator(" .. impl.name .. ")"),
    _t = impl._t, length = impl.length, precision = impl.precision, scale = impl.scale,
    enums = impl.enums, _affinity = impl._affinity}, TypeDecorator)
  -- ARRAY / JSONB (sql/pg_types.lua): the element type and the operators' hooks
  t.item_type, t.dimensions, t._contains, t._subscript, t._jsonb =
    impl.item_type, impl.dimensions, impl._contains, impl._subscript, impl._jsonb
  local pb, pr = opts.process_bind_param, opts.process_result_value
  local ibind, icheck = impl._bind, impl._check
  if pb or ibind then
    t._bind = function(v)
      if pb then v = pb(v) end
      if v == nil then return nil end
      if ibind then v = ibind(v) end
      return v
    end
  else
    t._check = icheck
  end
  local ires = impl._result
  if pr then
    if type(ires) == "function" then
      t._result = function(v) return pr(ires(v)) end
    elseif ires and ires ~= RESULT.none and ires ~= RESULT.text then
      -- C conversions first, then the decorator: a Lua wrapper does both
      local conv = M.result_function(impl)
      t._result = function(v) return pr(conv(v)) end
    else
      t._result = pr
    end
  else
    t._result = ires
  end
  return t
end

--- A Lua function doing what C's result code does (for wrappers).
function M.result_function(t)
  local r = t._result
  if type(r) == "function" then return r end
  if r == RESULT.boolean then
    return function(v) if v == nil then return nil end return v ~= 0 and v ~= false end
  elseif r == RESULT.float or r == RESULT.number then
    return function(v) return v ~= nil and tonumber(v) or nil end
  elseif r == RESULT.decimal_text then
    return function(v)
      if v == nil or type(v) == "string" then return v end
      if mtype and mtype(v) == "integer" then return format("%d", v) end
      if type(v) == "number" then return format("%.15g", v) end
      return tostring(v)
    end
  elseif r == RESULT.decimal then
    return function(v)
      if v == nil or decimal.is_decimal(v) then return v end
      if mtype and mtype(v) == "integer" then return decimal.from_text(format("%d", v)) end
      if type(v) == "number" then return decimal.from_text(format("%.15g", v)) end   -- as C
      return decimal.from_text(tostring(v))
    end
  end
  return function(v) return v end
end

setmetatable(TypeDecorator, {__index = TypeEngine, __call = function(_, impl, opts)
  return M.type_decorator(impl, opts)
end})

return M
