-- The dependency rule of docs/ARCHITECTURE.md: orm -> engine -> sql -> core,
-- never back. Scans the require lines of every module.
local function modules()
  local list = {}
  -- *.d.lua files are LuaLS descriptions, not modules
  local p = io.popen("find lua/quicksilver -name '*.lua' ! -name '*.d.lua' | sort")
  for f in p:lines() do list[#list + 1] = f end
  p:close()
  return list
end

-- layer of a module name; lower numbers sit lower
local function layer(name)
  if name == "quicksilver.core" then return 0, "core" end
  if name == "quicksilver.util" or name == "quicksilver.exc" or name == "quicksilver.event" then
    return 1, "base"
  end
  if name:find("^quicksilver%.sql%.") or name:find("^quicksilver%.dialects") then return 2, "sql" end
  if name:find("^quicksilver%.engine%.") or name:find("^quicksilver%.schema") then return 3, "engine" end
  if name:find("^quicksilver%.orm") or name:find("^quicksilver%.ext") then return 4, "orm" end
  if name:find("^quicksilver%.migrate") or name:find("^quicksilver%.cli") then return 5, "tools" end
  if name == "quicksilver" then return 4, "facade" end
  return nil
end

local function modname(path)
  return (path:gsub("^lua/", ""):gsub("/init%.lua$", ""):gsub("%.lua$", ""):gsub("/", "."))
end

describe("layering", function()
  it("never requires upwards", function()
    local bad = {}
    for _, path in ipairs(modules()) do
      local me = modname(path)
      local mine, myname = layer(me)
      if mine then
        local f = assert(io.open(path))
        for line in f:lines() do
          for dep in line:gmatch("require%(?%s*[\"']([%w%._]+)[\"']") do
            local theirs, tname = layer(dep)
            if theirs and theirs > mine then
              bad[#bad + 1] = string.format("%s (%s) requires %s (%s)", me, myname, dep, tname)
            end
          end
        end
        f:close()
      end
    end
    assert.same({}, bad)
  end)

  it("classifies every module", function()
    local unknown = {}
    for _, path in ipairs(modules()) do
      if not layer(modname(path)) then unknown[#unknown + 1] = modname(path) end
    end
    assert.same({}, unknown)
  end)
end)
