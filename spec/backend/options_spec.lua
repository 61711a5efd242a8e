-- Options that change what the database does, on every backend: a partial
-- unique index allows duplicates outside its WHERE (PostgreSQL, SQLite); a
-- deferrable foreign key is checked at commit (PostgreSQL, SQLite); comments
-- come back through reflection (PostgreSQL, MariaDB); FOR UPDATE OF runs
-- where the database has it and is refused by name where it has not.
local qs = require("quicksilver")
local op_mod = require("quicksilver.migrate.op")
local helpers = require("spec.helpers")
local raises = helpers.assert_raises_kind

describe("options on " .. helpers.backend, function()
  local engine

  before_each(function() engine = helpers.backend_engine() end)

  after_each(function()
    engine:begin(function(conn) engine.dialect.drop_everything(conn) end)
    engine:dispose()
    helpers.cleanup()
  end)

  local function insert(t, row)
    engine:begin(function(c) c:execute(qs.insert(t):values(row)) end)
  end

  it("a partial unique index is unique only where its WHERE holds", function()
    local md = qs.MetaData()
    local t = qs.Table("accounts", md, qs.Column("id", qs.Integer, {primary_key = true}),
      qs.Column("email", qs.String(50)), qs.Column("active", qs.Boolean))
    qs.Index("uq_accounts_active_email", t.c.email, {unique = true,
      postgresql_where = t.c.active:eq(true), sqlite_where = t.c.active:eq(true)})
    if helpers.on("mysql") then
      -- MariaDB has no partial indexes: the options are the other databases'
      -- (as SQLAlchemy's dialect options are), the index is a full one
      md:create_all(engine)
      insert(t, {id = 1, email = "a@x", active = false})
      raises(qs.exc.IntegrityError, function() insert(t, {id = 2, email = "a@x", active = false}) end)
      return
    end
    md:create_all(engine)
    insert(t, {id = 1, email = "a@x", active = false})
    insert(t, {id = 2, email = "a@x", active = false})      -- outside the WHERE: allowed
    insert(t, {id = 3, email = "a@x", active = true})
    raises(qs.exc.IntegrityError, function() insert(t, {id = 4, email = "a@x", active = true}) end)
    -- the same through a migration's create_index
    engine:begin(function(c)
      c:exec_driver_sql("CREATE TABLE tags (id INTEGER PRIMARY KEY, name VARCHAR(20), live INTEGER)")
      op_mod.new(c).create_index("uq_tags_live_name", "tags", {"name"}, {unique = true,
        postgresql_where = qs.text("live = 1"), sqlite_where = qs.text("live = 1")})
      c:exec_driver_sql("INSERT INTO tags (id, name, live) VALUES (1, 'x', 0)")
      c:exec_driver_sql("INSERT INTO tags (id, name, live) VALUES (2, 'x', 0)")
      c:exec_driver_sql("INSERT INTO tags (id, name, live) VALUES (3, 'x', 1)")
    end)
    raises(qs.exc.IntegrityError, function()
      engine:begin(function(c) c:exec_driver_sql("INSERT INTO tags (id, name, live) VALUES (4, 'x', 1)") end)
    end)
  end)

  it("a deferrable foreign key is checked at commit, or refused by name where there are none", function()
    local md = qs.MetaData()
    local parents = qs.Table("parents", md, qs.Column("id", qs.Integer, {primary_key = true}))
    local kids = qs.Table("kids", md, qs.Column("id", qs.Integer, {primary_key = true}),
      qs.Column("parent_id", qs.Integer, qs.ForeignKey("parents.id", {deferrable = true, initially = "DEFERRED"})))
    if helpers.on("mysql") then
      local err = raises(qs.exc.CompileError, function() md:create_all(engine) end)
      assert.matches("deferrable", err.message, 1, true)
      return
    end
    md:create_all(engine)
    -- the child first, its parent later in the same transaction: checked at commit
    engine:begin(function(c)
      c:execute(qs.insert(kids):values({id = 1, parent_id = 10}))
      c:execute(qs.insert(parents):values({id = 10}))
    end)
    raises(qs.exc.IntegrityError, function()
      engine:begin(function(c) c:execute(qs.insert(kids):values({id = 2, parent_id = 99})) end)
    end)
    assert.equal(1, engine:connect(function(c) return c:execute(qs.select(qs.func.count()):select_from(kids)):scalar() end))
  end)

  it("comments are written and reflected back where the database keeps them", function()
    local md = qs.MetaData()
    qs.Table("notes", md, qs.Column("id", qs.Integer, {primary_key = true}),
      qs.Column("body", qs.String(20), {comment = "what it's about"}), {comment = "notes kept"})
    md:create_all(engine)
    local insp = qs.inspect(engine)
    local cols = {}
    for _, c in ipairs(insp:get_columns("notes")) do cols[c.name] = c end
    if helpers.on("sqlite") then
      -- SQLite keeps no comments (SQLAlchemy's SQLite dialect leaves them out too)
      assert.is_nil(cols.body.comment)
      assert.is_nil(insp:get_table_comment("notes").text)
    else
      assert.equal("what it's about", cols.body.comment)
      assert.is_nil(cols.id.comment)
      assert.equal("notes kept", insp:get_table_comment("notes").text)
      -- and onto a reflected Table
      local t = qs.Table("notes", qs.MetaData(), {autoload_with = engine})
      assert.equal("notes kept", t.comment)
      assert.equal("what it's about", t.c.body.comment)
      -- and into the models `quicksilver models` writes
      local code = require("quicksilver.cli.schema").models(helpers.backend_url())
      assert.truthy(code:find('comment = "what it\'s about"', 1, true), code)
      assert.truthy(code:find('{comment = "notes kept"}', 1, true), code)
    end
    -- a column added by a migration keeps its comment too
    engine:begin(function(c) op_mod.new(c).add_column("notes", qs.Column("extra", qs.Integer, {comment = "more"})) end)
    insp = qs.inspect(engine)
    for _, c in ipairs(insp:get_columns("notes")) do cols[c.name] = c end
    if not helpers.on("sqlite") then assert.equal("more", cols.extra.comment) end
  end)

  it("FOR UPDATE OF locks where the database has it, and is refused by name where not", function()
    local md = qs.MetaData()
    local t = qs.Table("stock", md, qs.Column("id", qs.Integer, {primary_key = true}), qs.Column("n", qs.Integer))
    md:create_all(engine)
    insert(t, {id = 1, n = 5})
    local stmt = qs.select(t.c.n):where(t.c.id:eq(1)):with_for_update({of = t.c.id, nowait = true})
    local run = function()
      return engine:begin(function(c) return c:execute(stmt):scalar() end)
    end
    if engine:connect(function(c) return c.dialect.name end) == "mariadb" then
      local err = raises(qs.exc.CompileError, run)
      assert.matches("(of)", err.message, 1, true)
    else
      assert.equal(5, run())
    end
  end)
  it("MySQL table options and prefix lengths reach MariaDB and leave the others alone", function()
    local md = qs.MetaData()
    local t = qs.Table("docs", md, qs.Column("id", qs.Integer, {primary_key = true}), qs.Column("body", qs.Text),
      {mysql_engine = "InnoDB", mysql_charset = "utf8mb4"})
    -- a TEXT column is indexed on MySQL only with a prefix length
    qs.Index("ix_docs_body", t.c.body, {mysql_length = 50})
    md:create_all(engine)
    insert(t, {id = 1, body = "hello"})
    if helpers.on("mysql") then
      local row = engine:connect(function(c)
        return c:exec_driver_sql("SELECT engine, table_collation FROM information_schema.tables " ..
          "WHERE table_schema = DATABASE() AND table_name = 'docs'"):first()
      end)
      assert.equal("InnoDB", row[1])
      assert.matches("^utf8mb4", row[2])
      local sub = engine:connect(function(c)
        return c:exec_driver_sql("SELECT sub_part FROM information_schema.statistics " ..
          "WHERE table_schema = DATABASE() AND table_name = 'docs' AND index_name = 'ix_docs_body'"):scalar()
      end)
      assert.equal(50, tonumber(sub))
    end
  end)
end)
