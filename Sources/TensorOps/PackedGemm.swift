import CFloatGemm

/// A weight matrix repacked once at load time into 16-channel panels for the fp32 kernel
/// (`CFloatGemm`): y = x · Wᵀ (+ b) for every batch size, from a lone query to thousands of rows.
///
/// Why not BLAS: every `sgemm` call copies W into BLAS's own packed layout first, so a short
/// query reads the weights twice, and the row-major dot-product loop it replaced fed each weight
/// load into only four rows. Packing at load replaces the row-major copy (no extra memory), and
/// the panel kernel keeps a 12 × 32 (AVX-512) or 6 × 16 (AVX2) tile in registers, so batches run
/// at the FMA units' rate too.
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
            let w = pb.baseAddress!  // safe: non-empty
            // Shares of whole panel pairs: the AVX-512 tiles take two panels (32 columns) at a time.
            Parallel.columns(n, unit: 32, threads: threads, work: m * n * k) { cols in
                nestor_f32_gemm(Int32(m), Int32(n), Int32(k), x, Int32(ldx), w, bias, y, Int32(ldy),
                                Int32(cols.lowerBound), Int32(cols.upperBound), Int32(kernel))
                if gelu { for r in 0..<m { Kernels.gelu(y + r * ldy + cols.lowerBound, count: cols.count) } }
            }
        }
    }
}
