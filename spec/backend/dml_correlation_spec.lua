-- Subqueries inside UPDATE, DELETE and upserts correlate to the statement's
-- target (and to its UPDATE ... FROM / DELETE ... USING tables), as in a
-- SELECT: the statements touch exactly the rows they name, on every backend.
-- Then ORM-enabled UPDATE/DELETE with any()/has() under each
-- synchronize_session mode.
local qs = require("quicksilver")
local orm = require("quicksilver.orm")
local helpers = require("spec.helpers")
local fixtures = require("spec.support.fixtures")
local raises = helpers.assert_raises_kind

describe("DML correlation on " .. helpers.backend, function()
  local engine, md, items, tags, marks

  before_each(function()
    engine = helpers.backend_engine()
    md = qs.MetaData()
    items = qs.Table("items", md,
      qs.Column("id", qs.Integer, {primary_key = true, autoincrement = false}),
      qs.Column("k", qs.Integer),
      qs.Column("v", qs.Integer))
    tags = qs.Table("tags", md,
      qs.Column("id", qs.Integer, {primary_key = true, autoincrement = false}),
      qs.Column("k", qs.Integer),
      qs.Column("w", qs.Integer))
    marks = qs.Table("marks", md,
      qs.Column("id", qs.Integer, {primary_key = true, autoincrement = false}),
      qs.Column("k", qs.Integer))
    md:create_all(engine)
    engine:begin(function(c)
      c:execute(qs.insert(items), {{id = 1, k = 1, v = 0}, {id = 2, k = 2, v = 0}, {id = 3, k = 3, v = 0},
        {id = 4, k = 1, v = 0}})
      c:execute(qs.insert(tags), {{id = 1, k = 1, w = 10}, {id = 2, k = 1, w = 15}, {id = 3, k = 2, w = 20}})
      c:execute(qs.insert(marks), {{id = 1, k = 2}, {id = 2, k = 3}})
    end)
  end)

  after_each(function()
    md:drop_all(engine)
    engine:dispose()
    helpers.cleanup()
  end)

  -- {id = v, ...} of the items left
  local function state()
    return engine:connect(function(c)
      local out = {}
      for _, r in ipairs(c:execute(qs.select(items.c.id, items.c.v):order_by(items.c.id)):all()) do
        out[r.id] = r.v
      end
      return out
    end)
  end

  local function has_tag()
    return qs.exists(qs.select(tags.c.id):where(tags.c.k:eq(items.c.k)))
  end

  it("DELETE with a correlated EXISTS deletes only the matching rows", function()
    local n = engine:begin(function(c) return c:execute(qs.delete(items):where(has_tag())).rowcount end)
    assert.equal(3, n)
    assert.same({[3] = 0}, state())
  end)

  it("DELETE with NOT EXISTS keeps the rows that have a match", function()
    engine:begin(function(c) c:execute(qs.delete(items):where(qs.not_(has_tag()))) end)
    assert.same({[1] = 0, [2] = 0, [4] = 0}, state())
  end)

  it("UPDATE SET a correlated scalar subquery sets each row its own value", function()
    local best = qs.select(qs.func.max(tags.c.w)):where(tags.c.k:eq(items.c.k)):scalar_subquery()
    engine:begin(function(c) c:execute(qs.update(items):values({v = best})) end)
    local s = state()
    assert.same({15, 20, 15}, {s[1], s[2], s[4]})
    assert.is_nil(s[3])   -- no tag: NULL
  end)

  it("UPDATE with a correlated EXISTS in WHERE updates only the matching rows", function()
    local n = engine:begin(function(c) return c:execute(qs.update(items):where(has_tag()):values({v = 7})).rowcount end)
    assert.equal(3, n)
    assert.same({7, 7, 0, 7}, {state()[1], state()[2], state()[3], state()[4]})
  end)

  it("UPDATE with a correlated count in WHERE and in SET", function()
    local ntags = qs.select(qs.func.count(tags.c.id)):where(tags.c.k:eq(items.c.k)):scalar_subquery()
    engine:begin(function(c) c:execute(qs.update(items):where(ntags:gt(1)):values({v = ntags})) end)
    local s = state()
    assert.same({2, 0, 0, 2}, {s[1], s[2], s[3], s[4]})
  end)

  it("RETURNING a correlated scalar subquery gives each row's own value", function()
    if helpers.on("mysql") then
      -- MariaDB has DELETE ... RETURNING (not UPDATE)
      local ntags = qs.select(qs.func.count(tags.c.id)):where(tags.c.k:eq(items.c.k)):scalar_subquery()
      local rows = engine:begin(function(c)
        return c:execute(qs.delete(items):where(items.c.id:le(2)):returning(items.c.id, ntags:label("n"))):all()
      end)
      table.sort(rows, function(a, b) return a.id < b.id end)
      assert.same({{1, 2}, {2, 1}}, {{rows[1].id, rows[1].n}, {rows[2].id, rows[2].n}})
      return
    end
    local ntags = qs.select(qs.func.count(tags.c.id)):where(tags.c.k:eq(items.c.k)):scalar_subquery()
    local rows = engine:begin(function(c)
      return c:execute(qs.update(items):values({v = 1}):returning(items.c.id, ntags:label("n"))):all()
    end)
    table.sort(rows, function(a, b) return a.id < b.id end)
    local got = {}
    for i, r in ipairs(rows) do got[i] = {r.id, r.n} end
    assert.same({{1, 2}, {2, 1}, {3, 0}, {4, 2}}, got)
  end)

  it("UPDATE ... FROM correlates its subqueries to the other tables too", function()
    -- items joined to marks; the EXISTS refers to marks (the FROM table)
    local stmt = qs.update(items):where(items.c.k:eq(marks.c.k))
      :where(qs.exists(qs.select(tags.c.id):where(tags.c.k:eq(marks.c.k))))
      :values({v = 5})
    local n = engine:begin(function(c) return c:execute(stmt).rowcount end)
    assert.equal(1, n)   -- only k = 2 is both marked and tagged
    local s = state()
    assert.same({0, 5, 0, 0}, {s[1], s[2], s[3], s[4]})
  end)

  it("DELETE ... USING correlates its subqueries (not SQLite: it has no USING)", function()
    local stmt = qs.delete(items):where(items.c.k:eq(marks.c.k))
      :where(qs.exists(qs.select(tags.c.id):where(tags.c.k:eq(marks.c.k))))
    if helpers.on("sqlite") then
      raises(qs.exc.CompileError, function() engine:begin(function(c) c:execute(stmt) end) end)
      return
    end
    local n = engine:begin(function(c) return c:execute(stmt).rowcount end)
    assert.equal(1, n)
    assert.same({[1] = 0, [3] = 0, [4] = 0}, state())
  end)

  it("DELETE ... USING with a subquery that reads the target table itself", function()
    if helpers.on("sqlite") then return end
    -- MariaDB refuses this shape (error 1093) unless the subquery reads a
    -- derived table; the compiler writes one there
    local other = items:alias("other")
    local stmt = qs.delete(items):where(items.c.k:eq(marks.c.k))
      :where(qs.exists(qs.select(other.c.id):where(other.c.k:eq(items.c.k), other.c.id:ne(items.c.id))))
    local n = engine:begin(function(c) return c:execute(stmt).rowcount end)
    assert.equal(0, n)   -- marked k = 2, 3 have no second item
    stmt = qs.delete(items):where(items.c.k:eq(marks.c.k))
      :where(items.c.id:in_(qs.select(items.c.id):where(items.c.k:ge(3))))
    n = engine:begin(function(c) return c:execute(stmt).rowcount end)
    assert.equal(1, n)
    assert.same({[1] = 0, [2] = 0, [4] = 0}, state())
  end)

  it("a subquery of the target's own table without correlation stays whole", function()
    -- its only FROM is the target: nothing to correlate, it reads the table
    local top = qs.select(qs.func.max(items.c.id)):scalar_subquery()
    engine:begin(function(c) c:execute(qs.delete(items):where(items.c.id:eq(top))) end)
    assert.same({[1] = 0, [2] = 0, [3] = 0}, state())
  end)

  it("upsert SET correlates to the existing row", function()
    local best = qs.select(qs.func.max(tags.c.w)):where(tags.c.k:eq(items.c.k)):scalar_subquery()
    local ins = qs.insert(items):values({id = 1, k = 9, v = -1})
    local stmt
    if helpers.on("mysql") then
      stmt = ins:on_duplicate_key_update({v = best})
    else
      stmt = ins:on_conflict_do_update({index_elements = {"id"}, set_ = {v = best}})
    end
    engine:begin(function(c) c:execute(stmt) end)
    assert.equal(15, state()[1])   -- the existing row's k = 1, not the whole table's max
  end)

  it("INSERT ... SELECT does not correlate to the target", function()
    -- the EXISTS reads items as a table of its own: only tags not already
    -- there as items are copied
    local sel = qs.select(tags.c.id:label("id"), tags.c.k, tags.c.w)
      :where(qs.not_(qs.exists(qs.select(items.c.id):where(items.c.id:eq(tags.c.id)))))
    engine:begin(function(c)
      c:execute(qs.update(items):where(items.c.id:eq(2)):values({id = 20}))
      c:execute(qs.insert(items):from_select({"id", "k", "v"}, sel))
    end)
    local s = state()
    assert.same({0, 15, 0, 0}, {s[1], s[2], s[3], s[4]})   -- only tag 2 (w = 15) is copied
    assert.equal(0, s[20])
  end)
end)

describe("ORM-enabled DML with any()/has() on " .. helpers.backend, function()
  local Base, User, Address, engine, s

  before_each(function()
    local m = fixtures.user_address({user = function() return {nick = orm.mapped_column(qs.String(20))} end})
    Base, User, Address = m.Base, m.User, m.Address
    engine = helpers.backend_engine()
    Base.metadata:create_all(engine)
    s = orm.Session(engine)
    local ann = User({name = "ann"})
    local bob = User({name = "bob"})
    local cy = User({name = "cy"})
    ann.addresses = {Address({email = "ann@x"}), Address({email = "ann@y"})}
    bob.addresses = {Address({email = "bob@y"})}
    s:add_all({ann, bob, cy})
    s:commit()
  end)

  after_each(function()
    orm.close_all_sessions()
    s:close()
    Base.metadata:drop_all(engine)
    engine:dispose()
    helpers.cleanup()
  end)

  local function nicks()
    return engine:connect(function(c)
      local out = {}
      for _, r in ipairs(c:execute(qs.select(User.name, User.nick):order_by(User.id)):all()) do
        out[r.name] = r.nick or false
      end
      return out
    end)
  end

  local function users_left()
    return engine:connect(function(c)
      return c:execute(qs.select(User.name):order_by(User.id)):scalars():all()
    end)
  end

  for _, mode in ipairs({"auto", "fetch", false}) do
    local label = tostring(mode)

    it("update(User):where(User.addresses:any(...)) updates the matching users [" .. label .. "]", function()
      local ann, bob, cy = s:get(User, 1), s:get(User, 2), s:get(User, 3)
      assert.is_nil(ann.nick)
      local r = s:execute(qs.update(User):where(User.addresses:any(Address.email:like("%@y"))):values({nick = "y"}),
        nil, {execution_options = {synchronize_session = mode}})
      assert.equal(2, r.rowcount)
      s:commit()
      assert.same({ann = "y", bob = "y", cy = false}, nicks())
      assert.same({"y", "y"}, {ann.nick, bob.nick})
      assert.is_nil(cy.nick)
    end)

    it("the session's objects follow an any() UPDATE before commit [" .. label .. "]", function()
      local ann, cy = s:get(User, 1), s:get(User, 3)
      assert.is_nil(ann.nick)
      s:execute(qs.update(User):where(User.addresses:any()):values({nick = "has"}),
        nil, {execution_options = {synchronize_session = mode}})
      if mode then
        assert.equal("has", ann.nick)   -- expired and reloaded
      else
        assert.is_nil(ann.nick)         -- not synchronised: the old value
      end
      assert.is_nil(cy.nick)
    end)

    it("delete(User):where(~User.addresses:any()) deletes only users without addresses [" .. label .. "]", function()
      local ann, cy = s:get(User, 1), s:get(User, 3)
      local r = s:execute(qs.delete(User):where(qs.not_(User.addresses:any())),
        nil, {execution_options = {synchronize_session = mode}})
      assert.equal(1, r.rowcount)
      assert.equal(mode ~= false, orm.inspect(cy).deleted)
      assert.is_false(orm.inspect(ann).deleted)
      s:commit()
      assert.same({"ann", "bob", n = 2}, users_left())
    end)

    it("delete(Address):where(Address.user:has(...)) deletes only that user's addresses [" .. label .. "]", function()
      local a1 = s:get(Address, 1)
      local a3 = s:get(Address, 3)
      local r = s:execute(qs.delete(Address):where(Address.user:has(User.name:eq("ann"))),
        nil, {execution_options = {synchronize_session = mode}})
      assert.equal(2, r.rowcount)
      assert.equal(mode ~= false, orm.inspect(a1).deleted)
      assert.is_false(orm.inspect(a3).deleted)
      s:commit()
      local left = engine:connect(function(c) return c:execute(qs.select(Address.email)):scalars():all() end)
      assert.same({"bob@y", n = 1}, left)
    end)
  end

  it("synchronize_session = 'evaluate' refuses criteria it cannot evaluate, as SQLAlchemy's", function()
    for _, stmt in ipairs({
      qs.update(User):where(User.addresses:any()):values({nick = "x"}),
      qs.delete(Address):where(Address.user:has(User.name:eq("ann"))),
      qs.update(User):where(User.id:in_(qs.select(Address.user_id))):values({nick = "x"}),
      qs.update(User):where(User.id:eq(Address.user_id)):values({nick = "x"}),
    }) do
      local err = raises(qs.exc.InvalidRequestError, s.execute, s, stmt, nil,
        {execution_options = {synchronize_session = "evaluate"}})
      assert.matches("Could not evaluate current criteria", tostring(err), 1, true)
      assert.matches("'fetch' or false", tostring(err), 1, true)
    end
    s:rollback()
    assert.same({ann = false, bob = false, cy = false}, nicks())   -- nothing ran
    assert.same({"ann", "bob", "cy", n = 3}, users_left())
  end)

  it("synchronizes with a bindparam() in the WHERE, given per execution (and per parameter set)", function()
    local ann, bob, cy = s:get(User, 1), s:get(User, 2), s:get(User, 3)
    local stmt = qs.update(User):where(User.name:eq(qs.bindparam("who"))):values({nick = "b"})
    assert.equal(1, s:execute(stmt, {who = "ann"}).rowcount)
    assert.equal("b", ann.nick)
    assert.is_nil(bob.nick)
    s:execute(qs.update(User):where(User.name:eq(qs.bindparam("who"))), {{who = "bob", nick = "m"},
      {who = "cy", nick = "m"}})
    assert.same({"b", "m", "m"}, {ann.nick, bob.nick, cy.nick})
    s:execute(qs.delete(User):where(User.name:eq(qs.bindparam("who")), qs.not_(User.addresses:any())), {who = "cy"})
    assert.is_true(orm.inspect(cy).deleted)
    assert.is_false(orm.inspect(bob).deleted)
  end)

  it("synchronize_session = 'evaluate' takes plain column criteria", function()
    local ann, bob = s:get(User, 1), s:get(User, 2)
    s:execute(qs.update(User):where(User.name:eq("ann"), User.id:in_({1, 2}), qs.not_(User.nick:is_not(nil)))
      :values({nick = "e"}), nil, {execution_options = {synchronize_session = "evaluate"}})
    assert.equal("e", ann.nick)
    assert.is_nil(bob.nick)
  end)
end)
