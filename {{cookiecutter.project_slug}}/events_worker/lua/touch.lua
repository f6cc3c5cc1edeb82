-- touch.lua: resets the idle time of the entries a worker holds, so they are not taken over.
-- Run by Consumer.heartbeat (queue_consumer.py), from the heartbeat thread.
--
-- KEYS[1]  the stream, {<queue>}:stream
-- ARGV[1]  the consumer group (GROUP)
-- ARGV[2]  the consumer: the worker's id
-- ARGV[3]  the entry ids it holds, comma-joined
--
-- Returns how many entries were touched.
--
-- Only entries still in the consumer's own PEL are touched, so it never takes back what another worker has
-- claimed. XCLAIM JUSTID does not count a delivery.

--@include lib/chunks.lua

local mine = {}
for _, p in ipairs(redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', 100000, ARGV[2])) do
  mine[p[1]] = true
end
local touched = 0
chunks(ARGV[3], 500, function(id) return mine[id] end, function(ids)
  touched = touched + #ids
  ids[#ids + 1] = 'JUSTID'
  redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, unpack(ids))
end)
return touched
