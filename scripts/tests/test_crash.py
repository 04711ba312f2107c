"""Crash safety of the SQLite store: a child process ingests continuously and is killed with
SIGKILL at random moments, ten times. After each kill every acknowledged document is there
with all its chunks, no document is half-written, and the index loads intact and verifies."""
import json
import random
import signal
import sqlite3
import subprocess
import time

from conftest import nestor_binary


def test_sigkill_during_ingest_loses_nothing_acknowledged(tmp_path):
    db = str(tmp_path / "crash.sqlite")
    acked, deleted = {}, set()
    rng = random.Random(20261122)
    for round_ in range(10):
        proc = subprocess.Popen([nestor_binary(), "debug", "ingest-loop", "--db", db, "--seed", str(round_ + 1)],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.3, 1.5))
        proc.send_signal(signal.SIGKILL)
        out, _ = proc.communicate()
        maybe = set()  # deletions of the batch in flight when the kill came: either outcome is right
        for line in out.decode().splitlines():
            parts = line.split()
            if parts and parts[0] == "MAYDEL":
                maybe = set(parts[1:])
            elif len(parts) == 3 and parts[0] == "ACK":
                acked[parts[1]] = int(parts[2])
            elif len(parts) == 2 and parts[0] == "DEL":
                deleted.add(parts[1])
                maybe.discard(parts[1])
        for doc in maybe:
            acked.pop(doc, None)

        report = json.loads(subprocess.run([nestor_binary(), "debug", "verify", "--db", db],
                                           check=True, capture_output=True, text=True).stdout)
        assert report["intact"] and report["verified"], report
        assert report["chunks"] == report["chunks_in_graph"] == report["graph_live"], report
        # The lexical view agrees with the dense one: every stored chunk has its terms, no more.
        assert report["chunks"] == report["lexical_chunks"] == report["lexical_live"], report

        con = sqlite3.connect(db)
        counts = dict(con.execute("SELECT document_id, COUNT(*) FROM chunks WHERE collection = 'crash' GROUP BY document_id"))
        ordinals = con.execute("""SELECT document_id, MIN(ordinal), MAX(ordinal), COUNT(*) FROM chunks
                                  WHERE collection = 'crash' GROUP BY document_id""").fetchall()
        docs = {r[0] for r in con.execute("SELECT id FROM documents WHERE collection = 'crash'")}
        unanalysed = con.execute("SELECT COUNT(*) FROM chunks WHERE collection = 'crash' AND terms IS NULL").fetchone()[0]
        assert unanalysed == 0, f"round {round_}: {unanalysed} chunks were committed without their terms"
        con.close()
        for doc, n in acked.items():
            if doc not in deleted:
                assert counts.get(doc) == n, f"round {round_}: acknowledged {doc} has {counts.get(doc)} chunks, not {n}"
        for doc in deleted:
            assert doc not in docs, f"round {round_}: deleted {doc} is still stored"
        assert docs == set(counts), "a document without chunks, or chunks without a document"
        assert all(lo == 0 and hi == n - 1 for _, lo, hi, n in ordinals), "a document with missing chunks"
    assert len(acked) > 100
