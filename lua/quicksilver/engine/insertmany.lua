--- engine/insertmany.lua: an executemany of a one-row INSERT sent as
--- multi-row INSERTs (SQLAlchemy 2.0's "insertmanyvalues"): on a server a
--- batch of parameter sets costs one round trip instead of one per row.
--- How many rows go into one statement is the dialect's to say:
--- `caps.insertmanyvalues_page_size` rows at most (no batching where the
--- dialect has none: SQLite, where a row costs no round trip) and never
--- more bind parameters than `caps.max_params`. Also used by
--- engine/returning_many.lua for INSERT ... RETURNING in batches.
local compiler = require("quicksilver.sql.compiler")
local core = require("quicksilver.core")
local elements = require("quicksilver.sql.elements")
local result_mod = require("quicksilver.engine.result")
local statement = require("quicksilver.sql.statement")
local util = require("quicksilver.util")

local M = {}

local ipairs, rawget, floor, max, min = ipairs, rawget, math.floor, math.max, math.min
local Result = result_mod.Result
local NULL = elements.null
local EMPTY = {}

--- Fills the positional values of one row of an expanded VALUES list:
--- params[off + j] is the row's value for keys[j], else the statement's own
--- (values[keys[j]]), else NULL. The row is read raw: it may be an ORM
--- object's value table (engine/insert_rows.lua).
---@param params table
---@param off integer
---@param row table
---@param keys string[]
---@param values table
function M.bind_row(params, off, row, keys, values)
  for j = 1, #keys do
    local k = keys[j]
    local v = rawget(row, k)
    if v == nil then v = values[k] end
    if v == nil then v = NULL end
    params[off + j] = v
  end
end

--- Rows per multi-row INSERT for a dialect: at most page_size rows (the
--- dialect's insertmanyvalues_page_size unless given), and no more than
--- the dialect's max_params bind parameters when each row sends
--- params_per_row; at least one row.
---@param caps table the dialect's capabilities (dialect.caps)
---@param params_per_row integer
---@param page_size? integer
---@return integer
function M.rows_per_statement(caps, params_per_row, page_size)
  local page = page_size or caps.insertmanyvalues_page_size
  return max(1, min(page, floor(caps.max_params / max(params_per_row, 1))))
end

--- True when an executemany of stmt on this dialect goes as multi-row
--- INSERTs: the dialect batches, and stmt is an INSERT whose rows come from
--- the parameter sets alone, without RETURNING (engine/returning_many.lua)
--- or an upsert clause.
---@param caps table
---@param stmt table
---@return boolean
function M.applies(caps, stmt)
  return caps.insertmanyvalues_page_size ~= nil and statement.inserts_parameter_rows(stmt)
    and not statement.returning(stmt) and not statement.has_upsert(stmt)
end

--- Runs the one-row INSERT `one` (compiled) for rows[first..last] as one
--- statement: its VALUES group repeated (compiler.expand_values, cached
--- per row count), the values bound by position. Returns the cursor's
--- Result, or nil when the statement cannot be expanded.
---@return quicksilver.Result|nil
function M.expanded(conn, one, rows, first, last, eopts, converted)
  local nrows = last - first + 1
  local sql, _, xchecks, xprocs = compiler.expand_values(one, nrows)
  if not sql then return nil end
  if converted then xprocs = nil end   -- the rows went through the converters (M.convert)
  local params = {}
  local okeys, ovalues = one.keys, one.values
  local nk = #okeys
  for r = 0, nrows - 1 do
    M.bind_row(params, r * nk, rows[first + r], okeys, ovalues)
  end
  params.n = nrows * nk
  -- param_names: the one-row statement's keys, which an error naming a
  -- position maps back to a column (engine/base.lua)
  local x = {sql = sql, keys = nil, values = EMPTY, checks = xchecks, procs = xprocs,
    result_procs = one.result_procs, param_names = okeys}
  return conn:_cursor_execute(sql, params, x, false, eopts or conn._exec_opts)
end

--- Every parameter set of rows[1..n] converted and checked for the compiled
--- one-row statement before anything is sent (core.convert_sets): a bad
--- value in a later batch fails the call with nothing of it written. The
--- error names the parameter set and the column.
--- Without converters the sets are only checked, and nil is returned: send
--- them as they are.
---@param base? integer the sets before rows[1] in the caller's list (for the error)
---@return table[]|nil the sets as {key = converted value}, for M.expanded(..., true)
function M.convert(rows, n, compiled, base)
  local out, err = core.convert_sets(rows, n, compiled.keys, compiled.values, compiled.checks,
    compiled.procs, base)
  if not out then error(err, 0) end
  if out == true then return nil end
  return out
end

--- The compiled statement as it sends sets M.convert made: the same but
--- without its converters (a view: compiled forms share fields through
--- their metatables, which a copy would lose).
---@return table
function M.without_procs(compiled)
  return setmetatable({}, {__index = function(_, k)
    if k ~= "procs" then return compiled[k] end
  end})
end

-- rows[first..last] as one statement: the expanded one-row INSERT, else a
-- multi-row values() statement built and compiled for them (from the
-- caller's rows: raw, as values() converts them itself).
local function run_batch(conn, stmt, compiled, rows, first, last, eopts, conv)
  local r = M.expanded(conn, compiled, conv or rows, first, last, eopts, conv ~= nil)
  if r == nil then
    local chunk = {}
    for i = first, last do chunk[#chunk + 1] = rows[i] end
    local c = compiler.compile_dml(stmt:values(chunk), conn:_dialect_key(eopts), nil)
    r = conn:_cursor_execute(c.sql, nil, c, false, eopts)
  end
  return r.rowcount
end

--- Runs stmt (M.applies) for each run of parameter sets with the same keys
--- ({keys =, rows =, n =}) in batches of M.rows_per_statement rows;
--- fill(rows, n, compiled) gives the rows with Lua-side defaults filled in.
--- Returns a Result with the summed rowcount.
---@return quicksilver.Result
function M.execute(conn, stmt, runs, eopts, fill)
  local dname = conn:_dialect_key(eopts)
  local total, plan, statements = 0, {}, 0
  for i, g in ipairs(runs) do
    local compiled = compiler.compile_dml(stmt, dname, g.keys)
    local rows = g.rows
    if #compiled.fn_defaults > 0 then
      -- Lua-side defaults: the rows with them filled in, then compiled
      -- with those keys too
      rows = fill(rows, g.n, compiled)
      compiled = compiler.compile_dml(stmt, dname, util.keyset(rows[1]))
    end
    -- a row sends one bind parameter per placeholder of the one-row statement
    local per = M.rows_per_statement(conn.dialect.caps, #compiled.keys)
    plan[i] = {compiled = compiled, rows = rows, n = g.n, per = per, base = (g.first or 1) - 1}
    statements = statements + math.ceil(g.n / per)
  end
  -- more than one statement: every set is converted and checked first (one
  -- statement's sets are, by the driver, before it is sent)
  if statements > 1 then
    for _, p in ipairs(plan) do p.conv = M.convert(p.rows, p.n, p.compiled, p.base) end
  end
  local function send()
    for _, p in ipairs(plan) do
      for first = 1, p.n, p.per do
        total = total + run_batch(conn, stmt, p.compiled, p.rows, first, min(first + p.per - 1, p.n),
          eopts, p.conv)
      end
    end
  end
  -- several statements: all or nothing (a savepoint: Connection:_atomic)
  if statements > 1 then conn:_atomic(send) else send() end
  return Result.new({keys = {}, rows = EMPTY, returns_rows = false, rowcount = total})
end

return M
