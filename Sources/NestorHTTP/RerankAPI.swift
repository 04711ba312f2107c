import Foundation
import Hummingbird
import NestorCore

/// `POST /v1/rerank`, `/rerank` and `/v2/rerank`: a query against a list of documents, scored by
/// the served cross-encoder, in the request shape vLLM, Jina, Infinity and Cohere share
/// (`query`, `documents` as strings or `{text}` objects, `top_n`, `return_documents`) and the
/// response `results: [{index, relevance_score, document?}]` sorted best first.
///
/// `/v2/rerank` follows Cohere's v2, which no longer returns the documents unless asked; the
/// other two follow vLLM and Jina, which do. Without `--rerank-model` every route answers 404
/// with the reason, so a client learns what to change instead of meeting a missing route.
struct RerankAPI: Sendable {
    let reranker: (any Reranker)?
    let config: ServerConfiguration
    let metrics: ServerMetrics

    static let fields: Set<String> = [
        "model", "query", "documents", "top_n", "return_documents", "max_tokens_per_doc", "truncate_prompt_tokens",
    ]

    func register(on router: RecordingRouter) {
        router.post("/v1/rerank") { request, _ in try await rerank(request, returnsDocuments: true) }
        router.post("/rerank") { request, _ in try await rerank(request, returnsDocuments: true) }
        router.post("/v2/rerank") { request, _ in try await rerank(request, returnsDocuments: false) }
    }

    func rerank(_ request: Request, returnsDocuments defaultReturn: Bool) async throws -> Response {
        let body = try await JSONBody.read(request, limit: config.maxBodyBytes, timeout: config.bodyTimeout)
        try body.only(Self.fields)
        guard let reranker else {
            throw APIError(.notFound, "this server has no rerank model; start it with --rerank-model NAME_OR_DIR", param: "model")
        }
        let model = try checkModel(body, names: [reranker.info.name])
        guard let query = try body.string("query") else { throw APIError.badRequest("'query' is required and must be a string", param: "query") }
        // An empty query is scored as sentence-transformers scores it, not refused.
        let documents = try Self.documents(body)
        guard documents.count <= config.maxInputs else {
            throw APIError.badRequest("'documents' has \(documents.count) items; at most \(config.maxInputs) are allowed", param: "documents")
        }
        let topN = try body.int("top_n") ?? documents.count
        guard topN >= 1 else { throw APIError.badRequest("'top_n' must be a positive integer, got \(topN)", param: "top_n") }
        let returnDocuments = try body.bool("return_documents") ?? defaultReturn
        let options = try Self.options(body, info: reranker.info)
        let out: RerankOutput
        do {
            out = try await reranker.score(query: query, documents: documents, options: options)
        } catch let e as EmbeddingError {
            throw APIError(e)
        }
        metrics.recordRerank(pairs: documents.count, tokens: out.totalTokens)
        let order = out.ranking.prefix(topN)
        let w = JSONWriter()
        w.object {
            w.field("id", "rerank-" + UUID().uuidString.lowercased())
            w.field("model", model)
            w.key("results")
            w.array {
                for i in order {
                    w.object {
                        w.field("index", i)
                        w.key("relevance_score")
                        w.double(Double(out.scores[i]))
                        if returnDocuments {
                            w.key("document")
                            w.object { w.field("text", documents[i]) }
                        }
                    }
                }
            }
            w.key("usage")
            w.object {
                w.field("prompt_tokens", out.totalTokens)
                w.field("total_tokens", out.totalTokens)
            }
            // Cohere's clients read `meta`; one search unit per request, as Cohere bills it.
            w.key("meta")
            w.object {
                w.key("api_version")
                w.object { w.field("version", "2") }
                w.key("billed_units")
                w.object { w.field("search_units", 1) }
            }
        }
        return w.response()
    }

    /// `documents`: a non-empty array whose items are strings or `{"text": …}` objects (Cohere v1,
    /// Jina); anything else is refused with the item's place.
    static func documents(_ body: JSONBody) throws -> [String] {
        guard body.has("documents") else { throw APIError.badRequest("'documents' is required", param: "documents") }
        guard let items = body.fields["documents"] as? [Any] else {
            throw APIError.badRequest("'documents' must be an array of strings or of {\"text\": …} objects", param: "documents")
        }
        guard !items.isEmpty else { throw APIError.badRequest("'documents' must not be empty", param: "documents") }
        return try items.enumerated().map { i, item in
            if let s = item as? String { return s }
            if let o = item as? [String: Any] {
                let doc = JSONBody(fields: o)
                try doc.only(["text"], at: "documents[\(i)]")
                if let t = o["text"] as? String { return t }
            }
            throw APIError.badRequest("'documents[\(i)]' must be a string or an object {\"text\": string}", param: "documents[\(i)]")
        }
    }

    /// Token limits: vLLM's `truncate_prompt_tokens` caps a whole pair (above the model's limit
    /// is an error, as vLLM has it); Cohere's `max_tokens_per_doc` caps the document's side.
    static func options(_ body: JSONBody, info: RerankerInfo) throws -> RerankOptions {
        var o = RerankOptions()
        if let k = try body.int("truncate_prompt_tokens"), k != -1 {
            guard k >= 1, k <= info.maxInputTokens else {
                throw APIError.badRequest("'truncate_prompt_tokens' must be -1 or between 1 and the model's limit of \(info.maxInputTokens), got \(k)",
                                          param: "truncate_prompt_tokens")
            }
            o.maxTokens = k
        }
        if let k = try body.int("max_tokens_per_doc") {
            guard k >= 1 else { throw APIError.badRequest("'max_tokens_per_doc' must be a positive integer, got \(k)", param: "max_tokens_per_doc") }
            o.maxDocumentTokens = k
        }
        return o
    }
}
