--- engine/base.lua: Engine and Connection (SQLAlchemy 2.0's engine/base.py).
---
--- A Connection borrows one driver connection from the engine's pool and
--- runs statements on it "commit as you go": the first execute begins a
--- transaction (autobegin), commit()/rollback() end it. Errors from the C
--- layer come back as values; this file attaches the statement and
--- parameters, runs the handle_error listeners and raises.
local catalog = require("quicksilver.engine.catalog")
local connection_transaction = require("quicksilver.engine.connection_transaction")
local dbapi_error = require("quicksilver.engine.dbapi_error")
local compiler = require("quicksilver.sql.compiler")
local expanding = require("quicksilver.sql.expanding")
local DDLText = require("quicksilver.sql.ddl_statement").DDL
local echo = require("quicksilver.engine.echo")
local event = require("quicksilver.event")
local exc = require("quicksilver.exc")
local execute_dml_mod = require("quicksilver.engine.execute_dml")
local insertmany = require("quicksilver.engine.insertmany")
local result_mod = require("quicksilver.engine.result")
local retry = require("quicksilver.engine.retry")
local returning_many = require("quicksilver.engine.returning_many")
local statement = require("quicksilver.sql.statement")
local transaction = require("quicksilver.engine.transaction")
local util = require("quicksilver.util")
local waiting = require("quicksilver.waiting")

local M = {}

local type, pairs, next, error, pcall, getmetatable, setmetatable, tostring =
  type, pairs, next, error, pcall, getmetatable, setmetatable, tostring
local format, concat, sort = string.format, table.concat, table.sort
local co_running = coroutine.running
local Result = result_mod.Result
local has, fire, listeners = event.has, event.fire, event.listeners
-- Every call of the driver connection that may talk to the server goes
-- through drive: in a coroutine with a waiter it waits there (waiting.lua).
local drive = waiting.drive

local EVENTS = {
  before_execute = true, after_execute = true, before_cursor_execute = true,
  after_cursor_execute = true, handle_error = true, begin = true, commit = true,
  rollback = true, savepoint = true, rollback_savepoint = true, release_savepoint = true,
  engine_connect = true, engine_disposed = true,
}

local EMPTY = {}
local NULL = require("quicksilver.sql.elements").null
local core = require("quicksilver.core")
local sequence_mod = require("quicksilver.sql.sequence")
local Sequence, NextValue = sequence_mod.Sequence, sequence_mod.NextValue
local keyset_runs = core.keyset_runs

---------------------------------------------------------------------------------------------
-- Connection
---------------------------------------------------------------------------------------------

---@class quicksilver.Connection
---@field engine quicksilver.Engine
---@field dialect table
---@field closed boolean
local Connection = util.class("Connection")
Connection._event_names = EVENTS
M.Connection = Connection

local function log(self, msg)
  self.engine:_log(msg)
end

local function closed_error(self, what)
  if self._invalidated then
    exc.raise(exc.ResourceClosedError, "Connection:" .. what ..
      ": this Connection was invalidated; roll back, then it reconnects", nil, 3)
  end
  exc.raise(exc.ResourceClosedError, "Connection:" .. what .. ": this Connection is closed", nil, 3)
end

--- Checks out a driver connection from engine's pool.
---@param engine quicksilver.Engine
---@return quicksilver.Connection
function Connection.new(engine)
  local self = setmetatable({engine = engine, dialect = engine.dialect, closed = false,
    _exec_opts = engine._exec_opts, _sp_counter = 0, _event_parent = engine}, Connection)
  self:_checkout()
  if has(engine, "engine_connect") then fire(engine, "engine_connect", self) end
  return self
end

function Connection:_checkout()
  local engine = self.engine
  local rec = engine.pool:checkout()
  -- the record's own waiter (its transport: an OpenResty cosocket), else the
  -- engine's, or nil (the process default applies): a shared pool's
  -- connection may come from an engine with another one
  rec.cconn:set_waiter(rec.waiter or engine.waiter)
  waiting.set_owner(rec.cconn, self)   -- told if a failing waiter gives it up (_given_up)
  self._rec, self._cconn = rec, rec.cconn
  local level = self._exec_opts.isolation_level
  if level then
    local ok, err = pcall(self._set_isolation, self, level)
    if not ok then
      self.engine.pool:checkin(rec)
      self._rec, self._cconn = nil, nil
      error(err, 0)
    end
  end
end

function Connection:_set_isolation(level)
  local d = self.dialect
  if not d.isolation_levels[level] then
    local names = {}
    for k in pairs(d.isolation_levels) do names[#names + 1] = k end
    sort(names)
    exc.raise(exc.ArgumentError, format(
      "Invalid value '%s' for isolation_level. Valid isolation levels for %s are %s",
      tostring(level), d.name, concat(names, ", ")), nil, 3)
  end
  if level == "AUTOCOMMIT" then
    self._autocommit = true
  else
    self._autocommit = false
    d.set_isolation_level(self._cconn, level)
  end
  self._isolation_set = level ~= d.default_isolation_level
end

-- The statement_timeout execution option (seconds) reaches the driver
-- connection only when it differs from what the connection has; close()
-- takes it off again so the next borrower starts without one.
function Connection:_set_timeout(secs)
  if secs ~= nil and (type(secs) ~= "number" or secs < 0 or secs ~= secs) then
    exc.raise(exc.ArgumentError, "statement_timeout must be a number of seconds >= 0, got " ..
      util.repr(secs, 40), nil, 4)
  end
  local cconn = self._cconn
  local ok, err = drive(cconn, cconn:set_timeout(secs or 0))
  if not ok then self:_raise_dbapi(err, "-- statement_timeout", nil, false) end
  self._rec.timeout = secs
end

--- Asks the database to stop the statement running on this connection.
--- Meant for code that runs while the statement is in progress (a debug
--- hook, a signal handler's deferred work, another thread through the C
--- API); the statement then fails with an OperationalError.
---@return boolean
function Connection:cancel()
  if not self._cconn then closed_error(self, "cancel") end
  local ok, err = self._cconn:cancel()
  if not ok then self:_raise_dbapi(err, "-- cancel", nil, false) end
  return true
end

--- Changes options for this connection in place and returns it:
--- isolation_level, stream_results, yield_per, statement_timeout (seconds
--- each statement may run before the database stops it with an
--- OperationalError) and any of the caller's own.
---@param opts table
---@return quicksilver.Connection
function Connection:execution_options(opts)
  if not self._cconn then closed_error(self, "execution_options") end
  statement.check_execution_options(opts, "Connection:execution_options", 2)
  if opts.isolation_level ~= nil then
    if self._txn then
      exc.raise(exc.InvalidRequestError, "Connection:execution_options: isolation_level " ..
        "cannot change while a transaction is begun; commit or roll back first", nil, 2)
    end
    self:_set_isolation(opts.isolation_level)
  end
  if opts.schema_translate_map ~= nil then compiler.dialect_key(self.dialect.name, opts.schema_translate_map) end
  self._exec_opts = util.merge(self._exec_opts, opts)
  return self
end

--- The options in effect for this connection.
function Connection:get_execution_options() return util.copy(self._exec_opts) end

--- The isolation level the database reports for this connection.
---@return string
function Connection:get_isolation_level()
  if not self._cconn then closed_error(self, "get_isolation_level") end
  if self._autocommit then return "AUTOCOMMIT" end
  return self.dialect.get_isolation_level(self._cconn)
end

---@return boolean
function Connection:in_transaction() return self._txn ~= nil end

-- Drivers whose streamed reads (stream_results) cost no more than a
-- buffered fetch: SQLite steps its statement either way, the wire drivers
-- and libmariadb's mysql_use_result read the same packets. libpq's
-- single-row mode makes a result per row: about a fifth slower for 100,000
-- small rows (measured with docs/PERFORMANCE.md's rows), so it is left out.
local CHEAP_STREAMING = {sqlite = true, pgwire = true, mysql = true, mywire = true}

--- Whether reading a result a batch at a time through stream_results costs
--- this connection's driver nothing over reading it whole (the ORM then
--- makes objects a batch at a time: a load's peak memory holds one batch
--- of rows, not all of them).
function Connection:_cheap_streaming()
  local cconn = self._cconn
  if cconn == nil then return false end
  -- asked per ORM select: the answer kept for this driver connection
  if self._cheap_for ~= cconn then
    self._cheap_for, self._cheap = cconn, CHEAP_STREAMING[cconn:driver()] == true
  end
  return self._cheap
end
---@return boolean
function Connection:in_nested_transaction() return self._nested ~= nil end
function Connection:get_transaction() return self._txn end
function Connection:get_nested_transaction() return self._nested end

-- Streaming results read from the driver connection: when it goes back to
-- the pool (or is discarded) they end, and reading one raises
-- ResourceClosedError rather than reading what the next borrower runs.
-- Buffered results hold their rows and stay readable.
local function end_streams(self, why)
  local streams = self._streams
  if not streams then return end
  self._streams = nil
  for r in pairs(streams) do r:_end_stream(why) end
end

-- Another statement on a connection a streamed result still reads from:
-- the driver connection runs one thing at a time (C refuses anything else
-- while a streamed statement has rows left), so the rest of each open
-- stream is read into its Result first, which stays readable (as a
-- PostgreSQL named cursor does beside other queries) until the connection
-- goes back or the transaction ends. Interleaving thus costs the memory a
-- stream saves: read a stream to its end before running anything else.
-- (SQLite steps its statements side by side: nothing to read there.)
local function buffer_streams(self)
  local streams, cconn = self._streams, self._cconn
  if not streams or not cconn or not cconn:streaming() then return end
  for r in pairs(streams) do r:_buffer_rest() end
end

-- transactions: engine/connection_transaction.lua
connection_transaction.install(Connection, {log = log, closed_error = closed_error,
  buffer_streams = buffer_streams, end_streams = end_streams})

--- Rolls back what is open and gives the driver connection back to the pool.
--- Streaming results (stream_results, yield_per) not read to their end are
--- closed: reading one raises ResourceClosedError. Idempotent.
-- A Connection whose statement is running user Lua from C (a parameter or
-- result converter) is not closed or invalidated under it: the driver
-- connection would go back to the pool while C goes on with it.
-- The mark is the coroutine's that set it: a converter runs in it, while a
-- coroutine that ended mid-statement (closed or collected while it waited)
-- leaves a mark nobody clears, which must not hold the connection forever.
-- The coroutine is held weakly: one collected mid-statement must go (the
-- driver connection notices and gives the connection up).
local MAIN = {}   -- the main thread where coroutine.running() says nil (5.1, LuaJIT)
local WEAK = {__mode = "v"}

local function current() return co_running() or MAIN end

function Connection:_converting()
  local ref = self._busy_ref
  return (self._busy or 0) > 0 and ref ~= nil and ref[1] == current()
end

local function refuse_if_busy(self, what)
  if self:_converting() then
    exc.raise(exc.InvalidRequestError, format("this Connection is in the middle of converting "
      .. "a statement's parameters or rows; a converter may not %s it", what), nil, 3)
  end
end

-- fn(...) with the Connection marked busy (refuse_if_busy); an error
-- clears the mark and goes on up as it was.
local function busy_call(self, fn, a, b, c, d, e, f, g, h, i)
  local ref = self._busy_ref
  if not ref then
    ref = setmetatable({}, WEAK)
    self._busy_ref = ref
  end
  local was, was_co = self._busy or 0, ref[1]
  local co = current()
  if was_co ~= co then was = 0 end   -- a stale mark of an ended coroutine
  self._busy = was + 1
  ref[1] = co
  local ok, r1, r2, r3 = pcall(fn, a, b, c, d, e, f, g, h, i)
  self._busy = was
  ref[1] = was_co
  if not ok then error(r1, 0) end
  return r1, r2, r3
end

-- nrows: params is a list of that many sets, each bound by the one-row
-- keys (a multi-row VALUES from engine/insert_rows.lua)
local function run_cursor(cconn, many, sql, params, keys, values, checks, procs, nrows)
  if many then return drive(cconn, cconn:executemany(sql, params, keys, values, checks, procs)) end
  return drive(cconn, cconn:execute(sql, params, keys, values, checks, procs, nrows))
end

local function fetch_all(cur) return cur:fetch() end

local function fetch_driven(cconn, cur, n) return drive(cconn, cconn:fetch(cur, n)) end

-- A raw read's execute and first fetch in one busy call, where nothing
-- runs between them (no after_cursor_execute listener, no text() columns
-- to type from the keys): the cursor, its column keys and its rows (n at
-- most when n, else all); nil and the error when either step fails.
-- Two result columns of one name (select(users.c.id, addresses.c.id)):
-- the keys the compiler disambiguated (id, id_1), a list of its own per
-- result, also given to the keymap the cursor's rows share (row.id_1); the
-- cursor's names otherwise, and for the ORM's raw reads (its rows name an
-- entity's columns by the entity, the others by their own names).
local function result_keys(compiled, cur)
  local out, keys = {}, compiled.result_keys
  local km = cur:keymap()
  for i = 1, #keys do
    local k = keys[i]
    out[i] = k
    if km[i] ~= k then
      km[i] = k
      km[k] = i
    end
  end
  return out
end

local function run_and_fetch(cconn, sql, params, compiled, n)
  local cur, err = drive(cconn, cconn:execute(sql, params, compiled.keys, compiled.values, compiled.checks,
    compiled.procs, compiled.nrows))
  if n then cconn:set_stream(false) end
  if not cur then return nil, err end
  local colkeys = cur:columns()
  if colkeys[1] == nil then return cur, colkeys, EMPTY end
  local rp = compiled.result_procs
  if rp then cur:set_procs(rp) end
  local rows
  if n then rows, err = drive(cconn, cconn:fetch(cur, n)) else rows, err = cur:fetch() end
  if not rows then return nil, err end
  return cur, colkeys, rows
end

function Connection:close()
  if self.closed then return end
  refuse_if_busy(self, "close")
  self.closed = true
  end_streams(self, "its Connection was closed")
  local rec = self._rec
  if self._txn and self._cconn then pcall(self._end_transaction, self, self._txn, false) end
  self._txn, self._nested = nil, nil
  if rec then
    if rec.timeout and not rec.invalidated then
      -- pcall: a waiter that raises must not keep the connection from the pool
      local c = rec.cconn
      local ok, tok = pcall(drive, c, c:set_timeout(0))
      if not (ok and tok) then self.engine.pool:invalidate(rec) end
      rec.timeout = nil
    end
    if self._isolation_set and not rec.invalidated then
      local d = self.dialect
      if not pcall(d.set_isolation_level, rec.cconn, d.default_isolation_level) then
        self.engine.pool:invalidate(rec)
      end
    end
    self.engine.pool:checkin(rec)
  end
  self._rec, self._cconn = nil, nil
end

-- The driver connection was given up in the middle of an operation (its
-- waiter raised: waiting.lua): as for a lost connection, this Connection is
-- invalidated, and a new driver connection serves after a rollback (at the
-- next statement when no transaction was open). Nothing here waits: the
-- coroutine may be on its way out.
function Connection:_given_up(err)
  if self.closed or not self._rec then return end
  end_streams(self, "its Connection was given up (its waiter failed)")
  local rec = self._rec
  self.engine.pool:invalidate(rec, err)
  self.engine.pool:checkin(rec)
  self._rec, self._cconn = nil, nil
  self._invalidated = true
end

--- Discards the driver connection: it is closed, never returned to the pool.
--- A transaction in progress must be rolled back; then a new one is used.
function Connection:invalidate(err)
  if self.closed or not self._rec then return end
  refuse_if_busy(self, "invalidate")
  end_streams(self, "its Connection was invalidated")
  local rec = self._rec
  self.engine.pool:invalidate(rec, err)
  self.engine.pool:checkin(rec)
  self._rec, self._cconn = nil, nil
  self._invalidated = true
  if not self._txn then
    self._invalidated = nil
    self:_checkout()
  end
end

--- `local conn <close> = engine:connect()` closes; from engine:begin(), the
--- transaction commits on normal exit and rolls back on error exit first.
function Connection.__close(self, err)
  if self._close_commits and self._txn and self._txn.is_active then
    if err ~= nil then
      pcall(self._end_transaction, self, self._txn, false)
    else
      local ok, cerr = pcall(self._end_transaction, self, self._txn, true)
      if not ok then
        self:close()
        error(cerr, 0)
      end
    end
  end
  self:close()
end

Connection.__gc = function(self)
  if not self.closed then pcall(self.close, self) end
end

Connection.__tostring = function(self)
  return format("<Connection %s to %s>", self.closed and "closed" or "open", tostring(self.engine))
end

-- The driver's error for a statement: its statement and parameters attached,
-- handle_error listeners run, a dead connection invalidated, raised (dbapi_error.lua).
Connection._raise_dbapi = dbapi_error.raise_dbapi

-- A streaming source over a C cursor that raises like execute does. Its
-- rows come through the connection (cconn:fetch), which waits like execute
-- when the driver streams them from a server in a coroutine.
local CursorSource = util.class("CursorSource")

function CursorSource:fetch(n)
  local conn = self.conn
  local cconn = conn._cconn
  local rows, err
  if cconn then
    rows, err = busy_call(conn, fetch_driven, cconn, self.cur, n)
  else
    rows, err = self.cur:fetch(n)   -- its connection went: the cursor says so
  end
  if not rows then self.conn:_raise_dbapi(err, self.sql, self.params, false, self.compiled) end
  if conn.engine.echo == "debug" then echo.rows(conn.engine, rows) end
  return rows
end

function CursorSource:close() self.cur:close() end

--- The rows of a RowBatches fetch (the ORM's batch, orm/select_rows.lua).
--- Its first batch is read with the statement: rows that fit in it come
--- back as a plain list, no RowBatches made.
M.BATCH_ROWS = 1000

-- The ORM's batched read: engine/row_batches.lua.
local RowBatches = require("quicksilver.engine.row_batches").RowBatches

-- A stream r reading from this connection: it ends when the connection
-- goes back (weakly held: a stream dropped unread goes). Returns r.
local function track_stream(self, r)
  local streams = self._streams
  if not streams then
    streams = setmetatable({}, {__mode = "k"})
    self._streams = streams
  end
  streams[r] = true
  return r
end

local is_param_set, empty_result = execute_dml_mod.is_param_set, execute_dml_mod.empty_result
local check_named, execute_dml = execute_dml_mod.check_named, execute_dml_mod.execute_dml

-- The most positional values the binding takes (QSB_MAX_PARAMS): it
-- refuses a larger n itself, naming n (and the parameter set).
local BINDING_MAX_PARAMS = 65535

-- The bind parameters one execution of sql carries: the compiled
-- statement's keys, else the positional values (the first set's in an
-- executemany); nil when that is not a count the binding would take.
local function param_count(params, compiled, many)
  if compiled and compiled.keys then return #compiled.keys end
  if many then params = type(params) == "table" and params[1] or nil end
  if type(params) ~= "table" then return nil end
  local n = params.n
  if n == nil then n = #params end
  if type(n) == "number" and n % 1 == 0 and n <= BINDING_MAX_PARAMS then return n end
  return nil
end

-- One statement carries at most the dialect's max_params parameters (a
-- 16-bit count in the PostgreSQL and MySQL protocols, SQLite's
-- SQLITE_MAX_VARIABLE_NUMBER): more is refused here, before anything is
-- sent, so the transaction goes on. executemany, multi-row VALUES and the
-- ORM's flush size their batches to stay within it.
local function check_param_count(self, sql, params, compiled, many)
  local limit = self.dialect.caps.max_params
  if not limit then return end
  local keys = compiled and compiled.keys
  if keys and #keys <= limit then return end   -- the common case, without param_count
  local n = param_count(params, compiled, many)
  if n and n > limit then
    local err = exc.ArgumentError(format("the statement has %d bind parameters; %s allows at most %d "
      .. "in one statement (split the values, e.g. an IN list, over several statements)",
      n, self.dialect.name, limit))
    err.statement = sql
    error(err, 0)
  end
end

-- Runs sql on the driver: the common tail of execute and exec_driver_sql.
-- compiled (nil for exec_driver_sql) gives the bind keys, the values the
-- statement holds, the value checks and converters, and result conversions.
-- raw: the rows and column keys instead of a Result (the ORM's selects,
-- Session:get's fast path; never with streaming options).
function Connection:_cursor_execute(sql, params, compiled, many, eopts, raw)
  if self._streams then buffer_streams(self) end
  if compiled and compiled._tpl and sql == compiled.sql then
    -- IN lists given at execution: their placeholders written now (sql/expanding.lua)
    sql, params, compiled = expanding.for_execution(compiled, compiled._tpl, params, many)
  end
  local cconn = self._cconn
  check_param_count(self, sql, params, compiled, many)
  if eopts.statement_timeout ~= self._rec.timeout then self:_set_timeout(eopts.statement_timeout) end
  if not self._txn then self:_begin_root() end
  if has(self, "before_cursor_execute") then
    local ls = listeners(self, "before_cursor_execute")
    for i = 1, #ls do
      local l = ls[i]
      if l.retval then
        sql, params = l.fn(self, sql, params, many)
      else
        l.fn(self, sql, params, many)
      end
    end
  end
  local engine = self.engine
  if engine.echo then
    log(self, sql)
    local shown = params
    if compiled and compiled.keys and not many then
      -- what is sent: the positional values, statement values included
      shown = {}
      for i = 1, #compiled.keys do
        local k = compiled.keys[i]
        local v = params and params[k]
        if v == nil then v = compiled.values[k] end
        shown[i] = v
      end
    elseif compiled and not many and params then
      -- already positional (the ORM's multi-row INSERT ... RETURNING)
      shown = {}
      for i = 1, params.n or #params do shown[i] = params[i] end
    end
    log(self, "[parameters] " .. (shown == nil and "{}" or util.repr(shown, 1000)))
  end
  local cur, err
  local keys, values, checks, procs, nrows
  if compiled then
    keys, values, checks, procs, nrows = compiled.keys, compiled.values, compiled.checks, compiled.procs,
      compiled.nrows
    if params == nil then params = EMPTY end
  end
  if self._cconn ~= cconn then
    -- a before_cursor_execute listener closed or invalidated this Connection
    exc.raise(exc.ResourceClosedError, "this Connection was closed or invalidated by a "
      .. "before_cursor_execute listener; the statement was not run", nil, 2)
  end
  if raw and compiled and not many and not compiled.text_columns and not has(self, "after_cursor_execute") then
    -- the ORM's read: rows, no Result (the steps below, one busy call)
    local batch = raw == "batches" and M.BATCH_ROWS or nil
    if batch then cconn:set_stream(true) end
    local cur, colkeys, rows = busy_call(self, run_and_fetch, cconn, sql, params, compiled, batch)
    if not cur then self:_raise_dbapi(colkeys, sql, params, false, compiled) end
    if engine.echo == "debug" and colkeys[1] ~= nil then
      echo.columns(engine, colkeys)
      echo.rows(engine, rows)
    end
    if batch and rows ~= EMPTY then
      if #rows < batch then
        cur:close()
      else
        -- more than a batch: the rest read as the caller asks
        local src = setmetatable({cur = cur, conn = self, sql = sql, params = params, compiled = compiled},
          CursorSource)
        return track_stream(self, setmetatable({_src = src, _conn = self, _rest = rows}, RowBatches)), colkeys
      end
    end
    return rows, colkeys
  end
  -- stream_results / yield_per: the server drivers hand rows up as they
  -- arrive instead of buffering the result (SQLite steps anyway)
  local batch = raw == "batches" and M.BATCH_ROWS
  local stream = not many and (batch or eopts.stream_results or eopts.yield_per)
  if stream then cconn:set_stream(true) end
  cur, err = busy_call(self, run_cursor, cconn, many, sql, params, keys, values, checks, procs, nrows)
  if stream then cconn:set_stream(false) end
  if not cur then self:_raise_dbapi(err, sql, params, many, compiled) end
  if has(self, "after_cursor_execute") then
    fire(self, "after_cursor_execute", self, sql, params, many, cur)
  end
  if many then
    return Result.new({keys = {}, rows = EMPTY, returns_rows = false, rowcount = cur})
  end
  local colkeys = cur:columns()
  if compiled and compiled.result_keys and not raw and #compiled.result_keys == #colkeys then
    colkeys = result_keys(compiled, cur)
  end
  if colkeys[1] == nil then
    if raw then return EMPTY, colkeys end
    return Result.new({keys = colkeys, rows = EMPTY, returns_rows = false,
      rowcount = cur:rowcount(), lastrowid = cur:lastrowid()})
  end
  if compiled then
    local rp = compiled.result_procs
    local tc = compiled.text_columns
    if tc then
      rp = {}
      for i = 1, #colkeys do
        local t = tc[colkeys[i]]
        rp[i] = statement.result_processor(t)
      end
    end
    if rp then cur:set_procs(rp) end
  end
  if engine.echo == "debug" then echo.columns(engine, colkeys) end
  if batch then
    -- the first batch read now: rows that fit in one batch (a lookup's
    -- one row) come back as they are, no stream kept for them
    local rows, ferr = busy_call(self, fetch_driven, cconn, cur, batch)
    if not rows then self:_raise_dbapi(ferr, sql, params, false, compiled) end
    if engine.echo == "debug" then echo.rows(engine, rows) end
    if #rows < batch then
      cur:close()
      return rows, colkeys
    end
    local src = setmetatable({cur = cur, conn = self, sql = sql, params = params, compiled = compiled},
      CursorSource)
    return track_stream(self, setmetatable({_src = src, _conn = self, _rest = rows}, RowBatches)), colkeys
  end
  if eopts.stream_results or eopts.yield_per then
    local src = setmetatable({cur = cur, conn = self, sql = sql, params = params, compiled = compiled},
      CursorSource)
    return track_stream(self, Result.new({keys = colkeys, returns_rows = true, cursor = src,
      yield_per = eopts.yield_per or eopts.max_row_buffer or 1000,
      rowcount = cur:rowcount(), lastrowid = cur:lastrowid()}))
  end
  local rows, ferr = busy_call(self, fetch_all, cur)
  if not rows then self:_raise_dbapi(ferr, sql, params, false, compiled) end
  if engine.echo == "debug" then echo.rows(engine, rows) end
  if raw then return rows, colkeys end
  return Result.new({keys = colkeys, rows = rows, returns_rows = true,
    rowcount = cur:rowcount(), lastrowid = cur:lastrowid()})
end

--- What statements run on this connection compile for under execution
--- options eopts: the dialect's name, or with a schema_translate_map the
--- dialect key that carries the map (sql/compiler.lua).
---@param eopts table
---@return string
function Connection:_dialect_key(eopts)
  local map = eopts.schema_translate_map
  if map == nil then return self.dialect.name end
  return compiler.dialect_key(self.dialect.name, map)
end

--- Executes a statement (qs.text() or an expression construct). params: a
--- table of name = value, or a list of such tables for an executemany. opts:
--- execution options for this call only.
---@param stmt table
---@param params? table
---@param opts? table
---@return quicksilver.Result
function Connection:execute(stmt, params, opts)
  return self:_execute(stmt, params, opts, nil)
end

-- Connection:execute; raw: a SELECT's rows and column keys instead of a
-- Result when nothing needs the Result (no after_execute listener, no
-- streaming option): what the ORM makes its objects from (Session:execute);
-- raw "batches": a RowBatches reading them M.BATCH_ROWS at a time, and the
-- keys (the rows themselves when they fit in one batch).
-- A qs.Sequence or its next_value() runs as SELECT of the next value
-- (conn:scalar(seq), conn:scalar(seq:next_value())); nil for anything else.
local function sequence_statement(stmt)
  local mt = type(stmt) == "table" and getmetatable(stmt)
  if mt == Sequence then return stmt:_executable_form() end
  if mt == NextValue then return stmt.sequence:_executable_form() end
  return nil
end

function Connection:_execute(stmt, params, opts, raw)
  if not self._cconn then
    if self._invalidated and not self._txn then self:_checkout(); self._invalidated = nil
    else closed_error(self, "execute") end
  end
  if not statement.is_executable(stmt) then
    local form = sequence_statement(stmt)
    if not form then
      exc.raise(exc.ObjectNotExecutableError, "Connection:execute: not an executable object: " ..
        util.repr(stmt, 60) .. (type(stmt) == "string" and
          " (wrap SQL text in qs.text(), or use conn:exec_driver_sql())" or ""), nil, 2)
    end
    stmt = form
  end
  if params ~= nil and type(params) ~= "table" then
    exc.raise(exc.ArgumentError, "Connection:execute: parameters must be a table, got " ..
      type(params), nil, 2)
  end
  local eopts = self._exec_opts
  local sopts = statement.execution_options(stmt)
  if sopts then eopts = util.merge(eopts, sopts) end
  if opts then
    statement.check_execution_options(opts, "Connection:execute", 3)
    eopts = util.merge(eopts, opts)
  end
  if has(self, "before_execute") then fire(self, "before_execute", self, stmt, params, eopts) end
  if getmetatable(stmt) == DDLText then   -- (a metatable compare: no __index walk per statement)
    -- qs.DDL: its text as written (never scanned for binds), table tokens filled in
    if params ~= nil and next(params) ~= nil then
      exc.raise(exc.ArgumentError, "Connection:execute: a DDL statement takes no parameters", nil, 2)
    end
    local result = self:_cursor_execute(stmt:_sql(self:_dialect_key(eopts)), nil, nil, false, eopts)
    if has(self, "after_execute") then fire(self, "after_execute", self, stmt, params, eopts, result) end
    return result
  end
  if statement.dml_kind(stmt) then
    local result = execute_dml(self, stmt, params, eopts)
    if has(self, "after_execute") then
      fire(self, "after_execute", self, stmt, params, eopts, result)
    end
    return result
  end
  local compiled = compiler.compile(stmt, eopts.schema_translate_map == nil and self.dialect.name or
    self:_dialect_key(eopts))
  local strict = statement.is_text(stmt)   -- text(): every name must be one of its binds
  local many = false
  if params ~= nil then
    if is_param_set(params[1]) then
      many = true
      local n = params.n or #params
      if strict then
        local sets = {n = n}
        for i = 1, n do
          sets[i] = check_named(compiled, params[i], i)
          expanding.check_text_lists(compiled, sets[i])
        end
        params = sets
      end
    elseif next(params) == nil and compiled.keys[1] ~= nil then
      return empty_result()   -- an empty list of parameter sets runs nothing
    elseif strict then
      params = check_named(compiled, params, nil)
      expanding.check_text_lists(compiled, params)
    end
  end
  if raw and not many and not has(self, "after_execute") then
    local sr, yp = eopts.stream_results, eopts.yield_per
    -- a batch at a time (the caller checked _cheap_streaming) unless a
    -- stream option is set at any level: then the caller's choice stands
    if raw == "batches" and sr == nil and yp == nil then
      return self:_cursor_execute(compiled.sql, params, compiled, false, eopts, raw)
    end
    if not (sr or yp) then return self:_cursor_execute(compiled.sql, params, compiled, false, eopts, true) end
  end
  local result = self:_cursor_execute(compiled.sql, params, compiled, many, eopts)
  if has(self, "after_execute") then
    fire(self, "after_execute", self, stmt, params, eopts, result)
  end
  return result
end

-- The ORM flush's INSERT bound from its objects' value tables
-- (engine-private: engine/insert_rows.lua).
local insert_rows = require("quicksilver.engine.insert_rows")
Connection._execute_rows = insert_rows.execute_rows
Connection._rows_direct_ok = insert_rows.direct_ok

--- The catalog querier of this connection: what the dialect's catalog
--- questions (has_table, get_columns, ...) run their SQL through
--- (dialects/support.lua). Made once per Connection.
---@return table
function Connection:catalog()
  local q = self._catalog
  if not q then
    q = catalog.querier(self)
    self._catalog = q
  end
  return q
end

--- Executes SQL text exactly as written for the driver, with positional
--- parameters in the driver's style (? for SQLite): a list of values, or a
--- list of such lists for an executemany.
---@param sql string
---@param params? table
---@param opts? table
---@return quicksilver.Result
function Connection:exec_driver_sql(sql, params, opts)
  if not self._cconn then closed_error(self, "exec_driver_sql") end
  if type(sql) ~= "string" then
    exc.raise(exc.ArgumentError, "Connection:exec_driver_sql: SQL must be a string", nil, 2)
  end
  if params ~= nil and type(params) ~= "table" then
    exc.raise(exc.ArgumentError, "Connection:exec_driver_sql: parameters must be a table", nil, 2)
  end
  local eopts = opts and util.merge(self._exec_opts, opts) or self._exec_opts
  local many = params ~= nil and is_param_set(params[1])
  if many and (params.n or #params) == 0 then return empty_result() end
  return self:_cursor_execute(sql, params, nil, many, eopts)
end

--- The notices (warnings, RAISE NOTICE) the server sent since the last call.
---@return string[]
function Connection:notices()
  if not self._cconn then closed_error(self, "notices") end
  return self._cconn:notices()
end

--- The first column of the first row (execute(...):scalar()).
function Connection:scalar(stmt, params, opts)
  return self:execute(stmt, params, opts):scalar()
end

--- All scalars of the first column.
function Connection:scalars(stmt, params, opts)
  return self:execute(stmt, params, opts):scalars()
end

---------------------------------------------------------------------------------------------
-- Engine
---------------------------------------------------------------------------------------------

---@class quicksilver.Engine
---@field url table the URL (tostring masks the password)
---@field dialect table
---@field pool quicksilver.Pool
---@field echo boolean|"debug" true: statements and parameters are logged; "debug": their rows too
---@field waiter function|nil the `waiter` option: what its connections wait through in a coroutine (nil: the process default, qs.set_waiter)
local Engine = util.class("Engine")
Engine._event_names = EVENTS
M.Engine = Engine

function Engine.new(url, dialect, pool, opts)
  -- echo: true logs statements and parameters, "debug" rows too (engine/echo.lua)
  return setmetatable({url = url, dialect = dialect, pool = pool,
    echo = opts.echo == "debug" and "debug" or (opts.echo and true or false),
    name = dialect.name, driver = dialect.driver, _logger = opts.logger, waiter = opts.waiter,
    _exec_opts = opts.execution_options or {}}, Engine)
end

function Engine:_log(msg)
  local line = "[quicksilver.engine] " .. msg
  local logger = self._logger
  if logger then logger(line) else io.stdout:write(line, "\n") end
end

--- A new Connection. With fn: fn(conn) runs, then the connection closes
--- (rolling back what was not committed), also when fn raises.
---@param fn? fun(conn: quicksilver.Connection): ...
---@return quicksilver.Connection|any
function Engine:connect(fn)
  local conn = Connection.new(self)
  if fn == nil then return conn end
  return util.scoped(fn,
    function() conn:close() end,
    function() pcall(conn.close, conn) end,
    conn)
end

--- A Connection with a transaction begun. With fn: commits when fn returns,
--- rolls back and re-raises when it raises, closes either way. Without fn:
--- the Connection, whose `<close>` commits (or rolls back on error) and closes.
--- With opts ({retries = n, backoff = seconds, sleep = fn, on_retry = fn}):
--- fn runs again, on a new connection in a new transaction, after a
--- failure the server rolled back over a conflict (err.retryable: a
--- TransactionRollbackError), up to n times (engine/retry.lua,
--- docs/SCALING.md, Galera).
---@param fn? fun(conn: quicksilver.Connection): ...
---@param opts? {retries: integer, backoff?: number, sleep?: fun(s: number), on_retry?: fun(err: any, retry: integer, wait: number)}
function Engine:begin(fn, opts)
  if opts ~= nil then return retry.rerun("Engine:begin", self, fn, opts, self) end
  local conn = Connection.new(self)
  local ok, err = pcall(conn.begin, conn)
  if not ok then
    conn:close()
    error(err, 0)
  end
  if fn == nil then
    conn._close_commits = true
    return conn
  end
  return util.scoped(fn,
    function()
      local tx = conn._txn
      local cok, cerr = true, nil
      if tx and tx.is_active then cok, cerr = pcall(tx.commit, tx) end
      conn:close()
      if not cok then error(cerr, 0) end
    end,
    function() pcall(conn.close, conn) end,
    conn)
end

--- Closes the pool's connections; connections checked out now close when
--- they are returned.
function Engine:dispose()
  self.pool:dispose()
  if has(self, "engine_disposed") then fire(self, "engine_disposed", self) end
end

--- A new Engine sharing this one's pool and URL, with options laid over.
---@param opts table
---@return quicksilver.Engine
function Engine:execution_options(opts)
  statement.check_execution_options(opts, "Engine:execution_options", 2)
  if opts.isolation_level ~= nil and not self.dialect.isolation_levels[opts.isolation_level] then
    exc.raise(exc.ArgumentError, format("Invalid value '%s' for isolation_level on %s",
      tostring(opts.isolation_level), self.dialect.name), nil, 2)
  end
  -- a schema_translate_map is checked now, not at the first statement
  if opts.schema_translate_map ~= nil then compiler.dialect_key(self.dialect.name, opts.schema_translate_map) end
  local e = setmetatable(util.copy(self), Engine)
  e._exec_opts = util.merge(self._exec_opts, opts)
  e._event_parent = self
  return e
end

function Engine:get_execution_options() return util.copy(self._exec_opts) end

-- Reflection entry points the sql layer calls through its bind.
function Engine:_reflect_table(md, name, opts)
  return require("quicksilver.engine.reflection").reflect_table(self, md, name, opts)
end
function Engine:_reflect_metadata(md, opts)
  return require("quicksilver.engine.reflection").reflect_metadata(self, md, opts)
end
Connection._reflect_table = Engine._reflect_table
Connection._reflect_metadata = Engine._reflect_metadata

--- A raw driver connection from the pool (advanced use); give it back with
--- engine.pool:checkin(record).
function Engine:raw_connection()
  local rec = self.pool:checkout()
  rec.cconn:set_waiter(rec.waiter or self.waiter)
  return rec
end

Engine.__tostring = function(self)
  return "Engine(" .. tostring(self.url) .. ")"
end

return M
