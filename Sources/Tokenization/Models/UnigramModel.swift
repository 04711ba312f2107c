/// SentencePiece's unigram model: the segmentation with the highest total log-probability,
/// found by Viterbi over a byte trie of all pieces (Hugging Face `encode_optimized`).
public struct UnigramModel: TokenizationModel {
    let vocab: Vocabulary
    let scores: [Double]
    public let unkId: Int?
    public let byteFallback: Bool
    public let fuseUnk: Bool
    /// Byte trie: edge (node << 8 | byte) → child node; `pieceAt[node]` is the piece ending there.
    private let edges: FlatHashMap
    private let pieceAt: [Int32]
    private let unkScore: Double

    /// Penalty below the worst piece score that an unknown character costs.
    static let unknownPenalty = 10.0

    public init(json: JSONNode) throws {
        let vocabNode = json["vocab"]
        guard case .array(let entries) = vocabNode.value else { throw vocabNode.invalid("expected [[piece, score], …]") }
        var vocab = Vocabulary()
        var scores = [Double]()
        scores.reserveCapacity(entries.count)
        var edges = FlatHashMap(capacity: entries.count * 4)
        var pieceAt: [Int32] = [-1]
        pieceAt.reserveCapacity(entries.count * 3)
        var minScore = Double.infinity
        for (id, e) in entries.enumerated() {
            guard case .array(let pair) = e, pair.count == 2, case .string(let piece) = pair[0],
                  case .number(let score) = pair[1] else {
                throw JSONNode(e, path: "\(vocabNode.path)[\(id)]").invalid("expected [piece, score]")
            }
            vocab.insert(piece, id: id)
            scores.append(score)
            minScore = min(minScore, score)
            var node: Int32 = 0
            for b in piece.utf8 {
                let key = UInt64(node) << 8 | UInt64(b) | 1 << 63
                if let child = edges.get(key) {
                    node = child
                } else {
                    let child = Int32(pieceAt.count)
                    pieceAt.append(-1)
                    edges.set(key, child)
                    node = child
                }
            }
            pieceAt[Int(node)] = Int32(id)
        }
        self.vocab = vocab
        self.scores = scores
        self.edges = edges
        self.pieceAt = pieceAt
        self.unkScore = (minScore.isFinite ? minScore : 0) - Self.unknownPenalty
        unkId = try json["unk_id"].intIfPresent()
        if let u = unkId, u < 0 || u >= entries.count {
            throw json["unk_id"].invalid("unk_id \(u) is outside the vocabulary")
        }
        byteFallback = try json["byte_fallback"].bool(default: false)
        fuseUnk = true
    }

    public var vocabularySize: Int { vocab.count }
    public func id(of token: String) -> Int? { vocab.id(of: token) }
    public func token(of id: Int) -> String? { vocab.token(of: id) }

    public func tokenize(_ piece: [Unicode.Scalar]) throws -> [Token] {
        if piece.isEmpty { return [] }
        // UTF-8 bytes and, for each byte position that starts a scalar, its scalar index.
        var bytes = [UInt8]()
        bytes.reserveCapacity(piece.count * 2)
        var scalarAt = [Int32]()
        scalarAt.reserveCapacity(piece.count * 2 + 1)
        for (i, s) in piece.enumerated() {
            for b in UTF8.encode(s)! {  // safe: a Unicode.Scalar always encodes
                bytes.append(b)
                scalarAt.append(Int32(i))
            }
        }
        scalarAt.append(Int32(piece.count))
        let n = bytes.count
        var bestScore = [Double](repeating: 0, count: n + 1)
        var startsAt = [Int32](repeating: -1, count: n + 1)
        var nodeId = [Int32](repeating: 0, count: n + 1)
        var pos = 0
        while pos < n {
            let charLen = UTF8.width(piece[Int(scalarAt[pos])])
            let base = bestScore[pos]
            var hasSingle = false
            var node: Int32 = 0
            var end = pos
            while end < n {
                guard let child = edges.get(UInt64(node) << 8 | UInt64(bytes[end]) | 1 << 63) else { break }
                node = child
                end += 1
                let id = pieceAt[Int(node)]
                if id >= 0 {
                    let candidate = scores[Int(id)] + base
                    if startsAt[end] < 0 || candidate > bestScore[end] {
                        bestScore[end] = candidate
                        startsAt[end] = Int32(pos)
                        nodeId[end] = id
                    }
                    if end - pos == charLen { hasSingle = true }
                }
            }
            if !hasSingle {
                guard let unk = unkId else {
                    throw TokenizerError(.invalidValue, path: "model.unk_id", "the text has a character outside the vocabulary and the model has no unk_id")
                }
                let target = pos + charLen
                let candidate = unkScore + base
                if startsAt[target] < 0 || candidate > bestScore[target] {
                    bestScore[target] = candidate
                    startsAt[target] = Int32(pos)
                    nodeId[target] = Int32(unk)
                }
            }
            pos += charLen
        }
        // Walk back, fusing runs of unknown pieces.
        var spans = [(start: Int, end: Int, id: Int)]()
        var end = n
        while end > 0 {
            let start = Int(startsAt[end])
            let id = Int(nodeId[end])
            if fuseUnk, let unk = unkId, id == unk, let last = spans.last, last.id == unk, last.start == end {
                spans[spans.count - 1].start = start
            } else {
                spans.append((start, end, id))
            }
            end = start
        }
        spans.reverse()
        var tokens = [Token]()
        tokens.reserveCapacity(spans.count)
        for span in spans {
            let s0 = Int(scalarAt[span.start]), s1 = Int(scalarAt[span.end])
            let surface = String(scalars: piece[s0..<s1])
            if let id = vocab.id(of: surface) {
                tokens.append(Token(id: id, value: surface, start: s0, end: s1))
                continue
            }
            if byteFallback {
                var byteTokens = [Token]()
                for b in bytes[span.start..<span.end] {
                    let name = "<0x" + hex2(b) + ">"
                    guard let id = vocab.id(of: name) else { byteTokens = []; break }
                    byteTokens.append(Token(id: id, value: name, start: s0, end: s1))
                }
                if !byteTokens.isEmpty {
                    tokens.append(contentsOf: byteTokens)
                    continue
                }
            }
            guard let unk = unkId else {
                throw TokenizerError(.invalidValue, path: "model.unk_id", "the model has no unk_id")
            }
            tokens.append(Token(id: unk, value: surface, start: s0, end: s1))
        }
        return tokens
    }
}

/// Two upper-case hex digits.
func hex2(_ b: UInt8) -> String {
    let digits = Array("0123456789ABCDEF".unicodeScalars)
    var s = String.UnicodeScalarView()
    s.append(digits[Int(b >> 4)])
    s.append(digits[Int(b & 15)])
    return String(s)
}
