import Foundation

/// A decoder reranker in the Qwen3-Reranker style: the Qwen3 decoder reads the whole judgement
/// prompt (instruction, query, document, and the assistant turn opened), and the relevance is the
/// probability that its next token is "yes" rather than "no". Only the last token's state and
/// only two rows of the language-model head are needed, so the head is never applied to the
/// whole vocabulary (151,669 rows for Qwen3).
///
/// Two layouts are read:
/// - `Qwen3ForCausalLM`, the official Qwen/Qwen3-Reranker-* folders: logits = final-normed last
///   state · `lm_head` rows of "yes" and "no". As transformers 5 loads it, `lm_head.weight` is
///   used when the checkpoint has it, else the embedding table when `tie_word_embeddings` is set.
/// - `Qwen3ForSequenceClassification`, the converted "seq-cls" folders: `score.weight` holds one
///   row (yes − no, the score is its sigmoid) or two ([no, yes], the score is their softmax's second).
///
/// The prompt template is the tokenizer's business (EmbeddingEngine's `DecoderReranker`); this
/// type takes token ids and gives one score per sequence.
public struct DecoderRerankerModel: Sendable {
    public enum Head: String, Sendable {
        /// Two rows of the language-model head: the tokens "yes" and "no".
        case causalLM
        /// The classification head of a converted checkpoint.
        case sequenceClassification
    }

    /// Architectures (config.json `architectures`) this loader reads, and their head.
    public static let supportedArchitectures: [String: Head] = [
        "Qwen3ForCausalLM": .causalLM,
        "Qwen3ForSequenceClassification": .sequenceClassification,
    ]

    public let folder: URL
    public let config: ModelConfig
    public let architecture: String
    public let head: Head
    /// Token ids whose logits are compared (causal-LM layout only; nil for seq-cls).
    public let yesTokenId: Int?
    public let noTokenId: Int?
    private let decoder: Qwen3Model
    /// `rows` × hidden: [no, yes] (causal LM, or seq-cls with two labels) or [yes − no] (one label).
    private let rows: [Float]
    private let rowCount: Int

    /// The decoder-reranker architecture a folder's config.json names, or nil when it names none
    /// (a cross-encoder, an embedding model, …), so a loader can choose before reading weights.
    /// A missing or unreadable config.json is an error.
    public static func architecture(folder: URL) throws -> String? {
        let obj = try readConfig(folder)
        return ((obj["architectures"] as? [String]) ?? []).first { supportedArchitectures[$0] != nil }
    }

    /// Loads the folder. `yesTokenId` / `noTokenId` are the tokenizer's ids of "yes" and "no"
    /// (transformers' `convert_tokens_to_ids`); the causal-LM layout needs them, seq-cls ignores them.
    public init(folder: URL, yesTokenId: Int?, noTokenId: Int?) throws {
        self.folder = folder
        let configPath = folder.appendingPathComponent("config.json").path
        let obj = try Self.readConfig(folder)
        let archs = (obj["architectures"] as? [String]) ?? []
        guard let arch = archs.first(where: { Self.supportedArchitectures[$0] != nil }), let head = Self.supportedArchitectures[arch] else {
            let what = archs.isEmpty ? "no architectures" : "architectures \(archs.joined(separator: ", "))"
            throw ModelError(.unsupported, file: configPath,
                             "\(what); supported decoder rerankers: \(Self.supportedArchitectures.keys.sorted().joined(separator: ", "))")
        }
        architecture = arch
        self.head = head
        let config = try ModelConfig(json: obj, file: configPath)
        guard config.architecture == .qwen3 else {
            throw ModelError(.unsupported, file: configPath, "\(arch) with model_type \(config.architecture.rawValue) is not supported (qwen3 is)")
        }
        self.config = config
        let store = try TensorStore(folder: folder)
        let decoder = try Qwen3Model(config: config, store: store)
        self.decoder = decoder
        let h = config.hiddenSize
        switch head {
        case .causalLM:
            guard let yes = yesTokenId, let no = noTokenId else {
                throw ModelError(.invalidConfig, file: folder.appendingPathComponent("tokenizer.json").path,
                                 "a causal-LM reranker needs the token ids of \"yes\" and \"no\"")
            }
            for (word, id) in [("yes", yes), ("no", no)] where id < 0 || id >= config.vocabSize {
                throw ModelError(.invalidConfig, file: configPath, "the token \"\(word)\" has id \(id), outside the vocabulary of \(config.vocabSize)")
            }
            self.yesTokenId = yes
            self.noTokenId = no
            if let name = store.resolve(["lm_head.weight"]) {
                rows = try store.rows(name, [no, yes], shape: [config.vocabSize, h])
            } else if (obj["tie_word_embeddings"] as? Bool) ?? false {
                rows = [no, yes].flatMap { decoder.embeddings[($0 * h)..<(($0 + 1) * h)] }
            } else {
                throw ModelError(.missingTensor, file: store.source, "missing tensor lm_head.weight (and tie_word_embeddings is not set)")
            }
            rowCount = 2
        case .sequenceClassification:
            self.yesTokenId = nil
            self.noTokenId = nil
            let labels = try CrossEncoderModel.labelCount(obj, file: configPath)
            guard labels == 1 || labels == 2 else {
                throw ModelError(.unsupported, file: configPath, "\(arch) has \(labels) labels; a reranker needs one (yes − no) or two ([no, yes])")
            }
            guard let name = store.resolve(["score.weight"]) else {
                throw ModelError(.missingTensor, file: store.source, "missing tensor score.weight")
            }
            rows = try store.floats(name, shape: [labels, h])
            rowCount = labels
        }
    }

    /// The longest sequence the position table allows.
    public var maxSequenceLength: Int { decoder.maxTokens }

    /// The head's logits at each sequence's last token: [no, yes] (two rows) or [yes − no] (one).
    public func logits(_ sequences: [[Int]], threads: Int = 1) throws -> [[Float]] {
        guard !sequences.isEmpty else { return [] }
        if let i = sequences.firstIndex(where: \.isEmpty) {
            throw ModelError(.invalidConfig, file: "input", "sequence \(i) has no tokens")
        }
        let batch = PackedBatch(sequences: sequences)
        let r = try decoder.forward(batch, collectLayers: false, threads: threads)
        let w = r.width
        return zip(batch.starts, batch.lengths).map { start, length in
            let last = (start + length - 1) * w
            return (0..<rowCount).map { k in
                var s: Float = 0
                for i in 0..<w { s += r.hidden[last + i] * rows[k * w + i] }
                return s
            }
        }
    }

    /// P("yes") per sequence: the softmax of [no, yes] at the last token, i.e. sigmoid(yes − no)
    /// (for one label, the sigmoid of its logit), what the model card's
    /// `log_softmax(stack([no, yes]))[:, 1].exp()` computes.
    public func scores(_ sequences: [[Int]], threads: Int = 1) throws -> [Float] {
        try logits(sequences, threads: threads).map { l in
            let d = l.count == 2 ? l[1] - l[0] : l[0]
            return 1 / (1 + expf(-d))
        }
    }

    private static func readConfig(_ folder: URL) throws -> [String: Any] {
        let url = folder.appendingPathComponent("config.json")
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw ModelError(.missingFile, file: url.path, "missing config.json")
        }
        guard let obj = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw ModelError(.malformedFile, file: url.path, "config.json is not a JSON object")
        }
        return obj
    }
}
