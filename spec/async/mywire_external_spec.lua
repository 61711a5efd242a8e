-- The MySQL wire driver ("mywire", c/driver/wire_my.c) over an external
-- transport (docs/ASYNC.md): the connection owns no socket; a waiter closure
-- moves its bytes over a LuaSocket TCP socket, as OpenResty's cosocket
-- waiter does. Runs on the mysql backend (any URL driver: the test opens
-- the wire driver itself).
local qs = require("quicksilver")
local core = require("quicksilver.core")
local exc = require("quicksilver.exc")
local waiting = require("quicksilver.waiting")
local helpers = require("spec.helpers")

-- LuaSocket (lua-socket, in the Makefile's packages): a missing one fails here, never skips
local socket = require("socket")

local function url_parts()
  local u = qs.make_url(helpers.backend_url())
  return {host = u.host, port = tostring(u.port or 3306), user = u.username,
          password = u.password, database = u.database}
end

-- A waiter moving the connection's bytes over sock; log records the waits.
local function transport_waiter(cconn, sock, log)
  return function(fd, events, timeout)
    log[#log + 1] = {fd = fd, events = events, out = cconn:io_output()}
    local out = cconn:io_output()
    if out then
      assert(sock:send(out))
      cconn:io_done(#out)
    end
    if events == "tls" then   -- no TLS here: the test gives up the connection
      cconn:io_input(nil)
      return true
    end
    if events == "r" or events == "rw" then
      local ready = socket.select({sock}, nil, timeout or 10)
      if #ready == 0 then return false end
      sock:settimeout(0)
      local data, err, partial = sock:receive(65536)
      data = data or partial
      if data and #data > 0 then
        assert(cconn:io_input(data))
      elseif err == "closed" then
        cconn:io_input(nil)
      end
    end
    return true
  end
end

-- Opens a mywire connection over a new socket and connects it in a
-- coroutine: cconn, sock, log (or nil, err).
local function open(extra)
  local args = url_parts()
  args.transport = "external"
  for k, v in pairs(extra or {}) do args[k] = v end
  local sock = assert(socket.tcp())
  assert(sock:connect(args.host, tonumber(args.port)))
  local cconn, err = core.connect_start("mywire", args)
  if not cconn then return nil, err end
  local log = {}
  cconn:set_waiter(transport_waiter(cconn, sock, log))
  return cconn, sock, log
end

-- Runs f in a coroutine (where the waiter applies); its results.
local function run(f)
  local co = coroutine.create(f)
  local function finish(ok, ...)
    assert(ok, (...))
    assert(coroutine.status(co) == "dead", "the coroutine suspended: the waiter should not yield")
    return ...
  end
  return finish(coroutine.resume(co))
end

local function check(ok, err)
  if not ok then error(err, 0) end
  return ok
end

local describe_on = helpers.on("mysql") and describe or pending

describe_on("the mywire driver over an external transport", function()
  it("connects, runs statements with every kind of value, and reports server errors", function()
    local cconn, sock, log = assert(open())
    run(function()
      check(waiting.drive(cconn, cconn:connect()))
      local cur = check(waiting.drive(cconn, cconn:execute(
        "SELECT ? AS i, ? AS f, ? AS s, ? AS n, CAST('2024-02-29 01:02:03' AS DATETIME) AS d",
        {42, 1.5, "h\xc3\xa9", qs.null})))
      local rows = cur:fetch()
      assert.same({42, 1.5, "h\xc3\xa9"}, {rows[1][1], rows[1][2], rows[1][3]})
      assert.is_nil(rows[1][4])
      assert.equal("2024-02-29 01:02:03", rows[1][5])
      local ok, err = waiting.drive(cconn, cconn:execute("SELECT * FROM no_such_table"))
      assert.is_nil(ok)
      assert.is_true(exc.is_error(err, exc.ProgrammingError))
      assert.matches("1146", tostring(err))
      -- the connection goes on after a server error
      check(waiting.drive(cconn, cconn:exec("CREATE TEMPORARY TABLE ext_t (id INT PRIMARY KEY)")))
      check(waiting.drive(cconn, cconn:executemany("INSERT INTO ext_t VALUES (?)", {{1}, {2}, {3}})))
      local n = check(waiting.drive(cconn, cconn:execute("SELECT COUNT(*) FROM ext_t"))):fetch()[1][1]
      assert.equal(3, n)
    end)
    -- every wait reported no fd and a direction
    assert.is_true(#log > 0)
    for _, w in ipairs(log) do
      assert.equal(-1, w.fd)
      assert.truthy(w.events == "r" or w.events == "w" or w.events == "rw")
    end
    cconn:close()
    sock:close()
  end)

  it("fails a lost connection with an invalidated OperationalError", function()
    local cconn, sock = assert(open())
    run(function()
      check(waiting.drive(cconn, cconn:connect()))
      sock:close()
      cconn:set_waiter(function()   -- the transport failed: the waiter reports the close
        cconn:io_input(nil)
        return true
      end)
      local ok, err = waiting.drive(cconn, cconn:execute("SELECT 1"))
      assert.is_nil(ok)
      assert.is_true(exc.is_error(err, exc.OperationalError))
      assert.matches("closed the connection", tostring(err))
      assert.is_true(err.connection_invalidated)
    end)
    cconn:close()
  end)

  it("is refused where no waiter applies (nothing to block on)", function()
    local cconn, sock = assert(open())
    local ok, err = cconn:connect()
    assert.is_nil(ok)
    assert.is_true(exc.is_error(err, exc.InvalidRequestError))
    assert.matches("external transport", tostring(err))
    sock:close()
  end)

  it("asks for a TLS upgrade after the SSL request when ssl is on", function()
    local cconn, sock, log = assert(open({ssl = "true"}))
    local ok, err = run(function() return waiting.drive(cconn, cconn:connect()) end)
    assert.is_nil(ok)
    assert.is_true(exc.is_error(err, exc.OperationalError))
    local tls
    for i, w in ipairs(log) do
      if w.events == "tls" then tls = i end
    end
    if tls then
      -- what went out before the upgrade: the SSL request (32 bytes, CLIENT_SSL set)
      local sent = log[tls - 1] and log[tls - 1].out
      assert.truthy(sent)
      assert.equal(36, #sent)
      assert.equal(1, math.floor(sent:byte(6) / 8) % 2)   -- 0x0800 in the flags: CLIENT_SSL
    else
      -- a server without TLS refuses by name
      assert.matches("does not offer it", tostring(err))
    end
    cconn:close()
    sock:close()
  end)

  it("refuses TLS and unknown options without an external transport", function()
    local args = url_parts()
    args.ssl = "true"
    local c, err = core.connect_start("mywire", args)
    assert.is_nil(c)
    assert.is_true(exc.is_error(err, exc.NotSupportedError))
    args.ssl = nil
    args.sslmode = "require"
    c, err = core.connect_start("mywire", args)
    assert.is_nil(c)
    assert.is_true(exc.is_error(err, exc.ArgumentError))
    assert.matches("unknown connection option 'sslmode'", tostring(err))
  end)
end)
