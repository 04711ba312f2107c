/// Scaled dot-product attention over one sequence, every head, with matrix products from
/// `Gemm` (BLAS once a head is big enough, SIMD loops below that).
///
/// Works on one unpadded sequence at a time: callers pack a batch's sequences back to back
/// and call this per sequence, so padding needs no mask and costs nothing, and a text's result
/// does not depend on its batch. A left-padded causal batch (Qwen3 in sentence-transformers)
/// gives the same values for the real tokens, because masked pads receive zero weight.
public enum Attention {
    /// `out[t, h·headDim ..< (h+1)·headDim] = softmax(q_h[t] · K_hᵀ / √headDim) · V_h` for the
    /// `length` rows starting at `q`, `k`, `v`, `out` (row strides given). Query head `h` reads
    /// key/value head `h / (heads / kvHeads)` (grouped-query attention). With `causal`, row t
    /// attends to rows 0...t only.
    ///
    /// `scores` must hold at least `length · length` floats; it is scratch, overwritten.
    public static func sequence(
        length: Int, heads: Int, kvHeads: Int, headDim: Int, causal: Bool,
        q: UnsafePointer<Float>, qStride: Int, k: UnsafePointer<Float>, kStride: Int,
        v: UnsafePointer<Float>, vStride: Int, out: UnsafeMutablePointer<Float>, outStride: Int,
        scores: UnsafeMutablePointer<Float>
    ) {
        guard length > 0, heads > 0, kvHeads > 0, headDim > 0 else { return }
        let scale = 1 / Float(headDim).squareRoot()
        let group = max(1, heads / kvHeads)
        for h in 0..<heads {
            let kvh = min(h / group, kvHeads - 1)
            let qh = q + h * headDim
            let kh = k + kvh * headDim
            let vh = v + kvh * headDim
            Gemm.multiply(m: length, n: length, k: headDim, a: qh, lda: qStride, b: kh, ldb: kStride,
                          transposeB: true, c: scores, ldc: length, alpha: scale)
            for i in 0..<length {
                let row = scores + i * length
                if causal {
                    Kernels.softmax(row, count: i + 1)
                    for j in (i + 1)..<max(i + 1, length) { row[j] = 0 }
                } else {
                    Kernels.softmax(row, count: length)
                }
            }
            Gemm.multiply(m: length, n: headDim, k: length, a: scores, lda: length, b: vh, ldb: vStride,
                          transposeB: false, c: out + h * headDim, ldc: outStride)
        }
    }
}
