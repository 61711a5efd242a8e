--- event.lua: qs.event, listeners on engines, connections, pools, metadata,
--- tables, mappers and sessions (SQLAlchemy's event.listen / event.remove).
---
--- A target declares the events it has in `_event_names` (a set, reachable by
--- indexing, so a class can declare them once for all its instances). A
--- target may name an `_event_parent` (a connection its engine, a derived
--- engine its engine): listeners on the parent apply to the child too.
---
--- Dispatch order: the parent chain first, outermost parent first, then the
--- target's own listeners; within one target, registration order (`insert`
--- puts a listener in front). Parents first because they are the broader
--- scope: an engine-wide recorder should see a statement before a listener
--- on one connection rewrites it.
---
--- Emitters call `has` before anything else, so that a program with no
--- listeners pays one comparison per event (`total == 0`).
local exc = require("quicksilver.exc")
local util = require("quicksilver.util")

local M = {}

local type, setmetatable, getmetatable, tostring, pcall, next, rawget =
  type, setmetatable, getmetatable, tostring, pcall, next, rawget
local format, tremove, tinsert = string.format, table.remove, table.insert

-- target -> record {lists = {event name -> list of entries}, n = count,
-- sentinel}. Weak keys, so registering a listener does not keep an engine or
-- a table alive. (On Lua 5.1/LuaJIT, which have no ephemerons, a listener
-- closure that captures its own target does keep it alive; 5.2+ collect it.)
local registry = setmetatable({}, {__mode = "k"})

-- target -> {gen, parents, nparents, lists = {name -> merged entry list}}:
-- the merged lists `listeners` hands out, rebuilt when anything changed.
local cache = setmetatable({}, {__mode = "k"})

local total = 0        -- listeners registered anywhere; 0 makes has() free
local generation = 0   -- bumped on every change; invalidates the cache

-- When a target is collected its record goes with it, and the listeners it
-- held must leave `total`, or one listener on one short-lived connection
-- would cost every later has() a walk. A finalizer on a sentinel that only
-- the record holds does that: a table with __gc on 5.2+, newproxy on
-- 5.1/LuaJIT (whose tables have no __gc). Finalizers run at allocation
-- points only, never inside this module's `total = total +- 1`, so the count
-- stays exact.
local newproxy = rawget(_G, "newproxy")   -- 5.1/LuaJIT only
local function sentinel(rec)
  local function gc() total = total - rec.n; rec.n = 0 end
  if newproxy then
    local p = newproxy(true)
    getmetatable(p).__gc = gc
    return p
  end
  return setmetatable({}, {__gc = gc})
end

-- Longer parent chains than this are a cycle (a bug), not a design.
local MAX_CHAIN = 64

-- The shared answer for "no listeners". Read-only, as are all the lists
-- listeners() returns: they are shared between calls.
local EMPTY = setmetatable({}, {__newindex = function()
  error("qs.event: listener lists are read-only", 2)
end})

local OPTIONS = {once = true, retval = true, insert = true, propagate = true, raw = true,
  named = true}

local function index(t, k) return t[k] end

local function describe(target)
  local ok, s = pcall(tostring, target)
  if ok and type(s) == "string" then return s end
  return type(target)
end

-- Raises ArgumentError unless target is an object that declares event name.
local function check(target, name, what)
  local kind = type(target)
  if kind ~= "table" and kind ~= "userdata" then
    error(exc.ArgumentError(format("event.%s: target must be an object with events, got %s",
      what, kind)), 3)
  end
  local ok, names = pcall(index, target, "_event_names")
  if not ok or type(names) ~= "table" then
    error(exc.ArgumentError(format("event.%s: %s has no events", what, describe(target))), 3)
  end
  if type(name) ~= "string" or not names[name] then
    error(exc.ArgumentError(format("No such event '%s' for target %s", tostring(name),
      describe(target))), 3)
  end
end

-- Takes entry out of the list it sits in; idempotent, so a `once` listener
-- removed by hand before it fires (or cleared with its target) is counted
-- out exactly one time.
local function detach(entry)
  if entry.removed then return end
  entry.removed = true
  local list = entry._list
  for i = 1, #list do
    if list[i] == entry then tremove(list, i); break end
  end
  entry._rec.n = entry._rec.n - 1
  total = total - 1
  generation = generation + 1
end

local function find(target, name, fn)
  local rec = registry[target]
  local list = rec and rec.lists[name]
  if list then
    for i = 1, #list do
      if list[i].listener == fn then return list[i] end
    end
  end
  return nil
end

-- A table whose metatable has __call (qs.DDL: a DDL statement listening to
-- a table's create/drop events) listens as a function does.
local function callable_object(fn)
  local mt = type(fn) == "table" and getmetatable(fn)
  return type(mt) == "table" and type(rawget(mt, "__call")) == "function"
end

---@class quicksilver.EventEntry
---@field fn function call this: for `once` entries it removes the entry first
---@field listener function the function given to listen
---@field once boolean
---@field retval boolean the caller uses the listener's return values
---@field propagate boolean
---@field raw boolean
---@field named boolean

--- Registers fn (a function, or a callable object such as qs.DDL) for event name on target. opts: once (runs one time, then is
--- removed), retval (the emitter uses the listener's return values), insert
--- (runs before the listeners already there); propagate, raw and named are
--- recorded on the entry for emitters that give them a meaning. Listening
--- with a function already registered for that event on that target does
--- nothing (SQLAlchemy does the same).
---@param target table|userdata
---@param name string
---@param fn function
---@param opts? {once?: boolean, retval?: boolean, insert?: boolean, propagate?: boolean, raw?: boolean, named?: boolean}
function M.listen(target, name, fn, opts)
  check(target, name, "listen")
  if type(fn) ~= "function" and not callable_object(fn) then
    error(exc.ArgumentError("event.listen: listener must be a function, got " .. type(fn)), 2)
  end
  if opts == nil then
    opts = EMPTY
  else
    util.check_options("event.listen", opts, OPTIONS, 2)
  end
  if find(target, name, fn) then return end
  local rec = registry[target]
  if not rec then
    rec = {lists = {}, n = 0}
    rec.sentinel = sentinel(rec)
    registry[target] = rec
  end
  local list = rec.lists[name]
  if not list then list = {}; rec.lists[name] = list end
  local entry = {listener = fn, fn = fn, once = opts.once and true or false,
    retval = opts.retval and true or false, propagate = opts.propagate and true or false,
    raw = opts.raw and true or false, named = opts.named and true or false,
    removed = false, _list = list, _rec = rec}
  if entry.once then
    -- Removal rides on the call, so every emitter gets `once` right whether
    -- it uses fire() or walks listeners() itself, and a listener that fires
    -- the same event again from inside itself does not run twice. The
    -- wrapper closes over the entry, never the target (see registry).
    entry.fn = function(...)
      if entry.removed then return end
      detach(entry)
      return fn(...)
    end
  end
  if opts.insert then tinsert(list, 1, entry) else list[#list + 1] = entry end
  rec.n = rec.n + 1
  total = total + 1
  generation = generation + 1
  -- a target may want to know (the ORM's attribute events switch their
  -- evented write paths on at the first listener: orm/attribute_events.lua)
  local ok, hook = pcall(index, target, "_on_listen")
  if ok and type(hook) == "function" then hook(target, name, entry) end
end

--- listen as a decorator: `event.listens_for(engine, "connect")(function ... end)`
--- registers the function and returns it.
---@param target table|userdata
---@param name string
---@param opts? table
---@return fun(fn: function): function
function M.listens_for(target, name, opts)
  check(target, name, "listens_for")
  return function(fn)
    M.listen(target, name, fn, opts)
    return fn
  end
end

--- Removes fn from event name on target (where it was registered; a parent's
--- listener is removed from the parent). InvalidRequestError when fn is not
--- registered there, as SQLAlchemy does.
---@param target table|userdata
---@param name string
---@param fn function
function M.remove(target, name, fn)
  check(target, name, "remove")
  local entry = find(target, name, fn)
  if not entry then
    error(exc.InvalidRequestError(format("No listeners found for event %s / '%s' / %s",
      describe(target), name, describe(fn))), 2)
  end
  detach(entry)
end

--- True when fn is registered for event name on target itself.
---@param target table|userdata
---@param name string
---@param fn function
---@return boolean
function M.contains(target, name, fn)
  check(target, name, "contains")
  return find(target, name, fn) ~= nil
end

--- True when target or one of its parents has a listener for name. One
--- comparison when nothing listens anywhere; no allocation ever.
---@param target table|userdata
---@param name string
---@return boolean
function M.has(target, name)
  if total == 0 then return false end
  local t, depth = target, 0
  while t ~= nil do
    local rec = registry[t]
    if rec then
      local list = rec.lists[name]
      if list and list[1] then return true end
    end
    depth = depth + 1
    if depth > MAX_CHAIN then
      error(exc.InvalidRequestError("event: the _event_parent chain of " .. describe(target) ..
        " is cyclic"), 2)
    end
    t = t._event_parent
  end
  return false
end

-- Whether the cached parent chain c still is target's chain (a parent can
-- be set after the target was first dispatched on).
local function same_chain(c, target)
  local t = target._event_parent
  local parents = c.parents
  for i = 1, c.nparents do
    if t ~= parents[i] then return false end
    t = t._event_parent
  end
  return t == nil
end

local function build(target)
  local parents, n = {}, 0
  local t = target._event_parent
  while t ~= nil do
    n = n + 1
    if n > MAX_CHAIN then
      error(exc.InvalidRequestError("event: the _event_parent chain of " .. describe(target) ..
        " is cyclic"), 3)
    end
    parents[n] = t
    t = t._event_parent
  end
  local c = {gen = generation, parents = parents, nparents = n, lists = {}}
  cache[target] = c
  return c
end

local function append(out, target, name)
  local rec = registry[target]
  local list = rec and rec.lists[name]
  if list then
    for i = 1, #list do out[#out + 1] = list[i] end
  end
end

--- The listener entries for name on target and its parents, in dispatch
--- order (outermost parent first). Call `entry.fn(...)`, not
--- `entry.listener`: for `once` entries fn removes the entry as it runs.
--- The list is shared and read-only; it stays valid (a snapshot) while
--- listeners are added or removed.
---@param target table|userdata
---@param name string
---@return quicksilver.EventEntry[]
function M.listeners(target, name)
  if total == 0 then return EMPTY end
  local c = cache[target]
  if not c or c.gen ~= generation or not same_chain(c, target) then c = build(target) end
  local out = c.lists[name]
  if out == nil then
    out = {}
    for i = c.nparents, 1, -1 do append(out, c.parents[i], name) end
    append(out, target, name)
    if out[1] == nil then out = EMPTY end
    c.lists[name] = out
  end
  return out
end

--- Calls every listener for name on target and its parents with the
--- arguments, in dispatch order. A listener that raises stops the dispatch
--- and the error propagates unchanged.
---@param target table|userdata
---@param name string
function M.fire(target, name, ...)
  if total == 0 then return end
  local ls = M.listeners(target, name)
  for i = 1, #ls do ls[i].fn(...) end
end

--- Removes every listener of target itself (all events).
---@param target table|userdata
function M.clear(target)
  local rec = registry[target]
  if not rec then return end
  for _, list in next, rec.lists do
    for i = #list, 1, -1 do detach(list[i]) end
  end
  registry[target] = nil
end

--- How many listeners are registered anywhere (for tests and diagnostics).
---@return integer
function M._count()
  return total
end

return M
