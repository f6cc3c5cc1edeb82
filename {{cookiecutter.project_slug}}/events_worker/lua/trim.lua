-- trim.lua: deletes the stream entries every consumer is done with: older than the oldest pending entry and
-- already delivered. Run by Consumer.trim (queue_consumer.py).
--
-- KEYS[1]  the stream, {<queue>}:stream
-- ARGV[1]  the consumer group (GROUP)
--
-- Returns how many entries were deleted (XTRIM MINID ~: Redis trims whole nodes, so maybe fewer); 0 when the
-- group does not exist. Fails when the stream does not exist.

local last
for _, g in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do
  local fields = {}
  for i = 1, #g, 2 do fields[g[i]] = g[i + 1] end
  if fields['name'] == ARGV[1] then last = fields['last-delivered-id'] end
end
if not last then return 0 end
local pending = redis.call('XPENDING', KEYS[1], ARGV[1])
local keep_from = last
if pending[1] > 0 then keep_from = pending[2] end
return redis.call('XTRIM', KEYS[1], 'MINID', '~', keep_from)
