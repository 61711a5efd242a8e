--- cli/schema.lua: `quicksilver inspect URL` (the schema, readable) and
--- `quicksilver models URL` (Lua model definitions for an existing
--- database, as sqlacodegen writes Python ones).
local qs = require("quicksilver")
local automap = require("quicksilver.ext.automap")
local emit = require("quicksilver.migrate.emit")
local now = require("quicksilver.core").now

local M = {}

local format, concat = string.format, table.concat

-- "users" / "order_items" -> "Users" / "OrderItems"
local function class_name(tname)
  local out = tname:gsub("[^%w]+", "_"):gsub("^%l", string.upper):gsub("_(%w)", function(c) return c:upper() end)
  if out:match("^%d") then out = "T" .. out end
  return out
end

local function tables_in_order(md)
  return md:sorted_tables()
end

--- The readable description of the database at url. opts.progress, a
--- function(line), hears a line per table: "inspect users: table 3/40, 5
--- columns, 0.012 s".
---@param url string
---@param opts? {progress?: fun(line: string)}
---@return string
function M.inspect(url, opts)
  local progress = opts and opts.progress
  local engine = qs.create_engine(url)
  local insp = qs.inspect(engine)
  local out = {}
  local function w(...) out[#out + 1] = format(...) end
  local names = insp:get_table_names()
  local t0 = now()
  for i, name in ipairs(names) do
    local t1 = now()
    local ncols = 0
    w("table %s", name)
    for _, c in ipairs(insp:get_columns(name)) do
      ncols = ncols + 1
      w("  %-24s %-28s%s%s%s", c.name, tostring(c.type.db_type or c.type),
        c.nullable and "" or " NOT NULL", c.default and (" DEFAULT " .. tostring(c.default)) or "",
        c.autoincrement and " (autoincrement)" or "")
    end
    local pk = insp:get_pk_constraint(name)
    if #pk.constrained_columns > 0 then
      w("  primary key (%s)%s", concat(pk.constrained_columns, ", "), pk.name and (" " .. pk.name) or "")
    end
    for _, fk in ipairs(insp:get_foreign_keys(name)) do
      w("  foreign key (%s) -> %s (%s)%s%s", concat(fk.constrained_columns, ", "), fk.referred_table,
        concat(fk.referred_columns, ", "), fk.options.ondelete and (" on delete " .. fk.options.ondelete) or "",
        fk.name and (" " .. fk.name) or "")
    end
    for _, u in ipairs(insp:get_unique_constraints(name)) do
      w("  unique (%s)%s", concat(u.column_names, ", "), u.name and (" " .. u.name) or "")
    end
    for _, ck in ipairs(insp:get_check_constraints(name)) do
      w("  check (%s)%s", ck.sqltext, ck.name and (" " .. ck.name) or "")
    end
    for _, ix in ipairs(insp:get_indexes(name)) do
      w("  %sindex %s (%s)", ix.unique and "unique " or "", ix.name, concat(ix.expressions or ix.column_names, ", "))
    end
    if progress then
      progress(format("inspect %s: table %d/%d, %d columns, %.3f s", name, i, #names, ncols, now() - t1))
    end
  end
  if progress then progress(format("inspect: %d tables, %.3f s", #names, now() - t0)) end
  for _, v in ipairs(insp:get_view_names()) do
    w("view %s", v)
    w("  as %s", (insp:get_view_definition(v):gsub("%s+", " "):gsub("^ ", ""):gsub(" $", "")))
  end
  engine:dispose()
  return concat(out, "\n") .. "\n"
end

-- The module's opening lines (the URL's password masked).
local function header(url)
  return {
    "-- Models for the database at " .. url:gsub("//[^@/]*@", "//***@") .. ", written by `quicksilver models`.",
    'local qs = require("quicksilver")',
    'local orm = require("quicksilver.orm")',
    "",
    "local Base = orm.declarative_base()",
    "local M = {Base = Base}",
    "",
  }
end

-- Class names of the tables that can be mapped (those with a primary key).
local function class_names(tables)
  local names = {}
  for _, t in ipairs(tables) do
    if #t.primary_key.columns > 0 then names[t] = class_name(t.name) end
  end
  return names
end

-- The relationships automap makes, per table: a many-to-one per foreign
-- key with its one-to-many backref, named the same way.
local function relationships_by_table(tables, names)
  local rels_of = {}
  for _, r in ipairs(automap.foreign_key_relationships(tables, names)) do
    local list = rels_of[r.table] or {}
    list[#list + 1] = r
    rels_of[r.table] = list
  end
  return rels_of
end

-- {M.Class.__table__.c.a, ...} for the columns, resolved when mappers configure.
local function columns_fn(cls, cols)
  local refs = {}
  for i, c in ipairs(cols) do refs[i] = format("M.%s.__table__.c[%q]", cls, c.name) end
  return "function() return {" .. concat(refs, ", ") .. "} end"
end

-- A column's attribute line; a reserved attribute name gets a trailing _
-- (the column keeps its name).
local function column_lines(c)
  local args = concat(emit.column_args(c), ", ")
  local key = c.name
  if key == "metadata" or key == "registry" or key == "model" or key:sub(1, 2) == "__" then
    return {format("  -- column %q has a reserved attribute name", c.name),
      format("  %s_ = orm.mapped_column(%q, %s),", key:gsub("^_+", ""), c.name, args)}
  end
  return {format("  %s = orm.mapped_column(%s),", emit.key(key), args)}
end

-- A relationship's attribute line: foreign_keys when the target is reached
-- by several keys; remote_side for a self-reference.
local function relationship_line(t, cname, r, rels, names)
  local ropts = {}
  local several = false
  for _, o in ipairs(rels) do
    if o ~= r and o.target == r.target then several = true end
  end
  if r.self_ref then
    ropts[#ropts + 1] = "remote_side = " .. columns_fn(cname, t:primary_key_columns())
    ropts[#ropts + 1] = "foreign_keys = " .. columns_fn(cname, r.columns)
    ropts[#ropts + 1] = format("backref = orm.backref(%q, {foreign_keys = %s})", r.back,
      columns_fn(cname, r.columns))
  else
    if several then ropts[#ropts + 1] = "foreign_keys = " .. columns_fn(cname, r.columns) end
    ropts[#ropts + 1] = format("backref = %q", r.back)
  end
  return format("  %s = orm.relationship(%q, {%s}),", emit.key(r.name), names[r.target], concat(ropts, ", "))
end

-- The entries of __table_args: foreign keys of several columns, unique and
-- check constraints, indexes, the table's options.
local function table_args(t)
  local args = {}
  for _, con in ipairs(emit.multi_column_foreign_keys(t)) do args[#args + 1] = emit.foreign_key_constraint(con) end
  for _, con in ipairs(t.constraints) do
    if con.kind == "unique" then
      args[#args + 1] = emit.unique_constraint(con)
    elseif con.kind == "check" then
      args[#args + 1] = emit.check_constraint(con, t)
    end
  end
  for _, ix in ipairs(t.indexes) do args[#args + 1] = emit.index(ix) end
  local topts = emit.table_options(t)
  if #topts > 0 then args[#args + 1] = "{" .. concat(topts, ", ") .. "}" end
  return args
end

-- One model: Base:model(...) with its columns, relationships, table args.
local function model_lines(w, t, cname, rels, names)
  w(format("M.%s = Base:model(%q, {", cname, cname))
  w(format("  __tablename = %q,", t.name))
  for _, c in ipairs(t.columns) do
    for _, l in ipairs(column_lines(c)) do w(l) end
  end
  for _, r in ipairs(rels) do w(relationship_line(t, cname, r, rels, names)) end
  local targs = table_args(t)
  if #targs > 0 then
    w("  __table_args = {")
    for _, a in ipairs(targs) do w("    " .. a .. ",") end
    w("  },")
  end
  w("})")
  w("")
end

--- Lua model definitions for the database at url: a module returning
--- {Base = Base, <Class> = class, ...}, with the relationships automap
--- would make (a many-to-one per foreign key, its backref on the other side).
--- The migrations' version table (opts.version_table, default
--- alembic_version) is left out unless opts.include_version_table;
--- opts.progress(line) hears how long reflecting took.
---@param url string
---@param opts? {version_table?: string, include_version_table?: boolean, progress?: fun(line: string)}
---@return string
function M.models(url, opts)
  opts = opts or {}
  local engine = qs.create_engine(url)
  local md = qs.MetaData()
  local t0 = now()
  md:reflect({bind = engine})
  local vt = opts.version_table or "alembic_version"
  local tables = {}
  for _, t in ipairs(tables_in_order(md)) do
    if opts.include_version_table or t.name ~= vt then tables[#tables + 1] = t end
  end
  if opts.progress then opts.progress(format("reflect: %d tables, %.3f s", #tables, now() - t0)) end
  local out = header(url)
  local function w(s) out[#out + 1] = s end
  local names = class_names(tables)
  local rels_of = relationships_by_table(tables, names)
  for _, t in ipairs(tables) do
    if names[t] then
      model_lines(w, t, names[t], rels_of[t] or {}, names)
    else
      w(format("-- %s has no primary key: not mapped", t.name))
    end
  end
  w("return M")
  engine:dispose()
  return concat(out, "\n") .. "\n"
end

return M
