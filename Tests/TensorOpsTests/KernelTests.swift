import Foundation
import Testing
@testable import TensorOps

/// Deterministic pseudo-random values in [-scale, scale], so failures reproduce.
struct KernelRandom {
    var state: UInt64
    mutating func next(_ scale: Float = 1) -> Float {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return scale * (Float(state >> 40) / Float(1 << 24) * 2 - 1)
    }
    mutating func values(_ n: Int, _ scale: Float = 1) -> [Float] { (0..<n).map { _ in next(scale) } }
}

func worstDifference(_ a: [Float], _ b: [Double]) -> Double {
    zip(a, b).map { abs(Double($0) - $1) }.max() ?? 0
}

/// Each row-wise and element-wise kernel against a straightforward float64 reference of the
/// PyTorch definition, on random data.
@Suite struct KernelTests {
    @Test func layerNormMatchesReference() {
        var rng = KernelRandom(state: 1)
        let rows = 3, width = 37
        let x = rng.values(rows * width, 4), g = rng.values(width), b = rng.values(width)
        var got = x
        Kernels.layerNorm(&got, rows: rows, width: width, gamma: g, beta: b, eps: 1e-12)
        var ref = [Double]()
        for r in 0..<rows {
            let row = x[(r * width)..<((r + 1) * width)].map(Double.init)
            let mean = row.reduce(0, +) / Double(width)
            let variance = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(width)
            for i in 0..<width { ref.append((row[i] - mean) / (variance + 1e-12).squareRoot() * Double(g[i]) + Double(b[i])) }
        }
        #expect(worstDifference(got, ref) < 1e-5)
    }

    @Test func rmsNormMatchesReference() {
        var rng = KernelRandom(state: 2)
        let rows = 4, width = 24
        let x = rng.values(rows * width, 3), g = rng.values(width)
        var got = x
        Kernels.rmsNorm(&got, rows: rows, width: width, gamma: g, eps: 1e-6)
        var ref = [Double]()
        for r in 0..<rows {
            let row = x[(r * width)..<((r + 1) * width)].map(Double.init)
            let rms = (row.map { $0 * $0 }.reduce(0, +) / Double(width) + 1e-6).squareRoot()
            for i in 0..<width { ref.append(row[i] / rms * Double(g[i])) }
        }
        #expect(worstDifference(got, ref) < 1e-5)
    }

    @Test func geluUsesExactErf() {
        var rng = KernelRandom(state: 3)
        let x = rng.values(500, 6) + [-1, 0, 1, 3]
        var got = x
        Kernels.gelu(&got, count: got.count)
        let ref = x.map { v -> Double in let d = Double(v); return 0.5 * d * (1 + erf(d / 2.0.squareRoot())) }
        #expect(worstDifference(got, ref) < 1e-6)
        // PyTorch: gelu(-1) = -0.15865526, gelu(1) = 0.84134474 (tanh approximation gives -0.158808).
        #expect(abs(got[500] + 0.15865526) < 1e-6)
        #expect(abs(got[502] - 0.84134474) < 1e-6)
    }

    /// The vectorised erf must be as good as PyTorch's float32 `0.5·x·(1 + erf(x/√2))`: within
    /// one ulp of the exact result, plus the |x|·2⁻²⁴ that rounding erf near −1 costs any
    /// float32 evaluation of that formula in the negative tail.
    @Test func geluIsWithinOneUlpOfExact() {
        let x = (0..<40_001).map { Float(-10 + Double($0) * 0.0005) } + [0, -0, 1e-30, -1e-30, 100, -100]
        for kernel in [0, 1, 2] {  // portable, AVX2, AVX-512 (each capped to what the CPU has)
            var got = x
            Kernels.gelu(&got, count: got.count, kernel: kernel)
            for (v, g) in zip(x, got) {
                let d = Double(v)
                let exact = Float(0.5 * d * (1 + erf(d / 2.0.squareRoot())))
                #expect(abs(g - exact) <= exact.ulp + abs(v) * 0x1p-24, "kernel \(kernel): gelu(\(v)) = \(g), exact \(exact)")
            }
        }
    }

    @Test func siluAndSwiGLUMatchReference() {
        var rng = KernelRandom(state: 4)
        let gate = rng.values(300, 8), up = rng.values(300, 2)
        var s = gate
        Kernels.silu(&s, count: s.count)
        let siluRef = gate.map { v -> Double in let d = Double(v); return d / (1 + exp(-d)) }
        #expect(worstDifference(s, siluRef) < 1e-5)
        var g = gate
        Kernels.swiglu(gate: &g, up: up, count: g.count)
        #expect(worstDifference(g, zip(siluRef, up).map { $0 * Double($1) }) < 1e-5)
    }

    @Test func softmaxMatchesReferenceAndIsStable() {
        var rng = KernelRandom(state: 5)
        for (count, scale) in [(1, Float(1)), (7, 1), (130, 30), (3, 1000)] {
            let x = rng.values(count, scale).map { $0 + (scale == 1000 ? 1000 : 0) }
            var got = x
            Kernels.softmax(&got, count: count)
            let m = x.map(Double.init).max() ?? 0
            let e = x.map { exp(Double($0) - m) }
            let sum = e.reduce(0, +)
            #expect(worstDifference(got, e.map { $0 / sum }) < 1e-6, "count \(count)")
            #expect(got.allSatisfy { $0.isFinite })
        }
    }

    /// Hugging Face `apply_rotary_pos_emb`: x·cos + rotate_half(x)·sin, where rotate_half(x) =
    /// (−x₂, x₁) for the two halves and the angles repeat for both halves.
    @Test(arguments: [Float(10_000), 1_000_000])
    func ropeMatchesRotateHalfReference(theta: Float) {
        var rng = KernelRandom(state: 6)
        let rows = 5, heads = 3, headDim = 8, half = headDim / 2
        let x = rng.values(rows * heads * headDim)
        let positions: [Int32] = [0, 1, 7, 100, 4095]
        let inverse = (0..<half).map { 1 / powf(theta, Float(2 * $0) / Float(headDim)) }
        var got = x
        Kernels.rope(&got, rows: rows, heads: heads, headDim: headDim, positions: positions, inverseFrequencies: inverse)
        var ref = [Double](repeating: 0, count: x.count)
        for r in 0..<rows {
            for h in 0..<heads {
                let base = (r * heads + h) * headDim
                for i in 0..<headDim {
                    let f = 1 / pow(Double(theta), Double(2 * (i % half)) / Double(headDim))
                    let angle = Double(positions[r]) * f
                    let rotated = i < half ? -Double(x[base + i + half]) : Double(x[base + i - half])
                    ref[base + i] = Double(x[base + i]) * cos(angle) + rotated * sin(angle)
                }
            }
        }
        #expect(worstDifference(got, ref) < 2e-3)  // float32 angles at position 4095 lose ~1e-4 rad
        #expect(worstDifference(Array(got.prefix(4 * heads * headDim)), Array(ref.prefix(4 * heads * headDim))) < 1e-5)
    }

    @Test func addAndAddBias() {
        var x: [Float] = [1, 2, 3, 4, 5, 6]
        Kernels.addBias(&x, rows: 2, width: 3, bias: [10, 20, 30])
        #expect(x == [11, 22, 33, 14, 25, 36])
        Kernels.add(&x, [1, 1, 1, 1, 1, 1], count: 6)
        #expect(x == [12, 23, 34, 15, 26, 37])
    }
}
