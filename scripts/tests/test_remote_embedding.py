"""`nestor serve --embedding-url`: a Nestor whose embeddings come from a second, real `nestor
serve` (the upstream) through a small fault-injecting proxy written here, so 429s, 5xx answers,
timeouts, dropped connections and an upstream restart can be staged. Checks that vectors pass
through unchanged, that transient faults are retried away, and that lasting ones reach the
client as 502 / 503 / 504 with nothing half-ingested."""
import http.server
import json
import os
import shutil
import socket
import socketserver
import subprocess
import tempfile
import threading
import time
import urllib.request

import pytest

from conftest import E5, Server, free_port, nestor_binary


class Proxy:
    """Forwards POSTs to `target`; `faults` is a queue of actions for the next requests:
    an HTTP status to answer with, ("sleep", s) to answer late, or "drop" to close the socket."""

    def __init__(self, target):
        self.target = target
        self.faults = []
        self.seen = 0
        self.lock = threading.Lock()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with proxy.lock:
                    proxy.seen += 1
                    action = proxy.faults.pop(0) if proxy.faults else None
                if action == "drop":
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if isinstance(action, tuple):
                    time.sleep(action[1])
                elif isinstance(action, int):
                    data = json.dumps({"error": {"message": f"injected {action}"}}).encode()
                    self.send_response(action)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    if action == 429:
                        self.send_header("Retry-After", "0")
                    self.end_headers()
                    self.wfile.write(data)
                    return
                req = urllib.request.Request(proxy.target + self.path, data=body, headers={"Content-Type": "application/json"})
                try:
                    with urllib.request.urlopen(req, timeout=60) as r:
                        status, data = r.status, r.read()
                except urllib.error.HTTPError as e:
                    status, data = e.code, e.read()
                except OSError:
                    status, data = 502, b'{"error": {"message": "proxy: upstream down"}}'
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass

        class Threaded(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True

        self.port = free_port()
        self.server = Threaded(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()


def post(url, path, body):
    req = urllib.request.Request(url + path, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


@pytest.fixture(scope="module")
def stack():
    upstream = Server()
    proxy = Proxy(upstream.url)
    port = free_port()
    work = tempfile.mkdtemp(prefix="nestor-remote-")
    log = open(os.path.join(work, "log"), "w+")
    proc = subprocess.Popen([nestor_binary(), "serve", "--embedding-url", f"http://127.0.0.1:{proxy.port}/v1",
                             "--embedding-model", "multilingual-e5-small", "--embedding-tokenizer", E5,
                             "--query-prompt", "query: ", "--document-prompt", "passage: ",
                             "--embedding-timeout", "3", "--embedding-attempts", "3", "--embedding-batch-size", "4",
                             "--port", str(port), "--sqlite-path", os.path.join(work, "db.sqlite")],
                            stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            urllib.request.urlopen(url + "/health", timeout=1)
            break
        except OSError:
            if proc.poll() is not None:
                log.seek(0)
                raise RuntimeError("remote nestor exited: " + log.read())
            time.sleep(0.2)
    state = {"upstream": upstream, "proxy": proxy, "url": url}
    yield state
    proc.terminate()
    proc.wait(timeout=20)
    proxy.stop()
    state["upstream"].stop()
    shutil.rmtree(work, ignore_errors=True)


def test_vectors_pass_through_and_prompts_apply(stack):
    up, url = stack["upstream"], stack["url"]
    texts = [f"query: wie kopiere ich die Datei {i}?" for i in range(10)]  # 10 inputs: three upstream batches of at most 4
    s, direct = up.post("/v1/embeddings", {"input": texts})
    s2, remote = post(url, "/v1/embeddings", {"input": texts})
    assert s == s2 == 200
    for a, b in zip(direct["data"], remote["data"]):
        assert a["index"] == b["index"] and max(abs(x - y) for x, y in zip(a["embedding"], b["embedding"])) < 1e-6
    # input_type query puts Nestor's own query prompt in front.
    s, q = post(url, "/v1/embeddings", {"input": "hello", "input_type": "query"})
    s, d = up.post("/v1/embeddings", {"input": "query: hello"})
    assert max(abs(x - y) for x, y in zip(q["data"][0]["embedding"], d["data"][0]["embedding"])) < 1e-6


def test_what_the_upstream_cannot_do_is_refused(stack):
    url = stack["url"]
    for body, param in [({"input": "x", "truncate_prompt_tokens": 5}, "truncate_prompt_tokens"),
                        ({"input": "x", "add_special_tokens": False}, "add_special_tokens"),
                        ({"input": "word " * 2000, "enable_chunked_processing": True}, "input"),
                        ({"input": "word " * 2000, "truncate": "NONE"}, "input"),
                        ({"input": [[1, 2, 3]]}, "input")]:
        s, r = post(url, "/v1/embeddings", body)
        assert s == 400 and r["error"]["param"] == param, (body, r)


def test_transient_faults_are_retried(stack):
    proxy, url = stack["proxy"], stack["url"]
    for faults in ([429, "drop"], [503, 500], [("sleep", 5)]):  # three attempts: two may fail
        proxy.faults = list(faults)
        before = proxy.seen
        s, body = post(url, "/v1/embeddings", {"input": ["a transient fault"]})
        assert s == 200, (faults, body)
        assert proxy.seen - before == len(faults) + 1


def test_lasting_faults_are_clear_errors_and_nothing_is_half_ingested(stack):
    proxy, url = stack["proxy"], stack["url"]
    s, _ = post(url, "/ingest", {"collection": "remote", "create_collection": True,
                                 "documents": [{"id": "keep", "text": "Copy files with cp."}]})
    assert s == 200
    docs = [{"id": f"d{i}", "text": f"document number {i} about tea"} for i in range(10)]
    # The third upstream batch fails every attempt: the request fails whole, nothing is stored.
    proxy.faults = ["pass", "pass", 500, 500, 500]
    s, body = post(url, "/ingest", {"collection": "remote", "documents": docs})
    assert s == 502 and body["error"]["type"] == "server_error", body
    s, c = post(url, "/search", {"collection": "remote", "query": "tea", "top_k": 20, "mode": "lexical"})
    assert s == 200 and [h["document_id"] for h in c["hits"]] == [], c
    proxy.faults = [("sleep", 5)] * 3
    s, body = post(url, "/v1/embeddings", {"input": ["too slow"]})
    assert s == 504, body
    proxy.faults = [429] * 3
    s, body = post(url, "/v1/embeddings", {"input": ["overloaded"]})
    assert s == 503, body
    proxy.faults = [400]
    s, body = post(url, "/v1/embeddings", {"input": ["refused"]})
    assert s == 400 and "upstream" in body["error"]["message"], body
    time.sleep(5)  # let the proxy's slow handlers finish


def test_upstream_restart(stack):
    proxy, url = stack["proxy"], stack["url"]
    stack["upstream"].stop()
    s, body = post(url, "/search", {"collection": "remote", "query": "copy a file"})
    assert s in (502, 503), body
    stack["upstream"] = Server()
    proxy.target = stack["upstream"].url
    s, body = post(url, "/search", {"collection": "remote", "query": "copy a file"})
    assert s == 200 and body["hits"][0]["document_id"] == "keep", body
