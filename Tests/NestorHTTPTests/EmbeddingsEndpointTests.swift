import Foundation
import Hummingbird
import HummingbirdTesting
import NestorCore
import Testing
@testable import NestorHTTP

@Suite struct EmbeddingsEndpointTests {
    @Test func everyInputShapeMatchesTheEngine() async throws {
        let e = TestServer.plain
        let ids = try e.tokens(for: .text("token ids"), index: 0, prompt: "", limit: 128, options: EmbedOptions())
        try await TestServer.app().test(.router) { client in
            let cases: [(Any, [EmbeddingInput])] = [
                ("hello world", [.text("hello world")]),
                (["one", "two", "three"], [.text("one"), .text("two"), .text("three")]),
                (ids, [.tokens(ids)]),
                ([ids, [101, 102]], [.tokens(ids), .tokens([101, 102])]),
            ]
            for (input, engineInput) in cases {
                for format in ["float", "base64"] {
                    let r = try await client.post("/v1/embeddings", ["model": "tiny", "input": input, "encoding_format": format])
                    #expect(r.status == .ok)
                    #expect(same(vectors(r), try await engineVectors(e, engineInput)))
                    #expect(r.json["object"] as? String == "list" && r.json["model"] as? String == "tiny")
                    let usage = try #require(r.json["usage"] as? [String: Any])
                    #expect((usage["prompt_tokens"] as? Int ?? 0) > 0)
                }
            }
        }
    }

    @Test func modelIsOptionalAndAliasesWork() async throws {
        try await TestServer.app().test(.router) { client in
            #expect(try await client.post("/v1/embeddings", ["input": "x"]).status == .ok)
            let alias = try await client.post("/v1/embeddings", ["input": "x", "model": "tiny-alias"])
            #expect(alias.status == .ok && alias.json["model"] as? String == "tiny-alias")
            let r = try await client.post("/v1/embeddings", ["input": "x", "model": "gpt-4"])
            #expect(r.status == .notFound && r.errorCode == 404 && r.errorMessage.contains("gpt-4"))
        }
    }

    @Test func dimensionsFollowTheMatryoshkaRules() async throws {
        try await TestServer.app().test(.router) { client in
            let r = try await client.post("/v1/embeddings", ["input": "x", "dimensions": 16])
            #expect(r.status == .badRequest && r.errorMessage.contains("matryoshka"))
            #expect(try await client.post("/v1/embeddings", ["input": "x", "dimensions": 32]).status == .ok)  // full size
        }
        try await TestServer.app(TestServer.matryoshka).test(.router) { client in
            let r = try await client.post("/v1/embeddings", ["input": "x", "dimensions": 16])
            #expect(r.status == .ok && vectors(r)[0].count == 16)
            #expect(same(vectors(r), try await engineVectors(TestServer.matryoshka, [.text("x")], EmbedOptions(dimensions: 16))))
            for bad in [12, 0, -3, 64] {
                let e = try await client.post("/v1/embeddings", ["input": "x", "dimensions": bad])
                #expect(e.status == .badRequest, "dimensions \(bad)")
                #expect(e.json["error"] != nil)
            }
            #expect(try await client.post("/v1/embeddings", ["input": "x", "dimensions": 12]).errorMessage.contains("8, 16"))
        }
    }

    /// A raw byte-order mark inside a JSON string is kept (Foundation's parser alone drops it),
    /// and one before the document is ignored.
    @Test func rawByteOrderMarksAreKept() async throws {
        try await TestServer.app().test(.router) { client in
            let raw = try await client.postRaw("/v1/embeddings", "\u{FEFF}{\"input\": \"\u{FEFF}hello \u{FEFF}world\"}")
            #expect(raw.status == .ok)
            #expect(same(vectors(raw), try await engineVectors(TestServer.plain, [.text("\u{FEFF}hello \u{FEFF}world")])))
            // (BERT's normalizer itself removes U+FEFF; byte-level BPE models such as Qwen3 read it.)
        }
    }

    @Test func vllmExtras() async throws {
        let long = Array(repeating: "word", count: 400).joined(separator: " ")
        try await TestServer.app().test(.router) { client in
            #expect(try await client.post("/v1/embeddings", ["input": long]).status == .ok)  // truncated at the end by default
            let none = try await client.post("/v1/embeddings", ["input": long, "truncate": "NONE"])
            #expect(none.status == .badRequest && none.errorMessage.contains("tokens"))
            let k = try await client.post("/v1/embeddings", ["input": long, "truncate_prompt_tokens": 5])
            #expect(((k.json["usage"] as? [String: Any])?["prompt_tokens"] as? Int) == 5)
            // The first k tokens by default, the last k with truncation_side left; above the model's limit is an error.
            let mixed = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda"
            let first = try await client.post("/v1/embeddings", ["input": mixed, "truncate_prompt_tokens": 5])
            let left = try await client.post("/v1/embeddings", ["input": mixed, "truncate_prompt_tokens": 5, "truncation_side": "left"])
            #expect(same(vectors(first), try await engineVectors(TestServer.plain, [.text(mixed)], EmbedOptions(truncation: .end, maxTokens: 5))))
            #expect(same(vectors(left), try await engineVectors(TestServer.plain, [.text(mixed)], EmbedOptions(truncation: .start, maxTokens: 5))))
            #expect(!same(vectors(first), vectors(left)))
            let limit = TestServer.plain.info.maxInputTokens
            // Chunked processing per request: every token is counted, and the result is the engine's.
            let chunked = try await client.post("/v1/embeddings", ["input": long, "enable_chunked_processing": true])
            let engine = try await TestServer.plain.embed([.text(long)], options: EmbedOptions(chunked: true))
            #expect(((chunked.json["usage"] as? [String: Any])?["prompt_tokens"] as? Int) == engine.totalTokens && engine.totalTokens > limit)
            #expect(same(vectors(chunked), engine.vectors))
            let cohere = try await client.post("/v2/embed", ["texts": [long], "enable_chunked_processing": true, "truncate": "NONE"])
            #expect(cohere.status == .ok)
            #expect(try await client.post("/v1/embeddings", ["input": "a", "truncate_prompt_tokens": limit]).status == .ok)
            let over = try await client.post("/v1/embeddings", ["input": "a", "truncate_prompt_tokens": limit + 1])
            #expect(over.status == .badRequest && over.errorMessage.contains("\(limit)"))
            let noSpecial = try await client.post("/v1/embeddings", ["input": "hi", "add_special_tokens": false])
            #expect(((noSpecial.json["usage"] as? [String: Any])?["prompt_tokens"] as? Int) == 1)
            #expect(try await client.post("/v1/embeddings", ["input": "hi", "input_type": "query", "user": "u1"]).status == .ok)
            #expect(try await client.post("/v1/embeddings", ["input": "hi", "prompt_name": "nope"]).status == .badRequest)
        }
    }

    @Test func malformedRequestsGet4xxWithOpenAIErrors() async throws {
        try await TestServer.app { $0.maxBodyBytes = 4096; $0.maxInputs = 4 }.test(.router) { client in
            let cases: [(String, HTTPResponse.Status)] = [
                ("{not json", .badRequest),
                ("[1, 2]", .badRequest),
                ("", .badRequest),
                (#"{"model": "tiny"}"#, .badRequest),
                (#"{"input": 42}"#, .badRequest),
                (#"{"input": []}"#, .badRequest),
                (#"{"input": ""}"#, .badRequest),
                (#"{"input": ["a", ""]}"#, .badRequest),
                (#"{"input": [[]]}"#, .badRequest),
                (#"{"input": [1.5, 2]}"#, .badRequest),
                (#"{"input": [true]}"#, .badRequest),
                (#"{"input": [99999999]}"#, .badRequest),
                (#"{"input": ["a", "b", "c", "d", "e"]}"#, .badRequest),
                (#"{"input": "a", "encoding_format": "int8"}"#, .badRequest),
                (#"{"input": "a", "dimensions": "8"}"#, .badRequest),
                (#"{"input": "a", "dimensions": true}"#, .badRequest),
                (#"{"input": "a", "truncate_prompt_tokens": 0}"#, .badRequest),
                (#"{"input": "a", "truncation_side": "middle"}"#, .badRequest),
                ("{\"input\": \"" + String(repeating: "x", count: 5000) + "\"}", .contentTooLarge),
            ]
            for (body, status) in cases {
                let r = try await client.postRaw("/v1/embeddings", body)
                #expect(r.status == status, "\(body.prefix(60))")
                #expect(r.errorCode == Int(status.code), "error body for \(body.prefix(60))")
            }
            let wrongType = try await client.postRaw("/v1/embeddings", #"{"input": "a"}"#, headers: [.contentType: "text/plain"])
            #expect(wrongType.status == .unsupportedMediaType)
            let unknown = try await client.execute(uri: "/v1/nothing", method: .get)
            #expect(unknown.status == .notFound && unknown.errorCode == 404)
        }
    }
}
