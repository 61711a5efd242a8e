-- spec/fuzz/compiler_fuzz.lua: the compiler on random and hostile trees.
--
--   lua5.4 spec/fuzz/compiler_fuzz.lua --seconds N [--seed S]
--
-- Each case is a Lua chunk (so a finding prints as a reproducer that runs on
-- its own): a statement built through the public API, the same with one field
-- of one node replaced by a hostile value (wrong type, missing, a cycle back
-- to an ancestor, odd strings, a fresh string from an __index that collects
-- garbage), a raw node tree made from core.node_fields, or a chain nested
-- around the compiler's limit (core.max_depth). Every case is compiled for
-- every dialect: through the Lua front (cached), the C compiler alone
-- (uncached), with literal_binds, and through core.cache_key. Every outcome
-- must be a result or a qs.exc error: a non-qs error or a crash is a finding.
--
-- The parent runs batches of cases in child processes (the same interpreter,
-- so under the ASan build too); a child that dies is bisected to its case.
-- Exit 0 clean; 1 on a finding, after printing the seed, the case and its
-- reproducer. Cases are numbered: case i of seed S is the same everywhere
-- (its own generator, not math.random).
local interpreter = arg[-1] or "lua5.4"
local script = arg[0]

local opts = {seconds = 10, seed = nil, child = nil, dump = nil, batch = 50}
do
  local i = 1
  while arg[i] do
    local a = arg[i]
    if a == "--seconds" then opts.seconds = tonumber(arg[i + 1]); i = i + 2
    elseif a == "--seed" then opts.seed = tonumber(arg[i + 1]); i = i + 2
    elseif a == "--child" then opts.child = {tonumber(arg[i + 1]), tonumber(arg[i + 2])}; i = i + 3
    elseif a == "--dump" then opts.dump = tonumber(arg[i + 1]); i = i + 2
    elseif a == "--batch" then opts.batch = tonumber(arg[i + 1]); i = i + 2
    else
      io.stderr:write("compiler_fuzz: unknown argument ", a, "\n",
        "usage: compiler_fuzz.lua --seconds N [--seed S]\n")
      os.exit(2)
    end
  end
end
opts.seed = opts.seed or (os.time() % 1000000)

---------------------------------------------------------------------------------------------
-- a deterministic generator per case (Park-Miller; exact in doubles on every Lua)
---------------------------------------------------------------------------------------------

local function rng_for(seed, case)
  local x = (seed * 7919 + case * 104729 + 12345) % 2147483647
  if x == 0 then x = 1 end
  local r = {}
  function r.next()
    x = (x * 16807) % 2147483647
    return x
  end
  function r.int(n) return r.next() % n + 1 end   -- 1..n
  function r.pick(list) return list[r.int(#list)] end
  function r.chance(p) return r.next() / 2147483647 < p end
  return r
end

---------------------------------------------------------------------------------------------
-- case sources
---------------------------------------------------------------------------------------------

local PRELUDE = [[
local qs, core = ...
local K = core.kinds
local md = qs.MetaData()
local t = qs.Table("t", md, qs.Column("id", qs.Integer, {primary_key = true}), qs.Column("name", qs.String(30)),
  qs.Column("data", qs.JSON), qs.Column("amount", qs.Numeric(10, 2)))
local u = qs.Table("u", md, qs.Column("id", qs.Integer, {primary_key = true}),
  qs.Column("t_id", qs.Integer, qs.ForeignKey("t.id")), qs.Column("note", qs.Text))
]]

-- Strings a name or a text may hold.
local ODD_STRINGS = {'""', '"\\0"', '"a\\0b"', '"\\""', '"`"', '"\'"', '"x; DROP TABLE t"', '"select"',
  '("n"):rep(300)', '"%s%s%n"', '"\\255\\254"', '"  "', '"$1"', '"?"', '":x"', '"a.b"', '"MixedCase"',
  '"\\n--"', '"/*"', '"\\\\"'}

-- Values that do not belong where they are put.
local HOSTILE = {'nil', '42', '-1', '0', '0/0', '1e308', '-(1/0)', 'true', 'false', '{}', '{{}}',
  '{1, 2, 3}', '{"a", "b"}', 'function() end', 'io.stdout', 'coroutine.create(function() end)', 'qs.null',
  '{_k = 9999}', '{_k = -1}', '{_k = 1.5}', '{_k = "x"}', '{_k = K.BIND}', '{_k = K.COLUMN}',
  '{_k = K.SELECT}', '{_k = K.CASE, whens = {"x"}}', '{_k = K.CASE, whens = {{}}}', '{_k = K.TABLE}',
  '{_k = K.JOIN}', '{_k = K.ALIAS}', '{_k = K.CTE}', '{_k = K.TYPE}', '{_is_type = true, _t = 5}',
  '{_is_type = true}', 't', 'u', 't.c.id', 'qs.Integer', 'qs.String(5)',
  -- a fresh string on each read, with a collection in between: anchoring
  'setmetatable({_k = K.COLUMN}, {__index = function(_, k) collectgarbage() ' ..
    'if k == "name" then return ("n"):rep(40) .. tostring({}) end end})',
  'setmetatable({_k = K.TABLE}, {__index = function(_, k) collectgarbage() ' ..
    'if k == "name" or k == "schema" then return ("s"):rep(40) .. tostring({}) end end})'}
for _, s in ipairs(ODD_STRINGS) do HOSTILE[#HOSTILE + 1] = s end

local function api_expr(r, d)
  local leaves = {"t.c.id", "t.c.name", "t.c.amount", "u.c.t_id", "u.c.note", "qs.literal(5)", "qs.literal('x')",
    "qs.literal(2.5)", "qs.literal(true)", "qs.bindparam('p', 3)", "qs.literal_column('1')", "qs.literal(qs.null)",
    "qs.true_()"}
  if d <= 0 or r.chance(0.25) then return r.pick(leaves) end
  local a, b = api_expr(r, d - 1), api_expr(r, d - 1)
  local forms = {
    function() return "(" .. a .. " + " .. b .. ")" end,
    function() return "(" .. a .. " - " .. b .. ")" end,
    function() return "(" .. a .. " * " .. b .. ")" end,
    function() return "(-" .. "t.c.id" .. ")" end,
    function() return "t.c.id:eq(" .. b .. ")" end,
    function() return "t.c.name:ne(" .. b .. ")" end,
    function() return "qs.and_(t.c.id:gt(" .. a .. "), u.c.t_id:lt(" .. b .. "))" end,
    function() return "qs.or_(t.c.id:eq(1), t.c.name:eq(" .. r.pick(ODD_STRINGS) .. "))" end,
    function() return "qs.not_(t.c.id:eq(" .. a .. "))" end,
    function() return "t.c.id:in_({1, 2, " .. r.int(9) .. "})" end,
    function() return r.pick({"t.c.name", "t.c.id", "t.c.amount"}) .. ":in_({})" end,
    function() return "t.c.name:not_in({'a', " .. r.pick(ODD_STRINGS) .. "})" end,
    function() return "t.c.id:between(1, " .. a .. ")" end,
    function() return "t.c.name:like(" .. r.pick(ODD_STRINGS) .. ")" end,
    function() return "t.c.name:ilike('A%')" end,
    function() return "t.c.name:concat(" .. r.pick(ODD_STRINGS) .. ")" end,
    function() return "qs.func.coalesce(" .. a .. ", 0)" end,
    function() return "qs.func.count()" end,
    function() return "qs.cast(" .. a .. ", qs.String(10))" end,
    function() return "qs.case({{t.c.id:eq(1), " .. a .. "}}, {else_ = " .. b .. "})" end,
    function() return "qs.select(" .. a .. "):scalar_subquery()" end,
    function() return "qs.exists(qs.select(u.c.id):where(u.c.t_id:eq(t.c.id)))" end,
    function() return "t.c.data:get('k')" end,
    function() return "t.c.data:path({'a', 2})" end,
    function() return "qs.text(" .. r.pick({"'x = :p'", "'1'", "'\\'a:b\\''", "'$$ :x $$'", "'E\\'\\\\\\':x'"}) .. ")" end,
    function() return "qs.func.row_number():over({order_by = t.c.id})" end,
  }
  return r.pick(forms)()
end

local function api_stmt(r)
  local d = r.int(3)
  local forms = {
    function() return "qs.select(" .. api_expr(r, d) .. ", t.c.id):where(" .. api_expr(r, d) .. ")" end,
    function() return "qs.select(t):where(" .. api_expr(r, d) .. "):order_by(t.c.name):limit(5):offset(2)" end,
    function() return "qs.select(t.c.id, u.c.note):select_from(t:join(u, u.c.t_id:eq(t.c.id)))" end,
    function() return "qs.select(t.c.id):group_by(t.c.id):having(qs.func.count():gt(1))" end,
    function()
      return "qs.union(qs.select(t.c.id):where(" .. api_expr(r, d) .. "), qs.select(u.c.id))"
    end,
    function()
      return "(function() local s = qs.select(t.c.id, t.c.name):subquery('s') " ..
        "return qs.select(s.c.id):where(s.c.name:eq('x')) end)()"
    end,
    function()
      return "(function() local c = qs.select(t.c.id):cte('c') return qs.select(c.c.id) end)()"
    end,
    function() return "qs.insert(t):values({id = 1, name = " .. r.pick(ODD_STRINGS) .. "})" end,
    function() return "qs.update(t):values({name = 'x'}):where(" .. api_expr(r, d) .. ")" end,
    function() return "qs.delete(t):where(" .. api_expr(r, d) .. ")" end,
    function() return "qs.select(t.c.id):with_for_update({nowait = true})" end,
  }
  return r.pick(forms)()
end

-- The tables of a built statement in a fixed order, with the Lua path to
-- each (for a mutation line of the reproducer).
local function sorted_keys(tbl)
  local keys = {}
  for k in pairs(tbl) do
    local tk = type(k)
    if tk == "string" or tk == "number" then keys[#keys + 1] = k end
  end
  table.sort(keys, function(a, b)
    if type(a) ~= type(b) then return type(a) == "number" end
    return a < b
  end)
  return keys
end

local function index_src(k)
  if type(k) == "number" then return "[" .. k .. "]" end
  return "[" .. string.format("%q", k) .. "]"
end

local function node_paths(root)
  local out, seen = {}, {}
  local function go(v, path, depth)
    if type(v) ~= "table" or seen[v] or depth > 12 then return end
    seen[v] = true
    if v._is_type then return end
    out[#out + 1] = {v = v, path = path}
    if v._k == 2 then return end   -- a schema table: its columns, not its fields
    for _, k in ipairs(sorted_keys(v)) do
      if k ~= "c" and k ~= "metadata" and k ~= "_compiled" and k ~= "foreign_keys" then
        go(rawget(v, k), path .. index_src(k), depth + 1)
      end
    end
  end
  go(root, "stmt", 0)
  return out
end

-- A raw node tree from the compiler's field contract.
local function raw_node_src(r, core, d, ancestors)
  local kinds = {}
  for name in pairs(core.kinds) do kinds[#kinds + 1] = name end
  table.sort(kinds)
  local kind = r.pick(kinds)
  local fields = {}
  for name, f in pairs(core.node_fields) do
    if f.carriers == "node" or (" " .. f.carriers .. " "):find(" " .. kind .. " ", 1, true) then
      fields[#fields + 1] = name
    end
  end
  table.sort(fields)
  local parts = {"_k = K." .. kind}
  for _, name in ipairs(fields) do
    if name ~= "_k" and r.chance(0.7) then
      local form = core.node_fields[name].form
      local v
      if r.chance(0.2) then v = r.pick(HOSTILE)
      elseif form:find("nodes") then
        local items = {}
        for i = 1, r.int(3) - 1 do items[i] = d > 0 and raw_node_src(r, core, d - 1) or r.pick(HOSTILE) end
        v = "{" .. table.concat(items, ", ") .. "}"
      elseif form:find("node") then v = d > 0 and raw_node_src(r, core, d - 1) or "t.c.id"
      elseif form:find("string") then v = r.chance(0.5) and r.pick(ODD_STRINGS) or '"' .. name .. '"'
      elseif form == "boolean" then v = r.pick({"true", "false"})
      elseif form == "number" then v = tostring(r.int(40))
      elseif form == "type" then v = r.pick({"qs.Integer", "qs.String(10)", "qs.JSON", "qs.DateTime", "{_is_type = true}"})
      elseif form == "function" then v = "function(...) return {} end"
      else v = r.pick(HOSTILE) end
      parts[#parts + 1] = name .. " = " .. v
    end
  end
  return "{" .. table.concat(parts, ", ") .. "}"
end

-- A chain nested around the limit.
local function deep_src(r, core)
  local n = r.pick({core.max_depth - 3, core.max_depth + 3, core.max_depth * 3, 20000})
  local step = r.pick({
    "e = e + 1", "e = qs.not_(e:eq(1))", "e = qs.select(e):scalar_subquery()", "e = qs.func.abs(e)",
    "e = qs.cast(e, qs.Integer)", "e = qs.case({{t.c.id:eq(1), e}})", "e = -e",
    "e = qs.and_(t.c.id:eq(1), qs.or_(t.c.id:eq(2), e:eq(3)))",
  })
  local raw = r.pick({"{_k = K.JOIN, left = e, right = t}", "{_k = K.ALIAS, element = e}",
    "{_k = K.GROUPING, element = e}", "{_k = K.COMPOUND, op = 'UNION', selects = {e}}"})
  if r.chance(0.3) then
    return "local e = t\nfor _ = 1, " .. n .. " do e = " .. raw .. " end\n" ..
      "local stmt = {_k = K.SELECT, columns = {t.c.id}, _final_froms = function() return {e} end}\n"
  end
  return "local e = t.c.id\nfor _ = 1, " .. n .. " do " .. step .. " end\nlocal stmt = qs.select(e)\n"
end

-- The chunk of case i.
local function case_source(seed, i, qs, core)
  local r = rng_for(seed, i)
  local what = r.int(10)
  if what <= 2 then
    return PRELUDE .. "local stmt = " .. api_stmt(r) .. "\nreturn stmt\n"
  elseif what <= 7 then
    local base = api_stmt(r)
    local src = PRELUDE .. "local stmt = " .. base .. "\n"
    local f = assert((loadstring or load)(src .. "return stmt\n"))
    local ok, stmt = pcall(f, qs, core)
    if not ok or type(stmt) ~= "table" then return src .. "return stmt\n" end
    local paths = node_paths(stmt)
    local lines, sets = {}, {}
    for m = 1, r.int(2) do
      local target = r.pick(paths)
      local keys = sorted_keys(target.v)
      local key
      if #keys > 0 and r.chance(0.8) then key = r.pick(keys)
      else
        local fields = {}
        for name in pairs(core.node_fields) do fields[#fields + 1] = name end
        table.sort(fields)
        key = r.pick(fields)
      end
      local value
      if r.chance(0.15) then value = r.pick(paths).path   -- a cycle, or a node shared elsewhere
      else value = r.pick(HOSTILE) end
      -- every target and value taken before the first change
      lines[#lines + 1] = string.format("local m%d, v%d = %s, %s", m, m, target.path, value)
      sets[#sets + 1] = string.format("rawset(m%d, %q, v%d)", m, key, m)
    end
    return src .. table.concat(lines, "\n") .. "\n" .. table.concat(sets, "\n") .. "\nreturn stmt\n"
  elseif what <= 9 then
    local src = PRELUDE .. "local stmt = " .. raw_node_src(r, core, 2) .. "\n"
    if r.chance(0.3) then src = src .. "rawset(stmt, 'left', stmt)\nrawset(stmt, 'element', stmt)\n" end
    return src .. "return stmt\n"
  end
  return PRELUDE .. deep_src(r, core) .. "return stmt\n"
end

---------------------------------------------------------------------------------------------
-- running a case
---------------------------------------------------------------------------------------------

-- Returns nil when every outcome was a result or a qs error, else a description.
local function run_case(seed, i)
  local core = require("quicksilver.core")
  local qs = require("quicksilver")
  local exc = require("quicksilver.exc")
  local compiler = require("quicksilver.sql.compiler")
  local src = case_source(seed, i, qs, core)
  local f, lerr = (loadstring or load)(src, "=case")
  if not f then return "the generator made a chunk that does not load: " .. tostring(lerr), src end
  local ok, stmt = pcall(f, qs, core)
  if not ok then
    if exc.is_error(stmt) then return nil end   -- the API refused what it was given
    return "building: " .. tostring(stmt), src
  end
  local function check(what, fn)
    local ok2, err = pcall(fn)
    if ok2 or exc.is_error(err) then return nil end
    return what .. ": " .. tostring(err)
  end
  for _, d in ipairs(core.dialect_names()) do
    local problem = check("core.cache_key", function() return core.cache_key(stmt) end)
      or check(d .. " uncached", function() return core.compile(stmt, d) end)
      or check(d .. " cached", function() return compiler.compile(stmt, d) end)
      or check(d .. " literal_binds", function() return compiler.compile(stmt, d, {literal_binds = true}) end)
    if problem then return problem, src end
  end
  return nil
end

local function quote(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

local function run_child(from, to)
  -- the interpreter quits on its own; the statement cache stays small
  require("quicksilver.sql.compiler").set_cache_size(50)
  for i = from, to do
    local problem, src = run_case(opts.seed, i)
    if problem then
      io.write(string.format("compiler_fuzz: FINDING seed=%d case=%d\n%s\n-- reproducer " ..
        "(run with LUA_PATH/LUA_CPATH set; the chunk receives qs and core):\n%s\n", opts.seed, i, problem, src))
      io.write(string.format("-- or: %s %s --seed %d --child %d %d\n", interpreter, script, opts.seed, i, i))
      os.exit(1)
    end
    if i % 10 == 0 then collectgarbage() end
  end
  os.exit(0)
end

if opts.dump then
  io.write(case_source(opts.seed, opts.dump, require("quicksilver"), require("quicksilver.core")))
  os.exit(0)
end
if opts.child then run_child(opts.child[1], opts.child[2]) end

-- The parent: batches in children until the time is up.
local function spawn(from, to)
  local cmd = string.format("%s %s --seed %d --child %d %d", quote(interpreter), quote(script), opts.seed, from, to)
  local a, b, c = os.execute(cmd)
  if a == true or a == 0 then return "ok" end
  if type(a) == "number" then   -- Lua 5.1 / LuaJIT: a wait status
    if a % 256 == 0 and math.floor(a / 256) == 1 then return "finding" end
    return "died"
  end
  if b == "exit" and c == 1 then return "finding" end
  return "died", tostring(b) .. " " .. tostring(c)
end

io.write(string.format("compiler_fuzz: seed %d, %d seconds\n", opts.seed, opts.seconds))
io.flush()
local deadline = os.time() + opts.seconds
local next_case, batches = 1, 0
while os.time() < deadline do
  local from, to = next_case, next_case + opts.batch - 1
  local status = spawn(from, to)
  if status == "finding" then
    io.write(string.format("compiler_fuzz: seed %d: finding in cases %d..%d (printed above)\n", opts.seed, from, to))
    os.exit(1)
  elseif status == "died" then
    for i = from, to do
      if spawn(i, i) ~= "ok" then
        io.write(string.format("compiler_fuzz: FINDING seed=%d case=%d: the interpreter died (a crash)\n" ..
          "-- reproducer (run with LUA_PATH/LUA_CPATH set; the chunk receives qs and core):\n", opts.seed, i))
        io.flush()
        os.execute(string.format("%s %s --seed %d --dump %d", quote(interpreter), quote(script), opts.seed, i))
        os.exit(1)
      end
    end
    io.write(string.format("compiler_fuzz: seed %d: cases %d..%d died together but not alone\n", opts.seed, from, to))
    os.exit(1)
  end
  next_case = to + 1
  batches = batches + 1
end
io.write(string.format("compiler_fuzz: seed %d: %d cases, clean\n", opts.seed, next_case - 1))
os.exit(0)
