--- orm/attributes.lua: instance state and attribute access (SQLAlchemy's
--- orm/state.py and orm/attributes.py).
---
--- An instance is a table holding only its InstanceState (under a private
--- key) and whatever plain fields the program sets; mapped values live in
--- `state.dict`, so every read and write of a mapped attribute passes through
--- the mapper's instance metatable. That is what lets a NULL column read as
--- nil (never the class attribute), an expired attribute load on access, a
--- relationship load lazily, and a write mark the object modified and keep
--- the other side of a bidirectional relationship in step.
---
--- Collections are plain Lua sequences (so `#`, ipairs, table.insert and
--- table.remove work on every runtime); what changed in them is found at
--- flush by comparing with the snapshot taken when they were loaded.
local exc = require("quicksilver.exc")
local elements = require("quicksilver.sql.elements")
local identity = require("quicksilver.orm.identity")

local M = {}

local type, rawget, rawset, setmetatable, pairs, tostring, format =
  type, rawget, rawset, setmetatable, pairs, tostring, string.format
local NULL = elements.null

--- The key an instance keeps its state under (a table: no clash with names).
local STATE = setmetatable({}, {__tostring = function() return "<orm state key>" end})
M.STATE = STATE

--- Stands for "the value before was not known" in a committed snapshot, so
--- that setting an expired attribute always counts as a change.
local UNKNOWN = setmetatable({}, {__tostring = function() return "<unknown>" end})
M.UNKNOWN = UNKNOWN

-- A new object's committed values: none, shared by every new object until
-- its first flush gives it a table of its own (flush_finish.snapshot). Read
-- only: a write is a bug, and says so.
local NONE_COMMITTED = setmetatable({}, {
  __newindex = function(_, k) error("internal: write of '" .. tostring(k) .. "' to a new object's committed values", 2) end,
})
M.NONE_COMMITTED = NONE_COMMITTED

---@class quicksilver.orm.InstanceState
---@field mapper table
---@field obj table
---@field dict table        mapped attribute -> value (nil: NULL or not loaded)
---@field committed table   column attribute -> value as last loaded or flushed
---@field expired table|nil column attributes to load on access
---@field loaded table      relationship attribute -> true once loaded or set
---@field snap table        collection attribute -> the list as loaded/flushed
---@field session table|nil
---@field key string|nil   identity key once persistent
local InstanceState = {}
-- loaded and snap are made at their first use: most loaded objects never
-- touch a relationship, and two tables fewer per object is a sixth of the
-- cost of loading one (docs/PERFORMANCE.md)
local LAZY = {loaded = true, snap = true}
-- An object refers to its session weakly, as in SQLAlchemy (where the state
-- keeps the session's id and object_session looks it up): a state holds the
-- number `_sid`, and `st.session` reads the session registered under it in a
-- weak-valued registry, so a session reachable only through its objects is
-- collected, and its finalizer gives its connection back (Session.new). The
-- states read and write `st.session` through the two metamethods below;
-- core.load_objects writes `_sid` itself (no call per loaded object).
local sessions = setmetatable({}, {__mode = "v"})   -- id -> session
local last_sid = 0

--- The id session s is registered under (given at its first use).
function M.session_id(s)
  local id = rawget(s, "_sid")
  if id == nil then
    last_sid = last_sid + 1
    id = last_sid
    rawset(s, "_sid", id)
    sessions[id] = s
  end
  return id
end
local session_id = M.session_id

InstanceState.__index = function(st, k)
  if k == "session" then
    local id = rawget(st, "_sid")
    return id and sessions[id]
  end
  if LAZY[k] then
    local t = {}
    rawset(st, k, t)
    return t
  end
  return nil
end
InstanceState.__newindex = function(st, k, v)
  if k == "session" then
    rawset(st, "_sid", v and session_id(v) or nil)
  else
    rawset(st, k, v)
  end
end
M.InstanceState = InstanceState

--- A new state for obj (transient: no session, no identity); dict and
--- committed may be given (a loaded row's values).
function M.new_state(mapper, obj, dict, committed)
  return setmetatable({mapper = mapper, obj = obj, dict = dict or {}, committed = committed or NONE_COMMITTED},
    InstanceState)
end

--- The state of an instance, or nil for anything else.
function M.state_of(obj)
  if type(obj) ~= "table" then return nil end
  return rawget(obj, STATE)
end

--- The state of obj; UnmappedInstanceError when obj is not an instance of a
--- mapped class.
function M.instance_state(obj, what)
  local st = type(obj) == "table" and rawget(obj, STATE)
  if not st then
    exc.raise(exc.UnmappedInstanceError, format("%s: %s is not an instance of a mapped class",
      what or "orm", type(obj) == "table" and tostring(obj) or type(obj)), nil, 3)
  end
  return st
end

-- identity keys: orm/identity.lua (the spelling c/orm/load.c shares)
M.keypart = identity.keypart

--- The identity key of a row of mapper's hierarchy with these primary-key
--- values (a list in primary-key order): the key of its base mapper's map
--- in a session (orm/identity.lua), what `st.key` holds; nil when one of
--- them is nil.
M.identity_key = identity.key

--- Records that st changed (the session holds it strongly until flushed).
local function modified(st)
  if not st.modified then
    st.modified = true
    local s = st.session
    if s then s._modified[st] = true end
  end
end
M.modified = modified

-- Expired sets shared by every object a commit expired whole (one set per
-- mapper instead of one per object); whoever changes an object's set asks
-- own_expired for one of its own first.
local shared_expired = setmetatable({}, {__mode = "k"})

--- The set of every expirable attribute of mapper m (columns but the key's,
--- and column expressions), shared and read-only; nil when there are none.
function M.all_expired(m, keys)
  local set = m._all_expired
  if set == nil or m._all_expired_keys ~= keys then
    set = {}
    for _, k in ipairs(keys) do set[k] = true end
    if next(set) == nil then set = false end
    if set then shared_expired[set] = true end
    m._all_expired, m._all_expired_keys = set, keys
  end
  return set or nil
end

--- st's expired set, made its own (a copy of a shared one, or a new one)
--- so that it can be changed.
function M.own_expired(st)
  local ex = st.expired
  if ex == nil then
    ex = {}
    st.expired = ex
  elseif shared_expired[ex] then
    local copy = {}
    for k in pairs(ex) do copy[k] = true end
    ex = copy
    st.expired = ex
  end
  return ex
end
local own_expired = M.own_expired

--- Expires the attributes of the list keys on st: their values dropped,
--- loaded again on access.
function M.expire_attributes(st, keys)
  local ex = own_expired(st)
  local dict, committed = st.dict, st.committed
  for _, k in ipairs(keys) do
    dict[k] = nil
    committed[k] = nil
    ex[k] = true
  end
  st.expired = next(ex) and ex or nil
end

--- Takes the attribute keys out of the expired set.
local function unexpire(st, key)
  local ex = st.expired
  if ex and ex[key] then
    ex = own_expired(st)
    ex[key] = nil
    if next(ex) == nil then st.expired = nil end
    return true
  end
  return false
end

-- Column attributes ---------------------------------------------------------------------

--- Reading a column attribute that has no value in the dict: NULL, or
--- expired (loaded now, with every other expired attribute, in one SELECT).
--- The SELECT is the business of the session the object is in
--- (Session:_load_expired): this module sits below the loading and the
--- session and reaches them only through that object, never by require.
function M.get_column(st, key)
  local ex = st.expired
  if ex and ex[key] then
    local session = st.session
    if not session then
      exc.raise(exc.DetachedInstanceError, format("Instance %s is not bound to a Session; attribute " ..
        "refresh operation cannot proceed", tostring(st.obj)), nil, 3)
    end
    session:_load_expired(st)
    return st.dict[key]
  end
  return nil
end

function M.set_column(st, key, value)
  if value == NULL then value = nil end
  if unexpire(st, key) then st.committed[key] = UNKNOWN end
  st.dict[key] = value
  modified(st)
end

-- Relationships -------------------------------------------------------------------------

local function index_of(list, x)
  for i = 1, #list do
    if rawequal(list[i], x) then return i end
  end
  return nil
end
M.index_of = index_of

--- The session tracks states whose collections are loaded: table.insert
--- into one is seen only by comparing at flush.
--- Changes a backref made to a collection that was not loaded (SQLAlchemy's
--- pending mutations) are applied when it loads, after the snapshot: the
--- flush then sees them as members added or removed.
local function apply_pending(st, key, list)
  local pm = st.pending_mutations
  local q = pm and pm[key]
  if not q then return end
  pm[key] = nil
  if next(pm) == nil then st.pending_mutations = nil end
  for _, m in ipairs(q) do
    local i = index_of(list, m[2])
    if m[1] then
      if not i then list[#list + 1] = m[2] end
    elseif i then
      table.remove(list, i)
    end
  end
end

local function track_collection(st, key, list)
  st.loaded[key] = true
  if st.snap[key] == nil then
    local copy = {}
    for i = 1, #list do copy[i] = list[i] end
    st.snap[key] = copy
  end
  if st.pending_mutations then apply_pending(st, key, list) end
  local s = st.session
  if s then s._collections[st] = true end
end
M.track_collection = track_collection

--- Queues obj's arrival (add true) or departure in st's collection key,
--- which is not loaded; the latest word on obj wins.
local function queue_pending(st, key, obj, add)
  local pm = st.pending_mutations
  if not pm then pm = {}; st.pending_mutations = pm end
  local q = pm[key]
  if not q then q = {}; pm[key] = q end
  q[#q + 1] = {add, obj}
end

--- A relationship attribute with nothing in the dict: not loaded yet (lazy
--- load, or an empty collection for an object never persisted), or loaded
--- as none.
function M.get_relationship(st, rel)
  local key = rel.key
  if st.loaded[key] then return st.dict[key] end
  if st.key == nil then
    -- transient or pending: nothing in the database to load
    if rel.uselist then
      local list = {}
      st.dict[key] = list
      track_collection(st, key, list)
      return list
    end
    st.loaded[key] = true
    return nil
  end
  return rel:lazy_load(st)
end

--- Sets the many-to-one side without touching the other side.
local function set_scalar_plain(st, rel, value)
  st.dict[rel.key] = value
  st.loaded[rel.key] = true
  st.m2o_set = st.m2o_set or {}
  st.m2o_set[rel.key] = true
  modified(st)
end

--- obj.rel = target for a many-to-one (or one-to-one) relationship: the
--- loaded collection on the other side follows at once.
function M.set_scalar(st, rel, value)
  if value == NULL then value = nil end
  local key = rel.key
  if value ~= nil then M.check_target(rel, value) end
  -- a one-to-one seen from the parent: who held the place before must be
  -- known (the flush nulls or deletes it), so it is loaded first
  if rel.direction == "ONETOMANY" then
    if not st.loaded[key] and st.key then M.get_relationship(st, rel) end
    if st.snap[key] == nil then
      local cur = st.loaded[key] and st.dict[key] or nil
      st.snap[key] = cur ~= nil and {cur} or {}
    end
    if st.session then st.session._collections[st] = true end
  end
  local rev = rel.reverse
  local old
  if st.loaded[key] then
    old = st.dict[key]
  elseif rev and rev.uselist and st.key then
    -- never read: the old target is whatever the identity map holds for
    -- the committed foreign key (no SQL), so its collection can follow
    old = rel:identity_target(st)
  end
  set_scalar_plain(st, rel, value)
  if rev and rev.uselist and not rawequal(old, value) then
    local obj = st.obj
    if old ~= nil then
      local ost = rawget(old, STATE)
      if ost.loaded[rev.key] then
        local list = ost.dict[rev.key]
        local i = list and index_of(list, obj)
        if i then table.remove(list, i) end
      elseif ost.key then
        queue_pending(ost, rev.key, obj, false)
      end
    end
    if value ~= nil then
      local vst = rawget(value, STATE)
      -- a new object's collection starts empty here; a persistent one's
      -- unloaded collection gets obj when it loads
      if not vst.loaded[rev.key] and vst.key == nil then M.get_relationship(vst, rev) end
      if vst.loaded[rev.key] then
        local list = vst.dict[rev.key]
        if list and not index_of(list, obj) then list[#list + 1] = obj end
      else
        queue_pending(vst, rev.key, obj, true)
      end
    end
  elseif rev and not rev.uselist and value ~= nil then
    local vst = rawget(value, STATE)
    set_scalar_plain(vst, rev, st.obj)
  end
end

--- obj.rel = list for a collection: the members' many-to-one side points
--- back at once. The old contents are loaded first (to know who left).
function M.set_collection(st, rel, list)
  if list == NULL or list == nil then list = {} end
  if type(list) ~= "table" or rawget(list, STATE) then
    exc.raise(exc.ArgumentError, format("%s: a collection is assigned a list of objects, got %s",
      rel:describe(), type(list) == "table" and "an instance" or type(list)), nil, 4)
  end
  local key = rel.key
  if not st.loaded[key] then M.get_relationship(st, rel) end
  for i = 1, #list do M.check_target(rel, list[i]) end
  st.dict[key] = list
  track_collection(st, key, list)
  modified(st)
  local rev = rel.reverse
  if rev and not rev.uselist then
    local owner = st.obj
    for i = 1, #list do
      local mst = rawget(list[i], STATE)
      if not rawequal(mst.dict[rev.key], owner) then set_scalar_plain(mst, rev, owner) end
    end
  elseif rev then
    -- many-to-many: the owner joins each member's loaded (or new) collection
    local owner = st.obj
    for i = 1, #list do
      local mst = rawget(list[i], STATE)
      if not mst.loaded[rev.key] and mst.key == nil then M.get_relationship(mst, rev) end
      local other = mst.loaded[rev.key] and mst.dict[rev.key]
      if other and not index_of(other, owner) then other[#other + 1] = owner end
    end
  end
end

--- The object must be an instance of the relationship's target (or a
--- subclass); anything else is an ArgumentError naming both.
function M.check_target(rel, value)
  local vst = type(value) == "table" and rawget(value, STATE)
  if not vst then
    exc.raise(exc.ArgumentError, format("%s: expected an instance of %s, got %s", rel:describe(),
      rel.target.class_name, type(value) == "table" and "a plain table" or type(value)), nil, 5)
  end
  local m = vst.mapper
  while m do
    if m == rel.target then return end
    m = m.inherits
  end
  exc.raise(exc.ArgumentError, format("%s: expected an instance of %s, got an instance of %s",
    rel:describe(), rel.target.class_name, vst.mapper.class_name), nil, 5)
end

-- The instance metatable ---------------------------------------------------------------

--- The metatable instances of mapper get: mapped attributes through the
--- state, hybrids through their getter and setter, methods from the class.
function M.instance_metatable(mapper)
  local props = mapper.props
  local cls = mapper.class
  local get_column, get_relationship = M.get_column, M.get_relationship
  local mt = {__name = mapper.class_name}
  mt.__index = function(obj, k)
    local st = rawget(obj, STATE)
    local v = st.dict[k]
    if v ~= nil then return v end
    local p = props[k]
    if p then
      if p.is_column then return get_column(st, k) end
      return get_relationship(st, p)
    end
    local h = mapper:find_hybrid(k)
    if h then return h:instance_get(obj) end
    return cls[k]
  end
  mt.__newindex = function(obj, k, v)
    local p = props[k]
    local st = rawget(obj, STATE)
    if p then
      local vf = mapper:find_validator(k)
      if vf then
        if p.uselist and type(v) == "table" and not rawget(v, STATE) then
          local checked = {}
          for i = 1, #v do checked[i] = vf(obj, k, v[i]) end
          v = checked
        else
          v = vf(obj, k, v)
        end
      end
      if p.read_only then
        exc.raise(exc.ArgumentError, format("%s.%s is a column_property and cannot be set",
          mapper.class_name, k), nil, 2)
      end
      if p.is_column then
        M.set_column(st, k, v)
      elseif p.uselist then
        M.set_collection(st, p, v)
      else
        M.set_scalar(st, p, v)
      end
      return
    end
    local h = mapper:find_hybrid(k)
    if h then return h:instance_set(obj, v) end
    rawset(obj, k, v)
  end
  mt.__tostring = function(obj)
    local custom = mapper:find_tostring()
    if custom then return custom(obj) end
    local st = rawget(obj, STATE)
    local parts = {}
    for i, key in ipairs(mapper.pk_keys) do parts[i] = tostring(st.dict[key]) end
    return format("<%s %s>", mapper.class_name, st.key and table.concat(parts, ", ") or
      (st.session and "pending" or "transient"))
  end
  return mt
end

return M
