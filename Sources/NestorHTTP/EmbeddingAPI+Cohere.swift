import Foundation
import Hummingbird
import NestorCore

/// `POST /v2/embed`, the Cohere-style API as vLLM serves it.
///
/// Quantised types follow Cohere's definitions: `int8` = round(x·127) clamped to [−128, 127];
/// `uint8` = round((x + 1)·127.5) clamped to [0, 255]; `ubinary` packs the sign bits (x > 0)
/// eight to a byte, most significant first; `binary` is the same bytes minus 128 as signed.
extension EmbeddingAPI {
    static let cohereTypes = ["float", "int8", "uint8", "binary", "ubinary", "base64"]

    static let cohereFields: Set<String> = ["model", "texts", "input_type", "embedding_types", "output_dimension", "truncate", "max_tokens", "enable_chunked_processing"]

    /// `POST /v1/embed`, Cohere's v1 shape: without `embedding_types` the embeddings are a plain
    /// list of float lists (`response_type: embeddings_floats`); with them, as in v2.
    func cohereEmbedV1(_ request: Request) async throws -> Response {
        try await cohereEmbed(request, v1: true)
    }

    func cohereEmbed(_ request: Request, v1: Bool = false) async throws -> Response {
        let body = try await JSONBody.read(request, limit: config.maxBodyBytes, timeout: config.bodyTimeout)
        try body.only(Self.cohereFields, unsupported: [
            "images": "this server embeds text only; send 'texts'",
            "inputs": "mixed-content inputs are not supported; send 'texts'",
        ])
        let model = try checkModel(body, names: config.modelNames)
        guard let texts = try body.strings("texts"), !texts.isEmpty else {
            throw APIError.badRequest("'texts' must be a non-empty array of strings", param: "texts")
        }
        if let i = texts.firstIndex(where: \.isEmpty) { throw APIError.badRequest("'texts'[\(i)] is an empty string", param: "texts") }
        guard texts.count <= config.maxInputs else {
            throw APIError.badRequest("'texts' has \(texts.count) items; at most \(config.maxInputs) are allowed", param: "texts")
        }
        let floatsOnly = v1 && !body.has("embedding_types")
        let types = try body.strings("embedding_types") ?? ["float"]
        guard Set(types).count == types.count else {
            throw APIError.badRequest("'embedding_types' lists a type twice", param: "embedding_types")
        }
        guard !types.isEmpty, let bad = Optional(types.filter { !Self.cohereTypes.contains($0) }), bad.isEmpty else {
            throw APIError.badRequest("'embedding_types' must list some of \(Self.cohereTypes.joined(separator: ", "))", param: "embedding_types")
        }
        var options = EmbedOptions(dimensions: try body.int("output_dimension"))
        options.promptName = try promptName(body, info: embedder.info)
        if let t = try body.string("truncate") { options.truncation = try truncation(t) }
        options.chunked = try body.bool("enable_chunked_processing") ?? config.chunkedProcessing
        if let k = try body.int("max_tokens") {
            guard k >= 1 else { throw APIError.badRequest("'max_tokens' must be a positive integer", param: "max_tokens") }
            options.maxTokens = k
        }
        let out: EmbeddingOutput
        do {
            out = try await embedder.embed(texts.map { .text($0) }, options: options)
        } catch let e as EmbeddingError {
            var api = APIError(e)
            if api.param == "dimensions" { api.param = "output_dimension" }
            throw api
        }
        metrics.recordEmbedding(inputs: texts.count, tokens: out.totalTokens)
        let w = JSONWriter()
        w.object {
            w.field("id", UUID().uuidString.lowercased())
            w.key("embeddings")
            if floatsOnly {
                w.array { for v in out.vectors { w.floats(v) } }
            } else {
            w.object {
                for t in types {
                    w.key(t)
                    w.array {
                        for v in out.vectors {
                            switch t {
                            case "float": w.floats(v)
                            case "base64": w.string(base64(v))
                            case "int8": w.ints(v.map { Int(max(-128, min(127, ($0 * 127).rounded()))) })
                            case "uint8": w.ints(v.map { Int(max(0, min(255, (($0 + 1) * 127.5).rounded()))) })
                            case "ubinary": w.ints(packBits(v))
                            default: w.ints(packBits(v).map { $0 - 128 })
                            }
                        }
                    }
                }
            }
            }
            w.key("texts")
            w.array { for t in texts { w.string(t) } }
            w.field("model", model)
            w.key("meta")
            w.object {
                w.key("api_version"); w.object { w.field("version", v1 ? "1" : "2") }
                w.key("billed_units"); w.object { w.field("input_tokens", out.totalTokens) }
            }
            w.field("response_type", floatsOnly ? "embeddings_floats" : "embeddings_by_type")
        }
        return w.response()
    }
}

/// Sign bits, eight per byte, most significant bit first; a partial last byte is zero-padded.
func packBits(_ v: [Float]) -> [Int] {
    var out = [Int]()
    out.reserveCapacity((v.count + 7) / 8)
    var byte = 0, n = 0
    for x in v {
        byte = byte << 1 | (x > 0 ? 1 : 0)
        n += 1
        if n == 8 { out.append(byte); byte = 0; n = 0 }
    }
    if n > 0 { out.append(byte << (8 - n)) }
    return out
}
