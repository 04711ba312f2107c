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
        #expect(g.verify() == nil)
        let c = g.compacted()
        #expect(c.count == g.count && c.nodeCount == g.count && c.verify() == nil)
        #expect(c.search(vs[2], k: 2, ef: 50).map(\.label).sorted() == [1, 2])
    }

    @Test func snapshotRoundTripIsExact() throws {
        var g = HNSWGraph(dimension: 8, metric: .l2, m: 8, efConstruction: 50, seed: 11)
        for (i, v) in randomVectors(500, dim: 8, seed: 4).enumerated() { g.insert(v, label: UInt64(i * 7)) }
        g.remove(14)
        let bytes = g.serialized()
        let back = try HNSWGraph(deserializing: bytes)
        #expect(back.serialized() == bytes)
        for q in randomVectors(20, dim: 8, seed: 5) {
            #expect(back.search(q, k: 5, ef: 40).map(\.label) == g.search(q, k: 5, ef: 40).map(\.label))
        }
        // Inserting after a round trip continues the same random sequence.
        var a = g, b = back
        a.insert([1, 2, 3, 4, 5, 6, 7, 8], label: 99_999)
        b.insert([1, 2, 3, 4, 5, 6, 7, 8], label: 99_999)
        #expect(a.serialized() == b.serialized())
    }

    @Test func corruptSnapshotsAreErrors() {
        var g = HNSWGraph(dimension: 4, seed: 1)
        for i in 0..<50 { g.insert([Float(i), 1, 2, 3], label: UInt64(i)) }
        let bytes = g.serialized()
        #expect(throws: HNSWError.self) { try HNSWGraph(deserializing: Array(bytes.prefix(bytes.count / 2))) }
        #expect(throws: HNSWError.self) { try HNSWGraph(deserializing: []) }
        var flipped = bytes
        flipped[40] ^= 0x5A
        #expect(throws: HNSWError.self) { try HNSWGraph(deserializing: flipped) }
    }

    @Test func sameSeedSameBytes() {
        func build() -> [UInt8] {
            var g = HNSWGraph(dimension: 16, seed: 123)
            for (i, v) in randomVectors(1000, dim: 16, seed: 8).enumerated() { g.insert(v, label: UInt64(i)) }
            return g.serialized()
        }
        #expect(build() == build())
    }
}

@Suite struct NodeRecordTests {
    @Test func restoringFromRecordsGivesTheSameGraph() throws {
        var g = HNSWGraph(dimension: 16, seed: 21)
        let vs = randomVectors(800, dim: 16, seed: 22)
        for (i, v) in vs.enumerated() { g.insert(v, label: UInt64(i + 1000)) }
        g.remove(1005)
        let dirty = g.takeDirtyNodes()
        #expect(dirty.count == 800)
        #expect(g.takeDirtyNodes().isEmpty)
        let records = (0..<Int32(g.nodeCount)).map { g.record($0) }.shuffled()
        let coded = try records.map { r in
            NodeRecord(node: r.node, label: r.label, level: r.level, deleted: r.deleted,
                       links: try NodeRecord.decodeLinks(r.encodedLinks, levels: r.level))
        }
        let back = try HNSWGraph(header: g.header, records: coded, vectors: g.vectors)
        #expect(back.serialized() == g.serialized())
    }

    @Test func insertsMarkOnlyTheNodesTheyTouched() {
        var g = HNSWGraph(dimension: 16, seed: 23)
        for (i, v) in randomVectors(500, dim: 16, seed: 24).enumerated() { g.insert(v, label: UInt64(i)) }
        _ = g.takeDirtyNodes()
        g.insert(randomVectors(1, dim: 16, seed: 25)[0], label: 9999)
        let dirty = g.takeDirtyNodes()
        #expect(dirty.contains(500) && dirty.count <= 1 + 2 * 16 + 16 * 4)
    }

    @Test func badRecordsAreErrors() {
        var g = HNSWGraph(dimension: 4, seed: 1)
        for i in 0..<20 { g.insert([Float(i), 1, 0, 2], label: UInt64(i)) }
        var records = (0..<Int32(20)).map { g.record($0) }
        records[3].links[0] = [99]
        #expect(throws: HNSWError.self) { try HNSWGraph(header: g.header, records: records, vectors: g.vectors) }
        #expect(throws: HNSWError.self) { try HNSWGraph(header: g.header, records: Array(records.prefix(5)), vectors: g.vectors) }
        #expect(throws: HNSWError.self) { try NodeRecord.decodeLinks([1, 0, 0, 0], levels: 0) }
    }
}
