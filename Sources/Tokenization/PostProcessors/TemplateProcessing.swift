/// Special tokens placed by templates such as `[CLS] $A [SEP] $B:1 [SEP]:1`.
public struct TemplateProcessing: PostProcessor {
    enum Piece {
        case sequence(isPair: Bool, typeId: Int)
        case special(id: String, typeId: Int)
    }

    let single: [Piece]
    let pair: [Piece]
    /// Template name → its tokens and ids (a special may expand to several tokens).
    let specials: [String: (tokens: [String], ids: [Int])]

    public init(json: JSONNode) throws {
        single = try Self.readTemplate(json["single"])
        pair = try Self.readTemplate(json["pair"])
        var specials = [String: (tokens: [String], ids: [Int])]()
        if json["special_tokens"].exists {
            for (name, node) in try json["special_tokens"].object() {
                let ids = try node["ids"].array().map { try $0.int() }
                let tokens = try node["tokens"].array().map { try $0.string() }
                guard ids.count == tokens.count else { throw node.invalid("ids and tokens differ in length") }
                specials[name] = (tokens, ids)
            }
        }
        self.specials = specials
        for piece in single + pair {
            if case .special(let id, _) = piece, specials[id] == nil {
                throw json["special_tokens"].invalid("template uses special token \"\(id)\" that is not defined")
            }
        }
    }

    private static func readTemplate(_ node: JSONNode) throws -> [Piece] {
        if node.isNull { return [] }
        return try node.array().map { p in
            if p["Sequence"].exists {
                let id = try p["Sequence"]["id"].string()
                guard id == "A" || id == "B" else { throw p["Sequence"]["id"].invalid("sequence id must be A or B") }
                return .sequence(isPair: id == "B", typeId: try p["Sequence"]["type_id"].intIfPresent() ?? 0)
            }
            if p["SpecialToken"].exists {
                return .special(id: try p["SpecialToken"]["id"].string(), typeId: try p["SpecialToken"]["type_id"].intIfPresent() ?? 0)
            }
            throw p.invalid("expected a Sequence or SpecialToken piece")
        }
    }

    public func addedTokens(isPair: Bool) -> Int {
        (isPair ? pair : single).reduce(0) { n, p in
            if case .special(let id, _) = p { return n + (specials[id]?.ids.count ?? 0) }
            return n
        }
    }

    public func process(_ first: Encoding, pair second: Encoding?, addSpecialTokens: Bool) throws -> Encoding {
        let template = second == nil ? single : pair
        var out = Encoding()
        for piece in template {
            switch piece {
            case .sequence(let isPair, let typeId):
                guard var e = isPair ? second : first else { continue }
                e.typeIds = Array(repeating: typeId, count: e.count)
                e.sequenceIds = Array(repeating: isPair ? 1 : 0, count: e.count)
                out.append(e)
            case .special(let id, let typeId):
                guard addSpecialTokens, let s = specials[id] else { continue }
                for (t, i) in zip(s.tokens, s.ids) { out.appendSpecial(token: t, id: i, typeId: typeId) }
            }
        }
        return out
    }
}
