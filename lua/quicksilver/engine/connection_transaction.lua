--- engine/connection_transaction.lua: a Connection's transactions (SQLAlchemy's
--- Connection.begin / begin_nested and the ends of a Transaction): the
--- implicit BEGIN, SAVEPOINTs with their events, the internal savepoint around
--- a call that sends several statements, and COMMIT/ROLLBACK with what a lost
--- connection at that moment means for the pool. The methods are copied onto
--- Connection by engine/base.lua (install), which hands over the few helpers
--- both share (echo logging, the closed error, the open streams).
local core = require("quicksilver.core")
local event = require("quicksilver.event")
local exc = require("quicksilver.exc")
local transaction = require("quicksilver.engine.transaction")
local util = require("quicksilver.util")
local waiting = require("quicksilver.waiting")

local M = {}

local type, error, pcall = type, error, pcall
local has, fire = event.has, event.fire
local drive = waiting.drive

-- base.lua's helpers (install sets them)
local log, closed_error, buffer_streams, end_streams

-- the Connection methods this module defines (copied onto Connection)
local Connection = {}

function Connection:_begin_root()
  if self._invalidated then
    exc.raise(exc.PendingRollbackError, "Can't reconnect until the invalidated transaction is " ..
      "rolled back (call rollback())", nil, 3)
  end
  if not self._autocommit then
    local cconn = self._cconn
    local ok, err = drive(cconn, cconn:begin())
    if not ok then error(err, 0) end
    if self.engine.echo then log(self, "BEGIN (implicit)") end
  end
  local tx = transaction.root(self)
  self._txn = tx
  if has(self, "begin") then fire(self, "begin", self) end
  return tx
end

--- Begins a transaction. With fn: fn(conn) runs inside it, the transaction
--- commits when fn returns and rolls back (re-raising the same error) when
--- it raises; fn's results are returned. Without fn: the Transaction.
---@param fn? fun(conn: quicksilver.Connection): ...
function Connection:begin(fn)
  if not self._cconn then
    if not self._invalidated then closed_error(self, "begin") end
  end
  if self._txn then
    exc.raise(exc.InvalidRequestError, "Connection:begin: a transaction is already begun on " ..
      "this Connection (execute autobegins one); commit() or rollback() first, or use begin_nested()",
      nil, 2)
  end
  if not self._cconn then self:_checkout(); self._invalidated = nil end
  local tx = self:_begin_root()
  if fn == nil then return tx end
  return util.scoped(fn,
    function() if tx.is_active then tx:commit() end end,
    function() if tx.is_active then pcall(tx.rollback, tx) end end,
    self)
end

--- A SAVEPOINT inside the current transaction (begun if there is none).
--- With fn: released when fn returns, rolled back to when it raises.
---@param fn? fun(conn: quicksilver.Connection): ...
function Connection:begin_nested(fn)
  if not self._cconn then closed_error(self, "begin_nested") end
  if not self._txn then self:_begin_root() end
  buffer_streams(self)
  self._sp_counter = self._sp_counter + 1
  local name = "qs_savepoint_" .. self._sp_counter
  if self.engine.echo then log(self, "SAVEPOINT " .. name) end
  local cconn = self._cconn
  local ok, err = drive(cconn, cconn:savepoint(name))
  if not ok then error(err, 0) end
  if has(self, "savepoint") then fire(self, "savepoint", self, name) end
  local sp = transaction.nested(self, name, self._nested)
  self._nested = sp
  if fn == nil then return sp end
  return util.scoped(fn,
    function() if sp.is_active then sp:commit() end end,
    function() if sp.is_active then pcall(sp.rollback, sp) end end,
    self)
end

-- fn() inside a SAVEPOINT of its own, for one call that sends several
-- statements (an executemany in multi-row INSERT batches, or in runs of
-- sets with other keys): when the server refuses a later statement, what
-- the earlier ones wrote is rolled back to the savepoint and the error
-- raised, so nothing of the call stays and the transaction goes on (on
-- PostgreSQL no longer aborted). Every value was checked before the first
-- statement (insertmany.convert); this is for what only the server finds
-- (a constraint). Not under AUTOCOMMIT, where each statement commits
-- alone. Internal: no savepoint events, nothing on the nesting stack.
function Connection:_atomic(fn)
  if self._autocommit then return fn() end
  if not self._txn then self:_begin_root() end
  local cconn = self._cconn
  self._sp_counter = self._sp_counter + 1
  local name = "qs_many_" .. self._sp_counter
  if self.engine.echo then log(self, "SAVEPOINT " .. name) end
  local ok, err = drive(cconn, cconn:savepoint(name))
  if not ok then error(err, 0) end
  local fok, r = pcall(fn)
  if fok then
    if self.engine.echo then log(self, "RELEASE SAVEPOINT " .. name) end
    ok, err = drive(cconn, cconn:release(name))
    if not ok then error(err, 0) end
    return r
  end
  -- the connection may be gone (invalidated on a disconnect): nothing to undo then
  if self._cconn == cconn and not cconn:closed() and self._txn then
    if self.engine.echo then log(self, "ROLLBACK TO SAVEPOINT " .. name) end
    if pcall(drive, cconn, cconn:rollback_to(name)) then pcall(drive, cconn, cconn:release(name)) end
  end
  error(r, 0)
end

local function deactivate_nested(self, down_to)
  local sp = self._nested
  while sp and sp ~= down_to do
    sp.is_active = false
    sp = sp.parent
  end
  return sp
end

--- Ends tx (called by Transaction). Savepoints opened inside tx end with it.
function Connection:_end_transaction(tx, commit)
  local cconn = self._cconn
  local echo = self.engine.echo
  if tx.nested then
    if not cconn then closed_error(self, commit and "commit" or "rollback") end
    buffer_streams(self)
    deactivate_nested(self, tx)
    local ok, err
    if commit then
      if echo then log(self, "RELEASE SAVEPOINT " .. tx.name) end
      if has(self, "release_savepoint") then fire(self, "release_savepoint", self, tx.name) end
      ok, err = drive(cconn, cconn:release(tx.name))
    else
      if echo then log(self, "ROLLBACK TO SAVEPOINT " .. tx.name) end
      if has(self, "rollback_savepoint") then fire(self, "rollback_savepoint", self, tx.name) end
      ok, err = drive(cconn, cconn:rollback_to(tx.name))
    end
    tx.is_active = false
    self._nested = tx.parent
    if not ok then error(err, 0) end
    return
  end
  if self._txn ~= tx then return end
  -- a streamed result does not outlive its transaction (nor does a
  -- PostgreSQL cursor): it ends, and the driver drops its rest
  end_streams(self, "its transaction ended")
  local ok, err = true, nil
  if cconn then
    if commit then
      if has(self, "commit") then fire(self, "commit", self) end
      if echo and not self._autocommit then log(self, "COMMIT") end
      ok, err = drive(cconn, cconn:commit())
      if not ok and cconn:txn_state() ~= core.txn_states.none then
        error(err, 0)   -- still open in the database: the caller may roll back
      end
    else
      if has(self, "rollback") then fire(self, "rollback", self) end
      if echo and not self._autocommit then log(self, "ROLLBACK") end
      ok, err = drive(cconn, cconn:rollback())
    end
  elseif self._invalidated then
    self:_checkout()   -- rolled back with the dead connection; a new one serves from now
    self._invalidated = nil
  end
  deactivate_nested(self, nil)
  self._nested = nil
  tx.is_active = false
  self._txn = nil
  if not ok and type(err) == "table" and err.connection_invalidated and self._rec then
    -- the server went away at COMMIT/ROLLBACK (a failover): as for a
    -- statement's disconnect, the pool replaces this connection and every
    -- one opened before it; a new one serves at the next use (not now: a
    -- connect failing here would hide this error). A Connection being
    -- closed (close() rolls back) only marks it: its checkin discards it.
    if self.closed then
      self.engine.pool:invalidate(self._rec, err)
    else
      self:_given_up(err)
    end
  end
  if not ok then error(err, 0) end
end

--- Commits the current transaction, if any (commit as you go).
function Connection:commit()
  if not self._cconn then closed_error(self, "commit") end
  local tx = self._txn
  if tx then tx:commit() end
end

--- Rolls back the current transaction, if any.
function Connection:rollback()
  local tx = self._txn
  if not self._cconn and not self._invalidated then closed_error(self, "rollback") end
  if tx then tx:rollback() end
end


--- Copies the transaction methods onto the Connection class; shared: the
--- helpers of engine/base.lua they call.
---@param cls table the Connection class
---@param shared table {log, closed_error, buffer_streams, end_streams}
function M.install(cls, shared)
  log, closed_error = shared.log, shared.closed_error
  buffer_streams, end_streams = shared.buffer_streams, shared.end_streams
  for k, v in pairs(Connection) do cls[k] = v end
end

return M
