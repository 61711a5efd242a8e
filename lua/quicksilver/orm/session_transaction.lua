--- orm/session_transaction.lua: the Session's transaction (SQLAlchemy's
--- SessionTransaction and the Session methods that begin, join, commit and
--- roll it back). One transaction spans a connection per engine the session
--- uses (binds: orm/session_binds.lua): each joins at first use with its
--- own after_begin and a SAVEPOINT per open begin_nested level; commit goes
--- in join order; a rollback or a failed flush rolls back all of them and
--- returns the objects to what the database has.
---
--- The methods are defined on a table of their own and copied onto
--- orm.Session by orm/session.lua (install), so the session's module keeps
--- object states and execution and this one the transaction.
local exc = require("quicksilver.exc")
local util = require("quicksilver.util")
local retry = require("quicksilver.engine.retry")
local attributes = require("quicksilver.orm.attributes")
local identity = require("quicksilver.orm.identity")
local session_binds = require("quicksilver.orm.session_binds")
local session_events = require("quicksilver.orm.session_events")

local M = {}

local rawget, setmetatable, ipairs, pairs, next, tostring, error, pcall =
  rawget, setmetatable, ipairs, pairs, next, tostring, error, pcall
local unpack, pack = table.unpack or unpack, util.pack
local fire = session_events.fire

-- the Session methods this module defines (copied onto orm.Session)
local Session = {}


local function pending_rollback_error(self, level)
  local err = self._pending_rollback
  exc.raise(exc.PendingRollbackError, "This Session's transaction has been rolled back due to a previous " ..
    "exception during flush. To begin a new transaction with this Session, first issue " ..
    "Session:rollback(). Original exception was: " .. tostring(err), {orig_error = err}, level or 3)
end

-- Whether statements may go to more than one engine: binds given, or
-- get_bind overridden (on the session, or by a subclass that says so).
local function routes(self)
  return rawget(self, "binds") or rawget(self, "_routing") or rawget(self, "get_bind")
end

-- The transaction starts: what it will have made persistent, deleted and
-- re-keyed (for a rollback) start empty.
local function start_transaction(self)
  self._tx_new, self._tx_deleted, self._tx_keys = {}, {}, {}
end

-- A connection to bind joins the transaction: begun, with a savepoint for
-- each SAVEPOINT level open (begin_nested before this bind was used), and
-- after_begin fired for it.
local function join_bind(self, bind)
  if not self.autobegin and #self._stack == 0 then
    exc.raise(exc.InvalidRequestError, "Autobegin is disabled on this Session; call Session:begin()", nil, 5)
  end
  local conn = bind:connect()
  local ok, root = pcall(conn.begin, conn)
  if not ok then
    conn:close()
    error(root, 0)
  end
  local sps = {}
  for _, tx in ipairs(self._stack) do
    if tx.nested and tx.active then
      local sok, sp = pcall(conn.begin_nested, conn)
      if not sok then
        pcall(root.rollback, root)
        conn:close()
        error(sp, 0)
      end
      sps[#sps + 1] = {tx, sp}
    end
  end
  for _, p in ipairs(sps) do p[1].sps[#p[1].sps + 1] = p[2] end
  local first = #self._conns == 0
  local entry = {bind = bind, conn = conn, root = root}
  self._conns[#self._conns + 1] = entry
  self._conn_of[bind] = entry
  local held = self._holder.conns or {}
  held[#held + 1] = conn
  self._holder.conns = held
  if first then
    self._conn, self._root = conn, root
    if not self._tx_open then start_transaction(self) end
    self._tx_open = true
  end
  self._beginning = true
  local fok, ferr = pcall(fire, self, "after_begin", root, conn)
  self._beginning = nil
  if not fok then error(ferr, 0) end
  return conn
end

--- The session's connection to bind (its default bind when nil),
--- beginning its transaction there when there is none.
function Session:_connection(bind)
  if self._pending_rollback then pending_rollback_error(self, 4) end
  local conn = self._conn
  if conn and ((bind == nil and not routes(self)) or self._conns[1].bind == bind) then return conn end
  if bind == nil then bind = self:get_bind() end
  local entry = self._conn_of[bind]
  if entry then return entry.conn end
  return join_bind(self, bind)
end

--- The connection for a mapper's statements or a clause (get_bind's
--- choice); the session's one connection when nothing routes.
function Session:_connection_for(mapper, clause)
  if not routes(self) then return self:_connection() end
  return self:_connection(self:get_bind(mapper, clause))
end

--- The engine a mapper's statements (or a clause) run on: the engine bound
--- to its class (or a class it inherits from, a declarative Base
--- included), else to one of its tables, else the session's bind
--- (SQLAlchemy's Session.get_bind). Override it on a session (or a
--- subclass) to route by your own rule.
---@param mapper table|nil a mapped class or mapper
---@param clause table|nil a statement
---@return table engine
function Session:get_bind(mapper, clause)
  return session_binds.get_bind(self, mapper, clause)
end

--- The Connection the session's transaction runs on (beginning it): the
--- one for mapper (a mapped class) or clause when given (get_bind), else
--- the session's bind.
---@param mapper table|nil
---@param clause table|nil
function Session:connection(mapper, clause)
  if mapper ~= nil or clause ~= nil then return self:_connection_for(mapper, clause) end
  return self:_connection()
end

--- Whether a transaction is in progress.
function Session:in_transaction() return self._conn ~= nil or self._tx_open == true end
function Session:in_nested_transaction() return #self._stack > 0 and self._stack[#self._stack].nested end

-- Ending the transaction or the session from inside the work that needs
-- them is refused (SQLAlchemy: IllegalStateChangeError, an
-- InvalidRequestError): from a flush's events, validators, defaults and
-- converters, from after_begin while the transaction is being begun, and
-- from a converter while the session's connection is converting a
-- statement's parameters or rows. The flush would go on with a connection
-- back in the pool, and the state it left would be half-cleared.
local function refuse_state_change(self, what)
  local why
  if self._flushing then
    why = "the Session is flushing (a flush event, validator, default or converter may not end it)"
  elseif self._beginning then
    why = "the Session is beginning its transaction (an after_begin listener may not end it)"
  else
    for _, e in ipairs(self._conns) do
      if e.conn:_converting() then
        why = "its Connection is in the middle of converting a statement's parameters or rows"
      end
    end
  end
  if why then
    exc.raise(exc.InvalidRequestError, "Session:" .. what .. "() can't be called here: " .. why, nil, 3)
  end
end

local function end_connection(self)
  local conns = self._conns
  self._conn, self._root, self._tx_open = nil, nil, nil
  self._conns, self._conn_of = {}, {}
  self._holder.conns = nil
  self._stack = {}
  for _, e in ipairs(conns) do pcall(e.conn.close, e.conn) end
end

-- Rolls back every connection's transaction (errors ignored: each is
-- closed after).
local function rollback_all(self)
  for _, e in ipairs(self._conns) do pcall(e.root.rollback, e.root) end
end

-- After the database rolled back: objects made persistent by this
-- transaction's flushes become transient again, its deletions are undone,
-- unflushed pending objects leave, everything else expires.
local function after_rollback(self, new_mark, del_mark, key_mark)
  local tx_new, tx_del, tx_keys = self._tx_new or {}, self._tx_deleted or {}, self._tx_keys or {}
  -- primary keys changed by the flushes: the old ones are what the database has
  for i = #tx_keys, (key_mark or 0) + 1, -1 do
    local st, key, vals = tx_keys[i][1], tx_keys[i][2], tx_keys[i][3]
    tx_keys[i] = nil
    identity.remove(self, st)
    st.key = key
    for j, k in ipairs(st.mapper.pk_keys) do attributes.loaded_value(st, k, vals[j]) end
    if st.session == self then identity.put(self, st) end
  end
  for i = #tx_new, (new_mark or 0) + 1, -1 do
    local st = tx_new[i]
    tx_new[i] = nil
    identity.remove(self, st)
    st.key = nil
    self._modified[st] = nil
    self._collections[st] = nil
    st.session = nil   -- transient again, as SQLAlchemy expunges them
  end
  for i = #tx_del, (del_mark or 0) + 1, -1 do
    local st = tx_del[i]
    tx_del[i] = nil
    st.deleted_flushed = nil
    st.session = self
    identity.put(self, st)
  end
  -- pending objects leave on any rollback: begin_nested() flushed before
  -- its SAVEPOINT, so what is pending now was added inside it
  for i = #self._new, 1, -1 do
    local st = self._new[i]
    st.session = nil
    self._modified[st] = nil
    self._collections[st] = nil
  end
  self._new, self._new_set = {}, {}
  for st in pairs(self._deleted_set) do st.deleted_marked = nil end
  self._deleted, self._deleted_set = {}, {}
  self:expire_all()
end

--- Flushes, then commits the transaction (the outermost, with any
--- savepoints inside it). With expire_on_commit every object expires.
function Session:commit()
  refuse_state_change(self, "commit")
  if self._pending_rollback then pending_rollback_error(self) end
  if not self._conn then
    if #self._new == 0 and #self._deleted == 0 and next(self._modified) == nil and
        next(self._collections) == nil then
      if self._tx_open then end_connection(self) end
      return
    end
    -- the transaction begins before the flush (its after_begin runs
    -- outside it); a session that routes begins each connection at its
    -- first statement
    if self.bind and not routes(self) then
      self:_connection()
    else
      if not self._tx_open then start_transaction(self) end
      self._tx_open = true
    end
  end
  self:flush()
  -- each connection commits in the order it joined; a failure rolls back
  -- those not committed yet (no two-phase commit: what committed stays)
  local conns = self._conns
  for i, e in ipairs(conns) do
    local ok, err = pcall(e.root.commit, e.root)
    if not ok then
      for j = i + 1, #conns do pcall(conns[j].root.rollback, conns[j].root) end
      end_connection(self)
      after_rollback(self)
      error(err, 0)
    end
  end
  end_connection(self)
  for _, st in ipairs(self._tx_deleted or {}) do
    st.session = nil
  end
  self._tx_new, self._tx_deleted, self._tx_keys = {}, {}, {}
  if self.expire_on_commit then self:expire_all() end
  fire(self, "after_commit")
end

--- Rolls back the transaction; objects return to what the database has.
function Session:rollback()
  refuse_state_change(self, "rollback")
  if self._conn or self._tx_open then
    rollback_all(self)
    end_connection(self)
  end
  self._pending_rollback = nil
  after_rollback(self)
  fire(self, "after_rollback")
end

--- Rolls back and expunges everything. The session can be used again.
function Session:close()
  refuse_state_change(self, "close")
  if self._conn or self._tx_open then
    rollback_all(self)
    end_connection(self)
  end
  self._pending_rollback = nil
  self._tx_new, self._tx_deleted, self._tx_keys = {}, {}, {}
  self:expunge_all()
end

Session.__close = function(self) self:close() end

-- A SessionTransaction: what begin()/begin_nested() return.
---@class quicksilver.orm.SessionTransaction
local SessionTransaction = {}
SessionTransaction.__index = SessionTransaction
SessionTransaction.__name = "SessionTransaction"
M.SessionTransaction = SessionTransaction

local function pop(self, tx)
  local stack = self._stack
  for i = #stack, 1, -1 do
    if stack[i] == tx then
      for j = #stack, i, -1 do stack[j].active = false; stack[j] = nil end
      return
    end
  end
end

function SessionTransaction:commit()
  if not self.active then
    exc.raise(exc.InvalidRequestError, "This transaction is inactive", nil, 2)
  end
  local s = self.session
  if self.nested then
    s:flush()
    for _, sp in ipairs(self.sps) do sp:commit() end
    pop(s, self)
  else
    self.active = false
    s:commit()
  end
end

function SessionTransaction:rollback()
  if not self.active then return end
  local s = self.session
  if self.nested then
    for _, sp in ipairs(self.sps) do pcall(sp.rollback, sp) end
    pop(s, self)
    if s._pending_rollback and (s._pending_level or 0) >= self.level then
      s._pending_rollback, s._pending_level = nil, nil
    end
    after_rollback(s, self.new_mark, self.del_mark, self.key_mark)
  else
    self.active = false
    s:rollback()
  end
end

function SessionTransaction:close() if self.active then self:rollback() end end

SessionTransaction.__close = function(self, err)
  if not self.active then return end
  if err ~= nil then self:rollback() else self:commit() end
end

-- pcall's results with their count: a nil among them must not cut the
-- list (# is unreliable on LuaJIT once a hole is there).
local function pcall_packed(fn, ...)
  return pack(pcall(fn, ...))
end

local function run_scope(tx, fn, session)
  local res = pcall_packed(fn, session)
  if not res[1] then
    if tx.active then pcall(tx.rollback, tx) end
    error(res[2], 0)
  end
  if tx.active then tx:commit() end
  return unpack(res, 2, res.n)
end

--- Begins the transaction explicitly; with fn, runs fn(session) in it and
--- commits (rolls back and re-raises on error), returning fn's results.
--- opts {retries = n, ...}: reruns fn after a retryable failure (Engine:begin).
function Session:begin(fn, opts)
  if opts ~= nil then return retry.rerun("Session:begin", self, fn, opts, self.bind) end
  if self._conn or self._tx_open then
    exc.raise(exc.InvalidRequestError, "A transaction is already begun on this Session", nil, 2)
  end
  local tx = setmetatable({session = self, nested = false, active = true, level = 0}, SessionTransaction)
  self._stack[1] = tx
  -- with a default bind the transaction begins there now; a session that
  -- only routes (binds without bind) begins each connection on first use
  if self.bind then
    local ok, err = pcall(self._connection, self)
    if not ok then self._stack = {}; error(err, 0) end
  else
    start_transaction(self)
    self._tx_open = true
  end
  if fn then return run_scope(tx, fn, self) end
  return tx
end

--- A SAVEPOINT: rolling it back undoes only what was flushed inside it.
function Session:begin_nested(fn)
  self:flush()
  -- a SAVEPOINT on every connection of the transaction (at least the
  -- default bind's); a bind used later gets its own when it joins
  if #self._conns == 0 then
    if self.bind then
      self:_connection()
    elseif not self._tx_open then
      start_transaction(self)
      self._tx_open = true
    end
  end
  local sps = {}
  for _, e in ipairs(self._conns) do
    local ok, sp = pcall(e.conn.begin_nested, e.conn)
    if not ok then
      for _, done in ipairs(sps) do pcall(done.rollback, done) end
      error(sp, 0)
    end
    sps[#sps + 1] = sp
  end
  local tx = setmetatable({session = self, nested = true, active = true, sps = sps, sp = sps[1],
    new_mark = #self._tx_new, del_mark = #self._tx_deleted, key_mark = #self._tx_keys}, SessionTransaction)
  self._stack[#self._stack + 1] = tx
  tx.level = #self._stack
  if fn then return run_scope(tx, fn, self) end
  return tx
end

--- A flush failed: the innermost transaction is rolled back in the database
--- (a savepoint, or the whole transaction) and the session refuses work
--- until rollback() is called.
function Session:_flush_failed(err)
  local top = self._stack[#self._stack]
  if top and top.nested then
    for _, sp in ipairs(top.sps) do pcall(sp.rollback, sp) end
    top.sp_rolled_back = true
    self._pending_level = top.level
  else
    rollback_all(self)
    end_connection(self)
    self._pending_level = 0
  end
  self._pending_rollback = err
end


M.routes = routes
M.pcall_packed = pcall_packed
--- Runs fn(session) in tx: commits when it returns (its results returned),
--- rolls back and re-raises when it raises (also for ext.horizontal_shard).
M.run_scope = run_scope

--- Copies the transaction methods onto the Session class.
---@param cls table orm.Session
function M.install(cls)
  for k, v in pairs(Session) do cls[k] = v end
end

return M
