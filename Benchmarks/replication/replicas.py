"""Replicas on one PostgreSQL, measured: `/search` queries/s through 1, 2 and 3 replicas (the
three configurations alternate round by round in one run, so drift hits all of them), the CPU
time each query costs a replica (what would scale on a machine with more cores), follower lag
(a write acknowledged by the writer → applied on a follower) under continuous ingest, and the
writer's failover time after SIGKILL.

    NESTOR_BIN=.build/release/nestor python3 Benchmarks/replication/replicas.py [--out FILE]

Needs a PostgreSQL server (NESTOR_TEST_POSTGRES_URL, or scripts/postgres-test-cluster.sh is run)
and models/multilingual-e5-small. Results: Benchmarks/replication/results.json.
"""
import argparse
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODEL = os.path.join(ROOT, "models", "multilingual-e5-small")
WORDS = ("river mountain engine violin harbour pepper orbit garden signal marble copper lantern forest "
         "winter market castle bridge thunder meadow silver ocean candle mirror desert island").split()
TICKS = os.sysconf("SC_CLK_TCK")


def call(url, method, path, body=None, headers=None, timeout=60):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url + path, data=data, method=method, headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.headers, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, e.headers, None
    except OSError:
        return 0, {}, None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Replica:
    def __init__(self, db):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(f"/tmp/nestor-replica-{self.port}.log", "wb")
        binary = os.environ.get("NESTOR_BIN", os.path.join(ROOT, ".build", "release", "nestor"))
        self.proc = subprocess.Popen([binary, "serve", "--model", MODEL, "--port", str(self.port), "--database-url", db],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 120
        while call(self.url, "GET", "/health", timeout=1)[0] != 200:
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"replica on {self.port} did not start; see {self.log.name}")
            time.sleep(0.2)

    def role(self):
        s, _, body = call(self.url, "GET", "/replication", timeout=5)
        return body["role"] if s == 200 else None

    def cpu_seconds(self):
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime

    def stop(self, sig=signal.SIGTERM):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=30)


def sentence(rng, n=12):
    return " ".join(rng.choice(WORDS) for _ in range(n))


def database():
    url = os.environ.get("NESTOR_TEST_POSTGRES_URL") or subprocess.check_output([os.path.join(ROOT, "scripts", "postgres-test-cluster.sh")], text=True).strip()
    name = "nestor_bench_" + uuid.uuid4().hex[:10]
    subprocess.run(["psql", url, "-q", "-c", f"CREATE DATABASE {name}"], check=True)
    return url.rsplit("/", 1)[0] + "/" + name


def qps(replicas, k, seconds, clients, rng):
    """Searches through the first k replicas, round robin over `clients` threads."""
    queries = [sentence(rng, 5) for _ in range(200)]
    done = [0] * clients
    stop = time.time() + seconds
    cpu0 = [r.cpu_seconds() for r in replicas]

    def worker(i):
        j = i
        while time.time() < stop:
            target = replicas[j % k]
            s, _, _ = call(target.url, "POST", "/search", {"collection": "bench", "query": queries[j % len(queries)], "top_k": 10})
            if s == 200:
                done[i] += 1
            j += clients

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    start = time.time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.time() - start
    cpu = sum(r.cpu_seconds() - c for r, c in zip(replicas, cpu0))
    n = sum(done)
    return n / elapsed, cpu / max(n, 1) * 1000


def follower_lag(writer, follower, seconds, rng):
    """Per acknowledged write: how long until the follower has applied it (a read there that
    waits for the write's position), less the same read's time without the wait."""
    lags, bare = [], []
    stop = time.time() + seconds
    n = 0
    while time.time() < stop:
        s, h, _ = call(writer.url, "POST", "/ingest", {"collection": "bench", "documents": [{"id": f"lag-{n}", "text": sentence(rng)}]})
        n += 1
        if s != 200:
            continue
        acked = time.perf_counter()
        s, _, _ = call(follower.url, "GET", "/collections/bench", headers={"Nestor-Min-Position": h["Nestor-Position"]})
        lags.append(time.perf_counter() - acked)
        t = time.perf_counter()
        call(follower.url, "GET", "/collections/bench")
        bare.append(time.perf_counter() - t)
    base = statistics.median(bare)
    lags = sorted(max(0.0, x - base) * 1000 for x in lags)
    return {"writes": len(lags), "p50_ms": round(lags[len(lags) // 2], 2), "p99_ms": round(lags[int(len(lags) * 0.99)], 2),
            "max_ms": round(lags[-1], 2), "read_roundtrip_ms": round(base * 1000, 2)}


def failover(db, replicas, rounds, rng):
    """SIGKILL the writer, then time until a surviving replica accepts a write."""
    times = []
    for _ in range(rounds):
        writer = next(r for r in replicas if r.role() == "writer")
        writer.stop(signal.SIGKILL)
        start = time.perf_counter()
        others = [r for r in replicas if r is not writer]
        while True:
            r = next((r for r in others if r.role() == "writer"), None)
            if r and call(r.url, "POST", "/ingest", {"collection": "bench", "documents": [{"text": sentence(rng)}]})[0] == 200:
                break
            time.sleep(0.005)
        times.append((time.perf_counter() - start) * 1000)
        replicas.remove(writer)
        replicas.append(Replica(db))
    return {"rounds": rounds, "median_ms": round(statistics.median(times), 1), "max_ms": round(max(times), 1),
            "all_ms": [round(t, 1) for t in times]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--documents", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--out", default=os.path.join(ROOT, "Benchmarks", "replication", "results.json"))
    args = ap.parse_args()
    rng = random.Random(7)
    db = database()
    replicas = [Replica(db)]
    replicas += [Replica(db), Replica(db)]
    try:
        writer = replicas[0]
        for start in range(0, args.documents, 100):
            docs = [{"id": f"d{i}", "text": sentence(rng)} for i in range(start, min(args.documents, start + 100))]
            s, _, _ = call(writer.url, "POST", "/ingest", {"collection": "bench", "create_collection": True, "documents": docs}, timeout=300)
            assert s == 200
        # Everyone caught up before measuring.
        _, h, _ = call(writer.url, "GET", "/collections/bench")
        for r in replicas:
            assert call(r.url, "GET", "/collections/bench", headers={"Nestor-Min-Position": h["Nestor-Position"]})[0] == 200
        by_k = {1: [], 2: [], 3: []}
        cost = {1: [], 2: [], 3: []}
        for _ in range(args.rounds):
            for k in (1, 2, 3):
                q, c = qps(replicas, k, args.seconds, args.clients, rng)
                by_k[k].append(q)
                cost[k].append(c)
                print(f"{k} replica(s): {q:.1f} queries/s, {c:.2f} CPU-ms per query")
        base = statistics.median(by_k[1])
        search = {str(k): {"queries_per_s": round(statistics.median(v), 1), "ratio_to_1": round(statistics.median(v) / base, 3),
                           "cpu_ms_per_query": round(statistics.median(cost[k]), 2), "rounds": [round(x, 1) for x in v]}
                  for k, v in by_k.items()}
        lag = follower_lag(replicas[0], replicas[1], 15, rng)
        print("follower lag", lag)
        fo = failover(db, replicas, 5, rng)
        print("failover", fo)
        out = {"machine": f"{os.cpu_count()} cores", "model": "multilingual-e5-small", "documents": args.documents,
               "clients": args.clients, "seconds_per_point": args.seconds, "search": search, "follower_lag": lag, "failover": fo,
               "command": "NESTOR_BIN=.build/release/nestor python3 Benchmarks/replication/replicas.py"}
        with open(args.out, "w") as f:
            json.dump(out, f, indent=2)
        print(json.dumps(out, indent=2))
    finally:
        for r in replicas:
            try:
                r.stop()
            except Exception:
                r.proc.kill()


if __name__ == "__main__":
    main()
