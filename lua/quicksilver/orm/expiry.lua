--- orm/expiry.lua: expiring an object's attributes (SQLAlchemy's
--- InstanceState._expire and _expire_attributes): their values dropped from
--- the value table and marked expired, so the next access loads them
--- (Session:_load_expired); unflushed changes to them are discarded. Used
--- by Session:expire, expire_all, refresh, commit (expire_on_commit) and
--- rollback.
local attributes = require("quicksilver.orm.attributes")
local state_spec = require("quicksilver.orm.state_spec")
local core = require("quicksilver.core")

local M = {}

local ipairs, next, rawget, rawset, pairs, rawequal = ipairs, next, rawget, rawset, pairs, rawequal

-- The attributes a full expiry clears and marks (orm/state_spec.lua).
local expirable_keys = state_spec.expirable_keys

-- Every attribute of st expired (commit, expire_all): one pass over a list
-- made once per mapper; relationship bookkeeping dropped whole.
function M.expire_all_of(self, st)
  local m = st.mapper
  local dict = st.dict
  local keys = expirable_keys(m)
  for i = 1, #keys do dict[keys[i]] = nil end
  -- their old values go too (st.committed keeps only changed attributes'
  -- old values, attributes.lua); a changed primary key's stay
  local committed = rawget(st, "committed")
  if committed then
    for i = 1, #keys do committed[keys[i]] = nil end
    if next(committed) == nil then attributes.reset_committed(st) end
  end
  local rels = m.relationships
  for i = 1, #rels do dict[rels[i].key] = nil end
  rawset(st, "colls", nil)   -- the loaded collections (attributes.lua)
  -- every expirable attribute: the mapper's shared set (no table per
  -- object; attributes.own_expired copies it before a change)
  st.expired = attributes.all_expired(m, keys)
  -- made again at first use (attributes.InstanceState)
  rawset(st, "loaded", nil)
  rawset(st, "snap", nil)
  st.m2o_set = nil
  st.pending_mutations = nil
  st.modified = false
  self._modified[st] = nil
  self._collections[st] = nil
end

-- Every object of the session's identity maps expired (commit's
-- expire_on_commit, rollback, Session:expire_all): expire_all_of for each,
-- in one C pass (c/orm/finish.c); then the states it expired leave the
-- session's change sets, by one look at each entry of those (mostly empty
-- after a flush) instead of one per object. On LuaJIT the loop stays Lua
-- (expire_all_of per object): its traces beat the C API there (100,000
-- objects: 0.039 s in Lua, 0.047 s through the C pass).
local expire_all_c = core.expire_all
local spec_of = state_spec.of
local STATE = attributes.STATE
local on_jit = rawget(_G, "jit") ~= nil
function M.expire_all(self)
  if on_jit then
    for _, t in pairs(self._imaps) do
      for _, obj in pairs(t) do M.expire_all_of(self, rawget(obj, STATE)) end
    end
    return
  end
  if expire_all_c(self._imaps, STATE, spec_of) == 0 then return end
  local imaps = self._imaps
  for _, set in ipairs({self._modified, self._collections}) do
    for st in pairs(set) do
      local key = st.key
      local t = key ~= nil and imaps[st.mapper.base_mapper]
      if t and rawequal(t[key], st.obj) then set[st] = nil end
    end
  end
end

-- Expires the attributes named in the set keys (all when nil).
function M.expire_state(self, st, keys)
  if keys == nil then return M.expire_all_of(self, st) end
  local m = st.mapper
  local dict, committed = st.dict, rawget(st, "committed") or {}
  local pk = {}
  for _, k in ipairs(m.pk_keys) do pk[k] = true end
  local ex = attributes.own_expired(st)
  for _, p in ipairs(m.column_props) do
    local k = p.key
    if keys[k] and not pk[k] then
      dict[k] = nil
      committed[k] = nil
      ex[k] = true
    end
  end
  for _, p in ipairs(m.expr_props) do
    if keys[p.key] then
      dict[p.key] = nil
      ex[p.key] = true
    end
  end
  st.expired = next(ex) and ex or nil
  for _, rel in ipairs(m.relationships) do
    local k = rel.key
    if keys[k] then
      dict[k] = nil
      local colls = rawget(st, "colls")
      if colls then colls[k] = nil end
      st.loaded[k] = nil
      st.snap[k] = nil
      attributes.forget_m2o(st, k)   -- (its set may be shared: attributes.lua)
      if st.pending_mutations then st.pending_mutations[k] = nil end
    end
  end
end

return M
