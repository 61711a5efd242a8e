-- The errors and logs that teach, on every backend (issue 26): a connect
-- failure names where it tried, a Result closed by first()/one() raises
-- ResourceClosedError (streamed from the server too), echo = "debug" logs
-- the rows the ORM reads, qs.desc/qs.asc/qs.nulls_* order real rows.
local qs = require("quicksilver")
local orm = require("quicksilver.orm")
local helpers = require("spec.helpers")
local raises = helpers.assert_raises_kind

describe("errors that teach on " .. helpers.backend, function()
  local engine, Base, P

  before_each(function()
    engine = helpers.backend_engine()
    Base = orm.declarative_base()
    P = Base:model("P", {__tablename = "teach_p", id = orm.mapped_column(qs.Integer, {primary_key = true}),
      name = orm.mapped_column(qs.String(20))})
    Base.metadata:create_all(engine)
    engine:begin(function(c)
      c:execute(qs.insert(P.__table__), {{id = 1, name = "b"}, {id = 2, name = qs.null}, {id = 3, name = "a"}})
    end)
  end)

  after_each(function()
    orm.close_all_sessions()
    engine:begin(function(conn) engine.dialect.drop_everything(conn) end)
    engine:dispose()
    helpers.cleanup()
  end)

  it("a wrong password names host:port, on the native and the wire driver", function()
    if helpers.on("sqlite") then return end
    local u = qs.make_url(helpers.backend_url())
    for _, drv in ipairs({"", "+wire"}) do
      local url = string.format("%s%s://%s:wrong-password@%s:%d/%s", helpers.on("postgresql") and "postgresql"
        or "mysql", drv, "qs_no_such_user", u.host or "127.0.0.1", u.port, u.database)
      local e = qs.create_engine(url)
      local err = raises(qs.exc.DBAPIError, function() e:connect(function() end) end)
      e:dispose()
      local host = u.host or "127.0.0.1"
      assert.truthy(err.message:find(host, 1, true) and err.message:find(tostring(u.port), 1, true), err.message)
    end
  end)

  it("first() and one() close a streamed result; a later read raises ResourceClosedError", function()
    engine:connect(function(c)
      local r = c:execute(qs.select(P.__table__):order_by(P.id), nil, {yield_per = 1})
      assert.equal(1, r:first().id)
      raises(qs.exc.ResourceClosedError, function() return r:fetchone() end)
      r = c:execute(qs.select(P.__table__):where(P.id:eq(9)), nil, {stream_results = true})
      raises(qs.exc.NoResultFound, function() return r:one() end)
      raises(qs.exc.ResourceClosedError, function() return r:all() end)
      r = c:execute(qs.select(P.__table__))
      r:all()
      assert.equal(0, r:all().n)   -- exhausted, not closed
    end)
  end)

  it("echo = \"debug\" logs the rows of an ORM read", function()
    local lines = {}
    local e = qs.create_engine(engine.url:render_as_string(false), {echo = "debug", logger = function(l) lines[#lines + 1] = l end})
    local s = orm.Session(e)
    assert.equal(3, #s:scalars(qs.select(P):order_by(P.id)):all())
    local rows = {}
    for _, l in ipairs(lines) do
      if l:find("] Row (", 1, true) then rows[#rows + 1] = l:match("Row .*") end
    end
    assert.same({'Row (1, "b")', "Row (2, NULL)", 'Row (3, "a")'}, rows)
    s:close()
    e:dispose()
  end)

  it("qs.desc, qs.asc and qs.nulls_first/last order rows", function()
    local s = orm.Session(engine)
    local ids = s:scalars(qs.select(P.id):order_by(qs.desc(P.id))):all()
    assert.same({3, 2, 1}, {ids[1], ids[2], ids[3]})
    ids = s:scalars(qs.select(P.id):order_by(qs.asc(P.name), qs.asc(P.id))):all()
    assert.equal(3, #ids)
    if not helpers.on("mysql") then   -- MariaDB has no NULLS FIRST / LAST
      ids = s:scalars(qs.select(P.id):order_by(qs.nulls_first(qs.desc(P.name)))):all()
      assert.same({2, 1, 3}, {ids[1], ids[2], ids[3]})
      ids = s:scalars(qs.select(P.id):order_by(qs.nulls_last(qs.asc(P.name)))):all()
      assert.same({3, 1, 2}, {ids[1], ids[2], ids[3]})
    end
    s:close()
  end)
end)
