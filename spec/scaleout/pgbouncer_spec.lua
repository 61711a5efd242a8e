-- PostgreSQL behind pgbouncer in transaction pooling mode (docs/SCALING.md, pgbouncer),
-- both drivers (libpq and postgresql+wire). spec/support/scaleout/pgbouncer.sh
-- starts the server and pgbouncer (pool of 2 server connections) and prints
-- QS_PGBOUNCER_URL (through pgbouncer) and QS_PGBOUNCER_DIRECT_URL (the server):
-- without them every spec here FAILS (a component that cannot start is a failure).
--
-- Server connections are made to change under a client deterministically:
-- pgbouncer hands out the server connection released last (LIFO), so while B
-- holds that one in a transaction, A's next transaction runs on the other.
local qs = require("quicksilver")
local loop = require("quicksilver.async.loop")
local helpers = require("spec.helpers")
local raises = helpers.assert_raises_kind

local BOUNCER = os.getenv("QS_PGBOUNCER_URL")
local DIRECT = os.getenv("QS_PGBOUNCER_DIRECT_URL")

local function need_servers()
  assert(BOUNCER, "QS_PGBOUNCER_URL is not set: start spec/support/scaleout/pgbouncer.sh")
  assert(DIRECT, "QS_PGBOUNCER_DIRECT_URL is not set: start spec/support/scaleout/pgbouncer.sh")
end

-- The server process under a connection (in its own transaction).
local function pid(c)
  return c:exec_driver_sql("SELECT pg_backend_pid()"):scalar()
end

-- Runs fn while another client holds, in an open transaction, the server
-- connection pgbouncer would otherwise hand out next: fn's transaction runs
-- on another one. Returns the holder's server pid.
local function while_held(holder, fn)
  local c = holder:connect()
  local t = c:begin()
  local held = pid(c)
  local ok, err = pcall(fn)
  t:rollback()
  c:close()
  if not ok then error(err, 0) end
  return held
end

describe("pgbouncer (transaction pooling)", function()
  it("has its servers: QS_PGBOUNCER_URL and QS_PGBOUNCER_DIRECT_URL are set", need_servers)

  for _, driver in ipairs({"postgresql", "postgresql+wire"}) do
    describe("the " .. driver .. " driver", function()
      local url, pooled, direct
      setup(function()
        need_servers()
        url = qs.make_url(BOUNCER):set({drivername = driver})
        pooled = url:update_query({prepared_statements = "false"})
        direct = qs.make_url(DIRECT):set({drivername = driver})
        local e = qs.create_engine(direct, {poolclass = "null"})
        e:begin(function(c)
          c:exec_driver_sql("DROP TABLE IF EXISTS pgb_item")
          c:exec_driver_sql("CREATE TABLE pgb_item (id serial PRIMARY KEY, owner text, n int)")
        end)
        e:dispose()
      end)

      it("with prepared_statements = false, runs every kind of statement while server " ..
          "connections rotate under two clients", function()
        local a = qs.create_engine(url, {prepared_statements = false, pool_size = 1})
        local b = qs.create_engine(pooled, {pool_size = 1})
        local owner = driver .. "-rotate"
        local seen = {}
        local wide = {}
        for i = 1, 7600 do wide[i] = "$" .. i end   -- more parameters than libpq can describe
        local wide_sql = "SELECT count(*) FROM pgb_item WHERE n IN (" .. table.concat(wide, ",") .. ")"
        local wide_params = {}
        for i = 1, 7600 do wide_params[i] = i end
        local item = qs.Table("pgb_item", qs.MetaData(), qs.Column("id", qs.Integer, {primary_key = true}),
          qs.Column("owner", qs.Text), qs.Column("n", qs.Integer))
        for round = 1, 12 do
          local pids = {}
          local held = while_held(b, function()
            a:begin(function(c)
              pids[#pids + 1] = pid(c)
              -- the same cached statements every round: each is parsed anew
              c:execute(qs.insert(item), {owner = owner, n = round})
              c:execute(qs.insert(item), {{owner = owner, n = 1000 + round}, {owner = owner, n = 2000 + round}})
              local ids = c:execute(qs.insert(item):returning(item.c.id),
                {{owner = owner, n = 3000 + round}, {owner = owner, n = 4000 + round}}):scalars():all()
              assert.equal(2, #ids)
              local n = 0
              for _ in c:execution_options({stream_results = true, yield_per = 2})
                  :execute(qs.select(item.c.n):where(item.c.owner:eq(owner))):iter() do
                n = n + 1
              end
              assert.equal(round * 5, n)
              assert.equal(round * 5, c:exec_driver_sql(wide_sql, wide_params):scalar())
            end)
          end)
          -- and a transaction of b's own in between, on whatever server is free
          b:connect(function(c) assert.equal(round, c:exec_driver_sql(
            "SELECT count(*) FROM pgb_item WHERE owner = $1 AND n < 1000", {owner}):scalar()) end)
          for _, p in ipairs(pids) do
            assert.are_not.equal(held, p)
            seen[p] = true
          end
          seen[held] = true
        end
        local servers = 0
        for _ in pairs(seen) do servers = servers + 1 end
        assert.is_true(servers >= 2, "server connections seen: " .. servers)
        a:dispose()
        b:dispose()
      end)

      it("with prepared_statements = false, runs coroutines under a waiter on a shared pooler", function()
        local l = loop.new()
        local e = qs.create_engine(pooled, {waiter = loop.waiter, pool_size = 4})
        local done = 0
        for k = 1, 6 do
          l:spawn(function()
            for i = 1, 10 do
              e:begin(function(c)
                assert.equal(k * 100 + i, c:exec_driver_sql("SELECT $1::int + $2::int", {k * 100, i}):scalar())
                c:exec_driver_sql("SELECT pg_sleep(0.01)")
              end)
            end
            done = done + 1
          end)
        end
        l:run()
        assert.equal(6, done)
        e:dispose()
      end)

      it("without the option, a server connection changing under the statements gives a " ..
          "clear error naming the option, and the next connection works", function()
        local a = qs.create_engine(url, {pool_size = 1})
        local b = qs.create_engine(pooled, {pool_size = 1})
        local sql = "SELECT count(*) + $1::int FROM pgb_item"
        a:connect(function(c) c:exec_driver_sql(sql, {0}):scalar() end)   -- prepared on one server
        local err
        while_held(b, function()
          err = raises(qs.exc.OperationalError, function()
            a:connect(function(c) c:exec_driver_sql(sql, {0}):scalar() end)
          end)
        end)
        assert.matches("transaction pooler such as pgbouncer", err.message, 1, true)
        assert.matches("prepared_statements = false", err.message, 1, true)
        assert.is_nil(err.message:find("^ERROR"), err.message)   -- not the server's message first
        assert.equal("26000", err.orig.sqlstate)
        assert.is_true(err.connection_invalidated)
        -- the connection was given up: the engine's next one prepares afresh
        assert.equal(7, a:connect(function(c) return c:exec_driver_sql("SELECT $1::int", {7}):scalar() end))
        a:dispose()
        b:dispose()
      end)

      it("with prepared_statements = false, sets the isolation level per transaction, never " ..
          "on the server connection the pooler lends to others", function()
        local iso = qs.create_engine(pooled, {isolation_level = "SERIALIZABLE", pool_size = 1})
        local plain = qs.create_engine(pooled, {pool_size = 1})
        local show = "SHOW transaction_isolation"
        for _ = 1, 4 do
          iso:begin(function(c)
            assert.equal("serializable", c:exec_driver_sql(show):scalar())
            -- the other client, on the other server connection meanwhile
            plain:begin(function(p) assert.equal("read committed", p:exec_driver_sql(show):scalar()) end)
          end)
          assert.equal("SERIALIZABLE", iso:connect(function(c) return c:get_isolation_level() end))
          -- and on the one iso's transaction used last (pgbouncer lends it next)
          plain:begin(function(p) assert.equal("read committed", p:exec_driver_sql(show):scalar()) end)
        end
        iso:dispose()
        plain:dispose()
      end)

      it("with prepared_statements = false on the server itself, leaves no prepared " ..
          "statement behind", function()
        local e = qs.create_engine(direct:update_query({prepared_statements = "false"}), {pool_size = 1})
        e:connect(function(c)
          for i = 1, 5 do
            assert.equal(i, c:exec_driver_sql("SELECT $1::int + " .. i .. " - " .. i, {i}):scalar())
          end
          c:exec_driver_sql("SELECT $1::int", {{1}, {2}})   -- executemany
          assert.equal(0, c:exec_driver_sql("SELECT count(*) FROM pg_prepared_statements"):scalar())
        end)
        e:dispose()
        -- (and with them, the default, the statements are the server's)
        e = qs.create_engine(direct, {pool_size = 1})
        e:connect(function(c)
          c:exec_driver_sql("SELECT $1::int", {1})
          assert.is_true(c:exec_driver_sql("SELECT count(*) FROM pg_prepared_statements"):scalar() >= 1)
        end)
        e:dispose()
      end)

      it("refuses a prepared_statements value that is not a boolean, naming it", function()
        local err = raises(qs.exc.ArgumentError, function()
          qs.create_engine(url, {prepared_statements = "no"})
        end)
        assert.matches("prepared_statements", err.message, 1, true)
        err = raises(qs.exc.ArgumentError, function()
          qs.create_engine(url:update_query({prepared_statements = "maybe"}))
        end)
        assert.matches("prepared_statements must be true or false, got 'maybe'", err.message, 1, true)
        -- the drivers check what reaches them past the dialect (connect_args)
        local e = qs.create_engine(url, {connect_args = {prepared_statements = "maybe"}, poolclass = "null"})
        err = raises(qs.exc.SQLAlchemyError, function() e:connect(function() end) end)
        assert.matches("invalid prepared_statements 'maybe'", err.message, 1, true)
        e:dispose()
        -- another database's URL: the option is PostgreSQL's
        err = raises(qs.exc.ArgumentError, function()
          qs.create_engine("sqlite://", {prepared_statements = false})
        end)
        assert.matches("option 'prepared_statements' is PostgreSQL's", err.message, 1, true)
        -- true and the URL's spellings of both are taken
        qs.create_engine(url, {prepared_statements = true}):dispose()
        for _, v in ipairs({"true", "FALSE", "0", "1", "off", "on", "no", "yes"}) do
          qs.create_engine(url:update_query({prepared_statements = v})):dispose()
        end
      end)
    end)
  end
end)
