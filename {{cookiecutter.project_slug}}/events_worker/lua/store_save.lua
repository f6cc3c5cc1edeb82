-- store_save.lua: stores a chunk of jobs and their output-table rows, each job once. Run by Store.save
-- (store_redis.py; Redis bakes only: with PostgreSQL the results are not in Redis).
--
-- KEYS[1]  the job hash, {<queue>}:<JOB_TABLE> (job key -> its stored columns as JSON)
-- ARGV     per job: its key, its value (JSON), n, then n writes of four values each: op (add, addf, first,
--          max, min), hash ({<queue>}:<table>:<column>), field (the output row's key), argument
--
-- Returns how many jobs were new (HSETNX on the job hash added them); only those apply their writes, so a job
-- delivered twice changes nothing. A first pass refuses a chunk that would take an integer sum past 9.0e18
-- (`DATA a sum would overflow`, a job fault) before anything is written.

local limit = 9.0e18
local sums = {}
local i = 1
while i <= #ARGV do
  local n = tonumber(ARGV[i + 2])
  for j = i + 3, i + 2 + 4 * n, 4 do
    if ARGV[j] == 'add' then
      local slot = ARGV[j + 1] .. '\0' .. ARGV[j + 2]
      local total = (sums[slot] or tonumber(redis.call('HGET', ARGV[j + 1], ARGV[j + 2]) or '0'))
        + tonumber(ARGV[j + 3])
      if total > limit or total < -limit then
        return redis.error_reply('DATA a sum would overflow: ' .. ARGV[j + 1] .. ' ' .. ARGV[j + 2])
      end
      sums[slot] = total
    end
  end
  i = i + 3 + 4 * n
end
local stored = 0
i = 1
while i <= #ARGV do
  local n = tonumber(ARGV[i + 2])
  if redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 1]) == 1 then
    stored = stored + 1
    for j = i + 3, i + 2 + 4 * n, 4 do
      local op, hash, field, arg = ARGV[j], ARGV[j + 1], ARGV[j + 2], ARGV[j + 3]
      if op == 'add' then redis.call('HINCRBY', hash, field, arg)
      elseif op == 'addf' then redis.call('HINCRBYFLOAT', hash, field, arg)
      elseif op == 'first' then redis.call('HSETNX', hash, field, arg)
      else
        local old = redis.call('HGET', hash, field)
        if not old or (op == 'max' and tonumber(arg) > tonumber(old))
            or (op == 'min' and tonumber(arg) < tonumber(old)) then
          redis.call('HSET', hash, field, arg)
        end
      end
    end
  end
  i = i + 3 + 4 * n
end
return stored
