-- Session routing (SQLAlchemy's binds and get_bind) on two SQLite files,
-- and with QS_BACKEND set, on the server beside a SQLite file: each model's
-- rows go to its engine, one transaction spans both, savepoints and
-- rollbacks reach every connection, and what has no bind is refused.
local qs = require("quicksilver")
local orm = require("quicksilver.orm")
local exc = require("quicksilver.exc")
local helpers = require("spec.helpers")
local raises = helpers.assert_raises_kind

local Base, Player, Item, Score, a, b

local function models()
  Base = orm.declarative_base()
  Player = Base:model("Player", {
    __tablename = "player",
    id = orm.mapped_column(qs.Integer, {primary_key = true}),
    name = orm.mapped_column(qs.String(40), {nullable = false, unique = true}),
    items = orm.relationship("Item", {back_populates = "owner", cascade = "all, delete-orphan"}),
  })
  Item = Base:model("Item", {
    __tablename = "item",
    id = orm.mapped_column(qs.Integer, {primary_key = true}),
    player_id = orm.mapped_column(qs.ForeignKey("player.id")),
    label = orm.mapped_column(qs.String(40)),
    owner = orm.relationship("Player", {back_populates = "items"}),
  })
  -- the other database: no foreign key to player (a key across databases
  -- cannot be a constraint)
  Score = Base:model("Score", {
    __tablename = "score",
    id = orm.mapped_column(qs.Integer, {primary_key = true}),
    player_name = orm.mapped_column(qs.String(40), {nullable = false}),
    points = orm.mapped_column(qs.Integer, {nullable = false}),
  })
end

-- rows of a table on an engine, outside any session
local function count(engine, tname)
  return engine:connect(function(conn)
    return conn:execute(qs.text("SELECT count(*) FROM " .. tname)):scalar()
  end)
end

describe("Session binds and get_bind", function()
  before_each(function()
    models()
    a = helpers.backend_engine()
    b = helpers.sqlite_engine()
    Player.__table__:create(a)
    Item.__table__:create(a)
    Score.__table__:create(b)
  end)

  after_each(function()
    orm.close_all_sessions()
    pcall(function()
      Item.__table__:drop(a)
      Player.__table__:drop(a)
    end)
    a:dispose()
    b:dispose()
    helpers.cleanup()
  end)

  it("writes each model's rows on its engine in one commit", function()
    local s = orm.Session({binds = {[Player] = a, [Item] = a, [Score] = b}})
    local p = Player({name = "ann", items = {Item({label = "sword"}), Item({label = "shield"})}})
    s:add(p)
    s:add(Score({player_name = "ann", points = 10}))
    s:commit()
    assert.equal(1, count(a, "player"))
    assert.equal(2, count(a, "item"))
    assert.equal(1, count(b, "score"))
    -- reads go where the model is bound
    assert.equal("ann", s:scalars(qs.select(Player)):one().name)
    assert.equal(10, s:scalars(qs.select(Score)):one().points)
    assert.equal(2, #s:get(Player, p.id).items)
    s:close()
  end)

  it("binds a declarative Base for every model, and a class over its tables", function()
    local s = orm.Session({binds = {[Base] = a, [Score] = b}})
    s:add(Player({name = "bob"}))
    s:add(Score({player_name = "bob", points = 3}))
    s:commit()
    assert.equal(1, count(a, "player"))
    assert.equal(1, count(b, "score"))
    -- a Core statement on a bound class's table goes with the class
    assert.equal(1, s:execute(qs.select(qs.func.count()):select_from(Score.__table__)):scalar())
    assert.equal(b, s:get_bind(nil, qs.select(Score.__table__)))
    assert.equal(a, s:get_bind(Item))
    assert.equal(b, s:get_bind(orm.class_mapper(Score)))
    s:close()
  end)

  it("routes a Core statement by the table it names, else to the default bind", function()
    local s = orm.Session({bind = a, binds = {[Score.__table__] = b}})
    s:execute(qs.insert(Score.__table__), {player_name = "cy", points = 1})
    s:execute(qs.insert(Player.__table__), {name = "cy"})
    s:commit()
    assert.equal(1, count(b, "score"))
    assert.equal(1, count(a, "player"))
    -- text() names no table: the default bind
    assert.equal(1, s:execute(qs.text("SELECT count(*) FROM player")):scalar())
    s:close()
  end)

  it("refuses a statement nothing is bound for, naming what was looked for", function()
    local s = orm.Session({binds = {[Score] = b}})
    local err = raises(exc.UnboundExecutionError, function() s:execute(qs.text("SELECT 1")) end)
    assert.matches("SQL expression", err.message, 1, true)
    err = raises(exc.UnboundExecutionError, function() s:scalars(qs.select(Player)):all() end)
    assert.matches("mapper Player", err.message, 1, true)
    -- the session is still usable for what is bound
    s:add(Score({player_name = "dee", points = 2}))
    s:commit()
    assert.equal(1, count(b, "score"))
    s:close()
  end)

  it("checks the binds option", function()
    raises(exc.ArgumentError, function() orm.Session({binds = {[{}] = a}}) end)
    raises(exc.ArgumentError, function() orm.Session({binds = {Player = a}}) end)
    raises(exc.ArgumentError, function() orm.Session({binds = {[Player] = "sqlite://"}}) end)
    raises(exc.ArgumentError, function() orm.Session({binds = 5}) end)
    raises(exc.ArgumentError, function() orm.Session({binds = {}}):get_bind(42) end)
    raises(exc.ArgumentError, function() orm.sessionmaker({binds = {[{}] = a}})() end)
  end)

  it("rolls back every connection on rollback and after a failed flush", function()
    local s = orm.Session({binds = {[Base] = a, [Score] = b}})
    s:add(Player({name = "eve"}))
    s:add(Score({player_name = "eve", points = 5}))
    s:flush()
    assert.is_true(s:in_transaction())
    s:rollback()
    assert.equal(0, count(a, "player"))
    assert.equal(0, count(b, "score"))
    -- a flush failing on one engine leaves nothing on the other
    s:add(Player({name = "eve"}))
    s:commit()
    s:add(Score({player_name = "eve", points = 6}))
    s:add(Player({name = "eve"}))   -- unique name: IntegrityError on a
    raises(exc.IntegrityError, function() s:commit() end)
    s:rollback()
    assert.equal(1, count(a, "player"))
    assert.equal(0, count(b, "score"))
    s:close()
  end)

  it("opens a savepoint on every connection, and on one that joins later", function()
    local s = orm.Session({binds = {[Base] = a, [Score] = b}})
    s:add(Player({name = "fay"}))
    s:flush()                                   -- a's connection is in the transaction
    local sp = s:begin_nested()
    s:add(Player({name = "gus"}))
    s:add(Score({player_name = "gus", points = 1}))   -- b joins inside the savepoint
    s:flush()
    sp:rollback()
    s:add(Score({player_name = "fay", points = 9}))
    s:commit()
    assert.equal(1, count(a, "player"))
    assert.equal(1, count(b, "score"))
    local names = {}
    for _, p in ipairs(s:scalars(qs.select(Player)):all()) do names[#names + 1] = p.name end
    assert.same({"fay"}, names)
    assert.equal(9, s:scalars(qs.select(Score)):one().points)
    s:close()
  end)

  it("fires after_begin once per connection and hands out each connection", function()
    local s = orm.Session({binds = {[Base] = a, [Score] = b}})
    local begun = {}
    qs.event.listen(s, "after_begin", function(_, _, conn) begun[#begun + 1] = conn end)
    s:begin()
    assert.is_true(s:in_transaction())
    assert.equal(0, #begun)                     -- no default bind: connections join on use
    local ca = s:connection(Player)
    local cb = s:connection(Score)
    assert.are_not.equal(ca, cb)
    assert.equal(ca, s:connection(Item))
    assert.equal(2, #begun)
    s:commit()
    assert.is_false(s:in_transaction())
    s:close()
  end)

  it("takes get_bind overridden on the session", function()
    local seen = {}
    local s = orm.Session(a)
    s.get_bind = function(_, mapper, clause)
      seen[#seen + 1] = mapper and mapper.class_name or (clause and "clause") or "none"
      if mapper and mapper.class_name == "Score" then return b end
      return a
    end
    s:add(Score({player_name = "hal", points = 4}))
    s:add(Player({name = "hal"}))
    s:commit()
    assert.equal(1, count(b, "score"))
    assert.equal(1, count(a, "player"))
    assert.is_truthy(seen[1])
    local ok = false
    for _, v in ipairs(seen) do if v == "Score" then ok = true end end
    assert.is_true(ok, "get_bind was not asked for Score")
    s:close()
  end)

  it("passes binds through a sessionmaker", function()
    local Maker = orm.sessionmaker({binds = {[Base] = a, [Score] = b}})
    Maker.begin(Maker, function(s)
      s:add(Score({player_name = "ida", points = 8}))
      s:add(Player({name = "ida"}))
    end)
    assert.equal(1, count(b, "score"))
    assert.equal(1, count(a, "player"))
  end)
end)
