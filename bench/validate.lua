-- wrk script: POST /api/v1/sessions/validate with a token drawn uniformly from a file.
-- Env: BENCH_TOKENS (file, one token per line), BENCH_AUTH (bearer of a service principal).
local tokens = {}
local auth = os.getenv("BENCH_AUTH")

function init(args)
  for line in io.lines(os.getenv("BENCH_TOKENS")) do
    tokens[#tokens + 1] = line
  end
  math.randomseed(os.time() + math.floor(os.clock() * 1000000))
end

function request()
  local t = tokens[math.random(#tokens)]
  return wrk.format("POST", "/api/v1/sessions/validate", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. auth,
  }, '{"token":"' .. t .. '"}')
end

function response(status, headers, body)
  if status ~= 200 then
    io.stderr:write("validate answered " .. status .. "\n")
  end
end
