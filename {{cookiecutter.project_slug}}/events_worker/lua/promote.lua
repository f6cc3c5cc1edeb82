-- promote.lua: moves retries that are due (by Redis's clock) from the sorted set back to the stream.
-- Run by Consumer.promote (queue_consumer.py).
--
-- KEYS[1]  the stream, {<queue>}:stream
-- KEYS[2]  the retries, {<queue>}:retry: a sorted set scored by when each is due (seconds, Redis's clock);
--          member "<deliveries>|<entry>|<payload>", as finish.lua writes it
--
-- Returns how many retries went back to the stream (at most 500 per call).

--@include lib/now.lua

local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', string.format('%.3f', now()), 'LIMIT', 0, 500)
for _, m in ipairs(due) do
  local n, body = string.match(m, '^(%d+)|[^|]*|(.*)$')
  redis.call('XADD', KEYS[1], '*', 'j', body, 'n', n)
  redis.call('ZREM', KEYS[2], m)
end
return #due
