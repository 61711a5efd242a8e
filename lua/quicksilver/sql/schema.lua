--- sql/schema.lua: MetaData, Table, Column, constraints, ForeignKey, Index
--- (SQLAlchemy's sql/schema.py). A Table is a TableClause with metadata;
--- columns keep their declaration order.
local core = require("quicksilver.core")
local ddl = require("quicksilver.sql.ddl")
local elements = require("quicksilver.sql.elements")
local exc = require("quicksilver.exc")
local selectable = require("quicksilver.sql.selectable")
local types = require("quicksilver.sql.types")
local visitors = require("quicksilver.sql.visitors")
local sequence = require("quicksilver.sql.sequence")
local util = require("quicksilver.util")

local M = {}

--- " (did you mean 'x'?)" for the column of table t closest to name, or "".
---@param t table
---@param name any
---@return string
function M.column_hint(t, name)
  if type(name) ~= "string" or not t.c then return "" end
  local keys = {}
  for i, col in ipairs(rawget(t.c, "_all") or {}) do keys[i] = col.key end
  return util.did_you_mean(name, keys)
end

local K = core.kinds
local setmetatable, type, tostring, select, pairs, ipairs = setmetatable, type, tostring, select, pairs, ipairs
local format = string.format

local DDL_EVENTS = {before_create = true, after_create = true, before_drop = true, after_drop = true}

---------------------------------------------------------------------------------------------
-- naming conventions
---------------------------------------------------------------------------------------------

local DEFAULT_CONVENTION = {ix = "ix_%(column_0_label)s"}
-- the kinds a convention names (SQLAlchemy's keys)
local CONVENTION_KINDS = util.set({"ix", "uq", "ck", "fk", "pk"})

-- Fills a convention template: %(table_name)s, %(column_0_name)s,
-- %(column_0_label)s, %(column_0N_name)s, %(referred_table_name)s,
-- %(referred_column_0_name)s, %(constraint_name)s.
local function apply_convention(template, info)
  return (template:gsub("%%%(([%w_]+)%)s", function(token)
    if token == "table_name" then return info.table.name end
    if token == "constraint_name" then return info.name or "" end
    if token == "referred_table_name" then return info.referred_table or "" end
    local n, what = token:match("^column_(%d+)_(%a+)$")
    if n then
      local col = info.columns[tonumber(n) + 1]
      if not col then return "" end
      if what == "name" then return col end
      if what == "label" then return info.table.name .. "_" .. col end
    end
    local all = token:match("^column_0N_(%a+)$") or token:match("^column_0_N_(%a+)$")
    if all then
      local parts = {}
      for i, col in ipairs(info.columns) do
        parts[i] = all == "label" and (info.table.name .. "_" .. col) or col
      end
      return table.concat(parts, token:find("_N_", 1, true) and "_" or "")
    end
    local rn = token:match("^referred_column_(%d+)_name$")
    if rn then return info.referred_columns and info.referred_columns[tonumber(rn) + 1] or "" end
    exc.raise(exc.ArgumentError, "naming_convention: unknown token %(" .. token .. ")s", nil, 6)
  end))
end

local function convention_name(metadata, kind, info)
  local conv = metadata and metadata.naming_convention or DEFAULT_CONVENTION
  local template = conv[kind] or DEFAULT_CONVENTION[kind]
  if not template then return info.name end
  if info.name and not template:find("%(constraint_name)s", 1, true) then return info.name end
  if kind == "ck" and not info.name and template:find("%(constraint_name)s", 1, true) then
    return nil
  end
  return apply_convention(template, info)
end

---------------------------------------------------------------------------------------------
-- MetaData
---------------------------------------------------------------------------------------------

---@class quicksilver.MetaData
---@field tables table<string, quicksilver.Table>
local MetaData = util.class("MetaData")
MetaData._event_names = DDL_EVENTS
M.MetaData = MetaData

local METADATA_OPTIONS = util.set({"schema", "naming_convention"})

--- qs.MetaData({schema = "s", naming_convention = {ix, uq, ck, fk, pk}})
function M.metadata(opts)
  opts = util.check_options("MetaData", opts, METADATA_OPTIONS, 2)
  if opts.naming_convention ~= nil then
    util.check_options("MetaData naming_convention", opts.naming_convention, CONVENTION_KINDS, 2)
  end
  return setmetatable({tables = {}, sorted = {}, schema = opts.schema,
    naming_convention = opts.naming_convention and util.merge(DEFAULT_CONVENTION, opts.naming_convention)
      or nil}, MetaData)
end

MetaData.__tostring = function() return "MetaData()" end

--- Tables in foreign-key dependency order (referred tables first).
---@return quicksilver.Table[]
function MetaData:sorted_tables()
  local order, state = {}, {}
  local function visit(t, path)
    if state[t] == "done" then return end
    if state[t] == "visiting" then
      exc.raise(exc.CircularDependencyError, "circular foreign-key dependency between tables: " ..
        table.concat(path, " -> "), nil, 5)
    end
    state[t] = "visiting"
    path[#path + 1] = t.name
    for _, fk in ipairs(t.foreign_keys) do
      local target = fk:get_column()
      local alter = fk.use_alter or (fk.constraint and fk.constraint.use_alter)
      if target and target.table ~= t and target.table.metadata == self and not alter then
        visit(target.table, path)
      end
    end
    path[#path] = nil
    state[t] = "done"
    order[#order + 1] = t
  end
  for _, t in ipairs(self.sorted) do visit(t, {}) end
  return order
end

--- Removes a table from this metadata.
function MetaData:remove(t)
  self.tables[t.fullname] = nil
  for i, x in ipairs(self.sorted) do
    if x == t then table.remove(self.sorted, i); break end
  end
end

function MetaData:clear()
  self.tables, self.sorted = {}, {}
end

---------------------------------------------------------------------------------------------
-- Column
---------------------------------------------------------------------------------------------

---@class quicksilver.Column: quicksilver.ColumnClause
local Column = elements.column_class("Column", elements.ColumnClause)
Column._k = K.COLUMN
M.Column = Column

-- quote and system (SQLAlchemy's forced quoting and columns left out of
-- CREATE TABLE) are not taken: identifiers are quoted when they need it.
-- comment: COMMENT ON (PostgreSQL) or inline (MySQL); SQLite keeps none.
local COLUMN_OPTIONS = util.set({"primary_key", "nullable", "default", "server_default",
  "unique", "index", "autoincrement", "key", "comment", "onupdate",
  "server_onupdate", "doc", "info", "name", "type_", "insert_default", "identity", "computed", "sequence"})

--- qs.Column(name, type?, ForeignKey..., {options})
function M.column(...)
  local args = {...}
  local n = select("#", ...)
  local name, t, opts
  local fks = {}
  local i = 1
  if type(args[1]) == "string" then name = args[1]; i = 2 end
  for j = i, n do
    local a = args[j]
    if type(a) == "table" and a._is_type then
      t = a
    elseif type(a) == "table" and a._is_foreign_key then
      fks[#fks + 1] = a
    elseif type(a) == "table" and not a._is_clause and j == n then
      opts = a
    elseif a ~= nil then
      exc.raise(exc.ArgumentError, format("Column %s: unexpected argument %s", tostring(name),
        util.repr(a, 40)), nil, 2)
    end
  end
  opts = util.check_options("Column " .. tostring(name or (opts and opts.name)), opts, COLUMN_OPTIONS, 2)
  if opts.comment ~= nil and type(opts.comment) ~= "string" then
    exc.raise(exc.ArgumentError, format("Column %s: comment must be a string", tostring(name)), nil, 2)
  end
  if t == nil and opts.type_ ~= nil then t = opts.type_ end
  name = name or opts.name
  local identity, computed, seq = sequence.column_options("Column " .. tostring(name), opts, 2)
  -- default = false is a default (a Boolean's), not "none": `x ~= nil and x or y` would drop it
  local default = opts.default
  if default == nil then default = opts.insert_default end
  local col = setmetatable({
    name = name, key = opts.key or name, type = t and types.to_instance(t) or nil,
    primary_key = opts.primary_key and true or false,
    nullable = opts.nullable,
    default = default,
    server_default = opts.server_default, onupdate = opts.onupdate,
    server_onupdate = opts.server_onupdate,
    unique = opts.unique, index = opts.index,
    autoincrement = opts.autoincrement == nil and "auto" or opts.autoincrement,
    comment = opts.comment, doc = opts.doc, info = opts.info or {}, foreign_keys = {},
    identity = identity, computed = computed, sequence = seq,
  }, Column)
  if col.nullable == nil then col.nullable = not col.primary_key end
  for _, fk in ipairs(fks) do
    fk.parent = col
    col.foreign_keys[#col.foreign_keys + 1] = fk
  end
  return col
end

--- A copy of the column, not attached to a table (for another table).
function Column:copy()
  local c = setmetatable(util.copy(self), Column)
  c.table = nil
  c.foreign_keys = {}
  for _, fk in ipairs(self.foreign_keys) do
    local f = fk:copy()
    f.parent = c
    c.foreign_keys[#c.foreign_keys + 1] = f
  end
  return c
end

Column.__tostring = function(self)
  if self.table then return tostring(self.table.name) .. "." .. tostring(self.name) end
  return tostring(self.name)
end

---------------------------------------------------------------------------------------------
-- ForeignKey and constraints
---------------------------------------------------------------------------------------------

---@class quicksilver.ForeignKey
local ForeignKey = util.class("ForeignKey")
ForeignKey._is_foreign_key = true
M.ForeignKey = ForeignKey

local ACTIONS = {CASCADE = true, ["SET NULL"] = true, ["SET DEFAULT"] = true, RESTRICT = true,
  ["NO ACTION"] = true}

local function check_action(v, what)
  if v ~= nil and (type(v) ~= "string" or not ACTIONS[v:upper()]) then
    exc.raise(exc.ArgumentError, format("ForeignKey %s must be CASCADE, SET NULL, SET DEFAULT, " ..
      "RESTRICT or NO ACTION, got %s", what, tostring(v)), nil, 4)
  end
  return v and v:upper()
end

-- DEFERRABLE / INITIALLY of a constraint (rendered as SQLAlchemy does; the
-- database refuses what it has not).
local function check_deferrability(opts, what)
  if opts.deferrable ~= nil and type(opts.deferrable) ~= "boolean" then
    exc.raise(exc.ArgumentError, what .. ": deferrable must be true or false", nil, 4)
  end
  local i = opts.initially
  if i ~= nil and (type(i) ~= "string" or not (i:upper() == "DEFERRED" or i:upper() == "IMMEDIATE")) then
    exc.raise(exc.ArgumentError, what .. ": initially must be 'DEFERRED' or 'IMMEDIATE', got " ..
      util.repr(i, 40), nil, 4)
  end
  return opts.deferrable, i and i:upper()
end

local FK_OPTIONS = util.set({"ondelete", "onupdate", "name", "use_alter", "deferrable", "initially"})

--- qs.ForeignKey("table.column" | column, {ondelete, onupdate, name, use_alter,
--- deferrable, initially})
function M.foreign_key(target, opts)
  opts = util.check_options("ForeignKey", opts, FK_OPTIONS, 2)
  if type(target) ~= "string" and not (type(target) == "table" and target._k == K.COLUMN) then
    exc.raise(exc.ArgumentError, "ForeignKey: expected 'table.column' or a Column", nil, 2)
  end
  local deferrable, initially = check_deferrability(opts, "ForeignKey")
  return setmetatable({_target = target, ondelete = check_action(opts.ondelete, "ondelete"),
    onupdate = check_action(opts.onupdate, "onupdate"), name = opts.name,
    use_alter = opts.use_alter, deferrable = deferrable, initially = initially}, ForeignKey)
end

function ForeignKey:copy()
  return setmetatable({_target = self._target, ondelete = self.ondelete, onupdate = self.onupdate,
    name = self.name, use_alter = self.use_alter, deferrable = self.deferrable, initially = self.initially},
    ForeignKey)
end

--- The referred column, resolved through the parent table's MetaData.
function ForeignKey:get_column()
  if self.column then return self.column end
  local target = self._target
  if type(target) == "table" then
    self.column = target
    return target
  end
  local parent = self.parent
  local md = parent and parent.table and parent.table.metadata
  if not md then return nil end
  local tname, cname = target:match("^(.*)%.([^.]+)$")
  if not tname then
    exc.raise(exc.ArgumentError, "ForeignKey '" .. target .. "': expected 'table.column'", nil, 3)
  end
  local t = md.tables[tname]
  if not t and parent.table.schema then t = md.tables[parent.table.schema .. "." .. tname] end
  if not t then return nil end
  local col = rawget(t.c, cname)
  if not col then
    exc.raise(exc.NoReferencedColumnError, format("ForeignKey '%s': table '%s' has no column '%s'%s",
      target, tname, cname, M.column_hint(t, cname)), nil, 3)
  end
  self.column = col
  if parent.type == nil then parent.type = col.type end
  return col
end

--- The referred table name and column name as written.
function ForeignKey:target_fullname()
  if type(self._target) == "string" then return self._target end
  return self._target.table.name .. "." .. self._target.name
end

local Constraint = util.class("Constraint")
Constraint._is_constraint = true
M.Constraint = Constraint

local KEY_OPTIONS = util.set({"name", "deferrable", "initially"})

local function constraint_ctor(kind, what)
  return function(...)
    local cols, opts = {}, nil
    local n = select("#", ...)
    for i = 1, n do
      local a = select(i, ...)
      if type(a) == "string" then cols[#cols + 1] = a
      elseif type(a) == "table" and a._k == K.COLUMN then cols[#cols + 1] = a.name
      elseif type(a) == "table" and i == n and not a._is_clause then opts = a
      else exc.raise(exc.ArgumentError, what .. ": expected column names", nil, 2) end
    end
    opts = util.check_options(what, opts, KEY_OPTIONS, 2)
    local deferrable, initially = check_deferrability(opts, what)
    return setmetatable({kind = kind, columns = cols, name = opts.name, deferrable = deferrable,
      initially = initially}, Constraint)
  end
end

M.PrimaryKeyConstraint = constraint_ctor("primary_key", "PrimaryKeyConstraint")
M.UniqueConstraint = constraint_ctor("unique", "UniqueConstraint")

--- qs.ForeignKeyConstraint({"a", "b"}, {"t.x", "t.y"}, {ondelete, onupdate, name, use_alter,
--- deferrable, initially})
function M.ForeignKeyConstraint(cols, refs, opts)
  opts = util.check_options("ForeignKeyConstraint", opts, FK_OPTIONS, 2)
  local deferrable, initially = check_deferrability(opts, "ForeignKeyConstraint")
  if type(cols) ~= "table" or type(refs) ~= "table" or #cols ~= #refs or #cols == 0 then
    exc.raise(exc.ArgumentError, "ForeignKeyConstraint: expected two lists of equal length", nil, 2)
  end
  local names = {}
  for i, c in ipairs(cols) do names[i] = type(c) == "table" and c.name or c end
  return setmetatable({kind = "foreign_key", columns = names, refs = refs, name = opts.name,
    ondelete = check_action(opts.ondelete, "ondelete"), onupdate = check_action(opts.onupdate, "onupdate"),
    use_alter = opts.use_alter, deferrable = deferrable, initially = initially},
    Constraint)
end

local CHECK_OPTIONS = util.set({"name"})

--- qs.CheckConstraint("sql text" | expression, {name})
function M.CheckConstraint(sqltext, opts)
  opts = util.check_options("CheckConstraint", opts, CHECK_OPTIONS, 2)
  if type(sqltext) == "string" then sqltext = elements.text(sqltext)
  elseif not elements.is_element(sqltext) then
    exc.raise(exc.ArgumentError, "CheckConstraint: expected SQL text or an expression", nil, 2)
  end
  return setmetatable({kind = "check", sqltext = sqltext, name = opts.name, columns = {}}, Constraint)
end

---------------------------------------------------------------------------------------------
-- Index
---------------------------------------------------------------------------------------------

---@class quicksilver.Index
local Index = util.class("Index")
Index._is_index = true
M.Index = Index

-- Index options: each dialect's own (SQLAlchemy's dialect kwargs) apply on
-- that database only: postgresql_where / sqlite_where make a partial index
-- there, postgresql_using names the access method.
local INDEX_OPTIONS = util.set({"unique", "postgresql_where", "sqlite_where", "postgresql_using",
  "mysql_length", "mariadb_length"})

--- qs.Index(name, col_or_name, ..., {unique, postgresql_where, sqlite_where,
--- postgresql_using, mysql_length = n | {column = n}}); attaches to the columns' table (or, with names, to
--- the Table it is given to).
function M.index(name, ...)
  local exprs, opts = {}, nil
  local n = select("#", ...)
  for i = 1, n do
    local a = select(i, ...)
    if type(a) == "table" and not a._is_clause and i == n then opts = a
    elseif a ~= nil then exprs[#exprs + 1] = a end
  end
  opts = util.copy(util.check_options("Index " .. tostring(name), opts, INDEX_OPTIONS, 2))
  for _, k in ipairs({"postgresql_where", "sqlite_where"}) do
    local w = opts[k]
    if type(w) == "string" then w = elements.text(w) end
    if w ~= nil and not elements.is_element(w) then
      exc.raise(exc.ArgumentError, format("Index %s: %s must be SQL text or an expression", tostring(name), k), nil, 2)
    end
    opts[k] = w   -- the copy's
  end
  local using = opts.postgresql_using
  if using ~= nil and (type(using) ~= "string" or not using:match("^[%a_]+$")) then
    exc.raise(exc.ArgumentError, format("Index %s: postgresql_using must be an access method name " ..
      "(btree, hash, gist, gin, ...)", tostring(name)), nil, 2)
  end
  local mlen = opts.mysql_length
  if opts.mariadb_length ~= nil then
    if mlen ~= nil then
      exc.raise(exc.ArgumentError, format("Index %s: give mysql_length or mariadb_length, not both", tostring(name)), nil, 2)
    end
    mlen = opts.mariadb_length
  end
  M.check_mysql_length(mlen, "Index " .. tostring(name), 3)
  local idx = setmetatable({name = name, _exprs = exprs, unique = opts.unique and true or false,
    postgresql_where = opts.postgresql_where, sqlite_where = opts.sqlite_where, postgresql_using = using,
    mysql_length = mlen}, Index)
  for _, e in ipairs(exprs) do
    local t = M.expression_table(e)
    if t then
      idx:_attach(t)
      break
    end
  end
  return idx
end

--- The Table whose column an index expression uses: the column's own, or the
--- first one found inside an expression (`func.lower(t.c.name)`,
--- `t.c.x:desc()`), as SQLAlchemy attaches a functional index; nil when the
--- expression names no table column (SQL text, column names as strings).
---@param e any
---@return quicksilver.Table|nil
function M.expression_table(e)
  if type(e) ~= "table" or not e._is_clause then return nil end
  local found
  visitors.walk(e, function(n)
    if found == nil and type(n) == "table" and n._k == K.COLUMN then
      local t = rawget(n, "table")
      if type(t) == "table" and t.indexes then found = t end
    end
  end)
  return found
end

--- Checks a mysql_length option: a positive integer or {column = n}.
function M.check_mysql_length(v, what, level)
  if v == nil then return end
  local function bad()
    exc.raise(exc.ArgumentError, what .. ": mysql_length must be a positive integer or {column = length}", nil,
      level + 1)
  end
  if type(v) == "number" then
    if v < 1 or v ~= math.floor(v) then bad() end
  elseif type(v) == "table" then
    for k, n in pairs(v) do
      if type(k) ~= "string" or type(n) ~= "number" or n < 1 or n ~= math.floor(n) then bad() end
    end
  else
    bad()
  end
end

function Index:_attach(t)
  if self.table == t then return end
  self.table = t
  local exprs = {}
  for i, e in ipairs(self._exprs) do
    if type(e) == "string" then
      local col = rawget(t.c, e)
      if not col then
        exc.raise(exc.ArgumentError, format("Index %s: table '%s' has no column '%s'%s",
          tostring(self.name), t.name, e, M.column_hint(t, e)), nil, 4)
      end
      exprs[i] = col
    else
      exprs[i] = e
    end
  end
  self.expressions = exprs
  t.indexes[#t.indexes + 1] = self
  if not self.name then
    local cols = {}
    for _, e in ipairs(exprs) do cols[#cols + 1] = e.name or "expr" end
    self.name = convention_name(t.metadata, "ix", {table = t, columns = cols})
  end
end

---------------------------------------------------------------------------------------------
-- Table
---------------------------------------------------------------------------------------------

---@class quicksilver.Table: quicksilver.TableClause
local Table = util.class("Table", selectable.TableClause)
Table._k = K.TABLE
Table._event_names = DDL_EVENTS
Table.__tostring = selectable.TableClause.__tostring
M.Table = Table

-- prefixes (CREATE TEMPORARY TABLE ...) and sqlite_autoincrement are not
-- rendered, so not taken.
local TABLE_OPTIONS = util.set({"schema", "comment", "extend_existing", "keep_existing",
  "autoload_with", "info", "mysql_engine", "mysql_charset", "mysql_collate",
  "mariadb_engine", "mariadb_charset", "mariadb_collate"})

--- qs.Table(name, metadata, Column..., Constraint..., Index..., {options})
function M.table(name, metadata, ...)
  if type(name) ~= "string" or name == "" then
    exc.raise(exc.ArgumentError, "Table: name must be a non-empty string", nil, 2)
  end
  if getmetatable(metadata) ~= MetaData then
    exc.raise(exc.ArgumentError, "Table '" .. name .. "': the second argument must be a MetaData", nil, 2)
  end
  local items, opts = {}, {}
  local n = select("#", ...)
  for i = 1, n do
    local a = select(i, ...)
    if type(a) == "table" and (a._is_clause or a._is_constraint or a._is_index) then
      items[#items + 1] = a
    elseif type(a) == "table" and i == n then
      opts = a
    elseif a ~= nil then
      exc.raise(exc.ArgumentError, format("Table '%s': unexpected argument %s", name, util.repr(a, 40)), nil, 2)
    end
  end
  util.check_options(format("Table '%s'", name), opts, TABLE_OPTIONS, 2)
  if opts.comment ~= nil and type(opts.comment) ~= "string" then
    exc.raise(exc.ArgumentError, format("Table '%s': comment must be a string", name), nil, 2)
  end
  -- MySQL/MariaDB table options (either prefix; MySQL's CREATE TABLE only): bare names
  local mysql_opts = {}
  for _, k in ipairs({"engine", "charset", "collate"}) do
    local v, w = opts["mysql_" .. k], opts["mariadb_" .. k]
    if v ~= nil and w ~= nil then
      exc.raise(exc.ArgumentError, format("Table '%s': give mysql_%s or mariadb_%s, not both", name, k, k), nil, 2)
    end
    v = v or w
    if v ~= nil and (type(v) ~= "string" or not v:match("^[%w_]+$")) then
      exc.raise(exc.ArgumentError, format("Table '%s': mysql_%s must be a bare name", name, k), nil, 2)
    end
    mysql_opts["mysql_" .. k] = v
  end
  local schema = opts.schema or metadata.schema
  local fullname = schema and (schema .. "." .. name) or name
  if opts.autoload_with ~= nil then
    local bind = opts.autoload_with
    if type(bind) ~= "table" or not bind._reflect_table then
      exc.raise(exc.ArgumentError, format("Table '%s': autoload_with must be an engine or connection", name), nil, 2)
    end
    if metadata.tables[fullname] and not opts.extend_existing then return metadata.tables[fullname] end
    local t = bind:_reflect_table(metadata, name, {schema = schema})
    -- columns given as well override the reflected ones' definitions
    for _, a in ipairs(items) do
      if a._k == K.COLUMN and rawget(t.c, a.key) then
        local old = rawget(t.c, a.key)
        for k, v in pairs(a) do if k ~= "table" and k ~= "foreign_keys" then old[k] = v end end
      end
    end
    return t
  end
  local existing = metadata.tables[fullname]
  if existing and opts.keep_existing then return existing end   -- the first definition stays
  if existing and not opts.extend_existing then
    if #items == 0 then return existing end
    exc.raise(exc.InvalidRequestError, format("Table '%s' is already defined for this MetaData " ..
      "instance (use extend_existing = true to redefine)", fullname), nil, 2)
  end
  if existing then metadata:remove(existing) end
  local t = setmetatable({name = name, schema = schema, fullname = fullname, metadata = metadata,
    columns = {}, foreign_keys = {}, constraints = {}, indexes = {}, comment = opts.comment,
    mysql_engine = mysql_opts.mysql_engine, mysql_charset = mysql_opts.mysql_charset,
    mysql_collate = mysql_opts.mysql_collate, info = opts.info or {}}, Table)
  t.c = selectable.column_collection(name, {})
  local pending_indexes = {}
  for _, a in ipairs(items) do
    if a._k == K.COLUMN then t:append_column(a)
    elseif a._is_constraint then t:append_constraint(a)
    elseif a._is_index then pending_indexes[#pending_indexes + 1] = a end
  end
  -- primary key from columns unless a PrimaryKeyConstraint named them
  if not t.primary_key then
    local pk = {}
    for _, c in ipairs(t.columns) do if c.primary_key then pk[#pk + 1] = c.name end end
    t.primary_key = setmetatable({kind = "primary_key", columns = pk}, Constraint)
  end
  t.primary_key.name = convention_name(metadata, "pk", {table = t, columns = t.primary_key.columns,
    name = t.primary_key.name})
  for _, c in ipairs(t.columns) do
    if c.unique then
      t.constraints[#t.constraints + 1] = setmetatable({kind = "unique", columns = {c.name},
        name = convention_name(metadata, "uq", {table = t, columns = {c.name}})}, Constraint)
    end
  end
  for _, idx in ipairs(pending_indexes) do idx:_attach(t) end
  for _, c in ipairs(t.columns) do
    if c.index then M.index(nil, c, {unique = c.unique == true and c.index == "unique"}) end
  end
  metadata.tables[fullname] = t
  metadata.sorted[#metadata.sorted + 1] = t
  return t
end

-- The referred table and column names of "table.column" / "schema.table.column"
-- or a Column, without resolving it.
local function referred_names(target)
  if type(target) == "table" then return target.table and target.table.name, target.name end
  local tname, cname = tostring(target):match("^(.*)%.([^.]+)$")
  if tname then tname = tname:match("([^.]+)$") end
  return tname, cname
end

-- A foreign key without a name gets the naming convention's "fk" one.
local function name_foreign_key(t, fk)
  if fk.constraint then return end
  local rt, rc = referred_names(fk._target)
  fk.name = convention_name(t.metadata, "fk", {table = t, columns = {fk.parent.name}, name = fk.name,
    referred_table = rt, referred_columns = {rc}})
end

function Table:append_column(col)
  if elements.class_of(col) ~= Column then
    exc.raise(exc.ArgumentError, "Table:append_column: expected a qs.Column", nil, 2)
  end
  if col.table and col.table ~= self then col = col:copy() end
  if not col.name then
    exc.raise(exc.ArgumentError, "Table '" .. self.name .. "': a column needs a name", nil, 3)
  end
  if rawget(self.c, col.key) then
    exc.raise(exc.ArgumentError, format("Table '%s': duplicate column '%s'", self.name, col.key), nil, 3)
  end
  col.table = self
  elements.subscriptable(col)   -- an ARRAY column takes col[i]
  self.columns[#self.columns + 1] = col
  rawget(self.c, "_all")[#self.columns] = col
  rawset(self.c, col.key, col)
  for _, fk in ipairs(col.foreign_keys) do
    self.foreign_keys[#self.foreign_keys + 1] = fk
    name_foreign_key(self, fk)
  end
  if col.primary_key and self.primary_key then
    self.primary_key.columns[#self.primary_key.columns + 1] = col.name
  end
end

function Table:append_constraint(con)
  if con.kind == "primary_key" then
    self.primary_key = con
    for _, name in ipairs(con.columns) do
      local col = rawget(self.c, name)
      if not col then
        exc.raise(exc.ArgumentError, format("PrimaryKeyConstraint: table '%s' has no column '%s'%s",
          self.name, name, M.column_hint(self, name)), nil, 3)
      end
      col.primary_key = true
      col.nullable = false
    end
    return
  end
  if con.kind == "foreign_key" then
    for i, cname in ipairs(con.columns) do
      local col = rawget(self.c, cname)
      if not col then
        exc.raise(exc.ArgumentError, format("ForeignKeyConstraint: table '%s' has no column '%s'%s",
          self.name, cname, M.column_hint(self, cname)), nil, 3)
      end
      local fk = M.foreign_key(con.refs[i], {ondelete = con.ondelete, onupdate = con.onupdate})
      fk.parent = col
      fk.constraint = con
      col.foreign_keys[#col.foreign_keys + 1] = fk
      self.foreign_keys[#self.foreign_keys + 1] = fk
    end
    local rt = referred_names(con.refs[1])
    local rcols = {}
    for i, r in ipairs(con.refs) do rcols[i] = select(2, referred_names(r)) end
    con.name = convention_name(self.metadata, "fk", {table = self, columns = con.columns, name = con.name,
      referred_table = rt, referred_columns = rcols})
  end
  if con.kind == "unique" or con.kind == "check" then
    con.name = convention_name(self.metadata, con.kind == "unique" and "uq" or "ck",
      {table = self, columns = con.columns, name = con.name})
  end
  self.constraints[#self.constraints + 1] = con
end

--- Whether the column should get the dialect's auto-increment: a single
--- integer primary key column, unless autoincrement = false.
function Table:_autoincrement_column()
  local pk = self.primary_key.columns
  if #pk ~= 1 then
    for _, name in ipairs(pk) do
      local c = rawget(self.c, name)
      if c.autoincrement == true then return c end
    end
    return nil
  end
  local c = rawget(self.c, pk[1])
  if c.autoincrement == false then return nil end
  if c.type and c.type._affinity == "integer" and #c.foreign_keys == 0 then return c end
  if c.autoincrement == true then return c end
  return nil
end

--- The primary key columns, in order.
function Table:primary_key_columns()
  local out = {}
  for i, name in ipairs(self.primary_key.columns) do out[i] = rawget(self.c, name) end
  return out
end

--- CREATE TABLE (and its indexes) on bind (an Engine or Connection).
local CREATE_OPTIONS = util.set({"checkfirst"})
local CREATE_ALL_OPTIONS = util.set({"checkfirst", "tables"})

function Table:create(bind, opts)
  util.check_options("Table:create", opts, CREATE_OPTIONS, 2)
  ddl.create_tables(bind, self.metadata, {self}, opts)
end

--- DROP TABLE on bind.
function Table:drop(bind, opts)
  util.check_options("Table:drop", opts, CREATE_OPTIONS, 2)
  ddl.drop_tables(bind, self.metadata, {self}, opts)
end

--- metadata:create_all(bind, {checkfirst = true, tables = {...}})
--- metadata:reflect({bind = engine, only = {...}, views = true, schema = s}):
--- Tables for what the database has. (The bind does the reading: the
--- engine layer knows the catalogs.)
local REFLECT_OPTIONS = util.set({"bind", "only", "views", "schema"})

function MetaData:reflect(opts)
  util.check_options("MetaData:reflect", opts, REFLECT_OPTIONS, 2)
  if type(opts) ~= "table" or type(opts.bind) ~= "table" or not opts.bind._reflect_metadata then
    exc.raise(exc.ArgumentError, "MetaData:reflect: give {bind = engine or connection}", nil, 2)
  end
  return opts.bind:_reflect_metadata(self, opts)
end

function MetaData:create_all(bind, opts)
  opts = util.check_options("create_all", opts, CREATE_ALL_OPTIONS, 2)
  ddl.create_tables(bind, self, opts.tables, opts)
end

--- metadata:drop_all(bind, {checkfirst = true, tables = {...}})
function MetaData:drop_all(bind, opts)
  opts = util.check_options("drop_all", opts, CREATE_ALL_OPTIONS, 2)
  ddl.drop_tables(bind, self, opts.tables, opts)
end

return M
