/// The tokenization model a `tokenizer.json` names in `model.type` (inferred from its fields
/// when an older file leaves the type out).
public enum ModelFactory {
    public static func make(_ node: JSONNode) throws -> any TokenizationModel {
        guard !node.isNull else { throw node.invalid("missing model") }
        var type = try node["type"].stringIfPresent()
        if type == nil {
            // Older files omit the type; infer it from the fields, as Hugging Face does.
            if node["merges"].exists { type = "BPE" }
            else if node["continuing_subword_prefix"].exists || node["max_input_chars_per_word"].exists { type = "WordPiece" }
            else if case .array = node["vocab"].value { type = "Unigram" }
            else { type = "WordLevel" }
        }
        switch type ?? "" {
        case "BPE": return try BPEModel(json: node)
        case "WordPiece": return try WordPieceModel(json: node)
        case "Unigram": return try UnigramModel(json: node)
        case "WordLevel": return try WordLevelModel(json: node)
        case let t: throw node["type"].unknownType(t, component: "model")
        }
    }
}
