--- orm/annotations.lua: `orm.foreign(col)` and `orm.remote(col)`
--- (SQLAlchemy's foreign() / remote()): marks on the columns of a
--- relationship's custom primaryjoin telling which column holds the
--- foreign key value and which belongs to the target's row, where foreign
--- keys cannot tell (no ForeignKey between the columns, or a table joined
--- to itself).
---
--- A marked column is a copy of the column node (same fields, same
--- metatable, so it renders and compares as the column) carrying the marks
--- and the column it stands for. The relationship reads the marks when it
--- configures and keeps a join condition without them (or, joined to
--- itself, with the remote side marked, which is how its join and lazy load
--- tell the two sides of one table apart).
local exc = require("quicksilver.exc")
local core = require("quicksilver.core")
local visitors = require("quicksilver.sql.visitors")

local M = {}

local type, rawget, pairs, setmetatable, getmetatable, tostring =
  type, rawget, pairs, setmetatable, getmetatable, tostring
local K = core.kinds

-- the column a (marked) node stands for
local function column_of(n)
  return rawget(n, "_orm_column") or n
end
M.column_of = column_of

local function format_msg(what, col)
  return string.format("orm.%s(): expected a table column, got %s", what, tostring(col))
end

local function annotate(col, what, flag)
  if type(col) == "table" and type(col.__clause_element__) == "function" and col._k ~= K.COLUMN then
    col = col:__clause_element__()
  end
  if type(col) ~= "table" or col._k ~= K.COLUMN or not col.table then
    exc.raise(exc.ArgumentError, format_msg(what, col), nil, 3)
  end
  local out = {}
  for k, v in pairs(col) do out[k] = v end
  out._orm_column = column_of(col)
  out[flag] = true
  return setmetatable(out, getmetatable(col))
end

--- orm.foreign(col): col holds the foreign key value of a custom join.
---@param col table a Column
---@return table
function M.foreign(col) return annotate(col, "foreign", "_orm_foreign") end

--- orm.remote(col): col is on the relationship's target side of a custom join.
---@param col table a Column
---@return table
function M.remote(col) return annotate(col, "remote", "_orm_remote") end

--- Whether expr has a foreign() or remote() mark.
function M.has_marks(expr)
  local found = false
  visitors.walk(expr, function(n)
    if rawget(n, "_orm_column") then found = true end
  end)
  return found
end

--- expr without marks (each marked node replaced by its column). For a
--- table joined to itself (is_remote given), the remote columns become
--- copies marked remote and nothing else.
function M.strip(expr, is_remote)
  return visitors.replace(expr, function(n)
    if n._k ~= K.COLUMN then return nil end
    if is_remote and n.table and is_remote(n) then
      local out = {}
      for k, v in pairs(n) do out[k] = v end
      out._orm_column = column_of(n)
      out._orm_foreign = nil
      out._orm_remote = true
      return setmetatable(out, getmetatable(n))
    end
    return rawget(n, "_orm_column") or n
  end)
end

--- A copy of a self-referential condition with every column marked:
--- remote where is_remote(node) (the other way round when flip: the same
--- condition seen from the other side, what a backref uses), foreign marks
--- kept.
function M.mark_sides(expr, is_remote, flip)
  return visitors.replace(expr, function(n)
    if n._k == K.COLUMN and n.table then
      local out = {}
      for k, v in pairs(n) do out[k] = v end
      out._orm_column = column_of(n)
      local r = is_remote(n)
      if flip then r = not r end
      out._orm_remote = r or nil
      return setmetatable(out, getmetatable(n))
    end
    return nil
  end)
end

--- Which nodes of a self-referential condition are on the remote side:
--- those marked remote; with no remote mark, the columns of remote_side,
--- else those marked foreign (a one-to-many, as SQLAlchemy assumes).
function M.remote_test(expr, remote_side)
  local any_remote = false
  visitors.walk(expr, function(n) if rawget(n, "_orm_remote") then any_remote = true end end)
  return function(n)
    if any_remote then return rawget(n, "_orm_remote") == true end
    if remote_side then return remote_side[column_of(n)] == true end
    return rawget(n, "_orm_foreign") == true
  end
end

--- The column = column comparisons of expr between tables pt (the parent's)
--- and tt (the target's), as {a = parent side column, b = target side
--- column, fa = a is marked foreign, fb = b is}. For a table joined to
--- itself, the side comes from the remote marks (or, with none, from the
--- foreign marks: the foreign column is remote, a one-to-many, as in
--- SQLAlchemy) or from remote_side (a set of columns).
function M.eq_pairs(expr, pt, tt, remote_side)
  local selfref = pt == tt
  local is_remote = M.remote_test(expr, remote_side)
  local out = {}
  visitors.walk(expr, function(n)
    if n._k == K.BINARY and n.op == core.ops.EQ and type(n.left) == "table" and type(n.right) == "table" and
        n.left._k == K.COLUMN and n.right._k == K.COLUMN then
      local l, r = n.left, n.right
      local lc, rc = column_of(l), column_of(r)
      local a, b
      if selfref then
        if lc.table == pt and rc.table == pt then
          local lr, rr = is_remote(l), is_remote(r)
          if rr and not lr then a, b = l, r elseif lr and not rr then a, b = r, l end
        end
      elseif lc.table == pt and rc.table == tt then a, b = l, r
      elseif lc.table == tt and rc.table == pt then a, b = r, l end
      if a then
        out[#out + 1] = {a = column_of(a), b = column_of(b), fa = rawget(a, "_orm_foreign") == true,
          fb = rawget(b, "_orm_foreign") == true}
      end
    end
  end)
  return out, is_remote
end

--- A copy of a self-referential join condition (remote side marked) with
--- each column replaced: remote ones by on_remote(col), the others by
--- on_local(col) (nil: kept).
function M.adapt_sides(expr, on_local, on_remote)
  return visitors.replace(expr, function(n)
    if n._k == K.COLUMN and n.table then
      local col = column_of(n)
      local r
      if rawget(n, "_orm_remote") then r = on_remote and on_remote(col) else r = on_local and on_local(col) end
      return r ~= nil and r or col
    end
    return nil
  end)
end

return M
