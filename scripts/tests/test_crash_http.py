"""Crash safety through HTTP: clients ingest, upsert and delete over /ingest and /documents while
`nestor serve` is SIGKILLed five times and restarted on the same SQLite file. Every acknowledged
write must be there exactly as acknowledged, deleted documents gone, the request in flight at a
kill applied whole or not at all, nothing else stored, and the stored graph intact. The campaign
is Benchmarks/reliability/crash.py (run there with 50 kills); this is its bounded version."""
import os
import sys

import pytest

from conftest import E5, ROOT, nestor_binary

sys.path.insert(0, os.path.join(ROOT, "Benchmarks", "reliability"))


def test_sigkill_through_http_loses_no_acknowledged_write(tmp_path):
    if not os.path.exists(os.path.join(E5, "model.safetensors")):
        pytest.skip("models/multilingual-e5-small is absent (scripts/fetch_models.py)")
    from crash import campaign

    lines = []
    r = campaign(nestor_binary(), kills=5, workdir=str(tmp_path), seed=20261201, clients=3, phase=(0.3, 1.2),
                 log=lines.append, time_limit=35, require_ack=True)
    summary = "\n".join(lines)
    assert r["kills"] >= 2, summary  # fewer than 5 only on a machine so loaded that 35 s were spent
    assert r["acked_documents"] > 0, summary
    assert r["lost"] == 0, (r["lost_detail"], summary)
    assert r["wrong"] == 0, (r["wrong_detail"], summary)
    assert r["graph_problems"] == 0, (r["graph_detail"], summary)
    assert r["error_replies"] == 0, (r["error_reply_detail"], summary)
