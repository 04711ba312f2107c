#!/usr/bin/env python3
"""Golden encodings from Hugging Face `tokenizers` for the Swift tokenizer tests.

Usage: python3 scripts/golden/tokenizer_golden.py NAME=PATH/tokenizer.json ...
Writes Tests/TokenizationTests/Fixtures/golden/strings.json (the inputs, once) and
golden/NAME.json per tokenizer: for every string the ids and flattened offsets of
`encode(s)`; plus pairs (`encode(a, b)`) and a padded, truncated `encode_batch` with type ids
and attention masks.
"""
import json
import os
import sys

import tokenizers
from tokenizers import Tokenizer

sys.path.insert(0, os.path.dirname(__file__))
from corpus import golden_strings  # noqa: E402

OUT = "Tests/TokenizationTests/Fixtures/golden"


def flat_offsets(enc):
    return [x for o in enc.offsets for x in o]


def main(specs):
    os.makedirs(OUT, exist_ok=True)
    strings = golden_strings()
    with open(f"{OUT}/strings.json", "w") as f:
        json.dump({"tokenizers_version": tokenizers.__version__, "strings": strings}, f, ensure_ascii=False)
    pairs = [(strings[i], strings[i + 1]) for i in range(0, 400, 2)]
    for spec in specs:
        name, path = spec.split("=", 1)
        tok = Tokenizer.from_file(path)
        tok.no_truncation()
        tok.no_padding()
        single = [[e.ids, flat_offsets(e)] for e in tok.encode_batch(strings)]
        pair = [[e.ids, e.type_ids, flat_offsets(e)] for e in (tok.encode(a, b) for a, b in pairs)]
        tok.enable_truncation(max_length=24)
        tok.enable_padding(pad_id=tok.token_to_id("[PAD]") or tok.token_to_id("<pad>") or 0,
                           pad_token="[PAD]" if tok.token_to_id("[PAD]") is not None else "<pad>")
        batch = [[e.ids, e.type_ids, e.attention_mask, flat_offsets(e)] for e in tok.encode_batch(strings[:200])]
        with open(f"{OUT}/{name}.json", "w") as f:
            json.dump({"source": os.path.basename(path), "single": single, "pairs": pair,
                       "batch": {"max_length": 24, "encodings": batch}}, f, separators=(",", ":"))
        print(name, len(single), "strings", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1:])
