--- worker.lua: the Lua side of host.c. host.c loads this file in each of its
--- Lua states (one per OS thread, plus the main thread's) and calls:
---   setup(url)                   main thread, before the workers: the schema
---   work(url, thread, jobs)      each worker thread: `jobs` saves, one transaction each
---   report(url, threads, jobs)   main thread, after the workers: checks and prints
--- Every state makes its own engine with the same shared_pool name and
--- settings, so the process has ONE pool of POOL_SIZE connections, which the
--- threads take turns on (a thread waits in the pool's line while all are out).
local qs = require("quicksilver")

local M = {}

local POOL_SIZE = 2

local saves = qs.Table("host_saves", qs.MetaData(),
  qs.Column("thread", qs.Integer, {primary_key = true, autoincrement = false}),
  qs.Column("seq", qs.Integer, {primary_key = true, autoincrement = false}),
  qs.Column("score", qs.Integer, {nullable = false}))

-- The same options in every state: the pool is shared only by engines that agree.
local function engine_for(url)
  return qs.create_engine(url, {shared_pool = "game", pool_size = POOL_SIZE, max_overflow = 0})
end

local main_engine   -- the main thread's, kept from setup to report

---@param url string
function M.setup(url)
  main_engine = engine_for(url)
  saves.metadata:drop_all(main_engine)
  saves.metadata:create_all(main_engine)
end

--- A worker thread's work: `jobs` saves, each its own short transaction (a
--- connection is held only while one runs). Returns the saves done.
---@param url string
---@param thread integer
---@param jobs integer
---@return integer
function M.work(url, thread, jobs)
  local engine = engine_for(url)
  local done = 0
  for seq = 1, jobs do
    engine:begin(function(conn)
      conn:execute(qs.insert(saves), {thread = thread, seq = seq, score = thread * 1000 + seq})
    end)
    done = done + 1
  end
  engine:dispose()   -- detaches this engine; the pool stays for the others
  return done
end

--- Checks that every thread's saves landed and that no connection is left
--- checked out; prints the figures. Returns true when all is well.
---@param url string
---@param threads integer
---@param jobs integer
---@return boolean
function M.report(url, threads, jobs)
  local engine = main_engine or engine_for(url)
  local per_thread = {}
  engine:connect(function(conn)
    local q = qs.select(saves.c.thread, qs.func.count(), qs.func.sum(saves.c.score))
      :group_by(saves.c.thread):order_by(saves.c.thread)
    for _, row in ipairs(conn:execute(q):all()) do per_thread[row[1]] = {n = row[2], sum = row[3]} end
  end)
  local ok = true
  for t = 1, threads do
    local got = per_thread[t] or {n = 0, sum = 0}
    local want = jobs * t * 1000 + jobs * (jobs + 1) / 2
    local good = got.n == jobs and tonumber(got.sum) == want
    ok = ok and good
    print(string.format("thread %d: %d saves %s", t, got.n, good and "landed" or "MISSING"))
  end
  local s = engine.pool:status_table()
  print(string.format("pool 'game': size %d, open %d, checked out %d, %d checkouts, %d connects",
    s.size, s.open, s.checked_out, s.checkouts, s.connects))
  engine:dispose()
  return ok and s.checked_out == 0 and s.open <= POOL_SIZE
end

return M
