--- orm/flush_insert.lua: the flush's INSERTs of one table through C
--- (c/orm/insert_rows.c): one pass over the rows sets their foreign keys,
--- polymorphic identity, version counter and scalar defaults in the value
--- tables (recording the undo list), gives each row its shape (columns
--- given) and plans the statements; the engine binds straight from the
--- value tables (Connection:_execute_rows, engine/insert_rows.lua) and the
--- new keys go back into them in C (core.insert_keys). No parameter table
--- per object.
---
--- What it does not take goes to orm/flush_write.lua's Lua path (run
--- returns false before anything is touched): a mapper whose table has a
--- callable column default, an attribute named unlike its column, more
--- than 50 columns; a connection whose events or echo would see the
--- parameters.
local core = require("quicksilver.core")
local dml = require("quicksilver.sql.dml")
local exc = require("quicksilver.exc")
local event = require("quicksilver.event")
local statement = require("quicksilver.sql.statement")

local M = {}

local type, ipairs, rawget, pcall, error, format = type, ipairs, rawget, pcall, error, string.format
local unpack = table.unpack or unpack
local insert_rows, insert_keys = core.insert_rows, core.insert_keys
local MODE = core.plan_modes

-- The INSERT statements of a table (their compiled forms are cached on
-- them), made once.
local stmts = setmetatable({}, {__mode = "k"})

local function table_stmt(tbl)
  local s = stmts[tbl]
  if not s then
    s = dml.insert(tbl)
    stmts[tbl] = s
  end
  return s
end

-- The insert spec of mapper m for table tbl: a list laid out as
-- c/orm/layout.h's QS_INSERT_SPEC says (F: name -> position), plus the
-- named fields this file uses; false: the Lua path. Made once per mapper
-- and table.
local F = core.insert_spec_fields

local function build_spec(m, tbl)
  local tc = m:table_columns(tbl)
  local cols = tc.cols
  if #cols == 0 or #cols > 50 then return false end
  for _, c in ipairs(tbl.columns) do
    if type(c.default) == "function" then return false end
  end
  local keys, defaults, pk, expire, defaulted = {}, {}, {}, {}, {}
  local spec = {mapper = m, pkkeys = {}, pkcols = {}}
  local index = {}
  for i, p in ipairs(cols) do
    local col = p.column
    if p.key ~= col.key then return false end
    keys[i] = p.key
    index[p.key] = i
    local d = col.default
    if d ~= nil and not (type(d) == "table" and d._is_clause) then
      defaults[i] = d
      defaulted[#defaulted + 1] = i
    elseif d ~= nil or col.server_default ~= nil or col.computed then
      expire[#expire + 1] = i
    end
  end
  for j, e in ipairs(tc.pk) do
    local i = index[e.key]
    if not i then return false end
    pk[j] = i
    spec.pkkeys[j] = e.key
    spec.pkcols[j] = e.column
  end
  spec[F.cols], spec[F.defaults], spec[F.pk], spec[F.expire], spec[F.defaulted] =
    keys, defaults, pk, expire, defaulted
  spec[F.last] = m.tables[#m.tables] == tbl
  if m.polymorphic_on and m.polymorphic_identity ~= nil and m.polymorphic_on.key ~= nil then
    spec[F.poly_key] = m.polymorphic_on.key
    spec[F.poly_value] = m.polymorphic_identity
  end
  if m.version_prop then spec[F.version_key] = m.version_prop.key end
  spec.stmt = table_stmt(tbl)
  spec.ret_stmt = #spec.pkcols > 0 and spec.stmt:returning(unpack(spec.pkcols)) or nil
  spec.auto = statement.autoincrement_column(tbl)
  return spec
end

local function spec_of(m, tbl)
  local cache = m._insert_spec
  if not cache then cache = {}; m._insert_spec = cache end
  local s = cache[tbl]
  if s == nil then
    s = build_spec(m, tbl)
    cache[tbl] = s
  end
  return s
end

-- spec_of for one table, as core.insert_rows calls it
local spec_fns = setmetatable({}, {__mode = "k"})

local function spec_fn(tbl)
  local f = spec_fns[tbl]
  if not f then
    f = function(m) return spec_of(m, tbl) end
    spec_fns[tbl] = f
  end
  return f
end

local last_table = require("quicksilver.orm.flush_common").last_table

-- The attribute keys a relationship sets on a new row, as core.insert_rows
-- asks (c/orm/insert_rows.c), once per relationship: nulls false, its
-- foreign keys and the keys they follow {fk1, followed1, ...} (the
-- child's key from the parent's on a one-to-many, the row's own from its
-- target's otherwise: flush_write.lua apply_syncs); nulls true, the foreign
-- keys a cut relationship clears (an entry of uow.nulls: o2m records name
-- the remote side).
local ONETOMANY = "ONETOMANY"

local function rel_keys(rel, nulls)
  local out = {}
  for _, p in ipairs(rel.pairs) do
    if nulls then
      out[#out + 1] = rel.o2m and p.remote_key or p.local_key
    elseif rel.direction == ONETOMANY then
      out[#out + 1], out[#out + 2] = p.remote_key, p.local_key
    else
      out[#out + 1], out[#out + 2] = p.local_key, p.remote_key
    end
  end
  return out
end

--- The INSERTs of rows (states, in flush order) into tbl; false when the
--- Lua path must take them (nothing touched then). was_nil: the undo
--- list's "was nil"; caps: the plan caps; fire_mapper(name, st, conn):
--- flush_write.lua's mapper events.
---@return boolean
function M.run(uow, conn, tbl, rows, done, was_nil, caps, fire_mapper)
  if not conn:_rows_direct_ok() then return false end
  local ok, plan, shapes, dicts = pcall(insert_rows, rows, spec_fn(tbl), rel_keys, uow.syncs, uow.nulls,
    uow.touched, done.expire, done.inserted, was_nil, caps)
  uow.ntouched = #uow.touched   -- what it appended, also when it failed
  if not ok then error(plan, 0) end
  if not plan then return false end
  for b = 1, #plan, 4 do
    local first, count, mode, shape = plan[b], plan[b + 1], plan[b + 2], plan[b + 3]
    local last = first + count - 1
    local sh = shapes[shape]
    local spec, keys = sh[1], sh[2]
    if mode == MODE.executemany then
      conn:_execute_rows(spec.stmt, dicts, first, last, keys)
    elseif mode == MODE.returning_many then
      local got, ordered = conn:_execute_rows(spec.ret_stmt, dicts, first, last, keys)
      local n = insert_keys(dicts, first, count, got, spec.pkkeys, ordered)
      if n ~= count then
        exc.raise(exc.FlushError, format("INSERT into '%s' returned %d keys for %d rows", tbl.name, n, count), nil, 3)
      end
    elseif mode == MODE.returning_each then
      -- nothing but defaults: one row at a time
      for i = first, last do
        local row = conn:execute(spec.ret_stmt):one()
        for j, key in ipairs(spec.pkkeys) do dicts[i][key] = row[j] end
      end
    else
      -- no RETURNING (MySQL): a statement per row, the key from the driver
      for i = first, last do
        local _, lastrowid = conn:_execute_rows(spec.stmt, dicts, i, i, keys)
        local d = dicts[i]
        for j, key in ipairs(spec.pkkeys) do
          if rawget(d, key) == nil then d[key] = spec.pkcols[j] == spec.auto and lastrowid or nil end
        end
      end
    end
  end
  -- after_insert: per row only where the class listens
  local listens = false
  for _, sh in ipairs(shapes) do
    if event.has(sh[1].mapper.class, "after_insert") then listens = true end
  end
  if listens then
    for _, st in ipairs(rows) do
      if last_table(st, tbl) then fire_mapper("after_insert", st, conn) end
    end
  end
  return true
end

return M
