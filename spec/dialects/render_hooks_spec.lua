-- The dialect render hooks (c/dialect/*.c) seen through the compiler, per
-- dialect: the SQL each hook writes where a statement reaches it, and the
-- errors a dialect raises by name for what its database has not. Each hook
-- is tested alone in C (c/test/test_dialect.c); these pin that the compiler
-- hands it the right pieces, in the places the hook asks for them.
local qs = require("quicksilver")
local ddl = require("quicksilver.sql.ddl")

local DIALECTS = {"sqlite", "postgresql", "mysql", "mariadb"}
local md = qs.MetaData()
local t = qs.Table("t", md,
  qs.Column("id", qs.Integer, {primary_key = true}),
  qs.Column("n", qs.Integer),
  qs.Column("s", qs.String(10)),
  qs.Column("kind", qs.Enum("a", "b")),
  qs.Column("doc", qs.JSON))
local c = t.c

local function sql(stmt, d) return stmt:compile({dialect = d}).sql end

-- Compiles stmt on every dialect; want[d] is the SQL, or {err = "message"}.
local function per_dialect(stmt, want)
  for _, d in ipairs(DIALECTS) do
    local w = want[d]
    if type(w) == "table" then
      local ok, err = pcall(sql, stmt, d)
      assert(not ok, d .. ": expected an error")
      assert.equal(qs.exc.CompileError, err.class, d)
      assert.matches(w.err, err.message, 1, true)
    else
      assert.equal(w, sql(stmt, d), d)
    end
  end
end

describe("dialect render hooks through the compiler", function()
  it("xOperator: integer floor division, concatenation, ILIKE", function()
    per_dialect(qs.select(getmetatable(c.n).__idiv(c.n, c.id)), {
      sqlite = "SELECT t.n / t.id AS anon_1 FROM t", postgresql = "SELECT t.n / t.id AS anon_1 FROM t",
      mysql = "SELECT t.n DIV t.id AS anon_1 FROM t", mariadb = "SELECT t.n DIV t.id AS anon_1 FROM t"})
    per_dialect(qs.select(c.s .. c.s), {
      sqlite = "SELECT t.s || t.s AS anon_1 FROM t", postgresql = "SELECT t.s || t.s AS anon_1 FROM t",
      mysql = "SELECT concat(t.s, t.s) AS anon_1 FROM t", mariadb = "SELECT concat(t.s, t.s) AS anon_1 FROM t"})
    per_dialect(qs.select(c.id):where(c.s:ilike(c.s)), {
      sqlite = "SELECT t.id FROM t WHERE lower(t.s) LIKE lower(t.s)",
      postgresql = "SELECT t.id FROM t WHERE t.s ILIKE t.s",
      mysql = "SELECT t.id FROM t WHERE lower(t.s) LIKE lower(t.s)",
      mariadb = "SELECT t.id FROM t WHERE lower(t.s) LIKE lower(t.s)"})
  end)

  it("an empty and_() / or_(): a condition where booleans are numbers", function()
    per_dialect(qs.select(c.id):where(qs.and_()), {
      sqlite = "SELECT t.id FROM t WHERE 1 = 1", postgresql = "SELECT t.id FROM t WHERE true",
      mysql = "SELECT t.id FROM t WHERE true", mariadb = "SELECT t.id FROM t WHERE true"})
    per_dialect(qs.select(c.id):where(qs.or_()), {
      sqlite = "SELECT t.id FROM t WHERE 1 != 1", postgresql = "SELECT t.id FROM t WHERE false",
      mysql = "SELECT t.id FROM t WHERE false", mariadb = "SELECT t.id FROM t WHERE false"})
  end)

  it("xForUpdate: OF names the FROM elements; MariaDB has no OF", function()
    local a = t:alias("a")
    per_dialect(qs.select(a.c.id):with_for_update({of = {a}, nowait = true}), {
      sqlite = "SELECT a.id FROM t AS a",
      postgresql = "SELECT a.id FROM t AS a FOR UPDATE OF a NOWAIT",
      mysql = "SELECT a.id FROM t AS a FOR UPDATE OF a NOWAIT",
      mariadb = {err = "with_for_update: MariaDB has no FOR UPDATE OF (of)"}})
  end)

  it("xCast: the element where the CAST would stand when the dialect leaves it out", function()
    per_dialect(qs.select(qs.cast(c.n, qs.Boolean) + 1), {
      sqlite = "SELECT CAST(t.n AS BOOLEAN) + ? AS anon_1 FROM t",
      postgresql = "SELECT CAST(t.n AS BOOLEAN) + $1 AS anon_1 FROM t",
      mysql = "SELECT t.n + ? AS anon_1 FROM t", mariadb = "SELECT t.n + ? AS anon_1 FROM t"})
    per_dialect(qs.select(qs.cast(c.s, qs.JSON)), {
      sqlite = "SELECT CAST(t.s AS TEXT) AS anon_1 FROM t", postgresql = "SELECT CAST(t.s AS JSON) AS anon_1 FROM t",
      mysql = "SELECT CAST(t.s AS JSON) AS anon_1 FROM t", mariadb = "SELECT t.s AS anon_1 FROM t"})
  end)

  it("refuses by the dialect's name what its database has not", function()
    per_dialect(qs.insert(t):values({id = 1}):on_duplicate_key_update({n = qs.insert(t).inserted.n}), {
      sqlite = {err = "ON DUPLICATE KEY UPDATE is not supported by dialect sqlite (use on_conflict_do_update)"},
      postgresql = {err = "ON DUPLICATE KEY UPDATE is not supported by dialect postgresql"},
      mysql = "INSERT INTO t (id) VALUES (?) ON DUPLICATE KEY UPDATE n = VALUES(n)",
      mariadb = "INSERT INTO t (id) VALUES (?) ON DUPLICATE KEY UPDATE n = VALUES(n)"})
    local rich = qs.select(c.id):where(c.n:gt(1)):cte("rich")
    per_dialect(qs.delete(t):where(c.id:in_(qs.select(rich.c.id))), {
      sqlite = "WITH rich AS (SELECT t.id FROM t WHERE t.n > ?) DELETE FROM t WHERE t.id IN (SELECT rich.id FROM rich)",
      postgresql = "WITH rich AS (SELECT t.id FROM t WHERE t.n > $1) DELETE FROM t WHERE t.id IN (SELECT rich.id FROM rich)",
      mysql = "WITH rich AS (SELECT t.id FROM t WHERE t.n > ?) DELETE FROM t WHERE t.id IN (SELECT rich.id FROM rich)",
      mariadb = {err = "WITH (a CTE) before INSERT, UPDATE or DELETE is not supported by dialect mariadb"}})
    per_dialect(qs.update(t):values({n = 1}):returning(c.id), {
      sqlite = "UPDATE t SET n=? RETURNING t.id", postgresql = "UPDATE t SET n=$1 RETURNING t.id",
      mysql = {err = "RETURNING is not supported by dialect mysql for UPDATE"},
      mariadb = {err = "RETURNING is not supported by dialect mariadb for UPDATE"}})
  end)

  it("DDL: native ENUM, AUTO_INCREMENT, MODIFY COLUMN, deferrable constraints", function()
    local create = qs.schema.CreateTable(t)
    assert.matches("kind ENUM('a', 'b')", sql(create, "mysql"), 1, true)
    assert.matches("kind VARCHAR(1)", sql(create, "postgresql"), 1, true)
    assert.matches("id INTEGER NOT NULL AUTO_INCREMENT", sql(create, "mariadb"), 1, true)
    assert.matches("id SERIAL NOT NULL", sql(create, "postgresql"), 1, true)
    per_dialect(ddl.AlterColumn(t, "n", {type = qs.BigInteger, nullable = false}), {
      sqlite = {err = "SQLite cannot alter a column's type, nullability or default in place"},
      postgresql = "ALTER TABLE t ALTER COLUMN n TYPE BIGINT, ALTER COLUMN n SET NOT NULL",
      mysql = "ALTER TABLE t MODIFY COLUMN n BIGINT NOT NULL",
      mariadb = "ALTER TABLE t MODIFY COLUMN n BIGINT NOT NULL"})
    local u = qs.Table("u", qs.MetaData(), qs.Column("a", qs.Integer),
      qs.UniqueConstraint("a", {name = "uq_a", deferrable = true}))
    per_dialect(qs.schema.CreateTable(u), {
      sqlite = {err = "SQLite defers only foreign keys (deferrable, initially)"},
      postgresql = "CREATE TABLE u (\n\ta INTEGER, \n\tCONSTRAINT uq_a UNIQUE (a) DEFERRABLE\n)",
      mysql = {err = "MySQL/MariaDB constraints cannot be deferred (deferrable, initially)"},
      mariadb = {err = "MySQL/MariaDB constraints cannot be deferred (deferrable, initially)"}})
  end)

  it("exports the capabilities added for the compiler and asked by the Lua helpers", function()
    local core = require("quicksilver.core")
    local want = {
      native_enum = {sqlite = false, postgresql = false, mysql = true, mariadb = true},
      intersect_except = {sqlite = true, postgresql = true, mysql = false, mariadb = true},
      on_conflict_constraint = {sqlite = false, postgresql = true, mysql = false, mariadb = false},
      alter_column_restates = {sqlite = false, postgresql = false, mysql = true, mariadb = true},
      multirow_insert_ordered = {sqlite = true, postgresql = false, mysql = true, mariadb = true},
    }
    for key, per in pairs(want) do
      for d, v in pairs(per) do assert.equal(v, core.dialect_caps(d)[key], d .. " " .. key) end
    end
  end)
end)
