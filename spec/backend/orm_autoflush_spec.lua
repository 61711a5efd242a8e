-- The autoflush before a lazy load, on every backend (orm/autoflush.lua):
-- changes made to loaded collections as plain sequences (table.insert,
-- table.remove, list[i] = x) are flushed before a lazy load that could see
-- them, and only the collections of the lazy load's own part of the schema
-- (tables joined by relationships, inheritance and foreign keys) are
-- looked at; changes elsewhere wait for a flush that needs them, unless a
-- flush listener could see or write anything.
local qs = require("quicksilver")
local orm = require("quicksilver.orm")
local helpers = require("spec.helpers")
local matching, clear = helpers.matching, helpers.clear

describe("ORM autoflush before lazy loads on " .. helpers.backend, function()
  local engine, Base, Customer, Order, Author, Book, Review, Comment, rec, sessions

  local function session(opts)
    local o = {bind = engine}
    for k, v in pairs(opts or {}) do o[k] = v end
    local s = orm.Session(o)
    sessions[#sessions + 1] = s
    return s
  end

  before_each(function()
    sessions = {}
    engine = helpers.backend_engine()
    Base = orm.declarative_base()
    -- component 1: customers and their orders
    Customer = Base:model("Customer", {
      __tablename = "af_customer",
      id = orm.mapped_column(qs.Integer, {primary_key = true, autoincrement = false}),
      orders = orm.relationship("Order", {back_populates = "customer", order_by = "Order.id"}),
    })
    Order = Base:model("Order", {
      __tablename = "af_order",
      id = orm.mapped_column(qs.Integer, {primary_key = true, autoincrement = false}),
      customer_id = orm.mapped_column(qs.ForeignKey("af_customer.id")),
      customer = orm.relationship("Customer", {back_populates = "orders"}),
    })
    -- component 2: authors and their books, and (through a foreign key
    -- only, no relationship) reviews of books with their comments
    Author = Base:model("Author", {
      __tablename = "af_author",
      id = orm.mapped_column(qs.Integer, {primary_key = true, autoincrement = false}),
      books = orm.relationship("Book", {order_by = "Book.id"}),
    })
    Book = Base:model("Book", {
      __tablename = "af_book",
      id = orm.mapped_column(qs.Integer, {primary_key = true, autoincrement = false}),
      author_id = orm.mapped_column(qs.ForeignKey("af_author.id")),
    })
    Review = Base:model("Review", {
      __tablename = "af_review",
      id = orm.mapped_column(qs.Integer, {primary_key = true, autoincrement = false}),
      book_id = orm.mapped_column(qs.ForeignKey("af_book.id")),
      comments = orm.relationship("Comment", {order_by = "Comment.id"}),
    })
    Comment = Base:model("Comment", {
      __tablename = "af_comment",
      id = orm.mapped_column(qs.Integer, {primary_key = true, autoincrement = false}),
      review_id = orm.mapped_column(qs.ForeignKey("af_review.id")),
    })
    Base.metadata:create_all(engine)
    local s = session()
    s:add_all({
      Customer({id = 1, orders = {Order({id = 11}), Order({id = 12})}}),
      Customer({id = 2, orders = {Order({id = 21})}}),
      Customer({id = 3}),
      Author({id = 1, books = {Book({id = 101})}}),
      Author({id = 2}),
    })
    s:commit()
    s:add(Review({id = 1, book_id = 101, comments = {Comment({id = 1})}}))
    s:commit()
    rec = helpers.recorder(engine)
  end)

  after_each(function()
    for _, s in ipairs(sessions) do s:close() end
    Base.metadata:drop_all(engine)
    engine:dispose()
    helpers.cleanup()
  end)

  local function ids(list)
    local out = {}
    for i, o in ipairs(list) do out[i] = o.id end
    return out
  end

  -- rows as another connection would see them after commit: here, in the
  -- session's own transaction, through a Core query (autoflushes first)
  local function order_ids(s, customer_id)
    local out = {}
    local t = Order.__table__
    for i, r in ipairs(s:execute(qs.select(t.c.id):where(t.c.customer_id:eq(customer_id)):order_by(t.c.id)):all()) do
      out[i] = r[1]
    end
    return out
  end

  -- (every object is got before the change: a get() that queries
  -- autoflushes like any statement)

  it("a lazy load sees a member moved by table.insert into another loaded collection", function()
    local s = session()
    local c1, c2, c3 = s:get(Customer, 1), s:get(Customer, 2), s:get(Customer, 3)
    local o11 = s:get(Order, 11)                     -- c1's; c1.orders not loaded
    assert.same({21}, ids(c2.orders))
    table.insert(c2.orders, o11)                     -- o11 moves to c2: seen only by comparing
    clear(rec)
    assert.same({12}, ids(c1.orders))                -- the lazy load's autoflush wrote it first
    assert.equal(1, #matching(rec, "^UPDATE"))
    assert.equal(c2, o11.customer)
    assert.same({}, ids(c3.orders))
  end)

  it("a lazy load sees members removed by table.remove and replaced by list[i] = x", function()
    local s = session()
    local c1, c2 = s:get(Customer, 1), s:get(Customer, 2)
    local o21 = s:get(Order, 21)
    assert.same({11, 12}, ids(c1.orders))
    local removed = table.remove(c1.orders, 1)       -- o11 leaves c1: its key is nulled
    assert.equal(11, removed.id)
    c1.orders[1] = o21                               -- o12 replaced in place by c2's o21
    clear(rec)
    assert.same({}, ids(c2.orders))                  -- o21 is c1's now: c2's load must not show it
    assert.is_true(#matching(rec, "^UPDATE") >= 1)
    assert.same({21}, order_ids(s, 1))
    assert.same({}, order_ids(s, 2))
  end)

  it("a lazy load sees a new member appended to another loaded collection of its part of the schema", function()
    local s = session()
    local c2, c3 = s:get(Customer, 2), s:get(Customer, 3)
    assert.same({21}, ids(c2.orders))
    local o = Order({id = 31, customer_id = 3})      -- a foreign key of its own, then c2's
    c2.orders[#c2.orders + 1] = o
    clear(rec)
    assert.same({}, ids(c3.orders))                  -- flushed first: o is c2's, not c3's
    assert.equal(1, #matching(rec, "^INSERT"))
    assert.same({21, 31}, order_ids(s, 2))
  end)

  it("a lazy load leaves a change to a collection of an unrelated part of the schema for a later flush", function()
    local s = session()
    local c1, a1, a2 = s:get(Customer, 1), s:get(Author, 1), s:get(Author, 2)
    assert.same({101}, ids(a1.books))
    local b = Book({id = 102})
    table.insert(a1.books, b)                        -- af_author / af_book
    clear(rec)
    assert.same({11, 12}, ids(c1.orders))            -- af_order: no flush
    assert.equal(0, #matching(rec, "^INSERT"))
    assert.is_nil(orm.inspect(b).identity)           -- not written yet (SQLAlchemy would have)
    -- the next flush that needs it writes it: here a lazy load of its part
    assert.same({}, ids(a2.books))
    assert.equal(1, #matching(rec, "^INSERT"))
    assert.is_not_nil(orm.inspect(b).identity)
  end)

  it("execute(), flush() and commit() still flush every loaded collection", function()
    local s = session()
    local a1, c1 = s:get(Author, 1), s:get(Customer, 1)
    assert.same({101}, ids(a1.books))
    table.insert(a1.books, Book({id = 103}))
    assert.same({11, 12}, ids(c1.orders))
    clear(rec)
    s:execute(qs.select(Customer.__table__.c.id)):all()   -- any statement: everything
    assert.equal(1, #matching(rec, "^INSERT"))
    table.remove(a1.books, 1)                        -- book 101's key nulled
    s:flush()
    assert.equal(1, #matching(rec, "^UPDATE"))
    table.remove(a1.books, 1)                        -- book 103's
    s:commit()
    assert.equal(2, #matching(rec, "^UPDATE"))
  end)

  it("tables joined by a foreign key without a relationship are one part of the schema", function()
    local s = session()
    local a1, r = s:get(Author, 1), s:get(Review, 1)
    assert.same({101}, ids(a1.books))
    table.insert(a1.books, Book({id = 104}))         -- af_book, which af_review refers to
    clear(rec)
    assert.same({1}, ids(r.comments))                -- af_comment, af_review -> af_book
    assert.equal(1, #matching(rec, "^INSERT"))
  end)

  it("with a before_flush listener on the session nothing is left unflushed", function()
    local s = session()
    local flushes = 0
    qs.event.listen(s, "before_flush", function() flushes = flushes + 1 end)
    local a1, c1 = s:get(Author, 1), s:get(Customer, 1)
    assert.same({101}, ids(a1.books))
    table.insert(a1.books, Book({id = 105}))
    clear(rec)
    assert.same({11, 12}, ids(c1.orders))
    assert.equal(1, flushes)
    assert.equal(1, #matching(rec, "^INSERT"))
  end)

  it("with an insert listener on a mapper of the skipped part nothing is left unflushed", function()
    local s = session()
    local inserted = {}
    qs.event.listen(Book, "after_insert", function(_, _, obj) inserted[#inserted + 1] = obj.id end)
    local a1, c1 = s:get(Author, 1), s:get(Customer, 1)
    assert.same({101}, ids(a1.books))
    table.insert(a1.books, Book({id = 106}))
    clear(rec)
    assert.same({11, 12}, ids(c1.orders))
    assert.same({106}, inserted)
  end)

  it("collections of objects that left the session no longer count", function()
    local s = session()
    local c1, c2 = s:get(Customer, 1), s:get(Customer, 2)
    local list = c1.orders
    assert.same({11, 12}, ids(list))
    s:expunge(c1)
    table.remove(list, 1)                            -- a detached object's list
    clear(rec)
    assert.same({21}, ids(c2.orders))
    assert.equal(0, #matching(rec, "^UPDATE"))
    s:commit()
    assert.equal(0, #matching(rec, "^UPDATE"))
  end)

  describe("with a many-to-many and a custom join", function()
    local B2, Student, Course, Shop, Item

    before_each(function()
      B2 = orm.declarative_base()
      local enrollment = qs.Table("af_enrollment", B2.metadata,
        qs.Column("student_id", qs.ForeignKey("af_student.id"), {primary_key = true}),
        qs.Column("course_id", qs.ForeignKey("af_course.id"), {primary_key = true}))
      Student = B2:model("Student", {
        __tablename = "af_student",
        id = orm.mapped_column(qs.Integer, {primary_key = true, autoincrement = false}),
        courses = orm.relationship("Course", {secondary = enrollment, back_populates = "students"}),
      })
      Course = B2:model("Course", {
        __tablename = "af_course",
        id = orm.mapped_column(qs.Integer, {primary_key = true, autoincrement = false}),
        students = orm.relationship("Student", {secondary = enrollment, back_populates = "courses"}),
      })
      Shop = B2:model("Shop", {
        __tablename = "af_shop",
        id = orm.mapped_column(qs.Integer, {primary_key = true, autoincrement = false}),
        big = orm.relationship("Item", {viewonly = true,
          primaryjoin = function() return qs.and_(Item.shop_id:eq(Shop.id), Item.size:gt(1)) end}),
      })
      Item = B2:model("Item", {
        __tablename = "af_item",
        id = orm.mapped_column(qs.Integer, {primary_key = true, autoincrement = false}),
        shop_id = orm.mapped_column(qs.ForeignKey("af_shop.id")),
        size = orm.mapped_column(qs.Integer),
      })
      B2.metadata:create_all(engine)
      local s = session()
      s:add_all({Student({id = 1}), Student({id = 2}), Course({id = 1}), Course({id = 2}), Shop({id = 1}),
        Item({id = 1, shop_id = 1, size = 5})})
      s:commit()
    end)

    after_each(function()
      for _, s in ipairs(sessions) do s:close() end
      B2.metadata:drop_all(engine)
    end)

    it("a lazy load through a secondary table sees association rows added by table.insert", function()
      local s = session()
      local st1, c1 = s:get(Student, 1), s:get(Course, 1)
      assert.same({}, ids(st1.courses))
      table.insert(st1.courses, c1)                  -- an af_enrollment row
      clear(rec)
      assert.same({1}, ids(c1.students))              -- c1.students: not loaded, read through af_enrollment
      assert.equal(1, #matching(rec, "^INSERT"))
    end)

    it("a relationship with a custom join flushes every loaded collection before its lazy load", function()
      local s = session()
      local a1, shop = s:get(Author, 1), s:get(Shop, 1)
      assert.same({101}, ids(a1.books))
      table.insert(a1.books, Book({id = 107}))        -- af_book: unrelated, but the join is not known
      clear(rec)
      assert.same({1}, ids(shop.big))
      assert.equal(1, #matching(rec, "^INSERT"))
    end)
  end)
end)
