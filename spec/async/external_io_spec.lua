-- The external-transport methods of a driver connection (c/binding/lconn.c:
-- conn:io_output/io_done/io_input; docs/ASYNC.md). A connection whose driver
-- owns its socket has nothing to hand out and refuses bytes by name; the
-- wire drivers' specs drive them over a real transport.
require("quicksilver")   -- registers the qs.exc factory the C errors are made with
local core = require("quicksilver.core")
local exc = require("quicksilver.exc")

describe("external transport methods on a connection with its own I/O", function()
  local c
  before_each(function() c = assert(core.connect("sqlite", {database = ":memory:"})) end)
  after_each(function() c:close() end)

  it("have no bytes to send", function()
    assert.is_nil(c:io_output())
    c:io_done(0)   -- nothing sent: no effect, no error
    assert.is_nil(c:io_output())
  end)

  it("refuse received bytes, naming the driver, and leave the connection usable", function()
    local ok, err = c:io_input("\0\0\0\4")
    assert.is_nil(ok)
    assert.is_true(exc.is_error(err, exc.InvalidRequestError))
    assert.matches("sqlite driver has no external transport", tostring(err))
    assert.is_true((c:exec("SELECT 1")))
  end)

  it("treat an empty string as nothing received, not as a close", function()
    assert.is_true(c:io_input(""))
  end)

  it("refuse a negative byte count and a closed connection", function()
    assert.has_error(function() c:io_done(-1) end)
    c:close()
    assert.has_error(function() c:io_input("x") end)
    assert.is_nil(c:io_output())
  end)
end)
