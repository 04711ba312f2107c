#!/usr/bin/env python3
"""Generates Sources/Tokenization/Normalizers/UnicodeTables.swift: every character property the
Swift tokenizer needs, as the installed Hugging Face `tokenizers` wheel sees it.

`tokenizers` takes each property from a different Unicode version, because each comes from a
different Rust crate compiled into the wheel:

* Unicode normalisation (NFD/NFC/NFKD/NFKC, canonical combining classes) from
  `unicode-normalization-alignments` 0.1.12, whose tables are Unicode 9.0.0;
* BERT's punctuation, control ("other") and non-spacing-mark tests from `unicode_categories`
  0.1.1, whose tables are Unicode 8.0.0 (Adlam, 9.0, is neither punctuation nor a mark there);
* white space, numbers and lower-casing from Rust's standard library (`char::is_whitespace`,
  `is_numeric`, `to_lowercase`): the Unicode version of the rustc that built the wheel (1.99,
  Unicode 17.0.0 for `tokenizers` 0.23.3: Tolong Siki digits are numbers);
* `\\p{L}`, `\\p{N}`, `\\s`, `\\w` in split patterns (the GPT-2/Qwen regexes, the `Whitespace`
  pre-tokenizer) from Oniguruma (`onig` 6.5.3: Unicode 16.0.0, Garay letters but no Tolong Siki),
  and `\\w` around single-word added tokens from the `regex` crate (1.13).

Rather than trusting a version number for each, the script asks the wheel itself, one code point
at a time, through the components that use each property (a `WhitespaceSplit` pre-tokenizer for
white space, a `BertNormalizer` with only `clean_text` for control characters, …), and records the
answers. Values that a probe cannot give directly (single-step decompositions, combining classes)
come from Python's `unicodedata` and are kept only where the wheel agrees: decomposition mappings
and combining classes never change once a character is assigned, so a character the wheel does not
decompose or reorder is one its older tables do not know. Each table is then checked against the
wheel for every code point. Needs `tokenizers` (the version the goldens use); takes about a minute.

Usage: python3 scripts/golden/gen_unicode_tables.py [OUT.swift]
"""
import base64
import struct
import sys
import unicodedata

import tokenizers
from tokenizers import Regex, Tokenizer, normalizers, pre_tokenizers
from tokenizers.models import WordLevel
from tokenizers import AddedToken

ALL = [cp for cp in range(0x110000) if not 0xD800 <= cp < 0xE000]


def py_decomposition(cp, compat):
    d = unicodedata.decomposition(chr(cp))
    if not d:
        return None
    parts = d.split()
    if parts[0].startswith("<"):
        if not compat:
            return None
        parts = parts[1:]
    return [int(p, 16) for p in parts]


def ranges(cps):
    """Sorted inclusive ranges of a set of code points."""
    out = []
    for cp in sorted(cps):
        if out and out[-1][1] == cp - 1:
            out[-1][1] = cp
        else:
            out.append([cp, cp])
    return out


def probe_sets():
    ws = pre_tokenizers.WhitespaceSplit()
    digits = pre_tokenizers.Digits(individual_digits=False)
    bert = pre_tokenizers.BertPreTokenizer()
    words = pre_tokenizers.Whitespace()
    clean = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=False, strip_accents=False, lowercase=False)
    strip = normalizers.BertNormalizer(clean_text=False, handle_chinese_chars=False, strip_accents=True, lowercase=False)
    nfd = normalizers.NFD()
    letter = pre_tokenizers.Split(Regex(r"\p{L}"), behavior="removed")
    number = pre_tokenizers.Split(Regex(r"\p{N}"), behavior="removed")
    space = pre_tokenizers.Split(Regex(r"\s"), behavior="removed")
    single = Tokenizer(WordLevel({"[UNK]": 0, "q": 1}, unk_token="[UNK]"))
    single.add_tokens([AddedToken("q", single_word=True, normalized=False)])
    sets = {k: set() for k in ("whitespace", "numeric", "punctuation", "other", "nonspacingMark",
                               "regexLetter", "regexNumber", "regexSpace", "wordRunWord", "addedWordChar")}
    for cp in ALL:
        c = chr(cp)
        probe = "a" + c + "a"
        if len(ws.pre_tokenize_str(probe)) == 2:
            sets["whitespace"].add(cp)
        if len(digits.pre_tokenize_str(probe)) == 3:
            sets["numeric"].add(cp)
        if len(bert.pre_tokenize_str(probe)) == 3:
            sets["punctuation"].add(cp)
        n = len(words.pre_tokenize_str(probe))
        if n == 1:
            sets["wordRunWord"].add(cp)
        cleaned = clean.normalize_str(probe)
        if cleaned == "aa" and cp not in (0, 0xFFFD):
            sets["other"].add(cp)
        if nfd.normalize_str(c) == c and strip.normalize_str(c) == "":
            sets["nonspacingMark"].add(cp)
        if not letter.pre_tokenize_str(c):
            sets["regexLetter"].add(cp)
        if not number.pre_tokenize_str(c):
            sets["regexNumber"].add(cp)
        if not space.pre_tokenize_str(c):
            sets["regexSpace"].add(cp)
        if single.encode(c + "q").ids == [0]:
            sets["addedWordChar"].add(cp)
    return sets


def probe_lowercase():
    lower = normalizers.Lowercase()
    out = []
    for cp in ALL:
        c = chr(cp)
        lc = lower.normalize_str(c)
        if lc != c:
            out.append((cp, [ord(x) for x in lc]))
    return out


def probe_normalization():
    nfd, nfkd, nfc = normalizers.NFD(), normalizers.NFKD(), normalizers.NFC()
    # Combining classes: Python's value where the wheel reorders the mark past a class-1 (or,
    # for class 1 itself, a class-230) mark; otherwise the wheel's tables predate the character.
    ccc = {}
    for cp in ALL:
        k = unicodedata.combining(chr(cp))
        if not k:
            continue
        c = chr(cp)
        if nfd.normalize_str(c) != c:
            continue  # decomposes: its own class never matters
        if k > 1:
            ok = nfd.normalize_str("a" + c + "\u0334") == "a\u0334" + c
        else:
            ok = nfd.normalize_str("a\u0301" + c) == "a" + c + "\u0301"
        if ok:
            ccc[cp] = k
    canon, compat = [], []
    for cp in ALL:
        if 0xAC00 <= cp <= 0xD7A3:  # Hangul syllables are algorithmic
            continue
        c = chr(cp)
        if nfkd.normalize_str(c) == c:
            continue
        d = py_decomposition(cp, False)
        if d and nfd.normalize_str(c) != c:
            canon.append((cp, d))
            continue
        k = py_decomposition(cp, True)
        if k:
            compat.append((cp, k))
    canon_map = dict(canon)
    comps = []
    for cp, d in canon:
        if len(d) == 2 and nfc.normalize_str(chr(d[0]) + chr(d[1])) == chr(cp):
            comps.append((d[0], d[1], cp))
    return ccc, canon, compat, comps, canon_map


def verify_normalization(ccc, canon, compat):
    """The tables reproduce the wheel's NFD and NFKD of every single code point."""
    cmap, kmap = dict(canon), dict(compat)

    def decompose(cp, compat_form, out):
        if 0xAC00 <= cp <= 0xD7A3:
            s = cp - 0xAC00
            out += [0x1100 + s // 588, 0x1161 + (s % 588) // 28] + ([0x11A7 + s % 28] if s % 28 else [])
            return
        d = cmap.get(cp) or (kmap.get(cp) if compat_form else None)
        if d:
            for x in d:
                decompose(x, compat_form, out)
        else:
            out.append(cp)

    def reorder(cps):
        out, i = list(cps), 0
        while i < len(out):
            if not ccc.get(out[i], 0):
                i += 1
                continue
            j = i
            while j < len(out) and ccc.get(out[j], 0):
                j += 1
            out[i:j] = sorted(out[i:j], key=lambda x: ccc[x])
            i = j
        return out

    nfd, nfkd = normalizers.NFD(), normalizers.NFKD()
    bad = 0
    for cp in ALL:
        for form, compat_form in ((nfd, False), (nfkd, True)):
            out = []
            decompose(cp, compat_form, out)
            if "".join(map(chr, reorder(out))) != form.normalize_str(chr(cp)):
                bad += 1
    if bad:
        raise SystemExit(f"{bad} decompositions disagree with the wheel")


def flat(entries):
    vals = []
    for cp, d in entries:
        vals.append(cp)
        vals.append(len(d))
        vals.extend(d)
    return vals


def fmt(name, vals, doc):
    # Little-endian UInt32s in base64: a few long lines instead of thousands of short ones.
    blob = base64.b64encode(struct.pack(f"<{len(vals)}I", *vals)).decode()
    return f"    /// {doc}\n    static let {name} = decode(\"{blob}\")\n"


SET_DOCS = {
    "whitespace": "Rust `char::is_whitespace` (White_Space): BERT, `WhitespaceSplit`, strip, lstrip/rstrip.",
    "numeric": "Rust `char::is_numeric` (Nd, Nl, No): the `Digits` pre-tokenizer.",
    "punctuation": "BERT's punctuation: ASCII symbols and `unicode_categories` `is_punctuation` (P*, Unicode 8.0).",
    "other": "BERT's control characters: `unicode_categories` `is_other` (Cc, Cf, Co; Unicode 8.0) but tab, newline, carriage return.",
    "nonspacingMark": "`unicode_categories` `is_mark_nonspacing` (Mn, Unicode 8.0): strip_accents.",
    "regexLetter": "Oniguruma `\\\\p{L}` in split patterns.",
    "regexNumber": "Oniguruma `\\\\p{N}` in split patterns.",
    "regexSpace": "Oniguruma `\\\\s` in split patterns.",
    "wordRunWord": "`\\\\w` of the `Whitespace` pre-tokenizer's `\\\\w+|[^\\\\w\\\\s]+`.",
    "addedWordChar": "`\\\\w` of the regex crate around single-word added tokens.",
}


def main(out_path):
    sets = probe_sets()
    lower = probe_lowercase()
    ccc, canon, compat, comps, _ = probe_normalization()
    verify_normalization(ccc, canon, compat)
    comp_flat = [v for t in comps for v in t]
    so = tokenizers.__file__
    with open(out_path, "w") as f:
        f.write(f"// Generated by scripts/golden/gen_unicode_tables.py from the installed `tokenizers` {tokenizers.__version__}\n"
                f"// (probed per code point) and Python's unicodedata {unicodedata.unidata_version}. Do not edit.\n\nimport Foundation\n\n")
        f.write("/// Character data as Hugging Face `tokenizers` has it. Decomposition tables hold\n")
        f.write("/// `code point, length, mapping…` records (Unicode 9.0, the normalisation crate's version); the\n")
        f.write("/// composition table holds `first, second, composite` triples; property tables hold sorted\n")
        f.write("/// inclusive `first, last` ranges.\n")
        f.write("enum UnicodeTables {\n")
        f.write("    private static func decode(_ b64: String) -> [UInt32] {\n")
        f.write("        let bytes = [UInt8](Data(base64Encoded: b64) ?? Data())\n")
        f.write("        return stride(from: 0, to: bytes.count - 3, by: 4).map {\n")
        f.write("            UInt32(bytes[$0]) | UInt32(bytes[$0 + 1]) << 8 | UInt32(bytes[$0 + 2]) << 16 | UInt32(bytes[$0 + 3]) << 24\n")
        f.write("        }\n    }\n\n")
        f.write(fmt("canonicalDecompositions", flat(canon), "Single-step canonical decompositions."))
        f.write(fmt("compatibilityDecompositions", flat(compat), "Compatibility-only decompositions."))
        f.write(fmt("primaryCompositions", comp_flat, "Primary composites."))
        f.write(fmt("combiningClasses", [v for cp in sorted(ccc) for v in (cp, ccc[cp])],
                    "`code point, class` pairs: canonical combining classes other than 0."))
        f.write(fmt("lowercaseMappings", flat(lower), "Rust `char::to_lowercase`, where it changes the character."))
        for name in SET_DOCS:
            f.write(fmt(name, [v for r in ranges(sets[name]) for v in r], SET_DOCS[name]))
        f.write("}\n")
    print(f"canonical {len(canon)}, compatibility-only {len(compat)}, compositions {len(comps)}, classes {len(ccc)}, "
          f"lowercase {len(lower)}; " + ", ".join(f"{k} {len(v)}" for k, v in sets.items()), file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "Sources/Tokenization/Normalizers/UnicodeTables.swift")
