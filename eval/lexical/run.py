#!/usr/bin/env python3
"""Dense vs lexical vs hybrid retrieval through Nestor's /ingest and /search.

    python3 eval/lexical/run.py --url http://127.0.0.1:8080 [--reuse] [--sets xling,debian]

Two sets:
* `debian` — the Debian package-description set in this folder (corpus.jsonl.gz,
  queries.jsonl.gz; see README.md and build_set.py): one-line summary → long description.
* `xling` — the cross-lingual development set in eval/ (corpus.jsonl + queries-<lang>.jsonl):
  translated software messages → their English original.

Each corpus goes into a fresh collection (server defaults; batches of 64; waits for the coarse
basis fit), then every query is searched in every mode (modes interleaved per query, so load on
the machine affects them alike), top 10, one hit per document. Reports recall@10 and MRR@10 per
mode (per language for xling), queries gained/lost against dense, client-side latency p50/p99 and
the server's mean stage timings; writes results.json. The acceptance rule for a default: recall@10
no more than 0.005 below dense in any language of the cross-lingual set.
Only the standard library is used.
"""
import argparse
import glob
import json
import os
import platform
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import HERE, call, ensure_collection, percentile, read_jsonl, sha1  # noqa: E402

MODES = {}  # filled from the command line (default: dense, lexical, RRF k=60, alpha 0.3/0.5/0.7)


def set_modes(fusion_ks, alphas, base=True):
    MODES.clear()
    MODES["dense"] = {"mode": "dense"}
    if base:
        MODES["lexical"] = {"mode": "lexical"}
    for k in fusion_ks:
        MODES[f"hybrid rrf k={k}"] = {"mode": "hybrid", "fusion_k": k}
    for x in alphas:
        MODES[f"hybrid alpha={x:g}"] = {"mode": "hybrid", "alpha": x}
TOLERANCE = 0.005  # half a point of recall@10


def run_queries(url, collection, queries, modes, label, top_k=10):
    """Per mode: the rank (1-based, None beyond top_k) of the first relevant document of each
    query, client latencies (ms) and summed server timings."""
    out = {m: {"ranks": [], "latency_ms": [], "timings": {}} for m in modes}
    t0 = time.time()
    for n, q in enumerate(queries):
        relevant = set(q["relevant"])
        for m, extra in modes.items():
            body = {"collection": collection, "query": q["text"], "top_k": top_k, "include": [],
                    "group_by_document": True, **extra}
            t = time.perf_counter()
            r = call(url, "/search", body)
            out[m]["latency_ms"].append((time.perf_counter() - t) * 1000)
            if "error" in r:
                sys.exit(f"search failed ({m}, {q.get('qid')}): {r['error']['message']}\nrequest: {json.dumps(body)}")
            ids = [h["document_id"] for h in r["hits"]]
            out[m]["ranks"].append(next((i + 1 for i, d in enumerate(ids) if d in relevant), None))
            for k, v in r.get("timings", {}).items():
                out[m]["timings"][k] = out[m]["timings"].get(k, 0.0) + v
        if (n + 1) % 500 == 0:
            print(f"  {label}: {n + 1}/{len(queries)} queries, {time.time() - t0:.0f} s", file=sys.stderr, flush=True)
    return out


def summarise(per_mode, n):
    s = {}
    dense = per_mode["dense"]["ranks"] if "dense" in per_mode else None
    for m, d in per_mode.items():
        ranks = d["ranks"]
        row = {
            "queries": n,
            "recall@10": round(sum(r is not None for r in ranks) / n, 4),
            "mrr@10": round(sum(1 / r for r in ranks if r) / n, 4),
            "recall@1": round(sum(r == 1 for r in ranks) / n, 4),
            "latency_p50_ms": round(percentile(d["latency_ms"], 50), 2),
            "latency_p99_ms": round(percentile(d["latency_ms"], 99), 2),
            "server_mean_ms": {k: round(v / n, 3) for k, v in d["timings"].items()},
        }
        if dense is not None and m != "dense":
            row["gained_vs_dense"] = sum(1 for a, b in zip(dense, ranks) if a is None and b is not None)
            row["lost_vs_dense"] = sum(1 for a, b in zip(dense, ranks) if a is not None and b is None)
        s[m] = row
    return s


def print_table(title, summary):
    print(f"\n{title}")
    print(f"{'mode':18} {'recall@10':>9} {'MRR@10':>7} {'R@1':>6} {'+/- vs dense':>12} {'p50 ms':>7} {'p99 ms':>7}")
    for m, r in summary.items():
        gl = f"+{r['gained_vs_dense']}/-{r['lost_vs_dense']}" if "gained_vs_dense" in r else ""
        print(f"{m:18} {r['recall@10']:9.3f} {r['mrr@10']:7.3f} {r['recall@1']:6.3f} {gl:>12} "
              f"{r['latency_p50_ms']:7.1f} {r['latency_p99_ms']:7.1f}")
    sys.stdout.flush()


def debian(a, results):
    corpus = read_jsonl(os.path.join(a.data, "corpus.jsonl"))
    queries = read_jsonl(os.path.join(a.data, "queries.jsonl"))
    if a.max_queries:
        queries = queries[:a.max_queries]
    if a.debian_sample:  # a deterministic sample spread over the alphabet: smallest sha1(qid)
        queries = sorted(queries, key=lambda q: sha1(q["qid"]))[:a.debian_sample]
    info, ingest = ensure_collection(a.url, a.collection, corpus, reuse=a.reuse)
    print(f"debian: {info['documents']} documents, {info['chunks']} chunks, {info['terms']} terms, "
          f"basis {info['coarse_basis']}; ingest {ingest}", file=sys.stderr)
    per_mode = run_queries(a.url, a.collection, queries, MODES, "debian")
    summary = summarise(per_mode, len(queries))
    print_table(f"Debian package descriptions: {len(queries)} summaries -> {len(corpus)} long descriptions", summary)
    results["debian"] = {"collection": info, "ingest": ingest, "queries": len(queries),
                         "sample": f"smallest sha1(qid), {a.debian_sample}" if a.debian_sample else "all", "modes": summary}


def xling(a, results):
    corpus = read_jsonl(os.path.join(a.xling_data, "corpus.jsonl"))
    info, ingest = ensure_collection(a.url, a.xling_collection, corpus, reuse=a.reuse)
    print(f"xling: {info['documents']} documents, {info['chunks']} chunks, basis {info['coarse_basis']}; "
          f"ingest {ingest}", file=sys.stderr)
    langs = {}
    for path in sorted(glob.glob(os.path.join(a.xling_data, "queries-*.jsonl"))):
        lang = os.path.basename(path)[len("queries-"):-len(".jsonl")]
        queries = read_jsonl(path)[:a.max_queries or None]
        langs[lang] = summarise(run_queries(a.url, a.xling_collection, queries, MODES, f"xling {lang}"), len(queries))
        print(f"  xling {lang}: " + ", ".join(f"{m} {langs[lang][m]['recall@10']:.3f}" for m in MODES), file=sys.stderr, flush=True)
    modes = list(MODES)
    print("\nCross-lingual dev set (eval/): recall@10 per language")
    print(f"{'lang':7} " + " ".join(f"{m:>17}" for m in modes))
    for lang, s in langs.items():
        print(f"{lang:7} " + " ".join(f"{s[m]['recall@10']:17.3f}" for m in modes))
    mean = {m: round(sum(langs[l][m]["recall@10"] for l in langs) / len(langs), 4) for m in modes}
    print(f"{'mean':7} " + " ".join(f"{mean[m]:17.3f}" for m in modes))
    print("\nacceptance (recall@10 >= dense - 0.005 in every language):")
    verdict = {}
    for m in modes[1:]:
        worst = min(langs[l][m]["recall@10"] - langs[l]["dense"]["recall@10"] for l in langs)
        worst_lang = min(langs, key=lambda l: langs[l][m]["recall@10"] - langs[l]["dense"]["recall@10"])
        ok = worst >= -TOLERANCE - 1e-9
        verdict[m] = {"passes": ok, "worst_delta": round(worst, 4), "worst_lang": worst_lang}
        print(f"  {m:18} {'PASS' if ok else 'FAIL'}  worst {worst:+.3f} ({worst_lang})")
    sys.stdout.flush()
    results["xling"] = {"collection": info, "ingest": ingest, "languages": langs, "mean_recall@10": mean,
                        "acceptance": verdict}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", default="http://127.0.0.1:8080")
    ap.add_argument("--data", default=HERE, help="folder with corpus.jsonl[.gz] and queries.jsonl[.gz]")
    ap.add_argument("--xling-data", default=os.path.dirname(HERE), help="folder with corpus.jsonl and queries-<lang>.jsonl")
    ap.add_argument("--collection", default="lexical-debian")
    ap.add_argument("--xling-collection", default="lexical-xling")
    ap.add_argument("--sets", default="xling,debian")
    ap.add_argument("--reuse", action="store_true", help="keep existing collections, ingesting only missing documents")
    ap.add_argument("--max-queries", type=int, default=0, help="first N queries per file only (smoke runs)")
    ap.add_argument("--debian-sample", type=int, default=0, help="Debian set: only the N queries with the smallest sha1(qid)")
    ap.add_argument("--fusion-k", default="60", help="RRF constants to run, comma-separated ('' for none)")
    ap.add_argument("--alpha", default="0.3,0.5,0.7", help="weighted-fusion alphas (dense weight), comma-separated")
    ap.add_argument("--no-lexical", action="store_true", help="leave out the lexical-only mode (sweeps)")
    ap.add_argument("--default", action="store_true", help="also run the server's default (no mode named)")
    ap.add_argument("--rerank-depth", type=int, default=0,
                    help="also run the default hybrid + the cross-encoder rerank stage over this many hits (server needs --rerank-model)")
    ap.add_argument("--out", default=os.path.join(HERE, "results.json"))
    a = ap.parse_args()
    set_modes([int(x) for x in a.fusion_k.split(",") if x], [float(x) for x in a.alpha.split(",") if x],
              base=not a.no_lexical)
    if a.default:
        MODES["default (hybrid, coverage)"] = {}
    if a.rerank_depth:
        MODES[f"hybrid + rerank depth {a.rerank_depth}"] = {"mode": "hybrid", "rerank": {"depth": a.rerank_depth}}
    probe = call(a.url, "/health")
    if "error" in probe:
        sys.exit(f"server not ready: {probe}")
    results = {}
    if os.path.exists(a.out):
        with open(a.out) as f:
            results = json.load(f)  # keep the other set's results when running one
    results["meta"] = {"url": a.url, "model": probe.get("model"), "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                       "host": platform.node(), "cpus": os.cpu_count(), "load_avg_start": os.getloadavg(),
                       "modes": MODES, "top_k": 10, "group_by_document": True}
    for s in a.sets.split(","):
        {"debian": debian, "xling": xling}[s](a, results)
        results["meta"]["load_avg_end"] = os.getloadavg()
        with open(a.out, "w") as f:
            json.dump(results, f, indent=1)
            f.write("\n")


if __name__ == "__main__":
    main()
