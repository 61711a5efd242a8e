--- cli/schema.lua: `quicksilver inspect URL` (the schema, readable) and
--- `quicksilver models URL` (Lua model definitions for an existing
--- database, as sqlacodegen writes Python ones).
local qs = require("quicksilver")
local automap = require("quicksilver.ext.automap")

local M = {}

local format, concat = string.format, table.concat

-- A type object back to the Lua expression that makes it.
local function type_expr(t)
  local n = t.name
  if n == "String" or n == "Unicode" then
    return t.length and format("qs.String(%d)", t.length) or "qs.String"
  elseif n == "Numeric" then
    if t.precision and t.scale then return format("qs.Numeric(%d, %d)", t.precision, t.scale) end
    if t.precision then return format("qs.Numeric(%d)", t.precision) end
    return "qs.Numeric"
  elseif n == "DateTime" then
    return t.timezone and "qs.DateTime({timezone = true})" or "qs.DateTime"
  elseif n == "LargeBinary" then
    return t.length and format("qs.LargeBinary(%d)", t.length) or "qs.LargeBinary"
  elseif n == "Enum" then
    local vals = {}
    for i, v in ipairs(t.enums or t.values or {}) do vals[i] = format("%q", v) end
    return "qs.Enum(" .. concat(vals, ", ") .. ")"
  elseif n == "NullType" then
    return "qs.NullType"
  end
  return "qs." .. n
end
M.type_expr = type_expr

-- "users" / "order_items" -> "Users" / "OrderItems"
local function class_name(tname)
  local out = tname:gsub("[^%w]+", "_"):gsub("^%l", string.upper):gsub("_(%w)", function(c) return c:upper() end)
  if out:match("^%d") then out = "T" .. out end
  return out
end

local function ident_key(name)
  if name:match("^[%a_][%w_]*$") then return name end
  return format("[%q]", name)
end

local function tables_in_order(md)
  return md:sorted_tables()
end

--- The readable description of the database at url.
function M.inspect(url)
  local engine = qs.create_engine(url)
  local insp = qs.inspect(engine)
  local out = {}
  local function w(...) out[#out + 1] = format(...) end
  for _, name in ipairs(insp:get_table_names()) do
    w("table %s", name)
    for _, c in ipairs(insp:get_columns(name)) do
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
      w("  %sindex %s (%s)", ix.unique and "unique " or "", ix.name, concat(ix.column_names, ", "))
    end
  end
  for _, v in ipairs(insp:get_view_names()) do
    w("view %s", v)
    w("  as %s", (insp:get_view_definition(v):gsub("%s+", " "):gsub("^ ", ""):gsub(" $", "")))
  end
  engine:dispose()
  return concat(out, "\n") .. "\n"
end

--- Lua model definitions for the database at url: a module returning
--- {Base = Base, <Class> = class, ...}, with the relationships automap
--- would make (a many-to-one per foreign key, its backref on the other side).
function M.models(url)
  local engine = qs.create_engine(url)
  local md = qs.MetaData()
  md:reflect({bind = engine})
  local insp = qs.inspect(engine)
  local out = {
    "-- Models for the database at " .. url:gsub("//[^@/]*@", "//***@") .. ", written by `quicksilver models`.",
    'local qs = require("quicksilver")',
    'local orm = require("quicksilver.orm")',
    "",
    "local Base = orm.declarative_base()",
    "local M = {Base = Base}",
    "",
  }
  local function w(s) out[#out + 1] = s end
  local names = {}
  for _, t in ipairs(tables_in_order(md)) do
    if #t.primary_key.columns > 0 then names[t] = class_name(t.name) end
  end
  -- relationships as automap makes them: a many-to-one per foreign key
  -- with its one-to-many backref, named the same way
  local rels_of = {}
  for _, r in ipairs(automap.foreign_key_relationships(tables_in_order(md), names)) do
    local list = rels_of[r.table] or {}
    list[#list + 1] = r
    rels_of[r.table] = list
  end
  -- {M.Class.__table__.c.a, ...} for the columns, resolved when mappers configure
  local function columns_fn(cls, cols)
    local refs = {}
    for i, c in ipairs(cols) do refs[i] = format("M.%s.__table__.c[%q]", cls, c.name) end
    return "function() return {" .. concat(refs, ", ") .. "} end"
  end
  for _, t in ipairs(tables_in_order(md)) do
    local cname = names[t]
    if not cname then
      w(format("-- %s has no primary key: not mapped", t.name))
    else
      w(format("M.%s = Base:model(%q, {", cname, cname))
      w(format("  __tablename = %q,", t.name))
      local pkset = {}
      for _, c in ipairs(t.primary_key.columns) do pkset[c] = true end
      local cols = insp:get_columns(t.name)
      local colinfo = {}
      for _, c in ipairs(cols) do colinfo[c.name] = c end
      local single_fk = {}
      for _, fk in ipairs(t.foreign_keys) do
        if not fk.constraint or #fk.constraint.columns == 1 then single_fk[fk.parent.name] = fk end
      end
      for _, c in ipairs(t.columns) do
        local parts = {type_expr(c.type)}
        local fk = single_fk[c.name]
        if fk then
          local ref = fk:get_column()
          local fopts = {}
          if fk.constraint and fk.constraint.ondelete then fopts[#fopts + 1] = format("ondelete = %q", fk.constraint.ondelete) end
          if fk.constraint and fk.constraint.onupdate then fopts[#fopts + 1] = format("onupdate = %q", fk.constraint.onupdate) end
          parts[#parts + 1] = format("qs.ForeignKey(%q%s)", ref.table.name .. "." .. ref.name,
            #fopts > 0 and (", {" .. concat(fopts, ", ") .. "}") or "")
        end
        local o = {}
        if pkset[c.name] then o[#o + 1] = "primary_key = true" end
        if not c.nullable and not pkset[c.name] then o[#o + 1] = "nullable = false" end
        local info = colinfo[c.name]
        if info and info.default ~= nil and not (pkset[c.name] and info.autoincrement) then
          o[#o + 1] = format("server_default = qs.text(%q)", tostring(info.default))
        end
        if c.comment ~= nil then o[#o + 1] = format("comment = %q", c.comment) end
        if #o > 0 then parts[#parts + 1] = "{" .. concat(o, ", ") .. "}" end
        local key = c.name
        if key == "metadata" or key == "registry" or key == "model" or key:sub(1, 2) == "__" then
          w(format("  -- column %q has a reserved attribute name", c.name))
          w(format("  %s_ = orm.mapped_column(%q, %s),", key:gsub("^_+", ""), c.name, concat(parts, ", ")))
        else
          w(format("  %s = orm.mapped_column(%s),", ident_key(key), concat(parts, ", ")))
        end
      end
      for _, r in ipairs(rels_of[t] or {}) do
        local ropts = {}
        local several = false
        for _, o in ipairs(rels_of[t]) do
          if o ~= r and o.target == r.target then several = true end
        end
        if r.self_ref then
          local pks = {}
          for _, c in ipairs(t:primary_key_columns()) do pks[#pks + 1] = c end
          ropts[#ropts + 1] = "remote_side = " .. columns_fn(cname, pks)
          ropts[#ropts + 1] = "foreign_keys = " .. columns_fn(cname, r.columns)
          ropts[#ropts + 1] = format("backref = orm.backref(%q, {foreign_keys = %s})", r.back,
            columns_fn(cname, r.columns))
        else
          if several then ropts[#ropts + 1] = "foreign_keys = " .. columns_fn(cname, r.columns) end
          ropts[#ropts + 1] = format("backref = %q", r.back)
        end
        w(format("  %s = orm.relationship(%q, {%s}),", ident_key(r.name), names[r.target], concat(ropts, ", ")))
      end
      local targs = {}
      for _, fk in ipairs(t.foreign_keys) do
        local con = fk.constraint
        if con and #con.columns > 1 and not targs[con] then
          targs[con] = true
          local cs, rs = {}, {}
          for i, cn in ipairs(con.columns) do cs[i] = format("%q", cn); rs[i] = format("%q", con.refs[i]) end
          local fo = {}
          if con.name then fo[#fo + 1] = format("name = %q", con.name) end
          if con.ondelete then fo[#fo + 1] = format("ondelete = %q", con.ondelete) end
          if con.onupdate then fo[#fo + 1] = format("onupdate = %q", con.onupdate) end
          targs[#targs + 1] = format("qs.ForeignKeyConstraint({%s}, {%s}%s)", concat(cs, ", "), concat(rs, ", "),
            #fo > 0 and (", {" .. concat(fo, ", ") .. "}") or "")
        end
      end
      for _, con in ipairs(t.constraints) do
        if con.kind == "unique" then
          local cs = {}
          for i, cn in ipairs(con.columns) do cs[i] = format("%q", cn) end
          targs[#targs + 1] = format("qs.UniqueConstraint(%s%s)", concat(cs, ", "),
            con.name and format(", {name = %q}", con.name) or "")
        elseif con.kind == "check" then
          targs[#targs + 1] = format("qs.CheckConstraint(%q%s)", con.sqltext.text or tostring(con.sqltext),
            con.name and format(", {name = %q}", con.name) or "")
        end
      end
      for _, ix in ipairs(t.indexes) do
        local cs = {format("%q", ix.name)}
        for _, e in ipairs(ix.expressions or {}) do cs[#cs + 1] = format("%q", e.name or tostring(e)) end
        targs[#targs + 1] = format("qs.Index(%s%s)", concat(cs, ", "), ix.unique and ", {unique = true}" or "")
      end
      if t.comment ~= nil then targs[#targs + 1] = format("{comment = %q}", t.comment) end
      if #targs > 0 then
        w("  __table_args = {")
        for _, a in ipairs(targs) do w("    " .. a .. ",") end
        w("  },")
      end
      w("})")
      w("")
    end
  end
  w("return M")
  engine:dispose()
  return concat(out, "\n") .. "\n"
end

return M
