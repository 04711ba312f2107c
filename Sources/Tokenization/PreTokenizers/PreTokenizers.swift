/// Splits on white space (removed), then isolates punctuation: BERT's basic tokenizer.
public struct BertPreTokenizer: PreTokenizer {
    public init() {}
    public func preTokenize(_ text: inout PreTokenizedString) throws {
        try text.split { _, s in try s.split(ScalarPredicatePattern(CharacterClass.isWhitespace), behavior: .removed) }
        try text.split { _, s in try s.split(ScalarPredicatePattern(CharacterClass.isBertPunctuation), behavior: .isolated) }
    }
}

/// Keeps runs of word characters and runs of other non-space characters (`\w+|[^\w\s]+`).
public struct WhitespacePreTokenizer: PreTokenizer {
    public init() {}
    public func preTokenize(_ text: inout PreTokenizedString) throws {
        try text.split { _, s in try s.split(WordRunsPattern(), behavior: .removed) }
    }
}

/// Splits on white space, which is removed.
public struct WhitespaceSplitPreTokenizer: PreTokenizer {
    public init() {}
    public func preTokenize(_ text: inout PreTokenizedString) throws {
        try text.split { _, s in try s.split(ScalarPredicatePattern(CharacterClass.isWhitespace), behavior: .removed) }
    }
}

/// Punctuation characters split off with the configured behaviour.
public struct PunctuationPreTokenizer: PreTokenizer {
    public let behavior: SplitDelimiterBehavior
    public init(json: JSONNode) throws { behavior = try splitBehavior(json["behavior"], default: .isolated) }
    public func preTokenize(_ text: inout PreTokenizedString) throws {
        try text.split { _, s in try s.split(ScalarPredicatePattern(CharacterClass.isBertPunctuation), behavior: behavior) }
    }
}

/// Numbers split off, one digit at a time or as runs.
public struct DigitsPreTokenizer: PreTokenizer {
    public let individualDigits: Bool
    public init(json: JSONNode) throws { individualDigits = try json["individual_digits"].bool(default: false) }
    public func preTokenize(_ text: inout PreTokenizedString) throws {
        let behavior: SplitDelimiterBehavior = individualDigits ? .isolated : .contiguous
        try text.split { _, s in try s.split(ScalarPredicatePattern(CharacterClass.isNumeric), behavior: behavior) }
    }
}

/// SentencePiece-style: spaces become the replacement character (`▁`), which is prepended
/// according to the scheme and then starts each piece.
public struct MetaspacePreTokenizer: PreTokenizer {
    public enum PrependScheme: String, Sendable { case always, first, never }
    public let replacement: Unicode.Scalar
    public let prependScheme: PrependScheme
    public let splitPieces: Bool

    public init(json: JSONNode) throws {
        let rep = try json["replacement"].string().unicodeScalars
        guard rep.count == 1, let r = rep.first else { throw json["replacement"].invalid("replacement must be one character") }
        replacement = r
        var scheme = PrependScheme.always
        if let s = try json["prepend_scheme"].stringIfPresent() {
            guard let p = PrependScheme(rawValue: s) else { throw json["prepend_scheme"].invalid("unknown prepend_scheme \"\(s)\"") }
            scheme = p
        }
        if try json["add_prefix_space"].boolIfPresent() == false {
            guard scheme == .never || json["prepend_scheme"].isNull else {
                throw json["add_prefix_space"].invalid("add_prefix_space does not match declared prepend_scheme")
            }
            scheme = .never
        }
        prependScheme = scheme
        splitPieces = try json["split"].bool(default: true)
    }

    public func preTokenize(_ text: inout PreTokenizedString) throws {
        let rep = [replacement]
        try text.split { _, s in
            var s = s
            try s.replace(LiteralPattern([" "]), with: rep)
            let startsWith = s.scalars.first == replacement
            switch prependScheme {
            case .always: if !startsWith { s.prepend(rep) }
            case .first: if !startsWith && s.originalStart == 0 { s.prepend(rep) }
            case .never: break
            }
            return splitPieces ? try s.split(LiteralPattern(rep), behavior: .mergedWithNext) : [s]
        }
    }
}

/// GPT-2's byte-level pre-tokenizer: optional prefix space, optional GPT-2 split regex, then
/// every byte mapped to the printable byte alphabet.
public struct ByteLevelPreTokenizer: PreTokenizer {
    public let addPrefixSpace: Bool
    public let useRegex: Bool
    private static let gpt2 = FastSplitPattern(flavor: .gpt2)

    public init(json: JSONNode) throws {
        addPrefixSpace = try json["add_prefix_space"].bool(default: true)
        useRegex = try json["use_regex"].bool(default: true)
    }

    public func preTokenize(_ text: inout PreTokenizedString) throws {
        try text.split { _, s in
            var s = s
            if addPrefixSpace && s.scalars.first != " " { s.prepend([" "]) }
            return useRegex ? try s.split(GPT2Pattern(), behavior: .isolated) : [s]
        }
        text.normalize { $0.mapToByteLevelAlphabet() }
    }

    private struct GPT2Pattern: SplitPattern {
        func findMatches(in scalars: [Unicode.Scalar]) throws -> [PatternMatch] {
            if scalars.isEmpty { return [PatternMatch(0..<0, isMatch: false)] }
            return ByteLevelPreTokenizer.gpt2.matches(in: scalars).map { PatternMatch($0, isMatch: true) }
        }
    }
}

/// Splits on a literal or regex pattern with the configured behaviour, optionally inverted.
public struct SplitPreTokenizer: PreTokenizer {
    public let pattern: any SplitPattern & Sendable
    public let behavior: SplitDelimiterBehavior
    public let invert: Bool

    public init(json: JSONNode) throws {
        pattern = try makePattern(json["pattern"])
        behavior = try splitBehavior(json["behavior"], default: .isolated)
        invert = try json["invert"].bool(default: false)
    }

    public func preTokenize(_ text: inout PreTokenizedString) throws {
        let p: any SplitPattern = invert ? InvertedPattern(base: pattern) : pattern
        try text.split { _, s in try s.split(p, behavior: behavior) }
    }
}

public struct SequencePreTokenizer: PreTokenizer {
    public let steps: [any PreTokenizer]
    public init(json: JSONNode) throws {
        steps = try json["pretokenizers"].array().compactMap { try PreTokenizerFactory.make($0) }
    }
    public func preTokenize(_ text: inout PreTokenizedString) throws {
        for p in steps { try p.preTokenize(&text) }
    }
}

public enum PreTokenizerFactory {
    /// The pre-tokenizer described by `node`, or nil for `null`.
    public static func make(_ node: JSONNode) throws -> (any PreTokenizer)? {
        if node.isNull { return nil }
        let type = try node.typeName()
        switch type {
        case "BertPreTokenizer": return BertPreTokenizer()
        case "Whitespace": return WhitespacePreTokenizer()
        case "WhitespaceSplit": return WhitespaceSplitPreTokenizer()
        case "Punctuation": return try PunctuationPreTokenizer(json: node)
        case "Digits": return try DigitsPreTokenizer(json: node)
        case "Metaspace": return try MetaspacePreTokenizer(json: node)
        case "ByteLevel": return try ByteLevelPreTokenizer(json: node)
        case "Split": return try SplitPreTokenizer(json: node)
        case "Sequence": return try SequencePreTokenizer(json: node)
        default: throw node["type"].unknownType(type, component: "pre-tokenizer")
        }
    }
}

func splitBehavior(_ node: JSONNode, default d: SplitDelimiterBehavior) throws -> SplitDelimiterBehavior {
    guard let s = try node.stringIfPresent() else { return d }
    guard let b = SplitDelimiterBehavior(rawValue: s) else { throw node.invalid("unknown split behavior \"\(s)\"") }
    return b
}

/// Swaps matches and non-matches of another pattern (Hugging Face `Invert`).
struct InvertedPattern: SplitPattern {
    let base: any SplitPattern
    func findMatches(in scalars: [Unicode.Scalar]) throws -> [PatternMatch] {
        try base.findMatches(in: scalars).map { PatternMatch($0.range, isMatch: !$0.isMatch) }
    }
}

/// `\w+|[^\w\s]+` as Oniguruma reads it, inverted: the runs are kept.
struct WordRunsPattern: SplitPattern {
    private enum Kind { case word, space, other }

    private static func kind(_ c: Unicode.Scalar) -> Kind {
        if c.value < 0x80 {
            let v = c.value
            if v == 0x20 || (v >= 0x09 && v <= 0x0D) { return .space }
            let word = (v >= 0x30 && v <= 0x39) || (v >= 0x41 && v <= 0x5A) || (v >= 0x61 && v <= 0x7A) || v == 0x5F
            return word ? .word : .other
        }
        if CharacterClass.isWordRunCharacter(c) { return .word }
        return CharacterClass.isRegexSpace(c) ? .space : .other
    }

    func findMatches(in scalars: [Unicode.Scalar]) throws -> [PatternMatch] {
        if scalars.isEmpty { return [PatternMatch(0..<0, isMatch: false)] }
        var out = [PatternMatch]()
        var i = 0
        while i < scalars.count {
            let k = Self.kind(scalars[i])
            var j = i + 1
            if k == .space {
                out.append(PatternMatch(i..<j, isMatch: true))
            } else {
                while j < scalars.count, Self.kind(scalars[j]) == k { j += 1 }
                out.append(PatternMatch(i..<j, isMatch: false))
            }
            i = j
        }
        return out
    }
}
