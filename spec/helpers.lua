--- spec/helpers.lua: what the specs share. Temporary SQLite files, a statement
--- recorder, and assert_raises_kind for qs.exc errors.
local qs = require("quicksilver")

local M = {}

local tmpfiles = {}

--- A fresh temporary SQLite file name (the file does not exist yet).
function M.tmpdb()
  local name = os.tmpname()
  os.remove(name)
  name = name .. ".db"
  tmpfiles[#tmpfiles + 1] = name
  return name
end

--- Removes the files tmpdb handed out (and their journals).
function M.cleanup()
  for _, f in ipairs(tmpfiles) do
    for _, suffix in ipairs({"", "-journal", "-wal", "-shm"}) do os.remove(f .. suffix) end
  end
  tmpfiles = {}
end

--- An engine on a new temporary SQLite file.
function M.sqlite_engine(opts)
  local path = M.tmpdb()
  return qs.create_engine("sqlite:///" .. path, opts), path
end

--- Records every statement sent to the database: list of {sql, params, many}.
function M.recorder(target)
  local rec = {}
  qs.event.listen(target, "before_cursor_execute", function(_, sql, params, many)
    rec[#rec + 1] = {sql = sql, params = params, many = many}
  end)
  return rec
end

--- The SQL of the statements a recorder holds that match a Lua pattern.
function M.matching(rec, pat)
  local out = {}
  for _, r in ipairs(rec) do
    if r.sql:find(pat) then out[#out + 1] = r.sql end
  end
  return out
end

--- Empties a recorder.
function M.clear(rec)
  for i = #rec, 1, -1 do rec[i] = nil end
end

--- The index of the first (last) recorded statement matching pat, or nil.
function M.first_index(rec, pat)
  for i, r in ipairs(rec) do
    if r.sql:find(pat) then return i end
  end
  return nil
end

function M.last_index(rec, pat)
  local at
  for i, r in ipairs(rec) do
    if r.sql:find(pat) then at = i end
  end
  return at
end

--- Calls fn, expects it to raise a qs.exc error of class cls; returns the error.
function M.assert_raises_kind(cls, fn, ...)
  local ok, err = pcall(fn, ...)
  assert(not ok, "expected " .. tostring(cls.name) .. ", but nothing was raised")
  assert(type(err) == "table" and err.is_a,
    "expected " .. tostring(cls.name) .. ", got a non-quicksilver error: " .. tostring(err))
  assert(err:is_a(cls), "expected " .. tostring(cls.name) .. ", got " .. tostring(err))
  return err
end

--- The backend the behaviour suite (spec/backend/) runs on: QS_BACKEND =
--- sqlite (default), postgresql or mysql; servers come from QS_PG_URL and
--- QS_MYSQL_URL (spec/support/servers.sh starts them for make test).
M.backend = os.getenv("QS_BACKEND") or "sqlite"

--- The command of the Lua interpreter running the specs (for subprocesses
--- that must load the same build).
function M.interpreter()
  local i = -1
  while arg and arg[i - 1] do i = i - 1 end
  return arg and arg[i] or "lua5.4"
end

--- The URL of the current backend's test database.
function M.backend_url()
  if M.backend == "sqlite" then return "sqlite:///" .. M.tmpdb() end
  local var = M.backend == "postgresql" and "QS_PG_URL" or "QS_MYSQL_URL"
  local url = os.getenv(var)
  assert(url, var .. " is not set: start the servers with spec/support/servers.sh")
  return url
end

--- An engine on the current backend, its database emptied of tables.
function M.backend_engine(opts)
  local engine = qs.create_engine(M.backend_url(), opts)
  engine:begin(function(conn) engine.dialect.drop_everything(conn) end)
  return engine
end

--- The pooler the PostgreSQL server is reached through, as the run says
--- (QS_PG_POOLER=transaction: QS_PG_URL points at pgbouncer in transaction
--- pooling mode, with ?prepared_statements=false; docs/SCALING.md, pgbouncer),
--- or nil for a server reached directly.
M.pooler = M.backend == "postgresql" and os.getenv("QS_PG_POOLER") or nil

--- For the few specs that need what a transaction pooler cannot give (a
--- server session of their own across transactions, or a cancel request
--- past a full pool: see the list in docs/SCALING.md, pgbouncer): under one,
--- the text to report the spec pending with (the caller does
--- `return pending(why)`: busted's pending is the spec file's); nil otherwise.
---@param reason string
---@return string|nil
function M.needs_own_session(reason)
  if M.pooler == nil then return nil end
  return "not through a " .. M.pooler .. " pooler: " .. reason
end

--- Whether the current backend is one of the names given.
function M.on(...)
  for i = 1, select("#", ...) do
    if select(i, ...) == M.backend then return true end
  end
  return false
end

--- Whether the running Lua has integers and <close> (5.4).
M.lua54 = _VERSION == "Lua 5.4"

--- Whether `target` can be reached from `root` through strong references only:
--- table keys and values (skipping the weak side of a weak table), metatables and
--- function upvalues. A deterministic stand-in for "would the collector free it".
function M.strongly_reaches(root, target)
  local seen, stack = {}, {root}
  while #stack > 0 do
    local v = table.remove(stack)
    if rawequal(v, target) then return true end
    local t = type(v)
    if (t == "table" or t == "function" or t == "userdata") and not seen[v] then
      seen[v] = true
      local mt = debug.getmetatable(v)
      if mt then stack[#stack + 1] = mt end
      if t == "table" then
        local mode = type(mt) == "table" and rawget(mt, "__mode") or ""
        local weak_k, weak_v = tostring(mode):find("k"), tostring(mode):find("v")
        for k, x in next, v do
          if not weak_k then stack[#stack + 1] = k end
          if not weak_v then stack[#stack + 1] = x end
        end
      elseif t == "function" then
        local i = 1
        while true do
          local name, x = debug.getupvalue(v, i)
          if not name then break end
          stack[#stack + 1] = x
          i = i + 1
        end
      end
    end
  end
  return false
end


--- Runs each function in a coroutine of one quicksilver.async.loop (the
--- built-in scheduler) until all end; raises the first error.
---@param fns function[]
function M.run_in_loop(fns)
  local l = require("quicksilver.async.loop").new()
  local errs = {}
  for _, fn in ipairs(fns) do
    l:spawn(function()
      local ok, e = pcall(fn)
      if not ok then errs[#errs + 1] = e end
    end)
  end
  l:run()
  if errs[1] ~= nil then error(errs[1], 0) end
end

--- The number a Numeric result stands for, after checking that it came back
--- as the exact decimal value (Numeric results are decimals, never floats).
function M.decimal_number(v)
  assert(qs.is_decimal(v), "expected a decimal value, got " .. type(v) .. " " .. tostring(v))
  return v:tonumber()
end

return M
