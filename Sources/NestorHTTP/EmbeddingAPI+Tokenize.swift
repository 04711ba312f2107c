import Foundation
import Hummingbird
import NestorCore

/// `POST /tokenize`, as vLLM serves it: the ids (and here also the pieces) the model reads for a
/// text, with `count` and `max_model_len`, so a client can check a text's length before sending.
extension EmbeddingAPI {
    func tokenize(_ request: Request) async throws -> Response {
        let body = try await JSONBody.read(request, limit: config.maxBodyBytes, timeout: config.bodyTimeout)
        try body.only(["model", "text", "prompt", "add_special_tokens", "prompt_name", "input_type"])
        _ = try checkModel(body, names: config.modelNames)
        guard let text = try body.string("text") ?? body.string("prompt") else {
            throw APIError.badRequest("'text' (or vLLM's 'prompt') is required", param: "text")
        }
        let prompt = try promptName(body, info: embedder.info)
        let t: Tokenized
        do {
            t = try embedder.tokenize(text, promptName: prompt, addSpecialTokens: try body.bool("add_special_tokens") ?? true)
        } catch let e as EmbeddingError {
            throw APIError(e)
        }
        let w = JSONWriter()
        w.object {
            w.field("count", t.ids.count)
            w.field("max_model_len", embedder.info.maxInputTokens)
            w.key("tokens"); w.ints(t.ids)
            w.key("pieces"); w.array { for p in t.pieces { w.string(p) } }
        }
        return w.response()
    }
}
