--- ngx/transport.lua: an OpenResty cosocket as the transport of a wire
--- driver connection (docs/OPENRESTY.md).
---
--- A wire driver opened with `transport = "external"` owns no socket: when
--- an operation must move bytes it returns core.WAIT with fd -1 and the
--- events "w" (bytes to send), "r" (bytes wanted), "rw" (either) or "tls"
--- (upgrade the transport now). The waiter made here is the connection's
--- waiter (docs/ASYNC.md's contract: W(fd, events, timeout) -> ready): it
--- moves the bytes between the C connection and an `ngx.socket.tcp`
--- cosocket, which suspends only the request's coroutine, never the worker.
local M = {}

-- What a receive asks for at most: whatever the socket holds, up to this.
local CHUNK = 65536
-- The cosocket timeout when the core gives none (no statement deadline):
-- one day, so "no limit" never turns into nginx's 60 s default.
local NO_LIMIT_MS = 86400000

-- Milliseconds for sock:settimeout from the waiter's seconds (nil: none).
local function ms(timeout)
  if timeout == nil then return NO_LIMIT_MS end
  local n = math.floor(timeout * 1000 + 0.5)
  if n < 1 then n = 1 end
  return n
end

--- The waiter that moves cconn's bytes over sock (a connected cosocket).
--- opts.server_name: the host name sent in the TLS handshake (SNI) when the
--- driver asks for TLS; opts.ssl_verify: verify the server's certificate
--- (needs lua_ssl_trusted_certificate). On a transport error other than a
--- timeout the waiter tells the connection the peer closed and returns
--- true: the driver then fails the operation as a lost connection (an
--- invalidated OperationalError); opts.on_error(err), when given, hears
--- the cosocket's own message first. A timeout returns false, so the
--- core's statement deadline (cancel, grace) runs as in any other waiter.
--- The second result, attach(sock2), moves the waiter to another cosocket
--- (the same session's socket in the next request: ngx/pool.lua keeps one
--- waiter per connection).
---@param cconn userdata a quicksilver Connection opened with transport=external
---@param sock table an ngx.socket.tcp() object, connected
---@param opts? table server_name, ssl_verify, on_error
---@return fun(fd: integer, events: string, timeout: number|nil): boolean
---@return fun(sock: table)
function M.waiter(cconn, sock, opts)
  opts = opts or {}
  local on_error = opts.on_error
  local set_ms   -- the cosocket's timeout now: set again only when it changes
  local function attach(s)
    sock, set_ms = s, nil
  end
  local function lost(err)
    if on_error then on_error(err) end
    pcall(sock.close, sock)
    pcall(cconn.io_input, cconn, nil)   -- the peer is gone: the driver reports it
    return true
  end
  return function(_, events, timeout)
    local t = ms(timeout)
    if t ~= set_ms then
      sock:settimeout(t)
      set_ms = t
    end
    if events == "tls" then
      local ok, err = sock:sslhandshake(false, opts.server_name, opts.ssl_verify and true or false)
      if not ok then return lost("TLS handshake: " .. tostring(err)) end
      return true
    end
    -- what the driver queued goes first, whatever it waits for
    local out = cconn:io_output()
    if out then
      local n, err = sock:send(out)
      if not n then
        -- a send that failed (timed out included) closed the cosocket:
        -- some of the bytes may have gone, so the session is lost
        return lost("send: " .. tostring(err))
      end
      cconn:io_done(#out)
      if events ~= "r" then return true end
    elseif events == "w" then
      return true
    end
    local data, err = sock:receiveany(CHUNK)
    if data then
      local ok, ferr = cconn:io_input(data)
      if not ok then return lost("input: " .. tostring(ferr)) end
      return true
    end
    if err == "timeout" then return false end   -- a receive timeout leaves the socket open
    return lost("receive: " .. tostring(err))
  end, attach
end

return M
