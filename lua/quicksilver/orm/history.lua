--- orm/history.lua: an attribute's change history and the per-attribute
--- view of `orm.inspect(obj).attrs` (SQLAlchemy's orm.attributes.History,
--- get_history and AttributeState).
---
--- Nothing here is on a hot path and nothing is kept: a history is made when
--- asked for, from what the state already keeps for the flush. A column's
--- value before its first change since the load or flush is in
--- `st.committed` (only for what changed: attributes.committed_of); a
--- collection's members as loaded or flushed are its snapshot (`st.snap`);
--- a many-to-one's previous target is whatever the identity map holds for
--- the committed foreign key (no SQL is run). A value changed inside (a JSON
--- table under quicksilver.ext.mutable) is found by the change finders the
--- flush runs (orm/unitofwork.lua's `change_finders`), asked for this one
--- state first.
---
--- Lists cannot hold nil, so a NULL value is listed as `qs.null`.
local exc = require("quicksilver.exc")
local elements = require("quicksilver.sql.elements")
local attributes = require("quicksilver.orm.attributes")
local unitofwork = require("quicksilver.orm.unitofwork")

local M = {}

local rawget, rawequal, setmetatable, pairs, ipairs, tostring, format =
  rawget, rawequal, setmetatable, pairs, ipairs, tostring, string.format
local NULL = elements.null
local UNKNOWN, WAS_NULL = attributes.UNKNOWN, attributes.WAS_NULL

--- Stands for "no value here without loading": what `loaded_value` gives
--- for an attribute that is expired, deferred or a relationship not loaded
--- (SQLAlchemy's NO_VALUE).
M.NO_VALUE = setmetatable({}, {__tostring = function() return "<NO_VALUE>" end, __name = "NO_VALUE"})
local NO_VALUE = M.NO_VALUE

---@class quicksilver.orm.History
---@field added any[]      values (or objects) set or added since the load or flush
---@field unchanged any[]  values (or members) there since the load or flush
---@field deleted any[]    values (or objects) replaced or removed since the load or flush
local History = {}
History.__index = History
History.__name = "History"
M.History = History

--- Whether something was added or deleted.
---@return boolean
function History:has_changes()
  return #self.added > 0 or #self.deleted > 0
end

--- Whether the three lists are empty (nothing loaded, nothing set).
---@return boolean
function History:empty()
  return #self.added == 0 and #self.unchanged == 0 and #self.deleted == 0
end

--- added followed by unchanged: what the attribute holds now.
---@return any[]
function History:non_deleted()
  local out = {}
  for _, v in ipairs(self.added) do out[#out + 1] = v end
  for _, v in ipairs(self.unchanged) do out[#out + 1] = v end
  return out
end

--- unchanged followed by deleted: what the attribute held at the load or flush.
---@return any[]
function History:non_added()
  local out = {}
  for _, v in ipairs(self.unchanged) do out[#out + 1] = v end
  for _, v in ipairs(self.deleted) do out[#out + 1] = v end
  return out
end

History.__tostring = function(h)
  return format("History(added=%d, unchanged=%d, deleted=%d)", #h.added, #h.unchanged, #h.deleted)
end

local function new_history(added, unchanged, deleted)
  return setmetatable({added = added, unchanged = unchanged, deleted = deleted}, History)
end

local function listed(v)
  if v == nil then return NULL end
  return v
end

-- Runs the change finders for st alone (a value changed in place becomes a
-- recorded change before its history is read).
local function find_changes(st)
  local finders = unitofwork.change_finders
  for i = 1, #finders do finders[i](st.session, st) end
end

local function column_history(st, key)
  local ex = rawget(st, "expired")
  local cur = rawget(st.dict, key)
  if ex and ex[key] then return new_history({}, {}, {}) end
  if st.key == nil then
    -- transient or pending: everything set is added
    if cur == nil then return new_history({}, {}, {}) end
    return new_history({cur}, {}, {})
  end
  local c = rawget(st, "committed")
  local old = c and c[key]
  if old == nil then return new_history({}, {listed(cur)}, {}) end
  if old == UNKNOWN then return new_history({listed(cur)}, {}, {}) end
  if old == WAS_NULL then old = nil end
  if rawequal(old, cur) or (old ~= nil and old == cur) then return new_history({}, {listed(cur)}, {}) end
  return new_history({listed(cur)}, {}, {listed(old)})
end

local function member_set(list)
  local set = {}
  if list then for i = 1, #list do set[list[i]] = true end end
  return set
end

local function collection_history(st, rel)
  local key = rel.key
  local loaded = rawget(st, "loaded")
  local snaps = rawget(st, "snap")
  local snap = snaps and snaps[key]
  if not (loaded and loaded[key]) then
    -- not loaded: only what a backref queued for its load
    local pm = rawget(st, "pending_mutations")
    local q = pm and pm[key]
    local added, deleted = {}, {}
    if q then
      local last = {}
      for _, m in ipairs(q) do last[m[2]] = m[1] end
      for _, m in ipairs(q) do
        local add = last[m[2]]
        if add ~= nil then
          if add then added[#added + 1] = m[2] else deleted[#deleted + 1] = m[2] end
          last[m[2]] = nil
        end
      end
    end
    return new_history(added, {}, deleted)
  end
  local cur
  if rel.uselist then
    cur = attributes.rel_value(st, rel) or {}
  else
    local v = rawget(st.dict, key)
    cur = v ~= nil and {v} or {}
  end
  if snap == nil then
    if st.key == nil then return new_history(cur, {}, {}) end
    local copy = {}
    for i = 1, #cur do copy[i] = cur[i] end
    return new_history({}, copy, {})
  end
  local before, now = member_set(snap), member_set(cur)
  local added, unchanged, deleted = {}, {}, {}
  for i = 1, #cur do
    if before[cur[i]] then unchanged[#unchanged + 1] = cur[i] else added[#added + 1] = cur[i] end
  end
  for i = 1, #snap do
    if not now[snap[i]] then deleted[#deleted + 1] = snap[i] end
  end
  return new_history(added, unchanged, deleted)
end

local function many_to_one_history(st, rel)
  local key = rel.key
  local loaded = rawget(st, "loaded")
  if not (loaded and loaded[key]) then return new_history({}, {}, {}) end
  local cur = rawget(st.dict, key)
  local set = rawget(st, "m2o_set")
  if st.key == nil then
    if cur == nil then return new_history({}, {}, {}) end
    return new_history({cur}, {}, {})
  end
  if not (set and set[key]) then return new_history({}, {listed(cur)}, {}) end
  -- set since the load or flush: the target of the committed foreign key
  -- (from the identity map; unknown when that object is not there)
  local old = rel:identity_target(st)
  if rawequal(old, cur) then return new_history({}, {listed(cur)}, {}) end
  return new_history({listed(cur)}, {}, old ~= nil and {old} or {})
end

--- The history of attribute key on st.
---@param st table
---@param key string
---@return quicksilver.orm.History
function M.of_state(st, key)
  local p = st.mapper.props[key]
  if not p then
    error(exc.InvalidRequestError(format("%s has no mapped attribute '%s'",
      st.mapper.class_name, tostring(key))), 3)
  end
  find_changes(st)
  if p.is_column then
    if p.read_only then
      local v = rawget(st.dict, key)
      if v == nil then return new_history({}, {}, {}) end
      return new_history({}, {v}, {})
    end
    return column_history(st, key)
  end
  if p.uselist or p.direction == "ONETOMANY" then return collection_history(st, p) end
  return many_to_one_history(st, p)
end

--- orm.get_history(obj, "name"): attribute name's history on obj.
---@param obj table a mapped instance
---@param key string
---@return quicksilver.orm.History
function M.get_history(obj, key)
  local st = attributes.instance_state(obj, "get_history")
  return M.of_state(st, key)
end

-- AttributeState -------------------------------------------------------------------------

---@class quicksilver.orm.AttributeState
---@field key string
---@field history quicksilver.orm.History   made on each read
---@field value any          the current value (loads it, as a read of obj[key] does)
---@field loaded_value any   the value held now without loading (NO_VALUE when not loaded)
---@field modified boolean   whether history has changes
local AttributeState = {}
AttributeState.__name = "AttributeState"
local computed = {}
AttributeState.__index = function(self, k)
  local f = computed[k]
  if f then return f(rawget(self, "_st"), rawget(self, "key")) end
  return nil
end
AttributeState.__tostring = function(self)
  return format("<AttributeState %s.%s>", rawget(self, "_st").mapper.class_name, rawget(self, "key"))
end
M.AttributeState = AttributeState

function computed.history(st, key) return M.of_state(st, key) end
function computed.value(st, key) return st.obj[key] end
function computed.modified(st, key) return M.of_state(st, key):has_changes() end
function computed.loaded_value(st, key)
  local p = st.mapper.props[key]
  if p.is_column then
    local ex = rawget(st, "expired")
    if ex and ex[key] then return NO_VALUE end
    return rawget(st.dict, key)
  end
  local loaded = rawget(st, "loaded")
  if not (loaded and loaded[key]) then return NO_VALUE end
  return attributes.rel_value(st, p)
end

--- `orm.inspect(obj).attrs`: one AttributeState per mapped attribute
--- (columns, column properties, relationships), by name; iterate it with pairs.
---@param st table
---@return table<string, quicksilver.orm.AttributeState>
function M.attrs(st)
  local out = {}
  for key in pairs(st.mapper.props) do
    out[key] = setmetatable({_st = st, key = key}, AttributeState)
  end
  return out
end

--- The names of st's mapped attributes whose history has no changes.
---@param st table
---@return table<string, boolean>
function M.unmodified(st)
  local out = {}
  find_changes(st)
  for key in pairs(st.mapper.props) do
    if not M.of_state(st, key):has_changes() then out[key] = true end
  end
  return out
end

return M
