--- spec/support/cq_transport.lua: a test transport for a wire driver opened
--- with transport=external, outside nginx: a cqueues socket moves the bytes,
--- as OpenResty's cosocket glue does (the driver owns no fd; its waiter is
--- called with fd -1 and "r", "w", "rw" or "tls"). Lua 5.4 only (where
--- lua-cqueues is installed); the calls run in a coroutine (the core runs a
--- connection without a coroutine in blocking mode, which refuses an
--- external transport).
local core = require("quicksilver.core")
local waiting = require("quicksilver.waiting")

local M = {}

--- Whether cqueues is there to run it.
function M.available()
  return (pcall(require, "cqueues.socket"))
end

--- Opens driver `driver` over a cqueues socket to args.host:args.port and
--- connects it: returns the C connection and a handle {sock =, closed =,
--- waits = {r =, w =, rw =}} (what the waiter was asked, counted).
---@param driver string
---@param args table the driver's options (transport=external is added)
function M.connect(driver, args)
  local socket = require("cqueues.socket")
  local sock = socket.connect({host = args.host, port = tonumber(args.port)})
  sock:setmode("b", "b")
  assert(sock:connect(10))
  local h = {sock = sock, closed = false, waits = {r = 0, w = 0, rw = 0, tls = 0}}
  local opts = {transport = "external"}
  for k, v in pairs(args) do opts[k] = v end
  local cconn = assert(core.connect_start(driver, opts))
  -- The waiter: send what the driver holds, then read; "rw" reads only what
  -- is there already (the driver sends more before it needs a reply).
  local function W(fd, events, timeout)
    assert(fd == -1, "an external connection reports no fd, got " .. tostring(fd))
    h.waits[events] = h.waits[events] + 1
    if events == "tls" then error("this test transport has no TLS") end
    local out = cconn:io_output()
    if out then
      local ok = pcall(function() assert(sock:xwrite(out, "n", 10)); assert(sock:flush("n", 10)) end)
      if not ok then   -- a reset: the peer closed (the driver fails on what it still holds)
        h.closed = true
        assert(cconn:io_input(nil))
        return true
      end
      cconn:io_done(#out)
    end
    if events == "r" or events == "rw" then
      -- (cqueues raises some socket errors, a reset among them, rather than return them)
      local ok, s, err = pcall(sock.xread, sock, -65536, "b", events == "rw" and 0 or (timeout or 30))
      if not ok then s, err = nil, s end
      local errno = require("cqueues.errno")
      if s then
        assert(cconn:io_input(s))
      elseif err == errno.ETIMEDOUT then   -- nothing there yet ("rw"), or the time ran out
        sock:clearerr()
        if events == "r" then return false end
      else   -- end of stream, or a reset: the peer closed
        h.closed = true
        assert(cconn:io_input(nil))
      end
    end
    return true
  end
  cconn:set_waiter(W)
  local ok, err = waiting.drive(cconn, cconn:connect())
  if not ok then error(err, 0) end
  return cconn, h
end

--- Runs fn in a coroutine (where the driver may wait) and returns what it
--- returns, or raises what it raised.
function M.run(fn)
  local co = coroutine.create(fn)
  local res = table.pack(coroutine.resume(co))
  assert(coroutine.status(co) == "dead", "the test coroutine yielded: nothing resumes it here")
  if not res[1] then error(res[2], 0) end
  return table.unpack(res, 2, res.n)
end

return M
