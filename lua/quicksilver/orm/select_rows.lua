--- orm/select_rows.lua: a select of mapped entities run for the Session:
--- what the ORM adds to the statement (single-table criteria, joined eager
--- loads), the rows read — a batch at a time where the driver streams at no
--- cost, whole otherwise, or a streamed ORM Result for yield_per /
--- stream_results — and made objects through the identity map, then the
--- loader options applied.
local loading = require("quicksilver.orm.loading")
local strategies = require("quicksilver.orm.strategies")
local orm_stream = require("quicksilver.orm.stream")
local Result = require("quicksilver.engine.result").Result

local criteria = require("quicksilver.orm.criteria")
local from_statement = require("quicksilver.orm.from_statement")

local props_generation = require("quicksilver.orm.mapper").props_generation
local CTX, POPULATE = criteria.CTX, loading.POPULATE

local M = {}

local ipairs, getmetatable, type, pcall, error, rawget, rawset =
  ipairs, getmetatable, type, pcall, error, rawget, rawset

-- A select of entities gets what the ORM adds at execution: single-table
-- subclasses load only their identities.
function M.orm_statement(stmt)
  for _, e in ipairs(stmt._entities or {}) do
    local crit = e.entity:_single_table_criterion()
    if crit then stmt = stmt:where(crit) end
  end
  return stmt
end

-- Rows read a batch at a time from a streaming result (the batch the
-- connection read ahead with the statement).
local LOAD_BATCH = require("quicksilver.engine.base").BATCH_ROWS

-- The rows read from src a batch at a time (Connection:_execute's
-- RowBatches; loading.rows of each batch, in order: an object's place is
-- its row's place), their keys and row_of.
local function load_batches(self, src, ents, colkeys, nout)
  local first = src:fetch(LOAD_BATCH)
  local all, keys, row_of = loading.rows(self, first, ents, colkeys, nout)
  if #first < LOAD_BATCH then return all, keys, row_of end   -- one batch: the list as it is
  local base = #first
  while true do
    local raw = src:fetch(LOAD_BATCH)
    local n = #raw
    local rows
    rows, keys, row_of = loading.rows(self, raw, ents, colkeys, nout)
    for i = 1, n do all[base + i] = rows[i] end
    base = base + n
    if n < LOAD_BATCH then break end   -- a short batch: the source has ended
  end
  return all, keys, row_of
end

-- Per entity: whether a select of it alone, without options, runs as it
-- is (no single-table criterion, no relationship loaded joined by default:
-- orm_statement and add_joined leave it as it was), found by running them
-- once on such a select. Kept while the mappers' properties and the
-- entity's loading plan stay (as orm/get.lua keeps its plan), on the
-- entity itself (a weak table would keep it: LuaJIT's are no ephemerons).
local PLAIN = "_plain_select"

--- Number of selects that skipped the ORM's statement additions (specs).
M.plain_runs = 0

local function runs_plain(stmt, e)
  local ent = e.entity
  local m = rawget(ent, "_mapper") or ent
  local gen = props_generation()
  local v = rawget(ent, PLAIN)
  if v == nil or v.gen ~= gen or v.plan ~= m.plan then
    -- found on a select without LIMIT/OFFSET (which keep some joins out)
    if stmt._limit ~= nil or stmt._offset ~= nil then return false end
    local added, joins = strategies.add_joined(M.orm_statement(stmt))
    v = {gen = gen, plan = m.plan, plain = added == stmt and joins == nil}
    rawset(ent, PLAIN, v)
  end
  return v.plain
end

-- A select of ORM entities run: a streamed Result (yield_per,
-- stream_results), or the rows (objects when one entity, then row_of
-- makes a Row of one), their keys, row_of, and whether joined eager loads
-- repeat rows (unique() required); loader options applied.
local shaped   -- below

local function run(self, conn, stmt, params, eopts)
  local ents = stmt._entities
  local nout, joins
  if stmt._options == nil and ents[2] == nil and runs_plain(stmt, ents[1]) then
    M.plain_runs = M.plain_runs + 1
    nout = #stmt.columns
  else
    stmt = strategies.apply_column_options(stmt)
    ents = stmt._entities
    stmt = M.orm_statement(stmt)
    nout = #stmt.columns
    local ctx = rawget(self, CTX)
    stmt, joins = strategies.add_joined(stmt, ctx and ctx.criteria)
  end
  -- without joined eager loads (which need every row of an object at
  -- once) and where the driver streams at no cost, the rows are read and
  -- made objects a batch at a time: a load of 100,000 objects holds 1,000
  -- rows at a time instead of 100,000 (12 MiB less at its peak)
  local batches = not joins and conn:_cheap_streaming()
  -- the rows themselves (or a batch at a time) when no listener or option
  -- needs a Result
  local raw, colkeys = conn:_execute(stmt, params, eopts, batches and "batches" or true)
  if type(raw.fetch) == "function" and getmetatable(raw) ~= Result then
    local ok, rows, keys, row_of = pcall(load_batches, self, raw, ents, colkeys, nout)
    if not ok then
      raw:close()
      error(rows, 0)
    end
    strategies.apply(self, stmt, rows, keys, row_of ~= nil)
    return nil, rows, keys, row_of, false
  end
  if getmetatable(raw) == Result then
    local res = raw
    -- yield_per / stream_results: objects made a batch at a time (orm/stream.lua)
    if not joins and res:_streaming() then return orm_stream.result(self, res, stmt, ents, nout) end
    raw, colkeys = res:all(), res:keys()
  end
  local rows, keys, row_of = loading.rows(self, raw, ents, colkeys, nout)
  -- with one entity the rows are its objects already: the joined loads
  -- take their parents from there
  local repeats = joins and strategies.populate_joined(self, raw, joins, row_of and ents[1], row_of and rows)
  strategies.apply(self, stmt, rows, keys, row_of ~= nil)
  return nil, rows, keys, row_of, repeats
end

function M.select_objects(self, conn, stmt, params, eopts)
  if stmt._from_statement then return from_statement.load(self, conn, stmt, params, eopts) end
  -- loader criteria (the statement's or the load's under way),
  -- populate_existing: the shaped path
  local sx = stmt._execution_options
  if rawget(self, CTX) or (sx and sx.populate_existing) or (eopts and eopts.populate_existing) or
      (stmt._options and criteria.of_statement(stmt)) then
    return shaped(self, conn, stmt, params, eopts)
  end
  return run(self, conn, stmt, params, eopts)
end

-- select_objects with loader criteria or populate_existing: the criteria
-- (the statement's, then the load's under way) added to the WHERE and held
-- by the session while the statement and its loader strategies run; the
-- objects loaded remember them for their lazy loads. populate_existing:
-- each object the rows reach takes their values (orm/loading.lua).
shaped = function(self, conn, stmt, params, eopts)
  local outer = rawget(self, CTX)
  if outer and outer.options then stmt = stmt:options((table.unpack or unpack)(outer.options)) end
  local list = criteria.of_statement(stmt)
  if outer then
    if list then
      for _, c in ipairs(outer.criteria) do list[#list + 1] = c end
    else
      list = outer.criteria
    end
  end
  local sx = stmt._execution_options
  local populate = (sx and sx.populate_existing) or (eopts and eopts.populate_existing)
  local prev_pop = rawget(self, POPULATE)
  if populate then rawset(self, POPULATE, {}) end
  local ctx = list and {criteria = list} or nil
  if list and list[1] then stmt = criteria.apply_where(stmt, list) end
  rawset(self, CTX, ctx or false)
  local ok, res, rows, keys, row_of, repeats = pcall(run, self, conn, stmt, params, eopts)
  rawset(self, CTX, outer)
  rawset(self, POPULATE, prev_pop)
  if not ok then error(res, 0) end
  if list and rows then criteria.remember(list, rows, row_of ~= nil) end
  return res, rows, keys, row_of, repeats
end

return M
