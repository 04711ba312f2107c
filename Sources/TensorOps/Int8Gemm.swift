import CInt8
import Dispatch

/// A weight matrix quantised to int8 per output channel, packed for the int8 kernels
/// (`CInt8`): y = x · Wᵀ (+ b) with x quantised per row to uint8 on the fly and exact int32
/// accumulation, then scaled back to floats in the kernel's epilogue.
///
/// Why int8: a short query's forward pass is bound by streaming the weights from memory, and
/// int8 weights are a quarter of the bytes; on CPUs with AVX-VNNI one instruction also does 32
/// multiply-adds where an fp32 FMA does 8. Every kernel returns the same bits, so results do not
/// depend on the CPU's instruction set.
public struct Int8Matrix: Sendable {
    public let rows: Int  // n: output channels
    public let columns: Int  // k: inputs
    let packed: [Int8]
    let scales: [Float]
    let sums: [Int32]

    /// Quantises W (rows × columns, row-major floats, PyTorch `Linear` layout).
    public init(_ w: [Float], rows n: Int, columns k: Int) {
        precondition(n > 0 && k > 0 && w.count == n * k, "Int8Matrix: \(w.count) values for \(n) × \(k)")
        rows = n
        columns = k
        var packed = [Int8](repeating: 0, count: nestor_q8_packed_bytes(Int32(n), Int32(k)))
        let padded = (n + 7) / 8 * 8
        var scales = [Float](repeating: 1, count: padded), sums = [Int32](repeating: 0, count: padded)
        w.withUnsafeBufferPointer { wb in
            nestor_q8_quantize_weights(wb.baseAddress!, Int32(n), Int32(k), &packed, &scales, &sums)  // safe: non-empty
        }
        self.packed = packed
        self.scales = scales
        self.sums = sums
    }

    private init(rows: Int, columns: Int, packed: [Int8], scales: [Float], sums: [Int32]) {
        self.rows = rows
        self.columns = columns
        self.packed = packed
        self.scales = scales
        self.sums = sums
    }

    /// Matrices over the same inputs stacked by output channel (Q, K and V; gate and up).
    /// Channels are packed in blocks of 8, so parts whose row counts are multiples of 8 stack
    /// by concatenation; nil otherwise.
    public static func stacking(_ parts: [Int8Matrix]) -> Int8Matrix? {
        guard let k = parts.first?.columns, parts.allSatisfy({ $0.columns == k && $0.rows % 8 == 0 }) else { return nil }
        return Int8Matrix(rows: parts.reduce(0) { $0 + $1.rows }, columns: k, packed: parts.flatMap(\.packed),
                          scales: parts.flatMap(\.scales), sums: parts.flatMap(\.sums))
    }

    /// Which kernel this CPU runs: "avx512-vnni", "avx-vnni", "avx2" or "portable".
    public static var kernel: String { ["portable", "avx2", "avx-vnni", "avx512-vnni"][Int(nestor_q8_kernel())] }

    /// y (m × rows, row stride ldy) = x (m × columns) · Wᵀ + bias, then GELU when `gelu`.
    /// `threads` > 1 splits the output channels (in groups of 32) across that many threads for a
    /// lone large product, each finishing its own columns;
    /// `kernel` forces a slower kernel (tests): 0 portable, 1 AVX2, 2 AVX-VNNI, 3 the best available.
    public func multiply(_ x: UnsafePointer<Float>, rows m: Int, into y: UnsafeMutablePointer<Float>, ldy: Int? = nil,
                         bias: UnsafePointer<Float>? = nil, gelu: Bool = false, threads: Int = 1, kernel: Int = 3) {
        guard m > 0 else { return }
        let k = columns, n = rows, ldy = ldy ?? n
        let kp = Int(nestor_q8_kpad(Int32(k)))
        var q = [UInt8](repeating: 0, count: m * kp)
        var xs = [Float](repeating: 0, count: m), zero = [Int32](repeating: 0, count: m)
        nestor_q8_quantize_rows(x, Int32(m), Int32(k), Int32(k), &q, &xs, &zero)
        q.withUnsafeBufferPointer { qb in
            xs.withUnsafeBufferPointer { xb in
                zero.withUnsafeBufferPointer { zb in
                    packed.withUnsafeBufferPointer { pb in
                        scales.withUnsafeBufferPointer { sb in
                            sums.withUnsafeBufferPointer { ub in
                                // Shares of whole groups of 4 blocks: the AVX-512 tiles take 32 channels at a time.
                                Parallel.columns(n, unit: 32, threads: threads, work: m * n * k) { cols in
                                    nestor_q8_gemm(Int32(m), Int32(n), Int32(k), qb.baseAddress!, xb.baseAddress!, zb.baseAddress!,
                                                   pb.baseAddress!, sb.baseAddress!, ub.baseAddress!, bias, y, Int32(ldy),
                                                   Int32(cols.lowerBound), Int32(cols.upperBound), Int32(kernel))  // safe: all non-empty
                                    if gelu { for r in 0..<m { Kernels.gelu(y + r * ldy + cols.lowerBound, count: cols.count) } }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
