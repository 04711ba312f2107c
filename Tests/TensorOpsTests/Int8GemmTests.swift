import Testing
@testable import TensorOps

/// The int8 product against an fp32 reference: every kernel returns the same bits, the error
/// is that of 8-bit rounding, and splits and stacking change nothing.
@Suite struct Int8GemmTests {
    struct Rng {
        var s: UInt64
        mutating func next() -> Float {
            s = s &* 6364136223846793005 &+ 1442695040888963407
            return Float(s >> 40) / Float(1 << 24) - 0.5
        }
    }

    func case_(_ m: Int, _ n: Int, _ k: Int, seed: UInt64 = 1) -> (x: [Float], w: [Float], b: [Float]) {
        var r = Rng(s: seed)
        return ((0..<(m * k)).map { _ in r.next() * 4 + 0.7 }, (0..<(n * k)).map { _ in r.next() * 0.2 }, (0..<n).map { _ in r.next() })
    }

    func reference(_ x: [Float], _ w: [Float], _ b: [Float], m: Int, n: Int, k: Int) -> [Float] {
        var y = [Float](repeating: 0, count: m * n)
        for i in 0..<m { for j in 0..<n {
            var s = Double(b[j])
            for t in 0..<k { s += Double(x[i * k + t]) * Double(w[j * k + t]) }
            y[i * n + j] = Float(s)
        } }
        return y
    }

    func run(_ q: Int8Matrix, _ x: [Float], _ b: [Float]?, m: Int, threads: Int = 1, kernel: Int = 3) -> [Float] {
        var y = [Float](repeating: .nan, count: m * q.rows)
        x.withUnsafeBufferPointer { xb in
            y.withUnsafeMutableBufferPointer { yb in
                if let b { b.withUnsafeBufferPointer { q.multiply(xb.baseAddress!, rows: m, into: yb.baseAddress!, bias: $0.baseAddress!, threads: threads, kernel: kernel) } }
                else { q.multiply(xb.baseAddress!, rows: m, into: yb.baseAddress!, threads: threads, kernel: kernel) }
            }
        }
        return y
    }

    @Test(arguments: [(1, 8, 4), (3, 13, 7), (5, 20, 33), (12, 384, 384), (7, 96, 1536), (33, 1152, 64), (14, 40, 384), (700, 64, 20)])
    func kernelsAgreeAndStayClose(_ shape: (Int, Int, Int)) {
        let (m, n, k) = shape
        let (x, w, b) = case_(m, n, k)
        let q = Int8Matrix(w, rows: n, columns: k)
        let best = run(q, x, b, m: m)
        #expect(best == run(q, x, b, m: m, kernel: 2))
        #expect(best == run(q, x, b, m: m, kernel: 1))
        #expect(best == run(q, x, b, m: m, kernel: 0))
        #expect(best == run(q, x, b, m: m, threads: 2))
        let ref = reference(x, w, b, m: m, n: n, k: k)
        let err = zip(best, ref).reduce(0.0) { $0 + Double(($1.0 - $1.1) * ($1.0 - $1.1)) }
        let norm = ref.reduce(0.0) { $0 + Double($1 * $1) }
        #expect((err / norm).squareRoot() < 0.02, "relative error \((err / norm).squareRoot())")
        // Without a bias the outputs are the same less the bias.
        let plain = run(q, x, nil, m: m)
        #expect(zip(plain, best).enumerated().allSatisfy { i, p in abs(p.0 + b[i % n] - p.1) <= 1e-5 * max(1, abs(p.1)) })
    }

    @Test func stackingEqualsQuantisingTheConcatenation() {
        let (x, w1, _) = case_(4, 16, 40, seed: 2)
        let (_, w2, _) = case_(4, 24, 40, seed: 3)
        let stacked = Int8Matrix.stacking([Int8Matrix(w1, rows: 16, columns: 40), Int8Matrix(w2, rows: 24, columns: 40)])
        let whole = Int8Matrix(w1 + w2, rows: 40, columns: 40)
        #expect(stacked.map { run($0, x, nil, m: 4) } == run(whole, x, nil, m: 4))
        #expect(Int8Matrix.stacking([Int8Matrix(w1, rows: 4, columns: 160)]) == nil)  // 4 rows: not a whole block
    }

    @Test func constantAndZeroRows() {
        // A zero weight row, a zero input row and a constant input row are handled exactly.
        var w = [Float](repeating: 0.5, count: 3 * 8)
        for t in 0..<8 { w[t] = 0 }
        let x: [Float] = Array(repeating: 0, count: 8) + Array(repeating: 2, count: 8)
        let y = run(Int8Matrix(w, rows: 3, columns: 8), x, nil, m: 2)
        #expect(y == [0, 0, 0, 0, 8, 8])
    }
}
