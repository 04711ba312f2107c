#!/usr/bin/env python3
"""The lone-query latency on a quiet machine: one arm at a time, not alternated.

onnx_compare.py alternates Nestor and onnxruntime request by request so both see the same
machine, which is right for ratios; but between two of its own requests each server then sits
idle for the other's, so its threads have gone back to sleep and its caches hold the other's
weights. This script times the other case a search backend lives in: one client sending lone
10-word queries back to back over one keep-alive connection, each arm alone, in turn.

    /tmp/nestor-onnx/venv/bin/python Benchmarks/embedding/lone_query.py \
        [--models all-MiniLM-L6-v2,multilingual-e5-small] [--n 400] [--no-ort]

Arms per model: `nestor serve` fp32 and `--quantize int8`, and (unless --no-ort; needs the ONNX
files onnx_compare.py caches) its onnxruntime server with fp32 and int8 (per-tensor, ORT's
default). Writes Benchmarks/embedding/lone-query.json.
"""
import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import onnx_compare as oc  # noqa: E402
from run import QUERY  # noqa: E402


def time_arm(client, n, warmup=30):
    for _ in range(warmup):
        client.post([QUERY])
    return oc.stats([client.post([QUERY])[0] * 1000 for _ in range(n)])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="all-MiniLM-L6-v2,multilingual-e5-small")
    ap.add_argument("--models-dir", default=os.environ.get("NESTOR_MODELS", os.path.join(oc.ROOT, "models")))
    ap.add_argument("--nestor-bin", default=os.environ.get("NESTOR_BIN", os.path.join(oc.ROOT, ".build/release/nestor")))
    ap.add_argument("--n", type=int, default=400)
    ap.add_argument("--port", type=int, default=18750)
    ap.add_argument("--no-ort", action="store_true")
    ap.add_argument("--out", default=os.path.join(HERE, "lone-query.json"))
    args = ap.parse_args()
    procs = oc.Procs()
    results = {"what": "lone 10-word query, back to back over one keep-alive connection, one arm at a time; ms, client-side",
               "command": "python " + " ".join(sys.argv), "machine": oc.machine(), "query": QUERY, "n": args.n, "models": {}}
    logdir = os.path.join(oc.CACHE, "logs")
    os.makedirs(logdir, exist_ok=True)
    try:
        for name in args.models.split(","):
            folder = os.path.join(args.models_dir, name)
            arms = {}
            for label, extra in (("nestor fp32", []), ("nestor int8", ["--quantize", "int8"])):
                sqlite = os.path.join(oc.CACHE, f"lone-{name}-{os.getpid()}.sqlite")
                p = procs.start([args.nestor_bin, "serve", "--model", folder, "--host", "127.0.0.1", "--port", str(args.port),
                                 "--sqlite-path", sqlite] + extra, open(os.path.join(logdir, f"lone-{name}.log"), "w"))
                oc.wait_ready(args.port, p, label)
                arms[label] = time_arm(oc.Client(args.port), args.n)
                procs.stop(p)
                print(name, label, arms[label], flush=True)
            if not args.no_ort:
                oc.ensure_onnx(folder, ["fp32", "int8"])
                p = procs.start([sys.executable, os.path.join(HERE, "onnx_compare.py"), "serve-ort", "--model", folder,
                                 "--port", str(args.port), "--variants", "fp32,int8"],
                                open(os.path.join(logdir, f"lone-ort-{name}.log"), "w"))
                oc.wait_ready(args.port, p, "ORT server")
                for v in ("fp32", "int8"):
                    arms[f"ort {v}"] = time_arm(oc.Client(args.port, model=v), args.n)
                    print(name, f"ort {v}", arms[f"ort {v}"], flush=True)
                procs.stop(p)
            results["models"][name] = arms
    finally:
        procs.stop_all()
    results["machine"]["loadavg_end"] = os.getloadavg()
    with open(args.out, "w") as f:
        json.dump(results, f, indent=1)
    print("wrote", args.out)


if __name__ == "__main__":
    main()
