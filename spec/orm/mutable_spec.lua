-- quicksilver.ext.mutable: in-place changes to JSON values are flushed.
local qs = require("quicksilver")
local orm = require("quicksilver.orm")
local mutable = require("quicksilver.ext.mutable")
local helpers = require("spec.helpers")

describe("ext.mutable", function()
  local Base, Player, engine

  before_each(function()
    Base = orm.declarative_base()
    Player = Base:model("Player", {
      __tablename = "m_players",
      id = orm.mapped_column(qs.Integer, {primary_key = true}),
      name = orm.mapped_column(qs.String(20)),
      inventory = orm.mapped_column(mutable.MutableDict.as_mutable(qs.JSON)),
      tags = orm.mapped_column(mutable.MutableList.as_mutable(qs.JSON)),
      plain = orm.mapped_column(qs.JSON),
    })
    engine = helpers.backend_engine()
    Base.metadata:create_all(engine)
  end)

  after_each(function()
    orm.close_all_sessions()
    Base.metadata:drop_all(engine)
    engine:dispose()
    helpers.cleanup()
  end)

  local function fresh()
    local s = orm.Session(engine)
    return s, s:get(Player, 1)
  end

  it("flushes an in-place change of a MutableDict, nested ones too", function()
    local s = orm.Session(engine)
    s:add(Player({id = 1, name = "p", inventory = {gold = 1, bag = {potions = 2}}, tags = {"a"},
      plain = {gold = 1}}))
    s:commit()
    s:close()
    local s2, p = fresh()
    p.inventory.gold = 5
    local h = orm.inspect(p).attrs.inventory.history
    assert.equal(5, h.added[1].gold)
    assert.equal(1, h.deleted[1].gold)
    s2:commit()
    s2:close()
    local s3, p3 = fresh()
    assert.equal(5, p3.inventory.gold)
    p3.inventory.bag.potions = 7          -- nested
    table.insert(p3.tags, "b")           -- MutableList
    s3:commit()
    s3:close()
    local s4, p4 = fresh()
    assert.equal(7, p4.inventory.bag.potions)
    assert.same({"a", "b"}, {p4.tags[1], p4.tags[2]})
    s4:close()
  end)

  it("without ext.mutable an in-place change is not seen (documented)", function()
    local s = orm.Session(engine)
    s:add(Player({id = 1, name = "p", plain = {gold = 1}}))
    s:commit()
    s:close()
    local s2, p = fresh()
    p.plain.gold = 5
    assert.is_false(orm.inspect(p).attrs.plain.history:has_changes())
    s2:commit()
    s2:close()
    local s3, p3 = fresh()
    assert.equal(1, p3.plain.gold)
    s3:close()
  end)

  it("sees the change at autoflush, after a change after a flush, and after expire", function()
    local s = orm.Session(engine)
    s:add(Player({id = 1, name = "p", inventory = {gold = 1}}))
    s:flush()
    local p = s:get(Player, 1)
    p.inventory.gold = 2                 -- a new object's value, flushed whole, changed again
    local n = s:scalar(qs.select(qs.func.count()):select_from(Player))   -- autoflush
    assert.equal(1, n)
    s:expire(p)
    assert.equal(2, p.inventory.gold)    -- written by the autoflush
    p.inventory.gold = 3
    s:commit()
    assert.equal(3, p.inventory.gold)     -- reloaded after commit
    p.inventory = {gold = 4, new = true} -- assignment
    s:flush()
    p.inventory.gold = 5
    s:commit()
    s:close()
    local s2, p2 = fresh()
    assert.same({gold = 5, new = true}, {gold = p2.inventory.gold, new = p2.inventory.new})
    s2:close()
  end)

  it("writes nothing when nothing changed", function()
    local s = orm.Session(engine)
    s:add(Player({id = 1, name = "p", inventory = {gold = 1}}))
    s:commit()
    s:close()
    local s2, p = fresh()
    assert.equal(1, p.inventory.gold)
    local rec = helpers.recorder(engine)
    s2:flush()
    assert.equal(0, #helpers.matching(rec, "UPDATE"))
    s2:close()
  end)

  it("refuses a value of the wrong shape and a type that is not JSON", function()
    local s = orm.Session(engine)
    s:add(Player({id = 1, name = "p", tags = {a = 1}}))
    local ok, err = pcall(function() s:flush() end)
    assert.is_false(ok)
    assert.truthy(tostring(err):find("Player.tags is a MutableList"))
    s:rollback()
    s:close()
    ok, err = pcall(mutable.MutableDict.as_mutable, qs.Integer)
    assert.is_false(ok)
    assert.truthy(tostring(err):find("not a JSON type"))
  end)
end)

describe("ext.mutable and the weak identity map", function()
  it("writes the change of an object dropped before the flush", function()
    local Base = orm.declarative_base()
    local Player = Base:model("Player", {
      __tablename = "m_players2",
      id = orm.mapped_column(qs.Integer, {primary_key = true}),
      inventory = orm.mapped_column(mutable.MutableDict.as_mutable(qs.JSON)),
    })
    local engine = helpers.backend_engine()
    Base.metadata:create_all(engine)
    local s = orm.Session(engine)
    for i = 1, 3 do s:add(Player({id = i, inventory = {gold = 0}})) end
    s:commit()
    s:close()
    s = orm.Session(engine)
    for _, p in ipairs(s:scalars(qs.select(Player)):all()) do p.inventory.gold = p.id * 10 end
    collectgarbage()
    collectgarbage()
    s:commit()
    s:close()
    s = orm.Session(engine)
    local got = {}
    for _, p in ipairs(s:scalars(qs.select(Player):order_by(Player.id)):all()) do got[#got + 1] = p.inventory.gold end
    assert.same({10, 20, 30}, got)
    s:close()
    orm.close_all_sessions()
    Base.metadata:drop_all(engine)
    engine:dispose()
    helpers.cleanup()
  end)
end)
