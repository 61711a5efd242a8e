-- Options are rendered or refused, never dropped: partial and method
-- indexes, comments, DEFERRABLE/INITIALLY, the fk naming convention, FOR
-- UPDATE's options per dialect; every option table refuses a key it does
-- not know (dialect-prefixed ones included), naming it.
local qs = require("quicksilver")
local helpers = require("spec.helpers")
local raises = helpers.assert_raises_kind
local ddl_mod = require("quicksilver.sql.ddl")

local function sql(stmt, dialect) return stmt:compile({dialect = dialect}).sql end

describe("options rendered per dialect", function()
  local md, items

  before_each(function()
    md = qs.MetaData()
    qs.Table("teams", md, qs.Column("id", qs.Integer, {primary_key = true}))
    items = qs.Table("items", md,
      qs.Column("id", qs.Integer, {primary_key = true, comment = "the key"}),
      qs.Column("name", qs.String(20), {comment = "it's a name"}),
      qs.Column("active", qs.Boolean),
      qs.Column("team_id", qs.Integer, qs.ForeignKey("teams.id")),
      {comment = "what we sell"})
  end)

  it("renders a partial index's WHERE on PostgreSQL and SQLite, each from its own option", function()
    local ix = qs.Index("ix_items_name", items.c.name, {unique = true,
      postgresql_where = items.c.active:eq(true), sqlite_where = qs.text("active = 1")})
    assert.equal("CREATE UNIQUE INDEX ix_items_name ON items (name) WHERE active = true",
      sql(qs.schema.CreateIndex(ix), "postgresql"))
    assert.equal("CREATE UNIQUE INDEX ix_items_name ON items (name) WHERE active = 1",
      sql(qs.schema.CreateIndex(ix), "sqlite"))
    -- a postgresql_ option is PostgreSQL's: MySQL builds the index without it, as SQLAlchemy does
    assert.equal("CREATE UNIQUE INDEX ix_items_name ON items (name)", sql(qs.schema.CreateIndex(ix), "mysql"))
    local ix2 = qs.Index("ix_items_name_gin", items.c.name, {postgresql_using = "gin"})
    assert.equal("CREATE INDEX ix_items_name_gin ON items USING gin (name)", sql(qs.schema.CreateIndex(ix2), "postgresql"))
    raises(qs.exc.ArgumentError, function() qs.Index("ix", items.c.name, {postgresql_using = "gin; drop"}) end)
    raises(qs.exc.ArgumentError, function() qs.Index("ix", items.c.name, {postgresql_where = 5}) end)
  end)

  it("renders comments inline on MySQL, as COMMENT ON statements on PostgreSQL, not on SQLite", function()
    local my = sql(qs.schema.CreateTable(items), "mysql")
    assert.matches("id INTEGER NOT NULL AUTO_INCREMENT COMMENT 'the key'", my, 1, true)
    assert.matches("name VARCHAR(20) COMMENT 'it''s a name'", my, 1, true)
    assert.matches("\n%) COMMENT='what we sell'$", my)
    local pg = sql(qs.schema.CreateTable(items), "postgresql")
    assert.is_nil(pg:find("COMMENT", 1, true))
    local stmts = {}
    for i, s in ipairs(ddl_mod.comment_statements(items, "postgresql")) do stmts[i] = sql(s, "postgresql") end
    assert.same({"COMMENT ON TABLE items IS 'what we sell'", "COMMENT ON COLUMN items.id IS 'the key'",
      "COMMENT ON COLUMN items.name IS 'it''s a name'"}, stmts)
    assert.same({}, ddl_mod.comment_statements(items, "sqlite"))
    -- asked of the dialect's capabilities (comment_on), a name being only the way to them offline
    assert.equal(3, #ddl_mod.comment_statements(items, require("quicksilver.dialects.postgresql").caps))
    assert.same({}, ddl_mod.comment_statements(items, require("quicksilver.dialects.sqlite").caps))
    assert.same({}, ddl_mod.comment_statements(items, "mysql"))
    local err = raises(qs.exc.ArgumentError, function() ddl_mod.comment_statements(items, "oracle") end)
    assert.matches("unknown dialect 'oracle'", err.message, 1, true)
    assert.is_nil(sql(qs.schema.CreateTable(items), "sqlite"):find("COMMENT", 1, true))
    assert.equal("COMMENT ON COLUMN items.name IS 'it''s a name'", sql(qs.schema.SetColumnComment(items.c.name), "postgresql"))
    assert.equal("COMMENT ON COLUMN items.active IS NULL", sql(qs.schema.SetColumnComment(items.c.active), "postgresql"))
    raises(qs.exc.CompileError, function() sql(qs.schema.SetTableComment(items), "sqlite") end)
    raises(qs.exc.ArgumentError, function() qs.Column("x", qs.Integer, {comment = 5}) end)
  end)

  it("renders DEFERRABLE and INITIALLY on foreign keys, uniques and primary keys", function()
    local kids = qs.Table("kids", md, qs.Column("id", qs.Integer, {primary_key = true}),
      qs.Column("team_id", qs.Integer, qs.ForeignKey("teams.id", {deferrable = true, initially = "deferred"})))
    for _, d in ipairs({"postgresql", "sqlite"}) do
      assert.matches("REFERENCES teams (id) DEFERRABLE INITIALLY DEFERRED", sql(qs.schema.CreateTable(kids), d), 1, true)
    end
    -- MySQL and MariaDB have no deferred constraints: refused by name, not left out
    for _, d in ipairs({"mysql", "mariadb"}) do
      local err = raises(qs.exc.CompileError, function() sql(qs.schema.CreateTable(kids), d) end)
      assert.matches("deferrable", err.message, 1, true)
    end
    local t = qs.Table("pairs", md, qs.Column("a", qs.Integer), qs.Column("b", qs.Integer),
      qs.Column("t", qs.Integer),
      qs.PrimaryKeyConstraint("a", {name = "pk_pairs", deferrable = false}),
      qs.UniqueConstraint("a", "b", {name = "uq_pairs", deferrable = true, initially = "IMMEDIATE"}),
      qs.ForeignKeyConstraint({"t"}, {"teams.id"}, {name = "fk_pairs_t", initially = "deferred"}))
    local pg = sql(qs.schema.CreateTable(t), "postgresql")
    assert.matches("CONSTRAINT pk_pairs PRIMARY KEY (a) NOT DEFERRABLE", pg, 1, true)
    assert.matches("CONSTRAINT uq_pairs UNIQUE (a, b) DEFERRABLE INITIALLY IMMEDIATE", pg, 1, true)
    assert.matches("CONSTRAINT fk_pairs_t FOREIGN KEY(t) REFERENCES teams (id) INITIALLY DEFERRED", pg, 1, true)
    -- SQLite defers foreign keys only
    raises(qs.exc.CompileError, function() sql(qs.schema.CreateTable(t), "sqlite") end)
    raises(qs.exc.ArgumentError, function() qs.ForeignKey("teams.id", {initially = "later"}) end)
    raises(qs.exc.ArgumentError, function() qs.ForeignKey("teams.id", {deferrable = "yes"}) end)
  end)

  it("names foreign keys from the fk naming convention", function()
    local m = qs.MetaData({naming_convention = {fk = "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s"}})
    qs.Table("teams", m, qs.Column("id", qs.Integer, {primary_key = true}))
    local p = qs.Table("players", m, qs.Column("id", qs.Integer, {primary_key = true}),
      qs.Column("team_id", qs.Integer, qs.ForeignKey("teams.id")),
      qs.Column("other", qs.Integer), qs.Column("named", qs.Integer, qs.ForeignKey("teams.id", {name = "mine"})),
      qs.ForeignKeyConstraint({"other"}, {"teams.id"}))
    local ddl = sql(qs.schema.CreateTable(p), "postgresql")
    assert.matches("CONSTRAINT fk_players_team_id_teams FOREIGN KEY(team_id) REFERENCES teams (id)", ddl, 1, true)
    assert.matches("CONSTRAINT fk_players_other_teams FOREIGN KEY(other) REFERENCES teams (id)", ddl, 1, true)
    assert.matches("CONSTRAINT mine FOREIGN KEY(named)", ddl, 1, true)
    raises(qs.exc.ArgumentError, function() qs.MetaData({naming_convention = {foreign_key = "x"}}) end)
  end)

  it("renders FOR UPDATE's options per dialect and refuses the ones a dialect has not", function()
    local t = items
    local other = qs.Table("extras", md, qs.Column("id", qs.Integer, {primary_key = true}), {schema = "s"})
    local base = qs.select(t.c.id):select_from(t:join(other, t.c.id:eq(other.c.id)))
    local function fu(o, d)
      local plain, full = sql(base, d), sql(base:with_for_update(o), d)
      assert.equal(plain, full:sub(1, #plain))
      return full:sub(#plain + 1)
    end
    assert.equal(" FOR UPDATE OF items", fu({of = t}, "postgresql"))
    assert.equal(" FOR UPDATE OF items, extras NOWAIT", fu({of = {t.c.id, other}, nowait = true}, "postgresql"))
    assert.equal(" FOR SHARE OF extras SKIP LOCKED", fu({of = other.c.id, read = true, skip_locked = true}, "postgresql"))
    assert.equal(" FOR NO KEY UPDATE", fu({key_share = true}, "postgresql"))
    assert.equal(" FOR KEY SHARE", fu({key_share = true, read = true}, "postgresql"))
    assert.equal(" FOR UPDATE OF items", fu({of = t}, "mysql"))
    assert.equal(" LOCK IN SHARE MODE", fu({read = true}, "mysql"))
    assert.equal(" FOR UPDATE NOWAIT", fu({nowait = true}, "mariadb"))
    -- SQLite locks the whole database: nothing is rendered, as SQLAlchemy does
    assert.equal("", fu({of = t, nowait = true}, "sqlite"))
    local err = raises(qs.exc.CompileError, function() fu({of = t}, "mariadb") end)
    assert.matches("of", err.message, 1, true)
    err = raises(qs.exc.CompileError, function() fu({key_share = true}, "mysql") end)
    assert.matches("key_share", err.message, 1, true)
    err = raises(qs.exc.ArgumentError, function() base:with_for_update({skiplocked = true}) end)
    assert.matches("unknown option 'skiplocked'", err.message, 1, true)
    raises(qs.exc.ArgumentError, function() base:with_for_update({of = 5}) end)
  end)
end)

describe("options refused by name", function()
  local md = qs.MetaData()
  local t = qs.Table("things", md, qs.Column("id", qs.Integer, {primary_key = true}), qs.Column("x", qs.Integer))

  local cases = {
    {"Column", function() qs.Column("a", qs.Integer, {quote = true}) end, "quote"},
    {"Column system", function() qs.Column("a", qs.Integer, {system = true}) end, "system"},
    {"Table", function() qs.Table("p", qs.MetaData(), qs.Column("a", qs.Integer), {prefixes = {"TEMPORARY"}}) end,
      "prefixes"},
    {"Table sqlite_", function() qs.Table("p", qs.MetaData(), qs.Column("a", qs.Integer), {sqlite_autoincrement = true}) end,
      "sqlite_autoincrement"},
    {"Table mysql_", function() qs.Table("p", qs.MetaData(), qs.Column("a", qs.Integer), {mysql_row_format = "DYNAMIC"}) end,
      "mysql_row_format"},
    {"ForeignKey", function() qs.ForeignKey("t.id", {match = "FULL"}) end, "match"},
    {"ForeignKeyConstraint", function() qs.ForeignKeyConstraint({"a"}, {"t.id"}, {onupdat = "CASCADE"}) end, "onupdat"},
    {"UniqueConstraint", function() qs.UniqueConstraint("a", {nam = "x"}) end, "nam"},
    {"PrimaryKeyConstraint", function() qs.PrimaryKeyConstraint("a", {sqlite_on_conflict = "REPLACE"}) end,
      "sqlite_on_conflict"},
    {"CheckConstraint", function() qs.CheckConstraint("a > 0", {deferrable = true}) end, "deferrable"},
    {"Index", function() qs.Index("ix", t.c.x, {uniq = true}) end, "uniq"},
    {"Index postgresql_", function() qs.Index("ix", t.c.x, {postgresql_whre = "x > 0"}) end, "postgresql_whre"},
    {"Index mysql_", function() qs.Index("ix", t.c.x, {mysql_prefix = "FULLTEXT"}) end, "mysql_prefix"},
    {"MetaData", function() qs.MetaData({schemas = "s"}) end, "schemas"},
    {"with_for_update", function() qs.select(t.c.id):with_for_update({of = t, wait = 5}) end, "wait"},
  }
  for _, case in ipairs(cases) do
    it("refuses an unknown " .. case[1] .. " option, naming it", function()
      local err = raises(qs.exc.ArgumentError, case[2])
      assert.matches("unknown option '" .. case[3] .. "'", err.message, 1, true)
    end)
  end

  it("lists the options of the prefix's dialect the place takes", function()
    local err = raises(qs.exc.ArgumentError, function() qs.Index("ix", t.c.x, {postgresql_ops = {}}) end)
    assert.matches("its postgresql options: postgresql_using, postgresql_where", err.message, 1, true)
    err = raises(qs.exc.ArgumentError, function() qs.Index("ix", t.c.x, {sqlite_using = 3}) end)
    assert.matches("its sqlite options: sqlite_where", err.message, 1, true)
    err = raises(qs.exc.ArgumentError, function() qs.MetaData({postgresql_schema = "x"}) end)
    assert.matches("it takes no postgresql options", err.message, 1, true)
  end)

  it("takes type_ as the column's type and keep_existing as the first definition", function()
    assert.equal("Integer", qs.Column("a", {type_ = qs.Integer}).type.name)
    local m = qs.MetaData()
    local first = qs.Table("k", m, qs.Column("a", qs.Integer))
    assert.equal(first, qs.Table("k", m, qs.Column("b", qs.Integer), {keep_existing = true}))
    assert.truthy(first.c.a)
  end)
end)

describe("type options", function()
  it("renders a String's collation in DDL and refuses unknown type options", function()
    local md = qs.MetaData()
    local t = qs.Table("names", md, qs.Column("n", qs.String(20, {collation = "NOCASE"})),
      qs.Column("m", qs.String({collation = "utf8mb4_bin"})))
    assert.matches("n VARCHAR(20) COLLATE \"NOCASE\"", qs.schema.CreateTable(t):compile({dialect = "sqlite"}).sql, 1, true)
    assert.matches("m VARCHAR COLLATE utf8mb4_bin", qs.schema.CreateTable(t):compile({dialect = "postgresql"}).sql, 1, true)
    local err = raises(qs.exc.ArgumentError, function() qs.String(10, {colation = "x"}) end)
    assert.matches("unknown option 'colation'", err.message, 1, true)
    raises(qs.exc.ArgumentError, function() qs.Numeric(10, 2, {as_decimal = true}) end)
    raises(qs.exc.ArgumentError, function() qs.DateTime({tz = true}) end)
    raises(qs.exc.ArgumentError, function() qs.Enum("a", "b", {native = false}) end)
    raises(qs.exc.ArgumentError, function() qs.TypeDecorator(qs.String, {process_bind = print}) end)
    assert.is_true(qs.Numeric(10, 2, {asdecimal = true}).asdecimal)
  end)

  it("refuses unknown options of expressions and statements", function()
    local md = qs.MetaData()
    local t = qs.Table("e", md, qs.Column("id", qs.Integer, {primary_key = true}), qs.Column("s", qs.String(9)))
    local u = qs.Table("f", md, qs.Column("id", qs.Integer, qs.ForeignKey("e.id")))
    for what, fn in pairs({
      compile = function() qs.select(t.c.id):compile({dialekt = "sqlite"}) end,
      like = function() t.c.s:like("a%", {escpe = "/"}) end,
      contains = function() t.c.s:contains("a", {autoescape = true}) end,
      between = function() t.c.id:between(1, 2, {symmetric = true}) end,
      bindparam = function() qs.bindparam("k", 1, {typ = qs.Integer}) end,
      case = function() qs.case({{t.c.id:eq(1), "a"}}, {["else"] = "b"}) end,
      over = function() qs.func.row_number():over({partition = t.c.id}) end,
      join = function() qs.select(t.c.id):join(u, nil, {outer = true}) end,
      cte = function() qs.select(t.c.id):cte("c", {recursve = true}) end,
      on_conflict_do_update = function() qs.insert(t):on_conflict_do_update({index_elements = {"id"},
        set_ = {s = "x"}, index_where = t.c.id:gt(0)}) end,
      on_conflict_do_nothing = function() qs.insert(t):on_conflict_do_nothing({index_where = t.c.id:gt(0)}) end,
    }) do
      local err = raises(qs.exc.ArgumentError, fn)
      assert.matches("unknown option", err.message, 1, true)
      assert.truthy(err.message:find(what, 1, true) or what == "contains", what .. ": " .. err.message)
    end
  end)
end)

describe("MySQL table and index options", function()
  it("renders ENGINE, CHARSET, COLLATE and prefix lengths on MySQL/MariaDB only", function()
    local md = qs.MetaData()
    local t = qs.Table("docs", md, qs.Column("id", qs.Integer, {primary_key = true}),
      qs.Column("title", qs.String(200)), qs.Column("body", qs.Text),
      {mysql_engine = "InnoDB", mariadb_charset = "utf8mb4", mysql_collate = "utf8mb4_bin", comment = "c"})
    for _, d in ipairs({"mysql", "mariadb"}) do
      assert.matches("\n%) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin COMMENT='c'$",
        qs.schema.CreateTable(t):compile({dialect = d}).sql)
    end
    assert.matches("\n%)$", qs.schema.CreateTable(t):compile({dialect = "postgresql"}).sql)
    local ix = qs.Index("ix_docs_title_body", t.c.title, t.c.body, {mysql_length = {body = 100}})
    assert.equal("CREATE INDEX ix_docs_title_body ON docs (title, body(100))",
      qs.schema.CreateIndex(ix):compile({dialect = "mysql"}).sql)
    assert.equal("CREATE INDEX ix_docs_title_body ON docs (title, body)",
      qs.schema.CreateIndex(ix):compile({dialect = "postgresql"}).sql)
    local ix2 = qs.Index("ix_docs_both", t.c.title, t.c.body, {mariadb_length = 20})
    assert.equal("CREATE INDEX ix_docs_both ON docs (title(20), body(20))",
      qs.schema.CreateIndex(ix2):compile({dialect = "mariadb"}).sql)
    raises(qs.exc.ArgumentError, function() qs.Index("ix", t.c.title, {mysql_length = 0}) end)
    raises(qs.exc.ArgumentError, function()
      qs.schema.CreateIndex(qs.Index("ix_x", t.c.title, {mysql_length = {nobody = 3}}))
    end)
    raises(qs.exc.ArgumentError, function()
      qs.Table("e", qs.MetaData(), qs.Column("a", qs.Integer), {mysql_engine = "InnoDB; DROP"})
    end)
    raises(qs.exc.ArgumentError, function()
      qs.Table("e", qs.MetaData(), qs.Column("a", qs.Integer), {mysql_engine = "a", mariadb_engine = "b"})
    end)
  end)
end)

describe("execution options SQLAlchemy has and quicksilver does not", function()
  local qs_ = require("quicksilver")
  it("are refused by name wherever they are given; the program's own keys pass", function()
    local e = qs_.create_engine("sqlite:///:memory:")
    local c = e:connect()
    local cases = {
      {"Engine:execution_options", function() e:execution_options({compiled_cache = {}}) end, "compiled_cache"},
      {"Connection:execution_options", function() c:execution_options({logging_token = "x"}) end, "logging_token"},
      {"Connection:execute", function() c:execute(qs_.select(qs_.literal(1)), nil, {no_parameters = true}) end,
        "no_parameters"},
      {"execution_options", function() qs_.select(qs_.literal(1)):execution_options({preserve_rowcount = true}) end,
        "preserve_rowcount"},
      {"create_engine: execution_options", function()
        qs_.create_engine("sqlite:///:memory:", {execution_options = {insertmanyvalues_page_size = 5}})
      end, "insertmanyvalues_page_size"},
    }
    for _, case in ipairs(cases) do
      local err = raises(qs_.exc.ArgumentError, case[2])
      assert.matches(case[1] .. ": the execution option '" .. case[3] .. "' is not supported", tostring(err), 1, true)
    end
    assert.equal("mine", e:execution_options({my_tag = "mine"}):get_execution_options().my_tag)
    assert.equal(1, c:execute(qs_.select(qs_.literal(1)), nil, {my_tag = true}):scalar())
    c:close()
    e:dispose()
  end)
end)
