-- finish.lua: settles a batch atomically: schedules retries, writes dead letters (bounded: the oldest dropped,
-- counted), acks. Run by Consumer.finish (queue_consumer.py).
--
-- KEYS[1]  the stream, {<queue>}:stream
-- KEYS[2]  the retries, {<queue>}:retry (sorted set: when due -> "<deliveries>|<entry>|<payload>")
-- KEYS[3]  the dead letters, {<queue>}:dead (hash: entry -> JSON record)
-- KEYS[4]  their order, {<queue>}:dead:order (sorted set: entry -> when dead), to drop the oldest first
-- KEYS[5]  their stats, {<queue>}:dead:stats (hash: bytes held, dropped)
-- ARGV[1]  the consumer group (GROUP)
-- ARGV[2]  max count of dead letters (DEAD_LETTER_MAX_COUNT)
-- ARGV[3]  max bytes of dead letters (DEAD_LETTER_MAX_BYTES)
-- ARGV[4]  nr: how many retries follow
-- ARGV[5]  nd: how many dead letters follow
-- ARGV[6]  ids per XACK (ACK_CHUNK: unpack() has a stack limit)
-- then nr pairs (retry member, delay in seconds), nd pairs (entry, dead letter record), and last the ids to
-- ack, comma-joined
--
-- Returns the entries of the dead letters dropped (oldest first) to stay within the caps.
--
-- Writes that Redis refuses over maxmemory come first, so a refusal leaves nothing half done; a batch with
-- nothing to retry or dead-letter is a bare XACK, which Redis allows over maxmemory (and which frees memory).

--@include lib/now.lua
--@include lib/chunks.lua

local nr, nd = tonumber(ARGV[4]), tonumber(ARGV[5])
local t = now()
local i = 7
for _ = 1, nr do
  redis.call('ZADD', KEYS[2], string.format('%.3f', t + tonumber(ARGV[i + 1])), ARGV[i])
  i = i + 2
end
local dropped = {}
if nd > 0 then
  local added = 0
  for _ = 1, nd do
    added = added + #ARGV[i + 1] - redis.call('HSTRLEN', KEYS[3], ARGV[i])
    redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 1])
    redis.call('ZADD', KEYS[4], string.format('%.3f', t), ARGV[i])
    i = i + 2
  end
  local bytes = redis.call('HINCRBY', KEYS[5], 'bytes', added)
  local count = redis.call('HLEN', KEYS[3])
  while count > tonumber(ARGV[2]) or bytes > tonumber(ARGV[3]) do
    local oldest = redis.call('ZPOPMIN', KEYS[4])
    if #oldest == 0 then break end
    bytes = bytes - redis.call('HSTRLEN', KEYS[3], oldest[1])
    count = count - redis.call('HDEL', KEYS[3], oldest[1])
    dropped[#dropped + 1] = oldest[1]
  end
  redis.call('HSET', KEYS[5], 'bytes', bytes)
  if #dropped > 0 then redis.call('HINCRBY', KEYS[5], 'dropped', #dropped) end
end
chunks(ARGV[i], tonumber(ARGV[6]), function() return true end, function(ids)
  redis.call('XACK', KEYS[1], ARGV[1], unpack(ids))
end)
return dropped
