--- orm/unitofwork.lua: the flush (SQLAlchemy's orm/unitofwork.py and
--- persistence.py).
---
--- 1. Gather: cascade save-update from everything in the session, cascade
---    deletes (loading collections unless passive_deletes), compare loaded
---    collections with their snapshots (members added get their foreign key,
---    members removed are orphans: deleted or their key nulled), and note
---    which foreign keys follow from which objects.
--- 2. Plan (C: core.toposort): tables in dependency order (parents before
---    children), rows of a self-referential table in levels; changed columns
---    per object (C: core.changed_keys).
--- 3. Write, in the session's transaction: INSERTs per table in batches of
---    equal column sets (one executemany, or multi-row INSERT ... RETURNING
---    for new keys), UPDATEs of changed columns only (batched the same way,
---    rowcounts checked), then DELETEs children first.
--- 4. Only when every statement succeeded do objects change state; on any
---    error their attributes are put back, the transaction is rolled back,
---    and the session raises PendingRollbackError until rollback().
local core = require("quicksilver.core")
local exc = require("quicksilver.exc")
local elements = require("quicksilver.sql.elements")
local dml = require("quicksilver.sql.dml")
local attributes = require("quicksilver.orm.attributes")
local compiler = require("quicksilver.sql.compiler")
local EMPTY = {}
local event = require("quicksilver.event")

local M = {}

local type, rawget, pairs, ipairs, next, format, tostring, error, sort, concat =
  type, rawget, pairs, ipairs, next, string.format, tostring, error, table.sort, table.concat
local STATE = attributes.STATE
local UNKNOWN = attributes.UNKNOWN
local NULL = elements.null
local ONETOMANY = "ONETOMANY"
local unpack = table.unpack or unpack
local changed_keys = core.changed_keys
local toposort = core.toposort
local same_sequence = core.same_sequence
local int_type = math.type   -- Lua 5.3+ (integer keys concatenate as identity_key writes them)
local changed_collections = core.changed_collections
local pick, copy_list = core.pick, core.copy_list

-- Rows per multi-row INSERT ... RETURNING, within the 65,535 placeholders
-- the servers allow.
local RETURNING_BATCH = 1000

local function column_keys(m)
  local keys = m._column_keys
  if not keys then
    keys = {}
    for i, p in ipairs(m.column_props) do keys[i] = p.key end
    m._column_keys = keys
  end
  return keys
end

local function list_of(rel, v)
  if v == nil then return {} end
  if rel.uselist then return v end
  return {v}
end

-- Whether one of st's loaded collections (or one-to-one places) differs
-- from its snapshot. Collections are plain Lua sequences, so this compare
-- is how a change is found; it is a tight loop, cheap enough to run on
-- every autoflush over every loaded collection.
local function collections_changed(st)
  local loaded, dict, snaps = st.loaded, st.dict, st.snap
  for _, rel in ipairs(st.mapper.relationships) do
    local key = rel.key
    if loaded[key] and not rel.viewonly and (rel.uselist or rel.direction == ONETOMANY) then
      local snap = snaps[key]
      if snap == nil then return true end
      local v = dict[key]
      if rel.uselist then
        if not same_sequence(v or EMPTY, snap) then return true end
      elseif not rawequal(v, snap[1]) then
        return true
      end
    end
  end
  return false
end

--- Whether st has something to write (columns, collections, many-to-ones).
function M.has_changes(st)
  if not st.key then return st.session ~= nil end
  if #changed_keys(st.dict, st.committed, column_keys(st.mapper)) > 0 then return true end
  if st.m2o_set and next(st.m2o_set) then return true end
  return collections_changed(st)
end

-- A mapper's tracked collections for core.changed_collections: {key,
-- uselist} of each relationship the flush diffs (not viewonly; lists, and
-- one-to-one places). Kept on the mapper once every relationship knows its
-- direction (a new relationship clears it: Mapper:_add_relationship).
local function collection_rels(mapper)
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

-- The session's states whose loaded collections changed since the last
-- flush (those of states it let go of are forgotten here). In C: every
-- autoflush asks it over every loaded collection.
local function changed_collection_states(session)
  return changed_collections(session._collections, session, collection_rels)
end


-- gather --------------------------------------------------------------------------------

local function new_uow(session)
  return {
    session = session,
    deletes = {}, delete_set = {},   -- states to DELETE, in marking order
    syncs = {},                      -- child state -> parent state, rel, parent, rel, ... (fk from parent)
    nulls = {},                      -- child state -> list of rel (fk to NULL)
    assoc_add = {}, assoc_del = {},  -- many-to-many rows: {rel, a, b} (canonical side)
    assoc_seen = {},
    assoc_clear = {},                -- {rel, state}: every row of a deleted object
    post = {}, post_order = {},      -- state -> {{rel, parent state | false}}: post_update foreign keys
    touched = {}, ntouched = 0,      -- state, key, value before: what the flush overwrote, for undo
  }
end

local function add_sync(uow, child, parent, rel)
  local list = uow.syncs[child]
  if not list then
    uow.syncs[child] = {parent, rel}   -- pairs in one flat list: no table per link
    return
  end
  for i = 1, #list, 2 do
    local r = list[i + 1]
    if r == rel then list[i] = parent; return end
    -- the other side of the same link (a collection and its many-to-one)
    -- writes the same foreign key from the same parent: once is enough
    if list[i] == parent and rel.reverse ~= nil and r == rel.reverse then return end
  end
  list[#list + 1] = parent
  list[#list + 1] = rel
end

-- A post_update foreign key: written by an UPDATE after every row exists
-- (parent false: set to NULL).
local function add_post(uow, child, parent, rel)
  local list = uow.post[child]
  if not list then
    list = {}
    uow.post[child] = list
    uow.post_order[#uow.post_order + 1] = child
  end
  list[#list + 1] = {rel, parent}
end

local function add_null(uow, child, rel)
  local list = uow.nulls[child]
  if not list then list = {}; uow.nulls[child] = list end
  list[#list + 1] = rel
end

-- One association row, whichever side's collection changed: the pair is
-- recorded from the side with the lower id, so both sides of a
-- bidirectional many-to-many produce one row.
local function add_assoc(uow, list, rel, a, b)
  local rev = rel.reverse
  if rev and rev.id < rel.id then rel, a, b = rev, b, a end
  local seen = uow.assoc_seen
  local k1 = seen[rel] or {}
  seen[rel] = k1
  local k2 = k1[a] or {}
  k1[a] = k2
  local tag = list == uow.assoc_add and "add" or "del"
  if k2[b] == tag then return end
  k2[b] = tag
  list[#list + 1] = {rel, a, b}
end

local function mark_delete(uow, st)
  if uow.delete_set[st] then return false end
  uow.delete_set[st] = true
  uow.deletes[#uow.deletes + 1] = st
  return true
end

-- Save-update cascade from every state the session holds: one walk over
-- the graph (each object visited once, however many starts reach it).
local function cascade_saves(session, colls)
  local seen, queue = {}, {}
  local function visit(st)
    if not seen[st] then
      seen[st] = true
      queue[#queue + 1] = st
    end
  end
  -- starts: what the session still holds (a state it let go of may linger
  -- in these sets until the next flush)
  local function start(st)
    if st.session == session then visit(st) end
  end
  for _, st in ipairs(session._new) do start(st) end
  for st in pairs(session._modified) do start(st) end
  for _, st in ipairs(colls) do start(st) end
  local i = 1
  while queue[i] do
    local st = queue[i]
    i = i + 1
    local owner = st.session
    if owner == nil then
      session:_attach(st)
    elseif owner ~= session then
      exc.raise(exc.InvalidRequestError, format("Object %s is already attached to another Session",
        tostring(st.obj)), nil, 5)
    end
    local loaded, dict = rawget(st, "loaded") or EMPTY, st.dict
    for _, rel in ipairs(st.mapper.relationships) do
      if rel.cascade["save-update"] and loaded[rel.key] then
        local v = dict[rel.key]
        if v ~= nil then
          if rel.uselist then
            for j = 1, #v do visit(rawget(v[j], STATE)) end
          else
            visit(rawget(v, STATE))
          end
        end
      end
    end
  end
end

-- Deletes and what they cascade to: collections are loaded (unless
-- passive_deletes) so children are deleted or have their key nulled.
local function cascade_deletes(uow)
  local session = uow.session
  for _, st in ipairs(session._deleted) do mark_delete(uow, st) end
  local i = 1
  while uow.deletes[i] do
    local st = uow.deletes[i]
    i = i + 1
    for _, rel in ipairs(st.mapper.relationships) do
      if not rel.viewonly then
        local loaded = st.loaded[rel.key]
        local v
        if rel.direction == ONETOMANY then
          if loaded then
            v = st.dict[rel.key]
          elseif not rel.passive_deletes then
            v = rel:lazy_load(st)
          end
          for _, child in ipairs(list_of(rel, v)) do
            local cst = rawget(child, STATE)
            if rel.cascade.delete then
              if cst.key then mark_delete(uow, cst) elseif cst.session == session then session:_detach(cst) end
            elseif not uow.delete_set[cst] and cst.key then
              add_null(uow, cst, rel.reverse or {pairs = rel.pairs, key = nil, o2m = rel})
            end
          end
        elseif rel.secondary then
          uow.assoc_clear[#uow.assoc_clear + 1] = {rel, st}
          if rel.cascade.delete then
            v = loaded and st.dict[rel.key] or rel:lazy_load(st)
            for _, o in ipairs(list_of(rel, v)) do
              local tst = rawget(o, STATE)
              if tst.key then mark_delete(uow, tst) end
            end
          end
        elseif rel.cascade.delete then
          v = loaded and st.dict[rel.key] or rel:lazy_load(st)
          if v ~= nil then
            local tst = rawget(v, STATE)
            if tst.key then mark_delete(uow, tst) end
          end
        end
      end
    end
  end
end

-- Whether the flush changes st's primary key: the rows that refer to it
-- follow (the foreign keys of its loaded collections are written again).
local function pk_changed(st)
  if not st.key then return false end
  local dict, committed = st.dict, st.committed
  for _, k in ipairs(st.mapper.pk_keys) do
    local c = committed[k]
    if c ~= nil and c ~= UNKNOWN and dict[k] ~= c then return true end
  end
  return false
end

local function set_of(list)
  local set = {}
  for i = 1, #list do set[list[i]] = true end
  return set
end

-- A many-to-many collection: association rows for members added and removed.
local function secondary_changes(uow, st, rel, v)
  local list, snap = list_of(rel, v), st.snap[rel.key] or {}
  local inlist, insnap = set_of(list), set_of(snap)
  for _, o in ipairs(list) do
    if not insnap[o] then add_assoc(uow, uow.assoc_add, rel, st, rawget(o, STATE)) end
  end
  for _, o in ipairs(snap) do
    if not inlist[o] then add_assoc(uow, uow.assoc_del, rel, st, rawget(o, STATE)) end
  end
end

-- A one-to-many collection: members that joined it take the parent's key
-- (all members do when that key changes); those that left are collected
-- for after every collection was seen.
local function collection_changes(uow, st, rel, v, joined, left)
  local list, snap = list_of(rel, v), st.snap[rel.key] or {}
  local insnap = set_of(snap)
  local rekeyed = pk_changed(st)
  local rev = rel.reverse
  local came = joined[rel]
  if not came then came = {}; joined[rel] = came end
  for _, o in ipairs(list) do
    local cst = rawget(o, STATE)
    local new = not insnap[o]
    if new or rekeyed then
      if rel.post_update then add_post(uow, cst, st, rel) else add_sync(uow, cst, st, rel) end
    end
    if new then
      came[cst] = st
      if rev and not rev.uselist and not rawequal(cst.dict[rev.key], st.obj) then
        cst.dict[rev.key] = st.obj
        cst.loaded[rev.key] = true
      end
    end
  end
  local inlist = set_of(list)
  for _, o in ipairs(snap) do
    if not inlist[o] then left[#left + 1] = {rel, st, rawget(o, STATE)} end
  end
end

-- A member that left a collection: gone (delete-orphan) or its key NULLed,
-- unless it moved to another parent (its many-to-one, or another
-- collection of the same relationship, says so).
local function member_left(uow, rel, st, cst, joined)
  local session = uow.session
  local rev = rel.reverse
  local to = joined[rel] and joined[rel][cst]
  if to and to ~= st then return end
  local moved = rev and cst.loaded[rev.key] and cst.dict[rev.key] ~= nil and
    not rawequal(cst.dict[rev.key], st.obj)
  if moved or uow.delete_set[cst] then return end
  if rel.cascade["delete-orphan"] then
    if cst.key then mark_delete(uow, cst) elseif cst.session == session then session:_detach(cst) end
  elseif cst.key then
    add_null(uow, cst, rev or {pairs = rel.pairs, o2m = rel})
    if rev and not rev.uselist and rawequal(cst.dict[rev.key], st.obj) then
      cst.dict[rev.key] = nil
    end
  end
end

-- A many-to-one: the foreign key follows the target when the reference was
-- set (or the target is new, or its key changes).
local function reference_changes(uow, st, rel, v)
  local set = st.m2o_set and st.m2o_set[rel.key]
  if v ~= nil then
    local tst = rawget(v, STATE)
    if set or tst.key == nil or pk_changed(tst) then
      if rel.post_update then add_post(uow, st, tst, rel) else add_sync(uow, st, tst, rel) end
    end
  elseif set then
    if rel.post_update then add_post(uow, st, false, rel) else add_null(uow, st, rel) end
    local rev = rel.reverse
    if rev and rev.cascade["delete-orphan"] and st.key then mark_delete(uow, st) end
  end
end

-- What changed in relationships: collection members added and removed,
-- many-to-ones set. As SQLAlchemy's dependency processors, only changes
-- are synchronised: a foreign key set directly on an unchanged member
-- is written as set.
local function relationship_changes(uow)
  local session = uow.session
  local states, seen = {}, {}
  local function note(st)
    if not seen[st] and st.session == session and not uow.delete_set[st] then
      seen[st] = true
      states[#states + 1] = st
    end
  end
  for _, st in ipairs(session._new) do note(st) end
  for st in pairs(session._modified) do note(st) end
  for _, st in ipairs(uow.colls) do note(st) end
  local joined, left = {}, {}
  for _, st in ipairs(states) do
    -- (read raw: a state with nothing loaded has no loaded table)
    local loaded = rawget(st, "loaded") or EMPTY
    for _, rel in ipairs(st.mapper.relationships) do
      if not rel.viewonly and loaded[rel.key] then
        local v = st.dict[rel.key]
        if rel.secondary then
          secondary_changes(uow, st, rel, v)
        elseif rel.direction == ONETOMANY then
          collection_changes(uow, st, rel, v, joined, left)
        else
          reference_changes(uow, st, rel, v)
        end
      end
    end
  end
  for _, l in ipairs(left) do member_left(uow, l[1], l[2], l[3], joined) end
end

-- plan ----------------------------------------------------------------------------------

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
local function delete_batches(tbl, rows)
  local selfrefs = {}
  for _, fk in ipairs(tbl.foreign_keys) do
    local ok, col = pcall(fk.get_column, fk)
    if ok and col and col.table == tbl then selfrefs[#selfrefs + 1] = {child = fk.parent, parent = col} end
  end
  if #selfrefs == 0 or #rows < 2 then return {rows} end
  local function value(st, col)
    local k = st.mapper.col_attr[col]
    local v = st.committed[k]
    if v == nil or v == UNKNOWN then v = st.dict[k] end
    return v
  end
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

-- write ---------------------------------------------------------------------------------

-- Stands for "was nil" among the values a failed flush puts back.
local WAS_NIL = setmetatable({}, {__tostring = function() return "<was nil>" end})

-- Keeps the value st.dict[k] has before the flush writes it, once: a
-- failed flush puts every such value back (undo).
local function touch(uow, st, k)
  -- appended, not looked up: the earliest value of a key is restored
  -- last, since undo walks the list backwards
  local t, n = uow.touched, uow.ntouched
  local v = st.dict[k]
  if v == nil then v = WAS_NIL end
  t[n + 1], t[n + 2], t[n + 3] = st, k, v
  uow.ntouched = n + 3
end

-- Foreign keys of st from the objects they follow (now that those have
-- their primary keys), and NULLs for relationships cut.
local function apply_syncs(uow, st)
  local nulls = uow.nulls[st]
  if nulls then
    for _, rel in ipairs(nulls) do
      for _, p in ipairs(rel.pairs) do
        -- the foreign key side: local on a many-to-one, remote on a one-to-many
        local k = rel.o2m and p.remote_key or p.local_key
        if st.dict[k] ~= nil then touch(uow, st, k); st.dict[k] = nil end
        if st.committed[k] == nil and st.key then st.committed[k] = UNKNOWN end
      end
    end
  end
  local syncs = uow.syncs[st]
  if syncs then
    for j = 1, #syncs, 2 do
      local pst, rel = syncs[j], syncs[j + 1]
      for _, p in ipairs(rel.pairs) do
        if rel.direction == ONETOMANY then
          touch(uow, st, p.remote_key)
          st.dict[p.remote_key] = pst.dict[p.local_key]    -- child.fk = parent.pk
        else
          touch(uow, st, p.local_key)
          st.dict[p.local_key] = pst.dict[p.remote_key]    -- self.fk = target.pk
        end
      end
    end
  end
end

local function signature(params)
  local ks = {}
  for k in pairs(params) do ks[#ks + 1] = k end
  sort(ks)
  return concat(ks, "\0")
end

-- Groups consecutive items with equal signatures.
local function runs(items, sigs)
  local out, last = {}, nil
  for i, it in ipairs(items) do
    if not last or last.sig ~= sigs[i] then
      last = {sig = sigs[i], items = {}}
      out[#out + 1] = last
    end
    last.items[#last.items + 1] = it
  end
  return out
end

local function returning_ok(dialect)
  local n = dialect.name
  return n == "sqlite" or n == "postgresql" or n == "mariadb"
end

local function insert_params(uow, st, conn, tbl)
  local m = st.mapper
  apply_syncs(uow, st)
  local dict = st.dict
  local params, expire = {}, nil
  if m.polymorphic_on and m.polymorphic_identity ~= nil and dict[m.polymorphic_on.key] == nil then
    touch(uow, st, m.polymorphic_on.key)
    dict[m.polymorphic_on.key] = m.polymorphic_identity
  end
  if m.version_prop and dict[m.version_prop.key] == nil then
    touch(uow, st, m.version_prop.key)
    dict[m.version_prop.key] = 1
  end
  local tc = m:table_columns(tbl)
  -- the keys RETURNING or the driver will fill in
  for _, e in ipairs(tc.pk) do
    if dict[e.key] == nil then touch(uow, st, e.key) end
  end
  for _, p in ipairs(tc.cols) do
    local col, k = p.column, p.key
    local v = dict[k]
    if v == nil then
      local d = col.default
      if type(d) == "function" then
        v = d({connection = conn, current_parameters = params, column = col})
        touch(uow, st, k)
        dict[k] = v
      elseif d ~= nil and not (type(d) == "table" and d._is_clause) then
        v = d
        touch(uow, st, k)
        dict[k] = v
      elseif d ~= nil or col.server_default ~= nil then
        expire = expire or {}
        expire[#expire + 1] = k
      end
    end
    if v ~= nil then params[col.key] = v end
  end
  return params, expire
end

-- Mapper events: listeners on the object's class (or a parent class).
-- Whether anything listens is asked once per class and event per flush
-- (the answer walks the class chain; a flush asks per row); run() starts
-- each flush with an empty cache.
local listening = setmetatable({}, {__mode = "k"})

local function fire_mapper(name, st, conn)
  local cls = st.mapper.class
  local known = listening[cls]
  if not known then known = {}; listening[cls] = known end
  local on = known[name]
  if on == nil then on = event.has(cls, name); known[name] = on end
  if on then event.fire(cls, name, st.mapper, conn, st.obj) end
end

-- Joined inheritance writes a row to several tables: events fire around
-- the whole, at the first and the last of them.
local function first_table(st, tbl) return st.mapper.tables[1] == tbl end
local function last_table(st, tbl) return st.mapper.tables[#st.mapper.tables] == tbl end

-- INSERT ... RETURNING for rows with equal keys, as one statement: the
-- one-row form compiled once (cached by structure), its VALUES group
-- repeated per row.
local function insert_returning(conn, stmt, rows)
  local keys = {}
  for k in pairs(rows[1]) do keys[k] = true end
  local one = compiler.compile_dml(stmt, conn.dialect.name, keys)
  if #rows == 1 then return conn:_cursor_execute(one.sql, rows[1], one, false, conn._exec_opts) end
  return conn:_insert_expanded(one, rows, 1, #rows) or conn:execute(stmt:values(rows))
end

-- Rows that can share one INSERT: same mapper, same columns given. The
-- columns given are bits over the table's column list (the string made
-- once per combination), which costs no sort per row.
local sig_cache = setmetatable({}, {__mode = "k"})

local function insert_signature(m, tbl, params)
  local cols = m:table_columns(tbl).cols
  if #cols > 50 then return m.id .. ":" .. signature(params) end
  local bits, w = 0, 1
  for i = 1, #cols do
    if params[cols[i].column.key] ~= nil then bits = bits + w end
    w = w * 2
  end
  local per = sig_cache[cols]
  if not per then per = {}; sig_cache[cols] = per end
  local sig = per[bits]
  if not sig then sig = m.id .. ":" .. format("%.0f", bits); per[bits] = sig end
  return sig
end

local function do_inserts(uow, conn, tbl, rows, done)
  if #rows == 0 then return end
  local dialect = conn.dialect
  local params, sigs, expires = {}, {}, {}
  for _, st in ipairs(rows) do
    if first_table(st, tbl) then fire_mapper("before_insert", st, conn) end
  end
  for i, st in ipairs(rows) do
    params[i], expires[i] = insert_params(uow, st, conn, tbl)
    sigs[i] = insert_signature(st.mapper, tbl, params[i])
  end
  local idx = {}
  for i = 1, #rows do idx[i] = i end
  for _, run in ipairs(runs(idx, sigs)) do
    local first = run.items[1]
    local m = rows[first].mapper
    local pk = m:table_columns(tbl).pk
    local p0 = params[first]
    local need_pk = false
    for _, e in ipairs(pk) do
      if p0[e.column.key] == nil then need_pk = true end
    end
    local stmt = dml.insert(tbl)
    if not need_pk then
      local list = {}
      for j, i in ipairs(run.items) do list[j] = params[i] end
      if #list == 1 then conn:execute(stmt, list[1]) else conn:execute(stmt, list) end
    elseif returning_ok(dialect) then
      local pkcols = {}
      for i, e in ipairs(pk) do pkcols[i] = e.column end
      local per = RETURNING_BATCH
      local ncols = 0
      for _ in pairs(p0) do ncols = ncols + 1 end
      if ncols > 0 then per = math.max(1, math.min(per, math.floor(30000 / ncols))) end
      local items = run.items
      for s = 1, #items, per do
        local chunk, sts = {}, {}
        for j = s, math.min(s + per - 1, #items) do
          chunk[#chunk + 1] = params[items[j]]
          sts[#sts + 1] = rows[items[j]]
        end
        local r
        if ncols == 0 then
          -- nothing but defaults: one row at a time
          for _, st in ipairs(sts) do
            r = conn:execute(stmt:returning(unpack(pkcols)))
            local row = r:one()
            for i, e in ipairs(pk) do st.dict[e.key] = row[i] end
          end
        else
          r = insert_returning(conn, stmt:returning(unpack(pkcols)), chunk)
          local got = r:all()
          if #got ~= #sts then
            exc.raise(exc.FlushError, format("INSERT into '%s' returned %d keys for %d rows", tbl.name, #got, #sts), nil, 4)
          end
          -- keys from a sequence or auto-increment rise in VALUES order;
          -- sorting makes the match independent of the order RETURNING uses
          if #pkcols == 1 and type(got[1][1]) == "number" and #got > 1 then
            local ks = {}
            for j, row in ipairs(got) do ks[j] = row[1] end
            sort(ks)
            for j, st in ipairs(sts) do st.dict[pk[1].key] = ks[j] end
          else
            for j, st in ipairs(sts) do
              for i, e in ipairs(pk) do st.dict[e.key] = got[j][i] end
            end
          end
        end
      end
    else
      -- no RETURNING (MySQL): a statement per row, the key from the driver
      for _, i in ipairs(run.items) do
        local r = conn:execute(stmt, params[i])
        local ipk = r.inserted_primary_key
        for j, e in ipairs(pk) do
          if rows[i].dict[e.key] == nil then rows[i].dict[e.key] = ipk and ipk[j] end
        end
      end
    end
  end
  for i, st in ipairs(rows) do
    if expires[i] then
      local l = done.expire[st] or {}
      for _, k in ipairs(expires[i]) do l[#l + 1] = k end
      done.expire[st] = l
    end
    if last_table(st, tbl) then
      done.inserted[#done.inserted + 1] = st
      fire_mapper("after_insert", st, conn)
    end
  end
end

local function pk_where(m, versioned, tbl)
  local conds = {}
  if tbl then
    for i, e in ipairs(m:table_columns(tbl).pk) do
      conds[i] = e.column:eq(elements.bindparam("pk_" .. i, {type = e.column.type}))
    end
  else
    for i, c in ipairs(m.pk_cols) do conds[i] = c:eq(elements.bindparam("pk_" .. i, {type = c.type})) end
  end
  if versioned and m.version_prop and (tbl == nil or m.version_prop.column.table == tbl) then
    local vc = m.version_prop.column
    conds[#conds + 1] = vc:eq(elements.bindparam("version_old", {type = vc.type}))
  end
  if #conds == 1 then return conds[1] end
  return elements.and_(unpack(conds))
end

-- The version counter a row has now (optimistic locking).
local function committed_version(st)
  local k = st.mapper.version_prop.key
  local v = st.committed[k]
  if v == nil or v == UNKNOWN then v = st.dict[k] end
  return v
end

-- A versioned batch matched fewer rows than it had: find the object whose
-- row changed (or vanished) since it was loaded, for the error.
local function stale_instance(conn, m, sts)
  local vc = m.version_prop.column
  for _, st in ipairs(sts) do
    local conds = {}
    for i, c in ipairs(m.pk_cols) do
      local k = m.pk_keys[i]
      local v = st.committed[k]
      if v == nil or v == UNKNOWN then v = st.dict[k] end
      conds[i] = c:eq(v)
    end
    local row = conn:execute(require("quicksilver.sql.selectable").select(vc):where(unpack(conds))):first()
    if row == nil or row[1] ~= committed_version(st) then return st end
  end
  return sts[1]
end

local function committed_pk(st, i)
  local k = st.mapper.pk_keys[i]
  local v = st.committed[k]
  if v == nil or v == UNKNOWN then v = st.dict[k] end
  return v
end

-- The attribute keys m writes to tbl (its key columns too: a changed
-- primary key is SET, the WHERE clause has the committed one).
local function table_keys(m, tbl)
  local cache = m._table_keys
  if not cache then cache = {}; m._table_keys = cache end
  local keys = cache[tbl]
  if not keys then
    keys = {}
    for _, p in ipairs(m:table_columns(tbl).cols) do keys[#keys + 1] = p.key end
    cache[tbl] = keys
  end
  return keys
end

local function do_updates(uow, conn, tbl, rows, done)
  local items, sigs, sets = {}, {}, {}
  for _, st in ipairs(rows) do
    if first_table(st, tbl) then fire_mapper("before_update", st, conn) end
    apply_syncs(uow, st)
    local m = st.mapper
    local tc = m:table_columns(tbl)
    local changed = changed_keys(st.dict, st.committed, table_keys(m, tbl))
    local vp = m.version_prop
    local versioned = vp and vp.column.table == tbl
    -- the version moves when anything of the object changed, in any table
    if versioned and #changed == 0 and #changed_keys(st.dict, st.committed, column_keys(m)) > 0 then
      changed = {}
    elseif #changed == 0 then
      changed = nil
    end
    if changed then
      local params = {}
      local names = {}
      local col_of = tc.col_of
      for _, k in ipairs(changed) do
        local col = col_of[k]
        local v = st.dict[k]
        if v == nil then v = NULL end
        params[col.key] = v
        names[#names + 1] = col.key
      end
      for i, e in ipairs(tc.pk) do
        local v = st.committed[e.key]
        if v == nil or v == UNKNOWN then v = st.dict[e.key] end
        params["pk_" .. i] = v
      end
      if versioned then
        -- optimistic locking: the counter moves on, the old one must match
        touch(uow, st, vp.key)
        local old = committed_version(st)
        params.version_old = old
        params[vp.column.key] = (old or 0) + 1
        st.dict[vp.key] = (old or 0) + 1
        local seen = false
        for _, k in ipairs(changed) do if k == vp.key then seen = true end end
        if not seen then
          changed[#changed + 1] = vp.key
          names[#names + 1] = vp.column.key
        end
      end
      if pk_changed(st) then done.rekeyed[st] = true end
      items[#items + 1] = st
      sets[st] = {params = params, changed = changed}
      local ch = done.changed[st] or {}
      for _, k in ipairs(changed) do ch[#ch + 1] = k end
      done.changed[st] = ch
      -- changed keys come in the table's column order: no sort needed
      sigs[#sigs + 1] = m.id .. ":" .. concat(names, "\0")
    end
  end
  for _, run in ipairs(runs(items, sigs)) do
    local m = run.items[1].mapper
    local stmt = dml.update(tbl):where(pk_where(m, true, tbl))
    local list = {}
    for j, st in ipairs(run.items) do list[j] = sets[st].params end
    local r
    -- each statement matches at most one row (by primary key), so the
    -- batch's total tells whether every one matched
    if #list == 1 then r = conn:execute(stmt, list[1]) else r = conn:execute(stmt, list) end
    if r.rowcount >= 0 and r.rowcount ~= #list then
      local versioned = m.version_prop and m.version_prop.column.table == tbl
      local st = versioned and stale_instance(conn, m, run.items) or run.items[1]
      exc.raise(exc.StaleDataError, format("UPDATE statement on table '%s' expected to update %d row(s); " ..
        "%d were matched.%s", tbl.name, #list, r.rowcount, versioned and
        (" The row of " .. tostring(st.obj) .. " was changed or deleted by someone else.") or ""),
        {instance = st.obj}, 4)
    end
  end
  for _, st in ipairs(rows) do
    if last_table(st, tbl) then
      done.updated[#done.updated + 1] = st
      fire_mapper("after_update", st, conn)
    end
  end
  -- onupdate columns the database filled in: expire them
  for _, st in ipairs(items) do
    for _, p in ipairs(st.mapper:table_columns(tbl).onupdate) do
      local c = p.column
      if sets[st].params[c.key] == nil then
        done.expire[st] = done.expire[st] or {}
        local l = done.expire[st]
        l[#l + 1] = p.key
      end
    end
  end
end

local function do_deletes(conn, tbl, rows)
  if #rows == 0 then return end
  -- children's tables go first: events fire at the last table (the
  -- object's own) and the first (the base)
  for _, st in ipairs(rows) do
    if last_table(st, tbl) then fire_mapper("before_delete", st, conn) end
  end
  local m = rows[1].mapper
  local versioned = m.version_prop and m.version_prop.column.table == tbl
  local stmt = dml.delete(tbl):where(pk_where(m, true, tbl))
  local list = {}
  for j, st in ipairs(rows) do
    local p = {}
    for i, e in ipairs(st.mapper:table_columns(tbl).pk) do
      local v = st.committed[e.key]
      if v == nil or v == UNKNOWN then v = st.dict[e.key] end
      p["pk_" .. i] = v
    end
    if versioned then p.version_old = committed_version(st) end
    list[j] = p
  end
  local r
  if #list == 1 then r = conn:execute(stmt, list[1]) else r = conn:execute(stmt, list) end
  if versioned and r.rowcount >= 0 and r.rowcount ~= #list then
    local st = stale_instance(conn, m, rows)
    exc.raise(exc.StaleDataError, format("DELETE statement on table '%s' expected to delete %d row(s); " ..
      "%d were matched. The row of %s was changed or deleted by someone else.", tbl.name, #list,
      r.rowcount, tostring(st.obj)), {instance = st.obj}, 4)
  end
  for _, st in ipairs(rows) do
    if first_table(st, tbl) then fire_mapper("after_delete", st, conn) end
  end
end

-- Association rows of many-to-manys: written after both ends exist,
-- deleted before either end goes.
local function assoc_params(rel, a, b)
  local p = {}
  for _, l in ipairs(rel.sec_local) do p[l.sec_col.key] = a.dict[l.key] end
  for _, r in ipairs(rel.sec_remote) do p[r.sec_col.key] = b.dict[r.key] end
  return p
end

local function by_secondary(rows)
  local groups, order = {}, {}
  for _, r in ipairs(rows) do
    local sec = r[1].secondary
    if not groups[sec] then groups[sec] = {}; order[#order + 1] = sec end
    local g = groups[sec]
    g[#g + 1] = r
  end
  return groups, order
end

local function do_assoc_deletes(uow, conn)
  for _, c in ipairs(uow.assoc_clear) do
    local rel, st = c[1], c[2]
    local conds, p = {}, {}
    for i, l in ipairs(rel.sec_local) do
      conds[i] = l.sec_col:eq(elements.bindparam("k_" .. i, {type = l.sec_col.type}))
      local v = st.committed[l.key]
      if v == nil or v == UNKNOWN then v = st.dict[l.key] end
      p["k_" .. i] = v
    end
    conn:execute(dml.delete(rel.secondary):where(unpack(conds)), p)
  end
  local groups, order = by_secondary(uow.assoc_del)
  for _, sec in ipairs(order) do
    local rows = groups[sec]
    local rel = rows[1][1]
    local conds = {}
    for _, l in ipairs(rel.sec_local) do conds[#conds + 1] = l.sec_col:eq(elements.bindparam(l.sec_col.key, {type = l.sec_col.type})) end
    for _, r in ipairs(rel.sec_remote) do conds[#conds + 1] = r.sec_col:eq(elements.bindparam(r.sec_col.key, {type = r.sec_col.type})) end
    local list = {}
    for i, r in ipairs(rows) do list[i] = assoc_params(r[1], r[2], r[3]) end
    local stmt = dml.delete(sec):where(unpack(conds))
    if #list == 1 then conn:execute(stmt, list[1]) else conn:execute(stmt, list) end
  end
end

local function do_assoc_inserts(uow, conn)
  local groups, order = by_secondary(uow.assoc_add)
  for _, sec in ipairs(order) do
    local list = {}
    for i, r in ipairs(groups[sec]) do list[i] = assoc_params(r[1], r[2], r[3]) end
    if #list == 1 then conn:execute(dml.insert(sec), list[1]) else conn:execute(dml.insert(sec), list) end
  end
end

-- post_update: the foreign keys of relationships marked post_update, set
-- by UPDATEs once every row exists (rows depending on each other, in
-- cycles no INSERT order can satisfy).
local function fk_key_of(rel, p)
  -- the foreign key side: local on a many-to-one, remote on a one-to-many
  if rel.direction == ONETOMANY then return p.remote_key, p.local_key end
  return p.local_key, p.remote_key
end

local function do_post_updates(uow, conn, done)
  local groups, order = {}, {}
  for _, st in ipairs(uow.post_order) do
    if not uow.delete_set[st] then
      local m = st.mapper
      local params, names = {}, {}
      local fk_table
      for _, e in ipairs(uow.post[st]) do
        local rel, parent = e[1], e[2]
        for _, p in ipairs(rel.pairs) do
          local fkey, pkey = fk_key_of(rel, p)
          local v = parent and parent.dict[pkey] or nil
          touch(uow, st, fkey)
          st.dict[fkey] = v
          local col = m.props[fkey].column
          fk_table = col.table
          local ch = done.changed[st] or {}
          ch[#ch + 1] = fkey
          done.changed[st] = ch
          params[col.key] = v == nil and NULL or v
          names[#names + 1] = col.key
        end
      end
      for i = 1, #m.pk_cols do params["pk_" .. i] = st.dict[m.pk_keys[i]] end
      sort(names)
      local sig = m.id .. ":" .. fk_table.name .. ":" .. concat(names, "\0")
      if not groups[sig] then
        groups[sig] = {m = m, list = {}, table = fk_table}
        order[#order + 1] = sig
      end
      local g = groups[sig].list
      g[#g + 1] = params
      done.posted[#done.posted + 1] = st
    end
  end
  for _, sig in ipairs(order) do
    local g = groups[sig]
    local stmt = dml.update(g.table):where(pk_where(g.m, false, g.table))
    if #g.list == 1 then conn:execute(stmt, g.list[1]) else conn:execute(stmt, g.list) end
  end
end

-- Before deleting rows whose post_update foreign keys point at each other:
-- those keys to NULL first.
local function do_post_nulls(uow, conn)
  for _, st in ipairs(uow.deletes) do
    local m = st.mapper
    local params, any = {}, false
    for _, rel in ipairs(m.relationships) do
      if rel.post_update and not rel.secondary then
        for _, p in ipairs(rel.pairs) do
          local fkey = fk_key_of(rel, p)
          if rel.direction ~= ONETOMANY and st.dict[fkey] ~= nil then
            params[m.props[fkey].column.key] = NULL
            any = true
          end
        end
      end
    end
    if any then
      for i = 1, #m.pk_cols do params["pk_" .. i] = committed_pk(st, i) end
      conn:execute(dml.update(m.persist_table):where(pk_where(m, false, m.persist_table)), params)
    end
  end
end

-- after ---------------------------------------------------------------------------------

-- After the flush, what the database has is what the object has: the
-- committed values (all of them for a new row, the changed ones for an
-- updated row), the collection snapshots, the change flags.
local function snapshot(st, changed)
  local dict = st.dict
  if changed then
    local committed = st.committed
    for _, k in ipairs(changed) do committed[k] = dict[k] end
  else
    st.committed = pick(dict, column_keys(st.mapper))
  end
  local loaded = rawget(st, "loaded") or EMPTY
  for _, rel in ipairs(st.mapper.relationships) do
    if loaded[rel.key] then
      if rel.uselist then
        st.snap[rel.key] = copy_list(dict[rel.key] or EMPTY)
      elseif rel.direction == ONETOMANY then
        local v = dict[rel.key]
        st.snap[rel.key] = v ~= nil and {v} or {}
      end
    end
  end
  st.modified = false
  st.m2o_set = nil
end

local function finish(uow, done)
  local session = uow.session
  for _, st in ipairs(done.inserted) do
    local m = st.mapper
    local pkk = m.pk_keys
    local key
    local v = #pkk == 1 and st.dict[pkk[1]]
    if v and int_type and int_type(v) == "integer" then
      key = m.base_mapper.key_prefix .. v   -- what identity_key gives, without the list
    else
      local vals = {}
      for i, k in ipairs(pkk) do vals[i] = st.dict[k] end
      key = attributes.identity_key(m, vals, #vals)
    end
    if key == nil then
      exc.raise(exc.FlushError, format("Instance %s has a NULL identity key after its INSERT", tostring(st.obj)), nil, 4)
    end
    st.key = key
    session._imap[key] = st.obj
    session._tx_new[#session._tx_new + 1] = st
    if #m.expr_props > 0 then
      local ex = attributes.own_expired(st)
      for _, p in ipairs(m.expr_props) do ex[p.key] = true end
    end
  end
  session._new, session._new_set = {}, {}
  -- a changed primary key: the identity map follows (undone by a rollback)
  for st in pairs(done.rekeyed) do
    local m = st.mapper
    local vals = {}
    for i, k in ipairs(m.pk_keys) do vals[i] = st.dict[k] end
    local key = attributes.identity_key(m, vals, #vals)
    if key and key ~= st.key then
      local old = {}
      for i, k in ipairs(m.pk_keys) do old[i] = committed_pk(st, i) end
      if rawequal(session._imap[st.key], st.obj) then session._imap[st.key] = nil end
      session._tx_keys[#session._tx_keys + 1] = {st, st.key, old}
      st.key = key
      session._imap[key] = st.obj
    end
  end
  -- a new row: everything; an updated row: only what changed (and what
  -- syncs or post updates set, which changed_keys saw too)
  local modified = session._modified
  for _, st in ipairs(uow.inserts) do
    if st.session == session and not uow.delete_set[st] then
      snapshot(st, nil)
      modified[st] = nil
    end
  end
  for _, st in ipairs(uow.updates) do
    if st.session == session and not uow.delete_set[st] then
      snapshot(st, done.changed[st] or EMPTY)
      modified[st] = nil
    end
  end
  for st, keys in pairs(done.expire) do
    local ex = attributes.own_expired(st)
    for _, k in ipairs(keys) do
      st.dict[k] = nil
      st.committed[k] = nil
      ex[k] = true
    end
    st.expired = next(ex) and ex or nil
  end
  for _, st in ipairs(uow.deletes) do
    if st.key and rawequal(session._imap[st.key], st.obj) then session._imap[st.key] = nil end
    st.deleted_flushed = true
    session._modified[st] = nil
    session._collections[st] = nil
    session._tx_deleted[#session._tx_deleted + 1] = st
  end
  session._deleted, session._deleted_set = {}, {}
end

local function undo(uow)
  local t = uow.touched
  for i = uow.ntouched - 2, 1, -3 do
    local v = t[i + 2]
    if v == WAS_NIL then v = nil end
    t[i].dict[t[i + 1]] = v
  end
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
        local v = st.committed[k]
        if v == nil or v == UNKNOWN then v = st.dict[k] end
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

local function run(session, colls)
  local uow = new_uow(session)
  uow.colls = colls
  listening = setmetatable({}, {__mode = "k"})
  local fire = require("quicksilver.orm.session").fire
  if event.has(session, "before_flush") then
    fire(session, "before_flush", uow, nil)
    -- a listener may have changed collections
    colls = changed_collection_states(session)
    uow.colls = colls
  end
  cascade_saves(session, colls)
  cascade_deletes(uow)
  relationship_changes(uow)
  -- what to write
  local inserts, updates = {}, {}
  for _, st in ipairs(session._new) do
    if st.session == session and not uow.delete_set[st] then inserts[#inserts + 1] = st end
  end
  -- rows to UPDATE: persistent objects changed, or whose keys a
  -- relationship sets (new objects, the bulk of most sources, are out at
  -- the first test)
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
  updates = sorted_by_key(updates)
  uow.inserts, uow.updates = inserts, updates
  if #inserts == 0 and #updates == 0 and #uow.deletes == 0 and #uow.assoc_add == 0 and
      #uow.assoc_del == 0 and #uow.post_order == 0 then
    for st in pairs(session._modified) do snapshot(st) end
    session._modified = {}
    return
  end
  -- tables in dependency order, from the mappers involved (asked once per
  -- mapper, not per row)
  local tables, tindex = {}, {}
  local skip_cols = {}   -- post_update foreign keys do not order tables (written after)
  local noted, posted = {}, {}
  local function note(st, post)
    local m = st.mapper
    if not noted[m] then
      noted[m] = true
      for _, t in ipairs(m.tables) do
        if not tindex[t] then
          tables[#tables + 1] = t
          tindex[t] = #tables
        end
      end
    end
    if post and not posted[m] then
      posted[m] = true
      for _, rel in ipairs(m.relationships) do
        if rel.post_update then
          for _, p in ipairs(rel.pairs) do
            skip_cols[rel.direction == ONETOMANY and p.remote_col or p.local_col] = true
          end
        end
      end
    end
  end
  for _, st in ipairs(inserts) do note(st, true) end
  for _, st in ipairs(updates) do note(st, false) end
  for _, st in ipairs(uow.deletes) do note(st, true) end
  local order, cycle = table_order(tables, tindex, skip_cols)
  if not order then
    exc.raise(exc.CircularDependencyError, "Circular dependency between tables " .. concat(cycle, ", ") ..
      " (mutually dependent rows need post_update)", nil, 4)
  end
  local by_table = {}
  for _, t in ipairs(order) do by_table[t] = {ins = {}, upd = {}, del = {}} end
  local function place(st, field)
    for _, t in ipairs(st.mapper.tables) do
      local list = by_table[t][field]
      list[#list + 1] = st
    end
  end
  for _, st in ipairs(inserts) do place(st, "ins") end
  for _, st in ipairs(updates) do place(st, "upd") end
  for _, st in ipairs(uow.deletes) do place(st, "del") end
  local conn = session:_connection()
  local done = {inserted = {}, updated = {}, expire = {}, posted = {}, changed = {}, new = {}, rekeyed = {}}
  local ok, err = pcall(function()
    for _, t in ipairs(order) do
      local b = by_table[t]
      for _, batch in ipairs(row_levels(b.ins, uow, t)) do do_inserts(uow, conn, t, batch, done) end
      if #b.upd > 0 then do_updates(uow, conn, t, b.upd, done) end
    end
    do_post_updates(uow, conn, done)
    do_assoc_deletes(uow, conn)
    do_assoc_inserts(uow, conn)
    do_post_nulls(uow, conn)
    for i = #order, 1, -1 do
      local t = order[i]
      local rows = by_table[t].del
      if #rows > 0 then
        for _, batch in ipairs(delete_batches(t, rows)) do do_deletes(conn, t, batch) end
      end
    end
  end)
  if ok then ok, err = pcall(fire, session, "after_flush", uow) end
  if not ok then
    undo(uow)
    error(err, 0)
  end
  finish(uow, done)
  fire(session, "after_flush_postexec", uow)
end

--- Session:flush(): writes everything pending, in one transaction.
function M.flush(session)
  if session._flushing then
    exc.raise(exc.InvalidRequestError, "Session is already flushing", nil, 3)
  end
  if session._pending_rollback then
    exc.raise(exc.PendingRollbackError, "This Session's transaction has been rolled back due to a " ..
      "previous exception during flush. To begin a new transaction with this Session, first issue " ..
      "Session:rollback(). Original exception was: " .. tostring(session._pending_rollback),
      {orig_error = session._pending_rollback}, 3)
  end
  local colls = changed_collection_states(session)
  if #session._new == 0 and #session._deleted == 0 and next(session._modified) == nil and
      #colls == 0 then
    return
  end
  session._flushing = true
  local ok, err = pcall(run, session, colls)
  session._flushing = false
  if not ok then
    session:_flush_failed(err)
    error(err, 0)
  end
end

return M
