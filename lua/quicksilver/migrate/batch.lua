--- migrate/batch.lua: op.batch_alter_table(table, fn(batch)). On SQLite,
--- which cannot change a column or a constraint in place, the table is
--- rebuilt: a new table with the changes, the rows copied, the old one
--- dropped and the new one renamed, its indexes made again (the migration
--- runtime has foreign-key enforcement off around the revision and runs
--- PRAGMA foreign_key_check before committing). Elsewhere each change is
--- its own ALTER TABLE.
local exc = require("quicksilver.exc")
local core = require("quicksilver.core")
local schema = require("quicksilver.sql.schema")
local ddl = require("quicksilver.sql.ddl")
local elements = require("quicksilver.sql.elements")
local util = require("quicksilver.util")

local M = {}

local format, concat = string.format, table.concat
local unpack = table.unpack or unpack   -- luacheck: ignore (5.1)

-- Each batch operation and the position of its options table (op's
-- options less the table's schema, which batch_alter_table's table has).
local OPTIONS_AT = {add_column = 2, drop_column = 2, alter_column = 2, create_unique_constraint = 3,
  create_foreign_key = 5, create_check_constraint = 3, drop_constraint = 2, create_index = 3, drop_index = 2,
  create_primary_key = 3}

local function batch_options(name)
  local known = {}
  for k in pairs(require("quicksilver.migrate.op").OPTIONS[name] or {}) do
    if k ~= "schema" and k ~= "source_schema" then known[k] = true end
  end
  return known
end

-- The changes, recorded in order (their options checked as they come).
local function recorder()
  local changes = {}
  local batch = {}
  local function def(name)
    local known = batch_options(name)
    batch[name] = function(a, ...)
      local args = {n = select("#", ...), ...}
      if a ~= batch then
        table.insert(args, 1, a)
        args.n = args.n + 1
      end
      util.check_options("batch." .. name, args[OPTIONS_AT[name]], known, 2)
      changes[#changes + 1] = {op = name, args = args}
    end
  end
  for n in pairs(OPTIONS_AT) do def(n) end
  return batch, changes
end

-- Elsewhere than SQLite: each change through op, on the table.
local function direct(op, tname, changes)
  for _, ch in ipairs(changes) do
    local a = ch.args
    local n = ch.op
    -- every argument passed on, the options included
    if n == "add_column" then op.add_column(tname, a[1], a[2])
    elseif n == "drop_column" then op.drop_column(tname, a[1], a[2])
    elseif n == "alter_column" then op.alter_column(tname, a[1], a[2])
    elseif n == "create_unique_constraint" then op.create_unique_constraint(a[1], tname, a[2], a[3])
    elseif n == "create_foreign_key" then op.create_foreign_key(a[1], tname, a[2], a[3], a[4], a[5])
    elseif n == "create_check_constraint" then op.create_check_constraint(a[1], tname, a[2], a[3])
    elseif n == "create_primary_key" then op.create_primary_key(a[1], tname, a[2], a[3])
    elseif n == "drop_constraint" then op.drop_constraint(a[1], tname, a[2])
    elseif n == "create_index" then op.create_index(a[1], tname, a[2], a[3])
    elseif n == "drop_index" then op.drop_index(a[1], tname, a[2])
    end
  end
end

local function ident(name) return core.ident("sqlite", name) end

-- SQLite: the rebuild.
local function rebuild(conn, tname, changes)
  local md = schema.metadata()
  local old = conn:_reflect_table(md, tname, {resolve_fks = false})
  -- what reflection cannot read back must not be lost by the copy
  local table_sql = conn:exec_driver_sql("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?",
    {tname}):scalar() or ""
  if table_sql:upper():find("DEFERRABLE", 1, true) then
    exc.raise(exc.NotSupportedError, format("batch_alter_table(%s): the table has DEFERRABLE constraints, " ..
      "which the rebuild cannot carry over", tname), nil, 5)
  end
  local index_sql = {}
  for _, r in ipairs(conn:exec_driver_sql("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND " ..
      "tbl_name = ? AND sql IS NOT NULL", {tname}):all()) do
    index_sql[r[1]] = r[2]
  end
  -- columns: {name, column} in order; source: new name -> old name (copied)
  local cols, source = {}, {}
  for _, c in ipairs(old.columns) do
    cols[#cols + 1] = {name = c.name, col = c}
    source[c.name] = c.name
  end
  local function find(name)
    for i, e in ipairs(cols) do if e.name == name then return i, e end end
    exc.raise(exc.ArgumentError, format("batch_alter_table(%s): no column %s", tname, tostring(name)), nil, 5)
  end
  local constraints = {}
  for _, con in ipairs(old.constraints) do constraints[#constraints + 1] = con end
  local new_pk   -- a PrimaryKeyConstraint replacing the table's, every column in its order
  local fks = {}
  for _, fk in ipairs(old.foreign_keys) do
    local con = fk.constraint
    if con and not fks[con] then fks[con] = true; fks[#fks + 1] = con end
  end
  local indexes = {}
  for _, ix in ipairs(old.indexes) do
    local names, plain = {}, true
    for i, e in ipairs(ix.expressions) do
      names[i] = e.name
      if not e.name then plain = false end
    end
    -- made again from its own SQL (a partial or expression index stays one)
    indexes[#indexes + 1] = {name = ix.name, columns = names, unique = ix.unique, sql = index_sql[ix.name],
      plain = plain}
  end
  for _, ch in ipairs(changes) do
    local a, n = ch.args, ch.op
    if n == "add_column" then
      cols[#cols + 1] = {name = a[1].name, col = a[1]}
    elseif n == "drop_column" then
      local i = find(a[1])
      table.remove(cols, i)
      source[a[1]] = nil
    elseif n == "alter_column" then
      local _, e = find(a[1])
      local o = a[2] or {}
      if o.comment ~= nil then
        exc.raise(exc.NotSupportedError, format("batch_alter_table(%s): SQLite keeps no comments (comment)", tname),
          nil, 5)
      end
      local c = e.col:copy()
      if o.type or o.type_ then c.type = require("quicksilver.sql.types").to_instance(o.type or o.type_) end
      if o.nullable ~= nil then c.nullable = o.nullable end
      if o.server_default == false then c.server_default = nil
      elseif o.server_default ~= nil then c.server_default = o.server_default end
      if o.new_column_name then
        source[o.new_column_name] = source[e.name]
        source[e.name] = nil
        c.name, c.key = o.new_column_name, o.new_column_name
        e.name = o.new_column_name
        for _, ix in ipairs(indexes) do
          for i, cn in ipairs(ix.columns) do
            if cn == a[1] then
              ix.columns[i] = o.new_column_name
              if ix.sql and (ix.sql:upper():find("%sWHERE%s") or not ix.plain) then
                exc.raise(exc.NotSupportedError, format("batch_alter_table(%s): index %s is partial or on " ..
                  "expressions and names the renamed column %s; drop it first and make it again", tname,
                  tostring(ix.name), tostring(a[1])), nil, 5)
              end
              ix.sql = nil   -- made again from its columns, under the new name
            end
          end
        end
      end
      e.col = c
    elseif n == "create_unique_constraint" then
      -- every column (an `x and unpack(t) or y` keeps only the first)
      local args = {unpack(a[2])}
      local o = a[3] or {}
      args[#args + 1] = {name = a[1], deferrable = o.deferrable, initially = o.initially}
      constraints[#constraints + 1] = schema.UniqueConstraint(unpack(args))
    elseif n == "create_primary_key" then
      if type(a[2]) ~= "table" or #a[2] == 0 then
        exc.raise(exc.ArgumentError, format("batch_alter_table(%s): create_primary_key needs a list of columns",
          tname), nil, 5)
      end
      for _, cn in ipairs(a[2]) do find(cn) end
      local o = a[3] or {}
      local args = {unpack(a[2])}
      args[#args + 1] = {name = a[1], deferrable = o.deferrable, initially = o.initially}
      new_pk = schema.PrimaryKeyConstraint(unpack(args))
    elseif n == "create_check_constraint" then
      constraints[#constraints + 1] = schema.CheckConstraint(a[2], {name = a[1]})
    elseif n == "create_foreign_key" then
      local refs = {}
      for i, rc in ipairs(a[4]) do refs[i] = a[2] .. "." .. rc end
      local o = a[5] or {}
      fks[#fks + 1] = schema.ForeignKeyConstraint(a[3], refs, {name = a[1], ondelete = o.ondelete,
        onupdate = o.onupdate, deferrable = o.deferrable, initially = o.initially})
    elseif n == "drop_constraint" then
      local found = false
      for i = #constraints, 1, -1 do
        if constraints[i].name == a[1] then table.remove(constraints, i); found = true end
      end
      for i = #fks, 1, -1 do
        if fks[i].name == a[1] then table.remove(fks, i); found = true end
      end
      if not found then
        exc.raise(exc.ArgumentError, format("batch_alter_table(%s): no constraint named %s", tname,
          tostring(a[1])), nil, 5)
      end
    elseif n == "create_index" then
      local o = a[3] or {}
      local w = o.sqlite_where
      if type(w) == "string" then w = elements.text(w) end
      indexes[#indexes + 1] = {name = a[1], columns = a[2], unique = o.unique, sqlite_where = w}
    elseif n == "drop_index" then
      for i = #indexes, 1, -1 do if indexes[i].name == a[1] then table.remove(indexes, i) end end
    end
  end
  -- the new table, under a temporary name
  local tmp = "_qs_tmp_" .. tname
  local items = {}
  for _, e in ipairs(cols) do
    local c = e.col:copy()
    c.foreign_keys = {}
    if new_pk then c.primary_key = false end
    items[#items + 1] = c
  end
  if new_pk then items[#items + 1] = new_pk end
  for _, con in ipairs(constraints) do
    if con.kind ~= "primary_key" then
      -- constraints that name a dropped column go with it
      local keep = true
      for _, cn in ipairs(con.columns or {}) do
        local present = false
        for _, e in ipairs(cols) do if e.name == cn then present = true end end
        if not present then keep = false end
      end
      if keep then items[#items + 1] = con end
    end
  end
  for _, fk in ipairs(fks) do
    local keep = true
    for _, cn in ipairs(fk.columns) do
      local present = false
      for _, e in ipairs(cols) do if e.name == cn then present = true end end
      if not present then keep = false end
    end
    if keep then
      items[#items + 1] = schema.ForeignKeyConstraint(fk.columns, fk.refs, {name = fk.name,
        ondelete = fk.ondelete, onupdate = fk.onupdate, deferrable = fk.deferrable, initially = fk.initially})
    end
  end
  local newmd = schema.metadata()
  local t = schema.table(tmp, newmd, unpack(items))
  conn:execute(ddl.CreateTable(t, {inline_alter = true}))
  local dst, src = {}, {}
  for _, e in ipairs(cols) do
    if source[e.name] then
      dst[#dst + 1] = ident(e.name)
      src[#src + 1] = ident(source[e.name])
    end
  end
  if #dst > 0 then
    conn:exec_driver_sql(format("INSERT INTO %s (%s) SELECT %s FROM %s", ident(tmp), concat(dst, ", "),
      concat(src, ", "), ident(tname)))
  end
  conn:exec_driver_sql("DROP TABLE " .. ident(tname))
  conn:exec_driver_sql(format("ALTER TABLE %s RENAME TO %s", ident(tmp), ident(tname)))
  for _, ix in ipairs(indexes) do
    if ix.sql then
      conn:exec_driver_sql(ix.sql)
    else
      local exprs = {}
      for i, cn in ipairs(ix.columns) do exprs[i] = type(cn) == "string" and elements.column(cn) or cn end
      conn:execute(ddl.CreateIndex({name = ix.name, table = {name = tname}, expressions = exprs,
        unique = ix.unique or false, sqlite_where = ix.sqlite_where}))
    end
  end
end

function M.run(op, conn, tname, fn)
  if type(tname) ~= "string" or type(fn) ~= "function" then
    exc.raise(exc.ArgumentError, "op.batch_alter_table: expected a table name and a function(batch)", nil, 3)
  end
  local batch, changes = recorder()
  fn(batch)
  if conn.dialect.name == "sqlite" then rebuild(conn, tname, changes) else direct(op, tname, changes) end
end

return M
