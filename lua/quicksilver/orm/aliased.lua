--- orm/aliased.lua: orm.aliased(Model, name?) (SQLAlchemy's AliasedClass):
--- the model over an alias of its table, so one class can appear twice in
--- a query (self-referential joins, comparing rows of one table). Its
--- attributes are the alias's columns; select(alias) loads ordinary
--- objects of the model through the identity map.
local exc = require("quicksilver.exc")
local mapper_mod = require("quicksilver.orm.mapper")
local visitors = require("quicksilver.sql.visitors")
local COLUMN = require("quicksilver.core").kinds.COLUMN

local M = {}

local rawget, setmetatable, type, tostring = rawget, setmetatable, type, tostring

---@class quicksilver.orm.AliasedClass
local Aliased = {}
M.Aliased = Aliased

-- What the loader sees for an aliased entity: the mapper, plus the alias
-- its columns come from.
local function entity_of(self)
  local e = rawget(self, "_entity")
  if not e then
    local m = rawget(self, "_mapper")
    e = setmetatable({_mapper = m, _alias = rawget(self, "_alias"), _aliased_class = self}, {__index = m})
    rawset(self, "_entity", e)
  end
  return e
end

local function select_entity(self)
  local m = rawget(self, "_mapper")
  m.registry:configure()
  local alias = rawget(self, "_alias")
  local cols = {}
  for i, c in ipairs(m.select_columns) do cols[i] = alias.c[c.key] end
  return cols, entity_of(self)
end

local function clause_element(self) return rawget(self, "_alias") end

Aliased.__index = function(self, k)
  local m = rawget(self, "_mapper")
  local p = m.props[k]
  if p then
    local alias = rawget(self, "_alias")
    if p.expr then
      -- a column_property: its expression over the alias
      return visitors.replace(p.expr, function(n)
        if n._k == COLUMN and n.table == m.local_table then
          return alias.c[n.key]
        end
        return nil
      end)
    end
    if p.is_column then return alias.c[p.column.key] end
    m.registry:configure()
    return p.class_attr:_from(self)
  end
  local h = m:find_hybrid(k)
  if h then return h:class_get(self) end
  if k == "__select_entity__" then return select_entity end
  if k == "__clause_element__" then return clause_element end
  -- the class's methods and fields (never its mapped names: those were
  -- looked up above); a name it has neither raises as Model.k does,
  -- naming aliased(Model)
  if type(k) ~= "string" or k:byte(1) == 95 then return nil end
  local v = mapper_mod.class_member(m.class, k)
  if v ~= nil then return v end
  mapper_mod.raise_no_attribute(m.class, k, "aliased(" .. tostring(m.class_name) .. ")", 2)
end

Aliased.__tostring = function(self)
  return "aliased(" .. rawget(self, "_mapper").class_name .. ")"
end

-- orm.aliased(Model, subquery): the subquery's columns standing for the
-- mapped ones, matched by key; every selected column of the
-- model must be there.
local function over_subquery(m, sub)
  m.registry:configure()
  for _, c in ipairs(m.select_columns) do
    if rawget(sub.c, c.key) == nil then
      exc.raise(exc.ArgumentError, string.format("aliased: the subquery has no column '%s' for %s.%s",
        tostring(c.key), m.class_name, tostring(c.key)), nil, 3)
    end
  end
  return sub
end

--- orm.aliased(Model, name?) or orm.aliased(Model, subquery): the model
--- over an alias of its table, or read from a subquery's columns (matched
--- by name: a subquery of a select of the model's columns, filtered or
--- ordered as the program needs).
function M.aliased(cls, name)
  local m = mapper_mod.class_mapper(cls, "aliased")
  if type(name) == "table" and rawget(name, "c") ~= nil and name._is_from then
    return setmetatable({_mapper = m, _alias = over_subquery(m, name)}, Aliased)
  end
  if name ~= nil and type(name) ~= "string" then
    exc.raise(exc.ArgumentError, "aliased: expected a name or a subquery", nil, 2)
  end
  return setmetatable({_mapper = m, _alias = m.local_table:alias(name)}, Aliased)
end

--- Whether x is an aliased class; its mapper and alias.
function M.inspect_aliased(x)
  if type(x) == "table" and getmetatable(x) == Aliased then
    return rawget(x, "_mapper"), rawget(x, "_alias")
  end
  return nil
end

return M
