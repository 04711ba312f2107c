import EmbeddingEngine
import Foundation
import Hummingbird
import HummingbirdTesting
import NestorCore
import Retrieval
import StoreSQLite
import Testing
@testable import NestorHTTP

/// `/v1/rerank`, `/rerank`, `/v2/rerank` and `/search`'s rerank stage on the tiny BERT
/// cross-encoder fixture, in process (the engine's own scores are the reference here; their
/// parity with sentence-transformers is `RerankerTests`').
@Suite struct RerankEndpointsTests {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("EmbeddingModelTests/Fixtures/tiny-ce-bert")
    static let reranker: LocalReranker = { try! LocalReranker(folder: folder, options: .init(servedName: "ce", workers: 1)) }()  // safe: committed fixture

    static func app(reranker: LocalReranker? = RerankEndpointsTests.reranker) async throws -> some ApplicationProtocol {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("nestor-rerank-\(UUID().uuidString)/db.sqlite").path
        let store = try SQLiteStore(path: path)
        try await store.migrate()
        let service = try await RetrievalService(store: store, embedder: TestServer.plain, reranker: reranker)
        var config = ServerConfiguration()
        config.modelNames = ["tiny"]
        return Application(router: buildRouter(embedder: TestServer.plain, reranker: reranker, retrieval: service, config: config))
    }

    static let documents = ["Green tea should steep for three minutes.", "Install libc6-dev with apt-get.", "Tea grows on hills.", "cp copies files."]
    static let query = "how long to steep tea"

    func results(_ r: TestResponse) -> [[String: Any]] { (r.json["results"] as? [[String: Any]]) ?? [] }

    @Test func scoresSortedBestFirstInEveryShape() async throws {
        let expected = try await Self.reranker.score(query: Self.query, documents: Self.documents)
        let order = expected.indices.sorted { expected[$0] != expected[$1] ? expected[$0] > expected[$1] : $0 < $1 }
        try await Self.app().test(.router) { client in
            for route in ["/v1/rerank", "/rerank", "/v2/rerank"] {
                let r = try await client.post(route, ["model": "ce", "query": Self.query, "documents": Self.documents])
                #expect(r.status == .ok, "\(route)")
                let got = results(r)
                #expect(got.compactMap { $0["index"] as? Int } == order, "\(route)")
                for item in got {
                    let i = item["index"] as? Int ?? -1
                    #expect(abs(((item["relevance_score"] as? NSNumber)?.floatValue ?? -1) - expected[i]) <= 1e-6)
                    // vLLM and Jina return the documents by default; Cohere's v2 does not.
                    #expect((item["document"] as? [String: Any])?["text"] as? String == (route == "/v2/rerank" ? nil : Self.documents[i]))
                }
                let usage = r.json["usage"] as? [String: Any]
                #expect((usage?["total_tokens"] as? Int ?? 0) > Self.documents.count)
                #expect(r.json["model"] as? String == "ce" && (r.json["id"] as? String)?.hasPrefix("rerank-") == true)
            }
            // {text} objects, top_n, return_documents.
            let objects = Self.documents.map { ["text": $0] }
            let top = try await client.post("/v1/rerank", ["query": Self.query, "documents": objects, "top_n": 2, "return_documents": false])
            #expect(results(top).compactMap { $0["index"] as? Int } == Array(order.prefix(2)))
            #expect(results(top).allSatisfy { $0["document"] == nil })
            let v2 = try await client.post("/v2/rerank", ["query": Self.query, "documents": Self.documents, "top_n": 10, "return_documents": true])
            #expect(results(v2).count == Self.documents.count && results(v2).allSatisfy { $0["document"] != nil })
            // The reranker is listed beside the embedding model.
            let models = try await client.execute(uri: "/v1/models", method: .get)
            let ids = ((models.json["data"] as? [[String: Any]]) ?? []).compactMap { $0["id"] as? String }
            #expect(ids == ["tiny", "ce"])
            let one = try await client.execute(uri: "/v1/models/ce", method: .get)
            #expect(one.json["task"] as? String == "rerank" && one.json["max_model_len"] as? Int == 48)
        }
    }

    @Test func tokenLimits() async throws {
        let long = Array(repeating: "steep the green tea leaves", count: 30).joined(separator: " ")
        try await Self.app().test(.router) { client in
            // max_tokens_per_doc cuts the document's side: the score equals that of the cut text.
            let cut = try Self.reranker.prefix(of: long, tokens: 5, index: 0)
            #expect(cut.unicodeScalars.count < long.unicodeScalars.count && long.hasPrefix(cut))
            let expected = try await Self.reranker.score(query: Self.query, documents: [cut])[0]
            let r = try await client.post("/v1/rerank", ["query": Self.query, "documents": [long], "max_tokens_per_doc": 5])
            #expect(abs(((results(r).first?["relevance_score"] as? NSNumber)?.floatValue ?? -1) - expected) <= 1e-6)
            // truncate_prompt_tokens caps the pair; above the model's limit it is an error.
            let capped = try await client.post("/v1/rerank", ["query": Self.query, "documents": [long], "truncate_prompt_tokens": 20])
            #expect(capped.status == .ok && (capped.json["usage"] as? [String: Any])?["total_tokens"] as? Int == 20)
            let over = try await client.post("/v1/rerank", ["query": Self.query, "documents": [long], "truncate_prompt_tokens": 49])
            #expect(over.status == .badRequest && over.errorMessage.contains("48"))
        }
    }

    @Test func badRequestsAreRefusedWithTheField() async throws {
        try await Self.app().test(.router) { client in
            let cases: [([String: Any], String)] = [
                (["documents": ["a"]], "query"),
                (["query": 3, "documents": ["a"]], "query"),
                (["query": "q"], "documents"),
                (["query": "q", "documents": []], "documents"),
                (["query": "q", "documents": "a"], "documents"),
                (["query": "q", "documents": ["a", 3]], "documents[1]"),
                (["query": "q", "documents": [["text": "a", "title": "t"]]], "documents[0].title"),
                (["query": "q", "documents": ["a"], "top_n": 0], "top_n"),
                (["query": "q", "documents": ["a"], "max_tokens_per_doc": 0], "max_tokens_per_doc"),
                (["query": "q", "documents": ["a"], "rank_fields": ["x"]], "rank_fields"),
            ]
            for (body, param) in cases {
                let r = try await client.post("/v1/rerank", body)
                #expect(r.status == .badRequest, "\(body)")
                #expect((r.json["error"] as? [String: Any])?["param"] as? String == param, "\(body): \(r.errorMessage)")
            }
            let wrong = try await client.post("/v1/rerank", ["model": "tiny", "query": "q", "documents": ["a"]])
            #expect(wrong.status == .notFound && wrong.errorMessage.contains("ce"))
        }
        // Without a rerank model the routes say how to get one.
        try await Self.app(reranker: nil).test(.router) { client in
            let r = try await client.post("/v1/rerank", ["query": "q", "documents": ["a"]])
            #expect(r.status == .notFound && r.errorMessage.contains("--rerank-model"))
            #expect(try await client.post("/collections", ["name": "c"]).status == .created)
            let s = try await client.post("/search", ["collection": "c", "query": "q", "rerank": [:] as [String: Any]])
            #expect(s.status == .badRequest && s.errorMessage.contains("--rerank-model"))
        }
    }

    /// `/search` with `rerank`: the head of every mode is rescored by the cross-encoder, the
    /// page comes from its order, and the options are checked.
    @Test func searchRerankStage() async throws {
        try await Self.app().test(.router) { client in
            let docs = Self.documents.enumerated().map { ["id": "d\($0.offset)", "text": $0.element] }
            #expect(try await client.post("/ingest", ["collection": "c", "documents": docs, "create_collection": true]).status == .ok)
            let expected = try await Self.reranker.score(query: Self.query, documents: Self.documents)
            let best = expected.indices.sorted { expected[$0] != expected[$1] ? expected[$0] > expected[$1] : $0 < $1 }
            for mode in ["dense", "lexical", "hybrid"] {
                let r = try await client.post("/search", ["collection": "c", "query": Self.query, "mode": mode, "rerank": ["top_n": 4, "depth": 4]])
                #expect(r.status == .ok, "\(mode): \(r.errorMessage)")
                let hits = (r.json["hits"] as? [[String: Any]]) ?? []
                #expect(r.json["score_type"] as? String == "rerank")
                if mode != "lexical" {  // lexical finds only the documents sharing a term
                    #expect(hits.compactMap { $0["document_id"] as? String } == best.map { "d\($0)" }, "\(mode)")
                }
                for h in hits {
                    let i = Int((h["document_id"] as? String ?? "d9").dropFirst()) ?? 9
                    #expect(abs(((h["score"] as? NSNumber)?.floatValue ?? -1) - expected[i]) <= 1e-6)
                }
                #expect(((r.json["timings"] as? [String: Any])?["reranker_ms"] as? Double ?? -1) >= 0)
            }
            // Paging inside the reranked head; include still applies.
            let page = try await client.post("/search", ["collection": "c", "query": Self.query, "top_k": 2, "offset": 2, "include": [],
                                                          "rerank": ["depth": 4]])
            let ids = ((page.json["hits"] as? [[String: Any]]) ?? []).compactMap { $0["document_id"] as? String }
            #expect(ids == best.dropFirst(2).map { "d\($0)" })
            #expect(((page.json["hits"] as? [[String: Any]]) ?? []).allSatisfy { $0["text"] == nil })
            let first = try await client.post("/search", ["collection": "c", "query": Self.query, "top_k": 2, "rerank": ["depth": 4]])
            #expect(first.json["next_offset"] as? Int == 2)
            let cases: [([String: Any], String)] = [
                (["rerank": ["top_n": 0]], "rerank.top_n"),
                (["rerank": ["depth": 1001]], "rerank.depth"),
                (["top_k": 5, "rerank": ["depth": 3]], "rerank.depth"),
                (["top_k": 5, "rerank": ["top_n": 3]], "rerank.top_n"),
                (["rerank": ["deep": 3]], "rerank.deep"),
                (["rerank": 3], "rerank"),
            ]
            for (extra, param) in cases {
                let r = try await client.post("/search", ["collection": "c", "query": "tea"].merging(extra) { a, _ in a })
                #expect(r.status == .badRequest && (r.json["error"] as? [String: Any])?["param"] as? String == param, "\(extra): \(r.errorMessage)")
            }
            let vector = try await client.post("/search", ["collection": "c", "vector": Array(repeating: 0.1, count: 32), "rerank": [:] as [String: Any]])
            #expect(vector.status == .badRequest && vector.errorMessage.contains("text"))
        }
    }
}
