-- LargeBinary holds large values on every backend (issue 21, item 9): on
-- MySQL/MariaDB a plain BLOB stops at 64 KB, so LargeBinary is LONGBLOB and
-- LargeBinary(n) the smallest BLOB type holding n bytes. A megabyte of every
-- byte value round-trips (both MySQL drivers: run with a mysql+wire:// URL).
local qs = require("quicksilver")
local helpers = require("spec.helpers")

describe("LargeBinary on " .. helpers.backend, function()
  local engine, t

  before_each(function()
    engine = helpers.backend_engine()
    local md = qs.MetaData()
    t = qs.Table("blobs", md,
      qs.Column("id", qs.Integer, {primary_key = true, autoincrement = false}),
      qs.Column("data", qs.LargeBinary),
      qs.Column("small", qs.LargeBinary(200)),
      qs.Column("mid", qs.LargeBinary(1000)),
      qs.Column("medium", qs.LargeBinary(100000)))
    md:create_all(engine)
  end)

  after_each(function()
    engine:dispose()
    helpers.cleanup()
  end)

  it("round-trips a 1 MB value holding every byte", function()
    local chunk = {}
    for i = 0, 255 do chunk[#chunk + 1] = string.char(i) end
    local value = string.rep(table.concat(chunk), 4096)   -- 1 MiB
    assert.equal(1048576, #value)
    engine:begin(function(conn)
      conn:execute(qs.insert(t), {id = 1, data = value, medium = value:sub(1, 100000)})
    end)
    local row = engine:connect(function(conn)
      return conn:execute(qs.select(t.c.data, t.c.medium):where(t.c.id:eq(1))):first()
    end)
    assert.equal(#value, #row[1])
    assert.is_true(row[1] == value)
    assert.is_true(row[2] == value:sub(1, 100000))
  end)

  if helpers.on("mysql") then
    it("is LONGBLOB without a length, and the smallest BLOB type that holds its length", function()
      local types = engine:connect(function(conn)
        local out = {}
        for _, r in ipairs(conn:exec_driver_sql("SELECT column_name, data_type FROM information_schema.columns " ..
            "WHERE table_schema = DATABASE() AND table_name = 'blobs'"):all()) do
          out[string.lower(r[1])] = string.lower(r[2])
        end
        return out
      end)
      assert.same({id = "int", data = "longblob", small = "tinyblob", mid = "blob", medium = "mediumblob"}, types)
    end)
  end
end)
