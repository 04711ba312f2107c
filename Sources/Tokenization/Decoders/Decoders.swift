import Foundation

/// Byte-level tokens back to UTF-8 text.
public struct ByteLevelDecoder: Decoder {
    public init() {}
    public func decode(_ tokens: [String]) throws -> [String] {
        var bytes = [UInt8]()
        for t in tokens {
            for s in t.unicodeScalars {
                if let b = ByteLevelAlphabet.scalarToByte[s.value] { bytes.append(b) } else { bytes.append(contentsOf: Array(String(s).utf8)) }
            }
        }
        return [String(decoding: bytes, as: UTF8.self)]
    }
}

/// `##` continuation pieces glued to the previous token, with BERT's clean-up of spaces.
public struct WordPieceDecoder: Decoder {
    let prefix: String
    let cleanup: Bool
    public init(json: JSONNode) throws {
        prefix = try json["prefix"].stringIfPresent() ?? "##"
        cleanup = try json["cleanup"].bool(default: true)
    }
    public func decode(_ tokens: [String]) throws -> [String] {
        tokens.enumerated().map { i, t in
            var s = t
            if i != 0 {
                if s.hasPrefix(prefix) { s = String(s.dropFirst(prefix.count)) } else { s = " " + s }
            }
            return cleanup ? cleanUp(s) : s
        }
    }
}

/// The replacement character (`▁`) back to spaces; the leading one dropped.
public struct MetaspaceDecoder: Decoder {
    let replacement: Character
    let prependScheme: String
    public init(json: JSONNode) throws {
        replacement = Character(try json["replacement"].string())
        prependScheme = try json["prepend_scheme"].stringIfPresent() ?? ((try json["add_prefix_space"].boolIfPresent()) == false ? "never" : "always")
    }
    public func decode(_ tokens: [String]) throws -> [String] {
        tokens.enumerated().map { i, t in
            var s = String(t.map { $0 == replacement ? " " : $0 })
            if i == 0 && prependScheme != "never" && s.hasPrefix(" ") { s.removeFirst() }
            return s
        }
    }
}

/// `<0x41>` byte tokens merged back into UTF-8 (invalid sequences become U+FFFD per byte).
public struct ByteFallbackDecoder: Decoder {
    public init() {}
    public func decode(_ tokens: [String]) throws -> [String] {
        var out = [String]()
        var pending = [UInt8]()
        func flush() {
            guard !pending.isEmpty else { return }
            if let s = String(validating: pending, as: UTF8.self) { out.append(s) } else { out += pending.map { _ in "\u{FFFD}" } }
            pending = []
        }
        for t in tokens {
            if t.count == 6, t.hasPrefix("<0x"), t.hasSuffix(">"), let b = UInt8(t.dropFirst(3).prefix(2), radix: 16) {
                pending.append(b)
            } else {
                flush()
                out.append(t)
            }
        }
        flush()
        return out
    }
}

public struct FuseDecoder: Decoder {
    public init() {}
    public func decode(_ tokens: [String]) throws -> [String] { [tokens.joined()] }
}

public struct StripDecoder: Decoder {
    let content: Character
    let start: Int
    let stop: Int
    public init(json: JSONNode) throws {
        content = Character(try json["content"].string())
        start = try json["start"].intIfPresent() ?? 0
        stop = try json["stop"].intIfPresent() ?? 0
    }
    public func decode(_ tokens: [String]) throws -> [String] {
        tokens.map { t in
            var s = Substring(t)
            for _ in 0..<start where s.first == content { s = s.dropFirst() }
            for _ in 0..<stop where s.last == content { s = s.dropLast() }
            return String(s)
        }
    }
}

public struct ReplaceDecoder: Decoder {
    let pattern: any SplitPattern & Sendable
    let content: [Unicode.Scalar]
    public init(json: JSONNode) throws {
        pattern = try makePattern(json["pattern"])
        content = Array(try json["content"].string().unicodeScalars)
    }
    public func decode(_ tokens: [String]) throws -> [String] {
        try tokens.map { t in
            var n = NormalizedString(t)
            try n.replace(pattern, with: content)
            return n.string
        }
    }
}

/// Joins tokens, turning the end-of-word suffix into a space.
public struct BPEDecoder: Decoder {
    let suffix: String
    public init(json: JSONNode) throws { suffix = try json["suffix"].stringIfPresent() ?? "</w>" }
    public func decode(_ tokens: [String]) throws -> [String] {
        tokens.enumerated().map { i, t in t.replacingOccurrences(of: suffix, with: i == tokens.count - 1 ? "" : " ") }
    }
}

public struct SequenceDecoder: Decoder {
    let decoders: [any Decoder]
    public init(json: JSONNode) throws { decoders = try json["decoders"].array().compactMap { try DecoderFactory.make($0) } }
    public func decode(_ tokens: [String]) throws -> [String] {
        var t = tokens
        for d in decoders { t = try d.decode(t) }
        return t
    }
}

/// BERT's `clean_up_tokenization`: no space before punctuation and contractions.
func cleanUp(_ s: String) -> String {
    var r = s
    for (a, b) in [(" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"),
                   (" 'm", "'m"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re")] {
        r = r.replacingOccurrences(of: a, with: b)
    }
    return r
}

public enum DecoderFactory {
    public static func make(_ node: JSONNode) throws -> (any Decoder)? {
        if node.isNull { return nil }
        let type = try node.typeName()
        switch type {
        case "ByteLevel": return ByteLevelDecoder()
        case "WordPiece": return try WordPieceDecoder(json: node)
        case "Metaspace": return try MetaspaceDecoder(json: node)
        case "ByteFallback": return ByteFallbackDecoder()
        case "Fuse": return FuseDecoder()
        case "Strip": return try StripDecoder(json: node)
        case "Replace": return try ReplaceDecoder(json: node)
        case "BPEDecoder": return try BPEDecoder(json: node)
        case "Sequence": return try SequenceDecoder(json: node)
        default: throw node["type"].unknownType(type, component: "decoder")
        }
    }
}
