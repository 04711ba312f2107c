"""Real multilingual test strings: the translated message catalogs Debian installs under
/usr/share/locale (human translations in ~150 languages), plus hand-made edge cases.

Shared by the golden-data generators; deterministic (sorted by sha1) so regenerating gives the
same file on the same machine.
"""
import glob
import gettext
import hashlib
import os
import unicodedata

EDGE_CASES = [
    "", " ", "  ", "\t", "\n", "\r\n", " \u00a0 ", "\u3000", "\u2028x\u2029", "a\u0085b", "\x0b\x0c",
    "a", "A", "é", "e\u0301", "e\u0301\u0301", "\u0301", "\u0301abc", "a\u0323\u0302", "\u1e0b\u0323",
    "ﬁ ﬂ ﬀ ﬃ", "ＡＢＣ１２３ｱｲｳ", "①②③ ⅰⅱⅲ ½ ¼", "Å Å Å", "ǅ Ǆ ǆ ß ẞ İ ı ς Σ",
    "😀", "👍🏽", "👨‍👩‍👧‍👦", "🇩🇪🇫🇷", "❤️", "🏳️‍🌈", "1️⃣", "🙂🚀 and café",
    "\u200b\u200c\u200d", "\ufeffBOM", "\u00ad soft hyphen", "a\u0000b", "\x01\x02\x1f\x7f", "\ufffd",
    "<s>", "</s>", "<s> hello </s>", "[CLS] [SEP] [PAD] [MASK] [UNK]", "<|endoftext|>", "a<|endoftext|>b",
    "<|im_start|>user\nhi<|im_end|>", "<mask> token", "<pad><unk>",
    "x" * 150, "supercalifragilisticexpialidocious" * 5, "ab" * 120, "🙂" * 40, "漢" * 60,
    "don't won't it's I'll we've they're", "DON'T WON'T IT'S I'LL WE'VE THEY'RE", "'s 'S 'll 'LL",
    "  leading and trailing  ", "multiple   spaces\t\ttabs\n\nnewlines", "line1\r\nline2\rline3",
    "https://example.com/path?query=1&x=y#frag user@example.org", "C:\\Program Files\\x.exe",
    "def f(x):\n    return x**2  # comment", "{\"json\": [1, 2.5, null]}", "<p>html &amp; entities</p>",
    "3.14159 1,000,000 2026-11-22T10:00:00Z ١٢٣ ४५६ ๑๒๓", "$100 €50 ¥1000 £3", "a.b.c...!!!???",
    "Ǆemal ǅ", "ﷺ ﷻ", "ヿ ㍿ ㌀", "ꙮ", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝕋𝕖𝕩𝕥", "Ⅻ", "각 각", "\u1100\u1161\u11a8",
    "Ελληνικά ΆΈΉ", "עברית עִבְרִית", "العربية مُشَكَّلة", "हिन्दी क्षत्रिय", "ไทย ภาษาไทย", "ລາວ", "ქართული",
    "Հայերեն", "አማርኛ", "ᓄᓇᕗᑦ", "ᚠᚢᚦ", "ꦧꦱꦗꦮ", "𐌰𐌱", "中文 日本語 한국어", "ｶﾀｶﾅ ﾊﾟ ﾊﾞ",
]


def script_of(text):
    """The Unicode script-ish name of the first letter (first word of its character name)."""
    for ch in text:
        if ch.isalpha():
            try:
                return unicodedata.name(ch).split()[0]
            except ValueError:
                return "UNKNOWN"
    return "NONE"


def catalog_strings(per_language=70, max_len=300):
    """Up to `per_language` translated messages per locale, both msgid and msgstr."""
    by_lang = {}
    for path in sorted(glob.glob("/usr/share/locale/*/LC_MESSAGES/*.mo")):
        lang = path.split("/")[4]
        try:
            with open(path, "rb") as f:
                cat = gettext.GNUTranslations(f)._catalog
        except Exception:
            continue
        for k, v in cat.items():
            for s in ((k[0] if isinstance(k, tuple) else k), v):
                if isinstance(s, str) and s and "\x00" not in s and len(s) <= max_len and "Project-Id" not in s:
                    by_lang.setdefault(lang, set()).add(s)
    out = []
    for lang in sorted(by_lang):
        items = sorted(by_lang[lang], key=lambda s: hashlib.sha1(s.encode()).hexdigest())
        out.extend(items[:per_language])
    return out


def golden_strings(total=6000):
    strings = list(EDGE_CASES)
    seen = set(strings)
    for s in catalog_strings():
        if s not in seen:
            seen.add(s)
            strings.append(s)
        if len(strings) >= total:
            break
    return strings


if __name__ == "__main__":
    s = golden_strings()
    scripts = {}
    for t in s:
        scripts[script_of(t)] = scripts.get(script_of(t), 0) + 1
    print(len(s), "strings,", len(scripts), "scripts:", sorted(scripts.items(), key=lambda x: -x[1])[:40])


WHITESPACE_CASES = [
    "query: x\n", "query: x \n", "passage: hello world  ", "query: ", "passage: \n", "\n\n", "   ", "\t\t", " \n ",
    "a\n", "a \n", "a\n\n", " a", "  a", "a ", "a  ", "a  b   c", "a \t b", "a\r\nb\r\n", "x\u3000y", "a\u00a0 b",
    "a\u2003\u2003b", "\u00a0", "\u00a0\u00a0x", "x\u00a0", "\u3000\u3000", "a\u200bb", "end.\n", "end. ", "two  spaces",
    "\n leading newline", "trailing tab\t", "mixed \t\n\r\u000b\u000c whitespace", " " * 30 + "x", "x" + " " * 30,
]


def whitespace_strings(bases):
    """Trailing, leading and repeated white space and newlines around real texts."""
    out = list(WHITESPACE_CASES)
    for i, s in enumerate(bases):
        v = [s + "\n", s + " ", s + "  ", " " + s, s.replace(" ", "  "), s + "\n\n", "query: " + s + "\n",
             s + "\t", s + " \n", s.replace(" ", " \n "), "passage: " + s + "  "]
        out.extend(v[i % len(v)::4][:3])
    return out


def random_codepoint_strings(count, seed, below=None):
    """Strings of random code points (no surrogates): below `below`, or over the planes that hold
    assigned characters (0–3, 14) when it is None."""
    import random
    rng = random.Random(seed)
    out = []
    while len(out) < count:
        n = rng.randint(1, 16)
        cps = []
        while len(cps) < n:
            if below is not None:
                cp = rng.randrange(below)
            else:
                cp = rng.randrange(0x40000) if rng.random() < 0.97 else rng.randrange(0xE0000, 0xE0200)
            if 0xD800 <= cp < 0xE000:
                continue
            cps.append(cp)
        out.append("".join(map(chr, cps)))
    return out


def full_golden_strings():
    """The golden set: real texts and edge cases, white-space variants, random code points."""
    base = golden_strings()
    catalog = [s for s in base[len(EDGE_CASES):] if " " in s][:260]
    strings = list(base)
    seen = set(strings)
    for s in whitespace_strings(catalog) + random_codepoint_strings(1000, 3000, below=0x3000) + \
            random_codepoint_strings(300, 1114111):
        if s not in seen:
            seen.add(s)
            strings.append(s)
    return strings
