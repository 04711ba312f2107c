import Foundation
import NestorCore
import Testing
@testable import EmbeddingEngine
import Tokenization

/// Text to vector against sentence-transformers 6 on transformers 5 over the golden strings
/// (white space, newlines, empty strings, random code points, real texts;
/// scripts/golden/embedding_reference.py): cosine ≥ 0.9999 on every string, for the tiny
/// fixtures and the real models. NESTOR_EMBEDDING_REFERENCE=DIR points at a full set made with
/// `--all` instead of the committed subset.
@Suite struct TokenizerParityTests {
    static let referenceDirectory: URL = {
        if let dir = ProcessInfo.processInfo.environment["NESTOR_EMBEDDING_REFERENCE"] { return URL(fileURLWithPath: dir) }
        return EngineFixtures.tests.appendingPathComponent("EmbeddingModelTests/Fixtures/embedding-reference")
    }()

    static let strings: [String] = {
        let url = EngineFixtures.tests.appendingPathComponent("TokenizationTests/Fixtures/golden/strings.json")
        // Tokenization's own parser: Foundation's drops a raw U+FEFF inside a string (string #34).
        guard let data = try? Data(contentsOf: url), let json = try? JSONParser.parse([UInt8](data)),
              case .object(let obj) = json, case .array(let items)? = obj["strings"] else { return [] }
        return items.compactMap { if case .string(let s) = $0 { s } else { nil } }
    }()

    struct Reference {
        let indices: [Int]
        let vectors: [[Float]]
    }

    static func reference(_ name: String) throws -> Reference {
        let data = try Data(contentsOf: referenceDirectory.appendingPathComponent("\(name).json"))
        let obj = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let indices = try #require(obj["indices"] as? [Int])
        let dims = try #require(obj["dimensions"] as? Int)
        let base64 = try #require(obj["vectors_f16"] as? String)
        let blob = try #require(Data(base64Encoded: base64))
        let halves: [UInt16] = blob.withUnsafeBytes { raw in
            stride(from: 0, to: raw.count - 1, by: 2).map { UInt16(raw[$0]) | UInt16(raw[$0 + 1]) << 8 }
        }
        #expect(halves.count == indices.count * dims)
        let floats = halves.map { Float(Float16(bitPattern: $0)) }
        return Reference(indices: indices, vectors: (0..<indices.count).map { Array(floats[($0 * dims)..<(($0 + 1) * dims)]) })
    }

    func check(_ name: String, folder: URL) async throws {
        let ref = try Self.reference(name)
        let strings = Self.strings
        #expect(strings.count >= 7800)
        let engine = try LocalEmbedder(folder: folder, options: LocalEmbedder.Options(workers: 2))
        var worst = 1.0, worstIndex = -1, below = [String]()
        for start in stride(from: 0, to: ref.indices.count, by: 64) {
            let chunk = Array(ref.indices[start..<min(start + 64, ref.indices.count)])
            let out = try await engine.embed(chunk.map { .text(strings[$0]) }, options: EmbedOptions())
            for (k, i) in chunk.enumerated() {
                let c = cosine(out.vectors[k], ref.vectors[start + k])
                if c < worst { worst = c; worstIndex = i }
                if c < 0.9999 { below.append("#\(i) \(strings[i].debugDescription.prefix(50)): \(c)") }
            }
        }
        print("\(name): \(ref.indices.count) strings, worst cosine \(worst) (#\(worstIndex)), \(below.count) below 0.9999")
        #expect(below.isEmpty, "\(name): \(below.count) of \(ref.indices.count) below 0.9999, worst \(worst); \(below.prefix(8).joined(separator: "; "))")
    }

    @Test(arguments: ["tiny-bert", "tiny-xlmr", "tiny-qwen3"])
    func fixtures(name: String) async throws {
        try await check(name, folder: try EngineFixtures.folder(name))
    }

    @Test(.enabled(if: EngineFixtures.fetched("all-MiniLM-L6-v2") != nil, "models/all-MiniLM-L6-v2 is absent (run scripts/fetch_models.py)"))
    func miniLM() async throws {
        try await check("all-MiniLM-L6-v2", folder: try #require(EngineFixtures.fetched("all-MiniLM-L6-v2")))
    }

    @Test(.enabled(if: EngineFixtures.fetched("multilingual-e5-small") != nil, "models/multilingual-e5-small is absent (run scripts/fetch_models.py)"))
    func multilingualE5() async throws {
        try await check("multilingual-e5-small", folder: try #require(EngineFixtures.fetched("multilingual-e5-small")))
    }
}
