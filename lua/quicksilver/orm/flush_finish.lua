--- orm/flush_finish.lua: after a successful flush (orm/unitofwork.lua),
--- objects take their new state: identity keys for new rows, snapshots of
--- what the database now has, expiry of server-set values, deleted objects
--- out of the identity map.
local core = require("quicksilver.core")
local exc = require("quicksilver.exc")
local attributes = require("quicksilver.orm.attributes")
local identity = require("quicksilver.orm.identity")
local state_spec = require("quicksilver.orm.state_spec")
local finish_jit = require("quicksilver.orm.finish_jit")
local EMPTY = {}

local M = {}

local rawget, pairs, ipairs, format, tostring =
  rawget, pairs, ipairs, string.format, tostring
local ONETOMANY = "ONETOMANY"
local copy_list = core.copy_list
local reset_committed = attributes.reset_committed

local flush_common = require("quicksilver.orm.flush_common")
local committed_pk = flush_common.committed_pk

-- The snapshots of st's loaded collections (and one-to-one places): the
-- lists as the database now has them, for the next flush's diff.
local function snapshot_collections(st)
  local dict = st.dict
  local colls = rawget(st, "colls") or EMPTY
  local loaded = rawget(st, "loaded") or EMPTY
  for _, rel in ipairs(st.mapper.relationships) do
    if loaded[rel.key] then
      if rel.wo then
        -- write_only / dynamic: the queued changes are written, none left
        st.colls[rel.key], st.snap[rel.key] = {}, {}
      elseif rel.uselist then
        st.snap[rel.key] = copy_list(colls[rel.key] or EMPTY)
      elseif rel.direction == ONETOMANY then
        local v = rawget(dict, rel.key)
        st.snap[rel.key] = v ~= nil and {v} or {}
      end
    end
  end
end

-- After the flush, what the database has is what the object has: the
-- committed values (all of them for a new row, the changed ones for an
-- updated row: their old values forgotten, attributes.lua), the collection
-- snapshots, the change flags. (finish does this for the flush's objects
-- in C: core.finish_snapshots.)
local function snapshot(st, changed)
  local committed = rawget(st, "committed")
  if changed and committed then
    for _, k in ipairs(changed) do committed[k] = nil end
    if next(committed) == nil then reset_committed(st) end
  elseif not changed then
    reset_committed(st)
  end
  snapshot_collections(st)
  st.modified = false
  st.m2o_set = nil
end

--- Marks st unchanged: what it holds is what the database has (merge
--- with load = false; SQLAlchemy's InstanceState._commit_all).
function M.commit_all(st) snapshot(st, nil) end

-- What core.finish_inserted asks Lua for (c/orm/finish.c): the key of a
-- state whose key is not one number or string, the map of a hierarchy
-- that has none yet, the expiry of column expressions (server-computed).
local function key_of(st)
  local m = st.mapper
  local vals = {}
  for i, k in ipairs(m.pk_keys) do vals[i] = rawget(st.dict, k) end
  return identity.key(m, vals, #vals)
end
local function map_of(st) return identity.map(st.session, st.mapper) end
local function expire_exprs(st)
  local ex = attributes.own_expired(st)
  for _, p in ipairs(st.mapper.expr_props) do ex[p.key] = true end
end
local finish_inserted, finish_snapshots = core.finish_inserted, core.finish_snapshots
if rawget(_G, "jit") then   -- LuaJIT: the same passes in Lua (orm/finish_jit.lua says why)
  finish_inserted, finish_snapshots = finish_jit.finish_inserted, finish_jit.finish_snapshots
end
local spec_of = state_spec.of

local function finish(uow, done)
  local session = uow.session
  -- new rows: their snapshots (as for uow.inserts below), identity keys,
  -- into the identity map and the transaction's list of objects made
  -- persistent (one C pass)
  local modified = session._modified
  local bad = finish_inserted(done.inserted, session._imaps, identity.NAN, session._tx_new,
    spec_of, key_of, map_of, expire_exprs, session, uow.delete_set, modified, snapshot_collections)
  if bad ~= 0 then
    exc.raise(exc.FlushError, format("Instance %s has a NULL identity key after its INSERT",
      tostring(done.inserted[bad].obj)), nil, 4)
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
  -- (objects still the session's and not deleted; one C pass per list;
  -- new rows finish_inserted did not key, if any)
  finish_snapshots(uow.inserts, session, uow.delete_set, modified, false, spec_of, snapshot_collections, true)
  finish_snapshots(uow.updates, session, uow.delete_set, modified, done.changed, spec_of, snapshot_collections)
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
