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

    /// A fixture's `tokenizer.json` as it is, or (`.transformers`) as transformers 5 rebuilds it
    /// from NAME.tokenizer_config.json beside it.
    static func tokenizer(_ name: String, mode: TokenizerMode = .tokenizersJSON) throws -> Tokenizer {
        var conf: TransformersConfiguration? = nil
        if mode == .transformers {
            let config = try Data(contentsOf: url("\(name).tokenizer_config.json"))
            conf = try TransformersConfiguration(tokenizerConfig: [UInt8](config))
        }
        return try Tokenizer(contentsOf: url("\(name).tokenizer.json"), mode: mode, configuration: conf)
            .with(truncation: nil, padding: nil)
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
