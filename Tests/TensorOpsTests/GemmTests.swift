import Testing
@testable import TensorOps

@Suite struct GemmTests {
    /// A fixed pseudo-random source so failures reproduce.
    struct LCG { var s: UInt64; mutating func next() -> Float { s = s &* 6364136223846793005 &+ 1442695040888963407; return Float(Int64(bitPattern: s >> 11) % 2000 - 1000) / 1000 } }

    @Test(arguments: [(1, 1, 1), (3, 5, 7), (33, 40, 64), (128, 96, 384), (64, 1536, 384)])
    func matchesNaiveReference(shape: (Int, Int, Int)) {
        let (m, n, k) = shape
        var rng = LCG(s: UInt64(m * 31 + n * 7 + k))
        let a = (0..<(m * k)).map { _ in rng.next() }
        for transposeB in [false, true] {
            let b = (0..<(k * n)).map { _ in rng.next() }
            var fast = [Float](repeating: 0, count: m * n)
            var ref = fast
            Gemm.multiply(m: m, n: n, k: k, a: a, b: b, transposeB: transposeB, c: &fast)
            Gemm.naive(m: m, n: n, k: k, a: a, lda: k, b: b, ldb: transposeB ? k : n,
                       transposeB: transposeB, c: &ref, ldc: n)
            let worst = zip(fast, ref).map { abs($0 - $1) }.max() ?? 0
            #expect(worst <= 1e-4 * Float(k).squareRoot(), "m=\(m) n=\(n) k=\(k) transposeB=\(transposeB)")
        }
    }

    @Test(arguments: [false, true])
    func splittingAcrossThreadsGivesTheSameResult(transposeB: Bool) {
        let (m, n, k) = (14, 1536, 384)
        var rng = LCG(s: 7)
        let a = (0..<(m * k)).map { _ in rng.next() }
        let b = (0..<(k * n)).map { _ in rng.next() }
        var one = [Float](repeating: 0, count: m * n), two = one
        Gemm.multiply(m: m, n: n, k: k, a: a, b: b, transposeB: transposeB, c: &one)
        Gemm.multiply(m: m, n: n, k: k, a: a, b: b, transposeB: transposeB, c: &two, threads: 2)
        let worst = zip(one, two).map { abs($0 - $1) }.max() ?? 0
        #expect(worst <= 1e-4, "max |Δ| \(worst)")  // BLAS blocks a narrower product differently
    }

    @Test func betaAccumulates() {
        let a: [Float] = [1, 2, 3, 4]        // 2×2
        let b: [Float] = [1, 0, 0, 1]        // identity
        var c: [Float] = [10, 10, 10, 10]
        Gemm.multiply(m: 2, n: 2, k: 2, a: a, b: b, transposeB: false, c: &c, beta: 1)
        #expect(c == [11, 12, 13, 14])
    }
}
