/// A model folder that cannot be used: which file, which tensor, what is wrong.
public struct ModelError: Error, Sendable, CustomStringConvertible, Equatable {
    public enum Code: String, Sendable { case missingFile, unreadableFile, malformedFile, missingTensor, wrongShape, unsupported, invalidConfig }
    public var code: Code
    public var file: String
    public var message: String

    public init(_ code: Code, file: String, _ message: String) {
        self.code = code
        self.file = file
        self.message = message
    }

    public var description: String { "\(file): \(message)" }
}
