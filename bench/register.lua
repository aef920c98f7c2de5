-- wrk script: POST /api/v1/sessions, each request a new session with its own originator,
-- user and node, as a file server registering its clients would send them.
-- Env: BENCH_AUTH (bearer of a principal that may register sessions).
-- As in validate.lua, the request head is built once and each request only formats a body.
local head
local n = 0
local thread_tag

function setup(thread)
  -- A distinct tag per wrk thread keeps every (thread, counter) pair unique.
  n = n + 1
  thread:set("tag", n)
end

function init(args)
  thread_tag = tag or 0
  head = "POST /api/v1/sessions HTTP/1.1\r\n"
    .. "Host: " .. wrk.host .. ":" .. wrk.port .. "\r\n"
    .. "Authorization: Bearer " .. os.getenv("BENCH_AUTH") .. "\r\n"
    .. "Content-Type: application/json\r\n"
    .. "Content-Length: "
end

local i = 0
function request()
  i = i + 1
  local body = string.format(
    '{"service":"smb","node_id":"node-%d","user":{"domain":"ACTIVE_DIRECTORY","name":"reg%d-%d"},'
      .. '"originator":"10.%d.%d.%d","share_names":["home"]}',
    i % 8, thread_tag, i % 5000, 100 + thread_tag, math.floor(i / 256) % 256, i % 256)
  return head .. #body .. "\r\n\r\n" .. body
end
