-- Autogenerate and check on every backend: each kind of change is found,
-- the revision written for it applies, check agrees afterwards, and the
-- downgrade brings the database back.
local qs = require("quicksilver")
local migrate = require("quicksilver.migrate")
local autogenerate = require("quicksilver.migrate.autogenerate")
local helpers = require("spec.helpers")
local raises = helpers.assert_raises_kind

describe("autogenerate on " .. helpers.backend, function()
  local dir, url, engine

  before_each(function()
    dir = os.tmpname()
    os.remove(dir)
    os.execute(string.format("mkdir -p %q", dir .. "/versions"))
    engine = helpers.backend_engine()
    url = helpers.on("sqlite") and ("sqlite:///" .. dir .. "/app.db") or helpers.backend_url()
    if helpers.on("sqlite") then engine:dispose(); engine = qs.create_engine(url) end
  end)

  after_each(function()
    engine:begin(function(conn) engine.dialect.drop_everything(conn) end)
    engine:dispose()
    os.execute(string.format("rm -rf %q", dir))
    helpers.cleanup()
  end)

  local function v1()
    local md = qs.MetaData()
    qs.Table("users", md, qs.Column("id", qs.Integer, {primary_key = true}),
      qs.Column("name", qs.String(30), {nullable = false}),
      qs.Column("nick", qs.String(20)),
      qs.Column("old", qs.Integer))
    qs.Table("legacy", md, qs.Column("id", qs.Integer, {primary_key = true}))
    return md
  end

  local function v2()
    local md = qs.MetaData()
    qs.Table("users", md, qs.Column("id", qs.Integer, {primary_key = true}),
      qs.Column("name", qs.String(30)),                       -- nullable now
      qs.Column("nick", qs.String(40)),                       -- longer
      qs.Column("email", qs.String(50)),                      -- added ("old" removed)
      qs.UniqueConstraint("email", {name = "uq_users_email"}),
      qs.Index("ix_users_nick", "nick"))
    qs.Table("posts", md, qs.Column("id", qs.Integer, {primary_key = true}),
      qs.Column("user_id", qs.Integer, qs.ForeignKey("users.id", {name = "fk_posts_user"})))
    return md
  end

  it("finds each kind of change", function()
    local cfg = {dir = dir, url = url, target_metadata = v1()}
    migrate.revision(cfg, {message = "v1", autogenerate = true})
    migrate.upgrade(cfg, "head")
    assert.is_true(migrate.check(cfg))
    local kinds = engine:connect(function(c)
      local out = {}
      for _, d in ipairs(autogenerate.compare(c, v2())) do out[autogenerate.describe(d)] = true end
      return out
    end)
    for _, want in ipairs({"add_table posts", "remove_table legacy", "modify_nullable users.name",
        "modify_type users.nick", "add_column users.email", "remove_column users.old",
        "add_unique users.uq_users_email", "add_index users.ix_users_nick"}) do
      assert.is_true(kinds[want] == true, want)
    end
  end)

  it("finds removed indexes and unique constraints, and foreign keys added and removed", function()
    local cfg = {dir = dir, url = url, target_metadata = v2()}
    migrate.revision(cfg, {message = "v2", autogenerate = true})
    migrate.upgrade(cfg, "head")
    assert.is_true(migrate.check(cfg))
    local md = qs.MetaData()
    qs.Table("users", md, qs.Column("id", qs.Integer, {primary_key = true}),
      qs.Column("name", qs.String(30)), qs.Column("nick", qs.String(40)), qs.Column("email", qs.String(50)),
      qs.Column("best_post_id", qs.Integer, qs.ForeignKey("posts.id", {name = "fk_users_best_post", use_alter = true})))
    qs.Table("posts", md, qs.Column("id", qs.Integer, {primary_key = true}), qs.Column("user_id", qs.Integer))
    local kinds = engine:connect(function(c)
      local out = {}
      for _, d in ipairs(autogenerate.compare(c, md)) do out[autogenerate.describe(d)] = true end
      return out
    end)
    for _, want in ipairs({"remove_index users.ix_users_nick", "remove_unique users.uq_users_email",
        "add_column users.best_post_id", "remove_fk posts.fk_posts_user"}) do
      local have = {}
      for k in pairs(kinds) do have[#have + 1] = k end
      table.sort(have)
      assert.is_true(kinds[want] == true, want .. " in: " .. table.concat(have, "; "))
    end
  end)

  it("writes a revision that applies, checks clean, and downgrades back", function()
    local cfg = {dir = dir, url = url, target_metadata = v1()}
    migrate.revision(cfg, {message = "v1", autogenerate = true})
    migrate.upgrade(cfg, "head")
    engine:begin(function(c) c:exec_driver_sql("INSERT INTO users (id, name, nick, old) VALUES (1, 'ada', 'a', 7)") end)
    cfg.target_metadata = v2()
    local err = raises(qs.exc.InvalidRequestError, function() migrate.check(cfg) end)
    assert.matches("add_column users.email", tostring(err), 1, true)
    local _, path = migrate.revision(cfg, {message = "v2", autogenerate = true})
    local text = io.open(path):read("*a")
    assert.matches("op.create_table(\"posts\"", text, 1, true)
    assert.matches("drop_table(\"legacy\")", text, 1, true)
    migrate.upgrade(cfg, "head")
    assert.is_true(migrate.check(cfg))
    local name = engine:connect(function(c) return c:exec_driver_sql("SELECT name FROM users"):scalar() end)
    assert.equal("ada", name)                                  -- the row survived
    migrate.downgrade(cfg, "-1")
    cfg.target_metadata = v1()
    assert.is_true(migrate.check(cfg))
    raises(qs.exc.ArgumentError, function() migrate.check({dir = dir, url = url}) end)
  end)
end)
