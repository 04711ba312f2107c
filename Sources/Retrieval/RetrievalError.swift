import NestorCore

/// Why a retrieval request failed, in terms the HTTP layer maps to a status code.
public struct RetrievalError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable { case invalid, notFound, conflict, tooLarge, unavailable }
    public var code: Code
    public var message: String
    public var param: String?
    public init(_ code: Code, _ message: String, param: String? = nil) {
        self.code = code
        self.message = message
        self.param = param
    }
    public var description: String { message }
}
