#!/usr/bin/env python3
"""Slow and idle clients against one `nestor serve`, with normal clients measuring latency.

    NESTOR_BIN=/path/to/nestor python3 Benchmarks/reliability/slow_clients.py [--slow 100] [--interval 2]
        [--idle-timeout 10] [--max-connections 64] [--idle 200]

Phases, each with one /v1/embeddings and one /search closed-loop client (common.timed_loop:
httpload.closed_loop with a per-request timeout) measuring p50/p99:
  1. baseline: nothing else;
  2. slow headers: `--slow` sockets each send a request header one byte every `--interval` s;
  3. slow bodies: `--slow` sockets each send a whole header (Content-Length 2000), then
     trickle the body one byte every `--interval` s;
  4. idle: `--idle` connections that send nothing; the server's open descriptors
     (/proc/PID/fd) show how many it accepted, a fresh /health and /v1/embeddings show whether
     others are still served, and each idle socket's lifetime shows the idle timeout.
For every slow or idle socket: when the server closed it (EOF or reset), what it answered
first (e.g. a 408), or that it was still open when the phase ended.

`--idle-timeout` and `--max-connections` are passed to the server only when its
`serve --help` lists them; without them the results say so.
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
from common import (Client, Server, binary_info, nestor_binary, paragraph_text, queries_by_language,  # noqa: E402
                    sentences, serve_flags, timed_loop, write_json)
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
    """Many raw sockets driven by one thread: each sends `payload` from offset `sent`, `step`
    bytes every `interval` s, and we note when the server answers or closes it."""

    def __init__(self, port, count, payload, prefix=b"", interval=2.0, step=1, connect_timeout=5):
        self.port, self.payload, self.interval, self.step = port, payload, interval, step
        self.t0 = time.time()
        self.socks = []
        self.sel = selectors.DefaultSelector()
        failures = 0
        for i in range(count):
            rec = {"i": i, "opened": None, "closed": None, "how": None, "reply": b"", "sent": 0, "error": None}
            if failures >= 3:
                rec["error"] = "not tried (3 connects in a row failed)"
                self.socks.append((None, rec))
                continue
            s = socket.socket()
            s.settimeout(connect_timeout)
            try:
                s.connect(("127.0.0.1", port))
                if prefix:
                    s.sendall(prefix)
                s.setblocking(False)
                rec["opened"] = time.time()
                self.sel.register(s, selectors.EVENT_READ, rec)
                failures = 0
            except OSError as e:
                failures += 1
                rec["error"] = f"connect: {e!r}"
                rec["closed"] = time.time()
                s.close()
                s = None
            self.socks.append((s, rec))
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def _close(self, s, rec, how):
        if rec["closed"] is None:
            rec["closed"] = time.time()
            rec["how"] = how
        try:
            self.sel.unregister(s)
        except (KeyError, ValueError):
            pass
        s.close()

    def run(self):
        next_send = time.time()
        while not self.stop.is_set():
            now = time.time()
            if self.payload and now >= next_send:
                for s, rec in self.socks:
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
                    rec["reply"] += data

    def open_count(self):
        return sum(1 for s, rec in self.socks if s is not None and rec["closed"] is None)

    def finish(self):
        """Stops the driver, closes what is still open and summarises the sockets' lifetimes."""
        self.stop.set()
        self.thread.join(timeout=10)
        t_end = time.time()
        still = 0
        lifetimes, hows, replies, connect_errors = [], {}, {}, 0
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
            hows[rec["how"]] = hows.get(rec["how"], 0) + 1
            first = rec["reply"].split(b"\r\n", 1)[0].decode(errors="replace") if rec["reply"] else None
            if first:
                replies[first] = replies.get(first, 0) + 1
        sent = [rec["sent"] for _, rec in self.socks if not rec["error"]]
        return {"sockets": len(self.socks), "connect_errors": connect_errors, "open_at_end": still,
                "observed_s": round(t_end - self.t0, 1),
                "closed_by_server": len(lifetimes),
                "lifetime_s": ({"min": round(min(lifetimes), 2), "median": round(statistics.median(lifetimes), 2),
                                "max": round(max(lifetimes), 2)} if lifetimes else None),
                "how": hows, "first_reply_lines": replies,
                "bytes_sent": {"min": min(sent), "max": max(sent)} if sent else None}


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


def probe(port, timeout=10):
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
    ap.add_argument("--slow-phase", type=float, default=60, help="how long each slow flavour is watched")
    ap.add_argument("--idle", type=int, default=200, help="idle connections")
    ap.add_argument("--idle-phase", type=float, default=60, help="how long idle sockets are watched at most")
    ap.add_argument("--idle-timeout", type=float, default=10)
    ap.add_argument("--max-connections", type=int, default=64)
    ap.add_argument("--workdir")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "slow-results.json"))
    args = ap.parse_args()
    binary = nestor_binary()
    workdir = args.workdir or tempfile.mkdtemp(prefix="nestor-slow-")
    os.makedirs(workdir, exist_ok=True)
    flags = serve_flags(binary)
    extra, missing = [], []
    for flag, value in (("--idle-timeout", args.idle_timeout), ("--max-connections", args.max_connections)):
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
    load = normal_load(server.port, args.seconds, queries)
    result["phases"]["baseline"] = {"normal": load, "server_sockets": sock_count(server.pid)}
    show("baseline", load)

    body = json.dumps({"input": ["query: slow"]}).encode()
    header = (f"POST /v1/embeddings HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nContent-Type: application/json\r\n"
              f"User-Agent: slow-client/1.0\r\nX-Padding: {'x' * 64}\r\nContent-Length: {len(body)}\r\n\r\n").encode()
    flavours = [("slow_header", dict(payload=header + body)),
                ("slow_body", dict(prefix=header.replace(f"Content-Length: {len(body)}".encode(), b"Content-Length: 2000"),
                                   payload=b"{" + b" " * 1998 + b"}"))]
    for name, kw in flavours:
        socks = Sockets(server.port, args.slow, interval=args.interval, **kw)
        time.sleep(min(5, args.slow_phase / 4))
        during = normal_load(server.port, args.seconds, queries)
        show(name, during)
        opened_now = socks.open_count()
        server_socks = sock_count(server.pid)
        fresh = probe(server.port)
        rest = args.slow_phase - (time.time() - socks.t0)
        while rest > 0 and socks.open_count() > 0:
            time.sleep(min(1, rest))
            rest = args.slow_phase - (time.time() - socks.t0)
        summary = socks.finish()
        summary.update({"open_while_measuring": opened_now, "server_sockets_while_measuring": server_socks})
        result["phases"][name] = {"normal": during, "sockets": summary, "fresh_connection": fresh}
        print(f"    {name}: {summary['sockets']} sockets, {summary['connect_errors']} failed to connect, closed by server "
              f"{summary['closed_by_server']} (lifetime {summary['lifetime_s']}), still open after {summary['observed_s']} s: "
              f"{summary['open_at_end']}; how {summary['how']}; replies {summary['first_reply_lines']}; "
              f"server sockets {server_socks}; fresh connection {fresh}", flush=True)
        time.sleep(2)

    # Idle connections: how many the server takes, whether it still serves others, how long they live.
    socks = Sockets(server.port, args.idle, payload=b"", interval=3600)
    time.sleep(1)
    accepted = sock_count(server.pid)
    fresh = probe(server.port)
    print(f"  idle: {args.idle} connections open, server sockets {accepted} (at rest {base_fds}); fresh connection {fresh}", flush=True)
    served = all(v.get("status") == 200 for v in fresh.values())
    during = normal_load(server.port, min(args.seconds, 10), queries) if served else None
    show("idle", during)
    samples = []
    while time.time() - socks.t0 < args.idle_phase and socks.open_count() > 0:
        samples.append({"t": round(time.time() - socks.t0, 1), "client_open": socks.open_count(), "server_sockets": sock_count(server.pid)})
        time.sleep(2)
    samples.append({"t": round(time.time() - socks.t0, 1), "client_open": socks.open_count(), "server_sockets": sock_count(server.pid)})
    summary = socks.finish()
    result["phases"]["idle"] = {"connections": args.idle, "server_sockets_at_rest": base_fds, "server_sockets_after_open": accepted,
                                "fresh_connection": fresh, "normal": during, "sockets": summary, "timeline": samples}
    print(f"    idle: closed by server {summary['closed_by_server']} (lifetime {summary['lifetime_s']}), still open after "
          f"{summary['observed_s']} s: {summary['open_at_end']}; how {summary['how']}", flush=True)
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
