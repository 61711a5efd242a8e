--- waiting.lua: the waiter registry and the drive loop (docs/ASYNC.md).
---
--- A driver connection (the C Connection userdata, "cconn") that runs in
--- non-blocking mode answers a method that would block with
--- `core.WAIT, fd, events, timeout` instead of blocking the thread: the
--- caller waits through the waiter W(fd, "r"|"w"|"rw", timeout_seconds),
--- which suspends the calling coroutine until the socket is ready (true) or
--- the time ran out (false; nil counts as false), then calls
--- cconn:resume(ready), which returns
--- what the method returns or asks to wait again. C decides the mode per
--- call (a waiter applies and the call runs in a coroutine other than the
--- main thread), so the loop lives here, in Lua: a coroutine never yields
--- across a C call (LuaJIT and Lua 5.1 cannot).
---
--- Every statement's path goes through drive, so its blocking case is one
--- comparison and a tail return.
local core = require("quicksilver.core")
local exc = require("quicksilver.exc")
local util = require("quicksilver.util")

local M = {}

local type, pcall, error = type, pcall, error
local running = coroutine.running

local WAIT = core.WAIT
--- The sentinel a method returns first when it would block.
M.WAIT = WAIT

local default_waiter = core.default_waiter

-- cconn -> the object using it (an engine Connection), told when the
-- connection is given up here. Weak both ways: it keeps neither alive.
local owners = setmetatable({}, {__mode = "kv"})

local function check_waiter(who, W, level)
  if W ~= nil and type(W) ~= "function" then
    exc.raise(exc.ArgumentError, who .. ": the waiter must be a function (fd, events, timeout) " ..
      "-> ready, or nil; got " .. util.repr(W, 40), nil, level + 1)
  end
  return W
end
M.check_waiter = check_waiter

--- Sets the process-wide default waiter (nil removes it): what connections
--- without one of their own (an engine's `waiter` option) wait through
--- when called from a coroutine.
---@param W fun(fd: integer, events: string, timeout: number|nil): boolean|nil
function M.set_default(W)
  check_waiter("qs.set_waiter", W, 2)
  core.set_default_waiter(W)   -- kept in C: it decides each call's mode
end

--- The process-wide default waiter, or nil.
---@return function|nil
function M.default()
  return default_waiter()
end

--- The waiter that applies to a call made now with `W` (an engine's own,
--- or nil): nil on the main thread (blocking, whatever is set), else W or
--- the default.
---@param W? function
---@return function|nil
function M.current(W)
  local co, main = running()
  if co == nil or main then return nil end   -- Lua 5.1/LuaJIT: nil on the main thread
  return W or default_waiter()
end

local drive

--- Names the object that uses cconn (nil: none): when its waiter fails and
--- the connection is given up, `owner:_given_up(err)` is called before the
--- error goes on, so that the owner stops using it (the engine's Connection
--- invalidates itself, as for a lost connection).
---@param cconn userdata
---@param owner? table
function M.set_owner(cconn, owner)
  owners[cconn] = owner
end

-- Gives cconn up (closed, never back in a pool), tells its owner, raises err.
local function give_up(cconn, err)
  cconn:abandon()
  local owner = owners[cconn]
  if owner then
    owners[cconn] = nil
    pcall(owner._given_up, owner, err)   -- the caller sees err, whatever happens there
  end
  error(err, 0)
end

-- One wait: W suspends this coroutine until fd is ready or the time ran
-- out; then the operation goes on. A waiter that raises (the scheduler
-- cancelled this coroutine, a bug in W) leaves the operation half done:
-- the connection is given up (abandon: closed, and never back in a pool)
-- before the error goes on.
local function wait_once(cconn, fd, events, timeout)
  local W = cconn:waiter()
  if W == nil then
    give_up(cconn, exc.InvalidRequestError("the connection waits for its socket but no waiter " ..
      "applies any more (removed while a statement was in progress); the connection was given up",
      {connection_invalidated = true}))
  end
  local ok, ready = pcall(W, fd, events, timeout)
  if not ok then give_up(cconn, ready) end
  return drive(cconn, cconn:resume(ready and true or false))
end

--- What a cconn method returned (`drive(cconn, cconn:execute(...))`),
--- after waiting as often as it asks: its results unchanged when it did
--- not ask (blocking mode), else those of the last cconn:resume. Tail calls
--- both ways: a statement that waits many times grows no stack.
---@param cconn userdata
---@return any ...
drive = function(cconn, a, ...)
  if a ~= WAIT then return a, ... end
  return wait_once(cconn, ...)
end
M.drive = drive

return M
