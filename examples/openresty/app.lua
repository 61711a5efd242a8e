--- examples/openresty/app.lua: a small quicksilver application inside nginx
--- (docs/OPENRESTY.md; nginx.conf beside it). The code is what it would be
--- anywhere else: under nginx the engine talks to the server over cosockets
--- in request handlers, so a worker serves other requests while one waits.
local qs = require("quicksilver")
local orm = require("quicksilver.orm")
local qsngx = require("quicksilver.ngx")

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

--- GET /slow: a query that takes a second; the worker keeps serving others.
M.slow = qsngx.handler(function()
  engine:connect(function(conn) conn:exec_driver_sql(sleep_sql) end)
  ngx.say("done")
end)

return M
