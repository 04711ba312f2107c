#!/usr/bin/env python3
"""Cross-lingual retrieval through Nestor's own /ingest and /search, three ways.

    scripts/serve &            # or any running `nestor serve` with a multilingual model
    python3 eval/search_eval.py --url http://127.0.0.1:8080 [--data eval]

Ingests the English corpus (`corpus.jsonl`) into two collections, then runs every translated
query (`queries-<lang>.jsonl`) and reports recall@10 and nDCG@10 per language for
(a) exact full-dimension search, (b) HNSW at full dimension (coarse = full size, one stage),
(c) the default two-stage search (coarse graph over 128 PCA-rotated dimensions + exact rerank).
Only the standard library is used. The data files are copies of the development set described
in `eval/README.md`; point --data at another folder of the same layout to score other sets.
"""
import argparse
import glob
import json
import math
import os
import sys
import time
import urllib.request


def call(url, path, body=None, method=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url + path, data=data, method=method or ("POST" if data else "GET"),
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=600) as r:
            return json.loads(r.read())
    except urllib.error.HTTPError as e:
        return json.loads(e.read())


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", default="http://127.0.0.1:8080")
    ap.add_argument("--data", default=os.path.dirname(os.path.abspath(__file__)))
    ap.add_argument("--prefix", default="eval")
    a = ap.parse_args()
    corpus = read_jsonl(os.path.join(a.data, "corpus.jsonl"))
    dims = None
    names = {"two": f"{a.prefix}-two-stage", "full": f"{a.prefix}-hnsw-full"}
    for kind, name in names.items():
        call(a.url, f"/collections/{name}", method="DELETE")
        body = {"name": name}
        if kind == "full":
            dims = dims or call(a.url, f"/collections/{names['two']}")["dimensions"]
            body["coarse_dimensions"] = dims
        created = call(a.url, "/collections", body)
        if "error" in created:
            sys.exit(f"cannot create {name}: {created['error']['message']}")
        t = time.time()
        for i in range(0, len(corpus), 128):
            docs = [{"id": d["id"], "text": d["text"]} for d in corpus[i:i + 128]]
            r = call(a.url, "/ingest", {"collection": name, "documents": docs})
            if "error" in r:
                sys.exit(f"ingest failed: {r['error']['message']}")
        info = call(a.url, f"/collections/{name}")
        # The coarse basis is fitted in the background once a collection is large enough: wait
        # for it (up to a minute) so the two-stage numbers are those of the fitted basis.
        deadline = time.time() + 60
        while (kind != "full" and info["coarse_basis"] != "pca" and info["chunks"] >= 1000
               and info["coarse_dimensions"] < info["dimensions"] and time.time() < deadline):
            time.sleep(0.5)
            info = call(a.url, f"/collections/{name}")
        print(f"ingested {len(corpus)} documents into {name} in {time.time() - t:.1f} s "
              f"(coarse {info['coarse_dimensions']} dims, basis {info['coarse_basis']})", file=sys.stderr)

    modes = {
        "exact": (names["two"], {"exact": True}),
        "hnsw-full": (names["full"], {}),
        "two-stage": (names["two"], {}),
    }
    print(f"{'lang':8} " + " ".join(f"{m + ' R@10':>16} {m + ' nDCG':>16}" for m in modes))
    totals = {m: [0.0, 0.0] for m in modes}
    files = sorted(glob.glob(os.path.join(a.data, "queries-*.jsonl")))
    for path in files:
        lang = os.path.basename(path)[len("queries-"):-len(".jsonl")]
        queries = read_jsonl(path)
        row = []
        for mode, (collection, extra) in modes.items():
            rec = ndcg = 0.0
            for q in queries:
                r = call(a.url, "/search", {"collection": collection, "query": q["text"], "top_k": 10,
                                            "include": [], **extra})
                ids = [h["document_id"] for h in r.get("hits", [])]
                for rank, doc in enumerate(ids):
                    if doc in q["relevant"]:
                        rec += 1
                        ndcg += 1 / math.log2(rank + 2)
                        break
            rec /= len(queries)
            ndcg /= len(queries)
            totals[mode][0] += rec
            totals[mode][1] += ndcg
            row += [rec, ndcg]
        print(f"{lang:8} " + " ".join(f"{v:16.3f}" for v in row))
        sys.stdout.flush()
    print(f"{'mean':8} " + " ".join(f"{totals[m][i] / len(files):16.3f}" for m in modes for i in (0, 1)))


if __name__ == "__main__":
    main()
