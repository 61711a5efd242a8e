--- orm/collections.lua: collection classes other than the plain list
--- (SQLAlchemy's orm/collections.py and orm/mapped_collection.py):
--- `collection_class = "set"`, keyed dictionaries (`attribute_keyed_dict`,
--- `column_keyed_dict`, `keyfunc_mapping`) and the ordered list of
--- ext.orderinglist.
---
--- The flush, the loaders, backrefs and cascades all work on one shape: the
--- loaded list in `st.colls` (orm/attributes.lua). A set or a keyed
--- dictionary is a VIEW of that list: a plain Lua table the program reads
--- and changes as it likes (`obj.tags[tag] = true`, `obj.notes.en = note`),
--- kept with the list it was made from and the members both had when they
--- last agreed (`seen`). Reconciling them is a three-way merge: a member
--- the list gained or lost since then (a backref, a load) is put into or
--- taken out of the view, one the view gained or lost (the program) into
--- or out of the list. It runs at each read of the attribute and, for
--- every state holding a view, at the start of each flush and autoflush
--- (orm/unitofwork.lua), so what the flush compares with its snapshot is
--- the list as usual. A list the loaders replaced (another list object)
--- makes a new view. Plain lists carry no descriptor and never come here.
local exc = require("quicksilver.exc")
local attributes = require("quicksilver.orm.attributes")
local elements = require("quicksilver.sql.elements")

local M = {}

local type, rawget, rawset, pairs, ipairs, tostring, format, setmetatable, getmetatable, rawequal =
  type, rawget, rawset, pairs, ipairs, tostring, string.format, setmetatable, getmetatable, rawequal
local STATE = attributes.STATE
local NULL = elements.null

--- States that hold a view or an ordered list (weak keys): the flush
--- reconciles those of its session (and transient ones) first. Empty
--- unless a collection_class other than the list was used.
local tracked = setmetatable({}, {__mode = "k"})
M.tracked = tracked

--- How many views were built and reconciled (for the specs).
M.stats = {built = 0, reconciled = 0}

local function describe_key(k)
  if type(k) == "string" then return format("'%s'", k) end
  return tostring(k)
end

-- The state's record for relationship key: {view, list, seen, hidden}.
local function records(st)
  local v = rawget(st, "views")
  if not v then
    v = {}
    rawset(st, "views", v)
    tracked[st] = true
  end
  return v
end

-- Descriptors -----------------------------------------------------------------------------

local Descriptor = {}
Descriptor.__index = Descriptor
Descriptor.__tostring = function(d) return "<collection_class " .. d.name .. ">" end
Descriptor._is_collection_class = true

local function descriptor(fields)
  return setmetatable(fields, Descriptor)
end

-- The key of member m (keyed dictionaries).
function Descriptor:key_of(rel, m)
  return self.keyfunc(m, rel)
end

-- A new view of list: a set, or a dictionary by key. On load a second
-- member with a key already seen wins silently (SQLAlchemy keeps the
-- last); the one it displaced stays in the list, hidden from the view
-- and never removed by it.
function Descriptor:build(rel, list)
  local view, hidden = {}, nil
  if self.kind == "set" then
    for i = 1, #list do view[list[i]] = true end
  else
    for i = 1, #list do
      local m = list[i]
      local k = self:key_of(rel, m)
      if k == nil then
        if not self.ignore_unpopulated then
          exc.raise(exc.InvalidRequestError, format("%s: a member (%s) has no key (%s is nil); set it, " ..
            "or give ignore_unpopulated_attribute = true", rel:describe(), tostring(m), self.name), nil, 4)
        end
        hidden = hidden or {}
        hidden[m] = true
      else
        local old = view[k]
        if old ~= nil and not rawequal(old, m) then
          hidden = hidden or {}
          hidden[old] = true
        end
        view[k] = m
      end
    end
  end
  M.stats.built = M.stats.built + 1
  return view, hidden
end

-- The members of the view (member -> its key in the view, or true for a
-- set), each checked: an instance of the target; in a dictionary, under
-- the key its own attribute gives; in a set, with the value true. A
-- member the view held already (in seen) keeps its key even when its
-- attribute changed since (SQLAlchemy's dictionary keeps the key it was
-- put under until the collection loads again).
function Descriptor:members(rel, view, seen)
  local out = {}
  if self.kind == "set" then
    for m, v in pairs(view) do
      if v ~= true then
        exc.raise(exc.ArgumentError, format("%s: a set holds member = true, got %s = %s",
          rel:describe(), tostring(m), tostring(v)), nil, 5)
      end
      attributes.check_target(rel, m)
      out[m] = true
    end
  else
    for k, m in pairs(view) do
      attributes.check_target(rel, m)
      local own = k
      if not (seen and seen[m]) then own = self:key_of(rel, m) end
      if own ~= k then
        exc.raise(exc.ArgumentError, format("%s: key %s holds %s, whose key (%s) is %s",
          rel:describe(), describe_key(k), tostring(m), self.name, describe_key(own)), nil, 5)
      end
      if out[m] ~= nil then
        exc.raise(exc.ArgumentError, format("%s: %s is under two keys", rel:describe(), tostring(m)), nil, 5)
      end
      out[m] = k
    end
  end
  return out
end

-- Puts member m, which joined the list, into the view. A dictionary
-- holding another member under m's key: the program gave a duplicate key.
function Descriptor:put(rel, view, m, r)
  if self.kind == "set" then view[m] = true; return end
  local k = self:key_of(rel, m)
  if k == nil then
    if self.ignore_unpopulated then
      r.hidden = r.hidden or {}
      r.hidden[m] = true
      return
    end
    exc.raise(exc.InvalidRequestError, format("%s: %s joined with no key (%s is nil)",
      rel:describe(), tostring(m), self.name), nil, 5)
  end
  local old = view[k]
  if old ~= nil and not rawequal(old, m) then
    exc.raise(exc.InvalidRequestError, format("%s: duplicate key %s: %s joined while %s holds it",
      rel:describe(), describe_key(k), tostring(m), tostring(old)), nil, 5)
  end
  view[k] = m
end

-- Takes member m, which left the list, out of the view.
function Descriptor:take(view, m, key)
  if self.kind == "set" then view[m] = nil; return end
  if key ~= nil and rawequal(view[key], m) then view[key] = nil; return end
  for k, v in pairs(view) do
    if rawequal(v, m) then view[k] = nil; return end
  end
end

local function index_set(list)
  local s = {}
  for i = 1, #list do s[list[i]] = true end
  return s
end

-- The three-way merge of the header for st's view of rel (r its record).
local function reconcile(self, st, rel, r, list)
  local view, seen, hidden = r.view, r.seen, r.hidden
  local inlist = index_set(list)
  local inview = self:members(rel, view, seen)
  local changed = false
  -- the list's side (backrefs, pending mutations)
  for m in pairs(inlist) do
    if not seen[m] and inview[m] == nil and not (hidden and hidden[m]) then
      self:put(rel, view, m, r)
      inview[m] = true
    end
  end
  for m in pairs(seen) do
    if not inlist[m] then
      if inview[m] ~= nil then self:take(view, m, inview[m]); inview[m] = nil end
      if hidden then hidden[m] = nil end
    end
  end
  -- the program's side
  for m in pairs(seen) do
    if inlist[m] and inview[m] == nil and not (hidden and hidden[m]) then
      local i = attributes.index_of(list, m)
      if i then table.remove(list, i); changed = true end
      inlist[m] = nil
    end
  end
  for m in pairs(inview) do
    if not inlist[m] then
      list[#list + 1] = m
      inlist[m] = true
      changed = true
    end
  end
  r.seen = inlist
  M.stats.reconciled = M.stats.reconciled + 1
  return changed
end

-- Brings st's view of rel and its list in step; the view. With no list
-- (expired, never loaded) there is nothing to reconcile.
function Descriptor:sync(st, rel, r)
  local colls = rawget(st, "colls")
  local list = colls and colls[rel.key]
  if list == nil then return nil end
  if not rawequal(r.list, list) then
    r.view, r.hidden = self:build(rel, list)
    r.list = list
    r.seen = index_set(list)
    return r.view
  end
  -- the list changed as table.insert changes a plain one: the session's
  -- read set is told, so an autoflush compares it with its snapshot
  if reconcile(self, st, rel, r, list) then attributes.note_read(st) end
  return r.view
end

local function check_uselist(rel, self)
  if not rel.uselist then
    exc.raise(exc.ArgumentError, format("%s: collection_class %s needs a collection (uselist); this " ..
      "relationship holds one object", rel:describe(), self.name), nil, 5)
  end
end

--- The attribute's value as the program reads it (the mapper's miss
--- function, for a relationship with a collection_class).
function Descriptor:get(st, rel)
  check_uselist(rel, self)
  -- members a backref queued for a collection not loaded yet: the
  -- program's, so a key clash among them is an error, not a load's
  local pm = rawget(st, "pending_mutations")
  local queued = pm and pm[rel.key]
  local list = attributes.get_relationship(st, rel)
  if self.kind == "list" then
    records(st)[rel.key] = true
    return list
  end
  local recs = records(st)
  local r = recs[rel.key]
  if r == nil then
    r = {}
    recs[rel.key] = r
  end
  -- no list (noload): an empty view, not kept
  local view = self:sync(st, rel, r) or {}
  if queued and r.hidden then
    local joined = {}
    for _, q in ipairs(queued) do if q[1] then joined[q[2]] = true end end
    for h in pairs(r.hidden) do
      local k = self:key_of(rel, h)
      local holder = k ~= nil and view[k]
      if holder and (joined[h] or joined[holder]) then
        exc.raise(exc.InvalidRequestError, format("%s: duplicate key %s: %s joined while %s holds it",
          rel:describe(), describe_key(k), tostring(joined[h] and h or holder), tostring(joined[h] and holder or h)),
          nil, 3)
      end
    end
  end
  return view
end

--- obj.rel = value (the mapper's __newindex): a table of the view's shape,
--- which becomes the view; the list behind it is made from its members.
function Descriptor:assign(st, rel, value)
  check_uselist(rel, self)
  if value == nil or value == NULL then value = {} end
  if type(value) ~= "table" or rawget(value, STATE) then
    exc.raise(exc.ArgumentError, format("%s: a %s collection is assigned a table, got %s", rel:describe(),
      self.kind == "list" and "list" or self.name, type(value) == "table" and "an instance" or type(value)), nil, 4)
  end
  if self.kind == "list" then
    attributes.set_collection(st, rel, value)
    records(st)[rel.key] = true
    return
  end
  local members = self:members(rel, value)
  local list = {}
  for m in pairs(members) do list[#list + 1] = m end
  -- a stable order for the flush (its statements follow the list)
  if #list > 1 and self.kind ~= "set" then
    local keys = {}
    for m, k in pairs(members) do keys[m] = k end
    table.sort(list, function(a, b)
      local ka, kb = keys[a], keys[b]
      if type(ka) == type(kb) and (type(ka) == "number" or type(ka) == "string") then return ka < kb end
      return tostring(ka) < tostring(kb)
    end)
  end
  attributes.set_collection(st, rel, list)
  records(st)[rel.key] = {view = value, list = list, seen = index_set(list)}
end

-- The flush ---------------------------------------------------------------------------------

--- Reconciles every view (and renumbers every ordered list) of the
--- states in session before a flush compares collections. (A transient
--- object's view is reconciled once the object is in the session: added,
--- or read after a cascade brought it in.)
---@param session table
function M.sync_session(session)
  local sid = rawget(session, "_sid")
  if sid == nil then return end
  for st in pairs(tracked) do
    if rawget(st, "_sid") == sid then
      local views = rawget(st, "views")
      if views then
        local props = st.mapper.props
        for key, r in pairs(views) do
          local rel = props[key]
          local d = rel and rel.collection
          if d then
            if d.kind == "list" then
              if d.on_flush then
                local colls = rawget(st, "colls")
                local list = colls and colls[key]
                if list then d.on_flush(list, rel, st) end
              end
            else
              d:sync(st, rel, r)
            end
          end
        end
      end
    end
  end
end

-- Public names ------------------------------------------------------------------------------

--- The set collection class (`collection_class = "set"`).
M.SET = descriptor({kind = "set", name = "set"})

local DICT_OPTIONS = {ignore_unpopulated_attribute = true}

local function dict_options(fname, opts)
  if opts == nil then return false end
  if type(opts) ~= "table" then
    exc.raise(exc.ArgumentError, fname .. ": options must be a table", nil, 3)
  end
  for k in pairs(opts) do
    if not DICT_OPTIONS[k] then
      exc.raise(exc.ArgumentError, format("%s: unknown option '%s' (supported: ignore_unpopulated_attribute)",
        fname, tostring(k)), nil, 3)
    end
  end
  return opts.ignore_unpopulated_attribute and true or false
end

--- orm.attribute_keyed_dict(name, {ignore_unpopulated_attribute}): a
--- dictionary keyed by each member's attribute `name`.
---@param name string
---@param opts table|nil
---@return table
function M.attribute_keyed_dict(name, opts)
  if type(name) ~= "string" then
    exc.raise(exc.ArgumentError, "attribute_keyed_dict: the attribute name must be a string", nil, 2)
  end
  return descriptor({kind = "dict", name = name, ignore_unpopulated = dict_options("attribute_keyed_dict", opts),
    keyfunc = function(m) return m[name] end})
end

--- orm.column_keyed_dict(column, {ignore_unpopulated_attribute}): a
--- dictionary keyed by each member's value of a mapped column (the
--- class attribute `Note.lang` or the Column).
---@param column table
---@param opts table|nil
---@return table
function M.column_keyed_dict(column, opts)
  if type(column) ~= "table" and type(column) ~= "function" then
    exc.raise(exc.ArgumentError, "column_keyed_dict: give a mapped column (Model.attr or a Column), " ..
      "or a function returning one", nil, 2)
  end
  local ignore = dict_options("column_keyed_dict", opts)
  local d = descriptor({kind = "dict", name = type(column) == "table" and tostring(column.key or column.name) or
    "column", ignore_unpopulated = ignore})
  local attr_of = setmetatable({}, {__mode = "k"})   -- mapper -> attribute key
  d.keyfunc = function(m, rel)
    local mapper = rawget(m, STATE).mapper
    local key = attr_of[mapper]
    if key == nil then
      if type(column) == "function" then
        -- a model declared later: its column is known at first use
        column = column()
        if type(column) ~= "table" then
          exc.raise(exc.ArgumentError, format("%s: column_keyed_dict's function returned %s, not a column",
            rel:describe(), type(column)), nil, 6)
        end
        d.name = tostring(column.key or column.name)
      end
      local mm = mapper
      while mm and key == nil do
        key = mm.col_attr[column]
        mm = mm.inherits
      end
      if key == nil and column.table then
        for c, k in pairs(mapper.col_attr) do
          if c.table == column.table and c.name == column.name then key = k end
        end
      end
      if key == nil then
        exc.raise(exc.ArgumentError, format("%s: column_keyed_dict's column %s is not mapped by %s",
          rel:describe(), tostring(column), mapper.class_name), nil, 6)
      end
      attr_of[mapper] = key
    end
    return m[key]
  end
  return d
end

--- orm.keyfunc_mapping(fn, {ignore_unpopulated_attribute}): a dictionary
--- keyed by fn(member).
---@param fn function
---@param opts table|nil
---@return table
function M.keyfunc_mapping(fn, opts)
  if type(fn) ~= "function" then
    exc.raise(exc.ArgumentError, "keyfunc_mapping: give a function of the member", nil, 2)
  end
  return descriptor({kind = "dict", name = "keyfunc", ignore_unpopulated = dict_options("keyfunc_mapping", opts),
    keyfunc = function(m) return fn(m) end})
end

--- An ordered-list collection class (ext.orderinglist): a plain list;
--- on_flush(list, rel, st) runs at each flush; order_attr, when given,
--- is the relationship's default order_by.
---@param fields table {name, on_flush, order_attr}
---@return table
function M.list_class(fields)
  fields.kind = "list"
  return descriptor(fields)
end

--- The descriptor for a relationship's collection_class option (nil for
--- the plain list), or an ArgumentError naming what was given.
---@param v any
---@param where string
---@return table|nil
function M.resolve(v, where)
  if v == nil or v == "list" then return nil end
  if v == "set" then return M.SET end
  if type(v) == "table" and getmetatable(v) == Descriptor then return v end
  exc.raise(exc.ArgumentError, format("%s: collection_class must be \"list\", \"set\", orm.attribute_keyed_dict(...), " ..
    "orm.column_keyed_dict(...), orm.keyfunc_mapping(...) or an ordering_list(...); got %s", where,
    type(v) == "string" and ("\"" .. v .. "\"") or type(v)), nil, 4)
end

return M
