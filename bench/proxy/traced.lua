-- bench/proxy: wrk script for the "traced heads" rows (issue 3) -- each request carries what a traced mesh caller sends:
-- a unique x-request-id, fresh B3 ids, user-agent and accept, so no two request heads repeat byte for byte (wrk's own
-- request is the same tiny head every time, which flatters any per-head cache). Host is backend:9080 (nginx ignores it).
local hex = {"0","1","2","3","4","5","6","7","8","9","a","b","c","d","e","f"}
local function h(k) local t = {} for i=1,k do t[i] = hex[math.random(16)] end return table.concat(t) end
request = function()
  local tid = h(32)
  local hdrs = {}
  hdrs["Host"] = "backend:9080"
  hdrs["User-Agent"] = "curl/8.5.0"
  hdrs["Accept"] = "*/*"
  hdrs["X-Request-Id"] = h(8) .. "-" .. h(4) .. "-4" .. h(3) .. "-a" .. h(3) .. "-" .. h(12)
  hdrs["X-B3-TraceId"] = tid
  hdrs["X-B3-SpanId"] = h(16)
  hdrs["X-B3-Sampled"] = "1"
  return wrk.format("GET", "/", hdrs)
end
