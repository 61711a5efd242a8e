--- quicksilver.ext.replicas: read/write splitting for the ORM Session.
---
--- A Session whose reads go to a read replica and whose writes go to the
--- primary, after SQLAlchemy's "custom vertical partitioning" recipe:
---
---   local replicas = require("quicksilver.ext.replicas")
---   local Session = replicas.sessionmaker({primary = primary_engine,
---     replicas = {replica_engine}, max_lag = 5})
---   local s = Session()
---
--- What goes where (the session's get_bind, orm/session_binds.lua):
--- - the flush, insert/update/delete statements, SELECT ... FOR UPDATE,
---   text() (its SQL is not read) and `s:connection()` go to the primary;
--- - once the transaction has used the primary (it wrote, or locked rows),
---   everything in it goes there too: a transaction reads its own writes;
--- - with `sticky = seconds`, a session that committed a write keeps reading
---   from the primary that long (its next transactions see the write before
---   the replica has replayed it);
--- - other reads (select of models or tables, session:get, lazy and eager
---   loads, refresh) go to a replica: the one the transaction already
---   reads from, else the next healthy one in turn;
--- - a replica is healthy when it answered its last check: a connection and,
---   with `max_lag`, its lag (the dialect's replica_lag: PostgreSQL's
---   pg_last_xact_replay_timestamp) at most max_lag seconds. Checks run at
---   most every `check_interval` seconds per replica (shared by every
---   session of the router); one that failed is skipped for `down_for`
---   seconds. No healthy replica: the read goes to the primary.
--- `s:use_primary(fn)` runs fn(s) with every statement on the primary.
local exc = require("quicksilver.exc")
local util = require("quicksilver.util")
local event = require("quicksilver.event")
local core = require("quicksilver.core")
local orm = require("quicksilver.orm")
local session_mod = require("quicksilver.orm.session")

local M = {}

local type, rawget, rawset, pairs, ipairs, pcall, setmetatable, getmetatable, format, tostring, error =
  type, rawget, rawset, pairs, ipairs, pcall, setmetatable, getmetatable, string.format, tostring, error
local K = core.kinds
local now = core.now
local unpack = table.unpack or unpack

local ROUTER_OPTIONS = {primary = true, replicas = true, max_lag = true, check_interval = true,
  down_for = true, sticky = true}

---@class quicksilver.ext.replicas.Router
---@field primary table
---@field replicas table
local Router = {}
Router.__index = Router
Router.__name = "replicas.Router"

local function check_seconds(opts, key, default, level)
  local v = opts[key]
  if v == nil then return default end
  if type(v) ~= "number" or v ~= v or v < 0 then
    exc.raise(exc.ArgumentError, format("replicas: %s must be a number of seconds >= 0, got %s", key,
      util.repr(v, 30)), nil, level)
  end
  return v
end

local function is_engine(e)
  return type(e) == "table" and type(e.connect) == "function" and e.dialect ~= nil
end

--- A router: the primary, the replicas and their health, shared by the
--- sessions it routes. opts: primary (Engine), replicas (list of Engines),
--- max_lag (seconds, nil: lag not checked), check_interval (seconds between
--- checks of one replica, default 1), down_for (seconds a replica that
--- failed its check is skipped, default 5), sticky (seconds a session
--- reads from the primary after committing a write, default 0).
---@param opts table
---@return quicksilver.ext.replicas.Router
function M.Router(opts, level)
  level = level or 2
  if type(opts) ~= "table" then
    exc.raise(exc.ArgumentError, "replicas: expected a table of options {primary = engine, replicas = {...}}",
      nil, level)
  end
  for k in pairs(opts) do
    if not ROUTER_OPTIONS[k] then
      exc.raise(exc.ArgumentError, format("replicas: unknown option '%s'", tostring(k)), nil, level)
    end
  end
  if not is_engine(opts.primary) then
    exc.raise(exc.ArgumentError, "replicas: primary must be an Engine", nil, level)
  end
  local list = opts.replicas
  if type(list) ~= "table" or list[1] == nil then
    exc.raise(exc.ArgumentError, "replicas: replicas must be a non-empty list of Engines", nil, level)
  end
  local reps = {}
  for i, e in ipairs(list) do
    if not is_engine(e) then
      exc.raise(exc.ArgumentError, format("replicas: replicas[%d] must be an Engine", i), nil, level)
    end
    if e == opts.primary then
      exc.raise(exc.ArgumentError, format("replicas: replicas[%d] is the primary", i), nil, level)
    end
    reps[i] = e
  end
  return setmetatable({
    primary = opts.primary,
    replicas = reps,
    max_lag = check_seconds(opts, "max_lag", nil, level + 1),
    check_interval = check_seconds(opts, "check_interval", 1, level + 1),
    down_for = check_seconds(opts, "down_for", 5, level + 1),
    sticky = check_seconds(opts, "sticky", 0, level + 1),
    next = 1,
    status = {},   -- engine -> {ok = bool, at = time checked, until = skip until, lag = seconds, err = message}
    checks = 0,    -- how many checks ran (for tests and monitoring)
  }, Router)
end

-- Checks one replica: it connects, and (with max_lag) its lag is known and
-- within bounds.
function Router:_check(e)
  self.checks = self.checks + 1
  local t = now()
  local ok, lag = pcall(e.connect, e, function(conn)
    if self.max_lag == nil then return 0 end
    return conn.dialect.replica_lag(conn)
  end)
  local st = {at = t}
  if not ok then
    st.ok, st.err, st["until"] = false, tostring(lag), t + self.down_for
  elseif lag == nil or (self.max_lag ~= nil and lag > self.max_lag) then
    st.ok, st.lag = false, lag
    st.err = lag == nil and "replication stopped (lag unknown)" or format("lag %.3f s > max_lag %g s", lag, self.max_lag)
    st["until"] = t
  else
    st.ok, st.lag = true, lag
  end
  self.status[e] = st
  return st.ok
end

-- Whether replica e may take reads now (checked when its status is older
-- than check_interval and it is not being skipped).
function Router:_usable(e)
  local st = self.status[e]
  local t = now()
  if st then
    if not st.ok and st["until"] > t then return false end
    if t - st.at < self.check_interval then return st.ok end
  end
  return self:_check(e)
end

--- The replica the next read goes to, or nil when none is healthy.
---@return table|nil
function Router:replica()
  local n = #self.replicas
  for i = 0, n - 1 do
    local k = (self.next + i - 1) % n + 1
    local e = self.replicas[k]
    if self:_usable(e) then
      self.next = k % n + 1
      return e
    end
  end
  return nil
end

--- What the router knows of each replica: {engine, ok, lag, err, checked_at}.
---@return table
function Router:health()
  local out = {}
  for i, e in ipairs(self.replicas) do
    local st = self.status[e] or {}
    out[i] = {engine = e, ok = st.ok, lag = st.lag, err = st.err, checked_at = st.at}
  end
  return out
end

-- A statement that writes or locks, or whose SQL the router cannot read
-- (text()): anything but a plain SELECT (or UNION of them) or a table.
local function writes(clause)
  if type(clause) ~= "table" then return false end
  if clause._dml or rawget(clause, "_for_update") then return true end
  local k = clause._k
  return k ~= K.SELECT and k ~= K.COMPOUND and k ~= K.TABLE
end

-- The session's get_bind: the rules in the header.
local function get_bind(self, mapper, clause)
  local r = rawget(self, "_replicas")
  local primary = r.primary
  if self._flushing or rawget(self, "_use_primary") then
    rawset(self, "_wrote_at", now())
    return primary
  end
  -- the transaction already uses the primary: it stays there
  if self._conn_of[primary] then return primary end
  if (mapper == nil and clause == nil) or writes(clause) then return primary end
  if r.sticky > 0 then
    local at = rawget(self, "_committed_write_at")
    if at and now() - at < r.sticky then return primary end
  end
  -- the replica this transaction reads from already
  for _, e in ipairs(r.replicas) do
    if self._conn_of[e] then return e end
  end
  return r:replica() or primary
end

local Session = orm.Session

-- s:use_primary(fn): fn(s) with every statement on the primary.
local function use_primary(self, fn)
  local prev = rawget(self, "_use_primary")
  rawset(self, "_use_primary", true)
  local res = util.pack(pcall(fn, self))
  rawset(self, "_use_primary", prev)
  if not res[1] then error(res[2], 0) end
  return unpack(res, 2, res.n)
end

--- Makes session route through router: its get_bind replaced, and its
--- commits of writes remembered (for `sticky`). Returns the session.
---@param session table an orm.Session bound to the router's primary
---@param router quicksilver.ext.replicas.Router
---@return table
function M.install(session, router)
  if getmetatable(router) ~= Router then
    exc.raise(exc.ArgumentError, "replicas.install: expected a replicas.Router", nil, 2)
  end
  rawset(session, "_replicas", router)
  rawset(session, "get_bind", get_bind)
  rawset(session, "use_primary", use_primary)
  if session.bind == nil then session.bind = router.primary end
  -- a commit after a flush wrote: the write time becomes the commit's
  event.listen(session, "after_commit", function(s)
    local at = rawget(s, "_wrote_at")
    if at then
      rawset(s, "_committed_write_at", now())
      rawset(s, "_wrote_at", nil)
    end
  end)
  event.listen(session, "after_rollback", function(s)
    rawset(s, "_wrote_at", nil)
  end)
  return session
end

--- A session factory whose sessions route through one Router: opts are the
--- Router's (primary, replicas, max_lag, check_interval, down_for, sticky)
--- and any orm.Session option (autoflush, expire_on_commit, ...; bind is
--- the primary). Calling it makes a session; `maker.router` is the Router.
---@param opts table
---@return table
function M.sessionmaker(opts)
  if type(opts) ~= "table" then
    exc.raise(exc.ArgumentError, "replicas.sessionmaker: expected a table of options", nil, 2)
  end
  local ropts, sopts = {}, {}
  for k, v in pairs(opts) do
    if ROUTER_OPTIONS[k] then ropts[k] = v else sopts[k] = v end
  end
  if sopts.bind ~= nil or sopts.binds ~= nil then
    exc.raise(exc.ArgumentError, "replicas.sessionmaker: bind and binds are the router's (primary, replicas)",
      nil, 2)
  end
  local router = M.Router(ropts, 3)
  sopts.bind = router.primary
  local maker = orm.sessionmaker(sopts)
  -- kw: what sessionmaker's begin reads (the bind whose waiter a retry uses)
  local wrapper = {router = router, maker = maker, kw = {bind = router.primary}}
  return setmetatable(wrapper, {
    __name = "replicas.sessionmaker",
    __call = function(_, overrides)
      return M.install(maker(overrides), router)
    end,
    -- begin(fn, opts): a session, fn run in its transaction, committed and
    -- closed (with opts.retries, a new session per try), as sessionmaker's
    __index = {begin = session_mod.Maker.begin},
  })
end

M.Session = Session
return M
