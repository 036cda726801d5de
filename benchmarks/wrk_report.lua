-- wrk script for benchmarks/bench_http.py: the method and body come from the environment
-- (headers from -H on the command line); at the end, one JSON line with exact percentiles.
local method = os.getenv("BENCH_METHOD")
local body = os.getenv("BENCH_BODY")
if method and method ~= "" then wrk.method = method end
if body and body ~= "" then wrk.body = body end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "seconds": %.3f, "p50_ms": %.3f, "p95_ms": %.3f, "p99_ms": %.3f, ' ..
    '"bad_status": %d, "socket_errors": %d}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000,
    latency:percentile(95) / 1000, latency:percentile(99) / 1000, e.status,
    e.connect + e.read + e.write + e.timeout))
end
