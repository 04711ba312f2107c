/// Anything that scores (query, document) pairs for relevance: the in-process cross-encoder
/// engine, or (later) a remote backend. `/v1/rerank` and the search service depend only on this.
public protocol Reranker: Sendable {
    var info: RerankerInfo { get }
    /// One relevance score per document, in input order, as sentence-transformers'
    /// `CrossEncoder.predict([(query, d) for d in documents])` gives it (the model's activation
    /// applied: Sigmoid by default, so scores lie in (0, 1); Identity gives raw logits). Pairs
    /// longer than the model's limit are truncated longest-first.
    func score(query: String, documents: [String]) async throws -> [Float]
    /// The same with options; the output also says how many tokens each pair cost.
    func score(query: String, documents: [String], options: RerankOptions) async throws -> RerankOutput
}

extension Reranker {
    public func score(query: String, documents: [String]) async throws -> [Float] {
        try await score(query: query, documents: documents, options: RerankOptions()).scores
    }
}

/// What callers need to know about the served reranker.
public struct RerankerInfo: Sendable, Equatable {
    public var name: String
    /// Largest number of tokens one (query, document) pair may have, special tokens included.
    public var maxInputTokens: Int
    /// The activation `score` applies to the model's logit, as a PyTorch class path
    /// (`torch.nn.modules.activation.Sigmoid`, `torch.nn.modules.linear.Identity`, …).
    public var activation: String
    public init(name: String, maxInputTokens: Int, activation: String) {
        self.name = name
        self.maxInputTokens = maxInputTokens
        self.activation = activation
    }
}

public struct RerankOptions: Sendable, Equatable {
    /// Cut over-long pairs longest-first (sentence-transformers' behaviour); false refuses
    /// them with `EmbeddingError.inputTooLong`.
    public var truncate: Bool
    /// Keep at most this many tokens per pair (vLLM's `truncate_prompt_tokens`); nil = model limit.
    public var maxTokens: Int?
    /// Cut each document to at most this many tokens before pairing (Cohere's
    /// `max_tokens_per_doc`); nil = no separate cap on the document's side.
    public var maxDocumentTokens: Int?
    public init(truncate: Bool = true, maxTokens: Int? = nil, maxDocumentTokens: Int? = nil) {
        self.truncate = truncate
        self.maxTokens = maxTokens
        self.maxDocumentTokens = maxDocumentTokens
    }
}

public struct RerankOutput: Sendable, Equatable {
    /// One score per document, in input order.
    public var scores: [Float]
    /// Tokens the model read per pair, special tokens included (after truncation).
    public var tokenCounts: [Int]
    public init(scores: [Float], tokenCounts: [Int]) {
        self.scores = scores
        self.tokenCounts = tokenCounts
    }
    public var totalTokens: Int { tokenCounts.reduce(0, +) }
    /// Document indices, best score first; equal scores keep input order (one rule for
    /// `/v1/rerank` and `/search`'s rerank stage).
    public var ranking: [Int] { scores.indices.sorted { scores[$0] != scores[$1] ? scores[$0] > scores[$1] : $0 < $1 } }
}
