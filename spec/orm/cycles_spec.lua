-- Rows that depend on each other: post_update relationships and
-- use_alter foreign keys (DDL per dialect, flush order on SQLite).
local qs = require("quicksilver")
local orm = require("quicksilver.orm")
local ddl = require("quicksilver.sql.ddl")
local helpers = require("spec.helpers")
local raises = helpers.assert_raises_kind

local function models()
  local Base = orm.declarative_base()
  local Widget = Base:model("Widget", {
    __tablename = "widget",
    id = orm.mapped_column(qs.Integer, {primary_key = true}),
    name = orm.mapped_column(qs.String(20)),
    favorite_entry_id = orm.mapped_column(qs.Integer,
      qs.ForeignKey("entry.id", {name = "fk_favorite_entry", use_alter = true})),
    entries = orm.relationship("Entry", {foreign_keys = "Entry.widget_id", back_populates = "widget"}),
    favorite_entry = orm.relationship("Entry", {foreign_keys = "Widget.favorite_entry_id", post_update = true}),
  })
  local Entry = Base:model("Entry", {
    __tablename = "entry",
    id = orm.mapped_column(qs.Integer, {primary_key = true}),
    name = orm.mapped_column(qs.String(20)),
    widget_id = orm.mapped_column(qs.ForeignKey("widget.id")),
    widget = orm.relationship("Widget", {foreign_keys = "Entry.widget_id", back_populates = "entries"}),
  })
  return Base, Widget, Entry
end

describe("mutually dependent rows", function()
  it("renders use_alter foreign keys as ALTER TABLE per dialect", function()
    local Base = models()
    local t = Base.metadata.tables.widget
    local con = ddl.alter_constraints(t)[1]
    assert.equal("fk_favorite_entry", con.name)
    local create = tostring(ddl.CreateTable(t):compile({dialect = "postgresql"}))
    assert.is_nil(create:find("fk_favorite_entry", 1, true))
    assert.equal("ALTER TABLE widget ADD CONSTRAINT fk_favorite_entry FOREIGN KEY(favorite_entry_id) " ..
      "REFERENCES entry (id)", tostring(ddl.AddConstraint(t, con):compile({dialect = "postgresql"})))
    assert.equal("ALTER TABLE widget DROP CONSTRAINT fk_favorite_entry",
      tostring(ddl.DropConstraint(t, con):compile({dialect = "postgresql"})))
    assert.equal("ALTER TABLE widget DROP FOREIGN KEY fk_favorite_entry",
      tostring(ddl.DropConstraint(t, con):compile({dialect = "mysql"})))
    -- without use_alter the cycle cannot be ordered
    local md = qs.MetaData()
    qs.Table("a", md, qs.Column("id", qs.Integer, {primary_key = true}), qs.Column("b_id", qs.ForeignKey("b.id")))
    qs.Table("b", md, qs.Column("id", qs.Integer, {primary_key = true}), qs.Column("a_id", qs.ForeignKey("a.id")))
    raises(qs.exc.CircularDependencyError, function() md:sorted_tables() end)
  end)

  it("writes a post_update foreign key by UPDATE after both rows exist, and clears it before deleting", function()
    local Base, Widget, Entry = models()
    local engine = helpers.backend_engine()
    Base.metadata:create_all(engine)
    local sqls = {}
    qs.event.listen(engine, "before_cursor_execute", function(_, sql) sqls[#sqls + 1] = sql end)
    local s = orm.Session(engine)
    local w = Widget({name = "w"})
    local e1, e2 = Entry({name = "e1"}), Entry({name = "e2"})
    w.entries = {e1, e2}
    w.favorite_entry = e2
    s:add(w)
    s:commit()
    assert.equal(3, #sqls)
    assert.matches("^INSERT INTO widget", sqls[1])
    assert.matches("^INSERT INTO entry", sqls[2])
    assert.matches("^UPDATE widget SET favorite_entry_id=[?$%d]+ WHERE widget.id = [?$%d]+", sqls[3])
    s:close()
    local w2 = s:get(Widget, 1)
    assert.equal("e2", w2.favorite_entry.name)
    assert.equal(2, #w2.entries)
    sqls = {}
    s:delete(w2.entries[1]); s:delete(w2.entries[2]); s:delete(w2)
    s:commit()
    assert.matches("^UPDATE widget SET favorite_entry_id", sqls[1] or "")
    assert.equal(0, s:scalar(qs.select(qs.func.count()):select_from(Widget)))
    s:close()
    engine:dispose()
    helpers.cleanup()
  end)
end)
