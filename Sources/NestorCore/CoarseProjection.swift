import VectorMath

/// Maps a full-dimension vector to the coarse vector the first-stage graph is built over:
/// the leading `coarse` coordinates in an orthogonal basis (identity for Matryoshka models,
/// a PCA rotation fitted on the collection otherwise), re-normalised.
public struct CoarseProjection: Sendable, Equatable {
    public let full: Int
    public let coarse: Int
    /// The first `coarse` rows of an orthogonal `full × full` rotation, row-major; nil = identity.
    public let rotation: [Float]?

    public init(full: Int, coarse: Int, rotation: [Float]? = nil) {
        precondition(coarse > 0 && coarse <= full, "coarse dimension must be in 1...\(full)")
        precondition(rotation == nil || rotation!.count == coarse * full, "rotation must have coarse × full values")  // safe: checked non-nil first
        self.full = full
        self.coarse = coarse
        self.rotation = rotation
    }

    /// Why stored rotation rows cannot be used for these sizes (a database is input too), or nil.
    public static func problem(full: Int, coarse: Int, rotation: [Float]?) -> String? {
        guard coarse > 0, coarse <= full else { return "coarse dimension \(coarse) is not in 1...\(full)" }
        guard let rotation else { return nil }
        guard rotation.count == coarse * full else { return "the stored rotation has \(rotation.count) values, not \(coarse) × \(full)" }
        guard rotation.allSatisfy(\.isFinite) else { return "the stored rotation holds values that are not finite" }
        return nil
    }

    /// True when the coarse vector is the full vector itself (one-stage search).
    public var isIdentity: Bool { coarse == full && rotation == nil }

    public func callAsFunction(_ v: [Float]) -> [Float] {
        guard let rotation else { return coarse == full ? v : VectorMath.normalized(Array(v.prefix(coarse))) }
        var out = [Float](repeating: 0, count: coarse)
        rotation.withUnsafeBufferPointer { r in
            v.withUnsafeBufferPointer { x in
                for i in 0..<coarse {
                    out[i] = VectorMath.dot(r.baseAddress! + i * full, x.baseAddress!, count: full)  // safe: sizes checked in init
                }
            }
        }
        return VectorMath.normalized(out)
    }
}
