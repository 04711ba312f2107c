#!/usr/bin/env python3
"""What the lexical index costs: start-up, memory and file size with 1,000,000 stored chunks,
ingest throughput through the storage + index path, and hybrid vs dense search latency.

    NESTOR_BENCHMARKS=1 swift build -c release --product IndexBenchmark --build-path .build-bench
    python3 Benchmarks/index/lexical.py [--n 1000000] [--runs 3] [--ingest 100000] [--work /tmp/bench-lex]

(a) Start-up: `IndexBenchmark lexstore` writes two SQLite stores of the same chunks (same
    synthetic 384-d vectors, same graph, same text): one with every chunk's analysed terms
    (`chunks.terms`) and the term table (`lexical_terms`), one without (an empty term list per
    chunk). Texts are drawn from a Zipf vocabulary whose head is the Debian descriptions' own
    words (eval/lexical/corpus.jsonl.gz) and whose tail is synthetic, 50-150 words a chunk, and
    analysed by `Lexical.Analyzer` as ingest does. Each store is then opened by a fresh
    `IndexBenchmark load` process, the two alternated, --runs times each; `IndexBenchmark
    lexload` then times the start-up's lexical steps one by one.
(b), (c) `IndexBenchmark hybrid`: Debian description texts (whole descriptions, paragraphs and
    sentences, cycled with new ids to --ingest chunks) with synthetic vectors go through
    `CollectionIndex.apply` into two SQLite stores, 64 documents a batch, the two alternated
    batch by batch: with terms (analysed before apply, as the service does) and without; then
    the lexical store is searched in dense, hybrid and lexical mode, one query at a time, the
    modes interleaved query by query (query texts: the descriptions' one-line summaries).
Writes lexical.json beside this file.
"""
import argparse
import collections
import gzip
import json
import os
import re
import sqlite3
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CORPUS = os.path.join(ROOT, "eval", "lexical", "corpus.jsonl.gz")
QUERIES = os.path.join(ROOT, "eval", "lexical", "queries.jsonl.gz")


def prepare(work):
    docs = [json.loads(l)["text"] for l in gzip.open(CORPUS, "rt")]
    counts = collections.Counter(w for d in docs for w in d.split())
    with open(os.path.join(work, "vocab.txt"), "w") as f:
        f.write("\n".join(w for w, _ in counts.most_common()) + "\n")
    chunks = []
    for d in docs:
        chunks.append(" ".join(d.split()))
        paragraphs = [p for p in d.split("\n\n") if p.strip()]
        if len(paragraphs) > 1:
            chunks += [" ".join(p.split()) for p in paragraphs]
        sentences = [s for s in re.split(r"(?<=[.!?])\s+", " ".join(d.split())) if len(s.split()) >= 3]
        if len(sentences) > 1:
            chunks += sentences
    with open(os.path.join(work, "chunks.txt"), "w") as f:
        f.write("\n".join(chunks) + "\n")
    queries = [" ".join(json.loads(l)["text"].split()) for l in gzip.open(QUERIES, "rt")]
    import random
    random.Random(3).shuffle(queries)
    with open(os.path.join(work, "queries.txt"), "w") as f:
        f.write("\n".join(q for q in queries if q) + "\n")
    return len(counts), len(chunks), len(queries)


def sizes(path):
    db = sqlite3.connect(path)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    out = {"file_bytes": os.path.getsize(path)}
    q = db.execute("SELECT count(*), sum(length(text)), sum(length(vector)), sum(length(terms)), sum(terms IS NULL) FROM chunks").fetchone()
    out.update(chunks=q[0], chunk_text_bytes=q[1], vector_bytes=q[2], term_list_bytes=q[3] or 0, null_terms=q[4])
    out["lexical_terms"] = db.execute("SELECT count(*) FROM lexical_terms").fetchone()[0]
    try:
        out["table_bytes"] = dict(db.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name").fetchall())
    except sqlite3.Error:
        pass
    db.close()
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=os.path.join(ROOT, ".build-bench", "release", "IndexBenchmark"))
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--ingest", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=1_000)
    ap.add_argument("--work", default="/tmp/bench-lex")
    ap.add_argument("--skip", default="", help="comma-separated parts to skip: startup,hybrid")
    args = ap.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    os.makedirs(args.work, exist_ok=True)
    vocabulary, nchunks, nqueries = prepare(args.work)
    out_path = os.path.join(HERE, "lexical.json")
    results = {}
    print(f"corpus: {vocabulary} distinct words, {nchunks} chunk texts, {nqueries} queries", flush=True)

    if "startup" not in skip:
        d = os.path.join(args.work, f"startup-{args.n}")
        dbs = {"with_terms": os.path.join(d, "with.sqlite"), "without_terms": os.path.join(d, "without.sqlite")}
        if not all(os.path.exists(p + ".built.json") for p in dbs.values()):
            r = subprocess.run([args.binary, "lexstore", f"synthetic:{args.n}", "384", d, os.path.join(args.work, "vocab.txt")],
                               check=True, stdout=subprocess.PIPE, text=True)
            print(r.stdout.strip().splitlines()[-1], flush=True)
        startup = {"store": json.load(open(dbs["with_terms"] + ".built.json"))}
        for name, p in dbs.items():
            startup[name] = {"sizes": sizes(p), "loads": []}
            startup[name]["store_s"] = json.load(open(p + ".built.json"))["store_s"]
        for run in range(args.runs):
            order = list(dbs) if run % 2 == 0 else list(reversed(list(dbs)))
            for name in order:
                out = os.path.join(args.work, f"load-{name}.json")
                r = subprocess.run([args.binary, "load", f"synthetic:{args.n}", "384", dbs[name], out],
                                   check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                o = json.load(open(out))
                o["reanalysed"] = "lexically" in r.stdout + r.stderr
                startup[name]["loads"].append({k: o[k] for k in ["load_s", "memory_bytes_per_vector", "loaded_intact", "lexical_chunks",
                                                                 "lexical_terms", "reanalysed"]})
                print(f"{name}: load {o['load_s']:.2f} s, {o['memory_bytes_per_vector']:.0f} B/chunk resident, "
                      f"{o['lexical_terms']} terms, re-analysed: {o['reanalysed']}", flush=True)
        for name in dbs:
            loads = startup[name]["loads"]
            startup[name]["load_s_median"] = sorted(l["load_s"] for l in loads)[len(loads) // 2]
            startup[name]["memory_bytes_per_chunk_median"] = sorted(l["memory_bytes_per_vector"] for l in loads)[len(loads) // 2]
            startup[name]["file_bytes_per_chunk"] = startup[name]["sizes"]["file_bytes"] / args.n
        w, wo = startup["with_terms"], startup["without_terms"]
        startup["ratios_with_over_without"] = {
            "load_s": w["load_s_median"] / wo["load_s_median"],
            "memory": w["memory_bytes_per_chunk_median"] / wo["memory_bytes_per_chunk_median"],
            "file": w["file_bytes_per_chunk"] / wo["file_bytes_per_chunk"],
        }
        out = os.path.join(args.work, "lexload.json")
        subprocess.run([args.binary, "lexload", dbs["with_terms"], out], check=True)
        startup["breakdown_with_terms"] = json.load(open(out))
        results["startup"] = startup
        print(json.dumps(startup["ratios_with_over_without"]), flush=True)

    if "hybrid" not in skip:
        out = os.path.join(args.work, "hybrid.json")
        subprocess.run([args.binary, "hybrid", os.path.join(args.work, "chunks.txt"), os.path.join(args.work, "queries.txt"), "384",
                        args.work, out, str(args.ingest), "64", str(args.queries)], check=True)
        results["hybrid"] = json.load(open(out))
        results["hybrid"]["chunk_texts_distinct"] = nchunks
        print(json.dumps(results["hybrid"], indent=1), flush=True)

    results["machine"] = {"cores": os.cpu_count(), "load_average_at_end": os.getloadavg()}
    results["when"] = time.strftime("%Y-%m-%d %H:%M")
    # Parts not run this time keep their earlier figures.
    merged = json.load(open(out_path)) if os.path.exists(out_path) else {}
    merged.update(results)
    with open(out_path, "w") as f:
        json.dump(merged, f, indent=1, sort_keys=True)
    print(f"wrote {out_path}")


if __name__ == "__main__":
    main()
