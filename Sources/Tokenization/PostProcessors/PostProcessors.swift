extension Encoding {
    /// Wraps `content` with special tokens: `before` and `after` as (token, id) pairs.
    func wrapped(before: [(String, Int)], after: [(String, Int)], typeId: Int, sequence: Int) -> Encoding {
        var e = Encoding()
        let n = before.count + count + after.count
        e.ids.reserveCapacity(n)
        for (t, id) in before { e.appendSpecial(token: t, id: id, typeId: typeId) }
        e.ids += ids
        e.tokens += tokens
        e.offsets += offsets
        e.typeIds += Array(repeating: typeId, count: count)
        e.specialTokensMask += Array(repeating: 0, count: count)
        e.attentionMask += Array(repeating: 1, count: count)
        e.sequenceIds += Array(repeating: sequence, count: count)
        for (t, id) in after { e.appendSpecial(token: t, id: id, typeId: typeId) }
        return e
    }

    mutating func appendSpecial(token: String, id: Int, typeId: Int) {
        ids.append(id)
        tokens.append(token)
        offsets.append(Offset(0, 0))
        typeIds.append(typeId)
        specialTokensMask.append(1)
        attentionMask.append(1)
        sequenceIds.append(nil)
    }

    mutating func append(_ other: Encoding) {
        ids += other.ids
        typeIds += other.typeIds
        tokens += other.tokens
        offsets += other.offsets
        specialTokensMask += other.specialTokensMask
        attentionMask += other.attentionMask
        sequenceIds += other.sequenceIds
    }

    /// The plain concatenation used when there is no post-processor or specials are off.
    static func concatenated(_ first: Encoding, _ pair: Encoding?) -> Encoding {
        var e = first
        if var p = pair {
            p.sequenceIds = p.sequenceIds.map { $0 == nil ? nil : 1 }
            e.append(p)
        }
        return e
    }
}

/// `[CLS] A [SEP] (B [SEP])`, type ids 0 then 1.
public struct BertProcessing: PostProcessor {
    let sep: (String, Int)
    let cls: (String, Int)

    public init(json: JSONNode) throws {
        sep = try readSpecial(json["sep"])
        cls = try readSpecial(json["cls"])
    }

    public func addedTokens(isPair: Bool) -> Int { isPair ? 3 : 2 }

    public func process(_ first: Encoding, pair: Encoding?, addSpecialTokens: Bool) throws -> Encoding {
        var a = first
        a.typeIds = Array(repeating: 0, count: a.count)
        var b = pair
        if b != nil { b!.typeIds = Array(repeating: 1, count: b!.count) }  // safe: checked non-nil
        guard addSpecialTokens else { return .concatenated(a, b) }
        var e = a.wrapped(before: [cls], after: [sep], typeId: 0, sequence: 0)
        if let b { e.append(b.wrapped(before: [], after: [sep], typeId: 1, sequence: 1)) }
        return e
    }
}

/// `<s> A </s> (</s> B </s>)`, all type ids 0, with optional byte-level offset trimming.
public struct RobertaProcessing: PostProcessor {
    let sep: (String, Int)
    let cls: (String, Int)
    let trimOffsets: Bool
    let addPrefixSpace: Bool

    public init(json: JSONNode) throws {
        sep = try readSpecial(json["sep"])
        cls = try readSpecial(json["cls"])
        trimOffsets = try json["trim_offsets"].bool(default: true)
        addPrefixSpace = try json["add_prefix_space"].bool(default: true)
    }

    public func addedTokens(isPair: Bool) -> Int { isPair ? 4 : 2 }

    public func process(_ first: Encoding, pair: Encoding?, addSpecialTokens: Bool) throws -> Encoding {
        var a = first, b = pair
        if trimOffsets {
            a.trimByteLevelOffsets(addPrefixSpace: addPrefixSpace)
            b?.trimByteLevelOffsets(addPrefixSpace: addPrefixSpace)
        }
        a.typeIds = Array(repeating: 0, count: a.count)
        if b != nil { b!.typeIds = Array(repeating: 0, count: b!.count) }  // safe: checked non-nil
        guard addSpecialTokens else { return .concatenated(a, b) }
        var e = a.wrapped(before: [cls], after: [sep], typeId: 0, sequence: 0)
        if let b { e.append(b.wrapped(before: [sep], after: [sep], typeId: 0, sequence: 1)) }
        return e
    }
}

/// Only trims offsets of byte-level tokens (leading/trailing `Ġ`).
public struct ByteLevelProcessing: PostProcessor {
    let trimOffsets: Bool
    let addPrefixSpace: Bool

    public init(json: JSONNode) throws {
        trimOffsets = try json["trim_offsets"].bool(default: true)
        addPrefixSpace = try json["add_prefix_space"].bool(default: true)
    }

    public func addedTokens(isPair: Bool) -> Int { 0 }

    public func process(_ first: Encoding, pair: Encoding?, addSpecialTokens: Bool) throws -> Encoding {
        var a = first, b = pair
        if trimOffsets {
            a.trimByteLevelOffsets(addPrefixSpace: addPrefixSpace)
            b?.trimByteLevelOffsets(addPrefixSpace: addPrefixSpace)
        }
        return .concatenated(a, b)
    }
}

/// Several post-processors in a row; each later one sees the previous result as one sequence.
public struct SequenceProcessing: PostProcessor {
    let processors: [any PostProcessor]

    public init(json: JSONNode) throws {
        processors = try json["processors"].array().compactMap { try PostProcessorFactory.make($0) }
    }

    public func addedTokens(isPair: Bool) -> Int { processors.reduce(0) { $0 + $1.addedTokens(isPair: isPair) } }

    public func process(_ first: Encoding, pair: Encoding?, addSpecialTokens: Bool) throws -> Encoding {
        var a = first
        var b = pair
        for (i, p) in processors.enumerated() {
            if i == 0 || b != nil {
                a = try p.process(a, pair: b, addSpecialTokens: addSpecialTokens)
                b = nil
            } else {
                a = try p.process(a, pair: nil, addSpecialTokens: addSpecialTokens)
            }
        }
        return a
    }
}

extension Encoding {
    /// Moves offsets past leading/trailing spaces inside byte-level tokens (`Ġ` or white space),
    /// as Hugging Face's `process_offsets`.
    mutating func trimByteLevelOffsets(addPrefixSpace: Bool) {
        let spaceChar = ByteLevelAlphabet.byteToScalar[0x20]
        func isSpace(_ c: Unicode.Scalar) -> Bool { c == spaceChar || CharacterClass.isWhitespace(c) }
        for i in tokens.indices {
            let scalars = tokens[i].unicodeScalars
            var leading = 0
            for c in scalars { if isSpace(c) { leading += 1 } else { break } }
            var trailing = 0
            for c in scalars.reversed() { if isSpace(c) { trailing += 1 } else { break } }
            guard leading > 0 || trailing > 0 else { continue }
            var o = offsets[i]
            if leading > 0 {
                let isFirst = i == 0 || o.start == 0
                if isFirst && addPrefixSpace && leading == 1 { leading = 0 }
                o.start = min(o.start + leading, o.end)
            }
            if trailing > 0 && o.end >= trailing { o.end = max(o.end - trailing, o.start) }
            offsets[i] = o
        }
    }
}

/// Reads `["[SEP]", 102]`.
func readSpecial(_ node: JSONNode) throws -> (String, Int) {
    let parts = try node.array()
    guard parts.count == 2 else { throw node.invalid("expected [token, id]") }
    return (try parts[0].string(), try parts[1].int())
}

public enum PostProcessorFactory {
    /// The post-processor described by `node`, or nil for `null`.
    public static func make(_ node: JSONNode) throws -> (any PostProcessor)? {
        if node.isNull { return nil }
        let type = try node.typeName()
        switch type {
        case "BertProcessing": return try BertProcessing(json: node)
        case "RobertaProcessing": return try RobertaProcessing(json: node)
        case "TemplateProcessing": return try TemplateProcessing(json: node)
        case "ByteLevel": return try ByteLevelProcessing(json: node)
        case "Sequence": return try SequenceProcessing(json: node)
        default: throw node["type"].unknownType(type, component: "post-processor")
        }
    }
}
