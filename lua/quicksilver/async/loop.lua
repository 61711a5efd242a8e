--- quicksilver.async.loop: a minimal coroutine scheduler built on poll(2)
--- (core.poll), for hosts that have none of their own (a game server's tick
--- loop) and for LuaJIT, where Debian packages neither cqueues nor luv.
---
---   local loop = require("quicksilver.async.loop")
---   local l = loop.new()
---   local engine = qs.create_engine(url, {waiter = loop.waiter})
---   l:spawn(function() ... engine:connect() ... end)
---   l:run()                     -- or l:step(dt) once per tick
---
--- A coroutine of the loop waits on an fd through the waiter (or sleeps with
--- l:sleep); a plain coroutine.yield() inside it gives way for one step. An
--- error in a spawned coroutine is not swallowed: the step that resumed it
--- finishes resuming the others, then raises it (a string: the error and the
--- coroutine's traceback); the failed coroutine is gone, the loop stays usable.
local contract = require("quicksilver.async.contract")
local core = require("quicksilver.core")

local M = {}

local Loop = {}
Loop.__index = Loop

-- The loop each spawned coroutine belongs to; weak keys, so a coroutine that
-- nobody holds (finished, or dropped by a loop) leaves no trace.
local loop_of = setmetatable({}, {__mode = "k"})

-- What a loop coroutine yields to wait: WAIT, fd (nil: a sleep), events, deadline.
local WAIT = {}

local unpack = table.unpack or unpack
-- Lua 5.1 and 5.2 have no isyieldable; LuaJIT and 5.3+ do.
local isyieldable = coroutine.isyieldable or function() return true end

--- A new loop with no coroutines.
---@return table loop
function M.new()
  return setmetatable({
    runnable = {},   -- {co = , args = {n = , ...}}: resumed at the next step, in order
    waits = {},      -- {co = , fd = (nil: a sleep), events = , deadline = (nil: none)}
    count = 0,       -- coroutines spawned and not yet finished
    stepping = false,
  }, Loop)
end

--- Runs fn(...) in a new coroutine of this loop (from the next step on).
---@param fn function
---@return thread co
function Loop:spawn(fn, ...)
  if type(fn) ~= "function" then
    error("quicksilver.async.loop: spawn needs a function, not " .. type(fn), 2)
  end
  local co = coroutine.create(fn)
  loop_of[co] = self
  self.count = self.count + 1
  self.runnable[#self.runnable + 1] = {co = co, args = {n = select("#", ...), ...}}
  return co
end

--- How many spawned coroutines have not finished.
---@return integer
function Loop:pending()
  return self.count
end

-- Resumes co; what it yields next decides where it goes. Returns the error
-- message (with the traceback) when it failed.
function Loop:resume(co, ...)
  if coroutine.status(co) == "dead" then   -- closed from outside (coroutine.close)
    self.count = self.count - 1
    loop_of[co] = nil
    return nil
  end
  local ok, tag, fd, events, deadline = coroutine.resume(co, ...)
  if not ok then
    self.count = self.count - 1
    loop_of[co] = nil
    return "quicksilver.async.loop: a spawned coroutine failed: " .. tostring(tag) .. "\n" ..
      debug.traceback(co)
  end
  if coroutine.status(co) == "dead" then
    self.count = self.count - 1
    loop_of[co] = nil
  elseif tag == WAIT then
    self.waits[#self.waits + 1] = {co = co, fd = fd, events = events, deadline = deadline}
  else   -- a plain yield: gives way, resumed at the next step
    self.runnable[#self.runnable + 1] = {co = co, args = {n = 0}}
  end
  return nil
end

--- One tick: polls the fds the loop's coroutines wait on for up to timeout
--- seconds (nil: until one is ready or a deadline passes; no wait at all
--- when a coroutine is runnable), then resumes every coroutine that is
--- runnable, ready or past its deadline. Raises the first error of a
--- coroutine it resumed (after resuming the rest).
---@param timeout? number seconds
---@return integer remaining coroutines not finished
function Loop:step(timeout)
  if timeout ~= nil and type(timeout) ~= "number" then
    error("quicksilver.async.loop: step's timeout must be seconds or nil, not " .. type(timeout), 2)
  end
  if self.stepping then
    error("quicksilver.async.loop: step called from inside one of the loop's own coroutines", 2)
  end
  local fds, evs, at = {}, {}, {}
  local earliest
  for i, w in ipairs(self.waits) do
    if w.fd then
      fds[#fds + 1], evs[#evs + 1], at[#at + 1] = w.fd, w.events, i
    end
    if w.deadline and (not earliest or w.deadline < earliest) then earliest = w.deadline end
  end
  local wait_for = timeout
  if wait_for and wait_for < 0 then wait_for = nil end
  if #self.runnable > 0 then
    wait_for = 0
  elseif earliest then
    local left = earliest - core.now()
    if left < 0 then left = 0 end
    if wait_for == nil or left < wait_for then wait_for = left end
  end
  if #fds == 0 and wait_for == nil then return self.count end   -- nothing would ever wake it
  local ready = {}
  if #fds > 0 or (wait_for and wait_for > 0) then
    local _, seen = core.poll(fds, evs, wait_for)
    for k, i in ipairs(at) do
      if seen[k] then ready[i] = true end
    end
  end

  local now = core.now()
  local runnable, waits = self.runnable, self.waits
  self.runnable, self.waits = {}, {}
  local due = {}
  for i, w in ipairs(waits) do
    if ready[i] then
      due[#due + 1] = {co = w.co, value = true}
    elseif w.deadline and now >= w.deadline then
      local value = nil   -- a sleep ends with nothing, a wait with false
      if w.fd then value = false end
      due[#due + 1] = {co = w.co, value = value}
    else
      self.waits[#self.waits + 1] = w
    end
  end
  local first_err
  self.stepping = true
  for _, r in ipairs(runnable) do
    local err = self:resume(r.co, unpack(r.args, 1, r.args.n))
    first_err = first_err or err
  end
  for _, d in ipairs(due) do
    local err = self:resume(d.co, d.value)
    first_err = first_err or err
  end
  self.stepping = false
  if first_err then error(first_err, 0) end
  return self.count
end

--- Steps until every spawned coroutine has finished (an error stops it).
function Loop:run()
  while self.count > 0 do
    self:step()
  end
end

--- Suspends the calling coroutine (one of this loop's) for s seconds.
---@param s number
function Loop:sleep(s)
  if type(s) ~= "number" then
    error("quicksilver.async.loop: sleep needs seconds, not " .. type(s), 2)
  end
  if loop_of[coroutine.running()] ~= self then
    error("quicksilver.async.loop: sleep must be called from a coroutine this loop spawned", 2)
  end
  coroutine.yield(WAIT, nil, nil, core.now() + s)
end

--- The waiter (the contract of docs/ASYNC.md): suspends the calling
--- coroutine until fd is ready for events ("r", "w" or "rw") or timeout
--- seconds (nil: no limit) have passed; true when ready, false on timeout.
--- In a coroutine that no loop spawned (the main thread, a nested
--- coroutine), or where a yield cannot pass (inside a C call such as a
--- table.sort comparator), it waits in place with poll(2), blocking the
--- thread as if there were no waiter.
---@param fd integer
---@param events "r"|"w"|"rw"
---@param timeout? number
---@return boolean ready
function M.waiter(fd, events, timeout)
  timeout = contract.check("quicksilver.async.loop", fd, events, timeout)
  local co = coroutine.running()
  if not (co and loop_of[co]) or not isyieldable() then
    return contract.wait_in_place(fd, events, timeout)
  end
  return coroutine.yield(WAIT, fd, events, timeout and core.now() + timeout)
end
Loop.waiter = M.waiter

--- The loop of the running coroutine (nil outside one).
---@return table|nil
function M.current()
  local co = coroutine.running()
  return co and loop_of[co] or nil
end

--- Sleeps in the running coroutine's loop (in place, with poll(2), outside one).
---@param s number
function M.sleep(s)
  local l = M.current()
  if l then return l:sleep(s) end
  core.poll({}, {}, s)
end

return M
