--- util.lua: small helpers shared by every layer. Requires only the C core
--- and exc (which requires nothing).
local core = require("quicksilver.core")
local exc = require("quicksilver.exc")

local M = {}

local type, pairs, ipairs, tostring, select, pcall, error = type, pairs, ipairs, tostring, select, pcall, error
local setmetatable = setmetatable
local concat, sort, format = table.concat, table.sort, string.format

local unpack = table.unpack or unpack   -- luacheck: ignore (5.1)
M.unpack = unpack

-- The option prefixes of the dialects C knows (postgresql_where, mysql_length, ...).
local DIALECT_PREFIXES = {}
for _, name in ipairs(core.dialect_names()) do DIALECT_PREFIXES[name] = true end

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

--- A readable, bounded rendering of any value (arguments in error messages,
--- parameters in logs). Never raises: userdata, functions and cycles render
--- as names. The one renderer is exc.render_value (errors show their
--- parameters with it); this is it under the name the layers above use.
---@param v any
---@param limit? integer maximum length (default 300)
---@return string
M.repr = exc.render_value


--- Refuses an option the code would otherwise ignore: the first key of opts
--- (by name) that known (a set: {key = true}) does not hold raises
--- ArgumentError "<what>: unknown option 'key'". A dialect-prefixed key
--- (postgresql_*, mysql_*, mariadb_*, sqlite_*) names the ones of that
--- dialect the place takes. nil opts pass (as {}); opts that are not a table
--- are refused. level: as error()'s, from the caller's point of view.
---@param what string the function or object the options are for
---@param opts table|nil
---@param known table<string, boolean>
---@param level? integer
---@return table opts
function M.check_options(what, opts, known, level)
  if opts == nil then return {} end
  level = (level or 2) + 1
  if type(opts) ~= "table" then
    exc.raise(exc.ArgumentError, format("%s: options must be a table, got %s", what, type(opts)), nil, level)
  end
  local bad
  for k in pairs(opts) do
    if not known[k] and (bad == nil or tostring(k) < tostring(bad)) then bad = k end
  end
  if bad == nil then return opts end
  local msg = format("%s: unknown option '%s'", what, tostring(bad))
  local prefix = type(bad) == "string" and bad:match("^(%l+)_")
  if prefix and DIALECT_PREFIXES[prefix] then
    local same = {}
    for k in pairs(known) do
      if type(k) == "string" and k:sub(1, #prefix + 1) == prefix .. "_" then same[#same + 1] = k end
    end
    sort(same)
    msg = msg .. (#same > 0 and format(" (its %s options: %s)", prefix, concat(same, ", ")) or
      format(" (it takes no %s options)", prefix))
  end
  exc.raise(exc.ArgumentError, msg, nil, level)
end

--- A set from a list of names: {"a", "b"} -> {a = true, b = true}.
---@param list string[]
---@return table<string, boolean>
function M.set(list)
  local s = {}
  for _, k in ipairs(list) do s[k] = true end
  return s
end

--- The set of a table's keys: {a = 1, b = 2} -> {a = true, b = true}.
---@param t table
---@return table<any, boolean>
function M.keyset(t)
  local s = {}
  for k in pairs(t) do s[k] = true end
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

--- Edit distance (insertions, deletions, substitutions, and a swap of two
--- neighbours counting one) between strings a and b; stops counting at
--- limit + 1.
local function distance(a, b, limit)
  local la, lb = #a, #b
  if la - lb > limit or lb - la > limit then return limit + 1 end
  local prev2, prev, cur = {}, {}, {}
  for j = 0, lb do prev[j] = j end
  for i = 1, la do
    cur[0] = i
    local ca = a:byte(i)
    for j = 1, lb do
      local cb = b:byte(j)
      local d = prev[j - 1] + (ca == cb and 0 or 1)
      if prev[j] + 1 < d then d = prev[j] + 1 end
      if cur[j - 1] + 1 < d then d = cur[j - 1] + 1 end
      if i > 1 and j > 1 and ca == b:byte(j - 1) and a:byte(i - 1) == cb and prev2[j - 2] + 1 < d then
        d = prev2[j - 2] + 1
      end
      cur[j] = d
    end
    prev2, prev, cur = prev, cur, prev2
  end
  return prev[lb]
end
M.distance = distance

--- The names of candidates (a list, or a set's keys) nearest to word: the
--- ones at the smallest edit distance, at most max_distance (default 3,
--- and less than word's length, so that a short word is not "near" every
--- other short word), sorted; at most 3.
---@param word string
---@param candidates table
---@param max_distance? integer
---@return string[]
function M.closest(word, candidates, max_distance)
  local limit = max_distance or 3
  if #word - 1 < limit then limit = #word - 1 end
  if limit < 1 then return {} end
  local lw = word:lower()
  local best, found, seen = limit + 1, {}, {}
  local function consider(name)
    if type(name) ~= "string" or seen[name] or name == word then return end
    seen[name] = true
    local d = distance(lw, name:lower(), best)
    if d < best then best, found = d, {name}
    elseif d == best then found[#found + 1] = name end
  end
  if candidates[1] ~= nil then
    for _, name in ipairs(candidates) do consider(name) end
  else
    for name in pairs(candidates) do consider(name) end
  end
  if best > limit then return {} end
  sort(found)
  while #found > 3 do found[#found] = nil end
  return found
end

--- " (did you mean 'a' or 'b'?)" for the names closest to word, or "".
---@param word string
---@param candidates table
---@return string
function M.did_you_mean(word, candidates)
  local near = M.closest(word, candidates)
  if #near == 0 then return "" end
  for i, n in ipairs(near) do near[i] = "'" .. n .. "'" end
  if #near == 1 then return " (did you mean " .. near[1] .. "?)" end
  local last = table.remove(near)
  return " (did you mean " .. concat(near, ", ") .. " or " .. last .. "?)"
end

return M
