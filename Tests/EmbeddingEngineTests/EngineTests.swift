import Foundation
import NestorCore
import Testing
@testable import EmbeddingEngine

enum EngineFixtures {
    static let tests = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    static let root = tests.deletingLastPathComponent()

    /// A complete model folder for a tiny fixture model (tiny-xlmr's 17 MB tokenizer is shared
    /// with the tokenizer tests instead of being committed twice).
    static func folder(_ name: String) throws -> URL {
        let src = tests.appendingPathComponent("EmbeddingModelTests/Fixtures/\(name)")
        if FileManager.default.fileExists(atPath: src.appendingPathComponent("tokenizer.json").path) { return src }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("nestor-\(name)-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: src, to: dir)
        try FileManager.default.copyItem(
            at: tests.appendingPathComponent("TokenizationTests/Fixtures/xlmr-unigram.tokenizer.json"),
            to: dir.appendingPathComponent("tokenizer.json"))
        return dir
    }

    static func fetched(_ name: String) -> URL? {
        let base = ProcessInfo.processInfo.environment["NESTOR_MODELS"].map { URL(fileURLWithPath: $0) }
            ?? root.appendingPathComponent("models")
        let dir = base.appendingPathComponent(name)
        return FileManager.default.fileExists(atPath: dir.appendingPathComponent("model.safetensors").path) ? dir : nil
    }

    static func reference(_ folder: URL) throws -> [[String: Any]] {
        let data = try Data(contentsOf: folder.appendingPathComponent("reference.json"))
        let obj = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        return try #require(obj["cases"] as? [[String: Any]])
    }
}

func cosine(_ a: [Float], _ b: [Float]) -> Double {
    var d = 0.0, na = 0.0, nb = 0.0
    for (x, y) in zip(a, b) { d += Double(x) * Double(y); na += Double(x * x); nb += Double(y * y) }
    return d / max(1e-30, (na * nb).squareRoot())
}

/// Text in, sentence-transformers' vectors out: tokenizer, prompts, truncation and model together.
@Suite struct EngineTests {
    @Test(arguments: ["tiny-bert", "tiny-xlmr", "tiny-qwen3"])
    func textToVectorMatchesSentenceTransformers(name: String) async throws {
        let folder = try EngineFixtures.folder(name)
        let engine = try LocalEmbedder(folder: folder)
        for c in try EngineFixtures.reference(folder) {
            let text = try #require(c["text"] as? String)
            let expected = ((c["embedding"] as? [NSNumber]) ?? []).map(\.floatValue)
            let out = try await engine.embed([.text(text)], options: EmbedOptions(promptName: c["prompt_name"] as? String))
            #expect(cosine(out.vectors[0], expected) >= 0.99999, "\(name): \(text.prefix(40))")
            #expect(out.tokenCounts[0] == ((c["input_ids"] as? [Int]) ?? []).count)
        }
    }

    @Test func tokenInputsEqualTextInputs() async throws {
        let engine = try LocalEmbedder(folder: try EngineFixtures.folder("tiny-bert"))
        let ids = try engine.tokens(for: .text("hello world"), index: 0, prompt: "", limit: 100, options: EmbedOptions())
        let a = try await engine.embed([.text("hello world")], options: EmbedOptions())
        let b = try await engine.embed([.tokens(ids)], options: EmbedOptions())
        #expect(a.vectors == b.vectors)
    }

    @Test func truncationSides() async throws {
        let engine = try LocalEmbedder(folder: try EngineFixtures.folder("tiny-bert"))
        let long = Array(repeating: "word", count: 300).joined(separator: " ") + " end"
        let end = try engine.tokens(for: .text(long), index: 0, prompt: "", limit: 10, options: EmbedOptions(truncation: .end))
        let start = try engine.tokens(for: .text(long), index: 0, prompt: "", limit: 10, options: EmbedOptions(truncation: .start))
        #expect(end.count == 10 && start.count == 10)
        #expect(end.first == 101 && end.last == 102 && start.first == 101 && start.last == 102)
        #expect(end != start)
        await #expect(throws: EmbeddingError.self) {
            try await engine.embed([.text(long)], options: EmbedOptions(truncation: .none))
        }
    }

    @Test func badRequestsAreErrorsNotCrashes() async throws {
        let engine = try LocalEmbedder(folder: try EngineFixtures.folder("tiny-bert"))
        for (inputs, options) in [
            ([EmbeddingInput.text("x")], EmbedOptions(dimensions: 16)),          // not a Matryoshka model
            ([.text("x")], EmbedOptions(promptName: "nonexistent")),
            ([.tokens([])], EmbedOptions()),
            ([.tokens([1, 9_999_999])], EmbedOptions()),
            ([.tokens([1, -5])], EmbedOptions()),
        ] {
            await #expect(throws: EmbeddingError.self) { try await engine.embed(inputs, options: options) }
        }
    }

    @Test func matryoshkaOverrideAllowsListedSizes() async throws {
        let engine = try LocalEmbedder(folder: try EngineFixtures.folder("tiny-bert"),
                                       options: .init(matryoshka: .only([8, 16])))
        let out = try await engine.embed([.text("hello")], options: EmbedOptions(dimensions: 16))
        #expect(out.vectors[0].count == 16)
        let norm = out.vectors[0].reduce(0) { $0 + $1 * $1 }
        #expect(abs(norm - 1) < 1e-5)
        await #expect(throws: EmbeddingError.self) { try await engine.embed([.text("x")], options: EmbedOptions(dimensions: 12)) }
    }

    /// The assembled multilingual-e5-small: translations land closer to their English original
    /// than unrelated English sentences do.
    @Test(.enabled(if: EngineFixtures.fetched("multilingual-e5-small") != nil, "models/multilingual-e5-small is absent (run scripts/fetch_models.py)"))
    func crossLingualNeighbours() async throws {
        let folder = try #require(EngineFixtures.fetched("multilingual-e5-small"))
        let engine = try LocalEmbedder(folder: folder)
        let english = "The weather is beautiful today and the children are playing in the park."
        let translations = [
            "Das Wetter ist heute wunderschön und die Kinder spielen im Park.",
            "Il fait très beau aujourd'hui et les enfants jouent dans le parc.",
            "今天天气很好，孩子们在公园里玩。",
        ]
        let unrelated = [
            "The quarterly report shows a decline in industrial production.",
            "Please restart the server after installing the security update.",
            "Bake the bread at two hundred degrees for forty minutes.",
        ]
        let q = try await engine.embed(translations.map { .text($0) }, options: EmbedOptions(promptName: "query"))
        let d = try await engine.embed(([english] + unrelated).map { .text($0) }, options: EmbedOptions(promptName: "passage"))
        for (t, v) in zip(translations, q.vectors) {
            let right = cosine(v, d.vectors[0])
            for (u, w) in zip(unrelated, d.vectors.dropFirst()) {
                #expect(right > cosine(v, w), "\(t) is closer to \(u)")
            }
        }
    }
}
