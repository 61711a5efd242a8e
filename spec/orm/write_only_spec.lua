-- lazy = "write_only" (WriteOnlyCollection) and lazy = "dynamic"
-- (AppenderQuery): collections never loaded, changed by add/remove, read
-- through a statement (write_only) or a legacy Query (dynamic).
local qs = require("quicksilver")
local orm = require("quicksilver.orm")
local helpers = require("spec.helpers")
local raises = helpers.assert_raises_kind

describe("write_only and dynamic collections", function()
  local Base, User, Address, Tag, Post, assoc, engine, s, rec

  local function emails(list)
    local out = {}
    for i, a in ipairs(list) do out[i] = a.email end
    table.sort(out)
    return out
  end
  local function n_sql(pat) return #helpers.matching(rec, pat) end

  before_each(function()
    Base = orm.declarative_base()
    User = Base:model("User", {
      __tablename = "wo_user",
      id = orm.mapped_column(qs.Integer, {primary_key = true}),
      name = orm.mapped_column(qs.String(30)),
      addresses = orm.relationship("Address", {lazy = "write_only", back_populates = "user",
        order_by = "Address.email", passive_deletes = true}),
      notes = orm.relationship("Note", {lazy = "dynamic", order_by = "Note.body",
        cascade = "all, delete-orphan"}),
      owned = orm.relationship("Item", {lazy = "write_only", cascade = "all, delete-orphan",
        passive_deletes = true}),
    })
    Address = Base:model("Address", {
      __tablename = "wo_address",
      id = orm.mapped_column(qs.Integer, {primary_key = true}),
      email = orm.mapped_column(qs.String(50)),
      user_id = orm.mapped_column(qs.Integer, qs.ForeignKey("wo_user.id", {ondelete = "SET NULL"})),
      user = orm.relationship("User", {back_populates = "addresses"}),
    })
    Base:model("Note", {
      __tablename = "wo_note",
      id = orm.mapped_column(qs.Integer, {primary_key = true}),
      body = orm.mapped_column(qs.String(50)),
      user_id = orm.mapped_column(qs.Integer, qs.ForeignKey("wo_user.id")),
    })
    Base:model("Item", {
      __tablename = "wo_item",
      id = orm.mapped_column(qs.Integer, {primary_key = true}),
      user_id = orm.mapped_column(qs.Integer, qs.ForeignKey("wo_user.id", {ondelete = "CASCADE"})),
    })
    assoc = qs.Table("wo_post_tag", Base.metadata,
      qs.Column("post_id", qs.ForeignKey("wo_post.id"), {primary_key = true}),
      qs.Column("tag_id", qs.ForeignKey("wo_tag.id"), {primary_key = true}))
    Post = Base:model("Post", {
      __tablename = "wo_post",
      id = orm.mapped_column(qs.Integer, {primary_key = true}),
      title = orm.mapped_column(qs.String(20)),
      tags = orm.relationship("Tag", {secondary = assoc, lazy = "write_only", order_by = "Tag.name"}),
    })
    Tag = Base:model("Tag", {
      __tablename = "wo_tag",
      id = orm.mapped_column(qs.Integer, {primary_key = true}),
      name = orm.mapped_column(qs.String(20)),
    })
    engine = helpers.backend_engine()
    Base.metadata:create_all(engine)
    s = orm.Session(engine)
    rec = helpers.recorder(engine)
  end)

  after_each(function()
    orm.close_all_sessions()
    engine:dispose()
    helpers.cleanup()
  end)

  it("adds to a new parent's collection and writes it at the flush", function()
    local u = User({name = "ed"})
    u.addresses:add(Address({email = "a@x"}))
    u.addresses:add_all({Address({email = "b@x"}), Address({email = "c@x"})})
    s:add(u)
    s:commit()
    local got = s:scalars(u.addresses:select()):all()
    assert.same({"a@x", "b@x", "c@x"}, emails(got))
    for _, a in ipairs(got) do assert.equal(u.id, a.user_id) end
  end)

  it("never loads the collection: add, remove and select on a persistent parent", function()
    s:add(User({name = "ed"}))
    s:commit()
    s:close()
    local u = s:scalars(qs.select(User)):one()
    helpers.clear(rec)
    local a1, a2 = Address({email = "a@x"}), Address({email = "b@x"})
    u.addresses:add(a1)
    u.addresses:add(a2)
    assert.equal(0, n_sql("^SELECT"))           -- nothing read
    assert.equal(u, a1.user)                      -- the backref follows
    s:flush()
    assert.equal(u.id, a1.user_id)
    assert.equal(0, n_sql("^SELECT .* FROM wo_address"))
    -- select() with criteria of its own
    local only = s:scalars(u.addresses:select():where(Address.email:like("b%"))):all()
    assert.same({"b@x"}, emails(only))
    -- a removed member's key is NULLed (no delete-orphan)
    u.addresses:remove(a1)
    s:commit()
    assert.same({"b@x"}, emails(s:scalars(u.addresses:select()):all()))
    assert.is_nil(s:scalar(qs.select(Address.user_id):where(Address.email:eq("a@x"))))
    -- the queued lists are emptied by the flush: a second flush writes nothing
    helpers.clear(rec)
    s:flush()
    assert.equal(0, n_sql("^UPDATE"))
  end)

  it("autoflushes queued members before a select() runs", function()
    local u = User({name = "ed"})
    s:add(u)
    s:flush()
    u.addresses:add(Address({email = "z@x"}))
    assert.same({"z@x"}, emails(s:scalars(u.addresses:select()):all()))
  end)

  it("takes its first members from the constructor and forgets queued ones at a rollback", function()
    local u = User({name = "ed", addresses = {Address({email = "a@x"})}})
    assert.equal("WriteOnlyCollection", (tostring(u.addresses):match("write_only") and "WriteOnlyCollection"))
    s:add(u)
    s:commit()
    assert.same({"a@x"}, emails(s:scalars(u.addresses:select()):all()))
    u.addresses:add(Address({email = "b@x"}))
    s:rollback()
    assert.same({"a@x"}, emails(s:scalars(u.addresses:select()):all()))
    s:commit()
    assert.equal(1, s:scalar(qs.select(qs.func.count()):select_from(Base.metadata.tables.wo_address)))
  end)

  it("builds insert(), update() and delete() statements for a one-to-many", function()
    local u = User({name = "ed"})
    s:add(u)
    s:flush()
    s:execute(u.addresses:insert(), {{email = "p@x"}, {email = "q@x"}})
    assert.same({"p@x", "q@x"}, emails(s:scalars(u.addresses:select()):all()))
    s:execute(u.addresses:update():values({email = "r@x"}):where(Address.email:eq("p@x")))
    assert.same({"q@x", "r@x"}, emails(s:scalars(u.addresses:select()):all()))
    s:execute(u.addresses:delete():where(Address.email:eq("q@x")))
    assert.same({"r@x"}, emails(s:scalars(u.addresses:select()):all()))
  end)

  it("writes and deletes association rows for a many-to-many", function()
    local p = Post({title = "p"})
    local t1, t2 = Tag({name = "a"}), Tag({name = "b"})
    p.tags:add_all({t1, t2})
    s:add(p)
    s:commit()
    assert.equal(2, s:scalar(qs.select(qs.func.count()):select_from(assoc)))
    local names = {}
    for i, t in ipairs(s:scalars(p.tags:select()):all()) do names[i] = t.name end
    assert.same({"a", "b"}, names)
    p.tags:remove(t1)
    s:commit()
    assert.equal(1, s:scalar(qs.select(qs.func.count()):select_from(assoc)))
    raises(qs.exc.InvalidRequestError, function() return p.tags:insert() end)
  end)

  it("refuses iteration, #, indexing and pairs with InvalidRequestError naming it", function()
    local u = User({name = "ed"})
    local function check(fn, what)
      local ok, err = pcall(fn)
      assert.is_false(ok, what)
      if type(err) == "table" then
        assert.truthy(err:is_a(qs.exc.InvalidRequestError))
        assert.truthy(tostring(err):find("User.addresses", 1, true), tostring(err))
        assert.truthy(tostring(err):find("select()", 1, true), tostring(err))
      else
        -- LuaJIT / 5.1: the handle is a userdata, which ipairs/pairs refuse
        assert.truthy(rawget(_G, "newproxy") ~= nil, tostring(err))
      end
    end
    check(function() for _ in ipairs(u.addresses) do end end, "ipairs")
    check(function() for _ in pairs(u.addresses) do end end, "pairs")
    check(function() return #u.addresses end, "#")
    check(function() return u.addresses[1] end, "[1]")
    local err = raises(qs.exc.InvalidRequestError, function() return #u.addresses end)
    assert.truthy(tostring(err):find("write_only", 1, true))
  end)

  it("refuses eager loader options on it by name", function()
    for _, opt in ipairs({"selectinload", "joinedload", "subqueryload", "lazyload"}) do
      local err = raises(qs.exc.InvalidRequestError, function() return orm[opt](User.addresses) end)
      assert.truthy(tostring(err):find("User.addresses", 1, true))
    end
    raises(qs.exc.InvalidRequestError, function() return orm.selectinload(User.notes) end)
  end)

  it("refuses a delete that would need its members unless passive_deletes", function()
    local B = orm.declarative_base()
    local P = B:model("P", {__tablename = "wo_p", id = orm.mapped_column(qs.Integer, {primary_key = true}),
      cs = orm.relationship("C", {lazy = "write_only"})})
    local C = B:model("C", {__tablename = "wo_c", id = orm.mapped_column(qs.Integer, {primary_key = true}),
      p_id = orm.mapped_column(qs.Integer, qs.ForeignKey("wo_p.id"))})
    B.metadata:create_all(engine)
    local p = P({})
    p.cs:add(C({}))
    s:add(p)
    s:commit()
    s:delete(p)
    local err = raises(qs.exc.InvalidRequestError, function() s:flush() end)
    assert.truthy(tostring(err):find("P.cs", 1, true))
    assert.truthy(tostring(err):find("passive_deletes", 1, true))
    s:rollback()
    B.metadata:drop_all(engine)
  end)

  it("deletes the parent with passive_deletes, the database cascading", function()
    -- (the SQLite driver turns foreign keys on: ON DELETE CASCADE runs there too)
    local v = User({name = "v"})
    v.owned:add(Base.registry:resolve_class("Item", "spec")({}))
    s:add(v)
    s:commit()
    assert.equal(1, s:scalar(qs.select(qs.func.count()):select_from(Base.metadata.tables.wo_item)))
    s:delete(v)
    s:commit()
    assert.equal(0, s:scalar(qs.select(qs.func.count()):select_from(Base.metadata.tables.wo_item)))
  end)

  it("refuses replacing a persistent parent's write_only collection; a new one's is replaced", function()
    local u = User({name = "ed", addresses = {Address({email = "a@x"})}})
    u.addresses = {Address({email = "b@x"})}
    s:add(u)
    s:commit()
    assert.same({"b@x"}, emails(s:scalars(u.addresses:select()):all()))
    raises(qs.exc.InvalidRequestError, function() u.addresses = {} end)
  end)

  it("refuses write_only on a many-to-one", function()
    local B = orm.declarative_base()
    B:model("P", {__tablename = "wo_p2", id = orm.mapped_column(qs.Integer, {primary_key = true})})
    local C = B:model("C", {__tablename = "wo_c2", id = orm.mapped_column(qs.Integer, {primary_key = true}),
      p_id = orm.mapped_column(qs.Integer, qs.ForeignKey("wo_p2.id")),
      p = orm.relationship("P", {lazy = "write_only"})})
    local err = raises(qs.exc.InvalidRequestError, function() return C({}).p end)
    assert.truthy(tostring(err):find("C.p", 1, true))
  end)

  describe("dynamic", function()
    it("is a Query over the collection that autoflushes appended members", function()
      local Note = Base.registry:resolve_class("Note", "spec")
      local u = User({name = "ed"})
      u.notes:append(Note({body = "b"}))
      assert.equal(1, u.notes:count())           -- no session: the appended ones
      s:add(u)
      u.notes:extend({Note({body = "a"}), Note({body = "c"})})
      assert.equal(3, u.notes:count())            -- autoflushed, then counted
      local bodies = {}
      for i, n in ipairs(u.notes:all()) do bodies[i] = n.body end
      assert.same({"a", "b", "c"}, bodies)        -- order_by
      assert.equal("c", u.notes:filter(Note.body:gt("b")):one().body)
      assert.equal("a", u.notes:filter_by({body = "a"}):first().body)
      assert.equal(2, u.notes:filter(Note.body:ne("a")):count())
      local n = u.notes:filter_by({body = "b"}):one()
      u.notes:remove(n)                           -- delete-orphan: the row goes
      s:commit()
      assert.equal(2, u.notes:count())
      assert.equal(2, s:scalar(qs.select(qs.func.count()):select_from(Base.metadata.tables.wo_note)))
    end)

    it("replaces a persistent parent's collection by comparing with its rows", function()
      local Note = Base.registry:resolve_class("Note", "spec")
      local u = User({name = "ed"})
      local keep = Note({body = "keep"})
      u.notes:extend({keep, Note({body = "drop"})})
      s:add(u)
      s:commit()
      u.notes = {keep, Note({body = "new"})}
      s:commit()
      local bodies = {}
      for i, x in ipairs(u.notes:all()) do bodies[i] = x.body end
      assert.same({"keep", "new"}, bodies)
    end)

    it("loads its members when the parent is deleted (delete cascade)", function()
      local Note = Base.registry:resolve_class("Note", "spec")
      local u = User({name = "ed"})
      u.notes:extend({Note({body = "x"}), Note({body = "y"})})
      s:add(u)
      s:commit()
      s:delete(u)
      s:commit()
      assert.equal(0, s:scalar(qs.select(qs.func.count()):select_from(Base.metadata.tables.wo_note)))
    end)

    it("refuses iteration, pointing at all()", function()
      local u = User({name = "ed"})
      local err = raises(qs.exc.InvalidRequestError, function() return #u.notes end)
      assert.truthy(tostring(err):find("all()", 1, true))
    end)
  end)
end)
