-- The ORM tutorial's flow (docs/ORM_TUTORIAL.md, examples/orm_quickstart.lua)
-- in 10 concurrent coroutines, each with its own Session, under each
-- scheduler: every coroutine sees what it would see alone, and the database
-- ends as after the same 10 runs one after another.
local qs = require("quicksilver")
local orm = require("quicksilver.orm")
local helpers = require("spec.helpers")
local support = require("spec.async.support")

local server = helpers.on("postgresql", "mysql")

local function models()
  local Base = orm.declarative_base()
  local User = Base:model("User", {
    __tablename = "async_user",
    id = orm.mapped_column(qs.Integer, {primary_key = true}),
    name = orm.mapped_column(qs.String(30), {nullable = false}),
    fullname = orm.mapped_column(qs.String(60)),
    addresses = orm.relationship("Address", {back_populates = "user", cascade = "all, delete-orphan",
      order_by = "Address.email_address"}),
  })
  local Address = Base:model("Address", {
    __tablename = "async_address",
    id = orm.mapped_column(qs.Integer, {primary_key = true}),
    email_address = orm.mapped_column(qs.String(50), {nullable = false}),
    user_id = orm.mapped_column(qs.ForeignKey("async_user.id"), {nullable = false}),
    user = orm.relationship("User", {back_populates = "addresses"}),
  })
  return Base, User, Address
end

-- The tutorial for tenant t (its own names): a transcript with no ids in it.
local function tutorial(Session, User, Address, t, pause)
  local log = {}
  local function say(fmt, ...) log[#log + 1] = string.format(fmt, ...) end
  local function n(s) return t .. "_" .. s end
  local session = Session()

  local spongebob = User({name = n("spongebob"), fullname = "Spongebob Squarepants",
    addresses = {Address({email_address = n("spongebob@sqlalchemy.org")})}})
  local sandy = User({name = n("sandy"), fullname = "Sandy Cheeks", addresses = {
    Address({email_address = n("sandy@sqlalchemy.org")}),
    Address({email_address = n("sandy@squirrelpower.org")})}})
  local patrick = User({name = n("patrick"), fullname = "Patrick Star"})
  session:add_all({spongebob, sandy, patrick})
  session:commit()
  pause()

  for _, u in ipairs(session:scalars(qs.select(User):where(User.name:in_({n("spongebob"), n("sandy")}))
      :order_by(User.name)):all()) do
    say("user %s has %d address(es)", u.name, #u.addresses)   -- a lazy load each
  end
  local found = session:scalars(qs.select(Address):join(Address.user)
    :where(User.name:eq(n("sandy"))):where(Address.email_address:eq(n("sandy@sqlalchemy.org")))):one()
  say("found %s", found.email_address)
  pause()

  local again = session:get(User, patrick.id)
  say("identity map: %s", tostring(rawequal(again, patrick)))
  table.insert(patrick.addresses, Address({email_address = n("patrickstar@sqlalchemy.org")}))
  sandy.fullname = "Sandy Squirrel"
  session:commit()
  say("sandy is %s; patrick has %d address", sandy.fullname, #patrick.addresses)
  pause()

  for i, a in ipairs(sandy.addresses) do
    if a.email_address == n("sandy@sqlalchemy.org") then table.remove(sandy.addresses, i); break end
  end
  session:commit()
  session:delete(patrick)
  session:commit()
  local mine = User.name:like(t .. "_%")   -- t01_..., t02_...: no tenant's name starts another's
  say("after the deletes: %d users, %d addresses",
    session:scalar(qs.select(qs.func.count()):select_from(User):where(mine)),
    session:scalar(qs.select(qs.func.count()):select_from(Address):join(Address.user):where(mine)))
  session:close()

  local users = session:scalars(qs.select(User):options(orm.selectinload(User.addresses))
    :where(mine):order_by(User.name)):all()
  for _, u in ipairs(users) do
    local emails = {}
    for _, a in ipairs(u.addresses) do emails[#emails + 1] = a.email_address end
    say("selectin %s: %s", u.name, table.concat(emails, ","))
  end
  pause()

  local squidward = User({name = n("squidward")})
  users[1].name = n("spongy")
  session:add(squidward)
  session:flush()
  say("in the transaction: %d users", session:scalar(qs.select(qs.func.count()):select_from(User):where(mine)))
  session:rollback()
  say("after rollback: %s, squidward %s", users[1].name,
    orm.inspect(squidward).transient and "transient" or "still there")
  session:close()
  return log
end

-- What the tables hold, ids left out.
local function contents(engine)
  return engine:connect(function(c)
    local out = {}
    for row in c:exec_driver_sql("SELECT u.name, u.fullname, a.email_address FROM async_user u " ..
        "LEFT JOIN async_address a ON a.user_id = u.id ORDER BY u.name, a.email_address"):iter() do
      out[#out + 1] = table.concat({row[1], tostring(row[2]), tostring(row[3])}, "|")
    end
    return out
  end)
end

for _, s in ipairs(support.schedulers()) do
  describe("the ORM tutorial in 10 coroutines under " .. s.name .. " on " .. helpers.backend, function()
    local engine, Base, User, Address, Session

    before_each(function()
      engine = qs.create_engine(helpers.backend_url(), {waiter = s.waiter, pool_size = 10, max_overflow = 0})
      Base, User, Address = models()
      Base.metadata:drop_all(engine)
      Base.metadata:create_all(engine)
      Session = orm.sessionmaker({bind = engine})
    end)

    after_each(function()
      if Base then Base.metadata:drop_all(engine) end
      if engine then engine:dispose() end
      engine, Base = nil, nil
      helpers.cleanup()
    end)

    it("gives every coroutine the transcript it gets alone, and the same rows as a serial run", function()
      local serial = {}
      for t = 1, 10 do serial[t] = tutorial(Session, User, Address, string.format("t%02d", t), function() end) end
      local serial_rows = contents(engine)
      assert.equal("user t01_sandy has 2 address(es)", serial[1][1])
      assert.equal("after the deletes: 2 users, 2 addresses", serial[1][6])
      assert.equal("after rollback: t01_sandy, squidward transient", serial[1][#serial[1]])
      engine:begin(function(c)
        c:exec_driver_sql("DELETE FROM async_address")
        c:exec_driver_sql("DELETE FROM async_user")
      end)

      local fns = {}
      for t = 1, 10 do
        fns[t] = function()
          -- a short sleep between steps, so that the coroutines interleave
          -- even between statements (on SQLite, where nothing suspends, a
          -- sleep inside one's transaction would only lock the others out)
          local function pause()
            if server then s.sleep(0.01) end
          end
          return tutorial(Session, User, Address, string.format("t%02d", t), pause)
        end
      end
      local res = s.run(fns)
      for t = 1, 10 do
        assert(res[t].ok, "coroutine " .. t .. " failed: " .. tostring(res[t].value))
        assert.same(serial[t], res[t].value)
      end
      assert.same(serial_rows, contents(engine))
    end)
  end)
end
