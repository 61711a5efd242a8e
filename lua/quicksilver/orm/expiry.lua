--- orm/expiry.lua: expiring an object's attributes (SQLAlchemy's
--- InstanceState._expire and _expire_attributes): their values dropped from
--- the value table and marked expired, so the next access loads them
--- (Session:_load_expired); unflushed changes to them are discarded. Used
--- by Session:expire, expire_all, refresh, commit (expire_on_commit) and
--- rollback.
local attributes = require("quicksilver.orm.attributes")

local M = {}

local ipairs, next, rawget, rawset = ipairs, next, rawget, rawset

-- The attributes a full expiry clears and marks: columns but the primary
-- key's, and column expressions (kept on the mapper, rebuilt if its
-- properties change).
local function expirable_keys(m)
  local list = m._expire_keys
  local n = #m.column_props + #m.expr_props
  if list and m._expire_keys_n == n then return list end
  list = {}
  local pk = {}
  for _, k in ipairs(m.pk_keys) do pk[k] = true end
  for _, p in ipairs(m.column_props) do
    if not pk[p.key] then list[#list + 1] = p.key end
  end
  for _, p in ipairs(m.expr_props) do list[#list + 1] = p.key end
  m._expire_keys, m._expire_keys_n = list, n
  return list
end

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
      if st.m2o_set then st.m2o_set[k] = nil end
      if st.pending_mutations then st.pending_mutations[k] = nil end
    end
  end
end

return M
