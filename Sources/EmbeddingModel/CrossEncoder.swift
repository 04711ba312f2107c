import Foundation

/// A classification head over the encoder's first-token states: `rows` × hidden values in,
/// `rows` × `labels` logits out.
protocol SequenceClassificationHead: Sendable {
    var labels: Int { get }
    func logits(firstTokens: [Float], rows: Int, threads: Int) -> [Float]
}

/// What sentence-transformers' `CrossEncoder.predict` applies to the logits.
public enum CrossEncoderActivation: String, Sendable, Equatable {
    case identity, sigmoid, tanh
    /// Over the labels of one pair (`torch.nn.Softmax()` with its implicit dim 1 on [batch, labels]).
    case softmax

    /// The activation a dotted PyTorch class path names (`torch.nn.modules.activation.Sigmoid`,
    /// `torch.nn.Sigmoid`, …); nil for other classes.
    public init?(torchPath path: String) {
        switch path.split(separator: ".").last.map(String.init) ?? "" {
        case "Identity": self = .identity
        case "Sigmoid": self = .sigmoid
        case "Tanh": self = .tanh
        case "Softmax": self = .softmax
        default: return nil
        }
    }

    /// The class path sentence-transformers writes for this activation.
    public var torchPath: String {
        switch self {
        case .identity: "torch.nn.modules.linear.Identity"
        case .sigmoid: "torch.nn.modules.activation.Sigmoid"
        case .tanh: "torch.nn.modules.activation.Tanh"
        case .softmax: "torch.nn.modules.activation.Softmax"
        }
    }

    /// Applies the activation to one pair's logits.
    public func apply(_ logits: [Float]) -> [Float] {
        switch self {
        case .identity: return logits
        case .sigmoid: return logits.map { 1 / (1 + expf(-$0)) }
        case .tanh: return logits.map { Foundation.tanh($0) }
        case .softmax:
            let m = logits.max() ?? 0
            let e = logits.map { expf($0 - m) }
            let sum = e.reduce(0, +)
            return e.map { $0 / sum }
        }
    }
}

/// A sentence-transformers CrossEncoder folder (or a plain Hugging Face sequence-classification
/// checkpoint, which `CrossEncoder(folder)` loads the same way): the BERT / XLM-R encoder, the
/// architecture's classification head, and the activation `predict` applies. Pairs come in as
/// token ids already laid out by the tokenizer's pair template (`[CLS] q [SEP] d [SEP]`,
/// `<s> q </s></s> d </s>`) with their type ids.
public struct CrossEncoderModel: Sendable {
    public enum Head: String, Sendable {
        /// `BertForSequenceClassification`: pooler (dense + tanh on [CLS]) then `classifier`.
        case bert
        /// `XLMRobertaForSequenceClassification`: `classifier.dense` + tanh on <s>, then `classifier.out_proj`.
        case xlmRoberta
    }

    /// Architectures (config.json `architectures`) this loader reads, and their head.
    public static let supportedArchitectures: [String: Head] = [
        "BertForSequenceClassification": .bert,
        "XLMRobertaForSequenceClassification": .xlmRoberta,
        "RobertaForSequenceClassification": .xlmRoberta,
        "CamembertForSequenceClassification": .xlmRoberta,
    ]

    public let folder: URL
    public let config: ModelConfig
    public let architecture: String
    public let headKind: Head
    /// Logits per pair (config.json `num_labels`, or the size of `id2label`).
    public let labels: Int
    public let activation: CrossEncoderActivation
    /// Max length, prompts and default prompt as the folder states them.
    public let sentenceConfig: SentenceTransformerConfig
    private let encoder: BertModel
    private let head: any SequenceClassificationHead

    public init(folder: URL) throws {
        self.folder = folder
        let configURL = folder.appendingPathComponent("config.json")
        guard let data = FileManager.default.contents(atPath: configURL.path) else {
            throw ModelError(.missingFile, file: configURL.path, "missing config.json")
        }
        guard let obj = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw ModelError(.malformedFile, file: configURL.path, "config.json is not a JSON object")
        }
        let archs = (obj["architectures"] as? [String]) ?? []
        guard let arch = archs.first(where: { Self.supportedArchitectures[$0] != nil }), let kind = Self.supportedArchitectures[arch] else {
            let supported = Self.supportedArchitectures.keys.sorted().joined(separator: ", ")
            let what = archs.isEmpty ? "no architectures" : "architectures \(archs.joined(separator: ", "))"
            let hint = archs.contains { DecoderRerankerModel.supportedArchitectures[$0] != nil }
                ? " (a Qwen3-Reranker-style decoder reranker, not a cross-encoder: LocalReranker.load(folder:) in EmbeddingEngine loads either, DecoderRerankerModel this one)"
                : archs.contains { $0.hasSuffix("ForCausalLM") }
                ? " (a language model; of the decoder rerankers that score with yes/no logits, Qwen3ForCausalLM is supported)"
                : archs.contains { $0.hasSuffix("ForSequenceClassification") } ? "" : "; this looks like an embedding or language model, not a cross-encoder"
            throw ModelError(.unsupported, file: configURL.path, "\(what)\(hint); supported cross-encoders: \(supported)")
        }
        architecture = arch
        headKind = kind
        config = try ModelConfig(json: obj, file: configURL.path)
        guard config.architecture != .qwen3 else {
            throw ModelError(.unsupported, file: configURL.path, "\(arch) with model_type qwen3 is not supported")
        }
        labels = try Self.labelCount(obj, file: configURL.path)
        try Self.checkModules(folder: folder)
        sentenceConfig = try SentenceTransformerConfig(folder: folder)
        activation = try Self.activation(folder: folder, config: obj, labels: labels)
        let store = try TensorStore(folder: folder)
        encoder = try BertModel(config: config, store: store)
        switch kind {
        case .bert: head = try BertSequenceClassificationHead(config: config, labels: labels, store: store)
        case .xlmRoberta: head = try XLMRobertaSequenceClassificationHead(config: config, labels: labels, store: store)
        }
    }

    /// The longest pair in tokens, special tokens included: the folder's max_seq_length (or the
    /// tokenizer's model_max_length), capped by the position table.
    public var maxSequenceLength: Int {
        min(sentenceConfig.maxSeqLength ?? encoder.maxTokens, encoder.maxTokens)
    }

    /// Raw logits (`labels` per pair) for pairs already tokenized with the pair template.
    /// `typeIds` are the template's segment ids; nil or a wrong-length entry means all zeros.
    public func logits(_ sequences: [[Int]], typeIds: [[Int]]? = nil, threads: Int = 1) throws -> [[Float]] {
        guard !sequences.isEmpty else { return [] }
        if let i = sequences.firstIndex(where: \.isEmpty) {
            throw ModelError(.invalidConfig, file: "input", "pair \(i) has no tokens")
        }
        let batch = PackedBatch(sequences: sequences, typeIds: typeIds)
        let r = try encoder.forward(batch, collectLayers: false, threads: threads)
        let w = r.width, n = sequences.count
        var first = [Float](repeating: 0, count: n * w)
        for (s, start) in batch.starts.enumerated() {
            for i in 0..<w { first[s * w + i] = r.hidden[start * w + i] }
        }
        let flat = head.logits(firstTokens: first, rows: n, threads: threads)
        let k = head.labels
        return (0..<n).map { Array(flat[($0 * k)..<(($0 + 1) * k)]) }
    }

    /// What `CrossEncoder.predict` returns: the logits through the activation, `labels` per pair.
    public func scores(_ sequences: [[Int]], typeIds: [[Int]]? = nil, threads: Int = 1) throws -> [[Float]] {
        try logits(sequences, typeIds: typeIds, threads: threads).map(activation.apply)
    }

    /// transformers' `PretrainedConfig.num_labels`: the explicit field, else the size of
    /// `id2label`, else its default of 2.
    static func labelCount(_ obj: [String: Any], file: String) throws -> Int {
        let n = (obj["num_labels"] as? NSNumber)?.intValue ?? (obj["id2label"] as? [String: Any])?.count ?? 2
        guard n >= 1, n <= 1 << 16 else { throw ModelError(.invalidConfig, file: file, "num_labels \(n) must be positive") }
        return n
    }

    /// A sentence-transformers folder of a cross-encoder lists only a Transformer module (with
    /// the sequence-classification task); pooling or other modules mean something else.
    static func checkModules(folder: URL) throws {
        let url = folder.appendingPathComponent("modules.json")
        if let data = FileManager.default.contents(atPath: url.path) {
            guard let modules = try? JSONSerialization.jsonObject(with: data) as? [[String: Any]] else {
                throw ModelError(.malformedFile, file: url.path, "expected a list of modules")
            }
            for m in modules {
                let type = (m["type"] as? String) ?? ""
                guard type.hasSuffix(".Transformer") else {
                    throw ModelError(.unsupported, file: url.path,
                                     "module \(type.isEmpty ? "without a type" : type) is not supported in a cross-encoder (only a Transformer with a classification head)")
                }
            }
        }
        let sb = folder.appendingPathComponent("sentence_bert_config.json")
        if let data = FileManager.default.contents(atPath: sb.path),
           let obj = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
           let task = obj["transformer_task"] as? String, task != "sequence-classification" {
            throw ModelError(.unsupported, file: sb.path, "transformer_task \(task) is not a cross-encoder's (sequence-classification)")
        }
    }

    /// sentence-transformers 6 `CrossEncoder`: `activation_fn` from config_sentence_transformers.json;
    /// else config.json's `sentence_transformers.activation_fn` (v4–v5) or
    /// `sbert_ce_default_activation_function` (before v4); else Sigmoid for one label and Identity
    /// for several. Like sentence-transformers without `trust_remote_code`, a path outside `torch.`
    /// is ignored; a `torch.` class other than the supported ones is an error.
    static func activation(folder: URL, config: [String: Any], labels: Int) throws -> CrossEncoderActivation {
        func resolve(_ path: String?, file: String) throws -> CrossEncoderActivation? {
            guard let path, path.hasPrefix("torch.") else { return nil }
            guard let a = CrossEncoderActivation(torchPath: path) else {
                throw ModelError(.unsupported, file: file, "activation_fn \(path) is not supported (Identity, Sigmoid, Tanh, Softmax are)")
            }
            return a
        }
        let st = folder.appendingPathComponent("config_sentence_transformers.json")
        if let data = FileManager.default.contents(atPath: st.path) {
            guard let obj = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw ModelError(.malformedFile, file: st.path, "not a JSON object")
            }
            if let a = try resolve(obj["activation_fn"] as? String, file: st.path) { return a }
        }
        let file = folder.appendingPathComponent("config.json").path
        let path: String?
        if let section = config["sentence_transformers"] as? [String: Any], section.keys.contains("activation_fn") {
            path = section["activation_fn"] as? String
        } else {
            path = config["sbert_ce_default_activation_function"] as? String
        }
        if let a = try resolve(path, file: file) { return a }
        return labels == 1 ? .sigmoid : .identity
    }
}
