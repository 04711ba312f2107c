/// Every failure of this module: which component, where in `tokenizer.json`, and what went
/// wrong. Input text never causes one; only malformed or unsupported files do.
public struct TokenizerError: Error, Sendable, CustomStringConvertible, Equatable {
    public enum Code: String, Sendable {
        case unreadableFile
        case malformedJSON
        case unknownType
        case missingField
        case invalidValue
        case unsupported
    }

    public var code: Code
    /// A JSON path such as `normalizer.normalizers[1].precompiled_charsmap`.
    public var path: String
    public var message: String

    public init(_ code: Code, path: String, _ message: String) {
        self.code = code
        self.path = path
        self.message = message
    }

    public var description: String { "tokenizer.json \(path): \(message)" }
}
