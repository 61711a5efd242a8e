-- examples/openresty (nginx.conf + app.lua) run as written, with only the
-- checkout's path, the port and the environment put in: the notes
-- endpoint through the ORM, /posts through examples/blog_project's models,
-- /slow overlapping /health, an error logged.
local ngxs = require("spec.support.nginx")

local PORT = tonumber(os.getenv("QS_NGINX_PORT") or "18441") + 1

local function read(path)
  local f = assert(io.open(path))
  local s = f:read("*a")
  f:close()
  return s
end

describe("examples/openresty", function()
  local server

  setup(function()
    local url = assert(os.getenv("QS_PG_URL"), "QS_PG_URL is not set: run through make test")
    -- a table left by an earlier run would hold other notes
    local qs = require("quicksilver")
    local e = qs.create_engine(url)
    e:begin(function(conn)
      conn:exec_driver_sql("DROP TABLE IF EXISTS example_notes")
      -- and the blog's tables (/posts), with anything a migration left
      conn:exec_driver_sql("DROP TABLE IF EXISTS post_tag, post, tag, author, alembic_version CASCADE")
    end)
    e:dispose()
    local conf = read("examples/openresty/nginx.conf")
      :gsub("/path/to/quicksilver/build/jit", os.getenv("QS_NGINX_CPATH") or (ngxs.ROOT .. "/build/jit"))
      :gsub("/path/to/quicksilver", ngxs.ROOT)
      :gsub("listen 127%.0%.0%.1:8080;", "listen 127.0.0.1:" .. PORT .. ";")
      -- the environment of the master is the spec's: the URL given in the text
      :gsub('os%.getenv%("QS_DATABASE_URL"%)', string.format("%q", url))
    server = ngxs.start_conf(conf, PORT)
  end)

  teardown(function()
    if server then server:stop() end
  end)

  it("serves the notes through the ORM", function()
    local status, body = ngxs.get(PORT, "/notes?add=first%20note")
    assert.equal(200, status)
    assert.matches("^%d+ first note\n$", body)
    status, body = ngxs.get(PORT, "/notes?add=second")
    assert.equal(200, status)
    assert.matches("^%d+ first note\n%d+ second\n$", body)
  end)

  it("serves the blog's posts through the blog project's models module, loader options and all", function()
    local status, body = ngxs.get(PORT, "/posts?add=From%20nginx&tag=lua")
    assert.equal(200, status, body)
    assert.equal("From nginx, by nginx [lua]\n", body)
    status, body = ngxs.get(PORT, "/posts?add=Second&tag=web")
    assert.equal(200, status, body)
    assert.equal("From nginx, by nginx [lua]\nSecond, by nginx [web]\n", body)
  end)

  it("keeps answering /health while /slow waits for the server", function()
    local t0 = ngxs.now()
    local health
    ngxs.concurrently({
      function() assert.equal(200, (ngxs.get(PORT, "/slow"))) end,
      function()
        require("cqueues").sleep(0.2)
        local t = ngxs.now()
        assert.equal(200, (ngxs.get(PORT, "/health")))
        health = ngxs.now() - t
      end,
    })
    assert.is_true(ngxs.now() - t0 >= 1)
    assert.is_true(health < 0.2, "/health took " .. health .. " s during /slow")
  end)

  it("logs an error with its class and SQL, and answers 500", function()
    local status = ngxs.get(PORT, "/notes?add=" .. string.rep("x", 300))   -- longer than String(200)
    assert.equal(500, status)
    assert.matches("qs.exc.DataError", server:log(), 1, true)
    assert.matches("[SQL: INSERT INTO example_notes", server:log(), 1, true)
  end)
end)
