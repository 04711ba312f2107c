import Foundation
import Hummingbird
import HummingbirdTesting
import NestorCore
import Retrieval
import StoreSQLite
import Testing
@testable import NestorHTTP

/// `/collections`, `/ingest`, `/search`, `/documents` in process (and once over a real socket),
/// on the real engine and a real SQLite file.
@Suite struct RetrievalEndpointsTests {
    static func app(settings: RetrievalSettings = RetrievalSettings()) async throws -> some ApplicationProtocol {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("nestor-http-\(UUID().uuidString)/db.sqlite").path
        let store = try SQLiteStore(path: path)
        try await store.migrate()
        let service = try await RetrievalService(store: store, embedder: TestServer.plain, settings: settings)
        var config = ServerConfiguration()
        config.modelNames = ["tiny"]
        return Application(router: buildRouter(embedder: TestServer.plain, retrieval: service, config: config))
    }

    func delete(_ client: some TestClientProtocol, _ uri: String) async throws -> TestResponse {
        try await client.execute(uri: uri, method: .delete)
    }

    @Test func collectionsLifecycleAndErrors() async throws {
        try await Self.app().test(.router) { client in
            let created = try await client.post("/collections", ["name": "notes", "coarse_dimensions": 16, "m": 8])
            #expect(created.status == .created)
            #expect(created.json["coarse_dimensions"] as? Int == 16 && created.json["dimensions"] as? Int == 32)
            // Creating it again is idempotent while the settings match, a conflict when they differ.
            let again = try await client.post("/collections", ["name": "notes", "m": 8])
            #expect(again.status == .ok && again.json["coarse_dimensions"] as? Int == 16)
            #expect(try await client.post("/collections", ["name": "notes", "m": 12]).status == .conflict)
            let defaults = try await client.post("/collections", ["name": "d"])
            #expect(defaults.json["coarse_dimensions"] as? Int == 32)  // 128 capped at the model's 32
            for (body, param) in [(["name": "bad name!"], "name"), (["name": "x", "coarse_dimensions": 33], "coarse_dimensions"),
                                  (["name": "x", "m": 1], "m"), (["coarse_dimensions": 8], "name")] as [([String: Any], String)] {
                let r = try await client.post("/collections", body)
                #expect(r.status == .badRequest && ((r.json["error"] as? [String: Any])?["param"] as? String) == param, "\(body)")
            }
            let list = try await client.execute(uri: "/collections", method: .get)
            #expect(((list.json["collections"] as? [[String: Any]]) ?? []).compactMap { $0["name"] as? String } == ["d", "notes"])
            #expect(try await client.execute(uri: "/collections/nope", method: .get).status == .notFound)
            #expect(try await delete(client, "/collections/d").status == .ok)
            #expect(try await client.execute(uri: "/collections/d", method: .get).status == .notFound)
            #expect(try await delete(client, "/collections/d").status == .notFound)
        }
    }

    /// Every search mode over HTTP: lexical finds exact identifiers, hybrid reports both ranks,
    /// and the mode's options are checked.
    @Test func searchModesAndTheirErrors() async throws {
        try await Self.app().test(.router) { client in
            let docs: [[String: Any]] = [
                ["id": "apt", "text": "Install libc6-dev with apt-get to build C programs.", "metadata": ["k": 1]],
                ["id": "cp", "text": "Copy files with cp; cp --reflink makes a light copy.", "metadata": ["k": 2]],
                ["id": "tea", "text": "Green tea should steep for three minutes.", "metadata": ["k": 1]],
            ]
            #expect(try await client.post("/ingest", ["collection": "m", "documents": docs, "create_collection": true]).status == .ok)
            let lexical = try await client.post("/search", ["collection": "m", "query": "libc6-dev", "mode": "lexical"])
            #expect(lexical.status == .ok && lexical.json["score_type"] as? String == "bm25" && lexical.json["mode"] as? String == "lexical")
            #expect(((lexical.json["hits"] as? [[String: Any]]) ?? []).map { $0["document_id"] as? String } == ["apt"])
            let hybrid = try await client.post("/search", ["collection": "m", "query": "cp reflink copy", "mode": "hybrid", "top_k": 3])
            let hits = (hybrid.json["hits"] as? [[String: Any]]) ?? []
            #expect(hybrid.json["score_type"] as? String == "weighted" && hits.first?["document_id"] as? String == "cp")
            #expect(hits.first?["lexical_rank"] as? Int == 1 && hits.allSatisfy { $0.keys.contains("dense_rank") })
            let rrf = try await client.post("/search", ["collection": "m", "query": "cp reflink copy", "mode": "hybrid", "top_k": 3, "fusion_k": 60,
                                                        "lexical_weighting": "none"])
            #expect(rrf.json["score_type"] as? String == "rrf" && ((rrf.json["hits"] as? [[String: Any]]) ?? []).first?["document_id"] as? String == "cp")
            // A lexical search may ask for 1,000 hits: the dense side's default depth does not get in the way.
            #expect(try await client.post("/search", ["collection": "m", "query": "cp", "mode": "lexical", "top_k": 1000]).status == .ok)
            let weighted = try await client.post("/search", ["collection": "m", "query": "cp", "mode": "hybrid", "alpha": 0.2,
                                                             "filter": ["k": 1]])
            let wh = (weighted.json["hits"] as? [[String: Any]]) ?? []
            #expect(weighted.json["score_type"] as? String == "weighted" && wh.allSatisfy { ($0["metadata"] as? [String: Any])?["k"] as? Int == 1 })
            for (body, param) in [
                (["mode": "sparse"], "mode"), (["mode": "hybrid", "alpha": 1.5], "alpha"), (["mode": "hybrid", "alpha": 0.5, "fusion_k": 10], "alpha"),
                (["mode": "dense", "fusion_k": 10], "fusion_k"), (["mode": "hybrid", "fusion_k": 0], "fusion_k"),
                (["mode": "hybrid", "lexical_weighting": "idf"], "lexical_weighting"), (["mode": "dense", "lexical_weighting": "none"], "lexical_weighting"),
            ] as [([String: Any], String)] {
                var b = body
                b["collection"] = "m"
                b["query"] = "x"
                let r = try await client.post("/search", b)
                #expect(r.status == .badRequest && ((r.json["error"] as? [String: Any])?["param"] as? String) == param, "\(body)")
            }
            let vectorLexical = try await client.post("/search", ["collection": "m", "vector": [Float](repeating: 0.1, count: 32), "mode": "lexical"])
            #expect(vectorLexical.status == .badRequest)
            let info = try await client.execute(uri: "/collections/m", method: .get)
            #expect(info.json["bm25_k1"] as? Double == 1.2 && (info.json["terms"] as? Int ?? 0) > 10)
        }
    }

    @Test func ingestSearchDocumentsAndErrors() async throws {
        try await Self.app().test(.router) { client in
            _ = try await client.post("/collections", ["name": "c", "coarse_dimensions": 8])
            let docs: [[String: Any]] = [
                ["id": "cat", "text": "The cat sat on the mat.", "metadata": ["lang": "en", "year": 2020]],
                ["id": "sea", "text": "Waves crash on the rocky shore at night.", "metadata": ["lang": "en", "year": 2023]],
                ["text": "Ein Hund spielt im Garten.", "metadata": ["lang": "de"]],
            ]
            let ingested = try await client.post("/ingest", ["collection": "c", "documents": docs])
            #expect(ingested.status == .ok)
            let results = (ingested.json["documents"] as? [[String: Any]]) ?? []
            #expect(results.count == 3 && results[0]["id"] as? String == "cat" && results.allSatisfy { $0["chunks"] as? Int == 1 })
            let generated = try #require(results[2]["id"] as? String)

            let hit = try await client.post("/search", ["collection": "c", "query": "The cat sat on the mat.", "top_k": 2])
            let hits = (hit.json["hits"] as? [[String: Any]]) ?? []
            #expect(hit.status == .ok && hits.count == 2 && hits[0]["document_id"] as? String == "cat")
            #expect((hits[0]["metadata"] as? [String: Any])?["year"] as? Int == 2020 && hits[0]["text"] as? String == "The cat sat on the mat.")
            #expect((hit.json["timings"] as? [String: Any])?["rerank_ms"] != nil)

            let filtered = try await client.post("/search", ["collection": "c", "query": "cat", "filter": ["year": ["$gte": 2021]]])
            #expect(((filtered.json["hits"] as? [[String: Any]]) ?? []).compactMap { $0["document_id"] as? String } == ["sea"])

            let vec = try await TestServer.plain.embed([.text("Waves crash on the rocky shore at night.")], options: EmbedOptions()).vectors[0]
            let byVector = try await client.post("/search", ["collection": "c", "vector": vec, "top_k": 1, "include": ["vector"]])
            let first = ((byVector.json["hits"] as? [[String: Any]]) ?? []).first
            #expect(first?["document_id"] as? String == "sea" && first?["text"] == nil && (first?["vector"] as? [Any])?.count == 32)

            let upsert = try await client.post("/ingest", ["collection": "c", "documents": [["id": "cat", "text": "A kitten naps."]]])
            #expect(upsert.status == .ok)
            let doc = try await client.execute(uri: "/documents/c/cat", method: .get)
            #expect(doc.json["text"] as? String == "A kitten naps." && (doc.json["chunks"] as? [Any])?.count == 1)
            #expect(try await delete(client, "/documents/c/\(generated)").status == .ok)
            #expect(try await delete(client, "/documents/c/\(generated)").status == .notFound)
            #expect(try await client.execute(uri: "/documents/c/\(generated)", method: .get).status == .notFound)

            let bad: [([String: Any], HTTPResponse.Status, String)] = [
                (["collection": "nope", "documents": [["text": "x"]]], .notFound, "collection"),
                (["collection": "c", "documents": "x"], .badRequest, "documents"),
                (["collection": "c", "documents": []], .badRequest, "documents"),
                (["collection": "c", "documents": [["id": "a"]]], .badRequest, "documents[0].text"),
                (["collection": "c", "documents": [["text": "x", "metadata": [1]]]], .badRequest, "documents[0].metadata"),
                (["collection": "c", "documents": [["id": "a", "text": "x"], ["id": "a", "text": "y"]]], .badRequest, "documents[1].id"),
                (["collection": "c", "documents": [["text": "   "]]], .badRequest, "documents[0].text"),
                (["collection": "c", "documents": [["text": "x"]], "chunking": ["max_tokens": 100_000]], .badRequest, "chunking.max_tokens"),
            ]
            for (body, status, param) in bad {
                let r = try await client.post("/ingest", body)
                #expect(r.status == status && ((r.json["error"] as? [String: Any])?["param"] as? String) == param, "\(body): \(r.errorMessage)")
            }
            let badSearch: [([String: Any], String)] = [
                (["collection": "c"], "query"), (["collection": "c", "query": "x", "vector": [1]], "query"),
                (["collection": "c", "vector": [1, 2]], "vector"), (["collection": "c", "query": "x", "top_k": 0], "top_k"),
                (["collection": "c", "query": "x", "filter": ["a": ["$near": 1]]], "filter"),
                (["collection": "c", "query": "x", "include": ["scores"]], "include"),
            ]
            for (body, param) in badSearch {
                let r = try await client.post("/search", body)
                #expect(r.status == .badRequest && ((r.json["error"] as? [String: Any])?["param"] as? String) == param, "\(body): \(r.errorMessage)")
            }
            // Nothing of the failed batches was applied.
            let info = try await client.execute(uri: "/collections/c", method: .get)
            #expect(info.json["documents"] as? Int == 2)
        }
    }

    @Test func overARealSocket() async throws {
        try await Self.app().test(.live) { client in
            _ = try await client.post("/collections", ["name": "live"])
            _ = try await client.post("/ingest", ["collection": "live", "documents": [["id": "1", "text": "hello over tcp"]]])
            let r = try await client.post("/search", ["collection": "live", "query": "hello over tcp", "top_k": 1])
            #expect(((r.json["hits"] as? [[String: Any]]) ?? []).first?["document_id"] as? String == "1")
        }
    }
}
