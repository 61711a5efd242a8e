-- Autogenerate over sequences, identity and computed columns and named
-- enum types (issue 24) on every backend: the revision it writes makes
-- them (the enum type before its table, the sequences before the tables),
-- check finds nothing left afterwards (no false differences on a round
-- trip), and the downgrade drops them again.
local qs = require("quicksilver")
local migrate = require("quicksilver.migrate")
local autogenerate = require("quicksilver.migrate.autogenerate")
local helpers = require("spec.helpers")

describe("autogenerate of generated values on " .. helpers.backend, function()
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

  local function models()
    local md = qs.MetaData()
    local pg = engine.dialect.caps.identity_columns
    qs.Sequence("gm_counter", {start = 7, metadata = md})
    qs.Table("gm_items", md,
      qs.Column("id", qs.Integer, {primary_key = true, identity = {start = 3}}),
      qs.Column("qty", qs.Integer),
      qs.Column("double_qty", qs.Integer, {computed = {sqltext = "qty * 2", persisted = true}}),
      qs.Column("mood", qs.Enum("happy", "sad", {name = "gm_mood"})))
    qs.Table("gm_tickets", md,
      qs.Column("id", qs.Integer, {primary_key = true, sequence = qs.Sequence("gm_ticket_id", {start = 20})}),
      qs.Column("note", qs.String(20)))
    return md, pg
  end

  local function upgrade_script(cfg)
    local versions = dir .. "/versions"
    local p = io.popen("ls " .. versions)
    local name = p:read("*l")
    p:close()
    local f = io.open(versions .. "/" .. name)
    local text = f:read("*a")
    f:close()
    return text
  end

  it("writes a revision that makes them, finds no difference after it, and downgrades", function()
    local md = models()
    local cfg = {dir = dir, url = url, target_metadata = md}
    migrate.revision(cfg, {message = "gen", autogenerate = true})
    local text = upgrade_script(cfg)
    assert.truthy(text:find("identity = {start = 3}", 1, true), text)
    assert.truthy(text:find('computed = {sqltext = "qty * 2", persisted = true}', 1, true), text)
    assert.truthy(text:find('qs.Enum("happy", "sad", {name = "gm_mood"})', 1, true), text)
    assert.truthy(text:find('sequence = qs.Sequence("gm_ticket_id", {start = 20})', 1, true), text)
    if engine.dialect.caps.sequences then
      assert.truthy(text:find('op.create_sequence("gm_counter", {start = 7})', 1, true), text)
      assert.truthy(text:find('op.drop_sequence("gm_ticket_id")', 1, true), text)
    end
    if engine.dialect.caps.enum_types then
      assert.truthy(text:find('op.drop_enum("gm_mood")', 1, true), text)
    end
    migrate.upgrade(cfg, "head")
    local left = engine:connect(function(c)
      local out = {}
      for _, d in ipairs(autogenerate.compare(c, (models()))) do out[#out + 1] = autogenerate.describe(d) end
      return out
    end)
    assert.same({}, left)
    assert.is_true(migrate.check(cfg))
    engine:begin(function(conn)
      local r = conn:execute(qs.insert(md.tables.gm_items):values({qty = 2, mood = "sad"}))
      assert.equal(engine.dialect.caps.identity_columns and 3 or 1, r.inserted_primary_key[1])
      assert.equal(4, conn:scalar(qs.select(md.tables.gm_items.c.double_qty)))
    end)
    migrate.downgrade(cfg, "base")
    local insp = qs.inspect(engine)
    assert.same({}, insp:get_sequence_names())
    assert.is_false(insp:has_table("gm_items"))
    if engine.dialect.caps.enum_types then
      engine:connect(function(c) assert.is_false(engine.dialect.has_type(c, "gm_mood")) end)
    end
  end)

  it("finds a sequence added and one removed", function()
    local md = models()
    md:create_all(engine)
    local md2 = models()
    md2.sequences = nil
    qs.Sequence("gm_other", {metadata = md2})
    local found = engine:connect(function(c)
      local out = {}
      for _, d in ipairs(autogenerate.compare(c, md2)) do out[autogenerate.describe(d)] = true end
      return out
    end)
    if engine.dialect.caps.sequences then
      assert.same({["add_sequence gm_other"] = true, ["remove_sequence gm_counter"] = true}, found)
    else
      assert.same({}, found)
    end
    md:drop_all(engine)
  end)

  it("finds changed enum values where the database reports them (PostgreSQL)", function()
    local md = models()
    md:create_all(engine)
    local md2 = qs.MetaData()
    qs.Table("gm_items", md2, qs.Column("id", qs.Integer, {primary_key = true}), qs.Column("qty", qs.Integer),
      qs.Column("double_qty", qs.Integer), qs.Column("mood", qs.Enum("happy", "sad", "meh", {name = "gm_mood"})))
    local kinds = engine:connect(function(c)
      local out = {}
      for _, d in ipairs(autogenerate.compare(c, md2)) do out[#out + 1] = autogenerate.describe(d) end
      return out
    end)
    local changed = false
    for _, k in ipairs(kinds) do if k == "modify_type gm_items.mood" then changed = true end end
    if engine.dialect.caps.enum_types then assert.is_true(changed, table.concat(kinds, "; ")) end
    md:drop_all(engine)
  end)
end)
