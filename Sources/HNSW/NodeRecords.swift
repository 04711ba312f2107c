/// The graph as per-node records, so a database can store it row by row and write only the
/// rows an insert or delete changed.
public struct NodeRecord: Sendable, Equatable {
    public var node: Int32
    public var label: UInt64
    public var level: Int
    public var deleted: Bool
    /// Neighbour lists, level 0 first; each list as node ids.
    public var links: [[UInt32]]

    public init(node: Int32, label: UInt64, level: Int, deleted: Bool, links: [[UInt32]]) {
        self.node = node
        self.label = label
        self.level = level
        self.deleted = deleted
        self.links = links
    }

    /// Links as little-endian bytes: per level, a count then the ids.
    public var encodedLinks: [UInt8] {
        var w = ByteWriter()
        for list in links {
            w.u32(UInt32(list.count))
            for x in list { w.u32(x) }
        }
        return w.data
    }

    public static func decodeLinks(_ bytes: [UInt8], levels: Int) throws -> [[UInt32]] {
        var r = ByteReader(bytes[...])
        var out = [[UInt32]]()
        for _ in 0...levels {
            let n = Int(try r.u32())
            guard n <= r.remaining / 4 else { throw HNSWError("link list is truncated") }
            out.append(try (0..<n).map { _ in try r.u32() })
        }
        guard r.remaining == 0 else { throw HNSWError("link list has trailing bytes") }
        return out
    }
}

/// Entry point, top level and random state: what a store keeps beside the node rows.
public struct GraphHeader: Sendable, Equatable {
    public var dimension: Int
    public var metric: Metric
    public var m: Int
    public var efConstruction: Int
    public var seed: UInt64
    public var rngState: UInt64
    public var entryPoint: Int32
    public var maxLevel: Int
    public var nodeCount: Int

    public init(dimension: Int, metric: Metric, m: Int, efConstruction: Int, seed: UInt64, rngState: UInt64,
                entryPoint: Int32, maxLevel: Int, nodeCount: Int) {
        self.dimension = dimension
        self.metric = metric
        self.m = m
        self.efConstruction = efConstruction
        self.seed = seed
        self.rngState = rngState
        self.entryPoint = entryPoint
        self.maxLevel = maxLevel
        self.nodeCount = nodeCount
    }
}

extension HNSWGraph {
    public var header: GraphHeader {
        GraphHeader(dimension: dimension, metric: metric, m: m, efConstruction: efConstruction, seed: seed,
                    rngState: rng.state, entryPoint: entryPoint, maxLevel: maxLevel, nodeCount: labels.count)
    }

    public func record(_ node: Int32) -> NodeRecord {
        let level = Int(levels[Int(node)])
        return NodeRecord(node: node, label: labels[Int(node)], level: level, deleted: deleted[Int(node)],
                          links: (0...level).map { Array(neighbours(node, level: $0)) })
    }

    /// Nodes whose record changed since the last call (new, relinked or deleted), sorted.
    public mutating func takeDirtyNodes() -> [Int32] {
        defer { dirty.removeAll(keepingCapacity: true) }
        return dirty.sorted()
    }

    /// Rebuilds a graph from its header, its node rows (any order) and the vectors the graph
    /// was built over (node i's vector at i·dimension), then checks its invariants.
    public init(header h: GraphHeader, records: [NodeRecord], vectors: [Float]) throws {
        guard h.dimension > 0, h.m >= 2, h.efConstruction >= 1 else { throw HNSWError("invalid parameters") }
        self.init(dimension: h.dimension, metric: h.metric, m: h.m, efConstruction: h.efConstruction, seed: h.seed)
        rng.state = h.rngState
        let n = h.nodeCount
        guard records.count == n, vectors.count == n * h.dimension else {
            throw HNSWError("\(records.count) node rows and \(vectors.count / h.dimension) vectors for \(n) nodes")
        }
        self.vectors = vectors
        labels = [UInt64](repeating: 0, count: n)
        levels = [UInt8](repeating: 0, count: n)
        deleted = [Bool](repeating: false, count: n)
        labelToNode.reserveCapacity(n)
        level0 = [UInt32](repeating: 0, count: n * (1 + maxM0))
        upper = [[UInt32]](repeating: [], count: n)
        var seen = [Bool](repeating: false, count: n)
        for r in records {
            let i = Int(r.node)
            guard i >= 0, i < n, !seen[i], r.level >= 0, r.level < 64, r.links.count == r.level + 1 else {
                throw HNSWError("node row \(r.node) is invalid or repeated")
            }
            seen[i] = true
            labels[i] = r.label
            levels[i] = UInt8(r.level)
            deleted[i] = r.deleted
            if r.level > 0 { upper[i] = [UInt32](repeating: 0, count: r.level * (1 + m)) }
            for (level, list) in r.links.enumerated() {
                guard list.count <= (level == 0 ? maxM0 : m) else { throw HNSWError("node \(i) has too many links") }
                if level == 0 {
                    let base = i * (1 + maxM0)
                    level0[base] = UInt32(list.count)
                    for (k, x) in list.enumerated() { level0[base + 1 + k] = x }
                } else {
                    let base = (level - 1) * (1 + m)
                    upper[i][base] = UInt32(list.count)
                    for (k, x) in list.enumerated() { upper[i][base + 1 + k] = x }
                }
            }
            if !r.deleted { labelToNode[r.label] = r.node }
        }
        entryPoint = h.entryPoint
        maxLevel = h.maxLevel
        dirty.removeAll()
        if let problem = verify() { throw HNSWError("stored graph is inconsistent: \(problem)") }
    }
}
