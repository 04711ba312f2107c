import CPrefetch
import VectorMath

/// A hierarchical navigable small-world graph (Malkov & Yashunin; hnswlib's layout).
///
/// Pure and single-threaded: the same seed and the same inserts give the same graph, byte for
/// byte. Level 0 lives in one flat array (`1 + 2M` slots per node: count, then neighbours);
/// the few nodes above level 0 keep their upper lists in a per-node array. Deletion is soft:
/// deleted nodes still route searches but never appear in results, and a later insert takes
/// a deleted node's slot over (hnswlib's `replaceDeleted`), so a collection whose documents
/// are replaced again and again keeps a graph of bounded size.
///
/// Changes can be *staged*: a staged insert is linked into the graph but stays invisible, a
/// staged removal stays visible, until `publish()`. The owner stores the staged records
/// (`record(_:)` describes a node as it will be after publishing), and publishes only once they
/// are durable, so a search never returns what a crash could take back.
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
    /// Live (published) labels.
    var labelToNode: [UInt64: Int32] = [:]
    /// Staged inserts: linked, routing searches, not yet returned.
    var pending: [UInt64: Int32] = [:]
    /// Staged removals: still returned until `publish()`.
    var retiring: Set<UInt64> = []
    /// Deleted nodes whose slots the next inserts take over, most recently freed last.
    var free: [Int32] = []
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

    /// Node slots, deleted ones included (a later insert reuses those).
    public var nodeCount: Int { labels.count }
    /// Live (published) items.
    public var count: Int { labelToNode.count }
    /// Deleted slots waiting to be reused.
    public var deletedCount: Int { free.count }
    public func contains(_ label: UInt64) -> Bool { labelToNode[label] != nil }
    /// True while inserts or removals are staged and not yet published.
    public var hasStagedChanges: Bool { !pending.isEmpty || !retiring.isEmpty }

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

    /// Adds `vector` under `label` and publishes it at once, replacing an existing item with
    /// that label. Pass one `visited` set to a run of inserts: a fresh one costs a pass over
    /// every node. (Must not be mixed with staged changes.)
    public mutating func insert(_ vector: [Float], label: UInt64, visited: VisitedSet = VisitedSet()) {
        precondition(!hasStagedChanges, "insert while changes are staged")
        if labelToNode[label] != nil { remove(label) }
        stageInsert(vector, label: label, visited: visited)
        publish()
    }

    /// Links `vector` into the graph under a new `label` without making it visible: searches
    /// walk through it but do not return it until `publish()`. Takes over a deleted node's slot
    /// when there is one.
    public mutating func stageInsert(_ vector: [Float], label: UInt64, visited: VisitedSet = VisitedSet()) {
        precondition(vector.count == dimension, "vector has \(vector.count) values, index has \(dimension)")
        precondition(labelToNode[label] == nil && pending[label] == nil, "label \(label) is already in the graph")
        let v = prepared(vector)
        if let slot = free.popLast() {
            reuse(slot, v, label: label, visited: visited)
            return
        }
        let node = Int32(labels.count)
        let level = Int(min(30, -log(rng.unit()) / log(Double(m))))
        vectors.append(contentsOf: v)
        labels.append(label)
        levels.append(UInt8(level))
        deleted.append(true)  // hidden until published
        level0.append(contentsOf: repeatElement(0, count: 1 + maxM0))
        upper.append(level > 0 ? [UInt32](repeating: 0, count: level * (1 + m)) : [])
        pending[label] = node
        dirty.insert(node)
        guard entryPoint >= 0 else {
            entryPoint = node
            maxLevel = level
            return
        }
        connect(node, v, level: level, visited: visited)
        if level > maxLevel {
            entryPoint = node
            maxLevel = level
        }
    }

    /// Marks `label` for removal at the next `publish()`; until then it is still returned.
    /// Returns false if it is not live.
    @discardableResult public mutating func stageRemoval(_ label: UInt64) -> Bool {
        guard let node = labelToNode[label], !retiring.contains(label) else { return false }
        retiring.insert(label)
        dirty.insert(node)
        return true
    }

    /// Makes staged inserts visible and staged removals take effect.
    public mutating func publish() {
        for (label, node) in pending {
            deleted[Int(node)] = false
            labelToNode[label] = node
        }
        pending.removeAll(keepingCapacity: true)
        for label in retiring.sorted() { remove(label) }  // sorted: the free list's order is part of the graph
        retiring.removeAll(keepingCapacity: true)
    }

    /// Soft delete, at once: the item stops appearing in results and its slot is reused by a
    /// later insert. Returns false if it was absent.
    @discardableResult public mutating func remove(_ label: UInt64) -> Bool {
        guard let node = labelToNode.removeValue(forKey: label) else { return false }
        deleted[Int(node)] = true
        free.append(node)
        dirty.insert(node)
        return true
    }

    /// Gives a new node its neighbours on every level up to `level`, from the entry point down
    /// (the insert procedure of the paper, with hnswlib's neighbour heuristic).
    private mutating func connect(_ node: Int32, _ v: [Float], level: Int, visited: VisitedSet) {
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
                var found = searchLayer(qp, entry: current, entryDistance: currentDistance, ef: efConstruction,
                                        level: l, visited: visited, accept: nil)
                found.removeAll { $0.1 == node }  // a reused slot can meet itself
                let chosen = selectNeighbours(found, limit: m)
                setNeighbours(node, level: l, chosen.map(\.1))
                for (_, n) in chosen { link(n, to: node, level: l) }
                if let best = found.first { (currentDistance, current) = best }
            }
        }
    }

    /// hnswlib's `updatePoint` for a deleted slot taking a new vector: the slot's neighbours
    /// first choose their lists again among the slot's two-hop neighbourhood (their link to
    /// the old vector is no longer a good one), then the slot is connected as a new node would
    /// be. The slot keeps its level, so the layer structure stays as it was drawn.
    private mutating func reuse(_ node: Int32, _ v: [Float], label: UInt64, visited: VisitedSet) {
        let d = dimension
        vectors.withUnsafeMutableBufferPointer { $0.baseAddress!.advanced(by: Int(node) * d).update(from: v, count: d) }  // safe: node < nodeCount
        labels[Int(node)] = label
        pending[label] = node
        dirty.insert(node)
        let level = Int(levels[Int(node)])
        for l in 0...level {
            let oneHop = neighbours(node, level: l).map { Int32($0) }
            var around = Set(oneHop)
            around.insert(node)
            for n in oneHop { for x in neighbours(n, level: l) { around.insert(Int32(x)) } }
            for n in oneHop {
                let scored: [(Float, Int32)] = vectors.withUnsafeBufferPointer { vb in
                    let np = vb.baseAddress! + Int(n) * d  // safe: n < nodeCount
                    return around.filter { $0 != n }.map { (distance(np, $0), $0) }
                        .sorted { $0.0 < $1.0 || ($0.0 == $1.0 && $0.1 < $1.1) }
                }
                let limit = l == 0 ? maxM0 : m
                setNeighbours(n, level: l, selectNeighbours(Array(scored.prefix(efConstruction)), limit: limit).map(\.1))
            }
        }
        connect(node, v, level: level, visited: visited)
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
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
