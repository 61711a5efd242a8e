--- orm/attribute_events.lua: attribute events (SQLAlchemy's AttributeEvents):
--- `qs.event.listen(Model.attr, name, fn, opts)` with name one of
---   set              fn(obj, value, oldvalue, initiator) on obj.attr = value
---                    (a column or a many-to-one); oldvalue is orm.NO_VALUE
---                    when the attribute was not loaded; with retval = true
---                    what fn returns is the value set (nil: NULL)
---   append, remove   fn(obj, member, initiator) when a member joins or
---                    leaves a collection; with retval = true (append) what fn
---                    returns takes the member's place
---   init_collection  fn(obj, list) when a list becomes the collection
---                    (first access of a new object's, a load, an assignment)
--- `initiator` is {key = attribute name, op = "set" | "append" | "remove",
--- backref = true when the change came from the other side}.
---
--- Collections are plain Lua lists, so a table.insert is not seen when it
--- happens. append/remove fire (1) when the ORM itself changes the list (an
--- assignment of a new list, the other side of a bidirectional
--- relationship set), at once; (2) for changes made to the list directly,
--- at the next flush or autoflush, for the differences from the members
--- last announced (SQLAlchemy fires on each append). Each member is
--- announced once either way.
---
--- A listener applies to instances of the class that declared the attribute;
--- with propagate = true also to its subclasses' (an inherited attribute is
--- the parent's: `Sub.name` is `Parent.name`, so listen with propagate).
---
--- Cost: nothing until a listener is registered on an attribute. The first
--- one puts evented versions of attributes.set_column / set_scalar /
--- set_collection in place (the instances' __newindex calls them through
--- the module table) and keeps the columns listened to out of the
--- constructor's direct writes; from then on a write asks event.has.
local exc = require("quicksilver.exc")
local event = require("quicksilver.event")
local schema = require("quicksilver.sql.schema")
local elements = require("quicksilver.sql.elements")
local attributes = require("quicksilver.orm.attributes")
local mapper_mod = require("quicksilver.orm.mapper")
local relationships = require("quicksilver.orm.relationships")
local unitofwork = require("quicksilver.orm.unitofwork")
local history = require("quicksilver.orm.history")

local M = {}

local rawget, rawequal, type, ipairs, pairs, pcall, error, format, tostring = rawget, rawequal, type,
  ipairs, pairs, pcall, error, string.format, tostring
local has, listeners = event.has, event.listeners
local NULL, NO_VALUE, STATE = elements.null, history.NO_VALUE, attributes.STATE

M.EVENTS = {set = true, append = true, remove = true, init_collection = true}

-- The class that declared attribute key as mapper m has it: the topmost
-- mapper up m's chain with the same attribute object.
local function declaring(m, key)
  local p = m.props[key]
  local d = m
  local up = m.inherits
  while up do
    local q = up.props[key]
    if not q or q.class_attr ~= p.class_attr then break end
    d = up
    up = up.inherits
  end
  return d
end

local function applies(entry, m, key)
  local d = declaring(m, key)
  if m == d then return true end
  if not entry.propagate then return false end
  local up = m.inherits
  while up do
    if up == d then return true end
    up = up.inherits
  end
  return false
end

local function fire_set(st, p, value, old, backref)
  local target = p.class_attr
  if not has(target, "set") then return value end
  local ls = listeners(target, "set")
  local init = {key = p.key, op = "set", backref = backref or false}
  for i = 1, #ls do
    local e = ls[i]
    if applies(e, st.mapper, p.key) then
      local r = e.fn(st.obj, value, old, init)
      if e.retval then value = r end
    end
  end
  return value
end

-- members last announced per collection: st._ev_seen[key] (else the snapshot)
local function seen_of(st, key)
  local seen = rawget(st, "_ev_seen")
  local s = seen and seen[key]
  if s then return s end
  local snaps = rawget(st, "snap")
  return snaps and snaps[key] or {}
end

local function set_seen(st, key, list)
  local seen = rawget(st, "_ev_seen")
  if not seen then seen = {}; st._ev_seen = seen end
  local copy = {}
  for i = 1, #list do copy[i] = list[i] end
  seen[key] = copy
end

-- Fires append/remove for the differences between before and list (a
-- collection of st under rel); append's retval replaces the member.
local function fire_diff(st, rel, before, list, backref)
  local target = rel.class_attr
  local ha, hr = has(target, "append"), has(target, "remove")
  if not (ha or hr) then return end
  local m, key = st.mapper, rel.key
  local was, now = {}, {}
  for i = 1, #before do was[before[i]] = true end
  for i = 1, #list do now[list[i]] = true end
  if hr then
    local ls = listeners(target, "remove")
    local init = {key = key, op = "remove", backref = backref or false}
    for i = 1, #before do
      local o = before[i]
      if not now[o] then
        for j = 1, #ls do
          if applies(ls[j], m, key) then ls[j].fn(st.obj, o, init) end
        end
      end
    end
  end
  if ha then
    local ls = listeners(target, "append")
    local init = {key = key, op = "append", backref = backref or false}
    for i = 1, #list do
      local o = list[i]
      if not was[o] then
        for j = 1, #ls do
          local e = ls[j]
          if applies(e, m, key) then
            local r = e.fn(st.obj, o, init)
            if e.retval and r ~= nil and not rawequal(r, o) then
              attributes.check_target(rel, r)
              list[i] = r
              o = r
            end
          end
        end
      end
    end
  end
end

local function fire_init(st, rel, list)
  local target = rel.class_attr
  if not has(target, "init_collection") then return end
  local ls = listeners(target, "init_collection")
  for i = 1, #ls do
    if applies(ls[i], st.mapper, rel.key) then ls[i].fn(st.obj, list) end
  end
end

local function copy(list)
  local out = {}
  if list then for i = 1, #list do out[i] = list[i] end end
  return out
end

-- The evented write paths --------------------------------------------------------------

local plain_set_column, plain_set_scalar, plain_set_collection
local in_assign = false

local function evented_set_column(st, key, value)
  local p = st.mapper.props[key]
  if has(p.class_attr, "set") then
    if value == NULL then value = nil end
    local ex = rawget(st, "expired")
    local old = (ex and ex[key]) and NO_VALUE or rawget(st.dict, key)
    -- a new object's attribute not set yet: NO_VALUE, as SQLAlchemy
    if old == nil and st.key == nil then old = NO_VALUE end
    value = fire_set(st, p, value, old)
  end
  return plain_set_column(st, key, value)
end

-- the reverse collection of rel on obj, when loaded (raw)
local function rev_list(obj, rev)
  local ost = rawget(obj, STATE)
  local loaded = rawget(ost, "loaded")
  if not (loaded and loaded[rev.key]) then return nil end
  return attributes.rel_value(ost, rev)
end

local function evented_set_scalar(st, rel, value)
  if value == NULL then value = nil end
  local key = rel.key
  if has(rel.class_attr, "set") then
    local loaded = rawget(st, "loaded")
    local old = (loaded and loaded[key]) and rawget(st.dict, key) or (st.key == nil and nil or NO_VALUE)
    value = fire_set(st, rel, value, old)
  end
  local rev = rel.reverse
  if not (rev and rev.uselist) then return plain_set_scalar(st, rel, value) end
  local loaded = rawget(st, "loaded")
  local old = loaded and loaded[key] and rawget(st.dict, key) or nil
  local before_old = old ~= nil and copy(rev_list(old, rev)) or nil
  local before_new = value ~= nil and copy(rev_list(value, rev)) or nil
  plain_set_scalar(st, rel, value)
  if old ~= nil and not rawequal(old, value) then
    local l = rev_list(old, rev)
    if l then fire_diff(rawget(old, STATE), rev, before_old, l, true); set_seen(rawget(old, STATE), rev.key, l) end
  end
  if value ~= nil then
    local l = rev_list(value, rev)
    if l then fire_diff(rawget(value, STATE), rev, before_new or {}, l, true); set_seen(rawget(value, STATE), rev.key, l) end
  end
end

local function evented_set_collection(st, rel, list)
  local target = rel.class_attr
  if not (has(target, "append") or has(target, "remove") or has(target, "init_collection")) then
    return plain_set_collection(st, rel, list)
  end
  local loaded = rawget(st, "loaded")
  local before = {}
  if st.key ~= nil and not (loaded and loaded[rel.key]) then
    local _ = st.obj[rel.key]   -- loads the old contents (as the assignment does)
    loaded = rawget(st, "loaded")
  end
  if loaded and loaded[rel.key] then before = copy(seen_of(st, rel.key)) end
  in_assign = true
  local ok, err = pcall(plain_set_collection, st, rel, list)
  in_assign = false
  if not ok then error(err, 0) end
  local now = attributes.rel_value(st, rel)
  if type(now) == "table" then
    fire_init(st, rel, now)
    fire_diff(st, rel, before, now, false)
    set_seen(st, rel.key, now)
  end
end

-- a list became a collection (a load, a new object's first access)
local function on_init_collection(st, key, list)
  if in_assign then return end
  local rel = st.mapper.props[key]
  if rel then fire_init(st, rel, list) end
end

-- At every flush and autoflush: append/remove for the changes made to
-- loaded lists directly since they were last announced.
local function collection_finder(session, st)
  if st ~= nil or session == nil then return end
  -- (listeners may change collections: the states are listed first)
  local states = {}
  for cst in pairs(session._collections) do states[#states + 1] = cst end
  for _, cst in ipairs(states) do
    for _, rel in ipairs(cst.mapper.relationships) do
      if rel.uselist then
        local target = rel.class_attr
        if has(target, "append") or has(target, "remove") then
          local list = attributes.rel_value(cst, rel)
          if type(list) == "table" then
            fire_diff(cst, rel, seen_of(cst, rel.key), list, false)
            set_seen(cst, rel.key, list)
          end
        end
      end
    end
  end
end

local installed = false
local function install()
  if installed then return end
  installed = true
  plain_set_column, plain_set_scalar, plain_set_collection =
    attributes.set_column, attributes.set_scalar, attributes.set_collection
  attributes.set_column = evented_set_column
  attributes.set_scalar = evented_set_scalar
  attributes.set_collection = evented_set_collection
  attributes.init_collection_hook = on_init_collection
  local finders = unitofwork.change_finders
  finders[#finders + 1] = collection_finder
end

-- event.listen's hook on an attribute target: the evented paths go in and
-- the column leaves the constructors' direct writes.
local COLLECTION_EVENTS = {append = true, remove = true, init_collection = true}
local function on_listen(target, name, entry)
  local rel = not target._is_clause and target.prop
  local is_coll = rel and rel.uselist
  local fits
  if is_coll then fits = COLLECTION_EVENTS[name] else fits = name == "set" end
  if not fits then
    event.remove(target, name, entry.listener)
    local what = rel and (rel.parent.class_name .. "." .. rel.key) or
      ((target.table and target.table.name and (target.table.name .. ".") or "") .. tostring(target.name))
    exc.raise(exc.ArgumentError, format("event '%s' does not apply to %s: %s", name, what,
      is_coll and "a collection has append, remove and init_collection (an assignment fires them)" or
      "a column or many-to-one has set"), nil, 4)
  end
  install()
  if name == "set" and target._is_clause then
    mapper_mod.listened_columns[target] = true
    mapper_mod.props_changed()
  end
end

schema.Column._event_names = M.EVENTS
schema.Column._on_listen = on_listen
relationships.RelationshipAttribute._event_names = M.EVENTS
relationships.RelationshipAttribute._on_listen = on_listen

return M
