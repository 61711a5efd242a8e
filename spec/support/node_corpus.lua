-- spec/support/node_corpus.lua: what the Lua node constructors hand to the C
-- compiler. Run as a program of its own (spec/contract_spec.lua starts it),
-- so that core.compile can be wrapped before any quicksilver module keeps a
-- reference to it: every statement below is built through the public API and
-- compiled for every dialect, and each table that reaches core.compile is
-- recorded. It prints one line per carrier and field the C compiler may
-- read ("CARRIER<TAB>field"), for every field name of core.node_fields:
--   carrier = a node kind (SELECT, BIND, ...) or a table without _k named by
--   where it sits: type (a type object), options (core.compile's third
--   argument), for_update (SELECT's _for_update), on_conflict (INSERT's
--   _on_conflict), constraint (a constraint description of CREATE TABLE /
--   ADD CONSTRAINT), column_def (a column description of CREATE TABLE /
--   ADD COLUMN).
local core = require("quicksilver.core")

local seen_roots = {}
local real_compile = core.compile
core.compile = function(stmt, dialect, opts)
  seen_roots[#seen_roots + 1] = {stmt = stmt, opts = opts}
  return real_compile(stmt, dialect, opts)
end

local qs = require("quicksilver")
-- star() and grouping() have no public constructor: the module's own
local elements = require("quicksilver.sql.elements")

local KIND_NAME = {}
for name, code in pairs(core.kinds) do KIND_NAME[code] = name end

-- Where a table without _k sits decides what it is.
local CARRIER_OF = {_for_update = "for_update", _on_conflict = "on_conflict", constraint = "constraint",
  constraints = "constraint", columns = "column_def", column = "column_def"}

local function get(t, k)
  local ok, v = pcall(function() return t[k] end)
  if ok then return v end
  return nil
end

local carried = {}   -- carrier -> field -> true
local fields = core.node_fields

-- A field counts when it holds a value; a function only where the list
-- says the compiler calls one there (a method of the same name is not it).
local function record(carrier, t)
  local set = carried[carrier] or {}
  carried[carrier] = set
  for name, f in pairs(fields) do
    local v = get(t, name)
    if v ~= nil and (type(v) ~= "function" or (f.form or ""):find("function", 1, true)) then
      set[name] = true
    end
  end
end

local visited = {}
local function walk(t, via)
  if type(t) ~= "table" or visited[t] then return end
  visited[t] = true
  local k = rawget(t, "_k") or get(t, "_k")
  if type(k) == "number" and KIND_NAME[k] then
    record(KIND_NAME[k], t)
  elseif get(t, "_is_type") then
    record("type", t)
  elseif via then
    record(via, t)
  end
  for key, v in pairs(t) do
    if type(v) == "table" and type(key) == "string" then
      local carrier = CARRIER_OF[key]
      if carrier and rawget(v, "_k") == nil and rawget(v, 1) ~= nil then
        for _, item in ipairs(v) do
          if type(item) == "table" and get(item, "_k") == nil then walk(item, carrier) end
        end
        walk(v, nil)
      elseif carrier and get(v, "_k") == nil then
        walk(v, carrier)
      else
        walk(v, nil)
      end
    elseif type(v) == "table" then
      walk(v, nil)
    end
  end
end

-- The statements: every kind, every option the compiler reads.
local md = qs.MetaData()
local teams = qs.Table("teams", md,
  qs.Column("id", qs.Integer, {primary_key = true}),
  qs.Column("name", qs.String(30), {nullable = false, comment = "the name", server_default = "x"}),
  {comment = "teams", mysql_engine = "InnoDB", mysql_charset = "utf8mb4", mysql_collate = "utf8mb4_bin"})
local users = qs.Table("users", md,
  qs.Column("id", qs.Integer, {primary_key = true}),
  qs.Column("name", qs.String(50, {collation = "C"}), {nullable = false}),
  qs.Column("kind", qs.Enum("a", "b")),
  qs.Column("amount", qs.Numeric(10, 2)),
  qs.Column("at", qs.DateTime({timezone = true})),
  qs.Column("data", qs.JSON),
  qs.Column("team_id", qs.Integer, qs.ForeignKey("teams.id", {ondelete = "CASCADE", onupdate = "SET NULL",
    deferrable = true, initially = "DEFERRED"})),
  qs.UniqueConstraint("name", "team_id", {name = "uq_name"}),
  qs.CheckConstraint(qs.text("amount > 0"), {name = "ck_amount"}),
  {schema = nil})
local other = qs.Table("other", md, qs.Column("id", qs.Integer, {primary_key = true}),
  qs.Column("ref", qs.Integer, qs.ForeignKey("users.id", {use_alter = true, name = "fk_ref"})),
  {schema = "app"})
local third = qs.Table("third", md, qs.Column("id", qs.Integer, {primary_key = true}),
  qs.Column("other_id", qs.Integer, qs.ForeignKey("app.other.id")))
local u, t = users.c, teams.c
local ix = qs.Index("ix_users_name", u.name, {unique = true, postgresql_where = u.amount:gt(0),
  sqlite_where = u.amount:gt(0), postgresql_using = "btree", mysql_length = 10})
local boss = users:alias("boss")
local sub = qs.select(u.id, u.name):where(u.amount:gt(1)):subquery("s")
local rich = qs.select(u.id):where(u.amount:gt(100)):cte("rich", {recursive = true})
local ins = qs.insert(users):values({id = 1, name = "a"})

local statements = {
  qs.select(u.id, u.name:label("n"), qs.func.count(u.id), qs.literal_column("1"), qs.null, qs.true_(),
    qs.false_(), qs.literal(3), qs.cast(u.amount, qs.Integer), qs.cast(u.name, qs.Interval),
    qs.case({{u.id:eq(1), "one"}}, {else_ = "other"}), qs.case({{1, "one"}}, {value = u.id}),
    qs.func.rank():over({partition_by = u.team_id, order_by = u.id:desc(), rows = {qs.unbounded, 0}}),
    u.data:get("a"), u.data:get('a"b'), u.data:path({"a", 1}):as_string(), u.data:get(2):as_integer(),
    (qs.select(qs.func.max(u.id)):scalar_subquery()), qs.exists(qs.select(t.id)),
    qs.text("users.id AS tid"), boss.c.id, elements.star(users))
    :select_from(users:join(teams, u.team_id:eq(t.id), {isouter = true}):join(boss, boss.c.id:eq(u.id), {full = true}))
    :where(qs.and_(u.id:in_({1, 2}), u.id:not_in(qs.select(t.id)), u.amount:between(1, 2), qs.not_(u.id:eq(3)),
      u.name:like("a%", {escape = "!"}), u.name:ilike("b%"), qs.or_(u.id:lt(1), u.id:gt(2)), (u.id + 1):eq(-u.id),
      (u.name .. "x"):eq("y"), qs.text("users.id > :x"):bindparams({x = 1}), u.id:is_(nil), u.id:in_({}),
      qs.text("users.id = :y"):bindparams(qs.bindparam("y", 2, {type = qs.Integer})),
      elements.grouping(u.id):eq(1)))
    :group_by(u.name):having(qs.func.count(u.id):gt(1)):order_by(u.name:asc():nulls_first(), u.id)
    :limit(3):offset(2):distinct():with_for_update({read = true, nowait = true, skip_locked = true, of = {users}}),
  qs.select(u.id):with_for_update({key_share = true}),
  qs.select(u.team_id):distinct(u.team_id),
  qs.select(sub.c.id):where(sub.c.id:eq(qs.select(u.id):where(u.id:eq(sub.c.id)):correlate(users):scalar_subquery())),
  qs.select(u.id):where(u.id:eq(qs.select(t.id):where(t.id:eq(u.team_id)):correlate_except(teams):scalar_subquery())),
  qs.select(u.id):where(u.id:in_(qs.select(rich.c.id))),
  qs.union(qs.select(u.id):order_by(u.id):limit(1), qs.select(t.id)):order_by("id"):limit(2):offset(1),
  qs.union_all(qs.select(u.id), qs.select(t.id)),
  qs.insert(users):values({{id = 1, name = "a"}, {id = 2, name = "b"}}),
  qs.insert(users):values({name = "a"}):returning(u.id, (u.id + 1):label("n")),
  qs.insert(users):from_select({"id", "name"}, qs.select(t.id, t.name)),
  qs.insert(users),
  ins:on_conflict_do_update({index_elements = {"id"}, set_ = {name = ins.excluded.name}, where = u.id:gt(0)}),
  ins:on_conflict_do_update({constraint = "users_pkey", set_ = {name = "z"}}),
  ins:on_conflict_do_nothing(),
  ins:on_duplicate_key_update({name = ins.inserted.name}),
  qs.update(users):values({name = "x"}):where(u.team_id:eq(t.id)):returning(u.id),
  qs.delete(users):where(u.team_id:eq(t.id)):returning(u.id),
  qs.delete(users):where(u.id:eq(1)),
  qs.schema.CreateTable(users, {if_not_exists = true}),
  qs.schema.CreateTable(teams),
  qs.schema.CreateTable(other),
  qs.schema.CreateTable(third),
  qs.schema.DropTable(users, {if_exists = true}),
  qs.schema.CreateIndex(ix, {if_not_exists = true}),
  qs.schema.DropIndex(ix, {if_exists = true}),
  qs.schema.SetTableComment(teams),
  qs.schema.SetColumnComment(teams.c.name),
}
local ddl = require("quicksilver.sql.ddl")
for _, con in ipairs(ddl.alter_constraints(other)) do statements[#statements + 1] = ddl.AddConstraint(other, con) end
statements[#statements + 1] = ddl.AddColumn(teams, qs.Column("extra", qs.Integer, {server_default = "1", comment = "c"}))
statements[#statements + 1] = ddl.DropColumn(teams, "extra")
-- sequences, identity and computed columns, named enum types
local seq = qs.Sequence("gen_seq", {start = 1, increment = 2, minvalue = 1, maxvalue = 100, cycle = true,
  schema = "s"})
local gen = qs.Table("gen", md,
  qs.Column("id", qs.Integer, {primary_key = true, identity = {start = 1, increment = 1, always = true}}),
  qs.Column("n", qs.Integer, {sequence = seq}),
  qs.Column("twice", qs.Integer, {computed = {sqltext = "n * 2", persisted = false}}),
  qs.Column("mood", qs.Enum("a", "b", {name = "mood", schema = "s"})))
statements[#statements + 1] = qs.schema.CreateTable(gen)
statements[#statements + 1] = qs.schema.CreateSequence(seq, {if_not_exists = true})
statements[#statements + 1] = qs.schema.DropSequence(seq, {if_exists = true})
statements[#statements + 1] = qs.schema.CreateEnum(gen.c.mood.type)
statements[#statements + 1] = qs.schema.DropEnum(gen.c.mood.type, {if_exists = true})
statements[#statements + 1] = qs.select(seq:next_value())
statements[#statements + 1] = ddl.AlterColumn(teams, "name", {type = qs.String(40), nullable = true,
  server_default = "y", comment = "c"})
statements[#statements + 1] = ddl.RenameColumn(teams, "name", "title")
statements[#statements + 1] = ddl.RenameTable(teams, "crews")
statements[#statements + 1] = ddl.DropConstraint(users, {name = "uq_name", kind = "unique"})
statements[#statements + 1] = ddl.DropConstraint(other, {name = "fk_ref", kind = "foreign_key"})
-- operators (sql/operators.lua, c/compiler/operators.c)
statements[#statements + 1] = qs.select(u.name:op("<->", {precedence = 5})("x"), u.name:collate("C"),
  u.name:regexp_replace("a", "b", {flags = "g"}), qs.case(u.kind, {a = 1}, {else_ = 0}),
  qs.func.count(u.id):filter(u.id:gt(1)), qs.func.percentile_cont(0.5):within_group(u.id):over({}))
  :where(qs.and_(u.name:regexp_match("a", {flags = "i"}), u.id:is_distinct_from(1), u.id:is_not_distinct_from(2)))

-- issue 24: FETCH FIRST, LATERAL, values(), TABLESAMPLE, table-valued functions, prefixes
do
  local lat = qs.select(t.id):where(t.id:eq(u.team_id)):lateral("lat")
  local v = qs.values(qs.column("a", qs.Integer), {name = "v", literal_binds = true}):data({{1}})
  local ts = users:tablesample(qs.func.bernoulli(1), {name = "ts", seed = 1})
  local fv = qs.func.json_each(u.name):table_valued("key"):render_derived()
  for _, stmt in ipairs({
    qs.select(u.id):order_by(u.id):fetch(2, {with_ties = true, percent = true}):offset(1)
      :prefix_with("SQL_NO_CACHE", {dialect = "mysql"}):suffix_with("X", {dialect = "mysql"}),
    qs.union(qs.select(u.id), qs.select(t.id)):fetch(1, {with_ties = true, percent = true}),
    qs.select(u.id, lat.c.id):join_from(users, lat, qs.true_()),
    qs.select(v.c.a), qs.select(ts.c.id), qs.select(fv.c.key),
    qs.insert(users):prefix_with("IGNORE", {dialect = "mysql"}),
    qs.update(users):prefix_with("LOW_PRIORITY", {dialect = "mysql"}):ordered_values({u.name, "x"}),
    qs.delete(users):prefix_with("QUICK", {dialect = "mysql"}),
  }) do statements[#statements + 1] = stmt end
end
-- PostgreSQL ARRAY and JSONB (sql/pg_ops.lua)
local pgt = qs.Table("pgt", md, qs.Column("id", qs.Integer, {primary_key = true}),
  qs.Column("tags", qs.ARRAY(qs.Integer, {dimensions = 2})), qs.Column("doc", qs.JSONB))
statements[#statements + 1] = qs.schema.CreateTable(pgt)
statements[#statements + 1] = qs.select(pgt.c.tags:item(1):item(2), pgt.c.tags:slice(1, 2), qs.array({1, 2}))
  :where(qs.and_(pgt.c.id:eq(qs.any_(qs.array({1}))), pgt.c.id:lt(qs.all_(qs.select(pgt.c.id))),
    pgt.c.doc:has_key("a"), pgt.c.tags:contains({{1}})))

-- IN over a list holding an expression (one element each), tuples, type_coerce
statements[#statements + 1] = qs.select(qs.type_coerce(u.name, qs.JSON), u.id):where(u.id:in_({u.team_id, 5}),
  qs.tuple_(u.id, u.name):in_({{1, "a"}}), qs.tuple_(u.id, u.name):eq({1, "a"}))

for _, stmt in ipairs(statements) do
  for _, dialect in ipairs({"sqlite", "postgresql", "mysql", "mariadb"}) do
    pcall(function() return stmt:compile({dialect = dialect}) end)
    pcall(function() return stmt:compile({dialect = dialect, literal_binds = true}) end)
    pcall(function() return stmt:compile({dialect = dialect, schema_translate_map = {__none = "s1"}}) end)
  end
end
for _, root in ipairs(seen_roots) do
  walk(root.stmt, nil)
  if type(root.opts) == "table" then
    record("options", root.opts)
    walk(root.opts, nil)
  end
end

local lines = {}
for carrier, set in pairs(carried) do
  for name in pairs(set) do lines[#lines + 1] = carrier .. "\t" .. name end
end
table.sort(lines)
io.write(table.concat(lines, "\n"), "\n")
