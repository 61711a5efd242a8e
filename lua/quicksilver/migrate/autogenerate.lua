--- migrate/autogenerate.lua: the differences between the database (read
--- by reflection) and the models' metadata (env.lua target_metadata), and
--- the revision code that applies them. Found: tables, columns, indexes,
--- named unique constraints and foreign keys added or removed; nullability
--- and type changes (compare_type, on by default). Not guessed: renames (a
--- renamed column shows as one removed and one added; edit the revision) and
--- server defaults (databases rewrite them too freely to compare reliably).
local ddl = require("quicksilver.sql.ddl")
local exc = require("quicksilver.exc")
local qs = require("quicksilver")
local type_expr = require("quicksilver.cli.schema").type_expr

local M = {}

local format, concat = string.format, table.concat

local function same_type(a, b)
  if a.name ~= b.name then
    -- spellings that store the same (Unicode/String, UnicodeText/Text)
    local alias = {Unicode = "String", UnicodeText = "Text"}
    if (alias[a.name] or a.name) ~= (alias[b.name] or b.name) then return false end
  end
  if a.length and b.length and a.length ~= b.length then return false end
  if a.precision and b.precision and (a.precision ~= b.precision or (a.scale or 0) ~= (b.scale or 0)) then
    return false
  end
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

-- The indexes and unique constraints of a model table and of the database,
-- matched: by name; an unnamed unique constraint by its columns (the server
-- names it: users_email_key on PostgreSQL, email on MariaDB); a unique index
-- also as the unique constraint a database reports it as (MariaDB), and the
-- other way round. Returns the differences through add().
local function compare_uniques_and_indexes(conn, insp, t, F, add)
  local name = t.name
  local parents = {table_name = name, schema_name = t.schema, schema_qualified_table_name = t.fullname}
  -- the database's, one entry per name (a unique index reported twice is one)
  local db, by_name = {}, {}
  local function db_entry(d, sort, unique)
    local e = d.name and by_name[d.name]
    if e then
      e.unique = e.unique or unique
      return
    end
    e = {name = d.name, columns = d.column_names or {}, unique = unique, sort = sort, d = d}
    db[#db + 1] = e
    if d.name then by_name[d.name] = e end
  end
  for _, i in ipairs(insp:get_indexes(name)) do db_entry(i, "index", i.unique and true or false) end
  for _, u in ipairs(insp:get_unique_constraints(name)) do db_entry(u, "unique", true) end
  local function take(e) e.matched = true; return e end
  local function find_by_columns(cols)
    local k = columns_key(cols)
    for _, want in ipairs({"unique", "index"}) do
      for _, e in ipairs(db) do
        if not e.matched and e.unique and e.sort == want and columns_key(e.columns) == k then return take(e) end
      end
    end
  end
  -- the model's
  for _, ix in ipairs(t.indexes) do
    local cols = {}
    for i, e in ipairs(ix.expressions) do cols[i] = e.name end
    local e = by_name[ix.name]
    if e and not e.matched and (e.sort == "index" or ix.unique) then
      take(e)
      if F.object(ix, ix.name, "index", false, e.d) then
        if columns_key(e.columns) ~= columns_key(cols) or e.unique ~= (ix.unique and true or false) then
          -- changed in place: dropped and made again
          add({kind = "remove_index", table = name, name = e.name, columns = e.columns, unique = e.unique})
          add({kind = "add_index", table = name, name = ix.name, columns = cols, unique = ix.unique, index = ix})
        end
      end
    elseif F.object(ix, ix.name, "index", false, nil) then
      add({kind = "add_index", table = name, name = ix.name, columns = cols, unique = ix.unique, index = ix})
    end
  end
  for _, con in ipairs(t.constraints) do
    if con.kind == "unique" then
      local e = con.name and by_name[con.name]
      if e and (e.matched or not e.unique) then e = nil end
      if e then take(e) else e = find_by_columns(con.columns) end
      if e and con.name and e.name and e.name ~= con.name then
        -- the same columns under another name: a rename, not this constraint
        e.matched = nil
        e = nil
      end
      if F.object(con, con.name, "unique_constraint", false, e and e.d) and not e then
        add({kind = "add_unique", table = name, name = con.name, columns = con.columns, constraint = con})
      end
    end
  end
  -- MySQL makes an index for each foreign key without one: not the models'
  local fk_cols = {}
  local implicit = conn.dialect.name == "mysql" or conn.dialect.name == "mariadb"
  if implicit then
    for _, fk in ipairs(insp:get_foreign_keys(name)) do fk_cols[columns_key(fk.constrained_columns)] = true end
  end
  for _, e in ipairs(db) do
    -- an unnamed database constraint (SQLite's) cannot be dropped by name
    if not e.matched and e.name and not (implicit and not e.unique and fk_cols[columns_key(e.columns)]) then
      local kind = e.sort == "index" and "index" or "unique_constraint"
      if F.reflected(e.d, e.name, kind, parents) then
        add({kind = e.sort == "index" and "remove_index" or "remove_unique", table = name, name = e.name,
          columns = e.columns, unique = e.unique})
      end
    end
  end
end

--- The differences, in the order a revision applies them:
--- {kind, table, ...} with kind add_table, remove_table, add_column,
--- remove_column, modify_nullable, modify_type, add_index, remove_index,
--- add_unique, remove_unique, add_fk, remove_fk. opts: version_table,
--- compare_type, include_object, include_name (see filters above).
function M.compare(conn, md, opts)
  opts = opts or {}
  local insp = qs.inspect(conn)
  local F = filters(opts)
  local skip = {[opts.version_table or "alembic_version"] = true}
  local db = {}
  for _, n in ipairs(insp:get_table_names()) do
    if not skip[n] and F.name(n, "table", {schema_name = nil}) then db[n] = true end
  end
  local reflected = {}
  local function reflect(n)
    if not reflected[n] then reflected[n] = conn:_reflect_table(qs.MetaData(), n, {resolve_fks = false}) end
    return reflected[n]
  end
  local diffs = {}
  local function add(d) diffs[#diffs + 1] = d end
  local modeled, wanted = {}, {}
  for _, t in ipairs(md:sorted_tables()) do
    modeled[t.name] = true
    local compare_to = (db[t.name] and F.has_object) and reflect(t.name) or nil
    if F.object(t, t.name, "table", false, compare_to) then wanted[t.name] = t end
  end
  for _, t in ipairs(md:sorted_tables()) do
    if wanted[t.name] and not db[t.name] then add({kind = "add_table", table = t.name, t = t}) end
  end
  -- tables only the database has (a table the models have but the filter
  -- left out is left alone)
  local gone = {}
  for n in pairs(db) do if not modeled[n] then gone[#gone + 1] = n end end
  table.sort(gone)
  for _, n in ipairs(gone) do
    local rt = reflect(n)
    if F.object(rt, n, "table", true, nil) then add({kind = "remove_table", table = n, t = rt}) end
  end
  for _, t in ipairs(md:sorted_tables()) do
    if wanted[t.name] and db[t.name] then
      local name = t.name
      local parents = {table_name = name, schema_name = t.schema, schema_qualified_table_name = t.fullname}
      local dbcols, order = {}, {}
      for _, c in ipairs(insp:get_columns(name)) do dbcols[c.name] = c; order[#order + 1] = c.name end
      local mine = {}
      for _, c in ipairs(t.columns) do
        mine[c.name] = true
        local d = dbcols[c.name]
        if not F.object(c, c.name, "column", false, d) then
          -- left out: neither added nor compared
        elseif not d then
          add({kind = "add_column", table = name, column = c})
        else
          if not c.primary_key and (c.nullable and true or false) ~= (d.nullable and true or false) then
            add({kind = "modify_nullable", table = name, name = c.name, nullable = c.nullable, was = d.nullable,
              type = c.type})
          end
          if opts.compare_type ~= false and c.type and d.type and not same_type(c.type, d.type) and
              d.type.name ~= "NullType" then
            add({kind = "modify_type", table = name, name = c.name, type = c.type, was = d.type,
              nullable = c.nullable})
          end
        end
      end
      for _, n in ipairs(order) do
        if not mine[n] and F.reflected(dbcols[n], n, "column", parents) then
          add({kind = "remove_column", table = name, name = n, column = dbcols[n]})
        end
      end
      compare_uniques_and_indexes(conn, insp, t, F, add)
      local dbfk = {}
      for _, fk in ipairs(insp:get_foreign_keys(name)) do
        dbfk[concat(fk.constrained_columns, ",") .. ">" .. fk.referred_table] = fk
      end
      local myfk = {}
      for _, fk in ipairs(t.foreign_keys) do
        local ref = fk:get_column()
        if ref then
          local cols = fk.constraint and fk.constraint.columns or {fk.parent.name}
          local key = concat(cols, ",") .. ">" .. ref.table.name
          if not myfk[key] then
            myfk[key] = true
            local fkname = fk.name or (fk.constraint and fk.constraint.name)
            if F.object(fk.constraint or fk, fkname, "foreign_key_constraint", false, dbfk[key]) and
                not dbfk[key] then
              local rcols = {}
              if fk.constraint then
                for i, r in ipairs(fk.constraint.refs) do rcols[i] = r:match("([^.]+)$") end
              else
                rcols[1] = ref.name
              end
              local src = fk.constraint or fk
              add({kind = "add_fk", table = name, name = fkname,
                columns = cols, referred = ref.table.name, referred_columns = rcols,
                ondelete = src.ondelete, onupdate = src.onupdate, deferrable = src.deferrable,
                initially = src.initially})
            end
          end
        end
      end
      local fkeys = {}
      for key in pairs(dbfk) do fkeys[#fkeys + 1] = key end
      table.sort(fkeys)
      for _, key in ipairs(fkeys) do
        local fk = dbfk[key]
        if not myfk[key] and F.reflected(fk, fk.name, "foreign_key_constraint", parents) then
          add({kind = "remove_fk", table = name, name = fk.name, columns = fk.constrained_columns,
            referred = fk.referred_table, referred_columns = fk.referred_columns, ondelete = fk.options.ondelete,
            onupdate = fk.options.onupdate})
        end
      end
    end
  end
  return diffs
end

--- A line per difference, for check and for people.
function M.describe(d)
  if d.kind == "add_table" or d.kind == "remove_table" then return format("%s %s", d.kind, d.table) end
  return format("%s %s.%s", d.kind, d.table, tostring(d.name or (d.column and d.column.name) or
    concat(d.columns or {}, ",")))
end

-- The options of a constraint as Lua source entries (none dropped).
local function constraint_options(o, con)
  if con.name then o[#o + 1] = format("name = %q", con.name) end
  if con.ondelete then o[#o + 1] = format("ondelete = %q", con.ondelete) end
  if con.onupdate then o[#o + 1] = format("onupdate = %q", con.onupdate) end
  if con.use_alter then o[#o + 1] = "use_alter = true" end
  if con.deferrable ~= nil then o[#o + 1] = "deferrable = " .. tostring(con.deferrable) end
  if con.initially then o[#o + 1] = format("initially = %q", con.initially) end
  return o
end

local function options_code(o) return #o > 0 and (", {" .. concat(o, ", ") .. "}") or "" end

-- A server default as Lua source: text, a literal, a function without
-- arguments; any other expression as its SQL text (SQLite's rendering)
-- rather than left out.
local function default_code(sd)
  if type(sd) == "table" and sd.text then return format("qs.text(%q)", sd.text) end
  if type(sd) == "string" then return format("%q", sd) end
  if type(sd) == "number" or type(sd) == "boolean" then return tostring(sd) end
  if type(sd) == "table" and sd._is_clause and type(sd.name) == "string" and type(sd.args) == "table" and
      #sd.args == 0 then
    return format("qs.func.%s()", sd.name)
  end
  if type(sd) == "table" and sd._is_clause then
    return format("qs.text(%q)", sd:compile({literal_binds = true}).sql)
  end
  exc.raise(exc.ArgumentError, "autogenerate: cannot write the server_default " .. tostring(sd), nil, 4)
end

-- An index's own options (partial WHERE and method) as Lua source: the WHERE
-- as the SQL text each database's CREATE INDEX renders for it.
local function index_options(o, ix)
  if not ix then return o end
  for _, w in ipairs({{"postgresql_where", "postgresql"}, {"sqlite_where", "sqlite"}}) do
    if ix[w[1]] then
      local sql = ddl.CreateIndex(ix):compile({dialect = w[2]}).sql
      o[#o + 1] = format("%s = qs.text(%q)", w[1], sql:match("%) WHERE (.*)$"))
    end
  end
  if ix.postgresql_using then o[#o + 1] = format("postgresql_using = %q", ix.postgresql_using) end
  local ml = ix.mysql_length
  if type(ml) == "number" then
    o[#o + 1] = "mysql_length = " .. tostring(ml)
  elseif type(ml) == "table" then
    local ks, parts = {}, {}
    for k in pairs(ml) do ks[#ks + 1] = k end
    table.sort(ks)
    for i, k in ipairs(ks) do parts[i] = format("[%q] = %d", k, ml[k]) end
    o[#o + 1] = "mysql_length = {" .. concat(parts, ", ") .. "}"
  end
  return o
end

-- Lua source for a column.
local function column_code(c)
  local parts = {format("%q", c.name), type_expr(c.type)}
  for _, fk in ipairs(c.foreign_keys or {}) do
    if not fk.constraint or #fk.constraint.columns == 1 then
      local ref = fk:get_column()
      if ref then
        parts[#parts + 1] = format("qs.ForeignKey(%q%s)", ref.table.name .. "." .. ref.name,
          options_code(constraint_options({}, fk.constraint or fk)))
      end
    end
  end
  local o = {}
  if c.primary_key then o[#o + 1] = "primary_key = true" end
  if not c.nullable and not c.primary_key then o[#o + 1] = "nullable = false" end
  if c.server_default ~= nil then o[#o + 1] = "server_default = " .. default_code(c.server_default) end
  if c.autoincrement == false then o[#o + 1] = "autoincrement = false" end
  if c.comment ~= nil then o[#o + 1] = format("comment = %q", c.comment) end
  if #o > 0 then parts[#parts + 1] = "{" .. concat(o, ", ") .. "}" end
  return "qs.Column(" .. concat(parts, ", ") .. ")"
end

local function table_code(t)
  local lines = {format("    op.create_table(%q,", t.name)}
  for _, c in ipairs(t.columns) do lines[#lines + 1] = "      " .. column_code(c) .. "," end
  for _, con in ipairs(t.constraints) do
    if con.kind == "unique" then
      local cs = {}
      for i, cn in ipairs(con.columns) do cs[i] = format("%q", cn) end
      lines[#lines + 1] = format("      qs.UniqueConstraint(%s%s),", concat(cs, ", "),
        options_code(constraint_options({}, con)))
    end
  end
  local seen = {}
  for _, fk in ipairs(t.foreign_keys) do
    local con = fk.constraint
    if con and #con.columns > 1 and not seen[con] then
      seen[con] = true
      local cs, rs = {}, {}
      for i, cn in ipairs(con.columns) do cs[i] = format("%q", cn); rs[i] = format("%q", con.refs[i]) end
      lines[#lines + 1] = format("      qs.ForeignKeyConstraint({%s}, {%s}%s),", concat(cs, ", "), concat(rs, ", "),
        options_code(constraint_options({}, con)))
    end
  end
  for _, con in ipairs(t.constraints) do
    if con.kind == "check" then
      -- its SQL as CHECK renders it (columns unqualified, values inline)
      local sql = ddl.AddConstraint(t, {kind = "check", sqltext = con.sqltext}):compile({dialect = "sqlite"}).sql
      lines[#lines + 1] = format("      qs.CheckConstraint(qs.text(%q)%s),", sql:match("CHECK %((.*)%)$"),
        options_code(constraint_options({}, con)))
    end
  end
  local topts = {}
  if t.comment ~= nil then topts[#topts + 1] = format("comment = %q", t.comment) end
  for _, k in ipairs({"mysql_engine", "mysql_charset", "mysql_collate"}) do
    if t[k] then topts[#topts + 1] = format("%s = %q", k, t[k]) end
  end
  if #topts > 0 then lines[#lines + 1] = "      {" .. concat(topts, ", ") .. "}," end
  lines[#lines] = lines[#lines]:gsub(",$", "")
  lines[#lines + 1] = "    )"
  for _, ix in ipairs(t.indexes) do
    local cols = {}
    for i, e in ipairs(ix.expressions) do cols[i] = format("%q", e.name) end
    local o = ix.unique and {"unique = true"} or {}
    lines[#lines + 1] = format("    op.create_index(%q, %q, {%s}%s)", ix.name, t.name, concat(cols, ", "),
      options_code(index_options(o, ix)))
  end
  return concat(lines, "\n")
end

local function quoted_list(list)
  local out = {}
  for i, v in ipairs(list) do out[i] = format("%q", v) end
  return "{" .. concat(out, ", ") .. "}"
end

-- One operation's code; batch: inside batch_alter_table (SQLite).
local function op_code(d, up, batch)
  local p = batch and "      batch." or "    op."
  local t = batch and "" or format("%q, ", d.table)
  local k = d.kind
  if not up then
    local inverse = {add_column = "remove_column", remove_column = "add_column", add_index = "remove_index",
      remove_index = "add_index", add_unique = "remove_unique", remove_unique = "add_unique", add_fk = "remove_fk",
      remove_fk = "add_fk"}
    if inverse[k] then
      local r = {}
      for key, v in pairs(d) do r[key] = v end
      r.kind = inverse[k]
      return op_code(r, true, batch)
    end
    if k == "modify_nullable" then
      return op_code({kind = k, table = d.table, name = d.name, nullable = d.was, type = d.type}, true, batch)
    end
    if k == "modify_type" then
      return op_code({kind = k, table = d.table, name = d.name, type = d.was, nullable = d.nullable}, true, batch)
    end
  end
  if k == "add_column" then return format("%sadd_column(%s%s)", p, t, column_code(d.column)) end
  if k == "remove_column" then return format("%sdrop_column(%s%q)", p, t, d.name or d.column.name) end
  if k == "modify_nullable" then
    return format("%salter_column(%s%q, {nullable = %s, existing_type = %s})", p, t, d.name, tostring(d.nullable),
      type_expr(d.type))
  end
  if k == "modify_type" then
    return format("%salter_column(%s%q, {type = %s, existing_nullable = %s})", p, t, d.name, type_expr(d.type),
      tostring(d.nullable))
  end
  if k == "add_index" then
    local o = d.unique and {"unique = true"} or {}
    return format("%screate_index(%q, %s%s%s)", p, d.name, batch and "" or format("%q, ", d.table),
      quoted_list(d.columns), options_code(index_options(o, d.index)))
  end
  if k == "remove_index" then
    return format("%sdrop_index(%q%s)", p, d.name, batch and "" or format(", %q", d.table))
  end
  if k == "add_unique" then
    -- an unnamed constraint: the database names it
    local o = {}
    if d.constraint then
      if d.constraint.deferrable ~= nil then o[#o + 1] = "deferrable = " .. tostring(d.constraint.deferrable) end
      if d.constraint.initially then o[#o + 1] = format("initially = %q", d.constraint.initially) end
    end
    return format("%screate_unique_constraint(%s, %s%s%s)", p, d.name and format("%q", d.name) or "nil",
      batch and "" or format("%q, ", d.table), quoted_list(d.columns), options_code(o))
  end
  if k == "remove_unique" then
    return format("%sdrop_constraint(%q, %s{type_ = \"unique\"})", p, d.name, batch and "" or format("%q, ", d.table))
  end
  if k == "add_fk" then
    return format("%screate_foreign_key(%q, %s%q, %s, %s%s)", p, tostring(d.name), batch and "" or format("%q, ", d.table),
      d.referred, quoted_list(d.columns), quoted_list(d.referred_columns),
      options_code(constraint_options({}, {ondelete = d.ondelete, onupdate = d.onupdate,
        deferrable = d.deferrable, initially = d.initially})))
  end
  if k == "remove_fk" then
    return format("%sdrop_constraint(%q, %s{type_ = \"foreignkey\"})", p, tostring(d.name),
      batch and "" or format("%q, ", d.table))
  end
  exc.raise(exc.InternalError, "autogenerate: no code for " .. tostring(k), nil, 2)
end

--- The upgrade and downgrade bodies (Lua source) for the differences.
function M.render(diffs, opts)
  opts = opts or {}
  local batch = opts.render_as_batch
  local up, down = {}, {}
  -- table-level operations, then the rest grouped by table
  local per_table, order = {}, {}
  for _, d in ipairs(diffs) do
    if d.kind == "add_table" then
      up[#up + 1] = table_code(d.t)
    elseif d.kind == "remove_table" then
      up[#up + 1] = format("    op.drop_table(%q)", d.table)
    else
      if not per_table[d.table] then per_table[d.table] = {}; order[#order + 1] = d.table end
      local l = per_table[d.table]
      l[#l + 1] = d
    end
  end
  for _, tname in ipairs(order) do
    local ds = per_table[tname]
    if batch then up[#up + 1] = format("    op.batch_alter_table(%q, function(batch)", tname) end
    for _, d in ipairs(ds) do up[#up + 1] = (batch and "  " or "") .. op_code(d, true, batch):gsub("^%s+", "    ") end
    if batch then up[#up + 1] = "    end)" end
  end
  -- downgrade: the reverse, in reverse order
  for i = #order, 1, -1 do
    local tname = order[i]
    local ds = per_table[tname]
    if batch then down[#down + 1] = format("    op.batch_alter_table(%q, function(batch)", tname) end
    for j = #ds, 1, -1 do down[#down + 1] = (batch and "  " or "") .. op_code(ds[j], false, batch):gsub("^%s+", "    ") end
    if batch then down[#down + 1] = "    end)" end
  end
  for i = #diffs, 1, -1 do
    local d = diffs[i]
    if d.kind == "add_table" then down[#down + 1] = format("    op.drop_table(%q)", d.table)
    elseif d.kind == "remove_table" then down[#down + 1] = table_code(d.t) end
  end
  if batch then
    for i, l in ipairs(up) do up[i] = l:gsub("^      batch", "      batch") end
  end
  return (#up > 0 and concat(up, "\n") or "    -- no changes") .. "\n",
    (#down > 0 and concat(down, "\n") or "    -- no changes") .. "\n"
end

return M
