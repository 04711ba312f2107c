import Foundation
import Hummingbird
import HummingbirdTesting
import NestorCore
import Testing
import VectorMath
@testable import NestorHTTP

@Suite struct OtherEndpointsTests {
    @Test func cohereEmbedAllTypes() async throws {
        try await TestServer.app(TestServer.matryoshka).test(.router) { client in
            let r = try await client.post("/v2/embed", [
                "texts": ["hello", "world"], "input_type": "search_document",
                "embedding_types": ["float", "int8", "uint8", "binary", "ubinary", "base64"], "output_dimension": 16,
            ])
            #expect(r.status == .ok)
            let emb = try #require(r.json["embeddings"] as? [String: Any])
            let floats = try #require(emb["float"] as? [[NSNumber]]).map { $0.map(\.floatValue) }
            let expected = try await engineVectors(TestServer.matryoshka, [.text("hello"), .text("world")], EmbedOptions(dimensions: 16))
            #expect(same(floats, expected))
            let int8 = try #require(emb["int8"] as? [[Int]])
            #expect(int8[0] == floats[0].map { Int(max(-128, min(127, ($0 * 127).rounded()))) })
            let ubinary = try #require(emb["ubinary"] as? [[Int]])
            #expect(ubinary[0].count == 2 && ubinary[0] == packBits(floats[0]))
            let binary = try #require(emb["binary"] as? [[Int]])
            #expect(binary[0] == ubinary[0].map { $0 - 128 })
            #expect((emb["uint8"] as? [[Int]])?[0].allSatisfy { (0...255).contains($0) } == true)
            #expect((emb["base64"] as? [String])?.count == 2)
            let meta = try #require(r.json["meta"] as? [String: Any])
            #expect(((meta["billed_units"] as? [String: Any])?["input_tokens"] as? Int ?? 0) > 0)
        }
    }

    @Test func cohereErrors() async throws {
        let long = Array(repeating: "word", count: 400).joined(separator: " ")
        try await TestServer.app().test(.router) { client in
            #expect(try await client.post("/v2/embed", ["texts": []]).status == .badRequest)
            #expect(try await client.post("/v2/embed", ["texts": ["a"], "embedding_types": ["int4"]]).status == .badRequest)
            #expect(try await client.post("/v2/embed", ["texts": ["a"], "input_type": "poetry"]).status == .badRequest)
            #expect(try await client.post("/v2/embed", ["texts": [long], "truncate": "NONE"]).status == .badRequest)
            #expect(try await client.post("/v2/embed", ["texts": [long], "truncate": "START"]).status == .ok)
            let dim = try await client.post("/v2/embed", ["texts": ["a"], "output_dimension": 8])
            #expect(dim.status == .badRequest && dim.errorMessage.contains("matryoshka"))
        }
    }

    @Test func scoreOneToManyAndPairwise() async throws {
        try await TestServer.app().test(.router) { client in
            let r = try await client.post("/v1/score", ["model": "tiny", "text_1": "a cat", "text_2": ["a cat", "a dog", "finance"]])
            #expect(r.status == .ok)
            let scores = ((r.json["data"] as? [[String: Any]]) ?? []).compactMap { ($0["score"] as? NSNumber)?.doubleValue }
            #expect(scores.count == 3 && abs(scores[0] - 1) < 1e-5)
            let v = try await engineVectors(TestServer.plain, [.text("a cat"), .text("a dog")])
            #expect(abs(scores[1] - Double(VectorMath.dot(VectorMath.normalized(v[0]), VectorMath.normalized(v[1])))) < 1e-5)
            let pair = try await client.post("/score", ["text_1": ["x", "y"], "text_2": ["x", "z"]])
            #expect(pair.status == .ok && ((pair.json["data"] as? [Any])?.count ?? 0) == 2)
            #expect(try await client.post("/v1/score", ["text_1": ["x", "y"], "text_2": ["x", "y", "z"]]).status == .badRequest)
            #expect(try await client.post("/v1/score", ["text_1": 3, "text_2": "x"]).status == .badRequest)
        }
    }

    @Test func modelsHealthMetricsOpenAPI() async throws {
        try await TestServer.app().test(.router) { client in
            let models = try await client.execute(uri: "/v1/models", method: .get)
            let ids = ((models.json["data"] as? [[String: Any]]) ?? []).compactMap { $0["id"] as? String }
            #expect(ids == ["tiny", "tiny-alias"])
            #expect(try await client.execute(uri: "/health", method: .get).status == .ok)
            _ = try await client.post("/v1/embeddings", ["input": ["a", "b"]])
            _ = try await client.post("/v1/embeddings", ["input": ""])
            let metrics = try await client.execute(uri: "/metrics", method: .get)
            let text = String(buffer: metrics.body)
            #expect(text.contains(#"nestor_requests_total{route="/v1/embeddings",status="200"} 1"#))
            #expect(text.contains(#"nestor_requests_total{route="/v1/embeddings",status="400"} 1"#))
            #expect(text.contains("nestor_prompt_tokens_total") && text.contains("nestor_request_duration_seconds_bucket"))
            let doc = try await client.execute(uri: "/openapi.json", method: .get)
            let paths = try #require(doc.json["paths"] as? [String: Any])
            for p in ["/v1/embeddings", "/v2/embed", "/v1/score", "/score", "/v1/models", "/health", "/metrics", "/openapi.json",
                      "/collections", "/collections/{name}", "/collections/{name}/optimize", "/ingest", "/search",
                      "/documents/{collection}/{id}"] {
                #expect(paths[p] != nil, "\(p) missing from the OpenAPI document")
            }
            #expect((doc.json["openapi"] as? String)?.hasPrefix("3.1") == true)
        }
    }

    @Test func apiKeysGuardEverythingButHealth() async throws {
        try await TestServer.app { $0.apiKeys = ["sekret"] }.test(.router) { client in
            let denied = try await client.post("/v1/embeddings", ["input": "x"])
            #expect(denied.status == .unauthorized && denied.errorCode == 401)
            let wrong = try await client.post("/v1/embeddings", ["input": "x"], headers: [.contentType: "application/json", .authorization: "Bearer nope"])
            #expect(wrong.status == .unauthorized)
            let ok = try await client.post("/v1/embeddings", ["input": "x"], headers: [.contentType: "application/json", .authorization: "Bearer sekret"])
            #expect(ok.status == .ok)
            #expect(try await client.execute(uri: "/health", method: .get).status == .ok)
            #expect(try await client.execute(uri: "/v1/models", method: .get).status == .unauthorized)
        }
    }

    /// The same app over a real socket on 127.0.0.1.
    @Test func liveServer() async throws {
        try await TestServer.app().test(.live) { client in
            let r = try await client.post("/v1/embeddings", ["input": ["live", "socket"]])
            #expect(r.status == .ok)
            #expect(same(vectors(r), try await engineVectors(TestServer.plain, [.text("live"), .text("socket")])))
        }
    }
}
