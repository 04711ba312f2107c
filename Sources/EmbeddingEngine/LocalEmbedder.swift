import EmbeddingModel
import TensorOps
import VectorMath
import Foundation
import NestorCore
import Tokenization

/// The in-process embedding engine: Hugging Face tokenizer + native transformer + pooling,
/// with concurrent requests merged into batches on a dedicated inference thread.
public final class LocalEmbedder: Embedder {
    public let info: EmbedderInfo
    public let tokenizer: Tokenizer
    public let model: SentenceEmbedder
    private let scheduler: BatchScheduler

    public struct Options: Sendable {
        /// Name clients use in requests; defaults to the folder name.
        public var servedName: String?
        /// Operator override of the model's Matryoshka metadata.
        public var matryoshka: MatryoshkaPolicy?
        /// Cap below the model's own maximum input length.
        public var maxInputTokens: Int?
        public var maxBatchTokens: Int
        /// Inference threads; BLAS runs single-threaded inside each. Default: one per core.
        public var workers: Int
        /// Whose tokenization to reproduce: transformers 5's `AutoTokenizer` (what
        /// sentence-transformers, vLLM and SGLang run; the default) or `tokenizer.json` as it is.
        public var tokenizerMode: TokenizerMode
        /// fp32 as loaded, or the linear layers quantised to int8 at load time.
        public var precision: WeightPrecision
        public init(servedName: String? = nil, matryoshka: MatryoshkaPolicy? = nil, maxInputTokens: Int? = nil,
                    maxBatchTokens: Int = 16_384, workers: Int = ProcessInfo.processInfo.activeProcessorCount,
                    tokenizerMode: TokenizerMode = .transformers, precision: WeightPrecision = .float32) {
            self.precision = precision
            self.workers = workers
            self.tokenizerMode = tokenizerMode
            self.servedName = servedName
            self.matryoshka = matryoshka
            self.maxInputTokens = maxInputTokens
            self.maxBatchTokens = maxBatchTokens
        }
    }

    public init(folder: URL, options: Options = Options()) throws {
        let model = try SentenceEmbedder(folder: folder, precision: options.precision)
        // Truncation and padding are decided per request here, not by tokenizer.json.
        let tokenizer = try Tokenizer(contentsOf: folder, mode: options.tokenizerMode).with(truncation: nil, padding: nil)
        let c = model.config
        let policy: MatryoshkaPolicy = options.matryoshka
            ?? (c.matryoshkaDimensions.map { .only($0) } ?? (c.isMatryoshka ? .any : .none))
        var maxTokens = model.maxSequenceLength
        if let cap = options.maxInputTokens { maxTokens = min(maxTokens, max(1, cap)) }
        info = EmbedderInfo(
            name: options.servedName ?? folder.standardizedFileURL.lastPathComponent,
            dimensions: model.dimensions, maxInputTokens: maxTokens, matryoshka: policy,
            prompts: model.sentenceConfig.prompts, defaultPromptName: model.sentenceConfig.defaultPromptName)
        self.model = model
        self.tokenizer = tokenizer
        if options.workers > 1 { Gemm.setBLASThreads(1) }
        scheduler = BatchScheduler(maxBatchTokens: options.maxBatchTokens, workers: options.workers) { [model] items, threads in
            try model.embed(items.map(\.tokens), promptLengths: items.map(\.promptLength), threads: threads)
        }
    }

    deinit { scheduler.shutdown() }

    public func embed(_ inputs: [EmbeddingInput], options: EmbedOptions) async throws -> EmbeddingOutput {
        if let d = options.dimensions, let reason = info.matryoshka.rejection(of: d, full: info.dimensions) {
            throw EmbeddingError(.invalidDimensions, reason, param: "dimensions")
        }
        let prompt = try promptText(options.promptName)
        let limit = min(options.maxTokens ?? info.maxInputTokens, info.maxInputTokens)
        guard limit > 0 else { throw EmbeddingError(.invalidInput, "the token limit must be positive", param: "truncate_prompt_tokens") }
        // Each input becomes one sequence, or with chunked processing possibly several pieces.
        var sequences = [[Int]]()
        var owner = [Int]()
        sequences.reserveCapacity(inputs.count)
        for (i, input) in inputs.enumerated() {
            if options.chunked, options.maxTokens == nil {
                let pieces = try pieces(of: input, index: i, prompt: prompt, limit: limit, options: options)
                sequences += pieces
                owner += Array(repeating: i, count: pieces.count)
            } else {
                sequences.append(try tokens(for: input, index: i, prompt: prompt, limit: limit, options: options))
                owner.append(i)
            }
        }
        // sentence-transformers counts the prompt's tokens with special tokens, minus the end one.
        var promptLength = 0
        if !model.sentenceConfig.includePrompt, !prompt.isEmpty {
            promptLength = max(0, ((try? tokenizer.encode(prompt, addSpecialTokens: options.addSpecialTokens).count) ?? 1) - 1)
        }
        let items = zip(owner, sequences).enumerated().map { k, pair in
            let (i, seq) = pair
            // The prompt leads only an input's first piece.
            let first = k == 0 || owner[k - 1] != i
            if case .text = inputs[i], first { return BatchScheduler.Item(tokens: seq, promptLength: promptLength) }
            return BatchScheduler.Item(tokens: seq)
        }
        let outputs = try await scheduler.run(items)
        var vectors = [[Float]]()
        var counts = [Int]()
        vectors.reserveCapacity(inputs.count)
        counts.reserveCapacity(inputs.count)
        var k = 0
        while k < outputs.count {
            var end = k + 1
            while end < outputs.count, owner[end] == owner[k] { end += 1 }
            vectors.append(end - k == 1 ? outputs[k] : combine(outputs[k..<end], weights: sequences[k..<end].map(\.count)))
            counts.append(sequences[k..<end].reduce(0) { $0 + $1.count })
            k = end
        }
        if let d = options.dimensions, d < info.dimensions {
            vectors = vectors.map { truncateMatryoshka($0, to: d) }
        }
        return EmbeddingOutput(vectors: vectors, tokenCounts: counts)
    }

    /// The most pieces one input may be split into by chunked processing: bounds the engine
    /// time one input can ask for (vLLM bounds it with `max_embed_len`).
    public static let maxPieces = 64

    /// Chunked processing: the input whole when it fits (one tokenisation, as `tokens(for:)`
    /// would give), else its tokens cut into consecutive pieces of at most `limit` tokens, each
    /// with the special tokens a whole sequence has (found from the encoding's special-token
    /// mask: `[CLS] … [SEP]`, `… <eos>`).
    func pieces(of input: EmbeddingInput, index: Int, prompt: String, limit: Int, options: EmbedOptions) throws -> [[Int]] {
        var lead = [Int](), trail = [Int](), content: [Int]
        switch input {
        case .tokens(let ids):
            let checked = try tokens(for: input, index: index, prompt: prompt, limit: Int.max, options: options)  // validates the ids
            guard ids.count > limit else { return [checked] }
            content = ids
        case .text(let text):
            let e: Encoding
            do {
                e = try tokenizer.encode(prompt + text, addSpecialTokens: options.addSpecialTokens)
            } catch {
                throw EmbeddingError(.internalFailure, "the tokenizer failed on input \(index): \(error)")
            }
            guard e.count > limit else { return [e.ids] }
            let mask = e.specialTokensMask
            let leading = mask.prefix { $0 == 1 }.count
            let trailing = min(mask.count - leading, mask.reversed().prefix { $0 == 1 }.count)
            lead = Array(e.ids.prefix(leading))
            trail = Array(e.ids.suffix(trailing))
            content = Array(e.ids[leading..<(e.ids.count - trailing)])
        }
        let room = limit - lead.count - trail.count
        guard room > 0 else { return [try tokens(for: input, index: index, prompt: prompt, limit: limit, options: options)] }
        let count = (content.count + room - 1) / room
        guard count <= Self.maxPieces else {
            throw EmbeddingError(.inputTooLong, "input \(index) would need \(count) pieces of \(limit) tokens; chunked processing takes at most \(Self.maxPieces)",
                                 param: "input")
        }
        return stride(from: 0, to: content.count, by: room).map { lead + content[$0..<min($0 + room, content.count)] + trail }
    }

    /// Pieces' vectors averaged by their token counts, normalised when the model's own output is.
    func combine(_ vectors: ArraySlice<[Float]>, weights: [Int]) -> [Float] {
        var sum = [Float](repeating: 0, count: vectors.first?.count ?? 0)
        let total = Float(weights.reduce(0, +))
        for (v, w) in zip(vectors, weights) {
            let f = Float(w) / total
            for j in sum.indices { sum[j] += f * v[j] }
        }
        return model.sentenceConfig.normalize ? VectorMath.normalized(sum) : sum
    }

    public func tokenSpans(_ text: String) throws -> [Range<Int>] {
        do {
            return try tokenizer.encode(text, addSpecialTokens: false).offsets.map { $0.start..<max($0.start, $0.end) }
        } catch {
            throw EmbeddingError(.internalFailure, "the tokenizer failed: \(error)")
        }
    }

    public func tokenize(_ text: String, promptName: String?, addSpecialTokens: Bool) throws -> Tokenized {
        let prompt = try promptText(promptName)
        do {
            let e = try tokenizer.encode(prompt + text, addSpecialTokens: addSpecialTokens)
            return Tokenized(ids: e.ids, pieces: e.tokens)
        } catch {
            throw EmbeddingError(.internalFailure, "the tokenizer failed: \(error)")
        }
    }

    public func overheadTokens(promptName: String?) throws -> Int {
        let prompt = try promptText(promptName)
        do {
            return try tokenizer.encode(prompt, addSpecialTokens: true).count
        } catch {
            throw EmbeddingError(.internalFailure, "the tokenizer failed on the prompt: \(error)")
        }
    }

    /// Token ids the model reads for this input: prompt + text with special tokens, cut to the
    /// limit at the chosen side (special tokens kept), or an error when truncation is off.
    public func tokens(for input: EmbeddingInput, index: Int, prompt: String, limit: Int, options: EmbedOptions) throws -> [Int] {
        switch input {
        case .tokens(let ids):
            guard !ids.isEmpty else { throw EmbeddingError(.invalidInput, "input \(index) is an empty token list", param: "input") }
            let vocab = model.config.vocabSize
            if let bad = ids.first(where: { $0 < 0 || $0 >= vocab }) {
                throw EmbeddingError(.invalidInput, "input \(index) has token id \(bad), outside the vocabulary (0..<\(vocab))", param: "input")
            }
            guard ids.count > limit else { return ids }
            switch options.truncation {
            case .none: throw tooLong(index, ids.count, limit)
            case .end: return Array(ids.prefix(limit))
            case .start: return Array(ids.suffix(limit))
            }
        case .text(let text):
            let full = prompt + text
            let encoded: Encoding
            do {
                encoded = try tokenizer.encode(full, addSpecialTokens: options.addSpecialTokens)
            } catch {
                throw EmbeddingError(.internalFailure, "the tokenizer failed on input \(index): \(error)")
            }
            guard encoded.count > limit else { return encoded.ids }
            switch options.truncation {
            case .none: throw tooLong(index, encoded.count, limit)
            case .end, .start:
                let direction: TruncationParams.Direction = options.truncation == .start ? .left : .right
                let cut = try tokenizer.encodeBatch([full], addSpecialTokens: options.addSpecialTokens,
                                                    truncation: TruncationParams(maxLength: limit, direction: direction), padding: nil)
                return cut[0].ids
            }
        }
    }

    private func tooLong(_ index: Int, _ count: Int, _ limit: Int) -> EmbeddingError {
        EmbeddingError(.inputTooLong, "input \(index) has \(count) tokens, more than the limit of \(limit); enable truncation or shorten it", param: "input")
    }

    /// The prompt prefix for a name; nil uses the model's default prompt.
    public func promptText(_ name: String?) throws -> String {
        guard let name = name ?? info.defaultPromptName else { return "" }
        guard let p = info.prompts[name] else {
            let known = info.prompts.keys.sorted().joined(separator: ", ")
            throw EmbeddingError(.unknownPrompt, "unknown prompt name \"\(name)\"; this model has: \(known.isEmpty ? "none" : known)", param: "prompt_name")
        }
        return p
    }
}

/// Finds a model folder by path, or by name under `$NESTOR_MODELS` (default `./models`).
public enum ModelLocator {
    public static let defaultModel = "multilingual-e5-small"

    public static var modelsDirectory: URL {
        URL(fileURLWithPath: ProcessInfo.processInfo.environment["NESTOR_MODELS"] ?? "models")
    }

    public static func resolve(_ nameOrPath: String?) throws -> URL {
        let name = nameOrPath ?? defaultModel
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: name, isDirectory: &isDir), isDir.boolValue {
            return URL(fileURLWithPath: name)
        }
        let candidate = modelsDirectory.appendingPathComponent(name)
        if FileManager.default.fileExists(atPath: candidate.appendingPathComponent("config.json").path) { return candidate }
        throw EmbeddingError(.invalidInput, "no model folder \(name) (looked at ./\(name) and \(candidate.path)); fetch one with scripts/fetch_models.py \(name)")
    }
}
