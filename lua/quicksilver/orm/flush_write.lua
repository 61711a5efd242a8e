--- orm/flush_write.lua: the flush's statements (orm/unitofwork.lua runs
--- them per table in order): foreign keys set from the objects they follow,
--- INSERTs in batches of equal column sets (executemany, or multi-row
--- INSERT ... RETURNING for new keys), UPDATEs of changed columns with
--- rowcount and version checks, DELETEs, association rows, post_update
--- foreign keys; and the undo list of every value it overwrote.
local core = require("quicksilver.core")
local exc = require("quicksilver.exc")
local elements = require("quicksilver.sql.elements")
local dml = require("quicksilver.sql.dml")
local selectable = require("quicksilver.sql.selectable")
local attributes = require("quicksilver.orm.attributes")
local event = require("quicksilver.event")

local M = {}

local type, pairs, ipairs, format, tostring, sort, concat =
  type, pairs, ipairs, string.format, tostring, table.sort, table.concat
local UNKNOWN = attributes.UNKNOWN
local NULL = elements.null
local ONETOMANY = "ONETOMANY"
local unpack = table.unpack or unpack
local changed_keys = attributes.changed_keys   -- (st, keys): only what changed since load/flush
local committed_of, write_value, set_committed = attributes.committed_of, attributes.write_value,
  attributes.set_committed

local flush_common = require("quicksilver.orm.flush_common")
local column_keys = flush_common.column_keys
local pk_changed = flush_common.pk_changed
local committed_pk = flush_common.committed_pk
local committed_value = flush_common.committed_value

-- Stands for "was nil" among the values a failed flush puts back.
local WAS_NIL = setmetatable({}, {__tostring = function() return "<was nil>" end})

-- Keeps the value st.dict[k] has before the flush writes it, once: a
-- failed flush puts every such value back (undo).
local function touch(uow, st, k)
  -- appended, not looked up: the earliest value of a key is restored
  -- last, since undo walks the list backwards
  local t, n = uow.touched, uow.ntouched
  local v = rawget(st.dict, k)
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
        local was = committed_of(st, k)
        if rawget(st.dict, k) ~= nil then touch(uow, st, k); write_value(st, k, nil) end
        if was == nil and st.key then set_committed(st, k, UNKNOWN) end
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
          write_value(st, p.remote_key, rawget(pst.dict, p.local_key))    -- child.fk = parent.pk
        else
          touch(uow, st, p.local_key)
          write_value(st, p.local_key, rawget(pst.dict, p.remote_key))    -- self.fk = target.pk
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

-- How rows go into statements is c/orm/plan.c's (core.plan_batches): runs
-- of consecutive rows with the same columns, each sent one way
-- (core.plan_modes) and cut by the dialect's limits. The limits as the
-- plan takes them (c/orm/plan.h's QS_PLAN_CAPS), made once per dialect's
-- caps table: an INSERT's executemany pages at insertmanyvalues_page_size
-- (none: the prepared statement runs per row), a multi-row RETURNING at
-- that or engine/returning_many.lua's 1,000; an UPDATE's executemany runs
-- per row.
local MODE = core.plan_modes
local plan_batches = core.plan_batches
local RETURNING_PAGE_SIZE = 1000   -- engine/returning_many.lua's default
local plan_caps_of = setmetatable({}, {__mode = "k"})

local function plan_caps(caps, update)
  local pc = plan_caps_of[caps]
  if not pc then
    local page = caps.insertmanyvalues_page_size
    local base = {
      insert_returning = caps.insert_returning and true or false,
      insert_many_returning = caps.insert_many_returning and true or false,
      page_size = page or 0,
      returning_page_size = page or RETURNING_PAGE_SIZE,
      max_params = caps.max_params or 0,
    }
    pc = {insert = base, update = {insert_returning = base.insert_returning,
      insert_many_returning = base.insert_many_returning, page_size = 0,
      returning_page_size = base.returning_page_size, max_params = base.max_params}}
    plan_caps_of[caps] = pc
  end
  return update and pc.update or pc.insert
end

-- The statements for items (rows in flush order) with signatures sigs
-- (strings) and per signature string its {ncols, need_key}: a flat list
-- {first, count, mode, ...} over items.
local function batches(caps, update, sigs, info_of)
  local ids, info, nums = {}, {}, {}
  for i = 1, #sigs do
    local sig = sigs[i]
    local id = ids[sig]
    if not id then
      id = #info / 2 + 1
      ids[sig] = id
      local ni = info_of(i)
      info[#info + 1] = ni[1]
      info[#info + 1] = ni[2]
    end
    nums[i] = id
  end
  return plan_batches(nums, info, plan_caps(caps, update))
end

local function insert_params(uow, st, conn, tbl)
  local m = st.mapper
  apply_syncs(uow, st)
  local dict = st.dict
  local params, expire = {}, nil
  if m.polymorphic_on and m.polymorphic_identity ~= nil and m.polymorphic_on.key ~= nil and
      rawget(dict, m.polymorphic_on.key) == nil then
    touch(uow, st, m.polymorphic_on.key)
    dict[m.polymorphic_on.key] = m.polymorphic_identity
  end
  if m.version_prop and rawget(dict, m.version_prop.key) == nil then
    touch(uow, st, m.version_prop.key)
    dict[m.version_prop.key] = 1
  end
  local tc = m:table_columns(tbl)
  -- the keys RETURNING or the driver will fill in
  for _, e in ipairs(tc.pk) do
    if rawget(dict, e.key) == nil then touch(uow, st, e.key) end
  end
  for _, p in ipairs(tc.cols) do
    local col, k = p.column, p.key
    local v = rawget(dict, k)
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
      elseif d ~= nil or col.server_default ~= nil or col.computed then
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

local function reset_listening()
  listening = setmetatable({}, {__mode = "k"})
end

local function listens(cls, name)
  local known = listening[cls]
  if not known then known = {}; listening[cls] = known end
  local on = known[name]
  if on == nil then on = event.has(cls, name); known[name] = on end
  return on
end

local function fire_mapper(name, st, conn)
  local cls = st.mapper.class
  if listens(cls, name) then event.fire(cls, name, st.mapper, conn, st.obj) end
end

-- Whether the class of some row of rows listens to name: asked per run of
-- rows of one mapper, so that rows nobody listens to cost no call each.
local function any_listens(rows, name)
  local lastm
  for i = 1, #rows do
    local m = rows[i].mapper
    if m ~= lastm then
      lastm = m
      if listens(m.class, name) then return true end
    end
  end
  return false
end

-- Joined inheritance writes a row to several tables: events fire around
-- the whole, at the first and the last of them.
local first_table, last_table = flush_common.first_table, flush_common.last_table

-- Rows that can share one INSERT: same mapper, same columns given. The
-- columns given are bits over the table's column list (the string made
-- once per combination), which costs no sort per row.
local sig_cache = setmetatable({}, {__mode = "k"})

-- The signature string of mapper m's rows setting the columns bits names
-- (over the column list cols), made once per combination.
local function bits_signature(m, cols, bits)
  local per = sig_cache[cols]
  if not per then per = {}; sig_cache[cols] = per end
  local sig = per[bits]
  if not sig then sig = m.id .. ":" .. format("%.0f", bits); per[bits] = sig end
  return sig
end

local function insert_signature(m, tbl, params)
  local cols = m:table_columns(tbl).cols
  if #cols > 50 then return m.id .. ":" .. signature(params) end
  local bits, w = 0, 1
  for i = 1, #cols do
    if params[cols[i].column.key] ~= nil then bits = bits + w end
    w = w * 2
  end
  return bits_signature(m, cols, bits)
end

-- The same signature for an UPDATE's row from its changed attribute keys
-- (the columns it sets) instead of a scan of every column: an UPDATE
-- usually sets one or two. Each key's bit is kept per column list.
local bit_cache = setmetatable({}, {__mode = "k"})

local function update_signature(m, tbl, changed, params)
  local cols = m:table_columns(tbl).cols
  if #cols > 50 then return insert_signature(m, tbl, params) end
  local bit_of = bit_cache[cols]
  if not bit_of then
    bit_of = {}
    local w = 1
    for i = 1, #cols do
      bit_of[cols[i].key] = w
      w = w * 2
    end
    bit_cache[cols] = bit_of
  end
  local bits = 0
  for i = 1, #changed do
    local k = changed[i]
    local b = bit_of[k]
    for j = 1, i - 1 do
      if changed[j] == k then b = nil end   -- a key listed twice counts once
    end
    if b then bits = bits + b end
  end
  return bits_signature(m, cols, bits)
end

-- "pk_1", "pk_2", ...: the WHERE clause's parameter names, made once.
local PK_NAMES = require("quicksilver.orm.mapper").PK_PARAMS

local flush_insert = require("quicksilver.orm.flush_insert")

local function do_inserts(uow, conn, tbl, rows, done)
  if #rows == 0 then return end
  local caps = conn.dialect.caps
  local params, sigs, expires = {}, {}, {}
  if any_listens(rows, "before_insert") then
    for _, st in ipairs(rows) do
      if first_table(st, tbl) then fire_mapper("before_insert", st, conn) end
    end
  end
  -- the C pass (orm/flush_insert.lua) where it takes these rows
  if flush_insert.run(uow, conn, tbl, rows, done, WAS_NIL, plan_caps(caps, false), fire_mapper) then return end
  for i, st in ipairs(rows) do
    params[i], expires[i] = insert_params(uow, st, conn, tbl)
    sigs[i] = insert_signature(st.mapper, tbl, params[i])
  end
  local infos = {}
  local function info_of(i)
    -- the keys a statement must bring back: a key column not given
    local m = rows[i].mapper
    local p0 = params[i]
    local need_pk, ncols = false, 0
    for _, e in ipairs(m:table_columns(tbl).pk) do
      if p0[e.column.key] == nil then need_pk = true end
    end
    for _ in pairs(p0) do ncols = ncols + 1 end
    infos[sigs[i]] = {ncols, need_pk}
    return infos[sigs[i]]
  end
  local plan = batches(caps, false, sigs, info_of)
  local stmt = dml.insert(tbl)
  for b = 1, #plan, 3 do
    local first, count, mode = plan[b], plan[b + 1], plan[b + 2]
    local last = first + count - 1
    local pk = rows[first].mapper:table_columns(tbl).pk
    if mode == MODE.executemany then
      if count == 1 then
        conn:execute(stmt, params[first])
      else
        local list = {}
        for i = first, last do list[#list + 1] = params[i] end
        conn:execute(stmt, list)
      end
    elseif mode == MODE.returning_each then
      -- nothing but defaults: one row at a time
      local pkcols = {}
      for i, e in ipairs(pk) do pkcols[i] = e.column end
      for i = first, last do
        local row = conn:execute(stmt:returning(unpack(pkcols))):one()
        for j, e in ipairs(pk) do rows[i].dict[e.key] = row[j] end
      end
    elseif mode == MODE.returning_many then
      -- an executemany with RETURNING gives the rows in the order of the
      -- parameter sets on every database (engine/returning_many.lua): the
      -- j-th row is the j-th object's
      local pkcols = {}
      for i, e in ipairs(pk) do pkcols[i] = e.column end
      local list = {}
      for i = first, last do list[#list + 1] = params[i] end
      local got = conn:execute(stmt:returning(unpack(pkcols)), count == 1 and list[1] or list):all()
      if #got ~= count then
        exc.raise(exc.FlushError, format("INSERT into '%s' returned %d keys for %d rows", tbl.name, #got, count), nil, 4)
      end
      for j = 1, count do
        local st = rows[first + j - 1]
        for k, e in ipairs(pk) do st.dict[e.key] = got[j][k] end
      end
    else
      -- no RETURNING (MySQL): a statement per row, the key from the driver
      for i = first, last do
        local r = conn:execute(stmt, params[i])
        local ipk = r.inserted_primary_key
        for j, e in ipairs(pk) do
          if rawget(rows[i].dict, e.key) == nil then rows[i].dict[e.key] = ipk and ipk[j] end
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
  return committed_value(st, st.mapper.version_prop.key)
end

-- A versioned batch matched fewer rows than it had: find the object whose
-- row changed (or vanished) since it was loaded, for the error.
local function stale_instance(conn, m, sts)
  local vc = m.version_prop.column
  for _, st in ipairs(sts) do
    local conds = {}
    for i, c in ipairs(m.pk_cols) do
      conds[i] = c:eq(committed_pk(st, i))
    end
    local row = conn:execute(selectable.select(vc):where(unpack(conds))):first()
    if row == nil or row[1] ~= committed_version(st) then return st end
  end
  return sts[1]
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

-- An UPDATE's statement never brings keys back: its rows by executemany.
local UPDATE_INFO = {0, false}

local function do_updates(uow, conn, tbl, rows, done)
  local items, sigs, sets = {}, {}, {}
  for _, st in ipairs(rows) do
    if first_table(st, tbl) then fire_mapper("before_update", st, conn) end
    apply_syncs(uow, st)
    local m = st.mapper
    local tc = m:table_columns(tbl)
    local changed = changed_keys(st, table_keys(m, tbl))
    local vp = m.version_prop
    local versioned = vp and vp.column.table == tbl
    -- the version moves when anything of the object changed, in any table
    if versioned and #changed == 0 and #changed_keys(st, column_keys(m)) > 0 then
      changed = {}
    elseif #changed == 0 then
      changed = nil
    end
    if changed then
      local params = {}
      local col_of = tc.col_of
      for _, k in ipairs(changed) do
        local col = col_of[k]
        local v = rawget(st.dict, k)
        if v == nil then v = NULL end
        params[col.key] = v
      end
      for i, e in ipairs(tc.pk) do params[PK_NAMES[i]] = committed_value(st, e.key) end
      if versioned then
        -- optimistic locking: the counter moves on, the old one must match
        touch(uow, st, vp.key)
        local old = committed_version(st)
        params.version_old = old
        params[vp.column.key] = (old or 0) + 1
        write_value(st, vp.key, (old or 0) + 1)
        local seen = false
        for _, k in ipairs(changed) do if k == vp.key then seen = true end end
        if not seen then changed[#changed + 1] = vp.key end
      end
      if pk_changed(st) then done.rekeyed[st] = true end
      items[#items + 1] = st
      sets[st] = params
      local ch = done.changed[st]
      if ch then
        for _, k in ipairs(changed) do ch[#ch + 1] = k end
      else
        done.changed[st] = changed   -- the first table of this object: the list as it is
      end
      -- the changed columns as bits over the table's columns (the string
      -- made once per combination, as for INSERTs)
      sigs[#sigs + 1] = update_signature(m, tbl, changed, params)
    end
  end
  local plan = batches(conn.dialect.caps, true, sigs, function() return UPDATE_INFO end)
  for b = 1, #plan, 3 do
    local first, count = plan[b], plan[b + 1]
    local run = {items = {}}
    for i = first, first + count - 1 do run.items[#run.items + 1] = items[i] end
    local m = run.items[1].mapper
    local stmt = dml.update(tbl):where(pk_where(m, true, tbl))
    local list = {}
    for j, st in ipairs(run.items) do list[j] = sets[st] end
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
      if sets[st][c.key] == nil then
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
  if any_listens(rows, "before_delete") then
    for _, st in ipairs(rows) do
      if last_table(st, tbl) then fire_mapper("before_delete", st, conn) end
    end
  end
  local m = rows[1].mapper
  local versioned = m.version_prop and m.version_prop.column.table == tbl
  local stmt = dml.delete(tbl):where(pk_where(m, true, tbl))
  local list = {}
  for j, st in ipairs(rows) do
    local p = {}
    for i, e in ipairs(st.mapper:table_columns(tbl).pk) do p[PK_NAMES[i]] = committed_value(st, e.key) end
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
  if any_listens(rows, "after_delete") then
    for _, st in ipairs(rows) do
      if first_table(st, tbl) then fire_mapper("after_delete", st, conn) end
    end
  end
end

-- Association rows of many-to-manys: written after both ends exist,
-- deleted before either end goes.
local function assoc_params(rel, a, b)
  local p = {}
  for _, l in ipairs(rel.sec_local) do p[l.sec_col.key] = rawget(a.dict, l.key) end
  for _, r in ipairs(rel.sec_remote) do p[r.sec_col.key] = rawget(b.dict, r.key) end
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
      p["k_" .. i] = committed_value(st, l.key)
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
          local v = parent and rawget(parent.dict, pkey) or nil
          touch(uow, st, fkey)
          write_value(st, fkey, v)
          local col = m.props[fkey].column
          fk_table = col.table
          local ch = done.changed[st] or {}
          ch[#ch + 1] = fkey
          done.changed[st] = ch
          params[col.key] = v == nil and NULL or v
          names[#names + 1] = col.key
        end
      end
      for i = 1, #m.pk_cols do params["pk_" .. i] = rawget(st.dict, m.pk_keys[i]) end
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
  local cleared = {}   -- state -> {column key = NULL} already sent
  for _, st in ipairs(uow.deletes) do
    local m = st.mapper
    local params, any = {}, false
    for _, rel in ipairs(m.relationships) do
      if rel.post_update and not rel.secondary then
        for _, p in ipairs(rel.pairs) do
          local fkey = fk_key_of(rel, p)
          if rel.direction ~= ONETOMANY and (rawget(st.dict, fkey) ~= nil or committed_of(st, fkey) ~= nil) then
            params[m.props[fkey].column.key] = NULL
            any = true
          end
        end
      end
    end
    if any then
      cleared[st] = params
      for i = 1, #m.pk_cols do params["pk_" .. i] = committed_pk(st, i) end
      conn:execute(dml.update(m.persist_table):where(pk_where(m, false, m.persist_table)), params)
    end
  end
  -- members of a deleted parent's post_update one-to-many that are deleted
  -- too: their foreign key to NULL first (SQLAlchemy's OneToManyDP does the
  -- same), so the parent's DELETE finds nothing pointing at it
  local seen = {}
  for _, e in ipairs(uow.post_o2m_deleted) do
    local rel, cst = e[1], e[2]
    if uow.delete_set[cst] and not seen[cst] then
      local m = cst.mapper
      local params, any, tbl = {}, false, nil
      for _, p in ipairs(rel.pairs) do
        local fkey = fk_key_of(rel, p)
        local col = m.props[fkey].column
        tbl = col.table
        local done_ = cleared[cst]
        if (rawget(cst.dict, fkey) ~= nil or committed_of(cst, fkey) ~= nil) and not (done_ and done_[col.key]) then
          params[col.key] = NULL
          any = true
        end
      end
      if any then
        seen[cst] = true
        cleared[cst] = params
        for i = 1, #m.pk_cols do params["pk_" .. i] = committed_pk(cst, i) end
        conn:execute(dml.update(tbl):where(pk_where(m, false, tbl)), params)
      end
    end
  end
end

local function undo(uow)
  local t = uow.touched
  for i = uow.ntouched - 2, 1, -3 do
    local v = t[i + 2]
    if v == WAS_NIL then v = nil end
    t[i].dict[t[i + 1]] = v
  end
end

M.do_inserts = do_inserts
M.do_updates = do_updates
M.do_deletes = do_deletes
M.do_assoc_deletes = do_assoc_deletes
M.do_assoc_inserts = do_assoc_inserts
M.do_post_updates = do_post_updates
M.do_post_nulls = do_post_nulls
M.undo = undo
M.reset_listening = reset_listening

return M
