--- orm/attributes.lua: instance state and attribute access (SQLAlchemy's
--- orm/state.py and orm/attributes.py).
---
--- An instance is a table holding only its InstanceState (under a private
--- key) and whatever plain fields the program sets; mapped values live in
--- `state.dict`, the value table, which is also the instance's metatable:
--- `dict.__index` is dict itself, so a read of a loaded value is two table
--- look-ups in the VM and no function call (a function __index costs ten
--- times a plain field read on Lua 5.4). `dict.__newindex` and
--- `dict.__tostring` are the mapper's; those three are the only other keys
--- of a value table (mapped attribute names never start with "__"). A key
--- the value table lacks falls to ITS metatable, the state, whose raw
--- `__index` is the mapper's miss function: that is what lets a NULL column
--- read as nil (never the class attribute), an expired attribute load on
--- access, a relationship load lazily, a hybrid run its getter, and a method
--- come from the class. So the ORM reads a value table RAW
--- (`rawget(st.dict, k)`): a plain read of a missing key runs that work.
--- Writes go through `dict.__newindex`: they mark the object modified, keep
--- the other side of a bidirectional relationship in step, and keep the
--- value the attribute had (`st.committed`, only for what changed).
---
--- Collections are plain Lua sequences (so `#`, ipairs, table.insert and
--- table.remove work on every runtime); what changed in them is found at
--- flush by comparing with the snapshot taken when they were loaded. A
--- loaded collection lives in the state's own `colls` table, not in the
--- value table: a list can only be changed by code that got it, and it is
--- got by reading the attribute, so every read goes through the miss
--- function, which notes the state in its session's read set. A lazy
--- load's autoflush compares only those (orm/autoflush.lua), so its cost
--- does not grow with the collections the session holds. The ORM reads
--- and writes a relationship's value through rel_value / set_rel_value
--- (raw, never loading, never noting a read).
local exc = require("quicksilver.exc")
local elements = require("quicksilver.sql.elements")
local identity = require("quicksilver.orm.identity")
local core = require("quicksilver.core")
local construct_jit = require("quicksilver.orm.construct_jit")

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

--- Stands for "the value before was NULL" in `st.committed`, whose nil
--- means "unchanged since load or flush" (SQLAlchemy's committed_state).
local WAS_NULL = setmetatable({}, {__tostring = function() return "<was NULL>" end})
M.WAS_NULL = WAS_NULL

---@class quicksilver.orm.InstanceState
---@field mapper table
---@field obj table
---@field dict table        mapped attribute -> value (nil: NULL or not loaded)
---@field committed table|nil column attribute -> its value before it changed since the last load or flush
---                          (WAS_NULL: it was NULL; UNKNOWN: it was expired); nil: nothing changed
---@field expired table|nil column attributes to load on access
---@field loaded table      relationship attribute -> true once loaded or set
---@field snap table        collection attribute -> the list as loaded/flushed
---@field colls table       collection attribute (uselist) -> its loaded list (not in dict: see the header)
---@field session table|nil
---@field key string|nil   identity key once persistent
local InstanceState = {}
-- loaded and snap are made at their first use: most loaded objects never
-- touch a relationship, and two tables fewer per object is a sixth of the
-- cost of loading one (docs/PERFORMANCE.md)
local LAZY = {loaded = true, snap = true, colls = true}
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

-- The state's fields below are read raw in the ORM's per-object paths: a
-- field the state lacks, read by name, calls InstanceState's __index (a
-- function call per read: a tenth of a flush's VM instructions before).

--- The session st is in, or nil (st.session without the metamethod).
local function session_of(st)
  local id = rawget(st, "_sid")
  return id and sessions[id]
end
M.session_of = session_of

--- Whether st is in session s (ids compared: an id is never reused).
function M.in_session(st, s)
  local id = rawget(st, "_sid")
  return id ~= nil and id == rawget(s, "_sid")
end

--- The value st holds for relationship rel, raw: a collection's list from
--- st.colls, a scalar from the value table; nil when not loaded (never
--- loads, never counts as a read).
---@param st table
---@param rel table
---@return any
function M.rel_value(st, rel)
  if rel.uselist then
    local c = rawget(st, "colls")
    return c and c[rel.key]
  end
  return rawget(st.dict, rel.key)
end

--- Puts v as relationship rel's value on st (raw: no event, no mark).
---@param st table
---@param rel table
---@param v any
function M.set_rel_value(st, rel, v)
  if rel.uselist then
    st.colls[rel.key] = v
  else
    st.dict[rel.key] = v
  end
end

-- A session's read set: {mapper -> weak set of states} whose collections
-- were handed out since the lazy-load autoflush last compared them
-- (orm/autoflush.lua), by session id (no call to find it: a collection
-- read notes one). The session holds its own (`_reads`, raw); this table
-- only finds it, and forgets it with the session.
local WEAK_KEYS = {__mode = "k"}
local reads_of = setmetatable({}, {__mode = "v"})   -- id -> read set

--- Notes that st's collections were handed out (to a program, or to code
--- that may change them): the next lazy load's autoflush compares them.
---@param st table
function M.note_read(st)
  local id = rawget(st, "_sid")
  local s = id and sessions[id]
  if s == nil then return end
  local reads = reads_of[id]
  if reads == nil then
    reads = {}
    rawset(s, "_reads", reads)
    reads_of[id] = reads
  end
  local m = st.mapper
  local bucket = reads[m]
  if bucket == nil then
    bucket = setmetatable({}, WEAK_KEYS)
    reads[m] = bucket
  end
  bucket[st] = true
end
local note_read = M.note_read

--- The read set of the session with id sid ({mapper -> weak set of
--- states}), or nil when none was noted.
---@param sid integer|nil
---@return table|nil
function M.read_set(sid)
  return sid and reads_of[sid]
end

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

--- A new state for obj (transient: no session, no identity); dict may be
--- given (a loaded row's values). The object is not bound to it yet: see
--- bind (or make_instance).
function M.new_state(mapper, obj, dict)
  return setmetatable({mapper = mapper, obj = obj, dict = dict or {}}, InstanceState)
end

--- Binds obj to st (whose dict holds the values): obj[STATE] = st, obj's
--- metatable the value table, the value table's metatable the state (its
--- `__index` the mapper's miss function). What c/orm/load.c does per row.
function M.bind(st, obj)
  local dict = st.dict
  local proto = st.mapper.instance_mt
  dict.__index = dict
  dict.__newindex = proto.__newindex
  dict.__tostring = proto.__tostring
  rawset(st, "__index", proto.__index)
  setmetatable(dict, st)
  rawset(obj, STATE, st)
  return setmetatable(obj, dict)
end

--- A new instance of mapper holding dict's values (transient), and its state.
function M.make_instance(mapper, dict)
  local obj = {}
  local st = M.new_state(mapper, obj, dict)
  M.bind(st, obj)
  return obj, st
end

--- Refuses a mapped attribute name the value table reserves (the
--- metamethod keys live there): every name starting with "__".
function M.check_attribute_name(mapper, key)
  if type(key) ~= "string" or key:sub(1, 2) == "__" then
    exc.raise(exc.ArgumentError, format("%s: '%s' cannot be a mapped attribute name (names starting with __ " ..
      "are reserved)", mapper.class_name or "mapper", tostring(key)), nil, 4)
  end
end

-- Committed values ------------------------------------------------------------------------
-- st.committed keeps an attribute's value from before its first change since
-- the object was loaded or flushed; every other attribute is unchanged (its
-- committed value is its current one). Loading no longer copies each row
-- and a flush no longer snapshots each object. Old values are read through
-- committed_of (and changed_keys), written through set_committed,
-- write_value and set_column; loaded_value, reset_committed, expiry
-- (here and in session.lua) and the flush's finish forget them.

--- The value attribute k had as last loaded or flushed (UNKNOWN when it
--- was expired before it was set; nil for an object never flushed).
function M.committed_of(st, k)
  local c = rawget(st, "committed")
  local v = c and c[k]
  if v == nil then
    if st.key == nil then return nil end
    return rawget(st.dict, k)
  end
  if v == WAS_NULL then return nil end
  return v
end

-- st's committed table, made at the first change.
local function own_committed(st)
  local c = rawget(st, "committed")
  if c == nil then
    c = {}
    rawset(st, "committed", c)
  end
  return c
end

--- Sets the committed value of k to v (nil: NULL): what the database is
--- known to hold, whatever the object holds now.
function M.set_committed(st, k, v)
  if v == nil then v = WAS_NULL end
  own_committed(st)[k] = v
end

-- Keeps k's value before its first change (persistent objects: a new one
-- is written whole).
local function record_old(st, k)
  if st.key == nil then return end
  local c = own_committed(st)
  if c[k] == nil then
    local old = rawget(st.dict, k)
    if old == nil then old = WAS_NULL end
    c[k] = old
  end
end

--- Writes v as attribute k's value, keeping the old one (the flush's
--- foreign-key syncs: a change the next UPDATE writes).
function M.write_value(st, k, v)
  record_old(st, k)
  st.dict[k] = v
end

--- Takes v as k's value as the database has it (a load or refresh).
function M.loaded_value(st, k, v)
  st.dict[k] = v
  local c = rawget(st, "committed")
  if c then c[k] = nil end
end

--- Everything st holds is what the database has (after a flush, a merge
--- without load): no attribute counts as changed.
function M.reset_committed(st)
  rawset(st, "committed", nil)
end

--- The keys of the list keys (in list order) whose value differs from the
--- committed one (c/orm/uow.c: only the changed attributes are looked at).
local changed_keys_c = require("quicksilver.core").changed_keys
local NO_CHANGES = {}
function M.changed_keys(st, keys)
  return changed_keys_c(st.dict, rawget(st, "committed") or NO_CHANGES, keys, WAS_NULL)
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
  if not rawget(st, "modified") then
    rawset(st, "modified", true)
    local s = session_of(st)
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
  local dict, committed = st.dict, rawget(st, "committed")
  for _, k in ipairs(keys) do
    dict[k] = nil
    if committed then committed[k] = nil end
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
    return rawget(st.dict, key)
  end
  return nil
end

function M.set_column(st, key, value)
  if value == NULL then value = nil end
  if unexpire(st, key) then own_committed(st)[key] = UNKNOWN else record_old(st, key) end
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

--- fn(st, key, list) called when a list becomes a collection (set by
--- orm/attribute_events.lua once an attribute listener exists; nil before).
M.init_collection_hook = nil

local function track_collection(st, key, list)
  local hook = M.init_collection_hook
  if hook then hook(st, key, list) end
  st.loaded[key] = true
  if st.snap[key] == nil then
    local copy = {}
    for i = 1, #list do copy[i] = list[i] end
    st.snap[key] = copy
  end
  local s = session_of(st)
  if s then s._collections[st] = true end
  if rawget(st, "pending_mutations") then
    -- the list now differs from its snapshot: the next check must look
    apply_pending(st, key, list)
    note_read(st)
  end
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
  if rel.uselist then
    -- (plain reads, no rawget call: the state's raw fields, or its lazy
    -- colls table; this runs at every read of a collection)
    local list = st.colls[key]
    if list == nil and not st.loaded[key] then
      -- write_only / dynamic: the handle, kept in the value table from now
      -- on, so later reads find it there (orm/writeonly.lua)
      local wo = rel.wo_get
      if wo then return wo(st, rel) end
      if st.key == nil then
        -- transient or pending: nothing in the database to load
        list = {}
        st.colls[key] = list
        track_collection(st, key, list)
      else
        list = rel:lazy_load(st)
      end
    end
    -- every collection handed out is noted (it may be changed in place);
    -- the usual case inline, the first note of a set by note_read
    local reads = reads_of[st._sid or 0]
    local bucket = reads and reads[st.mapper]
    if bucket then bucket[st] = true else note_read(st) end
    return list
  end
  if st.loaded[key] then return rawget(st.dict, key) end
  if st.key == nil then
    st.loaded[key] = true
    return nil
  end
  return rel:lazy_load(st)
end

-- A state's m2o_set (the many-to-ones set since the last flush) that
-- holds one key is shared: one read-only table per attribute name for
-- every state with only that one set (most new objects of a graph: one
-- table fewer each). Whoever changes a state's set asks for its own first
-- (set_scalar_plain, forget_m2o); the flush's finish drops the field.
local shared_m2o = {}   -- set -> true
local only_m2o = setmetatable({}, {__index = function(t, k)
  local set = {[k] = true}
  shared_m2o[set] = true
  t[k] = set
  return set
end})

--- Whether set is a shared m2o_set (read-only; for the specs).
function M.is_shared_m2o_set(set)
  return shared_m2o[set] == true
end

-- Notes many-to-one key as set on st.
local function note_m2o(st, key)
  local set = rawget(st, "m2o_set")
  if set == nil then
    rawset(st, "m2o_set", only_m2o[key])
  elseif not set[key] then
    if shared_m2o[set] then
      local own = {[key] = true}
      for k in pairs(set) do own[k] = true end
      rawset(st, "m2o_set", own)
    else
      set[key] = true
    end
  end
end

--- Forgets that many-to-one key was set on st (its expiry).
---@param st table
---@param key string
function M.forget_m2o(st, key)
  local set = rawget(st, "m2o_set")
  if set and set[key] then
    if shared_m2o[set] then
      local own = {}
      for k in pairs(set) do if k ~= key then own[k] = true end end
      rawset(st, "m2o_set", own)
    else
      set[key] = nil
    end
  end
end

--- Sets the many-to-one side without touching the other side. A state's
--- `loaded` is made here at its first use with its one key (a table
--- constructor sizes it: no rehash, no call of the state's __index).
local function set_scalar_plain(st, rel, value)
  local key = rel.key
  st.dict[key] = value
  local loaded = rawget(st, "loaded")
  if loaded then loaded[key] = true else rawset(st, "loaded", {[key] = true}) end
  note_m2o(st, key)
  if not rawget(st, "modified") then modified(st) end
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
      local cur = st.loaded[key] and rawget(st.dict, key) or nil
      st.snap[key] = cur ~= nil and {cur} or {}
    end
    local s = session_of(st)
    if s then s._collections[st] = true end
  end
  local rev = rel.reverse
  local old
  if st.loaded[key] then
    old = rawget(st.dict, key)
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
        local list = M.rel_value(ost, rev)
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
        local list = M.rel_value(vst, rev)
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

--- How often set_collection took its path for a new object's first list
--- (a transient owner outside any session, the collection never read or
--- set, a one-to-many or no reverse side), and how many members it
--- pointed back at their new owner without a call (members whose state
--- had no relationship set yet). Counters for the specs.
M.stats = {new_collections = 0, new_members = 0}
local stats = M.stats
local check_members, link_members = core.check_members, core.link_members
if rawget(_G, "jit") then   -- LuaJIT: the same in Lua (orm/construct_jit.lua says why)
  check_members, link_members = construct_jit.check_members, construct_jit.link_members
end

--- obj.rel = list for a collection: the members' many-to-one side points
--- back at once. The old contents are loaded first (to know who left).
function M.set_collection(st, rel, list)
  local wo = rel.wo_set   -- write_only / dynamic (orm/writeonly.lua)
  if wo then return wo(st, rel, list) end
  if list == NULL or list == nil then list = {} end
  if type(list) ~= "table" or rawget(list, STATE) then
    exc.raise(exc.ArgumentError, format("%s: a collection is assigned a list of objects, got %s",
      rel:describe(), type(list) == "table" and "an instance" or type(list)), nil, 4)
  end
  local key = rel.key
  local rev = rel.reverse
  local loaded = rawget(st, "loaded")
  if rawget(st, "key") == nil and rawget(st, "_sid") == nil and not (loaded and loaded[key]) and
      rawget(st, "pending_mutations") == nil and not (rev and rev.uselist) then
    -- a new object's first list (building an object graph): nothing to
    -- load, no session to tell, an empty snapshot (every member is new),
    -- and what get_relationship, track_collection and set_scalar_plain
    -- do, without their calls and with each table made at its size
    local target = rel.target
    local bad = check_members(list, STATE, target)
    if bad then
      for i = bad, #list do
        local v = list[i]
        local vst = type(v) == "table" and rawget(v, STATE)
        if not vst or vst.mapper ~= target then M.check_target(rel, v) end
      end
    end
    stats.new_collections = stats.new_collections + 1
    if loaded then loaded[key] = true else rawset(st, "loaded", {[key] = true}) end
    local snap = rawget(st, "snap")
    if snap == nil then rawset(st, "snap", {[key] = {}}) elseif snap[key] == nil then snap[key] = {} end
    local colls = rawget(st, "colls")
    if colls then colls[key] = list else rawset(st, "colls", {[key] = list}) end
    if not rawget(st, "modified") then rawset(st, "modified", true) end
    if rev then
      -- members in no session that no relationship was set or read on
      -- (c/orm/construct.c): dict[rkey] = owner, a loaded table with one
      -- key, the shared m2o_set, modified; any other by set_scalar_plain
      local owner, rkey, n = st.obj, rev.key, #list
      local m2o_only, i = only_m2o[rkey], 1
      while i <= n do
        local fresh, stop = link_members(list, i, owner, rkey, STATE, m2o_only)
        stats.new_members = stats.new_members + fresh
        if stop > n then break end
        set_scalar_plain(rawget(list[stop], STATE), rev, owner)
        i = stop + 1
      end
    end
    return
  end
  if not (loaded and loaded[key]) then M.get_relationship(st, rel) end
  for i = 1, #list do M.check_target(rel, list[i]) end
  st.colls[key] = list
  track_collection(st, key, list)
  modified(st)
  note_read(st)   -- the program holds the list it gave
  if rev and not rev.uselist then
    local owner = st.obj
    for i = 1, #list do
      local mst = rawget(list[i], STATE)
      if not rawequal(M.rel_value(mst, rev), owner) then set_scalar_plain(mst, rev, owner) end
    end
  elseif rev then
    -- many-to-many: the owner joins each member's loaded (or new) collection
    local owner = st.obj
    for i = 1, #list do
      local mst = rawget(list[i], STATE)
      if not mst.loaded[rev.key] and mst.key == nil then M.get_relationship(mst, rev) end
      local other = mst.loaded[rev.key] and M.rel_value(mst, rev)
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

-- The instance metamethods ------------------------------------------------------------

local getmetatable = getmetatable

--- A class's member without raising (orm/mapper.lua sets the real one,
--- which keeps Model.unknown's error away from obj.unknown).
M.class_member = function(cls, k) return cls[k] end

--- The metamethods every value table of mapper's instances holds (bind,
--- c/orm/load.c): `__newindex` (writes: validators, read-only properties,
--- columns, relationships, hybrids' setters; plain fields raw into the
--- object) and `__tostring`; and `__index`, the miss function bind makes
--- each state's `__index` (the value table's metatable is its state): a
--- column without a value is NULL (nil, never the class attribute) or
--- expired (loaded now), a relationship not loaded loads, then hybrids'
--- getters and the class's members.
function M.instance_metatable(mapper)
  local props = mapper.props
  local cls = mapper.class
  local get_column, get_relationship = M.get_column, M.get_relationship
  -- the class's members without Model.unknown's error: obj.unknown is nil
  local class_member = M.class_member
  local proto = {}
  proto.__index = function(dict, k)
    local st = getmetatable(dict)
    local p = props[k]
    if p then
      if p.is_column then return get_column(st, k) end
      local cc = p.collection   -- a set, keyed dict or ordered list (orm/collections.lua)
      if cc then return cc:get(st, p) end
      return get_relationship(st, p)
    end
    local h = mapper:find_hybrid(k)
    if h then return h:instance_get(st.obj) end
    local v = rawget(cls, k)   -- a method of the class itself, without class_member's call
    if v ~= nil then return v end
    return class_member(cls, k)
  end
  proto.__newindex = function(obj, k, v)
    local p = props[k]
    local st = rawget(obj, STATE)
    if p then
      local vf = mapper:find_validator(k)
      if vf then
        if p.collection then
          exc.raise(exc.ArgumentError, format("%s.%s: validates on a collection_class collection is not supported",
            mapper.class_name, k), nil, 2)
        end
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
        local cc = p.collection
        if cc then cc:assign(st, p, v) else M.set_collection(st, p, v) end
      else
        M.set_scalar(st, p, v)
      end
      return
    end
    local h = mapper:find_hybrid(k)
    if h then return h:instance_set(obj, v) end
    rawset(obj, k, v)
  end
  proto.__tostring = function(obj)
    local custom = mapper:find_tostring()
    if custom then return custom(obj) end
    local st = rawget(obj, STATE)
    local parts = {}
    for i, key in ipairs(mapper.pk_keys) do parts[i] = tostring(rawget(st.dict, key)) end
    return format("<%s %s>", mapper.class_name, st.key and table.concat(parts, ", ") or
      (st.session and "pending" or "transient"))
  end
  return proto
end

return M
