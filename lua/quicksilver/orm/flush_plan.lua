--- orm/flush_plan.lua: the order of the flush's writes (orm/unitofwork.lua
--- asks): tables by their dependencies (core.toposort), rows of a table
--- that depend on each other in levels, self-referential deletes children
--- first, UPDATEs in primary-key order.
local core = require("quicksilver.core")
local exc = require("quicksilver.exc")
local EMPTY = {}

local M = {}
local committed_value = require("quicksilver.orm.flush_common").committed_value

local type, ipairs, tostring, sort, concat =
  type, ipairs, tostring, table.sort, table.concat
local toposort = core.toposort

-- Tables in dependency order: relationships and foreign keys between the
-- tables this flush writes.
local function table_order(tables, tindex, skip_cols)
  local edges = {}
  local function edge(a, b)
    local ia, ib = tindex[a], tindex[b]
    if ia and ib and ia ~= ib then
      edges[#edges + 1] = ia
      edges[#edges + 1] = ib
    end
  end
  for _, t in ipairs(tables) do
    for _, fk in ipairs(t.foreign_keys) do
      local ok, col = pcall(fk.get_column, fk)
      if ok and col and not skip_cols[fk.parent] then edge(col.table, t) end
    end
  end
  local order, levels_or_cycle = toposort(#tables, edges)
  if not order then
    local names = {}
    for _, i in ipairs(levels_or_cycle) do names[#names + 1] = tables[i].name end
    return nil, names
  end
  local out = {}
  for i, ti in ipairs(order) do out[i] = tables[ti] end
  return out
end

-- Rows in batches by level (core.toposort's levels), level 1 first.
local function in_levels(rows, order, levels)
  local batches = {}
  for _, i in ipairs(order) do
    local l = levels[i]
    batches[l] = batches[l] or {}
    batches[l][#batches[l] + 1] = rows[i]
  end
  return batches
end

-- Rows of one table with dependencies among them (self-referential): in
-- levels, parents first. Returns a list of batches.
-- Whether rows of tbl may depend on each other: some relationship of
-- their mappers targets a mapper that writes tbl too (self-referential,
-- or across an inheritance hierarchy sharing the table). Asked per mapper,
-- so a batch of 100,000 rows of one class costs one look per row.
local function may_depend(rows, tbl)
  local seen = {}
  for i = 1, #rows do
    local m = rows[i].mapper
    if not seen[m] then
      seen[m] = true
      for _, rel in ipairs(m.relationships) do
        for _, t in ipairs(rel.target.tables) do
          if t == tbl then return true end
        end
      end
    end
  end
  return false
end

local function row_levels(rows, uow, tbl)
  if not may_depend(rows, tbl) then return {rows} end
  local index = {}
  for i, st in ipairs(rows) do index[st] = i end
  local edges = {}
  for i, st in ipairs(rows) do
    local syncs = uow.syncs[st] or EMPTY
    for j = 1, #syncs, 2 do
      local pi = index[syncs[j]]
      if pi and pi ~= i then
        edges[#edges + 1] = pi
        edges[#edges + 1] = i
      end
    end
  end
  if #edges == 0 then return {rows} end
  local order, levels = toposort(#rows, edges)
  if not order then
    local names = {}
    for _, i in ipairs(levels) do names[#names + 1] = tostring(rows[i].obj) end
    exc.raise(exc.CircularDependencyError, "Circular dependency detected among rows: " ..
      concat(names, ", "), nil, 5)
  end
  return in_levels(rows, order, levels)
end

-- Rows of a self-referential table to delete: a row referring to another
-- one being deleted goes first. Returns batches, first to last.
-- A post_update foreign key does not order them: it is NULLed by UPDATE
-- before any DELETE (flush_write.do_post_nulls).
local function post_update_columns(rows)
  local cols, seen = {}, {}
  for _, st in ipairs(rows) do
    local m = st.mapper
    if not seen[m] then
      seen[m] = true
      for _, rel in ipairs(m.relationships) do
        if rel.post_update and not rel.secondary then
          for _, p in ipairs(rel.pairs) do
            cols[rel.direction == "ONETOMANY" and p.remote_col or p.local_col] = true
          end
        end
      end
    end
  end
  return cols
end

local function delete_batches(tbl, rows)
  local selfrefs = {}
  local posted = #rows > 1 and post_update_columns(rows) or EMPTY
  for _, fk in ipairs(tbl.foreign_keys) do
    local ok, col = pcall(fk.get_column, fk)
    if ok and col and col.table == tbl and not posted[fk.parent] then
      selfrefs[#selfrefs + 1] = {child = fk.parent, parent = col}
    end
  end
  if #selfrefs == 0 or #rows < 2 then return {rows} end
  local function value(st, col) return committed_value(st, st.mapper.col_attr[col]) end
  local edges = {}
  for _, ref in ipairs(selfrefs) do
    local by_value = {}
    for i, st in ipairs(rows) do
      local v = value(st, ref.parent)
      if v ~= nil then by_value[v] = i end
    end
    for i, st in ipairs(rows) do
      local v = value(st, ref.child)
      local pi = v ~= nil and by_value[v]
      if pi and pi ~= i then
        edges[#edges + 1] = i    -- the referring row before the one it names
        edges[#edges + 1] = pi
      end
    end
  end
  if #edges == 0 then return {rows} end
  local order, levels = toposort(#rows, edges)
  if not order then
    exc.raise(exc.CircularDependencyError, "Circular dependency among rows of '" .. tbl.name ..
      "' to delete", nil, 5)
  end
  return in_levels(rows, order, levels)
end

-- Updates in a stable order, as SQLAlchemy's (by mapper, then primary
-- key), so that concurrent flushes lock rows in the same order. Integer
-- keys sort as numbers with the C comparison (no Lua callback per pair).
local function sorted_by_key(states)
  local groups, ids = {}, {}
  for _, st in ipairs(states) do
    local id = st.mapper.id
    local g = groups[id]
    if not g then g = {}; groups[id] = g; ids[#ids + 1] = id end
    g[#g + 1] = st
  end
  sort(ids)
  local out = {}
  for _, id in ipairs(ids) do
    local g = groups[id]
    local m = g[1].mapper
    local numeric = #m.pk_keys == 1
    local by = {}
    local nums = {}
    if numeric then
      local k = m.pk_keys[1]
      for i, st in ipairs(g) do
        local v = committed_value(st, k)
        if type(v) ~= "number" or by[v] then numeric = false; break end
        by[v] = st
        nums[i] = v
      end
    end
    if numeric then
      sort(nums)
      for _, v in ipairs(nums) do out[#out + 1] = by[v] end
    else
      sort(g, function(a, b) return a.key < b.key end)
      for _, st in ipairs(g) do out[#out + 1] = st end
    end
  end
  return out
end

M.table_order = table_order
M.row_levels = row_levels
M.delete_batches = delete_batches
M.sorted_by_key = sorted_by_key

return M
