-- How the flush gets the keys of new rows follows the dialect's
-- capabilities (dialect.caps), never its name: INSERT ... RETURNING for a
-- row at a time, multi-row INSERT ... RETURNING for a batch, else one
-- INSERT per row with the key from the driver (MySQL). Pinned on SQLite by
-- giving its engine the capabilities of other databases.
local qs = require("quicksilver")
local orm = require("quicksilver.orm")
local helpers = require("spec.helpers")

local function models()
  local Base = orm.declarative_base()
  local Item = Base:model("Item", {
    __tablename = "items",
    id = orm.mapped_column(qs.Integer, {primary_key = true}),
    name = orm.mapped_column(qs.String(20)),
  })
  return Base, Item
end

-- an engine whose dialect answers `caps` over the real ones
local function engine_with(caps)
  local engine = helpers.sqlite_engine()
  local real = engine.dialect
  engine.dialect = setmetatable({caps = setmetatable(caps, {__index = real.caps})}, {__index = real})
  return engine
end

local function flush_items(engine, Item, n)
  local rec = helpers.recorder(engine)
  local s = orm.Session(engine)
  local items = {}
  for i = 1, n do items[i] = Item({name = "i" .. i}) end
  s:add_all(items)
  s:flush()
  local ids = {}
  for i, it in ipairs(items) do ids[i] = it.id end
  s:commit()
  s:close()
  return helpers.matching(rec, "^INSERT"), ids
end

local function with_returning(list)
  local n = 0
  for _, sql in ipairs(list) do if sql:find("RETURNING") then n = n + 1 end end
  return n
end

describe("the flush's new keys", function()
  local engine, Base, Item
  before_each(function() Base, Item = models() end)
  after_each(function()
    orm.close_all_sessions()
    engine:dispose()
    helpers.cleanup()
  end)

  it("come back with the INSERT where the dialect has multi-row RETURNING", function()
    engine = helpers.sqlite_engine()
    assert.is_true(engine.dialect.caps.insert_many_returning)
    Base.metadata:create_all(engine)
    local inserts, ids = flush_items(engine, Item, 3)
    assert.same({1, 2, 3}, ids)
    assert.equal(1, #inserts)
    assert.equal(1, with_returning(inserts))
  end)

  it("come from the driver, a row per INSERT, without RETURNING (MySQL's capabilities)", function()
    engine = engine_with({insert_returning = false, insert_many_returning = false})
    Base.metadata:create_all(engine)
    local inserts, ids = flush_items(engine, Item, 3)
    assert.same({1, 2, 3}, ids)
    assert.equal(3, #inserts)
    assert.equal(0, with_returning(inserts))
  end)

  it("use single-row RETURNING when only that is there, the driver for a batch", function()
    engine = engine_with({insert_returning = true, insert_many_returning = false})
    Base.metadata:create_all(engine)
    local one, ids1 = flush_items(engine, Item, 1)
    assert.same({1}, ids1)
    assert.equal(1, with_returning(one))
    local three, ids3 = flush_items(engine, Item, 3)
    assert.same({2, 3, 4}, ids3)
    assert.equal(3, #three)
    assert.equal(0, with_returning(three))
  end)
end)
