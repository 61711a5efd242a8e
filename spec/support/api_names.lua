--- spec/support/api_names.lua: every public name of quicksilver, each with the
--- file of docs/reference/ that must have a row for it.
---
--- Run from the repository root: `lua5.4 spec/support/api_names.lua [AREA]`
--- prints `AREA<TAB>name` lines, sorted (`--check` adds, on stderr, the
--- run-time classes without a `---@class` annotation). As a module:
--- `require("support.api_names").list()` -> {{area =, name =, kind =}, ...}.
---
--- THE RULE (keep it this simple):
--- 1. Public modules, written with their usual alias: quicksilver (`qs.`),
---    quicksilver.orm (`orm.`), quicksilver.migrate (`migrate.`), the `op`
---    object a migration receives (`op.`), quicksilver.ext.X (`X.`, e.g.
---    `mutable.MutableDict`), quicksilver.async.cqueues/luv/loop (`cqueues.`,
---    `luv.`, `loop.`), quicksilver.ngx (`qsngx.`). Every other module
---    (quicksilver.sql.*, engine.*, orm.session, ext.horizontal_shard_merge,
---    async.contract, ...) is internal: reached only through these.
--- 2. A module's public names are its members whose key does not start with
---    `_` (functions, classes, constants alike). The namespaces qs.exc,
---    qs.event, qs.postgresql, qs.schema, qs.ddl, migrate.op and
---    migrate.comparators are expanded one level (`qs.exc.NoResultFound`);
---    qs.func is one entry (`qs.func.<any name>` builds any SQL function).
--- 3. Public classes: the classes of the objects those names return. The
---    fixture below builds one object of each on an in-memory SQLite database
---    and walks its metatable and the __index chain above it; a method is
---    written `Class:method` under the class that defines it (`eq` is
---    `ColumnElement:eq`, whoever inherits it), non-`_` non-function keys of
---    the object itself are its fields (`Table.c`), for the classes whose
---    fields are read by users (WITH_FIELDS). `new` (the constructor the
---    module function calls) is not public. A class is named by its
---    `__name` (the name in its error messages and tostring), which is the
---    short name of its LuaLS `---@class quicksilver[.orm].X` where there is
---    one; Row's `_tomap`, `_keys`, `_tuple` are public (SQLAlchemy's Row
---    `_mapping`/`_asdict` convention), orm.inspect(obj) gives an
---    `InstanceState`.
--- 4. Event names: every name in a public class's `_event_names`, written
---    in double quotes (`"before_execute"`), area EVENTS.
--- 5. CLI: `quicksilver <command>`, `quicksilver --option`,
---    `quicksilver migrate <command>` and `quicksilver migrate --option` (the
---    long form), read from bin/quicksilver and lua/quicksilver/cli/*.lua
---    (migrate.lua's are `quicksilver migrate`'s).
--- 6. The area is the file of docs/reference/ the row lives in: the
---    module's area below, a class's area from CLASS_AREA (else the area of
---    the fixture object that reached it first).
---
--- A reference row's key: the text of its first cell (in backticks) before
--- the first `(`, e.g. `Session:execute(stmt, [params])` -> `Session:execute`.
local M = {}

M.AREAS = {"ENGINE", "EVENTS", "ERRORS", "SCHEMA", "EXPRESSIONS", "ORM", "MIGRATIONS", "CLI"}

-- the repository root (this file is spec/support/api_names.lua)
local function root_dir()
  local src = debug.getinfo(1, "S").source
  local dir = src:match("^@(.*)/spec/support/[^/]*$")
  if dir then return dir end
  if src:match("^@spec/support/") then return "." end
  return "."
end
M.ROOT = root_dir()

local function ensure_path()
  local root = M.ROOT
  if not package.path:find(root .. "/lua/?.lua", 1, true) then
    package.path = root .. "/lua/?.lua;" .. root .. "/lua/?/init.lua;" .. package.path
  end
  local sub = (type(jit) == "table") and "/build/jit/?.so;" or "/build/?.so;"
  if not package.cpath:find(root .. sub, 1, true) then
    package.cpath = root .. sub .. package.cpath
  end
end

-- Module-level areas ------------------------------------------------------------------------

-- qs.* names outside EXPRESSIONS (the default of qs.*)
local QS_AREA = {
  version = "ENGINE", create_engine = "ENGINE", make_url = "ENGINE", Engine = "ENGINE",
  Connection = "ENGINE", Result = "ENGINE", set_waiter = "ENGINE", get_waiter = "ENGINE",
  exc = "ERRORS", traceback = "ERRORS", event = "EVENTS",
  TypeEngine = "SCHEMA", Integer = "SCHEMA", BigInteger = "SCHEMA", SmallInteger = "SCHEMA",
  Float = "SCHEMA", Numeric = "SCHEMA", String = "SCHEMA", Text = "SCHEMA", Unicode = "SCHEMA",
  UnicodeText = "SCHEMA", Boolean = "SCHEMA", Date = "SCHEMA", DateTime = "SCHEMA",
  Time = "SCHEMA", Interval = "SCHEMA", LargeBinary = "SCHEMA", Enum = "SCHEMA", Uuid = "SCHEMA",
  NullType = "SCHEMA", TypeDecorator = "SCHEMA", JSON = "SCHEMA", ARRAY = "SCHEMA",
  JSONB = "SCHEMA", postgresql = "SCHEMA", MetaData = "SCHEMA", Table = "SCHEMA",
  Column = "SCHEMA", ForeignKey = "SCHEMA", ForeignKeyConstraint = "SCHEMA",
  PrimaryKeyConstraint = "SCHEMA", UniqueConstraint = "SCHEMA", CheckConstraint = "SCHEMA",
  Index = "SCHEMA", Sequence = "SCHEMA", schema = "SCHEMA", Decimal = "SCHEMA",
  decimal = "SCHEMA", is_decimal = "SCHEMA", DDL = "SCHEMA", ddl = "SCHEMA", inspect = "SCHEMA",
}

-- qs.postgresql.* : the types are SCHEMA, the array functions EXPRESSIONS
local PG_EXPR = {array = true, any_ = true, all_ = true}

-- namespaces expanded one level: alias -> true
local NAMESPACES = {["qs.exc"] = true, ["qs.event"] = true, ["qs.postgresql"] = true,
  ["qs.schema"] = true, ["qs.ddl"] = true, ["migrate.op"] = true, ["migrate.comparators"] = true}

-- public modules other than quicksilver itself: {module, alias, area}
local MODULES = {
  {"quicksilver.orm", "orm", "ORM"},
  {"quicksilver.migrate", "migrate", "MIGRATIONS"},
  {"quicksilver.ext.automap", "automap", "ORM"},
  {"quicksilver.ext.horizontal_shard", "horizontal_shard", "ORM"},
  {"quicksilver.ext.mutable", "mutable", "ORM"},
  {"quicksilver.ext.orderinglist", "orderinglist", "ORM"},
  {"quicksilver.ext.replicas", "replicas", "ORM"},
  {"quicksilver.async.cqueues", "cqueues", "ENGINE"},
  {"quicksilver.async.luv", "luv", "ENGINE"},
  {"quicksilver.async.loop", "loop", "ENGINE"},
  {"quicksilver.ngx", "qsngx", "ENGINE"},
}

-- Class areas where the first fixture object reaching a class is not its home.
local CLASS_AREA = {
  ClauseElement = "EXPRESSIONS", ColumnElement = "EXPRESSIONS", ColumnClause = "EXPRESSIONS",
  FromClause = "EXPRESSIONS", TableClause = "EXPRESSIONS", Column = "SCHEMA", Table = "SCHEMA",
  TypeEngine = "SCHEMA", Inspector = "SCHEMA", Error = "ERRORS", ErrorClass = "ERRORS",
}

-- Classes whose instance fields users read (Class.field rows).
local WITH_FIELDS = {Engine = true, Connection = true, MetaData = true, Table = true,
  Column = true, Error = true, URL = true, Mapper = true, Session = true, InstanceState = true,
  Base = true, ForeignKey = true, Index = true}

-- Classes whose objects carry bookkeeping next to their API: only these
-- fields are public (the ones orm.inspect(Model) documents).
local ONLY_FIELDS = {Mapper = {class = true, class_name = true, columns = true,
  relationships = true, attrs = true, local_table = true, primary_key = true, registry = true,
  base_mapper = true, subclasses = true, tables = true}}

-- Helpers ---------------------------------------------------------------------------------

local function is_public_key(k)
  return type(k) == "string" and k:sub(1, 1) ~= "_" and k:match("^[%a_][%w_]*$") ~= nil
end

local function read_file(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end
M.read_file = read_file   -- the reference checker reads the docs with it

-- The short names of the `---@class quicksilver[.x].Name` annotations.
local function annotated_classes()
  local out = {}
  local p = io.popen('find "' .. M.ROOT .. '/lua/quicksilver" -name "*.lua" 2>/dev/null')
  if not p then return out end
  for path in p:lines() do
    local src = read_file(path) or ""
    for full in src:gmatch("%-%-%-@class%s+([%w_%.]+)") do
      local short = full:match("([%w_]+)$")
      out[short] = out[short] or full
    end
  end
  p:close()
  return out
end

-- The `---@field` names under each `---@class` annotation: short class
-- name -> {field = true}. Skipped: the internal per-object state of
-- orm/attributes.lua (orm.inspect(obj) answers with an InstanceState of its
-- own, annotated InstanceInspection) and the compiled statement's C plan.
local SKIP_ANNOTATION = {["quicksilver.orm.InstanceState"] = true, ["quicksilver.core"] = true,
  ["quicksilver.core.Connection"] = true, ["quicksilver.core.Cursor"] = true,
  ["quicksilver.core.ContractField"] = true}
local SKIP_FIELD = {Compiled = {checks = true, procs = true, result_procs = true}}
local function annotated_fields()
  local out = {}
  local p = io.popen('find "' .. M.ROOT .. '/lua/quicksilver" -name "*.lua" 2>/dev/null')
  if not p then return out end
  for path in p:lines() do
    local cur
    for line in ((read_file(path) or "") .. "\n"):gmatch("([^\n]*)\n") do
      local full = line:match("^%-%-%-@class%s+([%w_%.]+)")
      if full then
        cur = nil
        if not SKIP_ANNOTATION[full] then
          local short = full:match("([%w_]+)$")
          out[short] = out[short] or {}
          cur = out[short]
        end
      elseif cur and line:match("^%-%-%-@field") then
        local f = line:match("^%-%-%-@field%s+([%a_][%w_]*)")
        if f and is_public_key(f) then cur[f] = true end
      elseif not line:match("^%-%-%-") then
        cur = nil
      end
    end
  end
  p:close()
  return out
end

-- Collector -------------------------------------------------------------------------------

local function new_collector()
  local c = {rows = {}, seen = {}, class_area = {}, class_seen = {}, runtime_classes = {}}
  function c.add(area, name, kind)
    if c.seen[name] then return end
    c.seen[name] = true
    c.rows[#c.rows + 1] = {area = area, name = name, kind = kind}
  end
  return c
end

-- annotation short names by their lower-case, underscore-less form
local ann_by_key
local function annotation_name(n)
  if not ann_by_key then
    ann_by_key = {}
    for short in pairs(annotated_classes()) do ann_by_key[short:lower():gsub("_", "")] = short end
  end
  return ann_by_key[n:lower():gsub("_", "")] or n
end

-- The class name of a class table: its __name (`quicksilver.Row` -> Row),
-- spelled as its annotation (`registry` -> Registry).
local function class_name(t, fallback)
  local n = type(t) == "table" and rawget(t, "__name")
  if type(n) == "string" then return annotation_name(n:match("([%w_]+)$")) end
  return fallback
end

-- Walks a class table and the __index chain above it: each level's
-- public methods (and constants) under that level's name.
local function walk_class(c, cls, name, area, extra_skip)
  local seen = {}
  local level, first = cls, true
  while type(level) == "table" and not seen[level] do
    seen[level] = true
    local lname = first and name or class_name(level, nil)
    if lname then
      local larea = CLASS_AREA[lname] or c.class_area[lname] or area
      c.class_area[lname] = larea
      c.runtime_classes[lname] = true
      if not c.class_seen[level] then
        c.class_seen[level] = true
        for k, v in pairs(level) do
          if is_public_key(k) and k ~= "new" and not (extra_skip and extra_skip[k]) then
            if type(v) == "function" then
              c.add(larea, lname .. ":" .. k, "method")
            elseif type(v) ~= "table" or rawget(level, "__index") ~= level or true then
              c.add(larea, lname .. "." .. k, "constant")
            end
          end
        end
        local ev = rawget(level, "_event_names")
        if type(ev) == "table" then
          for e in pairs(ev) do c.add("EVENTS", '"' .. e .. '"', "event") end
        end
      end
    end
    first = false
    local mm = getmetatable(level)
    level = mm and rawget(mm, "__index")
  end
end

-- An object: its class (metatable) walked, its own fields if WITH_FIELDS.
local function walk_object(c, obj, area, fallback_name, extra_skip)
  local mt = getmetatable(obj)
  local name = class_name(mt, fallback_name) or fallback_name
  local idx = type(mt) == "table" and rawget(mt, "__index")
  if type(idx) == "table" then
    walk_class(c, idx, name, CLASS_AREA[name] or area, extra_skip)
  elseif type(idx) == "function" then
    -- __index computes some keys (session.new, state.persistent): the
    -- methods are in the metatable, the computed keys are the file's
    -- `function computed.x`
    walk_class(c, mt, name, CLASS_AREA[name] or area, extra_skip)
    local src = debug.getinfo(idx, "S").source
    local text = src:sub(1, 1) == "@" and read_file(src:sub(2)) or ""
    for line in text:gmatch("[^\n]+") do
      local k = line:match("^function computed%.([%a_][%w_]*)") or line:match("^computed%.([%a_][%w_]*)%s*=")
      if k and is_public_key(k) then c.add(CLASS_AREA[name] or c.class_area[name] or area, name .. "." .. k, "field") end
    end
  end
  if WITH_FIELDS[name] and type(obj) == "table" then
    local farea = CLASS_AREA[name] or c.class_area[name] or area
    for k, v in pairs(obj) do
      if is_public_key(k) and type(v) ~= "function" and (not ONLY_FIELDS[name] or ONLY_FIELDS[name][k]) then
        c.add(farea, name .. "." .. k, "field")
      end
    end
  end
  return name
end

-- A SQL type class (qs.Integer): one row each; its constants (the SQL
-- name) are not rows of their own, TypeEngine's members cover them.
local function is_type(v)
  local types = require("quicksilver.sql.types")
  local seen = {}
  local t = v
  while type(t) == "table" and not seen[t] do
    seen[t] = true
    if t == types.TypeEngine then return v ~= types.TypeEngine and v ~= types.TypeDecorator end
    local mm = getmetatable(t)
    t = mm and rawget(mm, "__index")
  end
  return false
end

-- A module's members (rule 2).
local function walk_module(c, mod, alias, area_of)
  for k, v in pairs(mod) do
    if is_public_key(k) then
      local full = alias .. "." .. k
      local area = area_of(k, v)
      if NAMESPACES[full] and type(v) == "table" then
        for k2, v2 in pairs(v) do
          if is_public_key(k2) then
            local a2 = area
            if full == "qs.postgresql" and PG_EXPR[k2] then a2 = "EXPRESSIONS" end
            c.add(a2, full .. "." .. k2, type(v2) == "function" and "function" or "member")
          end
        end
      else
        c.add(area, full, type(v) == "function" and "function" or "member")
        -- a class exported by the module (orm.Session, qs.Engine): its methods
        if type(v) == "table" and (rawget(v, "__index") == v or type(rawget(v, "__name")) == "string")
            and not (area == "SCHEMA" and is_type(v)) then
          walk_class(c, v, class_name(v, k), CLASS_AREA[class_name(v, k)] or area)
        end
      end
    end
  end
end

-- A module read from its source when it cannot be loaded here (cqueues,
-- luv or ngx not installed): `function M.x` and `M.x =` lines.
local function scan_module_source(c, modname, alias, area)
  local rel = modname:gsub("%.", "/")
  local src = read_file(M.ROOT .. "/lua/" .. rel .. ".lua") or read_file(M.ROOT .. "/lua/" .. rel .. "/init.lua")
  if not src then return end
  for line in src:gmatch("[^\n]+") do
    local k = line:match("^function M%.([%a_][%w_]*)") or line:match("^M%.([%a_][%w_]*)%s*=")
    if k and is_public_key(k) then c.add(area, alias .. "." .. k, "function") end
  end
end

-- Methods written in a file as `function Name:x` / `function Name.x` (for
-- classes whose __index is a function: URL).
local function scan_methods(c, path, local_name, cname, area)
  c.class_area[cname] = c.class_area[cname] or area
  local src = read_file(M.ROOT .. "/" .. path) or ""
  for line in src:gmatch("[^\n]+") do
    local k = line:match("^function " .. local_name .. "[:%.]([%a_][%w_]*)")
    if k and is_public_key(k) and k ~= "new" then c.add(area, cname .. ":" .. k, "method") end
  end
end

-- CLI (rule 5) ------------------------------------------------------------------------------

-- Commands are `cmd == "x"` tests and `function commands.x` definitions,
-- options every "--x" string in the file (the parsers compare arguments
-- with them, or key tables by them).
local function cli_scan(c, src, prefix)
  for cmd in src:gmatch('cmd == "([%a][%w_-]*)"') do c.add("CLI", prefix .. " " .. cmd, "command") end
  for cmd in src:gmatch("function commands%.([%a][%w_]*)") do c.add("CLI", prefix .. " " .. cmd, "command") end
  for opt in src:gmatch('"(%-%-[%a][%w_-]*)"') do c.add("CLI", prefix .. " " .. opt, "option") end
end

local function cli_names(c)
  cli_scan(c, read_file(M.ROOT .. "/bin/quicksilver") or "", "quicksilver")
  local p = io.popen('ls "' .. M.ROOT .. '/lua/quicksilver/cli/" 2>/dev/null')
  for name in p:lines() do
    if name:match("%.lua$") then
      local src = read_file(M.ROOT .. "/lua/quicksilver/cli/" .. name) or ""
      cli_scan(c, src, name == "migrate.lua" and "quicksilver migrate" or "quicksilver")
    end
  end
  p:close()
end

-- The fixture (rule 3) -----------------------------------------------------------------------

local function fixture(c)
  local qs = require("quicksilver")
  local orm = require("quicksilver.orm")

  -- ENGINE
  local engine = qs.create_engine("sqlite://")
  walk_object(c, engine, "ENGINE")
  walk_object(c, engine.pool, "ENGINE")
  local pool_mod = require("quicksilver.engine.pool")
  for _, k in ipairs({"Pool", "NullPool", "StaticPool", "QueuePool"}) do
    if pool_mod[k] then walk_class(c, pool_mod[k], k, "ENGINE") end
  end
  local url = qs.make_url("postgresql://scott:tiger@localhost:5432/test")
  c.runtime_classes.URL = true
  scan_methods(c, "lua/quicksilver/engine/url.lua", "URL", "URL", "ENGINE")
  for k in pairs(rawget(url, "_f") or {}) do
    if is_public_key(k) then c.add("ENGINE", "URL." .. k, "field") end
  end
  local conn = engine:connect()
  walk_object(c, conn, "ENGINE")
  local tx = conn:begin()
  walk_object(c, tx, "ENGINE")
  local nested = conn:begin_nested()
  walk_object(c, nested, "ENGINE")
  nested:rollback()
  local result = conn:execute(qs.text("SELECT 1 AS a, 'x' AS b"))
  walk_object(c, result, "ENGINE")
  walk_object(c, conn:execute(qs.text("SELECT 1 AS a")):scalars(), "ENGINE")
  walk_object(c, conn:execute(qs.text("SELECT 1 AS a")):mappings(), "ENGINE")
  local row = conn:execute(qs.text("SELECT 1 AS a")):first()
  c.runtime_classes.Row = true
  for _, k in ipairs({"_tomap", "_keys", "_tuple"}) do
    if row and row[k] then c.add("ENGINE", "Row:" .. k, "method") end
  end
  tx:rollback()

  -- ERRORS
  local ok, err = pcall(function() qs.exc.raise(qs.exc.NoResultFound, "x") end)
  if not ok then walk_object(c, err, "ERRORS", "Error") end
  walk_object(c, qs.exc.NoResultFound, "ERRORS", "ErrorClass")

  -- SCHEMA
  local md = qs.MetaData()
  local parent = qs.Table("parent", md, qs.Column("id", qs.Integer, {primary_key = true}),
    qs.Column("name", qs.String(50), {nullable = false}))
  local fk = qs.ForeignKey("parent.id")
  local child = qs.Table("child", md, qs.Column("id", qs.Integer, {primary_key = true}),
    qs.Column("parent_id", qs.Integer, fk), qs.Column("v", qs.Numeric(10, 2)),
    qs.UniqueConstraint("v", {name = "uq_v"}), qs.CheckConstraint("v > 0", {name = "ck_v"}))
  local ix = qs.Index("ix_child_v", child.c.v)
  walk_object(c, md, "SCHEMA")
  walk_object(c, parent, "SCHEMA")
  walk_object(c, parent.c.id, "SCHEMA")
  walk_object(c, fk, "SCHEMA")
  walk_object(c, ix, "SCHEMA")
  for _, con in ipairs(child.constraints or {}) do walk_object(c, con, "SCHEMA", "Constraint") end
  walk_object(c, qs.String(20), "SCHEMA", "TypeEngine")
  walk_object(c, qs.Sequence("seq_x"), "SCHEMA", "Sequence")
  walk_object(c, qs.DDL("SELECT 1"), "SCHEMA", "DDL")
  walk_object(c, qs.Decimal("1.5"), "SCHEMA", "Decimal")
  md:create_all(engine)
  walk_object(c, qs.inspect(engine), "SCHEMA", "Inspector")
  for _, k in ipairs({"CreateTable", "DropTable", "CreateIndex", "DropIndex"}) do
    local okd, d = pcall(qs.schema[k], k:match("Index") and ix or parent)
    if okd and type(d) == "table" then walk_object(c, d, "SCHEMA", k) end
  end

  -- EXPRESSIONS
  local sel = qs.select(parent):where(parent.c.id:eq(1))
  walk_object(c, sel, "EXPRESSIONS", "Select")
  walk_object(c, parent.c.id:eq(1), "EXPRESSIONS")
  walk_object(c, parent.c.name:label("n"), "EXPRESSIONS")
  walk_object(c, qs.insert(parent), "EXPRESSIONS", "Insert")
  walk_object(c, qs.update(parent), "EXPRESSIONS", "Update")
  walk_object(c, qs.delete(parent), "EXPRESSIONS", "Delete")
  walk_object(c, qs.text("SELECT 1"), "EXPRESSIONS", "TextClause")
  walk_object(c, sel:cte("c"), "EXPRESSIONS", "CTE")
  walk_object(c, sel:subquery("s"), "EXPRESSIONS", "Subquery")
  walk_object(c, sel:scalar_subquery(), "EXPRESSIONS")
  walk_object(c, qs.union(sel, sel), "EXPRESSIONS", "CompoundSelect")
  walk_object(c, qs.exists(sel), "EXPRESSIONS")
  walk_object(c, qs.func.count(parent.c.id), "EXPRESSIONS", "FunctionElement")
  walk_object(c, qs.case({{parent.c.id:eq(1), "a"}}, {else_ = "b"}), "EXPRESSIONS")
  walk_object(c, qs.cast(parent.c.id, qs.String), "EXPRESSIONS")
  walk_object(c, qs.and_(parent.c.id:eq(1), parent.c.id:eq(2)), "EXPRESSIONS")
  walk_object(c, qs.bindparam("p"), "EXPRESSIONS")
  walk_object(c, qs.literal_column("x"), "EXPRESSIONS")
  walk_object(c, qs.tuple_(parent.c.id, parent.c.name), "EXPRESSIONS", "Tuple")
  walk_object(c, qs.values(qs.column("a", qs.Integer)):data({{1}}), "EXPRESSIONS", "Values")
  walk_object(c, qs.table("t", qs.column("a")), "EXPRESSIONS", "TableClause")
  walk_object(c, parent:alias("p2"), "EXPRESSIONS", "Alias")
  walk_object(c, parent:join(child), "EXPRESSIONS", "Join")
  walk_object(c, sel:compile(), "EXPRESSIONS", "Compiled")
  walk_object(c, qs.func.count(parent.c.id):over({partition_by = parent.c.name}), "EXPRESSIONS")

  -- ORM
  local Base = orm.declarative_base()
  local Parent = Base:model("Parent", {
    __tablename = "o_parent",
    id = orm.mapped_column(qs.Integer, {primary_key = true}),
    name = orm.mapped_column(qs.String(50)),
    children = orm.relationship("Child", {back_populates = "parent"}),
  })
  Base:model("Child", {
    __tablename = "o_child",
    id = orm.mapped_column(qs.Integer, {primary_key = true}),
    parent_id = orm.mapped_column(qs.Integer, qs.ForeignKey("o_parent.id")),
    parent = orm.relationship("Parent", {back_populates = "children"}),
  })
  -- the large-collection handles
  local Owner = Base:model("Owner", {__tablename = "o_owner",
    id = orm.mapped_column(qs.Integer, {primary_key = true}),
    wo = orm.relationship("WoItem", {lazy = "write_only"}),
    dyn = orm.relationship("DynItem", {lazy = "dynamic"})})
  Base:model("WoItem", {__tablename = "o_wo_item", id = orm.mapped_column(qs.Integer, {primary_key = true}),
    owner_id = orm.mapped_column(qs.Integer, qs.ForeignKey("o_owner.id"))})
  Base:model("DynItem", {__tablename = "o_dyn_item", id = orm.mapped_column(qs.Integer, {primary_key = true}),
    owner_id = orm.mapped_column(qs.Integer, qs.ForeignKey("o_owner.id"))})
  Base.metadata:create_all(engine)
  -- Base and every model: the declarative base's members and the
  -- class-side methods models inherit (Base:model)
  c.runtime_classes.Base = true
  for k, v in pairs(Base) do
    if is_public_key(k) then c.add("ORM", "Base." .. k, type(v) == "function" and "method" or "field") end
  end
  local mapper_mod = require("quicksilver.orm.mapper")
  for k, v in pairs(mapper_mod.ModelBase) do
    if is_public_key(k) and type(v) == "function" then c.add("ORM", "Base:" .. k, "method") end
  end
  -- the mapper events (listened on a model or on Base)
  for e in pairs(rawget(mapper_mod.ModelBase, "_event_names") or {}) do c.add("EVENTS", '"' .. e .. '"', "event") end
  walk_object(c, Base.registry, "ORM", "Registry")
  local Session = orm.sessionmaker({bind = engine})
  walk_object(c, Session, "ORM", "sessionmaker")
  local session = Session()
  walk_object(c, session, "ORM", "Session")
  local p = Parent({name = "a"})
  session:add(p)
  session:flush()
  walk_object(c, session:begin_nested(), "ORM", "SessionTransaction")
  walk_object(c, orm.inspect(Parent), "ORM", "Mapper")
  walk_object(c, orm.inspect(p), "ORM", "InstanceState")
  local st = orm.inspect(p)
  for _, k in ipairs({"transient", "pending", "persistent", "deleted", "detached", "was_deleted",
      "modified", "mapper", "attrs", "unmodified", "identity_token", "session", "object", "key",
      "identity", "expired_attributes", "unloaded"}) do
    local _ = st[k]
    c.add("ORM", "InstanceState." .. k, "field")
  end
  c.runtime_classes.InstanceState = true
  local attrs = st.attrs
  if attrs and attrs.name then walk_object(c, attrs.name, "ORM", "AttributeState") end
  walk_object(c, orm.get_history(p, "name"), "ORM", "History")
  if session.query then walk_object(c, session:query(Parent), "ORM", "Query") end
  walk_object(c, orm.aliased(Parent), "ORM", "AliasedClass")
  walk_object(c, orm.selectinload(Parent.children), "ORM", "LoaderOption")
  walk_object(c, orm.defer(Parent.name), "ORM", "ColumnOption")
  walk_object(c, orm.scoped_session(Session), "ORM", "ScopedSession")
  scan_methods(c, "lua/quicksilver/orm/scoping.lua", "OWN", "ScopedSession", "ORM")
  scan_methods(c, "lua/quicksilver/ext/replicas.lua", "Router", "Router", "ORM")
  c.runtime_classes.Router = true
  local owner = Owner({})
  -- (their __index functions reach method tables the modules export)
  walk_object(c, owner.wo, "ORM", "WriteOnlyCollection")
  walk_object(c, owner.dyn, "ORM", "AppenderQuery")
  walk_class(c, require("quicksilver.orm.writeonly").WriteOnlyCollection, "WriteOnlyCollection", "ORM")
  walk_class(c, require("quicksilver.orm.dynamic").methods, "AppenderQuery", "ORM")
  -- what the mapping functions return, and the class attributes of a model
  walk_object(c, Parent.children, "ORM", "RelationshipAttribute")
  walk_object(c, Parent.name, "ORM")
  walk_object(c, orm.hybrid_property(function(self) return 1 end), "ORM", "HybridProperty")
  walk_object(c, orm.hybrid_method(function(self) return 1 end), "ORM", "HybridMethod")
  walk_object(c, orm.relationship("Parent"), "ORM", "RelationshipProperty")
  walk_object(c, orm.mapped_column(qs.Integer), "ORM", "MappedColumn")
  walk_object(c, orm.with_loader_criteria(Parent, Parent.id:gt(0)), "ORM", "LoaderCriteria")
  walk_object(c, orm.with_polymorphic(Parent, "*"), "ORM", "WithPolymorphic")
  session:close()

  -- MIGRATIONS: the op object of a migration
  local mconn = engine:connect()
  local op = require("quicksilver.migrate.op").new(mconn)
  for k in pairs(op) do
    if is_public_key(k) then c.add("MIGRATIONS", "op." .. k, "function") end
  end
  mconn:close()
  conn:close()
  engine:dispose()
end

-- Entry points ------------------------------------------------------------------------------

local cached

--- Every public name: {area =, name =, kind =}, sorted by area then name.
---@return table[]
function M.list()
  if cached then return cached end
  ensure_path()
  local c = new_collector()
  local qs = require("quicksilver")
  walk_module(c, qs, "qs", function(k)
    return QS_AREA[k] or "EXPRESSIONS"
  end)
  for _, m in ipairs(MODULES) do
    local ok, mod = pcall(require, m[1])
    if ok and type(mod) == "table" then
      walk_module(c, mod, m[2], function() return m[3] end)
    else
      scan_module_source(c, m[1], m[2], m[3])
    end
  end
  fixture(c)
  -- the annotated fields of every class reached (rule 3)
  for short, fields in pairs(annotated_fields()) do
    if c.runtime_classes[short] then
      for f in pairs(fields) do
        if not (SKIP_FIELD[short] and SKIP_FIELD[short][f]) then
          c.add(CLASS_AREA[short] or c.class_area[short] or "ENGINE", short .. "." .. f, "field")
        end
      end
    end
  end
  cli_names(c)
  table.sort(c.rows, function(a, b)
    if a.area ~= b.area then return a.area < b.area end
    return a.name < b.name
  end)
  M.runtime_classes = c.runtime_classes
  cached = c.rows
  return cached
end

--- The names of one area (all areas when nil), sorted.
---@param area string|nil
---@return string[]
function M.names(area)
  local out = {}
  for _, r in ipairs(M.list()) do
    if area == nil or r.area == area then out[#out + 1] = r.name end
  end
  return out
end

--- name -> area for every public name.
---@return table<string, string>
function M.index()
  local out = {}
  for _, r in ipairs(M.list()) do out[r.name] = r.area end
  return out
end

--- The run-time class names without a `---@class` annotation (the check of
--- rule 3), sorted.
---@return string[]
function M.unannotated()
  M.list()
  local ann = annotated_classes()
  local out = {}
  for name in pairs(M.runtime_classes) do
    if not ann[name] then out[#out + 1] = name end
  end
  table.sort(out)
  return out
end

-- Run as a program (not when required as a module)
local is_main = arg and arg[0] and arg[0]:match("api_names%.lua$") and select("#", ...) == 0
  or (arg and arg[0] and arg[0]:match("api_names%.lua$") and ... ~= "support.api_names")
if is_main then
  local want, check
  for _, a in ipairs(arg) do
    if a == "--check" then check = true else want = a:upper() end
  end
  for _, r in ipairs(M.list()) do
    if want == nil or r.area == want then io.write(r.area, "\t", r.name, "\n") end
  end
  if check then
    io.stderr:write("run-time classes without a ---@class annotation: ",
      table.concat(M.unannotated(), ", "), "\n")
  end
end

return M
