import COpenBLAS

/// Row-major single-precision matrix products.
///
/// Large products go to OpenBLAS; tiny ones (any dimension under `blasThreshold`, as ggml does)
/// use a plain loop, because BLAS call overhead dominates there.
public enum Gemm {
    public static let blasThreshold = 32

    /// C[m×n] = alpha · A[m×k] · op(B) + beta · C, where op(B) is B[k×n], or Bᵀ for B[n×k]
    /// when `transposeB` (the layout of PyTorch `Linear` weights).
    public static func multiply(
        m: Int, n: Int, k: Int,
        a: UnsafePointer<Float>, lda: Int? = nil,
        b: UnsafePointer<Float>, ldb: Int? = nil, transposeB: Bool,
        c: UnsafeMutablePointer<Float>, ldc: Int? = nil,
        alpha: Float = 1, beta: Float = 0
    ) {
        let lda = lda ?? k
        let ldb = ldb ?? (transposeB ? k : n)
        let ldc = ldc ?? n
        if m == 0 || n == 0 { return }
        if m >= blasThreshold && n >= blasThreshold && k >= blasThreshold {
            cblas_sgemm(
                CblasRowMajor, CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
            return
        }
        naive(m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, transposeB: transposeB,
              c: c, ldc: ldc, alpha: alpha, beta: beta)
    }

    /// The reference loop; also the path for small shapes.
    public static func naive(
        m: Int, n: Int, k: Int,
        a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int, transposeB: Bool,
        c: UnsafeMutablePointer<Float>, ldc: Int,
        alpha: Float = 1, beta: Float = 0
    ) {
        for i in 0..<m {
            for j in 0..<n {
                var s: Float = 0
                if transposeB {
                    for p in 0..<k { s += a[i * lda + p] * b[j * ldb + p] }
                } else {
                    for p in 0..<k { s += a[i * lda + p] * b[p * ldb + j] }
                }
                c[i * ldc + j] = alpha * s + (beta == 0 ? 0 : beta * c[i * ldc + j])
            }
        }
    }
}
