--- migrate/autogenerate.lua: the differences between the database (read
--- by reflection) and the models' metadata (env.lua target_metadata), and
--- the revision code that applies them. Found: tables, columns, indexes,
--- named unique constraints and foreign keys added or removed; nullability
--- and type changes (compare_type, on by default; an enum by its values
--- where the database reports them); sequences added or removed (where the
--- database has sequences), a new table's named enum types dropped after it
--- in the downgrade; named CHECK constraints added or removed (by name);
--- server defaults with compare_server_default (migrate/server_defaults.lua);
--- the registered operations comparators add (migrate/extensions.lua). Not
--- guessed: renames (a renamed column shows as one removed and one added;
--- edit the revision).
local exc = require("quicksilver.exc")
local qs = require("quicksilver")
local emit = require("quicksilver.migrate.emit")
local COLUMN_KIND = require("quicksilver.core").kinds.COLUMN
local sequence = require("quicksilver.sql.sequence")
local server_defaults = require("quicksilver.migrate.server_defaults")
local extensions = require("quicksilver.migrate.extensions")

local M = {}

local format, concat = string.format, table.concat

-- A non-native enum is stored as a VARCHAR and reflected as a String.
local function enum_as_string(a, b)
  return a.name == "Enum" and (b.name == "String" or b.name == "Unicode") and (not a.enum_type or not b.enums)
end

local same_type
function same_type(a, b)
  if enum_as_string(a, b) or enum_as_string(b, a) then return true end
  if a.name == "Enum" and b.name == "Enum" then
    -- by their values, where both sides know them (the length is derived)
    return not (a.enums and b.enums and #a.enums > 0 and #b.enums > 0) or
      concat(a.enums, "\0") == concat(b.enums, "\0")
  end
  if a.name ~= b.name then
    -- spellings that store the same (Unicode/String, UnicodeText/Text)
    local alias = {Unicode = "String", UnicodeText = "Text"}
    if (alias[a.name] or a.name) ~= (alias[b.name] or b.name) then return false end
  end
  if a.length and b.length and a.length ~= b.length then return false end
  if a.precision and b.precision and (a.precision ~= b.precision or (a.scale or 0) ~= (b.scale or 0)) then
    return false
  end
  -- ARRAY: the element types (the database keeps no dimension count)
  if a.item_type and b.item_type and not same_type(a.item_type, b.item_type) then return false end
  return true
end

-- The filters of env.lua, as Alembic applies them: include_name(name,
-- type_, parent_names) to every name read from the database before it is
-- compared; include_object(object, name, type_, reflected, compare_to) to
-- every object on either side (type_ "table", "column", "index",
-- "unique_constraint", "foreign_key_constraint"). An object either filter
-- refuses is neither added nor removed.
local function filters(opts)
  local include_object, include_name = opts.include_object, opts.include_name
  for _, f in ipairs({{"include_object", include_object}, {"include_name", include_name}}) do
    if f[2] ~= nil and type(f[2]) ~= "function" then
      exc.raise(exc.ArgumentError, "autogenerate: " .. f[1] .. " must be a function", nil, 4)
    end
  end
  local csd = opts.compare_server_default
  if csd ~= nil and type(csd) ~= "boolean" and type(csd) ~= "function" then
    exc.raise(exc.ArgumentError, "autogenerate: compare_server_default must be a boolean or a function", nil, 4)
  end
  local F = {has_object = include_object ~= nil}
  function F.object(obj, name, kind, reflected, compare_to)
    return not include_object or include_object(obj, name, kind, reflected, compare_to) and true or false
  end
  function F.name(name, kind, parents)
    return not include_name or include_name(name, kind, parents or {}) and true or false
  end
  -- a reflected object the model does not have: its name, then the object
  function F.reflected(obj, name, kind, parents)
    return F.name(name, kind, parents) and F.object(obj, name, kind, true, nil)
  end
  return F
end

local function columns_key(cols) return concat(cols, ",") end

-- What one comparison works from: the connection's inspector, the filters,
-- the tables the database has (version table and filtered names left out),
-- the reflected tables (each read once), and the differences found so far.
local function comparison(conn, opts)
  local insp = qs.inspect(conn)
  local F = filters(opts)
  local skip = {[opts.version_table or "alembic_version"] = true}
  local db = {}
  for _, n in ipairs(insp:get_table_names()) do
    if not skip[n] and F.name(n, "table", {schema_name = nil}) then db[n] = true end
  end
  local cx = {conn = conn, insp = insp, F = F, opts = opts, db = db, reflected = {}, diffs = {}}
  -- what hooks (comparators, compare_server_default) are given
  cx.ctx = {connection = conn, inspector = insp, dialect = conn.dialect, opts = opts}
  function cx.add(d) cx.diffs[#cx.diffs + 1] = d end
  function cx.reflect(n)
    if not cx.reflected[n] then cx.reflected[n] = conn:_reflect_table(qs.MetaData(), n, {resolve_fks = false}) end
    return cx.reflected[n]
  end
  return cx
end

local function parents_of(t)
  return {table_name = t.name, schema_name = t.schema, schema_qualified_table_name = t.fullname}
end

-- The database's indexes and unique constraints of a table, one entry per
-- name (a unique index reported twice is one): {name, columns, unique,
-- sort = "index" | "unique", d = the inspector's entry, matched}.
local function database_uniques(insp, name)
  local found = {list = {}, by_name = {}}
  local function entry(d, sort, unique)
    local e = d.name and found.by_name[d.name]
    if e then
      e.unique = e.unique or unique
      return
    end
    local cols = {}
    for i, c in ipairs(d.column_names or {}) do cols[i] = c or (d.expressions and d.expressions[i]) or "expr" end
    e = {name = d.name, columns = cols, unique = unique, sort = sort, d = d}
    if d.expressions then
      -- an index on expressions: made again (a downgrade) from their SQL text
      local parts = {}
      for i, c in ipairs(d.column_names or {}) do
        parts[i] = c and format("%q", c) or format("qs.text(%q)", tostring(d.expressions[i]))
      end
      e.keys_code = "{" .. concat(parts, ", ") .. "}"
    end
    found.list[#found.list + 1] = e
    if d.name then found.by_name[d.name] = e end
  end
  for _, i in ipairs(insp:get_indexes(name)) do entry(i, "index", i.unique and true or false) end
  for _, u in ipairs(insp:get_unique_constraints(name)) do entry(u, "unique", true) end
  return found
end

local function take(e) e.matched = true; return e end

-- An unmatched unique entry on these columns: a unique constraint first,
-- else a unique index.
local function unique_by_columns(found, cols)
  local k = columns_key(cols)
  for _, want in ipairs({"unique", "index"}) do
    for _, e in ipairs(found.list) do
      if not e.matched and e.unique and e.sort == want and columns_key(e.columns) == k then return take(e) end
    end
  end
end

-- The model's indexes: matched by name (a unique index also as the unique
-- constraint a database reports it as); one changed in place is dropped and
-- made again.
local function compare_indexes(cx, t, found)
  local name = t.name
  for _, ix in ipairs(t.indexes) do
    local cols, functional = {}, false
    for i, e in ipairs(ix.expressions) do
      -- a key part that is no plain column (a function, DESC): the database
      -- reports it in its own spelling, so such an index is compared by name
      -- and uniqueness only (Alembic does the same)
      if type(e) == "table" and e._k == COLUMN_KIND then cols[i] = e.name
      else cols[i] = tostring(e.name or "expr"); functional = true end
    end
    local e = found.by_name[ix.name]
    if e and not e.matched and (e.sort == "index" or ix.unique) then
      take(e)
      if cx.F.object(ix, ix.name, "index", false, e.d) then
        local same_cols = functional or e.d.expressions ~= nil or columns_key(e.columns) == columns_key(cols)
        if not same_cols or e.unique ~= (ix.unique and true or false) then
          cx.add({kind = "remove_index", table = name, name = e.name, columns = e.columns, unique = e.unique,
            keys_code = e.keys_code})
          cx.add({kind = "add_index", table = name, name = ix.name, columns = cols, unique = ix.unique, index = ix})
        end
      end
    elseif cx.F.object(ix, ix.name, "index", false, nil) then
      cx.add({kind = "add_index", table = name, name = ix.name, columns = cols, unique = ix.unique, index = ix})
    end
  end
end

-- The model's unique constraints: by name, an unnamed one by its columns
-- (the server names it: users_email_key on PostgreSQL, email on MariaDB).
local function compare_unique_constraints(cx, t, found)
  for _, con in ipairs(t.constraints) do
    if con.kind == "unique" then
      local e = con.name and found.by_name[con.name]
      if e and (e.matched or not e.unique) then e = nil end
      if e then take(e) else e = unique_by_columns(found, con.columns) end
      if e and con.name and e.name and e.name ~= con.name then
        -- the same columns under another name: a rename, not this constraint
        e.matched = nil
        e = nil
      end
      if cx.F.object(con, con.name, "unique_constraint", false, e and e.d) and not e then
        cx.add({kind = "add_unique", table = t.name, name = con.name, columns = con.columns, constraint = con})
      end
    end
  end
end

-- The column lists of the indexes the server made by itself, one per
-- foreign key (MySQL's): not the models', never removed.
local function implicit_fk_indexes(cx, name)
  local fk_cols = {}
  if cx.conn.dialect.caps.fk_implicit_index then
    for _, fk in ipairs(cx.insp:get_foreign_keys(name)) do fk_cols[columns_key(fk.constrained_columns)] = true end
  end
  return fk_cols
end

-- The database's indexes and unique constraints nothing matched: removed.
local function removed_uniques(cx, t, found)
  local implicit = implicit_fk_indexes(cx, t.name)
  local parents = parents_of(t)
  for _, e in ipairs(found.list) do
    -- an unnamed database constraint (SQLite's) cannot be dropped by name
    if not e.matched and e.name and not (not e.unique and implicit[columns_key(e.columns)]) then
      local kind = e.sort == "index" and "index" or "unique_constraint"
      if cx.F.reflected(e.d, e.name, kind, parents) then
        cx.add({kind = e.sort == "index" and "remove_index" or "remove_unique", table = t.name, name = e.name,
          columns = e.columns, unique = e.unique, keys_code = e.keys_code})
      end
    end
  end
end

-- The indexes and unique constraints of a model table and of the database,
-- matched (a unique index also as the unique constraint a database reports
-- it as, MariaDB, and the other way round).
local function compare_uniques_and_indexes(cx, t)
  local found = database_uniques(cx.insp, t.name)
  if cx.opts.include_name then
    -- names include_name refuses are as if the database did not have them
    local parents, keep = parents_of(t), {list = {}, by_name = {}}
    for _, e in ipairs(found.list) do
      if not e.name or cx.F.name(e.name, e.sort == "index" and "index" or "unique_constraint", parents) then
        keep.list[#keep.list + 1] = e
        if e.name then keep.by_name[e.name] = e end
      end
    end
    found = keep
  end
  compare_indexes(cx, t, found)
  compare_unique_constraints(cx, t, found)
  removed_uniques(cx, t, found)
end

-- Tables the models add and the database has alone; returns the model
-- tables the filters keep (by name). A table the models have but the filter
-- left out is left alone.
local function compare_tables(cx, md)
  local F, db = cx.F, cx.db
  local modeled, wanted = {}, {}
  for _, t in ipairs(md:sorted_tables()) do
    modeled[t.name] = true
    local compare_to = (db[t.name] and F.has_object) and cx.reflect(t.name) or nil
    if F.object(t, t.name, "table", false, compare_to) then wanted[t.name] = t end
  end
  for _, t in ipairs(md:sorted_tables()) do
    if wanted[t.name] and not db[t.name] then cx.add({kind = "add_table", table = t.name, t = t}) end
  end
  local gone = {}
  for n in pairs(db) do if not modeled[n] then gone[#gone + 1] = n end end
  table.sort(gone)
  for _, n in ipairs(gone) do
    local rt = cx.reflect(n)
    if F.object(rt, n, "table", true, nil) then cx.add({kind = "remove_table", table = n, t = rt}) end
  end
  return wanted
end

-- A model column against the database's: nullability (not of primary key
-- columns) and type (unless compare_type is false).
local function compare_column(cx, name, c, d)
  if not c.primary_key and (c.nullable and true or false) ~= (d.nullable and true or false) then
    cx.add({kind = "modify_nullable", table = name, name = c.name, nullable = c.nullable, was = d.nullable,
      type = c.type})
  end
  if cx.opts.compare_type ~= false and c.type and d.type and not same_type(c.type, d.type) and
      d.type.name ~= "NullType" then
    cx.add({kind = "modify_type", table = name, name = c.name, type = c.type, was = d.type, nullable = c.nullable})
  end
  if cx.opts.compare_server_default and server_defaults.differs(cx, c, d) then
    cx.add({kind = "modify_default", table = name, name = c.name, server_default = c.server_default,
      was = d.default, type = c.type, nullable = c.nullable})
  end
end

-- CHECK constraints, by name only (as Alembic: databases rewrite the
-- condition's text, so it is not compared); unnamed ones on either side are
-- left alone (there is no name to match or drop them by).
local function compare_checks(cx, t)
  local name = t.name
  local db = {}
  local order = {}
  local parents = parents_of(t)
  for _, ck in ipairs(cx.insp:get_check_constraints(name)) do
    if ck.name and cx.F.name(ck.name, "check_constraint", parents) then db[ck.name] = ck; order[#order + 1] = ck.name end
  end
  local mine, unnamed = {}, 0
  for _, con in ipairs(t.constraints) do
    if con.kind == "check" and not con.name then unnamed = unnamed + 1 end
    if con.kind == "check" and con.name then
      mine[con.name] = true
      if cx.F.object(con, con.name, "check_constraint", false, db[con.name]) and not db[con.name] then
        cx.add({kind = "add_check", table = name, name = con.name, constraint = con, t = t})
      end
    end
  end
  table.sort(order)
  for _, n in ipairs(order) do
    -- the server names the models' unnamed CHECKs (people_age_check,
    -- people_chk_1): one such per unnamed model CHECK is theirs
    local theirs = not mine[n] and unnamed > 0
    if theirs then unnamed = unnamed - 1 end
    if not mine[n] and not theirs and cx.F.object(db[n], n, "check_constraint", true, nil) then
      cx.add({kind = "remove_check", table = name, name = n, sqltext = db[n].sqltext})
    end
  end
end

-- Columns added, changed, and only in the database.
local function compare_columns(cx, t)
  local name, F = t.name, cx.F
  local dbcols, order = {}, {}
  local parents = parents_of(t)
  for _, c in ipairs(cx.insp:get_columns(name)) do
    -- include_name sees every reflected name first (Alembic's order)
    if F.name(c.name, "column", parents) then dbcols[c.name] = c; order[#order + 1] = c.name end
  end
  local mine = {}
  for _, c in ipairs(t.columns) do
    mine[c.name] = true
    local d = dbcols[c.name]
    if not F.object(c, c.name, "column", false, d) then
      -- left out: neither added nor compared
    elseif not d then
      cx.add({kind = "add_column", table = name, column = c})
    else
      compare_column(cx, name, c, d)
    end
  end
  for _, n in ipairs(order) do
    if not mine[n] and F.object(dbcols[n], n, "column", true, nil) then
      cx.add({kind = "remove_column", table = name, name = n, column = dbcols[n]})
    end
  end
end

local function fk_key(cols, referred) return concat(cols, ",") .. ">" .. referred end

-- A model foreign key the database lacks, as an add_fk difference.
local function added_fk(name, fk, ref, cols, fkname)
  local rcols = {}
  if fk.constraint then
    for i, r in ipairs(fk.constraint.refs) do rcols[i] = r:match("([^.]+)$") end
  else
    rcols[1] = ref.name
  end
  local src = fk.constraint or fk
  return {kind = "add_fk", table = name, name = fkname, columns = cols, referred = ref.table.name,
    referred_columns = rcols, ondelete = src.ondelete, onupdate = src.onupdate, deferrable = src.deferrable,
    initially = src.initially}
end

-- Foreign keys, matched by their columns and referred table: the models'
-- the database lacks, then the database's the models lack (by key order).
local function compare_foreign_keys(cx, t)
  local name, F = t.name, cx.F
  local dbfk = {}
  for _, fk in ipairs(cx.insp:get_foreign_keys(name)) do
    if not fk.name or not cx.opts.include_name or F.name(fk.name, "foreign_key_constraint", parents_of(t)) then
      dbfk[fk_key(fk.constrained_columns, fk.referred_table)] = fk
    end
  end
  local myfk = {}
  for _, fk in ipairs(t.foreign_keys) do
    local ref = fk:get_column()
    if ref then
      local cols = fk.constraint and fk.constraint.columns or {fk.parent.name}
      local key = fk_key(cols, ref.table.name)
      if not myfk[key] then
        myfk[key] = true
        local fkname = fk.name or (fk.constraint and fk.constraint.name)
        if F.object(fk.constraint or fk, fkname, "foreign_key_constraint", false, dbfk[key]) and not dbfk[key] then
          cx.add(added_fk(name, fk, ref, cols, fkname))
        end
      end
    end
  end
  local fkeys = {}
  for key in pairs(dbfk) do fkeys[#fkeys + 1] = key end
  table.sort(fkeys)
  local parents = parents_of(t)
  for _, key in ipairs(fkeys) do
    local fk = dbfk[key]
    if not myfk[key] and F.reflected(fk, fk.name, "foreign_key_constraint", parents) then
      cx.add({kind = "remove_fk", table = name, name = fk.name, columns = fk.constrained_columns,
        referred = fk.referred_table, referred_columns = fk.referred_columns, ondelete = fk.options.ondelete,
        onupdate = fk.options.onupdate})
    end
  end
end

-- The sequences the models have (the metadata's and their columns' that
-- apply on this database) against the database's (get_sequence_names),
-- where the database has sequences: add_sequence / remove_sequence.
local function compare_sequences(cx, md, wanted)
  local dialect = cx.conn.dialect
  if not dialect.caps.sequences then return end
  local mine, order = {}, {}
  local function want(seq)
    if not mine[seq.name] and seq:applies(dialect.name) then mine[seq.name] = seq; order[#order + 1] = seq end
  end
  for _, seq in ipairs(rawget(md, "sequences") or {}) do want(seq) end
  for _, t in ipairs(md:sorted_tables()) do
    if wanted[t.name] then
      for _, c in ipairs(t.columns) do if c.sequence then want(c.sequence) end end
    end
  end
  local db = {}
  for _, n in ipairs(cx.insp:get_sequence_names()) do db[n] = true end
  for _, seq in ipairs(order) do
    if not db[seq.name] and cx.F.object(seq, seq.name, "sequence", false, nil) then
      cx.add({kind = "add_sequence", name = seq.name, sequence = seq})
    end
  end
  local gone = {}
  for n in pairs(db) do if not mine[n] then gone[#gone + 1] = n end end
  table.sort(gone)
  for _, n in ipairs(gone) do
    if cx.F.reflected({name = n}, n, "sequence", {}) then cx.add({kind = "remove_sequence", name = n}) end
  end
end

-- The named enum types a new table brings that the database lacks and no
-- other table of the models already in the database uses: the downgrade
-- drops them after the table (op.create_table makes them first).
local function new_enum_types(cx, md)
  local dialect = cx.conn.dialect
  if not (dialect.caps.enum_types and dialect.has_type) then return end
  local used = {}
  for _, t in ipairs(md:sorted_tables()) do
    if cx.db[t.name] then
      for _, ty in ipairs(sequence.enum_types(t)) do used[ty.enum_type.name] = true end
    end
  end
  for _, d in ipairs(cx.diffs) do
    if d.kind == "add_table" then
      for _, ty in ipairs(sequence.enum_types(d.t)) do
        local n = ty.enum_type.name
        if not used[n] and not dialect.has_type(cx.conn, n, ty.enum_type.schema) then
          used[n] = true
          d.new_enums = d.new_enums or {}
          d.new_enums[#d.new_enums + 1] = n
        end
      end
    end
  end
end

--- The differences, in the order a revision applies them:
--- {kind, table, ...} with kind add_table, remove_table, add_column,
--- remove_column, modify_nullable, modify_type, add_index, remove_index,
--- add_unique, remove_unique, add_fk, remove_fk, add_sequence,
--- remove_sequence, add_check, remove_check, modify_default, and the
--- registered operations' {kind, args}. opts: version_table, compare_type,
--- compare_server_default, include_object, include_name (see filters above).
---@param conn table a Connection
---@param md table the models' MetaData
---@param opts? table
---@return table[]
function M.compare(conn, md, opts)
  local cx = comparison(conn, opts or {})
  local wanted = compare_tables(cx, md)
  new_enum_types(cx, md)
  compare_sequences(cx, md, wanted)
  for _, t in ipairs(md:sorted_tables()) do
    if wanted[t.name] and cx.db[t.name] then
      compare_columns(cx, t)
      compare_uniques_and_indexes(cx, t)
      compare_foreign_keys(cx, t)
      compare_checks(cx, t)
    end
  end
  if #extensions.comparators > 0 then
    cx.ctx.metadata = md
    for _, d in ipairs(extensions.compare(cx.ctx)) do cx.add(d) end
  end
  return cx.diffs
end

--- A line per difference, for check and for people.
function M.describe(d)
  if extensions.is_operation(d.kind) then return d.kind end
  if d.kind == "add_table" or d.kind == "remove_table" then return format("%s %s", d.kind, d.table) end
  if d.kind == "add_sequence" or d.kind == "remove_sequence" then return format("%s %s", d.kind, d.name) end
  return format("%s %s.%s", d.kind, d.table, tostring(d.name or (d.column and d.column.name) or
    concat(d.columns or {}, ",")))
end

-- op.create_table(...) for a model table, then its indexes.
local function table_code(t)
  local lines = {format("    op.create_table(%q,", t.name)}
  local function item(code) lines[#lines + 1] = "      " .. code .. "," end
  for _, c in ipairs(t.columns) do item(emit.column(c)) end
  for _, con in ipairs(t.constraints) do
    if con.kind == "unique" then item(emit.unique_constraint(con)) end
  end
  for _, con in ipairs(emit.multi_column_foreign_keys(t)) do item(emit.foreign_key_constraint(con)) end
  for _, con in ipairs(t.constraints) do
    if con.kind == "check" then item(emit.check_constraint(con, t)) end
  end
  local topts = emit.table_options(t)
  if #topts > 0 then item("{" .. concat(topts, ", ") .. "}") end
  lines[#lines] = lines[#lines]:gsub(",$", "")
  lines[#lines + 1] = "    )"
  for _, ix in ipairs(t.indexes) do
    local cols = {}
    for i, e in ipairs(ix.expressions) do cols[i] = e.name end
    lines[#lines + 1] = format("    op.create_index(%q, %q, %s%s)", ix.name, t.name,
      emit.index_has_expressions(ix) and emit.index_keys(ix) or emit.list(cols),
      emit.options(emit.index_options(ix, ix.unique)))
  end
  return concat(lines, "\n")
end

-- The difference that undoes d, for the downgrade.
local INVERSE = {add_column = "remove_column", remove_column = "add_column", add_index = "remove_index",
  remove_index = "add_index", add_unique = "remove_unique", remove_unique = "add_unique", add_fk = "remove_fk",
  remove_fk = "add_fk", add_check = "remove_check", remove_check = "add_check"}

local function inverse(d)
  if INVERSE[d.kind] then
    local r = {}
    for key, v in pairs(d) do r[key] = v end
    r.kind = INVERSE[d.kind]
    return r
  end
  if d.kind == "modify_nullable" then
    return {kind = d.kind, table = d.table, name = d.name, nullable = d.was, type = d.type}
  end
  if d.kind == "modify_type" then
    return {kind = d.kind, table = d.table, name = d.name, type = d.was, nullable = d.nullable}
  end
  if d.kind == "modify_default" then
    local was = d.was
    if was ~= nil then was = qs.text(tostring(was)) end
    return {kind = d.kind, table = d.table, name = d.name, server_default = was, was = d.server_default,
      type = d.type, nullable = d.nullable}
  end
  return d
end

-- Each kind's operation call: (difference, the table argument: `"t", ` for
-- op, "" inside batch_alter_table) -> the call, after "op." or "batch.".
local CALLS = {
  add_column = function(d, t) return format("add_column(%s%s)", t, emit.column(d.column)) end,
  remove_column = function(d, t) return format("drop_column(%s%q)", t, d.name or d.column.name) end,
  modify_nullable = function(d, t)
    return format("alter_column(%s%q, {nullable = %s, existing_type = %s})", t, d.name, tostring(d.nullable),
      emit.type(d.type))
  end,
  modify_type = function(d, t)
    return format("alter_column(%s%q, {type = %s, existing_nullable = %s})", t, d.name, emit.type(d.type),
      tostring(d.nullable))
  end,
  add_index = function(d, t)
    return format("create_index(%q, %s%s%s)", d.name, t,
      (d.index and emit.index_has_expressions(d.index)) and emit.index_keys(d.index) or d.keys_code or
        emit.list(d.columns),
      emit.options(emit.index_options(d.index, d.unique)))
  end,
  remove_index = function(d, t)
    return format("drop_index(%q%s)", d.name, t ~= "" and format(", %q", d.table) or "")
  end,
  add_unique = function(d, t)
    -- an unnamed constraint: the database names it
    local con = d.constraint or {}
    return format("create_unique_constraint(%s, %s%s%s)", emit.string(d.name), t, emit.list(d.columns),
      emit.options(emit.constraint_options({deferrable = con.deferrable, initially = con.initially})))
  end,
  remove_unique = function(d, t)
    return format("drop_constraint(%s, %s{type_ = \"unique\"})", emit.string(d.name), t)
  end,
  add_fk = function(d, t)
    return format("create_foreign_key(%q, %s%q, %s, %s%s)", tostring(d.name), t, d.referred, emit.list(d.columns),
      emit.list(d.referred_columns), emit.options(emit.constraint_options({ondelete = d.ondelete,
        onupdate = d.onupdate, deferrable = d.deferrable, initially = d.initially})))
  end,
  remove_fk = function(d, t)
    return format("drop_constraint(%q, %s{type_ = \"foreignkey\"})", tostring(d.name), t)
  end,
  add_check = function(d, t)
    local cond = d.constraint and emit.check_condition(d.constraint, d.t)
    return format("create_check_constraint(%q, %s%s)", d.name, t, cond or format("qs.text(%q)", tostring(d.sqltext)))
  end,
  remove_check = function(d, t)
    return format("drop_constraint(%q, %s{type_ = \"check\"})", d.name, t)
  end,
  modify_default = function(d, t)
    -- false drops the default
    local sd = d.server_default == nil and "false" or emit.server_default(d.server_default)
    return format("alter_column(%s%q, {server_default = %s, existing_type = %s, existing_nullable = %s})", t,
      d.name, sd, emit.type(d.type), tostring(d.nullable))
  end,
}

-- One operation's line; batch: inside batch_alter_table.
local function op_code(d, batch)
  local call = CALLS[d.kind]
  if not call then exc.raise(exc.InternalError, "autogenerate: no code for " .. tostring(d.kind), nil, 2) end
  if batch then return "      batch." .. call(d, "") end
  return "    op." .. call(d, format("%q, ", d.table))
end

local SEQUENCE_KINDS = {add_sequence = true, remove_sequence = true}

-- op.create_sequence / op.drop_sequence for a sequence difference (make:
-- create it).
local function sequence_code(d, make)
  if not make then return format("    op.drop_sequence(%q)", d.name) end
  local seq = d.sequence or {}
  local o = {}
  for _, k in ipairs({"start", "increment", "minvalue", "maxvalue"}) do
    if seq[k] ~= nil then o[#o + 1] = format("%s = %d", k, seq[k]) end
  end
  if seq.cycle then o[#o + 1] = "cycle = true" end
  return format("    op.create_sequence(%q%s)", d.name, emit.options(o))
end

local TABLE_KINDS = {add_table = true, remove_table = true}

-- The differences that are not whole tables (nor sequences, nor registered
-- operations), grouped by table in the order their tables first appear.
local function by_table(diffs)
  local per_table, order = {}, {}
  for _, d in ipairs(diffs) do
    if not TABLE_KINDS[d.kind] and not SEQUENCE_KINDS[d.kind] and not extensions.is_operation(d.kind) then
      if not per_table[d.table] then per_table[d.table] = {}; order[#order + 1] = d.table end
      local l = per_table[d.table]
      l[#l + 1] = d
    end
  end
  return per_table, order
end

-- One table's operations into lines, inside batch_alter_table when batch.
local function table_changes(lines, tname, ds, batch)
  if batch then lines[#lines + 1] = format("    op.batch_alter_table(%q, function(batch)", tname) end
  for _, d in ipairs(ds) do lines[#lines + 1] = op_code(d, batch) end
  if batch then lines[#lines + 1] = "    end)" end
end

-- A whole table made or dropped.
local function whole_table(d, make)
  if make then return table_code(d.t) end
  local out = format("    op.drop_table(%q)", d.table)
  for _, n in ipairs(d.new_enums or {}) do out = out .. format("\n    op.drop_enum(%q)", n) end
  return out
end

local function body(lines) return (#lines > 0 and concat(lines, "\n") or "    -- no changes") .. "\n" end

-- The whole-table or sequence difference undoing d.
local function inverse_whole(d)
  local r = {}
  for k, v in pairs(d) do r[k] = v end
  r.kind = ({add_table = "remove_table", remove_table = "add_table", add_sequence = "remove_sequence",
    remove_sequence = "add_sequence"})[d.kind]
  return r
end

--- The operations a revision applies, in order (Alembic's upgrade_ops and
--- downgrade_ops): new sequences, tables made and dropped, each table's
--- changes, old sequences dropped, then the registered operations
--- comparators added; the downgrade undoes them in reverse order (a
--- registered operation without reverse is left out of it).
---@param diffs table[] from compare
---@return table[] upgrade_ops, table[] downgrade_ops
function M.operations(diffs)
  local per_table, order = by_table(diffs)
  local up, down = {}, {}
  for _, d in ipairs(diffs) do if d.kind == "add_sequence" then up[#up + 1] = d end end
  for _, d in ipairs(diffs) do if TABLE_KINDS[d.kind] then up[#up + 1] = d end end
  for _, tname in ipairs(order) do
    for _, d in ipairs(per_table[tname]) do up[#up + 1] = d end
  end
  for _, d in ipairs(diffs) do if d.kind == "remove_sequence" then up[#up + 1] = d end end
  for _, d in ipairs(diffs) do if extensions.is_operation(d.kind) then up[#up + 1] = d end end
  for i = #diffs, 1, -1 do
    local d = diffs[i]
    if extensions.is_operation(d.kind) then down[#down + 1] = extensions.reverse(d) end
  end
  for i = #diffs, 1, -1 do
    if diffs[i].kind == "remove_sequence" then down[#down + 1] = inverse_whole(diffs[i]) end
  end
  for i = #order, 1, -1 do
    local ds = per_table[order[i]]
    for j = #ds, 1, -1 do down[#down + 1] = inverse(ds[j]) end
  end
  for i = #diffs, 1, -1 do
    if TABLE_KINDS[diffs[i].kind] then down[#down + 1] = inverse_whole(diffs[i]) end
  end
  for i = #diffs, 1, -1 do
    if diffs[i].kind == "add_sequence" then down[#down + 1] = inverse_whole(diffs[i]) end
  end
  return up, down
end

--- The Lua source of a list of operations (M.operations' lists, as
--- process_revision_directives left them): consecutive changes of one
--- table together, inside batch_alter_table with opts.render_as_batch.
---@param ops table[]
---@param opts? {render_as_batch?: boolean}
---@return string
function M.render_operations(ops, opts)
  local batch = (opts or {}).render_as_batch
  local lines = {}
  local i = 1
  while i <= #ops do
    local d = ops[i]
    if SEQUENCE_KINDS[d.kind] then
      lines[#lines + 1] = sequence_code(d, d.kind == "add_sequence")
      i = i + 1
    elseif TABLE_KINDS[d.kind] then
      lines[#lines + 1] = whole_table(d, d.kind == "add_table")
      i = i + 1
    elseif extensions.is_operation(d.kind) then
      lines[#lines + 1] = extensions.render(d)
      i = i + 1
    else
      local group = {d}
      i = i + 1
      while ops[i] and ops[i].table == d.table and not TABLE_KINDS[ops[i].kind] and
          not SEQUENCE_KINDS[ops[i].kind] and not extensions.is_operation(ops[i].kind) do
        group[#group + 1] = ops[i]
        i = i + 1
      end
      table_changes(lines, d.table, group, batch)
    end
  end
  return body(lines)
end

--- The upgrade and downgrade bodies (Lua source) for the differences:
--- tables made and dropped first, then each table's changes (in
--- batch_alter_table with opts.render_as_batch); the downgrade undoes them
--- in reverse order.
---@param diffs table[] from compare
---@param opts? {render_as_batch?: boolean}
---@return string upgrade, string downgrade
function M.render(diffs, opts)
  local up, down = M.operations(diffs)
  return M.render_operations(up, opts), M.render_operations(down, opts)
end

return M
