-- `quicksilver diagram` on every backend: the DOT of a reflected schema
-- (a node per table with its columns, PK/FK marks and NOT NULL, an edge per
-- foreign key constraint, one for a key of two columns), the version table
-- left out, and --schema on PostgreSQL.
local qs = require("quicksilver")
local main = require("quicksilver.cli.main")
local helpers = require("spec.helpers")

describe("quicksilver diagram (" .. helpers.backend .. ")", function()
  local engine, url
  before_each(function()
    -- one URL for the engine and the command (on SQLite each call is a new file)
    url = helpers.backend_url()
    engine = qs.create_engine(url)
    engine:begin(function(conn) engine.dialect.drop_everything(conn) end)
    local md = qs.MetaData()
    qs.Table("dg_users", md, qs.Column("id", qs.Integer, {primary_key = true}),
      qs.Column("name", qs.String(30), {nullable = false}))
    qs.Table("dg_shelves", md, qs.Column("room", qs.Integer, {primary_key = true}),
      qs.Column("pos", qs.Integer, {primary_key = true}))
    qs.Table("dg_books", md, qs.Column("id", qs.Integer, {primary_key = true}),
      qs.Column("owner_id", qs.Integer, qs.ForeignKey("dg_users.id"), {nullable = false}),
      qs.Column("room", qs.Integer), qs.Column("pos", qs.Integer),
      qs.ForeignKeyConstraint({"room", "pos"}, {"dg_shelves.room", "dg_shelves.pos"}))
    qs.Table("alembic_version", md, qs.Column("version_num", qs.String(32), {primary_key = true}))
    md:create_all(engine)
  end)
  after_each(function()
    engine:begin(function(conn) engine.dialect.drop_everything(conn) end)
    engine:dispose()
  end)

  it("draws the reflected tables, their keys and the foreign keys as edges", function()
    local out, code = main.run({"diagram", url, "--quiet"})
    assert.equal(0, code, out)
    assert.matches("<B>dg_users</B>", out, 1, true)
    assert.matches("PK <U>id</U>", out, 1, true)
    assert.matches("FK owner_id <FONT COLOR=\"#555555\">[^<]* NOT NULL</FONT>", out)
    assert.matches("name <FONT COLOR=\"#555555\">String%(30%) NOT NULL</FONT>", out)
    assert.matches('"dg_books" -> "dg_users" [label="owner_id -> id"];', out, 1, true)
    -- a key of two columns is one edge naming both
    assert.matches('"dg_books" -> "dg_shelves" [label="room, pos -> room, pos"];', out, 1, true)
    local _, edges = out:gsub(" %-> \"", "")
    assert.equal(2, edges)
    assert.is_nil(out:find("alembic_version", 1, true))
  end)

  if helpers.backend == "postgresql" then
    it("reflects another schema with --schema", function()
      engine:begin(function(conn)
        conn:exec_driver_sql("DROP SCHEMA IF EXISTS dg_other CASCADE")
        conn:exec_driver_sql("CREATE SCHEMA dg_other")
        conn:exec_driver_sql("CREATE TABLE dg_other.tags (id INTEGER PRIMARY KEY, label TEXT NOT NULL)")
      end)
      local ok, out, code = pcall(main.run, {"diagram", url, "--schema", "dg_other", "--quiet"})
      engine:begin(function(conn) conn:exec_driver_sql("DROP SCHEMA dg_other CASCADE") end)
      assert.is_true(ok, tostring(out))
      assert.equal(0, code, out)
      assert.matches('"dg_other.tags" [label=<', out, 1, true)
      assert.matches("<B>dg_other.tags</B>", out, 1, true)
      assert.is_nil(out:find("dg_users", 1, true))
    end)
  end
end)
