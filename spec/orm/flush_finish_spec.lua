-- The flush's finish and the commit's expiry in C (c/orm/finish.c, driven
-- by orm/flush_finish.lua and orm/expiry.lua): identity keys of new rows
-- (integer, integral float, string, composite, NaN, NULL), their place in
-- the identity map (get finds them without a SELECT), the transaction's
-- list of new objects (a rollback, a savepoint's rollback), the snapshots
-- that make a second flush write nothing, updated rows forgetting only
-- what was written, expire_on_commit and expire_all over every mapped
-- object (pending objects and changes outside the maps kept), weak maps
-- whose objects go mid-way; and the C functions' own contract.
local qs = require("quicksilver")
local orm = require("quicksilver.orm")
local core = require("quicksilver.core")
local attributes = require("quicksilver.orm.attributes")
local identity = require("quicksilver.orm.identity")
local helpers = require("spec.helpers")

local Base, Thing, Reading, Word, Pair, Parent, Child, Calc, engine, rec

local function st_of(obj) return attributes.instance_state(obj) end
local function statements(fn)
  local before = #rec
  fn()
  return #rec - before
end
local function count(t)
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  return n
end

describe("the flush's finish (c/orm/finish.c)", function()
  before_each(function()
    engine = helpers.sqlite_engine()
    Base = orm.declarative_base()
    Thing = Base:model("Thing", {__tablename = "ff_thing",
      id = orm.mapped_column(qs.Integer, {primary_key = true}),
      name = orm.mapped_column(qs.String(20))})
    Reading = Base:model("Reading", {__tablename = "ff_reading",
      id = orm.mapped_column(qs.Float, {primary_key = true, autoincrement = false}),
      name = orm.mapped_column(qs.String(20))})
    Word = Base:model("Word", {__tablename = "ff_word",
      code = orm.mapped_column(qs.String(20), {primary_key = true}),
      name = orm.mapped_column(qs.String(20))})
    Pair = Base:model("Pair", {__tablename = "ff_pair",
      a = orm.mapped_column(qs.Integer, {primary_key = true, autoincrement = false}),
      b = orm.mapped_column(qs.String(10), {primary_key = true}),
      name = orm.mapped_column(qs.String(20))})
    Parent = Base:model("Parent", {__tablename = "ff_parent",
      id = orm.mapped_column(qs.Integer, {primary_key = true}),
      name = orm.mapped_column(qs.String(20)),
      children = orm.relationship("Child", {back_populates = "parent"})})
    Child = Base:model("Child", {__tablename = "ff_child",
      id = orm.mapped_column(qs.Integer, {primary_key = true}),
      parent_id = orm.mapped_column(qs.ForeignKey("ff_parent.id")),
      name = orm.mapped_column(qs.String(20)),
      parent = orm.relationship("Parent", {back_populates = "children"})})
    Calc = Base:model("Calc", {__tablename = "ff_calc",
      id = orm.mapped_column(qs.Integer, {primary_key = true}),
      x = orm.mapped_column(qs.Integer)})
    Calc.doubled = orm.column_property(Calc.x * 2)
    Base.metadata:create_all(engine)
    rec = helpers.recorder(engine)
  end)

  after_each(function()
    orm.close_all_sessions()
    engine:dispose()
    helpers.cleanup()
  end)

  it("keys new rows by their primary-key value and finds them with get, no SELECT", function()
    local s = orm.Session(engine)
    local things = {}
    for i = 1, 5 do things[i] = Thing({name = "t" .. i}) end
    local r = Reading({id = 2.0, name = "two"})
    local r2 = Reading({id = 2.5, name = "two and a half"})
    local w1, wa = Word({code = "1", name = "one"}), Word({code = "a", name = "a"})
    local p = Pair({a = 1, b = "x", name = "p"})
    s:add_all(things)
    s:add_all({r, r2, w1, wa, p})
    s:flush()
    for i, t in ipairs(things) do
      assert.equal(i, st_of(t).key)
      assert.equal("number", type(st_of(t).key))
    end
    assert.equal(2.0, st_of(r).key)
    assert.equal(2.5, st_of(r2).key)
    assert.equal("1", st_of(w1).key)
    assert.equal("a", st_of(wa).key)
    assert.equal(identity.key(Pair.__mapper__, {1, "x"}, 2), st_of(p).key)
    assert.equal("1\0sx", st_of(p).key)
    assert.equal(0, statements(function()
      for i, t in ipairs(things) do assert.equal(t, s:get(Thing, i)) end
      assert.equal(r, s:get(Reading, 2))          -- 2 and 2.0: one key
      assert.equal(r2, s:get(Reading, 2.5))
      assert.equal(w1, s:get(Word, "1"))
      assert.equal(wa, s:get(Word, "a"))
      assert.equal(p, s:get(Pair, {1, "x"}))
    end))
    -- the string forms are the ones a loaded object shows
    assert.equal(Thing.__mapper__.key_prefix .. "1", orm.inspect(things[1]).key)
    assert.equal(Word.__mapper__.key_prefix .. "s1", orm.inspect(w1).key)
    assert.equal(Reading.__mapper__.key_prefix .. "2", orm.inspect(r).key)
    assert.equal(things[3], s.identity_map[orm.inspect(things[3]).key])
    assert.equal(10, count(s.identity_map))
    -- the map of each hierarchy holds them; nothing is left modified
    assert.equal(things[2], s._imaps[Thing.__mapper__][2])
    assert.is_nil(next(s._modified))
    for _, t in ipairs(things) do
      assert.is_false(st_of(t).modified)
      assert.is_nil(rawget(st_of(t), "committed"))
    end
    s:commit()
    -- committed and loaded again: the same objects, keyed as the loader keys them
    local again = s:get(Thing, 4)
    assert.equal(things[4], again)
    assert.equal("t4", again.name)
  end)

  it("keys a NaN primary key by the NAN sentinel", function()
    local s = orm.Session(engine)
    local nan = Reading({id = 0 / 0, name = "nan"})
    s:add(nan)
    local ok = pcall(s.flush, s)
    -- the database may refuse it or store it; the ORM's key is the sentinel
    if ok then
      assert.equal(identity.NAN, st_of(nan).key)
      assert.equal(nan, s._imaps[Reading.__mapper__][identity.NAN])
    else
      assert.is_nil(st_of(nan).key)
    end
  end)

  it("raises FlushError for a NULL identity key after the INSERT, naming the object", function()
    -- a text primary key SQLite lets be NULL (no NOT NULL in this DDL)
    engine:begin(function(conn) conn:exec_driver_sql("CREATE TABLE ff_loose (code TEXT PRIMARY KEY, v INTEGER)") end)
    local B2 = orm.declarative_base()
    local Loose = B2:model("Loose", {__tablename = "ff_loose",
      code = orm.mapped_column(qs.String(10), {primary_key = true, nullable = true}),
      v = orm.mapped_column(qs.Integer)})
    local s = orm.Session(engine)
    local ok_obj = Loose({code = "k", v = 1})
    local bad = Loose({v = 2})
    s:add_all({ok_obj, bad})
    local ok, err = pcall(s.flush, s)
    assert.is_false(ok)
    assert.is_true(qs.exc.is_error(err, qs.exc.FlushError))
    assert.truthy(tostring(err):find("NULL identity key after its INSERT", 1, true))
    assert.truthy(tostring(err):find(tostring(bad), 1, true))
    assert.is_nil(st_of(bad).key)
  end)

  it("makes the objects a rolled-back transaction inserted transient again", function()
    local s = orm.Session(engine)
    local kept = Thing({name = "kept"})
    s:add(kept)
    s:commit()
    local a, b = Thing({name = "a"}), Thing({name = "b"})
    s:add_all({a, b})
    s:flush()
    assert.is_not_nil(st_of(a).key)
    assert.equal(2, #s._tx_new)
    s:rollback()
    for _, o in ipairs({a, b}) do
      assert.is_nil(st_of(o).key)
      assert.is_nil(st_of(o).session)
      assert.is_true(orm.inspect(o).transient)
    end
    assert.is_nil(s._imaps[Thing.__mapper__][2])
    assert.equal(kept, s:get(Thing, 1))
    assert.equal(1, #s:scalars(qs.select(Thing)):all())
  end)

  it("undoes only what a rolled-back savepoint flushed", function()
    local s = orm.Session(engine)
    local before = Thing({name = "before"})
    s:add(before)
    s:flush()
    local sp = s:begin_nested()
    local inside = Thing({name = "inside"})
    s:add(inside)
    s:flush()
    assert.equal(2, st_of(inside).key)
    sp:rollback()
    assert.is_nil(st_of(inside).key)
    assert.is_true(orm.inspect(inside).transient)
    assert.equal(1, st_of(before).key)
    assert.equal(before, s:get(Thing, 1))
    s:commit()
    assert.equal(1, #s:scalars(qs.select(Thing)):all())
    assert.equal("before", before.name)
  end)

  it("snapshots collections and forgets old values, so a second flush writes nothing", function()
    local s = orm.Session(engine)
    local p = Parent({name = "p", children = {Child({name = "c1"}), Child({name = "c2"})}})
    s:add(p)
    s:flush()
    assert.same(p.children, st_of(p).snap.children)
    assert.is_false(rawequal(p.children, st_of(p).snap.children))   -- a copy
    assert.is_nil(rawget(st_of(p.children[1]), "m2o_set"))
    assert.equal(0, statements(function() s:flush() end))
    -- a pending change to the loaded collection: written once, then snapshotted
    p.children[#p.children + 1] = Child({name = "c3"})
    assert.equal(1, statements(function() s:flush() end))
    assert.equal(3, #st_of(p).snap.children)
    assert.equal(0, statements(function() s:flush() end))
    assert.equal(p, p.children[3].parent)
  end)

  it("forgets only the written attributes' old values of an updated row", function()
    local s = orm.Session(engine)
    local t = Thing({name = "a"})
    s:add(t)
    s:flush()
    t.name = "b"
    local st = st_of(t)
    assert.equal("a", attributes.committed_of(st, "name"))
    assert.is_true(s:is_modified(t))
    s:flush()
    assert.is_nil(rawget(st, "committed"))
    assert.equal("b", attributes.committed_of(st, "name"))
    assert.is_false(st.modified)
    assert.is_nil(s._modified[st])
    -- an old value the flush did not write stays (a kept entry of another key)
    rawset(st, "committed", {id = 99, name = "b"})
    core.finish_snapshots({st}, s, {}, s._modified, {[st] = {"name"}},
      require("quicksilver.orm.state_spec").of, function() end)
    assert.same({id = 99}, rawget(st, "committed"))
  end)

  it("expires column expressions of new rows, loading them on access", function()
    local s = orm.Session(engine)
    local c = Calc({x = 21})
    s:add(c)
    s:flush()
    assert.is_true(st_of(c).expired.doubled)
    assert.equal(42, c.doubled)
  end)
end)

describe("the commit's expiry (core.expire_all)", function()
  before_each(function()
    engine = helpers.sqlite_engine()
    Base = orm.declarative_base()
    Parent = Base:model("Parent", {__tablename = "fe_parent",
      id = orm.mapped_column(qs.Integer, {primary_key = true}),
      name = orm.mapped_column(qs.String(20)),
      children = orm.relationship("Child", {back_populates = "parent"})})
    Child = Base:model("Child", {__tablename = "fe_child",
      id = orm.mapped_column(qs.Integer, {primary_key = true}),
      parent_id = orm.mapped_column(qs.ForeignKey("fe_parent.id")),
      name = orm.mapped_column(qs.String(20)),
      parent = orm.relationship("Parent", {back_populates = "children"})})
    Base.metadata:create_all(engine)
    rec = helpers.recorder(engine)
    local s = orm.Session(engine)
    for i = 1, 3 do
      s:add(Parent({name = "p" .. i, children = {Child({name = "c" .. i .. "a"}), Child({name = "c" .. i .. "b"})}}))
    end
    s:commit()
    s:close()
  end)

  after_each(function()
    orm.close_all_sessions()
    engine:dispose()
    helpers.cleanup()
  end)

  it("expires every object at commit: the next access loads what the database has", function()
    local s = orm.Session(engine)
    local ps = s:scalars(qs.select(Parent):order_by(Parent.id)):all()
    local _ = #ps[1].children
    engine:begin(function(conn)
      conn:execute(qs.update(Parent.__table__):where(Parent.__table__.c.id:eq(1)):values({name = "changed"}))
    end)
    assert.equal("p1", ps[1].name)                -- not expired yet
    s:commit()
    local st = st_of(ps[1])
    assert.is_true(st.expired.name)
    assert.is_nil(rawget(st.dict, "name"))
    assert.is_nil(rawget(st.dict, "children"))
    assert.is_nil(rawget(st, "loaded"))
    assert.is_nil(rawget(st, "snap"))
    assert.is_false(st.modified)
    assert.equal(1, rawget(st.dict, "id"))        -- the primary key stays
    -- expired objects share their mapper's set
    assert.equal(st.expired, st_of(ps[2]).expired)
    local n = statements(function() assert.equal("changed", ps[1].name) end)
    assert.equal(1, n)
    assert.equal(2, #ps[1].children)
  end)

  it("discards unflushed changes of expired objects, keeps pending ones", function()
    local s = orm.Session(engine)
    s.autoflush = false
    local ps = s:scalars(qs.select(Parent):order_by(Parent.id)):all()
    local kids = ps[1].children
    ps[2].name = "unflushed"
    kids[#kids + 1] = Child({name = "pending in a collection"})
    local fresh = Parent({name = "new"})
    s:add(fresh)
    assert.is_not_nil(s._modified[st_of(ps[2])])
    assert.is_not_nil(s._collections[st_of(ps[1])])
    s:expire_all()
    assert.is_nil(s._modified[st_of(ps[2])])
    assert.is_nil(s._collections[st_of(ps[1])])
    assert.is_nil(rawget(st_of(ps[2]), "committed"))
    assert.equal("p2", ps[2].name)
    assert.equal(2, #ps[1].children)
    -- the pending object is still added and flushed
    s:flush()
    assert.is_not_nil(st_of(fresh).key)
    s:commit()
    assert.equal(4, #s:scalars(qs.select(Parent)):all())
  end)

  it("expires objects the rollback leaves, and survives states collected mid-way", function()
    local s = orm.Session(engine)
    local keep = s:scalars(qs.select(Child):order_by(Child.id)):all()
    local kept = keep[1]
    keep = nil
    collectgarbage()
    collectgarbage()
    -- some of the weak map's objects are gone; the rest expire
    s:rollback()
    assert.is_true(st_of(kept).expired.name)
    assert.equal("c1a", kept.name)
    -- many objects, most unreferenced, then a commit
    local all = s:scalars(qs.select(Child)):all()
    local one = all[#all]
    all = nil
    local n = 0
    for _ in pairs(s._imaps[Child.__mapper__]) do n = n + 1 end
    assert.is_true(n >= 1)
    collectgarbage()
    s:commit()
    assert.is_true(st_of(one).expired.name)
    assert.equal("c3b", one.name)
  end)

  it("leaves expire_on_commit = false sessions as they are", function()
    local s = orm.Session(engine, {expire_on_commit = false})
    local p = s:get(Parent, 1)
    p.name = "x"
    s:commit()
    assert.is_nil(st_of(p).expired)
    assert.equal(0, statements(function() assert.equal("x", p.name) end))
  end)
end)

-- The C passes and their LuaJIT twins (orm/finish_jit.lua) on the same cases.
for _, impl in ipairs({{"core", core}, {"finish_jit", require("quicksilver.orm.finish_jit")}}) do
describe(impl[1] .. ".finish_inserted and finish_snapshots", function()
  local NAN = identity.NAN
  local fns = impl[2]
  local mapper = {pk_keys = {"id"}}
  mapper.base_mapper = mapper
  local spec = {mapper.pk_keys, mapper, false, true, {"v"}, {}, false, {"loaded"}}
  local function spec_of() return spec end
  local function state(id) return {mapper = mapper, obj = {}, dict = {id = id, v = 1}, modified = true, _sid = 1} end
  local session = {_sid = 1}

  local function run(states, key_of, opts)
    opts = opts or {}
    local imaps, tx = {}, {}
    local made = 0
    local r = fns.finish_inserted(states, imaps, NAN, tx, spec_of, key_of or error,
      function() made = made + 1; imaps[mapper] = setmetatable({}, {__mode = "v"}); return imaps[mapper] end,
      error, session, opts.deleted or {}, opts.modified or {}, opts.snap or function() end)
    return r, imaps[mapper], tx, made
  end

  it("keys numbers, NaN and strings itself and asks Lua for any other key", function()
    local weird = setmetatable({}, {__tostring = function() return "W" end})
    local sts = {state(1), state(2.0), state(0 / 0), state("s"), state(weird)}
    local asked = {}
    local r, map, tx, made = run(sts, function(st) asked[#asked + 1] = st; return "custom" end)
    assert.equal(0, r)
    assert.equal(1, made)
    assert.equal(1, sts[1].key)
    assert.equal(2.0, sts[2].key)
    assert.equal(NAN, sts[3].key)
    assert.equal("s", sts[4].key)
    assert.equal("custom", sts[5].key)
    assert.same({sts[5]}, asked)
    assert.equal(sts[3].obj, map[NAN])
    assert.equal(5, #tx)
    for _, st in ipairs(sts) do assert.equal(st.obj, map[st.key]) end
  end)

  it("stops at a NULL key and tells where", function()
    local sts = {state(1), state(nil), state(3)}
    local r, map, tx = run(sts)
    assert.equal(2, r)
    assert.equal(1, sts[1].key)
    assert.is_nil(sts[2].key)
    assert.is_nil(sts[3].key)
    assert.equal(1, #tx)
    assert.equal(sts[1].obj, map[1])
  end)

  it("snapshots the states still the session's and not deleted, only those", function()
    local mine, gone, other = state(1), state(2), state(3)
    other._sid = 2
    for _, st in ipairs({mine, gone, other}) do
      st.committed = {v = 0}
      st.m2o_set = {x = true}
      st.loaded = {}
    end
    local modified = {[mine] = true, [gone] = true, [other] = true}
    local snapped = {}
    run({mine, gone, other}, nil, {deleted = {[gone] = true}, modified = modified,
      snap = function(st) snapped[#snapped + 1] = st end})
    assert.same({mine}, snapped)
    assert.is_nil(mine.committed)
    assert.is_nil(mine.m2o_set)
    assert.is_false(mine.modified)
    assert.is_nil(modified[mine])
    for _, st in ipairs({gone, other}) do
      assert.same({v = 0}, st.committed)
      assert.is_true(st.modified)
      assert.is_true(modified[st])
      assert.is_not_nil(st.key)                    -- keyed all the same
    end
    -- updated rows: only the written keys' old values; keyless: only unkeyed states
    local upd = state(4)
    upd.committed = {v = 0, id = 9}
    upd.key = 4
    local fresh = state(5)
    fresh.committed = {v = 0}
    fns.finish_snapshots({upd, fresh}, session, {}, modified, false, spec_of, function() end, true)
    assert.same({v = 0, id = 9}, upd.committed)   -- keyed: left alone
    assert.is_nil(fresh.committed)
    fns.finish_snapshots({upd}, session, {}, modified, {[upd] = {"v"}}, spec_of, function() end)
    assert.same({id = 9}, upd.committed)
    fns.finish_snapshots({upd}, session, {}, modified, {[upd] = {"id"}}, spec_of, function() end)
    assert.is_nil(upd.committed)
  end)
end)
end

describe("core.finish_inserted and core.expire_all", function()
  local NAN = identity.NAN
  local mapper = {pk_keys = {"id"}}
  mapper.base_mapper = mapper
  local spec = {mapper.pk_keys, mapper, false, false, {"v"}, {}, false, {"loaded"}}
  local function spec_of() return spec end
  local function state(id) return {mapper = mapper, obj = {}, dict = {id = id, v = 1}, modified = true, _sid = 1} end
  local session = {_sid = 1}

  local function run(states, key_of)
    local imaps, tx = {}, {}
    local made = 0
    local r = core.finish_inserted(states, imaps, NAN, tx, spec_of, key_of or error,
      function() made = made + 1; imaps[mapper] = setmetatable({}, {__mode = "v"}); return imaps[mapper] end,
      error, session, {}, {}, function() end)
    return r, imaps[mapper], tx, made
  end

  it("keys numbers, NaN and strings itself and asks Lua for any other key", function()
    local weird = setmetatable({}, {__tostring = function() return "W" end})
    local sts = {state(1), state(2.0), state(0 / 0), state("s"), state(weird)}
    local asked = {}
    local r, map, tx, made = run(sts, function(st) asked[#asked + 1] = st; return "custom" end)
    assert.equal(0, r)
    assert.equal(1, made)                          -- one map, made once
    assert.equal(1, sts[1].key)
    assert.equal(2.0, sts[2].key)
    assert.equal(NAN, sts[3].key)
    assert.equal("s", sts[4].key)
    assert.equal("custom", sts[5].key)
    assert.same({sts[5]}, asked)
    assert.equal(sts[3].obj, map[NAN])
    assert.equal(sts[2].obj, map[2])
    assert.equal(5, #tx)
    for _, st in ipairs(sts) do
      assert.is_false(st.modified)
      assert.equal(st.obj, map[st.key])
    end
  end)

  it("stops at a NULL key and tells where", function()
    local sts = {state(1), state(nil), state(3)}
    local r, map, tx = run(sts)
    assert.equal(2, r)
    assert.equal(1, sts[1].key)
    assert.is_nil(sts[2].key)
    assert.is_nil(sts[3].key)                      -- not reached
    assert.equal(1, #tx)
    assert.equal(sts[1].obj, map[1])
    -- a composite key Lua cannot make: the same
    local r2 = run({state(5)}, nil)
    assert.equal(0, r2)
  end)

  it("refuses bad arguments with an ArgumentError naming them", function()
    local ok, err = pcall(core.finish_inserted, "x")
    assert.is_false(ok)
    assert.is_true(qs.exc.is_error(err, qs.exc.ArgumentError))
    assert.truthy(tostring(err):find("states must be a table", 1, true))
    ok, err = pcall(run, {42})
    assert.is_false(ok)
    assert.truthy(tostring(err):find("states[1] must be a state table", 1, true))
    ok, err = pcall(core.finish_inserted, {state(1)}, {}, NAN, {}, function() return "no" end,
      error, error, error, session, {}, {}, error)
    assert.is_false(ok)
    assert.truthy(tostring(err):find("spec_of(mapper) must return a table", 1, true))
    ok, err = pcall(core.expire_all, nil, attributes.STATE, spec_of)
    assert.is_false(ok)
    assert.truthy(tostring(err):find("imaps must be a table", 1, true))
  end)

  it("expires the objects of every map and counts them", function()
    local KEY = {}
    local sts, maps = {}, {}
    for i = 1, 3 do
      local st = state(i)
      st.loaded = {x = true}
      st.committed = {v = 0, id = 7}
      st.obj[KEY] = st
      sts[i] = st
    end
    maps[mapper] = {sts[1].obj, sts[2].obj}
    maps[{}] = {[9] = sts[3].obj}
    local set = {v = true}
    spec[7] = set
    assert.equal(3, core.expire_all(maps, KEY, spec_of))
    spec[7] = false
    for _, st in ipairs(sts) do
      assert.is_nil(st.dict.v)
      assert.equal(st.dict.id, st.dict.id)
      assert.same({id = 7}, st.committed)         -- a primary key's old value stays
      assert.equal(set, st.expired)
      assert.is_nil(st.loaded)
      assert.is_false(st.modified)
    end
  end)
end)
