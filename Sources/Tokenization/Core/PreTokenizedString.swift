/// The input after normalisation, cut into pieces by the pre-tokenizer; each piece is later
/// tokenized by the model on its own (Hugging Face `PreTokenizedString`).
public struct PreTokenizedString: Sendable {
    public struct Split: Sendable {
        public var normalized: NormalizedString
        /// Set once the piece is tokenized (added tokens arrive already tokenized).
        public var tokens: [Token]?
        public init(_ normalized: NormalizedString, tokens: [Token]? = nil) {
            self.normalized = normalized
            self.tokens = tokens
        }
    }

    public var splits: [Split]

    public init(_ normalized: NormalizedString) { splits = [Split(normalized)] }
    public init(splits: [Split]) { self.splits = splits }

    /// Replaces every not-yet-tokenized piece by the pieces `body` returns for it (its index among
    /// all pieces and its text); empty pieces are dropped, as Hugging Face does.
    public mutating func split(_ body: (Int, NormalizedString) throws -> [NormalizedString]) rethrows {
        var out = [Split]()
        out.reserveCapacity(splits.count)
        for (i, s) in splits.enumerated() {
            if s.tokens != nil {
                out.append(s)
                continue
            }
            for piece in try body(i, s.normalized) where !piece.isEmpty {
                out.append(Split(piece))
            }
        }
        splits = out
    }

    /// Applies `body` to the text of every not-yet-tokenized piece in place.
    public mutating func normalize(_ body: (inout NormalizedString) throws -> Void) rethrows {
        for i in splits.indices where splits[i].tokens == nil {
            try body(&splits[i].normalized)
        }
    }
}
