"""SIGTERM while a request is in flight: the request completes, then the server exits cleanly
and refuses new connections."""
import json
import signal
import threading
import time
import urllib.request

from conftest import Server


def test_in_flight_request_finishes_on_sigterm():
    s = Server()
    result = {}

    def slow_request():
        texts = ["passage: " + " ".join(["word"] * 400) + f" {i}" for i in range(16)]
        req = urllib.request.Request(s.url + "/v1/embeddings", data=json.dumps({"input": texts}).encode(),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=300) as r:
            result["status"] = r.status
            result["count"] = len(json.loads(r.read())["data"])

    t = threading.Thread(target=slow_request)
    t.start()
    time.sleep(0.5)  # the request is being embedded now
    s.proc.send_signal(signal.SIGTERM)
    t.join(timeout=300)  # a loaded 2-core machine embeds slowly: the bound is generous, the work small
    assert result == {"status": 200, "count": 16}
    assert s.proc.wait(timeout=30) == 0
    try:
        urllib.request.urlopen(s.url + "/health", timeout=2)
        raise AssertionError("server still accepts connections after shutdown")
    except OSError:
        pass
