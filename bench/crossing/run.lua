-- run.lua: times building and rendering one statement shape both ways
-- (see walk.c). Usage: make bench-crossing. Prints microseconds per statement.
local x = require("crossing")
local clock = os.clock
local N = tonumber(arg[1]) or 200000

-- A: plain Lua tables (what an immutable Lua builder produces).
local function build_tables(i)
  local cols = {}
  for c = 1, 5 do cols[c] = {_kind = "column", name = "c" .. c} end
  return {_kind = "select", columns = cols, where = {
    {_kind = "binary", left = cols[1], op = "=", right = {_kind = "bind", value = i}},
    {_kind = "binary", left = cols[2], op = ">", right = {_kind = "bind", value = i + 1}},
    {_kind = "binary", left = cols[3], op = "<", right = {_kind = "bind", value = "x"}},
  }}
end

-- B: userdata nodes made through C calls.
local colnames = {"c1", "c2", "c3", "c4", "c5"}
local function build_nodes(i)
  local cols = {}
  for c = 1, 5 do cols[c] = x.column(colnames[c]) end
  return x.select(cols, {
    x.binary(cols[1], "=", x.bind(i)),
    x.binary(cols[2], ">", x.bind(i + 1)),
    x.binary(cols[3], "<", x.bind("x")),
  })
end

local function time(label, fn)
  collectgarbage(); collectgarbage()
  local t0 = clock()
  for i = 1, N do fn(i) end
  local us = (clock() - t0) / N * 1e6
  print(string.format("%-40s %7.3f us", label, us))
  return us
end

assert(select(1, x.walk_table(build_tables(1))) == select(1, x.walk_node(build_nodes(1))))
print("statement: " .. x.walk_table(build_tables(1)))
time("A build (Lua tables)", build_tables)
time("B build (userdata via C calls)", build_nodes)
local ta, tb = build_tables(1), build_nodes(1)
time("A render (C walks Lua tables)", function() x.walk_table(ta) end)
time("B render (C follows pointers)", function() x.walk_node(tb) end)
time("A build + render", function(i) x.walk_table(build_tables(i)) end)
time("B build + render", function(i) x.walk_node(build_nodes(i)) end)
