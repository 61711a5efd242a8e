-- Session({autobegin = false}): work outside begin() is refused with
-- InvalidRequestError, and a flush refused that way leaves the session
-- usable (before, the refusal went through the flush's failure path and
-- the session then raised PendingRollbackError until rollback(); found
-- while writing docs/reference/ORM.md).
local qs = require("quicksilver")
local orm = require("quicksilver.orm")
local helpers = require("spec.helpers")

describe("Session autobegin = false on " .. helpers.backend, function()
  local Base, User, engine

  before_each(function()
    Base = orm.declarative_base()
    User = Base:model("User", {__tablename = "ab_users",
      id = orm.mapped_column(qs.Integer, {primary_key = true}),
      name = orm.mapped_column(qs.String(30))})
    engine = helpers.backend_engine()
    Base.metadata:drop_all(engine)
    Base.metadata:create_all(engine)
  end)

  after_each(function()
    Base.metadata:drop_all(engine)
    engine:dispose()
    helpers.cleanup()
  end)

  it("refuses a statement outside begin()", function()
    local s = orm.Session(engine, {autobegin = false})
    helpers.assert_raises_kind(qs.exc.InvalidRequestError, function() s:execute(qs.select(User)) end)
    s:close()
  end)

  it("refuses a flush outside begin() and stays usable", function()
    local s = orm.Session(engine, {autobegin = false})
    s:add(User({name = "a"}))
    local ok, err = pcall(s.flush, s)
    assert.is_false(ok)
    assert.is_true(err:is_a(qs.exc.InvalidRequestError))
    assert.truthy(tostring(err):find("Autobegin is disabled", 1, true))
    assert.is_false(err:is_a(qs.exc.PendingRollbackError))
    -- no rollback() needed: the object is still pending, and begin() works
    assert.equal(1, #s.new)
    s:begin(function(sess) sess:flush() end)
    assert.equal(0, #s.new)
    local check = orm.Session(engine)
    assert.equal(1, check:scalar(qs.select(qs.func.count(User.id))))
    check:close()
    s:close()
  end)

  it("refuses a commit outside begin() the same way", function()
    local s = orm.Session(engine, {autobegin = false})
    s:add(User({name = "b"}))
    local ok, err = pcall(s.commit, s)
    assert.is_false(ok)
    assert.truthy(tostring(err):find("Autobegin is disabled", 1, true))
    local tx = s:begin()
    tx:commit()
    assert.is_false(s:in_transaction())
    local check = orm.Session(engine)
    assert.equal(1, check:scalar(qs.select(qs.func.count(User.id))))
    check:close()
    s:close()
  end)
end)
