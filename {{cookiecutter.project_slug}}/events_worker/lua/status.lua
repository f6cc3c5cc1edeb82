-- status.lua: every count `status` shows, read at one instant (a script runs alone). Run by Operator.status
-- (queue_operator.py). Read one by one, a job read or settled between two reads was counted nowhere, and a
-- queue whose every job a worker held could look drained. It only reads: Redis runs it over maxmemory too
-- (MULTI/EXEC it would refuse).
--
-- KEYS[1]  the stream, {<queue>}:stream
-- KEYS[2]  the retries, {<queue>}:retry
-- KEYS[3]  the dead letters, {<queue>}:dead
-- KEYS[4]  their stats, {<queue>}:dead:stats (hash: bytes held, dropped)
-- KEYS[5]  the workers, {<queue>}:workers (sorted set: worker -> last heartbeat)
-- KEYS[6]  their states, {<queue>}:workers:state (hash: worker -> "paused|<reason>|<since>")
-- ARGV[1]  the consumer group (GROUP)
--
-- Returns twelve values: 1 the stream's length, 2 retries, 3 dead letters, 4 dead letters dropped, 5 their
-- bytes, 6 and 7 Redis's clock (seconds, microseconds), 8 entries in flight (the group's pending), 9 the
-- group's lag (entries not yet delivered; -1: Redis cannot tell, or is older than 7), 10 {worker, last
-- heartbeat, ...}, 11 {worker, state, ...}, 12 {consumer, entries it holds, ...}.

local stats = redis.call('HMGET', KEYS[4], 'dropped', 'bytes')
local t = redis.call('TIME')
local pending, held, lag = 0, {}, -1
local summary = redis.pcall('XPENDING', KEYS[1], ARGV[1])
if not summary.err then  -- no stream or no group yet: nothing in flight
  pending = summary[1]
  for _, c in ipairs(summary[4] or {}) do
    held[#held + 1] = c[1]
    held[#held + 1] = c[2]
  end
  for _, g in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do
    local fields = {}
    for i = 1, #g, 2 do fields[g[i]] = g[i + 1] end
    if fields['name'] == ARGV[1] and fields['lag'] then lag = fields['lag'] end
  end
end
return {
  redis.call('XLEN', KEYS[1]), redis.call('ZCARD', KEYS[2]), redis.call('HLEN', KEYS[3]),
  tonumber(stats[1]) or 0, tonumber(stats[2]) or 0, t[1], t[2], pending, lag,
  redis.call('ZRANGE', KEYS[5], 0, -1, 'WITHSCORES'), redis.call('HGETALL', KEYS[6]), held,
}
