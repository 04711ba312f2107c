import Foundation

/// The architecture fields of `config.json` that the forward pass needs.
public struct ModelConfig: Sendable, Equatable {
    public enum Architecture: String, Sendable { case bert, xlmRoberta = "xlm-roberta", qwen3 }

    public var architecture: Architecture
    public var hiddenSize: Int
    public var layers: Int
    public var heads: Int
    public var kvHeads: Int
    public var headDim: Int
    public var intermediateSize: Int
    public var vocabSize: Int
    public var maxPositions: Int
    public var typeVocabSize: Int
    public var padTokenId: Int?
    public var layerNormEps: Float
    public var ropeTheta: Float
    public var isMatryoshka: Bool
    public var matryoshkaDimensions: [Int]?

    public init(json obj: [String: Any], file: String) throws {
        func int(_ k: String) throws -> Int {
            guard let v = (obj[k] as? NSNumber)?.intValue else { throw ModelError(.invalidConfig, file: file, "missing integer \(k)") }
            return v
        }
        let modelType = (obj["model_type"] as? String) ?? ""
        let archs = (obj["architectures"] as? [String]) ?? []
        switch modelType {
        case "bert": architecture = .bert
        case "xlm-roberta", "roberta", "camembert": architecture = .xlmRoberta
        case "qwen3": architecture = .qwen3
        default:
            if archs.contains(where: { $0.hasPrefix("Bert") }) { architecture = .bert }
            else if archs.contains(where: { $0.hasPrefix("XLMRoberta") || $0.hasPrefix("Roberta") }) { architecture = .xlmRoberta }
            else if archs.contains(where: { $0.hasPrefix("Qwen3") }) { architecture = .qwen3 }
            else {
                throw ModelError(.unsupported, file: file, "unsupported architecture \(modelType.isEmpty ? archs.description : modelType); supported: bert, xlm-roberta, qwen3")
            }
        }
        hiddenSize = try int("hidden_size")
        layers = try int("num_hidden_layers")
        heads = try int("num_attention_heads")
        kvHeads = (obj["num_key_value_heads"] as? NSNumber)?.intValue ?? heads
        headDim = (obj["head_dim"] as? NSNumber)?.intValue ?? hiddenSize / max(1, heads)
        intermediateSize = try int("intermediate_size")
        vocabSize = try int("vocab_size")
        maxPositions = (obj["max_position_embeddings"] as? NSNumber)?.intValue ?? 512
        typeVocabSize = (obj["type_vocab_size"] as? NSNumber)?.intValue ?? 0
        padTokenId = (obj["pad_token_id"] as? NSNumber)?.intValue
        let eps = (obj["layer_norm_eps"] as? NSNumber) ?? (obj["rms_norm_eps"] as? NSNumber)
        layerNormEps = eps?.floatValue ?? (architecture == .qwen3 ? 1e-6 : 1e-12)
        let rope = (obj["rope_parameters"] as? [String: Any])?["rope_theta"] as? NSNumber ?? obj["rope_theta"] as? NSNumber
        ropeTheta = rope?.floatValue ?? 10_000
        isMatryoshka = (obj["is_matryoshka"] as? Bool) ?? false
        matryoshkaDimensions = (obj["matryoshka_dimensions"] as? [NSNumber])?.map(\.intValue)
        if let act = obj["hidden_act"] as? String, act != (architecture == .qwen3 ? "silu" : "gelu") {
            throw ModelError(.unsupported, file: file, "hidden_act \(act) is not supported for \(architecture.rawValue)")
        }
        // Bounds keep every buffer size below overflow and every weight non-empty.
        let limit = 1 << 22
        let sizes = [hiddenSize, layers, heads, kvHeads, headDim, intermediateSize, maxPositions]
        guard sizes.allSatisfy({ $0 > 0 && $0 <= limit }), vocabSize > 0, vocabSize <= 1 << 24,
              typeVocabSize >= 0, typeVocabSize <= limit else {
            throw ModelError(.invalidConfig, file: file, "sizes must be positive and plausible (hidden \(hiddenSize), layers \(layers), intermediate \(intermediateSize), vocab \(vocabSize), positions \(maxPositions))")
        }
        if architecture == .qwen3 && headDim % 2 != 0 {
            throw ModelError(.invalidConfig, file: file, "head_dim \(headDim) must be even for rotary positions")
        }
        guard hiddenSize > 0, layers > 0, heads > 0, headDim > 0, kvHeads > 0, heads % kvHeads == 0 else {
            throw ModelError(.invalidConfig, file: file, "inconsistent sizes (hidden \(hiddenSize), heads \(heads), kv heads \(kvHeads))")
        }
        if architecture != .qwen3 && headDim * heads != hiddenSize {
            throw ModelError(.invalidConfig, file: file, "hidden_size \(hiddenSize) is not heads × head_dim")
        }
    }
}
