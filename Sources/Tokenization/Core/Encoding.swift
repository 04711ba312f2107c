/// The result of encoding one input, with the fields of Hugging Face's `Encoding`.
/// Offsets are Unicode-scalar offsets into the original input (Python's character offsets).
public struct Encoding: Sendable, Equatable {
    public var ids: [Int]
    public var typeIds: [Int]
    public var tokens: [String]
    public var offsets: [Offset]
    public var specialTokensMask: [Int]
    public var attentionMask: [Int]
    /// Which input sequence (0 or 1) each token came from; nil for added special tokens.
    public var sequenceIds: [Int?]
    /// Tokens cut off by truncation, as further encodings (Hugging Face's `overflowing`).
    public var overflowing: [Encoding]

    public struct Offset: Sendable, Equatable, Hashable {
        public var start: Int
        public var end: Int
        public init(_ start: Int, _ end: Int) {
            self.start = start
            self.end = end
        }
    }

    public init(
        ids: [Int] = [], typeIds: [Int] = [], tokens: [String] = [], offsets: [Offset] = [],
        specialTokensMask: [Int] = [], attentionMask: [Int] = [], sequenceIds: [Int?] = [],
        overflowing: [Encoding] = []
    ) {
        self.ids = ids
        self.typeIds = typeIds
        self.tokens = tokens
        self.offsets = offsets
        self.specialTokensMask = specialTokensMask
        self.attentionMask = attentionMask
        self.sequenceIds = sequenceIds
        self.overflowing = overflowing
    }

    public var count: Int { ids.count }
}
