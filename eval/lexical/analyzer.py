"""A Python port of Sources/Lexical/Analyzer.swift (Nestor's lexical analysis), for feeding the
same terms to other BM25 implementations. Standard library only.

NFKC, then lowercase scalar by scalar (Swift's String.lowercased() maps each scalar on its own:
no final-sigma rule, unlike Python's str.lower() on a whole string); words are maximal runs of
letters (Unicode Alphabetic), digits and other numbers, marks and `_`; a word followed by one of
`. - / : + @` and another word forms an identifier, emitted after its parts; runs of Han,
Hiragana/Katakana, Thai, Lao, Khmer and Myanmar become overlapping bigrams (a lone character a
unigram); terms over 64 scalars are dropped (bigrams are never that long).

Known gaps, none of which occur in the sets here: Python's Unicode tables (unicodedata
{unidata}) may be older than Swift's; Swift compares strings by canonical equivalence, so two
terms differing only in normalisation would be one term in Nestor.
"""
import unicodedata

MAX_TERM_LENGTH = 64
JOINERS = frozenset(".-/:+@")
WORD_CATEGORIES = frozenset(("Lu", "Ll", "Lt", "Lm", "Lo", "Nl", "Nd", "No", "Mn", "Mc", "Me"))
# Other_Alphabetic code points outside the letter/mark/number categories (So): circled and
# squared Latin letters. NFKC maps most of them to plain letters; the negative ones remain.
_OTHER_ALPHABETIC_SYMBOLS = ((0x24B6, 0x24E9), (0x1F130, 0x1F149), (0x1F150, 0x1F169), (0x1F170, 0x1F189))
DENSE_RANGES = ((0x3040, 0x30FF), (0x31F0, 0x31FF), (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF),
                (0x20000, 0x3134F), (0x0E00, 0x0E7F), (0x0E80, 0x0EFF), (0x1780, 0x17FF), (0x1000, 0x109F))

__doc__ = __doc__.replace("{unidata}", unicodedata.unidata_version)


def _alphabetic(c, cat):
    if cat in ("Lu", "Ll", "Lt", "Lm", "Lo", "Nl"):
        return True
    if cat in ("Mn", "Mc", "So"):  # Other_Alphabetic marks count as word scalars anyway
        o = ord(c)
        return cat != "So" or any(a <= o <= b for a, b in _OTHER_ALPHABETIC_SYMBOLS)
    return False


def is_word(c):
    if c == "_":
        return True
    cat = unicodedata.category(c)
    return cat in WORD_CATEGORIES or _alphabetic(c, cat)


def is_dense(c):
    o = ord(c)
    if not any(a <= o <= b for a, b in DENSE_RANGES):
        return False
    cat = unicodedata.category(c)
    return _alphabetic(c, cat) or cat in ("Lo", "Mn", "Mc")


def _lower(s):
    return "".join(c.lower() for c in s)


def fold_diacritics(s):
    d = unicodedata.normalize("NFD", s)
    return unicodedata.normalize("NFC", "".join(c for c in d if unicodedata.category(c) != "Mn"))


def terms(text, fold=False):
    s = _lower(unicodedata.normalize("NFKC", text))
    if fold:
        s = fold_diacritics(s)
    out = []
    word, compound, parts, joiner, dense = [], [], 0, None, []

    def emit(v):
        if v and len(v) <= MAX_TERM_LENGTH:
            out.append("".join(v))

    def end_word():
        nonlocal word, compound, parts
        if not word:
            return
        emit(word)
        if parts > 0:
            compound.extend(word)
        else:
            compound = list(word)
        parts += 1
        word = []

    def end_compound():
        nonlocal compound, parts, joiner
        end_word()
        if parts > 1:
            emit(compound)
        compound, parts, joiner = [], 0, None

    def end_dense():
        if not dense:
            return
        if len(dense) == 1:
            out.append(dense[0])
        for i in range(len(dense) - 1):
            out.append(dense[i] + dense[i + 1])
        dense.clear()

    for c in s:
        if is_dense(c):
            end_compound()
            dense.append(c)
            continue
        end_dense()
        if is_word(c):
            if joiner is not None:
                compound.append(joiner)
                joiner = None
            word.append(c)
        elif c in JOINERS and word and joiner is None:
            end_word()
            joiner = c
        else:
            end_compound()
    end_compound()
    end_dense()
    return out


def frequencies(text, fold=False):
    f = {}
    for t in terms(text, fold):
        f[t] = f.get(t, 0) + 1
    return f


if __name__ == "__main__":
    import json
    import sys
    for arg in sys.argv[1:]:
        print(json.dumps(terms(arg), ensure_ascii=False))
