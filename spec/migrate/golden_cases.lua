-- golden_cases.lua: the source the emitters write and the SQL the
-- operations write offline, for golden_spec.lua (which compares each with
-- its file in spec/migrate/golden/). Every type, option and operation,
-- with their refusals, on every dialect, without a server.
local qs = require("quicksilver")
local ag = require("quicksilver.migrate.autogenerate")
local schema_cli = require("quicksilver.cli.schema")
local offline = require("quicksilver.migrate.offline")
local opm = require("quicksilver.migrate.op")
local M = {}

local function rich_md()
  local md = qs.MetaData()
  qs.Table("owners", md, qs.Column("id", qs.Integer, {primary_key = true, autoincrement = false}),
    qs.Column("a", qs.Integer), qs.Column("b", qs.Integer), qs.UniqueConstraint("a", "b", {name = "uq_ab",
      deferrable = true, initially = "DEFERRED"}))
  local pets = qs.Table("pets", md, qs.Column("id", qs.Integer, {primary_key = true}),
    qs.Column("owner_id", qs.Integer, qs.ForeignKey("owners.id", {name = "fk_pets_owner", ondelete = "CASCADE",
      onupdate = "CASCADE", deferrable = true, initially = "DEFERRED"})),
    qs.Column("name", qs.String(20), {comment = "the pet's name", nullable = false}),
    qs.Column("live", qs.Boolean, {server_default = qs.text("1")}),
    qs.Column("legs", qs.Integer, {server_default = "4"}),
    qs.Column("born", qs.DateTime({timezone = true}), {server_default = qs.func.now()}),
    qs.Column("at", qs.DateTime), qs.Column("price", qs.Numeric(10, 2)), qs.Column("p2", qs.Numeric(5)),
      qs.Column("p3", qs.Numeric),
    qs.Column("blob", qs.LargeBinary(16)), qs.Column("blob2", qs.LargeBinary), qs.Column("kind", qs.Enum("cat", "dog")),
    qs.Column("u", qs.Unicode(9)), qs.Column("ut", qs.UnicodeText), qs.Column("f", qs.Float), qs.Column("d", qs.Date),
    qs.Column("j", qs.JSON), qs.Column("s", qs.String), qs.Column("bi", qs.BigInteger),
    qs.Column("a", qs.Integer), qs.Column("b", qs.Integer),
    qs.ForeignKeyConstraint({"a", "b"}, {"owners.a", "owners.b"}, {name = "fk_ab", ondelete = "SET NULL"}),
    qs.CheckConstraint(qs.column("legs"):ge(0), {name = "ck_pets_legs"}),
    qs.UniqueConstraint("name", "legs"),
    qs.Column("story", qs.Text),
    {comment = "pets kept", mysql_engine = "InnoDB", mysql_charset = "utf8mb4", mysql_collate = "utf8mb4_bin"})
  qs.Index("ix_pets_story", pets.c.story, {mysql_length = {story = 30}})
  qs.Index("ix_pets_name", pets.c.name, {mysql_length = 10, postgresql_using = "btree"})
  qs.Index("uq_pets_live_name", pets.c.name, {unique = true, postgresql_where = pets.c.live:eq(true),
    sqlite_where = pets.c.live:eq(true)})
  return md, pets
end

--- The revision source autogenerate writes for one difference of every kind, plain and batch.
function M.render()
  local out = {}
  local function w(...) for _, s in ipairs({...}) do out[#out + 1] = s end end
  local md, pets = rich_md()
  local owners = md.tables.owners
  local diffs = {}
  for _, t in ipairs(md:sorted_tables()) do diffs[#diffs + 1] = {kind = "add_table", table = t.name, t = t} end
  diffs[#diffs + 1] = {kind = "remove_table", table = "owners", t = owners}
  local T = "pets"
  local add = function(d) d.table = d.table or T; diffs[#diffs + 1] = d end
  add({kind = "add_column", column = pets.c.born})
  add({kind = "add_column", column = pets.c.owner_id})
  add({kind = "remove_column", name = "gone", column = pets.c.legs})
  add({kind = "modify_nullable", name = "name", nullable = false, was = true, type = qs.String(20)})
  add({kind = "modify_type", name = "legs", type = qs.BigInteger, was = qs.Integer, nullable = true})
  add({kind = "add_index", name = "uq_pets_live_name", columns = {"name"}, unique = true, index = pets.indexes[3]})
  for _, ix in ipairs(pets.indexes) do add({kind = "add_index", name = ix.name, columns = {"x"}, unique = ix.unique,
    index = ix}) end
  add({kind = "remove_index", name = "ix_old", columns = {"a", "b"}, unique = false})
  add({kind = "add_unique", name = nil, columns = {"a", "b"},
    constraint = owners.constraints[2] or {deferrable = true, initially = "IMMEDIATE"}})
  add({kind = "add_unique", name = "uq_x", columns = {"a"}})
  add({kind = "remove_unique", name = "uq_y", columns = {"b"}})
  add({kind = "add_fk", name = "fk_z", columns = {"a"}, referred = "owners", referred_columns = {"id"},
    ondelete = "CASCADE", deferrable = false})
  add({kind = "remove_fk", name = "fk_w", columns = {"b"}, referred = "owners", referred_columns = {"id"}})
  add({kind = "add_column", table = "owners", column = qs.Column("c", qs.String(5), {comment = "x"})})
  local up, down = ag.render(diffs)
  w("== up\n", up, "== down\n", down)
  up, down = ag.render(diffs, {render_as_batch = true})
  w("== batch up\n", up, "== batch down\n", down)
  for _, d in ipairs(diffs) do w(ag.describe(d), "\n") end
  w("== no differences\n", ag.render({}))
  return table.concat(out)
end

--- `quicksilver models` and `quicksilver inspect` on a SQLite file holding every shape models maps.
function M.models()
  local out = {}
  local function w(...) for _, s in ipairs({...}) do out[#out + 1] = s end end
  local path = os.tmpname()
  os.remove(path)
  local e = qs.create_engine("sqlite:///" .. path)
  e:begin(function(c)
    for _, s in ipairs({
      "CREATE TABLE users (id INTEGER PRIMARY KEY, name VARCHAR(30) NOT NULL, email VARCHAR(50) UNIQUE, created " ..
        "TIMESTAMP DEFAULT CURRENT_TIMESTAMP, score NUMERIC(8, 3), metadata TEXT, \"my col\" INTEGER, __x INTEGER, " ..
        "CONSTRAINT uq_name UNIQUE (name, score))",
      "CREATE TABLE addresses (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users(id) ON DELETE CASCADE ON " ..
        "UPDATE SET NULL, email TEXT, CHECK (length(email) > 2))",
      "CREATE INDEX ix_addr_email ON addresses (email)",
      "CREATE UNIQUE INDEX ux_addr_user ON addresses (user_id, email)",
      "CREATE TABLE nodes (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES nodes(id))",
      "CREATE TABLE messages (id INTEGER PRIMARY KEY, sender_id INTEGER REFERENCES users(id), recipient_id INTEGER " ..
        "REFERENCES users(id))",
      "CREATE TABLE pairs (a INTEGER NOT NULL, b INTEGER NOT NULL, v BLOB, PRIMARY KEY (a, b))",
      "CREATE TABLE refs (id TEXT PRIMARY KEY, pa INTEGER, pb INTEGER, CONSTRAINT fk_pair FOREIGN KEY (pa, pb) " ..
        "REFERENCES pairs (a, b) ON DELETE CASCADE)",
      "CREATE TABLE nopk (x INTEGER, y REAL)",
      "CREATE TABLE \"2things\" (id INTEGER PRIMARY KEY, flag BOOLEAN DEFAULT 0, d DATE, dt DATETIME)",
    }) do c:exec_driver_sql(s) end
  end)
  e:dispose()
  local url = "sqlite:///" .. path
  local function plain(text) return (text:gsub(url:gsub("%p", "%%%0"), "sqlite:///<db>")) end
  w(plain(schema_cli.models(url)), "== inspect\n", schema_cli.inspect(url))
  os.remove(path)
  return table.concat(out)
end

--- The SQL each operation writes offline, and its refusals, per dialect.
function M.op()
  local out = {}
  local function w(...) for _, s in ipairs({...}) do out[#out + 1] = s end end
  for _, dn in ipairs({"sqlite", "postgresql", "mysql", "mariadb"}) do
    w("== ", dn, "\n")
    local function try(name, f)
      local conn = offline.new(dn)
      local op = opm.new(conn)
      local ok, err = pcall(f, op, conn)
      w("-- ", name, "\n")
      for _, l in ipairs(conn.lines) do w(l, "\n") end
      if not ok then w("ERR ", tostring(err and err.message or err):gsub("\n.*", ""), "\n") end
    end
    try("create_table", function(op) op.create_table("t", qs.Column("id", qs.Integer, {primary_key = true}),
      qs.Column("n", qs.String(5), {comment = "c1"}), qs.Column("o", qs.Integer, qs.ForeignKey("o.id")),
        qs.Index("ix_t_n", "n"), {comment = "tc"}) end)
    try("create_table colon", function(op) op:create_table("t2", qs.Column("id", qs.Integer, {primary_key = true})) end)
    try("drop_table", function(op) op.drop_table("t", {schema = "s"}) end)
    try("drop_table bad", function(op) op.drop_table("t", {bogus = 1}) end)
    try("drop_table noname", function(op) op.drop_table("") end)
    try("add_column", function(op) op.add_column("t", qs.Column("x", qs.Integer, {comment = "cx", nullable = false,
      server_default = "0"})) end)
    try("add_column bad", function(op) op.add_column("t", "x") end)
    try("drop_column", function(op) op.drop_column("t", "x", {schema = "s"}) end)
    try("drop_column bad", function(op) op.drop_column("t", 3) end)
    try("rename_table", function(op) op.rename_table("t", "u") end)
    try("rename_table bad", function(op) op.rename_table("t", "") end)
    try("create_index", function(op) op.create_index("ix", "t", {"a", "b"}, {unique = true,
      postgresql_where = "a > 1", sqlite_where = "a > 2", postgresql_using = "hash", mysql_length = 4}) end)
    try("create_index expr", function(op) op.create_index("ix2", "t", {qs.column("a"), "b"}, {schema = "s"}) end)
    try("create_index bad", function(op) op.create_index("ix", "t", {}) end)
    try("create_index badopt", function(op) op.create_index("ix", "t", {"a"}, {where = "x"}) end)
    try("drop_index", function(op) op.drop_index("ix", "t") end)
    try("drop_index notable", function(op) op.drop_index("ix") end)
    try("execute", function(op) op.execute("UPDATE t SET a = 1") end)
    try("execute params", function(op) op.execute(qs.text("UPDATE t SET a = :v"), {v = 3}) end)
    try("bulk_insert", function(op) op.bulk_insert(qs.table("t", qs.column("a"), qs.column("b")), {{a = 1, b = "x"},
      {a = 2, b = "y"}}) end)
    try("bulk_insert empty", function(op) op.bulk_insert(qs.table("t", qs.column("a")), {}) end)
    try("bulk_insert bad", function(op) op.bulk_insert("t", {}) end)
    try("alter_column full", function(op) op.alter_column("t", "a", {type = qs.String(9), nullable = false,
      server_default = "z", new_column_name = "aa", comment = "hi", existing_comment = "old"}) end)
    try("alter_column existing", function(op) op.alter_column("t", "a", {nullable = true,
      existing_type = qs.Integer, existing_server_default = qs.text("5")}) end)
    try("alter_column existing2", function(op) op.alter_column("t", "a", {type_ = qs.Integer,
      existing_nullable = false, existing_comment = "kept"}) end)
    try("alter_column drop default", function(op) op.alter_column("t", "a", {server_default = false,
      existing_type = qs.Integer, existing_nullable = true, existing_comment = false}) end)
    try("alter_column comment only", function(op) op.alter_column("t", "a", {comment = "only",
      existing_type = qs.Integer, existing_nullable = true}) end)
    try("alter_column comment remove", function(op) op.alter_column("t", "a", {comment = false,
      existing_type = qs.Integer, existing_nullable = true}) end)
    try("alter_column need", function(op) op.alter_column("t", "a", {nullable = false}) end)
    try("alter_column need comment", function(op) op.alter_column("t", "a", {nullable = false,
      existing_type = qs.Integer}) end)
    try("alter_column rename", function(op) op.alter_column("t", "a", {new_column_name = "b"}) end)
    try("alter_column badcomment", function(op) op.alter_column("t", "a", {comment = 3}) end)
    try("alter_column badopt", function(op) op.alter_column("t", "a", {length = 3}) end)
    try("create_unique_constraint", function(op) op.create_unique_constraint("uq", "t", {"a", "b"},
      {deferrable = true, initially = "DEFERRED"}) end)
    try("create_foreign_key", function(op) op.create_foreign_key("fk", "t", "o", {"a"}, {"id"},
      {ondelete = "CASCADE", onupdate = "RESTRICT", source_schema = "s", referent_schema = "r"}) end)
    try("create_primary_key", function(op) op.create_primary_key("pk", "t", {"a", "b"}) end)
    try("create_primary_key bad", function(op) op.create_primary_key("pk", "t", {}) end)
    try("create_check_constraint", function(op) op.create_check_constraint("ck", "t", "a > 0") end)
    try("create_check_constraint expr", function(op) op.create_check_constraint("ck", "t", qs.column("a"):gt(1)) end)
    try("drop_constraint fk", function(op) op.drop_constraint("fk", "t", {type_ = "foreignkey"}) end)
    try("drop_constraint uq", function(op) op.drop_constraint("uq", "t", {type = "unique"}) end)
    try("drop_constraint ck", function(op) op.drop_constraint("ck", "t", {type_ = "check"}) end)
    try("drop_constraint pk", function(op) op.drop_constraint("pk", "t", {type_ = "primary"}) end)
    try("get_bind", function(op, conn) assert(op.get_bind() == conn and op:get_bind() == conn) end)
    try("batch", function(op) op.batch_alter_table("t", function(b) b.add_column(qs.Column("z",
      qs.Integer)); b.drop_column("y"); b.alter_column("a", {nullable = false, existing_type = qs.Integer,
      existing_comment = false}); b.create_index("ixb", {"a"},
      {unique = true}); b.drop_index("ixc"); b.create_unique_constraint("uqb", {"a"}); b.create_foreign_key("fkb",
      "o", {"a"}, {"id"}); b.create_check_constraint("ckb", "a > 0"); b.create_primary_key("pkb",
      {"a"}); b.drop_constraint("fkb", {type_ = "foreignkey"}) end) end)
    try("batch badopt", function(op) op.batch_alter_table("t", function(b) b.add_column(qs.Column("z", qs.Integer),
      {schema = "s"}) end) end)
    try("batch bad", function(op) op.batch_alter_table("t") end)
  end
  return table.concat(out)
end

return M
