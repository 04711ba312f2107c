#!/usr/bin/env python3
"""Golden encodings from Hugging Face `tokenizers` and from transformers 5's `AutoTokenizer` for
the Swift tokenizer tests.

Usage: python3 scripts/golden/tokenizer_golden.py NAME=PATH ...
PATH is a model folder, or a `tokenizer.json` file; beside a file NAME.tokenizer.json, a
NAME.tokenizer_config.json (and NAME.special_tokens_map.json) is what `AutoTokenizer` reads with
it, copied into a scratch folder.

Writes Tests/TokenizationTests/Fixtures/golden/strings.json (the inputs, once: real texts in 38
scripts, edge cases, trailing/leading/repeated white space and newlines, random code points) and
golden/NAME.json per tokenizer:
* `single`, `pairs`, `batch`: `tokenizers` (`Tokenizer.from_file`): for every string the ids and
  flattened offsets of `encode(s)`, pairs (`encode(a, b)`) with type ids, and a padded, truncated
  `encode_batch` with type ids and attention masks;
* `transformers`: the class `AutoTokenizer` chose and, only where they differ from `single` /
  `pairs`, its ids and offsets (`tok(s, return_offsets_mapping=True)`) and pair type ids, keyed
  by the string's index, so the file stays small.
"""
import json
import os
import shutil
import sys
import tempfile

import tokenizers
import transformers
from tokenizers import Tokenizer
from transformers import AutoTokenizer

sys.path.insert(0, os.path.dirname(__file__))
from corpus import full_golden_strings  # noqa: E402

OUT = "Tests/TokenizationTests/Fixtures/golden"


def flat_offsets(enc):
    return [x for o in enc.offsets for x in o]


def auto_tokenizer(path):
    if os.path.isdir(path):
        return AutoTokenizer.from_pretrained(path), None
    scratch = tempfile.mkdtemp()
    shutil.copy(path, os.path.join(scratch, "tokenizer.json"))
    stem = path[: -len("tokenizer.json")]
    for extra in ("tokenizer_config.json", "special_tokens_map.json"):
        if os.path.exists(stem + extra):
            shutil.copy(stem + extra, os.path.join(scratch, extra))
    return AutoTokenizer.from_pretrained(scratch), scratch


def main(specs):
    os.makedirs(OUT, exist_ok=True)
    strings = full_golden_strings()
    with open(f"{OUT}/strings.json", "w") as f:
        json.dump({"tokenizers_version": tokenizers.__version__, "transformers_version": transformers.__version__,
                   "strings": strings}, f, ensure_ascii=False)
    pairs = [(strings[i], strings[i + 1]) for i in range(0, 400, 2)]
    pairs += [(strings[i], strings[i + 1]) for i in range(6000, 6400, 2)]  # white space and random code points
    for spec in specs:
        name, path = spec.split("=", 1)
        file = os.path.join(path, "tokenizer.json") if os.path.isdir(path) else path
        tok = Tokenizer.from_file(file)
        tok.no_truncation()
        tok.no_padding()
        single = [[e.ids, flat_offsets(e)] for e in tok.encode_batch(strings)]
        pair = [[e.ids, e.type_ids, flat_offsets(e)] for e in (tok.encode(a, b) for a, b in pairs)]
        tok.enable_truncation(max_length=24)
        tok.enable_padding(pad_id=tok.token_to_id("[PAD]") or tok.token_to_id("<pad>") or 0,
                           pad_token="[PAD]" if tok.token_to_id("[PAD]") is not None else "<pad>")
        batch = [[e.ids, e.type_ids, e.attention_mask, flat_offsets(e)] for e in tok.encode_batch(strings[:200])]

        auto, scratch = auto_tokenizer(path)
        enc = auto(strings, return_offsets_mapping=True)
        t_single = {}
        for i, (ids, offs) in enumerate(zip(enc["input_ids"], enc["offset_mapping"])):
            got = [ids, [x for o in offs for x in o]]
            if got != single[i]:
                t_single[str(i)] = got
        enc = auto([a for a, _ in pairs], [b for _, b in pairs], return_offsets_mapping=True, return_token_type_ids=True)
        t_pairs = {}
        for i in range(len(pairs)):
            got = [enc["input_ids"][i], enc["token_type_ids"][i], [x for o in enc["offset_mapping"][i] for x in o]]
            if got != pair[i]:
                t_pairs[str(i)] = got
        if scratch:
            shutil.rmtree(scratch)
        with open(f"{OUT}/{name}.json", "w") as f:
            json.dump({"source": os.path.basename(path), "single": single, "pairs": pair,
                       "batch": {"max_length": 24, "encodings": batch},
                       "transformers": {"class": type(auto).__name__, "single": t_single, "pairs": t_pairs}},
                      f, separators=(",", ":"))
        print(f"{name}: {len(single)} strings; {type(auto).__name__} differs from tokenizers on {len(t_single)} "
              f"strings and {len(t_pairs)} of {len(pairs)} pairs", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1:])
