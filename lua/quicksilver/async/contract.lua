--- quicksilver.async.contract: what every shipped waiter shares (docs/ASYNC.md,
--- "The waiter contract"): the check of its arguments, and the wait in place
--- (poll(2), blocking the thread) for the calls it cannot suspend.
local core = require("quicksilver.core")

local M = {}

local type, error, tostring = type, error, tostring
local poll = core.poll

local EVENTS = {r = true, w = true, rw = true}

--- Refuses arguments a waiter cannot take, naming the waiter (who) and the
--- argument, at the caller's caller (level 3: the waiter's own caller).
--- Returns the timeout to use: nil for none (a negative one counts as none).
---@param who string
---@param fd any
---@param events any
---@param timeout any
---@return number|nil
function M.check(who, fd, events, timeout)
  if type(fd) ~= "number" or fd < 0 or fd % 1 ~= 0 then
    error(who .. ": the waiter's fd must be an integer >= 0, not " .. tostring(fd), 3)
  end
  if not EVENTS[events] then
    error(who .. ": the waiter's events must be \"r\", \"w\" or \"rw\", not " .. tostring(events), 3)
  end
  if timeout ~= nil and type(timeout) ~= "number" then
    error(who .. ": the waiter's timeout must be seconds or nil, not " .. type(timeout), 3)
  end
  if timeout and timeout < 0 then return nil end
  return timeout
end

--- Waits for fd in place with poll(2): true when ready, false when the time
--- ran out. What a waiter does where it cannot suspend the caller.
---@param fd integer
---@param events "r"|"w"|"rw"
---@param timeout number|nil
---@return boolean
function M.wait_in_place(fd, events, timeout)
  return (poll({fd}, {events}, timeout)) > 0
end

return M
