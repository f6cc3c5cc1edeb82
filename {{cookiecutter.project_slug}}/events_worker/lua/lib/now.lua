-- lib/now.lua (a library, included by promote.lua, finish.lua and heartbeat.lua): Redis's clock.
--
-- now() -> seconds since 1970, with microseconds: the one clock every worker shares (a worker's own may be
--   minutes off).

local function now()
  local t = redis.call('TIME')
  return tonumber(t[1]) + tonumber(t[2]) / 1000000
end
