#!/usr/bin/env python3
"""Nestor's lexical ranking (`mode: lexical`) against the `bm25s` package, same corpus, same terms.

    pip install bm25s numpy
    python3 eval/lexical/bm25s_compare.py --url http://127.0.0.1:8080 [--sqlite data/nestor.sqlite]

1. Makes sure the Debian collection holds the whole corpus (ingesting what is missing, as run.py
   does; `--collection`), and reads every chunk's text back (GET /documents/{c}/{id}): Nestor
   indexes chunks, so bm25s gets the same chunks.
2. Terms: analyzer.py is a port of Sources/Lexical/Analyzer.swift. It is checked against what
   Nestor indexed in two ways: with --sqlite (read-only), every chunk's stored term list
   (chunks.terms → lexical_terms) must equal the port's term frequencies of the chunk text; over
   HTTP, for a sample of terms that analyse to themselves, a lexical search for the single term
   must return exactly the chunks the port says contain it, with BM25 scores equal to the
   formula's (df, tf and length from the port's analysis).
3. bm25s (method "lucene", k1 1.2, b 0.75) indexes the port's terms of every chunk; each query
   (the port's terms) takes the top 40 chunks, one hit per document, top 10 — what Nestor's
   group_by_document does. Reports recall@10 and MRR@10 of both, top-10 overlap, identical
   rankings, and how far Nestor's scores are from bm25s's for the same chunks.
Writes bm25s_results.json beside this file.
"""
import argparse
import json
import math
import os
import random
import sqlite3
import struct
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from analyzer import frequencies, terms  # noqa: E402
from common import HERE, call, ensure_collection, percentile, read_jsonl  # noqa: E402

K1, B = 1.2, 0.75


def check_sqlite(path, collection, chunks):
    """Every stored chunk's (term, tf) list against the port's analysis of the same text."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    table = dict(db.execute("SELECT id, term FROM lexical_terms WHERE collection = ?", (collection,)))
    n = bad = 0
    examples = []
    for text, blob in db.execute("SELECT text, terms FROM chunks WHERE collection = ?", (collection,)):
        stored = {}
        for i in range(0, len(blob or b""), 6):
            term_id, tf = struct.unpack_from("<IH", blob, i)
            stored[table[term_id]] = tf
        mine = frequencies(text)
        n += 1
        if stored != mine:
            bad += 1
            if len(examples) < 5:
                examples.append({"text": text[:200],
                                 "only_nestor": {k: v for k, v in stored.items() if mine.get(k) != v},
                                 "only_port": {k: v for k, v in mine.items() if stored.get(k) != v}})
    db.close()
    if n != len(chunks):
        print(f"warning: SQLite has {n} chunks for {collection}, HTTP {len(chunks)}", file=sys.stderr)
    return {"chunks_compared": n, "chunks_differing": bad, "stored_terms": len(table), "examples": examples}


def check_http(url, collection, chunk_terms, chunk_keys, sample, seed=1):
    """Single-term lexical searches: the hit set and scores must be what the port's terms imply."""
    df, postings = {}, {}
    lengths = [sum(f.values()) for f in chunk_terms]
    for i, f in enumerate(chunk_terms):
        for t, tf in f.items():
            df[t] = df.get(t, 0) + 1
            postings.setdefault(t, []).append((i, tf))
    n, avg = len(chunk_terms), sum(lengths) / len(chunk_terms)
    usable = sorted(t for t, d in df.items() if d <= 1000 and terms(t) == [t])
    rng = random.Random(seed)
    picked = rng.sample(usable, min(sample, len(usable)))
    # Plus the most frequent ones that fit in one page, where ranking by length matters most.
    picked += sorted((t for t in usable if t not in set(picked)), key=lambda t: -df[t])[:20]
    mismatched_sets = mismatched_scores = 0
    worst = 0.0
    examples = []
    for t in picked:
        r = call(url, "/search", {"collection": collection, "query": t, "mode": "lexical", "top_k": 1000, "include": [],
                                          # the server validates its default dense depth (40 x top_k) even in lexical mode
                                          "rerank_depth": 0})
        if "error" in r:
            sys.exit(f"lexical search for {t!r} failed: {r['error']['message']}")
        got = {h["id"]: h["score"] for h in r["hits"]}
        idf = math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5))
        want = {chunk_keys[i]: idf * tf * (K1 + 1) / (tf + K1 * (1 - B + B * lengths[i] / avg)) for i, tf in postings[t]}
        if set(got) != set(want):
            mismatched_sets += 1
            if len(examples) < 5:
                examples.append({"term": t, "only_nestor": sorted(set(got) - set(want))[:5],
                                 "only_port": sorted(set(want) - set(got))[:5]})
            continue
        d = max(abs(got[k] - want[k]) / max(want[k], 1e-9) for k in got)
        worst = max(worst, d)
        if d > 1e-4:
            mismatched_scores += 1
    return {"terms_checked": len(picked), "hit_sets_differing": mismatched_sets, "scores_differing": mismatched_scores,
            "max_relative_score_error": worst, "examples": examples}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", default="http://127.0.0.1:8080")
    ap.add_argument("--data", default=HERE)
    ap.add_argument("--collection", default="lexical-debian")
    ap.add_argument("--sqlite", help="the server's SQLite file, read-only: compare every stored term list")
    ap.add_argument("--sample-terms", type=int, default=300)
    ap.add_argument("--out", default=os.path.join(HERE, "bm25s_results.json"))
    a = ap.parse_args()
    import bm25s
    import numpy as np

    corpus = read_jsonl(os.path.join(a.data, "corpus.jsonl"))
    queries = read_jsonl(os.path.join(a.data, "queries.jsonl"))
    info, _ = ensure_collection(a.url, a.collection, corpus, reuse=True)
    t0 = time.time()
    chunk_keys, chunk_docs, chunk_texts = [], [], []
    for d in sorted(corpus, key=lambda d: d["id"]):
        r = call(a.url, f"/documents/{urllib.parse.quote(a.collection, safe='')}/{urllib.parse.quote(d['id'], safe='')}")
        if "error" in r:
            sys.exit(f"cannot read {d['id']}: {r['error']['message']}")
        for c in r["chunks"]:
            chunk_keys.append(f"{d['id']}#{c['index']}")
            chunk_docs.append(d["id"])
            chunk_texts.append(c["text"])
    print(f"{len(corpus)} documents, {len(chunk_texts)} chunks read back in {time.time() - t0:.0f} s", file=sys.stderr)
    chunk_terms = [frequencies(t) for t in chunk_texts]
    key_index = {k: i for i, k in enumerate(chunk_keys)}
    doc_chunks = {}
    for k, dd in zip(chunk_keys, chunk_docs):
        doc_chunks.setdefault(dd, []).append(k)
    report = {"collection": a.collection, "documents": len(corpus), "chunks": len(chunk_texts), "queries": len(queries),
              "bm25s_version": bm25s.__version__, "k1": K1, "b": B}
    if a.sqlite:
        report["sqlite_check"] = check_sqlite(a.sqlite, a.collection, chunk_texts)
        print(f"sqlite term lists: {report['sqlite_check']['chunks_differing']} of "
              f"{report['sqlite_check']['chunks_compared']} chunks differ", file=sys.stderr)
    report["http_check"] = check_http(a.url, a.collection, chunk_terms, chunk_keys, a.sample_terms)
    print(f"single-term searches: {report['http_check']}", file=sys.stderr)

    tokens = [terms(t) for t in chunk_texts]
    retriever = bm25s.BM25(method="lucene", k1=K1, b=B)
    retriever.index(tokens, show_progress=False)
    vocab = retriever.vocab_dict
    depth = min(40, len(tokens))

    nestor_ranks, bm25s_ranks, overlaps, same_set, same_order, same_top1 = [], [], [], 0, 0, 0
    score_err, latency = [], []
    empty = same_up_to_ties = 0
    for q in queries:
        rel = set(q["relevant"])
        t = time.perf_counter()
        r = call(a.url, "/search", {"collection": a.collection, "query": q["text"], "mode": "lexical", "top_k": 10,
                                    "include": [], "group_by_document": True})
        latency.append((time.perf_counter() - t) * 1000)
        if "error" in r:
            sys.exit(f"lexical search failed for {q['qid']}: {r['error']['message']}")
        nestor = [h["document_id"] for h in r["hits"]]
        qt = [x for x in terms(q["text"]) if x in vocab]
        mine = []
        if qt:
            scores = retriever.get_scores(qt)
            top = np.argsort(-scores, kind="stable")[:depth]
            for i in top:
                if scores[i] <= 0:
                    break
                if chunk_docs[i] not in mine:
                    mine.append(chunk_docs[i])
                if len(mine) == 10:
                    break
            # bm25s's "lucene" scores leave out BM25's constant (k1 + 1) factor, as Lucene 8+ does.
            for h in r["hits"]:
                want = (K1 + 1) * float(scores[key_index[h["id"]]])
                score_err.append(abs(h["score"] - want) / max(want, 1e-9))
            best = {}
            for i in top:
                best.setdefault(chunk_docs[i], float(scores[i]))
            for dd in nestor:  # a document beyond bm25s's depth: its best chunk's score
                if dd not in best:
                    best[dd] = max(float(scores[key_index[k]]) for k in doc_chunks[dd])
            sa, sb = [best[dd] for dd in nestor], [best[dd] for dd in mine]
            same_up_to_ties += len(sa) == len(sb) and all(abs(x - y) <= 1e-5 * max(abs(y), 1) for x, y in zip(sa, sb))
        else:
            empty += 1
            same_up_to_ties += not nestor
        nestor_ranks.append(next((i + 1 for i, d in enumerate(nestor) if d in rel), None))
        bm25s_ranks.append(next((i + 1 for i, d in enumerate(mine) if d in rel), None))
        if nestor or mine:
            overlaps.append(len(set(nestor) & set(mine)) / max(len(nestor), len(mine)))
        same_set += set(nestor) == set(mine)
        same_order += nestor == mine
        same_top1 += nestor[:1] == mine[:1]
    n = len(queries)

    def metrics(ranks):
        return {"recall@10": round(sum(r is not None for r in ranks) / n, 4), "mrr@10": round(sum(1 / r for r in ranks if r) / n, 4)}

    report.update({
        "nestor_lexical": metrics(nestor_ranks), "bm25s_lucene": metrics(bm25s_ranks),
        "top10_overlap_mean": round(sum(overlaps) / len(overlaps), 4),
        "identical_top10_set": round(same_set / n, 4), "identical_top10_order": round(same_order / n, 4),
        "identical_top1": round(same_top1 / n, 4),
        "identical_top10_up_to_ties": round(same_up_to_ties / n, 4),
        "queries_without_known_terms": empty,
        "score_relative_error": {"max": max(score_err) if score_err else None, "p99": percentile(score_err, 99)},
        "nestor_lexical_latency_ms": {"p50": round(percentile(latency, 50), 2), "p99": round(percentile(latency, 99), 2)},
        "disagreeing_queries": sum(1 for x, y in zip(nestor_ranks, bm25s_ranks) if (x is None) != (y is None)),
    })
    print(f"\n{'':14} {'recall@10':>9} {'MRR@10':>7}")
    for name, key in (("Nestor lexical", "nestor_lexical"), ("bm25s lucene", "bm25s_lucene")):
        print(f"{name:14} {report[key]['recall@10']:9.3f} {report[key]['mrr@10']:7.3f}")
    print(f"top-10 overlap {report['top10_overlap_mean']:.3f}; identical top-10 set {report['identical_top10_set']:.3f}, "
          f"order {report['identical_top10_order']:.3f} ({report['identical_top10_up_to_ties']:.3f} up to tied scores), "
          f"top-1 {report['identical_top1']:.3f}; "
          f"score relative error max {report['score_relative_error']['max']}")
    with open(a.out, "w") as f:
        json.dump(report, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
