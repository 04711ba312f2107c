"""Replicas on one PostgreSQL: three real `nestor serve` processes on 127.0.0.1 sharing one
database of the test cluster. Writes go through any replica (followers forward them to the
writer); once caught up, every replica answers `/search` identically and its graphs equal the
stored records; the writer is killed with SIGKILL during continuous ingest, ten times over,
and no acknowledged document is lost or doubled while a new writer is elected within seconds;
a follower away past the log's retention loads from the tables again."""
import json
import os
import random
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid

import pytest

from conftest import Server

PG = os.environ.get("NESTOR_TEST_POSTGRES_URL")
pytestmark = pytest.mark.skipif(not PG, reason="NESTOR_TEST_POSTGRES_URL is not set (scripts/postgres-test-cluster.sh)")


def fresh_database():
    name = "nestor_replicas_" + uuid.uuid4().hex[:12]
    subprocess.run(["psql", PG, "-q", "-c", f"CREATE DATABASE {name}"], check=True, capture_output=True)
    return PG.rsplit("/", 1)[0] + "/" + name


def call(url, method, path, body=None, headers=None, timeout=60):
    """(status, headers, json body); connection failures are status 0."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url + path, data=data, method=method,
                                 headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.headers, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, e.headers, json.loads(e.read() or b"{}")
    except (OSError, ValueError):
        return 0, {}, None


class Replica(Server):
    def __init__(self, database, *args):
        super().__init__("--database-url", database, *args)

    def status(self):
        s, _, body = call(self.url, "GET", "/replication", timeout=5)
        return body if s == 200 else None

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()


def wait_for(predicate, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def writer_of(replicas):
    for r in replicas:
        st = r.status()
        if st and st["role"] == "writer":
            return r
    return None


def caught_up(replicas):
    """Waits until every replica has applied the writer's position; returns it."""
    def check():
        positions = [r.status() for r in replicas]
        if any(p is None for p in positions):
            return None
        writer = [p for p in positions if p["role"] == "writer"]
        if len(writer) != 1:
            return None
        return writer[0]["position"] if all(p["position"] == writer[0]["position"] for p in positions) else None
    return wait_for(check, 30, "the replicas to catch up")


def verify(replica):
    s, _, body = call(replica.url, "GET", "/replication/verify")
    assert s == 200, body
    for c in body["collections"]:
        assert c["differing_records"] == 0 and c["header_agrees"], (replica.url, c)
    return body


def all_ids(replica, collection):
    ids, cursor = [], None
    while True:
        path = f"/documents/{collection}?limit=1000" + (f"&cursor={cursor}" if cursor else "")
        s, _, body = call(replica.url, "GET", path)
        assert s == 200, body
        ids += [d["id"] for d in body["documents"]]
        cursor = body.get("next_cursor")
        if not cursor:
            return ids


@pytest.fixture
def trio():
    db = fresh_database()
    replicas = [Replica(db)]
    replicas += [Replica(db), Replica(db)]  # the first one up is the writer
    yield db, replicas
    for r in replicas:
        if r.proc.poll() is None:
            r.stop()


def test_writes_through_any_replica_and_identical_reads(trio):
    _, replicas = trio
    roles = sorted(r.status()["role"] for r in replicas)
    assert roles == ["follower", "follower", "writer"]
    texts = ["the river runs past the old mill", "a violin played in the harbour", "copper lanterns lit the garden",
             "orbiting signals from a distant probe", "pepper and marble in the market"]
    position = 0
    for i, r in enumerate(replicas):
        docs = [{"id": f"r{i}-{k}", "text": f"{t} (batch {i})", "metadata": {"replica": i}} for k, t in enumerate(texts)]
        s, h, body = call(r.url, "POST", "/ingest", {"collection": "c", "create_collection": True, "documents": docs})
        assert s == 200, body
        assert int(h["Nestor-Position"]) > position
        position = int(h["Nestor-Position"])
    # Read-your-writes: a write through one follower, read at once on the other, at its position.
    s, h, _ = call(replicas[1].url, "POST", "/ingest", {"collection": "c", "documents": [{"id": "ryw", "text": "a zebra crossing"}]})
    assert s == 200
    s, _, body = call(replicas[2].url, "GET", "/documents/c/ryw", headers={"Nestor-Min-Position": h["Nestor-Position"]})
    assert s == 200 and body["id"] == "ryw", body
    # Every replica: same answers, same documents, graphs equal to the stored records.
    at = caught_up(replicas)
    answers = []
    for r in replicas:
        page = []
        for q in ["music by the sea", "lights in a garden", "space probe", "zebra"]:
            s, h, body = call(r.url, "POST", "/search", {"collection": "c", "query": q, "top_k": 5})
            assert s == 200 and int(h["Nestor-Position"]) == at, body
            page.append([(x["id"], x["score"]) for x in body["hits"]])
        answers.append(page)
        assert sorted(all_ids(r, "c")) == sorted([f"r{i}-{k}" for i in range(3) for k in range(5)] + ["ryw"])
        verify(r)
    assert answers[0] == answers[1] == answers[2]
    # Deletes and collection changes go through followers too.
    follower = next(r for r in replicas if r.status()["role"] == "follower")
    assert call(follower.url, "DELETE", "/documents/c/ryw")[0] == 200
    s, h, _ = call(follower.url, "DELETE", "/collections/c")
    assert s == 200
    for r in replicas:
        s, _, body = call(r.url, "GET", "/collections", headers={"Nestor-Min-Position": h["Nestor-Position"]})
        assert s == 200 and body["collections"] == [], body
    # A malformed position is refused, not waited on.
    assert call(follower.url, "GET", "/collections", headers={"Nestor-Min-Position": "soon"})[0] == 400


def test_writer_killed_during_ingest_loses_nothing(trio):
    db, replicas = trio
    assert call(replicas[0].url, "POST", "/collections", {"name": "c"})[0] in (200, 201)
    acknowledged, failed = set(), 0
    stop = threading.Event()
    lock = threading.Lock()

    def ingest():
        nonlocal failed
        n = 0
        while not stop.is_set():
            with lock:
                live = [r for r in replicas if r.proc.poll() is None]
            target = random.choice(live)
            ids = [f"doc-{n}-{k}" for k in range(3)]
            n += 1
            s, _, _ = call(target.url, "POST", "/ingest",
                           {"collection": "c", "documents": [{"id": i, "text": f"document {i} about topic {hash(i) % 17}"} for i in ids]},
                           timeout=30)
            if s == 200:
                acknowledged.update(ids)
            else:
                failed += 1  # not acknowledged: it may or may not have committed

    worker = threading.Thread(target=ingest)
    worker.start()
    elections = []
    try:
        for _ in range(10):
            time.sleep(1.0)
            with lock:
                old = writer_of(replicas)
                assert old is not None
                old.kill()
            start = time.time()
            new = wait_for(lambda: writer_of([r for r in replicas if r is not old]), 10, "a new writer")
            elections.append(time.time() - start)
            assert new is not old
            with lock:
                replicas.remove(old)
                replicas.append(Replica(db))  # the killed one's place: a new process joins as a follower
        time.sleep(1.0)
    finally:
        stop.set()
        worker.join()
    at = caught_up(replicas)
    assert at > 0
    assert max(elections) < 5, elections
    stored = [all_ids(r, "c") for r in replicas]
    for ids in stored:
        assert len(ids) == len(set(ids))  # none twice
        assert acknowledged <= set(ids), f"{len(acknowledged - set(ids))} acknowledged documents were lost"
    assert stored[0] == stored[1] == stored[2]
    for r in replicas:
        s, _, info = call(r.url, "GET", "/collections/c")
        assert s == 200 and info["documents"] == len(stored[0]) and info["chunks"] == len(stored[0]), info
        verify(r)
    print(f"\n{len(acknowledged)} documents acknowledged, {failed} requests refused during failovers; "
          f"elections {min(elections):.2f}–{max(elections):.2f} s")


def test_a_follower_away_past_the_retention_loads_again():
    db = fresh_database()
    writer = Replica(db, "--replica-retention", "1")
    follower = Replica(db, "--replica-retention", "1")
    try:
        assert call(writer.url, "POST", "/ingest", {"collection": "c", "create_collection": True,
                                                    "documents": [{"id": "a", "text": "before the pause"}]})[0] == 200
        caught_up([writer, follower])
        follower.proc.send_signal(signal.SIGSTOP)  # no heartbeats: forgotten after 1 s, and the log trimmed past it
        for i in range(5):
            assert call(writer.url, "POST", "/ingest", {"collection": "c", "documents": [{"id": f"p{i}", "text": f"during the pause {i}"}]})[0] == 200
        time.sleep(7)  # the writer trims every fifth heartbeat
        follower.proc.send_signal(signal.SIGCONT)
        caught_up([writer, follower])
        assert sorted(all_ids(follower, "c")) == ["a"] + [f"p{i}" for i in range(5)]
        verify(follower)
        assert "no longer holds position" in follower.output()
    finally:
        follower.proc.send_signal(signal.SIGCONT)
        follower.stop()
        writer.stop()
