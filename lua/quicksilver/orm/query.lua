--- orm/query.lua: the legacy Query (SQLAlchemy's orm/query.py, 1.x style):
--- `session:query(User):filter(...):order_by(...):all()`. Each method returns
--- a new Query over a new select(); execution goes through the Session, so
--- results are the same objects select() gives.
local exc = require("quicksilver.exc")
local util = require("quicksilver.util")
local elements = require("quicksilver.sql.elements")
local selectable = require("quicksilver.sql.selectable")
local dml = require("quicksilver.sql.dml")
local mapper_mod = require("quicksilver.orm.mapper")

local M = {}

local setmetatable, type, select, ipairs = setmetatable, type, select, ipairs
local unpack = table.unpack or unpack

---@class quicksilver.orm.Query
local Query = {}
Query.__index = Query
Query.__name = "Query"
M.Query = Query

--- session:query(entity_or_column, ...)
function M.new(session, ...)
  local n = select("#", ...)
  if n == 0 then
    exc.raise(exc.ArgumentError, "Session:query: give at least one class or column", nil, 3)
  end
  local stmt = selectable.select(...)
  local first = ...
  return setmetatable({session = session, stmt = stmt, _single = n == 1 and stmt._entities ~= nil,
    _entity = stmt._entities and stmt._entities[1].entity or nil, _first_arg = first}, Query)
end

local function derive(self, stmt)
  return setmetatable({session = self.session, stmt = stmt, _single = self._single,
    _entity = self._entity, _first_arg = self._first_arg}, Query)
end

-- Generative methods that are the select's.
for _, name in ipairs({"where", "join", "outerjoin", "join_from", "order_by", "group_by", "having",
    "limit", "offset", "distinct", "options", "select_from", "with_for_update", "execution_options",
    "add_columns"}) do
  Query[name] = function(self, ...)
    local stmt = self.stmt
    return derive(self, stmt[name](stmt, ...))
  end
end
Query.filter = Query.where

--- add_columns(...): each result is then a row (the entity, then the
--- columns), as 1.x's Query gives, no longer the entity alone.
function Query:add_columns(...)
  local q = derive(self, self.stmt:add_columns(...))
  q._single = false
  return q
end

--- filter_by({name = value}): attribute names of the query's entity.
function Query:filter_by(map)
  if type(map) ~= "table" or next(map) == nil then
    exc.raise(exc.ArgumentError, "filter_by: expected a non-empty table of attribute = value", nil, 2)
  end
  local m = self._entity
  if not m then return derive(self, self.stmt:filter_by(map)) end
  local conds = {}
  for _, p in ipairs(m.column_props) do
    local v = map[p.key]
    if v ~= nil then conds[#conds + 1] = p.column:eq(v) end
  end
  for k in pairs(map) do
    local p = m.props[k]
    if not (p and p.is_column) then
      exc.raise(exc.InvalidRequestError, string.format("Entity namespace for \"%s\" has no property \"%s\"",
        m.class_name, tostring(k)), nil, 2)
    end
  end
  return derive(self, self.stmt:where(unpack(conds)))
end

--- populate_existing(): the rows overwrite the objects already in the
--- session (their changes discarded), as the execution option does.
function Query:populate_existing()
  return derive(self, self.stmt:execution_options({populate_existing = true}))
end

--- autoflush(false): no autoflush before this query runs.
function Query:autoflush(setting)
  return derive(self, self.stmt:execution_options({autoflush = setting ~= false}))
end

--- yield_per(n): the rows read and made objects n at a time.
function Query:yield_per(n)
  return derive(self, self.stmt:execution_options({yield_per = n}))
end

--- slice(a, b): rows a+1 .. b (Python's [a:b]).
function Query:slice(first, last)
  return derive(self, self.stmt:offset(first):limit(last - first))
end

function Query:_result()
  return self.session:execute(self.stmt)
end

-- Rows as objects for a single entity, else Row objects (as 1.x did).
local function shaped(self, res)
  if self._single then return res:scalars() end
  return res
end

function Query:all() return shaped(self, self:_result()):all() end
function Query:first() return shaped(self, self:_result()):first() end
function Query:one() return shaped(self, self:_result()):one() end
function Query:one_or_none() return shaped(self, self:_result()):one_or_none() end
function Query:scalar()
  local r = self:_result()
  return r:scalar()
end

--- Iterator: `for user in session:query(User):iter() do`.
function Query:iter()
  local list = self:all()
  local i = 0
  return function()
    i = i + 1
    return list[i]
  end
end

--- SELECT count(*) FROM (the query) AS anon.
function Query:count()
  local sub = self.stmt:subquery()
  local stmt = selectable.select(elements.func.count()):select_from(sub)
  return self.session:scalar(stmt)
end

--- get(ident): Session:get for the query's entity.
function Query:get(ident)
  if not self._entity then
    exc.raise(exc.InvalidRequestError, "Query:get needs a query of one mapped class", nil, 2)
  end
  return self.session:get(self._entity.class, ident)
end

--- The SELECT this query runs (for subqueries and printing).
function Query:statement() return self.stmt end
function Query:subquery(name) return self.stmt:subquery(name) end
Query.__tostring = function(self) return tostring(self.stmt) end

local function where_of(self)
  return self.stmt._where
end

--- UPDATE the rows this query selects; returns the rowcount.
local DML_OPTIONS = {synchronize_session = true}

function Query:update(values, opts)
  util.check_options("Query:update", opts, DML_OPTIONS, 2)
  if not self._entity then
    exc.raise(exc.InvalidRequestError, "Query:update needs a query of one mapped class", nil, 2)
  end
  local stmt = dml.update(self._entity.class):values(values)
  local w = where_of(self)
  if w then stmt = stmt:where(w) end
  local eo = {synchronize_session = opts and opts.synchronize_session}
  if eo.synchronize_session == nil then eo.synchronize_session = "auto" end
  return self.session:execute(stmt, nil, {execution_options = eo}).rowcount
end

--- DELETE the rows this query selects; returns the rowcount.
function Query:delete(opts)
  util.check_options("Query:delete", opts, DML_OPTIONS, 2)
  if not self._entity then
    exc.raise(exc.InvalidRequestError, "Query:delete needs a query of one mapped class", nil, 2)
  end
  local stmt = dml.delete(self._entity.class)
  local w = where_of(self)
  if w then stmt = stmt:where(w) end
  local eo = {synchronize_session = opts and opts.synchronize_session}
  if eo.synchronize_session == nil then eo.synchronize_session = "auto" end
  return self.session:execute(stmt, nil, {execution_options = eo}).rowcount
end

M.mapper_of = mapper_mod.mapper_of
return M
