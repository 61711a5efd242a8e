-- qs.make_url: parsing, rendering, masking, errors.
local qs = require("quicksilver")
local helpers = require("spec.helpers")

describe("qs.make_url", function()
  it("parses every part", function()
    local u = qs.make_url("postgresql+libpq://scott:tiger@db.example:5433/app?sslmode=require&opt=a&opt=b")
    assert.equal("postgresql+libpq", u.drivername)
    assert.equal("postgresql", u:get_backend_name())
    assert.equal("libpq", u:get_driver_name())
    assert.equal("scott", u.username)
    assert.equal("tiger", u.password)
    assert.equal("db.example", u.host)
    assert.equal(5433, u.port)
    assert.equal("app", u.database)
    assert.equal("require", u.query.sslmode)
    assert.same({"a", "b"}, u.query.opt)
  end)

  it("reads the SQLite forms", function()
    assert.is_nil(qs.make_url("sqlite://").database)
    assert.equal(":memory:", qs.make_url("sqlite:///:memory:").database)
    assert.equal("rel.db", qs.make_url("sqlite:///rel.db").database)
    assert.equal("/abs/path.db", qs.make_url("sqlite:////abs/path.db").database)
    assert.equal("10", qs.make_url("sqlite:///a.db?timeout=10").query.timeout)
  end)

  it("percent-decodes user, password and database", function()
    local u = qs.make_url("mysql://us%40er:p%3Aw%2Fd@[::1]:3306/my%20db")
    assert.equal("us@er", u.username)
    assert.equal("p:w/d", u.password)
    assert.equal("::1", u.host)
    assert.equal("my db", u.database)
  end)

  it("masks the password in tostring and render_as_string", function()
    local u = qs.make_url("postgresql://scott:tiger@localhost/test")
    assert.equal("postgresql://scott:***@localhost/test", tostring(u))
    assert.equal("postgresql://scott:tiger@localhost/test", u:render_as_string(false))
  end)

  it("round-trips special characters when rendering unmasked", function()
    local u = qs.make_url("postgresql://a%40b:p%40ss%3A@h/d")
    assert.equal("p@ss:", qs.make_url(u:render_as_string(false)).password)
  end)

  it("is immutable; set and update_query return new URLs", function()
    local u = qs.make_url("postgresql://u@h/d")
    assert.has_error(function() u.host = "x" end)
    local v = u:set({host = "other", port = 1})
    assert.equal("h", u.host)
    assert.equal("other", v.host)
    assert.equal(1, v.port)
    local w = v:update_query({a = "1"})
    assert.equal("1", w.query.a)
    assert.is_nil(v.query.a)
    helpers.assert_raises_kind(qs.exc.ArgumentError, function() u:set({hots = "x"}) end)
    assert.same({host = "h", username = "u", database = "d"}, u:translate_connect_args())
  end)

  it("returns a URL object unchanged", function()
    local u = qs.make_url("sqlite://")
    assert.equal(u, qs.make_url(u))
  end)

  it("names the bad part of a malformed URL", function()
    local cases = {
      {"postgresql://u@h:abc/d", "invalid port 'abc'"},
      {"postgresql://u@h:70000/d", "invalid port"},
      {"no-scheme-here", "Could not parse URL from string"},
      {"://h/d", "no dialect name"},
      {"postgresql://u:p%zz@h/d", "percent%-escape in the password"},
    }
    for _, c in ipairs(cases) do
      local err = helpers.assert_raises_kind(qs.exc.ArgumentError, qs.make_url, c[1])
      assert.matches(c[2], err.message)
    end
    helpers.assert_raises_kind(qs.exc.ArgumentError, qs.make_url, 42)
  end)
end)
