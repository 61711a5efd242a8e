-- Inspector get_multi_* (SQLAlchemy 2.0): the per-table answers for every
-- table of a schema, keyed by table name; filter_names; on PostgreSQL and
-- MySQL/MariaDB a fixed number of catalog queries per kind, whatever the
-- number of tables (SQLite: table by table).
local qs = require("quicksilver")
local helpers = require("spec.helpers")

local KINDS = {"columns", "pk_constraint", "foreign_keys", "indexes", "unique_constraints",
  "check_constraints", "table_comment"}

describe("Inspector get_multi_* on " .. helpers.backend, function()
  local engine

  before_each(function() engine = helpers.backend_engine() end)
  after_each(function()
    engine:dispose()
    helpers.cleanup()
  end)

  local function model(extra)
    local md = qs.MetaData()
    qs.Table("mi_a", md, qs.Column("id", qs.Integer, {primary_key = true}),
      qs.Column("n", qs.String(20), {comment = "the n"}), qs.CheckConstraint("n <> ''", {name = "ck_mi_a"}),
      qs.UniqueConstraint("n", {name = "uq_mi_a_n"}), {comment = "table a"})
    local b = qs.Table("mi_b", md, qs.Column("id", qs.Integer, {primary_key = true}),
      qs.Column("a_id", qs.Integer, qs.ForeignKey("mi_a.id", {ondelete = "CASCADE"})), qs.Column("x", qs.Integer))
    qs.Index("ix_mi_b_x", b.c.x, b.c.a_id)
    for i = 1, extra or 0 do
      local t = qs.Table("mi_extra" .. i, md, qs.Column("id", qs.Integer, {primary_key = true}),
        qs.Column("a_id", qs.Integer, qs.ForeignKey("mi_a.id")), qs.Column("y", qs.String(10)))
      qs.Index("ix_mi_extra" .. i, t.c.y)
    end
    md:create_all(engine)
    return md
  end

  -- plain values (types by their rendering) for comparison
  local function norm(v)
    if type(v) ~= "table" then return v end
    if v._is_type then return tostring(v) end
    local out = {}
    for k, x in pairs(v) do out[k] = norm(x) end
    return out
  end

  it("answers as the per-table questions do, for every table", function()
    model()
    local insp = qs.inspect(engine)
    for _, kind in ipairs(KINDS) do
      local m = insp["get_multi_" .. kind](insp)
      for _, t in ipairs({"mi_a", "mi_b"}) do
        assert.same(norm(insp["get_" .. kind](insp, t)), norm(m[t]), kind .. " " .. t)
      end
    end
    local cols = insp:get_multi_columns()
    if engine.dialect.caps.comment_on or engine.dialect.caps.inline_comments then
      assert.equal("the n", cols.mi_a[2].comment)
      assert.equal("table a", insp:get_multi_table_comment().mi_a.text)
    end
    assert.is_nil(insp:get_multi_table_comment().mi_b.text)
    assert.same({}, insp:get_multi_check_constraints().mi_b)
    assert.equal("CASCADE", insp:get_multi_foreign_keys().mi_b[1].options.ondelete)
  end)

  it("takes filter_names (names the database has not are left out) and refuses bad options", function()
    model()
    local insp = qs.inspect(engine)
    local m = insp:get_multi_pk_constraint({filter_names = {"mi_b", "mi_nope"}})
    assert.same({"mi_b"}, (function() local ks = {} for k in pairs(m) do ks[#ks + 1] = k end return ks end)())
    assert.same({"id"}, m.mi_b.constrained_columns)
    assert.same({}, insp:get_multi_columns({filter_names = {}}))
    local err = helpers.assert_raises_kind(qs.exc.ArgumentError, function() insp:get_multi_columns({filter = {"a"}}) end)
    assert.truthy(tostring(err):find("filter", 1, true), tostring(err))
    helpers.assert_raises_kind(qs.exc.ArgumentError, function() insp:get_multi_columns({filter_names = "mi_a"}) end)
    helpers.assert_raises_kind(qs.exc.ArgumentError, function() insp:get_multi_indexes({schema = 5}) end)
  end)

  it("reads each kind in a number of queries that does not grow with the tables", function()
    local insp = qs.inspect(engine)
    if not insp.dialect.get_multi_columns then
      return pending("table by table on " .. helpers.backend .. " (its catalog answers per table)")
    end
    local function counts()
      local out = {}
      engine:connect(function(c)
        local rec = helpers.recorder(c)
        local ci = qs.inspect(c)
        for _, kind in ipairs(KINDS) do
          helpers.clear(rec)
          ci["get_multi_" .. kind](ci)
          out[kind] = #rec
        end
      end)
      return out
    end
    model(0)
    local few = counts()
    engine:begin(function(c) engine.dialect.drop_everything(c) end)
    model(6)
    local many = counts()
    for _, kind in ipairs(KINDS) do
      assert.equal(few[kind], many[kind], kind)
      assert.truthy(few[kind] <= 3, kind .. ": " .. few[kind])
    end
  end)
end)
