-- Many-to-many through an association table (secondary): rows written
-- after both ends and deleted first, both sides in step, every loader.
local qs = require("quicksilver")
local orm = require("quicksilver.orm")
local helpers = require("spec.helpers")
local raises = helpers.assert_raises_kind

describe("many-to-many", function()
  local Base, assoc, Post, Tag, engine, s, sqls

  local function count(t) return s:scalar(qs.select(qs.func.count()):select_from(t)) end
  local function n_sql(pattern)
    local n = 0
    for _, q in ipairs(sqls) do if q:find(pattern) then n = n + 1 end end
    return n
  end
  local function names(list)
    local out = {}
    for i, o in ipairs(list) do out[i] = o.name or o.title end
    return out
  end

  before_each(function()
    Base = orm.declarative_base()
    assoc = qs.Table("post_tag", Base.metadata,
      qs.Column("post_id", qs.ForeignKey("post.id"), {primary_key = true}),
      qs.Column("tag_id", qs.ForeignKey("tag.id"), {primary_key = true}))
    Post = Base:model("Post", {
      __tablename = "post",
      id = orm.mapped_column(qs.Integer, {primary_key = true}),
      title = orm.mapped_column(qs.String(20)),
      tags = orm.relationship("Tag", {secondary = "post_tag", back_populates = "posts", order_by = "Tag.name"}),
    })
    Tag = Base:model("Tag", {
      __tablename = "tag",
      id = orm.mapped_column(qs.Integer, {primary_key = true}),
      name = orm.mapped_column(qs.String(20)),
      posts = orm.relationship("Post", {secondary = assoc, back_populates = "tags", order_by = "Post.title"}),
    })
    engine = helpers.backend_engine()
    Base.metadata:create_all(engine)
    s = orm.Session(engine)
    sqls = {}
    qs.event.listen(engine, "before_cursor_execute", function(_, sql) sqls[#sqls + 1] = sql end)
  end)

  after_each(function()
    orm.close_all_sessions()
    s:close()
    engine:dispose()
    helpers.cleanup()
  end)

  it("writes association rows after both ends, once per pair", function()
    local lua, sql = Tag({name = "lua"}), Tag({name = "sql"})
    local p1 = Post({title = "p1", tags = {lua, sql}})
    assert.equal(p1, lua.posts[1])         -- the other side follows at once
    local p2 = Post({title = "p2"})
    table.insert(p2.tags, sql)
    table.insert(sql.posts, p2)            -- both sides changed: still one row
    s:add_all({p1, p2})
    s:commit()
    assert.equal(3, count(assoc))
    local last_entity_insert, first_assoc = 0, nil
    for i, q in ipairs(sqls) do
      if q:find("^INSERT INTO post ") or q:find("^INSERT INTO tag ") then last_entity_insert = i end
      if q:find("^INSERT INTO post_tag") and not first_assoc then first_assoc = i end
    end
    assert.truthy(first_assoc > last_entity_insert)
  end)

  it("loads lazily, by selectin and joined, and joins along it", function()
    s:add(Post({title = "p1", tags = {Tag({name = "b"}), Tag({name = "a"})}}))
    s:add(Post({title = "p2", tags = {Tag({name = "c"})}}))
    s:commit()
    s:close()
    local p1 = s:scalars(qs.select(Post):where(Post.title:eq("p1"))):one()
    assert.same({"a", "b"}, names(p1.tags))
    assert.same({"p1"}, names(p1.tags[1].posts))
    s:close()
    sqls = {}
    local posts = s:scalars(qs.select(Post):options(orm.selectinload(Post.tags)):order_by(Post.id)):all()
    assert.same({"c"}, names(posts[2].tags))
    assert.equal(2, n_sql("^SELECT"))
    s:close()
    sqls = {}
    posts = s:scalars(qs.select(Post):options(orm.joinedload(Post.tags)):order_by(Post.id)):unique():all()
    assert.same({"a", "b"}, names(posts[1].tags))
    assert.equal(1, n_sql("^SELECT"))
    local rows = s:execute(qs.select(Post.title, Tag.name):join(Post.tags):order_by(Post.title, Tag.name)):all()
    assert.equal(3, #rows)
    assert.equal("p2", rows[3][1])
  end)

  it("deletes association rows for removed members and deleted ends first", function()
    local a, b = Tag({name = "a"}), Tag({name = "b"})
    s:add(Post({title = "p", tags = {a, b}}))
    s:commit()
    local p = s:get(Post, 1)
    table.remove(p.tags, 1)
    s:commit()
    assert.equal(1, count(assoc))
    assert.equal(2, count(Tag))              -- the tag itself stays
    sqls = {}
    s:delete(s:get(Post, 1))
    s:commit()
    assert.equal(0, count(assoc))
    local del_assoc, del_post
    for i, q in ipairs(sqls) do
      if q:find("^DELETE FROM post_tag") then del_assoc = i end
      if q:find("^DELETE FROM post ") then del_post = i end
    end
    assert.truthy(del_assoc < del_post)
  end)

  it("names a bad secondary", function()
    local B2 = orm.declarative_base()
    local X = B2:model("X", {__tablename = "x", id = orm.mapped_column(qs.Integer, {primary_key = true}),
      ys = orm.relationship("Y", {secondary = "nope"})})
    B2:model("Y", {__tablename = "y", id = orm.mapped_column(qs.Integer, {primary_key = true})})
    raises(qs.exc.InvalidRequestError, function() X({}) end)
  end)
end)
