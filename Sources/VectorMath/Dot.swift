/// Distance kernels over contiguous float32 vectors. Written over `UnsafeBufferPointer` with
/// SIMD accumulators so the compiler emits packed code without bounds checks. (`addProduct`
/// would be a per-lane libm `fmaf` call unless the build targets FMA hardware.)
public enum VectorMath {
    /// Σ a[i]·b[i].
    @inlinable
    public static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count n: Int) -> Float {
        var acc0 = SIMD8<Float>(), acc1 = SIMD8<Float>()
        var i = 0
        while i + 16 <= n {
            let a0 = UnsafeRawPointer(a + i).loadUnaligned(as: SIMD8<Float>.self)
            let b0 = UnsafeRawPointer(b + i).loadUnaligned(as: SIMD8<Float>.self)
            let a1 = UnsafeRawPointer(a + i + 8).loadUnaligned(as: SIMD8<Float>.self)
            let b1 = UnsafeRawPointer(b + i + 8).loadUnaligned(as: SIMD8<Float>.self)
            acc0 += a0 * b0
            acc1 += a1 * b1
            i += 16
        }
        var s = (acc0 + acc1).sum()
        while i < n { s += a[i] * b[i]; i += 1 }
        return s
    }

    /// Σ (a[i] − b[i])².
    @inlinable
    public static func l2Squared(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count n: Int) -> Float {
        var acc0 = SIMD8<Float>(), acc1 = SIMD8<Float>()
        var i = 0
        while i + 16 <= n {
            let d0 = UnsafeRawPointer(a + i).loadUnaligned(as: SIMD8<Float>.self)
                - UnsafeRawPointer(b + i).loadUnaligned(as: SIMD8<Float>.self)
            let d1 = UnsafeRawPointer(a + i + 8).loadUnaligned(as: SIMD8<Float>.self)
                - UnsafeRawPointer(b + i + 8).loadUnaligned(as: SIMD8<Float>.self)
            acc0 += d0 * d0
            acc1 += d1 * d1
            i += 16
        }
        var s = (acc0 + acc1).sum()
        while i < n { let d = a[i] - b[i]; s += d * d; i += 1 }
        return s
    }

    /// Scales `v` to unit L2 norm in place; a zero vector stays zero.
    @inlinable
    public static func normalize(_ v: UnsafeMutablePointer<Float>, count n: Int) {
        let norm = dot(v, v, count: n).squareRoot()
        guard norm > 0 else { return }
        let inv = 1 / norm
        for i in 0..<n { v[i] *= inv }
    }

    /// Array conveniences for callers outside hot loops.
    public static func dot(_ a: [Float], _ b: [Float]) -> Float {
        precondition(a.count == b.count, "dot of vectors of different lengths")
        return a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in dot(pa.baseAddress!, pb.baseAddress!, count: a.count) }
        }
    }

    public static func normalized(_ v: [Float]) -> [Float] {
        var out = v
        out.withUnsafeMutableBufferPointer { normalize($0.baseAddress!, count: $0.count) }
        return out
    }
}

/// The first `d` values, re-normalised: Matryoshka truncation (the local engine and a remote
/// backend both cut vectors this way).
public func truncateMatryoshka(_ v: [Float], to d: Int) -> [Float] {
    guard d < v.count else { return v }
    return VectorMath.normalized(Array(v.prefix(d)))
}
