import VectorMath

/// The graph as per-node records, so a database can store it row by row and write only the
/// rows an insert or delete changed. The records' byte form (the codec), its version and the
/// checksum that ties rows to their header belong here, with the graph: a store keeps the
/// bytes without knowing what they mean.
public struct NodeRecord: Sendable, Equatable {
    public var node: Int32
    public var label: UInt64
    public var level: Int
    public var deleted: Bool
    /// Neighbour lists, level 0 first; each list as node ids.
    public var links: [[UInt32]]
    /// The vector the graph holds for this node (unit length for cosine).
    public var vector: [Float]

    public init(node: Int32, label: UInt64, level: Int, deleted: Bool, links: [[UInt32]], vector: [Float]) {
        self.node = node
        self.label = label
        self.level = level
        self.deleted = deleted
        self.links = links
        self.vector = vector
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

/// Byte forms of node records and the header, little-endian, each led by a format version so
/// that rows written by another version are recognised (and the graph rebuilt) rather than
/// misread. The header carries an order-independent checksum of all rows — the wrapping sum
/// of each row's FNV-1a hash — so a writer updates it from the rows it changes alone.
public enum GraphCodec {
    public static let rowVersion: UInt8 = 1
    public static let headerMagic: [UInt8] = Array("NGH1".utf8)

    public static func encode(_ r: NodeRecord) -> [UInt8] {
        var w = ByteWriter()
        w.u8(rowVersion)
        w.u64(r.label)
        w.u8(UInt8(r.level))
        w.u8(r.deleted ? 1 : 0)
        w.u32(UInt32(r.vector.count))
        for x in r.vector { w.u32(x.bitPattern) }
        for list in r.links {
            w.u32(UInt32(list.count))
            for x in list { w.u32(x) }
        }
        return w.data
    }

    public static func decode(_ bytes: [UInt8], node: Int32) throws -> NodeRecord {
        var r = ByteReader(bytes[...])
        guard try r.u8() == rowVersion else { throw HNSWError("node \(node) was written in another record format") }
        let label = try r.u64()
        let level = Int(try r.u8())
        let deleted = try r.u8() != 0
        let dim = Int(try r.u32())
        guard dim <= r.remaining / 4 else { throw HNSWError("node \(node): vector is truncated") }
        let vector = try (0..<dim).map { _ in Float(bitPattern: try r.u32()) }
        var links = [[UInt32]]()
        for _ in 0...level {
            let n = Int(try r.u32())
            guard n <= r.remaining / 4 else { throw HNSWError("node \(node): link list is truncated") }
            links.append(try (0..<n).map { _ in try r.u32() })
        }
        guard r.remaining == 0 else { throw HNSWError("node \(node): record has trailing bytes") }
        return NodeRecord(node: node, label: label, level: level, deleted: deleted, links: links, vector: vector)
    }

    /// A row's share of the header's checksum (its position is hashed too, so rows cannot swap).
    public static func hash(node: Int, _ bytes: [UInt8]) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for i in 0..<8 { h = (h ^ UInt64(UInt8(truncatingIfNeeded: node >> (8 * i)))) &* 0x0000_0100_0000_01B3 }
        for b in bytes { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        return h
    }

    public static func encode(_ h: GraphHeader, checksum: UInt64) -> [UInt8] {
        var w = ByteWriter()
        w.bytes(headerMagic)
        w.u32(UInt32(h.dimension)); w.u8(h.metric.rawValue); w.u32(UInt32(h.m)); w.u32(UInt32(h.efConstruction))
        w.u64(h.seed); w.u64(h.rngState); w.i32(h.entryPoint); w.i32(Int32(h.maxLevel)); w.u32(UInt32(h.nodeCount))
        w.u64(checksum)
        return w.data
    }

    public static func decodeHeader(_ bytes: [UInt8]) throws -> (header: GraphHeader, checksum: UInt64) {
        var r = ByteReader(bytes[...])
        guard try r.bytes(4) == headerMagic else { throw HNSWError("graph header was written in another format") }
        let dim = Int(try r.u32())
        guard let metric = Metric(rawValue: try r.u8()) else { throw HNSWError("graph header names an unknown metric") }
        let m = Int(try r.u32()), efc = Int(try r.u32())
        let header = GraphHeader(dimension: dim, metric: metric, m: m, efConstruction: efc, seed: try r.u64(), rngState: try r.u64(),
                                 entryPoint: try r.i32(), maxLevel: Int(try r.i32()), nodeCount: Int(try r.u32()))
        let checksum = try r.u64()
        guard r.remaining == 0 else { throw HNSWError("graph header has trailing bytes") }
        return (header, checksum)
    }
}

extension HNSWGraph {
    public var header: GraphHeader {
        GraphHeader(dimension: dimension, metric: metric, m: m, efConstruction: efConstruction, seed: seed,
                    rngState: rng.state, entryPoint: entryPoint, maxLevel: maxLevel, nodeCount: labels.count)
    }

    /// A node as it will be once staged changes are published: the form to store.
    public func record(_ node: Int32) -> NodeRecord {
        let i = Int(node)
        let label = labels[i]
        let live = pending[label] == node || (!deleted[i] && !retiring.contains(label))
        let level = Int(levels[i])
        return NodeRecord(node: node, label: label, level: level, deleted: !live,
                          links: (0...level).map { Array(neighbours(node, level: $0)) }, vector: storedVector(node))
    }

    /// Nodes whose record changed since the last call (new, relinked or deleted), sorted.
    public mutating func takeDirtyNodes() -> [Int32] {
        defer { dirty.removeAll(keepingCapacity: true) }
        return dirty.sorted()
    }

    /// Rebuilds a graph from its header and its node records (any order), then checks its
    /// invariants. Deleted nodes' slots are reused by later inserts, highest slot first.
    public init(header h: GraphHeader, records: [NodeRecord]) throws {
        guard h.dimension > 0, h.dimension < 1 << 16, h.m >= 2, h.m <= 1024, h.efConstruction >= 1, h.nodeCount >= 0 else {
            throw HNSWError("invalid parameters")
        }
        self.init(dimension: h.dimension, metric: h.metric, m: h.m, efConstruction: h.efConstruction, seed: h.seed)
        rng.state = h.rngState
        let n = h.nodeCount
        guard records.count == n else { throw HNSWError("\(records.count) node rows for \(n) nodes") }
        vectors.reserveCapacityInHugePages(n * h.dimension)  // a million-node graph is hundreds of MB
        vectors.append(contentsOf: repeatElement(0, count: n * h.dimension))
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
            guard r.vector.count == h.dimension else { throw HNSWError("node \(i) has a vector of \(r.vector.count) values, not \(h.dimension)") }
            seen[i] = true
            labels[i] = r.label
            levels[i] = UInt8(r.level)
            deleted[i] = r.deleted
            let d = h.dimension
            vectors.withUnsafeMutableBufferPointer { $0.baseAddress!.advanced(by: i * d).update(from: r.vector, count: d) }  // safe: i < n
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
            if !r.deleted {
                guard labelToNode.updateValue(r.node, forKey: r.label) == nil else { throw HNSWError("label \(r.label) is on two live nodes") }
            }
        }
        free = (0..<Int32(n)).filter { deleted[Int($0)] }
        entryPoint = h.entryPoint
        maxLevel = h.maxLevel
        dirty.removeAll()
        if let problem = verify() { throw HNSWError("stored graph is inconsistent: \(problem)") }
    }
}

extension HNSWGraph {
    /// Takes over records another process committed (a follower applying the writer's log):
    /// each record replaces its node, nodes past the end are appended, and the header's entry
    /// point, top level and random state become this graph's. The free list is rebuilt in slot
    /// order, as a load from the stored records builds it, so the graph equals what a restart
    /// would read. Throws when the records do not fit the header (the caller reloads).
    public mutating func apply(header h: GraphHeader, records: [NodeRecord]) throws {
        precondition(!hasStagedChanges, "records applied while changes are staged")
        guard h.dimension == dimension, h.metric == metric, h.m == m, h.efConstruction == efConstruction else {
            throw HNSWError("records of a graph with other parameters")
        }
        let old = labels.count, n = h.nodeCount
        guard n >= old else { throw HNSWError("the graph shrank from \(old) to \(n) nodes without a rebuild") }
        if n > old {
            let add = n - old
            vectors.append(contentsOf: repeatElement(0, count: add * dimension))
            labels.append(contentsOf: repeatElement(0, count: add))
            levels.append(contentsOf: repeatElement(0, count: add))
            deleted.append(contentsOf: repeatElement(true, count: add))
            level0.append(contentsOf: repeatElement(0, count: add * (1 + maxM0)))
            upper.append(contentsOf: repeatElement([], count: add))
        }
        var fresh = Set(old..<n)
        for r in records {
            let i = Int(r.node)
            guard i >= 0, i < n, r.level >= 0, r.level < 64, r.links.count == r.level + 1, r.vector.count == dimension else {
                throw HNSWError("node record \(r.node) is invalid")
            }
            fresh.remove(i)
            if !deleted[i], labelToNode[labels[i]] == r.node { labelToNode[labels[i]] = nil }
            labels[i] = r.label
            levels[i] = UInt8(r.level)
            deleted[i] = r.deleted
            let d = dimension
            vectors.withUnsafeMutableBufferPointer { $0.baseAddress!.advanced(by: i * d).update(from: r.vector, count: d) }  // safe: i < n
            upper[i] = r.level > 0 ? [UInt32](repeating: 0, count: r.level * (1 + m)) : []
            for (level, list) in r.links.enumerated() {
                guard list.count <= (level == 0 ? maxM0 : m) else { throw HNSWError("node \(i) has too many links") }
                let base = level == 0 ? i * (1 + maxM0) : (level - 1) * (1 + m)
                let width = level == 0 ? maxM0 : m
                for k in 0..<width {
                    let x = k < list.count ? list[k] : 0
                    if level == 0 { level0[base + 1 + k] = x } else { upper[i][base + 1 + k] = x }
                }
                if level == 0 { level0[base] = UInt32(list.count) } else { upper[i][base] = UInt32(list.count) }
            }
            if !r.deleted {
                if let other = labelToNode[r.label], other != r.node, !deleted[Int(other)] {
                    throw HNSWError("label \(r.label) is on two live nodes")
                }
                labelToNode[r.label] = r.node
            }
        }
        guard fresh.isEmpty else { throw HNSWError("\(fresh.count) new nodes arrived without their records") }
        free = (0..<Int32(n)).filter { deleted[Int($0)] }
        entryPoint = h.entryPoint
        maxLevel = h.maxLevel
        rng.state = h.rngState
        dirty.removeAll()
    }
}
