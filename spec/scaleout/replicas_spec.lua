-- quicksilver.ext.replicas against a real PostgreSQL primary and streaming
-- standby (spec/support/scaleout/pg_standby.sh starts them and sets
-- QS_PG_PRIMARY_URL / QS_PG_STANDBY_URL; the spec drives the same script to
-- pause replay and to stop and start the standby).
local qs = require("quicksilver")
local orm = require("quicksilver.orm")
local replicas = require("quicksilver.ext.replicas")

local PRIMARY = os.getenv("QS_PG_PRIMARY_URL")
local STANDBY = os.getenv("QS_PG_STANDBY_URL")
local SCRIPT = "spec/support/scaleout/pg_standby.sh"

local function control(cmd)
  assert(os.execute("bash " .. SCRIPT .. " " .. cmd), SCRIPT .. " " .. cmd .. " failed")
end

local function sleep(s) os.execute("sleep " .. s) end

-- whether a read through session s ran on the standby
local function on_standby(s)
  return s:execute(qs.select(qs.func.pg_is_in_recovery())):scalar()
end

-- polls fn until it returns true (at most ~10 s)
local function eventually(fn, what)
  for _ = 1, 100 do
    if fn() then return end
    sleep(0.1)
  end
  error("timed out waiting for " .. what)
end

describe("ext.replicas on a PostgreSQL streaming standby", function()
  local Base, Event, primary, standby

  setup(function()
    assert(PRIMARY and STANDBY, "QS_PG_PRIMARY_URL / QS_PG_STANDBY_URL are not set: " ..
      "run spec/support/scaleout/pg_standby.sh start (make test does)")
    Base = orm.declarative_base()
    Event = Base:model("Event", {
      __tablename = "replica_event",
      id = orm.mapped_column(qs.Integer, {primary_key = true}),
      body = orm.mapped_column(qs.String(40)),
    })
    primary = qs.create_engine(PRIMARY)
    standby = qs.create_engine(STANDBY)
    Base.metadata:drop_all(primary)
    Base.metadata:create_all(primary)
    eventually(function()
      return standby:connect(function(conn) return conn.dialect.has_table(conn, "replica_event") end)
    end, "the standby to replay the CREATE TABLE")
  end)

  teardown(function()
    orm.close_all_sessions()
    if primary then Base.metadata:drop_all(primary); primary:dispose() end
    if standby then standby:dispose() end
  end)

  it("reads on the standby, writes on the primary, and the standby replays them", function()
    local S = replicas.sessionmaker({primary = primary, replicas = {standby}, max_lag = 30})
    local s = S()
    assert.is_true(on_standby(s))
    s:commit()
    s:add(Event({id = 1, body = "first"}))
    s:commit()
    eventually(function()
      local found = s:get(Event, 1)
      s:commit()
      return found ~= nil
    end, "the standby to replay the insert")
    assert.is_true(on_standby(s))
    s:close()
  end)

  it("reads its own writes in the transaction that wrote", function()
    local s = replicas.sessionmaker({primary = primary, replicas = {standby}})()
    assert.is_true(on_standby(s))
    s:add(Event({id = 2, body = "mine"}))
    s:flush()
    assert.is_false(on_standby(s))                      -- on the primary now
    assert.equal("mine", s:get(Event, 2).body)
    s:rollback()
    s:close()
  end)

  it("sends reads to the primary while the standby lags more than max_lag", function()
    local S = replicas.sessionmaker({primary = primary, replicas = {standby}, max_lag = 0.5,
      check_interval = 0})
    local s = S()
    control("pause-replay")
    local ok, err = pcall(function()
      primary:begin(function(conn) conn:execute(qs.insert(Event.__table__), {id = 3, body = "lagging"}) end)
      sleep(1.2)
      assert.is_false(on_standby(s))                    -- lag > 0.5 s: the primary answers
      s:commit()
      local h = S.router:health()
      assert.is_false(h[1].ok)
      assert.is_true(h[1].lag > 0.5)
    end)
    control("resume-replay")
    assert(ok, err)
    eventually(function()
      local r = on_standby(s)
      s:commit()
      return r
    end, "reads to return to the standby once it caught up")
    s:close()
  end)

  it("falls back to the primary while the standby is down, and returns after down_for", function()
    local S = replicas.sessionmaker({primary = primary, replicas = {standby}, check_interval = 0,
      down_for = 0.5})
    local s = S()
    assert.is_true(on_standby(s))
    s:commit()
    standby:dispose()                                   -- no pooled connection survives the stop
    control("stop-standby")
    local ok, err = pcall(function()
      assert.is_false(on_standby(s))
      s:commit()
      assert.is_false(S.router:health()[1].ok)
    end)
    control("start-standby")
    assert(ok, err)
    eventually(function()
      local r = on_standby(s)
      s:commit()
      return r
    end, "reads to return to the restarted standby")
    s:close()
  end)
end)
