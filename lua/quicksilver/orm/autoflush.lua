--- orm/autoflush.lua: which loaded collections an autoflush must look at,
--- and the look itself.
---
--- Collections are plain Lua sequences (API.md), so a change made to one by
--- table.insert, table.remove or list[i] = x is not seen when it is made:
--- it is found by comparing the list with the snapshot taken when it was
--- loaded or flushed. The session's other changes (new, deleted, modified
--- objects, many-to-one sets) are known at once, so an autoflush that finds
--- them flushes; when there are none, only the loaded collections can hold
--- a change, and those are what this module bounds and compares.
---
--- Bounding: a change to a collection is written by the flush into tables
--- of the relationship's own component of the schema, the tables connected
--- to its mapper through relationships (both ends, secondary tables),
--- inheritance and foreign keys (database-side cascades follow those):
--- the members' foreign keys, the rows of new members and whatever they
--- cascade to, deleted orphans and the rows that refer to them. A lazy load
--- reads its target's tables (and the secondary table), which lie in its
--- parent's component. So a lazy load needs the loaded collections of
--- mappers of that component only; the others cannot change what it reads
--- and stay unflushed until a flush that needs them (an autoflush of a
--- query that could see them, flush(), commit()). The read set keeps its
--- states in per-mapper buckets for this. Statements
--- whose tables are not known this way (Session:execute of any statement, a
--- relationship with a custom primaryjoin or an order_by outside the
--- schema graph) look at every loaded collection (a lazy load's: every
--- one read, below), as SQLAlchemy's autoflush
--- flushes everything. Where a flush could run user code that writes other
--- tables (before_flush / after_flush listeners on the session, insert /
--- update / delete listeners on a mapper of a skipped component), nothing
--- is skipped.
---
--- Which states, for a lazy load: only those whose collections were read
--- since the last lazy-load check (the session's read set, `_reads`, kept
--- by attributes.note_read). A loaded list lives outside the value table,
--- so every read of it runs the miss function and is noted; a list nobody
--- got since the last check was equal to its snapshot then and cannot
--- have changed since. The check empties the buckets it compared (their
--- lists are now known equal to their snapshots), so N lazy loads cost
--- O(N) comparisons in all, not O(N²). The one deviation: a list changed
--- through a reference held from before the last lazy-load check (read,
--- a lazy load elsewhere, then table.insert into the held list) is written
--- by the next full flush (a query's autoflush, flush(), commit()), not by
--- the next lazy load's. SQLAlchemy's collections are instrumented and see
--- that change; ours are plain lists (docs/ORM_TUTORIAL.md, "Differences").
--- Every other flush compares every loaded collection.
---
--- Comparing: per state a few field reads, per member one identity compare
--- (`~=`: ORM instances define no __eq), stopping at the first difference;
--- no allocation. In Lua rather than C: over plain tables the C API costs
--- more per read than the interpreter (and much more than LuaJIT's traces):
--- docs/PERFORMANCE.md.
local event = require("quicksilver.event")
local mapper_mod = require("quicksilver.orm.mapper")
local read_set = require("quicksilver.orm.attributes").read_set

local pairs, ipairs, next, rawget, setmetatable, type, pcall =
  pairs, ipairs, next, rawget, setmetatable, type, pcall
local ONETOMANY = "ONETOMANY"
-- states compared so far (M.compared: specs check the lazy-load bound)
local compared = 0

local M = {}

local WEAK_KEYS = {__mode = "k"}

-- A mapper's tracked collections: {key, uselist} of each relationship the
-- flush diffs (not viewonly; lists, and one-to-one places). Kept on the
-- mapper once every relationship knows its direction (a new relationship
-- clears it: Mapper:_add_relationship).
function M.collection_rels(mapper)
  local list, complete = {}, true
  for _, rel in ipairs(mapper.relationships) do
    if rel.direction == nil then complete = false end
    if not rel.viewonly and (rel.uselist or rel.direction == ONETOMANY) then
      list[#list + 1] = {rel.key, rel.uselist and true or false}
    end
  end
  if complete then mapper._coll_rels = list end
  return list
end
local collection_rels = M.collection_rels

-- Whether a state of the set states (those still in the session's set
-- `set`, still the session's: sid) has a loaded collection that differs
-- from its snapshot: the test core.changed_collections makes, in Lua (see
-- the header). rels: the states' mapper's {key, uselist} list when they
-- share one (a bucket), else nil. One loop; the state's fields read plainly
-- (a tracked state has loaded and snap; set has no __index), its values
-- raw (an absent one must not start a load).
local function any_changed(states, set, sid, rels)
  for st in pairs(states) do
    if set[st] and st._sid == sid then
      local rs = rels
      if rs == nil then
        local m = st.mapper
        rs = m._coll_rels or collection_rels(m)
      end
      compared = compared + 1
      local loaded, snap, dict, colls = st.loaded, st.snap, st.dict, rawget(st, "colls")
      for r = 1, #rs do
        local rel = rs[r]
        local key = rel[1]
        if loaded[key] then
          local sn = snap[key]
          if sn == nil then return true end
          if rel[2] then
            local v = colls and colls[key]
            if v == nil then
              if sn[1] ~= nil then return true end
            else
              local n = #v
              if n ~= #sn then return true end
              for i = 1, n do
                if v[i] ~= sn[i] then return true end
              end
            end
          elseif rawget(dict, key) ~= sn[1] then
            return true
          end
        end
      end
    end
  end
  return false
end

-- The schema graph's components, per registry and mapper generation:
-- comp[table] = its root table, mappers_of[root] = the mappers there.
-- nil when some relationship is not configured yet.
local graphs = setmetatable({}, WEAK_KEYS)

local function build_graph(registry)
  local parent = {}
  local function find(t)
    local p = parent[t]
    if p == nil then parent[t] = t; return t end
    while p ~= t do
      local gp = parent[p]
      parent[t] = gp
      t, p = p, gp
    end
    return t
  end
  local function union(a, b)
    local ra, rb = find(a), find(b)
    if ra ~= rb then parent[rb] = ra end
  end
  local seen = {}
  local function add_table(t)
    if seen[t] then return true end
    seen[t] = true
    find(t)
    for _, fk in ipairs(t.foreign_keys or {}) do
      local ok, col = pcall(fk.get_column, fk)
      if not ok or col == nil or col.table == nil then return false end
      union(t, col.table)
      if not add_table(col.table) then return false end
    end
    return true
  end
  for _, m in ipairs(registry.mappers) do
    local lt = m.local_table
    if not add_table(lt) then return nil end
    for _, t in ipairs(m.tables or {}) do
      if not add_table(t) then return nil end
      union(lt, t)
    end
    if m.inherits then union(lt, m.inherits.local_table) end
    for _, rel in ipairs(m.relationships) do
      local target = rel.target
      if target == nil or rel.direction == nil or target.local_table == nil then return nil end
      if not add_table(target.local_table) then return nil end
      union(lt, target.local_table)
      if rel.secondary then
        if not add_table(rel.secondary) then return nil end
        union(lt, rel.secondary)
      end
    end
  end
  local comp, mappers_of = {}, {}
  for t in pairs(seen) do comp[t] = find(t) end
  for _, m in ipairs(registry.mappers) do
    local root = comp[m.local_table]
    local list = mappers_of[root]
    if list == nil then list = {}; mappers_of[root] = list end
    list[#list + 1] = m
  end
  return {comp = comp, mappers_of = mappers_of}
end

local function graph(registry)
  if registry == nil or not registry.configured then return nil end
  local gen = mapper_mod.props_generation()
  local g = graphs[registry]
  if g == nil or g.gen ~= gen then
    g = build_graph(registry) or {}
    g.gen = gen
    graphs[registry] = g
  end
  return g.comp and g
end

-- The component roots a lazy load of rel reads, or nil when not known:
-- its parent's component (which holds the target and secondary tables),
-- and the tables of its order_by columns.
local function lazy_reads(rel)
  local registry = rel.parent.registry
  local g = graph(registry)
  if g == nil or rel.primaryjoin or rel.secondaryjoin then return nil end
  local cache = rel._autoflush_reads
  if cache and cache.g == g then return cache.roots, registry, g end
  local root = g.comp[rel.parent.local_table]
  if root == nil then return nil end
  local roots = {[root] = true}
  for _, c in ipairs(rel.order_by or {}) do
    local t = type(c) == "table" and rawget(c, "table")
    local r = t and g.comp[t]
    if not r then return nil end
    roots[r] = true
  end
  rel._autoflush_reads = {g = g, roots = roots}
  return roots, registry, g
end

local SESSION_EVENTS = {"before_flush", "after_flush", "after_flush_postexec"}
local MAPPER_EVENTS = {"before_insert", "after_insert", "before_update", "after_update",
  "before_delete", "after_delete"}

-- Whether a flush of the mappers of component root could run a listener
-- that writes anywhere.
local function component_listens(g, root)
  for _, m in ipairs(g.mappers_of[root] or {}) do
    for _, name in ipairs(MAPPER_EVENTS) do
      if event.has(m.class, name) then return true end
    end
  end
  return false
end

-- The lazy-load case: the states read since the last such check, of the
-- mappers whose flush could write what the load reads (all when roots is
-- nil); each bucket compared without a difference is emptied.
local function reads_changed(session, set, sid, roots, registry, g)
  local reads = read_set(sid)
  if reads == nil then return false end
  local listening = roots ~= nil and event._count() > 0
  for m, bucket in pairs(reads) do
    local root = roots ~= nil and m.registry == registry and g.comp[m.local_table]
    if roots == nil or not root or roots[root] or (listening and component_listens(g, root)) then
      if next(bucket) ~= nil then
        if any_changed(bucket, set, sid, m._coll_rels or collection_rels(m)) then return true end
        for st in pairs(bucket) do bucket[st] = nil end
      end
    end
  end
  return false
end

--- Whether a loaded collection of session changed since it was loaded or
--- flushed, among those a lazy load of rel could see: with rel, those read
--- since the last lazy-load check (see the header), of its part of the
--- schema when its reads are known; without rel, every one. The session's
--- other changes are the caller's to test first.
---@param session table
---@param rel table|nil
---@return boolean
function M.collections_changed(session, rel)
  local set = session._collections
  if next(set) == nil then return false end
  local sid = rawget(session, "_sid")
  if rel == nil then return any_changed(set, set, sid, nil) end
  local roots, registry, g = lazy_reads(rel)
  if roots ~= nil and event._count() > 0 then
    for _, name in ipairs(SESSION_EVENTS) do
      if event.has(session, name) then roots = nil; break end
    end
  end
  return reads_changed(session, set, sid, roots, registry, g)
end

M._lazy_reads = lazy_reads

--- How many states the collection checks have compared in this process
--- (for specs: the lazy-load check's cost must not grow with the session).
---@return integer
function M.compared() return compared end

return M
