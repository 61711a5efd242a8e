--- sql/operators.lua: the operators SQLAlchemy spells per database or takes
--- from the program, installed on the expression elements (sql/elements.lua
--- calls install at load): `col:op("<->")(x)` / `col:bool_op("@@")(x)`,
--- `regexp_match` / `not_regexp_match` / `regexp_replace`, `collate`,
--- `is_distinct_from` / `is_not_distinct_from`, the simple CASE
--- (`qs.case(expr, {[value] = result})`), an aggregate's `:filter(cond)`
--- and `:within_group(order_by...)`. The C side is c/compiler/operators.c;
--- what each database writes is the dialect's (docs/CORE_OPERATORS.md).
local core = require("quicksilver.core")
local exc = require("quicksilver.exc")
local types = require("quicksilver.sql.types")
local util = require("quicksilver.util")

local M = {}

local OP = core.ops
local setmetatable, getmetatable, type, select, tostring = setmetatable, getmetatable, type, select, tostring
local mtype = math.type

-- An operator string is SQL text written as it is: operator characters
-- (PostgreSQL's set, without "--" or "/*", which would open a comment) or
-- words of letters separated by one space ("SIMILAR TO"). The compiler
-- checks it again and refuses per dialect what its SQL would misread ('?'
-- where it is the placeholder, '#' where it opens a comment).
local function valid_opstring(s)
  if s:match("^[%+%-%*/<>=~!@#%%%^&|%?]+$") then
    return not (s:find("--", 1, true) or s:find("/*", 1, true))
  end
  return s:match("^%a+$") ~= nil or (s:match("^%a[%a ]*%a$") ~= nil and not s:find("  ", 1, true))
end

local function check_opstring(s, what)
  if type(s) ~= "string" then
    exc.raise(exc.ArgumentError, string.format("%s: the operator must be a string, got %s", what, type(s)), nil, 4)
  end
  if not valid_opstring(s) then
    exc.raise(exc.ArgumentError, string.format("%s: invalid operator %s: operator characters (<->, @@) or " ..
      "words of letters (SIMILAR TO) only, since it is written into the SQL", what, util.repr(s, 40)), nil, 4)
  end
end

local function check_precedence(p, what)
  if p == nil then return 0 end
  if type(p) ~= "number" or p ~= math.floor(p) or (mtype and mtype(p) ~= "integer") or p < 0 or p > 100 then
    exc.raise(exc.ArgumentError, string.format("%s: precedence must be an integer from 0 to 100, got %s",
      what, util.repr(p, 40)), nil, 4)
  end
  return p
end

local OP_OPTIONS = util.set({"precedence", "is_comparison", "return_type"})
local BOOL_OP_OPTIONS = util.set({"precedence"})
local REGEXP_OPTIONS = util.set({"flags"})
local CASE_OPTIONS = util.set({"else_"})

-- regexp flags are letters, written into the SQL as a string literal
local function regexp_flags(opts, what)
  opts = util.check_options(what, opts, REGEXP_OPTIONS, 3)
  local f = opts.flags
  if f == nil then return nil end
  if type(f) ~= "string" or not f:match("^%a+$") then
    exc.raise(exc.ArgumentError, string.format("%s: flags must be letters such as \"i\", got %s",
      what, util.repr(f, 40)), nil, 3)
  end
  return f
end

-- The sort order of a simple CASE's keys: numbers, then strings, then
-- booleans (false first), so the SQL and its cache key never depend on
-- the order pairs() walks a table in.
local KEY_RANK = {number = 1, string = 2, boolean = 3}
local function key_less(a, b)
  local ra, rb = KEY_RANK[type(a)], KEY_RANK[type(b)]
  if ra ~= rb then return ra < rb end
  if type(a) == "boolean" then return (not a) and b end
  return a < b
end

-- The mapping of a simple CASE as a list of {value, result} pairs: a list
-- of pairs as given, a table of value = result with its keys sorted.
local function case_pairs(mapping, is_element)
  if type(mapping) ~= "table" or is_element(mapping) then
    exc.raise(exc.ArgumentError, "case: expected a table of value = result (or a list of {value, result} pairs), got " ..
      util.repr(mapping, 40), nil, 4)
  end
  local n = #mapping
  local list = n > 0
  for i = 1, n do
    local w = mapping[i]
    if type(w) ~= "table" or is_element(w) then list = false; break end
  end
  if list then
    local out = {}
    for i = 1, n do
      local w = mapping[i]
      if w[1] == nil then
        exc.raise(exc.ArgumentError, "case: entry " .. i .. " is not a {value, result} pair", nil, 4)
      end
      out[i] = {w[1], w[2]}
    end
    return out
  end
  local keys = {}
  for k in pairs(mapping) do
    if not KEY_RANK[type(k)] then
      exc.raise(exc.ArgumentError, "case: a WHEN value must be a string, number or boolean key, got " ..
        util.repr(k, 40) .. " (use the list of {value, result} pairs for expressions)", nil, 4)
    end
    keys[#keys + 1] = k
  end
  if #keys == 0 then
    exc.raise(exc.ArgumentError, "case: expected at least one value = result", nil, 4)
  end
  table.sort(keys, key_less)
  local out = {}
  for i, k in ipairs(keys) do out[i] = {k, mapping[k]} end
  return out
end

-- The ordered-set aggregates whose result is not the function's own type.
local WITHIN_GROUP_TYPES = {percentile_cont = types.Float, percent_rank = types.Float,
  cume_dist = types.Float, rank = types.Integer, dense_rank = types.Integer,
  percentile_disc = "ordered", mode = "ordered"}

--- Installs the operators on the element classes of sql/elements.lua (E).
---@param E table the sql.elements module
function M.install(E)
  local ColumnElement, FunctionElement = E.ColumnElement, E.FunctionElement
  local binary, coerce, is_element = E.binary, E.coerce, E.is_element

  -- not_() turns these around as it does the comparisons
  E.NEGATED[OP.REGEXP] = OP.NOT_REGEXP
  E.NEGATED[OP.NOT_REGEXP] = OP.REGEXP
  E.NEGATED[OP.IS_DISTINCT_FROM] = OP.IS_NOT_DISTINCT_FROM
  E.NEGATED[OP.IS_NOT_DISTINCT_FROM] = OP.IS_DISTINCT_FROM

  -- op() / bool_op() ---------------------------------------------------------------------------

  local function custom(left, opstring, prec, t)
    return function(other)
      return binary(left, OP.CUSTOM, coerce(other, left), t or left.type or types.NullType,
        {opstring = opstring, precedence = prec})
    end
  end

  --- A binary operator of the database's: `col:op("<->")(x)` is `col <-> x`.
  --- The string is program text (never user data): operator characters or
  --- words of letters, checked. opts: precedence (SQLAlchemy's scale: 5 the
  --- comparisons, 7 + and -, 8 * and /; default 0, parenthesized wherever
  --- another operator stands around it), is_comparison (a Boolean result),
  --- return_type.
  ---@param opstring string
  ---@param opts? {precedence?: integer, is_comparison?: boolean, return_type?: table}
  ---@return fun(other: any): quicksilver.ColumnElement
  function ColumnElement:op(opstring, opts)
    check_opstring(opstring, "op")
    opts = util.check_options("op", opts, OP_OPTIONS, 2)
    local prec = check_precedence(opts.precedence, "op")
    local t = opts.return_type and types.to_instance(opts.return_type) or
      (opts.is_comparison and types.Boolean) or nil
    return custom(self, opstring, prec, t)
  end

  --- qs.op(expr, opstring, opts): expr:op(opstring, opts) for any expression,
  --- also one built by an operator (a + b), whose field `op` is its operator
  --- code and hides the method.
  ---@param expr any
  ---@param opstring string
  ---@param opts? {precedence?: integer, is_comparison?: boolean, return_type?: table}
  function E.op(expr, opstring, opts)
    return ColumnElement.op(coerce(expr), opstring, opts)
  end

  --- op() for an operator that compares: the result is a Boolean.
  ---@param opstring string
  ---@param opts? {precedence?: integer}
  ---@return fun(other: any): quicksilver.ColumnElement
  function ColumnElement:bool_op(opstring, opts)
    check_opstring(opstring, "bool_op")
    opts = util.check_options("bool_op", opts, BOOL_OP_OPTIONS, 2)
    return custom(self, opstring, check_precedence(opts.precedence, "bool_op"), types.Boolean)
  end

  -- regular expressions ------------------------------------------------------------------------

  -- a pattern (or replacement) given as a value binds as a string named after self
  local function string_operand(self, v)
    local t = self.type
    if not (t and t._affinity == "string") then t = types.String end
    return coerce(v, {key = self.key or self.name, type = t})
  end

  local RegexpReplace = E.column_class("RegexpReplace", E.BinaryExpression)
  function RegexpReplace:_from_objects()
    local out, seen = {}, {}
    for _, e in ipairs({self.left, self.right, self.replacement}) do E.from_objects(e, out, seen) end
    return out
  end

  --- Whether the value matches the regular expression (anywhere in it):
  --- PostgreSQL `~` (`~*` with flags "i"), MySQL/MariaDB and SQLite `REGEXP`
  --- (SQLite through the function the driver registers: POSIX extended
  --- expressions). opts.flags: letters such as "i".
  ---@param pattern any
  ---@param opts? {flags?: string}
  function ColumnElement:regexp_match(pattern, opts)
    local flags = regexp_flags(opts, "regexp_match")
    return binary(self, OP.REGEXP, string_operand(self, pattern), types.Boolean, {flags = flags})
  end

  --- NOT regexp_match (also what qs.not_(col:regexp_match(p)) gives).
  ---@param pattern any
  ---@param opts? {flags?: string}
  function ColumnElement:not_regexp_match(pattern, opts)
    local flags = regexp_flags(opts, "not_regexp_match")
    return binary(self, OP.NOT_REGEXP, string_operand(self, pattern), types.Boolean, {flags = flags})
  end

  --- The value with matches of the pattern replaced (\1 .. \9 in the
  --- replacement are the groups): PostgreSQL and SQLite replace the first
  --- match unless flags hold "g", MySQL/MariaDB every match.
  ---@param pattern any
  ---@param replacement any
  ---@param opts? {flags?: string}
  function ColumnElement:regexp_replace(pattern, replacement, opts)
    local flags = regexp_flags(opts, "regexp_replace")
    local t = self.type
    if not (t and t._affinity == "string") then t = types.String end
    return setmetatable({left = self, op = OP.REGEXP_REPLACE, right = string_operand(self, pattern),
      replacement = string_operand(self, replacement), flags = flags, type = t}, RegexpReplace)
  end

  -- COLLATE, IS [NOT] DISTINCT FROM ------------------------------------------------------------

  local Collate = E.column_class("Collate", E.UnaryExpression)

  --- `expr COLLATE name`, in comparisons and ORDER BY; the name is quoted
  --- as an identifier where it needs it ("C" is, utf8mb4_bin is not).
  ---@param name string
  function ColumnElement:collate(name)
    if type(name) ~= "string" or name == "" or name:find("%z") then
      exc.raise(exc.ArgumentError, "collate: the collation must be a non-empty name, got " ..
        util.repr(name, 40), nil, 2)
    end
    return setmetatable({element = self, op = OP.COLLATE, collation_name = name, type = self.type}, Collate)
  end

  --- `a IS DISTINCT FROM b`: not equal, NULL being a value like another
  --- (SQLite `IS NOT`, MySQL/MariaDB `NOT (a <=> b)`).
  function ColumnElement:is_distinct_from(o)
    return binary(self, OP.IS_DISTINCT_FROM, coerce(o, self), types.Boolean)
  end

  --- `a IS NOT DISTINCT FROM b`: equal, NULL equal to NULL (SQLite `IS`,
  --- MySQL/MariaDB `a <=> b`).
  function ColumnElement:is_not_distinct_from(o)
    return binary(self, OP.IS_NOT_DISTINCT_FROM, coerce(o, self), types.Boolean)
  end

  -- the simple CASE ----------------------------------------------------------------------------

  --- qs.case(expr, {[value] = result, ...}, {else_ = v}): CASE expr WHEN
  --- value THEN result ... END. The WHENs of a table come in sorted key
  --- order; a list of {value, result} pairs keeps its own order (and may
  --- hold expressions as values).
  function E.simple_case(value, mapping, opts)
    value = coerce(value)
    local pairs_ = case_pairs(mapping, is_element)
    opts = util.check_options("case", opts, CASE_OPTIONS, 3)
    local whens, t = {}, nil
    for i, w in ipairs(pairs_) do
      local res = coerce(w[2])
      if t == nil and res.type and res.type ~= types.NullType then t = res.type end
      whens[i] = {coerce(w[1], value), res}
    end
    local else_ = opts.else_ ~= nil and coerce(opts.else_) or nil
    if t == nil and else_ and else_.type ~= types.NullType then t = else_.type end
    return setmetatable({whens = whens, else_ = else_, value = value, type = t or types.NullType}, E.Case)
  end

  -- FILTER and WITHIN GROUP --------------------------------------------------------------------

  local function aggregate_froms(self, list)
    local out, seen = {}, {}
    E.from_objects(self.element, out, seen)
    if self.criterion then E.from_objects(self.criterion, out, seen) end
    for _, e in ipairs(list or {}) do E.from_objects(e, out, seen) end
    return out
  end

  local FunctionFilter = E.column_class("FunctionFilter", E.UnaryExpression)
  function FunctionFilter:_from_objects() return aggregate_froms(self) end

  local WithinGroup = E.column_class("WithinGroup", E.UnaryExpression)
  function WithinGroup:_from_objects() return aggregate_froms(self, self.group_order_by) end

  local function filter(self, ...)
    if select("#", ...) == 0 then
      exc.raise(exc.ArgumentError, "filter: expected a condition", nil, 3)
    end
    local crit = E.conjunction(OP.AND, "filter", ...)
    local element = self
    if self.op == OP.FILTER and getmetatable(self) == FunctionFilter then
      element, crit = self.element, E.conjunction(OP.AND, "filter", self.criterion, crit)
    end
    return setmetatable({element = element, op = OP.FILTER, criterion = crit, type = element.type}, FunctionFilter)
  end

  --- `f(x) FILTER (WHERE cond)`: the aggregate over the rows cond holds for
  --- (several conditions are ANDed). PostgreSQL and SQLite write FILTER;
  --- MySQL/MariaDB have none: `f(CASE WHEN cond THEN x END)`, count()
  --- counting `CASE WHEN cond THEN 1 END`. :over() may follow.
  ---@return quicksilver.ColumnElement
  function FunctionElement:filter(...) return filter(self, ...) end
  FunctionFilter.filter = filter
  WithinGroup.filter = filter

  --- `f(args) WITHIN GROUP (ORDER BY ...)`: an ordered-set aggregate
  --- (percentile_cont, percentile_disc, mode, ...). PostgreSQL; MariaDB
  --- only as a window function (follow with :over()); refused elsewhere.
  --- The result: Float for percentile_cont, the ordered expression's type
  --- for percentile_disc and mode.
  ---@return quicksilver.ColumnElement
  function FunctionElement:within_group(...)
    local order = {}
    for i = 1, select("#", ...) do
      local e = select(i, ...)
      if type(e) ~= "table" or not (e._is_clause or e.__clause_element__) then
        exc.raise(exc.ArgumentError, "within_group: ORDER BY takes columns or expressions, got " ..
          util.repr(e, 40), nil, 2)
      end
      order[i] = coerce(e)
    end
    if #order == 0 then
      exc.raise(exc.ArgumentError, "within_group: expected at least one ORDER BY expression", nil, 2)
    end
    local base = tostring(self.name):match("([^.]+)$"):lower()
    local t = WITHIN_GROUP_TYPES[base]
    if t == "ordered" then t = order[1].type end
    return setmetatable({element = self, op = OP.WITHIN_GROUP, group_order_by = order,
      type = t or self.type}, WithinGroup)
  end

  -- Under OVER the node says so: MariaDB has WITHIN GROUP only there.
  function WithinGroup:over(opts)
    local w = setmetatable(util.copy(self), WithinGroup)
    w.windowed = true
    return ColumnElement.over(w, opts)
  end
end

return M
