-- Issue 25's rest of Alembic on every backend: CHECK constraints and
-- server defaults in autogenerate (compare_server_default), no false
-- differences on a round trip; process_revision_directives; operations
-- registered by name that comparators add and --sql prints; label@head,
-- label@-1 and REV+n targets; the CLI's --dry-run against --sql and its
-- exit codes.
local qs = require("quicksilver")
local migrate = require("quicksilver.migrate")
local cli = require("quicksilver.cli.migrate")
local helpers = require("spec.helpers")
local raises = helpers.assert_raises_kind
local unpack = table.unpack or unpack   -- luacheck: ignore (5.1)

describe("migrate hooks and targets on " .. helpers.backend, function()
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

  local function models(opts)
    opts = opts or {}
    local md = qs.MetaData()
    local cols = {qs.Column("id", qs.Integer, {primary_key = true}),
      qs.Column("name", qs.String(30), {server_default = opts.name_default or "anon"}),
      qs.Column("age", qs.Integer, {server_default = 0}),
      qs.Column("flag", qs.Integer, {server_default = qs.text("1")}),
      qs.Column("made", qs.DateTime, {server_default = qs.func.now()}),
      qs.Column("plain", qs.Integer)}
    if not opts.no_check then cols[#cols + 1] = qs.CheckConstraint("age >= 0", {name = "ck_people_age"}) end
    if opts.unnamed_check then cols[#cols + 1] = qs.CheckConstraint("plain > 1") end
    if opts.extra_check then cols[#cols + 1] = qs.CheckConstraint("length(name) > 0", {name = "ck_people_name"}) end
    qs.Table("people", md, unpack(cols))
    return md
  end

  local function kinds_of(cfg)
    local out = {}
    for _, l in ipairs(migrate.differences(cfg)) do out[l] = true end
    return out
  end

  it("finds CHECK constraints by name and server defaults, with no false differences after a round trip", function()
    local cfg = {dir = dir, url = url, target_metadata = models(), compare_server_default = true}
    migrate.revision(cfg, {message = "v1", autogenerate = true})
    migrate.upgrade(cfg, "head")
    assert.same({}, migrate.differences(cfg))
    -- a new CHECK and a changed default
    cfg.target_metadata = models({extra_check = true, name_default = "nobody"})
    local k = kinds_of(cfg)
    assert.is_true(k["add_check people.ck_people_name"])
    assert.is_true(k["modify_default people.name"])
    local _, path = migrate.revision(cfg, {message = "v2", autogenerate = true})
    local src = assert(io.open(path)):read("*a")
    assert.matches('create_check_constraint("ck_people_name"', src, 1, true)
    assert.matches('server_default = "nobody"', src, 1, true)
    migrate.upgrade(cfg, "head")
    assert.same({}, migrate.differences(cfg))
    -- a CHECK the models dropped is removed; the downgrade brings both back
    cfg.target_metadata = models({no_check = true, extra_check = true, name_default = "nobody"})
    assert.same({["remove_check people.ck_people_age"] = true}, kinds_of(cfg))
    migrate.revision(cfg, {message = "v3", autogenerate = true})
    migrate.upgrade(cfg, "head")
    assert.same({}, migrate.differences(cfg))
    migrate.downgrade(cfg, "-2")
    cfg.target_metadata = models()
    assert.same({}, migrate.differences(cfg))
  end)

  it("takes the server's name for an unnamed CHECK as the models' (no false removal)", function()
    local cfg = {dir = dir, url = url, target_metadata = models({unnamed_check = true}), compare_server_default = true}
    migrate.revision(cfg, {message = "v1", autogenerate = true})
    migrate.upgrade(cfg, "head")
    assert.same({}, migrate.differences(cfg))
    cfg.target_metadata = models()
    local found = migrate.differences(cfg)
    -- where the server named it, it is a named CHECK the models lack now
    if helpers.on("sqlite") then assert.same({}, found) else assert.equal(1, #found) end
  end)

  it("include_name sees reflected names before they are compared: a refused one is as if absent", function()
    local cfg = {dir = dir, url = url, target_metadata = models()}
    migrate.revision(cfg, {message = "v1", autogenerate = true})
    migrate.upgrade(cfg, "head")
    local seen = {}
    cfg.include_name = function(name, kind, parents)
      seen[kind .. ":" .. tostring(name)] = parents.table_name or true
      return name ~= "plain" and name ~= "ck_people_age"
    end
    local k = kinds_of(cfg)
    assert.is_true(k["add_column people.plain"])
    assert.is_true(k["add_check people.ck_people_age"])
    assert.equal("people", seen["column:plain"])
    assert.equal("people", seen["check_constraint:ck_people_age"])
    assert.is_true(seen["table:people"] ~= nil)
  end)

  it("leaves server defaults alone unless compare_server_default, and takes a function deciding", function()
    local cfg = {dir = dir, url = url, target_metadata = models()}
    migrate.revision(cfg, {message = "v1", autogenerate = true})
    migrate.upgrade(cfg, "head")
    cfg.target_metadata = models({name_default = "other"})
    assert.same({}, migrate.differences(cfg))
    local seen = {}
    cfg.compare_server_default = function(ctx, inspected, column, inspected_default, metadata_default, rendered)
      assert.is_table(ctx.inspector)
      seen[column.name] = rendered
      if column.name == "age" then return true end
      return nil
    end
    local k = kinds_of(cfg)
    raises(qs.exc.ArgumentError, function()
      migrate.differences({dir = dir, url = url, target_metadata = models(), compare_server_default = "yes"})
    end)
    assert.is_true(k["modify_default people.age"])
    assert.is_true(k["modify_default people.name"])
    assert.is_nil(k["modify_default people.flag"])
    assert.is_string(seen.name)
  end)

  it("process_revision_directives rewrites the revision or drops it", function()
    local cfg = {dir = dir, url = url, target_metadata = models()}
    local calls = 0
    cfg.process_revision_directives = function(ctx, revision, directives)
      calls = calls + 1
      local script = directives[1]
      assert.is_true(ctx.autogenerate)
      assert.is_table(script.upgrade_ops)
      script.message = "rewritten"
      script.rev_id = "aaaa00000001"
    end
    local id, path = migrate.revision(cfg, {message = "v1", autogenerate = true})
    assert.equal(1, calls)
    assert.equal("aaaa00000001", id)
    assert.matches('message = "rewritten"', assert(io.open(path)):read("*a"), 1, true)
    migrate.upgrade(cfg, "head")
    -- nothing changed: the hook's recipe empties it, no file is written
    cfg.process_revision_directives = function(_, _, directives)
      if #directives[1].upgrade_ops == 0 then table.remove(directives, 1) end
    end
    local none = migrate.revision(cfg, {message = "empty", autogenerate = true})
    assert.is_nil(none)
    assert.equal(1, #migrate.history(cfg))
    -- operations removed by the hook are not written
    cfg.target_metadata = models({extra_check = true})
    cfg.process_revision_directives = function(_, _, directives)
      local keep = {}
      for _, o in ipairs(directives[1].upgrade_ops) do if o.kind ~= "add_check" then keep[#keep + 1] = o end end
      directives[1].upgrade_ops = keep
    end
    assert.is_nil((migrate.revision(cfg, {message = "filtered", autogenerate = true})))
    raises(qs.exc.ArgumentError, function()
      migrate.revision({dir = dir, url = url, process_revision_directives = true}, {message = "x"})
    end)
  end)

  it("writes and runs operations registered by name that a comparator adds", function()
    local made = {}
    migrate.op.register("create_marker", {
      build = function(op, name) made[#made + 1] = name; op.execute("CREATE TABLE " .. name .. " (id INTEGER)") end,
      reverse = function(args) return "drop_marker", {args[1]} end,
    })
    migrate.op.register("drop_marker", {
      build = function(op, name) op.execute("DROP TABLE " .. name) end,
      render = function(args) return string.format("%q", args[1]) end,
      reverse = function(args) return "create_marker", {args[1]} end,
    })
    local function comparator(ctx, ops)
      assert.is_table(ctx.metadata)
      if not ctx.inspector:has_table("marker_t") then ops[#ops + 1] = {kind = "create_marker", args = {"marker_t"}} end
    end
    migrate.comparators.register(comparator)
    local ok, err = pcall(function()
      local cfg = {dir = dir, url = url, target_metadata = qs.MetaData(),
        include_object = function(_, name) return name ~= "marker_t" end}
      local _, path = migrate.revision(cfg, {message = "marker", autogenerate = true})
      local src = assert(io.open(path)):read("*a")
      assert.matches('op.create_marker("marker_t")', src, 1, true)
      assert.matches('op.drop_marker("marker_t")', src, 1, true)
      local sql = migrate.upgrade_sql(cfg, "head")
      assert.matches("CREATE TABLE marker_t", sql, 1, true)
      migrate.upgrade(cfg, "head")
      assert.same({"marker_t", "marker_t"}, made)
      assert.same({}, migrate.differences(cfg))
      migrate.downgrade(cfg, "base")
      assert.is_false(engine:connect(function(c) return qs.inspect(c):has_table("marker_t") end))
      raises(qs.exc.ArgumentError, function() migrate.op.register("create_table", {build = print}) end)
      raises(qs.exc.ArgumentError, function() migrate.op.register("x", {build = print, bogus = 1}) end)
    end)
    migrate.comparators.unregister(comparator)
    migrate.op.unregister("create_marker")
    migrate.op.unregister("drop_marker")
    if not ok then error(err, 0) end
  end)

  it("resolves label@head, label@-1, label@+1 and REV+n targets, keeping the other branch", function()
    local cfg = {dir = dir, url = url}
    local function rev(id, down, label, tname)
      local f = assert(io.open(dir .. "/versions/" .. id .. ".lua", "w"))
      f:write(string.format([[
local qs = require("quicksilver")
return {revision = %q, down_revision = %s, branch_labels = %s,
  upgrade = function(op) op.create_table(%q, qs.Column("id", qs.Integer, {primary_key = true})) end,
  downgrade = function(op) op.drop_table(%q) end}
]], id, down and string.format("%q", down) or "nil", label and string.format("{%q}", label) or "nil", tname, tname))
      f:close()
    end
    rev("a1", nil, "alpha", "ta1"); rev("a2", "a1", nil, "ta2"); rev("a3", "a2", nil, "ta3")
    rev("b1", nil, "beta", "tb1"); rev("b2", "b1", nil, "tb2")
    assert.same({"a1", "a2"}, migrate.upgrade(cfg, "alpha@+2"))
    assert.same({"b1", "b2"}, migrate.upgrade(cfg, "beta@head"))
    assert.same({"a3"}, migrate.upgrade(cfg, "alpha@head"))
    assert.same({"a3", "b2"}, migrate.current(cfg))
    assert.same({"a3"}, migrate.downgrade(cfg, "alpha@-1"))
    assert.same({"a2", "b2"}, migrate.current(cfg))
    assert.same({"b2", "b1"}, migrate.downgrade(cfg, "beta@base"))
    assert.same({"a2"}, migrate.current(cfg))
    assert.same({"a3"}, migrate.upgrade(cfg, "a1+2"))
    assert.same({"a3", "a2"}, migrate.downgrade(cfg, "a3-2"))
    assert.same({"a1"}, migrate.current(cfg))
    local sql = migrate.upgrade_sql(cfg, "alpha@head", "a1")
    assert.matches("CREATE TABLE ta2", sql, 1, true)
    raises(qs.exc.InvalidRequestError, function() migrate.upgrade(cfg, "alpha@+5") end)
    raises(qs.exc.InvalidRequestError, function() migrate.upgrade(cfg, "alpha@b1") end)
    -- a new revision on a branch: --head label@head, labelled
    local id = migrate.revision(cfg, {message = "more beta", head = "beta@head", branch_label = "gamma"})
    local text = assert(io.open(select(2, migrate.revision(cfg, {message = "on gamma", head = "gamma@head"})))):read("*a")
    assert.matches(string.format('down_revision = %q', id), text, 1, true)
  end)

  it("prints the same SQL for upgrade --dry-run as for --sql from the current revision; exit codes", function()
    local cfg = {dir = dir, url = url, target_metadata = models()}
    local id1 = migrate.revision(cfg, {message = "v1", autogenerate = true})
    migrate.upgrade(cfg, "head")
    cfg.target_metadata = models({extra_check = true})
    migrate.revision(cfg, {message = "v2", autogenerate = true})
    -- the CLI reads the models from env.lua
    local f = assert(io.open(dir .. "/env.lua", "w"))
    f:write([[
local qs = require("quicksilver")
local md = qs.MetaData()
qs.Table("people", md, qs.Column("id", qs.Integer, {primary_key = true}),
  qs.Column("name", qs.String(30), {server_default = "anon"}), qs.Column("age", qs.Integer, {server_default = 0}),
  qs.Column("flag", qs.Integer, {server_default = qs.text("1")}),
  qs.Column("made", qs.DateTime, {server_default = qs.func.now()}), qs.Column("plain", qs.Integer),
  qs.CheckConstraint("age >= 0", {name = "ck_people_age"}),
  qs.CheckConstraint("length(name) > 0", {name = "ck_people_name"}))
return {target_metadata = md}
]])
    f:close()
    local base = {"-d", dir, "--url", url}
    local function run(...)
      local args = {...}
      for _, a in ipairs(base) do args[#args + 1] = a end
      return cli.run(args)
    end
    -- render_as_batch on SQLite cannot print offline: both say so the same way
    local dry, dcode = run("upgrade", "--dry-run")
    local sql, scode = run("upgrade", "--sql", id1 .. ":head")
    assert.equal(scode, dcode)
    assert.equal(sql, dry)
    if not helpers.on("sqlite") then assert.equal(0, dcode) end
    assert.equal(1, #migrate.current(cfg))
    -- check: 3 with differences, 0 without
    local out, code, stream = run("check")
    assert.equal(3, code)
    assert.equal("stderr", stream)
    assert.matches("add_check people.ck_people_name", out, 1, true)
    run("upgrade")
    out, code = run("check")
    assert.equal(0, code)
    -- usage: 2; errors: 1, ending with a newline
    out, code = run("upgrade", "--bogus")
    assert.equal(2, code)
    assert.matches("unknown option '--bogus'", out, 1, true)
    assert.equal(2, select(2, run("frobnicate")))
    assert.equal(2, select(2, run("upgrade", "--sql", "--dry-run")))
    out, code = run("upgrade", "nosuchrev")
    assert.equal(1, code)
    assert.equal("\n", out:sub(-1))
    assert.matches("nosuchrev", out, 1, true)
  end)
end)
