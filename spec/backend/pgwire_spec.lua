-- The PostgreSQL wire driver (c/driver/wire_pg.c, postgresql+wire:// URLs)
-- against the test server, side by side with the libpq driver: the same
-- values, errors and behaviours; its own options, authentication methods,
-- Close queue, pipelined executemany, notices, timeouts, unix socket and a
-- lost connection. Runs on the postgresql backend whichever driver its URL
-- names (the whole suite also runs over the wire driver: run_tests.sh).
local qs = require("quicksilver")
local helpers = require("spec.helpers")
local raises = helpers.assert_raises_kind

describe("the PostgreSQL wire driver", function()
  if not helpers.on("postgresql") then return end
  -- once per run: in the libpq pass (it builds the wire URL itself)
  if helpers.backend_url():find("^postgresql%+wire:") then return end

  local base, wire_url, libpq_url
  setup(function()
    base = qs.make_url(helpers.backend_url())
    wire_url = base:set({drivername = "postgresql+wire"})
    libpq_url = base:set({drivername = "postgresql"})
  end)

  local function with(url, fn, opts)
    local e = qs.create_engine(url, opts or {poolclass = "null"})
    local ok, err = pcall(e.connect, e, fn)
    e:dispose()
    if not ok then error(err, 0) end
  end

  local function scalar(url, sql, params)
    local v
    with(url, function(c) v = c:exec_driver_sql(sql, params):scalar() end)
    return v
  end

  it("is the engine's driver for postgresql+wire:// and talks to the server", function()
    local e = qs.create_engine(wire_url)
    assert.equal("pgwire", e.dialect.driver)
    assert.equal("pgwire", require("quicksilver.dialects.postgresql").wire_driver)
    e:connect(function(c) assert.equal(42, c:exec_driver_sql("SELECT $1::int + 1", {41}):scalar()) end)
    e:dispose()
    assert.equal("postgresql", qs.create_engine(libpq_url).dialect.driver)
  end)

  it("refuses a driver name it does not know, naming it and the known ones", function()
    local err = raises(qs.exc.ArgumentError, function()
      qs.create_engine(base:set({drivername = "postgresql+psycopg"}))
    end)
    assert.truthy(tostring(err):find("psycopg", 1, true), tostring(err))
    assert.truthy(tostring(err):find("libpq, wire", 1, true), tostring(err))
  end)

  it("gives every type the values the libpq driver gives", function()
    local sql = [[SELECT 1::int2, 2::int4, 3000000000::int8, 4::oid, 1.5::float4, 2.25::float8,
      true, false, NULL::int, 'text é'::text, 'v'::varchar(3), 'c'::char(2), 12.50::numeric,
      '\x00ff10'::bytea, ''::bytea, '2024-02-29'::date, '13:14:15.5'::time,
      '2024-02-29 13:14:15.123456'::timestamp, '2024-02-29 13:14:15+02'::timestamptz,
      '1 year 2 mons -3 days 04:05:06.5'::interval, '-00:00:01'::interval,
      '{"a": [1, 2]}'::json, '{"b": null}'::jsonb, ARRAY[1, 2, 3], '{a,b}'::text[],
      'a1b2c3d4-0000-0000-0000-000000000001'::uuid, '192.168.0.1/24'::inet, 'NaN'::float8,
      'Infinity'::float8, $1::text, $2::int8, $3::float8, $4::bytea, $5::bool, $6::interval]]
    local params = {"param", 7, 0.1, "\1\2\3", true, 90061.5}
    local function row(url)
      local r
      with(url, function(c) r = c:exec_driver_sql(sql, params):all()[1] end)
      return r
    end
    local a, b = row(wire_url), row(libpq_url)
    for i = 1, 35 do
      local x, y = a[i], b[i]
      assert.equal(math.type and math.type(y) or type(y), math.type and math.type(x) or type(x),
        "column " .. i)
      if y ~= y then assert.is_true(x ~= x, "column " .. i .. ": NaN")
      else assert.equal(y, x, "column " .. i) end
    end
    assert.equal("\0\255\16", a[14])
    assert.equal(90061.5, a[35])
  end)

  it("raises the same classes and messages as the libpq driver", function()
    local function failure(url, sql)
      local err
      with(url, function(c)
        c:exec_driver_sql("CREATE TEMPORARY TABLE u (id int PRIMARY KEY CONSTRAINT u_pos CHECK (id > 0))")
        c:exec_driver_sql("INSERT INTO u VALUES (1)")
        local ok, e = pcall(c.exec_driver_sql, c, sql)
        assert.is_false(ok)
        err = e
      end)
      return err
    end
    for _, sql in ipairs({"INSERT INTO u VALUES (1)", "INSERT INTO u VALUES (-1)", "SELECT 1/0",
      "SELECT nosuchcolumn FROM u", "SELEC 1", "SELECT 'x'::int"}) do
      local w, l = failure(wire_url, sql), failure(libpq_url, sql)
      assert.equal(l.name, w.name, sql)
      assert.equal(l.orig.sqlstate, w.orig.sqlstate, sql)
      assert.equal(l.orig.constraint, w.orig.constraint, sql)
      -- libpq adds a "LINE 1: ..." excerpt under some messages; the first line is the same
      assert.equal((l.orig.message:gsub("\n.*", "")), (w.orig.message:gsub("\n.*", "")), sql)
      assert.is_false(w.connection_invalidated)
    end
    local w = failure(wire_url, "INSERT INTO u VALUES (1)")
    assert.equal("IntegrityError", w.name)
    assert.equal("u_pkey", w.orig.constraint)
  end)

  describe("authentication", function()
    local function as(user, password)
      return base:set({drivername = "postgresql+wire", username = user, password = password})
    end

    it("logs in with md5 and with SCRAM-SHA-256", function()
      assert.equal("qs_md5", scalar(as("qs_md5", "qs_md5_pw"), "SELECT current_user"))
      assert.equal("qs_scram", scalar(as("qs_scram", "qs_scram_pw"), "SELECT current_user"))
      -- and the trust user of the suite, without a password
      assert.equal(1, scalar(wire_url, "SELECT 1"))
    end)

    it("refuses a wrong password with an OperationalError naming authentication", function()
      local why = helpers.needs_own_session("the pooler answers the authentication itself, in its own words (no user name)")
      if why then return pending(why) end
      for _, user in ipairs({"qs_md5", "qs_scram"}) do
        local err = raises(qs.exc.OperationalError, function() scalar(as(user, "wrong"), "SELECT 1") end)
        assert.truthy(tostring(err):find("authentication", 1, true), tostring(err))
        assert.truthy(tostring(err):find(user, 1, true), tostring(err))
      end
    end)

    it("says a password is needed when none was given", function()
      local err = raises(qs.exc.OperationalError, function() scalar(as("qs_scram", nil), "SELECT 1") end)
      assert.truthy(tostring(err):find("password", 1, true), tostring(err))
    end)
  end)

  describe("options", function()
    it("refuses an option it does not take, by name", function()
      local err = raises(qs.exc.ArgumentError, function()
        qs.create_engine(wire_url:update_query({sslrootcert = "/x.pem"}))
      end)
      assert.truthy(tostring(err):find("sslrootcert", 1, true), tostring(err))
      err = raises(qs.exc.ArgumentError, function()
        qs.create_engine(wire_url, {connect_args = {bogus = "1"}}):connect(function() end)
      end)
      assert.truthy(tostring(err):find("bogus", 1, true), tostring(err))
    end)

    it("refuses certificate checks and TLS on its own socket with NotSupportedError", function()
      local err = raises(qs.exc.NotSupportedError, function()
        qs.create_engine(wire_url:update_query({sslmode = "verify-full"})):connect(function() end)
      end)
      assert.truthy(tostring(err):find("verify-full", 1, true), tostring(err))
      err = raises(qs.exc.NotSupportedError, function()
        qs.create_engine(wire_url:update_query({sslmode = "require"})):connect(function() end)
      end)
      assert.truthy(tostring(err):find("TLS", 1, true), tostring(err))
      -- prefer and allow go on in plain text (the server here has no TLS)
      assert.equal(1, scalar(wire_url:update_query({sslmode = "prefer"}), "SELECT 1"))
      assert.equal(1, scalar(wire_url:update_query({sslmode = "disable", application_name = "qs wire",
        connect_timeout = "5"}), "SELECT 1"))
    end)

    it("sends application_name and options at startup", function()
      local why = helpers.needs_own_session("startup options are session settings; pgbouncer 1.18 does not pass them on")
      if why then return pending(why) end
      local u = wire_url:update_query({application_name = "qs-wire-spec", options = "-c work_mem=1234kB"})
      with(u, function(c)
        assert.equal("qs-wire-spec", c:exec_driver_sql("SHOW application_name"):scalar())
        assert.equal("1234kB", c:exec_driver_sql("SHOW work_mem"):scalar())
      end)
      assert.equal("quicksilver", scalar(wire_url, "SHOW application_name"))
    end)

    it("connects through the server's unix socket directory", function()
      local dir = (os.getenv("QS_SERVERS_DIR") or "/tmp/quicksilver-servers") .. "/pg/sock"
      local sock = dir .. "/.s.PGSQL." .. tostring(base.port)
      if not os.rename(sock, sock) then   -- (exists: renaming it onto itself succeeds)
        return pending("no unix socket at " .. dir .. " (a server started elsewhere)")
      end
      local v
      with(wire_url, function(c)
        v = c:exec_driver_sql("SELECT coalesce(inet_server_addr()::text, 'unix')"):scalar()
      end, {poolclass = "null", connect_args = {host = dir}})
      assert.equal("unix", v)
    end)
  end)

  it("closes finalized statements on the server with the next operation", function()
    local why = helpers.needs_own_session("named server-side statements: prepared_statements = false makes none")
    if why then return pending(why) end
    local e = qs.create_engine(wire_url, {pool_size = 1, statement_cache_size = 3})
    e:connect(function(c)
      for i = 1, 20 do
        assert.equal(i, c:exec_driver_sql("SELECT " .. i .. "::int + 0 * $1::int", {i}):scalar())
      end
      -- the cache holds 3; the 17 evicted ones were closed (the last Close
      -- goes with this query, so at most one more can still be listed)
      local n = c:exec_driver_sql("SELECT count(*) FROM pg_prepared_statements"):scalar()
      assert.is_true(n <= 4, "prepared statements on the server: " .. n)
      assert.is_true(n >= 3, "prepared statements on the server: " .. n)
    end)
    e:dispose()
  end)

  it("runs executemany of 20,000 rows as one pipelined batch", function()
    local e = qs.create_engine(wire_url, {pool_size = 1})
    e:begin(function(c)
      c:exec_driver_sql("CREATE TEMPORARY TABLE many (id int PRIMARY KEY, name text)")
      local rows = {}
      for i = 1, 20000 do rows[i] = {i, "name " .. i} end
      c:exec_driver_sql("INSERT INTO many VALUES ($1, $2)", rows)
      assert.equal(20000, c:exec_driver_sql("SELECT count(*) FROM many"):scalar())
      assert.equal("name 12345", c:exec_driver_sql("SELECT name FROM many WHERE id = 12345"):scalar())
      -- the first failing set ends the batch with its error
      local bad = {}
      for i = 1, 500 do bad[i] = {20000 + i, "x"} end
      bad[300] = {1, "duplicate"}
      local err = raises(qs.exc.IntegrityError, function()
        c:exec_driver_sql("INSERT INTO many VALUES ($1, $2)", bad)
      end)
      assert.equal("23505", err.orig.sqlstate)
    end)
    e:dispose()
  end)

  it("keeps the server's notices", function()
    with(wire_url, function(c)
      c:exec_driver_sql("DO $$BEGIN RAISE NOTICE 'hello %', 42; END$$")
      local notices = c:notices()
      assert.equal(1, #notices)
      assert.truthy(notices[1]:find("NOTICE:  hello 42", 1, true), notices[1])
    end)
  end)

  it("stops a statement over its timeout (a cancel request) and goes on", function()
    local why = helpers.needs_own_session("pgbouncer 1.18 sends a cancel over a new server connection of its pool: none while it is full")
    if why then return pending(why) end
    with(wire_url, function(c)
      c:execution_options({statement_timeout = 0.3})
      local err = raises(qs.exc.OperationalError, function() c:exec_driver_sql("SELECT pg_sleep(10)") end)
      assert.truthy(tostring(err):find("timeout", 1, true), tostring(err))
      assert.is_false(err.connection_invalidated)
      c:rollback()
      assert.equal(2, c:exec_driver_sql("SELECT 2"):scalar())
    end)
  end)

  it("prepares a statement again after DDL, its own or another connection's, as libpq's does", function()
    local why = helpers.needs_own_session("named server-side statements and their cached plans: prepared_statements = false makes none")
    if why then return pending(why) end
    for _, url in ipairs({wire_url, libpq_url}) do
      local e = qs.create_engine(url, {pool_size = 1})
      local other = qs.create_engine(url, {poolclass = "null"})
      e:connect(function(c)
        c:exec_driver_sql("DROP TABLE IF EXISTS wire_ddl")
        c:exec_driver_sql("CREATE TABLE wire_ddl (a int)")
        c:exec_driver_sql("INSERT INTO wire_ddl VALUES (1)")
        c:commit()
        assert.equal(1, #c:exec_driver_sql("SELECT * FROM wire_ddl"):all()[1])
        -- its own DDL: noticed, the statement prepared again before it runs
        c:exec_driver_sql("ALTER TABLE wire_ddl ADD COLUMN b int DEFAULT 2")
        c:commit()
        local r = c:exec_driver_sql("SELECT * FROM wire_ddl"):all()[1]
        assert.equal(2, r[2])
        c:commit()   -- (its transaction's lock would hold the other's ALTER)
        other:connect(function(o)
          o:exec_driver_sql("ALTER TABLE wire_ddl ADD COLUMN c int DEFAULT 3")
          o:commit()
        end)
        -- another's DDL: inside a transaction (the lazy BEGIN) the stale plan
        -- fails it, and the statement is prepared again on its next use
        local err = raises(qs.exc.NotSupportedError, function() c:exec_driver_sql("SELECT * FROM wire_ddl") end)
        assert.truthy(tostring(err):find("cached plan", 1, true), tostring(err))
        c:rollback()
        r = c:exec_driver_sql("SELECT * FROM wire_ddl"):all()[1]
        assert.equal(3, r[3], url:get_driver_name() or "libpq")
        c:exec_driver_sql("DROP TABLE wire_ddl")
        c:commit()
      end)
      e:dispose()
      other:dispose()
    end
  end)

  it("types a parameter the server cannot type as text", function()
    assert.equal("abc", scalar(wire_url, "SELECT $1", {"abc"}))
    assert.equal("ab", scalar(wire_url, "SELECT $1 || $2", {"a", "b"}))
  end)

  it("reports a connection the server ended as invalidated, and the pool reconnects", function()
    local why = helpers.needs_own_session("pg_terminate_backend ends the pooler's server connection, not the client's")
    if why then return pending(why) end
    local e = qs.create_engine(wire_url, {pool_size = 1})
    local pid = e:connect(function(c) return c:exec_driver_sql("SELECT pg_backend_pid()"):scalar() end)
    with(libpq_url, function(k)
      k:exec_driver_sql("SELECT pg_terminate_backend($1)", {pid})
      local deadline = require("quicksilver.core").now() + 10
      while k:exec_driver_sql("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", {pid}):scalar() > 0
        and require("quicksilver.core").now() < deadline do
        k:rollback()
      end
    end)
    local err = raises(qs.exc.OperationalError, function()
      e:connect(function(c) c:exec_driver_sql("SELECT 1") end)
    end)
    assert.is_true(err.connection_invalidated)
    assert.equal(7, e:connect(function(c) return c:exec_driver_sql("SELECT 7"):scalar() end))
    e:dispose()
  end)
end)
