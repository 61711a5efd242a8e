--- sql/derived.lua: FROM elements made from something that is not a table or
--- a select: TABLESAMPLE, table-valued functions (func.x(...):table_valued),
--- and text():columns():subquery(). Installed by selectable.lua, which owns
--- the FromClause and Alias classes (this module never requires it: no cycle).
local core = require("quicksilver.core")
local elements = require("quicksilver.sql.elements")
local exc = require("quicksilver.exc")
local types = require("quicksilver.sql.types")
local util = require("quicksilver.util")

local M = {}

local K = core.kinds
local type, select = type, select
local coerce = elements.coerce

--- Adds these methods to selectable's classes; `S` is the selectable module.
---@param S table
---@param FromClause table
---@param Alias table
function M.install(S, FromClause, Alias)
  -- TABLESAMPLE, table-valued functions, text() as a subquery ---------------------------------

  local TABLESAMPLE_OPTIONS = util.set({"name", "seed"})

  --- t TABLESAMPLE method REPEATABLE (seed) AS name (PostgreSQL; refused by
  --- name elsewhere): sampling is a function (qs.func.bernoulli(10),
  --- qs.func.system(1)) or a number (SYSTEM's percentage); opts name, seed.
  ---@param sampling any
  ---@param opts? {name?: string, seed?: any}
  function FromClause:tablesample(sampling, opts)
    return S.tablesample(self, sampling, opts)
  end

  --- qs.tablesample(table, sampling, opts): as table:tablesample(sampling, opts).
  function S.tablesample(t, sampling, opts)
    opts = util.check_options("tablesample", opts, TABLESAMPLE_OPTIONS, 3)
    if type(t) == "table" and t.__clause_element__ and not t._is_from then t = t:__clause_element__() end
    if type(t) ~= "table" or t._k ~= K.TABLE then
      exc.raise(exc.ArgumentError, "tablesample: expected a table", nil, 3)
    end
    if type(sampling) == "number" then
      sampling = elements.func.system(sampling)
    elseif not (type(sampling) == "table" and sampling._k == K.FUNCTION) then
      exc.raise(exc.ArgumentError, "tablesample: sampling must be a function (qs.func.bernoulli(n)) or a number", nil, 3)
    end
    local a = Alias.new(t, opts.name)
    a._sample_method = sampling
    if opts.seed ~= nil then a._sample_seed = coerce(opts.seed) end
    return a
  end

  -- The column descriptions of names or qs.column()s (what: the caller).
  local function named_columns(what, ...)
    local out = {}
    for i = 1, select("#", ...) do
      local c = select(i, ...)
      if type(c) == "string" then
        out[#out + 1] = {name = c, key = c, type = types.NullType}
      elseif type(c) == "table" and c._k == K.COLUMN and type(c.name) == "string" then
        out[#out + 1] = {name = c.name, key = c.key or c.name, type = c.type}
      else
        exc.raise(exc.ArgumentError, what .. ": expected column names or qs.column()s", nil, 3)
      end
    end
    return out
  end

  local FunctionElement = elements.FunctionElement

  --- The function's rows as a FROM element with these columns (names or
  --- qs.column()s): qs.func.json_each(t.c.doc):table_valued("key", "value").
  --- Its .c holds them; render_derived() names them after the alias too.
  --- PostgreSQL and SQLite; refused by name elsewhere (MySQL's JSON_TABLE has
  --- another form).
  function FunctionElement:table_valued(...)
    local cols = named_columns("table_valued", ...)
    if #cols == 0 then cols = {{name = "value", key = "value", type = types.NullType}} end
    return Alias.new(self, nil, cols)
  end

  --- The function's rows as a FROM element of one column named as the alias
  --- (PostgreSQL: SELECT x.x FROM json_array_elements(..) AS x); the column,
  --- usable in select().
  ---@param name? string
  function FunctionElement:column_valued(name)
    name = name or "anon_value"
    local a = Alias.new(self, name, {{name = name, key = name, type = self.type}})
    a._render_derived = true
    return a.columns[1]
  end

  --- AS name(col, ...) after a table-valued function (PostgreSQL needs it for
  --- a function of scalar rows, generate_series); a new alias.
  function Alias:render_derived(name)
    if self.element._k ~= K.FUNCTION then
      exc.raise(exc.ArgumentError, "render_derived: only a table-valued function has it", nil, 2)
    end
    local a = Alias.new(self.element, name or self.name, self.columns)
    a._render_derived = true
    return a
  end

  --- A table-valued function under another name (any other alias: an
  --- alias of it, as before).
  function Alias:alias(name)
    local k = self.element._k
    if k == K.TABLE or k == K.SELECT or k == K.COMPOUND then
      -- an alias of a table's or a select's alias names that table or select
      -- again (the compiler writes an alias over those, not over an alias)
      return Alias.new(self.element, name)
    end
    if k ~= K.FUNCTION then return FromClause.alias(self, name) end
    local a = Alias.new(self.element, name, self.columns)
    a._render_derived = self._render_derived
    return a
  end

  --- text(sql):columns(...):subquery(name): the text as a FROM element
  --- (SELECT ...) AS name whose .c holds the columns given to :columns(),
  --- in their order.
  ---@param name? string
  function elements.TextClause:subquery(name)
    local list = self._column_list
    if not list then
      exc.raise(exc.ArgumentError, "text():subquery: give the columns first, text(sql):columns(qs.column(...), ...)", nil, 2)
    end
    return Alias.new(self, name, list)
  end
end

return M
