--- bench/wire/pg.lua: the PostgreSQL wire driver (postgresql+wire://)
--- against the libpq driver (postgresql://) on one server, blocking mode:
--- 1,000 small `SELECT $1` round trips and a 10,000-row fetch, medians of
--- RUNS runs each, interleaved so that load on the machine hits both alike.
---
---   LUA_PATH=... LUA_CPATH=build/?.so;; lua5.4 bench/wire/pg.lua postgresql://qs@127.0.0.1:54421/qs_test
local qs = require("quicksilver")
local now = require("quicksilver.core").now
local support = dofile((arg[0]:gsub("wire/pg%.lua$", "")) .. "support.lua")

local url = assert(arg[1], "usage: lua bench/wire/pg.lua postgresql://user@host:port/db")
local RUNS = tonumber(os.getenv("RUNS") or "7")

local function engine(driver)
  local u = qs.make_url(url):set({drivername = driver})
  return qs.create_engine(u, {pool_size = 1})
end

local workloads = {
  {"1,000 x SELECT $1", function(c)
    for i = 1, 1000 do assert(c:exec_driver_sql("SELECT $1::int", {i}):scalar() == i) end
  end},
  {"10,000-row fetch", function(c)
    local rows = c:exec_driver_sql("SELECT i, 'name ' || i, i * 0.5 FROM generate_series(1, 10000) i"):all()
    assert(#rows == 10000)
  end},
}

local engines = {libpq = engine("postgresql"), wire = engine("postgresql+wire")}
local times = {}
for _, w in ipairs(workloads) do times[w[1]] = {libpq = {}, wire = {}} end
for _ = 1, RUNS do
  for _, name in ipairs({"libpq", "wire"}) do
    engines[name]:connect(function(c)
      for _, w in ipairs(workloads) do
        w[2](c)   -- warm: statements prepared, the connection open
        local t0 = now()
        w[2](c)
        local t = times[w[1]][name]
        t[#t + 1] = now() - t0
      end
    end)
  end
end
print(string.format("%-20s %12s %12s %8s", "workload", "libpq", "pgwire", "ratio"))
for _, w in ipairs(workloads) do
  local a, b = support.median(times[w[1]].libpq), support.median(times[w[1]].wire)
  print(string.format("%-20s %12s %12s %7.2fx", w[1], support.fmt(a), support.fmt(b), b / a))
end
for _, e in pairs(engines) do e:dispose() end
