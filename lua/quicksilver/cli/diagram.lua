--- cli/diagram.lua: `quicksilver diagram URL|models.lua [-o schema.svg]`, an
--- entity-relationship picture of a database (reflected) or of the models
--- (a MetaData), as sqlalchemy-schemadisplay and eralchemy draw them: a node
--- per table listing its columns with their types, PK/FK marks and NOT
--- NULL, an edge per foreign key labelled with its columns. The text is
--- Graphviz DOT; Graphviz's `dot` (Debian package graphviz) turns it into
--- SVG, PNG or PDF.
local exc = require("quicksilver.exc")
local qs = require("quicksilver")

local M = {}

local format, concat = string.format, table.concat

--- How many diagrams were drawn and how many tables they held (specs).
M.counters = {diagrams = 0, tables = 0}

-- Text inside an HTML-like label: the five characters HTML gives meaning.
local function html(s)
  return (tostring(s):gsub("[&<>\"']", {["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;",
    ['"'] = "&quot;", ["'"] = "&#39;"}))
end
M.html_escape = html

-- A DOT quoted string ("..." with " and \ escaped; newlines as \n).
local function quoted(s)
  return '"' .. tostring(s):gsub("\\", "\\\\"):gsub('"', '\\"'):gsub("\n", "\\n") .. '"'
end
M.dot_quote = quoted

-- A table's name as the diagram shows it: schema.name when it has a schema.
local function full_name(t)
  return t.schema and (t.schema .. "." .. t.name) or t.name
end

-- The referred table and column names of a foreign key, resolved through
-- the MetaData, or read from its "table.column" target when the table is
-- not in it (a table left out, another schema).
local function referred(fk)
  local ok, col = pcall(fk.get_column, fk)
  if ok and col and col.table then return full_name(col.table), col.name end
  local target = fk._target
  if type(target) == "string" then
    local tname, cname = target:match("^(.*)%.([^.]+)$")
    return tname, cname
  end
  return nil
end

-- The columns of t that are part of a foreign key.
local function fk_columns(t)
  local set = {}
  for _, fk in ipairs(t.foreign_keys or {}) do
    if fk.parent then set[fk.parent] = true end
  end
  return set
end

-- A table's node: an HTML-like table, the name on top, a row per column.
local function node(t)
  local fks = fk_columns(t)
  local rows = {format('<TR><TD BGCOLOR="#dde6f0"><B>%s</B></TD></TR>', html(full_name(t)))}
  for _, c in ipairs(t.columns) do
    local marks = {}
    if c.primary_key then marks[#marks + 1] = "PK" end
    if fks[c] then marks[#marks + 1] = "FK" end
    local name = c.primary_key and ("<U>" .. html(c.name) .. "</U>") or html(c.name)
    rows[#rows + 1] = format('<TR><TD ALIGN="LEFT">%s%s <FONT COLOR="#555555">%s%s</FONT></TD></TR>',
      #marks > 0 and (html(concat(marks, ",")) .. " ") or "", name, html(tostring(c.type)),
      c.nullable == false and not c.primary_key and " NOT NULL" or "")
  end
  return format('  %s [label=<<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="0" CELLPADDING="4">%s</TABLE>>];',
    quoted(full_name(t)), concat(rows))
end

-- The foreign keys of t, one per constraint (columns joined), as edges.
local function edges(t, shown, w)
  local groups, order = {}, {}
  for _, fk in ipairs(t.foreign_keys or {}) do
    local rt, rc = referred(fk)
    if rt and shown[rt] then
      local key = fk.constraint or fk
      local g = groups[key]
      if not g then
        g = {target = rt, from = {}, to = {}}
        groups[key] = g
        order[#order + 1] = key
      end
      g.from[#g.from + 1] = fk.parent and fk.parent.name or "?"
      g.to[#g.to + 1] = rc or "?"
    end
  end
  for _, key in ipairs(order) do
    local g = groups[key]
    w(format("  %s -> %s [label=%s];", quoted(full_name(t)), quoted(g.target),
      quoted(concat(g.from, ", ") .. " -> " .. concat(g.to, ", "))))
  end
end

-- A list option: a Lua list or "a,b,c".
local function name_set(v)
  if v == nil then return nil end
  local set = {}
  if type(v) == "string" then
    for n in v:gmatch("[^,]+") do set[n] = true end
  else
    for _, n in ipairs(v) do set[n] = true end
  end
  return set
end

--- The tables a diagram shows: md's, less the version table (unless
--- opts.include_version_table), kept to opts.include and rid of opts.exclude
--- (lists or "a,b" strings of table names).
---@param md table a MetaData
---@param opts? table
---@return table[]
function M.tables(md, opts)
  opts = opts or {}
  local include, exclude = name_set(opts.include), name_set(opts.exclude) or {}
  local vt = opts.version_table or "alembic_version"
  local out = {}
  for _, t in ipairs(md:sorted_tables()) do
    local n = full_name(t)
    local keep = (not include or include[n] or include[t.name]) and not (exclude[n] or exclude[t.name])
    if keep and not opts.include_version_table and t.name == vt then keep = false end
    if keep then out[#out + 1] = t end
  end
  return out
end

--- The DOT text of md's tables (M.tables' options).
---@param md table a MetaData
---@param opts? {include?: string|string[], exclude?: string|string[], version_table?: string, include_version_table?: boolean}
---@return string
function M.dot(md, opts)
  local tables = M.tables(md, opts)
  local out = {"digraph schema {", "  graph [rankdir=LR];",
    '  node [shape=plaintext, fontname="Helvetica", fontsize=10];',
    '  edge [fontname="Helvetica", fontsize=9, color="#4a6a8a"];'}
  local function w(s) out[#out + 1] = s end
  local shown = {}
  for _, t in ipairs(tables) do shown[full_name(t)] = true end
  for _, t in ipairs(tables) do w(node(t)) end
  for _, t in ipairs(tables) do edges(t, shown, w) end
  w("}")
  M.counters.diagrams = M.counters.diagrams + 1
  M.counters.tables = M.counters.tables + #tables
  return concat(out, "\n") .. "\n"
end

-- The MetaData a loaded models file gives: a MetaData, a module with Base
-- (declarative_base) or metadata, or an env.lua's target_metadata.
local function metadata_of(v, path)
  if type(v) == "table" then
    if type(v.sorted_tables) == "function" then return v end
    for _, k in ipairs({"target_metadata", "metadata"}) do
      local md = rawget(v, k)
      if type(md) == "table" and type(md.sorted_tables) == "function" then return md end
    end
    local base = rawget(v, "Base")
    if type(base) == "table" and type(base.metadata) == "table" then return base.metadata end
  end
  exc.raise(exc.ArgumentError, format("%s returns no models: expected a module returning {Base = Base, ...} " ..
    "(orm.declarative_base), a MetaData or {target_metadata = ...} (migrations env.lua)", path), nil, 3)
end

--- The MetaData of a models file: run as migrations' env.lua is, with its
--- folder on package.path so it can require its neighbours.
---@param path string
---@return table
function M.load_models(path)
  local chunk, err = loadfile(path)
  if not chunk then
    exc.raise(exc.ArgumentError, format("cannot load the models %s: %s", path, tostring(err)), nil, 2)
  end
  local dir = path:match("^(.*)/[^/]*$") or "."
  local saved = package.path
  package.path = dir .. "/?.lua;" .. dir .. "/?/init.lua;" .. saved
  local ok, v = pcall(chunk)
  package.path = saved
  if not ok then error(v, 0) end
  return metadata_of(v, path)
end

--- The MetaData of a source: a database URL (reflected, opts.schema) or a
--- models file. opts.progress(line) hears how long reflection took.
---@param source string
---@param opts? table
---@return table
function M.metadata(source, opts)
  opts = opts or {}
  if not source:find("://", 1, true) then return M.load_models(source) end
  local engine = qs.create_engine(source)
  local md = qs.MetaData()
  local t0 = require("quicksilver.core").now()
  local ok, err = pcall(md.reflect, md, {bind = engine, schema = opts.schema})
  engine:dispose()
  if not ok then error(err, 0) end
  if opts.progress then
    opts.progress(format("reflect: %d tables, %.3f s", #md:sorted_tables(), require("quicksilver.core").now() - t0))
  end
  return md
end

-- A word for sh: in single quotes, a ' inside written '\'' (a path may hold $, `, ").
local function shell_quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

-- Whether a command is on PATH.
local function has_command(name)
  local r = os.execute("command -v " .. shell_quote(name) .. " >/dev/null 2>&1")
  return r == true or r == 0
end

--- The Graphviz command diagram.write runs (nil: `dot` on PATH); specs set
--- a missing one to see the error.
---@type string|nil
M.dot_command = nil

local FORMATS = {svg = true, png = true, pdf = true, jpg = true, gif = true}

--- Writes the DOT to path: as text for .dot/.gv, else through Graphviz's
--- dot in the format the extension names (svg, png, pdf, ...).
---@param dot string
---@param path string
function M.write(dot, path)
  local ext = (path:match("%.([%w]+)$") or ""):lower()
  if ext == "dot" or ext == "gv" then
    local f, err = io.open(path, "w")
    if not f then exc.raise(exc.ArgumentError, "cannot write " .. path .. ": " .. tostring(err), nil, 2) end
    f:write(dot)
    f:close()
    return
  end
  if not FORMATS[ext] then
    exc.raise(exc.ArgumentError, format("diagram -o %s: the extension names the format: .svg, .png, .pdf, " ..
      ".jpg, .gif (through Graphviz) or .dot (the DOT text)", path), nil, 2)
  end
  if not has_command(M.dot_command or "dot") then
    exc.raise(exc.InvalidRequestError, format("diagram -o %s needs Graphviz's `dot` command, which is not on " ..
      "PATH: install the graphviz package (Debian/Ubuntu: apt-get install graphviz), or write the DOT text " ..
      "with -o schema.dot", path), nil, 2)
  end
  local tmp = os.tmpname()
  local f = assert(io.open(tmp, "w"))
  f:write(dot)
  f:close()
  local errfile = tmp .. ".err"
  local r = os.execute(format("%s -T%s -o %s %s 2>%s", shell_quote(M.dot_command or "dot"), ext,
    shell_quote(path), shell_quote(tmp), shell_quote(errfile)))
  local ef = io.open(errfile, "r")
  local msg = ef and ef:read("*a") or ""
  if ef then ef:close() end
  os.remove(tmp)
  os.remove(errfile)
  if not (r == true or r == 0) then
    exc.raise(exc.InvalidRequestError, format("diagram: dot failed writing %s: %s", path,
      msg:gsub("%s+$", "")), nil, 2)
  end
end

return M
