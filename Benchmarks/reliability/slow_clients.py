#!/usr/bin/env python3
"""Slow and idle clients against one `nestor serve`, with normal clients measuring latency.

    NESTOR_BIN=/path/to/nestor python3 Benchmarks/reliability/slow_clients.py [--slow 100] [--interval 2]
        [--idle-timeout 10] [--body-timeout 15] [--max-connections 64] [--idle 200]

Phases; in each of the first three one /v1/embeddings and one /search closed-loop client
(common.timed_loop: httpload.closed_loop with a 15 s per-request timeout) measure p50/p99:
  1. baseline: nothing else;
  2. slow headers: `--slow` sockets each send a request header one byte every `--interval` s;
  3. slow bodies: `--slow` sockets each send a whole header (Content-Length 2000), then
     trickle the body one byte every `--interval` s;
     (in 2 and 3 every socket the server closes is replaced at once while the normal clients
     measure, as an attacker would; then the rest are watched until they close)
  4. idle: `--idle` connections that send nothing: the server's open sockets (/proc/PID/fd)
     show how many it accepted, a fresh connection's /health and /v1/embeddings (45 s timeout)
     how long others wait, each idle socket's lifetime the idle timeout; then 10 keep-alive
     connections answered once (GET /health) and left idle;
  5. after: normal clients again.
For every slow or idle socket: when the server closed it (EOF or reset), what it answered
first (e.g. a 408), or that it was still open when the phase ended.

`--idle-timeout`, `--body-timeout` and `--max-connections` are passed to the server only when
its `serve --help` lists them; without them the results say so.
Results: Benchmarks/reliability/slow-results.json.
"""
import argparse
import json
import os
import selectors
import shutil
import socket
import statistics
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (Client, Server, binary_info, ms_summary, nestor_binary, paragraph_text,  # noqa: E402
                    queries_by_language, sentences, serve_flags, timed_loop, write_json)
import random  # noqa: E402

COLLECTION = "slow"


def fd_count(pid):
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return None


def sock_count(pid):
    """Open sockets of the server process (accepted connections plus listeners)."""
    n = 0
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:"):
                    n += 1
            except OSError:
                pass
    except OSError:
        return None
    return n


class Sockets:
    """Many raw sockets driven by one thread: each sends `prefix` at once, then `payload`
    `step` bytes every `interval` s, and we note when the server answers or closes it. With
    `replenish`, a closed socket is replaced by a new one (as an attacker would) until
    `hold()` is called, at most `max_opens` sockets in all."""

    def __init__(self, port, count, payload, prefix=b"", interval=2.0, step=1, connect_timeout=2,
                 replenish=False, max_opens=None):
        self.port, self.payload, self.prefix, self.interval, self.step = port, payload, prefix, interval, step
        self.connect_timeout = connect_timeout
        self.replenishing = replenish
        self.max_opens = max_opens or 20 * count
        self.t0 = time.time()
        self.socks = []
        self.sel = selectors.DefaultSelector()
        self.lock = threading.Lock()
        self.failures = 0
        for _ in range(count):
            self._open()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def _open(self):
        rec = {"i": len(self.socks), "opened": None, "closed": None, "how": None, "reply": b"", "sent": 0, "error": None}
        if self.failures >= 3:
            rec["error"] = "not tried (3 connects in a row failed)"
            self.socks.append((None, rec))
            return
        s = socket.socket()
        s.settimeout(self.connect_timeout)
        try:
            s.connect(("127.0.0.1", self.port))
            if self.prefix:
                s.sendall(self.prefix)
            s.setblocking(False)
            rec["opened"] = time.time()
            self.sel.register(s, selectors.EVENT_READ, rec)
            self.failures = 0
        except OSError as e:
            self.failures += 1
            rec["error"] = f"connect: {e!r}"
            rec["closed"] = time.time()
            s.close()
            s = None
        self.socks.append((s, rec))

    def hold(self):
        """Stop replacing closed sockets."""
        self.replenishing = False

    def _close(self, s, rec, how):
        if rec["closed"] is None:
            rec["closed"] = time.time()
            rec["how"] = how
        try:
            self.sel.unregister(s)
        except (KeyError, ValueError):
            pass
        s.close()
        if self.replenishing and len(self.socks) < self.max_opens and not self.stop.is_set():
            self._open()

    def run(self):
        next_send = time.time()
        while not self.stop.is_set():
            now = time.time()
            if self.payload and now >= next_send:
                for s, rec in list(self.socks):
                    if s is None or rec["closed"] is not None or rec["sent"] >= len(self.payload):
                        continue
                    try:
                        n = s.send(self.payload[rec["sent"]:rec["sent"] + self.step])
                        rec["sent"] += n
                    except BlockingIOError:
                        pass
                    except OSError as e:
                        self._close(s, rec, f"send failed: {type(e).__name__}")
                next_send = now + self.interval
            for key, _ in self.sel.select(timeout=0.2):
                s, rec = key.fileobj, key.data
                try:
                    data = s.recv(65536)
                except BlockingIOError:
                    continue
                except OSError as e:
                    self._close(s, rec, f"reset ({type(e).__name__})")
                    continue
                if not data:
                    self._close(s, rec, "eof")
                elif len(rec["reply"]) < 512:
                    if not rec["reply"]:
                        rec["replied"] = time.time()
                    rec["reply"] += data

    def open_count(self):
        return sum(1 for s, rec in list(self.socks) if s is not None and rec["closed"] is None)

    def finish(self):
        """Stops the driver, closes what is still open and summarises the sockets' lifetimes."""
        self.replenishing = False
        self.stop.set()
        self.thread.join(timeout=10)
        t_end = time.time()
        still = 0
        lifetimes, after_reply, hows, replies, connect_errors = [], [], {}, {}, 0
        for s, rec in self.socks:
            if rec["error"]:
                connect_errors += 1
                continue
            if rec["closed"] is None:
                still += 1
                self._close(s, rec, "open at end")
                rec["closed"] = t_end
                rec["how"] = "open at end"
            else:
                lifetimes.append(rec["closed"] - rec["opened"])
                if rec.get("replied"):
                    after_reply.append(rec["closed"] - rec["replied"])
            hows[rec["how"]] = hows.get(rec["how"], 0) + 1
            first = rec["reply"].split(b"\r\n", 1)[0].decode(errors="replace") if rec["reply"] else None
            if first:
                replies[first] = replies.get(first, 0) + 1
        sent = [rec["sent"] for _, rec in self.socks if not rec["error"]]
        span = lambda xs: {"min": round(min(xs), 2), "median": round(statistics.median(xs), 2), "max": round(max(xs), 2)} if xs else None  # noqa: E731
        return {"sockets": len(self.socks), "connect_errors": connect_errors, "open_at_end": still,
                "observed_s": round(t_end - self.t0, 1), "closed_by_server": len(lifetimes),
                "lifetime_s": span(lifetimes), "open_after_reply_s": span(after_reply),
                "how": hows, "first_reply_lines": replies,
                "bytes_sent": {"min": min(sent), "max": max(sent)} if sent else None}


class Watch:
    """While normal clients run: samples (open slow sockets, server sockets) every second, and
    once a second a *new* connection's GET /health (30 s timeout), the wait a client without a
    pooled connection sees."""

    def __init__(self, socks, pid, port):
        self.samples, self.fresh, self.fresh_errors, self.stop = [], [], [], threading.Event()

        def sample():
            while not self.stop.wait(1):
                self.samples.append((socks.open_count(), sock_count(pid)))

        def fresh():
            while not self.stop.wait(1):
                c = Client(port, timeout=30)
                t = time.perf_counter()
                try:
                    status, _ = c.call("GET", "/health")
                    if status == 200:
                        self.fresh.append(time.perf_counter() - t)
                    else:
                        self.fresh_errors.append(str(status))
                except Exception as e:  # noqa: BLE001
                    self.fresh_errors.append(f"{type(e).__name__} after {time.perf_counter() - t:.1f} s")
                c.close()
        self.threads = [threading.Thread(target=sample, daemon=True), threading.Thread(target=fresh, daemon=True)]
        for t in self.threads:
            t.start()

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join(timeout=35)
        mine, server = [a for a, _ in self.samples], [b for _, b in self.samples if b is not None]
        return {"slow_open_min": min(mine) if mine else None, "slow_open_max": max(mine) if mine else None,
                "server_sockets_min": min(server) if server else None, "server_sockets_max": max(server) if server else None,
                "fresh_health": ms_summary(self.fresh), "fresh_health_errors": self.fresh_errors}


def normal_load(port, seconds, queries):
    """One /v1/embeddings and one /search client side by side for `seconds` (closed loop, each
request bounded by a timeout)."""
    flat = [q for qs in queries.values() for q in qs]
    out = {}

    def emb(_, n):
        return "/v1/embeddings", {"model": "multilingual-e5-small", "input": ["query: " + flat[(n * 7) % len(flat)]]}

    def search(_, n):
        return "/search", {"collection": COLLECTION, "query": flat[(n * 13 + 1) % len(flat)], "top_k": 5}

    def run(name, fn):
        out[name] = timed_loop(port, seconds, fn)

    threads = [threading.Thread(target=run, args=("embeddings", emb)), threading.Thread(target=run, args=("search", search))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def probe(port, timeout=45):
    """A fresh connection's /health and /v1/embeddings: seconds to answer, or what went wrong."""
    out = {}
    for name, method, path, body in (("health", "GET", "/health", None),
                                     ("embeddings", "POST", "/v1/embeddings", {"input": ["query: probe"]})):
        c = Client(port, timeout=timeout)
        t = time.perf_counter()
        try:
            status, _ = c.call(method, path, body)
            out[name] = {"status": status, "seconds": round(time.perf_counter() - t, 3)}
        except Exception as e:  # noqa: BLE001
            out[name] = {"error": repr(e)[:200], "seconds": round(time.perf_counter() - t, 3)}
        c.close()
    return out


def show(name, load):
    if load is None:
        print(f"  {name:14s} (skipped: a fresh connection was not served)", flush=True)
        return
    f = lambda v: "      -" if v is None else f"{v:7.1f}"  # noqa: E731
    e, s = load["embeddings"], load["search"]
    print(f"  {name:14s} embeddings {e['rps']:6.1f}/s p50 {f(e['p50_ms'])} p99 {f(e['p99_ms'])} err {e['error_kinds'] or 0}   "
          f"search {s['rps']:6.1f}/s p50 {f(s['p50_ms'])} p99 {f(s['p99_ms'])} err {s['error_kinds'] or 0}", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--slow", type=int, default=100, help="slow sockets per flavour")
    ap.add_argument("--interval", type=float, default=2.0, help="seconds between a slow socket's bytes")
    ap.add_argument("--seconds", type=float, default=20, help="normal-client measurement per phase")
    ap.add_argument("--slow-phase", type=float, default=60,
                    help="how long the slow sockets left open after the measurement are watched")
    ap.add_argument("--idle", type=int, default=200, help="idle connections")
    ap.add_argument("--idle-phase", type=float, default=60, help="how long idle sockets are watched at most")
    ap.add_argument("--idle-timeout", type=float, default=10)
    ap.add_argument("--body-timeout", type=float, default=15)
    ap.add_argument("--max-connections", type=int, default=64)
    ap.add_argument("--workdir")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "slow-results.json"))
    args = ap.parse_args()
    binary = nestor_binary()
    workdir = args.workdir or tempfile.mkdtemp(prefix="nestor-slow-")
    os.makedirs(workdir, exist_ok=True)
    flags = serve_flags(binary)
    extra, missing = [], []
    for flag, value in (("--idle-timeout", args.idle_timeout), ("--body-timeout", args.body_timeout),
                        ("--max-connections", args.max_connections)):
        if flag in flags:
            extra += [flag, str(int(value) if float(value).is_integer() else value)]
        else:
            missing.append(flag)
    print(f"binary {binary_info(binary)}; server flags {extra or 'none'}; not supported: {missing or 'none'}", flush=True)
    server = Server(binary, os.path.join(workdir, "slow.sqlite"), os.path.join(workdir, "server.log"), *extra)
    c = Client(server.port)
    c.call("POST", "/collections", {"name": COLLECTION})
    rng, pool = random.Random(3), sentences()
    for b in range(4):
        docs = [{"id": f"d{b}-{i}", "text": paragraph_text(rng, pool, f"d{b}-{i}", 2)} for i in range(50)]
        status, body = c.call("POST", "/ingest", {"collection": COLLECTION, "documents": docs})
        assert status == 200, (status, body)
    c.close()
    queries = queries_by_language()
    result = {"binary": binary_info(binary), "command": " ".join(sys.argv), "server_flags": extra, "unsupported_flags": missing,
              "slow_sockets": args.slow, "interval_s": args.interval, "phases": {}}
    base_fds = sock_count(server.pid)
    print(f"server sockets at rest: {base_fds}")
    print("normal clients (1 embeddings + 1 search, closed loop):")
    nobody = Sockets(server.port, 0, payload=b"")
    watch = Watch(nobody, server.pid, server.port)
    load = normal_load(server.port, args.seconds, queries)
    seen = watch.finish()
    nobody.finish()
    result["phases"]["baseline"] = {"normal": load, "while_measuring": seen}
    show("baseline", load)
    print(f"    new connections' /health {seen['fresh_health']}", flush=True)

    body = json.dumps({"input": ["query: slow"]}).encode()
    header = (f"POST /v1/embeddings HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nContent-Type: application/json\r\n"
              f"User-Agent: slow-client/1.0\r\nX-Padding: {'x' * 64}\r\nContent-Length: {len(body)}\r\n\r\n").encode()
    flavours = [("slow_header", dict(payload=header + body)),
                ("slow_body", dict(prefix=header.replace(f"Content-Length: {len(body)}".encode(), b"Content-Length: 2000"),
                                   payload=b"{" + b" " * 1998 + b"}"))]
    for name, kw in flavours:
        # The slow sockets are kept at --slow open (each closed one replaced) while the normal
        # clients measure; then no more are opened and the rest are watched until they close.
        socks = Sockets(server.port, args.slow, interval=args.interval, replenish=True, **kw)
        time.sleep(3)
        watch = Watch(socks, server.pid, server.port)
        during = normal_load(server.port, args.seconds, queries)
        seen = watch.finish()
        show(name, during)
        socks.hold()
        t_hold = time.time()
        while time.time() - t_hold < args.slow_phase and socks.open_count() > 0:
            time.sleep(0.5)
        summary = socks.finish()
        summary["while_measuring"] = seen
        result["phases"][name] = {"normal": during, "sockets": summary}
        print(f"    new connections' /health meanwhile {seen['fresh_health']} errors {seen['fresh_health_errors']}", flush=True)
        print(f"    {name}: {summary['sockets']} sockets opened ({args.slow} kept open while measuring: open "
              f"{seen['slow_open_min']}-{seen['slow_open_max']}, server sockets {seen['server_sockets_min']}-{seen['server_sockets_max']}), "
              f"{summary['connect_errors']} failed to connect; closed by server {summary['closed_by_server']}, lifetime "
              f"{summary['lifetime_s']}; still open {args.slow_phase:.0f} s after the last was opened: {summary['open_at_end']}; "
              f"how {summary['how']}; replies {summary['first_reply_lines']}", flush=True)
        time.sleep(2)

    # Idle connections: how many the server takes, whether it still serves others, how long they live.
    socks = Sockets(server.port, args.idle, payload=b"", interval=3600)
    time.sleep(1)
    accepted = sock_count(server.pid)
    print(f"  idle: {args.idle} connections open, server sockets {accepted} (at rest {base_fds})", flush=True)
    fresh = probe(server.port)
    print(f"    a fresh connection meanwhile: {fresh}", flush=True)
    samples = []
    while time.time() - socks.t0 < args.idle_phase and socks.open_count() > 0:
        samples.append({"t": round(time.time() - socks.t0, 1), "client_open": socks.open_count(), "server_sockets": sock_count(server.pid)})
        time.sleep(1)
    samples.append({"t": round(time.time() - socks.t0, 1), "client_open": socks.open_count(), "server_sockets": sock_count(server.pid)})
    summary = socks.finish()
    # Keep-alive connections that were answered once and then sit idle.
    keep = Sockets(server.port, 10, payload=b"", prefix=f"GET /health HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n\r\n".encode(),
                   interval=3600)
    while time.time() - keep.t0 < args.idle_phase and keep.open_count() > 0:
        time.sleep(0.5)
    kept = keep.finish()
    result["phases"]["idle"] = {"connections": args.idle, "server_sockets_at_rest": base_fds, "server_sockets_after_open": accepted,
                                "fresh_connection": fresh, "sockets": summary, "timeline": samples, "keep_alive_after_reply": kept}
    print(f"    idle: closed by server {summary['closed_by_server']} (lifetime {summary['lifetime_s']}), still open after "
          f"{summary['observed_s']} s: {summary['open_at_end']}; how {summary['how']}", flush=True)
    print(f"    keep-alive after one reply: {kept['sockets']} sockets, replies {kept['first_reply_lines']}, closed "
          f"{kept['closed_by_server']} after {kept['open_after_reply_s']} s idle, still open {kept['open_at_end']}", flush=True)
    after = normal_load(server.port, min(args.seconds, 10), queries)
    show("after", after)
    result["phases"]["after"] = {"normal": after}
    result["server_exit"] = server.stop()
    result["server_log_tail"] = server.tail(2000)
    write_json(args.out, result)
    print(f"results: {args.out}")
    if not args.workdir:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
