-- One identity key per row, whoever computes it: the C loop that loads the
-- rows of one entity (c/orm/load.c), the Lua loader (orm/loading.lua: rows
-- of several entities, composite keys), the flush (orm/flush_finish.lua)
-- and the lookups of Session:get / merge (attributes.identity_key). Keys
-- that differ would make get() miss an object the session holds (a second
-- SELECT, or a second object for one row); keys that collide would make
-- two rows one object. Integers small and beyond 2^53, floats equal to
-- integers (1.0 is 1), other floats, strings, composite keys, NULL parts.
local qs = require("quicksilver")
local orm = require("quicksilver.orm")
local attributes = require("quicksilver.orm.attributes")
local helpers = require("spec.helpers")

-- distinct as Lua numbers on every runtime (LuaJIT reads them as doubles:
-- 9007199254740993 becomes 2^53, still distinct from the others)
local BIG = {1, 2147483653, 9007199254740991, 9007199254740993, 4611686018427387904,
  4611686018427392000, -1152921504606846976}
local FLOATS = {2.0, 2.5, -0.5, 0.125}   -- exact in single precision too (MySQL FLOAT)
local WORDS = {"a", "1", "s1", "with space"}

describe("identity keys on " .. helpers.backend, function()
  local engine, Base, Thing, Reading, Word, Pair, sessions, rec

  local function session()
    local s = orm.Session(engine)
    sessions[#sessions + 1] = s
    return s
  end

  local function key_of(obj) return attributes.instance_state(obj).key end
  local function lua_key(cls, vals)
    local m = cls.__mapper__
    return attributes.identity_key(m, vals, #m.pk_keys)
  end

  -- the number of statements run while fn runs
  local function statements(fn)
    local before = #rec
    fn()
    return #rec - before
  end

  before_each(function()
    sessions = {}
    engine = helpers.backend_engine()
    Base = orm.declarative_base()
    Thing = Base:model("Thing", {__tablename = "ik_thing",
      id = orm.mapped_column(qs.BigInteger, {primary_key = true, autoincrement = false}),
      name = orm.mapped_column(qs.String(20))})
    Reading = Base:model("Reading", {__tablename = "ik_reading",
      id = orm.mapped_column(qs.Float, {primary_key = true, autoincrement = false}),
      name = orm.mapped_column(qs.String(20))})
    Word = Base:model("Word", {__tablename = "ik_word",
      code = orm.mapped_column(qs.String(20), {primary_key = true}),
      name = orm.mapped_column(qs.String(20))})
    Pair = Base:model("Pair", {__tablename = "ik_pair",
      a = orm.mapped_column(qs.BigInteger, {primary_key = true, autoincrement = false}),
      b = orm.mapped_column(qs.String(10), {primary_key = true}),
      name = orm.mapped_column(qs.String(20))})
    Base.metadata:create_all(engine)
    -- rows written by Core: no key is made before the loads under test
    engine:begin(function(conn)
      local rows = {}
      for i, v in ipairs(BIG) do rows[i] = {id = v, name = "t" .. i} end
      conn:execute(qs.insert(Thing.__table__), rows)
      rows = {}
      for i, v in ipairs(FLOATS) do rows[i] = {id = v, name = "r" .. i} end
      conn:execute(qs.insert(Reading.__table__), rows)
      rows = {}
      for i, v in ipairs(WORDS) do rows[i] = {code = v, name = "w" .. i} end
      conn:execute(qs.insert(Word.__table__), rows)
      rows = {}
      for i, v in ipairs(BIG) do rows[i] = {a = v, b = "b" .. i, name = "p" .. i} end
      conn:execute(qs.insert(Pair.__table__), rows)
    end)
    rec = helpers.recorder(engine)
  end)

  after_each(function()
    for _, s in ipairs(sessions) do s:close() end
    Base.metadata:drop_all(engine)
    engine:dispose()
    helpers.cleanup()
  end)

  -- loads cls's rows two ways (alone: the C loop; with a column beside the
  -- entity: the Lua loader) and checks each object's key against the other
  -- way's and against identity_key, then get() of each value finds it
  -- without a statement
  local function check(cls, pk, values)
    local s1, s2 = session(), session()
    local alone = s1:scalars(qs.select(cls):order_by(cls[pk])):all()
    local beside = {}
    for i, row in ipairs(s2:execute(qs.select(cls, cls.name):order_by(cls[pk])):all()) do beside[i] = row[1] end
    assert.equal(#values, #alone)
    assert.equal(#values, #beside)
    local seen = {}
    for i, obj in ipairs(alone) do
      local key = key_of(obj)
      assert.is_nil(seen[key])               -- no two rows share a key
      seen[key] = true
      assert.equal(key, key_of(beside[i]))
      assert.equal(key, lua_key(cls, {obj[pk]}))
    end
    for _, v in ipairs(values) do
      local got
      assert.equal(0, statements(function() got = s1:get(cls, v) end))
      assert.is_not_nil(got)
      assert.equal(v, got[pk])
    end
  end

  it("integers, small and beyond 2^53", function()
    check(Thing, "id", BIG)
  end)

  it("floats, and floats equal to integers (1.0 is 1)", function()
    check(Reading, "id", FLOATS)
    local s = session()
    local two = s:get(Reading, 2.0)
    assert.equal(0, statements(function() assert.equal(two, s:get(Reading, 2)) end))
    local things = s:scalars(qs.select(Thing):order_by(Thing.id)):all()
    local one
    for _, t in ipairs(things) do if t.id == 1 then one = t end end
    assert.equal(0, statements(function() assert.equal(one, s:get(Thing, 1.0)) end))
    assert.equal(lua_key(Thing, {1}), lua_key(Thing, {1.0}))
  end)

  it("strings, apart from numbers that read alike", function()
    check(Word, "code", WORDS)
    assert.are_not.equal(lua_key(Word, {"1"}), lua_key(Word, {1}))
  end)

  it("composite keys", function()
    local s = session()
    local pairs_ = s:scalars(qs.select(Pair):order_by(Pair.a)):all()
    assert.equal(#BIG, #pairs_)
    local seen = {}
    for _, p in ipairs(pairs_) do
      local key = key_of(p)
      assert.is_nil(seen[key])
      seen[key] = true
      assert.equal(key, lua_key(Pair, {p.a, p.b}))
      assert.equal(0, statements(function() assert.equal(p, s:get(Pair, {p.a, p.b})) end))
      assert.equal(0, statements(function() assert.equal(p, s:get(Pair, {a = p.a, b = p.b})) end))
    end
  end)

  it("a key with a NULL part is no key: an outer join's missing side loads as nil", function()
    assert.is_nil(lua_key(Pair, {1, nil}))
    assert.is_nil(lua_key(Pair, {nil, "b1"}))
    assert.is_nil(lua_key(Thing, {nil}))
    local s = session()
    local rows = s:execute(qs.select(Word, Pair):outerjoin(Pair, Pair.b:eq(Word.code)):order_by(Word.code)):all()
    assert.equal(#WORDS, #rows)
    for _, row in ipairs(rows) do
      assert.is_not_nil(row[1])
      assert.is_nil(row[2])
    end
    -- no Thing is named "nobody": every Thing side is NULL
    rows = s:execute(qs.select(Pair, Thing):outerjoin(Thing, qs.and_(Thing.id:eq(Pair.a), Thing.name:eq("nobody")))
      :order_by(Pair.a)):all()
    assert.equal(#BIG, #rows)
    for _, row in ipairs(rows) do
      assert.is_not_nil(row[1])
      assert.is_nil(row[2])
    end
  end)

  it("objects a flush inserts are keyed as loaded ones", function()
    local s = session()
    local v = 4611686018427396096   -- 2^62 + 8192
    local t = Thing({id = v, name = "new"})
    local p = Pair({a = v, b = "x", name = "new"})
    s:add_all({t, p})
    s:flush()
    assert.equal(lua_key(Thing, {v}), key_of(t))
    assert.equal(lua_key(Pair, {v, "x"}), key_of(p))
    assert.equal(0, statements(function() assert.equal(t, s:get(Thing, v)) end))
    assert.equal(0, statements(function() assert.equal(p, s:get(Pair, {v, "x"})) end))
    s:commit()
    local s2 = session()
    local loaded = s2:scalars(qs.select(Thing):where(Thing.id:eq(v))):one()
    assert.equal(key_of(t), key_of(loaded))
  end)
end)
