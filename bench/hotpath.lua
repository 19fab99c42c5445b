-- wrk script of bench/hotpath.sh: POSTs one small chat request over and over, and prints
-- machine-readable totals when the run is done.
--   HOTPATH_BODY  the request body (JSON)
--   HOTPATH_KEY   a client key sent as "Authorization: Bearer …"; empty or unset: no header
wrk.method = "POST"
wrk.body = os.getenv("HOTPATH_BODY")
wrk.headers["Content-Type"] = "application/json"
local key = os.getenv("HOTPATH_KEY")
if key ~= nil and key ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. key
end

-- One line, "HOTPATH key=value …": requests completed, non2xx (wrk counts statuses above 399),
-- socket errors, the run's duration and latency percentiles, all times in microseconds.
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "HOTPATH requests=%d non2xx=%d errors=%d duration_us=%d p50_us=%d p90_us=%d p99_us=%d mean_us=%.1f bytes=%d\n",
    summary.requests, e.status, e.connect + e.read + e.write + e.timeout, summary.duration,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean, summary.bytes))
end
