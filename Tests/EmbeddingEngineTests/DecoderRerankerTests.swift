import EmbeddingModel
import Foundation
import NestorCore
import Testing
import Tokenization
@testable import EmbeddingEngine

/// Qwen3-Reranker-style decoder rerankers against the model card's transformers recipe
/// (scripts/golden/gen_qwen3_reranker_fixture.py): prompt template, right truncation of the
/// middle part, P("yes") from the last token's [no, yes] logits.
@Suite struct DecoderRerankTests {
    static let folders = ["tiny-qwen3-reranker", "tiny-qwen3-reranker-untied", "tiny-qwen3-reranker-seqcls"]

    struct Case {
        var instruction: String?
        var query: String
        var document: String
        var ids: [Int]
        var idsShort: [Int]
        var logits: [Float]
        var score: Float
        var scoreBatched: Float
        var scoreShort: Float
    }

    struct Reference {
        var maxLength: Int
        var shortMaxLength: Int
        var prefixIds: [Int]
        var suffixIds: [Int]
        var yesId: Int
        var noId: Int
        var cases: [Case]
    }

    static func reference(_ folder: URL) throws -> Reference {
        let data = try Data(contentsOf: folder.appendingPathComponent("reference.json"))
        let obj = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        func floats(_ v: Any?) throws -> [Float] { try #require(v as? [NSNumber]).map(\.floatValue) }
        func float(_ v: Any?) throws -> Float { try #require(v as? NSNumber).floatValue }
        let cases = try #require(obj["cases"] as? [[String: Any]]).map { c in
            Case(instruction: c["instruction"] as? String, query: try #require(c["query"] as? String),
                 document: try #require(c["document"] as? String),
                 ids: try #require(c["input_ids"] as? [Int]), idsShort: try #require(c["input_ids_short"] as? [Int]),
                 logits: try floats(c["logits"]), score: try float(c["score"]), scoreBatched: try float(c["score_batched"]),
                 scoreShort: try float(c["score_short"]))
        }
        return Reference(maxLength: try #require(obj["max_length"] as? Int), shortMaxLength: try #require(obj["max_length_short"] as? Int),
                         prefixIds: try #require(obj["prefix_ids"] as? [Int]), suffixIds: try #require(obj["suffix_ids"] as? [Int]),
                         yesId: try #require(obj["yes_id"] as? Int), noId: try #require(obj["no_id"] as? Int), cases: cases)
    }

    /// One reranker per instruction the cases use.
    final class Engines: Sendable {
        let byInstruction: [String: DecoderReranker]
        init(_ folder: URL, _ cases: [Case], workers: Int = 2) throws {
            var out = [String: DecoderReranker]()
            for i in Set(cases.map { $0.instruction ?? "" }) {
                out[i] = try DecoderReranker(folder: folder, options: .init(workers: workers, instruction: i.isEmpty ? nil : i))
            }
            byInstruction = out
        }
        subscript(_ c: Case) -> DecoderReranker { byInstruction[c.instruction ?? ""]! }  // safe: built from the same cases
    }

    /// The model alone: reference token ids in, the recipe's raw [no, yes] logits out.
    @Test(arguments: folders)
    func logitsMatchTransformers(name: String) throws {
        let folder = try EngineFixtures.folder(name)
        let ref = try Self.reference(folder)
        let model = try DecoderRerankerModel(folder: folder, yesTokenId: ref.yesId, noTokenId: ref.noId)
        let logits = try model.logits(ref.cases.map(\.ids), threads: 2)
        var worst: Float = 0
        for (k, c) in ref.cases.enumerated() {
            #expect(logits[k].count == c.logits.count, "\(name) case \(k)")
            for (a, b) in zip(logits[k], c.logits) { worst = max(worst, abs(a - b)) }
        }
        #expect(worst <= 1e-4, "\(name): logits max |Δ| \(worst)")
        let scores = try model.scores(ref.cases.map(\.ids))
        for (k, c) in ref.cases.enumerated() { #expect(abs(scores[k] - c.score) <= 1e-5, "\(name) case \(k): \(scores[k]) vs \(c.score)") }
    }

    /// Text in, score out: the template's ids and the recipe's P("yes"), alone and left-padded in one batch.
    @Test(arguments: folders)
    func textPairsMatchTheModelCard(name: String) async throws {
        let folder = try EngineFixtures.folder(name)
        let ref = try Self.reference(folder)
        let engines = try Engines(folder, ref.cases)
        var worst: Float = 0
        for (k, c) in ref.cases.enumerated() {
            let r = engines[c]
            #expect(r.prefixIds == ref.prefixIds && r.suffixIds == ref.suffixIds)
            #expect(try r.pair(query: c.query, document: c.document) == c.ids, "\(name) case \(k): token ids")
            let out = try await r.score(query: c.query, documents: [c.document], options: RerankOptions())
            #expect(out.tokenCounts == [c.ids.count])
            worst = max(worst, abs(out.scores[0] - c.score))
            #expect(abs(out.scores[0] - c.score) <= 1e-5, "\(name) case \(k): \(out.scores[0]) vs \(c.score)")
            #expect(abs(out.scores[0] - c.scoreBatched) <= 1e-5, "\(name) case \(k): \(out.scores[0]) vs batched \(c.scoreBatched)")
        }
        #expect(ref.cases.contains { $0.ids.count == ref.maxLength }, "some cases are truncated at the limit")
        print("\(name): text → score max |Δ| \(worst) against the model card's recipe")
    }

    /// A lower per-request limit cuts the middle part from the right, as the recipe does at that max_length.
    @Test(arguments: folders)
    func truncationAtALowerLimit(name: String) async throws {
        let folder = try EngineFixtures.folder(name)
        let ref = try Self.reference(folder)
        let engines = try Engines(folder, ref.cases, workers: 1)
        for (k, c) in ref.cases.enumerated() {
            let r = engines[c]
            #expect(try r.pair(query: c.query, document: c.document, limit: ref.shortMaxLength) == c.idsShort, "\(name) case \(k)")
            let out = try await r.score(query: c.query, documents: [c.document], options: RerankOptions(maxTokens: ref.shortMaxLength))
            #expect(out.tokenCounts == [c.idsShort.count])
            #expect(abs(out.scores[0] - c.scoreShort) <= 1e-5, "\(name) case \(k): \(out.scores[0]) vs \(c.scoreShort)")
            let ids = c.idsShort
            #expect(Array(ids.prefix(ref.prefixIds.count)) == ref.prefixIds && Array(ids.suffix(ref.suffixIds.count)) == ref.suffixIds,
                    "the template survives truncation")
        }
        #expect(ref.cases.contains { $0.idsShort.count == ref.shortMaxLength && $0.ids.count > ref.shortMaxLength })
    }

    /// One request with many documents, and many concurrent requests merged by the scheduler,
    /// give each pair the score it gets alone.
    @Test func batchedEqualsAlone() async throws {
        let folder = try EngineFixtures.folder("tiny-qwen3-reranker")
        let ref = try Self.reference(folder)
        let reranker = try DecoderReranker(folder: folder, options: .init(workers: 2))
        let defaults = ref.cases.filter { $0.instruction == nil }
        let query = defaults[0].query
        let documents = defaults.map(\.document)
        var alone = [Float]()
        for d in documents { alone.append(try await reranker.score(query: query, documents: [d])[0]) }
        let together = try await reranker.score(query: query, documents: documents)
        for k in documents.indices { #expect(abs(together[k] - alone[k]) <= 1e-5, "document \(k)") }
        let small = try DecoderReranker(folder: folder, options: .init(maxBatchTokens: 300, workers: 2))
        let split = try await small.score(query: query, documents: documents)
        for k in documents.indices { #expect(abs(split[k] - alone[k]) <= 1e-5, "document \(k), batches of ≤ 300 tokens") }
        let concurrent = try await withThrowingTaskGroup(of: (Int, Float).self) { group in
            for (k, c) in defaults.enumerated() {
                group.addTask { (k, try await reranker.score(query: c.query, documents: [c.document])[0]) }
            }
            var out = [Float](repeating: .nan, count: defaults.count)
            for try await (k, s) in group { out[k] = s }
            return out
        }
        for (k, c) in defaults.enumerated() { #expect(abs(concurrent[k] - c.score) <= 1e-5, "case \(k) concurrently") }
    }

    @Test func limitsAndErrors() async throws {
        let folder = try EngineFixtures.folder("tiny-qwen3-reranker")
        let ref = try Self.reference(folder)
        let template = ref.prefixIds.count + ref.suffixIds.count
        let r = try DecoderReranker(folder: folder, options: .init(servedName: "qr", workers: 1))
        #expect(r.info == RerankerInfo(name: "qr", maxInputTokens: ref.maxLength, activation: "torch.nn.modules.activation.Sigmoid"),
                "the position table (256) is below the model card's 8,192")
        #expect(r.instruction == DecoderReranker.defaultInstruction)
        let capped = try DecoderReranker(folder: folder, options: .init(maxInputTokens: 200, workers: 1))
        #expect(capped.info.maxInputTokens == 200)
        #expect(try DecoderReranker(folder: folder, options: .init(maxInputTokens: 10_000, workers: 1)).info.maxInputTokens == ref.maxLength)
        #expect(throws: ModelError.self) { try DecoderReranker(folder: folder, options: .init(maxInputTokens: template, workers: 1)) }

        let long = String(repeating: "word ", count: 400)
        let out = try await r.score(query: "a query", documents: [long, "short"], options: RerankOptions(maxTokens: template + 5))
        #expect(out.tokenCounts[0] == template + 5 && out.tokenCounts[1] <= template + 5)
        do {
            _ = try await r.score(query: "a query", documents: [long], options: RerankOptions(truncate: false))
            Issue.record("expected inputTooLong")
        } catch let e as EmbeddingError {
            #expect(e.code == .inputTooLong)
        }
        do {
            _ = try await r.score(query: "q", documents: ["d"], options: RerankOptions(maxTokens: template))
            Issue.record("expected invalidInput")
        } catch let e as EmbeddingError {
            #expect(e.code == .invalidInput)
        }
        #expect(try await r.score(query: "q", documents: ["d"], options: RerankOptions(truncate: false)).scores.count == 1)
        #expect(try await r.score(query: "q", documents: []).isEmpty)
        let any: any Reranker = r
        let scores = try await any.score(query: "hello", documents: ["hello", "world", ""])
        #expect(scores.count == 3 && scores.allSatisfy { $0 > 0 && $0 < 1 })
    }

    /// `LocalReranker.load` gives whichever engine fits; other folders are refused.
    @Test func loadPicksTheEngine() async throws {
        #expect(try LocalReranker.load(folder: EngineFixtures.folder("tiny-qwen3-reranker"), options: .init(workers: 1)) is DecoderReranker)
        #expect(try LocalReranker.load(folder: EngineFixtures.folder("tiny-qwen3-reranker-seqcls"), options: .init(workers: 1)) is DecoderReranker)
        #expect(try LocalReranker.load(folder: EngineFixtures.folder("tiny-ce-bert"), options: .init(workers: 1)) is LocalReranker)
        for name in ["tiny-bert", "tiny-qwen3"] {
            do {
                _ = try LocalReranker.load(folder: EngineFixtures.folder(name), options: .init(workers: 1))
                Issue.record("\(name) loaded as a reranker")
            } catch let e as ModelError {
                #expect(e.code == .unsupported, "\(e)")
            }
        }
        do {
            _ = try LocalReranker(folder: EngineFixtures.folder("tiny-qwen3-reranker"), options: .init(workers: 1))
            Issue.record("a decoder reranker loaded as a cross-encoder")
        } catch let e as ModelError {
            #expect(e.code == .unsupported && e.message.contains("LocalReranker.load"), "\(e)")
        }
        do {
            _ = try LocalReranker.load(folder: EngineFixtures.folder("tiny-ce-bert"), options: .init(workers: 1, instruction: "x"))
            Issue.record("an instruction accepted by a cross-encoder")
        } catch let e as ModelError {
            #expect(e.code == .unsupported)
        }
        #expect(throws: ModelError.self) { try DecoderReranker(folder: EngineFixtures.folder("tiny-ce-bert"), options: .init(workers: 1)) }
    }

    /// An untied config whose checkpoint has no `lm_head.weight` has no head to score with.
    @Test func untiedWithoutHeadIsRefused() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("nestor-qr-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.copyItem(at: try EngineFixtures.folder("tiny-qwen3-reranker"), to: dir)
        let url = dir.appendingPathComponent("config.json")
        var config = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        config["tie_word_embeddings"] = false
        try JSONSerialization.data(withJSONObject: config).write(to: url)
        do {
            _ = try DecoderReranker(folder: dir, options: .init(workers: 1))
            Issue.record("loaded without a head")
        } catch let e as ModelError {
            #expect(e.code == .missingTensor && e.message.contains("lm_head.weight"), "\(e)")
        }
    }

    /// Rows read one by one equal the same rows of the whole tensor.
    @Test func tensorRowsEqualTheFullTensor() throws {
        let folder = try EngineFixtures.folder("tiny-qwen3-reranker-untied")
        let store = try TensorStore(folder: folder)
        let e = try #require(store.entries["lm_head.weight"])
        let all = try store.floats("lm_head.weight", shape: e.shape)
        let w = e.shape[1]
        let rows = try store.rows("lm_head.weight", [5, 0, e.shape[0] - 1], shape: e.shape)
        #expect(rows == Array(all[(5 * w)..<(6 * w)]) + Array(all[0..<w]) + Array(all[((e.shape[0] - 1) * w)...]))
        #expect(throws: ModelError.self) { try store.rows("lm_head.weight", [e.shape[0]], shape: e.shape) }
        #expect(throws: ModelError.self) { try store.rows("lm_head.weight", [0], shape: [e.shape[0], w + 1]) }
    }
}
