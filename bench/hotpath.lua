-- Requests of `python -m bench hotpath`, for wrk:
--
--   wrk -t1 -c32 -d5s --latency -s bench/hotpath.lua URL -- MODE TARGETS NONCE
--
-- MODE is get, list, create (with a fresh Idempotency-Key per request), plain (create
-- without one) or sweep (get, the targets in turn, so that a short run reaches each).
-- TARGETS holds `api-key space-id` lines; every request but a sweep's picks one uniformly
-- at random. NONCE keeps Idempotency-Keys apart across runs. When done, one line
-- `HOTPATH {json}` gives the figures (microseconds), read by bench/hotpath.py.

local threads = {}
local next_id = 1

function setup(thread)
   thread:set("id", next_id)
   next_id = next_id + 1
   table.insert(threads, thread)
end

local mode, nonce
local keys, spaces, count = {}, {}, 0
local sent = 0

function init(args)
   mode = args[1]
   nonce = args[3] or "0"
   for line in io.lines(args[2]) do
      local key, space = line:match("^(%S+)%s+(%S+)")
      if key then
         count = count + 1
         keys[count], spaces[count] = key, space
      end
   end
   if count == 0 then
      error("no targets in " .. args[2])
   end
   local seed = tonumber(nonce:sub(1, 7), 16) or os.time()
   math.randomseed(seed + id * 7919)
end

local function create(idempotent)
   local i = math.random(count)
   sent = sent + 1
   local headers = { ["X-API-Key"] = keys[i], ["Content-Type"] = "application/json" }
   if idempotent then
      headers["Idempotency-Key"] =
         string.format("%s-%d-%d-%d", nonce, id, sent, math.random(1000000000))
   end
   local body = string.format(
      '{"name":"space %d-%d","description":"made by wrk","metadata":{"source":"wrk","n":%d}}',
      id, sent, sent)
   return wrk.format("POST", "/v1/spaces", headers, body)
end

function request()
   if mode == "get" then
      local i = math.random(count)
      return wrk.format("GET", "/v1/spaces/" .. spaces[i], { ["X-API-Key"] = keys[i] })
   elseif mode == "sweep" then
      local i = sent % count + 1
      sent = sent + 1
      return wrk.format("GET", "/v1/spaces/" .. spaces[i], { ["X-API-Key"] = keys[i] })
   elseif mode == "list" then
      local i = math.random(count)
      return wrk.format("GET", "/v1/spaces?limit=20", { ["X-API-Key"] = keys[i] })
   elseif mode == "create" then
      return create(true)
   elseif mode == "plain" then
      return create(false)
   end
   error("unknown mode " .. tostring(mode))
end

function done(summary, latency, requests)
   local errors = summary.errors
   io.write(string.format(
      'HOTPATH {"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,' ..
      '"status":%d,"timeout":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"mean_us":%.1f,' ..
      '"max_us":%d}\n',
      summary.requests, summary.duration, errors.connect, errors.read, errors.write,
      errors.status, errors.timeout, latency:percentile(50), latency:percentile(90),
      latency:percentile(99), latency.mean, latency.max))
end
