-- Schema: DDL per dialect, create_all/drop_all order and checkfirst, DDL
-- events, naming conventions, indexes, the Inspector basics.
local qs = require("quicksilver")
local helpers = require("spec.helpers")
local fixtures = require("spec.sql.fixtures")
local raises = helpers.assert_raises_kind

local function ddl(t, dialect)
  return qs.schema.CreateTable(t):compile({dialect = dialect}).sql
end

describe("DDL rendering", function()
  local T = fixtures.tables()

  it("renders CREATE TABLE for SQLite in declaration order", function()
    assert.equal([[CREATE TABLE users (
	id INTEGER NOT NULL, 
	name VARCHAR(50) NOT NULL, 
	email VARCHAR(100), 
	age INTEGER, 
	team_id INTEGER, 
	PRIMARY KEY (id), 
	FOREIGN KEY(team_id) REFERENCES teams (id) ON DELETE CASCADE, 
	UNIQUE (email)
)]], ddl(T.users, "sqlite"))
  end)

  it("renders autoincrement per dialect", function()
    assert.matches("id SERIAL NOT NULL", ddl(T.users, "postgresql"))
    assert.matches("id INTEGER NOT NULL AUTO_INCREMENT", ddl(T.users, "mysql"))
    assert.matches("^CREATE TABLE users %(\n\tid INTEGER NOT NULL, ", ddl(T.users, "sqlite"))
  end)

  it("takes a foreign key column's type from the referred column", function()
    assert.matches("user_id INTEGER", ddl(T.orders, "sqlite"))
    assert.matches("FOREIGN KEY%(user_id%) REFERENCES users %(id%)", ddl(T.orders, "postgresql"))
  end)

  it("renders type names per dialect", function()
    local md = qs.MetaData()
    local t = qs.Table("all_types", md,
      qs.Column("a", qs.BigInteger, {primary_key = true, autoincrement = false}),
      qs.Column("b", qs.Boolean), qs.Column("c", qs.DateTime), qs.Column("d", qs.LargeBinary),
      qs.Column("e", qs.Uuid), qs.Column("f", qs.Numeric(12, 3)), qs.Column("g", qs.Text),
      qs.Column("h", qs.Enum("x", "yy")), qs.Column("i", qs.Interval), qs.Column("j", qs.Float),
      qs.Column("k", qs.Date), qs.Column("l", qs.Time))
    local pg, my, lite = ddl(t, "postgresql"), ddl(t, "mysql"), ddl(t, "sqlite")
    assert.matches("a BIGINT NOT NULL", pg)
    assert.matches("b BOOLEAN", pg); assert.matches("b BOOL", my); assert.matches("b BOOLEAN", lite)
    assert.matches("c TIMESTAMP WITHOUT TIME ZONE", pg); assert.matches("c DATETIME", my)
    assert.matches("d BYTEA", pg); assert.matches("d LONGBLOB", my); assert.matches("d BLOB", lite)
    assert.matches("e UUID", pg); assert.matches("e CHAR%(36%)", my)
    assert.matches("f NUMERIC%(12, 3%)", pg)
    assert.matches("h VARCHAR%(2%)", pg); assert.matches("h ENUM%('x', 'yy'%)", my)
    assert.matches("i INTERVAL", pg); assert.matches("i DOUBLE", my); assert.matches("i FLOAT", lite)
    assert.matches("l TIME WITHOUT TIME ZONE", pg)
  end)

  it("refuses VARCHAR without length on MySQL", function()
    local md = qs.MetaData()
    local t = qs.Table("t", md, qs.Column("id", qs.Integer, {primary_key = true}), qs.Column("s", qs.String))
    local err = raises(qs.exc.ArgumentError, function() ddl(t, "mysql") end)
    assert.matches("VARCHAR requires a length on dialect mysql", tostring(err))
    raises(qs.exc.ArgumentError, function() ddl(t, "mariadb") end)
    assert.matches("s VARCHAR,", ddl(t, "sqlite"))
  end)

  it("renders server defaults through the literal renderer", function()
    local md = qs.MetaData()
    local t = qs.Table("d", md, qs.Column("id", qs.Integer, {primary_key = true}),
      qs.Column("s", qs.String(20), {server_default = "it's \\ here"}),
      qs.Column("n", qs.Integer, {server_default = 5}),
      qs.Column("b", qs.Boolean, {server_default = qs.false_()}),
      qs.Column("t", qs.DateTime, {server_default = qs.func.now()}),
      qs.Column("x", qs.String(5), {server_default = qs.text("'raw'")}))
    local lite, my, pg = ddl(t, "sqlite"), ddl(t, "mysql"), ddl(t, "postgresql")
    assert.matches("s VARCHAR%(20%) DEFAULT 'it''s \\ here'", lite)
    assert.matches("s VARCHAR%(20%) DEFAULT 'it''s \\\\ here'", my)
    assert.matches("n INTEGER DEFAULT 5", lite)
    assert.matches("b BOOLEAN DEFAULT 0", lite)
    assert.matches("b BOOLEAN DEFAULT false", pg)
    assert.matches("t DATETIME DEFAULT %(CURRENT_TIMESTAMP%)", lite)
    assert.matches("t TIMESTAMP WITHOUT TIME ZONE DEFAULT now%(%)", pg)
    assert.matches("x VARCHAR%(5%) DEFAULT 'raw'", lite)
  end)

  it("renders composite primary keys, named constraints and checks", function()
    local md = qs.MetaData()
    local t = qs.Table("pairs", md,
      qs.Column("a", qs.Integer), qs.Column("b", qs.Integer), qs.Column("c", qs.Integer),
      qs.PrimaryKeyConstraint("a", "b", {name = "pk_pairs"}),
      qs.UniqueConstraint("b", "c", {name = "uq_bc"}),
      qs.CheckConstraint(md.tables and qs.column("c"):gt(0), {name = "positive_c"}),
      qs.ForeignKeyConstraint({"c"}, {"pairs.a"}, {onupdate = "cascade"}))
    local s = ddl(t, "sqlite")
    assert.matches("a INTEGER NOT NULL", s)
    assert.matches("CONSTRAINT pk_pairs PRIMARY KEY %(a, b%)", s)
    assert.matches("CONSTRAINT uq_bc UNIQUE %(b, c%)", s)
    assert.matches("CONSTRAINT positive_c CHECK %(c > 0%)", s)
    assert.matches("FOREIGN KEY%(c%) REFERENCES pairs %(a%) ON UPDATE CASCADE", s)
    assert.not_matches("AUTO_INCREMENT", ddl(t, "mysql"))
  end)

  it("applies naming conventions", function()
    local md = qs.MetaData({naming_convention = {
      uq = "uq_%(table_name)s_%(column_0_name)s", ck = "ck_%(table_name)s_%(constraint_name)s",
      pk = "pk_%(table_name)s", ix = "ix_%(column_0_label)s"}})
    local t = qs.Table("acct", md, qs.Column("id", qs.Integer, {primary_key = true}),
      qs.Column("email", qs.String(50), {unique = true, index = true}),
      qs.CheckConstraint("id > 0", {name = "pos"}))
    local s = ddl(t, "postgresql")
    assert.matches("CONSTRAINT pk_acct PRIMARY KEY %(id%)", s)
    assert.matches("CONSTRAINT uq_acct_email UNIQUE %(email%)", s)
    assert.matches("CONSTRAINT ck_acct_pos CHECK %(id > 0%)", s)
    assert.equal("ix_acct_email", t.indexes[1].name)
  end)

  it("renders indexes and schema-qualified names", function()
    local md = qs.MetaData()
    local t = qs.Table("ev", md, qs.Column("id", qs.Integer, {primary_key = true}),
      qs.Column("a", qs.Integer), qs.Column("b", qs.Integer), {schema = "app"})
    local ix = qs.Index("ix_ab", t.c.a, t.c.b, {unique = true})
    assert.equal("CREATE UNIQUE INDEX ix_ab ON app.ev (a, b)", qs.schema.CreateIndex(ix):compile({dialect = "postgresql"}).sql)
    assert.equal("DROP INDEX app.ix_ab", qs.schema.DropIndex(ix):compile({dialect = "postgresql"}).sql)
    assert.equal("DROP INDEX ix_ab ON app.ev", qs.schema.DropIndex(ix):compile({dialect = "mysql"}).sql)
    assert.matches("^CREATE TABLE app.ev", ddl(t, "postgresql"))
    assert.equal("DROP TABLE app.ev", qs.schema.DropTable(t):compile({dialect = "postgresql"}).sql)
  end)

  it("refuses a second definition of a table and a foreign-key cycle", function()
    local md = qs.MetaData()
    qs.Table("t", md, qs.Column("id", qs.Integer, {primary_key = true}))
    raises(qs.exc.InvalidRequestError, function() qs.Table("t", md, qs.Column("id", qs.Integer)) end)
    local md2 = qs.MetaData()
    qs.Table("a", md2, qs.Column("id", qs.Integer, {primary_key = true}), qs.Column("b_id", qs.Integer, qs.ForeignKey("b.id")))
    qs.Table("b", md2, qs.Column("id", qs.Integer, {primary_key = true}), qs.Column("a_id", qs.Integer, qs.ForeignKey("a.id")))
    raises(qs.exc.CircularDependencyError, function() md2:sorted_tables() end)
  end)
end)

describe("create_all and drop_all", function()
  local engine

  before_each(function() engine = helpers.sqlite_engine() end)
  after_each(function() engine:dispose(); helpers.cleanup() end)

  it("creates in foreign-key order, skips what exists, drops in reverse", function()
    local T = fixtures.tables()
    local rec = helpers.recorder(engine)
    T.md:create_all(engine)
    local creates = {}
    for _, s in ipairs(rec) do
      local name = s.sql:match("^CREATE TABLE (%w+)")
      if name then creates[#creates + 1] = name end
    end
    assert.same({"teams", "users", "orders"}, creates)
    assert.same({"orders", "teams", "users"}, qs.inspect(engine):get_table_names())
    local before = #rec
    T.md:create_all(engine)   -- checkfirst: nothing to create
    for i = before + 1, #rec do assert.is_nil(rec[i].sql:match("^CREATE")) end
    T.md:drop_all(engine)
    local drops = {}
    for _, s in ipairs(rec) do
      local name = s.sql:match("^DROP TABLE (%w+)")
      if name then drops[#drops + 1] = name end
    end
    assert.same({"orders", "users", "teams"}, drops)
    assert.same({}, qs.inspect(engine):get_table_names())
    T.md:drop_all(engine)   -- checkfirst: nothing to drop, no error
  end)

  it("creates indexes with their tables", function()
    local T = fixtures.tables()
    T.md:create_all(engine)
    local n = engine:connect(function(c)
      return c:exec_driver_sql("SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = 'ix_users_email'"):scalar()
    end)
    assert.equal(1, n)
  end)

  it("fires DDL events on MetaData and Table", function()
    local T = fixtures.tables()
    local seen = {}
    qs.event.listen(T.md, "before_create", function() seen[#seen + 1] = "md:before_create" end)
    qs.event.listen(T.md, "after_create", function() seen[#seen + 1] = "md:after_create" end)
    qs.event.listen(T.users, "before_create", function(t) seen[#seen + 1] = t.name .. ":before_create" end)
    qs.event.listen(T.users, "after_create", function(t, conn)
      seen[#seen + 1] = t.name .. ":after_create"
      conn:execute(qs.insert(t):values({name = "seeded"}))
    end)
    qs.event.listen(T.users, "before_drop", function() seen[#seen + 1] = "users:before_drop" end)
    T.md:create_all(engine)
    assert.same({"md:before_create", "users:before_create", "users:after_create", "md:after_create"}, seen)
    assert.equal(1, engine:connect(function(c) return c:execute(qs.select(qs.func.count()):select_from(T.users)):scalar() end))
    T.md:drop_all(engine)
    assert.equal("users:before_drop", seen[5])
  end)

  it("table:create() and table:drop()", function()
    local T = fixtures.tables()
    T.teams:create(engine)
    assert.is_true(qs.inspect(engine):has_table("teams"))
    assert.is_false(qs.inspect(engine):has_table("users"))
    T.teams:drop(engine)
    assert.is_false(qs.inspect(engine):has_table("teams"))
  end)

  it("enforces foreign keys on SQLite", function()
    local T = fixtures.tables()
    T.md:create_all(engine)
    raises(qs.exc.IntegrityError, function()
      engine:begin(function(c) c:execute(qs.insert(T.users):values({name = "x", team_id = 99})) end)
    end)
  end)

  it("a failing create_all leaves nothing half made", function()
    local md = qs.MetaData()
    qs.Table("good", md, qs.Column("id", qs.Integer, {primary_key = true}))
    qs.Table("bad", md, qs.Column("id", qs.Integer, {primary_key = true}), qs.Column("x", qs.NullType))
    raises(qs.exc.CompileError, function() md:create_all(engine) end)
    assert.is_false(qs.inspect(engine):has_table("good"))
  end)
end)
