/// The graph as bytes: a header (magic, version, parameters, counts, entry point), the body
/// (vectors, labels, levels, deleted flags, level-0 lists, upper lists) and a CRC-32 of it all,
/// little-endian throughout. Unlike hnswlib's raw dump, a damaged file is detected, not loaded.
extension HNSWGraph {
    static let magic: [UInt8] = Array("NHSW".utf8)
    static let formatVersion: UInt32 = 1

    public func serialized() -> [UInt8] {
        var w = ByteWriter()
        w.bytes(Self.magic)
        w.u32(Self.formatVersion)
        w.u32(UInt32(dimension)); w.u8(metric.rawValue); w.u32(UInt32(m)); w.u32(UInt32(efConstruction))
        w.u64(seed); w.u64(rng.state)
        w.u32(UInt32(labels.count)); w.i32(entryPoint); w.i32(Int32(maxLevel))
        for x in vectors { w.u32(x.bitPattern) }
        for l in labels { w.u64(l) }
        for l in levels { w.u8(l) }
        for d in deleted { w.u8(d ? 1 : 0) }
        for x in level0 { w.u32(x) }
        for list in upper { for x in list { w.u32(x) } }
        w.u32(crc32(w.data))
        return w.data
    }

    public init(deserializing data: [UInt8]) throws {
        guard data.count >= 4 + 4 + 4 else { throw HNSWError("snapshot is truncated") }
        let body = data[..<(data.count - 4)]
        var tail = ByteReader(data[(data.count - 4)...])
        guard try tail.u32() == crc32(body) else { throw HNSWError("snapshot checksum does not match (corrupt or truncated)") }
        var r = ByteReader(body)
        guard try r.bytes(4) == Self.magic else { throw HNSWError("not an HNSW snapshot") }
        let version = try r.u32()
        guard version == Self.formatVersion else { throw HNSWError("unsupported snapshot version \(version)") }
        let dim = Int(try r.u32())
        guard let metric = Metric(rawValue: try r.u8()) else { throw HNSWError("unknown metric") }
        let m = Int(try r.u32()), efc = Int(try r.u32())
        guard dim > 0, dim < 1 << 20, m >= 2, m < 1 << 16, efc >= 1 else { throw HNSWError("invalid parameters") }
        self.init(dimension: dim, metric: metric, m: m, efConstruction: efc, seed: try r.u64())
        rng.state = try r.u64()
        let n = Int(try r.u32())
        entryPoint = try r.i32()
        maxLevel = Int(try r.i32())
        guard n * dim <= r.remaining / 4 else { throw HNSWError("snapshot is shorter than its header says") }
        vectors = try (0..<(n * dim)).map { _ in Float(bitPattern: try r.u32()) }
        labels = try (0..<n).map { _ in try r.u64() }
        levels = try (0..<n).map { _ in try r.u8() }
        deleted = try (0..<n).map { _ in try r.u8() != 0 }
        level0 = try (0..<(n * (1 + maxM0))).map { _ in try r.u32() }
        upper = try levels.map { l in try (0..<(Int(l) * (1 + m))).map { _ in try r.u32() } }
        guard r.remaining == 0 else { throw HNSWError("snapshot has trailing bytes") }
        for (i, l) in labels.enumerated() where !deleted[i] { labelToNode[l] = Int32(i) }
        if let problem = verify() { throw HNSWError("snapshot is inconsistent: \(problem)") }
    }

    /// Structural invariants; nil when they all hold, else the first violation.
    public func verify() -> String? {
        let n = labels.count
        guard vectors.count == n * dimension, levels.count == n, deleted.count == n, upper.count == n,
              level0.count == n * (1 + maxM0) else { return "array sizes disagree with \(n) nodes" }
        if n == 0 { return entryPoint == -1 ? nil : "empty graph with an entry point" }
        guard entryPoint >= 0, Int(entryPoint) < n else { return "entry point \(entryPoint) out of range" }
        guard Int(levels[Int(entryPoint)]) == maxLevel, levels.allSatisfy({ Int($0) <= maxLevel }) else {
            return "entry point is not on the top level"
        }
        for node in 0..<n {
            guard upper[node].count == Int(levels[node]) * (1 + m) else { return "node \(node) has wrong upper lists" }
            for level in 0...Int(levels[node]) {
                let limit = level == 0 ? maxM0 : m
                let countSlot = level == 0 ? Int(level0[node * (1 + maxM0)]) : Int(upper[node][(level - 1) * (1 + m)])
                guard countSlot <= limit else { return "node \(node) level \(level) lists \(countSlot) > \(limit) neighbours" }
                for x in neighbours(Int32(node), level: level) {
                    guard Int(x) < n else { return "node \(node) links to \(x), out of range" }
                    guard Int(x) != node else { return "node \(node) links to itself" }
                    guard Int(levels[Int(x)]) >= level else { return "node \(node) links to \(x) above its level" }
                }
            }
        }
        for (label, node) in labelToNode where labels[Int(node)] != label || deleted[Int(node)] {
            return "label \(label) maps to the wrong node"
        }
        return nil
    }
}

struct ByteWriter {
    var data: [UInt8] = []
    mutating func bytes(_ b: [UInt8]) { data.append(contentsOf: b) }
    mutating func u8(_ v: UInt8) { data.append(v) }
    mutating func u32(_ v: UInt32) { for i in 0..<4 { data.append(UInt8(truncatingIfNeeded: v >> (8 * i))) } }
    mutating func i32(_ v: Int32) { u32(UInt32(bitPattern: v)) }
    mutating func u64(_ v: UInt64) { for i in 0..<8 { data.append(UInt8(truncatingIfNeeded: v >> (8 * i))) } }
}

struct ByteReader {
    let data: ArraySlice<UInt8>
    var offset: Int
    init(_ data: ArraySlice<UInt8>) {
        self.data = data
        offset = data.startIndex
    }
    var remaining: Int { data.endIndex - offset }
    mutating func bytes(_ n: Int) throws -> [UInt8] {
        guard remaining >= n else { throw HNSWError("snapshot is truncated") }
        defer { offset += n }
        return Array(data[offset..<(offset + n)])
    }
    mutating func u8() throws -> UInt8 { try bytes(1)[0] }
    mutating func u32() throws -> UInt32 {
        guard remaining >= 4 else { throw HNSWError("snapshot is truncated") }
        var v: UInt32 = 0
        for i in 0..<4 { v |= UInt32(data[offset + i]) << (8 * i) }
        offset += 4
        return v
    }
    mutating func i32() throws -> Int32 { Int32(bitPattern: try u32()) }
    mutating func u64() throws -> UInt64 {
        guard remaining >= 8 else { throw HNSWError("snapshot is truncated") }
        var v: UInt64 = 0
        for i in 0..<8 { v |= UInt64(data[offset + i]) << (8 * i) }
        offset += 8
        return v
    }
}

/// CRC-32 (IEEE), table-driven.
func crc32(_ bytes: some Collection<UInt8>) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for b in bytes { crc = crcTable[Int((crc ^ UInt32(b)) & 0xFF)] ^ (crc >> 8) }
    return crc ^ 0xFFFF_FFFF
}

private let crcTable: [UInt32] = (0..<256).map { i in
    var c = UInt32(i)
    for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
    return c
}
