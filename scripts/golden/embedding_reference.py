#!/usr/bin/env python3
"""Reference vectors from sentence-transformers 6 (on transformers 5) for the golden strings.

Usage: python3 scripts/golden/embedding_reference.py [--all] [--out DIR] NAME=MODEL_FOLDER ...
For each model, encodes strings of Tests/TokenizationTests/Fixtures/golden/strings.json with
`SentenceTransformer(folder).encode` (no prompt, the model's own max_seq_length and pooling) and
writes DIR/NAME.json: the string indices, the dimension, and the vectors as little-endian float16
in base64 (f16 rounding costs under 1e-7 of cosine). Without --all it keeps a subset small enough
to commit (every white-space case, every 3rd random-code-point string, every 30th real text and
every string whose transformers 5 ids differ from tokenizer.json's for that model); with --all,
every string, for a full offline measurement (NESTOR_EMBEDDING_REFERENCE=DIR for the Swift test).
A folder without tokenizer.json (tiny-xlmr) borrows the XLM-R fixture tokenizer.
"""
import argparse
import base64
import json
import os
import shutil
import sys
import tempfile

import numpy as np
import sentence_transformers
import torch
import transformers
from sentence_transformers import SentenceTransformer

GOLDEN = "Tests/TokenizationTests/Fixtures/golden"
XLMR_TOKENIZER = "Tests/TokenizationTests/Fixtures/xlmr-unigram.tokenizer.json"
TEXTS = 6000


def subset(strings, golden_name):
    n = len(strings)
    random_start = n - 1300
    keep = set(range(0, TEXTS, 30)) | set(range(TEXTS, random_start)) | set(range(random_start, n, 3))
    path = f"{GOLDEN}/{golden_name}.json" if golden_name else None
    if path and os.path.exists(path):
        g = json.load(open(path))
        for k, v in g["transformers"]["single"].items():
            if v[0] != g["single"][int(k)][0]:
                keep.add(int(k))
    return sorted(keep)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--all", action="store_true")
    ap.add_argument("--out", default="Tests/EmbeddingModelTests/Fixtures/embedding-reference")
    ap.add_argument("specs", nargs="+")
    args = ap.parse_args()
    torch.manual_seed(0)
    strings = json.load(open(f"{GOLDEN}/strings.json"))["strings"]
    os.makedirs(args.out, exist_ok=True)
    golden_for = {"all-MiniLM-L6-v2": "all-minilm-l6-v2", "multilingual-e5-small": "multilingual-e5-small"}
    for spec in args.specs:
        name, folder = spec.split("=", 1)
        scratch = None
        if not os.path.exists(os.path.join(folder, "tokenizer.json")):
            scratch = tempfile.mkdtemp()
            shutil.copytree(folder, scratch, dirs_exist_ok=True)
            shutil.copy(XLMR_TOKENIZER, os.path.join(scratch, "tokenizer.json"))
            folder = scratch
        model = SentenceTransformer(folder, device="cpu")
        idx = list(range(len(strings))) if args.all else subset(strings, golden_for.get(name))
        vecs = model.encode([strings[i] for i in idx], batch_size=32, convert_to_numpy=True)
        vecs = np.asarray(vecs, dtype=np.float32)
        blob = base64.b64encode(vecs.astype("<f2").tobytes()).decode()
        with open(os.path.join(args.out, f"{name}.json"), "w") as f:
            json.dump({"model": name, "count": len(idx), "dimensions": int(vecs.shape[1]), "indices": idx,
                       "versions": {"sentence_transformers": sentence_transformers.__version__,
                                    "transformers": transformers.__version__, "torch": torch.__version__},
                       "vectors_f16": blob}, f, separators=(",", ":"))
        print(f"{name}: {len(idx)} vectors of {vecs.shape[1]}", file=sys.stderr)
        if scratch:
            shutil.rmtree(scratch)


if __name__ == "__main__":
    main()
