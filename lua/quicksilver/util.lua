--- util.lua: small helpers shared by every layer (no quicksilver requires here).
local M = {}

local type, pairs, tostring, select, pcall, error = type, pairs, tostring, select, pcall, error
local getmetatable, rawget, setmetatable = getmetatable, rawget, setmetatable
local concat, sort, format = table.concat, table.sort, string.format

local unpack = table.unpack or unpack   -- luacheck: ignore (5.1)
M.unpack = unpack

--- Packs varargs with their count, so trailing nils survive.
---@return table
function M.pack(...)
  return {n = select("#", ...), ...}
end

--- A class table whose instances look methods up in it; `parent` methods are
--- inherited. `Class.new` is left to each class.
---@param name string
---@param parent? table
---@return table
function M.class(name, parent)
  local cls = {}
  cls.__index = cls
  cls.__name = name
  if parent then setmetatable(cls, {__index = parent}) end
  return cls
end

-- Per-object caches that a copy must not inherit: a statement derived from
-- a compiled one is another statement.
local NOT_COPIED = {_compiled = true, _implicit_returning = true}

--- Shallow copy of a table (nil gives an empty table), without the
--- per-object compile caches of statements.
---@param t table|nil
---@return table
function M.copy(t)
  local r = {}
  if t then
    for k, v in pairs(t) do
      if not NOT_COPIED[k] then r[k] = v end
    end
  end
  return r
end

--- A new table with b's entries laid over a's.
---@param a table|nil
---@param b table|nil
---@return table
function M.merge(a, b)
  local r = M.copy(a)
  if b then for k, v in pairs(b) do r[k] = v end end
  return r
end

local function repr(v, seen, depth)
  local t = type(v)
  if t == "string" then return format("%q", v) end
  if t ~= "table" then return tostring(v) end
  local mt = getmetatable(v)
  if mt and rawget(mt, "__tostring") then
    local ok, s = pcall(tostring, v)
    return ok and s or "<table>"
  end
  if seen[v] then return "<cycle>" end
  if depth > 3 then return "{...}" end
  seen[v] = true
  local parts, keys, n = {}, {}, 0
  for k in pairs(v) do n = n + 1; keys[n] = k end
  sort(keys, function(x, y)
    local tx, ty = type(x), type(y)
    if tx ~= ty then return tx < ty end
    if tx == "number" or tx == "string" then return x < y end
    return tostring(x) < tostring(y)
  end)
  for i = 1, n do
    local k = keys[i]
    local kv = repr(v[k], seen, depth + 1)
    if type(k) == "number" and k == i then parts[i] = kv
    elseif type(k) == "string" and k:match("^[%a_][%w_]*$") then parts[i] = k .. " = " .. kv
    else parts[i] = "[" .. repr(k, seen, depth + 1) .. "] = " .. kv end
  end
  seen[v] = nil
  return "{" .. concat(parts, ", ") .. "}"
end

--- A readable, bounded rendering of any value (parameters in logs and errors).
--- Never raises: userdata, functions and cycles render as names.
---@param v any
---@param limit? integer maximum length (default 300)
---@return string
function M.repr(v, limit)
  local ok, s = pcall(repr, v, {}, 0)
  if not ok then s = "<unprintable " .. type(v) .. ">" end
  limit = limit or 300
  if #s > limit then s = s:sub(1, limit) .. " ..." end
  return s
end

--- Calls fn(...) in a scope: on_ok(...) after it returns, on_err(err) when
--- it raises, then re-raises that same error object. Returns fn's results.
---@param fn function
---@param on_ok fun()
---@param on_err fun(err:any)
function M.scoped(fn, on_ok, on_err, ...)
  local r = M.pack(pcall(fn, ...))
  if not r[1] then
    on_err(r[2])
    error(r[2], 0)
  end
  on_ok()
  return unpack(r, 2, r.n)
end

return M
