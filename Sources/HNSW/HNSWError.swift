/// Errors decoding stored graph records: corrupt or truncated bytes never crash.
public struct HNSWError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { "HNSW: \(message)" }
}
