-- quicksilver.ext.horizontal_shard against real PostgreSQL databases: the
-- two databases spec/support/scaleout/shards.sh makes (QS_SHARD_URL_A as the
-- shard "eu", QS_SHARD_URL_B as "us"), with the cases the SQLite spec runs
-- (spec/support/horizontal_shard_cases.lua). Missing URLs are a failure.
local qs = require("quicksilver")
local cases = require("spec.support.horizontal_shard_cases")

local URL_A = os.getenv("QS_SHARD_URL_A")
local URL_B = os.getenv("QS_SHARD_URL_B")

describe("ext.horizontal_shard on two PostgreSQL databases", function()
  setup(function()
    assert(URL_A and URL_B, "QS_SHARD_URL_A / QS_SHARD_URL_B are not set: " ..
      "run spec/support/scaleout/shards.sh start (make test does)")
  end)

  it("has two distinct shard databases", function()
    local a, b = qs.create_engine(URL_A), qs.create_engine(URL_B)
    local function db(e) return e:connect(function(c) return c:execute(qs.text("SELECT current_database()")):scalar() end) end
    assert.equal("shard_a", db(a))
    assert.equal("shard_b", db(b))
    a:dispose()
    b:dispose()
  end)

  cases.define({
    engines = function() return {eu = qs.create_engine(URL_A), us = qs.create_engine(URL_B)} end,
    teardown = function(engines)
      for _, e in pairs(engines) do e:dispose() end
    end,
    it = it, before_each = before_each, after_each = after_each, assert = assert,
  })
end)
