-- Library fixes found while writing docs/reference/EXPRESSIONS.md (every
-- example there runs): each case failed before its fix.
local qs = require("quicksilver")

describe("expression reference fixes", function()
  local md = qs.MetaData()
  local users = qs.Table("users", md, qs.Column("id", qs.Integer, {primary_key = true}),
    qs.Column("name", qs.String(50)))
  local addresses = qs.Table("addresses", md, qs.Column("id", qs.Integer, {primary_key = true}),
    qs.Column("user_id", qs.Integer, qs.ForeignKey("users.id")), qs.Column("email", qs.String(50)))

  it("select(join) and join:select() select FROM the join, with its ON", function()
    local want = "SELECT users.id, users.name, addresses.id, addresses.user_id, addresses.email "
      .. "FROM users LEFT OUTER JOIN addresses ON users.id = addresses.user_id"
    assert.equal(want, tostring(qs.select(users:outerjoin(addresses))))
    assert.equal(want, tostring(users:outerjoin(addresses):select()))
    assert.equal("SELECT users.name FROM users JOIN addresses ON users.id = addresses.user_id "
      .. "WHERE addresses.email = ?",
      tostring(qs.select(users.c.name):select_from(users:join(addresses)):where(addresses.c.email:eq("x"))))
    -- executed: one row per (user, address) pair, users without one kept
    local engine = qs.create_engine("sqlite://")
    md:create_all(engine)
    engine:begin(function(conn)
      conn:execute(qs.insert(users), {{name = "a"}, {name = "b"}})
      conn:execute(qs.insert(addresses), {{user_id = 1, email = "x"}, {user_id = 1, email = "y"}})
      assert.equal(3, #conn:execute(users:outerjoin(addresses):select()):all())
    end)
    engine:dispose()
  end)

  it("a Lua string concatenated to a non-string expression binds as a string", function()
    local t = qs.table("t", qs.column("n", qs.Integer), qs.column("s", qs.String))
    -- Lua's .. groups to the right: "/" .. t.c.n is built first, and bound
    -- typed like the Integer column it refused "/" when executed
    local e = t.c.s .. "/" .. t.c.n
    assert.equal("t.s || (? || t.n)", tostring(e))
    local engine = qs.create_engine("sqlite://")
    engine:connect(function(conn)
      local v = qs.values(qs.column("n", qs.Integer), qs.column("s", qs.String), {name = "t"}):data({{45, "cy"}})
      assert.equal("cy/45", conn:scalar(qs.select(v.c.s .. "/" .. v.c.n)))
      assert.equal("n=45", conn:scalar(qs.select("n=" .. v.c.n)))
      assert.equal("45!", conn:scalar(qs.select(v.c.n:concat("!"))))
      -- a string column still types the value as itself
      assert.equal("cy!", conn:scalar(qs.select(v.c.s .. "!")))
    end)
    engine:dispose()
  end)

  it("a fractional Lua number in arithmetic with an integer expression binds as a Float", function()
    local t = qs.table("t", qs.column("n", qs.Integer))
    assert.equal(qs.Float, (t.c.n * 1.5).type)
    assert.equal(qs.Float, (1.5 + t.c.n).type)
    assert.equal(qs.Integer, (t.c.n * 2).type)
    assert.equal("t.n * $1::FLOAT", (t.c.n * 1.5):compile({dialect = "postgresql"}).sql)
    local engine = qs.create_engine("sqlite://")
    engine:connect(function(conn)
      local v = qs.values(qs.column("n", qs.Integer), {name = "t"}):data({{3}})
      assert.equal(4.5, conn:scalar(qs.select(v.c.n * 1.5)))
      assert.equal(2.5, conn:scalar(qs.select(v.c.n - 0.5)))
    end)
    engine:dispose()
  end)

  it("an alias of a table's, a subquery's or a compound's alias aliases that element again", function()
    -- it wrapped the alias itself, which no dialect compiles ("expected a SELECT, not a ALIAS")
    assert.equal("SELECT v.name FROM users AS v", tostring(qs.select(users:alias("u"):alias("v").c.name)))
    local s = qs.select(users.c.id):subquery("s")
    assert.equal("SELECT z.id FROM (SELECT users.id FROM users) AS z", tostring(qs.select(s:alias("z").c.id)))
    local u = qs.union(qs.select(users.c.id), qs.select(addresses.c.user_id)):subquery("s")
    assert.equal("SELECT w.id FROM (SELECT users.id FROM users UNION SELECT addresses.user_id FROM addresses) AS w",
      tostring(qs.select(u:alias("w").c.id)))
  end)

  it("contains/startswith/endswith of an expression wrap it in % (it compared with LIKE alone)", function()
    local t = qs.table("t", qs.column("a", qs.String), qs.column("b", qs.String))
    assert.equal("t.a LIKE ? || t.b || ?", tostring(t.c.a:contains(t.c.b)))
    assert.equal("t.a LIKE t.b || ?", tostring(t.c.a:startswith(t.c.b)))
    assert.equal("t.a LIKE ? || t.b", tostring(t.c.a:endswith(t.c.b)))
    assert.equal("t.a LIKE concat(concat(?, t.b), ?)", t.c.a:contains(t.c.b):compile({dialect = "mysql"}).sql)
    local engine = qs.create_engine("sqlite://")
    engine:connect(function(conn)
      local v = qs.values(qs.column("a", qs.String), qs.column("b", qs.String), {name = "v"})
        :data({{"xaby", "ab"}, {"ab", "xaby"}, {"abc", "ab"}})
      local function count(cond)
        return conn:scalar(qs.select(qs.func.count()):select_from(v):where(cond))
      end
      assert.equal(2, count(v.c.a:contains(v.c.b)))
      assert.equal(1, count(v.c.a:startswith(v.c.b)))
      assert.equal(0, count(v.c.a:endswith(v.c.b .. "z")))
    end)
    engine:dispose()
  end)
end)
