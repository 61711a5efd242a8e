--- engine/pool.lua: connection pools (SQLAlchemy's pool/impl.py).
---
--- The pool interface the engine uses: "null" (a fresh connection per
--- checkout, closed at checkin), "static" and "singleton" (one connection
--- for everybody: memory databases, where each connection would otherwise
--- see its own empty database) and "queue" (the default for servers and
--- SQLite files) over the thread-safe C pool.
local core = require("quicksilver.core")
local event = require("quicksilver.event")
local exc = require("quicksilver.exc")
local util = require("quicksilver.util")
local waiting = require("quicksilver.waiting")

local M = {}

local os_time = os.time

-- What conn:txn_state() returns when no transaction is open.
local TXN_NONE = core.txn_states.none

-- The QueuePool's defaults are the C pool's (qs_pool_conf_defaults), the one
-- place they are written: pool_size 5, max_overflow 10, pool_timeout 30, ...
local DEFAULTS = core.pool_defaults()

-- Whether a pool rolls back what a borrower left open: on unless false.
local function reset_on_return(opts)
  if opts.reset_on_return == nil then return DEFAULTS.reset_on_return end
  return opts.reset_on_return ~= false
end

---@class quicksilver.PoolRecord
---@field cconn userdata the driver connection (quicksilver.Connection from C)
---@field created integer os.time() when it was opened
---@field info table per-connection storage for users (SQLAlchemy's .info)

---@class quicksilver.Pool
local Pool = util.class("Pool")
Pool._event_names = {connect = true, checkout = true, checkin = true, reset = true,
  invalidate = true, close = true}
M.Pool = Pool

--- creator() returns a new driver connection or raises.
function Pool.new(cls, creator, opts)
  opts = opts or {}
  return setmetatable({_creator = creator, _reset_on_return = reset_on_return(opts),
    _echo = opts.echo, _checkedout = 0}, cls)
end

function Pool:_open()
  local rec = {cconn = self._creator(), created = os_time(), info = {}}
  if event.has(self, "connect") then event.fire(self, "connect", rec.cconn, rec) end
  return rec
end

function Pool:_close_record(rec)
  if rec.cconn then
    if event.has(self, "close") then event.fire(self, "close", rec.cconn, rec) end
    rec.cconn:close()
  end
end

--- Ends whatever the borrower left open, so no transaction or lock leaks into
--- the next checkout.
function Pool:_reset(rec)
  local c = rec.cconn
  if self._reset_on_return and not c:closed() and c:txn_state() ~= TXN_NONE then
    if event.has(self, "reset") then event.fire(self, "reset", c, rec) end
    local ok = c:rollback()
    if not ok then return false end
  end
  return not c:closed()
end

function Pool:_fire_checkout(rec)
  self._checkedout = self._checkedout + 1
  if event.has(self, "checkout") then event.fire(self, "checkout", rec.cconn, rec) end
  return rec
end

function Pool:_fire_checkin(rec)
  self._checkedout = self._checkedout - 1
  if event.has(self, "checkin") then event.fire(self, "checkin", rec.cconn, rec) end
end

--- Discards a connection that must not be used again.
function Pool:invalidate(rec, err)
  if event.has(self, "invalidate") then event.fire(self, "invalidate", rec.cconn, rec, err) end
  rec.invalidated = true
  pcall(self._close_record, self, rec)
end

--- How many connections are checked out now.
function Pool:checkedout() return self._checkedout end

---@class quicksilver.NullPool: quicksilver.Pool
local NullPool = util.class("NullPool", Pool)
M.NullPool = NullPool

function NullPool:checkout()
  return self:_fire_checkout(self:_open())
end

function NullPool:checkin(rec)
  self:_fire_checkin(rec)
  if not rec.invalidated then self:_close_record(rec) end
end

function NullPool:dispose() end

function NullPool:status() return "NullPool" end

---@class quicksilver.StaticPool: quicksilver.Pool
--- One connection, handed to every checkout (also "singleton": one Lua state
--- is one thread, so one connection per thread is this one).
local StaticPool = util.class("StaticPool", Pool)
M.StaticPool = StaticPool

function StaticPool:checkout()
  local rec = self._rec
  if rec == nil or rec.invalidated then
    rec = self:_open()
    self._rec = rec
  end
  return self:_fire_checkout(rec)
end

function StaticPool:checkin(rec)
  self:_fire_checkin(rec)
  if rec.invalidated then return end
  if self._checkedout == 0 then
    rec.cconn:end_statements()   -- no cursor outlives its borrower
    if not self:_reset(rec) then self:invalidate(rec) end
  end
end

function StaticPool:dispose()
  local rec = self._rec
  self._rec = nil
  if rec then self:_close_record(rec) end
end

function StaticPool:status()
  return string.format("StaticPool (connection %s, checked out %d)",
    self._rec and "open" or "none", self._checkedout)
end

---@class quicksilver.QueuePool: quicksilver.Pool
--- SQLAlchemy's QueuePool over the thread-safe C pool (c/core/pool.c): up to
--- pool_size idle connections kept, max_overflow more opened on demand, a
--- checkout that finds none waits pool_timeout seconds and then raises
--- TimeoutError. Under a waiter (the engine's `waiter`, or the process
--- default, called from a coroutine) a checkout that must wait takes a ticket
--- in the C pool's line (first come, first served, threads and coroutines
--- alike) and suspends the coroutine on the ticket's fd through the waiter:
--- the OS thread never blocks, and a new or pinged connection is readied
--- through the waiter as well. Without one, `pool_wait` (a function that
--- yields, e.g. ngx.sleep(0.01)) is called between non-blocking tries instead
--- of blocking the OS thread. `shared_pool = "name"` attaches to the
--- process-wide pool of that name (several threads' Lua states, one pool).
local QueuePool = util.class("QueuePool", Pool)
M.QueuePool = QueuePool

function QueuePool:_configure(opts)
  local conf = {size = opts.pool_size or DEFAULTS.size,
    overflow = opts.max_overflow or DEFAULTS.overflow,
    timeout = opts.pool_timeout or DEFAULTS.timeout, recycle = opts.pool_recycle or DEFAULTS.recycle,
    lifo = opts.pool_use_lifo or DEFAULTS.lifo, pre_ping = opts.pool_pre_ping or DEFAULTS.pre_ping,
    reset_on_return = reset_on_return(opts), setup = opts.setup_key}
  if not opts.driver then
    exc.raise(exc.ArgumentError, "QueuePool: no driver to open connections with", nil, 4)
  end
  self._driver, self._args, self._conf, self._shared = opts.driver, opts.connect_args or {}, conf,
    opts.shared_pool
  self._timeout = conf.timeout
  self._wait = opts.pool_wait
  self._waiter = opts.waiter
  self._setup = opts.setup
  self:_attach()
end

-- The C pool: a private one, or the process-wide one of the shared_pool
-- name, which refuses (ArgumentError naming the difference) an engine whose
-- URL, driver or pool options are not those it was made with.
function QueuePool:_attach()
  local c, err
  if self._shared then
    c, err = core.pool_shared(self._shared, self._driver, self._args, self._conf)
  else
    c, err = core.pool_new(self._driver, self._args, self._conf)
  end
  if not c then error(err, 0) end
  self._c = c
  return c
end

-- The C pool, attached again after a shared pool's dispose() detached it.
function QueuePool:_pool()
  return self._c or self:_attach()
end

-- SQLAlchemy's message for an exhausted pool, as the C pool words it.
function QueuePool:_timeout_error()
  local conf = self._conf
  exc.raise(exc.TimeoutError, string.format(
    "QueuePool limit of size %d overflow %d reached, connection timed out, timeout %.2f s",
    conf.size, conf.overflow, self._timeout), nil, 0)
end

-- Waits (through W, suspending the coroutine) until the ticket is handed a
-- connection or the pool's timeout passes; returns what take() gave.
function QueuePool:_wait_turn(ticket, W, deadline)
  while true do
    local cconn, todo = ticket:take()
    if cconn then return cconn, todo end
    if todo ~= nil then error(todo, 0) end   -- the ticket is spent
    local left = deadline - core.now()
    if left <= 0 then
      ticket:cancel()   -- what it is handed from now on goes to the next in line
      self:_timeout_error()
    end
    local ok, err = pcall(W, ticket:fd(), "r", left)
    if not ok then
      ticket:cancel()
      error(err, 0)
    end
  end
end

-- Readies a connection checked out without blocking: todo "connect"
-- completes a new one, "ping" asks an idle one "SELECT 1", both through the
-- waiter. Returns true, or nil and the error.
local function ready_nb(cconn, todo)
  if todo == "connect" then return waiting.drive(cconn, cconn:connect()) end
  return waiting.drive(cconn, cconn:exec("SELECT 1"))
end

-- A connection for a coroutine under the waiter W: never blocks the thread.
-- A new connection is connected, an idle one pinged (pool_pre_ping), through
-- the waiter; a failed ping discards it and the checkout goes on, a failed
-- connect raises (the slot is handed on).
function QueuePool:_checkout_waiting(c, W)
  local deadline = core.now() + self._timeout
  while true do
    local cconn, todo = c:checkout_nb()
    if not cconn then
      if type(todo) ~= "userdata" then error(todo, 0) end   -- an error object
      cconn, todo = self:_wait_turn(todo, W, deadline)
    end
    -- the engine's waiter is the connection's own (the process default
    -- applies without it): its connect or ping below already waits through it
    if self._waiter then cconn:set_waiter(self._waiter) end
    if todo == nil then return cconn, false end
    local call_ok, ok, err = pcall(ready_nb, cconn, todo)
    if call_ok and ok then return cconn, todo == "connect" end
    -- its place goes to the next in line: a connect that failed left the
    -- connection closed (or busy, when the waiter failed), which the C pool
    -- drops when it comes back; a failed ping invalidates, as SQLAlchemy's
    -- (the server dropped it: those opened before it go too)
    if todo == "connect" then
      cconn:close()
      error(call_ok and err or ok, 0)
    end
    c:discard(cconn)
  end
end

function QueuePool:checkout()
  local c = self:_pool()
  local cconn, fresh = nil, nil
  local wait = self._wait
  local W = waiting.current(self._waiter)
  if W then
    cconn, fresh = self:_checkout_waiting(c, W)
  elseif wait then   -- never block the OS thread: try, yield, try again
    local deadline = core.now() + self._timeout
    repeat
      cconn, fresh = c:checkout(0)
      if cconn then break end
      if core.now() >= deadline then break end
      wait()
    until false
    if not cconn then
      local ok, err = c:checkout(0)   -- the error of a last try, after the deadline
      if not ok then error(err, 0) end
      cconn, fresh = ok, err
    end
  else
    cconn, fresh = c:checkout()
    if not cconn then error(fresh, 0) end
  end
  -- the setup of a new connection; in a shared pool also on this engine's
  -- first checkout, since another engine may have opened the connection
  -- (the dialect learns the server from it, as SQLAlchemy's first_connect)
  if self._setup and (fresh or (self._shared and not self._set_up)) then
    self._set_up = true
    local ok, err = pcall(self._setup, cconn)
    if not ok then
      cconn:invalidate()
      error(err, 0)
    end
  end
  local rec = {cconn = cconn, created = os_time(), info = {}}
  if fresh and event.has(self, "connect") then event.fire(self, "connect", cconn, rec) end
  return self:_fire_checkout(rec)
end

-- Gives the connection back to the C pool, which rolls back what is open.
-- Under a waiter the rollback runs here, through it: the C pool would close
-- a non-blocking connection with a transaction open rather than wait.
function QueuePool:checkin(rec)
  self:_fire_checkin(rec)
  local c = rec.cconn
  if not rec.invalidated and not c:closed() and c:txn_state() ~= TXN_NONE and self._reset_on_return then
    if event.has(self, "reset") then event.fire(self, "reset", c, rec) end
    local W = waiting.current(self._waiter)
    if W then pcall(function() return waiting.drive(c, c:rollback()) end) end   -- failed: closed
  end
  c:close()   -- back to the C pool
end

function QueuePool:invalidate(rec, err)
  if event.has(self, "invalidate") then event.fire(self, "invalidate", rec.cconn, rec, err) end
  rec.invalidated = true
  rec.cconn:invalidate()
end

--- A private pool closes its idle connections (checked-out ones close when
--- they come back). A shared pool is left by this engine only: the pool
--- closes when its last engine leaves (or on dispose_shared()); the engine
--- attaches again at its next checkout.
function QueuePool:dispose()
  local c = self._c
  if not c then return end
  if self._shared then
    self._c = nil
    c:release()
  else
    c:dispose()
  end
end

--- Closes the idle connections of the pool for every engine attached to it
--- (the whole shared pool, from any one engine of it).
function QueuePool:dispose_shared()
  self:_pool():dispose()
end

--- size, overflow, open, idle, checked_out, waiting and counters.
function QueuePool:status_table() return self:_pool():status() end

function QueuePool:status()
  local s = self:_pool():status()
  return string.format("QueuePool size %d overflow %d: %d open, %d idle, %d checked out, %d waiting",
    s.size, s.overflow, s.open, s.idle, s.checked_out, s.waiting)
end

local classes = {null = NullPool, static = StaticPool, singleton = StaticPool, queue = QueuePool}

--- A pool of the named class over creator.
---@param name string "null" | "static" | "singleton"
---@param creator fun(): userdata
---@param opts? table
---@return quicksilver.Pool
function M.create(name, creator, opts)
  local cls = classes[name]
  if not cls then
    exc.raise(exc.ArgumentError, string.format(
      "unknown poolclass '%s' (expected queue, null, static or singleton)", tostring(name)))
  end
  if opts and opts.shared_pool ~= nil and cls ~= QueuePool then
    exc.raise(exc.ArgumentError, string.format(
      "shared_pool needs the queue pool class; this engine's is '%s'", tostring(name)))
  end
  local pool = cls:new(creator, opts)
  if pool._configure then pool:_configure(opts or {}) end
  return pool
end

return M
