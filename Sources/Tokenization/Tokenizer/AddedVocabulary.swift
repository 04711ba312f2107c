/// Tokens added on top of the model's vocabulary (special tokens such as `<s>`, `[CLS]`,
/// `<|endoftext|>`). They are cut out of the text before the model sees it: first those marked
/// `normalized: false`, matched on the raw text, then the others, matched on normalised text
/// (Hugging Face `AddedVocabulary::extract_and_normalize`).
public struct AddedToken: Sendable, Equatable {
    public var id: Int
    public var content: String
    public var singleWord: Bool
    public var lstrip: Bool
    public var rstrip: Bool
    public var normalized: Bool
    public var special: Bool

    init(json: JSONNode) throws {
        id = try json["id"].int()
        content = try json["content"].string()
        singleWord = try json["single_word"].bool(default: false)
        lstrip = try json["lstrip"].bool(default: false)
        rstrip = try json["rstrip"].bool(default: false)
        normalized = try json["normalized"].bool(default: true)
        special = try json["special"].bool(default: false)
    }
}

struct AddedVocabulary: Sendable {
    let tokens: [AddedToken]
    private let raw: Matcher
    private let normalized: Matcher

    /// Leftmost-longest matching of a fixed set of scalar strings.
    struct Matcher: Sendable {
        /// First scalar → candidates (pattern, token index), longest first.
        let byFirst: [UInt32: [([Unicode.Scalar], Int)]]
        var isEmpty: Bool { byFirst.isEmpty }

        init(_ patterns: [([Unicode.Scalar], Int)]) {
            var d = [UInt32: [([Unicode.Scalar], Int)]]()
            for (p, i) in patterns where !p.isEmpty { d[p[0].value, default: []].append((p, i)) }
            for k in d.keys { d[k]?.sort { $0.0.count > $1.0.count } }
            byFirst = d
        }

        func match(_ s: [Unicode.Scalar], at i: Int) -> (length: Int, token: Int)? {
            guard let cands = byFirst[s[i].value] else { return nil }
            for (p, t) in cands where i + p.count <= s.count {
                var ok = true
                for k in 1..<p.count where s[i + k] != p[k] { ok = false; break }
                if ok { return (p.count, t) }
            }
            return nil
        }
    }

    init(tokens: [AddedToken], normalizer: (any Normalizer)?) throws {
        self.tokens = tokens
        var rawPatterns = [([Unicode.Scalar], Int)]()
        var normPatterns = [([Unicode.Scalar], Int)]()
        for (i, t) in tokens.enumerated() {
            if t.normalized {
                var n = NormalizedString(t.content)
                try normalizer?.normalize(&n)
                normPatterns.append((n.scalars, i))
            } else {
                rawPatterns.append((Array(t.content.unicodeScalars), i))
            }
        }
        raw = Matcher(rawPatterns)
        normalized = Matcher(normPatterns)
    }

    /// The input cut around added tokens, with every other piece normalised.
    func extractAndNormalize(_ text: [Unicode.Scalar], normalizer: (any Normalizer)?) throws -> PreTokenizedString {
        var pre = PreTokenizedString(NormalizedString(text))
        pre.splits = split(pre.splits, with: raw)
        for i in pre.splits.indices where pre.splits[i].tokens == nil {
            try normalizer?.normalize(&pre.splits[i].normalized)
        }
        pre.splits = split(pre.splits, with: normalized)
        return pre
    }

    private func split(_ splits: [PreTokenizedString.Split], with matcher: Matcher) -> [PreTokenizedString.Split] {
        if matcher.isEmpty { return splits }
        var out = [PreTokenizedString.Split]()
        for s in splits {
            if s.tokens != nil { out.append(s); continue }
            for (range, token) in findMatches(s.normalized.scalars, matcher) {
                let piece = s.normalized.slice(range)
                if let t = token {
                    let added = tokens[t]
                    out.append(PreTokenizedString.Split(piece, tokens: [Token(id: added.id, value: added.content, start: 0, end: piece.count)]))
                } else if !piece.isEmpty {
                    out.append(PreTokenizedString.Split(piece))
                }
            }
        }
        return out
    }

    /// Pieces of `s`: added-token matches (with the token index) and the text between them.
    private func findMatches(_ s: [Unicode.Scalar], _ matcher: Matcher) -> [(Range<Int>, Int?)] {
        if s.isEmpty { return [(0..<0, nil)] }
        var out = [(Range<Int>, Int?)]()
        var startOffset = 0
        var i = 0
        while i < s.count {
            guard let m = matcher.match(s, at: i) else { i += 1; continue }
            var start = i
            var stop = i + m.length
            i = stop
            let t = tokens[m.token]
            if t.singleWord {
                let startOK = start == 0 || !isWordCharacter(s[start - 1])
                let stopOK = stop == s.count || !isWordCharacter(s[stop])
                if !startOK || !stopOK { continue }
            }
            if t.lstrip {
                var k = start
                while k > 0, CharacterClass.isWhitespace(s[k - 1]) { k -= 1 }
                start = max(k, startOffset)
            }
            if t.rstrip {
                while stop < s.count, CharacterClass.isWhitespace(s[stop]) { stop += 1 }
                i = stop
            }
            if start > startOffset { out.append((startOffset..<start, nil)) }
            out.append((start..<stop, m.token))
            startOffset = stop
        }
        if startOffset != s.count { out.append((startOffset..<s.count, nil)) }
        return out
    }

    /// `\w` of the Rust regex crate.
    private func isWordCharacter(_ c: Unicode.Scalar) -> Bool { CharacterClass.isAddedTokenWordCharacter(c) }
}
