import CFloatGemm
import Dispatch

/// A weight matrix repacked once at load time into 16-channel panels for the fp32 kernel
/// (`CFloatGemm`): y = x · Wᵀ (+ b) for every batch size, from a lone query to thousands of rows.
///
/// Why not BLAS: every `sgemm` call copies W into BLAS's own packed layout first, so a short
/// query reads the weights twice, and the row-major dot-product loop it replaced fed each weight
/// load into only four rows. Packing at load replaces the row-major copy (no extra memory), and
/// the panel kernel keeps a 6 × 16 tile in registers, so batches run at the FMA units' rate too.
public struct PackedMatrix: Sendable {
    public let rows: Int  // n: output channels
    public let columns: Int  // k: inputs
    let packed: [Float]

    /// Packs W (rows × columns, row-major floats, PyTorch `Linear` layout).
    public init(_ w: [Float], rows n: Int, columns k: Int) {
        precondition(n > 0 && k > 0 && w.count == n * k, "PackedMatrix: \(w.count) values for \(n) × \(k)")
        rows = n
        columns = k
        var packed = [Float](repeating: 0, count: nestor_f32_packed_count(Int32(n), Int32(k)))
        w.withUnsafeBufferPointer { nestor_f32_pack($0.baseAddress!, Int32(n), Int32(k), &packed) }  // safe: non-empty
        self.packed = packed
    }

    /// Which kernel this CPU runs: "avx-512", "avx2" or "portable".
    public static var kernel: String { ["portable", "avx2", "avx-512"][Int(nestor_f32_kernel())] }

    /// y (m × rows, row stride ldy) = x (m × columns, row stride ldx) · Wᵀ + bias, then GELU when
    /// `gelu`. `threads` > 1 splits the panels across that many threads for a lone large product
    /// (each finishes its own columns while they are in cache); `kernel` caps the kernel (tests):
    /// 0 portable, 1 AVX2, 2 the best available.
    public func multiply(_ x: UnsafePointer<Float>, rows m: Int, ldx: Int? = nil, into y: UnsafeMutablePointer<Float>,
                         ldy: Int? = nil, bias: UnsafePointer<Float>? = nil, gelu: Bool = false, threads: Int = 1,
                         kernel: Int = 2) {
        guard m > 0 else { return }
        let n = rows, k = columns, ldx = ldx ?? k, ldy = ldy ?? n
        packed.withUnsafeBufferPointer { pb in
            let o = PackedOperands(x: x, packed: pb.baseAddress!, bias: bias, y: y)  // safe: non-empty
            @Sendable func run(_ j0: Int, _ j1: Int) {
                nestor_f32_gemm(Int32(m), Int32(n), Int32(k), o.x, Int32(ldx), o.packed, o.bias, o.y, Int32(ldy),
                                Int32(j0), Int32(j1), Int32(kernel))
                if gelu { for r in 0..<m { Kernels.gelu(o.y + r * ldy + j0, count: j1 - j0) } }
            }
            // Split in pairs of panels: the AVX-512 tiles take two at a time.
            let pairs = (n + 31) / 32
            if threads > 1, pairs >= 2 * threads, m * n * k >= 4 * Gemm.blasThreshold {
                let per = (pairs + threads - 1) / threads * 2
                Parallel.run(threads) { t in
                    let j0 = t * per * 16, j1 = min(n, (t + 1) * per * 16)
                    if j0 < j1 { run(j0, j1) }
                }
            } else {
                run(0, n)
            }
        }
    }
}

/// The operands of one split product. @unchecked: every thread reads x, the panels and the bias
/// and writes its own disjoint panels of output columns, and `Parallel.run` returns only
/// after all of them finish.
private struct PackedOperands: @unchecked Sendable {
    let x: UnsafePointer<Float>
    let packed: UnsafePointer<Float>
    let bias: UnsafePointer<Float>?
    let y: UnsafeMutablePointer<Float>
}
