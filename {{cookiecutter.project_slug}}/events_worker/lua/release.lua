-- release.lua: hands unfinished entries back (a worker shutting down): a copy of each goes to the end of the
-- stream, the original is acked and deleted. Run by Consumer.release (queue_consumer.py).
--
-- KEYS[1]  the stream, {<queue>}:stream
-- ARGV[1]  the consumer group (GROUP)
-- ARGV[2]  the consumer: the worker's id
-- ARGV[3..] three per entry: its id, its payload, its deliveries before this one (the copy's field n)
--
-- Returns how many entries were handed back: only those still in the consumer's own PEL (another worker may
-- have taken one over).

local mine = {}
for _, p in ipairs(redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', 100000, ARGV[2])) do
  mine[p[1]] = true
end
local released = 0
for i = 3, #ARGV, 3 do
  if mine[ARGV[i]] then
    redis.call('XADD', KEYS[1], '*', 'j', ARGV[i + 1], 'n', ARGV[i + 2])
    redis.call('XACK', KEYS[1], ARGV[1], ARGV[i])
    redis.call('XDEL', KEYS[1], ARGV[i])
    released = released + 1
  end
end
return released
