--- orm/relationships.lua: relationship() and backref() (SQLAlchemy's
--- orm/relationships.py): the target, the direction and column pairs found
--- from foreign keys, cascades, the lazy loader, and the class attribute
--- used in joins and loader options.
local exc = require("quicksilver.exc")
local elements = require("quicksilver.sql.elements")
local selectable = require("quicksilver.sql.selectable")
local attributes = require("quicksilver.orm.attributes")
local visitors = require("quicksilver.sql.visitors")
local core = require("quicksilver.core")
local util = require("quicksilver.util")
local aliased_mod = require("quicksilver.orm.aliased")
local annotations = require("quicksilver.orm.annotations")
local criteria = require("quicksilver.orm.criteria")
local collections = require("quicksilver.orm.collections")
local writeonly = require("quicksilver.orm.writeonly")
local nplusone = require("quicksilver.orm.nplusone")
require("quicksilver.orm.dynamic")   -- registers the AppenderQuery methods with writeonly

local M = {}

local type, rawget, setmetatable, pairs, ipairs, format, tostring =
  type, rawget, setmetatable, pairs, ipairs, string.format, tostring
local STATE = attributes.STATE
local unpack = table.unpack or unpack

M.ONETOMANY, M.MANYTOONE, M.MANYTOMANY = "ONETOMANY", "MANYTOONE", "MANYTOMANY"
local rel_ids = 0

-- single_parent and innerjoin are not supported: refused by name, not
-- ignored; cascade_backrefs only as SQLAlchemy 2.0 has it (false).
local OPTIONS = util.set({"back_populates", "backref", "secondary", "uselist",
  "order_by", "cascade", "passive_deletes", "lazy", "foreign_keys",
  "primaryjoin", "secondaryjoin", "remote_side", "post_update",
  "viewonly", "cascade_backrefs", "collection_class"})
-- options of relationships that the next ORM issue builds (many-to-many,
-- custom join conditions, post_update): refused by name rather than ignored
local NOT_YET = {}
local LAZY = {select = true, raise = true, noload = true, joined = true, selectin = true,
  subquery = true, raise_on_sql = true, ["true"] = true, write_only = true, dynamic = true}

local spec_counter = 0

--- orm.relationship(target, {options}): target is a class, its name, or a
--- function returning the class.
function M.relationship(target, opts)
  if type(target) ~= "string" and type(target) ~= "table" and type(target) ~= "function" then
    exc.raise(exc.ArgumentError, "relationship: the target must be a class, a class name or a function", nil, 2)
  end
  opts = util.check_options("relationship", opts, OPTIONS, 2)
  if opts.cascade_backrefs then
    exc.raise(exc.ArgumentError, "relationship: cascade_backrefs = true is gone in SQLAlchemy 2.0 (only false)", nil, 2)
  end
  if opts.lazy ~= nil and not LAZY[tostring(opts.lazy)] then
    exc.raise(exc.ArgumentError, format("relationship: lazy must be one of select, joined, selectin, " ..
      "subquery, raise, raise_on_sql, noload, write_only, dynamic; got %s", tostring(opts.lazy)), nil, 2)
  end
  spec_counter = spec_counter + 1
  return {_is_relationship_spec = true, target = target, opts = opts, order = spec_counter}
end

--- orm.backref(name, {options}): a relationship made on the target pointing
--- back, for relationship's `backref` option.
function M.backref(name, opts)
  if type(name) ~= "string" then
    exc.raise(exc.ArgumentError, "backref: the name must be a string", nil, 2)
  end
  return {_is_backref = true, name = name, opts = util.check_options("backref", opts, OPTIONS, 2)}
end

-- cascades --------------------------------------------------------------------------------

local CASCADES = {["save-update"] = true, merge = true, delete = true, ["delete-orphan"] = true,
  ["refresh-expire"] = true, expunge = true}
local ALL = {"save-update", "merge", "refresh-expire", "expunge", "delete"}

--- "all, delete-orphan" -> {["save-update"] = true, ...}
function M.parse_cascade(s, context)
  local out = {}
  if s == nil then
    out["save-update"], out.merge = true, true
    return out
  end
  if type(s) ~= "string" then
    exc.raise(exc.ArgumentError, context .. ": cascade must be a string such as 'all, delete-orphan'", nil, 4)
  end
  for word in s:gmatch("[^,%s]+") do
    if word == "all" then
      for _, w in ipairs(ALL) do out[w] = true end
    elseif word == "none" then
      -- nothing
    elseif CASCADES[word] then
      out[word] = true
    else
      exc.raise(exc.ArgumentError, format("%s: unknown cascade '%s' (known: all, none, save-update, merge, " ..
        "delete, delete-orphan, refresh-expire, expunge)", context, word), nil, 4)
    end
  end
  if out["delete-orphan"] and not out.delete then
    exc.raise(exc.ArgumentError, context .. ": cascade delete-orphan needs delete too ('all, delete-orphan')", nil, 4)
  end
  return out
end

-- the property ----------------------------------------------------------------------------

---@class quicksilver.orm.RelationshipProperty
local Rel = {}
Rel.__index = Rel
Rel.__name = "RelationshipProperty"
Rel.is_column = false
M.RelationshipProperty = Rel

Rel.__tostring = function(r) return "<relationship " .. r:describe() .. ">" end

function Rel:describe() return self.parent.class_name .. "." .. self.key end

---@class quicksilver.orm.RelationshipAttribute
local RelAttr = {}
RelAttr.__index = RelAttr
RelAttr.__name = "RelationshipAttribute"
RelAttr._is_rel_attr = true
M.RelationshipAttribute = RelAttr

RelAttr.__tostring = function(a) return a.prop.parent.class_name .. "." .. a.prop.key end

-- The attribute seen from an aliased parent (orm.aliased(User).addresses).
function RelAttr:_from(aliased)
  return setmetatable({prop = self.prop, _parent_from = rawget(aliased, "_alias"),
    _target_from = self._target_from}, RelAttr)
end

--- User.addresses:of_type(orm.aliased(Address)): joins reach the alias.
function RelAttr:of_type(aliased)
  local m, alias = aliased_mod.inspect_aliased(aliased)
  if not m or not m:isa(self.prop.target) then
    exc.raise(exc.ArgumentError, format("of_type(): expected orm.aliased(%s)", self.prop.target.class_name), nil, 2)
  end
  return setmetatable({prop = self.prop, _parent_from = self._parent_from, _target_from = alias}, RelAttr)
end

--- join(User.addresses): the target table and the ON clause (through the
--- association table for a many-to-many: two joins).
function RelAttr:__join_target__()
  local rel = self.prop
  rel.parent.registry:configure()
  local target = self._target_from or rel.target.local_table
  if rel.secondary then
    local sec = self._parent_from or self._target_from and rel.secondary:alias() or rel.secondary
    local on1, on2 = rel:secondary_conditions(self._parent_from, sec, self._target_from)
    return sec, on1, {{target, on2}}
  end
  return target, rel:join_condition(self._parent_from, self._target_from)
end

-- criteria along the relationship -----------------------------------------------------

-- The correlated EXISTS for any()/has(): the relationship's join
-- condition plus the caller's criteria.
local function exists_along(rel, crit, what)
  rel.parent.registry:configure()
  local conds
  local froms
  if rel.secondary then
    local on1, on2 = rel:secondary_conditions()
    conds = {on1, on2}
  else
    conds = {rel:join_condition()}
  end
  if crit ~= nil then
    if type(crit) ~= "table" or not crit._is_clause then
      exc.raise(exc.ArgumentError, format("%s: expected a SQL criterion (use col:eq())", what), nil, 4)
    end
    conds[#conds + 1] = crit
  end
  froms = rel.secondary and {rel.secondary, rel.target.local_table} or {rel.target.local_table}
  local sub = selectable.select(elements.literal_column("1")):select_from(unpack(froms)):where(unpack(conds))
  return selectable.exists(sub)
end

--- User.addresses:any(criterion?): EXISTS a related row (matching).
function RelAttr:any(crit)
  if not self.prop.uselist then
    exc.raise(exc.InvalidRequestError, format("any(): %s is not a collection; use has()", tostring(self)), nil, 2)
  end
  return exists_along(self.prop, crit, "any()")
end

--- Address.user:has(criterion?): EXISTS the related row (matching).
function RelAttr:has(crit)
  if self.prop.uselist then
    exc.raise(exc.InvalidRequestError, format("has(): %s is a collection; use any()", tostring(self)), nil, 2)
  end
  return exists_along(self.prop, crit, "has()")
end

-- The foreign key values obj gives this many-to-one (nil when obj is nil).
local function m2o_values(rel, obj)
  local st = rawget(obj, STATE)
  if not st then
    exc.raise(exc.ArgumentError, format("%s: compare with an instance of %s", rel:describe(), rel.target.class_name), nil, 4)
  end
  local conds = {}
  for i, p in ipairs(rel.pairs) do
    local v = rawget(st.dict, p.remote_key)
    if v == nil then v = attributes.get_column(st, p.remote_key) end
    conds[i] = p.local_col:eq(v)
  end
  return conds
end

--- Address.user:eq(u): the many-to-one's foreign key equals u's key
--- (eq(nil): IS NULL).
function RelAttr:eq(obj)
  local rel = self.prop
  rel.parent.registry:configure()
  if rel.direction ~= M.MANYTOONE then
    exc.raise(exc.InvalidRequestError, format("%s:eq() compares a many-to-one; use contains() or any() " ..
      "for collections", tostring(self)), nil, 2)
  end
  if obj == nil or obj == elements.null then
    local conds = {}
    for i, p in ipairs(rel.pairs) do conds[i] = p.local_col:eq(nil) end
    return #conds == 1 and conds[1] or elements.and_(unpack(conds))
  end
  local conds = m2o_values(rel, obj)
  return #conds == 1 and conds[1] or elements.and_(unpack(conds))
end

function RelAttr:ne(obj)
  return elements.not_(self:eq(obj))
end

--- User.addresses:contains(a): the parent row a belongs to.
function RelAttr:contains(obj)
  local rel = self.prop
  rel.parent.registry:configure()
  if not rel.uselist then
    exc.raise(exc.InvalidRequestError, format("contains(): %s is not a collection", tostring(self)), nil, 2)
  end
  local st = rawget(obj or {}, STATE)
  if not st then
    exc.raise(exc.ArgumentError, format("%s:contains(): expected an instance of %s", tostring(self),
      rel.target.class_name), nil, 2)
  end
  if rel.secondary then
    local conds = {}
    for _, r in ipairs(rel.sec_remote) do
      local v = rawget(st.dict, r.key)
      if v == nil then v = attributes.get_column(st, r.key) end
      conds[#conds + 1] = r.sec_col:eq(v)
    end
    return exists_along(rel, #conds == 1 and conds[1] or elements.and_(unpack(conds)), "contains()")
  end
  local conds = {}
  for i, p in ipairs(rel.pairs) do
    local v = rawget(st.dict, p.remote_key)
    if v == nil then v = attributes.get_column(st, p.remote_key) end
    conds[i] = p.local_col:eq(v)
  end
  return #conds == 1 and conds[1] or elements.and_(unpack(conds))
end

--- The property for key on mapper, from a relationship() spec.
function M.new_property(mapper, key, spec)
  local opts = spec.opts
  for name, what in pairs(NOT_YET) do
    if opts[name] ~= nil then
      exc.raise(exc.InvalidRequestError, format("relationship %s.%s: %s is not supported yet",
        mapper.class_name, key, what), nil, 4)
    end
  end
  rel_ids = rel_ids + 1
  local rel = setmetatable({parent = mapper, key = key, target_spec = spec.target, opts = opts, id = rel_ids,
    lazy = opts.lazy == nil and "select" or tostring(opts.lazy),
    passive_deletes = opts.passive_deletes or false,
    post_update = opts.post_update and true or false,
    viewonly = opts.viewonly or false,
    -- raw fields (false, not absent): read on a collection's first access
    -- and at its assignment; a missing one would go through Rel
    wo_get = false, wo_set = false}, Rel)
  rel.cascade = M.parse_cascade(opts.cascade, "relationship " .. mapper.class_name .. "." .. key)
  if opts.collection_class ~= nil then
    -- a set, keyed dictionary or ordered list (orm/collections.lua); nil: the plain list
    rel.collection = collections.resolve(opts.collection_class, "relationship " .. mapper.class_name .. "." .. key)
  end
  if writeonly.KINDS[rel.lazy] then
    if rel.collection then
      exc.raise(exc.ArgumentError, format("relationship %s.%s: collection_class does not apply to lazy = '%s' " ..
        "(its members are never loaded into a collection)", mapper.class_name, key, rel.lazy), nil, 4)
    end
    -- never loaded: obj.rel is a handle (orm/writeonly.lua, orm/dynamic.lua)
    rel.wo, rel.wo_get, rel.wo_set = rel.lazy, writeonly.get, writeonly.set
  end
  rel.class_attr = setmetatable({prop = rel}, RelAttr)
  return rel
end

local function resolve_target(rel)
  local t = rel.target_spec
  local reg = rel.parent.registry
  if type(t) == "function" then t = t() end
  if type(t) == "string" then t = reg:resolve_class(t, "relationship " .. rel:describe()) end
  local m = type(t) == "table" and rawget(t, "__mapper__")
  if not m then
    exc.raise(exc.ArgumentError, format("relationship %s: the target is not a mapped class", rel:describe()), nil, 4)
  end
  return m
end

-- A set of columns from an option given as a column, "Model.attr", a list
-- of them, or a function returning them.
local function column_set(rel, v, name)
  if v == nil then return nil end
  if type(v) == "function" then v = v() end
  local list = (type(v) == "table" and (v._is_clause or type(v) == "string")) and {v} or v
  if type(list) == "string" then list = {list} end
  local out = {}
  for _, c in ipairs(list) do
    local col = rel.parent.registry:resolve_column(c, "relationship " .. rel:describe() .. " " .. name)
    out[col] = true
  end
  return out
end

-- Foreign keys of from_table that point at to_table (restricted to the
-- foreign_keys option when given): list of {fk column, referenced column}.
local function fk_pairs(from_table, to_table, only)
  local out = {}
  for _, fk in ipairs(from_table.foreign_keys) do
    local ok, target = pcall(fk.get_column, fk)
    if ok and target and target.table == to_table and (not only or only[fk.parent]) then
      out[#out + 1] = {fk = fk.parent, ref = target}
    end
  end
  return out
end

--- Finds the target, the direction and the column pairs.
local K, OP = core.kinds, core.ops

-- A join condition option: an expression, or a function returning one
-- (strings are never run as code).
local function resolve_expr(rel, v, name)
  if type(v) == "function" then v = v() end
  if type(v) ~= "table" or not v._is_clause then
    exc.raise(exc.ArgumentError, format("relationship %s: %s must be a SQL expression or a function " ..
      "returning one", rel:describe(), name), nil, 5)
  end
  return v
end

-- The column = column comparisons between tables ta and tb in expr, as
-- {a = column of ta, b = column of tb}.
local function eq_pairs(expr, ta, tb)
  local out = {}
  visitors.walk(expr, function(n)
    if n._k == K.BINARY and n.op == OP.EQ and type(n.left) == "table" and type(n.right) == "table" and
        n.left._k == K.COLUMN and n.right._k == K.COLUMN then
      local l, r = n.left, n.right
      if l.table == ta and r.table == tb then out[#out + 1] = {a = l, b = r}
      elseif l.table == tb and r.table == ta then out[#out + 1] = {a = r, b = l} end
    end
  end)
  return out
end

-- Whether col is the foreign key side against other.
local function fk_side(col, other, only)
  if only then return only[col] == true end
  for _, fk in ipairs(col.foreign_keys) do
    local ok, target = pcall(fk.get_column, fk)
    if ok and target == other then return true end
  end
  return false
end

-- A copy of expr with the columns of each table given replaced: by the
-- same column of an alias (a FROM), or by fn(col).
local function adapt(expr, map)
  return visitors.replace(expr, function(n)
    if n._k == K.COLUMN and n.table then
      local to = map[n.table]
      if to == nil then return nil end
      if type(to) == "function" then return to(n) end
      return to.c[n.key]
    end
    return nil
  end)
end

-- The association table of a many-to-many: a Table, its name, or a
-- function returning it.
local function resolve_secondary(rel)
  local sec = rel.opts.secondary
  if type(sec) == "function" then sec = sec() end
  if type(sec) == "string" then
    local t = rel.parent.registry.metadata.tables[sec]
    if not t then
      exc.raise(exc.InvalidRequestError, format("relationship %s: secondary names no table '%s' in the metadata",
        rel:describe(), sec), nil, 5)
    end
    sec = t
  end
  if type(sec) ~= "table" or not sec._is_from or not sec.foreign_keys then
    exc.raise(exc.ArgumentError, format("relationship %s: secondary must be a Table or its name", rel:describe()), nil, 5)
  end
  return sec
end

-- A many-to-many through the association table: pairs on each side.
function Rel:_configure_secondary(target, only)
  local sec = resolve_secondary(self)
  local pt, tt = self.parent.local_table, target.local_table
  if pt == tt then
    exc.raise(exc.InvalidRequestError, format("relationship %s: a self-referential many-to-many needs " ..
      "primaryjoin/secondaryjoin, which are not supported yet", self:describe()), nil, 4)
  end
  local to_parent, to_target = fk_pairs(sec, pt, only), fk_pairs(sec, tt, only)
  if self.opts.primaryjoin ~= nil or self.opts.secondaryjoin ~= nil then
    if self.opts.primaryjoin == nil or self.opts.secondaryjoin == nil then
      exc.raise(exc.ArgumentError, format("relationship %s: a many-to-many with a custom join needs both " ..
        "primaryjoin and secondaryjoin", self:describe()), nil, 4)
    end
    self.primaryjoin = resolve_expr(self, self.opts.primaryjoin, "primaryjoin")
    self.secondaryjoin = resolve_expr(self, self.opts.secondaryjoin, "secondaryjoin")
    to_parent, to_target = {}, {}
    for _, e in ipairs(eq_pairs(self.primaryjoin, pt, sec)) do to_parent[#to_parent + 1] = {ref = e.a, fk = e.b} end
    for _, e in ipairs(eq_pairs(self.secondaryjoin, tt, sec)) do to_target[#to_target + 1] = {ref = e.a, fk = e.b} end
    self.custom_join = true
  end
  if #to_parent == 0 or #to_target == 0 then
    exc.raise(exc.NoForeignKeysError, format("relationship %s: the secondary table '%s' needs foreign keys " ..
      "to both '%s' and '%s'", self:describe(), sec.name, pt.name, tt.name), nil, 4)
  end
  self.direction = M.MANYTOMANY
  self.secondary = sec
  self.sec_local, self.sec_remote = {}, {}
  for i, p in ipairs(to_parent) do
    local key = self.parent.col_attr[p.ref]
    if not key then
      exc.raise(exc.InvalidRequestError, format("relationship %s: column %s is not mapped", self:describe(),
        tostring(p.ref)), nil, 4)
    end
    self.sec_local[i] = {col = p.ref, sec_col = p.fk, key = key}
  end
  for i, p in ipairs(to_target) do
    local key = target.col_attr[p.ref]
    if not key then
      exc.raise(exc.InvalidRequestError, format("relationship %s: column %s is not mapped", self:describe(),
        tostring(p.ref)), nil, 4)
    end
    self.sec_remote[i] = {col = p.ref, sec_col = p.fk, key = key}
  end
  self.pairs = {}
  self.uselist = self.opts.uselist == nil and true or (self.opts.uselist and true or false)
end

function Rel:configure()
  local target = resolve_target(self)
  self.target = target
  local pt, tt = self.parent.local_table, target.local_table
  local only = column_set(self, self.opts.foreign_keys, "foreign_keys")
  if self.opts.secondary ~= nil then
    self:_configure_secondary(target, only)
    self:_configure_order_by()
    self.configured = true
    if self.wo then writeonly.check_collection(self) end
    return
  end
  local remote = column_set(self, self.opts.remote_side, "remote_side")
  local dir, pairs_
  if self.opts.secondaryjoin ~= nil then
    exc.raise(exc.ArgumentError, format("relationship %s: secondaryjoin needs secondary", self:describe()), nil, 4)
  end
  if self.opts.primaryjoin ~= nil then
    local expr = resolve_expr(self, self.opts.primaryjoin, "primaryjoin")
    if pt == tt or annotations.has_marks(expr) then
      return self:_configure_marked_join(target, expr, only, remote)
    end
    local eqs = eq_pairs(expr, pt, tt)
    if #eqs == 0 then
      exc.raise(exc.ArgumentError, format("relationship %s: primaryjoin compares no column of '%s' with " ..
        "one of '%s'", self:describe(), pt.name, tt.name), nil, 4)
    end
    local on_target, on_parent = 0, 0
    for _, e in ipairs(eqs) do
      if fk_side(e.b, e.a, only) then on_target = on_target + 1 end
      if fk_side(e.a, e.b, only) then on_parent = on_parent + 1 end
    end
    if on_target == #eqs and on_parent == 0 then dir = M.ONETOMANY
    elseif on_parent == #eqs and on_target == 0 then dir = M.MANYTOONE
    else
      exc.raise(exc.ArgumentError, format("relationship %s: cannot tell the foreign key side of primaryjoin; " ..
        "mark it with orm.foreign() / orm.remote() or name it with foreign_keys", self:describe()), nil, 4)
    end
    self.primaryjoin = expr
    self.custom_join = true
    self.direction = dir
    self.pairs = {}
    for i, e in ipairs(eqs) do self.pairs[i] = {local_col = e.a, remote_col = e.b} end
    return self:_finish_configure(target)
  end
  if pt == tt then
    -- self-referential: one-to-many unless remote_side names the referenced
    -- (primary key) side, as in SQLAlchemy's adjacency lists
    pairs_ = fk_pairs(pt, pt, only)
    if #pairs_ == 0 then
      exc.raise(exc.NoForeignKeysError, format("relationship %s: table '%s' has no foreign key to itself",
        self:describe(), pt.name), nil, 4)
    end
    dir = M.ONETOMANY
    if remote then
      for _, p in ipairs(pairs_) do
        if remote[p.ref] then dir = M.MANYTOONE end
      end
    end
  else
    local to_parent = fk_pairs(tt, pt, only)   -- target rows point at parent rows
    local to_target = fk_pairs(pt, tt, only)
    if #to_parent > 0 and #to_target > 0 then
      exc.raise(exc.AmbiguousForeignKeysError, format("relationship %s: foreign keys run both ways " ..
        "between '%s' and '%s'; name the ones to use with foreign_keys", self:describe(), pt.name, tt.name), nil, 4)
    elseif #to_parent > 0 then
      dir, pairs_ = M.ONETOMANY, to_parent
    elseif #to_target > 0 then
      dir, pairs_ = M.MANYTOONE, to_target
    else
      exc.raise(exc.NoForeignKeysError, format("relationship %s: there are no foreign keys linking " ..
        "'%s' and '%s'; add a ForeignKey or name the columns with foreign_keys", self:describe(),
        pt.name, tt.name), nil, 4)
    end
  end
  -- several foreign keys to the same table (two paths): ambiguous unless
  -- they form one composite key
  local constraints = {}
  for _, p in ipairs(pairs_) do
    local fk
    for _, f in ipairs(p.fk.foreign_keys) do if f:get_column() == p.ref then fk = f end end
    constraints[(fk and fk.constraint) or p.fk] = true
  end
  local ncons = 0
  for _ in pairs(constraints) do ncons = ncons + 1 end
  if ncons > 1 then
    exc.raise(exc.AmbiguousForeignKeysError, format("relationship %s: more than one foreign key path " ..
      "links '%s' and '%s'; name the columns with foreign_keys", self:describe(), pt.name, tt.name), nil, 4)
  end
  self.direction = dir
  -- local: this side's columns; remote: the target's
  self.pairs = {}
  for i, p in ipairs(pairs_) do
    if dir == M.ONETOMANY then
      self.pairs[i] = {local_col = p.ref, remote_col = p.fk}
    else
      self.pairs[i] = {local_col = p.fk, remote_col = p.ref}
    end
  end
  return self:_finish_configure(target)
end

-- A custom primaryjoin with orm.foreign() / orm.remote() marks, or one
-- joining a table to itself: the sides and the direction from the marks
-- (then foreign_keys / remote_side, then the ForeignKeys).
function Rel:_configure_marked_join(target, expr, only, remote)
  local pt, tt = self.parent.local_table, target.local_table
  local selfref = pt == tt
  local eqs, is_remote = annotations.eq_pairs(expr, pt, tt, remote)
  if #eqs == 0 then
    if selfref then
      exc.raise(exc.ArgumentError, format("relationship %s: cannot tell the local and remote columns of a " ..
        "self-referential primaryjoin; mark them with orm.remote() / orm.foreign() (or give remote_side)",
        self:describe()), nil, 5)
    end
    exc.raise(exc.ArgumentError, format("relationship %s: primaryjoin compares no column of '%s' with " ..
      "one of '%s'", self:describe(), pt.name, tt.name), nil, 5)
  end
  local marked = false
  for _, e in ipairs(eqs) do if e.fa or e.fb then marked = true end end
  local on_target, on_parent = 0, 0
  for _, e in ipairs(eqs) do
    local fb, fa
    if marked then fb, fa = e.fb, e.fa
    else fb, fa = fk_side(e.b, e.a, only), fk_side(e.a, e.b, only) end
    if fb then on_target = on_target + 1 end
    if fa then on_parent = on_parent + 1 end
  end
  local dir
  if on_target == #eqs and on_parent == 0 then dir = M.ONETOMANY
  elseif on_parent == #eqs and on_target == 0 then dir = M.MANYTOONE
  else
    exc.raise(exc.ArgumentError, format("relationship %s: cannot tell the direction of primaryjoin (which " ..
      "columns hold the foreign key); mark them with orm.foreign() / orm.remote()", self:describe()), nil, 5)
  end
  -- with its marks: what a backref starts from (joined to itself, the
  -- sides swapped)
  self.backref_join = selfref and annotations.mark_sides(expr, is_remote, true) or expr
  -- joined to itself, the remote side stays marked (its columns are of
  -- the same table as the local ones)
  self.primaryjoin = annotations.strip(expr, selfref and is_remote or nil)
  self.selfref_join = selfref or nil
  self.custom_join = true
  self.direction = dir
  self.pairs = {}
  for i, e in ipairs(eqs) do self.pairs[i] = {local_col = e.a, remote_col = e.b} end
  return self:_finish_configure(target)
end

-- What every non-association relationship needs once its pairs are known.
function Rel:_finish_configure(target)
  local dir = self.direction
  if self.opts.uselist ~= nil then self.uselist = self.opts.uselist and true or false
  else self.uselist = dir == M.ONETOMANY end
  -- attribute keys of the pair columns on each side
  for _, p in ipairs(self.pairs) do
    p.local_key = self.parent.col_attr[p.local_col]
    p.remote_key = target.col_attr[p.remote_col]
    if not p.local_key or not p.remote_key then
      exc.raise(exc.InvalidRequestError, format("relationship %s: column %s or %s is not mapped",
        self:describe(), tostring(p.local_col), tostring(p.remote_col)), nil, 4)
    end
  end
  -- a many-to-one whose remote columns are the target's primary key can
  -- be answered from the identity map
  if dir == M.MANYTOONE and #self.pairs == #target.pk_cols then
    local by_pk = true
    for i, c in ipairs(target.pk_cols) do
      if self.pairs[i].remote_col ~= c then by_pk = false end
    end
    self.by_pk = by_pk and not self.custom_join
  end
  self:_configure_order_by()
  self.configured = true
  if self.wo then writeonly.check_collection(self) end
end

function Rel:_configure_order_by()
  self.order_by = nil
  if self.opts.order_by ~= nil then
    local ob = self.opts.order_by
    if type(ob) == "function" then ob = ob() end
    if type(ob) ~= "table" or ob._is_clause or rawget(ob, "_is_rel_attr") then ob = {ob} end
    local out = {}
    for i, o in ipairs(ob) do
      if type(o) == "string" then
        local desc = o:match("^(.-)%s+[dD][eE][sS][cC]$")
        local col = self.parent.registry:resolve_column(desc or o, "relationship " .. self:describe() .. " order_by")
        out[i] = desc and col:desc() or col
      else
        out[i] = o
      end
    end
    self.order_by = out
  elseif self.collection and self.collection.order_attr then
    -- an ordering_list: ordered by its position attribute unless told
    local col = self.parent.registry:resolve_column(self.target.class_name .. "." .. self.collection.order_attr,
      "relationship " .. self:describe() .. " ordering_list")
    self.order_by = {col}
  end
end

--- back_populates and backref: the two sides know each other.
function Rel:link()
  self.linked = true
  local bp, br = self.opts.back_populates, self.opts.backref
  if bp ~= nil and br ~= nil then
    exc.raise(exc.ArgumentError, format("relationship %s: give back_populates or backref, not both", self:describe()), nil, 4)
  end
  if bp ~= nil then
    local other = self.target.props[bp]
    if not other or other.is_column then
      local rels = {}
      for k, p in pairs(self.target.props) do
        if not p.is_column then rels[#rels + 1] = k end
      end
      exc.raise(exc.InvalidRequestError, format("relationship %s: back_populates names '%s', which is " ..
        "not a relationship of %s%s", self:describe(), tostring(bp), self.target.class_name,
        type(bp) == "string" and util.did_you_mean(bp, rels) or ""), nil, 4)
    end
    if not other.configured then other:configure() end
    if other.target ~= self.parent and not self.parent:isa(other.target) then
      exc.raise(exc.InvalidRequestError, format("relationship %s: back_populates '%s' points at %s, not %s",
        self:describe(), tostring(bp), other.target.class_name, self.parent.class_name), nil, 4)
    end
    self.reverse = other
    other.reverse = self
  elseif br ~= nil then
    local name, ropts = br, {}
    if type(br) == "table" and br._is_backref then name, ropts = br.name, br.opts end
    if type(name) ~= "string" then
      exc.raise(exc.ArgumentError, format("relationship %s: backref must be a name or orm.backref(...)", self:describe()), nil, 4)
    end
    if self.target.props[name] then
      exc.raise(exc.ArgumentError, format("relationship %s: backref '%s' clashes with an attribute of %s",
        self:describe(), name, self.target.class_name), nil, 4)
    end
    local o = {}
    for k, v in pairs(ropts) do o[k] = v end
    -- the reverse of a one-to-many is a many-to-one over the same columns
    if self.opts.foreign_keys ~= nil and o.foreign_keys == nil then o.foreign_keys = self.opts.foreign_keys end
    if self.secondary and o.secondary == nil then o.secondary = self.secondary end
    -- a custom join reads the same from the other side (an association's
    -- two conditions swap)
    if self.backref_join and o.primaryjoin == nil then
      o.primaryjoin = self.backref_join
    elseif self.primaryjoin and o.primaryjoin == nil then
      if self.secondary then
        o.primaryjoin, o.secondaryjoin = self.secondaryjoin, self.primaryjoin
      else
        o.primaryjoin = self.primaryjoin
      end
    end
    if self.parent.local_table == self.target.local_table and o.remote_side == nil and
        self.direction == M.ONETOMANY then
      local rs = {}
      for _, p in ipairs(self.pairs) do rs[#rs + 1] = p.local_col end
      o.remote_side = rs
    end
    local spec = M.relationship(self.parent.class, o)
    local other = M.new_property(self.target, name, spec)
    self.target:_add_relationship(other)
    other:configure()
    other.linked = true
    self.reverse = other
    other.reverse = self
  end
end

--- The ON clause joining parent to target.
function Rel:join_condition(parent_from, target_from)
  if self.parent.local_table == self.target.local_table and parent_from == nil and target_from == nil then
    exc.raise(exc.InvalidRequestError, format("join(%s): a self-referential join needs an alias: " ..
      "%s:of_type(orm.aliased(%s))", self:describe(), self:describe(), self.target.class_name), nil, 4)
  end
  if self.selfref_join then
    return annotations.adapt_sides(self.primaryjoin, parent_from and function(c) return parent_from.c[c.key] end,
      target_from and function(c) return target_from.c[c.key] end)
  end
  if self.primaryjoin then
    local map = {}
    if parent_from then map[self.parent.local_table] = parent_from end
    if target_from then map[self.target.local_table] = target_from end
    return adapt(self.primaryjoin, map)
  end
  local function c(from, col)
    if from == nil then return col end
    return from.c[col.key]
  end
  local conds = {}
  for i, p in ipairs(self.pairs) do conds[i] = c(parent_from, p.local_col):eq(c(target_from, p.remote_col)) end
  if #conds == 1 then return conds[1] end
  return elements.and_(unpack(conds))
end

--- parent = association and association = target, for a many-to-many
--- (sides given as tables or aliases).
function Rel:secondary_conditions(parent_from, sec_from, target_from)
  if self.primaryjoin then
    local map = {}
    if parent_from then map[self.parent.local_table] = parent_from end
    if sec_from and sec_from ~= self.secondary then map[self.secondary] = sec_from end
    if target_from then map[self.target.local_table] = target_from end
    return adapt(self.primaryjoin, map), adapt(self.secondaryjoin, map)
  end
  local function c(from, col)
    if from == nil or from == col.table then return col end
    return from.c[col.key]
  end
  local a, b = {}, {}
  for i, p in ipairs(self.sec_local) do a[i] = c(parent_from, p.col):eq(c(sec_from, p.sec_col)) end
  for i, p in ipairs(self.sec_remote) do b[i] = c(target_from, p.col):eq(c(sec_from, p.sec_col)) end
  local on1 = #a == 1 and a[1] or elements.and_(unpack(a))
  local on2 = #b == 1 and b[1] or elements.and_(unpack(b))
  return on1, on2
end

--- The WHERE criterion loading this relationship for a parent state, or
--- nil when a local value is NULL (nothing can match).
-- The value of a parent column for st (loading it when expired).
local function parent_value(rel, st, col)
  local key = rel.parent.col_attr[col]
  local v = rawget(st.dict, key)
  if v == nil then v = attributes.get_column(st, key) end
  return v
end

-- A custom join condition with the parent row's values in place of its
-- columns; nil when one of them is NULL.
function Rel:_bound_join(expr, st)
  local missing = false
  local function bind(col)
    local v = parent_value(self, st, col)
    if v == nil then missing = true end
    return elements.literal(v, col.type)
  end
  local out
  if self.selfref_join and expr == self.primaryjoin then out = annotations.adapt_sides(expr, bind, nil)
  else out = adapt(expr, {[self.parent.local_table] = bind}) end
  if missing then return nil end
  return out
end

function Rel:criterion(st)
  if self.primaryjoin and not self.secondary then return self:_bound_join(self.primaryjoin, st) end
  local vals = self:_local_values(st)
  if vals == nil then return nil end
  local conds = {}
  for i, p in ipairs(self.pairs) do conds[i] = p.remote_col:eq(vals[i]) end
  if #conds == 1 then return conds[1] end
  return elements.and_(unpack(conds))
end

-- The parent's values for the relationship's key pairs (expired ones
-- loaded), or nil when one of them is NULL.
function Rel:_local_values(st)
  local vals = {}
  for i, p in ipairs(self.pairs) do
    local v = rawget(st.dict, p.local_key)
    if v == nil then v = attributes.get_column(st, p.local_key) end
    if v == nil then return nil end
    vals[i] = v
  end
  return vals
end

-- The lazy load's statement: the target where its key columns equal bound
-- values lz_1, lz_2, ... (ordered by order_by for a collection). Built and
-- compiled once per relationship, however many parents load.
function Rel:_lazy_statement()
  local stmt = self._lazy_stmt
  if stmt == nil then
    local conds = {}
    for i, p in ipairs(self.pairs) do
      conds[i] = p.remote_col:eq(elements.bindparam("lz_" .. i, nil, {type = p.remote_col.type}))
    end
    stmt = selectable.select(self.target.class):where(unpack(conds))
    if self.uselist and self.order_by then stmt = stmt:order_by(unpack(self.order_by)) end
    self._lazy_stmt = stmt
  end
  return stmt
end

local function lazy_params(vals)
  local params = {}
  for i = 1, #vals do params["lz_" .. i] = vals[i] end
  return params
end

--- Loads the relationship of st from the database (one SELECT, or none
--- when the identity map has the many-to-one target). eager: a loader
--- option's fallback is loading (not counted by the N+1 detector). An object
--- loaded under with_loader_criteria loads with them, and with the rest of a
--- defaultload path (orm/criteria.lua).
function Rel:lazy_load(st, eager)
  if rawget(st, "load_criteria") ~= nil or rawget(st, "lazy_options") ~= nil then
    return criteria.lazy_load(self, st, Rel._lazy_load, eager)
  end
  return Rel._lazy_load(self, st, eager)
end

function Rel:_lazy_load(st, eager)
  local key = self.key
  local session = st.session
  if not session then
    exc.raise(exc.DetachedInstanceError, format("Parent instance %s is not bound to a Session; lazy " ..
      "load operation of attribute '%s' cannot proceed", tostring(st.obj), key), nil, 4)
  end
  if self.wo then return writeonly.full_load(self, st) end
  local lazy = self.lazy
  local override = st.lazy_override and st.lazy_override[key]
  if override then lazy = override end
  if lazy == "raise" or lazy == "raise_on_sql" then
    exc.raise(exc.InvalidRequestError, format("'%s' is not available due to lazy='raise'", self:describe()), nil, 4)
  end
  if session._warn_lazy and not eager and lazy ~= "noload" then nplusone.note(session, self, st) end
  local value
  if lazy == "noload" then
    value = self.uselist and {} or nil
  elseif self.secondary then
    local conds = {}
    local missing = false
    if self.primaryjoin then
      local c = self:_bound_join(self.primaryjoin, st)
      if c == nil then missing = true else conds[1] = c end
    else
      for _, p in ipairs(self.sec_local) do
        local v = rawget(st.dict, p.key)
        if v == nil then v = attributes.get_column(st, p.key) end
        if v == nil then missing = true end
        conds[#conds + 1] = p.sec_col:eq(v)
      end
    end
    if missing then
      value = {}
    else
      local _, on2 = self:secondary_conditions()
      conds[#conds + 1] = on2
      local stmt = selectable.select(self.target.class):where(unpack(conds))
      if self.order_by then stmt = stmt:order_by(unpack(self.order_by)) end
      value = session:_load_objects(stmt, nil, self)
    end
    if not self.uselist then value = value[1] end
  elseif self.uselist and not self.primaryjoin then
    local vals = self:_local_values(st)
    value = vals and session:_load_objects(self:_lazy_statement(), lazy_params(vals), self) or {}
  elseif self.uselist then
    local crit = self:criterion(st)
    if crit == nil then
      value = {}
    else
      local stmt = selectable.select(self.target.class):where(crit)
      if self.order_by then stmt = stmt:order_by(unpack(self.order_by)) end
      value = session:_load_objects(stmt, nil, self)
    end
  else
    local vals = self:_local_values(st)
    if vals then
      if self.by_pk then value = session:_identity_lookup(self.target, vals) end
      if value == nil and self.primaryjoin then
        value = session:_load_objects(selectable.select(self.target.class):where(self:criterion(st)), nil, self)[1]
      elseif value == nil then
        value = session:_load_objects(self:_lazy_statement(), lazy_params(vals), self)[1]
      end
    end
  end
  -- a change made meanwhile (autoflush may have run) wins
  if st.loaded[key] then return attributes.rel_value(st, self) end
  attributes.set_rel_value(st, self, value)
  if self.uselist then
    attributes.track_collection(st, key, value)
  else
    st.loaded[key] = true
    if self.direction == M.ONETOMANY then st.snap[key] = value ~= nil and {value} or {} end
  end
  return value
end

--- A many-to-one's target as the identity map has it for st's committed
--- foreign key, without SQL; nil when it is not there (or not by key).
function Rel:identity_target(st)
  local session = st.session
  if not session or not self.by_pk or self.secondary or self.direction ~= M.MANYTOONE then return nil end
  local vals = {}
  for i, p in ipairs(self.pairs) do
    local v = attributes.committed_of(st, p.local_key)
    if v == nil or v == attributes.UNKNOWN then v = rawget(st.dict, p.local_key) end
    if v == nil then return nil end
    vals[i] = v
  end
  return session:_identity_lookup(self.target, vals)
end

--- The objects this relationship of st holds now (loaded values only).
function Rel:current(st)
  if not st.loaded[self.key] then return nil end
  local v = attributes.rel_value(st, self)
  if v == nil then return nil end
  if self.uselist then return v end
  return {v}
end

M.STATE = STATE
return M
