/// BERT's WordPiece: greedy longest-match-first, continuation pieces prefixed with `##`; a word
/// with any unmatched part becomes the unknown token as a whole.
public struct WordPieceModel: TokenizationModel {
    let vocab: Vocabulary
    public let unkToken: String
    public let continuingSubwordPrefix: String
    public let maxInputCharsPerWord: Int

    public init(json: JSONNode) throws {
        vocab = try readVocabObject(json["vocab"])
        unkToken = try json["unk_token"].stringIfPresent() ?? "[UNK]"
        continuingSubwordPrefix = try json["continuing_subword_prefix"].stringIfPresent() ?? "##"
        maxInputCharsPerWord = try json["max_input_chars_per_word"].intIfPresent() ?? 100
    }

    public var vocabularySize: Int { vocab.count }
    public func id(of token: String) -> Int? { vocab.id(of: token) }
    public func token(of id: Int) -> String? { vocab.token(of: id) }

    public func tokenize(_ piece: [Unicode.Scalar]) throws -> [Token] {
        if piece.count > maxInputCharsPerWord { return [try unknown(piece.count)] }
        var tokens = [Token]()
        var start = 0
        while start < piece.count {
            var end = piece.count
            var found: Token? = nil
            while start < end {
                var s = String(scalars: piece[start..<end])
                if start > 0 { s = continuingSubwordPrefix + s }
                if let id = vocab.id(of: s) {
                    found = Token(id: id, value: s, start: start, end: end)
                    break
                }
                end -= 1
            }
            guard let t = found else { return [try unknown(piece.count)] }
            tokens.append(t)
            start = end
        }
        return tokens
    }

    private func unknown(_ length: Int) throws -> Token {
        guard let id = vocab.id(of: unkToken) else {
            throw TokenizerError(.invalidValue, path: "model.unk_token", "unknown token \"\(unkToken)\" is not in the vocabulary")
        }
        return Token(id: id, value: unkToken, start: 0, end: length)
    }
}

/// A plain word → id table.
public struct WordLevelModel: TokenizationModel {
    let vocab: Vocabulary
    public let unkToken: String

    public init(json: JSONNode) throws {
        vocab = try readVocabObject(json["vocab"])
        unkToken = try json["unk_token"].stringIfPresent() ?? "<unk>"
    }

    public var vocabularySize: Int { vocab.count }
    public func id(of token: String) -> Int? { vocab.id(of: token) }
    public func token(of id: Int) -> String? { vocab.token(of: id) }

    public func tokenize(_ piece: [Unicode.Scalar]) throws -> [Token] {
        let s = String(scalars: piece[...])
        if let id = vocab.id(of: s) { return [Token(id: id, value: s, start: 0, end: piece.count)] }
        guard let id = vocab.id(of: unkToken) else {
            throw TokenizerError(.invalidValue, path: "model.unk_token", "unknown token \"\(unkToken)\" is not in the vocabulary")
        }
        return [Token(id: id, value: unkToken, start: 0, end: piece.count)]
    }
}
