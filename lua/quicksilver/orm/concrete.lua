--- orm/concrete.lua: concrete-table inheritance (SQLAlchemy's concrete=True
--- mappers, ConcreteBase and polymorphic_union). Each class of the
--- hierarchy has its own table holding all its columns; a subclass mapped
--- with `__mapper_args = {concrete = true}` is a mapper of its own (its own
--- table, primary key, identity map and flush) that only remembers its
--- parent, so that the base class marked `concrete_base = true` loads
--- every class through the UNION ALL of their tables, a discriminator column
--- telling each row's class.
local exc = require("quicksilver.exc")
local elements = require("quicksilver.sql.elements")
local selectable = require("quicksilver.sql.selectable")
local visitors = require("quicksilver.sql.visitors")
local statement = require("quicksilver.sql.statement")
local K = require("quicksilver.core").kinds

local M = {}
local point_relationships   -- below

local type, pairs, ipairs, format, tostring, sort = type, pairs, ipairs, string.format, tostring, table.sort
local unpack = table.unpack or unpack

-- The NULL a table lacking a column gives in the union, typed so that
-- results convert as the column's: CAST(NULL AS type) where PostgreSQL
-- could not match an untyped NULL (two of them resolve to text), but a
-- string's NULL untyped in SQL (a MySQL CAST to CHAR takes the
-- connection's collation, which a UNION with the table's column refuses;
-- text-like NULLs match any string type on PostgreSQL).
local function typed_null(t)
  if statement.type_affinity(t) == "string" then return elements.type_coerce(elements.null, t) end
  return elements.cast(elements.null, t)
end

--- orm.polymorphic_union({[identity] = table, ...}, typecolname, aliasname):
--- the UNION ALL of the tables, each SELECT listing every column name of
--- them all (a typed NULL where a table lacks it) and its identity as
--- typecolname; a subquery named aliasname ("pjoin" by default). Identities
--- in sorted order; typecolname nil leaves the discriminator out.
---@param table_map table identity -> Table
---@param typecolname string|nil
---@param aliasname string|nil
---@return table subquery
function M.polymorphic_union(table_map, typecolname, aliasname)
  if type(table_map) ~= "table" then
    exc.raise(exc.ArgumentError, "polymorphic_union: expected a table of identity = Table", nil, 2)
  end
  local ids = {}
  for id, t in pairs(table_map) do
    if type(t) ~= "table" or not t._is_from or not t.columns then
      exc.raise(exc.ArgumentError, format("polymorphic_union: the entry '%s' is not a Table", tostring(id)), nil, 2)
    end
    ids[#ids + 1] = id
  end
  if #ids == 0 then exc.raise(exc.ArgumentError, "polymorphic_union: no tables given", nil, 2) end
  sort(ids, function(a, b) return tostring(a) < tostring(b) end)
  if typecolname ~= nil and type(typecolname) ~= "string" then
    exc.raise(exc.ArgumentError, "polymorphic_union: the discriminator name must be a string", nil, 2)
  end
  -- every column name, first table's order first; the type of its first use
  local names, col_type = {}, {}
  for _, id in ipairs(ids) do
    for _, c in ipairs(table_map[id].columns) do
      if col_type[c.key] == nil then
        if c.key == typecolname then
          exc.raise(exc.ArgumentError, format("polymorphic_union: table '%s' has a column named '%s', the " ..
            "discriminator's name; choose another", table_map[id].name, typecolname), nil, 2)
        end
        names[#names + 1] = c.key
        col_type[c.key] = c.type
      end
    end
  end
  local selects = {}
  for i, id in ipairs(ids) do
    local t = table_map[id]
    local own = {}
    for _, c in ipairs(t.columns) do own[c.key] = c end
    local cols = {}
    for j, name in ipairs(names) do
      cols[j] = own[name] or typed_null(col_type[name]):label(name)
    end
    if typecolname then cols[#cols + 1] = elements.literal(id):label(typecolname) end
    selects[i] = selectable.select(unpack(cols)):select_from(t)
  end
  local u = #selects == 1 and selects[1] or selectable.union_all(unpack(selects))
  return u:subquery(aliasname or "pjoin")
end

--- The root of the concrete hierarchy m is a subclass of (the class marked
--- concrete_base), or an error naming the model.
function M.root_of(parent, name)
  local root = parent.concrete_base and parent or parent.concrete_root
  if not root then
    exc.raise(exc.ArgumentError, format("model %s: concrete = true needs a parent mapped with __mapper_args " ..
      "concrete_base = true (its polymorphic union loads the subclasses)", name), nil, 5)
  end
  return root
end

--- A concrete subclass's mapper m (made as a base of its own: own table,
--- key, identity map) joined to its parent's hierarchy.
function M.attach(m, parent, name)
  local root = M.root_of(parent, name)
  m.inherits = parent
  m.concrete = true
  m.concrete_root = root
  parent.subclasses[#parent.subclasses + 1] = m
end

-- every concrete mapper under the root, root first
local function hierarchy(root)
  local out = {}
  local function go(m)
    out[#out + 1] = m
    for _, sub in ipairs(m.subclasses) do go(sub) end
  end
  go(root)
  return out
end

-- Relationships whose target is the concrete base: a one-to-many loads
-- from the union (every class's rows carry the foreign key column, as in
-- SQLAlchemy); its sync writes the attribute by key, so each concrete
-- class must map that column under the same name. A many-to-one to the
-- base is refused: its foreign key names one table.
point_relationships = function(root, by_name)
  for _, m in ipairs(root.registry.mappers) do
    for _, rel in ipairs(m.relationships) do
      if rel.parent == m and rel.target == root and not rel.secondary then
        if rel.direction ~= "ONETOMANY" or rel.custom_join then
          exc.raise(exc.InvalidRequestError, format("relationship %s: only a one-to-many by foreign key can " ..
            "target the concrete base %s (target a concrete class instead)", rel:describe(), root.class_name), nil, 5)
        end
        for _, p in ipairs(rel.pairs) do
          local uc = by_name[p.remote_col.key]
          for _, sub in ipairs(hierarchy(root)) do
            if not (uc and sub.props[p.remote_key] and sub.props[p.remote_key].column.key == p.remote_col.key) then
              exc.raise(exc.InvalidRequestError, format("relationship %s: the concrete class %s does not map " ..
                "the column '%s' as '%s'", rel:describe(), sub.class_name, p.remote_col.key,
                tostring(p.remote_key)), nil, 5)
            end
          end
          p.remote_col = uc
        end
        if rel.order_by then
          local t = root.local_table
          for i, o in ipairs(rel.order_by) do
            rel.order_by[i] = visitors.replace(o, function(n)
              if n._k == K.COLUMN and n.table == t then return by_name[n.key] end
              return nil
            end)
          end
        end
        rel._lazy_stmt = nil
      end
    end
  end
end

--- The concrete base's query: select columns, plan and FROM over the
--- polymorphic union of the hierarchy's tables (new_plan: mapper.lua's).
--- The union's columns stand, in the plan, for each class's own table
--- columns of the same name, so every class loads from the union's rows.
function M.compute_select(root, new_plan)
  local table_map, identity_of = {}, {}
  for _, m in ipairs(hierarchy(root)) do
    local id = m.polymorphic_identity
    if id == nil then
      exc.raise(exc.InvalidRequestError, format("%s: a class of a concrete hierarchy needs a polymorphic_identity " ..
        "(its rows' discriminator in the union)", m.class_name), nil, 4)
    end
    table_map[id] = m.local_table
    identity_of[m] = id
  end
  local typecol = type(root.concrete_base) == "string" and root.concrete_base or "type"
  local pjoin = root.with_polymorphic_union
  if type(pjoin) == "function" then pjoin = pjoin() end
  if pjoin == nil then pjoin = M.polymorphic_union(table_map, typecol, "pjoin")
  elseif type(pjoin) ~= "table" or not pjoin._is_from or not pjoin.columns then
    exc.raise(exc.ArgumentError, format("%s: with_polymorphic's second entry must be a polymorphic_union " ..
      "(or a function returning one)", root.class_name), nil, 4)
  end
  -- the union's columns by name (a missing name on .c raises)
  local cols, by_name = {}, {}
  for _, c in ipairs(pjoin.columns) do cols[#cols + 1] = c; by_name[c.key] = c end
  local pk = {}
  if not by_name[typecol] then
    exc.raise(exc.ArgumentError, format("%s: the polymorphic union has no discriminator column '%s'",
      root.class_name, typecol), nil, 4)
  end
  for i, c in ipairs(root.pk_cols) do pk[i] = by_name[c.key] end
  root.polymorphic_on = {column = by_name[typecol], key = nil, is_expr = true, concrete = true}
  local plan = new_plan({pk_cols = pk, polymorphic_on = root.polymorphic_on, class_name = root.class_name}, cols)
  for _, m in ipairs(hierarchy(root)) do
    for _, p in ipairs(m.column_props) do
      local uc = by_name[p.column.key]
      if uc then plan.pos[p.column] = plan.pos[uc] end
    end
  end
  root.concrete_union = pjoin
  root.entity_from = pjoin
  root.concrete_pk = pk
  root.select_columns = cols
  root.plan = plan
  root.pk_pos, root.disc_pos = plan.pk_pos, plan.disc_pos
  point_relationships(root, by_name)
  -- the base's column attributes are the union's (criteria on Employee.name
  -- apply to every class's rows); the flush writes through p.column
  for _, p in ipairs(root.column_props) do
    if by_name[p.column.key] then p.class_attr = by_name[p.column.key] end
  end
end

return M
