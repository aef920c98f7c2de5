"""Slowloris against sessiond on loopback (issue 13; loopback only, bounded in count and
time). Usage: `python3 bench/slowloris.py 127.0.0.1:PORT CONNECTIONS DRIP_SECONDS SECONDS`
against a running `sessiond serve --plain-http`.

N connections each send part of a request head, then one byte every `drip` seconds; meanwhile a normal client makes sequential GET /healthz
requests on fresh connections. Prints the normal client's latencies and how long the
server took to close the trickling connections."""
import socket, sys, time, threading, statistics
host, port = sys.argv[1].split(":"); port = int(port)
n = int(sys.argv[2]); drip = float(sys.argv[3]); duration = float(sys.argv[4])
conns = []
t0 = time.time()
for i in range(n):
    s = socket.create_connection((host, port))
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
    s.setblocking(False)
    conns.append(s)
opened = time.time() - t0
closed_at = {}
stop = False
def drip_loop():
    while not stop:
        now = time.time()
        for i, s in enumerate(conns):
            if i in closed_at: continue
            try:
                s.sendall(b"a")
                try:
                    d = s.recv(4096)
                    if d == b"":
                        closed_at[i] = now - t0
                except BlockingIOError:
                    pass
            except (BrokenPipeError, ConnectionResetError, OSError):
                closed_at[i] = now - t0
        time.sleep(drip)
th = threading.Thread(target=drip_loop); th.start()
lat = []; fails = 0
end = time.time() + duration
while time.time() < end:
    a = time.time()
    try:
        c = socket.create_connection((host, port), timeout=5)
        c.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while True:
            d = c.recv(4096)
            if not d: break
            data += d
        c.close()
        if data.startswith(b"HTTP/1.1 200"): lat.append((time.time() - a) * 1000)
        else: fails += 1
    except Exception:
        fails += 1
    time.sleep(0.01)
stop = True; th.join()
lat.sort()
p = lambda q: lat[min(len(lat)-1, int(q * (len(lat)-1)))] if lat else float("nan")
print(f"{n} trickling connections opened in {opened:.2f}s; normal client: {len(lat)} ok, {fails} failed, "
      f"p50 {p(0.5):.2f} ms, p99 {p(0.99):.2f} ms, max {lat[-1] if lat else float('nan'):.2f} ms; "
      f"server closed {len(closed_at)}/{n} trickling connections, last at {max(closed_at.values()) if closed_at else float('nan'):.1f}s")
