-- The dependency rules of docs/ARCHITECTURE.md, checked on the sources.
--
-- Lua: orm -> engine -> sql -> core, never back. Every require counts,
-- wherever it stands in a file (a require inside a function is a
-- dependency all the same, only hidden): `require("m")`, `require "m"` and
-- `pcall(require, "m")`. Within the layers, no cycles between modules:
-- two modules that need each other are one concern cut in two, or need a
-- third module lower down.
--
-- C (#include "..." resolved by file name to its folder; <lua.h>,
-- <lauxlib.h>, <lualib.h>, <luajit.h>, <luaconf.h> and compat.h are "Lua"):
--   c/include, c/core, c/dialect, c/protocol and the Lua-free drivers
--     (c/driver/sqlite3.c, libpq.c, mariadb.c, wire_*, and what they share)
--     never include Lua or a header of c/binding, c/compiler, c/orm or the
--     driver module entries;
--     c/dialect's own header (dialects.h) stays inside c/dialect;
--   c/protocol (the wire codecs, sans-I/O) includes the public header, its
--     own headers and libc only;
--   the driver module entries (c/driver/l*.c, lregister.h) include Lua and
--     the public header, never c/binding, c/compiler or c/orm (they are
--     separate rocks);
--   c/binding never includes c/compiler or c/orm headers (they sit on it);
--   c/compiler and c/orm may include c/binding headers, not each other's;
--   the Lua-free part of c/orm (plan.c, plan.h: the flush's plan, which
--     c/test links without Lua) includes the public header, its own
--     header and libc only.
-- c/test is not checked (the allocation test drives Lua on purpose).
local sources = require("spec.support.sources")
local found, read, modname = sources.find, sources.read, sources.modname

-- Module files (*.d.lua files are LuaLS descriptions, not modules).
local function lua_files()
  return found("find lua/quicksilver -name '*.lua' ! -name '*.d.lua'")
end

-- layer of a module name; lower numbers sit lower
local function layer(name)
  if name == "quicksilver.core" then return 0, "core" end
  if name == "quicksilver.util" or name == "quicksilver.exc" or name == "quicksilver.event"
    or name == "quicksilver.waiting" then
    return 1, "base"
  end
  -- the schedulers' waiters (docs/ASYNC.md): they need core.poll and core.now only
  if name:find("^quicksilver%.async%.") then return 1, "base" end
  if name:find("^quicksilver%.sql%.") or name:find("^quicksilver%.dialects") then return 2, "sql" end
  if name:find("^quicksilver%.engine%.") or name:find("^quicksilver%.schema") then return 3, "engine" end
  -- the OpenResty glue: a pool the engine puts in front of its own under ngx_lua
  if name == "quicksilver.ngx" or name:find("^quicksilver%.ngx%.") then return 3, "engine" end
  if name:find("^quicksilver%.orm") or name:find("^quicksilver%.ext") then return 4, "orm" end
  if name:find("^quicksilver%.migrate") or name:find("^quicksilver%.cli") then return 5, "tools" end
  if name == "quicksilver" then return 4, "facade" end
  return nil
end

-- The module names a Lua source requires, anywhere in it (comments left out).
local function requires_of(src)
  src = src:gsub("%-%-%[(=*)%[.-%]%1%]", ""):gsub("%-%-[^\n]*", "")
  local out, seen = {}, {}
  local function add(dep)
    if not seen[dep] then seen[dep] = true; out[#out + 1] = dep end
  end
  for dep in src:gmatch("require%s*%(?%s*[\"']([%w%._]+)[\"']") do add(dep) end
  for dep in src:gmatch("pcall%s*%(%s*require%s*,%s*[\"']([%w%._]+)[\"']") do add(dep) end
  return out
end

-- module name -> list of quicksilver modules it requires
local function lua_graph()
  local g = {}
  for _, path in ipairs(lua_files()) do
    local deps = {}
    for _, dep in ipairs(requires_of(read(path))) do
      if dep == "quicksilver" or dep:find("^quicksilver%.") then deps[#deps + 1] = dep end
    end
    g[modname(path)] = deps
  end
  return g
end

-- The cycles of a graph: its strongly connected components of more than one
-- module (Tarjan), each a sorted list joined by " <-> ".
local function cycles(g)
  local index, low, on, stack, n, out = {}, {}, {}, {}, 0, {}
  local function visit(v)
    n = n + 1
    index[v], low[v] = n, n
    stack[#stack + 1] = v
    on[v] = true
    for _, w in ipairs(g[v] or {}) do
      if g[w] then
        if not index[w] then
          visit(w)
          low[v] = math.min(low[v], low[w])
        elseif on[w] then
          low[v] = math.min(low[v], index[w])
        end
      end
    end
    if low[v] == index[v] then
      local comp = {}
      repeat
        local w = table.remove(stack)
        on[w] = nil
        comp[#comp + 1] = w
      until w == v
      if #comp > 1 then
        table.sort(comp)
        out[#out + 1] = table.concat(comp, " <-> ")
      end
    end
  end
  local names = {}
  for v in pairs(g) do names[#names + 1] = v end
  table.sort(names)
  for _, v in ipairs(names) do
    if not index[v] then visit(v) end
  end
  table.sort(out)
  return out
end

-- Cycles allowed for a while (none now: the ORM's and the migrations' went
-- with issue 18). The list is never to grow: a cycle that is not here fails
-- the spec, and so does one here that is gone.
local KNOWN_CYCLES = {
}

describe("layering (Lua)", function()
  it("sees a require wherever it stands, comments left out", function()
    local deps = requires_of([[
local a = require("quicksilver.a")
local function f() return require "quicksilver.b" end
local ok = pcall(require, 'quicksilver.c')
-- require("quicksilver.commented")
--[==[ require("quicksilver.block") ]==]
]])
    assert.same({"quicksilver.a", "quicksilver.b", "quicksilver.c"}, deps)
  end)

  it("finds cycles of any length, and only cycles", function()
    assert.same({"a <-> b <-> c"}, cycles({a = {"b"}, b = {"c"}, c = {"a"}, d = {"a"}}))
    assert.same({}, cycles({a = {"b"}, b = {"c"}, c = {}}))
  end)

  it("never requires upwards", function()
    local bad = {}
    local g = lua_graph()
    local names = {}
    for me in pairs(g) do names[#names + 1] = me end
    table.sort(names)
    for _, me in ipairs(names) do
      local mine, myname = layer(me)
      if mine then
        for _, dep in ipairs(g[me]) do
          local theirs, tname = layer(dep)
          if theirs and theirs > mine then
            bad[#bad + 1] = string.format("%s (%s) requires %s (%s)", me, myname, dep, tname)
          end
        end
      end
    end
    assert.same({}, bad)
  end)

  it("has no require cycles beyond the known ones", function()
    local known = {}
    for _, c in ipairs(KNOWN_CYCLES) do known[c] = true end
    local new = {}
    for _, c in ipairs(cycles(lua_graph())) do
      if not known[c] then new[#new + 1] = c end
    end
    assert.same({}, new)
  end)

  it("lists no known cycle that is gone (the list only shrinks)", function()
    local now = {}
    for _, c in ipairs(cycles(lua_graph())) do now[c] = true end
    local gone = {}
    for _, c in ipairs(KNOWN_CYCLES) do
      if not now[c] then gone[#gone + 1] = c end
    end
    assert.same({}, gone)
  end)

  it("classifies every module", function()
    local unknown = {}
    for _, path in ipairs(lua_files()) do
      if not layer(modname(path)) then unknown[#unknown + 1] = modname(path) end
    end
    assert.same({}, unknown)
  end)
end)

---------------------------------------------------------------------------------------------
-- C
---------------------------------------------------------------------------------------------

local LUA_HEADERS = {["lua.h"] = true, ["lauxlib.h"] = true, ["lualib.h"] = true, ["luajit.h"] = true,
  ["luaconf.h"] = true, ["compat.h"] = true}
-- (pg_text, pg_common: what libpq.c and wire_pg.c share; my_common, opts: what
-- mariadb.c and wire_my.c share; detached: the counted detached cancel threads;
-- sqlite_regexp: the REGEXP functions sqlite3.c registers)
local LUA_FREE_DRIVERS = {["sqlite3.c"] = true, ["sqlite_regexp.c"] = true, ["sqlite_regexp.h"] = true,
  ["libpq.c"] = true, ["libpq_prepare.c"] = true, ["libpq_pipeline.c"] = true, ["libpq_conn.h"] = true, ["mariadb.c"] = true, ["mariadb_stmt.c"] = true, ["mariadb_conn.h"] = true,
  ["pg_text.c"] = true, ["pg_text.h"] = true, ["pg_common.c"] = true, ["pg_common.h"] = true,
  ["my_common.c"] = true, ["my_common.h"] = true, ["opts.c"] = true, ["opts.h"] = true,
  ["detached.c"] = true, ["detached.h"] = true}

-- The Lua-free files of c/orm: the C part of the unit of work c/test
-- drives without Lua (orm_plan: the public header and each other only).
local LUA_FREE_ORM = {["plan.c"] = true, ["plan.h"] = true}

-- The zone of a file under c/ (nil: not checked).
local function zone(path)
  local dir, file = path:match("^c/([%w_]+)/([^/]+)$")
  if not dir then return nil end
  -- the wire drivers (wire_*.c/h: their byte pipe and protocol drivers) are Lua-free too
  if dir == "driver" then
    return (LUA_FREE_DRIVERS[file] or file:match("^wire_")) and "driver" or "driver_module"
  end
  if dir == "test" then return nil end
  -- the flush's plan (plan.c/h): c/test links it without Lua
  if dir == "orm" and LUA_FREE_ORM[file] then return "orm_plan" end
  return dir   -- include, core, dialect, protocol, binding, compiler, orm
end

-- What each zone may include: "lua", "system" (other <...>), or zones.
local ALLOWED = {
  include = {system = true},
  core = {system = true, include = true, core = true},   -- its own internal headers (clock.h)
  dialect = {system = true, include = true, dialect = true},
  protocol = {system = true, include = true, protocol = true},   -- the wire codecs (pgwire.h)
  driver = {system = true, include = true, protocol = true, driver = true},   -- wire drivers: codecs, pipe
  driver_module = {system = true, include = true, lua = true, driver_module = true},
  binding = {system = true, include = true, lua = true, binding = true, driver = true},
  compiler = {system = true, include = true, lua = true, binding = true, compiler = true},
  orm = {system = true, include = true, lua = true, binding = true, orm = true, orm_plan = true},
  orm_plan = {system = true, include = true, orm_plan = true},
}

local function c_files()
  return found("find c -name '*.[ch]'")
end

-- header file name -> zone of the folder that holds it
local function header_zones(files)
  local zones = {}
  for _, path in ipairs(files) do
    local z = zone(path)
    local name = path:match("([^/]+%.h)$")
    if z and name then zones[name] = z end
  end
  return zones
end

-- The zone an #include line reaches.
local function target(line, zones)
  local q, name = line:match('^%s*#%s*include%s*([<"])([^>"]+)[>"]')
  if not q then return nil end
  local base = name:match("([^/]+)$")
  if LUA_HEADERS[base] then return "lua", name end
  if q == '"' and zones[base] then return zones[base], name end
  return "system", name
end

-- The #include rule broken by each file: "file includes name (zone)".
local function include_violations(files)
  local zones = header_zones(files)
  local bad = {}
  for _, path in ipairs(files) do
    local z = zone(path)
    if z then
      for line in read(path):gmatch("[^\n]+") do
        local t, name = target(line, zones)
        if t and not ALLOWED[z][t] then
          bad[#bad + 1] = string.format("%s (%s) includes %s (%s)", path, z, name, t)
        end
      end
    end
  end
  return bad
end

describe("layering (C includes)", function()
  it("every folder under c/ has a zone with rules", function()
    local missing = {}
    for _, path in ipairs(c_files()) do
      local z = zone(path)
      if z and not ALLOWED[z] then missing[#missing + 1] = path end
    end
    assert.same({}, missing)
  end)

  it("tells a Lua header, a folder's header and a system header apart", function()
    local zones = {["lbinding.h"] = "binding", ["dialects.h"] = "dialect"}
    assert.equal("lua", (target("#include <lauxlib.h>", zones)))
    assert.equal("lua", (target('#include "compat.h"', zones)))
    assert.equal("binding", (target('#include "lbinding.h"', zones)))
    assert.equal("dialect", (target('  #  include "dialects.h"', zones)))
    assert.equal("system", (target("#include <sqlite3.h>", zones)))
    assert.is_nil(target("int include = 1;", zones))
    assert.equal("protocol", zone("c/protocol/pgwire.c"))
    assert.is_nil(ALLOWED.protocol.lua)
    assert.is_nil(ALLOWED.protocol.binding)
    assert.equal("orm_plan", zone("c/orm/plan.c"))
    assert.equal("orm", zone("c/orm/lplan.c"))
    assert.is_nil(ALLOWED.orm_plan.lua)
    assert.is_nil(ALLOWED.orm_plan.binding)
  end)

  it("keeps the Lua-free core, dialects and drivers free of Lua, and each folder below its users", function()
    assert.same({}, include_violations(c_files()))
  end)
end)
