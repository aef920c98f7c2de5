"""An independent OpenID SSF 1.0 receiver for sessiond's interop tests, verifying with PyJWT.

    ssf_receiver.py BASE_URL BEARER_TOKEN push|poll

Reads the transmitter's /.well-known/ssf-configuration, creates a stream through its
configuration endpoint (push: to a local HTTP endpoint with an authorization header; poll:
the transmitter's poll URL), asks for a verification, and then verifies every Security Event
Token it receives with the keys of the transmitter's JWKS: the JWS header (alg RS256, typ
secevent+jwt, kid), the signature, iss, aud, iat and jti, no sub or exp, exactly one event,
sub_id, and for CAEP session-revoked a non-empty reason_admin and a known initiating_entity.

Prints `CONFIG <json>`, `STREAM <json>`, `VERIFIED <state>`, then `SET <claims json>` per
event SET, or `INVALID <why>` for a SET that fails a check (answered 400 by push). Stdin
lines `fail N` (push) make the next N valid SETs get 500, `ok` ends that.
"""

import json
import ssl
import sys
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt

PUSH = "urn:ietf:rfc:8935"
POLL = "urn:ietf:rfc:8936"
REVOKED = "https://schemas.openid.net/secevent/caep/event-type/session-revoked"
VERIFICATION = "https://schemas.openid.net/secevent/ssf/event-type/verification"
PUSH_AUTH = "Bearer receiver-secret-7f3c"

out_lock = threading.Lock()
state = {"fail": 0}
lock = threading.Lock()
# The server's certificate is self-signed (a test server); everything else is checked.
CTX = ssl._create_unverified_context()


def say(line):
    with out_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def call(method, url, token, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Authorization", "Bearer " + token)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, context=CTX, timeout=60) as r:
        text = r.read()
        return r.status, (json.loads(text) if text else None)


class Verifier:
    def __init__(self, config, stream):
        self.config = config
        self.stream = stream
        self.jwks = jwt.PyJWKClient(config["jwks_uri"], ssl_context=CTX)

    def check(self, token):
        """The verified claims, or raises ValueError saying what is wrong."""
        header = jwt.get_unverified_header(token)
        if header.get("alg") != "RS256":
            raise ValueError("alg %r" % header.get("alg"))
        if header.get("typ") != "secevent+jwt":
            raise ValueError("typ %r" % header.get("typ"))
        if not header.get("kid"):
            raise ValueError("no kid")
        key = self.jwks.get_signing_key_from_jwt(token)
        claims = jwt.decode(
            token,
            key.key,
            algorithms=["RS256"],
            audience=self.stream["aud"],
            issuer=self.config["issuer"],
            options={"require": ["iss", "aud", "iat", "jti"]},
        )
        for banned in ("sub", "exp"):
            if banned in claims:
                raise ValueError("a SET has no %s claim" % banned)
        events = claims.get("events")
        if not isinstance(events, dict) or len(events) != 1:
            raise ValueError("exactly one event, got %r" % events)
        if not isinstance(claims.get("sub_id"), dict) or "format" not in claims["sub_id"]:
            raise ValueError("sub_id %r" % claims.get("sub_id"))
        (kind, body), = events.items()
        if kind == REVOKED:
            if body.get("initiating_entity") not in ("admin", "user", "policy", "system"):
                raise ValueError("initiating_entity %r" % body.get("initiating_entity"))
            reason = body.get("reason_admin")
            if not isinstance(reason, dict) or not any(str(v).strip() for v in reason.values()):
                raise ValueError("reason_admin %r" % reason)
            if not isinstance(body.get("event_timestamp"), int):
                raise ValueError("event_timestamp %r" % body.get("event_timestamp"))
        elif kind != VERIFICATION:
            raise ValueError("event type %r" % kind)
        return claims

    def report(self, claims):
        (kind, body), = claims["events"].items()
        if kind == VERIFICATION:
            say("VERIFIED %s" % body.get("state", ""))
        else:
            say("SET " + json.dumps(claims, separators=(",", ":")))


def configure(base, token, delivery):
    with urllib.request.urlopen(base + "/.well-known/ssf-configuration", context=CTX) as r:
        config = json.loads(r.read())
    say("CONFIG " + json.dumps(config, separators=(",", ":")))
    status, stream = call("POST", config["configuration_endpoint"], token, {
        "delivery": delivery,
        "events_requested": [REVOKED],
        "description": "interop receiver",
    })
    assert status == 201, status
    say("STREAM " + json.dumps(stream, separators=(",", ":")))
    return config, stream


def verify(config, stream, token):
    status, _ = call("POST", config["verification_endpoint"], token,
                     {"stream_id": stream["stream_id"], "state": "interop-state"})
    assert status == 204, status


def push(base, token):
    holder = {}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def answer(self, status, body=b""):
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            if body:
                self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self):
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            v = holder.get("verifier")
            if v is None:
                self.answer(503)
                return
            try:
                if self.headers.get("Authorization") != PUSH_AUTH:
                    raise ValueError("authorization header %r" % self.headers.get("Authorization"))
                if self.headers.get("Content-Type") != "application/secevent+jwt":
                    raise ValueError("content type %r" % self.headers.get("Content-Type"))
                claims = v.check(raw.decode())
            except Exception as e:
                say("INVALID %s" % e)
                self.answer(400, json.dumps({"err": "invalid_request", "description": str(e)}).encode())
                return
            with lock:
                failing = state["fail"] > 0
                if failing:
                    state["fail"] -= 1
            if failing:
                self.answer(500)
                return
            v.report(claims)
            self.answer(202)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = "http://127.0.0.1:%d/ssf-in" % server.server_address[1]
    config, stream = configure(base, token, {
        "method": PUSH, "endpoint_url": url, "authorization_header": PUSH_AUTH})
    assert stream["delivery"]["method"] == PUSH
    holder["verifier"] = Verifier(config, stream)
    verify(config, stream, token)
    for line in sys.stdin:
        words = line.split()
        with lock:
            if words[:1] == ["fail"] and len(words) == 2:
                state["fail"] = int(words[1])
            elif words[:1] == ["ok"]:
                state["fail"] = 0
        say("ACK " + line.strip())


def poll(base, token):
    config, stream = configure(base, token, {"method": POLL})
    assert stream["delivery"]["method"] == POLL
    poll_url = stream["delivery"]["endpoint_url"]
    v = Verifier(config, stream)
    verify(config, stream, token)
    acks = []
    while True:
        status, answer = call("POST", poll_url, token, {
            "ack": acks, "maxEvents": 50, "returnImmediately": False})
        assert status == 200, status
        acks = []
        for jti, tok in answer["sets"].items():
            try:
                claims = v.check(tok)
                if claims["jti"] != jti:
                    raise ValueError("jti %r keyed as %r" % (claims["jti"], jti))
            except Exception as e:
                say("INVALID %s" % e)
                continue
            v.report(claims)
            acks.append(jti)


def main():
    base, token, mode = sys.argv[1], sys.argv[2], sys.argv[3]
    {"push": push, "poll": poll}[mode](base.rstrip("/"), token)


if __name__ == "__main__":
    main()
