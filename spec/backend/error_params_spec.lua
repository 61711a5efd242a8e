-- An error shows the parameters actually sent: values bound inside the
-- statement (Core values({...}), the ORM's flush statements) included, long
-- values and long executemany lists truncated as SQLAlchemy does, and never
-- a password.
local qs = require("quicksilver")
local orm = require("quicksilver.orm")
local helpers = require("spec.helpers")
local raises = helpers.assert_raises_kind

describe("the parameters an error shows on " .. helpers.backend, function()
  local engine, md, t

  before_each(function()
    engine = helpers.backend_engine()
    md = qs.MetaData()
    t = qs.Table("errp", md, qs.Column("id", qs.Integer, {primary_key = true}),
      qs.Column("name", qs.String(40), {nullable = false, unique = true}),
      qs.Column("note", qs.Text))
    md:create_all(engine)
  end)

  after_each(function()
    md:drop_all(engine)
    engine:dispose()
    helpers.cleanup()
  end)

  local function shown(err)
    return tostring(err):match("%[parameters: (.*)%]$")
  end

  it("Core values({...}): the statement's own values", function()
    engine:begin(function(c) c:execute(qs.insert(t):values({id = 1, name = "dup"})) end)
    local err = raises(qs.exc.IntegrityError, function()
      engine:begin(function(c) c:execute(qs.insert(t):values({id = 2, name = "dup"})) end)
    end)
    assert.equal("dup", err.params.name)
    assert.equal(2, err.params.id)
    assert.matches('name = "dup"', shown(err), 1, true)
    assert.are_not.equal("{}", shown(err))
  end)

  it("a long value shows its two ends and how much was left out", function()
    local long = string.rep("b", 1000) .. string.rep("e", 1000)
    local err = raises(qs.exc.IntegrityError, function()
      engine:begin(function(c) c:execute(qs.insert(t):values({id = 1, name = qs.null, note = long})) end)
    end)
    assert.equal(long, err.params.note)   -- the error keeps the whole value
    local s = shown(err)
    assert.matches('"' .. string.rep("b", 150) .. " ... (1700 characters truncated) ... " ..
      string.rep("e", 150) .. '"', s, 1, true)
    assert.is_true(#s < 600)
  end)

  it("executemany: every set's values, the first 8 and last 2 of a long list", function()
    local sets = {}
    for i = 1, 25 do sets[i] = {id = i, name = "n" .. i} end
    sets[25].name = "n1"
    local err = raises(qs.exc.IntegrityError, function()
      engine:begin(function(c) c:execute(qs.text("INSERT INTO errp (id, name) VALUES (:id, :name)"), sets) end)
    end)
    assert.equal(25, #err.params)
    local s = shown(err)
    assert.matches("... displaying 10 of 25 total bound parameter sets ...", s, 1, true)
    assert.matches('{id = 1, name = "n1"}', s, 1, true)
    assert.matches('{id = 25, name = "n1"}', s, 1, true)
    assert.is_nil(s:find('name = "n12"', 1, true))
  end)

  it("an ORM flush or ORM-enabled UPDATE error shows the values sent", function()
    local Base = orm.declarative_base()
    local Item = Base:model("Item", {__table = t})
    local s = orm.Session(engine)
    s:add(Item({id = 1, name = "same"}))
    s:add(Item({id = 2, name = "same"}))
    local err = raises(qs.exc.IntegrityError, function() s:flush() end)
    assert.matches('"same"', shown(err), 1, true)
    s:rollback()
    s:add(Item({id = 1, name = "a"}))
    s:add(Item({id = 2, name = "b"}))
    s:commit()
    local b = s:get(Item, 2)
    b.name = "a"
    err = raises(qs.exc.IntegrityError, function() s:flush() end)
    assert.matches('"a"', shown(err), 1, true)
    s:rollback()
    -- ORM-enabled UPDATE: its values live in the statement
    err = raises(qs.exc.IntegrityError, function()
      s:execute(qs.update(Item):where(Item.id:eq(2)):values({name = "a"}))
    end)
    assert.matches('name = "a"', shown(err), 1, true)
    s:close()
  end)

  it("never shows a password", function()
    if helpers.on("sqlite") then return end
    local u = qs.make_url(helpers.backend_url()):set({password = "Pw-n0t-sh0wn", port = 1})
    local e = qs.create_engine(u)
    local ok, err = pcall(e.connect, e)
    assert.is_false(ok)
    assert.is_nil(tostring(err):find("Pw-n0t-sh0wn", 1, true))
    assert.is_nil(tostring(e):find("Pw-n0t-sh0wn", 1, true))
    e:dispose()
  end)
end)
