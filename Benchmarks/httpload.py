"""What the HTTP benchmarks share: a free port, waiting for a server to answer, and closed-loop
clients (each sends its next request as soon as the last one is answered, on its own
keep-alive connection) with throughput and latency percentiles."""
import http.client
import json
import socket
import threading
import time
import urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(port, proc, path="/health", seconds=120, log=None):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited; see {log}" if log else "server exited")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"server did not answer {path} within {seconds} s")


def closed_loop(port, clients, seconds, request):
    """`request(client, n)` gives the n-th (path, JSON body) of a client. A refused, reset or
    non-200 request counts as an error (the client reconnects). Returns requests/s, p50, p99."""
    stop = threading.Event()
    latencies = [[] for _ in range(clients)]
    errors = []

    def client(k):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        n = 0
        while not stop.is_set():
            path, body = request(k, n)
            n += 1
            t = time.perf_counter()
            try:
                conn.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
                r = conn.getresponse()
                r.read()
                if r.status != 200:
                    errors.append(r.status)
                    continue
            except OSError as e:
                errors.append(e)
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
                continue
            latencies[k].append(time.perf_counter() - t)
        conn.close()

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    done = sorted(x for per in latencies for x in per)
    pick = (lambda q: done[min(len(done) - 1, int(q * len(done)))] * 1000) if done else (lambda q: float("nan"))
    return {"clients": clients, "rps": len(done) / elapsed, "p50_ms": pick(0.50), "p99_ms": pick(0.99), "errors": len(errors)}
