--- orm/nplusone.lua: the N+1 detector, `orm.Session(bind, {warn_lazy =
--- "warn" | "raise"})`. The objects one SELECT loaded (a Result of two or
--- more objects) share a group; a lazy load that sends SQL counts against
--- its object's group and relationship, and the second such load of the
--- same relationship within one group is reported (warned once, or raised
--- as qs.exc.NPlusOneError) naming `Model.relationship` and the loader
--- option that loads it for the whole result at once.
---
--- Off (the default) it costs one field read per query and per lazy load
--- (`session._warn_lazy`), nothing per object: groups are made only on a
--- session that asked for them.
local exc = require("quicksilver.exc")
local attributes = require("quicksilver.orm.attributes")

local M = {}

local rawget, rawset, type, format, tostring, ipairs = rawget, rawset, type, string.format, tostring, ipairs
local STATE = attributes.STATE

--- The number of lazy loads of one relationship from the objects of one
--- result at which the detector speaks.
M.THRESHOLD = 2

--- Counters for the specs: groups made, reports made.
M.stats = {groups = 0, reports = 0}
local stats = M.stats

-- The default warning: Lua 5.4's warn() when the program turned warnings
-- on is not knowable, so the message goes to stderr; orm.set_lazy_warning
-- (or warn_lazy = function) replaces it.
local function default_handler(msg)
  io.stderr:write("quicksilver: ", msg, "\n")
end
local handler = default_handler

--- orm.set_lazy_warning(fn): fn(message, info) receives warn_lazy = "warn"
--- reports (info: {relationship = "Model.rel", option = "orm.selectinload(Model.rel)",
--- count = n}); nil restores the default (stderr). Returns the previous one.
---@param fn function|nil
---@return function
function M.set_handler(fn)
  if fn ~= nil and type(fn) ~= "function" then
    exc.raise(exc.ArgumentError, "orm.set_lazy_warning: expected a function or nil", nil, 2)
  end
  local prev = handler
  handler = fn or default_handler
  return prev
end

--- The value Session keeps for its warn_lazy option (nil: off).
function M.check_mode(v, level)
  if v == nil or v == false then return nil end
  if v == "warn" or v == "raise" or type(v) == "function" then return v end
  exc.raise(exc.ArgumentError, format("Session: warn_lazy must be \"warn\", \"raise\", a function or " ..
    "false; got %s", tostring(v)), nil, (level or 1) + 1)
end

--- Tags the objects of one result (strategies.apply's rows: objects when
--- bare, else rows whose entries may be objects) with a group of their
--- own when there are two or more.
function M.tag(rows, keys, bare)
  local states, n = {}, 0
  if bare then
    for i = 1, #rows do
      local v = rows[i]
      local st = type(v) == "table" and rawget(v, STATE)
      if st then n = n + 1; states[n] = st end
    end
  else
    for _, row in ipairs(rows) do
      for i = 1, #keys do
        local v = row[i]
        local st = type(v) == "table" and rawget(v, STATE)
        if st then n = n + 1; states[n] = st end
      end
    end
  end
  if n < 2 then return end
  stats.groups = stats.groups + 1
  local group = {size = n, loads = {}, told = {}}
  for i = 1, n do rawset(states[i], "nplus", group) end
end

-- Whether rel's lazy load of st will send SQL (a many-to-one found in the
-- identity map, or with a NULL key, does not).
local function sends_sql(session, rel, st)
  if rel.uselist or rel.secondary or not rel.by_pk then return true end
  local vals = rel:_local_values(st)
  if vals == nil then return false end
  return session:_identity_lookup(rel.target, vals) == nil
end

--- The loader option that loads rel for a whole result.
function M.suggestion(rel)
  local name = rel:describe()
  if rel.uselist then return "orm.selectinload(" .. name .. ")" end
  return "orm.joinedload(" .. name .. ") or orm.selectinload(" .. name .. ")"
end

--- Rel:lazy_load's note (only when session._warn_lazy is set).
function M.note(session, rel, st)
  local group = rawget(st, "nplus")
  if group == nil or session._flushing then return end
  if not sends_sql(session, rel, st) then return end
  local loads = group.loads
  local n = (loads[rel] or 0) + 1
  loads[rel] = n
  if n < M.THRESHOLD or group.told[rel] then return end
  group.told[rel] = true
  stats.reports = stats.reports + 1
  local option = M.suggestion(rel)
  local msg = format("N+1 lazy load: %s was loaded one object at a time for %d objects of one result " ..
    "(%d objects loaded by the statement); load it with the statement's option %s",
    rel:describe(), n, group.size, option)
  local mode = session._warn_lazy
  local info = {relationship = rel:describe(), option = option, count = n, objects = group.size}
  if mode == "raise" then
    exc.raise(exc.NPlusOneError, msg, info, 4)
  elseif mode == "warn" then
    handler(msg, info)
  else
    mode(msg, info)
  end
end

return M
