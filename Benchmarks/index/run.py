#!/usr/bin/env python3
"""Nestor's index against hnswlib and faiss-cpu on the same real vectors, in the same run.

    pip install hnswlib faiss-cpu matplotlib
    NESTOR_BENCHMARKS=1 swift build -c release --product IndexBenchmark --build-path .build-bench
    python3 Benchmarks/index/run.py [--n 100000] [--load 100000,1000000]

Vectors: catalog messages (Benchmarks/index/catalog.py) embedded once with Nestor's engine and
cached outside git. Every index gets the same M and ef_construction and one thread; queries run
one after another (the peers get the whole query batch in one call, on one thread, so Python
adds nothing per query). Recall@10 is measured against exact full-dimension cosine results
(a result counts when it is at least as close as the exact 10th neighbour, so tied duplicates
are all correct).
Prints the curves, QPS ratios at equal recall and start-up (load) times; writes
results.json and recall-qps.png beside this file.
"""
import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
from catalog import CACHE, dataset, recall_at_10  # noqa: E402

EFS = [10, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512]


def resident():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def timed_curve(search, base, queries, truth, kth, settings):
    """(setting, recall@10, QPS) per setting. QPS is the best of three rounds of at least half
    a second each (this shared machine's speed drifts; Nestor's points are timed the same way)."""
    points = []
    for s in settings:
        qps = 0
        for _ in range(3):
            passes, start = 0, time.perf_counter()
            while True:
                found = search(s, queries)
                passes += 1
                if time.perf_counter() - start >= 0.5:
                    break
            qps = max(qps, passes * len(queries) / (time.perf_counter() - start))
        recall = np.mean([recall_at_10(base, q, f, t) for q, f, t in zip(queries, found, kth)])
        strict = np.mean([len(set(int(i) for i in f[:10]) & set(int(i) for i in t)) / 10 for f, t in zip(found, truth)])
        points.append({"ef": s, "recall": float(recall), "recall_strict": float(strict), "qps": qps})
        print(f"  ef {s}: recall@10 {recall:.4f} (strict {strict:.4f}), {qps:.0f} QPS", flush=True)
    return points


def run_hnswlib(base, queries, truth, kth, m, efc):
    import hnswlib
    before = resident()
    index = hnswlib.Index(space="cosine", dim=base.shape[1])
    index.init_index(max_elements=len(base), M=m, ef_construction=efc, random_seed=100)
    index.set_num_threads(1)
    start = time.perf_counter()
    index.add_items(base, np.arange(len(base)), num_threads=1)
    build = time.perf_counter() - start
    print(f"hnswlib: built in {build:.1f} s", flush=True)

    def search(ef, q):
        index.set_ef(ef)
        return index.knn_query(q, k=10, num_threads=1)[0]
    return {"build_s": build, "memory_bytes": resident() - before, "points": timed_curve(search, base, queries, truth, kth, EFS)}


def run_faiss(base, queries, truth, kth, m, efc):
    import faiss
    faiss.omp_set_num_threads(1)
    before = resident()
    index = faiss.IndexHNSWFlat(base.shape[1], m, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = efc
    start = time.perf_counter()
    index.add(base)
    build = time.perf_counter() - start
    print(f"faiss: built in {build:.1f} s", flush=True)

    def search(ef, q):
        index.hnsw.efSearch = ef
        return index.search(q, 10)[1]
    return {"build_s": build, "memory_bytes": resident() - before, "points": timed_curve(search, base, queries, truth, kth, EFS)}


METRICS = {"recall": "recall@10 (results at least as close as the exact 10th)",
           "recall_strict": "strict recall@10 (results among the exact top-10 rows)"}


def qps_at(points, recall, metric="recall"):
    """QPS at a recall on the curve's upper envelope, interpolated in log QPS; None when the
    curve never reaches it."""
    pts = sorted((p[metric], p["qps"]) for p in points)
    best = [p for i, p in enumerate(pts) if all(q[1] < p[1] for q in pts[i + 1:])]  # Pareto front
    if not best or best[-1][0] < recall:
        return None
    for (r0, q0), (r1, q1) in zip(best, best[1:]):
        if r0 <= recall <= r1:
            w = 0 if r1 == r0 else (recall - r0) / (r1 - r0)
            return float(np.exp(np.log(q0) + w * (np.log(q1) - np.log(q0))))
    return best[0][1]


def plot(curves, path, n, model):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(14, 5.5), sharey=True)
    for ax, (metric, label) in zip(axes, METRICS.items()):
        for name, c in curves.items():
            pts = sorted((p[metric], p["qps"]) for p in c["points"])
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", markersize=3, label=name)
        ax.set_xlabel(label)
        ax.set_yscale("log")
        ax.set_xlim(left=0.75, right=1.0)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    axes[0].set_ylabel("queries per second (1 thread)")
    fig.suptitle(f"{n:,} catalog messages, {model}, M=16, ef_construction=200, coarse d=128 for two-stage")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--model", default=os.path.join(ROOT, "models", "all-MiniLM-L6-v2"))
    ap.add_argument("--binary", default=os.path.join(ROOT, ".build-bench", "release", "IndexBenchmark"))
    ap.add_argument("--m", type=int, default=16)
    ap.add_argument("--ef-construction", type=int, default=200)
    ap.add_argument("--coarse", type=int, default=128)
    ap.add_argument("--load", default="100000,1000000", help="stored sizes to time start-up with ('' to skip); "
                    "the --n real vectors for that size, synthetic clustered vectors for others")
    ap.add_argument("--peers", default="hnswlib,faiss")
    ap.add_argument("--out", default=HERE)
    args = ap.parse_args()

    paths, base, queries, truth, kth = dataset(args.binary, args.model, args.n, args.queries)
    d = base.shape[1]
    results = {"n": args.n, "queries": args.queries, "dimension": d, "model": os.path.basename(args.model), "curves": {}}
    for peer in filter(None, args.peers.split(",")):
        print(f"{peer}:", flush=True)
        results["curves"][peer] = {"hnswlib": run_hnswlib, "faiss": run_faiss}[peer](base, queries, truth, kth, args.m, args.ef_construction)

    out = os.path.join(args.out, "nestor-curves.json")
    subprocess.run([args.binary, "curves", paths["base.f32"], paths["queries.f32"], paths["truth.i32"], paths["kth.f32"], str(d), out,
                    str(args.m), str(args.ef_construction), str(args.coarse)], check=True)
    nestor = json.load(open(out))
    os.remove(out)
    for name in ("nestor_full", "nestor_two_stage_pca", "nestor_two_stage_raw"):
        if name in nestor:
            results["curves"][name] = nestor[name]

    results["load"] = []
    for size in filter(None, args.load.split(",")):
        size = int(size)
        real = size == args.n
        # Synthetic sets are built with a smaller ef_construction: start-up reads the same
        # rows whatever the graph's quality, and a million inserts at 200 take too long.
        efc = args.ef_construction if real else 64
        db = os.path.join(CACHE, f"load-{'catalog' if real else 'synthetic'}-{size}-{d}-{args.m}-{efc}-{args.coarse}.sqlite")
        out = db + ".result.json"
        subprocess.run([args.binary, "load", paths["base.f32"] if real else f"synthetic:{size}", str(d), db, out,
                        str(args.m), str(efc), str(args.coarse)], check=True)
        results["load"].append(dict(json.load(open(out)), source="catalog" if real else "synthetic"))
        os.remove(out)

    print("\nbuild (1 thread) and memory:")
    for name, c in results["curves"].items():
        print(f"  {name:24s} build {c['build_s']:7.1f} s   memory {c['memory_bytes'] / args.n:7.0f} B/vector")
    results["equal_recall"] = {}
    for metric, label in METRICS.items():
        targets = [0.90, 0.92]
        top = min(max(p[metric] for p in c["points"]) for c in results["curves"].values())
        targets.append(round(top - 0.0005, 3))
        results["equal_recall"][metric] = {}
        print(f"\nQPS at equal {label}, ratio to hnswlib:")
        for r in targets:
            row = {name: qps_at(c["points"], r, metric) for name, c in results["curves"].items()}
            results["equal_recall"][metric][str(r)] = row
            base_qps = row.get("hnswlib")
            cells = []
            for name, q in row.items():
                ratio = f" ({q / base_qps:.2f}x)" if q and base_qps else ""
                cells.append(f"{name} {q:.0f}{ratio}" if q else f"{name} n/a")
            print(f"  {r:.3f}: " + ", ".join(cells))
    for entry in results["load"]:
        print(f"\nstart-up with {entry['n']:,} stored {entry['source']} vectors: load {entry['load_s']:.2f} s "
              f"(intact: {entry['loaded_intact']}), {entry['memory_bytes_per_vector']:.0f} B/vector resident, "
              f"file {entry['file_bytes'] / 1e6:.0f} MB")
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump(results, f, indent=1)
    plot(results["curves"], os.path.join(args.out, "recall-qps.png"), args.n, results["model"])
    print(f"\nwrote {os.path.join(args.out, 'results.json')} and recall-qps.png")


if __name__ == "__main__":
    main()
