--- models.lua: the blog's models, in a module of their own. The application
--- (app.lua) and the migrations environment (migrations/env.lua, for
--- `quicksilver migrate revision --autogenerate` and `check`) both require it.
--- An Author writes many Posts (one-to-many); a Post has many Tags and a Tag
--- many Posts (many-to-many, through the post_tag association table).
local qs = require("quicksilver")
local orm = require("quicksilver.orm")

local M = {}

local Base = orm.declarative_base()
M.Base = Base

-- The association table of the many-to-many: a plain Table, no class of its
-- own (it has no columns beyond the two keys). Deleting a post deletes its rows.
M.post_tag = qs.Table("post_tag", Base.metadata,
  qs.Column("post_id", qs.ForeignKey("post.id", {ondelete = "CASCADE"}), {primary_key = true}),
  qs.Column("tag_id", qs.ForeignKey("tag.id", {ondelete = "CASCADE"}), {primary_key = true}))

M.Author = Base:model("Author", {
  __tablename = "author",
  id = orm.mapped_column(qs.Integer, {primary_key = true}),
  name = orm.mapped_column(qs.String(50), {nullable = false, unique = true}),
  email = orm.mapped_column(qs.String(100)),
  posts = orm.relationship("Post", {back_populates = "author", cascade = "all, delete-orphan",
    order_by = "Post.id"}),
})

M.Post = Base:model("Post", {
  __tablename = "post",
  id = orm.mapped_column(qs.Integer, {primary_key = true}),
  title = orm.mapped_column(qs.String(200), {nullable = false}),
  body = orm.mapped_column(qs.Text, {nullable = false}),
  author_id = orm.mapped_column(qs.ForeignKey("author.id"), {nullable = false, index = true}),
  author = orm.relationship("Author", {back_populates = "posts"}),
  tags = orm.relationship("Tag", {secondary = M.post_tag, back_populates = "posts", order_by = "Tag.name"}),
})

M.Tag = Base:model("Tag", {
  __tablename = "tag",
  id = orm.mapped_column(qs.Integer, {primary_key = true}),
  name = orm.mapped_column(qs.String(30), {nullable = false, unique = true}),
  posts = orm.relationship("Post", {secondary = "post_tag", back_populates = "tags", order_by = "Post.id"}),
})

--- A one-line summary of a post: its title, author and tags (loaded however
--- the query asked: eagerly with loader options, or lazily here).
---@return string
function M.Post:summary()
  local names = {}
  for i, tag in ipairs(self.tags) do names[i] = tag.name end
  return string.format("%s, by %s [%s]", self.title, self.author.name, table.concat(names, ", "))
end

return M
