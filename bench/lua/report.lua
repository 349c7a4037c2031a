-- Shared by the benchmark's wrk scripts: prints wrk's summary as one JSON line
-- (prefixed "BENCH-JSON ") that bench/run.py reads. Latencies are in
-- microseconds, as wrk measures them: from writing a request to its response.

local report = {}

local threads = {}

function report.setup(thread)
   thread:set("id", #threads)
   table.insert(threads, thread)
end

function report.done(summary, latency, requests)
   local fields = {
      string.format('"duration_us": %d', summary.duration),
      string.format('"requests": %d', summary.requests),
      string.format('"bytes": %d', summary.bytes),
      string.format('"errors_connect": %d', summary.errors.connect),
      string.format('"errors_read": %d', summary.errors.read),
      string.format('"errors_write": %d', summary.errors.write),
      string.format('"errors_status": %d', summary.errors.status),
      string.format('"errors_timeout": %d', summary.errors.timeout),
      string.format('"latency_mean_us": %.1f', latency.mean),
      string.format('"latency_max_us": %d', latency.max),
   }
   for _, p in ipairs({50, 90, 99, 99.9}) do
      table.insert(fields, string.format('"latency_p%s_us": %d', tostring(p):gsub("%.", "_"), latency:percentile(p)))
   end
   local made, reused = 0, 0
   for _, thread in ipairs(threads) do
      made = made + (tonumber(thread:get("made")) or 0)
      reused = reused + (tonumber(thread:get("reused")) or 0)
   end
   table.insert(fields, string.format('"requests_made": %d', made))
   table.insert(fields, string.format('"tokens_reused": %d', reused))
   io.write("BENCH-JSON {" .. table.concat(fields, ", ") .. "}\n")
end

return report
