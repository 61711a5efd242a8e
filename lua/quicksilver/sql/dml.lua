--- sql/dml.lua: INSERT, UPDATE, DELETE (SQLAlchemy's sql/dml.py).
---
--- The SQL of an INSERT or UPDATE depends on which columns the execution
--- gives, so these statements compile per set of parameter keys:
--- `_effective(keys)` builds the node the C compiler renders, with the column
--- list in table order (an absent key omits the column, so defaults apply).
local core = require("quicksilver.core")
local elements = require("quicksilver.sql.elements")
local exc = require("quicksilver.exc")
local selectable = require("quicksilver.sql.selectable")
local util = require("quicksilver.util")
local statement = require("quicksilver.sql.statement")

local M = {}

local K = core.kinds
local setmetatable, type, tostring, pairs, ipairs, select = setmetatable, type, tostring, pairs, ipairs, select
local format = string.format
local BindParameter = elements.BindParameter

local ValuesRef = elements.column_class("ValuesRef")
ValuesRef._k = K.VALUES_REF
function ValuesRef:_from_objects() return {} end

local DML = util.class("DML", elements.ClauseElement)
DML._executable = true
DML.__tostring = elements.ClauseElement.__tostring
M.DML = DML

local function check_table(t, what)
  if type(t) == "table" and t.__clause_element__ and not t._is_from then t = t:__clause_element__() end
  if type(t) ~= "table" or t._k ~= K.TABLE then
    exc.raise(exc.ArgumentError, what .. ": expected a Table", nil, 3)
  end
  return t
end

local function copy(self)
  return setmetatable(util.copy(self), getmetatable(self))
end

-- Tables besides the target that a WHERE (or SET values) refer to: UPDATE
-- ... FROM / DELETE ... USING.
local function extra_froms(t, ...)
  local out, seen = {}, {[t] = true}
  for i = 1, select("#", ...) do
    local e = select(i, ...)
    if e then
      for _, f in ipairs(elements.from_objects(e)) do
        if not seen[f] then seen[f] = true; out[#out + 1] = f end
      end
    end
  end
  return out[1] and out or nil
end

local function named_bind(col, value)
  return setmetatable({key = col.key, value = value, type = col.type, anon = false}, BindParameter)
end

-- Checks map keys against the table's columns; "Unconsumed column names".
local function check_keys(t, keys, what)
  local bad = {}
  for k in pairs(keys) do
    if type(k) ~= "string" or not selectable.has_column(t.c, k) then bad[#bad + 1] = tostring(k) end
  end
  if #bad > 0 then
    table.sort(bad)
    local keys = {}
    for i, col in ipairs(selectable.columns_of(t.c)) do keys[i] = col.key end
    exc.raise(exc.ArgumentError, format("%s: Unconsumed column names: %s (table '%s' has no such columns)%s",
      what, table.concat(bad, ", "), t.name, #bad == 1 and util.did_you_mean(bad[1], keys) or ""), nil, 4)
  end
end

--- Execution options carried by the statement (e.g. the ORM's
--- synchronize_session).
function DML:execution_options(opts)
  statement.check_execution_options(opts, "execution_options", 2)
  local s = copy(self)
  s._execution_options = util.merge(self._execution_options, opts)
  return s
end

--- RETURNING these columns (where the dialect has it). A table gives its
--- columns; an ORM model class its mapped columns, recorded in `_entities`
--- as select() records them (the ORM makes each row's object from them;
--- the compiled SQL and its cache key do not depend on it).
function DML:returning(...)
  local s = copy(self)
  local cols = {}
  local entities
  for i = 1, select("#", ...) do
    local c = select(i, ...)
    local ent = type(c) == "table" and not c._is_clause and not c._is_from and c.__select_entity__
    if ent then
      local ecols, desc, from, plan = ent(c)
      if from then
        exc.raise(exc.ArgumentError, "returning: " .. tostring(c) .. " spans several tables (joined " ..
          "inheritance); RETURNING takes the columns of the statement's table", nil, 2)
      end
      entities = entities or {}
      entities[#entities + 1] = {entity = desc, first = #cols + 1, count = #ecols, plan = plan}
      for j = 1, #ecols do cols[#cols + 1] = ecols[j] end
    elseif type(c) == "table" and c._is_from then
      for _, col in ipairs(selectable.columns_of(c.c)) do cols[#cols + 1] = col end
    else
      cols[#cols + 1] = elements.coerce(c)
    end
  end
  s._returning = cols
  s._entities = entities
  return s
end

--- Words written after INSERT / UPDATE / DELETE (IGNORE, LOW_PRIORITY, OR
--- REPLACE, ...); {dialect = name} as the last argument limits them to that
--- database ("mysql" covers MariaDB). Letters, digits, _ and spaces only.
function DML:prefix_with(...)
  return selectable.add_words(self, "prefix_with", "_prefixes", "_prefix_dialects", copy, ...)
end

function DML:where(...)
  local s = copy(self)
  local crit = elements.conjunction(core.ops.AND, "where", ...)
  if s._where then crit = elements.and_(s._where, crit) end
  s._where = crit
  return s
end
DML.filter = DML.where

function DML:filter_by(map)
  if type(map) ~= "table" or next(map) == nil then
    exc.raise(exc.ArgumentError, "filter_by: expected a non-empty table of column = value", nil, 2)
  end
  check_keys(self.table, map, "filter_by")
  local conds = {}
  for _, col in ipairs(self.table.columns) do
    if map[col.key] ~= nil then conds[#conds + 1] = col:eq(map[col.key]) end
  end
  return self:where(util.unpack(conds))
end

---------------------------------------------------------------------------------------------
-- INSERT
---------------------------------------------------------------------------------------------

---@class quicksilver.Insert
local Insert = util.class("Insert", DML)
Insert._k = K.INSERT
Insert._dml = "insert"
Insert.__tostring = DML.__tostring
M.Insert = Insert

-- An ORM model class given as the target is kept (_entity_class) for the
-- Session, which synchronises its objects; Core uses the table.
local function entity_of(t)
  if type(t) == "table" and not t._is_from and not t._is_clause and t.__select_entity__ then return t end
  return nil
end

function M.insert(t)
  local entity = entity_of(t)
  t = check_table(t, "insert")
  local stmt = setmetatable({table = t, _entity_class = entity}, Insert)
  -- the proposed row in an upsert: excluded.col (PostgreSQL, SQLite) and
  -- inserted.col (MySQL's VALUES(col))
  local excluded = selectable.Alias.new(t, "excluded")
  stmt.excluded = excluded.c
  stmt._excluded = excluded
  local inserted = {}
  for _, col in ipairs(t.columns) do
    inserted[col.key] = setmetatable({name = col.name, key = col.key, type = col.type}, ValuesRef)
  end
  stmt.inserted = inserted
  return stmt
end

local function upsert_pairs(t, map, what)
  if type(map) ~= "table" or next(map) == nil then
    exc.raise(exc.ArgumentError, what .. ": expected a non-empty table of column = value", nil, 4)
  end
  check_keys(t, map, what)
  local out = {}
  for _, col in ipairs(t.columns) do
    local v = map[col.key]
    if v ~= nil then
      out[#out + 1] = {col, elements.is_element(v) and v or BindParameter.anon(col.key, v, col.type)}
    end
  end
  return out
end

local function index_elements(t, list)
  if list == nil then return nil end
  local out = {}
  for i, c in ipairs(list) do
    out[i] = type(c) == "string" and t.c[c] or elements.coerce(c)
  end
  return out
end

-- SQLite parses "INSERT ... SELECT ... ON CONFLICT" only when the SELECT has
-- a WHERE: a true one is added (harmless elsewhere).
local function upsert_select(s)
  if s._select and not s._select._where then s._select = s._select:where(elements.true_()) end
end

--- ON CONFLICT (index_elements) DO UPDATE SET set_ [WHERE where] (PostgreSQL,
--- SQLite; constraint = name on PostgreSQL). Values may use stmt.excluded.col.
local UPSERT_OPTIONS = {update = util.set({"index_elements", "constraint", "set_", "where"}),
  nothing = util.set({"index_elements", "constraint"})}

function Insert:on_conflict_do_update(opts)
  opts = util.check_options("on_conflict_do_update", opts, UPSERT_OPTIONS.update, 2)
  local s = copy(self)
  s._on_conflict = {kind = "update", index_elements = index_elements(self.table, opts.index_elements),
    constraint = opts.constraint, set_ = upsert_pairs(self.table, opts.set_, "on_conflict_do_update"),
    where = opts.where ~= nil and elements.condition(opts.where, "on_conflict_do_update") or nil}
  upsert_select(s)
  return s
end

--- ON CONFLICT [(index_elements)] DO NOTHING.
function Insert:on_conflict_do_nothing(opts)
  opts = util.check_options("on_conflict_do_nothing", opts, UPSERT_OPTIONS.nothing, 2)
  local s = copy(self)
  s._on_conflict = {kind = "nothing", index_elements = index_elements(self.table, opts.index_elements),
    constraint = opts.constraint}
  upsert_select(s)
  return s
end

--- ON DUPLICATE KEY UPDATE col = value (MySQL, MariaDB); values may use
--- stmt.inserted.col.
function Insert:on_duplicate_key_update(map)
  local s = copy(self)
  s._on_duplicate = upsert_pairs(self.table, map, "on_duplicate_key_update")
  return s
end

--- values({col = v, ...}) for one row, or values({...}, {...}) for several
--- rows in one statement (multi-row VALUES).
function Insert:values(...)
  local n = select("#", ...)
  local first = ...
  if n == 0 or type(first) ~= "table" or first._is_clause then
    exc.raise(exc.ArgumentError, "Insert:values: expected a table of column = value", nil, 2)
  end
  local s = copy(self)
  if n == 1 and first[1] == nil then
    check_keys(self.table, first, "Insert:values")
    s._values = util.merge(self._values, first)
    return s
  end
  local rows = n == 1 and first or {...}
  for i, r in ipairs(rows) do
    if type(r) ~= "table" then
      exc.raise(exc.ArgumentError, "Insert:values: row " .. i .. " is not a table", nil, 2)
    end
    check_keys(self.table, r, "Insert:values")
  end
  s._multi = rows
  return s
end

--- INSERT INTO t (cols) SELECT ...
function Insert:from_select(cols, sel)
  local s = copy(self)
  local list = {}
  for i, c in ipairs(cols) do
    local col = type(c) == "string" and self.table.c[c] or c
    list[i] = col
  end
  s._select_columns = list
  s._select = sel
  return s
end

-- A default value node for column col that the row did not give (a
-- column's Sequence: its next value, on a dialect where it applies).
local function default_node(col, dialect)
  local d = col.default
  if d == nil then
    local seq = col.sequence
    if seq and dialect and seq:applies(dialect) then return seq:next_value() end
    return nil
  end
  if type(d) == "function" then return named_bind(col, nil), true end
  if elements.is_element(d) then return d end
  return named_bind(col, d)
end

--- The node to compile for executions giving keys (a set). Second result:
--- the columns whose default is a Lua function (called per row).
function Insert:_effective(keys, dialect)
  local t = self.table
  local e = setmetatable({table = t, _returning = self._returning, _select = self._select,
    _select_columns = self._select_columns, _on_conflict = self._on_conflict,
    _on_duplicate = self._on_duplicate, _prefixes = self._prefixes, _prefix_dialects = self._prefix_dialects}, Insert)
  -- a subquery in ON CONFLICT DO UPDATE's SET/WHERE correlates to the row
  -- being updated: the target (the compiler adds it) and excluded
  if self._on_conflict then e._upsert_froms = {self._excluded} end
  local fn_defaults = {}
  if self._select then return e, fn_defaults end
  if keys then check_keys(t, keys, "insert") end
  local pairs_ = {}
  if self._multi then
    local used = {}
    for _, r in ipairs(self._multi) do for k in pairs(r) do used[k] = true end end
    local cols = {}
    for _, col in ipairs(t.columns) do   -- given columns, and those with a Lua default
      if used[col.key] or col.default ~= nil or (col.sequence and dialect and col.sequence:applies(dialect)) then
        cols[#cols + 1] = col
      end
    end
    local rows = {}
    for ri, r in ipairs(self._multi) do
      local row = {}
      for ci, col in ipairs(cols) do
        local v = r[col.key]
        local node
        if v == nil and type(col.default) == "function" then
          v = col.default({current_parameters = r, column = col})   -- per row
        end
        if elements.is_element(v) then node = v
        elseif v == nil then node = default_node(col, dialect) or elements.null
        else node = BindParameter.anon(col.key, v, col.type) end
        row[ci] = node
      end
      if ri == 1 then
        for ci, col in ipairs(cols) do pairs_[ci] = {col, row[ci]} end
      else
        rows[#rows + 1] = row
      end
    end
    e._pairs, e._rows = pairs_, rows
    return e, fn_defaults
  end
  local values = self._values
  for _, col in ipairs(t.columns) do
    local v = values and values[col.key]
    local node
    if v ~= nil then
      node = elements.is_element(v) and v or named_bind(col, v)
    elseif keys and keys[col.key] then
      node = named_bind(col, nil)
    else
      local fn
      node, fn = default_node(col, dialect)
      if fn then fn_defaults[#fn_defaults + 1] = col end
    end
    if node then pairs_[#pairs_ + 1] = {col, node} end
  end
  e._pairs = pairs_
  return e, fn_defaults
end

---------------------------------------------------------------------------------------------
-- UPDATE
---------------------------------------------------------------------------------------------

---@class quicksilver.Update
local Update = util.class("Update", DML)
Update._k = K.UPDATE
Update._dml = "update"
Update.__tostring = DML.__tostring
M.Update = Update

function M.update(t)
  return setmetatable({table = check_table(t, "update"), _entity_class = entity_of(t)}, Update)
end

--- SET col = value (values may be expressions such as t.c.n + 1).
function Update:values(map)
  if type(map) ~= "table" or map._is_clause then
    exc.raise(exc.ArgumentError, "Update:values: expected a table of column = value", nil, 2)
  end
  check_keys(self.table, map, "Update:values")
  if self._ordered then
    exc.raise(exc.ArgumentError, "Update:values: this update has ordered_values(); use one or the other", nil, 2)
  end
  local s = copy(self)
  s._values = util.merge(self._values, map)
  return s
end

--- SET in this order ({column, value} pairs; MySQL applies SET left to
--- right, so `ordered_values({t.c.a, t.c.b}, {t.c.b, 1})` differs from the
--- other order there). Refused together with values().
---@return quicksilver.Update
function Update:ordered_values(...)
  if self._values then
    exc.raise(exc.ArgumentError, "ordered_values: this update already has values(); use one or the other", nil, 2)
  end
  if self._ordered then
    exc.raise(exc.ArgumentError, "ordered_values: may be called only once", nil, 2)
  end
  local list, seen = {}, {}
  for i = 1, select("#", ...) do
    local p = select(i, ...)
    if type(p) ~= "table" or p._is_clause or p[1] == nil then
      exc.raise(exc.ArgumentError, "ordered_values: expected {column, value} pairs, argument " .. i ..
        " is " .. util.repr(p, 40), nil, 2)
    end
    local col = p[1]
    if type(col) == "string" then
      if not selectable.has_column(self.table.c, col) then
        exc.raise(exc.ArgumentError, format("ordered_values: table '%s' has no column '%s'", self.table.name, col), nil, 2)
      end
      col = self.table.c[col]
    elseif type(col) == "table" and col.__clause_element__ and not col._is_clause then
      col = col:__clause_element__()
    end
    if type(col) ~= "table" or col._k ~= K.COLUMN or col.table ~= self.table then
      exc.raise(exc.ArgumentError, format("ordered_values: argument %d names no column of '%s'", i, self.table.name), nil, 2)
    end
    if seen[col] then
      exc.raise(exc.ArgumentError, format("ordered_values: column '%s' is given twice", col.name), nil, 2)
    end
    seen[col] = true
    list[#list + 1] = {col, p[2] == nil and elements.null or p[2]}
  end
  if #list == 0 then exc.raise(exc.ArgumentError, "ordered_values: expected {column, value} pairs", nil, 2) end
  local s = copy(self)
  s._ordered = list
  return s
end

--- The node to compile for executions giving keys (parameters that name
--- columns become SET entries; others may feed bindparam()s in WHERE).
function Update:_effective(keys)
  local t = self.table
  local e = setmetatable({table = t, _where = self._where, _returning = self._returning,
    _prefixes = self._prefixes, _prefix_dialects = self._prefix_dialects}, Update)
  local fn_defaults = {}
  local values = self._values
  local pairs_ = {}
  local ordered = self._ordered
  if ordered then   -- ordered_values: SET in the order given, first
    local set = {}
    for _, p in ipairs(ordered) do
      pairs_[#pairs_ + 1] = {p[1], elements.is_element(p[2]) and elements.coerce(p[2]) or named_bind(p[1], p[2])}
      set[p[1]] = true
    end
    values = nil
    for _, col in ipairs(t.columns) do   -- onupdate defaults of the others after them
      if not set[col] and col.onupdate ~= nil then
        if type(col.onupdate) == "function" then
          pairs_[#pairs_ + 1] = {col, named_bind(col, nil)}
          fn_defaults[#fn_defaults + 1] = col
        else
          pairs_[#pairs_ + 1] = {col, elements.is_element(col.onupdate) and col.onupdate or named_bind(col, col.onupdate)}
        end
      end
    end
  end
  for _, col in ipairs(ordered and {} or t.columns) do
    local v = values and values[col.key]
    local node
    if v ~= nil then
      node = elements.is_element(v) and elements.coerce(v) or named_bind(col, v)
    elseif keys and keys[col.key] then
      node = named_bind(col, nil)
    elseif col.onupdate ~= nil then
      if type(col.onupdate) == "function" then
        node = named_bind(col, nil)
        fn_defaults[#fn_defaults + 1] = col
      elseif elements.is_element(col.onupdate) then
        node = col.onupdate
      else
        node = named_bind(col, col.onupdate)
      end
    end
    if node then pairs_[#pairs_ + 1] = {col, node} end
  end
  local given = (values ~= nil and next(values) ~= nil) or ordered ~= nil
  if keys then for k in pairs(keys) do if selectable.has_column(t.c, k) then given = true end end end
  if not given then
    exc.raise(exc.ArgumentError, "update of '" .. t.name ..
      "' without values: call :values({...}) or pass parameters", nil, 4)
  end
  e._pairs = pairs_
  local exprs = {}
  for i, p in ipairs(pairs_) do exprs[i] = p[2] end
  e._extra_froms = extra_froms(t, self._where, util.unpack(exprs))
  return e, fn_defaults
end

---------------------------------------------------------------------------------------------
-- DELETE
---------------------------------------------------------------------------------------------

---@class quicksilver.Delete
local Delete = util.class("Delete", DML)
Delete._k = K.DELETE
Delete._dml = "delete"
Delete.__tostring = DML.__tostring
M.Delete = Delete

function M.delete(t)
  return setmetatable({table = check_table(t, "delete"), _entity_class = entity_of(t)}, Delete)
end

function Delete:_effective()
  local e = setmetatable(util.copy(self), Delete)
  e._compiled = nil
  e._extra_froms = extra_froms(self.table, self._where)
  return e, {}
end

-- set_shard (quicksilver.ext.horizontal_shard): the shard a ShardedSession
-- runs the statement on (SQLAlchemy's set_shard_id), kept as the execution
-- options are; the SQL does not change, other sessions ignore it.

--- Runs the statement on this shard only (in a ShardedSession).
---@param name string
function DML:set_shard(name)
  if type(name) ~= "string" or name == "" then
    exc.raise(exc.ArgumentError, "set_shard: expected a shard name (a non-empty string), got " ..
      (type(name) == "string" and "an empty string" or type(name)), nil, 2)
  end
  local s = copy(self)
  s._shard = name
  return s
end

return M
