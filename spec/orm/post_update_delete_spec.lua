-- post_update foreign keys next to DELETEs (run on every backend by make
-- test): the post_update column is cleared by its own UPDATE first, then the
-- rows are deleted, as SQLAlchemy does; no CircularDependencyError.
local qs = require("quicksilver")
local orm = require("quicksilver.orm")
local helpers = require("spec.helpers")

-- Person.favorite: many-to-one to Ball, post_update; Ball.person: many-to-one
-- to Person. opts.fans: Ball.fans as well, the one-to-many other side of
-- favorite (post_update too). opts.o2m_only: Ball.fans (post_update) is the
-- only relationship over the favorite foreign key.
local function models(opts)
  opts = opts or {}
  local Base = orm.declarative_base()
  local person = {
    __tablename = "pu_person",
    id = orm.mapped_column(qs.Integer, {primary_key = true}),
    name = orm.mapped_column(qs.String(20)),
    favorite_ball_id = orm.mapped_column(qs.Integer,
      qs.ForeignKey("pu_ball.id", {name = "fk_pu_favorite", use_alter = true})),
  }
  if not opts.o2m_only then
    person.favorite = orm.relationship("Ball", {foreign_keys = "Person.favorite_ball_id", post_update = true,
      back_populates = opts.fans and "fans" or nil})
  end
  local Person = Base:model("Person", person)
  local ball = {
    __tablename = "pu_ball",
    id = orm.mapped_column(qs.Integer, {primary_key = true}),
    name = orm.mapped_column(qs.String(20)),
    person_id = orm.mapped_column(qs.ForeignKey("pu_person.id")),
    person = orm.relationship("Person", {foreign_keys = "Ball.person_id"}),
  }
  if opts.fans or opts.o2m_only then
    ball.fans = orm.relationship("Person", {foreign_keys = "Person.favorite_ball_id", post_update = true,
      back_populates = opts.fans and "favorite" or nil})
  end
  local Ball = Base:model("Ball", ball)
  return Base, Person, Ball
end

describe("post_update with deletes on " .. helpers.backend, function()
  local engine, Base, Person, Ball, sqls

  local function setup(opts)
    Base, Person, Ball = models(opts)
    engine = helpers.backend_engine()
    Base.metadata:create_all(engine)
    local s = orm.Session(engine)
    local p = Person({id = 1, name = "p"})
    local b = Ball({id = 1, name = "b", person = p})
    if opts and opts.o2m_only then b.fans = {p} else p.favorite = b end
    s:add(b)
    s:commit()
    s:close()
    sqls = {}
    qs.event.listen(engine, "before_cursor_execute", function(_, sql)
      if not sql:find("^SELECT") then sqls[#sqls + 1] = sql end
    end)
  end

  after_each(function()
    if Base then Base.metadata:drop_all(engine) end
    if engine then engine:dispose() end
    Base, engine = nil, nil
    helpers.cleanup()
  end)

  local function persons()
    return engine:connect(function(c)
      local out = {}
      local t = Person.__table__
      for i, r in ipairs(c:execute(qs.select(t.c.id, t.c.favorite_ball_id):order_by(t.c.id)):all()) do
        out[i] = {r[1], r[2] == nil and "NULL" or r[2]}
      end
      return out
    end)
  end

  local function balls()
    return engine:connect(function(c)
      return #c:execute(qs.select(Ball.__table__.c.id)):all()
    end)
  end

  it("clears person.favorite by UPDATE, then deletes the ball", function()
    setup()
    local s = orm.Session(engine)
    local b, p = s:get(Ball, 1), s:get(Person, 1)
    assert.equal(b, p.favorite)
    s:delete(b)
    p.favorite = nil
    s:commit()
    assert.equal(2, #sqls)
    assert.matches("^UPDATE pu_person SET favorite_ball_id=", sqls[1])
    assert.matches("^DELETE FROM pu_ball", sqls[2])
    assert.same({{1, "NULL"}}, persons())
    assert.equal(0, balls())
    s:close()
  end)

  it("deletes both: the post_update column cleared first, the ball, then the person", function()
    setup()
    local s = orm.Session(engine)
    local b, p = s:get(Ball, 1), s:get(Person, 1)
    assert.equal(b, p.favorite)
    s:delete(b)
    s:delete(p)
    s:commit()
    assert.equal(3, #sqls)
    assert.matches("^UPDATE pu_person SET favorite_ball_id=", sqls[1])
    assert.matches("^DELETE FROM pu_ball", sqls[2])
    assert.matches("^DELETE FROM pu_person", sqls[3])
    assert.same({}, persons())
    assert.equal(0, balls())
    s:close()
  end)

  it("deletes the ball without touching person.favorite when the other side is known", function()
    setup({fans = true})
    local s = orm.Session(engine)
    local b, p = s:get(Ball, 1), s:get(Person, 1)
    assert.equal(b, p.favorite)
    s:delete(b)
    s:commit()
    assert.equal(2, #sqls)
    assert.matches("^UPDATE pu_person SET favorite_ball_id=", sqls[1])
    assert.matches("^DELETE FROM pu_ball", sqls[2])
    assert.same({{1, "NULL"}}, persons())
    assert.equal(0, balls())
    assert.is_nil(p.favorite_ball_id)
    s:close()
  end)

  it("clears a one-to-many post_update by UPDATE before the DELETE", function()
    setup({o2m_only = true})
    local s = orm.Session(engine)
    local b, p = s:get(Ball, 1), s:get(Person, 1)
    assert.equal(p, b.fans[1])
    s:delete(b)
    s:commit()
    assert.equal(2, #sqls)
    assert.matches("^UPDATE pu_person SET favorite_ball_id=", sqls[1])
    assert.matches("^DELETE FROM pu_ball", sqls[2])
    assert.same({{1, "NULL"}}, persons())
    assert.equal(0, balls())
    s:close()
  end)

  it("one-to-many post_update: deletes both ball and person", function()
    setup({o2m_only = true})
    local s = orm.Session(engine)
    local b, p = s:get(Ball, 1), s:get(Person, 1)
    assert.equal(p, b.fans[1])
    s:delete(b)
    s:delete(p)
    s:commit()
    assert.equal(3, #sqls)
    assert.matches("^UPDATE pu_person SET favorite_ball_id=", sqls[1])
    assert.matches("^DELETE FROM pu_ball", sqls[2])
    assert.matches("^DELETE FROM pu_person", sqls[3])
    assert.same({}, persons())
    assert.equal(0, balls())
    s:close()
  end)
  it("both sides post_update: deletes both with one UPDATE first", function()
    setup({fans = true})
    local s = orm.Session(engine)
    local b, p = s:get(Ball, 1), s:get(Person, 1)
    assert.equal(p, b.fans[1])
    s:delete(b)
    s:delete(p)
    s:commit()
    assert.equal(3, #sqls)
    assert.matches("^UPDATE pu_person SET favorite_ball_id=", sqls[1])
    assert.matches("^DELETE FROM pu_ball", sqls[2])
    assert.matches("^DELETE FROM pu_person", sqls[3])
    assert.same({}, persons())
    assert.equal(0, balls())
    s:close()
  end)
end)

describe("self-referential post_update with deletes on " .. helpers.backend, function()
  local engine, Base, Node, sqls

  before_each(function()
    Base = orm.declarative_base()
    Node = Base:model("Node", {
      __tablename = "pu_node",
      id = orm.mapped_column(qs.Integer, {primary_key = true}),
      parent_id = orm.mapped_column(qs.ForeignKey("pu_node.id")),
      favorite_id = orm.mapped_column(qs.Integer, qs.ForeignKey("pu_node.id")),
      parent = orm.relationship("Node", {foreign_keys = "Node.parent_id", remote_side = "Node.id"}),
      favorite = orm.relationship("Node", {foreign_keys = "Node.favorite_id", remote_side = "Node.id",
        post_update = true}),
    })
    engine = helpers.backend_engine()
    Base.metadata:create_all(engine)
    local s = orm.Session(engine)
    local p = Node({id = 1})
    local c = Node({id = 2, parent = p})
    p.favorite = c
    s:add_all({p, c})
    s:commit()
    s:close()
    sqls = {}
    qs.event.listen(engine, "before_cursor_execute", function(_, sql)
      if not sql:find("^SELECT") then sqls[#sqls + 1] = sql end
    end)
  end)

  after_each(function()
    Base.metadata:drop_all(engine)
    engine:dispose()
    helpers.cleanup()
  end)

  local function count()
    return engine:connect(function(c) return #c:execute(qs.select(Node.__table__.c.id)):all() end)
  end

  for _, clear in ipairs({false, "relationship", "column"}) do
    it("deletes a parent and the child it favours" .. (clear and ", the favourite's " .. clear ..
        " cleared first" or ""), function()
      local s = orm.Session(engine)
      local p, c = s:get(Node, 1), s:get(Node, 2)
      assert.equal(c, p.favorite)
      assert.equal(p, c.parent)
      if clear == "relationship" then p.favorite = nil end
      if clear == "column" then p.favorite_id = nil end
      s:delete(p)
      s:delete(c)
      s:commit()
      assert.equal(3, #sqls)
      assert.matches("^UPDATE pu_node SET favorite_id=", sqls[1])
      assert.matches("^DELETE FROM pu_node", sqls[2])
      assert.matches("^DELETE FROM pu_node", sqls[3])
      assert.equal(0, count())
      s:close()
    end)
  end
end)
