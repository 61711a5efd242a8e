-- A name a model class does not have (Model.nmae: not a mapped attribute,
-- relationship, hybrid, method or class field) raises InvalidRequestError
-- naming the model and the closest names, where SQLAlchemy raises
-- AttributeError; the same for aliased(Model).nmae, a Table's t.c.nmae,
-- filter_by and the constructor. Names starting with "_" (what the library
-- probes classes for), classes without a mapper (Base, abstract bases) and
-- instances (obj.unknown is nil) are left as they were.
local qs = require("quicksilver")
local orm = require("quicksilver.orm")
local util = require("quicksilver.util")
local helpers = require("spec.helpers")
local raises = helpers.assert_raises_kind

describe("a model class attribute miss", function()
  local Base, Author, Book

  before_each(function()
    Base = orm.declarative_base()
    Author = Base:model("Author", {
      __tablename = "author",
      id = orm.mapped_column(qs.Integer, {primary_key = true}),
      name = orm.mapped_column(qs.String(50)),
      email = orm.mapped_column(qs.String(50)),
      books = orm.relationship("Book", {back_populates = "author"}),
      shout = orm.hybrid_property(function(self) return self.name:upper() end,
        {expression = function(cls) return cls.name end}),
    })
    Book = Base:model("Book", {
      __tablename = "book",
      id = orm.mapped_column(qs.Integer, {primary_key = true}),
      title = orm.mapped_column(qs.String(50)),
      author_id = orm.mapped_column(qs.Integer, qs.ForeignKey("author.id")),
      author = orm.relationship("Author", {back_populates = "books"}),
    })
    function Author:greet() return "hi " .. self.name end
    Author.LIMIT = 10
  end)

  it("raises InvalidRequestError naming the model and the closest name", function()
    local err = raises(qs.exc.InvalidRequestError, function() return Author.nmae end)
    assert.equal("type object 'Author' has no attribute 'nmae' (did you mean 'name'?)", err.message)
    err = raises(qs.exc.InvalidRequestError, function() return Author.book end)
    assert.matches("did you mean 'books'%?", err.message)
    err = raises(qs.exc.InvalidRequestError, function() return Author.gret end)
    assert.matches("did you mean 'greet'%?", err.message)
  end)

  it("lists the attributes when no name is close", function()
    local err = raises(qs.exc.InvalidRequestError, function() return Author.zzzzzzzz end)
    assert.equal("type object 'Author' has no attribute 'zzzzzzzz' " ..
      "(its attributes: LIMIT, books, email, greet, id, name, shout)", err.message)
  end)

  it("finds what the class has: columns, relationships, hybrids, methods, fields, ModelBase's", function()
    assert.equal(Author.__table__.c.name, Author.name)
    assert.truthy(Author.books)
    assert.truthy(Author.shout)
    assert.equal("function", type(Author.greet))
    assert.equal(10, Author.LIMIT)
    assert.equal("function", type(Author.model))
    assert.truthy(Author.metadata)     -- Base's fields, up the chain
    assert.truthy(Author.registry)
  end)

  it("keeps names starting with '_' nil, and Base and classes without a mapper quiet", function()
    assert.is_nil(Author.__nothing)
    assert.is_nil(Author._nothing)
    assert.is_nil(Author[1])
    assert.is_nil(Base.nmae)
    local Abstract = Base:model("HasStamp", {__abstract = true, stamp = orm.mapped_column(qs.Integer)})
    assert.is_nil(Abstract.nmae)
  end)

  it("leaves instances alone: obj.unknown is nil, methods and plain fields work", function()
    local a = Author({name = "ann"})
    assert.is_nil(a.nmae)
    assert.equal("hi ann", a:greet())
    assert.equal(10, a.LIMIT)
    a.note = "kept"
    assert.equal("kept", a.note)
    assert.equal("ANN", a.shout)
  end)

  it("reads of a loaded instance attribute call no function (the miss path is the class's only)", function()
    local a = Author({name = "ann"})
    local calls = 0
    local v
    local function reads()
      for _ = 1, 100 do v = a.name end
    end
    debug.sethook(function()
      local info = debug.getinfo(2, "S")
      if info and info.short_src:find("quicksilver", 1, true) then calls = calls + 1 end
    end, "c")
    reads()
    debug.sethook()
    assert.equal("ann", v)
    assert.equal(0, calls)
  end)

  it("inheritance: a subclass finds its parent's names and raises naming itself", function()
    local Employee = Base:model("Employee", {
      __tablename = "employee",
      id = orm.mapped_column(qs.Integer, {primary_key = true}),
      name = orm.mapped_column(qs.String(30)),
      type = orm.mapped_column(qs.String(20)),
      __mapper_args = {polymorphic_on = "type", polymorphic_identity = "employee"},
    })
    function Employee:who() return self.name end
    local Manager = Employee:model("Manager", {
      __tablename = "manager",
      id = orm.mapped_column(qs.Integer, qs.ForeignKey("employee.id"), {primary_key = true}),
      manager_name = orm.mapped_column(qs.String(30)),
      __mapper_args = {polymorphic_identity = "manager"},
    })
    assert.truthy(Manager.name)
    assert.equal(Employee.who, Manager.who)
    local err = raises(qs.exc.InvalidRequestError, function() return Manager.manager_nmae end)
    assert.equal("type object 'Manager' has no attribute 'manager_nmae' (did you mean 'manager_name'?)",
      err.message)
    err = raises(qs.exc.InvalidRequestError, function() return Manager.nam end)
    assert.matches("did you mean 'name'%?", err.message)
  end)

  it("mixins: the mixin's columns, hybrids and methods are found, a miss raises", function()
    local SoftDelete = {__name = "SoftDelete", deleted = orm.mapped_column(qs.Boolean),
      is_live = orm.hybrid_property(function(self) return not self.deleted end,
        {expression = function(cls) return cls.deleted:eq(false) end}),
      restore = function(self) self.deleted = false end}
    local Doc = Base:model("Doc", {__tablename = "doc", id = orm.mapped_column(qs.Integer, {primary_key = true})},
      {mixins = {SoftDelete}})
    assert.truthy(Doc.deleted)
    assert.truthy(Doc.is_live)
    assert.equal("function", type(Doc.restore))
    local err = raises(qs.exc.InvalidRequestError, function() return Doc.is_liv end)
    assert.matches("type object 'Doc' has no attribute 'is_liv' %(did you mean 'is_live'%?%)", err.message)
  end)

  it("aliased(Model).nmae raises naming aliased(Model); its class methods are reachable", function()
    local a = orm.aliased(Author)
    local err = raises(qs.exc.InvalidRequestError, function() return a.nmae end)
    assert.equal("type object 'aliased(Author)' has no attribute 'nmae' (did you mean 'name'?)", err.message)
    assert.equal(Author.greet, a.greet)
    assert.is_nil(a.__nothing)
    assert.truthy(a.name)
  end)

  it("with_polymorphic and select() of the class keep working", function()
    local stmt = qs.select(Author):where(Author.name:eq("x")):order_by(Author.id)
    assert.matches("FROM author WHERE author.name = ", tostring(stmt))
  end)

  it("the constructor names the closest keyword", function()
    local err = raises(qs.exc.ArgumentError, function() return Author({nmae = "x"}) end)
    assert.equal("'nmae' is an invalid keyword argument for Author (did you mean 'name'?)", err.message)
  end)
end)

describe("a column collection miss", function()
  it("t.c.nmae names the table and the closest column", function()
    local md = qs.MetaData()
    local t = qs.Table("author", md, qs.Column("id", qs.Integer, {primary_key = true}),
      qs.Column("name", qs.String(20)), qs.Column("email", qs.String(20)))
    local err = raises(qs.exc.ArgumentError, function() return t.c.nmae end)
    assert.equal("author has no column 'nmae' (did you mean 'name'?)", err.message)
    err = raises(qs.exc.ArgumentError, function() return t.c.zzzzzz end)
    assert.equal("author has no column 'zzzzzz'", err.message)
    local sub = qs.select(t):subquery("s")
    err = raises(qs.exc.ArgumentError, function() return sub.c.emial end)
    assert.matches("has no column 'emial' %(did you mean 'email'%?%)", err.message)
    err = raises(qs.exc.ArgumentError, function() return qs.select(t):filter_by({nmae = "x"}) end)
    assert.equal("filter_by: 'author' has no column 'nmae' (did you mean 'name'?)", err.message)
  end)
end)

describe("automap classes", function()
  it("raise on a miss as declared ones do", function()
    local automap = require("quicksilver.ext.automap")
    local engine = qs.create_engine("sqlite:///" .. helpers.tmpdb())
    engine:begin(function(c)
      c:exec_driver_sql("CREATE TABLE users (id INTEGER NOT NULL PRIMARY KEY, name VARCHAR(20))")
    end)
    local Base = automap.automap_base()
    Base:prepare({autoload_with = engine})
    local User = Base.classes.users
    assert.truthy(User.name)
    local err = raises(qs.exc.InvalidRequestError, function() return User.nmae end)
    assert.equal("type object 'users' has no attribute 'nmae' (did you mean 'name'?)", err.message)
    engine:dispose()
    helpers.cleanup()
  end)
end)

describe("util.closest", function()
  it("finds the names at the smallest edit distance, at most 3 and less than the word's length", function()
    assert.same({"name"}, util.closest("nmae", {"id", "name", "email"}))
    assert.same({"name"}, util.closest("NAME", {"id", "name"}))
    assert.same({}, util.closest("xyzzy", {"id", "name"}))
    assert.same({"id", "idx"}, util.closest("ide", {"id", "idx", "name"}))
    assert.same({"title"}, util.closest("titel", {title = true, id = true}))
    assert.same({}, util.closest("a", {"b"}))
    assert.equal("", util.did_you_mean("qqqq", {"id"}))
    assert.equal(" (did you mean 'id' or 'idx'?)", util.did_you_mean("ide", {"id", "idx"}))
    assert.equal(1, util.distance("ab", "ba", 3))
  end)
end)

describe("a Row miss", function()
  it("row.nmae names the closest column", function()
    local engine = qs.create_engine("sqlite://")
    engine:connect(function(c)
      local row = c:execute(qs.text("SELECT 1 AS id, 'a' AS name, 'e' AS email")):first()
      local err = raises(qs.exc.InvalidRequestError, function() return row.nmae end)
      assert.equal("Row has no column 'nmae' (did you mean 'name'?)", err.message)
      err = raises(qs.exc.InvalidRequestError, function() return row.zzzzzz end)
      assert.equal("Row has no column 'zzzzzz'", err.message)
      assert.equal("a", row.name)
    end)
    engine:dispose()
  end)
end)

describe("other misspelled names", function()
  it("suggest the closest: relationship targets, back_populates, foreign keys, values, binds, order_by", function()
    local function build(target, bp)
      local Base = orm.declarative_base()
      Base:model("Author", {__tablename = "author", id = orm.mapped_column(qs.Integer, {primary_key = true}),
        books = orm.relationship(target, {back_populates = bp})})
      Base:model("Book", {__tablename = "book", id = orm.mapped_column(qs.Integer, {primary_key = true}),
        author_id = orm.mapped_column(qs.Integer, qs.ForeignKey("author.id")),
        author = orm.relationship("Author", {back_populates = "books"})})
      return Base
    end
    local Base = build("Bok", "author")
    local err = raises(qs.exc.InvalidRequestError, function() Base.registry:configure() end)
    assert.matches("no class named 'Bok' in the registry (did you mean 'Book'?)", err.message, 1, true)
    Base = build("Book", "autor")
    err = raises(qs.exc.InvalidRequestError, function() Base.registry:configure() end)
    assert.matches("not a relationship of Book (did you mean 'author'?)", err.message, 1, true)

    local md = qs.MetaData()
    local a = qs.Table("a", md, qs.Column("id", qs.Integer, {primary_key = true}), qs.Column("name", qs.String(9)))
    qs.Table("b", md, qs.Column("id", qs.Integer, {primary_key = true}),
      qs.Column("a_id", qs.Integer, qs.ForeignKey("a.idd")))
    err = raises(qs.exc.NoReferencedColumnError, function() md:create_all(qs.create_engine("sqlite://")) end)
    assert.matches("table 'a' has no column 'idd' (did you mean 'id'?)", err.message, 1, true)
    err = raises(qs.exc.ArgumentError, function() return qs.insert(a):values({nmae = "x"}) end)
    assert.matches("Unconsumed column names: nmae (table 'a' has no such columns) (did you mean 'name'?)",
      err.message, 1, true)
    err = raises(qs.exc.CompileError, function() return qs.select(a.c.name:label("n1")):order_by("n2") end)
    assert.matches("'n2' names no column or label of this select (did you mean 'n1'?)", err.message, 1, true)
    local engine = qs.create_engine("sqlite://")
    engine:connect(function(c)
      err = raises(qs.exc.ArgumentError, function() c:execute(qs.text("SELECT :name"), {nmae = 1}) end)
      assert.matches("unknown bind parameter 'nmae' (did you mean 'name'?)", err.message, 1, true)
    end)
    engine:dispose()
  end)
end)
