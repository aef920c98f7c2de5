-- wrk script: POST /api/v1/sessions/validate with a token drawn uniformly from a file.
-- Env: BENCH_TOKENS (file, one token per line), BENCH_AUTH (bearer of a service principal).
-- The request head is built once in init and each request only appends a token: the load
-- generator shares the server's two cores, so its own cost per request must stay small
-- (wrk.format per request cost it about twice what /healthz does). There is no response()
-- callback for the same reason; the harness reads wrk's "Non-2xx or 3xx responses" line.
local tokens = {}
local head

function init(args)
  for line in io.lines(os.getenv("BENCH_TOKENS")) do
    tokens[#tokens + 1] = line
  end
  math.randomseed(os.time() + math.floor(os.clock() * 1000000))
  head = "POST /api/v1/sessions/validate HTTP/1.1\r\n"
    .. "Host: " .. wrk.host .. ":" .. wrk.port .. "\r\n"
    .. "Authorization: Bearer " .. os.getenv("BENCH_AUTH") .. "\r\n"
    .. "Content-Type: application/json\r\n"
    .. "Content-Length: "
end

function request()
  local body = '{"token":"' .. tokens[math.random(#tokens)] .. '"}'
  return head .. #body .. "\r\n\r\n" .. body
end
