-- quicksilver.ext.horizontal_shard against real servers: the databases
-- spec/support/scaleout/shards.sh makes, shard_a as the shard "eu" and
-- shard_b as "us", on PostgreSQL (QS_SHARD_URL_A / QS_SHARD_URL_B) and on
-- MariaDB (QS_SHARD_MYSQL_URL_A / QS_SHARD_MYSQL_URL_B), with the cases the
-- SQLite spec runs (spec/support/horizontal_shard_cases.lua). Missing URLs
-- are a failure.
local qs = require("quicksilver")
local cases = require("spec.support.horizontal_shard_cases")

local SERVERS = {
  {name = "PostgreSQL", a = "QS_SHARD_URL_A", b = "QS_SHARD_URL_B", current = "SELECT current_database()"},
  {name = "MariaDB", a = "QS_SHARD_MYSQL_URL_A", b = "QS_SHARD_MYSQL_URL_B", current = "SELECT database()"},
}

for _, srv in ipairs(SERVERS) do
  local url_a, url_b = os.getenv(srv.a), os.getenv(srv.b)

  describe("ext.horizontal_shard on two " .. srv.name .. " databases", function()
    setup(function()
      assert(url_a and url_b, srv.a .. " / " .. srv.b .. " are not set: " ..
        "run spec/support/scaleout/shards.sh start (make test does)")
    end)

    it("has two distinct shard databases", function()
      local a, b = qs.create_engine(url_a), qs.create_engine(url_b)
      local function db(e) return e:connect(function(c) return c:execute(qs.text(srv.current)):scalar() end) end
      assert.equal("shard_a", db(a))
      assert.equal("shard_b", db(b))
      a:dispose()
      b:dispose()
    end)

    cases.define({
      engines = function() return {eu = qs.create_engine(url_a), us = qs.create_engine(url_b)} end,
      teardown = function(engines)
        for _, e in pairs(engines) do e:dispose() end
      end,
      it = it, before_each = before_each, after_each = after_each, assert = assert,
    })
  end)
end
