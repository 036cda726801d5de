-- wrk script for benchmarks/bench_http.py: method, body and pacing come from the environment
-- (headers from -H on the command line); at the end, one JSON line with exact percentiles.
local method = os.getenv("BENCH_METHOD")
local body = os.getenv("BENCH_BODY")
if method and method ~= "" then wrk.method = method end
if body and body ~= "" then wrk.body = body end

-- A body with "{n}" in it is made anew for every request, "{n}" replaced by a number of this
-- run, thread and request (a new visitor's name for each check-in, say).
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
if body and body:find("{n}", 1, true) then
  local sent = 0
  local run = os.time() % 100000
  function request()
    sent = sent + 1
    local each = body:gsub("{n}", string.format("r%dt%dn%d", run, tid or 0, sent))
    return wrk.format(nil, nil, nil, each)
  end
end

-- BENCH_DELAY_MS: each connection waits about this long between requests (an open console
-- polling every 2 s) instead of sending the next one at once. The wait is drawn between half and
-- one and a half times it: consoles opened at different moments do not poll in step, and
-- without the spread all 500 would start together and stay a synchronised burst.
local pause = tonumber(os.getenv("BENCH_DELAY_MS") or "")
if pause and pause > 0 then
  function delay() return math.random(math.floor(pause / 2), math.floor(pause * 3 / 2)) end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "seconds": %.3f, "p50_ms": %.3f, "p95_ms": %.3f, "p99_ms": %.3f, ' ..
    '"bad_status": %d, "socket_errors": %d}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000,
    latency:percentile(95) / 1000, latency:percentile(99) / 1000, e.status,
    e.connect + e.read + e.write + e.timeout))
end
