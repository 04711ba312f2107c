import EmbeddingModel
import Foundation
import NestorCore
import TensorOps
import Tokenization

/// The in-process cross-encoder: the folder's tokenizer lays out each (query, document) pair with
/// its pair template, truncated longest-first to the model's limit as sentence-transformers'
/// `CrossEncoder` does, and the BERT / XLM-R encoder with its classification head scores it.
/// Pairs of concurrent requests share forward passes on the engine's own threads
/// (`BatchScheduler`, as `LocalEmbedder`).
public final class LocalReranker: Reranker {
    public let info: RerankerInfo
    public let tokenizer: Tokenizer
    public let model: CrossEncoderModel
    /// The folder's default prompt (config_sentence_transformers.json `default_prompt_name`),
    /// put in front of the query as sentence-transformers does; usually empty.
    public let queryPrompt: String
    private let scheduler: BatchScheduler

    public struct Options: Sendable {
        /// Name clients use in requests; defaults to the folder name.
        public var servedName: String?
        /// Cap below the model's own maximum pair length.
        public var maxInputTokens: Int?
        /// Real tokens per forward pass (batches are packed, not padded).
        public var maxBatchTokens: Int
        /// Inference threads; BLAS runs single-threaded inside each. Default: one per core.
        public var workers: Int
        /// Whose tokenization to reproduce: transformers 5's `AutoTokenizer` (what
        /// sentence-transformers' `CrossEncoder` runs; the default) or `tokenizer.json` as it is.
        public var tokenizerMode: TokenizerMode
        /// The task instruction of a decoder reranker's prompt (`DecoderReranker`; nil = the model
        /// card's web-search default). A cross-encoder has no place for one, so setting it for one
        /// is an error rather than silently ignored.
        public var instruction: String?
        public init(servedName: String? = nil, maxInputTokens: Int? = nil, maxBatchTokens: Int = 16_384,
                    workers: Int = ProcessInfo.processInfo.activeProcessorCount, tokenizerMode: TokenizerMode = .transformers,
                    instruction: String? = nil) {
            self.servedName = servedName
            self.maxInputTokens = maxInputTokens
            self.maxBatchTokens = maxBatchTokens
            self.workers = workers
            self.tokenizerMode = tokenizerMode
            self.instruction = instruction
        }
    }

    /// Loads a cross-encoder folder (`LocalReranker.load` also takes decoder rerankers); a folder
    /// that is not one (an embedding model, a decoder) is a `ModelError` with code `.unsupported`, as is a classifier with more than one label (a
    /// reranker needs one score per pair, as `CrossEncoder.rank` does).
    public init(folder: URL, options: Options = Options()) throws {
        let model = try CrossEncoderModel(folder: folder)
        if options.instruction != nil {
            throw ModelError(.unsupported, file: folder.path, "\(model.architecture) is a cross-encoder; an instruction applies only to decoder rerankers such as Qwen3-Reranker")
        }
        guard model.labels == 1 else {
            throw ModelError(.unsupported, file: folder.appendingPathComponent("config.json").path,
                             "\(model.architecture) has \(model.labels) labels; a reranker needs a single relevance score (num_labels 1)")
        }
        // Truncation and padding are decided per request here, not by tokenizer.json.
        let tokenizer = try Tokenizer(contentsOf: folder, mode: options.tokenizerMode).with(truncation: nil, padding: nil)
        let specials = tokenizer.specialTokenCount(isPair: true)
        var maxTokens = model.maxSequenceLength
        if let cap = options.maxInputTokens { maxTokens = min(maxTokens, max(specials + 1, cap)) }
        guard maxTokens > specials else {
            throw ModelError(.invalidConfig, file: folder.path,
                             "the model's limit of \(maxTokens) tokens leaves no room beside the pair template's \(specials) special tokens")
        }
        let prompts = model.sentenceConfig.prompts
        queryPrompt = model.sentenceConfig.defaultPromptName.flatMap { prompts[$0] } ?? ""
        info = RerankerInfo(name: options.servedName ?? folder.standardizedFileURL.lastPathComponent,
                            maxInputTokens: maxTokens, activation: model.activation.torchPath)
        self.model = model
        self.tokenizer = tokenizer
        if options.workers > 1 { Gemm.setBLASThreads(1) }
        scheduler = BatchScheduler(maxBatchTokens: options.maxBatchTokens, workers: options.workers) { [model] items, threads in
            try model.scores(items.map(\.tokens), typeIds: items.map { $0.typeIds ?? [] }, threads: threads)
        }
    }

    deinit { scheduler.shutdown() }

    public func score(query: String, documents: [String], options: RerankOptions) async throws -> RerankOutput {
        guard !documents.isEmpty else { return RerankOutput(scores: [], tokenCounts: []) }
        let limit = min(options.maxTokens ?? info.maxInputTokens, info.maxInputTokens)
        let specials = tokenizer.specialTokenCount(isPair: true)
        guard limit > specials else {
            throw EmbeddingError(.invalidInput, "the token limit must leave room beside the \(specials) special tokens of a pair, got \(limit)",
                                 param: "truncate_prompt_tokens")
        }
        var items = [BatchScheduler.Item]()
        items.reserveCapacity(documents.count)
        for (i, d) in documents.enumerated() {
            let doc = try options.maxDocumentTokens.map { try prefix(of: d, tokens: $0, index: i) } ?? d
            let e = try pair(query: query, document: doc, index: i, limit: limit, truncate: options.truncate)
            items.append(BatchScheduler.Item(tokens: e.ids, typeIds: e.typeIds))
        }
        let scores = try await scheduler.run(items)
        return RerankOutput(scores: scores.map { $0.first ?? .nan }, tokenCounts: items.map(\.tokens.count))
    }

    /// The document's text up to the end of its `tokens`-th token (as the tokenizer reads it
    /// alone, without special tokens): a cut on a token boundary, in the document's own text.
    public func prefix(of document: String, tokens: Int, index: Int = 0) throws -> String {
        try tokenizer.documentPrefix(document, tokens: tokens, index: index)
    }

    /// The pair as the model reads it: prompt + query and the document through the tokenizer's
    /// pair template, cut longest-first to `limit` tokens (special tokens kept) — or an error
    /// when it is longer and `truncate` is off.
    public func pair(query: String, document: String, index: Int = 0, limit: Int? = nil, truncate: Bool = true) throws -> Encoding {
        let limit = limit ?? info.maxInputTokens
        let first = queryPrompt + query
        do {
            let full = try tokenizer.encode(first, pair: document)
            guard full.count > limit else { return full }
            guard truncate else {
                throw EmbeddingError(.inputTooLong, "document \(index) with the query has \(full.count) tokens, more than the limit of \(limit); enable truncation or shorten it",
                                     param: "documents")
            }
            return try tokenizer.encode(first, pair: document, truncation: TruncationParams(maxLength: limit, strategy: .longestFirst))
        } catch let e as EmbeddingError {
            throw e
        } catch {
            throw EmbeddingError(.internalFailure, "the tokenizer failed on document \(index): \(error)")
        }
    }
}

extension Tokenizer {
    /// Cohere's `max_tokens_per_doc` for every reranker: `document` up to the end of its
    /// `tokens`-th token, read alone without special tokens — a cut on a token boundary, in the
    /// document's own text.
    func documentPrefix(_ document: String, tokens: Int, index: Int) throws -> String {
        let e: Encoding
        do {
            e = try encode(document, addSpecialTokens: false)
        } catch {
            throw EmbeddingError(.internalFailure, "the tokenizer failed on document \(index): \(error)")
        }
        guard e.ids.count > tokens, tokens > 0 else { return document }
        let end = e.offsets[tokens - 1].end
        return String(String.UnicodeScalarView(document.unicodeScalars.prefix(end)))
    }
}
