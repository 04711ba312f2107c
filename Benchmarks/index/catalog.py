"""Real texts for the index benchmarks: the English messages and their translations in the
gettext catalogs under /usr/share/locale (every Debian machine has them), and their vectors,
embedded once with Nestor's own engine and cached outside git (~/.cache/nestor-bench)."""
import os
import random
import struct
import subprocess

import numpy as np

CACHE = os.path.expanduser(os.environ.get("NESTOR_BENCH_CACHE", "~/.cache/nestor-bench"))


def mo_strings(path):
    """Every msgid and msgstr of one compiled catalog (plural forms split apart)."""
    data = open(path, "rb").read()
    if len(data) < 20:
        return
    endian = "<" if struct.unpack("<I", data[:4])[0] == 0x950412DE else ">"
    _, n, originals, translations = struct.unpack(endian + "4I", data[4:20])
    for table in (originals, translations):
        for i in range(n):
            length, offset = struct.unpack(endian + "2I", data[table + 8 * i:table + 8 * i + 8])
            for part in data[offset:offset + length].split(b"\0"):
                yield part


def catalog_texts(root="/usr/share/locale"):
    """Distinct messages of at least three characters, whitespace collapsed, sorted."""
    seen = set()
    for folder, _, files in os.walk(root):
        for name in files:
            if not name.endswith(".mo"):
                continue
            try:
                for raw in mo_strings(os.path.join(folder, name)):
                    try:
                        text = " ".join(raw.decode("utf-8").split())
                    except UnicodeDecodeError:
                        continue
                    if len(text) >= 3 and not text.startswith("Project-Id-Version"):
                        seen.add(text)
            except (OSError, struct.error):
                continue
    return sorted(seen)


def dataset(binary, model_dir, n_base, n_queries, seed=0):
    """(paths, base, queries, truth, kth): unit float32 rows, each query's exact top-10 base
    rows and its exact 10th-best cosine score. Queries are messages not in the base. Cached per size and model."""
    model = os.path.basename(os.path.normpath(model_dir))
    folder = os.path.join(CACHE, f"catalog-{model}-{n_base}-{n_queries}-{seed}")
    os.makedirs(folder, exist_ok=True)
    paths = {k: os.path.join(folder, k) for k in ("base.txt", "queries.txt", "base.f32", "queries.f32", "truth.i32", "kth.f32")}
    if not os.path.exists(paths["queries.txt"]):
        texts = catalog_texts()
        random.Random(seed).shuffle(texts)
        if len(texts) < n_base + n_queries:
            raise SystemExit(f"only {len(texts)} catalog messages on this machine")
        with open(paths["base.txt"], "w") as f:
            f.write("\n".join(texts[:n_base]) + "\n")
        with open(paths["queries.txt"], "w") as f:
            f.write("\n".join(texts[n_base:n_base + n_queries]) + "\n")
    for part in ("base", "queries"):
        if not os.path.exists(paths[part + ".f32"]):
            subprocess.run([binary, "embed", model_dir, paths[part + ".txt"], paths[part + ".f32"] + ".tmp"], check=True)
            os.replace(paths[part + ".f32"] + ".tmp", paths[part + ".f32"])
    base = np.fromfile(paths["base.f32"], dtype=np.float32)
    queries = np.fromfile(paths["queries.f32"], dtype=np.float32)
    d = base.size // n_base
    base, queries = base.reshape(n_base, d), queries.reshape(n_queries, d)
    if not os.path.exists(paths["kth.f32"]):
        scores = queries @ base.T
        top = np.argsort(-scores, axis=1, kind="stable")[:, :10].astype(np.int32)
        top.tofile(paths["truth.i32"])
        np.take_along_axis(scores, top[:, 9:10], axis=1).astype(np.float32).ravel().tofile(paths["kth.f32"])
    truth = np.fromfile(paths["truth.i32"], dtype=np.int32).reshape(n_queries, 10)
    return paths, base, queries, truth, np.fromfile(paths["kth.f32"], dtype=np.float32)


def recall_at_10(base, query, found, kth):
    """Share of the 10 results at least as close as the exact 10th neighbour (ann-benchmarks'
    rule): messages that differ only in case or accelerator marks embed identically with an
    uncased model, and any of such tied vectors is a correct answer."""
    ids = list(dict.fromkeys(int(i) for i in found[:10] if i >= 0))
    return sum(1 for i in ids if float(base[i] @ query) >= kth - 1e-5) / 10


if __name__ == "__main__":
    import sys
    paths, base, queries, _, kth = dataset(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    print(paths, base.shape, queries.shape, kth.shape)
