-- The types table of docs/reference/SCHEMA.md, checked cell by cell: every
-- row's type is made as a column, its DDL compared with the row's DDL cell
-- for the database, every value of the "you bind" cell inserted and read
-- back, and the value compared with the row's "gives" cell (its Lua type and
-- its value). Run on each backend (QS_BACKEND); the SQLite run also compiles
-- the PostgreSQL and MariaDB DDL cells, so they are checked without servers.
-- The table is the test's data: a cell the code does not match fails here.
local qs = require("quicksilver")
local helpers = require("spec.helpers")

local DOC = "docs/reference/SCHEMA.md"
local HEADER = "| type | SQLite DDL | PostgreSQL DDL | MariaDB DDL | you bind |"
-- the table's columns by database
local DDL_COL = {sqlite = 2, postgresql = 3, mysql = 4}
local GIVES_COL = {sqlite = 6, postgresql = 7, mysql = 8}
-- dialect names to compile each DDL column with (the MariaDB column is MariaDB's)
local DIALECT = {sqlite = "sqlite", postgresql = "postgresql", mysql = "mariadb"}

-- Cells of a Markdown table row (no cell holds a "|").
local function cells(line)
  local out = {}
  for c in line:sub(2, -2):gmatch("([^|]*)|?") do out[#out + 1] = c:match("^%s*(.-)%s*$") end
  if out[#out] == "" then out[#out] = nil end
  return out
end

local function read_rows(header, least)
  local f = assert(io.open(DOC, "rb"), DOC .. " is missing")
  local text = f:read("*a")
  f:close()
  local rows, inside = {}, false
  for line in text:gmatch("([^\n]*)\n") do
    if line:sub(1, #header) == header then
      inside = true
    elseif inside and line:sub(1, 1) ~= "|" then
      break
    elseif inside and not line:match("^|%-") then
      rows[#rows + 1] = cells(line)
    end
  end
  assert(#rows >= least, "the table '" .. header .. "' of " .. DOC .. " was not found (" .. #rows .. " rows)")
  return rows
end

-- The code spans of a cell, in order.
local function spans(cell)
  local out = {}
  for s in cell:gmatch("`([^`]*)`") do out[#out + 1] = s end
  return out
end

local env = setmetatable({qs = qs}, {__index = _G})
local function eval(src)
  local chunk = assert((loadstring or load)("return " .. src, "=cell", "t", env))
  if setfenv then setfenv(chunk, env) end
  return chunk()
end

-- The qs.exc class a cell names first ("DataError (why)"), or nil.
local function error_class(cell)
  local name = cell:match("^(%u%a+Error)")
  if name then return assert(qs.exc[name], "no qs.exc." .. name) end
  return nil
end

local function deep_equal(want, got)
  if want == got then return true end
  if type(want) ~= "table" or type(got) ~= "table" then return false end
  if getmetatable(want) and getmetatable(want) ~= getmetatable(got) then return false end
  for k, v in pairs(want) do if not deep_equal(v, got[k]) then return false end end
  for k in pairs(got) do if want[k] == nil then return false end end
  return true
end

local function show(v)
  if type(v) == "table" and not qs.is_decimal(v) and getmetatable(v) == nil then
    local parts = {}
    for k, x in pairs(v) do parts[#parts + 1] = tostring(k) .. " = " .. show(x) end
    return "{" .. table.concat(parts, ", ") .. "}"
  end
  if type(v) == "string" then return string.format("%q", v) end
  return tostring(v)
end

local function is_kind(kind, v)
  if kind == "integer" then
    if math.type then return math.type(v) == "integer" end
    return type(v) == "number" and v == math.floor(v)
  elseif kind == "float" then
    if math.type then return math.type(v) == "float" end
    return type(v) == "number"
  elseif kind == "decimal" then return qs.is_decimal(v)
  elseif kind == "Range" then return type(v) == "table" and getmetatable(v) ~= nil and v.bounds ~= nil
  else return type(v) == kind end
end

-- Checks that got is what a "gives" cell says, for the value bound.
local function check_gives(cell, bound, got, where)
  if cell:match("^the value bound") then
    assert(deep_equal(bound, got), where .. ": expected " .. show(bound) .. " back, got " .. show(got))
    return
  end
  local kind = cell:match("^(%a+) `")
  assert(kind, where .. ": a gives cell must be '<kind> `value`': " .. cell)
  assert(is_kind(kind, got), where .. ": expected a " .. kind .. ", got " .. type(got) .. " " .. show(got))
  local want = eval(spans(cell)[1])
  if kind == "decimal" then
    assert(tostring(got) == want, where .. ": expected decimal " .. want .. ", got " .. tostring(got))
  elseif kind == "float" and type(want) == "number" then
    assert(got == want, string.format("%s: expected %.17g, got %.17g", where, want, got))
  else
    assert(deep_equal(want, got), where .. ": expected " .. show(want) .. ", got " .. show(got))
  end
end

-- The type text of column v in the CREATE TABLE of a one-column table.
local function column_ddl(ty, dialect)
  local t = qs.Table("ddl_of", qs.MetaData(), qs.Column("v", ty))
  local sql = qs.schema.CreateTable(t):compile({dialect = dialect}).sql
  return (sql:match("\n\tv (.-)\n"))
end

local function check_ddl(row, backend)
  local cell, ty = row[DDL_COL[backend]], eval(row[1]:match("^`(.*)`$"))
  local where = row[1] .. " DDL on " .. backend
  local cls = error_class(cell)
  if cls then
    helpers.assert_raises_kind(cls, column_ddl, ty, DIALECT[backend])
  else
    assert.equal(spans(cell)[1], column_ddl(ty, DIALECT[backend]), where)
  end
end

local rows = read_rows(HEADER, 40)
-- the values each type refuses: | type | you bind | refused with |
local refused_rows = read_rows("| type | you bind | refused with |", 10)

describe("the types table of SCHEMA.md, on " .. helpers.backend, function()
  local engine

  setup(function() engine = helpers.backend_engine() end)
  teardown(function()
    engine:begin(function(conn) engine.dialect.drop_everything(conn) end)
    engine:dispose()
    helpers.cleanup()
  end)

  if helpers.backend == "sqlite" then
    it("compiles the DDL cells of every database", function()
      for _, row in ipairs(rows) do
        for _, backend in ipairs({"sqlite", "postgresql", "mysql"}) do check_ddl(row, backend) end
      end
    end)
  end

  for i, row in ipairs(rows) do
    it(row[1] .. " binds " .. row[5], function()
      check_ddl(row, helpers.backend)
      local md = qs.MetaData()
      local t = qs.Table("types_rt_" .. i, md, qs.Column("id", qs.Integer, {primary_key = true,
        autoincrement = false}), qs.Column("v", eval(row[1]:match("^`(.*)`$"))))
      local gives = row[GIVES_COL[helpers.backend]]
      local cls = error_class(gives)
      local values = spans(row[5])
      assert(#values > 0, row[1] .. ": no value to bind")
      local ok, err = pcall(function()
        for k, src in ipairs(values) do
          local bound = eval(src)
          local got = engine:begin(function(conn)
            if k == 1 then md:create_all(conn) end
            conn:execute(qs.insert(t), {id = k, v = bound})
            return conn:execute(qs.select(t.c.v):where(t.c.id:eq(k))):scalar()
          end)
          check_gives(gives, bound, got, row[1] .. " bound " .. src .. " on " .. helpers.backend)
        end
      end)
      pcall(function() engine:begin(function(conn) md:drop_all(conn, {checkfirst = true}) end) end)
      if cls then
        assert(not ok, row[1] .. ": expected " .. cls.name .. ", nothing was raised")
        assert(type(err) == "table" and err.is_a and err:is_a(cls),
          row[1] .. ": expected " .. cls.name .. ", got " .. tostring(err))
      elseif not ok then
        error(err, 0)
      end
    end)
  end

  for i, row in ipairs(refused_rows) do
    it(row[1] .. " refuses " .. row[2], function()
      local md = qs.MetaData()
      local t = qs.Table("types_refused_" .. i, md, qs.Column("id", qs.Integer, {primary_key = true,
        autoincrement = false}), qs.Column("v", eval(row[1]:match("^`(.*)`$"))))
      md:create_all(engine)
      local err = helpers.assert_raises_kind(assert(error_class(row[3])), function()
        engine:begin(function(conn) conn:execute(qs.insert(t), {id = 1, v = eval(spans(row[2])[1])}) end)
      end)
      assert.equal(0, engine:connect(function(conn)
        return conn:execute(qs.select(qs.func.count()):select_from(t)):scalar()
      end))
      assert.matches(spans(row[3])[1], tostring(err), 1, true)
      md:drop_all(engine)
    end)
  end
end)
