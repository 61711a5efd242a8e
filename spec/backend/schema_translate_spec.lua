-- schema_translate_map executed: one MetaData created, written and read in
-- two schemas (PostgreSQL schemas, MariaDB databases, SQLite attached
-- databases) through engine- and connection-level options, the ORM too.
local qs = require("quicksilver")
local orm = require("quicksilver.orm")
local helpers = require("spec.helpers")

describe("schema_translate_map on " .. helpers.backend, function()
  local engine
  local SCHEMAS = {"h4_stm_a", "h4_stm_b"}

  before_each(function()
    local files = {}
    if helpers.backend == "sqlite" then
      -- one connection, so that the ATTACHed databases are there for every statement
      engine = qs.create_engine(helpers.backend_url(), {pool_size = 1, max_overflow = 0})
      for _, s in ipairs(SCHEMAS) do files[s] = helpers.tmpdb() end
      qs.event.listen(engine.pool, "connect", function(cconn)
        for _, s in ipairs(SCHEMAS) do
          assert(cconn:exec("ATTACH DATABASE '" .. files[s] .. "' AS " .. s))
        end
      end)
    else
      engine = helpers.backend_engine()
    end
    engine:connect(function(c)
      for _, s in ipairs(SCHEMAS) do
        if helpers.backend == "postgresql" then
          c:exec_driver_sql("DROP SCHEMA IF EXISTS " .. s .. " CASCADE")
          c:exec_driver_sql("CREATE SCHEMA " .. s)
        elseif helpers.backend == "mysql" then
          c:exec_driver_sql("DROP DATABASE IF EXISTS " .. s)
          c:exec_driver_sql("CREATE DATABASE " .. s)
        end
      end
      c:commit()
    end)
  end)

  after_each(function()
    if helpers.backend ~= "sqlite" then
      engine:connect(function(c)
        for _, s in ipairs(SCHEMAS) do
          c:exec_driver_sql(helpers.backend == "postgresql" and ("DROP SCHEMA IF EXISTS " .. s .. " CASCADE")
            or ("DROP DATABASE IF EXISTS " .. s))
        end
        c:commit()
      end)
    end
    engine:dispose()
    helpers.cleanup()
  end)

  local function model()
    local md = qs.MetaData()
    local t = qs.Table("stm_items", md, qs.Column("id", qs.Integer, {primary_key = true}),
      qs.Column("v", qs.String(20)))
    local ch = qs.Table("stm_children", md, qs.Column("id", qs.Integer, {primary_key = true}),
      qs.Column("item_id", qs.Integer, qs.ForeignKey("stm_items.id")))
    return md, t, ch
  end

  it("creates, writes and reads one model in two schemas (engine option)", function()
    local md, t, ch = model()
    for _, s in ipairs(SCHEMAS) do
      local eng = engine:execution_options({schema_translate_map = {__none = s}})
      md:create_all(eng)
      md:create_all(eng)   -- checkfirst asks about the translated schema
      eng:begin(function(c)
        c:execute(qs.insert(t), {id = 1, v = s})
        c:execute(qs.insert(t), {{id = 2, v = s}, {id = 3, v = s}})
        c:execute(qs.insert(ch), {id = 1, item_id = 3})
        c:execute(qs.update(t):where(t.c.id:eq(3)):values({v = s .. "!"}))
        c:execute(qs.delete(t):where(t.c.id:eq(2)))
      end)
    end
    for _, s in ipairs(SCHEMAS) do
      local rows = engine:connect(function(c)
        c:execution_options({schema_translate_map = {__none = s}})
        return c:execute(qs.select(t.c.id, t.c.v):join(ch, ch.c.item_id:eq(t.c.id), {isouter = true})
          :order_by(t.c.id)):all()
      end)
      assert.equal(2, #rows)
      assert.equal(s, rows[1].v)
      assert.equal(s .. "!", rows[2].v)
    end
    -- the untranslated tables were never made
    assert.is_false(engine:connect(function(c) return c.dialect.has_table(c, "stm_items", nil) end))
    for _, s in ipairs(SCHEMAS) do
      md:drop_all(engine:execution_options({schema_translate_map = {__none = s}}))
    end
  end)

  it("serves the ORM through a Session bound to a translated engine", function()
    local Base = orm.declarative_base()
    local Item = Base:model("StmItem", {__tablename = "stm_orm_items",
      id = orm.mapped_column(qs.Integer, {primary_key = true, autoincrement = false}),
      v = orm.mapped_column(qs.String(20))})
    local md = Base.metadata
    for _, s in ipairs(SCHEMAS) do
      local eng = engine:execution_options({schema_translate_map = {__none = s}})
      md:create_all(eng)
      local session = orm.Session(eng)
      session:add(Item({id = 7, v = s}))
      session:commit()
      session:close()
    end
    for _, s in ipairs(SCHEMAS) do
      local session = orm.Session(engine:execution_options({schema_translate_map = {__none = s}}))
      assert.equal(s, session:get(Item, 7).v)
      assert.equal(s, session:scalars(qs.select(Item)):one().v)
      session:close()
    end
  end)
end)
