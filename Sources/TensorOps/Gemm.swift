import COpenBLAS
import VectorMath

/// Row-major single-precision matrix products.
///
/// Large products go to OpenBLAS; tiny ones (under `blasThreshold` multiply-adds, such as one
/// attention head of a short sentence) use SIMD loops here, because BLAS call and threading
/// overhead dominates there. The threshold counts work, not dimensions: a single query's
/// 15 × 1536 × 384 projection is far too big for a scalar loop.
public enum Gemm {
    public static let blasThreshold = 64 * 64 * 64

    /// C[m×n] = alpha · A[m×k] · op(B) + beta · C, where op(B) is B[k×n], or Bᵀ for B[n×k]
    /// when `transposeB` (the layout of PyTorch `Linear` weights).
    public static func multiply(
        m: Int, n: Int, k: Int,
        a: UnsafePointer<Float>, lda: Int? = nil,
        b: UnsafePointer<Float>, ldb: Int? = nil, transposeB: Bool,
        c: UnsafeMutablePointer<Float>, ldc: Int? = nil,
        alpha: Float = 1, beta: Float = 0, threads: Int = 1, epilogue: Epilogue = .none
    ) {
        let lda = lda ?? k
        let ldb = ldb ?? (transposeB ? k : n)
        let ldc = ldc ?? n
        if m == 0 || n == 0 { return }
        // A lone short query leaves cores idle: split the output columns across threads (when
        // `Parallel.columns` finds it worth it), each finishing its own columns (bias,
        // activation) while they are still in cache.
        Parallel.columns(n, unit: 32, threads: threads, work: m * n * k) { cols in
            product(m: m, n: cols.count, k: k, a: a, lda: lda,
                    b: transposeB ? b + cols.lowerBound * ldb : b + cols.lowerBound, ldb: ldb, transposeB: transposeB,
                    c: c + cols.lowerBound, ldc: ldc, alpha: alpha, beta: beta)
            epilogue.apply(c, rows: m, ldc: ldc, columns: cols)
        }
    }

    /// What to do to each output element after the product, fused into the (possibly split)
    /// product so no extra pass over C is needed.
    public enum Epilogue {
        case none
        /// C[i, j] += bias[j].
        case bias(UnsafePointer<Float>)
        /// C[i, j] = gelu(C[i, j] + bias[j]) (bias optional).
        case biasGELU(UnsafePointer<Float>?)

        func apply(_ c: UnsafeMutablePointer<Float>, rows: Int, ldc: Int, columns: Range<Int>) {
            switch self {
            case .none:
                return
            case .bias(let bias):
                for r in 0..<rows { Kernels.add(c + r * ldc + columns.lowerBound, bias + columns.lowerBound, count: columns.count) }
            case .biasGELU(let bias):
                for r in 0..<rows {
                    let row = c + r * ldc + columns.lowerBound
                    if let bias { Kernels.add(row, bias + columns.lowerBound, count: columns.count) }
                    Kernels.gelu(row, count: columns.count)
                }
            }
        }
    }

    /// One thread's product: streaming kernel, BLAS or the small-shape loops.
    private static func product(
        m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        transposeB: Bool, c: UnsafeMutablePointer<Float>, ldc: Int, alpha: Float, beta: Float
    ) {
        if transposeB && m <= streamingRows && k % 8 == 0 {
            streamWeights(m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, alpha: alpha, beta: beta)
            return
        }
        if m * n * k >= blasThreshold {
            cblas_sgemm(
                CblasRowMajor, CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
            return
        }
        small(m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, transposeB: transposeB,
              c: c, ldc: ldc, alpha: alpha, beta: beta)
    }

    /// Sets how many threads OpenBLAS uses. The engine runs one worker thread per core with
    /// single-threaded BLAS, which beats BLAS's own threading on these small matrices (its
    /// threads spend their time yielding, waiting for each other).
    public static func setBLASThreads(_ n: Int) { openblas_set_num_threads(Int32(max(1, n))) }

    /// Up to this many rows, x · Wᵀ streams W once instead of calling BLAS.
    public static let streamingRows = 16

    /// x · Wᵀ for a few rows (a short query): each weight row is loaded once and multiplied into
    /// four input rows at a time while it is in registers. A query is bound by reading the
    /// weights; BLAS would first copy them into its packed layout, doubling that traffic.
    static func streamWeights(
        m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        c: UnsafeMutablePointer<Float>, ldc: Int, alpha: Float, beta: Float
    ) {
        @inline(__always) func load(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
            UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
        }
        @inline(__always) func store(_ i: Int, _ j: Int, _ d: Float) {
            let out = c + i * ldc + j
            out.pointee = beta == 0 ? alpha * d : alpha * d + beta * out.pointee
        }
        for j in 0..<n {
            let w = b + j * ldb
            var i = 0
            while i + 4 <= m {
                var s0 = SIMD8<Float>(), s1 = SIMD8<Float>(), s2 = SIMD8<Float>(), s3 = SIMD8<Float>()
                let a0 = a + i * lda, a1 = a0 + lda, a2 = a1 + lda, a3 = a2 + lda
                var p = 0
                while p < k {
                    let wv = load(w + p)
                    s0.addProduct(load(a0 + p), wv)
                    s1.addProduct(load(a1 + p), wv)
                    s2.addProduct(load(a2 + p), wv)
                    s3.addProduct(load(a3 + p), wv)
                    p += 8
                }
                store(i, j, s0.sum()); store(i + 1, j, s1.sum()); store(i + 2, j, s2.sum()); store(i + 3, j, s3.sum())
                i += 4
            }
            while i < m {
                store(i, j, VectorMath.dot(a + i * lda, w, count: k))
                i += 1
            }
        }
    }

    /// The path for small shapes: SIMD dot products (Bᵀ) or row updates (B).
    public static func small(
        m: Int, n: Int, k: Int,
        a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int, transposeB: Bool,
        c: UnsafeMutablePointer<Float>, ldc: Int,
        alpha: Float = 1, beta: Float = 0
    ) {
        for i in 0..<m {
            let ci = c + i * ldc
            if transposeB {
                for j in 0..<n {
                    let d = alpha * VectorMath.dot(a + i * lda, b + j * ldb, count: k)
                    ci[j] = beta == 0 ? d : d + beta * ci[j]
                }
            } else {
                if beta == 0 { for j in 0..<n { ci[j] = 0 } } else if beta != 1 { for j in 0..<n { ci[j] *= beta } }
                for p in 0..<k {
                    let s = alpha * a[i * lda + p]
                    let bp = b + p * ldb
                    for j in 0..<n { ci[j] += s * bp[j] }
                }
            }
        }
    }

    /// The reference loop the tests compare against.
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
