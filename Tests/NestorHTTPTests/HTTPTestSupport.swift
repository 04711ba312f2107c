import EmbeddingEngine
import Foundation
import Hummingbird
import HummingbirdTesting
import NestorCore
import Testing
@testable import NestorHTTP

/// The real engine on the tiny BERT fixture (fast), shared by every test.
enum TestServer {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("EmbeddingModelTests/Fixtures/tiny-bert")

    static let plain: LocalEmbedder = { try! LocalEmbedder(folder: folder, options: .init(servedName: "tiny")) }()  // safe: committed fixture
    static let matryoshka: LocalEmbedder = {
        try! LocalEmbedder(folder: folder, options: .init(servedName: "tiny", matryoshka: .only([8, 16])))  // safe: committed fixture
    }()

    static func app(_ embedder: LocalEmbedder = plain, configure: (inout ServerConfiguration) -> Void = { _ in })
        -> some ApplicationProtocol
    {
        var config = ServerConfiguration()
        config.modelNames = ["tiny", "tiny-alias"]
        configure(&config)
        return Application(router: buildRouter(embedder: embedder, config: config))
    }
}

extension TestResponse {
    var json: [String: Any] {
        guard let obj = try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any] else { return [:] }
        return obj
    }
    var errorMessage: String { ((json["error"] as? [String: Any])?["message"] as? String) ?? "" }
    /// The error's `code`: the HTTP status as a string, as OpenAI's clients type it.
    var errorCode: Int? { ((json["error"] as? [String: Any])?["code"] as? String).flatMap { Int($0) } }
}

extension TestClientProtocol {
    func post(_ uri: String, _ object: Any, headers: HTTPFields = [.contentType: "application/json"]) async throws -> TestResponse {
        let data = try JSONSerialization.data(withJSONObject: object)
        return try await execute(uri: uri, method: .post, headers: headers, body: ByteBuffer(bytes: data))
    }

    func postRaw(_ uri: String, _ text: String, headers: HTTPFields = [.contentType: "application/json"]) async throws -> TestResponse {
        try await execute(uri: uri, method: .post, headers: headers, body: ByteBuffer(string: text))
    }
}

func vectors(_ r: TestResponse) -> [[Float]] {
    ((r.json["data"] as? [[String: Any]]) ?? []).map { item in
        if let s = item["embedding"] as? String, let d = Data(base64Encoded: s) {
            return d.withUnsafeBytes { raw in (0..<(d.count / 4)).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) } }
        }
        return ((item["embedding"] as? [NSNumber]) ?? []).map(\.floatValue)
    }
}

func engineVectors(_ embedder: LocalEmbedder, _ inputs: [EmbeddingInput], _ options: EmbedOptions = EmbedOptions()) async throws -> [[Float]] {
    try await embedder.embed(inputs, options: options).vectors
}

/// Vectors equal to 1e-5: the engine's result for a text may differ in the last bits with the
/// batch it shares (a different matrix kernel runs for a different number of rows).
func same(_ a: [[Float]], _ b: [[Float]]) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { x, y in x.count == y.count && zip(x, y).allSatisfy { abs($0 - $1) <= 1e-5 } }
}
