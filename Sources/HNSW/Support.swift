/// How vectors are compared. Cosine expects (and the index stores) unit vectors, so it is an
/// inner product underneath; distances are "smaller is closer" throughout.
public enum Metric: UInt8, Sendable {
    case cosine = 0, innerProduct = 1, l2 = 2
}

/// SplitMix64: tiny, fast, and the same sequence on every platform, so a seed fixes the graph.
struct SplitMix64: Sendable {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in (0, 1].
    mutating func unit() -> Double { (Double(next() >> 11) + 1) / 9_007_199_254_740_992 }
}

/// Marks visited nodes with a generation number, so clearing between searches is O(1) instead
/// of O(n) (hnswlib's `VisitedList`). One per concurrent search. The marks live in a raw buffer:
/// an array in a class would pay a runtime exclusivity check on every visit of the hot loop.
public final class VisitedSet {
    private var marks: UnsafeMutablePointer<UInt16>
    private var capacity = 0
    private var generation: UInt16 = 0

    public init() { marks = .allocate(capacity: 1) }
    deinit { marks.deallocate() }

    /// Starts a search over `needed` nodes; returns the marks and the generation that means
    /// "visited" in this search (callers keep both in locals for the hot loop).
    func reset(capacity needed: Int) -> (marks: UnsafeMutablePointer<UInt16>, generation: UInt16) {
        if capacity < needed {
            let grown = max(needed, capacity * 2)
            let fresh = UnsafeMutablePointer<UInt16>.allocate(capacity: grown)
            fresh.initialize(repeating: 0, count: grown)
            marks.deallocate()
            marks = fresh
            capacity = grown
            generation = 0
        }
        generation &+= 1
        if generation == 0 {
            marks.update(repeating: 0, count: capacity)
            generation = 1
        }
        return (marks, generation)
    }
}

/// A binary heap of (distance, node), min-first or max-first.
struct DistanceHeap {
    private(set) var items: [(Float, Int32)] = []
    let maxFirst: Bool

    init(maxFirst: Bool) { self.maxFirst = maxFirst }

    var count: Int { items.count }
    var isEmpty: Bool { items.isEmpty }
    var top: (Float, Int32)? { items.first }

    @inline(__always) private func before(_ a: (Float, Int32), _ b: (Float, Int32)) -> Bool {
        maxFirst ? (a.0 > b.0 || (a.0 == b.0 && a.1 > b.1)) : (a.0 < b.0 || (a.0 == b.0 && a.1 < b.1))
    }

    mutating func push(_ d: Float, _ n: Int32) {
        items.append((d, n))
        var i = items.count - 1
        while i > 0 {
            let p = (i - 1) / 2
            guard before(items[i], items[p]) else { break }
            items.swapAt(i, p)
            i = p
        }
    }

    @discardableResult mutating func pop() -> (Float, Int32)? {
        guard let first = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < items.count, before(items[l], items[m]) { m = l }
                if r < items.count, before(items[r], items[m]) { m = r }
                if m == i { break }
                items.swapAt(i, m)
                i = m
            }
        }
        return first
    }
}

/// Errors reading a snapshot: corrupt or truncated bytes never crash.
public struct HNSWError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { "HNSW: \(message)" }
}
