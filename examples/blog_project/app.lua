--- app.lua: the blog application. The schema is the migrations' (run
--- `quicksilver migrate upgrade head` first); this program only uses the
--- models. The database is QS_DATABASE_URL's, as for the migrate command,
--- else env.lua's SQLite file: the same code runs on PostgreSQL and MariaDB
--- with only the URL changed.
local qs = require("quicksilver")
local orm = require("quicksilver.orm")
local models = require("models")
local Author, Post, Tag = models.Author, models.Post, models.Tag

local url = os.getenv("QS_DATABASE_URL") or "sqlite:///blog.db"
local engine = qs.create_engine(url)
local Session = orm.sessionmaker({bind = engine})

-- The first run writes the blog's posts; later runs find them there.
Session():begin(function(session)
  if session:scalars(qs.select(Author):where(Author.name:eq("ada"))):first() then return end
  local tags = {}
  for _, name in ipairs({"lua", "sql", "orm", "games"}) do tags[name] = Tag({name = name}) end
  local ada = Author({name = "ada", email = "ada@example.com", posts = {
    Post({title = "Models in a module", body = "require('models') everywhere.", tags = {tags.lua, tags.orm}}),
    Post({title = "Migrations, reviewed", body = "autogenerate, then read it.", tags = {tags.sql}}),
  }})
  local linus = Author({name = "linus", posts = {
    Post({title = "A tick per frame", body = "One transaction per tick.", tags = {tags.games, tags.sql, tags.lua}}),
  }})
  session:add_all({ada, linus})
end)   -- commits here (or rolls back on an error)

local session = Session()

-- Every post with its author and tags in three queries, whatever the number of
-- posts: the author joined in, the tags loaded by one IN query.
print("posts:")
local posts = session:scalars(qs.select(Post)
  :options(orm.joinedload(Post.author), orm.selectinload(Post.tags))
  :order_by(Post.id)):all()
for _, post in ipairs(posts) do print("  " .. post:summary()) end

-- Through the association table: the posts tagged "sql", newest first.
print("tagged sql:")
for _, post in ipairs(session:scalars(qs.select(Post):join(Post.tags):where(Tag.name:eq("sql"))
    :order_by(Post.id:desc())):all()) do
  print("  " .. post.title)
end

-- Counts per tag (an outer join: a tag with no post counts 0), and per author.
print("posts per tag:")
for _, row in ipairs(session:execute(qs.select(Tag.name, qs.func.count(Post.id))
    :outerjoin(Tag.posts):group_by(Tag.name):order_by(Tag.name)):all()) do
  print(string.format("  %-6s %d", row[1], row[2]))
end
local ada = session:scalars(qs.select(Author):where(Author.name:eq("ada"))
  :options(orm.selectinload(Author.posts):selectinload(Post.tags))):one()
print(string.format("ada wrote %d posts; the first is tagged %d times", #ada.posts, #ada.posts[1].tags))

session:close()
engine:dispose()
