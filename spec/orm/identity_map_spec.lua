-- The identity map on SQLite (orm/identity.lua): one weak map per base
-- mapper keyed by the primary-key value itself, so neither the C loop, the
-- Lua loader nor the flush builds a key string per object; get, merge, the
-- loaders and the flush agree on what one key is (1 and 1.0, -0.0 and 0,
-- NaN, numbers next to 2^63, "1" apart from 1); a subclass row lands in its
-- base mapper's map; two mappers never share a key; unreferenced unmodified
-- objects go. The string form stays what orm.inspect(obj).key and
-- session.identity_map show.
local qs = require("quicksilver")
local orm = require("quicksilver.orm")
local attributes = require("quicksilver.orm.attributes")
local identity = require("quicksilver.orm.identity")
local loading = require("quicksilver.orm.loading")
local helpers = require("spec.helpers")

local Base, Thing, Reading, Word, Pair, Other, Employee, Manager, engine, rec

local function raw_key(obj) return attributes.instance_state(obj).key end
local function map_of(s, cls) return s._imaps[cls.__mapper__] end
local function count(t)
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  return n
end
local function statements(fn)
  local before = #rec
  fn()
  return #rec - before
end

describe("the identity map per mapper", function()
  before_each(function()
    engine = helpers.sqlite_engine()
    Base = orm.declarative_base()
    Thing = Base:model("Thing", {__tablename = "im_thing",
      id = orm.mapped_column(qs.Integer, {primary_key = true, autoincrement = false}),
      name = orm.mapped_column(qs.String(20))})
    Other = Base:model("Other", {__tablename = "im_other",
      id = orm.mapped_column(qs.Integer, {primary_key = true, autoincrement = false}),
      name = orm.mapped_column(qs.String(20))})
    Reading = Base:model("Reading", {__tablename = "im_reading",
      id = orm.mapped_column(qs.Float, {primary_key = true, autoincrement = false}),
      name = orm.mapped_column(qs.String(20))})
    Word = Base:model("Word", {__tablename = "im_word",
      code = orm.mapped_column(qs.String(20), {primary_key = true}),
      name = orm.mapped_column(qs.String(20))})
    Pair = Base:model("Pair", {__tablename = "im_pair",
      a = orm.mapped_column(qs.Integer, {primary_key = true, autoincrement = false}),
      b = orm.mapped_column(qs.String(10), {primary_key = true}),
      name = orm.mapped_column(qs.String(20))})
    Employee = Base:model("Employee", {__tablename = "im_employee",
      id = orm.mapped_column(qs.Integer, {primary_key = true}),
      name = orm.mapped_column(qs.String(20)),
      kind = orm.mapped_column(qs.String(20)),
      __mapper_args = {polymorphic_on = "kind", polymorphic_identity = "employee"}})
    Manager = Employee:model("Manager", {__mapper_args = {polymorphic_identity = "manager"}})
    Base.metadata:create_all(engine)
    engine:begin(function(conn)
      conn:execute(qs.insert(Thing.__table__), {{id = 1, name = "t1"}, {id = 2, name = "t2"}, {id = 0, name = "t0"}})
      conn:execute(qs.insert(Other.__table__), {{id = 1, name = "o1"}, {id = 2, name = "o2"}})
      conn:execute(qs.insert(Reading.__table__), {{id = 2.0, name = "r2"}, {id = 2.5, name = "r25"}})
      conn:execute(qs.insert(Word.__table__), {{code = "1", name = "w1"}, {code = "a", name = "wa"}})
      conn:execute(qs.insert(Pair.__table__), {{a = 1, b = "x", name = "p1"}})
      conn:execute(qs.insert(Employee.__table__), {{id = 1, name = "e", kind = "employee"},
        {id = 2, name = "m", kind = "manager"}})
    end)
    rec = helpers.recorder(engine)
  end)

  after_each(function()
    orm.close_all_sessions()
    engine:dispose()
    helpers.cleanup()
  end)

  it("keys loaded and flushed objects by the primary-key value, no string", function()
    local s = orm.Session(engine)
    -- the C loop (the entity alone) and the Lua loader (a column beside it)
    local alone = s:scalars(qs.select(Thing):order_by(Thing.id)):all()
    local s2 = orm.Session(engine)
    local beside = {}
    for i, row in ipairs(s2:execute(qs.select(Thing, Thing.name):order_by(Thing.id)):all()) do beside[i] = row[1] end
    for i, t in ipairs(alone) do
      assert.equal("number", type(raw_key(t)))
      assert.equal(t.id, raw_key(t))
      assert.equal(t.id, raw_key(beside[i]))
      assert.equal(t, map_of(s, Thing)[t.id])
      assert.equal(beside[i], map_of(s2, Thing)[t.id])
    end
    local words = s:scalars(qs.select(Word):order_by(Word.code)):all()
    assert.equal("1", raw_key(words[1]))
    assert.equal(words[1], map_of(s, Word)["1"])
    assert.is_nil(map_of(s, Word)[1])                 -- "1" is not 1
    -- a flushed object enters the map under its value
    local t = Thing({id = 7, name = "new"})
    s:add(t)
    s:flush()
    assert.equal(7, raw_key(t))
    assert.equal(t, map_of(s, Thing)[7])
    assert.equal(7, attributes.identity_key(Thing.__mapper__, {7}, 1))
  end)

  it("keeps two mappers with the same key value apart", function()
    local s = orm.Session(engine)
    local t = s:get(Thing, 1)
    local o = s:get(Other, 1)
    assert.is_not_nil(t)
    assert.is_not_nil(o)
    assert.is_false(rawequal(t, o))
    assert.equal(0, statements(function()
      assert.equal(t, s:get(Thing, 1))
      assert.equal(o, s:get(Other, 1))
    end))
    assert.are_not.equal(orm.inspect(t).key, orm.inspect(o).key)
    local m = s.identity_map
    assert.equal(2, count(m))
    assert.equal(t, m[orm.inspect(t).key])
    assert.equal(o, m[orm.inspect(o).key])
  end)

  it("shows the string keys it always showed", function()
    local s = orm.Session(engine)
    local t = s:get(Thing, 1)
    local w = s:get(Word, "a")
    local r = s:get(Reading, 2.5)
    local p = s:get(Pair, {1, "x"})
    assert.equal(Thing.__mapper__.key_prefix .. "1", orm.inspect(t).key)
    assert.equal(Word.__mapper__.key_prefix .. "sa", orm.inspect(w).key)
    assert.equal(Reading.__mapper__.key_prefix .. "f2.5", orm.inspect(r).key)
    assert.equal(Pair.__mapper__.key_prefix .. "\0" .. "1\0sx", orm.inspect(p).key)
    assert.equal("1\0sx", raw_key(p))                -- a composite key: one string of its parts
    assert.equal(p, map_of(s, Pair)["1\0sx"])
    assert.is_nil(orm.inspect(Thing({id = 3})).key)
  end)

  it("agrees on integral floats and integers, -0.0 and 0, in get, merge and load", function()
    local s = orm.Session(engine)
    local two = s:scalars(qs.select(Reading):where(Reading.id:eq(2))):one()
    assert.equal(0, statements(function()
      assert.equal(two, s:get(Reading, 2))
      assert.equal(two, s:get(Reading, 2.0))
    end))
    local one = s:get(Thing, 1)
    assert.equal(0, statements(function() assert.equal(one, s:get(Thing, 1.0)) end))
    local zero = s:get(Thing, 0)
    assert.equal(0, statements(function() assert.equal(zero, s:get(Thing, -0.0)) end))
    -- merge of a copy keyed by a float finds the loaded object
    assert.equal(0, statements(function() assert.equal(one, s:merge(Thing({id = 1.0, name = "merged"}))) end))
    assert.equal("merged", one.name)
    assert.equal(2, count(map_of(s, Thing)))          -- 1 and 0 only
    -- the Lua loader and the C loop give one object for 2.0 and 2
    local rows = s:execute(qs.select(Reading, Reading.name):where(Reading.id:eq(2))):all()
    assert.equal(two, rows[1][1])
  end)

  it("keys NaN, and numbers next to 2^63, as one key each", function()
    local m = Reading.__mapper__
    local nan = 0 / 0
    assert.equal(identity.NAN, attributes.identity_key(m, {nan}, 1))
    assert.equal(identity.NAN, attributes.identity_key(m, {-nan}, 1))
    assert.equal(m.key_prefix .. "fnan", identity.global_key(m, identity.NAN))
    -- rows with a NaN key (SQLite stores NaN as NULL: rows made here) load
    -- as one object, which get() finds
    local s = orm.Session(engine)
    assert.is_not_nil(s:get(Reading, 2.5))   -- the mapper configured, its load plan made
    local plan = m.plan
    local row1, row2 = {}, {}
    for _, f in ipairs(plan:for_mapper(m).fields) do
      row1[f.pos] = f.key == "id" and nan or "first"
      row2[f.pos] = f.key == "id" and -nan or "second"
    end
    local r = loading.instance(s, m, row1, 0)
    assert.equal(r, loading.instance(s, m, row2, 0))
    assert.equal("first", r.name)
    assert.equal(identity.NAN, raw_key(r))
    assert.equal(0, statements(function() assert.equal(r, s:get(Reading, 0 / 0)) end))
    if math.type then   -- Lua 5.3+: integers apart from floats
      assert.are_not.equal(attributes.identity_key(m, {math.maxinteger}, 1), attributes.identity_key(m, {2.0 ^ 63}, 1))
      local map = {}
      map[attributes.identity_key(m, {math.maxinteger}, 1)] = "int"
      map[attributes.identity_key(m, {2.0 ^ 63}, 1)] = "float"
      assert.equal("int", map[math.maxinteger])
      assert.equal("float", map[2.0 ^ 63])
      -- as the string form always had them
      assert.equal(m.key_prefix .. "9223372036854775807", identity.global_key(m, math.maxinteger))
      assert.equal(m.key_prefix .. "f9.2233720368547758e+18", identity.global_key(m, 2.0 ^ 63))
      assert.are_not.equal(attributes.identity_key(m, {math.tointeger(2 ^ 53) + 1}, 1),
        attributes.identity_key(m, {2.0 ^ 53}, 1))
    end
  end)

  it("puts a subclass row in its base mapper's map", function()
    local s = orm.Session(engine)
    local mgr = s:scalars(qs.select(Manager)):one()
    assert.equal(mgr, map_of(s, Employee)[2])
    assert.is_nil(s._imaps[Manager.__mapper__])
    assert.equal(0, statements(function() assert.equal(mgr, s:get(Employee, 2)) end))
    local all = s:scalars(qs.select(Employee):order_by(Employee.id)):all()
    assert.equal(mgr, all[2])
    assert.equal(Employee.__mapper__.key_prefix .. "2", orm.inspect(mgr).key)
  end)

  it("lets an unreferenced unmodified object go and keeps a modified one", function()
    local s = orm.Session(engine)
    local function load()
      local ts = s:scalars(qs.select(Thing):order_by(Thing.id)):all()
      ts[2].name = "changed"   -- id 1: modified
    end
    load()
    assert.equal(3, count(map_of(s, Thing)))
    collectgarbage()
    collectgarbage()
    local left = map_of(s, Thing)
    assert.equal(1, count(left))
    assert.equal("changed", left[1].name)
    assert.equal(0, count(s.identity_map) - 1)
  end)

  it("empties every map on close, expunge_all and rollback of new objects", function()
    local s = orm.Session(engine)
    local t = s:get(Thing, 1)
    local o = s:get(Other, 1)
    s:expunge(t)
    assert.is_nil(map_of(s, Thing)[1])
    assert.equal(o, map_of(s, Other)[1])
    local n = Thing({id = 9})
    s:add(n)
    s:flush()
    assert.equal(n, map_of(s, Thing)[9])
    s:rollback()
    assert.is_nil(raw_key(n))
    assert.is_nil(map_of(s, Thing)[9])
    s:close()
    assert.is_nil(next(s.identity_map))
    assert.is_true(orm.inspect(o).detached)
  end)
end)
