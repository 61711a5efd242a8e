--- orm/writeonly.lua: relationships declared `lazy = "write_only"`
--- (SQLAlchemy 2.0's WriteOnlyCollection) and the write side of
--- `lazy = "dynamic"` (orm/dynamic.lua adds the query side).
---
--- Such a collection is never loaded. `obj.rel` is a handle whose
--- `add`/`add_all`/`remove` queue changes that the next flush writes, and
--- whose `select()` is a statement over the collection's rows.
---
--- The queued changes live where the flush already looks for a collection's
--- changes (orm/flush_gather.lua): the state's list (`st.colls[key]`) holds
--- the objects added since the last flush, its snapshot (`st.snap[key]`)
--- the objects removed. The flush sees the first as members that joined
--- (one-to-many: their foreign key set; many-to-many: association rows
--- inserted) and the second as members that left (key NULLed, delete-orphan,
--- association rows deleted), so no flush code is specific to these
--- collections; after the flush both lists are emptied again
--- (flush_finish.snapshot_collections asks `rel.wo`).
local exc = require("quicksilver.exc")
local elements = require("quicksilver.sql.elements")
local selectable = require("quicksilver.sql.selectable")
local dml = require("quicksilver.sql.dml")
local attributes = require("quicksilver.orm.attributes")
local loader_criteria = require("quicksilver.orm.criteria")

local M = {}

local rawget, rawset, type, format, tostring, setmetatable, ipairs =
  rawget, rawset, type, string.format, tostring, setmetatable, ipairs
local unpack = table.unpack or unpack
local STATE = attributes.STATE
local index_of = attributes.index_of

--- The relationship loaders this module serves.
M.KINDS = {write_only = true, dynamic = true}

-- handle -> {st = state, rel = relationship} (weak: a handle lives as long
-- as the program holds it or its state caches it)
local data_of = setmetatable({}, {__mode = "k"})
M.data_of = data_of

local function iteration_error(rel, what)
  local hint = rel.wo == "dynamic" and "use :all() (or :select() with session:scalars())" or
    "use session:scalars(obj." .. rel.key .. ":select())"
  exc.raise(exc.InvalidRequestError, format("%s is a %s collection: it cannot be %s; %s",
    rel:describe(), rel.wo, what, hint), nil, 3)
end
M.iteration_error = iteration_error

--- The refusal for an eager loader option or strategy on rel.
function M.refuse_loader(rel, strategy, level)
  exc.raise(exc.InvalidRequestError, format("%s is lazy = '%s' and is never loaded: the loader option " ..
    "%s cannot be applied to it", rel:describe(), rel.wo, tostring(strategy)), nil, (level or 1) + 1)
end

local function check_collection(rel)
  if not rel.uselist then
    exc.raise(exc.InvalidRequestError, format("relationship %s: lazy = '%s' needs a collection " ..
      "(one-to-many or many-to-many with uselist); it cannot be used for a many-to-one or uselist = false",
      rel:describe(), rel.wo), nil, 4)
  end
end
M.check_collection = check_collection

-- The state's lists of added and removed objects, made (and the state
-- tracked as holding a collection, its handle in the value table) at the
-- first change.
local function pending(st, rel)
  local key = rel.key
  local loaded = st.loaded
  if not loaded[key] then
    if rawget(st.dict, key) == nil then M.get(st, rel) end
    loaded[key] = true
    st.colls[key] = {}
    st.snap[key] = {}
    local s = attributes.session_of(st)
    if s then s._collections[st] = true end
  end
  -- the next lazy load's autoflush compares this state (orm/autoflush.lua)
  attributes.note_read(st)
  attributes.modified(st)
  return st.colls[key], st.snap[key]
end
M.pending = pending

local function remove_from(list, o)
  local i = index_of(list, o)
  if i then table.remove(list, i) end
  return i ~= nil
end

local function add_one(st, rel, o)
  attributes.check_target(rel, o)
  local adds, removes = pending(st, rel)
  -- a member removed then added again: nothing to write
  if not remove_from(removes, o) and not index_of(adds, o) then adds[#adds + 1] = o end
  local rev = rel.reverse
  if rev and not rev.uselist then
    -- the backref, as SQLAlchemy's: the member's many-to-one points here
    local ost = rawget(o, STATE)
    if not rawequal(attributes.rel_value(ost, rev), st.obj) then
      attributes.set_rel_value(ost, rev, st.obj)
      ost.loaded[rev.key] = true
      attributes.modified(ost)
    end
  end
  -- a member not in the session yet comes with it (cascade save-update)
  local s = attributes.session_of(st)
  if s and rel.cascade["save-update"] and rawget(rawget(o, STATE), "_sid") == nil then s:add(o) end
end

local function remove_one(st, rel, o)
  attributes.check_target(rel, o)
  local adds, removes = pending(st, rel)
  if not remove_from(adds, o) then
    if rawget(rawget(o, STATE), "key") == nil then
      exc.raise(exc.InvalidRequestError, format("%s:remove(): %s is not persistent and was not added",
        rel:describe(), tostring(o)), nil, 4)
    end
    if not index_of(removes, o) then removes[#removes + 1] = o end
  end
end

-- The criteria selecting rel's rows for the parent state st: a list of
-- conditions, or nil when a parent key value is NULL (nothing matches).
local relation_criteria
local function criteria(rel, st)
  local conds = relation_criteria(rel, st)
  -- a parent loaded under with_loader_criteria: its collection's SELECT gets
  -- them too, as its lazy loads would (orm/criteria.lua)
  local kept = conds and rawget(st, "load_criteria")
  if kept then
    for _, x in ipairs(loader_criteria.expressions_for(kept, rel.target)) do conds[#conds + 1] = x end
  end
  return conds
end

function relation_criteria(rel, st)
  if rel.secondary then
    local conds = {}
    if rel.primaryjoin then
      local c = rel:_bound_join(rel.primaryjoin, st)
      if c == nil then return nil end
      conds[1] = c
    else
      for _, p in ipairs(rel.sec_local) do
        local v = rawget(st.dict, p.key)
        if v == nil then v = attributes.get_column(st, p.key) end
        if v == nil then return nil end
        conds[#conds + 1] = p.sec_col:eq(v)
      end
    end
    local _, on2 = rel:secondary_conditions()
    conds[#conds + 1] = on2
    return conds
  end
  local c = rel:criterion(st)
  if c == nil then return nil end
  return {c}
end
M.criteria = criteria

--- The SELECT of rel's rows for st (ordered by the relationship's order_by).
function M.select_for(rel, st)
  local conds = criteria(rel, st)
  local stmt = selectable.select(rel.target.class)
  if conds == nil then
    stmt = stmt:where(elements.false_())
  else
    stmt = stmt:where(unpack(conds))
  end
  if rel.order_by then stmt = stmt:order_by(unpack(rel.order_by)) end
  return stmt
end

---@class quicksilver.orm.WriteOnlyCollection
local WriteOnly = {}
M.WriteOnlyCollection = WriteOnly

local function data(self)
  local d = data_of[self]
  if d == nil then exc.raise(exc.ArgumentError, "expected a write-only collection (call it with ':')", nil, 3) end
  return d
end

--- obj.rel:add(x): x joins the collection at the next flush.
function WriteOnly.add(self, o)
  local d = data(self)
  add_one(d.st, d.rel, o)
end

--- obj.rel:add_all(list): each joins the collection at the next flush.
function WriteOnly.add_all(self, list)
  local d = data(self)
  if type(list) ~= "table" or rawget(list, STATE) then
    exc.raise(exc.ArgumentError, format("%s:add_all(): expected a list of objects", d.rel:describe()), nil, 2)
  end
  for i = 1, #list do add_one(d.st, d.rel, list[i]) end
end

--- obj.rel:remove(x): x leaves the collection at the next flush (its key
--- NULLed, or deleted with delete-orphan; the association row deleted).
function WriteOnly.remove(self, o)
  local d = data(self)
  remove_one(d.st, d.rel, o)
end

--- obj.rel:select(): the SELECT of the collection's rows, to run with
--- session:scalars() (add :where(...), :order_by(...), :limit(...)).
function WriteOnly.select(self)
  local d = data(self)
  return M.select_for(d.rel, d.st)
end

local function one_to_many(d, what)
  if d.rel.secondary then
    exc.raise(exc.InvalidRequestError, format("%s:%s() is for one-to-many collections; for a many-to-many " ..
      "use a statement on the target and add_all()", d.rel:describe(), what), nil, 4)
  end
end

-- The parent's values for the pairs (the foreign key an INSERT sets).
local function fk_values(d)
  local vals = d.rel:_local_values(d.st)
  if vals == nil then
    exc.raise(exc.InvalidRequestError, format("%s:insert(): the parent %s has no key yet (flush it first)",
      d.rel:describe(), tostring(d.st.obj)), nil, 4)
  end
  local out = {}
  for i, p in ipairs(d.rel.pairs) do out[p.remote_col.key] = vals[i] end
  return out
end

--- obj.rel:insert(): an INSERT into the target's table with the foreign key
--- set to the parent's (one-to-many); add rows with :values(...) or
--- execute it with a list of parameter sets.
function WriteOnly.insert(self)
  local d = data(self)
  one_to_many(d, "insert")
  if d.rel.primaryjoin then
    exc.raise(exc.InvalidRequestError, format("%s:insert(): not supported with a custom primaryjoin",
      d.rel:describe()), nil, 2)
  end
  return dml.insert(d.rel.target.local_table):values(fk_values(d))
end

--- obj.rel:update(): an UPDATE of the collection's rows (one-to-many).
function WriteOnly.update(self)
  local d = data(self)
  one_to_many(d, "update")
  local conds = criteria(d.rel, d.st) or {elements.false_()}
  return dml.update(d.rel.target.class):where(unpack(conds))
end

--- obj.rel:delete(): a DELETE of the collection's rows (one-to-many).
function WriteOnly.delete(self)
  local d = data(self)
  one_to_many(d, "delete")
  local conds = criteria(d.rel, d.st) or {elements.false_()}
  return dml.delete(d.rel.target.class):where(unpack(conds))
end

-- Handles: a table whose metatable refuses iteration where Lua asks the
-- metatable (5.2+: __pairs, __len, ipairs through __index); on LuaJIT and
-- 5.1, which ask it for nothing of a table, a userdata (newproxy): `#` runs
-- __len and ipairs/pairs refuse a userdata with Lua's own error.
local newproxy = rawget(_G, "newproxy")

local function make_handle(st, rel, methods)
  local rel_name = rel:describe()
  local mt = {
    __index = function(_, k)
      local m = methods[k]
      if m ~= nil then return m end
      if type(k) == "number" then iteration_error(rel, "indexed or iterated as a list") end
      return nil
    end,
    __newindex = function() iteration_error(rel, "assigned into") end,
    __len = function() iteration_error(rel, "counted with #") end,
    __pairs = function() iteration_error(rel, "iterated with pairs()") end,
    __ipairs = function() iteration_error(rel, "iterated with ipairs()") end,
    __tostring = function() return "<" .. rel.wo .. " collection " .. rel_name .. ">" end,
    __name = rel.wo == "dynamic" and "AppenderQuery" or "WriteOnlyCollection",
  }
  local h
  if newproxy then
    h = newproxy(true)
    local umt = getmetatable(h)
    for k, v in pairs(mt) do umt[k] = v end
  else
    h = setmetatable({}, mt)
  end
  data_of[h] = {st = st, rel = rel}
  return h
end
M.make_handle = make_handle

local dynamic_methods   -- orm/dynamic.lua's, set by it when it loads

--- orm/dynamic.lua hands its AppenderQuery methods here (it requires this
--- module, so this one cannot require it).
function M.set_dynamic_methods(m) dynamic_methods = m end

--- The handle for st's rel: what `obj.rel` reads. Made at the first access
--- (attributes.get_relationship asks rel.wo_get when the collection is not
--- loaded) and put in the object's value table, where later reads find it
--- with no call; expiry drops it with the rest (a new one is made then).
function M.get(st, rel)
  check_collection(rel)
  local h = rawget(st.dict, rel.key)
  if h == nil then
    h = make_handle(st, rel, rel.wo == "dynamic" and dynamic_methods or WriteOnly)
    rawset(st.dict, rel.key, h)
  end
  return h
end

--- `obj.rel = list`: for an object not yet persistent the list replaces
--- what was added; for a persistent one a write_only collection cannot be
--- replaced (its members are unknown), a dynamic one is compared with its
--- rows (SQLAlchemy's behaviour for both).
function M.set(st, rel, list)
  check_collection(rel)
  if list == elements.null or list == nil then list = {} end
  if type(list) ~= "table" or rawget(list, STATE) then
    exc.raise(exc.ArgumentError, format("%s: a collection is assigned a list of objects, got %s",
      rel:describe(), type(list) == "table" and "an instance" or type(list)), nil, 4)
  end
  for i = 1, #list do attributes.check_target(rel, list[i]) end
  if rawget(st, "key") == nil then
    local adds = pending(st, rel)
    for i = #adds, 1, -1 do adds[i] = nil end
    for i = 1, #list do add_one(st, rel, list[i]) end
    return
  end
  if rel.wo ~= "dynamic" then
    exc.raise(exc.InvalidRequestError, format("%s is a write_only collection of a persistent object: it " ..
      "cannot be replaced (its members are not loaded); use :add(), :remove() and :select()",
      rel:describe()), nil, 4)
  end
  local current = M.full_load(rel, st)
  local want = {}
  for i = 1, #list do want[list[i]] = true end
  local have = {}
  for _, o in ipairs(current) do
    have[o] = true
    if not want[o] then remove_one(st, rel, o) end
  end
  for i = 1, #list do
    if not have[list[i]] then add_one(st, rel, list[i]) end
  end
end

--- What Rel:lazy_load does for these relationships (the flush asks it when
--- a parent is deleted): a dynamic collection's rows as they are in the
--- database; a write_only one refuses (SQLAlchemy's words: configure
--- passive_deletes).
function M.full_load(rel, st)
  check_collection(rel)
  if rel.wo ~= "dynamic" then
    exc.raise(exc.InvalidRequestError, format("%s is a write_only collection: its members cannot be " ..
      "loaded for this operation (full iteration is not permitted). If this is a delete, configure " ..
      "passive_deletes = true on %s (with ON DELETE CASCADE / SET NULL in the database)",
      rel:describe(), rel:describe()), nil, 5)
  end
  local session = st.session
  if not session or st.key == nil then return {} end
  return session:scalars(M.select_for(rel, st)):all()
end

return M
