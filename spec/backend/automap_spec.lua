-- Automap and the schema commands on every backend: a schema made by hand
-- in SQL is mapped without writing models, rows are saved and loaded
-- through the classes, and `quicksilver models` writes models that load and
-- map the same database.
local qs = require("quicksilver")
local orm = require("quicksilver.orm")
local automap = require("quicksilver.ext.automap")
local helpers = require("spec.helpers")
local raises = helpers.assert_raises_kind

describe("automap on " .. helpers.backend, function()
  local engine, url

  before_each(function()
    engine = helpers.backend_engine()
    url = helpers.backend_url()
    if helpers.on("sqlite") then
      engine:dispose()
      engine = qs.create_engine(url)
    end
    engine:begin(function(c)
      c:exec_driver_sql("CREATE TABLE users (id INTEGER NOT NULL PRIMARY KEY, name VARCHAR(20) NOT NULL)")
      c:exec_driver_sql("CREATE TABLE addresses (id INTEGER NOT NULL PRIMARY KEY, user_id INTEGER NOT NULL, " ..
        "email VARCHAR(30), FOREIGN KEY (user_id) REFERENCES users (id))")
      c:exec_driver_sql("CREATE TABLE tags (id INTEGER NOT NULL PRIMARY KEY, label VARCHAR(20))")
      c:exec_driver_sql("CREATE TABLE user_tags (user_id INTEGER NOT NULL, tag_id INTEGER NOT NULL, " ..
        "PRIMARY KEY (user_id, tag_id), FOREIGN KEY (user_id) REFERENCES users (id), " ..
        "FOREIGN KEY (tag_id) REFERENCES tags (id))")
      c:exec_driver_sql("CREATE TABLE nodes (id INTEGER NOT NULL PRIMARY KEY, parent_id INTEGER, " ..
        "FOREIGN KEY (parent_id) REFERENCES nodes (id))")
      c:exec_driver_sql("CREATE TABLE messages (id INTEGER NOT NULL PRIMARY KEY, sender_id INTEGER, " ..
        "recipient_id INTEGER, FOREIGN KEY (sender_id) REFERENCES users (id), " ..
        "FOREIGN KEY (recipient_id) REFERENCES users (id))")
      c:exec_driver_sql("INSERT INTO users (id, name) VALUES (1, 'ada')")
      c:exec_driver_sql("INSERT INTO addresses (id, user_id, email) VALUES (1, 1, 'a@x')")
    end)
  end)

  after_each(function()
    orm.close_all_sessions()
    engine:begin(function(conn) engine.dialect.drop_everything(conn) end)
    engine:dispose()
    helpers.cleanup()
  end)

  it("maps every table with relationships from the foreign keys", function()
    local Base = automap.automap_base()
    Base:prepare({autoload_with = engine})
    local User, Address, Tag, Node = Base.classes.users, Base.classes.addresses, Base.classes.tags,
      Base.classes.nodes
    assert.truthy(User and Address and Tag and Node)
    assert.is_nil(Base.classes.user_tags)             -- an association table: no class
    local s = orm.Session(engine)
    local u = s:get(User, 1)
    assert.equal("ada", u.name)
    assert.equal(1, #u.addresses_collection)
    assert.equal(u, u.addresses_collection[1].users)
    u.tags_collection = {Tag({id = 1, label = "x"})}
    s:add(Address({id = 2, email = "b@x", users = u}))
    local root = Node({id = 1})
    s:add(Node({id = 2, parent = root}))
    s:commit()
    s:close()
    local u2 = s:get(User, 1)
    assert.equal(2, #u2.addresses_collection)
    assert.equal("x", u2.tags_collection[1].label)
    assert.equal(u2, s:get(Tag, 1).users_collection[1])
    assert.equal(1, s:get(Node, 2).parent.id)
    -- two foreign keys to one table: named after their columns, each with its own backref
    local Message = Base.classes.messages
    local bob = User({id = 2, name = "bob"})
    s:add(Message({id = 1, sender = s:get(User, 1), recipient = bob}))
    s:commit()
    s:close()
    assert.equal(1, #s:get(User, 1).messages_collection)
    assert.equal(0, #s:get(User, 1).messages_collection_)
    assert.equal(1, #s:get(User, 2).messages_collection_)
    assert.equal("bob", s:get(Message, 1).recipient.name)
    raises(qs.exc.ArgumentError, function() automap.automap_base():prepare({}) end)
  end)

  it("quicksilver inspect and models describe and map the same database", function()
    -- the exit status comes back in the output: Lua 5.1's popen:close() does not give it
    local function run(cmd)
      local p = io.popen(string.format("LUA_PATH=%q LUA_CPATH=%q %q bin/quicksilver %s %q 2>&1; echo \"rc=$?\"",
        package.path, package.cpath, helpers.interpreter(), cmd, url))
      local out = p:read("*a")
      p:close()
      local body, rc = out:match("^(.-)rc=(%d+)%s*$")
      return tonumber(rc) == 0, body
    end
    local ok, text = run("inspect")
    assert.is_true(ok, text)
    assert.matches("table addresses", text, 1, true)
    assert.matches("foreign key (user_id) -> users (id)", text, 1, true)
    local ok2, code = run("models")
    assert.is_true(ok2, code)
    local M = assert(load(code, "=models"))()
    local s = orm.Session(engine)
    local u = s:get(M.Users, 1)
    assert.equal("ada", u.name)
    s:add(M.Addresses({id = 3, user_id = 1, email = "c@x"}))
    s:commit()
    assert.equal(2, s:scalar(qs.select(qs.func.count()):select_from(M.Addresses)))
    -- the relationships automap would make, written out: both sides, self-reference,
    -- two foreign keys to one table
    assert.matches('users = orm.relationship("Users", {backref = "addresses_collection"})', code, 1, true)
    assert.equal(2, #u.addresses_collection)
    assert.equal(u, u.addresses_collection[1].users)
    local bob = M.Users({id = 2, name = "bob"})
    s:add(M.Addresses({id = 4, email = "d@x", users = bob}))
    s:add(M.Messages({id = 1, sender = u, recipient = bob}))
    s:add(M.Nodes({id = 2, parent = M.Nodes({id = 1})}))
    s:commit()
    s:close()
    assert.equal(1, #s:get(M.Users, 2).addresses_collection)
    assert.equal(1, #s:get(M.Users, 1).messages_collection)
    assert.equal(1, #s:get(M.Users, 2).messages_collection_)
    assert.equal(1, s:get(M.Nodes, 2).parent.id)
    assert.equal(1, #s:get(M.Nodes, 1).nodes_collection)
    local bad, msg = run("bogus")
    assert.is_false(bad)
    assert.matches("unknown command", msg)
  end)
end)
