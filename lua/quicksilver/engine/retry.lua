--- engine/retry.lua: the transaction-retry helper behind
--- `engine:begin(fn, {retries = n})`, `session:begin(fn, {retries = n})` and
--- `sessionmaker:begin(fn, {retries = n})` (docs/SCALING.md, Galera).
---
--- A transaction the server rolled back over a conflict with a concurrent
--- one (a Galera certification failure, a deadlock, a PostgreSQL
--- serialization failure: qs.exc.TransactionRollbackError, err.retryable)
--- did nothing, so running it again from its start, in a new transaction,
--- is safe and usually succeeds. Anything else is raised at once: a
--- constraint violation would fail again, and a connection lost during
--- COMMIT leaves the outcome unknown (a rerun could apply the writes twice).
local core = require("quicksilver.core")
local exc = require("quicksilver.exc")
local util = require("quicksilver.util")
local waiting = require("quicksilver.waiting")

local M = {}

local type, pcall, error, tostring, tonumber, rawget, getmetatable, floor =
  type, pcall, error, tostring, tonumber, rawget, getmetatable, math.floor
local format = string.format
local pack, unpack = util.pack, util.unpack
local poll = core.poll

--- The first wait when `backoff` is not given, in seconds: each retry
--- doubles it (up to MAX_WAIT, or backoff itself when larger), and the wait
--- is a random point in the upper half of it.
M.DEFAULT_BACKOFF = 0.01
M.MAX_WAIT = 1

local OPTIONS = {retries = true, backoff = true, sleep = true, on_retry = true}

-- The jitter's generator: Park-Miller's (exact in doubles, so the same on
-- 5.1 and LuaJIT as on 5.4), seeded per process from the clock and an
-- address, so that processes that conflicted do not wait in step. Not
-- math.random: a library must not reseed (or depend on) the caller's one.
local seed
local function random()
  if not seed then
    local addr = tonumber(tostring({}):match("0x(%x+)") or "0", 16) or 0
    seed = floor(core.now() * 1e6 + addr) % 2147483646 + 1
  end
  seed = seed * 16807 % 2147483647
  return seed / 2147483647
end

local function bad(what, msg)
  exc.raise(exc.ArgumentError, what .. ": " .. msg, nil, 0)
end

-- Checks the options (named in what's messages), returning them with their
-- defaults filled in.
local function check(what, opts)
  util.check_options(what, opts, OPTIONS, 3)
  local n = opts.retries
  if n == nil then
    bad(what, "option 'retries' is required with options (the number of reruns, an integer >= 0)")
  end
  if type(n) ~= "number" or n ~= n or n < 0 or n % 1 ~= 0 or n == 1 / 0 then
    bad(what, "option 'retries' must be an integer >= 0, got " .. util.repr(n, 40))
  end
  local b = opts.backoff
  if b == nil then
    b = M.DEFAULT_BACKOFF
  elseif type(b) ~= "number" or b ~= b or b < 0 or b == 1 / 0 then
    bad(what, "option 'backoff' must be seconds >= 0, got " .. util.repr(b, 40))
  end
  if opts.sleep ~= nil and type(opts.sleep) ~= "function" then
    bad(what, "option 'sleep' must be a function(seconds), got " .. type(opts.sleep))
  end
  if opts.on_retry ~= nil and type(opts.on_retry) ~= "function" then
    bad(what, "option 'on_retry' must be a function(err, retry, wait), got " .. type(opts.on_retry))
  end
  return n, b
end

--- Whether the helper reruns a transaction that raised err: a quicksilver
--- error that says it is retryable, on a connection that was not lost.
---@param err any
---@return boolean
function M.retryable(err)
  return exc.is_error(err) and err.retryable == true and not err.connection_invalidated
end

--- The wait before retry number k (1 for the first) with backoff b: a random
--- time in [d/2, d], d = b * 2^(k-1), at most MAX_WAIT (or b when larger).
---@param b number
---@param k integer
---@return number
function M.wait_before(b, k)
  if b <= 0 then return 0 end
  local cap = b > M.MAX_WAIT and b or M.MAX_WAIT
  local d = b * 2 ^ (k - 1)
  if d > cap then d = cap end
  return d / 2 + random() * d / 2
end

-- Where blocking the thread would stall others: a coroutine under a waiter
-- (the engine's, or the process default) or inside OpenResty. There the
-- wait is skipped unless the caller gave a sleep of its scheduler.
local function must_not_block(W)
  return waiting.current(W) ~= nil or rawget(_G, "ngx") ~= nil
end

--- The blocking sleep used outside a coroutine under a waiter (a field, so
--- a spec can see whether it ran).
---@param s number seconds
function M.blocking_sleep(s)
  poll({}, {}, s)
end

--- Runs attempt() (which begins, runs and commits one transaction) and
--- reruns it while it raises a retryable error, at most opts.retries times,
--- waiting between tries; returns what the successful try returned, or
--- raises the last error (at once when it is not retryable).
---@param what string who is asking, for the messages ("Engine:begin")
---@param attempt fun(): ...
---@param opts {retries: integer, backoff?: number, sleep?: fun(s: number), on_retry?: fun(err: any, retry: integer, wait: number)}
---@param W? function the engine's own waiter, if any
---@return any ...
function M.run(what, attempt, opts, W)
  local retries, backoff = check(what, opts)
  local sleep, on_retry = opts.sleep, opts.on_retry
  local k = 0
  while true do
    local r = pack(pcall(attempt))
    if r[1] then return unpack(r, 2, r.n) end
    local err = r[2]
    if k >= retries or not M.retryable(err) then error(err, 0) end
    k = k + 1
    local wait = M.wait_before(backoff, k)
    if not sleep and must_not_block(W) then wait = 0 end
    if on_retry then on_retry(err, k, wait) end
    if wait > 0 then
      if sleep then sleep(wait) else M.blocking_sleep(wait) end
    end
  end
end

--- The retrying form of `obj:begin(fn)` (an Engine, Session or
--- sessionmaker): each try is a plain obj:begin(fn), a new transaction;
--- bind is the engine whose waiter applies (nil: the process default).
---@param what string "Engine:begin", "Session:begin", ...
---@param obj table
---@param fn fun(...): ...
---@param opts table
---@param bind? table
---@return any ...
function M.rerun(what, obj, fn, opts, bind)
  local mt = type(fn) == "table" and getmetatable(fn)
  if type(fn) ~= "function" and not (type(mt) == "table" and mt.__call) then
    exc.raise(exc.ArgumentError, format("%s: retries need a function to rerun (begin(fn, {retries = n})), " ..
      "got %s", what, type(fn)), nil, 0)
  end
  local W = type(bind) == "table" and rawget(bind, "waiter") or nil
  return M.run(what, function() return obj:begin(fn) end, opts, W)
end

return M
