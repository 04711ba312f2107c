#!/usr/bin/env python3
"""Nestor's engine vs onnxruntime on the same texts, the two alternated request by request.

Setup (once, in a virtual environment outside CI's path; only PyPI is needed, torch is used
for the ONNX export only):

    python3 -m venv /tmp/nestor-onnx/venv
    /tmp/nestor-onnx/venv/bin/pip install torch onnx onnxscript onnxruntime tokenizers numpy transformers orjson

Run (NESTOR_BIN or --nestor-bin names a release `nestor`; default /tmp/nestor-snap/nestor):

    /tmp/nestor-onnx/venv/bin/python Benchmarks/embedding/onnx_compare.py \
        [--models all-MiniLM-L6-v2,multilingual-e5-small] [--nestor-args "--max-batch-tokens 8192"] \
        [--nestor-int8-args "--quantize int8"] [--reps 30] [--reps-128 12] [--optimized] [--no-inproc]

What it does, per model folder (a sentence-transformers folder under models/):
  * exports the transformer to ONNX with torch.onnx.export (input_ids, attention_mask,
    token_type_ids -> last_hidden_state; dynamic batch and sequence axes; opset 17), caches it
    under /tmp/nestor-onnx/<model>/ (never in git), and makes int8 copies with
    onnxruntime.quantization.quantize_dynamic(weight_type=QInt8), per_channel False ("int8",
    ORT's default) and True ("int8-pc"); --optimized adds onnxruntime.transformers' fused fp32
    graph ("fp32-opt").
  * starts `nestor serve --model DIR` (ports 18700-18749) and a minimal Python HTTP server
    around onnxruntime (this file's `serve-ort`, http.server, same POST /v1/embeddings request
    and response JSON, orjson for the floats when installed) with intra_op_num_threads=2,
    inter_op_num_threads=1 and thread spinning off (ORT spins its pool threads after every run by
    default; alternating arms on two cores, that spin lands on the next arm: with it on, Nestor's
    lone query went from ~11 ms to ~90-175 ms; NESTOR_ORT_SPIN=1 keeps ORT's default);
    tokenizer.json through the `tokenizers` package (truncation at the folder's max_seq_length,
    padding to the longest in the batch), mean pooling over the mask and L2 normalisation in numpy (what modules.json / 1_Pooling say), all timed.
  * Nestor int8: a second `nestor serve` with --nestor-int8-args, only when the binary's
    `serve --help` lists the flag; otherwise those points are skipped with a note.
  * checks once: cosine(Nestor, ORT fp32) on all texts (must be >= 0.9999), token counts equal,
    the ORT HTTP path equal to the in-process one, and each int8 variant's cosine to fp32.
  * times batch sizes 1, 8, 32, 128 (20-word sentences, run.py's source) and a lone 10-word
    query. Every repetition sends the same texts to every arm, one arm after the other, in an
    order that rotates each repetition (A, B, C, ..., then B, C, ..., A), after warm-up, so all
    arms see the same machine. Client-side wall time of the whole request (HTTP + JSON) for
    the HTTP arms; the in-process arms ("inproc:*", no HTTP) are for reference.
  * prints min / median / p90 per arm and point, the ratio of medians (Nestor / ORT: above 1
    means Nestor is slower) and its inverse, the speed-up (above 1 means Nestor is faster),
    and ORT's own split into tokenisation, inference and pooling; writes all of it to
    Benchmarks/embedding/onnx-results.json.
"""
import argparse
import http.client
import json
import os
import platform
import shlex
import signal
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
from run import QUERY, sentences  # noqa: E402  (run.py's texts: 20-word sentences, 10-word query)

CACHE = os.environ.get("NESTOR_ONNX_CACHE", "/tmp/nestor-onnx")
BATCHES = (1, 8, 32, 128)
VARIANT_FILES = {"fp32": "model.onnx", "fp32-opt": "model-opt.onnx", "int8": "model-int8.onnx",
                 "int8-pc": "model-int8-pc.onnx"}


# ---------------------------------------------------------------- model folder and ONNX files

def folder_config(folder):
    def load(name, default=None):
        p = os.path.join(folder, name)
        if not os.path.exists(p):
            return default
        with open(p) as f:
            return json.load(f)
    config = load("config.json", {})
    st = load("sentence_bert_config.json", {})
    modules = load("modules.json", [])
    pooling = {"pooling_mode_mean_tokens": True}
    normalize = False
    for m in modules:
        if m.get("type", "").endswith("Pooling"):
            pooling = load(os.path.join(m["path"], "config.json"), pooling)
        if m.get("type", "").endswith("Normalize"):
            normalize = True
    if pooling.get("pooling_mode_cls_token"):
        mode = "cls"
    elif pooling.get("pooling_mode_max_tokens"):
        mode = "max"
    else:
        mode = "mean"
    return {
        "model_type": config.get("model_type"),
        "token_type_ids": config.get("model_type") in ("bert",) and config.get("type_vocab_size", 0) > 0,
        "max_seq_length": int(st.get("max_seq_length") or config.get("max_position_embeddings", 512)),
        "num_heads": config.get("num_attention_heads"),
        "hidden_size": config.get("hidden_size"),
        "pooling": mode,
        "normalize": normalize,
    }


def export_onnx(folder, out):
    """torch.onnx.export of the folder's transformer (eager attention, opset 17, dynamic axes)."""
    import torch
    from transformers import AutoModel
    cfg = folder_config(folder)
    model = AutoModel.from_pretrained(folder, attn_implementation="eager").eval()
    names = ["input_ids", "attention_mask"] + (["token_type_ids"] if cfg["token_type_ids"] else [])

    class Wrapper(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, *inputs):
            return self.m(**dict(zip(names, inputs))).last_hidden_state

    ids = torch.full((2, 8), 1000, dtype=torch.long)
    mask = torch.ones_like(ids)
    mask[1, 5:] = 0  # a padded row, so the traced graph keeps the attention mask
    args = (ids, mask) + ((torch.zeros_like(ids),) if cfg["token_type_ids"] else ())
    axes = {n: {0: "batch", 1: "sequence"} for n in names + ["last_hidden_state"]}
    # Reference on a padded batch of another shape (computed before the export touches the model).
    import numpy as np
    import onnxruntime as ort
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(1000, 5000, (3, 19), generator=g)
    mask = torch.ones_like(ids)
    mask[1, 7:] = 0
    feed = (ids, mask) + ((torch.zeros_like(ids),) if cfg["token_type_ids"] else ())
    with torch.no_grad():
        ref = model(**dict(zip(names, feed))).last_hidden_state.numpy()
    tmp = out + ".tmp"
    with torch.no_grad():
        torch.onnx.export(Wrapper(model), args, tmp, input_names=names, output_names=["last_hidden_state"],
                          dynamic_axes=axes, opset_version=17, do_constant_folding=True, dynamo=False)
    sess = ort.InferenceSession(tmp, providers=["CPUExecutionProvider"])
    got = sess.run(None, {n: t.numpy() for n, t in zip(names, feed)})[0]
    err = float(np.abs(got - ref)[mask.numpy().astype(bool)].max())
    if err > 1e-3:
        raise SystemExit(f"exported {folder} differs from torch by {err}")
    os.replace(tmp, out)
    return err


def ensure_onnx(folder, variants, export_python=None):
    name = os.path.basename(os.path.normpath(folder))
    d = os.path.join(CACHE, name)
    os.makedirs(d, exist_ok=True)
    fp32 = os.path.join(d, VARIANT_FILES["fp32"])
    info = {}
    if not os.path.exists(fp32):
        t = time.perf_counter()
        if export_python:
            subprocess.run([export_python, os.path.abspath(__file__), "export", "--model", folder, "--out", fp32],
                           check=True)
        else:
            info["export_max_abs_diff"] = export_onnx(folder, fp32)
        info["export_s"] = round(time.perf_counter() - t, 1)
    from onnxruntime.quantization import QuantType, quantize_dynamic
    for v in variants:
        path = os.path.join(d, VARIANT_FILES[v])
        if os.path.exists(path) or v == "fp32":
            continue
        t = time.perf_counter()
        if v == "fp32-opt":
            from onnxruntime.transformers.optimizer import optimize_model
            cfg = folder_config(folder)
            m = optimize_model(fp32, model_type="bert", num_heads=cfg["num_heads"], hidden_size=cfg["hidden_size"])
            m.save_model_to_file(path + ".tmp.onnx")
            os.replace(path + ".tmp.onnx", path)
        else:
            quantize_dynamic(fp32, path + ".tmp.onnx", weight_type=QuantType.QInt8, per_channel=(v == "int8-pc"))
            os.replace(path + ".tmp.onnx", path)
        info[f"{v}_build_s"] = round(time.perf_counter() - t, 1)
    return {v: os.path.join(d, VARIANT_FILES[v]) for v in variants}, info


# ---------------------------------------------------------------- onnxruntime embedder

class OrtEmbedder:
    def __init__(self, folder, onnx_path):
        import numpy as np
        import onnxruntime as ort
        from tokenizers import Tokenizer
        self.np = np
        self.cfg = folder_config(folder)
        tok = Tokenizer.from_file(os.path.join(folder, "tokenizer.json"))
        tok.no_padding()
        tok.no_truncation()
        tok.enable_truncation(max_length=self.cfg["max_seq_length"])
        pad = None
        for cand in ("[PAD]", "<pad>"):
            if tok.token_to_id(cand) is not None:
                pad = cand
                break
        tok.enable_padding(pad_id=tok.token_to_id(pad) if pad else 0, pad_token=pad or "[PAD]")
        self.tok = tok
        so = ort.SessionOptions()
        so.intra_op_num_threads = 2
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if os.environ.get("NESTOR_ORT_SPIN", "0") != "1":
            # ORT's pool threads spin after each run by default; with arms alternating on two
            # cores that spin would be charged to whichever arm runs next (NESTOR_ORT_SPIN=1 keeps it).
            so.add_session_config_entry("session.intra_op.allow_spinning", "0")
            so.add_session_config_entry("session.inter_op.allow_spinning", "0")
        self.sess = ort.InferenceSession(onnx_path, so, providers=["CPUExecutionProvider"])
        self.inputs = [i.name for i in self.sess.get_inputs()]

    def embed(self, texts):
        """Returns (vectors float32 [n, d], token counts, {tokenize_ms, inference_ms, pooling_ms})."""
        np = self.np
        t0 = time.perf_counter()
        enc = self.tok.encode_batch(texts)
        ids = np.array([e.ids for e in enc], dtype=np.int64)
        mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self.inputs:
            feed["token_type_ids"] = np.array([e.type_ids for e in enc], dtype=np.int64)
        t1 = time.perf_counter()
        hidden = self.sess.run(None, feed)[0]
        t2 = time.perf_counter()
        m = mask.astype(np.float32)[:, :, None]
        if self.cfg["pooling"] == "cls":
            v = hidden[:, 0]
        elif self.cfg["pooling"] == "max":
            v = np.where(m > 0, hidden, -1e9).max(axis=1)
        else:
            v = (hidden * m).sum(axis=1) / np.clip(m.sum(axis=1), 1e-9, None)
        if self.cfg["normalize"]:
            v = v / np.clip(np.linalg.norm(v, axis=1, keepdims=True), 1e-12, None)
        v = np.ascontiguousarray(v, dtype=np.float32)
        t3 = time.perf_counter()
        return v, mask.sum(axis=1).tolist(), {"tokenize_ms": (t1 - t0) * 1e3, "inference_ms": (t2 - t1) * 1e3,
                                              "pooling_ms": (t3 - t2) * 1e3}


def serve_ort(folder, paths, port):
    """A minimal POST /v1/embeddings server around onnxruntime; `model` picks the variant."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    import base64
    try:
        import orjson
    except ImportError:
        orjson = None
    engines = {v: OrtEmbedder(folder, p) for v, p in paths.items()}
    default = next(iter(engines))

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, *a):
            pass

        def reply(self, code, body, extra=()):
            head = [f"HTTP/1.1 {code} OK", "Content-Type: application/json", f"Content-Length: {len(body)}"]
            head += [f"{k}: {v}" for k, v in extra]
            self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)

        def do_GET(self):
            self.reply(200, json.dumps({"object": "list", "data": [{"id": v, "object": "model"} for v in engines]}).encode())

        def do_POST(self):
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            req = json.loads(raw)
            inp = req["input"]
            texts = [inp] if isinstance(inp, str) else inp
            variant = req.get("model") if req.get("model") in engines else default
            vecs, counts, t = engines[variant].embed(texts)
            t4 = time.perf_counter()
            b64 = req.get("encoding_format") == "base64"
            data = [{"object": "embedding", "index": i,
                     "embedding": base64.b64encode(v.tobytes()).decode() if b64 else (v if orjson else v.tolist())}
                    for i, v in enumerate(vecs)]
            n = int(sum(counts))
            resp = {"object": "list", "data": data, "model": variant, "usage": {"prompt_tokens": n, "total_tokens": n}}
            body = orjson.dumps(resp, option=orjson.OPT_SERIALIZE_NUMPY) if orjson else json.dumps(resp).encode()
            t["serialize_ms"] = (time.perf_counter() - t4) * 1e3
            self.reply(200, body, [("X-Ort-Timing", ",".join(f"{k}={v:.3f}" for k, v in t.items()))])

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)  # one thread per connection (one per variant)
    print("ready", flush=True)
    server.serve_forever()


# ---------------------------------------------------------------- HTTP client and processes

class Client:
    def __init__(self, port, model=None, encoding="float"):
        self.port, self.model, self.encoding = port, model, encoding
        self.conn = None

    def _connect(self):
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
        self.conn.connect()
        self.conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def post(self, texts):
        """Returns (seconds, raw body, headers); the whole request and response are timed."""
        body = {"input": texts}
        if self.model:
            body["model"] = self.model
        if self.encoding != "float":
            body["encoding_format"] = self.encoding
        payload = json.dumps(body).encode()
        for attempt in range(3):
            if self.conn is None:
                self._connect()
            try:
                t = time.perf_counter()
                self.conn.request("POST", "/v1/embeddings", payload, {"Content-Type": "application/json"})
                r = self.conn.getresponse()
                raw = r.read()
                dt = time.perf_counter() - t
            except (http.client.HTTPException, ConnectionError, OSError):
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise
                continue
            if r.status != 200:
                raise RuntimeError(f"port {self.port}: HTTP {r.status}: {raw[:300]!r}")
            return dt, raw, dict(r.getheaders())

    def vectors(self, texts):
        import base64
        import numpy as np
        _, raw, _ = self.post(texts)
        doc = json.loads(raw)
        rows = [d["embedding"] for d in sorted(doc["data"], key=lambda d: d["index"])]
        if rows and isinstance(rows[0], str):
            rows = [np.frombuffer(base64.b64decode(r), dtype=np.float32) for r in rows]
        return np.array(rows, dtype=np.float32), doc.get("usage", {}).get("prompt_tokens")


def wait_ready(port, proc, what, seconds=300):
    end = time.time() + seconds
    while time.time() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            c.request("GET", "/v1/models")
            if c.getresponse().status == 200:
                c.close()
                return
        except OSError:
            pass
        time.sleep(0.25)
    raise RuntimeError(f"{what} not ready on port {port} after {seconds} s")


class Procs:
    """Processes this run started; stopped by their own PIDs only."""

    def __init__(self):
        self.procs = []

    def start(self, cmd, log):
        p = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=False)
        self.procs.append(p)
        return p

    def stop(self, p):
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        if p in self.procs:
            self.procs.remove(p)

    def stop_all(self):
        for p in list(self.procs):
            self.stop(p)


def machine():
    """CPU model and the vector extensions the kernels choose between, with the load at start."""
    model, flags = None, set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == "model name" and model is None:
                    model = value.strip()
                elif key.strip() == "flags" and not flags:
                    flags = set(value.split())
    except OSError:
        pass
    wanted = ["avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni"]
    return {"cpus": os.cpu_count(), "cpu": model, "vector": [f for f in wanted if f in flags],
            "platform": platform.platform(), "loadavg_start": os.getloadavg()}


def nestor_accepts(binary, flag):
    out = subprocess.run([binary, "serve", "--help"], capture_output=True, text=True).stdout
    return flag.split("=")[0] in out.split()


# ---------------------------------------------------------------- measurement

def stats(xs):
    xs = sorted(xs)
    n = len(xs)
    return {"n": n, "min_ms": xs[0], "median_ms": (xs[(n - 1) // 2] + xs[n // 2]) / 2, "p90_ms": xs[min(n - 1, (n * 9) // 10)]}


def cosines(a, b):
    import numpy as np
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return (a * b).sum(axis=1)


def check(texts, nestor, ort_clients, inproc, nestor_int8):
    """Once per model: Nestor vs ORT fp32, ORT HTTP vs in-process, int8 vs fp32."""
    import numpy as np
    out = {}
    ref_chunks, counts, nv, nt = [], [], [], 0
    for i in range(0, len(texts), 32):
        chunk = texts[i:i + 32]
        v, c, _ = inproc["fp32"].embed(chunk)
        ref_chunks.append(v)
        counts += c
        vec, tokens = nestor.vectors(chunk)
        nv.append(vec)
        nt += tokens or 0
    ref, nv = np.concatenate(ref_chunks), np.concatenate(nv)
    cs = cosines(nv, ref)
    out["nestor_vs_ort_fp32"] = {"texts": len(texts), "cos_min": float(cs.min()), "cos_mean": float(cs.mean()),
                                 "max_abs_diff": float(np.abs(nv - ref).max()), "pass": bool(cs.min() >= 0.9999),
                                 "nestor_tokens": nt, "ort_tokens": int(sum(counts)), "tokens_equal": nt == sum(counts)}
    http_fp32 = np.concatenate([ort_clients["fp32"].vectors(texts[i:i + 32])[0] for i in range(0, len(texts), 32)])
    out["ort_http_vs_inproc_fp32_max_abs_diff"] = float(np.abs(http_fp32 - ref).max())
    for v, e in inproc.items():
        if v == "fp32":
            continue
        q = np.concatenate([e.embed(texts[i:i + 32])[0] for i in range(0, len(texts), 32)])
        c = cosines(q, ref)
        out[f"ort_{v}_vs_ort_fp32"] = {"cos_min": float(c.min()), "cos_mean": float(c.mean())}
    if nestor_int8 is not None:
        q = np.concatenate([nestor_int8.vectors(texts[i:i + 32])[0] for i in range(0, len(texts), 32)])
        c = cosines(q, ref)
        out["nestor_int8_vs_ort_fp32"] = {"cos_min": float(c.min()), "cos_mean": float(c.mean())}
    return out


def measure(arms, inputs_for, reps, warmup):
    """arms: list of (name, fn(texts) -> (seconds, timing dict or None)). Alternates arms each repetition."""
    for _ in range(warmup):
        for _, fn in arms:
            fn(inputs_for(0))
    times = {name: [] for name, _ in arms}
    split = {name: {} for name, _ in arms}
    for r in range(reps):
        texts = inputs_for(r)
        k = r % len(arms)
        for name, fn in arms[k:] + arms[:k]:
            dt, t = fn(texts)
            times[name].append(dt * 1e3)
            for key, val in (t or {}).items():
                split[name][key] = split[name].get(key, 0.0) + val
    res = {}
    for name, xs in times.items():
        s = stats(xs)
        if split[name]:
            s["ort_split_total_ms"] = {k: round(v, 2) for k, v in split[name].items()}
        res[name] = s
    return res


def parse_timing(headers):
    h = headers.get("X-Ort-Timing") or headers.get("x-ort-timing")
    if not h:
        return None
    return {k: float(v) for k, v in (p.split("=") for p in h.split(","))}


def bench_model(args, name, texts, procs, port0, notes):
    folder = os.path.join(args.models_dir, name)
    variants = args.variants.split(",")
    if args.optimized and "fp32-opt" not in variants:
        variants.insert(1, "fp32-opt")
    paths, build = ensure_onnx(folder, variants, args.export_python)
    logdir = os.path.join(CACHE, "logs")
    os.makedirs(logdir, exist_ok=True)
    result = {"folder": folder, "config": folder_config(folder), "onnx": {v: os.path.basename(p) for v, p in paths.items()},
              "onnx_build": build}

    base = [args.nestor_bin, "serve", "--model", folder, "--host", "127.0.0.1", "--idle-timeout", "600"]
    extra = shlex.split(args.nestor_args)
    sqlite = os.path.join(CACHE, f"bench-{name}-{os.getpid()}")
    nestor_p = procs.start(base + ["--port", str(port0), "--sqlite-path", sqlite + ".sqlite"] + extra,
                           open(os.path.join(logdir, f"nestor-{name}.log"), "w"))
    int8_extra = shlex.split(args.nestor_int8_args) if args.nestor_int8_args else []
    nestor8_p = None
    if int8_extra and nestor_accepts(args.nestor_bin, int8_extra[0]):
        nestor8_p = procs.start(base + ["--port", str(port0 + 1), "--sqlite-path", sqlite + "-int8.sqlite"] + extra + int8_extra,
                                open(os.path.join(logdir, f"nestor-int8-{name}.log"), "w"))
    elif int8_extra:
        note = f"{name}: nestor serve does not accept {int8_extra[0]}; Nestor int8 points skipped"
        notes.append(note)
        print("note:", note, flush=True)
    ort_p = procs.start([sys.executable, os.path.abspath(__file__), "serve-ort", "--model", folder, "--port", str(port0 + 2),
                         "--variants", ",".join(variants)], open(os.path.join(logdir, f"ort-{name}.log"), "w"))
    try:
        wait_ready(port0, nestor_p, "nestor serve")
        if nestor8_p:
            wait_ready(port0 + 1, nestor8_p, "nestor serve (int8)")
        wait_ready(port0 + 2, ort_p, "ORT server")
        nestor = Client(port0, encoding=args.encoding)
        nestor8 = Client(port0 + 1, encoding=args.encoding) if nestor8_p else None
        ort_clients = {v: Client(port0 + 2, model=v, encoding=args.encoding) for v in variants}
        inproc = {v: OrtEmbedder(folder, paths[v]) for v in variants}

        result["check"] = check(texts, nestor, ort_clients, inproc, nestor8)
        print(f"\n{name}: check {json.dumps(result['check'])}", flush=True)

        def http_arm(client):
            def fn(t):
                dt, _, headers = client.post(t)
                return dt, parse_timing(headers)
            return fn

        def inproc_arm(e):
            def fn(t):
                s = time.perf_counter()
                _, _, split = e.embed(t)
                return time.perf_counter() - s, split
            return fn

        arms = [("nestor", http_arm(nestor))]
        if nestor8:
            arms.append(("nestor-int8", http_arm(nestor8)))
        arms += [(f"ort:{v}", http_arm(c)) for v, c in ort_clients.items()]
        if not args.no_inproc:
            arms += [(f"inproc:{v}", inproc_arm(e)) for v, e in inproc.items()]

        points = {}
        plan = [(f"batch{b}", b) for b in BATCHES] + [("query", 0)]
        for label, b in plan:
            if args.points and label not in args.points.split(","):
                continue
            if b == 0:
                inputs_for, reps = (lambda r: [QUERY]), args.reps_query
            else:
                inputs_for = (lambda r, b=b: [texts[(r * b + k) % len(texts)] for k in range(b)])
                reps = args.reps_128 if b >= 128 else args.reps
            t = time.perf_counter()
            res = measure(arms, inputs_for, reps, args.warmup if b < 128 else max(1, args.warmup // 2))
            pt = {"batch": max(b, 1), "reps": reps, "arms": res, "wall_s": round(time.perf_counter() - t, 1),
                  "loadavg": os.getloadavg()}
            ratios = {}
            for nname in [a for a in ("nestor", "nestor-int8") if a in res]:
                for other in res:
                    if other.startswith("nestor"):
                        continue
                    r = res[nname]["median_ms"] / res[other]["median_ms"]
                    ratios[f"{nname}/{other}"] = {"time_ratio": r, "speedup": 1 / r}
            pt["ratios"] = ratios
            points[label] = pt
            print_point(name, label, pt)
        result["points"] = points
    finally:
        for p in (nestor_p, nestor8_p, ort_p):
            if p:
                procs.stop(p)
        for suffix in (".sqlite", "-int8.sqlite"):
            for tail in ("", ".lock", "-wal", "-shm"):
                try:
                    os.remove(sqlite + suffix + tail)
                except OSError:
                    pass
    return result


def print_point(model, label, pt):
    b = pt["batch"]
    print(f"\n{model} {label} ({pt['reps']} reps, load {pt['loadavg'][0]:.1f}, {pt['wall_s']} s)")
    print(f"  {'arm':16} {'min ms':>9} {'median':>9} {'p90':>9} {'sent/s':>8}   split (ORT, total ms: tok / inf / pool / json)")
    for arm, s in pt["arms"].items():
        sp = s.get("ort_split_total_ms")
        spl = " / ".join(f"{sp.get(k, 0):.0f}" for k in ("tokenize_ms", "inference_ms", "pooling_ms", "serialize_ms")) if sp else ""
        print(f"  {arm:16} {s['min_ms']:9.2f} {s['median_ms']:9.2f} {s['p90_ms']:9.2f} {b / s['median_ms'] * 1e3:8.1f}   {spl}")
    for k, r in pt["ratios"].items():
        print(f"  {k:32} Nestor/ORT time {r['time_ratio']:5.2f}   speed-up {r['speedup']:5.2f}x")
    sys.stdout.flush()


def summary(results):
    print("\nSummary (HTTP arms): ratio of medians, Nestor time / ORT time, and in brackets the speed-up"
          " (ORT / Nestor; above 1 means Nestor is faster). In-process ratios are in each point above and in the JSON.")
    cols = []
    for m in results["models"].values():
        for pt in m.get("points", {}).values():
            for k in pt["ratios"]:
                if "/ort:" in k and k not in cols:
                    cols.append(k)
    for name, m in results["models"].items():
        print(f"\n{name}")
        print(f"  {'point':8} " + " ".join(f"{c:>24}" for c in cols))
        for label, pt in m.get("points", {}).items():
            cells = []
            for c in cols:
                r = pt["ratios"].get(c)
                cells.append(f"{r['time_ratio']:.2f} ({r['speedup']:.2f}x)" if r else "")
            print(f"  {label:8} " + " ".join(f"{x:>24}" for x in cells))


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "export":
        ap = argparse.ArgumentParser()
        ap.add_argument("cmd")
        ap.add_argument("--model", required=True)
        ap.add_argument("--out", required=True)
        a = ap.parse_args()
        print("max |diff| vs torch:", export_onnx(a.model, a.out))
        return
    if len(sys.argv) > 1 and sys.argv[1] == "serve-ort":
        ap = argparse.ArgumentParser()
        ap.add_argument("cmd")
        ap.add_argument("--model", required=True)
        ap.add_argument("--port", type=int, required=True)
        ap.add_argument("--variants", default="fp32")
        a = ap.parse_args()
        name = os.path.basename(os.path.normpath(a.model))
        serve_ort(a.model, {v: os.path.join(CACHE, name, VARIANT_FILES[v]) for v in a.variants.split(",")}, a.port)
        return

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", default="all-MiniLM-L6-v2,multilingual-e5-small")
    ap.add_argument("--models-dir", default=os.environ.get("NESTOR_MODELS", os.path.join(ROOT, "models")))
    ap.add_argument("--nestor-bin", default=os.environ.get("NESTOR_BIN", "/tmp/nestor-snap/nestor"))
    ap.add_argument("--nestor-args", default="", help="extra `nestor serve` flags for every Nestor server")
    ap.add_argument("--nestor-int8-args", default="--quantize int8",
                    help="flags for a second, int8 Nestor server (skipped when serve --help lacks the flag; '' to skip)")
    ap.add_argument("--variants", default="fp32,int8,int8-pc", help="ORT models: fp32, fp32-opt, int8, int8-pc")
    ap.add_argument("--optimized", action="store_true", help="add ORT's fused fp32 graph (fp32-opt)")
    ap.add_argument("--no-inproc", action="store_true", help="leave out the in-process ORT arms")
    ap.add_argument("--encoding", default="float", choices=["float", "base64"])
    ap.add_argument("--reps", type=int, default=30)
    ap.add_argument("--reps-128", type=int, default=12)
    ap.add_argument("--reps-query", type=int, default=40)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--points", default="", help="subset, e.g. batch1,query")
    ap.add_argument("--port", type=int, default=18700, help="first port; each model uses 3 (18700-18749)")
    ap.add_argument("--export-python", default=None, help="a Python with torch for the export (default: this one)")
    ap.add_argument("--out", default=os.path.join(HERE, "onnx-results.json"))
    args = ap.parse_args()
    if not os.path.exists(args.nestor_bin):
        raise SystemExit(f"no nestor binary at {args.nestor_bin} (set NESTOR_BIN or --nestor-bin)")

    import numpy
    import onnxruntime
    import tokenizers
    texts = sentences()
    try:
        import orjson  # noqa: F401
        has_orjson = True
    except ImportError:
        has_orjson = False
    try:
        commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    except OSError:
        commit = None
    st = os.stat(args.nestor_bin)
    results = {
        "what": "Nestor (nestor serve, POST /v1/embeddings) vs onnxruntime (same-shape Python HTTP server, and in process), "
                "alternated request by request; times in ms, client-side",
        "command": " ".join([os.path.basename(sys.executable)] + [os.path.relpath(os.path.abspath(__file__), ROOT)] + sys.argv[1:]),
        "machine": machine(),
        "versions": {"onnxruntime": onnxruntime.__version__, "tokenizers": tokenizers.__version__, "numpy": numpy.__version__,
                     "python": platform.python_version(), "orjson": has_orjson},
        "nestor": {"binary": args.nestor_bin, "mtime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(st.st_mtime)),
                   "size": st.st_size, "tree_commit": commit, "serve_args": args.nestor_args,
                   "int8_args": args.nestor_int8_args},
        "ort": {"intra_op_num_threads": 2, "inter_op_num_threads": 1, "opset": 17, "variants": args.variants,
                "allow_spinning": os.environ.get("NESTOR_ORT_SPIN", "0") == "1"},
        "texts": {"count": len(texts), "words_each": 20, "source": "run.py sentences()", "query": QUERY},
        "encoding_format": args.encoding,
        "notes": [],
        "models": {},
    }
    procs = Procs()
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(143))  # so `finally` stops the servers
    try:
        for i, name in enumerate(args.models.split(",")):
            results["models"][name] = bench_model(args, name, texts, procs, args.port + 4 * i, results["notes"])
            results["machine"]["loadavg_end"] = os.getloadavg()
            with open(args.out, "w") as f:
                json.dump(results, f, indent=1)
    finally:
        procs.stop_all()
    summary(results)
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
