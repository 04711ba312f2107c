/// A vectorised error function for GELU.
///
/// GELU runs on every element of every intermediate activation (about 130k values per layer
/// stack for one 14-token query), and glibc's scalar `erff` cost ~20 ns a call: 2.5 ms of a
/// 6 ms query. This evaluates erf(x) = x · P(x²) / Q(x²) on |x| ≤ 3.925 (beyond which erf is 1
/// in float32) with a degree-6/5 rational fitted for relative error 1.8e-9
/// (`scripts/kernels/fit_erf.py`), in double precision on four lanes: the float32 Horner chain
/// lost up to 6 ulp, while double gives results closer to the exact value than `erff` does.
enum VectorErf {
    private static let bound: Double = 3.925
    private static let p: (Double, Double, Double, Double, Double, Double, Double) = (
        1.1283791693218896, 0.185135316952551, 0.054249955325568096, 0.0038393830894458076,
        0.0003770192278222868, 4.616313982023362e-06, -1.2837161778023187e-08)
    private static let q: (Double, Double, Double, Double, Double) = (
        0.4974053112490643, 0.11387905253609343, 0.015432500396667045, 0.0013020260722548553,
        6.24656911925774e-05)

    @inline(__always)
    static func erf(_ x: SIMD4<Double>) -> SIMD4<Double> {
        let b = SIMD4<Double>(repeating: bound)
        let xc = x.clamped(lowerBound: -b, upperBound: b)
        let t = xc * xc
        var num = SIMD4<Double>(repeating: p.6)
        num = num * t + p.5
        num = num * t + p.4
        num = num * t + p.3
        num = num * t + p.2
        num = num * t + p.1
        num = num * t + p.0
        var den = SIMD4<Double>(repeating: q.4)
        den = den * t + q.3
        den = den * t + q.2
        den = den * t + q.1
        den = den * t + q.0
        den = den * t + 1
        return xc * num / den
    }

    /// 0.5 · x · (1 + erf(x / √2)), computed in double and rounded once to float.
    @inline(__always)
    static func gelu(_ v: SIMD4<Float>) -> SIMD4<Float> {
        let d = SIMD4<Double>(v)
        return SIMD4<Float>(0.5 * d * (1 + erf(d * 0.70710678118654752440)))
    }
}
