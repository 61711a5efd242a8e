--- engine/insert_rows.lua: Connection:_execute_rows, the ORM flush's
--- INSERT bound straight from the objects' value tables (engine-private).
--- The rows are tables read raw by the compiled statement's bind keys (the
--- column keys the caller names), so the flush makes no parameter table
--- per object and the engine does not look for each set's keys: the
--- binder (c/binding/lparams.c) reads rawget(row, key) per placeholder,
--- with the statement's value checks and converters as for any execute
--- (they read the values, never write the rows).
---
--- Sent like Connection:execute would: an executemany (multi-row VALUES
--- where the dialect batches: engine/insertmany.lua), a multi-row INSERT
--- ... RETURNING of new auto-increment keys (engine/returning_many.lua's
--- forms: the ordered INSERT ... SELECT where the dialect promises no
--- order), else a statement per row. Where the connection's cursor events,
--- handle_error or echo see the parameters, they get plain sets as
--- Connection:execute would give them (copies of the rows' values, made
--- only then); before_execute/after_execute listeners see statements and
--- parameters as the caller made them: the caller takes the ordinary path
--- then (M.direct_ok).
local compiler = require("quicksilver.sql.compiler")
local event = require("quicksilver.event")
local insertmany = require("quicksilver.engine.insertmany")
local returning_many = require("quicksilver.engine.returning_many")
local statement = require("quicksilver.sql.statement")
local util = require("quicksilver.util")

local M = {}

local type, pairs, rawget, error, pcall, min = type, pairs, rawget, error, pcall, math.min
local has = event.has

--- Whether conn can run _execute_rows as Connection:execute would: no
--- before_execute/after_execute listener (they see the statement and the
--- parameter sets the caller hands to execute).
---@return boolean
function M.direct_ok(conn)
  return not (has(conn, "before_execute") or has(conn, "after_execute"))
end

-- Whether something sees the parameters the cursor gets: then they are
-- plain sets.
local function watched(conn)
  return (conn.engine and conn.engine.echo) or has(conn, "before_cursor_execute") or
    has(conn, "after_cursor_execute") or has(conn, "handle_error")
end

-- A failed statement's error shows plain parameter sets (what was sent),
-- not the value tables.
local function plain(rows, first, last, keys)
  local out = {n = last - first + 1}
  for i = first, last do
    local p, row = {}, rows[i]
    for k in pairs(keys) do p[k] = rawget(row, k) end
    out[#out + 1] = p
  end
  if out.n == 1 then return out[1] end
  return out
end

-- rows[a..b] through the one-row INSERT one as one multi-row statement,
-- each row bound where it is by one's keys (the binder's rows mode:
-- nrows), or nil when one cannot be expanded.
local function expanded_rows(conn, one, rows, a, b, eopts)
  local nrows = b - a + 1
  local sql = compiler.expand_values(one, nrows)
  if not sql then return nil end
  local list = {}
  for i = a, b do list[#list + 1] = rows[i] end
  local x = {sql = sql, keys = one.keys, values = one.values, checks = one.checks, procs = one.procs,
    result_procs = one.result_procs, nrows = nrows, param_names = one.keys}
  return conn:_cursor_execute(sql, list, x, false, eopts)
end

local function one_row(conn, compiled, row, eopts)
  return conn:_cursor_execute(compiled.sql, row, compiled, false, eopts)
end

-- rows[a..b] one statement each; their returned rows appended to out.
local function each_returning(conn, compiled, rows, a, b, eopts, out)
  for i = a, b do
    local got = one_row(conn, compiled, rows[i], eopts):all()
    for j = 1, #got do out[#out + 1] = got[j] end
  end
end

local function send(conn, stmt, rows, first, last, keys, eopts, direct)
  local expanded = direct and expanded_rows or insertmany.expanded
  local dialect = conn.dialect
  local caps = dialect.caps
  local dname = conn:_dialect_key(eopts)
  local compiled = compiler.compile_dml(stmt, dname, keys)
  if #compiled.fn_defaults > 0 then
    error("_execute_rows: the statement has Lua-side defaults the rows do not give", 0)
  end
  local n = last - first + 1
  if statement.returning(stmt) then
    local out = {}
    local tbl = stmt.table
    local auto = statement.autoincrement_column(tbl)
    local pk = tbl:primary_key_columns()
    if n > 1 and auto and #pk == 1 and not keys[auto.key] then
      -- new auto-increment keys: multi-row statements, the rows sorted by
      -- the new key (which the caller does: core.insert_keys)
      local xstmt = returning_many.sentinel_returning(stmt, pk)
      local tc, ncol
      if not caps.multirow_insert_ordered then
        local ok, c, nc = pcall(returning_many.cast_compiled, xstmt, dname, keys)
        if ok then tc, ncol = c, nc end
      end
      local xc = tc or compiler.compile_dml(xstmt, dname, keys)
      local per = insertmany.rows_per_statement(caps, #xc.keys,
        caps.insertmanyvalues_page_size or returning_many.RETURNING_PAGE_SIZE)
      for a = first, last, per do
        local b = min(a + per - 1, last)
        local r
        if tc then
          r = returning_many.ordered_insert(conn, tc, ncol, rows, a, b, eopts, false, direct)
        elseif b > a then
          r = expanded(conn, xc, rows, a, b, eopts, false)
        end
        if r == nil then
          each_returning(conn, compiled, rows, a, b, eopts, out)
        else
          local got = r:all()
          for j = 1, #got do out[#out + 1] = got[j] end
        end
      end
      return out, true
    end
    each_returning(conn, compiled, rows, first, last, eopts, out)
    return out, false
  end
  if n == 1 then
    local r = one_row(conn, compiled, rows[first], eopts)
    return r.rowcount, r.lastrowid
  end
  local total = 0
  if insertmany.applies(caps, stmt) then
    local per = insertmany.rows_per_statement(caps, #compiled.keys)
    for a = first, last, per do
      local b = min(a + per - 1, last)
      local r = b > a and expanded(conn, compiled, rows, a, b, eopts, false) or nil
      if r == nil then
        for i = a, b do total = total + one_row(conn, compiled, rows[i], eopts).rowcount end
      else
        total = total + r.rowcount
      end
    end
    return total
  end
  local list = rows
  if first ~= 1 or last ~= #rows then
    list = {}
    for i = first, last do list[#list + 1] = rows[i] end
  end
  list.n = n
  return conn:_cursor_execute(compiled.sql, list, compiled, true, eopts).rowcount
end

--- Connection:_execute_rows(stmt, rows, first, last, keys, opts): the
--- one-row INSERT stmt for rows[first..last], each row bound by the column
--- keys in keys ({key = true}). With RETURNING: the list of returned Rows
--- and whether they come in new-key order (sort them by their first
--- value); else the rowcount (and for one row its lastrowid).
function M.execute_rows(conn, stmt, rows, first, last, keys, opts)
  local eopts = conn._exec_opts
  if opts then eopts = util.merge(eopts, opts) end
  local direct = not watched(conn)
  if not direct then
    local list = plain(rows, first, last, keys)
    if first == last then list = {list} end
    rows, first, last = list, 1, last - first + 1
  end
  local ok, a, b = pcall(send, conn, stmt, rows, first, last, keys, eopts, direct)
  if not ok then
    if type(a) == "table" and a.params ~= nil then a.params = plain(rows, first, last, keys) end
    error(a, 0)
  end
  return a, b
end

return M
