--- engine/returning_many.lua: an executemany of an INSERT, UPDATE or DELETE
--- with RETURNING (SQLAlchemy's "insertmanyvalues" with
--- sort_by_parameter_order). The rows come back in the order of the
--- parameter sets, on every database, without trusting the order in which a
--- database inserts the rows of one statement or returns them:
---
--- * INSERT whose parameter sets all give the primary key (a client-side
---   sentinel): multi-row INSERTs in batches, the primary key added to
---   RETURNING, each row put back at the parameter set with its key.
--- * INSERT of an auto-increment key: multi-row INSERTs in batches, the
---   rows sorted by the new key, which holds when the keys of one INSERT are
---   handed out in the order of the parameter sets. Where the dialect
---   promises no such order (caps.multirow_insert_ordered false: PostgreSQL)
---   it is made certain as SQLAlchemy does: INSERT ... SELECT ... FROM
---   (VALUES (..., 0), (..., 1), ...) AS imp_sen(p0, ..., sen_counter)
---   ORDER BY sen_counter (each value CAST to its column's type, which the
---   server would otherwise take as text). MariaDB hands out AUTO_INCREMENT
---   values in VALUES order (SQLAlchemy relies on the same). SQLite steps a
---   VALUES list in order, each new ROWID the largest + 1 (SQLAlchemy goes
---   row at a time there; here the batch is kept, see docs/ARCHITECTURE.md).
---   Batches: insertmany.rows_per_statement (the dialect's page size, 1000
---   rows where it has none, and its max_params).
--- * otherwise (keys without a usable sentinel: a server default, a key
---   given in some sets only, values that may come back changed; UPDATE and
---   DELETE): one statement per parameter set (prepared once), the rows of
---   each appended in parameter order.
local core = require("quicksilver.core")
local compiler = require("quicksilver.sql.compiler")
local exc = require("quicksilver.exc")
local insertmany = require("quicksilver.engine.insertmany")
local result_mod = require("quicksilver.engine.result")
local statement = require("quicksilver.sql.statement")
local util = require("quicksilver.util")

local M = {}

local type, pairs, ipairs, pcall, format, floor, sort = type, pairs, ipairs, pcall, string.format, math.floor, table.sort
local Result = result_mod.Result
local unpack = table.unpack or unpack
local keyset = util.keyset

-- Rows per batch where the dialect does not batch a plain executemany
-- (SQLite): a RETURNING batch still saves a statement per row.
local RETURNING_PAGE_SIZE = 1000

-- The part of a sentinel key one value gives: integers and strings only
-- (what comes back equals what was sent); nil for anything else.
local function keypart(col, v)
  local aff = statement.type_affinity(col.type)
  if aff == "integer" and type(v) == "number" and v == floor(v) and v > -2^53 and v < 2^53 then
    return format("%d", v)
  elseif aff == "string" and type(v) == "string" then
    return "s" .. v
  end
  return nil
end

local function row_key(cols, values)
  local parts = {}
  for i, col in ipairs(cols) do
    local p = keypart(col, values[i])
    if p == nil then return nil end
    parts[i] = p
  end
  return table.concat(parts, "\0")
end

-- How the rows of this INSERT run are put in parameter order: "client"
-- (every set gives the primary key), "autoinc" (new auto-increment keys), or
-- nil (row at a time).
local function sentinel(stmt, keys, rows, n)
  if not statement.inserts_parameter_rows(stmt) or statement.has_upsert(stmt) then
    return nil
  end
  local tbl = stmt.table
  local pk = tbl:primary_key_columns()
  if #pk == 0 then return nil end
  local given = true
  for _, col in ipairs(pk) do
    if not keys[col.key] then given = false end
  end
  if given then
    local vals = {}
    for i = 1, n do
      for j, col in ipairs(pk) do vals[j] = rows[i][col.key] end
      if row_key(pk, vals) == nil then return nil end
    end
    return "client", pk
  end
  local auto = statement.autoincrement_column(tbl)
  if auto and #pk == 1 and not keys[auto.key] then
    return "autoinc", pk
  end
  return nil
end

-- The statement with the sentinel columns added to its RETURNING (those it
-- does not return already); returns it and the position of each sentinel
-- column in the rows.
local function with_sentinels(stmt, cols)
  local ret = statement.returning(stmt)
  local list, pos = {}, {}
  for i, c in ipairs(ret) do list[i] = c end
  for j, col in ipairs(cols) do
    for i, c in ipairs(ret) do
      if rawequal(c, col) then pos[j] = i end
    end
    if not pos[j] then
      list[#list + 1] = col
      pos[j] = #list
    end
  end
  if #list == #ret then return stmt, pos end
  return stmt:returning(unpack(list)), pos
end

-- The INSERT of stmt with every value CAST to its column's type, compiled
-- for these keys (the casts type the VALUES list of the ordered form, which
-- the server would otherwise take as text), and its number of values.
local function cast_compiled(stmt, dname, keys)
  local typed, nvalues = statement.with_cast_values(stmt, keys, dname)
  return compiler.compile_dml(typed, dname, keys), nvalues
end

-- The ordered multi-row INSERT (SQLAlchemy's form, for a database that
-- hands out new keys in no promised order): rows first..last of rows
-- through the typed one-row INSERT tc of ncol values. direct: each row is
-- bound by tc's keys where it is (the binder's rows mode, nrows: the
-- ORM flush's value tables, engine/insert_rows.lua), not copied into one
-- positional list.
local function ordered_insert(conn, tc, ncol, rows, first, last, eopts, converted, direct)
  local head, group, tail = compiler.values_group(tc)
  if not head then return nil end
  local keys, values, checks, procs = tc.keys, tc.values, tc.checks, tc.procs
  if converted then procs = nil end   -- the rows went through the converters (insertmany.convert)
  local nk = #keys
  local parts, params, xchecks, xprocs = {}, {}, {}, {}
  local nrows = last - first + 1
  for r = 0, nrows - 1 do
    local off = r * nk
    parts[r + 1] = "(" .. group:gsub("%$(%d+)", function(d) return "$" .. (tonumber(d) + off) end) ..
      ", " .. r .. ")"
    if direct then params[r + 1] = rows[first + r]
    else insertmany.bind_row(params, off, rows[first + r], keys, values) end
    for j = 1, nk do
      xchecks[off + j] = checks and checks[j] or nil
      if procs and procs[j] then xprocs[off + j] = procs[j] end
    end
  end
  if not direct then params.n = nrows * nk end
  local cols = {}
  for i = 1, ncol do cols[i] = "p" .. (i - 1) end
  local sql = head .. " SELECT " .. table.concat(cols, ", ") .. " FROM (VALUES " .. table.concat(parts, ", ") ..
    ") AS imp_sen(" .. table.concat(cols, ", ") .. ", sen_counter) ORDER BY sen_counter" .. tail
  local x = {sql = sql, keys = nil, values = {}, checks = xchecks, procs = xprocs, result_procs = tc.result_procs}
  if direct then
    x = {sql = sql, keys = keys, values = values, checks = checks, procs = not converted and tc.procs or nil,
      result_procs = tc.result_procs, nrows = nrows, param_names = keys}
  end
  return conn:_cursor_execute(sql, params, x, false, eopts)
end

local function run_rows_at_a_time(conn, compiled, rows, first, last, out, eopts, converted)
  local total, keys = 0, nil
  -- the rows went through the converters (insertmany.convert)
  if converted then compiled = insertmany.without_procs(compiled) end
  for i = first, last do
    local r = conn:_cursor_execute(compiled.sql, rows[i], compiled, false, eopts)
    keys = keys or r:keys()
    local got = r:all()
    for j = 1, #got do out[#out + 1] = got[j] end
    total = total + (r.rowcount > 0 and r.rowcount or #got)
  end
  return total, keys
end

--- Runs stmt (which has RETURNING) for each run of parameter sets with the
--- same keys ({keys =, rows =, n =}); fill(rows, n, compiled) gives the rows
--- with Lua-side defaults filled in. Returns a buffered Result of every
--- returned row, in parameter order.
---@return quicksilver.Result
function M.execute(conn, stmt, runs, eopts, fill)
  local dialect = conn.dialect
  local dname = conn:_dialect_key(eopts)
  local out, total, keys = {}, 0, nil
  -- first what each run sends, so every set is converted and checked before
  -- the first statement when the call sends more than one
  local plan, statements = {}, 0
  for i, g in ipairs(runs) do
    local compiled = compiler.compile_dml(stmt, dname, g.keys)
    local rows = g.rows
    local rkeys = g.keys
    if #compiled.fn_defaults > 0 then
      rows = fill(rows, g.n, compiled)
      rkeys = keyset(rows[1])
      compiled = compiler.compile_dml(stmt, dname, rkeys)
    end
    local kind, scols = sentinel(stmt, rkeys, rows, g.n)
    local tc, ncol
    if kind == "autoinc" and not dialect.caps.multirow_insert_ordered and g.n > 1 then
      -- a value whose type has no SQL name cannot be CAST: row at a time
      local ok, c, nc = pcall(cast_compiled, with_sentinels(stmt, scols), dname, rkeys)
      if ok then tc, ncol = c, nc else kind = nil end
    end
    local p = {g = g, compiled = compiled, rows = rows, kind = kind, scols = scols, tc = tc,
      ncol = ncol, base = (g.first or 1) - 1}
    if g.n == 1 or not kind then
      p.bind = compiled
      statements = statements + g.n
    else
      p.xstmt, p.pos = with_sentinels(stmt, scols)
      p.xc = compiler.compile_dml(p.xstmt, dname, rkeys)
      -- bind parameters per row: the placeholders of the one-row statement sent
      p.per = insertmany.rows_per_statement(dialect.caps, #(tc or p.xc).keys,
        dialect.caps.insertmanyvalues_page_size or RETURNING_PAGE_SIZE)
      p.bind = tc or p.xc
      statements = statements + math.ceil(g.n / p.per)
    end
    plan[i] = p
  end
  if statements > 1 then
    for _, p in ipairs(plan) do p.conv = insertmany.convert(p.rows, p.g.n, p.bind, p.base) end
  end
  local function send()
    for _, p in ipairs(plan) do
      local g, compiled, rows, kind, scols, tc, ncol = p.g, p.compiled, p.rows, p.kind, p.scols, p.tc, p.ncol
      local conv = p.conv
      if g.n == 1 or not kind then
        local t, k = run_rows_at_a_time(conn, compiled, conv or rows, 1, g.n, out, eopts, conv ~= nil)
        total, keys = total + t, keys or k
      else
        local xc, pos = p.xc, p.pos
        local nret = #statement.returning(stmt)
        local per = p.per
        for first = 1, g.n, per do
          local last = math.min(first + per - 1, g.n)
          local r
          if tc then
            r = ordered_insert(conn, tc, ncol, conv or rows, first, last, eopts, conv ~= nil)
          else
            r = insertmany.expanded(conn, xc, conv or rows, first, last, eopts, conv ~= nil)
          end
          if r == nil then
            local t, k = run_rows_at_a_time(conn, compiled, rows, first, last, out, eopts)
            total, keys = total + t, keys or k
          else
            local got = r:all()
            local nb = last - first + 1
            if #got ~= nb then
              exc.raise(exc.InvalidRequestError, format("INSERT into '%s' returned %d rows for %d parameter sets",
                stmt.table.name, #got, nb), nil, 4)
            end
            local placed = {}
            if kind == "client" then
              local at = {}
              for i = first, last do
                local vals = {}
                for j, col in ipairs(scols) do vals[j] = rows[i][col.key] end
                at[row_key(scols, vals)] = i - first + 1
              end
              for _, row in ipairs(got) do
                local vals = {}
                for j in ipairs(scols) do vals[j] = row[pos[j]] end
                local i = at[row_key(scols, vals) or ""]
                if i == nil or placed[i] then
                  exc.raise(exc.InvalidRequestError, format("INSERT into '%s': a RETURNING row does not match " ..
                    "the primary key of any parameter set sent", stmt.table.name), nil, 4)
                end
                placed[i] = row
              end
            else
              -- new keys rise in VALUES order: sorted, the rows are in it
              -- (one check when they come back rising already)
              local p, rising = pos[1], true
              for i, row in ipairs(got) do
                placed[i] = row
                if i > 1 and not (got[i - 1][p] < row[p]) then rising = false end
              end
              if not rising then sort(placed, function(a, b) return a[p] < b[p] end) end
            end
            local rkeys = r:keys()
            local keymap
            if #rkeys > nret then
              keymap = {}
              for i = 1, nret do
                keymap[i] = rkeys[i]
                if keymap[rkeys[i]] == nil then keymap[rkeys[i]] = i end
              end
            end
            for i = 1, nb do
              local row = placed[i]
              if keymap then row = core.row(keymap, row:_tuple(), nret) end
              out[#out + 1] = row
            end
            total = total + nb
            if not keys then
              keys = {}
              for i = 1, nret do keys[i] = rkeys[i] end
            end
          end
        end
      end
    end
  end
  -- several statements: all or nothing (a savepoint: Connection:_atomic)
  if statements > 1 then conn:_atomic(send) else send() end
  return Result.new({keys = keys or {}, rows = out, returns_rows = true, rowcount = total})
end

-- engine/insert_rows.lua's too (the ORM flush's INSERT from value tables)
M.sentinel_returning = with_sentinels
M.cast_compiled = cast_compiled
M.ordered_insert = ordered_insert
M.RETURNING_PAGE_SIZE = RETURNING_PAGE_SIZE

return M
