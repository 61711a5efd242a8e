-- MariaDB Galera (three nodes on loopback: spec/support/scaleout/galera.sh,
-- docs/SCALING.md, Galera): writes on any node, a certification conflict as
-- the one retryable error class (qs.exc.TransactionRollbackError), and the
-- retry helper (engine:begin(fn, {retries = n})) under conflicting
-- concurrent writes on several nodes: the final state is that of a serial
-- order, nothing lost or applied twice. Both MySQL drivers (libmariadb and
-- the wire driver). The cluster's URLs come from QS_GALERA_URL_1..3; without
-- them every test here fails (start the cluster first).
local qs = require("quicksilver")
local orm = require("quicksilver.orm")
local loop = require("quicksilver.async.loop")
local helpers = require("spec.helpers")
local exc = qs.exc

local drive = require("quicksilver.waiting").drive

local URLS = {os.getenv("QS_GALERA_URL_1"), os.getenv("QS_GALERA_URL_2"), os.getenv("QS_GALERA_URL_3")}

-- The same URL for another driver: mysql://... -> mysql+wire://...
local function with_driver(url, scheme)
  return (url:gsub("^[%w+]+://", scheme .. "://"))
end

-- Every connection of engine waits, at each BEGIN, until its node has
-- applied what the cluster committed before (wsrep_sync_wait = 1, set when
-- the connection opens: inside a transaction it would be too late):
-- read-your-writes across nodes (docs/SCALING.md, Galera).
local function causal(engine)
  qs.event.listen(engine.pool, "connect", function(cconn)
    local ok, err = drive(cconn, cconn:exec("SET SESSION wsrep_sync_wait = 1"))
    if not ok then error(err, 0) end
  end)
  return engine
end

local run_all = helpers.run_in_loop

local function raises(cls, fn)
  local ok, err = pcall(fn)
  assert(not ok, "expected " .. cls.name .. ", nothing was raised")
  assert(exc.is_error(err, cls), "expected " .. cls.name .. ", got " .. tostring(err))
  return err
end

describe("MariaDB Galera", function()
  if not (URLS[1] and URLS[2] and URLS[3]) then
    it("needs the cluster", function()
      error("QS_GALERA_URL_1..3 are not set: start the cluster with " ..
        "spec/support/scaleout/galera.sh start and export what it prints", 0)
    end)
    return
  end

  for _, scheme in ipairs({"mysql", "mysql+wire"}) do
    describe("through " .. scheme, function()
      local e = {}      -- an engine per node
      local we = {}     -- the same with the coroutine loop's waiter

      local function read(node, sql)
        return e[node]:connect(function(c) return c:exec_driver_sql(sql):scalar() end)
      end

      local function counter(node) return read(node or 1, "SELECT v FROM galera_counter WHERE id = 1") end

      before_each(function()
        for i = 1, 3 do
          e[i] = causal(qs.create_engine(with_driver(URLS[i], scheme), {pool_size = 4}))
          we[i] = causal(qs.create_engine(with_driver(URLS[i], scheme), {pool_size = 4, waiter = loop.waiter}))
        end
        e[1]:begin(function(c)
          c:exec_driver_sql("DROP TABLE IF EXISTS galera_counter, galera_applied")
          c:exec_driver_sql("CREATE TABLE galera_counter (id INT PRIMARY KEY, v INT NOT NULL)")
          c:exec_driver_sql("CREATE TABLE galera_applied (worker INT NOT NULL, k INT NOT NULL, " ..
            "node INT NOT NULL, PRIMARY KEY (worker, k))")
          c:exec_driver_sql("INSERT INTO galera_counter VALUES (1, 0), (2, 0)")
        end)
        -- every node has the new tables before a test uses them: the first
        -- statement's BEGIN waits for the node (wsrep_sync_wait), while a
        -- statement that names the table is prepared (the wire driver
        -- prepares on the server) before BEGIN is sent
        for i = 1, 3 do
          e[i]:connect(function(c)
            c:exec_driver_sql("SELECT 1")
            c:exec_driver_sql("SELECT count(*) FROM galera_counter")
          end)
        end
      end)

      after_each(function()
        e[1]:begin(function(c) c:exec_driver_sql("DROP TABLE IF EXISTS galera_counter, galera_applied") end)
        for i = 1, 3 do e[i]:dispose(); we[i]:dispose() end
      end)

      it("is one cluster of three nodes; a write on any node is seen on the others", function()
        for i = 1, 3 do
          assert.equal("3", tostring(read(i, "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS " ..
            "WHERE VARIABLE_NAME = 'WSREP_CLUSTER_SIZE'")))
        end
        for i = 1, 3 do
          e[i]:begin(function(c)
            c:exec_driver_sql("INSERT INTO galera_applied (worker, k, node) VALUES (0, " .. i .. ", " .. i .. ")")
          end)
        end
        for i = 1, 3 do
          assert.equal(3, read(i, "SELECT count(*) FROM galera_applied"))
          assert.equal(6, tonumber(read(i, "SELECT sum(node) FROM galera_applied")))
        end
      end)

      it("reports a certification conflict as a retryable TransactionRollbackError", function()
        local a, b = e[1]:connect(), e[2]:connect()
        a:exec_driver_sql("UPDATE galera_counter SET v = v + 1 WHERE id = 1")
        b:exec_driver_sql("UPDATE galera_counter SET v = v + 10 WHERE id = 1")   -- no wait: another node
        a:commit()
        local err = raises(exc.TransactionRollbackError, function() b:commit() end)
        assert.is_true(err:is_a(exc.OperationalError))
        assert.is_true(err.retryable)
        assert.is_false(err.connection_invalidated)
        assert.equal(1213, err.orig.code)
        assert.equal("40001", err.orig.sqlstate)
        b:rollback()
        -- the connection goes on
        assert.equal(1, b:exec_driver_sql("SELECT 1"):scalar())
        a:close()
        b:close()
        assert.equal(1, counter(3))
      end)

      it("reruns a transaction that lost a conflict with one committed on another node", function()
        local tries, retried = 0, {}
        e[1]:begin(function(c)
          tries = tries + 1
          c:exec_driver_sql("UPDATE galera_counter SET v = v + 1 WHERE id = 1")
          if tries == 1 then
            -- node 2 commits a write to the same row while this one is open
            e[2]:begin(function(o) o:exec_driver_sql("UPDATE galera_counter SET v = v + 10 WHERE id = 1") end)
          end
        end, {retries = 3, backoff = 0.01, on_retry = function(err) retried[#retried + 1] = err end})
        assert.equal(2, tries)
        assert.equal(1, #retried)
        assert.is_true(exc.is_error(retried[1], exc.TransactionRollbackError))
        assert.equal(11, counter(1))
        assert.equal(11, counter(3))
      end)

      it("re-raises the conflict when the retries are spent; never reruns an IntegrityError", function()
        local tries = 0
        raises(exc.TransactionRollbackError, function()
          e[1]:begin(function(c)
            tries = tries + 1
            c:exec_driver_sql("UPDATE galera_counter SET v = v + 1 WHERE id = 1")
            e[2]:begin(function(o) o:exec_driver_sql("UPDATE galera_counter SET v = v + 10 WHERE id = 1") end)
          end, {retries = 2, backoff = 0})
        end)
        assert.equal(3, tries)
        assert.equal(30, counter(1))   -- only node 2's three updates
        tries = 0
        e[2]:begin(function(c) c:exec_driver_sql("INSERT INTO galera_applied VALUES (1, 1, 2)") end)
        raises(exc.IntegrityError, function()
          e[3]:begin(function(c)
            tries = tries + 1
            c:exec_driver_sql("INSERT INTO galera_applied VALUES (1, 1, 3)")
          end, {retries = 3, backoff = 0})
        end)
        assert.equal(1, tries)
      end)

      it("N increments on three nodes at once: the counter is N and matches the client's log", function()
        local PER_NODE = 8
        local log, conflicts = {}, 0
        local fns = {}
        for node = 1, 3 do
          fns[node] = function()
            for k = 1, PER_NODE do
              local tries = 0
              we[node]:begin(function(c)
                tries = tries + 1
                c:exec_driver_sql("UPDATE galera_counter SET v = v + 1 WHERE id = 1")
                c:exec_driver_sql("INSERT INTO galera_applied (worker, k, node) VALUES (" ..
                  node .. ", " .. k .. ", " .. node .. ")")
                loop.sleep(0.005)   -- the others write the same row meanwhile
              end, {retries = 100, backoff = 0.005, sleep = loop.sleep,
                on_retry = function() conflicts = conflicts + 1 end})
              log[#log + 1] = node .. ":" .. k
            end
          end
        end
        run_all(fns)
        local n = 3 * PER_NODE
        assert.equal(n, #log)
        assert.is_true(conflicts > 0, "the interleaving forced no conflict")
        for node = 1, 3 do
          assert.equal(n, counter(node))
          assert.equal(n, read(node, "SELECT count(*) FROM galera_applied"))
        end
        -- the rows written are exactly the increments the client saw commit
        local rows = e[2]:connect(function(c)
          return c:exec_driver_sql("SELECT worker, k FROM galera_applied ORDER BY worker, k"):all()
        end)
        local got = {}
        for i, r in ipairs(rows) do got[i] = r[1] .. ":" .. r[2] end
        table.sort(log)
        table.sort(got)
        assert.same(log, got)
      end)

      it("session:begin(fn, {retries}) reruns the ORM's unit of work after a conflict", function()
        local Counter = orm.declarative_base():model("Counter", {
          __tablename = "galera_counter",
          id = orm.mapped_column(qs.Integer, {primary_key = true, autoincrement = false}),
          v = orm.mapped_column(qs.Integer, {nullable = false}),
        })
        local session = orm.Session(e[1])
        local tries = 0
        session:begin(function(s)
          tries = tries + 1
          local row = s:get(Counter, 2)
          row.v = row.v + 1
          s:flush()
          if tries == 1 then
            e[3]:begin(function(o) o:exec_driver_sql("UPDATE galera_counter SET v = v + 100 WHERE id = 2") end)
          end
        end, {retries = 2, backoff = 0})
        session:close()
        assert.equal(2, tries)
        assert.equal(101, read(2, "SELECT v FROM galera_counter WHERE id = 2"))
      end)
    end)
  end
end)
