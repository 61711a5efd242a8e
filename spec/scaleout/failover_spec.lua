-- PostgreSQL failover (issue 23): host lists with target_session_attrs
-- through both drivers, the pool after a disconnect or a server fenced
-- read-only, and a planned switchover (primary stopped, standby promoted)
-- while writes run: every acknowledged write is there exactly once.
--
-- Needs the pair spec/support/scaleout/pg_standby.sh starts (its
-- QS_PG_PRIMARY_URL / QS_PG_STANDBY_URL, and the QS_STANDBY_DIR /
-- QS_PG_PRIMARY_PORT / QS_PG_STANDBY_PORT it was started with: the spec
-- calls the script to stop the primary and promote the standby, and starts
-- the pair anew afterwards). Without them every test FAILS: a component
-- that is not there is a failure, never a skip.
local qs = require("quicksilver")
local exc = require("quicksilver.exc")

local PRIMARY_URL = os.getenv("QS_PG_PRIMARY_URL")
local STANDBY_URL = os.getenv("QS_PG_STANDBY_URL")
local SCRIPT = "spec/support/scaleout/pg_standby.sh"

-- The script acts on the pair of QS_STANDBY_DIR and the two ports: without
-- them it would stop (and remove) the default directory's pair, somebody
-- else's.
local function need_pair()
  assert(PRIMARY_URL and STANDBY_URL, "QS_PG_PRIMARY_URL / QS_PG_STANDBY_URL are not set: start " ..
    SCRIPT .. " (start) and export what it prints")
  for _, k in ipairs({"QS_STANDBY_DIR", "QS_PG_PRIMARY_PORT", "QS_PG_STANDBY_PORT"}) do
    assert(os.getenv(k), k .. " is not set: export the values " .. SCRIPT .. " was started with")
  end
  assert(PRIMARY_URL:find(":" .. os.getenv("QS_PG_PRIMARY_PORT") .. "/", 1, true) and
    STANDBY_URL:find(":" .. os.getenv("QS_PG_STANDBY_PORT") .. "/", 1, true),
    "QS_PG_PRIMARY_URL / QS_PG_STANDBY_URL are not on QS_PG_PRIMARY_PORT / QS_PG_STANDBY_PORT")
end

-- "127.0.0.1:54471" of a URL
local function hostport(u)
  u = qs.make_url(u)
  return u.host .. ":" .. u.port, u.port
end

local function user_db()
  local u = qs.make_url(PRIMARY_URL)
  return u.username, u.database
end

-- A URL over the given "host:port" list (in that order), target_session_attrs tsa.
local function list_url(driver, hosts, tsa)
  local user, db = user_db()
  return string.format("%s://%s@%s/%s%s", driver, user, table.concat(hosts, ","), db,
    tsa and ("?target_session_attrs=" .. tsa) or "")
end

local function sh(cmd)
  local ok = os.execute(cmd)
  return ok == true or ok == 0
end

local function script(verb)
  assert(sh("bash " .. SCRIPT .. " " .. verb .. " >/dev/null"), SCRIPT .. " " .. verb .. " failed")
end

local function sleep(s) sh(string.format("sleep %.3f", s)) end

-- The port and recovery state of the server a connection reached.
local function where(conn)
  local r = conn:execute(qs.text("SELECT inet_server_port(), pg_is_in_recovery()")):first()
  return tonumber(r[1]), r[2]
end

local function raises(fn)
  local ok, err = pcall(fn)
  assert.is_false(ok, "no error")
  assert.is_true(exc.is_error(err), tostring(err))
  return err
end

local DRIVERS = {"postgresql", "postgresql+wire"}

describe("failover: the pair is there", function()
  it("has QS_PG_PRIMARY_URL and QS_PG_STANDBY_URL", function()
    need_pair()
  end)
end)

for _, driver in ipairs(DRIVERS) do
  describe("failover: host lists through " .. driver, function()
    local P, S, pport, sport
    setup(function()
      need_pair()
      P, pport = hostport(PRIMARY_URL)
      S, sport = hostport(STANDBY_URL)
    end)

    local function reach(hosts, tsa)
      local e = qs.create_engine(list_url(driver, hosts, tsa))
      local conn = e:connect()
      local port, standby = where(conn)
      conn:close()
      e:dispose()
      return port, standby
    end

    it("primary,standby with read-write reaches the primary", function()
      assert.same({pport, false}, {reach({P, S}, "read-write")})
    end)

    it("standby,primary with read-write skips the standby", function()
      assert.same({pport, false}, {reach({S, P}, "read-write")})
    end)

    it("standby,primary with primary skips the standby (query form of the URL)", function()
      local user, db = user_db()
      local e = qs.create_engine(string.format("%s://%s@/%s?host=%s&host=%s&target_session_attrs=primary",
        driver, user, db, S, P))
      local conn = e:connect()
      assert.equal(pport, (where(conn)))
      conn:close()
      e:dispose()
    end)

    it("read-only, standby and prefer-standby reach the standby", function()
      for _, tsa in ipairs({"read-only", "standby", "prefer-standby"}) do
        assert.same({sport, true}, {reach({P, S}, tsa)}, tsa)
      end
    end)

    it("prefer-standby without a standby takes the primary", function()
      assert.same({pport, false}, {reach({P, P}, "prefer-standby")})
    end)

    it("any (the default) takes the first that answers, past a dead host", function()
      assert.same({sport, true}, {reach({"127.0.0.1:1", S, P})})
      assert.same({pport, false}, {reach({"127.0.0.1:1", P, S}, "any")})
    end)

    it("names every host tried and why when none matches", function()
      local err = raises(function() reach({"127.0.0.1:1", S}, "read-write") end)
      assert.is_true(err:is_a(exc.OperationalError), tostring(err))
      local msg = err.message
      assert.truthy(msg:find("127.0.0.1", 1, true) and msg:find("1", 1, true), msg)
      assert.truthy(msg:find(tostring(sport), 1, true), msg)
      assert.truthy(msg:find("read-only", 1, true), msg)   -- libpq's "session is read-only"
      assert.truthy(msg:lower():find("refused", 1, true), msg)
    end)
  end)

  describe("failover: the pool after a disconnect through " .. driver, function()
    setup(need_pair)

    -- the backend pids of n connections checked out at once (then all returned)
    local function pids(e, n)
      local conns, out = {}, {}
      for i = 1, n do
        conns[i] = e:connect()
        out[i] = conns[i]:execute(qs.text("SELECT pg_backend_pid()")):scalar()
      end
      for i = 1, n do conns[i]:close() end
      return out
    end

    it("replaces every connection opened before a server-side termination (57P01)", function()
      local P = hostport(PRIMARY_URL)
      local e = qs.create_engine(list_url(driver, {P}), {pool_size = 3})
      local before = pids(e, 3)
      local admin = qs.create_engine((PRIMARY_URL:gsub("^postgresql:", driver .. ":")))
      local a = admin:connect()
      a:execute(qs.text("SELECT pg_terminate_backend(:p)"), {p = before[1]})
      a:close()
      admin:dispose()
      sleep(0.2)
      -- the terminated one fails (OperationalError, invalidated); LIFO or
      -- FIFO, checking out until it comes up
      local failed
      for _ = 1, 3 do
        local conn = e:connect()
        local ok, err = pcall(function() return conn:execute(qs.text("SELECT 1")):scalar() end)
        conn:close()
        if not ok then failed = err; break end
      end
      assert.is_truthy(failed, "the terminated connection was never handed out")
      assert.is_true(failed:is_a(exc.OperationalError), tostring(failed))
      assert.is_true(failed.connection_invalidated)
      -- the two that were still healthy were opened before: replaced too
      local after = pids(e, 3)
      for _, p in ipairs(after) do
        for _, q in ipairs(before) do assert.are_not.equal(q, p) end
      end
      assert.is_true(e.pool:status_table().invalidated >= 1)
      e:dispose()
    end)

    it("a failed pre-ping replaces the connections opened before it too", function()
      local P = hostport(PRIMARY_URL)
      local e = qs.create_engine(list_url(driver, {P}), {pool_size = 3, pool_pre_ping = true})
      local before = pids(e, 3)
      local admin = qs.create_engine(PRIMARY_URL)
      local a = admin:connect()
      a:execute(qs.text("SELECT pg_terminate_backend(:p)"), {p = before[1]})
      a:close()
      admin:dispose()
      sleep(0.2)
      local after = pids(e, 3)   -- no error: the ping finds the dead one
      for _, p in ipairs(after) do
        for _, q in ipairs(before) do assert.are_not.equal(q, p) end
      end
      e:dispose()
    end)
  end)

  describe("failover: a server fenced read-only through " .. driver, function()
    local admin
    setup(function()
      need_pair()
      admin = qs.create_engine(PRIMARY_URL, {isolation_level = "AUTOCOMMIT"})   -- ALTER SYSTEM
    end)
    local function fence(on)
      local a = admin:connect()
      a:execute(qs.text(on and "ALTER SYSTEM SET default_transaction_read_only = on"
        or "ALTER SYSTEM RESET default_transaction_read_only"))
      a:execute(qs.text("SELECT pg_reload_conf()"))
      a:close()
      sleep(0.3)   -- every backend reads the configuration again before its next command
    end
    teardown(function()
      if admin then pcall(fence, false); admin:dispose() end
    end)

    it("25006 under read-write invalidates (its class stays); the next connect skips the fenced server", function()
      local P, S = hostport(PRIMARY_URL), hostport(STANDBY_URL)
      local e = qs.create_engine(list_url(driver, {P, S}, "read-write"), {pool_size = 2})
      local c = e:connect()
      c:execute(qs.text("CREATE TABLE IF NOT EXISTS failover_fence (id integer)"))
      c:commit()
      c:close()
      fence(true)
      c = e:connect()
      local err = raises(function() c:execute(qs.text("INSERT INTO failover_fence VALUES (1)")) end)
      assert.equal("25006", err.orig and err.orig.sqlstate)
      assert.is_true(err:is_a(exc.InternalError), tostring(err))   -- read_only_sql_transaction's
      assert.is_true(err.connection_invalidated)
      pcall(c.rollback, c)
      c:close()
      -- neither server is writable now: no connection, every host named
      local cerr = raises(function() e:connect():execute(qs.text("SELECT 1")) end)
      assert.truthy(cerr.message:find("read-only", 1, true), cerr.message)
      fence(false)
      c = e:connect()
      c:execute(qs.text("INSERT INTO failover_fence VALUES (1)"))
      c:execute(qs.text("DROP TABLE failover_fence"))
      c:commit()
      c:close()
      e:dispose()
    end)

    it("25006 without a read-write target is an ordinary error", function()
      local P = hostport(PRIMARY_URL)
      local e = qs.create_engine(list_url(driver, {P}))
      local c = e:connect()
      local err = raises(function()
        c:execute(qs.text("SET TRANSACTION READ ONLY"))
        c:execute(qs.text("CREATE TEMP TABLE t_fence (id integer)"))
      end)
      assert.equal("25006", err.orig and err.orig.sqlstate)
      assert.is_false(err.connection_invalidated)
      c:close()
      e:dispose()
    end)
  end)
end

-- The planned switchover, through each driver in turn (the pair started
-- anew after each): writes with unique ids through one engine whose URL
-- lists standby,primary with read-write, while a background job stops the
-- primary (fast: the walsender ships the rest of the WAL first) and
-- promotes the standby. A write that fails is retried in a new transaction;
-- a retry refused by the UNIQUE id means the failed attempt had committed
-- (its COMMIT's answer was lost): it counts as applied, once.
for _, driver in ipairs(DRIVERS) do
  describe("failover: planned switchover while writing through " .. driver, function()
    local marker = os.tmpname()
    local ready = false

    setup(function()
      need_pair()
      ready = true
    end)
    teardown(function()
      os.remove(marker)
      -- the next specs (and the next driver) get a fresh pair on the same ports
      if ready then
        script("stop")
        script("start")
      end
    end)

    it("loses no acknowledged write and applies none twice", function()
      local P, pport = hostport(PRIMARY_URL)
      local S, sport = hostport(STANDBY_URL)
      local e = qs.create_engine(list_url(driver, {S, P}, "read-write"), {pool_size = 3})
      local c = e:connect()
      c:execute(qs.text("DROP TABLE IF EXISTS failover_log"))
      c:execute(qs.text("CREATE TABLE failover_log (id integer PRIMARY KEY, port integer NOT NULL)"))
      c:commit()
      c:close()
      -- three connections in the pool, all to the primary
      local held = {}
      for i = 1, 3 do held[i] = e:connect(); held[i]:execute(qs.text("SELECT 1")) end
      for i = 1, 3 do held[i]:close() end

      os.remove(marker)
      assert(sh(string.format("(sleep 1; bash %s stop-primary && bash %s promote && touch %s) " ..
        ">/dev/null 2>&1 &", SCRIPT, SCRIPT, marker)))

      local acked, already, failures, kinds = {}, {}, 0, {}
      local n, after_switch = 0, 0
      local deadline = os.time() + 90
      while after_switch < 30 do
        assert(os.time() < deadline, "the switchover did not finish in 90 s")
        n = n + 1
        local id = n
        while true do
          local conn
          local ok, err = pcall(function()
            conn = e:connect()
            conn:execute(qs.text("INSERT INTO failover_log (id, port) VALUES (:id, inet_server_port())"),
              {id = id})
            conn:commit()
          end)
          if conn then pcall(conn.close, conn) end
          if ok then acked[id] = true; break end
          assert.is_true(exc.is_error(err), tostring(err))
          if err:is_a(exc.IntegrityError) then already[id] = true; break end
          failures = failures + 1
          kinds[err.name] = (kinds[err.name] or 0) + 1
          assert(os.time() < deadline, "a write kept failing: " .. tostring(err))
          sleep(0.05)
        end
        local f = io.open(marker, "r")
        if f then f:close(); after_switch = after_switch + 1 end
      end

      assert.is_true(failures > 0, "no write failed: the switchover happened between writes?")
      -- read everything back from the promoted server
      local check = qs.create_engine((STANDBY_URL:gsub("^postgresql:", driver .. ":")))
      local conn = check:connect()
      local rows = conn:execute(qs.text("SELECT id, port FROM failover_log ORDER BY id")):all()
      local seen, on = {}, {}
      for _, r in ipairs(rows) do
        local id = tonumber(r[1])
        assert.is_nil(seen[id], "id " .. id .. " twice")
        seen[id] = true
        on[tonumber(r[2])] = (on[tonumber(r[2])] or 0) + 1
      end
      for id = 1, n do
        assert.is_true(seen[id] == true, "id " .. id .. " missing (" ..
          (acked[id] and "acknowledged" or "applied by a failed attempt") .. ")")
      end
      assert.equal(n, #rows)
      assert.is_true((on[pport] or 0) > 0 and (on[sport] or 0) > 0,
        "writes on both servers: " .. tostring(on[pport]) .. " / " .. tostring(on[sport]))
      -- a second application would be an error the loop sees (UNIQUE id)
      local dup = raises(function()
        conn:execute(qs.text("INSERT INTO failover_log (id, port) VALUES (1, 0)"))
      end)
      assert.is_true(dup:is_a(exc.IntegrityError), tostring(dup))
      conn:close()
      check:dispose()
      -- the pool replaced its connections to the old primary
      assert.is_true(e.pool:status_table().invalidated >= 1)
      e:dispose()
      io.stderr:write(string.format("\n[failover %s] %d writes, %d failed attempts %s, " ..
        "%d resolved by UNIQUE; %d on the old primary, %d on the promoted one\n", driver, n, failures,
        (function() local t = {} for k, v in pairs(kinds) do t[#t + 1] = k .. "=" .. v end
          return table.concat(t, " ") end)(), (function() local k = 0 for _ in pairs(already) do
          k = k + 1 end return k end)(), on[pport] or 0, on[sport] or 0))
    end)
  end)
end
