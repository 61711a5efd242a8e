-- Converters that re-enter the connection on a server backend (issue 21,
-- item 1): the driver-specific side of spec/engine/reentrancy_spec.lua.
-- A bind converter running SQL on the connection must not disturb the
-- statement whose values it converts; a result converter may run SQL on
-- it (or be refused with InvalidRequestError where the driver is still
-- reading the result from the server), never read the wrong rows; closing
-- the result or the connection from a converter is refused.
local qs = require("quicksilver")
local helpers = require("spec.helpers")
local raises = helpers.assert_raises_kind

describe("re-entrant converters on " .. helpers.backend, function()
  local engine, md, t, hook

  local function once()
    local h = hook
    hook = nil
    if h then h() end
  end

  before_each(function()
    engine = helpers.backend_engine()
    md = qs.MetaData()
    local Hooked = qs.TypeDecorator(qs.String(40), {
      process_bind_param = function(v) once() return v end,
      process_result_value = function(v) once() return v end,
    })
    t = qs.Table("reent", md, qs.Column("id", qs.Integer, {primary_key = true}),
      qs.Column("a", Hooked), qs.Column("b", Hooked))
    md:create_all(engine)
    engine:begin(function(conn)
      local rows = {}
      for i = 1, 50 do rows[i] = {id = i, a = "a" .. i, b = "b" .. i} end
      conn:execute(qs.insert(t), rows)
    end)
    hook = nil
  end)

  after_each(function()
    hook = nil
    md:drop_all(engine)
    engine:dispose()
    helpers.cleanup()
  end)

  it("a bind converter running SQL with many values leaves the outer statement's values alone", function()
    engine:connect(function(conn)
      local list = {}
      for i = 1, 30 do list[i] = "b" .. (100 + i) end
      list[31] = "b7"
      local inner = {}
      for i = 1, 30 do inner[i] = i end
      hook = function()
        assert.equal(30, #conn:execute(qs.select(t.c.id):where(t.c.id:in_(inner))):all())
      end
      local got = conn:execute(qs.select(t.c.id):where(t.c.a:eq("a7")):where(t.c.b:in_(list))):all()
      assert.equal(1, #got)
      assert.equal(7, got[1].id)
    end)
  end)

  it("a result converter running SQL does not change the rows read", function()
    engine:connect(function(conn)
      for _, opts in ipairs({{}, {stream_results = true, yield_per = 10}}) do
        hook = function() conn:execute(qs.select(t.c.a):where(t.c.id:eq(40))):all() end
        local ok, rows = pcall(function()
          return conn:execute(qs.select(t.c.id, t.c.a, t.c.b):order_by(t.c.id), nil, opts):all()
        end)
        if ok then
          assert.equal(50, #rows)
          for i, r in ipairs(rows) do
            assert.equal(i, r.id)
            assert.equal("a" .. i, r.a)
            assert.equal("b" .. i, r.b)
          end
        else
          -- a driver still reading the result may refuse, clearly
          assert.is_true(qs.exc.is_error(rows, qs.exc.InvalidRequestError), tostring(rows))
          conn:rollback()
        end
      end
    end)
  end)

  it("a result converter may not close the result or the connection", function()
    engine:connect(function(conn)
      local r = conn:execute(qs.select(t.c.a, t.c.b), nil, {stream_results = true, yield_per = 5})
      hook = function() r:close() end
      raises(qs.exc.InvalidRequestError, r.all, r)
      hook = function() conn:close() end
      raises(qs.exc.InvalidRequestError, function() conn:execute(qs.select(t.c.a, t.c.b)):all() end)
      assert.is_false(conn.closed)
      assert.equal(50, conn:execute(qs.select(qs.func.count()):select_from(t)):scalar())
    end)
  end)
end)
