--- orm/identity.lua: identity keys and a session's identity maps
--- (SQLAlchemy's orm/identity.py). A session holds one weak-valued map per
--- base mapper (`session._imaps[base_mapper]`), keyed by the primary-key
--- value itself, so loading a row or flushing an object builds no string:
---   one key column  the value as it is: Lua tables key 1 and 1.0 (and -0.0
---                   and 0) as one, any other two numbers as two, strings as
---                   themselves (per mapper: "1" and 1 stay apart); NaN (no
---                   table key) is the NAN sentinel, any other type (a
---                   boolean, a userdata value) "\0" .. type .. ":" .. tostring
---   composite keys  one string of the parts as keypart writes them, joined
---                   by "\0" (made by one concatenation). Nested per-column
---                   maps look up 7-10x faster (no string), but st.key must
---                   stay one value that compares equal for equal keys (the
---                   flush's rekey test, identity_key's callers), which for a
---                   composite is this string anyway; and a flat map keeps the
---                   weak entries exact (nested maps leave empty inner tables
---                   behind as objects go). Composite keys are the rarer case.
--- c/orm/load.c keys numbers (not NaN) and strings the same way; every
--- other key is made here. `st.key` is this key: nil means not persistent.
--- The process-wide string form (`orm.inspect(obj).key`, the entries of
--- `session.identity_map`) is made only when asked for (global_key).
local M = {}

local is_decimal = require("quicksilver.sql.decimal").is_decimal

local type, tostring, format, floor, setmetatable, pairs, rawequal, byte, sub =
  type, tostring, string.format, math.floor, setmetatable, pairs, rawequal, string.byte, string.sub
local math_type = math.type   -- Lua 5.3+; LuaJIT's numbers are all floats

-- 2^63: integral numbers in [-2^63, 2^63) are written as their digits
local TWO_63 = 9223372036854775808.0

--- The key of a NaN primary-key value (NaN cannot index a table; every NaN
--- is one key, as databases that take NaN in a key compare them equal).
M.NAN = setmetatable({}, {__tostring = function() return "NaN key" end})
local NAN = M.NAN

-- A Numeric key's decimal (sql/decimal.lua) as the digits that stand for its
-- value: the database's text without trailing fractional zeros, so "10.40"
-- read back and qs.Decimal("10.4") given to get() are one key.
local function decimal_text(v)
  local s = tostring(v)
  if s:find(".", 1, true) and not s:find("[eE]") then s = s:gsub("0+$", ""):gsub("%.$", "") end
  if s == "-0" then s = "0" end
  return s
end

--- One primary-key value as text (a composite key's part, the string form):
--- numbers of integral value print the same whether integer or float,
--- strings are marked so "1" and 1 differ.
local function keypart(v)
  local t = type(v)
  if t == "number" then
    -- an integral value in the 64-bit range is its digits, an integer or a
    -- float alike (1.0 and 1 are one key; a key beyond 2^53 is exact); any
    -- other number its exact spelling (%.17g: two floats, two keys).
    if v == floor(v) and v >= -TWO_63 and v < TWO_63 then
      return format("%d", v)
    end
    return "f" .. format("%.17g", v)
  elseif t == "string" then
    return "s" .. v
  end
  if is_decimal(v) then return "decimal:" .. decimal_text(v) end
  return t .. ":" .. tostring(v)
end
M.keypart = keypart

--- The map key of one primary-key value (nil for nil).
local function value_key(v)
  local t = type(v)
  if t == "number" then
    if v ~= v then return NAN end
    return v
  elseif t == "string" or v == nil then
    return v
  end
  if is_decimal(v) then return "\0decimal:" .. decimal_text(v) end
  return "\0" .. t .. ":" .. tostring(v)
end
M.value_key = value_key

-- A composite key's part as keypart writes it, as a marker and a value
-- that concatenate to it: an integer concatenates as its digits and a
-- string after its "s" without format() or a string of their own, so the
-- key is made by one concatenation.
local function part(v)
  local t = type(v)
  if t == "string" then return "s", v end
  if math_type and math_type(v) == "integer" then return "", v end
  if v == nil then return nil, nil end
  return "", keypart(v)
end

--- The key of a row of mapper's hierarchy with these primary-key values (a
--- list in primary-key order, n of them) in its base mapper's map; nil when
--- one of them is nil.
function M.key(mapper, values, n)
  if n == 1 then return value_key(values[1]) end
  local ma, a = part(values[1])
  local mb, b = part(values[2])
  if ma == nil or mb == nil then return nil end
  local key = ma .. a .. "\0" .. mb .. b
  for i = 3, n do
    local m, v = part(values[i])
    if m == nil then return nil end
    key = key .. "\0" .. m .. v
  end
  return key
end

--- The process-wide string form of key for mapper's hierarchy (the base
--- mapper's prefix, then the parts): distinct across mappers.
function M.global_key(mapper, key)
  if key == nil then return nil end
  local base = mapper.base_mapper
  if #base.pk_keys > 1 then return base.key_prefix .. "\0" .. key end
  if key == NAN then return base.key_prefix .. "fnan" end
  if type(key) == "string" and byte(key, 1) == 0 then return base.key_prefix .. sub(key, 2) end
  return base.key_prefix .. keypart(key)
end

local WEAK = {__mode = "v"}

--- The session's map for mapper's hierarchy, made when missing.
local function map_of(session, mapper)
  local base = mapper.base_mapper
  local maps = session._imaps
  local t = maps[base]
  if t == nil then
    t = setmetatable({}, WEAK)
    maps[base] = t
  end
  return t
end
M.map = map_of

--- The object with key in mapper's hierarchy, or nil.
function M.get(session, mapper, key)
  local t = session._imaps[mapper.base_mapper]
  if t == nil or key == nil then return nil end
  return t[key]
end

--- Enters st's object under st.key.
function M.put(session, st)
  map_of(session, st.mapper)[st.key] = st.obj
end

--- Takes st's object out of the map (when it is the one under st.key).
function M.remove(session, st)
  local key = st.key
  if key == nil then return end
  local t = session._imaps[st.mapper.base_mapper]
  if t ~= nil and rawequal(t[key], st.obj) then t[key] = nil end
end

--- Calls fn(obj) for every object in the session's maps.
function M.each(session, fn)
  for _, t in pairs(session._imaps) do
    for _, obj in pairs(t) do fn(obj) end
  end
end

--- The session's objects by their string keys (`session.identity_map`): a
--- weak table made on read, one entry per object.
function M.snapshot(session)
  local out = setmetatable({}, WEAK)
  for base, t in pairs(session._imaps) do
    for key, obj in pairs(t) do out[M.global_key(base, key)] = obj end
  end
  return out
end

return M
