import CPrefetch
import VectorMath

/// A hierarchical navigable small-world graph (Malkov & Yashunin; hnswlib's layout).
///
/// Pure and single-threaded: the same seed and the same inserts give the same graph, byte for
/// byte. Level 0 lives in one flat array (`1 + 2M` slots per node: count, then neighbours);
/// the few nodes above level 0 keep their upper lists in a per-node array. Deletion is soft:
/// deleted nodes still route searches but never appear in results; `compacted()` rebuilds
/// without them.
public struct HNSWGraph: Sendable {
    public let dimension: Int
    public let metric: Metric
    public let m: Int
    public let efConstruction: Int
    var maxM0: Int { 2 * m }
    var rng: SplitMix64
    let seed: UInt64

    var vectors: [Float] = []
    var labels: [UInt64] = []
    var levels: [UInt8] = []
    var deleted: [Bool] = []
    var level0: [UInt32] = []
    /// Upper levels of node i: `levels[i]` lists of `1 + M` slots (count, neighbours).
    var upper: [[UInt32]] = []
    var labelToNode: [UInt64: Int32] = [:]
    /// Nodes changed since `takeDirtyNodes()` was last called.
    var dirty: Set<Int32> = []
    var entryPoint: Int32 = -1
    var maxLevel = -1

    public init(dimension: Int, metric: Metric = .cosine, m: Int = 16, efConstruction: Int = 200, seed: UInt64 = 42) {
        precondition(dimension > 0 && m >= 2 && efConstruction >= 1, "invalid HNSW parameters")
        self.dimension = dimension
        self.metric = metric
        self.m = m
        self.efConstruction = efConstruction
        self.seed = seed
        rng = SplitMix64(state: seed)
    }

    /// Nodes ever inserted (deleted ones included until compaction).
    public var nodeCount: Int { labels.count }
    /// Live items.
    public var count: Int { labelToNode.count }
    public func contains(_ label: UInt64) -> Bool { labelToNode[label] != nil }

    // MARK: distances

    @inline(__always) func distance(_ q: UnsafePointer<Float>, _ node: Int32) -> Float {
        vectors.withUnsafeBufferPointer { v in
            let p = v.baseAddress! + Int(node) * dimension  // safe: node < nodeCount, so the arena is non-empty
            return metric == .l2 ? VectorMath.l2Squared(q, p, count: dimension) : 1 - VectorMath.dot(q, p, count: dimension)
        }
    }

    /// The stored form of a vector: unit length for cosine.
    func prepared(_ v: [Float]) -> [Float] { metric == .cosine ? VectorMath.normalized(v) : v }

    // MARK: links

    @inline(__always) func neighbours(_ node: Int32, level: Int) -> ArraySlice<UInt32> {
        if level == 0 {
            let base = Int(node) * (1 + maxM0)
            return level0[(base + 1)..<(base + 1 + Int(level0[base]))]
        }
        let list = upper[Int(node)]
        let base = (level - 1) * (1 + m)
        return list[(base + 1)..<(base + 1 + Int(list[base]))]
    }

    mutating func setNeighbours(_ node: Int32, level: Int, _ ns: [Int32]) {
        dirty.insert(node)
        if level == 0 {
            let base = Int(node) * (1 + maxM0)
            level0[base] = UInt32(ns.count)
            // Unused slots are zeroed so the bytes of a graph depend only on its links.
            for i in 0..<maxM0 { level0[base + 1 + i] = i < ns.count ? UInt32(ns[i]) : 0 }
        } else {
            let base = (level - 1) * (1 + m)
            upper[Int(node)][base] = UInt32(ns.count)
            for i in 0..<m { upper[Int(node)][base + 1 + i] = i < ns.count ? UInt32(ns[i]) : 0 }
        }
    }

    // MARK: insert / delete

    /// Adds `vector` under `label`, replacing an existing item with that label. Pass one
    /// `visited` set to a run of inserts: a fresh one costs a pass over every node.
    public mutating func insert(_ vector: [Float], label: UInt64, visited: VisitedSet = VisitedSet()) {
        precondition(vector.count == dimension, "vector has \(vector.count) values, index has \(dimension)")
        if labelToNode[label] != nil { remove(label) }
        let v = prepared(vector)
        let node = Int32(labels.count)
        let level = Int(min(30, -log(rng.unit()) / log(Double(m))))
        vectors.append(contentsOf: v)
        labels.append(label)
        levels.append(UInt8(level))
        deleted.append(false)
        level0.append(contentsOf: repeatElement(0, count: 1 + maxM0))
        upper.append(level > 0 ? [UInt32](repeating: 0, count: level * (1 + m)) : [])
        labelToNode[label] = node
        dirty.insert(node)
        guard entryPoint >= 0 else {
            entryPoint = node
            maxLevel = level
            return
        }
        v.withUnsafeBufferPointer { q in
            let qp = q.baseAddress!  // safe: dimension > 0
            var current = entryPoint
            var currentDistance = distance(qp, current)
            if maxLevel > level {
                for l in stride(from: maxLevel, to: level, by: -1) {
                    (current, currentDistance) = greedy(qp, from: current, distance: currentDistance, level: l)
                }
            }
            for l in stride(from: min(level, maxLevel), through: 0, by: -1) {
                let found = searchLayer(qp, entry: current, entryDistance: currentDistance, ef: efConstruction,
                                        level: l, visited: visited, accept: nil)
                let chosen = selectNeighbours(found, limit: m)
                setNeighbours(node, level: l, chosen.map(\.1))
                for (_, n) in chosen { link(n, to: node, level: l) }
                if let best = found.first { (currentDistance, current) = best }
            }
        }
        if level > maxLevel {
            entryPoint = node
            maxLevel = level
        }
    }

    /// Soft delete: the item stops appearing in results. Returns false if it was absent.
    @discardableResult public mutating func remove(_ label: UInt64) -> Bool {
        guard let node = labelToNode.removeValue(forKey: label) else { return false }
        deleted[Int(node)] = true
        dirty.insert(node)
        return true
    }

    /// Adds `node` to `target`'s list at `level`, pruning with the heuristic when full.
    private mutating func link(_ target: Int32, to node: Int32, level: Int) {
        let limit = level == 0 ? maxM0 : m
        var current = Array(neighbours(target, level: level).map { Int32($0) })
        if current.contains(node) { return }
        if current.count < limit {
            current.append(node)
            setNeighbours(target, level: level, current)
            return
        }
        current.append(node)
        let candidates: [(Float, Int32)] = vectors.withUnsafeBufferPointer { v in
            let tp = v.baseAddress! + Int(target) * dimension  // safe: target < nodeCount
            return current.map { (distance(tp, $0), $0) }.sorted { $0.0 < $1.0 || ($0.0 == $1.0 && $0.1 < $1.1) }
        }
        setNeighbours(target, level: level, selectNeighbours(candidates, limit: limit).map(\.1))
    }

    /// hnswlib's `getNeighborsByHeuristic2`: keep a candidate only if it is closer to the base
    /// than to every neighbour already kept, which spreads links in different directions.
    /// `candidates` must be sorted nearest first.
    func selectNeighbours(_ candidates: [(Float, Int32)], limit: Int) -> [(Float, Int32)] {
        if candidates.count <= limit { return candidates }
        var kept: [(Float, Int32)] = []
        vectors.withUnsafeBufferPointer { v in
            for c in candidates {
                if kept.count >= limit { break }
                let cp = v.baseAddress! + Int(c.1) * dimension  // safe: node ids index the arena
                if kept.allSatisfy({ distance(cp, $0.1) >= c.0 }) { kept.append(c) }
            }
        }
        return kept
    }

    // MARK: search

    func greedy(_ q: UnsafePointer<Float>, from start: Int32, distance d0: Float, level: Int) -> (Int32, Float) {
        var current = start, best = d0
        var changed = true
        while changed {
            changed = false
            for n in neighbours(current, level: level) {
                let d = distance(q, Int32(n))
                if d < best {
                    best = d
                    current = Int32(n)
                    changed = true
                }
            }
        }
        return (current, best)
    }

    /// Best-first search of one layer; returns up to `ef` accepted nodes, nearest first.
    /// Rejected nodes (deleted or filtered out) are still expanded, so the search walks
    /// through them to accepted ones, as hnswlib does. The loop works on raw pointers (no
    /// array bounds or reference counting per neighbour): it is where a search spends its time.
    func searchLayer(
        _ q: UnsafePointer<Float>, entry: Int32, entryDistance: Float, ef: Int, level: Int,
        visited: VisitedSet, accept: ((Int32) -> Bool)?
    ) -> [(Float, Int32)] {
        let (marks, generation) = visited.reset(capacity: nodeCount)
        var candidates = DistanceHeap(maxFirst: false)
        var results = DistanceHeap(maxFirst: true)
        marks[Int(entry)] = generation
        candidates.push(entryDistance, entry)
        if accept?(entry) ?? true { results.push(entryDistance, entry) }
        var bound = results.top?.0 ?? .infinity
        let d = dimension, l2 = metric == .l2, stride0 = 1 + maxM0, strideUp = 1 + m
        withUnsafeTemporaryAllocation(of: Int32.self, capacity: max(maxM0, m)) { pending in
        vectors.withUnsafeBufferPointer { vb in
            level0.withUnsafeBufferPointer { lb in
                let base = vb.baseAddress!, links0 = lb.baseAddress!  // safe: the graph has the entry node, so both are non-empty
                while let (dc, c) = candidates.pop() {
                    if dc > bound && results.count >= ef { break }
                    let visit = { (list: UnsafePointer<UInt32>) in
                        // First the unvisited neighbours, each announced to the memory system so
                        // their vectors load in parallel; then their distances, fetching every
                        // line of the next vector while this one is scored.
                        var fresh = 0
                        for i in 1..<(1 + Int(list[0])) {
                            let node = Int(list[i])
                            if marks[node] == generation { continue }
                            marks[node] = generation
                            pending[fresh] = Int32(node)
                            fresh += 1
                            nestor_prefetch(base + node * d)
                        }
                        for j in 0..<fresh {
                            if j + 1 < fresh {
                                let next = base + Int(pending[j + 1]) * d
                                for line in stride(from: 16, to: d, by: 16) { nestor_prefetch(next + line) }
                            }
                            let node = pending[j]
                            let p = base + Int(node) * d
                            let dn = l2 ? VectorMath.l2Squared(q, p, count: d) : 1 - VectorMath.dot(q, p, count: d)
                            if results.count < ef || dn < bound {
                                candidates.push(dn, node)
                                if accept?(node) ?? true {
                                    results.push(dn, node)
                                    if results.count > ef { results.pop() }
                                    bound = results.top?.0 ?? .infinity
                                }
                            }
                        }
                    }
                    if level == 0 {
                        visit(links0 + Int(c) * stride0)
                    } else {
                        upper[Int(c)].withUnsafeBufferPointer { visit($0.baseAddress! + (level - 1) * strideUp) }  // safe: c has a list at this level
                    }
                }
            }
        }
        }
        return results.items.sorted { $0.0 < $1.0 || ($0.0 == $1.0 && $0.1 < $1.1) }
    }

    /// The `k` nearest live items (optionally only those whose label passes `filter`), with
    /// their distances (1 − cosine for cosine and inner product, squared L2 for L2).
    public func search(_ query: [Float], k: Int, ef: Int = 64, filter: ((UInt64) -> Bool)? = nil,
                       visited: VisitedSet = VisitedSet()) -> [(label: UInt64, distance: Float)] {
        guard entryPoint >= 0, k > 0, query.count == dimension else { return [] }
        let q = prepared(query)
        return q.withUnsafeBufferPointer { qb in
            let qp = qb.baseAddress!  // safe: dimension > 0
            var current = entryPoint
            var d = distance(qp, current)
            if maxLevel > 0 {
                for l in stride(from: maxLevel, to: 0, by: -1) { (current, d) = greedy(qp, from: current, distance: d, level: l) }
            }
            let labels = self.labels, deleted = self.deleted
            let anyDeleted = labelToNode.count < labels.count
            let accept: ((Int32) -> Bool)? = filter == nil && !anyDeleted ? nil : { n in
                !deleted[Int(n)] && (filter?(labels[Int(n)]) ?? true)
            }
            let found = searchLayer(qp, entry: current, entryDistance: d, ef: max(ef, k), level: 0, visited: visited, accept: accept)
            return found.prefix(k).map { (labels[Int($0.1)], $0.0) }
        }
    }

    /// Exact search over every live item (for tests, small filtered sets and re-scoring).
    public func bruteForce(_ query: [Float], k: Int, filter: ((UInt64) -> Bool)? = nil) -> [(label: UInt64, distance: Float)] {
        guard query.count == dimension, k > 0 else { return [] }
        let q = prepared(query)
        var heap = DistanceHeap(maxFirst: true)
        q.withUnsafeBufferPointer { qb in
            for (label, node) in labelToNode where filter?(label) ?? true {
                let d = distance(qb.baseAddress!, node)  // safe: dimension > 0
                if heap.count < k { heap.push(d, node) } else if let top = heap.top, d < top.0 { heap.pop(); heap.push(d, node) }
            }
        }
        return heap.items.sorted { $0.0 < $1.0 || ($0.0 == $1.0 && $0.1 < $1.1) }.map { (labels[Int($0.1)], $0.0) }
    }

    /// The vector stored for a node (deleted nodes included: they still route searches).
    public func storedVector(_ node: Int32) -> [Float] {
        Array(vectors[(Int(node) * dimension)..<((Int(node) + 1) * dimension)])
    }

    /// The stored vector of a live item.
    public func vector(of label: UInt64) -> [Float]? {
        guard let n = labelToNode[label] else { return nil }
        return Array(vectors[(Int(n) * dimension)..<((Int(n) + 1) * dimension)])
    }

    /// A new graph of the live items only, inserted in their original order with the same
    /// seed (so the rebuild is deterministic too).
    public func compacted() -> HNSWGraph {
        var g = HNSWGraph(dimension: dimension, metric: metric, m: m, efConstruction: efConstruction, seed: seed)
        let visited = VisitedSet()
        for node in 0..<labels.count where !deleted[node] {
            g.insert(Array(vectors[(node * dimension)..<((node + 1) * dimension)]), label: labels[node], visited: visited)
        }
        return g
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
