#!/usr/bin/env python3
"""Tiny random-weight Qwen3-Reranker fixtures and their model-card reference scores.

Usage (offline; torch CPU, transformers 5, tokenizers installed):

    python3 scripts/golden/gen_qwen3_reranker_fixture.py

Writes, under Tests/EmbeddingModelTests/Fixtures:

- tiny-qwen3-reranker/: a `Qwen3ForCausalLM` (hidden 32, 2 layers, 4 heads, 2 KV heads, head_dim 8,
  128 positions) with `tie_word_embeddings` true, laid out as the official Qwen/Qwen3-Reranker-*
  folders are (config.json, model.safetensors, tokenizer.json, tokenizer_config.json naming
  `Qwen2Tokenizer`). Its byte-level BPE tokenizer is the tiny-qwen3 one with "yes" made a single
  token (one vocabulary entry, one merge `y es` at the lowest priority), `<think>` / `</think>`
  added as non-special added tokens as in Qwen3's tokenizer, and a plain ByteLevel post-processor
  (the official reranker's tokenizer adds no special tokens; tiny-qwen3's appends <|endoftext|>,
  which is Qwen3-Embedding's).
- tiny-qwen3-reranker-untied/: the same with `tie_word_embeddings` false and its own random
  `lm_head.weight` (the Qwen3-Reranker-4B / 8B layout).
- tiny-qwen3-reranker-seqcls/: the tied model converted to `Qwen3ForSequenceClassification` as
  the community "seq-cls" conversions do it: `score.weight` = [lm_head["yes"] − lm_head["no"]],
  shape [1, hidden], so sigmoid(score) = P("yes").

Each folder's reference.json holds, for ~14 (instruction, query, document) cases, the token ids
of the model card's recipe (prefix + formatted pair truncated to max_length − len(prefix) −
len(suffix) + suffix) and its scores: P("yes") from the last position's [no, yes] logits of
`AutoModelForCausalLM` on `AutoTokenizer(padding_side="left")` input, alone and all cases in one
left-padded batch, at max_length 128 (the position table) and at 100 (truncation). The final norm
weight is calibrated so the cases' yes − no logits have mean 0 and a spread of ~2.5: random
weights would otherwise put every score near 0.5, where a mistake hides.
"""
import json
import os
import shutil
import sys

import numpy as np
import tokenizers
import torch
import transformers
from tokenizers import Tokenizer
from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FIX = os.path.join(ROOT, "Tests", "EmbeddingModelTests", "Fixtures")
BASE_TOKENIZER = os.path.join(FIX, "tiny-qwen3", "tokenizer.json")

# The model card's template (Qwen/Qwen3-Reranker-0.6B README, "Transformers Usage").
PREFIX = ("<|im_start|>system\nJudge whether the Document meets the requirements based on the Query and "
          "the Instruct provided. Note that the answer can only be \"yes\" or \"no\".<|im_end|>\n<|im_start|>user\n")
SUFFIX = "<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n"
DEFAULT_INSTRUCTION = "Given a web search query, retrieve relevant passages that answer the query"
MAX_LENGTH = 256
SHORT_MAX_LENGTH = 160

LONG_EN = ("The quick brown fox jumps over the lazy dog while the farmer watches from the old barn, "
           "counting sheep and thinking about the harvest that will come in the autumn months ahead. ")

# (instruction or None for the default, query, document)
CASES = [
    (None, "What is the capital of China?", "The capital of China is Beijing."),
    (None, "What is the capital of China?", "Gravity is a force that attracts two bodies towards each other."),
    (None, "Explain gravity", "Gravity is a force that attracts two bodies towards each other."),
    (None, "how to copy a file", "To copy a file, use cp SOURCE DEST."),
    (None, "how to copy a file", "Use mv to move or rename files."),
    (None, "How many people live in Berlin?", ""),
    (None, "", "A document without a query."),
    (None, "yes", "no"),
    (None, "How many people live in Berlin?", LONG_EN * 3),
    (None, LONG_EN * 2, "short document"),
    (None, "Wie kopiere ich eine Datei?", "Mit cp QUELLE ZIEL kopiert man eine Datei."),
    (None, "北京是哪个国家的首都？", "北京是中华人民共和国的首都。"),
    (None, "emoji 🙂 test", "café naïve résumé — “quotes” and <think> tags </think>"),
    ("Given a question, retrieve Wikipedia passages that answer it", "What is the capital of China?",
     "The capital of China is Beijing."),
    ("Judge whether the code snippet solves the task", "reverse a list in python", "xs[::-1]"),
]


def write_json(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, indent=2)
        f.write("\n")


def make_tokenizer(dst):
    tok = json.load(open(BASE_TOKENIZER, encoding="utf-8"))
    vocab = tok["model"]["vocab"]
    merges = tok["model"]["merges"]
    assert "yes" not in vocab and "no" in vocab
    next_id = max(max(vocab.values()), max(t["id"] for t in tok["added_tokens"])) + 1
    vocab["yes"] = next_id
    merges.append(["y", "es"])
    next_id += 1
    for content in ["<think>", "</think>"]:
        tok["added_tokens"].append({"id": next_id, "content": content, "single_word": False, "lstrip": False,
                                    "rstrip": False, "normalized": False, "special": False})
        next_id += 1
    tok["post_processor"] = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}
    tok["truncation"] = None
    tok["padding"] = None
    write_json(dst, tok)
    t = Tokenizer.from_file(dst)
    assert t.encode("yes", add_special_tokens=False).ids == [vocab["yes"]]
    assert t.encode("no", add_special_tokens=False).ids == [vocab["no"]]
    return next_id, tok["added_tokens"]


def tokenizer_config(added):
    # As the official Qwen3-Reranker folders have it (trimmed): the class transformers rebuilds,
    # the chat specials, left padding.
    return {
        "add_bos_token": False,
        "add_prefix_space": False,
        "added_tokens_decoder": {str(t["id"]): {k: t[k] for k in ["content", "lstrip", "normalized", "rstrip",
                                                                  "single_word", "special"]} for t in added},
        "bos_token": None,
        "clean_up_tokenization_spaces": False,
        "eos_token": "<|im_end|>",
        "errors": "replace",
        "model_max_length": 131072,
        "pad_token": "<|endoftext|>",
        "split_special_tokens": False,
        "tokenizer_class": "Qwen2Tokenizer",
        "unk_token": None,
    }


def perturb(model, seed):
    """Random weights with non-trivial norms, so every part of the forward pass matters."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.copy_(1 + 0.2 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(0.2 * torch.randn(p.shape, generator=g))


def format_instruction(instruction, query, doc):
    if instruction is None:
        instruction = DEFAULT_INSTRUCTION
    return "<Instruct>: {instruction}\n<Query>: {query}\n<Document>: {doc}".format(
        instruction=instruction, query=query, doc=doc)


class Recipe:
    """The model card's code, unchanged but for the folder and max_length."""

    def __init__(self, folder, max_length):
        self.tokenizer = AutoTokenizer.from_pretrained(folder, padding_side="left")
        self.max_length = max_length
        self.token_false_id = self.tokenizer.convert_tokens_to_ids("no")
        self.token_true_id = self.tokenizer.convert_tokens_to_ids("yes")
        self.prefix_tokens = self.tokenizer.encode(PREFIX, add_special_tokens=False)
        self.suffix_tokens = self.tokenizer.encode(SUFFIX, add_special_tokens=False)

    def process_inputs(self, pairs):
        inputs = self.tokenizer(
            pairs, padding=False, truncation="longest_first",
            return_attention_mask=False, max_length=self.max_length - len(self.prefix_tokens) - len(self.suffix_tokens)
        )
        for i, ele in enumerate(inputs["input_ids"]):
            inputs["input_ids"][i] = self.prefix_tokens + ele + self.suffix_tokens
        ids = [list(x) for x in inputs["input_ids"]]
        inputs = self.tokenizer.pad(inputs, padding=True, return_tensors="pt", max_length=self.max_length)
        return inputs, ids

    @torch.no_grad()
    def compute_logits(self, model, inputs):
        batch_scores = model(**inputs).logits[:, -1, :]
        true_vector = batch_scores[:, self.token_true_id]
        false_vector = batch_scores[:, self.token_false_id]
        batch_scores = torch.stack([false_vector, true_vector], dim=1)
        raw = batch_scores.tolist()
        batch_scores = torch.nn.functional.log_softmax(batch_scores, dim=1)
        return batch_scores[:, 1].exp().tolist(), raw


def last_normed_states(model, recipe):
    """RMS-normalised (before the norm's weight) last-token states of every case, run alone."""
    states = []
    norm = model.model.norm
    hook = norm.register_forward_hook(lambda mod, inp, out: states.append(inp[0][0, -1].double().clone()))
    for c in CASES:
        inputs, _ = recipe.process_inputs([format_instruction(*c)])
        with torch.no_grad():
            model(**inputs)
    hook.remove()
    x = torch.stack(states)
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + norm.variance_epsilon)


def calibrate(model, recipe, spread):
    """Sets the final norm weight g so the cases' logit differences (g ⊙ n) · (W_yes − W_no) have
    mean 0 and standard deviation `spread`: the direction all cases share is projected out of g
    (rather than cancelled by a large offset), so no large terms cancel in float32."""
    n = last_normed_states(model, recipe)
    w = model.lm_head.weight.double()
    diff = w[recipe.token_true_id] - w[recipe.token_false_id]
    a = n * diff  # logit difference of case k = a_k · g
    g = model.model.norm.weight.double().clone()
    mean = a.mean(0)
    g -= (g @ mean) / (mean @ mean) * mean
    g *= spread / (a @ g).std(unbiased=False)
    with torch.no_grad():
        model.model.norm.weight.copy_(g.float())


def reference(folder, arch):
    out = {"max_length": MAX_LENGTH, "prefix": PREFIX, "suffix": SUFFIX, "default_instruction": DEFAULT_INSTRUCTION,
           "versions": {"torch": torch.__version__, "transformers": transformers.__version__,
                        "tokenizers": tokenizers.__version__}}
    if arch == "causal":
        model = AutoModelForCausalLM.from_pretrained(folder).eval()
    else:
        model = AutoModelForSequenceClassification.from_pretrained(folder).eval()
    cases = [{"instruction": i, "query": q, "document": d} for i, q, d in CASES]
    for key, max_length in [("", MAX_LENGTH), ("_short", SHORT_MAX_LENGTH)]:
        recipe = Recipe(folder, max_length)
        assert type(recipe.tokenizer).__name__ == "Qwen2Tokenizer", type(recipe.tokenizer)
        out["yes_id"], out["no_id"] = recipe.token_true_id, recipe.token_false_id
        out["prefix_ids"], out["suffix_ids"] = recipe.prefix_tokens, recipe.suffix_tokens
        texts = [format_instruction(*c) for c in CASES]
        batch, ids = recipe.process_inputs(texts)
        assert batch["input_ids"].shape[1] <= max_length
        if arch == "causal":
            batched, _ = recipe.compute_logits(model, batch)
        else:
            with torch.no_grad():
                batched = torch.sigmoid(model(**batch).logits[:, 0]).tolist()
        for c, text, seq, sb in zip(cases, texts, ids, batched):
            inputs, one = recipe.process_inputs([text])
            assert one[0] == seq
            if arch == "causal":
                s, raw = recipe.compute_logits(model, inputs)
                c["logits" + key] = raw[0]
            else:
                with torch.no_grad():
                    logit = model(**inputs).logits[0, 0]
                s = [float(torch.sigmoid(logit))]
                c["logits" + key] = [float(logit)]
            c["input_ids" + key] = seq
            c["score" + key] = s[0]
            c["score_batched" + key] = sb
        out["max_length" + key] = max_length
    out["cases"] = cases
    write_json(os.path.join(folder, "reference.json"), out)
    scores = [c["score"] for c in cases]
    worst = max(abs(c["score"] - c["score_batched"]) for c in cases)
    longest = max(len(c["input_ids"]) for c in cases)
    truncated = sum(len(c["input_ids"]) == MAX_LENGTH for c in cases)
    print(f"{os.path.basename(folder)}: {len(cases)} cases, prefix {len(out['prefix_ids'])} suffix "
          f"{len(out['suffix_ids'])} tokens, longest {longest} ({truncated} at the limit), scores "
          f"{min(scores):.3f}..{max(scores):.3f} std {np.std(scores):.3f}, batched vs alone {worst:.1e}",
          file=sys.stderr)
    return out


def save(model, folder, tokenizer_json, tok_config):
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    model.save_pretrained(folder)
    shutil.copy(tokenizer_json, os.path.join(folder, "tokenizer.json"))
    write_json(os.path.join(folder, "tokenizer_config.json"), tok_config)
    for junk in ["generation_config.json", "README.md", "special_tokens_map.json", "chat_template.jinja"]:
        p = os.path.join(folder, junk)
        if os.path.exists(p):
            os.remove(p)
    for f in os.listdir(folder):
        os.chmod(os.path.join(folder, f), 0o644)


def build_causal(name, tied, seed, tokenizer_json, tok_config, vocab_size):
    cfg = transformers.Qwen3Config(
        vocab_size=vocab_size, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, head_dim=8, max_position_embeddings=MAX_LENGTH, rms_norm_eps=1e-6,
        rope_theta=1_000_000.0, tie_word_embeddings=tied, bos_token_id=None, eos_token_id=2, pad_token_id=0,
        architectures=["Qwen3ForCausalLM"])
    torch.manual_seed(seed)
    model = transformers.Qwen3ForCausalLM(cfg).eval()
    perturb(model, seed)
    if tied:
        model.tie_weights()
        assert model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr()
    folder = os.path.join(FIX, name)
    # Calibrating needs the tokenizer, which needs a folder: save once, calibrate, save again.
    save(model, folder, tokenizer_json, tok_config)
    calibrate(model, Recipe(folder, MAX_LENGTH), spread=2.5)
    save(model, folder, tokenizer_json, tok_config)
    return model, folder


def main():
    torch.set_num_threads(1)
    tok_json = "/tmp/qwen3-reranker-tokenizer.json"
    vocab_size, added = make_tokenizer(tok_json)
    tok_config = tokenizer_config(added)

    model, folder = build_causal("tiny-qwen3-reranker", True, 21, tok_json, tok_config, vocab_size)
    ref = reference(folder, "causal")
    build_causal("tiny-qwen3-reranker-untied", False, 22, tok_json, tok_config, vocab_size)
    reference(os.path.join(FIX, "tiny-qwen3-reranker-untied"), "causal")

    # The seq-cls conversion of the tied model: one row, yes − no.
    cfg = transformers.Qwen3Config(**{k: v for k, v in model.config.to_dict().items()
                                      if k not in ("architectures", "transformers_version")})
    cfg.architectures = ["Qwen3ForSequenceClassification"]
    cfg.num_labels = 1
    cls = transformers.Qwen3ForSequenceClassification(cfg).eval()
    with torch.no_grad():
        cls.model.load_state_dict(model.model.state_dict())
        w = model.lm_head.weight
        cls.score.weight.copy_((w[ref["yes_id"]] - w[ref["no_id"]]).unsqueeze(0))
    folder = os.path.join(FIX, "tiny-qwen3-reranker-seqcls")
    save(cls, folder, tok_json, tok_config)
    reference(folder, "seqcls")


if __name__ == "__main__":
    main()
