-- wrk script for the service load benchmark (bench/run_service.sh): POSTs the request bodies of
-- the file named by DOPPEL_BODIES (one JSON object per line) to /v1/check in turn, and reports
-- percentiles and every non-200 answer.
local path = os.getenv("DOPPEL_BODIES")
local bodies = {}
for line in io.lines(path) do bodies[#bodies + 1] = line end
local i = math.random(#bodies)
local headers = {["Content-Type"] = "application/json"}

request = function()
  i = i % #bodies + 1
  return wrk.format("POST", "/v1/check", headers, bodies[i])
end

done = function(summary, latency, requests)
  local errors = summary.errors.status + summary.errors.connect + summary.errors.read +
                 summary.errors.write + summary.errors.timeout
  io.write(string.format(
    "RESULT requests=%d seconds=%.1f rps=%.0f p50_us=%d p90_us=%d p99_us=%d max_us=%d errors=%d\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, errors))
end
