--- migrate/autogenerate.lua: the differences between the database (read
--- by reflection) and the models' metadata (env.lua target_metadata), and
--- the revision code that applies them. Found: tables, columns, indexes,
--- named unique constraints and foreign keys added or removed; nullability
--- and type changes (compare_type, on by default). Not guessed: renames (a
--- renamed column shows as one removed and one added; edit the revision) and
--- server defaults (databases rewrite them too freely to compare reliably).
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

--- The differences, in the order a revision applies them:
--- {kind, table, ...} with kind add_table, remove_table, add_column,
--- remove_column, modify_nullable, modify_type, add_index, remove_index,
--- add_unique, remove_unique, add_fk, remove_fk.
function M.compare(conn, md, opts)
  opts = opts or {}
  local insp = qs.inspect(conn)
  local skip = {[opts.version_table or "alembic_version"] = true}
  local db = {}
  for _, n in ipairs(insp:get_table_names()) do if not skip[n] then db[n] = true end end
  local diffs = {}
  local function add(d) diffs[#diffs + 1] = d end
  local include = opts.include_object
  local wanted = {}
  for _, t in ipairs(md:sorted_tables()) do
    if not include or include(t, t.name, "table") then wanted[t.name] = t end
  end
  for _, t in ipairs(md:sorted_tables()) do
    if wanted[t.name] and not db[t.name] then add({kind = "add_table", table = t.name, t = t}) end
  end
  local gone = {}
  for n in pairs(db) do if not wanted[n] then gone[#gone + 1] = n end end
  table.sort(gone)
  for _, n in ipairs(gone) do
    local rmd = qs.MetaData()
    add({kind = "remove_table", table = n, t = conn:_reflect_table(rmd, n, {resolve_fks = false})})
  end
  for _, t in ipairs(md:sorted_tables()) do
    if wanted[t.name] and db[t.name] then
      local name = t.name
      local dbcols, order = {}, {}
      for _, c in ipairs(insp:get_columns(name)) do dbcols[c.name] = c; order[#order + 1] = c.name end
      local mine = {}
      for _, c in ipairs(t.columns) do
        mine[c.name] = true
        local d = dbcols[c.name]
        if not d then
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
        if not mine[n] then add({kind = "remove_column", table = name, name = n, column = dbcols[n]}) end
      end
      local dbix = {}
      for _, i in ipairs(insp:get_indexes(name)) do dbix[i.name] = i end
      local myix = {}
      for _, ix in ipairs(t.indexes) do
        myix[ix.name] = true
        if not dbix[ix.name] then
          local cols = {}
          for i, e in ipairs(ix.expressions) do cols[i] = e.name end
          add({kind = "add_index", table = name, name = ix.name, columns = cols, unique = ix.unique})
        end
      end
      -- MySQL makes an index for each foreign key without one: not the models'
      local fk_cols = {}
      for _, fk in ipairs(insp:get_foreign_keys(name)) do fk_cols[concat(fk.constrained_columns, ",")] = true end
      local implicit = conn.dialect.name == "mysql" or conn.dialect.name == "mariadb"
      for n, i in pairs(dbix) do
        if not myix[n] and not (implicit and fk_cols[concat(i.column_names, ",")] and not i.unique) then
          add({kind = "remove_index", table = name, name = n, columns = i.column_names, unique = i.unique})
        end
      end
      local dbuq = {}
      for _, u in ipairs(insp:get_unique_constraints(name)) do if u.name then dbuq[u.name] = u end end
      local myuq = {}
      for _, con in ipairs(t.constraints) do
        if con.kind == "unique" and con.name then
          myuq[con.name] = true
          if not dbuq[con.name] then add({kind = "add_unique", table = name, name = con.name, columns = con.columns}) end
        end
      end
      for n, u in pairs(dbuq) do
        if not myuq[n] then add({kind = "remove_unique", table = name, name = n, columns = u.column_names}) end
      end
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
            if not dbfk[key] then
              local rcols = {}
              if fk.constraint then
                for i, r in ipairs(fk.constraint.refs) do rcols[i] = r:match("([^.]+)$") end
              else
                rcols[1] = ref.name
              end
              add({kind = "add_fk", table = name, name = fk.name or (fk.constraint and fk.constraint.name),
                columns = cols, referred = ref.table.name, referred_columns = rcols,
                ondelete = fk.ondelete or (fk.constraint and fk.constraint.ondelete)})
            end
          end
        end
      end
      for key, fk in pairs(dbfk) do
        if not myfk[key] then
          add({kind = "remove_fk", table = name, name = fk.name, columns = fk.constrained_columns,
            referred = fk.referred_table, referred_columns = fk.referred_columns, ondelete = fk.options.ondelete})
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

-- Lua source for a column.
local function column_code(c)
  local parts = {format("%q", c.name), type_expr(c.type)}
  for _, fk in ipairs(c.foreign_keys or {}) do
    if not fk.constraint or #fk.constraint.columns == 1 then
      local ref = fk:get_column()
      if ref then
        local fo = {}
        if fk.name then fo[#fo + 1] = format("name = %q", fk.name) end
        if fk.ondelete then fo[#fo + 1] = format("ondelete = %q", fk.ondelete) end
        if fk.onupdate then fo[#fo + 1] = format("onupdate = %q", fk.onupdate) end
        if fk.use_alter then fo[#fo + 1] = "use_alter = true" end
        parts[#parts + 1] = format("qs.ForeignKey(%q%s)", ref.table.name .. "." .. ref.name,
          #fo > 0 and (", {" .. concat(fo, ", ") .. "}") or "")
      end
    end
  end
  local o = {}
  if c.primary_key then o[#o + 1] = "primary_key = true" end
  if not c.nullable and not c.primary_key then o[#o + 1] = "nullable = false" end
  if c.server_default ~= nil then
    local sd = c.server_default
    if type(sd) == "table" and sd.text then o[#o + 1] = format("server_default = qs.text(%q)", sd.text)
    elseif type(sd) == "string" then o[#o + 1] = format("server_default = %q", sd)
    elseif type(sd) == "number" or type(sd) == "boolean" then o[#o + 1] = "server_default = " .. tostring(sd) end
  end
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
        con.name and format(", {name = %q}", con.name) or "")
    end
  end
  local seen = {}
  for _, fk in ipairs(t.foreign_keys) do
    local con = fk.constraint
    if con and #con.columns > 1 and not seen[con] then
      seen[con] = true
      local cs, rs = {}, {}
      for i, cn in ipairs(con.columns) do cs[i] = format("%q", cn); rs[i] = format("%q", con.refs[i]) end
      lines[#lines + 1] = format("      qs.ForeignKeyConstraint({%s}, {%s}),", concat(cs, ", "), concat(rs, ", "))
    end
  end
  lines[#lines] = lines[#lines]:gsub(",$", "")
  lines[#lines + 1] = "    )"
  for _, ix in ipairs(t.indexes) do
    local cols = {}
    for i, e in ipairs(ix.expressions) do cols[i] = format("%q", e.name) end
    lines[#lines + 1] = format("    op.create_index(%q, %q, {%s}%s)", ix.name, t.name, concat(cols, ", "),
      ix.unique and ", {unique = true}" or "")
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
    return format("%screate_index(%q, %s%s%s)", p, d.name, batch and "" or format("%q, ", d.table),
      quoted_list(d.columns), d.unique and ", {unique = true}" or "")
  end
  if k == "remove_index" then
    return format("%sdrop_index(%q%s)", p, d.name, batch and "" or format(", %q", d.table))
  end
  if k == "add_unique" then
    return format("%screate_unique_constraint(%q, %s%s)", p, d.name, batch and "" or format("%q, ", d.table),
      quoted_list(d.columns))
  end
  if k == "remove_unique" then
    return format("%sdrop_constraint(%q, %s{type_ = \"unique\"})", p, d.name, batch and "" or format("%q, ", d.table))
  end
  if k == "add_fk" then
    return format("%screate_foreign_key(%q, %s%q, %s, %s%s)", p, tostring(d.name), batch and "" or format("%q, ", d.table),
      d.referred, quoted_list(d.columns), quoted_list(d.referred_columns),
      d.ondelete and format(", {ondelete = %q}", d.ondelete) or "")
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
