-- Option tables outside the sql layer refuse what they would otherwise
-- ignore, naming it: create_engine (and SQLite's options with another URL),
-- URL query keys, event.listen, Session, sessionmaker, Session:execute/get,
-- relationship, backref, hybrids, the migrations' config, revision, op.* and
-- batch.* options. Every place goes through util.check_options.
local qs = require("quicksilver")
local orm = require("quicksilver.orm")
local util = require("quicksilver.util")
local migrate = require("quicksilver.migrate")
local op_mod = require("quicksilver.migrate.op")
local helpers = require("spec.helpers")
local raises = helpers.assert_raises_kind

local function refused(name, fn)
  local err = raises(qs.exc.ArgumentError, fn)
  assert.matches("unknown option '" .. name .. "'", err.message, 1, true)
  return err
end

describe("util.check_options", function()
  it("passes known keys and nil, refuses the first unknown key by name and non-tables", function()
    local known = util.set({"a", "b", "postgresql_where", "sqlite_where"})
    assert.same({}, util.check_options("f", nil, known))
    local o = {a = 1}
    assert.equal(o, util.check_options("f", o, known))
    local err = refused("c", function() util.check_options("f", {a = 1, d = 2, c = 3}, known) end)
    assert.matches("^f: ", err.message)
    raises(qs.exc.ArgumentError, function() util.check_options("f", "a", known) end)
    err = refused("postgresql_using", function() util.check_options("f", {postgresql_using = "gin"}, known) end)
    assert.matches("(its postgresql options: postgresql_where)", err.message, 1, true)
    err = refused("mysql_length", function() util.check_options("f", {mysql_length = 3}, known) end)
    assert.matches("(it takes no mysql options)", err.message, 1, true)
  end)
end)

describe("engine and ORM options", function()
  after_each(function() helpers.cleanup() end)

  it("create_engine refuses echo_pool and SQLite's options on another database's URL", function()
    refused("echo_pool", function() qs.create_engine("sqlite://", {echo_pool = true}) end)
    refused("pool_sise", function() qs.create_engine("sqlite://", {pool_sise = 3}) end)
    for _, k in ipairs({"busy_timeout", "sqlite_foreign_keys", "sqlite_transaction_mode"}) do
      local err = raises(qs.exc.ArgumentError, function()
        qs.create_engine("postgresql://u@localhost/db", {[k] = k == "busy_timeout" and 10 or false})
      end)
      assert.matches("option '" .. k .. "' is SQLite's", err.message, 1, true)
    end
    qs.create_engine("sqlite://", {sqlite_foreign_keys = false, busy_timeout = 100}):dispose()
  end)

  it("refuses unknown URL query keys and event.listen options", function()
    refused("sslmod", function() qs.create_engine("postgresql://u@localhost/db?sslmod=require") end)
    local e = qs.create_engine("sqlite://")
    refused("onse", function() qs.event.listen(e, "before_cursor_execute", function() end, {onse = true}) end)
    e:dispose()
  end)

  it("Session, sessionmaker, Session:execute and get refuse what they do not implement", function()
    local e = qs.create_engine("sqlite://")
    for _, k in ipairs({"twophase", "join_transaction_mode", "class_"}) do
      refused(k, function() orm.Session(e, {[k] = true}) end)
      refused(k, function() orm.sessionmaker({bind = e, [k] = true}) end)
    end
    local Base = orm.declarative_base()
    local Thing = Base:model("Thing", {__tablename = "things", id = orm.mapped_column(qs.Integer, {primary_key = true})})
    Base.metadata:create_all(e)
    local s = orm.Session(e)
    refused("with_for_update", function() s:get(Thing, 1, {with_for_update = true}) end)
    refused("bind_arguments", function() s:execute(qs.select(Thing), nil, {bind_arguments = {}}) end)
    assert.is_nil(s:get(Thing, 1, {execution_options = {}}))
    s:close()
    e:dispose()
  end)

  it("relationship, backref and hybrids refuse options they would ignore", function()
    refused("single_parent", function() orm.relationship("X", {single_parent = true}) end)
    refused("innerjoin", function() orm.relationship("X", {innerjoin = true}) end)
    raises(qs.exc.ArgumentError, function() orm.relationship("X", {cascade_backrefs = true}) end)
    orm.relationship("X", {cascade_backrefs = false})
    refused("lazyy", function() orm.backref("xs", {lazyy = "joined"}) end)
    refused("deleter", function() orm.hybrid_property(function() end, {deleter = function() end}) end)
    refused("setter", function() orm.hybrid_method(function() end, {setter = function() end}) end)
  end)
end)

describe("migration options", function()
  local dir

  before_each(function()
    dir = os.tmpname()
    os.remove(dir)
    os.execute(string.format("mkdir -p %q", dir .. "/versions"))
  end)

  after_each(function()
    os.execute(string.format("rm -rf %q", dir))
    helpers.cleanup()
  end)

  it("the config and env.lua refuse a misspelt setting (an include_objects that would drop tables)", function()
    refused("include_objects", function() migrate.current({dir = dir, url = "sqlite://", include_objects = print}) end)
    local f = assert(io.open(dir .. "/env.lua", "w"))
    f:write("return {url = 'sqlite://', target_metdata = nil, compare_types = false}\n")
    f:close()
    refused("compare_types", function() migrate.current({dir = dir}) end)
    os.remove(dir .. "/env.lua")
    refused("mesage", function() migrate.revision({dir = dir, url = "sqlite://"}, {mesage = "x"}) end)
  end)

  it("op.* and batch.* refuse options they do not take", function()
    local e = qs.create_engine("sqlite:///" .. helpers.tmpdb())
    e:begin(function(c)
      c:exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY, a INTEGER)")
      local op = op_mod.new(c)
      refused("if_exists", function() op.drop_table("t", {if_exists = true}) end)
      refused("postgresql_ops", function() op.create_index("ix", "t", {"a"}, {postgresql_ops = {}}) end)
      refused("mysql_length", function() op.create_index("ix", "t", {"a"}, {mysql_length = 4}) end)
      refused("match", function() op.create_foreign_key("fk", "t", "u", {"a"}, {"id"}, {match = "FULL"}) end)
      refused("existing_autoincrement", function() op.alter_column("t", "a", {existing_autoincrement = true}) end)
      refused("typ", function() op.drop_constraint("x", "t", {type = "unique", type_ = "unique", typ = 1}) end)
      refused("sqlite_where", function()
        op.batch_alter_table("t", function(batch) batch.create_unique_constraint("uq", {"a"}, {sqlite_where = "a > 0"}) end)
      end)
      refused("schema", function()
        op.batch_alter_table("t", function(batch) batch.drop_column("a", {schema = "main"}) end)
      end)
      -- SQLite keeps no comments: refused by name
      local err = raises(qs.exc.NotSupportedError, function() op.alter_column("t", "a", {comment = "x"}) end)
      assert.matches("(comment)", err.message, 1, true)
    end)
    e:dispose()
  end)
end)
