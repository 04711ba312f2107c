/// A token produced by a model for one piece: `start..<end` are scalar offsets inside that piece.
public struct Token: Sendable, Equatable {
    public var id: Int
    public var value: String
    public var start: Int
    public var end: Int
    public init(id: Int, value: String, start: Int, end: Int) {
        self.id = id
        self.value = value
        self.start = start
        self.end = end
    }
}

/// Rewrites text before it is split (lower-casing, Unicode normalisation, …).
public protocol Normalizer: Sendable {
    func normalize(_ text: inout NormalizedString) throws
}

/// Cuts normalised text into the pieces the model tokenizes one by one.
public protocol PreTokenizer: Sendable {
    func preTokenize(_ text: inout PreTokenizedString) throws
}

/// Turns one pre-tokenized piece into tokens (WordPiece, Unigram, BPE).
public protocol TokenizationModel: Sendable {
    /// Tokens for one piece; offsets are scalar offsets inside `piece`.
    func tokenize(_ piece: [Unicode.Scalar]) throws -> [Token]
    func id(of token: String) -> Int?
    func token(of id: Int) -> String?
    var vocabularySize: Int { get }
}

/// Adds special tokens and type ids around one or two encoded sequences.
public protocol PostProcessor: Sendable {
    /// How many tokens `process` adds, so truncation can leave room for them.
    func addedTokens(isPair: Bool) -> Int
    func process(_ first: Encoding, pair: Encoding?, addSpecialTokens: Bool) throws -> Encoding
}

/// Turns tokens back into text (for `nestor tokenize --decode`).
public protocol Decoder: Sendable {
    func decode(_ tokens: [String]) throws -> [String]
}
