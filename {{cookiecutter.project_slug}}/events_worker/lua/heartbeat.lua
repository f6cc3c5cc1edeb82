-- heartbeat.lua: records a worker alive (and paused, if it is) by Redis's clock; forgets workers silent too
-- long. Run by Consumer.heartbeat (queue_consumer.py), from the heartbeat thread; `status` reads what it writes.
--
-- KEYS[1]  the workers, {<queue>}:workers (sorted set: worker -> last heartbeat, seconds)
-- KEYS[2]  their states, {<queue>}:workers:state (hash: worker -> "paused|<reason>|<since>")
-- ARGV[1]  the worker's id
-- ARGV[2]  forget after: workers silent this many seconds leave the registry
-- ARGV[3]  the worker's state: "" when working, "paused|<reason>|<since>" when paused
--
-- Returns 1.

--@include lib/now.lua

local t = now()
redis.call('ZADD', KEYS[1], string.format('%.3f', t), ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%.3f', t - tonumber(ARGV[2])))
if ARGV[3] ~= '' then
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
else
  redis.call('HDEL', KEYS[2], ARGV[1])
end
return 1
