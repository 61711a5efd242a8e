-- collection_class: sets, keyed dictionaries (attribute_keyed_dict,
-- column_keyed_dict, keyfunc_mapping) and ext.orderinglist, on every
-- backend: what the program writes into the Lua table is what the flush
-- writes, every loader fills the right shape, backrefs and delete-orphan
-- follow, a duplicate key given by the program is a clear error.
local qs = require("quicksilver")
local orm = require("quicksilver.orm")
local orderinglist = require("quicksilver.ext.orderinglist")
local collections = require("quicksilver.orm.collections")
local helpers = require("spec.helpers")

-- fn raises the qs.exc class named kind, its message holding text
local function raises(kind, fn, text)
  local err = helpers.assert_raises_kind(qs.exc[kind], fn)
  if text then assert.matches(text, tostring(err), 1, true) end
  return err
end

describe("collection_class", function()
  local Base, Item, Note, Tag, Bullet, engine, s

  local function count(t) return s:scalar(qs.select(qs.func.count()):select_from(t)) end
  local function keys(t)
    local out = {}
    for k in pairs(t) do out[#out + 1] = tostring(k) end
    table.sort(out)
    return table.concat(out, ",")
  end
  local function tag_names(set)
    local out = {}
    for t, v in pairs(set) do assert.is_true(v); out[#out + 1] = t.name end
    table.sort(out)
    return table.concat(out, ",")
  end

  before_each(function()
    Base = orm.declarative_base()
    local assoc = qs.Table("cc_item_tag", Base.metadata,
      qs.Column("item_id", qs.ForeignKey("cc_item.id"), {primary_key = true}),
      qs.Column("tag_id", qs.ForeignKey("cc_tag.id"), {primary_key = true}))
    Item = Base:model("Item", {
      __tablename = "cc_item",
      id = orm.mapped_column(qs.Integer, {primary_key = true}),
      name = orm.mapped_column(qs.String(20)),
      notes = orm.relationship("Note", {back_populates = "item", cascade = "all, delete-orphan",
        collection_class = orm.attribute_keyed_dict("lang")}),
      tags = orm.relationship("Tag", {secondary = assoc, back_populates = "items", collection_class = "set"}),
      bullets = orm.relationship("Bullet", {cascade = "all, delete-orphan",
        collection_class = orderinglist.ordering_list("position", {count_from = 1})}),
    })
    Note = Base:model("Note", {
      __tablename = "cc_note",
      id = orm.mapped_column(qs.Integer, {primary_key = true}),
      item_id = orm.mapped_column(qs.ForeignKey("cc_item.id")),
      lang = orm.mapped_column(qs.String(5)),
      text = orm.mapped_column(qs.String(40)),
      item = orm.relationship("Item", {back_populates = "notes"}),
    })
    Tag = Base:model("Tag", {
      __tablename = "cc_tag",
      id = orm.mapped_column(qs.Integer, {primary_key = true}),
      name = orm.mapped_column(qs.String(20)),
      items = orm.relationship("Item", {secondary = assoc, back_populates = "tags", collection_class = "set"}),
    })
    Bullet = Base:model("Bullet", {
      __tablename = "cc_bullet",
      id = orm.mapped_column(qs.Integer, {primary_key = true}),
      item_id = orm.mapped_column(qs.ForeignKey("cc_item.id")),
      position = orm.mapped_column(qs.Integer),
      text = orm.mapped_column(qs.String(20)),
    })
    engine = helpers.backend_engine()
    Base.metadata:create_all(engine)
    s = orm.Session(engine)
  end)

  after_each(function()
    orm.close_all_sessions()
    s:close()
    engine:dispose()
    helpers.cleanup()
  end)

  local function fresh()
    s:close()
    s = orm.Session(engine)
  end

  describe("attribute_keyed_dict (one-to-many)", function()
    it("writes what the program put in the table, keyed by the attribute", function()
      local it_ = Item({name = "a"})
      it_.notes.en = Note({lang = "en", text = "hello"})
      it_.notes["fr"] = Note({lang = "fr", text = "bonjour"})
      s:add(it_)
      s:commit()
      assert.equal(2, count(Note.__table__))
      fresh()
      local got = s:get(Item, it_.id)
      assert.equal("en,fr", keys(got.notes))
      assert.equal("bonjour", got.notes.fr.text)
      assert.equal(got, got.notes.en.item)
    end)

    it("is assigned a table keyed by the attribute, in the constructor too", function()
      local it_ = Item({name = "b", notes = {de = Note({lang = "de", text = "hallo"})}})
      s:add(it_)
      s:commit()
      fresh()
      local got = s:get(Item, it_.id)
      assert.equal("hallo", got.notes.de.text)
      got.notes = {es = Note({lang = "es", text = "hola"})}
      s:commit()
      fresh()
      assert.equal("es", keys(s:get(Item, it_.id).notes))
      assert.equal(1, count(Note.__table__))   -- delete-orphan removed "de"
    end)

    it("a key removed from the table deletes the orphan; replaced by key, the old one goes", function()
      local it_ = Item({name = "c", notes = {en = Note({lang = "en", text = "1"}), fr = Note({lang = "fr", text = "2"})}})
      s:add(it_)
      s:commit()
      it_.notes.en = nil
      s:commit()
      assert.equal(1, count(Note.__table__))
      it_.notes.fr = Note({lang = "fr", text = "3"})
      s:commit()
      assert.equal(1, count(Note.__table__))
      fresh()
      assert.equal("3", s:get(Item, it_.id).notes.fr.text)
    end)

    it("a backref (note.item = item) shows up under the note's key", function()
      local it_ = Item({name = "d"})
      s:add(it_)
      s:commit()
      local n = Note({lang = "it", text = "ciao"})
      n.item = it_
      assert.equal(n, it_.notes.it)
      s:add(n)
      s:commit()
      fresh()
      assert.equal("ciao", s:get(Item, it_.id).notes.it.text)
    end)

    it("fills the dictionary with every loader", function()
      local it_ = Item({name = "e", notes = {en = Note({lang = "en", text = "x"}), fr = Note({lang = "fr", text = "y"})}})
      s:add(it_)
      s:commit()
      local id = it_.id
      for _, opt in ipairs({orm.selectinload, orm.joinedload, orm.subqueryload}) do
        fresh()
        local stmt = qs.select(Item):where(Item.id:eq(id)):options(opt(Item.notes))
        local got = s:scalars(stmt):unique():all()[1]
        assert.equal("en,fr", keys(got.notes))
        assert.equal("y", got.notes.fr.text)
      end
    end)

    it("a key that disagrees with the member's attribute is an ArgumentError naming both", function()
      local it_ = Item({name = "f"})
      s:add(it_)
      raises("ArgumentError", function() it_.notes = {en = Note({lang = "fr", text = "x"})} end,
        "Item.notes: key 'en' holds")
      it_.notes.de = Note({lang = "en", text = "x"})
      raises("ArgumentError", function() s:flush() end, "key 'de'")
    end)

    it("a member whose attribute changed keeps its key until the collection loads again", function()
      local it_ = Item({name = "m", notes = {en = Note({lang = "en", text = "1"})}})
      s:add(it_)
      s:commit()
      local n = it_.notes.en
      n.lang = "fr"
      s:flush()
      assert.equal(n, it_.notes.en)
      s:commit()
      assert.equal(n, it_.notes.fr)
      assert.is_nil(it_.notes.en)
    end)

    it("a second member with a key already held (given by the program) is an InvalidRequestError", function()
      local it_ = Item({name = "g", notes = {en = Note({lang = "en", text = "1"})}})
      s:add(it_)
      s:commit()
      local dup = Note({lang = "en", text = "2"})
      dup.item = it_   -- queued for the collection not loaded since the commit
      raises("InvalidRequestError", function() return it_.notes end, "Item.notes: duplicate key 'en'")
      fresh()
      local got = s:get(Item, it_.id)
      assert.equal("1", got.notes.en.text)   -- loaded
      Note({lang = "en", text = "3"}).item = got   -- the backref puts it in the loaded list
      raises("InvalidRequestError", function() return got.notes end, "Item.notes: duplicate key 'en'")
    end)

    it("on load a repeated key keeps the last silently, and the other stays linked", function()
      local it_ = Item({name = "h", notes = {en = Note({lang = "en", text = "1"})}})
      s:add(it_)
      s:commit()
      s:add(Note({lang = "en", text = "2", item_id = it_.id}))
      s:commit()
      fresh()
      local got = s:get(Item, it_.id)
      assert.equal("en", keys(got.notes))
      got.name = "h2"
      s:commit()
      assert.equal(2, count(Note.__table__))
      assert.equal(0, s:scalar(qs.select(qs.func.count()):select_from(Note.__table__):where(Note.item_id:is_(nil))))
    end)
  end)

  describe("column_keyed_dict and keyfunc_mapping", function()
    it("key by a mapped column (or a function returning it) or by a function of the member", function()
      local C
      local P = Base:model("P", {
        __tablename = "cc_p",
        id = orm.mapped_column(qs.Integer, {primary_key = true}),
        by_code = orm.relationship("C", {collection_class = orm.column_keyed_dict(function() return C.code end)}),
        by_fn = orm.relationship("C", {viewonly = true,
          collection_class = orm.keyfunc_mapping(function(c) return c.code .. "-" .. c.n end)}),
      })
      C = Base:model("C", {
        __tablename = "cc_c",
        id = orm.mapped_column(qs.Integer, {primary_key = true}),
        p_id = orm.mapped_column(qs.ForeignKey("cc_p.id")),
        code = orm.mapped_column(qs.String(5)),
        n = orm.mapped_column(qs.Integer),
      })
      Base.metadata:create_all(engine)
      local p = P({by_code = {a = C({code = "a", n = 1})}})
      p.by_code.b = C({code = "b", n = 2})
      s:add(p)
      s:commit()
      fresh()
      local got = s:get(P, p.id)
      assert.equal("a,b", keys(got.by_code))
      assert.equal("a-1,b-2", keys(got.by_fn))
      assert.equal(2, got.by_code.b.n)
      got.by_code.c = C({code = "x", n = 3})
      raises("ArgumentError", function() s:flush() end, "P.by_code: key 'c' holds")
    end)
  end)

  describe("set (many-to-many)", function()
    it("writes association rows for members set true, deletes them for members set nil; both sides follow", function()
      local lua, sql = Tag({name = "lua"}), Tag({name = "sql"})
      local it_ = Item({name = "i"})
      it_.tags[lua] = true
      it_.tags[sql] = true
      s:add(it_)
      s:commit()
      assert.equal(2, count(qs.table("cc_item_tag")))
      assert.is_true(lua.items[it_])
      it_.tags[lua] = nil
      s:commit()
      assert.equal(1, count(qs.table("cc_item_tag")))
      fresh()
      local got = s:get(Item, it_.id)
      assert.equal("sql", tag_names(got.tags))
      local t = s:get(Tag, sql.id)
      assert.is_true(t.items[got])
      for _, opt in ipairs({orm.selectinload, orm.joinedload, orm.subqueryload}) do
        fresh()
        local stmt = qs.select(Item):where(Item.id:eq(it_.id)):options(opt(Item.tags))
        assert.equal("sql", tag_names(s:scalars(stmt):unique():all()[1].tags))
      end
    end)

    it("is assigned a set table; a value other than true is refused", function()
      local a, b = Tag({name = "a"}), Tag({name = "b"})
      local it_ = Item({name = "j", tags = {[a] = true, [b] = true}})
      s:add(it_)
      s:commit()
      fresh()
      assert.equal("a,b", tag_names(s:get(Item, it_.id).tags))
      raises("ArgumentError", function() Item({name = "k", tags = {a}}) end, "Item.tags")
    end)
  end)

  describe("ordering_list", function()
    it("numbers the positions from the list's order at flush and loads in that order", function()
      local it_ = Item({name = "o"})
      local b = it_.bullets
      b[#b + 1] = Bullet({text = "one"})
      b[#b + 1] = Bullet({text = "three"})
      table.insert(b, 2, Bullet({text = "two"}))
      s:add(it_)
      s:commit()
      fresh()
      local got = s:get(Item, it_.id)
      local texts, pos = {}, {}
      for i, x in ipairs(got.bullets) do texts[i] = x.text; pos[i] = x.position end
      assert.same({"one", "two", "three"}, texts)
      assert.same({1, 2, 3}, pos)
      table.remove(got.bullets, 1)
      s:commit()
      fresh()
      got = s:get(Item, it_.id)
      assert.same({"two", 1}, {got.bullets[1].text, got.bullets[1].position})
      assert.same({"three", 2}, {got.bullets[2].text, got.bullets[2].position})
      assert.equal(2, count(Bullet.__table__))
    end)

    it("reorder numbers at once; unknown options are refused by name", function()
      local it_ = Item({name = "p"})
      it_.bullets[1] = Bullet({text = "x"})
      it_.bullets[2] = Bullet({text = "y"})
      orderinglist.reorder(it_, "bullets")
      assert.equal(2, it_.bullets[2].position)
      raises("ArgumentError", function() orderinglist.ordering_list("position", {reorder_on_append = true}) end,
        "reorder_on_append")
    end)
  end)

  describe("flushes and reads", function()
    it("an autoflush before a query writes what the program put in a set or dictionary", function()
      local it_ = Item({name = "q"})
      s:add(it_)
      s:commit()
      local t = Tag({name = "t"})
      s:add(t)
      s:flush()
      local tags = it_.tags
      s:scalar(qs.select(qs.func.count()):select_from(Tag.__table__))   -- autoflush, nothing of it_ yet
      tags[t] = true
      it_.notes.en = Note({lang = "en", text = "n"})
      assert.equal(1, s:scalar(qs.select(qs.func.count()):select_from(qs.table("cc_item_tag"))))
      assert.equal(1, s:scalar(qs.select(qs.func.count()):select_from(Note.__table__)))
      s:commit()
    end)

    it("an expired collection comes back as a new table with the database's members", function()
      local it_ = Item({name = "r", notes = {en = Note({lang = "en", text = "1"})}})
      s:add(it_)
      s:commit()
      local before = it_.notes
      s:add(Note({lang = "fr", text = "2", item_id = it_.id}))
      s:commit()
      assert.are_not.equal(before, it_.notes)
      assert.equal("en,fr", keys(it_.notes))
      s:expire(it_)
      assert.equal("en,fr", keys(it_.notes))
    end)

    it("a collection_class on a relationship holding one object is refused by name", function()
      local B = orm.declarative_base()
      local A = B:model("A", {
        __tablename = "cc_a",
        id = orm.mapped_column(qs.Integer, {primary_key = true}),
        b_id = orm.mapped_column(qs.ForeignKey("cc_a.id")),
        b = orm.relationship("A", {remote_side = "A.id", collection_class = "set"}),
      })
      raises("ArgumentError", function() return A({}).b end, "A.b: collection_class set needs a collection")
    end)

    it("a set on a one-to-many: members set nil are orphans deleted", function()
      local B = orm.declarative_base()
      local Box = B:model("Box", {
        __tablename = "cc_box",
        id = orm.mapped_column(qs.Integer, {primary_key = true}),
        things = orm.relationship("Thing", {collection_class = "set", cascade = "all, delete-orphan",
          back_populates = "box"}),
      })
      local Thing = B:model("Thing", {
        __tablename = "cc_thing",
        id = orm.mapped_column(qs.Integer, {primary_key = true}),
        box_id = orm.mapped_column(qs.ForeignKey("cc_box.id")),
        box = orm.relationship("Box", {back_populates = "things"}),
      })
      B.metadata:create_all(engine)
      local a, b = Thing({}), Thing({})
      local box = Box({things = {[a] = true}})
      b.box = box
      assert.is_true(box.things[b])
      s:add(box)
      s:commit()
      assert.equal(2, count(Thing.__table__))
      box.things[a] = nil
      s:commit()
      assert.equal(1, count(Thing.__table__))
      fresh()
      local got = s:get(Box, box.id)
      local n = 0
      for t in pairs(got.things) do n = n + 1; assert.equal(got, t.box) end
      assert.equal(1, n)
    end)
  end)

  it("plain lists never come here: no descriptor, no view built or reconciled", function()
    local B = orm.declarative_base()
    local L = B:model("L", {
      __tablename = "cc_l",
      id = orm.mapped_column(qs.Integer, {primary_key = true}),
      kids = orm.relationship("K"),
    })
    local K = B:model("K", {
      __tablename = "cc_k",
      id = orm.mapped_column(qs.Integer, {primary_key = true}),
      l_id = orm.mapped_column(qs.ForeignKey("cc_l.id")),
    })
    B.metadata:create_all(engine)
    local built, reconciled = collections.stats.built, collections.stats.reconciled
    local l = L({kids = {K({}), K({})}})
    table.insert(l.kids, K({}))
    s:add(l)
    s:commit()
    assert.equal(3, #l.kids)
    assert.is_nil(L.__mapper__ and L.__mapper__.props.kids.collection)
    assert.same({built, reconciled}, {collections.stats.built, collections.stats.reconciled})
    assert.is_nil(rawget(rawget(l, require("quicksilver.orm.attributes").STATE), "views"))
  end)

  it("an unknown collection_class is refused by name", function()
    local B = orm.declarative_base()
    raises("ArgumentError", function()
      B:model("Q", {
        __tablename = "cc_q",
        id = orm.mapped_column(qs.Integer, {primary_key = true}),
        r = orm.relationship("Q", {collection_class = "tuple"}),
      })
    end, "collection_class")
    assert.is_table(collections.SET)
  end)
end)
