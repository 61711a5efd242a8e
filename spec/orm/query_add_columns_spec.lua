-- The legacy Query's add_columns: session:query(User):add_columns(User.name)
-- gives rows (the object, then the columns), as SQLAlchemy 1.x's Query
-- does; before, the query kept returning the objects alone (the extra
-- columns were selected and dropped). Found while writing
-- docs/reference/ORM.md.
local qs = require("quicksilver")
local orm = require("quicksilver.orm")
local helpers = require("spec.helpers")

describe("Query:add_columns on " .. helpers.backend, function()
  local Base, User, engine, session

  before_each(function()
    Base = orm.declarative_base()
    User = Base:model("User", {__tablename = "qac_users",
      id = orm.mapped_column(qs.Integer, {primary_key = true}),
      name = orm.mapped_column(qs.String(30))})
    engine = helpers.backend_engine()
    Base.metadata:drop_all(engine)
    Base.metadata:create_all(engine)
    session = orm.Session(engine)
    session:add_all({User({id = 1, name = "ann"}), User({id = 2, name = "bob"})})
    session:commit()
  end)

  after_each(function()
    session:close()
    Base.metadata:drop_all(engine)
    engine:dispose()
    helpers.cleanup()
  end)

  it("gives rows of the object and the added columns", function()
    local rows = session:query(User):add_columns(User.name, User.id):order_by(User.id):all()
    assert.equal(2, #rows)
    assert.equal(session:get(User, 1), rows[1][1])
    assert.equal("ann", rows[1][2])
    assert.equal(1, rows[1][3])
    assert.equal("bob", rows[2].name)
    local first = session:query(User):add_columns(User.name):order_by(User.id):first()
    assert.equal("ann", first[2])
    local one = session:query(User):filter_by({name = "bob"}):add_columns(User.id):one()
    assert.equal(2, one[2])
  end)

  it("leaves a query of one entity giving objects", function()
    local users = session:query(User):order_by(User.id):all()
    assert.equal(session:get(User, 1), users[1])
    assert.equal("bob", session:query(User):filter_by({name = "bob"}):one().name)
  end)
end)
