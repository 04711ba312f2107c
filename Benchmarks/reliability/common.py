"""What the reliability scripts share: finding the binary and model, starting `nestor serve` on a
SQLite file (and timing it until /health answers), small JSON-over-HTTP helpers, multilingual
texts from eval/, percentiles and the server's resident memory."""
import atexit
import glob
import http.client
import json
import os
import random
import signal
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "Benchmarks"))
from httpload import closed_loop  # noqa: E402,F401  (re-exported for the scripts)
import httpload  # noqa: E402
import socket  # noqa: E402

MODEL = os.path.join(os.environ.get("NESTOR_MODELS", os.path.join(ROOT, "models")), "multilingual-e5-small")


def free_port():
    """A free port in $NESTOR_PORTS ("18200-18299"; these scripts share a machine), or any free
    port when it is unset."""
    spec = os.environ.get("NESTOR_PORTS")
    if not spec:
        return httpload.free_port()
    lo, hi = (int(x) for x in spec.split("-"))
    ports = list(range(lo, hi + 1))
    random.shuffle(ports)
    for port in ports:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
    raise SystemExit(f"no free port in {spec}")


def nestor_binary():
    """$NESTOR_BIN, else a build of this checkout (release first: the campaigns are long)."""
    if os.environ.get("NESTOR_BIN"):
        return os.environ["NESTOR_BIN"]
    for config in ("release", "debug"):
        path = os.path.join(ROOT, ".build", config, "nestor")
        if os.path.exists(path):
            return path
    raise SystemExit("no nestor binary: set NESTOR_BIN or swift build")


def binary_info(binary):
    st = os.stat(binary)
    return {"path": binary, "mtime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(st.st_mtime)), "size": st.st_size}


def serve_flags(binary):
    """The flags `nestor serve --help` lists (to use --idle-timeout and friends only where they exist)."""
    out = subprocess.run([binary, "serve", "--help"], capture_output=True, text=True, timeout=60)
    return {tok.split("=")[0].rstrip(",") for tok in (out.stdout + out.stderr).split() if tok.startswith("--")}


class Server:
    """`nestor serve` on a SQLite file; `started_s` is process start → first /health 200."""

    def __init__(self, binary, sqlite, log_path, *args, port=None, model=MODEL, health_seconds=120):
        self.binary, self.sqlite, self.args, self.model = binary, sqlite, list(args), model
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.log = open(log_path, "ab")
        self.log.write(f"\n=== start {time.strftime('%H:%M:%S')} port {self.port}\n".encode())
        self.log.flush()
        t0 = time.perf_counter()
        self.proc = subprocess.Popen([binary, "serve", "--model", model, "--port", str(self.port),
                                      "--sqlite-path", sqlite, *self.args],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        self.pid = self.proc.pid
        # A script that dies on an exception must not leave its server running.
        atexit.register(self._reap)
        deadline = time.time() + health_seconds
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nestor serve exited with {self.proc.returncode}; see {log_path}:\n{self.tail()}")
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.time() > deadline:
                self.kill()
                raise RuntimeError(f"nestor serve did not answer /health within {health_seconds} s; see {log_path}")
            time.sleep(0.02)
        self.started_s = time.perf_counter() - t0

    def _reap(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)

    def tail(self, n=4000):
        try:
            with open(self.log_path, "rb") as f:
                return f.read()[-n:].decode(errors="replace")
        except OSError:
            return ""

    def rss_kib(self):
        return rss_kib(self.pid)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)
        self.log.close()

    def stop(self, seconds=30):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=seconds)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)
        self.log.close()
        return self.proc.returncode


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


class Client:
    """One keep-alive connection; `call` gives (status, parsed JSON or None). Connection errors
    propagate (the caller decides whether the request may have been applied)."""

    def __init__(self, port, timeout=120):
        self.port, self.timeout = port, timeout
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)

    def call(self, method, path, body=None):
        data = None if body is None else json.dumps(body)
        headers = {"Content-Type": "application/json"} if body is not None else {}
        try:
            self.conn.request(method, path, data, headers)
            r = self.conn.getresponse()
            raw = r.read()
        except (OSError, http.client.HTTPException):
            self.reset()
            raise
        try:
            return r.status, json.loads(raw) if raw else None
        except ValueError:
            return r.status, {"raw": raw[:500].decode(errors="replace")}

    def reset(self):
        self.conn.close()
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)

    def close(self):
        self.conn.close()


def timed_loop(port, seconds, request, timeout=15):
    """httpload.closed_loop for one client, but each request may take at most `timeout` s (a
    server that stops accepting must not hang the measurement): requests/s, p50, p99 over the
    answered ones, and the errors by kind."""
    t_end = time.perf_counter() + seconds
    lat, errors = [], {}
    c = Client(port, timeout=timeout)
    n = 0
    start = time.perf_counter()
    while time.perf_counter() < t_end:
        path, body = request(0, n)
        n += 1
        t = time.perf_counter()
        try:
            status, _ = c.call("POST", path, body)
        except Exception as e:  # noqa: BLE001
            errors[type(e).__name__] = errors.get(type(e).__name__, 0) + 1
            continue
        if status != 200:
            errors[str(status)] = errors.get(str(status), 0) + 1
            continue
        lat.append(time.perf_counter() - t)
    c.close()
    elapsed = time.perf_counter() - start
    pick = lambda q: round(percentile(lat, q) * 1000, 2) if lat else None  # noqa: E731
    return {"rps": round(len(lat) / elapsed, 2), "p50_ms": pick(0.5), "p99_ms": pick(0.99),
            "max_ms": round(max(lat) * 1000, 2) if lat else None, "errors": sum(errors.values()), "error_kinds": errors}


def percentile(values, q):
    if not values:
        return None
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


def ms_summary(seconds):
    """count, p50, p99, max in milliseconds."""
    return {"count": len(seconds),
            "p50_ms": round(percentile(seconds, 0.50) * 1000, 2) if seconds else None,
            "p99_ms": round(percentile(seconds, 0.99) * 1000, 2) if seconds else None,
            "max_ms": round(max(seconds) * 1000, 2) if seconds else None}


def sentences():
    """Short sentences in ten languages: the English catalog messages of eval/corpus.jsonl and
    their translations in eval/queries-*.jsonl."""
    out = []
    for path in [os.path.join(ROOT, "eval", "corpus.jsonl")] + sorted(glob.glob(os.path.join(ROOT, "eval", "queries-*.jsonl"))):
        with open(path) as f:
            for line in f:
                t = json.loads(line)["text"].strip()
                if t:
                    out.append(t)
    return out


def queries_by_language():
    out = {}
    for path in sorted(glob.glob(os.path.join(ROOT, "eval", "queries-*.jsonl"))):
        lang = os.path.basename(path)[len("queries-"):-len(".jsonl")]
        with open(path) as f:
            out[lang] = [json.loads(line)["text"] for line in f]
    return out


def paragraph_text(rng, pool, tag, paragraphs):
    """A document of `paragraphs` blank-line-separated paragraphs, each starting with `tag` and
    its number (so a chunk of one version never appears in the text of another)."""
    paras = []
    for p in range(paragraphs):
        body = " ".join(rng.choice(pool).rstrip(".") + "." for _ in range(rng.randint(1, 4)))
        paras.append(f"[{tag} p{p}] {body}")
    return "\n\n".join(paras)


def write_json(path, obj):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=2, ensure_ascii=False)
        f.write("\n")
    os.replace(tmp, path)


__all__ = ["MODEL", "Server", "Client", "closed_loop", "free_port", "nestor_binary", "binary_info", "serve_flags",
           "rss_kib", "timed_loop", "percentile", "ms_summary", "sentences", "queries_by_language", "paragraph_text", "write_json",
           "random"]
