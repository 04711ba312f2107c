import Foundation
@testable import Tokenization

/// Where the test fixtures and the fetched models live.
enum Fixtures {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    static func url(_ name: String) -> URL { directory.appendingPathComponent(name) }

    static func json(_ name: String) throws -> JSONNode {
        let data = try Data(contentsOf: url(name))
        return JSONNode(try JSONParser.parse([UInt8](data)))
    }

    static func tokenizer(_ name: String) throws -> Tokenizer {
        try Tokenizer(contentsOf: url("\(name).tokenizer.json")).with(truncation: nil, padding: nil)
    }

    /// A fetched model folder (`NESTOR_MODELS` or `./models`), or nil when it is absent.
    static func modelFolder(_ name: String) -> URL? {
        let base = ProcessInfo.processInfo.environment["NESTOR_MODELS"].map { URL(fileURLWithPath: $0) }
            ?? repositoryRoot.appendingPathComponent("models")
        let dir = base.appendingPathComponent(name)
        return FileManager.default.fileExists(atPath: dir.appendingPathComponent("tokenizer.json").path) ? dir : nil
    }
}

extension JSONNode {
    func ints() throws -> [Int] { try array().map { try $0.int() } }
}

extension Encoding {
    var flatOffsets: [Int] { offsets.flatMap { [$0.start, $0.end] } }
}
