--- orm/flush_finish.lua: after a successful flush (orm/unitofwork.lua),
--- objects take their new state: identity keys for new rows, snapshots of
--- what the database now has, expiry of server-set values, deleted objects
--- out of the identity map.
local core = require("quicksilver.core")
local exc = require("quicksilver.exc")
local attributes = require("quicksilver.orm.attributes")
local identity = require("quicksilver.orm.identity")
local EMPTY = {}

local M = {}

local rawget, pairs, ipairs, format, tostring =
  rawget, pairs, ipairs, string.format, tostring
local ONETOMANY = "ONETOMANY"
local value_key = identity.value_key
local copy_list = core.copy_list
local reset_committed = attributes.reset_committed

local flush_common = require("quicksilver.orm.flush_common")
local committed_pk = flush_common.committed_pk

-- After the flush, what the database has is what the object has: the
-- committed values (all of them for a new row, the changed ones for an
-- updated row: their old values forgotten, attributes.lua), the collection
-- snapshots, the change flags.
local function snapshot(st, changed)
  local dict = st.dict
  local colls = rawget(st, "colls") or EMPTY
  local committed = rawget(st, "committed")
  if changed and committed then
    for _, k in ipairs(changed) do committed[k] = nil end
    if next(committed) == nil then reset_committed(st) end
  elseif not changed then
    reset_committed(st)
  end
  local loaded = rawget(st, "loaded") or EMPTY
  for _, rel in ipairs(st.mapper.relationships) do
    if loaded[rel.key] then
      if rel.uselist then
        st.snap[rel.key] = copy_list(colls[rel.key] or EMPTY)
      elseif rel.direction == ONETOMANY then
        local v = rawget(dict, rel.key)
        st.snap[rel.key] = v ~= nil and {v} or {}
      end
    end
  end
  st.modified = false
  st.m2o_set = nil
end

--- Marks st unchanged: what it holds is what the database has (merge
--- with load = false; SQLAlchemy's InstanceState._commit_all).
function M.commit_all(st) snapshot(st, nil) end

local function finish(uow, done)
  local session = uow.session
  for _, st in ipairs(done.inserted) do
    local m = st.mapper
    local pkk = m.pk_keys
    local key
    if #pkk == 1 then
      key = value_key(rawget(st.dict, pkk[1]))   -- what identity.key gives, without the list
    else
      local vals = {}
      for i, k in ipairs(pkk) do vals[i] = rawget(st.dict, k) end
      key = identity.key(m, vals, #vals)
    end
    if key == nil then
      exc.raise(exc.FlushError, format("Instance %s has a NULL identity key after its INSERT", tostring(st.obj)), nil, 4)
    end
    st.key = key
    identity.put(session, st)
    session._tx_new[#session._tx_new + 1] = st
    if #m.expr_props > 0 then
      local ex = attributes.own_expired(st)
      for _, p in ipairs(m.expr_props) do ex[p.key] = true end
    end
  end
  session._new, session._new_set = {}, {}
  -- a changed primary key: the identity map follows (undone by a rollback)
  for st in pairs(done.rekeyed) do
    local m = st.mapper
    local vals = {}
    for i, k in ipairs(m.pk_keys) do vals[i] = rawget(st.dict, k) end
    local key = identity.key(m, vals, #vals)
    if key and key ~= st.key then
      local old = {}
      for i, k in ipairs(m.pk_keys) do old[i] = committed_pk(st, i) end
      identity.remove(session, st)
      session._tx_keys[#session._tx_keys + 1] = {st, st.key, old}
      st.key = key
      identity.put(session, st)
    end
  end
  -- a new row: everything; an updated row: only what changed (and what
  -- syncs or post updates set, which changed_keys saw too)
  local modified = session._modified
  for _, st in ipairs(uow.inserts) do
    if st.session == session and not uow.delete_set[st] then
      snapshot(st, nil)
      modified[st] = nil
    end
  end
  for _, st in ipairs(uow.updates) do
    if st.session == session and not uow.delete_set[st] then
      snapshot(st, done.changed[st] or EMPTY)
      modified[st] = nil
    end
  end
  for st, keys in pairs(done.expire) do attributes.expire_attributes(st, keys) end
  for _, st in ipairs(uow.deletes) do
    identity.remove(session, st)
    st.deleted_flushed = true
    session._modified[st] = nil
    session._collections[st] = nil
    session._tx_deleted[#session._tx_deleted + 1] = st
  end
  session._deleted, session._deleted_set = {}, {}
end

M.snapshot = snapshot
M.finish = finish

return M
