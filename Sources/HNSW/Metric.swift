/// How vectors are compared. Cosine expects (and the index stores) unit vectors, so it is an
/// inner product underneath; distances are "smaller is closer" throughout.
public enum Metric: UInt8, Sendable {
    case cosine = 0, innerProduct = 1, l2 = 2
}
