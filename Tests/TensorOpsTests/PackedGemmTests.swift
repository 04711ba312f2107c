import Testing
@testable import TensorOps

@Suite struct PackedGemmTests {
    typealias LCG = GemmTests.LCG

    /// x · Wᵀ + b in double precision.
    func reference(_ x: [Float], _ w: [Float], _ b: [Float]?, m: Int, n: Int, k: Int) -> [Double] {
        var y = [Double](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                var s = Double(b?[j] ?? 0)
                for p in 0..<k { s += Double(x[i * k + p]) * Double(w[j * k + p]) }
                y[i * n + j] = s
            }
        }
        return y
    }

    func run(_ w: PackedMatrix, _ x: [Float], _ b: [Float]?, m: Int, gelu: Bool = false, threads: Int = 1, kernel: Int = 2) -> [Float] {
        var y = [Float](repeating: .nan, count: m * w.rows)
        x.withUnsafeBufferPointer { xb in
            y.withUnsafeMutableBufferPointer { yb in
                func go(_ bias: UnsafePointer<Float>?) {
                    w.multiply(xb.baseAddress!, rows: m, into: yb.baseAddress!, bias: bias, gelu: gelu, threads: threads, kernel: kernel)
                }
                if let b { b.withUnsafeBufferPointer { go($0.baseAddress) } } else { go(nil) }
            }
        }
        return y
    }

    /// Shapes cover partial panels (n not a multiple of 16), every tile height 1-6, row counts
    /// past one L2 chunk (at k = 1536 a chunk is 20-85 rows, by the L2 size; at k = 3, 768 rows) and the engine's real layer shapes.
    @Test(arguments: [(1, 1, 1), (1, 16, 8), (2, 17, 3), (5, 33, 7), (7, 40, 64), (12, 48, 5), (14, 1152, 384), (13, 384, 1536),
                      (70, 100, 1536), (200, 48, 384), (1000, 20, 3)])
    func kernelsMatchTheReference(_ shape: (Int, Int, Int)) {
        let (m, n, k) = shape
        var rng = LCG(s: UInt64(m * 131 + n * 17 + k))
        let x = (0..<(m * k)).map { _ in rng.next() }, w = (0..<(n * k)).map { _ in rng.next() }, b = (0..<n).map { _ in rng.next() }
        let packed = PackedMatrix(w, rows: n, columns: k)
        let exact = reference(x, w, b, m: m, n: n, k: k)
        for kernel in [0, 1, 2] {  // on a CPU without AVX-512 (or AVX2), 2 (or 1) runs the best it has
            let y = run(packed, x, b, m: m, kernel: kernel)
            let worst = zip(y, exact).map { abs(Double($0) - $1) }.max() ?? 0
            #expect(worst <= 1e-5 * Double(k), "m=\(m) n=\(n) k=\(k) kernel=\(kernel): max |Δ| \(worst)")
        }
        let plain = run(packed, x, nil, m: m)
        let unbiased = reference(x, w, nil, m: m, n: n, k: k)
        #expect(zip(plain, unbiased).allSatisfy { abs(Double($0) - $1) <= 1e-5 * Double(k) }, "without bias")
    }

    /// Splitting the panels across threads runs the same kernel on the same columns, so the
    /// bits are identical; GELU is applied to every column exactly once.
    @Test func splittingAcrossThreadsIsBitIdentical() {
        let (m, n, k) = (14, 1536, 384)
        var rng = LCG(s: 9)
        let x = (0..<(m * k)).map { _ in rng.next() }, w = (0..<(n * k)).map { _ in rng.next() }, b = (0..<n).map { _ in rng.next() }
        let packed = PackedMatrix(w, rows: n, columns: k)
        for gelu in [false, true] {
            let one = run(packed, x, b, m: m, gelu: gelu), two = run(packed, x, b, m: m, gelu: gelu, threads: 2)
            #expect(one == two, "gelu=\(gelu)")
        }
        var expected = run(packed, x, b, m: m)
        Kernels.gelu(&expected, count: expected.count)
        #expect(run(packed, x, b, m: m, gelu: true, threads: 2) == expected)
    }
}
