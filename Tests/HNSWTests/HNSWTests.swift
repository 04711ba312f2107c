import Testing
@testable import HNSW

/// Deterministic pseudo-random vectors with the structure of embeddings: a low-dimensional
/// latent space (8 Gaussian factors) mapped linearly into `dim` dimensions, plus a little noise.
/// (Isotropic noise in 64 dimensions is far harder than any embedding set: hnswlib itself
/// reaches recall@10 0.80 at ef=100 there.)
func randomVectors(_ n: Int, dim: Int, seed: UInt64, latent: Int = 8) -> [[Float]] {
    var basisRNG = SplitMix64(state: 0xBA515)
    func gauss(_ r: inout SplitMix64) -> Float { Float((r.unit() + r.unit() + r.unit() - 1.5) * 2) }
    let basis = (0..<latent).map { _ in (0..<dim).map { _ in gauss(&basisRNG) } }
    var rng = SplitMix64(state: seed)
    return (0..<n).map { _ in
        let z = (0..<latent).map { _ in gauss(&rng) }
        return (0..<dim).map { j in (0..<latent).reduce(Float(0)) { $0 + z[$1] * basis[$1][j] } + 0.05 * gauss(&rng) }
    }
}

func recall(_ got: [(label: UInt64, distance: Float)], _ truth: [(label: UInt64, distance: Float)]) -> Double {
    let t = Set(truth.map(\.label))
    return Double(got.filter { t.contains($0.label) }.count) / Double(max(1, truth.count))
}

@Suite struct HNSWTests {
    static let dim = 64
    static let data = randomVectors(20_000, dim: dim, seed: 1)
    static let queries = randomVectors(200, dim: dim, seed: 2)
    static let graph: HNSWGraph = {
        var g = HNSWGraph(dimension: dim, metric: .cosine, m: 16, efConstruction: 200, seed: 7)
        for (i, v) in data.enumerated() { g.insert(v, label: UInt64(i)) }
        return g
    }()

    @Test func recallAgainstBruteForceOn20kVectors() {
        var total = 0.0
        for q in Self.queries { total += recall(Self.graph.search(q, k: 10, ef: 100), Self.graph.bruteForce(q, k: 10)) }
        let r = total / Double(Self.queries.count)
        #expect(r >= 0.98, "recall@10 \(r)")
        #expect(Self.graph.verify() == nil)
    }

    @Test(arguments: [(0.5, 0.98), (0.01, 0.9)])
    func filteredSearch(fraction: Double, minimumRecall: Double) {
        let modulus = UInt64((1 / fraction).rounded())
        let filter: (UInt64) -> Bool = { $0 % modulus == 0 }
        var total = 0.0
        for q in Self.queries {
            let got = Self.graph.search(q, k: 10, ef: 200, filter: filter)
            #expect(got.allSatisfy { filter($0.label) })
            total += recall(got, Self.graph.bruteForce(q, k: 10, filter: filter))
        }
        let r = total / Double(Self.queries.count)
        #expect(r >= minimumRecall, "filtered recall \(r) at \(fraction)")
    }

    @Test func deletesAndReplacementsNeverSurface() {
        var g = HNSWGraph(dimension: 16, seed: 3)
        let vs = randomVectors(2000, dim: 16, seed: 9)
        for (i, v) in vs.enumerated() { g.insert(v, label: UInt64(i)) }
        for i in stride(from: 0, to: 2000, by: 3) { g.remove(UInt64(i)) }
        // Replace label 1 with the vector of label 2 (so it would rank first for that query).
        g.insert(vs[2], label: 1)
        for q in vs.prefix(100) {
            let got = g.search(q, k: 20, ef: 100)
            #expect(got.allSatisfy { $0.label % 3 != 0 })
        }
        let hit = g.search(vs[2], k: 2, ef: 50).map(\.label)
        #expect(Set(hit) == [1, 2])
        #expect(g.count == 2000 - 667)
        #expect(g.nodeCount == 2000, "the replacement took a deleted slot")
        #expect(g.verify() == nil)
    }

    /// Replacing the same items round after round reuses the deleted slots: the graph stays the
    /// same size and its recall does not decay.
    @Test func replacedItemsReuseSlotsAndKeepRecall() {
        var g = HNSWGraph(dimension: 32, seed: 5)
        let n = 1000
        for (i, v) in randomVectors(n, dim: 32, seed: 30).enumerated() { g.insert(v, label: UInt64(i)) }
        var next = UInt64(n)
        var current = Array(0..<UInt64(n))
        for round in 0..<20 {
            let fresh = randomVectors(n, dim: 32, seed: 100 + UInt64(round))
            let visited = VisitedSet()
            for (i, v) in fresh.enumerated() {
                g.remove(current[i])
                g.insert(v, label: next, visited: visited)
                current[i] = next
                next += 1
            }
        }
        #expect(g.nodeCount == n && g.count == n && g.deletedCount == 0)
        #expect(g.verify() == nil)
        var total = 0.0
        for q in randomVectors(100, dim: 32, seed: 99) { total += recall(g.search(q, k: 10, ef: 100), g.bruteForce(q, k: 10)) }
        #expect(total / 100 >= 0.95, "recall@10 after 20 rounds of replacement: \(total / 100)")
    }

    /// Staged changes: an insert routes but is not returned, a removal is still returned, until
    /// `publish()`; records already describe the published state.
    @Test func stagedChangesAreInvisibleUntilPublished() {
        var g = HNSWGraph(dimension: 16, seed: 4)
        let vs = randomVectors(300, dim: 16, seed: 41)
        for (i, v) in vs.prefix(200).enumerated() { g.insert(v, label: UInt64(i)) }
        g.remove(5)
        _ = g.takeDirtyNodes()
        g.stageInsert(vs[250], label: 1000)
        g.stageRemoval(7)
        #expect(g.search(vs[250], k: 5, ef: 50).allSatisfy { $0.label != 1000 })
        #expect(g.search(vs[7], k: 1, ef: 50).first?.label == 7)
        #expect(g.bruteForce(vs[250], k: 300).allSatisfy { $0.label != 1000 })
        let dirty = g.takeDirtyNodes()
        let byLabel = Dictionary(uniqueKeysWithValues: dirty.map { (g.record($0).label, g.record($0)) })
        #expect(byLabel[1000]?.deleted == false && byLabel[1000]?.node == 5, "the insert took the deleted slot 5")
        #expect(byLabel[7]?.deleted == true)
        #expect(g.verify() == nil)
        g.publish()
        #expect(g.search(vs[250], k: 1, ef: 50).first?.label == 1000)
        #expect(g.search(vs[7], k: 5, ef: 50).allSatisfy { $0.label != 7 })
        #expect(g.count == 199 && g.nodeCount == 200 && g.verify() == nil)
    }

    @Test func sameSeedSameRecords() {
        func build() -> [NodeRecord] {
            var g = HNSWGraph(dimension: 16, seed: 123)
            for (i, v) in randomVectors(1000, dim: 16, seed: 8).enumerated() { g.insert(v, label: UInt64(i)) }
            for i in stride(from: 0, to: 1000, by: 7) { g.remove(UInt64(i)) }
            for (i, v) in randomVectors(100, dim: 16, seed: 18).enumerated() { g.insert(v, label: UInt64(5000 + i)) }
            return (0..<Int32(g.nodeCount)).map { g.record($0) } + [NodeRecord(node: -1, label: g.header.rngState, level: 0, deleted: false, links: [], vector: [])]
        }
        #expect(build() == build())
    }
}

/// Rows through the codec and back.
func roundTrip(_ g: HNSWGraph) throws -> HNSWGraph {
    let rows = (0..<Int32(g.nodeCount)).map { (node: $0, bytes: GraphCodec.encode(g.record($0))) }.shuffled()
    var sum: UInt64 = 0
    for r in rows { sum &+= GraphCodec.hash(node: Int(r.node), r.bytes) }
    let (header, checksum) = try GraphCodec.decodeHeader(GraphCodec.encode(g.header, checksum: sum))
    #expect(checksum == sum)
    return try HNSWGraph(header: header, records: rows.map { try GraphCodec.decode($0.bytes, node: $0.node) })
}

func records(_ g: HNSWGraph) -> [NodeRecord] { (0..<Int32(g.nodeCount)).map { g.record($0) } }

@Suite struct NodeRecordTests {
    @Test func restoringFromRecordsGivesTheSameGraph() throws {
        var g = HNSWGraph(dimension: 16, metric: .l2, m: 8, efConstruction: 50, seed: 21)
        let vs = randomVectors(800, dim: 16, seed: 22)
        for (i, v) in vs.enumerated() { g.insert(v, label: UInt64(i + 1000)) }
        g.remove(1005)
        g.remove(1300)
        let dirty = g.takeDirtyNodes()
        #expect(dirty.count == 800)
        #expect(g.takeDirtyNodes().isEmpty)
        let back = try roundTrip(g)
        #expect(back.header == g.header && records(back) == records(g))
        for q in randomVectors(20, dim: 16, seed: 5) {
            #expect(back.search(q, k: 5, ef: 40).map(\.label) == g.search(q, k: 5, ef: 40).map(\.label))
        }
        // Inserting after a round trip continues the same random sequence and reuses the same slots.
        var a = g, b = back
        for (i, v) in randomVectors(5, dim: 16, seed: 23).enumerated() {
            a.insert(v, label: UInt64(90_000 + i))
            b.insert(v, label: UInt64(90_000 + i))
        }
        #expect(records(a) == records(b) && a.header == b.header)
    }

    @Test func insertsMarkOnlyTheNodesTheyTouched() {
        var g = HNSWGraph(dimension: 16, seed: 23)
        for (i, v) in randomVectors(500, dim: 16, seed: 24).enumerated() { g.insert(v, label: UInt64(i)) }
        _ = g.takeDirtyNodes()
        g.insert(randomVectors(1, dim: 16, seed: 25)[0], label: 9999)
        let dirty = g.takeDirtyNodes()
        #expect(dirty.contains(500) && dirty.count <= 1 + 2 * 16 + 16 * 4)
    }

    @Test func badRecordsAreErrors() throws {
        var g = HNSWGraph(dimension: 4, seed: 1)
        for i in 0..<20 { g.insert([Float(i), 1, 0, 2], label: UInt64(i)) }
        var rs = records(g)
        rs[3].links[0] = [99]
        #expect(throws: HNSWError.self) { try HNSWGraph(header: g.header, records: rs) }
        #expect(throws: HNSWError.self) { try HNSWGraph(header: g.header, records: Array(records(g).prefix(5))) }
        var short = records(g)
        short[2].vector = [1, 2]
        #expect(throws: HNSWError.self) { try HNSWGraph(header: g.header, records: short) }
        let bytes = GraphCodec.encode(g.record(3))
        #expect(throws: HNSWError.self) { try GraphCodec.decode(Array(bytes.prefix(bytes.count - 3)), node: 3) }
        #expect(throws: HNSWError.self) { try GraphCodec.decode([], node: 3) }
        var version = bytes
        version[0] = 99
        #expect(throws: HNSWError.self) { try GraphCodec.decode(version, node: 3) }
        #expect(throws: HNSWError.self) { try GraphCodec.decodeHeader(Array("NGH1".utf8) + [1, 2]) }
        #expect(throws: HNSWError.self) { try GraphCodec.decodeHeader([]) }
        var h = g.header
        h.m = 0
        #expect(throws: HNSWError.self) { try HNSWGraph(header: h, records: records(g)) }
    }
}
