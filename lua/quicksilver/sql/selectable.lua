--- sql/selectable.lua: FROM elements and SELECT (SQLAlchemy's sql/selectable.py).
--- Tables, aliases and joins are FromClauses with a `.c` collection; Select is
--- immutable and generative: every method returns a new Select.
local core = require("quicksilver.core")
local elements = require("quicksilver.sql.elements")
local exc = require("quicksilver.exc")
local types = require("quicksilver.sql.types")
local util = require("quicksilver.util")
local statement = require("quicksilver.sql.statement")

local M = {}

local K = core.kinds
local setmetatable, type, tostring, select, pairs, ipairs, next =
  setmetatable, type, tostring, select, pairs, ipairs, next
local coerce, condition, is_element = elements.coerce, elements.condition, elements.is_element
local mtype = math.type

---------------------------------------------------------------------------------------------
-- column collections
---------------------------------------------------------------------------------------------

--- A `.c` collection: columns by key, in order in `_all`; an unknown key raises.
local ColumnCollection = {}
ColumnCollection.__index = function(self, k)
  if type(k) == "string" and k:sub(1, 1) ~= "_" then
    local keys = {}
    for i, col in ipairs(rawget(self, "_all") or {}) do keys[i] = col.key end
    exc.raise(exc.ArgumentError, string.format("%s has no column '%s'%s",
      rawget(self, "_owner") or "this table", k, util.did_you_mean(k, keys)), nil, 2)
  end
  return nil
end
ColumnCollection.__len = function(self) return #rawget(self, "_all") end

function M.column_collection(owner_name, cols)
  local c = setmetatable({_all = cols or {}, _owner = owner_name}, ColumnCollection)
  for _, col in ipairs(c._all) do
    if rawget(c, col.key) == nil then rawset(c, col.key, col) end
  end
  return c
end

--- The columns of a collection, in order.
function M.columns_of(c) return rawget(c, "_all") end

--- Whether collection c has key k.
function M.has_column(c, k) return rawget(c, k) ~= nil and k:sub(1, 1) ~= "_" end

---------------------------------------------------------------------------------------------
-- FromClause
---------------------------------------------------------------------------------------------

---@class quicksilver.FromClause: quicksilver.ClauseElement
local FromClause = util.class("FromClause", elements.ClauseElement)
FromClause._is_from = true
FromClause.__tostring = elements.ClauseElement.__tostring
M.FromClause = FromClause

function FromClause:_from_objects() return {self} end

local Join, Alias   -- forward

--- self JOIN right ON onclause (inferred from foreign keys when omitted).
---@param opts? {isouter?: boolean, full?: boolean}
function FromClause:join(right, onclause, opts)
  return Join.new(self, right, onclause, opts)
end

--- self LEFT OUTER JOIN right.
function FromClause:outerjoin(right, onclause, opts)
  opts = util.merge(opts, {isouter = true})
  return Join.new(self, right, onclause, opts)
end

--- An alias of this FROM element (anonymous when name is nil).
function FromClause:alias(name)
  return Alias.new(self, name)
end

--- SELECT of all columns of this FROM element.
function FromClause:select()
  return M.select(self)
end

--- The tables this FROM element is made of (a join's both sides).
function FromClause:_tables() return {self} end

---@class quicksilver.TableClause: quicksilver.FromClause
---@field name string
---@field c table
local TableClause = util.class("TableClause", FromClause)
TableClause._k = K.TABLE
TableClause.__tostring = function(self) return self.schema and (self.schema .. "." .. self.name) or self.name end
M.TableClause = TableClause

--- A lightweight table (qs.table): a name and qs.column()s, no metadata.
function M.table(name, ...)
  if type(name) ~= "string" then
    exc.raise(exc.ArgumentError, "table: name must be a string", nil, 2)
  end
  local t = setmetatable({name = name, foreign_keys = {}}, TableClause)
  local cols = {}
  for i = 1, select("#", ...) do
    local c = select(i, ...)
    if type(c) == "table" and c._is_clause and c._k == K.COLUMN then
      local col = setmetatable(util.copy(c), getmetatable(c))
      col.table = t
      cols[#cols + 1] = col
    elseif type(c) == "table" and not c._is_clause and i == select("#", ...) then
      t.schema = c.schema
    else
      exc.raise(exc.ArgumentError, "table: expected qs.column() arguments", nil, 2)
    end
  end
  t.columns = cols
  t.c = M.column_collection(name, cols)
  return t
end

-- Alias ----------------------------------------------------------------------------------------

Alias = util.class("Alias", FromClause)
Alias._k = K.ALIAS
Alias.__tostring = elements.ClauseElement.__tostring
M.Alias = Alias

function Alias.new(element, name, source, class)
  if name ~= nil and type(name) ~= "string" then
    exc.raise(exc.ArgumentError, "alias: name must be a string", nil, 3)
  end
  local a = setmetatable({element = element, name = name}, class or Alias)
  local cols = {}
  if source then   -- given: a values(), text() or table-valued function's columns
  elseif element._result_columns then   -- a select or a compound
    source = element:_result_columns()
  else
    source = M.columns_of(element.c)
  end
  for i, col in ipairs(source) do
    cols[i] = elements.subscriptable(setmetatable({name = col.name, key = col.key or col.name, type = col.type,
      table = a, _proxied = col}, elements.ColumnClause))
  end
  a.columns = cols
  a.c = M.column_collection(name or "anonymous alias", cols)
  a.foreign_keys = element.foreign_keys or {}
  a._original = element._original or element
  return a
end

-- Join -----------------------------------------------------------------------------------------

Join = util.class("Join", FromClause)
Join._k = K.JOIN
Join.__tostring = elements.ClauseElement.__tostring
M.Join = Join

local function tables_of(f)
  if f._k == K.JOIN then
    local out = tables_of(f.left)
    for _, t in ipairs(tables_of(f.right)) do out[#out + 1] = t end
    return out
  end
  return {f}
end
M.tables_of = tables_of

-- The column a foreign key points at, seen through an alias of its table.
local function fk_target_in(fk, from)
  local target = fk:get_column()
  if not target then return nil end
  if from._k == K.ALIAS then
    for _, c in ipairs(from.columns) do
      if c._proxied == target then return c end
    end
    return nil
  end
  if target.table == from then return target end
  return nil
end

-- Columns of from corresponding to a column of its original table.
local function corresponding(from, col)
  if from._k == K.ALIAS then
    for _, c in ipairs(from.columns) do
      if c._proxied == col then return c end
    end
    return nil
  end
  return col
end

-- ON clause from the foreign keys between left (any of its tables) and right.
local function infer_onclause(left, right)
  local conds = {}
  local function scan(a, b)
    for _, fk in ipairs(a.foreign_keys or {}) do
      local target = fk_target_in(fk, b)
      if target then
        local parent = corresponding(a, fk.parent)
        if parent then conds[#conds + 1] = target:eq(parent) end   -- referred column first, as SQLAlchemy
      end
    end
  end
  for _, lt in ipairs(tables_of(left)) do
    for _, rt in ipairs(tables_of(right)) do
      scan(rt, lt)
      scan(lt, rt)
    end
  end
  if #conds == 0 then
    exc.raise(exc.NoForeignKeysError, string.format(
      "Can't find any foreign key relationships between '%s' and '%s'; give the ON clause",
      tostring(left), tostring(right)), nil, 4)
  end
  return elements.and_(util.unpack(conds))
end

local JOIN_OPTIONS = util.set({"isouter", "full"})

function Join.new(left, right, onclause, opts)
  if type(right) ~= "table" or not right._is_from then
    if type(right) == "table" and right.__clause_element__ then right = right:__clause_element__()
    else exc.raise(exc.ArgumentError, "join: the right side must be a table, alias or subquery", nil, 3) end
  end
  if onclause == nil then
    onclause = infer_onclause(left, right)
  else
    onclause = condition(onclause, "join")
  end
  opts = util.check_options("join", opts, JOIN_OPTIONS, 3)
  local j = setmetatable({left = left, right = right, onclause = onclause,
    isouter = opts.isouter or opts.full or false, full = opts.full or false}, Join)
  local cols = {}
  for _, c in ipairs(M.columns_of(left.c)) do cols[#cols + 1] = c end
  for _, c in ipairs(M.columns_of(right.c)) do cols[#cols + 1] = c end
  j.c = M.column_collection("join", {})
  rawset(j.c, "_all", cols)
  j.foreign_keys = {}
  return j
end

function Join:_tables() return tables_of(self) end

---------------------------------------------------------------------------------------------
-- Select
---------------------------------------------------------------------------------------------

---@class quicksilver.Select: quicksilver.ClauseElement
local Select = util.class("Select", elements.ClauseElement)
Select._k = K.SELECT
Select._executable = true
Select.__tostring = elements.ClauseElement.__tostring
M.Select = Select

-- Expands tables and entities in a columns list. An argument with
-- __select_entity__ (an ORM model class) gives its columns and a descriptor,
-- recorded in `entities` as {entity, first column, count}: the compiled SQL
-- does not depend on it (the cache key skips it), the ORM reads it to turn
-- those columns of each row into one object.
local function expand_columns(args, out, entities, joins)
  out = out or {}
  for i = 1, #args do
    local a = args[i]
    local ent = type(a) == "table" and not a._is_clause and a.__select_entity__
    if ent then
      local cols, desc, from, plan = ent(a)
      if entities then
        entities[#entities + 1] = {entity = desc, first = #out + 1, count = #cols, from = from, plan = plan}
      end
      for j = 1, #cols do out[#out + 1] = cols[j] end
    else
      if type(a) == "table" and a.__clause_element__ and not a._is_clause then
        a = a:__clause_element__()
      end
      if type(a) ~= "table" or not (a._is_clause or a._is_from) then
        if type(a) == "table" and a._k == nil and not a._is_type then
          exc.raise(exc.ArgumentError, "select: expected columns, tables or expressions, got a plain table", nil, 4)
        end
        out[#out + 1] = coerce(a)
      elseif a._is_from then
        for _, c in ipairs(M.columns_of(a.c)) do out[#out + 1] = c end
        -- select(join) selects FROM the join, as SQLAlchemy's (its columns
        -- alone would list the tables apart, without the ON)
        if joins and a._k == K.JOIN then joins[#joins + 1] = a end
      elseif a._k == K.SELECT then
        out[#out + 1] = a:scalar_subquery()
      elseif a._select_column then
        out[#out + 1] = a:_select_column()   -- type_coerce(col, T): named as col
      else
        out[#out + 1] = a
      end
    end
  end
  return out
end

-- util.copy for a Select: every field but the per-object compile cache
-- (the one of util's NOT_COPIED a select has).
local function copy(self)
  local s = {}
  for k, v in next, self do s[k] = v end
  s._compiled = nil
  return setmetatable(s, Select)
end

-- The FROM list: explicit FROMs, the joins built by :join(), then the FROMs
-- the columns and clauses refer to; tables inside a join are covered by it.
-- Computed when first needed (the compiler asks, on a cache miss), since
-- building a statement should cost as little as possible.
local function compute_froms(s)
  local froms, seen = {}, {}
  local function add(f)
    if not seen[f] then seen[f] = true; froms[#froms + 1] = f end
  end
  for _, f in ipairs(s._explicit or {}) do add(f) end
  local gathered = {}
  elements.from_objects({_from_objects = function()
    local out, sn = {}, {}
    for _, c in ipairs(s.columns) do elements.from_objects(c, out, sn) end
    if s._where then elements.from_objects(s._where, out, sn) end
    if s._having then elements.from_objects(s._having, out, sn) end
    for _, o in ipairs(s._order_by or {}) do elements.from_objects(o, out, sn) end
    for _, o in ipairs(s._group_by or {}) do elements.from_objects(o, out, sn) end
    return out
  end}, gathered)
  for _, f in ipairs(gathered) do add(f) end
  -- joins replace their leftmost member; covered tables drop out
  local covered = {}
  for _, f in ipairs(froms) do
    if f._k == K.JOIN then
      for _, t in ipairs(tables_of(f)) do covered[t] = true end
    end
  end
  local out = {}
  for _, f in ipairs(froms) do
    if not covered[f] or f._k == K.JOIN then out[#out + 1] = f end
  end
  rawset(s, "_froms", out)
  return out
end

-- A structural change: the FROM list is derived again when asked for.
local function refresh(s)
  s._froms = nil
  return s
end

--- The FROM elements the select renders (used by the C compiler).
function Select:_final_froms()
  return rawget(self, "_froms") or compute_froms(self)
end

-- select(Model) of one entity: what the last such select held, shared by
-- every select of it built since: its columns list, entity descriptors and
-- explicit FROMs. Sharing is safe because a statement never changes a list
-- it holds (the generative methods copy before they add), and it lets the
-- cache key walk the shared columns list once (core.cache_key_freeze).
-- Kept on the entity's descriptor (the mapper), valid while its
-- __select_entity__ gives the same columns, FROM and plan (a mapper
-- configured again makes a new columns list). The function itself is kept
-- per entity object in a weak table (no reference back to it: LuaJIT's
-- weak tables are no ephemerons), sparing the look-ups through the class.
local entity_fns = setmetatable({}, {__mode = "k"})
local TEMPLATE = "_select_template"
local freeze = core.cache_key_freeze

-- fn(a), one level below select() (its errors name select's caller).
local function entity_parts(fn, a)
  local cols, desc, from, plan = fn(a)
  return cols, desc, from, plan
end

local function template_select(cols, desc, from, plan)
  local t = type(desc) == "table" and rawget(desc, TEMPLATE)
  if t and t.cols == cols and t.from == from and t.plan == plan then
    M.template_hits = M.template_hits + 1
  else
    local columns = {}
    for j = 1, #cols do columns[j] = cols[j] end
    freeze(columns)
    t = {cols = cols, from = from, plan = plan, columns = columns,
      entities = {{entity = desc, first = 1, count = #cols, from = from, plan = plan}},
      explicit = from and {from} or {}}
    if type(desc) == "table" then rawset(desc, TEMPLATE, t) end
  end
  return setmetatable({columns = t.columns, _explicit = t.explicit, _entities = t.entities}, Select)
end

--- Number of select(Model) statements built from a kept template (specs).
M.template_hits = 0

--- select(col, table, expr, ...): a SELECT of those columns.
---@return quicksilver.Select
function M.select(...)
  if select("#", ...) == 1 then
    local a = ...
    local fn = entity_fns[a]
    if fn == nil and type(a) == "table" and not a._is_clause then
      fn = a.__select_entity__
      if fn then entity_fns[a] = fn end
    end
    if fn then
      local cols, desc, from, plan = entity_parts(fn, a)
      return template_select(cols, desc, from, plan)
    end
  end
  local args = {...}
  if select("#", ...) == 1 and type(args[1]) == "table" and not args[1]._is_clause and
      not args[1]._is_from and not args[1].__clause_element__ and args[1][1] ~= nil then
    args = args[1]   -- select({a, b}) as in SQLAlchemy 1.x
  end
  local entities, explicit = {}, {}
  local s = setmetatable({columns = expand_columns(args, nil, entities, explicit), _explicit = explicit}, Select)
  if entities[1] then
    s._entities = entities
    -- an entity spanning joined tables selects from their join
    for _, e in ipairs(entities) do
      if e.from then s._explicit[#s._explicit + 1] = e.from end
    end
  end
  return refresh(s)
end

--- Adds WHERE criteria (ANDed with what is there).
function Select:where(...)
  local s = copy(self)
  local n = select("#", ...)
  if n == 0 then return s end
  local crit = elements.conjunction(core.ops.AND, "where", ...)
  if s._where then crit = elements.and_(s._where, crit) end
  s._where = crit
  return refresh(s)
end
Select.filter = Select.where

--- The entity filter_by keys refer to: the last joined table, else the first FROM.
function Select:_filter_by_target()
  local j = self._last_joined
  if j then return j end
  local f = self:_final_froms()[1]
  while f and f._k == K.JOIN do f = f.right end
  return f
end

--- WHERE col = value for each key of the map (keys are column names; a
--- string like "$gt" is a column name too, never an operator).
function Select:filter_by(map)
  if type(map) ~= "table" or next(map) == nil then
    exc.raise(exc.ArgumentError, "filter_by: expected a non-empty table of column = value", nil, 2)
  end
  local target = self:_filter_by_target()
  if not target then
    exc.raise(exc.InvalidRequestError, "filter_by: this select has no FROM to filter", nil, 2)
  end
  local conds = {}
  for _, col in ipairs(M.columns_of(target.c)) do
    local v = map[col.key]
    if v ~= nil then conds[#conds + 1] = col:eq(v) end
  end
  for k in pairs(map) do
    if type(k) ~= "string" or not M.has_column(target.c, k) then
      local keys = {}
      for i, col in ipairs(M.columns_of(target.c)) do keys[i] = col.key end
      exc.raise(exc.ArgumentError, string.format("filter_by: '%s' has no column '%s'%s",
        tostring(target.name or target), tostring(k), type(k) == "string" and util.did_you_mean(k, keys) or ""),
        nil, 2)
    end
  end
  return self:where(util.unpack(conds))
end

local function as_from(f)
  if type(f) == "table" and f.__clause_element__ and not f._is_from then f = f:__clause_element__() end
  if type(f) ~= "table" or not f._is_from then
    if type(f) == "table" and f._k == K.SELECT then return f:subquery() end
    if type(f) == "table" and f._k == K.TEXT then return f end   -- select_from(qs.text("t")): SQL as written
    exc.raise(exc.ArgumentError, "expected a table, alias, join or subquery", nil, 4)
  end
  return f
end

--- Explicit FROM elements.
function Select:select_from(...)
  local s = copy(self)
  s._explicit = util.copy(self._explicit)
  for i = 1, select("#", ...) do s._explicit[#s._explicit + 1] = as_from((select(i, ...))) end
  return refresh(s)
end

local do_join

local function do_join_impl(self, left, right, onclause, opts)
  local s = copy(self)
  -- an ORM relationship attribute (User.addresses): its target and ON
  -- clause, and further joins for a many-to-many (association, then target)
  if type(right) == "table" and not right._is_from and right.__join_target__ then
    local target, on, more = right:__join_target__()
    if more then
      local out = do_join(self, left, target, on, opts)
      for _, step in ipairs(more) do out = do_join(out, nil, step[1], step[2], opts) end
      return out
    end
    right = target
    if onclause == nil then onclause = on end
  end
  right = as_from(right)
  local explicit = util.copy(self._explicit)
  if left == nil then
    -- join from the FROM that can reach right: the current join chain, else
    -- the first FROM the select has
    left = explicit[#explicit] or self:_final_froms()[1]
    if left == nil then
      exc.raise(exc.InvalidRequestError, "join: the select has no FROM to join from", nil, 3)
    end
  end
  local j = Join.new(left, right, onclause, opts)
  local replaced = false
  for i, f in ipairs(explicit) do
    if f == left then explicit[i] = j; replaced = true end
  end
  if not replaced then explicit[#explicit + 1] = j end
  s._explicit = explicit
  s._last_joined = right
  return refresh(s)
end

do_join = do_join_impl

--- JOIN right (ON inferred from foreign keys when omitted).
function Select:join(right, onclause, opts) return do_join(self, nil, right, onclause, opts) end
--- LEFT OUTER JOIN right.
function Select:outerjoin(right, onclause, opts)
  return do_join(self, nil, right, onclause, util.merge(opts, {isouter = true}))
end
--- left JOIN right.
function Select:join_from(left, right, onclause, opts)
  return do_join(self, as_from(left), right, onclause, opts)
end

-- order_by/group_by items: expressions, or a string naming a label or column
-- of this select (raw SQL only through qs.text).
local function order_items(self, what, ...)
  local out = {}
  for i = 1, select("#", ...) do
    local v = select(i, ...)
    if type(v) == "string" then
      local found
      for _, c in ipairs(self.columns) do
        if (c._k == K.LABEL or c._k == K.COLUMN) and (c.name == v or c.key == v) then found = c end
      end
      if not found then
        local names = {}
        for _, c in ipairs(self.columns) do
          if c._k == K.LABEL or c._k == K.COLUMN then names[#names + 1] = c.name or c.key end
        end
        exc.raise(exc.CompileError, string.format(
          "%s: '%s' names no column or label of this select%s (raw SQL goes through qs.text())", what, v,
          util.did_you_mean(v, names)), nil, 4)
      end
      if found._k == K.LABEL then
        out[#out + 1] = found
      else
        out[#out + 1] = found
      end
    elseif v == nil or type(v) == "boolean" then
      exc.raise(exc.ArgumentError, what .. ": expected a column or expression", nil, 4)
    else
      out[#out + 1] = coerce(v)
    end
  end
  return out
end

function Select:order_by(...)
  local s = copy(self)
  if select("#", ...) == 1 and (...) == nil then s._order_by = nil; return s end
  local items = order_items(self, "order_by", ...)
  s._order_by = util.copy(self._order_by)
  for _, it in ipairs(items) do s._order_by[#s._order_by + 1] = it end
  return refresh(s)
end

function Select:group_by(...)
  local s = copy(self)
  local items = order_items(self, "group_by", ...)
  s._group_by = util.copy(self._group_by)
  for _, it in ipairs(items) do s._group_by[#s._group_by + 1] = it end
  return refresh(s)
end

function Select:having(...)
  local s = copy(self)
  local crit = elements.conjunction(core.ops.AND, "having", ...)
  if s._having then crit = elements.and_(s._having, crit) end
  s._having = crit
  return refresh(s)
end

local function count_arg(n, what)
  if is_element(n) then return n end
  if type(n) ~= "number" or n < 0 or (mtype and mtype(n) ~= "integer") or
      (not mtype and n ~= math.floor(n)) then
    exc.raise(exc.ArgumentError, what .. ": expected a non-negative integer, got " .. tostring(n), nil, 4)
  end
  return elements.BindParameter.anon("param", n, types.Integer)
end

function Select:limit(n)
  local s = copy(self)
  s._limit = n ~= nil and count_arg(n, "limit") or nil
  s._fetch, s._fetch_ties, s._fetch_percent = nil, nil, nil   -- one replaces the other
  return s
end

local FETCH_OPTIONS = util.set({"percent", "with_ties"})

-- fetch(n, opts) for a select or a compound (copier: its copy function).
local function fetch(self, n, opts, copier)
  opts = util.check_options("fetch", opts, FETCH_OPTIONS, 3)
  local s = copier(self)
  s._fetch = n ~= nil and count_arg(n, "fetch") or nil
  s._fetch_ties = n ~= nil and opts.with_ties and true or nil
  s._fetch_percent = n ~= nil and opts.percent and true or nil
  if n ~= nil then s._limit = nil end   -- one replaces the other
  return s
end

--- FETCH FIRST n ROWS ONLY (opts: with_ties = true: WITH TIES; percent =
--- true: n PERCENT), where the database has it (PostgreSQL, MariaDB);
--- elsewhere a plain fetch(n) is LIMIT n and the options are refused by
--- name when compiled. fetch(nil) removes it; limit() replaces it.
---@param n integer|nil
---@param opts? {with_ties?: boolean, percent?: boolean}
---@return quicksilver.Select
function Select:fetch(n, opts) return fetch(self, n, opts, copy) end

function Select:offset(n)
  local s = copy(self)
  s._offset = n ~= nil and count_arg(n, "offset") or nil
  return s
end

--- DISTINCT; with expressions, PostgreSQL's DISTINCT ON (exprs).
function Select:distinct(...)
  local s = copy(self)
  if select("#", ...) == 0 then
    s._distinct = true
    return s
  end
  local on = {}
  for i = 1, select("#", ...) do on[i] = coerce((select(i, ...))) end
  s._distinct_on = on
  return s
end

local FOR_UPDATE_OPTIONS = util.set({"nowait", "read", "of", "skip_locked", "key_share"})

-- FOR UPDATE OF's targets: tables or aliases, a column standing for its
-- table (SQLAlchemy's surface selectables), each once.
local function for_update_of(of)
  if type(of) ~= "table" then
    exc.raise(exc.ArgumentError, "with_for_update: of must be a table, an alias, a column or a list of them", nil, 4)
  end
  if of._k or of.__clause_element__ then of = {of} end
  local out, seen = {}, {}
  for _, x in ipairs(of) do
    if type(x) == "table" and x.__clause_element__ and not x._is_from and not x._k then x = x:__clause_element__() end
    local from = x
    if type(x) == "table" and x._k == K.COLUMN and type(x.table) == "table" then from = x.table end
    if type(from) ~= "table" or (from._k ~= K.TABLE and from._k ~= K.ALIAS) then
      exc.raise(exc.ArgumentError, "with_for_update: of must be a table, an alias, a column or a list of them, " ..
        "got " .. util.repr(x, 40), nil, 4)
    end
    if not seen[from] then
      seen[from] = true
      out[#out + 1] = from
    end
  end
  if #out == 0 then exc.raise(exc.ArgumentError, "with_for_update: of is empty", nil, 4) end
  return out
end

--- FOR UPDATE: opts nowait, skip_locked, read (FOR SHARE), key_share
--- (PostgreSQL's FOR NO KEY UPDATE / FOR KEY SHARE), of = table, alias,
--- column or a list of them. Each dialect renders what it has and refuses
--- what it has not (SQLite, which locks the whole database, renders none).
function Select:with_for_update(opts)
  opts = util.check_options("with_for_update", opts, FOR_UPDATE_OPTIONS, 2)
  local s = copy(self)
  s._for_update = {nowait = opts.nowait and true or nil, read = opts.read and true or nil,
    skip_locked = opts.skip_locked and true or nil, key_share = opts.key_share and true or nil,
    of = opts.of ~= nil and for_update_of(opts.of) or nil}
  return s
end

function Select:add_columns(...)
  local s = copy(self)
  local entities = util.copy(self._entities or {})
  s.columns = expand_columns({...}, util.copy(self.columns), entities)
  s._entities = entities[1] and entities or nil
  return refresh(s)
end

function Select:with_only_columns(...)
  local s = copy(self)
  local entities = {}
  s.columns = expand_columns({...}, nil, entities)
  s._entities = entities[1] and entities or nil
  return refresh(s)
end

--- Options for whoever executes the statement (the ORM's loader options:
--- orm.selectinload(...) and friends); Core execution ignores them.
function Select:options(...)
  local s = copy(self)
  local opts = util.copy(self._options or {})
  for i = 1, select("#", ...) do
    local o = select(i, ...)
    if type(o) ~= "table" then
      exc.raise(exc.ArgumentError, "options: expected loader options, got " .. type(o), nil, 2)
    end
    opts[#opts + 1] = o
  end
  s._options = opts
  return s
end

--- select(Model):from_statement(stmt) (SQLAlchemy's): the ORM loads the
--- entity's objects from the rows of stmt (a qs.text() or another select),
--- its columns matched by name; a Connection runs stmt as it is. The
--- select's options and execution options stay.
function Select:from_statement(stmt)
  if type(stmt) ~= "table" or not stmt._executable or stmt._dml then
    exc.raise(exc.ArgumentError, "from_statement: expected a qs.text() or a select", nil, 2)
  end
  if not self._entities then
    exc.raise(exc.ArgumentError, "from_statement: the select must name a mapped class", nil, 2)
  end
  local s = setmetatable(util.copy(stmt), getmetatable(stmt))
  s._entities = self._entities
  s._options = self._options
  s._from_statement = stmt
  s._execution_options = util.merge(stmt._execution_options, self._execution_options)
  return s
end

--- Execution options carried by the statement (merged under the
--- connection's and the call's).
function Select:execution_options(opts)
  statement.check_execution_options(opts, "execution_options", 2)
  local s = copy(self)
  s._execution_options = util.merge(self._execution_options, opts)
  return s
end

--- Correlate only these FROMs with an enclosing statement (a SELECT, or
--- the target and other tables of an UPDATE/DELETE); `correlate()` turns
--- correlation off.
function Select:correlate(...)
  local s = copy(self)
  s._correlate = {}
  for i = 1, select("#", ...) do
    local f = select(i, ...)
    if f ~= nil then s._correlate[#s._correlate + 1] = as_from(f) end
  end
  return s
end

--- Correlate every FROM the enclosing statements have except these (which
--- the subquery then selects from itself); `correlate_except()` correlates
--- all of them, even a subquery's only FROM (SQLAlchemy's correlate_except).
function Select:correlate_except(...)
  local s = copy(self)
  s._correlate_except = {}
  for i = 1, select("#", ...) do
    local f = select(i, ...)
    if f ~= nil then s._correlate_except[#s._correlate_except + 1] = as_from(f) end
  end
  return s
end

-- prefix_with / suffix_with ------------------------------------------------------------------

local WORD_OPTIONS = util.set({"dialect"})

--- Adds words (prefix_with / suffix_with: what) to the list field of a copy
--- of self (copier); a last table argument holds {dialect = name}: the words
--- are written for that database only ("mysql" covers MariaDB). Words are
--- the programmer's SQL: letters, digits, _ and spaces only (raw SQL goes
--- through qs.text()). Used by the DML statements too.
function M.add_words(self, what, field, dfield, copier, ...)
  local n = select("#", ...)
  local opts
  if n > 0 and type((select(n, ...))) == "table" then
    opts = util.check_options(what, (select(n, ...)), WORD_OPTIONS, 3)
    n = n - 1
    if opts.dialect ~= nil and (type(opts.dialect) ~= "string" or opts.dialect == "") then
      exc.raise(exc.ArgumentError, what .. ": dialect must be a dialect name", nil, 3)
    end
  end
  local s = copier(self)
  local list, dl = util.copy(self[field] or {}), util.copy(self[dfield] or {})
  for i = 1, n do
    local w = select(i, ...)
    if type(w) ~= "string" or not w:match("^[%w_ ]+$") or not w:match("[%a_]") then
      exc.raise(exc.ArgumentError, string.format("%s: %s is not words (letters, digits, _ and spaces; " ..
        "raw SQL goes through qs.text())", what, util.repr(w, 40)), nil, 3)
    end
    list[#list + 1] = w
    if opts and opts.dialect then dl[#list] = opts.dialect end
  end
  s[field] = list
  s[dfield] = next(dl) and dl or nil
  return s
end

--- Words written after SELECT (SQL_NO_CACHE, ...); opts {dialect = name}
--- as the last argument limits them to that database.
---@return quicksilver.Select
function Select:prefix_with(...)
  return M.add_words(self, "prefix_with", "_prefixes", "_prefix_dialects", copy, ...)
end

--- Words written at the end of the SELECT; opts as prefix_with.
---@return quicksilver.Select
function Select:suffix_with(...)
  return M.add_words(self, "suffix_with", "_suffixes", "_suffix_dialects", copy, ...)
end

--- The columns this select returns, as ColumnClause-like descriptions. A
--- column whose name an earlier one took is called name_1, name_2, .. (the
--- first free), as the compiler labels it (SQLAlchemy 2.0's
--- disambiguation): a subquery's .c and the result keys agree.
function Select:_result_columns()
  local out, used = {}, {}
  for i, c in ipairs(self.columns) do
    local name = c.name
    if c._k ~= K.COLUMN and c._k ~= K.LABEL then name = nil end
    local key = c.key or name or ("anon_" .. i)
    if name and c._k == K.COLUMN and used[name] then
      local k = 1
      while used[name .. "_" .. k] do k = k + 1 end
      name = name .. "_" .. k
      key = name
    end
    if name then used[name] = true end
    out[i] = {name = name or ("anon_" .. i), key = key, type = c.type}
  end
  return out
end

--- The selected columns (a `.c`-like collection).
function Select:selected_columns()
  return M.column_collection("select", self.columns)
end

--- A subquery (aliased SELECT) usable as a FROM element.
function Select:subquery(name)
  return Alias.new(self, name)
end
Select.alias = Select.subquery

--- LATERAL (this select) AS name: a subquery that may refer to the FROMs
--- before it in the enclosing SELECT (join it, e.g. ON qs.true_()).
--- PostgreSQL and MySQL 8; refused by name elsewhere.
---@param name? string
function Select:lateral(name) return M.lateral(self, name) end

--- qs.lateral(select, name): as select:lateral(name).
function M.lateral(sel, name)
  if type(sel) ~= "table" or (sel._k ~= K.SELECT and sel._k ~= K.COMPOUND) then
    exc.raise(exc.ArgumentError, "lateral: expected a select()", nil, 3)
  end
  local a = Alias.new(sel, name)
  a._lateral = true
  return a
end

local ScalarSelect = elements.column_class("ScalarSelect")
ScalarSelect._k = K.SCALAR_SELECT
function ScalarSelect:_from_objects() return {} end
M.ScalarSelect = ScalarSelect

--- (SELECT ...) as a value.
function Select:scalar_subquery()
  local first = self.columns[1]
  return setmetatable({element = self, type = first and first.type or types.NullType}, ScalarSelect)
end

--- A label on the scalar subquery.
function Select:label(name)
  return self:scalar_subquery():label(name)
end

local Exists = elements.column_class("Exists")
Exists._k = K.EXISTS
Exists.type = types.Boolean
function Exists:_from_objects() return {} end

--- EXISTS (this select).
function Select:exists()
  return setmetatable({element = self}, Exists)
end

--- qs.exists() / qs.exists(select) / qs.exists(col, ...).
function M.exists(...)
  local first = ...
  if type(first) == "table" and first._k == K.SELECT then return first:exists() end
  if first == nil then
    return setmetatable({element = M.select(elements.literal_column("*"))}, Exists)
  end
  return M.select(...):exists()
end

function Exists:where(...)
  return setmetatable({element = self.element:where(...)}, Exists)
end
function Exists:select_from(...)
  return setmetatable({element = self.element:select_from(...)}, Exists)
end
--- correlate / correlate_except of the EXISTS's select (as Select's).
function Exists:correlate(...)
  return setmetatable({element = self.element:correlate(...)}, Exists)
end
function Exists:correlate_except(...)
  return setmetatable({element = self.element:correlate_except(...)}, Exists)
end

--- correlate / correlate_except of a scalar subquery's select (as Select's).
function ScalarSelect:correlate(...)
  return setmetatable({element = self.element:correlate(...), type = self.type}, ScalarSelect)
end
function ScalarSelect:correlate_except(...)
  return setmetatable({element = self.element:correlate_except(...), type = self.type}, ScalarSelect)
end

-- The FROM elements made from functions, text and sampling, then compounds,
-- CTEs and set_shard: their own files, given the classes and helpers they extend.
require("quicksilver.sql.derived").install(M, FromClause, Alias)
require("quicksilver.sql.compound").install(M, {Select = Select, FromClause = FromClause, Alias = Alias,
  copy = copy, fetch = fetch, count_arg = count_arg})

return M
