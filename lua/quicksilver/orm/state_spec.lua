--- orm/state_spec.lua: what a mapper contributes to the C passes over its
--- objects' states (c/orm/finish.c: the flush's finish, the commit's
--- expiry), as one list per mapper read by position, so C names no mapper
--- field and Lua decides what a full expiry clears. Kept on the mapper and
--- made again when its properties or relationships change.
local attributes = require("quicksilver.orm.attributes")

local M = {}

local ipairs = ipairs

--- The attributes a full expiry clears and marks: columns but the primary
--- key's, and column expressions (kept on the mapper, rebuilt if its
--- properties change).
---@param m table a mapper
---@return string[]
function M.expirable_keys(m)
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
local expirable_keys = M.expirable_keys

-- The state fields a full expiry drops (the relationship bookkeeping, made
-- again at first use: attributes.lua); `colls` holds collection lists
-- where they live apart from the value table.
local CLEAR_FIELDS = {"loaded", "snap", "colls", "m2o_set", "pending_mutations"}

--- m's spec for c/orm/finish.c: {pk_keys, base_mapper, has column
--- expressions, has relationships whose lists the flush snapshots,
--- expirable keys, relationship keys, the shared all-expired set or false,
--- the state fields a full expiry clears}.
---@param m table a mapper
---@return table
function M.of(m)
  local keys = expirable_keys(m)
  local rels = m.relationships
  local spec = m._state_spec
  if spec and spec[5] == keys and spec.nrels == #rels and spec[1] == m.pk_keys then
    return spec
  end
  local rel_keys, snaps = {}, false
  for i, rel in ipairs(rels) do
    rel_keys[i] = rel.key
    if rel.uselist or rel.direction == "ONETOMANY" then snaps = true end
  end
  spec = {m.pk_keys, m.base_mapper, #m.expr_props > 0, snaps, keys, rel_keys,
    attributes.all_expired(m, keys) or false, CLEAR_FIELDS, nrels = #rels}
  -- a relationship's direction is known once mappers are configured: a
  -- spec made before that is not kept
  local complete = true
  for _, rel in ipairs(rels) do
    if rel.direction == nil then complete = false end
  end
  if complete then m._state_spec = spec end
  return spec
end

return M
