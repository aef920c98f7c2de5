"""A Standard Webhooks receiver for sessiond's interop tests.

Serves HTTP on 127.0.0.1 (an ephemeral port, printed as `listening PORT`) and reads the
webhook's secret as the first line of stdin (messages before it are answered 503). Every POST is verified with the
`standardwebhooks` library (the reference implementation): a valid message is printed as
`EVENT <json>`; a tampered copy of it (body changed, same headers) must fail verification, and
`TAMPERED-REJECTED` is printed when it does. A message that fails verification is answered
401 and printed as `BAD-SIGNATURE`.

Later stdin lines change how it answers: `fail N` answers the next N valid messages with 500,
`ok` answers every valid message 204 again.
"""

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

state = {"fail": 0, "hook": None}
lock = threading.Lock()
out_lock = threading.Lock()


def say(line):
    with out_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def main():
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def answer(self, status):
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            headers = {k.lower(): v for k, v in self.headers.items()}
            with lock:
                hook = state["hook"]
            if hook is None:
                self.answer(503)
                return
            try:
                payload = hook.verify(body, headers)
            except WebhookVerificationError as e:
                say("BAD-SIGNATURE " + str(e))
                self.answer(401)
                return
            tampered = body.replace(b'"type"', b'"typo"', 1) if b'"type"' in body else body + b" "
            try:
                hook.verify(tampered, headers)
                say("TAMPERED-ACCEPTED")
            except WebhookVerificationError:
                say("TAMPERED-REJECTED")
            with lock:
                failing = state["fail"] > 0
                if failing:
                    state["fail"] -= 1
            if failing:
                say("FAILED " + json.dumps(payload, separators=(",", ":")))
                self.answer(500)
                return
            say("EVENT " + json.dumps(payload, separators=(",", ":")))
            self.answer(204)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    say("listening %d" % server.server_address[1])

    def commands():
        secret = sys.stdin.readline().strip()
        with lock:
            state["hook"] = Webhook(secret)
        say("ACK secret")
        for line in sys.stdin:
            words = line.split()
            with lock:
                if words[:1] == ["fail"] and len(words) == 2:
                    state["fail"] = int(words[1])
                elif words[:1] == ["ok"]:
                    state["fail"] = 0
            say("ACK " + line.strip())

    threading.Thread(target=commands, daemon=True).start()
    server.serve_forever()


if __name__ == "__main__":
    main()
