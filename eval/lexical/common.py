"""Helpers shared by run.py and bm25s_compare.py (standard library only)."""
import gzip
import hashlib
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))


def call(url, path, body=None, method=None, timeout=900):
    """One JSON request; an HTTP error's JSON body is returned as it is (with its 'error')."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url + path, data=data, method=method or ("POST" if data else "GET"),
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return json.loads(r.read())
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            out = json.loads(raw)
        except ValueError:
            out = {"error": {"message": raw.decode("utf-8", "replace"), "code": str(e.code)}}
        out.setdefault("error", {"message": str(out), "code": str(e.code)})
        return out


def read_jsonl(path):
    """`path` or, when it is absent, `path + '.gz'`."""
    if not os.path.exists(path) and os.path.exists(path + ".gz"):
        path += ".gz"
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def sha1(s):
    return hashlib.sha1(s.encode("utf-8")).hexdigest()


def document_ids(url, collection):
    """Every document id in a collection (paged listing)."""
    ids, cursor = set(), None
    for _ in range(100_000):
        q = "?limit=1000" + (f"&cursor={urllib.parse.quote(cursor, safe='')}" if cursor else "")
        page = call(url, f"/documents/{urllib.parse.quote(collection, safe='')}{q}")
        if "error" in page:
            sys.exit(f"cannot list {collection}: {page['error']['message']}")
        ids.update(d["id"] for d in page["documents"])
        cursor = page.get("next_cursor")
        if not cursor:
            break
    return ids


def ensure_collection(url, name, corpus, reuse=False, batch=64, create=None, log=sys.stderr):
    """Creates `name` afresh (or, with reuse, keeps it and adds only missing documents), ingests
    `corpus` in batches of `batch` (sha1-of-id order, so a prefix is a deterministic sample),
    then waits for the background coarse-basis fit. Returns the collection's description and
    ingest statistics."""
    info = call(url, f"/collections/{name}")
    present = set()
    if reuse and "error" not in info:
        present = document_ids(url, name)
    else:
        call(url, f"/collections/{name}", method="DELETE")
        info = call(url, "/collections", {"name": name, **(create or {})})
        if "error" in info:
            sys.exit(f"cannot create {name}: {info['error']['message']}")
    todo = sorted((d for d in corpus if d["id"] not in present), key=lambda d: sha1(d["id"]))
    t0, chunks, done = time.time(), 0, 0
    for i in range(0, len(todo), batch):
        docs = [{"id": d["id"], "text": d["text"]} for d in todo[i:i + batch]]
        r = call(url, "/ingest", {"collection": name, "documents": docs})
        if "error" in r:
            sys.exit(f"ingest into {name} failed: {r['error']['message']}")
        chunks += r["chunks"]
        done += len(docs)
        if log and (i // batch) % 10 == 0:
            el = time.time() - t0
            print(f"  {name}: {len(present) + done}/{len(corpus)} documents, {done / max(el, 1e-9):.1f} docs/s, "
                  f"ETA {(len(todo) - done) / max(done / max(el, 1e-9), 1e-9) / 60:.0f} min", file=log, flush=True)
    seconds = time.time() - t0
    info = call(url, f"/collections/{name}")
    deadline = time.time() + 300
    while (info["coarse_basis"] != "pca" and info["chunks"] >= 1000 and info["coarse_dimensions"] < info["dimensions"]
           and time.time() < deadline):
        time.sleep(1)
        info = call(url, f"/collections/{name}")
    if info["documents"] != len(corpus):
        sys.exit(f"{name} holds {info['documents']} documents, expected {len(corpus)}")
    return info, {"documents_ingested": done, "chunks_ingested": chunks, "seconds": round(seconds, 1),
                  "docs_per_s": round(done / seconds, 2) if seconds > 0 and done else None}


def percentile(xs, p):
    if not xs:
        return None
    s = sorted(xs)
    return s[min(len(s) - 1, max(0, int(round(p / 100 * (len(s) - 1)))))]
