-- claim.lua: takes over entries idle too long (their worker died or hung).
-- Run by Consumer.claim (queue_consumer.py).
--
-- KEYS[1]  the stream, {<queue>}:stream
-- ARGV[1]  the consumer group (GROUP)
-- ARGV[2]  the consumer taking them over: the worker's id
-- ARGV[3]  min idle: only entries idle at least this many ms (CLAIM_IDLE_SECONDS)
-- ARGV[4]  limit: PAYLOAD_MAX_BYTES; a longer payload is an oversized entry
-- ARGV[5]  keep: the prefix kept of an oversized payload (DEAD_LETTER_PAYLOAD_BYTES)
-- ARGV[6]  count: at most this many entries delivered once
-- ARGV[7]  budget: at most this many payload bytes of entries delivered once (READ_MAX_BYTES)
--
-- Returns {} when nothing is idle, else read.lua's six values, the sixth being how many times each entry
-- was delivered (comma-joined; this take-over counted).
--
-- Entries delivered once go in a batch within the count and the budget; an entry delivered twice or more
-- (taken over before: it may be what killed its workers) is taken alone, so a job that kills workers only
-- ever takes itself to the dead letters.

--@include lib/entry.lua

local limit, keep, budget = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[7])
local idle = redis.call('XPENDING', KEYS[1], ARGV[1], 'IDLE', ARGV[3], '-', '+', ARGV[6])
if #idle == 0 then return {} end
local take, total = {}, 0
if idle[1][4] > 1 then
  take[1] = idle[1][1]
else
  for _, p in ipairs(idle) do
    if p[4] == 1 then
      local e = redis.call('XRANGE', KEYS[1], p[1], p[1])[1]
      local size = 0
      if e then for j = 2, #e[2], 2 do size = size + #e[2][j] end end
      if size > limit then size = keep end
      if #take > 0 and total + size > budget then break end
      total = total + size
      take[#take + 1] = p[1]
    end
  end
end
local ids, lens, prior, bodies, problems, times = {}, {}, {}, {}, {}, {}
for _, e in ipairs(redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], ARGV[3], unpack(take))) do
  if e and e[2] then
    local body, n, problem, size, sha1 = entry(e[2], limit, keep)
    local i = #ids + 1
    if problem ~= '' then flag(problems, i, problem, size, sha1) end
    local p = redis.call('XPENDING', KEYS[1], ARGV[1], e[1], e[1], 1)
    ids[i], lens[i], prior[i], bodies[i], times[i] = e[1], #body, n, body, p[1][4]
  end
end
if #ids == 0 then return {} end
local joined = {table.concat(ids, ','), table.concat(lens, ','), table.concat(prior, ',')}
return {joined[1], joined[2], joined[3], table.concat(bodies), problems, table.concat(times, ',')}
