#!/usr/bin/env python3
"""The retrieval service end to end: documents through `POST /ingest` into SQLite against the
engine's raw throughput on the same texts, then `POST /search` latency under concurrent clients.

    NESTOR_BENCHMARKS=1 swift build -c release --product nestor --product IndexBenchmark --build-path .build-bench
    python3 Benchmarks/retrieval/run.py [--docs 20000] [--clients 1,16] [--seconds 10]

Documents: catalog messages (short, like titles or FAQ entries; Benchmarks/index/catalog.py) and
the English paragraphs of eval/corpus.jsonl. The raw engine run embeds the same texts with the
same passage prompt in the same batches, in one process with no HTTP, storage or index. Search
queries are the translated evaluation queries (eval/queries-*.jsonl, nine languages), each
embedded with the query prompt and answered by the two-stage search at its defaults.
"""
import argparse
import glob
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "Benchmarks", "index"))
sys.path.insert(0, os.path.join(ROOT, "Benchmarks"))
from catalog import catalog_texts  # noqa: E402
from httpload import closed_loop, free_port, wait_healthy  # noqa: E402


def post(conn, path, body):
    conn.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
    r = conn.getresponse()
    data = r.read()
    if not 200 <= r.status < 300:
        raise SystemExit(f"{path}: HTTP {r.status}: {data[:500]!r}")
    return json.loads(data)


class Server:
    def __init__(self, binary, model, workdir):
        self.port = free_port()
        self.log = open(os.path.join(workdir, "server.log"), "w")
        self.proc = subprocess.Popen([binary, "serve", "--model", model, "--port", str(self.port),
                                      "--sqlite-path", os.path.join(workdir, "nestor.sqlite")],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        wait_healthy(self.port, self.proc, seconds=120, log=self.log.name)

    def connection(self):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=60)


def raw_engine(bench, model, texts, batch, workdir):
    path = os.path.join(workdir, "texts.txt")
    with open(path, "w") as f:
        f.write("\n".join(texts) + "\n")
    out = subprocess.run([bench, "embed", model, path, os.path.join(workdir, "vectors.f32"), "passage", str(batch)],
                         check=True, capture_output=True, text=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    return result["texts"] / result["seconds"]


def ingest(server, collection, texts, batch, uploaders):
    """Documents/s through HTTP: `uploaders` clients each post batches of `batch` documents."""
    post(server.connection(), "/collections", {"name": collection})
    batches = [texts[i:i + batch] for i in range(0, len(texts), batch)]
    next_batch = iter(enumerate(batches))
    lock = threading.Lock()
    errors = []

    def uploader():
        conn = server.connection()
        while True:
            with lock:
                item = next(next_batch, None)
            if item is None:
                return
            k, docs = item
            try:
                post(conn, "/ingest", {"collection": collection,
                                       "documents": [{"id": f"{k}-{j}", "text": t} for j, t in enumerate(docs)]})
            except BaseException as e:  # noqa: BLE001 - reported below
                errors.append(e)
                return

    start = time.perf_counter()
    threads = [threading.Thread(target=uploader) for _ in range(uploaders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise SystemExit(f"ingest failed: {errors[0]}")
    return len(texts) / (time.perf_counter() - start)


def search_load(server, collection, queries, clients, seconds):
    """Each client sends text queries back to back on its own keep-alive connection."""
    r = closed_loop(server.port, clients, seconds, lambda k, n: (
        "/search", {"collection": collection, "query": queries[(k * 37 + n) % len(queries)], "top_k": 10}))
    if r["rps"] == 0:
        raise SystemExit("no search succeeded")
    return r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nestor", default=os.path.join(ROOT, ".build-bench", "release", "nestor"))
    ap.add_argument("--bench", default=os.path.join(ROOT, ".build-bench", "release", "IndexBenchmark"))
    ap.add_argument("--model", default=os.path.join(ROOT, "models", "multilingual-e5-small"))
    ap.add_argument("--docs", type=int, default=20_000, help="catalog messages to ingest")
    ap.add_argument("--batch", type=int, default=64, help="documents per /ingest request")
    ap.add_argument("--uploaders", type=int, default=2, help="concurrent /ingest clients")
    ap.add_argument("--clients", default="1,16")
    ap.add_argument("--seconds", type=float, default=10)
    args = ap.parse_args()

    import random
    messages = catalog_texts()
    random.Random(1).shuffle(messages)
    sets = {"catalog messages": messages[:args.docs],
            "eval corpus paragraphs": [json.loads(l)["text"] for l in open(os.path.join(ROOT, "eval", "corpus.jsonl"))]}
    queries = [json.loads(l)["text"] for p in sorted(glob.glob(os.path.join(ROOT, "eval", "queries-*.jsonl"))) for l in open(p)]
    random.Random(2).shuffle(queries)

    workdir = tempfile.mkdtemp(prefix="nestor-retrieval-bench-")
    results = {"model": os.path.basename(args.model), "batch": args.batch, "uploaders": args.uploaders, "ingest": {}, "search": []}
    try:
        for name, texts in sets.items():
            raw = raw_engine(args.bench, args.model, texts, args.batch, workdir)
            print(f"{name}: raw engine {raw:.0f} docs/s ({len(texts)} texts, batches of {args.batch})", flush=True)
            folder = os.path.join(workdir, name.split()[0])
            os.makedirs(folder, exist_ok=True)
            server = Server(args.nestor, args.model, folder)
            try:
                rate = ingest(server, "bench", texts, args.batch, args.uploaders)
                print(f"{name}: /ingest into SQLite {rate:.0f} docs/s = {rate / raw:.2f}x the raw engine", flush=True)
                results["ingest"][name] = {"documents": len(texts), "raw_docs_per_s": raw, "http_docs_per_s": rate,
                                           "ratio": rate / raw}
                if name == "catalog messages":
                    for clients in [int(c) for c in args.clients.split(",")]:
                        r = search_load(server, "bench", queries, clients, args.seconds)
                        results["search"].append(dict(r, documents=len(texts)))
                        print(f"/search over {len(texts)} documents, {clients} clients: {r['rps']:.0f} queries/s, "
                              f"p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms, errors {r['errors']}", flush=True)
            finally:
                server.stop()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    with open(os.path.join(HERE, "results.json"), "w") as f:
        json.dump(results, f, indent=1)
    print(f"wrote {os.path.join(HERE, 'results.json')}")


if __name__ == "__main__":
    main()
