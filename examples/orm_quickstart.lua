-- orm_quickstart.lua: SQLAlchemy's ORM quick start, in Lua, on an embedded
-- SQLite file. Run with `make demo` (or lua5.4 examples/orm_quickstart.lua
-- with the paths set). docs/ORM_TUTORIAL.md walks through it.
local qs = require("quicksilver")
local orm = require("quicksilver.orm")

local path = os.getenv("QS_DEMO_DB") or "orm_quickstart.db"
os.remove(path)

-- Declare models --------------------------------------------------------------------------
local Base = orm.declarative_base()

local User = Base:model("User", {
  __tablename = "user_account",
  id = orm.mapped_column(qs.Integer, {primary_key = true}),
  name = orm.mapped_column(qs.String(30), {nullable = false}),
  fullname = orm.mapped_column(qs.String(60)),
  addresses = orm.relationship("Address", {back_populates = "user", cascade = "all, delete-orphan",
    order_by = "Address.email_address"}),
})

local Address = Base:model("Address", {
  __tablename = "address",
  id = orm.mapped_column(qs.Integer, {primary_key = true}),
  email_address = orm.mapped_column(qs.String(50), {nullable = false}),
  user_id = orm.mapped_column(qs.ForeignKey("user_account.id"), {nullable = false}),
  user = orm.relationship("User", {back_populates = "addresses"}),
})

-- models are classes: methods work on instances
function User:describe()
  return string.format("%s (%s), %d address(es)", self.name, self.fullname or "?", #self.addresses)
end

-- Create an engine and the schema --------------------------------------------------------
local engine = qs.create_engine("sqlite:///" .. path)
Base.metadata:create_all(engine)

-- Create objects and persist them --------------------------------------------------------
local Session = orm.sessionmaker({bind = engine})
local session = Session()

local spongebob = User({name = "spongebob", fullname = "Spongebob Squarepants",
  addresses = {Address({email_address = "spongebob@sqlalchemy.org"})}})
local sandy = User({name = "sandy", fullname = "Sandy Cheeks", addresses = {
  Address({email_address = "sandy@sqlalchemy.org"}),
  Address({email_address = "sandy@squirrelpower.org"})}})
local patrick = User({name = "patrick", fullname = "Patrick Star"})

session:add_all({spongebob, sandy, patrick})
print("pending before commit: " .. #session.new)
session:commit()
print(string.format("committed; spongebob has id %d", spongebob.id))

-- Simple SELECT --------------------------------------------------------------------------
print("\nusers named spongebob or sandy:")
for _, user in ipairs(session:scalars(qs.select(User):where(User.name:in_({"spongebob", "sandy"}))
    :order_by(User.id)):all()) do
  print("  " .. user:describe())
end

-- SELECT with JOIN ------------------------------------------------------------------------
local found = session:scalars(qs.select(Address):join(Address.user)
  :where(User.name:eq("sandy")):where(Address.email_address:eq("sandy@sqlalchemy.org"))):one()
print("\nsandy's sqlalchemy address: " .. found.email_address)

local counts = session:execute(qs.select(User.name, qs.func.count(Address.id))
  :outerjoin(User.addresses):group_by(User.name):order_by(User.name)):all()
print("addresses per user:")
for _, row in ipairs(counts) do print(string.format("  %-10s %d", row[1], row[2])) end

-- Make changes ---------------------------------------------------------------------------
local patrick_again = session:get(User, 3)
assert(rawequal(patrick_again, patrick), "the identity map hands back the same object")
table.insert(patrick.addresses, Address({email_address = "patrickstar@sqlalchemy.org"}))
sandy.fullname = "Sandy Squirrel"
print("\ndirty before commit: " .. #session.dirty)
session:commit()
print("sandy is now " .. sandy.fullname .. "; patrick has " .. #patrick.addresses .. " address")

-- Some deletes -----------------------------------------------------------------------------
-- removing an address from the collection deletes it (delete-orphan)
for i, a in ipairs(sandy.addresses) do
  if a.email_address == "sandy@sqlalchemy.org" then table.remove(sandy.addresses, i); break end
end
session:commit()
-- deleting a user deletes its addresses (cascade "all")
session:delete(patrick)
session:commit()
print(string.format("\nafter the deletes: %d users, %d addresses",
  session:scalar(qs.select(qs.func.count()):select_from(User)),
  session:scalar(qs.select(qs.func.count()):select_from(Address))))

-- Loading relationships eagerly -------------------------------------------------------------
session:close()
local users = session:scalars(qs.select(User):options(orm.selectinload(User.addresses)):order_by(User.id)):all()
print("\nwith selectinload (two SELECTs for any number of users):")
for _, user in ipairs(users) do print("  " .. user:describe()) end

-- Rolling back -----------------------------------------------------------------------------
spongebob = users[1]
spongebob.name = "spongy"
local squidward = User({name = "squidward"})
session:add(squidward)
session:flush()   -- sent to the database, inside the transaction
print(string.format("\nbefore rollback: %d users visible in the transaction",
  session:scalar(qs.select(qs.func.count()):select_from(User))))
session:rollback()
print(string.format("after rollback: spongebob is %q again, squidward is %s", spongebob.name,
  orm.inspect(squidward).transient and "transient" or "still there?!"))

-- Errors are qs.exc objects; the session recovers with rollback() ------------------------
session:add(User({name = nil}))
local ok, err = pcall(session.commit, session)
print(string.format("\nA user without a name: %s (%s)", ok and "accepted?!" or err.name,
  ok and "" or err.message:match("^[^\n]*")))
session:rollback()
print("users after the failed flush: " .. session:scalar(qs.select(qs.func.count()):select_from(User)))

session:close()
engine:dispose()
if ok then os.exit(1) end
