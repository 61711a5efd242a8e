-- The PostgreSQL wire driver over an external transport outside nginx: a
-- cqueues socket moves the bytes (spec/support/cq_transport.lua), driving
-- conn:io_output/io_done/io_input by hand, as OpenResty's cosocket glue
-- does. Connect, queries, executemany, an error, a close from the server.
local qs = require("quicksilver")
local helpers = require("spec.helpers")
local transport = require("spec.support.cq_transport")
local waiting = require("quicksilver.waiting")

describe("the PostgreSQL wire driver over an external transport", function()
  if not helpers.on("postgresql") then return end
  -- once per run: in the libpq pass (it builds the wire URL itself)
  if helpers.backend_url():find("^postgresql%+wire:") then return end
  if not transport.available() then
    it("needs lua-cqueues", function() pending("cqueues is not installed for this Lua") end)
    return
  end

  local args, libpq_url
  setup(function()
    local u = qs.make_url(helpers.backend_url())
    args = {host = u.host, port = tostring(u.port), user = u.username, database = u.database,
      sslmode = "disable"}
    libpq_url = u:set({drivername = "postgresql"})
  end)

  local drive = waiting.drive
  local function check(ok, err)
    if not ok then error(err, 0) end
    return ok
  end
  local function rows(cconn, sql, params)
    return check(drive(cconn, cconn:execute(sql, params))):fetch()
  end

  it("connects and runs queries with the bytes moved by the caller", function()
    transport.run(function()
      local cconn, h = transport.connect("pgwire", args)
      local r = rows(cconn, "SELECT $1::int + 1, $2::text, NULL::int, 2.5::float8", {41, "hé"})
      assert.same({42, "hé", nil, 2.5}, {r[1][1], r[1][2], r[1][3], r[1][4]})
      -- a statement cached on the connection runs again
      assert.equal(8, rows(cconn, "SELECT $1::int + 1, $2::text, NULL::int, 2.5::float8", {7, "x"})[1][1])
      -- many rows, more than one read's worth
      local many = rows(cconn, "SELECT i, repeat('x', 100) FROM generate_series(1, 5000) i")
      assert.equal(5000, #many)
      assert.equal(5000, many[5000][1])
      assert.is_true(h.waits.r > 0 and h.waits.w > 0)
      cconn:close()
    end)
  end)

  it("runs an executemany of 20,000 sets, reading while it sends", function()
    transport.run(function()
      local cconn, h = transport.connect("pgwire", args)
      check(drive(cconn, cconn:exec("CREATE TEMPORARY TABLE ext (id int PRIMARY KEY, v text)")))
      local sets = {}
      for i = 1, 20000 do sets[i] = {i, "v" .. i} end
      assert.equal(20000, check(drive(cconn, cconn:executemany("INSERT INTO ext VALUES ($1, $2)", sets))))
      assert.equal(20000, rows(cconn, "SELECT count(*) FROM ext")[1][1])
      assert.is_true(h.waits.rw > 0, "the batch asks to read while it sends")
      cconn:close()
    end)
  end)

  it("reports a server error and goes on", function()
    transport.run(function()
      local cconn = transport.connect("pgwire", args)
      local ok, err = drive(cconn, cconn:execute("SELECT 1/0"))
      assert.is_nil(ok)
      assert.equal("DataError", err.name)
      assert.equal("22012", err.orig.sqlstate)
      assert.is_false(err.connection_invalidated)
      assert.equal(3, rows(cconn, "SELECT 3")[1][1])
      cconn:close()
    end)
  end)

  it("cancels a statement over its timeout from a socket of its own", function()
    local why = helpers.needs_own_session("pgbouncer 1.18 sends a cancel over a new server connection of its pool: none while it is full")
    if why then return pending(why) end
    transport.run(function()
      local cconn = transport.connect("pgwire", args)
      check(drive(cconn, cconn:set_timeout(0.3)))
      local ok, err = drive(cconn, cconn:execute("SELECT pg_sleep(10)"))
      assert.is_nil(ok)
      assert.equal("OperationalError", err.name)
      assert.truthy(tostring(err.message):find("timeout", 1, true), tostring(err.message))
      assert.is_false(err.connection_invalidated)
      check(drive(cconn, cconn:set_timeout(0)))
      assert.equal(4, rows(cconn, "SELECT 4")[1][1])
      cconn:close()
    end)
  end)

  it("reports the server closing the connection as invalidated", function()
    local why = helpers.needs_own_session("pg_terminate_backend ends the pooler's server connection, not the client's")
    if why then return pending(why) end
    transport.run(function()
      local cconn, h = transport.connect("pgwire", args)
      local pid = rows(cconn, "SELECT pg_backend_pid()")[1][1]
      local killer = qs.create_engine(libpq_url, {poolclass = "null"})
      killer:connect(function(k) k:exec_driver_sql("SELECT pg_terminate_backend($1)", {pid}) end)
      killer:dispose()
      local ok, err = drive(cconn, cconn:execute("SELECT 1"))
      assert.is_nil(ok)
      assert.equal("OperationalError", err.name)
      assert.is_true(err.connection_invalidated)
      assert.is_true(h.closed)
      cconn:close()
    end)
  end)

  it("refuses to run in blocking mode, naming the transport", function()
    local core = require("quicksilver.core")
    local opts = {transport = "external"}
    for k, v in pairs(args) do opts[k] = v end
    local cconn, err = core.connect("pgwire", opts)
    assert.is_nil(cconn)
    assert.truthy(tostring(err.message):find("external transport", 1, true), tostring(err.message))
  end)
end)
