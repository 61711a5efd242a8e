--- migrate/emit.lua: schema objects written back as the Lua source that
--- makes them: types, columns, constraints, indexes and their options. The
--- one writer behind autogenerate's revisions (op.create_table(...),
--- op.add_column(...)) and `quicksilver models` (orm.mapped_column(...),
--- __table_args): every option an object has is written, none dropped.
local core = require("quicksilver.core")
local exc = require("quicksilver.exc")
local ddl = require("quicksilver.sql.ddl")

local M = {}

local format, concat = string.format, table.concat

-- The dialect a model's SQL fragments (a CHECK's condition) are written in:
-- the plainest spelling, names unquoted unless they must be.
local FRAGMENT_DIALECT = "sqlite"

--- A string as a Lua literal; nil as nil (string.format's %q writes nil as
--- "nil" on Lua 5.1).
---@param s string|nil
---@return string
function M.string(s)
  if s == nil then return "nil" end
  return format("%q", s)
end

--- The strings as Lua literals, comma separated: "a", "b".
---@param list string[]
---@return string
function M.strings(list)
  local out = {}
  for i, v in ipairs(list) do out[i] = format("%q", v) end
  return concat(out, ", ")
end

--- The strings as a Lua list: {"a", "b"}.
---@param list string[]
---@return string
function M.list(list) return "{" .. M.strings(list) .. "}" end

--- A name as a table key: bare when it is an identifier, ["..."] otherwise.
---@param name string
---@return string
function M.key(name)
  if name:match("^[%a_][%w_]*$") then return name end
  return format("[%q]", name)
end

--- Option entries as a trailing options argument: ", {a = 1, b = 2}", or
--- "" when there are none.
---@param entries string[]
---@return string
function M.options(entries) return #entries > 0 and (", {" .. concat(entries, ", ") .. "}") or "" end

--- A type object as the Lua expression that makes it.
---@param t table a type instance
---@return string
function M.type(t)
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
    local o = {}
    if t.enum_name then o[#o + 1] = format("name = %q", t.enum_name) end
    if t.enum_type and t.enum_type.schema then o[#o + 1] = format("schema = %q", t.enum_type.schema) end
    local vals = M.strings(t.enums or t.values or {})
    if #o > 0 then vals = vals .. (vals ~= "" and ", " or "") .. "{" .. concat(o, ", ") .. "}" end
    return "qs.Enum(" .. vals .. ")"
  elseif n == "NullType" then
    return "qs.NullType"
  elseif n == "ARRAY" and t.item_type then
    local dims = (t.dimensions or 1) > 1 and format(", {dimensions = %d}", t.dimensions) or ""
    return "qs.ARRAY(" .. M.type(t.item_type) .. dims .. ")"
  end
  return "qs." .. n
end

--- A constraint's (or ForeignKey's) options as entries, in a fixed order:
--- name, ondelete, onupdate, use_alter, deferrable, initially.
---@param con table
---@return string[]
function M.constraint_options(con)
  local o = {}
  if con.name then o[#o + 1] = format("name = %q", con.name) end
  if con.ondelete then o[#o + 1] = format("ondelete = %q", con.ondelete) end
  if con.onupdate then o[#o + 1] = format("onupdate = %q", con.onupdate) end
  if con.use_alter then o[#o + 1] = "use_alter = true" end
  if con.deferrable ~= nil then o[#o + 1] = "deferrable = " .. tostring(con.deferrable) end
  if con.initially then o[#o + 1] = format("initially = %q", con.initially) end
  return o
end

--- A server default as Lua source: text, a literal, a function without
--- arguments; any other expression as its SQL text rather than left out.
---@param sd any
---@return string
function M.server_default(sd)
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
  exc.raise(exc.ArgumentError, "migrate.emit: cannot write the server_default " .. tostring(sd) .. " as Lua source",
    nil, 4)
end

-- The index options that hold a partial index's WHERE, each with a dialect
-- whose CREATE INDEX renders it (caps.partial_index_option), by option name.
local function partial_where_options()
  local by_option, list = {}, {}
  for _, name in ipairs(core.dialect_names()) do
    local option = core.dialect_caps(name).partial_index_option
    if option and not by_option[option] then
      by_option[option] = name
      list[#list + 1] = option
    end
  end
  table.sort(list)
  for i, option in ipairs(list) do list[i] = {option, by_option[option]} end
  return list
end

--- An index's options as entries: unique, the partial WHERE (as the SQL
--- text each database's CREATE INDEX renders it), the method, prefix lengths.
---@param ix table|nil an Index (nil: only unique)
---@param unique boolean|nil
---@return string[]
function M.index_options(ix, unique)
  local o = unique and {"unique = true"} or {}
  if not ix then return o end
  for _, w in ipairs(partial_where_options()) do
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

--- A column's options as entries: primary_key, nullable, server_default,
--- autoincrement, comment.
---@param c table a Column
---@return string[]
function M.column_options(c)
  local o = {}
  if c.primary_key then o[#o + 1] = "primary_key = true" end
  if not c.nullable and not c.primary_key then o[#o + 1] = "nullable = false" end
  if c.server_default ~= nil then o[#o + 1] = "server_default = " .. M.server_default(c.server_default) end
  if c.autoincrement == false then o[#o + 1] = "autoincrement = false" end
  if c.comment ~= nil then o[#o + 1] = format("comment = %q", c.comment) end
  if c.identity then o[#o + 1] = "identity = " .. M.identity(c.identity) end
  if c.computed then o[#o + 1] = "computed = " .. M.computed(c.computed) end
  if c.sequence then o[#o + 1] = "sequence = " .. M.sequence(c.sequence) end
  return o
end

-- Whole-number options in a fixed order, as "k = v" entries.
local function number_options(src, keys)
  local o = {}
  for _, k in ipairs(keys) do
    if src[k] ~= nil then o[#o + 1] = format("%s = %s", k, string.format("%d", src[k])) end
  end
  return o
end

--- A column's identity option: true, or {start, increment, always}.
---@param id table
---@return string
function M.identity(id)
  local o = number_options(id, {"start", "increment"})
  if id.always then o[#o + 1] = "always = true" end
  return #o > 0 and ("{" .. concat(o, ", ") .. "}") or "true"
end

--- A column's computed option: {sqltext = "...", persisted = ...}.
---@param cp table
---@return string
function M.computed(cp)
  local sqltext = cp.sqltext
  if type(sqltext) == "table" and sqltext.text then sqltext = sqltext.text
  elseif type(sqltext) == "table" and sqltext._is_clause then
    sqltext = sqltext:compile({literal_binds = true}).sql
  end
  local o = {format("sqltext = %q", tostring(sqltext))}
  if cp.persisted ~= nil then o[#o + 1] = "persisted = " .. tostring(cp.persisted) end
  return "{" .. concat(o, ", ") .. "}"
end

--- qs.Sequence(name, {options}).
---@param seq table
---@return string
function M.sequence(seq)
  local o = number_options(seq, {"start", "increment", "minvalue", "maxvalue"})
  if seq.cycle then o[#o + 1] = "cycle = true" end
  if seq.optional then o[#o + 1] = "optional = true" end
  if seq.schema then o[#o + 1] = format("schema = %q", seq.schema) end
  return format("qs.Sequence(%q%s)", seq.name, M.options(o))
end

--- A column's arguments after its name: the type, a qs.ForeignKey per
--- single-column foreign key (those of several columns are table-level
--- constraints), the options table.
---@param c table a Column
---@return string[]
function M.column_args(c)
  local parts = {M.type(c.type)}
  for _, fk in ipairs(c.foreign_keys or {}) do
    if not fk.constraint or #fk.constraint.columns == 1 then
      local ref = fk:get_column()
      if ref then
        parts[#parts + 1] = format("qs.ForeignKey(%q%s)", ref.table.name .. "." .. ref.name,
          M.options(M.constraint_options(fk.constraint or fk)))
      end
    end
  end
  local o = M.column_options(c)
  if #o > 0 then parts[#parts + 1] = "{" .. concat(o, ", ") .. "}" end
  return parts
end

--- qs.Column(name, type, ...).
---@param c table a Column
---@return string
function M.column(c)
  return "qs.Column(" .. format("%q", c.name) .. ", " .. concat(M.column_args(c), ", ") .. ")"
end

--- qs.UniqueConstraint("a", "b", {options}).
---@param con table
---@return string
function M.unique_constraint(con)
  return format("qs.UniqueConstraint(%s%s)", M.strings(con.columns), M.options(M.constraint_options(con)))
end

--- qs.ForeignKeyConstraint({"a", "b"}, {"t.a", "t.b"}, {options}).
---@param con table
---@return string
function M.foreign_key_constraint(con)
  return format("qs.ForeignKeyConstraint(%s, %s%s)", M.list(con.columns), M.list(con.refs),
    M.options(M.constraint_options(con)))
end

--- The foreign key constraints of several columns of a table (those of one
--- column are written on the column), once each, in the table's order.
---@param t table a Table
---@return table[]
function M.multi_column_foreign_keys(t)
  local out, seen = {}, {}
  for _, fk in ipairs(t.foreign_keys) do
    local con = fk.constraint
    if con and #con.columns > 1 and not seen[con] then
      seen[con] = true
      out[#out + 1] = con
    end
  end
  return out
end

--- qs.CheckConstraint(qs.text("..."), {options}): the condition as CHECK
--- renders it (columns unqualified, values inline).
---@param con table
---@param t table the constraint's Table
---@return string
function M.check_constraint(con, t)
  return format("qs.CheckConstraint(%s%s)", M.check_condition(con, t), M.options(M.constraint_options(con)))
end

--- A CHECK constraint's condition as qs.text(...) of its SQL in the
--- fragment dialect.
---@param con table a CheckConstraint
---@param t table its Table
---@return string
function M.check_condition(con, t)
  local sql = ddl.AddConstraint(t, {kind = "check", sqltext = con.sqltext}):compile({dialect = FRAGMENT_DIALECT}).sql
  return format("qs.text(%q)", sql:match("CHECK %((.*)%)$"))
end

-- One key part of an index as Lua code: a column by its name; anything
-- else (a functional index's expression, DESC) as qs.text of its SQL in the
-- fragment dialect (columns unqualified, values inline).
local COLUMN = core.kinds.COLUMN
local function index_key(ix, e)
  if type(e) == "string" then return format("%q", e) end
  if type(e) == "table" and e._k == COLUMN then return format("%q", e.name) end
  local sql = ddl.CreateIndex({name = "x", table = ix.table, expressions = {e}}):compile({dialect = FRAGMENT_DIALECT}).sql
  return format("qs.text(%q)", sql:match("^CREATE INDEX x ON .- %((.*)%)$") or tostring(e))
end

--- Whether an index has a key part that is no plain column (a functional index).
---@param ix table an Index
---@return boolean
function M.index_has_expressions(ix)
  for _, e in ipairs(ix.expressions or {}) do
    if not (type(e) == "string" or (type(e) == "table" and e._k == COLUMN)) then return true end
  end
  return false
end

--- An index's key parts as a Lua list: {"a", qs.text("lower(b)")}.
---@param ix table an Index
---@return string
function M.index_keys(ix)
  local parts = {}
  for i, e in ipairs(ix.expressions or {}) do parts[i] = index_key(ix, e) end
  return "{" .. concat(parts, ", ") .. "}"
end

--- qs.Index("name", "a", "b", {options}): the columns by name (an
--- expression by its SQL text).
---@param ix table an Index
---@return string
function M.index(ix)
  local cs = {format("%q", ix.name)}
  for _, e in ipairs(ix.expressions or {}) do cs[#cs + 1] = index_key(ix, e) end
  return format("qs.Index(%s%s)", concat(cs, ", "), M.options(M.index_options(ix, ix.unique)))
end

--- A table's own options as entries: comment, MySQL's engine, charset and
--- collation.
---@param t table a Table
---@return string[]
function M.table_options(t)
  local o = {}
  if t.comment ~= nil then o[#o + 1] = format("comment = %q", t.comment) end
  for _, k in ipairs({"mysql_engine", "mysql_charset", "mysql_collate"}) do
    if t[k] then o[#o + 1] = format("%s = %q", k, t[k]) end
  end
  return o
end

return M
