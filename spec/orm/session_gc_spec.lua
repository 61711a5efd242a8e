-- A Session dropped without close() while one of its objects is still held
-- (issue 21, item 8): objects refer to their session weakly, as SQLAlchemy's
-- do, so the session is collected, and its finalizer rolls the transaction
-- back and gives the connection to the pool. Runs on every backend.
local qs = require("quicksilver")
local orm = require("quicksilver.orm")
local helpers = require("spec.helpers")
local fixtures = require("spec.support.fixtures")

local function full_gc()
  -- twice: the first cycle runs finalizers, the second frees what they let go
  collectgarbage()
  collectgarbage()
end

describe("a Session dropped without close() on " .. helpers.backend, function()
  local engine, User, seed_id

  before_each(function()
    local m = fixtures.user_address({})
    User = m.User
    engine = helpers.backend_engine({pool_size = 2, max_overflow = 0, pool_timeout = 0.5})
    m.Base.metadata:create_all(engine)
    local s = orm.Session(engine)
    local u = User({name = "seed"})
    s:add(u)
    s:commit()
    seed_id = u.id
    s:close()
  end)

  after_each(function()
    orm.close_all_sessions()
    full_gc()
    engine:dispose()
    helpers.cleanup()
  end)

  -- a unit of work that writes in its transaction and returns one loaded
  -- object, leaving the session unreachable except through that object
  local function unit(i)
    local s = orm.Session(engine)
    local u = s:get(User, seed_id)
    s:add(User({name = "dropped " .. i}))
    s:flush()
    assert.are.equal(s, orm.object_session(u))
    return u
  end

  it("gives the connection back: five units of work on a pool of two all complete", function()
    local kept = {}
    for i = 1, 5 do
      kept[i] = unit(i)
      full_gc()
    end
    assert.are.equal(0, engine.pool:checkedout())
    -- the dropped transactions' writes were rolled back
    local n = engine:connect(function(conn)
      return conn:exec_driver_sql("SELECT COUNT(*) FROM users WHERE name LIKE 'dropped%'"):scalar()
    end)
    assert.are.equal(0, n)
    -- the held objects are detached and keep what they loaded
    for i = 1, 5 do
      assert.are.equal("seed", kept[i].name)
      assert.are.equal(seed_id, kept[i].id)
      assert.is_nil(orm.object_session(kept[i]))
      local insp = orm.inspect(kept[i])
      assert.is_nil(insp.session)
      assert.is_true(insp.detached)
    end
  end)

  it("keeps the session while it is referenced, objects or not", function()
    local s = orm.Session(engine)
    local u = s:get(User, seed_id)
    full_gc()
    assert.are.equal(s, orm.object_session(u))
    assert.are.equal(s, orm.inspect(u).session)
    assert.is_true(orm.inspect(u).persistent)
    assert.is_true(s:in_transaction())
    u.name = "renamed"
    s:commit()
    s:close()
    assert.are.equal("renamed", engine:connect(function(conn)
      return conn:exec_driver_sql("SELECT name FROM users"):scalar()
    end))
  end)

  it("pending objects held after their session is gone are transient, and can join another", function()
    local function drop_with_pending()
      local s = orm.Session(engine)
      local p = User({name = "pending"})
      s:add(p)
      assert.is_true(orm.inspect(p).pending)
      return p
    end
    local p = drop_with_pending()
    full_gc()
    assert.is_true(orm.inspect(p).transient)
    local s2 = orm.Session(engine)
    s2:add(p)
    s2:commit()
    s2:close()
    assert.are.equal(1, engine:connect(function(conn)
      return conn:exec_driver_sql("SELECT COUNT(*) FROM users WHERE name = 'pending'"):scalar()
    end))
  end)

  it("an expired attribute of an object whose session was collected raises DetachedInstanceError", function()
    local function expired_object()
      local s = orm.Session(engine)
      local u = s:get(User, seed_id)
      s:expire(u)
      return u
    end
    local u = expired_object()
    full_gc()
    helpers.assert_raises_kind(qs.exc.DetachedInstanceError, function() return u.name end)
    assert.are.equal(0, engine.pool:checkedout())
  end)
end)
