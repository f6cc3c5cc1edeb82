-- read.lua: new entries for one consumer, without blocking, within a count and a byte budget.
-- Run by Consumer.read (queue_consumer.py).
--
-- KEYS[1]  the stream, {<queue>}:stream
-- ARGV[1]  the consumer group (GROUP)
-- ARGV[2]  the consumer: the worker's id
-- ARGV[3]  count: at most this many entries
-- ARGV[4]  limit: PAYLOAD_MAX_BYTES; a longer payload is an oversized entry
-- ARGV[5]  keep: the prefix kept of an oversized payload (DEAD_LETTER_PAYLOAD_BYTES)
-- ARGV[6]  budget: at most this many payload bytes (READ_MAX_BYTES), one entry at least; an oversized payload
--          counts as its prefix
--
-- Returns {} when there is nothing new, else six values (flat strings, cheap to parse):
--   1 the entry ids, comma-joined          2 the payloads' lengths, comma-joined
--   3 field n of each entry (deliveries before it existed), comma-joined
--   4 the payloads, concatenated           5 {0-based index, problem, whole size, sha1} per foreign or
--   6 '' (claim.lua's delivery counts)       oversized entry, flat
-- Fails with 'NOGROUP ...' when the stream or the group does not exist.
--
-- A peek (XRANGE after the group's last delivered id) finds where the budget ends before XREADGROUP takes
-- the entries into the reader's PEL: Streams have no "unread". The usual entry (fields j then n=0, within the
-- limit) skips entry(): 10% less Redis time per read.

--@include lib/entry.lua

local limit, keep, budget = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local count = tonumber(ARGV[3])
local groups = redis.pcall('XINFO', 'GROUPS', KEYS[1])
if groups.err then return redis.error_reply('NOGROUP ' .. groups.err) end
local last
for _, g in ipairs(groups) do
  if g[2] == ARGV[1] then
    for i = 1, #g, 2 do if g[i] == 'last-delivered-id' then last = g[i + 1] end end
  end
end
if not last then return redis.error_reply('NOGROUP no consumer group ' .. ARGV[1]) end
local peek = redis.call('XRANGE', KEYS[1], '(' .. last, '+', 'COUNT', count)
if not peek or #peek == 0 then return {} end
local total, fit = 0, 0
for _, e in ipairs(peek) do
  local size = 0
  for j = 2, #e[2], 2 do size = size + #e[2][j] end
  if size > limit then size = keep end
  if fit > 0 and total + size > budget then break end
  total, fit = total + size, fit + 1
end
peek = nil
local r = redis.call('XREADGROUP', 'GROUP', ARGV[1], ARGV[2], 'COUNT', fit, 'STREAMS', KEYS[1], '>')
if not r then return {} end
local ids, lens, prior, bodies, problems = {}, {}, {}, {}, {}
for i, e in ipairs(r[1][2]) do
  local f = e[2]
  local body, n = f[2], f[4]
  if not (f[1] == 'j' and f[3] == 'n' and n == '0' and #f == 4 and #body <= limit) then
    local problem, size, sha1
    body, n, problem, size, sha1 = entry(f, limit, keep)
    if problem ~= '' then flag(problems, i, problem, size, sha1) end
  end
  ids[i], lens[i], prior[i], bodies[i] = e[1], #body, n, body
end
local joined = {table.concat(ids, ','), table.concat(lens, ','), table.concat(prior, ',')}
return {joined[1], joined[2], joined[3], table.concat(bodies), problems, ''}
