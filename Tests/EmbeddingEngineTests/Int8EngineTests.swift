import EmbeddingModel
import Foundation
import NestorCore
import Testing
@testable import EmbeddingEngine

/// `--quantize int8`: per-text cosine against the fp32 engine ≥ 0.99 on the fixture families
/// and, when fetched, on the real models.
@Suite struct Int8EngineTests {
    static let texts = [
        "", " ", "a", "query: x\n", "How do I copy a file to another directory?", "Green tea should steep for three minutes.",
        "Die Datei konnte nicht geöffnet werden.", "ошибка: файл не найден", "日本語のテキストを検索する", "libc6-dev 2.36-9+deb12u4",
        String(repeating: "a longer passage about package management and search engines ", count: 8),
    ]

    func minimumCosine(_ folder: URL) async throws -> Double {
        let fp32 = try LocalEmbedder(folder: folder, options: .init(workers: 1))
        let int8 = try LocalEmbedder(folder: folder, options: .init(workers: 1, precision: .int8))
        #expect(int8.model.precision == .int8)
        let inputs = Self.texts.map { EmbeddingInput.text($0) }
        let a = try await fp32.embed(inputs, options: EmbedOptions()).vectors
        let b = try await int8.embed(inputs, options: EmbedOptions()).vectors
        return zip(a, b).map { cosine($0, $1) }.min() ?? 0
    }

    @Test(arguments: ["tiny-bert", "tiny-xlmr", "tiny-qwen3"])
    func fixtureFamilies(_ name: String) async throws {
        let c = try await minimumCosine(try EngineFixtures.folder(name))
        #expect(c >= 0.99, "\(name): min cosine \(c)")
    }

    @Test(.enabled(if: EngineFixtures.fetched("all-MiniLM-L6-v2") != nil && EngineFixtures.fetched("multilingual-e5-small") != nil,
                   "models are absent (run scripts/fetch_models.py)"))
    func realModels() async throws {
        for name in ["all-MiniLM-L6-v2", "multilingual-e5-small"] {
            let c = try await minimumCosine(try #require(EngineFixtures.fetched(name)))
            #expect(c >= 0.99, "\(name): min cosine \(c)")
        }
    }
}
