-- The transaction-retry helper (engine:begin(fn, {retries = n}),
-- session:begin / sessionmaker:begin with the same options; engine/retry.lua)
-- and the one retryable error class (qs.exc.TransactionRollbackError) on
-- the backend of the run: real conflicts on PostgreSQL (a SERIALIZABLE
-- conflict, a deadlock) and MariaDB (an InnoDB deadlock; a lock wait
-- timeout is not retryable), the rest (options, what is and is not rerun,
-- the waits) on every backend. Two transactions that must overlap run in
-- two coroutines of quicksilver.async.loop, whose waiter keeps a statement
-- that waits for a lock from blocking the other.
local qs = require("quicksilver")
local orm = require("quicksilver.orm")
local helpers = require("spec.helpers")
local retry = require("quicksilver.engine.retry")
local loop = require("quicksilver.async.loop")
local raises = helpers.assert_raises_kind
local exc = qs.exc

local server = helpers.on("postgresql", "mysql")
local server_it = server and it or function() end
local pg_it = helpers.on("postgresql") and it or function() end
local my_it = helpers.on("mysql") and it or function() end

local T = "retry_t"

local function value(engine, id)
  return engine:connect(function(c)
    return c:exec_driver_sql("SELECT v FROM " .. T .. " WHERE id = " .. id):scalar()
  end)
end

local function count(engine)
  return engine:connect(function(c) return c:exec_driver_sql("SELECT count(*) FROM " .. T):scalar() end)
end

local run_all = helpers.run_in_loop

describe("transaction retries on " .. helpers.backend, function()
  local engine

  before_each(function()
    engine = helpers.backend_engine({pool_size = 4})
    engine:begin(function(c)
      c:exec_driver_sql("CREATE TABLE " .. T .. " (id INTEGER PRIMARY KEY, v INTEGER NOT NULL)")
      c:exec_driver_sql("INSERT INTO " .. T .. " (id, v) VALUES (1, 0), (2, 0)")
    end)
  end)

  after_each(function()
    engine:begin(function(conn) engine.dialect.drop_everything(conn) end)
    engine:dispose()
    helpers.cleanup()
  end)

  describe("the error class", function()
    it("is an OperationalError that says it is retryable; no other class does", function()
      local cls = exc.TransactionRollbackError
      assert.is_true(cls:is_subclass_of(exc.OperationalError))
      assert.is_true(cls:is_subclass_of("DBAPIError"))
      local e = cls("conflict")
      assert.is_true(e.retryable)
      assert.is_true(e:is_a(exc.OperationalError))
      assert.is_false(exc.OperationalError("x").retryable)
      assert.is_false(exc.IntegrityError("x").retryable)
      assert.is_false(exc.ArgumentError("x").retryable)
      assert.is_true(exc.new("TransactionRollbackError", "m").retryable)
      -- what C raises for a retryable failure
      assert.equal("TransactionRollbackError", require("quicksilver.core").code_classes().RETRY)
      assert.is_true(retry.retryable(e))
      assert.is_false(retry.retryable(cls("lost", {connection_invalidated = true})))
    end)
  end)

  describe("options", function()
    local function refused(opts, pattern, fn)
      local err = raises(exc.ArgumentError, function()
        engine:begin(fn or function() end, opts)
      end)
      assert.is_truthy(err.message:find(pattern), err.message)
    end

    it("refuses unknown options and bad values, naming them", function()
      refused({retries = 1, retires = 2}, "unknown option 'retires'")
      refused({backoff = 0.1}, "'retries' is required")
      refused({retries = -1}, "'retries' must be an integer >= 0")
      refused({retries = 1.5}, "'retries' must be an integer >= 0")
      refused({retries = "3"}, "'retries' must be an integer >= 0")
      refused({retries = 0 / 0}, "'retries' must be an integer >= 0")
      refused({retries = 1 / 0}, "'retries' must be an integer >= 0")
      refused({retries = 1, backoff = -0.1}, "'backoff' must be seconds >= 0")
      refused({retries = 1, backoff = "fast"}, "'backoff' must be seconds >= 0")
      refused({retries = 1, sleep = 5}, "'sleep' must be a function")
      refused({retries = 1, on_retry = true}, "'on_retry' must be a function")
      refused("3", "options must be a table")
      local err = raises(exc.ArgumentError, function() engine:begin(nil, {retries = 1}) end)
      assert.is_truthy(err.message:find("Engine:begin: retries need a function"), err.message)
    end)

    it("leaves begin() without options as it was", function()
      local conn = engine:begin()
      assert.is_true(conn:in_transaction())
      conn:rollback()
      conn:close()
      assert.equal(7, engine:begin(function() return 7 end))
      -- a callable table is a function here too
      assert.equal(5, engine:begin(setmetatable({}, {__call = function() return 5 end}), {retries = 0}))
    end)
  end)

  describe("what is rerun", function()
    it("reruns fn in a new transaction after a retryable error, what it wrote undone", function()
      local tries, conns = 0, {}
      local r1, r2 = engine:begin(function(c)
        tries = tries + 1
        conns[tries] = c
        c:exec_driver_sql("UPDATE " .. T .. " SET v = v + 1 WHERE id = 1")
        if tries < 3 then exc.raise(exc.TransactionRollbackError, "conflict " .. tries) end
        return "done", nil
      end, {retries = 5, backoff = 0})
      assert.equal(3, tries)
      assert.equal("done", r1)
      assert.is_nil(r2)
      assert.are_not.equal(conns[1], conns[2])   -- a new Connection (and transaction) per try
      assert.equal(1, value(engine, 1))          -- the failed tries' updates were rolled back
    end)

    it("raises a non-retryable error at once (IntegrityError)", function()
      local tries = 0
      raises(exc.IntegrityError, function()
        engine:begin(function(c)
          tries = tries + 1
          c:exec_driver_sql("INSERT INTO " .. T .. " (id, v) VALUES (1, 5)")
        end, {retries = 5, backoff = 0})
      end)
      assert.equal(1, tries)
      assert.equal(2, count(engine))
    end)

    it("re-raises the last error when the retries are spent", function()
      local tries, last = 0, nil
      local ok, err = pcall(engine.begin, engine, function()
        tries = tries + 1
        last = exc.TransactionRollbackError("conflict " .. tries)
        error(last, 0)
      end, {retries = 2, backoff = 0})
      assert.is_false(ok)
      assert.equal(3, tries)   -- the first run and two reruns
      assert.equal(last, err)
      assert.equal("conflict 3", err.message)
      tries = 0
      pcall(engine.begin, engine, function()
        tries = tries + 1
        error(exc.TransactionRollbackError("conflict"), 0)
      end, {retries = 0})
      assert.equal(1, tries)
    end)

    it("never reruns after a lost connection, nor for foreign errors", function()
      for _, e in ipairs({
        exc.TransactionRollbackError("lost", {connection_invalidated = true}),
        exc.OperationalError("server gone"),
        "a plain string",
        {retryable = true},   -- not a quicksilver error
      }) do
        local tries = 0
        local ok, err = pcall(engine.begin, engine, function()
          tries = tries + 1
          error(e, 0)
        end, {retries = 3, backoff = 0})
        assert.is_false(ok)
        assert.equal(e, err)
        assert.equal(1, tries)
      end
      -- a quicksilver error the caller marks retryable is rerun
      local tries = 0
      engine:begin(function()
        tries = tries + 1
        if tries == 1 then error(exc.OperationalError("mine", {retryable = true}), 0) end
      end, {retries = 1, backoff = 0})
      assert.equal(2, tries)
    end)

    server_it("does not rerun when the connection is lost during COMMIT (the outcome is unknown)", function()
      local admin = qs.create_engine(helpers.backend_url())
      local pg = helpers.on("postgresql")
      local tries = 0
      local err = raises(exc.OperationalError, function()
        engine:begin(function(c)
          tries = tries + 1
          c:exec_driver_sql("UPDATE " .. T .. " SET v = v + 1 WHERE id = 1")
          local id = c:exec_driver_sql(pg and "SELECT pg_backend_pid()" or "SELECT CONNECTION_ID()"):scalar()
          -- the server drops the connection just before COMMIT is sent
          qs.event.listen(c, "commit", function()
            admin:connect(function(a)
              a:exec_driver_sql(pg and ("SELECT pg_terminate_backend(" .. id .. ")")
                or ("KILL CONNECTION " .. id))
              local gone = pg and "SELECT count(*) FROM pg_stat_activity WHERE pid = " .. id
                or "SELECT count(*) FROM information_schema.processlist WHERE id = " .. id
              for _ = 1, 100 do
                if a:exec_driver_sql(gone):scalar() == 0 then break end
                require("quicksilver.core").poll({}, {}, 0.02)
              end
            end)
          end)
        end, {retries = 3, backoff = 0})
      end)
      assert.equal(1, tries)
      assert.is_true(err.connection_invalidated)
      assert.is_false(err.retryable)
      admin:dispose()
      assert.equal(0, value(engine, 1))
    end)
  end)

  describe("the waits", function()
    it("backs off exponentially with jitter through the sleep given", function()
      local slept, heard = {}, {}
      local tries = 0
      engine:begin(function()
        tries = tries + 1
        if tries <= 4 then error(exc.TransactionRollbackError("c"), 0) end
      end, {retries = 4, backoff = 0.1, sleep = function(s) slept[#slept + 1] = s end,
        on_retry = function(e, k, wait) heard[#heard + 1] = {e.name, k, wait} end})
      assert.equal(4, #slept)
      for k = 1, 4 do
        local d = math.min(0.1 * 2 ^ (k - 1), 1)
        assert.is_true(slept[k] >= d / 2 and slept[k] <= d, k .. ": " .. slept[k])
        assert.same({"TransactionRollbackError", k, slept[k]}, heard[k])
      end
      -- the cap: never more than MAX_WAIT (1 s) unless backoff itself is larger
      assert.is_true(retry.wait_before(0.1, 20) <= 1)
      assert.is_true(retry.wait_before(3, 5) <= 3 and retry.wait_before(3, 5) >= 1.5)
      assert.equal(0, retry.wait_before(0, 3))
    end)

    it("sleeps in place outside a waiter, not at all with backoff 0", function()
      local orig, blocked = retry.blocking_sleep, {}
      retry.blocking_sleep = function(s) blocked[#blocked + 1] = s end
      local ok, err = pcall(function()
        local tries = 0
        engine:begin(function()
          tries = tries + 1
          if tries == 1 then error(exc.TransactionRollbackError("c"), 0) end
        end, {retries = 1})
        assert.equal(1, #blocked)
        assert.is_true(blocked[1] >= retry.DEFAULT_BACKOFF / 2 and blocked[1] <= retry.DEFAULT_BACKOFF)
        tries = 0
        engine:begin(function()
          tries = tries + 1
          if tries == 1 then error(exc.TransactionRollbackError("c"), 0) end
        end, {retries = 1, backoff = 0})
        assert.equal(1, #blocked)
      end)
      retry.blocking_sleep = orig
      assert(ok, tostring(err))
    end)

    it("never blocks a coroutine under a waiter: no wait, or the scheduler's sleep when given", function()
      local waiting_engine = qs.create_engine(helpers.backend_url(), {waiter = loop.waiter})
      local orig, blocked, slept = retry.blocking_sleep, 0, {}
      retry.blocking_sleep = function() blocked = blocked + 1 end
      local ok, err = pcall(run_all, {
        function()
          local tries = 0
          waiting_engine:begin(function(c)
            tries = tries + 1
            c:exec_driver_sql("SELECT 1")
            if tries < 3 then error(exc.TransactionRollbackError("c"), 0) end
          end, {retries = 3, backoff = 0.05})
          assert.equal(3, tries)
        end,
        function()
          local tries = 0
          waiting_engine:begin(function()
            tries = tries + 1
            if tries < 2 then error(exc.TransactionRollbackError("c"), 0) end
          end, {retries = 3, backoff = 0.05, sleep = function(s)
            slept[#slept + 1] = s
            loop.sleep(s)
          end})
          assert.equal(2, tries)
        end,
      })
      retry.blocking_sleep = orig
      waiting_engine:dispose()
      assert(ok, tostring(err))
      assert.equal(0, blocked)
      assert.equal(1, #slept)
    end)
  end)

  describe("the ORM", function()
    local Item

    before_each(function()
      Item = orm.declarative_base():model("Item", {
        __tablename = T,
        id = orm.mapped_column(qs.Integer, {primary_key = true, autoincrement = false}),
        v = orm.mapped_column(qs.Integer, {nullable = false}),
      })
    end)

    it("session:begin(fn, {retries}) reruns fn; what the failed try added is not written", function()
      local session = orm.Session(engine)
      local tries = 0
      session:begin(function(s)
        tries = tries + 1
        s:add(Item({id = 10 + tries, v = tries}))
        s:flush()
        if tries == 1 then error(exc.TransactionRollbackError("c"), 0) end
      end, {retries = 2, backoff = 0})
      session:close()
      assert.equal(2, tries)
      assert.equal(3, count(engine))
      assert.equal(2, value(engine, 12))
    end)

    it("sessionmaker:begin(fn, {retries}) uses a new session per try", function()
      local maker = orm.sessionmaker({bind = engine})
      local sessions, tries = {}, 0
      local r = maker:begin(function(s)
        tries = tries + 1
        sessions[tries] = s
        s:add(Item({id = 20, v = tries}))
        s:flush()
        if tries < 3 then error(exc.TransactionRollbackError("c"), 0) end
        return "ok"
      end, {retries = 3, backoff = 0})
      assert.equal("ok", r)
      assert.equal(3, tries)
      assert.are_not.equal(sessions[1], sessions[2])
      assert.equal(3, value(engine, 20))
      raises(exc.ArgumentError, function() maker:begin(function() end, {retries = 1, wait = 1}) end)
    end)
  end)

  describe("real conflicts", function()
    pg_it("PostgreSQL: a SERIALIZABLE conflict is a TransactionRollbackError (40001), rerun to success", function()
      local ser = engine:execution_options({isolation_level = "SERIALIZABLE"})
      local a, b = ser:connect(), ser:connect()
      a:exec_driver_sql("SELECT v FROM " .. T .. " WHERE id = 1")
      b:exec_driver_sql("SELECT v FROM " .. T .. " WHERE id = 1")
      a:exec_driver_sql("UPDATE " .. T .. " SET v = v + 1 WHERE id = 1")
      a:commit()
      local err = raises(exc.TransactionRollbackError, function()
        b:exec_driver_sql("UPDATE " .. T .. " SET v = v + 1 WHERE id = 1")
      end)
      assert.is_true(err:is_a(exc.OperationalError))
      assert.is_true(err.retryable)
      assert.equal("40001", err.orig.sqlstate)
      b:rollback()
      a:close()
      b:close()
      -- the helper: the first try reads, another transaction commits in
      -- between, the first try's write conflicts; the rerun sees the new value
      local tries = 0
      ser:begin(function(c)
        tries = tries + 1
        local v = c:exec_driver_sql("SELECT v FROM " .. T .. " WHERE id = 1"):scalar()
        if tries == 1 then
          ser:begin(function(o) o:exec_driver_sql("UPDATE " .. T .. " SET v = v + 10 WHERE id = 1") end)
        end
        c:exec_driver_sql("UPDATE " .. T .. " SET v = " .. (v + 1) .. " WHERE id = 1")
      end, {retries = 3, backoff = 0})
      assert.equal(2, tries)
      assert.equal(12, value(engine, 1))   -- 1 + 10 + 1: nothing lost
    end)

    -- Two transactions taking two rows in opposite orders, in two coroutines.
    local function deadlock(e, setup, opts)
      local outcome, tries = {}, {0, 0}
      local function worker(i, first, second)
        return function()
          local ok, err = pcall(e.begin, e, function(c)
            tries[i] = tries[i] + 1
            if setup then c:exec_driver_sql(setup) end
            c:exec_driver_sql("UPDATE " .. T .. " SET v = v + 1 WHERE id = " .. first)
            loop.sleep(0.1)   -- both hold their first row now
            c:exec_driver_sql("UPDATE " .. T .. " SET v = v + 1 WHERE id = " .. second)
          end, opts)
          outcome[i] = ok and "committed" or err
        end
      end
      run_all({worker(1, 1, 2), worker(2, 2, 1)})
      return outcome, tries
    end

    local function expect_one_victim(outcome)
      local victims = 0
      for i = 1, 2 do
        if outcome[i] ~= "committed" then
          victims = victims + 1
          assert.is_true(exc.is_error(outcome[i], exc.TransactionRollbackError), tostring(outcome[i]))
          assert.is_true(outcome[i].retryable)
          return outcome[i], victims
        end
      end
      error("no transaction was chosen as the deadlock victim")
    end

    local function deadlock_engine()
      return qs.create_engine(helpers.backend_url(), {waiter = loop.waiter})
    end

    pg_it("PostgreSQL: a deadlock is a TransactionRollbackError (40P01); with retries both commit", function()
      local e = deadlock_engine()
      local setup = "SET deadlock_timeout = '50ms'"
      local outcome = deadlock(e, setup, nil)
      local victim = expect_one_victim(outcome)
      assert.equal("40P01", victim.orig.sqlstate)
      assert.equal(2, value(engine, 1) + value(engine, 2))   -- the winner's two updates
      local _, tries = deadlock(e, setup, {retries = 3, sleep = loop.sleep})
      assert.equal(3, tries[1] + tries[2])
      assert.equal(6, value(engine, 1) + value(engine, 2))
      e:dispose()
    end)

    my_it("MariaDB: an InnoDB deadlock (1213) is a TransactionRollbackError; with retries both commit", function()
      local e = deadlock_engine()
      local outcome = deadlock(e, nil, nil)
      local victim = expect_one_victim(outcome)
      assert.equal(1213, victim.orig.code)
      assert.equal("40001", victim.orig.sqlstate)
      assert.equal(2, value(engine, 1) + value(engine, 2))
      local _, tries = deadlock(e, nil, {retries = 3, sleep = loop.sleep})
      assert.equal(3, tries[1] + tries[2])
      assert.equal(6, value(engine, 1) + value(engine, 2))
      e:dispose()
    end)

    my_it("MariaDB: a lock wait timeout (1205) is an OperationalError that is not rerun", function()
      local e = deadlock_engine()
      local tries, outcome = 0, nil
      run_all({
        function()
          e:begin(function(c)
            c:exec_driver_sql("UPDATE " .. T .. " SET v = v + 1 WHERE id = 1")
            loop.sleep(1.6)   -- holds the row past the other's lock wait
          end)
        end,
        function()
          loop.sleep(0.1)
          local ok, err = pcall(e.begin, e, function(c)
            tries = tries + 1
            c:exec_driver_sql("SET SESSION innodb_lock_wait_timeout = 1")
            c:exec_driver_sql("UPDATE " .. T .. " SET v = v + 1 WHERE id = 1")
          end, {retries = 3, backoff = 0})
          outcome = ok and "committed" or err
        end,
      })
      e:dispose()
      assert.equal(1, tries)
      assert.is_true(exc.is_error(outcome, exc.OperationalError), tostring(outcome))
      assert.is_false(outcome:is_a(exc.TransactionRollbackError))
      assert.equal(1205, outcome.orig.code)
      assert.is_false(outcome.retryable)
    end)
  end)
end)
