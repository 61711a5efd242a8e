--- sql/compiler.lua: the Lua front of the C compiler. It calls core.compile,
--- caches the result on the (immutable) statement per dialect (and, for
--- INSERT/UPDATE, per set of parameter keys), and shapes what comes back:
--- SQL, bind keys in placeholder order, the values the statement holds, the
--- per-position checks and converters, the result columns and their
--- conversions.
local core = require("quicksilver.core")
local selectable = require("quicksilver.sql.selectable")
local util = require("quicksilver.util")

local M = {}

local rawget, rawset, type, pairs, setmetatable = rawget, rawset, type, pairs, setmetatable
local sort, concat = table.sort, table.concat
local ccompile_raw = core.compile

-- core.compile with the CTEs of the statement (WITH ...) found first.
local function ccompile(stmt, dialect, opts)
  local ctes = selectable.collect_ctes(stmt)
  if ctes[1] ~= nil then
    opts = util.merge(opts, {ctes = ctes})
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

local function finish(c, dialect, stmt)
  c.dialect = dialect
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
  return setmetatable(c, Compiled)
end

--- The compiled form of stmt for the dialect, made once per statement object.
---@param stmt table
---@param dialect string
---@param opts? {literal_binds?: boolean}
---@return quicksilver.Compiled
function M.compile(stmt, dialect, opts)
  if stmt._dml and stmt._effective then
    return M.compile_dml(stmt, dialect, nil, opts)
  end
  if opts and opts.literal_binds then
    return finish(ccompile(stmt, dialect, opts), dialect, stmt)
  end
  local cache = rawget(stmt, "_compiled")
  if cache then
    local c = cache[dialect]
    if c then return c end
  else
    cache = {}
    rawset(stmt, "_compiled", cache)
  end
  local c = finish(ccompile(stmt, dialect), dialect, stmt)
  cache[dialect] = c
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
  local cache = rawget(stmt, "_compiled")
  if not cache then
    cache = {}
    rawset(stmt, "_compiled", cache)
  end
  if not literal then
    local c = cache[sig]
    if c then return c end
  end
  local node, fn_defaults = stmt:_effective(keys)
  local c = finish(ccompile(node, dialect, opts), dialect, stmt)
  c.fn_defaults = fn_defaults
  if not literal then cache[sig] = c end
  return c
end

return M
