--- orm/mapper.lua: the Mapper (SQLAlchemy's orm/mapper.py) and the classes
--- it maps.
---
--- A model class is a table with the shared class metatable: `User.name`
--- gives the Column (a SQL expression), `User.addresses` the relationship
--- attribute (for joins and loader options), a hybrid its SQL form; methods
--- defined on the class are plain fields, found by instances through their
--- metatable. `User({...})` constructs an instance.
local exc = require("quicksilver.exc")
local core = require("quicksilver.core")
local construct_jit = require("quicksilver.orm.construct_jit")
local attributes = require("quicksilver.orm.attributes")
local concrete = require("quicksilver.orm.concrete")
local visitors = require("quicksilver.sql.visitors")
local util = require("quicksilver.util")

local M = {}

local elements = require("quicksilver.sql.elements")
local NULL = elements.null

-- Bumped whenever a class gets an __init: constructors look it up again.
local init_gen = 0
-- Bumped when a property or validator is added anywhere: a mapper's set of
-- keys a constructor writes straight into the dict is made again.
local props_gen = 0

local type, rawget, rawset, setmetatable, getmetatable, pairs, ipairs, format, tostring =
  type, rawget, rawset, setmetatable, getmetatable, pairs, ipairs, string.format, tostring
local STATE = attributes.STATE

---@class quicksilver.orm.Mapper
---@field class table
---@field class_name string
---@field local_table table
---@field inherits quicksilver.orm.Mapper|nil
---@field base_mapper quicksilver.orm.Mapper
local Mapper = {}
Mapper.__index = Mapper
Mapper.__name = "Mapper"
M.Mapper = Mapper

Mapper.__tostring = function(m) return "<Mapper " .. m.class_name .. ">" end

---@class quicksilver.orm.ColumnProperty
local ColumnProperty = {}
ColumnProperty.__index = ColumnProperty
ColumnProperty.is_column = true
M.ColumnProperty = ColumnProperty

local mapper_ids = 0

--- Columns with a "set" attribute listener (orm/attribute_events.lua): a
--- constructor writes them through __newindex so the listener runs.
M.listened_columns = setmetatable({}, {__mode = "k"})

--- Makes every constructor spec and direct-key set be made again.
function M.props_changed() props_gen = props_gen + 1 end

--- A number that moves whenever some mapper gains or changes a property or
--- relationship: what a cache of mapper facts checks (orm/flush_plan.lua).
---@return integer
function M.props_generation() return props_gen end

--- The bind names of a row's primary-key columns by position ("pk_1",
--- "pk_2", ...: Session:get's SELECT, the flush's UPDATE and DELETE WHERE
--- clauses), each made once.
M.PK_PARAMS = setmetatable({}, {__index = function(t, i)
  local name = "pk_" .. i
  t[i] = name
  return name
end})

--- A mapper for cls over table (inherits: the parent's mapper for a
--- subclass mapped to the same table).
function M.new(registry, cls, name, table_, inherits)
  mapper_ids = mapper_ids + 1
  local m = setmetatable({
    registry = registry, class = cls, class_name = name, local_table = table_,
    inherits = inherits, props = {}, column_props = {}, col_attr = {}, relationships = {},
    hybrids = {}, subclasses = {}, id = mapper_ids, expr_props = {}, validators = {},
    attrs = {}, columns = {},
  }, Mapper)
  m.base_mapper = inherits and inherits.base_mapper or m
  m.key_prefix = inherits and inherits.key_prefix or (name .. "#" .. mapper_ids .. "|")
  m.persist_table = table_
  -- the tables an instance's row spans, base first (joined inheritance
  -- adds one per level), and the FROM that selects them together
  if inherits and inherits.local_table ~= table_ then
    m.tables = {}
    for i, t in ipairs(inherits.tables) do m.tables[i] = t end
    m.tables[#m.tables + 1] = table_
  elseif inherits then
    m.tables = inherits.tables
  else
    m.tables = {table_}
  end
  m.persist_from = inherits and inherits.persist_from or table_
  if inherits then
    inherits.subclasses[#inherits.subclasses + 1] = m
    for _, p in ipairs(inherits.column_props) do m:_add_column_prop(p.key, p.column) end
    for _, p in ipairs(inherits.expr_props) do m:_add_expr_prop(p.key, p.expr) end
    for _, r in ipairs(inherits.relationships) do
      m.props[r.key] = r
      m.relationships[#m.relationships + 1] = r
      m.relationships[r.key] = r
      m.attrs[r.key] = r
    end
    m.polymorphic_on = inherits.polymorphic_on
    m.polymorphic_map = inherits.polymorphic_map
  end
  return m
end

--- A joined subclass's primary key column: the same attribute as the
--- parent's key column it references (one value, two tables).
function Mapper:_add_pk_alias(key, column)
  attributes.check_attribute_name(self, key)
  local p = setmetatable({key = key, column = column, mapper = self, class_attr = column}, ColumnProperty)
  self.column_props[#self.column_props + 1] = p
  self.col_attr[column] = key
  for _, sub in ipairs(self.subclasses) do sub:_add_pk_alias(key, column) end
  return p
end

--- The (attribute key, column) pairs this mapper writes to table t, and
--- that table's primary key as such pairs.
function Mapper:table_columns(t)
  local cache = self._table_cols
  if not cache then cache = {}; self._table_cols = cache end
  local e = cache[t]
  if not e then
    e = {cols = {}, pk = {}, col_of = {}, onupdate = {}}
    local seen = {}
    for _, p in ipairs(self.column_props) do
      if p.column.table == t and not seen[p.column] then
        seen[p.column] = true
        e.cols[#e.cols + 1] = p
        if e.col_of[p.key] == nil then e.col_of[p.key] = p.column end
        if p.column.onupdate ~= nil or p.column.server_onupdate ~= nil or p.column.computed then e.onupdate[#e.onupdate + 1] = p end
      end
    end
    for _, c in ipairs(t:primary_key_columns()) do
      local key = self.col_attr[c]
      if not key then
        exc.raise(exc.InvalidRequestError, format("%s: primary key column %s is not mapped", self.class_name,
          tostring(c)), nil, 4)
      end
      e.pk[#e.pk + 1] = {key = key, column = c}
    end
    cache[t] = e
  end
  return e
end

function Mapper:_add_column_prop(key, column)
  attributes.check_attribute_name(self, key)
  local p = setmetatable({key = key, column = column, mapper = self, class_attr = column}, ColumnProperty)
  self.props[key] = p
  props_gen = props_gen + 1
  self.column_props[#self.column_props + 1] = p
  self.col_attr[column] = key
  self.attrs[key] = p
  self.columns[#self.columns + 1] = column
  self.columns[key] = column
  -- a type that wants to know where it is mapped (quicksilver.ext.mutable)
  local on_mapped = type(column.type) == "table" and rawget(column.type, "_on_mapped")
  if on_mapped then on_mapped(self, key) end
  -- subclasses mapped to this table see it too (single-table inheritance)
  for _, sub in ipairs(self.subclasses) do
    if not sub.props[key] then sub:_add_column_prop(key, column) end
  end
  return p
end

--- orm.column_property(expr): a read-only attribute loaded with the row.
function Mapper:_add_expr_prop(key, expr)
  attributes.check_attribute_name(self, key)
  local p = setmetatable({key = key, expr = expr, label = expr:label(key), mapper = self,
    class_attr = expr, read_only = true}, ColumnProperty)
  self.props[key] = p
  props_gen = props_gen + 1
  self.expr_props[#self.expr_props + 1] = p
  self.attrs[key] = p
  for _, sub in ipairs(self.subclasses) do
    if not sub.props[key] then sub:_add_expr_prop(key, expr) end
  end
  self.registry.configured = false
  local _ = elements
  return p
end

function Mapper:_add_validator(v)
  for _, key in ipairs(v.keys) do
    if not self.props[key] then
      exc.raise(exc.ArgumentError, format("validates: %s has no mapped attribute '%s'", self.class_name,
        tostring(key)), nil, 4)
    end
    self.validators[key] = v.fn
    props_gen = props_gen + 1   -- constructors' direct-key sets are stale
  end
end

--- The validator of an attribute (orm.validates), on this class or a parent.
function Mapper:find_validator(key)
  local m = self
  while m do
    local v = m.validators[key]
    if v then return v end
    m = m.inherits
  end
  return nil
end

function Mapper:_add_relationship(rel)
  attributes.check_attribute_name(self, rel.key)
  self.props[rel.key] = rel
  props_gen = props_gen + 1
  self.relationships[#self.relationships + 1] = rel
  self.relationships[rel.key] = rel
  self.attrs[rel.key] = rel
  self._coll_rels = nil   -- the flush's list of collections to diff
  for _, sub in ipairs(self.subclasses) do
    if not sub.props[rel.key] then sub:_add_relationship(rel) end
  end
end

--- The primary key: the table's, as attribute keys and columns.
function Mapper:_set_primary_key()
  local cols = self.local_table:primary_key_columns()
  if #cols == 0 then
    exc.raise(exc.ArgumentError, format("Mapper %s could not assemble any primary key columns " ..
      "for mapped table '%s'", self.class_name, self.local_table.name), nil, 4)
  end
  self.pk_cols, self.pk_keys = cols, {}
  for i, c in ipairs(cols) do
    local key = self.col_attr[c]
    if not key then
      exc.raise(exc.ArgumentError, format("Mapper %s: primary key column '%s' is not mapped",
        self.class_name, c.name), nil, 4)
    end
    self.pk_keys[i] = key
  end
  self.primary_key = cols
end

--- The hybrid attribute named key, on this class or a parent.
function Mapper:find_hybrid(key)
  local m = self
  while m do
    local h = m.hybrids[key]
    if h then return h end
    m = m.inherits
  end
  return nil
end

function Mapper:find_tostring()
  local m = self
  while m do
    if m.tostring_fn then return m.tostring_fn end
    m = m.inherits
  end
  return nil
end

--- Whether this mapper is target or inherits from it.
function Mapper:isa(target)
  local m = rawget(self, "_mapper") or self
  target = rawget(target, "_mapper") or target
  while m do
    if m == target then return true end
    m = m.inherits
  end
  return false
end

--- A polymorphic_on that is a SQL expression (SQLAlchemy's polymorphic_on
--- = case(...)): selected under a label, read by the loader at its
--- position like a column; no attribute key, so nothing writes it.
---@param expr table a SQL expression
---@return table
function M.expression_discriminator(expr)
  return {expr = expr, column = expr:label("qs_discriminator"), is_expr = true}
end

--- The polymorphic identities this mapper and its subclasses load as.
function Mapper:_identities(out)
  out = out or {}
  if self.polymorphic_identity ~= nil then out[#out + 1] = self.polymorphic_identity end
  for _, sub in ipairs(self.subclasses) do sub:_identities(out) end
  return out
end

-- A load plan: where, in a row, the columns of an entity are, and for each
-- class of the hierarchy which attributes they fill (the rest stays
-- unloaded: deferred columns, load_only). `cols` are table columns in the
-- order selected.
local Plan = {}
Plan.__index = Plan

function M.new_plan(base, cols)
  local pos = {}
  for i, c in ipairs(cols) do pos[c] = i end
  local plan = setmetatable({cols = cols, pos = pos, pk_pos = {}, per = {}}, Plan)
  for i, c in ipairs(base.pk_cols) do
    plan.pk_pos[i] = pos[c]
    if not pos[c] then
      exc.raise(exc.InvalidRequestError, base.class_name .. ": a load plan must include the primary key", nil, 4)
    end
  end
  plan.disc_pos = base.polymorphic_on and pos[base.polymorphic_on.column] or nil
  return plan
end

--- The attributes the plan fills for instances of m, and those it leaves
--- unloaded (to load on access).
function Plan:for_mapper(m)
  local e = self.per[m]
  if not e then
    local fields, unloaded, have = {}, {}, {}
    for _, p in ipairs(m.column_props) do
      local i = self.pos[p.column]
      if i and not have[p.key] then
        have[p.key] = true
        fields[#fields + 1] = {pos = i, key = p.key}
      end
    end
    for _, p in ipairs(m.column_props) do
      -- a key column of a joined table has the value of the parent's
      if not have[p.key] then
        have[p.key] = true
        unloaded[#unloaded + 1] = p.key
      end
    end
    for _, p in ipairs(m.expr_props) do
      local i = self.pos[p.label]
      if i then fields[#fields + 1] = {pos = i, key = p.key}
      else unloaded[#unloaded + 1] = p.key end
    end
    -- the same as two lists, for core.row_dict and core.load_objects
    local keys, positions = {}, {}
    for j, f in ipairs(fields) do keys[j], positions[j] = f.key, f.pos end
    e = {fields = fields, keys = keys, positions = positions, unloaded = unloaded[1] and unloaded or nil}
    self.per[m] = e
  end
  return e
end

--- The columns of the hierarchy's table this mapper's queries select: every
--- mapped column (deferred ones only when undeferred), in table order.
function Mapper:_hierarchy_columns(include)
  local base = self.base_mapper
  local mapped = {}
  local function collect(m)
    for _, p in ipairs(m.column_props) do mapped[p.column] = p end
    for _, sub in ipairs(m.subclasses) do collect(sub) end
  end
  collect(base)
  local must = {}
  for _, t in ipairs(self.tables) do
    for _, c in ipairs(t:primary_key_columns()) do must[c] = true end
  end
  if base.polymorphic_on then must[base.polymorphic_on.column] = true end
  local cols = {}
  for _, t in ipairs(self.tables) do
    for _, c in ipairs(t.columns) do
      local p = mapped[c]
      if p and (must[c] or include(p)) then cols[#cols + 1] = c end
    end
  end
  return cols
end

--- What select(Model) selects by default (deferred columns left out) and
--- the plan loading it.
function Mapper:_compute_select_columns()
  if self.concrete_base then   -- through the union of the hierarchy's tables
    return concrete.compute_select(self, M.new_plan)
  end
  local cols = self:_hierarchy_columns(function(p) return not p.deferred end)
  -- column_property expressions of the hierarchy, labelled, after the columns
  local seen = {}
  local function exprs(m)
    for _, p in ipairs(m.expr_props) do
      if not seen[p.key] then
        seen[p.key] = true
        cols[#cols + 1] = p.label
      end
    end
    for _, sub in ipairs(m.subclasses) do exprs(sub) end
  end
  exprs(self)
  local disc = self.base_mapper.polymorphic_on
  if disc and disc.is_expr then cols[#cols + 1] = disc.column end
  self.select_columns = cols
  -- the FROM of select(Model): a joined subclass's tables joined together
  -- (a concrete base's union and a with_polymorphic base's outer joins are
  -- set by orm/concrete.lua and orm/polymorphic.lua)
  self.entity_from = (#self.tables > 1) and self.persist_from or false
  self.plan = M.new_plan(self.base_mapper, cols)
  self.pk_pos, self.disc_pos = self.plan.pk_pos, self.plan.disc_pos
end

--- The criterion a query for this mapper needs beyond its table: a
--- single-table subclass loads only its own identities.
function Mapper:_single_table_criterion()
  if not self.inherits or not self.polymorphic_on or self.concrete then return nil end
  local ids = self:_identities()
  local col = self.polymorphic_on.column
  local alias = rawget(self, "_alias")    -- an aliased entity
  if self.polymorphic_on.is_expr then
    col = self.polymorphic_on.expr
    if alias then
      local t = self.local_table
      col = visitors.replace(col, function(n)
        if n._k == core.kinds.COLUMN and n.table == t then return alias.c[n.key] end
        return nil
      end)
    end
  elseif alias then col = alias.c[col.key] end
  if #ids == 1 then return col:eq(ids[1]) end
  return col:in_(ids)
end

-- The class side --------------------------------------------------------------------------

--- The methods every model class has (through its parents): what Core asks
--- of a selectable entity, and `Model:model(...)` for a subclass.
local ModelBase = {}
M.ModelBase = ModelBase

--- Mapper events (qs.event.listen(Model, name, fn)): listeners on a class
--- apply to its subclasses, and listeners on Base to every model.
M.EVENTS = {before_insert = true, after_insert = true, before_update = true, after_update = true,
  before_delete = true, after_delete = true, load = true}
ModelBase._event_names = M.EVENTS

local ClassMeta = {}
M.ClassMeta = ClassMeta

--- select(Model): the columns and the descriptor the ORM loads objects by.
function ModelBase.__select_entity__(cls)
  local m = rawget(cls, "__mapper__")
  if not m then
    exc.raise(exc.UnmappedClassError, tostring(cls) .. " is not mapped", nil, 4)
  end
  m.registry:configure()
  -- a joined subclass selects from its tables joined together
  return m.select_columns, m, m.entity_from or nil
end

function ModelBase.__clause_element__(cls)
  local m = rawget(cls, "__mapper__")
  if not m then exc.raise(exc.UnmappedClassError, tostring(cls) .. " is not mapped", nil, 4) end
  return m.local_table
end

-- Keys the SQL layer asks of anything handed to it (select(Model), where()
-- arguments): never mapped attribute names, so they skip the property and
-- hybrid look-ups and go up the class chain (select() asks several per
-- model argument, on every statement built).
local SQL_PROTOCOL = {_is_clause = true, _is_from = true, _is_type = true, _k = true,
  __clause_element__ = true, __select_entity__ = true, _tuple = true}

-- A class's member k without raising: rawget, then what ClassMeta's
-- look-up finds up the chain (properties, hybrids, class fields, ModelBase).
local class_lookup

local function member(cls, k)
  local v = rawget(cls, k)
  if v ~= nil then return v end
  if getmetatable(cls) == ClassMeta then return class_lookup(cls, k) end
  return cls[k]
end

class_lookup = function(cls, k)
  if SQL_PROTOCOL[k] or type(k) ~= "string" then
    local parent = rawget(cls, "__parent__")
    if parent then return parent[k] end   -- never raises: not a name ClassMeta raises for
    return nil
  end
  if k == "_event_parent" then
    local parent = rawget(cls, "__parent__")
    return parent ~= ModelBase and parent or nil
  end
  local m = rawget(cls, "__mapper__")
  if m then
    local p = m.props[k]
    if p then
      if not p.is_column then m.registry:configure() end
      return p.class_attr
    end
    local h = m:find_hybrid(k)
    if h then
      m.registry:configure()
      return h:class_get(cls)
    end
  end
  local parent = rawget(cls, "__parent__")
  if parent then
    if k:byte(1) == 95 then return parent[k] end   -- "_...": never raises
    return member(parent, k)
  end
  return nil
end

--- A model class's member k, nil when it has none (what an instance's
--- miss function reads: obj.unknown is nil, Model.unknown raises).
M.class_member = member
attributes.class_member = member

-- The mapper's attribute names (its properties and every hybrid up its
-- inheritance chain) added to the set names; names.
local function add_mapped_names(m, names)
  for k in pairs(m.props) do names[k] = true end
  local hm = m
  while hm do
    for k in pairs(hm.hybrids) do names[k] = true end
    hm = hm.inherits
  end
  return names
end

-- Every name Model.k could have found: the candidates of the miss message.
local function member_names(cls)
  local names = {}
  local c = cls
  while type(c) == "table" do
    local m = rawget(c, "__mapper__")
    if m then add_mapped_names(m, names) end
    for k in pairs(c) do
      if type(k) == "string" and k:sub(1, 1) ~= "_" then names[k] = true end
    end
    c = rawget(c, "__parent__")
  end
  return names
end

--- Raises Model.k's error for a k cls lacks, naming it as what (default
--- the class's name) and the closest names; level as error()'s.
---@param cls table
---@param k string
---@param what? string
---@param level? integer
function M.raise_no_attribute(cls, k, what, level)
  local names = member_names(cls)
  local hint = util.did_you_mean(k, names)
  if hint == "" then
    local list = {}
    local base = rawget(cls, "__mapper__") and rawget(cls, "__mapper__").registry.base
    for n in pairs(names) do
      if not ModelBase[n] and not (base and rawget(base, n) ~= nil) then list[#list + 1] = n end
    end
    table.sort(list)
    hint = #list > 0 and format(" (its attributes: %s)", table.concat(list, ", ")) or ""
  end
  exc.raise(exc.InvalidRequestError, format("type object '%s' has no attribute '%s'%s",
    what or tostring(rawget(cls, "__name")), k, hint), nil, (level or 1) + 1)
end

-- Model.k for a k the class does not have (not a mapped attribute, a
-- relationship, a hybrid, a method or a class field) raises naming the
-- model and the closest names, where SQLAlchemy raises AttributeError.
-- Only on a mapped class and only for names not starting with "_": the
-- library probes classes for optional "_" and "__" fields, and instances
-- read missing fields as nil (their miss function uses class_member).
ClassMeta.__index = function(cls, k)
  local m = rawget(cls, "__mapper__")
  if m and not SQL_PROTOCOL[k] then
    -- Model.column, the common read, without class_lookup's call
    local p = m.props[k]
    if p then
      if not p.is_column then m.registry:configure() end
      return p.class_attr
    end
  end
  local v = class_lookup(cls, k)
  if v ~= nil or type(k) ~= "string" or k:byte(1) == 95 or not m then
    return v
  end
  M.raise_no_attribute(cls, k, nil, 2)
end

ClassMeta.__newindex = function(cls, k, v)
  local m = rawget(cls, "__mapper__")
  if m and type(v) == "table" and getmetatable(v) and v._is_hybrid then
    v.key = k
    m.hybrids[k] = v
    return
  end
  if m and type(v) == "table" and getmetatable(v) and v._is_column_property then
    if m.props[k] then
      exc.raise(exc.ArgumentError, format("%s.%s is already mapped", m.class_name, tostring(k)), nil, 2)
    end
    m:_add_expr_prop(k, v.expr)
    return
  end
  if m and type(v) == "table" and getmetatable(v) and v._is_validator then
    m:_add_validator(v)
    return
  end
  if m and m.props[k] then
    exc.raise(exc.ArgumentError, format("%s.%s is a mapped attribute and cannot be replaced on the class",
      m.class_name, tostring(k)), nil, 2)
  end
  if k == "__tostring" and m then
    m.tostring_fn = v
    return
  end
  if k == "__init" then init_gen = init_gen + 1 end
  rawset(cls, k, v)
end

ClassMeta.__tostring = function(cls)
  return "<class '" .. tostring(rawget(cls, "__name") or "?") .. "'>"
end

local make_instance = attributes.make_instance

-- The keys a constructor writes straight into a new object's dict: plain
-- columns (not read-only) without a validator, here or up the chain.
local function direct_keys(m)
  local set = m._direct_keys
  if set and m._direct_gen == props_gen then return set end
  set = {}
  for k, p in pairs(m.props) do
    if p.is_column and not p.read_only and not m:find_validator(k) and not M.listened_columns[p.column] then
      set[k] = true
    end
  end
  m._direct_keys, m._direct_gen = set, props_gen
  return set
end

local function default_init(m, obj, fields)
  if fields == nil then return end
  if type(fields) ~= "table" or rawget(fields, STATE) then
    exc.raise(exc.ArgumentError, format("%s(): expected a table of attribute = value, got %s",
      m.class_name, type(fields)), nil, 4)
  end
  -- columns first, then relationships (whose backrefs may read columns).
  -- A new object has nothing expired and no session to tell, so a column
  -- with no validator goes straight to the dict (an invalid key raises
  -- after some went in: the object is never handed out).
  local direct = direct_keys(m)
  local dict = rawget(obj, STATE).dict
  local validated, later
  for k, v in pairs(fields) do
    if direct[k] then
      if v ~= NULL then dict[k] = v end
    else
      if type(k) ~= "string" or not (m.props[k] or m:find_hybrid(k)) then
        local hint = ""
        if type(k) == "string" then hint = util.did_you_mean(k, add_mapped_names(m, {})) end
        exc.raise(exc.ArgumentError, format("'%s' is an invalid keyword argument for %s%s",
          tostring(k), m.class_name, hint), nil, 4)
      end
      local p = m.props[k]
      if p and p.is_column then
        validated = validated or {}
        validated[#validated + 1] = k
      else
        later = later or {}
        later[#later + 1] = k
      end
    end
  end
  if validated then
    for _, k in ipairs(validated) do obj[k] = fields[k] end
  end
  if later then
    for _, k in ipairs(later) do obj[k] = fields[k] end
  end
end

-- The constructor spec of mapper m (c/orm/construct.c, layout.h
-- QS_CONSTRUCT_SPEC): what core.new_instance needs to make an instance in
-- one call, made again when a property, validator or __init changes
-- anywhere (the generations) or the registry configures again. Its
-- `init` is the class's __init (false: none), looked up through the class
-- chain here (the walk costs more than the object).
local CS = core.construct_spec_fields
local new_instance = core.new_instance
if rawget(_G, "jit") then   -- LuaJIT: the same in Lua (orm/construct_jit.lua says why)
  new_instance = construct_jit.new_instance
end

local function constructor_spec(m, cls)
  local direct = direct_keys(m)
  local mt = m.instance_mt
  local plain = mt ~= nil
  if plain then
    -- exactly the three metamethods attributes.instance_metatable makes
    local n = 0
    for _ in pairs(mt) do n = n + 1 end
    plain = n == 3 and mt.__index ~= nil and mt.__newindex ~= nil and mt.__tostring ~= nil
  end
  local scalars, colls = 0, 0
  for _, r in ipairs(m.relationships) do
    if r.uselist then colls = colls + 1 else scalars = scalars + 1 end
  end
  local spec = {}
  spec[CS.mapper], spec[CS.state_mt], spec[CS.state_key] = m, attributes.InstanceState, STATE
  if plain then spec[CS.index], spec[CS.newindex], spec[CS.tostring] = mt.__index, mt.__newindex, mt.__tostring end
  spec[CS.direct], spec[CS.null] = direct, NULL
  -- sizes a value table and a state reach once added and flushed: the
  -- metamethods, the columns and the many-to-one targets; the state's
  -- fields with its session, identity key, modified flag and (with
  -- relationships) loaded, m2o_set or colls and snap
  spec[CS.dict_size] = 3 + #m.column_props + scalars
  spec[CS.state_size] = (scalars + colls > 0) and 9 or 8
  if m.polymorphic_on and m.polymorphic_identity ~= nil and m.polymorphic_on.key ~= nil then
    spec[CS.poly_key], spec[CS.poly_value] = m.polymorphic_on.key, m.polymorphic_identity
  end
  spec.plain = plain
  spec.init = cls.__init or false
  spec.gen, spec.init_gen = props_gen, init_gen
  m._ctor = spec
  return spec
end

ClassMeta.__call = function(cls, fields)
  local m = rawget(cls, "__mapper__")
  if not m then
    exc.raise(exc.InvalidRequestError, tostring(cls) .. " is not a mapped class (use Base:model)", nil, 2)
  end
  local reg = m.registry
  local spec = m._ctor
  if not reg.configured or spec == nil or spec.gen ~= props_gen or spec.init_gen ~= init_gen then
    if not reg.configured then reg:configure() end
    spec = constructor_spec(m, cls)
  end
  local init = spec.init
  if not spec.plain then
    local obj, st = make_instance(m, nil)
    if m.polymorphic_on and m.polymorphic_identity ~= nil and m.polymorphic_on.key ~= nil then
      st.dict[m.polymorphic_on.key] = m.polymorphic_identity
    end
    if init then init(obj, fields) else default_init(m, obj, fields) end
    return obj
  end
  if init then
    local obj = new_instance(spec, nil)
    init(obj, fields)
    return obj
  end
  -- the direct keys are in; the rest (and errors) as before, over the
  -- whole table again (the direct keys written twice, the same values)
  local obj, _, rest = new_instance(spec, fields)
  if rest then default_init(m, obj, fields) end
  return obj
end

--- The mapper of a class, or nil.
function M.mapper_of(cls)
  return type(cls) == "table" and rawget(cls, "__mapper__") or nil
end

--- The mapper of a class; UnmappedClassError otherwise.
function M.class_mapper(cls, what)
  local m = type(cls) == "table" and rawget(cls, "__mapper__")
  if not m then
    exc.raise(exc.UnmappedClassError, format("%s: %s is not a mapped class", what or "orm",
      type(cls) == "table" and tostring(cls) or type(cls)), nil, 3)
  end
  m.registry:configure()
  return m
end

return M
