--- quicksilver.async.luv: the waiter for code running on a libuv loop
--- (Debian's lua-luv, Lua 5.4), and spawn, which starts a coroutine there.
---
---   local uv = require("luv")
---   local async = require("quicksilver.async.luv")
---   local engine = qs.create_engine(url, {waiter = async.waiter})
---   async.spawn(function() ... engine:connect() ... end)
---   uv.run()
---
--- A wait is a poll handle on the fd (and a timer for its timeout); the
--- waiting coroutine is resumed from their callback, so it must be one that
--- only the loop's callbacks resume (spawn's, or one of yours resumed the
--- same way). Both handles are closed on every path: ready, timed out, or
--- the coroutine gone (closed or failed meanwhile: a sweep timer notices
--- and closes them, so a dead wait never keeps uv.run() going).
--- In the main thread, or where a yield cannot pass (inside a C call such
--- as a table.sort comparator), the waiter waits in place with poll(2),
--- blocking the thread as if there were no waiter.
--- An error in a coroutine resumed from here is raised from the callback
--- with the coroutine's traceback: luv reports it and ends the process, as
--- for any error in a luv callback; catch what you expect inside the coroutine.
local contract = require("quicksilver.async.contract")
local core = require("quicksilver.core")

-- luv keeps the Lua thread that first loads it and runs every callback on
-- it: loaded inside a coroutine, it crashes the process once that
-- coroutine is gone (a double free in Lua 5.4). Refused here instead.
if not package.loaded.luv then
  local co, main = coroutine.running()
  if co ~= nil and not main then
    error("quicksilver.async.luv: load it (or luv) from the main thread first: luv runs its callbacks " ..
      "on the thread that loads it, and fails once that coroutine has ended", 2)
  end
end
local uv = require("luv")

local M = {}

local isyieldable = coroutine.isyieldable or function() return true end

local UV_EVENTS = {r = "r", w = "w", rw = "rw"}

-- The waits in progress, by fd: at most one poll handle per fd (libuv
-- misbehaves with two), and what the sweep looks at.
local active = {}
local nactive = 0
local sweeper

-- Resumes co with the given values; raises its error with the traceback.
local function resume(co, ...)
  local ok, err = coroutine.resume(co, ...)
  if not ok then
    error("quicksilver.async.luv: a coroutine failed: " .. tostring(err) .. "\n" .. debug.traceback(co), 0)
  end
end

-- Closes a wait's handles (once) and forgets it.
local function finish(w)
  if w.closed then return end
  w.closed = true
  if not w.poll:is_closing() then w.poll:close() end
  if w.timer and not w.timer:is_closing() then w.timer:close() end
  if active[w.fd] == w then
    active[w.fd] = nil
    nactive = nactive - 1
  end
end

-- Ends the wait w with value: its handles closed, its coroutine resumed
-- (unless it is gone: closed from outside while it waited).
local function wake(w, value)
  if w.closed then return end
  finish(w)
  w.done, w.value = true, value
  if coroutine.status(w.co) == "suspended" then resume(w.co) end
end

-- Every half second: a wait whose coroutine died (coroutine.close, or an
-- error raised through another path) gives up its handles. Made at the
-- first wait and kept (one timer, not one per wait); unreferenced, so it
-- never keeps the loop running by itself.
local function sweep()
  if nactive == 0 then return end
  for _, w in pairs(active) do
    if coroutine.status(w.co) == "dead" then finish(w) end
  end
end

--- The waiter (docs/ASYNC.md): suspends the calling coroutine until fd is
--- ready for events ("r", "w" or "rw") or timeout seconds (nil: no limit)
--- have passed; true when ready, false on timeout.
---@param fd integer
---@param events "r"|"w"|"rw"
---@param timeout? number
---@return boolean ready
function M.waiter(fd, events, timeout)
  timeout = contract.check("quicksilver.async.luv", fd, events, timeout)
  local co, main = coroutine.running()
  if co == nil or main or not isyieldable() then
    return contract.wait_in_place(fd, events, timeout)
  end
  -- A wait still registered on this fd is stale (its connection closed and
  -- the fd number reused): its handles go first, and its coroutine, if
  -- still suspended, is woken as ready so that its driver reports the error.
  local old = active[fd]
  if old then
    finish(old)
    old.done, old.value = true, true
    if coroutine.status(old.co) == "suspended" then
      local t = uv.new_timer()
      t:start(0, 0, function()
        t:close()
        if coroutine.status(old.co) == "suspended" then resume(old.co) end
      end)
    end
  end
  local poll, perr = uv.new_poll(fd)
  if not poll then error("quicksilver.async.luv: cannot poll fd " .. fd .. ": " .. tostring(perr), 2) end
  local w = {co = co, fd = fd, poll = poll}
  active[fd] = w
  nactive = nactive + 1
  if not sweeper then
    sweeper = uv.new_timer()
    sweeper:start(500, 500, sweep)
    sweeper:unref()
  end
  -- an error from libuv (a closed fd) wakes it as ready: the driver reports it
  local ok, serr = poll:start(UV_EVENTS[events], function() wake(w, true) end)
  if not ok then
    finish(w)
    error("quicksilver.async.luv: cannot poll fd " .. fd .. ": " .. tostring(serr), 2)
  end
  if timeout then
    w.timer = uv.new_timer()
    w.timer:start(math.ceil(timeout * 1000), 0, function() wake(w, false) end)
  end
  while not w.done do coroutine.yield() end   -- resumed by someone else: wait on
  return w.value
end

--- Runs fn(...) in a new coroutine, first resumed from a callback of the
--- loop (so only the loop's callbacks ever resume it). Call uv.run() to run it.
---@param fn function
---@return thread co
function M.spawn(fn, ...)
  if type(fn) ~= "function" then
    error("quicksilver.async.luv: spawn needs a function, not " .. type(fn), 2)
  end
  local co = coroutine.create(fn)
  local args = {n = select("#", ...), ...}
  local timer = uv.new_timer()
  timer:start(0, 0, function()
    timer:close()
    resume(co, (table.unpack or unpack)(args, 1, args.n))
  end)
  return co
end

--- Sleeps s seconds in a coroutine on the loop (a timer; in place outside one).
---@param s number
function M.sleep(s)
  local co, main = coroutine.running()
  if co == nil or main then
    core.poll({}, {}, s)
    return
  end
  local timer, done = uv.new_timer(), false
  timer:start(math.ceil(s * 1000), 0, function()
    timer:close()
    done = true
    if coroutine.status(co) == "suspended" then resume(co) end
  end)
  while not done do coroutine.yield() end
end

return M
