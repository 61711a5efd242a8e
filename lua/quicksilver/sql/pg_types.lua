--- sql/pg_types.lua: PostgreSQL's ARRAY and JSONB types (SQLAlchemy's
--- dialects/postgresql/array.py and json.py).
---
--- ARRAY(T) values are Lua sequences of T's Lua values, nested for more
--- dimensions; NULL members are qs.null (nil in a table would end the
--- sequence). They travel as PostgreSQL's array text, written and read here
--- so that both PostgreSQL drivers (libpq and the wire driver) give the same
--- values: every member quoted on the way in (commas, quotes, backslashes,
--- braces, "NULL" and empty strings need no special case), the server's
--- output form parsed on the way out (quoted or bare members, NULL,
--- bounds decorations such as "[0:1]={...}").
---
--- JSONB is JSON stored decomposed: the same Lua values as qs.JSON (encoded
--- and decoded in C), its own DDL name and operators (sql/pg_ops.lua).
local core = require("quicksilver.core")
local elements = require("quicksilver.sql.elements")
local exc = require("quicksilver.exc")
local types = require("quicksilver.sql.types")
local util = require("quicksilver.util")

local M = {}

local type, tostring, setmetatable, format, concat = type, tostring, setmetatable, string.format, table.concat
local byte, sub, find, gsub = string.byte, string.sub, string.find, string.gsub
local mtype = math.type
local tointeger = math.tointeger or function(x)
  if x == math.floor(x) then return x end
  return nil
end
local CHECK, RESULT = core.type_checks, core.result_codes
local null = elements.null
local json_encode, json_decode = core.json_encode, core.json_decode

-- A type class as sql/types.lua makes them: the class is its default
-- instance, calling it builds one with arguments.
local function define(name, t, fields)
  local cls = util.class(name, types.TypeEngine)
  cls.name = name
  cls._t = t
  cls.__tostring = types.TypeEngine.__tostring
  for k, v in pairs(fields) do cls[k] = v end
  setmetatable(cls, {__index = types.TypeEngine, __call = function(c, ...)
    local inst = setmetatable({}, c)
    if inst._init then inst:_init(...) end
    return inst
  end, __tostring = function(c) return c.name end})
  cls.__index = cls
  return cls
end

---------------------------------------------------------------------------------------------
-- JSONB
---------------------------------------------------------------------------------------------

--- qs.JSONB: a JSON document stored as PostgreSQL's jsonb.
M.JSONB = define("JSONB", "JSONB", {_check = CHECK.json, _result = RESULT.json, _affinity = "json",
  _jsonb = true})

---------------------------------------------------------------------------------------------
-- ARRAY values: Lua -> array text
---------------------------------------------------------------------------------------------

-- The number of members of a sequence: `n` when given (a list holding nil),
-- else the largest integer key; any other key is refused.
local function seq_len(v, what)
  local n = 0
  for k in pairs(v) do
    if type(k) == "number" and k >= 1 and k == math.floor(k) then
      if k > n then n = k end
    elseif k ~= "n" then
      exc.raise(exc.ArgumentError, format("%s: a Lua sequence has no key %s", what, util.repr(k, 30)), nil, 0)
    end
  end
  local given = rawget(v, "n")
  if given ~= nil then
    if type(given) ~= "number" or given < n then
      exc.raise(exc.ArgumentError, what .. ": n must be a number at least the sequence's length", nil, 0)
    end
    n = given
  end
  return n
end

-- One member as array text: quoted, with '"' and '\' escaped.
local function quote(s)
  return '"' .. gsub(s, '[\\"]', "\\%0") .. '"'
end

local function float_text(x)
  if x ~= x then return "NaN" end
  if x == math.huge then return "Infinity" end
  if x == -math.huge then return "-Infinity" end
  return format("%.17g", x)
end

-- Whether x is written as an integer ("%d"): Lua 5.4's integers, and
-- whole floats in the range a double holds exactly (1e300 and math.huge
-- are floats, whatever math.floor says).
local function is_integer(x)
  if mtype and mtype(x) == "integer" then return true end
  return x == math.floor(x) and x > -2^53 and x < 2^53
end

-- The text of one (non-NULL) member, after the element type's converter.
local function member_text(self, x, where)
  local it = self.item_type
  local b = it._bind
  if b then
    x = b(x)
    if x == nil or x == null then return "NULL" end
  end
  local check, tx = it._check, type(x)
  if check == CHECK.json then
    return quote(json_encode(x))
  end
  if tx == "table" then
    exc.raise(exc.ArgumentError, format("%s: member %s is a table (give dimensions = n for nested arrays)",
      tostring(self), where), nil, 0)
  end
  if check == CHECK.integer then
    if tx ~= "number" or not is_integer(x) then
      exc.raise(exc.ArgumentError, format("%s: member %s must be an integer, got %s", tostring(self), where,
        util.repr(x, 30)), nil, 0)
    end
    return format("%d", x)
  elseif check == CHECK.number or check == CHECK.decimal then
    if tx == "number" then return is_integer(x) and format("%d", x) or float_text(x) end
    if check == CHECK.decimal and tx == "string" and find(x, "^%s*[-+]?%d*%.?%d*[eE]?[-+]?%d*%s*$") then
      return quote(x)
    end
    exc.raise(exc.ArgumentError, format("%s: member %s must be a number, got %s", tostring(self), where,
      util.repr(x, 30)), nil, 0)
  elseif check == CHECK.boolean then
    if tx ~= "boolean" then
      exc.raise(exc.ArgumentError, format("%s: member %s must be a boolean, got %s", tostring(self), where,
        util.repr(x, 30)), nil, 0)
    end
    return x and "t" or "f"
  elseif check == CHECK.bytes then
    if tx ~= "string" then
      exc.raise(exc.ArgumentError, format("%s: member %s must be a string of bytes, got %s", tostring(self),
        where, util.repr(x, 30)), nil, 0)
    end
    return quote("\\x" .. gsub(x, ".", function(c) return format("%02x", byte(c)) end))
  end
  if tx == "string" then return quote(x) end
  if tx == "number" then return is_integer(x) and format("%d", x) or float_text(x) end
  if tx == "boolean" then return x and "t" or "f" end
  exc.raise(exc.ArgumentError, format("%s: member %s cannot be a %s", tostring(self), where, tx), nil, 0)
end

local function encode(self, v, depth, out, path)
  local what = tostring(self)
  if type(v) ~= "table" or v._is_clause then
    exc.raise(exc.ArgumentError, format("%s value%s must be a Lua sequence, got %s", what,
      path == "" and "" or " at " .. path, util.repr(v, 30)), nil, 0)
  end
  local n = seq_len(v, what)
  out[#out + 1] = "{"
  for i = 1, n do
    if i > 1 then out[#out + 1] = "," end
    local x = v[i]
    local where = path == "" and tostring(i) or (path .. "," .. i)
    if x == nil or x == null then
      out[#out + 1] = "NULL"
    elseif depth < self.dimensions then
      encode(self, x, depth + 1, out, where)
    else
      out[#out + 1] = member_text(self, x, where)
    end
  end
  out[#out + 1] = "}"
end

--- The array text of a Lua sequence (what is bound).
---@param v table
---@return string
function M.array_text(arr_type, v)
  local out = {}
  encode(arr_type, v, 1, out, "")
  return concat(out)
end

---------------------------------------------------------------------------------------------
-- ARRAY values: array text -> Lua
---------------------------------------------------------------------------------------------

local function hex_bytes(s)
  if sub(s, 1, 2) ~= "\\x" then return s end
  return (gsub(sub(s, 3), "%x%x", function(h) return string.char(tonumber(h, 16)) end))
end

local FLOATS = {Infinity = math.huge, ["-Infinity"] = -math.huge, NaN = 0 / 0}

-- The converter of one member's text, by the element type.
local function member_reader(it)
  local r, check = it._result, it._check
  if type(r) == "function" then return r end
  if r == RESULT.integer or check == CHECK.integer then
    return function(s) local x = tonumber(s); return x and tointeger(x) or x end
  elseif r == RESULT.float or r == RESULT.number then
    return function(s) return tonumber(s) or FLOATS[s] end
  elseif r == RESULT.boolean then
    return function(s) return s == "t" or s == "true" end
  elseif r == RESULT.json then
    return json_decode
  elseif check == CHECK.bytes then
    return hex_bytes
  end
  return nil   -- text as it is (strings, decimals, dates, UUIDs)
end

local OPEN, CLOSE, COMMA, QUOTE, BACKSLASH = byte("{"), byte("}"), byte(","), byte('"'), byte("\\")
local SPACE = {[byte(" ")] = true, [byte("\t")] = true, [byte("\n")] = true, [byte("\r")] = true}

local function bad(s)
  exc.raise(exc.DataError, "malformed array text from the database: " .. util.repr(s, 60), nil, 0)
end

-- Parses the array at position i of s (a '{'); returns the Lua table and
-- the position after its '}'.
local function parse(s, i, read)
  if byte(s, i) ~= OPEN then bad(s) end
  i = i + 1
  local out, n = {}, 0
  while true do
    local c = byte(s, i)
    while c and SPACE[c] do i = i + 1; c = byte(s, i) end
    if c == CLOSE and n == 0 then return out, i + 1 end
    local v
    if c == OPEN then
      v, i = parse(s, i, read)
    elseif c == QUOTE then
      local parts, j = {}, i + 1
      while true do
        local k = find(s, '[\\"]', j)
        if not k then bad(s) end
        parts[#parts + 1] = sub(s, j, k - 1)
        if byte(s, k) == BACKSLASH then
          parts[#parts + 1] = sub(s, k + 1, k + 1)
          j = k + 2
        else
          i = k + 1
          break
        end
      end
      v = concat(parts)
      if read then v = read(v) end
    elseif c == nil or c == COMMA or c == CLOSE then
      bad(s)
    else
      local k = find(s, "[,}]", i)
      if not k then bad(s) end
      local tok = gsub(sub(s, i, k - 1), "%s+$", "")
      i = k
      if tok == "NULL" or tok == "null" or tok == "Null" then v = null
      elseif find(tok, "\\", 1, true) then v = gsub(tok, "\\(.)", "%1")
      else v = tok end
      if v ~= null and read then v = read(v) end
    end
    n = n + 1
    out[n] = v
    c = byte(s, i)
    while c and SPACE[c] do i = i + 1; c = byte(s, i) end
    if c == CLOSE then return out, i + 1 end
    if c ~= COMMA then bad(s) end
    i = i + 1
  end
end

--- The Lua sequence of an array's text (members converted by the element
--- type; NULL members qs.null).
function M.parse_array(arr_type, s)
  if s == nil or s == null then return nil end
  if type(s) == "table" then return s end
  if type(s) ~= "string" then bad(tostring(s)) end
  local i = 1
  if byte(s, 1) == byte("[") then   -- bounds other than 1: "[0:2]={...}"
    i = find(s, "=", 1, true)
    if not i then bad(s) end
    i = i + 1
  end
  local v, j = parse(s, i, arr_type._reader)
  if j <= #s and find(s, "%S", j) then bad(s) end
  return v
end

---------------------------------------------------------------------------------------------
-- ARRAY
---------------------------------------------------------------------------------------------

---@class quicksilver.ARRAY: quicksilver.TypeEngine
---@field item_type quicksilver.TypeEngine
---@field dimensions integer
local ARRAY = define("ARRAY", "ARRAY", {_affinity = "array", dimensions = 1, _subscript = true})
M.ARRAY = ARRAY

local ARRAY_OPTIONS = util.set({"dimensions"})

--- qs.ARRAY(T, {dimensions = n}): a PostgreSQL array of T (DDL T[], or
--- T[][] for two dimensions).
function ARRAY:_init(item_type, opts)
  if item_type == nil then
    exc.raise(exc.ArgumentError, "ARRAY: give the element type, e.g. qs.ARRAY(qs.Integer)", nil, 4)
  end
  if type(item_type) ~= "table" or not item_type._is_type then
    exc.raise(exc.ArgumentError, "ARRAY: the element type must be a type such as qs.Integer, got " ..
      util.repr(item_type, 40), nil, 4)
  end
  if item_type._t == "ARRAY" then
    exc.raise(exc.ArgumentError, "ARRAY: an ARRAY of ARRAY is written ARRAY(T, {dimensions = 2})", nil, 4)
  end
  util.check_options("ARRAY", opts, ARRAY_OPTIONS, 4)
  local dims = opts and opts.dimensions or 1
  if type(dims) ~= "number" or dims < 1 or dims > 6 or dims ~= math.floor(dims) then
    exc.raise(exc.ArgumentError, "ARRAY: dimensions must be a whole number from 1 to 6", nil, 4)
  end
  self.item_type = item_type
  self.dimensions = dims
  self._reader = member_reader(item_type)
  local inst = self
  self._bind = function(v) return M.array_text(inst, v) end
  self._result = function(s) return M.parse_array(inst, s) end
end

function ARRAY:__repr()
  local it = rawget(self, "item_type")
  if not it then return "ARRAY" end
  if self.dimensions > 1 then return format("ARRAY(%s, {dimensions = %d})", tostring(it), self.dimensions) end
  return format("ARRAY(%s)", tostring(it))
end

-- The class itself is no array of anything: qs.ARRAY without arguments.
ARRAY._bind = function()
  exc.raise(exc.ArgumentError, "ARRAY: give the element type, e.g. qs.ARRAY(qs.Integer)", nil, 0)
end

-- The ARRAY types the expressions make themselves (any_ of a Lua list,
-- array(), array_agg, a member of a multi-dimensional array), one per
-- element type and dimensions: a type is part of a statement's cache key
-- by identity, so a new one per statement would miss the cache every time.
local made = setmetatable({}, {__mode = "k"})

--- ARRAY(item, {dimensions = dims}), the same object for the same arguments.
---@param item quicksilver.TypeEngine
---@param dims? integer
function M.array_of(item, dims)
  dims = dims or 1
  local per = made[item]
  if not per then per = {}; made[item] = per end
  local t = per[dims]
  if not t then
    t = ARRAY(item, {dimensions = dims})
    per[dims] = t
  end
  return t
end

--- The type of one element of an array of t (one dimension less).
---@param t quicksilver.ARRAY
function M.element_type(t)
  local d = t.dimensions - 1
  if d >= 1 then return M.array_of(t.item_type, d) end
  return t.item_type
end

return M
