-- The contracts between Lua tables and the C that reads them, in one place
-- each: c/compiler/fields.h (core.node_fields: the field names the SQL
-- compiler reads from node tables) and c/orm/layout.h (core.orm_fields: the
-- ORM state, mapper and load-spec fields uow.c and load.c use). Each list is
-- checked both ways against the C source (every field name the C reads is
-- listed; every listed name is read) and against the tables Lua really
-- builds (every carrier the list names carries the field), so a rename on
-- either side fails here rather than compiling wrong SQL.
local core = require("quicksilver.core")
local scan = require("spec.support.c_scan")

-- The functions through which the compiler reads a field of a Lua table, and
-- which of their arguments is the field name.
local COMPILER_ACCESSORS = {
  qsC_field = {3}, qsC_string = {3}, qsC_string_opt = {3}, qsC_name = {3}, qsC_list_field = {3}, qsC_bool = {3}, lua_getfield = {3}, qsL_getfield = {3},
  sub = {3}, sub_next_to = {3, 4}, bool_field = {3}, num_field = {3}, qsC_list = {3},
  name_list = {3}, text_literal = {3}, frame_bound = {3}, referential_action = {3},
  keyword_list = {3}, push_dml_froms = {3}, set_pairs = {2}, operand_at = {3, 4},
}

-- The quoted values a pattern captures in the dialect objects (c/dialect/),
-- where a dialect names the option fields the compiler reads for it.
local function dialect_values(pattern)
  local list = {}
  for _, path in ipairs(scan.files("c/dialect")) do
    for name in scan.source(path):gmatch(pattern) do list[#list + 1] = name end
  end
  return list
end

-- Field-name arguments that are not literals: where their names come from
-- (a function of the file's source giving the literals), or false when the
-- read is not of a node field.
local COMPILER_INDIRECT = {
  -- a generated anonymous name's counter (c->counters), not a node
  base = false,
  -- the cache key walks every field of every node, whatever its name
  ["keys[i]"] = false,
  -- a dialect's table options, from its table of {field, SQL} pairs
  ["opt->option"] = function() return dialect_values('{"([%w_]+)", "[^"]*"}') end,
  -- a dialect's CREATE INDEX options, named by its values
  ["c->d->index_using_option"] = function() return dialect_values('%.index_using_option = "([%w_]+)"') end,
  ["c->d->partial_index_option"] = function() return dialect_values('%.partial_index_option = "([%w_]+)"') end,
}

local function list_has(list, x)
  for _, v in ipairs(list) do if v == x then return true end end
  return false
end

local function words(s)
  local out = {}
  for w in s:gmatch("%S+") do out[#out + 1] = w end
  return out
end

-- Every field name read through ACCESSORS in the C files of dir:
-- reads[name] = {"file:line", ...}; problems: calls the spec cannot place.
local function field_reads(files, accessors, indirect)
  local reads, problems = {}, {}
  local function add(name, where)
    reads[name] = reads[name] or {}
    table.insert(reads[name], where)
  end
  for _, path in ipairs(files) do
    local src = scan.source(path)
    local file = path:match("[^/]+$")
    for _, fn in ipairs(scan.functions(src)) do
      local own_params = {}
      for _, p in ipairs(fn.params) do
        local pname = p:match("^const char %*%s*([%w_]+)$")
        if pname then own_params[pname] = true end
      end
      for acc, positions in pairs(accessors) do
        for _, call in ipairs(scan.calls(fn.body, acc)) do
          local where = file .. ":" .. (fn.line + call.line - 1)
          for _, pos in ipairs(positions) do
            local arg = call.args[pos]
            if arg == nil then
              problems[#problems + 1] = where .. ": " .. acc .. " with too few arguments"
            elseif call.args[2] == "LUA_REGISTRYINDEX" then
              -- the registry, not a Lua table of the contract
            elseif arg:find('"') then
              for _, lit in ipairs(scan.literals(arg)) do add(lit, where) end
            elseif indirect[arg] ~= nil then
              if indirect[arg] then
                for _, lit in ipairs(indirect[arg](src)) do add(lit, where) end
              end
            elseif own_params[arg] then
              -- a helper reading the field its caller names: the helper must
              -- be an accessor itself, with this argument as its field
              local mine = accessors[fn.name]
              local index
              for i, p in ipairs(fn.params) do
                if p:match("[%s%*]" .. arg .. "$") then index = i end
              end
              if not (mine and list_has(mine, index)) then
                problems[#problems + 1] = string.format("%s: %s reads the field its parameter '%s' names, " ..
                  "but is not in the spec's accessor list with argument %d", where, fn.name, arg, index or 0)
              end
            else
              problems[#problems + 1] = string.format("%s: %s reads a field named by '%s', which the spec " ..
                "cannot resolve (add it to the spec's indirect list)", where, acc, arg)
            end
          end
        end
      end
    end
  end
  return reads, problems
end

-- Runs a program of spec/support/ in a Lua of its own; its lines
-- "CARRIER<TAB>field" as have[carrier][field] = true.
local function corpus(script)
  local lua = os.getenv("QS_LUA") or "lua5.4"
  if jit then lua = "luajit" end
  local p = assert(io.popen(lua .. " spec/support/" .. script .. " 2>&1"))
  local text = p:read("*a")
  local ok = p:close()
  local have = {}
  for carrier, field in text:gmatch("([%w_]+)\t([%w_]+)\n") do
    have[carrier] = have[carrier] or {}
    have[carrier][field] = true
  end
  return have, text, ok
end

describe("the compiler's field contract (c/compiler/fields.h)", function()
  local fields = core.node_fields

  it("is exported with carriers, form and meaning for every field", function()
    local n = 0
    for name, f in pairs(fields) do
      n = n + 1
      assert.is_string(f.carriers, name)
      assert.is_string(f.form, name)
      assert.is_true(#f.meaning > 0, name)
    end
    assert.is_true(n > 80, "fewer fields than the compiler reads")
  end)

  it("names only node kinds and the documented table carriers", function()
    local others = {node = true, type = true, options = true, for_update = true, on_conflict = true,
      constraint = true, column_def = true}
    local bad = {}
    for name, f in pairs(fields) do
      for _, c in ipairs(words(f.carriers)) do
        if not (core.kinds[c] or others[c]) then bad[#bad + 1] = name .. ": " .. c end
      end
    end
    table.sort(bad)
    assert.same({}, bad)
  end)

  local reads, problems = field_reads(scan.files("c/compiler"), COMPILER_ACCESSORS, COMPILER_INDIRECT)

  it("places every field read of the compiler's source", function()
    assert.same({}, problems)
  end)

  it("lists every field name the compiler reads", function()
    local missing = {}
    for name, where in pairs(reads) do
      if not fields[name] then missing[#missing + 1] = name .. " (" .. table.concat(where, ", ") .. ")" end
    end
    table.sort(missing)
    assert.same({}, missing)
  end)

  it("lists no field the compiler does not read", function()
    local unread = {}
    for name in pairs(fields) do
      if not reads[name] then unread[#unread + 1] = name end
    end
    table.sort(unread)
    assert.same({}, unread)
  end)

  it("would notice a field read it does not list", function()
    local tmp = os.tmpname()
    local f = assert(io.open(tmp, "w"))
    f:write('\nstatic void x(qsC *c, int idx) {\n  qsC_field(c, idx, "_no_such_field");\n' ..
      '  qsC_string(c, idx, pick, &n);\n}\n')
    f:close()
    local r, p = field_reads({tmp}, COMPILER_ACCESSORS, COMPILER_INDIRECT)
    os.remove(tmp)
    assert.is_table(r._no_such_field)
    assert.equal(1, #p)
    assert.truthy(p[1]:find("'pick'", 1, true))
  end)

  it("matches the tables the Lua node constructors build", function()
    local have, text, ok = corpus("node_corpus.lua")
    assert.is_truthy(ok, text)
    local kinds_seen, missing = {}, {}
    for carrier in pairs(have) do
      if core.kinds[carrier] then kinds_seen[#kinds_seen + 1] = carrier end
    end
    assert.is_true(#kinds_seen > 30, text)
    for name, f in pairs(fields) do
      for _, c in ipairs(words(f.carriers)) do
        if c == "node" then
          for _, k in ipairs(kinds_seen) do
            if not have[k][name] then missing[#missing + 1] = name .. " on " .. k end
          end
        elseif not (have[c] and have[c][name]) then
          missing[#missing + 1] = name .. " on " .. c
        end
      end
    end
    table.sort(missing)
    assert.same({}, missing)
  end)
end)

-- The ORM accelerators read and write state tables through lua_getfield /
-- lua_setfield and a raw get of a pushed literal; load.c names the load
-- spec's fields in a table.
local ORM_ACCESSORS = {lua_getfield = {3}, lua_setfield = {3}, lua_pushstring = {2}}
local ORM_INDIRECT = {
  ["spec_fields[i]"] = function(src)
    local init = src:match("spec_fields%b[]%s*=%s*(%b{})") or ""
    return scan.literals(init)
  end,
  -- load.c's state field names, pushed once per call and used raw
  ["key_names[i]"] = function(src)
    local init = src:match("key_names%b[]%s*=%s*(%b{})") or ""
    return scan.literals(init)
  end,
  -- the value table's other metamethods (instance_mt's keys), not fields
  ["meta_names[i - K_NFIELDS]"] = false,
}

-- The ORM's field reads: the accessors' literals, literals pushed and then
-- looked up raw, outside the functions that register the module's entries.
local function orm_reads()
  local files = {}
  for _, f in ipairs(scan.files("c/orm")) do
    if not f:find("layout%.c$") then files[#files + 1] = f end
  end
  local reads, problems = {}, {}
  for _, path in ipairs(files) do
    local src = scan.source(path)
    local file = path:match("[^/]+$")
    -- the module entries' registration (core.toposort = ...) is no state field
    src = src:gsub("\nvoid qsB_open_[%w_]+%(lua_State %*L%)%s*%b{}", "")
    local tmp = os.tmpname()
    local f = assert(io.open(tmp, "w"))
    f:write(src)
    f:close()
    local r, p = field_reads({tmp}, ORM_ACCESSORS, ORM_INDIRECT)
    os.remove(tmp)
    for name, where in pairs(r) do
      reads[name] = reads[name] or {}
      for _, w in ipairs(where) do table.insert(reads[name], (w:gsub("^[^:]*", file))) end
    end
    for _, msg in ipairs(p) do problems[#problems + 1] = (msg:gsub("^[^:]*", file)) end
    for lit in src:gmatch('lua_pushliteral%(L, "([%w_]+)"%);%s*lua_rawget') do
      reads[lit] = reads[lit] or {}
      table.insert(reads[lit], file)
    end
  end
  return reads, problems
end

describe("the ORM layout contract (c/orm/layout.h)", function()
  local fields = core.orm_fields
  local reads, problems = orm_reads()

  it("places every field use of uow.c and load.c", function()
    assert.same({}, problems)
  end)

  it("lists every field uow.c and load.c use, and no other", function()
    local missing, unused = {}, {}
    for name, where in pairs(reads) do
      if not fields[name] then missing[#missing + 1] = name .. " (" .. table.concat(where, ", ") .. ")" end
    end
    for name, f in pairs(fields) do
      if not reads[name] then unused[#unused + 1] = name end
      for _, c in ipairs(words(f.carriers)) do
        assert.truthy(c == "state" or c == "mapper" or c == "load_spec", name .. ": " .. c)
      end
    end
    table.sort(missing)
    table.sort(unused)
    assert.same({}, missing)
    assert.same({}, unused)
  end)

  it("matches the states, mappers and load specs the ORM makes", function()
    local have, text, ok = corpus("orm_corpus.lua")
    assert.is_truthy(ok, text)
    local missing = {}
    for name, f in pairs(fields) do
      for _, c in ipairs(words(f.carriers)) do
        if not (have[c] and have[c][name]) then missing[#missing + 1] = name .. " on " .. c end
      end
    end
    table.sort(missing)
    assert.same({}, missing, text)
    -- the states load_objects makes are the states Lua makes
    assert.is_true(have.state_by_c ~= nil and have.state_by_c.state_mt_same, text)
  end)
end)

-- The flush plan's contract (c/orm/plan.h): the caps fields Lua hands to
-- core.plan_batches and the modes it gets back, named in that header only.
-- lplan.c takes the names from the list (no literal of its own), and
-- orm/flush_write.lua builds the caps with those fields and reads the
-- modes through core.plan_modes.
describe("the flush plan contract (c/orm/plan.h)", function()
  local fields, modes = core.plan_fields, core.plan_modes
  local header = scan.source("c/orm/plan.h")
  local binding = scan.source("c/orm/lplan.c")
  local writer = assert(io.open("lua/quicksilver/orm/flush_write.lua")):read("*a")

  it("is exported: every caps field with its meaning, the modes numbered from 1", function()
    local n = 0
    for name, f in pairs(fields) do
      n = n + 1
      assert.equal("plan_caps", f.carriers, name)
      assert.truthy(f.form == "boolean" or f.form == "number", name)
      assert.is_true(#f.meaning > 0, name)
      assert.truthy(header:find("X(" .. name .. ",", 1, true), name)
    end
    assert.equal(5, n)
    local seen = {}
    for name, v in pairs(modes) do
      assert.truthy(header:find(", " .. name .. ", \"", 1, true), name)
      assert.is_nil(seen[v], name)
      seen[v] = true
    end
    for i = 1, #seen do assert.is_true(seen[i]) end
  end)

  it("is the only place the binding names the caps fields", function()
    local own = {}
    for name in pairs(fields) do
      if binding:find('"' .. name .. '"', 1, true) then own[#own + 1] = name end
    end
    table.sort(own)
    assert.same({}, own)
  end)

  it("matches the caps flush_write builds and the modes it reads", function()
    local missing = {}
    for name in pairs(fields) do
      if not writer:find("%f[%w_]" .. name .. " = ") then missing[#missing + 1] = name end
    end
    table.sort(missing)
    assert.same({}, missing)
    local unknown, used = {}, {}
    for name in writer:gmatch("MODE%.([%w_]+)") do
      used[name] = true
      if not modes[name] then unknown[#unknown + 1] = name end
    end
    assert.same({}, unknown)
    -- every mode but the last is tested by name; row_by_row is the else
    for name in pairs(modes) do
      if name ~= "row_by_row" then assert.is_true(used[name], name) end
    end
  end)
end)
