import Foundation
import Testing
@testable import TensorOps

/// `Attention.sequence` against a float64 loop of softmax(q·kᵀ/√d)·v, with fused QKV rows
/// (strides), grouped-query heads, causal masking, and sizes on both sides of the BLAS cut-off.
@Suite struct AttentionTests {
    struct Shape: Sendable, CustomStringConvertible {
        var length: Int, heads: Int, kvHeads: Int, headDim: Int, causal: Bool
        var description: String { "L\(length) h\(heads)/\(kvHeads) d\(headDim)\(causal ? " causal" : "")" }
    }

    static let shapes = [
        Shape(length: 1, heads: 2, kvHeads: 2, headDim: 4, causal: false),
        Shape(length: 5, heads: 4, kvHeads: 4, headDim: 8, causal: false),
        Shape(length: 6, heads: 4, kvHeads: 2, headDim: 8, causal: true),
        Shape(length: 70, heads: 2, kvHeads: 1, headDim: 64, causal: true),   // BLAS path
        Shape(length: 70, heads: 2, kvHeads: 2, headDim: 64, causal: false),  // BLAS path
    ]

    @Test(arguments: shapes)
    func matchesReference(shape s: Shape) {
        var rng = KernelRandom(state: UInt64(s.length * 131 + s.heads * 7 + s.headDim))
        let qDim = s.heads * s.headDim, kvDim = s.kvHeads * s.headDim, width = qDim + 2 * kvDim
        let fused = rng.values(s.length * width, 2)  // rows of [q | k | v], like a fused projection
        var out = [Float](repeating: .nan, count: s.length * qDim)
        var scores = [Float](repeating: 0, count: s.length * s.length)
        fused.withUnsafeBufferPointer { f in
            let base = f.baseAddress!
            Attention.sequence(
                length: s.length, heads: s.heads, kvHeads: s.kvHeads, headDim: s.headDim, causal: s.causal,
                q: base, qStride: width, k: base + qDim, kStride: width, v: base + qDim + kvDim, vStride: width,
                out: &out, outStride: qDim, scores: &scores)
        }
        var ref = [Double](repeating: 0, count: out.count)
        let group = s.heads / s.kvHeads
        for h in 0..<s.heads {
            let kvh = h / group
            for i in 0..<s.length {
                let visible = s.causal ? i + 1 : s.length
                var logits = [Double]()
                for j in 0..<visible {
                    var dot = 0.0
                    for d in 0..<s.headDim {
                        dot += Double(fused[i * width + h * s.headDim + d]) * Double(fused[j * width + qDim + kvh * s.headDim + d])
                    }
                    logits.append(dot / Double(s.headDim).squareRoot())
                }
                let m = logits.max() ?? 0
                let e = logits.map { exp($0 - m) }
                let sum = e.reduce(0, +)
                for d in 0..<s.headDim {
                    var acc = 0.0
                    for j in 0..<visible { acc += e[j] / sum * Double(fused[j * width + qDim + kvDim + kvh * s.headDim + d]) }
                    ref[i * qDim + h * s.headDim + d] = acc
                }
            }
        }
        #expect(worstDifference(out, ref) < 1e-5, "\(s)")
    }
}
