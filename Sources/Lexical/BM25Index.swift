/// BM25 parameters of a collection (Robertson's k1 and b; Lucene's defaults).
public struct BM25Parameters: Sendable, Equatable {
    public var k1: Double
    public var b: Double
    public init(k1: Double = 1.2, b: Double = 0.75) {
        self.k1 = k1
        self.b = b
    }
}

/// An inverted index over chunks, scored with BM25 as Lucene does it:
/// idf = ln(1 + (N − df + 0.5) / (df + 0.5)), term score = idf · tf · (k1 + 1) / (tf + k1 · (1 − b + b · dl / avgdl)).
///
/// Terms have dense ids (assigned in order, persisted by the owner) and postings are flat arrays
/// of (slot, tf) per term, so a start-up appends stored per-chunk lists without hashing a single
/// term string. A removed chunk's slot is marked dead and skipped; postings are compacted once
/// dead entries pass a third of them, and only then are dead slots given to new chunks.
/// Pure and single-threaded, like the graph: the owner guards it.
public struct BM25Index: Sendable {
    public var parameters: BM25Parameters
    /// Term text by id, and id by text.
    public private(set) var terms: [String] = []
    private var termIds: [String: UInt32] = [:]
    private var postings: [[Posting]] = []
    private var documentFrequency: [UInt32] = []
    /// Per slot: its label, its length in terms, and its own (term, tf) list (for removal).
    private var slotLabel: [UInt64] = []
    private var slotLength: [UInt32] = []
    private var slotTerms: [[TermFrequency]] = []
    private var live: [Bool] = []
    private var slotOf: [UInt64: Int32] = [:]
    private var reusable: [Int32] = []
    private var deadPostings = 0
    private var totalPostings = 0
    private var totalLength: UInt64 = 0

    struct Posting: Sendable {
        var slot: Int32
        var tf: UInt16
    }

    /// One term of a chunk and how often it occurs there.
    public struct TermFrequency: Sendable, Equatable {
        public var term: UInt32
        public var tf: UInt16
        public init(term: UInt32, tf: UInt16) {
            self.term = term
            self.tf = tf
        }
    }

    public init(parameters: BM25Parameters = BM25Parameters(), terms: [String] = []) {
        self.parameters = parameters
        for t in terms { _ = id(adding: t) }
    }

    public var count: Int { slotOf.count }
    public func contains(_ label: UInt64) -> Bool { slotOf[label] != nil }

    /// The id of a term, adding it when new (the caller persists new terms: ids ≥ its last count).
    public mutating func id(adding term: String) -> UInt32 {
        if let i = termIds[term] { return i }
        let i = UInt32(terms.count)
        terms.append(term)
        termIds[term] = i
        postings.append([])
        documentFrequency.append(0)
        return i
    }

    public func id(of term: String) -> UInt32? { termIds[term] }

    /// A chunk's term list from term frequencies, adding unknown terms.
    public mutating func termList(_ frequencies: [String: Int]) -> [TermFrequency] {
        frequencies.map { TermFrequency(term: id(adding: $0.key), tf: UInt16(min($0.value, Int(UInt16.max)))) }
            .sorted { $0.term < $1.term }
    }

    /// Adds a chunk (replacing one with the same label).
    public mutating func add(_ label: UInt64, _ list: [TermFrequency]) {
        if slotOf[label] != nil { remove(label) }
        let slot: Int32
        if let r = reusable.popLast() {
            slot = r
            slotLabel[Int(r)] = label
            slotTerms[Int(r)] = list
            live[Int(r)] = true
        } else {
            slot = Int32(slotLabel.count)
            slotLabel.append(label)
            slotLength.append(0)
            slotTerms.append(list)
            live.append(true)
        }
        var length: UInt32 = 0
        for t in list where Int(t.term) < postings.count {
            postings[Int(t.term)].append(Posting(slot: slot, tf: t.tf))
            documentFrequency[Int(t.term)] += 1
            length += UInt32(t.tf)
        }
        slotLength[Int(slot)] = length
        totalLength += UInt64(length)
        totalPostings += list.count
        slotOf[label] = slot
    }

    /// Adds many new chunks at once (a start-up): postings are counted per term first, so each
    /// list grows once to its final size instead of by repeated doubling.
    public mutating func addAll(_ labels: [UInt64], _ lists: [[TermFrequency]]) {
        precondition(labels.count == lists.count, "BM25Index.addAll: \(labels.count) labels for \(lists.count) lists")
        var extra = [Int](repeating: 0, count: postings.count)
        for list in lists { for t in list where Int(t.term) < extra.count { extra[Int(t.term)] += 1 } }
        for i in postings.indices where extra[i] > 0 { postings[i].reserveCapacity(postings[i].count + extra[i]) }
        slotLabel.reserveCapacity(slotLabel.count + labels.count)
        slotLength.reserveCapacity(slotLength.count + labels.count)
        slotTerms.reserveCapacity(slotTerms.count + labels.count)
        live.reserveCapacity(live.count + labels.count)
        slotOf.reserveCapacity(slotOf.count + labels.count)
        for (label, list) in zip(labels, lists) { add(label, list) }
    }

    /// Removes a chunk; false when it was not indexed.
    @discardableResult public mutating func remove(_ label: UInt64) -> Bool {
        guard let slot = slotOf.removeValue(forKey: label) else { return false }
        live[Int(slot)] = false
        for t in slotTerms[Int(slot)] where Int(t.term) < documentFrequency.count { documentFrequency[Int(t.term)] -= 1 }
        totalLength -= UInt64(slotLength[Int(slot)])
        deadPostings += slotTerms[Int(slot)].count
        slotTerms[Int(slot)] = []
        if deadPostings * 3 > max(totalPostings, 3_000) { compact() }
        return true
    }

    /// Drops dead postings and frees their slots for reuse.
    private mutating func compact() {
        for i in postings.indices where !postings[i].isEmpty {
            postings[i].removeAll { !live[Int($0.slot)] }
        }
        // Every dead slot is clean now, so all of them may be reused.
        reusable = slotLabel.indices.filter { !live[$0] }.map { Int32($0) }
        totalPostings -= deadPostings
        deadPostings = 0
    }

    /// The `k` best chunks for the query terms (only those `accept` lets through), best first;
    /// ties by label so results are stable.
    ///
    /// Scores accumulate in an array indexed by slot (a query's common words touch tens of
    /// thousands of postings, too many for a dictionary), and a k-sized heap keeps the best of
    /// the slots touched, so nothing is sorted but the answer.
    ///
    /// Each hit also carries its `coverage`: the idf-weighted share of the query's distinct
    /// terms that the chunk contains, where a term the collection lacks weighs as much as the
    /// rarest possible one (df 0). 1 means every query word is there; a query in another
    /// language than the text matches few of its words and gets a small coverage even when a
    /// stray shared word gives it a high BM25 — what hybrid fusion uses to trust the lexical
    /// side only as far as the query is really matched.
    public func search(_ queryTerms: [String], k: Int, accept: ((UInt64) -> Bool)? = nil) -> [(label: UInt64, score: Float, coverage: Float)] {
        let n = Double(slotOf.count)
        guard n > 0, k > 0 else { return [] }
        let avg = max(Double(totalLength) / n, 1e-9)
        let (k1, b) = (parameters.k1, parameters.b)
        // A query term repeated counts once per occurrence, as in Lucene's BooleanQuery of term clauses.
        var weights = [UInt32: Double]()
        let maxIdf = log(1 + (n + 0.5) / 0.5)
        var unknown = Set<String>()
        for t in queryTerms {
            guard let id = termIds[t] else { unknown.insert(t); continue }
            weights[id, default: 0] += 1
        }
        guard !weights.isEmpty else { return [] }
        func idf(_ id: UInt32) -> Double {
            let df = Double(documentFrequency[Int(id)])
            return log(1 + (n - df + 0.5) / (df + 0.5))
        }
        let queryMass = Double(unknown.count) * maxIdf + weights.keys.reduce(0) { $0 + idf($1) }
        var scores = [Double](repeating: 0, count: slotLabel.count)
        var touched = [Int32]()
        // Terms in id order: the same additions in the same order on every backend and run.
        for (id, times) in weights.sorted(by: { $0.key < $1.key }) {
            let df = Double(documentFrequency[Int(id)])
            guard df > 0 else { continue }
            let w = times * log(1 + (n - df + 0.5) / (df + 0.5)) * (k1 + 1)
            postings[Int(id)].withUnsafeBufferPointer { list in
                for p in list {
                    let s = Int(p.slot)
                    guard live[s] else { continue }
                    let tf = Double(p.tf)
                    if scores[s] == 0 { touched.append(p.slot) }
                    scores[s] += w * tf / (tf + k1 * (1 - b + b * Double(slotLength[s]) / avg))
                }
            }
        }
        var heap = TopK(k)
        for slot in touched {
            let label = slotLabel[Int(slot)]
            if let accept, !accept(label) { continue }
            heap.offer(label, Float(scores[Int(slot)]), slot: slot)
        }
        return heap.sorted().map { h in
            var mass = 0.0
            for t in slotTerms[Int(h.slot)] where weights[t.term] != nil { mass += idf(t.term) }
            return (h.label, h.score, Float(queryMass > 0 ? min(1, mass / queryMass) : 0))
        }
    }
}

/// The k best (label, score) pairs seen: a binary min-heap whose root is the worst kept, by
/// score, then by label (a larger label is worse), so ties resolve as a full sort would.
struct TopK {
    typealias Item = (label: UInt64, score: Float, slot: Int32)
    private var items: [Item] = []
    private let k: Int
    init(_ k: Int) {
        self.k = k
        items.reserveCapacity(k)
    }

    /// a is worse than b.
    @inline(__always) private static func worse(_ a: Item, _ b: Item) -> Bool {
        a.score != b.score ? a.score < b.score : a.label > b.label
    }

    mutating func offer(_ label: UInt64, _ score: Float, slot: Int32 = -1) {
        let x = (label: label, score: score, slot: slot)
        if items.count < k {
            items.append(x)
            var i = items.count - 1
            while i > 0 {
                let p = (i - 1) / 2
                guard Self.worse(items[i], items[p]) else { break }
                items.swapAt(i, p)
                i = p
            }
        } else if Self.worse(items[0], x) {
            items[0] = x
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < items.count, Self.worse(items[l], items[m]) { m = l }
                if r < items.count, Self.worse(items[r], items[m]) { m = r }
                if m == i { break }
                items.swapAt(i, m)
                i = m
            }
        }
    }

    func sorted() -> [Item] {
        items.sorted { Self.worse($1, $0) }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
