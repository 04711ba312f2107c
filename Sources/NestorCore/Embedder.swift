/// Anything that turns text into vectors: the in-process engine, or a remote backend.
/// The HTTP layer and the ingest/search services depend only on this.
public protocol Embedder: Sendable {
    var info: EmbedderInfo { get }
    /// Embeds every input with the same options; vectors come back in input order.
    func embed(_ inputs: [EmbeddingInput], options: EmbedOptions) async throws -> EmbeddingOutput
    /// Each token's range of Unicode-scalar offsets in `text`, as the model's tokenizer splits
    /// it without prompt or special tokens (so documents can be cut on token boundaries).
    func tokenSpans(_ text: String) throws -> [Range<Int>]
    /// Tokens every input of this prompt costs beyond its own: prompt prefix and special tokens.
    func overheadTokens(promptName: String?) throws -> Int
    /// The ids and pieces the model reads for `text` (with the named prompt in front), as
    /// `/tokenize` shows them.
    func tokenize(_ text: String, promptName: String?, addSpecialTokens: Bool) throws -> Tokenized
}

/// A text as the model's tokenizer splits it.
public struct Tokenized: Sendable, Equatable {
    public var ids: [Int]
    public var pieces: [String]
    public init(ids: [Int], pieces: [String]) {
        self.ids = ids
        self.pieces = pieces
    }
}

/// What callers need to know about the served model.
public struct EmbedderInfo: Sendable, Equatable {
    public var name: String
    public var dimensions: Int
    /// Largest number of tokens one input may have, special tokens included.
    public var maxInputTokens: Int
    /// Sizes `dimensions` may take; see `MatryoshkaPolicy`.
    public var matryoshka: MatryoshkaPolicy
    /// Prompt prefixes by name (`query`, `passage`, `document`, …) from the model folder.
    public var prompts: [String: String]
    public var defaultPromptName: String?
    /// The prompt name used for queries and for documents, when the model has such prompts.
    public var queryPromptName: String?
    public var documentPromptName: String?

    public init(
        name: String, dimensions: Int, maxInputTokens: Int, matryoshka: MatryoshkaPolicy,
        prompts: [String: String] = [:], defaultPromptName: String? = nil
    ) {
        self.name = name
        self.dimensions = dimensions
        self.maxInputTokens = maxInputTokens
        self.matryoshka = matryoshka
        self.prompts = prompts
        self.defaultPromptName = defaultPromptName
        // A prompt that is present but empty (sentence-transformers 6 writes `"document": ""`)
        // means "no prefix", so only non-empty ones are picked.
        func named(_ names: [String]) -> String? { names.first { !(prompts[$0] ?? "").isEmpty } }
        self.queryPromptName = named(["query"])
        self.documentPromptName = named(["document", "passage"])
    }
}

/// Which output sizes a model accepts, as SGLang and vLLM decide it: from `is_matryoshka`
/// (any size) or `matryoshka_dimensions` (only those) in its config, or an operator override.
public enum MatryoshkaPolicy: Sendable, Equatable {
    case none
    case any
    case only([Int])

    /// nil when `d` is acceptable for a model of `full` dimensions, else the reason.
    public func rejection(of d: Int, full: Int) -> String? {
        if d == full { return nil }
        if d <= 0 { return "dimensions must be a positive integer, got \(d)" }
        if d > full { return "dimensions must be at most the model's \(full), got \(d)" }
        switch self {
        case .none:
            return "this model does not support matryoshka representation; dimensions must be omitted or \(full)"
        case .any:
            return nil
        case .only(let sizes):
            return sizes.contains(d) ? nil
                : "dimensions \(d) is not supported by this model; allowed: \(sizes.map(String.init).joined(separator: ", "))"
        }
    }
}

/// One input: text, or token ids the caller already has (as the OpenAI API allows).
public enum EmbeddingInput: Sendable, Equatable {
    case text(String)
    case tokens([Int])
}

/// How inputs longer than the model's limit are handled.
public enum TruncationSide: String, Sendable, Equatable {
    case end, start
    /// Refuse over-long inputs instead of cutting them.
    case none
}

public struct EmbedOptions: Sendable, Equatable {
    /// Prompt prefix by name; nil uses the model's default prompt (usually none).
    public var promptName: String?
    /// Matryoshka output size; nil is the full size.
    public var dimensions: Int?
    public var truncation: TruncationSide
    /// Keep at most this many tokens (vLLM's `truncate_prompt_tokens`); nil = model limit.
    public var maxTokens: Int?
    public var addSpecialTokens: Bool
    /// vLLM's `enable_chunked_processing`: an input longer than the model's limit is split on
    /// token boundaries into pieces that fit, each embedded, and the pieces' vectors averaged
    /// weighted by their token counts (then normalised when the model normalises), instead of
    /// being truncated. An explicit `maxTokens` still truncates.
    public var chunked: Bool

    public init(
        promptName: String? = nil, dimensions: Int? = nil, truncation: TruncationSide = .end,
        maxTokens: Int? = nil, addSpecialTokens: Bool = true, chunked: Bool = false
    ) {
        self.promptName = promptName
        self.dimensions = dimensions
        self.truncation = truncation
        self.maxTokens = maxTokens
        self.addSpecialTokens = addSpecialTokens
        self.chunked = chunked
    }
}

public struct EmbeddingOutput: Sendable {
    /// L2-normalised when the model has a Normalize module (always after Matryoshka truncation).
    public var vectors: [[Float]]
    /// Tokens the model read per input, special tokens and prompt included.
    public var tokenCounts: [Int]
    public init(vectors: [[Float]], tokenCounts: [Int]) {
        self.vectors = vectors
        self.tokenCounts = tokenCounts
    }
    public var totalTokens: Int { tokenCounts.reduce(0, +) }
}

/// Errors an embedder reports for bad input; the HTTP layer maps them to 4xx.
public struct EmbeddingError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable {
        case inputTooLong, invalidInput, invalidDimensions, unknownPrompt, overloaded, internalFailure
        /// A remote embedding backend answered with an error, or not at all, or too late
        /// (after the retries): the client hears 502, 503 or 504.
        case upstreamFailure, upstreamUnavailable, upstreamTimeout
    }
    public var code: Code
    public var message: String
    /// The request field at fault, for OpenAI-style `param`.
    public var param: String?
    public init(_ code: Code, _ message: String, param: String? = nil) {
        self.code = code
        self.message = message
        self.param = param
    }
    public var description: String { message }
}
