/// Byte-pair encoding: start from characters and apply the learned merges, lowest rank first
/// (Hugging Face `Word::merge_all`), so the result does not depend on merge order ties.
public struct BPEModel: TokenizationModel {
    let vocab: Vocabulary
    /// (left id, right id) → (rank, merged id).
    private let merges: [UInt64: (rank: Int32, id: Int32)]
    public let unkToken: String?
    public let continuingSubwordPrefix: String?
    public let endOfWordSuffix: String?
    public let fuseUnk: Bool
    public let byteFallback: Bool
    public let ignoreMerges: Bool

    public init(json: JSONNode) throws {
        vocab = try readVocabObject(json["vocab"])
        unkToken = try json["unk_token"].stringIfPresent()
        continuingSubwordPrefix = try json["continuing_subword_prefix"].stringIfPresent()
        endOfWordSuffix = try json["end_of_word_suffix"].stringIfPresent()
        fuseUnk = try json["fuse_unk"].bool(default: false)
        byteFallback = try json["byte_fallback"].bool(default: false)
        ignoreMerges = try json["ignore_merges"].bool(default: false)
        let mergesNode = json["merges"]
        var merges = [UInt64: (rank: Int32, id: Int32)]()
        let list = try mergesNode.isNull ? [] : mergesNode.array()
        merges.reserveCapacity(list.count)
        let prefixLength = continuingSubwordPrefix?.count ?? 0
        for (rank, m) in list.enumerated() {
            let a: String, b: String
            switch m.value {
            case .string(let s):
                let parts = s.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: false)
                guard parts.count == 2 else { throw m.invalid("a merge must be two tokens separated by a space") }
                a = String(parts[0]); b = String(parts[1])
            case .array(let pair) where pair.count == 2:
                guard case .string(let x) = pair[0], case .string(let y) = pair[1] else { throw m.invalid("a merge must be two strings") }
                a = x; b = y
            default:
                throw m.invalid("a merge must be \"a b\" or [\"a\", \"b\"]")
            }
            guard let ia = vocab.id(of: a), let ib = vocab.id(of: b) else {
                throw m.invalid("merge uses a token missing from the vocabulary")
            }
            let merged = a + String(b.dropFirst(prefixLength))
            guard let im = vocab.id(of: merged) else {
                throw m.invalid("merge result \"\(merged)\" is missing from the vocabulary")
            }
            let key = UInt64(UInt32(ia)) << 32 | UInt64(UInt32(ib))
            if merges[key] == nil { merges[key] = (Int32(rank), Int32(im)) }
        }
        self.merges = merges
    }

    public var vocabularySize: Int { vocab.count }
    public func id(of token: String) -> Int? { vocab.id(of: token) }
    public func token(of id: Int) -> String? { vocab.token(of: id) }

    private struct Symbol {
        var id: Int32
        var start: Int32
        var end: Int32
        var prev: Int32
        var next: Int32
        var alive = true
    }

    public func tokenize(_ piece: [Unicode.Scalar]) throws -> [Token] {
        if piece.isEmpty { return [] }
        if ignoreMerges, let id = vocab.id(of: String(scalars: piece[...])) {
            return [Token(id: id, value: String(scalars: piece[...]), start: 0, end: piece.count)]
        }
        var symbols = try initialSymbols(piece)
        merge(&symbols)
        var tokens = [Token]()
        tokens.reserveCapacity(symbols.count)
        for s in symbols where s.alive {
            let id = Int(s.id)
            tokens.append(Token(id: id, value: vocab.token(of: id) ?? "", start: Int(s.start), end: Int(s.end)))
        }
        return tokens
    }

    /// One symbol per character (with prefix/suffix where configured), byte fallback or unknown.
    private func initialSymbols(_ piece: [Unicode.Scalar]) throws -> [Symbol] {
        var symbols = [Symbol]()
        symbols.reserveCapacity(piece.count)
        var unk: (id: Int32, start: Int32, end: Int32)? = nil
        func add(_ id: Int32, _ start: Int, _ end: Int) {
            symbols.append(Symbol(id: id, start: Int32(start), end: Int32(end), prev: Int32(symbols.count - 1), next: Int32(symbols.count + 1)))
        }
        for i in piece.indices {
            var s = String(piece[i])
            if i > 0, let p = continuingSubwordPrefix { s = p + s }
            if i == piece.count - 1, let suffix = endOfWordSuffix { s += suffix }
            if let id = vocab.id(of: s) {
                if let u = unk { add(u.id, Int(u.start), Int(u.end)); unk = nil }
                add(Int32(id), i, i + 1)
                continue
            }
            if byteFallback {
                let ids = s.utf8.map { vocab.id(of: "<0x" + hex2($0) + ">") }
                if ids.allSatisfy({ $0 != nil }) {
                    if let u = unk { add(u.id, Int(u.start), Int(u.end)); unk = nil }
                    for id in ids { add(Int32(id ?? 0), i, i + 1) }
                    continue
                }
            }
            if let unkToken {
                guard let unkId = vocab.id(of: unkToken) else {
                    throw TokenizerError(.invalidValue, path: "model.unk_token", "unknown token \"\(unkToken)\" is not in the vocabulary")
                }
                if let u = unk {
                    if fuseUnk {
                        unk = (u.id, u.start, Int32(i + 1))
                    } else {
                        add(u.id, Int(u.start), Int(u.end))
                        unk = (Int32(unkId), Int32(i), Int32(i + 1))
                    }
                } else {
                    unk = (Int32(unkId), Int32(i), Int32(i + 1))
                }
            }
        }
        if let u = unk { add(u.id, Int(u.start), Int(u.end)) }
        if let last = symbols.indices.last { symbols[last].next = -1 }
        return symbols
    }

    @inline(__always) private func lookup(_ a: Int32, _ b: Int32) -> (rank: Int32, id: Int32)? {
        merges[UInt64(UInt32(a)) << 32 | UInt64(UInt32(b))]
    }

    /// Applies merges lowest rank first, then leftmost, skipping stale queue entries.
    private func merge(_ symbols: inout [Symbol]) {
        guard symbols.count > 1 else { return }
        var heap = MergeHeap()
        for i in 0..<(symbols.count - 1) {
            if let m = lookup(symbols[i].id, symbols[i + 1].id) { heap.push(rank: m.rank, pos: Int32(i), id: m.id) }
        }
        while let top = heap.pop() {
            let pos = Int(top.pos)
            guard symbols[pos].alive, symbols[pos].next >= 0 else { continue }
            let nextPos = Int(symbols[pos].next)
            let right = symbols[nextPos]
            guard let m = lookup(symbols[pos].id, right.id), m.id == top.id else { continue }
            symbols[pos].id = top.id
            symbols[pos].end = right.end
            symbols[pos].next = right.next
            symbols[nextPos].alive = false
            if right.next >= 0 { symbols[Int(right.next)].prev = Int32(pos) }
            let prev = symbols[pos].prev
            if prev >= 0, let m = lookup(symbols[Int(prev)].id, symbols[pos].id) {
                heap.push(rank: m.rank, pos: prev, id: m.id)
            }
            let next = symbols[pos].next
            if next >= 0, let m = lookup(symbols[pos].id, symbols[Int(next)].id) {
                heap.push(rank: m.rank, pos: Int32(pos), id: m.id)
            }
        }
    }
}

/// A binary min-heap of pending merges ordered by (rank, position).
struct MergeHeap {
    struct Entry { var rank: Int32; var pos: Int32; var id: Int32 }
    private var items: [Entry] = []

    @inline(__always) private static func less(_ a: Entry, _ b: Entry) -> Bool {
        a.rank != b.rank ? a.rank < b.rank : a.pos < b.pos
    }

    mutating func push(rank: Int32, pos: Int32, id: Int32) {
        items.append(Entry(rank: rank, pos: pos, id: id))
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard Self.less(items[i], items[parent]) else { break }
            items.swapAt(i, parent)
            i = parent
        }
    }

    mutating func pop() -> Entry? {
        guard let top = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < items.count, Self.less(items[l], items[m]) { m = l }
                if r < items.count, Self.less(items[r], items[m]) { m = r }
                if m == i { break }
                items.swapAt(i, m)
                i = m
            }
        }
        return top
    }
}
