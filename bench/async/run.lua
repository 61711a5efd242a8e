-- bench/async/run.lua: `make bench BACKEND=async` (bench/run.sh starts a
-- throwaway PostgreSQL and MariaDB and sets QS_BENCH_PG_URL and
-- QS_BENCH_MYSQL_URL). Two measurements of issue 19, each in its own
-- process per round, rounds interleaved, medians:
--   1. QS_BENCH_SMALL (1000) small queries on one connection, blocking vs
--      through each waiter (the waiter's overhead; target <= 1.2x);
--   2. N concurrent 0.1 s server sleeps for N = 1, 10, 50 (wall time vs N).
-- Writes its section into docs/PERFORMANCE.md between the async markers
-- (bench/run.lua keeps that section when it rewrites the rest).
local SMALL = tonumber(os.getenv("QS_BENCH_SMALL")) or 1000
local ROUNDS = tonumber(os.getenv("QS_BENCH_ROUNDS")) or 3
local BUILD = os.getenv("BUILD") or "build"
local LUA = os.getenv("LUA") or "lua5.4"
local URLS = {
  {name = "PostgreSQL", key = "postgresql", url = os.getenv("QS_BENCH_PG_URL")},
  {name = "MariaDB", key = "mysql", url = os.getenv("QS_BENCH_MYSQL_URL")},
}
local NS = {1, 10, 50}
local DOC = "docs/PERFORMANCE.md"
local BEGIN, END = "<!-- async:begin (bench/async/run.lua) -->", "<!-- async:end -->"

local paths = "LUA_PATH='lua/?.lua;lua/?/init.lua;;' LUA_CPATH='" .. BUILD .. "/?.so;;' "

-- The schedulers this Lua has (cqueues and luv when installed).
local support = dofile("bench/support.lua")
local run, sh, median, fmt = support.run, support.sh, support.median, support.fmt

local function have(mod)
  local p = io.popen(paths .. LUA .. " -e 'require(\"" .. mod .. "\")' 2>/dev/null; echo $?")
  local rc = p:read("*a"):match("(%d+)%s*$")
  p:close()
  return rc == "0"
end
local SCHEDS = {"blocking", "loop"}
for _, s in ipairs({"cqueues", "luv"}) do
  if have(s) then SCHEDS[#SCHEDS + 1] = s end
end




-- results[backend][key] = list of seconds
local results = {}
for _, b in ipairs(URLS) do
  assert(b.url, "QS_BENCH_PG_URL and QS_BENCH_MYSQL_URL must be set (make bench BACKEND=async starts servers)")
  results[b.key] = {}
end
local function collect(into, out)
  for k, v in out:gmatch("(%S+) (%d+%.%d+)") do
    into[k] = into[k] or {}
    table.insert(into[k], tonumber(v))
  end
end

for round = 1, ROUNDS do
  for _, b in ipairs(URLS) do
    for _, s in ipairs(SCHEDS) do
      collect(results[b.key], run(string.format("%s%s bench/async/measure.lua %q small %s %d", paths, LUA, b.url, s, SMALL)))
      for _, n in ipairs(NS) do
        collect(results[b.key], run(string.format("%s%s bench/async/measure.lua %q sleep %s %d", paths, LUA, b.url, s, n)))
      end
    end
    io.stderr:write(string.format("round %d/%d %s done\n", round, ROUNDS, b.name))
  end
end

local lines = {}
local function out(s) lines[#lines + 1] = s; print(s) end
local function ratio(a, b) return (a and b) and string.format("%.2f×", a / b) or "—" end

out(BEGIN)
out("## Non-blocking I/O (issue 19)")
out("")
out("Written by `make bench BACKEND=async` (bench/async/run.lua); medians of " .. ROUNDS ..
  " rounds, one process per measurement, rounds interleaved; a throwaway PostgreSQL and MariaDB")
out("on this machine over TCP on 127.0.0.1 (spec/support/servers.sh). " .. sh(LUA .. " -v") .. ".")
out("")
out(string.format("%d small queries (`SELECT 1`, `exec_driver_sql`) on one connection: blocking (the main", SMALL))
out("thread, no waiter) against the same loop in a coroutine whose every wait goes through a waiter")
out("(docs/ASYNC.md); each process times 5 runs and keeps the best. The ratio is the waiter's")
out("overhead; the target is ≤ 1.2×.")
out("")
local head, sep = {"| backend | blocking"}, {"|---|---"}
for i = 2, #SCHEDS do
  head[#head + 1] = " | " .. SCHEDS[i] .. " | " .. SCHEDS[i] .. " / blocking"
  sep[#sep + 1] = "|---|---"
end
out(table.concat(head) .. " |")
out(table.concat(sep) .. "|")
for _, b in ipairs(URLS) do
  local r = results[b.key]
  local base = median(r.small_blocking)
  local row = {"| " .. b.name .. " | " .. fmt(base)}
  for i = 2, #SCHEDS do
    local m = median(r["small_" .. SCHEDS[i]])
    row[#row + 1] = " | " .. fmt(m) .. " | " .. ratio(m, base)
  end
  out(table.concat(row) .. " |")
end
out("")
out("N coroutines each running a 0.1 s server sleep (`SELECT pg_sleep(0.1)` / `SELECT SLEEP(0.1)`),")
out("each on its own connection of a pool of N opened beforehand; wall time from the first spawn")
out("to the last result. Blocking runs them one after another (N × 0.1 s).")
out("")
head, sep = {"| backend | N | blocking"}, {"|---|---|---"}
for i = 2, #SCHEDS do
  head[#head + 1] = " | " .. SCHEDS[i]
  sep[#sep + 1] = "|---"
end
out(table.concat(head) .. " |")
out(table.concat(sep) .. "|")
for _, b in ipairs(URLS) do
  for _, n in ipairs(NS) do
    local r = results[b.key]
    local row = {string.format("| %s | %d", b.name, n)}
    for _, s in ipairs(SCHEDS) do row[#row + 1] = " | " .. fmt(median(r["sleep" .. n .. "_" .. s])) end
    out(table.concat(row) .. " |")
  end
end
out(END)

support.write_section(DOC, BEGIN, END, lines)
print("\nwritten to " .. DOC)
