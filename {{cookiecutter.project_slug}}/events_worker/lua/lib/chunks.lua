-- lib/chunks.lua (a library, included by touch.lua and finish.lua): splits a comma-joined list of ids.
--
-- chunks(joined, size, keep, call): call(ids) for each run of up to `size` ids that keep(id) accepts, out of
--   one comma-joined argument. (2,000 separate arguments cost the worker more to send than the split costs
--   Redis; unpack() has a stack limit, hence the runs.) Returns nothing.

local function chunks(joined, size, keep, call)
  local ids = {}
  for id in string.gmatch(joined, '[^,]+') do
    if keep(id) then ids[#ids + 1] = id end
    if #ids == size then
      call(ids)
      ids = {}
    end
  end
  if #ids > 0 then call(ids) end
end
