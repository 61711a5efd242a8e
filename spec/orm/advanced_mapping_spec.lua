-- column_property, synonym, validates and optimistic locking
-- (version_id_col), on every backend.
local qs = require("quicksilver")
local orm = require("quicksilver.orm")
local helpers = require("spec.helpers")
local raises = helpers.assert_raises_kind

describe("advanced mapping", function()
  local engine

  before_each(function() engine = helpers.backend_engine() end)
  after_each(function()
    orm.close_all_sessions()
    engine:dispose()
    helpers.cleanup()
  end)

  it("column_property loads SQL-computed values with the row, read-only", function()
    local Base = orm.declarative_base()
    local User, Address
    User = Base:model("User", {__tablename = "users", id = orm.mapped_column(qs.Integer, {primary_key = true}),
      first = orm.mapped_column(qs.String(20)), last = orm.mapped_column(qs.String(20)),
      addresses = orm.relationship("Address")})
    Address = Base:model("Address", {__tablename = "addresses", id = orm.mapped_column(qs.Integer, {primary_key = true}),
      user_id = orm.mapped_column(qs.ForeignKey("users.id"))})
    User.fullname = orm.column_property(User.first .. " " .. User.last)
    User.n_addresses = orm.column_property(qs.select(qs.func.count(Address.id)):where(Address.user_id:eq(User.id)))
    Base.metadata:create_all(engine)
    local s = orm.Session(engine)
    local u = User({first = "Ada", last = "Lovelace", addresses = {Address({}), Address({})}})
    s:add(u)
    s:commit()
    assert.equal("Ada Lovelace", u.fullname)
    assert.equal(2, u.n_addresses)
    s:close()
    local found = s:scalars(qs.select(User):where(User.fullname:eq("Ada Lovelace"))):one()
    assert.equal(2, found.n_addresses)
    local ordered = s:execute(qs.select(User.fullname):order_by(User.n_addresses:desc())):scalars():all()
    assert.same({"Ada Lovelace"}, {ordered[1]})
    raises(qs.exc.ArgumentError, function() found.fullname = "x" end)
    raises(qs.exc.ArgumentError, function() orm.column_property("first || last") end)
  end)

  it("synonym and validates", function()
    local Base = orm.declarative_base()
    local User = Base:model("User", {__tablename = "users", id = orm.mapped_column(qs.Integer, {primary_key = true}),
      email = orm.mapped_column(qs.String(40)),
      mail = orm.synonym("email"),
      check = orm.validates("email", function(_, key, v)
        if v ~= nil and not v:find("@", 1, true) then
          error(qs.exc.ArgumentError("invalid " .. key .. ": " .. v))
        end
        return v:lower()
      end)})
    Base.metadata:create_all(engine)
    local u = User({mail = "Ada@X.org"})
    assert.equal("ada@x.org", u.email)          -- through the synonym, validated
    local err = raises(qs.exc.ArgumentError, function() u.email = "nobody" end)
    assert.matches("invalid email: nobody", tostring(err), 1, true)
    assert.equal("ada@x.org", u.email)          -- unchanged
    raises(qs.exc.ArgumentError, function() User({email = "bad"}) end)
    local s = orm.Session(engine)
    s:add(u); s:commit()
    assert.equal(u, s:scalars(qs.select(User):where(User.mail:eq("ada@x.org"))):one())
    raises(qs.exc.ArgumentError, function() User.v2 = orm.validates("nosuch", function(_, _, v) return v end) end)
  end)

  it("version_id_col bumps the counter and raises StaleDataError on a concurrent change", function()
    local Base = orm.declarative_base()
    local Doc = Base:model("Doc", {__tablename = "docs", id = orm.mapped_column(qs.Integer, {primary_key = true}),
      body = orm.mapped_column(qs.String(20)),
      version_id = orm.mapped_column(qs.Integer, {nullable = false}),
      __mapper_args = {version_id_col = "version_id"}})
    Base.metadata:create_all(engine)
    local sqls = {}
    qs.event.listen(engine, "before_cursor_execute", function(_, sql) sqls[#sqls + 1] = sql end)
    local s1, s2 = orm.Session(engine), orm.Session(engine)
    s1:add(Doc({body = "v1"}))
    s1:commit()
    local d1, d2 = s1:get(Doc, 1), s2:get(Doc, 1)
    assert.equal(1, d1.version_id)
    assert.equal(1, d2.version_id)
    d1.body = "by s1"
    s1:commit()
    assert.matches("WHERE docs.id = [?$%d]+ AND docs.version_id = [?$%d]+", sqls[#sqls])
    assert.equal(2, s1:get(Doc, 1).version_id)
    d2.body = "by s2"    -- s2 still has version 1
    local err = raises(qs.exc.StaleDataError, function() s2:commit() end)
    assert.equal(d2, err.instance)
    s2:rollback()
    assert.equal("by s1", d2.body)
    d2.body = "retry"
    s2:commit()
    assert.equal(3, s2:get(Doc, 1).version_id)
    -- a stale DELETE too
    local d3 = s1:get(Doc, 1)
    local _ = d3.body
    local other = orm.Session(engine)
    other:get(Doc, 1).body = "moved on"
    other:commit()
    s1:delete(d3)
    raises(qs.exc.StaleDataError, function() s1:commit() end)
    s1:rollback()
  end)

  it("association objects with an association proxy of keywords", function()
    local Base = orm.declarative_base()
    local User, UserKeyword, Keyword
    User = Base:model("User", {__tablename = "users", id = orm.mapped_column(qs.Integer, {primary_key = true}),
      name = orm.mapped_column(qs.String(20)),
      user_keywords = orm.relationship("UserKeyword", {back_populates = "user", cascade = "all, delete-orphan"}),
      keywords = orm.association_proxy("user_keywords", "keyword_text", {
        creator = function(text) return UserKeyword({keyword = Keyword({text = text})}) end})})
    UserKeyword = Base:model("UserKeyword", {__tablename = "user_keywords",
      user_id = orm.mapped_column(qs.ForeignKey("users.id"), {primary_key = true}),
      keyword_id = orm.mapped_column(qs.ForeignKey("keywords.id"), {primary_key = true}),
      special = orm.mapped_column(qs.String(20)),
      user = orm.relationship("User", {back_populates = "user_keywords"}),
      keyword = orm.relationship("Keyword"),
      keyword_text = orm.hybrid_property(function(self) return self.keyword.text end)})
    Keyword = Base:model("Keyword", {__tablename = "keywords", id = orm.mapped_column(qs.Integer, {primary_key = true}),
      text = orm.mapped_column(qs.String(20))})
    Base.metadata:create_all(engine)
    local s = orm.Session(engine)
    local u = User({name = "x"})
    u.keywords = {"cheese", "wine"}
    u.user_keywords[1].special = "favourite"
    s:add(u)
    s:commit()
    s:close()
    local u2 = s:get(User, 1)
    local kws = u2.keywords
    table.sort(kws)
    assert.same({"cheese", "wine"}, kws)
    local uk = s:get(UserKeyword, {1, 1})              -- a composite key
    assert.equal("favourite", uk.special)
    assert.equal(u2, uk.user)
    raises(qs.exc.InvalidRequestError, function() s:get(UserKeyword, 1) end)
  end)

  it("relationships over a composite foreign key", function()
    local Base = orm.declarative_base()
    local Order = Base:model("Order", {__tablename = "orders",
      region = orm.mapped_column(qs.String(5), {primary_key = true}),
      num = orm.mapped_column(qs.Integer, {primary_key = true, autoincrement = false}),
      lines = orm.relationship("Line", {back_populates = "order"})})
    local Line = Base:model("Line", {__tablename = "lines", id = orm.mapped_column(qs.Integer, {primary_key = true}),
      region = orm.mapped_column(qs.String(5)), num = orm.mapped_column(qs.Integer),
      item = orm.mapped_column(qs.String(10)),
      order = orm.relationship("Order", {back_populates = "lines"}),
      __table_args = {qs.ForeignKeyConstraint({"region", "num"}, {"orders.region", "orders.num"})}})
    Base.metadata:create_all(engine)
    local s = orm.Session(engine)
    s:add(Order({region = "eu", num = 7, lines = {Line({item = "a"}), Line({item = "b"})}}))
    s:commit()
    s:close()
    local o = s:get(Order, {region = "eu", num = 7})
    assert.equal(2, #o.lines)
    assert.equal(o, o.lines[1].order)
    assert.equal("eu", o.lines[2].region)
    s:close()
    local orders = s:scalars(qs.select(Order):options(orm.selectinload(Order.lines))):all()
    assert.equal(2, #orders[1].lines)
  end)

  it("deferred column groups load together, undefer_group in a query", function()
    local Base = orm.declarative_base()
    local Book = Base:model("Book", {__tablename = "books", id = orm.mapped_column(qs.Integer, {primary_key = true}),
      title = orm.mapped_column(qs.String(20)),
      summary = orm.mapped_column(qs.Text, {deferred_group = "text"}),
      body = orm.mapped_column(qs.Text, {deferred_group = "text"}),
      cover = orm.deferred(qs.String(20))})
    Base.metadata:create_all(engine)
    local sqls = {}
    qs.event.listen(engine, "before_cursor_execute", function(_, sql) sqls[#sqls + 1] = sql end)
    local s = orm.Session(engine)
    s:add(Book({title = "t", summary = "s", body = "b", cover = "c"}))
    s:commit()
    s:close()
    sqls = {}
    local b = s:scalars(qs.select(Book)):one()
    assert.is_nil(sqls[1]:find("summary", 1, true))
    assert.equal("s", b.summary)
    assert.equal("b", b.body)
    assert.equal(2, #sqls)
    s:close(); sqls = {}
    b = s:scalars(qs.select(Book):options(orm.undefer_group("text"))):one()
    assert.truthy(sqls[1]:find("summary", 1, true))
    assert.equal("b", b.body)
    assert.equal(1, #sqls)
    assert.equal("c", b.cover)
    assert.equal(2, #sqls)
  end)
end)
