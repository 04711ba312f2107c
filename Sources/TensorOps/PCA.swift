import COpenBLAS

/// Principal axes of a set of vectors, for the coarse first stage of search: rotating by them
/// keeps every full-dimension score (the basis is orthogonal) while putting most of the
/// variance in the leading coordinates, so a short prefix is a good proxy for the whole vector.
public enum PCA {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// The `rows` leading principal axes of `count` vectors of `dimension` floats (row-major),
    /// as a `rows × dimension` row-major matrix, by decreasing variance. Each axis's sign is
    /// fixed (largest component positive) so the same data always gives the same basis.
    public static func axes(of vectors: [Float], count: Int, dimension d: Int, rows: Int) throws -> [Float] {
        guard count >= 2, d > 0, rows > 0, rows <= d, vectors.count == count * d else {
            throw Failure(description: "PCA needs at least 2 vectors of \(d) values and 1...\(d) axes")
        }
        // Centre, then C = Xᵀ X / n with BLAS in float; the eigensolver runs in double.
        var mean = [Double](repeating: 0, count: d)
        for i in 0..<count { for j in 0..<d { mean[j] += Double(vectors[i * d + j]) } }
        var centred = vectors
        for i in 0..<count { for j in 0..<d { centred[i * d + j] -= Float(mean[j] / Double(count)) } }
        var cov = [Float](repeating: 0, count: d * d)
        cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, Int32(d), Int32(count), 1 / Float(count), centred, Int32(d), 0, &cov, Int32(d))
        // Row-major upper = column-major lower; dsyevd reads the lower triangle ("L").
        var a = cov.map(Double.init)
        var values = [Double](repeating: 0, count: d)
        var n = Int32(d), lda = Int32(d), info: Int32 = 0
        var lwork: Int32 = -1, liwork: Int32 = -1
        var workQuery = [Double](repeating: 0, count: 1)
        var iworkQuery = [Int32](repeating: 0, count: 1)
        dsyevd_("V", "L", &n, &a, &lda, &values, &workQuery, &lwork, &iworkQuery, &liwork, &info)
        guard info == 0 else { throw Failure(description: "eigensolver workspace query failed (info \(info))") }
        lwork = Int32(workQuery[0])
        liwork = iworkQuery[0]
        var work = [Double](repeating: 0, count: Int(lwork))
        var iwork = [Int32](repeating: 0, count: Int(liwork))
        dsyevd_("V", "L", &n, &a, &lda, &values, &work, &lwork, &iwork, &liwork, &info)
        guard info == 0 else { throw Failure(description: "eigensolver did not converge (info \(info))") }
        // Column k of `a` (column-major) is the axis of the k-th smallest eigenvalue.
        var out = [Float](repeating: 0, count: rows * d)
        for r in 0..<rows {
            let column = (d - 1 - r) * d
            var largest = 0
            for i in 0..<d where abs(a[column + i]) > abs(a[column + largest]) { largest = i }
            let sign: Double = a[column + largest] < 0 ? -1 : 1
            for i in 0..<d { out[r * d + i] = Float(sign * a[column + i]) }
        }
        return out
    }
}
