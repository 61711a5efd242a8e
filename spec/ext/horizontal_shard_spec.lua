-- quicksilver.ext.horizontal_shard on SQLite: two files as the shards "eu"
-- and "us" (the same schema on both). The cases are shared with
-- spec/scaleout/horizontal_shard_spec.lua, which runs them on PostgreSQL
-- (spec/support/horizontal_shard_cases.lua).
local helpers = require("spec.helpers")
local cases = require("spec.support.horizontal_shard_cases")

describe("ext.horizontal_shard on SQLite files", function()
  cases.define({
    engines = function() return {eu = helpers.sqlite_engine(), us = helpers.sqlite_engine()} end,
    teardown = function(engines)
      for _, e in pairs(engines) do e:dispose() end
      helpers.cleanup()
    end,
    it = it, before_each = before_each, after_each = after_each, assert = assert,
  })
end)
