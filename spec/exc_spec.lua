-- qs.exc: the hierarchy, error objects, rendering.
local exc = require("quicksilver.exc")

describe("qs.exc", function()
  it("honours the hierarchy in is_a", function()
    local e = exc.IntegrityError("UNIQUE constraint failed: t.x")
    assert.is_true(e:is_a(exc.IntegrityError))
    assert.is_true(e:is_a(exc.DatabaseError))
    assert.is_true(e:is_a(exc.DBAPIError))
    assert.is_true(e:is_a(exc.SQLAlchemyError))
    assert.is_true(e:is_a("DBAPIError"))
    assert.is_false(e:is_a(exc.OperationalError))
    assert.is_false(e:is_a(exc.InvalidRequestError))
  end)

  it("places every class API.md names", function()
    local under = {
      ArgumentError = "SQLAlchemyError", InvalidRequestError = "SQLAlchemyError",
      TimeoutError = "SQLAlchemyError", CompileError = "SQLAlchemyError", DBAPIError = "SQLAlchemyError",
      NoResultFound = "InvalidRequestError", MultipleResultsFound = "InvalidRequestError",
      ResourceClosedError = "InvalidRequestError", PendingRollbackError = "InvalidRequestError",
      ObjectDeletedError = "InvalidRequestError", UnmappedInstanceError = "InvalidRequestError",
      IntegrityError = "DBAPIError", OperationalError = "DBAPIError", ProgrammingError = "DBAPIError",
      DataError = "DBAPIError", InterfaceError = "DBAPIError", InternalError = "DBAPIError",
      NotSupportedError = "DBAPIError", StaleDataError = "SQLAlchemyError",
      DetachedInstanceError = "SQLAlchemyError",
    }
    for name, parent in pairs(under) do
      assert.is_not_nil(exc[name], name)
      assert.is_true(exc[name]("x"):is_a(parent), name .. " under " .. parent)
    end
  end)

  it("carries the fields of a database error", function()
    local e = exc.new("OperationalError", "database is locked", {statement = "INSERT", params = {1},
      orig = {code = 5, message = "database is locked"}, connection_invalidated = true})
    assert.equal("OperationalError", e.name)
    assert.equal("database is locked", e.message)
    assert.equal("INSERT", e.statement)
    assert.equal(5, e.orig.code)
    assert.is_true(e.connection_invalidated)
    assert.is_false(exc.ArgumentError("x").connection_invalidated)
  end)

  it("renders class, message, SQL and parameters", function()
    local e = exc.ProgrammingError("near \"SELEC\": syntax error", {statement = "SELEC :x", params = {x = "it's"}})
    local s = tostring(e)
    assert.matches("^ProgrammingError: near", s)
    assert.matches("%[SQL: SELEC :x%]", s)
    assert.matches("it's", s)
  end)

  it("renders parameters it cannot print and cycles without failing", function()
    local cyc = {}
    cyc.self = cyc
    local e = exc.DataError("bad", {params = {cyc, io.stdout, print, string.rep("x", 1000)}})
    local s = tostring(e)
    assert.matches("cycle", s)
    assert.is_true(#s < 600)
  end)

  it("raise() raises the object itself", function()
    local ok, err = pcall(exc.raise, exc.NoResultFound, "nothing")
    assert.is_false(ok)
    assert.is_true(exc.is_error(err))
    assert.is_true(err:is_a(exc.NoResultFound))
    assert.is_false(exc.is_error("a string"))
  end)

  it("rejects an unknown class name in new()", function()
    assert.has_error(function() exc.new("NoSuchError", "x") end)
  end)

  it("maps every C result code to a class that exists", function()
    local core = require("quicksilver.core")
    for code, cls in pairs(core.code_classes()) do
      assert.is_not_nil(exc[cls], code .. " -> " .. cls)
    end
  end)
end)
