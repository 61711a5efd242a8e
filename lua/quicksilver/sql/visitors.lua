--- sql/visitors.lua: walking expression trees (SQLAlchemy's sql/visitors.py):
--- a copy with some nodes replaced (adapting a join condition to aliases, or
--- binding a parent row's values into it), and a walk over the nodes.
---
--- Schema objects (tables, aliases, joins), columns, binds and types are
--- leaves: they are never copied, only replaced by what fn returns.
local core = require("quicksilver.core")
local exc = require("quicksilver.exc")

local M = {}

local type, pairs, ipairs, setmetatable, getmetatable = type, pairs, ipairs, setmetatable, getmetatable
local K = core.kinds

local LEAF = {[K.COLUMN] = true, [K.TABLE] = true, [K.ALIAS] = true, [K.JOIN] = true, [K.BIND] = true,
  [K.CTE] = true, [K.NULL] = true, [K.TRUE] = true, [K.FALSE] = true}
-- derived or cached fields a copy must not keep
local SKIP = {_compiled = true, _froms = true, type = true}

local function replace(v, fn, seen)
  if type(v) ~= "table" then return v end
  local r = fn(v)
  if r ~= nil then return r end
  if v._is_type or LEAF[v._k] or v._is_from then return v end
  if seen[v] then return seen[v] end
  local mt = getmetatable(v)
  if mt ~= nil and not v._is_clause then return v end   -- sentinels, other objects
  local out = {}
  seen[v] = out
  for k, x in pairs(v) do
    if SKIP[k] then
      if k == "type" then out[k] = x end
    else
      out[k] = replace(x, fn, seen)
    end
  end
  return setmetatable(out, mt)
end

--- A copy of expr where every node for which fn returns a value is replaced
--- by it (fn sees each node before its children).
function M.replace(expr, fn)
  return replace(expr, fn, {})
end

--- Calls fn on every node of expr (parents before children), leaves
--- included, each once.
function M.walk(expr, fn)
  local seen = {}
  local function go(v)
    if type(v) ~= "table" or seen[v] then return end
    seen[v] = true
    fn(v)
    if v._is_type or LEAF[v._k] or v._is_from then return end
    if getmetatable(v) ~= nil and not v._is_clause then return end
    for k, x in pairs(v) do
      if not SKIP[k] then go(x) end
    end
  end
  go(expr)
end

-- The walks here recurse in Lua: they stop at the compiler's nesting limit
-- (core.max_depth nodes, with the plain tables between them) with the
-- compiler's error, rather than a Lua stack overflow.
local MAX_WALK = 3 * core.max_depth

local function too_deep()
  exc.raise(exc.CompileError, string.format("statement nested deeper than %d levels (the compiler's limit, " ..
    "core.max_depth)", core.max_depth), nil, 3)
end
M.too_deep = too_deep

--- The CTEs a statement refers to, in dependency order (those a CTE uses
--- come before it), one per name (the grown form of a recursive CTE).
function M.collect_ctes(stmt)
  local order, by_root, seen = {}, {}, {}
  local depth = 0
  local visit
  local function visit_node(node)
    if node._is_type or node._k == K.TABLE then return end
    if node._k == K.CTE then
      local root = node._root
      local body_is_compound = type(node.element) == "table" and node.element._k == K.COMPOUND
      visit(node.element)   -- CTEs this one uses come first
      local cur = by_root[root]
      if root == nil then
        exc.raise(exc.ArgumentError, "malformed CTE node: field '_root' must be the CTE it grows from, not missing",
          nil, 4)
      end
      if not cur then
        by_root[root] = node
        order[#order + 1] = root
      elseif body_is_compound and (type(cur.element) ~= "table" or cur.element._k ~= K.COMPOUND) then
        by_root[root] = node
      end
      return
    end
    for k, v in pairs(node) do
      if type(v) == "table" and k ~= "type" and k ~= "_compiled" and k ~= "c" and k ~= "metadata" then
        visit(v)
      end
    end
  end
  visit = function(node)
    if type(node) ~= "table" or seen[node] then return end
    seen[node] = true
    depth = depth + 1
    if depth > MAX_WALK then too_deep() end
    visit_node(node)
    depth = depth - 1
  end
  visit(stmt)
  local out = {}
  for i, root in ipairs(order) do out[i] = by_root[root] end
  return out
end

return M
