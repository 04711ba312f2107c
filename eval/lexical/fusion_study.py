#!/usr/bin/env python3
"""Offline study of fusion rules for `mode: hybrid`, over Nestor's own dense and lexical lists.

    python3 eval/lexical/fusion_study.py fetch --url http://127.0.0.1:8080 [--cache /tmp/fusion-cache]
    python3 eval/lexical/fusion_study.py study [--cache /tmp/fusion-cache] [--out eval/lexical/fusion_study.json]

fetch: for both sets (the Debian set of this folder, collection lexical-debian; the cross-lingual
set of eval/, collection lexical-xling — created and filled as run.py does when missing), reads
every chunk's text back and, for every query, Nestor's dense top 100 (`mode: dense`, cosine) and
lexical top 100 (`mode: lexical`, BM25), chunk level (no group_by_document), once. Cached as JSON
lines, resumable.

study: fuses the cached lists in Python the way SearchState.fuse does (chunk level, top 40 fused
chunks, one hit per document, top 10 — what a hybrid search with top_k 10 and group_by_document
does) for a set of rules, and reports recall@10 / MRR@10 per set and per language with the
acceptance rule (recall@10 no more than 0.005 below dense in any xling language).

Query-adaptive rules scale the lexical contribution by w, a coverage of the query's distinct
analysed terms Q (analyzer.py, the port of Nestor's analyzer), idf-weighted:
    idf(t) = ln(1 + (N - df(t) + 0.5) / (df(t) + 0.5))        (df = 0 for terms absent from the corpus)
    cov(h) = sum_{t in Q, t in chunk h} idf(t) / sum_{t in Q} idf(t)
with N the number of chunks and df over chunks (BM25's own statistics, recomputed here from the
chunk texts and checked against Nestor's lexical ranking). Variants: per-hit cov(h) or the top
lexical hit's cov (one w per query), squared or not, applied to RRF (1/(k+r_d) + w/(k+r_l)) or to
the weighted sum (d_minmax + w * l_maxnorm, i.e. alpha 0.5 when w = 1).
Only the standard library is used.
"""
import argparse
import concurrent.futures
import glob
import json
import math
import os
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from analyzer import frequencies, terms  # noqa: E402
from common import HERE, call, ensure_collection, read_jsonl, sha1  # noqa: E402

K1, B = 1.2, 0.75
DEPTH = 100           # SearchOptions.fusionDepth for top_k 10: max(100, 2 * top_k)
FUSED_CHUNKS = 40     # group_by_document: top_k * 4 chunks are fused, then one hit per document
TOP = 10
TOLERANCE = 0.005
XLING = os.path.dirname(HERE)


def load_sets(max_queries=0):
    """{set: (corpus, [(group, query)])}; group is the language for xling, 'all' for debian."""
    sets = {}
    deb_q = read_jsonl(os.path.join(HERE, "queries.jsonl"))
    sets["debian"] = (read_jsonl(os.path.join(HERE, "corpus.jsonl")),
                      [("all", q) for q in deb_q[:max_queries or None]])
    xq = []
    for path in sorted(glob.glob(os.path.join(XLING, "queries-*.jsonl"))):
        lang = os.path.basename(path)[len("queries-"):-len(".jsonl")]
        xq += [(lang, q) for q in read_jsonl(path)[:max_queries or None]]
    sets["xling"] = (read_jsonl(os.path.join(XLING, "corpus.jsonl")), xq)
    return sets


COLLECTIONS = {"debian": "lexical-debian", "xling": "lexical-xling"}


# ------------------------------------------------------------------------------------ fetch

def fetch(a):
    os.makedirs(a.cache, exist_ok=True)
    for name, (corpus, queries) in load_sets(a.max_queries).items():
        if a.sets and name not in a.sets.split(","):
            continue
        coll = COLLECTIONS[name]
        info, ingest = ensure_collection(a.url, coll, corpus, reuse=True)
        print(f"{name}: {info['documents']} documents, {info['chunks']} chunks; ingest {ingest}", file=sys.stderr, flush=True)
        chunks_path = os.path.join(a.cache, f"{name}-chunks.json")
        if not os.path.exists(chunks_path):
            def read(d):
                r = call(a.url, f"/documents/{urllib.parse.quote(coll, safe='')}/{urllib.parse.quote(d['id'], safe='')}")
                if "error" in r:
                    raise RuntimeError(f"cannot read {d['id']}: {r['error']['message']}")
                return [(f"{d['id']}#{c['index']}", d["id"], c["text"]) for c in r["chunks"]]
            with concurrent.futures.ThreadPoolExecutor(a.workers) as ex:
                rows = [c for cs in ex.map(read, corpus) for c in cs]
            with open(chunks_path + ".tmp", "w") as f:
                json.dump({"collection": info, "chunks": rows}, f)
            os.replace(chunks_path + ".tmp", chunks_path)
            print(f"  {len(rows)} chunks read back", file=sys.stderr, flush=True)
        lists_path = os.path.join(a.cache, f"{name}-lists.jsonl")
        done = set()
        if os.path.exists(lists_path):
            with open(lists_path) as f:
                done = {json.loads(l)["qid"] for l in f if l.strip()}
        # sha1(qid) order, so a fetch cut short still leaves a sample spread over the whole set
        todo = sorted(((g, q) for g, q in queries if q["qid"] not in done), key=lambda gq: sha1(gq[1]["qid"]))
        lock, t0, n = threading.Lock(), time.time(), [0]

        def one(gq):
            g, q = gq
            row = {"qid": q["qid"], "group": g}
            for mode in ("dense", "lexical"):
                r = call(a.url, "/search", {"collection": coll, "query": q["text"], "mode": mode, "top_k": DEPTH, "include": []})
                if "error" in r:
                    raise RuntimeError(f"{mode} search failed for {q['qid']}: {r['error']['message']}")
                row[mode] = [[h["id"], h["score"]] for h in r["hits"]]
            return row

        with open(lists_path, "a") as f, concurrent.futures.ThreadPoolExecutor(a.workers) as ex:
            for row in ex.map(one, todo):
                with lock:
                    f.write(json.dumps(row) + "\n")
                    n[0] += 1
                    if n[0] % 500 == 0:
                        f.flush()
                        el = time.time() - t0
                        print(f"  {name}: {n[0]}/{len(todo)} queries, {el:.0f} s, ETA {(len(todo) - n[0]) * el / n[0] / 60:.1f} min",
                              file=sys.stderr, flush=True)
        print(f"{name}: lists for {len(queries)} queries in {lists_path}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------ study

class BM25:
    """Nestor's BM25 (BM25Index.search) over the analyser port's terms of the same chunks."""

    def __init__(self, chunks):
        self.keys = [c[0] for c in chunks]
        self.freqs = [frequencies(c[2]) for c in chunks]
        self.n = len(chunks)
        self.lengths = [sum(f.values()) for f in self.freqs]
        self.avg = sum(self.lengths) / self.n
        self.df, self.postings = {}, {}
        for i, f in enumerate(self.freqs):
            for t, tf in f.items():
                self.df[t] = self.df.get(t, 0) + 1
                self.postings.setdefault(t, []).append((i, tf))
        self.index = {k: i for i, k in enumerate(self.keys)}

    def idf(self, t):
        df = self.df.get(t, 0)
        return math.log(1 + (self.n - df + 0.5) / (df + 0.5))

    def search(self, text, k):
        weights = {}
        for t in terms(text):
            if t in self.df:
                weights[t] = weights.get(t, 0) + 1
        scores = {}
        for t, times in weights.items():
            idf = self.idf(t)
            for i, tf in self.postings[t]:
                dl = self.lengths[i]
                scores[i] = scores.get(i, 0.0) + times * idf * tf * (K1 + 1) / (tf + K1 * (1 - B + B * dl / self.avg))
        ranked = sorted(scores.items(), key=lambda x: -x[1])[:k]
        return [(self.keys[i], s) for i, s in ranked]

    def coverage(self, qterms, key):
        """idf-weighted share of the distinct query terms that chunk `key` contains."""
        total = sum(self.idf(t) for t in qterms)
        if total <= 0:
            return 0.0
        f = self.freqs[self.index[key]]
        return sum(self.idf(t) for t in qterms if t in f) / total


def doc_of(key):
    return key.rsplit("#", 1)[0]


def fuse(dense, lexical, rule, bm, qterms):
    """dense, lexical: [(chunk key, score)] best first. Returns the top documents."""
    kind = rule["kind"]
    if kind == "dense":
        ranked = [k for k, _ in dense]
    elif kind == "lexical":
        ranked = [k for k, _ in lexical]
    else:
        drank = {k: i + 1 for i, (k, _) in enumerate(dense)}
        lrank = {k: i + 1 for i, (k, _) in enumerate(lexical)}
        dscore, lscore = dict(dense), dict(lexical)
        w_of = lambda key: 1.0  # noqa: E731
        if rule.get("w") == "hit":
            w_of = lambda key: bm.coverage(qterms, key) ** rule.get("p", 1)  # noqa: E731
        elif rule.get("w") == "top":
            wt = bm.coverage(qterms, lexical[0][0]) ** rule.get("p", 1) if lexical else 0.0
            w_of = lambda key: wt  # noqa: E731
        elif rule.get("w") == "corpus":  # share of the query's idf mass that occurs in the corpus at all
            tot = sum(bm.idf(t) for t in qterms)
            wc = (sum(bm.idf(t) for t in qterms if t in bm.df) / tot if tot > 0 else 0.0) ** rule.get("p", 1)
            w_of = lambda key: wc  # noqa: E731
        merged = list(dict.fromkeys([k for k, _ in dense] + [k for k, _ in lexical]))
        if kind == "rrf":
            c = rule.get("k", 60)
            score = {m: (1 / (c + drank[m]) if m in drank else 0.0) + (w_of(m) / (c + lrank[m]) if m in lrank else 0.0)
                     for m in merged}
        else:  # weighted: alpha * minmax(dense) + (1 - alpha) * w * maxnorm(bm25)
            alpha = rule.get("alpha", 0.5)
            ds = [s for _, s in dense]
            dmin, dmax = (min(ds), max(ds)) if ds else (0, 0)
            lmax = max((s for _, s in lexical), default=0)
            score = {}
            for m in merged:
                d = ((dscore[m] - dmin) / (dmax - dmin) if dmax > dmin else 1.0) if m in dscore else 0.0
                l = (lscore[m] / lmax if lmax > 0 else 0.0) if m in lscore else 0.0
                score[m] = alpha * d + (1 - alpha) * w_of(m) * l
        # Ties (frequent in RRF: dense rank r vs lexical rank r): better dense rank first. Nestor
        # breaks them by internal label, which is arbitrary.
        ranked = sorted(merged, key=lambda m: (-score[m], drank.get(m, 10**6), lrank.get(m, 10**6)))
        ranked = ranked[:FUSED_CHUNKS]
    docs = []
    for k in ranked:
        d = doc_of(k)
        if d not in docs:
            docs.append(d)
        if len(docs) == TOP:
            break
    return docs


RULES = {
    "dense": {"kind": "dense"},
    "lexical": {"kind": "lexical"},
    "rrf k=60": {"kind": "rrf", "k": 60},
    "alpha=0.5": {"kind": "weighted", "alpha": 0.5},
    "alpha=0.7": {"kind": "weighted", "alpha": 0.7},
    "rrf * cov(hit)": {"kind": "rrf", "k": 60, "w": "hit", "p": 1},
    "rrf * cov(hit)^2": {"kind": "rrf", "k": 60, "w": "hit", "p": 2},
    "rrf * cov(top)": {"kind": "rrf", "k": 60, "w": "top", "p": 1},
    "rrf * cov(top)^2": {"kind": "rrf", "k": 60, "w": "top", "p": 2},
    "rrf * cov(corpus)": {"kind": "rrf", "k": 60, "w": "corpus", "p": 1},
    "alpha=0.5 * cov(hit)": {"kind": "weighted", "alpha": 0.5, "w": "hit", "p": 1},
    "alpha=0.5 * cov(hit)^2": {"kind": "weighted", "alpha": 0.5, "w": "hit", "p": 2},
    "alpha=0.5 * cov(top)": {"kind": "weighted", "alpha": 0.5, "w": "top", "p": 1},
    "alpha=0.5 * cov(top)^2": {"kind": "weighted", "alpha": 0.5, "w": "top", "p": 2},
    "alpha=0.5 * cov(corpus)": {"kind": "weighted", "alpha": 0.5, "w": "corpus", "p": 1},
}


def twin_check(bm, rows, queries, sample=300):
    """Python BM25 top 10 vs Nestor's lexical top 10 (chunk keys, scores) on a sample of queries."""
    step = max(1, len(rows) // sample)
    same = same_set = same_scores = 0
    worst = 0.0
    n = 0
    examples = []
    for row in rows[::step][:sample]:
        q = queries[row["qid"]]
        mine = bm.search(q["text"], TOP)
        theirs = row["lexical"][:TOP]
        n += 1
        same += [k for k, _ in mine] == [k for k, _ in theirs]
        same_set += {k for k, _ in mine} == {k for k, _ in theirs}
        # Nestor breaks score ties by internal label, this port by posting order: compare scores
        same_scores += len(mine) == len(theirs) and all(abs(x[1] - y[1]) <= 1e-5 * max(y[1], 1) for x, y in zip(mine, theirs))
        # scores of Nestor's hits under the Python formula
        py = {}
        for k, _ in theirs:
            i = bm.index[k]
            s = 0.0
            w = {}
            for t in terms(q["text"]):
                if t in bm.df:
                    w[t] = w.get(t, 0) + 1
            for t, times in w.items():
                tf = bm.freqs[i].get(t, 0)
                if tf:
                    s += times * bm.idf(t) * tf * (K1 + 1) / (tf + K1 * (1 - B + B * bm.lengths[i] / bm.avg))
            py[k] = s
        for k, s in theirs:
            worst = max(worst, abs(py[k] - s) / max(s, 1e-9))
        if [k for k, _ in mine] != [k for k, _ in theirs] and len(examples) < 3:
            examples.append({"qid": row["qid"], "python": mine[:5], "nestor": theirs[:5]})
    return {"queries": n, "identical_top10_order": round(same / n, 4), "identical_top10_set": round(same_set / n, 4),
            "identical_top10_up_to_ties": round(same_scores / n, 4),
            "max_relative_score_error": worst, "examples_differing": examples}


def study(a):
    sets = load_sets(a.max_queries)
    report = {"rules": RULES, "depth": DEPTH, "fused_chunks": FUSED_CHUNKS, "top": TOP, "sets": {}}
    for name, (corpus, queries) in sets.items():
        with open(os.path.join(a.cache, f"{name}-chunks.json")) as f:
            cached = json.load(f)
        chunks = cached["chunks"]
        bm = BM25(chunks)
        with open(os.path.join(a.cache, f"{name}-lists.jsonl")) as f:
            rows = {r["qid"]: r for r in map(json.loads, f) if r}
        qmap = {q["qid"]: q for _, q in queries}
        # A fetch cut short leaves (besides whatever came first) the queries of smallest sha1(qid):
        # use the longest sha1-ordered prefix that is wholly cached, a sample spread over the set.
        ordered = sorted((q["qid"] for _, q in queries), key=sha1)
        cut = next((i for i, qid in enumerate(ordered) if qid not in rows), len(ordered))
        keep = set(ordered[:cut])
        rows = [rows[q["qid"]] for _, q in queries if q["qid"] in keep]
        print(f"{name}: {len(chunks)} chunks, {len(bm.df)} terms, {len(rows)}/{len(queries)} queries cached", file=sys.stderr)
        check = twin_check(bm, rows, qmap)
        print(f"  twin check: {check['identical_top10_up_to_ties']:.3f} identical top-10 up to tied scores, "
              f"{check['identical_top10_order']:.3f} identical top-10 order, "
              f"{check['identical_top10_set']:.3f} same set, max rel score error {check['max_relative_score_error']:.2e}", file=sys.stderr)
        per = {}  # rule -> group -> [ranks]
        covs = {}
        for row in rows:
            q = qmap[row["qid"]]
            qterms = list(dict.fromkeys(terms(q["text"])))
            dense = [tuple(x) for x in row["dense"]]
            lexical = [tuple(x) for x in row["lexical"]]
            rel = set(q["relevant"])
            if lexical:
                covs.setdefault(row["group"], []).append(bm.coverage(qterms, lexical[0][0]))
            else:
                covs.setdefault(row["group"], []).append(0.0)
            for rname, rule in RULES.items():
                docs = fuse(dense, lexical, rule, bm, qterms)
                rank = next((i + 1 for i, d in enumerate(docs) if d in rel), None)
                per.setdefault(rname, {}).setdefault(row["group"], []).append(rank)
        out = {}
        for rname, groups in per.items():
            g = {}
            for grp, ranks in groups.items():
                n = len(ranks)
                g[grp] = {"queries": n, "recall@10": round(sum(r is not None for r in ranks) / n, 4),
                          "mrr@10": round(sum(1 / r for r in ranks if r) / n, 4)}
            out[rname] = g
        report["sets"][name] = {"queries": len(rows), "of": len(queries),
                                "sample": "all" if len(rows) == len(queries) else "smallest sha1(qid)", "chunks": len(chunks), "terms": len(bm.df), "twin_check": check, "rules": out,
                                "mean_top_hit_coverage": {k: round(sum(v) / len(v), 4) for k, v in covs.items()}}
    # acceptance and summary table
    x, d = report["sets"]["xling"]["rules"], report["sets"]["debian"]["rules"]
    langs = sorted(x["dense"])
    summary = {}
    print(f"\n{'rule':26} {'debian R@10':>11} {'MRR':>6} {'dR@10':>7} | {'xling R@10':>10} {'MRR':>6} {'worst dR@10':>11} {'lang':>6} ok")
    for rname in RULES:
        deltas = {l: x[rname][l]["recall@10"] - x["dense"][l]["recall@10"] for l in langs}
        worst = min(deltas, key=deltas.get)
        xr = sum(x[rname][l]["recall@10"] for l in langs) / len(langs)
        xm = sum(x[rname][l]["mrr@10"] for l in langs) / len(langs)
        ok = deltas[worst] >= -TOLERANCE - 1e-9
        summary[rname] = {"debian_recall@10": d[rname]["all"]["recall@10"], "debian_mrr@10": d[rname]["all"]["mrr@10"],
                          "debian_gain_vs_dense": round(d[rname]["all"]["recall@10"] - d["dense"]["all"]["recall@10"], 4),
                          "xling_mean_recall@10": round(xr, 4), "xling_mean_mrr@10": round(xm, 4),
                          "xling_worst_delta": round(deltas[worst], 4), "xling_worst_lang": worst, "passes": ok}
        s = summary[rname]
        print(f"{rname:26} {s['debian_recall@10']:11.4f} {s['debian_mrr@10']:6.3f} {s['debian_gain_vs_dense']:+7.4f} | "
              f"{xr:10.4f} {xm:6.3f} {deltas[worst]:+11.4f} {worst:>6} {'PASS' if ok else 'FAIL'}")
    print(f"\nxling recall@10 per language")
    print(f"{'rule':26} " + " ".join(f"{l:>6}" for l in langs))
    for rname in RULES:
        print(f"{rname:26} " + " ".join(f"{x[rname][l]['recall@10']:6.3f}" for l in langs))
    report["summary"] = summary
    with open(a.out, "w") as f:
        json.dump(report, f, indent=1)
        f.write("\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["fetch", "study"])
    ap.add_argument("--url", default="http://127.0.0.1:8080")
    ap.add_argument("--cache", default="/tmp/fusion-cache")
    ap.add_argument("--sets", default="", help="fetch only these (comma-separated)")
    ap.add_argument("--workers", type=int, default=8)
    ap.add_argument("--max-queries", type=int, default=0)
    ap.add_argument("--out", default=os.path.join(HERE, "fusion_study.json"))
    a = ap.parse_args()
    {"fetch": fetch, "study": study}[a.what](a)


if __name__ == "__main__":
    main()
