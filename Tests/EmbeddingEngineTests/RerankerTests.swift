import EmbeddingModel
import Foundation
import NestorCore
import Testing
import Tokenization
@testable import EmbeddingEngine

/// Text pairs in, sentence-transformers' `CrossEncoder.predict` scores out: pair template,
/// longest-first truncation, model and activation together.
@Suite struct RerankerTests {
    struct Case {
        var query: String
        var document: String
        var ids: [Int]
        var types: [Int]
        var score: Float
    }

    static func cases(_ folder: URL) throws -> [Case] {
        try EngineFixtures.reference(folder).map { c in
            Case(query: try #require(c["query"] as? String), document: try #require(c["document"] as? String),
                 ids: try #require(c["input_ids"] as? [Int]), types: try #require(c["token_type_ids"] as? [Int]),
                 score: try #require(c["score"] as? NSNumber).floatValue)
        }
    }

    @Test(arguments: [("tiny-ce-bert", TokenizerMode.transformers), ("tiny-ce-xlmr", .transformers),
                      ("tiny-ce-bert", .tokenizersJSON), ("tiny-ce-xlmr", .tokenizersJSON)])
    func textPairsMatchSentenceTransformers(name: String, mode: TokenizerMode) async throws {
        let folder = try EngineFixtures.folder(name)
        let reranker = try LocalReranker(folder: folder, options: .init(workers: 2, tokenizerMode: mode))
        var worst: Float = 0
        for (k, c) in try Self.cases(folder).enumerated() {
            let e = try reranker.pair(query: c.query, document: c.document)
            #expect(e.ids == c.ids, "\(name) pair \(k): token ids")
            #expect(e.typeIds == c.types, "\(name) pair \(k): type ids")
            let out = try await reranker.score(query: c.query, documents: [c.document], options: RerankOptions())
            #expect(out.tokenCounts == [c.ids.count])
            worst = max(worst, abs(out.scores[0] - c.score))
            #expect(abs(out.scores[0] - c.score) <= 1e-5, "\(name) pair \(k): \(out.scores[0]) vs \(c.score)")
        }
        print("\(name) (\(mode)): text → score max |Δ| \(worst) against CrossEncoder.predict")
    }

    /// One request with many documents, and many concurrent requests merged by the scheduler,
    /// give each pair the score it gets alone.
    @Test(arguments: ["tiny-ce-bert", "tiny-ce-xlmr"])
    func batchedEqualsAlone(name: String) async throws {
        let folder = try EngineFixtures.folder(name)
        let reranker = try LocalReranker(folder: folder, options: .init(workers: 2))
        let cases = try Self.cases(folder)
        let query = cases[0].query
        let documents = cases.map(\.document)
        var alone = [Float]()
        for d in documents { alone.append(try await reranker.score(query: query, documents: [d])[0]) }
        let together = try await reranker.score(query: query, documents: documents)
        for k in documents.indices { #expect(abs(together[k] - alone[k]) <= 1e-5, "\(name) document \(k)") }
        let expected = cases.map(\.score)
        let concurrent = try await withThrowingTaskGroup(of: (Int, Float).self) { group in
            for (k, c) in cases.enumerated() {
                group.addTask { (k, try await reranker.score(query: c.query, documents: [c.document])[0]) }
            }
            var out = [Float](repeating: .nan, count: cases.count)
            for try await (k, s) in group { out[k] = s }
            return out
        }
        for k in cases.indices { #expect(abs(concurrent[k] - expected[k]) <= 1e-5, "\(name) pair \(k) concurrently") }
    }

    @Test func infoAndProtocol() async throws {
        let bert = try LocalReranker(folder: try EngineFixtures.folder("tiny-ce-bert"), options: .init(servedName: "ce", workers: 1))
        #expect(bert.info == RerankerInfo(name: "ce", maxInputTokens: 48, activation: "torch.nn.modules.activation.Sigmoid"))
        let xlmr = try LocalReranker(folder: try EngineFixtures.folder("tiny-ce-xlmr"), options: .init(maxInputTokens: 30, workers: 1))
        #expect(xlmr.info.name == "tiny-ce-xlmr" && xlmr.info.maxInputTokens == 30)
        #expect(xlmr.info.activation == "torch.nn.modules.linear.Identity")
        let any: any Reranker = bert
        let scores = try await any.score(query: "hello", documents: ["hello", "world", ""])
        #expect(scores.count == 3 && scores.allSatisfy { $0 > 0 && $0 < 1 })
        #expect(try await any.score(query: "hello", documents: []).isEmpty)
    }

    @Test func truncationAndLimits() async throws {
        let reranker = try LocalReranker(folder: try EngineFixtures.folder("tiny-ce-bert"), options: .init(workers: 1))
        let long = Array(repeating: "word", count: 200).joined(separator: " ")
        let out = try await reranker.score(query: "a query", documents: [long, "short"], options: RerankOptions(maxTokens: 16))
        #expect(out.tokenCounts == [16, 9])
        let e = try reranker.pair(query: "a query", document: long, limit: 16)
        #expect(e.ids.first == 2 && e.ids.last == 3 && e.ids.filter { $0 == 3 }.count == 2, "[CLS] q [SEP] d… [SEP] kept")
        await #expect(throws: EmbeddingError.self) {
            try await reranker.score(query: "a query", documents: [long], options: RerankOptions(truncate: false))
        }
        do {
            _ = try await reranker.score(query: "q", documents: ["d"], options: RerankOptions(maxTokens: 3))
            Issue.record("expected an error")
        } catch let e as EmbeddingError {
            #expect(e.code == .invalidInput)
        }
        // Not over the limit: truncation off is fine.
        #expect(try await reranker.score(query: "q", documents: ["d"], options: RerankOptions(truncate: false)).scores.count == 1)
    }

    /// sentence-transformers puts the default prompt in front of the query (the pair's first text).
    @Test func defaultPromptPrefixesTheQuery() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("nestor-ce-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.copyItem(at: try EngineFixtures.folder("tiny-ce-bert"), to: dir)
        let url = dir.appendingPathComponent("config_sentence_transformers.json")
        var st = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        st["prompts"] = ["query": "query: "]
        st["default_prompt_name"] = "query"
        try JSONSerialization.data(withJSONObject: st).write(to: url)
        let prompted = try LocalReranker(folder: dir, options: .init(workers: 1))
        let plain = try LocalReranker(folder: try EngineFixtures.folder("tiny-ce-bert"), options: .init(workers: 1))
        #expect(prompted.queryPrompt == "query: " && plain.queryPrompt.isEmpty)
        #expect(try prompted.pair(query: "hello world", document: "a document").ids
                == plain.pair(query: "query: hello world", document: "a document").ids)
        let a = try await prompted.score(query: "hello world", documents: ["a document"])
        let b = try await plain.score(query: "query: hello world", documents: ["a document"])
        let c = try await plain.score(query: "hello world", documents: ["a document"])
        #expect(a == b && a != c)
    }

    @Test(arguments: ["tiny-bert", "tiny-xlmr", "tiny-qwen3"])
    func embeddingFoldersAreRefused(name: String) throws {
        let folder = try EngineFixtures.folder(name)
        do {
            _ = try LocalReranker(folder: folder, options: .init(workers: 1))
            Issue.record("\(name) loaded as a reranker")
        } catch let e as ModelError {
            #expect(e.code == .unsupported, "\(e)")
        }
    }
}
