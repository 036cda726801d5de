-- wrk script for benchmarks/bench_http.py: paired kiosks, each checking a visitor in through
-- every request a tablet makes (the welcome page, "who are you", and "what for"; "first visit"
-- when a returning visitor's digits find nobody), one check-in per BENCH_PACING_MS each.
--
-- Run with as many threads as connections (-t N -c N): each thread is then one kiosk on one
-- kept-alive connection, its requests strictly one after another, so a thread's variables are
-- that kiosk's screen. wrk is compiled: the load generator does not take the server's cores as
-- a Python one (locust) does on a two-core machine. Latencies are wrk's own, per request, from
-- the request written to the response read (the kiosk's pause between visitors is not in them).
--
-- Environment: BENCH_OFFICE (slug), BENCH_PACING_MS (1000), BENCH_KIOSKS (= -t),
-- BENCH_SECONDS_RUN (= -d, for the steady part's bounds), and
-- BENCH_RETURNING_TSV (first, last and phone digits, already form-encoded, one visitor a line:
-- thread k takes every k-th). The cookies and the CSRF header come with -H on the command line.
local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
  int clock_gettime(int clock, bench_timespec *now);
]]
local clock = ffi.new("bench_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, clock) -- CLOCK_MONOTONIC
  return tonumber(clock.tv_sec) * 1000 + tonumber(clock.tv_nsec) / 1e6
end

local office = os.getenv("BENCH_OFFICE")
local pacing = tonumber(os.getenv("BENCH_PACING_MS") or "1000")
local kiosks = tonumber(os.getenv("BENCH_KIOSKS") or "1")
local step_path = "/kiosk/" .. office .. "/step/"
local home_path = "/kiosk/" .. office .. "/"

-- wrk.format sends only the headers it is given: the -H ones (cookies, CSRF, HX-Request) and,
-- on a form, its type.
local function form_headers()
  local headers = { ["Content-Type"] = "application/x-www-form-urlencoded" }
  for name, value in pairs(wrk.headers) do headers[name] = value end
  return headers
end

local threads = {}
function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

local function encode(text)
  return (text:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", c:byte()) end))
end

-- One kiosk's state: the screen it shows and what it will send next.
local people = {}
local phase = "home" -- home, identify, verify, finish
local page = ""
local started = nil -- when this visitor's check-in began (ms, monotonic)
local serial = 0
flows, abandoned, failures = 0, 0, 0
-- The rate is counted in the steady part of the run: the check-ins that began from the end of the
-- first interval (every kiosk has started by then) to one interval before the run's end (each
-- has had a whole interval to finish). A kiosk the server keeps up with begins exactly one a
-- pacing interval there; one that waits on a slow server begins fewer.
local first_counted, last_counted = 0, 0
steady = 0

function init(args)
  local file = os.getenv("BENCH_RETURNING_TSV")
  if file and file ~= "" then
    local n = 0
    for line in io.lines(file) do
      if n % kiosks == tid - 1 then
        local first, last, last4 = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)$")
        if first then table.insert(people, { first, last, last4 }) end
      end
      n = n + 1
    end
  end
  math.randomseed(tid * 7919 + os.time())
  local seconds = tonumber(os.getenv("BENCH_SECONDS_RUN") or "0")
  first_counted = now_ms() + pacing
  last_counted = now_ms() + seconds * 1000 - pacing
end

local function state_field()
  return "state=" .. encode(page:match('name="state" value="([^"]*)"') or "")
end

function request()
  if phase == "home" then
    return wrk.format("GET", home_path)
  end
  local body
  if phase == "identify" then
    local person = table.remove(people)
    if person then
      body = "step=identify&lang=en&action=find&first_name=" .. person[1] ..
          "&last_name=" .. person[2] .. "&phone_last4=" .. person[3]
    else
      serial = serial + 1
      body = string.format("step=identify&lang=en&action=first_visit&first_name=Bench%dk%d" ..
        "&last_name=%08x", serial, tid, math.random(0, 0x7fffffff))
    end
  elseif phase == "verify" then
    body = "step=verify&action=first_visit"
  else
    local reason = page:match('name="reasons" value="(%d+)"') or ""
    body = "step=finish&reasons=" .. reason .. "&priority_category=none"
  end
  return wrk.format("POST", step_path, form_headers(), state_field() .. "&" .. body)
end

local function next_visitor(done)
  if done then flows = flows + 1 else abandoned = abandoned + 1 end
  if done and started >= first_counted and started < last_counted then steady = steady + 1 end
  phase = "home"
end

function response(status, headers, body)
  page = body
  if phase == "home" then
    if status ~= 200 then failures = failures + 1; return next_visitor(false) end
    phase = "identify"
  elseif phase == "identify" or phase == "verify" then
    if phase == "identify" and status == 422 then
      phase = "verify" -- not found by those digits: on as a new visitor
    elseif status ~= 200 then
      failures = failures + 1; next_visitor(false)
    elseif body:find('class="ticket"', 1, true) then
      next_visitor(false) -- a returning visitor already in line is shown their ticket
    else
      phase = "finish"
    end
  else
    if status == 200 and body:find('class="ticket"', 1, true) then
      next_visitor(true)
    else
      failures = failures + 1; next_visitor(false)
    end
  end
end

-- Before each request: none, except at a kiosk's welcome page, where the next visitor comes a
-- pacing interval after the last one began (at once when that check-in took longer). The first
-- comes at a random moment of the first interval: the kiosks of an office are not in step, and
-- started together they would stay one burst of 50 at every second.
function delay()
  if phase ~= "home" then return 0 end
  if not started then
    local offset = math.random(0, pacing - 1)
    started = now_ms() + offset
    return offset
  end
  local wait = pacing - (now_ms() - started)
  started = now_ms() + math.max(0, wait)
  return math.max(0, math.floor(wait))
end

function done(summary, latency, requests)
  local total_flows, total_abandoned, total_failures, total_steady = 0, 0, 0, 0
  for _, thread in ipairs(threads) do
    total_steady = total_steady + thread:get("steady")
    total_flows = total_flows + thread:get("flows")
    total_abandoned = total_abandoned + thread:get("abandoned")
    total_failures = total_failures + thread:get("failures")
  end
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "seconds": %.3f, "p50_ms": %.3f, "p95_ms": %.3f, "p99_ms": %.3f, ' ..
    '"bad_status": %d, "socket_errors": %d, "flows": %d, "abandoned": %d, ' ..
    '"flow_failures": %d, "steady_flows": %d}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000,
    latency:percentile(95) / 1000, latency:percentile(99) / 1000, e.status,
    e.connect + e.read + e.write + e.timeout, total_flows, total_abandoned, total_failures, total_steady))
end
