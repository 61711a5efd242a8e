--- orm/flush_plan.lua: what the flush writes and in which order
--- (orm/unitofwork.lua asks): the rows to insert and update, the tables
--- they touch by their dependencies (c/orm/plan.c), rows of a table
--- that depend on each other in levels, self-referential deletes children
--- first, UPDATEs in primary-key order.
local core = require("quicksilver.core")
local exc = require("quicksilver.exc")
local EMPTY = {}

local M = {}
local committed_value = require("quicksilver.orm.flush_common").committed_value

local type, pairs, ipairs, next, rawget, tostring, sort, concat =
  type, pairs, ipairs, next, rawget, tostring, table.sort, table.concat
local ONETOMANY = "ONETOMANY"
local plan_table_order, plan_row_levels, plan_delete_order =
  core.plan_table_order, core.plan_row_levels, core.plan_delete_order
local props_generation = require("quicksilver.orm.mapper").props_generation
local in_session = require("quicksilver.orm.attributes").in_session

-- The foreign keys of a table as {parent column, child column, parent
-- table}, resolved; nil while one does not resolve yet (its table is not
-- defined), so that nothing half-known is kept.
local function resolved_fks(t)
  local out = {}
  for _, fk in ipairs(t.foreign_keys) do
    local ok, col = pcall(fk.get_column, fk)
    if not (ok and col) then return nil end
    out[#out + 1] = {col, fk.parent, col.table}
  end
  return out
end

-- What the plan needs of a mapper, computed once per mapper configuration
-- (kept while no mapper gains a property or relationship, and only once
-- its registry is configured): its tables with their foreign keys, the
-- columns its post_update relationships write by their own UPDATE (they
-- order nothing), and the tables its relationships target (whether rows
-- of a table may depend on each other).
local function mapper_facts(m)
  local gen = props_generation()
  local f = m._plan_facts
  if f and f.gen == gen then return f end
  f = {gen = gen, fks = {}, post_cols = {}, targets = {}, orders = {}}
  local complete = m.registry == nil or m.registry.configured
  for _, t in ipairs(m.tables) do
    local fks = resolved_fks(t)
    if not fks then complete = false; fks = {} end
    f.fks[t] = fks
  end
  for _, rel in ipairs(m.relationships) do
    if rel.post_update then
      for _, p in ipairs(rel.pairs or EMPTY) do
        -- "secondary": orders no table, but no self-referential delete either
        local col = rel.direction == ONETOMANY and p.remote_col or p.local_col
        if not rel.secondary then f.post_cols[col] = true
        elseif not f.post_cols[col] then f.post_cols[col] = "secondary" end
      end
    end
    if rel.target then
      for _, t in ipairs(rel.target.tables) do f.targets[t] = true end
    else
      complete = false
    end
  end
  if complete then m._plan_facts = f end
  return f
end

-- Tables in dependency order (c/orm/plan.c): relationships and foreign keys
-- between the tables this flush writes, minus the post_update columns.
local function table_order(tables, tindex, skip_cols, facts)
  local fks = {}
  local seen = {}
  for _, t in ipairs(tables) do
    if not seen[t] then
      seen[t] = true
      local list = facts and facts[t] or resolved_fks(t) or {}
      for _, fk in ipairs(list) do
        local pi, ci = tindex[fk[3]], tindex[t]
        if pi and ci and pi ~= ci then
          fks[#fks + 1] = pi
          fks[#fks + 1] = ci
          fks[#fks + 1] = skip_cols[fk[2]] and true or false
        end
      end
    end
  end
  local order, cycle = plan_table_order(#tables, fks)
  if not order then
    local names = {}
    for _, i in ipairs(cycle) do names[#names + 1] = tables[i].name end
    return nil, names
  end
  local out = {}
  for i, ti in ipairs(order) do out[i] = tables[ti] end
  return out
end

-- A levelled order (order, bounds from c/orm/plan.c) as batches of rows.
local function in_batches(rows, order, bounds)
  local batches = {}
  for b = 1, #bounds - 1 do
    local batch = {}
    for j = bounds[b], bounds[b + 1] - 1 do batch[#batch + 1] = rows[order[j]] end
    batches[b] = batch
  end
  return batches
end

-- Whether rows of tbl may depend on each other: some relationship of
-- their mappers targets a mapper that writes tbl too (self-referential,
-- or across an inheritance hierarchy sharing the table). Asked per mapper,
-- so a batch of 100,000 rows of one class costs one look per row.
local function may_depend(rows, tbl)
  local seen, lastm = {}, nil
  for i = 1, #rows do
    local m = rows[i].mapper
    if m ~= lastm and not seen[m] then
      seen[m] = true
      if mapper_facts(m).targets[tbl] then return true end
    end
    lastm = m
  end
  return false
end

-- Rows of one table with dependencies among them (self-referential): in
-- levels, parents first. Returns a list of batches.
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
  local order, bounds = plan_row_levels(#rows, edges)
  if not order then
    local names = {}
    for _, i in ipairs(bounds) do names[#names + 1] = tostring(rows[i].obj) end
    exc.raise(exc.CircularDependencyError, "Circular dependency detected among rows: " ..
      concat(names, ", "), nil, 5)
  end
  return in_batches(rows, order, bounds)
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
      for col, how in pairs(mapper_facts(m).post_cols) do
        if how ~= "secondary" then cols[col] = true end
      end
    end
  end
  return cols
end

local function delete_batches(tbl, rows)
  if #rows < 2 then return {rows} end
  local posted = post_update_columns(rows)
  local selfrefs = {}
  for _, fk in ipairs(mapper_facts(rows[1].mapper).fks[tbl] or resolved_fks(tbl) or EMPTY) do
    if fk[3] == tbl and not posted[fk[2]] then
      selfrefs[#selfrefs + 1] = {child = fk[2], parent = fk[1]}
    end
  end
  if #selfrefs == 0 then return {rows} end
  local n = #rows
  local keys, refs = {}, {}
  for r, ref in ipairs(selfrefs) do
    local base = (r - 1) * n
    for i, st in ipairs(rows) do
      local cattr = st.mapper.col_attr
      local v = committed_value(st, cattr[ref.parent])
      if v == nil then v = false end
      keys[base + i] = v
      v = committed_value(st, cattr[ref.child])
      if v == nil then v = false end
      refs[base + i] = v
    end
  end
  local order, bounds = plan_delete_order(n, #selfrefs, keys, refs)
  if not order then
    exc.raise(exc.CircularDependencyError, "Circular dependency among rows of '" .. tbl.name ..
      "' to delete", nil, 5)
  end
  if #bounds == 2 then return {rows} end
  return in_batches(rows, order, bounds)
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
  -- (a state of session._new holds its _sid: read plainly, the session's
  -- id compared; the delete set only when something is deleted)
  local new, sid, n = session._new, rawget(session, "_sid"), 0
  local delete_set = uow.delete_set
  if next(delete_set) == nil then delete_set = nil end
  for i = 1, #new do
    local st = new[i]
    if st._sid == sid and not (delete_set and delete_set[st]) then
      n = n + 1
      inserts[n] = st
    end
  end
  -- new objects, the bulk of most sources, are out at the first test
  local seen = {}
  local function consider(st)
    if rawget(st, "key") ~= nil and not seen[st] and in_session(st, session) and not uow.delete_set[st] then
      seen[st] = true
      updates[#updates + 1] = st
    end
  end
  for st in pairs(session._modified) do consider(st) end
  for _, st in ipairs(colls) do consider(st) end
  -- the states syncs, nulls and post name: the gather's list of those that
  -- may be persistent (flush_gather.lua), else every key
  local linked = uow.linked
  if linked then
    for i = 1, #linked do consider(linked[i]) end
  else
    for st in pairs(uow.syncs) do consider(st) end
    for st in pairs(uow.nulls) do consider(st) end
    for st in pairs(uow.post) do consider(st) end
  end
  return inserts, sorted_by_key(updates)
end

-- The tables the rows of uow.inserts, uow.updates and uow.deletes are
-- written to, each once, in the order first met; and the columns that
-- must not order them: a post_update foreign key is set by its own UPDATE
-- after the INSERTs and UPDATEs and nulled before the DELETEs (an UPDATE
-- that clears it next to a DELETE of the row it pointed at is no cycle).
-- Asked once per mapper, not per row; the mappers in the order met.
local function mappers_touched(uow)
  local mappers, noted = {}, {}
  local function note(list)
    local lastm
    for i = 1, #list do
      local m = list[i].mapper
      if m ~= lastm and not noted[m] then
        noted[m] = true
        mappers[#mappers + 1] = m
      end
      lastm = m
    end
  end
  note(uow.inserts)
  note(uow.updates)
  note(uow.deletes)
  return mappers
end

local function tables_touched(mappers)
  local tables, tindex, skip_cols, fks = {}, {}, {}, {}
  for _, m in ipairs(mappers) do
    local f = mapper_facts(m)
    for _, t in ipairs(m.tables) do
      if not tindex[t] then
        tables[#tables + 1] = t
        tindex[t] = #tables
        fks[t] = f.fks[t]
      end
    end
    for col in pairs(f.post_cols) do skip_cols[col] = true end
  end
  return tables, tindex, skip_cols, fks
end

-- The table order for the mappers a flush touches, in the order met: kept
-- on the first mapper's facts (a flush of the same classes as the last
-- asks nothing else), recomputed when a mapper changes.
local function ordered_tables(mappers)
  local ids = {}
  for i, m in ipairs(mappers) do ids[i] = m.id end
  local key = concat(ids, ",")
  local first = mappers[1] and mapper_facts(mappers[1])
  local hit = first and first.orders[key]
  if hit then
    local fresh = true
    for i, m in ipairs(mappers) do
      if m._plan_facts ~= hit.facts[i] or m._plan_facts == nil then fresh = false end
    end
    if fresh then return hit.order end
  end
  local tables, tindex, skip_cols, fks = tables_touched(mappers)
  local order, cycle = table_order(tables, tindex, skip_cols, fks)
  if not order then
    exc.raise(exc.CircularDependencyError, "Circular dependency between tables " .. concat(cycle, ", ") ..
      " (mutually dependent rows need post_update)", nil, 6)
  end
  if first then
    local facts = {}
    for i, m in ipairs(mappers) do facts[i] = m._plan_facts end
    first.orders[key] = {order = order, facts = facts}
  end
  return order
end

-- Each state of rows appended to the field list of each of its mapper's
-- tables in by_table. The lists are looked up per mapper, not per row
-- (rows of one mapper come in runs); a mapper of one table, the usual
-- case, costs an append per row.
local function place(rows, by_table, field)
  local lastm, one, lists
  local of = {}   -- mapper -> its lists
  for i = 1, #rows do
    local st = rows[i]
    local m = st.mapper
    if m ~= lastm then
      lastm = m
      lists = of[m]
      if not lists then
        local ts = m.tables
        lists = {}
        for k = 1, #ts do lists[k] = by_table[ts[k]][field] end
        of[m] = lists
      end
      one = #lists == 1 and lists[1]
    end
    if one then
      one[#one + 1] = st
    else
      for k = 1, #lists do
        local l = lists[k]
        l[#l + 1] = st
      end
    end
  end
end

-- The tables to write in dependency order (parents first; a cycle is a
-- CircularDependencyError naming them), and per table its rows to insert,
-- update and delete: {ins = {...}, upd = {...}, del = {...}}.
local function tables_to_write(uow)
  local order = ordered_tables(mappers_touched(uow))
  local by_table = {}
  for _, t in ipairs(order) do by_table[t] = {ins = {}, upd = {}, del = {}} end
  place(uow.inserts, by_table, "ins")
  place(uow.updates, by_table, "upd")
  place(uow.deletes, by_table, "del")
  return order, by_table
end

M.rows_to_write = rows_to_write
M.tables_to_write = tables_to_write
M.table_order = table_order
M.row_levels = row_levels
M.delete_batches = delete_batches
M.sorted_by_key = sorted_by_key

return M
