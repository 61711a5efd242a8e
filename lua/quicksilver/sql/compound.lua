--- sql/compound.lua: compound selects (UNION, INTERSECT, EXCEPT and their ALL
--- forms), common table expressions (recursive ones growing by union_all), and
--- set_shard on selects and compounds. Installed by selectable.lua with the
--- helpers it shares (this module never requires selectable: no cycle).
local core = require("quicksilver.core")
local elements = require("quicksilver.sql.elements")
local exc = require("quicksilver.exc")
local util = require("quicksilver.util")

local M = {}

local K = core.kinds
local setmetatable, type, select, pairs, ipairs = setmetatable, type, select, pairs, ipairs
local is_element = elements.is_element

--- Adds the compound and CTE classes to the selectable module S (S.union...,
--- S.CompoundSelect, S.CTE) and their methods to S's Select; `shared` carries
--- selectable's Select, FromClause, Alias and its copy, fetch and count_arg.
---@param S table
---@param shared table
function M.install(S, shared)
  local Select, FromClause, Alias = shared.Select, shared.FromClause, shared.Alias
  local copy, fetch, count_arg = shared.copy, shared.fetch, shared.count_arg
  ---------------------------------------------------------------------------------------------
  -- compound selects (UNION, INTERSECT, EXCEPT) and CTEs
  ---------------------------------------------------------------------------------------------

  ---@class quicksilver.CompoundSelect: quicksilver.ClauseElement
  local CompoundSelect = util.class("CompoundSelect", elements.ClauseElement)
  CompoundSelect._k = K.COMPOUND
  CompoundSelect._executable = true
  CompoundSelect.__tostring = elements.ClauseElement.__tostring
  S.CompoundSelect = CompoundSelect

  local function check_member(s, what)
    if type(s) ~= "table" or (s._k ~= K.SELECT and s._k ~= K.COMPOUND) then
      exc.raise(exc.ArgumentError, what .. ": expected select() statements", nil, 4)
    end
    return s
  end

  local function compound(op, first, ...)
    local selects = {check_member(first, op)}
    for i = 1, select("#", ...) do selects[#selects + 1] = check_member((select(i, ...)), op) end
    if #selects < 2 then
      exc.raise(exc.ArgumentError, op .. ": needs at least two selects", nil, 3)
    end
    local n = #selects[1]:_result_columns()
    for i = 2, #selects do
      if #selects[i]:_result_columns() ~= n then
        exc.raise(exc.ArgumentError, string.format("%s: select %d has %d columns, the first has %d",
          op, i, #selects[i]:_result_columns(), n), nil, 3)
      end
    end
    return setmetatable({op = op, selects = selects, columns = selects[1].columns}, CompoundSelect)
  end

  local SETOPS = {union = "UNION", union_all = "UNION ALL", intersect = "INTERSECT",
    intersect_all = "INTERSECT ALL", except_ = "EXCEPT", except_all = "EXCEPT ALL"}
  for name, op in pairs(SETOPS) do
    S[name] = function(...) return compound(op, ...) end
    Select[name] = function(self, ...) return compound(op, self, ...) end
    CompoundSelect[name] = function(self, ...) return compound(op, self, ...) end
  end

  function CompoundSelect:_result_columns() return self.selects[1]:_result_columns() end
  function CompoundSelect:_from_objects() return {} end

  local function compound_copy(self)
    return setmetatable(util.copy(self), CompoundSelect)
  end

  --- ORDER BY over the compound: column names of the first select, or expressions.
  function CompoundSelect:order_by(...)
    local s = compound_copy(self)
    local names = {}
    for _, c in ipairs(self:_result_columns()) do names[c.name] = c end
    local items = util.copy(self._order_by)
    for i = 1, select("#", ...) do
      local v = select(i, ...)
      if type(v) == "string" then
        if not names[v] then
          exc.raise(exc.CompileError, "order_by: '" .. v .. "' is no column of the compound select", nil, 2)
        end
        items[#items + 1] = elements.column(v, names[v].type)
      elseif is_element(v) then
        if v._k == K.COLUMN and v.table then
          items[#items + 1] = elements.column(v.name, v.type)   -- by name over the compound
        elseif v._k == K.UNARY and v.element._k == K.COLUMN then
          local u = util.copy(v)
          u.element = elements.column(v.element.name, v.element.type)
          items[#items + 1] = setmetatable(u, getmetatable(v))
        else
          items[#items + 1] = v
        end
      else
        exc.raise(exc.ArgumentError, "order_by: expected a column name or expression", nil, 2)
      end
    end
    s._order_by = items
    return s
  end

  function CompoundSelect:limit(n)
    local s = compound_copy(self)
    s._limit = n ~= nil and count_arg(n, "limit") or nil
    return s
  end

  function CompoundSelect:offset(n)
    local s = compound_copy(self)
    s._offset = n ~= nil and count_arg(n, "offset") or nil
    return s
  end

  --- FETCH FIRST n ROWS over the compound (as Select:fetch).
  ---@param n integer|nil
  ---@param opts? {with_ties?: boolean, percent?: boolean}
  function CompoundSelect:fetch(n, opts) return fetch(self, n, opts, compound_copy) end

  --- LATERAL (compound) AS name (as Select:lateral).
  function CompoundSelect:lateral(name) return S.lateral(self, name) end

  function CompoundSelect:subquery(name) return Alias.new(self, name) end
  CompoundSelect.alias = CompoundSelect.subquery
  function CompoundSelect:scalar_subquery() return Select.scalar_subquery(self) end

  ---@class quicksilver.CTE: quicksilver.FromClause
  local CTE = util.class("CTE", FromClause)
  CTE._k = K.CTE
  CTE.__tostring = function(self) return self.name end
  S.CTE = CTE

  local function new_cte(element, name, recursive, root)
    if type(name) ~= "string" or name == "" then
      exc.raise(exc.ArgumentError, "cte: a name is required", nil, 3)
    end
    local cte = setmetatable({element = element, name = name, recursive = recursive or false}, CTE)
    cte._root = root or cte
    local cols = {}
    for i, col in ipairs(element:_result_columns()) do
      cols[i] = elements.subscriptable(setmetatable({name = col.name, key = col.key or col.name, type = col.type,
        table = cte}, elements.ColumnClause))
    end
    cte.columns = cols
    cte.c = S.column_collection(name, cols)
    cte.foreign_keys = {}
    return cte
  end

  --- A common table expression of this select: WITH name AS (...).
  ---@param name string
  local CTE_OPTIONS = util.set({"recursive"})
  ---@param opts? {recursive?: boolean}
  function Select:cte(name, opts)
    util.check_options("cte", opts, CTE_OPTIONS, 2)
    return new_cte(self, name, opts and opts.recursive)
  end
  CompoundSelect.cte = Select.cte

  -- A recursive CTE grows by union_all(select referring to itself): the new
  -- CTE keeps the name and the root, so references render the same name.
  local function cte_setop(op)
    return function(self, ...)
      local body = compound(op, self.element, ...)
      return new_cte(body, self.name, self.recursive, self._root)
    end
  end
  CTE.union_all = cte_setop("UNION ALL")
  CTE.union = cte_setop("UNION")

  -- set_shard (quicksilver.ext.horizontal_shard) ---------------------------------------------

  -- The shard a ShardedSession runs the statement on (SQLAlchemy's
  -- set_shard_id): kept on the statement as its execution options are; the
  -- SQL does not change, and sessions that do not shard ignore it.
  local function set_shard(self, name, copier)
    if type(name) ~= "string" or name == "" then
      exc.raise(exc.ArgumentError, "set_shard: expected a shard name (a non-empty string), got " ..
        (type(name) == "string" and "an empty string" or type(name)), nil, 3)
    end
    local s = copier(self)
    s._shard = name
    return s
  end

  --- Runs the statement on this shard only (in a ShardedSession).
  ---@param name string
  ---@return quicksilver.Select
  function Select:set_shard(name) return set_shard(self, name, copy) end

  --- Runs the statement on this shard only (in a ShardedSession).
  ---@param name string
  function CompoundSelect:set_shard(name) return set_shard(self, name, compound_copy) end
end

return M
