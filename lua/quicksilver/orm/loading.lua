--- orm/loading.lua: rows to objects through the identity map (SQLAlchemy's
--- orm/loading.py). An object already in the session is returned as it is
--- (its unflushed changes are not overwritten; expired attributes are filled
--- in); a new one is made as the class the discriminator names.
local exc = require("quicksilver.exc")
local core = require("quicksilver.core")
local selectable = require("quicksilver.sql.selectable")
local elements = require("quicksilver.sql.elements")
local attributes = require("quicksilver.orm.attributes")
local event = require("quicksilver.event")

local M = {}

local rawget, rawset, setmetatable, format, tostring = rawget, rawset, setmetatable, string.format, tostring
local STATE = attributes.STATE
local identity = require("quicksilver.orm.identity")
local identity_key, value_key, map_of = identity.key, identity.value_key, identity.map
local make_instance = attributes.make_instance
local loaded_value = attributes.loaded_value
local make_row = core.row
local row_dict = core.row_dict
local load_objects = core.load_objects
local fast_spec   -- below instance()

-- The session field set while a statement with populate_existing loads
-- (orm/select_rows.lua): every row's object takes the row's values, its
-- changes and loaded relationships discarded, as SQLAlchemy's
-- populate_existing does; unset, the C loop keeps objects as they are.
local POPULATE = "_populate_existing"
M.POPULATE = POPULATE
local expire_state = require("quicksilver.orm.expiry").expire_state

--- The object for the entity columns of row starting after `base`, or nil
--- (an outer join's missing side). plan: where the columns are (the
--- mapper's default when nil).
local function instance(session, m, row, base, plan)
  m = rawget(m, "_mapper") or m       -- an aliased entity loads as its mapper
  plan = plan or m.plan
  if plan.disc_pos and m.concrete_base then
    -- a row of the concrete union: its class keeps its own identity map
    -- (orm/concrete.lua), found before the key is looked up
    local sub = m.polymorphic_map[row[base + plan.disc_pos]]
    if sub and sub ~= m then return instance(session, sub, row, base, plan) end
  end
  local pk_pos = plan.pk_pos
  local npk = #pk_pos
  local key
  if npk == 1 then
    key = row[base + pk_pos[1]]
    if key == nil then return nil end
    if type(key) ~= "string" and (type(key) ~= "number" or key ~= key) then key = value_key(key) end
  else
    local vals = {}
    for i = 1, npk do vals[i] = row[base + pk_pos[i]] end
    key = identity_key(m, vals, npk)
    if key == nil then return nil end
  end
  local imap = map_of(session, m)   -- the base mapper's: a subclass row too
  local obj = imap[key]
  if obj ~= nil then
    local st = rawget(obj, STATE)
    local pop = rawget(session, POPULATE)
    if pop and not pop[st] then
      -- once per object and statement (a joined load repeats its row)
      pop[st] = true
      expire_state(session, st, nil)
    end
    local ex = st.expired
    if ex then
      -- fill in what this row has of the expired attributes
      ex = attributes.own_expired(st)
      for _, f in ipairs(plan:for_mapper(st.mapper).fields) do
        local k = f.key
        if ex[k] then
          loaded_value(st, k, row[base + f.pos])
          ex[k] = nil
        end
      end
      if next(ex) == nil then st.expired = nil end
    end
    return obj
  end
  local cm = m
  local dpos = plan.disc_pos
  if dpos and m.polymorphic_map then
    local d = row[base + dpos]
    local sub = m.polymorphic_map[d]
    if sub then cm = sub
    elseif d ~= nil then
      exc.raise(exc.InvalidRequestError, format("No such polymorphic_identity %s is defined for %s",
        tostring(d), m.base_mapper.class_name), nil, 4)
    end
  end
  local e = plan.per[cm] or plan:for_mapper(cm)
  local dict
  if type(row) == "userdata" then
    dict = row_dict(row, base, e.keys, e.positions)
  else
    dict = {}
    local fields = e.fields
    for i = 1, #fields do
      local f = fields[i]
      dict[f.key] = row[base + f.pos]
    end
  end
  local st
  obj, st = make_instance(cm, dict)
  if e.unloaded then
    local ex = {}
    for _, k in ipairs(e.unloaded) do ex[k] = true end
    st.expired = ex
  end
  st.key = key
  st.session = session
  imap[key] = obj
  local cls = cm.class
  if event.has(cls, "load") then event.fire(cls, "load", obj, session) end
  return obj
end
M.instance = instance

-- What core.load_objects needs to make the entity's objects without Lua,
-- or nil when its rows need instance(): a composite key, a polymorphic
-- discriminator, attributes the statement leaves unloaded, load listeners.
-- Kept with the plan's per-mapper fields.
fast_spec = function(ent, plan)
  local m = rawget(ent, "_mapper") or ent
  plan = plan or m.plan
  if #plan.pk_pos ~= 1 or plan.disc_pos then return nil end
  local e = plan.per[m] or plan:for_mapper(m)
  if e.unloaded or event.has(m.class, "load") then return nil end
  local spec = e.fast_spec
  if spec == nil then
    spec = {pk = plan.pk_pos[1], keys = e.keys,
      positions = e.positions, mapper = m, state_mt = attributes.InstanceState,
      instance_mt = m.instance_mt, state_key = STATE}
    e.fast_spec = spec
  end
  return spec
end

-- The object for the entity columns of raw[r] (instance(), the C loop first).
local one = {}
function M.instance_at(session, ent, raw, r, base, plan)
  local spec = rawget(session, POPULATE) == nil and fast_spec(ent, plan)
  if spec and load_objects(raw, r, base, spec, map_of(session, spec.mapper), session, one, r) > r then
    local obj = one[r]
    one[r] = nil
    return obj
  end
  return instance(session, ent, raw[r], base, plan)
end

--- Result rows for a statement with ORM entities: each entity's columns
--- become one object. Returns the rows and their keys.
-- The objects of raw's rows for one entity at base, in out (the C loop for
-- plain rows; one it leaves, another key type or an object with expired
-- attributes, through instance(), then C again).
local function entity_rows(session, raw, ent, base, plan, out)
  local spec = rawget(session, POPULATE) == nil and fast_spec(ent, plan)
  local r, nraw = 1, #raw
  while r <= nraw do
    if spec then r = load_objects(raw, r, base, spec, map_of(session, spec.mapper), session, out) end
    if r <= nraw then
      out[r] = instance(session, ent, raw[r], base, plan)
      r = r + 1
    end
  end
  return out
end

-- A select of one entity and nothing else: its keys and its Row maker,
-- made once per entity (they depend on its name only; both only read).
local single_layout = setmetatable({}, {__mode = "k"})

function M.rows(session, raw, entities, colkeys, nout)
  local ncols = nout or #colkeys
  local only = entities[2] == nil and entities[1]
  if only and only.first == 1 and only.count == ncols then
    local ent = only.entity
    local lay = single_layout[ent]
    if lay == nil then
      local name = ent.class_name
      local keymap = {name, [name] = 1}
      lay = {keys = {name}, row_of = function(obj) return make_row(keymap, {obj}, 1) end}
      single_layout[ent] = lay
    end
    return entity_rows(session, raw, ent, 0, only.plan, {}), lay.keys, lay.row_of
  end
  -- the layout: for each output position, an entity or a column index
  local layout, keys = {}, {}
  local e, i = 1, 1
  while i <= ncols do
    local ent = entities[e]
    if ent and ent.first == i then
      layout[#layout + 1] = ent
      keys[#keys + 1] = ent.entity.class_name
      i = i + ent.count
      e = e + 1
    else
      layout[#layout + 1] = i
      keys[#keys + 1] = colkeys[i]
      i = i + 1
    end
  end
  local keymap = {}
  for j, k in ipairs(keys) do
    keymap[j] = k
    if keymap[k] == nil then keymap[k] = j end
  end
  local n = #layout
  local out = {}
  -- one entity and nothing else: the objects themselves, Rows made on demand
  if n == 1 and type(layout[1]) == "table" then
    local l = layout[1]
    entity_rows(session, raw, l.entity, l.first - 1, l.plan, out)
    return out, keys, function(obj) return make_row(keymap, {obj}, 1) end
  end
  for r = 1, #raw do
    local row = raw[r]
    local vals = {}
    for j = 1, n do
      local l = layout[j]
      if type(l) == "number" then
        vals[j] = row[l]
      else
        vals[j] = instance(session, l.entity, row, l.first - 1, l.plan)
      end
    end
    out[r] = make_row(keymap, vals, n)
  end
  return out, keys
end

--- Loads the expired attributes of a persistent object in a session (one
--- SELECT of those columns by primary key); ObjectDeletedError when its row
--- is gone. A detached object is refused before this (attributes.get_column,
--- Session:refresh).
function M.load_expired(st)
  local session = st.session
  local m = st.mapper
  if not st.key or not st.expired then return end
  local ex = st.expired
  local cols, keys = {}, {}
  local taken = {}
  for _, p in ipairs(m.column_props) do
    if ex[p.key] and not taken[p.key] then
      taken[p.key] = true
      cols[#cols + 1] = p.column
      keys[#keys + 1] = p.key
    end
  end
  for _, p in ipairs(m.expr_props) do
    if ex[p.key] then
      cols[#cols + 1] = p.label
      keys[#keys + 1] = p.key
    end
  end
  if #cols == 0 then
    st.expired = nil
    return
  end
  local stmt = selectable.select((table.unpack or unpack)(cols)):select_from(m.persist_from)
    :where(M.pk_criterion(m, st))
  local row = session:_execute_core(stmt, nil, m):first()
  if row == nil then
    exc.raise(exc.ObjectDeletedError, format("Instance %s has been deleted, or its row is otherwise " ..
      "not present", tostring(st.obj)), {instance = st.obj}, 4)
  end
  for i, k in ipairs(keys) do loaded_value(st, k, row[i]) end
  st.expired = nil
end

--- pk = value criterion from st's committed values (what the row has now).
function M.pk_criterion(m, st)
  local conds = {}
  for i, c in ipairs(m.pk_cols) do
    local k = m.pk_keys[i]
    local v = attributes.committed_of(st, k)
    if v == nil or v == attributes.UNKNOWN then v = rawget(st.dict, k) end
    conds[i] = c:eq(v)
  end
  if #conds == 1 then return conds[1] end
  return elements.and_((table.unpack or unpack)(conds))
end

return M
