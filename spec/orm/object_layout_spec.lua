-- The object layout of issue 22 (stage 1): an instance's metatable is its
-- value table, whose __index is itself, so a read of a loaded column calls
-- no function; what the value table lacks falls to the mapper's miss
-- function (NULL, expired, lazy, hybrids, methods). Committed values are
-- kept only for attributes changed since the load or flush. Runs on every
-- backend.
local qs = require("quicksilver")
local orm = require("quicksilver.orm")
local core = require("quicksilver.core")
local attributes = require("quicksilver.orm.attributes")
local helpers = require("spec.helpers")

local STATE = attributes.STATE

-- The number of function calls (Lua or C) made by 100 reads of obj[key],
-- beyond those of 100 reads of a plain table's field (the hook's own
-- bookkeeping; on LuaJIT an odd call may slip in or out): a function
-- __index would add at least 100.
local function calls_in(obj, key)
  local function count(t, k)
    local n = 0
    collectgarbage()
    collectgarbage("stop")   -- no finalizer runs inside the count
    if jit then jit.off(); jit.flush() end   -- LuaJIT: compiled code calls no hook
    debug.sethook(function() n = n + 1 end, "c")
    for _ = 1, 100 do local _ = t[k] end
    debug.sethook()
    if jit then jit.on() end
    collectgarbage("restart")
    return n
  end
  local extra = count(obj, key) - count({name = "x"}, "name")
  return extra < 10 and 0 or extra
end

-- The keys of t other than the state key, sorted.
local function plain_keys(t)
  local out = {}
  for k in pairs(t) do
    if k ~= STATE then out[#out + 1] = tostring(k) end
  end
  table.sort(out)
  return out
end

describe("the ORM object layout on " .. helpers.backend, function()
  local Base, Author, Book, engine, s

  before_each(function()
    Base = orm.declarative_base()
    Author = Base:model("Author", {
      __tablename = "layout_author",
      id = orm.mapped_column(qs.Integer, {primary_key = true}),
      name = orm.mapped_column(qs.String(30)),
      nick = orm.mapped_column(qs.String(30)),
      books = orm.relationship("Book", {back_populates = "author"}),
    })
    Book = Base:model("Book", {
      __tablename = "layout_book",
      id = orm.mapped_column(qs.Integer, {primary_key = true}),
      title = orm.mapped_column(qs.String(30)),
      author_id = orm.mapped_column(qs.ForeignKey("layout_author.id")),
      author = orm.relationship("Author", {back_populates = "books"}),
    })
    Author.shout = function(self) return self.name:upper() end
    Author.label = orm.hybrid_property(function(self) return self.name .. "!" end)
    engine = helpers.backend_engine()
    Base.metadata:create_all(engine)
    local s0 = orm.Session(engine)
    s0:add(Author({id = 1, name = "ann", books = {Book({id = 1, title = "one"}), Book({id = 2, title = "two"})}}))
    s0:add(Author({id = 2, name = "bob"}))
    s0:commit()
    s0:close()
    s = orm.Session(engine)
  end)

  after_each(function()
    s:close()
    orm.close_all_sessions()
    Base.metadata:drop_all(engine)
    engine:dispose()
    helpers.cleanup()
  end)

  local function load_ann()
    return s:scalars(qs.select(Author):where(Author.id:eq(1))):one()
  end

  it("reads a loaded column through the value table, with no function call", function()
    local a = load_ann()
    local mt = getmetatable(a)
    assert.is_true(rawequal(mt, rawget(a, STATE).dict))
    assert.is_true(rawequal(mt.__index, mt))
    local v
    assert.equal(0, calls_in(a, "name"))
    v = a.name
    assert.equal("ann", v)
    -- also for an object made by the constructor, and one loaded by the Lua loader
    local fresh = Author({id = 9, name = "cy"})
    assert.is_true(rawequal(getmetatable(fresh).__index, getmetatable(fresh)))
    assert.equal(0, calls_in(fresh, "name"))
    local lua_made = s:get(Author, 2)
    assert.is_true(rawequal(getmetatable(lua_made).__index, getmetatable(lua_made)))
    assert.equal(0, calls_in(lua_made, "name"))
    v = lua_made.name
    assert.equal("bob", v)
  end)

  it("answers what the value table lacks: NULL, methods, hybrids, lazy loads, expired columns", function()
    local a = load_ann()
    assert.is_nil(a.nick)                          -- NULL: nil, never the class attribute
    assert.equal("ANN", a:shout())
    assert.equal("ann!", a.label)
    assert.equal(2, #a.books)                     -- lazy load
    assert.is_true(rawequal(a, a.books[1].author))
    s:expire(a, {"name"})
    assert.is_nil(rawget(rawget(a, STATE).dict, "name"))
    assert.equal("ann", a.name)                   -- loaded on access
    assert.equal(0, calls_in(a, "name"))
  end)

  it("keeps a program's plain fields raw in the object; pairs sees them as before", function()
    local a = load_ann()
    a.note = "hello"
    assert.equal("hello", rawget(a, "note"))
    assert.equal("hello", a.note)
    assert.same({"note"}, plain_keys(a))
    assert.is_false(s:is_modified(a))
    a.name = "anne"
    assert.is_nil(rawget(a, "name"))
    assert.same({"note"}, plain_keys(a))
    assert.is_true(s:is_modified(a))
  end)

  it("shows no metamethod key as an attribute", function()
    local a = load_ann()
    local st = rawget(a, STATE)
    assert.equal("<Author 1>", tostring(a))
    assert.same({1}, orm.inspect(a).identity)
    -- a merge copies values, never the metamethods of the source
    s:close()
    local s2 = orm.Session(engine)
    a.name = "merged"
    local m = s2:merge(a)
    assert.is_false(rawequal(m, a))
    local mst = rawget(m, STATE)
    assert.equal("merged", m.name)
    assert.is_true(rawequal(getmetatable(m), mst.dict))
    assert.is_true(rawequal(mst.dict.__index, mst.dict))
    assert.is_true(rawequal(st.dict.__index, st.dict))
    s2:commit()
    assert.equal("merged", s2:get(Author, 1).name)
    s2:close()
    s = orm.Session(engine)
    -- a flush writes mapped columns only: the row reads back whole
    local back = s:get(Author, 1)
    assert.equal("merged", back.name)
    assert.is_nil(back.nick)
  end)

  it("refuses a mapped attribute named like a reserved __ key", function()
    local B2 = orm.declarative_base()
    B2:model("P", {
      __tablename = "layout_p",
      id = orm.mapped_column(qs.Integer, {primary_key = true}),
      kids = orm.relationship("K", {backref = "__index"}),
    })
    B2:model("K", {
      __tablename = "layout_k",
      id = orm.mapped_column(qs.Integer, {primary_key = true}),
      p_id = orm.mapped_column(qs.ForeignKey("layout_p.id")),
    })
    local err = helpers.assert_raises_kind(qs.exc.ArgumentError, function() B2.registry:configure() end)
    assert.matches("'__index' cannot be a mapped attribute name", err.message, 1, true)
  end)

  it("keeps committed values only for what changed, and forgets them at the flush", function()
    local a = load_ann()
    local st = rawget(a, STATE)
    assert.is_nil(rawget(st, "committed"))       -- loading copies nothing
    a.name = "anne"
    a.nick = "an"                                -- was NULL
    local c = rawget(st, "committed")
    assert.same({"name", "nick"}, plain_keys(c))
    assert.equal("ann", c.name)
    assert.is_true(rawequal(attributes.WAS_NULL, c.nick))
    assert.equal("ann", attributes.committed_of(st, "name"))
    assert.is_nil(attributes.committed_of(st, "nick"))
    assert.equal(1, attributes.committed_of(st, "id"))
    s:flush()
    assert.is_nil(rawget(st, "committed"))
    assert.equal("anne", attributes.committed_of(st, "name"))
    s:commit()
    local s2 = orm.Session(engine)
    local again = s2:get(Author, 1)
    assert.same({"anne", "an"}, {again.name, again.nick})
    s2:close()
  end)

  it("writes nothing for an attribute set back to its loaded value", function()
    local rec = helpers.recorder(engine)
    local a = load_ann()
    a.name = "other"
    a.name = "ann"
    a.nick = "x"
    a.nick = nil
    assert.is_false(s:is_modified(a))
    s:commit()
    assert.same({}, helpers.matching(rec, "^UPDATE"))
  end)

  it("reads right after expire, refresh, rollback and a failed flush", function()
    local a = load_ann()
    a.name = "changed"
    s:rollback()
    assert.equal("ann", a.name)                   -- expired by the rollback, loaded again
    assert.is_false(s:is_modified(a))
    a.name = "x"
    s:refresh(a)
    assert.equal("ann", a.name)
    assert.is_nil(rawget(rawget(a, STATE), "committed"))
    a.name = "y"
    s:expire(a)
    assert.equal("ann", a.name)
    -- a flush that fails puts the values back; the change is still pending
    local b = s:get(Author, 2)
    b.name = "bobby"
    s:add(Author({id = 1, name = "duplicate key"}))
    assert.has_error(function() s:flush() end)
    s:rollback()
    assert.equal("bob", b.name)
  end)

  it("moves a child with its foreign key written (the old value kept for the UPDATE)", function()
    local book = s:get(Book, 2)
    local bob = s:get(Author, 2)
    book.author = bob
    s:commit()
    local s2 = orm.Session(engine)
    assert.equal(2, s2:get(Book, 2).author_id)
    assert.equal(1, #s2:get(Author, 1).books)
    s2:close()
  end)
end)

describe("core.changed_keys with committed values kept on write", function()
  it("looks only at the attributes committed names; was_null stands for an old NULL", function()
    local W = {}
    local dict = {a = 1, b = 2, c = "x", d = 5}
    assert.same({}, core.changed_keys(dict, {}, {"a", "b", "c", "d"}, W))
    assert.same({"b", "c"}, core.changed_keys(dict, {b = 3, c = W, d = 5}, {"a", "b", "c", "d"}, W))
    assert.same({}, core.changed_keys({}, {a = W}, {"a"}, W))
    assert.same({"a"}, core.changed_keys({}, {a = 7}, {"a"}, W))
    -- without was_null: every key compared (the old contract)
    assert.same({"a", "b", "c", "d"}, core.changed_keys(dict, {}, {"a", "b", "c", "d"}))
  end)
end)

describe("core.row_dict", function()
  it("fills one value table with the values at base + position, NULLs left out", function()
    local keymap = {id = 1, name = 2, qty = 3, [1] = "id", [2] = "name", [3] = "qty"}
    local row = core.row(keymap, {7, "seven", nil}, 3)
    local dict, second = core.row_dict(row, 0, {"pk", "label", "count"}, {1, 2, 3})
    assert.same({pk = 7, label = "seven"}, dict)
    assert.is_nil(second)
    assert.equal("row_dict: column 4 is outside the row's 3",
      helpers.assert_raises_kind(qs.exc.ArgumentError, core.row_dict, row, 2, {"a"}, {2}).message)
  end)
end)
