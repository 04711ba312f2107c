#!/usr/bin/env python3
"""Soak: one `nestor serve`, mixed clients for a fixed time, zero errors expected.

    NESTOR_BIN=/path/to/nestor python3 Benchmarks/reliability/soak.py [--minutes 10]

Clients (each on its own keep-alive connection, one request at a time):
  * ingest (2): upserts of 1-4 documents from the client's own pool of ids (so the collection
    reaches a steady size and memory growth is not just more data), multi-paragraph texts in
    ten languages with metadata, and DELETE /documents of some live ones;
  * search (2): POST /search with a query in one of nine languages, top_k 5-10, a metadata
    filter half of the time (equality, range, $in, $or), text and metadata included sometimes;
  * embeddings (1): POST /v1/embeddings with 1-8 inputs.

Every minute: the server's resident memory (VmRSS from /proc/PID/status), requests/s and
p50/p99 per kind, and the collection's sizes (graph_nodes / deleted_nodes when the server
reports them). At the end, GET /collections/{name} must count exactly the documents the ingest
clients believe are live. Results: Benchmarks/reliability/soak-results.json.
"""
import argparse
import os
import random
import shutil
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (Client, Server, binary_info, ms_summary, nestor_binary, paragraph_text,  # noqa: E402
                    queries_by_language, sentences, write_json)

COLLECTION = "soak"
LANGS = ["de", "en", "es", "fr", "ja", "ru", "zh"]
TAGS = ["apt", "dpkg", "gpg", "net", "fs", "ui"]


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.samples = []  # (kind, finished_at, seconds)
        self.errors = []

    def add(self, kind, seconds):
        with self.lock:
            self.samples.append((kind, time.time(), seconds))

    def error(self, kind, what):
        with self.lock:
            self.errors.append({"kind": kind, "at": time.time(), "what": str(what)[:300]})


def ingest_client(k, port, stats, stop, rng, pool, pool_size, believed):
    c = Client(port)
    version = {}
    live = believed[k]
    while not stop.is_set():
        if live and rng.random() < 0.15:
            doc_id = rng.choice(sorted(live))
            kind = "delete"
            t = time.perf_counter()
            try:
                status, body = c.call("DELETE", f"/documents/{COLLECTION}/{doc_id}")
            except Exception as e:  # noqa: BLE001
                stats.error(kind, repr(e))
                continue
            if status == 200:
                stats.add(kind, time.perf_counter() - t)
                live.discard(doc_id)
            else:
                stats.error(kind, f"{status} {body}")
            continue
        ids = rng.sample(range(pool_size), rng.randint(1, 4))
        docs = []
        for j in ids:
            doc_id = f"i{k}-{j}"
            version[doc_id] = version.get(doc_id, 0) + 1
            docs.append({"id": doc_id, "text": paragraph_text(rng, pool, f"{doc_id}.v{version[doc_id]}", rng.randint(1, 4)),
                         "metadata": {"lang": rng.choice(LANGS), "year": rng.randint(2015, 2026),
                                      "tag": rng.sample(TAGS, rng.randint(1, 2)), "client": k}})
        body = {"collection": COLLECTION, "documents": docs}
        if rng.random() < 0.5:
            body["chunking"] = {"max_tokens": rng.choice([16, 32, 64]), "overlap_tokens": rng.choice([0, 4])}
        t = time.perf_counter()
        try:
            status, reply = c.call("POST", "/ingest", body)
        except Exception as e:  # noqa: BLE001
            stats.error("ingest", repr(e))
            continue
        if status == 200:
            stats.add("ingest", time.perf_counter() - t)
            live.update(d["id"] for d in docs)
        else:
            stats.error("ingest", f"{status} {reply}")
    c.close()


FILTERS = [None, {"lang": "de"}, {"year": {"$gte": 2020}}, {"tag": {"$in": ["apt", "gpg"]}},
           {"$or": [{"lang": "ja"}, {"year": {"$lt": 2018}}]}, {"client": 1, "tag": {"$nin": ["ui"]}}]


def matches(meta, f):
    """The subset of the filter language FILTERS uses (an array field matches when any element does)."""
    for key, cond in f.items():
        if key == "$or":
            if not any(matches(meta, g) for g in cond):
                return False
            continue
        values = meta.get(key)
        values = values if isinstance(values, list) else [values]
        if not isinstance(cond, dict):
            cond = {"$eq": cond}
        for op, arg in cond.items():
            ok = {"$eq": lambda v: v == arg, "$gte": lambda v: v is not None and v >= arg,
                  "$lt": lambda v: v is not None and v < arg, "$in": lambda v: v in arg}.get(op)
            if op == "$nin":
                if any(v in arg for v in values):
                    return False
            elif not any(ok(v) for v in values):
                return False
    return True


def search_client(port, stats, stop, rng, queries):
    c = Client(port)
    langs = sorted(queries)
    while not stop.is_set():
        lang = rng.choice(langs)
        body = {"collection": COLLECTION, "query": rng.choice(queries[lang]), "top_k": rng.randint(5, 10)}
        f = rng.choice(FILTERS + [None, None, None, None])
        if f is not None:
            body["filter"] = f
        body["include"] = rng.choice([["metadata"], ["text", "metadata"]])
        t = time.perf_counter()
        try:
            status, reply = c.call("POST", "/search", body)
        except Exception as e:  # noqa: BLE001
            stats.error("search", repr(e))
            continue
        if status != 200:
            stats.error("search", f"{status} {reply}")
            continue
        stats.add("search", time.perf_counter() - t)
        hits = reply.get("hits", [])
        if len(hits) > body["top_k"]:
            stats.error("search", f"{len(hits)} hits for top_k {body['top_k']}")
        elif f is not None and not all(matches(h.get("metadata") or {}, f) for h in hits):
            stats.error("search", f"a hit does not match filter {f}: {[h.get('metadata') for h in hits][:3]}")
    c.close()


def embeddings_client(port, stats, stop, rng, texts):
    c = Client(port)
    while not stop.is_set():
        n = rng.randint(1, 8)
        body = {"model": "multilingual-e5-small", "input": ["query: " + rng.choice(texts) for _ in range(n)]}
        t = time.perf_counter()
        try:
            status, reply = c.call("POST", "/v1/embeddings", body)
        except Exception as e:  # noqa: BLE001
            stats.error("embeddings", repr(e))
            continue
        if status == 200 and len(reply.get("data", [])) == n:
            stats.add("embeddings", time.perf_counter() - t)
        else:
            stats.error("embeddings", f"{status} {str(reply)[:200]}")
    c.close()


def window(samples, t0, t1):
    out = {}
    for kind in ("ingest", "delete", "search", "embeddings"):
        lat = [s for k, at, s in samples if k == kind and t0 <= at < t1]
        m = ms_summary(lat)
        m["per_s"] = round(len(lat) / max(1e-9, t1 - t0), 2)
        out[kind] = m
    return out


def longest_gap(samples, t0, t1):
    """The longest stretch with no request of any kind finishing (a stall shows here)."""
    times = sorted([t0] + [at for _, at, _ in samples] + [t1])
    return max(b - a for a, b in zip(times, times[1:]))


def admin_get(admin, path, reconnects):
    """The sampler's GET on a connection idle for a minute: the server may have closed it (idle
    timeout) just as we reuse it, so one reconnect is allowed (and counted)."""
    for attempt in range(2):
        try:
            status, info = admin.call("GET", path)
            return info if status == 200 else {"error": status, "body": info}
        except Exception as e:  # noqa: BLE001
            if attempt:
                return {"error": repr(e)}
            reconnects.append(repr(e)[:200])
    return {}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--ingest-clients", type=int, default=2)
    ap.add_argument("--search-clients", type=int, default=2)
    ap.add_argument("--embedding-clients", type=int, default=1)
    ap.add_argument("--pool", type=int, default=150, help="ids per ingest client")
    ap.add_argument("--sample-seconds", type=float, default=60, help="report interval")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--workdir")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "soak-results.json"))
    args = ap.parse_args()
    binary = nestor_binary()
    workdir = args.workdir or tempfile.mkdtemp(prefix="nestor-soak-")
    os.makedirs(workdir, exist_ok=True)
    print(f"binary {binary_info(binary)}; workdir {workdir}", flush=True)
    rng = random.Random(args.seed)
    pool, queries = sentences(), queries_by_language()
    server = Server(binary, os.path.join(workdir, "soak.sqlite"), os.path.join(workdir, "server.log"))
    admin = Client(server.port)
    status, body = admin.call("POST", "/collections", {"name": COLLECTION})
    assert status in (200, 201), (status, body)
    rss0 = server.rss_kib()
    print(f"started in {server.started_s:.2f} s, RSS {rss0 / 1024:.1f} MiB", flush=True)
    stats, stop = Stats(), threading.Event()
    believed = [set() for _ in range(args.ingest_clients)]
    threads = [threading.Thread(target=ingest_client, args=(k, server.port, stats, stop, random.Random(rng.random()), pool,
                                                            args.pool, believed)) for k in range(args.ingest_clients)]
    threads += [threading.Thread(target=search_client, args=(server.port, stats, stop, random.Random(rng.random()), queries))
                for _ in range(args.search_clients)]
    flat = [q for qs in queries.values() for q in qs]
    threads += [threading.Thread(target=embeddings_client, args=(server.port, stats, stop, random.Random(rng.random()), flat))
                for _ in range(args.embedding_clients)]
    t_start = time.time()
    for t in threads:
        t.start()
    minutes, reconnects = [], []
    end = t_start + args.minutes * 60
    t_prev = t_start
    print(f"{'min':>5} {'RSS MiB':>8} {'docs':>6} {'chunks':>7} {'graph':>7} {'deleted':>7} "
          f"{'ingest/s':>8} {'p50':>7} {'p99':>7} {'search/s':>8} {'p50':>7} {'p99':>7} {'emb/s':>6} {'p50':>7} {'p99':>7} {'err':>4}",
          flush=True)
    while time.time() < end:
        time.sleep(max(0.0, min(args.sample_seconds, end - time.time())))
        t_now = time.time()
        with stats.lock:
            samples = list(stats.samples)
            errors = len(stats.errors)
        info = admin_get(admin, f"/collections/{COLLECTION}", reconnects)
        w = window(samples, t_prev, t_now)
        row = {"minute": round((t_now - t_start) / 60, 2), "rss_kib": server.rss_kib(), "documents": info.get("documents"),
               "chunks": info.get("chunks"), "graph_nodes": info.get("graph_nodes"), "deleted_nodes": info.get("deleted_nodes"),
               "errors_so_far": errors, "longest_gap_s": round(longest_gap(samples, t_prev, t_now), 2), **w}
        minutes.append(row)
        f = lambda v: "-" if v is None else f"{v:.1f}"  # noqa: E731
        print(f"{row['minute']:5.1f} {row['rss_kib'] / 1024 if row['rss_kib'] else 0:8.1f} {str(row['documents']):>6} {str(row['chunks']):>7} "
              f"{str(row['graph_nodes'] if row['graph_nodes'] is not None else '-'):>7} {str(row['deleted_nodes'] if row['deleted_nodes'] is not None else '-'):>7} "
              f"{w['ingest']['per_s']:8.2f} {f(w['ingest']['p50_ms']):>7} {f(w['ingest']['p99_ms']):>7} "
              f"{w['search']['per_s']:8.2f} {f(w['search']['p50_ms']):>7} {f(w['search']['p99_ms']):>7} "
              f"{w['embeddings']['per_s']:6.2f} {f(w['embeddings']['p50_ms']):>7} {f(w['embeddings']['p99_ms']):>7} {errors:4d}", flush=True)
        t_prev = t_now
    stop.set()
    for t in threads:
        t.join(timeout=180)
    t_end = time.time()
    hung = sum(t.is_alive() for t in threads)
    info = admin_get(admin, f"/collections/{COLLECTION}", reconnects)
    believed_count = sum(len(b) for b in believed)
    rss_end = server.rss_kib()
    admin.close()
    rc = server.stop()
    log_errors = [line for line in open(server.log_path, errors="replace") if "error" in line.lower()][:20]
    total = window(stats.samples, t_start, t_end)
    result = {
        "binary": binary_info(binary), "command": " ".join(sys.argv), "minutes": args.minutes,
        "clients": {"ingest": args.ingest_clients, "search": args.search_clients, "embeddings": args.embedding_clients},
        "ids_per_ingest_client": args.pool,
        "startup_s": round(server.started_s, 3), "rss_kib_start": rss0, "rss_kib_end": rss_end,
        "errors": len(stats.errors), "error_detail": stats.errors[:30], "clients_hung": hung,
        "sampler_reconnects": reconnects,
        "totals": total, "longest_gap_s": round(longest_gap(stats.samples, t_start, t_end), 2),
        "collection_documents": info.get("documents"), "believed_documents": believed_count,
        "documents_match": info.get("documents") == believed_count,
        "collection_final": info, "per_minute": minutes, "server_exit": rc, "server_log_error_lines": log_errors,
    }
    write_json(args.out, result)
    print(f"\ntotals over {(t_end - t_start) / 60:.1f} min:")
    for kind, m in total.items():
        print(f"  {kind:10s} {m['count']:6d} requests {m['per_s']:6.2f}/s  p50 {m['p50_ms']} ms  p99 {m['p99_ms']} ms  max {m['max_ms']} ms")
    print(f"errors {len(stats.errors)}; longest gap with no reply {result['longest_gap_s']} s; RSS {rss0 / 1024:.1f} -> "
          f"{(rss_end or 0) / 1024:.1f} MiB; documents: collection {info.get('documents')}, clients believe {believed_count} "
          f"({'match' if result['documents_match'] else 'MISMATCH'}); server exit {rc}")
    print(f"results: {args.out}")
    if not args.workdir:
        shutil.rmtree(workdir, ignore_errors=True)
    sys.exit(0 if not stats.errors and result["documents_match"] and not hung else 1)


if __name__ == "__main__":
    main()
