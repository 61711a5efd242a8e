--- examples/openresty/app.lua: a small quicksilver application inside nginx
--- (docs/OPENRESTY.md; nginx.conf beside it). The code is what it would be
--- anywhere else: under nginx the engine talks to the server over cosockets
--- in request handlers, so a worker serves other requests while one waits.
--- /posts uses the blog's models (examples/blog_project/models.lua, on
--- nginx.conf's lua_package_path): the models module is the project's, and
--- nginx is one more place that requires it.
local qs = require("quicksilver")
local orm = require("quicksilver.orm")
local qsngx = require("quicksilver.ngx")
local blog = require("models")

local M = {}

local Base = orm.declarative_base()
local Note = Base:model("Note", {
  __tablename = "example_notes",
  id = orm.mapped_column(qs.Integer, {primary_key = true}),
  body = orm.mapped_column(qs.String(200), {nullable = false}),
})

local engine, Session, sleep_sql

--- init_by_lua: the engine (made once, in the master; every worker gets its
--- own pool of connections) and the schema. Through qsngx.run, a failure
--- (the server is down, say) stops nginx with the error's whole text.
function M.init(url)
  qsngx.run(function()
    assert(url, "set QS_DATABASE_URL (and name it in an `env` directive)")
    engine = qs.create_engine(url, {pool_size = 10, max_overflow = 5, pool_timeout = 5})
    Base.metadata:create_all(engine)
    -- the blog's tables: a project with migrations runs `quicksilver migrate
    -- upgrade head` before starting nginx instead; create_all (which leaves
    -- existing tables alone) keeps this example self-contained
    blog.Base.metadata:create_all(engine)
    Session = orm.sessionmaker({bind = engine})
    sleep_sql = url:find("^postgres") and "SELECT pg_sleep(1)" or "SELECT SLEEP(1)"
  end)
end

--- GET /notes?add=text: adds a note when asked, then lists them all.
--- qsngx.handler: an error is logged with its class, message and SQL, and
--- the client gets a 500.
M.notes = qsngx.handler(function()
  local session = Session()
  local body = ngx.var.arg_add
  if body then
    session:add(Note({body = ngx.unescape_uri(body)}))
    session:commit()
  end
  for _, note in ipairs(session:scalars(qs.select(Note):order_by(Note.id)):all()) do
    ngx.say(note.id, " ", note.body)
  end
  session:close()
end)

--- GET /posts?add=title&tag=name: adds a post (by "nginx", with that tag)
--- when asked, then lists every post with its author and tags: three
--- queries whatever the number of posts (the author joined in, the tags by
--- one IN query).
M.posts = qsngx.handler(function()
  local Author, Post, Tag = blog.Author, blog.Post, blog.Tag
  local session = Session()
  local title = ngx.var.arg_add
  if title then
    session:begin(function()
      local author = session:scalars(qs.select(Author):where(Author.name:eq("nginx"))):first()
        or Author({name = "nginx"})
      local name = ngx.var.arg_tag or "web"
      local tag = session:scalars(qs.select(Tag):where(Tag.name:eq(name))):first() or Tag({name = name})
      session:add(Post({title = ngx.unescape_uri(title), body = "posted through nginx", author = author,
        tags = {tag}}))
    end)
  end
  local posts = session:scalars(qs.select(Post)
    :options(orm.joinedload(Post.author), orm.selectinload(Post.tags)):order_by(Post.id)):all()
  for _, post in ipairs(posts) do ngx.say(post:summary()) end
  session:close()
end)

--- GET /slow: a query that takes a second; the worker keeps serving others.
M.slow = qsngx.handler(function()
  engine:connect(function(conn) conn:exec_driver_sql(sleep_sql) end)
  ngx.say("done")
end)

return M
