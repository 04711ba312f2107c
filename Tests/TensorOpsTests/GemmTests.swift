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

@Suite struct KernelTests {
    @Test func layerNormMatchesDefinition() {
        var x: [Float] = [1, 2, 3, 4, -1, 0, 1, 2]
        let g: [Float] = [1, 2, 1, 1], b: [Float] = [0, 0, 1, 0]
        Kernels.layerNorm(&x, rows: 2, width: 4, gamma: g, beta: b, eps: 1e-5)
        let mean: Float = 2.5, sd = (1.25 + 1e-5 as Float).squareRoot()  // variance of 1…4 is 1.25
        #expect(abs(x[0] - (1 - mean) / sd) < 1e-5)
        #expect(abs(x[1] - 2 * (2 - mean) / sd) < 1e-5)
        #expect(abs(x[2] - ((3 - mean) / sd + 1)) < 1e-5)
    }

    @Test func softmaxSumsToOneAndIsStable() {
        var x: [Float] = [1000, 1001, 999]
        Kernels.softmax(&x, count: 3)
        #expect(abs(x.reduce(0, +) - 1) < 1e-6)
        #expect(x[1] > x[0] && x[0] > x[2])
    }

    @Test func geluUsesExactErf() {
        var x: [Float] = [-1, 0, 1, 3]
        Kernels.gelu(&x, count: 4)
        // PyTorch: gelu(-1) = -0.15865526, gelu(1) = 0.84134474, gelu(3) = 2.99595031
        #expect(abs(x[0] + 0.15865526) < 1e-6)
        #expect(x[1] == 0)
        #expect(abs(x[2] - 0.84134474) < 1e-6)
        #expect(abs(x[3] - 2.99595031) < 1e-5)
    }

    @Test func ropeRotatesHalves() {
        var x: [Float] = [1, 0, 0, 1]  // one head of dim 4: pairs (0,2) and (1,3)
        let pos: [Int32] = [1]
        let inv: [Float] = [Float.pi / 2, 0]
        Kernels.rope(&x, rows: 1, heads: 1, headDim: 4, positions: pos, inverseFrequencies: inv)
        #expect(abs(x[0]) < 1e-6 && abs(x[2] - 1) < 1e-6)  // (1,0) rotated by 90°
        #expect(abs(x[1]) < 1e-6 && abs(x[3] - 1) < 1e-6)  // angle 0 leaves (0,1)
    }
}
