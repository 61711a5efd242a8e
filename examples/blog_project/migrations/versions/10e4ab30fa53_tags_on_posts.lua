-- tags on posts
local qs = require("quicksilver")

return {
  revision = "10e4ab30fa53",
  down_revision = "98a8f6b35eda",
  message = "tags on posts",
  upgrade = function(op)
    op.create_table("tag",
      qs.Column("id", qs.Integer, {primary_key = true}),
      qs.Column("name", qs.String(30), {nullable = false}),
      qs.UniqueConstraint("name")
    )
    op.create_table("post_tag",
      qs.Column("post_id", qs.Integer, qs.ForeignKey("post.id", {ondelete = "CASCADE"}), {primary_key = true}),
      qs.Column("tag_id", qs.Integer, qs.ForeignKey("tag.id", {ondelete = "CASCADE"}), {primary_key = true})
    )
  end,
  downgrade = function(op)
    op.drop_table("post_tag")
    op.drop_table("tag")
  end,
}
