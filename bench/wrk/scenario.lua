-- One wrk scenario for ./quartet bench. Settings come from the environment:
--   BENCH_COOKIE   the session cookie ("name=value"), sent on every request
--   BENCH_CSRF     X-CSRF-Token for POST
--   BENCH_IDS      a file of note ids, one per line: GET /api/notes/<id> cycles through them
--   BENCH_METHOD   GET (default) or POST (creates notes)
--   BENCH_REPORT   where done() writes its JSON line
local cookie = os.getenv("BENCH_COOKIE")
local csrf = os.getenv("BENCH_CSRF")
local ids_file = os.getenv("BENCH_IDS")
local method = os.getenv("BENCH_METHOD") or "GET"
local report = os.getenv("BENCH_REPORT")

local ids = {}
local counter = 0

function init(args)
  if ids_file and ids_file ~= "" then
    for line in io.lines(ids_file) do
      if line ~= "" then ids[#ids + 1] = line end
    end
  end
  if cookie and cookie ~= "" then wrk.headers["Cookie"] = cookie end
  if method == "POST" then
    wrk.method = "POST"
    wrk.headers["Content-Type"] = "application/json"
    wrk.headers["X-CSRF-Token"] = csrf
    wrk.body = '{"title":"bench note","body":"written by the benchmark under load","tags":["bench"]}'
  end
end

function request()
  if #ids > 0 then
    counter = counter + 1
    return wrk.format(nil, wrk.path .. ids[(counter % #ids) + 1])
  end
  return wrk.format()
end

function done(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local errors = summary.errors
  local line = string.format(
    '{"requests":%d,"seconds":%.3f,"rps":%.1f,"p50_ms":%.3f,"p99_ms":%.3f,"max_ms":%.3f,"non2xx":%d,"socket_errors":%d}\n',
    summary.requests, seconds, summary.requests / seconds,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    errors.status, errors.connect + errors.read + errors.write + errors.timeout)
  if report and report ~= "" then
    local f = assert(io.open(report, "w"))
    f:write(line)
    f:close()
  else
    io.write(line)
  end
end
