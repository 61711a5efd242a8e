-- qs.make_url: parsing, rendering, masking, immutability, errors.
local url = require("quicksilver.engine.url")
local exc = require("quicksilver.exc")

local make_url = url.make_url

-- Asserts fn(...) raises a qs.exc error of class cls; returns the error.
local function raises(cls, fn, ...)
  local ok, err = pcall(fn, ...)
  assert.is_false(ok)
  assert.is_true(exc.is_error(err), "not a qs.exc error: " .. tostring(err))
  assert.is_true(err:is_a(cls), tostring(err))
  return err
end

describe("make_url parsing", function()
  local u = make_url("postgresql+libpq://scott:tiger@db.example:5433/app?sslmode=require&opt=a&opt=b")

  it("reads the driver name and its two halves", function()
    assert.equal("postgresql+libpq", u.drivername)
    assert.equal("postgresql", u:get_backend_name())
    assert.equal("libpq", u:get_driver_name())
  end)

  it("reads the credentials", function()
    assert.equal("scott", u.username)
    assert.equal("tiger", u.password)
  end)

  it("reads host, port and database", function()
    assert.equal("db.example", u.host)
    assert.equal(5433, u.port)
    assert.equal("app", u.database)
  end)

  it("makes the port an integer", function()
    if math.type then assert.equal("integer", math.type(u.port)) end
    assert.equal(u.port, math.floor(u.port))
  end)

  it("reads the query, repeated keys as lists", function()
    assert.same({sslmode = "require", opt = {"a", "b"}}, u.query)
  end)

  it("has no driver name without a '+'", function()
    local v = make_url("mysql://h/d")
    assert.equal("mysql", v:get_backend_name())
    assert.is_nil(v:get_driver_name())
  end)

  it("leaves out what is not there", function()
    local v = make_url("postgresql://h")
    assert.equal("h", v.host)
    assert.is_nil(v.username)
    assert.is_nil(v.password)
    assert.is_nil(v.port)
    assert.is_nil(v.database)
    assert.same({}, v.query)
  end)

  it("reads a user without a password", function()
    local v = make_url("postgresql://scott@h/d")
    assert.equal("scott", v.username)
    assert.is_nil(v.password)
  end)

  it("keeps an empty password apart from no password", function()
    assert.equal("", make_url("postgresql://u:@h/d").password)
  end)

  it("reads a password without a user name", function()
    local v = make_url("postgresql://:pw@h/d")
    assert.equal("", v.username)
    assert.equal("pw", v.password)
  end)

  it("takes an empty port as no port", function()
    assert.is_nil(make_url("postgresql://h:/d").port)
  end)

  it("reads an IPv6 host with and without a port", function()
    local v = make_url("postgresql://u@[::1]:5432/d")
    assert.equal("::1", v.host)
    assert.equal(5432, v.port)
    assert.equal("fe80::1", make_url("postgresql://[fe80::1]/d").host)
  end)

  it("reads a query key without a value as an empty string", function()
    assert.equal("", make_url("sqlite:///a.db?uri").query.uri)
  end)

  it("returns a URL object unchanged", function()
    local v = make_url("sqlite://")
    assert.equal(v, make_url(v))
    assert.is_true(url.is_url(v))
    assert.is_false(url.is_url("sqlite://"))
  end)
end)

describe("make_url SQLite forms", function()
  it("reads sqlite:// as no database (memory)", function()
    local v = make_url("sqlite://")
    assert.is_nil(v.database)
    assert.is_nil(v.host)
  end)

  it("reads sqlite:///:memory:", function()
    assert.equal(":memory:", make_url("sqlite:///:memory:").database)
  end)

  it("reads a relative path", function()
    assert.equal("rel.db", make_url("sqlite:///rel.db").database)
    assert.equal("dir/rel.db", make_url("sqlite:///dir/rel.db").database)
  end)

  it("reads an absolute path", function()
    assert.equal("/abs/path.db", make_url("sqlite:////abs/path.db").database)
  end)

  it("reads a query after the path", function()
    local v = make_url("sqlite:///a.db?timeout=10")
    assert.equal("a.db", v.database)
    assert.equal("10", v.query.timeout)
  end)

  it("keeps an '@' in a path out of the credentials", function()
    local v = make_url("sqlite:////tmp/me@home.db")
    assert.equal("/tmp/me@home.db", v.database)
    assert.is_nil(v.username)
  end)
end)

describe("make_url percent-decoding", function()
  it("decodes user name and password", function()
    local v = make_url("mysql://us%40er:p%3Aw%2Fd%25@h/d")
    assert.equal("us@er", v.username)
    assert.equal("p:w/d%", v.password)
  end)

  it("decodes host and database", function()
    local v = make_url("mysql://my%2Dhost/my%20db")
    assert.equal("my-host", v.host)
    assert.equal("my db", v.database)
  end)

  it("decodes query keys and values, '+' as a space", function()
    local v = make_url("postgresql://h/d?app%20name=a%26b+c")
    assert.equal("a&b c", v.query["app name"])
  end)

  it("keeps a '+' in a password", function()
    assert.equal("a+b", make_url("postgresql://u:a+b@h/d").password)
  end)
end)

describe("make_url with unencoded characters", function()
  it("reads an '@' in the password", function()
    local v = make_url("postgresql://u:p@ss@h:5432/d")
    assert.equal("p@ss", v.password)
    assert.equal("h", v.host)
    assert.equal(5432, v.port)
  end)

  it("reads a '/' in the password", function()
    local v = make_url("postgresql://u:pa/ss@h/d")
    assert.equal("u", v.username)
    assert.equal("pa/ss", v.password)
    assert.equal("h", v.host)
    assert.equal("d", v.database)
  end)

  it("reads a '?' in the password", function()
    local v = make_url("postgresql://u:pa?ss@h/d")
    assert.equal("pa?ss", v.password)
    assert.equal("d", v.database)
    assert.same({}, v.query)
  end)

  it("keeps an '@' in the query out of the credentials", function()
    local v = make_url("postgresql://h:5432/d?application_name=me@box")
    assert.is_nil(v.username)
    assert.equal("h", v.host)
    assert.equal("me@box", v.query.application_name)
  end)

  it("keeps an '@' in the database out of the credentials", function()
    local v = make_url("postgresql://u:pw@h:5432/d@x")
    assert.equal("pw", v.password)
    assert.equal("d@x", v.database)
  end)
end)

describe("URL rendering", function()
  it("masks the password in tostring", function()
    assert.equal("postgresql://scott:***@localhost/test",
      tostring(make_url("postgresql://scott:tiger@localhost/test")))
  end)

  it("masks the password in render_as_string by default", function()
    assert.equal("postgresql://scott:***@localhost/test",
      make_url("postgresql://scott:tiger@localhost/test"):render_as_string())
  end)

  it("shows the password with render_as_string(false)", function()
    assert.equal("postgresql://scott:tiger@localhost:5432/test",
      make_url("postgresql://scott:tiger@localhost:5432/test"):render_as_string(false))
  end)

  it("masks password-like query values unless asked not to", function()
    local v = make_url("mysql://h/d?password=hunter2&charset=utf8")
    assert.equal("mysql://h/d?charset=utf8&password=***", tostring(v))
    assert.equal("mysql://h/d?charset=utf8&password=hunter2", v:render_as_string(false))
  end)

  it("renders the SQLite forms back", function()
    for _, s in ipairs({"sqlite://", "sqlite:///:memory:", "sqlite:///rel.db",
        "sqlite:////abs/path.db", "sqlite:///a.db?timeout=10"}) do
      assert.equal(s, tostring(make_url(s)))
    end
  end)

  it("renders repeated query keys sorted, each value once", function()
    assert.equal("pg://h?a=1&b=2&b=3", tostring(make_url("pg://h?b=2&a=1&b=3")))
  end)

  it("renders a password without a user name", function()
    assert.equal("pg://:***@h", tostring(make_url("pg://:pw@h")))
  end)

  it("renders an IPv6 host in brackets", function()
    assert.equal("pg://[::1]:5432/d", tostring(make_url("pg://[::1]:5432/d")))
  end)

  it("round-trips special characters in every part", function()
    local v = url.create({drivername = "postgresql", username = "a@b:c", password = "p@ss:/?#%& +",
      host = "h st", database = "my db?x", query = {["k y"] = {"v&1", "a+b=c"}}})
    local w = make_url(v:render_as_string(false))
    assert.equal("a@b:c", w.username)
    assert.equal("p@ss:/?#%& +", w.password)
    assert.equal("h st", w.host)
    assert.equal("my db?x", w.database)
    assert.same({["k y"] = {"v&1", "a+b=c"}}, w.query)
  end)

  it("round-trips an IPv6 zone", function()
    local v = url.create({drivername = "pg", host = "fe80::1%eth0"})
    assert.equal("fe80::1%eth0", make_url(v:render_as_string(false)).host)
  end)

  it("compares URLs by their parts", function()
    assert.is_true(make_url("pg://u:p@h/d?a=1&b=2") == make_url("pg://u:p@h/d?b=2&a=1"))
    assert.is_false(make_url("pg://u:p@h/d") == make_url("pg://u:q@h/d"))
  end)
end)

describe("URL immutability", function()
  it("refuses field assignment", function()
    local v = make_url("postgresql://u@h/d")
    raises(exc.InvalidRequestError, function() v.host = "x" end)
    assert.equal("h", v.host)
  end)

  it("hands out a copy of the query", function()
    local v = make_url("postgresql://h/d?a=1&b=x&b=y")
    v.query.a = "changed"
    v.query.b[1] = "changed"
    assert.equal("1", v.query.a)
    assert.same({"x", "y"}, v.query.b)
  end)
end)

describe("URL:set", function()
  local u = make_url("postgresql://u:pw@h/d?a=1")

  it("returns a new URL and leaves the old one alone", function()
    local v = u:set({host = "other", port = 1})
    assert.equal("other", v.host)
    assert.equal(1, v.port)
    assert.equal("h", u.host)
    assert.is_nil(u.port)
    assert.equal("pw", v.password)
    assert.equal("1", v.query.a)
  end)

  it("removes a field set to false", function()
    local v = u:set({password = false})
    assert.is_nil(v.password)
    assert.equal("postgresql://u@h/d?a=1", tostring(v))
  end)

  it("replaces the whole query", function()
    assert.same({b = "2"}, u:set({query = {b = 2}}).query)
  end)

  it("rejects an unknown field", function()
    local err = raises(exc.ArgumentError, u.set, u, {hots = "x"})
    assert.matches("unknown URL field 'hots'", err.message)
  end)

  it("rejects a port that is not an integer in range", function()
    raises(exc.ArgumentError, u.set, u, {port = "5432"})
    raises(exc.ArgumentError, u.set, u, {port = 1.5})
    raises(exc.ArgumentError, u.set, u, {port = 70000})
  end)

  it("rejects a bad drivername and its removal", function()
    raises(exc.ArgumentError, u.set, u, {drivername = "no way"})
    raises(exc.ArgumentError, u.set, u, {drivername = "pg+"})
    raises(exc.ArgumentError, u.set, u, {drivername = false})
  end)

  it("rejects a non-string text field without quoting it", function()
    local err = raises(exc.ArgumentError, u.set, u, {password = {"s3cr3t"}})
    assert.matches("password must be a string, got table", err.message)
  end)

  it("rejects a non-table argument", function()
    raises(exc.ArgumentError, u.set, u, "host=x")
  end)
end)

describe("URL query updates", function()
  local u = make_url("postgresql://h/d?a=1&b=x")

  it("update_query adds and replaces keys in a new URL", function()
    local v = u:update_query({a = "2", c = 3})
    assert.same({a = "2", b = "x", c = "3"}, v.query)
    assert.same({a = "1", b = "x"}, u.query)
  end)

  it("update_query with append keeps the old values", function()
    assert.same({"x", "y", "z"}, u:update_query({b = {"y", "z"}}, true).query.b)
    assert.same({"1", "2"}, u:update_query({a = "2"}, true).query.a)
  end)

  it("update_query rejects values that are not strings", function()
    raises(exc.ArgumentError, u.update_query, u, {a = true})
    raises(exc.ArgumentError, u.update_query, u, {a = {{}}})
    raises(exc.ArgumentError, u.update_query, u, {[1] = "x"})
    raises(exc.ArgumentError, u.update_query, u, "a=1")
  end)

  it("update_query_string reads a query string", function()
    assert.same({a = "9", b = "x", c = "d e"}, u:update_query_string("?a=9&c=d%20e").query)
  end)

  it("update_query_string names a bad escape", function()
    local err = raises(exc.ArgumentError, u.update_query_string, u, "a=%zz")
    assert.matches("percent%-escape", err.message)
  end)

  it("difference_update_query drops keys", function()
    assert.same({b = "x"}, u:difference_update_query({"a", "nope"}).query)
  end)
end)

describe("URL:translate_connect_args", function()
  it("returns the set fields as a plain table", function()
    local args = make_url("postgresql://u:pw@h:5432/d?x=1"):translate_connect_args()
    assert.same({host = "h", port = 5432, username = "u", password = "pw", database = "d"}, args)
    assert.is_nil(getmetatable(args))
  end)

  it("leaves out fields that are not set", function()
    assert.same({host = "h"}, make_url("postgresql://h"):translate_connect_args())
  end)

  it("renames fields for a driver", function()
    local args = make_url("mysql://u@h/d"):translate_connect_args({username = "user", database = "db"})
    assert.same({user = "u", host = "h", db = "d"}, args)
  end)

  it("rejects renaming a field it does not have", function()
    local v = make_url("mysql://h")
    raises(exc.ArgumentError, v.translate_connect_args, v, {drivername = "x"})
  end)
end)

describe("url.create", function()
  it("builds a URL from its parts", function()
    local v = url.create({drivername = "postgresql+libpq", username = "u", host = "h", port = 5432,
      query = {a = "1"}})
    assert.equal("postgresql+libpq://u@h:5432?a=1", tostring(v))
    assert.equal("libpq", v:get_driver_name())
  end)

  it("requires a drivername", function()
    local err = raises(exc.ArgumentError, url.create, {host = "h"})
    assert.matches("drivername is required", err.message)
  end)

  it("rejects something that is not a table", function()
    raises(exc.ArgumentError, url.create, "postgresql://h")
  end)
end)

describe("make_url errors", function()
  it("names an invalid port", function()
    local err = raises(exc.ArgumentError, make_url, "postgresql://u@h:abc/d")
    assert.matches("Could not parse URL: invalid port 'abc'", err.message, 1, true)
  end)

  it("rejects a port out of range", function()
    local err = raises(exc.ArgumentError, make_url, "postgresql://h:70000/d")
    assert.matches("invalid port '70000'", err.message, 1, true)
  end)

  it("rejects a negative port", function()
    raises(exc.ArgumentError, make_url, "postgresql://h:-1/d")
  end)

  it("rejects a string without '://'", function()
    local err = raises(exc.ArgumentError, make_url, "foo")
    assert.equal("Could not parse URL from string 'foo'", err.message)
  end)

  it("rejects an empty dialect name", function()
    local err = raises(exc.ArgumentError, make_url, "://h/d")
    assert.matches("no dialect name", err.message)
    raises(exc.ArgumentError, make_url, "+libpq://h/d")
  end)

  it("rejects an empty driver name", function()
    local err = raises(exc.ArgumentError, make_url, "postgresql+://h/d")
    assert.matches("no driver name", err.message)
  end)

  it("rejects a dialect name with odd characters", function()
    local err = raises(exc.ArgumentError, make_url, "post gres://h/d")
    assert.matches("invalid dialect name 'post gres'", err.message, 1, true)
  end)

  it("names the part with a bad percent-escape", function()
    for part, s in pairs({
      ["user name"] = "pg://u%zz@h/d", password = "pg://u:p%zz@h/d", host = "pg://h%2/d",
      database = "pg://h/d%", query = "pg://h/d?a=%g1",
    }) do
      local err = raises(exc.ArgumentError, make_url, s)
      assert.matches("bad percent-escape in the " .. part, err.message, 1, true)
    end
  end)

  it("rejects an unclosed IPv6 bracket", function()
    local err = raises(exc.ArgumentError, make_url, "pg://[::1/d")
    assert.matches("unclosed '['", err.message, 1, true)
  end)

  it("rejects text after an IPv6 host", function()
    raises(exc.ArgumentError, make_url, "pg://[::1]x/d")
  end)

  it("rejects what is not a string or URL", function()
    local err = raises(exc.ArgumentError, make_url, 42)
    assert.matches("got number", err.message)
    raises(exc.ArgumentError, make_url, nil)
  end)

  it("does not validate the dialect name", function()
    assert.equal("nosuchdb", make_url("nosuchdb://h"):get_backend_name())
  end)
end)

describe("passwords stay out of messages", function()
  local CANARY = "Zq7Canary"

  it("no parse error quotes the password", function()
    local bad = {
      "postgresql://u:" .. CANARY .. "@h:abc/d",             -- bad port
      "postgresql://u:" .. CANARY .. "@h:99999/d",           -- port out of range
      "postgresql://u:" .. CANARY .. "%zz@h/d",              -- bad escape in the password
      "postgresql://u:" .. CANARY .. "@h/d%zz",              -- bad escape in the database
      "postgresql://u:" .. CANARY .. "@h/d?a=%zz",           -- bad escape in the query
      "postgresql://u%zz:" .. CANARY .. "@h/d",              -- bad escape in the user name
      "postgresql://u:" .. CANARY .. "@[::1/d",              -- unclosed IPv6
      "postgresql://u:" .. CANARY .. "@[::1]x/d",            -- junk after IPv6
      "u:" .. CANARY .. "@h/d",                              -- no scheme
      "://u:" .. CANARY .. "@h/d",                           -- no dialect name
      "postgresql+://u:" .. CANARY .. "@h/d",                -- no driver name
      "post gres://u:" .. CANARY .. "@h/d",                  -- bad dialect name
      "user:" .. CANARY .. "@host://x",                      -- credentials before the scheme
      "postgresql://u:" .. CANARY .. "/d",                   -- "@host" forgotten
      "postgresql://u:" .. CANARY .. "",                     -- "@host" forgotten, no database
      "postgresql://u:" .. CANARY .. "@x@h:abc/d",           -- '@' in the password
      "postgresql://u:Zq7/Canary@h:abc/d",                   -- '/' in the password
      "postgresql://u:Zq7?Canary@h:abc/d",                   -- '?' in the password
      "postgresql://u:Zq7:Canary@h:abc/d",                   -- ':' in the password
      "postgresql://h/d?password=" .. CANARY .. "&a=%zz",    -- password in the query
    }
    for _, s in ipairs(bad) do
      local err = raises(exc.ArgumentError, make_url, s)
      for _, text in ipairs({err.message, tostring(err)}) do
        assert.is_nil(text:find("Zq7", 1, true), "leaked in: " .. text)
        assert.is_nil(text:find("Canary", 1, true), "leaked in: " .. text)
      end
    end
  end)

  it("the 'forgotten @host' port error says why the port is hidden", function()
    local err = raises(exc.ArgumentError, make_url, "postgresql://u:" .. CANARY .. "/d")
    assert.matches("credentials go before '@host'", err.message, 1, true)
  end)

  it("tostring never shows the password", function()
    for _, s in ipairs({
      "postgresql://u:" .. CANARY .. "@h/d",
      "postgresql://u:" .. CANARY .. "@h:5432/d?sslmode=require",
      "postgresql://:" .. CANARY .. "@h",
      "postgresql://u:" .. CANARY .. "@[::1]:5432/d",
      "postgresql://h/d?password=" .. CANARY,
      "postgresql://h/d?PassWord=" .. CANARY,
    }) do
      local v = make_url(s)
      assert.is_nil(tostring(v):find(CANARY, 1, true), tostring(v))
      assert.is_nil(v:render_as_string():find(CANARY, 1, true))
    end
  end)

  it("url.mask hides the password of a string", function()
    assert.equal("postgresql://u:***@h/d?password=***",
      url.mask("postgresql://u:" .. CANARY .. "@h/d?password=" .. CANARY))
  end)

  it("error objects holding a URL string can be masked first", function()
    local err = exc.ArgumentError("bad " .. url.mask("pg://u:" .. CANARY .. "@h"))
    assert.is_nil(tostring(err):find(CANARY, 1, true))
  end)
end)

describe("the facade", function()
  it("exports make_url as qs.make_url", function()
    local ok, qs = pcall(require, "quicksilver")
    if not ok then pending("the C core is not built") return end
    assert.equal(url.make_url, qs.make_url)
  end)
  -- issue 21, item 9: hosts holding ':' with '/', '@', '?' or ']' (IPv6
  -- literals, socket paths given as the host) and every other component
  -- survive render_as_string(false) and make_url
  it("round-trips every URL it accepts, whatever its components hold", function()
    local hosts = {"::1", "fe80::1%eth0", "/tmp/a:b", "a:b@c", "h:/x@y?z#w]", "[x:y]", "plain",
      "/var/run/pg", "a@b", "a/b", "a?b", "", "\195\169:\195\188"}
    local n = 0
    for _, h in ipairs(hosts) do
      for _, user in ipairs({false, "u@:/?", ""}) do
        for _, pw in ipairs({false, "p@:/?[]%", ""}) do
          for _, db in ipairs({false, "d/b:?@", "", "/abs/x.db"}) do
            local u = url.create({drivername = "postgresql+wire", host = h, port = 5432,
              username = user or nil, password = pw or nil, database = db or nil,
              query = {["k&="] = {"v1&=", "v2 +"}}})
            local s = u:render_as_string(false)
            local back = make_url(s)
            assert.is_true(back == u, s)
            for _, f in ipairs({"host", "port", "username", "password", "database"}) do
              assert.equal(u[f], back[f], f .. " of " .. s)
            end
            assert.same(u.query, back.query)
            n = n + 1
          end
        end
      end
    end
    assert.equal(13 * 3 * 3 * 4, n)
    for _, s in ipairs({"postgresql://[%2Ftmp%2Fa:b]/db", "mysql://u@h%40x/db", "postgresql://u:pa/ss@host/db",
        "postgresql://[fe80::1%25eth0]:5432", "mysql+wire://a%3Ab:c%40d@[a:b%40c%2Fd]:1/x%2Fy"}) do
      local u = make_url(s)
      assert.is_true(make_url(u:render_as_string(false)) == u, s)
    end
    assert.equal("/tmp/a:b", make_url("postgresql://[%2Ftmp%2Fa:b]/db").host)
    assert.equal("postgresql://[%2Ftmp%2Fa:b]", url.create({drivername = "postgresql", host = "/tmp/a:b"}):render_as_string())
  end)

  it("refuses a NUL byte (%00) in any component, naming it and never the password", function()
    for what, s in pairs({password = "postgresql://u:p%00secret@h/db", host = "postgresql://u@h%00/db",
        database = "postgresql://h/db%00", query = "postgresql://h/db?a=b%00",
        ["user name"] = "postgresql://u%00@h", ["database "] = "postgresql://h/d\0b"}) do
      local err = raises(exc.ArgumentError, make_url, s)
      assert.truthy(tostring(err):find("a NUL byte (%00) in the " .. what, 1, true), tostring(err))
      assert.falsy(tostring(err):find("secret", 1, true))
    end
    for _, f in ipairs({"username", "password", "host", "database"}) do
      local err = raises(exc.ArgumentError, url.create, {drivername = "postgresql", [f] = "a\0secret"})
      assert.truthy(tostring(err):find(f .. " holds a NUL byte", 1, true), tostring(err))
      assert.falsy(tostring(err):find("secret", 1, true))
    end
    raises(exc.ArgumentError, url.create, {drivername = "postgresql", query = {a = "x\0"}})
    raises(exc.ArgumentError, url.create, {drivername = "postgresql", query = {a = {"ok", "x\0"}}})
    raises(exc.ArgumentError, url.create, {drivername = "postgresql", query = {["a\0"] = "x"}})
    raises(exc.ArgumentError, function() return make_url("postgresql://h/db"):set({password = "p\0"}) end)
  end)
end)

-- issue 23: PostgreSQL host lists (failover) and target_session_attrs
describe("URL host lists", function()
  local function hp(u)
    local t = {}
    for i, h in ipairs(u:get_hosts()) do t[i] = tostring(h.host) .. ":" .. tostring(h.port) end
    return table.concat(t, " ")
  end

  it("reads a list in the authority into hosts, host and port then nil", function()
    local u = make_url("postgresql://u:pw@h1:5432,h2:5433/db?target_session_attrs=read-write")
    assert.same({{host = "h1", port = 5432}, {host = "h2", port = 5433}}, u.hosts)
    assert.is_nil(u.host)
    assert.is_nil(u.port)
    assert.equal("h1:5432 h2:5433", hp(u))
    assert.equal("read-write", u.query.target_session_attrs)
    assert.equal("postgresql://u:***@h1:5432,h2:5433/db?target_session_attrs=read-write", tostring(u))
    assert.equal("postgresql://u:pw@h1:5432,h2:5433/db?target_session_attrs=read-write",
      u:render_as_string(false))
  end)

  it("reads hosts without ports, IPv6 hosts and encoded hosts in a list", function()
    assert.equal("h1:nil h2:nil", hp(make_url("postgresql://h1,h2/db")))
    assert.equal("h1:5432 ::1:5433", hp(make_url("postgresql://h1:5432,[::1]:5433/db")))
    assert.equal("my host:1 h2:nil", hp(make_url("postgresql://my%20host:1,h2/db")))
  end)

  it("keeps repeated query host values in the query, as SQLAlchemy does", function()
    local u = make_url("postgresql://u@/db?host=h1:5432&host=h2:5433")
    assert.same({"h1:5432", "h2:5433"}, u.query.host)
    assert.is_nil(u.hosts)
    assert.equal("h1:5432 h2:5433", hp(u))
    assert.is_true(make_url(u:render_as_string(false)) == u)
  end)

  it("reads libpq's comma lists in the query, one port for all or one each", function()
    assert.equal("h1:1 h2:2", hp(make_url("postgresql://u@/db?host=h1,h2&port=1,2")))
    assert.equal("h1:7 h2:7", hp(make_url("postgresql://u@/db?host=h1,h2&port=7")))
    assert.equal("/var/run/postgresql:nil", hp(make_url("postgresql://u@/db?host=/var/run/postgresql")))
  end)

  it("round-trips a list through url.create and render", function()
    local u = url.create({drivername = "postgresql+wire", hosts = {{host = "a", port = 1}, {host = "b"}},
      database = "d"})
    assert.equal("postgresql+wire://a:1,b/d", tostring(u))
    assert.is_true(make_url(tostring(u)) == u)
    -- a list of one is the ordinary host and port
    local one = url.create({drivername = "postgresql", hosts = {{host = "a", port = 1}}})
    assert.equal("a", one.host)
    assert.is_nil(one.hosts)
  end)

  it("hands out a copy of the list", function()
    local u = make_url("postgresql://h1,h2/db")
    u.hosts[1].host = "changed"
    assert.equal("h1", u.hosts[1].host)
  end)

  it("refuses a list for a dialect that connects to one server, naming it", function()
    for _, s in ipairs({"mysql://h1,h2/db", "mariadb://u@h1:3306,h2:3306/db", "sqlite://h1,h2/db",
        "mysql://u@/db?host=a&host=b"}) do
      local err = raises(exc.ArgumentError, make_url, s)
      assert.matches("the %a+ dialect connects to one server", err.message)
    end
    local err = raises(exc.ArgumentError, url.create, {drivername = "mysql+wire",
      hosts = {{host = "a"}, {host = "b"}}})
    assert.matches("the mysql dialect", err.message)
  end)

  it("refuses a bad target_session_attrs, naming it and libpq's values", function()
    local err = raises(exc.ArgumentError, make_url, "postgresql://h/db?target_session_attrs=rw")
    assert.matches("invalid target_session_attrs 'rw'", err.message, 1, true)
    assert.matches("prefer-standby", err.message, 1, true)
    for _, v in ipairs({"any", "read-write", "read-only", "primary", "standby", "prefer-standby"}) do
      assert.equal(v, make_url("postgresql://h/db?target_session_attrs=" .. v).query.target_session_attrs)
    end
    local u = make_url("postgresql://h/db")
    raises(exc.ArgumentError, u.update_query, u, {target_session_attrs = "master"})
  end)

  it("refuses mixed forms and mismatched port lists", function()
    raises(exc.ArgumentError, make_url, "postgresql://u@h/db?host=h1")
    raises(exc.ArgumentError, make_url, "postgresql://u@/db?host=a,b&port=1,2,3")
    raises(exc.ArgumentError, make_url, "postgresql://u@/db?port=5432")
    raises(exc.ArgumentError, make_url, "postgresql://u@/db?host=h1:x")
    local err = raises(exc.ArgumentError, make_url, "postgresql://h1:5432,h2:abc/db")
    assert.matches("invalid port 'abc'", err.message, 1, true)
    local u = make_url("postgresql://a,b/d")
    raises(exc.ArgumentError, u.set, u, {host = "x"})
    assert.equal("postgresql://x/d", tostring(u:set({host = "x", hosts = false})))
    raises(exc.ArgumentError, url.create, {drivername = "postgresql", hosts = {{host = 1}, {host = "b"}}})
  end)

  it("does not mask a host list's ports as a password", function()
    assert.equal("postgresql://h1:5432,h2:5433/db", url.mask("postgresql://h1:5432,h2:5433/db"))
    local u = make_url("postgresql://h1:5432,h2:5433/db?application_name=me@box")
    assert.equal("h1:5432 h2:5433", hp(u))
    assert.is_nil(u.username)
  end)
end)

describe("postgresql connect args from a host list", function()
  it("gives both drivers libpq's comma lists", function()
    local ok, pg = pcall(require, "quicksilver.dialects.postgresql")
    if not ok then pending("the C core is not built") return end
    local args = pg.connect_args(make_url("postgresql://u@h1:5432,h2/db?target_session_attrs=read-write"))
    assert.equal("h1,h2", args.host)
    assert.equal("5432,", args.port)
    assert.equal("read-write", args.target_session_attrs)
    args = pg.for_url(make_url("postgresql+wire://u@/db?host=a:1&host=b:2")).connect_args(
      make_url("postgresql+wire://u@/db?host=a:1&host=b:2"))
    assert.equal("a,b", args.host)
    assert.equal("1,2", args.port)
    args = pg.connect_args(make_url("postgresql://u@h/db"))
    assert.equal("h", args.host)
    assert.is_nil(args.port)
  end)
end)
