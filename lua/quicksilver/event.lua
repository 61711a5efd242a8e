--- event.lua: qs.event, listeners on engines, pools, metadata, mappers, sessions.
---
--- A target declares the events it has in `_event_names`; listeners are kept
--- in a weak-keyed table so targets can be collected. A target may name an
--- `_event_parent` (a derived engine its engine, a connection its engine):
--- listeners on the parent apply to the child too, outermost first.
local exc = require("quicksilver.exc")

local M = {}

local type, setmetatable, tostring = type, setmetatable, tostring

local registry = setmetatable({}, {__mode = "k"})   -- target -> name -> list of entries
local total = 0                                     -- listeners registered anywhere

local function describe(target)
  local ok, s = pcall(tostring, target)
  return ok and s or type(target)
end

local function check(target, name, what)
  local kind = type(target)
  if kind ~= "table" and kind ~= "userdata" then
    exc.raise(exc.ArgumentError, "event." .. what .. ": target must be an object, got " .. kind, nil, 4)
  end
  local names = target._event_names
  if type(names) ~= "table" then
    exc.raise(exc.ArgumentError, "event." .. what .. ": " .. describe(target) .. " has no events", nil, 4)
  end
  if not names[name] then
    exc.raise(exc.ArgumentError, string.format("No such event '%s' for target %s",
      tostring(name), describe(target)), nil, 4)
  end
end

--- Registers fn for event name on target. opts: once (fire once, then
--- removed), retval (the listener's return values are used by the caller),
--- insert (run before the listeners already there).
---@param target table
---@param name string
---@param fn function
---@param opts? {once?: boolean, retval?: boolean, insert?: boolean}
function M.listen(target, name, fn, opts)
  check(target, name, "listen")
  if type(fn) ~= "function" then
    exc.raise(exc.ArgumentError, "event.listen: listener must be a function", nil, 2)
  end
  opts = opts or {}
  local byname = registry[target]
  if not byname then byname = {}; registry[target] = byname end
  local list = byname[name]
  if not list then list = {}; byname[name] = list end
  local entry = {fn = fn, once = opts.once and true or false, retval = opts.retval and true or false}
  if opts.insert then table.insert(list, 1, entry) else list[#list + 1] = entry end
  total = total + 1
end

local function find(target, name, fn)
  local byname = registry[target]
  local list = byname and byname[name]
  if list then
    for i = 1, #list do
      if list[i].fn == fn then return list, i end
    end
  end
end

--- Removes fn from event name on target.
function M.remove(target, name, fn)
  check(target, name, "remove")
  local list, i = find(target, name, fn)
  if not list then
    exc.raise(exc.InvalidRequestError, string.format(
      "No listeners found for event '%s' on %s with that function", name, describe(target)), nil, 2)
  end
  table.remove(list, i)
  total = total - 1
end

--- True when fn listens to event name on target itself.
function M.contains(target, name, fn)
  return find(target, name, fn) ~= nil
end

--- True when target or one of its parents has a listener for name. Cheap when
--- nothing listens anywhere (the common case on hot paths).
---@return boolean
function M.has(target, name)
  if total == 0 then return false end
  local t = target
  while t do
    local byname = registry[t]
    if byname then
      local list = byname[name]
      if list and list[1] then return true end
    end
    t = t._event_parent
  end
  return false
end

--- The listener entries for name on target and its parents, outermost
--- parent first: a list of {fn, once, retval}. `once` entries are removed
--- as they are handed out, so each runs one time.
---@return table[]
function M.listeners(target, name)
  local chain, n = {}, 0
  local t = target
  while t do
    n = n + 1
    chain[n] = t
    t = t._event_parent
  end
  local out = {}
  for i = n, 1, -1 do
    local byname = registry[chain[i]]
    local list = byname and byname[name]
    if list then
      local j = 1
      while j <= #list do
        local e = list[j]
        out[#out + 1] = e
        if e.once then
          table.remove(list, j)
          total = total - 1
        else
          j = j + 1
        end
      end
    end
  end
  return out
end

--- Calls every listener for name with the arguments; errors propagate.
function M.fire(target, name, ...)
  local ls = M.listeners(target, name)
  for i = 1, #ls do ls[i].fn(...) end
end

--- Removes every listener of target (all events).
function M.clear(target)
  local byname = registry[target]
  if not byname then return end
  for _, list in pairs(byname) do total = total - #list end
  registry[target] = nil
end


return M
