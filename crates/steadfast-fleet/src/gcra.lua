-- GCRA over several buckets at once, the arithmetic of steadfast::rate_limit
-- in microseconds of Redis's own clock (one clock for the whole fleet).
-- KEYS: one theoretical-arrival-time (TAT) key per bucket.
-- ARGV[1]: "take" (all or nothing), "charge" (into debt) or "refund".
-- ARGV[2i], ARGV[2i+1]: the cost and the tolerance (burst) of bucket i, in µs.
-- Returns 0 when done, else the µs to wait until "take" would be allowed.
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local mode = ARGV[1]
local tats = {}
local wait = 0
for i, key in ipairs(KEYS) do
  local cost = tonumber(ARGV[2 * i])
  local tolerance = tonumber(ARGV[2 * i + 1])
  local tat = tonumber(redis.call('GET', key) or '0')
  if mode == 'refund' then
    tats[i] = math.max(tat - cost, 0)
  else
    local start = math.max(tat, now)
    if mode == 'take' then
      local allowed_at = start + math.min(cost, tolerance) - tolerance
      if allowed_at - now > wait then
        wait = allowed_at - now
      end
    end
    tats[i] = start + cost
  end
end
if wait > 0 then
  return math.ceil(wait)
end
for i, key in ipairs(KEYS) do
  local ttl = math.max(math.ceil((tats[i] - now) / 1000), 0) + 1000
  redis.call('SET', key, string.format('%.0f', tats[i]), 'PX', ttl)
end
return 0
