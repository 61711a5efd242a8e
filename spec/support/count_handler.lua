-- count_handler.lua: a busted output handler that prints a line per failure
-- or error (and a dot per success), then writes the counts to the file named
-- by QS_COUNTS_FILE as "passed failed errors pending". The Makefile sums the
-- counts of every suite; busted's own summary text is not parsed (NOTES.md:
-- it is not a stable format, and -o json breaks on errors holding userdata).
return function(options)
  local busted = require("busted")
  local handler = require("busted.outputHandlers.base")()
  local io_write, io_flush = io.write, io.flush

  -- Error objects here are tables with __tostring; anything may fail to print.
  local function render(msg)
    if type(msg) == "string" then return msg end
    local ok, s = pcall(tostring, msg)
    if ok and type(s) == "string" then return s end
    return "<" .. type(msg) .. " that cannot be printed>"
  end

  local function where(t)
    local tr = t.trace or (t.element and t.element.trace)
    if tr and tr.short_src then return tr.short_src .. ":" .. tostring(tr.currentline) end
    return "?"
  end

  local function report(kind, t)
    io_write("\n", kind, ": ", t.name or "?", " (", where(t), ")\n  ",
      (render(t.message):gsub("\n", "\n  ")), "\n")
    if options.verbose and t.trace and t.trace.traceback then
      io_write("  ", (t.trace.traceback:gsub("\n", "\n  ")), "\n")
    end
    io_flush()
  end

  handler.testEnd = function(_, _, status)
    if status == "success" then io_write(".")
    elseif status == "pending" then io_write("p")
    elseif status == "failure" then report("FAIL", handler.failures[#handler.failures])
    elseif status == "error" then report("ERROR", handler.errors[#handler.errors]) end
    io_flush()
    return nil, true
  end

  -- Errors outside an `it` (a spec file that does not load, a failing
  -- before_each) count as errors too.
  handler.error = function(element)
    if element.descriptor ~= "it" then report("ERROR", handler.errors[#handler.errors]) end
    return nil, true
  end

  handler.suiteEnd = function()
    local p, f, e, n = #handler.successes, #handler.failures, handler.errorsCount or #handler.errors,
      #handler.pendings
    io_write(string.format("\nbusted: %d passed, %d failed, %d errors, %d pending\n", p, f, e, n))
    local path = os.getenv("QS_COUNTS_FILE")
    if path then
      local fh = io.open(path, "a")
      if fh then
        fh:write(string.format("%d %d %d %d\n", p, f, e, n))
        fh:close()
      end
    end
    io_flush()
    return nil, true
  end

  busted.subscribe({"test", "end"}, handler.testEnd, {predicate = handler.cancelOnPending})
  busted.subscribe({"error"}, handler.error)
  busted.subscribe({"failure"}, handler.error)
  busted.subscribe({"suite", "end"}, handler.suiteEnd)
  return handler
end
