--- orm/decl.lua: declarative mapping (SQLAlchemy's orm/decl_api.py and
--- decl_base.py): `orm.declarative_base()`, `Base:model(name, spec)`,
--- `orm.mapped_column`, the registry that resolves names between classes.
local exc = require("quicksilver.exc")
local util = require("quicksilver.util")
local schema = require("quicksilver.sql.schema")
local mapper_mod = require("quicksilver.orm.mapper")
local attributes = require("quicksilver.orm.attributes")
local hybrid = require("quicksilver.orm.hybrid")
local relationships = require("quicksilver.orm.relationships")
local concrete = require("quicksilver.orm.concrete")
local polymorphic = require("quicksilver.orm.polymorphic")
local mixins = require("quicksilver.orm.mixins")
local elements = require("quicksilver.sql.elements")
local SELECT = require("quicksilver.core").kinds.SELECT

local M = {}

local type, rawget, rawset, setmetatable, pairs, ipairs, format, tostring, sort =
  type, rawget, rawset, setmetatable, pairs, ipairs, string.format, tostring, table.sort

-- mapped_column ---------------------------------------------------------------------------

---@class quicksilver.orm.MappedColumn
local MappedColumn = {}
MappedColumn.__index = MappedColumn
MappedColumn._is_mapped_column = true

-- Lua tables keep no order: each mapped_column takes a number when created,
-- and columns go into CREATE TABLE in that order.
local creation_counter = 0

--- orm.mapped_column([db_name,] type?, ForeignKey..., {options}): a column
--- of the model's table; the attribute name is its name unless db_name is
--- given.
---@return quicksilver.orm.MappedColumn
function M.mapped_column(...)
  creation_counter = creation_counter + 1
  local args = {n = select("#", ...), ...}
  local name
  if type(args[1]) == "string" then
    name = args[1]
    table.remove(args, 1)
    args.n = args.n - 1
  end
  return setmetatable({name = name, args = args, order = creation_counter}, MappedColumn)
end

-- column_property, validates, synonym ------------------------------------------------------

local ColumnPropertySpec = {_is_column_property = true}
ColumnPropertySpec.__index = ColumnPropertySpec

--- orm.column_property(expr): a read-only attribute computed by SQL (a
--- correlated count, a concatenation), loaded with the row.
function M.column_property(expr)
  if type(expr) ~= "table" or not expr._is_clause then
    exc.raise(exc.ArgumentError, "column_property: expected a SQL expression", nil, 2)
  end
  if expr._k == SELECT then expr = expr:scalar_subquery() end
  return setmetatable({expr = expr}, ColumnPropertySpec)
end

local Validator = {_is_validator = true}
Validator.__index = Validator

--- orm.validates(names, fn): fn(obj, key, value) runs on every assignment to
--- those attributes (each member for a collection) and returns the value to
--- store, or raises.
function M.validates(names, fn)
  if type(names) == "string" then names = {names} end
  if type(names) ~= "table" or #names == 0 or type(fn) ~= "function" then
    exc.raise(exc.ArgumentError, "validates: expected attribute name(s) and a function", nil, 2)
  end
  return setmetatable({keys = names, fn = fn}, Validator)
end

--- orm.deferred(type, ...): mapped_column(..., {deferred = true}): a column
--- loaded on first access instead of with the row.
function M.deferred(...)
  local mc = M.mapped_column(...)
  local args = mc.args
  local last = args[args.n]
  if args.n > 0 and type(last) == "table" and getmetatable(last) == nil then
    last.deferred = true
  else
    args.n = args.n + 1
    args[args.n] = {deferred = true}
  end
  return mc
end

--- orm.association_proxy(collection, attr, {creator = fn(value)}): the
--- values of attr across the objects of a collection, as a list (a fresh
--- one on each read); assigning a list of values replaces the collection
--- with objects made by creator.
local PROXY_OPTIONS = {creator = true}
local REGISTRY_OPTIONS = {metadata = true}

function M.association_proxy(collection, attr, opts)
  if type(collection) ~= "string" or type(attr) ~= "string" then
    exc.raise(exc.ArgumentError, "association_proxy: expected the collection and attribute names", nil, 2)
  end
  util.check_options("association_proxy", opts, PROXY_OPTIONS, 2)
  local creator = opts and opts.creator
  return hybrid.hybrid_property(function(self)
    local out = {}
    local list = self[collection]
    if list == nil then return out end
    for i, o in ipairs(list) do out[i] = o[attr] end
    return out
  end, {setter = function(self, values)
    if not creator then
      exc.raise(exc.ArgumentError, format("association_proxy '%s.%s' has no creator", collection, attr), nil, 3)
    end
    local objs = {}
    for i, v in ipairs(values or {}) do objs[i] = creator(v) end
    self[collection] = objs
  end})
end

--- orm.synonym(name): another name for a mapped attribute, on instances and
--- in SQL.
function M.synonym(name)
  if type(name) ~= "string" then
    exc.raise(exc.ArgumentError, "synonym: expected the name of a mapped attribute", nil, 2)
  end
  return hybrid.hybrid_property(function(self) return self[name] end, {
    setter = function(self, v) self[name] = v end,
    expression = function(cls) return cls[name] end,
  })
end

-- the registry -------------------------------------------------------------------------------

---@class quicksilver.orm.Registry
local Registry = {}
Registry.__index = Registry
Registry.__name = "registry"
M.Registry = Registry

--- A registry: the classes mapped through it, by name, and their metadata.
function M.registry(opts)
  opts = util.check_options("registry", opts, REGISTRY_OPTIONS, 3)
  return setmetatable({metadata = opts.metadata or schema.metadata(), classes = {}, mappers = {},
    configured = true}, Registry)
end

--- The class registered under name, or an InvalidRequestError naming it.
function Registry:resolve_class(name, context)
  local cls = self.classes[name]
  if not cls then
    local known = {}
    for k in pairs(self.classes) do known[#known + 1] = k end
    sort(known)
    exc.raise(exc.InvalidRequestError, format("%s: no class named '%s' in the registry%s (known: %s)",
      context or "relationship", tostring(name), type(name) == "string" and util.did_you_mean(name, known) or "",
      #known > 0 and table.concat(known, ", ") or "none"), nil, 3)
  end
  return cls
end

--- "Model.attr" (a mapped column) or "table.column" to a Column.
function Registry:resolve_column(spec, context)
  if type(spec) ~= "string" then return spec end
  local left, right = spec:match("^([%w_]+)%.([%w_]+)$")
  if not left then
    exc.raise(exc.ArgumentError, format("%s: '%s' is not of the form Model.attribute or table.column",
      context, spec), nil, 3)
  end
  local cls = self.classes[left]
  if cls then
    local m = rawget(cls, "__mapper__")
    local p = m.props[right]
    if not (p and p.is_column) then
      exc.raise(exc.InvalidRequestError, format("%s: %s has no mapped column attribute '%s'", context,
        left, right), nil, 3)
    end
    return p.column
  end
  local t = self.metadata.tables[left]
  if t then
    local c = rawget(t.c, right)
    if c then return c end
    exc.raise(exc.InvalidRequestError, format("%s: table '%s' has no column '%s'", context, left, right), nil, 3)
  end
  exc.raise(exc.InvalidRequestError, format("%s: '%s' names neither a mapped class nor a table", context, left), nil, 3)
end

--- Resolves every relationship's target and join columns (once per batch of
--- new models: forward references work because this runs at first use).
function Registry:configure()
  if self.configured then return end
  if self._configuring then return end
  self._configuring = true
  local ok, err = pcall(function()
    for _, m in ipairs(self.mappers) do
      for _, rel in ipairs(m.relationships) do
        if rel.parent == m and not rel.configured then rel:configure() end
      end
    end
    for _, m in ipairs(self.mappers) do
      for _, rel in ipairs(m.relationships) do
        if rel.parent == m and not rel.linked then rel:link() end
      end
    end
    for _, m in ipairs(self.mappers) do
      m:_compute_select_columns()
      m._eager_after = nil
    end
    for _, m in ipairs(self.mappers) do
      if m.with_polymorphic then polymorphic.apply_mapper_default(m) end
    end
  end)
  self._configuring = false
  if not ok then error(err, 0) end
  self.configured = true
end

-- declarative_base ---------------------------------------------------------------------------

local RESERVED = {model = true, metadata = true, registry = true}
local SPEC_KEYS = {__tablename = true, __table_args = true, __mapper_args = true, __tostring = true,
  __init = true, __table = true, __mixins = true, __abstract = true}
-- primary_key (a mapper key other than the table's) is not supported and
-- is refused; eager_defaults only as this flush behaves (false: server-set
-- values are expired and loaded on access).
local MAPPER_ARGS = util.set({"polymorphic_on", "polymorphic_identity", "version_id_col", "eager_defaults",
  "concrete", "concrete_base", "with_polymorphic"})

local function is_relationship(v) return type(v) == "table" and rawget(v, "_is_relationship_spec") end

-- Splits __table_args into schema items and a trailing options table.
local function table_args(args, name)
  local items, opts = {}, nil
  if args == nil then return items, opts end
  if type(args) ~= "table" then
    exc.raise(exc.ArgumentError, format("%s: __table_args must be a table", name), nil, 4)
  end
  for i = 1, #args do
    local a = args[i]
    if type(a) == "table" and (a._is_constraint or a._is_index) then
      items[#items + 1] = a
    elseif type(a) == "table" and i == #args and getmetatable(a) == nil then
      opts = a
    else
      exc.raise(exc.ArgumentError, format("%s: __table_args holds constraints, indexes and a " ..
        "trailing options table, got %s", name, tostring(a)), nil, 4)
    end
  end
  for k, v in pairs(args) do
    if type(k) == "string" then opts = opts or {}; opts[k] = v end
  end
  return items, opts
end

-- The mapped_column entries of a spec, in creation order.
local function ordered_columns(spec)
  local cols = {}
  for k, v in pairs(spec) do
    if type(v) == "table" and getmetatable(v) == MappedColumn then cols[#cols + 1] = {key = k, mc = v} end
  end
  sort(cols, function(a, b) return a.mc.order < b.mc.order end)
  return cols
end

-- mapped_column options that are the ORM's, not the Column's.
local ORM_COLUMN_OPTIONS = {deferred = true, deferred_group = true}

local function orm_option(mc, name)
  local args = mc.args
  local last = args[args.n]
  if args.n > 0 and type(last) == "table" and getmetatable(last) == nil then return last[name] end
  return nil
end

local function make_column(name, key, mc)
  local args = mc.args
  local opts
  local last = args[args.n]
  if args.n > 0 and type(last) == "table" and getmetatable(last) == nil then opts = last end
  local cargs = {}
  for i = 1, args.n do
    if args[i] ~= opts then cargs[#cargs + 1] = args[i] end
  end
  local o = {}
  if opts then
    for k, v in pairs(opts) do
      if not ORM_COLUMN_OPTIONS[k] then o[k] = v end
    end
  end
  -- as SQLAlchemy: a column named apart from its attribute keeps its own
  -- name as its key (Model.__table__.c.db_name); the mapper maps it by column
  if o.key == nil and not mc.name then o.key = key end
  cargs[#cargs + 1] = o
  local unpack_ = table.unpack or unpack
  return schema.column(mc.name or name, unpack_(cargs))
end

-- The model's own table: its mapped_columns, then __table_args.
local function new_table(registry, name, tname, spec, columns)
  local items, topts = table_args(spec.__table_args, "model " .. name)
  local cols = {}
  for i, c in ipairs(columns) do cols[i] = make_column(c.key, c.key, c.mc) end
  local targs = {}
  for _, c in ipairs(cols) do targs[#targs + 1] = c end
  for _, it in ipairs(items) do targs[#targs + 1] = it end
  targs[#targs + 1] = topts or {}
  local unpack_ = table.unpack or unpack
  return schema.table(tname, registry.metadata, unpack_(targs)), cols
end

-- The class name and the spec's keys, before anything is made.
local function check_spec(registry, name, spec)
  if type(name) ~= "string" or not name:match("^[%a_][%w_]*$") then
    exc.raise(exc.ArgumentError, "model: the class name must be an identifier string", nil, 4)
  end
  if type(spec) ~= "table" then
    exc.raise(exc.ArgumentError, format("model %s: the spec must be a table", name), nil, 4)
  end
  if registry.classes[name] then
    exc.raise(exc.InvalidRequestError, format("model %s: a class of that name is already in this registry", name), nil, 4)
  end
  for k in pairs(spec) do
    if type(k) ~= "string" then
      exc.raise(exc.ArgumentError, format("model %s: spec keys must be attribute names", name), nil, 4)
    end
    if RESERVED[k] then
      exc.raise(exc.ArgumentError, format("model %s: '%s' is a reserved attribute name", name, k), nil, 4)
    end
    if k:sub(1, 2) == "__" and not SPEC_KEYS[k] then
      exc.raise(exc.ArgumentError, format("model %s: unknown spec key '%s' (names starting with __ are reserved)",
        name, k), nil, 4)
    end
  end
end

-- The spec's __mapper_args, checked.
local function mapper_args(name, spec)
  local margs = util.check_options(format("model %s: __mapper_args", name), spec.__mapper_args, MAPPER_ARGS, 4)
  if margs.eager_defaults ~= nil and margs.eager_defaults ~= false then
    exc.raise(exc.ArgumentError, format("model %s: __mapper_args eager_defaults can only be false (server-set " ..
      "values are expired after the flush and loaded on access)", name), nil, 4)
  end
  return margs
end

-- Maps a mapped_column's Column under key, with its deferred loading
-- options (deferred, deferred_group: a group is deferred too).
local function map_column(m, key, col, mc)
  local p = m:_add_column_prop(key, col)
  p.group = orm_option(mc, "deferred_group")
  p.deferred = (orm_option(mc, "deferred") or p.group) and true or nil
  return p
end

-- The parent's column attribute each primary key column of a joined
-- subclass's table refers to (by ForeignKey), or an error naming the column.
local function joined_pk_refs(name, tbl, parent_mapper)
  local pk_refs = {}
  for _, c in ipairs(tbl:primary_key_columns()) do
    local ref
    for _, fk in ipairs(c.foreign_keys) do
      local ok, target = pcall(fk.get_column, fk)
      if ok and target and parent_mapper.col_attr[target] then ref = target end
    end
    if not ref then
      exc.raise(exc.ArgumentError, format("model %s: a joined-table subclass's primary key column '%s' " ..
        "must be a ForeignKey to the parent's primary key", name, c.name), nil, 5)
    end
    pk_refs[c] = parent_mapper.col_attr[ref]
  end
  return pk_refs
end

-- Joined-table inheritance: the subclass's own table, whose primary key
-- references the parent's; rows are read through parent JOIN child.
local function map_joined(registry, cls, name, spec, columns, parent_mapper)
  local tbl, cols = new_table(registry, name, spec.__tablename, spec, columns)
  local m = mapper_mod.new(registry, cls, name, tbl, parent_mapper)
  local pk_refs = joined_pk_refs(name, tbl, parent_mapper)
  local on = {}
  for i, c in ipairs(columns) do
    local col = cols[i]
    if pk_refs[col] then
      m:_add_pk_alias(pk_refs[col], col)
      local ref_col = parent_mapper.props[pk_refs[col]].column
      on[#on + 1] = ref_col:eq(col)
    else
      if parent_mapper.props[c.key] then
        exc.raise(exc.ArgumentError, format("model %s: column '%s' is already mapped by %s", name, c.key,
          parent_mapper.class_name), nil, 4)
      end
      map_column(m, c.key, col, c.mc)
    end
  end
  m.persist_from = parent_mapper.persist_from:join(tbl, #on == 1 and on[1] or elements.and_((table.unpack or unpack)(on)))
  m.joined = true
  return m, tbl
end

-- Single-table inheritance: the subclass's columns join the parent's table.
local function map_single(registry, cls, name, columns, parent_mapper)
  local tbl = parent_mapper.local_table
  local m = mapper_mod.new(registry, cls, name, tbl, parent_mapper)
  for _, c in ipairs(columns) do
    local col = make_column(c.key, c.key, c.mc)
    if col.primary_key then
      exc.raise(exc.ArgumentError, format("model %s: a single-table subclass cannot add primary key columns", name), nil, 4)
    end
    col.nullable = true   -- rows of other classes leave it NULL
    tbl:append_column(col)
    map_column(m, c.key, col, c.mc)
  end
  return m, tbl
end

-- An existing Table (reflected, or declared with Core): every column mapped
-- under its key; no mapped_columns beside it.
local function map_existing_table(registry, cls, name, spec, columns)
  local tbl = spec.__table
  if type(tbl) ~= "table" or not tbl.columns or not tbl.primary_key then
    exc.raise(exc.ArgumentError, format("model %s: __table must be a qs.Table", name), nil, 4)
  end
  if #columns > 0 then
    exc.raise(exc.ArgumentError, format("model %s: give __table or mapped_columns, not both", name), nil, 4)
  end
  local m = mapper_mod.new(registry, cls, name, tbl, nil)
  for _, col in ipairs(tbl.columns) do
    if RESERVED[col.key] then
      exc.raise(exc.ArgumentError, format("model %s: column '%s' has a reserved attribute name", name,
        col.key), nil, 4)
    end
    m:_add_column_prop(col.key, col)
  end
  return m, tbl
end

-- A base model with its own table from __tablename and its mapped_columns.
local function map_own_table(registry, cls, name, spec, columns)
  local tname = spec.__tablename
  if type(tname) ~= "string" or tname == "" then
    exc.raise(exc.ArgumentError, format("model %s: __tablename is required (a non-empty string)", name), nil, 4)
  end
  local tbl, cols = new_table(registry, name, tname, spec, columns)
  local m = mapper_mod.new(registry, cls, name, tbl, nil)
  for i, c in ipairs(columns) do map_column(m, c.key, cols[i], c.mc) end
  return m, tbl
end

-- The mapper and table of the new class, by the form of inheritance.
local function map_table(registry, cls, name, spec, parent_mapper)
  local columns = ordered_columns(spec)
  local m, tbl
  local margs = spec.__mapper_args
  if parent_mapper and margs and margs.concrete then
    -- concrete: a mapper of its own over its own table, attached to the
    -- parent's hierarchy (orm/concrete.lua)
    concrete.root_of(parent_mapper, name)
    m, tbl = map_own_table(registry, cls, name, spec, columns)
    concrete.attach(m, parent_mapper, name)
  elseif parent_mapper and parent_mapper.concrete_base or parent_mapper and parent_mapper.concrete then
    exc.raise(exc.ArgumentError, format("model %s: a subclass of the concrete hierarchy of %s must be mapped " ..
      "with __mapper_args concrete = true and its own __tablename", name, parent_mapper.class_name), nil, 4)
  elseif parent_mapper and spec.__tablename then
    m, tbl = map_joined(registry, cls, name, spec, columns, parent_mapper)
  elseif parent_mapper then
    m, tbl = map_single(registry, cls, name, columns, parent_mapper)
  elseif spec.__table ~= nil then
    m, tbl = map_existing_table(registry, cls, name, spec, columns)
  else
    m, tbl = map_own_table(registry, cls, name, spec, columns)
  end
  if m.joined then
    m.pk_cols, m.pk_keys, m.primary_key = parent_mapper.pk_cols, parent_mapper.pk_keys, parent_mapper.pk_cols
  else
    m:_set_primary_key()
  end
  return m, tbl
end

-- The mapped column property a __mapper_args entry names (its key or its
-- Column), or an error naming the option.
local function mapped_column_prop(m, name, option, v)
  local key = type(v) == "string" and v or m.col_attr[v]
  local p = key and m.props[key]
  if not (p and p.is_column) then
    exc.raise(exc.ArgumentError, format("model %s: %s '%s' is not a mapped column", name, option,
      tostring(v)), nil, 5)
  end
  return p
end

-- polymorphic_on given as a SQL expression (or a function of the class
-- returning one, since a spec's columns exist only once it is mapped) that
-- is not a mapped column: the discriminator computed in the SELECT
-- (mapper.lua's expression discriminator), never written by the flush.
local function polymorphic_expr(m, name, v)
  if type(v) == "function" then v = v(m.class) end
  if type(v) ~= "table" or not v._is_clause or m.col_attr[v] then
    if type(v) ~= "string" and not (type(v) == "table" and m.col_attr[v]) then
      exc.raise(exc.ArgumentError, format("model %s: polymorphic_on must be a mapped column, its name or a " ..
        "SQL expression, got %s", name, tostring(v)), nil, 5)
    end
    return nil
  end
  return mapper_mod.expression_discriminator(v)
end

-- polymorphic_on (on the base class) and polymorphic_identity.
local function set_polymorphism(m, name, margs, parent_mapper)
  if margs.concrete ~= nil and margs.concrete ~= true and margs.concrete ~= false then
    exc.raise(exc.ArgumentError, format("model %s: __mapper_args concrete must be true or false", name), nil, 4)
  end
  if margs.concrete and not parent_mapper then
    exc.raise(exc.ArgumentError, format("model %s: concrete = true is for a subclass (the base class takes " ..
      "concrete_base = true)", name), nil, 4)
  end
  if margs.concrete_base ~= nil then
    local cb = margs.concrete_base
    if cb ~= true and (type(cb) ~= "string" or cb == "") then
      exc.raise(exc.ArgumentError, format("model %s: __mapper_args concrete_base must be true or the " ..
        "discriminator column's name", name), nil, 4)
    end
    if parent_mapper or margs.polymorphic_on ~= nil then
      exc.raise(exc.ArgumentError, format("model %s: concrete_base is for a base class without polymorphic_on " ..
        "(the union's discriminator is its own)", name), nil, 4)
    end
    m.concrete_base = cb
    m.polymorphic_map = {}
  end
  local wpoly = margs.with_polymorphic
  if wpoly ~= nil then
    if parent_mapper then
      exc.raise(exc.ArgumentError, format("model %s: with_polymorphic is set on the base class only", name), nil, 4)
    end
    if m.concrete_base then
      -- {"*", union}: the union the concrete base loads through, given
      if type(wpoly) ~= "table" or wpoly[1] ~= "*" or wpoly[2] == nil then
        exc.raise(exc.ArgumentError, format("model %s: a concrete base's with_polymorphic is {\"*\", " ..
          "orm.polymorphic_union(...)} (or a function returning the union)", name), nil, 4)
      end
      m.with_polymorphic_union = wpoly[2]
    else
      if not (wpoly == "*" or type(wpoly) == "function" or (type(wpoly) == "table" and (wpoly[1] ~= nil))) then
        exc.raise(exc.ArgumentError, format("model %s: with_polymorphic must be \"*\", a list of " ..
          "subclasses (or their names) or a function returning one", name), nil, 4)
      end
      if type(wpoly) == "table" and wpoly[2] ~= nil and wpoly[1] == "*" then
        exc.raise(exc.ArgumentError, format("model %s: with_polymorphic's selectable (a union) is for a " ..
          "concrete_base class", name), nil, 4)
      end
      if not m.polymorphic_on and margs.polymorphic_on == nil then
        exc.raise(exc.ArgumentError, format("model %s: with_polymorphic needs polymorphic_on", name), nil, 4)
      end
      m.with_polymorphic = wpoly
    end
  end
  if m.concrete or m.concrete_base then
    local root = m.concrete_root or m
    local identity = margs.polymorphic_identity
    if identity ~= nil then
      if root.polymorphic_map[identity] then
        exc.raise(exc.ArgumentError, format("model %s: polymorphic_identity %s is already used by %s", name,
          tostring(identity), root.polymorphic_map[identity].class_name), nil, 4)
      end
      m.polymorphic_identity = identity
      root.polymorphic_map[identity] = m
    end
    return
  end
  if margs.polymorphic_on ~= nil then
    if parent_mapper and parent_mapper.polymorphic_on then
      exc.raise(exc.ArgumentError, format("model %s: polymorphic_on is set on the base class only", name), nil, 4)
    end
    m.polymorphic_on = polymorphic_expr(m, name, margs.polymorphic_on) or
      mapped_column_prop(m, name, "polymorphic_on", margs.polymorphic_on)
    m.polymorphic_map = {}
  end
  local identity = margs.polymorphic_identity
  if identity ~= nil then
    if not m.polymorphic_on then
      exc.raise(exc.ArgumentError, format("model %s: polymorphic_identity needs polymorphic_on on the base class", name), nil, 4)
    end
    if m.polymorphic_map[identity] then
      exc.raise(exc.ArgumentError, format("model %s: polymorphic_identity %s is already used by %s", name,
        tostring(identity), m.polymorphic_map[identity].class_name), nil, 4)
    end
    m.polymorphic_identity = identity
    m.polymorphic_map[identity] = m
  end
end

-- Optimistic locking: version_id_col, or the parent's.
local function set_version(m, name, margs, parent_mapper)
  if margs.version_id_col ~= nil then
    m.version_prop = mapped_column_prop(m, name, "version_id_col", margs.version_id_col)
  elseif parent_mapper then
    m.version_prop = parent_mapper.version_prop
  end
end

local function is_column_property(v)
  return type(v) == "table" and getmetatable(v) and rawget(getmetatable(v), "_is_column_property")
end

-- The spec's relationships, in the order they were written.
local function add_relationships(m, name, spec)
  local rels = {}
  for k, v in pairs(spec) do
    if is_relationship(v) then rels[#rels + 1] = {key = k, spec = v} end
  end
  sort(rels, function(a, b) return a.spec.order < b.spec.order end)
  for _, r in ipairs(rels) do
    if m.props[r.key] then
      exc.raise(exc.ArgumentError, format("model %s: '%s' is both a column and a relationship", name, r.key), nil, 4)
    end
    m:_add_relationship(relationships.new_property(m, r.key, r.spec))
  end
end

-- The spec's column_property entries, by name.
local function add_column_properties(m, spec)
  local cprops = {}
  for k, v in pairs(spec) do
    if is_column_property(v) then cprops[#cprops + 1] = k end
  end
  sort(cprops)
  for _, k in ipairs(cprops) do m:_add_expr_prop(k, spec[k].expr) end
end

-- Everything else of the spec goes on the class: hybrids, validators (both
-- register through the class's __newindex), methods, __init, plain values.
local function set_class_attributes(cls, spec)
  for k, v in pairs(spec) do
    if not SPEC_KEYS[k] or k == "__init" then
      local is_mc = type(v) == "table" and getmetatable(v) == MappedColumn
      if not is_mc and not is_column_property(v) and not is_relationship(v) then
        cls[k] = v
      end
    end
  end
end

local function model(parent, name, spec, opts)
  local is_base = rawget(parent, "__is_base__")
  local registry = rawget(parent, "registry") or parent.registry
  check_spec(registry, name, spec)
  -- mixins and abstract bases (orm/mixins.lua): one merged spec
  if spec.__abstract then return mixins.abstract_class(mapper_mod.ClassMeta, parent, name, spec, opts) end
  local mixed = mixins.applies(parent, spec, opts)
  local margs = mapper_args(name, spec)
  local parent_mapper = not is_base and rawget(parent, "__mapper__") or nil
  local cls = setmetatable({__name = name, __parent__ = parent}, mapper_mod.ClassMeta)
  if mixed then
    spec = mixins.resolve(cls, parent, name, spec, opts)
    margs = mapper_args(name, spec)
  end
  local m, tbl = map_table(registry, cls, name, spec, parent_mapper)
  rawset(cls, "__mapper__", m)
  rawset(cls, "__table__", tbl)
  rawset(cls, "__tablename", tbl.name)
  set_polymorphism(m, name, margs, parent_mapper)
  set_version(m, name, margs, parent_mapper)
  add_relationships(m, name, spec)
  add_column_properties(m, spec)
  m.instance_mt = attributes.instance_metatable(m)
  if spec.__tostring then m.tostring_fn = spec.__tostring end
  set_class_attributes(cls, spec)
  registry.classes[name] = cls
  registry.mappers[#registry.mappers + 1] = m
  registry.configured = false
  return cls
end

--- orm.declarative_base({metadata = md}) -> Base, whose `Base:model(name,
--- spec)` maps a class; Base.metadata holds the tables, Base.registry the
--- classes.
function M.declarative_base(opts)
  local registry = M.registry(opts)
  local base = setmetatable({__is_base__ = true, __name = "Base", __parent__ = mapper_mod.ModelBase,
    metadata = registry.metadata, registry = registry}, mapper_mod.ClassMeta)
  registry.base = base
  return base
end

--- Base:model(name, spec, {mixins = {...}}) and Model:model(name, spec)
--- (a subclass); spec.__abstract = true makes an abstract base (orm/mixins.lua).
function mapper_mod.ModelBase.model(parent, name, spec, opts)
  return model(parent, name, spec, opts)
end

return M
