import EmbeddingModel
import Foundation
import NestorCore
import TensorOps
import Tokenization

/// The in-process decoder reranker (Qwen3-Reranker): each (query, document) pair is written into
/// the model card's judgement prompt and scored with P("yes") at its last token.
///
/// The layout follows the model card's transformers recipe exactly, because the model was trained
/// on that text and nothing else: `prefix` (system turn, user turn opened) + `<Instruct>: …\n<Query>:
/// …\n<Document>: …` + `suffix` (assistant turn opened with an empty think block), each part
/// tokenized on its own; only the middle part is cut, from the right, to `limit − len(prefix) −
/// len(suffix)` tokens, so the question asked of the model always survives truncation. Batches
/// are packed (no padding), which equals the recipe's left padding: rotary attention depends only
/// on position differences. Pairs of concurrent requests share forward passes on the engine's own
/// threads (`BatchScheduler`, as `LocalReranker`).
public final class DecoderReranker: Reranker {
    /// The model card's system turn and opened user turn.
    public static let prefix = "<|im_start|>system\nJudge whether the Document meets the requirements based on the Query and the Instruct provided. Note that the answer can only be \"yes\" or \"no\".<|im_end|>\n<|im_start|>user\n"
    /// The closed user turn and the assistant turn opened with an empty think block.
    public static let suffix = "<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n"
    /// The model card's default task instruction (`format_instruction` with `instruction=None`).
    public static let defaultInstruction = "Given a web search query, retrieve relevant passages that answer the query"
    /// The model card's `max_length`: the default pair limit when the position table allows more
    /// (Qwen3's allows 40,960, far past what the reranker was trained on).
    public static let defaultMaxTokens = 8192

    public let info: RerankerInfo
    public let tokenizer: Tokenizer
    public let model: DecoderRerankerModel
    public let instruction: String
    public let prefixIds: [Int]
    public let suffixIds: [Int]
    private let scheduler: BatchScheduler

    /// Loads a Qwen3-Reranker folder (`Qwen3ForCausalLM`, or a converted
    /// `Qwen3ForSequenceClassification`). `options.instruction` replaces the default instruction;
    /// `options.maxInputTokens` caps the pair limit (default 8,192, the model card's). Any other
    /// folder is a `ModelError` with code `.unsupported`; `LocalReranker.load` picks the right type.
    public init(folder: URL, options: LocalReranker.Options = LocalReranker.Options()) throws {
        guard try DecoderRerankerModel.architecture(folder: folder) != nil else {
            let supported = DecoderRerankerModel.supportedArchitectures.keys.sorted().joined(separator: ", ")
            throw ModelError(.unsupported, file: folder.appendingPathComponent("config.json").path,
                             "not a decoder reranker (\(supported)); LocalReranker.load(folder:) also loads cross-encoders")
        }
        // Truncation and padding are decided per request here, not by tokenizer.json.
        let tokenizer = try Tokenizer(contentsOf: folder, mode: options.tokenizerMode).with(truncation: nil, padding: nil)
        let tokenizerPath = folder.appendingPathComponent("tokenizer.json").path
        let model = try DecoderRerankerModel(folder: folder, yesTokenId: tokenizer.id(of: "yes"), noTokenId: tokenizer.id(of: "no"))
        if model.head == .causalLM {
            // The head compares two single tokens; a tokenizer that splits "yes" cannot be this model's.
            for word in ["yes", "no"] where try tokenizer.encode(word, addSpecialTokens: false).ids.count != 1 {
                throw ModelError(.invalidConfig, file: tokenizerPath, "\"\(word)\" is not a single token in this tokenizer; it is not a Qwen3-Reranker tokenizer")
            }
        }
        let prefixIds = try tokenizer.encode(Self.prefix, addSpecialTokens: false).ids
        let suffixIds = try tokenizer.encode(Self.suffix, addSpecialTokens: false).ids
        var maxTokens = min(Self.defaultMaxTokens, model.maxSequenceLength)
        if let cap = options.maxInputTokens { maxTokens = min(model.maxSequenceLength, cap) }
        let template = prefixIds.count + suffixIds.count
        guard maxTokens > template else {
            throw ModelError(.invalidConfig, file: folder.path,
                             "a limit of \(maxTokens) tokens leaves no room beside the prompt template's \(template) tokens")
        }
        instruction = options.instruction ?? Self.defaultInstruction
        info = RerankerInfo(name: options.servedName ?? folder.standardizedFileURL.lastPathComponent,
                            maxInputTokens: maxTokens, activation: CrossEncoderActivation.sigmoid.torchPath)
        self.model = model
        self.tokenizer = tokenizer
        self.prefixIds = prefixIds
        self.suffixIds = suffixIds
        if options.workers > 1 { Gemm.setBLASThreads(1) }
        scheduler = BatchScheduler(maxBatchTokens: options.maxBatchTokens, workers: options.workers) { [model] items, threads in
            try model.scores(items.map(\.tokens), threads: threads).map { [$0] }
        }
    }

    deinit { scheduler.shutdown() }

    public func score(query: String, documents: [String], options: RerankOptions) async throws -> RerankOutput {
        guard !documents.isEmpty else { return RerankOutput(scores: [], tokenCounts: []) }
        let limit = min(options.maxTokens ?? info.maxInputTokens, info.maxInputTokens)
        let template = prefixIds.count + suffixIds.count
        guard limit > template else {
            throw EmbeddingError(.invalidInput, "the token limit must leave room beside the prompt template's \(template) tokens, got \(limit)",
                                 param: "truncate_prompt_tokens")
        }
        var items = [BatchScheduler.Item]()
        items.reserveCapacity(documents.count)
        for (i, d) in documents.enumerated() {
            let doc = try options.maxDocumentTokens.map { try tokenizer.documentPrefix(d, tokens: $0, index: i) } ?? d
            items.append(BatchScheduler.Item(tokens: try pair(query: query, document: doc, index: i, limit: limit, truncate: options.truncate)))
        }
        let scores = try await scheduler.run(items)
        return RerankOutput(scores: scores.map { $0.first ?? .nan }, tokenCounts: items.map(\.tokens.count))
    }

    /// The model card's `format_instruction`: the part of the prompt that varies per pair.
    public func formatted(query: String, document: String) -> String {
        "<Instruct>: \(instruction)\n<Query>: \(query)\n<Document>: \(document)"
    }

    /// The token ids the model reads for one pair: prefix + the formatted pair (cut from the right
    /// so the whole fits `limit`) + suffix — or an error when it is longer and `truncate` is off.
    /// The middle part is encoded as the recipe's `tokenizer(pairs, truncation=…)` does, with the
    /// tokenizer's own special tokens (none for Qwen3-Reranker's).
    public func pair(query: String, document: String, index: Int = 0, limit: Int? = nil, truncate: Bool = true) throws -> [Int] {
        let limit = limit ?? info.maxInputTokens
        let budget = limit - prefixIds.count - suffixIds.count
        let text = formatted(query: query, document: document)
        do {
            let full = try tokenizer.encode(text)
            var middle = full.ids
            if middle.count > budget {
                guard truncate else {
                    throw EmbeddingError(.inputTooLong, "document \(index) with the query and the prompt has \(middle.count + prefixIds.count + suffixIds.count) tokens, more than the limit of \(limit); enable truncation or shorten it",
                                         param: "documents")
                }
                middle = try tokenizer.encode(text, truncation: TruncationParams(maxLength: budget, strategy: .longestFirst)).ids
            }
            return prefixIds + middle + suffixIds
        } catch let e as EmbeddingError {
            throw e
        } catch {
            throw EmbeddingError(.internalFailure, "the tokenizer failed on document \(index): \(error)")
        }
    }
}

extension LocalReranker {
    /// Loads whichever in-process reranker fits the folder: a decoder reranker (`DecoderReranker`)
    /// when config.json names `Qwen3ForCausalLM` or `Qwen3ForSequenceClassification`, else a
    /// cross-encoder (`LocalReranker`). Folders that are neither (embedding models, other
    /// decoders) are a `ModelError` with code `.unsupported`.
    public static func load(folder: URL, options: Options = Options()) throws -> any Reranker {
        if try DecoderRerankerModel.architecture(folder: folder) != nil {
            return try DecoderReranker(folder: folder, options: options)
        }
        return try LocalReranker(folder: folder, options: options)
    }
}
