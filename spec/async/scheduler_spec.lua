-- The schedulers' waiters on pipes (no database): every shipped waiter keeps
-- the contract of docs/ASYNC.md (true when ready, false on timeout, in
-- place outside a scheduler, bad input refused), and many waits overlap.
local support = require("spec.async.support")

describe("async schedulers", function()
  it("are the built-in loop everywhere, and cqueues and luv on Lua 5.4 (LuaJIT: where installed)", function()
    local names = {}
    for _, s in ipairs(support.schedulers()) do names[#names + 1] = s.name end
    assert.equal("built-in loop", names[1])
    if support.lua54 then assert.same({"built-in loop", "cqueues", "luv"}, names) end
  end)

  for _, s in ipairs(support.schedulers()) do
    describe(s.name, function()
      it("wakes a waiter when its fd becomes readable, and runs the others meanwhile", function()
        local p = support.pipe()
        local log = {}
        local res = s.run({
          function()
            log[#log + 1] = "wait"
            local ready = s.waiter(p.read, "r", 5)
            log[#log + 1] = "woke " .. tostring(ready) .. " " .. p.recv(16)
          end,
          function()
            s.sleep(0.02)
            log[#log + 1] = "write"
            p.send("ping")
          end,
        })
        p.close()
        assert.is_true(res[1].ok, tostring(res[1].value))
        assert.is_true(res[2].ok, tostring(res[2].value))
        assert.same({"wait", "write", "woke true ping"}, log)
      end)

      it("returns false when the timeout passes first, not before it", function()
        local p = support.pipe()
        local res = s.run({function()
          local t0 = support.now()
          local ready = s.waiter(p.read, "r", 0.05)
          return {ready, support.now() - t0}
        end})
        p.close()
        assert.is_true(res[1].ok, tostring(res[1].value))
        assert.is_false(res[1].value[1])
        assert.is_true(res[1].value[2] >= 0.045, "woke after " .. res[1].value[2] .. " s")
      end)

      it("says a writable fd is ready for \"w\" and \"rw\"", function()
        local p = support.pipe()
        local res = s.run({
          function() return s.waiter(p.write, "w", 1) end,
          function() return s.waiter(p.write, "rw", 1) end,
        })
        p.close()
        assert.same({ok = true, value = true}, res[1])
        assert.same({ok = true, value = true}, res[2])
      end)

      it("overlaps 20 waits of 0.2 s: together well under 20 x 0.2 s", function()
        local pipes, fns = {}, {}
        for i = 1, 20 do
          pipes[i] = support.pipe()
          fns[i] = function() return s.waiter(pipes[i].read, "r", 0.2) end
        end
        local t0 = support.now()
        local res = s.run(fns)
        local elapsed = support.now() - t0
        for i = 1, 20 do
          pipes[i].close()
          assert.same({ok = true, value = false}, res[i])
        end
        assert.is_true(elapsed < 1, "20 waits took " .. elapsed .. " s")
      end)

      it("waits on an fd number again after its file was closed and the number reused", function()
        local res = s.run({function()
          local seen, number = {}, nil
          for i = 1, 3 do   -- a connection lost and opened again gets the same fd number
            local p = support.pipe()
            -- The lowest free number comes back, unless another thread (a
            -- detached cancel request of an earlier spec) opened a socket
            -- in between: wait for it to give the number back.
            -- A lower number freed meanwhile is held (filled) until the end.
            local tries, held = 0, {}
            while number and p.read ~= number and tries < 200 do
              if p.read < number then held[#held + 1] = p
              else p.close(); s.sleep(0.01) end
              tries = tries + 1
              p = support.pipe()
            end
            for _, h in ipairs(held) do h.close() end
            number = number or p.read
            p.send("x")
            seen[i] = {p.read, s.waiter(p.read, "r", 1)}
            p.close()
          end
          return seen
        end})
        assert.is_true(res[1].ok, tostring(res[1].value))
        assert.same({res[1].value[1][1], true}, res[1].value[2])   -- the same number, ready
        assert.same({res[1].value[1][1], true}, res[1].value[3])
      end)

      it("waits in place on the main thread (blocking, as without a waiter)", function()
        local p = support.pipe()
        assert.is_false(s.waiter(p.read, "r", 0.01))
        p.send("x")
        assert.is_true(s.waiter(p.read, "r", 1))
        p.close()
      end)

      it("waits in place where a yield cannot pass (a table.sort comparator)", function()
        local p = support.pipe()
        p.send("x")
        local res = s.run({function()
          local seen = {}
          table.sort({2, 1, 3}, function(a, b)
            seen[#seen + 1] = s.waiter(p.read, "r", 1)
            return a < b
          end)
          return seen
        end})
        p.close()
        assert.is_true(res[1].ok, tostring(res[1].value))
        assert.is_true(#res[1].value > 0)
        for _, ready in ipairs(res[1].value) do assert.is_true(ready) end
      end)

      it("refuses a bad fd, bad events and a bad timeout, naming them", function()
        local p = support.pipe()
        local res = s.run({
          function() return s.waiter("3", "r", 1) end,
          function() return s.waiter(p.read, "x", 1) end,
          function() return s.waiter(p.read, "r", "soon") end,
          function() return s.waiter(-1, "r", 1) end,
        })
        p.close()
        assert.is_false(res[1].ok)
        assert.matches("fd must be an integer", tostring(res[1].value))
        assert.is_false(res[2].ok)
        assert.matches("events must be \"r\", \"w\" or \"rw\", not x", tostring(res[2].value))
        assert.is_false(res[3].ok)
        assert.matches("timeout must be seconds or nil, not string", tostring(res[3].value))
        assert.is_false(res[4].ok)
        assert.matches("fd must be an integer >= 0, not %-1", tostring(res[4].value))
      end)
    end)
  end
end)
