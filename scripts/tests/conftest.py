"""Shared fixtures: a real `nestor serve` on 127.0.0.1 with a real model."""
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODELS = os.environ.get("NESTOR_MODELS", os.path.join(ROOT, "models"))
E5 = os.path.join(MODELS, "multilingual-e5-small")


def nestor_binary():
    # NESTOR_BIN points at a binary built elsewhere (e.g. a release build, or a copy that a
    # rebuild of this checkout cannot replace mid-run).
    if os.environ.get("NESTOR_BIN"):
        return os.environ["NESTOR_BIN"]
    for config in ("debug", "release"):
        path = os.path.join(ROOT, ".build", config, "nestor")
        if os.path.exists(path):
            return path
    pytest.skip("nestor is not built (swift build)")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`nestor serve` on a free port. Each server gets a SQLite file of its own unless one is
    given (a store is claimed by one process at a time)."""

    def __init__(self, *args, sqlite=None):
        if not os.path.exists(os.path.join(E5, "model.safetensors")):
            pytest.skip("models/multilingual-e5-small is absent (scripts/fetch_models.py)")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # A file, not a pipe: nobody reads the log while tests run, and a full pipe would block the server.
        self.log = tempfile.TemporaryFile()
        self.own_dir = None if sqlite else tempfile.mkdtemp(prefix="nestor-test-")
        self.sqlite = sqlite or os.path.join(self.own_dir, "nestor.sqlite")
        self.proc = subprocess.Popen([nestor_binary(), "serve", "--model", E5, "--port", str(self.port),
                                      "--sqlite-path", self.sqlite, *args],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("nestor serve exited: " + self.output())
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=1) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("nestor serve did not become healthy in 60 s")

    def post(self, path, body, headers=None):
        req = urllib.request.Request(self.url + path, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json", **(headers or {})})
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())

    def output(self):
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.own_dir:
            shutil.rmtree(self.own_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def server():
    s = Server("--served-model-name", "multilingual-e5-small", "--served-model-name", "e5")
    yield s
    s.stop()


@pytest.fixture(scope="session")
def matryoshka_server():
    s = Server("--matryoshka-dimensions", "128,256")
    yield s
    s.stop()


def engine_vectors(texts, prompt_name=None):
    """The same vectors straight from the engine (`nestor embed`), in another process."""
    args = [nestor_binary(), "embed", "--model", E5, "--json"]
    if prompt_name:
        args += ["--prompt-name", prompt_name]
    out = subprocess.run(args + ["--", *texts], check=True, capture_output=True, text=True).stdout
    return [json.loads(line)["embedding"] for line in out.splitlines()]
