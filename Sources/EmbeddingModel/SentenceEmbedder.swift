import Foundation
import VectorMath

/// The token states of a forward pass (packed rows) and, for debugging, every layer's output.
public struct ForwardResult: Sendable {
    public var hidden: [Float]
    public var width: Int
    public var layers: [[Float]]
}

/// An encoder or decoder that maps packed token ids to token states.
protocol TransformerModel: Sendable {
    var config: ModelConfig { get }
    /// Longest sequence the position table allows.
    var maxTokens: Int { get }
    /// `threads` > 1 lets large matrix products use that many threads (for a lone small batch).
    func forward(_ batch: PackedBatch, collectLayers: Bool, threads: Int) throws -> ForwardResult
}

/// A sentence-transformers model folder: transformer + pooling (+ Normalize), producing the
/// vectors `SentenceTransformer(folder).encode` produces.
public struct SentenceEmbedder: Sendable {
    public let folder: URL
    public let config: ModelConfig
    public let sentenceConfig: SentenceTransformerConfig
    private let model: any TransformerModel

    /// How the linear layers' weights are held (fp32 as loaded, or int8).
    public let precision: WeightPrecision

    /// Loads the folder; `matryoshka` overrides `is_matryoshka` / `matryoshka_dimensions`;
    /// `precision` `.int8` quantises the linear layers at load time.
    public init(folder: URL, matryoshkaOverride: MatryoshkaOverride? = nil, precision: WeightPrecision = .float32) throws {
        self.precision = precision
        self.folder = folder
        let configURL = folder.appendingPathComponent("config.json")
        guard let data = FileManager.default.contents(atPath: configURL.path) else {
            throw ModelError(.missingFile, file: configURL.path, "missing config.json")
        }
        guard let obj = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw ModelError(.malformedFile, file: configURL.path, "config.json is not a JSON object")
        }
        var config = try ModelConfig(json: obj, file: configURL.path)
        if let o = matryoshkaOverride {
            config.isMatryoshka = o.isMatryoshka
            config.matryoshkaDimensions = o.dimensions
        }
        self.config = config
        sentenceConfig = try SentenceTransformerConfig(folder: folder)
        let store = try TensorStore(folder: folder)
        switch config.architecture {
        case .bert, .xlmRoberta: model = try BertModel(config: config, store: store, precision: precision)
        case .qwen3: model = try Qwen3Model(config: config, store: store, precision: precision)
        }
    }

    public var dimensions: Int { config.hiddenSize }

    /// The longest input in tokens: the folder's max_seq_length, capped by the position table.
    public var maxSequenceLength: Int {
        min(sentenceConfig.maxSeqLength ?? model.maxTokens, model.maxTokens)
    }

    /// Sentence vectors for token-id sequences (already truncated), normalised when the folder
    /// has a Normalize module. `promptLengths` lets pooling skip prompt tokens when the pooling
    /// config says `include_prompt: false`.
    public func embed(_ sequences: [[Int]], promptLengths: [Int]? = nil, threads: Int = 1) throws -> [[Float]] {
        guard !sequences.isEmpty else { return [] }
        let nonEmpty = sequences.map { $0.isEmpty ? [0] : $0 }
        let batch = PackedBatch(sequences: nonEmpty)
        let result = try model.forward(batch, collectLayers: false, threads: threads)
        return pool(result, batch: batch, promptLengths: promptLengths)
    }

    /// Every layer's states for one sequence (layer 0 = embeddings), for debugging parity.
    public func hiddenStates(_ tokens: [Int]) throws -> [[[Float]]] {
        guard !tokens.isEmpty else { throw ModelError(.invalidConfig, file: "input", "no tokens") }
        let batch = PackedBatch(sequences: [tokens])
        let r = try model.forward(batch, collectLayers: true, threads: 1)
        return r.layers.map { layer in (0..<tokens.count).map { Array(layer[($0 * r.width)..<(($0 + 1) * r.width)]) } }
    }

    private func pool(_ r: ForwardResult, batch: PackedBatch, promptLengths: [Int]?) -> [[Float]] {
        let w = r.width
        var out = [[Float]]()
        out.reserveCapacity(batch.lengths.count)
        for (s, (start, length)) in zip(batch.starts, batch.lengths).enumerated() {
            var skip = 0
            if !sentenceConfig.includePrompt, let p = promptLengths?[s] { skip = min(p, length - 1) }
            var v = [Float](repeating: 0, count: w)
            switch sentenceConfig.pooling {
            case .cls:
                for i in 0..<w { v[i] = r.hidden[start * w + i] }
            case .lastToken:
                let row = start + length - 1
                for i in 0..<w { v[i] = r.hidden[row * w + i] }
            case .max:
                for i in 0..<w { v[i] = -Float.infinity }
                for t in skip..<length { for i in 0..<w { v[i] = max(v[i], r.hidden[(start + t) * w + i]) } }
            case .mean, .meanSqrtLen:
                for t in skip..<length { for i in 0..<w { v[i] += r.hidden[(start + t) * w + i] } }
                let count = Float(length - skip)
                let d = sentenceConfig.pooling == .mean ? count : count.squareRoot()
                for i in 0..<w { v[i] /= d }
            }
            if sentenceConfig.normalize { v = VectorMath.normalized(v) }
            out.append(v)
        }
        return out
    }
}

/// An operator's override of a model's Matryoshka metadata (like vLLM's `--hf-overrides`).
public struct MatryoshkaOverride: Sendable, Equatable {
    public var isMatryoshka: Bool
    public var dimensions: [Int]?
    public init(isMatryoshka: Bool, dimensions: [Int]? = nil) {
        self.isMatryoshka = isMatryoshka
        self.dimensions = dimensions
    }
}

