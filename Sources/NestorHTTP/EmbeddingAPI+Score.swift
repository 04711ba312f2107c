import Foundation
import Hummingbird
import NestorCore
import VectorMath

/// `POST /v1/score` and `/score`: cosine similarity of `text_1` against `text_2`, one to one,
/// one to many, or pairwise for two lists of equal length (vLLM's rules).
extension EmbeddingAPI {
    func score(_ request: Request) async throws -> Response {
        let body = try await JSONBody.read(request, limit: config.maxBodyBytes, timeout: config.bodyTimeout)
        try body.only(["model", "text_1", "text_2"])
        let model = try checkModel(body, names: config.modelNames)
        let a = try scoreTexts(body, "text_1"), b = try scoreTexts(body, "text_2")
        guard a.count == 1 || a.count == b.count else {
            throw APIError.badRequest("'text_1' must be one text or as many texts as 'text_2'", param: "text_1")
        }
        guard a.count + b.count <= config.maxInputs else {
            throw APIError.badRequest("too many texts; at most \(config.maxInputs) in all", param: "text_2")
        }
        let out: EmbeddingOutput
        do {
            out = try await embedder.embed((a + b).map { .text($0) }, options: EmbedOptions())
        } catch let e as EmbeddingError {
            throw APIError(e)
        }
        metrics.recordEmbedding(inputs: a.count + b.count, tokens: out.totalTokens)
        let va = Array(out.vectors.prefix(a.count)).map(VectorMath.normalized)
        let vb = Array(out.vectors.suffix(b.count)).map(VectorMath.normalized)
        let w = JSONWriter()
        w.object {
            w.field("id", "score-" + UUID().uuidString.lowercased())
            w.field("object", "list")
            w.field("created", Int(Date().timeIntervalSince1970))
            w.field("model", model)
            w.key("data")
            w.array {
                for (i, v) in vb.enumerated() {
                    w.object {
                        w.field("index", i)
                        w.field("object", "score")
                        w.key("score")
                        w.double(Double(VectorMath.dot(va.count == 1 ? va[0] : va[i], v)))
                    }
                }
            }
            w.key("usage")
            w.object {
                w.field("prompt_tokens", out.totalTokens)
                w.field("total_tokens", out.totalTokens)
                w.field("completion_tokens", 0)
            }
        }
        return w.response()
    }

    private func scoreTexts(_ body: JSONBody, _ key: String) throws -> [String] {
        let t: [String]
        if let s = body.fields[key] as? String { t = [s] } else if let l = try? body.strings(key) { t = l } else {
            throw APIError.badRequest("'\(key)' must be a string or an array of strings", param: key)
        }
        guard !t.isEmpty, !t.contains(where: \.isEmpty) else { throw APIError.badRequest("'\(key)' must not be empty", param: key) }
        return t
    }
}
