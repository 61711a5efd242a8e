-- Migrations on every backend: a history of five revisions (a branch and a
-- merge, a data migration with bulk_insert) upgraded to head, downgraded to
-- base and upgraded again, the data checked at each step; the errors for a
-- missing parent, two heads, an unknown revision; a failed revision leaves
-- nothing where DDL is transactional.
local qs = require("quicksilver")
local migrate = require("quicksilver.migrate")
local helpers = require("spec.helpers")
local raises = helpers.assert_raises_kind

local REVISIONS = {
  a1 = [[
local qs = require("quicksilver")
return {revision = "a1", down_revision = nil, message = "users",
  upgrade = function(op)
    op.create_table("users", qs.Column("id", qs.Integer, {primary_key = true}),
      qs.Column("name", qs.String(30), {nullable = false}))
  end,
  downgrade = function(op) op.drop_table("users") end}
]],
  b2 = [[
local qs = require("quicksilver")
return {revision = "b2", down_revision = "a1", message = "email",
  upgrade = function(op)
    op:add_column("users", qs.Column("email", qs.String(50)))
    op.create_index("ix_users_email", "users", {"email"})
  end,
  downgrade = function(op)
    op.drop_index("ix_users_email", "users")
    op.drop_column("users", "email")
  end}
]],
  c3 = [[
local qs = require("quicksilver")
return {revision = "c3", down_revision = "b2", message = "posts",
  upgrade = function(op)
    op.create_table("posts", qs.Column("id", qs.Integer, {primary_key = true}),
      qs.Column("user_id", qs.Integer, qs.ForeignKey("users.id")), qs.Column("title", qs.String(40)))
  end,
  downgrade = function(op) op.drop_table("posts") end}
]],
  d4 = [[
local qs = require("quicksilver")
return {revision = "d4", down_revision = "b2", message = "seed users",
  upgrade = function(op)
    op.bulk_insert(qs.table("users", qs.column("name"), qs.column("email")),
      {{name = "ada", email = "ada@x"}, {name = "bob", email = "bob@x"}})
  end,
  downgrade = function(op)
    op.execute(qs.text("DELETE FROM users WHERE name IN (:a, :b)"), {a = "ada", b = "bob"})
  end}
]],
  e5 = [[
return {revision = "e5", down_revision = {"c3", "d4"}, message = "merge, rename posts",
  upgrade = function(op) op.rename_table("posts", "articles") end,
  downgrade = function(op) op.rename_table("articles", "posts") end}
]],
}

describe("migrations on " .. helpers.backend, function()
  local dir, url, engine, cfg

  local function write(name, text)
    local f = assert(io.open(dir .. "/versions/" .. name .. ".lua", "w"))
    f:write(text)
    f:close()
  end

  local function tables()
    local names = qs.inspect(engine):get_table_names()
    local out = {}
    for _, n in ipairs(names) do if n ~= "alembic_version" then out[#out + 1] = n end end
    return out
  end

  local function users()
    return engine:connect(function(c)
      return c:exec_driver_sql("SELECT count(*) FROM users"):scalar()
    end)
  end

  before_each(function()
    dir = os.tmpname()
    os.remove(dir)
    os.execute(string.format("mkdir -p %q", dir .. "/versions"))
    engine = helpers.backend_engine()
    url = helpers.on("sqlite") and ("sqlite:///" .. dir .. "/app.db") or helpers.backend_url()
    if helpers.on("sqlite") then
      engine:dispose()
      engine = qs.create_engine(url)
    end
    cfg = {dir = dir, url = url}
    for _, id in ipairs({"a1", "b2", "c3", "d4", "e5"}) do write(id, REVISIONS[id]) end
  end)

  after_each(function()
    engine:begin(function(conn) engine.dialect.drop_everything(conn) end)
    engine:dispose()
    os.execute(string.format("rm -rf %q", dir))
    helpers.cleanup()
  end)

  it("upgrades a branched history to head, downgrades to base, and upgrades again", function()
    assert.same({"e5"}, migrate.heads(cfg))
    local lines = {}
    local done = migrate.upgrade(cfg, "head", function(l) lines[#lines + 1] = l end)
    assert.equal(5, #done)
    assert.equal("a1", done[1])
    assert.equal("e5", done[5])
    assert.matches("^upgrade e5 merge, rename posts %-> e5 %(", lines[5])
    assert.same({"e5"}, migrate.current(cfg))
    assert.same({"articles", "users"}, tables())
    assert.equal(2, users())
    -- one step down: the merge undone, two heads current
    migrate.downgrade(cfg, "-1")
    assert.same({"c3", "d4"}, migrate.current(cfg))
    assert.same({"posts", "users"}, tables())
    migrate.downgrade(cfg, "base")
    assert.same({}, migrate.current(cfg))
    assert.same({}, tables())
    -- part way, then the rest
    migrate.upgrade(cfg, "c3")
    assert.same({"c3"}, migrate.current(cfg))
    assert.equal(0, users())
    migrate.upgrade(cfg, "heads")
    assert.same({"e5"}, migrate.current(cfg))
    assert.equal(2, users())
    local cols = {}
    for _, c in ipairs(qs.inspect(engine):get_columns("users")) do cols[#cols + 1] = c.name end
    assert.same({"id", "name", "email"}, cols)
    -- Alembic's version table layout
    local v = engine:connect(function(c) return c:exec_driver_sql("SELECT version_num FROM alembic_version"):scalar() end)
    assert.equal("e5", v)
    local hist = migrate.history(cfg)
    assert.equal("e5", hist[1].revision)
    assert.equal(5, #hist)
    local part = migrate.history(cfg, "b2:c3")
    local ids = {}
    for i, r in ipairs(part) do ids[i] = r.revision end
    assert.same({"c3", "b2"}, ids)
    assert.same({{revision = "b2", children = {"c3", "d4"}}}, migrate.branches(cfg))
  end)

  it("stamps, and refuses unknown revisions, missing parents and two heads", function()
    migrate.stamp(cfg, "b2")
    assert.same({"b2"}, migrate.current(cfg))
    assert.same({}, tables())          -- nothing ran
    local err = raises(qs.exc.InvalidRequestError, function() migrate.upgrade(cfg, "zz99") end)
    assert.matches("no revision zz99", tostring(err), 1, true)
    write("f6", [[return {revision = "f6", down_revision = "nope", upgrade = function() end, downgrade = function() end}]])
    err = raises(qs.exc.InvalidRequestError, function() migrate.upgrade(cfg, "head") end)
    assert.matches("f6 names down_revision nope", tostring(err), 1, true)
    os.remove(dir .. "/versions/f6.lua")
    write("g7", [[return {revision = "g7", down_revision = "c3", upgrade = function() end, downgrade = function() end}]])
    err = raises(qs.exc.InvalidRequestError, function() migrate.upgrade(cfg, "head") end)
    assert.matches("multiple heads", tostring(err), 1, true)
    assert.same({"b2"}, migrate.current(cfg))   -- nothing applied
    local id = migrate.merge(cfg, nil, "join")
    assert.same({id}, migrate.heads(cfg))
  end)

  it("stops at a failing revision with its id", function()
    write("f6", [[
local qs = require("quicksilver")
return {revision = "f6", down_revision = "e5", message = "broken",
  upgrade = function(op)
    op.create_table("half", qs.Column("id", qs.Integer, {primary_key = true}))
    op.execute("INSERT INTO no_such_table VALUES (1)")
  end,
  downgrade = function(op) op.drop_table("half") end}
]])
    local err = raises(qs.exc.DBAPIError, function() migrate.upgrade(cfg, "head") end)
    assert.matches("revision f6 %(f6.lua%) failed during upgrade", tostring(err))
    assert.same({"e5"}, migrate.current(cfg))   -- the revisions before it stay applied
    if not helpers.on("mysql") then
      -- transactional DDL: the failed revision left nothing
      assert.same({"articles", "users"}, tables())
    end
  end)

  it("batch_alter_table changes a table with rows and a child table pointing at it", function()
    write("f6", [[
local qs = require("quicksilver")
return {revision = "f6", down_revision = "e5", message = "batch",
  upgrade = function(op)
    op.batch_alter_table("users", function(batch)
      batch.alter_column("name", {type = qs.String(60), new_column_name = "full_name"})
      batch.add_column(qs.Column("age", qs.Integer, {server_default = 0, nullable = false}))
      batch.create_unique_constraint("uq_users_email", {"email"})
    end)
  end,
  downgrade = function(op)
    op.batch_alter_table("users", function(batch)
      batch.drop_constraint("uq_users_email", {type_ = "unique"})
      batch.drop_column("age")
      batch.alter_column("full_name", {type = qs.String(30), new_column_name = "name"})
    end)
  end}
]])
    migrate.upgrade(cfg, "e5")
    engine:begin(function(c) c:exec_driver_sql("INSERT INTO articles (id, user_id, title) VALUES (1, 1, 'hello')") end)
    migrate.upgrade(cfg, "head")
    local insp = qs.inspect(engine)
    local cols = {}
    for _, c in ipairs(insp:get_columns("users")) do cols[c.name] = c end
    assert.truthy(cols.full_name)
    assert.is_nil(cols.name)
    assert.equal(60, cols.full_name.type.length)
    assert.is_false(cols.age.nullable)
    local rows = engine:connect(function(c)
      return c:exec_driver_sql("SELECT full_name, age FROM users ORDER BY id"):all()
    end)
    assert.same({"ada", 0}, {rows[1][1], rows[1][2]})
    assert.equal(2, #rows)
    local ix = {}
    for _, i in ipairs(insp:get_indexes("users")) do ix[i.name] = true end
    assert.truthy(ix.ix_users_email)                       -- the index came along
    local fk = insp:get_foreign_keys("articles")[1]
    assert.equal("users", fk.referred_table)               -- the child still points at users
    raises(qs.exc.IntegrityError, function()
      engine:begin(function(c) c:exec_driver_sql("INSERT INTO users (id, full_name, email) VALUES (9, 'x', 'ada@x')") end)
    end)
    migrate.downgrade(cfg, "e5")
    cols = {}
    for _, c in ipairs(qs.inspect(engine):get_columns("users")) do cols[c.name] = c end
    assert.truthy(cols.name)
    assert.is_nil(cols.age)
    assert.equal(2, users())
    assert.equal(1, engine:connect(function(c) return c:exec_driver_sql("SELECT count(*) FROM articles"):scalar() end))
  end)

  it("writes offline SQL that the database's own client runs", function()
    local sql = migrate.upgrade_sql(cfg, "head")
    assert.matches("INSERT INTO users (name, email) VALUES ('ada', 'ada@x')", sql, 1, true)
    local file = dir .. "/up.sql"
    local f = assert(io.open(file, "w"))
    f:write(sql)
    f:close()
    local cmd
    if helpers.on("sqlite") then
      cmd = string.format("sqlite3 %q < %q", url:match("^sqlite:///(.*)$"), file)
    elseif helpers.on("postgresql") then
      local user, host, port, db = url:match("^postgresql[+%w]*://([^@:]+)@([^:/]+):(%d+)/([^?]+)")
      cmd = string.format("psql -X -q -v ON_ERROR_STOP=1 -h %s -p %s -U %s -d %s -f %q", host, port, user, db, file)
    else
      local user, pw, host, port, db = url:match("^mysql[%w+]*://([^:@]+):([^@]*)@([^:/]+):(%d+)/([^?]+)")
      cmd = string.format("mysql -h %s -P %s -u %s -p%s %s < %q", host, port, user, pw, db, file)
    end
    local p = io.popen(cmd .. " 2>&1; echo \"rc=$?\"")
    local out = p:read("*a")
    p:close()
    assert.matches("rc=0%s*$", out)
    assert.same({"e5"}, migrate.current(cfg))
    assert.same({"articles", "users"}, tables())
    assert.equal(2, users())
    -- and back down, offline too
    local down = migrate.downgrade_sql(cfg, "base")
    assert.matches("DROP TABLE users", down, 1, true)
  end)

  it("runs from the command line", function()
    local function run(args)
      local p = io.popen(string.format("LUA_PATH=%q LUA_CPATH=%q %q bin/quicksilver migrate %s -d %q --url %q 2>&1; echo \"rc=$?\"",
        package.path, package.cpath, helpers.interpreter(), args, dir, url))
      local out = p:read("*a")
      p:close()
      local body, rc = out:match("^(.-)rc=(%d+)%s*$")
      return tonumber(rc), body
    end
    local rc, out = run("upgrade head")
    assert.equal(0, rc, out)
    assert.matches("upgrade e5", out, 1, true)
    rc, out = run("current")
    assert.equal("e5\n", out)
    rc, out = run("history")
    assert.matches("(c3, d4) -> e5, merge, rename posts", out, 1, true)
    rc, out = run("downgrade")
    assert.equal(2, rc)
    rc, out = run("revision -m \"add age\"")
    assert.equal(0, rc, out)
    assert.matches("_add_age.lua", out, 1, true)
    rc, out = run("upgrade")          -- the new empty revision
    assert.equal(0, rc, out)
  end)
end)
