/// BERT's normaliser: control characters removed, white space unified, CJK ideographs spaced
/// out, accents stripped and text lower-cased (each step optional).
public struct BertNormalizer: Normalizer {
    public var cleanText = true
    public var handleChineseChars = true
    /// nil follows `lowercase`, as in Hugging Face.
    public var stripAccents: Bool? = nil
    public var lowercase = true

    public init(json: JSONNode) throws {
        cleanText = try json["clean_text"].bool(default: true)
        handleChineseChars = try json["handle_chinese_chars"].bool(default: true)
        stripAccents = try json["strip_accents"].boolIfPresent()
        lowercase = try json["lowercase"].bool(default: true)
    }

    public func normalize(_ text: inout NormalizedString) throws {
        if cleanText {
            text.filter { !($0.value == 0 || $0.value == 0xFFFD || CharacterClass.isBertControl($0)) }
            text.map { CharacterClass.isBertWhitespace($0) ? " " : $0 }
        }
        if handleChineseChars, text.scalars.contains(where: CharacterClass.isChineseChar) {
            var dest = [(Unicode.Scalar, Int)]()
            dest.reserveCapacity(text.count + 16)
            for c in text.scalars {
                if CharacterClass.isChineseChar(c) {
                    dest.append((" ", 0))
                    dest.append((c, 1))
                    dest.append((" ", 1))
                } else {
                    dest.append((c, 0))
                }
            }
            text.transform(with: dest)
        }
        if stripAccents ?? lowercase {
            text.normalize(.nfd)
            text.filter { !CharacterClass.isNonspacingMark($0) }
        }
        if lowercase { text.lowercase() }
    }
}

/// NFC, NFD, NFKC or NFKD.
public struct UnicodeNormalizer: Normalizer {
    public let form: UnicodeNormalizationForm
    public init(_ form: UnicodeNormalizationForm) { self.form = form }
    public func normalize(_ text: inout NormalizedString) throws { text.normalize(form) }
}

public struct LowercaseNormalizer: Normalizer {
    public init() {}
    public func normalize(_ text: inout NormalizedString) throws { text.lowercase() }
}

public struct StripNormalizer: Normalizer {
    public var left: Bool
    public var right: Bool
    public init(json: JSONNode) throws {
        left = try json["strip_left"].bool(default: true)
        right = try json["strip_right"].bool(default: true)
    }
    public func normalize(_ text: inout NormalizedString) throws { text.strip(left: left, right: right) }
}

/// Removes non-spacing marks (category Mn); meant to follow NFD/NFKD.
public struct StripAccentsNormalizer: Normalizer {
    public init() {}
    public func normalize(_ text: inout NormalizedString) throws {
        text.filter { !CharacterClass.isNonspacingMark($0) }
    }
}

public struct PrependNormalizer: Normalizer {
    public let prefix: [Unicode.Scalar]
    public init(json: JSONNode) throws { prefix = Array(try json["prepend"].string().unicodeScalars) }
    public func normalize(_ text: inout NormalizedString) throws { text.prepend(prefix) }
}

/// Replaces every match of a literal or regular-expression pattern.
public struct ReplaceNormalizer: Normalizer {
    public let pattern: any SplitPattern & Sendable
    public let content: [Unicode.Scalar]

    public init(json: JSONNode) throws {
        pattern = try makePattern(json["pattern"])
        content = Array(try json["content"].string().unicodeScalars)
    }

    public func normalize(_ text: inout NormalizedString) throws {
        try text.replace(pattern, with: content)
    }
}

/// Reads `{"String": "..."}` or `{"Regex": "..."}`.
func makePattern(_ node: JSONNode) throws -> any SplitPattern & Sendable {
    if let s = try node["String"].stringIfPresent() { return LiteralPattern(s) }
    if let r = try node["Regex"].stringIfPresent() { return try RegexPattern(r, path: node["Regex"].path) }
    throw node.invalid("expected {\"String\": …} or {\"Regex\": …}")
}

/// Maps every byte of the UTF-8 text to the GPT-2 byte alphabet.
public struct ByteLevelNormalizer: Normalizer {
    public init() {}
    public func normalize(_ text: inout NormalizedString) throws { text.mapToByteLevelAlphabet() }
}

public struct SequenceNormalizer: Normalizer {
    public let normalizers: [any Normalizer]
    public init(json: JSONNode) throws {
        normalizers = try json["normalizers"].array().compactMap { try NormalizerFactory.make($0) }
    }
    public func normalize(_ text: inout NormalizedString) throws {
        for n in normalizers { try n.normalize(&text) }
    }
}

extension NormalizedString {
    /// Hugging Face `replace`: each match becomes `content`, every new scalar aligned with the
    /// last scalar of the match.
    public mutating func replace(_ pattern: some SplitPattern, with content: [Unicode.Scalar]) throws {
        let matches = try pattern.findMatches(in: scalars)
        guard matches.contains(where: { $0.isMatch }) else { return }
        var out = [Unicode.Scalar]()
        var aligns = [Alignment]()
        out.reserveCapacity(scalars.count)
        aligns.reserveCapacity(scalars.count)
        for m in matches {
            if !m.isMatch {
                out.append(contentsOf: scalars[m.range])
                aligns.append(contentsOf: alignments[m.range])
                continue
            }
            let align = m.range.upperBound >= 1
                ? alignments[m.range.upperBound - 1] : Alignment(originalStart, originalStart)
            for c in content {
                out.append(c)
                aligns.append(align)
            }
        }
        scalars = out
        alignments = aligns
    }
}

public enum NormalizerFactory {
    /// The normaliser described by `node`, or nil for `null`.
    public static func make(_ node: JSONNode) throws -> (any Normalizer)? {
        if node.isNull { return nil }
        let type = try node.typeName()
        switch type {
        case "BertNormalizer": return try BertNormalizer(json: node)
        case "NFC": return UnicodeNormalizer(.nfc)
        case "NFD": return UnicodeNormalizer(.nfd)
        case "NFKC": return UnicodeNormalizer(.nfkc)
        case "NFKD": return UnicodeNormalizer(.nfkd)
        case "Lowercase": return LowercaseNormalizer()
        case "Strip": return try StripNormalizer(json: node)
        case "StripAccents": return StripAccentsNormalizer()
        case "Replace": return try ReplaceNormalizer(json: node)
        case "Prepend": return try PrependNormalizer(json: node)
        case "Precompiled": return try PrecompiledNormalizer(json: node)
        case "ByteLevel": return ByteLevelNormalizer()
        case "Sequence": return try SequenceNormalizer(json: node)
        default: throw node["type"].unknownType(type, component: "normalizer")
        }
    }
}
