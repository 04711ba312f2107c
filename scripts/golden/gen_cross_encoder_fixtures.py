#!/usr/bin/env python3
"""Tiny random-weight cross-encoder fixtures and their sentence-transformers reference scores.

Usage (offline; torch CPU, transformers, sentence-transformers installed):

    python3 scripts/golden/gen_cross_encoder_fixtures.py

Writes, under Tests/EmbeddingModelTests/Fixtures:

- tiny-ce-bert/: a BertForSequenceClassification (hidden 32, 2 layers, 2 heads, num_labels 1)
  saved by sentence-transformers' `CrossEncoder.save` (modules.json, config_sentence_transformers.json
  with `activation_fn` Sigmoid: the sentence-transformers 6 layout). Its WordPiece tokenizer is the
  tiny-bert one (bert-base-uncased) with the vocabulary cut to ~3,000 pieces (specials, every single
  character and `##` character, then the most frequent words), ids renumbered.
- tiny-ce-xlmr/: an XLMRobertaForSequenceClassification in the plain Hub layout (no modules.json,
  the activation as `config.json` → `sentence_transformers.activation_fn` = Identity, as the
  ms-marco cross-encoders ship it). Its Unigram tokenizer is the XLM-R one (precompiled normaliser,
  Metaspace) with the vocabulary cut to the highest-scoring pieces plus every character the cases
  use.

Each folder gets reference.json: for every (query, document) pair the token ids and type ids the
tokenizer gives (pair template, longest-first truncation to the model's limit), the raw logits of
`AutoModelForSequenceClassification` run alone, `CrossEncoder(folder).predict` scores alone and in
one batch. The vocabularies are cut so each folder stays under 1 MB (a full 250k × 32 embedding
table is 32 MB).
"""
import json
import os
import shutil
import sys

import numpy as np
import sentence_transformers
import tokenizers
import torch
import transformers
from sentence_transformers import CrossEncoder
from tokenizers import Tokenizer
from transformers import AutoModelForSequenceClassification, AutoTokenizer

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FIX = os.path.join(ROOT, "Tests", "EmbeddingModelTests", "Fixtures")
BERT_TOKENIZER = os.path.join(FIX, "tiny-bert", "tokenizer.json")
XLMR_TOKENIZER = os.path.join(ROOT, "Tests", "TokenizationTests", "Fixtures", "xlmr-unigram.tokenizer.json")

LONG_EN = ("The quick brown fox jumps over the lazy dog while the farmer watches from the old barn, "
           "counting sheep and thinking about the harvest that will come in the autumn months ahead. ")
LONG_DE = ("Der schnelle braune Fuchs springt über den faulen Hund, während der Bauer aus der alten "
           "Scheune zusieht und an die Ernte im Herbst denkt. ")

PAIRS = [
    ("What is the capital of France?", "Paris is the capital and most populous city of France."),
    ("What is the capital of France?", "Berlin is the capital of Germany."),
    ("What is the capital of France?", "The weather is lovely today."),
    ("how to copy a file", "To copy a file, use cp SOURCE DEST."),
    ("how to copy a file", "Use mv to move or rename files."),
    ("How many people live in Berlin?", "Berlin had a population of 3,520,031 in 2019."),
    ("How many people live in Berlin?", ""),
    ("", "A document without a query."),
    ("hello", "hello"),
    ("How many people live in Berlin?", LONG_EN * 4),
    (LONG_EN * 3, "short document"),
    (LONG_EN * 2, LONG_EN * 3),
    ("Wie kopiere ich eine Datei?", "Mit cp QUELLE ZIEL kopiert man eine Datei."),
    ("Où se trouve la gare la plus proche ?", "La gare est à deux rues d'ici."),
    ("北京是哪个国家的首都？", "北京是中华人民共和国的首都。"),
    ("東京はどこですか", "東京は日本の首都です。"),
    ("Что такое машинное обучение?", "Машинное обучение — раздел искусственного интеллекта."),
    ("¿Cuál es la capital de Francia?", "París es la capital de Francia. " + LONG_DE * 3),
    ("emoji 🙂 test", "café naïve résumé — “quotes” and ümlauts"),
    ("   spaced   out   ", "\ttabs\nand\nnewlines\t"),
    ("UPPER case Query", "upper CASE document"),
]


def write_json(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, indent=2)
        f.write("\n")


def renumber_template(tok, ids):
    """Points TemplateProcessing's special tokens at their new ids."""
    pp = tok.get("post_processor")
    if pp and pp.get("type") == "TemplateProcessing":
        for name, st in pp["special_tokens"].items():
            st["ids"] = [ids[t] for t in st["tokens"]]


def small_wordpiece(src, dst, size=3000):
    tok = json.load(open(src, encoding="utf-8"))
    vocab = tok["model"]["vocab"]
    by_id = sorted(vocab.items(), key=lambda kv: kv[1])
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    keep = list(specials)
    pieces = [p for p, _ in by_id if p not in specials and not p.startswith("[unused")]
    chars = [p for p in pieces if len(p) == 1 or (p.startswith("##") and len(p) == 3)]
    keep += chars
    for p in pieces:
        if len(keep) >= size:
            break
        if p not in keep:
            keep.append(p)
    new = {p: i for i, p in enumerate(keep)}
    tok["model"]["vocab"] = new
    for t in tok["added_tokens"]:
        t["id"] = new[t["content"]]
    renumber_template(tok, new)
    tok["truncation"] = None
    tok["padding"] = None
    write_json(dst, tok)
    return len(new)


def small_unigram(src, dst, texts, size=2000):
    tok = json.load(open(src, encoding="utf-8"))
    vocab = tok["model"]["vocab"]  # [[piece, score], …]; 0-3 specials, <mask> last
    head, mask = vocab[:4], vocab[-1]
    body = vocab[4:-1]
    wanted = set()
    for t in texts:
        for ch in t:
            wanted.add(ch)
            wanted.add("\u2581" + ch)
    chosen = [i for i, (p, _) in enumerate(body) if p in wanted]
    chosen_set = set(chosen)
    for i in range(len(body)):
        if len(chosen_set) >= size - 5:
            break
        chosen_set.add(i)
    kept = head + [body[i] for i in sorted(chosen_set)] + [mask]
    tok["model"]["vocab"] = kept
    tok["model"]["unk_id"] = 3
    ids = {p: i for i, (p, _) in enumerate(kept)}
    for t in tok["added_tokens"]:
        t["id"] = ids[t["content"]]
    renumber_template(tok, ids)
    tok["truncation"] = None
    tok["padding"] = None
    write_json(dst, tok)
    return len(kept)


def perturb(model, seed):
    """Random weights with non-trivial norms and biases."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "LayerNorm.weight" in name:
                p.copy_(1 + 0.2 * torch.randn(p.shape, generator=g))
            elif name.endswith("bias"):
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(0.2 * torch.randn(p.shape, generator=g))


def calibrate(model, tokenizer_json, max_length, spread):
    """Re-aims the last linear so the cases' logits have mean 0 and standard deviation `spread`:
    Sigmoid scores then lie well inside (0, 1), and a mistake anywhere shows. The direction all
    cases share is projected out of its weight (rather than cancelled by a large bias), so the
    logits carry no large cancelling terms and float32 noise stays at the 1e-6 level."""
    tok = Tokenizer.from_file(tokenizer_json)
    tok.no_padding()
    tok.enable_truncation(max_length=max_length, strategy="longest_first")
    last = model.classifier.out_proj if hasattr(model.classifier, "out_proj") else model.classifier
    features = []
    hook = last.register_forward_hook(lambda mod, inp, out: features.append(inp[0][0].clone()))
    with torch.inference_mode():
        for q, d in PAIRS:
            e = tok.encode(q, d)
            model(input_ids=torch.tensor([e.ids]), token_type_ids=torch.tensor([e.type_ids]))
    hook.remove()
    x = torch.stack(features)
    mean = x.mean(0)
    with torch.no_grad():
        w = last.weight[0]
        w -= (w @ mean) / (mean @ mean) * mean
        last.bias.zero_()
        logits = x @ w
        w *= spread / logits.std(unbiased=False)
        last.bias.fill_(-float((x @ w).mean()))


def build(name, arch, tokenizer_json, tokenizer_config, config_kwargs, seed, spread, ce_layout, activation):
    out = os.path.join(FIX, name)
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    tmp = out + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    shutil.copy(tokenizer_json, os.path.join(tmp, "tokenizer.json"))
    write_json(os.path.join(tmp, "tokenizer_config.json"), tokenizer_config)
    vocab_size = Tokenizer.from_file(tokenizer_json).get_vocab_size()
    cfg_cls = transformers.BertConfig if arch == "bert" else transformers.XLMRobertaConfig
    model_cls = (transformers.BertForSequenceClassification if arch == "bert"
                 else transformers.XLMRobertaForSequenceClassification)
    cfg = cfg_cls(vocab_size=vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                  intermediate_size=64, num_labels=1, **config_kwargs)
    torch.manual_seed(seed)
    model = model_cls(cfg).eval()
    perturb(model, seed)
    calibrate(model, tokenizer_json, tokenizer_config["model_max_length"], spread)
    model.save_pretrained(tmp)
    if ce_layout:
        # sentence-transformers 6 layout: CrossEncoder.save writes modules.json and
        # config_sentence_transformers.json (with activation_fn).
        ce = CrossEncoder(tmp, activation_fn=activation, device="cpu")
        ce.save(out)
        shutil.rmtree(tmp)
    else:
        # Hub layout: only the transformers files, activation in config.json.
        for f in os.listdir(tmp):
            shutil.move(os.path.join(tmp, f), os.path.join(out, f))
        os.rmdir(tmp)
        cfg_path = os.path.join(out, "config.json")
        c = json.load(open(cfg_path))
        c["sentence_transformers"] = {"activation_fn": activation_path(activation), "version": sentence_transformers.__version__}
        write_json(cfg_path, c)
    for f in os.listdir(out):
        os.chmod(os.path.join(out, f), 0o644)
    for junk in ["README.md", "special_tokens_map.json"]:
        p = os.path.join(out, junk)
        if os.path.exists(p):
            os.remove(p)
    return out


def activation_path(act):
    return f"{type(act).__module__}.{type(act).__name__}"


def reference(folder):
    ce = CrossEncoder(folder, device="cpu")
    max_length = ce.max_seq_length
    hf_tok = AutoTokenizer.from_pretrained(folder)
    hf_model = AutoModelForSequenceClassification.from_pretrained(folder).eval()
    rust = Tokenizer.from_file(os.path.join(folder, "tokenizer.json"))
    rust.no_padding()
    rust.enable_truncation(max_length=max_length, strategy="longest_first")

    alone = [float(np.asarray(ce.predict([p], batch_size=1)).reshape(-1)[0]) for p in PAIRS]
    batched = [float(x) for x in np.asarray(ce.predict(PAIRS, batch_size=len(PAIRS))).reshape(-1)]
    act = ce.activation_fn
    cases = []
    for (q, d), s_alone, s_batched in zip(PAIRS, alone, batched):
        feats = ce.preprocess([[q, d]])
        ids = feats["input_ids"][0].tolist()
        types = feats["token_type_ids"][0].tolist() if "token_type_ids" in feats else [0] * len(ids)
        enc = rust.encode(q, d)
        assert enc.ids == ids, (q[:30], d[:30], enc.ids, ids)
        assert enc.type_ids == types
        # The tokenizer called with one pair treats an empty document as no pair at all;
        # sentence-transformers passes pairs as a batch, where it is a pair ([CLS] q [SEP] [SEP]).
        if d:
            hf = hf_tok(q, d, truncation="longest_first", max_length=max_length)
            assert hf["input_ids"] == ids
        with torch.inference_mode():
            logits = hf_model(input_ids=torch.tensor([ids]), token_type_ids=torch.tensor([types]),
                              attention_mask=torch.ones(1, len(ids), dtype=torch.long)).logits[0].tolist()
        manual = float(act(torch.tensor(logits)).reshape(-1)[0])
        assert abs(manual - s_alone) < 1e-5, (manual, s_alone)
        cases.append({"query": q, "document": d, "input_ids": ids, "token_type_ids": types,
                      "logits": logits, "score": s_alone, "score_batched": s_batched})
    # Raw transformers logits for the whole batch, padded as sentence-transformers pads it.
    feats = ce.preprocess([list(p) for p in PAIRS])
    with torch.inference_mode():
        batch_logits = hf_model(**{k: v for k, v in feats.items()
                                   if k in ("input_ids", "token_type_ids", "attention_mask")}).logits.tolist()
    for c, bl in zip(cases, batch_logits):
        c["logits_batched"] = bl
    spread = float(np.std(alone))
    ref = {
        "activation": activation_path(act),
        "num_labels": ce.num_labels,
        "max_length": max_length,
        "cases": cases,
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__,
                     "sentence_transformers": sentence_transformers.__version__,
                     "tokenizers": tokenizers.__version__},
    }
    write_json(os.path.join(folder, "reference.json"), ref)
    worst = max(abs(a - b) for a, b in zip(alone, batched))
    longest = max(len(c["input_ids"]) for c in cases)
    print(f"{os.path.basename(folder)}: {len(cases)} pairs, max_length {max_length}, longest {longest}, "
          f"score std {spread:.3f}, batched vs alone {worst:.2e}, activation {ref['activation']}", file=sys.stderr)


def main():
    torch.set_num_threads(1)
    texts = [t for p in PAIRS for t in p]

    bert_tok = os.path.join("/tmp", "ce-bert-tokenizer.json")
    n = small_wordpiece(BERT_TOKENIZER, bert_tok)
    bert_tc = json.load(open(os.path.join(FIX, "tiny-bert", "tokenizer_config.json")))
    bert_tc.update({"model_max_length": 48, "max_length": 48})
    for k in ["is_local", "local_files_only"]:
        bert_tc.pop(k, None)
    out = build("tiny-ce-bert", "bert", bert_tok, bert_tc,
                dict(max_position_embeddings=64, type_vocab_size=2, pad_token_id=0, hidden_act="gelu",
                     layer_norm_eps=1e-12), seed=11, spread=2.5, ce_layout=True, activation=torch.nn.Sigmoid())
    print(f"tiny-ce-bert vocabulary {n}", file=sys.stderr)
    reference(out)

    xlmr_tok = os.path.join("/tmp", "ce-xlmr-tokenizer.json")
    n = small_unigram(XLMR_TOKENIZER, xlmr_tok, texts)
    xlmr_tc = json.load(open(os.path.join(FIX, "tiny-xlmr", "tokenizer_config.json")))
    xlmr_tc.update({"model_max_length": 40})
    for k in ["is_local", "local_files_only"]:
        xlmr_tc.pop(k, None)
    out = build("tiny-ce-xlmr", "xlmr", xlmr_tok, xlmr_tc,
                dict(max_position_embeddings=42, type_vocab_size=1, pad_token_id=1, bos_token_id=0, eos_token_id=2,
                     hidden_act="gelu", layer_norm_eps=1e-5), seed=12, spread=1.5, ce_layout=False,
                activation=torch.nn.Identity())
    print(f"tiny-ce-xlmr vocabulary {n}", file=sys.stderr)
    reference(out)


if __name__ == "__main__":
    main()
