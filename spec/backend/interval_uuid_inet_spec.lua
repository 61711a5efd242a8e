-- Interval (seconds both ways: negative, fractional, over a day; PostgreSQL
-- months as 30 days and years as 365), Uuid (a lower-case 36-character
-- string) and, on PostgreSQL, INET / CIDR / MACADDR (strings), written,
-- read back and reflected on every backend.
local qs = require("quicksilver")
local helpers = require("spec.helpers")

describe("Interval, Uuid and network addresses on " .. helpers.backend, function()
  local engine

  before_each(function() engine = helpers.backend_engine() end)
  after_each(function()
    engine:dispose()
    helpers.cleanup()
  end)

  it("round-trips intervals as seconds", function()
    local md = qs.MetaData()
    local t = qs.Table("iv", md, qs.Column("id", qs.Integer, {primary_key = true, autoincrement = false}),
      qs.Column("d", qs.Interval))
    md:create_all(engine)
    local values = {0, -1.5, 90061.25, 86400 * 400, -0.000001, 2592000, 12.000001}
    engine:begin(function(c)
      for i, v in ipairs(values) do c:execute(qs.insert(t), {id = i, d = v}) end
    end)
    engine:connect(function(c)
      for i, v in ipairs(values) do
        local got = c:execute(qs.select(t.c.d):where(t.c.id:eq(i))):scalar()
        assert.truthy(math.abs(got - v) < 1e-9, tostring(v) .. " came back as " .. tostring(got))
      end
      -- compared and summed in the database as intervals (or seconds)
      assert.equal(3, c:execute(qs.select(qs.func.count()):select_from(t):where(t.c.d:gt(86400))):scalar())
    end)
    local col = qs.inspect(engine):get_columns("iv")[2]
    if helpers.on("postgresql") then
      assert.equal("Interval", col.type.name)
    else
      assert.equal("Float", col.type.name)   -- seconds in a floating-point column
    end
  end)

  it("reads PostgreSQL's calendar intervals with 30-day months and 365-day years", function()
    if not helpers.on("postgresql") then return pending("PostgreSQL's INTERVAL text") end
    local cases = {["1 mon"] = 2592000, ["1 year 2 mons 3 days"] = 36979200, ["-1 day 02:03:04.5"] = -79015.5,
      ["-00:00:01.25"] = -1.25, ["-1 mon -2 days"] = -2764800, ["00:00:00.000001"] = 0.000001}
    engine:connect(function(c)
      for text, secs in pairs(cases) do
        local got = c:execute(qs.select(qs.cast(qs.literal(text), qs.Interval))):scalar()
        assert.truthy(math.abs(got - secs) < 1e-9, text .. " came back as " .. tostring(got))
      end
    end)
  end)

  it("round-trips Uuid as a lower-case string (native UUID on PostgreSQL)", function()
    local md = qs.MetaData()
    local t = qs.Table("uu", md, qs.Column("id", qs.Uuid, {primary_key = true}), qs.Column("n", qs.Integer))
    md:create_all(engine)
    local u = "8A3F6B8E-58A4-4D0B-9A59-53E2B5B0C7A1"
    engine:begin(function(c) c:execute(qs.insert(t), {id = u, n = 1}) end)
    engine:connect(function(c)
      assert.equal(u:lower(), c:execute(qs.select(t.c.id)):scalar())
      assert.equal(1, c:execute(qs.select(t.c.n):where(t.c.id:eq(u))):scalar())
    end)
    local col = qs.inspect(engine):get_columns("uu")[1]
    if helpers.on("postgresql") then
      assert.equal("Uuid", col.type.name)
    else
      assert.equal("String", col.type.name)
      assert.equal(36, col.type.length)
    end
  end)

  it("round-trips and reflects INET, CIDR and MACADDR on PostgreSQL; refuses their DDL elsewhere", function()
    local pg = qs.postgresql
    local md = qs.MetaData()
    local t = qs.Table("nets", md, qs.Column("id", qs.Integer, {primary_key = true, autoincrement = false}),
      qs.Column("a", pg.INET), qs.Column("n", pg.CIDR), qs.Column("m", pg.MACADDR))
    engine:connect(function() end)
    if not helpers.on("postgresql") then
      local err = helpers.assert_raises_kind(qs.exc.CompileError, function() md:create_all(engine) end)
      assert.truthy(tostring(err):find("INET", 1, true), tostring(err))
      return
    end
    md:create_all(engine)
    engine:begin(function(c)
      c:execute(qs.insert(t), {id = 1, a = "192.168.0.1/24", n = "10.0.0.0/8", m = "08:00:2b:01:02:03"})
      c:execute(qs.insert(t), {id = 2, a = "::1", n = "2001:db8::/32", m = "08-00-2B-01-02-04"})
    end)
    engine:connect(function(c)
      local r = c:execute(qs.select(t):where(t.c.id:eq(1))):one()
      assert.equal("192.168.0.1/24", r.a)
      assert.equal("10.0.0.0/8", r.n)
      assert.equal("08:00:2b:01:02:03", r.m)
      r = c:execute(qs.select(t):where(t.c.a:eq("::1"))):one()
      assert.equal(2, r.id)
      assert.equal("2001:db8::/32", r.n)
      assert.equal("08:00:2b:01:02:04", r.m)
      -- the server's operators on them: contained in
      assert.equal(1, c:execute(qs.select(t.c.id):where(qs.text("a << '192.168.0.0/16'::inet"))):scalar())
    end)
    helpers.assert_raises_kind(qs.exc.DataError, function()
      engine:begin(function(c) c:execute(qs.insert(t), {id = 3, a = "not an address"}) end)
    end)
    local cols = qs.inspect(engine):get_columns("nets")
    assert.equal(pg.INET, getmetatable(cols[2].type))
    assert.equal(pg.CIDR, getmetatable(cols[3].type))
    assert.equal(pg.MACADDR, getmetatable(cols[4].type))
  end)
end)
