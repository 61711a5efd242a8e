-- The ORM on every backend (part 2 of 2): the unit of work (flush order,
-- changed columns, batching, new keys, foreign-key syncs, failures) and
-- relationships (both sides in step, collections as sequences, cascades,
-- passive_deletes, order_by, lazy and selectin loading). The mapping and the
-- Session are in orm_session_spec.lua.
local qs = require("quicksilver")
local orm = require("quicksilver.orm")
local helpers = require("spec.helpers")
local fixtures = require("spec.support.fixtures")
local raises = helpers.assert_raises_kind
local matching, clear = helpers.matching, helpers.clear
local first_index, last_index = helpers.first_index, helpers.last_index

describe("ORM unit of work and relationships on " .. helpers.backend, function()
  local engine, Base, User, Address, Node, rec, sessions, bases

  local function session(opts)
    local o = {bind = engine}
    for k, v in pairs(opts or {}) do o[k] = v end
    local s = orm.Session(o)
    sessions[#sessions + 1] = s
    return s
  end

  -- a Base of the test's own, its tables created now and dropped in after_each
  local function extra_base()
    local B = orm.declarative_base()
    bases[#bases + 1] = B
    return B
  end

  local function create(B) B.metadata:create_all(engine) end

  local function outside(stmt)
    return engine:connect(function(c) return c:execute(stmt):all() end)
  end

  local function column(tbl, name, where)
    local stmt = qs.select(tbl.c[name]):order_by(tbl.c[name])
    if where then stmt = stmt:where(where) end
    local out = {}
    for i, r in ipairs(outside(stmt)) do out[i] = r[1] end
    return out
  end

  local function count(tbl)
    return outside(qs.select(qs.func.count()):select_from(tbl))[1][1]
  end

  before_each(function()
    sessions, bases = {}, {}
    engine = helpers.backend_engine()
    local m = fixtures.user_address({tables = {"user_account", "address"}, strict = true,
      email = "email_address", addresses = {cascade = "all, delete-orphan", order_by = "Address.email_address"},
      user = function() return {fullname = orm.mapped_column(qs.String(50))} end})
    Base, User, Address = m.Base, m.User, m.Address
    Node = fixtures.node({base = Base, table = "node",
      children = {cascade = "all, delete-orphan", order_by = "Node.id"}}).Node
    Base.metadata:create_all(engine)
    rec = helpers.recorder(engine)
  end)

  after_each(function()
    for _, s in ipairs(sessions) do s:close() end
    for i = #bases, 1, -1 do bases[i].metadata:drop_all(engine) end
    Base.metadata:drop_all(engine)
    engine:dispose()
    helpers.cleanup()
  end)

  -- ann (ann@b, ann@a), bob (bob@a), cy (none), committed; ids 1, 2, 3
  local function seed()
    local s = session()
    s:add_all({
      User({name = "ann", fullname = "Ann A", addresses = {Address({email_address = "ann@b"}),
        Address({email_address = "ann@a"})}}),
      User({name = "bob", addresses = {Address({email_address = "bob@a"})}}),
      User({name = "cy"}),
    })
    s:commit()
    s:close()
  end

  local function emails_of(user_id)
    return column(Address.__table__, "email_address", Address.__table__.c.user_id:eq(user_id))
  end

  -- unit of work -------------------------------------------------------------------------------

  describe("the flush", function()
    it("inserts parents before children, whatever order they were added in", function()
      local s = session()
      local u = User({name = "p"})
      local a1 = Address({email_address = "c1@x"})
      local a2 = Address({email_address = "c2@x", user = u})
      a1.user = u
      s:add_all({a1, a2})                     -- u comes along the many-to-one (save-update)
      assert.is_true(s.new[u])
      clear(rec)
      s:flush()
      local iu, ia = first_index(rec, "INSERT INTO user_account"), first_index(rec, "INSERT INTO address")
      assert.is_truthy(iu)
      assert.is_truthy(ia)
      assert.is_true(iu < ia)
      assert.equal(1, #matching(rec, "INSERT INTO address"))   -- the two addresses in one statement
      assert.equal(u.id, a1.user_id)
      assert.equal(u.id, a2.user_id)
      s:commit()
      assert.same({"c1@x", "c2@x"}, emails_of(u.id))
    end)

    it("deletes children before parents", function()
      seed()
      local s = session()
      local ann = s:get(User, 1)
      s:delete(ann)
      clear(rec)
      s:flush()
      local da, du = last_index(rec, "^%s*DELETE FROM address"), first_index(rec, "^%s*DELETE FROM user_account")
      assert.is_truthy(da)
      assert.is_truthy(du)
      assert.is_true(da < du)
      s:commit()
      assert.same({}, emails_of(1))
      assert.equal(1, count(Address.__table__))
      assert.same({"bob", "cy"}, column(User.__table__, "name"))
    end)

    it("inserts a self-referential adjacency list parents first, and deletes it leaves first", function()
      local s = session()
      local root = Node({name = "root"})
      local mid = Node({name = "mid", parent = root})
      local leaf = Node({name = "leaf", parent = mid})
      local leaf2 = Node({name = "leaf2"})
      mid.children[#mid.children + 1] = leaf2
      s:add_all({leaf2, leaf, mid})           -- root through parent's save-update cascade
      assert.is_true(s.new[root])
      s:flush()
      assert.is_nil(root.parent_id)
      assert.equal(root.id, mid.parent_id)
      assert.equal(mid.id, leaf.parent_id)
      assert.equal(mid.id, leaf2.parent_id)
      assert.is_true(root.id < mid.id)        -- keys are handed out in insertion order
      assert.is_true(mid.id < leaf.id and mid.id < leaf2.id)
      assert.is_true(rawequal(mid, leaf2.parent))
      s:commit()
      assert.equal(4, count(Node.__table__))
      local s2 = session()
      local r = s2:scalars(qs.select(Node):where(Node.parent_id:eq(nil))):one()
      assert.equal("root", r.name)
      assert.equal(1, #r.children)
      local names = {r.children[1].children[1].name, r.children[1].children[2].name}
      table.sort(names)
      assert.same({"leaf", "leaf2"}, names)
      s2:delete(r)
      clear(rec)
      s2:commit()                              -- cascade all: the subtree goes, leaves first
      assert.equal(0, count(Node.__table__))
      assert.is_true(#matching(rec, "^%s*DELETE FROM node") >= 1)
    end)

    it("updates only the changed columns, and nothing when a value is set to itself", function()
      seed()
      local s = session()
      local ann = s:get(User, 1)
      ann.fullname = "Ann Z"
      clear(rec)
      s:flush()
      local ups = matching(rec, "^%s*UPDATE")
      assert.equal(1, #ups)
      local set = ups[1]:match("SET (.-) WHERE")
      assert.is_truthy(set, ups[1])
      assert.matches("fullname", set)
      local _, assignments = set:gsub("=", "")
      assert.equal(1, assignments)
      ann.name = "ann"                         -- same value
      ann.fullname = "Ann Z"
      assert.is_false(s:is_modified(ann))
      clear(rec)
      s:flush()
      assert.equal(0, #matching(rec, "UPDATE"))
      s:commit()
      assert.same({"Ann Z"}, column(User.__table__, "fullname", User.__table__.c.id:eq(1)))
    end)

    it("writes a changed primary key with an UPDATE", function()
      seed()
      local s = session()
      local cy = s:get(User, 3)
      cy.id = 30
      clear(rec)
      s:commit()
      assert.equal(1, #matching(rec, "^%s*UPDATE user_account"))
      assert.same({1, 2, 30}, column(User.__table__, "id"))
      assert.equal("cy", s:get(User, 30).name)
    end)

    it("a changed primary key carries the loaded children's foreign keys with it", function()
      local B = extra_base()
      local Owner = B:model("Owner", {
        __tablename = "owner",
        code = orm.mapped_column(qs.String(10), {primary_key = true}),
        pets = orm.relationship("Pet", {back_populates = "owner", order_by = "Pet.id"}),
      })
      local Pet = B:model("Pet", {
        __tablename = "pet",
        id = orm.mapped_column(qs.Integer, {primary_key = true}),
        owner_code = orm.mapped_column(qs.ForeignKey("owner.code", {onupdate = "CASCADE"})),
        owner = orm.relationship("Owner", {back_populates = "pets"}),
      })
      create(B)
      local s = session()
      s:add(Owner({code = "a", pets = {Pet({id = 1}), Pet({id = 2})}}))
      s:commit()
      local o = s:get(Owner, "a")
      assert.equal(2, #o.pets)
      o.code = "b"
      s:commit()
      assert.same({"b", "b"}, column(Pet.__table__, "owner_code"))
      assert.is_nil(s:get(Owner, "a"))
      assert.is_true(rawequal(o, s:get(Owner, "b")))
      assert.equal("b", o.pets[1].owner_code)
    end)

    it("a rollback gives a changed primary key back its old identity", function()
      seed()
      local s = session()
      local cy = s:get(User, 3)
      cy.id = 30
      s:flush()
      assert.is_true(rawequal(cy, s:get(User, 30)))
      s:rollback()
      assert.equal(3, cy.id)
      assert.is_true(rawequal(cy, s:get(User, 3)))
      assert.equal("cy", cy.name)
      assert.same({1, 2, 3}, column(User.__table__, "id"))
    end)

    it("flushes 1,000 new objects of one class in a handful of statements, each with its key", function()
      local s = session()
      local objs = {}
      for i = 1, 1000 do objs[i] = User({name = "u" .. i, fullname = "F" .. i}) end
      s:add_all(objs)
      clear(rec)
      s:flush()
      local n = #matching(rec, "INSERT INTO user_account")
      assert.is_true(n >= 1 and n <= 5, n .. " INSERT statements")
      local seen = {}
      for _, o in ipairs(objs) do
        assert.is_number(o.id)
        assert.is_nil(seen[o.id])
        seen[o.id] = true
      end
      s:commit()
      local by_id = {}
      for _, r in ipairs(outside(qs.select(User.__table__.c.id, User.__table__.c.name))) do by_id[r[1]] = r[2] end
      for i, o in ipairs(objs) do
        assert.equal("u" .. i, by_id[o.id])   -- every object got its own row's key
      end
      assert.is_true(rawequal(objs[500], s:get(User, objs[500].id)))
    end)

    it("fetches new primary keys and synchronises foreign keys to children", function()
      seed()
      local s = session()
      local u = User({name = "dan", addresses = {Address({email_address = "dan@a"}), Address({email_address = "dan@b"})}})
      s:add(u)
      s:flush()
      assert.equal(4, u.id)
      for _, a in ipairs(u.addresses) do
        assert.equal(u.id, a.user_id)
        assert.is_number(a.id)
      end
      -- a child moved to another parent gets the new key
      local bob = s:get(User, 2)
      local moved = u.addresses[1]
      moved.user = bob
      clear(rec)
      s:flush()
      assert.equal(1, #matching(rec, "^%s*UPDATE address"))
      assert.equal(2, moved.user_id)
      s:commit()
      assert.same({"dan@a", "bob@a"}, {emails_of(2)[2], emails_of(2)[1]})
      assert.same({"dan@b"}, emails_of(4))
    end)

    it("updates and deletes rows of a composite primary key by both columns", function()
      local B = extra_base()
      local Pair = B:model("Pair", {
        __tablename = "pair",
        a = orm.mapped_column(qs.Integer, {primary_key = true, autoincrement = false}),
        b = orm.mapped_column(qs.String(10), {primary_key = true}),
        label = orm.mapped_column(qs.String(20)),
      })
      create(B)
      local s = session()
      s:add_all({Pair({a = 1, b = "x", label = "1x"}), Pair({a = 1, b = "y", label = "1y"}),
        Pair({a = 2, b = "x", label = "2x"})})
      s:commit()
      s:get(Pair, {1, "y"}).label = "changed"
      s:delete(s:get(Pair, {2, "x"}))
      clear(rec)
      s:commit()
      local up = matching(rec, "^%s*UPDATE pair")
      assert.equal(1, #up)
      assert.matches("pair%.a = .* AND .*pair%.b = ", up[1])
      assert.same({"1x", "changed"}, column(Pair.__table__, "label"))
    end)

    it("a failure mid-flush leaves nothing of the flush and needs rollback() before more work", function()
      seed()
      local s = session()
      local ann = s:get(User, 1)
      ann.fullname = "changed in the failed flush"
      local fresh = {User({name = "n1"}), User({name = "n2"}), User({name = "bob"}), User({name = "n4"})}
      s:add_all(fresh)
      s:add(Address({email_address = "x@x", user = fresh[1]}))
      local err = raises(qs.exc.IntegrityError, function() s:flush() end)
      assert.is_not_nil(err.orig)
      -- nothing of it reached the database (read from a connection of its own)
      assert.same({"ann", "bob", "cy"}, column(User.__table__, "name"))
      assert.same({"Ann A"}, column(User.__table__, "fullname", User.__table__.c.id:eq(1)))
      assert.equal(3, count(Address.__table__))
      -- the session refuses work until rollback()
      raises(qs.exc.PendingRollbackError, function() s:flush() end)
      raises(qs.exc.PendingRollbackError, function() s:execute(qs.select(User)) end)
      raises(qs.exc.PendingRollbackError, function() s:commit() end)
      s:rollback()
      for _, o in ipairs(fresh) do assert.is_true(orm.inspect(o).transient) end
      assert.equal("Ann A", ann.fullname)
      s:add(User({name = "after"}))
      s:commit()
      assert.same({"after", "ann", "bob", "cy"}, column(User.__table__, "name"))
      assert.same({"Ann A"}, column(User.__table__, "fullname", User.__table__.c.id:eq(1)))
    end)

    it("a failure in a later table puts back the keys and foreign keys the flush set", function()
      local s = session()
      local u1, u2 = User({name = "k1"}), User({name = "k2"})
      local good = Address({email_address = "ok@x", user = u1})
      local bad = Address({user = u2})                  -- email_address is NOT NULL
      s:add_all({u1, u2, good, bad})
      -- (IntegrityError; MariaDB says OperationalError 1364, as pymysql would)
      raises(qs.exc.DatabaseError, function() s:flush() end)
      -- the users' INSERT had run and given them keys; the address INSERT failed
      assert.is_nil(u1.id)
      assert.is_nil(u2.id)
      assert.is_nil(good.user_id)
      assert.is_nil(bad.user_id)
      assert.is_nil(good.id)
      s:rollback()
      bad.email_address = "fixed@x"
      s:add_all({u1, u2, good, bad})
      s:commit()
      assert.equal(u1.id, good.user_id)
      assert.equal(u2.id, bad.user_id)
      assert.equal(2, count(Address.__table__))
    end)

    it("a unique violation on the 3rd new object leaves none of them", function()
      local s = session()
      local objs = {User({name = "a"}), User({name = "b"}), User({name = "a"}), User({name = "c"})}
      s:add_all(objs)
      raises(qs.exc.IntegrityError, function() s:commit() end)
      assert.equal(0, count(User.__table__))
      raises(qs.exc.PendingRollbackError, function() s:get(User, 1) end)
      s:rollback()
      objs[3].name = "a2"
      s:add_all(objs)
      s:commit()
      assert.same({"a", "a2", "b", "c"}, column(User.__table__, "name"))
    end)
  end)

  -- relationships ------------------------------------------------------------------------------

  describe("relationships", function()
    it("keeps both sides of back_populates in step at once", function()
      local u1, u2 = User({name = "u1"}), User({name = "u2"})
      local a = Address({email_address = "a@x"})
      a.user = u1
      assert.equal(1, #u1.addresses)
      assert.is_true(rawequal(a, u1.addresses[1]))
      a.user = u2
      assert.equal(0, #u1.addresses)
      assert.is_true(rawequal(a, u2.addresses[1]))
      a.user = nil
      assert.equal(0, #u2.addresses)
      local b = Address({email_address = "b@x"})
      u1.addresses = {b}
      assert.is_true(rawequal(u1, b.user))    -- assigning the collection sets the many-to-one
    end)

    it("assigning the many-to-one updates a loaded collection without SQL", function()
      seed()
      local s = session()
      local ann = s:get(User, 1)
      assert.equal(2, #ann.addresses)
      local a = Address({email_address = "ann@c"})
      clear(rec)
      a.user = ann
      assert.equal(0, #rec)
      assert.equal(3, #ann.addresses)
      assert.is_true(rawequal(a, ann.addresses[3]))
      local bob_addr = s:scalars(qs.select(Address):where(Address.email_address:eq("bob@a"))):one()
      bob_addr.user = ann                      -- bob's collection is not loaded: nothing to update there
      assert.equal(4, #ann.addresses)
      s:commit()
      assert.same({"ann@a", "ann@b", "ann@c", "bob@a"}, emails_of(1))
      assert.same({}, emails_of(2))
    end)

    it("autoflush writes nothing for loaded, unchanged collections and still sees changes made through a kept reference", function()
      seed()
      local s = session()
      local users = s:scalars(qs.select(User):order_by(User.id)):all()
      for _, u in ipairs(users) do assert.is_table(u.addresses) end   -- lazy loads: 3 collections tracked
      clear(rec)
      s:flush()
      s:scalars(qs.select(User)):all()                                -- an autoflush with nothing to write
      assert.equal(0, #matching(rec, "^INSERT"))
      assert.equal(0, #matching(rec, "^UPDATE"))
      -- the session's transaction, read by a query (which autoflushes first)
      local function emails(user_id)
        local out = {}
        for i, e in ipairs(s:scalars(qs.select(Address.email_address):where(Address.user_id:eq(user_id))
            :order_by(Address.email_address)):all()) do
          out[i] = e
        end
        return out
      end
      local kept = users[3].addresses                                 -- cy's (empty) list, kept by the caller
      kept[#kept + 1] = Address({email_address = "cy@a"})
      assert.same({"cy@a"}, emails(3))
      assert.equal(1, #matching(rec, "^INSERT"))
      kept[1] = users[1].addresses[1]                                 -- a replacement in place, same length:
      table.remove(users[1].addresses, 1)                             -- ann@a moves to cy, cy@a is an orphan
      assert.same({"ann@a"}, emails(3))
      assert.same({"ann@b"}, emails(1))
      s:commit()
      assert.same({"ann@a"}, emails_of(3))
      assert.equal(0, #column(Address.__table__, "email_address", Address.__table__.c.email_address:eq("cy@a")))
    end)

    it("reassigning a many-to-one never read takes the object out of the old loaded collection and writes the new key", function()
      seed()
      local s = session()
      local ann, bob = s:get(User, 1), s:get(User, 2)
      assert.equal(2, #ann.addresses)
      local a = ann.addresses[1]              -- a.user itself was never read
      a.user = bob
      assert.equal(1, #ann.addresses)        -- at once, as when a.user had been read
      s:commit()
      assert.same({"ann@b"}, emails_of(1))
      assert.same({"ann@a", "bob@a"}, emails_of(2))
    end)

    it("a many-to-one assigned while the collection is unloaded shows in it once loaded (autoflush off)", function()
      seed()
      local s = session({autoflush = false})
      local cy = s:get(User, 3)
      local a = Address({email_address = "cy@new"})
      a.user = cy                            -- cy.addresses is not loaded
      s:add(a)
      assert.equal(1, #cy.addresses)         -- loaded now, without a flush
      assert.is_true(rawequal(a, cy.addresses[1]))
    end)

    it("a foreign key column set directly is written even when the parent's collection is loaded", function()
      seed()
      local s = session()
      local ann = s:get(User, 1)
      assert.equal(2, #ann.addresses)
      local a = ann.addresses[2]
      a.user_id = 3
      s:commit()
      assert.same({"ann@a"}, emails_of(1))
      assert.same({"ann@b"}, emails_of(3))
    end)

    it("keeps a backref in step like back_populates", function()
      local B = extra_base()
      local Team = B:model("Team", {
        __tablename = "team",
        id = orm.mapped_column(qs.Integer, {primary_key = true}),
        name = orm.mapped_column(qs.String(20)),
        players = orm.relationship("Player", {backref = "team"}),
      })
      local Player = B:model("Player", {
        __tablename = "player",
        id = orm.mapped_column(qs.Integer, {primary_key = true}),
        name = orm.mapped_column(qs.String(20)),
        team_id = orm.mapped_column(qs.ForeignKey("team.id")),
      })
      create(B)
      local t = Team({name = "red"})
      assert.is_not_nil(Player.team)           -- the backref is a class attribute too (once configured)
      local p = Player({name = "p1"})
      p.team = t
      assert.is_true(rawequal(p, t.players[1]))
      local s = session()
      s:add(t)
      s:commit()
      local s2 = session()
      local p2 = s2:scalars(qs.select(Player)):one()
      assert.equal("red", p2.team.name)
      assert.is_true(rawequal(p2, p2.team.players[1]))
      local rows = s2:execute(qs.select(Player.name, Team.name:label("team")):join(Player.team)):all()
      assert.same({"p1", "red"}, {rows[1].name, rows[1].team})
    end)

    it("treats collections as sequences: #, ipairs, table.insert, table.remove, a new list", function()
      seed()
      local s = session()
      local ann = s:get(User, 1)
      assert.equal(2, #ann.addresses)
      local got = {}
      for i, a in ipairs(ann.addresses) do got[i] = a.email_address end
      assert.same({"ann@a", "ann@b"}, got)      -- order_by email_address
      local added = Address({email_address = "ann@c"})
      table.insert(ann.addresses, added)
      local removed = table.remove(ann.addresses, 1)
      assert.equal("ann@a", removed.email_address)
      clear(rec)
      s:flush()                                -- the changes are found here
      assert.equal(1, #matching(rec, "^%s*INSERT INTO address"))
      assert.equal(1, #matching(rec, "^%s*DELETE FROM address"))   -- delete-orphan
      assert.is_true(rawequal(ann, added.user))
      assert.equal(1, added.user_id)
      assert.is_true(orm.inspect(removed).deleted)
      local bob = s:get(User, 2)
      local old = bob.addresses[1]
      bob.addresses = {Address({email_address = "bob@new"}), Address({email_address = "bob@new2"})}
      s:commit()
      assert.is_true(orm.inspect(old).detached)
      assert.same({"ann@b", "ann@c"}, emails_of(1))
      assert.same({"bob@new", "bob@new2"}, emails_of(2))
      assert.equal(4, count(Address.__table__))
    end)

    it("moves a child between two loaded collections with table.remove and table.insert (delete-orphan)", function()
      seed()
      -- the parents' collections loaded in either order: the outcome must not depend on it
      for _, order in ipairs({{1, 2}, {2, 1}}) do
        local s = session()
        local users = {s:get(User, 1), s:get(User, 2)}
        for _, i in ipairs(order) do assert.is_number(#users[i].addresses) end
        local from, to = users[order[1]], users[order[2]]
        local a = table.remove(from.addresses, 1)
        table.insert(to.addresses, a)
        clear(rec)
        s:commit()
        assert.equal(0, #matching(rec, "^%s*DELETE"))
        assert.equal(3, count(Address.__table__))
        assert.equal(to.id, a.user_id)
        s:close()
      end
      -- ann@a went to bob, then (bob's first by order_by) back to ann
      assert.same({"ann@a", "ann@b"}, emails_of(1))
      assert.same({"bob@a"}, emails_of(2))
    end)

    it("a collection assigned a non-list or wrong objects raises ArgumentError", function()
      local u = User({name = "x"})
      raises(qs.exc.ArgumentError, function() u.addresses = Address({email_address = "a"}) end)
      raises(qs.exc.ArgumentError, function() u.addresses = {User({name = "y"})} end)
      raises(qs.exc.ArgumentError, function() Address({email_address = "a"}).user = Address({email_address = "b"}) end)
      raises(qs.exc.ArgumentError, function() Address({email_address = "a"}).user = {name = "plain"} end)
    end)

    it("finds at flush a member inserted into a collection and points it back", function()
      seed()
      local s = session()
      local cy = s:get(User, 3)
      local a = Address({email_address = "cy@a"})
      table.insert(cy.addresses, a)
      s:commit()
      assert.same({"cy@a"}, emails_of(3))
    end)

    describe("cascades", function()
      local Team, Player, B

      local function models(cascade, opts)
        B = extra_base()
        local ropts = {back_populates = "team", cascade = cascade}
        for k, v in pairs(opts or {}) do ropts[k] = v end
        Team = B:model("Team", {
          __tablename = "team",
          id = orm.mapped_column(qs.Integer, {primary_key = true}),
          name = orm.mapped_column(qs.String(20)),
          players = orm.relationship("Player", ropts),
        })
        Player = B:model("Player", {
          __tablename = "player",
          id = orm.mapped_column(qs.Integer, {primary_key = true}),
          name = orm.mapped_column(qs.String(20)),
          team_id = orm.mapped_column(qs.ForeignKey("team.id", {ondelete = "CASCADE"})),
          team = orm.relationship("Team", {back_populates = "players"}),
        })
        create(B)
        local s = session()
        s:add(Team({name = "red", players = {Player({name = "p1"}), Player({name = "p2"}), Player({name = "p3"})}}))
        s:commit()
        s:close()
      end

      it("save-update: adding the parent adds its children; without it they stay out", function()
        models("save-update")
        local s = session()
        local p = Player({name = "p4"})
        local t = Team({name = "blue", players = {p}})
        s:add(t)
        assert.is_true(s.new[p])
        s:commit()
        assert.equal(4, count(Player.__table__))
        models("merge")
        local s2 = session()
        local q = Player({name = "q"})
        s2:add(Team({name = "green", players = {q}}))
        assert.is_nil(s2.new[q])
        assert.is_true(orm.inspect(q).transient)
      end)

      it("the default cascade nulls the children's key when the parent is deleted", function()
        models(nil)
        local s = session()
        s:delete(s:scalars(qs.select(Team)):one())
        clear(rec)
        s:commit()
        assert.equal(1, #matching(rec, "^%s*UPDATE player"))
        assert.equal(0, #matching(rec, "^%s*DELETE FROM player"))
        assert.equal(3, count(Player.__table__))
        assert.same({}, column(Player.__table__, "team_id", Player.__table__.c.team_id:ne(nil)))
      end)

      it("delete: deleting the parent deletes its children, loading them first", function()
        models("save-update, delete")
        local s = session()
        local t = s:scalars(qs.select(Team)):one()
        s:delete(t)
        clear(rec)
        s:flush()
        assert.equal(1, #matching(rec, "^%s*SELECT.-FROM player"))
        assert.is_true(#matching(rec, "^%s*DELETE FROM player") >= 1)
        for _, p in ipairs(t.players) do assert.is_true(orm.inspect(p).deleted) end
        s:commit()
        assert.equal(0, count(Player.__table__))
        assert.equal(0, count(Team.__table__))
      end)

      it("delete without delete-orphan: a member removed from the collection is kept, key nulled", function()
        models("save-update, delete")
        local s = session()
        local t = s:scalars(qs.select(Team)):one()
        local p = table.remove(t.players, 1)
        s:commit()
        assert.equal(3, count(Player.__table__))
        assert.equal(2, #column(Player.__table__, "id", Player.__table__.c.team_id:ne(nil)))
        assert.is_nil(p.team_id)
      end)

      it("delete-orphan: a member leaving its parent, by collection or many-to-one, is deleted", function()
        models("all, delete-orphan")
        local s = session()
        local t = s:scalars(qs.select(Team)):one()
        table.remove(t.players, 1)
        local p2 = t.players[1]
        assert.is_true(rawequal(t, p2.team))   -- from the identity map
        p2.team = nil
        assert.equal(1, #t.players)
        s:commit()
        assert.same({"p3"}, column(Player.__table__, "name"))
      end)

      it("all: expunge and refresh-expire cascade to loaded children", function()
        models("all")
        local s = session()
        local t = s:scalars(qs.select(Team)):one()
        local kids = {t.players[1], t.players[2], t.players[3]}
        s:expire(t)
        for _, p in ipairs(kids) do assert.is_true(orm.inspect(p).expired_attributes.name) end
        assert.equal("p1", kids[1].name)
        assert.equal(3, #t.players)            -- loads again
        s:expunge(t)
        for _, p in ipairs(kids) do assert.is_true(orm.inspect(p).detached) end
      end)

      it("passive_deletes leaves unloaded children to ON DELETE CASCADE", function()
        models("all, delete-orphan", {passive_deletes = true})
        local s = session()
        local t = s:scalars(qs.select(Team)):one()
        s:delete(t)
        clear(rec)
        s:commit()
        assert.equal(0, #matching(rec, "FROM player"))
        assert.equal(0, #matching(rec, "player"))    -- neither loaded, nor deleted, nor updated
        assert.equal(1, #matching(rec, "^%s*DELETE FROM team"))
        assert.equal(0, count(Player.__table__))     -- the database cascaded
      end)
    end)

    it("loads a collection in order_by order, also given as a function", function()
      local B = extra_base()
      local Box = B:model("Box", {
        __tablename = "box",
        id = orm.mapped_column(qs.Integer, {primary_key = true}),
        items = orm.relationship("Item", {order_by = function() return B.registry.classes.Item.label:desc() end}),
      })
      local Item = B:model("Item", {
        __tablename = "item",
        id = orm.mapped_column(qs.Integer, {primary_key = true}),
        label = orm.mapped_column(qs.String(10)),
        box_id = orm.mapped_column(qs.ForeignKey("box.id")),
      })
      create(B)
      local s = session()
      s:add(Box({items = {Item({label = "b"}), Item({label = "c"}), Item({label = "a"})}}))
      s:commit()
      s:close()
      local box = s:scalars(qs.select(Box)):one()
      assert.same({"c", "b", "a"}, {box.items[1].label, box.items[2].label, box.items[3].label})
      s:close()                                -- a new transaction sees what seed() commits
      seed()
      local ann = s:get(User, 1)
      assert.same({"ann@a", "ann@b"}, {ann.addresses[1].email_address, ann.addresses[2].email_address})
      assert.equal(3, count(Item.__table__))
    end)

    it("lazy loads with one SELECT each, and none for a many-to-one in the identity map", function()
      seed()
      local s = session()
      local ann = s:get(User, 1)
      clear(rec)
      local list = ann.addresses
      assert.equal(1, #rec)
      assert.matches("^%s*SELECT", rec[1].sql)
      assert.equal(2, #list)
      clear(rec)
      local _ = ann.addresses, #ann.addresses
      assert.is_true(rawequal(ann, list[1].user))   -- ann is in the identity map: no SELECT
      assert.equal(0, #rec)
      local bob_addr = s:scalars(qs.select(Address):where(Address.email_address:eq("bob@a"))):one()
      clear(rec)
      assert.equal("bob", bob_addr.user.name)
      assert.equal(1, #rec)
      local cy = s:get(User, 3)
      clear(rec)
      assert.equal(0, #cy.addresses)
      assert.equal(1, #rec)
    end)

    it("autoflushes before a lazy load", function()
      seed()
      local s = session()
      s:add(Address({email_address = "cy@z", user_id = 3}))
      local cy = s:get(User, 3)
      assert.equal(1, #cy.addresses)
      assert.equal("cy@z", cy.addresses[1].email_address)
    end)

    it("a lazy load after close raises DetachedInstanceError", function()
      seed()
      local s = session()
      local ann = s:get(User, 1)
      local addr = s:scalars(qs.select(Address):where(Address.email_address:eq("bob@a"))):one()
      s:close()
      assert.equal("ann", ann.name)            -- loaded columns stay readable
      raises(qs.exc.DetachedInstanceError, function() return ann.addresses end)
      raises(qs.exc.DetachedInstanceError, function() return addr.user end)
    end)

    it("lazy = 'raise' refuses to load, unless a loader option loads it", function()
      local B = extra_base()
      local Box = B:model("Box", {
        __tablename = "box",
        id = orm.mapped_column(qs.Integer, {primary_key = true}),
        items = orm.relationship("Item", {lazy = "raise", back_populates = "box"}),
      })
      local Item = B:model("Item", {
        __tablename = "item",
        id = orm.mapped_column(qs.Integer, {primary_key = true}),
        box_id = orm.mapped_column(qs.ForeignKey("box.id")),
        box = orm.relationship("Box", {back_populates = "items", lazy = "raise"}),
      })
      create(B)
      local fresh = Box()
      assert.equal(0, #fresh.items)            -- nothing to load for a new object
      local s = session()
      s:add(Box({items = {Item(), Item()}}))
      s:commit()
      local box = s:scalars(qs.select(Box)):one()
      local err = raises(qs.exc.InvalidRequestError, function() return box.items end)
      assert.matches("raise", tostring(err))
      local item = s:scalars(qs.select(Item):limit(1)):one()
      raises(qs.exc.InvalidRequestError, function() return item.box end)
      s:close()
      local s2 = session()
      local loaded = s2:scalars(qs.select(Box):options(orm.selectinload(Box.items))):one()
      assert.equal(2, #loaded.items)
    end)

    it("selectinload loads every parent's collection with one more SELECT", function()
      seed()
      local s = session()
      clear(rec)
      local users = s:scalars(qs.select(User):options(orm.selectinload(User.addresses)):order_by(User.id)):all()
      assert.equal(2, #matching(rec, "^%s*SELECT"))
      assert.matches(" IN ", rec[2].sql)
      clear(rec)
      assert.same({2, 1, 0}, {#users[1].addresses, #users[2].addresses, #users[3].addresses})
      assert.same({"ann@a", "ann@b"}, {users[1].addresses[1].email_address, users[1].addresses[2].email_address})
      assert.is_true(rawequal(users[2], users[2].addresses[1].user))
      assert.equal(0, #rec)
    end)

    it("a join along a relationship filters by the related rows", function()
      seed()
      local s = session()
      local got = s:scalars(qs.select(User):join(User.addresses):where(Address.email_address:like("bob%"))):all()
      assert.equal(1, #got)
      assert.equal("bob", got[1].name)
    end)
  end)
end)
