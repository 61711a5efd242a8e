--- orm/flush_plan.lua: what the flush writes and in which order
--- (orm/unitofwork.lua asks): the rows to insert and update, the tables
--- they touch by their dependencies (core.toposort), rows of a table
--- that depend on each other in levels, self-referential deletes children
--- first, UPDATEs in primary-key order.
local core = require("quicksilver.core")
local exc = require("quicksilver.exc")
local EMPTY = {}

local M = {}
local committed_value = require("quicksilver.orm.flush_common").committed_value

local type, pairs, ipairs, tostring, sort, concat =
  type, pairs, ipairs, tostring, table.sort, table.concat
local ONETOMANY = "ONETOMANY"
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
            cols[rel.direction == ONETOMANY and p.remote_col or p.local_col] = true
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

-- What the flush writes: the session's new objects to INSERT (those not
-- deleted in this flush) and the persistent objects to UPDATE (changed, or
-- whose keys a relationship sets, nulls or posts), in primary-key order.
local function rows_to_write(session, uow, colls)
  local inserts, updates = {}, {}
  for _, st in ipairs(session._new) do
    if st.session == session and not uow.delete_set[st] then inserts[#inserts + 1] = st end
  end
  -- new objects, the bulk of most sources, are out at the first test
  local seen = {}
  local function consider(st)
    if st.key and not seen[st] and st.session == session and not uow.delete_set[st] then
      seen[st] = true
      updates[#updates + 1] = st
    end
  end
  for st in pairs(session._modified) do consider(st) end
  for _, st in ipairs(colls) do consider(st) end
  for st in pairs(uow.syncs) do consider(st) end
  for st in pairs(uow.nulls) do consider(st) end
  for st in pairs(uow.post) do consider(st) end
  return inserts, sorted_by_key(updates)
end

-- The tables the rows of uow.inserts, uow.updates and uow.deletes are
-- written to, each once, in the order first met; and the columns that
-- must not order them: a post_update foreign key is set by its own UPDATE
-- after the INSERTs and UPDATEs and nulled before the DELETEs (an UPDATE
-- that clears it next to a DELETE of the row it pointed at is no cycle).
-- Asked once per mapper, not per row.
local function tables_touched(uow)
  local tables, tindex, skip_cols = {}, {}, {}
  local noted = {}
  local function note(st)
    local m = st.mapper
    if noted[m] then return end
    noted[m] = true
    for _, t in ipairs(m.tables) do
      if not tindex[t] then
        tables[#tables + 1] = t
        tindex[t] = #tables
      end
    end
    for _, rel in ipairs(m.relationships) do
      if rel.post_update then
        for _, p in ipairs(rel.pairs) do
          skip_cols[rel.direction == ONETOMANY and p.remote_col or p.local_col] = true
        end
      end
    end
  end
  for _, st in ipairs(uow.inserts) do note(st) end
  for _, st in ipairs(uow.updates) do note(st) end
  for _, st in ipairs(uow.deletes) do note(st) end
  return tables, tindex, skip_cols
end

-- The tables to write in dependency order (parents first; a cycle is a
-- CircularDependencyError naming them), and per table its rows to insert,
-- update and delete: {ins = {...}, upd = {...}, del = {...}}.
local function tables_to_write(uow)
  local tables, tindex, skip_cols = tables_touched(uow)
  local order, cycle = table_order(tables, tindex, skip_cols)
  if not order then
    exc.raise(exc.CircularDependencyError, "Circular dependency between tables " .. concat(cycle, ", ") ..
      " (mutually dependent rows need post_update)", nil, 5)
  end
  local by_table = {}
  for _, t in ipairs(order) do by_table[t] = {ins = {}, upd = {}, del = {}} end
  local function place(st, field)
    for _, t in ipairs(st.mapper.tables) do
      local list = by_table[t][field]
      list[#list + 1] = st
    end
  end
  for _, st in ipairs(uow.inserts) do place(st, "ins") end
  for _, st in ipairs(uow.updates) do place(st, "upd") end
  for _, st in ipairs(uow.deletes) do place(st, "del") end
  return order, by_table
end

M.rows_to_write = rows_to_write
M.tables_to_write = tables_to_write
M.table_order = table_order
M.row_levels = row_levels
M.delete_batches = delete_batches
M.sorted_by_key = sorted_by_key

return M
