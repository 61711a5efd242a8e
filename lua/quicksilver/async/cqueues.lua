--- quicksilver.async.cqueues: the waiter for code running in a cqueues
--- controller (Debian's lua-cqueues, Lua 5.4).
---
---   local cqueues = require("cqueues")
---   local engine = qs.create_engine(url, {waiter = require("quicksilver.async.cqueues").waiter})
---   local cq = cqueues.new()
---   cq:wrap(function() ... engine:connect() ... end)
---   assert(cq:loop())
---
--- In a coroutine the controller runs (cq:wrap), a wait is cqueues.poll on
--- the fd, so the controller runs the others meanwhile. Anywhere else (the
--- main thread, a plain coroutine nested inside a controller's: cqueues
--- cannot tell whether a yield from there would reach it; or where a yield
--- cannot pass, inside a C call such as a table.sort comparator) it waits
--- in place with poll(2): correct, but it blocks the thread as if there were
--- no waiter. Close a controller's coroutines through cqueues (cq:cancel,
--- returning), not coroutine.close: the controller still expects to resume them.
local cqueues = require("cqueues")
local contract = require("quicksilver.async.contract")

local M = {}

local isyieldable = coroutine.isyieldable or function() return true end

-- The pollable object cqueues.poll takes: an fd, the events, no timeout of
-- its own (the wait's timeout is poll's own argument).
local Pollable = {}
Pollable.__index = Pollable
function Pollable:pollfd() return self.fd end
function Pollable:events() return self.ev end
function Pollable:timeout() return nil end

--- The waiter (docs/ASYNC.md): suspends the calling coroutine until fd is
--- ready for events ("r", "w" or "rw") or timeout seconds (nil: no limit)
--- have passed; true when ready, false on timeout.
---@param fd integer
---@param events "r"|"w"|"rw"
---@param timeout? number
---@return boolean ready
function M.waiter(fd, events, timeout)
  timeout = contract.check("quicksilver.async.cqueues", fd, events, timeout)
  local cq, managed = cqueues.running()
  if not (cq and managed) or not isyieldable() then
    return contract.wait_in_place(fd, events, timeout)
  end
  local obj = setmetatable({fd = fd, ev = events}, Pollable)
  local ready
  if timeout then
    ready = cqueues.poll(obj, timeout)
  else
    ready = cqueues.poll(obj)
  end
  -- The controller forgets the fd: the driver may close it (a lost
  -- connection) and the number come back as another socket, and a
  -- controller still holding it fails its loop ("unable to update event
  -- disposition: Bad file descriptor").
  cq:cancel(fd)
  return ready == obj
end

return M
