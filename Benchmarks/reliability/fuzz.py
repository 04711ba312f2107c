#!/usr/bin/env python3
"""Schema-driven fuzzing of a real `nestor serve` with schemathesis, from the server's own
/openapi.json: every operation, positive and negative data, boundary values (the coverage phase),
random data and stateful sequences (create → get → delete), for as long as asked.

    python3 Benchmarks/reliability/fuzz.py --minutes 10 [--binary .build/release/nestor]

Prints the number of cases, the failures by kind (schemathesis check and its code) and the
number of 5xx answers, and exits non-zero when there is any failure, any 5xx, or the server died.
scripts/tests/test_openapi.py runs the same campaign, bounded to about a minute.

Checks, and why the others are left out:
  not_a_server_error, status_code_conformance, content_type_conformance,
  response_schema_conformance, response_headers_conformance: every answer is one the document
      declares, in the declared media type and shape;
  unsupported_method, allow_header_conformance: a method the path does not declare answers 405
      with an Allow header listing the declared ones;
  use_after_free, ensure_resource_availability: a collection or document just created can be read,
      one just deleted is gone.
  Left out: positive_data_acceptance — the server refuses schema-valid requests for reasons a
      static document cannot state: what the loaded model has (coarse_dimensions and 'dimensions'
      up to its size, Matryoshka sizes, its vocabulary and prompt names, chunk sizes up to its
      input limit), a vector's length (the collection's), relations between fields
      (overlap_tokens < max_tokens, text_1 one text or as many as text_2, unique ids in a batch),
      and text the tokenizer keeps nothing of. A run with `--checks all` shows only these. negative_data_rejection — the document is deliberately stricter
      than the server where JSON Schema cannot say what the server checks (an id's limit is 512
      UTF-8 bytes, written as 128 characters; enums the server reads case-insensitively; unique
      'include' items), so some schema-invalid requests are rightly accepted. ignored_auth and
      object_level_authorization — the server runs without --api-key here (scripts/tests/
      test_bad_inputs.py covers the keys); missing_required_header — no operation requires one.
"""
import argparse
import collections
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

CHECKS = [
    "not_a_server_error", "status_code_conformance", "content_type_conformance", "response_schema_conformance",
    "response_headers_conformance", "unsupported_method", "allow_header_conformance", "use_after_free",
    "ensure_resource_availability",
]

# The collection and document the document's examples name (README's quick start); created before
# the run so that examples and stateful sequences find something at /collections/{name} and
# /documents/{collection}/{id}.
SEED_COLLECTION = "docs"
SEED_DOCUMENTS = [
    {"id": "cp", "text": "To copy a file, use cp SOURCE DEST.", "metadata": {"lang": "en", "year": 2024}},
    {"id": "mv", "text": "Dateien verschiebt man mit mv.", "metadata": {"lang": "de", "year": 2019, "tags": ["a", "b"]}},
    {"id": "ja", "text": "ファイルをコピーするには cp を使います。", "metadata": {"lang": "ja", "nested": {"x": 1}}},
]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post(url, body):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return r.status, json.loads(r.read())


class Server:
    """`nestor serve` on a free port with a fresh SQLite file, logging to a file."""

    def __init__(self, binary, model, workdir, extra=()):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = os.path.join(workdir, "serve.log")
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([binary, "serve", "--model", model, "--port", str(self.port),
                                      "--sqlite-path", os.path.join(workdir, "fuzz.sqlite"), *extra],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("nestor serve exited:\n" + self.output())
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=1) as r:
                    if r.status == 200:
                        return
            except OSError:
                if time.time() > deadline:
                    self.stop()
                    raise RuntimeError("nestor serve did not become healthy in 60 s")
                time.sleep(0.2)

    def healthy(self):
        try:
            with urllib.request.urlopen(self.url + "/health", timeout=10) as r:
                return r.status == 200
        except OSError:
            return False

    def output(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def capped(doc, max_items):
    """A copy of the document whose array limits are at most `max_items`: the coverage phase sends
    arrays at their maxItems, and 2,048 texts take seconds to embed on a small machine."""
    doc = json.loads(json.dumps(doc))

    def walk(x):
        if isinstance(x, dict):
            if isinstance(x.get("maxItems"), int) and x["maxItems"] > max_items:
                x["maxItems"] = max_items
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)

    walk(doc.get("components", {}).get("schemas", {}))
    return doc


def summarise(ndjson_path):
    """Cases, failures by kind, status counts and 5xx examples from a schemathesis NDJSON report."""
    cases = 0
    statuses = collections.Counter()
    failures = collections.Counter()
    examples = {}
    server_errors = []
    errors = []
    with open(ndjson_path) as f:
        for line in f:
            event = json.loads(line)
            if "NonFatalError" in event or "FatalError" in event:
                e = event.get("NonFatalError") or event.get("FatalError")
                errors.append(json.dumps(e)[:600])
            finished = event.get("ScenarioFinished")
            if not finished:
                continue
            rec = finished.get("recorder") or {}
            for case_id, inter in (rec.get("interactions") or {}).items():
                cases += 1
                resp = inter.get("response") or {}
                code = resp.get("status_code")
                statuses[code] += 1
                if isinstance(code, int) and code >= 500:
                    req = inter.get("request") or {}
                    server_errors.append(f"{code} {req.get('method')} {req.get('uri', '')[:200]}")
            for case_id, checks in (rec.get("checks") or {}).items():
                for c in checks:
                    if c.get("status") != "failure":
                        continue
                    info = (c.get("failure_info") or {}).get("failure") or {}
                    kind = f"{c.get('name')} {info.get('code', '')}".strip()
                    failures[kind] += 1
                    if kind not in examples:
                        case = ((rec.get("cases") or {}).get(case_id) or {}).get("value") or {}
                        examples[kind] = (f"{info.get('operation', '')}: {info.get('title', '')}\n"
                                          f"{(info.get('message') or '')[:800]}\n"
                                          f"request: {case.get('method')} {case.get('path')} "
                                          f"{json.dumps(case.get('path_parameters') or {})[:200]} "
                                          f"{json.dumps(case.get('body'))[:400] if 'body' in case else ''}")
    return {"cases": cases, "statuses": statuses, "failures": failures, "examples": examples,
            "server_errors": server_errors, "errors": errors}


def campaign(binary, model, seconds, *, max_examples=100_000, max_items=None, seed=None, workers=2,
             checks=CHECKS, workdir=None, schema_file=None, log=print):
    """Starts a server, seeds it, runs schemathesis for `seconds`, and returns the summary plus
    `alive` (the server still up and healthy) and `exit_code` (schemathesis's)."""
    own = workdir is None
    workdir = workdir or tempfile.mkdtemp(prefix="nestor-fuzz-")
    server = Server(binary, model, workdir)
    try:
        status, reply = post(server.url + "/collections", {"name": SEED_COLLECTION})
        assert status == 201, reply
        status, reply = post(server.url + "/ingest", {"collection": SEED_COLLECTION, "documents": SEED_DOCUMENTS})
        assert status == 200, reply
        if schema_file:
            with open(schema_file) as f:
                doc = json.load(f)
        else:
            with urllib.request.urlopen(server.url + "/openapi.json", timeout=10) as r:
                doc = json.loads(r.read())
        if max_items:
            doc = capped(doc, max_items)
        schema_path = os.path.join(workdir, "openapi.json")
        with open(schema_path, "w") as f:
            json.dump(doc, f)
        ndjson = os.path.join(workdir, "report.ndjson")
        cmd = [sys.executable, "-m", "schemathesis.cli", "--no-color", "run", schema_path, "--url", server.url,
               "--checks", ",".join(checks), "--max-time", str(max(1, int(seconds))),
               "--max-examples", str(max_examples), "--workers", str(workers), "--continue-on-failure",
               "--request-timeout", "60", "--output-sanitize", "false", "--suppress-health-check", "all",
               "--report", "ndjson", "--report-ndjson-path", ndjson]
        if seed is not None:
            cmd += ["--seed", str(seed)]
        started = time.time()
        proc = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, timeout=seconds + 600)
        result = summarise(ndjson) if os.path.exists(ndjson) else {
            "cases": 0, "statuses": collections.Counter(), "failures": collections.Counter(), "examples": {},
            "server_errors": [], "errors": ["no report: " + proc.stderr[-2000:]]}
        result.update(exit_code=proc.returncode, seconds=time.time() - started, output=proc.stdout,
                      alive=server.proc.poll() is None and server.healthy())
        if not result["alive"]:
            result["server_log"] = server.output()[-5000:]
        return result
    finally:
        server.stop()
        if own:
            shutil.rmtree(workdir, ignore_errors=True)


def report(r, out=print):
    out(f"cases: {r['cases']} in {r['seconds']:.0f} s; schemathesis exit code {r['exit_code']}")
    out("statuses: " + ", ".join(f"{k}: {v}" for k, v in sorted(r["statuses"].items(), key=lambda kv: str(kv[0]))))
    out(f"5xx answers: {len(r['server_errors'])}")
    for e in r["server_errors"][:20]:
        out("  " + e)
    out(f"failures: {sum(r['failures'].values())}")
    for kind, n in r["failures"].most_common():
        out(f"  {n:6d}  {kind}")
    for kind, text in r["examples"].items():
        out(f"--- first {kind}:\n{text}")
    for e in r["errors"][:10]:
        out(f"error: {e}")
    out("server: " + ("alive" if r["alive"] else "DEAD\n" + r.get("server_log", "")))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--minutes", type=float, default=5)
    p.add_argument("--binary", default=os.environ.get("NESTOR_BIN") or os.path.join(ROOT, ".build", "release", "nestor"))
    p.add_argument("--model", default=os.path.join(os.environ.get("NESTOR_MODELS", os.path.join(ROOT, "models")),
                                                   "multilingual-e5-small"))
    p.add_argument("--seed", type=int)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--max-items", type=int, help="cap every array in the document at this many items")
    p.add_argument("--checks", default=",".join(CHECKS), help="schemathesis checks (comma-separated, or 'all')")
    p.add_argument("--schema", help="an OpenAPI file to use instead of the server's /openapi.json")
    p.add_argument("--workdir", help="keep the report, schema and server log here")
    a = p.parse_args()
    if a.workdir:
        os.makedirs(a.workdir, exist_ok=True)
    r = campaign(a.binary, a.model, a.minutes * 60, seed=a.seed, workers=a.workers, max_items=a.max_items,
                 checks=a.checks.split(","), workdir=a.workdir, schema_file=a.schema)
    report(r)
    sys.exit(0 if r["alive"] and not r["server_errors"] and not r["failures"] and not r["errors"] else 1)


if __name__ == "__main__":
    main()
