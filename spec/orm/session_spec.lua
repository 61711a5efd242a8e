-- Session internals on SQLite: the weak identity map, states through a
-- transaction's life, expiry, merge, savepoints, flush failures, and the
-- SQL the unit of work emits for self-referential rows and large batches.
local qs = require("quicksilver")
local orm = require("quicksilver.orm")
local helpers = require("spec.helpers")
local fixtures = require("spec.support.fixtures")
local raises = helpers.assert_raises_kind

local Base, User, Address, Node, engine, sqls

local function setup_models()
  local m = fixtures.user_address({strict = true,
    addresses = {cascade = "all, delete-orphan", order_by = "Address.email"},
    user = function() return {nick = orm.mapped_column(qs.String(30))} end})
  Base, User, Address = m.Base, m.User, m.Address
  Node = fixtures.node({base = Base, children = {cascade = "all, delete-orphan"}}).Node
end

local function count_sql(pattern)
  local n = 0
  for _, s in ipairs(sqls) do if s:find(pattern) then n = n + 1 end end
  return n
end

describe("the ORM session", function()
  before_each(function()
    setup_models()
    engine = helpers.backend_engine()
    Base.metadata:create_all(engine)
    sqls = {}
    qs.event.listen(engine, "before_cursor_execute", function(_, sql) sqls[#sqls + 1] = sql end)
  end)

  after_each(function()
    orm.close_all_sessions()
    engine:dispose()
    helpers.cleanup()
  end)

  it("lets an unreferenced, unmodified object go, and keeps a modified one", function()
    local s = orm.Session(engine)
    s:add_all({User({name = "a"}), User({name = "b"})})
    s:commit()
    -- b first: a get() that has to query autoflushes, and a flushed change
    -- no longer holds its object (the order keeps a modified at the check)
    local b = s:get(User, 2)
    local bname = b.name
    local a = s:get(User, 1)
    a.nick = "changed"
    -- what the session holds strongly, walked rather than left to the
    -- collector (whose timing differs between Lua 5.4 and LuaJIT)
    assert.is_false(helpers.strongly_reaches(s, b))   -- unmodified: the map's weak entry only
    assert.is_true(helpers.strongly_reaches(s, a))    -- modified: held until flushed
    local n = 0
    for _ in pairs(s.identity_map) do n = n + 1 end
    assert.equal(2, n)                 -- both still in the map while referenced here
    a, b = nil, nil
    s:commit()
    assert.equal("changed", s:get(User, 1).nick)
    assert.equal("b", bname)
    s:close()
  end)

  it("moves objects through transient, pending, persistent, deleted and detached", function()
    local s = orm.Session(engine)
    local u = User({name = "x"})
    local st = orm.inspect(u)
    assert.is_true(st.transient)
    s:add(u)
    assert.is_true(st.pending)
    assert.is_true(s.new[u])
    s:flush()
    assert.is_true(st.persistent)
    assert.same({1}, st.identity)
    s:delete(u)
    assert.is_true(s.deleted[u])
    s:flush()
    assert.is_true(st.deleted)
    s:commit()
    assert.is_true(st.detached)
    assert.is_nil(s:get(User, 1))
  end)

  it("expires on commit and loads everything expired in one SELECT", function()
    local s = orm.Session(engine)
    local u = User({name = "x", nick = "n"})
    s:add(u)
    s:commit()
    sqls = {}
    assert.equal("x", u.name)
    assert.equal("n", u.nick)
    assert.equal(1, count_sql("^SELECT"))
    s:expire(u, {"nick"})
    assert.is_true(orm.inspect(u).expired_attributes.nick)
    u.nick = "set without loading"
    assert.equal(1, count_sql("^SELECT"))
    s:commit()
    assert.equal("set without loading", s:get(User, 1).nick)
    s:close()
  end)

  it("refresh() discards local changes", function()
    local s = orm.Session(engine)
    local u = User({name = "x"})
    s:add(u); s:commit()
    u.name = "local"
    s:refresh(u)
    assert.equal("x", u.name)
    assert.is_false(s:is_modified(u))
    raises(qs.exc.ArgumentError, function() s:expire(u, {"nosuch"}) end)
    s:close()
  end)

  it("is_modified compares values, not assignments", function()
    local s = orm.Session(engine)
    local u = User({name = "x"})
    s:add(u); s:commit()
    assert.equal("x", u.name)         -- loaded (the commit expired it)
    u.name = "x"                      -- the same value
    assert.is_false(s:is_modified(u))
    sqls = {}
    s:flush()
    assert.equal(0, count_sql("^UPDATE"))
    u.nick = "y"
    assert.is_true(s:is_modified(u))
    table.insert(u.addresses, Address({email = "e"}))
    s:commit()
    assert.equal(1, #s:get(User, 1).addresses)
    s:close()
  end)

  it("merges a detached copy onto the persistent object", function()
    local s = orm.Session(engine)
    s:add(User({name = "x", addresses = {Address({email = "a@x"})}}))
    s:commit(); s:close()
    local s2 = orm.Session(engine)
    local copy = User({id = 1, name = "x", nick = "merged"})
    local m = s2:merge(copy)
    assert.are_not.equal(copy, m)
    assert.equal("merged", m.nick)
    assert.is_true(orm.inspect(m).persistent)
    assert.is_true(orm.inspect(copy).transient)
    local new = s2:merge(User({name = "brand new"}))
    assert.is_true(orm.inspect(new).pending)
    s2:commit()
    assert.equal("merged", s2:get(User, 1).nick)
    assert.equal(2, s2:scalar(qs.select(qs.func.count()):select_from(User)))
    s2:close()
  end)

  it("rolls back a savepoint only", function()
    local s = orm.Session(engine)
    s:add(User({name = "outer"}))
    s:begin_nested(function()
      s:add(User({name = "kept"}))
    end)
    local inner = User({name = "inner"})
    local ok = pcall(s.begin_nested, s, function()
      s:add(inner)
      s:flush()
      error("abandon")
    end)
    assert.is_false(ok)
    assert.is_true(orm.inspect(inner).transient)
    s:commit()
    local names = {}
    for _, u in ipairs(s:scalars(qs.select(User):order_by(User.id)):all()) do names[#names + 1] = u.name end
    assert.same({"outer", "kept"}, names)
    s:close()
  end)

  it("puts the session in PendingRollback after a failed flush and recovers", function()
    local s = orm.Session(engine)
    s:add(User({name = "dup"}))
    s:commit()
    local a, b = User({name = "fine"}), User({name = "dup"})
    s:add_all({a, b})
    local err = raises(qs.exc.IntegrityError, function() s:flush() end)
    assert.truthy(err.orig)
    assert.is_nil(a.id)                 -- keys assigned mid-flush are taken back
    raises(qs.exc.PendingRollbackError, function() s:execute(qs.select(User)) end)
    raises(qs.exc.PendingRollbackError, function() s:commit() end)
    s:rollback()
    assert.is_true(orm.inspect(a).transient)
    assert.equal(1, s:scalar(qs.select(qs.func.count()):select_from(User)))
    s:add(User({name = "after"}))
    s:commit()
    assert.equal(2, s:scalar(qs.select(qs.func.count()):select_from(User)))
    s:close()
  end)

  it("inserts a self-referential tree parents first and deletes it children first", function()
    local s = orm.Session(engine)
    local root = Node({name = "root"})
    local kid = Node({name = "kid", parent = root})
    Node({name = "grandkid", parent = kid})
    s:add(root)
    s:commit()
    assert.equal(3, count_sql("^INSERT INTO nodes"))   -- one level per statement
    local g = s:scalars(qs.select(Node):where(Node.name:eq("grandkid"))):one()
    assert.equal("kid", g.parent.name)
    assert.equal("root", g.parent.parent.name)
    assert.is_nil(g.parent.parent.parent)
    sqls = {}
    s:delete(s:get(Node, 1))
    s:commit()
    assert.equal(0, s:scalar(qs.select(qs.func.count()):select_from(Node)))
    -- the children were loaded and deleted first
    local last = 0
    for i, q in ipairs(sqls) do if q:find("^DELETE") then last = i end end
    assert.truthy(last > 0)
    s:close()
  end)

  it("flushes 1,000 new objects in a handful of statements", function()
    local s = orm.Session(engine)
    for i = 1, 1000 do
      s:add(User({name = "u" .. i, addresses = {Address({email = i .. "@x"})}}))
    end
    sqls = {}
    s:commit()
    assert.is_true(count_sql("^INSERT") <= 4, "INSERTs: " .. count_sql("^INSERT"))
    local u500 = s:scalars(qs.select(User):where(User.name:eq("u500"))):one()
    assert.equal("500@x", u500.addresses[1].email)
    assert.equal(u500.id, u500.addresses[1].user_id)
    s:close()
  end)

  it("updates only the changed columns, batched per column set", function()
    local s = orm.Session(engine)
    for i = 1, 10 do s:add(User({name = "u" .. i})) end
    s:commit()
    local users = s:scalars(qs.select(User)):all()
    for _, u in ipairs(users) do u.nick = "n" end
    sqls = {}
    s:flush()
    assert.equal(1, count_sql("^UPDATE users SET nick=[?$%d]+ WHERE users.id = [?$%d]+$"))
    s:close()
  end)

  it("raises DetachedInstanceError for a lazy load after close", function()
    local s = orm.Session(engine)
    s:add(User({name = "x"}))
    s:commit()
    local u = s:get(User, 1)
    local _ = u.name
    s:close()
    assert.is_true(orm.inspect(u).detached)
    raises(qs.exc.DetachedInstanceError, function() return u.addresses end)
  end)

  it("needs a bind, and refuses a second begin", function()
    local s = orm.Session()
    raises(qs.exc.UnboundExecutionError, function() s:execute(qs.select(User)) end)
    local s2 = orm.Session(engine)
    s2:begin()
    raises(qs.exc.InvalidRequestError, function() s2:begin() end)
    s2:close()
    raises(qs.exc.ArgumentError, function() orm.Session(engine, {autofluhs = true}) end)
  end)

  it("sessionmaker makes configured sessions and begin scopes", function()
    local Session = orm.sessionmaker({bind = engine, expire_on_commit = false})
    local s = Session()
    assert.is_false(s.expire_on_commit)
    local u = User({name = "x"})
    s:add(u); s:commit()
    sqls = {}
    assert.equal("x", u.name)          -- not expired: no SELECT
    assert.equal(0, #sqls)
    s:close()
    Session:begin(function(s3) s3:add(User({name = "y"})) end)
    local s4 = Session()
    assert.equal(2, s4:scalar(qs.select(qs.func.count()):select_from(User)))
    s4:close()
  end)
end)
