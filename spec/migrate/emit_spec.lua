-- migrate/emit.lua, the one writer of schema objects as Lua source (behind
-- autogenerate's revisions and `quicksilver models`): its output per type
-- and per option, and that what it writes makes the same object again.
local qs = require("quicksilver")
local emit = require("quicksilver.migrate.emit")

-- Runs source that makes a schema object, with qs in scope.
local function make(src)
  local env = setmetatable({qs = qs}, {__index = _G})
  local chunk
  if setfenv then
    chunk = assert(loadstring("return " .. src))
    setfenv(chunk, env)
  else
    chunk = assert(load("return " .. src, "=emitted", "t", env))
  end
  return chunk()
end

describe("migrate.emit", function()
  it("writes every type as the expression that makes it", function()
    local cases = {
      {qs.Integer, "qs.Integer"}, {qs.BigInteger, "qs.BigInteger"}, {qs.SmallInteger, "qs.SmallInteger"},
      {qs.String, "qs.String"}, {qs.String(20), "qs.String(20)"}, {qs.Unicode(9), "qs.String(9)"},
      {qs.Text, "qs.Text"}, {qs.UnicodeText, "qs.UnicodeText"}, {qs.Boolean, "qs.Boolean"},
      {qs.Float, "qs.Float"}, {qs.Numeric, "qs.Numeric"}, {qs.Numeric(5), "qs.Numeric(5)"},
      {qs.Numeric(10, 2), "qs.Numeric(10, 2)"}, {qs.Date, "qs.Date"}, {qs.DateTime, "qs.DateTime"},
      {qs.DateTime({timezone = true}), "qs.DateTime({timezone = true})"}, {qs.LargeBinary, "qs.LargeBinary"},
      {qs.LargeBinary(16), "qs.LargeBinary(16)"}, {qs.Enum("cat", "dog"), 'qs.Enum("cat", "dog")'},
      {qs.JSON, "qs.JSON"}, {qs.NullType, "qs.NullType"},
    }
    for _, c in ipairs(cases) do
      local t = qs.Column("x", c[1]).type
      assert.equal(c[2], emit.type(t))
      -- and the expression makes the same type back
      local again = qs.Column("x", make(c[2])).type
      assert.equal(emit.type(t), emit.type(again))
    end
  end)

  it("writes each column option, none dropped", function()
    local function col(...) return emit.column(qs.Column("c", ...)) end
    assert.equal('qs.Column("c", qs.Integer)', col(qs.Integer))
    assert.equal('qs.Column("c", qs.Integer, {primary_key = true})', col(qs.Integer, {primary_key = true}))
    assert.equal('qs.Column("c", qs.Integer, {primary_key = true, autoincrement = false})',
      col(qs.Integer, {primary_key = true, autoincrement = false}))
    assert.equal('qs.Column("c", qs.Integer, {nullable = false})', col(qs.Integer, {nullable = false}))
    assert.equal('qs.Column("c", qs.String(5), {comment = "it\'s"})', col(qs.String(5), {comment = "it's"}))
    assert.equal('qs.Column("c", qs.Integer, {server_default = "4"})', col(qs.Integer, {server_default = "4"}))
    assert.equal('qs.Column("c", qs.Integer, {server_default = qs.text("1 + 1")})',
      col(qs.Integer, {server_default = qs.text("1 + 1")}))
    assert.equal('qs.Column("c", qs.DateTime, {server_default = qs.func.now()})',
      col(qs.DateTime, {server_default = qs.func.now()}))
    -- any other expression as its SQL text
    assert.equal('qs.Column("c", qs.Integer, {server_default = qs.text("lower(\'A\')")})',
      col(qs.Integer, {server_default = qs.func.lower("A")}))
    local err = select(2, pcall(emit.server_default, {}))
    assert.matches("cannot write the server_default", tostring(err and err.message or err))
  end)

  it("writes a foreign key on its column with every option, several columns on the table", function()
    local md = qs.MetaData()
    qs.Table("o", md, qs.Column("id", qs.Integer, {primary_key = true}), qs.Column("a", qs.Integer),
      qs.Column("b", qs.Integer))
    local t = qs.Table("p", md, qs.Column("id", qs.Integer, {primary_key = true}),
      qs.Column("o_id", qs.Integer, qs.ForeignKey("o.id", {name = "fk", ondelete = "CASCADE", onupdate = "SET NULL",
        deferrable = true, initially = "DEFERRED", use_alter = true})),
      qs.Column("a", qs.Integer), qs.Column("b", qs.Integer),
      qs.ForeignKeyConstraint({"a", "b"}, {"o.a", "o.b"}, {name = "fk_ab", deferrable = false}))
    assert.equal('qs.Column("o_id", qs.Integer, qs.ForeignKey("o.id", {name = "fk", ondelete = "CASCADE", ' ..
      'onupdate = "SET NULL", use_alter = true, deferrable = true, initially = "DEFERRED"}))', emit.column(t.c.o_id))
    -- the two-column key is not written on its columns
    assert.equal('qs.Column("a", qs.Integer)', emit.column(t.c.a))
    local multi = emit.multi_column_foreign_keys(t)
    assert.equal(1, #multi)
    assert.equal('qs.ForeignKeyConstraint({"a", "b"}, {"o.a", "o.b"}, {name = "fk_ab", deferrable = false})',
      emit.foreign_key_constraint(multi[1]))
  end)

  it("writes unique and check constraints with their options", function()
    local t = qs.Table("t", qs.MetaData(), qs.Column("a", qs.Integer), qs.Column("b", qs.Boolean),
      qs.UniqueConstraint("a", "b", {name = "uq", deferrable = true, initially = "IMMEDIATE"}),
      qs.UniqueConstraint("a"),
      qs.CheckConstraint(qs.column("a"):ge(0), {name = "ck"}),
      qs.CheckConstraint("a < 10"))
    local out = {}
    for _, con in ipairs(t.constraints) do
      if con.kind == "unique" then out[#out + 1] = emit.unique_constraint(con)
      elseif con.kind == "check" then out[#out + 1] = emit.check_constraint(con, t) end
    end
    assert.same({'qs.UniqueConstraint("a", "b", {name = "uq", deferrable = true, initially = "IMMEDIATE"})',
      'qs.UniqueConstraint("a")', 'qs.CheckConstraint(qs.text("a >= 0"), {name = "ck"})',
      'qs.CheckConstraint(qs.text("a < 10"))'}, out)
  end)

  it("writes each index option: unique, partial WHERE per database, method, prefix lengths", function()
    local t = qs.Table("t", qs.MetaData(), qs.Column("a", qs.Integer), qs.Column("live", qs.Boolean),
      qs.Column("body", qs.Text))
    local plain = qs.Index("ix_a", t.c.a)
    local partial = qs.Index("uq_a", t.c.a, {unique = true, postgresql_where = t.c.live:eq(true),
      sqlite_where = t.c.live:eq(true), postgresql_using = "btree"})
    local prefix = qs.Index("ix_body", t.c.body, t.c.a, {mysql_length = {body = 30, a = 4}})
    local one = qs.Index("ix_body1", t.c.body, {mysql_length = 10})
    assert.equal('qs.Index("ix_a", "a")', emit.index(plain))
    -- each WHERE as its own database's CREATE INDEX writes it
    assert.equal('qs.Index("uq_a", "a", {unique = true, postgresql_where = qs.text("live = true"), ' ..
      'sqlite_where = qs.text("live = 1"), postgresql_using = "btree"})', emit.index(partial))
    assert.equal('qs.Index("ix_body", "body", "a", {mysql_length = {["a"] = 4, ["body"] = 30}})', emit.index(prefix))
    assert.equal('qs.Index("ix_body1", "body", {mysql_length = 10})', emit.index(one))
    assert.same({"unique = true"}, emit.index_options(nil, true))
    assert.same({}, emit.index_options(nil, false))
  end)

  it("writes a table's own options", function()
    local t = qs.Table("t", qs.MetaData(), qs.Column("a", qs.Integer),
      {comment = "kept", mysql_engine = "InnoDB", mysql_charset = "utf8mb4", mysql_collate = "utf8mb4_bin"})
    assert.same({'comment = "kept"', 'mysql_engine = "InnoDB"', 'mysql_charset = "utf8mb4"',
      'mysql_collate = "utf8mb4_bin"'}, emit.table_options(t))
    assert.same({}, emit.table_options(qs.Table("u", qs.MetaData(), qs.Column("a", qs.Integer))))
  end)

  it("writes literals the same on every Lua", function()
    assert.equal("nil", emit.string(nil))
    assert.equal('"a\\"b"', emit.string('a"b'))
    assert.equal('{"a", "b"}', emit.list({"a", "b"}))
    assert.equal("{}", emit.list({}))
    assert.equal("", emit.options({}))
    assert.equal(", {a = 1}", emit.options({"a = 1"}))
    assert.equal("name", emit.key("name"))
    assert.equal('["my col"]', emit.key("my col"))
    assert.equal('["1x"]', emit.key("1x"))
  end)

  it("writes a column that makes the same column again", function()
    local md = qs.MetaData()
    qs.Table("o", md, qs.Column("id", qs.Integer, {primary_key = true}))
    local t = qs.Table("p", md, qs.Column("x", qs.Numeric(8, 3), qs.ForeignKey("o.id", {ondelete = "CASCADE"}),
      {nullable = false, server_default = "0", comment = "c"}))
    local again = qs.Table("q", md, make(emit.column(t.c.x)))
    assert.equal(emit.column(t.c.x), emit.column(again.c.x))
  end)
end)
