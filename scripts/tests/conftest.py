"""Shared fixtures: a real `nestor serve` on 127.0.0.1 with a real model."""
import json
import os
import socket
import subprocess
import time
import urllib.request

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODELS = os.environ.get("NESTOR_MODELS", os.path.join(ROOT, "models"))
E5 = os.path.join(MODELS, "multilingual-e5-small")


def nestor_binary():
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
    def __init__(self, *args):
        if not os.path.exists(os.path.join(E5, "model.safetensors")):
            pytest.skip("models/multilingual-e5-small is absent (scripts/fetch_models.py)")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen([nestor_binary(), "serve", "--model", E5, "--port", str(self.port), *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("nestor serve exited: " + self.proc.stdout.read().decode(errors="replace"))
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

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()


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
