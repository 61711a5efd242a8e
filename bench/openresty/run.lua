-- bench/openresty/run.lua: `make bench BACKEND=openresty` (bench/run.sh starts
-- a throwaway PostgreSQL and sets QS_BENCH_PG_URL). One nginx worker runs the
-- specs' application (spec/openresty/app/app.lua, pools of 10), driven by 10
-- concurrent keep-alive HTTP clients (spec/support/nginx.lua: Lua 5.4 and
-- cqueues) for a fixed time per measurement, rounds interleaved, medians:
--   1. `SELECT pg_sleep(0.2)` per request: requests/s over the cosocket
--      driver (target >= 40; the ceiling is 10 / 0.2 = 50) and over the
--      blocking libpq driver (the state before issue 20);
--   2. meanwhile, a no-database endpoint polled every 10 ms: its p99 latency
--      (target <= 50 ms);
--   3. a small query (`SELECT CAST($1 AS INTEGER) + 1`) per request:
--      requests/s over the cosocket driver vs the blocking libpq driver
--      (target: not slower).
-- Writes docs/PERFORMANCE_OPENRESTY.md.
package.path = "lua/?.lua;lua/?/init.lua;spec/?.lua;" .. package.path
local ngxs = require("spec.support.nginx")
local cqueues = require("cqueues")
local support = dofile("bench/support.lua")
local median, sh = support.median, support.sh

local URL = assert(os.getenv("QS_BENCH_PG_URL"),
  "QS_BENCH_PG_URL must be set (make bench BACKEND=openresty starts a server)")
local PORT = tonumber(os.getenv("QS_BENCH_NGINX_PORT") or "18449")
local ROUNDS = tonumber(os.getenv("QS_BENCH_ROUNDS")) or 5
local SECONDS = tonumber(os.getenv("QS_BENCH_SECONDS")) or 3
local CLIENTS = 10
local DOC = "docs/PERFORMANCE_OPENRESTY.md"

local blocking_url = URL:gsub("^postgresql://", "postgresql+libpq://")
local LOAD = sh("cut -d' ' -f1-3 /proc/loadavg")

-- CLIENTS clients, each on its own keep-alive connection, GET path in a loop
-- for SECONDS; with probe, one more client GETs /nodb every 10 ms and its
-- latencies are kept. Returns requests/s and the probe's latencies.
local function load(path, probe)
  local count, failures = 0, 0
  local latencies = {}
  local t0 = ngxs.now()
  local stop = t0 + SECONDS
  local fns = {}
  for i = 1, CLIENTS do
    fns[i] = function()
      local c = ngxs.client(PORT)
      while ngxs.now() < stop do
        local status = c:get(path)
        if status == 200 then count = count + 1 else failures = failures + 1 end
      end
      c:close()
    end
  end
  if probe then
    fns[#fns + 1] = function()
      local c = ngxs.client(PORT)
      while ngxs.now() < stop do
        local t = ngxs.now()
        assert(c:get("/nodb") == 200)
        latencies[#latencies + 1] = ngxs.now() - t
        cqueues.sleep(0.01)
      end
      c:close()
    end
  end
  ngxs.concurrently(fns)
  if failures > 0 then error(path .. ": " .. failures .. " requests failed", 0) end
  return count / (ngxs.now() - t0), latencies
end

local function percentile(list, p)
  table.sort(list)
  if #list == 0 then return nil end
  return list[math.max(1, math.ceil(#list * p))]
end

local server = ngxs.start({port = PORT,
  init = string.format('require("app").init(%q, %q, %d)', URL, blocking_url, CLIENTS),
  server = 'location / { content_by_lua_block { require("app").route() } }'})

local res = {sleep = {}, sleep_blocking = {}, p99 = {}, p50 = {}, small = {}, small_blocking = {},
  probes = 0}
local ok, err = pcall(function()
  -- warm up: every pooled connection opened, statements prepared
  load("/small?n=1")
  load("/blocking/small?n=1")
  for round = 1, ROUNDS do
    local rps, lat = load("/sleep?s=0.2", true)
    table.insert(res.sleep, rps)
    table.insert(res.p99, percentile(lat, 0.99))
    table.insert(res.p50, percentile(lat, 0.5))
    res.probes = res.probes + #lat
    table.insert(res.small, (load("/small?n=1")))
    table.insert(res.small_blocking, (load("/blocking/small?n=1")))
    if round == 1 then   -- the blocking driver on sleeps: slow, once is enough
      table.insert(res.sleep_blocking, (load("/blocking/sleep?s=0.2")))
    end
    io.stderr:write(string.format("round %d: sleep %.1f/s (p99 nodb %.1f ms), small %.0f/s vs libpq %.0f/s\n",
      round, res.sleep[round], res.p99[round] * 1000, res.small[round], res.small_blocking[round]))
  end
end)
server:stop()
if not ok then error(err, 0) end

local sleep, p99, p50 = median(res.sleep), median(res.p99), median(res.p50)
local small, small_b = median(res.small), median(res.small_blocking)
local function verdict(good) return good and "met" or "**missed**" end

local lines = {
  "# quicksilver under OpenResty",
  "",
  "Written by `make bench BACKEND=openresty` (bench/openresty/run.lua); do not edit by hand.",
  "",
  string.format("Machine: %s; %s; %s; PostgreSQL %s on loopback (a throwaway server).",
    sh("uname -srm"), sh("nginx -v 2>&1 | sed 's/^nginx version: //'"),
    sh("luajit -v | cut -d' ' -f1-2"), sh("psql --version | awk '{print $3}'")),
  string.format("One nginx worker; the specs' application (spec/openresty/app/app.lua), pools of %d " ..
    "connections; %d concurrent keep-alive HTTP clients (Lua 5.4, cqueues: spec/support/nginx.lua) " ..
    "for %d s per measurement; %d rounds interleaved, medians.", CLIENTS, CLIENTS, SECONDS, ROUNDS),
  "",
  "| measurement | result | target |",
  "|---|---|---|",
  string.format("| `SELECT pg_sleep(0.2)` per request, cosocket driver (pgwire) | %.1f requests/s | >= 40 (ceiling 50): %s |",
    sleep, verdict(sleep >= 40)),
  string.format("| the same, blocking libpq driver (`postgresql+libpq://`, before issue 20) | %.1f requests/s | — |",
    median(res.sleep_blocking)),
  string.format("| no-database endpoint during the sleeps, p99 latency (p50) | %.1f ms (%.1f ms), %d probes | <= 50 ms: %s |",
    p99 * 1000, p50 * 1000, res.probes, verdict(p99 <= 0.05)),
  string.format("| small query per request, cosocket driver (pgwire) | %.0f requests/s | not slower than libpq: %s |",
    small, verdict(small >= small_b * 0.97)),
  string.format("| small query per request, blocking libpq driver | %.0f requests/s | — |", small_b),
  "",
  "Per round: sleeps " .. table.concat((function()
    local t = {}
    for i, v in ipairs(res.sleep) do t[i] = string.format("%.1f", v) end
    return t
  end)(), ", ") .. " requests/s; small queries cosocket " .. table.concat((function()
    local t = {}
    for i, v in ipairs(res.small) do t[i] = string.format("%.0f", v) end
    return t
  end)(), ", ") .. " vs libpq " .. table.concat((function()
    local t = {}
    for i, v in ipairs(res.small_blocking) do t[i] = string.format("%.0f", v) end
    return t
  end)(), ", ") .. " requests/s.",
  "",
  "Reading it: with the blocking driver the worker serves one request at a time (10 sleeping",
  "clients give 1 / 0.2 = 5 requests/s, and every other request of the worker waits behind",
  "them); over cosockets the worker sleeps on all ten at once. The small-query figures",
  "include the HTTP clients, which run on the same machine and share its cores; the",
  "per-round figures show how much other load on the machine moves them (load average at",
  string.format("the start: %s), which is why the rounds are interleaved and only medians compared.",
    LOAD),
  "",
}
local f = assert(io.open(DOC, "w"))
f:write(table.concat(lines, "\n"))
f:close()
print(table.concat(lines, "\n"))
