#!/usr/bin/env python3
"""Repeated upserts: the same 100 document ids re-ingested through POST /ingest for 50 rounds
(each round with a new revision of every text, or the identical text with --same-text).

    NESTOR_BIN=/path/to/nestor python3 Benchmarks/reliability/upserts.py [--rounds 50] [--docs 100]

After every round: the collection's documents and chunks, its graph size (`graph_nodes` and
`deleted_nodes` from GET /collections/{name} when the server reports them; the rows of the
SQLite file's graph table either way: `graph_records`, or `graph_nodes` with its deleted flag in
the first schema), the SQLite file size (main file and -wal), the server's
resident memory, and /search p50/p99 over 50 text queries. A collection that really replaces
documents keeps all of these flat; one that only marks replaced nodes deleted grows by 100
nodes a round. Results: Benchmarks/reliability/upserts-results.json.
"""
import argparse
import os
import random
import shutil
import sqlite3
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (Client, Server, binary_info, ms_summary, nestor_binary, queries_by_language,  # noqa: E402
                    sentences, write_json)

COLLECTION = "upserts"


def file_size(path):
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def graph_rows(db):
    """Stored graph rows of the collection, and how many are marked deleted where the schema
    says (the first schema's `graph_nodes` table has a `deleted` column; the later
    `graph_records` holds opaque records, so only the count)."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "graph_nodes" in tables:
            return con.execute("SELECT COUNT(*), COALESCE(SUM(deleted != 0), 0) FROM graph_nodes WHERE collection = ?",
                               (COLLECTION,)).fetchone()
        if "graph_records" in tables:
            return con.execute("SELECT COUNT(*) FROM graph_records WHERE collection = ?", (COLLECTION,)).fetchone()[0], None
        return None, None
    finally:
        con.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=50)
    ap.add_argument("--docs", type=int, default=100)
    ap.add_argument("--batch", type=int, default=25, help="documents per /ingest request")
    ap.add_argument("--queries", type=int, default=50)
    ap.add_argument("--same-text", action="store_true", help="upsert identical texts every round")
    ap.add_argument("--workdir")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "upserts-results.json"))
    args = ap.parse_args()
    binary = nestor_binary()
    workdir = args.workdir or tempfile.mkdtemp(prefix="nestor-upserts-")
    os.makedirs(workdir, exist_ok=True)
    db = os.path.join(workdir, "upserts.sqlite")
    print(f"binary {binary_info(binary)}; workdir {workdir}", flush=True)
    rng = random.Random(11)
    pool = sentences()
    base = [" ".join(rng.choice(pool) for _ in range(2)) for _ in range(args.docs)]
    flat = [q for qs in queries_by_language().values() for q in qs]
    queries = [flat[i] for i in random.Random(12).sample(range(len(flat)), args.queries)]
    server = Server(binary, db, os.path.join(workdir, "server.log"))
    c = Client(server.port)
    status, body = c.call("POST", "/collections", {"name": COLLECTION})
    assert status in (200, 201), (status, body)
    rows, errors = [], []
    print(f"{'round':>5} {'docs':>5} {'chunks':>6} {'graph':>6} {'deleted':>7} {'rows':>6} {'row del':>7} "
          f"{'sqlite KiB':>10} {'wal KiB':>8} {'RSS MiB':>8} {'ingest s':>8} {'p50 ms':>7} {'p99 ms':>7}", flush=True)
    t_start = time.time()
    for r in range(1, args.rounds + 1):
        t0 = time.perf_counter()
        for b in range(0, args.docs, args.batch):
            docs = [{"id": f"doc-{i}", "text": base[i] if args.same_text else f"{base[i]} (revision {r})",
                     "metadata": {"round": r, "n": i}} for i in range(b, min(args.docs, b + args.batch))]
            status, body = c.call("POST", "/ingest", {"collection": COLLECTION, "documents": docs})
            if status != 200:
                errors.append({"round": r, "status": status, "body": body})
        ingest_s = time.perf_counter() - t0
        lat = []
        for q in queries:
            t = time.perf_counter()
            status, body = c.call("POST", "/search", {"collection": COLLECTION, "query": q, "top_k": 10})
            if status != 200:
                errors.append({"round": r, "status": status, "body": body})
                continue
            lat.append(time.perf_counter() - t)
        _, info = c.call("GET", f"/collections/{COLLECTION}")
        total, deleted = graph_rows(db)
        row = {"round": r, "documents": info.get("documents"), "chunks": info.get("chunks"),
               "graph_nodes": info.get("graph_nodes"), "deleted_nodes": info.get("deleted_nodes"),
               "graph_rows": total, "graph_rows_deleted": deleted,
               "sqlite_bytes": file_size(db), "wal_bytes": file_size(db + "-wal"), "rss_kib": server.rss_kib(),
               "ingest_s": round(ingest_s, 3), "search": ms_summary(lat)}
        rows.append(row)
        # Written every round, so a run cut short still leaves its figures.
        write_json(args.out, {"binary": binary_info(binary), "command": " ".join(sys.argv), "partial": True,
                              "rounds_done": r, "errors": len(errors), "rounds_detail": rows})
        dash = lambda v: "-" if v is None else str(v)  # noqa: E731
        print(f"{r:5d} {dash(row['documents']):>5} {dash(row['chunks']):>6} {dash(row['graph_nodes']):>6} "
              f"{dash(row['deleted_nodes']):>7} {dash(total):>6} {dash(deleted):>7} {row['sqlite_bytes'] // 1024:10d} "
              f"{row['wal_bytes'] // 1024:8d} {(row['rss_kib'] or 0) / 1024:8.1f} {ingest_s:8.2f} "
              f"{row['search']['p50_ms']:7.2f} {row['search']['p99_ms']:7.2f}", flush=True)
    c.close()
    rc = server.stop()
    first, last = rows[0], rows[-1]
    graph_key = "graph_nodes" if last["graph_nodes"] is not None else "graph_rows"
    result = {"binary": binary_info(binary), "command": " ".join(sys.argv), "rounds": args.rounds, "docs": args.docs,
              "same_text": args.same_text, "errors": len(errors), "error_detail": errors[:20],
              "graph_nodes_reported": last["graph_nodes"] is not None,
              "growth": {"graph": [first[graph_key], last[graph_key]], "graph_rows": [first["graph_rows"], last["graph_rows"]],
                         "sqlite_bytes": [first["sqlite_bytes"], last["sqlite_bytes"]],
                         "wal_bytes": [first["wal_bytes"], last["wal_bytes"]],
                         "rss_kib": [first["rss_kib"], last["rss_kib"]],
                         "search_p50_ms": [first["search"]["p50_ms"], last["search"]["p50_ms"]]},
              "seconds": round(time.time() - t_start, 1), "server_exit": rc, "rounds_detail": rows}
    write_json(args.out, result)
    g = result["growth"]
    print(f"\n{graph_key} {g['graph'][0]} -> {g['graph'][1]}; graph rows {g['graph_rows'][0]} -> {g['graph_rows'][1]}; "
          f"SQLite {g['sqlite_bytes'][0] // 1024} -> {g['sqlite_bytes'][1] // 1024} KiB (+ WAL {g['wal_bytes'][1] // 1024} KiB); "
          f"RSS {(g['rss_kib'][0] or 0) // 1024} -> {(g['rss_kib'][1] or 0) // 1024} MiB; search p50 {g['search_p50_ms'][0]} -> "
          f"{g['search_p50_ms'][1]} ms; errors {len(errors)}")
    print(f"results: {args.out}")
    if not args.workdir:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
