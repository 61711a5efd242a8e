--- spec/support/states_worker.lua: a worker script for examples/game_server/host.c
--- (spec/backend/driver_states_spec.lua): every thread's Lua state opens and
--- closes connections of its own (no pool kept), thread t making jobs * t of
--- them, so states close (and end their share of the driver) while other
--- threads' states are connecting.
local qs = require("quicksilver")

local M = {}

local main_engine

---@param url string
function M.setup(url)
  main_engine = qs.create_engine(url)
  main_engine:connect(function(conn) conn:exec_driver_sql("SELECT 1") end)
end

---@param url string
---@param thread integer
---@param jobs integer
---@return integer
function M.work(url, thread, jobs)
  local done = 0
  for _ = 1, jobs * thread do
    local engine = qs.create_engine(url, {poolclass = "null"})
    engine:connect(function(conn) conn:exec_driver_sql("SELECT 1") end)
    engine:dispose()
    done = done + 1
  end
  return done
end

--- The main state connects once more after every worker state has closed.
---@param url string
---@return boolean
function M.report(url)
  local engine = qs.create_engine(url, {poolclass = "null"})
  local one = engine:connect(function(conn) return conn:exec_driver_sql("SELECT 1"):scalar() end)
  main_engine:dispose()
  print("main state connected after the workers: " .. tostring(one))
  return one == 1
end

return M
