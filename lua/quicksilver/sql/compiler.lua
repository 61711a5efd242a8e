--- sql/compiler.lua: the Lua front of the C compiler. It calls core.compile,
--- caches the result on the (immutable) statement per dialect (and, for
--- INSERT/UPDATE, per set of parameter keys), and shapes what comes back:
--- SQL, bind keys in placeholder order, the values the statement holds, the
--- per-position checks and converters, the result columns and their
--- conversions.
---
--- It sits below the element modules (they require it for tostring and
--- :compile): it needs only the C core, exc, util and the tree walk of visitors.
local core = require("quicksilver.core")
local exc = require("quicksilver.exc")
local util = require("quicksilver.util")
local visitors = require("quicksilver.sql.visitors")
local expanding = require("quicksilver.sql.expanding")

local M = {}

local rawget, rawset, type, pairs, next, setmetatable, getmetatable =
  rawget, rawset, type, pairs, next, setmetatable, getmetatable
local sort, concat = table.sort, table.concat
local ccompile_raw = core.compile

-- Runs fn(...), a step the Lua front takes over the tree before or after C
-- (finding CTEs, the effective DML node, the result conversions). A tree
-- whose fields hold what they should not makes Lua's own error there; it
-- becomes an ArgumentError naming the step, so that a malformed tree is
-- always a qs.exc error (as it is in C). Error objects pass as they are.
local function guarded(what, fn, ...)
  local ok, a, b = pcall(fn, ...)
  if ok then return a, b end
  if type(a) ~= "string" then error(a, 0) end
  if a:find("stack overflow", 1, true) then visitors.too_deep() end
  exc.raise(exc.ArgumentError, "malformed statement (" .. what .. "): " .. a, nil, 3)
end

---------------------------------------------------------------------------------------------
-- schema_translate_map: a dialect key that carries the map
---------------------------------------------------------------------------------------------

-- A statement compiled under a schema_translate_map is compiled for a
-- "dialect key": the dialect's name, "\2" and the map's signature. The key
-- goes where the dialect name goes (the structural cache's prefix, the
-- statement's own compiled forms, the DML key-set signature), so every cache
-- keys on the map with no other change; the map itself is kept here, copied
-- once per signature (the C compiler reads the copy, which nothing changes).
local maps = {}   -- dialect key -> {name = dialect name, map = copied map}
local NONE = "__none"

--- The dialect key for dialect name under a schema_translate_map (nil:
--- the name itself). Keys and values are schema names; "__none" stands for
--- no schema (SQLAlchemy's None), as a key and as a value; false as a
--- value is "__none" too.
---@param name string
---@param map table|nil
---@return string
function M.dialect_key(name, map)
  if map == nil then return name end
  if type(map) ~= "table" then
    exc.raise(exc.ArgumentError, "schema_translate_map must be a table of schema names, got " .. type(map), nil, 3)
  end
  local parts = {}
  for k, v in pairs(map) do
    if type(k) ~= "string" or k == "" or (type(v) ~= "string" and v ~= false) or v == "" then
      exc.raise(exc.ArgumentError, "schema_translate_map: each key and value must be a schema name " ..
        "(\"__none\" for no schema; false as a value), got " .. util.repr(k, 40) .. " = " .. util.repr(v, 40), nil, 3)
    end
    parts[#parts + 1] = k .. "\3" .. (v or NONE)
  end
  if parts[1] == nil then return name end
  sort(parts)
  local key = name .. "\2" .. concat(parts, "\4")
  if not maps[key] then
    local copy = {}
    for k, v in pairs(map) do copy[k] = v or NONE end
    maps[key] = {name = name, map = copy}
  end
  return key
end

--- The dialect name and the schema_translate_map (or nil) of a dialect key.
---@param key string
---@return string, table|nil
function M.split_dialect_key(key)
  local e = maps[key]
  if e then return e.name, e.map end
  return key, nil
end

--- schema as a statement compiled for dialect key `key` writes it (nil: none).
---@param key string
---@param schema string|nil
---@return string|nil
function M.translate_schema(key, schema)
  local e = maps[key]
  if not e then return schema end
  local v = e.map[schema or NONE]
  if v == nil then return schema end
  if v == NONE then return nil end
  return v
end

-- core.compile with the CTEs of the statement (WITH ...) found first.
local function ccompile(stmt, dialect, opts)
  local ctes = guarded("finding its CTEs", visitors.collect_ctes, stmt)
  if ctes[1] ~= nil then
    opts = util.merge(opts, {ctes = ctes})
  end
  local e = maps[dialect]
  if e then
    opts = util.merge(opts, {schema_translate_map = e.map})
    dialect = e.name
  end
  return ccompile_raw(stmt, dialect, opts)
end

---@class quicksilver.Compiled
---@field sql string SQL with the dialect's placeholders
---@field keys string[] bind keys in placeholder order
---@field values table<string, any> values held by the statement, by key
---@field params table positional values (`n` entries; qs.null where NULL)
---@field checks integer[] C value checks per position
---@field procs table Lua converters per position
---@field result_names string[]
---@field result_procs table|nil per result column: C code or Lua function
---@field dialect string
local Compiled = util.class("Compiled")
Compiled.__tostring = function(self) return self.sql end
M.Compiled = Compiled

--- The result keys of names when two columns share a name (nil otherwise):
--- a later one is name_1, name_2, .. (the first free), SQLAlchemy 2.0's
--- disambiguation of select(users.c.id, addresses.c.id), matching a
--- subquery's .c (Select:_result_columns). Not when the cursor names the
--- columns (a * or text column among them).
function M.disambiguated(names, unknown)
  if unknown or names[2] == nil then return nil end
  local used, out = {}, nil
  for i = 1, #names do
    local name = names[i]
    if used[name] then
      out = out or {util.unpack(names, 1, i - 1)}
      local k = 1
      while used[name .. "_" .. k] do k = k + 1 end
      name = name .. "_" .. k
    end
    used[name] = true
    if out then out[i] = name end
  end
  return out
end

local function finish_raw(c, dialect, stmt)
  -- the key (with a schema_translate_map) keeps the statement's own forms apart
  c._key = dialect
  c.dialect = maps[dialect] and maps[dialect].name or dialect
  c.keyset = {}
  for i = 1, #c.keys do c.keyset[c.keys[i]] = true end
  -- positional parameters, for display and offline use
  local params = {n = #c.keys}
  for i = 1, #c.keys do params[i] = c.values[c.keys[i]] end
  c.params = params
  c.named_params = c.values
  -- result conversions: from the compiled column types, or from
  -- text():columns() by name
  local procs, any = {}, false
  local rtypes = c.result_types
  if not c.result_unknown then
    for i = 1, #c.result_names do
      local t = rtypes[i]
      local r = t and t._result
      if r ~= nil and r ~= 0 then procs[i] = r; any = true end
    end
  end
  c.result_procs = any and procs or nil
  if stmt._columns then c.text_columns = stmt._columns end
  c.result_keys = M.disambiguated(c.result_names, c.result_unknown)
  if c.expand then
    -- IN lists written per execution (sql/expanding.lua): the compiled SQL
    -- is the template; the statement's own lists expanded for display
    local tpl = expanding.template(c)
    c.expand = nil
    c._tpl = tpl
    expanding.apply_held(c, tpl, c.values)
  end
  return setmetatable(c, Compiled)
end

local function finish(c, dialect, stmt)
  return guarded("its result columns", finish_raw, c, dialect, stmt)
end

---------------------------------------------------------------------------------------------
-- the compiled-statement cache, keyed by structure
---------------------------------------------------------------------------------------------

-- A statement built again the same way (a new object, equal structure,
-- other bound values) reuses the compiled form: core.cache_key walks the
-- tree and returns its shape and its bind nodes in walk order; the entry
-- knows which compiled bind key each walk position feeds. Bounded: the
-- least recently used entries go first.
local cache = {map = {}, count = 0, capacity = 500, hits = 0, misses = 0, uncacheable = 0, tick = 0}
local cache_key = core.cache_key

local function cache_put(full, entry)
  if cache.map[full] == nil then cache.count = cache.count + 1 end
  cache.tick = cache.tick + 1
  entry.used = cache.tick
  cache.map[full] = entry
  if cache.count > cache.capacity then
    -- evict the least recently used quarter in one pass (amortized)
    local list = {}
    for k, e in pairs(cache.map) do list[#list + 1] = {k, e.used} end
    sort(list, function(a, b) return a[2] < b[2] end)
    for i = 1, #list - math.floor(cache.capacity * 3 / 4) do
      cache.map[list[i][1]] = nil
      cache.count = cache.count - 1
    end
  end
end

-- The positional parameters of a compiled statement, made when asked for
-- (display and offline use; execution reads `values` by key).
local function positional(c)
  local keys, values = c.keys, c.values
  local params = {n = #keys}
  for i = 1, #keys do params[i] = values[keys[i]] end
  return params
end

-- A Compiled for a new statement from a cached one: the cached SQL, keys,
-- checks and result conversions (through __index), the new statement's
-- values. Per hit: two or three small tables, nothing copied. With a few
-- keys the positional params are made at once and __index is the cached
-- Compiled itself (a table: the executor's dozen reads of sql, keys,
-- checks... are plain look-ups, not a function call each); with many,
-- __index makes them when first read.
local EAGER_PARAMS = 8

local function from_entry(entry, binds)
  local values = {}
  -- values the statement holds outside bind nodes (text():bindparams()):
  -- part of the key, so the same for every statement under it
  local held = entry.held
  if next(held) ~= nil then
    for k, v in pairs(held) do values[k] = v end
  end
  local keys_at = entry.keys_at
  for i = 1, #binds do
    local v = binds[i].value
    local k = keys_at[i]
    if v ~= nil and k then values[k] = v end
  end
  local tpl = entry.tpl
  if tpl then
    -- IN lists: this statement's own lengths (the cached SQL is a template)
    local obj = setmetatable({}, entry.mt)
    expanding.apply_held(obj, tpl, values)
    return obj
  end
  local keys = entry.keys
  if keys then
    local n = #keys
    local params = {n = n}
    for i = 1, n do params[i] = values[keys[i]] end
    return setmetatable({values = values, named_params = values, params = params}, entry.mt)
  end
  return setmetatable({values = values, named_params = values}, entry.mt)
end

-- "dialect\1\1", the start of a key of a statement without a signature
local select_prefix = {}

-- Compiles node (the statement, or the effective DML node) through the
-- structural cache; sig distinguishes DML key sets.
local function compile_cached(node, dialect, sig, stmt, opts)
  -- the dialect and signature start the key (one string made, in C)
  local prefix
  if sig == "" then
    prefix = select_prefix[dialect]
    if not prefix then
      prefix = dialect .. "\1\1"
      select_prefix[dialect] = prefix
    end
  else
    prefix = dialect .. "\1" .. sig .. "\1"
  end
  local full, binds = cache_key(node, prefix)
  if full == nil then
    -- the walk could not key every part of it (see c/compiler/cachekey.c): compiled
    -- on its own rather than under a key that leaves structure out
    cache.uncacheable = cache.uncacheable + 1
    local c = finish(ccompile(node, dialect, opts), dialect, stmt)
    c.names = nil
    return c
  end
  local entry = cache.map[full]
  if entry then
    cache.hits = cache.hits + 1
    cache.tick = cache.tick + 1
    entry.used = cache.tick
    return from_entry(entry, binds), entry
  end
  cache.misses = cache.misses + 1
  local c = finish(ccompile(node, dialect, opts), dialect, stmt)
  local names = c.names
  local keys_at = {}
  for i = 1, #binds do
    local b = binds[i]
    keys_at[i] = (b.anon or b.key == nil) and names[b] or b.key
  end
  c.names = nil
  local proto = c
  local from_binds, held = {}, {}
  for i = 1, #binds do
    if keys_at[i] ~= nil then from_binds[keys_at[i]] = true end
  end
  for k, v in pairs(rawget(c, "_base_values") or c.values) do
    if not from_binds[k] then held[k] = v end
  end
  local eager = #c.keys <= EAGER_PARAMS
  cache_put(full, {compiled = c, keys_at = keys_at, held = held, keys = eager and c.keys or nil, tpl = c._tpl, mt = {
    __tostring = Compiled.__tostring,
    -- every field a statement has of its own (values, named_params,
    -- params) is set on it: the rest is the cached one's
    __index = eager and proto or function(t, k)
      if k == "params" then
        local p = positional(t)
        rawset(t, "params", p)
        return p
      end
      return proto[k]
    end}})
  return c
end

--- Hit and miss counts and the size of the structural cache.
--- `uncacheable` counts statements compiled without the cache (nested too
--- deeply, or holding a table the key cannot walk in a fixed order).
---@return {hits: integer, misses: integer, uncacheable: integer, size: integer, capacity: integer}
function M.cache_stats()
  return {hits = cache.hits, misses = cache.misses, uncacheable = cache.uncacheable, size = cache.count,
    capacity = cache.capacity}
end

--- Sets the capacity (entries); 0 turns the structural cache off.
function M.set_cache_size(n)
  cache.capacity = n
  if n == 0 then cache.map, cache.count = {}, 0 end
end

--- Empties the cache and its counters (tests).
function M.clear_cache()
  cache.map, cache.count, cache.hits, cache.misses, cache.uncacheable = {}, 0, 0, 0, 0
end

--- The compiled form of stmt for the dialect, made once per statement object.
---@param stmt table
---@param dialect string
---@param opts? {literal_binds?: boolean}
---@return quicksilver.Compiled
local SELECT = core.kinds.SELECT

function M.compile(stmt, dialect, opts)
  if stmt._k ~= SELECT and stmt._dml and stmt._effective then
    return M.compile_dml(stmt, dialect, nil, opts)
  end
  if opts and opts.literal_binds then
    return finish(ccompile(stmt, dialect, opts), dialect, stmt)
  end
  -- the statement's own: its Compiled (the one dialect it was compiled
  -- for, the common case: no table made), or a table of them by dialect
  -- (a plain table: a Compiled always has a metatable)
  local own = rawget(stmt, "_compiled")
  if own then
    if getmetatable(own) == nil then
      local c = own[dialect]
      if c then return c end
    elseif own._key == dialect then
      return own
    end
  end
  local c
  if cache.capacity > 0 then
    c = compile_cached(stmt, dialect, "", stmt, nil)
  else
    c = finish(ccompile(stmt, dialect), dialect, stmt)
    c.names = nil
  end
  if own == nil then
    rawset(stmt, "_compiled", c)
  elseif getmetatable(own) == nil then
    own[dialect] = c
  else
    rawset(stmt, "_compiled", {[own._key] = own, [dialect] = c})
  end
  return c
end

--- The signature of a key set (sorted keys), the cache key of an INSERT/UPDATE.
function M.keyset_signature(keys)
  if keys == nil then return "" end
  local list = {}
  for k in pairs(keys) do list[#list + 1] = tostring(k) end
  sort(list)
  return concat(list, "\0")
end

--- INSERT/UPDATE/DELETE compiled for executions giving the keys in the set
--- `keys` (nil: none). The columns whose defaults are Lua functions come
--- back in `fn_defaults` (the executor calls them per row).
function M.compile_dml(stmt, dialect, keys, opts)
  local sig = dialect .. "\1" .. M.keyset_signature(keys)
  local literal = opts and opts.literal_binds
  local per_object = rawget(stmt, "_compiled")
  if not per_object then
    per_object = {}
    rawset(stmt, "_compiled", per_object)
  end
  if not literal then
    local c = per_object[sig]
    if c then return c end
  end
  local node, fn_defaults = guarded("its effective form", stmt._effective, stmt, keys, dialect)
  local c
  if literal or cache.capacity == 0 then
    c = finish(ccompile(node, dialect, opts), dialect, stmt)
    c.names = nil
  else
    c = compile_cached(node, dialect, sig, stmt, opts)
  end
  c.fn_defaults = fn_defaults
  if not literal then per_object[sig] = c end
  return c
end

--- The SQL of a one-row INSERT compiled with named binds, for nrows rows:
--- its VALUES group repeated (placeholders renumbered for "$n" styles), as
--- SQLAlchemy 2.0's insertmanyvalues does, so a batch of rows costs one
--- string build instead of a statement built and compiled per row. Returns
--- the SQL and, per placeholder, the bind key (suffixed with the row number),
--- value check and converter; nil when the statement has no VALUES group
--- to repeat.
local expanded, nexpanded = {}, 0

function M.expand_values(c, nrows)
  -- a flush repeats the same batch size: the expansion is kept per SQL
  -- and row count (a small cache, emptied when it grows past 64)
  local sql = c.sql
  local per = expanded[sql]
  local hit = per and per[nrows]
  if hit and hit.keys == c.keys then return hit[1], hit[2], hit[3], hit[4] end
  local xsql, xkeys, xchecks, xprocs = M._expand_values(c, nrows)
  if xsql then
    if nexpanded >= 64 then expanded, nexpanded = {}, 0 end
    per = expanded[sql]
    if not per then per = {}; expanded[sql] = per end
    per[nrows] = {xsql, xkeys, xchecks, xprocs, keys = c.keys}
    nexpanded = nexpanded + 1
  end
  return xsql, xkeys, xchecks, xprocs
end

--- The VALUES group of a one-row INSERT, split: the SQL before " VALUES ",
--- the group's inner text, the SQL after it; nil when there is none. The C
--- compiler says where the group sits (values_open/values_close): the SQL is
--- never scanned for it, since quoted names and literals may hold anything.
---@param c table a compiled statement
---@return string|nil, string|nil, string|nil
function M.values_group(c)
  local open, close = c.values_open, c.values_close
  if not open then return nil end
  local sql = c.sql
  return sql:sub(1, open - 9), sql:sub(open + 1, close - 1), sql:sub(close + 1)
end

function M._expand_values(c, nrows)
  local head, inner, tail = M.values_group(c)
  if not head then return nil end
  local group = "(" .. inner .. ")"
  local keys, checks, procs = c.keys, c.checks, c.procs
  local nk = #keys
  local numbered = group:find("%$%d") ~= nil
  local parts, xkeys, xchecks, xprocs = {}, {}, {}, {}
  for r = 1, nrows do
    local off = (r - 1) * nk
    if numbered then
      parts[r] = group:gsub("%$(%d+)", function(d) return "$" .. (tonumber(d) + off) end)
    else
      parts[r] = group
    end
    for j = 1, nk do
      xkeys[off + j] = keys[j] .. "#" .. r
      xchecks[off + j] = checks and checks[j] or nil
      -- only real converters: an empty list tells the driver there are none
      if procs and procs[j] then xprocs[off + j] = procs[j] end
    end
  end
  return head .. " VALUES " .. table.concat(parts, ", ") .. tail, xkeys, xchecks, xprocs
end

return M
