-- authors and posts
local qs = require("quicksilver")

return {
  revision = "98a8f6b35eda",
  down_revision = nil,
  message = "authors and posts",
  upgrade = function(op)
    op.create_table("author",
      qs.Column("id", qs.Integer, {primary_key = true}),
      qs.Column("name", qs.String(50), {nullable = false}),
      qs.Column("email", qs.String(100)),
      qs.UniqueConstraint("name")
    )
    op.create_table("post",
      qs.Column("id", qs.Integer, {primary_key = true}),
      qs.Column("title", qs.String(200), {nullable = false}),
      qs.Column("body", qs.Text, {nullable = false}),
      qs.Column("author_id", qs.Integer, qs.ForeignKey("author.id"), {nullable = false})
    )
    op.create_index("ix_post_author_id", "post", {"author_id"})
  end,
  downgrade = function(op)
    op.drop_table("post")
    op.drop_table("author")
  end,
}
