-- orm.composite (orm/composite.lua): a value object over several columns,
-- read and written as one attribute, compared in SQL column by column, its
-- changes tracked when a new object is assigned; on the current backend.
local qs = require("quicksilver")
local orm = require("quicksilver.orm")
local helpers = require("spec.helpers")
local raises = helpers.assert_raises_kind

local Point = {}
Point.__index = Point
local function P(x, y) return setmetatable({x = x, y = y}, Point) end
function Point:__composite_values() return self.x, self.y end
Point.__eq = function(a, b) return a.x == b.x and a.y == b.y end

local function models()
  local Base = orm.declarative_base()
  local Segment = Base:model("Segment", {
    __tablename = "segments",
    id = orm.mapped_column(qs.Integer, {primary_key = true}),
    x1 = orm.mapped_column(qs.Integer),
    y1 = orm.mapped_column(qs.Integer),
    x2 = orm.mapped_column(qs.Integer),
    y2 = orm.mapped_column(qs.Integer),
    start = orm.composite(P, "x1", "y1"),
    -- a second function gives the values back (no method on the object)
    finish = orm.composite(function(x, y) return {x, y} end, "x2", "y2",
      {values = function(v) return v[1], v[2] end}),
  })
  return Base, Segment
end

describe("composite", function()
  local engine, Base, Segment
  before_each(function()
    engine = helpers.backend_engine()
    Base, Segment = models()
    Base.metadata:create_all(engine)
  end)
  after_each(function()
    engine:dispose()
    helpers.cleanup()
  end)

  it("builds the value object from the columns and writes it back to them", function()
    local s = orm.Session(engine)
    local seg = Segment({start = P(1, 2), finish = {3, 4}})
    assert.same({1, 2, 3, 4}, {seg.x1, seg.y1, seg.x2, seg.y2})
    assert.equal(P(1, 2), seg.start)
    s:add(seg)
    s:commit()
    local id = seg.id
    s:close()
    s = orm.Session(engine)
    local got = s:get(Segment, id)
    assert.equal(getmetatable(got.start), Point)
    assert.same({1, 2}, {got.start.x, got.start.y})
    assert.same({3, 4}, got.finish)
    assert.equal(got.start, got.start)   -- the same object while the columns hold
    assert.is_true(rawequal(got.start, got.start))
    s:close()
  end)

  it("compares in SQL column by column", function()
    local sql = tostring(qs.select(Segment.id):where(Segment.start:eq(P(1, 2))))
    assert.matches("WHERE segments.x1 = ? AND segments.y1 = ?", sql, 1, true)
    sql = tostring(qs.select(Segment.id):where(Segment.start:eq(nil)))
    assert.matches("segments.x1 IS NULL AND segments.y1 IS NULL", sql, 1, true)
    sql = tostring(qs.select(Segment.id):where(Segment.finish:ne({5, 6})))
    assert.matches("segments.x2 != ? AND segments.y2 != ?", sql, 1, true)
    local s = orm.Session(engine)
    s:add_all({Segment({start = P(1, 2), finish = {0, 0}}), Segment({start = P(1, 3), finish = {0, 0}})})
    s:commit()
    local hits = s:scalars(qs.select(Segment):where(Segment.start:eq(P(1, 3)))):all()
    assert.equal(1, #hits)
    assert.equal(3, hits[1].y1)
    assert.equal(2, #s:scalars(qs.select(Segment):where(Segment.start:ge(P(1, 2)))):all())
    s:close()
  end)

  it("tracks a new object assigned, not one changed in place", function()
    local s = orm.Session(engine)
    local seg = Segment({start = P(1, 2), finish = {0, 0}})
    s:add(seg)
    s:commit()
    seg.start.x = 50   -- in place: not tracked (as SQLAlchemy's plain composite)
    assert.is_false(s:is_modified(seg))
    s:commit()
    assert.equal(1, s:scalar(qs.select(Segment.x1)))
    seg.start = P(7, 8)
    assert.is_true(s:is_modified(seg))
    s:commit()
    local row = s:execute(qs.select(Segment.x1, Segment.y1)):one()
    assert.same({7, 8}, {row[1], row[2]})
    -- a column written directly makes a new value object
    seg.x1 = 9
    assert.same({9, 8}, {seg.start.x, seg.start.y})
    seg.start = nil
    s:commit()
    assert.is_nil(seg.start)
    assert.is_nil(s:scalar(qs.select(Segment.x1)))
    s:close()
  end)

  it("comes from a mixin into each model that uses it", function()
    local B = orm.declarative_base()
    local Located = {__name = "Located", lx = orm.mapped_column(qs.Integer), ly = orm.mapped_column(qs.Integer),
      at = orm.composite(P, "lx", "ly")}
    local Shop = B:model("Shop", {__tablename = "shops", id = orm.mapped_column(qs.Integer, {primary_key = true})},
      {mixins = {Located}})
    local Depot = B:model("Depot", {__tablename = "depots", id = orm.mapped_column(qs.Integer, {primary_key = true})},
      {mixins = {Located}})
    B.metadata:create_all(engine)
    local s = orm.Session(engine)
    s:add_all({Shop({at = P(1, 1)}), Depot({at = P(2, 2)})})
    s:commit()
    assert.equal(2, s:scalars(qs.select(Depot):where(Depot.at:eq(P(2, 2)))):one().lx)
    assert.matches("shops.lx = ?", tostring(qs.select(Shop.id):where(Shop.at:eq(P(1, 1)))), 1, true)
    local err = raises(qs.exc.ArgumentError, function()
      B:model("Bad2", {__tablename = "bad2", id = orm.mapped_column(qs.Integer, {primary_key = true}),
        at = orm.mapped_column(qs.Integer)}, {mixins = {Located}})
    end)
    assert.matches("'at' is mapped by both the model's own spec and mixin Located", tostring(err), 1, true)
    s:close()
  end)

  it("refuses what it cannot use, by name", function()
    raises(qs.exc.ArgumentError, function() orm.composite(42, "a") end)
    raises(qs.exc.ArgumentError, function() orm.composite(P) end)
    raises(qs.exc.ArgumentError, function() orm.composite(P, "a", 3) end)
    raises(qs.exc.ArgumentError, function() orm.composite(P, "a", {value = 1}) end)
    local B = orm.declarative_base()
    local Bad = B:model("Bad", {__tablename = "bad", id = orm.mapped_column(qs.Integer, {primary_key = true}),
      x = orm.mapped_column(qs.Integer), pt = orm.composite(P, "x", "nope")})
    local err = raises(qs.exc.ArgumentError, function() return Bad({pt = P(1, 2)}) end)
    assert.matches("composite Bad.pt: 'nope' is not a mapped column of Bad", tostring(err), 1, true)
    local seg = Segment({})
    err = raises(qs.exc.ArgumentError, function() seg.start = {1, 2} end)
    assert.matches("has no __composite_values method", tostring(err), 1, true)
  end)
end)
