#!/usr/bin/env python3
"""Nestor's engine vs sentence-transformers on the same texts, in the same run.

    NESTOR_BENCHMARKS=1 swift build -c release --product EmbeddingBenchmark
    python3 Benchmarks/embedding/run.py [--models all-MiniLM-L6-v2,multilingual-e5-small]

Needs a Python with sentence-transformers (CPU, torch.set_num_threads(2)); not part of CI.
Texts are 20-word sentences made from the English messages of Debian's message catalogs.
"""
import argparse
import gettext
import glob
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
QUERY = "how do I copy a file to another directory on linux"  # 10 words


def sentences(n=512, words=20):
    pool = []
    for path in sorted(glob.glob("/usr/share/locale/de/LC_MESSAGES/*.mo")):
        try:
            with open(path, "rb") as f:
                catalog = gettext.GNUTranslations(f)._catalog
        except (UnicodeDecodeError, OSError):
            continue
        for k in catalog:
            if isinstance(k, str) and k:
                pool.extend(k.split())
    out, i = [], 0
    while len(out) < n and pool:
        out.append(" ".join(pool[i:i + words]))
        i = (i + words) % max(1, len(pool) - words)
    return out


def bench_st(model_dir, texts, seconds):
    import torch
    from sentence_transformers import SentenceTransformer
    torch.set_num_threads(2)
    m = SentenceTransformer(model_dir, device="cpu")
    m.encode(texts[:32])
    res = {}
    for b in (1, 8, 32, 128):
        done, i, start = 0, 0, time.perf_counter()
        while time.perf_counter() - start < seconds or done < 2 * b:
            chunk = [texts[(i + k) % len(texts)] for k in range(b)]
            i += b
            m.encode(chunk, batch_size=b)
            done += b
        res[f"batch{b}_sentences_per_s"] = done / (time.perf_counter() - start)
    lat = []
    for _ in range(60):
        t = time.perf_counter()
        m.encode([QUERY])
        lat.append((time.perf_counter() - t) * 1000)
    lat.sort()
    res["query_latency_ms_p50"] = lat[len(lat) // 2]
    res["query_latency_ms_p90"] = lat[len(lat) * 9 // 10]
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="all-MiniLM-L6-v2,multilingual-e5-small")
    ap.add_argument("--models-dir", default=os.environ.get("NESTOR_MODELS", os.path.join(ROOT, "models")))
    ap.add_argument("--seconds", type=float, default=4)
    ap.add_argument("--binary", default=os.path.join(ROOT, ".build/release/EmbeddingBenchmark"))
    args = ap.parse_args()
    texts = sentences()
    path = "/tmp/nestor-bench-texts.json"
    with open(path, "w") as f:
        json.dump(texts, f)
    for name in args.models.split(","):
        folder = os.path.join(args.models_dir, name)
        swift = json.loads(subprocess.run([args.binary, folder, path, QUERY, str(args.seconds)],
                                          check=True, capture_output=True, text=True).stdout)
        st = bench_st(folder, texts, args.seconds)
        print(f"\n{name} (20-word sentences; query = 10 words)")
        print(f"{'metric':28} {'nestor':>10} {'sent-trans':>10} {'ratio':>7}")
        for k in ("tokenizer_load_ms", "model_load_ms"):
            print(f"{k:28} {swift.pop(k):10.1f}")
        for k in swift:
            lower_is_better = "latency" in k
            ratio = (st[k] / swift[k]) if lower_is_better else (swift[k] / st[k])
            print(f"{k:28} {swift[k]:10.1f} {st[k]:10.1f} {ratio:6.2f}x")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
