#!/usr/bin/env python3
"""Builds the Debian package-description development set (a set where lexical matching matters).

    python3 eval/lexical/build_set.py [--lists DIR] [--size 15000] [--out eval/lexical]

Query = a package's one-line summary (the first line of its Description); document = its long
description (the indented lines that follow, ' .' lines as paragraph breaks); the package is the
one relevant document. Real text from this machine's apt lists:

* `apt-cache dumpavail` gives the packages apt knows (first record per name) and the
  `Description-md5` of each description;
* Debian ships the long descriptions separately, in `Translation-en` (Debian 12 images often set
  `Acquire::Languages "none"`, so there is none). When the lists lack them, fetch them into a
  private folder first, leaving the system's lists alone:

      mkdir -p /tmp/lists/partial
      apt-get update -o Acquire::Languages=en -o Dir::State::Lists=/tmp/lists
      python3 eval/lexical/build_set.py --lists /tmp/lists

  A record's own multi-line `Description` is used when the Packages file carries one.

Filtering: long descriptions shorter than --min-words words are dropped; documents are
deduplicated by their normalised text (many -dev/-doc/-data packages share one; the package with
the smallest sha1 of its name is kept); a summary that is the summary of more than one kept
document is dropped, so every query maps to exactly one document. The sample is the --size
packages with the smallest sha1(package name): deterministic, and stable as lists change.

Writes corpus.jsonl.gz (`{"id": package, "text": long description}`) and queries.jsonl.gz
(`{"qid", "text": summary, "relevant": [package]}`), gzip with mtime 0 so reruns are byte-equal.
"""
import argparse
import collections
import glob
import gzip
import hashlib
import io
import json
import os
import re
import subprocess
import sys


def run(cmd):
    return subprocess.run(cmd, check=True, stdout=subprocess.PIPE).stdout.decode("utf-8", "replace")


def stanzas(text):
    """Deb822 paragraphs as lists of (field, [value lines]) in order."""
    for block in re.split(r"\n\s*\n", text):
        fields = []
        for line in block.split("\n"):
            if not line:
                continue
            if line[0] in " \t":
                if fields:
                    fields[-1][1].append(line)
            elif ":" in line:
                k, v = line.split(":", 1)
                fields.append((k, [v.strip()]))
        if fields:
            yield dict((k, v) for k, v in fields)


def long_text(lines):
    """The extended description: ' .' is a paragraph break; lines are joined with spaces."""
    paragraphs, cur = [], []
    for line in lines:
        s = line.strip()
        if s == ".":
            if cur:
                paragraphs.append(" ".join(cur))
            cur = []
        else:
            cur.append(s)
    if cur:
        paragraphs.append(" ".join(cur))
    return "\n\n".join(p for p in paragraphs if p)


def normalise(s):
    return " ".join(re.findall(r"\w+", s.lower()))


def sha1(s):
    return hashlib.sha1(s.encode("utf-8")).hexdigest()


def read_list_file(path):
    """A (possibly compressed) apt list file, decompressed by apt itself."""
    try:
        return run(["/usr/lib/apt/apt-helper", "cat-file", path])
    except (OSError, subprocess.CalledProcessError):
        if path.endswith(".gz"):
            return gzip.open(path, "rt", encoding="utf-8", errors="replace").read()
        return open(path, encoding="utf-8", errors="replace").read()


def write_gz(path, rows):
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=9) as g:
        for r in rows:
            g.write((json.dumps(r, ensure_ascii=False) + "\n").encode("utf-8"))
    with open(path, "wb") as f:
        f.write(buf.getvalue())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lists", default="/var/lib/apt/lists", help="apt lists folder (Packages + Translation-en)")
    ap.add_argument("--size", type=int, default=15000, help="documents in the sample")
    ap.add_argument("--min-words", type=int, default=20)
    ap.add_argument("--out", default=os.path.dirname(os.path.abspath(__file__)))
    a = ap.parse_args()

    apt = ["apt-cache", "-o", f"Dir::State::Lists={a.lists}", "-o", "Dir::Cache::pkgcache=",
           "-o", "Dir::Cache::srcpkgcache="]
    packages = {}  # name -> (summary, md5, own long description lines)
    for st in stanzas(run(apt + ["dumpavail"])):
        name = st.get("Package", [""])[0]
        desc = st.get("Description") or st.get("Description-en")
        if not name or not desc or name in packages:
            continue
        packages[name] = (desc[0], st.get("Description-md5", [""])[0], desc[1:])

    translations = {}  # (name, md5) -> (summary, long lines)
    files = sorted(glob.glob(os.path.join(a.lists, "*_i18n_Translation-en*")))
    for path in files:
        for st in stanzas(read_list_file(path)):
            name, desc = st.get("Package", [""])[0], st.get("Description-en")
            if name and desc:
                translations.setdefault((name, st.get("Description-md5", [""])[0]), (desc[0], desc[1:]))
    print(f"{len(packages)} packages from dumpavail, {len(translations)} English descriptions "
          f"from {len(files)} Translation-en files", file=sys.stderr)
    if not translations and not any(p[2] for p in packages.values()):
        sys.exit("no long descriptions: fetch Translation-en first (see --help)")

    stats = collections.Counter()
    candidates = {}  # name -> (summary, text)
    for name, (summary, md5, own) in packages.items():
        lines = own
        if not lines:
            t = translations.get((name, md5))
            if t is None:
                stats["no long description"] += 1
                continue
            summary, lines = t[0] or summary, t[1]
        text = long_text(lines)
        summary = " ".join(summary.split())
        if len(text.split()) < a.min_words:
            stats[f"under {a.min_words} words"] += 1
            continue
        if not summary:
            stats["no summary"] += 1
            continue
        candidates[name] = (summary, text)

    # One document per normalised text: the package with the smallest sha1 keeps it.
    by_text = {}
    for name in sorted(candidates, key=sha1):
        key = normalise(candidates[name][1])
        if key in by_text:
            stats["duplicate long description"] += 1
        else:
            by_text[key] = name
    kept = set(by_text.values())
    # A summary shared by several kept documents is ambiguous as a query: drop it everywhere.
    owners = collections.Counter(normalise(candidates[n][0]) for n in kept)
    unique = [n for n in kept if owners[normalise(candidates[n][0])] == 1]
    stats["ambiguous summary"] = len(kept) - len(unique)
    sample = sorted(unique, key=sha1)[:a.size]
    for k, v in sorted(stats.items()):
        print(f"dropped {v:6d}: {k}", file=sys.stderr)
    print(f"{len(unique)} eligible, {len(sample)} sampled", file=sys.stderr)

    sample.sort()
    os.makedirs(a.out, exist_ok=True)
    write_gz(os.path.join(a.out, "corpus.jsonl.gz"), ({"id": n, "text": candidates[n][1]} for n in sample))
    write_gz(os.path.join(a.out, "queries.jsonl.gz"),
             ({"qid": n, "text": candidates[n][0], "relevant": [n]} for n in sample))
    words = sorted(len(candidates[n][1].split()) for n in sample)
    print(f"document words: median {words[len(words) // 2]}, p90 {words[int(len(words) * .9)]}, "
          f"max {words[-1]}; wrote {a.out}/corpus.jsonl.gz and queries.jsonl.gz", file=sys.stderr)


if __name__ == "__main__":
    main()
