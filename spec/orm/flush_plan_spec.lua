-- orm/flush_plan.lua's planning of a flush, apart from the writing: which
-- rows are inserted and updated (rows_to_write), and the tables they touch
-- in dependency order with each table's rows (tables_to_write).
local qs = require("quicksilver")
local orm = require("quicksilver.orm")
local attributes = require("quicksilver.orm.attributes")
local flush_plan = require("quicksilver.orm.flush_plan")
local helpers = require("spec.helpers")
local raises = helpers.assert_raises_kind

local Base, Parent, Child, Special, A, B

local function setup_models()
  Base = orm.declarative_base()
  Parent = Base:model("Parent", {
    __tablename = "parents",
    id = orm.mapped_column(qs.Integer, {primary_key = true}),
    name = orm.mapped_column(qs.String(20)),
    children = orm.relationship("Child", {back_populates = "parent"}),
  })
  Child = Base:model("Child", {
    __tablename = "children",
    id = orm.mapped_column(qs.Integer, {primary_key = true}),
    kind = orm.mapped_column(qs.String(10)),
    parent_id = orm.mapped_column(qs.ForeignKey("parents.id")),
    parent = orm.relationship("Parent", {back_populates = "children"}),
    __mapper_args = {polymorphic_on = "kind", polymorphic_identity = "child"},
  })
  Special = Child:model("Special", {
    __tablename = "specials",
    id = orm.mapped_column(qs.Integer, qs.ForeignKey("children.id"), {primary_key = true}),
    extra = orm.mapped_column(qs.String(10)),
    __mapper_args = {polymorphic_identity = "special"},
  })
  -- two tables referring to each other, no post_update: a cycle (never created)
  local Cyclic = orm.declarative_base()
  A = Cyclic:model("A", {
    __tablename = "a",
    id = orm.mapped_column(qs.Integer, {primary_key = true}),
    b_id = orm.mapped_column(qs.Integer, qs.ForeignKey("b.id")),
  })
  B = Cyclic:model("B", {
    __tablename = "b",
    id = orm.mapped_column(qs.Integer, {primary_key = true}),
    a_id = orm.mapped_column(qs.Integer, qs.ForeignKey("a.id")),
  })
end

local function st(obj) return attributes.instance_state(obj) end
local function uow_with(t)
  local u = {delete_set = {}, syncs = {}, nulls = {}, post = {}, inserts = {}, updates = {}, deletes = {}}
  for k, v in pairs(t) do u[k] = v end
  return u
end
local function names(tables)
  local out = {}
  for i, t in ipairs(tables) do out[i] = t.name end
  return out
end

describe("flush_plan", function()
  local engine, s
  before_each(function()
    setup_models()
    engine = helpers.sqlite_engine()
    Base.metadata:create_all(engine)
    s = orm.Session(engine)
  end)
  after_each(function()
    orm.close_all_sessions()
    engine:dispose()
    helpers.cleanup()
  end)

  it("inserts the session's new objects except those deleted in the flush", function()
    local p1, p2, p3 = Parent({name = "a"}), Parent({name = "b"}), Parent({name = "c"})
    s:add_all({p1, p2, p3})
    local inserts, updates = flush_plan.rows_to_write(s, uow_with({delete_set = {[st(p2)] = true}}), {})
    assert.same({st(p1), st(p3)}, inserts)
    assert.same({}, updates)
  end)

  it("updates changed persistent objects and those a relationship writes, once each, by key", function()
    local ps = {}
    for i = 1, 4 do ps[i] = Parent({name = "p" .. i}) end
    s:add_all(ps)
    s:commit()
    for i = 1, 4 do local _ = ps[i].name end     -- loaded again after the commit
    ps[3].name = "changed"
    ps[1].name = "changed too"
    local u = uow_with({syncs = {[st(ps[4])] = {}, [st(ps[3])] = {}}, nulls = {[st(ps[4])] = true}})
    local inserts, updates = flush_plan.rows_to_write(s, u, {st(ps[1])})
    assert.same({}, inserts)
    assert.same({st(ps[1]), st(ps[3]), st(ps[4])}, updates)
  end)

  it("orders the tables touched parents first, whatever the rows' order, with each table's rows", function()
    local p, c, sp = Parent({name = "p"}), Child({}), Special({extra = "x"})
    local order, by_table = flush_plan.tables_to_write(uow_with({inserts = {st(sp), st(c)},
      updates = {}, deletes = {st(p)}}))
    assert.same({"parents", "children", "specials"}, names(order))
    -- a joined subclass's row is written to both of its tables
    assert.same({st(sp), st(c)}, by_table[Child.__table__].ins)
    assert.same({st(sp)}, by_table[Special.__table__].ins)
    assert.same({st(p)}, by_table[Parent.__table__].del)
    assert.same({}, by_table[Parent.__table__].ins)
  end)

  it("names the tables of a cycle", function()
    local err = raises(qs.exc.CircularDependencyError, function()
      flush_plan.tables_to_write(uow_with({inserts = {st(A({})), st(B({}))}}))
    end)
    assert.truthy(err.message:find("Circular dependency between tables a, b", 1, true))
  end)
end)
