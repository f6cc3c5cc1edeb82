-- lib/entry.lua (a library, included by read.lua and claim.lua): checks one stream entry's fields.
--
-- entry(f, limit, keep) -> body, n, problem, size, sha1
--   f      the entry's fields, flat as Redis gives them: {name, value, name, value, ...}
--   limit  PAYLOAD_MAX_BYTES: a longer payload is an oversized entry
--   keep   the prefix kept of an oversized payload or of a foreign entry's fields (DEAD_LETTER_PAYLOAD_BYTES)
--   Returns the payload (field j; of a foreign entry its fields as a JSON array, bounded; of an oversized
--   payload its prefix), n (field n, deliveries before this entry; '0' when garbled), the problem ('' for a
--   good entry), the whole size and the sha1 of an oversized payload ('' otherwise).
--   Only `j` (payload) and `n` (deliveries before this entry) are ours; anything else is a foreign entry.
--
-- flag(problems, i, problem, size, sha1): notes a foreign or oversized entry in a reply: its 0-based index,
--   problem, whole size and sha1 (four strings appended to `problems`).

local function entry(f, limit, keep)
  local body, n, extra, problem = nil, '0', {}, ''
  for j = 1, #f, 2 do
    if f[j] == 'j' then body = f[j + 1] elseif f[j] == 'n' then n = f[j + 1] else extra[#extra + 1] = f[j] end
  end
  if #n > 9 or not string.match(n, '^%d+$') then
    problem = 'foreign entry: garbled field n (delivery count) ' .. string.format('%q', string.sub(n, 1, 40))
    n = '0'
  end
  if #extra > 0 then
    local names = table.concat(extra, ' ', 1, math.min(#extra, 5))
    problem = 'foreign entry: unknown fields ' .. string.format('%q', string.sub(names, 1, 100))
  end
  if not body then
    problem = 'foreign entry: missing field j (the payload)'
  end
  if problem ~= '' then  -- a foreign entry keeps its fields, as a JSON array [name, value, ...]: bounded
    body = string.sub(cjson.encode(f), 1, keep)
  end
  local size, sha1 = #body, ''
  if size > limit then
    sha1 = redis.sha1hex(body)
    problem = 'payload of ' .. size .. ' bytes is over PAYLOAD_MAX_BYTES=' .. limit
    body = string.sub(body, 1, keep)
  end
  return body, n, problem, size, sha1
end

local function flag(problems, i, problem, size, sha1)
  problems[#problems + 1] = tostring(i - 1)
  problems[#problems + 1] = problem
  problems[#problems + 1] = tostring(size)
  problems[#problems + 1] = sha1
end
