-- Errors of loader options name the option as the program wrote it:
-- orm.noload and orm.contains_eager (not "orm.noloadload" or
-- "orm.contains_eagerload", which the messages said before; found while
-- writing docs/reference/ORM.md). No database is needed.
local qs = require("quicksilver")
local orm = require("quicksilver.orm")

describe("loader option errors", function()
  local User, Post, Comment

  setup(function()
    local Base = orm.declarative_base()
    User = Base:model("User", {__tablename = "loe_users",
      id = orm.mapped_column(qs.Integer, {primary_key = true}),
      posts = orm.relationship("Post")})
    Post = Base:model("Post", {__tablename = "loe_posts",
      id = orm.mapped_column(qs.Integer, {primary_key = true}),
      user_id = orm.mapped_column(qs.ForeignKey("loe_users.id")),
      author = orm.relationship("User"),
      comments = orm.relationship("Comment")})
    Comment = Base:model("Comment", {__tablename = "loe_comments",
      id = orm.mapped_column(qs.Integer, {primary_key = true}),
      post_id = orm.mapped_column(qs.ForeignKey("loe_posts.id"))})
  end)

  local function message(fn)
    local ok, err = pcall(fn)
    assert.is_false(ok)
    return tostring(err)
  end

  it("names orm.noload when a path step does not continue", function()
    local msg = message(function() return orm.selectinload(User.posts):raiseload(Post.author):noload(Post.comments) end)
    assert.truthy(msg:find("orm.noload: Post.comments does not continue from Post.author", 1, true), msg)
  end)

  it("names orm.contains_eager when a path step does not continue", function()
    local msg = message(function() return orm.joinedload(User.posts):contains_eager(User.posts) end)
    assert.truthy(msg:find("orm.contains_eager: User.posts does not continue from User.posts", 1, true), msg)
  end)

  it("names orm.noload and orm.contains_eager when given something else than a relationship", function()
    local msg = message(function() return orm.noload(Post.id) end)
    assert.truthy(msg:find("orm.noload: expected a relationship attribute", 1, true), msg)
    msg = message(function() return orm.contains_eager("posts") end)
    assert.truthy(msg:find("orm.contains_eager: expected a relationship attribute", 1, true), msg)
  end)

  it("keeps the other options' names", function()
    local msg = message(function() return orm.selectinload(User.posts):joinedload(User.posts) end)
    assert.truthy(msg:find("orm.joinedload: User.posts does not continue from User.posts", 1, true), msg)
  end)
end)
