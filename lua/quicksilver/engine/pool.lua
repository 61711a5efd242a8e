--- engine/pool.lua: connection pools (SQLAlchemy's pool/impl.py).
---
--- This is the pool interface the engine uses, with "null" (a fresh
--- connection per checkout, closed at checkin: SQLite files), "static" and
--- "singleton" (one connection for everybody: memory databases, where each
--- connection would otherwise see its own empty database) and "queue" (the
--- servers' default) for one Lua state. The thread-safe QueuePool in C
--- replaces these internals behind the same interface (pool issue).
local event = require("quicksilver.event")
local exc = require("quicksilver.exc")
local util = require("quicksilver.util")

local M = {}

local os_time = os.time

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
  return setmetatable({_creator = creator, _reset_on_return = opts.reset_on_return ~= false,
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
  if self._reset_on_return and not c:closed() and c:txn_state() ~= 0 then
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
  if self._checkedout == 0 and not self:_reset(rec) then self:invalidate(rec) end
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
--- Up to pool_size idle connections kept for reuse, max_overflow more opened
--- on demand and closed at checkin. This Lua form serves one Lua state (one
--- thread): when every connection is out, no other borrower can give one
--- back while this one waits, so the checkout fails at once with
--- TimeoutError; the thread-safe C pool (pool issue) waits pool_timeout.
local QueuePool = util.class("QueuePool", Pool)
M.QueuePool = QueuePool

function QueuePool:_configure(opts)
  self._size = opts.pool_size or 5
  self._overflow = opts.max_overflow or 10
  self._timeout = opts.pool_timeout or 30
  self._recycle = opts.pool_recycle or -1
  self._pre_ping = opts.pool_pre_ping or false
  self._lifo = opts.pool_use_lifo or false
  self._idle = {}
  self._nopen = 0
  self._invalidated_at = -1
end

-- A connection worth handing out: not past pool_recycle, not older than the
-- last invalidation (its peers are suspect), alive when pre-ping asks.
function QueuePool:_usable(rec)
  if rec.cconn:closed() then return false end
  if self._recycle >= 0 and os_time() - rec.created > self._recycle then return false end
  if rec.created < self._invalidated_at then return false end
  if self._pre_ping and not rec.cconn:exec("SELECT 1") then return false end
  return true
end

function QueuePool:checkout()
  local idle = self._idle
  while #idle > 0 do
    local rec = self._lifo and table.remove(idle) or table.remove(idle, 1)
    if self:_usable(rec) then return self:_fire_checkout(rec) end
    self._nopen = self._nopen - 1
    pcall(self._close_record, self, rec)
  end
  if self._nopen >= self._size + self._overflow then
    exc.raise(exc.TimeoutError, string.format("QueuePool limit of size %d overflow %d reached, " ..
      "connection timed out, timeout %s (every connection is checked out; this Lua state " ..
      "cannot wait for one to come back)", self._size, self._overflow, tostring(self._timeout)), nil, 4)
  end
  local rec = self:_open()
  self._nopen = self._nopen + 1
  return self:_fire_checkout(rec)
end

function QueuePool:checkin(rec)
  self:_fire_checkin(rec)
  if rec.invalidated then
    self._nopen = self._nopen - 1
    return
  end
  if not self:_reset(rec) or #self._idle >= self._size then
    self._nopen = self._nopen - 1
    pcall(self._close_record, self, rec)
    return
  end
  self._idle[#self._idle + 1] = rec
end

function QueuePool:invalidate(rec, err)
  Pool.invalidate(self, rec, err)
  self._invalidated_at = os_time() + 1   -- older connections are recycled lazily
end

function QueuePool:dispose()
  for _, rec in ipairs(self._idle) do pcall(self._close_record, self, rec) end
  self._nopen = self._nopen - #self._idle
  self._idle = {}
end

function QueuePool:status()
  return string.format("QueuePool size %d overflow %d: %d idle, %d checked out",
    self._size, self._overflow, #self._idle, self._checkedout)
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
  local pool = cls:new(creator, opts)
  if pool._configure then pool:_configure(opts or {}) end
  return pool
end

return M
