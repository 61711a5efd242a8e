--- engine/execute_dml.lua: how a Connection runs INSERT, UPDATE and DELETE
--- constructs: named parameters checked against the compiled statement and
--- completed with the statement's Lua-side defaults, one compile per set of
--- parameter keys (executemany split into runs of sets with the same keys),
--- the inserted primary key from the driver's last row id or from RETURNING
--- where the dialect gets keys that way (sequences, implicit returning), and
--- insertmanyvalues batches. base.lua's Connection:_execute calls
--- execute_dml; every statement still goes through Connection:_cursor_execute.
local compiler = require("quicksilver.sql.compiler")
local core = require("quicksilver.core")
local exc = require("quicksilver.exc")
local insertmany = require("quicksilver.engine.insertmany")
local Result = require("quicksilver.engine.result").Result
local returning_many = require("quicksilver.engine.returning_many")
local statement = require("quicksilver.sql.statement")
local util = require("quicksilver.util")

local M = {}

local type, pairs, next, error, getmetatable, setmetatable, tostring =
  type, pairs, next, error, getmetatable, setmetatable, tostring
local format, concat, sort = string.format, table.concat, table.sort
local EMPTY = {}
local NULL = require("quicksilver.sql.elements").null
local keyset_runs = core.keyset_runs
local has = require("quicksilver.event").has

--- Whether v is one parameter set of an executemany (a plain table).
---@param v any
---@return boolean
function M.is_param_set(v)
  return type(v) == "table" and getmetatable(v) == nil
end
local is_param_set = M.is_param_set

--- The Result of a statement that ran nothing (an empty executemany).
---@return quicksilver.Result
function M.empty_result()
  return Result.new({keys = {}, rows = {}, returns_rows = false, rowcount = 0})
end
local empty_result = M.empty_result

-- Named parameters against what the compiled statement takes: unknown names
-- are an error (a typo would otherwise bind nothing), statement defaults
-- fill what the caller left out.
function M.check_named(compiled, p, group)
  local keyset = compiled.keyset
  for k in pairs(p) do
    if not keyset[k] then
      local names = {}
      for name in pairs(keyset) do names[#names + 1] = name end
      sort(names)
      exc.raise(exc.ArgumentError, format("unknown bind parameter '%s'%s%s (the statement takes: %s)",
        tostring(k), group and (", in parameter group " .. group) or "",
        type(k) == "string" and util.did_you_mean(k, names) or "",
        #names > 0 and concat(names, ", ") or "none"), nil, 4)
    end
  end
  return p
end

-- Fills the keys of Lua-function defaults (insert default, update onupdate)
-- into a copy of the parameter set p.
local function with_fn_defaults(p, fn_defaults, conn, kind)
  if #fn_defaults == 0 then return p end
  local q = util.copy(p)
  for _, col in ipairs(fn_defaults) do
    if q[col.key] == nil then
      local fn = kind == "update" and col.onupdate or col.default
      q[col.key] = fn({connection = conn, current_parameters = p, column = col})
      if q[col.key] == nil then q[col.key] = NULL end
    end
  end
  return q
end

-- The primary key of the row a single-row INSERT made: given values, else
-- the database's new id for an auto-increment column.
local function inserted_pk(stmt, params, lastrowid)
  local t = stmt.table
  local autoinc = statement.autoincrement_column(t)
  local out = {}
  for i, col in ipairs(t:primary_key_columns()) do
    local v = params and params[col.key]
    if v == nil then v = statement.held_value(stmt, col.key) end
    if v == nil and type(col.default) ~= "function" then v = col.default end
    if v == nil and col == autoinc then v = lastrowid end
    if v == NULL then v = nil end
    out[i] = v
  end
  out.n = #t.primary_key.columns
  return out
end

-- The parameter sets of an executemany as runs of consecutive sets with
-- the same keys ({keys =, rows =, n =}): each run compiles once, and the
-- rows keep their order.
local function param_runs(params)
  local n = params.n or #params
  local starts, bad = keyset_runs(params, n)
  if not starts then
    exc.raise(exc.ArgumentError, "Connection:execute: parameter set " .. bad .. " is not a table", nil, 4)
  end
  local runs = {}
  for r = 1, #starts do
    local a, b = starts[r], (starts[r + 1] or n + 1) - 1
    local rows
    if a == 1 and b == n then
      rows = params   -- one run: the caller's list as it is (read, never written)
    else
      rows = {}
      for i = a, b do rows[#rows + 1] = params[i] end
      rows.n = b - a + 1
    end
    runs[r] = {keys = util.keyset(params[a]), rows = rows, n = b - a + 1, first = a}
  end
  return runs
end

-- One executemany per run (the driver steps the prepared statement through
-- the run's rows); the rowcounts summed.
local function execute_runs(self, stmt, runs, eopts, fill)
  local total, plan = 0, {}
  for i, g in ipairs(runs) do
    local compiled = compiler.compile_dml(stmt, self:_dialect_key(eopts), g.keys)
    local rows = g.rows
    if #compiled.fn_defaults > 0 then
      rows = fill(rows, g.n, compiled)
      rows.n = g.n
    end
    plan[i] = {compiled = compiled, rows = rows, base = g.first - 1}
  end
  if #plan > 1 then
    -- several statements: every set converted and checked before the first
    -- is sent (one executemany checks its own sets before it sends any)
    for _, p in ipairs(plan) do
      local conv = insertmany.convert(p.rows, p.rows.n or #p.rows, p.compiled, p.base)
      if conv then
        conv.n = p.rows.n or #p.rows
        p.rows, p.compiled = conv, insertmany.without_procs(p.compiled)
      end
    end
  end
  local function send()
    for _, p in ipairs(plan) do
      local r = self:_cursor_execute(p.compiled.sql, p.rows, p.compiled, true, eopts)
      total = total + r.rowcount
    end
  end
  if #plan > 1 then self:_atomic(send) else send() end
  return Result.new({keys = {}, rows = EMPTY, returns_rows = false, rowcount = total})
end

-- INSERT/UPDATE/DELETE with a list of parameter sets: with RETURNING every
-- row back in parameter order (engine/returning_many.lua); a one-row INSERT
-- in multi-row batches where the dialect has them (engine/insertmany.lua);
-- otherwise an executemany per run of sets with the same keys.
local function execute_dml_many(self, stmt, params, eopts)
  local runs = param_runs(params)
  local kind = statement.dml_kind(stmt)
  local function fill(rows, n, compiled)
    local filled = {}
    for i = 1, n do filled[i] = with_fn_defaults(rows[i], compiled.fn_defaults, self, kind) end
    return filled
  end
  if statement.returning(stmt) then
    return returning_many.execute(self, stmt, runs, eopts, fill)
  end
  if insertmany.applies(self.dialect.caps, stmt) then
    return insertmany.execute(self, stmt, runs, eopts, fill)
  end
  return execute_runs(self, stmt, runs, eopts, fill)
end

-- The statement a one-row INSERT runs as where the dialect has no
-- lastrowid (implicit_returning) and the new key is the database's: the
-- INSERT with RETURNING of the primary key (made once per statement).
-- nil when the INSERT needs no such help.
-- Per dialect object: whether a key from a column's sequence comes back by
-- RETURNING (it has no lastrowid: MariaDB), asked of its caps once (a caps
-- proxy read costs a C call, and this runs per execution).
local sequence_returning = setmetatable({}, {__mode = "k"})

local function returns_sequence_keys(dialect)
  local v = sequence_returning[dialect]
  if v == nil then
    local caps = dialect.caps
    v = (caps.sequences and caps.insert_returning) and true or false
    sequence_returning[dialect] = v
  end
  return v
end

local function implicit_returning_target(self, stmt, p)
  local dialect = self.dialect
  if not (dialect.implicit_returning or returns_sequence_keys(dialect)) or statement.returning(stmt) then
    return nil
  end
  local autoinc = statement.autoincrement_column(stmt.table)
  if not dialect.implicit_returning and not (autoinc and autoinc.sequence and autoinc.sequence:applies(dialect.name)) then
    return nil
  end
  if not autoinc or p[autoinc.key] ~= nil or statement.held_value(stmt, autoinc.key) ~= nil then
    return nil
  end
  return statement.returning_primary_key(stmt)
end

-- INSERT/UPDATE/DELETE with one parameter set (or none). A one-row INSERT
-- reports inserted_primary_key.
local function execute_dml_one(self, stmt, params, eopts)
  local p = params or {}
  local kind = statement.dml_kind(stmt)
  local single_insert = statement.inserts_one_row(stmt)
  local implicit = single_insert and implicit_returning_target(self, stmt, p)
  local compiled = compiler.compile_dml(implicit or stmt, self:_dialect_key(eopts),
    params and util.keyset(params) or nil)
  if #compiled.fn_defaults > 0 then p = with_fn_defaults(p, compiled.fn_defaults, self, kind) end
  local result = self:_cursor_execute(compiled.sql, p, compiled, false, eopts)
  if implicit then
    local row = result:first()
    result = Result.new({keys = {}, rows = EMPTY, returns_rows = false, rowcount = 1})
    result.inserted_primary_key = row and row:_tuple() or nil
  elseif single_insert then
    result.inserted_primary_key = inserted_pk(stmt, p, result.lastrowid)
  end
  return result
end

-- INSERT/UPDATE/DELETE: compiled per set of parameter keys.
function M.execute_dml(self, stmt, params, eopts)
  if params ~= nil and is_param_set(params[1]) then
    return execute_dml_many(self, stmt, params, eopts)
  end
  if params ~= nil and next(params) == nil then
    if statement.inserts_parameter_rows(stmt) then
      return empty_result()   -- an empty list: nothing runs
    end
    params = nil
  end
  return execute_dml_one(self, stmt, params, eopts)
end

return M
