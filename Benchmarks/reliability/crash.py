#!/usr/bin/env python3
"""SIGKILL campaign through HTTP: clients ingest new documents, upsert earlier ones (same id,
new text, new chunk count) and delete some, while `nestor serve` is killed with SIGKILL at
random moments and restarted on the same SQLite file.

    NESTOR_BIN=/path/to/nestor python3 Benchmarks/reliability/crash.py [--kills 50] [--clients 3]

Each client owns its ids and sends one request at a time, so what it was told (a 200) defines
the state exactly: id -> (text, metadata, chunk count), or deleted. The one request a client
had in flight when the kill came may have committed or not: its documents must then be all in
the old state or all in the new one (a batch is atomic), never partial (missing chunks, chunks of
another version) or mixed. After every restart:

  * every id ever written is read back with GET /documents/{c}/{id}: text, metadata and chunk
    count as acknowledged, deleted ids 404, chunks numbered 0..n-1 with contiguous token spans
    and each a slice of the document's text;
  * the SQLite file itself (documents, chunks) holds exactly the expected ids, texts, metadata
    and chunk counts, and no chunk without its document;
  * GET /collections/{c} counts the expected documents;
  * `nestor debug verify` on a copy of the file as the kill left it (taken before the restart)
    reports the stored graph intact, verified, and covering exactly the stored chunks.

Start-up is timed from process start to the first /health 200. Results:
Benchmarks/reliability/crash-results.json.
"""
import argparse
import json
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import Client, Server, binary_info, nestor_binary, paragraph_text, sentences, write_json  # noqa: E402

COLLECTION = "crash"
MAX_TOKENS = (12, 16, 24, 32, 48, 96)
# Paragraphs per version: many one-paragraph documents keep requests short, so more of the
# kills land while a batch is being written rather than embedded.
PARAGRAPHS = (1, 1, 1, 2, 3, 4)


class Writer(threading.Thread):
    """One client: its own ids `w{k}-{n}`, one request at a time. `state[id]` is the acknowledged
    (text, metadata, chunks) or None once a delete was acknowledged. `pending` is the request a
    connection error interrupted: whether it was applied is decided after the restart."""

    def __init__(self, k, port, rng, pool, acked=None):
        super().__init__(daemon=True)
        self.acked = acked or threading.Event()
        self.k, self.port, self.rng, self.pool = k, port, rng, pool
        self.state = {}
        self.n = 0
        self.versions = {}
        self.pending = None
        self.stop = threading.Event()
        self.acked_docs = self.acked_deletes = 0
        self.errors = []
        self.error_at = None
        self.requests = 0

    def live(self):
        return [i for i, s in self.state.items() if s is not None]

    def new_version(self, doc_id):
        v = self.versions.get(doc_id, 0) + 1
        self.versions[doc_id] = v
        text = paragraph_text(self.rng, self.pool, f"{doc_id}.v{v}", self.rng.choice(PARAGRAPHS))
        meta = {"writer": self.k, "version": v, "lang": self.rng.choice(["de", "en", "fr", "ja", "ru", "zh"]),
                "tags": self.rng.sample(["a", "b", "c", "d"], self.rng.randint(0, 3))}
        return {"id": doc_id, "text": text, "metadata": meta}

    def next_op(self):
        live = self.live()
        r = self.rng.random()
        if live and r < 0.2:
            doc_id = self.rng.choice(live)
            return {"kind": "delete", "id": doc_id, "old": {doc_id: self.state[doc_id]}}
        ids = []
        if live and r < 0.55:
            ids += self.rng.sample(live, min(len(live), self.rng.randint(1, 3)))
        if not ids or self.rng.random() < 0.3:
            for _ in range(self.rng.randint(1, 2)):
                self.n += 1
                ids.append(f"w{self.k}-{self.n}")
        docs = [self.new_version(i) for i in ids]
        return {"kind": "ingest", "docs": docs, "old": {i: self.state.get(i) for i in ids},
                "chunking": {"max_tokens": self.rng.choice(MAX_TOKENS)}}

    def run(self):
        client = Client(self.port, timeout=120)
        try:
            while not self.stop.is_set():
                op = self.next_op()
                self.requests += 1
                try:
                    if op["kind"] == "delete":
                        status, body = client.call("DELETE", f"/documents/{COLLECTION}/{op['id']}")
                    else:
                        status, body = client.call("POST", "/ingest", {"collection": COLLECTION, "documents": op["docs"],
                                                                       "chunking": op["chunking"]})
                except Exception:  # noqa: BLE001 — reset, refused, timeout: unknown whether applied
                    self.pending = op
                    self.error_at = time.time()
                    return
                if status != 200:
                    # An error reply means nothing was applied; it is still a server fault here.
                    self.errors.append({"op": op["kind"], "status": status, "body": body})
                    continue
                self.acked.set()
                if op["kind"] == "delete":
                    self.state[op["id"]] = None
                    self.acked_deletes += 1
                else:
                    got = {d["id"]: d["chunks"] for d in body["documents"]}
                    for d in op["docs"]:
                        self.state[d["id"]] = (d["text"], d["metadata"], got[d["id"]])
                        self.acked_docs += 1
        finally:
            client.close()


def check_chunks(doc):
    """Partial or mixed documents: chunks 0..n-1, contiguous token spans, each a slice of the text,
    and every paragraph's tag present."""
    chunks = doc.get("chunks") or []
    if not chunks:
        return "no chunks"
    if [c["index"] for c in chunks] != list(range(len(chunks))):
        return f"chunk indices {[c['index'] for c in chunks]}"
    if chunks[0]["token_start"] != 0 or any(a["token_end"] != b["token_start"] for a, b in zip(chunks, chunks[1:])):
        return "token spans not contiguous"
    text = doc["text"]
    for c in chunks:
        if c["text"] not in text:
            return f"chunk {c['index']} is not part of the text: {c['text'][:80]!r}"
    # Chunks are token spans: the white space between two chunks belongs to neither, so a tag
    # cut at its inner space ("[w0-13.v1" | "p1]") is compared without white space.
    joined = "".join("".join(c["text"] for c in chunks).split())
    for line in text.split("\n\n"):
        tag = line.split("]")[0] + "]"
        if "".join(tag.split()) not in joined:
            return f"paragraph {tag} is in no chunk"
    return None


def classify(observed, old, new):
    """'old' / 'new' / a description of what is wrong. `observed` is the GET body or None (404);
    `old` an acknowledged (text, metadata, chunks) or None; `new` the request's document or None
    (a delete)."""
    def same(state):
        if state is None:
            return observed is None
        return (observed is not None and observed["text"] == state[0] and observed["metadata"] == state[1]
                and len(observed["chunks"]) == state[2])
    if same(old):
        return "old"
    if new is None:
        return "new" if observed is None else "neither old nor deleted"
    if observed is not None and observed["text"] == new["text"] and observed["metadata"] == new["metadata"]:
        return "new"
    if observed is None:
        return "absent"
    return "neither old nor new"


def sqlite_snapshot(path):
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        docs = {i: (t, json.loads(m)) for i, t, m in con.execute(
            "SELECT id, text, metadata FROM documents WHERE collection = ?", (COLLECTION,))}
        chunks = {}
        for doc, n, lo, hi in con.execute("""SELECT document_id, COUNT(*), MIN(ordinal), MAX(ordinal) FROM chunks
                                             WHERE collection = ? GROUP BY document_id""", (COLLECTION,)):
            chunks[doc] = (n, lo, hi)
    finally:
        con.close()
    return docs, chunks


def copy_store(db, dest_dir):
    os.makedirs(dest_dir, exist_ok=True)
    dest = os.path.join(dest_dir, "copy.sqlite")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(dest + suffix):
            os.remove(dest + suffix)
        if os.path.exists(db + suffix):
            shutil.copyfile(db + suffix, dest + suffix)
    return dest


def verify_graph(binary, db):
    out = subprocess.run([binary, "debug", "verify", "--db", db, "--collection", COLLECTION],
                         capture_output=True, text=True, timeout=300)
    if out.returncode != 0:
        return None, f"debug verify exited {out.returncode}: {out.stderr.strip()[-500:]}"
    report = json.loads(out.stdout.strip().splitlines()[-1])
    problems = []
    if not report.get("intact"):
        problems.append("stored graph not intact (rebuilt on load)")
    if not report.get("verified"):
        problems.append("graph verify failed")
    if report.get("chunks") != report.get("chunks_in_graph"):
        problems.append("chunks missing from the graph")
    if "graph_live" in report and report["graph_live"] != report.get("chunks"):
        problems.append("graph live nodes != chunks")
    # Servers with a lexical (BM25) index report it too: every chunk's terms, no more.
    for key in ("lexical_chunks", "lexical_live"):
        if key in report and report[key] != report.get("chunks"):
            problems.append(f"{key} {report[key]} != chunks {report.get('chunks')}")
    return report, "; ".join(problems) or None


def campaign(binary, kills, workdir, seed=1, clients=3, phase=(0.5, 4.0), log=print, time_limit=None, require_ack=False):
    """`require_ack`: no kill before some request of the phase was acknowledged (at most 30 s
    more), so a short campaign on a slow machine still checks acknowledged writes."""
    rng = random.Random(seed)
    pool = sentences()
    db = os.path.join(workdir, "crash.sqlite")
    server_log = os.path.join(workdir, "server.log")
    t_start = time.time()
    server = Server(binary, db, server_log)
    startups = [server.started_s]
    c = Client(server.port)
    status, body = c.call("POST", "/collections", {"name": COLLECTION})
    c.close()
    if status not in (200, 201):
        raise RuntimeError(f"POST /collections: {status} {body}")
    writers_state = [dict() for _ in range(clients)]
    writers_n = [0] * clients
    writers_versions = [dict() for _ in range(clients)]
    totals = {"acked_docs": 0, "acked_deletes": 0, "requests": 0, "inflight": 0, "inflight_applied": 0,
              "inflight_not_applied": 0, "error_replies": 0, "disconnects_before_kill": 0}
    lost, wrong, graph_problems, error_replies, rounds = [], [], [], [], []
    done = 0
    for kill_no in range(kills):
        if time_limit and time.time() - t_start > time_limit:
            log(f"time limit reached after {done} kills")
            break
        writers, acked = [], threading.Event()
        for k in range(clients):
            w = Writer(k, server.port, random.Random(rng.random()), pool, acked)
            w.state, w.n, w.versions = writers_state[k], writers_n[k], writers_versions[k]
            writers.append(w)
        for w in writers:
            w.start()
        wait = rng.uniform(*phase)
        time.sleep(wait)
        if require_ack:
            acked.wait(30)
        # Half the kills come 0-30 ms after some client's 200: its next request (often a
        # delete, which embeds nothing) is then being written, so more kills land in a commit.
        after_ack = rng.random() < 0.5
        if after_ack:
            acked.clear()
            acked.wait(10)
            time.sleep(rng.uniform(0, 0.03))
        t_kill = time.time()
        server.kill()
        for w in writers:
            w.stop.set()
        for w in writers:
            w.join(timeout=150)
            if w.is_alive():
                raise RuntimeError(f"writer {w.k} did not stop")
        done += 1
        round_info = {"kill": kill_no + 1, "after_s": round(wait, 3), "after_ack": after_ack,
                      "requests": sum(w.requests for w in writers)}
        for w in writers:
            writers_n[w.k] = w.n
            totals["acked_docs"] += w.acked_docs
            totals["acked_deletes"] += w.acked_deletes
            totals["requests"] += w.requests
            totals["error_replies"] += len(w.errors)
            error_replies += [{"kill": kill_no + 1, **e} for e in w.errors[:5]]
            if w.pending and w.error_at is not None and w.error_at < t_kill - 0.05:
                totals["disconnects_before_kill"] += 1
        # The stored graph as the kill left it, before a restart can repair anything.
        report, problem = verify_graph(binary, copy_store(db, os.path.join(workdir, "verify")))
        round_info["verify"] = report
        if problem:
            graph_problems.append({"kill": kill_no + 1, "problem": problem, "report": report})
        server = Server(binary, db, server_log, port=None)
        startups.append(server.started_s)
        round_info["startup_s"] = round(server.started_s, 3)
        # Read back everything ever written.
        c = Client(server.port)

        def get(doc_id):
            status, body = c.call("GET", f"/documents/{COLLECTION}/{doc_id}")
            if status == 404:
                return None
            if status != 200:
                raise RuntimeError(f"GET {doc_id}: {status} {body}")
            return body

        applied = not_applied = 0
        for w in writers:
            op = w.pending
            if op is not None:
                totals["inflight"] += 1
                new_by_id = {d["id"]: d for d in op.get("docs", [])}
                verdicts = {}
                for doc_id, old in op["old"].items():
                    observed = get(doc_id)
                    verdict = classify(observed, old, new_by_id.get(doc_id))
                    if verdict == "absent" and old is None:
                        verdict = "old"
                    if verdict == "new" and observed is not None:
                        partial = check_chunks(observed)
                        if partial:
                            verdict = f"partial: {partial}"
                    verdicts[doc_id] = (verdict, observed)
                kinds = {v for v, _ in verdicts.values()}
                if kinds == {"old"}:
                    not_applied += 1
                elif kinds == {"new"}:
                    applied += 1
                    for doc_id, (_, observed) in verdicts.items():
                        d = new_by_id.get(doc_id)
                        w.state[doc_id] = None if d is None else (d["text"], d["metadata"], len(observed["chunks"]))
                else:
                    wrong.append({"kill": kill_no + 1, "in_flight": op["kind"],
                                  "verdicts": {i: v for i, (v, _) in verdicts.items()}})
                    # Take what is there as the new truth, so one fault is reported once.
                    for doc_id, (_, observed) in verdicts.items():
                        w.state[doc_id] = None if observed is None else (observed["text"], observed["metadata"],
                                                                         len(observed["chunks"]))
                w.pending = None
        totals["inflight_applied"] += applied
        totals["inflight_not_applied"] += not_applied
        round_info["inflight_applied"], round_info["inflight_not_applied"] = applied, not_applied
        expected = {}
        for w in writers:
            for doc_id, s in w.state.items():
                observed = get(doc_id)
                if s is None:
                    if observed is not None:
                        wrong.append({"kill": kill_no + 1, "id": doc_id, "problem": "deleted document is back"})
                        w.state[doc_id] = (observed["text"], observed["metadata"], len(observed["chunks"]))
                        expected[doc_id] = w.state[doc_id]
                    continue
                if observed is None:
                    lost.append({"kill": kill_no + 1, "id": doc_id, "chunks": s[2]})
                    w.state[doc_id] = None  # reported once; from now on it is expected absent
                    continue
                problems = []
                if observed["text"] != s[0]:
                    problems.append("text")
                if observed["metadata"] != s[1]:
                    problems.append("metadata")
                if len(observed["chunks"]) != s[2]:
                    problems.append(f"chunks {len(observed['chunks'])} != {s[2]}")
                partial = check_chunks(observed)
                if partial:
                    problems.append(partial)
                if problems:
                    wrong.append({"kill": kill_no + 1, "id": doc_id, "problem": ", ".join(problems)})
                    s = w.state[doc_id] = (observed["text"], observed["metadata"], len(observed["chunks"]))
                expected[doc_id] = s
        status, info = c.call("GET", f"/collections/{COLLECTION}")
        if status != 200 or info.get("documents") != len(expected):
            wrong.append({"kill": kill_no + 1, "problem": f"collection counts {info.get('documents') if info else None} documents, expected {len(expected)}"})
        c.close()
        # The file itself: exactly the expected documents, each with its chunks 0..n-1.
        docs, chunks = sqlite_snapshot(db)
        extra = set(docs) - set(expected)
        if extra:
            wrong.append({"kill": kill_no + 1, "problem": f"{len(extra)} unexpected documents in SQLite", "ids": sorted(extra)[:10]})
        orphans = set(chunks) - set(docs)
        if orphans:
            wrong.append({"kill": kill_no + 1, "problem": f"chunks without a document: {sorted(orphans)[:10]}"})
        for doc_id, s in expected.items():
            if doc_id not in docs:
                if not any(x.get("id") == doc_id for x in lost):
                    lost.append({"kill": kill_no + 1, "id": doc_id, "where": "sqlite"})
                continue
            text, meta = docs[doc_id]
            n, lo, hi = chunks.get(doc_id, (0, None, None))
            if text != s[0] or meta != s[1] or n != s[2] or lo != 0 or hi != n - 1:
                wrong.append({"kill": kill_no + 1, "id": doc_id, "problem": f"SQLite row differs (chunks {n}, ordinals {lo}..{hi})"})
        round_info["documents"] = len(expected)
        round_info["chunks"] = sum(s[2] for s in expected.values())
        rounds.append(round_info)
        log(f"kill {kill_no + 1:3d} after {wait:4.2f} s: {round_info['requests']:3d} requests, in flight applied {applied} "
            f"/ not {not_applied}, restart {server.started_s:5.2f} s, {len(expected)} documents, {round_info['chunks']} chunks, "
            f"lost {len(lost)}, wrong {len(wrong)}, graph problems {len(graph_problems)}")
    server.stop()
    ups = startups[1:]
    return {
        "binary": binary_info(binary),
        "kills": done, "clients": clients, "seed": seed, "phase_s": list(phase),
        "acked_writes": totals["acked_docs"] + totals["acked_deletes"],
        "acked_documents": totals["acked_docs"], "acked_deletes": totals["acked_deletes"],
        "requests": totals["requests"], "in_flight_at_kill": totals["inflight"],
        "in_flight_applied": totals["inflight_applied"], "in_flight_not_applied": totals["inflight_not_applied"],
        "error_replies": totals["error_replies"], "disconnects_before_kill": totals["disconnects_before_kill"],
        "lost": len(lost), "wrong": len(wrong), "graph_problems": len(graph_problems),
        "first_start_s": round(startups[0], 3),
        "startup_s": {"min": round(min(ups), 3), "median": round(statistics.median(ups), 3), "max": round(max(ups), 3)} if ups else None,
        "final_documents": rounds[-1]["documents"] if rounds else 0, "final_chunks": rounds[-1]["chunks"] if rounds else 0,
        "seconds": round(time.time() - t_start, 1),
        "lost_detail": lost[:50], "wrong_detail": wrong[:50], "graph_detail": graph_problems[:20],
        "error_reply_detail": error_replies[:20], "rounds": rounds,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kills", type=int, default=50)
    ap.add_argument("--clients", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--min-wait", type=float, default=0.5, help="shortest time clients run before a kill (s)")
    ap.add_argument("--max-wait", type=float, default=4.0)
    ap.add_argument("--workdir", help="keep the SQLite file and server log here (default: a temporary folder)")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "crash-results.json"))
    args = ap.parse_args()
    binary = nestor_binary()
    workdir = args.workdir or tempfile.mkdtemp(prefix="nestor-crash-")
    os.makedirs(workdir, exist_ok=True)
    print(f"binary {binary_info(binary)}; workdir {workdir}", flush=True)
    r = campaign(binary, args.kills, workdir, seed=args.seed, clients=args.clients, phase=(args.min_wait, args.max_wait),
                 log=lambda s: print(s, flush=True))
    r["command"] = " ".join(sys.argv)
    write_json(args.out, r)
    s = r["startup_s"] or {}
    print(f"\nkills {r['kills']}  acked writes {r['acked_writes']} ({r['acked_documents']} documents, {r['acked_deletes']} deletes)  "
          f"in flight at kill {r['in_flight_at_kill']} (applied {r['in_flight_applied']}, not {r['in_flight_not_applied']})")
    print(f"lost {r['lost']}  wrong {r['wrong']}  graph problems {r['graph_problems']}  error replies {r['error_replies']}  "
          f"disconnects before a kill {r['disconnects_before_kill']}")
    print(f"start-up s: first {r['first_start_s']}  after kill min {s.get('min')} median {s.get('median')} max {s.get('max')}")
    print(f"results: {args.out}")
    if not args.workdir and r["lost"] == r["wrong"] == r["graph_problems"] == 0:
        shutil.rmtree(workdir, ignore_errors=True)
    sys.exit(0 if r["lost"] == r["wrong"] == r["graph_problems"] == r["error_replies"] == 0 else 1)


if __name__ == "__main__":
    main()
