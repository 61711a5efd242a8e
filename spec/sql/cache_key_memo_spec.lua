-- The cache key's kept parts (c/compiler/cachekey.c, issue 22 stage 3): a
-- list given to core.cache_key_freeze is walked once and its part of the
-- key written as kept afterwards; the key is the same as a walk gives, a
-- part holding binds or back-references is never kept, and a frozen list
-- nested past the depth limit still gets no key. Also the key's prefix and
-- a node with more fields than the stack path holds.
local qs = require("quicksilver")
local core = require("quicksilver.core")
local fixtures = require("spec.sql.fixtures")

describe("cache key: frozen lists", function()
  local T, u
  setup(function()
    T = fixtures.tables()
    u = T.users.c
  end)

  local function stmt_with(columns)
    local s = qs.select(u.id)
    local out = setmetatable({}, getmetatable(s))
    for k, v in pairs(s) do out[k] = v end
    out.columns = columns
    return out
  end

  it("gives the key a walk gives, walked or kept", function()
    local walked = core.cache_key(stmt_with({u.id, u.name}))
    local list = core.cache_key_freeze({u.id, u.name})
    local first = core.cache_key(stmt_with(list))    -- walked, then kept
    local second = core.cache_key(stmt_with(list))   -- written as kept
    assert.equal(walked, first)
    assert.equal(walked, second)
  end)

  it("keeps no part holding a bind: each statement's binds come back", function()
    local list = core.cache_key_freeze({u.id, qs.literal(5)})
    local k1, b1 = core.cache_key(stmt_with(list))
    local k2, b2 = core.cache_key(stmt_with(list))
    assert.equal(k1, k2)
    assert.equal(1, #b1)
    assert.equal(1, #b2)
    assert.equal(5, b2[1].value)
  end)

  it("keeps no part with a back-reference to a node outside it", function()
    local a = T.users:alias("a")
    -- the alias is met before the list: its columns refer back to it
    local list = core.cache_key_freeze({a.c.id})
    local s = stmt_with(list)
    s._where = a.c.id:eq(1)
    local k1 = core.cache_key(s)
    local k2 = core.cache_key(s)
    assert.equal(k1, k2)
    local plain = stmt_with({a.c.id})
    plain._where = s._where
    assert.equal(core.cache_key(plain), k1)
  end)

  it("gives no key past the depth limit, kept part or not", function()
    local list = core.cache_key_freeze({u.id, u.name})
    assert.is_not_nil(core.cache_key(stmt_with(list)))   -- kept now
    -- the list nested as deep as the walk allows tables
    local deep = list
    for _ = 1, 3 * core.max_depth do deep = {deep} end
    assert.is_nil((core.cache_key(stmt_with({deep}))))
  end)

  it("starts the key with the prefix given", function()
    local s = qs.select(u.id):where(u.id:eq(1))
    local plain = core.cache_key(s)
    assert.equal("sqlite\1\1" .. plain, (core.cache_key(s, "sqlite\1\1")))
  end)

  it("keys a node with more fields than the stack path takes as the walk by name does", function()
    local s = qs.select(u.id)
    local many = setmetatable({}, getmetatable(s))
    for k, v in pairs(s) do many[k] = v end
    for i = 1, 20 do many["x" .. string.format("%02d", i)] = i end
    local k1 = core.cache_key(many)
    assert.is_not_nil(k1)
    many.x20 = 21
    assert.are_not.equal(k1, core.cache_key(many))
  end)
end)

describe("select(Model) template", function()
  local orm = require("quicksilver.orm")
  local selectable = require("quicksilver.sql.selectable")

  it("shares the columns list between selects of one entity, until the mapper changes", function()
    local Base = orm.declarative_base()
    local Item = Base:model("Item", {
      __tablename = "item",
      id = orm.mapped_column(qs.Integer, {primary_key = true}),
      name = orm.mapped_column(qs.String(20)),
    })
    local hits = selectable.template_hits
    local a, b = qs.select(Item), qs.select(Item)
    assert.equal(a.columns, b.columns)
    assert.equal(a._entities, b._entities)
    assert.is_true(selectable.template_hits > hits)
    -- generative methods leave the shared lists as they were
    local n = #a.columns
    local c = a:add_columns(qs.literal(1)):where(Item.id:eq(1))
    assert.equal(n, #a.columns)
    assert.equal(n + 1, #c.columns)
    -- a statement of it keys like one built without the template
    local key = core.cache_key(a:where(Item.id:eq(3)))
    local cols = {}
    for i, col in ipairs(a.columns) do cols[i] = col end
    local fresh = setmetatable({}, getmetatable(a))
    for k, v in pairs(a:where(Item.id:eq(3))) do fresh[k] = v end
    fresh.columns = cols
    assert.equal(key, core.cache_key(fresh))
  end)
end)
