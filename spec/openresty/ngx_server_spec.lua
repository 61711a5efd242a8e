-- OpenResty: quicksilver inside a real nginx (Debian's nginx-light with
-- libnginx-mod-http-lua, LuaJIT), handlers on the servers the suite starts
-- (spec/openresty/app/app.lua), driven by concurrent HTTP clients.
--
-- Run by spec/support/run_tests.sh after the servers started (QS_PG_URL,
-- QS_MYSQL_URL); each backend whose URL is set and whose dialect has a wire
-- driver gets the whole suite. A missing nginx, or no server URL at all,
-- fails: nothing here is skipped for want of a tool.
local ngxs = require("spec.support.nginx")

local PORT = tonumber(os.getenv("QS_NGINX_PORT") or "18441")

-- The backends to run: {name, url}.
local function backends()
  local out = {}
  local pg = os.getenv("QS_PG_URL")
  if pg then out[#out + 1] = {name = "postgresql", url = pg, down = "pg"} end
  local my = os.getenv("QS_MYSQL_URL")
  -- MariaDB runs once its dialect names a wire driver (the cosocket pool
  -- needs one; without it the handlers would block, which is what the
  -- suite checks does not happen)
  if my and require("quicksilver.dialects.mysql").wire_driver then
    out[#out + 1] = {name = "mysql", url = my, down = "mysql"}
  end
  return out
end

local function sh(cmd)
  local p = io.popen("(" .. cmd .. ") 2>&1")
  local out = p:read("*a")
  local ok = p:close()
  return ok, out
end

-- The same URL naming the blocking driver (postgresql+libpq://, mysql+mariadb://).
local function blocking_url(name, url)
  local driver = name == "postgresql" and "libpq" or "mariadb"
  return (url:gsub("^(%a+)://", "%1+" .. driver .. "://"))
end

local function body_of(status, body)
  return status, ((body or ""):gsub("%s+$", ""))
end

-- The PostgreSQL URL through the server's unix socket directory (servers.sh
-- makes it), when the suite's own servers run.
local function pg_unix_url(url)
  local user, port, db = url:match("^postgresql://([^@:]+)[^@]*@[^:/]+:(%d+)/([^?]+)")
  local dir = (os.getenv("QS_SERVERS_DIR") or "/tmp/quicksilver-servers") .. "/pg/sock"
  return string.format("postgresql://%s@%s:%s/%s", user, dir:gsub("/", "%%2F"), port, db)
end

describe("OpenResty", function()
  it("has a server to run on (QS_PG_URL is set)", function()
    assert.is_truthy(os.getenv("QS_PG_URL"), "QS_PG_URL is not set: run through make test")
  end)

  it("reaches PostgreSQL through a unix socket directory (a unix: cosocket)", function()
    if os.getenv("QS_SERVERS_OWNED") ~= "1" then
      pending("needs servers started by spec/support/servers.sh (QS_SERVERS_OWNED=1)")
      return
    end
    local url = pg_unix_url(assert(os.getenv("QS_PG_URL")))
    local server = ngxs.start({port = PORT,
      init = string.format('E = require("quicksilver").create_engine(%q)', url),
      server = [[location / { content_by_lua_block { require("quicksilver.ngx").run(function()
        ngx.say(E:connect(function(c) return c:exec_driver_sql("SELECT 40 + 2"):scalar() end))
        ngx.say(E.pool:status())
      end) } }]]})
    local ok, err = pcall(function()
      local status, body = ngxs.get(PORT, "/")
      assert.equal(200, status, server:log())
      assert.matches("^42\nCosocketPool", body)
      assert.matches("1 idle", body)
    end)
    server:stop()
    assert(ok, err)
  end)

  it("stops nginx with the whole text of an error raised in init_by_lua through run", function()
    local ok, err = pcall(ngxs.start, {port = PORT, init = [[
      require("quicksilver.ngx").run(function()
        require("quicksilver").create_engine("postgresql://qs@127.0.0.1:1/nowhere"):connect()
      end)]]})
    assert.is_false(ok)
    assert.matches("init_by_lua error: [^\n]*quicksilver: qs%.exc%.OperationalError: ", err)
  end)

  for _, b in ipairs(backends()) do
    describe("on " .. b.name, function()
      local server
      local function get(path)
        return body_of(ngxs.get(PORT, path))
      end

      setup(function()
        server = ngxs.start({port = PORT,
          init = string.format('require("app").init(%q, %q)', b.url, blocking_url(b.name, b.url)),
          init_worker = 'require("app").init_worker()',
          server = 'location / { content_by_lua_block { require("app").route() } }'})
      end)

      teardown(function()
        if server then server:stop() end
      end)

      it("runs Core queries through the wire driver over cosockets", function()
        assert.same({200, "42"}, {get("/small?n=41")})
        assert.same({200, "inserted abc"}, {get("/core?name=abc")})
        local status, line = get("/status")
        assert.equal(200, status)
        assert.matches("^CosocketPool size 5", line)
        assert.matches("1 idle, 0 checked out", line)
      end)

      it("made the engine in init_by_lua (blocking driver) and uses it in the workers", function()
        assert.same({200, "42 blocking"}, {get("/init_value")})
        -- init_worker has no cosockets: the blocking pool served it
        assert.same({200, "43 blocking"}, {get("/init_worker_value")})
        assert.same({200, "cosocket"}, {get("/kind")})
        -- a timer has cosockets
        assert.same({200, "44 cosocket"}, {get("/timer")})
      end)

      it("runs an ORM request per session, relationships included", function()
        assert.same({200, "added"}, {get("/orm/add?name=bob&emails=a@x,b@x")})
        assert.same({200, "bob:a@x,b@x"}, {get("/orm/user?name=bob")})
      end)

      it("rolls back a failing flush, and the next request is fine", function()
        assert.same({200, "added"}, {get("/orm/add?name=ann&emails=c@x")})
        local status, line = get("/orm/dup?name=ann")
        assert.equal(200, status)
        assert.matches("^IntegrityError %d+$", line)
        assert.same({200, "ann:c@x"}, {get("/orm/user?name=ann")})
        assert.same({200, "added"}, {get("/orm/add?name=ann2&emails=d@x")})
      end)

      it("keeps one server session across sequential requests (keepalive)", function()
        local c = ngxs.client(PORT)
        local pids = {}
        for i = 1, 20 do
          local status, body = c:get("/pid")
          assert.equal(200, status)
          pids[i] = body:gsub("%s+$", "")
        end
        c:close()
        for i = 2, 20 do assert.equal(pids[1], pids[i]) end
        assert.matches("^%d+$", pids[1])
      end)

      it("never blocks the worker: 10 concurrent sleeps of 0.2 s overlap", function()
        local t0 = ngxs.now()
        local nodb, done = {}, 0
        local fns = {}
        for i = 1, 10 do
          fns[i] = function()
            local status, body = ngxs.get(PORT, "/sleep?s=0.2")
            assert.equal(200, status, body)
            done = done + 1
          end
        end
        -- meanwhile a handler without a database answers at once
        fns[11] = function()
          local c = ngxs.client(PORT)
          while done < 10 and ngxs.now() - t0 < 5 do
            local t = ngxs.now()
            assert.equal(200, (c:get("/nodb")))
            nodb[#nodb + 1] = ngxs.now() - t
            require("cqueues").sleep(0.02)
          end
          c:close()
        end
        ngxs.concurrently(fns)
        local total = ngxs.now() - t0
        -- blocking, they would take 10 x 0.2 = 2 s
        assert.is_true(total < 1.0, "10 concurrent 0.2 s sleeps took " .. total .. " s")
        assert.is_true(#nodb >= 3, "the no-database handler answered " .. #nodb .. " times")
        local worst = math.max(table.unpack(nodb))
        assert.is_true(worst < 0.15, "a no-database request waited " .. worst .. " s")
      end)

      it("stops a statement past its statement_timeout; the connection goes on", function()
        assert.same({200, "OperationalError 5 fast"}, {get("/timeout")})
      end)

      it("logs a handler's quicksilver error with its class, message and SQL", function()
        local status = get("/error")
        assert.equal(500, status)
        local log = server:log()
        assert.matches("quicksilver: unhandled error in /error: qs.exc.ProgrammingError: [^\n]*no_such_table_here", log)
        assert.matches("[SQL: SELECT * FROM no_such_table_here]", log, 1, true)
        assert.matches("stack traceback", log)
        -- the connection the error happened on went back: the next request works
        assert.same({200, "42"}, {get("/small?n=41")})
      end)

      it("loses no slot to requests that die with a connection checked out", function()
        -- pool_size 5, max_overflow 0, pool_timeout 3 (app.init)
        for _ = 1, 5 do assert.equal(500, (get("/leak"))) end
        local fns = {}
        for i = 1, 6 do
          fns[i] = function()
            local status = ngxs.get(PORT, "/sleep?s=0.1")
            assert.equal(200, status, server:log():sub(-3000))
          end
        end
        ngxs.concurrently(fns)
        local status, line = get("/status")
        assert.equal(200, status)
        assert.matches("0 checked out, 0 waiting", line)
      end)

      it("times out a checkout past pool_timeout with the pool's TimeoutError", function()
        -- 6 sleeps of 3.5 s on 5 slots: the sixth waits 3 s and fails
        local results, failed = {}, nil
        local fns = {}
        for i = 1, 6 do
          fns[i] = function()
            local status, body = ngxs.get(PORT, "/sleep?s=3.5")
            results[#results + 1] = status
            if status == 500 then failed = body end
          end
        end
        ngxs.concurrently(fns)
        table.sort(results)
        assert.same({200, 200, 200, 200, 200, 500}, results, failed)
        assert.matches("qs.exc.TimeoutError: QueuePool limit of size 5 overflow 0 reached", server:log(), 1, true)
      end)

      -- (MariaDB's ssl=true path is the same transport branch; its server
      -- runs without TLS here)
      local tls_it = b.name == "postgresql" and it or function() end
      tls_it("upgrades to TLS over the cosocket for sslmode=require", function()
        if os.getenv("QS_SERVERS_OWNED") ~= "1" then
          pending("needs servers started by spec/support/servers.sh (QS_SERVERS_OWNED=1)")
          return
        end
        -- TLS on the running server for this test only (a throwaway certificate)
        local data = (os.getenv("QS_SERVERS_DIR") or "/tmp/quicksilver-servers") .. "/pg/data"
        local ok, out = sh(string.format("openssl req -new -x509 -days 1 -nodes -subj /CN=127.0.0.1 " ..
          "-keyout %s/server.key -out %s/server.crt && chmod 600 %s/server.key && " ..
          "{ [ \"$(id -u)\" != 0 ] || chown postgres:postgres %s/server.key %s/server.crt; }",
          data, data, data, data, data))
        assert.is_true(ok, out)
        local qs = require("quicksilver")
        local admin = qs.create_engine(b.url, {execution_options = {isolation_level = "AUTOCOMMIT"}})
        local function set_ssl(on)
          admin:connect(function(conn)
            conn:exec_driver_sql(on and "ALTER SYSTEM SET ssl = on" or "ALTER SYSTEM RESET ssl")
            conn:exec_driver_sql("SELECT pg_reload_conf()")
          end)
          sh("sleep 0.5")   -- the postmaster rereads its configuration
        end
        set_ssl(true)
        local run_ok, err = pcall(function()
          assert.same({200, "ssl true"}, {get("/ssl")})
        end)
        set_ssl(false)
        admin:dispose()
        assert(run_ok, err)
        -- without TLS on the server, require fails with a clear error
        assert.equal(500, (get("/ssl")))
        assert.matches("quicksilver: unhandled error in /ssl: qs.exc.OperationalError: [^\n]*SSL", server:log())
      end)

      it("reconnects after a server restart", function()
        if os.getenv("QS_SERVERS_OWNED") ~= "1" then
          pending("needs servers started by spec/support/servers.sh (QS_SERVERS_OWNED=1)")
          return
        end
        local _, before = get("/pid")
        assert.matches("^%d+$", before)
        assert.is_true((sh("bash spec/support/servers.sh down " .. b.down)))
        local ok, out = sh("bash spec/support/servers.sh up " .. b.down)
        assert.is_true(ok, out)
        local status, after = get("/pid")
        assert.equal(200, status, after)
        assert.matches("^%d+$", after)
        assert.same({200, "42"}, {get("/small?n=41")})
      end)
    end)
  end
end)
