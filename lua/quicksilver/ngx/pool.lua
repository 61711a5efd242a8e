--- ngx/pool.lua: the engine's pool under OpenResty (docs/OPENRESTY.md).
---
--- Under ngx_lua an engine whose dialect has a wire driver
--- (`dialect.wire_driver`: "pgwire", "mywire") gets this pool in front of
--- the pool create_engine built. Each checkout looks at the nginx phase:
---
--- * phases with cosockets (rewrite, access, content, timers, ssl_cert,
---   ...): a wire driver connection over an `ngx.socket.tcp` cosocket, from
---   this worker's own pool. The worker never blocks: while the server
---   works, only the request's coroutine waits.
--- * the other phases (init, init_worker, set, header/body filters, log,
---   balancer): the pool create_engine built, with the URL's own blocking
---   driver, as without nginx.
---
--- A pooled connection is a C connection (it holds the server session's
--- prepared statements and cancel key) that outlives requests, and a
--- cosocket that cannot (nginx closes a request's cosockets when it ends).
--- At checkin the cosocket goes to nginx's keepalive pool (setkeepalive)
--- under a key naming that one session: server, user, database and a serial
--- of the connection. At checkout a new cosocket connects with that key:
--- nginx hands back the kept socket (getreusedtimes() > 0: the same
--- session, the C connection goes on) or, when the kept socket was closed
--- meanwhile (idle timeout, server restart), a new TCP connection on which a
--- new session starts.
local core = require("quicksilver.core")
local event = require("quicksilver.event")
local exc = require("quicksilver.exc")
local pool_mod = require("quicksilver.engine.pool")
local transport = require("quicksilver.ngx.transport")
local util = require("quicksilver.util")
local waiting = require("quicksilver.waiting")

local M = {}

local drive = waiting.drive
local os_time = os.time
local format = string.format
local TXN_NONE = core.txn_states.none
local DEFAULTS = core.pool_defaults()
local newproxy = rawget(_G, "newproxy")   -- LuaJIT's: a userdata with __gc

--- The nginx phases where cosockets (and ngx.semaphore's wait) exist
--- (lua-nginx-module's documentation, "context" of ngx.socket.tcp).
M.COSOCKET_PHASES = {rewrite = true, server_rewrite = true, access = true, content = true,
  timer = true, ssl_cert = true, ssl_session_fetch = true, ssl_client_hello = true, preread = true}

-- Connect timeout of a new cosocket when the URL gives none (seconds).
local CONNECT_TIMEOUT = 10

-- Serials of connections: never given twice in this Lua state (one per
-- worker), so no two sessions ever share a keepalive key.
local serial = 0

--- The ngx table when running under ngx_lua, else nil.
function M.ngx()
  local n = rawget(_G, "ngx")
  if type(n) == "table" and type(n.get_phase) == "function" then return n end
  return nil
end

-- A userdata (LuaJIT) or table (5.2+) whose collection calls fn.
local function gc_guard(fn)
  if newproxy then
    local p = newproxy(true)
    getmetatable(p).__gc = fn
    return p
  end
  return setmetatable({}, {__gc = fn})
end

---@class quicksilver.CosocketPool: quicksilver.Pool
local CosocketPool = util.class("CosocketPool", pool_mod.Pool)
M.CosocketPool = CosocketPool

-- Where the cosocket connects: host and port, or a unix socket path.
local function address(dialect, args)
  if dialect.wire_address then return dialect.wire_address(args) end
  local host = args.host
  if host == nil or host == "" then
    exc.raise(exc.ArgumentError, "under OpenResty the URL must name the server's host (an IP " ..
      "address, a name nginx's resolver knows, or a unix socket directory)", nil, 4)
  end
  local port = tonumber(args.port) or dialect.default_port
  if host:sub(1, 1) == "/" then
    -- a directory holding the server's socket, as libpq's host (PostgreSQL)
    return "unix:" .. host .. "/.s.PGSQL." .. tostring(port or 5432), nil
  end
  if not port then
    exc.raise(exc.ArgumentError, "under OpenResty the URL must name the server's port", nil, 4)
  end
  return host, port
end

--- Puts a cosocket pool in front of `blocking` (the pool create_engine
--- built) when this runs under ngx_lua and the dialect has a wire driver;
--- otherwise returns `blocking` unchanged, and also when the URL names a
--- driver other than the wire one (`postgresql+libpq://`: that driver was
--- asked for). spec: dialect, url, args (the driver options of the URL),
--- setup (the engine's per-connection setup: setup(cconn, waiter)), opts
--- (create_engine's options).
---@param blocking quicksilver.Pool
---@param spec table
---@return quicksilver.Pool
function M.wrap(blocking, spec)
  local dialect = spec.dialect
  if not M.ngx() or not dialect.wire_driver then return blocking end
  -- a URL naming another driver (postgresql+libpq://) keeps it: blocking
  local named = spec.url and spec.url:get_driver_name()
  if named ~= nil and named ~= "wire" then return blocking end
  local opts = spec.opts or {}
  local self = CosocketPool:new(nil, {reset_on_return = opts.pool_reset_on_return})
  local args = util.copy(spec.args)
  args.transport = "external"
  local host, port = address(dialect, args)
  local overflow = opts.max_overflow or DEFAULTS.overflow
  self._blocking = blocking
  self._driver = dialect.wire_driver
  self._args = args
  self._setup = spec.setup
  self._host, self._port = host, port
  self._tls_name = args.host
  self._key = format("qs:%s@%s:%s/%s:", tostring(args.user), tostring(host), tostring(port),
    tostring(args.database))
  self._size = opts.pool_size or DEFAULTS.size
  self._limit = overflow < 0 and math.huge or self._size + overflow
  self._timeout = opts.pool_timeout or DEFAULTS.timeout
  self._recycle = opts.pool_recycle or DEFAULTS.recycle
  self._pre_ping = opts.pool_pre_ping or false
  self._connect_timeout = tonumber(args.connect_timeout) or CONNECT_TIMEOUT
  self._idle = {}   -- slots whose cosocket sits in nginx's keepalive pool, newest last
  self._out = 0     -- slots taken (checked out, or handed to a waiter)
  -- the checked-out records (weak: a request that died holding one
  -- leaves it unreachable, and its guard gives the slot back)
  self._held = setmetatable({}, {__mode = "k"})
  self._pid = nil   -- the worker whose state this is (built lazily, after fork)
  blocking._event_parent = self   -- listeners on engine.pool hear both pools
  return self
end

-- The per-worker state, made in the first cosocket checkout of a worker (a
-- pool created in init_by_lua lives in the master and is copied at fork).
function CosocketPool:_worker(ngx)
  local pid = ngx.worker and ngx.worker.pid and ngx.worker.pid() or 0
  if self._pid ~= pid then
    self._pid = pid
    self._idle, self._out, self._sem = {}, 0, nil
    self._held = setmetatable({}, {__mode = "k"})
  end
end

function CosocketPool:_semaphore()
  local sem = self._sem
  if not sem then
    local err
    sem, err = require("ngx.semaphore").new(0)
    if not sem then error("quicksilver: ngx.semaphore.new failed: " .. tostring(err), 0) end
    self._sem = sem
  end
  return sem
end

-- A checkout that finds every slot taken: records of requests that died
-- holding one (an error between checkout and checkin) can never be checked
-- in, and are unreachable once nginx finished their request; their guards
-- give the slots back when collected. A full collection runs only when one
-- may exist: a held record whose cosocket reports "closed" (nginx closes a
-- request's cosockets when it ends; a transport error closes one too, which
-- costs a collection for nothing) or one collected already. (The holder's
-- coroutine cannot tell: ngx_lua reuses coroutines for later requests.)
function CosocketPool:_reclaim()
  local n, suspect = 0, false
  for rec in pairs(self._held) do
    n = n + 1
    local sock = rec._sock
    local ok, times = pcall(sock.getreusedtimes, sock)
    if ok and times == nil then suspect = true end
  end
  if suspect or n < self._out then collectgarbage("collect") end
end

-- Takes a slot, waiting (FIFO, ngx.semaphore) up to pool_timeout.
function CosocketPool:_acquire()
  if self._out < self._limit then
    self._out = self._out + 1
    return
  end
  local sem = self._sem
  -- a slot handed to a waiter that went away before it woke
  if sem and sem:count() > 0 and sem:wait(0) then return end
  self:_reclaim()
  if self._out < self._limit then
    self._out = self._out + 1
    return
  end
  local ok, err = self:_semaphore():wait(self._timeout)
  if ok then return end   -- handed over: _out already counts it
  if err == "timeout" then
    exc.raise(exc.TimeoutError, format(
      "QueuePool limit of size %d overflow %s reached, connection timed out, timeout %.2f s",
      self._size, tostring(self._limit - self._size), self._timeout), nil, 0)
  end
  error("quicksilver: waiting for a pooled connection failed: " .. tostring(err), 0)
end

-- Gives a slot back: to the first waiter when there is one (no barging),
-- else to the free count.
function CosocketPool:_release()
  local sem = self._sem
  if sem and sem:count() < 0 then
    sem:post(1)
  else
    self._out = self._out - 1
  end
end

local function close_quietly(sock)
  if sock then pcall(sock.close, sock) end
end

function CosocketPool:_drop(slot)
  local c = slot.cconn
  slot.cconn = nil
  if c and not c:closed() then
    if event.has(self, "close") then pcall(event.fire, self, "close", c, slot) end
    c:close()
  end
end

-- A new cosocket connected under slot's key.
function CosocketPool:_connect(ngx, slot)
  local sock = ngx.socket.tcp()
  sock:settimeout(self._connect_timeout * 1000)
  local ok, err
  local copts = slot.copts
  if not copts then
    copts = {pool = slot.key}
    slot.copts = copts
  end
  if self._port then
    ok, err = sock:connect(self._host, self._port, copts)
  else
    ok, err = sock:connect(self._host, copts)
  end
  if not ok then
    exc.raise(exc.OperationalError, format("cannot connect to %s%s: %s", self._host,
      self._port and (":" .. self._port) or "", tostring(err)), {connection_invalidated = true}, 0)
  end
  return sock
end

-- A new server session on slot over sock (a fresh TCP connection): the
-- wire driver's startup and authentication, then the engine's setup, all
-- through the cosocket.
function CosocketPool:_start(slot, sock)
  local cconn, err = core.connect_start(self._driver, self._args)
  if not cconn then
    close_quietly(sock)
    error(err, 0)
  end
  local W, attach = transport.waiter(cconn, sock, {server_name = self._tls_name})
  cconn:set_waiter(W)
  local ok, cerr = drive(cconn, cconn:connect())
  if not ok then
    cconn:close()
    close_quietly(sock)
    error(cerr, 0)
  end
  if self._setup then
    local sok, serr = pcall(self._setup, cconn, W)
    if not sok then
      cconn:close()
      close_quietly(sock)
      error(serr, 0)
    end
  end
  slot.cconn, slot.created, slot.info = cconn, os_time(), {}
  slot.waiter, slot.attach = W, attach
  return W, true
end

-- A slot's guard: collected with the slot when nothing reaches either any
-- more, which for a checked-out slot means its record was lost (its request
-- died before the checkin: an idle slot sits in the idle list). Then the
-- slot's connection is closed and its place given back. One per slot.
function CosocketPool:_guard(slot)
  local pool = self
  slot.guard = gc_guard(function()
    local state = slot.state
    if not (state and state.armed) then return end
    state.armed = false
    pool._checkedout = pool._checkedout - 1
    pcall(pool._drop, pool, slot)
    pool:_release()
  end)
end

-- The record handed to the engine: the slot's connection with this
-- request's cosocket and the slot's waiter (moved to that cosocket). Its
-- state says whether it is still checked out (a second checkin of the
-- same record does nothing, whoever holds the slot by then).
function CosocketPool:_record(slot, sock)
  local state = {armed = true}
  slot.state = state
  if not slot.guard then self:_guard(slot) end
  local rec = {cconn = slot.cconn, created = slot.created, info = slot.info, waiter = slot.waiter,
    _slot = slot, _sock = sock, _state = state, _guard = slot.guard}
  self._held[rec] = true
  return rec
end

-- An idle slot's session attached to a new cosocket, or a new session.
function CosocketPool:_session(ngx)
  local idle = self._idle
  local slot = table.remove(idle)
  if slot and self._recycle and self._recycle >= 0 and os_time() - slot.created > self._recycle then
    self:_drop(slot)   -- too old: its key is not used again
    slot = nil
  end
  if slot then
    local sock = self:_connect(ngx, slot)
    local c = slot.cconn
    if sock:getreusedtimes() > 0 and c and not c:closed() then
      slot.attach(sock)
      c:set_waiter(slot.waiter)
      if not self._pre_ping then return slot, sock, false end
      local ok, res = pcall(function() return drive(c, c:exec("SELECT 1")) end)
      if ok and res then return slot, sock, false end
      -- the ping failed: the session is gone; a new one on a new socket
      close_quietly(sock)
      self:_drop(slot)
      sock = self:_connect(ngx, slot)
    end
    -- the kept socket was closed meanwhile (idle timeout, server gone):
    -- sock is a new TCP connection under the slot's key; a new session on it
    self:_drop(slot)
    self:_start(slot, sock)
    return slot, sock, true
  end
  serial = serial + 1
  slot = {key = self._key .. serial}
  local sock = self:_connect(ngx, slot)
  self:_start(slot, sock)
  return slot, sock, true
end

function CosocketPool:_checkout_cosocket(ngx)
  self:_worker(ngx)
  self:_acquire()
  local ok, slot, sock, fresh = pcall(self._session, self, ngx)
  if not ok then
    self:_release()
    error(slot, 0)
  end
  local rec = self:_record(slot, sock)
  if fresh and event.has(self, "connect") then event.fire(self, "connect", rec.cconn, rec) end
  return self:_fire_checkout(rec)
end

--- A connection: over a cosocket in the phases that have them, else from
--- the blocking pool.
function CosocketPool:checkout()
  local ngx = M.ngx()
  if ngx and M.COSOCKET_PHASES[ngx.get_phase()] then return self:_checkout_cosocket(ngx) end
  return self._blocking:checkout()
end

-- Whether rec's session may go back to the keepalive pool: not
-- invalidated, open, no operation half done, its transaction ended (rolled
-- back here through the cosocket when reset_on_return).
function CosocketPool:_clean(rec)
  local c = rec.cconn
  if rec.invalidated or c:closed() or c:pending() then return false end
  if c:txn_state() ~= TXN_NONE then
    if not self._reset_on_return then return false end
    if event.has(self, "reset") then pcall(event.fire, self, "reset", c, rec) end
    local ok, res = pcall(function() return drive(c, c:rollback()) end)
    if not (ok and res) or c:closed() or c:txn_state() ~= TXN_NONE then return false end
  end
  c:end_statements()   -- no cursor outlives its borrower
  return true
end

--- Gives a connection back: a clean session's cosocket to nginx's
--- keepalive pool (idle time: lua_socket_keepalive_timeout) and its C
--- connection to this pool's idle list (at most pool_size of them); a
--- dirty, busy or surplus one is closed.
function CosocketPool:checkin(rec)
  local slot = rec._slot
  if not slot then return self._blocking:checkin(rec) end
  if not rec._state.armed then return end   -- checked in already
  rec._state.armed = false
  self._held[rec] = nil
  self:_fire_checkin(rec)
  local sock = rec._sock
  local keep = #self._idle < self._size and self:_clean(rec)
  if keep then
    -- nil, err: nginx would not keep it ("connection in dubious state":
    -- unread bytes; or a cosocket of another request)
    local ok, kept = pcall(sock.setkeepalive, sock, nil, 1)
    keep = ok and kept and true or false
  end
  if keep then
    rec.cconn:set_waiter(nil)   -- no cosocket until the next checkout
    self._idle[#self._idle + 1] = slot
  else
    close_quietly(sock)
    self:_drop(slot)
  end
  self:_release()
end

function CosocketPool:invalidate(rec, err)
  if not rec._slot then return self._blocking:invalidate(rec, err) end
  if event.has(self, "invalidate") then pcall(event.fire, self, "invalidate", rec.cconn, rec, err) end
  rec.invalidated = true
end

--- Closes the idle connections of this worker and the blocking pool's.
--- (Their kept cosockets stay in nginx's keepalive pool until its idle
--- timeout closes them: no request will ask for their keys again.)
function CosocketPool:dispose()
  local idle = self._idle
  self._idle = {}
  for _, slot in ipairs(idle) do pcall(self._drop, self, slot) end
  self._blocking:dispose()
end

--- This worker's cosocket pool and the blocking pool, as numbers.
function CosocketPool:status_table()
  return {size = self._size, overflow = self._limit - self._size, idle = #self._idle,
    checked_out = self._out, waiting = self._sem and math.max(0, -self._sem:count()) or 0}
end

function CosocketPool:status()
  local s = self:status_table()
  local ok, b = pcall(self._blocking.status, self._blocking)
  return format("CosocketPool size %d overflow %s: %d idle, %d checked out, %d waiting; blocking: %s",
    s.size, tostring(s.overflow), s.idle, s.checked_out, s.waiting, ok and tostring(b) or "?")
end

return M
