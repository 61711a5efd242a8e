-- bench/async/measure.lua: one process, one measurement (bench/async/run.lua
-- runs it in rounds). Prints "key seconds" lines.
--
--   measure.lua URL small SCHED N     N small queries (SELECT 1) on one connection (best of 5)
--   measure.lua URL sleep SCHED N     N coroutines each running a 0.1 s server sleep
--
-- SCHED: blocking (no waiter, the main thread), loop (quicksilver.async.loop),
-- cqueues, luv. With "blocking", the sleeps run one after another.
local qs = require("quicksilver")
local now = require("quicksilver.core").now

local url, workload, sched, n = arg[1], arg[2], arg[3], tonumber(arg[4])
assert(url and workload and sched and n, "usage: measure.lua URL small|sleep blocking|loop|cqueues|luv N")

local SLEEP = {postgresql = "SELECT pg_sleep(0.1)", mysql = "SELECT SLEEP(0.1)"}

-- The scheduler: its waiter, and run(fns), which runs each fn in a coroutine
-- of its own until all are done (errors raised).
local waiter, run
if sched == "blocking" then
  run = function(fns) for _, fn in ipairs(fns) do fn() end end
elseif sched == "loop" then
  local loop = require("quicksilver.async.loop")
  waiter = loop.waiter
  run = function(fns)
    local l = loop.new()
    for _, fn in ipairs(fns) do l:spawn(fn) end
    l:run()
  end
elseif sched == "cqueues" then
  local cqueues = require("cqueues")
  waiter = require("quicksilver.async.cqueues").waiter
  run = function(fns)
    local cq = cqueues.new()
    for _, fn in ipairs(fns) do cq:wrap(fn) end
    assert(cq:loop())
  end
elseif sched == "luv" then
  local uv = require("luv")
  local a = require("quicksilver.async.luv")
  waiter = a.waiter
  run = function(fns)
    for _, fn in ipairs(fns) do a.spawn(fn) end
    uv.run()
  end
else
  error("unknown scheduler " .. sched)
end

local size = workload == "sleep" and n or 1
local engine = qs.create_engine(url, {waiter = waiter, pool_size = size, max_overflow = 0})
local backend = engine.dialect.name

-- Every connection the workload needs opened before the clock starts.
local warm = {}
for i = 1, size do
  warm[i] = function() engine:connect(function(c) c:exec_driver_sql("SELECT 1") end) end
end
if sched == "blocking" then
  engine:connect(function(c) c:exec_driver_sql("SELECT 1") end)
else
  -- all at once, so that the pool opens size connections
  run(warm)
end

if workload == "small" then
  local t
  run({function()
    engine:connect(function(c)
      for _ = 1, 20 do c:exec_driver_sql("SELECT 1") end   -- warm the statement path
      -- the best of 5 runs: a run is a few tens of milliseconds, which the
      -- other processes of a shared machine easily disturb
      for _ = 1, 5 do
        local t0 = now()
        for _ = 1, n do c:exec_driver_sql("SELECT 1") end
        local d = now() - t0
        if not t or d < t then t = d end
      end
    end)
  end})
  print(string.format("small_%s %.6f", sched, t))
elseif workload == "sleep" then
  local sql = assert(SLEEP[backend], "no sleep statement for " .. backend)
  local fns = {}
  for i = 1, n do
    fns[i] = function() engine:connect(function(c) c:exec_driver_sql(sql) end) end
  end
  local t = now()
  run(fns)
  print(string.format("sleep%d_%s %.6f", n, sched, now() - t))
else
  error("unknown workload " .. workload)
end
engine:dispose()
